/*
 * cmd_repair.c - `field repair`: rebuild a damaged store from what still
 * reads and verifies, so that a full sync can fetch the rest.
 *
 *   field repair
 *
 * Where it sits: `field verify` finds the damage (a page SQLite cannot
 * read, an index that disagrees with its table) and sends the person
 * here. Nothing in the damaged file is trusted: each version row that
 * still reads goes through fld_version_open() (hash, canonical bytes,
 * signature) before it is copied. Copied into a fresh store file next to
 * the old one: every such version, every setting (enrollment, the device
 * chain's end, so the next version continues the chain), the installed
 * templates, plus the built-in templates and units. Then the damaged file
 * is moved aside as field.db.damaged-TIMESTAMP (kept, never deleted) and
 * the fresh one takes its place. The device key is a separate file and is
 * untouched.
 *
 * What is lost locally is what no longer read; the server holds every
 * version that was synced, and the pull cursor is dropped so that the next
 * `field sync` fetches them all again. Versions never synced and lost here
 * are gone from this device: the report says how many rows failed to read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"

struct copy {
    struct cmd_ctx *ctx;
    int64_t n_kept, n_bad, n_settings, n_templates;
};

static int copy_meta(void *data, const char *key, const char *value)
{
    struct copy *c = data;

    /* Without the cursor the next sync pulls everything the server holds
     * for this device again, which is what refills the lost rows. */
    if (strcmp(key, SYN_META_CURSOR) == 0)
        return FLD_OK;
    c->n_settings++;
    return fld_store_meta_set(c->ctx->st, key, value, &c->ctx->err);
}

static int copy_template(void *data, const char *hash, const char *id,
                         const uint8_t *body, size_t len, int64_t added_ms)
{
    struct copy *c = data;
    struct fld_template *t;
    struct fld_err e;
    int rc;

    (void)added_ms;
    /* re-parsed, so that a damaged body is not carried over */
    if (fld_template_parse(body, len, &t, &e) != FLD_OK)
        return FLD_OK;
    if (strcmp(fld_template_hash(t), hash) == 0) {
        rc = fld_store_template_put(c->ctx->st, hash, id, body, len, &e);
        if (rc == FLD_OK)
            c->n_templates++;
    }
    fld_template_free(t);
    return FLD_OK;
}

static int copy_version(void *data, const struct fld_store_row *row)
{
    struct copy *c = data;
    struct fld_version *v;
    int rc;

    if (row->sig_len != FLD_SIG_LEN ||
        fld_version_open(row->body, row->body_len, row->sig, &v, NULL) !=
            FLD_OK) {
        c->n_bad++;
        return FLD_OK;
    }
    rc = fld_store_put_version(c->ctx->st, v, &c->ctx->err);
    fld_version_free(v);
    if (rc == FLD_EXISTS)
        rc = FLD_OK;
    if (rc == FLD_OK)
        c->n_kept++;
    return rc;
}

/* Fill the fresh store (ctx->st, in a transaction) from old (may be NULL:
 * nothing of it could be opened). */
static int fill(struct cmd_ctx *ctx, struct fld_store *old, struct copy *c,
                int64_t *n_failures)
{
    struct fld_err e;
    size_t n_photos;
    int n, rc;

    *n_failures = 0;
    if ((rc = cmd_install_templates(ctx, &n)) != FLD_OK)
        return rc;
    if (old == NULL)
        return FLD_OK;
    /* A settings or templates table that fails half-way keeps what was
     * read: each row is independent. */
    rc = fld_store_each_meta(old, copy_meta, c, &e);
    if (rc != FLD_OK && ctx->err.code != FLD_OK)
        return ctx->err.code;
    rc = fld_store_each_template(old, copy_template, c, &e);
    if (rc != FLD_OK && ctx->err.code != FLD_OK)
        return ctx->err.code;
    rc =
        fld_store_salvage_versions(old, copy_version, c, n_failures, &ctx->err);
    /* the photo files stay where they are: the fresh rows hold them again */
    if (rc == FLD_OK)
        rc = fld_attachment_rescan(ctx->st, ctx->home, &n_photos, &ctx->err);
    return rc;
}

/* Move path to to, and path-wal to to-wal (the log belongs to the damaged
 * file: left in place it would be replayed into the fresh one). */
static int move_aside(struct cmd_ctx *ctx, const char *path, const char *to)
{
    char *wal = fld_xasprintf("%s-wal", path);
    char *wal_to = fld_xasprintf("%s-wal", to);
    char *shm = fld_xasprintf("%s-shm", path);
    int rc = FLD_OK;

    if (rename(path, to) != 0)
        rc = fld_err_set(&ctx->err, FLD_EIO, "move %s aside: %s", path,
                         strerror(errno));
    if (rc == FLD_OK && rename(wal, wal_to) != 0 && errno != ENOENT)
        rc = fld_err_set(&ctx->err, FLD_EIO, "move %s aside: %s", wal,
                         strerror(errno));
    if (rc == FLD_OK && unlink(shm) != 0 && errno != ENOENT)
        rc = fld_err_set(&ctx->err, FLD_EIO, "remove %s: %s", shm,
                         strerror(errno));
    free(wal);
    free(wal_to);
    free(shm);
    return rc;
}

int cmd_repair(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct copy c = {ctx, 0, 0, 0, 0};
    struct fld_store *old = NULL;
    struct fld_err old_err;
    char *fresh = NULL, *aside = NULL, stamp[32];
    int64_t n_failures = 0;
    time_t now = time(NULL);
    struct tm tm;
    int rc, first, n_units;

    if ((rc = cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)) != FLD_OK)
        return rc;
    if (first != argc)
        return fld_err_set(&ctx->err, FLD_EUSAGE, "unexpected argument '%s'",
                           argv[first]);
    if ((rc = cmd_locate_store(ctx)) != FLD_OK)
        return rc;
    fresh = fld_xasprintf("%s.repair", ctx->db_path);
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    aside = fld_xasprintf("%s.damaged-%s", ctx->db_path, stamp);
    /* a fresh file left by an interrupted repair is only a partial copy */
    unlink(fresh);
    if (fld_store_open(ctx->db_path, FLD_STORE_READONLY, &old, &old_err) !=
        FLD_OK)
        old = NULL;
    rc = fld_store_open(fresh, FLD_STORE_CREATE, &ctx->st, &ctx->err);
    if (rc == FLD_OK) /* in a transaction of its own */
        rc = cmd_install_units(ctx, &n_units);
    if (rc == FLD_OK)
        rc = fld_store_begin(ctx->st, &ctx->err);
    if (rc == FLD_OK)
        rc = fill(ctx, old, &c, &n_failures);
    if (rc == FLD_OK)
        rc = fld_store_commit(ctx->st, &ctx->err);
    fld_store_close(old);
    fld_store_close(ctx->st);
    ctx->st = NULL;
    if (rc == FLD_OK)
        rc = move_aside(ctx, ctx->db_path, aside);
    if (rc == FLD_OK && rename(fresh, ctx->db_path) != 0)
        rc = fld_err_set(&ctx->err, FLD_EIO, "put %s in place: %s", fresh,
                         strerror(errno));
    if (rc != FLD_OK) {
        unlink(fresh);
        goto out;
    }
    if (old == NULL)
        printf("Nothing of the damaged store could be read (%s); settings "
               "and enrollment are lost: enroll again with 'field enroll'.\n",
               old_err.msg);
    printf("Repaired: %lld version%s kept, %lld that no longer verif%s "
           "dropped, %lld unreadable stretch%s skipped, %lld setting%s and "
           "%lld template%s copied.\n",
           (long long)c.n_kept, c.n_kept == 1 ? "" : "s", (long long)c.n_bad,
           c.n_bad == 1 ? "ies" : "y", (long long)n_failures,
           n_failures == 1 ? "" : "es", (long long)c.n_settings,
           c.n_settings == 1 ? "" : "s", (long long)c.n_templates,
           c.n_templates == 1 ? "" : "s");
    printf("The damaged file is kept as %s.\n"
           "Run 'field sync' now: it fetches again every version the server "
           "holds.\n",
           aside);
out:
    free(fresh);
    free(aside);
    return rc;
}
