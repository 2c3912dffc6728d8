/*
 * merge_dag.c - steps 1 and 2 of the merge (merge.c's file comment): the
 * versions of a record as a DAG through their parents.
 *
 * Where it sits: syn_merge() (merge.c) hands over the versions as the
 * caller listed them; this file sorts them by hash, finds each parent by
 * binary search, numbers the versions in a topological order that
 * depends on the set alone, and ORs up each version's ancestor bitset.
 * Every later step works on these numbers and bitsets (merge_int.h).
 * Everything that could make the merged state depend on something
 * outside the set is refused here: two records, a missing parent, a
 * cycle, a status nobody knows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merge_int.h"

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
        if (strcmp(s, syn_merge_status_names[i]) == 0)
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
int syn_merge_build_dag(struct merge *m, struct fld_version *const *versions,
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
