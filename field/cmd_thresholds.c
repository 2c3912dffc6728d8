/*
 * cmd_thresholds.c - the province's threshold revisions on a device
 * (field/thresholds.h, docs/TEMPLATES.md "Thresholds as data").
 *
 *   field thresholds [list] [--json]
 *   field thresholds draft TEMPLATE [--output FILE]
 *   field thresholds sign FILE [--output FILE]
 *
 * Where it sits: the provincial administrator drafts a revision of a
 * template's thresholds (draft prints one to fill in: every threshold with
 * the value in force), signs it on a device enrolled as admin (sign), and
 * gives the signed file to `field-server thresholds add`, which checks the
 * role and stores it. Every device then receives it when it syncs
 * (sync/catalog.c) and keeps it in its store; list shows what it holds.
 * cmd_load_template() (cmd_context.c) sets the revision in force
 * (cmd_thresholds_in_force) on every template a command evaluates with,
 * so that `field show`, `field review` and the rest decide criteria with
 * the province's values.
 *
 * Decisions:
 *   - "In force" on a device means today: the greatest revision whose
 *     valid_from is not after today's date. The server's report chooses by
 *     its own date and cut-off (server-stub/thresholds.c).
 *   - Signing does not store the revision here: it counts once the server
 *     has accepted it, and comes back with the next sync like everyone
 *     else's, so that no device evaluates with values the server refused.
 *   - The role is the server's to enforce (only an admin's revision is
 *     stored there); refusing here too only says it at once.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "client.h"
#include "cmd.h"
#include "file.h"
#include "hlc.h"

int cmd_thresholds_in_force(struct cmd_ctx *ctx, const char *template_hash,
                            struct fld_thresholds **out)
{
    uint8_t *body, sig[FLD_SIG_LEN];
    size_t len;
    char today[11];
    int rc;

    *out = NULL;
    cmd_today(today);
    rc = fld_store_thresholds_in_force(ctx->st, template_hash, today, &body,
                                       &len, sig, &ctx->err);
    if (rc == FLD_NOTFOUND)
        return FLD_OK;
    if (rc != FLD_OK)
        return rc;
    rc = fld_thresholds_open(body, len, sig, out, &ctx->err);
    free(body);
    if (rc == FLD_OK)
        return FLD_OK;
    fld_err_prefix(&ctx->err, "a stored threshold revision of template %.16s",
                   template_hash);
    return ctx->err.code = FLD_ECORRUPT;
}

/* ---- list ---------------------------------------------------------------- */

struct listing {
    struct cmd_ctx *ctx;
    struct fld_json *arr; /* --json */
};

/* One stored revision; its source is in the signed body, read verified. */
static int list_row(void *data, const struct fld_store_thresholds_row *row)
{
    struct listing *l = data;
    struct cmd_ctx *ctx = l->ctx;
    struct fld_thresholds *r = NULL, *now = NULL;
    bool en = ctx->lang == FLD_LANG_EN, in_force;
    int rc;

    rc = fld_thresholds_open(row->body, row->body_len, row->sig, &r, &ctx->err);
    if (rc != FLD_OK) {
        fld_err_prefix(&ctx->err, "stored threshold revision %.16s", row->hash);
        return ctx->err.code = FLD_ECORRUPT;
    }
    rc = cmd_thresholds_in_force(ctx, row->template_hash, &now);
    in_force = now != NULL && strcmp(now->hash, row->hash) == 0;
    fld_thresholds_free(now);
    if (rc == FLD_OK && l->arr != NULL) {
        struct fld_json *o = fld_json_object(), *tmpl = fld_json_object();

        fld_json_set(tmpl, "id", fld_json_string(r->template_id));
        fld_json_set(tmpl, "hash", fld_json_string(r->template_hash));
        fld_json_set(o, "hash", fld_json_string(r->hash));
        fld_json_set(o, "template", tmpl);
        fld_json_set(o, "revision", fld_json_int(r->revision));
        fld_json_set(o, "valid_from", fld_json_string(r->valid_from));
        fld_json_set(o, "source", fld_json_string(r->source));
        fld_json_set(o, "author", fld_json_string(r->author));
        fld_json_set(o, "issued_ms", fld_json_int(r->issued_ms));
        fld_json_set(o, "thresholds", fld_json_int((int64_t)r->thresholds->n));
        fld_json_set(o, "in_force", fld_json_bool(in_force));
        fld_json_append(l->arr, o);
    } else if (rc == FLD_OK) {
        printf("%-22s %s %lld, %s %s%s\n  %s\n  %zu %s, %s %.16s\n",
               r->template_id, en ? "revision" : "bản", (long long)r->revision,
               en ? "valid from" : "hiệu lực từ", r->valid_from,
               in_force ? (en ? " [in force]" : " [đang áp dụng]") : "",
               r->source, r->thresholds->n, en ? "thresholds" : "ngưỡng",
               en ? "signed by device" : "ký bởi thiết bị", r->author);
    }
    fld_thresholds_free(r);
    return rc;
}

static int thresholds_list(struct cmd_ctx *ctx)
{
    struct listing l;
    int rc;

    memset(&l, 0, sizeof l);
    l.ctx = ctx;
    if (ctx->json)
        l.arr = fld_json_array();
    rc = fld_store_each_thresholds(ctx->st, list_row, &l, &ctx->err);
    if (rc == FLD_OK && l.arr)
        rc = cmd_print_json(ctx, l.arr);
    fld_json_free(l.arr);
    return rc;
}

/* ---- draft --------------------------------------------------------------- */

/* A JSON value as canonical text (strings escaped), appended to b. */
static void put_json(struct fld_buf *b, const struct fld_json *v)
{
    (void)fld_json_write(v, b, NULL); /* read from a template: writable */
}

static void put_string(struct fld_buf *b, const char *s)
{
    struct fld_json *v = fld_json_string(s);

    put_json(b, v);
    fld_json_free(v);
}

/* One threshold of the draft, with the value in force: a table one key a
 * line, so that a person fills it in with a text editor. */
static void put_threshold(struct fld_buf *b, const struct fld_threshold *th,
                          bool last)
{
    size_t i;

    fld_buf_puts(b, "    ");
    put_string(b, th->name);
    if (th->n_by == 0) {
        fld_buf_puts(b, ": {\"value\": ");
        if (th->value != NULL)
            put_json(b, th->value);
        else
            fld_buf_puts(b, "null");
        fld_buf_puts(b, last ? "}\n" : "},\n");
        return;
    }
    fld_buf_puts(b, ": {\"values\": {\n");
    for (i = 0; th->values != NULL && i < th->values->n; i++) {
        fld_buf_puts(b, "      ");
        put_string(b, th->values->members[i].key);
        fld_buf_puts(b, ": ");
        put_json(b, th->values->members[i].value);
        fld_buf_puts(b, i + 1 < th->values->n ? ",\n" : "\n");
    }
    fld_buf_puts(b, last ? "    }}\n" : "    }},\n");
}

struct newest {
    const char *template_hash;
    int64_t revision;
};

static int newest_revision(void *data,
                           const struct fld_store_thresholds_row *row)
{
    struct newest *n = data;

    if (strcmp(row->template_hash, n->template_hash) == 0 &&
        row->revision > n->revision)
        n->revision = row->revision;
    return FLD_OK;
}

/* Every threshold of the template with the value in force today, the next
 * revision number this device knows of, today's date: what an
 * administrator edits into the province's decision before signing it. */
static int thresholds_draft(struct cmd_ctx *ctx, const char *template,
                            const char *output)
{
    const struct fld_template *t = NULL;
    struct fld_buf b = FLD_BUF_INIT;
    struct newest newest = {NULL, 0};
    char today[11];
    size_t i, n;
    int rc;

    if ((rc = cmd_load_template(ctx, template, &t)) != FLD_OK)
        return rc;
    newest.template_hash = fld_template_hash(t);
    rc =
        fld_store_each_thresholds(ctx->st, newest_revision, &newest, &ctx->err);
    if (rc != FLD_OK)
        goto out;
    n = fld_template_n_thresholds(t);
    if (n == 0) {
        rc = fld_err_set(&ctx->err, FLD_EINVAL, "template %s has no thresholds",
                         fld_template_id(t));
        goto out;
    }
    cmd_today(today);
    fld_buf_puts(&b, "{\n  \"template\": {\"id\": ");
    put_string(&b, fld_template_id(t));
    fld_buf_printf(&b, ", \"hash\": \"%s\"},\n", fld_template_hash(t));
    fld_buf_printf(&b, "  \"revision\": %lld,\n",
                   (long long)newest.revision + 1);
    fld_buf_printf(&b, "  \"valid_from\": \"%s\",\n", today);
    fld_buf_puts(&b, "  \"source\": \"\",\n  \"thresholds\": {\n");
    for (i = 0; i < n; i++)
        put_threshold(&b, fld_template_threshold_at(t, i), i + 1 == n);
    fld_buf_puts(&b, "  }\n}\n");
    if (output != NULL)
        rc = fld_file_write(output, b.data, b.len, 0644, FLD_FILE_NEW,
                            &ctx->err);
    else
        fwrite(b.data, 1, b.len, stdout);
out:
    fld_buf_free(&b);
    return rc;
}

/* ---- sign ---------------------------------------------------------------- */

/* Only an administrator's revision is accepted by the server: say so now
 * rather than when it refuses. */
static int need_admin(struct cmd_ctx *ctx)
{
    char *role = NULL;
    int rc = fld_store_meta_get(ctx->st, SYN_META_ROLE, &role, &ctx->err);

    if (rc == FLD_NOTFOUND || (rc == FLD_OK && strcmp(role, "admin") != 0))
        rc = fld_err_set(&ctx->err, FLD_EINVAL,
                         "thiết bị này không được đăng ký với vai trò quản trị "
                         "(admin) — only a device enrolled as admin signs "
                         "thresholds (this one: %s)",
                         rc == FLD_OK && role[0] ? role : "not enrolled");
    free(role);
    return rc;
}

static int thresholds_sign(struct cmd_ctx *ctx, const char *path,
                           const char *output)
{
    struct fld_json *draft = NULL;
    const struct fld_template *t = NULL;
    struct fld_thresholds *r = NULL;
    struct fld_buf b = FLD_BUF_INIT;
    const char *name;
    int64_t offset = 0;
    uint8_t *data = NULL;
    size_t len;
    int rc;

    if ((rc = need_admin(ctx)) != FLD_OK)
        return rc;
    rc = cmd_read_file(ctx, path, FLD_THRESHOLDS_MAX_FILE, &data, &len);
    if (rc == FLD_OK)
        rc = fld_json_parse(data, len, &draft, &ctx->err);
    if (rc != FLD_OK)
        goto out;
    if ((name = fld_thresholds_draft_template(draft)) == NULL) {
        rc = fld_err_set(&ctx->err, FLD_EINVAL,
                         "template: name the template (its id or hash)");
        goto out;
    }
    if ((rc = cmd_load_template(ctx, name, &t)) != FLD_OK)
        goto out;
    if ((rc = cmd_load_key(ctx)) != FLD_OK)
        goto out;
    rc = fld_store_meta_get_int(ctx->st, FLD_META_OFFSET, &offset, NULL);
    if (rc != FLD_OK)
        offset = 0;
    rc = fld_thresholds_sign(draft, t, ctx->key, fld_now_ms() + offset, &r,
                             &ctx->err);
    if (rc != FLD_OK)
        goto out;
    fld_thresholds_write(r, &b);
    if (output == NULL) {
        fwrite(b.data, 1, b.len, stdout);
    } else if ((rc = fld_file_write(output, b.data, b.len, 0644, FLD_FILE_NEW,
                                    &ctx->err)) == FLD_OK) {
        printf("Đã ký bản %lld ngưỡng của %s (hiệu lực từ %s): %s\n"
               "Signed revision %lld of %s's thresholds (valid from %s): %s\n"
               "Gửi lên máy chủ / give it to the server: field-server "
               "thresholds add %s\n",
               (long long)r->revision, r->template_id, r->valid_from, output,
               (long long)r->revision, r->template_id, r->valid_from, output,
               output);
    }
out:
    if (rc != FLD_OK && rc != FLD_EPASS && data != NULL)
        fld_err_prefix(&ctx->err, "%s", path);
    fld_buf_free(&b);
    fld_thresholds_free(r);
    fld_json_free(draft);
    free(data);
    return rc;
}

/* ---- the command --------------------------------------------------------- */

enum { OPT_OUTPUT = 1 };

static int on_option(struct cmd_ctx *ctx, int opt, const char *arg, void *data)
{
    (void)ctx;
    if (opt == OPT_OUTPUT)
        *(const char **)data = arg;
    return FLD_OK;
}

/*
 * field thresholds [list] [--json]
 * field thresholds draft TEMPLATE [--output FILE]
 * field thresholds sign FILE [--output FILE]
 */
int cmd_thresholds(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"output", required_argument, NULL, OPT_OUTPUT}, {NULL, 0, NULL, 0}};
    const char *output = NULL, *sub;
    int rc, first;

    rc = cmd_parse(ctx, argc, argv, extra, on_option, &output, &first);
    if (rc != FLD_OK)
        return rc;
    sub = first < argc ? argv[first] : "list";
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        return rc;
    if (strcmp(sub, "list") == 0 && argc - first <= 1 && output == NULL)
        return thresholds_list(ctx);
    if (strcmp(sub, "draft") == 0 && argc - first == 2)
        return thresholds_draft(ctx, argv[first + 1], output);
    if (strcmp(sub, "sign") == 0 && argc - first == 2)
        return thresholds_sign(ctx, argv[first + 1], output);
    return fld_err_set(&ctx->err, FLD_EUSAGE,
                       "usage: field thresholds [list] | draft TEMPLATE "
                       "[--output FILE] | sign FILE [--output FILE]");
}
