/*
 * cmd_show.c - the commands that read records: `field show`, `field list`
 * and `field history`. People get aligned text; --json gives one compact
 * JSON document on standard output.
 *
 *   field show [--json] [--lang vi|en] RECORD
 *   field list [--json] [--status S] [--subject CODE] [--template ID]
 *   field history [--json] RECORD
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"
#include "cmd.h"
#include "form.h"
#include "merge.h"

/* A person reads "Nguyễn Văn An (device 3f2a9c1e)". */
static void print_author(const struct fld_version *v)
{
    if (v->inspector)
        printf("%s (device %.8s)", v->inspector, v->author);
    else
        printf("device %.8s", v->author);
}

static struct fld_json *version_json(const struct fld_version *v)
{
    struct fld_json *o = fld_json_object();

    fld_json_set(o, "version", fld_json_string(v->hash));
    fld_json_set(o, "author", fld_json_string(v->author));
    fld_json_set(o, "dseq", fld_json_int(v->dseq));
    fld_json_set(o, "time_ms", fld_json_int(v->hlc.ms));
    fld_json_set(o, "status", fld_json_string(v->status));
    if (v->inspector)
        fld_json_set(o, "inspector", fld_json_string(v->inspector));
    return o;
}

/* The latest decision on a record: who, when, what, why. */
static struct fld_json *review_json(const struct fld_version *v)
{
    struct fld_json *o = version_json(v);

    if (v->review != NULL)
        fld_json_set(o, "review", fld_json_clone(v->review));
    return o;
}

static void print_review(struct cmd_ctx *ctx, const struct fld_version *v)
{
    const char *note = v->review ? fld_json_get_string(v->review, "note") : 0;
    const struct fld_json *rec =
        v->review ? fld_json_get(v->review, "recognition") : NULL;
    bool en = ctx->lang == FLD_LANG_EN;
    char when[32];

    cmd_format_time(v->hlc.ms, when);
    printf("Review    %s %s by ", v->status, when);
    print_author(v);
    putchar('\n');
    if (note != NULL)
        printf("          %s: %s\n",
               strcmp(v->status, "approved") == 0 ? (en ? "note" : "ghi chú")
                                                  : (en ? "reason" : "lý do"),
               note);
    if (rec != NULL)
        printf("          %s %s, %s\n",
               en ? "recognised by decision" : "công nhận theo quyết định",
               fld_json_get_string(rec, "number"),
               fld_json_get_string(rec, "date"));
}

/* Under a decision in a history: why it was taken. */
static void print_review_note(const struct fld_version *v)
{
    const struct fld_json *rec;
    const char *note;

    if (v->review == NULL)
        return;
    note = fld_json_get_string(v->review, "note");
    rec = fld_json_get(v->review, "recognition");
    if (note != NULL)
        printf("      \"%s\"\n", note);
    if (rec != NULL)
        printf("      recognition: %s, %s\n",
               fld_json_get_string(rec, "number"),
               fld_json_get_string(rec, "date"));
}

static const char *unverified_mark(enum fld_lang lang)
{
    return lang == FLD_LANG_EN ? " [unverified]" : " [chưa kiểm chứng]";
}

static struct fld_json *criteria_json(struct fld_form *f,
                                      const struct fld_template *t)
{
    struct fld_json *arr = fld_json_array();
    size_t i, j;

    for (i = 0; i < fld_template_n_criteria(t); i++) {
        const struct fld_criterion *c = fld_template_criterion(t, i);
        struct fld_json *o = fld_json_object(), *inds = fld_json_array();

        fld_json_set(o, "code", fld_json_string(c->code));
        fld_json_set(o, "status",
                     fld_json_string(fld_status_name(fld_form_criterion(f, i),
                                                     FLD_LANG_EN)));
        fld_json_set(o, "verified", fld_json_bool(c->provenance.verified));
        for (j = 0; j < c->n_indicators; j++) {
            struct fld_json *d = fld_json_object();

            fld_json_set(d, "code", fld_json_string(c->indicators[j].code));
            fld_json_set(d, "status",
                         fld_json_string(fld_status_name(
                             fld_form_indicator(f, i, j), FLD_LANG_EN)));
            fld_json_set(d, "verified",
                         fld_json_bool(c->indicators[j].provenance.verified));
            fld_json_append(inds, d);
        }
        fld_json_set(o, "indicators", inds);
        fld_json_append(arr, o);
    }
    return arr;
}

/* The candidates of one conflict as JSON, the shown one first. */
static struct fld_json *conflict_json(const struct syn_conflict *c)
{
    struct fld_json *o = fld_json_object(), *cands = fld_json_array();
    size_t i;

    for (i = 0; i < c->n_candidates; i++) {
        const struct syn_candidate *k = &c->candidates[i];
        struct fld_json *e = fld_json_object();

        fld_json_set(e, "value",
                     k->value ? fld_json_clone(k->value) : fld_json_null());
        fld_json_set(e, "version", fld_json_string(k->version));
        fld_json_set(e, "author", fld_json_string(k->author));
        if (k->inspector)
            fld_json_set(e, "inspector", fld_json_string(k->inspector));
        fld_json_set(e, "time_ms", fld_json_int(k->hlc.ms));
        fld_json_append(cands, e);
    }
    fld_json_set(o, "path", fld_json_string(c->path));
    fld_json_set(o, "candidates", cands);
    return o;
}

/* A conflict for people: the path, then each value with who and when. */
static void print_conflict(struct cmd_ctx *ctx, const struct syn_conflict *c)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i;
    char when[32];

    printf("  %s:\n", c->path);
    for (i = 0; i < c->n_candidates; i++) {
        const struct syn_candidate *k = &c->candidates[i];

        fld_buf_reset(&b);
        if (k->value)
            fld_json_write(k->value, &b, NULL);
        else
            fld_buf_puts(&b,
                         ctx->lang == FLD_LANG_EN ? "(deleted)" : "(đã xoá)");
        cmd_format_time(k->hlc.ms, when);
        printf("    %s %-24s %s (device %.8s) %s, version %.12s%s\n",
               i == 0 ? "*" : " ", fld_buf_str(&b),
               k->inspector ? k->inspector : "", k->author, when, k->version,
               i == 0 ? (ctx->lang == FLD_LANG_EN ? "  (shown)"
                                                  : "  (đang hiển thị)")
                      : "");
    }
    fld_buf_free(&b);
}

/* The province's threshold revision the criteria were decided with. */
static struct fld_json *revision_json(const struct fld_thresholds *r)
{
    struct fld_json *o = fld_json_object();

    fld_json_set(o, "hash", fld_json_string(r->hash));
    fld_json_set(o, "revision", fld_json_int(r->revision));
    fld_json_set(o, "valid_from", fld_json_string(r->valid_from));
    fld_json_set(o, "source", fld_json_string(r->source));
    fld_json_set(o, "author", fld_json_string(r->author));
    return o;
}

static int show_json(struct cmd_ctx *ctx, const struct syn_merged *m,
                     const struct fld_template *t, struct fld_form *f,
                     const struct fld_thresholds *rev,
                     const struct fld_json *photos)
{
    const struct fld_version *v = m->newest;
    struct fld_json *o = version_json(v);
    struct fld_json *tmpl = fld_json_object();
    struct fld_json *heads = fld_json_array(), *conflicts = fld_json_array();
    struct fld_json *problems = fld_json_array();
    size_t i;
    int rc;

    fld_json_set(tmpl, "id", fld_json_string(v->template_id));
    fld_json_set(tmpl, "hash", fld_json_string(v->template_hash));
    fld_json_set(o, "record", fld_json_string(v->record));
    fld_json_set(o, "subject", fld_json_string(v->subject));
    fld_json_set(o, "template", tmpl);
    fld_json_set(o, "answers", fld_json_clone(m->answers));
    fld_json_set(o, "status", fld_json_string(m->status));
    fld_json_set(o, "review_outdated", fld_json_bool(m->review_outdated));
    if (m->review != NULL)
        fld_json_set(o, "review", review_json(m->review));
    for (i = 0; i < m->n_heads; i++)
        fld_json_append(heads, fld_json_string(m->heads[i]));
    fld_json_set(o, "heads", heads);
    for (i = 0; i < m->n_conflicts; i++)
        fld_json_append(conflicts, conflict_json(&m->conflicts[i]));
    fld_json_set(o, "conflicts", conflicts);
    fld_json_set(o, "criteria", criteria_json(f, t));
    fld_json_set(o, "thresholds", rev ? revision_json(rev) : fld_json_null());
    fld_json_set(
        o, "tier",
        fld_json_string(fld_status_name(fld_form_tier(f), FLD_LANG_EN)));
    for (i = 0; i < fld_form_n_problems(f); i++)
        fld_json_append(
            problems, fld_json_string(fld_form_problem(f, i)->question->name));
    fld_json_set(o, "problems", problems);
    fld_json_set(o, "photos", fld_json_clone(photos));
    rc = cmd_print_json(ctx, o);
    fld_json_free(o);
    return rc;
}

/* One question's line: label, required mark, value or "not answered". */
static void show_question(struct cmd_ctx *ctx, struct fld_form *f,
                          const struct fld_template *t, size_t qi, size_t item,
                          const char *indent)
{
    const struct fld_question *q = fld_template_question_at(t, qi);
    const struct fld_value *v;
    char *text = NULL;

    if (q->type == FLD_Q_NOTE || !fld_form_relevant(f, qi, item))
        return;
    v = fld_form_value(f, qi, item);
    if (v->type != FLD_V_BLANK) {
        struct fld_json *a = NULL;

        text = fld_value_to_string(v);
        if (q->n_choices > 0 &&
            fld_template_answer(q, text, &a, NULL) == FLD_OK && a) {
            free(text);
            text = fld_template_format(q, a, ctx->lang);
        }
        fld_json_free(a);
    }
    printf(
        "%s%s%s: %s%s%s%s\n", indent, fld_text_get(&q->label, ctx->lang),
        q->required ? " *" : "",
        text ? text
             : (ctx->lang == FLD_LANG_EN ? "(not answered)" : "(chưa trả lời)"),
        text && q->unit ? " " : "", text && q->unit ? q->unit : "",
        q->calculation
            ? (ctx->lang == FLD_LANG_EN ? "  (calculated)" : "  (tự tính)")
            : "");
    free(text);
}

static void show_answers(struct cmd_ctx *ctx, struct fld_form *f,
                         const struct fld_template *t)
{
    size_t i, k, n_sec = fld_template_n_sections(t), qi;

    for (qi = 0; qi < fld_template_n_questions(t); qi++)
        if (fld_template_question_at(t, qi)->section == FLD_NO_SECTION) {
            if (qi == 0)
                printf("\n[%s]\n",
                       ctx->lang == FLD_LANG_EN ? "Parameters" : "Tham số");
            show_question(ctx, f, t, qi, 0, "  ");
        }
    for (i = 0; i < n_sec; i++) {
        const struct fld_section *s = fld_template_section(t, i);

        printf("\n[%s]\n", fld_text_get(&s->label, ctx->lang));
        if (!s->is_repeat) {
            for (qi = s->first; qi < s->first + s->n; qi++)
                show_question(ctx, f, t, qi, 0, "  ");
            continue;
        }
        if (fld_form_n_items(f, i) == 0)
            printf("  %s\n", ctx->lang == FLD_LANG_EN ? "(no items)"
                                                      : "(chưa có mục nào)");
        for (k = 0; k < fld_form_n_items(f, i); k++) {
            printf("  #%zu [%s]\n", k + 1, fld_form_item_id(f, i, k));
            for (qi = s->first; qi < s->first + s->n; qi++)
                show_question(ctx, f, t, qi, k, "    ");
        }
    }
}

static void show_criteria(struct cmd_ctx *ctx, struct fld_form *f,
                          const struct fld_template *t,
                          const struct fld_thresholds *rev)
{
    const struct fld_text *tier_label;
    size_t i, j, requires, count[3] = {0, 0, 0};

    if (fld_template_n_criteria(t) == 0)
        return;
    printf("\n[%s]\n", ctx->lang == FLD_LANG_EN ? "Criteria" : "Tiêu chí");
    for (i = 0; i < fld_template_n_criteria(t); i++) {
        const struct fld_criterion *c = fld_template_criterion(t, i);
        enum fld_status st = fld_form_criterion(f, i);

        count[st]++;
        printf("  %-5s %s: %s%s\n", c->code, fld_text_get(&c->name, ctx->lang),
               fld_status_name(st, ctx->lang),
               c->provenance.verified ? "" : unverified_mark(ctx->lang));
        for (j = 0; j < c->n_indicators; j++) {
            const struct fld_indicator *d = &c->indicators[j];

            printf("        %-6s %s: %s%s%s\n", d->code,
                   fld_text_get(&d->text, ctx->lang),
                   fld_status_name(fld_form_indicator(f, i, j), ctx->lang),
                   d->met ? ""
                          : (ctx->lang == FLD_LANG_EN ? " (no rule)"
                                                      : " (chưa có quy tắc)"),
                   d->provenance.verified ? "" : unverified_mark(ctx->lang));
        }
    }
    if (rev != NULL)
        printf("  %s %lld%s %s, %s %s\n",
               ctx->lang == FLD_LANG_EN ? "thresholds: the province's revision"
                                        : "ngưỡng: bản",
               (long long)rev->revision,
               ctx->lang == FLD_LANG_EN ? "," : " của tỉnh,", rev->source,
               ctx->lang == FLD_LANG_EN ? "valid from" : "hiệu lực từ",
               rev->valid_from);
    for (i = 0; i < fld_template_n_thresholds(t); i++) {
        const struct fld_threshold *th = fld_template_threshold_at(t, i);
        char *value = fld_form_threshold(f, th);

        printf("  %s %s: %s%s%s%s\n",
               ctx->lang == FLD_LANG_EN ? "threshold" : "ngưỡng",
               fld_text_get(&th->label, ctx->lang),
               value ? value
                     : (ctx->lang == FLD_LANG_EN ? "UNKNOWN (not set)"
                                                 : "CHƯA BIẾT (chưa đặt)"),
               value && th->unit ? " " : "", value && th->unit ? th->unit : "",
               th->provenance.verified ? "" : unverified_mark(ctx->lang));
        free(value);
    }
    if (fld_template_tier(t, &tier_label, &requires))
        printf("\n%s: %s (%zu %s, %zu %s, %zu %s)\n",
               fld_text_get(tier_label, ctx->lang),
               fld_status_name(fld_form_tier(f), ctx->lang),
               count[FLD_STATUS_MET],
               fld_status_name(FLD_STATUS_MET, ctx->lang),
               count[FLD_STATUS_NOT_MET],
               fld_status_name(FLD_STATUS_NOT_MET, ctx->lang),
               count[FLD_STATUS_UNKNOWN],
               fld_status_name(FLD_STATUS_UNKNOWN, ctx->lang));
}

static void show_text(struct cmd_ctx *ctx, const struct syn_merged *m,
                      const struct fld_template *t, struct fld_form *f,
                      const struct fld_thresholds *rev,
                      const struct fld_json *photos)
{
    const struct fld_version *v = m->newest;
    size_t i;
    const struct fld_criteria_set *set = fld_template_criteria_set(t);
    char when[32];

    cmd_format_time(v->hlc.ms, when);
    printf("Record    %s\n", v->record);
    printf("Template  %s %s: %s\n", fld_template_id(t), fld_template_version(t),
           fld_text_get(fld_template_title(t), ctx->lang));
    if (set->name.vi)
        printf("Criteria  %s%s%s%s\n", fld_text_get(&set->name, ctx->lang),
               set->source ? " — " : "", set->source ? set->source : "",
               set->verified ? "" : unverified_mark(ctx->lang));
    printf("Subject   %s\n", v->subject);
    printf("Status    %s%s\n", m->status,
           m->review_outdated
               ? (ctx->lang == FLD_LANG_EN
                      ? " (review outdated: answers changed concurrently)"
                      : " (cần duyệt lại: câu trả lời đã thay đổi đồng thời)")
               : "");
    if (m->review != NULL)
        print_review(ctx, m->review);
    printf("Changed   %s by ", when);
    print_author(v);
    printf("\nVersion   %.16s (device version %lld)", v->hash,
           (long long)v->dseq);
    if (m->n_heads > 1)
        printf(", %zu %s", m->n_heads,
               ctx->lang == FLD_LANG_EN ? "concurrent versions merged"
                                        : "phiên bản đồng thời đã gộp");
    putchar('\n');
    if (m->n_conflicts > 0) {
        printf("\n[%s: %zu]\n",
               ctx->lang == FLD_LANG_EN ? "Conflicts to resolve"
                                        : "Xung đột cần giải quyết",
               m->n_conflicts);
        for (i = 0; i < m->n_conflicts; i++)
            print_conflict(ctx, &m->conflicts[i]);
    }
    show_answers(ctx, f, t);
    cmd_photos_print(ctx, photos);
    show_criteria(ctx, f, t, rev);
}

int cmd_show(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct cmd_record r;
    struct fld_form *f = NULL;
    struct fld_thresholds *rev = NULL;
    struct fld_json *photos = NULL;
    char today[11];
    int rc, first;

    memset(&r, 0, sizeof r);
    if ((rc = cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)))
        return rc;
    if (first + 1 != argc)
        return fld_err_set(&ctx->err, FLD_EUSAGE, "give one record");
    cmd_today(today);
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        goto out;
    if ((rc = cmd_record_load(ctx, argv[first], &r)) != FLD_OK)
        goto out;
    /* r.t has the revision in force set already (cmd_load_template): this
     * only says which one it is */
    rc = cmd_thresholds_in_force(ctx, fld_template_hash(r.t), &rev);
    if (rc == FLD_OK)
        rc = fld_form_eval(r.t, r.merged->answers, today, &f, &ctx->err);
    if (rc != FLD_OK)
        goto out;
    photos = cmd_photos_json(ctx, &r, f);
    if (ctx->json)
        rc = show_json(ctx, r.merged, r.t, f, rev, photos);
    else
        show_text(ctx, r.merged, r.t, f, rev, photos);
out:
    fld_json_free(photos);
    fld_thresholds_free(rev);
    fld_form_free(f);
    cmd_record_free(&r);
    return rc;
}

/* Records with concurrent versions, to find the ones with conflicts. */
static int collect_concurrent(void *data, const struct fld_record_summary *s)
{
    struct fld_json *ids = data;

    if (s->n_heads > 1)
        fld_json_append(ids, fld_json_string(s->record));
    return FLD_OK;
}

/*
 * `field conflicts [--json] [RECORD]`: every unresolved conflict of one
 * record, or of all records, with each candidate value, its author and
 * time. Exit 0 either way: a conflict is data, not an error.
 */
int cmd_conflicts(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct fld_json *ids = fld_json_array(), *out = NULL;
    size_t i, j, total = 0;
    int rc, first;

    if ((rc = cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)) != FLD_OK)
        goto done;
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        goto done;
    if (first + 1 < argc) {
        rc = fld_err_set(&ctx->err, FLD_EUSAGE, "give at most one record");
        goto done;
    }
    if (first < argc)
        fld_json_append(ids, fld_json_string(argv[first]));
    else if ((rc = fld_store_each_record(ctx->st, NULL, collect_concurrent, ids,
                                         &ctx->err)))
        goto done;
    if (ctx->json)
        out = fld_json_array();
    for (i = 0; rc == FLD_OK && i < ids->n; i++) {
        struct cmd_record r;
        const struct syn_merged *m;

        if ((rc = cmd_record_load(ctx, ids->items[i]->s, &r)) != FLD_OK) {
            cmd_record_free(&r);
            break;
        }
        m = r.merged;
        total += m->n_conflicts;
        for (j = 0; out && j < m->n_conflicts; j++) {
            struct fld_json *c = conflict_json(&m->conflicts[j]);

            fld_json_set(c, "record", fld_json_string(r.id));
            fld_json_append(out, c);
        }
        if (!out && m->n_conflicts > 0) {
            printf("%s  %s  %s: %zu\n", r.id, m->newest->subject,
                   m->newest->template_id, m->n_conflicts);
            for (j = 0; j < m->n_conflicts; j++)
                print_conflict(ctx, &m->conflicts[j]);
        }
        cmd_record_free(&r);
    }
    if (rc == FLD_OK && out)
        rc = cmd_print_json(ctx, out);
    else if (rc == FLD_OK && total == 0)
        printf("%s\n", ctx->lang == FLD_LANG_EN ? "No conflicts."
                                                : "Không có xung đột.");
done:
    fld_json_free(out);
    fld_json_free(ids);
    return rc;
}

int cmd_on_filter(struct cmd_ctx *ctx, int opt, const char *arg, void *data)
{
    struct fld_record_filter *f = data;

    (void)ctx;
    if (opt == CMD_OPT_STATUS)
        f->status = arg;
    else if (opt == CMD_OPT_SUBJECT)
        f->subject = arg;
    else
        f->template_id = arg;
    return FLD_OK;
}

const struct option cmd_filter_options[] = {
    {"status", required_argument, NULL, CMD_OPT_STATUS},
    {"subject", required_argument, NULL, CMD_OPT_SUBJECT},
    {"template", required_argument, NULL, CMD_OPT_TEMPLATE},
    {NULL, 0, NULL, 0}};

static int list_row(void *data, const struct fld_record_summary *r)
{
    struct fld_json *arr = data;
    char when[32];

    if (arr != NULL) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "record", fld_json_string(r->record));
        fld_json_set(o, "template", fld_json_string(r->template_id));
        fld_json_set(o, "subject", fld_json_string(r->subject));
        fld_json_set(o, "status", fld_json_string(r->status));
        fld_json_set(o, "created_ms", fld_json_int(r->created.ms));
        fld_json_set(o, "updated_ms", fld_json_int(r->updated.ms));
        fld_json_set(o, "versions", fld_json_int(r->n_versions));
        fld_json_set(o, "heads", fld_json_int(r->n_heads));
        fld_json_append(arr, o);
        return FLD_OK;
    }
    cmd_format_time(r->updated.ms, when);
    printf("%.12s  %-10s %-16s %-9s %s  %lld version%s%s\n", r->record,
           r->subject, r->template_id, r->status, when,
           (long long)r->n_versions, r->n_versions == 1 ? "" : "s",
           r->n_heads > 1 ? "  (concurrent edits)" : "");
    return FLD_OK;
}

int cmd_list(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct fld_record_filter f = {NULL, NULL, NULL};
    struct fld_json *arr = NULL;
    int rc;

    if ((rc = cmd_parse_and_open(ctx, argc, argv, cmd_filter_options,
                                 cmd_on_filter, &f)) != FLD_OK)
        return rc;
    if (ctx->json)
        arr = fld_json_array();
    rc = fld_store_each_record(ctx->st, &f, list_row, arr, &ctx->err);
    if (rc == FLD_OK && arr)
        rc = cmd_print_json(ctx, arr);
    fld_json_free(arr);
    return rc;
}

/* Describe what v changed relative to its parent's answers. */
static void print_changes(const struct fld_json *before,
                          const struct fld_json *after)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i;

    for (i = 0; i < after->n; i++) {
        const struct fld_json *old =
            before ? fld_json_get(before, after->members[i].key) : NULL;

        if (old == NULL || !fld_json_equal(old, after->members[i].value)) {
            fld_buf_printf(&b, "      %s: ", after->members[i].key);
            if (old) {
                fld_json_write(old, &b, NULL);
                fld_buf_puts(&b, " -> ");
            }
            fld_json_write(after->members[i].value, &b, NULL);
            fld_buf_putc(&b, '\n');
        }
    }
    for (i = 0; before && i < before->n; i++)
        if (fld_json_get(after, before->members[i].key) == NULL)
            fld_buf_printf(&b, "      %s: cleared\n", before->members[i].key);
    fputs(fld_buf_str(&b), stdout);
    fld_buf_free(&b);
}

/* The state of cmd_history_walk(): the versions seen so far, whose
 * answers the next ones are compared with. */
struct walk {
    struct cmd_ctx *ctx;
    struct fld_version **seen;
    size_t n;
    cmd_history_fn fn;
    void *data;
};

static const struct fld_json *answers_of(const struct walk *w, const char *hash)
{
    size_t i;

    for (i = 0; i < w->n; i++)
        if (strcmp(w->seen[i]->hash, hash) == 0)
            return w->seen[i]->answers;
    return NULL;
}

static int walk_row(void *data, const struct fld_store_row *r)
{
    struct walk *w = data;
    struct fld_version *v;
    const struct fld_json *before = NULL;
    int rc;

    rc = fld_version_open(r->body, r->body_len, r->sig, &v, &w->ctx->err);
    if (rc != FLD_OK)
        return fld_err_set(&w->ctx->err, FLD_ECORRUPT,
                           "version %.16s does not verify (run 'field verify')",
                           r->hash);
    if (v->parents->n > 0)
        before = answers_of(w, v->parents->items[0]->s);
    w->seen = fld_xreallocarray(w->seen, w->n + 1, sizeof *w->seen);
    w->seen[w->n++] = v;
    return w->fn(w->data, v, before);
}

int cmd_history_walk(struct cmd_ctx *ctx, const char *id, cmd_history_fn fn,
                     void *data)
{
    struct walk w = {ctx, NULL, 0, fn, data};
    size_t i;
    int rc;

    rc = fld_store_each_version(ctx->st, id, FLD_ORDER_ARRIVAL, walk_row, &w,
                                &ctx->err);
    for (i = 0; i < w.n; i++)
        fld_version_free(w.seen[i]);
    free(w.seen);
    return rc;
}

/* One version of `field history`: into arr (--json), else printed. */
static int history_row(void *arr, const struct fld_version *v,
                       const struct fld_json *before)
{
    char when[32];

    if (arr != NULL) {
        struct fld_json *o = version_json(v);

        fld_json_set(o, "parents", fld_json_clone(v->parents));
        fld_json_set(o, "answers", fld_json_clone(v->answers));
        if (v->review != NULL)
            fld_json_set(o, "review", fld_json_clone(v->review));
        fld_json_append(arr, o);
        return FLD_OK;
    }
    cmd_format_time(v->hlc.ms, when);
    printf("%.16s  %s  %-6s ", v->hash, when, v->status);
    print_author(v);
    printf("  #%lld\n", (long long)v->dseq);
    print_changes(before, v->answers);
    print_review_note(v);
    return FLD_OK;
}

int cmd_history(struct cmd_ctx *ctx, int argc, char **argv)
{
    char record[FLD_RECORD_HEX_LEN + 1];
    struct fld_json *arr = NULL;
    int rc, first;

    if ((rc = cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)))
        return rc;
    if (first + 1 != argc)
        return fld_err_set(&ctx->err, FLD_EUSAGE, "give one record");
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        return rc;
    if ((rc = cmd_find_record(ctx, argv[first], record)) != FLD_OK)
        return rc;
    if (ctx->json)
        arr = fld_json_array();
    rc = cmd_history_walk(ctx, record, history_row, arr);
    if (rc == FLD_OK && arr)
        rc = cmd_print_json(ctx, arr);
    fld_json_free(arr);
    return rc;
}
