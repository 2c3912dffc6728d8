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

/*
 * Apply NAME=VALUE arguments to answers: each value is checked against its
 * question and normalised; a blank value removes the answer. Stops at the
 * first refusal, naming the question.
 */
static int apply(struct cmd_ctx *ctx, const struct fld_template *t,
                 struct fld_json *answers, int argc, char **argv)
{
    int i, rc;

    for (i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        const struct fld_question *q;
        struct fld_json *value;
        char *name;

        if (eq == NULL || eq == argv[i])
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "expected NAME=VALUE, got '%s'", argv[i]);
        name = fld_xstrndup(argv[i], (size_t)(eq - argv[i]));
        q = fld_template_question(t, name);
        if (q == NULL) {
            rc = fld_err_set(&ctx->err, FLD_NOTFOUND,
                             "template %s has no question '%s'",
                             fld_template_id(t), name);
            free(name);
            return rc;
        }
        free(name);
        if ((rc = fld_template_answer(q, eq + 1, &value, &ctx->err)) != FLD_OK)
            return rc;
        if (value == NULL)
            fld_json_remove(answers, q->name);
        else
            fld_json_set(answers, q->name, value);
    }
    return FLD_OK;
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
        printf("%s record %.12s: version %.16s (%s)\n", what, v->record, v->hash,
               v->status);
    }
}

/* Subjects are unit codes: 1..64 printable ASCII characters, no spaces. */
static int check_subject(struct cmd_ctx *ctx, const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (s[i] <= ' ' || s[i] > '~' || i >= 64)
            break;
    if (i == 0 || s[i] != '\0')
        return fld_err_set(&ctx->err, FLD_EINVAL,
                           "--subject '%s' is not a unit code (1 to 64 letters, "
                           "digits or signs, no spaces)", s);
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

int cmd_new(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"subject", required_argument, NULL, OPT_SUBJECT}, {NULL, 0, NULL, 0}};
    const char *subject = NULL;
    struct fld_template *t = NULL;
    struct fld_json *answers = fld_json_object();
    struct fld_version *v = NULL;
    int rc, first;

    if ((rc = cmd_parse(ctx, argc, argv, extra, on_subject, &subject, &first)))
        goto out;
    if (first >= argc || subject == NULL) {
        rc = fld_err_set(&ctx->err, FLD_EUSAGE,
                         "need a template and --subject; see 'field new --help'");
        goto out;
    }
    if ((rc = check_subject(ctx, subject)) || (rc = cmd_open_store(ctx)) ||
        (rc = cmd_load_template(ctx, argv[first], &t)) ||
        (rc = apply(ctx, t, answers, argc - first - 1, argv + first + 1)) ||
        (rc = cmd_load_key(ctx)) ||
        (rc = fld_capture_new(ctx->st, ctx->key, t, subject, answers, &v,
                              &ctx->err)))
        goto out;
    report_version(ctx, v, NULL);
out:
    fld_version_free(v);
    fld_json_free(answers);
    fld_template_free(t);
    return rc;
}

/* The record named by argv[first], its current version and template. */
static int open_record(struct cmd_ctx *ctx, int argc, char **argv, int first,
                       struct fld_version **head, struct fld_template **t)
{
    char record[FLD_RECORD_HEX_LEN + 1];
    int rc;

    *head = NULL;
    *t = NULL;
    if (first >= argc)
        return fld_err_set(&ctx->err, FLD_EUSAGE, "which record? see 'field %s --help'",
                           ctx->cmd->name);
    if ((rc = cmd_open_store(ctx)) || (rc = cmd_find_record(ctx, argv[first], record)) ||
        (rc = fld_capture_head(ctx->st, record, head, &ctx->err)) ||
        (rc = cmd_load_template(ctx, (*head)->template_hash, t)))
        return rc;
    if (strcmp((*head)->status, "approved") == 0 ||
        strcmp((*head)->status, "rejected") == 0)
        return fld_err_set(&ctx->err, FLD_EINVAL, "record %.12s is %s; it is closed",
                           record, (*head)->status);
    return FLD_OK;
}

static int save(struct cmd_ctx *ctx, const struct fld_version *head,
                const struct fld_json *answers, const char *status,
                const char *what)
{
    struct fld_version *v = NULL;
    int rc;

    if ((rc = cmd_load_key(ctx)) != FLD_OK)
        return rc;
    rc = fld_capture_save(ctx->st, ctx->key, head, answers, status, &v, &ctx->err);
    if (rc == FLD_EXISTS && strcmp(status, head->status) == 0) {
        if (!ctx->json)
            printf("Nothing changed; no version written.\n");
        else
            report_version(ctx, head, NULL);
        return FLD_OK;
    }
    if (rc == FLD_OK)
        report_version(ctx, v, what);
    fld_version_free(v);
    return rc;
}

static int check_complete(struct cmd_ctx *ctx, const struct fld_template *t,
                          const struct fld_json *answers);

/*
 * A final record stays final when it is corrected, so a correction may not
 * leave a required question blank.
 */
int cmd_set(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct fld_version *head = NULL;
    struct fld_template *t = NULL;
    struct fld_json *answers = NULL;
    int rc, first;

    if ((rc = cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)) ||
        (rc = open_record(ctx, argc, argv, first, &head, &t)))
        goto out;
    if (first + 1 >= argc) {
        rc = fld_err_set(&ctx->err, FLD_EUSAGE, "nothing to set: give NAME=VALUE");
        goto out;
    }
    answers = fld_json_clone(head->answers);
    if ((rc = apply(ctx, t, answers, argc - first - 1, argv + first + 1)) ||
        (strcmp(head->status, "final") == 0 &&
         (rc = check_complete(ctx, t, answers))))
        goto out;
    rc = save(ctx, head, answers, head->status, "Saved");
out:
    fld_json_free(answers);
    fld_template_free(t);
    fld_version_free(head);
    return rc;
}

/* Every relevant required question must be answered before "final". */
static int check_complete(struct cmd_ctx *ctx, const struct fld_template *t,
                          const struct fld_json *answers)
{
    size_t i, n = fld_template_n_questions(t), missing = 0;
    struct fld_buf names = FLD_BUF_INIT;
    int rc = FLD_OK;

    for (i = 0; i < n; i++) {
        const struct fld_question *q = fld_template_question_at(t, i);

        if (!q->required || q->type == FLD_Q_NOTE || fld_json_get(answers, q->name))
            continue;
        fprintf(stderr, "  - %s (%s): required, not answered\n",
                fld_text_get(&q->label, ctx->lang), q->name);
        fld_buf_printf(&names, "%s%s", missing++ ? ", " : "", q->name);
    }
    if (missing > 0)
        rc = fld_err_set(&ctx->err, FLD_EINVAL,
                         "%s: %zu required question%s unanswered: %s",
                         strcmp(ctx->cmd->name, "set") == 0
                             ? "a final record must stay complete"
                             : "cannot finalize",
                         missing, missing == 1 ? "" : "s", fld_buf_str(&names));
    fld_buf_free(&names);
    return rc;
}

int cmd_finalize(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct fld_version *head = NULL;
    struct fld_template *t = NULL;
    int rc, first;

    if ((rc = cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)) ||
        (rc = open_record(ctx, argc, argv, first, &head, &t)))
        goto out;
    if (first + 1 < argc) {
        rc = fld_err_set(&ctx->err, FLD_EUSAGE, "unexpected argument '%s'",
                         argv[first + 1]);
        goto out;
    }
    if (strcmp(head->status, "final") == 0) {
        rc = fld_err_set(&ctx->err, FLD_EXISTS, "record %.12s is already final",
                         head->record);
        goto out;
    }
    if ((rc = check_complete(ctx, t, head->answers)) == FLD_OK)
        rc = save(ctx, head, head->answers, "final", "Finalized");
out:
    fld_template_free(t);
    fld_version_free(head);
    return rc;
}
