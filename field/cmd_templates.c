/*
 * cmd_templates.c - the checklist templates of this device.
 *
 *   field templates [--json] [--lang vi|en]   installed templates
 *   field template check FILE...              every problem of a template
 *   field template add FILE                   install a template
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct fld_template *t;
    const struct fld_criteria_set *set;
    int rc = fld_template_parse(body, len, &t, &ctx->err);

    (void)added_ms;
    if (rc != FLD_OK)
        return fld_err_set(&ctx->err, FLD_ECORRUPT, "installed template %s: %s",
                           id, ctx->err.msg);
    set = fld_template_criteria_set(t);
    if (l->arr != NULL) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "id", fld_json_string(id));
        fld_json_set(o, "version", fld_json_string(fld_template_version(t)));
        fld_json_set(o, "hash", fld_json_string(hash));
        fld_json_set(
            o, "title",
            fld_json_string(fld_text_get(fld_template_title(t), ctx->lang)));
        fld_json_set(o, "questions",
                     fld_json_int((int64_t)fld_template_n_questions(t)));
        fld_json_set(o, "criteria",
                     fld_json_int((int64_t)fld_template_n_criteria(t)));
        if (set->name.vi) {
            fld_json_set(o, "criteria_set",
                         fld_json_string(fld_text_get(&set->name, ctx->lang)));
            fld_json_set(o, "verified", fld_json_bool(set->verified));
        }
        fld_json_append(l->arr, o);
    } else {
        printf("%-22s %-8s %.12s  %3zu questions  %2zu criteria  %s\n", id,
               fld_template_version(t), hash, fld_template_n_questions(t),
               fld_template_n_criteria(t),
               fld_text_get(fld_template_title(t), ctx->lang));
        if (set->name.vi)
            printf("%22s %s%s%s%s\n", "", fld_text_get(&set->name, ctx->lang),
                   set->version ? " (" : "", set->version ? set->version : "",
                   set->version ? ")" : "");
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

struct check {
    const char *path;
    size_t n;
};

static void print_problem(void *data, const char *problem)
{
    struct check *c = data;

    c->n++;
    printf("%s: %s\n", c->path, problem);
}

/* Every problem of each file, on standard output, one per line. */
static int template_check(struct cmd_ctx *ctx, int argc, char **argv)
{
    size_t total = 0;
    int i, rc;

    for (i = 0; i < argc; i++) {
        struct check c = {argv[i], 0};
        uint8_t *data;
        size_t len;

        if ((rc = cmd_read_file(ctx, argv[i], FLD_TEMPLATE_MAX_BYTES, &data,
                                &len)))
            return rc;
        fld_template_check(data, len, print_problem, &c);
        free(data);
        if (c.n == 0)
            printf("%s: ok\n", argv[i]);
        total += c.n;
    }
    if (total > 0)
        return fld_err_set(&ctx->err, FLD_EINVAL, "%zu problem%s found", total,
                           total == 1 ? "" : "s");
    return FLD_OK;
}

/* An installed template that template_add's candidate would shadow. */
struct clash {
    struct cmd_ctx *ctx;
    const struct fld_template *t;    /* the candidate */
    char hash[FLD_HASH_HEX_LEN + 1]; /* the installed one's, "" if none */
};

static int find_clash(void *data, const char *hash, const char *id,
                      const uint8_t *body, size_t len, int64_t added_ms)
{
    struct clash *c = data;
    struct fld_template *old;
    struct fld_err e;

    (void)added_ms;
    if (c->hash[0] != '\0' || strcmp(id, fld_template_id(c->t)) != 0 ||
        strcmp(hash, fld_template_hash(c->t)) == 0)
        return FLD_OK;
    if (fld_template_parse(body, len, &old, &e) != FLD_OK)
        return FLD_OK; /* field verify reports an unreadable template */
    if (strcmp(fld_template_version(old), fld_template_version(c->t)) == 0)
        snprintf(c->hash, sizeof c->hash, "%s", hash);
    fld_template_free(old);
    return FLD_OK;
}

/*
 * A template is named by its id and version in every form, report and
 * conversation; versions name it by hash. Two different templates under
 * one id and version (a built-in one re-edited locally, say) would make
 * `field new ID` pick one silently and the people reading the result
 * believe it was the other. So a changed template must carry a new
 * version: the same id and version with other content is refused here.
 */
static int template_add(struct cmd_ctx *ctx, const char *path)
{
    struct clash c = {ctx, NULL, ""};
    struct fld_template *t = NULL;
    const uint8_t *canon;
    uint8_t *data;
    size_t len;
    int rc;

    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        return rc;
    rc = cmd_read_file(ctx, path, FLD_TEMPLATE_MAX_BYTES, &data, &len);
    if (rc != FLD_OK)
        return rc;
    rc = fld_template_parse(data, len, &t, &ctx->err);
    free(data);
    if (rc != FLD_OK)
        return fld_err_prefix(&ctx->err, "%s", path);
    c.t = t;
    rc = fld_store_each_template(ctx->st, find_clash, &c, &ctx->err);
    if (rc == FLD_OK && c.hash[0] != '\0')
        rc = fld_err_set(&ctx->err, FLD_EXISTS,
                         "%s: template %s version %s is already installed with "
                         "other content (%.12s); give the changed template a "
                         "new \"version\"",
                         path, fld_template_id(t), fld_template_version(t),
                         c.hash);
    if (rc != FLD_OK) {
        fld_template_free(t);
        return rc;
    }
    canon = fld_template_canonical(t, &len);
    rc = fld_store_template_put(ctx->st, fld_template_hash(t),
                                fld_template_id(t), canon, len, &ctx->err);
    if (rc == FLD_OK)
        printf("Installed %s %s (%.12s)\n", fld_template_id(t),
               fld_template_version(t), fld_template_hash(t));
    fld_template_free(t);
    return rc;
}

int cmd_template(struct cmd_ctx *ctx, int argc, char **argv)
{
    int rc, first;

    if ((rc = cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)))
        return rc;
    if (first < argc && strcmp(argv[first], "check") == 0 && first + 1 < argc)
        return template_check(ctx, argc - first - 1, argv + first + 1);
    if (first < argc && strcmp(argv[first], "add") == 0 && first + 2 == argc)
        return template_add(ctx, argv[first + 1]);
    return fld_err_set(
        &ctx->err, FLD_EUSAGE,
        "usage: field template check FILE... | field template add FILE");
}
