/*
 * cmd_units.c - the administrative units the server knows (province,
 * communes, villages): `units` lists them, `units import` loads them.
 *
 *   field-server units [list] [--json] [--on DATE | --all]
 *   field-server units import FILE.csv
 *
 * Scopes name units (enroll-code checks them once units are imported),
 * push.c checks that a version's subject is inside its pusher's scope,
 * devices download the units through GET /v1/units (api.c), and the
 * province's report counts the units valid on its date
 * (srv_storage_units_on).
 *
 * Decisions:
 *   - Units come in the same CSV as on the devices (field/units.h: code,
 *     name, kind, parent_code, valid_from, valid_to, and optionally
 *     in_programme and merged_into), read and checked whole by libfield
 *     against the units stored here before anything is stored, so the two
 *     sides never disagree on the format or on what a valid file is; a
 *     bad file changes nothing (one transaction) and the error names its
 *     line.
 *   - The server keeps every version with its dates, as the devices do:
 *     a report "as of" a date needs the units of that date. Listing shows
 *     the units valid today, as `field units` does; --on another day,
 *     --all every version.
 */
#include "command.h"

#include <string.h>
#include <time.h>

#include "api.h"
#include "units.h"

/* ---- import ---------------------------------------------------------------
 */

struct unit_import {
    struct srv_storage *st;
    struct fld_err *err;
};

struct stored_walk {
    fld_unit_fn fn;
    void *ctx;
};

static int stored_row(void *ctx, const struct srv_unit *u)
{
    struct stored_walk *w = ctx;
    struct fld_unit f = {u->code,         u->name,       u->kind,
                         u->parent,       u->valid_from, u->valid_to,
                         u->in_programme, u->merged_into};

    return w->fn(w->ctx, &f);
}

static int each_stored(void *ctx, fld_unit_fn fn, void *fn_ctx,
                       struct fld_err *err)
{
    struct unit_import *im = ctx;
    struct stored_walk w = {fn, fn_ctx};

    return srv_storage_each_unit(im->st, stored_row, &w, err);
}

static int drop(void *ctx, const char *code, const char *valid_from,
                struct fld_err *err)
{
    struct unit_import *im = ctx;

    return srv_storage_unit_drop(im->st, code, valid_from, err);
}

static int unit_store(void *ctx, const struct fld_unit *u)
{
    struct unit_import *im = ctx;
    struct srv_unit row = {u->code,         u->name,       u->kind,
                           u->parent_code,  u->valid_from, u->valid_to,
                           u->in_programme, u->merged_into};

    return srv_storage_unit_put(im->st, &row, im->err);
}

static int load_units(struct srv_cmd_ctx *ctx, const uint8_t *data, size_t len,
                      size_t *n)
{
    struct unit_import im = {ctx->st, &ctx->err};
    struct fld_units_dest dest = {each_stored, drop, unit_store, &im};

    return fld_units_read(data, len, &dest, n, &ctx->err);
}

/* ---- listing --------------------------------------------------------------
 */

enum { OPT_ON = 1, OPT_ALL };

struct listing {
    const char *on; /* --on DATE, or NULL: today */
    bool all;       /* --all: every version */
    cJSON *arr;     /* --json */
};

static int on_option(struct srv_cmd_ctx *ctx, int opt, const char *arg,
                     void *data)
{
    struct listing *l = data;

    (void)ctx;
    if (opt == OPT_ON)
        l->on = arg;
    else
        l->all = true;
    return FLD_OK;
}

/* One version: code, parent, kind, name, then its end and what the
 * province says of it beyond the tree (as `field units` prints them). */
static int print_unit(void *ctx, const struct srv_unit *u)
{
    struct listing *l = ctx;

    if (l->arr) {
        cJSON_AddItemToArray(l->arr, srv_api_unit_json(u));
        return FLD_OK;
    }
    printf("%-12s %-12s %-10s %s", u->code, u->parent ? u->parent : "-",
           u->kind && u->kind[0] ? u->kind : "-", u->name);
    if (u->valid_to)
        printf("  (%s to %s)", u->valid_from, u->valid_to);
    else if (l->all && strcmp(u->valid_from, "0000-01-01") != 0)
        printf("  (from %s)", u->valid_from);
    if (!u->in_programme)
        printf("  [ngoài chương trình NTM / not in the programme]");
    if (u->merged_into)
        printf("  [sáp nhập vào / merged into %s]", u->merged_into);
    putchar('\n');
    return FLD_OK;
}

/* Today as the province's calendar has it: the server's local date. */
static void today(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;

    if (localtime_r(&now, &tm) == NULL ||
        strftime(out, 11, "%Y-%m-%d", &tm) != 10)
        snprintf(out, 11, "1970-01-01");
}

static int units_list(struct srv_cmd_ctx *ctx, int argc, int first,
                      struct listing *l)
{
    cJSON *root = NULL;
    char day[11];
    int rc;

    if (l->all && l->on)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "--on and --all do not go together");
    if ((rc = srv_cmd_no_more_args(ctx, argc, first, 1)) != FLD_OK)
        return rc;
    if ((rc = srv_cmd_open(ctx)) != FLD_OK)
        return rc;
    if (ctx->json)
        root = srv_api_list_new("units", &l->arr);
    if (l->all) {
        rc = srv_storage_each_unit(ctx->st, print_unit, l, &ctx->err);
    } else {
        today(day);
        rc = srv_storage_units_on(ctx->st, l->on ? l->on : day, print_unit, l,
                                  &ctx->err);
    }
    if (rc == FLD_EINVAL) { /* the date given with --on */
        fld_err_prefix(&ctx->err, "--on");
        ctx->err.code = FLD_EUSAGE;
        rc = FLD_EUSAGE;
    }
    if (root != NULL && rc == FLD_OK)
        srv_cmd_print_json(root);
    else
        cJSON_Delete(root);
    return rc;
}

/*
 * field-server units [list] [--json] [--on DATE | --all]
 * field-server units import FILE.csv
 *
 * List the units valid today (on DATE; every version with --all), or
 * import FILE in one transaction: checked whole against what is stored,
 * any error names its line and changes nothing.
 */
int srv_cmd_units(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"on", required_argument, NULL, OPT_ON},
        {"all", no_argument, NULL, OPT_ALL},
        {NULL, 0, NULL, 0}};
    struct listing l = {NULL, false, NULL};
    const char *sub;
    int rc, first;

    if ((rc = srv_cmd_parse(ctx, argc, argv, extra, on_option, &l, &first)) !=
        FLD_OK)
        return rc;
    sub = first < argc ? argv[first] : "list";
    if (strcmp(sub, "list") == 0)
        return units_list(ctx, argc, first, &l);
    if (strcmp(sub, "import") == 0) {
        if (argc - first != 2)
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "usage: units import FILE.csv");
        return srv_cmd_import(ctx, argv[first + 1], FLD_UNITS_MAX_BYTES, "unit",
                              load_units);
    }
    return fld_err_set(&ctx->err, FLD_EUSAGE,
                       "unknown subcommand \"%s\" (list, import)", sub);
}
