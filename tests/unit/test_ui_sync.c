/*
 * test_ui_sync.c - the sync button of `field ui` (field/ui_sync.c): its
 * state before any sync, the endpoint's refusal for a device with no
 * server, a failed sync's outcome and message, a second start refused
 * while one runs, and freeing it while a sync waits to retry (the stop
 * flag ends it at once). A sync that reaches a real server is tested by
 * tests/integration/test_ui_sync.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "hlc.h"
#include "testutil.h"
#include "ui_testutil.h"
#include "ui_sync.h"

struct fixture {
    char *dir;
    struct cmd_ctx ctx;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    tu_ui_device(&f->dir, &f->ctx);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    cmd_ctx_close(&f->ctx);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* The member key of the state, written as JSON ("null", "true", "3"). */
static char *member(struct fld_ui_sync *s, struct fld_store *st,
                    const char *key)
{
    return tu_state_member(fld_ui_sync_state(s, st), key);
}

static void expect_member(struct fld_ui_sync *s, struct fld_store *st,
                          const char *key, const char *want)
{
    char *got = member(s, st, key);

    assert_string_equal(got, want);
    free(got);
}

/* Wait (at most 20 s) until no sync runs. */
static void until_done(struct fld_ui_sync *s, struct fld_store *st)
{
    int i;

    for (i = 0; i < 2000; i++) {
        char *running = member(s, st, "running");
        bool done = strcmp(running, "false") == 0;

        free(running);
        if (done)
            return;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    fail_msg("the sync did not end");
}

static void test_before_any_sync(void **state)
{
    struct fixture *f = *state;
    struct fld_ui_sync *s = fld_ui_sync_new(&f->ctx);

    expect_member(s, f->ctx.st, "running", "false");
    expect_member(s, f->ctx.st, "ok", "null");
    expect_member(s, f->ctx.st, "started_ms", "null");
    expect_member(s, f->ctx.st, "pending", "0");
    fld_ui_sync_free(s);
}

static void test_not_enrolled(void **state)
{
    struct fixture *f = *state;
    struct fld_ui_sync *s = fld_ui_sync_new(&f->ctx);
    struct fld_ui_reply r = {0, FLD_BUF_INIT, NULL, NULL, NULL};

    fld_ui_sync_handle(s, &f->ctx, true, &r);
    assert_int_equal(r.status, 409);
    assert_non_null(strstr(fld_buf_str(&r.body), "\"not_enrolled\""));
    fld_ui_sync_handle(s, &f->ctx, false, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(fld_buf_str(&r.body), "\"running\":false"));
    fld_buf_free(&r.body);
    /* Started all the same, the sync fails with cmd_sync_run's message. */
    assert_int_equal(fld_ui_sync_start(s), FLD_OK);
    until_done(s, f->ctx.st);
    expect_member(s, f->ctx.st, "ok", "false");
    {
        char *m = member(s, f->ctx.st, "message");

        assert_non_null(strstr(m, "not enrolled"));
        free(m);
    }
    fld_ui_sync_free(s);
}

static void test_busy_then_stopped(void **state)
{
    struct fixture *f = *state;
    struct fld_ui_sync *s;
    int64_t t0;

    /* Nobody listens on port 1: the sync retries, with waits between. */
    assert_int_equal(
        fld_store_meta_set(f->ctx.st, SYN_META_URL, "http://127.0.0.1:1", NULL),
        FLD_OK);
    s = fld_ui_sync_new(&f->ctx);
    assert_int_equal(fld_ui_sync_start(s), FLD_OK);
    assert_int_equal(fld_ui_sync_start(s), FLD_EBUSY);
    expect_member(s, f->ctx.st, "running", "true");
    t0 = fld_now_ms();
    fld_ui_sync_free(s);
    assert_true(fld_now_ms() - t0 < 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_before_any_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_enrolled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_then_stopped, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
