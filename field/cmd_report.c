/*
 * cmd_report.c - `field report`: the province's progress report on a
 * supervisor's or an administrator's device.
 *
 *   field report [--unit CODE] [--as-of DATE] [--format json|csv|xlsx]
 *                [--output FILE] [--json] [--lang vi|en]
 *
 * Where it sits: the figures are the server's (server-stub/report.c, the
 * same as `field-server report`), computed over every device's versions;
 * a device holds only its scope's records, so it never computes them
 * itself. This file asks for them (one signed GET /v1/report,
 * syn_report() in sync/client.c) with the TLS settings `field enroll`
 * kept, and prints them, or writes the server's CSV or workbook.
 *
 * A JSON report fetched is also kept in the store's meta table with the
 * time it came (cmd_report_fetch), in one transaction, replacing the
 * last: the report screen of `field ui` shows it, dated, where there is
 * no network. Only the newest is kept: a report is a snapshot the server
 * can make again for any date (as_of), not data of the device's own.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"
#include "file.h"
#include "hlc.h"
#include "norm.h"
#include "numbers.h"

/* What the server may send: a province's workbook is far below this. */
#define REPORT_MAX (16 * 1024 * 1024)

enum { OPT_UNIT = 1, OPT_AS_OF, OPT_FORMAT, OPT_OUTPUT };

struct report_opts {
    char *unit, *as_of;
    const char *format; /* NULL: for people */
    const char *output;
};

/* Keep the JSON report body (checked to be JSON) as the last fetched. */
static int keep(struct cmd_ctx *ctx, const struct fld_buf *body)
{
    int rc;

    if ((rc = fld_store_begin(ctx->st, &ctx->err)) != FLD_OK)
        return rc;
    rc = fld_store_meta_set(ctx->st, CMD_META_REPORT, fld_buf_str(body),
                            &ctx->err);
    if (rc == FLD_OK)
        rc = fld_store_meta_set_int(ctx->st, CMD_META_REPORT_MS, fld_now_ms(),
                                    &ctx->err);
    if (rc != FLD_OK) {
        fld_store_rollback(ctx->st);
        return rc;
    }
    return fld_store_commit(ctx->st, &ctx->err);
}

int cmd_report_fetch(struct cmd_ctx *ctx, const struct syn_report_query *q,
                     long bound_s, const volatile sig_atomic_t *stop,
                     struct fld_buf *out)
{
    struct syn_transport *t = NULL;
    struct syn_client c;
    struct fld_json *doc = NULL;
    struct syn_report_query asked = *q;
    bool is_json = q->format == NULL || strcmp(q->format, "json") == 0;
    size_t start = out->len;
    int rc;

    asked.lang = ctx->lang == FLD_LANG_EN ? "en" : "vi";
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        return rc;
    if (ctx->key == NULL) /* `field ui` lends its own */
        rc = cmd_load_key(ctx);
    if (rc != FLD_OK)
        return rc;
    if ((rc = cmd_sync_transport(ctx, stop, bound_s, &t)) != FLD_OK)
        return rc;
    memset(&c, 0, sizeof c);
    c.st = ctx->st;
    c.key = ctx->key;
    c.transport = t;
    if (bound_s > 0)
        c.max_attempts = 1;
    rc = syn_report(&c, &asked, out, &ctx->err);
    syn_transport_free(t);
    if (rc == FLD_OK && out->len - start > REPORT_MAX)
        rc = fld_err_set(&ctx->err, FLD_ELIMIT,
                         "the report is larger than %d MiB",
                         REPORT_MAX / (1024 * 1024));
    if (rc != FLD_OK || !is_json)
        return rc;
    if (fld_json_parse((const uint8_t *)out->data + start, out->len - start,
                       &doc, &ctx->err) != FLD_OK)
        return fld_err_prefix(&ctx->err, "the server's report");
    fld_json_free(doc);
    return start == 0 ? keep(ctx, out) : FLD_OK;
}

static int on_option(struct cmd_ctx *ctx, int opt, const char *arg, void *data)
{
    struct report_opts *o = data;

    switch (opt) {
    case OPT_UNIT:
        free(o->unit);
        o->unit = fld_xstrdup(arg);
        return FLD_OK;
    case OPT_AS_OF:
        free(o->as_of);
        o->as_of = NULL;
        if (fld_norm_date(arg, &o->as_of, &ctx->err) != FLD_OK)
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "--as-of %s is not a date (YYYY-MM-DD or "
                               "DD/MM/YYYY)",
                               arg);
        return FLD_OK;
    case OPT_FORMAT:
        if (strcmp(arg, "json") != 0 && strcmp(arg, "csv") != 0 &&
            strcmp(arg, "xlsx") != 0)
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "--format must be json, csv or xlsx, not %s",
                               arg);
        o->format = arg;
        return FLD_OK;
    case OPT_OUTPUT:
        o->output = arg;
        return FLD_OK;
    }
    return FLD_EUSAGE;
}

/* An integer member, 0 when absent. */
static int64_t int_of(const struct fld_json *o, const char *key)
{
    int64_t v = 0;

    fld_json_get_int(o, key, &v);
    return v;
}

static const char *label_of(const struct cmd_ctx *ctx, const struct fld_json *t)
{
    const struct fld_json *label = fld_json_get(t, "label");
    const char *en = fld_json_get_string(label, "en");
    const char *vi = fld_json_get_string(label, "vi");

    if (ctx->lang == FLD_LANG_EN && en != NULL && en[0] != '\0')
        return en;
    return vi ? vi : fld_json_get_string(t, "code");
}

/* "met/total (share)" of tier t in the language's number style
 * (field/numbers.h), then its target when it has one. */
static void tier_line(const struct cmd_ctx *ctx, const struct fld_json *t,
                      struct fld_buf *out)
{
    const struct fld_json *target = fld_json_get(t, "target");
    bool en = ctx->lang == FLD_LANG_EN;

    fld_buf_printf(out, "  %s: ", label_of(ctx, t));
    fld_format_count(int_of(t, "met"), ctx->lang, out);
    fld_buf_putc(out, '/');
    fld_format_count(int_of(t, "total"), ctx->lang, out);
    fld_buf_puts(out, " (");
    fld_format_tenths(int_of(t, "share_tenths"), ctx->lang, out);
    fld_buf_putc(out, ')');
    if (target != NULL) {
        fld_buf_printf(out, "; %s ", en ? "target" : "mục tiêu");
        fld_format_count(int_of(target, "count"), ctx->lang, out);
        fld_buf_printf(out, ", %s ", en ? "remaining" : "còn thiếu");
        fld_format_count(int_of(target, "remaining"), ctx->lang, out);
    }
    fld_buf_putc(out, '\n');
}

/* The report for people: the unit, the date, each tier's count. */
static int print_report(struct cmd_ctx *ctx, const struct fld_buf *body)
{
    const struct fld_json *tiers, *unit;
    struct fld_json *doc;
    struct fld_buf out = FLD_BUF_INIT;
    size_t i;
    int rc;

    rc =
        fld_json_parse((const uint8_t *)body->data, body->len, &doc, &ctx->err);
    if (rc != FLD_OK)
        return rc;
    unit = fld_json_get(doc, "unit");
    fld_buf_printf(&out, "%s: %s (%s), %s %s\n",
                   ctx->lang == FLD_LANG_EN ? "Report" : "Báo cáo",
                   fld_json_get_string(unit, "name"),
                   fld_json_get_string(unit, "code"),
                   ctx->lang == FLD_LANG_EN ? "as of" : "tính đến ngày",
                   fld_json_get_string(doc, "as_of"));
    tiers = fld_json_get(doc, "tiers");
    for (i = 0; tiers != NULL && i < tiers->n; i++)
        tier_line(ctx, tiers->items[i], &out);
    fwrite(out.data, 1, out.len, stdout);
    fld_buf_free(&out);
    fld_json_free(doc);
    return FLD_OK;
}

static int check_options(struct cmd_ctx *ctx, struct report_opts *o)
{
    if (ctx->json && o->format != NULL && strcmp(o->format, "json") != 0)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "--json and --format %s: choose one", o->format);
    if (o->format != NULL && strcmp(o->format, "xlsx") == 0 &&
        o->output == NULL)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "a workbook needs --output FILE.xlsx");
    if (o->format == NULL && (ctx->json || o->output != NULL))
        o->format = "json";
    if (o->output != NULL && access(o->output, F_OK) == 0)
        return fld_err_set(&ctx->err, FLD_EXISTS,
                           "%s: already exists; not overwritten", o->output);
    return FLD_OK;
}

int cmd_report(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"unit", required_argument, NULL, OPT_UNIT},
        {"as-of", required_argument, NULL, OPT_AS_OF},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {NULL, 0, NULL, 0}};
    struct report_opts o;
    struct syn_report_query q;
    struct fld_buf body = FLD_BUF_INIT;
    int rc, first;

    memset(&o, 0, sizeof o);
    rc = cmd_parse(ctx, argc, argv, options, on_option, &o, &first);
    if (rc == FLD_OK && first < argc)
        rc = fld_err_set(&ctx->err, FLD_EUSAGE,
                         "no arguments; see 'field report --help'");
    if (rc == FLD_OK)
        rc = check_options(ctx, &o);
    if (rc != FLD_OK)
        goto out;
    q.unit = o.unit;
    q.as_of = o.as_of;
    q.format = o.format ? o.format : "json";
    if ((rc = cmd_report_fetch(ctx, &q, 0, NULL, &body)) != FLD_OK)
        goto out;
    if (o.output != NULL)
        rc = fld_file_write(o.output, body.data, body.len, 0600, FLD_FILE_NEW,
                            &ctx->err);
    else if (o.format != NULL)
        fwrite(body.data, 1, body.len, stdout);
    else
        rc = print_report(ctx, &body);
    if (rc == FLD_OK && o.format != NULL && o.output == NULL &&
        strcmp(o.format, "json") == 0)
        putchar('\n');
out:
    fld_buf_free(&body);
    free(o.unit);
    free(o.as_of);
    return rc;
}
