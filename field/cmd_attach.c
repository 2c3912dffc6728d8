/*
 * cmd_attach.c - `field attach [--limit MB] [--json] RECORD QUESTION
 * FILE...`: evidence photos. The files are checked (JPEG or PNG, whole,
 * within the limit), copied under their hash into the data directory, and
 * ONE signed version answers QUESTION with them; its "attachments" member
 * (capture.c) signs each photo's size, type, time and place. Files and
 * version are one transaction: on any refusal no version and no row is
 * written (a file already copied stays, unreferenced and harmless).
 *
 * QUESTION is addressed as `field set` addresses answers (edit.h):
 *
 *   NAME              a photo question outside repeat groups: one file
 *   GROUP[ID].NAME    the photo of an existing item: one file
 *   GROUP[+].NAME     one new item per file, each answering NAME with its
 *                     photo (the other questions of the items are left
 *                     for `field set`)
 *
 * Several files for a question that takes one photo are refused rather
 * than keeping only the last: a photo quietly dropped is evidence lost.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"
#include "cmd.h"
#include "merge.h"

/* The most files one call attaches: a version names at most
 * FLD_ATTACH_MAX_PER_VERSION attachments. */
#define ATTACH_MAX_FILES 100

enum { OPT_LIMIT = 1 };

static int on_limit(struct cmd_ctx *ctx, int opt, const char *arg, void *data)
{
    int64_t *limit = data;
    char *end;
    double mb = strtod(arg, &end);

    (void)opt;
    if (end == arg || *end != '\0' || !(mb > 0) ||
        mb * 1024 * 1024 > (double)FLD_ATTACH_MAX_BYTES)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "--limit '%s' is not a size in MB (more than 0, "
                           "at most %lld)",
                           arg, (long long)(FLD_ATTACH_MAX_BYTES >> 20));
    *limit = (int64_t)(mb * 1024 * 1024);
    return FLD_OK;
}

int cmd_add_photo(struct cmd_ctx *ctx, const char *path, int64_t limit,
                  struct fld_attachment *a)
{
    int rc = fld_store_begin(ctx->st, &ctx->err);

    if (rc != FLD_OK)
        return rc;
    rc = fld_attachment_add(ctx->st, ctx->home, path, limit, a, &ctx->err);
    if (rc == FLD_OK)
        return fld_store_commit(ctx->st, &ctx->err);
    fld_store_rollback(ctx->st);
    return rc;
}

/*
 * Check QUESTION against the template: a photo question, addressed as its
 * place requires. *new_items: GROUP[+].NAME, one new item per file.
 */
static int check_question(struct cmd_ctx *ctx, const struct fld_template *t,
                          const char *question, size_t n_files, bool *new_items)
{
    const char *dot = strrchr(question, '.');
    const char *name = dot && strchr(question, '[') ? dot + 1 : question;
    const struct fld_question *q = fld_template_question(t, name);
    const struct fld_section *sec;

    *new_items = false;
    if (q == NULL || q->section == FLD_NO_SECTION)
        return fld_err_set(&ctx->err, FLD_NOTFOUND,
                           "no question %s in template %s", name,
                           fld_template_id(t));
    if (q->type != FLD_Q_PHOTO)
        return fld_err_set(&ctx->err, FLD_EINVAL,
                           "question %s is a %s question, not a photo question",
                           name, fld_qtype_name(q->type));
    sec = fld_template_section(t, q->section);
    if (sec->is_repeat && name == question)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "question %s is in repeat group %s: give %s[+].%s "
                           "(new items) or %s[ID].%s",
                           name, sec->name, sec->name, name, sec->name, name);
    if (!sec->is_repeat && name != question)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "question %s is not in a repeat group: give %s",
                           name, name);
    *new_items = name != question && strstr(question, "[+].") != NULL &&
                 strncmp(question, sec->name, strlen(sec->name)) == 0;
    if (n_files > 1 && !*new_items)
        return fld_err_set(
            &ctx->err, FLD_EUSAGE, "%s takes one photo: give one file%s",
            question,
            sec->is_repeat ? " (or several into new items with GROUP[+].NAME)"
                           : "");
    return FLD_OK;
}

/* The assignments that answer QUESTION with the hashes. */
static char **assignments(const char *question, bool new_items,
                          const struct fld_attachment *a, size_t n)
{
    char **v = fld_xcalloc(n, sizeof *v);
    size_t i;

    for (i = 0; i < n; i++) {
        if (new_items) /* checked: GROUP[+].NAME */
            v[i] = fld_xasprintf(
                "%.*s[+%zu].%s=%s", (int)(strchr(question, '[') - question),
                question, i + 1, strrchr(question, '.') + 1, a[i].hash);
        else
            v[i] = fld_xasprintf("%s=%s", question, a[i].hash);
    }
    return v;
}

struct fld_json *cmd_attachment_json(const struct fld_attachment *a)
{
    struct fld_json *o = fld_json_object();

    fld_json_set(o, "hash", fld_json_string(a->hash));
    fld_json_set(o, "bytes", fld_json_int(a->bytes));
    fld_json_set(o, "type", fld_json_string(a->type));
    fld_json_set(o, "taken",
                 a->taken[0] ? fld_json_string(a->taken) : fld_json_null());
    fld_json_set(o, "position",
                 a->position[0] ? fld_json_string(a->position)
                                : fld_json_null());
    return o;
}

static void report(struct cmd_ctx *ctx, const struct fld_version *v,
                   const struct fld_attachment *a, size_t n)
{
    size_t i;

    if (ctx->json) {
        struct fld_json *o = fld_json_object(), *l = fld_json_array();

        fld_json_set(o, "record", fld_json_string(v->record));
        fld_json_set(o, "version", fld_json_string(v->hash));
        fld_json_set(o, "dseq", fld_json_int(v->dseq));
        fld_json_set(o, "status", fld_json_string(v->status));
        for (i = 0; i < n; i++)
            fld_json_append(l, cmd_attachment_json(&a[i]));
        fld_json_set(o, "attachments", l);
        cmd_print_json(ctx, o);
        fld_json_free(o);
        return;
    }
    printf("Attached %zu photo%s to record %.12s: version %.16s (%s)\n", n,
           n == 1 ? "" : "s", v->record, v->hash, v->status);
    for (i = 0; i < n; i++)
        printf("  %.12s  %.1f KB  %s  %s  %s\n", a[i].hash,
               (double)a[i].bytes / 1024, a[i].type,
               a[i].taken[0] ? a[i].taken : "-",
               a[i].position[0] ? a[i].position : "-");
}

void cmd_attached_free(struct cmd_attached *x)
{
    free(x->a);
    fld_version_free(x->v);
    cmd_record_free(&x->r);
    memset(x, 0, sizeof *x);
}

int cmd_attach_photos(struct cmd_ctx *ctx, const char *record,
                      const char *question, const char *const *files,
                      size_t n_files, int64_t limit, struct cmd_attached *out)
{
    struct fld_json *answers = NULL;
    const struct syn_merged *m;
    char **assigns = NULL;
    size_t i;
    bool new_items, in_tx = false;
    int rc;

    memset(out, 0, sizeof *out);
    out->stage = CMD_ATTACH_RECORD;
    if ((rc = cmd_record_edit(ctx, record, &out->r)) != FLD_OK)
        goto out;
    m = out->r.merged;
    out->stage = CMD_ATTACH_QUESTION;
    rc = check_question(ctx, out->r.t, question, n_files, &new_items);
    if (rc != FLD_OK)
        goto out;
    out->stage = CMD_ATTACH_SIGN;
    if (ctx->key == NULL) /* `field ui` lends its own */
        rc = cmd_load_key(ctx);
    if (rc != FLD_OK)
        goto out;
    /* the files, then the version that answers with them: all or nothing */
    if ((rc = fld_store_begin(ctx->st, &ctx->err)) != FLD_OK)
        goto out;
    in_tx = true;
    out->stage = CMD_ATTACH_FILE;
    out->a = fld_xcalloc(n_files, sizeof *out->a);
    for (i = 0; i < n_files && rc == FLD_OK; i++)
        rc = fld_attachment_add(ctx->st, ctx->home, files[i], limit, &out->a[i],
                                &ctx->err);
    if (rc != FLD_OK)
        goto out;
    out->n = n_files;
    out->stage = CMD_ATTACH_ANSWER;
    assigns = assignments(question, new_items, out->a, n_files);
    rc = cmd_apply(ctx, out->r.t, m->answers, (int)n_files, assigns, &answers);
    if (rc == FLD_OK && strcmp(m->status, "final") == 0)
        rc = cmd_check_complete(ctx, out->r.t, answers);
    if (rc != FLD_OK)
        goto out;
    out->stage = CMD_ATTACH_SIGN;
    /* as `field set`: nothing to sign is not a failure (out->v stays NULL) */
    if (!(m->n_heads == 1 && fld_json_equal(answers, m->answers)))
        rc = fld_capture_append_heads(ctx->st, ctx->key, m->newest,
                                      (const char *const *)m->heads, m->n_heads,
                                      answers, cmd_edit_status(m->status),
                                      &out->v, &ctx->err);
    if (rc == FLD_OK)
        rc = fld_store_commit(ctx->st, &ctx->err);
    in_tx = false;
out:
    if (in_tx)
        fld_store_rollback(ctx->st);
    for (i = 0; assigns && i < n_files; i++)
        free(assigns[i]);
    free(assigns);
    fld_json_free(answers);
    return rc;
}

int cmd_attach(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"limit", required_argument, NULL, OPT_LIMIT}, {NULL, 0, NULL, 0}};
    int64_t limit = FLD_ATTACH_DEFAULT_LIMIT;
    struct cmd_attached x;
    size_t n_files;
    int rc, first;

    memset(&x, 0, sizeof x);
    if ((rc = cmd_parse(ctx, argc, argv, extra, on_limit, &limit, &first)))
        return rc;
    if (argc - first < 3)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "need RECORD QUESTION FILE...; see 'field attach "
                           "--help'");
    n_files = (size_t)(argc - first - 2);
    if (n_files > ATTACH_MAX_FILES)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "%zu files: attach at most %d in one call", n_files,
                           ATTACH_MAX_FILES);
    rc = cmd_attach_photos(ctx, argv[first], argv[first + 1],
                           (const char *const *)argv + first + 2, n_files,
                           limit, &x);
    if (rc == FLD_OK && x.v == NULL && !ctx->json)
        printf("Nothing changed: %s already has that photo; no version "
               "written.\n",
               argv[first + 1]);
    else if (rc == FLD_OK)
        report(ctx, x.v ? x.v : x.r.merged->newest, x.a, x.n);
    cmd_attached_free(&x);
    return rc;
}
