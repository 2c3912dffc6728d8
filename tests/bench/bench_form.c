/*
 * bench_form.c - how fast the form engine evaluates a whole checklist:
 * loading (parsing and checking) the 2021-2025 commune template, and
 * evaluating it against a full answer set (relevance, calculations,
 * constraints, 19 criteria and the tier), as `field show` does.
 * Prints figures only; never fails on time.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"
#include "embedded.h"
#include "form.h"
#include "template.h"

/* Answer every question with something its type accepts: choices get their
 * first choice, numbers 100 (totals) or 90 (parts), dates today. */
static struct fld_json *answers_for(const struct fld_template *t)
{
    struct fld_json *a = fld_json_object();
    size_t i;

    for (i = 0; i < fld_template_n_questions(t); i++) {
        const struct fld_question *q = fld_template_question_at(t, i);
        const char *text = NULL;
        char buf[32];
        struct fld_json *v = NULL;

        if (q->calculation || q->type == FLD_Q_NOTE || q->type == FLD_Q_PHOTO ||
            (q->section != FLD_NO_SECTION &&
             fld_template_section(t, q->section)->is_repeat))
            continue;
        switch (q->type) {
        case FLD_Q_INTEGER:
            snprintf(buf, sizeof buf, "%d",
                     strstr(q->name, "total") ? 100 : 90);
            text = strcmp(q->name, "year") == 0 ? "2025" : buf;
            break;
        case FLD_Q_DECIMAL:
            text = "54.78";
            break;
        case FLD_Q_DATE:
            text = "2026-11-28";
            break;
        case FLD_Q_GEOPOINT:
            text = "18.3521 105.9012";
            break;
        case FLD_Q_SELECT_ONE:
        case FLD_Q_SELECT_MULTIPLE:
            text = strcmp(q->name, "region") == 0 ? "bac_trung_bo"
                                                  : q->choices[0].name;
            break;
        default:
            text = "Đạt yêu cầu, có biên bản kèm theo";
            break;
        }
        if (fld_template_answer(q, text, &v, NULL) == FLD_OK && v != NULL)
            fld_json_set(a, q->name, v);
    }
    return a;
}

int main(int argc, char **argv)
{
    const struct fld_embedded *e = fld_embedded_find("ntm-xa-2021.json");
    int rounds = argc > 1 ? atoi(argv[1]) : 2000, i;
    struct fld_template *t = NULL;
    struct fld_json *a;
    struct fld_form *f;
    double t0, dt;
    size_t n_answers;

    if (sodium_init() < 0 || e == NULL || rounds < 1)
        return 1;
    t0 = now_s();
    for (i = 0; i < 50; i++) {
        fld_template_free(t);
        if (fld_template_parse_embedded(e, &t, NULL) != FLD_OK)
            return 1;
    }
    dt = now_s() - t0;
    printf("template load:   %8.0f /s  (ntm-xa-2021: %zu bytes, %zu questions, "
           "%zu criteria)\n",
           50 / dt, e->len, fld_template_n_questions(t),
           fld_template_n_criteria(t));
    a = answers_for(t);
    n_answers = a->n;
    t0 = now_s();
    for (i = 0; i < rounds; i++) {
        if (fld_form_eval(t, a, "2026-11-28", &f, NULL) != FLD_OK)
            return 1;
        fld_form_free(f);
    }
    dt = now_s() - t0;
    printf("form evaluation: %8.0f /s  (%zu answers; %.1f us each)\n",
           rounds / dt, n_answers, 1e6 * dt / rounds);
    fld_json_free(a);
    fld_template_free(t);
    return 0;
}
