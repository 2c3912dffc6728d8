/*
 * test_ui_report.c - the report screen of `field ui` (field/ui_report.c):
 * its state before any fetch, the endpoint's refusals (no server, a unit
 * that is not a code, POST to the workbook), a failed fetch's outcome
 * (offline, with Vietnamese and English), a second start refused while one
 * runs against a server that never answers, and freeing it then (the stop
 * flag abandons the request at once). A fetch from a real server is tested
 * by tests/integration/test_ui_api.sh and test_ui_browser.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "hlc.h"
#include "testutil.h"
#include "ui_testutil.h"
#include "ui_report.h"

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
static char *member(struct fld_ui_report *r, struct cmd_ctx *ctx,
                    const char *key)
{
    return tu_state_member(fld_ui_report_state(r, ctx), key);
}

static void expect_member(struct fld_ui_report *r, struct cmd_ctx *ctx,
                          const char *key, const char *want)
{
    char *got = member(r, ctx, key);

    assert_string_equal(got, want);
    free(got);
}

/* Wait (at most 20 s) until no fetch runs. */
static void until_done(struct fld_ui_report *r, struct cmd_ctx *ctx)
{
    int i;

    for (i = 0; i < 2000; i++) {
        char *running = member(r, ctx, "running");
        bool done = strcmp(running, "false") == 0;

        free(running);
        if (done)
            return;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    fail_msg("the fetch did not end");
}

static void handle(struct fld_ui_report *r, struct cmd_ctx *ctx, bool is_post,
                   const char *path, const char *unit, int want_status,
                   const char *want_text)
{
    struct fld_ui_reply out = {0, FLD_BUF_INIT, NULL, NULL, NULL};

    fld_ui_report_handle(r, ctx, is_post, path, unit, &out);
    assert_int_equal(out.status, want_status);
    if (strstr(fld_buf_str(&out.body), want_text) == NULL)
        fail_msg("%s has no %s", fld_buf_str(&out.body), want_text);
    fld_buf_free(&out.body);
}

static void test_before_any_fetch(void **state)
{
    struct fixture *f = *state;
    struct fld_ui_report *r = fld_ui_report_new(&f->ctx);

    expect_member(r, &f->ctx, "running", "false");
    expect_member(r, &f->ctx, "ok", "null");
    expect_member(r, &f->ctx, "started_ms", "null");
    expect_member(r, &f->ctx, "report", "null");
    handle(r, &f->ctx, false, "/api/report", NULL, 200, "\"running\":false");
    handle(r, &f->ctx, true, "/api/report", NULL, 409, "\"not_enrolled\"");
    handle(r, &f->ctx, false, "/api/report.xlsx", NULL, 409,
           "\"not_enrolled\"");
    handle(r, &f->ctx, true, "/api/report", "a b", 400, "\"unit\"");
    handle(r, &f->ctx, true, "/api/report.xlsx", NULL, 404, "\"not_found\"");
    fld_ui_report_free(r);
}

static void test_offline(void **state)
{
    struct fixture *f = *state;
    struct fld_ui_report *r;

    /* Nobody listens on port 1: refused at once, one try. */
    assert_int_equal(
        fld_store_meta_set(f->ctx.st, SYN_META_URL, "http://127.0.0.1:1", NULL),
        FLD_OK);
    r = fld_ui_report_new(&f->ctx);
    handle(r, &f->ctx, true, "/api/report", "42", 202, "\"started_ms\":");
    until_done(r, &f->ctx);
    expect_member(r, &f->ctx, "ok", "false");
    expect_member(r, &f->ctx, "error", "\"offline\"");
    {
        char *vi = member(r, &f->ctx, "message_vi");

        assert_non_null(strstr(vi, "Không kết nối"));
        free(vi);
    }
    handle(r, &f->ctx, false, "/api/report.xlsx", NULL, 503, "\"offline\"");
    fld_ui_report_free(r);
}

/* A server that accepts connections (the kernel does, from the backlog)
 * and never answers. */
static int silent_server(int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_busy_then_stopped(void **state)
{
    struct fixture *f = *state;
    struct fld_ui_report *r;
    char url[64];
    int port, fd = silent_server(&port);
    int64_t t0;

    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    assert_int_equal(fld_store_meta_set(f->ctx.st, SYN_META_URL, url, NULL),
                     FLD_OK);
    r = fld_ui_report_new(&f->ctx);
    assert_int_equal(fld_ui_report_start(r, NULL), FLD_OK);
    assert_int_equal(fld_ui_report_start(r, NULL), FLD_EBUSY);
    handle(r, &f->ctx, true, "/api/report", NULL, 409, "\"report_running\"");
    nanosleep(&(struct timespec){0, 200000000}, NULL);
    expect_member(r, &f->ctx, "running", "true");
    expect_member(r, &f->ctx, "ok", "null");
    t0 = fld_now_ms();
    fld_ui_report_free(r);
    assert_true(fld_now_ms() - t0 < 3000);
    close(fd);
}

/* A kept report of 16 communes (more than the page groups), of which the
 * device's units say two were in a district before July 2025. */
static void test_districts(void **state)
{
    struct fixture *f = *state;
    struct fld_ui_report *r = fld_ui_report_new(&f->ctx);
    struct fld_buf doc = FLD_BUF_INIT;
    struct fld_unit u = {NULL,         NULL,         "xa", "439",
                         "1900-01-01", "2025-06-30", true, NULL};
    struct fld_json *o;
    const struct fld_json *locs, *d;
    int i;

    fld_buf_puts(&doc, "{\"localities\":[");
    for (i = 0; i < 16; i++)
        fld_buf_printf(&doc, "%s{\"code\":\"%d\",\"name\":\"X%d\"}",
                       i ? "," : "", 90000 + i, i);
    fld_buf_puts(&doc, "]}");
    assert_int_equal(
        fld_store_meta_set(f->ctx.st, CMD_META_REPORT, fld_buf_str(&doc), NULL),
        FLD_OK);
    assert_int_equal(
        fld_store_meta_set_int(f->ctx.st, CMD_META_REPORT_MS, 1, NULL), FLD_OK);
    /* 90000 was in district 439 (Huyện Hương Sơn, in the embedded units)
     * until 2025-06-30, then under the province; 90001 only ever under the
     * province */
    u.code = "90000";
    u.name = "Xã cũ";
    assert_int_equal(fld_store_unit_put(f->ctx.st, &u, NULL), FLD_OK);
    u.parent_code = "42";
    u.valid_from = "2025-07-01";
    u.valid_to = NULL;
    assert_int_equal(fld_store_unit_put(f->ctx.st, &u, NULL), FLD_OK);
    u.code = "90001";
    assert_int_equal(fld_store_unit_put(f->ctx.st, &u, NULL), FLD_OK);

    o = fld_ui_report_state(r, &f->ctx);
    locs = fld_json_get(fld_json_get(o, "report"), "localities");
    assert_non_null(locs);
    assert_int_equal(locs->n, 16);
    d = fld_json_get(locs->items[0], "district");
    assert_non_null(d);
    assert_string_equal(fld_json_get_string(d, "code"), "439");
    assert_string_equal(fld_json_get_string(d, "name"), "Huyện Hương Sơn");
    assert_null(fld_json_get(locs->items[1], "district"));
    assert_null(fld_json_get(locs->items[2], "district"));
    fld_json_free(o);
    fld_buf_free(&doc);
    fld_ui_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_before_any_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_districts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_then_stopped, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
