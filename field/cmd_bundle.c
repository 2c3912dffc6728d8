/*
 * cmd_bundle.c - `field bundle`: signed versions, and the photos they name,
 * carried without a network, on a USB stick from a village to the district
 * office.
 *
 *   field bundle export [--subject CODE] [--record RECORD] [--no-photos] FILE
 *   field bundle import [--no-photos] FILE
 *
 * A bundle is JSON (bundle.h): the versions, each the exact signed body
 * and its signature, and the photo files they name that this device
 * holds, in base64. Nothing in it is trusted: import has bundle.c verify
 * every version (canonical bytes, hash, the author's signature) and every
 * photo (named by a version of the bundle, of the size it signed, hashing
 * to its name) before anything is stored, then stores the versions and
 * keeps the photos (fld_attachment_put_bytes(), the path a photo fetched
 * by `field sync` takes) in one transaction, or nothing: a photo file put
 * in place before a failure is removed again. Imported versions and photos
 * are relayed: whichever device syncs first delivers them to the server,
 * which checks them again. A bundle may hold versions signed by any
 * device; a bundle of the first release, without photos, still imports.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attachment.h"
#include "buf.h"
#include "bundle.h"
#include "capture.h"
#include "cmd.h"
#include "file.h"

enum { OPT_SUBJECT = 1, OPT_RECORD, OPT_NO_PHOTOS };

struct export_opts {
    const char *subject;
    const char *record;
    bool no_photos;
};

struct exporting {
    struct fld_json *versions;
    const struct export_opts *o;
    char record[FLD_RECORD_HEX_LEN + 1];
    char (*hashes)[FLD_HASH_HEX_LEN + 1]; /* photos named, maybe twice */
    size_t n_hashes, cap_hashes;
};

static int on_option(struct cmd_ctx *ctx, int opt, const char *arg, void *data)
{
    struct export_opts *o = data;

    (void)ctx;
    if (opt == OPT_SUBJECT)
        o->subject = arg;
    else if (opt == OPT_RECORD)
        o->record = arg;
    else
        o->no_photos = true;
    return FLD_OK;
}

/* Note the photos the version in r names (its signed attachments). */
static int note_photos(struct exporting *x, const struct fld_store_row *r)
{
    struct fld_version *v = NULL;
    size_t i, n;
    int rc;

    /* a stored version opens; one that does not is damage for verify */
    rc = fld_version_open(r->body, r->body_len, r->sig, &v, NULL);
    if (rc != FLD_OK)
        return FLD_ECORRUPT;
    n = fld_version_n_attachments(v);
    for (i = 0; i < n; i++) {
        struct fld_version_attachment a;

        fld_version_attachment(v, i, &a);
        if (x->n_hashes == x->cap_hashes) {
            x->cap_hashes = x->cap_hashes ? 2 * x->cap_hashes : 16;
            x->hashes =
                fld_xreallocarray(x->hashes, x->cap_hashes, sizeof *x->hashes);
        }
        memcpy(x->hashes[x->n_hashes++], a.hash, FLD_HASH_HEX_LEN + 1);
    }
    fld_version_free(v);
    return FLD_OK;
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(a, b, FLD_HASH_HEX_LEN);
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
    return x->o->no_photos ? FLD_OK : note_photos(x, r);
}

/* What export counts of the photos. */
struct photo_counts {
    size_t added, missing, damaged;
    int64_t bytes;
};

/* Read the held file of one photo, check it against its name and signed
 * size, and add it to the bundle; a photo not here, or damaged, is
 * counted and left out (the importer would refuse it). */
static int add_photo(struct cmd_ctx *ctx, struct fld_bundle_writer *w,
                     const char *hash, struct photo_counts *c)
{
    struct fld_attachment a;
    uint8_t *data = NULL;
    char hex[FLD_HASH_HEX_LEN + 1], *path;
    size_t len = 0;
    bool held = false;
    int rc = fld_attachment_get(ctx->st, hash, &a, &held, &ctx->err);

    if (rc != FLD_OK)
        return rc;
    if (!held) {
        c->missing++;
        return FLD_OK;
    }
    path = fld_attachment_path(ctx->home, hash);
    rc = fld_file_read(path, (size_t)a.bytes, &data, &len, NULL);
    free(path);
    if (rc == FLD_OK)
        fld_version_hash(data, len, hex);
    if (rc != FLD_OK || (int64_t)len != a.bytes ||
        sodium_memcmp(hex, hash, FLD_HASH_HEX_LEN) != 0) {
        c->damaged++;
        free(data);
        return FLD_OK;
    }
    rc = fld_bundle_writer_photo(w, hash, data, len, &ctx->err);
    free(data);
    if (rc == FLD_ELIMIT)
        return fld_err_set(&ctx->err, FLD_ELIMIT,
                           "%s; export fewer records (--subject, --record) "
                           "or the versions only (--no-photos)",
                           ctx->err.msg);
    if (rc == FLD_OK) {
        c->added++;
        c->bytes += a.bytes;
    }
    return rc;
}

/* Every distinct photo of x into w. */
static int add_photos(struct cmd_ctx *ctx, struct exporting *x,
                      struct fld_bundle_writer *w, struct photo_counts *c)
{
    size_t i;
    int rc = FLD_OK;

    if (x->n_hashes > 1)
        qsort(x->hashes, x->n_hashes, sizeof *x->hashes, cmp_hash);
    for (i = 0; rc == FLD_OK && i < x->n_hashes; i++) {
        if (i > 0 && cmp_hash(x->hashes[i], x->hashes[i - 1]) == 0)
            continue;
        rc = add_photo(ctx, w, x->hashes[i], c);
    }
    return rc;
}

static int bundle_export(struct cmd_ctx *ctx, const struct export_opts *o,
                         const char *path)
{
    struct exporting x;
    struct fld_bundle_writer w;
    struct photo_counts c;
    size_t n_versions;
    int rc = FLD_OK;

    memset(&x, 0, sizeof x);
    memset(&c, 0, sizeof c);
    x.o = o;
    x.versions = fld_json_array();
    fld_bundle_writer_init(&w);
    if (o->record)
        rc = cmd_find_record(ctx, o->record, x.record);
    if (rc == FLD_OK)
        rc = fld_store_each_version(ctx->st, NULL, FLD_ORDER_ARRIVAL,
                                    add_version, &x, &ctx->err);
    if (rc == FLD_ECORRUPT)
        rc = fld_err_set(&ctx->err, FLD_ECORRUPT,
                         "a stored signature is damaged; run 'field verify'");
    if (rc == FLD_OK)
        rc = add_photos(ctx, &x, &w, &c);
    n_versions = x.versions->n;
    if (rc == FLD_OK)
        rc = fld_bundle_writer_finish(&w, x.versions, &ctx->err);
    else
        fld_json_free(x.versions);
    /* a new file, never over an existing one, nothing half-written left */
    if (rc == FLD_OK)
        rc = fld_file_write(path, w.out.data, w.out.len, 0644, FLD_FILE_NEW,
                            &ctx->err);
    if (rc == FLD_OK && c.added == 0)
        printf("Wrote %zu version%s to %s\n", n_versions,
               n_versions == 1 ? "" : "s", path);
    else if (rc == FLD_OK)
        printf(
            "Wrote %zu version%s and %zu photo%s (%.1f %s) to %s\n", n_versions,
            n_versions == 1 ? "" : "s", c.added, c.added == 1 ? "" : "s",
            c.bytes < 1000000 ? (double)c.bytes / 1e3 : (double)c.bytes / 1e6,
            c.bytes < 1000000 ? "kB" : "MB", path);
    /* Not errors: the versions went; say what did not. */
    if (rc == FLD_OK && c.missing > 0)
        fprintf(stderr,
                "field: bundle: %zu photo%s named by these versions %s not "
                "on this device and not in the bundle ('field sync "
                "--attachments' fetches them)\n",
                c.missing, c.missing == 1 ? "" : "s",
                c.missing == 1 ? "is" : "are");
    if (rc == FLD_OK && c.damaged > 0)
        fprintf(stderr,
                "field: bundle: %zu photo%s left out: the file no longer "
                "matches its hash (run 'field verify')\n",
                c.damaged, c.damaged == 1 ? "" : "s");
    fld_bundle_writer_free(&w);
    free(x.hashes);
    return rc;
}

/* What import did. */
struct imported {
    size_t n_new;      /* versions */
    size_t photos_new; /* files kept now */
    size_t photos_had; /* files this device held already */
};

/*
 * Keep the bundle's photos (inside store_all's transaction, after the
 * versions that name them). placed[] notes which files this import put
 * in place, so that a failure can take them away again.
 */
static int keep_photos(struct cmd_ctx *ctx, const struct fld_bundle *b,
                       bool *placed, struct imported *done)
{
    size_t i;
    int rc = FLD_OK;

    for (i = 0; rc == FLD_OK && i < b->n_photos; i++) {
        const struct fld_bundle_photo *ph = &b->photos[i];
        struct fld_attachment a;
        bool held = false;

        rc = fld_attachment_get(ctx->st, ph->hash, &a, &held, &ctx->err);
        if (rc != FLD_OK)
            break;
        if (held && fld_attachment_exists(ctx->home, ph->hash)) {
            done->photos_had++;
            continue;
        }
        placed[i] = !fld_attachment_exists(ctx->home, ph->hash);
        rc = fld_attachment_put_bytes(ctx->st, ctx->home, &a, ph->data, ph->len,
                                      &ctx->err);
        if (rc == FLD_OK)
            done->photos_new++;
    }
    return rc;
}

/*
 * A version naming a parent of another record: no conforming device signs
 * one, its record could not be merged (sync/merge_dag.c) and `field
 * export` would stop at it, and the server keeps it out (record_mismatch).
 * Checked once every version of the bundle is in the transaction, so that
 * a parent carried in the bundle counts as one stored here.
 */
static int check_parent_records(struct cmd_ctx *ctx, const struct fld_bundle *b)
{
    size_t i, j;
    int rc = FLD_OK;

    for (i = 0; i < b->n && rc == FLD_OK; i++) {
        const struct fld_version *v = b->versions[i];

        for (j = 0; j < v->parents->n && rc == FLD_OK; j++) {
            const char *p = v->parents->items[j]->s;
            char *record = NULL;

            rc = fld_store_version_record(ctx->st, p, &record, &ctx->err);
            if (rc == FLD_NOTFOUND) {
                rc = FLD_OK;
                continue;
            }
            if (rc == FLD_OK && strcmp(record, v->record) != 0)
                rc = fld_err_set(&ctx->err, FLD_EINVAL,
                                 "versions[%zu]: version %.16s of record "
                                 "%.16s names a parent of record %.16s (%.16s)",
                                 i, v->hash, v->record, record, p);
            free(record);
        }
    }
    return rc;
}

/* Store the verified versions, moving the clock no further than a few
 * minutes past this device's own time, and keep the photos. One
 * transaction; on failure no file this import put in place is left. */
static int store_all(struct cmd_ctx *ctx, const struct fld_bundle *b,
                     bool with_photos, struct imported *done)
{
    struct fld_version **v = b->versions;
    struct fld_hlc clock, before;
    int64_t offset = 0, bound;
    bool *placed = fld_xcalloc(b->n_photos + 1, sizeof *placed);
    size_t i;
    int rc = fld_store_begin(ctx->st, &ctx->err);

    memset(done, 0, sizeof *done);
    if (rc != FLD_OK) {
        free(placed);
        return rc;
    }
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
    for (i = 0; i < b->n; i++) {
        rc = fld_store_put_version(ctx->st, v[i], &ctx->err);
        if (rc == FLD_OK)
            done->n_new++;
        else if (rc != FLD_EXISTS)
            goto fail;
        fld_hlc_observe(&clock, &v[i]->hlc, bound);
    }
    if ((rc = check_parent_records(ctx, b)) != FLD_OK)
        goto fail;
    if (fld_hlc_cmp(&clock, &before) != 0) {
        rc = fld_store_meta_set_int(ctx->st, FLD_META_HLC_MS, clock.ms,
                                    &ctx->err);
        if (rc == FLD_OK)
            rc = fld_store_meta_set_int(ctx->st, FLD_META_HLC_COUNT,
                                        clock.count, &ctx->err);
        if (rc != FLD_OK)
            goto fail;
    }
    if (with_photos)
        rc = keep_photos(ctx, b, placed, done);
    if (rc != FLD_OK)
        goto fail;
    if ((rc = fld_store_commit(ctx->st, &ctx->err)) != FLD_OK)
        goto fail_files;
    free(placed);
    return FLD_OK;
fail:
    fld_store_rollback(ctx->st);
fail_files:
    for (i = 0; i < b->n_photos; i++)
        if (placed[i]) {
            char *file = fld_attachment_path(ctx->home, b->photos[i].hash);

            unlink(file);
            free(file);
        }
    free(placed);
    memset(done, 0, sizeof *done);
    return rc;
}

static int bundle_import(struct cmd_ctx *ctx, const struct export_opts *o,
                         const char *path)
{
    struct fld_bundle *b = NULL;
    struct imported done;
    uint8_t *data = NULL;
    size_t len;
    int rc;

    if ((rc = cmd_read_file(ctx, path, FLD_BUNDLE_MAX_BYTES, &data, &len)) !=
        FLD_OK)
        return rc;
    rc = fld_bundle_read(data, len, FLD_BUNDLE_MAX_VERSIONS, &b, &ctx->err);
    free(data); /* the photos are decoded: do not hold the text as well */
    if (rc != FLD_OK) {
        fld_err_prefix(&ctx->err, "%s: refused, nothing imported", path);
    } else if ((rc = store_all(ctx, b, !o->no_photos, &done)) != FLD_OK) {
        fld_err_prefix(&ctx->err, "%s: nothing imported", path);
    } else if (b->n_photos == 0 || o->no_photos) {
        printf("Imported %zu version%s from %s: %zu new, %zu already here; "
               "'field sync' relays them\n",
               b->n, b->n == 1 ? "" : "s", path, done.n_new, b->n - done.n_new);
    } else {
        printf("Imported %zu version%s and %zu photo%s from %s: %zu new, %zu "
               "already here; photos %zu new, %zu already here; 'field sync' "
               "relays them\n",
               b->n, b->n == 1 ? "" : "s", b->n_photos,
               b->n_photos == 1 ? "" : "s", path, done.n_new, b->n - done.n_new,
               done.photos_new, done.photos_had);
    }
    fld_bundle_free(b);
    return rc;
}

int cmd_bundle(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"subject", required_argument, NULL, OPT_SUBJECT},
        {"record", required_argument, NULL, OPT_RECORD},
        {"no-photos", no_argument, NULL, OPT_NO_PHOTOS},
        {NULL, 0, NULL, 0}};
    struct export_opts o = {NULL, NULL, false};
    int rc, first;

    if ((rc = cmd_parse(ctx, argc, argv, extra, on_option, &o, &first)))
        return rc;
    if (argc - first != 2 || (strcmp(argv[first], "export") != 0 &&
                              strcmp(argv[first], "import") != 0))
        return fld_err_set(
            &ctx->err, FLD_EUSAGE,
            "usage: field bundle export [--subject CODE] [--record "
            "RECORD] [--no-photos] FILE | field bundle import [--no-photos] "
            "FILE");
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        return rc;
    if (strcmp(argv[first], "export") == 0)
        return bundle_export(ctx, &o, argv[first + 1]);
    if (o.subject != NULL || o.record != NULL)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "--subject and --record go with export");
    return bundle_import(ctx, &o, argv[first + 1]);
}
