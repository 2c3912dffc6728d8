/*
 * words.c - space-separated word lists (words.h).
 */
#include "words.h"

#include <string.h>

bool fld_word_in(const char *list, const char *word)
{
    size_t len = strlen(word);
    const char *p = list;

    if (len == 0)
        return false;
    while ((p = strstr(p, word)) != NULL) {
        bool starts = p == list || p[-1] == ' ';
        bool ends = p[len] == '\0' || p[len] == ' ';

        if (starts && ends)
            return true;
        p += len;
    }
    return false;
}
