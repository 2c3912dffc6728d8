/*
 * cmd_bundle.c - `field bundle`: signed versions carried without a network,
 * on a USB stick from a village to the district office.
 *
 *   field bundle export [--subject CODE] [--record RECORD] FILE
 *   field bundle import FILE
 *
 * A bundle is JSON: {"format":"field-bundle-v1","versions":[{"body":
 * "<the exact signed body>","sig":"<128 hex>"}...]} (bundle.h). Nothing in
 * it is trusted: import has bundle.c verify every version (canonical
 * bytes, hash, the author's signature) before anything is stored, and
 * stores the whole bundle in one transaction or nothing. Imported versions are
 * relayed: whichever device syncs first delivers them to the server, which
 * checks them again. A bundle may hold versions signed by any device.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bundle.h"
#include "capture.h"
#include "cmd.h"
#include "file.h"

enum { OPT_SUBJECT = 1, OPT_RECORD };

struct export_opts {
    const char *subject;
    const char *record;
};

struct exporting {
    struct fld_json *versions;
    const struct export_opts *o;
    char record[FLD_RECORD_HEX_LEN + 1];
};

static int on_option(struct cmd_ctx *ctx, int opt, const char *arg, void *data)
{
    struct export_opts *o = data;

    (void)ctx;
    if (opt == OPT_SUBJECT)
        o->subject = arg;
    else
        o->record = arg;
    return FLD_OK;
}

static int add_version(void *data, const struct fld_store_row *r)
{
    struct exporting *x = data;

    if (x->o->subject && strcmp(r->subject, x->o->subject) != 0)
        return FLD_OK;
    if (x->o->record && strcmp(r->record, x->record) != 0)
        return FLD_OK;
    if (r->sig_len != FLD_SIG_LEN)
        return FLD_ECORRUPT;
    fld_json_append(x->versions,
                    fld_bundle_entry(r->body, r->body_len, r->sig));
    return FLD_OK;
}

static int bundle_export(struct cmd_ctx *ctx, const struct export_opts *o,
                         const char *path)
{
    struct exporting x;
    struct fld_json *doc = fld_json_object();
    struct fld_buf out = FLD_BUF_INIT;
    int rc = FLD_OK;

    memset(&x, 0, sizeof x);
    x.o = o;
    x.versions = fld_json_array();
    if (o->record)
        rc = cmd_find_record(ctx, o->record, x.record);
    if (rc == FLD_OK)
        rc = fld_store_each_version(ctx->st, NULL, FLD_ORDER_ARRIVAL,
                                    add_version, &x, &ctx->err);
    if (rc == FLD_ECORRUPT)
        rc = fld_err_set(&ctx->err, FLD_ECORRUPT,
                         "a stored signature is damaged; run 'field verify'");
    fld_json_set(doc, "format", fld_json_string(FLD_BUNDLE_FORMAT));
    fld_json_set(doc, "versions", x.versions);
    if (rc == FLD_OK)
        rc = fld_json_write(doc, &out, &ctx->err);
    /* a new file, never over an existing one, nothing half-written left */
    if (rc == FLD_OK)
        rc = fld_file_write(path, out.data, out.len, 0644, FLD_FILE_NEW,
                            &ctx->err);
    if (rc == FLD_OK)
        printf("Wrote %zu version%s to %s\n", x.versions->n,
               x.versions->n == 1 ? "" : "s", path);
    fld_buf_free(&out);
    fld_json_free(doc);
    return rc;
}

/* Store the verified versions, moving the clock no further than a few
 * minutes past this device's own time. One transaction. */
static int store_all(struct cmd_ctx *ctx, struct fld_version **v, size_t n,
                     size_t *n_new)
{
    struct fld_hlc clock, before;
    int64_t offset = 0, bound;
    size_t i;
    int rc = fld_store_begin(ctx->st, &ctx->err);

    *n_new = 0;
    if (rc != FLD_OK)
        return rc;
    rc = fld_store_meta_get_int(ctx->st, FLD_META_HLC_MS, &clock.ms, &ctx->err);
    if (rc == FLD_OK)
        rc = fld_store_meta_get_int(ctx->st, FLD_META_HLC_COUNT, &clock.count,
                                    &ctx->err);
    if (rc == FLD_OK)
        rc = fld_store_meta_get_int(ctx->st, FLD_META_OFFSET, &offset,
                                    &ctx->err);
    if (rc != FLD_OK)
        goto fail;
    before = clock;
    bound = fld_now_ms() + offset + FLD_HLC_MAX_AHEAD_MS;
    for (i = 0; i < n; i++) {
        rc = fld_store_put_version(ctx->st, v[i], &ctx->err);
        if (rc == FLD_OK)
            (*n_new)++;
        else if (rc != FLD_EXISTS)
            goto fail;
        fld_hlc_observe(&clock, &v[i]->hlc, bound);
    }
    if (fld_hlc_cmp(&clock, &before) != 0) {
        rc = fld_store_meta_set_int(ctx->st, FLD_META_HLC_MS, clock.ms,
                                    &ctx->err);
        if (rc == FLD_OK)
            rc = fld_store_meta_set_int(ctx->st, FLD_META_HLC_COUNT,
                                        clock.count, &ctx->err);
        if (rc != FLD_OK)
            goto fail;
    }
    return fld_store_commit(ctx->st, &ctx->err);
fail:
    fld_store_rollback(ctx->st);
    *n_new = 0;
    return rc;
}

static int bundle_import(struct cmd_ctx *ctx, const char *path)
{
    struct fld_bundle *b = NULL;
    uint8_t *data = NULL;
    size_t len, n_new = 0;
    int rc;

    if ((rc = cmd_read_file(ctx, path, FLD_BUNDLE_MAX_BYTES, &data, &len)) !=
        FLD_OK)
        return rc;
    rc = fld_bundle_read(data, len, FLD_BUNDLE_MAX_VERSIONS, &b, &ctx->err);
    if (rc != FLD_OK)
        fld_err_prefix(&ctx->err, "%s: refused, nothing imported", path);
    else if ((rc = store_all(ctx, b->versions, b->n, &n_new)) == FLD_OK)
        printf("Imported %zu version%s from %s: %zu new, %zu already here; "
               "'field sync' relays them\n",
               b->n, b->n == 1 ? "" : "s", path, n_new, b->n - n_new);
    fld_bundle_free(b);
    free(data);
    return rc;
}

int cmd_bundle(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"subject", required_argument, NULL, OPT_SUBJECT},
        {"record", required_argument, NULL, OPT_RECORD},
        {NULL, 0, NULL, 0}};
    struct export_opts o = {NULL, NULL};
    int rc, first;

    if ((rc = cmd_parse(ctx, argc, argv, extra, on_option, &o, &first)))
        return rc;
    if (argc - first != 2 || (strcmp(argv[first], "export") != 0 &&
                              strcmp(argv[first], "import") != 0))
        return fld_err_set(
            &ctx->err, FLD_EUSAGE,
            "usage: field bundle export [--subject CODE] [--record "
            "RECORD] FILE | field bundle import FILE");
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        return rc;
    if (strcmp(argv[first], "export") == 0)
        return bundle_export(ctx, &o, argv[first + 1]);
    return bundle_import(ctx, argv[first + 1]);
}
