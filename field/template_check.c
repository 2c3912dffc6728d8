/*
 * template_check.c - the checks of a template that need all of it loaded
 * (template_int.h): the names every rule reads, cycles of calculations,
 * and the keys of threshold tables.
 *
 * Where it sits: the loader (template.c) calls these once it has read the
 * whole JSON, the references and cycles only when nothing else was wrong
 * (one misspelt question would otherwise be reported again by every rule
 * that reads it). They report through fld_template_problem() with the
 * place of the rule, as the template's author wrote it, and change
 * nothing.
 *
 * Why these checks exist: a rule that reads a name no question has would
 * read a blank on every record, and a threshold key no parameter value
 * can match would leave the threshold unknown on every record, both
 * without a word; a calculation that reads itself has no value at all.
 * Cycles through other rules (relevance rules reading each other) are not
 * refused: the form engine breaks them where it meets them (form.c).
 *
 * Cost: each rule's names are looked up by binary search, and the cycle
 * walk visits each question and each of its calculation's references
 * once: linear in the size of the rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "template_int.h"

/* Each key of a threshold table names values its parameters can take:
 * a typo ("bac_trung_b0") would otherwise leave a threshold unknown
 * silently. A key is checked part by part with the normaliser of a typed
 * answer, so it matches exactly what the form engine builds from a
 * record's parameters (form.c). The words, without the key's place, go to
 * msg; true when the key is good. */
bool fld_template_key_ok(const struct fld_template *t,
                         const struct fld_threshold *th, const char *key,
                         char *msg, size_t len)
{
    const char *part = key;
    size_t k;

    for (k = 0; k < th->n_by; k++) {
        const struct fld_question *p = fld_template_question(t, th->by[k]);
        size_t n = strcspn(part, "/");
        char *value = fld_xstrndup(part, n);
        struct fld_json *v = NULL;
        struct fld_err err;
        bool ok = fld_template_answer(p, value, &v, &err) == FLD_OK && v;

        if (!ok)
            snprintf(msg, len, "\"%s\" is not a value of parameter %s", value,
                     p->name);
        fld_json_free(v);
        free(value);
        if (!ok)
            return false;
        part += n;
        if (*part == '/') {
            part++;
        } else if (k + 1 < th->n_by) {
            snprintf(msg, len, "needs %zu parts joined by '/'", th->n_by);
            return false;
        }
    }
    if (*part != '\0') {
        snprintf(msg, len, "has more than %zu parts", th->n_by);
        return false;
    }
    return true;
}

void fld_template_check_keys(struct loader *l, const struct fld_threshold *th,
                             const char *where)
{
    char msg[FLD_ERR_MSG_MAX];
    size_t i;

    for (i = 0; i < th->values->n; i++)
        if (!fld_template_key_ok(l->t, th, th->values->members[i].key, msg,
                                 sizeof msg))
            fld_template_problem(l, "%s.values: key \"%s\": %s", where,
                                 th->values->members[i].key, msg);
}

/* Every name an expression reads must exist, so that a typo in a rule is
 * a load error, not a rule that silently reads a blank on every record.
 * allow_self: '.' is the answer, which only a constraint has. in_filter:
 * in a choice_filter, a name that is no question is a key of the choice
 * being filtered, which only the choices of a record can tell. */
static void check_refs(struct loader *l, const struct fld_expr *e,
                       bool allow_self, bool in_filter, const char *where,
                       const char *key)
{
    const struct fld_template *t = l->t;
    size_t i;

    if (e == NULL)
        return;
    for (i = 0; i < fld_expr_n_refs(e); i++) {
        const char *r = fld_expr_ref(e, i);

        /* in a choice_filter, other names are the choice's own keys */
        if (!fld_template_question(t, r) && !fld_template_repeat(t, r) &&
            !in_filter)
            fld_template_problem(l, "%s.%s: unknown reference ${%s}", where,
                                 key, r);
    }
    for (i = 0; i < fld_expr_n_thresholds(e); i++)
        if (!fld_template_threshold(t, fld_expr_threshold(e, i)))
            fld_template_problem(l, "%s.%s: unknown threshold '%s'", where, key,
                                 fld_expr_threshold(e, i));
    for (i = 0; i < fld_expr_n_params(e); i++)
        if (!is_parameter(t, fld_expr_param(e, i)))
            fld_template_problem(l, "%s.%s: unknown parameter '%s'", where, key,
                                 fld_expr_param(e, i));
    if (!allow_self && fld_expr_uses_self(e))
        fld_template_problem(
            l, "%s.%s: '.' means the answer, and only a constraint has one",
            where, key);
}

/* The place of question i, as the template's author wrote it. */
static void question_place(const struct fld_template *t, size_t i, char *out,
                           size_t len)
{
    const struct fld_question *q = &t->questions[i];
    size_t first =
        q->section == FLD_NO_SECTION ? 0 : t->sections[q->section].first;

    if (q->section == FLD_NO_SECTION)
        snprintf(out, len, "parameters[%zu]", i);
    else
        snprintf(out, len, "sections[%zu].questions[%zu]", q->section,
                 i - first);
}

void fld_template_check_refs(struct loader *l)
{
    const struct fld_template *t = l->t;
    char where[160];
    size_t i, j;

    for (i = 0; i < t->n_questions; i++) {
        const struct fld_question *q = &t->questions[i];

        question_place(t, i, where, sizeof where);
        check_refs(l, q->relevant, false, false, where, "relevant");
        check_refs(l, q->required_if, false, false, where, "required");
        check_refs(l, q->constraint, true, false, where, "constraint");
        check_refs(l, q->calculation, false, false, where, "calculation");
        check_refs(l, q->choice_filter, false, true, where, "choice_filter");
    }
    for (i = 0; i < t->n_sections; i++) {
        snprintf(where, sizeof where, "sections[%zu]", i);
        check_refs(l, t->sections[i].relevant, false, false, where, "relevant");
    }
    for (i = 0; i < t->n_criteria; i++) {
        const struct fld_criterion *c = &t->criteria[i];

        snprintf(where, sizeof where, "criteria[%zu]", i);
        check_refs(l, c->met, false, false, where, "met");
        for (j = 0; j < c->n_indicators; j++) {
            snprintf(where, sizeof where, "criteria[%zu].indicators[%zu]", i,
                     j);
            check_refs(l, c->indicators[j].met, false, false, where, "met");
        }
    }
}

/*
 * Calculations may not depend on themselves: a depth-first walk over
 * "calculation of q reads r" edges, colouring questions white (0), grey
 * (1, on the current path) and black (2, done). Meeting a grey question
 * closes a cycle; path then holds its names, which the message shows.
 * Only calculations: a cycle of them has no value at all, whereas other
 * rules in a cycle (relevance rules reading each other) are broken by the
 * form engine when it meets them. The recursion is as deep as the longest
 * chain of calculations, at most the number of questions (2000).
 */
static bool calc_cycle(const struct fld_template *t, size_t i, int *colour,
                       struct fld_buf *path)
{
    const struct fld_expr *e = t->questions[i].calculation;
    size_t k;

    if (colour[i] == 2 || e == NULL)
        return false;
    fld_buf_printf(path, "%s%s", path->len ? " -> " : "", t->questions[i].name);
    if (colour[i] == 1)
        return true;
    colour[i] = 1;
    for (k = 0; k < fld_expr_n_refs(e); k++) {
        const struct fld_question *r =
            fld_template_question(t, fld_expr_ref(e, k));
        size_t before = path->len;

        if (r != NULL &&
            calc_cycle(t, fld_template_question_index(t, r), colour, path))
            return true;
        path->len = before;
        if (path->data)
            path->data[before] = '\0';
    }
    colour[i] = 2;
    return false;
}

void fld_template_check_cycles(struct loader *l)
{
    const struct fld_template *t = l->t;
    int *colour = fld_xcalloc(t->n_questions, sizeof *colour);
    struct fld_buf path = FLD_BUF_INIT;
    char where[160];
    size_t i;

    for (i = 0; i < t->n_questions; i++) {
        fld_buf_reset(&path);
        if (colour[i] == 0 && calc_cycle(t, i, colour, &path)) {
            question_place(t, i, where, sizeof where);
            fld_template_problem(
                l, "%s.calculation: calculations form a cycle: %s", where,
                fld_buf_str(&path));
            break; /* one cycle is enough to fix first */
        }
    }
    fld_buf_free(&path);
    free(colour);
}
