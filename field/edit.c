/*
 * edit.c - applying NAME=VALUE assignments to answers (see edit.h).
 *
 * Assignments are applied one by one to a private copy; the checks that
 * need the whole picture (relevance, constraints that compare answers)
 * run once at the end, so "total=10 part=12" is judged on both values.
 */
#include "edit.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "form.h"

struct assigned {
    const struct fld_question *q;
    char *item;   /* NULL outside repeats */
    bool cleared; /* the answer was removed: nothing to check */
};

struct new_item {
    char *label; /* "+", "+2" */
    char id[17];
};

struct fld_edit {
    const struct fld_template *t;
    struct fld_json *answers;
    struct assigned *done;
    size_t n_done;
    struct new_item *fresh;
    size_t n_fresh;
};

struct fld_edit *fld_edit_new(const struct fld_template *t,
                              const struct fld_json *answers)
{
    struct fld_edit *e = fld_xcalloc(1, sizeof *e);

    e->t = t;
    e->answers = answers ? fld_json_clone(answers) : fld_json_object();
    return e;
}

void fld_edit_free(struct fld_edit *e)
{
    size_t i;

    if (e == NULL)
        return;
    for (i = 0; i < e->n_done; i++)
        free(e->done[i].item);
    for (i = 0; i < e->n_fresh; i++)
        free(e->fresh[i].label);
    free(e->done);
    free(e->fresh);
    fld_json_free(e->answers);
    free(e);
}

const struct fld_json *fld_edit_answers(const struct fld_edit *e)
{
    return e->answers;
}

int fld_edit_apply(const struct fld_template *t, const struct fld_json *answers,
                   size_t n, char *const *assignments, const char *today,
                   enum fld_lang lang, struct fld_json **out,
                   struct fld_err *err)
{
    struct fld_edit *e = fld_edit_new(t, answers);
    size_t i;
    int rc = FLD_OK;

    *out = NULL;
    for (i = 0; i < n && rc == FLD_OK; i++)
        rc = fld_edit_assign(e, assignments[i], err);
    if (rc == FLD_OK)
        rc = fld_edit_check(e, today, lang, err);
    if (rc == FLD_OK)
        *out = fld_json_clone(fld_edit_answers(e));
    fld_edit_free(e);
    return rc;
}

void fld_item_id_new(char out[17])
{
    uint8_t raw[8];

    randombytes_buf(raw, sizeof raw);
    fld_hex_encode(raw, sizeof raw, out);
}

/* The id of the new item labelled label ("+", "+2", or a full new id),
 * made on first use: random, or the label itself when it is an id. */
static const char *fresh_item(struct fld_edit *e, const char *label, size_t len,
                              bool label_is_id)
{
    size_t i;

    for (i = 0; i < e->n_fresh; i++)
        if (strlen(e->fresh[i].label) == len &&
            memcmp(e->fresh[i].label, label, len) == 0)
            return e->fresh[i].id;
    e->fresh = fld_xreallocarray(e->fresh, e->n_fresh + 1, sizeof *e->fresh);
    e->fresh[e->n_fresh].label = fld_xstrndup(label, len);
    if (label_is_id)
        memcpy(e->fresh[e->n_fresh].id, e->fresh[e->n_fresh].label, 17);
    else
        fld_item_id_new(e->fresh[e->n_fresh].id);
    return e->fresh[e->n_fresh++].id;
}

static bool is_item_id(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* An existing item by id or unique prefix (>= 4 digits). */
static int find_item(const struct fld_json *items, const char *ref, size_t len,
                     const char **id, struct fld_err *err)
{
    size_t i, n = 0;

    *id = NULL;
    for (i = 0; items != NULL && i < items->n; i++)
        if (strncmp(items->members[i].key, ref, len) == 0) {
            *id = items->members[i].key;
            n++;
        }
    if (n == 1 && (len >= 4 || strlen(*id) == len))
        return FLD_OK;
    if (n > 1)
        return fld_err_set(err, FLD_CONFLICT, "item %.*s is ambiguous",
                           (int)len, ref);
    return fld_err_set(err, FLD_NOTFOUND,
                       "no item %.*s (give 4 or more digits of its id)",
                       (int)len, ref);
}

static void remember(struct fld_edit *e, const struct fld_question *q,
                     const char *item, bool cleared)
{
    e->done = fld_xreallocarray(e->done, e->n_done + 1, sizeof *e->done);
    e->done[e->n_done].q = q;
    e->done[e->n_done].item = item ? fld_xstrdup(item) : NULL;
    e->done[e->n_done].cleared = cleared;
    e->n_done++;
}

static int set_value(struct fld_edit *e, struct fld_json *obj,
                     const struct fld_question *q, const char *item,
                     const char *value, struct fld_err *err)
{
    struct fld_json *v;
    int rc;

    if (q->calculation != NULL)
        return fld_err_set(err, FLD_EINVAL,
                           "%s is calculated; it cannot be typed", q->name);
    if (q->type == FLD_Q_NOTE)
        return fld_err_set(err, FLD_EINVAL, "%s is a note; it takes no answer",
                           q->name);
    if ((rc = fld_template_answer(q, value, &v, err)) != FLD_OK)
        return rc;
    if (v == NULL)
        fld_json_remove(obj, q->name);
    else
        fld_json_set(obj, q->name, v);
    remember(e, q, item, v == NULL);
    return FLD_OK;
}

/* group[ref].name=value or group[ref]= */
static int assign_repeat(struct fld_edit *e, const char *a, const char *open,
                         struct fld_err *err)
{
    const char *close = strchr(open, ']'), *eq, *id;
    const struct fld_section *s;
    const struct fld_question *q;
    struct fld_json *items, *item;
    char *group, *name;
    int rc;

    if (close == NULL || (close[1] != '.' && close[1] != '='))
        return fld_err_set(err, FLD_EUSAGE,
                           "expected GROUP[ITEM].NAME=VALUE, got '%s'", a);
    group = fld_xstrndup(a, (size_t)(open - a));
    s = fld_template_repeat(e->t, group);
    free(group);
    if (s == NULL)
        return fld_err_set(err, FLD_NOTFOUND,
                           "template %s has no repeat group '%.*s'",
                           fld_template_id(e->t), (int)(open - a), a);
    items = fld_json_get_mut(e->answers, s->name);
    if (open[1] == '+') {
        id = fresh_item(e, open + 1, (size_t)(close - open - 1), false);
    } else if ((rc = find_item(items, open + 1, (size_t)(close - open - 1), &id,
                               err)) != FLD_OK) {
        /* a full item id not seen yet names a new item (fill makes these) */
        if (close - open - 1 != 16 || !is_item_id(open + 1, 16) ||
            close[1] == '=')
            return rc;
        id = fresh_item(e, open + 1, 16, true);
        fld_err_clear(err);
    }
    if (close[1] == '=') { /* delete the item */
        if (close[2] != '\0' || open[1] == '+')
            return fld_err_set(err, FLD_EUSAGE,
                               "to delete an item write %s[ID]=", s->name);
        fld_json_remove(items, id);
        return FLD_OK;
    }
    eq = strchr(close, '=');
    if (eq == NULL)
        return fld_err_set(err, FLD_EUSAGE,
                           "expected GROUP[ITEM].NAME=VALUE, got '%s'", a);
    name = fld_xstrndup(close + 2, (size_t)(eq - close - 2));
    q = fld_template_question(e->t, name);
    if (q == NULL ||
        q->section != (size_t)(s - fld_template_section(e->t, 0))) {
        rc = fld_err_set(err, FLD_NOTFOUND,
                         "repeat group %s has no question '%s'", s->name, name);
        free(name);
        return rc;
    }
    free(name);
    if (items == NULL) {
        fld_json_set(e->answers, s->name, fld_json_object());
        items = fld_json_get_mut(e->answers, s->name);
    }
    if ((item = fld_json_get_mut(items, id)) == NULL) {
        fld_json_set(items, id, fld_json_object());
        item = fld_json_get_mut(items, id);
    }
    rc = set_value(e, item, q, id, eq + 1, err);
    if (item->n == 0) /* a new item given only blanks */
        fld_json_remove(items, id);
    return rc;
}

int fld_edit_assign(struct fld_edit *e, const char *a, struct fld_err *err)
{
    const char *eq = strchr(a, '='), *open = strchr(a, '[');
    const struct fld_question *q;
    char *name;
    int rc;

    if (eq == NULL || eq == a)
        return fld_err_set(err, FLD_EUSAGE, "expected NAME=VALUE, got '%s'", a);
    if (open != NULL && open < eq)
        return assign_repeat(e, a, open, err);
    name = fld_xstrndup(a, (size_t)(eq - a));
    q = fld_template_question(e->t, name);
    if (q == NULL || (q->section != FLD_NO_SECTION &&
                      fld_template_section(e->t, q->section)->is_repeat)) {
        rc = fld_err_set(
            err, FLD_NOTFOUND,
            q ? "%s is in a repeat group: write %s[ITEM].%s=..."
              : "template %s has no question '%s'",
            q ? name : fld_template_id(e->t),
            q ? fld_template_section(e->t, q->section)->name : name, name);
        free(name);
        return rc;
    }
    free(name);
    return set_value(e, e->answers, q, NULL, eq + 1, err);
}

/* The index of item id among the repeat's items (sorted by id). */
static size_t item_index(const struct fld_form *f, size_t section,
                         const char *id)
{
    size_t i;

    for (i = 0; i < fld_form_n_items(f, section); i++)
        if (strcmp(fld_form_item_id(f, section, i), id) == 0)
            return i;
    return (size_t)-1;
}

int fld_edit_check(struct fld_edit *e, const char *today, enum fld_lang lang,
                   struct fld_err *err)
{
    struct fld_form *f;
    size_t i;
    int rc = fld_form_check(e->t, e->answers, today, &f, err);

    for (i = 0; rc == FLD_OK && i < e->n_done; i++) {
        const struct fld_question *q = e->done[i].q;
        size_t qi = fld_template_question_index(e->t, q);
        size_t item =
            e->done[i].item ? item_index(f, q->section, e->done[i].item) : 0;

        if (item == (size_t)-1 || e->done[i].cleared)
            continue; /* deleted later in the same call, or cleared */
        if (!fld_form_relevant(f, qi, item))
            rc = fld_err_set(err, FLD_EINVAL,
                             "%s does not apply to this record (its condition "
                             "is false); it was not set",
                             q->name);
        else
            rc = fld_form_answer_error(f, q, e->done[i].item, lang, err);
    }
    fld_form_free(f);
    return rc;
}
