/*
 * ui_conflicts.h - a record's unresolved conflicts as the page of
 * `field ui` shows them (docs/UI.md, "Conflicts"): for each conflicting
 * path, its question and every candidate value with who wrote it and
 * when, and what choosing that candidate sets, in the names `field set`
 * and `field resolve` take. The page gathers the chosen candidates'
 * assignments into one POST /api/records/ID/resolve: one signed version
 * on all the heads, as `field resolve RECORD NAME=VALUE...` writes.
 */
#ifndef FLD_UI_CONFLICTS_H
#define FLD_UI_CONFLICTS_H

#include "cmd.h"
#include "json.h"

/*
 * [{"path", "label": {"vi","en"} or null, "candidates": [{"text",
 * "present" (false: the version removed it), "author", "inspector",
 * "time_ms", "version", "shown" (the merge's winner), "assign": {NAME:
 * VALUE or null}}]}] for r's merged conflicts (sync/merge.h paths); the
 * status's own conflict (crossed decisions) is left out: a supervisor settles
 * it. New array.
 */
struct fld_json *fld_ui_conflicts_json(const struct cmd_record *r);

#endif
