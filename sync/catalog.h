/*
 * catalog.h - what a device fetches besides versions when it syncs: the
 * province's threshold revisions (field/thresholds.h) for the templates it
 * holds.
 *
 * Every sync answer announces the server's newest revision sequence number
 * ("thresholds" in POST /v1/sync, docs/PROTOCOL.md). The device remembers
 * the last one it has seen (SYN_META_THRESHOLDS) and only when the server's
 * is greater does it ask for the revisions after it (GET
 * /v1/thresholds?after=SEQ), so a sync with nothing new stays one
 * request. Each revision fetched is verified (canonical bytes, hash, the
 * author's signature) and checked against its template before anything is
 * written; one for a template this device does not hold is skipped but
 * counted as seen. Who may sign one (an admin) is the server's to check:
 * a device does not know other devices' roles.
 *
 * Never prints; errors go to struct fld_err as in client.h.
 */
#ifndef SYN_CATALOG_H
#define SYN_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "store.h"
#include "transport.h"

/* The last threshold revision sequence number this device has seen, and
 * the server (its URL) whose number it is. */
#define SYN_META_THRESHOLDS "sync.thresholds_seq"
#define SYN_META_THRESHOLDS_SERVER "sync.thresholds_server"

/*
 * Perform one signed GET of path on the server (with the client's retries
 * and clock correction) into resp, which the caller hands over empty:
 * FLD_OK when resp holds a 200 JSON answer, the codes of client.c's
 * exchange otherwise. ctx is the caller's.
 */
typedef int (*syn_get_fn)(void *ctx, const char *path,
                          struct syn_http_response *resp, struct fld_err *err);

/*
 * After a sync whose answers said the server's newest revision is
 * server_seq (-1: the server did not say): when it is greater than the
 * last seen at this server (from 0 when full, when the last seen was
 * another server's, or when server_seq is smaller: a server restored from
 * an older backup), fetch every revision
 * after it, page by page, verify each and store those of templates this
 * device holds, then remember server_seq, all in one transaction. *stored
 * counts the revisions new here. FLD_EBADSIG when one does not verify,
 * FLD_EPROTO when the answer is not the protocol or a revision does not
 * fit its template; nothing is kept then.
 */
int syn_catalog_thresholds(struct fld_store *st, int64_t server_seq, bool full,
                           syn_get_fn get, void *ctx, int64_t *stored,
                           struct fld_err *err);

#endif
