/*
 * cmd_review.c - a supervisor's side of an inspection: the review inbox and
 * the three decisions on a final record.
 *
 *   field review [--json] [--lang vi|en]
 *   field approve [--note TEXT] [--decision-number N --decision-date D]
 *                 RECORD...
 *   field reject --reason TEXT RECORD...
 *   field return --reason TEXT RECORD...
 *
 * Where it sits: an inspector finalizes a record and syncs; the server
 * relays it to the supervisors whose scope holds its unit; here a
 * supervisor reads what waits and decides. Each decision is one signed
 * version on all of the record's heads (capture.h, fld_capture_decide),
 * with the merged answers unchanged, the status approved, rejected or
 * returned, and a "review" member carrying the note or reason and, for an
 * approval, the recognition decision that made the unit's tier official.
 * It travels like every other version: offline first, in bundles, and
 * through every retry of a sync.
 *
 * Decisions taken here are checked twice. This file refuses early what the
 * server would refuse anyway, so that a supervisor hears it at once rather
 * than on the dead-letter list: a device that is not enrolled as a
 * supervisor or admin, a draft, a closed record, a record returned and not
 * yet corrected. The server (server-stub/push.c) refuses a decision signed
 * by an inspector's device or outside the signer's scope, whoever relays it.
 *
 * A "returned" record goes back to its inspector: their next edit is a
 * draft again (cmd_record.c), finalizing it puts it back in the inbox, and
 * `field show` keeps showing why it was returned until the next decision.
 *
 * The review screen of `field ui` (ui_api.c) is the same inbox and the
 * same decisions: cmd_review_inbox() and cmd_decision_sign() (cmd.h) are
 * what both call, so a decision taken in the browser is the version the
 * command line would sign, refused for the same reasons.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"
#include "client.h"
#include "cmd.h"
#include "form.h"
#include "merge.h"
#include "norm.h"
#include "words.h"

/* How deep a unit may sit below a scope's unit (province > commune >
 * village > household has 3 steps). */
#define MAX_UNIT_DEPTH 16
#define UNIT_CODE_MAX 64 /* version.h: a subject is 1..64 characters */

/* ---- who may decide ---------------------------------------------------- */

/*
 * The role this device was enrolled with. Decisions are a supervisor's or
 * an administrator's; the server enforces it, this only says so early.
 */
int cmd_review_role(struct cmd_ctx *ctx)
{
    char *role = NULL;
    int rc = fld_store_meta_get(ctx->st, SYN_META_ROLE, &role, &ctx->err);

    if (rc == FLD_NOTFOUND || (rc == FLD_OK && role[0] == '\0'))
        rc = fld_err_set(&ctx->err, FLD_NOTFOUND,
                         "this device is not enrolled; a supervisor decides "
                         "from a device enrolled with 'field enroll'");
    else if (rc == FLD_OK && strcmp(role, "supervisor") != 0 &&
             strcmp(role, "admin") != 0)
        rc = fld_err_set(&ctx->err, FLD_EINVAL,
                         "this device is enrolled as %s; only a supervisor "
                         "or an admin decides on a record",
                         role);
    free(role);
    return rc;
}

/* ---- the scope --------------------------------------------------------- */

struct parent_of {
    char code[UNIT_CODE_MAX + 1];
    bool has_parent;
};

static int take_parent(void *data, const struct fld_unit *u)
{
    struct parent_of *p = data;

    p->has_parent = u->parent_code != NULL;
    if (p->has_parent)
        snprintf(p->code, sizeof p->code, "%s", u->parent_code);
    return FLD_OK;
}

/*
 * Whether unit code lies in one of the scope's units (space separated):
 * the unit itself, or a unit above it as the device's units on date say.
 * A unit the device does not know (villages are often not loaded) is taken
 * as the server sent it: the server pulls only what the scope holds.
 */
static int in_scope(struct cmd_ctx *ctx, const char *scope, const char *code,
                    const char *date, bool *out)
{
    struct parent_of p;
    char at[UNIT_CODE_MAX + 1];
    int depth, rc;

    *out = false;
    snprintf(at, sizeof at, "%s", code);
    for (depth = 0; depth < MAX_UNIT_DEPTH; depth++) {
        if (fld_word_in(scope, at)) {
            *out = true;
            return FLD_OK;
        }
        rc = fld_store_unit_at(ctx->st, at, date, take_parent, &p, &ctx->err);
        if (rc == FLD_NOTFOUND) {
            *out = depth == 0;
            return FLD_OK;
        }
        if (rc != FLD_OK)
            return rc;
        if (!p.has_parent)
            return FLD_OK;
        snprintf(at, sizeof at, "%s", p.code);
    }
    return FLD_OK;
}

/* ---- the inbox --------------------------------------------------------- */

/* One record waiting for a decision. */
struct waiting {
    char id[FLD_RECORD_HEX_LEN + 1];
    char *subject, *template_id, *inspector;
    int64_t since_ms; /* when it became final, as its newest head says */
    size_t n_met, n_not_met, n_unknown;
    enum fld_status tier;
    bool has_tier, is_outdated;
};

struct inbox {
    struct cmd_ctx *ctx;
    char **ids; /* every record, collected first: the walk holds a cursor */
    size_t n_ids;
    struct waiting *w;
    size_t n;
};

static int collect_id(void *data, const struct fld_record_summary *r)
{
    struct inbox *in = data;

    in->ids = fld_xreallocarray(in->ids, in->n_ids + 1, sizeof *in->ids);
    in->ids[in->n_ids++] = fld_xstrdup(r->record);
    return FLD_OK;
}

/* The inspector who made the record final: the newest head's signer. */
static const char *inspector_of(const struct cmd_record *r)
{
    const struct fld_version *v = r->merged->newest;

    return v->inspector ? v->inspector : v->author;
}

static int summarise(struct cmd_ctx *ctx, const struct cmd_record *r,
                     const struct fld_template *t, struct waiting *w)
{
    struct fld_form *f;
    const struct fld_text *label;
    char today[11];
    size_t i, requires;
    int rc;

    cmd_today(today);
    rc = fld_form_eval(t, r->merged->answers, today, &f, &ctx->err);
    if (rc != FLD_OK)
        return rc;
    for (i = 0; i < fld_template_n_criteria(t); i++) {
        enum fld_status s = fld_form_criterion(f, i);

        w->n_met += s == FLD_STATUS_MET;
        w->n_not_met += s == FLD_STATUS_NOT_MET;
        w->n_unknown += s == FLD_STATUS_UNKNOWN;
    }
    w->has_tier = fld_template_tier(t, &label, &requires);
    w->tier = fld_form_tier(f);
    fld_form_free(f);
    return FLD_OK;
}

/* Add record id to the inbox when it is final and in scope. */
static int consider(struct inbox *in, const char *scope, const char *id)
{
    struct cmd_ctx *ctx = in->ctx;
    const struct fld_template *t;
    struct cmd_record r;
    struct waiting w;
    char today[11];
    bool ok;
    int rc;

    if ((rc = cmd_record_read(ctx, id, &r)) != FLD_OK)
        goto out;
    if (strcmp(r.merged->status, "final") != 0)
        goto out;
    cmd_today(today);
    rc = in_scope(ctx, scope, r.merged->newest->subject, today, &ok);
    if (rc != FLD_OK || !ok)
        goto out;
    rc = cmd_load_template(ctx, r.merged->newest->template_hash, &t);
    if (rc != FLD_OK)
        goto out;
    memset(&w, 0, sizeof w);
    snprintf(w.id, sizeof w.id, "%s", r.id);
    w.since_ms = r.merged->newest->hlc.ms;
    w.is_outdated = r.merged->review_outdated;
    if ((rc = summarise(ctx, &r, t, &w)) != FLD_OK)
        goto out;
    w.subject = fld_xstrdup(r.merged->newest->subject);
    w.template_id = fld_xstrdup(r.merged->newest->template_id);
    w.inspector = fld_xstrdup(inspector_of(&r));
    in->w = fld_xreallocarray(in->w, in->n + 1, sizeof *in->w);
    in->w[in->n++] = w;
out:
    cmd_record_free(&r);
    return rc;
}

/* Oldest first: whoever has waited longest is read first. */
static int cmp_waiting(const void *a, const void *b)
{
    const struct waiting *x = a, *y = b;

    if (x->since_ms != y->since_ms)
        return x->since_ms < y->since_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

static void inbox_free(struct inbox *in)
{
    size_t i;

    for (i = 0; i < in->n_ids; i++)
        free(in->ids[i]);
    for (i = 0; i < in->n; i++) {
        free(in->w[i].subject);
        free(in->w[i].template_id);
        free(in->w[i].inspector);
    }
    free(in->ids);
    free(in->w);
}

static struct fld_json *waiting_json(const struct waiting *w)
{
    struct fld_json *o = fld_json_object(), *c = fld_json_object();

    fld_json_set(o, "record", fld_json_string(w->id));
    fld_json_set(o, "subject", fld_json_string(w->subject));
    fld_json_set(o, "template", fld_json_string(w->template_id));
    fld_json_set(o, "inspector", fld_json_string(w->inspector));
    fld_json_set(o, "since_ms", fld_json_int(w->since_ms));
    fld_json_set(c, "met", fld_json_int((int64_t)w->n_met));
    fld_json_set(c, "not_met", fld_json_int((int64_t)w->n_not_met));
    fld_json_set(c, "unknown", fld_json_int((int64_t)w->n_unknown));
    fld_json_set(o, "criteria", c);
    if (w->has_tier)
        fld_json_set(o, "tier",
                     fld_json_string(fld_status_name(w->tier, FLD_LANG_EN)));
    fld_json_set(o, "review_outdated", fld_json_bool(w->is_outdated));
    return o;
}

static void print_waiting(struct cmd_ctx *ctx, const struct waiting *w)
{
    bool en = ctx->lang == FLD_LANG_EN;
    char when[32];

    cmd_format_time(w->since_ms, when);
    printf("%.12s  %-8s %-22s %s  %s\n", w->id, w->subject, w->template_id,
           when, w->inspector);
    printf("              %s %zu, %s %zu, %s %zu", en ? "met" : "đạt", w->n_met,
           en ? "not met" : "không đạt", w->n_not_met,
           en ? "unknown" : "chưa xác định", w->n_unknown);
    if (w->has_tier)
        printf("; %s: %s", en ? "tier" : "mức đạt chuẩn",
               fld_status_name(w->tier, ctx->lang));
    if (w->is_outdated)
        printf(en ? " (changed since it was last reviewed)"
                  : " (đã sửa sau lần xét trước)");
    putchar('\n');
}

/* Fill in with the records that wait for this device's decision, oldest
 * first. */
static int inbox_fill(struct cmd_ctx *ctx, struct inbox *in)
{
    char *scope = NULL;
    size_t i;
    int rc;

    memset(in, 0, sizeof *in);
    in->ctx = ctx;
    if ((rc = cmd_review_role(ctx)) != FLD_OK)
        return rc;
    rc = fld_store_meta_get(ctx->st, SYN_META_SCOPE, &scope, &ctx->err);
    if (rc != FLD_OK)
        return rc;
    rc = fld_store_each_record(ctx->st, NULL, collect_id, in, &ctx->err);
    for (i = 0; rc == FLD_OK && i < in->n_ids; i++)
        rc = consider(in, scope, in->ids[i]);
    if (rc == FLD_OK && in->n > 1) /* qsort wants a non-null base */
        qsort(in->w, in->n, sizeof *in->w, cmp_waiting);
    free(scope);
    return rc;
}

int cmd_review_inbox(struct cmd_ctx *ctx, struct fld_json **out)
{
    struct inbox in;
    size_t i;
    int rc;

    *out = NULL;
    if ((rc = inbox_fill(ctx, &in)) == FLD_OK) {
        *out = fld_json_array();
        for (i = 0; i < in.n; i++)
            fld_json_append(*out, waiting_json(&in.w[i]));
    }
    inbox_free(&in);
    return rc;
}

int cmd_review(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct inbox in;
    struct fld_json *arr;
    size_t i;
    int rc;

    if ((rc = cmd_parse_and_open(ctx, argc, argv, NULL, NULL, NULL)) != FLD_OK)
        return rc;
    if (ctx->json) {
        if ((rc = cmd_review_inbox(ctx, &arr)) == FLD_OK)
            rc = cmd_print_json(ctx, arr);
        fld_json_free(arr);
        return rc;
    }
    rc = inbox_fill(ctx, &in);
    if (rc == FLD_OK && in.n == 0)
        printf(ctx->lang == FLD_LANG_EN
                   ? "Nothing waits for a decision.\n"
                   : "Không có hồ sơ nào chờ xét duyệt.\n");
    for (i = 0; rc == FLD_OK && i < in.n; i++)
        print_waiting(ctx, &in.w[i]);
    inbox_free(&in);
    return rc;
}

/* ---- the decisions ----------------------------------------------------- */

enum { OPT_NOTE = 1, OPT_REASON, OPT_NUMBER, OPT_DATE };

/* Typed text becomes NFC like every answer, within the review's limits. */
int cmd_decision_text(struct cmd_ctx *ctx, const char *what, const char *arg,
                      size_t max, char **out)
{
    int rc;

    free(*out);
    *out = NULL;
    if ((rc = fld_norm_text(arg, out, &ctx->err)) != FLD_OK)
        return fld_err_prefix(&ctx->err, "%s", what);
    if ((*out)[0] == '\0' || strlen(*out) > max)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "%s must be 1 to %zu bytes of text", what, max);
    return FLD_OK;
}

static int on_decision_option(struct cmd_ctx *ctx, int opt, const char *arg,
                              void *data)
{
    struct cmd_decision *d = data;
    int rc;

    switch (opt) {
    case OPT_NOTE:
    case OPT_REASON:
        return cmd_decision_text(ctx, opt == OPT_NOTE ? "--note" : "--reason",
                                 arg, FLD_REVIEW_MAX_NOTE, &d->note);
    case OPT_NUMBER:
        return cmd_decision_text(ctx, "--decision-number", arg, 100,
                                 &d->number);
    case OPT_DATE:
        free(d->date);
        d->date = NULL;
        rc = fld_norm_date(arg, &d->date, &ctx->err);
        return rc == FLD_OK ? FLD_OK
                            : fld_err_prefix(&ctx->err, "--decision-date");
    }
    return FLD_EUSAGE;
}

/* The "review" member of the decision's version, or NULL for none. */
static struct fld_json *review_json(const struct cmd_decision *d)
{
    struct fld_json *r;

    if (d->note == NULL && d->number == NULL)
        return NULL;
    r = fld_json_object();
    if (d->note != NULL)
        fld_json_set(r, "note", fld_json_string(d->note));
    if (d->number != NULL) {
        struct fld_json *rec = fld_json_object();

        fld_json_set(rec, "number", fld_json_string(d->number));
        fld_json_set(rec, "date", fld_json_string(d->date));
        fld_json_set(r, "recognition", rec);
    }
    return r;
}

/* Only the status may be in conflict: a new decision settles two that
 * crossed; any other conflict needs a person's `field resolve` first. */
static bool has_answer_conflict(const struct syn_merged *m)
{
    size_t i;

    for (i = 0; i < m->n_conflicts; i++)
        if (strcmp(m->conflicts[i].path, "status") != 0)
            return true;
    return false;
}

static bool has_status_conflict(const struct syn_merged *m)
{
    size_t i;

    for (i = 0; i < m->n_conflicts; i++)
        if (strcmp(m->conflicts[i].path, "status") == 0)
            return true;
    return false;
}

/* Whether record r waits for a decision; the message says why not. */
static int check_decidable(struct cmd_ctx *ctx, const struct cmd_record *r)
{
    const struct syn_merged *m = r->merged;

    if (has_answer_conflict(m))
        return fld_err_set(&ctx->err, FLD_EINVAL,
                           "record %.12s has unresolved conflicts; see 'field "
                           "conflicts %.12s'",
                           r->id, r->id);
    if (has_status_conflict(m) || strcmp(m->status, "final") == 0)
        return FLD_OK;
    if (strcmp(m->status, "draft") == 0)
        return fld_err_set(&ctx->err, FLD_EINVAL,
                           "record %.12s is a draft; only a final record "
                           "waits for a decision",
                           r->id);
    if (strcmp(m->status, "returned") == 0)
        return fld_err_set(&ctx->err, FLD_EINVAL,
                           "record %.12s was returned to its inspector and "
                           "waits for their correction",
                           r->id);
    return fld_err_set(&ctx->err, FLD_EINVAL,
                       "record %.12s is already %s; it is closed", r->id,
                       m->status);
}

int cmd_decision_sign(struct cmd_ctx *ctx, const struct cmd_record *r,
                      const struct cmd_decision *d, struct fld_version **out)
{
    struct fld_json *review;
    const struct syn_merged *m = r->merged;
    int rc;

    *out = NULL;
    if ((rc = check_decidable(ctx, r)) != FLD_OK)
        return rc;
    review = review_json(d);
    rc = fld_capture_decide(ctx->st, ctx->key, m->newest,
                            (const char *const *)m->heads, m->n_heads,
                            m->answers, d->status, review, out, &ctx->err);
    fld_json_free(review);
    return rc;
}

static int decide_one(struct cmd_ctx *ctx, const struct cmd_decision *d,
                      const char *prefix)
{
    struct cmd_record r;
    struct fld_version *v = NULL;
    int rc;

    if ((rc = cmd_record_load(ctx, prefix, &r)) != FLD_OK)
        goto out;
    if ((rc = cmd_decision_sign(ctx, &r, d, &v)) != FLD_OK)
        goto out;
    if (ctx->json) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "record", fld_json_string(v->record));
        fld_json_set(o, "version", fld_json_string(v->hash));
        fld_json_set(o, "status", fld_json_string(v->status));
        rc = cmd_print_json(ctx, o);
        fld_json_free(o);
    } else {
        printf("%s record %.12s: version %.16s (%s)\n",
               strcmp(d->status, "approved") == 0   ? "Approved"
               : strcmp(d->status, "rejected") == 0 ? "Rejected"
                                                    : "Returned",
               v->record, v->hash, v->status);
    }
out:
    fld_version_free(v);
    cmd_record_free(&r);
    return rc;
}

int cmd_decision_check(struct cmd_ctx *ctx, const struct cmd_decision *d)
{
    bool is_approval = strcmp(d->status, "approved") == 0;

    if (!is_approval && d->note == NULL)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "a reason is needed: --reason TEXT says the "
                           "inspector what to do");
    if ((d->number == NULL) != (d->date == NULL))
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "--decision-number and --decision-date go "
                           "together");
    return FLD_OK;
}

/*
 * approve, reject and return: one signed version per record named, each in
 * its own transaction, stopping at the first record that may not be
 * decided on (those before it stay decided, and were reported).
 */
static int decide(struct cmd_ctx *ctx, int argc, char **argv,
                  const char *status)
{
    static const struct option approve_options[] = {
        {"note", required_argument, NULL, OPT_NOTE},
        {"decision-number", required_argument, NULL, OPT_NUMBER},
        {"decision-date", required_argument, NULL, OPT_DATE},
        {NULL, 0, NULL, 0}};
    static const struct option other_options[] = {
        {"reason", required_argument, NULL, OPT_REASON}, {NULL, 0, NULL, 0}};
    struct cmd_decision d = {status, NULL, NULL, NULL};
    bool is_approval = strcmp(status, "approved") == 0;
    int rc, first, i;

    rc = cmd_parse(ctx, argc, argv,
                   is_approval ? approve_options : other_options,
                   on_decision_option, &d, &first);
    if (rc != FLD_OK)
        goto out;
    if (first >= argc) {
        rc = fld_err_set(&ctx->err, FLD_EUSAGE,
                         "which record? see 'field %s --help'", ctx->cmd->name);
        goto out;
    }
    if ((rc = cmd_decision_check(ctx, &d)) != FLD_OK)
        goto out;
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        goto out;
    if ((rc = cmd_review_role(ctx)) != FLD_OK)
        goto out;
    if ((rc = cmd_load_key(ctx)) != FLD_OK)
        goto out;
    for (i = first; rc == FLD_OK && i < argc; i++)
        rc = decide_one(ctx, &d, argv[i]);
out:
    cmd_decision_free(&d);
    return rc;
}

void cmd_decision_free(struct cmd_decision *d)
{
    free(d->note);
    free(d->number);
    free(d->date);
    d->note = d->number = d->date = NULL;
}

int cmd_approve(struct cmd_ctx *ctx, int argc, char **argv)
{
    return decide(ctx, argc, argv, "approved");
}

int cmd_reject(struct cmd_ctx *ctx, int argc, char **argv)
{
    return decide(ctx, argc, argv, "rejected");
}

int cmd_return(struct cmd_ctx *ctx, int argc, char **argv)
{
    return decide(ctx, argc, argv, "returned");
}
