/*
 * template.h - checklist templates: what questions a record has, of what
 * type, and how typed-in text becomes a normalised answer.
 *
 * A template is JSON modelled on XLSForm (docs/TEMPLATES.md):
 *
 *   {"id": "ntm-demo", "version": "1", "title": {"vi": "...", "en": "..."},
 *    "choices": {"yes_no": [{"name": "yes", "label": {"vi": "Có", ...}}]},
 *    "sections": [{"name": "s1", "label": {...}, "questions": [
 *        {"name": "road_km", "type": "decimal", "label": {...},
 *         "hint": {...}, "required": true}, ...]}]}
 *
 * Its identity is its id plus the BLAKE2b-256 hash of its canonical JSON, so
 * a version names the exact template it was filled against. The loader is
 * strict and names the place of every problem ("sections[1].questions[3]
 * .constraint: unknown reference ${roadd}"): every expression is parsed
 * once here, every reference resolved, calculation cycles refused. The full
 * format is docs/TEMPLATES.md; evaluation against answers is form.h.
 */
#ifndef FLD_TEMPLATE_H
#define FLD_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "expr.h"
#include "json.h"

/* Largest template file accepted. */
#define FLD_TEMPLATE_MAX_BYTES (4 * 1024 * 1024)

enum fld_lang { FLD_LANG_VI, FLD_LANG_EN };

enum fld_qtype {
    FLD_Q_INTEGER,
    FLD_Q_DECIMAL,
    FLD_Q_TEXT,
    FLD_Q_SELECT_ONE,
    FLD_Q_SELECT_MULTIPLE,
    FLD_Q_DATE,
    FLD_Q_GEOPOINT,
    FLD_Q_PHOTO, /* a reference to an attachment: its content hash */
    FLD_Q_NOTE   /* shows text; takes no answer */
};

/* Where an indicator's or criterion's text comes from. */
struct fld_provenance {
    const char *source; /* NULL when not given */
    bool verified;
};

/* Text in both languages; en falls back to vi when absent. */
struct fld_text {
    const char *vi;
    const char *en;
};

struct fld_choice {
    const char *name;
    struct fld_text label;
    const struct fld_json *json; /* the whole entry: choice_filter reads it */
};

/* Parameters are questions too, in no section. */
#define FLD_NO_SECTION ((size_t)-1)

struct fld_question {
    const char *name;
    enum fld_qtype type;
    struct fld_text label;
    struct fld_text hint; /* vi NULL when the question has no hint */
    bool required;        /* when required_if is NULL */
    struct fld_expr *required_if;
    struct fld_expr *relevant;   /* NULL: always relevant */
    struct fld_expr *constraint; /* NULL: no constraint */
    struct fld_text constraint_message;
    struct fld_expr *calculation; /* NULL: typed by a person */
    struct fld_expr *choice_filter;
    const struct fld_json *default_value; /* NULL when none */
    const char *unit;                     /* NULL when none */
    size_t section; /* index of its section, FLD_NO_SECTION for parameters */
    const struct fld_choice *choices; /* select questions only */
    size_t n_choices;
};

struct fld_section {
    const char *name;
    struct fld_text label;
    struct fld_expr *relevant; /* NULL: always */
    bool is_repeat;
    size_t first, n; /* its questions: question_at(first .. first+n-1) */
};

struct fld_threshold {
    const char *name;
    struct fld_text label;
    const char *unit;
    const char *const *by; /* parameter names; n_by == 0: one value */
    size_t n_by;
    const struct fld_json *value;  /* n_by == 0: int, string or null */
    const struct fld_json *values; /* n_by > 0: object key -> value */
    struct fld_provenance provenance;
};

struct fld_indicator {
    const char *code;
    struct fld_text text;
    struct fld_expr *met; /* NULL: cannot be checked from answers */
    struct fld_provenance provenance;
};

struct fld_criterion {
    const char *code;
    struct fld_text name;
    struct fld_text group; /* vi NULL when not grouped */
    struct fld_provenance provenance;
    const struct fld_indicator *indicators;
    size_t n_indicators;
    struct fld_expr *met; /* NULL: all indicators met */
};

struct fld_criteria_set {
    struct fld_text name; /* vi NULL when the template declares none */
    const char *version;
    const char *source;
    bool verified;
};

struct fld_template;

/*
 * Parse and check a template. *out is freed with fld_template_free(); every
 * string in it is borrowed from the template. FLD_EINVAL with the place of
 * the first problem; FLD_ELIMIT when larger than FLD_TEMPLATE_MAX_BYTES.
 */
int fld_template_parse(const uint8_t *p, size_t len, struct fld_template **out,
                       struct fld_err *err);

/* fld_template_parse() of a template built into the program (embedded.h). */
struct fld_embedded;
int fld_template_parse_embedded(const struct fld_embedded *e,
                                struct fld_template **out, struct fld_err *err);

/*
 * Check a template and report every problem (not only the first) through
 * fn, each as "place: message". Returns the number of problems; 0 means the
 * template loads. For people who write templates (`field template check`).
 */
typedef void (*fld_problem_fn)(void *ctx, const char *problem);
size_t fld_template_check(const uint8_t *p, size_t len, fld_problem_fn fn,
                          void *ctx);
void fld_template_free(struct fld_template *t);

const char *fld_template_id(const struct fld_template *t);
const char *fld_template_version(const struct fld_template *t);
/* Hash of the canonical JSON, 64 hex digits. */
const char *fld_template_hash(const struct fld_template *t);
/* The canonical bytes (what the hash is over), borrowed. */
const uint8_t *fld_template_canonical(const struct fld_template *t,
                                      size_t *len);
const struct fld_text *fld_template_title(const struct fld_template *t);
const struct fld_criteria_set *
fld_template_criteria_set(const struct fld_template *t);
/* The unit kinds this template inspects (subject_kind), or 0 if any. */
size_t fld_template_n_subject_kinds(const struct fld_template *t);
const char *fld_template_subject_kind(const struct fld_template *t, size_t i);

size_t fld_template_n_sections(const struct fld_template *t);
const struct fld_section *fld_template_section(const struct fld_template *t,
                                               size_t i);
size_t fld_template_n_questions(const struct fld_template *t);
const struct fld_question *
fld_template_question_at(const struct fld_template *t, size_t i);
/* The question (or parameter) of that name, or NULL; its index is
 * fld_template_question_index(). */
const struct fld_question *fld_template_question(const struct fld_template *t,
                                                 const char *name);
size_t fld_template_question_index(const struct fld_template *t,
                                   const struct fld_question *q);
/*
 * out[i] (fld_template_n_questions() of them): the member of the object
 * answers named as question i, or NULL. One walk of the two name-sorted
 * lists, where looking each question up would search the answers once
 * per question: a version checked on a server asks this for every one.
 */
void fld_template_match_answers(const struct fld_template *t,
                                const struct fld_json *answers,
                                const struct fld_json **out);
/* The repeat section of that name, or NULL. */
const struct fld_section *fld_template_repeat(const struct fld_template *t,
                                              const char *name);

size_t fld_template_n_thresholds(const struct fld_template *t);
const struct fld_threshold *
fld_template_threshold_at(const struct fld_template *t, size_t i);
const struct fld_threshold *fld_template_threshold(const struct fld_template *t,
                                                   const char *name);
size_t fld_template_n_criteria(const struct fld_template *t);
const struct fld_criterion *fld_template_criterion(const struct fld_template *t,
                                                   size_t i);
/* The tier rule: *requires is 0 for "all"; false when the template has no
 * tier. */
bool fld_template_tier(const struct fld_template *t,
                       const struct fld_text **label, size_t *requires);
/*
 * The programme tier the template decides ("xa-ntm", "xa-ntm-nang-cao",
 * "xa-ntm-kieu-mau", "kdc-kieu-mau"; docs/TEMPLATES.md), NULL when its tier
 * has no code; and the tier codes a unit meeting it meets too ("implies":
 * a model commune is an advanced one). Borrowed from the template.
 */
const char *fld_template_tier_code(const struct fld_template *t);
size_t fld_template_n_tier_implies(const struct fld_template *t);
const char *fld_template_tier_implies(const struct fld_template *t, size_t i);

/*
 * Thresholds given as data after loading (docs/TEMPLATES.md "Thresholds as
 * data"): thresholds is an object {NAME: {"value": V}} or {NAME:
 * {"values": {KEY: V, ...}}}, V an integer, a decimal string in normal
 * form ("54.78") or null (unknown). check: FLD_OK, or FLD_EINVAL naming
 * the first problem's place ("thresholds.x.values[\"2025\"]: not a
 * number"). set: the same check, then each listed threshold's value or
 * table is replaced whole (a key left out of a table is unknown) and, when
 * prov is given, its provenance too; the others keep the template's. The
 * form engine then evaluates with the new values; the template's hash
 * does not change. Nothing changes when it fails. thresholds is copied.
 */
int fld_template_check_thresholds(const struct fld_template *t,
                                  const struct fld_json *thresholds,
                                  struct fld_err *err);
int fld_template_set_thresholds(struct fld_template *t,
                                const struct fld_json *thresholds,
                                const struct fld_provenance *prov,
                                struct fld_err *err);

/* The text in lang, falling back to Vietnamese. */
const char *fld_text_get(const struct fld_text *text, enum fld_lang lang);
const char *fld_qtype_name(enum fld_qtype type);

/*
 * Turn what a person typed into the answer value for q, normalised
 * (norm.h): integer -> JSON integer; decimal, text, date, geopoint ->
 * string; select_one -> a choice name; select_multiple -> sorted array of
 * distinct choice names (typed separated by spaces or commas). Blank text
 * gives *out = NULL, meaning "clear the answer". FLD_EINVAL with a message
 * that names the question and what is wrong.
 */
int fld_template_answer(const struct fld_question *q, const char *text,
                        struct fld_json **out, struct fld_err *err);

/*
 * Check a stored answer value against q's type (the form engine does, for
 * every answer it reads): FLD_OK or FLD_EINVAL naming the question.
 */
int fld_template_check_value(const struct fld_question *q,
                             const struct fld_json *value, struct fld_err *err);

/* Show an answer value as text for people (choice labels in lang). New
 * string, free(). */
char *fld_template_format(const struct fld_question *q,
                          const struct fld_json *value, enum fld_lang lang);

#endif
