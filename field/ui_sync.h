/*
 * ui_sync.h - the sync button of `field ui` (docs/UI.md): one sync at a
 * time, on a thread of its own, and what the page shows of it.
 *
 * The sync is exactly `field sync` (cmd_sync_run(): the versions, then
 * the photos, under the data directory's sync lock), with its own
 * connection to the store and the device key the UI holds, so that the
 * page stays usable while it runs. Its counts after every answer and the
 * outcome of the last one are kept here, under a mutex, for GET /api/sync.
 */
#ifndef FLD_UI_SYNC_H
#define FLD_UI_SYNC_H

#include <stdbool.h>

#include "cmd.h"
#include "json.h"
#include "ui_api.h"

struct fld_ui_sync;

/* For the device of parent (its data directory and its key, which must
 * stay loaded until fld_ui_sync_free()). Never NULL. */
struct fld_ui_sync *fld_ui_sync_new(const struct cmd_ctx *parent);

/* Start a sync now; FLD_EBUSY when one is running. */
int fld_ui_sync_start(struct fld_ui_sync *s);

/*
 * What GET /api/sync answers: {"running", "started_ms", "finished_ms",
 * "ok", "message", the counts so far or of the last sync ("pushed",
 * "stored", "pulled", "new", "refused", "photos_up", "photos_down"),
 * "pending": versions waiting to be sent, read from st}. New object.
 */
struct fld_json *fld_ui_sync_state(struct fld_ui_sync *s, struct fld_store *st);

/*
 * The endpoint: GET /api/sync answers the state (200); POST /api/sync
 * starts a sync and answers the state (202), or 409 "sync_running" while
 * one runs, or 409 "not_enrolled" when this device has no server yet.
 * ctx is the UI's, with its store open.
 */
void fld_ui_sync_handle(struct fld_ui_sync *s, struct cmd_ctx *ctx,
                        bool is_post, struct fld_ui_reply *out);

/* Wait for a running sync to end, and free s. NULL is fine. */
void fld_ui_sync_free(struct fld_ui_sync *s);

#endif
