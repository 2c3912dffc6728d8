/*
 * storage_sqlite_raw.c - a SQLite server database's rows exactly as
 * stored, for `field-server migrate` (storage_raw.h says why a migration
 * cannot go through the operations of storage.h).
 *
 * The one statement is built from a table and columns that migrate.c
 * names as constants, prepared, stepped and finalised here: it is not in
 * the backend's statement table because it is used once per table per
 * migration. It runs in whatever transaction the caller began, so every
 * table is read from one snapshot.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "storage_raw.h"
#include "storage_sqlite.h"

/* The largest row: versions has 18 columns. */
#define MAX_COLUMNS 24

static void cell_of(sqlite3_stmt *s, int col, struct srv_cell *c)
{
    c->type = SRV_CELL_NULL;
    switch (sqlite3_column_type(s, col)) {
    case SQLITE_INTEGER:
        c->type = SRV_CELL_INT;
        c->i = sqlite3_column_int64(s, col);
        break;
    case SQLITE_TEXT:
        c->type = SRV_CELL_TEXT;
        c->text = (const char *)sqlite3_column_text(s, col);
        c->len = (size_t)sqlite3_column_bytes(s, col);
        break;
    case SQLITE_BLOB:
        c->type = SRV_CELL_BLOB;
        c->blob = sqlite3_column_blob(s, col);
        c->len = (size_t)sqlite3_column_bytes(s, col);
        break;
    default: /* NULL; a REAL is never stored by the server */
        break;
    }
}

int srv_sqlite_each_row(struct srv_storage *st, const char *table,
                        const char *columns, size_t n, srv_row_fn fn, void *ctx,
                        struct fld_err *err)
{
    struct srv_cell cells[MAX_COLUMNS];
    sqlite3 *db;
    sqlite3_stmt *s = NULL;
    char *sql;
    int step = SQLITE_DONE, rc = FLD_OK;
    size_t i;

    if (st->ops != &srv_storage_sqlite)
        return fld_err_set(err, FLD_EUSAGE, "not a SQLite database");
    if (n == 0 || n > MAX_COLUMNS)
        return fld_err_set(err, FLD_EUSAGE, "%s: %zu columns", table, n);
    db = srv_sq_db(st)->db;
    sql = fld_xasprintf("SELECT %s FROM %s ORDER BY 1", columns, table);
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        rc =
            fld_err_set(err, FLD_EDB, "read %s: %s", table, sqlite3_errmsg(db));
        goto out;
    }
    if ((size_t)sqlite3_column_count(s) != n) {
        rc = fld_err_set(err, FLD_EDB, "read %s: not %zu columns", table, n);
        goto out;
    }
    step = SQLITE_ROW;
    while (rc == FLD_OK && step == SQLITE_ROW) {
        step = sqlite3_step(s);
        if (step != SQLITE_ROW)
            break;
        for (i = 0; i < n; i++)
            cell_of(s, (int)i, &cells[i]);
        rc = fn(ctx, cells, n);
    }
    if (rc == FLD_OK && step != SQLITE_DONE)
        rc =
            fld_err_set(err, FLD_EDB, "read %s: %s", table, sqlite3_errmsg(db));
out:
    sqlite3_finalize(s);
    free(sql);
    return rc;
}
