/*
 * storage_sqlite.c - the SQLite backend of the server's storage (see
 * storage.h for the contract, schema/server.sql for the tables).
 *
 * Where it sits. push.c verifies what devices push and decides where each
 * version goes (stored, quarantined, refused); api.c pages versions out to
 * the devices that pull and encodes their cursors; admin.c enrols devices
 * and installs units and templates. All of them reach the file only
 * through the operations below, which never verify, print or decide a
 * policy: they keep what they are told to keep and answer what they are
 * asked. server.c hands each worker thread a handle of its own.
 *
 * How. Every statement is in the table below (the units and targets are
 * kept by storage_sqlite_units.c, which shares it through
 * storage_sqlite.h), prepared once per handle, bound, reset after use,
 * through field/db.c, which the device store shares
 * (result codes, migrations, the stamp "FLDs" that keeps a device store or
 * a stranger's file from being taken for a server database). WAL mode lets
 * the readers go on while the one writer writes; synchronous=FULL makes a
 * version the server answered "stored" survive a power cut. The server
 * serialises its writers itself and each request is one BEGIN IMMEDIATE
 * ... COMMIT (storage.h), so nothing here takes a lock of its own.
 *
 * The decisions, and why:
 *
 *   - Server order is versions.seq, the table's INTEGER PRIMARY KEY. SQLite
 *     numbers rows as it writes them and there is one writer, so when
 *     max(seq) has been read, every row at or below it is committed and
 *     visible: a device's pull position can be one number, and a page
 *     ending there will never be missing a row that commits later with a
 *     smaller number. Versions are never deleted, so a number is never
 *     given twice.
 *   - A cursor (api.c) carries the server's epoch, a digest of the
 *     device's scope, the last seq pulled and its birth: max(seq) when the
 *     cursor was made. The epoch is a random id in meta, made by init and
 *     made anew in every backup, so a server restored from a copy answers
 *     old cursors "reset" instead of skipping what the copy lacks. Pull
 *     skips the device's own pushes only after the birth (pusher = device
 *     AND seq > birth), never by author: a device that starts over gets
 *     its own earlier work back.
 *   - Relay: any enrolled device may deliver versions signed by another;
 *     `pusher` records who delivered a version first (scope is checked
 *     against the pusher by push.c), `author` who signed it.
 *   - Quarantine keeps what verified but cannot be stored yet (its author
 *     is revoked, its template unknown, a parent missing) with its bytes,
 *     never dropping signed field data. quarantine_wait has one row per
 *     missing parent, keyed by the parent, so storing a version finds the
 *     ones waiting for it by primary key; one whose last wait is gone is
 *     handed back to push.c, which places it again (and may release more).
 *   - Forks and gaps of a device's chain are found, never refused: at push
 *     time by index look-ups on (author, dseq) and the hash (S_FORK), for
 *     the administrator by one query over all versions (S_ALARMS).
 *   - Scope is a tree walk done by SQLite: a device holds scope units, a
 *     unit covers itself and everything below it through units.parent and
 *     units.merged_into, every version together (storage_sqlite_units.c
 *     says why). The walks are recursive CTEs with UNION (not UNION ALL),
 *     so a cycle that old data could hold ends instead of looping.
 *   - An enrollment code is kept only as its hash, and one UPDATE ...
 *     RETURNING both checks and spends it: two devices racing with one code
 *     cannot both enrol.
 *
 * Cost. Storing a version is one insert, two small writes per parent, a
 * head written and three index look-ups (a child already there, a fork,
 * the previous version); placing it costs push.c one look-up per parent. A pull
 * page reads the versions table in seq order from the cursor and stops after
 * limit + 1 rows (the scope tree, a few thousand units at most, is walked again
 * for each page). The counts for /metrics and the chain alarms read every
 * version: they are for the administrator, not for each sync.
 * tests/bench/bench_server.c measures pushes through the real server.
 */
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
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
#include "json.h"
#include "storage_sqlite.h"

/* The columns of a unit, in the order storage_sqlite_units.c reads them. */
#define UNIT_COLUMNS                                                           \
    "code, name, kind, parent, valid_from, valid_to, in_programme, "           \
    "merged_into"

static const char *const sql_text[N_STMTS] = {
    /* The report's one pass: columns only, parents from the derived table,
     * the record index giving the order. */
    [S_VERSIONS_UNTIL] =
        "SELECT v.record, v.hash, v.subject, v.status, v.template_hash, "
        "v.received_ms, (SELECT group_concat(p.parent, ' ') FROM parents p "
        "WHERE p.child_seq = v.seq) FROM versions v INDEXED BY versions_record "
        "WHERE v.received_ms <= ?1 ORDER BY v.record, v.seq",
    [S_VERSION_BODY] = "SELECT body, sig FROM versions WHERE hash = ?1",
    /* threshold revisions (storage_sqlite_thresholds.c) */
    [S_THR_INSERT] =
        "INSERT INTO threshold_revisions (" FLD_DB_THRESHOLDS_COLUMNS
        ", received_ms) VALUES (" FLD_DB_THRESHOLDS_PARAMS ", ?9)",
    [S_THR_EACH] =
        "SELECT seq, hash, template_id, template_hash, revision, valid_from, "
        "author, body, sig, received_ms FROM threshold_revisions "
        "WHERE seq > ?1 AND (?2 IS NULL OR template_hash = ?2) "
        "ORDER BY seq LIMIT ?3",
    [S_THR_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM threshold_revisions",
    /* attachments (storage_sqlite_attach.c, schema/server-005.sql) */
    [S_ATT_REF_INSERT] =
        "INSERT OR IGNORE INTO attachment_refs (hash, seq, bytes, type, "
        "taken, position) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* The first version to name a hash gives the size an upload is held
     * to; the hash decides which one was right. */
    [S_ATT_INSERT] = "INSERT OR IGNORE INTO attachments (hash, bytes, type) "
                     "VALUES (?1, ?2, ?3)",
    /* Exactly the scope of S_PULL (the device's units, all below them
     * and what merged into them; every version with ?3), asked of the
     * versions naming each hash: an attachment is seen when one of them
     * could be pulled. The hashes come as a JSON array, so one prepared
     * statement takes any number of them. */
    [S_ATT_SEEN] =
        "WITH RECURSIVE down(code) AS ("
        "  SELECT unit FROM device_scope WHERE device = ?1 "
        "  UNION SELECT u.code FROM units u JOIN down ON u.parent = down.code "
        "  UNION SELECT u.code FROM units u JOIN down "
        "  ON u.merged_into = down.code) "
        "SELECT q.key, a.hash, a.bytes, a.type, a.acked, a.last_chunk_ms, "
        "a.stored_ms FROM json_each(?2) q JOIN attachments a "
        "ON a.hash = q.value WHERE EXISTS (SELECT 1 FROM attachment_refs r "
        "JOIN versions v ON v.seq = r.seq WHERE r.hash = a.hash "
        "AND (?3 OR v.subject IN (SELECT code FROM down)))",
    [S_ATT_ACK] = "UPDATE attachments SET acked = ?3, last_chunk_ms = ?4 "
                  "WHERE hash = ?1 AND acked = ?2 AND stored_ms IS NULL",
    [S_ATT_STORED] = "UPDATE attachments SET acked = bytes, stored_ms = ?2, "
                     "last_chunk_ms = coalesce(last_chunk_ms, ?2) "
                     "WHERE hash = ?1",
    [S_ATT_RESET] = "UPDATE attachments SET acked = 0, last_chunk_ms = NULL "
                    "WHERE hash = ?1 AND stored_ms IS NULL",
    [S_ATT_STALE] =
        "SELECT hash, bytes, type, acked, last_chunk_ms, stored_ms "
        "FROM attachments WHERE stored_ms IS NULL AND last_chunk_ms IS NOT "
        "NULL AND last_chunk_ms < ?1 ORDER BY last_chunk_ms",
    /* min(): SQLite takes the bare columns from the row of the first
     * version that named the hash. */
    [S_ATT_RECORD] =
        "SELECT r.hash, r.bytes, r.type, coalesce(a.acked, 0), "
        "a.last_chunk_ms, a.stored_ms, r.taken, r.position, min(r.seq) "
        "FROM versions v JOIN attachment_refs r ON r.seq = v.seq "
        "LEFT JOIN attachments a ON a.hash = r.hash WHERE v.record = ?1 "
        "GROUP BY r.hash ORDER BY min(r.seq), r.hash",
    [S_RECORD_VERSIONS] =
        "SELECT seq, body, sig FROM versions WHERE record = ?1 "
        "ORDER BY seq",
    /* The units asked for come as a JSON array (json_each), so that one
     * prepared statement takes any number of them. */
    [S_RECORDS] =
        "WITH RECURSIVE down(code) AS (SELECT value FROM json_each(?1) UNION "
        "  SELECT u.code FROM units u JOIN down ON u.parent = down.code) "
        "SELECT record FROM versions WHERE (?2 OR subject IN (SELECT code "
        "FROM down)) AND (?3 IS NULL OR template_id = ?3) GROUP BY record "
        "ORDER BY max(subject), record LIMIT ?4",
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
    /* Hex digits sort below 'g', so [prefix, prefix||'g') is the range of
     * keys starting with prefix, and the primary key serves it. */
    [S_DEVICE_FIND] = "SELECT pubkey FROM devices WHERE pubkey >= ?1 AND "
                      "pubkey < ?1 || 'g' LIMIT 2",
    /* The first revocation's time stays: it decides which versions the
     * device could still sign (scopes and roles are dated). */
    [S_DEVICE_REVOKE] = "UPDATE devices SET revoked_ms = ?2 WHERE pubkey = ?1 "
                        "AND revoked_ms IS NULL",
    [S_DEVICES] = "SELECT pubkey, inspector, role, enrolled_ms, revoked_ms "
                  "FROM devices ORDER BY enrolled_ms, pubkey",
    [S_UNIT_PUT] =
        "INSERT INTO units (code, name, kind, parent, valid_from, valid_to, "
        "in_programme, merged_into) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT (code, valid_from) DO UPDATE SET name = excluded.name, "
        "kind = excluded.kind, parent = excluded.parent, "
        "valid_to = excluded.valid_to, in_programme = excluded.in_programme, "
        "merged_into = excluded.merged_into",
    [S_UNIT_DROP] = "DELETE FROM units WHERE code = ?1 AND valid_from = ?2",
    [S_UNIT_EXISTS] = "SELECT 1 FROM units WHERE code = ?1 LIMIT 1",
    [S_UNITS] = "SELECT " UNIT_COLUMNS " FROM units ORDER BY code, valid_from",
    /* Dates are compared as text: YYYY-MM-DD sorts as the days do. */
    [S_UNITS_ON] = "SELECT " UNIT_COLUMNS " FROM units WHERE valid_from <= ?1 "
                   "AND (valid_to IS NULL OR valid_to >= ?1) "
                   "ORDER BY code, valid_from",
    /* The subject is in scope when it or a unit above it is held: walk up
     * from the subject (a handful of levels) rather than down from every
     * held unit. Up is every parent a version names and the unit it merged
     * into, whatever the dates (storage.h says why). Two recursive SELECTs
     * need SQLite 3.34; RETURNING (S_CODE_USE) needs 3.35 already. */
    [S_IN_SCOPE] =
        "WITH RECURSIVE up(code) AS (SELECT ?2 "
        "  UNION SELECT u.parent FROM units u JOIN up ON u.code = up.code "
        "  WHERE u.parent IS NOT NULL "
        "  UNION SELECT u.merged_into FROM units u JOIN up ON u.code = up.code "
        "  WHERE u.merged_into IS NOT NULL) "
        "SELECT 1 FROM up CROSS JOIN device_scope s "
        "ON s.device = ?1 AND s.unit = up.code LIMIT 1",
    /* A replaced target goes to the end of the load order: REPLACE deletes
     * the old row and inserts a new one, with a new id. */
    [S_TARGET_PUT] =
        "INSERT OR REPLACE INTO targets (unit, tier, count, applies_from, due, "
        "source, loaded_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_TARGETS] = "SELECT unit, tier, count, applies_from, due, source, "
                  "loaded_ms FROM targets ORDER BY id",
    [S_TEMPLATE_INSERT] = "INSERT INTO templates (hash, id, version, body, "
                          "added_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_TEMPLATE_GET] = "SELECT body FROM templates WHERE hash = ?1",
    [S_TEMPLATES] = "SELECT hash, id, version, added_ms FROM templates "
                    "ORDER BY id, added_ms, hash",
    /* 1 stored, 2 in quarantine, 0 neither: two primary-key look-ups */
    [S_VERSION_STATE] = "SELECT coalesce((SELECT 1 FROM versions WHERE "
                        "hash = ?1), (SELECT 2 FROM quarantine WHERE "
                        "hash = ?1), 0)",
    [S_VERSION_RECORD] = "SELECT record FROM versions WHERE hash = ?1",
    [S_VERSION_INSERT] =
        "INSERT INTO versions (" FLD_DB_VERSION_COLUMNS
        ", pusher, received_ms, flag, ahead_ms) VALUES (" FLD_DB_VERSION_PARAMS
        ", ?14, ?15, ?16, ?17)",
    [S_PARENT_INSERT] = FLD_DB_SQL_PARENT_INSERT,
    [S_HEAD_DELETE] = FLD_DB_SQL_HEAD_DELETE,
    [S_HEAD_INSERT] = FLD_DB_SQL_HEAD_INSERT,
    /* The chain around a version (?1 author, ?2 dseq, ?3 prev, ?4 hash):
     * another version at its dseq, at dseq - 1 one that is not its prev,
     * at dseq + 1 one that names another prev, or a prev stored that is
     * not its author's at dseq - 1. Index look-ups on (author, dseq) and
     * on the hash only (schema/server-006.sql). */
    [S_FORK] = "SELECT hash FROM versions WHERE author = ?1 AND dseq = ?2 "
               "  AND hash <> ?4 "
               "UNION ALL SELECT hash FROM versions WHERE author = ?1 "
               "  AND dseq = ?2 - 1 AND hash IS NOT ?3 "
               "UNION ALL SELECT hash FROM versions WHERE author = ?1 "
               "  AND dseq = ?2 + 1 AND prev IS NOT ?4 "
               "UNION ALL SELECT hash FROM versions WHERE hash = ?3 "
               "  AND (author <> ?1 OR dseq <> ?2 - 1) "
               "LIMIT 1",
    [S_HAS_VERSION] = "SELECT 1 FROM versions WHERE hash = ?1",
    [S_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM versions",
    /* The page a device pulls: server order, inside its scope (the units
     * it holds and all below them), without what it pushed itself since
     * its cursor was born. "+subject" keeps SQLite walking the table in
     * seq order, which stops after one page; through the subject index it
     * would read every matching row, bodies and all, to sort them. */
    [S_PULL] =
        "WITH RECURSIVE down(code) AS ("
        "  SELECT unit FROM device_scope WHERE device = ?1 "
        "  UNION SELECT u.code FROM units u JOIN down ON u.parent = down.code "
        "  UNION SELECT u.code FROM units u JOIN down "
        "  ON u.merged_into = down.code) "
        "SELECT seq, body, sig FROM versions WHERE seq > ?2 "
        "AND (?3 OR +subject IN (SELECT code FROM down)) "
        "AND NOT (pusher = ?1 AND seq > ?4) ORDER BY seq LIMIT ?5",
    [S_Q_INSERT] =
        "INSERT INTO quarantine (hash, author, pusher, reason, body, "
        "sig, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_Q_WAIT_INSERT] =
        "INSERT OR IGNORE INTO quarantine_wait (hash, parent) VALUES (?1, ?2)",
    /* quarantine_wait is keyed (parent, hash): what waits for a parent is a
     * range of the primary key. */
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
    [S_ALARMS] = SRV_SQL_CHAIN_ALARMS,
    /* For /metrics and the administration commands: the flagged count
     * reads every version, which is fine at that pace, not per sync. */
    [S_COUNTS] = "SELECT (SELECT coalesce(max(seq), 0) FROM versions), "
                 "(SELECT count(*) FROM quarantine), "
                 "(SELECT count(*) FROM devices), "
                 "(SELECT count(*) FROM devices WHERE revoked_ms IS NOT NULL), "
                 "(SELECT count(*) FROM templates), "
                 "(SELECT count(*) FROM units), "
                 "(SELECT count(*) FROM versions WHERE flag IS NOT NULL)",
};

/* The server's schema files, compiled in by server.mk (scripts/embed.c). */
extern const struct fld_embedded srv_schema_files[];

/* Migrations in order: migration[i] brings user_version from i to i+1. */
static const char *const migration[] = {
    "server.sql",     "server-002.sql", "server-003.sql", "server-004.sql",
    "server-005.sql", "server-006.sql", "server-007.sql"};

static const struct fld_db_kind server_database = {
    .name = "field-server database",
    .program = "field-server",
    .application_id = FLD_DB_APP_SERVER,
    .files = srv_schema_files,
    .migrations = migration,
    .n_migrations = sizeof migration / sizeof migration[0],
    .sql = sql_text,
    .n_stmts = N_STMTS,
    /* The server queues its writers itself; an administration command
     * run beside it waits up to 10 s for the lock (a device waits 2 s). */
    .busy_ms = 10000,
    .open_flags = SQLITE_OPEN_NOMUTEX, /* one thread per handle */
    .missing = " (run field-server init)",
};

static struct srv_sq *SQ(struct srv_storage *st)
{
    return (struct srv_sq *)st;
}

static struct fld_db *DB(struct srv_storage *st)
{
    return srv_sq_db(st);
}

static int exec(struct srv_storage *st, const char *sql, const char *what,
                struct fld_err *err)
{
    return fld_db_exec(DB(st)->db, sql, what, err);
}

/* ---- opening ----------------------------------------------------------------
 */

static void sq_close(struct srv_storage *st)
{
    fld_db_close(DB(st));
    free(SQ(st));
}

/*
 * Create path empty, readable by its owner only, unless it exists
 * (FLD_EXISTS). The database holds the province's records and the
 * devices' keys: SQLite would create it 0644 (less the umask), and its
 * -wal and -shm files copy the database's mode, so creating the file
 * first is enough for all three.
 */
static int create_private(const char *path, struct fld_err *err)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

    if (fd < 0)
        return errno == EEXIST
                   ? fld_err_set(err, FLD_EXISTS, "%s: already exists", path)
                   : fld_err_set(err, FLD_EIO, "%s: cannot create: %s", path,
                                 strerror(errno));
    close(fd);
    return FLD_OK;
}

/* Without create, an existing empty file is still made a database: that
 * is what `field-server serve` did with one before. */
static int sq_open(const char *path, bool create, struct srv_storage **out,
                   struct fld_err *err)
{
    struct srv_sq *q;
    int rc;

    *out = NULL;
    /* An existing file is fld_db_open's to judge, as before. */
    rc = create ? create_private(path, err) : FLD_OK;
    if (rc != FLD_OK && rc != FLD_EXISTS)
        return rc;
    q = fld_xcalloc(1, sizeof *q);
    rc = fld_db_open(path, &server_database,
                     create ? FLD_DB_CREATE : FLD_DB_INIT_EMPTY, &q->d, err);
    if (rc != FLD_OK) {
        free(q);
        return rc;
    }
    q->base.ops = &srv_storage_sqlite;
    *out = &q->base;
    return FLD_OK;
}

static int sq_begin(struct srv_storage *st, struct fld_err *err)
{
    return fld_db_begin(DB(st), err);
}

static void sq_rollback(struct srv_storage *st)
{
    fld_db_rollback(DB(st));
}

static int sq_commit(struct srv_storage *st, struct fld_err *err)
{
    return fld_db_commit(DB(st), err);
}

static int sq_checkpoint(struct srv_storage *st, struct fld_err *err)
{
    return exec(st, "PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint", err);
}

/* SQLite folds the log after a commit that leaves this many pages in it
 * (its default): from here on, the folding thread is asked to. */
#define WAL_WANT_PAGES 1000
/* ... and past this many (64 MB of 4 kB pages) the commit folds anyway. */
#define WAL_MAX_PAGES 16000

/* SQLite's hook after each commit, in place of its automatic checkpoint
 * (setting a hook turns that off). */
static int wal_grew(void *ctx, sqlite3 *db, const char *name, int pages)
{
    struct srv_sq *q = ctx;

    if (pages >= WAL_MAX_PAGES)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL,
                                  NULL);
    else if (pages >= WAL_WANT_PAGES)
        q->want_checkpoint(q->want_ctx);
    return SQLITE_OK;
}

static void sq_checkpoint_elsewhere(struct srv_storage *st,
                                    void (*want)(void *ctx), void *ctx)
{
    struct srv_sq *q = (struct srv_sq *)st;

    q->want_checkpoint = want;
    q->want_ctx = ctx;
    sqlite3_wal_hook(DB(st)->db, wal_grew, q);
}

static int sq_checkpoint_passive(struct srv_storage *st, struct fld_err *err)
{
    return exec(st, "PRAGMA wal_checkpoint(PASSIVE)", "checkpoint", err);
}

static int sq_backup(struct srv_storage *st, const char *path,
                     struct fld_err *err)
{
    sqlite3 *dst = NULL;
    sqlite3_backup *b;
    int r;

    if ((r = create_private(path, err)) != FLD_OK)
        return r;
    r = sqlite3_open_v2(path, &dst,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOFOLLOW,
                        NULL);
    if (r != SQLITE_OK) {
        sqlite3_close(dst);
        unlink(path);
        return fld_err_set(err, FLD_EIO, "%s: cannot create", path);
    }
    b = sqlite3_backup_init(dst, "main", DB(st)->db, "main");
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
    int rc =
        fld_db_get_text(DB(st), S_META_GET, key, value, "read setting", err);

    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "setting %s is not set", key);
    return rc;
}

static int sq_meta_set(struct srv_storage *st, const char *key,
                       const char *value, struct fld_err *err)
{
    return fld_db_run(DB(st), S_META_SET, key, value, "write setting", err);
}

/* ---- walks --------------------------------------------------------------- */

/* Walk statement id, which has no parameters. */
int srv_sq_walk(struct srv_storage *st, int id, fld_db_row_fn read,
                struct srv_sq_walk *w, const char *what)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(DB(st), id, &s, w->err)) != FLD_OK)
        return rc;
    return fld_db_walk(DB(st), s, read, w, what, w->err);
}

/* ---- enrollment and devices ---------------------------------------------- */

static int sq_code_add(struct srv_storage *st, const struct srv_enroll_code *c,
                       struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(DB(st), S_CODE_INSERT, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, c->code_hash);
    fld_db_bind_text(s, 2, c->inspector);
    fld_db_bind_text(s, 3, c->role);
    fld_db_bind_text(s, 4, c->scope);
    sqlite3_bind_int64(s, 5, c->created_ms);
    sqlite3_bind_int64(s, 6, c->expires_ms);
    return fld_db_done(DB(st), s, "add enrollment code", err);
}

static int sq_code_use(struct srv_storage *st, const char *code_hash,
                       int64_t now, const char *device,
                       struct srv_enroll_code **out, struct fld_err *err)
{
    const char *what = "use enrollment code";
    struct srv_enroll_code *c;
    sqlite3_stmt *s;
    int rc;

    *out = NULL;
    if ((rc = fld_db_stmt(DB(st), S_CODE_USE, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, code_hash);
    sqlite3_bind_int64(s, 2, now);
    fld_db_bind_text(s, 3, device);
    rc = fld_db_row(DB(st), s, what, err);
    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND,
                           "unknown, used or expired enrollment code");
    if (rc != FLD_OK)
        return rc;
    c = fld_xcalloc(1, sizeof *c);
    memcpy(c->code_hash, code_hash, FLD_HASH_HEX_LEN + 1);
    c->inspector = fld_db_text_dup(s, 0);
    c->role = fld_db_text_dup(s, 1);
    c->scope = fld_db_text_dup(s, 2);
    c->created_ms = sqlite3_column_int64(s, 3);
    c->expires_ms = sqlite3_column_int64(s, 4);
    /* RETURNING: the change is made when the statement runs to its end. */
    if ((rc = fld_db_done(DB(st), s, what, err)) != FLD_OK) {
        srv_enroll_code_free(c);
        return rc;
    }
    *out = c;
    return FLD_OK;
}

static int sq_device_add(struct srv_storage *st, const struct srv_device *d,
                         struct fld_err *err)
{
    const char *what = "enrol device";
    sqlite3_stmt *s;
    size_t i;
    int rc;

    if ((rc = fld_db_stmt(DB(st), S_DEVICE_INSERT, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, d->pubkey);
    fld_db_bind_text(s, 2, d->inspector);
    fld_db_bind_text(s, 3, d->role);
    sqlite3_bind_int64(s, 4, d->enrolled_ms);
    rc = fld_db_done(DB(st), s, what, err);
    if (rc == FLD_EXISTS)
        return fld_err_set(err, FLD_EXISTS, "device %.16s is already enrolled",
                           d->pubkey);
    for (i = 0; i < d->n_scope && rc == FLD_OK; i++)
        rc = fld_db_run(DB(st), S_SCOPE_INSERT, d->pubkey, d->scope[i], what,
                        err);
    return rc;
}

static int load_scope(struct srv_storage *st, struct srv_device *d,
                      struct fld_err *err)
{
    return fld_db_texts(DB(st), S_SCOPE_OF, d->pubkey, &d->scope, &d->n_scope,
                        "read scope", err);
}

static struct srv_device *device_from_row(sqlite3_stmt *s, const char *pubkey,
                                          int first)
{
    struct srv_device *d = fld_xcalloc(1, sizeof *d);

    snprintf(d->pubkey, sizeof d->pubkey, "%s", pubkey ? pubkey : "");
    d->inspector = fld_db_text_dup(s, first);
    d->role = fld_db_text_dup(s, first + 1);
    d->enrolled_ms = sqlite3_column_int64(s, first + 2);
    d->revoked_ms = sqlite3_column_type(s, first + 3) == SQLITE_NULL
                        ? 0
                        : sqlite3_column_int64(s, first + 3);
    return d;
}

static int sq_device_get(struct srv_storage *st, const char *pubkey,
                         struct srv_device **out, struct fld_err *err)
{
    struct srv_device *d;
    sqlite3_stmt *s;
    int rc;

    *out = NULL;
    rc = fld_db_lookup(DB(st), S_DEVICE_GET, pubkey, NULL, &s, "read device",
                       err);
    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "device %.16s is not enrolled",
                           pubkey);
    if (rc != FLD_OK)
        return rc;
    d = device_from_row(s, pubkey, 0);
    fld_db_reset(s);
    if ((rc = load_scope(st, d, err)) != FLD_OK) {
        srv_device_free(d);
        return rc;
    }
    *out = d;
    return FLD_OK;
}

static int sq_device_find(struct srv_storage *st, const char *prefix,
                          char out[FLD_HASH_HEX_LEN + 1], struct fld_err *err)
{
    int rc, n;

    rc = fld_db_prefix(DB(st), S_DEVICE_FIND, prefix, out, FLD_HASH_HEX_LEN + 1,
                       &n, "find device", err);
    if (rc != FLD_OK)
        return rc;
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
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(DB(st), S_DEVICE_REVOKE, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, pubkey);
    sqlite3_bind_int64(s, 2, now);
    if ((rc = fld_db_done(DB(st), s, "revoke device", err)) != FLD_OK)
        return rc;
    if (sqlite3_changes(DB(st)->db) == 0)
        return fld_err_set(err, FLD_EXISTS, "device %.16s is already revoked",
                           pubkey);
    return FLD_OK;
}

struct devices {
    struct srv_device **all;
    size_t n, cap;
};

static int add_device(void *ctx, sqlite3_stmt *s)
{
    struct devices *l = ctx;

    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->all = fld_xreallocarray(l->all, l->cap, sizeof *l->all);
    }
    l->all[l->n++] = device_from_row(s, fld_db_text(s, 0), 1);
    return FLD_OK;
}

static int sq_each_device(struct srv_storage *st, srv_device_fn fn, void *ctx,
                          struct fld_err *err)
{
    struct devices l = {NULL, 0, 0};
    sqlite3_stmt *s;
    size_t i;
    int rc;

    if ((rc = fld_db_stmt(DB(st), S_DEVICES, &s, err)) != FLD_OK)
        return rc;
    /* Read the list first: the callback may read scopes in between. */
    rc = fld_db_walk(DB(st), s, add_device, &l, "list devices", err);
    for (i = 0; i < l.n && rc == FLD_OK; i++) {
        rc = load_scope(st, l.all[i], err);
        if (rc == FLD_OK)
            rc = fn(ctx, l.all[i]);
    }
    for (i = 0; i < l.n; i++)
        srv_device_free(l.all[i]);
    free(l.all);
    return rc;
}

/* ---- templates --------------------------------------------------------------
 */

static int sq_template_put(struct srv_storage *st,
                           const struct srv_template_row *t,
                           const uint8_t *body, size_t len, struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(DB(st), S_TEMPLATE_INSERT, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, t->hash);
    fld_db_bind_text(s, 2, t->id);
    fld_db_bind_text(s, 3, t->version ? t->version : "");
    sqlite3_bind_blob(s, 4, body, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, t->added_ms);
    rc = fld_db_done(DB(st), s, "add template", err);
    if (rc == FLD_EXISTS)
        return fld_err_set(err, FLD_EXISTS,
                           "template %s (%.16s) is already there", t->id,
                           t->hash);
    return rc;
}

static int sq_template_get(struct srv_storage *st, const char *hash,
                           uint8_t **body, size_t *len, struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    *body = NULL;
    *len = 0;
    rc = fld_db_lookup(DB(st), S_TEMPLATE_GET, hash, NULL, &s, "read template",
                       err);
    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "no template %.16s", hash);
    if (rc != FLD_OK)
        return rc;
    *body = fld_db_blob_dup(s, 0, len);
    fld_db_reset(s);
    return FLD_OK;
}

static int template_row(void *data, sqlite3_stmt *s)
{
    const struct srv_sq_walk *w = data;
    struct srv_template_row t;

    t.hash = fld_db_text(s, 0);
    t.id = fld_db_text(s, 1);
    t.version = fld_db_text(s, 2);
    t.added_ms = sqlite3_column_int64(s, 3);
    return w->fn.template(w->ctx, &t);
}

static int sq_each_template(struct srv_storage *st, srv_template_fn fn,
                            void *ctx, struct fld_err *err)
{
    struct srv_sq_walk w = {.fn.template = fn, .ctx = ctx, .err = err};

    return srv_sq_walk(st, S_TEMPLATES, template_row, &w, "list templates");
}

/* ---- versions ---------------------------------------------------------------
 */

static int sq_version_state(struct srv_storage *st, const char *hash,
                            enum srv_version_state *out, struct fld_err *err)
{
    int64_t state;
    int rc = fld_db_int64s(DB(st), S_VERSION_STATE, hash, &state, 1,
                           "read version", err);

    *out = state == 1   ? SRV_PRESENT
           : state == 2 ? SRV_IN_QUARANTINE
                        : SRV_ABSENT;
    return rc;
}

static int sq_version_record(struct srv_storage *st, const char *hash,
                             char **record, struct fld_err *err)
{
    int rc = fld_db_get_text(DB(st), S_VERSION_RECORD, hash, record,
                             "read version", err);

    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "version %.16s is not stored",
                           hash);
    return rc;
}

static int sq_version_put(struct srv_storage *st,
                          const struct srv_version_in *in, int64_t *seq,
                          struct fld_err *err)
{
    /* push.c stores a version only once all its parents are stored, so
     * none that names it can be here yet: no look-up for children. */
    static const struct fld_db_heads heads = {S_PARENT_INSERT, S_HEAD_DELETE,
                                              FLD_DB_NO_CHILD, S_HEAD_INSERT};
    sqlite3_stmt *s;
    int rc;

    *seq = 0;
    if ((rc = fld_db_stmt(DB(st), S_VERSION_INSERT, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_version(s, in->v);
    fld_db_bind_text(s, 14, in->pusher);
    sqlite3_bind_int64(s, 15, in->received_ms);
    fld_db_bind_text(s, 16, in->flag);
    if (in->ahead_ms > 0)
        sqlite3_bind_int64(s, 17, in->ahead_ms);
    rc = fld_db_done(DB(st), s, "store version", err);
    if (rc == FLD_EXISTS)
        return fld_err_set(err, FLD_EXISTS, "version %.16s already stored",
                           in->v->hash);
    if (rc != FLD_OK)
        return rc;
    *seq = sqlite3_last_insert_rowid(DB(st)->db);
    /* The photos it names, in the same transaction: from now on a device
     * that may pull it may upload and fetch them. */
    if ((rc = srv_sq_attachments_name(st, *seq, in->v, err)) != FLD_OK)
        return rc;
    return fld_db_heads_add(DB(st), &heads, in->v, *seq, err);
}

/* A fork: a stored version that breaks v's author's chain with v (S_FORK
 * says which). A gap: the previous version is not stored here. Both are
 * reported by push.c as alarms; neither refuses the version. */
static int sq_chain_check(struct srv_storage *st, const struct fld_version *v,
                          char fork_with[FLD_HASH_HEX_LEN + 1],
                          bool *prev_missing, struct fld_err *err)
{
    bool found = true;
    sqlite3_stmt *s;
    int rc;

    fork_with[0] = '\0';
    *prev_missing = false;
    if ((rc = fld_db_stmt(DB(st), S_FORK, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, v->author);
    sqlite3_bind_int64(s, 2, v->dseq);
    fld_db_bind_text(s, 3, v->prev);
    fld_db_bind_text(s, 4, v->hash);
    rc = fld_db_row(DB(st), s, "check chain", err);
    if (rc == FLD_OK) {
        snprintf(fork_with, FLD_HASH_HEX_LEN + 1, "%s",
                 fld_db_text(s, 0) ? fld_db_text(s, 0) : "");
        fld_db_reset(s);
    } else if (rc != FLD_NOTFOUND) {
        return rc;
    }
    if (v->prev != NULL) {
        rc = fld_db_exists(DB(st), S_HAS_VERSION, v->prev, NULL, &found, "read",
                           err);
        if (rc != FLD_OK)
            return rc;
    }
    *prev_missing = !found;
    return FLD_OK;
}

static int sq_max_seq(struct srv_storage *st, int64_t *out, struct fld_err *err)
{
    return fld_db_int64s(DB(st), S_MAX_SEQ, NULL, out, 1, "read", err);
}

/* A stored version handed on as it was signed: a signature of the wrong
 * length is damage, never something to send. */
static int pull_row(void *data, sqlite3_stmt *s)
{
    const struct srv_sq_walk *w = data;

    if (sqlite3_column_bytes(s, 2) != FLD_SIG_LEN)
        return fld_err_set(w->err, FLD_ECORRUPT,
                           "a stored signature is damaged");
    return w->fn.pull(
        w->ctx, sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1),
        (size_t)sqlite3_column_bytes(s, 1), sqlite3_column_blob(s, 2));
}

static int sq_pull(struct srv_storage *st, const struct srv_pull_query *pq,
                   srv_pull_fn fn, void *ctx, struct fld_err *err)
{
    struct srv_sq_walk w = {.fn.pull = fn, .ctx = ctx, .err = err};
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(DB(st), S_PULL, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, pq->device);
    sqlite3_bind_int64(s, 2, pq->after);
    sqlite3_bind_int(s, 3, pq->all_units ? 1 : 0);
    sqlite3_bind_int64(s, 4, pq->birth);
    sqlite3_bind_int64(s, 5, pq->limit);
    return fld_db_walk(DB(st), s, pull_row, &w, "pull", err);
}

/* Every stored version of one record, in server order (for the merge). */
static int sq_record_versions(struct srv_storage *st, const char *record,
                              srv_pull_fn fn, void *ctx, struct fld_err *err)
{
    struct srv_sq_walk w = {.fn.pull = fn, .ctx = ctx, .err = err};
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(DB(st), S_RECORD_VERSIONS, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, record);
    return fld_db_walk(DB(st), s, pull_row, &w, "read record", err);
}

static int record_row(void *data, sqlite3_stmt *s)
{
    const struct srv_sq_walk *w = data;

    return w->fn.record(w->ctx, fld_db_text(s, 0));
}

static int sq_each_record(struct srv_storage *st,
                          const struct srv_record_query *q, srv_record_fn fn,
                          void *ctx, struct fld_err *err)
{
    struct srv_sq_walk w = {.fn.record = fn, .ctx = ctx, .err = err};
    struct fld_json *units = fld_json_array();
    struct fld_buf text = FLD_BUF_INIT;
    sqlite3_stmt *s;
    size_t i;
    int rc;

    for (i = 0; i < q->n_units; i++)
        fld_json_append(units, fld_json_string(q->units[i]));
    rc = fld_json_write(units, &text, err);
    fld_json_free(units);
    if (rc == FLD_OK)
        rc = fld_db_stmt(DB(st), S_RECORDS, &s, err);
    if (rc == FLD_OK) {
        fld_db_bind_text(s, 1, fld_buf_str(&text));
        sqlite3_bind_int(s, 2, q->n_units == 0);
        fld_db_bind_text(s, 3, q->template_id);
        sqlite3_bind_int64(s, 4, q->limit > 0 ? q->limit : -1);
        rc = fld_db_walk(DB(st), s, record_row, &w, "list records", err);
    }
    fld_buf_free(&text);
    return rc;
}

/* ---- quarantine -----------------------------------------------------------
 */

static int sq_quarantine_put(struct srv_storage *st,
                             const struct srv_quarantined *qv,
                             const char *const *waits, size_t n_waits,
                             struct fld_err *err)
{
    const char *what = "quarantine version";
    sqlite3_stmt *s;
    size_t i;
    int rc;

    if ((rc = fld_db_stmt(DB(st), S_Q_INSERT, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, qv->hash);
    fld_db_bind_text(s, 2, qv->author);
    fld_db_bind_text(s, 3, qv->pusher);
    fld_db_bind_text(s, 4, qv->reason);
    sqlite3_bind_blob(s, 5, qv->body, (int)qv->body_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 6, qv->sig, FLD_SIG_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, qv->received_ms);
    rc = fld_db_done(DB(st), s, what, err);
    for (i = 0; i < n_waits && rc == FLD_OK; i++)
        rc = fld_db_run(DB(st), S_Q_WAIT_INSERT, qv->hash, waits[i], what, err);
    return rc;
}

/* Call fn with a private copy of the quarantined row of hash: fn may store
 * versions and walk the quarantine again, reusing these statements. */
static int with_quarantined(struct srv_storage *st, const char *hash,
                            srv_quarantine_fn fn, void *ctx,
                            struct fld_err *err)
{
    struct srv_quarantined row;
    char *hash_c, *author, *pusher, *reason;
    uint8_t *body, sig[FLD_SIG_LEN];
    sqlite3_stmt *s;
    int rc;

    rc = fld_db_lookup(DB(st), S_Q_GET, hash, NULL, &s, "read quarantine", err);
    if (rc == FLD_NOTFOUND)
        return FLD_OK;
    if (rc != FLD_OK)
        return rc;
    if (sqlite3_column_bytes(s, 5) != FLD_SIG_LEN) {
        fld_db_reset(s);
        return fld_err_set(err, FLD_ECORRUPT, "quarantined %.16s is damaged",
                           hash);
    }
    hash_c = fld_db_text_dup(s, 0);
    author = fld_db_text_dup(s, 1);
    pusher = fld_db_text_dup(s, 2);
    reason = fld_db_text_dup(s, 3);
    body = fld_db_blob_dup(s, 4, &row.body_len);
    memcpy(sig, sqlite3_column_blob(s, 5), FLD_SIG_LEN);
    row.received_ms = sqlite3_column_int64(s, 6);
    fld_db_reset(s);
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

/*
 * parent has just been stored: what waited for it waits for it no longer.
 * The waiters are read whole first, since their wait rows are deleted
 * before each is looked at and fn may run these statements again. A waiter
 * is handed to fn only when no other parent is still missing; it stays in
 * the quarantine table until push.c takes it out to place it again.
 */
static int sq_quarantine_unblock(struct srv_storage *st, const char *parent,
                                 srv_quarantine_fn fn, void *ctx,
                                 struct fld_err *err)
{
    const char *what = "release quarantine";
    char **waiters;
    size_t n, i;
    int64_t left;
    int rc;

    rc = fld_db_texts(DB(st), S_Q_WAITERS, parent, &waiters, &n,
                      "read quarantine", err);
    if (rc != FLD_OK)
        return rc;
    if (n == 0)
        return FLD_OK;
    rc = fld_db_run(DB(st), S_Q_WAIT_DELETE, parent, NULL, what, err);
    for (i = 0; i < n && rc == FLD_OK; i++) {
        rc = fld_db_int64s(DB(st), S_Q_WAIT_COUNT, waiters[i], &left, 1,
                           "read quarantine", err);
        if (rc == FLD_OK && left == 0)
            rc = with_quarantined(st, waiters[i], fn, ctx, err);
    }
    fld_db_strv_free(waiters, n);
    return rc;
}

static int sq_quarantine_each(struct srv_storage *st, const char *reason,
                              srv_quarantine_fn fn, void *ctx,
                              struct fld_err *err)
{
    char **hashes;
    size_t n, i;
    int rc;

    rc = fld_db_texts(DB(st), S_Q_EACH, reason, &hashes, &n, "read quarantine",
                      err);
    for (i = 0; i < n && rc == FLD_OK; i++)
        rc = with_quarantined(st, hashes[i], fn, ctx, err);
    fld_db_strv_free(hashes, n);
    return rc;
}

static int sq_quarantine_remove(struct srv_storage *st, const char *hash,
                                struct fld_err *err)
{
    const char *what = "release quarantine";
    int rc = fld_db_run(DB(st), S_Q_DELETE, hash, NULL, what, err);

    if (rc == FLD_OK)
        rc = fld_db_run(DB(st), S_Q_WAIT_DELETE_HASH, hash, NULL, what, err);
    return rc;
}

/* ---- audit ----------------------------------------------------------------
 */

static int sq_audit_add(struct srv_storage *st, const char *kind,
                        const char *device, const char *subject,
                        const char *detail, struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(DB(st), S_AUDIT_INSERT, &s, err)) != FLD_OK)
        return rc;
    sqlite3_bind_int64(s, 1, fld_now_ms());
    fld_db_bind_text(s, 2, kind);
    fld_db_bind_text(s, 3, device);
    fld_db_bind_text(s, 4, subject);
    fld_db_bind_text(s, 5, detail);
    return fld_db_done(DB(st), s, "write audit log", err);
}

static int audit_row(void *data, sqlite3_stmt *s)
{
    const struct srv_sq_walk *w = data;
    struct srv_audit_row a;

    a.id = sqlite3_column_int64(s, 0);
    a.at_ms = sqlite3_column_int64(s, 1);
    a.kind = fld_db_text(s, 2);
    a.device = fld_db_text(s, 3);
    a.subject = fld_db_text(s, 4);
    a.detail = fld_db_text(s, 5);
    return w->fn.audit(w->ctx, &a);
}

static int sq_each_audit(struct srv_storage *st, const char *kind,
                         srv_audit_fn fn, void *ctx, struct fld_err *err)
{
    struct srv_sq_walk w = {.fn.audit = fn, .ctx = ctx, .err = err};
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(DB(st), S_AUDIT_EACH, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, kind);
    return fld_db_walk(DB(st), s, audit_row, &w, "read audit log", err);
}

static int alarm_row(void *data, sqlite3_stmt *s)
{
    const struct srv_sq_walk *w = data;
    struct srv_chain_alarm a;

    a.kind = fld_db_text(s, 0);
    a.author = fld_db_text(s, 1);
    a.dseq = sqlite3_column_int64(s, 2);
    a.hash = fld_db_text(s, 3);
    a.other = fld_db_text(s, 4);
    return w->fn.alarm(w->ctx, &a);
}

static int sq_each_alarm(struct srv_storage *st, srv_alarm_fn fn, void *ctx,
                         struct fld_err *err)
{
    struct srv_sq_walk w = {.fn.alarm = fn, .ctx = ctx, .err = err};

    return srv_sq_walk(st, S_ALARMS, alarm_row, &w, "check chains");
}

static int sq_counts(struct srv_storage *st, struct srv_counts *out,
                     struct fld_err *err)
{
    int64_t v[7];
    int rc = fld_db_int64s(DB(st), S_COUNTS, NULL, v, sizeof v / sizeof v[0],
                           "count", err);

    out->versions = v[0];
    out->quarantined = v[1];
    out->devices = v[2];
    out->revoked = v[3];
    out->templates = v[4];
    out->units = v[5];
    out->flagged = v[6];
    return rc;
}

const struct srv_storage_ops srv_storage_sqlite = {
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .checkpoint = sq_checkpoint,
    .checkpoint_elsewhere = sq_checkpoint_elsewhere,
    .checkpoint_passive = sq_checkpoint_passive,
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
    .unit_put = srv_sq_unit_put,
    .unit_exists = srv_sq_unit_exists,
    .each_unit = srv_sq_each_unit,
    .in_scope = srv_sq_in_scope,
    .unit_drop = srv_sq_unit_drop,
    .units_on = srv_sq_units_on,
    .target_put = srv_sq_target_put,
    .each_target = srv_sq_each_target,
    .template_put = sq_template_put,
    .template_get = sq_template_get,
    .each_template = sq_each_template,
    .version_state = sq_version_state,
    .version_record = sq_version_record,
    .version_put = sq_version_put,
    .chain_check = sq_chain_check,
    .max_seq = sq_max_seq,
    .pull = sq_pull,
    .each_record = sq_each_record,
    .record_versions = sq_record_versions,
    .each_version_until = srv_sq_each_version_until,
    .version_body = srv_sq_version_body,
    .quarantine_put = sq_quarantine_put,
    .quarantine_unblock = sq_quarantine_unblock,
    .quarantine_each = sq_quarantine_each,
    .quarantine_remove = sq_quarantine_remove,
    .audit_add = sq_audit_add,
    .each_audit = sq_each_audit,
    .each_alarm = sq_each_alarm,
    .counts = sq_counts,
    .thresholds_put = srv_sq_thresholds_put,
    .thresholds_each = srv_sq_thresholds_each,
    .thresholds_max_seq = srv_sq_thresholds_max_seq,
    .attachments_seen = srv_sq_attachments_seen,
    .attachment_ack = srv_sq_attachment_ack,
    .attachment_stored = srv_sq_attachment_stored,
    .attachment_reset = srv_sq_attachment_reset,
    .attachments_stale = srv_sq_attachments_stale,
    .record_attachments = srv_sq_record_attachments,
};
