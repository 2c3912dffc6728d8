/*
 * expr_func.c - the function library of the expression language: not(),
 * selected(), count(), sum(), if(), coalesce(), regex(), round(), date()
 * and the rest, and the table the parser finds them in.
 *
 * Where it sits: the parser (expr_parse.c) looks each call up in funcs[]
 * by name and checks its number of arguments; the evaluator (expr_eval.c)
 * evaluates the arguments of an eager function, answers UNKNOWN itself
 * when one of them is UNKNOWN, and otherwise calls the function with the
 * values in struct call. A lazy function (if(), coalesce(), threshold(),
 * param()) gets no values and evaluates what it needs through
 * fld_expr_eval_node(). Adding a function is a row in funcs[] and one
 * fn_ function; the table is sorted by name.
 *
 * Decisions, as XLSForm (ODK) has them unless said otherwise:
 *   - sum() of a list with a blank item is NaN, as in ODK (JavaRosa adds
 *     number('') = NaN), and UNKNOWN in tri-state mode; sum() of no items
 *     is 0. count() and sum() take a single value as a one-item list.
 *   - round() rounds half away from zero (as ODK does, unlike XPath 1.0's
 *     round(-2.5) = -2), on the decimal the number prints as, so
 *     round(1.005, 2) is 1.01 although the double 1.005 lies just below
 *     (fld_value_round() in value.h).
 *   - int() truncates toward zero; int(NaN) is NaN.
 *   - string-length() counts code points. Text is stored NFC (norm.c), so
 *     that is what a person calls characters for Vietnamese; decomposed
 *     input would count each combining mark separately. Text that is not
 *     UTF-8 is an error.
 *   - date() returns the string form "YYYY-MM-DD": date('2025-1-1') is
 *     refused, date(0) is '1970-01-01' and number(date('1970-01-02')) is
 *     1, as in XLSForm; a blank or NaN stays blank. today() is the day the
 *     caller says it is (struct fld_expr_env): nothing here reads a clock.
 *   - regex() searches (it is not anchored: write ^ and $) with POSIX
 *     extended syntax in a UTF-8 locale of its own, within the bounds of
 *     rx.h. Text that is not UTF-8 is an error, as for string-length().
 *   - selected() trims the choice it looks for, as ODK does.
 */
#include "expr.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "date.h"
#include "expr_int.h"
#include "rx.h"
#include "utf8.h"

static int fn_not(const struct call *c, struct fld_value *out)
{
    fld_value_bool(out, !fld_value_truthy(&c->args[0]));
    return FLD_OK;
}

static int fn_true(const struct call *c, struct fld_value *out)
{
    (void)c;
    fld_value_bool(out, true);
    return FLD_OK;
}

static int fn_false(const struct call *c, struct fld_value *out)
{
    (void)c;
    fld_value_bool(out, false);
    return FLD_OK;
}

/* The choice of selected(): trimmed, as ODK does. */
static const char *trimmed(const char *s, size_t *len)
{
    size_t n;

    while (is_space(*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    *len = n;
    return s;
}

/* Call fn on each choice of a select_multiple answer: a LIST's items, or
 * the words of a space-separated string. Stops when fn returns true. */
static bool each_choice(const struct fld_value *v,
                        bool (*fn)(const char *s, size_t len, void *ctx),
                        void *ctx)
{
    const char *s, *word;
    char *tmp;
    bool is_done = false;
    size_t i, len;

    if (v->type == FLD_V_LIST) {
        for (i = 0; i < v->n && !is_done; i++) {
            s = trimmed(fld_value_text(&v->items[i], &tmp), &len);
            if (len > 0)
                is_done = fn(s, len, ctx);
            free(tmp);
        }
        return is_done;
    }
    s = fld_value_text(v, &tmp);
    while (!is_done && *s != '\0') {
        while (is_space(*s))
            s++;
        for (word = s; *s != '\0' && !is_space(*s); s++)
            ;
        if (s > word)
            is_done = fn(word, (size_t)(s - word), ctx);
    }
    free(tmp);
    return is_done;
}

struct wanted {
    const char *s;
    size_t len;
};

static bool is_wanted(const char *s, size_t len, void *ctx)
{
    const struct wanted *w = ctx;

    return len == w->len && memcmp(s, w->s, len) == 0;
}

static bool count_one(const char *s, size_t len, void *ctx)
{
    (void)s;
    (void)len;
    ++*(size_t *)ctx;
    return false;
}

static int fn_selected(const struct call *c, struct fld_value *out)
{
    struct wanted w;
    char *tmp;

    w.s = trimmed(fld_value_text(&c->args[1], &tmp), &w.len);
    fld_value_bool(out, w.len > 0 && each_choice(&c->args[0], is_wanted, &w));
    free(tmp);
    return FLD_OK;
}

static int fn_count_selected(const struct call *c, struct fld_value *out)
{
    size_t n = 0;

    each_choice(&c->args[0], count_one, &n);
    fld_value_number(out, (double)n);
    return FLD_OK;
}

/* count(): the items of a LIST; any other value is one item. */
static int fn_count(const struct call *c, struct fld_value *out)
{
    const struct fld_value *v = &c->args[0];

    fld_value_number(out, v->type == FLD_V_LIST ? (double)v->n : 1);
    return FLD_OK;
}

/* sum(): a blank item makes NaN (UNKNOWN in tri-state mode), as in ODK. */
static int fn_sum(const struct call *c, struct fld_value *out)
{
    const struct fld_value *v = &c->args[0];
    double total = 0;
    size_t i;

    if (v->type != FLD_V_LIST) {
        fld_value_number(out, fld_value_to_number(v));
        return FLD_OK;
    }
    for (i = 0; i < v->n; i++) {
        const struct fld_value *item = &v->items[i];
        bool is_blank = item->type == FLD_V_BLANK ||
                        item->type == FLD_V_UNKNOWN ||
                        (item->type == FLD_V_STRING &&
                         (item->s == NULL || item->s[0] == '\0'));

        if (is_blank && c->env->tri_state) {
            fld_value_unknown(out);
            return FLD_OK;
        }
        total += fld_value_to_number(item);
    }
    fld_value_number(out, total);
    return FLD_OK;
}

static int fn_if(const struct call *c, struct fld_value *out)
{
    struct fld_value cond;
    int rc =
        fld_expr_eval_node(c->e, kid(c->e, c->n, 0), c->env, &cond, c->err);
    size_t branch;

    if (rc != FLD_OK)
        return rc;
    if (cond.type == FLD_V_UNKNOWN) {
        fld_value_unknown(out);
        return FLD_OK;
    }
    branch = fld_value_truthy(&cond) ? 1 : 2;
    fld_value_clear(&cond);
    return fld_expr_eval_node(c->e, kid(c->e, c->n, branch), c->env, out,
                              c->err);
}

static bool is_blank(const struct fld_value *v)
{
    return v->type == FLD_V_BLANK || v->type == FLD_V_UNKNOWN ||
           (v->type == FLD_V_LIST && v->n == 0);
}

/* coalesce(a, b): a unless it is blank (or UNKNOWN), then b. */
static int fn_coalesce(const struct call *c, struct fld_value *out)
{
    int rc = fld_expr_eval_node(c->e, kid(c->e, c->n, 0), c->env, out, c->err);

    if (rc != FLD_OK || !is_blank(out))
        return rc;
    fld_value_clear(out);
    return fld_expr_eval_node(c->e, kid(c->e, c->n, 1), c->env, out, c->err);
}

static int fn_regex(const struct call *c, struct fld_value *out)
{
    const struct node *n = c->n;
    char *tmp_s, *tmp_p = NULL;
    const char *s = fld_value_text(&c->args[0], &tmp_s);
    struct fld_rx *rx = n->rx;
    struct fld_err why;
    int rc = FLD_OK;

    if (rx == NULL) { /* a pattern that only evaluation knows */
        rc = fld_rx_compile(fld_value_text(&c->args[1], &tmp_p), &rx, &why);
        if (rc != FLD_OK)
            rc = fld_expr_error(c->e, kid(c->e, n, 1), c->err, rc,
                                "regex(): %s", why.msg);
    }
    /* '.' matches no byte that is not UTF-8, so the anchored form would
     * miss what follows one: refused, as by string-length() */
    if (rc == FLD_OK && !fld_utf8_valid((const uint8_t *)s, strlen(s)))
        rc = fld_expr_error(c->e, kid(c->e, n, 0), c->err, FLD_EINVAL,
                            "regex(): not valid UTF-8");
    if (rc == FLD_OK)
        fld_value_bool(out, fld_rx_match(rx, s));
    if (rx != n->rx)
        fld_rx_free(rx);
    free(tmp_s);
    free(tmp_p);
    return rc;
}

static int fn_string_length(const struct call *c, struct fld_value *out)
{
    char *tmp;
    size_t n = fld_utf8_length(fld_value_text(&c->args[0], &tmp));

    free(tmp);
    if (n == (size_t)-1)
        return fld_expr_error(c->e, c->n, c->err, FLD_EINVAL,
                              "string-length(): not valid UTF-8");
    fld_value_number(out, (double)n);
    return FLD_OK;
}

static int fn_concat(const struct call *c, struct fld_value *out)
{
    struct fld_buf b = FLD_BUF_INIT;
    char *tmp;
    size_t k;

    for (k = 0; k < c->n->n_kids; k++) {
        fld_buf_puts(&b, fld_value_text(&c->args[k], &tmp));
        free(tmp);
    }
    if (b.data != NULL)
        fld_value_take_string(out, fld_buf_detach(&b, NULL));
    return FLD_OK;
}

static int fn_number(const struct call *c, struct fld_value *out)
{
    fld_value_number(out, fld_value_to_number(&c->args[0]));
    return FLD_OK;
}

static int fn_int(const struct call *c, struct fld_value *out)
{
    fld_value_number(out, trunc(fld_value_to_number(&c->args[0])));
    return FLD_OK;
}

static int fn_round(const struct call *c, struct fld_value *out)
{
    double x = fld_value_to_number(&c->args[0]), places = 0;

    if (c->n->n_kids == 2)
        places = trunc(fld_value_to_number(&c->args[1]));
    if (isnan(places)) {
        fld_value_number(out, NAN);
        return FLD_OK;
    }
    /* beyond 400 places either way the answer no longer changes */
    places = fmax(-400, fmin(400, places));
    fld_value_number(out, fld_value_round(x, (int)places));
    return FLD_OK;
}

static void set_date(struct fld_value *out, int64_t days)
{
    char text[11];

    fld_date_format(days, text);
    fld_value_string(out, text);
}

static int fn_today(const struct call *c, struct fld_value *out)
{
    int64_t days;

    if (c->env->today == NULL || !fld_date_parse(c->env->today, &days))
        return fld_expr_error(c->e, c->n, c->err, FLD_EINVAL,
                              "today() is not known here");
    fld_value_string(out, c->env->today);
    return FLD_OK;
}

/* date(): a date string, or a day number; a blank or NaN stays blank. */
static int fn_date(const struct call *c, struct fld_value *out)
{
    const struct fld_value *v = &c->args[0];
    int64_t days;
    double x;

    if (v->type == FLD_V_BLANK)
        return FLD_OK;
    if (v->type == FLD_V_STRING && fld_date_parse(v->s, &days)) {
        set_date(out, days);
        return FLD_OK;
    }
    x = v->type == FLD_V_BOOL ? NAN : floor(fld_value_to_number(v));
    if (isnan(x) && v->type == FLD_V_NUMBER)
        return FLD_OK;
    if (isnan(x) || x < FLD_DATE_DAY_MIN || x > FLD_DATE_DAY_MAX) {
        char *tmp;
        const char *text = fld_value_text(v, &tmp);
        size_t len = strnlen(text, 40);
        int rc;

        while (((unsigned char)text[len] & 0xc0) == 0x80) /* whole chars */
            len--;
        rc = fld_expr_error(c->e, c->n, c->err, FLD_EINVAL,
                            "date(): '%.*s' is not a date (YYYY-MM-DD)",
                            (int)len, text);
        free(tmp);
        return rc;
    }
    set_date(out, (int64_t)x);
    return FLD_OK;
}

/* threshold() and param(): the callback's value for a name known since
 * parsing. An unset threshold is UNKNOWN in tri-state mode. */
static int fetch_named(const struct call *c, struct fld_value *out,
                       bool is_threshold)
{
    int (*fn)(void *, const char *, struct fld_value *) =
        is_threshold ? c->env->threshold : c->env->param;
    const char *what = is_threshold ? "threshold" : "param";
    const char *name =
        (is_threshold ? c->e->thresholds.v : c->e->params.v)[c->n->name];
    int rc = fn ? fn(c->env->ctx, name, out) : FLD_NOTFOUND;

    if (rc != FLD_OK) {
        fld_value_clear(out);
        if (rc == FLD_NOTFOUND)
            rc = FLD_EINVAL;
        return fld_expr_error(c->e, c->n, c->err, rc, "unknown %s '%s'", what,
                              name);
    }
    fld_expr_settle(out, is_threshold && c->env->tri_state);
    return FLD_OK;
}

static int fn_threshold(const struct call *c, struct fld_value *out)
{
    return fetch_named(c, out, true);
}

static int fn_param(const struct call *c, struct fld_value *out)
{
    return fetch_named(c, out, false);
}

/* Sorted by name. */
static const struct func funcs[] = {
    {"coalesce", 2, 2, true, fn_coalesce},
    {"concat", 1, MANY, false, fn_concat},
    {"count", 1, 1, false, fn_count},
    {"count-selected", 1, 1, false, fn_count_selected},
    {"date", 1, 1, false, fn_date},
    {"false", 0, 0, false, fn_false},
    {"if", 3, 3, true, fn_if},
    {"int", 1, 1, false, fn_int},
    {"not", 1, 1, false, fn_not},
    {"number", 1, 1, false, fn_number},
    {"param", 1, 1, true, fn_param},
    {"regex", 2, 2, false, fn_regex},
    {"round", 1, 2, false, fn_round},
    {"selected", 2, 2, false, fn_selected},
    {"string-length", 0, 1, false, fn_string_length},
    {"sum", 1, 1, false, fn_sum},
    {"threshold", 1, 1, true, fn_threshold},
    {"today", 0, 0, false, fn_today},
    {"true", 0, 0, false, fn_true},
};

const struct func *fld_expr_find_func(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (strlen(funcs[i].name) == len &&
            strncmp(funcs[i].name, name, len) == 0)
            return &funcs[i];
    return NULL;
}
