/*
 * db.c - SQLite result codes and schema migrations, shared by the device
 * store and the server's storage (see db.h).
 */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int fld_db_map(sqlite3 *db, int rc, const char *what, struct fld_err *err)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

    /* SQLite reports a full disk during some writes as a plain I/O error;
     * the operating system's errno says what it was. */
    if (db &&
        (sqlite3_system_errno(db) == ENOSPC ||
         sqlite3_system_errno(db) == EDQUOT) &&
        ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL ||
         (rc & 0xff) == SQLITE_CANTOPEN))
        rc = SQLITE_FULL;
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return FLD_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return fld_err_set(err, FLD_EBUSY,
                           "%s: the database is locked by another process",
                           what);
    case SQLITE_FULL:
        return fld_err_set(err, FLD_EFULL, "%s: the disk is full", what);
    case SQLITE_CONSTRAINT:
        /* a key stored twice: "already have it", not a failure */
        if (rc == SQLITE_CONSTRAINT_UNIQUE ||
            rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return fld_err_set(err, FLD_EXISTS, "%s: already stored", what);
        return fld_err_set(err, FLD_EDB, "%s: %s", what, msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return fld_err_set(err, FLD_ECORRUPT, "%s: %s", what, msg);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        if (rc == SQLITE_IOERR_WRITE || rc == SQLITE_IOERR_FSYNC)
            return fld_err_set(err, FLD_EIO, "%s: write failed: %s", what, msg);
        return fld_err_set(err, FLD_EIO, "%s: %s", what, msg);
    default:
        return fld_err_set(err, FLD_EDB, "%s: %s", what, msg);
    }
}

int fld_db_exec(sqlite3 *db, const char *sql, const char *what,
                struct fld_err *err)
{
    int r = sqlite3_exec(db, sql, NULL, NULL, NULL);

    return r == SQLITE_OK ? FLD_OK : fld_db_map(db, r, what, err);
}

int fld_db_user_version(sqlite3 *db, int64_t *out, struct fld_err *err)
{
    sqlite3_stmt *s;
    int r = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);

    *out = -1;
    if (r != SQLITE_OK)
        return fld_db_map(db, r, "open", err);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return r == SQLITE_ROW ? FLD_OK : fld_db_map(db, r, "open", err);
}

static const struct fld_embedded *find(const struct fld_embedded *files,
                                       const char *name)
{
    for (; files->name != NULL; files++)
        if (strcmp(files->name, name) == 0)
            return files;
    return NULL;
}

int fld_db_migrate(sqlite3 *db, const char *path, const char *program,
                   const struct fld_embedded *files, const char *const *names,
                   size_t n_names, struct fld_err *err)
{
    int64_t have;
    size_t i;
    int rc;

    if ((rc = fld_db_user_version(db, &have, err)) != FLD_OK)
        return rc;
    if (have > (int64_t)n_names)
        return fld_err_set(
            err, FLD_EDB,
            "%s: database schema version %lld is newer than this "
            "program's (%zu); upgrade %s",
            path, (long long)have, n_names, program);
    for (i = (size_t)have; i < n_names; i++) {
        const struct fld_embedded *e = find(files, names[i]);
        char set[64];

        if (e == NULL)
            return fld_err_set(err, FLD_EDB, "schema %s not built in",
                               names[i]);
        if ((rc = fld_db_exec(db, "BEGIN IMMEDIATE", "migrate", err)) != FLD_OK)
            return rc;
        snprintf(set, sizeof set, "PRAGMA user_version = %zu", i + 1);
        if ((rc = fld_db_exec(db, (const char *)e->data, names[i], err)) !=
                FLD_OK ||
            (rc = fld_db_exec(db, set, "migrate", err)) != FLD_OK ||
            (rc = fld_db_exec(db, "COMMIT", "migrate", err)) != FLD_OK) {
            fld_db_exec(db, "ROLLBACK", "migrate", NULL);
            return rc;
        }
    }
    return FLD_OK;
}
