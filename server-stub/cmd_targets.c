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

static int load_targets(struct srv_cmd_ctx *ctx, const uint8_t *data,
                        size_t len, size_t *n)
{
    return srv_targets_import(ctx->st, data, len, fld_now_ms(), n, &ctx->err);
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
        return srv_cmd_import(ctx, argv[first + 1], SRV_TARGETS_MAX_BYTES,
                              "target", load_targets);
    }
    return fld_err_set(&ctx->err, FLD_EUSAGE,
                       "unknown subcommand \"%s\" (list, import)", sub);
}
