/*
 * form.h - the form engine: a template evaluated against a record's
 * answers.
 *
 * Given a template, the answers (parameters included) and today's date,
 * it computes which questions are relevant, the value of every calculation,
 * which required questions are blank and which answers break their
 * constraint, and the status of every indicator, criterion and of the
 * template's tier: met, not met, or unknown (a threshold unset or an answer
 * missing). Evaluation is lazy and memoised per question and repeat item,
 * so a template is evaluated in one pass whatever order its expressions
 * refer to each other in.
 *
 * Answers of a repeat section live under the section's name as an object
 * keyed by stable item id: {"households": {"<id>": {"name": ...}, ...}}.
 */
#ifndef FLD_FORM_H
#define FLD_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "expr.h"
#include "json.h"
#include "template.h"
#include "value.h"

enum fld_status { FLD_STATUS_UNKNOWN, FLD_STATUS_MET, FLD_STATUS_NOT_MET };

enum fld_problem_kind {
    FLD_PROBLEM_REQUIRED,   /* relevant, required, blank */
    FLD_PROBLEM_CONSTRAINT, /* the answer breaks its constraint */
    FLD_PROBLEM_TYPE,  /* the stored answer is not of the question's type */
    FLD_PROBLEM_CHOICE /* a choice its choice_filter does not offer */
};

struct fld_problem {
    enum fld_problem_kind kind;
    const struct fld_question *question;
    const char *item; /* repeat item id, NULL outside repeats */
};

struct fld_form;

/*
 * Evaluate. today is "YYYY-MM-DD". answers may be NULL (nothing answered).
 * Both t and answers must outlive the form. FLD_EINVAL only when an
 * expression fails to evaluate (a regex or date error): the message names
 * the question.
 */
int fld_form_eval(const struct fld_template *t, const struct fld_json *answers,
                  const char *today, struct fld_form **out,
                  struct fld_err *err);

/*
 * The same without the criteria: relevance, requirements, constraints,
 * calculations and choice filters, for a caller that wants only the
 * problems (a server flagging what it stores). The criteria and the tier
 * of such a form read FLD_STATUS_UNKNOWN.
 */
int fld_form_check(const struct fld_template *t, const struct fld_json *answers,
                   const char *today, struct fld_form **out,
                   struct fld_err *err);
void fld_form_free(struct fld_form *f);

/* Items of a repeat section (0 for other sections) and their ids. */
size_t fld_form_n_items(const struct fld_form *f, size_t section);
const char *fld_form_item_id(const struct fld_form *f, size_t section,
                             size_t i);

/* item is 0 outside repeats. */
bool fld_form_relevant(struct fld_form *f, size_t question, size_t item);
/* The question's value (its answer or its calculation), blank when not
 * relevant; borrowed from f. */
const struct fld_value *fld_form_value(struct fld_form *f, size_t question,
                                       size_t item);

/* Whether q's choice_filter offers this choice (true without a filter). */
bool fld_form_choice_allowed(struct fld_form *f, size_t question, size_t item,
                             const struct fld_choice *choice);

size_t fld_form_n_problems(const struct fld_form *f);
const struct fld_problem *fld_form_problem(const struct fld_form *f, size_t i);

enum fld_status fld_form_indicator(const struct fld_form *f, size_t criterion,
                                   size_t indicator);
enum fld_status fld_form_criterion(const struct fld_form *f, size_t criterion);
/* The tier's status; FLD_STATUS_UNKNOWN when the template has no tier. */
enum fld_status fld_form_tier(const struct fld_form *f);

/*
 * The threshold's value for this record's parameters as text ("70",
 * "39"), or NULL when it is unknown (unset, or a parameter it depends on
 * is blank). New string, free().
 */
char *fld_form_threshold(struct fld_form *f, const struct fld_threshold *th);

/* The problem of q's answer (in item, NULL outside repeats) in an
 * evaluated form, as one line for a person: its type, a choice not offered,
 * or its constraint with the template's message in lang. FLD_OK when the
 * answer has none (a blank required answer is not an answer's error). */
int fld_form_answer_error(const struct fld_form *f,
                          const struct fld_question *q, const char *item,
                          enum fld_lang lang, struct fld_err *err);

const char *fld_status_name(enum fld_status s, enum fld_lang lang);

#endif
