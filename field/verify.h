/*
 * verify.h - re-check everything a store holds.
 *
 * `field verify` trusts nothing but the signed bytes. For every stored
 * version it recomputes the hash and checks it against the stored one,
 * verifies the author's signature, and checks that the indexed columns
 * agree with the signed body. Across versions it checks device chains
 * (this device's chain must run 1..n without a gap and end at the version
 * the device last signed; any device's chain must not fork, and each prev
 * must name the version before), that every parent is present, and that
 * the stored heads are exactly the versions no version of their record
 * names as parent.
 *
 * Each fault is reported through a callback as it is found, naming the
 * version (or device) and what is wrong, so the caller decides how to show
 * them. The library never prints.
 */
#ifndef FLD_VERIFY_H
#define FLD_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* subject is a version hash, a record id or a device key (hex). */
typedef void (*fld_fault_fn)(void *ctx, const char *kind, const char *subject,
                             const char *message);

struct fld_verify_stats {
    int64_t n_versions;
    int64_t n_records;
    int64_t n_devices;
    int64_t n_faults;
};

/*
 * Check the whole store. FLD_OK when no fault was found, FLD_ECORRUPT when
 * at least one was (each already reported through fn), or another code if
 * the store could not be read at all.
 */
int fld_verify_store(struct fld_store *st, fld_fault_fn fn, void *ctx,
                     struct fld_verify_stats *stats, struct fld_err *err);

/*
 * Run fn(ctx, i) once for every i < n, on as many threads as it likes, and
 * return when all have run: field passes syn_parallel_for (sync/
 * parallel.h), which this library cannot call itself.
 */
typedef void (*fld_parallel_fn)(size_t n, void (*fn)(void *ctx, size_t i),
                                void *ctx);

/*
 * The same, with each version's own checks (hash, canonical form,
 * signature: most of the work) spread by parallel, a batch of versions at
 * a time; NULL runs them one after the other. The faults, their order and
 * the result are the same either way.
 */
int fld_verify_store_with(struct fld_store *st, fld_parallel_fn parallel,
                          fld_fault_fn fn, void *ctx,
                          struct fld_verify_stats *stats, struct fld_err *err);

#endif
