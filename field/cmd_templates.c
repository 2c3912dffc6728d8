/*
 * cmd_templates.c - `field templates`: the installed checklist templates.
 *
 *   field templates [--json] [--lang vi|en]
 */
#include <stdlib.h>

#include "cmd.h"

struct listing {
    struct cmd_ctx *ctx;
    struct fld_json *arr; /* --json */
};

static int template_row(void *data, const char *hash, const char *id,
                        const uint8_t *body, size_t len, int64_t added_ms)
{
    struct listing *l = data;
    struct cmd_ctx *ctx = l->ctx;
    struct fld_json *arr = l->arr;
    struct fld_template *t;
    int rc = fld_template_parse(body, len, &t, &ctx->err);

    (void)added_ms;
    if (rc != FLD_OK)
        return fld_err_set(&ctx->err, FLD_ECORRUPT, "installed template %s: %s",
                           id, ctx->err.msg);
    if (arr != NULL) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "id", fld_json_string(id));
        fld_json_set(o, "version", fld_json_string(fld_template_version(t)));
        fld_json_set(o, "hash", fld_json_string(hash));
        fld_json_set(o, "title", fld_json_string(
                                     fld_text_get(fld_template_title(t), ctx->lang)));
        fld_json_set(o, "questions",
                     fld_json_int((int64_t)fld_template_n_questions(t)));
        fld_json_append(arr, o);
    } else {
        printf("%-20s %-8s %.12s  %3zu questions  %s\n", id,
               fld_template_version(t), hash, fld_template_n_questions(t),
               fld_text_get(fld_template_title(t), ctx->lang));
    }
    fld_template_free(t);
    return FLD_OK;
}

int cmd_templates(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct listing l = {ctx, NULL};
    int rc;

    if ((rc = cmd_parse_and_open(ctx, argc, argv, NULL, NULL, NULL)) != FLD_OK)
        return rc;
    if (ctx->json)
        l.arr = fld_json_array();
    rc = fld_store_each_template(ctx->st, template_row, &l, &ctx->err);
    if (rc == FLD_OK && l.arr)
        rc = cmd_print_json(ctx, l.arr);
    fld_json_free(l.arr);
    return rc;
}
