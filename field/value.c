/*
 * value.c - the values of the expression language and their conversions
 * (see value.h for the contract and the decisions it takes).
 *
 * Where it sits: the evaluator (expr_eval.c) and the functions
 * (expr_func.c) build and convert values; the form engine (form.c) turns
 * stored answers into values and reads back what rules computed; `field
 * show` and `field fill` print them. Nothing here evaluates anything.
 *
 * Numbers are the subtle part. XPath prints a number in the shortest
 * decimal that reads back to the same double, and round() must round that
 * decimal, not the binary value; both come from shortest_digits(), which
 * asks printf for 1, 2, ... 17 significant digits until strtod() gives the
 * same double back (17 always does). That costs up to 17 snprintf/strtod
 * pairs per number printed, which only happens when a rule turns a
 * number into text or rounds it.
 */
#include "value.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "date.h"

/* ---- values --------------------------------------------------------- */

void fld_value_clear(struct fld_value *v)
{
    size_t i;

    if (v == NULL)
        return;
    free(v->s);
    for (i = 0; i < v->n; i++)
        fld_value_clear(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof *v);
}

void fld_value_blank(struct fld_value *v)
{
    memset(v, 0, sizeof *v);
    v->type = FLD_V_BLANK;
}

void fld_value_number(struct fld_value *v, double num)
{
    fld_value_blank(v);
    v->type = FLD_V_NUMBER;
    v->num = num;
}

void fld_value_string(struct fld_value *v, const char *s)
{
    assert(s != NULL);
    fld_value_blank(v);
    v->type = FLD_V_STRING;
    v->s = fld_xstrdup(s);
}

void fld_value_list(struct fld_value *v, size_t n)
{
    fld_value_blank(v);
    v->type = FLD_V_LIST;
    v->items = n ? fld_xcalloc(n, sizeof *v->items) : NULL;
    v->n = n;
}

void fld_value_bool(struct fld_value *v, bool b)
{
    fld_value_blank(v);
    v->type = FLD_V_BOOL;
    v->b = b;
}

void fld_value_unknown(struct fld_value *v)
{
    fld_value_blank(v);
    v->type = FLD_V_UNKNOWN;
}

/* Take ownership of s; the empty string becomes a blank. */
void fld_value_take_string(struct fld_value *v, char *s)
{
    fld_value_blank(v);
    if (s[0] == '\0') {
        free(s);
        return;
    }
    v->type = FLD_V_STRING;
    v->s = s;
}

void fld_value_copy(struct fld_value *dst, const struct fld_value *src)
{
    size_t i;

    *dst = *src;
    dst->s = src->s ? fld_xstrdup(src->s) : NULL;
    if (src->type != FLD_V_LIST || src->n == 0) {
        dst->items = NULL;
        dst->n = 0;
        return;
    }
    dst->items = fld_xcalloc(src->n, sizeof *dst->items);
    for (i = 0; i < src->n; i++)
        fld_value_copy(&dst->items[i], &src->items[i]);
}

/* XML white space, the only kind XPath knows. */
static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* ---- numbers -------------------------------------------------------- */

/*
 * XPath number() of a string: optional white space, an optional minus,
 * digits with at most one point, optional white space. Anything else
 * (an exponent, a plus sign, a comma, "Infinity") is NaN. A date string
 * is its day number (value.h).
 */
static double string_to_number(const char *s)
{
    const char *p = s, *start;
    size_t n_digits = 0;
    int64_t days;

    if (fld_date_parse(s, &days))
        return (double)days;
    while (is_space(*p))
        p++;
    start = p;
    if (*p == '-')
        p++;
    for (; is_digit(*p); p++)
        n_digits++;
    if (*p == '.')
        for (p++; is_digit(*p); p++)
            n_digits++;
    if (n_digits == 0)
        return NAN;
    while (is_space(*p))
        p++;
    if (*p != '\0')
        return NAN;
    /* The grammar above is a subset of strtod's, and white space or the
     * end follows it, so strtod reads exactly the span checked. */
    return strtod(start, NULL);
}

double fld_value_to_number(const struct fld_value *v)
{
    switch (v->type) {
    case FLD_V_NUMBER:
        return v->num;
    case FLD_V_STRING:
        return string_to_number(v->s);
    case FLD_V_BOOL:
        return v->b ? 1 : 0;
    case FLD_V_LIST:
        /* number(string(list)): several items joined by spaces are NaN */
        return v->n == 1 ? fld_value_to_number(&v->items[0]) : NAN;
    case FLD_V_BLANK:
    case FLD_V_UNKNOWN:
        break;
    }
    return NAN;
}

/*
 * The shortest decimal digits that read back as x (x finite, > 0): digits
 * d1 d2 ... dn in digits[] (no trailing zeros) and the exponent e with
 * x = d1.d2...dn * 10^e.
 */
static void shortest_digits(double x, char digits[20], int *exp10)
{
    char tmp[40], *p, *q = digits;
    int precision;

    for (precision = 1; precision <= 17; precision++) {
        snprintf(tmp, sizeof tmp, "%.*e", precision - 1, x);
        if (strtod(tmp, NULL) == x)
            break;
    }
    for (p = tmp; *p != 'e'; p++)
        if (is_digit(*p))
            *q++ = *p;
    while (q > digits + 1 && q[-1] == '0')
        q--;
    *q = '\0';
    *exp10 = (int)strtol(p + 1, NULL, 10);
}

static void format_number(double x, struct fld_buf *b)
{
    char digits[20];
    int exp10, i, n;

    if (isnan(x)) {
        fld_buf_puts(b, "NaN");
        return;
    }
    if (isinf(x)) {
        fld_buf_puts(b, x < 0 ? "-Infinity" : "Infinity");
        return;
    }
    if (x == 0) { /* and -0 */
        fld_buf_putc(b, '0');
        return;
    }
    if (x < 0)
        fld_buf_putc(b, '-');
    shortest_digits(fabs(x), digits, &exp10);
    n = (int)strlen(digits);
    if (exp10 < 0) { /* 0.000ddd */
        fld_buf_puts(b, "0.");
        for (i = -1; i > exp10; i--)
            fld_buf_putc(b, '0');
        fld_buf_puts(b, digits);
        return;
    }
    for (i = 0; i <= exp10; i++) /* the integer part, padded with zeros */
        fld_buf_putc(b, i < n ? digits[i] : '0');
    if (n > exp10 + 1) {
        fld_buf_putc(b, '.');
        fld_buf_puts(b, digits + exp10 + 1);
    }
}

/*
 * x rounded to `places` decimal places (negative: to tens, hundreds ...),
 * half away from zero, on the shortest decimal form of x rather than on
 * its binary value: round(1.005, 2) is 1.01, as the person reading "1.005"
 * expects.
 */
double fld_value_round(double x, int places)
{
    char digits[24], tmp[48];
    int exp10, keep, n, i;

    if (!isfinite(x) || x == 0)
        return x;
    shortest_digits(fabs(x), digits, &exp10);
    n = (int)strlen(digits);
    keep = exp10 + 1 + places; /* significant digits that stay */
    if (keep >= n)
        return x;
    if (keep < 0)
        return 0;
    if (digits[keep] >= '5') { /* round the magnitude up: carry */
        for (i = keep - 1; i >= 0 && digits[i] == '9'; i--)
            digits[i] = '0';
        if (i < 0) {
            memmove(digits + 1, digits, (size_t)keep);
            digits[0] = '1';
            keep++;
            exp10++;
        } else {
            digits[i]++;
        }
    }
    if (keep == 0)
        return 0;
    digits[keep] = '\0';
    snprintf(tmp, sizeof tmp, "%se%d", digits, exp10 - keep + 1);
    return copysign(strtod(tmp, NULL), x);
}

/* ---- strings -------------------------------------------------------- */

char *fld_value_to_string(const struct fld_value *v)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i;

    switch (v->type) {
    case FLD_V_NUMBER:
        format_number(v->num, &b);
        break;
    case FLD_V_STRING:
        fld_buf_puts(&b, v->s ? v->s : "");
        break;
    case FLD_V_BOOL:
        fld_buf_puts(&b, v->b ? "true" : "false");
        break;
    case FLD_V_LIST:
        for (i = 0; i < v->n; i++) {
            char *item = fld_value_to_string(&v->items[i]);

            if (i > 0)
                fld_buf_putc(&b, ' ');
            fld_buf_puts(&b, item);
            free(item);
        }
        break;
    case FLD_V_BLANK:
    case FLD_V_UNKNOWN:
        break;
    }
    if (b.data == NULL)
        return fld_xstrdup("");
    return fld_buf_detach(&b, NULL);
}

/* The string value of v, borrowed when v holds it already; anything that
 * has to be built is left in *tmp for the caller to free. */
const char *fld_value_text(const struct fld_value *v, char **tmp)
{
    *tmp = NULL;
    if (v->type == FLD_V_STRING && v->s != NULL)
        return v->s;
    if (v->type == FLD_V_BLANK || v->type == FLD_V_UNKNOWN)
        return "";
    *tmp = fld_value_to_string(v);
    return *tmp;
}

bool fld_value_truthy(const struct fld_value *v)
{
    switch (v->type) {
    case FLD_V_NUMBER:
        return v->num != 0 && !isnan(v->num);
    case FLD_V_STRING:
        return v->s != NULL && v->s[0] != '\0';
    case FLD_V_BOOL:
        return v->b;
    case FLD_V_LIST:
        return v->n > 0;
    case FLD_V_BLANK:
    case FLD_V_UNKNOWN:
        break;
    }
    return false;
}
