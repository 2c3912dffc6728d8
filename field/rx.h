/*
 * rx.h - bounded POSIX regular expressions: what the expression language's
 * regex() runs, safe to hand patterns and text that come from outside.
 *
 * A template's constraint may say regex(., '^0[0-9]{9}$'), and templates
 * are written by provinces, not by us; answers are typed by anyone. So a
 * pattern must not be able to take seconds or gigabytes (glibc's regcomp
 * copies a{n} n times, and its closures grow exponentially with nested
 * repetitions), and a long answer must not make the search quadratic.
 * This module is the only one that calls regcomp() and regexec().
 *
 * What a pattern means: POSIX extended syntax (regcomp's REG_EXTENDED),
 * searched for anywhere in the text (write ^ and $ to anchor), in a UTF-8
 * locale of the module's own whatever the program's locale, so that '.'
 * and [[:alpha:]] see a Vietnamese letter as one character on every
 * device. A stray ')' is a literal, as glibc has it.
 *
 * What is refused, before regcomp() sees it:
 *   - a pattern longer than FLD_RX_MAX_LEN bytes (FLD_ELIMIT), or not
 *     valid UTF-8 (FLD_EINVAL);
 *   - back-references \1..\9, whose matching is exponential (FLD_EINVAL);
 *   - a repetition of a repetition (a+?, a*{2}), which POSIX leaves
 *     undefined, and repetitions nested more than FLD_RX_MAX_NESTED deep
 *     (FLD_EINVAL);
 *   - groups nested more than FLD_RX_MAX_GROUPS deep (FLD_ELIMIT);
 *   - a pattern whose size, with every counted repetition written out as
 *     glibc does (a{3} as aaa, a+ as aa*), exceeds FLD_RX_MAX_COST
 *     (FLD_ELIMIT).
 * Real patterns (^0[0-9]{9}$, ^([A-Z][a-z]+ )*[A-Z][a-z]+$) are far inside
 * these bounds. Within them the worst patterns we know of compile in some
 * tens of milliseconds, and a match reads the text once from its start
 * rather than once per starting point.
 */
#ifndef FLD_RX_H
#define FLD_RX_H

#include <stdbool.h>

#include "err.h"

#define FLD_RX_MAX_LEN 512   /* bytes of pattern */
#define FLD_RX_MAX_COST 1024 /* pattern size with repetitions written out */
#define FLD_RX_MAX_GROUPS 32 /* parentheses inside parentheses */
#define FLD_RX_MAX_NESTED 3  /* repetitions inside repetitions */

struct fld_rx;

/*
 * Compile pattern (NUL-terminated). On success *out is a new compiled
 * pattern, freed with fld_rx_free(). Otherwise *out is NULL, and the code
 * (FLD_EINVAL or FLD_ELIMIT, as listed above; FLD_EINVAL with regerror()'s
 * text when regcomp refuses the syntax) comes with a message in err that
 * names the reason without the pattern, e.g. "back-references are not
 * supported".
 */
int fld_rx_compile(const char *pattern, struct fld_rx **out,
                   struct fld_err *err);

/*
 * True when the pattern matches somewhere in text. text must be valid
 * UTF-8 (fld_utf8_valid): the caller checks, and refuses text that is not,
 * because '.' matches no stray byte and the one-pass search would then miss
 * a match after one. Thread-safe: rx is only read.
 */
bool fld_rx_match(const struct fld_rx *rx, const char *text);

/* Free rx; NULL is allowed. */
void fld_rx_free(struct fld_rx *rx);

#endif
