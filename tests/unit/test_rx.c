/*
 * test_rx.c - the bounded regular expressions of regex() (field/rx.h),
 * tested through their own header: each bound at its edge (the last
 * pattern accepted, the first refused), every refusal's code and message,
 * the search semantics, the UTF-8 locale, and the one-pass search checked
 * against glibc's own search on random patterns and texts.
 *
 * The expression-level cases (columns in messages, patterns from answers)
 * stay in test_expr.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <locale.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "rx.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Compile, which must succeed, and match. */
static bool matches(const char *pattern, const char *text)
{
    struct fld_rx *rx = NULL;
    struct fld_err err;
    bool is_match;

    fld_err_clear(&err);
    if (fld_rx_compile(pattern, &rx, &err) != FLD_OK)
        fail_msg("pattern \"%s\" refused: %s", pattern, err.msg);
    is_match = fld_rx_match(rx, text);
    fld_rx_free(rx);
    return is_match;
}

/* Compile, which must fail with code and exactly msg, leaving no pattern. */
static void check_refused(const char *pattern, int code, const char *msg)
{
    struct fld_rx *rx = (struct fld_rx *)&rx; /* anything but NULL */
    struct fld_err err;
    int rc;

    fld_err_clear(&err);
    rc = fld_rx_compile(pattern, &rx, &err);
    if (rc != code)
        fail_msg("pattern \"%.60s\": code %d, expected %d (%s)", pattern, rc,
                 code, err.msg);
    if (rx != NULL)
        fail_msg("pattern \"%.60s\": refused but *out was set", pattern);
    if (strcmp(err.msg, msg) != 0)
        fail_msg("pattern \"%.60s\": message \"%s\", expected \"%s\"", pattern,
                 err.msg, msg);
}

/* c repeated n times, then tail. New string. */
static char *repeated(const char *c, int n, const char *tail)
{
    struct fld_buf b = FLD_BUF_INIT;
    int i;

    for (i = 0; i < n; i++)
        fld_buf_puts(&b, c);
    fld_buf_puts(&b, tail);
    return fld_buf_detach(&b, NULL);
}

static void test_search(void **state)
{
    static const struct {
        const char *pattern, *text;
        bool want;
    } cases[] = {
        {"b", "abc", true}, /* a search, not a whole match */
        {"^b", "abc", false},
        {"c$", "abc", true},
        {"^abc$", "abc", true},
        {"", "", true},
        {"^$", "", true},
        {"^$", "a", false},
        {"^0[0-9]{9}$", "0912345678", true},
        {"^0[0-9]{9}$", "091234567", false},
        {"^([A-Z][a-z]+ )*[A-Z][a-z]+$", "Nguyen Van An", true},
        {"^([A-Z][a-z]+ )*[A-Z][a-z]+$", "nguyen Van An", false},
        /* a ')' closing nothing is a literal, and must not close the
         * group the one-pass search wraps around the pattern */
        {"a)", "a)b", true},
        {")b$", "a)b", true},
        {")", "ab", false},
        {"[)]y", "x)y", true},
        {"[)]y", "x)]y", false},
        {"[]a]", "]", true}, /* a leading ']' is a member */
        {"a\\(b", "a(b", true},
        {"a\\)", "a)", true},
        /* ^ is the start of the text, never after a newline */
        {"^b", "a\nb", false},
        {"x|^b", "a\nb", false},
        {"(^|a)b", "a\nb", false},
        {"(^|\n)b", "a\nb", true},
        {"^a|b$", "xb", true},
        {"b|^a", "ab", true},
        {"^(x|y)a", "xab", true},
        {"a$", "a\nb", false},
        {"a.b", "a\nb", true}, /* '.' matches a newline */
        {"\\`a", "a", true},   /* GNU's start of text, another ^ */
        {"\\`b", "a\nb", false},
        {"x{,2}y", "xxy", true}, /* glibc's {,n} */
        {"^x{,2}y", "xxxy", false},
        {"a[{]", "a{", true},
        {"a\\\\1", "a\\1", true}, /* an escaped backslash, then a digit */
        {"()", "abc", true},
    };
    size_t i;

    (void)state;
    for (i = 0; i < N(cases); i++)
        if (matches(cases[i].pattern, cases[i].text) != cases[i].want)
            fail_msg("\"%s\" in \"%s\": expected %s", cases[i].pattern,
                     cases[i].text, cases[i].want ? "a match" : "none");
}

/* The program's locale is "C" (cmocka never sets one): Vietnamese letters
 * are still one character each, and the thread's locale is left as it
 * was. */
static void test_utf8_whatever_the_locale(void **state)
{
    locale_t before = uselocale((locale_t)0);

    (void)state;
    assert_true(matches("^Nguy.n$", "Nguyễn"));
    assert_true(matches("^.{6}$", "Nguyễn"));
    assert_false(matches("^.{7}$", "Nguyễn"));
    assert_true(matches("^[[:alpha:]]+$", "Đường"));
    assert_false(matches("^[[:alpha:]]+$", "Đường 3"));
    assert_true(matches("^[^0-9]+$", "Cẩm Xuyên"));
    assert_true(matches("Văn", "Nguyễn Văn An"));
    assert_true(uselocale((locale_t)0) == before);
}

static void test_length_bound(void **state)
{
    char *at_limit = repeated("a", FLD_RX_MAX_LEN, "");
    char *over = repeated("a", FLD_RX_MAX_LEN + 1, "");
    char *msg = fld_xasprintf("pattern longer than %d bytes", FLD_RX_MAX_LEN);

    (void)state;
    /* 512 a's cost 512: inside every other bound too */
    assert_true(matches(at_limit, at_limit));
    check_refused(over, FLD_ELIMIT, msg);
    free(at_limit);
    free(over);
    free(msg);
}

static void test_refusals(void **state)
{
    (void)state;
    check_refused("\xff", FLD_EINVAL, "pattern is not valid UTF-8");
    check_refused("a\xc3", FLD_EINVAL, "pattern is not valid UTF-8");
    check_refused("(a)\\1", FLD_EINVAL, "back-references are not supported");
    check_refused("\\9", FLD_EINVAL, "back-references are not supported");
    check_refused("a+?", FLD_EINVAL,
                  "a repetition of a repetition (write (a+)* if you mean it)");
    check_refused("a*{2}", FLD_EINVAL,
                  "a repetition of a repetition (write (a+)* if you mean it)");
    check_refused("a{2}*", FLD_EINVAL,
                  "a repetition of a repetition (write (a+)* if you mean it)");
    /* what regcomp itself refuses comes with its own words */
    check_refused("(", FLD_EINVAL, "Unmatched ( or \\(");
    check_refused("[[:upp", FLD_EINVAL, "Unmatched [, [^, [:, [., or [=");
    check_refused("[", FLD_EINVAL, "Invalid regular expression");
}

/* The cost is the pattern's size with every counted repetition written
 * out: a{n} is n atoms, a+ two. */
static void test_cost_bound(void **state)
{
    char *text = repeated("a", FLD_RX_MAX_COST, "");
    char *p;

    (void)state;
    p = fld_xasprintf("a{%d}", FLD_RX_MAX_COST);
    assert_true(matches(p, text));
    free(p);
    p = fld_xasprintf("a{%d}", FLD_RX_MAX_COST + 1);
    check_refused(p, FLD_ELIMIT, "repetitions expand too far");
    free(p);
    p = fld_xasprintf("ba{%d}", FLD_RX_MAX_COST);
    check_refused(p, FLD_ELIMIT, "repetitions expand too far");
    free(p);
    p = fld_xasprintf("a{,%d}", FLD_RX_MAX_COST + 1); /* {,n} is {0,n} */
    check_refused(p, FLD_ELIMIT, "repetitions expand too far");
    free(p);
    /* nested counts multiply, and a group costs one more than its
     * contents: (a{31}) is 32, times 32 is the bound */
    assert_true(matches("(a{31}){32}", text));
    assert_false(matches("(a{31}){32}", "a"));
    check_refused("(a{32}){32}", FLD_ELIMIT, "repetitions expand too far");
    check_refused("a{000002000}", FLD_ELIMIT, "repetitions expand too far");
    check_refused("((a{100}){100}){100}", FLD_ELIMIT,
                  "repetitions expand too far");
    /* a count too large for glibc saturates instead of overflowing */
    check_refused("a{99999999999999999999}", FLD_ELIMIT,
                  "repetitions expand too far");
    /* groups left open count too (regcomp would refuse them anyway) */
    p = fld_xasprintf("(a{%d}", FLD_RX_MAX_COST + 1);
    check_refused(p, FLD_ELIMIT, "repetitions expand too far");
    free(p);
    free(text);
}

static void test_nesting_bounds(void **state)
{
    char *head, *tail, *p;

    (void)state;
    /* groups: FLD_RX_MAX_GROUPS inside each other, and one more */
    head = repeated("(", FLD_RX_MAX_GROUPS, "a");
    tail = repeated(")", FLD_RX_MAX_GROUPS, "");
    p = fld_xasprintf("%s%s", head, tail);
    assert_true(matches(p, "a"));
    free(p);
    free(head);
    free(tail);
    p = repeated("(", FLD_RX_MAX_GROUPS + 1, "a");
    check_refused(p, FLD_ELIMIT, "groups nested too deep");
    free(p);
    /* repetitions: FLD_RX_MAX_NESTED inside each other, and one more */
    assert_true(matches("((a+)+)+", "aaa"));
    assert_true(matches("((a{2})*){3}", "aaaaaa"));
    check_refused("(((a+)+)+)+", FLD_EINVAL, "repetitions nested too deep");
    check_refused("(((.?)+)?)+", FLD_EINVAL, "repetitions nested too deep");
    /* groups without repetitions do not count */
    assert_true(matches("((((a))))+", "a"));
}

/*
 * A text of 200000 letters against a pattern that glibc, searching from
 * each start in turn, takes quadratic time over: the one-pass search
 * answers in one sweep. The bound is loose (a quadratic search would take
 * minutes); it only catches the search falling back to the slow form.
 */
static void test_long_text_is_one_pass(void **state)
{
    char *text = repeated("a", 200000, "");
    struct timespec t0, t1;
    double s;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_false(matches("(.*a){30}.*b", text));
    assert_true(matches("a$", text));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s = (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (s > 20)
        fail_msg("200000 letters took %.1f s", s);
    free(text);
}

/* ---- the one-pass search against glibc's own ---------------------- */

static uint32_t seed = 12345;

static uint32_t next_random(void)
{
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) & 0x7fff;
}

/* What regexec() of the pattern as written says, in a UTF-8 locale:
 * 1 match, 0 none, -1 the pattern does not compile. */
static int reference(locale_t utf8, const char *pattern, const char *text)
{
    locale_t old = uselocale(utf8);
    regex_t re;
    int rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);

    if (rc == 0) {
        rc = regexec(&re, text, 0, NULL, 0) == 0 ? 1 : 0;
        regfree(&re);
    } else {
        rc = -1;
    }
    uselocale(old);
    return rc;
}

/*
 * Random patterns from pieces that touch what the one-pass form rewrites
 * (anchors, stray and escaped parentheses, brackets holding ')', GNU's
 * \`) and random texts with newlines and Vietnamese letters: wherever
 * both compile, fld_rx_match() must agree with glibc searching for the
 * pattern as written. (Shown able to fail: with the stray ')' no longer
 * escaped, or the fallback for ^ after a newline removed, it goes red.)
 */
static void test_one_pass_agrees_with_glibc(void **state)
{
    static const char *const pieces[] = {
        "a", "b", ".", "^",  "$",   "(",    ")",   "|",   "*",   "?",
        "+", "x", "ễ", "\n", "[)]", "[^a]", "\\)", "\\(", "\\`", "{2}",
    };
    static const char letters[][4] = {"a", "b", "x", ")", "\n", "ễ"};
    locale_t utf8 =
        newlocale(LC_CTYPE_MASK | LC_COLLATE_MASK, "C.UTF-8", (locale_t)0);
    size_t n_checked = 0;
    int round, k;

    (void)state;
    if (utf8 == (locale_t)0) /* no C.UTF-8 here: nothing to compare with */
        skip();
    for (round = 0; round < 20000; round++) {
        struct fld_buf p = FLD_BUF_INIT, t = FLD_BUF_INIT;
        int n_pieces = 1 + (int)(next_random() % 7);
        int n_letters = (int)(next_random() % 8);
        struct fld_rx *rx = NULL;
        struct fld_err err;
        int want;

        for (k = 0; k < n_pieces; k++)
            fld_buf_puts(&p, pieces[next_random() % N(pieces)]);
        for (k = 0; k < n_letters; k++)
            fld_buf_puts(&t, letters[next_random() % N(letters)]);
        want = reference(utf8, fld_buf_str(&p), fld_buf_str(&t));
        if (fld_rx_compile(fld_buf_str(&p), &rx, &err) == FLD_OK) {
            if (want < 0)
                fail_msg("\"%s\" compiled here but not by glibc",
                         fld_buf_str(&p));
            if (fld_rx_match(rx, fld_buf_str(&t)) != (want == 1))
                fail_msg("\"%s\" in \"%s\": glibc says %s", fld_buf_str(&p),
                         fld_buf_str(&t), want ? "a match" : "none");
            n_checked++;
        }
        fld_rx_free(rx);
        fld_buf_free(&p);
        fld_buf_free(&t);
    }
    freelocale(utf8);
    /* most random patterns compile: the comparison did happen */
    assert_true(n_checked > 5000);
}

static void test_free_null(void **state)
{
    (void)state;
    fld_rx_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_utf8_whatever_the_locale),
        cmocka_unit_test(test_length_bound),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_cost_bound),
        cmocka_unit_test(test_nesting_bounds),
        cmocka_unit_test(test_long_text_is_one_pass),
        cmocka_unit_test(test_one_pass_agrees_with_glibc),
        cmocka_unit_test(test_free_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
