/*
 * template_answer.c - what a person typed, turned into the answer value of
 * a question, and stored answers checked and shown (template.h).
 *
 * Where it sits: the editor (edit.c, behind `field new`, `edit` and
 * `fill`) calls fld_template_answer() for every NAME=VALUE a person gives;
 * the loader calls it on every default and on every key of a threshold
 * table, so that those are values a person could type; the form engine
 * checks each stored answer with fld_template_check_value(); `field show`
 * prints answers with fld_template_format(). It needs a question, never
 * the whole template.
 *
 * Answers are signed and merged as bytes, so each value has one form:
 * text goes through norm.c's rules (valid UTF-8, NFC, trimmed, no control
 * characters) for every type, then the type's own normaliser; blank text
 * clears the answer; several choices are sorted and distinct. A stored
 * answer is never normalised again: what was signed is what is kept.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "norm.h"
#include "template.h"
#include "version.h"

static const struct fld_choice *find_choice(const struct fld_question *q,
                                            const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < q->n_choices; i++)
        if (strlen(q->choices[i].name) == len &&
            memcmp(q->choices[i].name, name, len) == 0)
            return &q->choices[i];
    return NULL;
}

/* "q: "x" is not a choice (yes, no)": the refusal names what is allowed. */
static int not_a_choice(const struct fld_question *q, const char *text,
                        size_t len, struct fld_err *err)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i;

    for (i = 0; i < q->n_choices; i++)
        fld_buf_printf(&b, "%s%s", i ? ", " : "", q->choices[i].name);
    fld_err_set(err, FLD_EINVAL, "%s: \"%.*s\" is not a choice (%s)", q->name,
                (int)(len > 40 ? 40 : len), text, fld_buf_str(&b));
    fld_buf_free(&b);
    return FLD_EINVAL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a b,c" -> ["a","b","c"], sorted and distinct, every name a choice.
 * Sorted because answers are signed and merged as bytes: the same set of
 * choices must be the same answer whatever order they were picked in.
 * picked[] holds each choice at most once, so q->n_choices entries do. */
static int answer_multiple(const struct fld_question *q, const char *text,
                           struct fld_json **out, struct fld_err *err)
{
    const char **picked = fld_xcalloc(q->n_choices, sizeof *picked);
    size_t n = 0, i;
    const char *p = text;

    while (*p != '\0') {
        size_t len = strcspn(p, " ,\t");
        const struct fld_choice *c = find_choice(q, p, len);

        if (len > 0 && c == NULL) {
            free(picked);
            return not_a_choice(q, p, len, err);
        }
        for (i = 0; c != NULL && i < n; i++)
            if (picked[i] == c->name)
                c = NULL; /* typed twice: keep once */
        if (c != NULL)
            picked[n++] = c->name;
        p += len;
        p += strspn(p, " ,\t");
    }
    qsort(picked, n, sizeof *picked, cmp_str);
    *out = fld_json_array();
    for (i = 0; i < n; i++)
        fld_json_append(*out, fld_json_string(picked[i]));
    free(picked);
    return FLD_OK;
}

/* A type whose answer is the normaliser's string (norm.h). */
static int answer_string(int (*norm)(const char *, char **, struct fld_err *),
                         const struct fld_question *q, const char *text,
                         struct fld_json **out, struct fld_err *err)
{
    char *v;
    int rc = norm(text, &v, err);

    /* rc, not fld_err_prefix()'s result: that is FLD_OK when err is NULL */
    if (rc != FLD_OK) {
        fld_err_prefix(err, "%s", q->name);
        return rc;
    }
    *out = fld_json_string(v);
    free(v);
    return FLD_OK;
}

int fld_template_answer(const struct fld_question *q, const char *text,
                        struct fld_json **out, struct fld_err *err)
{
    char *trimmed;
    int64_t n;
    int rc;

    /* every type goes through the text rules first (valid UTF-8, NFC,
     * trimmed, no control characters), so blank means the same for all */
    *out = NULL;
    if ((rc = fld_norm_text(text, &trimmed, err)) != FLD_OK) {
        fld_err_prefix(err, "%s", q->name);
        return rc;
    }
    if (trimmed[0] == '\0') {
        free(trimmed);
        return FLD_OK; /* blank: clear the answer */
    }
    switch (q->type) {
    case FLD_Q_INTEGER:
        if ((rc = fld_norm_integer(trimmed, &n, err)) == FLD_OK)
            *out = fld_json_int(n);
        else
            fld_err_prefix(err, "%s", q->name);
        break;
    case FLD_Q_DECIMAL:
        rc = answer_string(fld_norm_decimal, q, trimmed, out, err);
        break;
    case FLD_Q_DATE:
        rc = answer_string(fld_norm_date, q, trimmed, out, err);
        break;
    case FLD_Q_GEOPOINT:
        rc = answer_string(fld_norm_geopoint, q, trimmed, out, err);
        break;
    case FLD_Q_TEXT:
        *out = fld_json_string(trimmed);
        break;
    case FLD_Q_SELECT_ONE:
        if (find_choice(q, trimmed, strlen(trimmed)) != NULL)
            *out = fld_json_string(trimmed);
        else
            rc = not_a_choice(q, trimmed, strlen(trimmed), err);
        break;
    case FLD_Q_SELECT_MULTIPLE:
        rc = answer_multiple(q, trimmed, out, err);
        break;
    case FLD_Q_PHOTO:
        /* a photo is named by the hash of its content (attachments) */
        if (fld_is_hex(trimmed, 64))
            *out = fld_json_string(trimmed);
        else
            rc = fld_err_set(
                err, FLD_EINVAL,
                "%s: a photo is given by its 64-digit content hash", q->name);
        break;
    case FLD_Q_NOTE:
        rc =
            fld_err_set(err, FLD_EINVAL, "%s: a note takes no answer", q->name);
        break;
    }
    free(trimmed);
    return rc;
}

/*
 * Only the JSON type, for selects the choices, and for other strings the
 * text rules every entry applies (in_normal_form) are checked: a stored
 * answer is never normalised again (what was signed is what is kept, and
 * a change to a type's normaliser must not make old versions wrong), so a
 * string is taken as its question's type was when it was typed.
 */
/*
 * Whether a stored text answer is in the form every text entry gives
 * (norm.c): valid UTF-8, Unicode NFC, trimmed, no control characters, at
 * most FLD_NORM_TEXT_MAX bytes. A device that follows the rules produces
 * nothing else, so such text came from one that does not. Only these rules
 * are checked, not the type's own normaliser (a date's or decimal's
 * spelling): they are stable (NFC is, by Unicode's stability policy),
 * while a type's normaliser may change and must not make old versions
 * wrong. The answer is kept as signed and reported as a problem, so that
 * the server flags it and a person looks at it.
 */
static int in_normal_form(const struct fld_question *q,
                          const struct fld_json *value, struct fld_err *err)
{
    if (value->len > FLD_NORM_TEXT_MAX)
        return fld_err_set(err, FLD_EINVAL,
                           "%s: stored text of %zu bytes (at most %d)", q->name,
                           value->len, FLD_NORM_TEXT_MAX);
    if (!fld_norm_text_is_normal(value->s, value->len))
        return fld_err_set(err, FLD_EINVAL,
                           "%s: stored text is not in normal form (Unicode "
                           "NFC, trimmed, no control characters)",
                           q->name);
    return FLD_OK;
}

int fld_template_check_value(const struct fld_question *q,
                             const struct fld_json *value, struct fld_err *err)
{
    size_t i;

    switch (q->type) {
    case FLD_Q_INTEGER:
        if (value->type == FLD_JSON_INT)
            return FLD_OK;
        break;
    case FLD_Q_SELECT_ONE:
        if (value->type == FLD_JSON_STRING &&
            find_choice(q, value->s, value->len) != NULL)
            return FLD_OK;
        break;
    case FLD_Q_SELECT_MULTIPLE:
        if (value->type != FLD_JSON_ARRAY)
            break;
        for (i = 0; i < value->n; i++)
            if (find_choice(q, value->items[i]->s, value->items[i]->len) ==
                NULL)
                break;
        if (i == value->n)
            return FLD_OK;
        break;
    case FLD_Q_NOTE:
        break;
    default:
        if (value->type == FLD_JSON_STRING)
            return in_normal_form(q, value, err);
        break;
    }
    return fld_err_set(err, FLD_EINVAL, "%s: stored answer is not a valid %s",
                       q->name, fld_qtype_name(q->type));
}

char *fld_template_format(const struct fld_question *q,
                          const struct fld_json *value, enum fld_lang lang)
{
    struct fld_buf b = FLD_BUF_INIT;
    const struct fld_choice *c;
    size_t i;

    if (value->type == FLD_JSON_INT) {
        fld_buf_printf(&b, "%lld", (long long)value->i);
    } else if (value->type == FLD_JSON_STRING) {
        c = q->n_choices ? find_choice(q, value->s, value->len) : NULL;
        fld_buf_puts(&b, c ? fld_text_get(&c->label, lang) : value->s);
    } else if (value->type == FLD_JSON_ARRAY) {
        for (i = 0; i < value->n; i++) {
            const struct fld_json *item = value->items[i];

            c = item->type == FLD_JSON_STRING
                    ? find_choice(q, item->s, item->len)
                    : NULL;
            fld_buf_printf(&b, "%s%s", i ? "; " : "",
                           c ? fld_text_get(&c->label, lang)
                           : item->type == FLD_JSON_STRING ? item->s
                                                           : "?");
        }
    }
    return fld_buf_detach(&b, NULL);
}
