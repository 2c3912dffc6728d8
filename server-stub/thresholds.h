/*
 * thresholds.h - the province's threshold revisions on the server
 * (field/thresholds.h for the signed format, docs/TEMPLATES.md
 * "Thresholds as data", docs/SERVER.md).
 *
 * An administrator signs, on a device enrolled as admin, the values the
 * province uses for a template's thresholds; `field-server thresholds add`
 * accepts the revision here (srv_thresholds_add) only when it is what it
 * claims and who signed it may set thresholds. Devices fetch the stored
 * revisions when they sync (GET /v1/thresholds?after=SEQ, the page built
 * by srv_thresholds_page), and the province's report evaluates each record
 * with the revision that was in force (srv_thresholds_apply).
 */
#ifndef SRV_THRESHOLDS_H
#define SRV_THRESHOLDS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "storage.h"
#include "template.h"
/* libfield's header of the same name (the signed format); named by its
 * path, since from here "thresholds.h" is this file. */
#include "../field/thresholds.h"

/*
 * Verify and store the signed revision in file (its file form {"body",
 * "sig"}), received at now_ms. Inside the caller's transaction. Accepted
 * only when: the signature verifies and the body follows every rule
 * (fld_thresholds_read); its author is an enrolled, unrevoked device with
 * the role admin; its template is installed and its values fit it
 * (fld_thresholds_check); and its revision number is greater than every
 * one stored for that template hash. An audit entry records it. *out (the
 * verified revision, fld_thresholds_free) and *seq (its server order) are
 * set on success. Refusals are one line naming what is wrong: FLD_EINVAL
 * (malformed, a rule, the role, the template, the number), FLD_EBADSIG
 * (the signature), FLD_EXISTS (this very revision is stored already);
 * nothing is stored then.
 */
int srv_thresholds_add(struct srv_storage *st, const uint8_t *file, size_t len,
                       int64_t now_ms, struct fld_thresholds **out,
                       int64_t *seq, struct fld_err *err);

/*
 * The revision in force for the template of this hash: the greatest
 * revision number among those whose valid_from is not after as_of
 * (YYYY-MM-DD; NULL: any date) and which this server received at or before
 * cutoff_ms (INT64_MAX: any time). *out is verified again (a stored row is
 * data from disk), freed with fld_thresholds_free(); NULL, with FLD_OK,
 * when none is. FLD_ECORRUPT when the stored one no longer verifies.
 */
int srv_thresholds_in_force(struct srv_storage *st, const char *template_hash,
                            int64_t cutoff_ms, const char *as_of,
                            struct fld_thresholds **out, struct fld_err *err);

/*
 * Set on t the revision in force (srv_thresholds_in_force) for t's hash,
 * so that the form engine evaluates with the province's values. No
 * revision: t is unchanged, FLD_OK. FLD_ECORRUPT when the stored revision
 * does not verify or no longer fits t. t is changed: it must be the
 * caller's own (fld_template_parse of the stored body), never the copy
 * srv_template() shares between the server's threads.
 */
int srv_thresholds_apply(struct srv_storage *st, struct fld_template *t,
                         int64_t cutoff_ms, const char *as_of,
                         struct fld_err *err);

/* The answer of GET /v1/thresholds?after=SEQ: at most
 * SYN_THRESHOLDS_PAGE revisions after server sequence number after, as
 * JSON appended to out (sync/protocol.h). */
int srv_thresholds_page(struct srv_storage *st, int64_t after,
                        struct fld_buf *out, struct fld_err *err);

#endif
