/*
 * ui_api.c - the JSON endpoints of `field ui` (see ui_api.h, docs/UI.md).
 *
 *   GET  /api/templates                  installed templates
 *   GET  /api/units?q=TEXT               units valid today whose name or
 *                                        code holds TEXT, diacritics optional
 *   GET  /api/records?status=&unit=&template=
 *   POST /api/records                    {template, unit}
 *   GET  /api/records/ID                 the form state
 *   POST /api/records/ID/evaluate        {answers}: the state, nothing saved
 *   POST /api/records/ID/save            {answers, base}: one signed version
 *   POST /api/records/ID/finalize        {base?}: status final, or 422
 *   POST /api/records/ID/resolve         {answers, base}: settles every
 *                                        conflict, as `field resolve`
 *   GET  /api/records/ID/history         every version, what it changed
 *   GET  /api/review                     the supervisor's inbox, as
 *                                        `field review --json`
 *   POST /api/records/ID/approve         {note?, decision_number?,
 *                                        decision_date?, base?}
 *   POST /api/records/ID/reject          {reason, base?}
 *   POST /api/records/ID/return          {reason, base?}: each one signed
 *                                        decision, as `field approve|
 *                                        reject|return` (cmd_review.c)
 *
 * GET|POST /api/sync is ui_sync.c's, /api/report and /api/report.xlsx
 * ui_report.c's: each runs on a thread of its own.
 *
 * "answers" is an object whose keys are exactly the left side of `field set`
 * (edit.h: NAME, GROUP[ITEM].NAME, GROUP[ITEM] to delete an item; a new
 * item's id is made by the page, 16 hex digits) and whose values are the
 * text a person typed, or null to clear. The page sends what it changed
 * since it loaded the record; nothing else of the answers travels. So the
 * typing, normalising and checking of every value is edit.c's, the form
 * state is form.c's, and a save is cmd_record_save(), the function behind
 * `field set`: there is no second form engine and no second signing path.
 *
 * A save names the head it edited ("base"). When the record moved meanwhile
 * (another device's version arrived by sync, another tab saved), the answer
 * is 409 with the record's current state, and nothing is written: the page
 * shows it and keeps the person's changes to apply again.
 */
#include "ui_api.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "capture.h"
#include "client.h"
#include "edit.h"
#include "form.h"
#include "merge.h"
#include "norm.h"
#include "ui_conflicts.h"

/* A search or filter value longer than this is refused. */
#define QUERY_MAX 128
/* Units a search returns at most, and records a list. */
#define UNITS_MAX 50
#define RECORDS_MAX 500
/* Answers one request may change, and the longest name of one
 * (GROUP[16 hex digits].NAME). */
#define ANSWERS_MAX 2000
#define KEY_MAX 256

void fld_ui_reply_error(struct fld_ui_reply *out, int status, const char *code,
                        const char *vi, const char *en, const char *field)
{
    struct fld_json *o = fld_json_object();

    out->status = status;
    fld_json_set(o, "error", fld_json_string(code));
    fld_json_set(o, "message_vi", fld_json_string(vi));
    fld_json_set(o, "message_en", fld_json_string(en));
    if (field != NULL)
        fld_json_set(o, "field", fld_json_string(field));
    fld_buf_reset(&out->body);
    fld_json_write(o, &out->body, NULL);
    fld_json_free(o);
}

/* Send v (consumed) with status. A tree we built always writes; should a
 * string from the store not be UTF-8, the answer is a 500, not half a
 * document. */
void fld_ui_reply_json(struct fld_ui_reply *out, int status, struct fld_json *v)
{
    struct fld_err err;

    fld_buf_reset(&out->body);
    if (fld_json_write(v, &out->body, &err) != FLD_OK)
        fld_ui_reply_error(out, 500, "internal", "Lỗi nội bộ", err.msg, NULL);
    else
        out->status = status;
    fld_json_free(v);
}

/* The same error with extra members (state, missing) added to it. */
static void reply_error_with(struct fld_ui_reply *out, int status,
                             const char *code, const char *vi, const char *en,
                             const char *key, struct fld_json *extra)
{
    struct fld_json *o = fld_json_object();

    fld_json_set(o, "error", fld_json_string(code));
    fld_json_set(o, "message_vi", fld_json_string(vi));
    fld_json_set(o, "message_en", fld_json_string(en));
    fld_json_set(o, key, extra);
    fld_ui_reply_json(out, status, o);
}

void fld_ui_reply_failure(struct fld_ui_reply *out, struct cmd_ctx *ctx, int rc)
{
    const char *en = ctx->err.msg[0] ? ctx->err.msg : fld_strerror(rc);

    switch (rc) {
    case FLD_NOTFOUND:
        fld_ui_reply_error(out, 404, "not_found", "Không tìm thấy", en, NULL);
        break;
    case FLD_CONFLICT:
    case FLD_EUSAGE:
        fld_ui_reply_error(out, 400, "bad_request", "Yêu cầu không hợp lệ", en,
                           NULL);
        break;
    case FLD_EINVAL:
    case FLD_EXISTS:
        fld_ui_reply_error(out, 422, "refused", "Không được chấp nhận", en,
                           NULL);
        break;
    case FLD_ELIMIT:
        fld_ui_reply_error(out, 413, "too_large", "Dữ liệu quá lớn", en, NULL);
        break;
    case FLD_EBUSY:
        fld_ui_reply_error(out, 503, "busy",
                           "Dữ liệu đang bận, hãy thử lại sau giây lát", en,
                           NULL);
        break;
    default:
        fld_ui_reply_error(out, 500, "internal", "Lỗi nội bộ", en, NULL);
    }
}

char *fld_ui_fold(const char *s)
{
    utf8proc_uint8_t *mapped = NULL;
    utf8proc_ssize_t n;
    char *out;
    size_t i, j;

    n = utf8proc_map((const utf8proc_uint8_t *)s, 0, &mapped,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_DECOMPOSE |
                         UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD);
    if (n < 0)
        return NULL;
    /* đ (U+0111, what Đ folds to) has no decomposition: it is a letter of
     * its own, which people type as d. */
    out = fld_xmalloc((size_t)n + 1);
    for (i = j = 0; i < (size_t)n; i++) {
        if (mapped[i] == 0xc4 && mapped[i + 1] == 0x91) {
            out[j++] = 'd';
            i++;
        } else {
            out[j++] = (char)mapped[i];
        }
    }
    out[j] = '\0';
    free(mapped);
    return out;
}

/* A JSON string of s, which is freed. */
static struct fld_json *string_take(char *s)
{
    struct fld_json *j = fld_json_string(s);

    free(s);
    return j;
}

static struct fld_json *text_json(const struct fld_text *t)
{
    struct fld_json *o = fld_json_object();

    fld_json_set(o, "vi", fld_json_string(t->vi ? t->vi : ""));
    fld_json_set(o, "en",
                 fld_json_string(fld_text_get(t, FLD_LANG_EN)
                                     ? fld_text_get(t, FLD_LANG_EN)
                                     : ""));
    return o;
}

static struct fld_json *vi_en(const char *vi, const char *en)
{
    struct fld_json *o = fld_json_object();

    fld_json_set(o, "vi", fld_json_string(vi));
    fld_json_set(o, "en", fld_json_string(en));
    return o;
}

/* ---- the form state ---------------------------------------------------- */

/* What a state is built from: a record's template and answers, evaluated. */
struct state_in {
    const struct fld_template *t;
    const struct fld_json *answers;
    struct fld_form *f;
    struct fld_json *missing; /* array, built first: questions look here */
};

static const char *problem_kind(enum fld_problem_kind k)
{
    switch (k) {
    case FLD_PROBLEM_REQUIRED:
        return "required";
    case FLD_PROBLEM_CONSTRAINT:
        return "constraint";
    case FLD_PROBLEM_TYPE:
        return "type";
    default:
        return "choice";
    }
}

/* The `field set` name of q (in item, NULL outside repeats). */
static char *key_of(const struct fld_template *t, const struct fld_question *q,
                    const char *item)
{
    if (item == NULL)
        return fld_xstrdup(q->name);
    return fld_xasprintf("%s[%s].%s", fld_template_section(t, q->section)->name,
                         item, q->name);
}

/* msg without the "NAME: " the engine starts it with: the page shows it
 * under the question already. */
static const char *unnamed(const char *msg, const struct fld_question *q)
{
    size_t len = strlen(q->name);

    if (strncmp(msg, q->name, len) == 0 && strncmp(msg + len, ": ", 2) == 0)
        return msg + len + 2;
    return msg;
}

/* The problem of q's answer in both languages, or NULL when none. */
static struct fld_json *answer_error(const struct state_in *in,
                                     const struct fld_question *q,
                                     const char *item)
{
    struct fld_err vi, en;

    if (fld_form_answer_error(in->f, q, item, FLD_LANG_VI, &vi) == FLD_OK)
        return NULL;
    fld_form_answer_error(in->f, q, item, FLD_LANG_EN, &en);
    return vi_en(unnamed(vi.msg, q), unnamed(en.msg, q));
}

static struct fld_json *missing_json(const struct state_in *in)
{
    struct fld_json *arr = fld_json_array();
    size_t i, n = fld_form_n_problems(in->f);

    for (i = 0; i < n; i++) {
        const struct fld_problem *p = fld_form_problem(in->f, i);
        struct fld_json *o = fld_json_object(), *msg;

        fld_json_set(o, "key",
                     string_take(key_of(in->t, p->question, p->item)));
        fld_json_set(o, "question", fld_json_string(p->question->name));
        if (p->item)
            fld_json_set(o, "item", fld_json_string(p->item));
        fld_json_set(o, "kind", fld_json_string(problem_kind(p->kind)));
        fld_json_set(o, "label", text_json(&p->question->label));
        if (p->kind == FLD_PROBLEM_REQUIRED)
            msg = vi_en("Bắt buộc, chưa trả lời", "Required, not answered");
        else
            msg = answer_error(in, p->question, p->item);
        if (msg == NULL)
            msg =
                vi_en("Câu trả lời không hợp lệ", "The answer is not accepted");
        fld_json_set(o, "message", msg);
        fld_json_append(arr, o);
    }
    return arr;
}

static bool is_missing(const struct state_in *in, const struct fld_question *q,
                       const char *item)
{
    size_t i, n = fld_form_n_problems(in->f);

    for (i = 0; i < n; i++) {
        const struct fld_problem *p = fld_form_problem(in->f, i);

        if (p->question == q && p->kind == FLD_PROBLEM_REQUIRED &&
            ((p->item == NULL && item == NULL) ||
             (p->item && item && strcmp(p->item, item) == 0)))
            return true;
    }
    return false;
}

/* The stored answer of q (in item), borrowed; NULL when blank. */
static const struct fld_json *stored_answer(const struct state_in *in,
                                            const struct fld_question *q,
                                            const char *item)
{
    const struct fld_json *group;

    if (item == NULL)
        return fld_json_get(in->answers, q->name);
    group = fld_json_get(in->answers,
                         fld_template_section(in->t, q->section)->name);
    return fld_json_get(fld_json_get(group, item), q->name);
}

/* q's choices the form offers for item (f NULL: all of them). */
static struct fld_json *choices_json(const struct fld_question *q,
                                     struct fld_form *f, size_t qi, size_t item)
{
    struct fld_json *arr = fld_json_array(), *ch;
    size_t c;

    for (c = 0; c < q->n_choices; c++) {
        if (f != NULL && !fld_form_choice_allowed(f, qi, item, &q->choices[c]))
            continue;
        ch = fld_json_object();
        fld_json_set(ch, "name", fld_json_string(q->choices[c].name));
        fld_json_set(ch, "label", text_json(&q->choices[c].label));
        fld_json_append(arr, ch);
    }
    return arr;
}

static struct fld_json *question_json(struct state_in *in, size_t qi,
                                      size_t item, const char *item_id)
{
    const struct fld_question *q = fld_template_question_at(in->t, qi);
    const struct fld_json *answer = stored_answer(in, q, item_id);
    struct fld_json *o = fld_json_object(), *e;

    fld_json_set(o, "key", string_take(key_of(in->t, q, item_id)));
    fld_json_set(o, "name", fld_json_string(q->name));
    fld_json_set(o, "type", fld_json_string(fld_qtype_name(q->type)));
    fld_json_set(o, "label", text_json(&q->label));
    if (q->hint.vi)
        fld_json_set(o, "hint", text_json(&q->hint));
    if (q->unit)
        fld_json_set(o, "unit", fld_json_string(q->unit));
    fld_json_set(o, "relevant",
                 fld_json_bool(fld_form_relevant(in->f, qi, item)));
    fld_json_set(o, "required",
                 fld_json_bool(q->required || is_missing(in, q, item_id)));
    fld_json_set(o, "calculated", fld_json_bool(q->calculation != NULL));
    if (q->calculation != NULL) {
        const struct fld_value *v = fld_form_value(in->f, qi, item);
        char *tmp = NULL;
        const char *text = v ? fld_value_text(v, &tmp) : NULL;

        fld_json_set(o, "value",
                     text ? fld_json_string(text) : fld_json_null());
        free(tmp);
    } else {
        fld_json_set(o, "value",
                     answer ? fld_json_clone(answer) : fld_json_null());
    }
    if (q->n_choices > 0)
        fld_json_set(o, "choices", choices_json(q, in->f, qi, item));
    if ((e = answer_error(in, q, item_id)) != NULL)
        fld_json_set(o, "error", e);
    return o;
}

static struct fld_json *section_json(struct state_in *in, size_t si)
{
    const struct fld_section *s = fld_template_section(in->t, si);
    struct fld_json *o = fld_json_object(), *arr, *items, *it;
    bool any = false;
    size_t i, k, n;

    fld_json_set(o, "name", fld_json_string(s->name));
    fld_json_set(o, "label", text_json(&s->label));
    fld_json_set(o, "repeat", fld_json_bool(s->is_repeat));
    if (!s->is_repeat) {
        arr = fld_json_array();
        for (k = 0; k < s->n; k++) {
            any = any || fld_form_relevant(in->f, s->first + k, 0);
            fld_json_append(arr, question_json(in, s->first + k, 0, NULL));
        }
        fld_json_set(o, "questions", arr);
        fld_json_set(o, "relevant", fld_json_bool(any));
        return o;
    }
    /* A repeat group: each item's questions, and the template of a new
     * item's (its fields, unanswered) for the page to add one. */
    items = fld_json_array();
    n = fld_form_n_items(in->f, si);
    for (i = 0; i < n; i++) {
        const char *id = fld_form_item_id(in->f, si, i);

        it = fld_json_object();
        fld_json_set(it, "id", fld_json_string(id));
        arr = fld_json_array();
        for (k = 0; k < s->n; k++)
            fld_json_append(arr, question_json(in, s->first + k, i, id));
        fld_json_set(it, "questions", arr);
        fld_json_append(items, it);
    }
    arr = fld_json_array();
    for (k = 0; k < s->n; k++) {
        const struct fld_question *q =
            fld_template_question_at(in->t, s->first + k);
        struct fld_json *f = fld_json_object();

        fld_json_set(f, "name", fld_json_string(q->name));
        fld_json_set(f, "type", fld_json_string(fld_qtype_name(q->type)));
        fld_json_set(f, "label", text_json(&q->label));
        fld_json_set(f, "calculated", fld_json_bool(q->calculation != NULL));
        if (q->n_choices > 0) /* all of them: no answer filters them yet */
            fld_json_set(f, "choices", choices_json(q, NULL, 0, 0));
        fld_json_append(arr, f);
    }
    fld_json_set(o, "items", items);
    fld_json_set(o, "fields", arr);
    fld_json_set(o, "relevant", fld_json_bool(true));
    return o;
}

static struct fld_json *review_json(const struct fld_version *v)
{
    struct fld_json *o = fld_json_object();
    const char *note = v->review ? fld_json_get_string(v->review, "note") : 0;

    fld_json_set(o, "status", fld_json_string(v->status));
    fld_json_set(o, "time_ms", fld_json_int(v->hlc.ms));
    if (v->inspector)
        fld_json_set(o, "by", fld_json_string(v->inspector));
    if (note)
        fld_json_set(o, "reason", fld_json_string(note));
    return o;
}

/* The name of a unit (fld_store_unit_at), new in *data. */
static int unit_name(void *data, const struct fld_unit *u)
{
    *(char **)data = fld_xstrdup(u->name);
    return FLD_OK;
}

/*
 * The state of record r with answers (r's merged answers, or an edit of
 * them): everything the page draws. errors, when given, is the object of
 * typed values refused (key -> message), and is consumed.
 */
/*
 * The heads a page started from, as one token: the head's hash, or the
 * sorted hashes of several joined by '+' (a record merged without
 * conflicts may be edited; its next version names every head). A save
 * or resolve whose token is no longer the record's finds it moved.
 */
static char *heads_token(const struct syn_merged *m)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i;

    for (i = 0; i < m->n_heads; i++)
        fld_buf_printf(&b, "%s%s", i ? "+" : "", m->heads[i]);
    return fld_buf_detach(&b, NULL);
}

static int build_state(struct cmd_ctx *ctx, const struct cmd_record *r,
                       const struct fld_json *answers, struct fld_json *errors,
                       struct fld_json **out)
{
    const struct syn_merged *m = r->merged;
    struct state_in in = {r->t, answers, NULL, NULL};
    struct fld_json *o, *tmpl, *arr;
    char *name = NULL;
    char today[11];
    size_t i, n;
    int rc;

    *out = NULL;
    cmd_today(today);
    if ((rc = fld_form_check(r->t, answers, today, &in.f, &ctx->err))) {
        fld_json_free(errors);
        return rc;
    }
    o = fld_json_object();
    fld_json_set(o, "id", fld_json_string(r->id));
    tmpl = fld_json_object();
    fld_json_set(tmpl, "id", fld_json_string(fld_template_id(r->t)));
    fld_json_set(tmpl, "hash", fld_json_string(fld_template_hash(r->t)));
    fld_json_set(tmpl, "title", text_json(fld_template_title(r->t)));
    fld_json_set(o, "template", tmpl);
    fld_json_set(o, "unit", fld_json_string(m->newest->subject));
    if (fld_store_unit_at(ctx->st, m->newest->subject, today, unit_name, &name,
                          &ctx->err) == FLD_OK)
        fld_json_set(o, "unit_name", string_take(name));
    fld_err_clear(&ctx->err);
    fld_json_set(o, "status", fld_json_string(m->status));
    fld_json_set(o, "base", string_take(heads_token(m)));
    fld_json_set(o, "heads", fld_json_int((int64_t)m->n_heads));
    fld_json_set(o, "conflicts", fld_json_int((int64_t)m->n_conflicts));
    fld_json_set(o, "conflict_list", fld_ui_conflicts_json(r));
    fld_json_set(o, "editable",
                 fld_json_bool(m->n_conflicts == 0 &&
                               strcmp(m->status, "approved") != 0 &&
                               strcmp(m->status, "rejected") != 0));
    if (m->review)
        fld_json_set(o, "review", review_json(m->review));
    in.missing = missing_json(&in);
    arr = fld_json_array();
    n = fld_template_n_questions(r->t);
    for (i = 0; i < n; i++)
        if (fld_template_question_at(r->t, i)->section == FLD_NO_SECTION)
            fld_json_append(arr, question_json(&in, i, 0, NULL));
    fld_json_set(o, "parameters", arr);
    arr = fld_json_array();
    for (i = 0; i < fld_template_n_sections(r->t); i++)
        fld_json_append(arr, section_json(&in, i));
    fld_json_set(o, "sections", arr);
    fld_json_set(o, "missing", in.missing);
    if (errors)
        fld_json_set(o, "errors", errors);
    fld_form_free(in.f);
    *out = o;
    return FLD_OK;
}

/* ---- requests ------------------------------------------------------------ */

/* The body as a JSON object, or a 400 naming what is wrong. */
static int parse_body(const uint8_t *body, size_t len, struct fld_json **out,
                      struct fld_ui_reply *reply)
{
    struct fld_err err;
    char en[FLD_ERR_MSG_MAX + 32];

    *out = NULL;
    if (body == NULL || len == 0) {
        *out = fld_json_object();
        return FLD_OK;
    }
    if (fld_json_parse(body, len, out, &err) != FLD_OK) {
        snprintf(en, sizeof en, "the body is not JSON: %s", err.msg);
        fld_ui_reply_error(reply, 400, "bad_json",
                           "Nội dung gửi lên không phải JSON hợp lệ", en, NULL);
        return FLD_EINVAL;
    }
    if ((*out)->type != FLD_JSON_OBJECT) {
        fld_json_free(*out);
        *out = NULL;
        fld_ui_reply_error(reply, 400, "bad_request",
                           "Nội dung gửi lên phải là một đối tượng JSON",
                           "the body must be a JSON object", NULL);
        return FLD_EINVAL;
    }
    return FLD_OK;
}

/* A member that must be a string when present (required: when absent too). */
static int get_string(const struct fld_json *o, const char *key, bool required,
                      const char **out, struct fld_ui_reply *reply)
{
    const struct fld_json *v = fld_json_get(o, key);
    char en[128];

    *out = NULL;
    if (v == NULL && !required)
        return FLD_OK;
    if (v == NULL || v->type != FLD_JSON_STRING) {
        snprintf(en, sizeof en, "\"%s\" must be a string", key);
        fld_ui_reply_error(reply, 400, "bad_type",
                           "Sai kiểu dữ liệu: cần một chuỗi", en, key);
        return FLD_EINVAL;
    }
    *out = v->s;
    return FLD_OK;
}

/*
 * The "answers" member as `field set` assignments "KEY=VALUE" (new strings
 * in *argv, *argc of them; free with free_assignments). Each value a
 * string or null.
 */
static int assignments(const struct fld_json *body, char ***argv, size_t *argc,
                       struct fld_ui_reply *reply)
{
    const struct fld_json *a = fld_json_get(body, "answers");
    char field[160];
    size_t i;

    *argv = NULL;
    *argc = 0;
    if (a == NULL)
        return FLD_OK;
    if (a->type != FLD_JSON_OBJECT) {
        fld_ui_reply_error(
            reply, 400, "bad_type",
            "Sai kiểu dữ liệu: \"answers\" phải là một đối tượng",
            "\"answers\" must be an object", "answers");
        return FLD_EINVAL;
    }
    if (a->n > ANSWERS_MAX) {
        fld_ui_reply_error(reply, 413, "too_large", "Quá nhiều câu trả lời",
                           "too many answers in one request", "answers");
        return FLD_ELIMIT;
    }
    for (i = 0; i < a->n; i++) {
        const struct fld_json *v = a->members[i].value;

        /* a key is a `field set` name: '=' would move the split */
        if (a->members[i].key[0] == '\0' ||
            strchr(a->members[i].key, '=') != NULL ||
            strlen(a->members[i].key) > KEY_MAX) {
            fld_ui_reply_error(reply, 400, "bad_request",
                               "Tên câu hỏi không hợp lệ", "a bad answer name",
                               "answers");
            return FLD_EINVAL;
        }
        if (v->type != FLD_JSON_STRING && v->type != FLD_JSON_NULL) {
            snprintf(field, sizeof field, "answers.%.140s", a->members[i].key);
            fld_ui_reply_error(reply, 400, "bad_type",
                               "Sai kiểu dữ liệu: câu trả lời phải là chuỗi "
                               "hoặc null",
                               "an answer must be a string or null", field);
            return FLD_EINVAL;
        }
    }
    *argv = fld_xcalloc(a->n + 1, sizeof **argv);
    for (i = 0; i < a->n; i++) {
        const struct fld_json *v = a->members[i].value;

        (*argv)[i] = fld_xasprintf("%s=%s", a->members[i].key,
                                   v->type == FLD_JSON_STRING ? v->s : "");
    }
    *argc = a->n;
    return FLD_OK;
}

static void free_assignments(char **argv, size_t argc)
{
    size_t i;

    for (i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

static int read_record(struct cmd_ctx *ctx, const char *id,
                       struct cmd_record *r, struct fld_ui_reply *reply)
{
    int rc;

    fld_err_clear(&ctx->err);
    if ((rc = cmd_record_load(ctx, id, r)) != FLD_OK)
        fld_ui_reply_failure(reply, ctx, rc);
    return rc;
}

int fld_ui_record_state(struct cmd_ctx *ctx, const char *id,
                        struct fld_json **out, struct fld_ui_reply *reply)
{
    struct cmd_record r;
    int rc;

    *out = NULL;
    memset(&r, 0, sizeof r);
    rc = read_record(ctx, id, &r, reply); /* which replies on failure */
    if (rc == FLD_OK) {
        rc = build_state(ctx, &r, r.merged->answers, NULL, out);
        if (rc != FLD_OK)
            fld_ui_reply_failure(reply, ctx, rc);
    }
    cmd_record_free(&r);
    return rc;
}

static void get_record(struct cmd_ctx *ctx, const char *id,
                       struct fld_ui_reply *reply)
{
    struct cmd_record r;
    struct fld_json *state;
    int rc;

    memset(&r, 0, sizeof r);
    if (read_record(ctx, id, &r, reply) == FLD_OK) {
        if ((rc = build_state(ctx, &r, r.merged->answers, NULL, &state)))
            fld_ui_reply_failure(reply, ctx, rc);
        else
            fld_ui_reply_json(reply, 200, state);
    }
    cmd_record_free(&r);
}

/*
 * The record's state with the changes applied one by one and checked for
 * their type only: a value refused goes into "errors" under its key and
 * the others still count, so the page sees every consequence at once.
 */
static void evaluate(struct cmd_ctx *ctx, const char *id,
                     const struct fld_json *body, struct fld_ui_reply *reply)
{
    struct cmd_record r;
    struct fld_edit *e = NULL;
    struct fld_json *errors, *state;
    char **argv = NULL;
    size_t argc = 0, i;
    int rc;

    memset(&r, 0, sizeof r);
    if (assignments(body, &argv, &argc, reply) != FLD_OK)
        goto out;
    if (read_record(ctx, id, &r, reply) != FLD_OK)
        goto out;
    e = fld_edit_new(r.t, r.merged->answers);
    errors = fld_json_object();
    for (i = 0; i < argc; i++) {
        struct fld_err err;
        char *eq = strchr(argv[i], '=');

        if (fld_edit_assign(e, argv[i], &err) == FLD_OK)
            continue;
        *eq = '\0';
        fld_json_set(errors, argv[i], fld_json_string(err.msg));
    }
    if ((rc = build_state(ctx, &r, fld_edit_answers(e), errors, &state)))
        fld_ui_reply_failure(reply, ctx, rc);
    else
        fld_ui_reply_json(reply, 200, state);
out:
    fld_edit_free(e);
    free_assignments(argv, argc);
    cmd_record_free(&r);
}

/* 409: the record is not the one the page edited; here is what it is. */
static void reply_moved(struct cmd_ctx *ctx, const char *id,
                        struct fld_ui_reply *reply)
{
    struct cmd_record r;
    struct fld_json *state = NULL;

    memset(&r, 0, sizeof r);
    if (read_record(ctx, id, &r, reply) == FLD_OK &&
        build_state(ctx, &r, r.merged->answers, NULL, &state) == FLD_OK)
        reply_error_with(reply, 409, "moved",
                         "Phiếu đã được thay đổi ở nơi khác (thiết bị hoặc tab "
                         "khác); đây là trạng thái mới nhất, chưa lưu gì",
                         "the record changed elsewhere (another device or "
                         "tab); this is its current state, nothing was saved",
                         "state", state);
    cmd_record_free(&r);
}

/* FLD_OK when r's heads are still those of base (NULL: any), else a 409
 * with the record's state. */
static int same_heads(struct cmd_ctx *ctx, const char *id, const char *base,
                      const struct cmd_record *r, struct fld_ui_reply *reply)
{
    char *now;
    bool same;

    if (base == NULL)
        return FLD_OK;
    now = heads_token(r->merged);
    same = strcmp(now, base) == 0;
    free(now);
    if (same)
        return FLD_OK;
    reply_moved(ctx, id, reply);
    return FLD_CONFLICT;
}

/* Open r for an edit that started from base (NULL: any). */
static int open_for_edit(struct cmd_ctx *ctx, const char *id, const char *base,
                         struct cmd_record *r, struct fld_ui_reply *reply)
{
    int rc;

    fld_err_clear(&ctx->err);
    rc = cmd_record_edit(ctx, id, r);
    if (rc == FLD_EINVAL && r->merged != NULL && r->merged->n_conflicts > 0) {
        reply_moved(ctx, id, reply);
        return rc;
    }
    if (rc != FLD_OK) {
        fld_ui_reply_failure(reply, ctx, rc);
        return rc;
    }
    return same_heads(ctx, id, base, r, reply);
}

/* Sign answers with status on r; the reply is the new state. */
static void sign(struct cmd_ctx *ctx, struct cmd_record *r,
                 const struct fld_json *answers, const char *status, int code,
                 struct fld_ui_reply *reply)
{
    struct fld_version *v = NULL;
    struct fld_json *o, *state;
    char id[FLD_RECORD_HEX_LEN + 1];
    int rc;

    rc = cmd_record_save(ctx, r, answers, status, &v);
    if (rc != FLD_OK && rc != FLD_EXISTS) {
        fld_ui_reply_failure(reply, ctx, rc);
        return;
    }
    memcpy(id, r->id, sizeof id);
    cmd_record_free(r);
    o = fld_json_object();
    fld_json_set(o, "saved", fld_json_bool(rc == FLD_OK));
    if (v != NULL)
        fld_json_set(o, "version", fld_json_string(v->hash));
    fld_version_free(v);
    if (read_record(ctx, id, r, reply) != FLD_OK) {
        fld_json_free(o);
        return;
    }
    if ((rc = build_state(ctx, r, r->merged->answers, NULL, &state))) {
        fld_json_free(o);
        fld_ui_reply_failure(reply, ctx, rc);
        return;
    }
    fld_json_set(o, "state", state);
    fld_ui_reply_json(reply, code, o);
}

/* 422 with the list of what stops answers from being final, when any. */
static int check_complete(struct cmd_ctx *ctx, const struct cmd_record *r,
                          const struct fld_json *answers, const char *vi,
                          const char *en, struct fld_ui_reply *reply)
{
    struct state_in in = {r->t, answers, NULL, NULL};
    char today[11];
    int rc;

    cmd_today(today);
    if ((rc = fld_form_check(r->t, answers, today, &in.f, &ctx->err))) {
        fld_ui_reply_failure(reply, ctx, rc);
        return rc;
    }
    if (fld_form_n_problems(in.f) > 0) {
        reply_error_with(reply, 422, "incomplete", vi, en, "missing",
                         missing_json(&in));
        rc = FLD_EINVAL;
    }
    fld_form_free(in.f);
    return rc;
}

/*
 * 422 for an edit cmd_apply() refused, its reason in both languages: the
 * engine words a constraint in the template's language of the moment, so
 * the edit is checked once more in the other (it changes nothing).
 */
static void refuse_edit(struct cmd_ctx *ctx, const struct cmd_record *r,
                        char **argv, size_t argc, struct fld_ui_reply *reply)
{
    enum fld_lang lang = ctx->lang;
    struct fld_json *answers = NULL;
    char vi[FLD_ERR_MSG_MAX + 64], en[FLD_ERR_MSG_MAX + 64];

    ctx->lang = FLD_LANG_VI;
    cmd_apply(ctx, r->t, r->merged->answers, (int)argc, argv, &answers);
    snprintf(vi, sizeof vi, "Không được chấp nhận, chưa lưu gì: %s",
             ctx->err.msg);
    fld_json_free(answers);
    answers = NULL;
    ctx->lang = FLD_LANG_EN;
    cmd_apply(ctx, r->t, r->merged->answers, (int)argc, argv, &answers);
    snprintf(en, sizeof en, "refused, nothing saved: %s", ctx->err.msg);
    fld_json_free(answers);
    ctx->lang = lang;
    fld_ui_reply_error(reply, 422, "refused", vi, en, NULL);
}

/* r's merged answers with the page's changes applied, as `field set`
 * types and checks them; on a refusal the reply says why. */
static int apply_changes(struct cmd_ctx *ctx, const struct cmd_record *r,
                         char **argv, size_t argc, struct fld_json **answers,
                         struct fld_ui_reply *reply)
{
    int rc = cmd_apply(ctx, r->t, r->merged->answers, (int)argc, argv, answers);

    if (rc == FLD_EUSAGE || rc == FLD_NOTFOUND || rc == FLD_EINVAL)
        refuse_edit(ctx, r, argv, argc, reply);
    else if (rc != FLD_OK)
        fld_ui_reply_failure(reply, ctx, rc);
    return rc;
}

static void save(struct cmd_ctx *ctx, const char *id,
                 const struct fld_json *body, struct fld_ui_reply *reply)
{
    struct cmd_record r;
    struct fld_json *answers = NULL;
    const char *base;
    char **argv = NULL;
    size_t argc = 0;

    memset(&r, 0, sizeof r);
    if (get_string(body, "base", true, &base, reply) != FLD_OK)
        goto out;
    if (assignments(body, &argv, &argc, reply) != FLD_OK)
        goto out;
    if (open_for_edit(ctx, id, base, &r, reply) != FLD_OK)
        goto out;
    if (apply_changes(ctx, &r, argv, argc, &answers, reply) != FLD_OK)
        goto out;
    /* As `field set`: a final record may be corrected, but stays complete. */
    if (strcmp(r.merged->status, "final") == 0 &&
        check_complete(ctx, &r, answers,
                       "Phiếu đã hoàn tất phải giữ đủ câu trả lời; chưa lưu gì",
                       "a final record must stay complete; nothing was saved",
                       reply) != FLD_OK)
        goto out;
    sign(ctx, &r, answers, cmd_edit_status(r.merged->status), 200, reply);
out:
    fld_json_free(answers);
    free_assignments(argv, argc);
    cmd_record_free(&r);
}

static void finalize(struct cmd_ctx *ctx, const char *id,
                     const struct fld_json *body, struct fld_ui_reply *reply)
{
    struct cmd_record r;
    const char *base;

    memset(&r, 0, sizeof r);
    if (get_string(body, "base", false, &base, reply) != FLD_OK)
        goto out;
    if (open_for_edit(ctx, id, base, &r, reply) != FLD_OK)
        goto out;
    if (strcmp(r.merged->status, "final") == 0) {
        fld_ui_reply_error(reply, 422, "refused", "Phiếu đã hoàn tất rồi",
                           "the record is already final", NULL);
        goto out;
    }
    if (check_complete(ctx, &r, r.merged->answers,
                       "Chưa thể hoàn tất: còn câu hỏi thiếu hoặc sai",
                       "cannot finalize: questions are missing or wrong",
                       reply) != FLD_OK)
        goto out;
    sign(ctx, &r, r.merged->answers, "final", 200, reply);
out:
    cmd_record_free(&r);
}

/*
 * POST /api/records/ID/resolve {answers, base}: what `field resolve RECORD
 * NAME=VALUE...` does. One signed version on all the heads: the merged
 * answers with the chosen values (the page sends each conflict's chosen
 * candidate's assignments, ui_conflicts.h), its status the merged one, so
 * every conflict is settled at once and nothing else changes.
 */
static void resolve(struct cmd_ctx *ctx, const char *id,
                    const struct fld_json *body, struct fld_ui_reply *reply)
{
    struct cmd_record r;
    struct fld_json *answers = NULL;
    const char *base;
    char **argv = NULL;
    size_t argc = 0;

    memset(&r, 0, sizeof r);
    if (get_string(body, "base", true, &base, reply) != FLD_OK)
        goto out;
    if (assignments(body, &argv, &argc, reply) != FLD_OK)
        goto out;
    if (read_record(ctx, id, &r, reply) != FLD_OK)
        goto out;
    if (r.merged->n_heads < 2) {
        fld_ui_reply_error(reply, 409, "nothing_to_resolve",
                           "Phiếu không có phiên bản đồng thời để giải quyết",
                           "the record has no concurrent versions to resolve",
                           NULL);
        goto out;
    }
    if (fld_status_is_decision(r.merged->status)) {
        fld_ui_reply_error(reply, 409, "decision_conflict",
                           "Các quyết định duyệt khác nhau: người giám sát "
                           "quyết định lại (duyệt, từ chối hoặc trả lại)",
                           "crossed review decisions: a supervisor decides "
                           "again (approve, reject or return)",
                           NULL);
        goto out;
    }
    if (same_heads(ctx, id, base, &r, reply) != FLD_OK)
        goto out;
    if (apply_changes(ctx, &r, argv, argc, &answers, reply) != FLD_OK)
        goto out;
    sign(ctx, &r, answers, r.merged->status, 200, reply);
out:
    fld_json_free(answers);
    free_assignments(argv, argc);
    cmd_record_free(&r);
}

/*
 * The template installed now under id (or hash). cmd_load_template() holds
 * a name for the life of the command, which for `field ui` is hours: a
 * template added meanwhile ('field template add', a sync) would not be
 * seen. The name is looked up in the store on every request and the
 * template asked for by its hash, which never changes meaning.
 */
static int current_template(struct cmd_ctx *ctx, const char *id,
                            const struct fld_template **out)
{
    char hash[FLD_HASH_HEX_LEN + 1];
    uint8_t *body = NULL;
    size_t len;
    int rc;

    rc = fld_store_template_get(ctx->st, id, &body, &len, hash, &ctx->err);
    free(body);
    if (rc == FLD_NOTFOUND)
        return fld_err_set(
            &ctx->err, FLD_NOTFOUND,
            "no template '%s' is installed; see 'field templates'", id);
    if (rc != FLD_OK)
        return rc;
    return cmd_load_template(ctx, hash, out);
}

static void new_record(struct cmd_ctx *ctx, const struct fld_json *body,
                       struct fld_ui_reply *reply)
{
    const struct fld_template *t = NULL;
    struct fld_json *answers = NULL, *o;
    struct fld_version *v = NULL;
    const char *tid, *unit;
    int rc;

    if (get_string(body, "template", true, &tid, reply) != FLD_OK ||
        get_string(body, "unit", true, &unit, reply) != FLD_OK)
        return;
    fld_err_clear(&ctx->err);
    /* The same steps as `field new`, in its order. */
    rc = cmd_check_subject(ctx, unit);
    if (rc == FLD_OK)
        rc = current_template(ctx, tid, &t);
    if (rc == FLD_OK)
        rc = cmd_check_unit(ctx, t, unit);
    if (rc == FLD_OK)
        rc = cmd_apply(ctx, t, NULL, 0, NULL, &answers);
    if (rc == FLD_OK)
        rc =
            fld_capture_new(ctx->st, ctx->key, t, unit, answers, &v, &ctx->err);
    if (rc != FLD_OK) {
        fld_ui_reply_failure(reply, ctx, rc);
    } else {
        o = fld_json_object();
        fld_json_set(o, "id", fld_json_string(v->record));
        fld_json_set(o, "version", fld_json_string(v->hash));
        fld_ui_reply_json(reply, 201, o);
    }
    fld_version_free(v);
    fld_json_free(answers);
}

/* ---- lists --------------------------------------------------------------- */

struct template_list {
    struct cmd_ctx *ctx;
    struct fld_json *arr;
};

static int add_template(void *data, const char *hash, const char *id,
                        const uint8_t *body, size_t len, int64_t added_ms)
{
    struct template_list *l = data;
    const struct fld_template *t;
    struct fld_json *o;
    size_t i;

    (void)hash;
    (void)body;
    (void)len;
    (void)added_ms;
    for (i = 0; i < l->arr->n; i++)
        if (strcmp(fld_json_get_string(l->arr->items[i], "id"), id) == 0)
            return FLD_OK; /* the newest of this id is the one new uses */
    if (current_template(l->ctx, id, &t) != FLD_OK)
        return FLD_OK; /* `field verify` names a broken template */
    o = fld_json_object();
    fld_json_set(o, "id", fld_json_string(id));
    fld_json_set(o, "version", fld_json_string(fld_template_version(t)));
    fld_json_set(o, "hash", fld_json_string(fld_template_hash(t)));
    fld_json_set(o, "title", text_json(fld_template_title(t)));
    fld_json_append(l->arr, o);
    return FLD_OK;
}

static void list_templates(struct cmd_ctx *ctx, struct fld_ui_reply *reply)
{
    struct template_list l = {ctx, fld_json_array()};
    int rc;

    fld_err_clear(&ctx->err);
    rc = fld_store_each_template(ctx->st, add_template, &l, &ctx->err);
    if (rc != FLD_OK) {
        fld_json_free(l.arr);
        fld_ui_reply_failure(reply, ctx, rc);
        return;
    }
    fld_ui_reply_json(reply, 200, l.arr);
}

struct unit_search {
    const char *today;
    const char *folded; /* what was asked, folded */
    struct fld_json *arr;
};

static bool valid_on(const struct fld_unit *u, const char *day)
{
    return strcmp(u->valid_from, day) <= 0 &&
           (u->valid_to == NULL || strcmp(u->valid_to, day) >= 0);
}

static int match_unit(void *data, const struct fld_unit *u)
{
    struct unit_search *s = data;
    struct fld_json *o;
    char *name;
    bool hit;

    if (s->arr->n >= UNITS_MAX || !valid_on(u, s->today))
        return FLD_OK;
    name = fld_ui_fold(u->name);
    hit = strncmp(u->code, s->folded, strlen(s->folded)) == 0 ||
          (name != NULL && strstr(name, s->folded) != NULL);
    free(name);
    if (!hit)
        return FLD_OK;
    o = fld_json_object();
    fld_json_set(o, "code", fld_json_string(u->code));
    fld_json_set(o, "name", fld_json_string(u->name));
    fld_json_set(o, "kind", fld_json_string(u->kind));
    if (u->parent_code)
        fld_json_set(o, "parent", fld_json_string(u->parent_code));
    fld_json_append(s->arr, o);
    return FLD_OK;
}

static void search_units(struct cmd_ctx *ctx, const char *q,
                         struct fld_ui_reply *reply)
{
    struct unit_search s;
    char today[11];
    char *folded;
    int rc;

    if (q == NULL)
        q = "";
    if (strlen(q) > QUERY_MAX) {
        fld_ui_reply_error(reply, 400, "bad_request", "Từ tìm kiếm quá dài",
                           "the search text is too long", "q");
        return;
    }
    if ((folded = fld_ui_fold(q)) == NULL) {
        fld_ui_reply_error(reply, 400, "bad_request",
                           "Từ tìm kiếm không phải UTF-8",
                           "the search text is not UTF-8", "q");
        return;
    }
    cmd_today(today);
    s.today = today;
    s.folded = folded;
    s.arr = fld_json_array();
    fld_err_clear(&ctx->err);
    rc = fld_store_each_unit(ctx->st, match_unit, &s, &ctx->err);
    free(folded);
    if (rc != FLD_OK) {
        fld_json_free(s.arr);
        fld_ui_reply_failure(reply, ctx, rc);
        return;
    }
    fld_ui_reply_json(reply, 200, s.arr);
}

struct record_list {
    struct cmd_ctx *ctx;
    struct fld_json *returned, *others;
};

static int add_record(void *data, const struct fld_record_summary *s)
{
    struct record_list *l = data;
    struct cmd_ctx *ctx = l->ctx;
    struct fld_json *o;
    struct fld_err err;
    char *name = NULL;
    char today[11];
    bool returned = strcmp(s->status, "returned") == 0;

    if (l->returned->n + l->others->n >= RECORDS_MAX)
        return FLD_OK;
    o = fld_json_object();
    fld_json_set(o, "id", fld_json_string(s->record));
    fld_json_set(o, "template", fld_json_string(s->template_id));
    fld_json_set(o, "unit", fld_json_string(s->subject));
    cmd_today(today);
    if (fld_store_unit_at(ctx->st, s->subject, today, unit_name, &name, &err) ==
        FLD_OK)
        fld_json_set(o, "unit_name", fld_json_string(name));
    free(name);
    fld_json_set(o, "status", fld_json_string(s->status));
    fld_json_set(o, "updated_ms", fld_json_int(s->updated.ms));
    fld_json_set(o, "versions", fld_json_int(s->n_versions));
    fld_json_set(o, "heads", fld_json_int(s->n_heads));
    if (returned) {
        struct cmd_record r;

        /* The supervisor's reason is in the latest decision. */
        if (cmd_record_read(ctx, s->record, &r) == FLD_OK &&
            r.merged->review != NULL)
            fld_json_set(o, "review", review_json(r.merged->review));
        cmd_record_free(&r);
    }
    fld_json_append(returned ? l->returned : l->others, o);
    return FLD_OK;
}

static bool bad_filter(const char *v, const char *name,
                       struct fld_ui_reply *reply)
{
    if (v == NULL || strlen(v) <= QUERY_MAX)
        return false;
    fld_ui_reply_error(reply, 400, "bad_request", "Giá trị lọc quá dài",
                       "a filter value is too long", name);
    return true;
}

static void list_records(struct cmd_ctx *ctx, const struct fld_ui_query *q,
                         struct fld_ui_reply *reply)
{
    struct fld_record_filter filter;
    struct record_list l;
    size_t i;
    int rc;

    if (bad_filter(q->status, "status", reply) ||
        bad_filter(q->unit, "unit", reply) ||
        bad_filter(q->template_id, "template", reply))
        return;
    /* An empty value filters nothing, as an absent one. */
    filter.status = q->status && q->status[0] ? q->status : NULL;
    filter.subject = q->unit && q->unit[0] ? q->unit : NULL;
    filter.template_id =
        q->template_id && q->template_id[0] ? q->template_id : NULL;
    l.ctx = ctx;
    l.returned = fld_json_array();
    l.others = fld_json_array();
    fld_err_clear(&ctx->err);
    rc = fld_store_each_record(ctx->st, &filter, add_record, &l, &ctx->err);
    if (rc != FLD_OK) {
        fld_json_free(l.returned);
        fld_json_free(l.others);
        fld_ui_reply_failure(reply, ctx, rc);
        return;
    }
    for (i = 0; i < l.others->n; i++)
        fld_json_append(l.returned, fld_json_clone(l.others->items[i]));
    fld_json_free(l.others);
    fld_ui_reply_json(reply, 200, l.returned);
}

/* ---- history ------------------------------------------------------------- */

/* What after changed of before, top-level answers as `field history`
 * shows them: [{name, before?, after?}]. */
static struct fld_json *changes_json(const struct fld_json *before,
                                     const struct fld_json *after)
{
    struct fld_json *arr = fld_json_array(), *c;
    size_t i;

    for (i = 0; i < after->n; i++) {
        const struct fld_json *old =
            before ? fld_json_get(before, after->members[i].key) : NULL;

        if (old != NULL && fld_json_equal(old, after->members[i].value))
            continue;
        c = fld_json_object();
        fld_json_set(c, "name", fld_json_string(after->members[i].key));
        if (old)
            fld_json_set(c, "before", fld_json_clone(old));
        fld_json_set(c, "after", fld_json_clone(after->members[i].value));
        fld_json_append(arr, c);
    }
    for (i = 0; before && i < before->n; i++) {
        if (fld_json_get(after, before->members[i].key) != NULL)
            continue;
        c = fld_json_object();
        fld_json_set(c, "name", fld_json_string(before->members[i].key));
        fld_json_set(c, "before", fld_json_clone(before->members[i].value));
        fld_json_append(arr, c);
    }
    return arr;
}

/* One version of the history, into the array arr. */
static int history_row(void *arr, const struct fld_version *v,
                       const struct fld_json *before)
{
    struct fld_json *o = fld_json_object();

    fld_json_set(o, "version", fld_json_string(v->hash));
    fld_json_set(o, "author", fld_json_string(v->author));
    fld_json_set(o, "dseq", fld_json_int(v->dseq));
    fld_json_set(o, "time_ms", fld_json_int(v->hlc.ms));
    fld_json_set(o, "status", fld_json_string(v->status));
    if (v->inspector)
        fld_json_set(o, "inspector", fld_json_string(v->inspector));
    fld_json_set(o, "parents", fld_json_clone(v->parents));
    fld_json_set(o, "changes", changes_json(before, v->answers));
    if (v->review != NULL)
        fld_json_set(o, "review", fld_json_clone(v->review));
    fld_json_append(arr, o);
    return FLD_OK;
}

static void history(struct cmd_ctx *ctx, const char *prefix,
                    struct fld_ui_reply *reply)
{
    struct fld_json *arr;
    char id[FLD_RECORD_HEX_LEN + 1];
    int rc;

    fld_err_clear(&ctx->err);
    if ((rc = cmd_find_record(ctx, prefix, id)) != FLD_OK) {
        fld_ui_reply_failure(reply, ctx, rc);
        return;
    }
    arr = fld_json_array();
    if ((rc = cmd_history_walk(ctx, id, history_row, arr)) == FLD_OK) {
        fld_ui_reply_json(reply, 200, arr);
    } else {
        fld_ui_reply_failure(reply, ctx, rc);
        fld_json_free(arr);
    }
}

/* ---- review ------------------------------------------------------------- */

/* 403 when this device may not decide (cmd_review_role said why). */
static int check_supervisor(struct cmd_ctx *ctx, struct fld_ui_reply *reply)
{
    fld_err_clear(&ctx->err);
    if (cmd_review_role(ctx) == FLD_OK)
        return FLD_OK;
    fld_ui_reply_error(reply, 403, "not_supervisor",
                       "Chỉ thiết bị đăng ký với vai trò giám sát (supervisor) "
                       "hoặc quản trị (admin) mới xét duyệt phiếu",
                       ctx->err.msg, NULL);
    return FLD_EINVAL;
}

static void review_inbox(struct cmd_ctx *ctx, struct fld_ui_reply *reply)
{
    struct fld_json *arr = NULL;
    char today[11];
    size_t i;
    int rc;

    if (check_supervisor(ctx, reply) != FLD_OK)
        return;
    if ((rc = cmd_review_inbox(ctx, &arr)) != FLD_OK) {
        fld_ui_reply_failure(reply, ctx, rc);
        return;
    }
    cmd_today(today);
    for (i = 0; i < arr->n; i++) {
        struct fld_json *o = arr->items[i];
        char *name = NULL;

        struct cmd_record r;

        if (fld_store_unit_at(ctx->st, fld_json_get_string(o, "subject"), today,
                              unit_name, &name, NULL) == FLD_OK)
            fld_json_set(o, "unit_name", string_take(name));
        /* The heads the supervisor decides on: a decision names them, so
         * that one on a record that moved meanwhile is a 409. */
        if (cmd_record_read(ctx, fld_json_get_string(o, "record"), &r) ==
            FLD_OK)
            fld_json_set(o, "base", string_take(heads_token(r.merged)));
        cmd_record_free(&r);
    }
    fld_ui_reply_json(reply, 200, arr);
}

/* Whether text holds something besides white space. */
static bool is_blank(const char *text)
{
    return text[strspn(text, " \t\r\n")] == '\0';
}

/*
 * The decision the body asks for, checked as the command line checks its
 * options, each fault a 400 naming the member.
 */
static int read_decision(struct cmd_ctx *ctx, const struct fld_json *body,
                         struct cmd_decision *d, struct fld_ui_reply *reply)
{
    bool is_approval = strcmp(d->status, "approved") == 0;
    const char *note, *number = NULL, *date = NULL;
    const char *key = is_approval ? "note" : "reason";

    if (get_string(body, key, false, &note, reply) != FLD_OK)
        return FLD_EINVAL;
    if (is_approval &&
        (get_string(body, "decision_number", false, &number, reply) ||
         get_string(body, "decision_date", false, &date, reply)))
        return FLD_EINVAL;
    if (!is_approval && (note == NULL || is_blank(note))) {
        fld_ui_reply_error(reply, 400, "reason_required",
                           "Cần ghi lý do để người kiểm tra biết phải làm gì",
                           "a reason is needed: it tells the inspector what "
                           "to do",
                           key);
        return FLD_EINVAL;
    }
    if (note != NULL && !is_blank(note) &&
        cmd_decision_text(ctx, key, note, FLD_REVIEW_MAX_NOTE, &d->note)) {
        fld_ui_reply_error(reply, 400, "bad_request",
                           "Ghi chú hoặc lý do quá dài", ctx->err.msg, key);
        return FLD_EINVAL;
    }
    if (number != NULL && !is_blank(number) &&
        cmd_decision_text(ctx, "decision_number", number, 100, &d->number)) {
        fld_ui_reply_error(reply, 400, "bad_request", "Số quyết định quá dài",
                           ctx->err.msg, "decision_number");
        return FLD_EINVAL;
    }
    if (date != NULL && !is_blank(date) &&
        fld_norm_date(date, &d->date, &ctx->err) != FLD_OK) {
        fld_ui_reply_error(reply, 400, "bad_request",
                           "Ngày quyết định không hợp lệ (ngày/tháng/năm)",
                           ctx->err.msg, "decision_date");
        return FLD_EINVAL;
    }
    if ((d->number == NULL) != (d->date == NULL)) {
        fld_ui_reply_error(reply, 400, "bad_request",
                           "Số quyết định và ngày quyết định phải đi cùng nhau",
                           "the decision number and its date go together",
                           d->number ? "decision_date" : "decision_number");
        return FLD_EINVAL;
    }
    return FLD_OK;
}

/* 422: record r does not wait for a decision, in words for its status. */
static void reply_not_waiting(struct cmd_ctx *ctx, const struct cmd_record *r,
                              struct fld_ui_reply *reply)
{
    const char *status = r->merged->status;
    const char *vi = "Phiếu còn xung đột chưa giải quyết; hãy giải quyết trước";

    if (strcmp(status, "draft") == 0)
        vi = "Phiếu còn là bản nháp; chỉ phiếu đã hoàn tất mới chờ xét duyệt";
    else if (strcmp(status, "returned") == 0)
        vi = "Phiếu đã được trả lại và đang chờ người kiểm tra sửa";
    else if (strcmp(status, "approved") == 0 || strcmp(status, "rejected") == 0)
        vi = "Phiếu đã được quyết định xong (đã đóng)";
    fld_ui_reply_error(reply, 422, "not_waiting", vi, ctx->err.msg, NULL);
}

static void decide(struct cmd_ctx *ctx, const char *id, const char *status,
                   const struct fld_json *body, struct fld_ui_reply *reply)
{
    struct cmd_decision d = {status, NULL, NULL, NULL};
    struct cmd_record r;
    struct fld_version *v = NULL;
    struct fld_json *o;
    const char *base;
    int rc;

    memset(&r, 0, sizeof r);
    if (check_supervisor(ctx, reply) != FLD_OK ||
        get_string(body, "base", false, &base, reply) != FLD_OK ||
        read_decision(ctx, body, &d, reply) != FLD_OK)
        goto out;
    if (read_record(ctx, id, &r, reply) != FLD_OK ||
        same_heads(ctx, id, base, &r, reply) != FLD_OK)
        goto out;
    fld_err_clear(&ctx->err);
    rc = cmd_decision_sign(ctx, &r, &d, &v);
    if (rc == FLD_EINVAL) {
        reply_not_waiting(ctx, &r, reply);
    } else if (rc != FLD_OK) {
        fld_ui_reply_failure(reply, ctx, rc);
    } else {
        o = fld_json_object();
        fld_json_set(o, "record", fld_json_string(v->record));
        fld_json_set(o, "version", fld_json_string(v->hash));
        fld_json_set(o, "status", fld_json_string(v->status));
        fld_ui_reply_json(reply, 200, o);
    }
out:
    fld_version_free(v);
    cmd_record_free(&r);
    cmd_decision_free(&d);
}

/* ---- routing ------------------------------------------------------------- */

struct fld_json *fld_ui_api_session(struct cmd_ctx *ctx)
{
    struct fld_json *o = fld_json_object();
    struct fld_err err;
    char *inspector = NULL, *role = NULL;
    char pub[65];

    if (ctx->key != NULL) {
        fld_key_public_hex(ctx->key, pub);
        fld_json_set(o, "device", fld_json_string(pub));
    }
    if (fld_store_meta_get(ctx->st, FLD_META_INSPECTOR, &inspector, &err) ==
        FLD_OK)
        fld_json_set(o, "inspector", fld_json_string(inspector));
    free(inspector);
    if (fld_store_meta_get(ctx->st, SYN_META_ROLE, &role, &err) == FLD_OK &&
        role[0] != '\0')
        fld_json_set(o, "role", fld_json_string(role));
    free(role);
    fld_json_set(o, "language",
                 fld_json_string(ctx->lang == FLD_LANG_EN ? "en" : "vi"));
    return o;
}

/* "ID" or "ID/ACTION" after /api/records/: ID 4 to 32 lowercase hex
 * digits (a prefix, as on the command line). */
static bool split_record(const char *rest, char id[FLD_RECORD_HEX_LEN + 1],
                         const char **action)
{
    size_t n = strspn(rest, "0123456789abcdef");

    if (n < 4 || n > FLD_RECORD_HEX_LEN)
        return false;
    if (rest[n] != '\0' && rest[n] != '/')
        return false;
    memcpy(id, rest, n);
    id[n] = '\0';
    *action = rest[n] == '/' ? rest + n + 1 : "";
    return true;
}

static void not_found(struct fld_ui_reply *reply, const char *path)
{
    char en[160];

    snprintf(en, sizeof en, "no such API endpoint: %.120s", path);
    fld_ui_reply_error(reply, 404, "not_found", "Không có địa chỉ này", en,
                       NULL);
}

/* Whether action is one a record has (with another method). */
static bool is_action(const char *action)
{
    static const char *const known[] = {
        "",        "history", "evaluate", "save",   "finalize",
        "resolve", "approve", "reject",   "return", NULL};
    size_t i;

    for (i = 0; known[i] != NULL; i++)
        if (strcmp(action, known[i]) == 0)
            return true;
    return false;
}

static void record_route(struct cmd_ctx *ctx, bool is_post, const char *rest,
                         const struct fld_json *body,
                         struct fld_ui_reply *reply)
{
    char id[FLD_RECORD_HEX_LEN + 1];
    const char *action;

    if (!split_record(rest, id, &action)) {
        fld_ui_reply_error(reply, 404, "not_found", "Không tìm thấy phiếu",
                           "no such record", NULL);
        return;
    }
    if (!is_post && strcmp(action, "") == 0)
        get_record(ctx, id, reply);
    else if (!is_post && strcmp(action, "history") == 0)
        history(ctx, id, reply);
    else if (is_post && strcmp(action, "evaluate") == 0)
        evaluate(ctx, id, body, reply);
    else if (is_post && strcmp(action, "save") == 0)
        save(ctx, id, body, reply);
    else if (is_post && strcmp(action, "finalize") == 0)
        finalize(ctx, id, body, reply);
    else if (is_post && strcmp(action, "resolve") == 0)
        resolve(ctx, id, body, reply);
    else if (is_post && strcmp(action, "approve") == 0)
        decide(ctx, id, "approved", body, reply);
    else if (is_post && strcmp(action, "reject") == 0)
        decide(ctx, id, "rejected", body, reply);
    else if (is_post && strcmp(action, "return") == 0)
        decide(ctx, id, "returned", body, reply);
    else if (is_action(action))
        fld_ui_reply_error(reply, 405, "method",
                           "Phương thức không được hỗ trợ ở địa chỉ này",
                           "method not allowed here", NULL);
    else
        not_found(reply, action);
}

void fld_ui_api_handle(struct cmd_ctx *ctx, const char *method,
                       const char *path, const struct fld_ui_query *query,
                       const uint8_t *body, size_t len,
                       struct fld_ui_reply *out)
{
    static const char records[] = "/api/records/";
    struct fld_json *json = NULL;
    bool is_post = strcmp(method, "POST") == 0;

    if (!is_post && strcmp(method, "GET") != 0) {
        fld_ui_reply_error(out, 405, "method", "Phương thức không được hỗ trợ",
                           "method not allowed", NULL);
        return;
    }
    if (is_post && parse_body(body, len, &json, out) != FLD_OK)
        return;
    if (strcmp(path, "/api/templates") == 0 && !is_post)
        list_templates(ctx, out);
    else if (strcmp(path, "/api/units") == 0 && !is_post)
        search_units(ctx, query->q, out);
    else if (strcmp(path, "/api/records") == 0 && !is_post)
        list_records(ctx, query, out);
    else if (strcmp(path, "/api/records") == 0)
        new_record(ctx, json, out);
    else if (strcmp(path, "/api/review") == 0 && !is_post)
        review_inbox(ctx, out);
    else if (strncmp(path, records, sizeof records - 1) == 0)
        record_route(ctx, is_post, path + sizeof records - 1, json, out);
    else
        not_found(out, path);
    fld_json_free(json);
}
