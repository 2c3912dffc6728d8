/*
 * test_numbers.c - counts and shares in the province's number style
 * (field/numbers.c), as the server's report and `field report` write them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "numbers.h"

static void expect_count(int64_t n, enum fld_lang lang, const char *want)
{
    struct fld_buf b = FLD_BUF_INIT;

    fld_format_count(n, lang, &b);
    assert_string_equal(fld_buf_str(&b), want);
    fld_buf_free(&b);
}

static void expect_tenths(int64_t tenths, enum fld_lang lang, const char *want)
{
    struct fld_buf b = FLD_BUF_INIT;

    fld_format_tenths(tenths, lang, &b);
    assert_string_equal(fld_buf_str(&b), want);
    fld_buf_free(&b);
}

/* Thousands grouped with a dot in Vietnamese, a comma in English. */
static void test_count(void **state)
{
    (void)state;
    expect_count(0, FLD_LANG_VI, "0");
    expect_count(999, FLD_LANG_VI, "999");
    expect_count(1000, FLD_LANG_VI, "1.000");
    expect_count(1205, FLD_LANG_VI, "1.205");
    expect_count(1205, FLD_LANG_EN, "1,205");
    expect_count(123456, FLD_LANG_VI, "123.456");
    expect_count(1234567, FLD_LANG_EN, "1,234,567");
    expect_count(-1512, FLD_LANG_VI, "-1.512");
    expect_count(-999, FLD_LANG_EN, "-999");
}

/* The extremes: no overflow negating INT64_MIN. */
static void test_count_extremes(void **state)
{
    (void)state;
    expect_count(INT64_MAX, FLD_LANG_VI, "9.223.372.036.854.775.807");
    expect_count(INT64_MIN, FLD_LANG_EN, "-9,223,372,036,854,775,808");
}

/* One decimal after a comma (VI) or a dot (EN); no total gives a dash. */
static void test_tenths(void **state)
{
    (void)state;
    expect_tenths(797, FLD_LANG_VI, "79,7%");
    expect_tenths(797, FLD_LANG_EN, "79.7%");
    expect_tenths(0, FLD_LANG_VI, "0,0%");
    expect_tenths(1000, FLD_LANG_VI, "100,0%");
    expect_tenths(12345, FLD_LANG_VI, "1.234,5%");
    expect_tenths(-1, FLD_LANG_VI, "–");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_count_extremes),
        cmocka_unit_test(test_tenths),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
