/*
 * cmd_targets.c - the targets the province sets (at least 75 advanced
 * communes by the end of 2025 ...): `targets` lists them, `targets
 * import` loads them.
 *
 *   field-server targets [list] [--json]
 *   field-server targets import FILE.csv
 *
 * Targets are data, as units are: a province sets new ones for each
 * period, and the progress report sets its counts against whatever is
 * loaded (storage.h, srv_storage_each_target). The file is checked whole
 * by targets.c inside one transaction; schema/targets/ha-tinh-2025.csv is
 * an example, the two targets of the Hà Tĩnh document.
 */
#include "command.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hlc.h"
#include "targets.h"

static int print_target(void *ctx, const struct srv_target *g)
{
    cJSON *arr = ctx;

    if (arr) {
        cJSON *o = cJSON_CreateObject();

        if (o == NULL || !cJSON_AddStringToObject(o, "unit", g->unit) ||
            !cJSON_AddStringToObject(o, "tier", g->tier) ||
            !cJSON_AddNumberToObject(o, "count", (double)g->count) ||
            !cJSON_AddStringToObject(o, "from", g->from) ||
            !(g->due ? cJSON_AddStringToObject(o, "due", g->due)
                     : cJSON_AddNullToObject(o, "due")) ||
            !(g->source ? cJSON_AddStringToObject(o, "source", g->source)
                        : cJSON_AddNullToObject(o, "source")) ||
            !cJSON_AddNumberToObject(o, "loaded_ms", (double)g->loaded_ms))
            abort();
        cJSON_AddItemToArray(arr, o);
        return FLD_OK;
    }
    printf("%-8s %-20s %6" PRId64 "  %s  %-10s  %s\n", g->unit, g->tier,
           g->count, g->from, g->due ? g->due : "-",
           g->source ? g->source : "-");
    return FLD_OK;
}

static int walk_targets(struct srv_storage *st, cJSON *arr, struct fld_err *err)
{
    return srv_storage_each_target(st, print_target, arr, err);
}

static int targets_import(struct srv_cmd_ctx *ctx, const char *path)
{
    struct fld_err *err = &ctx->err;
    uint8_t *data = NULL;
    size_t len, n = 0;
    int rc;

    rc = srv_cmd_read_file(ctx, path, SRV_TARGETS_MAX_BYTES, &data, &len);
    if (rc == FLD_OK)
        rc = srv_cmd_open(ctx);
    if (rc == FLD_OK)
        rc = srv_storage_begin(ctx->st, err);
    if (rc != FLD_OK)
        goto out;
    rc = srv_targets_import(ctx->st, data, len, fld_now_ms(), &n, err);
    if (rc == FLD_OK)
        rc = srv_storage_audit_add(ctx->st, "targets", NULL, path,
                                   "targets imported", err);
    rc = srv_cmd_end(ctx->st, rc, err);
    if (rc != FLD_OK)
        fld_err_prefix(err, "%s", path);
    else
        printf("imported %zu target%s\n", n, n == 1 ? "" : "s");
out:
    free(data);
    return rc;
}

/*
 * field-server targets [list] [--json]
 * field-server targets import FILE.csv
 *
 * List the targets in the order they were loaded, or import FILE in one
 * transaction: every unit must be loaded, any error names its line and
 * changes nothing; a target of the same unit, tier and from replaces the
 * one stored.
 */
int srv_cmd_targets(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    const char *sub;
    int rc, first;

    if ((rc = srv_cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)) !=
        FLD_OK)
        return rc;
    sub = first < argc ? argv[first] : "list";
    if (strcmp(sub, "list") == 0)
        return srv_cmd_list(ctx, argc, first, "targets", walk_targets);
    if (strcmp(sub, "import") == 0) {
        if (argc - first != 2)
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "usage: targets import FILE.csv");
        return targets_import(ctx, argv[first + 1]);
    }
    return fld_err_set(&ctx->err, FLD_EUSAGE,
                       "unknown subcommand \"%s\" (list, import)", sub);
}
