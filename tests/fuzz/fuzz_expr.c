/*
 * fuzz_expr.c - libFuzzer harness for the expression language
 * (field/expr*.c, with value.c, rx.c and date.c below it), the parser of
 * every rule in a template, and templates come from outside: a province
 * writes its own.
 *
 * For any input: parsing and evaluating must not crash, leak, overrun or
 * recurse without bound (the sanitizers and libFuzzer's stack watch that).
 * Beyond that it checks what the contract promises:
 *   - a refused parse returns FLD_EINVAL or FLD_ELIMIT, leaves no tree, and
 *     its message starts "column N: " with N inside the input (+1);
 *   - a tree evaluates, in both modes, to FLD_OK or an error with the same
 *     kind of message, and a failed evaluation leaves a blank;
 *   - UNKNOWN appears only in tri-state mode;
 *   - evaluating twice gives the same value (no hidden state);
 *   - a number prints as text that reads back as the same number.
 *
 * The env is fixed: a few answers of each type, thresholds set and unset,
 * and a '.'.
 *
 * Built by clang apart from the normal build:
 *   clang -fsanitize=fuzzer,address,undefined -Ifield field/expr*.c \
 *         field/value.c field/rx.c field/date.c field/utf8.c field/buf.c \
 *         field/err.c tests/fuzz/fuzz_expr.c -lm
 * (make fuzz builds it with every library file instead.)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bug(const char *what, const char *src, const struct fld_err *err)
{
    fprintf(stderr, "fuzz_expr: %s\n  input: %s\n  message: %s\n", what, src,
            err ? err->msg : "");
    abort();
}

static int lookup(void *ctx, const char *name, struct fld_value *out)
{
    (void)ctx;
    if (strcmp(name, "a") == 0) {
        fld_value_number(out, 3);
    } else if (strcmp(name, "s") == 0) {
        fld_value_string(out, "Nguyễn Văn An");
    } else if (strcmp(name, "n") == 0) {
        fld_value_string(out, "12.5");
    } else if (strcmp(name, "d") == 0) {
        fld_value_string(out, "2026-11-01");
    } else if (strcmp(name, "b") == 0) {
        fld_value_blank(out);
    } else if (strcmp(name, "l") == 0) {
        fld_value_list(out, 3);
        fld_value_string(&out->items[0], "collected");
        fld_value_number(&out->items[1], 4);
        fld_value_blank(&out->items[2]);
    } else if (strcmp(name, "r") == 0) {
        fld_value_string(out, "^[0-9]+(a|b)*$");
    } else {
        return FLD_NOTFOUND;
    }
    return FLD_OK;
}

static int threshold(void *ctx, const char *name, struct fld_value *out)
{
    (void)ctx;
    if (strcmp(name, "t") == 0)
        fld_value_number(out, 80);
    else if (strcmp(name, "u") == 0)
        fld_value_blank(out);
    else
        return FLD_NOTFOUND;
    return FLD_OK;
}

static int param(void *ctx, const char *name, struct fld_value *out)
{
    (void)ctx;
    if (strcmp(name, "p") == 0)
        fld_value_string(out, "1");
    else
        return FLD_NOTFOUND;
    return FLD_OK;
}

/* The message of a refusal: "column N: ..." with 1 <= N <= len + 1. */
static void check_message(const char *src, const struct fld_err *err)
{
    unsigned long col;
    char *end;

    if (strncmp(err->msg, "column ", 7) != 0)
        bug("a message does not name its column", src, err);
    col = strtoul(err->msg + 7, &end, 10);
    if (col < 1 || col > strlen(src) + 1 || strncmp(end, ": ", 2) != 0)
        bug("a message names a column outside the input", src, err);
}

static void check_number_text(double x, const char *text, const char *src)
{
    if (isnan(x))
        return;
    if (isinf(x) ? strcmp(text, x < 0 ? "-Infinity" : "Infinity") != 0
                 : strtod(text, NULL) != x || strpbrk(text, "eE") != NULL)
        bug("a number does not print as itself", src, NULL);
}

static void eval_and_check(const struct fld_expr *e,
                           const struct fld_expr_env *env, const char *src)
{
    struct fld_value v, again;
    struct fld_err err;
    char *text, *text_again;
    int rc, rc_again;

    fld_err_clear(&err);
    rc = fld_expr_eval(e, env, &v, &err);
    if (rc != FLD_OK) {
        if (rc != FLD_EINVAL && rc != FLD_ELIMIT)
            bug("evaluation failed with an unexpected code", src, &err);
        if (v.type != FLD_V_BLANK || v.s != NULL || v.items != NULL)
            bug("a failed evaluation left a value", src, &err);
        check_message(src, &err);
        return;
    }
    if (v.type == FLD_V_UNKNOWN && !env->tri_state)
        bug("UNKNOWN outside tri-state mode", src, NULL);
    text = fld_value_to_string(&v);
    if (v.type == FLD_V_NUMBER)
        check_number_text(v.num, text, src);
    (void)fld_value_truthy(&v);

    rc_again = fld_expr_eval(e, env, &again, &err);
    text_again = rc_again == FLD_OK ? fld_value_to_string(&again) : NULL;
    if (rc_again != FLD_OK || again.type != v.type ||
        strcmp(text, text_again) != 0)
        bug("two evaluations disagree", src, &err);
    free(text_again);
    free(text);
    fld_value_clear(&again);
    fld_value_clear(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fld_value self;
    struct fld_expr_env env;
    struct fld_expr *e = (struct fld_expr *)&env;
    struct fld_err err;
    char *src;
    size_t i;
    int rc;

    src = fld_xstrndup((const char *)data, size); /* stops at a NUL */
    fld_err_clear(&err);
    rc = fld_expr_parse(src, &e, &err);
    if (rc != FLD_OK) {
        if (e != NULL || (rc != FLD_EINVAL && rc != FLD_ELIMIT))
            bug("a refusal left a tree or an unexpected code", src, &err);
        check_message(src, &err);
        free(src);
        return 0;
    }
    for (i = 0; i < fld_expr_n_refs(e); i++)
        if (fld_expr_ref(e, i)[0] == '\0')
            bug("an empty reference name", src, NULL);
    for (i = 0; i < fld_expr_n_thresholds(e); i++)
        (void)fld_expr_threshold(e, i);
    for (i = 0; i < fld_expr_n_params(e); i++)
        (void)fld_expr_param(e, i);

    memset(&env, 0, sizeof env);
    fld_value_number(&self, 42);
    env.lookup = lookup;
    env.threshold = threshold;
    env.param = param;
    env.self = &self;
    env.today = "2026-11-28";
    eval_and_check(e, &env, src);
    env.tri_state = true;
    eval_and_check(e, &env, src);
    env.self = NULL; /* '.' outside a constraint is an error, not a crash */
    eval_and_check(e, &env, src);

    fld_expr_free(e);
    free(src);
    return 0;
}
