/*
 * bundle.h - reading a bundle: signed versions carried without a network
 * (on a USB stick from a village to the district office), as `field
 * bundle export` writes them and `field bundle import` takes them in.
 *
 * A bundle is JSON:
 *
 *   {"format":"field-bundle-v1","versions":[{"body":"<the exact signed
 *    body>","sig":"<128 hex>"},...]}
 *
 * Other members are ignored, so that a later writer may add some. Nothing
 * in a bundle is trusted: the reader verifies every version (canonical
 * bytes, hash, the author's signature, fld_version_open()) and refuses the
 * whole bundle when any one fails, so that a caller never stores half of
 * one. A bundle may hold versions signed by any device, and the same
 * version twice (storing it twice is a no-op).
 */
#ifndef FLD_BUNDLE_H
#define FLD_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "json.h"
#include "key.h"
#include "version.h"

#define FLD_BUNDLE_FORMAT "field-bundle-v1"
/* The largest bundle read: far beyond a province's versions, but a bound. */
#define FLD_BUNDLE_MAX_BYTES ((size_t)512 * 1024 * 1024)
/* The most versions a caller should let a bundle hold (the import's cap):
 * each costs a signature check and its parsed body in memory. */
#define FLD_BUNDLE_MAX_VERSIONS ((size_t)1000000)

/* A bundle read and verified: n versions in the order of the file. */
struct fld_bundle {
    struct fld_version **versions; /* owned */
    size_t n;
};

/*
 * Read and verify the bundle in p[0..len). On success *out is a new
 * bundle (fld_bundle_free()), possibly of no versions. On failure *out is
 * NULL and err says why, in words that name no file (the caller adds
 * it): FLD_EINVAL for text that is not a bundle, or an entry that is not
 * {"body": text, "sig": 128 hex digits}; FLD_ELIMIT for more than
 * FLD_BUNDLE_MAX_BYTES, or more than max_versions entries (checked before
 * any signature); or the code of the first version that does not open
 * (FLD_EINVAL, FLD_ELIMIT, FLD_EBADSIG), its message prefixed with
 * "versions[i]: ".
 */
int fld_bundle_read(const uint8_t *p, size_t len, size_t max_versions,
                    struct fld_bundle **out, struct fld_err *err);

void fld_bundle_free(struct fld_bundle *b);

/* The entry of one version, {"body": ..., "sig": ...}, as a new value
 * owned by the caller; body must be canonical (it is written as text). */
struct fld_json *fld_bundle_entry(const uint8_t *body, size_t len,
                                  const uint8_t sig[FLD_SIG_LEN]);

#endif
