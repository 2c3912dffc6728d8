/*
 * ui_testutil.h - what the unit tests of `field ui` share (test_ui_api,
 * test_ui_sync, test_ui_report): a device made by `field init` in a
 * private temporary directory, and its context opened as `field ui` opens
 * it (store and key). Include after cmocka.h and testutil.h.
 */
#ifndef FLD_UI_TESTUTIL_H
#define FLD_UI_TESTUTIL_H

#include "cmd.h"
#include "json.h"

/* A new device under a new directory (*dir: tu_rmdir() it), and ctx as
 * `field ui` holds it (cmd_ctx_close() it). */
static inline void tu_ui_device(char **dir, struct cmd_ctx *ctx)
{
    struct fld_err err;
    char *argv[] = {(char *)"init", (char *)"--inspector", (char *)"An", NULL};
    char *home;

    *dir = tu_mkdtemp();
    home = fld_xasprintf("%s/home", *dir);
    setenv("FIELD_HOME", home, 1);
    free(home);
    unsetenv("FIELD_PASSPHRASE");
    memset(ctx, 0, sizeof *ctx);
    ctx->cmd = cmd_find("init", &err);
    assert_int_equal(cmd_init(ctx, 3, argv), FLD_OK);
    cmd_ctx_close(ctx);
    memset(ctx, 0, sizeof *ctx);
    ctx->cmd = cmd_find("ui", &err);
    assert_int_equal(cmd_open_store(ctx), FLD_OK);
    assert_int_equal(cmd_load_key(ctx), FLD_OK);
}

/* Member key of state o written as JSON ("null", "true", "3"), new
 * (free()); o is freed. */
static inline char *tu_state_member(struct fld_json *o, const char *key)
{
    struct fld_buf b = FLD_BUF_INIT;
    char *out;

    assert_int_equal(fld_json_write(fld_json_get(o, key), &b, NULL), FLD_OK);
    out = fld_xstrdup(fld_buf_str(&b));
    fld_buf_free(&b);
    fld_json_free(o);
    return out;
}

#endif
