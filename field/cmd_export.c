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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cmd.h"
#include "export.h"
#include "file.h"
#include "merge.h"
#include "merged_export.h"

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

/* Merge one record and add it to the export. */
static int export_record(struct cmd_ctx *ctx, const char *id,
                         struct fld_export *x)
{
    const struct fld_template *t = NULL;
    struct fld_export_record e;
    struct cmd_record r;
    char *name = NULL;
    int rc;

    if ((rc = cmd_record_read(ctx, id, &r)) == FLD_OK)
        rc = cmd_load_template(ctx, r.merged->newest->template_hash, &t);
    if (rc == FLD_OK) {
        name = unit_name(ctx, r.merged->newest);
        syn_merged_export(r.merged, r.versions, r.n_versions, t, name, &e);
        rc = fld_export_add(x, &e, &ctx->err);
    }
    free(name);
    cmd_record_free(&r);
    return rc;
}

static int export_all(struct cmd_ctx *ctx, const struct export_opts *o,
                      const struct collected *c, struct fld_buf *out)
{
    struct fld_export_opts xo;
    struct fld_export *x = NULL;
    char today[11];
    size_t i;
    int rc;

    cmd_today(today);
    memset(&xo, 0, sizeof xo);
    xo.lang = ctx->lang;
    xo.today = today;
    xo.template_id = o->filter.template_id;
    rc = fld_export_new(o->format, &xo, &x, &ctx->err);
    for (i = 0; i < c->n && rc == FLD_OK; i++)
        rc = export_record(ctx, c->records[i], x);
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
    int rc;

    memset(&o, 0, sizeof o);
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
    rc = fld_store_each_record(ctx->st, &o.filter, collect, &c, &ctx->err);
    if (rc == FLD_OK)
        rc = export_all(ctx, &o, &c, &out);
    fld_store_rollback(ctx->st);
    /* a new file, never over an existing one, nothing half-written left;
     * mode 0600, as exports have always been written */
    if (rc == FLD_OK && o.output)
        rc = fld_file_write(o.output, out.data, out.len, 0600, FLD_FILE_NEW,
                            &ctx->err);
    else if (rc == FLD_OK)
        fwrite(fld_buf_str(&out), 1, out.len, stdout);
out:
    fld_strv_free(c.records, c.n);
    fld_buf_free(&out);
    return rc;
}
