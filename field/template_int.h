/*
 * template_int.h - what the files of the template loader share, and nobody
 * else may use: the loaded template's fields, the loader's state, and the
 * calls between the files. The contract for the rest of field is
 * template.h.
 *
 *   template.c        loading: one walk over the JSON, in order
 *   template_check.c  the checks that need the whole template loaded:
 *                     references of rules, calculation cycles, the keys of
 *                     threshold tables
 *   template_answer.c typed text to answers, and answers back to text
 *   template_thresholds.c  thresholds given as data after loading (a
 *                     province's signed revision, thresholds.h)
 */
#ifndef FLD_TEMPLATE_INT_H
#define FLD_TEMPLATE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "json.h"
#include "template.h"

/* Thresholds given after loading (template_thresholds.c): the copies that
 * the replaced thresholds' value, values and provenance point into. */
struct revised {
    struct fld_json *json;
    char *source;
};

struct choice_list {
    const char *name;
    struct fld_choice *choices;
    size_t n;
};

/* An index sorted by name makes look-ups from expressions cheap: the form
 * engine resolves every ${name} of every rule through it. */
struct name_index {
    const char *name;
    size_t index;
};

struct fld_template {
    struct fld_json *json; /* owned; every string below points into it */
    uint8_t *canon;        /* canonical JSON: what the hash is over */
    size_t canon_len;
    char hash[65];
    const char *id;
    const char *version;
    struct fld_text title;
    struct fld_criteria_set set;
    const char **kinds;
    size_t n_kinds;
    struct fld_section *sections;
    size_t n_sections;
    struct fld_question *questions; /* parameters first, then sections' */
    size_t n_questions;
    struct name_index *by_name; /* questions sorted by name; NULL while
                                   the questions are being loaded */
    struct choice_list *lists;
    size_t n_lists;
    struct fld_threshold *thresholds;
    size_t n_thresholds;
    struct fld_criterion *criteria;
    size_t n_criteria;
    bool has_tier;
    struct fld_text tier_label;
    size_t tier_requires;
    const char *tier_code;     /* NULL when the tier has none */
    const char **tier_implies; /* codes, borrowed from json */
    size_t n_tier_implies;
    struct revised *revised; /* owned; NULL until thresholds are set */
    size_t n_revised;
};

/*
 * The loader keeps going after a problem where it can, so that
 * `field template check` lists every problem at once; the first one is
 * what fld_template_parse() reports.
 */
struct loader {
    struct fld_template *t;
    struct fld_err *err;
    fld_problem_fn fn;
    void *ctx;
    size_t n_problems;
};

/* Report a problem at its place ("sections[1].questions[3].relevant: ...")
 * and go on: the first sets l->err, every one goes to l->fn. */
void fld_template_problem(struct loader *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True when name is a parameter: a question in no section. */
static inline bool is_parameter(const struct fld_template *t, const char *name)
{
    const struct fld_question *q = fld_template_question(t, name);

    return q != NULL && q->section == FLD_NO_SECTION;
}

/* ---- template_check.c ----------------------------------------------- */

/* Whether key, split at '/', names a value of each of th's parameters
 * (th->by, all of them parameters); when not, msg says why (without the
 * key's place). Templates and threshold revisions share it. */
bool fld_template_key_ok(const struct fld_template *t,
                         const struct fld_threshold *th, const char *key,
                         char *msg, size_t len);

/* Each key of th's table must be one fld_template_key_ok() accepts. where
 * is the threshold's place. */
void fld_template_check_keys(struct loader *l, const struct fld_threshold *th,
                             const char *where);

/* Every name every rule of the template reads must exist (questions,
 * repeats, thresholds, parameters, '.'). Needs the index by name. */
void fld_template_check_refs(struct loader *l);

/* No calculation may depend on itself; reports the first cycle found, with
 * its path. */
void fld_template_check_cycles(struct loader *l);

#endif
