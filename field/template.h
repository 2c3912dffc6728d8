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
 * .type: unknown type \"integr\""). This is the capture core; relevance,
 * constraints, calculations and criteria rules come with the checklist
 * engine.
 */
#ifndef FLD_TEMPLATE_H
#define FLD_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
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
    FLD_Q_NOTE /* shows text; takes no answer */
};

/* Text in both languages; en falls back to vi when absent. */
struct fld_text {
    const char *vi;
    const char *en;
};

struct fld_choice {
    const char *name;
    struct fld_text label;
};

struct fld_question {
    const char *name;
    enum fld_qtype type;
    struct fld_text label;
    struct fld_text hint; /* vi NULL when the question has no hint */
    bool required;
    size_t section;                   /* index of its section */
    const struct fld_choice *choices; /* select questions only */
    size_t n_choices;
};

struct fld_section {
    const char *name;
    struct fld_text label;
};

struct fld_template;

/*
 * Parse and check a template. *out is freed with fld_template_free(); every
 * string in it is borrowed from the template. FLD_EINVAL with the place of
 * the first problem; FLD_ELIMIT when larger than FLD_TEMPLATE_MAX_BYTES.
 */
int fld_template_parse(const uint8_t *p, size_t len, struct fld_template **out,
                       struct fld_err *err);
void fld_template_free(struct fld_template *t);

const char *fld_template_id(const struct fld_template *t);
const char *fld_template_version(const struct fld_template *t);
/* Hash of the canonical JSON, 64 hex digits. */
const char *fld_template_hash(const struct fld_template *t);
/* The canonical bytes (what the hash is over), borrowed. */
const uint8_t *fld_template_canonical(const struct fld_template *t, size_t *len);
const struct fld_text *fld_template_title(const struct fld_template *t);

size_t fld_template_n_sections(const struct fld_template *t);
const struct fld_section *fld_template_section(const struct fld_template *t,
                                               size_t i);
size_t fld_template_n_questions(const struct fld_template *t);
const struct fld_question *fld_template_question_at(const struct fld_template *t,
                                                    size_t i);
/* The question of that name, or NULL. */
const struct fld_question *fld_template_question(const struct fld_template *t,
                                                 const char *name);

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
 * Check a stored answer value against q's type (used when reading records
 * and by verify): FLD_OK or FLD_EINVAL naming the question.
 */
int fld_template_check_value(const struct fld_question *q,
                             const struct fld_json *value, struct fld_err *err);

/* Show an answer value as text for people (choice labels in lang). New
 * string, free(). */
char *fld_template_format(const struct fld_question *q,
                          const struct fld_json *value, enum fld_lang lang);

#endif
