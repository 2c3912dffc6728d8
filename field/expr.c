/*
 * expr.c - the expression language of checklist templates (expr.h is the
 * contract); this file holds what is left once a rule is parsed: the tree,
 * the names it reads, and freeing it. expr_int.h maps the other files.
 *
 * Where it sits: the template loader parses every `relevant`, `constraint`,
 * `calculation`, `required` and criterion `met` rule once, with
 * fld_expr_parse() (expr_parse.c), and asks the tree, here, which names a
 * rule reads, to refuse unknown references and cycles of calculations.
 * The form engine then evaluates the same trees again and again as answers
 * change (expr_eval.c, expr_func.c), resolving names through the callbacks
 * of struct fld_expr_env. Nothing in the language knows what a template
 * is, and nothing prints.
 *
 * The semantics are XPath 1.0 as XLSForm (ODK) uses it. Where XPath and
 * ODK leave a choice open, or disagree, the decision is written down where
 * it is made:
 *   - blanks, numbers as text, dates as day numbers, lists: value.h;
 *   - blanks and NaN in comparisons, division by zero, Kleene's unknown in
 *     and / or: expr_eval.c (and expr.h for the unknown);
 *   - count(), sum(), round(), int(), string-length(), date(), regex():
 *     expr_func.c; what regex() refuses and why: rx.h.
 * Every error message names the column, counted in characters from 1, of
 * the token at fault ("column 7: expected ')'") or of the node whose
 * evaluation failed.
 */
#include "expr.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expr_int.h"

/* Continuation bytes 10xxxxxx do not start a character. */
size_t fld_expr_column(const char *src, size_t pos)
{
    size_t i, col = 1;

    for (i = 0; i < pos && src[i] != '\0'; i++)
        if (((unsigned char)src[i] & 0xc0) != 0x80)
            col++;
    return col;
}

size_t fld_expr_add_name(struct names *names, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < names->n; i++)
        if (strncmp(names->v[i], s, len) == 0 && names->v[i][len] == '\0')
            return i;
    if (names->n == names->cap) {
        names->cap = names->cap ? 2 * names->cap : 4;
        names->v = fld_xreallocarray(names->v, names->cap, sizeof *names->v);
    }
    names->v[names->n] = fld_xstrndup(s, len);
    return names->n++;
}

static void free_names(struct names *names)
{
    size_t i;

    for (i = 0; i < names->n; i++)
        free(names->v[i]);
    free(names->v);
}

void fld_expr_free(struct fld_expr *e)
{
    size_t i;

    if (e == NULL)
        return;
    for (i = 0; i < e->n_nodes; i++) {
        struct node *n = &e->nodes[i];

        free(n->s);
        free(n->kids);
        free(n->ops);
        fld_rx_free(n->rx);
    }
    free(e->nodes);
    free_names(&e->refs);
    free_names(&e->thresholds);
    free_names(&e->params);
    free(e->src);
    free(e);
}

size_t fld_expr_n_refs(const struct fld_expr *e)
{
    return e->refs.n;
}

const char *fld_expr_ref(const struct fld_expr *e, size_t i)
{
    assert(i < e->refs.n);
    return e->refs.v[i];
}

size_t fld_expr_n_thresholds(const struct fld_expr *e)
{
    return e->thresholds.n;
}

const char *fld_expr_threshold(const struct fld_expr *e, size_t i)
{
    assert(i < e->thresholds.n);
    return e->thresholds.v[i];
}

size_t fld_expr_n_params(const struct fld_expr *e)
{
    return e->params.n;
}

const char *fld_expr_param(const struct fld_expr *e, size_t i)
{
    assert(i < e->params.n);
    return e->params.v[i];
}

bool fld_expr_uses_self(const struct fld_expr *e)
{
    return e->uses_self;
}
