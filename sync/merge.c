/*
 * merge.c - the deterministic merge of all the versions of one record
 * (merge.h; DESIGN.md section 3, "Merge and conflicts").
 *
 * Where it sits: whoever shows a record (field show, field conflicts, the
 * server's reports) hands over every version it holds of the record; this
 * file turns that SET into one state of the answers, a status, and the
 * conflicts a person must resolve. It reads nothing, writes nothing and
 * never makes a version.
 *
 * Every answer is cut into paths (merge.h), each an independent
 * multi-value register decided by causality. The steps:
 *
 *   1. The versions are sorted by hash, their parents found by binary
 *      search, and numbered in a topological order (Kahn's algorithm, ties
 *      taken in hash order). Every later step works on these numbers, so
 *      nothing can depend on the order in which the caller listed them.
 *   2. anc[v], the bitset of v's strict ancestors, is the OR of its
 *      parents' sets and the parents themselves: one pass in that order.
 *   3. The answers of every version are flattened into paths. Paths and
 *      scalar values are interned through hash tables, and each path keeps
 *      a column with every version's value id (0 when absent), so that
 *      comparing two values is comparing two small integers.
 *   4. For each path, one pass in topological order computes front[v]: the
 *      frontier of the path's writers among v and its ancestors. When v
 *      writes the path this is {v}; otherwise it is the maximal elements of
 *      the union of its parents' frontiers (the maximal elements of a union
 *      are the maximal elements of the union of each part's maximal
 *      elements). That same union is the merged state of v's parents at
 *      the path, which is what decides whether v writes it. Most versions
 *      have one parent and write few paths, so most front[v] are a pointer
 *      copied from the parent; lists are built only where branches meet.
 *   5. The frontier of the whole set is the union over the heads. Its
 *      values give each path's value, winner and conflict, and the answers
 *      are rebuilt from the winners.
 * The cost is O(versions x paths) plus the frontiers where branches meet;
 * memory is one value id per version and path plus one ancestor bit per
 * pair of versions. tests/bench/bench_merge.c measures it: a few
 * milliseconds for 500 versions of 60 answers.
 *
 * This file does steps 4 and 5 and holds syn_merge(); steps 1 and 2 are
 * merge_dag.c, step 3 is merge_paths.c, and the result handed back
 * (answers, conflicts, heads) is built in merge_result.c. What they share
 * is merge_int.h.
 *
 * Where DESIGN.md leaves a choice open, this file decides (and
 * tests/unit/test_syn_merge.c holds it to the same decisions):
 *   - A version without parents writes every path, the ones it lacks as
 *     "absent" (but the fields of items it does not hold). With one root that
 * changes nothing; two roots of one record (two creations that never saw each
 * other) then conflict wherever they differ instead of one silently filling the
 * other's blanks.
 *   - Deleting a repeat item writes only its existence; writing any field
 *     of an item also writes the item's existence (see writes()).
 *   - An approval or rejection made without seeing a concurrent change of
 *     answers is "outdated": the status shows final, and the next version
 *     that descends from both settles it, like any conflict.
 *   - Every version on a conflicting frontier is a candidate, even when
 *     two hold the same value: each author keeps their say.
 *   - Empty choice sets and empty repeat groups read as blank and are left
 *     out of the merged answers, so a single head's state is its answers
 *     in that canonical form.
 */
#include "merge_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *const syn_merge_status_names[] = {
    NULL, "draft", "final", "approved", "rejected", "returned"};

/* Frontier lists are uint32_t arrays: [0] the count, then version numbers
 * in increasing order (so two lists are equal exactly when their words
 * are). */
static const uint32_t empty_list[1] = {0};

struct chunk {
    struct chunk *next;
    size_t used, cap;
    uint32_t data[];
};

/* ---- small tools ------------------------------------------------------ */

/*
 * The order of concurrent versions: a stamp that is ahead (beyond
 * m->trusted_ms) is treated as older than every stamp that is not, so a
 * clock from the future never makes its value the one shown first, its
 * head the newest or its decision the latest; among themselves ahead
 * stamps keep their (hlc, hash) order, so the result stays a function of
 * the set and the bound. Only concurrent versions meet here: the frontier
 * already dropped every ancestor, so parents always beat clocks.
 */
int syn_merge_cmp_newer(const struct merge *m, uint32_t a, uint32_t b)
{
    const struct fld_version *x = m->nodes[a].ver, *y = m->nodes[b].ver;
    bool x_ahead = x->hlc.ms > m->trusted_ms,
         y_ahead = y->hlc.ms > m->trusted_ms;
    int c;

    if (x_ahead != y_ahead)
        return x_ahead ? -1 : 1;
    c = fld_hlc_cmp(&x->hlc, &y->hlc);
    return c != 0 ? c : strcmp(x->hash, y->hash);
}

uint32_t syn_merge_newest_of(const struct merge *m, const uint32_t *ids,
                             size_t k)
{
    uint32_t best = NONE;
    size_t i;

    for (i = 0; i < k; i++)
        if (best == NONE || syn_merge_cmp_newer(m, ids[i], best) > 0)
            best = ids[i];
    return best;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/*
 * Frontier lists made where branches meet live in a chunked arena: they
 * are many, small, shared by pointer between versions, and all die
 * together when the pass over a path ends, so freeing them one by one
 * would be both slow and error-prone.
 */
static uint32_t *arena_alloc(struct merge *m, size_t n_words)
{
    struct chunk *c = m->arena;

    if (c == NULL || c->cap - c->used < n_words) {
        size_t cap = n_words > 4096 ? n_words : 4096;

        c = fld_xmalloc(sizeof *c + cap * sizeof c->data[0]);
        c->next = m->arena;
        c->used = 0;
        c->cap = cap;
        m->arena = c;
    }
    c->used += n_words;
    return c->data + c->used - n_words;
}

/* Lists of one path are dropped before the next path is merged. */
static void arena_reset(struct merge *m)
{
    struct chunk *c;

    for (c = m->arena; c != NULL; c = c->next)
        c->used = 0;
}

/* ---- frontiers -------------------------------------------------------- */

/*
 * The maximal elements of the union of the frontiers of the versions
 * ids[0..k). When the result equals one of the inputs that list is
 * returned, so that equal frontiers stay one pointer and the next merge
 * point is cheap again.
 */
static const uint32_t *join(struct merge *m, const uint32_t *ids, size_t k)
{
    size_t total = 0, j, a, b, n = 0, out = 0;
    uint32_t *list;

    for (j = 0; j < k; j++)
        total += m->front[ids[j]][0];
    if (total > m->cap_pool) {
        m->cap_pool = 2 * total;
        m->pool = fld_xreallocarray(m->pool, m->cap_pool, sizeof *m->pool);
    }
    for (j = 0; j < k; j++) {
        memcpy(m->pool + n, m->front[ids[j]] + 1,
               m->front[ids[j]][0] * sizeof *m->pool);
        n += m->front[ids[j]][0];
    }
    qsort(m->pool, n, sizeof *m->pool, cmp_u32);
    /* A version dominates another only if it descends from it, and then
     * it has the greater number: look only further along. */
    for (a = 0; a < n; a++) {
        bool is_dominated = a + 1 < n && m->pool[a + 1] == m->pool[a];

        for (b = a + 1; b < n && !is_dominated; b++)
            is_dominated = bit(anc(m, m->pool[b]), m->pool[a]);
        if (!is_dominated)
            m->pool[out++] = m->pool[a];
    }
    for (j = 0; j < k; j++)
        if (m->front[ids[j]][0] == out &&
            memcmp(m->front[ids[j]] + 1, m->pool, out * sizeof *m->pool) == 0)
            return m->front[ids[j]];
    list = arena_alloc(m, out + 1);
    list[0] = (uint32_t)out;
    memcpy(list + 1, m->pool, out * sizeof *m->pool);
    return list;
}

/* The frontier of v's parents: the merged state v was made from. */
static const uint32_t *parents_front(struct merge *m, uint32_t v)
{
    const struct node *nd = &m->nodes[v];
    size_t j;

    if (nd->n_parents == 0)
        return empty_list;
    for (j = 1; j < nd->n_parents; j++)
        if (m->front[nd->parents[j]] != m->front[nd->parents[0]])
            return join(m, nd->parents, nd->n_parents);
    return m->front[nd->parents[0]];
}

/* True when the frontier holds at most one distinct value, left in
 * *value (0, absent, for an empty frontier). */
static bool agree(const struct merge *m, const uint32_t *f, uint32_t *value)
{
    uint32_t i;

    *value = f[0] > 0 ? m->val[f[1]] : 0;
    for (i = 2; i <= f[0]; i++)
        if (m->val[f[i]] != *value)
            return false;
    return true;
}

/* A frontier that must outlive the arena (the whole set's). */
static uint32_t *copy_list(const uint32_t *f)
{
    uint32_t *c = fld_xcalloc(f[0] + 1, sizeof *c);

    memcpy(c, f, (f[0] + 1) * sizeof *c);
    return c;
}

/* ---- answer paths ----------------------------------------------------- */

/*
 * Whether version v writes path p, given f, the frontier of its parents
 * (DESIGN.md section 3), plus what repeat items need:
 *  - a version without an item says nothing about the item's fields:
 *    deleting an item writes only its existence, so if the deletion loses
 *    to an edit the item comes back whole, as the editor left it;
 *  - a version that writes a field of an item also writes the item's
 *    existence (as present): an edit concurrent with a deletion is then a
 *    conflict on the existence, and the edit is never silently dropped.
 */
static bool writes(const struct merge *m, uint32_t p, uint32_t v,
                   const uint32_t *f)
{
    const struct path *pa = &m->paths[p];
    uint32_t merged;

    if (is_field(pa->kind) && m->paths[pa->item].vals[v] == 0)
        return false;
    if (m->nodes[v].n_parents == 0)
        return true;
    if (!agree(m, f, &merged))
        return true; /* it settles the conflict its parents had */
    if (m->val[v] != merged)
        return true;
    return pa->kind == K_ITEM && m->val[v] != 0 && bit(pa->wrote, v);
}

/*
 * One pass over the versions in topological order. Invariant: when v is
 * reached, front[u] is final for every u < v, in particular for v's
 * parents, so the merged state of v's parents is at hand without looking
 * further back. Writes are recorded in m->changed (for the status) and in
 * the item's wrote set (for the item's existence, whose pass comes after
 * all field passes).
 */
static void run_path(struct merge *m, uint32_t p)
{
    struct path *pa = &m->paths[p];
    const uint32_t *f;
    uint32_t v, merged;

    m->val = pa->vals;
    arena_reset(m);
    for (v = 0; v < m->n; v++) {
        f = parents_front(m, v);
        if (!writes(m, p, v, f)) {
            m->front[v] = f;
            continue;
        }
        m->front[v] = m->singles + 2 * (size_t)v;
        set_bit(m->changed, v);
        if (is_field(pa->kind))
            set_bit(m->paths[pa->item].wrote, v);
    }
    f = join(m, m->heads, m->n_heads);
    pa->front = copy_list(f);
    pa->is_conflict = !agree(m, f, &merged);
    /* Without a conflict the winner holds the one value there is. */
    pa->winner = syn_merge_newest_of(m, f + 1, f[0]);
    pa->value = pa->winner == NONE ? 0 : m->val[pa->winner];
}

/* ---- status ----------------------------------------------------------- */

/*
 * Whether reviewer x is concurrent with a version of set that changed
 * answers: one that is neither x, nor an ancestor of x, nor a descendant.
 */
static bool is_review_outdated(const struct merge *m, uint32_t x,
                               const uint64_t *set)
{
    const uint64_t *ax = anc(m, x);
    size_t w;

    for (w = 0; w < m->words; w++) {
        uint64_t bits = set[w] & m->changed[w] & ~ax[w];

        if (w == x / 64)
            bits &= ~((uint64_t)1 << (x % 64));
        while (bits != 0) {
            uint32_t e = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits));

            bits &= bits - 1;
            if (!bit(anc(m, e), x))
                return true;
        }
    }
    return false;
}

/*
 * What the status frontier f shows within set (the versions it was taken
 * over): the greatest status on the lattice; two different decisions
 * (approved beside returned, say) are a conflict, shown as the newer. A
 * decision that did not see a concurrent change of answers is outdated:
 * the record shows "final" again until someone reviews what is there now.
 */
static struct status_view view_status(const struct merge *m, const uint32_t *f,
                                      const uint64_t *set)
{
    struct status_view s = {0, false, false};
    uint32_t i, newest_review = NONE;
    int decision = 0;

    for (i = 1; i <= f[0]; i++) {
        int st = m->nodes[f[i]].status;

        if (st < ST_DECISION) {
            if (st > s.shown)
                s.shown = st;
            continue;
        }
        if (decision != 0 && st != decision)
            s.is_conflict = true;
        decision = st;
        if (newest_review == NONE ||
            syn_merge_cmp_newer(m, f[i], newest_review) > 0)
            newest_review = f[i];
        if (!s.is_outdated)
            s.is_outdated = is_review_outdated(m, f[i], set);
    }
    if (decision != 0)
        s.shown = m->nodes[newest_review].status;
    if (s.is_outdated)
        s.shown = ST_FINAL;
    return s;
}

/*
 * The status register. It uses the same frontiers as the answers, but its
 * frontier is read on the lattice instead of as a set of values: draft
 * beside final is simply final, not a conflict. It runs after every answer
 * path because an outdated review is found from m->changed. An outdated
 * review counts as a conflict, so the next version that descends from both
 * the review and the change writes the status and settles it.
 */
static void run_status(struct merge *m)
{
    const uint32_t *f;
    uint32_t v;

    arena_reset(m);
    for (v = 0; v < m->n; v++) {
        struct status_view s;

        f = parents_front(m, v);
        m->front[v] = m->singles + 2 * (size_t)v;
        if (m->nodes[v].n_parents == 0)
            continue;
        s = view_status(m, f, anc(m, v));
        if (!s.is_conflict && !s.is_outdated && m->nodes[v].status == s.shown)
            m->front[v] = f;
    }
    f = join(m, m->heads, m->n_heads);
    m->status_front = copy_list(f);
    m->status = view_status(m, f, m->everyone);
}

/* Steps 4 and 5 of the file comment, for every path and the status. */
static void run_all(struct merge *m)
{
    size_t p, v;

    m->front = fld_xcalloc(m->n, sizeof *m->front);
    m->changed = fld_xcalloc(m->words, sizeof *m->changed);
    m->everyone = fld_xcalloc(m->words, sizeof *m->everyone);
    m->singles = fld_xcalloc(2 * m->n, sizeof *m->singles);
    for (v = 0; v < m->n; v++) {
        m->singles[2 * v] = 1;
        m->singles[2 * v + 1] = (uint32_t)v;
        set_bit(m->everyone, (uint32_t)v);
    }
    /* Fields before items: an item's existence depends on whether its
     * fields were written. */
    for (p = 0; p < m->n_paths; p++)
        if (m->paths[p].kind != K_ITEM)
            run_path(m, (uint32_t)p);
    for (p = 0; p < m->n_paths; p++)
        if (m->paths[p].kind == K_ITEM)
            run_path(m, (uint32_t)p);
    run_status(m);
}

/* ---- the merge -------------------------------------------------------- */

static void merge_free(struct merge *m)
{
    size_t i;

    while (m->arena != NULL) {
        struct chunk *c = m->arena;

        m->arena = c->next;
        free(c);
    }
    for (i = 0; i < m->n; i++)
        free(m->nodes[i].parents);
    for (i = 0; i < m->n_paths; i++) {
        free(m->paths[i].key);
        free(m->paths[i].vals);
        free(m->paths[i].wrote);
        free(m->paths[i].front);
    }
    free(m->nodes);
    free(m->anc);
    free(m->changed);
    free(m->everyone);
    free(m->heads);
    free(m->singles);
    free(m->paths);
    free(m->path_index.slots);
    free(m->values);
    free(m->value_index.slots);
    fld_buf_free(&m->key);
    free(m->front);
    free(m->pool);
    free(m->status_front);
}

int syn_merge(struct fld_version *const *versions, size_t n,
              struct syn_merged **out, struct fld_err *err)
{
    return syn_merge_at(versions, n, INT64_MAX, out, err);
}

int syn_merge_at(struct fld_version *const *versions, size_t n,
                 int64_t trusted_ms, struct syn_merged **out,
                 struct fld_err *err)
{
    struct merge m;
    int rc;

    *out = NULL;
    memset(&m, 0, sizeof m);
    m.trusted_ms = trusted_ms;
    if (n == 0)
        return fld_err_set(err, FLD_EINVAL, "merge: no versions");
    if (n > SYN_MERGE_MAX_VERSIONS)
        return fld_err_set(err, FLD_ELIMIT,
                           "merge: %zu versions of one record "
                           "(at most %d)",
                           n, SYN_MERGE_MAX_VERSIONS);
    rc = syn_merge_build_dag(&m, versions, n, err);
    if (rc == FLD_OK)
        rc = syn_merge_flatten(&m, err);
    if (rc == FLD_OK) {
        run_all(&m);
        *out = syn_merge_result(&m);
    }
    merge_free(&m);
    return rc;
}
