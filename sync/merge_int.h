/*
 * merge_int.h - what the files of the merge share, and nobody else may
 * use: the working state of one merge (struct merge) and the few calls
 * from one file to another. The contract for everyone else is merge.h.
 *
 * The merge is written in four files around this header, as SQLite
 * writes a subsystem as x.c, x.h and xInt.h, one file per step of the
 * file comment of merge.c:
 *
 *   merge_dag.c     steps 1 and 2: the versions sorted, numbered in
 *                   topological order, and their ancestor bitsets
 *   merge_paths.c   step 3: the answers flattened into interned paths
 *   merge.c         steps 4 and 5: frontiers, per path and for the
 *                   status, and syn_merge() itself
 *   merge_result.c  the result: merged answers rebuilt from the winners,
 *                   conflicts with their candidates, the latest review
 *
 * Every step reads and fills the one struct merge that syn_merge() owns;
 * each file keeps private (static) what no other step needs.
 */
#ifndef SYN_MERGE_INT_H
#define SYN_MERGE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "merge.h"

/*
 * The kinds of path. A path's key is its kind byte followed by its
 * components (name, item id, field name, choice), each ended by a NUL. JSON
 * text never holds a NUL, so keys are unique, and memcmp orders them
 * component by component as strcmp would. The numeric order of the kinds
 * is the order in which build_answers() (merge_result.c) puts values back.
 */
enum kind { K_SCALAR = 1, K_CHOICE, K_ITEM, K_FIELD, K_FCHOICE };

/* Status codes are the status register's value ids; their order is the
 * lattice except that the decisions (approved, rejected, returned) are
 * incomparable with each other (view_status treats them apart). */
enum { ST_DRAFT = 1, ST_FINAL, ST_APPROVED, ST_REJECTED, ST_RETURNED };
#define ST_DECISION ST_APPROVED /* every code from here on is a decision */

/* The name of each status code, [0] NULL (merge.c). */
extern const char *const syn_merge_status_names[];

#define NONE UINT32_MAX

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

/* Open addressing: slots hold an index plus one (0 is empty) and its hash. */
struct slot {
    uint64_t hash;
    uint32_t id;
};

struct table {
    struct slot *slots;
    size_t mask, n;
};

struct value; /* a distinct scalar value of a path (merge_paths.c) */
struct chunk; /* a block of the frontier lists' arena (merge.c) */

/* What the status register shows for a frontier (see view_status). */
struct status_view {
    int shown;
    bool is_conflict;
    bool is_outdated;
};

struct merge {
    /* Stamps with hlc.ms beyond this are "ahead": they order below every
     * other (syn_merge_cmp_newer; merge.h, "Clocks from the future"). */
    int64_t trusted_ms;
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

static inline bool bit(const uint64_t *set, uint32_t i)
{
    return (set[i / 64] >> (i % 64)) & 1;
}

static inline void set_bit(uint64_t *set, uint32_t i)
{
    set[i / 64] |= (uint64_t)1 << (i % 64);
}

/* The strict ancestors of version v. */
static inline const uint64_t *anc(const struct merge *m, uint32_t v)
{
    return m->anc + (size_t)v * m->words;
}

static inline bool is_field(enum kind k)
{
    return k == K_FIELD || k == K_FCHOICE;
}

/* ---- merge_dag.c ------------------------------------------------------ */

/*
 * Steps 1 and 2: m->nodes in topological order with their ancestor
 * bitsets, and m->heads. FLD_EINVAL when the versions are of two records,
 * a parent is missing, the parents form a cycle or a status is unknown.
 */
int syn_merge_build_dag(struct merge *m, struct fld_version *const *versions,
                        size_t n, struct fld_err *err);

/* ---- merge_paths.c ---------------------------------------------------- */

/*
 * Step 3: every answer of every version into m->paths, each path with its
 * column of value ids. FLD_EINVAL for answers no template makes (a nested
 * object, a choice that is not a string).
 */
int syn_merge_flatten(struct merge *m, struct fld_err *err);

/* ---- merge.c ---------------------------------------------------------- */

/* The order of concurrent values: greatest hlc, then greatest hash. */
int syn_merge_cmp_newer(const struct merge *m, uint32_t a, uint32_t b);

/* The newest of the versions ids[0..k), NONE when k is 0. */
uint32_t syn_merge_newest_of(const struct merge *m, const uint32_t *ids,
                             size_t k);

/* ---- merge_result.c --------------------------------------------------- */

/* The result of a finished merge, for syn_merged_free(); it borrows from
 * the versions only, never from m. */
struct syn_merged *syn_merge_result(const struct merge *m);

#endif
