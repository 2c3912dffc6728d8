/*
 * storage_raw.h - rows exactly as stored, for `field-server migrate`
 * (migrate.c) and nothing else.
 *
 * The server speaks to its storage in operations (storage.h), and those
 * cannot move a database losing nothing: putting a version gives it a new
 * seq, an audit entry a new id and time, an enrollment code comes back
 * unused. A migration must keep every row as it is (the seq numbers that
 * devices' pull cursors name, the audit log, used codes), so it reads and
 * writes whole rows, table by table, with the columns named by migrate.c's
 * table (program constants, never input). Everything else of the server
 * keeps to storage.h.
 */
#ifndef SRV_STORAGE_RAW_H
#define SRV_STORAGE_RAW_H

#include <stddef.h>
#include <stdint.h>

#include "storage.h"

/* One value of a row, as SQLite holds it: borrowed for a callback. */
enum srv_cell_type {
    SRV_CELL_NULL,
    SRV_CELL_INT,
    SRV_CELL_TEXT,
    SRV_CELL_BLOB
};
struct srv_cell {
    enum srv_cell_type type;
    int64_t i;           /* SRV_CELL_INT */
    const char *text;    /* SRV_CELL_TEXT, NUL-terminated */
    const uint8_t *blob; /* SRV_CELL_BLOB, len bytes */
    size_t len;
};
typedef int (*srv_row_fn)(void *ctx, const struct srv_cell *cells, size_t n);

/*
 * A SQLite handle (storage_sqlite_raw.c): every row of table, its columns
 * (a comma-separated list of n names) in that order, by the first column.
 * FLD_EUSAGE when st is not SQLite.
 */
int srv_sqlite_each_row(struct srv_storage *st, const char *table,
                        const char *columns, size_t n, srv_row_fn fn, void *ctx,
                        struct fld_err *err);

#ifdef SRV_WITH_PG
/*
 * A PostgreSQL database to load (storage_pg.c): location (after its
 * scheme) must hold no table, view or sequence in its schema (FLD_EXISTS,
 * naming one), so nothing of an existing database is ever mixed in. The
 * handle is in a transaction, under the writer lock, with the schema
 * created (schema/pg/server.sql): every storage.h read runs inside it,
 * srv_storage_commit() makes everything visible at once, and
 * srv_storage_close() without it leaves the database as empty as it was.
 */
int srv_pg_open_empty(const char *location, struct srv_storage **out,
                      struct fld_err *err);
/* Insert one row into table (columns as above; identity: the first
 * column is the table's generated one, whose value is kept). */
int srv_pg_load_row(struct srv_storage *st, const char *table,
                    const char *columns, bool identity,
                    const struct srv_cell *cells, size_t n,
                    struct fld_err *err);
/* After the rows of a table whose first column, column, is generated:
 * the next number generated follows the greatest loaded. */
int srv_pg_load_end(struct srv_storage *st, const char *table,
                    const char *column, struct fld_err *err);
/* How many rows table holds. */
int srv_pg_count(struct srv_storage *st, const char *table, int64_t *n,
                 struct fld_err *err);
#endif

#endif
