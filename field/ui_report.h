/*
 * ui_report.h - the report screen of `field ui` (docs/UI.md): the
 * province report fetched from the server on a thread of its own, and
 * what the page shows of it.
 *
 * The fetch is `field report --json` (cmd_report_fetch(): one signed GET,
 * the report kept in the store's meta table), with its own connection to
 * the store and the device key the UI holds: a server that does not
 * answer holds this thread, never the page. Its outcome is kept here,
 * under a mutex, for GET /api/report; the report itself is the one kept
 * in the store.
 */
#ifndef FLD_UI_REPORT_H
#define FLD_UI_REPORT_H

#include <stdbool.h>

#include "cmd.h"
#include "json.h"
#include "ui_api.h"

/* How long the workbook's download may wait for the server: to connect,
 * and then with nothing arriving (it is fetched on the HTTP thread). */
#define FLD_UI_XLSX_BOUND_S 5

struct fld_ui_report;

/* For the device of parent (its data directory, language and key, which
 * must stay loaded until fld_ui_report_free()). Never NULL. */
struct fld_ui_report *fld_ui_report_new(const struct cmd_ctx *parent);

/* Start fetching the report of unit (NULL or "": the device's scope; a
 * unit code checked by the caller); FLD_EBUSY when a fetch is running. */
int fld_ui_report_start(struct fld_ui_report *r, const char *unit);

/*
 * What GET /api/report answers: the report kept on the device ("report",
 * "fetched_ms", both null when none) read from ctx's store, and the fetch:
 * "running", "started_ms", "finished_ms", "ok" (null before any fetch and
 * while one runs), and after a failure "error" (offline, refused,
 * not_found, failed) with "message_vi" and "message_en". New object.
 */
struct fld_json *fld_ui_report_state(struct fld_ui_report *r,
                                     struct cmd_ctx *ctx);

/*
 * The endpoints (path "/api/report" or "/api/report.xlsx"):
 *   GET  /api/report       the state above (200)
 *   POST /api/report?unit= starts a fetch: 202 with the state; 409
 *                          "report_running" while one runs, 409
 *                          "not_enrolled" with no server, 400 for a unit
 *                          that is not a code
 *   GET  /api/report.xlsx  the server's workbook, fetched on this thread
 *                          but bounded by FLD_UI_XLSX_BOUND_S
 * ctx is the UI's, with its store open.
 */
void fld_ui_report_handle(struct fld_ui_report *r, struct cmd_ctx *ctx,
                          bool is_post, const char *path, const char *unit,
                          struct fld_ui_reply *out);

/* End a running fetch (within about a second), wait for it, free r.
 * NULL is fine. */
void fld_ui_report_free(struct fld_ui_report *r);

#endif
