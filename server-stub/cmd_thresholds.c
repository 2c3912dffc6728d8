/*
 * cmd_thresholds.c - the province's threshold revisions on the server:
 * `thresholds` lists them, `thresholds add` accepts a signed one.
 *
 *   field-server thresholds [list] [--json]
 *   field-server thresholds add SIGNED.json
 *
 * An administrator signs a revision on a device enrolled as admin (`field
 * thresholds sign`) and the server's operator adds the file here; every
 * device gets it with its next sync (GET /v1/thresholds?after=SEQ), and
 * the province's report evaluates with it. What makes a revision
 * acceptable (the signature, the author's role, the template, the values,
 * a greater revision number) is decided by thresholds.c; this file reads
 * the file, runs it in one transaction and prints.
 */
#include "command.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hlc.h"
#include "thresholds.h"

static void add_row_json(cJSON *arr, const struct srv_thresholds_row *row,
                         const struct fld_thresholds *r)
{
    cJSON *o = cJSON_CreateObject(), *tmpl = cJSON_CreateObject();

    if (o == NULL || tmpl == NULL ||
        !cJSON_AddNumberToObject(o, "seq", (double)row->seq) ||
        !cJSON_AddStringToObject(o, "hash", row->hash) ||
        !cJSON_AddStringToObject(tmpl, "id", row->template_id) ||
        !cJSON_AddStringToObject(tmpl, "hash", row->template_hash) ||
        !cJSON_AddItemToObject(o, "template", tmpl) ||
        !cJSON_AddNumberToObject(o, "revision", (double)row->revision) ||
        !cJSON_AddStringToObject(o, "valid_from", row->valid_from) ||
        !cJSON_AddStringToObject(o, "source", r->source) ||
        !cJSON_AddStringToObject(o, "author", row->author) ||
        !cJSON_AddNumberToObject(o, "issued_ms", (double)r->issued_ms) ||
        !cJSON_AddNumberToObject(o, "received_ms", (double)row->received_ms))
        abort(); /* out of memory */
    cJSON_AddItemToArray(arr, o);
}

struct listing {
    cJSON *arr; /* --json */
    struct fld_err *err;
};

/* One stored revision; its source is in the signed body, read verified. */
static int print_row(void *ctx, const struct srv_thresholds_row *row)
{
    struct listing *l = ctx;
    struct fld_thresholds *r = NULL;
    char when[32];

    if (fld_thresholds_open(row->body, row->body_len, row->sig, &r, l->err) !=
        FLD_OK) {
        fld_err_prefix(l->err, "stored threshold revision %" PRId64, row->seq);
        return l->err->code = FLD_ECORRUPT;
    }
    if (l->arr != NULL) {
        add_row_json(l->arr, row, r);
    } else {
        srv_cmd_format_time(row->received_ms, when);
        printf("%-4" PRId64 " %-22s bản/revision %-3" PRId64
               " hiệu lực từ/valid from %s  nhận/received %s\n"
               "     %s\n     ký bởi/signed by %.16s\n",
               row->seq, row->template_id, row->revision, row->valid_from, when,
               r->source, row->author);
    }
    fld_thresholds_free(r);
    return FLD_OK;
}

static int walk_thresholds(struct srv_storage *st, cJSON *arr,
                           struct fld_err *err)
{
    struct listing l = {arr, err};

    return srv_storage_thresholds_each(st, 0, NULL, 0, print_row, &l, err);
}

/* Read, verify and store one signed revision, in one transaction. */
static int thresholds_add(struct srv_cmd_ctx *ctx, const char *path)
{
    struct fld_err *err = &ctx->err;
    struct fld_thresholds *r = NULL;
    uint8_t *data = NULL;
    size_t len;
    int64_t seq;
    int rc;

    rc = srv_cmd_read_file(ctx, path, FLD_THRESHOLDS_MAX_FILE, &data, &len);
    if (rc != FLD_OK)
        return rc;
    if ((rc = srv_cmd_open(ctx)) != FLD_OK)
        goto out;
    if ((rc = srv_storage_begin(ctx->st, err)) != FLD_OK)
        goto out;
    rc = srv_thresholds_add(ctx->st, data, len, fld_now_ms(), &r, &seq, err);
    if (rc != FLD_OK)
        fld_err_prefix(err, "%s", path);
    if ((rc = srv_cmd_end(ctx->st, rc, err)) == FLD_OK)
        printf("Đã nhận / added: %s bản/revision %" PRId64
               ", hiệu lực từ/valid from %s (seq %" PRId64 ")\n  %s\n",
               r->template_id, r->revision, r->valid_from, seq, r->source);
out:
    fld_thresholds_free(r);
    free(data);
    return rc;
}

/*
 * field-server thresholds [list] [--json]
 * field-server thresholds add SIGNED.json
 *
 * List the stored revisions in server order, or verify and store one.
 */
int srv_cmd_thresholds(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    const char *sub;
    int rc, first;

    if ((rc = srv_cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)) !=
        FLD_OK)
        return rc;
    sub = first < argc ? argv[first] : "list";
    if (strcmp(sub, "list") == 0)
        return srv_cmd_list(ctx, argc, first, "thresholds", walk_thresholds);
    if (strcmp(sub, "add") == 0 && argc - first == 2)
        return thresholds_add(ctx, argv[first + 1]);
    if (strcmp(sub, "add") == 0)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "usage: thresholds add SIGNED.json");
    return fld_err_set(&ctx->err, FLD_EUSAGE,
                       "unknown subcommand \"%s\" (list, add)", sub);
}
