/*
 * storage_sqlite.c - the SQLite backend of the server's storage (see
 * storage.h for the contract, schema/server.sql for the tables).
 *
 * As in the device store (field/store.c), every statement lives in the
 * table below, prepared once per handle, bound, reset after use; SQLite's
 * result codes become ours in field/db.c, with the device store's. The database
 * runs in WAL mode, so the server's readers never wait for its one writer, and
 * with synchronous=FULL: a version the server answered "stored" survives a
 * power cut.
 *
 * Scope is a tree walk done by SQLite: a device holds scope units, a unit
 * covers itself and everything below it through units.parent. The walks
 * are recursive CTEs with UNION (not UNION ALL), so a cycle that a bad
 * import could create ends instead of looping.
 */
#include "storage.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "embedded.h"
#include "hlc.h"

enum stmt_id {
    S_META_GET,
    S_META_SET,
    S_CODE_INSERT,
    S_CODE_USE,
    S_DEVICE_INSERT,
    S_SCOPE_INSERT,
    S_DEVICE_GET,
    S_SCOPE_OF,
    S_DEVICE_FIND,
    S_DEVICE_REVOKE,
    S_DEVICES,
    S_UNIT_PUT,
    S_UNIT_EXISTS,
    S_UNITS,
    S_IN_SCOPE,
    S_TEMPLATE_INSERT,
    S_TEMPLATE_GET,
    S_TEMPLATES,
    S_VERSION_STATE,
    S_VERSION_INSERT,
    S_PARENT_INSERT,
    S_HEAD_DELETE,
    S_HAS_CHILD,
    S_HEAD_INSERT,
    S_FORK,
    S_HAS_VERSION,
    S_MAX_SEQ,
    S_PULL,
    S_Q_INSERT,
    S_Q_WAIT_INSERT,
    S_Q_WAITERS,
    S_Q_WAIT_DELETE,
    S_Q_WAIT_COUNT,
    S_Q_GET,
    S_Q_EACH,
    S_Q_DELETE,
    S_Q_WAIT_DELETE_HASH,
    S_AUDIT_INSERT,
    S_AUDIT_EACH,
    S_ALARMS,
    S_COUNTS,
    S_RECORD_VERSIONS,
    N_STMTS
};

static const char *const sql_text[N_STMTS] = {
    [S_RECORD_VERSIONS] =
        "SELECT seq, body, sig FROM versions WHERE record = ?1 "
        "ORDER BY seq",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_CODE_INSERT] = "INSERT INTO enroll_codes (code_hash, inspector, role, "
                      "scope, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, "
                      "?5, ?6)",
    /* One statement both checks and spends the code, so two devices racing
     * with the same code cannot both enrol. */
    [S_CODE_USE] =
        "UPDATE enroll_codes SET used_ms = ?2, used_by = ?3 "
        "WHERE code_hash = ?1 AND used_ms IS NULL AND expires_ms > ?2 "
        "RETURNING inspector, role, scope, created_ms, expires_ms",
    [S_DEVICE_INSERT] = "INSERT INTO devices (pubkey, inspector, role, "
                        "enrolled_ms) VALUES (?1, ?2, ?3, ?4)",
    [S_SCOPE_INSERT] =
        "INSERT OR IGNORE INTO device_scope (device, unit) VALUES (?1, ?2)",
    [S_DEVICE_GET] = "SELECT inspector, role, enrolled_ms, revoked_ms "
                     "FROM devices WHERE pubkey = ?1",
    [S_SCOPE_OF] =
        "SELECT unit FROM device_scope WHERE device = ?1 ORDER BY unit",
    [S_DEVICE_FIND] = "SELECT pubkey FROM devices WHERE pubkey >= ?1 AND "
                      "pubkey < ?1 || 'g' LIMIT 2",
    [S_DEVICE_REVOKE] = "UPDATE devices SET revoked_ms = ?2 WHERE pubkey = ?1 "
                        "AND revoked_ms IS NULL",
    [S_DEVICES] = "SELECT pubkey, inspector, role, enrolled_ms, revoked_ms "
                  "FROM devices ORDER BY enrolled_ms, pubkey",
    [S_UNIT_PUT] = "INSERT INTO units (code, name, parent, level) "
                   "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (code) DO UPDATE SET "
                   "name = excluded.name, parent = excluded.parent, "
                   "level = excluded.level",
    [S_UNIT_EXISTS] = "SELECT 1 FROM units WHERE code = ?1",
    [S_UNITS] = "SELECT code, name, parent, level FROM units ORDER BY code",
    [S_IN_SCOPE] = "WITH RECURSIVE up(code) AS (SELECT ?2 UNION "
                   "  SELECT u.parent FROM units u JOIN up ON u.code = up.code "
                   "  WHERE u.parent IS NOT NULL) "
                   "SELECT 1 FROM device_scope s WHERE s.device = ?1 AND "
                   "s.unit IN (SELECT code FROM up) LIMIT 1",
    [S_TEMPLATE_INSERT] = "INSERT INTO templates (hash, id, version, body, "
                          "added_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_TEMPLATE_GET] = "SELECT body FROM templates WHERE hash = ?1",
    [S_TEMPLATES] = "SELECT hash, id, version, added_ms FROM templates "
                    "ORDER BY id, added_ms, hash",
    [S_VERSION_STATE] = "SELECT 1 FROM versions WHERE hash = ?1 UNION ALL "
                        "SELECT 2 FROM quarantine WHERE hash = ?1 LIMIT 1",
    [S_VERSION_INSERT] =
        "INSERT INTO versions (hash, record, author, pusher, dseq, prev, "
        "hlc_ms, hlc_count, template_id, template_hash, subject, status, body, "
        "sig, received_ms, flag) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
        "?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [S_PARENT_INSERT] =
        "INSERT OR IGNORE INTO parents (child, parent) VALUES (?1, ?2)",
    [S_HEAD_DELETE] = "DELETE FROM heads WHERE record = ?1 AND hash = ?2",
    [S_HAS_CHILD] = "SELECT 1 FROM parents WHERE parent = ?1 LIMIT 1",
    [S_HEAD_INSERT] =
        "INSERT OR IGNORE INTO heads (record, hash) VALUES (?1, ?2)",
    /* Two indexed lookups, not one OR that SQLite would answer by walking
     * all of the author's versions. */
    [S_FORK] = "SELECT hash FROM versions WHERE author = ?1 AND dseq = ?2 AND "
               "hash <> ?4 UNION ALL SELECT hash FROM versions WHERE prev = ?3 "
               "AND author = ?1 AND hash <> ?4 LIMIT 1",
    [S_HAS_VERSION] = "SELECT 1 FROM versions WHERE hash = ?1",
    [S_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM versions",
    /* The page a device pulls: server order, inside its scope (the units
     * it holds and all below them), without what it pushed itself since
     * its cursor was born. "+subject" keeps SQLite walking the table in
     * seq order, which stops after one page; through the subject index it
     * would read every matching row, bodies and all, to sort them. */
    [S_PULL] =
        "WITH RECURSIVE down(code) AS ("
        "  SELECT unit FROM device_scope WHERE device = ?1 UNION "
        "  SELECT u.code FROM units u JOIN down ON u.parent = down.code) "
        "SELECT seq, body, sig FROM versions WHERE seq > ?2 "
        "AND (?3 OR +subject IN (SELECT code FROM down)) "
        "AND NOT (pusher = ?1 AND seq > ?4) ORDER BY seq LIMIT ?5",
    [S_Q_INSERT] =
        "INSERT INTO quarantine (hash, author, pusher, reason, body, "
        "sig, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_Q_WAIT_INSERT] =
        "INSERT OR IGNORE INTO quarantine_wait (hash, parent) VALUES (?1, ?2)",
    [S_Q_WAITERS] = "SELECT hash FROM quarantine_wait WHERE parent = ?1 "
                    "ORDER BY hash",
    [S_Q_WAIT_DELETE] = "DELETE FROM quarantine_wait WHERE parent = ?1",
    [S_Q_WAIT_COUNT] = "SELECT count(*) FROM quarantine_wait WHERE hash = ?1",
    [S_Q_GET] = "SELECT hash, author, pusher, reason, body, sig, received_ms "
                "FROM quarantine WHERE hash = ?1",
    [S_Q_EACH] = "SELECT hash FROM quarantine WHERE ?1 IS NULL OR reason = ?1 "
                 "ORDER BY received_ms, hash",
    [S_Q_DELETE] = "DELETE FROM quarantine WHERE hash = ?1",
    [S_Q_WAIT_DELETE_HASH] = "DELETE FROM quarantine_wait WHERE hash = ?1",
    [S_AUDIT_INSERT] = "INSERT INTO audit (at_ms, kind, device, subject, "
                       "detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_AUDIT_EACH] =
        "SELECT id, at_ms, kind, device, subject, detail FROM audit "
        "WHERE ?1 IS NULL OR kind = ?1 ORDER BY id",
    /* Forks: two versions of one device with the same dseq, or (with
     * different dseq) naming the same prev. Gaps: a prev not stored. */
    [S_ALARMS] =
        "SELECT 'fork', a.author, a.dseq, a.hash, b.hash FROM versions a "
        "  JOIN versions b ON b.author = a.author AND b.dseq = a.dseq "
        "  AND b.hash > a.hash "
        "UNION ALL "
        "SELECT 'fork', a.author, a.dseq, a.hash, b.hash FROM versions a "
        "  JOIN versions b ON b.prev = a.prev AND b.author = a.author "
        "  AND b.dseq <> a.dseq AND b.hash > a.hash WHERE a.prev IS NOT NULL "
        "UNION ALL "
        "SELECT 'gap', v.author, v.dseq, v.hash, v.prev FROM versions v "
        "  WHERE v.prev IS NOT NULL AND NOT EXISTS "
        "  (SELECT 1 FROM versions p WHERE p.hash = v.prev) "
        "ORDER BY 2, 3, 1, 4",
    [S_COUNTS] = "SELECT (SELECT coalesce(max(seq), 0) FROM versions), "
                 "(SELECT count(*) FROM quarantine), "
                 "(SELECT count(*) FROM devices), "
                 "(SELECT count(*) FROM devices WHERE revoked_ms IS NOT NULL), "
                 "(SELECT count(*) FROM templates), "
                 "(SELECT count(*) FROM units), "
                 "(SELECT count(*) FROM versions WHERE flag IS NOT NULL)",
};

struct sq {
    struct srv_storage
        base; /* first: a struct sq * is a struct srv_storage * */
    sqlite3 *db;
    sqlite3_stmt *stmt[N_STMTS];
    char *path;
};

/* The server's schema files, compiled in by server.mk (scripts/embed.c). */
extern const struct fld_embedded srv_schema_files[];

/* Migrations in order: migration[i] brings user_version from i to i+1. */
static const char *const migration[] = {"server.sql"};

#define N_MIGRATIONS (sizeof migration / sizeof migration[0])

static struct sq *SQ(struct srv_storage *st)
{
    return (struct sq *)st;
}

/* SQLite's codes become ours in field/db.c, shared with the device store. */
static int map_rc(struct sq *q, int rc, const char *what, struct fld_err *err)
{
    return fld_db_map(q ? q->db : NULL, rc, what, err);
}

static sqlite3_stmt *stmt(struct sq *q, enum stmt_id id, struct fld_err *err,
                          int *rc)
{
    int r;

    if (q->stmt[id] == NULL) {
        r = sqlite3_prepare_v3(q->db, sql_text[id], -1,
                               SQLITE_PREPARE_PERSISTENT, &q->stmt[id], NULL);
        if (r != SQLITE_OK) {
            *rc = map_rc(q, r, "prepare", err);
            return NULL;
        }
    }
    *rc = FLD_OK;
    return q->stmt[id];
}

static void finish(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Step a statement that returns no rows, then reset it. */
static int step_done(struct sq *q, sqlite3_stmt *s, const char *what,
                     struct fld_err *err)
{
    int r = sqlite3_step(s);

    finish(s);
    return r == SQLITE_DONE ? FLD_OK : map_rc(q, r, what, err);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Run statement id bound to up to three texts; no rows. */
static int run3(struct sq *q, enum stmt_id id, const char *a, const char *b,
                const char *c, const char *what, struct fld_err *err)
{
    int rc;
    sqlite3_stmt *s = stmt(q, id, err, &rc);

    if (s == NULL)
        return rc;
    bind_text(s, 1, a);
    if (b)
        bind_text(s, 2, b);
    if (c)
        bind_text(s, 3, c);
    return step_done(q, s, what, err);
}

/* Whether statement id bound to one text returns a row. */
static int exists1(struct sq *q, enum stmt_id id, const char *a, bool *found,
                   struct fld_err *err)
{
    int rc, r;
    sqlite3_stmt *s = stmt(q, id, err, &rc);

    *found = false;
    if (s == NULL)
        return rc;
    bind_text(s, 1, a);
    r = sqlite3_step(s);
    finish(s);
    if (r == SQLITE_ROW)
        *found = true;
    else if (r != SQLITE_DONE)
        return map_rc(q, r, "read", err);
    return FLD_OK;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
    const char *t = col_text(s, i);

    return t ? fld_xstrdup(t) : NULL;
}

static int exec(struct sq *q, const char *sql, const char *what,
                struct fld_err *err)
{
    return fld_db_exec(q->db, sql, what, err);
}

/* ---- opening ----------------------------------------------------------------
 */

static int user_version(struct sq *q, int64_t *out, struct fld_err *err)
{
    return fld_db_user_version(q->db, out, err);
}

/* A file that is not ours is never turned into a server database. */
static int check_application(struct sq *q, struct fld_err *err)
{
    int64_t have;
    sqlite3_stmt *s;
    int r, rc, n_tables = 0, is_ours = 0;

    if ((rc = user_version(q, &have, err)) != FLD_OK)
        return rc;
    r = sqlite3_prepare_v2(q->db,
                           "SELECT count(*), count(*) FILTER (WHERE name = "
                           "'enroll_codes') FROM sqlite_schema",
                           -1, &s, NULL);
    if (r != SQLITE_OK)
        return map_rc(q, r, "open", err);
    if (sqlite3_step(s) == SQLITE_ROW) {
        n_tables = sqlite3_column_int(s, 0);
        is_ours = sqlite3_column_int(s, 1);
    }
    sqlite3_finalize(s);
    if (have > 0 && !is_ours)
        return fld_err_set(err, FLD_ECORRUPT,
                           "%s: not a field-server database (a device store?)",
                           q->path);
    if (have == 0 && n_tables > 0)
        return fld_err_set(
            err, FLD_ECORRUPT,
            "%s: not a field-server database (it has other tables)", q->path);
    return FLD_OK;
}

static int migrate(struct sq *q, struct fld_err *err)
{
    return fld_db_migrate(q->db, q->path, "field-server", srv_schema_files,
                          migration, N_MIGRATIONS, err);
}

static void sq_close(struct srv_storage *st)
{
    struct sq *q = SQ(st);
    size_t i;

    for (i = 0; i < N_STMTS; i++)
        sqlite3_finalize(q->stmt[i]);
    if (q->db && sqlite3_get_autocommit(q->db) == 0)
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(q->db);
    free(q->path);
    free(q);
}

static int sq_open(const char *path, bool create, struct srv_storage **out,
                   struct fld_err *err)
{
    struct sq *q;
    struct stat sb;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
                SQLITE_OPEN_NOMUTEX; /* one thread per handle */
    int r, rc;

    *out = NULL;
    if (!create && stat(path, &sb) != 0)
        return fld_err_set(err, FLD_NOTFOUND,
                           "%s: no such database (run field-server init)",
                           path);
    if (create)
        flags |= SQLITE_OPEN_CREATE;
    q = fld_xcalloc(1, sizeof *q);
    q->base.ops = &srv_storage_sqlite;
    q->path = fld_xstrdup(path);
    r = sqlite3_open_v2(path, &q->db, flags, NULL);
    if (r != SQLITE_OK) {
        rc = map_rc(q, r, path, err);
        goto fail;
    }
    sqlite3_busy_timeout(q->db, 10000);
    sqlite3_extended_result_codes(q->db, 1);
    if ((rc = check_application(q, err)) != FLD_OK ||
        (rc = exec(q, "PRAGMA journal_mode = WAL", "open", err)) != FLD_OK ||
        (rc = exec(q, "PRAGMA synchronous = FULL", "open", err)) != FLD_OK ||
        (rc = exec(q, "PRAGMA foreign_keys = ON", "open", err)) != FLD_OK ||
        (rc = migrate(q, err)) != FLD_OK)
        goto fail;
    *out = &q->base;
    return FLD_OK;
fail:
    if (rc == FLD_EDB && err && strstr(err->msg, "not a database"))
        rc = fld_err_set(err, FLD_ECORRUPT, "%s: not a field-server database",
                         path);
    sq_close(&q->base);
    return rc;
}

static int sq_begin(struct srv_storage *st, struct fld_err *err)
{
    return exec(SQ(st), "BEGIN IMMEDIATE", "begin", err);
}

static void sq_rollback(struct srv_storage *st)
{
    if (sqlite3_get_autocommit(SQ(st)->db) == 0)
        sqlite3_exec(SQ(st)->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_commit(struct srv_storage *st, struct fld_err *err)
{
    int rc = exec(SQ(st), "COMMIT", "commit", err);

    if (rc != FLD_OK)
        sq_rollback(st);
    return rc;
}

static int sq_checkpoint(struct srv_storage *st, struct fld_err *err)
{
    return exec(SQ(st), "PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint", err);
}

static int sq_backup(struct srv_storage *st, const char *path,
                     struct fld_err *err)
{
    struct sq *q = SQ(st);
    struct stat sb;
    sqlite3 *dst = NULL;
    sqlite3_backup *b;
    int r;

    if (lstat(path, &sb) == 0)
        return fld_err_set(err, FLD_EXISTS, "%s: already exists", path);
    r = sqlite3_open_v2(path, &dst,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOFOLLOW,
                        NULL);
    if (r != SQLITE_OK) {
        sqlite3_close(dst);
        unlink(path);
        return fld_err_set(err, FLD_EIO, "%s: cannot create", path);
    }
    b = sqlite3_backup_init(dst, "main", q->db, "main");
    if (b == NULL) {
        r = sqlite3_errcode(dst);
    } else {
        /* Copy in steps so that the server's writers are not held off for
         * the whole copy; a write in between restarts it, which is fine
         * at a province's size. */
        do {
            r = sqlite3_backup_step(b, 256);
            if (r == SQLITE_BUSY || r == SQLITE_LOCKED)
                sqlite3_sleep(20);
        } while (r == SQLITE_OK || r == SQLITE_BUSY || r == SQLITE_LOCKED);
        sqlite3_backup_finish(b);
        if (r == SQLITE_DONE)
            r = sqlite3_errcode(dst);
    }
    sqlite3_close(dst);
    if (r != SQLITE_OK && r != SQLITE_DONE) {
        unlink(path);
        return fld_err_set(err, FLD_EIO, "backup to %s failed: %s", path,
                           sqlite3_errstr(r));
    }
    return FLD_OK;
}

/* ---- settings ------------------------------------------------------------ */

static int sq_meta_get(struct srv_storage *st, const char *key, char **value,
                       struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_META_GET, err, &rc);

    *value = NULL;
    if (s == NULL)
        return rc;
    bind_text(s, 1, key);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        *value = col_dup(s, 0);
    finish(s);
    if (r == SQLITE_DONE)
        return fld_err_set(err, FLD_NOTFOUND, "setting %s is not set", key);
    return r == SQLITE_ROW ? FLD_OK : map_rc(q, r, "read setting", err);
}

static int sq_meta_set(struct srv_storage *st, const char *key,
                       const char *value, struct fld_err *err)
{
    return run3(SQ(st), S_META_SET, key, value, NULL, "write setting", err);
}

/* ---- enrollment and devices ---------------------------------------------- */

static int sq_code_add(struct srv_storage *st, const struct srv_enroll_code *c,
                       struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc;
    sqlite3_stmt *s = stmt(q, S_CODE_INSERT, err, &rc);

    if (s == NULL)
        return rc;
    bind_text(s, 1, c->code_hash);
    bind_text(s, 2, c->inspector);
    bind_text(s, 3, c->role);
    bind_text(s, 4, c->scope);
    sqlite3_bind_int64(s, 5, c->created_ms);
    sqlite3_bind_int64(s, 6, c->expires_ms);
    return step_done(q, s, "add enrollment code", err);
}

static int sq_code_use(struct srv_storage *st, const char *code_hash,
                       int64_t now, const char *device,
                       struct srv_enroll_code **out, struct fld_err *err)
{
    struct sq *q = SQ(st);
    struct srv_enroll_code *c;
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_CODE_USE, err, &rc);

    *out = NULL;
    if (s == NULL)
        return rc;
    bind_text(s, 1, code_hash);
    sqlite3_bind_int64(s, 2, now);
    bind_text(s, 3, device);
    r = sqlite3_step(s);
    if (r != SQLITE_ROW) {
        finish(s);
        if (r == SQLITE_DONE)
            return fld_err_set(err, FLD_NOTFOUND,
                               "unknown, used or expired enrollment code");
        return map_rc(q, r, "use enrollment code", err);
    }
    c = fld_xcalloc(1, sizeof *c);
    memcpy(c->code_hash, code_hash, FLD_HASH_HEX_LEN + 1);
    c->inspector = col_dup(s, 0);
    c->role = col_dup(s, 1);
    c->scope = col_dup(s, 2);
    c->created_ms = sqlite3_column_int64(s, 3);
    c->expires_ms = sqlite3_column_int64(s, 4);
    /* RETURNING: the change is made when the statement runs to its end. */
    r = sqlite3_step(s);
    finish(s);
    if (r != SQLITE_DONE) {
        srv_enroll_code_free(c);
        return map_rc(q, r, "use enrollment code", err);
    }
    *out = c;
    return FLD_OK;
}

static int sq_device_add(struct srv_storage *st, const struct srv_device *d,
                         struct fld_err *err)
{
    struct sq *q = SQ(st);
    size_t i;
    int rc;
    sqlite3_stmt *s = stmt(q, S_DEVICE_INSERT, err, &rc);

    if (s == NULL)
        return rc;
    bind_text(s, 1, d->pubkey);
    bind_text(s, 2, d->inspector);
    bind_text(s, 3, d->role);
    sqlite3_bind_int64(s, 4, d->enrolled_ms);
    if ((rc = step_done(q, s, "enrol device", err)) != FLD_OK)
        return rc == FLD_EXISTS
                   ? fld_err_set(err, FLD_EXISTS,
                                 "device %.16s is already enrolled", d->pubkey)
                   : rc;
    for (i = 0; i < d->n_scope; i++)
        if ((rc = run3(q, S_SCOPE_INSERT, d->pubkey, d->scope[i], NULL,
                       "enrol device", err)) != FLD_OK)
            return rc;
    return FLD_OK;
}

static void load_scope(struct sq *q, struct srv_device *d, struct fld_err *err,
                       int *rc)
{
    sqlite3_stmt *s = stmt(q, S_SCOPE_OF, err, rc);
    size_t cap = 0;
    int r;

    if (s == NULL)
        return;
    bind_text(s, 1, d->pubkey);
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        if (d->n_scope == cap) {
            cap = cap ? 2 * cap : 4;
            d->scope = fld_xreallocarray(d->scope, cap, sizeof *d->scope);
        }
        d->scope[d->n_scope++] = col_dup(s, 0);
    }
    finish(s);
    *rc = r == SQLITE_DONE ? FLD_OK : map_rc(q, r, "read scope", err);
}

static struct srv_device *device_from_row(sqlite3_stmt *s, const char *pubkey,
                                          int first)
{
    struct srv_device *d = fld_xcalloc(1, sizeof *d);

    snprintf(d->pubkey, sizeof d->pubkey, "%s", pubkey);
    d->inspector = col_dup(s, first);
    d->role = col_dup(s, first + 1);
    d->enrolled_ms = sqlite3_column_int64(s, first + 2);
    d->revoked_ms = sqlite3_column_type(s, first + 3) == SQLITE_NULL
                        ? 0
                        : sqlite3_column_int64(s, first + 3);
    return d;
}

static int sq_device_get(struct srv_storage *st, const char *pubkey,
                         struct srv_device **out, struct fld_err *err)
{
    struct sq *q = SQ(st);
    struct srv_device *d;
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_DEVICE_GET, err, &rc);

    *out = NULL;
    if (s == NULL)
        return rc;
    bind_text(s, 1, pubkey);
    r = sqlite3_step(s);
    if (r != SQLITE_ROW) {
        finish(s);
        if (r == SQLITE_DONE)
            return fld_err_set(err, FLD_NOTFOUND,
                               "device %.16s is not enrolled", pubkey);
        return map_rc(q, r, "read device", err);
    }
    d = device_from_row(s, pubkey, 0);
    finish(s);
    load_scope(q, d, err, &rc);
    if (rc != FLD_OK) {
        srv_device_free(d);
        return rc;
    }
    *out = d;
    return FLD_OK;
}

static int sq_device_find(struct srv_storage *st, const char *prefix,
                          char out[FLD_HASH_HEX_LEN + 1], struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc, r, n = 0;
    sqlite3_stmt *s = stmt(q, S_DEVICE_FIND, err, &rc);

    out[0] = '\0';
    if (s == NULL)
        return rc;
    bind_text(s, 1, prefix);
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        if (n++ == 0)
            snprintf(out, FLD_HASH_HEX_LEN + 1, "%s", col_text(s, 0));
    }
    finish(s);
    if (r != SQLITE_DONE)
        return map_rc(q, r, "find device", err);
    if (n == 0)
        return fld_err_set(err, FLD_NOTFOUND, "no device %s", prefix);
    if (n > 1)
        return fld_err_set(err, FLD_CONFLICT, "several devices start with %s",
                           prefix);
    return FLD_OK;
}

static int sq_device_revoke(struct srv_storage *st, const char *pubkey,
                            int64_t now, struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc;
    sqlite3_stmt *s = stmt(q, S_DEVICE_REVOKE, err, &rc);

    if (s == NULL)
        return rc;
    bind_text(s, 1, pubkey);
    sqlite3_bind_int64(s, 2, now);
    if ((rc = step_done(q, s, "revoke device", err)) != FLD_OK)
        return rc;
    if (sqlite3_changes(q->db) == 0)
        return fld_err_set(err, FLD_EXISTS, "device %.16s is already revoked",
                           pubkey);
    return FLD_OK;
}

static int sq_each_device(struct srv_storage *st, srv_device_fn fn, void *ctx,
                          struct fld_err *err)
{
    struct sq *q = SQ(st);
    struct srv_device **all = NULL;
    size_t n = 0, cap = 0, i;
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_DEVICES, err, &rc);

    if (s == NULL)
        return rc;
    /* Read the list first: the callback may read scopes in between. */
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            all = fld_xreallocarray(all, cap, sizeof *all);
        }
        all[n++] = device_from_row(s, col_text(s, 0), 1);
    }
    finish(s);
    rc = r == SQLITE_DONE ? FLD_OK : map_rc(q, r, "list devices", err);
    for (i = 0; i < n && rc == FLD_OK; i++) {
        load_scope(q, all[i], err, &rc);
        if (rc == FLD_OK)
            rc = fn(ctx, all[i]);
    }
    for (i = 0; i < n; i++)
        srv_device_free(all[i]);
    free(all);
    return rc;
}

/* ---- units ----------------------------------------------------------------
 */

static int sq_unit_put(struct srv_storage *st, const struct srv_unit *u,
                       struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc;
    sqlite3_stmt *s = stmt(q, S_UNIT_PUT, err, &rc);

    if (s == NULL)
        return rc;
    bind_text(s, 1, u->code);
    bind_text(s, 2, u->name);
    bind_text(s, 3, u->parent);
    bind_text(s, 4, u->level ? u->level : "");
    return step_done(q, s, "store unit", err);
}

static int sq_unit_exists(struct srv_storage *st, const char *code, bool *out,
                          struct fld_err *err)
{
    return exists1(SQ(st), S_UNIT_EXISTS, code, out, err);
}

static int sq_each_unit(struct srv_storage *st, srv_unit_fn fn, void *ctx,
                        struct fld_err *err)
{
    struct sq *q = SQ(st);
    struct srv_unit u;
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_UNITS, err, &rc);

    if (s == NULL)
        return rc;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        u.code = col_text(s, 0);
        u.name = col_text(s, 1);
        u.parent = col_text(s, 2);
        u.level = col_text(s, 3);
        if ((rc = fn(ctx, &u)) != FLD_OK) {
            finish(s);
            return rc;
        }
    }
    finish(s);
    return r == SQLITE_DONE ? FLD_OK : map_rc(q, r, "list units", err);
}

static int sq_in_scope(struct srv_storage *st, const char *device,
                       const char *subject, bool *out, struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_IN_SCOPE, err, &rc);

    *out = false;
    if (s == NULL)
        return rc;
    bind_text(s, 1, device);
    bind_text(s, 2, subject);
    r = sqlite3_step(s);
    finish(s);
    if (r == SQLITE_ROW)
        *out = true;
    else if (r != SQLITE_DONE)
        return map_rc(q, r, "check scope", err);
    return FLD_OK;
}

/* ---- templates --------------------------------------------------------------
 */

static int sq_template_put(struct srv_storage *st,
                           const struct srv_template_row *t,
                           const uint8_t *body, size_t len, struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc;
    sqlite3_stmt *s = stmt(q, S_TEMPLATE_INSERT, err, &rc);

    if (s == NULL)
        return rc;
    bind_text(s, 1, t->hash);
    bind_text(s, 2, t->id);
    bind_text(s, 3, t->version ? t->version : "");
    sqlite3_bind_blob(s, 4, body, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, t->added_ms);
    rc = step_done(q, s, "add template", err);
    if (rc == FLD_EXISTS)
        return fld_err_set(err, FLD_EXISTS,
                           "template %s (%.16s) is already there", t->id,
                           t->hash);
    return rc;
}

static int sq_template_get(struct srv_storage *st, const char *hash,
                           uint8_t **body, size_t *len, struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_TEMPLATE_GET, err, &rc);

    *body = NULL;
    *len = 0;
    if (s == NULL)
        return rc;
    bind_text(s, 1, hash);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(s, 0);
        *body = fld_xmalloc(*len + 1);
        if (*len)
            memcpy(*body, sqlite3_column_blob(s, 0), *len);
        (*body)[*len] = '\0';
    }
    finish(s);
    if (r == SQLITE_DONE)
        return fld_err_set(err, FLD_NOTFOUND, "no template %.16s", hash);
    return r == SQLITE_ROW ? FLD_OK : map_rc(q, r, "read template", err);
}

static int sq_each_template(struct srv_storage *st, srv_template_fn fn,
                            void *ctx, struct fld_err *err)
{
    struct sq *q = SQ(st);
    struct srv_template_row t;
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_TEMPLATES, err, &rc);

    if (s == NULL)
        return rc;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        t.hash = col_text(s, 0);
        t.id = col_text(s, 1);
        t.version = col_text(s, 2);
        t.added_ms = sqlite3_column_int64(s, 3);
        if ((rc = fn(ctx, &t)) != FLD_OK) {
            finish(s);
            return rc;
        }
    }
    finish(s);
    return r == SQLITE_DONE ? FLD_OK : map_rc(q, r, "list templates", err);
}

/* ---- versions ---------------------------------------------------------------
 */

static int sq_version_state(struct srv_storage *st, const char *hash,
                            enum srv_version_state *out, struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_VERSION_STATE, err, &rc);

    *out = SRV_ABSENT;
    if (s == NULL)
        return rc;
    bind_text(s, 1, hash);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        *out = sqlite3_column_int(s, 0) == 1 ? SRV_PRESENT : SRV_IN_QUARANTINE;
    finish(s);
    return r == SQLITE_ROW || r == SQLITE_DONE
               ? FLD_OK
               : map_rc(q, r, "read version", err);
}

static int sq_version_put(struct srv_storage *st,
                          const struct srv_version_in *in, int64_t *seq,
                          struct fld_err *err)
{
    struct sq *q = SQ(st);
    const struct fld_version *v = in->v;
    bool found;
    size_t i;
    int rc;
    sqlite3_stmt *s = stmt(q, S_VERSION_INSERT, err, &rc);

    *seq = 0;
    if (s == NULL)
        return rc;
    bind_text(s, 1, v->hash);
    bind_text(s, 2, v->record);
    bind_text(s, 3, v->author);
    bind_text(s, 4, in->pusher);
    sqlite3_bind_int64(s, 5, v->dseq);
    bind_text(s, 6, v->prev);
    sqlite3_bind_int64(s, 7, v->hlc.ms);
    sqlite3_bind_int64(s, 8, v->hlc.count);
    bind_text(s, 9, v->template_id);
    bind_text(s, 10, v->template_hash);
    bind_text(s, 11, v->subject);
    bind_text(s, 12, v->status);
    sqlite3_bind_blob(s, 13, v->body, (int)v->body_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 14, v->sig, FLD_SIG_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 15, in->received_ms);
    bind_text(s, 16, in->flag);
    if ((rc = step_done(q, s, "store version", err)) != FLD_OK)
        return rc == FLD_EXISTS
                   ? fld_err_set(err, FLD_EXISTS,
                                 "version %.16s already stored", v->hash)
                   : rc;
    *seq = sqlite3_last_insert_rowid(q->db);
    for (i = 0; i < v->parents->n; i++) {
        const char *p = v->parents->items[i]->s;

        if ((rc = run3(q, S_PARENT_INSERT, v->hash, p, NULL, "store version",
                       err)) != FLD_OK ||
            (rc = run3(q, S_HEAD_DELETE, v->record, p, NULL, "store version",
                       err)) != FLD_OK)
            return rc;
    }
    /* A child may have arrived first (relayed out of order is possible
     * only through quarantine, but keep heads exact regardless). */
    if ((rc = exists1(q, S_HAS_CHILD, v->hash, &found, err)) != FLD_OK)
        return rc;
    if (!found)
        rc = run3(q, S_HEAD_INSERT, v->record, v->hash, NULL, "store version",
                  err);
    return rc;
}

static int sq_chain_check(struct srv_storage *st, const struct fld_version *v,
                          char fork_with[FLD_HASH_HEX_LEN + 1],
                          bool *prev_missing, struct fld_err *err)
{
    struct sq *q = SQ(st);
    bool found = true;
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_FORK, err, &rc);

    fork_with[0] = '\0';
    *prev_missing = false;
    if (s == NULL)
        return rc;
    bind_text(s, 1, v->author);
    sqlite3_bind_int64(s, 2, v->dseq);
    bind_text(s, 3, v->prev);
    bind_text(s, 4, v->hash);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        snprintf(fork_with, FLD_HASH_HEX_LEN + 1, "%s", col_text(s, 0));
    finish(s);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return map_rc(q, r, "check chain", err);
    if (v->prev != NULL &&
        (rc = exists1(q, S_HAS_VERSION, v->prev, &found, err)) != FLD_OK)
        return rc;
    *prev_missing = !found;
    return FLD_OK;
}

static int sq_max_seq(struct srv_storage *st, int64_t *out, struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_MAX_SEQ, err, &rc);

    *out = 0;
    if (s == NULL)
        return rc;
    r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    finish(s);
    return r == SQLITE_ROW ? FLD_OK : map_rc(q, r, "read", err);
}

static int sq_pull(struct srv_storage *st, const struct srv_pull_query *pq,
                   srv_pull_fn fn, void *ctx, struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_PULL, err, &rc);

    if (s == NULL)
        return rc;
    bind_text(s, 1, pq->device);
    sqlite3_bind_int64(s, 2, pq->after);
    sqlite3_bind_int(s, 3, pq->all_units ? 1 : 0);
    sqlite3_bind_int64(s, 4, pq->birth);
    sqlite3_bind_int64(s, 5, pq->limit);
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(s, 2) != FLD_SIG_LEN) {
            finish(s);
            return fld_err_set(err, FLD_ECORRUPT,
                               "a stored signature is damaged");
        }
        rc = fn(ctx, sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1),
                (size_t)sqlite3_column_bytes(s, 1), sqlite3_column_blob(s, 2));
        if (rc != FLD_OK) {
            finish(s);
            return rc;
        }
    }
    finish(s);
    return r == SQLITE_DONE ? FLD_OK : map_rc(q, r, "pull", err);
}

/* Every stored version of one record, in server order (for the merge). */
static int sq_record_versions(struct srv_storage *st, const char *record,
                              srv_pull_fn fn, void *ctx, struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_RECORD_VERSIONS, err, &rc);

    if (s == NULL)
        return rc;
    bind_text(s, 1, record);
    rc = FLD_OK;
    while (rc == FLD_OK && (r = sqlite3_step(s)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(s, 2) != FLD_SIG_LEN)
            rc =
                fld_err_set(err, FLD_ECORRUPT, "a stored signature is damaged");
        else
            rc = fn(ctx, sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1),
                    (size_t)sqlite3_column_bytes(s, 1),
                    sqlite3_column_blob(s, 2));
    }
    finish(s);
    if (rc == FLD_OK && r != SQLITE_DONE)
        rc = map_rc(q, r, "read record", err);
    return rc;
}

/* ---- quarantine -----------------------------------------------------------
 */

static int sq_quarantine_put(struct srv_storage *st,
                             const struct srv_quarantined *qv,
                             const char *const *waits, size_t n_waits,
                             struct fld_err *err)
{
    struct sq *q = SQ(st);
    size_t i;
    int rc;
    sqlite3_stmt *s = stmt(q, S_Q_INSERT, err, &rc);

    if (s == NULL)
        return rc;
    bind_text(s, 1, qv->hash);
    bind_text(s, 2, qv->author);
    bind_text(s, 3, qv->pusher);
    bind_text(s, 4, qv->reason);
    sqlite3_bind_blob(s, 5, qv->body, (int)qv->body_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 6, qv->sig, FLD_SIG_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, qv->received_ms);
    if ((rc = step_done(q, s, "quarantine version", err)) != FLD_OK)
        return rc;
    for (i = 0; i < n_waits; i++)
        if ((rc = run3(q, S_Q_WAIT_INSERT, qv->hash, waits[i], NULL,
                       "quarantine version", err)) != FLD_OK)
            return rc;
    return FLD_OK;
}

/* Read the hashes a statement bound to one text (or NULL) returns. */
static int collect(struct sq *q, enum stmt_id id, const char *arg, char ***out,
                   size_t *n, struct fld_err *err)
{
    size_t cap = 0;
    int rc, r;
    sqlite3_stmt *s = stmt(q, id, err, &rc);

    *out = NULL;
    *n = 0;
    if (s == NULL)
        return rc;
    bind_text(s, 1, arg);
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            *out = fld_xreallocarray(*out, cap, sizeof **out);
        }
        (*out)[(*n)++] = col_dup(s, 0);
    }
    finish(s);
    return r == SQLITE_DONE ? FLD_OK : map_rc(q, r, "read quarantine", err);
}

static void strv_free(char **v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Call fn with a private copy of the quarantined row of hash: fn may store
 * versions and walk the quarantine again, reusing these statements. */
static int with_quarantined(struct sq *q, const char *hash,
                            srv_quarantine_fn fn, void *ctx,
                            struct fld_err *err)
{
    struct srv_quarantined row;
    char *hash_c, *author, *pusher, *reason;
    uint8_t *body, sig[FLD_SIG_LEN];
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_Q_GET, err, &rc);

    if (s == NULL)
        return rc;
    bind_text(s, 1, hash);
    r = sqlite3_step(s);
    if (r != SQLITE_ROW) {
        finish(s);
        return r == SQLITE_DONE ? FLD_OK : map_rc(q, r, "read quarantine", err);
    }
    if (sqlite3_column_bytes(s, 5) != FLD_SIG_LEN) {
        finish(s);
        return fld_err_set(err, FLD_ECORRUPT, "quarantined %.16s is damaged",
                           hash);
    }
    hash_c = col_dup(s, 0);
    author = col_dup(s, 1);
    pusher = col_dup(s, 2);
    reason = col_dup(s, 3);
    row.body_len = (size_t)sqlite3_column_bytes(s, 4);
    body = fld_xmalloc(row.body_len + 1);
    if (row.body_len)
        memcpy(body, sqlite3_column_blob(s, 4), row.body_len);
    body[row.body_len] = '\0';
    memcpy(sig, sqlite3_column_blob(s, 5), FLD_SIG_LEN);
    row.received_ms = sqlite3_column_int64(s, 6);
    finish(s);
    row.hash = hash_c;
    row.author = author;
    row.pusher = pusher;
    row.reason = reason;
    row.body = body;
    row.sig = sig;
    rc = fn(ctx, &row);
    free(hash_c);
    free(author);
    free(pusher);
    free(reason);
    free(body);
    return rc;
}

static int sq_quarantine_unblock(struct srv_storage *st, const char *parent,
                                 srv_quarantine_fn fn, void *ctx,
                                 struct fld_err *err)
{
    struct sq *q = SQ(st);
    char **waiters;
    size_t n, i;
    int rc, r;
    int64_t left;
    sqlite3_stmt *s;

    if ((rc = collect(q, S_Q_WAITERS, parent, &waiters, &n, err)) != FLD_OK)
        return rc;
    if (n == 0)
        return FLD_OK;
    if ((rc = run3(q, S_Q_WAIT_DELETE, parent, NULL, NULL, "release quarantine",
                   err)) != FLD_OK)
        goto done;
    for (i = 0; i < n && rc == FLD_OK; i++) {
        if ((s = stmt(q, S_Q_WAIT_COUNT, err, &rc)) == NULL)
            break;
        bind_text(s, 1, waiters[i]);
        r = sqlite3_step(s);
        left = r == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
        finish(s);
        if (r != SQLITE_ROW)
            rc = map_rc(q, r, "read quarantine", err);
        else if (left == 0)
            rc = with_quarantined(q, waiters[i], fn, ctx, err);
    }
done:
    strv_free(waiters, n);
    return rc;
}

static int sq_quarantine_each(struct srv_storage *st, const char *reason,
                              srv_quarantine_fn fn, void *ctx,
                              struct fld_err *err)
{
    struct sq *q = SQ(st);
    char **hashes;
    size_t n, i;
    int rc;

    if ((rc = collect(q, S_Q_EACH, reason, &hashes, &n, err)) != FLD_OK)
        return rc;
    for (i = 0; i < n && rc == FLD_OK; i++)
        rc = with_quarantined(q, hashes[i], fn, ctx, err);
    strv_free(hashes, n);
    return rc;
}

static int sq_quarantine_remove(struct srv_storage *st, const char *hash,
                                struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc = run3(q, S_Q_DELETE, hash, NULL, NULL, "release quarantine", err);

    if (rc == FLD_OK)
        rc = run3(q, S_Q_WAIT_DELETE_HASH, hash, NULL, NULL,
                  "release quarantine", err);
    return rc;
}

/* ---- audit ----------------------------------------------------------------
 */

static int sq_audit_add(struct srv_storage *st, const char *kind,
                        const char *device, const char *subject,
                        const char *detail, struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc;
    sqlite3_stmt *s = stmt(q, S_AUDIT_INSERT, err, &rc);

    if (s == NULL)
        return rc;
    sqlite3_bind_int64(s, 1, fld_now_ms());
    bind_text(s, 2, kind);
    bind_text(s, 3, device);
    bind_text(s, 4, subject);
    bind_text(s, 5, detail);
    return step_done(q, s, "write audit log", err);
}

static int sq_each_audit(struct srv_storage *st, const char *kind,
                         srv_audit_fn fn, void *ctx, struct fld_err *err)
{
    struct sq *q = SQ(st);
    struct srv_audit_row a;
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_AUDIT_EACH, err, &rc);

    if (s == NULL)
        return rc;
    bind_text(s, 1, kind);
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        a.id = sqlite3_column_int64(s, 0);
        a.at_ms = sqlite3_column_int64(s, 1);
        a.kind = col_text(s, 2);
        a.device = col_text(s, 3);
        a.subject = col_text(s, 4);
        a.detail = col_text(s, 5);
        if ((rc = fn(ctx, &a)) != FLD_OK) {
            finish(s);
            return rc;
        }
    }
    finish(s);
    return r == SQLITE_DONE ? FLD_OK : map_rc(q, r, "read audit log", err);
}

static int sq_each_alarm(struct srv_storage *st, srv_alarm_fn fn, void *ctx,
                         struct fld_err *err)
{
    struct sq *q = SQ(st);
    struct srv_chain_alarm a;
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_ALARMS, err, &rc);

    if (s == NULL)
        return rc;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        a.kind = col_text(s, 0);
        a.author = col_text(s, 1);
        a.dseq = sqlite3_column_int64(s, 2);
        a.hash = col_text(s, 3);
        a.other = col_text(s, 4);
        if ((rc = fn(ctx, &a)) != FLD_OK) {
            finish(s);
            return rc;
        }
    }
    finish(s);
    return r == SQLITE_DONE ? FLD_OK : map_rc(q, r, "check chains", err);
}

static int sq_counts(struct srv_storage *st, struct srv_counts *out,
                     struct fld_err *err)
{
    struct sq *q = SQ(st);
    int rc, r;
    sqlite3_stmt *s = stmt(q, S_COUNTS, err, &rc);

    memset(out, 0, sizeof *out);
    if (s == NULL)
        return rc;
    r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        out->versions = sqlite3_column_int64(s, 0);
        out->quarantined = sqlite3_column_int64(s, 1);
        out->devices = sqlite3_column_int64(s, 2);
        out->revoked = sqlite3_column_int64(s, 3);
        out->templates = sqlite3_column_int64(s, 4);
        out->units = sqlite3_column_int64(s, 5);
        out->flagged = sqlite3_column_int64(s, 6);
    }
    finish(s);
    return r == SQLITE_ROW ? FLD_OK : map_rc(q, r, "count", err);
}

const struct srv_storage_ops srv_storage_sqlite = {
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .checkpoint = sq_checkpoint,
    .backup = sq_backup,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .code_add = sq_code_add,
    .code_use = sq_code_use,
    .device_add = sq_device_add,
    .device_get = sq_device_get,
    .device_find = sq_device_find,
    .device_revoke = sq_device_revoke,
    .each_device = sq_each_device,
    .unit_put = sq_unit_put,
    .unit_exists = sq_unit_exists,
    .each_unit = sq_each_unit,
    .in_scope = sq_in_scope,
    .template_put = sq_template_put,
    .template_get = sq_template_get,
    .each_template = sq_each_template,
    .version_state = sq_version_state,
    .version_put = sq_version_put,
    .chain_check = sq_chain_check,
    .max_seq = sq_max_seq,
    .pull = sq_pull,
    .record_versions = sq_record_versions,
    .quarantine_put = sq_quarantine_put,
    .quarantine_unblock = sq_quarantine_unblock,
    .quarantine_each = sq_quarantine_each,
    .quarantine_remove = sq_quarantine_remove,
    .audit_add = sq_audit_add,
    .each_audit = sq_each_audit,
    .each_alarm = sq_each_alarm,
    .counts = sq_counts,
};
