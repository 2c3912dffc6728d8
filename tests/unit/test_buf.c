/*
 * test_buf.c - the growable buffer, hex helpers and error records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

static void test_buf_grows_and_stays_terminated(void **state)
{
    struct fld_buf b = FLD_BUF_INIT;
    int i;

    (void)state;
    assert_string_equal(fld_buf_str(&b), "");
    for (i = 0; i < 1000; i++)
        fld_buf_printf(&b, "%d,", i % 10);
    assert_int_equal(b.len, 2000);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data, "0,1,2,", 6);
    fld_buf_reset(&b);
    fld_buf_puts(&b, "xy");
    fld_buf_putc(&b, 'z');
    assert_string_equal(fld_buf_str(&b), "xyz");
    fld_buf_free(&b);
    assert_null(b.data);
}

/* Reserving makes room for exactly that much more, once: appending it
 * moves nothing. */
static void test_reserve_makes_room_once(void **state)
{
    struct fld_buf b = FLD_BUF_INIT;
    uint8_t *at;
    int i;

    (void)state;
    fld_buf_puts(&b, "abc");
    fld_buf_reserve(&b, 1000);
    assert_int_equal(b.cap, 3 + 1000 + 1);
    at = b.data;
    for (i = 0; i < 100; i++)
        fld_buf_puts(&b, "0123456789");
    assert_ptr_equal(b.data, at);
    assert_int_equal(b.len, 1003);
    assert_memory_equal(b.data, "abc0123", 7);
    fld_buf_reserve(&b, 0); /* there is room: nothing changes */
    assert_int_equal(b.cap, 1004);
    fld_buf_free(&b);
}

static void test_detach_empty_gives_empty_string(void **state)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t len = 99;
    char *s;

    (void)state;
    s = fld_buf_detach(&b, &len);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
}

static void test_hex_round_trip_and_refusals(void **state)
{
    const uint8_t raw[4] = {0x00, 0xab, 0x7f, 0xff};
    char hex[9];
    uint8_t back[4];

    (void)state;
    fld_hex_encode(raw, 4, hex);
    assert_string_equal(hex, "00ab7fff");
    assert_int_equal(fld_hex_decode(hex, back, 4), 0);
    assert_memory_equal(back, raw, 4);
    assert_int_equal(fld_hex_decode("00AB7FFF", back, 4), -1);   /* uppercase */
    assert_int_equal(fld_hex_decode("00ab7f", back, 4), -1);     /* short */
    assert_int_equal(fld_hex_decode("00ab7fff00", back, 4), -1); /* long */
    assert_int_equal(fld_hex_decode("00ab7fgf", back, 4), -1);
}

static void test_err_set_prefix_and_names(void **state)
{
    struct fld_err err;

    (void)state;
    fld_err_clear(&err);
    assert_int_equal(fld_err_set(&err, FLD_EINVAL, "question %s", "q1"),
                     FLD_EINVAL);
    assert_int_equal(err.code, FLD_EINVAL);
    fld_err_prefix(&err, "set %d", 2);
    assert_string_equal(err.msg, "set 2: question q1");
    assert_int_equal(fld_err_set(NULL, FLD_EIO, "x"), FLD_EIO);
    assert_string_equal(fld_strerror(FLD_OK), "ok");
    assert_string_equal(fld_strerror(FLD_EBADSIG), "signature does not verify");
    assert_string_equal(fld_strerror(-1), "unknown error");
    assert_string_equal(fld_strerror(FLD_NRESULTS), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_grows_and_stays_terminated),
        cmocka_unit_test(test_reserve_makes_room_once),
        cmocka_unit_test(test_detach_empty_gives_empty_string),
        cmocka_unit_test(test_hex_round_trip_and_refusals),
        cmocka_unit_test(test_err_set_prefix_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
