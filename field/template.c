/*
 * template.c - loading checklist templates and turning typed text into
 * answers (see template.h).
 *
 * The loader walks the parsed JSON once, keeping a path string such as
 * "sections[1].questions[3]" so that every error names its place. All
 * strings of the loaded template point into the parsed tree, which the
 * template owns; nothing is copied.
 */
#include "template.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "norm.h"

#define MAX_NAME 64
#define MAX_QUESTIONS 2000
#define MAX_CHOICES 500

struct choice_list {
    const char *name;
    struct fld_choice *choices;
    size_t n;
};

struct fld_template {
    struct fld_json *json;
    uint8_t *canon;
    size_t canon_len;
    char hash[65];
    const char *id;
    const char *version;
    struct fld_text title;
    struct fld_section *sections;
    size_t n_sections;
    struct fld_question *questions;
    size_t n_questions;
    struct choice_list *lists;
    size_t n_lists;
};

static const char *const type_names[] = {
    [FLD_Q_INTEGER] = "integer",       [FLD_Q_DECIMAL] = "decimal",
    [FLD_Q_TEXT] = "text",             [FLD_Q_SELECT_ONE] = "select_one",
    [FLD_Q_SELECT_MULTIPLE] = "select_multiple",
    [FLD_Q_DATE] = "date",             [FLD_Q_GEOPOINT] = "geopoint",
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

/* Names: a lowercase letter, then lowercase letters, digits and '_'. */
static bool is_name(const char *s)
{
    size_t i;

    if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (i = 1; s[i] != '\0'; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || (s[i] == '-' && i > 0)) || i >= MAX_NAME)
            return false;
    return true;
}

static int need_text(const struct fld_json *obj, const char *key, bool required,
                     struct fld_text *out, const char *where,
                     struct fld_err *err)
{
    const struct fld_json *t = fld_json_get(obj, key);

    out->vi = out->en = NULL;
    if (t == NULL) {
        if (required)
            return fld_err_set(err, FLD_EINVAL, "%s.%s: missing", where, key);
        return FLD_OK;
    }
    if (t->type != FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL,
                           "%s.%s: expected {\"vi\": ..., \"en\": ...}", where, key);
    out->vi = fld_json_get_string(t, "vi");
    out->en = fld_json_get_string(t, "en");
    if (out->vi == NULL || out->vi[0] == '\0')
        return fld_err_set(err, FLD_EINVAL, "%s.%s.vi: missing Vietnamese text",
                           where, key);
    if (fld_json_get(t, "en") != NULL && out->en == NULL)
        return fld_err_set(err, FLD_EINVAL, "%s.%s.en: not a string", where, key);
    return FLD_OK;
}

static int load_choices(struct fld_template *t, struct fld_err *err)
{
    const struct fld_json *all = fld_json_get(t->json, "choices");
    size_t i, j;
    int rc;

    if (all == NULL)
        return FLD_OK;
    if (all->type != FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL, "choices: expected an object of lists");
    t->lists = fld_xcalloc(all->n, sizeof *t->lists);
    for (i = 0; i < all->n; i++) {
        const struct fld_json *list = all->members[i].value;
        struct choice_list *cl = &t->lists[t->n_lists++];

        cl->name = all->members[i].key;
        if (list->type != FLD_JSON_ARRAY || list->n == 0 || list->n > MAX_CHOICES)
            return fld_err_set(err, FLD_EINVAL,
                               "choices.%s: expected a list of 1 to %d choices",
                               cl->name, MAX_CHOICES);
        cl->choices = fld_xcalloc(list->n, sizeof *cl->choices);
        for (j = 0; j < list->n; j++) {
            char where[128];
            struct fld_choice *c = &cl->choices[cl->n];

            snprintf(where, sizeof where, "choices.%s[%zu]", cl->name, j);
            c->name = fld_json_get_string(list->items[j], "name");
            if (!is_name(c->name))
                return fld_err_set(err, FLD_EINVAL,
                                   "%s.name: missing or not a name (a-z, 0-9, _)",
                                   where);
            for (size_t k = 0; k < cl->n; k++)
                if (strcmp(cl->choices[k].name, c->name) == 0)
                    return fld_err_set(err, FLD_EINVAL,
                                       "%s.name: duplicate choice \"%s\"", where,
                                       c->name);
            if ((rc = need_text(list->items[j], "label", true, &c->label, where,
                                err)) != FLD_OK)
                return rc;
            cl->n++;
        }
    }
    return FLD_OK;
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

static int load_question(struct fld_template *t, const struct fld_json *qj,
                         size_t section, const char *where, struct fld_err *err)
{
    struct fld_question *q = &t->questions[t->n_questions];
    const struct fld_json *req = fld_json_get(qj, "required");
    const char *type = fld_json_get_string(qj, "type");
    int rc;

    if (qj->type != FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL, "%s: expected an object", where);
    q->name = fld_json_get_string(qj, "name");
    q->section = section;
    if (!is_name(q->name))
        return fld_err_set(err, FLD_EINVAL,
                           "%s.name: missing or not a name (a-z, 0-9, _)", where);
    if (fld_template_question(t, q->name) != NULL)
        return fld_err_set(err, FLD_EINVAL, "%s.name: duplicate question \"%s\"",
                           where, q->name);
    if (parse_type(type, &q->type) != 0)
        return fld_err_set(err, FLD_EINVAL, "%s.type: unknown type \"%s\"",
                           where, type ? type : "");
    if ((rc = need_text(qj, "label", true, &q->label, where, err)) ||
        (rc = need_text(qj, "hint", false, &q->hint, where, err)))
        return rc;
    if (req != NULL && req->type != FLD_JSON_TRUE && req->type != FLD_JSON_FALSE)
        return fld_err_set(err, FLD_EINVAL, "%s.required: expected true or false",
                           where);
    q->required = req != NULL && req->type == FLD_JSON_TRUE;
    if (q->type == FLD_Q_SELECT_ONE || q->type == FLD_Q_SELECT_MULTIPLE) {
        const char *list = fld_json_get_string(qj, "choices");
        const struct choice_list *cl = list ? find_list(t, list) : NULL;

        if (cl == NULL)
            return fld_err_set(err, FLD_EINVAL, "%s.choices: unknown choice list \"%s\"",
                               where, list ? list : "");
        q->choices = cl->choices;
        q->n_choices = cl->n;
    }
    t->n_questions++;
    return FLD_OK;
}

static int load_sections(struct fld_template *t, struct fld_err *err)
{
    const struct fld_json *secs = fld_json_get(t->json, "sections");
    size_t i, j, total = 0;
    int rc;

    if (secs == NULL || secs->type != FLD_JSON_ARRAY || secs->n == 0)
        return fld_err_set(err, FLD_EINVAL, "sections: expected a list of sections");
    for (i = 0; i < secs->n; i++) {
        const struct fld_json *qs = fld_json_get(secs->items[i], "questions");

        if (qs == NULL || qs->type != FLD_JSON_ARRAY)
            return fld_err_set(err, FLD_EINVAL,
                               "sections[%zu].questions: expected a list", i);
        total += qs->n;
    }
    if (total > MAX_QUESTIONS)
        return fld_err_set(err, FLD_ELIMIT, "sections: more than %d questions",
                           MAX_QUESTIONS);
    t->sections = fld_xcalloc(secs->n, sizeof *t->sections);
    t->questions = fld_xcalloc(total, sizeof *t->questions);
    for (i = 0; i < secs->n; i++) {
        const struct fld_json *qs = fld_json_get(secs->items[i], "questions");
        struct fld_section *s = &t->sections[i];
        char where[128];

        snprintf(where, sizeof where, "sections[%zu]", i);
        s->name = fld_json_get_string(secs->items[i], "name");
        if (!is_name(s->name))
            return fld_err_set(err, FLD_EINVAL, "%s.name: missing or not a name",
                               where);
        if ((rc = need_text(secs->items[i], "label", true, &s->label, where, err)))
            return rc;
        t->n_sections++;
        for (j = 0; j < qs->n; j++) {
            snprintf(where, sizeof where, "sections[%zu].questions[%zu]", i, j);
            if ((rc = load_question(t, qs->items[j], i, where, err)) != FLD_OK)
                return rc;
        }
    }
    return FLD_OK;
}

static int load(struct fld_template *t, struct fld_err *err)
{
    int rc;

    if (t->json->type != FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL, "template: expected an object");
    t->id = fld_json_get_string(t->json, "id");
    t->version = fld_json_get_string(t->json, "version");
    if (!is_name(t->id))
        return fld_err_set(err, FLD_EINVAL,
                           "id: missing or not a name (a-z, 0-9, _, -)");
    if (t->version == NULL || t->version[0] == '\0')
        return fld_err_set(err, FLD_EINVAL, "version: missing");
    if ((rc = need_text(t->json, "title", true, &t->title, "template", err)) ||
        (rc = load_choices(t, err)) || (rc = load_sections(t, err)))
        return rc;
    return FLD_OK;
}

int fld_template_parse(const uint8_t *p, size_t len, struct fld_template **out,
                       struct fld_err *err)
{
    struct fld_template *t;
    struct fld_buf canon = FLD_BUF_INIT;
    uint8_t h[32];
    int rc;

    *out = NULL;
    if (len > FLD_TEMPLATE_MAX_BYTES)
        return fld_err_set(err, FLD_ELIMIT, "template: larger than %d bytes",
                           FLD_TEMPLATE_MAX_BYTES);
    t = fld_xcalloc(1, sizeof *t);
    if ((rc = fld_json_parse(p, len, &t->json, err)) != FLD_OK) {
        fld_err_prefix(err, "template");
        goto fail;
    }
    if ((rc = load(t, err)) != FLD_OK ||
        (rc = fld_json_write(t->json, &canon, err)) != FLD_OK)
        goto fail;
    t->canon = (uint8_t *)fld_buf_detach(&canon, &t->canon_len);
    crypto_generichash(h, sizeof h, t->canon, t->canon_len, NULL, 0);
    fld_hex_encode(h, sizeof h, t->hash);
    *out = t;
    return FLD_OK;
fail:
    fld_buf_free(&canon);
    fld_template_free(t);
    return rc;
}

void fld_template_free(struct fld_template *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->n_lists; i++)
        free(t->lists[i].choices);
    free(t->lists);
    free(t->sections);
    free(t->questions);
    free(t->canon);
    fld_json_free(t->json);
    free(t);
}

const char *fld_template_id(const struct fld_template *t) { return t->id; }
const char *fld_template_version(const struct fld_template *t) { return t->version; }
const char *fld_template_hash(const struct fld_template *t) { return t->hash; }
const struct fld_text *fld_template_title(const struct fld_template *t) { return &t->title; }

const uint8_t *fld_template_canonical(const struct fld_template *t, size_t *len)
{
    *len = t->canon_len;
    return t->canon;
}

size_t fld_template_n_sections(const struct fld_template *t) { return t->n_sections; }

const struct fld_section *fld_template_section(const struct fld_template *t,
                                               size_t i)
{
    return i < t->n_sections ? &t->sections[i] : NULL;
}

size_t fld_template_n_questions(const struct fld_template *t) { return t->n_questions; }

const struct fld_question *fld_template_question_at(const struct fld_template *t,
                                                    size_t i)
{
    return i < t->n_questions ? &t->questions[i] : NULL;
}

const struct fld_question *fld_template_question(const struct fld_template *t,
                                                 const char *name)
{
    size_t i;

    for (i = 0; i < t->n_questions; i++)
        if (strcmp(t->questions[i].name, name) == 0)
            return &t->questions[i];
    return NULL;
}

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

/* "a b,c" -> ["a","b","c"], sorted and distinct, every name a choice. */
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

static int answer_string(int (*norm)(const char *, char **, struct fld_err *),
                         const struct fld_question *q, const char *text,
                         struct fld_json **out, struct fld_err *err)
{
    char *v;
    int rc = norm(text, &v, err);

    if (rc != FLD_OK)
        return fld_err_prefix(err, "%s", q->name);
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

    *out = NULL;
    if ((rc = fld_norm_text(text, &trimmed, err)) != FLD_OK)
        return fld_err_prefix(err, "%s", q->name);
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
    case FLD_Q_NOTE:
        rc = fld_err_set(err, FLD_EINVAL, "%s: a note takes no answer", q->name);
        break;
    }
    free(trimmed);
    return rc;
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
            if (find_choice(q, value->items[i]->s, value->items[i]->len) == NULL)
                break;
        if (i == value->n)
            return FLD_OK;
        break;
    case FLD_Q_NOTE:
        break;
    default:
        if (value->type == FLD_JSON_STRING)
            return FLD_OK;
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

            c = item->type == FLD_JSON_STRING ? find_choice(q, item->s, item->len)
                                              : NULL;
            fld_buf_printf(&b, "%s%s", i ? "; " : "",
                           c ? fld_text_get(&c->label, lang)
                             : item->type == FLD_JSON_STRING ? item->s : "?");
        }
    }
    return fld_buf_detach(&b, NULL);
}
