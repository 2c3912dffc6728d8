/*
 * ui_conflicts.c - a record's conflicts for the page (see ui_conflicts.h).
 *
 * The merge names a conflict by its path (sync/merge.h):
 *   "name"                  a scalar answer
 *   "name/choice"           one choice of a select_multiple
 *   "group/item"            whether a repeat item exists
 *   "group/item/name"       a field of a repeat item
 *   "group/item/name/choice"
 * and a candidate by the value its version holds there. What choosing a
 * candidate means is turned here into `field set` assignments, with the
 * item syntax group[item].name: a choice's presence becomes the whole set
 * with or without it (the rest as merged), an item's existence becomes
 * all its fields (or its removal). The page then sends them to the same
 * code path as `field resolve`, where every value is typed and checked.
 */
#include "ui_conflicts.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "merge.h"

/* A value as `field set` takes it: a string, a number, choices by spaces. */
static struct fld_json *as_text(const struct fld_json *v)
{
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_json *out;
    size_t i;

    if (v == NULL || v->type == FLD_JSON_NULL)
        return fld_json_null();
    if (v->type == FLD_JSON_STRING)
        return fld_json_string(v->s);
    if (v->type == FLD_JSON_INT)
        fld_buf_printf(&b, "%lld", (long long)v->i);
    else if (v->type == FLD_JSON_ARRAY)
        for (i = 0; i < v->n; i++)
            if (v->items[i]->type == FLD_JSON_STRING)
                fld_buf_printf(&b, "%s%s", b.len ? " " : "", v->items[i]->s);
    out = b.len ? fld_json_string(fld_buf_str(&b)) : fld_json_null();
    fld_buf_free(&b);
    return out;
}

/* The set of choices at answers[name] (an array, or absent) with choice
 * in it or not, as `field set` text. */
static struct fld_json *choices_with(const struct fld_json *answers,
                                     const char *name, const char *choice,
                                     bool with)
{
    const struct fld_json *set = answers ? fld_json_get(answers, name) : NULL;
    struct fld_json *arr = fld_json_array(), *out;
    bool seen = false;
    size_t i;

    for (i = 0; set && set->type == FLD_JSON_ARRAY && i < set->n; i++) {
        const struct fld_json *c = set->items[i];

        if (c->type != FLD_JSON_STRING)
            continue;
        if (strcmp(c->s, choice) == 0) {
            seen = true;
            if (!with)
                continue;
        }
        fld_json_append(arr, fld_json_string(c->s));
    }
    if (with && !seen)
        fld_json_append(arr, fld_json_string(choice));
    out = as_text(arr);
    fld_json_free(arr);
    return out;
}

/* The merged object of item in group, or NULL. */
static const struct fld_json *item_of(const struct fld_json *answers,
                                      const char *group, const char *item)
{
    const struct fld_json *g = fld_json_get(answers, group);

    return g && g->type == FLD_JSON_OBJECT ? fld_json_get(g, item) : NULL;
}

/*
 * What choosing value for path sets. parts are the path's pieces (1 to 4),
 * is_group whether the first names a repeat group, answers the merged
 * answers.
 */
static struct fld_json *assignment(char **parts, size_t n, bool is_group,
                                   const struct fld_json *answers,
                                   const struct fld_json *value)
{
    struct fld_json *a = fld_json_object();
    char *key;
    size_t i;

    if (n == 1) {
        fld_json_set(a, parts[0], as_text(value));
    } else if (!is_group) { /* name/choice */
        fld_json_set(a, parts[0],
                     choices_with(answers, parts[0], parts[1], value != NULL));
    } else if (n == 2 && value != NULL && value->type == FLD_JSON_OBJECT) {
        for (i = 0; i < value->n; i++) { /* the item kept, field by field */
            key = fld_xasprintf("%s[%s].%s", parts[0], parts[1],
                                value->members[i].key);
            fld_json_set(a, key, as_text(value->members[i].value));
            free(key);
        }
    } else if (n == 2) { /* the item removed */
        key = fld_xasprintf("%s[%s]", parts[0], parts[1]);
        fld_json_set(a, key, fld_json_null());
        free(key);
    } else {
        key = fld_xasprintf("%s[%s].%s", parts[0], parts[1], parts[2]);
        if (n == 3)
            fld_json_set(a, key, as_text(value));
        else
            fld_json_set(a, key,
                         choices_with(item_of(answers, parts[0], parts[1]),
                                      parts[2], parts[3], value != NULL));
        free(key);
    }
    return a;
}

/* The question a path is about: its last name that is not an item id. */
static struct fld_json *label_of(const struct fld_template *t, char **parts,
                                 size_t n)
{
    const char *name = n >= 3 ? parts[2] : parts[0];
    const struct fld_question *q = fld_template_question(t, name);
    struct fld_json *o;

    if (q == NULL)
        return fld_json_null();
    o = fld_json_object();
    if (q->label.vi)
        fld_json_set(o, "vi", fld_json_string(q->label.vi));
    if (q->label.en)
        fld_json_set(o, "en", fld_json_string(q->label.en));
    return o;
}

static struct fld_json *candidate_json(const struct syn_candidate *k,
                                       char **parts, size_t n, bool is_group,
                                       const struct fld_json *answers,
                                       bool shown)
{
    struct fld_json *e = fld_json_object();
    struct fld_json *text = as_text(k->value);

    if (k->value != NULL && k->value->type == FLD_JSON_OBJECT) {
        fld_json_free(text);
        text = fld_json_string("(mục còn giữ / item kept)");
    }
    fld_json_set(e, "text", text);
    fld_json_set(e, "author", fld_json_string(k->author));
    fld_json_set(e, "inspector",
                 k->inspector ? fld_json_string(k->inspector)
                              : fld_json_null());
    fld_json_set(e, "time_ms", fld_json_int(k->hlc.ms));
    fld_json_set(e, "version", fld_json_string(k->version));
    fld_json_set(e, "shown", fld_json_bool(shown));
    fld_json_set(e, "present", fld_json_bool(k->value != NULL));
    fld_json_set(e, "assign",
                 assignment(parts, n, is_group, answers, k->value));
    return e;
}

/* path split at '/' into at most 4 pieces (new strings); how many. */
static size_t split_path(const char *path, char *parts[4])
{
    const char *p = path, *slash;
    size_t n = 0;

    while (n < 4) {
        slash = strchr(p, '/');
        if (slash == NULL || n == 3) {
            parts[n++] = fld_xstrdup(p);
            break;
        }
        parts[n++] = fld_xstrndup(p, (size_t)(slash - p));
        p = slash + 1;
    }
    return n;
}

struct fld_json *fld_ui_conflicts_json(const struct cmd_record *r)
{
    const struct syn_merged *m = r->merged;
    struct fld_json *out = fld_json_array();
    size_t i, j, n, k;
    bool is_group;

    for (i = 0; i < m->n_conflicts; i++) {
        const struct syn_conflict *c = &m->conflicts[i];
        struct fld_json *o, *cands;
        char *parts[4];

        if (strcmp(c->path, "status") == 0)
            continue;
        n = split_path(c->path, parts);
        o = fld_json_object();
        cands = fld_json_array();
        fld_json_set(o, "path", fld_json_string(c->path));
        fld_json_set(o, "label", label_of(r->t, parts, n));
        is_group = fld_template_repeat(r->t, parts[0]) != NULL;
        for (j = 0; j < c->n_candidates; j++)
            fld_json_append(cands,
                            candidate_json(&c->candidates[j], parts, n,
                                           is_group, m->answers, j == 0));
        fld_json_set(o, "candidates", cands);
        fld_json_append(out, o);
        for (k = 0; k < n; k++)
            free(parts[k]);
    }
    return out;
}
