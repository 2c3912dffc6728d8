/*
 * capture.h - how a device writes: a new record, or a new version of one.
 *
 * Each call is one transaction on the store: it reads the device's chain
 * position (dseq, prev) and clock, signs the new version with the device
 * key, stores it, and advances the chain, so a crash leaves either the
 * whole version or nothing, and the device chain never skips or repeats.
 */
#ifndef FLD_CAPTURE_H
#define FLD_CAPTURE_H

#include "err.h"
#include "json.h"
#include "key.h"
#include "store.h"
#include "template.h"
#include "version.h"

/* Meta keys of the device's own state in the store. */
#define FLD_META_PUBLIC "device.public"
#define FLD_META_INSPECTOR "device.inspector"
#define FLD_META_DSEQ "device.dseq"
#define FLD_META_PREV "device.prev"
#define FLD_META_HLC_MS "clock.hlc_ms"
#define FLD_META_HLC_COUNT "clock.hlc_count"
#define FLD_META_OFFSET "clock.offset_ms"

/*
 * Record the device identity in a new store: its public key and the
 * inspector's name (NFC-normalised by the caller), dseq 0. FLD_EXISTS
 * when the store already belongs to a device.
 */
int fld_capture_setup(struct fld_store *st, const struct fld_key *key,
                      const char *inspector, struct fld_err *err);

/*
 * Start a record: its first version, status "draft", the answers given (may
 * be NULL for none), for subject (a unit code) against template t, which
 * must be installed in the store. *out is the signed version.
 */
int fld_capture_new(struct fld_store *st, const struct fld_key *key,
                    const struct fld_template *t, const char *subject,
                    const struct fld_json *answers, struct fld_version **out,
                    struct fld_err *err);

/*
 * The same inside the caller's transaction (fld_store_begin ... commit),
 * with status "draft" or "final": a bulk import signs many records in one
 * transaction and keeps all or none of them.
 */
int fld_capture_first(struct fld_store *st, const struct fld_key *key,
                      const struct fld_template *t, const char *subject,
                      const struct fld_json *answers, const char *status,
                      struct fld_version **out, struct fld_err *err);

/*
 * Save a new version of base's record with these answers and status; its
 * parent is base. FLD_CONFLICT when base is no longer the record's only
 * head (another process wrote meanwhile, or a sync brought a concurrent
 * version: resolve first); FLD_EXISTS when nothing would change.
 */
int fld_capture_save(struct fld_store *st, const struct fld_key *key,
                     const struct fld_version *base,
                     const struct fld_json *answers, const char *status,
                     struct fld_version **out, struct fld_err *err);

/*
 * Save a new version whose parents are heads (all the record's current
 * heads: a person's edit of a merged state, or a resolution). like gives
 * the record, template and subject. FLD_CONFLICT when the record's heads
 * are no longer exactly these. Unlike fld_capture_save, an unchanged
 * state is saved too: merging heads is itself a change.
 */
int fld_capture_save_heads(struct fld_store *st, const struct fld_key *key,
                           const struct fld_version *like,
                           const char *const *heads, size_t n_heads,
                           const struct fld_json *answers, const char *status,
                           struct fld_version **out, struct fld_err *err);

/*
 * The same inside the caller's transaction (fld_store_begin ... commit):
 * `field attach` adds its files and the version that answers with them in
 * one transaction, so that both are kept or neither.
 */
int fld_capture_append_heads(struct fld_store *st, const struct fld_key *key,
                             const struct fld_version *like,
                             const char *const *heads, size_t n_heads,
                             const struct fld_json *answers, const char *status,
                             struct fld_version **out, struct fld_err *err);

/*
 * A supervisor's decision on the record: like fld_capture_save_heads, with
 * status decision ("approved", "rejected" or "returned") and review (the
 * note and recognition of version.h; NULL for none). The caller decides
 * whether the record may be decided on; FLD_EINVAL for a status that is
 * not a decision or a review the version rules refuse.
 */
int fld_capture_decide(struct fld_store *st, const struct fld_key *key,
                       const struct fld_version *like, const char *const *heads,
                       size_t n_heads, const struct fld_json *answers,
                       const char *decision, const struct fld_json *review,
                       struct fld_version **out, struct fld_err *err);

/*
 * The record's current version when it has exactly one head: *out is new.
 * FLD_NOTFOUND for an unknown record, FLD_CONFLICT with several heads.
 */
int fld_capture_head(struct fld_store *st, const char *record,
                     struct fld_version **out, struct fld_err *err);

#endif
