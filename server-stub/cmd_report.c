/*
 * cmd_report.c - `report`: the province's progress report from the signed
 * versions the server holds (report.h; definitions in docs/REPORTS.md).
 *
 *   field-server report [--unit CODE] [--as-of DATE] [--lang vi|en]
 *                       [--json | --csv | --xlsx FILE]
 *
 * Decisions:
 *   - The unit defaults to the top of the unit tree valid on the date (the
 *     province); naming one reports on it and what lies below it.
 *   - --as-of defaults to today in the server's local time, the day the
 *     province's offices count in (run the server with TZ=Asia/Ho_Chi_Minh).
 *   - The report reads; it runs beside a serving server on the same
 *     database (SQLite WAL) and never writes.
 *   - --xlsx writes a new file and refuses to replace one: a report on a
 *     shared drive is somebody's document.
 */
#include "command.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "norm.h"
#include "report.h"

enum { OPT_UNIT = 1, OPT_AS_OF, OPT_LANG, OPT_CSV, OPT_XLSX };

struct report_opts {
    const char *unit;
    char *as_of; /* normalised YYYY-MM-DD */
    enum fld_lang lang;
    bool csv;
    const char *xlsx;
};

static int on_report_option(struct srv_cmd_ctx *ctx, int opt, const char *arg,
                            void *data)
{
    struct report_opts *o = data;

    switch (opt) {
    case OPT_UNIT:
        o->unit = arg;
        return FLD_OK;
    case OPT_AS_OF:
        free(o->as_of);
        o->as_of = NULL;
        if (fld_norm_date(arg, &o->as_of, NULL) != FLD_OK)
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "--as-of must be a date (YYYY-MM-DD or "
                               "DD/MM/YYYY), not '%s'",
                               arg);
        return FLD_OK;
    case OPT_LANG:
        if (strcmp(arg, "vi") != 0 && strcmp(arg, "en") != 0)
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "--lang must be vi or en, not '%s'", arg);
        o->lang = strcmp(arg, "en") == 0 ? FLD_LANG_EN : FLD_LANG_VI;
        return FLD_OK;
    case OPT_CSV:
        o->csv = true;
        return FLD_OK;
    case OPT_XLSX:
        o->xlsx = arg;
        return FLD_OK;
    }
    return FLD_EUSAGE;
}

static int write_report(struct srv_cmd_ctx *ctx, const struct report_opts *o,
                        const struct srv_report *r)
{
    if (o->xlsx != NULL) {
        int rc = srv_report_write_xlsx(r, o->lang, o->xlsx, &ctx->err);

        if (rc == FLD_OK && !ctx->json)
            printf("%s %s\n", o->lang == FLD_LANG_EN ? "Wrote" : "Đã ghi",
                   o->xlsx);
        return rc;
    }
    if (ctx->json) {
        struct fld_json *doc = srv_report_json(r);
        struct fld_buf b = FLD_BUF_INIT;
        int rc = fld_json_write(doc, &b, &ctx->err);

        if (rc == FLD_OK)
            printf("%s\n", fld_buf_str(&b));
        fld_buf_free(&b);
        fld_json_free(doc);
        return rc;
    }
    if (o->csv) {
        struct fld_buf b = FLD_BUF_INIT;

        srv_report_write_csv(r, o->lang, &b);
        fwrite(b.data ? (const char *)b.data : "", 1, b.len, stdout);
        fld_buf_free(&b);
        return FLD_OK;
    }
    srv_report_write_text(r, o->lang, stdout);
    return FLD_OK;
}

/*
 * report: parse, default the unit and the date, build once, write in the
 * one format asked for.
 */
int srv_cmd_report(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"unit", required_argument, NULL, OPT_UNIT},
        {"as-of", required_argument, NULL, OPT_AS_OF},
        {"lang", required_argument, NULL, OPT_LANG},
        {"csv", no_argument, NULL, OPT_CSV},
        {"xlsx", required_argument, NULL, OPT_XLSX},
        {NULL, 0, NULL, 0}};
    struct report_opts o;
    struct srv_report *r = NULL;
    char today[11];
    int rc;

    memset(&o, 0, sizeof o);
    rc = srv_cmd_parse_options(ctx, argc, argv, extra, on_report_option, &o);
    if (rc != FLD_OK)
        goto out;
    if ((o.csv ? 1 : 0) + (ctx->json ? 1 : 0) + (o.xlsx ? 1 : 0) > 1) {
        rc = fld_err_set(&ctx->err, FLD_EUSAGE,
                         "give one of --json, --csv and --xlsx");
        goto out;
    }
    if (o.as_of == NULL) {
        srv_report_today(today);
        o.as_of = fld_xstrdup(today);
    }
    if ((rc = srv_cmd_open(ctx)) != FLD_OK)
        goto out;
    rc = srv_report_build(ctx->st, o.unit, o.as_of, &r, &ctx->err);
    if (rc == FLD_OK)
        rc = write_report(ctx, &o, r);
out:
    srv_report_free(r);
    free(o.as_of);
    return rc;
}
