/*
 * cmdline.c - the command-line conventions field and field-server share
 * (see cmdline.h): command look-up with suggestions, and exit statuses.
 *
 * Decisions:
 *   - A unique prefix is accepted ("field hist" is "field history"), as
 *     Fossil and git-like tools do; an exact name always wins, so that a
 *     command whose name is the prefix of another stays reachable.
 *   - A suggestion is made only within two edits (Levenshtein distance),
 *     the first closest in table order: beyond that the guess is more often
 *     wrong than helpful. Nothing is ever run on a guess.
 *   - The table is walked generically (entry size, name first) so that
 *     each program keeps its own handler type and context.
 *   - Exit statuses are one mapping for both programs, so a script that
 *     drives either can rely on 2 meaning usage, 3 not found, 4 refused,
 *     5 integrity, whatever program answered.
 */
#include "cmdline.h"

#include <string.h>

/* Names longer than this are never suggested (no command is that long). */
#define MAX_NAME 64

int fld_exit_status(int code)
{
    switch (code) {
    case FLD_OK:
        return FLD_EXIT_OK;
    case FLD_EUSAGE:
        return FLD_EXIT_USAGE;
    case FLD_NOTFOUND:
    case FLD_CONFLICT:
        return FLD_EXIT_NOTFOUND;
    case FLD_EINVAL:
    case FLD_ELIMIT:
    case FLD_EXISTS:
        return FLD_EXIT_REFUSED;
    case FLD_ECORRUPT:
    case FLD_EBADSIG:
        return FLD_EXIT_INTEGRITY;
    case FLD_EPASS:
        return FLD_EXIT_KEY;
    case FLD_EBUSY:
        return FLD_EXIT_BUSY;
    default:
        return FLD_EXIT_FAIL;
    }
}

/* Edit distance, to suggest the command a person probably meant. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t row[MAX_NAME];

    if (lb >= MAX_NAME)
        return MAX_NAME;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The name of the entry at p (every entry starts with it). */
static const char *name_at(const unsigned char *p)
{
    const char *name;

    memcpy(&name, p, sizeof name);
    return name;
}

const void *fld_cmd_find(const void *table, size_t size, const char *name,
                         const char *program, struct fld_err *err)
{
    const unsigned char *p = table, *match = NULL, *near = NULL;
    const char *entry;
    size_t len = strlen(name), n = 0, best = 3, d;

    for (; (entry = name_at(p)) != NULL; p += size) {
        if (strcmp(entry, name) == 0)
            return p;
        if (strncmp(entry, name, len) == 0) {
            match = p;
            n++;
        }
        d = distance(name, entry);
        if (d < best) {
            best = d;
            near = p;
        }
    }
    if (n == 1)
        return match;
    if (n > 1)
        fld_err_set(err, FLD_EUSAGE,
                    "'%s' is ambiguous; say more of the command", name);
    else if (near != NULL)
        fld_err_set(err, FLD_EUSAGE, "unknown command '%s'; did you mean '%s'?",
                    name, name_at(near));
    else
        fld_err_set(err, FLD_EUSAGE, "unknown command '%s'; see '%s help'",
                    name, program);
    return NULL;
}
