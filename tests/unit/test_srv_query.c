/*
 * test_srv_query.c - query strings in the form a request's signature
 * covers (server-stub/query.h): the encoding libmicrohttpd's decoded
 * parameters are written back in, and the decoding the export reads them
 * with, including every way a query is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "query.h"

static const char *const known[] = {"format", "unit", "template", "x y", NULL};

static void add(struct fld_buf *b, const char *name, const char *value)
{
    srv_query_add(b, name, strlen(name), value, value ? strlen(value) : 0);
}

static void test_encode(void **state)
{
    struct fld_buf b = FLD_BUF_INIT;

    (void)state;
    add(&b, "format", "xlsx");
    add(&b, "unit", "Xã 42/1+&=");
    add(&b, "flag", NULL);
    add(&b, "empty", "");
    add(&b, "safe", "AZaz09-._~");
    /* unreserved bytes as they are, every other byte %XX in capitals */
    assert_string_equal(fld_buf_str(&b),
                        "format=xlsx&unit=X%C3%A3%2042%2F1%2B%26%3D&flag&"
                        "empty=&safe=AZaz09-._~");
    fld_buf_free(&b);
}

static void test_parse(void **state)
{
    struct srv_query q;

    (void)state;
    assert_int_equal(
        srv_query_parse("format=csv&unit=X%C3%A3%2042&&x%20y", known, &q, NULL),
        FLD_OK);
    assert_int_equal(q.n, 3);
    assert_string_equal(srv_query_get(&q, "format"), "csv");
    assert_string_equal(srv_query_get(&q, "unit"), "Xã 42");
    assert_string_equal(srv_query_get(&q, "x y"), ""); /* a name alone */
    assert_null(srv_query_get(&q, "template"));
    srv_query_free(&q);
    assert_int_equal(srv_query_parse(NULL, known, &q, NULL), FLD_OK);
    assert_int_equal(q.n, 0);
    srv_query_free(&q);
}

static void test_round_trip(void **state)
{
    struct fld_buf b = FLD_BUF_INIT;
    struct srv_query q;

    (void)state;
    add(&b, "unit", "a&b=c %25");
    assert_int_equal(srv_query_parse(fld_buf_str(&b), known, &q, NULL), FLD_OK);
    assert_string_equal(srv_query_get(&q, "unit"), "a&b=c %25");
    srv_query_free(&q);
    fld_buf_free(&b);
}

static void refused(const char *text, const char *why)
{
    struct srv_query q;
    struct fld_err err;

    assert_int_equal(srv_query_parse(text, known, &q, &err), FLD_EINVAL);
    if (strstr(err.msg, why) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", why, err.msg);
    srv_query_free(&q);
}

static void test_refused(void **state)
{
    (void)state;
    refused("format=csv&formt=xlsx", "unknown query parameter 'formt'");
    refused("format=csv&format=xlsx", "'format' given twice");
    refused("unit=%4", "malformed");
    refused("unit=%G1", "malformed");
    refused("unit=a%00b", "malformed"); /* no NUL inside a C string */
    refused("%zz=1", "malformed");
    /* a name is shown as it is written in a query, so that the message
     * stays one line of ASCII: no newline, no half of a UTF-8 sequence */
    refused("a%0Ab=1", "unknown query parameter 'a%0Ab'");
    refused("x%20y=1&x%20y=2", "query parameter 'x%20y' given twice");
    refused(
        "%E1%BB%87%E1%BB%87%E1%BB%87%E1%BB%87%E1%BB%87=1",
        "unknown query parameter '%E1%BB%87%E1%BB%87%E1%BB%87%E1%BB%87%E1'");
    refused("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn%0A=1",
            "'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
