/*
 * expr.h - the expression language of checklist templates: XLSForm's
 * syntax and semantics, parsed once into a tree and evaluated many times.
 *
 *   ${name}  .  'text' "text"  12  3.5
 *   + - * div mod   = != < <= > >=   and or   unary -
 *   not() selected() count-selected() count() sum() if() coalesce()
 *   regex() string-length() concat() number() int() round() today() date()
 *   true() false()
 *   threshold('name')  param('name')      (field's own, for criteria rules)
 *
 * Blanks behave as in XLSForm: an unanswered or non-relevant question is
 * the empty string; in arithmetic it is NaN (not 0); compared with a
 * number it compares as NaN (false); compared with a string it is ''.
 *
 * Criteria need a third answer beside true and false: "unknown", when a
 * threshold is unset or an answer the rule needs is missing. Evaluated
 * with env->tri_state set, a blank reference and an unset threshold give
 * FLD_V_UNKNOWN, which propagates by Kleene's rules: false and unknown is
 * false, true or unknown is true, anything else touching unknown is
 * unknown (coalesce() skips it like a blank).
 *
 * The module never prints and knows nothing of templates: names are
 * resolved through the callbacks of struct fld_expr_env.
 */
#ifndef FLD_EXPR_H
#define FLD_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "value.h"

/* Limits on what a template may ask of the parser. */
#define FLD_EXPR_MAX_LEN 8192 /* bytes of source */
#define FLD_EXPR_MAX_DEPTH 64 /* nesting of parentheses and calls */

struct fld_expr;

/*
 * Parse src. *out is freed with fld_expr_free(). FLD_EINVAL with a message
 * naming the column, in characters from 1 ("column 7: expected ')'");
 * FLD_ELIMIT when longer than FLD_EXPR_MAX_LEN or nested deeper than
 * FLD_EXPR_MAX_DEPTH, or for a literal regex() pattern too large.
 * Unknown functions and wrong argument counts are parse errors, and so
 * are threshold() and param() of anything but a quoted name.
 */
int fld_expr_parse(const char *src, struct fld_expr **out, struct fld_err *err);
void fld_expr_free(struct fld_expr *e);

/* The names the expression reads, each once, in order of first use:
 * ${name} references, threshold('x') names and param('x') names. Borrowed
 * from e. */
size_t fld_expr_n_refs(const struct fld_expr *e);
const char *fld_expr_ref(const struct fld_expr *e, size_t i);
size_t fld_expr_n_thresholds(const struct fld_expr *e);
const char *fld_expr_threshold(const struct fld_expr *e, size_t i);
size_t fld_expr_n_params(const struct fld_expr *e);
const char *fld_expr_param(const struct fld_expr *e, size_t i);
/* True when the expression uses '.' (the value being checked). */
bool fld_expr_uses_self(const struct fld_expr *e);

/* How an evaluation finds values. Each callback fills *out with a new
 * value (the caller clears it) and returns FLD_OK, or FLD_NOTFOUND for a
 * name it does not know (an evaluation error). */
struct fld_expr_env {
    void *ctx;
    /* ${name}: a blank, a number, a string, a BOOL never; a field of a
     * repeat seen from outside it is a LIST of its values per item; a
     * repeat's own name is a LIST with one entry per item. */
    int (*lookup)(void *ctx, const char *name, struct fld_value *out);
    /* threshold('name'): NUMBER or STRING; BLANK when unset. */
    int (*threshold)(void *ctx, const char *name, struct fld_value *out);
    /* param('name'): the template parameter's value, BLANK when unset. */
    int (*param)(void *ctx, const char *name, struct fld_value *out);
    const struct fld_value *self; /* '.'; NULL when not in a constraint */
    const char *today;            /* "YYYY-MM-DD" for today() */
    bool tri_state;               /* unknown instead of blank, see above */
};

/*
 * Evaluate e. *out is a new value (fld_value_clear). Errors (FLD_EINVAL):
 * an unknown name, a regex that does not compile, a date() that is not a
 * date (FLD_ELIMIT: a regex pattern too large). Messages name the column.
 * Division by zero is not an error: it gives Infinity or NaN as in XPath.
 * On error *out is blank.
 */
int fld_expr_eval(const struct fld_expr *e, const struct fld_expr_env *env,
                  struct fld_value *out, struct fld_err *err);

#endif
