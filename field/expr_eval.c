/*
 * expr_eval.c - evaluation of an expression tree (fld_expr_eval() in
 * expr.h): literals, names, operators and calls.
 *
 * Where it sits: the form engine (form.c) calls fld_expr_eval() for every
 * rule of a template each time it evaluates a record, with callbacks that
 * find the answers; this file walks the tree, asks the callbacks for
 * ${name}, threshold() and param(), and hands calls to the function
 * library (expr_func.c). The tree is never changed, so one tree may be
 * evaluated by several threads at once (the callbacks permitting).
 *
 * The recursion follows the tree, whose depth the parser bounds
 * (expr_parse.c): about 7 * FLD_EXPR_MAX_DEPTH frames at most. The cost
 * is one visit per node, plus what a callback or a function costs; a
 * chain of n operators is a loop, not n frames. Literal numbers are read
 * straight from the node (eval_number) without building a value, which is
 * most of what arithmetic reads.
 *
 * Decisions, XPath 1.0 as XLSForm (ODK) has them unless said otherwise:
 *   - Blanks. A blank is the empty string; any empty string a rule
 *     produces is a blank too (they behave identically). In arithmetic a
 *     blank is NaN; compared with a number it compares as NaN; compared
 *     with a string it is ''. So `${x} = ''` holds for a blank x.
 *   - NaN. Every comparison with NaN is false, except != which is true: in
 *     XPath (and IEEE 754) a != b is exactly not(a = b).
 *   - Division. 1 div 0 is Infinity, -1 div 0 is -Infinity, 0 div 0 is
 *     NaN, x mod 0 is NaN; mod truncates (-5 mod 3 = -2) as XPath says.
 *     None of them is an error.
 *   - Dates compare as day numbers (value.h), so `${visit} < today()`
 *     compares days, and `${visit} = today()` compares the strings, which
 *     is the same thing because the form is canonical.
 *   - Unknown (tri-state mode, expr.h): an operator or a function touching
 *     UNKNOWN gives UNKNOWN, except and / or, which follow Kleene (false
 *     and unknown is false, true or unknown is true), and the lazy
 *     functions if() and coalesce(), which decide for themselves. Every
 *     operand of an operator is still evaluated after an UNKNOWN, so that
 *     an error in a rule shows whatever the answers are.
 */
#include "expr.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expr_int.h"

/* Functions with this many arguments or fewer keep them on the stack. */
#define ARGS_ON_STACK 4

void fld_expr_settle(struct fld_value *v, bool is_tri_state)
{
    if (v->type == FLD_V_STRING && (v->s == NULL || v->s[0] == '\0'))
        fld_value_clear(v);
    if (v->type == FLD_V_BLANK && is_tri_state)
        fld_value_unknown(v);
    else if (v->type == FLD_V_UNKNOWN && !is_tri_state)
        fld_value_blank(v);
}

/* x div y without leaning on C for division by zero: XPath wants IEEE. */
static double divide(double x, double y)
{
    if (y == 0) {
        if (x == 0 || isnan(x))
            return NAN;
        return (signbit(x) != signbit(y)) ? -INFINITY : INFINITY;
    }
    return x / y;
}

static double modulo(double x, double y)
{
    if (y == 0 || isinf(x) || isnan(x) || isnan(y))
        return NAN;
    return fmod(x, y);
}

static int eval(const struct fld_expr *e, const struct node *n,
                const struct fld_expr_env *env, struct fld_value *out,
                struct fld_err *err);

/* Report an evaluation error at node n: "column N: ...". */
int fld_expr_error(const struct fld_expr *e, const struct node *n,
                   struct fld_err *err, int code, const char *fmt, ...)
{
    char msg[FLD_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fld_err_set(err, code, "column %zu: %s",
                       fld_expr_column(e->src, n->pos), msg);
}

/* Evaluate n as a number; an UNKNOWN sets *is_unknown. Literals skip the
 * value altogether, which is most of what arithmetic reads. */
static int eval_number(const struct fld_expr *e, const struct node *n,
                       const struct fld_expr_env *env, double *x,
                       bool *is_unknown, struct fld_err *err)
{
    struct fld_value v;
    int rc;

    if (n->kind == N_NUM) {
        *x = n->num;
        return FLD_OK;
    }
    rc = eval(e, n, env, &v, err);
    if (rc != FLD_OK)
        return rc;
    if (v.type == FLD_V_UNKNOWN)
        *is_unknown = true;
    *x = fld_value_to_number(&v);
    fld_value_clear(&v);
    return FLD_OK;
}

static int eval_ref(const struct fld_expr *e, const struct node *n,
                    const struct fld_expr_env *env, struct fld_value *out,
                    struct fld_err *err)
{
    const char *name = e->refs.v[n->name];
    int rc;

    fld_value_blank(out);
    if (env->lookup == NULL)
        rc = FLD_NOTFOUND;
    else
        rc = env->lookup(env->ctx, name, out);
    if (rc != FLD_OK) {
        fld_value_clear(out);
        if (rc == FLD_NOTFOUND)
            rc = FLD_EINVAL;
        return fld_expr_error(e, n, err, rc, "unknown reference ${%s}", name);
    }
    fld_expr_settle(out, env->tri_state);
    return FLD_OK;
}

static int eval_self(const struct fld_expr *e, const struct node *n,
                     const struct fld_expr_env *env, struct fld_value *out,
                     struct fld_err *err)
{
    fld_value_blank(out);
    if (env->self == NULL)
        return fld_expr_error(e, n, err, FLD_EINVAL,
                              "'.' has no value here (only in a constraint)");
    fld_value_copy(out, env->self);
    fld_expr_settle(out, env->tri_state);
    return FLD_OK;
}

static int eval_neg(const struct fld_expr *e, const struct node *n,
                    const struct fld_expr_env *env, struct fld_value *out,
                    struct fld_err *err)
{
    bool is_unknown = false;
    double x;
    int rc = eval_number(e, kid(e, n, 0), env, &x, &is_unknown, err);

    fld_value_blank(out);
    if (rc != FLD_OK)
        return rc;
    if (is_unknown)
        fld_value_unknown(out);
    else
        fld_value_number(out, n->is_odd ? -x : x);
    return FLD_OK;
}

static double arith(enum op op, double x, double y)
{
    switch (op) {
    case OP_ADD:
        return x + y;
    case OP_SUB:
        return x - y;
    case OP_MUL:
        return x * y;
    case OP_DIV:
        return divide(x, y);
    case OP_MOD:
        return modulo(x, y);
    default:
        assert(!"not an arithmetic operator");
        return NAN;
    }
}

/* + - * div mod. Every operand is evaluated even once one is UNKNOWN, so
 * that an error is reported whatever the answers are. */
static int eval_arith(const struct fld_expr *e, const struct node *n,
                      const struct fld_expr_env *env, struct fld_value *out,
                      struct fld_err *err)
{
    bool is_unknown = false;
    double acc = 0, x = 0;
    size_t k;
    int rc;

    fld_value_blank(out);
    rc = eval_number(e, kid(e, n, 0), env, &acc, &is_unknown, err);
    for (k = 1; rc == FLD_OK && k < n->n_kids; k++) {
        rc = eval_number(e, kid(e, n, k), env, &x, &is_unknown, err);
        if (rc == FLD_OK)
            acc = arith((enum op)n->ops[k], acc, x);
    }
    if (rc != FLD_OK)
        return rc;
    if (is_unknown)
        fld_value_unknown(out);
    else
        fld_value_number(out, acc);
    return FLD_OK;
}

/*
 * XPath 1.0 comparison of two values that are not UNKNOWN. For = and !=:
 * a boolean on either side compares as booleans, else a number on either
 * side compares as numbers, else as strings. <, <=, >, >= always compare
 * numbers. NaN is unequal to everything, so != is exactly not(=).
 */
static bool compare(enum op op, const struct fld_value *a,
                    const struct fld_value *b)
{
    bool is_equal;
    double x, y;

    if (op == OP_EQ || op == OP_NE) {
        if (a->type == FLD_V_BOOL || b->type == FLD_V_BOOL) {
            is_equal = fld_value_truthy(a) == fld_value_truthy(b);
        } else if (a->type == FLD_V_NUMBER || b->type == FLD_V_NUMBER) {
            is_equal = fld_value_to_number(a) == fld_value_to_number(b);
        } else {
            char *ta, *tb;

            is_equal =
                strcmp(fld_value_text(a, &ta), fld_value_text(b, &tb)) == 0;
            free(ta);
            free(tb);
        }
        return op == OP_EQ ? is_equal : !is_equal;
    }
    x = fld_value_to_number(a);
    y = fld_value_to_number(b);
    switch (op) {
    case OP_LT:
        return x < y;
    case OP_LE:
        return x <= y;
    case OP_GT:
        return x > y;
    case OP_GE:
        return x >= y;
    default:
        assert(!"not a comparison");
        return false;
    }
}

/* = != < <= > >=, folded from the left as XPath does: 1 < 2 < 3 is
 * (1 < 2) < 3, that is true() < 3, that is 1 < 3. */
static int eval_compare(const struct fld_expr *e, const struct node *n,
                        const struct fld_expr_env *env, struct fld_value *out,
                        struct fld_err *err)
{
    struct fld_value right;
    size_t k;
    int rc;
    bool b;

    rc = eval(e, kid(e, n, 0), env, out, err);
    for (k = 1; rc == FLD_OK && k < n->n_kids; k++) {
        rc = eval(e, kid(e, n, k), env, &right, err);
        if (rc != FLD_OK)
            break;
        if (out->type == FLD_V_UNKNOWN || right.type == FLD_V_UNKNOWN) {
            fld_value_clear(out);
            fld_value_unknown(out);
        } else {
            b = compare((enum op)n->ops[k], out, &right);
            fld_value_clear(out);
            fld_value_bool(out, b);
        }
        fld_value_clear(&right);
    }
    if (rc != FLD_OK)
        fld_value_clear(out);
    return rc;
}

/*
 * and / or with Kleene's third value. Left to right, stopping at the first
 * operand that decides (false for and, true for or) as XPath does; an
 * UNKNOWN decides nothing, so the rest is still read: unknown and false
 * is false, unknown or true is true.
 */
static int eval_logic(const struct fld_expr *e, const struct node *n,
                      const struct fld_expr_env *env, struct fld_value *out,
                      struct fld_err *err)
{
    bool is_and = n->level == L_AND, is_unknown = false;
    struct fld_value v;
    size_t k;
    int rc;

    fld_value_blank(out);
    for (k = 0; k < n->n_kids; k++) {
        rc = eval(e, kid(e, n, k), env, &v, err);
        if (rc != FLD_OK)
            return rc;
        if (v.type == FLD_V_UNKNOWN) {
            is_unknown = true;
        } else if (fld_value_truthy(&v) != is_and) {
            fld_value_clear(&v);
            fld_value_bool(out, !is_and);
            return FLD_OK;
        }
        fld_value_clear(&v);
    }
    if (is_unknown)
        fld_value_unknown(out);
    else
        fld_value_bool(out, is_and);
    return FLD_OK;
}

static int eval_chain(const struct fld_expr *e, const struct node *n,
                      const struct fld_expr_env *env, struct fld_value *out,
                      struct fld_err *err)
{
    switch (n->level) {
    case L_OR:
    case L_AND:
        return eval_logic(e, n, env, out, err);
    case L_EQ:
    case L_REL:
        return eval_compare(e, n, env, out, err);
    default:
        return eval_arith(e, n, env, out, err);
    }
}

/* A call: evaluate the arguments (unless the function does it itself),
 * answer UNKNOWN if one is, else run the function. */
static int eval_call(const struct fld_expr *e, const struct node *n,
                     const struct fld_expr_env *env, struct fld_value *out,
                     struct fld_err *err)
{
    struct fld_value on_stack[ARGS_ON_STACK], *args = on_stack;
    struct call c = {e, n, env, NULL, err};
    bool is_unknown = false;
    size_t k, n_done = 0;
    int rc = FLD_OK;

    fld_value_blank(out);
    if (n->fn->is_lazy)
        return n->fn->eval(&c, out);
    if (n->n_kids > ARGS_ON_STACK)
        args = fld_xcalloc(n->n_kids, sizeof *args);
    for (k = 0; rc == FLD_OK && k < n->n_kids; k++, n_done++) {
        rc = eval(e, kid(e, n, k), env, &args[k], err);
        if (rc == FLD_OK && args[k].type == FLD_V_UNKNOWN)
            is_unknown = true;
    }
    if (rc == FLD_OK && is_unknown) {
        fld_value_unknown(out);
    } else if (rc == FLD_OK) {
        c.args = args;
        rc = n->fn->eval(&c, out);
    }
    for (k = 0; k < n_done; k++)
        fld_value_clear(&args[k]);
    if (args != on_stack)
        free(args);
    return rc;
}

static int eval(const struct fld_expr *e, const struct node *n,
                const struct fld_expr_env *env, struct fld_value *out,
                struct fld_err *err)
{
    switch (n->kind) {
    case N_NUM:
        fld_value_number(out, n->num);
        return FLD_OK;
    case N_STR:
        fld_value_blank(out);
        if (n->s != NULL)
            fld_value_string(out, n->s);
        return FLD_OK;
    case N_REF:
        return eval_ref(e, n, env, out, err);
    case N_SELF:
        return eval_self(e, n, env, out, err);
    case N_NEG:
        return eval_neg(e, n, env, out, err);
    case N_CHAIN:
        return eval_chain(e, n, env, out, err);
    case N_CALL:
        return eval_call(e, n, env, out, err);
    }
    assert(!"unknown node kind");
    return FLD_EINVAL;
}

int fld_expr_eval_node(const struct fld_expr *e, const struct node *n,
                       const struct fld_expr_env *env, struct fld_value *out,
                       struct fld_err *err)
{
    return eval(e, n, env, out, err);
}

int fld_expr_eval(const struct fld_expr *e, const struct fld_expr_env *env,
                  struct fld_value *out, struct fld_err *err)
{
    int rc;

    assert(e != NULL && env != NULL && out != NULL);
    rc = eval(e, &e->nodes[e->root], env, out, err);
    if (rc != FLD_OK)
        fld_value_clear(out);
    return rc;
}
