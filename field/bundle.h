/*
 * bundle.h - reading and writing a bundle: signed versions, and the photo
 * files they name, carried without a network (on a USB stick from a
 * village to the district office), as `field bundle export` writes them
 * and `field bundle import` takes them in.
 *
 * A bundle is JSON:
 *
 *   {"attachments":[{"bytes":N,"data":"<base64>","hash":"<64 hex>"},...],
 *    "format":"field-bundle-v1","versions":[{"body":"<the exact signed
 *    body>","sig":"<128 hex>"},...]}
 *
 * "attachments" is absent from bundles without photos (and from every
 * bundle written before photos travelled in them); other members are
 * ignored, so that a later writer may add some, and a reader that knows
 * no photos takes the versions of a bundle that carries some.
 *
 * Nothing in a bundle is trusted: the reader verifies every version
 * (canonical bytes, hash, the author's signature, fld_version_open()) and
 * every photo (named by a version of the bundle, the size that version
 * signed, bytes whose BLAKE2b-256 is the name: the checks a photo fetched
 * by `field sync` passes), and refuses the whole bundle when any one
 * fails, so that a caller never stores half of one. A bundle may hold
 * versions signed by any device, and the same version twice (storing it
 * twice is a no-op); a photo comes at most once.
 */
#ifndef FLD_BUNDLE_H
#define FLD_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
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

/* The most photos a bundle may carry (each is also bounded by the size
 * its version signed, and all of them by FLD_BUNDLE_MAX_BYTES). */
#define FLD_BUNDLE_MAX_PHOTOS ((size_t)100000)

/* A photo of a bundle, checked against its name and signed size. */
struct fld_bundle_photo {
    char hash[FLD_HASH_HEX_LEN + 1];
    uint8_t *data; /* owned: the file's bytes */
    size_t len;
};

/* A bundle read and verified: n versions in the order of the file, and
 * n_photos photos (none for a bundle without "attachments"). */
struct fld_bundle {
    struct fld_version **versions; /* owned */
    size_t n;
    struct fld_bundle_photo *photos; /* owned */
    size_t n_photos;
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
 * "versions[i]: ". Then the photos, each message starting
 * "attachments[i]": FLD_EINVAL for an entry that is not {"hash": 64
 * lowercase hex, "bytes": N, "data": base64}, a photo no version of the
 * bundle names, one that comes twice, or whose "bytes" is not the size
 * the version signed; FLD_ELIMIT for more than FLD_BUNDLE_MAX_PHOTOS;
 * FLD_ECORRUPT for data that is not base64 of exactly that many bytes, or
 * whose BLAKE2b-256 is not the hash. Photo bytes are held in memory: the
 * caller's read is bounded by FLD_BUNDLE_MAX_BYTES, and so are they.
 */
int fld_bundle_read(const uint8_t *p, size_t len, size_t max_versions,
                    struct fld_bundle **out, struct fld_err *err);

void fld_bundle_free(struct fld_bundle *b);

/* The entry of one version, {"body": ..., "sig": ...}, as a new value
 * owned by the caller; body must be canonical (it is written as text). */
struct fld_json *fld_bundle_entry(const uint8_t *body, size_t len,
                                  const uint8_t sig[FLD_SIG_LEN]);

/*
 * Writing a bundle, photos first (the members in key order), so that the
 * text grows in one buffer and a photo's bytes are held once, while they
 * are added:
 *
 *   struct fld_bundle_writer w;
 *   fld_bundle_writer_init(&w);
 *   fld_bundle_writer_photo(&w, hash, p, len, err);  (for each photo)
 *   fld_bundle_writer_finish(&w, versions, err);     (w.out: the bundle)
 *   fld_bundle_writer_free(&w);
 */
struct fld_bundle_writer {
    struct fld_buf out; /* the bundle's text so far */
    size_t n_photos;
};

void fld_bundle_writer_init(struct fld_bundle_writer *w);

/* Add a photo: hash (64 hex) must be the BLAKE2b-256 of p[0..len) (the
 * caller checked the file). FLD_ELIMIT, with nothing added, when the
 * bundle would pass FLD_BUNDLE_MAX_BYTES or FLD_BUNDLE_MAX_PHOTOS. */
int fld_bundle_writer_photo(struct fld_bundle_writer *w, const char *hash,
                            const uint8_t *p, size_t len, struct fld_err *err);

/* End the bundle with versions (an array of fld_bundle_entry(); taken, and
 * freed). FLD_ELIMIT when the whole passes FLD_BUNDLE_MAX_BYTES; the
 * codes of fld_json_write(). */
int fld_bundle_writer_finish(struct fld_bundle_writer *w,
                             struct fld_json *versions, struct fld_err *err);

void fld_bundle_writer_free(struct fld_bundle_writer *w);

#endif
