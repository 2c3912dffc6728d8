/*
 * template.c - loading checklist templates (see template.h; the format is
 * docs/TEMPLATES.md). The checks that need the whole template loaded are
 * in template_check.c, and typed text turned into answers in
 * template_answer.c; template_int.h is what the three share.
 *
 * Where it sits: a template arrives as bytes, built into the program
 * (embedded.c), read from a device's store or the server's, or checked by
 * its author (`field template check`). fld_template_parse() turns them into
 * a struct fld_template that the rest of field only reads: the editor
 * (edit.c, behind `field new`, `edit` and `fill`) turns what a person
 * typed into an answer with fld_template_answer(), and the form engine
 * (form.c) evaluates the template's rules against the answers and checks
 * each stored answer against its question with fld_template_check_value(),
 * since answers may arrive signed from another device.
 *
 * Loading is one walk over the parsed JSON, in an order that lets each
 * step rely on the ones before (load()): the header, the choice lists
 * (questions name them), the questions (parameters first, then each
 * section's, in one array allocated once at its final size, so that a
 * struct fld_question pointer stays valid for the template's life), the
 * index by name (thresholds and rules look names up), thresholds,
 * criteria, the tier; then, only when nothing so far was wrong, every
 * reference of every rule and the calculation cycles. A template with a
 * misspelt question would otherwise drown that one problem in a reference
 * error for every rule that reads it.
 *
 * Decisions a newcomer cannot guess from the format:
 *   - Every problem is reported, not only the first: the loader keeps
 *     going wherever it can, so that `field template check` lists them all
 *     at once with their place ("sections[1].questions[3].constraint:
 *     ..."); fld_template_parse() reports the first.
 *   - Unknown keys are errors, everywhere but in a choice (whose extra keys
 *     are what choice_filter reads): a misspelt "relevent" silently
 *     ignored would make a question always relevant.
 *   - Nothing is copied: every string of the template points into the
 *     parsed JSON tree, which the template owns and frees last.
 *   - Every rule is parsed once, here (expr.h), and the names it reads are
 *     resolved against the template: ${name} must be a question, a repeat
 *     or (in a choice_filter only) a key of the choice; threshold('x') a
 *     threshold; param('x') a parameter; '.' appears only in a constraint.
 *   - Calculations may not form a cycle: one is reported with its path
 *     ("a -> b -> a"), found by a depth-first walk. Other rules may read
 *     each other in a cycle (two relevance rules, say): the form engine
 *     breaks those when it meets them (form.c).
 *   - A threshold table's "by" must list parameters, and each key of its
 *     "values" must name values those parameters can take, checked with
 *     the same normaliser as a typed answer: a typo in a key would
 *     otherwise leave a threshold unknown without a word.
 *   - A "default" must be an answer a person could type: the first person
 *     to accept it would otherwise save a value the template refuses.
 *   - The template's identity is the BLAKE2b-256 hash of its canonical
 *     JSON (json.h), computed only for a template without problems: every
 *     version of a record names the template it was filled against by
 *     this hash, so the same template read from any file with any layout
 *     has the same identity.
 *   - Typed answers have one form per value, because answers are signed
 *     and merged as bytes (template_answer.c says how).
 *
 * Cost: loading is linear in the size of the template, but for the checks
 * for duplicate names, which compare each question, choice, criterion and
 * indicator with those before it in its scope: quadratic in at most
 * MAX_QUESTIONS (2000) or MAX_CHOICES (500), two million string
 * comparisons at worst. Finding a question by name after loading is a
 * binary search.
 */
#include "template.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "embedded.h"
#include "template_int.h"

/* Bounds on what a template may declare. Templates come from outside (a
 * province writes its own), and the form engine walks every question of
 * every record; real templates have some hundreds of questions. */
#define MAX_NAME 64
#define MAX_QUESTIONS 2000
#define MAX_CHOICES 500

void fld_template_problem(struct loader *l, const char *fmt, ...)
{
    char msg[FLD_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (l->n_problems++ == 0)
        fld_err_set(l->err, FLD_EINVAL, "%s", msg);
    if (l->fn)
        l->fn(l->ctx, msg);
}

static const char *const type_names[] = {
    [FLD_Q_INTEGER] = "integer",
    [FLD_Q_DECIMAL] = "decimal",
    [FLD_Q_TEXT] = "text",
    [FLD_Q_SELECT_ONE] = "select_one",
    [FLD_Q_SELECT_MULTIPLE] = "select_multiple",
    [FLD_Q_DATE] = "date",
    [FLD_Q_GEOPOINT] = "geopoint",
    [FLD_Q_PHOTO] = "photo",
    [FLD_Q_NOTE] = "note",
};
#define N_TYPES (sizeof type_names / sizeof type_names[0])

const char *fld_qtype_name(enum fld_qtype type)
{
    return (size_t)type < N_TYPES ? type_names[type] : "?";
}

const char *fld_text_get(const struct fld_text *text, enum fld_lang lang)
{
    if (lang == FLD_LANG_EN && text->en != NULL)
        return text->en;
    return text->vi ? text->vi : "";
}

/* Names: a lowercase letter, then lowercase letters, digits, '_', '-'. A
 * subset of what the expression lexer reads in ${name}, so that a rule can
 * name every question; at most MAX_NAME bytes. */
static bool is_name(const char *s)
{
    size_t i;

    if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (i = 1; s[i] != '\0'; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '-') ||
            i >= MAX_NAME)
            return false;
    return true;
}

/* Codes of criteria and indicators: "17", "17.1", "1a". */
static bool is_code(const char *s)
{
    size_t i;

    for (i = 0; s != NULL && s[i] != '\0'; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '.' || s[i] == '_') ||
            i >= MAX_NAME)
            return false;
    return s != NULL && i > 0;
}

/* Refuse keys a part does not know: a misspelt "relevent" must not be
 * silently ignored. */
static void known_keys(struct loader *l, const struct fld_json *obj,
                       const char *const *keys, const char *where)
{
    size_t i, k;

    for (i = 0; obj->type == FLD_JSON_OBJECT && i < obj->n; i++) {
        for (k = 0; keys[k] != NULL; k++)
            if (strcmp(obj->members[i].key, keys[k]) == 0)
                break;
        if (keys[k] == NULL)
            fld_template_problem(l, "%s: unknown key \"%s\"", where,
                                 obj->members[i].key);
    }
}

/* Text {"vi": ..., "en": ...}: Vietnamese is the language of the
 * inspection and must be there; English is optional and falls back to it
 * (fld_text_get). */
static void get_text(struct loader *l, const struct fld_json *obj,
                     const char *key, bool required, struct fld_text *out,
                     const char *where)
{
    const struct fld_json *t = fld_json_get(obj, key);

    out->vi = out->en = NULL;
    if (t == NULL) {
        if (required)
            fld_template_problem(l, "%s.%s: missing", where, key);
        return;
    }
    if (t->type != FLD_JSON_OBJECT) {
        fld_template_problem(l, "%s.%s: expected {\"vi\": ..., \"en\": ...}",
                             where, key);
        return;
    }
    out->vi = fld_json_get_string(t, "vi");
    out->en = fld_json_get_string(t, "en");
    if (out->vi == NULL || out->vi[0] == '\0')
        fld_template_problem(l, "%s.%s.vi: missing Vietnamese text", where,
                             key);
    if (fld_json_get(t, "en") != NULL && out->en == NULL)
        fld_template_problem(l, "%s.%s.en: not a string", where, key);
}

static const char *get_string(struct loader *l, const struct fld_json *obj,
                              const char *key, const char *where)
{
    const struct fld_json *v = fld_json_get(obj, key);

    if (v != NULL && v->type != FLD_JSON_STRING) {
        fld_template_problem(l, "%s.%s: expected a string", where, key);
        return NULL;
    }
    return v ? v->s : NULL;
}

static bool get_bool(struct loader *l, const struct fld_json *obj,
                     const char *key, const char *where)
{
    const struct fld_json *v = fld_json_get(obj, key);

    if (v != NULL && v->type != FLD_JSON_TRUE && v->type != FLD_JSON_FALSE)
        fld_template_problem(l, "%s.%s: expected true or false", where, key);
    return v != NULL && v->type == FLD_JSON_TRUE;
}

static void get_provenance(struct loader *l, const struct fld_json *obj,
                           struct fld_provenance *out, const char *where)
{
    static const char *const keys[] = {"source", "verified", NULL};
    const struct fld_json *p = fld_json_get(obj, "provenance");
    char w[160];

    out->source = NULL;
    out->verified = false;
    if (p == NULL)
        return;
    snprintf(w, sizeof w, "%s.provenance", where);
    if (p->type != FLD_JSON_OBJECT) {
        fld_template_problem(
            l, "%s: expected {\"source\": ..., \"verified\": ...}", w);
        return;
    }
    known_keys(l, p, keys, w);
    out->source = get_string(l, p, "source", w);
    out->verified = get_bool(l, p, "verified", w);
}

/* Parse the expression at obj[key], if any. The names it reads are checked
 * later, once every question is known (check_all_refs). */
static struct fld_expr *get_expr(struct loader *l, const struct fld_json *obj,
                                 const char *key, const char *where)
{
    const char *src = get_string(l, obj, key, where);
    struct fld_expr *e = NULL;
    struct fld_err err;

    if (src == NULL)
        return NULL;
    if (fld_expr_parse(src, &e, &err) != FLD_OK) {
        fld_template_problem(l, "%s.%s: %s", where, key, err.msg);
        return NULL;
    }
    return e;
}

/* The choice lists. No known_keys() here: a choice may carry keys of its
 * own ("group": "nhom_1") for a choice_filter to read as ${group}. */
static void load_choices(struct loader *l)
{
    struct fld_template *t = l->t;
    const struct fld_json *all = fld_json_get(t->json, "choices");
    size_t i, j, k;

    if (all == NULL)
        return;
    if (all->type != FLD_JSON_OBJECT) {
        fld_template_problem(l, "choices: expected an object of lists");
        return;
    }
    t->lists = fld_xcalloc(all->n, sizeof *t->lists);
    for (i = 0; i < all->n; i++) {
        const struct fld_json *list = all->members[i].value;
        struct choice_list *cl = &t->lists[t->n_lists++];

        cl->name = all->members[i].key;
        if (list->type != FLD_JSON_ARRAY || list->n == 0 ||
            list->n > MAX_CHOICES) {
            fld_template_problem(
                l, "choices.%s: expected a list of 1 to %d choices", cl->name,
                MAX_CHOICES);
            continue;
        }
        cl->choices = fld_xcalloc(list->n, sizeof *cl->choices);
        for (j = 0; j < list->n; j++) {
            struct fld_choice *c = &cl->choices[cl->n];
            char where[128];

            snprintf(where, sizeof where, "choices.%s[%zu]", cl->name, j);
            c->json = list->items[j];
            c->name = fld_json_get_string(list->items[j], "name");
            if (!is_name(c->name)) {
                fld_template_problem(
                    l, "%s.name: missing or not a name (a-z, 0-9, _)", where);
                continue;
            }
            for (k = 0; k < cl->n; k++)
                if (strcmp(cl->choices[k].name, c->name) == 0)
                    break;
            if (k < cl->n) {
                fld_template_problem(l, "%s.name: duplicate choice \"%s\"",
                                     where, c->name);
                continue;
            }
            get_text(l, list->items[j], "label", true, &c->label, where);
            cl->n++;
        }
    }
}

static const struct choice_list *find_list(const struct fld_template *t,
                                           const char *name)
{
    size_t i;

    for (i = 0; i < t->n_lists; i++)
        if (strcmp(t->lists[i].name, name) == 0)
            return &t->lists[i];
    return NULL;
}

static int parse_type(const char *s, enum fld_qtype *out)
{
    size_t i;

    for (i = 0; s != NULL && i < N_TYPES; i++)
        if (strcmp(type_names[i], s) == 0) {
            *out = (enum fld_qtype)i;
            return 0;
        }
    return -1;
}

/* "required": true, false, or a rule, kept as required_if and evaluated
 * by the form engine per record and repeat item. */
static void load_required(struct loader *l, struct fld_question *q,
                          const struct fld_json *qj, const char *where)
{
    const struct fld_json *req = fld_json_get(qj, "required");

    if (req == NULL || req->type == FLD_JSON_FALSE)
        return;
    if (req->type == FLD_JSON_TRUE)
        q->required = true;
    else if (req->type == FLD_JSON_STRING)
        q->required_if = get_expr(l, qj, "required", where);
    else
        fld_template_problem(
            l, "%s.required: expected true, false or an expression", where);
}

/* "default": what a screen offers before anything is typed. It must be an
 * answer a person could type (fld_template_answer), or the first person to
 * accept it would save a value the template refuses. A note takes no
 * answer, so its default is not checked. */
static void load_default(struct loader *l, struct fld_question *q,
                         const struct fld_json *qj, const char *where)
{
    const struct fld_json *d = fld_json_get(qj, "default");
    struct fld_json *value = NULL;
    struct fld_err err;
    char *text;

    if (d == NULL)
        return;
    q->default_value = d;
    if (d->type != FLD_JSON_STRING && d->type != FLD_JSON_INT) {
        fld_template_problem(l, "%s.default: expected a string or an integer",
                             where);
        return;
    }
    text = d->type == FLD_JSON_INT ? fld_xasprintf("%lld", (long long)d->i)
                                   : fld_xstrdup(d->s);
    if (q->type != FLD_Q_NOTE &&
        fld_template_answer(q, text, &value, &err) != FLD_OK)
        fld_template_problem(l, "%s.default: %s", where, err.msg);
    fld_json_free(value);
    free(text);
}

/* One question, appended to t->questions (sized by count_questions()).
 * A question with a problem in its name or type is left out, so that
 * later checks never meet a question without them; other problems are
 * reported and the question kept, so that they are all found. */
static void load_question(struct loader *l, const struct fld_json *qj,
                          size_t section, const char *where)
{
    static const char *const keys[] = {
        "name",        "type",     "label",         "hint",
        "required",    "relevant", "constraint",    "constraint_message",
        "calculation", "choices",  "choice_filter", "default",
        "unit",        NULL};
    struct fld_template *t = l->t;
    struct fld_question *q = &t->questions[t->n_questions];
    const char *type;
    size_t i;

    if (qj->type != FLD_JSON_OBJECT) {
        fld_template_problem(l, "%s: expected an object", where);
        return;
    }
    known_keys(l, qj, keys, where);
    q->name = fld_json_get_string(qj, "name");
    q->section = section;
    type = fld_json_get_string(qj, "type");
    if (!is_name(q->name)) {
        fld_template_problem(l, "%s.name: missing or not a name (a-z, 0-9, _)",
                             where);
        return;
    }
    /* unique across parameters and sections: ${name} means either */
    for (i = 0; i < t->n_questions; i++)
        if (strcmp(t->questions[i].name, q->name) == 0)
            break;
    if (i < t->n_questions) {
        fld_template_problem(l, "%s.name: duplicate question \"%s\"", where,
                             q->name);
        return;
    }
    if (parse_type(type, &q->type) != 0) {
        fld_template_problem(l, "%s.type: unknown type \"%s\"", where,
                             type ? type : "");
        return;
    }
    get_text(l, qj, "label", true, &q->label, where);
    get_text(l, qj, "hint", false, &q->hint, where);
    get_text(l, qj, "constraint_message", false, &q->constraint_message, where);
    q->unit = get_string(l, qj, "unit", where);
    load_required(l, q, qj, where);
    q->relevant = get_expr(l, qj, "relevant", where);
    q->constraint = get_expr(l, qj, "constraint", where);
    q->calculation = get_expr(l, qj, "calculation", where);
    q->choice_filter = get_expr(l, qj, "choice_filter", where);
    if (q->type == FLD_Q_SELECT_ONE || q->type == FLD_Q_SELECT_MULTIPLE) {
        const char *list = fld_json_get_string(qj, "choices");
        const struct choice_list *cl = list ? find_list(t, list) : NULL;

        if (cl == NULL) {
            fld_template_problem(l, "%s.choices: unknown choice list \"%s\"",
                                 where, list ? list : "");
        } else {
            q->choices = cl->choices;
            q->n_choices = cl->n;
        }
    } else if (fld_json_get(qj, "choices") || q->choice_filter) {
        fld_template_problem(
            l, "%s.choices: only select questions have choices", where);
    }
    load_default(l, q, qj, where);
    t->n_questions++;
}

/* How many questions the JSON holds, parameters included, counted before
 * loading so that t->questions is allocated once and never moves: the
 * sections, choice lists and callers keep pointers into it. */
static size_t count_questions(const struct fld_json *json)
{
    const struct fld_json *secs = fld_json_get(json, "sections");
    const struct fld_json *params = fld_json_get(json, "parameters");
    size_t i, total = params && params->type == FLD_JSON_ARRAY ? params->n : 0;

    for (i = 0; secs && secs->type == FLD_JSON_ARRAY && i < secs->n; i++) {
        const struct fld_json *qs = fld_json_get(secs->items[i], "questions");

        if (qs && qs->type == FLD_JSON_ARRAY)
            total += qs->n;
    }
    return total;
}

/* Parameters are questions in no section (FLD_NO_SECTION), asked first:
 * the region, commune group or year that thresholds are keyed by. */
static void load_parameters(struct loader *l)
{
    const struct fld_json *params = fld_json_get(l->t->json, "parameters");
    char where[64];
    size_t i;

    if (params == NULL)
        return;
    if (params->type != FLD_JSON_ARRAY) {
        fld_template_problem(l, "parameters: expected a list of questions");
        return;
    }
    for (i = 0; i < params->n; i++) {
        snprintf(where, sizeof where, "parameters[%zu]", i);
        load_question(l, params->items[i], FLD_NO_SECTION, where);
    }
}

/* Each section's questions follow each other in t->questions, from
 * s->first, so a section is a range and a question knows its section. */
static void load_sections(struct loader *l)
{
    static const char *const keys[] = {"name",     "label",  "questions",
                                       "relevant", "repeat", NULL};
    struct fld_template *t = l->t;
    const struct fld_json *secs = fld_json_get(t->json, "sections");
    size_t i, j;

    if (secs == NULL || secs->type != FLD_JSON_ARRAY || secs->n == 0) {
        fld_template_problem(l, "sections: expected a list of sections");
        return;
    }
    t->sections = fld_xcalloc(secs->n, sizeof *t->sections);
    for (i = 0; i < secs->n; i++) {
        const struct fld_json *sj = secs->items[i];
        const struct fld_json *qs = fld_json_get(sj, "questions");
        struct fld_section *s = &t->sections[t->n_sections];
        char where[128];

        snprintf(where, sizeof where, "sections[%zu]", i);
        if (sj->type != FLD_JSON_OBJECT) {
            fld_template_problem(l, "%s: expected an object", where);
            continue;
        }
        known_keys(l, sj, keys, where);
        s->name = fld_json_get_string(sj, "name");
        if (!is_name(s->name))
            fld_template_problem(l, "%s.name: missing or not a name", where);
        get_text(l, sj, "label", true, &s->label, where);
        s->relevant = get_expr(l, sj, "relevant", where);
        s->is_repeat = get_bool(l, sj, "repeat", where);
        s->first = t->n_questions;
        t->n_sections++;
        if (qs == NULL || qs->type != FLD_JSON_ARRAY) {
            fld_template_problem(l, "%s.questions: expected a list", where);
            continue;
        }
        for (j = 0; j < qs->n; j++) {
            snprintf(where, sizeof where, "sections[%zu].questions[%zu]", i, j);
            load_question(l, qs->items[j], t->n_sections - 1, where);
        }
        s->n = t->n_questions - s->first;
    }
}

/* A threshold table: "by" lists parameters, and "values" maps their values
 * joined by '/' to the threshold. */
static void load_threshold_table(struct loader *l, struct fld_threshold *th,
                                 const struct fld_json *by, const char *where)
{
    const char **names;
    size_t j;

    if (by->type != FLD_JSON_ARRAY || by->n == 0 || th->values == NULL ||
        th->values->type != FLD_JSON_OBJECT) {
        fld_template_problem(
            l, "%s: \"by\" must list parameters and \"values\" be an object",
            where);
        return;
    }
    names = fld_xcalloc(by->n, sizeof *names);
    for (j = 0; j < by->n; j++) {
        if (by->items[j]->type != FLD_JSON_STRING ||
            !is_parameter(l->t, by->items[j]->s))
            fld_template_problem(
                l, "%s.by[%zu]: not a parameter of this template", where, j);
        else
            names[th->n_by++] = by->items[j]->s;
    }
    th->by = names;
    if (th->n_by == by->n) /* keys are read part by part: all must be there */
        fld_template_check_keys(l, th, where);
}

/*
 * Thresholds are data: a "value", or a table keyed by parameters. Neither
 * is interpreted here: a null value, or a key missing from the table, is
 * an unknown threshold, and a rule that needs it answers unknown when the
 * form engine evaluates it (form.c), never a guess.
 */
static void load_thresholds(struct loader *l)
{
    static const char *const keys[] = {"label",  "unit",       "value", "by",
                                       "values", "provenance", NULL};
    struct fld_template *t = l->t;
    const struct fld_json *all = fld_json_get(t->json, "thresholds");
    size_t i;

    if (all == NULL)
        return;
    if (all->type != FLD_JSON_OBJECT) {
        fld_template_problem(l, "thresholds: expected an object");
        return;
    }
    t->thresholds = fld_xcalloc(all->n, sizeof *t->thresholds);
    for (i = 0; i < all->n; i++) {
        const struct fld_json *tj = all->members[i].value, *by;
        struct fld_threshold *th = &t->thresholds[t->n_thresholds++];
        char where[128];

        th->name = all->members[i].key;
        snprintf(where, sizeof where, "thresholds.%s", th->name);
        if (tj->type != FLD_JSON_OBJECT) {
            fld_template_problem(l, "%s: expected an object", where);
            continue;
        }
        known_keys(l, tj, keys, where);
        get_text(l, tj, "label", true, &th->label, where);
        th->unit = get_string(l, tj, "unit", where);
        get_provenance(l, tj, &th->provenance, where);
        by = fld_json_get(tj, "by");
        th->value = fld_json_get(tj, "value");
        th->values = fld_json_get(tj, "values");
        if (by != NULL)
            load_threshold_table(l, th, by, where);
        else if (th->values != NULL)
            fld_template_problem(
                l, "%s.values: needs \"by\" (the parameters it is keyed by)",
                where);
    }
}

/* A criterion's indicators. An indicator without a "met" rule is kept: its
 * text is known but not how to check it from answers, and the form engine
 * reports it unknown. Codes are unique within the criterion. */
static void load_indicators(struct loader *l, struct fld_criterion *c,
                            const struct fld_json *list, const char *cwhere)
{
    static const char *const keys[] = {"code", "text", "met", "provenance",
                                       NULL};
    struct fld_indicator *ind;
    size_t i, k;

    if (list == NULL || list->type != FLD_JSON_ARRAY) {
        fld_template_problem(l, "%s.indicators: expected a list", cwhere);
        return;
    }
    ind = fld_xcalloc(list->n, sizeof *ind);
    c->indicators = ind;
    for (i = 0; i < list->n; i++) {
        struct fld_indicator *d = &ind[c->n_indicators];
        char where[160];

        snprintf(where, sizeof where, "%s.indicators[%zu]", cwhere, i);
        known_keys(l, list->items[i], keys, where);
        d->code = fld_json_get_string(list->items[i], "code");
        if (!is_code(d->code)) {
            fld_template_problem(l, "%s.code: missing or not a code", where);
            continue;
        }
        for (k = 0; k < c->n_indicators; k++)
            if (strcmp(ind[k].code, d->code) == 0)
                fld_template_problem(l, "%s.code: duplicate indicator \"%s\"",
                                     where, d->code);
        get_text(l, list->items[i], "text", true, &d->text, where);
        d->met = get_expr(l, list->items[i], "met", where);
        get_provenance(l, list->items[i], &d->provenance, where);
        c->n_indicators++;
    }
}

/* The criteria. A criterion's own "met" rule, when given, replaces the
 * default (all indicators met) in the form engine. */
static void load_criteria(struct loader *l)
{
    static const char *const keys[] = {
        "code", "name", "group", "provenance", "indicators", "met", NULL};
    struct fld_template *t = l->t;
    const struct fld_json *all = fld_json_get(t->json, "criteria");
    size_t i, k;

    if (all == NULL)
        return;
    if (all->type != FLD_JSON_ARRAY) {
        fld_template_problem(l, "criteria: expected a list");
        return;
    }
    t->criteria = fld_xcalloc(all->n, sizeof *t->criteria);
    for (i = 0; i < all->n; i++) {
        const struct fld_json *cj = all->items[i];
        struct fld_criterion *c = &t->criteria[t->n_criteria];
        char where[64];

        snprintf(where, sizeof where, "criteria[%zu]", i);
        known_keys(l, cj, keys, where);
        c->code = fld_json_get_string(cj, "code");
        if (!is_code(c->code)) {
            fld_template_problem(l, "%s.code: missing or not a code", where);
            continue;
        }
        for (k = 0; k < t->n_criteria; k++)
            if (strcmp(t->criteria[k].code, c->code) == 0)
                fld_template_problem(l, "%s.code: duplicate criterion \"%s\"",
                                     where, c->code);
        get_text(l, cj, "name", true, &c->name, where);
        get_text(l, cj, "group", false, &c->group, where);
        get_provenance(l, cj, &c->provenance, where);
        c->met = get_expr(l, cj, "met", where);
        load_indicators(l, c, fld_json_get(cj, "indicators"), where);
        t->n_criteria++;
    }
}

/* Tier codes: 1..MAX_NAME of a-z, 0-9 and '-' ("xa-ntm-nang-cao"). They
 * name programme tiers across templates (the province's report counts
 * units by them), so their spelling is narrower than a question's name. */
static bool is_tier_code(const char *s)
{
    size_t i;

    for (i = 0; s != NULL && s[i] != '\0'; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-') ||
            i >= MAX_NAME)
            return false;
    return s != NULL && i > 0;
}

/*
 * The tier's "code" (the programme tier this template decides) and
 * "implies" (the tiers a unit meeting it meets too: a model commune is an
 * advanced one, an advanced one meets NTM). implies needs a code, may not
 * name it, and names each tier once.
 */
static void load_tier_code(struct loader *l, const struct fld_json *tier)
{
    struct fld_template *t = l->t;
    const struct fld_json *code = fld_json_get(tier, "code");
    const struct fld_json *imp = fld_json_get(tier, "implies");
    size_t i, k;

    if (code != NULL &&
        (code->type != FLD_JSON_STRING || !is_tier_code(code->s)))
        fld_template_problem(l,
                             "tier.code: expected a tier code of 1 to %d "
                             "characters a-z, 0-9, -",
                             MAX_NAME);
    else if (code != NULL)
        t->tier_code = code->s;
    if (imp == NULL)
        return;
    if (code == NULL) {
        fld_template_problem(l, "tier.implies: needs a \"code\" (the tier "
                                "that implies them)");
        return;
    }
    if (imp->type != FLD_JSON_ARRAY) {
        fld_template_problem(l, "tier.implies: expected a list of tier codes");
        return;
    }
    t->tier_implies = fld_xcalloc(imp->n ? imp->n : 1, sizeof *t->tier_implies);
    for (i = 0; i < imp->n; i++) {
        const struct fld_json *c = imp->items[i];

        if (c->type != FLD_JSON_STRING || !is_tier_code(c->s)) {
            fld_template_problem(l, "tier.implies[%zu]: not a tier code", i);
            continue;
        }
        if (t->tier_code != NULL && strcmp(c->s, t->tier_code) == 0) {
            fld_template_problem(l,
                                 "tier.implies[%zu]: \"%s\" is this tier "
                                 "itself",
                                 i, c->s);
            continue;
        }
        for (k = 0; k < t->n_tier_implies; k++)
            if (strcmp(t->tier_implies[k], c->s) == 0)
                break;
        if (k < t->n_tier_implies)
            fld_template_problem(l, "tier.implies[%zu]: \"%s\" given twice", i,
                                 c->s);
        else
            t->tier_implies[t->n_tier_implies++] = c->s;
    }
}

/* The tier: met when all criteria are ("requires": "all", kept as 0), or
 * when at least N are (1 <= N <= the number of criteria). Loaded after the
 * criteria, to know how many there are. */
static void load_tier(struct loader *l)
{
    static const char *const keys[] = {"label", "requires", "code", "implies",
                                       NULL};
    struct fld_template *t = l->t;
    const struct fld_json *tier = fld_json_get(t->json, "tier"), *req;

    if (tier == NULL)
        return;
    known_keys(l, tier, keys, "tier");
    get_text(l, tier, "label", true, &t->tier_label, "tier");
    load_tier_code(l, tier);
    req = fld_json_get(tier, "requires");
    t->has_tier = true;
    if (req != NULL && req->type == FLD_JSON_STRING &&
        strcmp(req->s, "all") == 0)
        t->tier_requires = 0;
    else if (req != NULL && req->type == FLD_JSON_INT && req->i > 0 &&
             (size_t)req->i <= t->n_criteria)
        t->tier_requires = (size_t)req->i;
    else
        fld_template_problem(
            l,
            "tier.requires: expected \"all\" or a number of criteria "
            "from 1 to %zu",
            t->n_criteria);
}

/* The top-level keys (known_keys names them all), the identity, the
 * title, the criteria set, and the unit kinds inspected: subject_kind is
 * one kind or a list of them. */
static void load_header(struct loader *l)
{
    static const char *const keys[] = {
        "id",           "version",    "title",      "subject_kind",
        "criteria_set", "parameters", "thresholds", "choices",
        "sections",     "criteria",   "tier",       NULL};
    static const char *const set_keys[] = {"name", "version", "source",
                                           "verified", NULL};
    struct fld_template *t = l->t;
    const struct fld_json *set = fld_json_get(t->json, "criteria_set");
    const struct fld_json *kinds = fld_json_get(t->json, "subject_kind");
    size_t i;

    known_keys(l, t->json, keys, "template");
    t->id = fld_json_get_string(t->json, "id");
    t->version = fld_json_get_string(t->json, "version");
    if (!is_name(t->id))
        fld_template_problem(l, "id: missing or not a name (a-z, 0-9, _, -)");
    if (t->version == NULL || t->version[0] == '\0')
        fld_template_problem(l, "version: missing");
    get_text(l, t->json, "title", true, &t->title, "template");
    if (set != NULL) {
        known_keys(l, set, set_keys, "criteria_set");
        get_text(l, set, "name", true, &t->set.name, "criteria_set");
        t->set.version = get_string(l, set, "version", "criteria_set");
        t->set.source = get_string(l, set, "source", "criteria_set");
        t->set.verified = get_bool(l, set, "verified", "criteria_set");
    }
    if (kinds != NULL && kinds->type == FLD_JSON_STRING) {
        t->kinds = fld_xcalloc(1, sizeof *t->kinds);
        t->kinds[t->n_kinds++] = kinds->s;
    } else if (kinds != NULL && kinds->type == FLD_JSON_ARRAY) {
        t->kinds = fld_xcalloc(kinds->n, sizeof *t->kinds);
        for (i = 0; i < kinds->n; i++)
            if (kinds->items[i]->type == FLD_JSON_STRING)
                t->kinds[t->n_kinds++] = kinds->items[i]->s;
            else
                fld_template_problem(l, "subject_kind[%zu]: expected a string",
                                     i);
    } else if (kinds != NULL) {
        fld_template_problem(
            l, "subject_kind: expected a unit kind or a list of kinds");
    }
}

static int cmp_name_index(const void *a, const void *b)
{
    return strcmp(((const struct name_index *)a)->name,
                  ((const struct name_index *)b)->name);
}

/* Sort the questions by name for fld_template_question(); until this runs,
 * by_name is NULL and look-ups scan. */
static void build_index(struct fld_template *t)
{
    struct name_index *ix = fld_xcalloc(t->n_questions, sizeof *ix);
    size_t i;

    for (i = 0; i < t->n_questions; i++) {
        ix[i].name = t->questions[i].name;
        ix[i].index = i;
    }
    if (t->n_questions > 0)
        qsort(ix, t->n_questions, sizeof *ix, cmp_name_index);
    t->by_name = ix;
}

/* The steps, in the order the file comment explains: each may rely on
 * what the ones before it loaded. */
static void load(struct loader *l)
{
    struct fld_template *t = l->t;

    if (t->json->type != FLD_JSON_OBJECT) {
        fld_template_problem(l, "template: expected an object");
        return;
    }
    load_header(l);
    load_choices(l);
    t->questions = fld_xcalloc(count_questions(t->json), sizeof *t->questions);
    if (count_questions(t->json) > MAX_QUESTIONS) {
        fld_template_problem(l, "sections: more than %d questions",
                             MAX_QUESTIONS);
        return;
    }
    load_parameters(l);
    load_sections(l);
    build_index(t);
    load_thresholds(l);
    load_criteria(l);
    load_tier(l);
    /* only on a template otherwise sound: one misspelt question would
     * otherwise be reported again by every rule that reads it */
    if (l->n_problems == 0) {
        fld_template_check_refs(l);
        fld_template_check_cycles(l);
    }
}

/* Parse and load; the caller frees what is returned (NULL only when the
 * bytes are over the size limit), problems or not. A template with
 * problems gets no canonical form and no hash: nothing may name it. */
static struct fld_template *load_bytes(const uint8_t *p, size_t len,
                                       struct loader *l)
{
    struct fld_template *t;
    struct fld_buf canon = FLD_BUF_INIT;
    uint8_t h[32];
    struct fld_err jerr;

    if (len > FLD_TEMPLATE_MAX_BYTES) {
        fld_template_problem(l, "template: larger than %d bytes",
                             FLD_TEMPLATE_MAX_BYTES);
        return NULL;
    }
    t = fld_xcalloc(1, sizeof *t);
    l->t = t;
    if (fld_json_parse(p, len, &t->json, &jerr) != FLD_OK) {
        fld_template_problem(l, "template: %s", jerr.msg);
        return t;
    }
    load(l);
    if (l->n_problems == 0 && fld_json_write(t->json, &canon, &jerr) != FLD_OK)
        fld_template_problem(l, "template: %s", jerr.msg);
    if (l->n_problems == 0) {
        t->canon = (uint8_t *)fld_buf_detach(&canon, &t->canon_len);
        crypto_generichash(h, sizeof h, t->canon, t->canon_len, NULL, 0);
        fld_hex_encode(h, sizeof h, t->hash);
    }
    fld_buf_free(&canon);
    return t;
}

int fld_template_parse(const uint8_t *p, size_t len, struct fld_template **out,
                       struct fld_err *err)
{
    struct loader l = {NULL, err, NULL, NULL, 0};
    struct fld_template *t = load_bytes(p, len, &l);

    *out = NULL;
    if (l.n_problems > 0) {
        fld_template_free(t);
        if (len <= FLD_TEMPLATE_MAX_BYTES)
            return FLD_EINVAL; /* fld_template_problem() set err from the first
                                  one */
        /* the message ("larger than ...") stays; only the code differs */
        if (err != NULL)
            err->code = FLD_ELIMIT;
        return FLD_ELIMIT;
    }
    *out = t;
    return FLD_OK;
}

int fld_template_parse_embedded(const struct fld_embedded *e,
                                struct fld_template **out, struct fld_err *err)
{
    unsigned char *text = fld_embedded_inflate(e);
    int rc = fld_template_parse(text, e->len, out, err);

    free(text);
    return rc;
}

size_t fld_template_check(const uint8_t *p, size_t len, fld_problem_fn fn,
                          void *ctx)
{
    struct loader l = {NULL, NULL, fn, ctx, 0};

    fld_template_free(load_bytes(p, len, &l));
    return l.n_problems;
}

static void free_question_exprs(struct fld_question *q)
{
    fld_expr_free(q->required_if);
    fld_expr_free(q->relevant);
    fld_expr_free(q->constraint);
    fld_expr_free(q->calculation);
    fld_expr_free(q->choice_filter);
}

void fld_template_free(struct fld_template *t)
{
    size_t i, j;

    if (t == NULL)
        return;
    for (i = 0; i < t->n_questions; i++)
        free_question_exprs(&t->questions[i]);
    for (i = 0; i < t->n_sections; i++)
        fld_expr_free(t->sections[i].relevant);
    for (i = 0; i < t->n_criteria; i++) {
        for (j = 0; j < t->criteria[i].n_indicators; j++)
            fld_expr_free(t->criteria[i].indicators[j].met);
        fld_expr_free(t->criteria[i].met);
        free((void *)t->criteria[i].indicators);
    }
    for (i = 0; i < t->n_thresholds; i++)
        free((void *)t->thresholds[i].by);
    for (i = 0; i < t->n_lists; i++)
        free(t->lists[i].choices);
    free(t->criteria);
    free(t->thresholds);
    free(t->lists);
    free(t->sections);
    free(t->questions);
    free(t->by_name);
    free(t->kinds);
    free(t->tier_implies);
    for (i = 0; i < t->n_revised; i++) {
        fld_json_free(t->revised[i].json);
        free(t->revised[i].source);
    }
    free(t->revised);
    free(t->canon);
    fld_json_free(t->json);
    free(t);
}

const char *fld_template_id(const struct fld_template *t)
{
    return t->id;
}
const char *fld_template_version(const struct fld_template *t)
{
    return t->version;
}
const char *fld_template_hash(const struct fld_template *t)
{
    return t->hash;
}
const struct fld_text *fld_template_title(const struct fld_template *t)
{
    return &t->title;
}

const struct fld_criteria_set *
fld_template_criteria_set(const struct fld_template *t)
{
    return &t->set;
}

size_t fld_template_n_subject_kinds(const struct fld_template *t)
{
    return t->n_kinds;
}

const char *fld_template_subject_kind(const struct fld_template *t, size_t i)
{
    return i < t->n_kinds ? t->kinds[i] : NULL;
}

const uint8_t *fld_template_canonical(const struct fld_template *t, size_t *len)
{
    *len = t->canon_len;
    return t->canon;
}

size_t fld_template_n_sections(const struct fld_template *t)
{
    return t->n_sections;
}

const struct fld_section *fld_template_section(const struct fld_template *t,
                                               size_t i)
{
    return i < t->n_sections ? &t->sections[i] : NULL;
}

size_t fld_template_n_questions(const struct fld_template *t)
{
    return t->n_questions;
}

const struct fld_question *
fld_template_question_at(const struct fld_template *t, size_t i)
{
    return i < t->n_questions ? &t->questions[i] : NULL;
}

const struct fld_question *fld_template_question(const struct fld_template *t,
                                                 const char *name)
{
    struct name_index key = {name, 0};
    const struct name_index *hit;
    size_t i;

    if (t->by_name == NULL) { /* still loading: a linear scan */
        for (i = 0; i < t->n_questions; i++)
            if (strcmp(t->questions[i].name, name) == 0)
                return &t->questions[i];
        return NULL;
    }
    if (t->n_questions == 0)
        return NULL;
    hit = bsearch(&key, t->by_name, t->n_questions, sizeof key, cmp_name_index);
    return hit ? &t->questions[hit->index] : NULL;
}

void fld_template_match_answers(const struct fld_template *t,
                                const struct fld_json *answers,
                                const struct fld_json **out)
{
    size_t q = 0, a = 0;

    for (q = 0; q < t->n_questions; q++)
        out[q] = NULL;
    if (answers->type != FLD_JSON_OBJECT)
        return;
    if (t->by_name == NULL) { /* still loading: a look-up each */
        for (q = 0; q < t->n_questions; q++)
            out[q] = fld_json_get(answers, t->questions[q].name);
        return;
    }
    q = 0;
    while (q < t->n_questions && a < answers->n) {
        const struct fld_json_member *m = &answers->members[a];
        int c = strcmp(t->by_name[q].name, m->key);

        if (c == 0)
            out[t->by_name[q].index] = m->value;
        q += c <= 0;
        a += c >= 0;
    }
}

size_t fld_template_question_index(const struct fld_template *t,
                                   const struct fld_question *q)
{
    return (size_t)(q - t->questions);
}

const struct fld_section *fld_template_repeat(const struct fld_template *t,
                                              const char *name)
{
    size_t i;

    for (i = 0; i < t->n_sections; i++)
        if (t->sections[i].is_repeat && t->sections[i].name &&
            strcmp(t->sections[i].name, name) == 0)
            return &t->sections[i];
    return NULL;
}

size_t fld_template_n_thresholds(const struct fld_template *t)
{
    return t->n_thresholds;
}

const struct fld_threshold *
fld_template_threshold_at(const struct fld_template *t, size_t i)
{
    return i < t->n_thresholds ? &t->thresholds[i] : NULL;
}

const struct fld_threshold *fld_template_threshold(const struct fld_template *t,
                                                   const char *name)
{
    size_t i;

    for (i = 0; i < t->n_thresholds; i++)
        if (strcmp(t->thresholds[i].name, name) == 0)
            return &t->thresholds[i];
    return NULL;
}

size_t fld_template_n_criteria(const struct fld_template *t)
{
    return t->n_criteria;
}

const struct fld_criterion *fld_template_criterion(const struct fld_template *t,
                                                   size_t i)
{
    return i < t->n_criteria ? &t->criteria[i] : NULL;
}

bool fld_template_tier(const struct fld_template *t,
                       const struct fld_text **label, size_t *requires)
{
    *label = &t->tier_label;
    *requires = t->tier_requires;
    return t->has_tier;
}

const char *fld_template_tier_code(const struct fld_template *t)
{
    return t->tier_code;
}

size_t fld_template_n_tier_implies(const struct fld_template *t)
{
    return t->n_tier_implies;
}

const char *fld_template_tier_implies(const struct fld_template *t, size_t i)
{
    return i < t->n_tier_implies ? t->tier_implies[i] : NULL;
}
