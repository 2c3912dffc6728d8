/*
 * storage_sqlite_units.c - the SQLite backend's units and targets (see
 * storage.h for the contract, schema/server-002.sql for the tables,
 * storage_sqlite.c for the statements and the rest of the backend).
 *
 * Where it sits. `field-server units import` checks a units file against
 * what is stored (field/units.c) and then drops and puts versions here;
 * `field-server targets import` puts targets. The province's report reads
 * the units valid on its date (units_on) and the targets; push.c and the
 * pull ask whether a subject is in a device's scope (in_scope, and S_PULL
 * in storage_sqlite.c, which walks the same tree downwards).
 *
 * The decisions, and why:
 *
 *   - A unit is a version of a code with the dates it was valid, as on
 *     the devices: reports count "as of" a date by the versions valid
 *     then, and a version replaced by a file is replaced by code and
 *     valid_from, never by code alone.
 *   - Scope walks take every version together, whatever its dates, and
 *     follow merged_into as they follow parent (storage.h): a version of a
 *     commune that ended stays in the scope of the unit that took it over,
 *     and a scope does not change by itself when a date passes, which a
 *     pull cursor could not notice. field/units.c refuses a parent cycle
 *     across all dates, and the walks use UNION, so they always end.
 *   - Nothing here checks dates or codes: the units importer did, before
 *     the transaction wrote anything, and units_on's date was checked by
 *     storage.c.
 */
#include <sqlite3.h>
#include <stdlib.h>

#include "storage_sqlite.h"

/* ---- units ----------------------------------------------------------------
 */

int srv_sq_unit_put(struct srv_storage *st, const struct srv_unit *u,
                    struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(srv_sq_db(st), S_UNIT_PUT, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, u->code);
    fld_db_bind_text(s, 2, u->name);
    fld_db_bind_text(s, 3, u->kind ? u->kind : "");
    fld_db_bind_text(s, 4, u->parent);
    fld_db_bind_text(s, 5, u->valid_from ? u->valid_from : "0000-01-01");
    fld_db_bind_text(s, 6, u->valid_to);
    sqlite3_bind_int(s, 7, u->in_programme ? 1 : 0);
    fld_db_bind_text(s, 8, u->merged_into);
    return fld_db_done(srv_sq_db(st), s, "store unit", err);
}

int srv_sq_unit_drop(struct srv_storage *st, const char *code,
                     const char *valid_from, struct fld_err *err)
{
    return fld_db_run(srv_sq_db(st), S_UNIT_DROP, code, valid_from,
                      "store unit", err);
}

int srv_sq_unit_exists(struct srv_storage *st, const char *code, bool *out,
                       struct fld_err *err)
{
    return fld_db_exists(srv_sq_db(st), S_UNIT_EXISTS, code, NULL, out, "read",
                         err);
}

/* A row of S_UNITS or S_UNITS_ON (UNIT_COLUMNS). */
static int unit_row(void *data, sqlite3_stmt *s)
{
    const struct srv_sq_walk *w = data;
    struct srv_unit u;

    u.code = fld_db_text(s, 0);
    u.name = fld_db_text(s, 1);
    u.kind = fld_db_text(s, 2);
    u.parent = fld_db_text(s, 3);
    u.valid_from = fld_db_text(s, 4);
    u.valid_to = fld_db_text(s, 5);
    u.in_programme = sqlite3_column_int(s, 6) != 0;
    u.merged_into = fld_db_text(s, 7);
    return w->fn.unit(w->ctx, &u);
}

int srv_sq_each_unit(struct srv_storage *st, srv_unit_fn fn, void *ctx,
                     struct fld_err *err)
{
    struct srv_sq_walk w = {.fn.unit = fn, .ctx = ctx, .err = err};

    return srv_sq_walk(st, S_UNITS, unit_row, &w, "list units");
}

int srv_sq_units_on(struct srv_storage *st, const char *date, srv_unit_fn fn,
                    void *ctx, struct fld_err *err)
{
    struct srv_sq_walk w = {.fn.unit = fn, .ctx = ctx, .err = err};
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(srv_sq_db(st), S_UNITS_ON, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, date);
    return fld_db_walk(srv_sq_db(st), s, unit_row, &w, "list units", err);
}

int srv_sq_in_scope(struct srv_storage *st, const char *device,
                    const char *subject, bool *out, struct fld_err *err)
{
    return fld_db_exists(srv_sq_db(st), S_IN_SCOPE, device, subject, out,
                         "check scope", err);
}

/* ---- targets --------------------------------------------------------------
 */

int srv_sq_target_put(struct srv_storage *st, const struct srv_target *g,
                      struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(srv_sq_db(st), S_TARGET_PUT, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, g->unit);
    fld_db_bind_text(s, 2, g->tier);
    sqlite3_bind_int64(s, 3, g->count);
    fld_db_bind_text(s, 4, g->from);
    fld_db_bind_text(s, 5, g->due);
    fld_db_bind_text(s, 6, g->source);
    sqlite3_bind_int64(s, 7, g->loaded_ms);
    return fld_db_done(srv_sq_db(st), s, "store target", err);
}

static int target_row(void *data, sqlite3_stmt *s)
{
    const struct srv_sq_walk *w = data;
    struct srv_target g;

    g.unit = fld_db_text(s, 0);
    g.tier = fld_db_text(s, 1);
    g.count = sqlite3_column_int64(s, 2);
    g.from = fld_db_text(s, 3);
    g.due = fld_db_text(s, 4);
    g.source = fld_db_text(s, 5);
    g.loaded_ms = sqlite3_column_int64(s, 6);
    return w->fn.target(w->ctx, &g);
}

int srv_sq_each_target(struct srv_storage *st, srv_target_fn fn, void *ctx,
                       struct fld_err *err)
{
    struct srv_sq_walk w = {.fn.target = fn, .ctx = ctx, .err = err};

    return srv_sq_walk(st, S_TARGETS, target_row, &w, "list targets");
}
