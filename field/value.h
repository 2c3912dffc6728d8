/*
 * value.h - the values of the expression language, and XPath's three
 * conversions between them: number(), string() and boolean().
 *
 * A value is what a rule computes and what the form engine hands it: an
 * answer (the form engine builds one per question and repeat item, form.h),
 * a threshold, a literal, the result of an operator. The conversions are
 * XPath 1.0's as XLSForm (ODK) uses them; what they decide:
 *
 *   - Blanks. An unanswered or non-relevant question is BLANK, which reads
 *     as the empty string and as NaN, never as 0. An empty STRING reads
 *     the same way in every conversion, and the evaluator turns the empty
 *     strings it builds, or gets from a callback, into BLANK.
 *   - Numbers as text. Integers print without a point; other numbers print
 *     in the shortest decimal that reads back to the same double, never
 *     with an exponent (XPath: 1e21 is "1000000000000000000000"); NaN,
 *     Infinity and -Infinity print as those words.
 *   - Text as a number: optional white space, an optional minus, digits
 *     with at most one point, optional white space; anything else (an
 *     exponent, a plus sign, a comma, "Infinity") is NaN. Except that a
 *     string that is exactly a valid date "YYYY-MM-DD" is its day number
 *     since 1970-01-01 (date.h; ODK converts its date values the same
 *     way), so dates compare and subtract as days.
 *   - Lists. A LIST (a select_multiple answer, or a field of a repeat seen
 *     from outside) reads as its items joined by single spaces, the XForms
 *     value of a select_multiple. So a one-item list is its item, and a
 *     list of several items is NaN as a number (XPath would silently take
 *     the first; arithmetic on a whole repeat column is a mistake that NaN
 *     makes visible). It is true when it has items.
 *   - Numbers are read and written in the "C" LC_NUMERIC locale; field
 *     sets only LC_CTYPE, so a Vietnamese locale never turns "54.78" into
 *     "54,78".
 *
 * Ownership: a struct fld_value owns its string and its items. Every value
 * that was filled, by a constructor or by an evaluation, is released with
 * fld_value_clear(); a zeroed struct is a BLANK that needs no clearing.
 */
#ifndef FLD_VALUE_H
#define FLD_VALUE_H

#include <stdbool.h>
#include <stddef.h>

enum fld_value_type {
    FLD_V_BLANK, /* empty string: unanswered, non-relevant */
    FLD_V_NUMBER,
    FLD_V_STRING,
    FLD_V_BOOL,
    FLD_V_LIST,   /* the values of one field across repeat items */
    FLD_V_UNKNOWN /* tri-state evaluation only (expr.h) */
};

struct fld_value {
    enum fld_value_type type;
    double num;              /* NUMBER */
    bool b;                  /* BOOL */
    char *s;                 /* STRING: owned, NUL-terminated UTF-8 */
    struct fld_value *items; /* LIST: owned */
    size_t n;                /* LIST: items */
};

/* Constructors: each overwrites *v without freeing what it held. */
void fld_value_number(struct fld_value *v, double num);
/* A copy of s. s may be "": a STRING holding "" reads as a blank in every
 * conversion, and the evaluator turns one a callback returns into BLANK. */
void fld_value_string(struct fld_value *v, const char *s);
void fld_value_blank(struct fld_value *v);
void fld_value_bool(struct fld_value *v, bool b);
void fld_value_unknown(struct fld_value *v);
/* Takes s (malloc'd, NUL-terminated): a STRING, or a BLANK for "" (then s
 * is freed here). */
void fld_value_take_string(struct fld_value *v, char *s);
/* A LIST of n blank items (allocated here) for the caller to fill. */
void fld_value_list(struct fld_value *v, size_t n);
/* A deep copy of src into dst (overwritten without being freed). */
void fld_value_copy(struct fld_value *dst, const struct fld_value *src);

/* Free what v holds and leave it BLANK. v may be NULL. */
void fld_value_clear(struct fld_value *v);

/* XPath boolean(): non-empty string, non-zero non-NaN number, true, a
 * non-empty list. UNKNOWN is false here (ask the type first). */
bool fld_value_truthy(const struct fld_value *v);

/* XPath number(), as decided above: NaN for a blank, UNKNOWN, a list of
 * several items or text that is not a number. */
double fld_value_to_number(const struct fld_value *v);

/* XPath string(): numbers as XLSForm writes them (no trailing ".0"). New
 * string, free(). */
char *fld_value_to_string(const struct fld_value *v);

/* The string value of v without a copy when v holds one: borrowed from v,
 * or "" for a blank or UNKNOWN; otherwise built, and also left in *tmp,
 * which the caller frees (free(NULL) when nothing was built). */
const char *fld_value_text(const struct fld_value *v, char **tmp);

/*
 * x rounded to `places` decimal places (negative: to tens, hundreds ...),
 * half away from zero as ODK does (XPath 1.0 has round(-2.5) = -2), on the
 * shortest decimal form of x, the one fld_value_to_string() prints, rather
 * than on its binary value: 1.005 rounded to 2 places is 1.01, as the
 * person reading "1.005" expects, although the double lies just below.
 * NaN, infinities and zeros are returned as they are.
 */
double fld_value_round(double x, int places);

#endif
