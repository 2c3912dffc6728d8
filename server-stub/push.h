/*
 * push.h - verifying and storing the versions a device pushes (DESIGN.md
 * section 5).
 *
 * Every version is checked completely: its bytes exactly canonical, its
 * hash, its author's signature (fld_version_open), the author enrolled,
 * the subject inside the pusher's scope, the author's role allowed to set
 * its status, its template known, its parents present. The outcome of
 * each is one of:
 *
 *   stored       kept under the next server sequence number
 *   duplicate    already stored (a push is idempotent)
 *   quarantined  kept aside, not served: its author is revoked
 *                ("revoked_author"), its template is not installed
 *                ("unknown_template") or a parent has not arrived
 *                ("missing_parents"), re-examined when that changes; or
 *                kept as evidence for good: its template id disagrees
 *                with its template ("template_mismatch"), a parent is a
 *                version of another record ("record_mismatch")
 *   refused      malformed ("malformed"), forged ("bad_signature"),
 *                signed by a device never enrolled ("unknown_author"),
 *                outside the pusher's scope ("out_of_scope"), or a status
 *                the author's role may not set ("role")
 *
 * A fork or a gap in the author's chain is stored and written to the audit
 * log as an alarm; a version that breaks a checklist rule is stored with a
 * flag. Refusals are written to the audit log too.
 */
#ifndef SRV_PUSH_H
#define SRV_PUSH_H

#include <stddef.h>

#include "protocol.h"
#include "server.h"
#include "storage.h"

/*
 * Verify and store items pushed by pusher; results[i] (zeroed by the
 * caller, messages freed by the caller) receives the outcome of items[i].
 * Signatures are checked before the writer lock is taken; the storing is
 * one transaction under it, so on any storage failure (returned, with
 * err) nothing of the batch is kept.
 */
int srv_push(struct srv *s, struct srv_storage *st,
             const struct srv_device *pusher, const struct syn_item *items,
             size_t n, struct syn_result *results, struct fld_err *err);

/*
 * Re-examine the versions quarantined for reason (e.g. "unknown_template"
 * after a template was added) and store those that may now be stored.
 * Must run inside a transaction; *n_released counts the versions
 * re-examined (some may wait again, for another reason).
 */
int srv_push_recheck(struct srv *s, struct srv_storage *st, const char *reason,
                     size_t *n_released, struct fld_err *err);

/* Whether role may author a version of status (approved and rejected are
 * for supervisors and admins). */
int srv_role_may_set(const char *role, const char *status);

#endif
