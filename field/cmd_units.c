/*
 * cmd_units.c - `field units`: the administrative units records name.
 *
 *   field units [--json] [--on DATE]      list units valid on DATE (today)
 *   field units import FILE.csv           load or update units
 *
 * A unit outside the New Rural programme, and one that ended in a merger,
 * say so after their name (in --json: "in_programme": false, and
 * "merged_into"), so that a person reading the list sees why a report
 * counts them apart or follows them to another unit.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "units.h"

enum { OPT_ON = 1, OPT_ALL };

struct units_opts {
    const char *on;
    bool all;
};

struct listing {
    struct cmd_ctx *ctx;
    struct fld_json *arr;
    const char *on;
    bool all;
    size_t n;
};

static int on_option(struct cmd_ctx *ctx, int opt, const char *arg, void *data)
{
    struct units_opts *o = data;

    (void)ctx;
    if (opt == OPT_ON)
        o->on = arg;
    else
        o->all = true;
    return FLD_OK;
}

static int unit_row(void *data, const struct fld_unit *u)
{
    struct listing *l = data;

    if (!l->all && (strcmp(u->valid_from, l->on) > 0 ||
                    (u->valid_to && strcmp(u->valid_to, l->on) < 0)))
        return FLD_OK;
    l->n++;
    if (l->arr) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "code", fld_json_string(u->code));
        fld_json_set(o, "name", fld_json_string(u->name));
        fld_json_set(o, "kind", fld_json_string(u->kind));
        if (u->parent_code)
            fld_json_set(o, "parent", fld_json_string(u->parent_code));
        fld_json_set(o, "valid_from", fld_json_string(u->valid_from));
        if (u->valid_to)
            fld_json_set(o, "valid_to", fld_json_string(u->valid_to));
        fld_json_set(o, "in_programme", fld_json_bool(u->in_programme));
        if (u->merged_into)
            fld_json_set(o, "merged_into", fld_json_string(u->merged_into));
        fld_json_append(l->arr, o);
        return FLD_OK;
    }
    printf("%-8s %-10s %-8s %s", u->code, u->kind,
           u->parent_code ? u->parent_code : "-", u->name);
    if (u->valid_to)
        printf("  (%s to %s)", u->valid_from, u->valid_to);
    if (!u->in_programme)
        printf("  [ngoài chương trình NTM / not in the programme]");
    if (u->merged_into)
        printf("  [sáp nhập vào / merged into %s]", u->merged_into);
    putchar('\n');
    return FLD_OK;
}

static int units_import(struct cmd_ctx *ctx, const char *path)
{
    uint8_t *data;
    size_t len, n;
    int rc;

    if ((rc = cmd_read_file(ctx, path, FLD_UNITS_MAX_BYTES, &data, &len)) !=
        FLD_OK)
        return rc;
    rc = fld_units_import(ctx->st, data, len, &n, &ctx->err);
    free(data);
    if (rc != FLD_OK)
        return fld_err_prefix(&ctx->err, "%s", path);
    if (ctx->json) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "imported", fld_json_int((int64_t)n));
        cmd_print_json(ctx, o);
        fld_json_free(o);
    } else {
        printf("Imported %zu units from %s\n", n, path);
    }
    return FLD_OK;
}

int cmd_units(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"on", required_argument, NULL, OPT_ON},
        {"all", no_argument, NULL, OPT_ALL},
        {NULL, 0, NULL, 0}};
    struct units_opts o = {NULL, false};
    struct listing l;
    char today[11];
    int rc, first;

    if ((rc = cmd_parse(ctx, argc, argv, extra, on_option, &o, &first)))
        return rc;
    if (first < argc && strcmp(argv[first], "import") == 0) {
        if (first + 2 != argc)
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "usage: field units import FILE.csv");
        if ((rc = cmd_open_store(ctx)) != FLD_OK)
            return rc;
        return units_import(ctx, argv[first + 1]);
    }
    if (first < argc)
        return fld_err_set(&ctx->err, FLD_EUSAGE, "unknown units action '%s'",
                           argv[first]);
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        return rc;
    cmd_today(today);
    memset(&l, 0, sizeof l);
    l.ctx = ctx;
    l.on = o.on ? o.on : today;
    l.all = o.all;
    if (ctx->json)
        l.arr = fld_json_array();
    rc = fld_store_each_unit(ctx->st, unit_row, &l, &ctx->err);
    if (rc == FLD_OK && l.arr)
        rc = cmd_print_json(ctx, l.arr);
    fld_json_free(l.arr);
    return rc;
}
