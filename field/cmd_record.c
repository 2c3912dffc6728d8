/*
 * cmd_record.c - the commands that write: `field new`, `field set` and
 * `field finalize`. Each successful call adds exactly one signed version.
 *
 *   field new TEMPLATE --subject CODE [NAME=VALUE...]
 *   field set RECORD NAME=VALUE...
 *   field finalize RECORD
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"
#include "cmd.h"
#include "edit.h"
#include "form.h"
#include "merge.h"

/*
 * Apply NAME=VALUE arguments to answers (edit.h): each value typed and
 * normalised, then relevance and constraints checked on the result. On
 * success *out is the new answers (caller frees); nothing on failure.
 */
int cmd_apply(struct cmd_ctx *ctx, const struct fld_template *t,
              const struct fld_json *answers, int argc, char **argv,
              struct fld_json **out)
{
    char today[11];

    cmd_today(today);
    return fld_edit_apply(t, answers, argc > 0 ? (size_t)argc : 0, argv, today,
                          ctx->lang, out, &ctx->err);
}

static void report_version(struct cmd_ctx *ctx, const struct fld_version *v,
                           const char *what)
{
    if (ctx->json) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "record", fld_json_string(v->record));
        fld_json_set(o, "version", fld_json_string(v->hash));
        fld_json_set(o, "dseq", fld_json_int(v->dseq));
        fld_json_set(o, "status", fld_json_string(v->status));
        cmd_print_json(ctx, o);
        fld_json_free(o);
    } else if (what == NULL) {
        printf("%s\n", v->record);
    } else {
        printf("%s record %.12s: version %.16s (%s)\n", what, v->record,
               v->hash, v->status);
    }
}

struct unit_seen {
    char name[256];
    char kind[64];
};

static int seen_unit(void *data, const struct fld_unit *u)
{
    struct unit_seen *s = data;

    snprintf(s->name, sizeof s->name, "%s", u->name);
    snprintf(s->kind, sizeof s->kind, "%s", u->kind);
    return FLD_OK;
}

struct kind_seen {
    const struct fld_template *t;
    bool found;
};

static bool kind_inspected(const struct fld_template *t, const char *kind)
{
    size_t i;

    for (i = 0; i < fld_template_n_subject_kinds(t); i++)
        if (strcmp(fld_template_subject_kind(t, i), kind) == 0)
            return true;
    return false;
}

static int any_of_kind(void *data, const struct fld_unit *u)
{
    struct kind_seen *k = data;

    k->found = k->found || kind_inspected(k->t, u->kind);
    return FLD_OK;
}

/*
 * A template that says which kind of unit it inspects gets a subject of
 * that kind, valid today, whenever units of that kind are loaded. (Villages
 * and households are usually not loaded: any code is taken for them.)
 */
int cmd_check_unit(struct cmd_ctx *ctx, const struct fld_template *t,
                   const char *code)
{
    struct unit_seen seen;
    struct kind_seen any = {t, false};
    char today[11];
    int rc;

    if (fld_template_n_subject_kinds(t) == 0)
        return FLD_OK;
    cmd_today(today);
    rc = fld_store_unit_at(ctx->st, code, today, seen_unit, &seen, &ctx->err);
    if (rc == FLD_OK && kind_inspected(t, seen.kind))
        return FLD_OK;
    if (rc == FLD_OK)
        return fld_err_set(&ctx->err, FLD_EINVAL,
                           "unit %s (%s) is a %s; template %s inspects %s",
                           code, seen.name, seen.kind, fld_template_id(t),
                           fld_template_subject_kind(t, 0));
    if (rc != FLD_NOTFOUND)
        return rc;
    rc = fld_store_each_unit(ctx->st, any_of_kind, &any, &ctx->err);
    if (rc != FLD_OK)
        return rc;
    if (!any.found)
        return FLD_OK;
    return fld_err_set(&ctx->err, FLD_NOTFOUND,
                       "no %s %s exists on %s; see 'field units'",
                       fld_template_subject_kind(t, 0), code, today);
}

/* Subjects are unit codes: 1..64 printable ASCII characters, no spaces. */
int cmd_check_subject(struct cmd_ctx *ctx, const char *s)
{
    if (!fld_is_code(s))
        return fld_err_set(
            &ctx->err, FLD_EINVAL,
            "--subject '%s' is not a unit code (1 to 64 letters, "
            "digits or signs, no spaces)",
            s);
    return FLD_OK;
}

enum { OPT_SUBJECT = 1 };

static int on_subject(struct cmd_ctx *ctx, int opt, const char *arg, void *data)
{
    (void)ctx;
    (void)opt;
    *(const char **)data = arg;
    return FLD_OK;
}

/*
 * A template and --subject are both needed. The unit given where an
 * answer goes ("field new ntm-xa-2021 18133", as a new user types it) is
 * told how to write it.
 */
static int check_new_usage(struct cmd_ctx *ctx, int argc, char **argv,
                           int first, const char *subject)
{
    if (first >= argc)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "need a template and --subject; see 'field new "
                           "--help'");
    if (subject != NULL)
        return FLD_OK;
    if (first + 1 < argc && strchr(argv[first + 1], '=') == NULL &&
        fld_is_code(argv[first + 1]))
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "the unit goes after --subject: field new %s "
                           "--subject %s",
                           argv[first], argv[first + 1]);
    return fld_err_set(&ctx->err, FLD_EUSAGE,
                       "need --subject CODE, the unit inspected; see 'field "
                       "new --help'");
}

int cmd_new(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"subject", required_argument, NULL, OPT_SUBJECT}, {NULL, 0, NULL, 0}};
    const char *subject = NULL;
    const struct fld_template *t = NULL;
    struct fld_json *answers = NULL;
    struct fld_version *v = NULL;
    int rc, first;

    if ((rc = cmd_parse(ctx, argc, argv, extra, on_subject, &subject, &first)))
        goto out;
    if ((rc = check_new_usage(ctx, argc, argv, first, subject)) != FLD_OK)
        goto out;
    if ((rc = cmd_check_subject(ctx, subject)) != FLD_OK)
        goto out;
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        goto out;
    if ((rc = cmd_load_template(ctx, argv[first], &t)) != FLD_OK)
        goto out;
    if ((rc = cmd_check_unit(ctx, t, subject)) != FLD_OK)
        goto out;
    rc = cmd_apply(ctx, t, NULL, argc - first - 1, argv + first + 1, &answers);
    if (rc != FLD_OK)
        goto out;
    if ((rc = cmd_load_key(ctx)) != FLD_OK)
        goto out;
    rc = fld_capture_new(ctx->st, ctx->key, t, subject, answers, &v, &ctx->err);
    if (rc != FLD_OK)
        goto out;
    report_version(ctx, v, NULL);
out:
    fld_version_free(v);
    fld_json_free(answers);
    return rc;
}

/*
 * The record named by argv[first], merged. Closed records (approved or
 * rejected) are not edited; records with unresolved conflicts are edited
 * only through `field resolve`, so that nobody settles a conflict without
 * seeing it.
 */
static int open_record(struct cmd_ctx *ctx, int argc, char **argv, int first,
                       struct cmd_record *r)
{
    memset(r, 0, sizeof *r);
    if (first >= argc)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "which record? see 'field %s --help'",
                           ctx->cmd->name);
    return cmd_record_edit(ctx, argv[first], r);
}

int cmd_record_edit(struct cmd_ctx *ctx, const char *prefix,
                    struct cmd_record *r)
{
    const struct syn_merged *m;
    int rc;

    memset(r, 0, sizeof *r);
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        return rc;
    if ((rc = cmd_record_load(ctx, prefix, r)) != FLD_OK)
        return rc;
    m = r->merged;
    if (strcmp(ctx->cmd->name, "resolve") != 0 && m->n_conflicts > 0)
        return fld_err_set(
            &ctx->err, FLD_EINVAL,
            "record %.12s has %zu unresolved conflict%s; see 'field "
            "conflicts %.12s' and settle them with 'field resolve'",
            r->id, m->n_conflicts, m->n_conflicts == 1 ? "" : "s", r->id);
    if (strcmp(m->status, "approved") == 0 ||
        strcmp(m->status, "rejected") == 0)
        return fld_err_set(&ctx->err, FLD_EINVAL,
                           "record %.12s is %s; it is closed", r->id,
                           m->status);
    return FLD_OK;
}

/* For set, resolve and finalize: no options of their own, then RECORD. */
static int parse_and_open_record(struct cmd_ctx *ctx, int argc, char **argv,
                                 int *first, struct cmd_record *r)
{
    int rc;

    if ((rc = cmd_parse(ctx, argc, argv, NULL, NULL, NULL, first)) != FLD_OK)
        return rc;
    return open_record(ctx, argc, argv, *first, r);
}

static int save(struct cmd_ctx *ctx, const struct cmd_record *r,
                const struct fld_json *answers, const char *status,
                const char *what)
{
    struct fld_version *v = NULL;
    int rc;

    if ((rc = cmd_load_key(ctx)) != FLD_OK)
        return rc;
    rc = cmd_record_save(ctx, r, answers, status, &v);
    if (rc == FLD_EXISTS) {
        if (!ctx->json)
            printf("Nothing changed; no version written.\n");
        else
            report_version(ctx, r->merged->newest, NULL);
        return FLD_OK;
    }
    if (rc == FLD_OK)
        report_version(ctx, v, what);
    fld_version_free(v);
    return rc;
}

/*
 * A final record stays final when it is corrected, so a correction may not
 * leave a required question blank.
 */
int cmd_set(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct cmd_record r;
    struct fld_json *answers = NULL;
    int rc, first;

    memset(&r, 0, sizeof r);
    if ((rc = parse_and_open_record(ctx, argc, argv, &first, &r)) != FLD_OK)
        goto out;
    if (first + 1 >= argc) {
        rc = fld_err_set(&ctx->err, FLD_EUSAGE,
                         "nothing to set: give NAME=VALUE");
        goto out;
    }
    rc = cmd_apply(ctx, r.t, r.merged->answers, argc - first - 1,
                   argv + first + 1, &answers);
    if (rc != FLD_OK)
        goto out;
    /* A final record may be corrected, but must stay complete. */
    if (strcmp(r.merged->status, "final") == 0) {
        rc = cmd_check_complete(ctx, r.t, answers);
        if (rc != FLD_OK)
            goto out;
    }
    rc = save(ctx, &r, answers, cmd_edit_status(r.merged->status), "Saved");
out:
    fld_json_free(answers);
    cmd_record_free(&r);
    return rc;
}

/*
 * Settle a record's conflicts: one version whose parents are all its
 * heads, with the merged answers (each conflict's shown value) unless a
 * NAME=VALUE given here says otherwise. An approval outdated by concurrent
 * edits goes back to "final" for a supervisor to review again.
 */
int cmd_resolve(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct cmd_record r;
    struct fld_json *answers = NULL;
    int rc, first;

    memset(&r, 0, sizeof r);
    if ((rc = parse_and_open_record(ctx, argc, argv, &first, &r)) != FLD_OK)
        goto out;
    if (r.merged->n_heads < 2) {
        rc = fld_err_set(&ctx->err, FLD_EXISTS,
                         "record %.12s has no concurrent versions to resolve",
                         r.id);
        goto out;
    }
    /* Signing a decision is a supervisor's, so crossed decisions are
     * settled by a new one, not by whoever resolves the answers. */
    if (fld_status_is_decision(r.merged->status)) {
        rc = fld_err_set(&ctx->err, FLD_EINVAL,
                         "record %.12s has concurrent decisions; a "
                         "supervisor settles them with 'field approve', "
                         "'field reject' or 'field return'",
                         r.id);
        goto out;
    }
    if ((rc = cmd_apply(ctx, r.t, r.merged->answers, argc - first - 1,
                        argv + first + 1, &answers)))
        goto out;
    rc = save(ctx, &r, answers, r.merged->status, "Resolved");
out:
    fld_json_free(answers);
    cmd_record_free(&r);
    return rc;
}

/* Print one problem of a form for a person, on standard error. */
static void print_problem(struct cmd_ctx *ctx, const struct fld_problem *p)
{
    const struct fld_question *q = p->question;
    const char *label = fld_text_get(&q->label, ctx->lang);
    char item[32] = "";

    if (p->item)
        snprintf(item, sizeof item, " [%.8s]", p->item);
    if (p->kind == FLD_PROBLEM_REQUIRED)
        fprintf(stderr, "  - %s (%s)%s: %s\n", label, q->name, item,
                ctx->lang == FLD_LANG_EN ? "required, not answered"
                                         : "bắt buộc, chưa trả lời");
    else if (p->kind == FLD_PROBLEM_CHOICE)
        fprintf(stderr, "  - %s (%s)%s: %s\n", label, q->name, item,
                ctx->lang == FLD_LANG_EN ? "that choice is not offered here"
                                         : "lựa chọn này không áp dụng");
    else if (p->kind == FLD_PROBLEM_CONSTRAINT && q->constraint_message.vi)
        fprintf(stderr, "  - %s (%s)%s: %s\n", label, q->name, item,
                fld_text_get(&q->constraint_message, ctx->lang));
    else
        fprintf(stderr, "  - %s (%s)%s: %s\n", label, q->name, item,
                ctx->lang == FLD_LANG_EN ? "the answer is not accepted"
                                         : "câu trả lời không hợp lệ");
}

/*
 * A final record has every relevant required question answered and every
 * answer within its constraint; each problem is listed, then one line.
 */
int cmd_check_complete(struct cmd_ctx *ctx, const struct fld_template *t,
                       const struct fld_json *answers)
{
    struct fld_buf names = FLD_BUF_INIT;
    struct fld_form *f;
    char today[11];
    size_t i, n;
    int rc;

    cmd_today(today);
    if ((rc = fld_form_check(t, answers, today, &f, &ctx->err)) != FLD_OK)
        return rc;
    n = fld_form_n_problems(f);
    for (i = 0; i < n; i++) {
        const struct fld_problem *p = fld_form_problem(f, i);

        print_problem(ctx, p);
        fld_buf_printf(&names, "%s%s", i ? ", " : "", p->question->name);
    }
    if (n > 0)
        rc = fld_err_set(&ctx->err, FLD_EINVAL, "%s: %zu problem%s: %s",
                         strcmp(ctx->cmd->name, "set") == 0
                             ? "a final record must stay complete"
                             : "cannot finalize",
                         n, n == 1 ? "" : "s", fld_buf_str(&names));
    fld_buf_free(&names);
    fld_form_free(f);
    return rc;
}

int cmd_finalize(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct cmd_record r;
    int rc, first;

    memset(&r, 0, sizeof r);
    if ((rc = parse_and_open_record(ctx, argc, argv, &first, &r)) != FLD_OK)
        goto out;
    if (first + 1 < argc) {
        rc = fld_err_set(&ctx->err, FLD_EUSAGE, "unexpected argument '%s'",
                         argv[first + 1]);
        goto out;
    }
    if (strcmp(r.merged->status, "final") == 0) {
        rc = fld_err_set(&ctx->err, FLD_EXISTS, "record %.12s is already final",
                         r.id);
        goto out;
    }
    if ((rc = cmd_check_complete(ctx, r.t, r.merged->answers)) == FLD_OK)
        rc = save(ctx, &r, r.merged->answers, "final", "Finalized");
out:
    cmd_record_free(&r);
    return rc;
}
