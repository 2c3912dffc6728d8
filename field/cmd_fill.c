/*
 * cmd_fill.c - `field fill RECORD`: walk through a checklist in a
 * terminal, line by line, the way an inspector fills it in a commune
 * office or under a tree: over SSH, on a small screen, with a keyboard
 * that may send Vietnamese precomposed or decomposed.
 *
 * Section by section it shows each relevant question's label, hint and
 * current answer and reads one line. Every accepted answer is saved at once
 * as a signed version, so a flat battery loses at most the answer being
 * typed. The order is recomputed after every answer, because an answer can
 * make other questions relevant or irrelevant.
 *
 *   Enter        keep the current answer and go on
 *   :b  :back    the previous question        :j NAME  jump to a question
 *   :c  :clear   clear the answer             :q  :quit   stop (all is saved)
 *   :?  :help    this list
 *
 * Repeat groups: after a group's items, "add an item?"; a new item's
 * questions are asked in turn and saved together when the last is done.
 *
 * A photo question takes the path of the photo's file (attachment.h).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"
#include "cmd.h"
#include "edit.h"
#include "form.h"

#define LINE_MAX_BYTES 8192

/* One stop of the walk: a question in an item, or "add an item" to a
 * repeat section (question == SIZE_MAX). */
struct stop {
    size_t question;
    size_t section;
    size_t item;
};

struct walk {
    struct cmd_ctx *ctx;
    const struct fld_template *t; /* borrowed: cmd_load_template */
    struct fld_version *head;     /* the record as last saved */
    struct fld_form *form;
    struct stop *stops;
    size_t n;
    size_t pos;
    size_t *trail; /* positions visited, for :back */
    size_t n_trail;
    char today[11];
};

static const char *tr(const struct walk *w, const char *vi, const char *en)
{
    return w->ctx->lang == FLD_LANG_EN ? en : vi;
}

static void add_stop(struct walk *w, size_t q, size_t section, size_t item)
{
    w->stops = fld_xreallocarray(w->stops, w->n + 1, sizeof *w->stops);
    w->stops[w->n].question = q;
    w->stops[w->n].section = section;
    w->stops[w->n].item = item;
    w->n++;
}

/* Where the walk can stop now: relevant questions that a person answers
 * (and notes, to be read), in template order. */
static int plan(struct walk *w)
{
    const struct fld_template *t = w->t;
    size_t qi, si, k;
    int rc;

    fld_form_free(w->form);
    w->form = NULL;
    w->n = 0;
    if ((rc = fld_form_eval(t, w->head->answers, w->today, &w->form,
                            &w->ctx->err)) != FLD_OK)
        return rc;
    for (qi = 0; qi < fld_template_n_questions(t); qi++)
        if (fld_template_question_at(t, qi)->section == FLD_NO_SECTION)
            add_stop(w, qi, FLD_NO_SECTION, 0);
    for (si = 0; si < fld_template_n_sections(t); si++) {
        const struct fld_section *s = fld_template_section(t, si);
        size_t n_items = s->is_repeat ? fld_form_n_items(w->form, si) : 1;

        for (k = 0; k < n_items; k++)
            for (qi = s->first; qi < s->first + s->n; qi++)
                if (fld_form_relevant(w->form, qi, k) &&
                    fld_template_question_at(t, qi)->calculation == NULL)
                    add_stop(w, qi, si, k);
        if (s->is_repeat)
            add_stop(w, (size_t)-1, si, n_items);
    }
    return FLD_OK;
}

/* The choices on offer, numbered by their place in the list (a filtered
 * list keeps the numbers, so "3" always means the same choice). */
static void print_choices(const struct walk *w, const struct fld_question *q,
                          size_t item)
{
    size_t i, qi = fld_template_question_index(w->t, q);

    for (i = 0; i < q->n_choices; i++)
        if (fld_form_choice_allowed(w->form, qi, item, &q->choices[i]))
            printf("    %zu) %s [%s]\n", i + 1,
                   fld_text_get(&q->choices[i].label, w->ctx->lang),
                   q->choices[i].name);
}

/* "2 3" for choices becomes "collected sorted": numbers are easier to
 * type on a phone keyboard than names. */
static char *choices_by_number(const struct fld_question *q, const char *line)
{
    struct fld_buf b = FLD_BUF_INIT;
    const char *p = line;

    while (*p) {
        char *end;
        long n;

        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        n = strtol(p, &end, 10);
        if (end == p || (*end && *end != ' ' && *end != ',') || n < 1 ||
            (size_t)n > q->n_choices) {
            fld_buf_free(&b);
            return NULL;
        }
        fld_buf_printf(&b, "%s%s", b.len ? " " : "", q->choices[n - 1].name);
        p = end;
    }
    return fld_buf_detach(&b, NULL);
}

static void show_stop(const struct walk *w, const struct stop *s)
{
    const struct fld_template *t = w->t;
    const struct fld_question *q = fld_template_question_at(t, s->question);
    const struct fld_value *v = fld_form_value(w->form, s->question, s->item);
    char *current = v->type == FLD_V_BLANK ? NULL : fld_value_to_string(v);

    if (w->pos == 0 || w->stops[w->pos - 1].section != s->section ||
        w->stops[w->pos - 1].item != s->item) {
        if (s->section == FLD_NO_SECTION)
            printf("\n== %s ==\n", tr(w, "Tham số", "Parameters"));
        else if (fld_template_section(t, s->section)->is_repeat)
            printf("\n== %s #%zu ==\n",
                   fld_text_get(&fld_template_section(t, s->section)->label,
                                w->ctx->lang),
                   s->item + 1);
        else
            printf("\n== %s ==\n",
                   fld_text_get(&fld_template_section(t, s->section)->label,
                                w->ctx->lang));
    }
    printf("\n(%zu/%zu) %s%s%s%s\n", w->pos + 1, w->n,
           fld_text_get(&q->label, w->ctx->lang), q->required ? " *" : "",
           q->unit ? " — " : "", q->unit ? q->unit : "");
    if (q->hint.vi)
        printf("    %s\n", fld_text_get(&q->hint, w->ctx->lang));
    if (q->type == FLD_Q_NOTE) {
        free(current);
        return;
    }
    print_choices(w, q, s->item);
    if (current)
        printf("    %s: %s\n", tr(w, "hiện tại", "current"), current);
    else if (q->default_value && q->default_value->type == FLD_JSON_STRING)
        printf("    %s: %s\n", tr(w, "gợi ý", "suggested"),
               q->default_value->s);
    free(current);
}

/* Read one line; NULL at end of input. The caller frees it. */
static char *read_line(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    fflush(stdout);
    n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > LINE_MAX_BYTES)
        line[LINE_MAX_BYTES] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

/* Sign and store one edit as a new version of the record. */
static int save(struct walk *w, struct fld_edit *e)
{
    struct fld_version *v = NULL;
    int rc =
        fld_capture_save(w->ctx->st, w->ctx->key, w->head, fld_edit_answers(e),
                         cmd_edit_status(w->head->status), &v, &w->ctx->err);

    if (rc == FLD_EXISTS) /* nothing changed */
        return FLD_OK;
    if (rc != FLD_OK)
        return rc;
    printf("    %s (%.12s)\n", tr(w, "đã lưu", "saved"), v->hash);
    fld_version_free(w->head);
    w->head = v;
    return FLD_OK;
}

/* The assignment for this stop, NAME=VALUE or GROUP[ID].NAME=VALUE. */
static char *assignment(const struct walk *w, const struct stop *s,
                        const char *value, const char *new_item)
{
    const struct fld_question *q = fld_template_question_at(w->t, s->question);
    const struct fld_section *sec =
        s->section == FLD_NO_SECTION ? NULL
                                     : fld_template_section(w->t, s->section);

    if (sec == NULL || !sec->is_repeat)
        return fld_xasprintf("%s=%s", q->name, value);
    return fld_xasprintf(
        "%s[%s].%s=%s", sec->name,
        new_item ? new_item : fld_form_item_id(w->form, s->section, s->item),
        q->name, value);
}

/*
 * A photo question takes the path of the photo's file, as an inspector
 * types it (or a hash already known): the file is added to the device and
 * the answer is its hash. *value is new, NULL when typed is kept as it is;
 * FLD_EINVAL (message printed) when the file is refused.
 */
static int photo_value(struct walk *w, const struct fld_question *q,
                       const char *typed, char **value)
{
    struct fld_attachment a;
    int rc;

    *value = NULL;
    if (q->type != FLD_Q_PHOTO || typed[0] == '\0' ||
        fld_is_hex(typed, FLD_HASH_HEX_LEN))
        return FLD_OK;
    rc = cmd_add_photo(w->ctx, typed, FLD_ATTACH_DEFAULT_LIMIT, &a);
    if (rc == FLD_OK) {
        printf("    %s %.12s (%.1f KB%s%s)\n", tr(w, "ảnh", "photo"), a.hash,
               (double)a.bytes / 1024, a.taken[0] ? ", " : "", a.taken);
        *value = fld_xstrdup(a.hash);
        return FLD_OK;
    }
    printf("    ! %s\n", w->ctx->err.msg);
    return rc == FLD_EBUSY || rc == FLD_EFULL || rc == FLD_EIO ? rc
                                                               : FLD_EINVAL;
}

/*
 * Try to store value for the stop. Returns FLD_OK when saved, FLD_EINVAL
 * (message printed) when the value is refused and should be asked again,
 * or another code on failure.
 */
static int answer(struct walk *w, const struct stop *s, const char *typed)
{
    const struct fld_question *q = fld_template_question_at(w->t, s->question);
    char *numbered = NULL, *a;
    struct fld_edit *e;
    struct fld_err err;
    int rc;

    if ((rc = photo_value(w, q, typed, &numbered)) != FLD_OK)
        return rc;
    e = fld_edit_new(w->t, w->head->answers);
    if (q->n_choices > 0 && typed[0] >= '0' && typed[0] <= '9')
        numbered = choices_by_number(q, typed);
    a = assignment(w, s, numbered ? numbered : typed, NULL);
    rc = fld_edit_assign(e, a, &err);
    if (rc == FLD_OK)
        rc = fld_edit_check(e, w->today, w->ctx->lang, &err);
    if (rc == FLD_OK)
        rc = save(w, e);
    else
        printf("    ! %s\n", err.msg);
    if (rc != FLD_OK && rc != FLD_EBUSY && rc != FLD_EFULL && rc != FLD_EIO &&
        rc != FLD_ECORRUPT && rc != FLD_CONFLICT)
        rc = FLD_EINVAL; /* ask again */
    free(a);
    free(numbered);
    fld_edit_free(e);
    return rc;
}

static void help(const struct walk *w)
{
    printf("    %s\n",
           tr(w,
              "Enter: giữ câu trả lời và đi tiếp;  :b quay lại;  "
              ":j TÊN nhảy tới câu hỏi;  :c xoá câu trả lời;  :q dừng "
              "(mọi câu trả lời đã được lưu)",
              "Enter: keep the answer and go on;  :b back;  :j NAME "
              "jump to a question;  :c clear the answer;  :q quit "
              "(every answer is already saved)"));
}

static bool jump(struct walk *w, const char *name)
{
    size_t i;

    while (*name == ' ')
        name++;
    for (i = 0; i < w->n; i++)
        if (w->stops[i].question != (size_t)-1 &&
            strcmp(fld_template_question_at(w->t, w->stops[i].question)->name,
                   name) == 0) {
            w->pos = i;
            return true;
        }
    printf("    ! %s '%s'\n",
           tr(w, "không có câu hỏi (hoặc câu hỏi bị bỏ qua)",
              "no such question (or it is skipped)"),
           name);
    return false;
}

enum step { GO_ON, STAY, QUIT, ADDED };

static enum step command(struct walk *w, const char *line, int *rc)
{
    const struct stop *s = &w->stops[w->pos];

    if (strcmp(line, ":q") == 0 || strcmp(line, ":quit") == 0)
        return QUIT;
    if (strcmp(line, ":b") == 0 || strcmp(line, ":back") == 0) {
        if (w->n_trail > 0)
            w->pos = w->trail[--w->n_trail];
        return STAY;
    }
    if (strncmp(line, ":j ", 3) == 0 || strncmp(line, ":jump ", 6) == 0) {
        jump(w, strchr(line, ' ') + 1);
        return STAY;
    }
    if ((strcmp(line, ":c") == 0 || strcmp(line, ":clear") == 0) &&
        s->question != (size_t)-1) {
        *rc = answer(w, s, "");
        return *rc == FLD_OK ? GO_ON : STAY;
    }
    help(w);
    return STAY;
}

/* A new item of a repeat section: ask its questions, then save them as one
 * version (an item is never stored half-made). */
static int add_item(struct walk *w, const struct stop *s)
{
    const struct fld_section *sec = fld_template_section(w->t, s->section);
    struct fld_edit *e = fld_edit_new(w->t, w->head->answers);
    char id[17];
    size_t qi;
    int rc = FLD_OK;

    fld_item_id_new(id);
    for (qi = sec->first; qi < sec->first + sec->n && rc == FLD_OK; qi++) {
        const struct fld_question *q = fld_template_question_at(w->t, qi);
        struct stop one = {qi, s->section, 0};
        struct fld_err err;
        char *line, *a, *numbered = NULL;

        if (q->calculation || q->type == FLD_Q_NOTE)
            continue;
        printf("\n  %s%s\n", fld_text_get(&q->label, w->ctx->lang),
               q->required ? " *" : "");
        print_choices(w, q, 0);
        printf("> ");
        if ((line = read_line()) == NULL)
            break;
        if (q->n_choices > 0 && line[0] >= '0' && line[0] <= '9')
            numbered = choices_by_number(q, line);
        else if ((rc = photo_value(w, q, line, &numbered)) != FLD_OK) {
            free(line);
            if (rc != FLD_EINVAL)
                break;
            rc = FLD_OK;
            qi--; /* ask again */
            continue;
        }
        a = assignment(w, &one, numbered ? numbered : line, id);
        if (fld_edit_assign(e, a, &err) != FLD_OK) {
            printf("    ! %s\n", err.msg);
            qi--; /* ask again */
        }
        free(a);
        free(numbered);
        free(line);
    }
    if (rc != FLD_OK) { /* the disk or the store failed */
        fld_edit_free(e);
        return rc;
    }
    rc = fld_edit_check(e, w->today, w->ctx->lang, &w->ctx->err);
    if (rc == FLD_OK)
        rc = save(w, e);
    else
        printf("    ! %s\n", w->ctx->err.msg);
    fld_edit_free(e);
    return rc == FLD_EINVAL ? FLD_OK : rc;
}

/* One stop: show it, read a line, act. */
static enum step visit(struct walk *w, int *rc)
{
    const struct stop *s = &w->stops[w->pos];
    char *line;
    enum step step = GO_ON;

    if (s->question == (size_t)-1) {
        printf("\n%s: %s? (c/k, y/n) > ",
               fld_text_get(&fld_template_section(w->t, s->section)->label,
                            w->ctx->lang),
               tr(w, "thêm một mục", "add an item"));
        if ((line = read_line()) == NULL)
            return QUIT;
        if (line[0] == ':') {
            step = command(w, line, rc);
        } else if (line[0] == 'c' || line[0] == 'y') {
            *rc = add_item(w, s);
            step = ADDED;
        }
        free(line);
        return step;
    }
    show_stop(w, s);
    if (fld_template_question_at(w->t, s->question)->type == FLD_Q_NOTE)
        return GO_ON;
    printf("> ");
    if ((line = read_line()) == NULL)
        return QUIT;
    if (line[0] == ':') {
        step = command(w, line, rc);
    } else if (line[0] != '\0') {
        *rc = answer(w, s, line);
        if (*rc != FLD_OK)
            step = STAY;
    }
    if (*rc == FLD_EINVAL)
        *rc = FLD_OK; /* refused: the message is shown, ask again */
    free(line);
    return step;
}

static void summary(const struct walk *w)
{
    size_t i, count[3] = {0, 0, 0};

    for (i = 0; i < fld_template_n_criteria(w->t); i++)
        count[fld_form_criterion(w->form, i)]++;
    printf("\n%s: %zu %s", tr(w, "Bản ghi", "Record"),
           fld_form_n_problems(w->form),
           tr(w, "vấn đề còn lại", "problems left"));
    if (fld_template_n_criteria(w->t) > 0)
        printf("; %s: %zu %s, %zu %s, %zu %s", tr(w, "tiêu chí", "criteria"),
               count[FLD_STATUS_MET],
               fld_status_name(FLD_STATUS_MET, w->ctx->lang),
               count[FLD_STATUS_NOT_MET],
               fld_status_name(FLD_STATUS_NOT_MET, w->ctx->lang),
               count[FLD_STATUS_UNKNOWN],
               fld_status_name(FLD_STATUS_UNKNOWN, w->ctx->lang));
    printf("\n%s 'field show %.12s'\n", tr(w, "Xem:", "See:"), w->head->record);
}

static int walk_all(struct walk *w)
{
    int rc = FLD_OK;

    while (rc == FLD_OK) {
        size_t at = w->pos;
        enum step step;

        if ((rc = plan(w)) != FLD_OK)
            break;
        if (w->pos >= w->n) {
            summary(w);
            break;
        }
        step = visit(w, &rc);
        if (step == QUIT) {
            if (plan(w) == FLD_OK)
                summary(w);
            break;
        }
        if (step == ADDED) { /* stay at this group's "add an item?" */
            size_t section = w->stops[at].section;

            if ((rc = plan(w)) != FLD_OK)
                break;
            for (w->pos = 0; w->pos < w->n; w->pos++)
                if (w->stops[w->pos].question == (size_t)-1 &&
                    w->stops[w->pos].section == section)
                    break;
            continue;
        }
        if (step == GO_ON) {
            w->trail =
                fld_xreallocarray(w->trail, w->n_trail + 1, sizeof *w->trail);
            w->trail[w->n_trail++] = at;
            w->pos++;
        }
    }
    return rc;
}

int cmd_fill(struct cmd_ctx *ctx, int argc, char **argv)
{
    char record[FLD_RECORD_HEX_LEN + 1];
    struct walk w;
    int rc, first;

    memset(&w, 0, sizeof w);
    w.ctx = ctx;
    cmd_today(w.today);
    if ((rc = cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)))
        return rc;
    if (first + 1 != argc)
        return fld_err_set(&ctx->err, FLD_EUSAGE, "give one record");
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        goto out;
    if ((rc = cmd_find_record(ctx, argv[first], record)) != FLD_OK)
        goto out;
    rc = fld_capture_head(ctx->st, record, &w.head, &ctx->err);
    if (rc != FLD_OK)
        goto out;
    rc = cmd_load_template(ctx, w.head->template_hash, &w.t);
    if (rc != FLD_OK)
        goto out;
    if ((rc = cmd_load_key(ctx)) != FLD_OK)
        goto out;
    if (strcmp(w.head->status, "draft") != 0 &&
        strcmp(w.head->status, "returned") != 0) {
        rc = fld_err_set(&ctx->err, FLD_EINVAL,
                         "record %.12s is %s; correct it with 'field set'",
                         record, w.head->status);
        goto out;
    }
    printf("%s — %s %s\n", fld_text_get(fld_template_title(w.t), ctx->lang),
           w.head->subject,
           ctx->lang == FLD_LANG_EN ? "(:? for help)" : "(:? để xem trợ giúp)");
    rc = walk_all(&w);
out:
    fld_form_free(w.form);
    free(w.stops);
    free(w.trail);
    fld_version_free(w.head);
    return rc;
}
