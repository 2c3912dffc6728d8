/*
 * cmd_units.c - the administrative units the server knows (province,
 * communes, villages): `units` lists them, `units import` loads them.
 *
 *   field-server units [list] [--json]
 *   field-server units import FILE.csv
 *
 * Scopes name units (enroll-code checks them once units are imported),
 * push.c checks that a version's subject is inside its pusher's scope, and
 * devices download the tree through GET /v1/units (api.c).
 *
 * Decisions:
 *   - Units come in the same CSV as on the devices (field/units.h: code,
 *     name, kind, parent_code, valid_from, valid_to), read and checked
 *     whole by libfield before anything is stored, so the two sides never
 *     disagree on the format; a bad file changes nothing (one transaction)
 *     and the error names its line.
 *   - The server keeps the tree (code, name, parent, kind as its level)
 *     and not the validity dates: scopes and subjects are checked by code
 *     and by the tree alone. A later row of a code replaces an earlier
 *     one, so the file's current names win.
 */
#include "command.h"

#include <stdlib.h>
#include <string.h>

#include "units.h"

struct unit_import {
    struct srv_storage *st;
    struct fld_err *err;
};

struct stored_walk {
    fld_unit_fn fn;
    void *ctx;
};

/* The server keeps no dates yet: every stored unit is valid since ever. */
static int stored_row(void *ctx, const struct srv_unit *u)
{
    struct stored_walk *w = ctx;
    struct fld_unit f = {u->code,      u->name, u->level, u->parent,
                         "0000-01-01", NULL,    true,     NULL};

    return w->fn(w->ctx, &f);
}

static int each_stored(void *ctx, fld_unit_fn fn, void *fn_ctx,
                       struct fld_err *err)
{
    struct unit_import *im = ctx;
    struct stored_walk w = {fn, fn_ctx};

    return srv_storage_each_unit(im->st, stored_row, &w, err);
}

static int unit_store(void *ctx, const struct fld_unit *u)
{
    struct unit_import *im = ctx;
    struct srv_unit row = {u->code, u->name, u->parent_code, u->kind};

    return srv_storage_unit_put(im->st, &row, im->err);
}

static int print_unit(void *ctx, const struct srv_unit *u)
{
    cJSON *arr = ctx;

    if (arr) {
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddStringToObject(o, "code", u->code) ||
            !cJSON_AddStringToObject(o, "name", u->name) ||
            !(u->parent ? cJSON_AddStringToObject(o, "parent", u->parent)
                        : cJSON_AddNullToObject(o, "parent")) ||
            !cJSON_AddStringToObject(o, "level", u->level ? u->level : ""))
            abort();
        cJSON_AddItemToArray(arr, o);
        return FLD_OK;
    }
    printf("%-12s %-12s %-10s %s\n", u->code, u->parent ? u->parent : "-",
           u->level && u->level[0] ? u->level : "-", u->name);
    return FLD_OK;
}

static int walk_units(struct srv_storage *st, cJSON *arr, struct fld_err *err)
{
    return srv_storage_each_unit(st, print_unit, arr, err);
}

/*
 * field-server units [list] [--json]
 * field-server units import FILE.csv
 *
 * List the units, or import FILE in one transaction: a parent must be in
 * the file or stored already, and any error names its line and changes
 * nothing.
 */
int srv_cmd_units(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    struct fld_err *err = &ctx->err;
    uint8_t *data = NULL;
    size_t len;
    const char *sub;
    int rc, n = 0, first;

    if ((rc = srv_cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)) !=
        FLD_OK)
        goto out;
    sub = first < argc ? argv[first] : "list";
    if (strcmp(sub, "list") == 0) {
        rc = srv_cmd_list(ctx, argc, first, "units", walk_units);
    } else if (strcmp(sub, "import") == 0) {
        struct unit_import im;
        size_t n_read = 0;

        if (argc - first != 2) {
            rc = fld_err_set(err, FLD_EUSAGE, "usage: units import FILE.csv");
            goto out;
        }
        rc = srv_cmd_read_file(ctx, argv[first + 1], FLD_UNITS_MAX_BYTES, &data,
                               &len);
        if (rc != FLD_OK)
            goto out;
        if ((rc = srv_cmd_open(ctx)) != FLD_OK)
            goto out;
        if ((rc = srv_storage_begin(ctx->st, err)) != FLD_OK)
            goto out;
        struct fld_units_dest dest = {each_stored, NULL, unit_store, &im};

        im.st = ctx->st;
        im.err = err;
        rc = fld_units_read(data, len, &dest, &n_read, err);
        if (rc == FLD_OK)
            rc = srv_storage_audit_add(ctx->st, "units", NULL, argv[first + 1],
                                       "units imported", err);
        rc = srv_cmd_end(ctx->st, rc, err);
        if (rc != FLD_OK)
            fld_err_prefix(err, "%s", argv[first + 1]);
        n = (int)n_read;
        if (rc == FLD_OK)
            printf("imported %d unit%s\n", n, n == 1 ? "" : "s");
    } else {
        rc = fld_err_set(err, FLD_EUSAGE,
                         "unknown subcommand \"%s\" (list, import)", sub);
    }
out:
    free(data);
    return rc;
}
