/*
 * merge_result.c - the result of a merge (struct syn_merged, merge.h):
 * the merged answers, the conflicts and their candidates, the heads and
 * the latest review.
 *
 * Where it sits: once merge.c has found every path's frontier, winner
 * and value and the status register's frontier, this file turns them
 * into what the caller sees. Values are looked up again in the versions'
 * own answers (json_at) rather than kept per version and path: only
 * winners and candidates are ever needed. Everything in the result is
 * either owned by it or borrowed from the versions, never from struct
 * merge, which syn_merge() frees before its caller sees the result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merge_int.h"

/* Newest first. Insertion sort: frontiers are short, and qsort would need
 * the merge as a context it cannot take. */
static void sort_newest_first(const struct merge *m, uint32_t *ids, size_t k)
{
    size_t i, j;

    for (i = 1; i < k; i++) {
        uint32_t x = ids[i];

        for (j = i; j > 0 && syn_merge_cmp_newer(m, ids[j - 1], x) < 0; j--)
            ids[j] = ids[j - 1];
        ids[j] = x;
    }
}

/* The components of a key: up to four, NUL-ended, after the kind byte. */
static void split_key(const struct path *pa, const char *c[4])
{
    const char *s = pa->key + 1;
    int i;

    for (i = 0; i < 4; i++) {
        c[i] = s < pa->key + pa->len ? s : NULL;
        if (c[i] != NULL)
            s += strlen(s) + 1;
    }
}

/* The string c in the choice array a, or NULL. */
static const struct fld_json *find_choice(const struct fld_json *a,
                                          const char *c)
{
    size_t i;

    for (i = 0; a != NULL && a->type == FLD_JSON_ARRAY && i < a->n; i++)
        if (strcmp(a->items[i]->s, c) == 0)
            return a->items[i];
    return NULL;
}

/*
 * What version v holds at path p, borrowed from v: the value of a scalar,
 * the string of a choice, the object of an item; NULL when absent. Only
 * winners and candidates are looked up, so walking the answers again is
 * cheaper than keeping a pointer for every version and path.
 */
static const struct fld_json *json_at(const struct merge *m, uint32_t p,
                                      uint32_t v)
{
    const struct path *pa = &m->paths[p];
    const struct fld_json *x = m->nodes[v].ver->answers;
    const char *c[4];

    if (pa->vals[v] == 0)
        return NULL;
    split_key(pa, c);
    x = fld_json_get(x, c[0]);
    switch (pa->kind) {
    case K_SCALAR:
        return x;
    case K_CHOICE:
        return find_choice(x, c[1]);
    case K_ITEM:
        return fld_json_get(x, c[1]);
    case K_FIELD:
        return fld_json_get(fld_json_get(x, c[1]), c[2]);
    case K_FCHOICE:
        return find_choice(fld_json_get(fld_json_get(x, c[1]), c[2]), c[3]);
    }
    return NULL;
}

static int cmp_key(const struct path *x, const struct path *y)
{
    int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static int cmp_path_ptr(const void *a, const void *b)
{
    return cmp_key(*(const struct path *const *)a,
                   *(const struct path *const *)b);
}

/* obj[name] as a choice array (type FLD_JSON_ARRAY) or a group
 * (FLD_JSON_OBJECT), made empty if absent; NULL when it is something else
 * (a version answered the name with another type). */
static struct fld_json *member_at(struct fld_json *obj, const char *name,
                                  enum fld_json_type type)
{
    struct fld_json *x = fld_json_get_mut(obj, name);

    if (x == NULL) {
        fld_json_set(obj, name,
                     type == FLD_JSON_ARRAY ? fld_json_array()
                                            : fld_json_object());
        x = fld_json_get_mut(obj, name);
    }
    return x->type == type ? x : NULL;
}

/* An item already put back, or NULL. */
static struct fld_json *item_at(struct fld_json *obj, const char *g,
                                const char *id)
{
    struct fld_json *x = fld_json_get_mut(obj, g);

    if (x == NULL || x->type != FLD_JSON_OBJECT)
        return NULL;
    x = fld_json_get_mut(x, id);
    return x != NULL && x->type == FLD_JSON_OBJECT ? x : NULL;
}

/* Put path p's winning value back into out, under what holds it. */
static void put_value(const struct merge *m, struct fld_json *out, uint32_t p)
{
    const struct path *pa = &m->paths[p];
    const struct fld_json *v = json_at(m, p, pa->winner);
    struct fld_json *x = NULL;
    const char *c[4];

    split_key(pa, c);
    switch (pa->kind) {
    case K_SCALAR:
        fld_json_set(out, c[0], fld_json_clone(v));
        return;
    case K_CHOICE:
        x = member_at(out, c[0], FLD_JSON_ARRAY);
        break;
    case K_ITEM:
        x = member_at(out, c[0], FLD_JSON_OBJECT);
        if (x != NULL)
            fld_json_set(x, c[1], fld_json_object());
        return;
    case K_FIELD:
        x = item_at(out, c[0], c[1]);
        if (x != NULL)
            fld_json_set(x, c[2], fld_json_clone(v));
        return;
    case K_FCHOICE:
        x = item_at(out, c[0], c[1]);
        x = x != NULL ? member_at(x, c[2], FLD_JSON_ARRAY) : NULL;
        break;
    }
    if (x != NULL) /* a choice, in key order: the array comes out sorted */
        fld_json_append(x, fld_json_clone(v));
}

/*
 * The answers, rebuilt from the winners in key order: choices come sorted
 * (as devices write them), a group appears only with an item in it, and
 * absent values are left out. Kinds go back in their numeric order, so
 * if two versions answered one name with different types (a template
 * changed), a scalar wins over a choice set, which wins over a group.
 */
static struct fld_json *build_answers(const struct merge *m)
{
    const struct path **order = fld_xcalloc(m->n_paths + 1, sizeof *order);
    struct fld_json *out = fld_json_object();
    size_t i;

    for (i = 0; i < m->n_paths; i++)
        order[i] = &m->paths[i];
    qsort(order, m->n_paths, sizeof *order, cmp_path_ptr);
    for (i = 0; i < m->n_paths; i++)
        if (order[i]->value != 0)
            put_value(m, out, (uint32_t)(order[i] - m->paths));
    free(order);
    return out;
}

/* A conflict while being sorted: its path, for ties (NULL: the status). */
struct pending {
    struct syn_conflict c;
    const struct path *pa;
};

/* By path as shown; two paths may show alike (a choice holding '/'), so
 * ties go to the unambiguous key, the status first. */
static int cmp_pending(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    int c = strcmp(x->c.path, y->c.path);

    if (c != 0)
        return c;
    if (x->pa == NULL || y->pa == NULL)
        return (x->pa != NULL) - (y->pa != NULL);
    return cmp_key(x->pa, y->pa);
}

/* "name/item/field/choice": the key with its separators made visible. */
static char *display_path(const struct path *pa)
{
    char *s = fld_xmalloc(pa->len);
    size_t i;

    memcpy(s, pa->key + 1, pa->len - 1);
    for (i = 0; i + 1 < pa->len - 1; i++)
        if (s[i] == '\0')
            s[i] = '/';
    return s;
}

/* Candidates for versions ids[0..k), in that order, at path p (NONE: the
 * status); every pointer is borrowed from the versions. */
static void fill_candidates(const struct merge *m, struct syn_conflict *c,
                            const uint32_t *ids, size_t k, uint32_t p)
{
    size_t i;

    c->candidates = fld_xcalloc(k, sizeof *c->candidates);
    c->n_candidates = k;
    for (i = 0; i < k; i++) {
        const struct fld_version *v = m->nodes[ids[i]].ver;
        struct syn_candidate *x = &c->candidates[i];

        x->value =
            p == NONE ? fld_json_get(v->json, "status") : json_at(m, p, ids[i]);
        x->version = v->hash;
        x->author = v->author;
        x->inspector = v->inspector;
        x->hlc = v->hlc;
    }
}

/* Every writer on the frontier is a candidate, newest (the winner) first:
 * two versions holding one value are both kept, with their authors. */
static void path_conflict(const struct merge *m, uint32_t p,
                          struct pending *out)
{
    const struct path *pa = &m->paths[p];
    uint32_t *ids = fld_xcalloc(pa->front[0] + 1, sizeof *ids);

    memcpy(ids, pa->front + 1, pa->front[0] * sizeof *ids);
    sort_newest_first(m, ids, pa->front[0]);
    out->c.path = display_path(pa);
    out->pa = pa;
    fill_candidates(m, &out->c, ids, pa->front[0], p);
    free(ids);
}

/* Approved against rejected: the reviews are the candidates (a lower
 * status beside them is simply superseded on the lattice). */
static void status_conflict(const struct merge *m, struct pending *out)
{
    const uint32_t *f = m->status_front;
    uint32_t *ids = fld_xcalloc(f[0] + 1, sizeof *ids);
    size_t k = 0, i;

    for (i = 1; i <= f[0]; i++)
        if (m->nodes[f[i]].status >= ST_DECISION)
            ids[k++] = f[i];
    sort_newest_first(m, ids, k);
    out->c.path = fld_xstrdup("status");
    out->pa = NULL;
    fill_candidates(m, &out->c, ids, k, NONE);
    free(ids);
}

/* A conflict on a field of an item that is not there is not shown: the
 * item's own conflict, if any, carries its contents. */
static bool is_visible(const struct merge *m, const struct path *pa)
{
    return !is_field(pa->kind) || m->paths[pa->item].value != 0;
}

static void collect_conflicts(const struct merge *m, struct syn_merged *r)
{
    struct pending *pend = fld_xcalloc(m->n_paths + 1, sizeof *pend);
    size_t n = 0, p;

    for (p = 0; p < m->n_paths; p++)
        if (m->paths[p].is_conflict && is_visible(m, &m->paths[p]))
            path_conflict(m, (uint32_t)p, &pend[n++]);
    if (m->status.is_conflict)
        status_conflict(m, &pend[n++]);
    qsort(pend, n, sizeof *pend, cmp_pending);
    r->conflicts = fld_xcalloc(n + 1, sizeof *r->conflicts);
    for (p = 0; p < n; p++)
        r->conflicts[p] = pend[p].c;
    r->n_conflicts = n;
    free(pend);
}

/*
 * The latest review: among the decision versions that no other decision
 * descends from, the newest. Causality first, so that a decision made
 * after seeing another always counts as the later one, whatever the
 * clocks say.
 */
static const struct fld_version *latest_review(const struct merge *m)
{
    uint32_t v, w, best = NONE;

    for (v = 0; v < m->n; v++) {
        bool is_superseded = false;

        if (m->nodes[v].status < ST_DECISION)
            continue;
        for (w = v + 1; w < m->n && !is_superseded; w++)
            is_superseded =
                m->nodes[w].status >= ST_DECISION && bit(anc(m, w), v);
        if (!is_superseded &&
            (best == NONE || syn_merge_cmp_newer(m, v, best) > 0))
            best = v;
    }
    return best == NONE ? NULL : m->nodes[best].ver;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Everything in the result is either owned by it or borrowed from the
 * versions, never from m, which is freed before the caller sees it. */
struct syn_merged *syn_merge_result(const struct merge *m)
{
    struct syn_merged *r = fld_xcalloc(1, sizeof *r);
    size_t i;

    r->answers = build_answers(m);
    r->status = syn_merge_status_names[m->status.shown];
    r->review_outdated = m->status.is_outdated;
    collect_conflicts(m, r);
    r->heads = fld_xcalloc(m->n_heads, sizeof *r->heads);
    for (i = 0; i < m->n_heads; i++)
        r->heads[i] = fld_xstrdup(m->nodes[m->heads[i]].ver->hash);
    r->n_heads = m->n_heads;
    qsort(r->heads, r->n_heads, sizeof *r->heads, cmp_str);
    r->newest = m->nodes[syn_merge_newest_of(m, m->heads, m->n_heads)].ver;
    r->review = latest_review(m);
    return r;
}

void syn_merged_free(struct syn_merged *r)
{
    size_t i;

    if (r == NULL)
        return;
    fld_json_free(r->answers);
    for (i = 0; i < r->n_conflicts; i++) {
        free(r->conflicts[i].path);
        free(r->conflicts[i].candidates);
    }
    free(r->conflicts);
    for (i = 0; i < r->n_heads; i++)
        free(r->heads[i]);
    free(r->heads);
    free(r);
}
