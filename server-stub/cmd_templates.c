/*
 * cmd_templates.c - the checklist templates the server knows: `templates`
 * lists them, `templates add` installs one.
 *
 *   field-server templates [list] [--json]
 *   field-server templates add FILE
 *
 * Devices download them through GET /v1/templates (api.c); push.c checks
 * every pushed version against the template it names.
 *
 * Decisions:
 *   - A template is parsed and checked whole by libfield (field/template.h)
 *     before anything is stored, and stored as its canonical JSON under its
 *     hash: what a device downloads hashes to the name it asked for.
 *   - Adding a template releases, in the same transaction, the versions
 *     quarantined for want of it ("unknown_template"): a device that pushed
 *     before the administrator installed the template loses nothing and
 *     need not push again.
 */
#include "command.h"

#include <stdlib.h>
#include <string.h>

#include "hlc.h"
#include "push.h"
#include "template.h"

static int print_template(void *ctx, const struct srv_template_row *t)
{
    cJSON *arr = ctx;
    char when[32];

    if (arr) {
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddStringToObject(o, "id", t->id) ||
            !cJSON_AddStringToObject(o, "version", t->version) ||
            !cJSON_AddStringToObject(o, "hash", t->hash))
            abort();
        cJSON_AddItemToArray(arr, o);
        return FLD_OK;
    }
    srv_cmd_format_time(t->added_ms, when);
    printf("%-20s %-8s %s  %s\n", t->id, t->version, t->hash, when);
    return FLD_OK;
}

static int walk_templates(struct srv_storage *st, cJSON *arr,
                          struct fld_err *err)
{
    return srv_storage_each_template(st, print_template, arr, err);
}

/*
 * field-server templates [list] [--json]
 * field-server templates add FILE
 *
 * List the templates, or parse FILE whole and store it with an audit entry,
 * releasing the versions that waited for it, in one transaction.
 */
int srv_cmd_templates(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    struct fld_err *err = &ctx->err;
    struct fld_template *t = NULL;
    uint8_t *data = NULL;
    size_t len, n_rechecked = 0;
    const char *sub;
    int rc, first;

    if ((rc = srv_cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)) !=
        FLD_OK)
        goto out;
    sub = first < argc ? argv[first] : "list";
    if (strcmp(sub, "list") == 0) {
        rc = srv_cmd_list(ctx, argc, first, "templates", walk_templates);
    } else if (strcmp(sub, "add") == 0) {
        struct srv_template_row row;
        const uint8_t *canon;
        size_t clen;

        if (argc - first != 2) {
            rc = fld_err_set(err, FLD_EUSAGE, "usage: templates add FILE");
            goto out;
        }
        rc = srv_cmd_read_file(ctx, argv[first + 1], FLD_TEMPLATE_MAX_BYTES,
                               &data, &len);
        if (rc == FLD_OK)
            rc = fld_template_parse(data, len, &t, err);
        if (rc != FLD_OK) {
            fld_err_prefix(err, "%s", argv[first + 1]);
            goto out;
        }
        if ((rc = srv_cmd_open(ctx)) != FLD_OK)
            goto out;
        if ((rc = srv_storage_begin(ctx->st, err)) != FLD_OK)
            goto out;
        canon = fld_template_canonical(t, &clen);
        row.hash = fld_template_hash(t);
        row.id = fld_template_id(t);
        row.version = fld_template_version(t);
        row.added_ms = fld_now_ms();
        /* Versions waiting for this template leave quarantine with it. */
        rc = srv_storage_template_put(ctx->st, &row, canon, clen, err);
        if (rc == FLD_OK)
            rc = srv_storage_audit_add(ctx->st, "template", NULL, row.hash,
                                       row.id, err);
        if (rc == FLD_OK)
            rc = srv_push_recheck(ctx->s, ctx->st, "unknown_template",
                                  &n_rechecked, err);
        if ((rc = srv_cmd_end(ctx->st, rc, err)) == FLD_OK)
            printf("added %s %s %s\n", row.id, row.version, row.hash);
    } else {
        rc = fld_err_set(err, FLD_EUSAGE,
                         "unknown subcommand \"%s\" (list, add)", sub);
    }
out:
    fld_template_free(t);
    free(data);
    return rc;
}
