/*
 * test_norm.c - the value normaliser: every form a person may type, the one
 * normal form it must become, and every refusal with a message.
 *
 * Cases are tables; a failing case names its input, so a red run says which
 * rule broke. Refusals are also checked for what a refusal promises: code
 * FLD_EINVAL, output cleared, and a message that is one printable line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "err.h"
#include "norm.h"
#include "utf8.h"

struct case_str {
    const char *in;
    const char *want; /* NULL: must be refused */
};

/* A refusal's message: non-empty, one line, valid UTF-8, no controls. */
static void check_message(const char *what, const char *in,
                          const struct fld_err *err)
{
    size_t i, len = strlen(err->msg);

    if (err->code != FLD_EINVAL)
        fail_msg("%s \"%s\": err.code %d, not FLD_EINVAL", what, in, err->code);
    if (len == 0)
        fail_msg("%s \"%s\": refused without a message", what, in);
    if (!fld_utf8_valid((const uint8_t *)err->msg, len))
        fail_msg("%s \"%s\": message is not valid UTF-8", what, in);
    for (i = 0; i < len; i++)
        if ((unsigned char)err->msg[i] < 0x20 || err->msg[i] == 0x7f)
            fail_msg("%s \"%s\": message has a control character: %s", what, in,
                     err->msg);
}

typedef int (*str_norm_fn)(const char *, char **, struct fld_err *);

static void run_str_cases(const char *what, str_norm_fn fn,
                          const struct case_str *cases, size_t n_cases)
{
    size_t i;

    for (i = 0; i < n_cases; i++) {
        struct fld_err err;
        char *out = (char *)"untouched";
        int rc;

        fld_err_clear(&err);
        rc = fn(cases[i].in, &out, &err);
        if (cases[i].want == NULL) {
            if (rc != FLD_EINVAL)
                fail_msg("%s \"%s\": expected a refusal, got %d \"%s\"", what,
                         cases[i].in, rc, rc == FLD_OK ? out : "");
            if (out != NULL)
                fail_msg("%s \"%s\": output not cleared on refusal", what,
                         cases[i].in);
            check_message(what, cases[i].in, &err);
        } else {
            if (rc != FLD_OK)
                fail_msg("%s \"%s\": refused (%d): %s", what, cases[i].in, rc,
                         err.msg);
            if (strcmp(out, cases[i].want) != 0)
                fail_msg("%s \"%s\": got \"%s\", want \"%s\"", what,
                         cases[i].in, out, cases[i].want);
            free(out);
        }
    }
}

/* The message of refusing in, which must be exactly want. */
static void check_refusal_text(str_norm_fn fn, const char *in, const char *want)
{
    struct fld_err err;
    char *out = NULL;

    fld_err_clear(&err);
    assert_int_equal(fn(in, &out, &err), FLD_EINVAL);
    assert_null(out);
    assert_string_equal(err.msg, want);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- text ---------------------------------------------------------------- */

/* "Nguyễn Văn An" precomposed (ễ U+1EC5, ă U+0103) */
#define AN_NFC "Nguy\xe1\xbb\x85n V\xc4\x83n An"

static void test_text_vietnamese_typed_either_way_is_one_string(void **state)
{
    static const struct case_str cases[] = {
        {AN_NFC, AN_NFC},
        /* fully decomposed: e + circumflex + tilde, a + breve */
        {"Nguye\xcc\x82\xcc\x83n Va\xcc\x86n An", AN_NFC},
        /* half: ê precomposed, tilde combining */
        {"Nguy\xc3\xaa\xcc\x83n V\xc4\x83n An", AN_NFC},
        /* ệ typed base, circumflex, dot below: canonical reordering puts
         * the dot below (ccc 220) before the circumflex (ccc 230) */
        {"e\xcc\x82\xcc\xa3", "\xe1\xbb\x87"},
        {"e\xcc\xa3\xcc\x82", "\xe1\xbb\x87"},
        {"\xe1\xba\xb9\xcc\x82", "\xe1\xbb\x87"}, /* ẹ + circumflex */
        /* Đ has no decomposition and stays */
        {"\xc4\x90\xe1\xbb\x93ng Th\xc3\xa1p",
         "\xc4\x90\xe1\xbb\x93ng Th\xc3\xa1p"},
        /* "Hồ Chí Minh" decomposed: o + circumflex + grave, i + acute */
        {"Ho\xcc\x82\xcc\x80 Chi\xcc\x81 Minh",
         "H\xe1\xbb\x93 Ch\xc3\xad Minh"},
    };
    struct fld_err err;
    char *a = NULL, *b = NULL;

    (void)state;
    run_str_cases("text", fld_norm_text, cases, N(cases));

    /* the two spellings of the brief give the very same bytes */
    assert_int_equal(fld_norm_text(AN_NFC, &a, &err), FLD_OK);
    assert_int_equal(
        fld_norm_text("Nguye\xcc\x82\xcc\x83n Va\xcc\x86n An", &b, &err),
        FLD_OK);
    assert_int_equal(strlen(a), strlen(AN_NFC));
    assert_memory_equal(a, b, strlen(AN_NFC) + 1);
    free(a);
    free(b);
}

static void test_text_nfc_not_nfkc(void **state)
{
    static const struct case_str cases[] = {
        {"A\xcc\x8a", "\xc3\x85"},    /* A + ring -> Å */
        {"\xe2\x84\xab", "\xc3\x85"}, /* ANGSTROM SIGN -> Å */
        {"\xe2\x84\xa6", "\xce\xa9"}, /* OHM SIGN -> Ω */
        {"\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", "\xed\x95\x9c"}, /* 한 */
        /* compatibility characters are not folded: that would be NFKC */
        {"\xef\xac\x81", "\xef\xac\x81"}, /* ﬁ ligature */
        {"\xef\xbc\xa1", "\xef\xbc\xa1"}, /* fullwidth A */
        {"x\xc2\xb2", "x\xc2\xb2"},       /* superscript two */
        /* a lone combining mark is kept as it is */
        {"\xcc\x81", "\xcc\x81"},
        /* emoji and characters outside the BMP pass */
        {"\xf0\x9f\x8c\xbe ok", "\xf0\x9f\x8c\xbe ok"},
    };

    (void)state;
    run_str_cases("text", fld_norm_text, cases, N(cases));
}

static void test_text_trims_and_keeps_inner_white_space(void **state)
{
    static const struct case_str cases[] = {
        {"", ""},
        {"   ", ""},
        {"\t\n \r\n", ""},
        {"  a b  ", "a b"},
        {"\tabc\n", "abc"},
        {"\n\nline one\nline two\n\n", "line one\nline two"},
        {"a\tb", "a\tb"},
        {"a  \n  b", "a  \n  b"},
        /* no-break, ideographic, en and narrow no-break spaces */
        {"\xc2\xa0x\xc2\xa0", "x"},
        {"\xe3\x80\x80x\xe3\x80\x80", "x"},
        {"\xe2\x80\x82x\xe2\x80\xaf", "x"},
        {"a\xc2\xa0"
         "b",
         "a\xc2\xa0"
         "b"}, /* inner ones stay */
        /* Windows and old Mac line ends become LF */
        {"a\r\nb", "a\nb"},
        {"a\rb", "a\nb"},
        {"a\r\n\r\nb", "a\n\nb"},
        {"a\r\rb", "a\n\nb"},
        /* a mark after a leading space does not compose with it */
        {" \xcc\x81", "\xcc\x81"},
    };

    (void)state;
    run_str_cases("text", fld_norm_text, cases, N(cases));
}

static void test_text_refuses_control_characters(void **state)
{
    static const struct case_str cases[] = {
        {"a\x01"
         "b",
         NULL},
        {"a\x07", NULL},
        {"\x1b[31mred", NULL},
        {"a\x0b"
         "b",
         NULL}, /* vertical tab */
        {"a\x0c"
         "b",
         NULL}, /* form feed */
        {"a\x7f"
         "b",
         NULL}, /* DEL */
        {"a\xc2\x80"
         "b",
         NULL}, /* U+0080 */
        {"a\xc2\x85"
         "b",
         NULL},              /* NEL */
        {"a\xc2\x9f", NULL}, /* U+009F */
        {"a\xc2\xa0"
         "b",
         "a\xc2\xa0"
         "b"}, /* U+00A0 is not a control */
    };

    (void)state;
    run_str_cases("text", fld_norm_text, cases, N(cases));
    /* the position counts characters as the person sees them */
    check_refusal_text(fld_norm_text,
                       "\xe1\xbb\x85"
                       "a\x07",
                       "text contains an invisible control character "
                       "(U+0007) at character 3");
    check_refusal_text(fld_norm_text, "x\xc2\x85",
                       "text contains an invisible control character "
                       "(U+0085) at character 2");
}

static void test_text_refuses_invalid_utf8(void **state)
{
    static const struct case_str cases[] = {
        {"\xff", NULL},
        {"abc\xc3", NULL},          /* truncated sequence */
        {"\xc3\x28", NULL},         /* bad continuation */
        {"\xc0\xaf", NULL},         /* overlong "/" */
        {"\xe0\x80\xaf", NULL},     /* overlong, three bytes */
        {"\xed\xa0\x80", NULL},     /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", NULL}, /* above U+10FFFF */
        {"\x80", NULL},             /* lone continuation */
        {"ok \xe1\xbb", NULL},      /* cut in the middle */
    };

    (void)state;
    run_str_cases("text", fld_norm_text, cases, N(cases));
    check_refusal_text(fld_norm_text, "ab\xff",
                       "text is not valid UTF-8 (byte 3 is not part of a "
                       "character)");
}

/* A string of n copies of unit between prefix and suffix; caller frees. */
static char *repeat(const char *prefix, const char *unit, size_t n,
                    const char *suffix)
{
    size_t lp = strlen(prefix), lu = strlen(unit), ls = strlen(suffix), i;
    char *s = malloc(lp + lu * n + ls + 1), *p = s;

    assert_non_null(s);
    memcpy(p, prefix, lp);
    p += lp;
    for (i = 0; i < n; i++, p += lu)
        memcpy(p, unit, lu);
    memcpy(p, suffix, ls + 1);
    return s;
}

static void check_text_len(char *in, size_t want_len)
{
    struct fld_err err;
    char *out = NULL;
    int rc;

    fld_err_clear(&err);
    rc = fld_norm_text(in, &out, &err);
    if (want_len == (size_t)-1) {
        assert_int_equal(rc, FLD_EINVAL);
        assert_null(out);
        assert_non_null(strstr(err.msg, "too long"));
    } else {
        if (rc != FLD_OK)
            fail_msg("refused: %s", err.msg);
        assert_int_equal(strlen(out), want_len);
        free(out);
    }
    free(in);
}

static void test_text_length_is_counted_after_normalisation(void **state)
{
    const size_t max = FLD_NORM_TEXT_MAX;
    const size_t n_e = max / 3; /* ễ is 3 bytes in NFC, 5 decomposed */

    (void)state;
    check_text_len(repeat("", "a", max, ""), max);
    check_text_len(repeat("", "a", max + 1, ""), (size_t)-1);
    /* white space around does not count */
    check_text_len(repeat("  \n", "a", max, "\t "), max);
    check_text_len(repeat("", " ", 50000, "a"), 1);
    /* decomposed input longer than the limit that fits once composed */
    check_text_len(repeat("", "e\xcc\x82\xcc\x83", n_e, "a"), 3 * n_e + 1);
    check_text_len(repeat("", "e\xcc\x82\xcc\x83", n_e + 1, ""), (size_t)-1);
    /* a pasted novel is refused before any work is spent on it */
    {
        char *in = repeat("", "x", 1000000, "");

        check_refusal_text(fld_norm_text, in,
                           "text is too long: more than 16384 bytes, at most "
                           "4096 are allowed");
        free(in);
    }
}

/* ---- integers --------------------------------------------------------------
 */

static void test_integer_accepts(void **state)
{
    static const struct {
        const char *in;
        int64_t want;
    } cases[] = {
        {"0", 0},
        {"-0", 0},
        {"+0", 0},
        {"7", 7},
        {"007", 7},
        {"-42", -42},
        {"+42", 42},
        {"  42\t", 42},
        {"\xc2\xa0"
         "12\n",
         12},
        {"9007199254740991", 9007199254740991LL},
        {"-9007199254740991", -9007199254740991LL},
        {"0009007199254740991", 9007199254740991LL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < N(cases); i++) {
        struct fld_err err;
        int64_t v = 12345;

        fld_err_clear(&err);
        if (fld_norm_integer(cases[i].in, &v, &err) != FLD_OK)
            fail_msg("integer \"%s\": refused: %s", cases[i].in, err.msg);
        if (v != cases[i].want)
            fail_msg("integer \"%s\": got %lld", cases[i].in, (long long)v);
    }
}

static void test_integer_refuses(void **state)
{
    static const char *const cases[] = {
        "",
        "  ",
        "-",
        "+",
        "--1",
        "+-1",
        "12a",
        "a12",
        "1.0",
        "1,0",
        "1e5",
        "1 000",
        "0x10",
        "\xef\xbc\x91", /* fullwidth 1 */
        "9007199254740992",
        "-9007199254740992",
        "99999999999999999999999",
        "18446744073709551617",
        "1\x01",
        "\xff",
    };
    size_t i;

    (void)state;
    for (i = 0; i < N(cases); i++) {
        struct fld_err err;
        int64_t v = 12345;

        fld_err_clear(&err);
        if (fld_norm_integer(cases[i], &v, &err) != FLD_EINVAL)
            fail_msg("integer \"%s\": accepted as %lld", cases[i],
                     (long long)v);
        if (v != 0)
            fail_msg("integer \"%s\": output not cleared", cases[i]);
        check_message("integer", cases[i], &err);
    }
}

static void test_integer_messages(void **state)
{
    struct fld_err err;
    int64_t v;

    (void)state;
    assert_int_equal(fld_norm_integer("12a", &v, &err), FLD_EINVAL);
    assert_string_equal(err.msg, "\"12a\" is not a whole number");
    assert_int_equal(fld_norm_integer(" 9007199254740992 ", &v, &err),
                     FLD_EINVAL);
    assert_string_equal(err.msg, "9007199254740992 is outside "
                                 "-9007199254740991..9007199254740991");
    assert_int_equal(fld_norm_integer("", &v, &err), FLD_EINVAL);
    assert_string_equal(err.msg, "no number given");
    /* control characters and bad bytes are not echoed */
    assert_int_equal(fld_norm_integer("1\x1b[2J\xff", &v, &err), FLD_EINVAL);
    assert_string_equal(err.msg, "\"1?[2J?\" is not a whole number");
}

/* ---- decimals ------------------------------------------------------------ */

static void test_decimal_accepts(void **state)
{
    static const struct case_str cases[] = {
        {"54,780", "54.78"},
        {"54.78", "54.78"},
        {"-0.0", "0"},
        {"-0", "0"},
        {"+0,000", "0"},
        {"007", "7"},
        {"0", "0"},
        {"1.205", "1.205"}, /* no thousands grouping */
        {"1,205", "1.205"},
        {"0.5", "0.5"},
        {"00.50", "0.5"},
        {".5", "0.5"}, /* leading point allowed */
        {",5", "0.5"},
        {"-.5", "-0.5"},
        {"5.", "5"}, /* trailing point allowed */
        {"5,", "5"},
        {"+3.10", "3.1"},
        {"-12.340", "-12.34"},
        {"100", "100"}, /* integer zeros are digits, not padding */
        {"100.000", "100"},
        {"  3,14  ", "3.14"},
        {"123456789012345678901234567890", "123456789012345678901234567890"},
        {"12345678901234567890.1234567890", "12345678901234567890.123456789"},
        {"0.000000000000000000000000000001",
         "0.000000000000000000000000000001"},
        /* padding zeros do not count against the limit */
        {"-00000000000000000000000000000000000001.50000000000000000000000000",
         "-1.5"},
    };

    (void)state;
    run_str_cases("decimal", fld_norm_decimal, cases, N(cases));
}

static void test_decimal_refuses(void **state)
{
    static const struct case_str cases[] = {
        {"", NULL},
        {" ", NULL},
        {".", NULL},
        {",", NULL},
        {"-", NULL},
        {"+", NULL},
        {"-.", NULL},
        {"1e5", NULL},
        {"1E5", NULL},
        {"1.5e3", NULL},
        {"1.2.3", NULL},
        {"1,2,3", NULL},
        {"1.2,3", NULL},
        {"1 000", NULL},
        {"1 000,5", NULL},
        {"--1", NULL},
        {"1-", NULL},
        {"abc", NULL},
        {"0x1A", NULL},
        {"inf", NULL},
        {"NaN", NULL},
        {"\xef\xbc\x91", NULL},
        {"1.5\xff", NULL},
        /* 31 digits */
        {"1234567890123456789012345678901", NULL},
        {"1234567890123456789012345.678901", NULL},
        {"0.0000000000000000000000000000001", NULL},
    };

    (void)state;
    run_str_cases("decimal", fld_norm_decimal, cases, N(cases));
    check_refusal_text(fld_norm_decimal, "1e5",
                       "\"1e5\" is not a decimal number (write digits with "
                       "at most one \".\" or \",\")");
    check_refusal_text(fld_norm_decimal, "1234567890123456789012345678901",
                       "1234567890123456789012345678901 has more than 30 "
                       "digits");
}

/* ---- dates --------------------------------------------------------------- */

static void test_date_accepts(void **state)
{
    static const struct case_str cases[] = {
        {"2026-01-05", "2026-01-05"},
        {" 2026-01-05\n", "2026-01-05"},
        {"05/01/2026", "2026-01-05"},
        {"5/1/2026", "2026-01-05"},
        {"31/12/2026", "2026-12-31"},
        {"2024-02-29", "2024-02-29"}, /* leap year */
        {"29/02/2024", "2024-02-29"},
        {"2000-02-29", "2000-02-29"}, /* divisible by 400 */
        {"1900-01-01", "1900-01-01"},
        {"2999-12-31", "2999-12-31"},
        {"30/04/1975", "1975-04-30"},
        {"2026-04-30", "2026-04-30"},
        {"2026-01-31", "2026-01-31"},
    };

    (void)state;
    run_str_cases("date", fld_norm_date, cases, N(cases));
}

static void test_date_refuses(void **state)
{
    static const struct case_str cases[] = {
        {"", NULL},
        {"2025-02-29", NULL}, /* not a leap year */
        {"29/02/2025", NULL},
        {"1900-02-29", NULL}, /* divisible by 100, not by 400 */
        {"2100-02-29", NULL},
        {"31/02/2026", NULL},
        {"2026-04-31", NULL},
        {"2026-13-01", NULL},
        {"2026-00-10", NULL},
        {"2026-01-00", NULL},
        {"2026-01-32", NULL},
        {"00/01/2026", NULL},
        {"1/13/2026", NULL},
        {"1899-12-31", NULL},
        {"31/12/1899", NULL},
        {"3000-01-01", NULL},
        {"2026-1-5", NULL}, /* ISO form needs two digits */
        {"2026/01/05", NULL},
        {"05-01-2026", NULL},
        {"05.01.2026", NULL},
        {"05-01/2026", NULL},
        {"05/01-2026", NULL},
        {"2026-01/05", NULL},
        {"2026/01-05", NULL},
        {"5/1/26", NULL}, /* two-digit year */
        {"005/01/2026", NULL},
        {"05/001/2026", NULL},
        {"05/01/02026", NULL},
        {"20260105", NULL},
        {"2026-01-05T10:00", NULL},
        {"2026-01-05 x", NULL},
        {"5 / 1 / 2026", NULL},
        {"-5/1/2026", NULL},
        {"tomorrow", NULL},
        {"2026-01-0\xff", NULL},
    };

    (void)state;
    run_str_cases("date", fld_norm_date, cases, N(cases));
    check_refusal_text(fld_norm_date, "31/02/2026",
                       "31/02/2026 is not a calendar date");
    check_refusal_text(fld_norm_date, "2025-02-29",
                       "2025-02-29 is not a calendar date");
    check_refusal_text(fld_norm_date, "01/01/1850",
                       "01/01/1850 is outside the years 1900..2999");
    check_refusal_text(fld_norm_date, "tomorrow",
                       "\"tomorrow\" is not a date (write DD/MM/YYYY or "
                       "YYYY-MM-DD)");
}

/* ---- geopoints ----------------------------------------------------------- */

static void test_geopoint_accepts(void **state)
{
    static const struct case_str cases[] = {
        {"21.0285 105.8542", "21.028500 105.854200"},
        {"21.0285,105.8542", "21.028500 105.854200"},
        {"21.0285, 105.8542", "21.028500 105.854200"},
        {"21.0285 , 105.8542", "21.028500 105.854200"},
        {"  21.0285 \t 105.8542\n", "21.028500 105.854200"},
        {"021.0285 +105.8542", "21.028500 105.854200"},
        {"-90 -180", "-90.000000 -180.000000"},
        {"90 180", "90.000000 180.000000"},
        {"90.000000000 180.0", "90.000000 180.000000"},
        {".5 5.", "0.500000 5.000000"},
        {"-0 -0.0", "0.000000 0.000000"},
        /* rounding to 6 decimals, half away from zero, from the digits */
        {"10.1234565 0", "10.123457 0.000000"},
        {"10.12345649999999 0", "10.123456 0.000000"},
        {"-10.1234565 0", "-10.123457 0.000000"},
        {"-0.0000004 -0.0000005", "0.000000 -0.000001"},
        {"89.99999999 179.9999995", "90.000000 180.000000"},
        {"0.1 0.2", "0.100000 0.200000"}, /* no binary floating point */
        /* altitude and accuracy, 1 decimal */
        {"21.0285 105.8542 12.34", "21.028500 105.854200 12.3"},
        {"21.0285 105.8542 12.35 4.95", "21.028500 105.854200 12.4 5.0"},
        {"21,105 -0.04 0", "21.000000 105.000000 0.0 0.0"},
        {"21 105 -12.25 -0", "21.000000 105.000000 -12.3 0.0"},
        {"21 105 -100000 100000", "21.000000 105.000000 -100000.0 100000.0"},
        {"21 105 8848.86 3", "21.000000 105.000000 8848.9 3.0"},
    };

    (void)state;
    run_str_cases("geopoint", fld_norm_geopoint, cases, N(cases));
}

static void test_geopoint_refuses(void **state)
{
    static const struct case_str cases[] = {
        {"", NULL},
        {"21.0285", NULL},
        {"21 105 1 2 3", NULL},
        {"95 0", NULL},
        {"90.0000001 0", NULL},
        {"-90.0000001 0", NULL},
        {"90.000000000001 0", NULL},
        {"0 181", NULL},
        {"0 -180.0000001", NULL},
        {"1234567890123 0", NULL},
        {"0 99999999999999999999", NULL},
        {"18446744073709551621 0", NULL}, /* 2^64 + 5: must not wrap */
        {"0 18446744073709551621.5", NULL},
        {"1e1 5", NULL},
        {"21,0285 105,8542", NULL}, /* decimal commas */
        {"21 105,3", NULL},         /* comma elsewhere than after latitude */
        {"21,,105", NULL},
        {",21 105", NULL},
        {"21 105,", NULL},
        {"21 105 ,", NULL},
        {"N21 E105", NULL},
        {"21.0285N 105.8542E", NULL},
        {"21..0 105", NULL},
        {"- 21 105", NULL},
        {"nan nan", NULL},
        {"21 105 abc", NULL},
        {"21 105 100000.01", NULL},
        {"21 105 -100000.01", NULL},
        {"21 105 0 -5", NULL},
        {"21 105 0 -0.01", NULL},
        {"21 105 0 100000.1", NULL},
        {"21;105", NULL},
        {"21 105\xff", NULL},
    };

    (void)state;
    run_str_cases("geopoint", fld_norm_geopoint, cases, N(cases));
    check_refusal_text(fld_norm_geopoint, "95 0",
                       "latitude 95 is outside -90..90");
    check_refusal_text(fld_norm_geopoint, "0 181",
                       "longitude 181 is outside -180..180");
    check_refusal_text(fld_norm_geopoint, "21 105 0 -5",
                       "accuracy -5 is negative");
    check_refusal_text(fld_norm_geopoint, "N21 105",
                       "latitude \"N21\" is not a decimal number (use \".\" "
                       "for decimals)");
    check_refusal_text(fld_norm_geopoint, "21",
                       "\"21\" is not a geopoint: give latitude and "
                       "longitude, then optionally altitude and accuracy");
}

/* Long or hostile input is shortened in messages, never dumped. */
static void test_messages_are_short(void **state)
{
    struct fld_err err;
    char *in = repeat("", "9", 5000, "x"), *out = NULL;

    (void)state;
    assert_int_equal(fld_norm_decimal(in, &out, &err), FLD_EINVAL);
    assert_true(strlen(err.msg) < 200);
    assert_non_null(strstr(err.msg, "..."));
    check_message("decimal", "9999...x", &err);
    free(in);
}

/* The code points norm.c's nfc_already() takes as their own NFC without
 * asking utf8proc: below U+0300 and U+1E00..U+1EFF, CR excepted. */
static bool in_fast_set(uint32_t cp)
{
    return cp != 0 && cp != '\r' &&
           (cp < 0x300 || (cp >= 0x1E00 && cp <= 0x1EFF));
}

static void assert_own_nfc(const uint32_t *cps, size_t n)
{
    uint8_t s[16];
    uint8_t *nfc;
    size_t len = 0, i;

    for (i = 0; i < n; i++)
        len += fld_utf8_encode(cps[i], s + len);
    s[len] = '\0';
    nfc = utf8proc_NFC(s);
    assert_non_null(nfc);
    if (strcmp((const char *)nfc, (const char *)s) != 0)
        fail_msg("U+%04X U+%04X is not its own NFC", (unsigned)cps[0],
                 (unsigned)cps[n - 1]);
    free(nfc);
}

/* What the shortcut rests on, against utf8proc itself: every code point
 * of the set, and every pair of them, is its own NFC (nothing in the set
 * decomposes without composing back, or composes with what precedes). */
static void test_text_fast_set_is_its_own_nfc(void **state)
{
    uint32_t set[0x300 + 0x100], pair[2];
    size_t n = 0, i, j;
    uint32_t cp;

    (void)state;
    for (cp = 0; cp <= 0x1EFF; cp++)
        if (in_fast_set(cp))
            set[n++] = cp;
    for (i = 0; i < n; i++) {
        assert_own_nfc(&set[i], 1);
        for (j = 0; j < n; j++) {
            pair[0] = set[i];
            pair[1] = set[j];
            assert_own_nfc(pair, 2);
        }
    }
}

/* fld_norm_text_is_normal(s), as its contract defines it: fld_norm_text()
 * accepts s and gives s back unchanged. */
static bool normal_by_definition(const char *s, size_t len)
{
    char *out = NULL;
    bool same;

    same = strlen(s) == len && fld_norm_text(s, &out, NULL) == FLD_OK &&
           strcmp(out, s) == 0;
    free(out);
    return same;
}

static void assert_normal_is(const char *s, size_t len, bool expected)
{
    if (fld_norm_text_is_normal(s, len) != expected)
        fail_msg("\"%s\" (%zu bytes): is_normal should be %d", s, len,
                 expected);
    if (normal_by_definition(s, len) != expected)
        fail_msg("\"%s\": fld_norm_text disagrees with the test", s);
}

static void test_text_is_normal_cases(void **state)
{
    char *at_max = repeat("", "a", FLD_NORM_TEXT_MAX, "");
    char *over_max = repeat("", "a", FLD_NORM_TEXT_MAX + 1, "");

    (void)state;
    assert_normal_is("", 0, true);
    assert_normal_is("Xã Tân Hiệp", strlen("Xã Tân Hiệp"), true);
    assert_normal_is("a\tb\nc", 5, true);
    assert_normal_is("\xce\xa9 omega", 8, true); /* NFC outside the fast set */
    assert_normal_is(AN_NFC, strlen(AN_NFC), true);
    assert_normal_is("Nguye\xcc\x82\xcc\x83n", 9, false); /* decomposed */
    assert_normal_is(" a", 2, false);
    assert_normal_is("a ", 2, false);
    assert_normal_is("a\xc2\xa0", 3, false); /* trailing no-break space */
    assert_normal_is("a\r\nb", 4, false);
    assert_normal_is("a\x01", 2, false);
    assert_normal_is("a\xc2\x85", 3, false); /* C1 control */
    assert_normal_is("ab\xff", 3, false);
    assert_normal_is("\xc0\xaf", 2, false); /* overlong "/" */
    assert_normal_is(at_max, FLD_NORM_TEXT_MAX, true);
    assert_normal_is(over_max, FLD_NORM_TEXT_MAX + 1, false);
    /* a NUL inside: the length says more than the C string holds */
    assert_false(fld_norm_text_is_normal("a\0b", 3));
    free(at_max);
    free(over_max);
}

/* The one-pass shortcut against the definition, for every code point of
 * the Basic Multilingual Plane (and a sample above it) alone, between
 * letters, and at either end after a letter. */
static void test_text_is_normal_agrees_everywhere(void **state)
{
    uint32_t cp;

    (void)state;
    for (cp = 1; cp <= 0x10FFFF; cp += cp < 0x10000 ? 1 : 97) {
        char s[16];
        size_t n;

        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        n = fld_utf8_encode(cp, (uint8_t *)s);
        s[n] = '\0';
        if (fld_norm_text_is_normal(s, n) != normal_by_definition(s, n))
            fail_msg("U+%04X alone", (unsigned)cp);
        s[0] = 'a';
        n = 1 + fld_utf8_encode(cp, (uint8_t *)s + 1);
        s[n++] = 'b';
        s[n] = '\0';
        if (fld_norm_text_is_normal(s, n) != normal_by_definition(s, n))
            fail_msg("U+%04X between letters", (unsigned)cp);
        s[--n] = '\0';
        if (fld_norm_text_is_normal(s, n) != normal_by_definition(s, n))
            fail_msg("U+%04X at the end", (unsigned)cp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_vietnamese_typed_either_way_is_one_string),
        cmocka_unit_test(test_text_nfc_not_nfkc),
        cmocka_unit_test(test_text_fast_set_is_its_own_nfc),
        cmocka_unit_test(test_text_is_normal_cases),
        cmocka_unit_test(test_text_is_normal_agrees_everywhere),
        cmocka_unit_test(test_text_trims_and_keeps_inner_white_space),
        cmocka_unit_test(test_text_refuses_control_characters),
        cmocka_unit_test(test_text_refuses_invalid_utf8),
        cmocka_unit_test(test_text_length_is_counted_after_normalisation),
        cmocka_unit_test(test_integer_accepts),
        cmocka_unit_test(test_integer_refuses),
        cmocka_unit_test(test_integer_messages),
        cmocka_unit_test(test_decimal_accepts),
        cmocka_unit_test(test_decimal_refuses),
        cmocka_unit_test(test_date_accepts),
        cmocka_unit_test(test_date_refuses),
        cmocka_unit_test(test_geopoint_accepts),
        cmocka_unit_test(test_geopoint_refuses),
        cmocka_unit_test(test_messages_are_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
