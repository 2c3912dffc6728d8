/*
 * cmd_migrate.c - `field-server migrate`: a SQLite server database moves
 * to PostgreSQL (migrate.h says what is copied and checked).
 *
 *   field-server migrate --from sqlite:FILE --to postgresql://...
 *                        [--attachments DIR] [--json]
 *
 * Decisions:
 *   - The target keeps the source's epoch: its seq numbers are the
 *     source's, so the devices' cursors stay valid and the move costs
 *     them nothing. That holds only if the SQLite server stopped before
 *     the copy and never serves again: docs/SERVER.md says so.
 *   - The photos go to DIR, by default where a server on the target
 *     keeps them ("attachments" in the working directory,
 *     srv_attach_dir_of), so migrate is run from the server's
 *     WorkingDirectory or told where.
 *   - One line of summary (or one JSON object) on success; one line of
 *     error otherwise, the exit status that of its code (docs/SERVER.md
 *     "Exit statuses"): 2 usage, 3 no such file or not initialised, 4 a
 *     target that is not empty, 5 a source that is not a field-server
 *     database or a check that failed, 7 a source a `serve` still runs
 *     on (serve_lock.h), 1 a database error or a newer schema.
 */
#include "command.h"

#include <stdlib.h>
#include <string.h>

#include "attachments.h"
#include "migrate.h"

enum { OPT_FROM = 1, OPT_TO, OPT_ATTACH };

struct migrate_opts {
    const char *from, *to, *attach;
};

static int on_migrate_option(struct srv_cmd_ctx *ctx, int opt, const char *arg,
                             void *data)
{
    struct migrate_opts *o = data;

    (void)ctx;
    if (opt == OPT_FROM)
        o->from = arg;
    else if (opt == OPT_TO)
        o->to = arg;
    else
        o->attach = arg;
    return FLD_OK;
}

static void print_report(const struct srv_cmd_ctx *ctx, const char *to,
                         const char *attach, const struct srv_migrate_report *r)
{
    char *where = srv_storage_display(to);

    if (ctx->json) {
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddStringToObject(o, "to", where) ||
            !cJSON_AddStringToObject(o, "epoch", r->epoch) ||
            !cJSON_AddNumberToObject(o, "tables", (double)r->tables) ||
            !cJSON_AddNumberToObject(o, "rows", (double)r->rows) ||
            !cJSON_AddNumberToObject(o, "versions", (double)r->versions) ||
            !cJSON_AddNumberToObject(o, "quarantined",
                                     (double)r->quarantined) ||
            !cJSON_AddNumberToObject(o, "thresholds", (double)r->thresholds) ||
            !cJSON_AddNumberToObject(o, "templates", (double)r->templates) ||
            !cJSON_AddNumberToObject(o, "devices", (double)r->devices) ||
            !cJSON_AddNumberToObject(o, "enroll_codes", (double)r->codes) ||
            !cJSON_AddNumberToObject(o, "audit", (double)r->audit) ||
            !cJSON_AddNumberToObject(o, "units", (double)r->units) ||
            !cJSON_AddNumberToObject(o, "targets", (double)r->targets) ||
            !cJSON_AddNumberToObject(o, "attachments",
                                     (double)r->attachments) ||
            !cJSON_AddNumberToObject(o, "files", (double)r->files) ||
            !cJSON_AddNumberToObject(o, "file_bytes", (double)r->file_bytes) ||
            !cJSON_AddStringToObject(o, "attachments_dir", attach) ||
            !cJSON_AddNumberToObject(o, "ms", (double)r->ms))
            abort();
        srv_cmd_print_json(o);
    } else {
        printf("migrated to %s (epoch %s kept): %lld versions verified, "
               "%lld quarantined, %lld devices, %lld enrollment codes, %lld "
               "audit entries, %lld units, %lld targets, %lld templates, "
               "%lld threshold revisions, %lld attachments (%zu files, %lld "
               "bytes to %s); %lld rows in %lld tables, %.1f s\n",
               where, r->epoch, (long long)r->versions,
               (long long)r->quarantined, (long long)r->devices,
               (long long)r->codes, (long long)r->audit, (long long)r->units,
               (long long)r->targets, (long long)r->templates,
               (long long)r->thresholds, (long long)r->attachments, r->files,
               (long long)r->file_bytes, attach, (long long)r->rows,
               (long long)r->tables, (double)r->ms / 1000.0);
    }
    free(where);
}

/*
 * field-server migrate --from sqlite:FILE --to postgresql://...
 *                      [--attachments DIR] [--json]
 */
int srv_cmd_migrate(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"attachments", required_argument, NULL, OPT_ATTACH},
        {NULL, 0, NULL, 0},
    };
    struct migrate_opts o = {NULL, NULL, NULL};
    struct srv_migrate_report r;
    char *attach = NULL;
    int rc;

    if ((rc = srv_cmd_parse_options(ctx, argc, argv, extra, on_migrate_option,
                                    &o)) != FLD_OK)
        return rc;
    if (o.from == NULL || o.to == NULL)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "usage: migrate --from sqlite:FILE --to "
                           "postgresql://...");
#ifdef SRV_WITH_PG
    attach = o.attach ? fld_xstrdup(o.attach) : srv_attach_dir_of(o.to);
    rc = srv_migrate(o.from, o.to, attach, &r, &ctx->err);
    if (rc == FLD_OK)
        print_report(ctx, o.to, attach, &r);
    free(attach);
    return rc;
#else
    (void)r;
    (void)attach;
    (void)print_report;
    return fld_err_set(&ctx->err, FLD_EUSAGE,
                       "this field-server was built without PostgreSQL "
                       "(make PG=1)");
#endif
}
