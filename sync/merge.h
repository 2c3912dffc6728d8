/*
 * merge.h - the deterministic merge of a record's concurrent versions
 * (DESIGN.md section 3, "Merge and conflicts").
 *
 * The versions of a record form a DAG through their parents. The merged
 * state is a pure function of the SET of versions: every replica holding
 * the same versions computes the same state, byte for byte, whatever order
 * they arrived in. Nothing here writes a version: a person resolving a
 * conflict writes one (field resolve), whose parents are all the heads.
 *
 * Answers are seen as paths, each a multi-value register decided by
 * causality:
 *   "name"                 a scalar answer (string or integer)
 *   "name/choice"          one choice of a select_multiple (an array of
 *                          strings): present or absent, so additions and
 *                          removals on two sides combine
 *   "group/item"           the existence of a repeat item
 *   "group/item/name"      a field of a repeat item (and "…/name/choice")
 * A version WRITES a path when it has no parents, when its value at the
 * path differs from the merged state of its parents, or when it settles a
 * conflict its parents had there. The FRONTIER of a path is the set of its
 * writers that are not ancestors of another writer of it. One distinct
 * value on the frontier is the value; several are a conflict: the winner
 * (greatest hlc not ahead of the trusted bound, then greatest hash; see
 * syn_merge_at) is shown, every other value is kept
 * with its author and version until a person resolves it. Deleting an item
 * on one side while editing it on the other is a conflict on its existence.
 *
 * Status moves on the lattice draft < final < approved | rejected |
 * returned (the greatest wins; two different decisions concurrent are a
 * conflict); a decision concurrent with a change of answers sends the
 * record back to "final" with review_outdated set. A returned record's
 * next edit is a draft again: it descends from the return, so it simply
 * supersedes it.
 */
#ifndef SYN_MERGE_H
#define SYN_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "hlc.h"
#include "json.h"
#include "version.h"

/* Versions of one record syn_merge() takes at most (its ancestry bitsets
 * grow as the square of the count). */
#define SYN_MERGE_MAX_VERSIONS 20000

/*
 * One version on a conflicting path's frontier: every such version is a
 * candidate, so two that hold the same value are both listed. value is
 * what the version holds at the path: for "group/item" the item's object,
 * for ".../choice" the choice's string, for "status" the status string.
 */
struct syn_candidate {
    const struct fld_json *value; /* NULL: absent / deleted; borrowed */
    const char *version;          /* hash of the version that wrote it */
    const char *author;           /* device public key, hex */
    const char *inspector;        /* NULL when the version has none */
    struct fld_hlc hlc;
};

struct syn_conflict {
    char *path;                       /* as above; "status" for the status */
    struct syn_candidate *candidates; /* sorted: the winner first */
    size_t n_candidates;
};

struct syn_merged {
    struct fld_json *answers; /* the merged answers, winners chosen */
    const char *status;       /* "draft" | "final" | "approved" | "rejected" |
                                 "returned" */
    bool review_outdated;     /* approval/rejection concurrent with edits */
    struct syn_conflict *conflicts; /* sorted by path; none under an item
                                       that the merge leaves out */
    size_t n_conflicts;
    char **heads; /* sorted hashes of the versions no other names as parent
                     (owned, like every non-const pointer here) */
    size_t n_heads;
    const struct fld_version
        *newest; /* the head with the greatest (hlc, hash) */
    /* The latest decision (approved, rejected or returned) among the
     * versions, causality first: a returned record edited since still
     * shows why it was returned. NULL when nobody decided yet. */
    const struct fld_version *review;
};

/*
 * Merge all versions of one record (any order; each at most once). The
 * versions must outlive *out, which borrows from them. FLD_EINVAL when
 * they are not all of one record, or the DAG is not closed (a parent is
 * missing: the merged state would depend on what is not here);
 * FLD_ELIMIT beyond SYN_MERGE_MAX_VERSIONS. A version given twice counts
 * once. On failure *out is NULL.
 */
int syn_merge(struct fld_version *const *versions, size_t n,
              struct syn_merged **out, struct fld_err *err);

/*
 * Clocks from the future. The same merge, with a bound on believable
 * stamps: a version whose hlc.ms is beyond trusted_ms is "ahead" and,
 * among concurrent versions, orders below every version that is not (as
 * if it were the oldest), so it never decides which value is shown first,
 * which head is newest or which decision is latest. Causality is
 * untouched: a version still supersedes all its ancestors whatever the
 * clocks say. The bound is passed in, never read from a clock here, so
 * the merge stays a pure function of (versions, trusted_ms); callers pass
 * their trusted time plus the allowed skew (a device: its clock corrected
 * by the server's, plus FLD_HLC_MAX_AHEAD_MS; the server: its time plus
 * its skew; a report: its cut-off plus the skew). Replicas with different
 * bounds differ only on stamps between their bounds, which no correct
 * clock writes. syn_merge() is syn_merge_at() with no bound (INT64_MAX):
 * every stamp believed, for tests and tools that study the rules alone.
 */
int syn_merge_at(struct fld_version *const *versions, size_t n,
                 int64_t trusted_ms, struct syn_merged **out,
                 struct fld_err *err);
void syn_merged_free(struct syn_merged *m);

#endif
