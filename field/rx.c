/*
 * rx.c - bounded POSIX regular expressions over glibc's regex (see rx.h for
 * the contract and the bounds).
 *
 * Where it sits: the expression parser (expr_parse.c) compiles a regex()
 * whose pattern is a literal once, when a template is loaded, and keeps it
 * in the tree; the evaluator (expr_func.c) compiles a pattern that only
 * evaluation knows on each call, then matches answers against it. Nothing
 * here knows about expressions, templates or columns in a rule: a refusal
 * says why, and the caller says where.
 *
 * Three things stand between a pattern from outside and glibc:
 *   1. check_bounds() reads the pattern once, without compiling it, and
 *      refuses what would make regcomp() blow up in time or memory: the
 *      size of the pattern with every counted repetition written out, the
 *      nesting of repetitions and of groups, and back-references.
 *   2. The search is not regexec() of the pattern P, which tries every
 *      starting point in turn and is quadratic in the text, but one match of
 *      ^.*(P) from the start: one pass of glibc's automaton (struct fld_rx
 *      says when the two differ, and what is done about it).
 *   3. Both compiling and matching run in a UTF-8 locale made once for the
 *      process, whatever LC_CTYPE the program set, and put back after.
 */
#include "rx.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "utf8.h"

/*
 * regcomp() and regexec() read the thread's locale. A template's pattern
 * must mean the same on every device, and '.' must match a whole
 * Vietnamese letter, so both run in a UTF-8 locale made once. When the
 * system has none, they run in the program's locale.
 */
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale;

static void make_utf8_locale(void)
{
    static const char *const names[] = {"C.UTF-8", "C.utf8", "en_US.UTF-8"};
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        utf8_locale =
            newlocale(LC_CTYPE_MASK | LC_COLLATE_MASK, names[i], (locale_t)0);
        if (utf8_locale != (locale_t)0)
            return;
    }
}

/* Switch this thread to the UTF-8 locale; returns what leave_utf8()
 * restores. */
static locale_t enter_utf8(void)
{
    pthread_once(&utf8_once, make_utf8_locale);
    if (utf8_locale == (locale_t)0)
        return (locale_t)0;
    return uselocale(utf8_locale);
}

static void leave_utf8(locale_t old)
{
    if (old != (locale_t)0)
        uselocale(old);
}

/* Index of the ']' closing the bracket expression opened at p[i], or of
 * the last byte when it is not closed (never of the NUL). */
static size_t skip_bracket(const char *p, size_t i)
{
    i++;
    if (p[i] == '^')
        i++;
    if (p[i] == ']') /* a leading ']' is a member */
        i++;
    while (p[i] != '\0' && p[i] != ']') {
        if (p[i] == '[' &&
            (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
            char close = p[i + 1];

            for (i += 2; p[i] != '\0'; i++)
                if (p[i] == close && p[i + 1] == ']')
                    break;
            if (p[i] == '\0')
                return i - 1; /* unterminated: regcomp will say so */
            i++;              /* onto the ']' of ":]" */
        }
        i++;
    }
    return p[i] == '\0' ? i - 1 : i;
}

/* Digits at p[*j], read as a number that saturates (glibc refuses more
 * than RE_DUP_MAX anyway); -1 when there are none. */
static double read_count(const char *p, size_t *j)
{
    double n = -1;

    for (; p[*j] >= '0' && p[*j] <= '9'; (*j)++)
        n = fmin(1e9, (n < 0 ? 0 : n * 10) + (p[*j] - '0'));
    return n;
}

/* Read "m}", "m,}", "m,n}" or glibc's ",n}" after a '{' at p[*i]; *rep is
 * how many copies of the atom glibc makes. False when it is not an
 * interval (then the '{' is a literal, or regcomp refuses it). */
static bool read_interval(const char *p, size_t *i, double *rep)
{
    size_t j = *i + 1;
    double m = read_count(p, &j), n = m;

    if (p[j] == ',') {
        j++;
        n = read_count(p, &j);
        if (n < 0) /* {m,} is m copies and a star */
            n = m + 1;
    } else if (m < 0) {
        return false;
    }
    if (p[j] != '}')
        return false;
    *rep = fmax(1, fmax(m, n));
    *i = j;
    return true;
}

/* The state of one group while check_bounds() reads a pattern. */
struct rx_group {
    double sum;     /* size of the group so far, repetitions expanded */
    double last;    /* size of its last atom */
    int depth;      /* deepest nesting of repetitions inside */
    int last_depth; /* the same, inside its last atom */
};

/* A repetition of the last atom of g; false when refused. */
static bool repeat_last(struct rx_group *g, double rep, bool *is_repeated,
                        const char **why)
{
    if (*is_repeated) {
        *why = "a repetition of a repetition (write (a+)* if you mean it)";
        return false;
    }
    if (++g->last_depth > FLD_RX_MAX_NESTED) {
        *why = "repetitions nested too deep";
        return false;
    }
    if (g->last_depth > g->depth)
        g->depth = g->last_depth;
    g->sum += g->last * (rep - 1);
    g->last *= rep;
    *is_repeated = true;
    return true;
}

/*
 * Refuse what makes glibc's regex blow up, in time or memory:
 *   - back-references: matching them is exponential;
 *   - counted repetitions that expand too far: regcomp copies a{n} n
 *     times, and a+ as aa*, so ((a{100}){100}){100} is a million states;
 *     the cost is the size of the pattern with every copy made;
 *   - a repetition of a repetition (a+?, a*{2}), which POSIX leaves
 *     undefined, and repetitions nested more than FLD_RX_MAX_NESTED deep:
 *     glibc's closures grow exponentially with them (^.*(.++?++++)
 *     takes seconds to compile).
 * Templates' patterns (^0[0-9]{9}$, ^([A-Z][a-z]+ )*[A-Z][a-z]+$) are far
 * inside these bounds.
 */
static int check_bounds(const char *p, const char **why)
{
    struct rx_group g[FLD_RX_MAX_GROUPS + 1];
    bool is_repeated = false;
    size_t i, d = 0;
    double rep, w, total = 0;

    memset(g, 0, sizeof g);
    for (i = 0; p[i] != '\0'; i++) {
        if (g[d].sum > FLD_RX_MAX_COST) /* at every step: a+++ doubles */
            goto too_far;
        w = 1;
        switch (p[i]) {
        case '\\':
            if (p[i + 1] >= '1' && p[i + 1] <= '9') {
                *why = "back-references are not supported";
                return FLD_EINVAL;
            }
            if (p[i + 1] != '\0')
                i++;
            break;
        case '[':
            i = skip_bracket(p, i);
            break;
        case '(':
            if (++d > FLD_RX_MAX_GROUPS) {
                *why = "groups nested too deep";
                return FLD_ELIMIT;
            }
            memset(&g[d], 0, sizeof g[d]);
            is_repeated = false;
            continue;
        case ')':
            if (d == 0)
                break; /* a literal ')' */
            w = g[d].sum + 1;
            d--;
            g[d].sum += w;
            g[d].last = w;
            g[d].last_depth = g[d + 1].depth;
            is_repeated = false;
            continue;
        case '|':
            g[d].last = 0;
            g[d].sum += 1;
            is_repeated = false;
            continue;
        case '*':
        case '?':
            g[d].sum += 1; /* a star or an alternative: no copy */
            if (!repeat_last(&g[d], 1, &is_repeated, why))
                return FLD_EINVAL;
            continue;
        case '+': /* a+ is aa* */
            if (!repeat_last(&g[d], 2, &is_repeated, why))
                return FLD_EINVAL;
            continue;
        case '{':
            if (!read_interval(p, &i, &rep))
                break; /* a literal '{' */
            if (!repeat_last(&g[d], rep, &is_repeated, why))
                return FLD_EINVAL;
            continue;
        default:
            break;
        }
        g[d].sum += w;
        g[d].last = w;
        g[d].last_depth = 0;
        is_repeated = false;
    }
    for (; d > 0; d--) /* groups left open count too */
        total += g[d].sum;
    if (total + g[0].sum <= FLD_RX_MAX_COST)
        return FLD_OK;
too_far:
    *why = "repetitions expand too far";
    return FLD_ELIMIT;
}

/*
 * A compiled regex() pattern P, in two forms. regexec() searching for an
 * unanchored P tries every start in turn, which is quadratic in the length
 * of the text (seconds for a 4 KB answer and a pattern with a few stars).
 * The form ^.*(P) is matched once, from the start, in one pass of glibc's
 * automaton, and answers the same for text that is valid UTF-8 ('.'
 * matches no other byte) with one exception: after a newline that .* has
 * eaten, glibc lets a ^ inside P match. So P as written is kept for the
 * text with a newline when P has a ^.
 */
struct fld_rx {
    regex_t plain;
    regex_t fast;
    bool has_fast;
    bool has_caret; /* fast is wrong on text with a newline */
};

void fld_rx_free(struct fld_rx *rx)
{
    if (rx == NULL)
        return;
    regfree(&rx->plain);
    if (rx->has_fast)
        regfree(&rx->fast);
    free(rx);
}

/* ^.*(P). A ')' that closes nothing is a literal for glibc, so it is
 * escaped here lest it close our group. */
static char *anchored(const char *p, bool *has_caret)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i, end, depth = 0;

    *has_caret = false;
    fld_buf_puts(&b, "^.*(");
    for (i = 0; p[i] != '\0'; i++) {
        switch (p[i]) {
        case '\\': /* \` is GNU's start of text, another ^ */
            *has_caret |= p[i + 1] == '`';
            end = p[i + 1] != '\0' ? i + 1 : i;
            fld_buf_append(&b, p + i, end - i + 1);
            i = end;
            continue;
        case '[':
            end = skip_bracket(p, i);
            fld_buf_append(&b, p + i, end - i + 1);
            i = end;
            continue;
        case '^':
            *has_caret = true;
            break;
        case '(':
            depth++;
            break;
        case ')':
            if (depth == 0) {
                fld_buf_puts(&b, "\\)");
                continue;
            }
            depth--;
            break;
        default:
            break;
        }
        fld_buf_putc(&b, p[i]);
    }
    fld_buf_putc(&b, ')');
    return fld_buf_detach(&b, NULL);
}

static int compile_in_utf8(regex_t *re, const char *pattern)
{
    locale_t old = enter_utf8();
    int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);

    leave_utf8(old);
    return rc;
}

/*
 * The pattern as written is compiled first, so that a refusal is about
 * what the template says; the anchored form then always compiles, but
 * should it not, the pattern as written does all the work.
 */
int fld_rx_compile(const char *pattern, struct fld_rx **out,
                   struct fld_err *err)
{
    const char *reason = NULL;
    char why[FLD_ERR_MSG_MAX];
    struct fld_rx *rx;
    char *wrapped;
    int rc;

    *out = NULL;
    if (strlen(pattern) > FLD_RX_MAX_LEN)
        return fld_err_set(err, FLD_ELIMIT, "pattern longer than %d bytes",
                           FLD_RX_MAX_LEN);
    if (!fld_utf8_valid((const uint8_t *)pattern, strlen(pattern)))
        return fld_err_set(err, FLD_EINVAL, "pattern is not valid UTF-8");
    rc = check_bounds(pattern, &reason);
    if (rc != FLD_OK)
        return fld_err_set(err, rc, "%s", reason);
    rx = fld_xcalloc(1, sizeof *rx);
    rc = compile_in_utf8(&rx->plain, pattern);
    if (rc != 0) {
        regerror(rc, &rx->plain, why, sizeof why);
        free(rx);
        return fld_err_set(err, FLD_EINVAL, "%s", why);
    }
    wrapped = anchored(pattern, &rx->has_caret);
    rx->has_fast = compile_in_utf8(&rx->fast, wrapped) == 0;
    free(wrapped);
    *out = rx;
    return FLD_OK;
}

bool fld_rx_match(const struct fld_rx *rx, const char *text)
{
    bool is_fast = rx->has_fast && !(rx->has_caret && strchr(text, '\n'));
    locale_t old = enter_utf8();
    int rc = regexec(is_fast ? &rx->fast : &rx->plain, text, 0, NULL, 0);

    leave_utf8(old);
    return rc == 0;
}
