/*
 * cmd_export.c - `field export`: the device's records for other tools.
 *
 *   field export --format json|csv|xlsx|geojson [--lang vi|en]
 *                [--template ID] [--status S] [--subject CODE]
 *                [--output FILE]
 *
 * Each record is shown as the merge of its versions (cmd_record_read) and
 * handed to the export module (field/export.h), which lays it out: JSON
 * with every signed version, CSV for one template, an XLSX workbook for an
 * office, GeoJSON points for a map. The server's GET /v1/export writes the
 * same formats from its own copy of the records.
 *
 * With --output the file is written beside its final name and linked into
 * place only when complete (fld_file_write, FLD_FILE_NEW): a failed export
 * leaves nothing behind, and an existing file is never overwritten. A
 * workbook is binary, so --format xlsx needs --output; the other formats
 * may go to standard output.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cmd.h"
#include "export.h"
#include "file.h"
#include "merge.h"
#include "merged_export.h"
#include "parallel.h"

enum { OPT_FORMAT = 100, OPT_OUTPUT };

struct export_opts {
    struct fld_record_filter filter;
    const char *format_name;
    enum fld_export_format format;
    const char *output;
};

struct collected {
    char **records;
    size_t n;
};

static int on_option(struct cmd_ctx *ctx, int opt, const char *arg, void *data)
{
    struct export_opts *o = data;

    if (opt == OPT_FORMAT) {
        o->format_name = arg;
        return fld_export_format_parse(arg, &o->format, &ctx->err);
    }
    if (opt == OPT_OUTPUT)
        o->output = arg;
    else
        return cmd_on_filter(ctx, opt, arg, &o->filter);
    return FLD_OK;
}

static int collect(void *data, const struct fld_record_summary *r)
{
    struct collected *c = data;

    c->records = fld_xreallocarray(c->records, c->n + 1, sizeof *c->records);
    c->records[c->n++] = fld_xstrdup(r->record);
    return FLD_OK;
}

static int copy_name(void *data, const struct fld_unit *u)
{
    char **name = data;

    free(*name);
    *name = fld_xstrdup(u->name);
    return FLD_OK;
}

/* The name of the unit the record is about, as it was named on the day of
 * the record's newest version (units are renamed and merged); NULL when
 * the store does not know it. */
static char *unit_name(struct cmd_ctx *ctx, const struct fld_version *v)
{
    time_t secs = (time_t)(v->hlc.ms / 1000);
    char day[11], *name = NULL;
    struct tm tm;

    if (localtime_r(&secs, &tm) == NULL ||
        strftime(day, sizeof day, "%Y-%m-%d", &tm) == 0)
        return NULL;
    if (fld_store_unit_at(ctx->st, v->subject, day, copy_name, &name, NULL) !=
        FLD_OK) {
        free(name);
        return NULL;
    }
    return name;
}

/*
 * Where the export goes while it is made. A small export is held in
 * memory and written once complete, as it always was; beyond SPILL bytes
 * it is written as it comes, so that memory stays bounded whatever the
 * number of records: into the --output file's temporary file
 * (fld_file_stream, named only once complete), or for standard output
 * into an unlinked temporary file in $TMPDIR that is copied out once the
 * export is complete. Either way a failed export writes nothing. A
 * failure to write is told after the walk's own (the walk's failure
 * comes first, as when the file was written at the end).
 */
#define SPILL (4u << 20)

struct sink {
    const char *output;           /* --output, or NULL */
    struct fld_file_stream *file; /* --output, once spilled */
    int fd;                       /* standard output's temporary, or -1 */
    bool spilled;
    int rc; /* the first failure to write */
    struct fld_err err;
    struct fld_buf spill; /* turns with the export's own (fld_export_take) */
};

static int spill_temp(struct sink *k)
{
    const char *dir = getenv("TMPDIR");
    char *path;
    int e;

    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    path = fld_xasprintf("%s/field-export-XXXXXX", dir);
    k->fd = mkstemp(path);
    e = errno;
    if (k->fd >= 0)
        unlink(path); /* the descriptor is all that is needed */
    free(path);
    if (k->fd < 0)
        return fld_err_set(&k->err, FLD_EIO,
                           "cannot make a temporary file in %s: %s", dir,
                           strerror(e));
    return FLD_OK;
}

/* Write bytes where the sink goes, remembering the first failure. */
static void sink_write(struct sink *k, const void *data, size_t len)
{
    const uint8_t *p = data;

    if (k->rc != FLD_OK)
        return;
    if (!k->spilled) {
        k->spilled = true;
        k->rc = k->output ? fld_file_stream_new(k->output, 0600, FLD_FILE_NEW,
                                                &k->file, &k->err)
                          : spill_temp(k);
        if (k->rc != FLD_OK)
            return;
    }
    if (k->output) {
        k->rc = fld_file_stream_write(k->file, data, len, &k->err);
        return;
    }
    while (len > 0) {
        ssize_t n = write(k->fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            k->rc = fld_err_set(&k->err, FLD_EIO,
                                "cannot write a temporary file: %s",
                                n < 0 ? strerror(errno) : "nothing written");
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

/* Past SPILL bytes, write what the export laid out so far. */
static void sink_spill(struct sink *k, struct fld_export *x)
{
    if (fld_export_buffered(x) < SPILL)
        return;
    fld_buf_reset(&k->spill);
    fld_export_take(x, &k->spill);
    sink_write(k, k->spill.data, k->spill.len);
    fld_buf_reset(&k->spill);
}

/* Standard output gets the temporary file, now complete. */
static int copy_out(struct sink *k, struct cmd_ctx *ctx)
{
    static char chunk[1u << 16];
    ssize_t n;

    if (lseek(k->fd, 0, SEEK_SET) != 0)
        return fld_err_set(&ctx->err, FLD_EIO,
                           "cannot read a temporary file back: %s",
                           strerror(errno));
    while ((n = read(k->fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fld_err_set(&ctx->err, FLD_EIO,
                               "cannot read a temporary file back: %s",
                               strerror(errno));
        fwrite(chunk, 1, (size_t)n, stdout);
    }
    return FLD_OK;
}

/* The walk is over and out holds the rest: write it all (rc FLD_OK), or
 * leave nothing (rc a failure); frees what the sink holds. */
static int sink_close(struct sink *k, struct cmd_ctx *ctx, int rc,
                      const struct fld_buf *out)
{
    if (rc == FLD_OK && !k->spilled) {
        /* a new file, never over an existing one, nothing half-written
         * left; mode 0600, as exports have always been written */
        if (k->output)
            rc = fld_file_write(k->output, out->data, out->len, 0600,
                                FLD_FILE_NEW, &ctx->err);
        else
            fwrite(fld_buf_str(out), 1, out->len, stdout);
    } else if (rc == FLD_OK) {
        sink_write(k, out->data, out->len);
        if (k->rc != FLD_OK) {
            ctx->err = k->err;
            rc = k->rc;
        } else if (k->output) {
            rc = fld_file_stream_commit(k->file, &ctx->err);
            k->file = NULL;
        } else {
            rc = copy_out(k, ctx);
        }
    }
    fld_file_stream_discard(k->file);
    k->file = NULL;
    fld_buf_free(&k->spill);
    if (k->fd >= 0)
        close(k->fd);
    k->fd = -1;
    return rc;
}

/*
 * The walk is a pipeline of batches, so that both cores work (issue 11):
 * the store is read on this thread (one SQLite connection), every
 * version's signature is verified and every record merged on all cores
 * (syn_parallel_start), and records are handed to the export module on
 * this thread, in the order they were listed (walk_records: at most three
 * batches are held at once, whatever the number of records). JSON is
 * laid out by the thread that merged the record; XLSX and GeoJSON have
 * their template's rules evaluated on all cores too.
 *
 * Every version is verified before any answer of its record is written,
 * and a failure is reported when its record's turn comes, exactly as a
 * record-by-record walk reports it: the records before it are added (and
 * may fail first), the ones after it are not.
 */
#define BATCH 128

/* A version as read from the store: its signed bytes. */
struct raw_version {
    uint8_t *body;
    size_t len;
    uint8_t sig[FLD_SIG_LEN];
};

/* One record on its way through the pipeline. */
struct item {
    struct raw_version *raw; /* read: the record's versions, in arrival order */
    size_t n_raw;
    struct cmd_record r; /* verified and merged */
    int rc;              /* the first failure, for its turn */
    struct fld_err err;
    /* JSON: the record laid out by the thread that merged it (its
     * versions and merge freed at once), and the template to check */
    struct fld_buf json;
    char *template_hash;
    int json_rc;
    struct fld_err json_err;
    /* the other formats: the template and the unit's name looked up on
     * this thread once merged, then (XLSX, GeoJSON) the template's rules
     * evaluated on any thread */
    bool resolved;
    const struct fld_template *t;
    int t_rc;
    struct fld_err t_err;
    char *name;
    struct fld_export_eval *ev;
};

struct batch {
    struct item items[BATCH];
    size_t n;
    int64_t bound;     /* cmd_trusted_bound, one for the walk */
    bool json;         /* lay records out as JSON on the merging threads */
    bool evaluated;    /* XLSX, GeoJSON: evaluate rules ahead */
    const char *today; /* the export's day, for the rules */
};

static int read_version(void *data, const struct fld_store_row *row)
{
    struct item *it = data;
    struct raw_version *rv;

    if (row->sig_len != FLD_SIG_LEN)
        return FLD_ECORRUPT; /* named at its turn: run field verify */
    it->raw = fld_xreallocarray(it->raw, it->n_raw + 1, sizeof *it->raw);
    rv = &it->raw[it->n_raw++];
    rv->body = fld_xmalloc(row->body_len ? row->body_len : 1);
    memcpy(rv->body, row->body, row->body_len);
    rv->len = row->body_len;
    memcpy(rv->sig, row->sig, FLD_SIG_LEN);
    return FLD_OK;
}

static int corrupt(struct item *it)
{
    return fld_err_set(&it->err, FLD_ECORRUPT,
                       "a version of record %.12s does not verify; run "
                       "'field verify'",
                       it->r.id);
}

static void free_raw(struct item *it)
{
    size_t i;

    for (i = 0; i < it->n_raw; i++)
        free(it->raw[i].body);
    free(it->raw);
    it->raw = NULL;
    it->n_raw = 0;
}

/* Read the signed versions of records ids[0..n) (this thread only). */
static void read_batch(struct cmd_ctx *ctx, struct batch *b, char **ids,
                       size_t n)
{
    size_t i;

    memset(b->items, 0, n * sizeof *b->items);
    b->n = n;
    for (i = 0; i < n; i++) {
        struct item *it = &b->items[i];

        snprintf(it->r.id, sizeof it->r.id, "%s", ids[i]);
        it->rc = fld_store_each_version(ctx->st, it->r.id, FLD_ORDER_ARRIVAL,
                                        read_version, it, &it->err);
        if (it->rc == FLD_ECORRUPT)
            it->rc = corrupt(it);
        if (it->rc != FLD_OK)
            free_raw(it);
    }
}

/* Verify and merge record i of the batch (any thread): touches only its
 * own item. */
static void open_item(void *data, size_t i)
{
    struct batch *b = data;
    struct item *it = &b->items[i];
    struct cmd_record *r = &it->r;
    struct fld_err err;
    size_t k;

    if (it->rc != FLD_OK)
        return;
    r->versions = fld_xcalloc(it->n_raw ? it->n_raw : 1, sizeof *r->versions);
    for (k = 0; k < it->n_raw && it->rc == FLD_OK; k++) {
        if (fld_version_open(it->raw[k].body, it->raw[k].len, it->raw[k].sig,
                             &r->versions[k], &err) != FLD_OK)
            it->rc = corrupt(it);
        else
            r->n_versions++;
    }
    free_raw(it);
    if (it->rc == FLD_OK)
        it->rc = syn_merge_at(r->versions, r->n_versions, b->bound, &r->merged,
                              &it->err);
    if (it->rc == FLD_OK && b->json) {
        struct fld_export_record e;

        /* JSON names neither the template nor the unit's name */
        syn_merged_export(r->merged, r->versions, r->n_versions, NULL, NULL,
                          &e);
        it->json_rc = fld_export_json_render(&e, &it->json, &it->json_err);
        it->template_hash = fld_xstrdup(r->merged->newest->template_hash);
        cmd_record_free(r);
    }
}

/* Add one verified, merged record to the export (this thread only). */
static int export_item(struct cmd_ctx *ctx, struct item *it,
                       struct fld_export *x)
{
    const struct fld_template *t = NULL;
    struct fld_export_record e;
    struct cmd_record *r = &it->r;
    char *name = NULL;
    int rc;

    if (it->rc != FLD_OK) {
        ctx->err = it->err;
        return it->rc;
    }
    if (it->template_hash != NULL) { /* laid out already (JSON) */
        if ((rc = cmd_load_template(ctx, it->template_hash, &t)) != FLD_OK)
            return rc;
        if (it->json_rc != FLD_OK) {
            ctx->err = it->json_err;
            return it->json_rc;
        }
        fld_export_add_rendered(x, it->json.data, it->json.len);
        return FLD_OK;
    }
    if (it->resolved) { /* template and name looked up, rules evaluated */
        if (it->t_rc != FLD_OK) {
            ctx->err = it->t_err;
            return it->t_rc;
        }
        syn_merged_export(r->merged, r->versions, r->n_versions, it->t,
                          it->name, &e);
        if (it->ev != NULL)
            return fld_export_add_evaluated(x, &e, it->ev, &ctx->err);
        return fld_export_add(x, &e, &ctx->err);
    }
    rc = cmd_load_template(ctx, r->merged->newest->template_hash, &t);
    if (rc == FLD_OK) {
        name = unit_name(ctx, r->merged->newest);
        syn_merged_export(r->merged, r->versions, r->n_versions, t, name, &e);
        rc = fld_export_add(x, &e, &ctx->err);
    }
    free(name);
    return rc;
}

/* The other formats, once a batch is merged (this thread): each record's
 * template, and for XLSX and GeoJSON the unit's name (a failure to load
 * the template is kept for the record's turn). */
static void resolve_batch(struct cmd_ctx *ctx, struct batch *b)
{
    size_t i;

    if (b->json)
        return;
    for (i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];

        if (it->rc != FLD_OK)
            continue;
        it->resolved = true;
        it->t_rc =
            cmd_load_template(ctx, it->r.merged->newest->template_hash, &it->t);
        if (it->t_rc != FLD_OK)
            it->t_err = ctx->err;
        else if (b->evaluated)
            it->name = unit_name(ctx, it->r.merged->newest);
    }
}

/* XLSX, GeoJSON: evaluate record i's rules (any thread). */
static void evaluate_item(struct batch *b, size_t i)
{
    struct item *it = &b->items[i];
    struct fld_export_record e;

    if (!b->evaluated || !it->resolved || it->t_rc != FLD_OK)
        return;
    syn_merged_export(it->r.merged, it->r.versions, it->r.n_versions, it->t,
                      it->name, &e);
    it->ev = fld_export_evaluate(&e, b->today);
}

static void free_batch(struct batch *b)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        free_raw(&b->items[i]);
        cmd_record_free(&b->items[i].r);
        fld_buf_free(&b->items[i].json);
        free(b->items[i].template_hash);
        b->items[i].template_hash = NULL;
        free(b->items[i].name);
        b->items[i].name = NULL;
        fld_export_eval_free(b->items[i].ev);
        b->items[i].ev = NULL;
    }
    b->n = 0;
}

/* Add batch b's records in order; FLD_OK or the first failure. */
static int export_batch(struct cmd_ctx *ctx, struct batch *b,
                        struct fld_export *x)
{
    size_t i;
    int rc = FLD_OK;

    for (i = 0; i < b->n && rc == FLD_OK; i++)
        rc = export_item(ctx, &b->items[i], x);
    free_batch(b);
    return rc;
}

/* One loop over two batches: verifying and merging the records of one,
 * evaluating the rules of the one merged before. */
struct both {
    struct batch *merged, *evaluated;
};

static void merge_or_evaluate(void *data, size_t i)
{
    struct both *w = data;
    size_t n = w->merged ? w->merged->n : 0;

    if (i < n)
        open_item(w->merged, i);
    else
        evaluate_item(w->evaluated, i - n);
}

/*
 * Three batches turn: while every core verifies and merges batch k + 1
 * and evaluates the rules of batch k, this thread adds batch k - 1 to the
 * export and reads batch k + 2 in its place; then it looks up batch
 * k + 1's templates.
 */
static int walk_records(struct cmd_ctx *ctx, const struct collected *c,
                        enum fld_export_format format, const char *today,
                        struct fld_export *x, struct sink *sink)
{
    struct batch *b[3];
    size_t threads = syn_cpus(), at, k;
    int64_t bound = cmd_trusted_bound(ctx);
    struct batch *read, *merged = NULL, *ready = NULL;
    int rc = FLD_OK;

    for (k = 0; k < 3; k++) {
        b[k] = fld_xcalloc(1, sizeof *b[k]);
        b[k]->bound = bound;
        b[k]->json = format == FLD_EXPORT_JSON;
        b[k]->evaluated =
            format == FLD_EXPORT_XLSX || format == FLD_EXPORT_GEOJSON;
        b[k]->today = today;
    }
    read = b[0];
    read_batch(ctx, read, c->records, c->n < BATCH ? c->n : BATCH);
    at = read->n;
    while (read != NULL || merged != NULL) {
        struct both w = {read, merged};
        struct syn_loop *loop;
        struct batch *next = NULL;

        loop =
            syn_parallel_start((read ? read->n : 0) + (merged ? merged->n : 0),
                               threads, merge_or_evaluate, &w);
        if (ready != NULL && rc == FLD_OK)
            rc = export_batch(ctx, ready, x);
        if (rc == FLD_OK)
            sink_spill(sink, x);
        /* the batch in neither stage takes the next records */
        for (k = 0; k < 3; k++)
            if (b[k] != read && b[k] != merged)
                next = b[k];
        free_batch(next);
        if (at < c->n && rc == FLD_OK) {
            size_t n = c->n - at < BATCH ? c->n - at : BATCH;

            read_batch(ctx, next, c->records + at, n);
            at += n;
        } else {
            next = NULL;
        }
        syn_parallel_finish(loop);
        if (read != NULL && rc == FLD_OK)
            resolve_batch(ctx, read);
        ready = merged;
        merged = read;
        read = next;
    }
    if (ready != NULL && rc == FLD_OK)
        rc = export_batch(ctx, ready, x);
    for (k = 0; k < 3; k++) {
        free_batch(b[k]);
        free(b[k]);
    }
    return rc;
}

static int export_all(struct cmd_ctx *ctx, const struct export_opts *o,
                      const struct collected *c, struct fld_buf *out,
                      struct sink *k)
{
    struct fld_export_opts xo;
    struct fld_export *x = NULL;
    char today[11];
    int rc;

    cmd_today(today);
    memset(&xo, 0, sizeof xo);
    xo.lang = ctx->lang;
    xo.today = today;
    xo.template_id = o->filter.template_id;
    rc = fld_export_new(o->format, &xo, &x, &ctx->err);
    if (rc == FLD_OK)
        rc = walk_records(ctx, c, o->format, today, x, k);
    if (rc == FLD_OK)
        rc = fld_export_finish(x, out, &ctx->err);
    if (rc == FLD_OK && fld_export_n_without_position(x) > 0)
        fprintf(stderr,
                "field: export: %zu of %zu records have no position and are "
                "not on the map\n",
                fld_export_n_without_position(x), fld_export_n_records(x));
    fld_export_free(x);
    return rc;
}

int cmd_export(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"status", required_argument, NULL, CMD_OPT_STATUS},
        {"subject", required_argument, NULL, CMD_OPT_SUBJECT},
        {"template", required_argument, NULL, CMD_OPT_TEMPLATE},
        {NULL, 0, NULL, 0}};
    struct export_opts o;
    struct collected c = {NULL, 0};
    struct fld_buf out = FLD_BUF_INIT;
    struct sink k;
    int rc;

    memset(&o, 0, sizeof o);
    memset(&k, 0, sizeof k);
    k.fd = -1;
    if ((rc = cmd_parse_and_open(ctx, argc, argv, extra, on_option, &o)))
        return rc;
    if (o.format_name == NULL)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "say --format json, csv, xlsx or geojson");
    if (o.format == FLD_EXPORT_XLSX && o.output == NULL)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "a workbook is not for a terminal: give --output "
                           "FILE.xlsx");
    /* one snapshot, and one lock of the file for the whole walk instead of
     * one per record (a tenth of an export's time, bench_walk) */
    if ((rc = fld_store_begin_read(ctx->st, &ctx->err)) != FLD_OK)
        goto out;
    k.output = o.output;
    rc =
        fld_store_each_record_brief(ctx->st, &o.filter, collect, &c, &ctx->err);
    if (rc == FLD_OK)
        rc = export_all(ctx, &o, &c, &out, &k);
    fld_store_rollback(ctx->st);
    rc = sink_close(&k, ctx, rc, &out);
out:
    fld_strv_free(c.records, c.n);
    fld_buf_free(&out);
    return rc;
}
