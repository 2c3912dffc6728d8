/*
 * cmd_export.c - `export`: the province's records for an office and a map,
 * on the server's own machine.
 *
 *   field-server export --format json|csv|xlsx|geojson [--lang vi|en]
 *                       [--template ID] [--status S] [--unit CODE]
 *                       [--output FILE]
 *
 * The same files as GET /v1/export (exports.h) and `field export`, of
 * every record the server holds (or those of --unit and the units below
 * it), each shown as the merge of its stored versions. No record limit:
 * the administrator's machine waits for the administrator alone.
 *
 * The file is written beside its final name and put in place only when
 * complete (fld_file_write, FLD_FILE_NEW): an existing file is never
 * overwritten, and a failed export leaves nothing behind. A workbook needs
 * --output; the other formats may go to standard output.
 */
#include "command.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "exports.h"
#include "file.h"

enum { OPT_FORMAT = 1, OPT_LANG, OPT_TEMPLATE, OPT_STATUS, OPT_UNIT, OPT_OUT };

struct export_args {
    struct srv_export_query q;
    bool has_format;
    const char *output;
};

static int on_export_option(struct srv_cmd_ctx *ctx, int opt, const char *arg,
                            void *data)
{
    struct export_args *a = data;

    switch (opt) {
    case OPT_FORMAT:
        a->has_format = true;
        return fld_export_format_parse(arg, &a->q.format, &ctx->err);
    case OPT_LANG:
        if (strcmp(arg, "vi") != 0 && strcmp(arg, "en") != 0)
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "--lang must be vi or en");
        a->q.lang = strcmp(arg, "en") == 0 ? FLD_LANG_EN : FLD_LANG_VI;
        break;
    case OPT_TEMPLATE:
        a->q.template_id = arg;
        break;
    case OPT_STATUS:
        a->q.status = arg;
        break;
    case OPT_UNIT:
        a->q.unit = arg;
        break;
    default:
        a->output = arg;
    }
    return FLD_OK;
}

/*
 * field-server export --format F [--lang vi|en] [--template ID]
 *                     [--status S] [--unit CODE] [--output FILE]
 *
 * Write the records as F to FILE (created; refused if it exists) or to
 * standard output; exit 3 for an unknown unit, 4 when FILE exists.
 */
int srv_cmd_export(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"lang", required_argument, NULL, OPT_LANG},
        {"template", required_argument, NULL, OPT_TEMPLATE},
        {"status", required_argument, NULL, OPT_STATUS},
        {"unit", required_argument, NULL, OPT_UNIT},
        {"output", required_argument, NULL, OPT_OUT},
        {NULL, 0, NULL, 0}};
    struct export_args a;
    struct fld_buf out = FLD_BUF_INIT;
    int rc;

    memset(&a, 0, sizeof a);
    a.q.lang = FLD_LANG_VI;
    rc = srv_cmd_parse_options(ctx, argc, argv, extra, on_export_option, &a);
    if (rc != FLD_OK)
        return rc;
    if (!a.has_format)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "say --format json, csv, xlsx or geojson");
    if (a.q.format == FLD_EXPORT_XLSX && a.output == NULL)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "a workbook is not for a terminal: give --output "
                           "FILE.xlsx");
    if ((rc = srv_cmd_open(ctx)) != FLD_OK)
        return rc;
    rc = srv_export(ctx->st, &a.q, &out, NULL, &ctx->err);
    if (rc == FLD_OK && a.output != NULL)
        rc = fld_file_write(a.output, out.data, out.len, 0600, FLD_FILE_NEW,
                            &ctx->err);
    else if (rc == FLD_OK)
        fwrite(fld_buf_str(&out), 1, out.len, stdout);
    fld_buf_free(&out);
    return rc;
}
