/*
 * db.c - the SQLite plumbing shared by the device store and the server's
 * storage (see db.h): opening and closing, transactions, result codes,
 * schema migrations, the cached statement table and the few ways a
 * statement is run (no rows, one row, every row).
 *
 * Every store function is then three steps: take its statement from the
 * table, bind its values, run it with one of the helpers here. What differs
 * between the stores (their SQL, the names of their columns, the words of
 * their messages) stays in the stores.
 */
#include "db.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "thresholds.h"

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
    /* Past the process's file size limit (ulimit -f) a write fails with
     * EFBIG once SIGXFSZ is ignored (field/main.c does). */
    if (db && sqlite3_system_errno(db) == EFBIG && (rc & 0xff) == SQLITE_IOERR)
        return fld_err_set(err, FLD_EIO,
                           "%s: write failed: the file size limit (ulimit -f) "
                           "was reached",
                           what);
    if ((rc & 0xff) == SQLITE_READONLY)
        return fld_err_set(err, FLD_EIO,
                           "%s: the database cannot be written (read-only "
                           "file or directory)",
                           what);
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

/* ---- what a file is ------------------------------------------------------
 *
 * Before a store writes to a file it must know the file is its own: running
 * the device's migrations over a server database, or stamping somebody's
 * unrelated SQLite file, would damage a file we did not make. Everything
 * here only reads. The cost on every open is three small reads of the
 * header and the schema table; only a file without a stamp (once, before
 * it gets one) also has our migrations run in a database in memory, to
 * learn which tables they make.
 */

/* The integer a PRAGMA returns (user_version, application_id). */
static int pragma_int(sqlite3 *db, const char *sql, int64_t *out,
                      struct fld_err *err)
{
    sqlite3_stmt *s;
    int r = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

    *out = -1;
    if (r != SQLITE_OK)
        return fld_db_map(db, r, "open", err);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return r == SQLITE_ROW ? FLD_OK : fld_db_map(db, r, "open", err);
}

/*
 * The names of the file's tables (not SQLite's own), sorted, as one string
 * " a b c " (a space before and after each), and how many schema objects of
 * any kind it has. Tables only are compared: they are what a migration
 * makes, and an index added by hand must not make a file foreign.
 */
static int table_names(sqlite3 *db, struct fld_buf *out, int64_t *n_objects,
                       struct fld_err *err)
{
    sqlite3_stmt *s;
    int r = sqlite3_prepare_v2(
        db,
        "SELECT name, type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE "
        "'\\' FROM sqlite_schema ORDER BY name",
        -1, &s, NULL);

    *n_objects = 0;
    fld_buf_puts(out, " ");
    if (r != SQLITE_OK)
        return fld_db_map(db, r, "open", err);
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        (*n_objects)++;
        if (sqlite3_column_int(s, 1) != 0)
            fld_buf_printf(out, "%s ", (const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return r == SQLITE_DONE ? FLD_OK : fld_db_map(db, r, "open", err);
}

static const struct fld_embedded *find(const struct fld_embedded *files,
                                       const char *name)
{
    for (; files->name != NULL; files++)
        if (strcmp(files->name, name) == 0)
            return files;
    return NULL;
}

/* Run a built-in schema file's statements. */
static int exec_embedded(sqlite3 *db, const struct fld_embedded *e,
                         struct fld_err *err)
{
    char *sql = (char *)fld_embedded_inflate(e);
    int rc = fld_db_exec(db, sql, e->name, err);

    free(sql);
    return rc;
}

/* The tables our migrations make up to schema version n, as table_names()
 * words them: made in a database in memory, so that the answer is the
 * schema files' own. */
static int tables_at(const struct fld_db_kind *k, size_t n, struct fld_buf *out,
                     struct fld_err *err)
{
    sqlite3 *mem = NULL;
    int64_t n_objects;
    size_t i;
    int rc = FLD_OK;

    if (sqlite3_open(":memory:", &mem) != SQLITE_OK) {
        sqlite3_close(mem);
        return fld_err_set(err, FLD_EDB, "open: out of memory");
    }
    for (i = 0; i < n && rc == FLD_OK; i++) {
        const struct fld_embedded *e = find(k->files, k->migrations[i]);

        if (e == NULL)
            rc = fld_err_set(err, FLD_EDB, "schema %s not built in",
                             k->migrations[i]);
        else
            rc = exec_embedded(mem, e, err);
    }
    if (rc == FLD_OK)
        rc = table_names(mem, out, &n_objects, err);
    sqlite3_close(mem);
    return rc;
}

/* Whether every name of the list want is in the list have (both as
 * table_names() words them). */
static bool has_all(const char *have, const char *want)
{
    const char *p = want, *end;
    char word[160];

    while ((end = strchr(p + 1, ' ')) != NULL) {
        snprintf(word, sizeof word, "%.*s", (int)(end - p + 1), p);
        if (strstr(have, word) == NULL)
            return false;
        p = end;
    }
    return true;
}

static int other_tables(const struct fld_db *d, struct fld_err *err)
{
    return fld_err_set(err, FLD_ECORRUPT, "%s: not a %s (it has other tables)",
                       d->path, d->kind->name);
}

/* A file stamped as something else: say what, when it is one of ours. */
static int foreign(const struct fld_db *d, int64_t app, struct fld_err *err)
{
    const char *other = NULL;

    if (app == FLD_DB_APP_DEVICE)
        other = "a field device store";
    if (app == FLD_DB_APP_SERVER)
        other = "a field-server database";
    if (other != NULL)
        return fld_err_set(err, FLD_ECORRUPT, "%s: not a %s (it is %s)",
                           d->path, d->kind->name, other);
    return fld_err_set(err, FLD_ECORRUPT,
                       "%s: not a %s (its application_id is 0x%08lx)", d->path,
                       d->kind->name, (unsigned long)(uint32_t)app);
}

/*
 * A file newer than this program. One that carries no stamp is a newer
 * file of ours only if it still has all the tables we know (or none: the
 * version is then all there is to go by).
 */
static int newer(const struct fld_db *d, int64_t version, bool check_tables,
                 const char *have, struct fld_err *err)
{
    const struct fld_db_kind *k = d->kind;
    struct fld_buf want = FLD_BUF_INIT;
    int rc = FLD_OK;

    if (check_tables) {
        rc = tables_at(k, k->n_migrations, &want, err);
        if (rc == FLD_OK && !has_all(have, fld_buf_str(&want)))
            rc = other_tables(d, err);
        fld_buf_free(&want);
    }
    if (rc != FLD_OK)
        return rc;
    return fld_err_set(err, FLD_EDB,
                       "%s: database schema version %lld is newer than this "
                       "program's (%zu); upgrade %s",
                       d->path, (long long)version, k->n_migrations,
                       k->program);
}

/*
 * A file without a stamp is ours when it is empty (and may be made a
 * database) or when it is the previous release's: a schema version we know
 * and exactly the tables our migrations made at that version.
 */
static int unstamped(const struct fld_db *d, int mode, int64_t version,
                     const char *have, int64_t n_objects, struct fld_err *err)
{
    struct fld_buf want = FLD_BUF_INIT;
    int rc;

    if (version == 0 && n_objects > 0)
        return other_tables(d, err);
    if (version == 0 && (mode & (FLD_DB_CREATE | FLD_DB_INIT_EMPTY)) == 0)
        return fld_err_set(err, FLD_ECORRUPT, "%s: not a %s (it is empty)",
                           d->path, d->kind->name);
    if (version == 0)
        return FLD_OK;
    rc = tables_at(d->kind, (size_t)version, &want, err);
    if (rc == FLD_OK && strcmp(have, fld_buf_str(&want)) != 0)
        rc = other_tables(d, err);
    fld_buf_free(&want);
    return rc;
}

/*
 * Decide whether the file is a database of d's kind, reading only. *stamp
 * is set when it is ours but carries no application_id yet (new, empty, or
 * made by the previous release).
 */
static int check_kind(struct fld_db *d, int mode, bool *stamp,
                      struct fld_err *err)
{
    const struct fld_db_kind *k = d->kind;
    struct fld_buf have = FLD_BUF_INIT;
    int64_t app, version, n_objects;
    int rc;

    *stamp = false;
    rc = pragma_int(d->db, "PRAGMA application_id", &app, err);
    if (rc == FLD_OK)
        rc = pragma_int(d->db, "PRAGMA user_version", &version, err);
    if (rc == FLD_OK)
        rc = table_names(d->db, &have, &n_objects, err);
    if (rc != FLD_OK) /* a damaged or foreign file, in SQLite's words */
        goto done;
    if (app != 0 && app != k->application_id)
        rc = foreign(d, app, err);
    else if (version > (int64_t)k->n_migrations)
        rc = newer(d, version, app == 0 && n_objects > 0, fld_buf_str(&have),
                   err);
    else if (app == 0) {
        rc = unstamped(d, mode, version, fld_buf_str(&have), n_objects, err);
        *stamp = rc == FLD_OK;
    }
done:
    fld_buf_free(&have);
    return rc;
}

/* ---- opening ------------------------------------------------------------- */

/*
 * Bring the database up to the kind's schema version: migrations[i] takes
 * user_version i to i + 1, each in its own transaction, so that a failure
 * leaves the file at the last version that was complete.
 */
static int migrate(struct fld_db *d, struct fld_err *err)
{
    const struct fld_db_kind *k = d->kind;
    int64_t have;
    size_t i;
    int rc;

    if ((rc = pragma_int(d->db, "PRAGMA user_version", &have, err)) != FLD_OK)
        return rc;
    for (i = (size_t)have; i < k->n_migrations; i++) {
        const struct fld_embedded *e = find(k->files, k->migrations[i]);
        char set[64];

        if (e == NULL)
            return fld_err_set(err, FLD_EDB, "schema %s not built in",
                               k->migrations[i]);
        if ((rc = fld_db_exec(d->db, "BEGIN IMMEDIATE", "migrate", err)) !=
            FLD_OK)
            return rc;
        snprintf(set, sizeof set, "PRAGMA user_version = %zu", i + 1);
        rc = exec_embedded(d->db, e, err);
        if (rc == FLD_OK)
            rc = fld_db_exec(d->db, set, "migrate", err);
        if (rc == FLD_OK)
            rc = fld_db_exec(d->db, "COMMIT", "migrate", err);
        if (rc != FLD_OK) {
            fld_db_rollback(d);
            return rc;
        }
    }
    return FLD_OK;
}

/* Write the kind's application_id into the file's header (a transaction
 * of its own: it changes nothing else). */
static int stamp(struct fld_db *d, struct fld_err *err)
{
    char set[64];
    int rc;

    snprintf(set, sizeof set, "PRAGMA application_id = %ld",
             (long)d->kind->application_id);
    if ((rc = fld_db_begin(d, err)) != FLD_OK)
        return rc;
    if ((rc = fld_db_exec(d->db, set, "open", err)) != FLD_OK) {
        fld_db_rollback(d);
        return rc;
    }
    return fld_db_commit(d, err);
}

/* A version a person (or a device) was told is saved must survive a power
 * cut: WAL with synchronous=FULL; WAL also lets readers go on while the one
 * writer writes. */
static int configure(struct fld_db *d, struct fld_err *err)
{
    int rc = fld_db_exec(d->db, "PRAGMA journal_mode = WAL", "open", err);

    if (rc == FLD_OK)
        rc = fld_db_exec(d->db, "PRAGMA synchronous = FULL", "open", err);
    if (rc == FLD_OK)
        rc = fld_db_exec(d->db, "PRAGMA foreign_keys = ON", "open", err);
    return rc;
}

/*
 * The URI that opens path for reading only. A WAL database normally needs
 * its -shm file, which cannot be created in a read-only directory; when
 * there is no -wal file either, nothing is in flight and the file is
 * opened "immutable" (no locks, no -shm). With a -wal file, its content
 * must be read, so only mode=ro is asked for. The path is percent-encoded
 * where a URI would misread it.
 */
static char *readonly_uri(const char *path)
{
    struct fld_buf b = FLD_BUF_INIT;
    char *wal = fld_xasprintf("%s-wal", path);
    struct stat sb;
    const char *p;

    fld_buf_puts(&b, "file:");
    for (p = path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#')
            fld_buf_printf(&b, "%%%02X", (unsigned)(unsigned char)*p);
        else
            fld_buf_putc(&b, *p);
    }
    fld_buf_puts(&b, stat(wal, &sb) == 0 ? "?mode=ro" : "?mode=ro&immutable=1");
    free(wal);
    return fld_buf_detach(&b, NULL);
}

/* Open a database that cannot be written: nothing is configured, stamped
 * or migrated, so a file that would need it is refused. */
static int open_readonly(struct fld_db *d, struct fld_err *err)
{
    char *uri = readonly_uri(d->path);
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOFOLLOW |
                d->kind->open_flags;
    bool is_unstamped;
    int64_t version;
    int r, rc;

    r = sqlite3_open_v2(uri, &d->db, flags, NULL);
    free(uri);
    if (r != SQLITE_OK)
        return fld_db_map(d->db, r, d->path, err);
    sqlite3_extended_result_codes(d->db, 1);
    if ((rc = check_kind(d, 0, &is_unstamped, err)) != FLD_OK)
        return rc;
    rc = pragma_int(d->db, "PRAGMA user_version", &version, err);
    if (rc == FLD_OK &&
        (is_unstamped || version < (int64_t)d->kind->n_migrations))
        rc = fld_err_set(err, FLD_EIO,
                         "%s must be upgraded by this version of %s, but it "
                         "cannot be written (read-only)",
                         d->path, d->kind->program);
    if (rc == FLD_OK)
        rc = fld_db_exec(d->db, "PRAGMA foreign_keys = ON", "open", err);
    return rc;
}

/*
 * A write statement that may fail half-way inside a transaction (one with
 * a trigger, a foreign key or a unique index: every insert of a version)
 * keeps the original of each page it changes in a statement journal, to
 * undo only itself. SQLite keeps that journal in memory up to 64 KiB and
 * then in a temporary file for the rest of the transaction: a device's
 * pull of 4,000 versions wrote 30 MB there, two fifths of all it wrote,
 * for nothing that must survive. 124 KiB keeps one statement's journal
 * of ours in memory (an insert of a version changes a few dozen pages; a
 * pull writes no more with 124 KiB than it did with 512) and bounds what
 * a large statement may hold, allocated as one chunk of this size for
 * every statement that journals. It must stay below 128 KiB: when a
 * journal outgrows it, SQLite writes the chunk to a temporary file in one
 * call, and the unix VFS of SQLite 3.40 writes at most 128 KiB a call,
 * so a larger chunk failed as "the disk is full": with 512 KiB, the
 * migrations that drop an index or a table (field-009.sql, server-006.sql)
 * could not upgrade a store of 12,000 versions (test_db has the case).
 * It must be set before SQLite is first used, hence
 * once, before the first database is opened; where SQLite was already in
 * use (a test's own connection), the default stays.
 */
#define STMT_JOURNAL_IN_MEMORY (124 << 10)

/*
 * And no bulk allocation for a page cache when it is created. SQLite
 * gives every new cache 20 pages at once (about 84 kB), and every query
 * that builds a temporary b-tree (a recursive walk of the unit tree, an
 * IN over a subquery) creates one and frees it: a server judging the
 * scope of each pushed version made and freed a few of those per
 * version, which glibc returned to the system and took back as fresh,
 * faulting pages each time. perf of a freshly started field-server
 * taking a push of 100 versions: over a third of its time in page faults
 * under those allocations; with the pages allocated one by one as they
 * are used, its processor time went from 160 to 80 ms.
 */
static void configure_library(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STMT_JOURNAL_IN_MEMORY);
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

int fld_db_open(const char *path, const struct fld_db_kind *kind, int mode,
                struct fld_db **out, struct fld_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | kind->open_flags;
    struct fld_db *d;
    struct stat sb;
    bool is_unstamped;
    int r, rc;

    *out = NULL;
    pthread_once(&once, configure_library);
    if ((mode & FLD_DB_CREATE) == 0 && stat(path, &sb) != 0)
        return fld_err_set(err, FLD_NOTFOUND, "%s: no such database%s", path,
                           kind->missing ? kind->missing : "");
    if (mode & FLD_DB_CREATE)
        flags |= SQLITE_OPEN_CREATE;
    d = fld_xcalloc(1, sizeof *d);
    d->path = fld_xstrdup(path);
    d->kind = kind;
    d->stmt = fld_xcalloc(kind->n_stmts, sizeof *d->stmt);
    if (mode & FLD_DB_READONLY) {
        if ((rc = open_readonly(d, err)) != FLD_OK)
            goto fail;
        *out = d;
        return FLD_OK;
    }
    r = sqlite3_open_v2(path, &d->db, flags, NULL);
    if (r != SQLITE_OK) {
        rc = fld_db_map(d->db, r, path, err);
        goto fail;
    }
    sqlite3_busy_timeout(d->db, kind->busy_ms);
    sqlite3_extended_result_codes(d->db, 1);
    if ((rc = check_kind(d, mode, &is_unstamped, err)) != FLD_OK)
        goto fail;
    if ((rc = configure(d, err)) != FLD_OK)
        goto fail;
    if (is_unstamped)
        rc = stamp(d, err);
    if (rc == FLD_OK)
        rc = migrate(d, err);
    if (rc != FLD_OK)
        goto fail;
    *out = d;
    return FLD_OK;
fail:
    /* SQLite reports a file that is no database as such on first read */
    if (rc == FLD_EDB && err && strstr(err->msg, "not a database"))
        rc = fld_err_set(err, FLD_ECORRUPT, "%s: not a %s", path, kind->name);
    fld_db_close(d);
    return rc;
}

void fld_db_close(struct fld_db *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; d->stmt != NULL && i < d->kind->n_stmts; i++)
        sqlite3_finalize(d->stmt[i]);
    if (d->db != NULL && sqlite3_get_autocommit(d->db) == 0)
        sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(d->db);
    free(d->stmt);
    free(d->path);
    free(d);
}

int fld_db_begin(struct fld_db *d, struct fld_err *err)
{
    if (sqlite3_db_readonly(d->db, "main") == 1) {
        const char *slash = strrchr(d->path, '/');
        int n = slash == NULL ? 1 : (int)(slash - d->path);

        return fld_err_set(err, FLD_EIO,
                           "the data directory %.*s is read-only: this "
                           "command writes to it (read-only commands work)",
                           n, slash == NULL ? "." : d->path);
    }
    return fld_db_exec(d->db, "BEGIN IMMEDIATE", "begin", err);
}

int fld_db_commit(struct fld_db *d, struct fld_err *err)
{
    int rc = fld_db_exec(d->db, "COMMIT", "commit", err);

    if (rc != FLD_OK)
        fld_db_rollback(d);
    return rc;
}

void fld_db_rollback(struct fld_db *d)
{
    if (sqlite3_get_autocommit(d->db) == 0)
        sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- statements ---------------------------------------------------------- */

int fld_db_stmt(struct fld_db *d, int id, sqlite3_stmt **s, struct fld_err *err)
{
    int r;

    *s = NULL;
    if (d->stmt[id] == NULL) {
        /* PERSISTENT: the statement lives as long as the handle, so SQLite
         * keeps it out of its short-lived lookaside memory. */
        r = sqlite3_prepare_v3(d->db, d->kind->sql[id], -1,
                               SQLITE_PREPARE_PERSISTENT, &d->stmt[id], NULL);
        if (r != SQLITE_OK)
            return fld_db_map(d->db, r, "prepare", err);
    }
    *s = d->stmt[id];
    return FLD_OK;
}

void fld_db_reset(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

int fld_db_done(struct fld_db *d, sqlite3_stmt *s, const char *what,
                struct fld_err *err)
{
    int r = sqlite3_step(s);

    fld_db_reset(s);
    return r == SQLITE_DONE ? FLD_OK : fld_db_map(d->db, r, what, err);
}

int fld_db_row(struct fld_db *d, sqlite3_stmt *s, const char *what,
               struct fld_err *err)
{
    int r = sqlite3_step(s);

    if (r == SQLITE_ROW)
        return FLD_OK;
    fld_db_reset(s);
    if (r == SQLITE_DONE)
        return fld_err_set(err, FLD_NOTFOUND, "%s: not found", what);
    return fld_db_map(d->db, r, what, err);
}

int fld_db_walk(struct fld_db *d, sqlite3_stmt *s, fld_db_row_fn fn, void *ctx,
                const char *what, struct fld_err *err)
{
    int rc = FLD_OK, r = SQLITE_DONE;

    while (rc == FLD_OK) {
        r = sqlite3_step(s);
        if (r != SQLITE_ROW)
            break;
        rc = fn(ctx, s);
    }
    fld_db_reset(s);
    if (rc == FLD_OK && r != SQLITE_DONE)
        rc = fld_db_map(d->db, r, what, err);
    return rc;
}

/* Statement id with a and b bound to ?1 and ?2. */
static int bind2(struct fld_db *d, int id, const char *a, const char *b,
                 sqlite3_stmt **s, struct fld_err *err)
{
    int rc = fld_db_stmt(d, id, s, err);

    if (rc != FLD_OK)
        return rc;
    fld_db_bind_text(*s, 1, a);
    fld_db_bind_text(*s, 2, b);
    return FLD_OK;
}

int fld_db_run(struct fld_db *d, int id, const char *a, const char *b,
               const char *what, struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = bind2(d, id, a, b, &s, err)) != FLD_OK)
        return rc;
    return fld_db_done(d, s, what, err);
}

int fld_db_lookup(struct fld_db *d, int id, const char *a, const char *b,
                  sqlite3_stmt **s, const char *what, struct fld_err *err)
{
    int rc;

    if ((rc = bind2(d, id, a, b, s, err)) != FLD_OK)
        return rc;
    return fld_db_row(d, *s, what, err);
}

int fld_db_exists(struct fld_db *d, int id, const char *a, const char *b,
                  bool *found, const char *what, struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    *found = false;
    rc = fld_db_lookup(d, id, a, b, &s, what, err);
    if (rc == FLD_NOTFOUND)
        return FLD_OK;
    if (rc != FLD_OK)
        return rc;
    fld_db_reset(s);
    *found = true;
    return FLD_OK;
}

int fld_db_get_text(struct fld_db *d, int id, const char *a, char **out,
                    const char *what, struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    *out = NULL;
    if ((rc = fld_db_lookup(d, id, a, NULL, &s, what, err)) != FLD_OK)
        return rc;
    *out = fld_xstrdup(fld_db_text(s, 0) ? fld_db_text(s, 0) : "");
    fld_db_reset(s);
    return FLD_OK;
}

int fld_db_int64s(struct fld_db *d, int id, const char *a, int64_t *out,
                  size_t n, const char *what, struct fld_err *err)
{
    sqlite3_stmt *s;
    size_t i;
    int rc;

    memset(out, 0, n * sizeof *out);
    if ((rc = fld_db_lookup(d, id, a, NULL, &s, what, err)) != FLD_OK)
        return rc;
    for (i = 0; i < n; i++)
        out[i] = sqlite3_column_int64(s, (int)i);
    fld_db_reset(s);
    return FLD_OK;
}

struct texts {
    char **v;
    size_t n, cap;
};

static int add_text(void *ctx, sqlite3_stmt *s)
{
    struct texts *t = ctx;
    const char *text = fld_db_text(s, 0);

    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 8;
        t->v = fld_xreallocarray(t->v, t->cap, sizeof *t->v);
    }
    t->v[t->n++] = fld_xstrdup(text ? text : "");
    return FLD_OK;
}

int fld_db_texts(struct fld_db *d, int id, const char *a, char ***out,
                 size_t *n, const char *what, struct fld_err *err)
{
    struct texts t = {NULL, 0, 0};
    sqlite3_stmt *s;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = fld_db_stmt(d, id, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, a);
    if ((rc = fld_db_walk(d, s, add_text, &t, what, err)) != FLD_OK) {
        fld_db_strv_free(t.v, t.n);
        return rc;
    }
    *out = t.v;
    *n = t.n;
    return FLD_OK;
}

void fld_db_strv_free(char **v, size_t n)
{
    size_t i;

    if (v == NULL)
        return;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

struct prefix {
    char *out;
    size_t size;
    int n;
};

static int add_match(void *ctx, sqlite3_stmt *s)
{
    struct prefix *p = ctx;

    if (p->n++ == 0)
        snprintf(p->out, p->size, "%s",
                 fld_db_text(s, 0) ? fld_db_text(s, 0) : "");
    return FLD_OK;
}

int fld_db_prefix(struct fld_db *d, int id, const char *prefix, char *out,
                  size_t size, int *n, const char *what, struct fld_err *err)
{
    struct prefix p = {out, size, 0};
    sqlite3_stmt *s;
    int rc;

    *n = 0;
    out[0] = '\0';
    if ((rc = fld_db_stmt(d, id, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, prefix);
    rc = fld_db_walk(d, s, add_match, &p, what, err);
    *n = p.n;
    return rc;
}

/* ---- versions ---------------------------------------------------------- */

void fld_db_bind_version(sqlite3_stmt *s, const struct fld_version *v)
{
    fld_db_bind_text(s, 1, v->hash);
    fld_db_bind_text(s, 2, v->record);
    fld_db_bind_text(s, 3, v->author);
    sqlite3_bind_int64(s, 4, v->dseq);
    fld_db_bind_text(s, 5, v->prev);
    sqlite3_bind_int64(s, 6, v->hlc.ms);
    sqlite3_bind_int64(s, 7, v->hlc.count);
    fld_db_bind_text(s, 8, v->template_id);
    fld_db_bind_text(s, 9, v->template_hash);
    fld_db_bind_text(s, 10, v->subject);
    fld_db_bind_text(s, 11, v->status);
    sqlite3_bind_blob(s, 12, v->body, (int)v->body_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 13, v->sig, FLD_SIG_LEN, SQLITE_STATIC);
}

void fld_db_bind_thresholds(sqlite3_stmt *s, const struct fld_thresholds *r)
{
    fld_db_bind_text(s, 1, r->hash);
    fld_db_bind_text(s, 2, r->template_id);
    fld_db_bind_text(s, 3, r->template_hash);
    sqlite3_bind_int64(s, 4, r->revision);
    fld_db_bind_text(s, 5, r->valid_from);
    fld_db_bind_text(s, 6, r->author);
    sqlite3_bind_blob(s, 7, r->body, (int)r->body_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 8, r->sig, FLD_SIG_LEN, SQLITE_STATIC);
}

int fld_db_heads_add(struct fld_db *d, const struct fld_db_heads *ids,
                     const struct fld_version *v, int64_t seq,
                     struct fld_err *err)
{
    const char *what = "store version";
    bool found = false;
    sqlite3_stmt *s;
    size_t i;
    int rc = FLD_OK;

    for (i = 0; i < v->parents->n; i++) {
        const char *p = v->parents->items[i]->s;

        if ((rc = fld_db_stmt(d, ids->parent_insert, &s, err)) != FLD_OK)
            return rc;
        sqlite3_bind_int64(s, 1, seq);
        fld_db_bind_text(s, 2, p);
        if ((rc = fld_db_done(d, s, what, err)) != FLD_OK)
            return rc;
        rc = fld_db_run(d, ids->head_delete, v->record, p, what, err);
        if (rc != FLD_OK)
            return rc;
    }
    if (ids->has_child != FLD_DB_NO_CHILD)
        rc = fld_db_exists(d, ids->has_child, v->hash, v->record, &found,
                           "read", err);
    if (rc == FLD_OK && !found)
        rc = fld_db_run(d, ids->head_insert, v->record, v->hash, what, err);
    return rc;
}

/* ---- values -------------------------------------------------------------- */

void fld_db_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

const char *fld_db_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

char *fld_db_text_dup(sqlite3_stmt *s, int i)
{
    const char *t = fld_db_text(s, i);

    return t ? fld_xstrdup(t) : NULL;
}

uint8_t *fld_db_blob_dup(sqlite3_stmt *s, int i, size_t *len)
{
    /* blob before bytes: SQLite's documented order for a stable length */
    const void *p = sqlite3_column_blob(s, i);
    size_t n = (size_t)sqlite3_column_bytes(s, i);
    uint8_t *copy = fld_xmalloc(n + 1);

    if (n > 0)
        memcpy(copy, p, n);
    copy[n] = '\0';
    *len = n;
    return copy;
}
