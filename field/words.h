/*
 * words.h - lists of words separated by single spaces: how a device's
 * scope ("18133 18160"), a tier's unit kinds ("xa phuong") and a version's
 * parents are written where a list is one text value.
 */
#ifndef FLD_WORDS_H
#define FLD_WORDS_H

#include <stdbool.h>

/* True when word (non-empty, without spaces) is one of list's words. */
bool fld_word_in(const char *list, const char *word);

#endif
