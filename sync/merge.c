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
#include "merge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/*
 * The kinds of path. A path's key is its kind byte followed by its
 * components (name, item id, field name, choice), each ended by a NUL. JSON
 * text never holds a NUL, so keys are unique, and memcmp orders them
 * component by component as strcmp would. The numeric order of the kinds
 * is the order in which build_answers() puts values back.
 */
enum kind { K_SCALAR = 1, K_CHOICE, K_ITEM, K_FIELD, K_FCHOICE };

/* Status codes are the status register's value ids; their order is the
 * lattice except that the decisions (approved, rejected, returned) are
 * incomparable with each other (view_status treats them apart). */
enum { ST_DRAFT = 1, ST_FINAL, ST_APPROVED, ST_REJECTED, ST_RETURNED };
#define ST_DECISION ST_APPROVED /* every code from here on is a decision */

static const char *const status_names[] = {NULL,       "draft",    "final",
                                           "approved", "rejected", "returned"};

/* Frontier lists are uint32_t arrays: [0] the count, then version numbers
 * in increasing order (so two lists are equal exactly when their words
 * are). */
static const uint32_t empty_list[1] = {0};

#define NONE UINT32_MAX
#define HASH_SEED 14695981039346656037ULL /* FNV-1a's offset basis */

/* A version, numbered in topological order: parents have smaller numbers. */
struct node {
    const struct fld_version *ver;
    uint32_t *parents;
    size_t n_parents;
    int status;
    bool is_head;
};

struct path {
    char *key;  /* kind byte, then NUL-ended components */
    size_t len; /* bytes of key, the last NUL included */
    uint64_t hash;
    enum kind kind;
    uint32_t item;     /* K_FIELD, K_FCHOICE: the path of the item itself */
    uint32_t n_values; /* distinct scalar values interned so far */
    uint32_t *vals;    /* each version's value id here; 0 is absent */
    uint64_t *wrote;   /* K_ITEM: versions writing one of its fields */
    /* The result over the whole set. */
    uint32_t *front; /* owned frontier list */
    uint32_t winner; /* NONE when nobody wrote the path */
    uint32_t value;  /* the winner's value id; 0 is absent */
    bool is_conflict;
};

/* A distinct scalar value of a path. */
struct value {
    uint64_t hash;
    uint32_t path;
    const struct fld_json *json;
    uint32_t id;
};

/* Open addressing: slots hold an index plus one (0 is empty) and its hash. */
struct slot {
    uint64_t hash;
    uint32_t id;
};

struct table {
    struct slot *slots;
    size_t mask, n;
};

struct chunk {
    struct chunk *next;
    size_t used, cap;
    uint32_t data[];
};

/* What the status register shows for a frontier (see view_status). */
struct status_view {
    int shown;
    bool is_conflict;
    bool is_outdated;
};

struct merge {
    struct node *nodes;
    size_t n, words;    /* versions; uint64_t words per bitset */
    uint64_t *anc;      /* n bitsets: strict ancestors */
    uint64_t *changed;  /* versions that write some answer path */
    uint64_t *everyone; /* every version: the set the result is over */
    uint32_t *heads;
    size_t n_heads;
    uint32_t *singles; /* singles + 2v is the list {v} */
    struct path *paths;
    size_t n_paths, cap_paths;
    struct table path_index;
    struct value *values;
    size_t n_values, cap_values;
    struct table value_index;
    struct fld_buf key; /* the key being built */
    /* Scratch of the pass over one path. */
    const uint32_t *val; /* the path's vals */
    const uint32_t **front;
    uint32_t *pool; /* unions are built here */
    size_t cap_pool;
    struct chunk *arena; /* lists made where branches meet */
    /* The status register over the whole set. */
    uint32_t *status_front;
    struct status_view status;
};

/* ---- small tools ------------------------------------------------------ */

/*
 * FNV-1a: short keys, no seed to manage. Hashes only pick slots: no id,
 * order or output depends on them. Keys come from signed versions and
 * could be crafted to collide; the cost of that is bounded by the caps on
 * a body and on the versions of a record (probing degrades to quadratic
 * in the paths of one record, never worse).
 */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t len)
{
    const uint8_t *b = p;

    while (len-- > 0) {
        h ^= *b++;
        h *= 1099511628211ULL;
    }
    return h;
}

static bool bit(const uint64_t *set, uint32_t i)
{
    return (set[i / 64] >> (i % 64)) & 1;
}

static void set_bit(uint64_t *set, uint32_t i)
{
    set[i / 64] |= (uint64_t)1 << (i % 64);
}

static const uint64_t *anc(const struct merge *m, uint32_t v)
{
    return m->anc + (size_t)v * m->words;
}

/* The order of concurrent values: greatest hlc, then greatest hash. */
static int cmp_newer(const struct merge *m, uint32_t a, uint32_t b)
{
    const struct fld_version *x = m->nodes[a].ver, *y = m->nodes[b].ver;
    int c = fld_hlc_cmp(&x->hlc, &y->hlc);

    return c != 0 ? c : strcmp(x->hash, y->hash);
}

static uint32_t newest_of(const struct merge *m, const uint32_t *ids, size_t k)
{
    uint32_t best = NONE;
    size_t i;

    for (i = 0; i < k; i++)
        if (best == NONE || cmp_newer(m, ids[i], best) > 0)
            best = ids[i];
    return best;
}

/* Newest first. Insertion sort: frontiers are short, and qsort would need
 * the merge as a context it cannot take. */
static void sort_newest_first(const struct merge *m, uint32_t *ids, size_t k)
{
    size_t i, j;

    for (i = 1; i < k; i++) {
        uint32_t x = ids[i];

        for (j = i; j > 0 && cmp_newer(m, ids[j - 1], x) < 0; j--)
            ids[j] = ids[j - 1];
        ids[j] = x;
    }
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

/*
 * The interning tables: open addressing with linear probing over indices
 * into m->paths or m->values, with the hash kept beside the index so that
 * growing never has to look at the entries again.
 */
static void table_init(struct table *t)
{
    t->mask = 63;
    t->n = 0;
    t->slots = fld_xcalloc(t->mask + 1, sizeof *t->slots);
}

static void table_put(struct table *t, uint64_t hash, uint32_t id)
{
    size_t j = hash & t->mask;

    while (t->slots[j].id != 0)
        j = (j + 1) & t->mask;
    t->slots[j].hash = hash;
    t->slots[j].id = id + 1;
}

/* Add id, whose lookup just failed; kept at most half full. */
static void table_add(struct table *t, uint64_t hash, uint32_t id)
{
    if (2 * (t->n + 1) > t->mask + 1) {
        struct slot *old = t->slots;
        size_t j, size = t->mask + 1;

        t->mask = 2 * size - 1;
        t->slots = fld_xcalloc(2 * size, sizeof *t->slots);
        for (j = 0; j < size; j++)
            if (old[j].id != 0)
                table_put(t, old[j].hash, old[j].id - 1);
        free(old);
    }
    table_put(t, hash, id);
    t->n++;
}

/* ---- the DAG ---------------------------------------------------------- */

static int cmp_version_hash(const void *a, const void *b)
{
    const struct fld_version *const *x = a, *const *y = b;

    return strcmp((*x)->hash, (*y)->hash);
}

/* The index of hash in sorted[0..n), or n. */
static size_t find_hash(struct fld_version **sorted, size_t n, const char *hash)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(sorted[mid]->hash, hash);

        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return n;
}

/* The code of a status, 0 for a string that is none (a verified version
 * never has one, but this is data, not a programmer's promise). */
static int status_code(const char *s)
{
    int i;

    for (i = ST_DRAFT; i <= ST_RETURNED; i++)
        if (strcmp(s, status_names[i]) == 0)
            return i;
    return 0;
}

/*
 * Sort by hash and drop repeats (the same hash is the same bytes: merging
 * a set, a version given twice counts once), then check that all belong
 * to one record. Leaves the distinct versions in (*sorted)[0..*n).
 */
static int sort_versions(struct fld_version *const *versions, size_t *n,
                         struct fld_version ***sorted, struct fld_err *err)
{
    struct fld_version **s = fld_xcalloc(*n, sizeof *s);
    size_t i, k = 0;

    memcpy(s, versions, *n * sizeof *s);
    qsort(s, *n, sizeof *s, cmp_version_hash);
    for (i = 0; i < *n; i++)
        if (k == 0 || strcmp(s[k - 1]->hash, s[i]->hash) != 0)
            s[k++] = s[i];
    *n = k;
    *sorted = s;
    for (i = 1; i < k; i++)
        if (strcmp(s[i]->record, s[0]->record) != 0)
            return fld_err_set(err, FLD_EINVAL,
                               "merge: versions of two records (%s, %s)",
                               s[0]->record, s[i]->record);
    return FLD_OK;
}

/*
 * Each version's parents as indices into sorted[] (CSR: par[start[i] ..
 * start[i+1])). A parent that is not in the set is refused: the merged
 * state would depend on a version nobody here can see.
 */
static int index_parents(struct fld_version **sorted, size_t n, size_t *start,
                         uint32_t **par, struct fld_err *err)
{
    size_t i, j, k = 0;

    for (i = 0; i < n; i++)
        k += sorted[i]->parents->n;
    *par = fld_xcalloc(k + 1, sizeof **par);
    k = 0;
    for (i = 0; i < n; i++) {
        const struct fld_json *ps = sorted[i]->parents;

        start[i] = k;
        for (j = 0; j < ps->n; j++) {
            size_t at = find_hash(sorted, n, ps->items[j]->s);

            if (at == n)
                return fld_err_set(
                    err, FLD_EINVAL,
                    "merge: version %.12s: parent %.12s is missing",
                    sorted[i]->hash, ps->items[j]->s);
            (*par)[k++] = (uint32_t)at;
        }
    }
    start[n] = k;
    return FLD_OK;
}

/*
 * Kahn's algorithm with a FIFO queue seeded with the roots in hash order:
 * order[t] is the index in sorted[] of the t-th version. The order is a
 * function of the set alone. A cycle cannot be built out of hashes, but
 * the input is data, so it is refused rather than assumed away.
 */
static int topo_order(size_t n, const size_t *start, const uint32_t *par,
                      uint32_t *order, struct fld_err *err)
{
    size_t *cstart = fld_xcalloc(n + 1, sizeof *cstart);
    uint32_t *child = fld_xcalloc(start[n] + 1, sizeof *child);
    size_t *fill = fld_xcalloc(n + 1, sizeof *fill);
    size_t *indeg = fld_xcalloc(n + 1, sizeof *indeg);
    size_t i, j, head = 0, tail = 0;

    for (j = 0; j < start[n]; j++)
        cstart[par[j] + 1]++;
    for (i = 0; i < n; i++) {
        cstart[i + 1] += cstart[i];
        indeg[i] = start[i + 1] - start[i];
        if (indeg[i] == 0)
            order[tail++] = (uint32_t)i;
    }
    for (i = 0; i < n; i++)
        for (j = start[i]; j < start[i + 1]; j++)
            child[cstart[par[j]] + fill[par[j]]++] = (uint32_t)i;
    while (head < tail) {
        uint32_t u = order[head++];

        for (j = cstart[u]; j < cstart[u + 1]; j++)
            if (--indeg[child[j]] == 0)
                order[tail++] = child[j];
    }
    free(cstart);
    free(child);
    free(fill);
    free(indeg);
    if (tail < n)
        return fld_err_set(err, FLD_EINVAL,
                           "merge: the versions' parents form a cycle");
    return FLD_OK;
}

/*
 * Fill m->nodes in topological order, with parents renumbered, the
 * ancestor bitsets and the heads. A parent has a smaller number than its
 * child, so its ancestor set is complete when the child ORs it in: one
 * pass, n x parents x words operations. The bitsets are what makes every
 * later "is a an ancestor of b" one memory read.
 */
static int make_nodes(struct merge *m, struct fld_version **sorted,
                      const size_t *start, const uint32_t *par,
                      const uint32_t *order, struct fld_err *err)
{
    uint32_t *rank = fld_xcalloc(m->n, sizeof *rank);
    bool *has_child = fld_xcalloc(m->n, sizeof *has_child);
    size_t t, j;

    for (t = 0; t < m->n; t++)
        rank[order[t]] = (uint32_t)t;
    for (t = 0; t < m->n; t++) {
        struct node *nd = &m->nodes[t];
        uint32_t i = order[t];

        nd->ver = sorted[i];
        nd->n_parents = start[i + 1] - start[i];
        nd->parents = fld_xcalloc(nd->n_parents + 1, sizeof *nd->parents);
        for (j = 0; j < nd->n_parents; j++) {
            uint32_t p = rank[par[start[i] + j]];
            size_t w;

            nd->parents[j] = p;
            has_child[p] = true;
            for (w = 0; w < m->words; w++)
                m->anc[t * m->words + w] |= anc(m, p)[w];
            set_bit(m->anc + t * m->words, p);
        }
        nd->status = status_code(sorted[i]->status);
    }
    for (t = 0; t < m->n; t++)
        m->nodes[t].is_head = !has_child[t];
    free(rank);
    free(has_child);
    for (t = 0; t < m->n; t++)
        if (m->nodes[t].status == 0)
            return fld_err_set(err, FLD_EINVAL,
                               "merge: version %.12s: status \"%s\"",
                               m->nodes[t].ver->hash, m->nodes[t].ver->status);
    return FLD_OK;
}

/* Steps 1 and 2 of the file comment: everything that depends on the
 * parents alone. */
static int build_dag(struct merge *m, struct fld_version *const *versions,
                     size_t n, struct fld_err *err)
{
    struct fld_version **sorted = NULL;
    size_t *start = fld_xcalloc(n + 1, sizeof *start);
    uint32_t *par = NULL, *order = fld_xcalloc(n, sizeof *order);
    size_t t;
    int rc;

    rc = sort_versions(versions, &n, &sorted, err);
    if (rc == FLD_OK)
        rc = index_parents(sorted, n, start, &par, err);
    if (rc == FLD_OK)
        rc = topo_order(n, start, par, order, err);
    if (rc == FLD_OK) {
        m->n = n;
        m->words = (n + 63) / 64;
        m->nodes = fld_xcalloc(n, sizeof *m->nodes);
        m->anc = fld_xcalloc(n * m->words, sizeof *m->anc);
        rc = make_nodes(m, sorted, start, par, order, err);
    }
    if (rc == FLD_OK) {
        m->heads = fld_xcalloc(n, sizeof *m->heads);
        for (t = 0; t < n; t++)
            if (m->nodes[t].is_head)
                m->heads[m->n_heads++] = (uint32_t)t;
    }
    free(sorted);
    free(start);
    free(par);
    free(order);
    return rc;
}

/* ---- flattening answers into paths ------------------------------------ */

static bool is_field(enum kind k)
{
    return k == K_FIELD || k == K_FCHOICE;
}

/* The path whose key is m->key with its kind byte set to kind; made on
 * first sight. item is the item's own path for fields, else NONE. */
static uint32_t intern_path(struct merge *m, enum kind kind, uint32_t item)
{
    struct table *t = &m->path_index;
    struct path *p;
    uint64_t h;
    size_t j;

    m->key.data[0] = (uint8_t)kind;
    h = hash_bytes(HASH_SEED, m->key.data, m->key.len);
    for (j = h & t->mask; t->slots[j].id != 0; j = (j + 1) & t->mask) {
        p = &m->paths[t->slots[j].id - 1];
        if (t->slots[j].hash == h && p->len == m->key.len &&
            memcmp(p->key, m->key.data, p->len) == 0)
            return t->slots[j].id - 1;
    }
    if (m->n_paths == m->cap_paths) {
        m->cap_paths = m->cap_paths ? 2 * m->cap_paths : 64;
        m->paths = fld_xreallocarray(m->paths, m->cap_paths, sizeof *m->paths);
    }
    p = &m->paths[m->n_paths];
    memset(p, 0, sizeof *p);
    p->key = fld_xmalloc(m->key.len);
    memcpy(p->key, m->key.data, m->key.len);
    p->len = m->key.len;
    p->hash = h;
    p->kind = kind;
    p->item = item;
    p->winner = NONE;
    p->vals = fld_xcalloc(m->n, sizeof *p->vals);
    if (kind == K_ITEM)
        p->wrote = fld_xcalloc(m->words, sizeof *p->wrote);
    table_add(t, h, (uint32_t)m->n_paths);
    return (uint32_t)m->n_paths++;
}

/* The id (1, 2, ...) of a scalar value among the values of path. */
static uint32_t intern_value(struct merge *m, uint32_t path,
                             const struct fld_json *v)
{
    struct table *t = &m->value_index;
    uint8_t type = (uint8_t)v->type;
    uint64_t h =
        hash_bytes(hash_bytes(HASH_SEED, &path, sizeof path), &type, 1);
    size_t j;

    if (v->type == FLD_JSON_INT)
        h = hash_bytes(h, &v->i, sizeof v->i);
    else if (v->type == FLD_JSON_STRING)
        h = hash_bytes(h, v->s, v->len);
    for (j = h & t->mask; t->slots[j].id != 0; j = (j + 1) & t->mask) {
        const struct value *x = &m->values[t->slots[j].id - 1];

        if (t->slots[j].hash == h && x->path == path &&
            fld_json_equal(x->json, v))
            return x->id;
    }
    if (m->n_values == m->cap_values) {
        m->cap_values = m->cap_values ? 2 * m->cap_values : 256;
        m->values =
            fld_xreallocarray(m->values, m->cap_values, sizeof *m->values);
    }
    m->values[m->n_values].hash = h;
    m->values[m->n_values].path = path;
    m->values[m->n_values].json = v;
    m->values[m->n_values].id = ++m->paths[path].n_values;
    table_add(t, h, (uint32_t)m->n_values++);
    return m->values[m->n_values - 1].id;
}

/* Append a component to m->key; returns the length to truncate back to. */
static size_t key_push(struct merge *m, const char *comp)
{
    size_t at = m->key.len;

    fld_buf_append(&m->key, comp, strlen(comp) + 1);
    return at;
}

static void key_pop(struct merge *m, size_t at)
{
    m->key.len = at;
}

/*
 * One answer whose name is already in m->key: a scalar is one path; a
 * choice set is one path per choice, whose value is only "present" (id 1),
 * so that choices added and removed on two sides combine.
 */
static int flatten_answer(struct merge *m, uint32_t v, enum kind scalar,
                          uint32_t item, const struct fld_json *a,
                          struct fld_err *err)
{
    size_t i, at;
    uint32_t p;

    if (a->type == FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL,
                           "merge: version %.12s: nested answer",
                           m->nodes[v].ver->hash);
    if (a->type != FLD_JSON_ARRAY) {
        p = intern_path(m, scalar, item);
        m->paths[p].vals[v] = intern_value(m, p, a);
        return FLD_OK;
    }
    for (i = 0; i < a->n; i++) {
        if (a->items[i]->type != FLD_JSON_STRING)
            return fld_err_set(err, FLD_EINVAL,
                               "merge: version %.12s: a choice is not a string",
                               m->nodes[v].ver->hash);
        at = key_push(m, a->items[i]->s);
        p = intern_path(m, scalar + 1, item); /* K_CHOICE or K_FCHOICE */
        m->paths[p].vals[v] = 1;
        key_pop(m, at);
    }
    return FLD_OK;
}

/* A repeat group (its name in m->key): each item's existence is a path,
 * then each field is. */
static int flatten_group(struct merge *m, uint32_t v, const struct fld_json *g,
                         struct fld_err *err)
{
    size_t i, j, at, at2;
    int rc;

    for (i = 0; i < g->n; i++) {
        const struct fld_json *item = g->members[i].value;
        uint32_t p;

        if (item->type != FLD_JSON_OBJECT)
            return fld_err_set(err, FLD_EINVAL,
                               "merge: version %.12s: item %s is not an object",
                               m->nodes[v].ver->hash, g->members[i].key);
        at = key_push(m, g->members[i].key);
        p = intern_path(m, K_ITEM, NONE);
        m->paths[p].vals[v] = 1;
        for (j = 0; j < item->n; j++) {
            at2 = key_push(m, item->members[j].key);
            rc = flatten_answer(m, v, K_FIELD, p, item->members[j].value, err);
            key_pop(m, at2);
            if (rc != FLD_OK)
                return rc;
        }
        key_pop(m, at);
    }
    return FLD_OK;
}

/*
 * Every answer of version v into the path columns. The key of each path is
 * built in m->key component by component and truncated back on the way
 * out, so a group's name is written once for all its items and fields.
 */
static int flatten(struct merge *m, uint32_t v, struct fld_err *err)
{
    const struct fld_json *a = m->nodes[v].ver->answers;
    size_t i;
    int rc;

    for (i = 0; i < a->n; i++) {
        const struct fld_json *x = a->members[i].value;

        fld_buf_reset(&m->key);
        fld_buf_putc(&m->key, 0); /* the kind byte, set when interning */
        key_push(m, a->members[i].key);
        if (x->type == FLD_JSON_OBJECT)
            rc = flatten_group(m, v, x, err);
        else
            rc = flatten_answer(m, v, K_SCALAR, NONE, x, err);
        if (rc != FLD_OK)
            return rc;
    }
    return FLD_OK;
}

static int flatten_all(struct merge *m, struct fld_err *err)
{
    uint32_t v;
    int rc;

    table_init(&m->path_index);
    table_init(&m->value_index);
    for (v = 0; v < m->n; v++) {
        rc = flatten(m, v, err);
        if (rc != FLD_OK)
            return rc;
    }
    return FLD_OK;
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
    pa->winner = newest_of(m, f + 1, f[0]);
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
        if (newest_review == NONE || cmp_newer(m, f[i], newest_review) > 0)
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

/* ---- the result ------------------------------------------------------- */

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

/* obj[name] as a choice array, made if absent; NULL when it is something
 * else (a version answered the name with another type). */
static struct fld_json *array_at(struct fld_json *obj, const char *name)
{
    struct fld_json *x = fld_json_get_mut(obj, name);

    if (x == NULL) {
        fld_json_set(obj, name, fld_json_array());
        x = fld_json_get_mut(obj, name);
    }
    return x->type == FLD_JSON_ARRAY ? x : NULL;
}

static struct fld_json *group_at(struct fld_json *obj, const char *name)
{
    struct fld_json *x = fld_json_get_mut(obj, name);

    if (x == NULL) {
        fld_json_set(obj, name, fld_json_object());
        x = fld_json_get_mut(obj, name);
    }
    return x->type == FLD_JSON_OBJECT ? x : NULL;
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
        x = array_at(out, c[0]);
        break;
    case K_ITEM:
        x = group_at(out, c[0]);
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
        x = x != NULL ? array_at(x, c[2]) : NULL;
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
        if (!is_superseded && (best == NONE || cmp_newer(m, v, best) > 0))
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
static struct syn_merged *result(const struct merge *m)
{
    struct syn_merged *r = fld_xcalloc(1, sizeof *r);
    size_t i;

    r->answers = build_answers(m);
    r->status = status_names[m->status.shown];
    r->review_outdated = m->status.is_outdated;
    collect_conflicts(m, r);
    r->heads = fld_xcalloc(m->n_heads, sizeof *r->heads);
    for (i = 0; i < m->n_heads; i++)
        r->heads[i] = fld_xstrdup(m->nodes[m->heads[i]].ver->hash);
    r->n_heads = m->n_heads;
    qsort(r->heads, r->n_heads, sizeof *r->heads, cmp_str);
    r->newest = m->nodes[newest_of(m, m->heads, m->n_heads)].ver;
    r->review = latest_review(m);
    return r;
}

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
    struct merge m;
    int rc;

    *out = NULL;
    memset(&m, 0, sizeof m);
    if (n == 0)
        return fld_err_set(err, FLD_EINVAL, "merge: no versions");
    if (n > SYN_MERGE_MAX_VERSIONS)
        return fld_err_set(err, FLD_ELIMIT,
                           "merge: %zu versions of one record "
                           "(at most %d)",
                           n, SYN_MERGE_MAX_VERSIONS);
    rc = build_dag(&m, versions, n, err);
    if (rc == FLD_OK)
        rc = flatten_all(&m, err);
    if (rc == FLD_OK) {
        run_all(&m);
        *out = result(&m);
    }
    merge_free(&m);
    return rc;
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
