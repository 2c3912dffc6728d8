/*
 * form.c - evaluating a template against a record's answers (see form.h).
 *
 * Where it sits: `field show`, `field fill` and the editor (edit.c) ask,
 * after every change, which questions are relevant, what the calculations
 * give, which answers are missing or wrong, and whether each indicator,
 * criterion and the template's tier is met; the server asks the same to
 * flag versions. fld_form_eval() answers all of it in one pass over a
 * loaded template (template.c) and the answers, evaluating the template's
 * rules (expr.h) with callbacks that find values here. It changes nothing
 * and prints nothing.
 *
 * Lazy and memoised. A rule may read any question, defined before or
 * after it, so there is no order in which to evaluate a template. Instead
 * every question has one slot per repeat item (one outside repeats),
 * holding its relevance and its value once computed; reading a value
 * through lookup() computes it on demand, and every later read is the
 * memo. So each question's rules run at most once per item, whatever
 * order the rules refer to each other in.
 *
 * Cycles. The loader refuses cycles of calculations (template.c), but not
 * every cycle: two relevance rules may read each other's questions. A slot
 * asked for while it is being computed (BUSY) is such a cycle, and reads
 * as blank and not relevant rather than looping; the result then depends
 * on which question was asked first, which a template should not rely on.
 *
 * Decisions, XLSForm's unless said otherwise:
 *   - A question is relevant when its section is (a repeat section's rule
 *     is evaluated per item) and its own rule holds. A question that is
 *     not relevant has a blank value, whatever is stored for it.
 *   - A question's value is its calculation when it has one, else its
 *     stored answer: integers and decimals as numbers, several choices as
 *     one space-separated string (the XForms value of a select_multiple),
 *     anything else as text.
 *   - ${name} depends on where the rule is: inside a repeat item, a field
 *     of the same repeat is that item's value; from anywhere else it is the
 *     LIST of its values over the items, and a repeat's own name is a LIST
 *     with one entry per item, for count(). In a choice_filter, a name that
 *     is no question is the key of the choice being filtered.
 *   - Problems are looked for in relevant, typed questions only: a blank
 *     answer breaks "required" (true, or its rule); a stored answer must
 *     be of its question's type (it may come from another device), a
 *     choice its choice_filter offers, and must pass its constraint, with
 *     '.' its value. A constraint never sees a blank.
 *   - Relevance, calculations, requirements and constraints are evaluated
 *     in two-valued logic, as XLSForm does. Only the verdicts (indicators
 *     and criteria) use the third value: evaluated with tri_state set, a
 *     blank answer a rule needs, or an unset threshold, gives UNKNOWN,
 *     which propagates by Kleene's rules (expr.h).
 *   - An unknown threshold gives unknown, never a guess: a threshold that is
 *     null, missing from its table, or keyed by a parameter still blank is
 *     BLANK, so a rule needing it answers unknown, unless the rest decides
 *     it (false and unknown is false). Reporting "not met" because nobody
 *     has entered a threshold yet would be a verdict nobody gave.
 *   - A criterion is its own "met" rule if it has one, else the Kleene AND
 *     of its indicators: not met if any is not met, else unknown if any is
 *     unknown (or it has none), else met. An indicator without a rule is
 *     unknown. The tier needing all criteria is their AND; needing N of
 *     them, it is met once N are met, not met once too few are left that
 *     could be (met + unknown < N), and unknown in between.
 *   - An evaluation error (a regex() that does not compile, a date() that
 *     is no date) makes its slot blank, and fld_form_eval() fails with the
 *     first such error: a template whose rules fail must not give verdicts.
 *
 * Cost: one pass over the questions and the criteria; each rule runs at
 * most once per repeat item, but a section's own relevance rule, which is
 * not memoised, once per question of the section and item. Each ${name}
 * is a binary search in the template, and each read of a repeat field
 * from outside copies its values over the items. Memory is one slot per
 * question and item. bench_form measures the 2021-2025 commune template
 * (92 questions, 19 criteria): some tens of microseconds per evaluation.
 */
#include "form.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* The state of a memo: not computed yet, being computed (a read now is a
 * cycle), computed. Relevance and value have one each, because computing
 * a value asks for the relevance first. */
enum { TODO, BUSY, DONE };

/* One question in one repeat item. */
struct slot {
    unsigned char rel_state, val_state;
    bool relevant;
    struct fld_value value; /* owned; blank when not relevant */
};

struct fld_form {
    const struct fld_template *t;
    const struct fld_json *answers;
    struct fld_json *no_answers; /* owned: stands in for NULL answers */
    const char *today;
    struct slot **slots;     /* per question, per item: into slot_block */
    struct slot *slot_block; /* holds every slot */
    size_t *n_items;         /* per section */
    const char ***item_ids;  /* per section: borrowed from answers */
    /* per question outside any repeat: its answer, or NULL */
    const struct fld_json **top_answers;
    struct fld_problem *problems;
    size_t n_problems;
    enum fld_status *indicator; /* flattened over criteria */
    size_t *first_indicator;    /* per criterion */
    enum fld_status *criterion;
    enum fld_status tier;
    struct fld_err *err; /* the caller's: gets the first error's message */
    int rc;              /* first evaluation error; later ones are dropped */
};

/* Where an expression is evaluated: which repeat item is "current". */
struct scope {
    struct fld_form *f;
    size_t section; /* FLD_NO_SECTION at top level */
    size_t item;
    const struct fld_choice *choice; /* in a choice_filter */
};

static const struct fld_json *repeat_items(const struct fld_form *f,
                                           const struct fld_section *s)
{
    const struct fld_json *items = fld_json_get(f->answers, s->name);

    return items && items->type == FLD_JSON_OBJECT ? items : NULL;
}

static bool in_repeat(const struct fld_form *f, const struct fld_question *q)
{
    return q->section != FLD_NO_SECTION &&
           fld_template_section(f->t, q->section)->is_repeat;
}

static size_t n_slots(const struct fld_form *f, const struct fld_question *q)
{
    return in_repeat(f, q) ? f->n_items[q->section] : 1;
}

/* The stored answer of q in item, or NULL. */
static const struct fld_json *
answer_of(const struct fld_form *f, const struct fld_question *q, size_t item)
{
    const struct fld_section *s;
    const struct fld_json *items;

    if (!in_repeat(f, q))
        return f->top_answers[fld_template_question_index(f->t, q)];
    s = fld_template_section(f->t, q->section);
    items = repeat_items(f, s);
    if (items == NULL || item >= items->n)
        return NULL;
    return fld_json_get(items->members[item].value, q->name);
}

/* A stored answer as an expression value: numbers for integer and decimal
 * questions, a space-separated string for several choices (as XLSForm).
 * A decimal is stored as its normal form ("54.78", norm.h), which strtod
 * reads exactly as written: field never sets LC_NUMERIC. */
static void to_value(const struct fld_question *q, const struct fld_json *a,
                     struct fld_value *out)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i;

    if (a == NULL) {
        fld_value_blank(out);
    } else if (a->type == FLD_JSON_INT) {
        fld_value_number(out, (double)a->i);
    } else if (a->type == FLD_JSON_STRING && q->type == FLD_Q_DECIMAL) {
        fld_value_number(out, strtod(a->s, NULL));
    } else if (a->type == FLD_JSON_STRING) {
        fld_value_string(out, a->s);
    } else if (a->type == FLD_JSON_ARRAY) {
        for (i = 0; i < a->n; i++)
            if (a->items[i]->type == FLD_JSON_STRING)
                fld_buf_printf(&b, "%s%s", b.len ? " " : "", a->items[i]->s);
        if (b.len)
            fld_value_string(out, fld_buf_str(&b));
        else
            fld_value_blank(out);
        fld_buf_free(&b);
    } else {
        fld_value_blank(out);
    }
}

static int eval_in(struct fld_form *f, const struct fld_expr *e, size_t section,
                   size_t item, const struct fld_value *self, bool tri,
                   struct fld_value *out);

/* Whether a section (in item, for a repeat) is relevant. Not memoised: it
 * runs for each question of the section, which is cheap next to keeping a
 * memo per section and item. A rule that fails makes it not relevant (the
 * error is kept in f->rc and fails the evaluation). */
static bool section_relevant(struct fld_form *f, size_t section, size_t item)
{
    const struct fld_section *s = fld_template_section(f->t, section);
    struct fld_value v;
    bool rel;

    if (s == NULL || s->relevant == NULL)
        return true;
    if (eval_in(f, s->relevant, s->is_repeat ? section : FLD_NO_SECTION, item,
                NULL, false, &v) != FLD_OK)
        return false;
    rel = fld_value_truthy(&v);
    fld_value_clear(&v);
    return rel;
}

/* The memo of question qi's relevance in item, computed on first use:
 * the section first, then the question's own rule. */
bool fld_form_relevant(struct fld_form *f, size_t qi, size_t item)
{
    const struct fld_question *q = fld_template_question_at(f->t, qi);
    struct slot *s;
    struct fld_value v;

    if (q == NULL || item >= n_slots(f, q))
        return false;
    s = &f->slots[qi][item];
    if (s->rel_state == DONE)
        return s->relevant;
    if (s->rel_state == BUSY)
        return false; /* a cycle of relevance rules */
    s->rel_state = BUSY;
    s->relevant =
        q->section == FLD_NO_SECTION || section_relevant(f, q->section, item);
    if (s->relevant && q->relevant != NULL) {
        if (eval_in(f, q->relevant,
                    in_repeat(f, q) ? q->section : FLD_NO_SECTION, item, NULL,
                    false, &v) == FLD_OK)
            s->relevant = fld_value_truthy(&v);
        else
            s->relevant = false;
        fld_value_clear(&v);
    }
    s->rel_state = DONE;
    return s->relevant;
}

/* The memo of question qi's value in item. BUSY here is a cycle through
 * relevance that the loader cannot see (a calculation reading a question
 * whose relevance reads the calculation): it reads as blank. */
const struct fld_value *fld_form_value(struct fld_form *f, size_t qi,
                                       size_t item)
{
    static const struct fld_value blank = {FLD_V_BLANK, 0,    false,
                                           NULL,        NULL, 0};
    const struct fld_question *q = fld_template_question_at(f->t, qi);
    struct slot *s;

    if (q == NULL || item >= n_slots(f, q))
        return &blank;
    s = &f->slots[qi][item];
    if (s->val_state == DONE)
        return &s->value;
    if (s->val_state == BUSY)
        return &blank;
    s->val_state = BUSY;
    if (!fld_form_relevant(f, qi, item))
        fld_value_blank(&s->value);
    else if (q->calculation != NULL)
        eval_in(f, q->calculation,
                in_repeat(f, q) ? q->section : FLD_NO_SECTION, item, NULL,
                false, &s->value);
    else
        to_value(q, answer_of(f, q, item), &s->value);
    s->val_state = DONE;
    return &s->value;
}

/* ${name} as seen from scope: a question of the current repeat item, a
 * list across items from outside, a repeat's items, or a choice's key. */
static int lookup(void *ctx, const char *name, struct fld_value *out)
{
    struct scope *sc = ctx;
    struct fld_form *f = sc->f;
    const struct fld_question *q = fld_template_question(f->t, name);
    const struct fld_section *r;
    size_t qi, i, n;

    if (q != NULL) {
        qi = fld_template_question_index(f->t, q);
        if (!in_repeat(f, q)) {
            fld_value_copy(out, fld_form_value(f, qi, 0));
        } else if (sc->section == q->section) {
            fld_value_copy(out, fld_form_value(f, qi, sc->item));
        } else {
            n = f->n_items[q->section];
            out->type = FLD_V_LIST;
            out->n = n;
            out->items = fld_xcalloc(n ? n : 1, sizeof *out->items);
            for (i = 0; i < n; i++)
                fld_value_copy(&out->items[i], fld_form_value(f, qi, i));
        }
        return FLD_OK;
    }
    if ((r = fld_template_repeat(f->t, name)) != NULL) {
        n = f->n_items[(size_t)(r - fld_template_section(f->t, 0))];
        out->type = FLD_V_LIST;
        out->n = n;
        out->items = fld_xcalloc(n ? n : 1, sizeof *out->items);
        return FLD_OK;
    }
    if (sc->choice != NULL) {
        const struct fld_json *v = fld_json_get(sc->choice->json, name);

        if (v && v->type == FLD_JSON_STRING)
            fld_value_string(out, v->s);
        else if (v && v->type == FLD_JSON_INT)
            fld_value_number(out, (double)v->i);
        else
            fld_value_blank(out);
        return FLD_OK;
    }
    return FLD_NOTFOUND;
}

/* A threshold's JSON as a value: null (or none) is blank, which a verdict
 * reads as unknown. Templates hold integers only and write decimals as
 * strings (docs/TEMPLATES.md), so a string that reads whole as a number is
 * that number, and compares as one. */
static void json_to_threshold(const struct fld_json *v, struct fld_value *out)
{
    char *end;
    double d;

    if (v == NULL || v->type == FLD_JSON_NULL) {
        fld_value_blank(out);
    } else if (v->type == FLD_JSON_INT) {
        fld_value_number(out, (double)v->i);
    } else if (v->type == FLD_JSON_STRING) {
        d = strtod(v->s, &end);
        if (v->s[0] != '\0' && *end == '\0')
            fld_value_number(out, d);
        else
            fld_value_string(out, v->s);
    } else {
        fld_value_blank(out);
    }
}

/* The entry of a threshold for this record, or NULL when unknown. The key
 * of a table is its parameters' values as text, joined by '/' in the
 * order of "by" ("nhom_2/2026"); the loader checked that every key can be
 * matched (template.c). */
static const struct fld_json *threshold_json(struct fld_form *f,
                                             const struct fld_threshold *th)
{
    struct fld_buf key = FLD_BUF_INIT;
    const struct fld_json *v = NULL;
    size_t i;

    if (th->n_by == 0)
        return th->value;
    for (i = 0; i < th->n_by; i++) {
        const struct fld_question *p = fld_template_question(f->t, th->by[i]);
        const struct fld_value *pv =
            fld_form_value(f, fld_template_question_index(f->t, p), 0);
        char *text;

        if (pv->type == FLD_V_BLANK)
            goto out; /* a parameter is unset: the threshold is unknown */
        text = fld_value_to_string(pv);
        fld_buf_printf(&key, "%s%s", i ? "/" : "", text);
        free(text);
    }
    v = fld_json_get(th->values, fld_buf_str(&key));
out:
    fld_buf_free(&key);
    return v;
}

/* The callbacks of struct fld_expr_env for threshold('x') and param('x').
 * The loader has checked every name, so FLD_NOTFOUND means a bug. */
static int threshold(void *ctx, const char *name, struct fld_value *out)
{
    struct scope *sc = ctx;
    const struct fld_threshold *th = fld_template_threshold(sc->f->t, name);

    if (th == NULL)
        return FLD_NOTFOUND;
    json_to_threshold(threshold_json(sc->f, th), out);
    return FLD_OK;
}

static int param(void *ctx, const char *name, struct fld_value *out)
{
    struct scope *sc = ctx;
    const struct fld_question *q = fld_template_question(sc->f->t, name);

    if (q == NULL || q->section != FLD_NO_SECTION)
        return FLD_NOTFOUND;
    fld_value_copy(
        out,
        fld_form_value(sc->f, fld_template_question_index(sc->f->t, q), 0));
    return FLD_OK;
}

/* Evaluate e in scope sc; tri selects three-valued logic (verdicts only).
 * On an error *out is blank, and the first error of the whole evaluation
 * is kept with its message: a rule that fails tends to fail for every
 * item, and the first says what to fix. */
static int eval_scoped(struct scope *sc, const struct fld_expr *e,
                       const struct fld_value *self, bool tri,
                       struct fld_value *out)
{
    struct fld_expr_env env;
    struct fld_err err;
    int rc;

    memset(&env, 0, sizeof env);
    env.ctx = sc;
    env.lookup = lookup;
    env.threshold = threshold;
    env.param = param;
    env.self = self;
    env.today = sc->f->today;
    env.tri_state = tri;
    rc = fld_expr_eval(e, &env, out, &err);
    if (rc != FLD_OK) {
        fld_value_blank(out);
        if (sc->f->rc == FLD_OK) {
            sc->f->rc = rc;
            fld_err_set(sc->f->err, rc, "%s", err.msg);
        }
    }
    return rc;
}

static int eval_in(struct fld_form *f, const struct fld_expr *e, size_t section,
                   size_t item, const struct fld_value *self, bool tri,
                   struct fld_value *out)
{
    struct scope sc = {f, section, item, NULL};

    return eval_scoped(&sc, e, self, tri, out);
}

/* A verdict rule's status, in three-valued logic. No rule, or one that
 * fails, is unknown (a failure also fails the whole evaluation). */
static enum fld_status status_of(struct fld_form *f, const struct fld_expr *e)
{
    struct fld_value v;
    enum fld_status st;

    if (e == NULL)
        return FLD_STATUS_UNKNOWN;
    if (eval_in(f, e, FLD_NO_SECTION, 0, NULL, true, &v) != FLD_OK)
        return FLD_STATUS_UNKNOWN;
    if (v.type == FLD_V_UNKNOWN)
        st = FLD_STATUS_UNKNOWN;
    else
        st = fld_value_truthy(&v) ? FLD_STATUS_MET : FLD_STATUS_NOT_MET;
    fld_value_clear(&v);
    return st;
}

/* Kleene's AND over statuses: any "not met" decides; then any unknown. */
static enum fld_status all_of(const enum fld_status *s, size_t n)
{
    enum fld_status r = n ? FLD_STATUS_MET : FLD_STATUS_UNKNOWN;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == FLD_STATUS_NOT_MET)
            return FLD_STATUS_NOT_MET;
        if (s[i] == FLD_STATUS_UNKNOWN)
            r = FLD_STATUS_UNKNOWN;
    }
    return r;
}

/* Every indicator, criterion and the tier, as the file comment decides.
 * Indicators are stored flat: criterion i's start at first_indicator[i]. */
static void eval_criteria(struct fld_form *f)
{
    size_t i, j, n = fld_template_n_criteria(f->t), total = 0, met = 0,
                 unknown = 0;
    const struct fld_text *label;
    size_t requires;

    f->first_indicator = fld_xcalloc(n + 1, sizeof *f->first_indicator);
    for (i = 0; i < n; i++) {
        f->first_indicator[i] = total;
        total += fld_template_criterion(f->t, i)->n_indicators;
    }
    f->first_indicator[n] = total;
    f->indicator = fld_xcalloc(total + 1, sizeof *f->indicator);
    f->criterion = fld_xcalloc(n + 1, sizeof *f->criterion);
    for (i = 0; i < n; i++) {
        const struct fld_criterion *c = fld_template_criterion(f->t, i);
        enum fld_status *ind = f->indicator + f->first_indicator[i];

        for (j = 0; j < c->n_indicators; j++)
            ind[j] = status_of(f, c->indicators[j].met);
        f->criterion[i] =
            c->met ? status_of(f, c->met) : all_of(ind, c->n_indicators);
        met += f->criterion[i] == FLD_STATUS_MET;
        unknown += f->criterion[i] == FLD_STATUS_UNKNOWN;
    }
    f->tier = FLD_STATUS_UNKNOWN;
    if (!fld_template_tier(f->t, &label, &requires))
        return;
    /* all of them: Kleene's AND; N of them: met once N are met, not met
     * once even every unknown one turning out met could not reach N */
    if (requires == 0)
        f->tier = all_of(f->criterion, n);
    else if (met >= requires)
        f->tier = FLD_STATUS_MET;
    else if (met + unknown < requires)
        f->tier = FLD_STATUS_NOT_MET;
}

static void add_problem(struct fld_form *f, enum fld_problem_kind kind,
                        const struct fld_question *q, const char *item)
{
    f->problems =
        fld_xreallocarray(f->problems, f->n_problems + 1, sizeof *f->problems);
    f->problems[f->n_problems].kind = kind;
    f->problems[f->n_problems].question = q;
    f->problems[f->n_problems].item = item;
    f->n_problems++;
}

/* "required": a fixed true or false, or a rule evaluated in q's scope. */
static bool is_required(struct fld_form *f, const struct fld_question *q,
                        size_t item)
{
    struct fld_value v;
    bool req;

    if (q->required_if == NULL)
        return q->required;
    eval_in(f, q->required_if, in_repeat(f, q) ? q->section : FLD_NO_SECTION,
            item, NULL, false, &v);
    req = fld_value_truthy(&v);
    fld_value_clear(&v);
    return req;
}

bool fld_form_choice_allowed(struct fld_form *f, size_t qi, size_t item,
                             const struct fld_choice *choice)
{
    const struct fld_question *q = fld_template_question_at(f->t, qi);
    struct scope sc = {f, in_repeat(f, q) ? q->section : FLD_NO_SECTION, item,
                       choice};
    struct fld_value v;
    bool ok;

    if (q->choice_filter == NULL)
        return true;
    if (eval_scoped(&sc, q->choice_filter, NULL, false, &v) != FLD_OK)
        return false;
    ok = fld_value_truthy(&v);
    fld_value_clear(&v);
    return ok;
}

/* Every chosen name must pass the question's choice_filter. */
static bool choices_allowed(struct fld_form *f, const struct fld_question *q,
                            size_t qi, size_t item, const struct fld_json *a)
{
    size_t i, k, n = a->type == FLD_JSON_ARRAY ? a->n : 1;

    if (q->choice_filter == NULL)
        return true;
    for (i = 0; i < n; i++) {
        const char *name = a->type == FLD_JSON_ARRAY ? a->items[i]->s : a->s;

        for (k = 0; k < q->n_choices; k++)
            if (strcmp(q->choices[k].name, name) == 0)
                break;
        if (k == q->n_choices ||
            !fld_form_choice_allowed(f, qi, item, &q->choices[k]))
            return false;
    }
    return true;
}

/* The problems of question qi in item, at most one, in this order: a blank
 * that is required; a stored answer of the wrong type, or a choice not
 * offered, which goes no further (a constraint would read nonsense); a
 * constraint broken. Notes, calculations and questions that are not
 * relevant have none. */
static void check_question(struct fld_form *f, size_t qi, size_t item)
{
    const struct fld_question *q = fld_template_question_at(f->t, qi);
    const char *id = in_repeat(f, q) ? f->item_ids[q->section][item] : NULL;
    const struct fld_json *a = answer_of(f, q, item);
    struct fld_value v;

    if (q->type == FLD_Q_NOTE || q->calculation ||
        !fld_form_relevant(f, qi, item))
        return;
    if (a == NULL) {
        if (is_required(f, q, item))
            add_problem(f, FLD_PROBLEM_REQUIRED, q, id);
        return;
    }
    if (fld_template_check_value(q, a, NULL) != FLD_OK) {
        add_problem(f, FLD_PROBLEM_TYPE, q, id);
        return;
    }
    if (!choices_allowed(f, q, qi, item, a)) {
        add_problem(f, FLD_PROBLEM_CHOICE, q, id);
        return;
    }
    if (q->constraint == NULL)
        return;
    eval_in(f, q->constraint, in_repeat(f, q) ? q->section : FLD_NO_SECTION,
            item, fld_form_value(f, qi, item), false, &v);
    if (!fld_value_truthy(&v))
        add_problem(f, FLD_PROBLEM_CONSTRAINT, q, id);
    fld_value_clear(&v);
}

/* The items of every repeat section and their ids, in the order of the
 * answers' keys: item ids are random, and JSON objects are kept sorted by
 * key, so the order is the same on every device whatever order the items
 * were added in. */
static void setup_items(struct fld_form *f)
{
    size_t i, j, n = fld_template_n_sections(f->t);

    f->n_items = fld_xcalloc(n + 1, sizeof *f->n_items);
    f->item_ids = fld_xcalloc(n + 1, sizeof *f->item_ids);
    for (i = 0; i < n; i++) {
        const struct fld_section *s = fld_template_section(f->t, i);
        const struct fld_json *items = s->is_repeat ? repeat_items(f, s) : NULL;

        if (items == NULL)
            continue;
        f->n_items[i] = items->n;
        f->item_ids[i] = fld_xcalloc(items->n + 1, sizeof *f->item_ids[i]);
        for (j = 0; j < items->n; j++) /* members are sorted: stable order */
            f->item_ids[i][j] = items->members[j].key;
    }
}

/* Every question's slots, all TODO, in one block: a version checked on a
 * server costs one allocation here rather than one per question. */
static void alloc_slots(struct fld_form *f)
{
    size_t i, total = 0, n = fld_template_n_questions(f->t);

    for (i = 0; i < n; i++)
        total += n_slots(f, fld_template_question_at(f->t, i));
    f->slots = fld_xcalloc(n + 1, sizeof *f->slots);
    f->slot_block = fld_xcalloc(total + 1, sizeof *f->slot_block);
    for (i = 0, total = 0; i < n; i++) {
        f->slots[i] = f->slot_block + total;
        total += n_slots(f, fld_template_question_at(f->t, i));
    }
}

/* fld_form_eval(), or fld_form_check() when criteria is false. */
static int evaluate(const struct fld_template *t,
                    const struct fld_json *answers, const char *today,
                    bool criteria, struct fld_form **out, struct fld_err *err)
{
    struct fld_form *f = fld_xcalloc(1, sizeof *f);
    size_t i, j, n = fld_template_n_questions(t);

    f->t = t;
    f->answers = answers;
    f->today = today;
    f->err = err;
    if (answers == NULL)
        f->answers = f->no_answers = fld_json_object();
    setup_items(f);
    f->top_answers = fld_xcalloc(n + 1, sizeof *f->top_answers);
    fld_template_match_answers(t, f->answers, f->top_answers);
    /* every slot starts TODO; checking each question in template order
     * computes what it needs, and the criteria read the memos after */
    alloc_slots(f);
    for (i = 0; i < n; i++)
        for (j = 0; j < n_slots(f, fld_template_question_at(t, i)); j++)
            check_question(f, i, j);
    if (criteria)
        eval_criteria(f);
    else
        f->tier = FLD_STATUS_UNKNOWN;
    if (f->rc != FLD_OK) {
        int rc = f->rc;

        fld_form_free(f);
        *out = NULL;
        return rc;
    }
    *out = f;
    return FLD_OK;
}

int fld_form_eval(const struct fld_template *t, const struct fld_json *answers,
                  const char *today, struct fld_form **out, struct fld_err *err)
{
    return evaluate(t, answers, today, true, out, err);
}

int fld_form_check(const struct fld_template *t, const struct fld_json *answers,
                   const char *today, struct fld_form **out,
                   struct fld_err *err)
{
    return evaluate(t, answers, today, false, out, err);
}

void fld_form_free(struct fld_form *f)
{
    size_t i, j, n;

    if (f == NULL)
        return;
    n = fld_template_n_questions(f->t);
    for (i = 0; i < n && f->slots; i++)
        for (j = 0; j < n_slots(f, fld_template_question_at(f->t, i)); j++)
            fld_value_clear(&f->slots[i][j].value);
    for (i = 0; f->item_ids && i < fld_template_n_sections(f->t); i++)
        free(f->item_ids[i]);
    free(f->item_ids);
    free(f->n_items);
    free(f->slots);
    free(f->slot_block);
    free(f->top_answers);
    free(f->problems);
    free(f->indicator);
    free(f->first_indicator);
    free(f->criterion);
    fld_json_free(f->no_answers);
    free(f);
}

size_t fld_form_n_items(const struct fld_form *f, size_t section)
{
    return section < fld_template_n_sections(f->t) ? f->n_items[section] : 0;
}

const char *fld_form_item_id(const struct fld_form *f, size_t section, size_t i)
{
    return i < fld_form_n_items(f, section) ? f->item_ids[section][i] : NULL;
}

size_t fld_form_n_problems(const struct fld_form *f)
{
    return f->n_problems;
}

const struct fld_problem *fld_form_problem(const struct fld_form *f, size_t i)
{
    return i < f->n_problems ? &f->problems[i] : NULL;
}

enum fld_status fld_form_indicator(const struct fld_form *f, size_t criterion,
                                   size_t indicator)
{
    if (f->indicator == NULL || /* fld_form_check() */
        criterion >= fld_template_n_criteria(f->t) ||
        indicator >= fld_template_criterion(f->t, criterion)->n_indicators)
        return FLD_STATUS_UNKNOWN;
    return f->indicator[f->first_indicator[criterion] + indicator];
}

enum fld_status fld_form_criterion(const struct fld_form *f, size_t criterion)
{
    /* no criteria after fld_form_check() */
    if (f->criterion == NULL || criterion >= fld_template_n_criteria(f->t))
        return FLD_STATUS_UNKNOWN;
    return f->criterion[criterion];
}

enum fld_status fld_form_tier(const struct fld_form *f)
{
    return f->tier;
}

char *fld_form_threshold(struct fld_form *f, const struct fld_threshold *th)
{
    struct fld_value v;
    char *text;

    json_to_threshold(threshold_json(f, th), &v);
    text = v.type == FLD_V_BLANK ? NULL : fld_value_to_string(&v);
    fld_value_clear(&v);
    return text;
}

int fld_form_answer_error(const struct fld_form *f,
                          const struct fld_question *q, const char *item,
                          enum fld_lang lang, struct fld_err *err)
{
    size_t i;

    for (i = 0; i < f->n_problems; i++) {
        const struct fld_problem *p = &f->problems[i];

        if (p->question != q || p->kind == FLD_PROBLEM_REQUIRED ||
            (item && (p->item == NULL || strcmp(p->item, item) != 0)))
            continue;
        if (p->kind == FLD_PROBLEM_TYPE)
            return fld_err_set(err, FLD_EINVAL, "%s: not a valid %s", q->name,
                               fld_qtype_name(q->type));
        if (p->kind == FLD_PROBLEM_CHOICE)
            return fld_err_set(
                err, FLD_EINVAL, "%s: %s", q->name,
                lang == FLD_LANG_EN
                    ? "that choice is not offered for this record"
                    : "lựa chọn này không áp dụng cho bản ghi này");
        if (q->constraint_message.vi != NULL)
            return fld_err_set(err, FLD_EINVAL, "%s: %s", q->name,
                               fld_text_get(&q->constraint_message, lang));
        return fld_err_set(err, FLD_EINVAL, "%s: %s", q->name,
                           lang == FLD_LANG_EN
                               ? "the answer breaks its constraint"
                               : "câu trả lời không hợp lệ");
    }
    return FLD_OK;
}

const char *fld_status_name(enum fld_status s, enum fld_lang lang)
{
    static const char *const vi[] = {"chưa xác định", "đạt", "không đạt"};
    static const char *const en[] = {"unknown", "met", "not met"};

    return lang == FLD_LANG_EN ? en[s] : vi[s];
}
