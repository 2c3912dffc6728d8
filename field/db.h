/*
 * db.h - the SQLite conventions both stores share, the device's
 * (store.c) and the server's (server-stub/storage_sqlite.c): SQLite's
 * result codes turned into ours in one place, and schema migrations
 * numbered by PRAGMA user_version from SQL files compiled into the program.
 */
#ifndef FLD_DB_H
#define FLD_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "embedded.h"
#include "err.h"

/*
 * Map SQLite result rc (with db's message; db may be NULL) to a result
 * code, with "what: ..." in err: a locked file is FLD_EBUSY, a full disk
 * FLD_EFULL (also when SQLite reports it as an I/O error), a damaged or
 * foreign file FLD_ECORRUPT, a unique-key violation FLD_EXISTS ("already
 * have it"), other I/O FLD_EIO, anything else FLD_EDB. SQLITE_OK, _ROW and
 * _DONE are FLD_OK.
 */
int fld_db_map(sqlite3 *db, int rc, const char *what, struct fld_err *err);

/* Run SQL that returns no rows. */
int fld_db_exec(sqlite3 *db, const char *sql, const char *what,
                struct fld_err *err);

/* PRAGMA user_version. */
int fld_db_user_version(sqlite3 *db, int64_t *out, struct fld_err *err);

/*
 * Bring the database at path up to schema version n_names: names[i] (a
 * file of files, the table of compiled-in files) takes user_version i to
 * i + 1, each in its own transaction. A database newer than n_names is
 * refused with FLD_EDB naming program, which should be upgraded.
 */
int fld_db_migrate(sqlite3 *db, const char *path, const char *program,
                   const struct fld_embedded *files, const char *const *names,
                   size_t n_names, struct fld_err *err);

#endif
