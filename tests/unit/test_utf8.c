/*
 * test_utf8.c - strict UTF-8: boundaries of each sequence length, every
 * kind of malformed input, and exhaustive agreement with utf8proc (an
 * independent strict decoder) on all one-, two- and three-byte inputs and
 * on every code point's encoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <utf8proc.h>

#include "utf8.h"

struct good {
    const char *bytes;
    size_t len;
    uint32_t cp;
};

static void test_decode_boundaries(void **state)
{
    static const struct good cases[] = {
        {"\x00", 1, 0x00}, /* NUL decodes; only fld_utf8_valid refuses it */
        {"A", 1, 0x41},
        {"\x7f", 1, 0x7f},
        {"\xc2\x80", 2, 0x80},
        {"\xc3\xa9", 2, 0xe9},
        {"\xdf\xbf", 2, 0x7ff},
        {"\xe0\xa0\x80", 3, 0x800},
        {"\xe1\xbb\x85", 3, 0x1ec5}, /* Vietnamese e with circumflex, tilde */
        {"\xed\x9f\xbf", 3, 0xd7ff}, /* last before the surrogates */
        {"\xee\x80\x80", 3, 0xe000}, /* first after them */
        {"\xef\xbf\xbf", 3, 0xffff},
        {"\xf0\x90\x80\x80", 4, 0x10000},
        {"\xf0\x9f\x98\x80", 4, 0x1f600},
        {"\xf4\x8f\xbf\xbf", 4, 0x10ffff},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0xdeadbeef;
        size_t n =
            fld_utf8_decode((const uint8_t *)cases[i].bytes, cases[i].len, &cp);

        assert_int_equal(n, cases[i].len);
        assert_int_equal(cp, cases[i].cp);
    }
}

static void test_decode_uses_only_the_first_sequence(void **state)
{
    uint32_t cp;

    (void)state;
    assert_int_equal(fld_utf8_decode((const uint8_t *)"\xc3\xa9xyz", 5, &cp),
                     2);
    assert_int_equal(cp, 0xe9);
    assert_int_equal(fld_utf8_decode((const uint8_t *)"ab", 2, &cp), 1);
    assert_int_equal(cp, 'a');
}

static void test_decode_refuses_malformed(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
    } cases[] = {
        {"", 0},     /* nothing to decode */
        {"\x80", 1}, /* lone continuation bytes */
        {"\xbf", 1},
        {"\xc0\xaf", 2},                 /* overlong '/' */
        {"\xc1\xbf", 2},                 /* overlong U+007F */
        {"\xe0\x80\xaf", 3},             /* overlong '/' in three bytes */
        {"\xe0\x9f\xbf", 3},             /* overlong U+07FF */
        {"\xf0\x80\x80\xaf", 4},         /* overlong '/' in four bytes */
        {"\xf0\x8f\xbf\xbf", 4},         /* overlong U+FFFF */
        {"\xed\xa0\x80", 3},             /* U+D800, a surrogate */
        {"\xed\xbf\xbf", 3},             /* U+DFFF */
        {"\xed\xa0\xbd\xed\xb8\x80", 6}, /* CESU-8 surrogate pair */
        {"\xf4\x90\x80\x80", 4},         /* U+110000 */
        {"\xf5\x80\x80\x80", 4},         /* lead bytes that cannot occur */
        {"\xf8\x88\x80\x80\x80", 5},
        {"\xfe", 1},
        {"\xff", 1},
        {"\xc3", 1}, /* truncated */
        {"\xe1\xbb", 2},
        {"\xf0\x9f\x98", 3},
        {"\xc3\x41", 2}, /* continuation missing */
        {"\xe1\x41\x85", 3},
        {"\xe1\xbb\xc5", 3},
        {"\xf0\x9f\x98\x41", 4},
        {"\xc3\xc3\xa9", 3},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0xdeadbeef;

        assert_int_equal(
            fld_utf8_decode((const uint8_t *)cases[i].bytes, cases[i].len, &cp),
            0);
        assert_int_equal(cp, 0); /* output cleared on failure */
        if (cases[i].len > 0)
            assert_false(
                fld_utf8_valid((const uint8_t *)cases[i].bytes, cases[i].len));
    }
}

/* The length given, not the bytes present, bounds the sequence. */
static void test_decode_respects_len(void **state)
{
    const uint8_t e[] = {0xe1, 0xbb, 0x85};
    uint32_t cp;

    (void)state;
    assert_int_equal(fld_utf8_decode(e, 2, &cp), 0);
    assert_int_equal(fld_utf8_decode(e, 3, &cp), 3);
    assert_false(fld_utf8_valid(e, 2));
    assert_true(fld_utf8_valid(e, 3));
}

/* Same verdict and code point as utf8proc for each of the 2^24 inputs of
 * three bytes (which covers every one-, two- and three-byte sequence), and
 * a broad sample of four-byte inputs. */
static void check_against_utf8proc(const uint8_t *p, size_t len)
{
    utf8proc_int32_t ref_cp = -1;
    utf8proc_ssize_t ref = utf8proc_iterate(p, (utf8proc_ssize_t)len, &ref_cp);
    uint32_t cp = 0;
    size_t n = fld_utf8_decode(p, len, &cp);

    if (ref < 0) {
        assert_int_equal(n, 0);
    } else {
        assert_int_equal(n, (size_t)ref);
        assert_int_equal(cp, (uint32_t)ref_cp);
    }
}

static void test_decode_agrees_with_utf8proc(void **state)
{
    static const uint8_t tails[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
                                    0x9f, 0xa0, 0xbf, 0xc0, 0xf4, 0xff};
    uint8_t p[4];
    uint32_t v, cp;
    size_t a, b, n_valid = 0;

    (void)state;
    for (v = 0; v < (1u << 24); v++) {
        p[0] = (uint8_t)(v >> 16);
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)v;
        check_against_utf8proc(p, 3);
        if (p[0] >= 0xe0 && fld_utf8_decode(p, 3, &cp) == 3)
            n_valid++;
    }
    /* Three-byte sequences: U+0800..U+FFFF less the 2048 surrogates. */
    assert_int_equal(n_valid, 0x10000 - 0x800 - 0x800);
    for (v = 0xf0; v <= 0xff; v++) {
        for (a = 0; a < 256; a++) {
            for (b = 0; b < sizeof tails * sizeof tails; b++) {
                p[0] = (uint8_t)v;
                p[1] = (uint8_t)a;
                p[2] = tails[b / sizeof tails];
                p[3] = tails[b % sizeof tails];
                check_against_utf8proc(p, 4);
            }
        }
    }
}

static void test_encode_every_code_point(void **state)
{
    uint32_t cp, back;
    uint8_t out[4];
    size_t n, want;

    (void)state;
    for (cp = 0; cp <= 0x10ffff; cp++) {
        n = fld_utf8_encode(cp, out);
        if (cp >= 0xd800 && cp <= 0xdfff) {
            assert_int_equal(n, 0);
            continue;
        }
        want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        assert_int_equal(n, want);
        assert_int_equal(fld_utf8_decode(out, n, &back), n);
        assert_int_equal(back, cp);
        check_against_utf8proc(out, n);
    }
    assert_int_equal(fld_utf8_encode(0x110000, out), 0);
    assert_int_equal(fld_utf8_encode(0xffffffff, out), 0);
}

static void test_valid(void **state)
{
    const char viet[] = "Nguy\xe1\xbb\x85n V\xc4\x83n An";

    (void)state;
    assert_true(fld_utf8_valid((const uint8_t *)"", 0));
    assert_true(fld_utf8_valid((const uint8_t *)"plain ascii\x7f", 12));
    assert_true(fld_utf8_valid((const uint8_t *)viet, strlen(viet)));
    assert_true(fld_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
    assert_false(fld_utf8_valid((const uint8_t *)"\0", 1));
    assert_false(fld_utf8_valid((const uint8_t *)"ab\0cd", 5));
    assert_false(fld_utf8_valid((const uint8_t *)"ab\xc3", 3));
    assert_false(fld_utf8_valid((const uint8_t *)"ab\xed\xa0\x80", 5));
    assert_false(fld_utf8_valid((const uint8_t *)"\xc0\x80", 2)); /* NUL */
}

static void test_length_counts_code_points(void **state)
{
    /* The same name precomposed (NFC) and decomposed (NFD): the letters
     * look alike but the counts differ, which is why text is normalised
     * on entry. */
    const char nfc[] = "Nguy\xe1\xbb\x85n V\xc4\x83n An";
    const char nfd[] = "Nguye\xcc\x82\xcc\x83n Va\xcc\x86n An";

    (void)state;
    assert_int_equal(fld_utf8_length(""), 0);
    assert_int_equal(fld_utf8_length("abc"), 3);
    assert_int_equal(fld_utf8_length(nfc), 13);
    assert_int_equal(fld_utf8_length(nfd), 16);
    assert_int_equal(fld_utf8_length("\xf0\x9f\x98\x80!"), 2);
    assert_int_equal(fld_utf8_length("ab\xc3"), (size_t)-1);
    assert_int_equal(fld_utf8_length("\xed\xa0\x80"), (size_t)-1);
    assert_int_equal(fld_utf8_length("\xc1\xbf"), (size_t)-1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_boundaries),
        cmocka_unit_test(test_decode_uses_only_the_first_sequence),
        cmocka_unit_test(test_decode_refuses_malformed),
        cmocka_unit_test(test_decode_respects_len),
        cmocka_unit_test(test_decode_agrees_with_utf8proc),
        cmocka_unit_test(test_encode_every_code_point),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_length_counts_code_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
