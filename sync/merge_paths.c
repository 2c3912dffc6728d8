/*
 * merge_paths.c - step 3 of the merge (merge.c's file comment): every
 * answer of every version cut into paths, each path with a column of
 * value ids.
 *
 * Where it sits: after merge_dag.c has numbered the versions, this file
 * walks each version's answers once and interns what it finds: a path
 * (merge.h lists the kinds) through one hash table, a scalar value
 * through another, so that the frontier passes of merge.c compare two
 * values by comparing two small integers. A path's key is built
 * component by component in m->key and truncated back on the way out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merge_int.h"

#define HASH_SEED 14695981039346656037ULL /* FNV-1a's offset basis */

/* A distinct scalar value of a path. */
struct value {
    uint64_t hash;
    uint32_t path;
    const struct fld_json *json;
    uint32_t id;
};

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

/* ---- interning -------------------------------------------------------- */

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

/* ---- flattening answers into paths ------------------------------------ */

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

int syn_merge_flatten(struct merge *m, struct fld_err *err)
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
