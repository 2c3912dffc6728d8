/*
 * db.h - the SQLite plumbing both stores share, the device's (store.c) and
 * the server's (server-stub/storage_sqlite.c): opening a file only when it
 * is a database of the expected kind, schema migrations numbered by PRAGMA
 * user_version from SQL files compiled into the program, SQLite's result
 * codes turned into ours in one place, and the statement table.
 *
 * Which file is which. Every database is stamped with PRAGMA
 * application_id, one constant per kind (FLD_DB_APP_*, docs/FORMATS.md),
 * and numbered by PRAGMA user_version. Opening reads both before anything
 * else and refuses, writing nothing, a file stamped as another kind, an
 * unrelated SQLite file and one made by a newer program. A file of the
 * previous release (user_version > 0, application_id 0) is ours when its
 * tables are exactly those our migrations made at that version; it is
 * stamped on first open. A new or empty file is stamped when it is created.
 *
 * A store describes its statements as a table of SQL texts indexed by its
 * own enum (in its struct fld_db_kind). Each statement is prepared on first
 * use and cached on the handle (SQLITE_PREPARE_PERSISTENT), bound by the
 * caller, reset after use by the helpers below, and finalised by
 * fld_db_close(). Every query is therefore a bound prepared statement, and
 * the whole vocabulary of a store reads in one place, its table.
 *
 * A statement borrowed from the handle is in use until it is reset: a
 * helper that steps it resets it before returning, except fld_db_row(),
 * whose caller reads the row and then calls fld_db_reset().
 */
#ifndef FLD_DB_H
#define FLD_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "embedded.h"
#include "err.h"
#include "version.h"

/* PRAGMA application_id of each kind of database: four ASCII letters, so
 * that `file` and a hex dump name them ("FLDd" at byte 68 of the file). */
#define FLD_DB_APP_DEVICE 0x464c4464 /* "FLDd": a device store (field.db) */
#define FLD_DB_APP_SERVER 0x464c4473 /* "FLDs": a field-server database */

/* What a store tells fld_db_open() about its kind of database. */
struct fld_db_kind {
    const char *name;       /* "field device store", as in "not a ..." */
    const char *program;    /* to upgrade when a file is newer ("field") */
    int32_t application_id; /* FLD_DB_APP_* */
    const struct fld_embedded *files; /* where the migrations are */
    const char *const *migrations;    /* [i] takes user_version i to i + 1 */
    size_t n_migrations;
    const char *const *sql; /* the statement table: sql[id] */
    size_t n_stmts;
    int busy_ms;         /* how long a locked file is waited for */
    int open_flags;      /* more SQLITE_OPEN_* flags (NOMUTEX) */
    const char *missing; /* added to "no such database" (a hint) */
};

/* How fld_db_open() treats a missing or empty file. */
enum {
    FLD_DB_CREATE = 1,     /* create a missing file (and make it a database) */
    FLD_DB_INIT_EMPTY = 2, /* make an existing empty file a database */
    /* Open for reading only, writing nothing (no journal mode, stamp or
     * migration): for a file or directory that cannot be written. A write
     * then fails with a message saying the directory is read-only. */
    FLD_DB_READONLY = 4
};

/* A database handle with its statement table. The fields are read by the
 * stores (db for sqlite3_changes() and the like, path for messages); only
 * db.c writes them. */
struct fld_db {
    sqlite3 *db;
    char *path;
    const struct fld_db_kind *kind;
    sqlite3_stmt **stmt; /* kind->n_stmts, each NULL until first used */
};

/*
 * Open the database of this kind at path (kind must outlive the handle):
 * check what the file is, then WAL mode, synchronous=FULL, foreign keys,
 * the stamp and the migrations it lacks. Without FLD_DB_CREATE a missing
 * file is FLD_NOTFOUND; without FLD_DB_INIT_EMPTY (or FLD_DB_CREATE) an
 * empty one is refused. FLD_ECORRUPT for a file that is not of this kind
 * ("<path>: not a <name> (...)") or is damaged, FLD_EDB for one made by a
 * newer program (the message names it and its version), FLD_EBUSY when
 * locked. Freed with fld_db_close().
 */
int fld_db_open(const char *path, const struct fld_db_kind *kind, int mode,
                struct fld_db **out, struct fld_err *err);
/* Finalise every statement, roll back an open transaction, close the
 * database and free the handle. d may be NULL. */
void fld_db_close(struct fld_db *d);

/* BEGIN IMMEDIATE: a second writer waits for the busy timeout, then gets
 * FLD_EBUSY. On a handle opened FLD_DB_READONLY: FLD_EIO, "the data
 * directory DIR is read-only: ...". */
int fld_db_begin(struct fld_db *d, struct fld_err *err);
/* COMMIT; on failure the transaction is rolled back. */
int fld_db_commit(struct fld_db *d, struct fld_err *err);
/* Roll back an open transaction; harmless when none is open. */
void fld_db_rollback(struct fld_db *d);

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

/* ---- statements --------------------------------------------------------- */

/* Statement id of the table, prepared on first use, in *s (NULL on
 * failure). Borrowed from the handle; see above for when to reset it. */
int fld_db_stmt(struct fld_db *d, int id, sqlite3_stmt **s,
                struct fld_err *err);
/* Reset s and clear its bindings, so that it can be used again. */
void fld_db_reset(sqlite3_stmt *s);

/* Step s, which returns no rows, and reset it. */
int fld_db_done(struct fld_db *d, sqlite3_stmt *s, const char *what,
                struct fld_err *err);
/*
 * Step s to its first row: FLD_OK with the row ready to read (the caller
 * then calls fld_db_reset()), FLD_NOTFOUND when there is none, another code
 * when stepping failed; s is reset in both of these cases.
 */
int fld_db_row(struct fld_db *d, sqlite3_stmt *s, const char *what,
               struct fld_err *err);

/* A row reader: FLD_OK to go on, anything else stops the walk. */
typedef int (*fld_db_row_fn)(void *ctx, sqlite3_stmt *s);
/*
 * Hand every row of the bound statement s to fn, stop at the first result
 * that is not FLD_OK and return it, map SQLite's failure (as what), and
 * reset s in every case.
 */
int fld_db_walk(struct fld_db *d, sqlite3_stmt *s, fld_db_row_fn fn, void *ctx,
                const char *what, struct fld_err *err);

/* Run statement id with texts a and b bound to ?1 and ?2 (NULL binds
 * NULL, and a statement with fewer parameters ignores the rest); no rows. */
int fld_db_run(struct fld_db *d, int id, const char *a, const char *b,
               const char *what, struct fld_err *err);
/*
 * Statement id bound as fld_db_run() binds, stepped to its first row as
 * fld_db_row() steps: on FLD_OK *s holds the row, to be reset once read.
 */
int fld_db_lookup(struct fld_db *d, int id, const char *a, const char *b,
                  sqlite3_stmt **s, const char *what, struct fld_err *err);
/* Whether statement id, bound as fld_db_run() binds, returns a row. */
int fld_db_exists(struct fld_db *d, int id, const char *a, const char *b,
                  bool *found, const char *what, struct fld_err *err);
/*
 * The first column of every row of statement id bound to a, as new strings
 * in a new array (*out, *n; freed with fld_db_strv_free()); a NULL column
 * is an empty string. Nothing is returned on failure.
 */
int fld_db_texts(struct fld_db *d, int id, const char *a, char ***out,
                 size_t *n, const char *what, struct fld_err *err);
void fld_db_strv_free(char **v, size_t n);

/* Column 0 of the one row statement id bound to a returns, as a new
 * string (free(); "" for NULL); FLD_NOTFOUND when there is no row. */
int fld_db_get_text(struct fld_db *d, int id, const char *a, char **out,
                    const char *what, struct fld_err *err);
/* The n first columns of the one row statement id (bound to a as
 * fld_db_run() binds) returns, into out[0..n-1]; zeros when it fails. */
int fld_db_int64s(struct fld_db *d, int id, const char *a, int64_t *out,
                  size_t n, const char *what, struct fld_err *err);

/*
 * The look-up by prefix both stores offer (record ids, device keys):
 * statement id bound to prefix returns at most two rows of one text.
 * *n is how many rows came (0, 1 or 2) and out (size bytes) receives the
 * first; the caller words "none" and "several".
 */
int fld_db_prefix(struct fld_db *d, int id, const char *prefix, char *out,
                  size_t size, int *n, const char *what, struct fld_err *err);

/* ---- versions ------------------------------------------------------------
 *
 * Both stores keep a version the same way: its signed bytes and the fields
 * of its body repeated as columns for indexing, and the derived parents and
 * heads tables updated in the same transaction.
 */

/* The columns fld_db_bind_version() binds to ?1 .. ?13 of an INSERT INTO
 * versions; the store's own columns follow from ?14. */
#define FLD_DB_VERSION_COLUMNS                                                 \
    "hash, record, author, dseq, prev, hlc_ms, hlc_count, template_id, "       \
    "template_hash, subject, status, body, sig"
#define FLD_DB_VERSION_PARAMS                                                  \
    "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13"
/* Bind v (which must outlive the statement's use) to ?1 .. ?13. */
void fld_db_bind_version(sqlite3_stmt *s, const struct fld_version *v);

/* The statements, the same text in both tables, that keep parent edges
 * (keyed by the child's row: schema/field-009.sql, server-007.sql) and
 * heads; the ids of struct fld_db_heads name them in a store's table. */
#define FLD_DB_SQL_PARENT_INSERT                                               \
    "INSERT OR IGNORE INTO parents (child_seq, parent) VALUES (?1, ?2)"
#define FLD_DB_SQL_HEAD_DELETE                                                 \
    "DELETE FROM heads WHERE record = ?1 AND hash = ?2"
#define FLD_DB_SQL_HEAD_INSERT                                                 \
    "INSERT OR IGNORE INTO heads (record, hash) VALUES (?1, ?2)"
struct fld_db_heads {
    /* has_child: whether a stored version of the record (?2) names the
     * version (?1) as a parent; FLD_DB_NO_CHILD when the store never
     * holds a child before its parents, so no look-up is needed */
    int parent_insert, head_delete, has_child, head_insert;
};
#define FLD_DB_NO_CHILD (-1)
/*
 * The version v was just inserted as row seq: record its parent edges,
 * take its parents off the record's heads, and make it a head unless a
 * stored version of its record already names it as a parent (a child
 * relayed before its parent). A parent of another record is an edge like
 * any other but never touches that record's heads.
 */
int fld_db_heads_add(struct fld_db *d, const struct fld_db_heads *ids,
                     const struct fld_version *v, int64_t seq,
                     struct fld_err *err);

/* ---- threshold revisions ---------------------------------------------------
 *
 * Both stores keep a threshold revision (thresholds.h) the same way too:
 * its signed bytes and the fields that choose it as columns.
 */

/* The columns fld_db_bind_thresholds() binds to ?1 .. ?8 of an INSERT
 * INTO threshold_revisions; the store's own columns follow from ?9. */
#define FLD_DB_THRESHOLDS_COLUMNS                                              \
    "hash, template_id, template_hash, revision, valid_from, author, body, "   \
    "sig"
#define FLD_DB_THRESHOLDS_PARAMS "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8"
struct fld_thresholds;
/* Bind r (which must outlive the statement's use) to ?1 .. ?8. */
void fld_db_bind_thresholds(sqlite3_stmt *s, const struct fld_thresholds *r);

/* ---- values ------------------------------------------------------------- */

/* Bind text v to parameter i (NULL binds NULL). The text must stay valid
 * until the statement is reset. */
void fld_db_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Column i as text; NULL when it is NULL. Borrowed until the next step or
 * reset of s. */
const char *fld_db_text(sqlite3_stmt *s, int i);
/* Column i as a new string (free()); NULL when it is NULL. */
char *fld_db_text_dup(sqlite3_stmt *s, int i);
/* Column i as new bytes (free()) followed by a NUL that *len leaves out. */
uint8_t *fld_db_blob_dup(sqlite3_stmt *s, int i, size_t *len);

#endif
