/*
 * test_hlc.c - the hybrid logical clock: monotonic under a wall clock that
 * jumps back, bounded when it observes a clock from the future, and back
 * to real time after its own clock ran ahead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hlc.h"

static void test_tick_follows_wall_clock(void **state)
{
    struct fld_hlc c = {0, 0}, t;

    (void)state;
    t = fld_hlc_tick(&c, 1000);
    assert_int_equal(t.ms, 1000);
    assert_int_equal(t.count, 0);
    t = fld_hlc_tick(&c, 2000);
    assert_int_equal(t.ms, 2000);
    assert_int_equal(t.count, 0);
}

static void test_tick_is_monotonic_when_wall_clock_goes_back(void **state)
{
    struct fld_hlc c = {5000, 0}, prev = c, t;
    int i;

    (void)state;
    for (i = 0; i < 100; i++) {
        t = fld_hlc_tick(&c, 5000 - i * 10);
        assert_true(fld_hlc_cmp(&prev, &t) < 0);
        assert_int_equal(t.ms, 5000);
        prev = t;
    }
    assert_int_equal(c.count, 100);
}

static void test_observe_moves_forward_within_bound(void **state)
{
    struct fld_hlc c = {1000, 4};
    struct fld_hlc seen = {3000, 7};
    struct fld_hlc old = {500, 99};

    (void)state;
    fld_hlc_observe(&c, &seen, 10000);
    assert_int_equal(c.ms, 3000);
    assert_int_equal(c.count, 7);
    fld_hlc_observe(&c, &old, 10000); /* the past changes nothing */
    assert_int_equal(c.ms, 3000);
    assert_int_equal(c.count, 7);
}

static void test_observe_clamps_a_clock_from_the_future(void **state)
{
    /* a tablet set to 2030 must not drag everyone there */
    struct fld_hlc c = {1764288000000, 0};
    struct fld_hlc future = {1893456000000, 5};
    int64_t server_now = 1764288001000;

    (void)state;
    fld_hlc_observe(&c, &future, server_now + FLD_HLC_MAX_AHEAD_MS);
    assert_int_equal(c.ms, server_now + FLD_HLC_MAX_AHEAD_MS);
    assert_int_equal(c.count, 0);
}

static void test_tick_returns_from_a_clock_that_ran_ahead(void **state)
{
    /* a tablet that stamped 2035 while offline, its clock since fixed */
    int64_t now = 1764288000000;           /* 2025-11-28 */
    struct fld_hlc c = {2064355200000, 3}; /* 2035-06-01 */
    struct fld_hlc t, prev;

    (void)state;
    t = fld_hlc_tick(&c, now);
    assert_int_equal(t.ms, now);
    assert_int_equal(t.count, 0);
    prev = t;
    t = fld_hlc_tick(&c, now + 10);
    assert_true(fld_hlc_cmp(&prev, &t) < 0); /* monotonic again from here */
    assert_int_equal(t.ms, now + 10);
}

static void test_tick_keeps_a_clock_within_the_bound(void **state)
{
    /* a few minutes ahead is skew, not a wrong date: stay monotonic */
    int64_t now = 1764288000000;
    struct fld_hlc c = {now + FLD_HLC_MAX_AHEAD_MS, 0}, t;

    (void)state;
    t = fld_hlc_tick(&c, now);
    assert_int_equal(t.ms, now + FLD_HLC_MAX_AHEAD_MS);
    assert_int_equal(t.count, 1);
}

static void test_compare(void **state)
{
    struct fld_hlc a = {1, 2}, b = {1, 3}, c = {2, 0};

    (void)state;
    assert_true(fld_hlc_cmp(&a, &b) < 0);
    assert_true(fld_hlc_cmp(&b, &c) < 0);
    assert_true(fld_hlc_cmp(&c, &a) > 0);
    assert_int_equal(fld_hlc_cmp(&a, &a), 0);
    assert_true(fld_now_ms() > 1700000000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tick_follows_wall_clock),
        cmocka_unit_test(test_tick_is_monotonic_when_wall_clock_goes_back),
        cmocka_unit_test(test_observe_moves_forward_within_bound),
        cmocka_unit_test(test_observe_clamps_a_clock_from_the_future),
        cmocka_unit_test(test_tick_returns_from_a_clock_that_ran_ahead),
        cmocka_unit_test(test_tick_keeps_a_clock_within_the_bound),
        cmocka_unit_test(test_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
