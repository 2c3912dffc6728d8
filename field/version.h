/*
 * version.h - signed, immutable versions of a record.
 *
 * An inspection is a record; every save makes a new version whose body is a
 * JSON object (DESIGN.md section 3):
 *
 *   {"answers":{...},"author":"<pubkey hex>","dseq":42,
 *    "hlc":[1764288000000,3],"inspector":"Nguyễn Văn An",
 *    "parents":["<hash>",...],"prev":"<hash>","record":"<32 hex>",
 *    "status":"draft","subject":"<unit code>",
 *    "template":{"hash":"<hash>","id":"ntm-xa"},"v":1}
 *
 * The body's canonical bytes (json.h) are what is hashed, signed, stored and
 * sent. The hash is BLAKE2b-256 of those bytes, in hex: the version's id.
 * The signature is Ed25519 by the author over "field-version-v1" followed by
 * the 32 raw hash bytes, so a signature can never be replayed as one over
 * some other kind of message.
 *
 * Rules a body must follow (checked on every build and every import):
 *   v          1
 *   record     32 lowercase hex digits
 *   parents    sorted array of distinct version hashes (64 hex), [] for the
 *              first version of a record
 *   author     64 lowercase hex digits (the device's public key)
 *   dseq       the device's version count, 1, 2, 3 ... (1 <= dseq < 2^53)
 *   prev       hash of the device's previous version; absent when dseq is 1
 *   hlc        [ms, counter], both >= 0
 *   template   {"id": 1..64 printable ASCII, "hash": 64 hex}
 *   subject    the administrative unit code, 1..64 printable ASCII
 *   status     "draft" | "final" | "approved" | "rejected" | "returned"
 *   answers    object; values are strings, integers or arrays of strings;
 *              a repeat group is an object of items by item id, each an
 *              object of such values
 *   inspector  optional, the name the device was set up with (<= 200 bytes)
 *   attachments optional object of at most FLD_ATTACH_MAX_PER_VERSION
 *              entries, keyed by the attachment's content hash (64 hex
 *              digits, BLAKE2b-256 of the file's bytes), each
 *              {"bytes": 1..FLD_ATTACH_MAX_BYTES, "type": "image/jpeg" |
 *              "image/png", "taken": optional "YYYY-MM-DDTHH:MM:SS" (the
 *              camera's clock, as EXIF keeps it: no zone), "position":
 *              optional geopoint "lat lon" as norm.h writes it}: the
 *              photos this version's answers name, so the signature covers
 *              their size, type and where and when they were taken
 *   review     optional, only with a decision (approved, rejected,
 *              returned): {"note": text of 1..FLD_REVIEW_MAX_NOTE bytes,
 *              "recognition": {"number": text of 1..100 bytes,
 *              "date": "YYYY-MM-DD"}}, both members optional and
 *              recognition only with approved: why a supervisor decided,
 *              and the official decision that recognised the unit's tier
 * No other keys. A body is at most FLD_VERSION_MAX_BODY bytes.
 *
 * A decision (approved, rejected, returned) is a supervisor's: field-server
 * refuses one signed by an inspector's device (server-stub/push.c).
 * "returned" sends a final record back to its inspector for correction;
 * their next edit is a draft again.
 */
#ifndef FLD_VERSION_H
#define FLD_VERSION_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hlc.h"
#include "json.h"
#include "key.h"

#define FLD_VERSION_MAX_BODY (256 * 1024)
#define FLD_HASH_HEX_LEN 64
#define FLD_RECORD_HEX_LEN 32
#define FLD_SIGN_PREFIX "field-version-v1"
#define FLD_REVIEW_MAX_NOTE 2000
/* Attachments (photos): the most one file may be, whatever a device's own
 * limit says (a device's default is lower: attachment.h), and the most
 * one version names. */
#define FLD_ATTACH_MAX_BYTES ((int64_t)1 << 30)
#define FLD_ATTACH_MAX_PER_VERSION 500

/* A verified version. Every pointer is owned by the version; the string
 * fields point into json and live as long as it does. */
struct fld_version {
    uint8_t *body; /* canonical bytes exactly as signed */
    size_t body_len;
    uint8_t sig[FLD_SIG_LEN];
    char hash[FLD_HASH_HEX_LEN + 1];
    struct fld_json *json; /* the parsed body */

    const char *record;
    const char *author;
    int64_t dseq;
    const char *prev; /* NULL when dseq == 1 */
    struct fld_hlc hlc;
    const char *template_id;
    const char *template_hash;
    const char *subject;
    const char *status;
    const char *inspector;          /* NULL when absent */
    const struct fld_json *parents; /* array of hash strings */
    const struct fld_json *answers; /* object */
    const struct fld_json *review;  /* object, NULL when absent */
    /* object of attachments by hash, NULL when absent */
    const struct fld_json *attachments;
};

/* What a device fills in to make a new version (all borrowed). */
struct fld_version_draft {
    const char *record;
    const char *const *parents; /* need not be sorted */
    size_t n_parents;
    int64_t dseq;
    const char *prev; /* NULL when dseq == 1 */
    struct fld_hlc hlc;
    const char *template_id;
    const char *template_hash;
    const char *subject;
    const char *status;
    const char *inspector;          /* may be NULL */
    const struct fld_json *answers; /* copied */
    const struct fld_json *review;  /* copied; NULL for none */
    /* copied; NULL or an empty object for none (then absent from the body) */
    const struct fld_json *attachments;
};

/*
 * Build the body of draft, authored by key's public key, serialise it
 * canonically, hash and sign it. FLD_EINVAL (with the rule broken) if the
 * draft breaks a rule above. *out is freed with fld_version_free().
 */
int fld_version_sign(const struct fld_version_draft *draft,
                     const struct fld_key *key, struct fld_version **out,
                     struct fld_err *err);

/*
 * Import a version from its body bytes and signature, verifying
 * everything: the size cap, strict parsing, that the bytes are exactly
 * canonical, every rule above, and the author's signature over the hash.
 * FLD_EINVAL for a malformed body, FLD_ELIMIT for an oversized one,
 * FLD_EBADSIG when the signature does not verify. Nothing is normalised.
 */
int fld_version_open(const uint8_t *body, size_t len,
                     const uint8_t sig[FLD_SIG_LEN], struct fld_version **out,
                     struct fld_err *err);

/*
 * The same, and the version keeps body itself instead of a copy: body is
 * malloc()ed, len + 1 bytes with a NUL at body[len]. On FLD_OK it belongs
 * to *out (fld_version_free() frees it); on failure it is still the
 * caller's. For a page of pulled versions, whose bodies were just
 * decoded: copying each would hold the page twice.
 */
int fld_version_open_owned(uint8_t *body, size_t len,
                           const uint8_t sig[FLD_SIG_LEN],
                           struct fld_version **out, struct fld_err *err);

/*
 * The same for bytes this program verified when it stored them, read back
 * from its own database to be computed with (the server's reports): every
 * check but the signature's, which is most of the cost. Never for bytes
 * that arrive from outside; `verify` and `audit` re-check signatures.
 */
int fld_version_open_stored(const uint8_t *body, size_t len,
                            const uint8_t sig[FLD_SIG_LEN],
                            struct fld_version **out, struct fld_err *err);

/* BLAKE2b-256 of body, as 64 lowercase hex digits. */
void fld_version_hash(const uint8_t *body, size_t len,
                      char hex[FLD_HASH_HEX_LEN + 1]);

/* The exact message an author signs for a version of this hash. */
void fld_version_sign_message(const uint8_t hash[32],
                              uint8_t msg[sizeof FLD_SIGN_PREFIX - 1 + 32]);

void fld_version_free(struct fld_version *v);

/*
 * A new record id: 128 bits, time-ordered like UUIDv7 (48 bits of Unix
 * milliseconds, then random bits), as 32 lowercase hex digits.
 */
void fld_record_id_new(char out[FLD_RECORD_HEX_LEN + 1]);

/* True for the statuses that are a supervisor's decision: approved,
 * rejected, returned. */
int fld_status_is_decision(const char *status);

/*
 * An attachment as a version names it (version.h's rules): its hash and
 * what the author signed about it. The strings point into the version.
 */
struct fld_version_attachment {
    const char *hash;
    int64_t bytes;
    const char *type;     /* "image/jpeg" or "image/png" */
    const char *taken;    /* NULL when the photo had no time */
    const char *position; /* NULL when the photo had no position */
};

/* The number of attachments v names, and the i-th of them in hash order. */
size_t fld_version_n_attachments(const struct fld_version *v);
void fld_version_attachment(const struct fld_version *v, size_t i,
                            struct fld_version_attachment *out);

/* True for "YYYY-MM-DDTHH:MM:SS" with a real date and time of day. */
int fld_is_timestamp(const char *s);

/* True when s is exactly n lowercase hex digits. */
int fld_is_hex(const char *s, size_t n);

/* True when s is a calendar date written YYYY-MM-DD, as norm.h writes it. */
int fld_is_date(const char *s);

/* True when s is a code as a version holds one (a unit code as subject, a
 * template id): 1..64 printable ASCII characters without spaces. */
int fld_is_code(const char *s);

#endif
