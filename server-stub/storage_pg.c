/*
 * storage_pg.c - the PostgreSQL back end of the server's storage (see
 * storage.h for the contract, schema/pg/server.sql for the tables): what
 * lets several field-server processes, on several machines, share one
 * province's or one country's database (issue 16). It keeps what it is
 * told to keep and answers what it is asked, op for op as the SQLite back
 * end (storage_sqlite*.c) does; the tests compare the two.
 *
 * How. One libpq connection per handle (server.c gives each worker thread
 * a handle of its own, so a connection is used by one thread at a time).
 * Every statement is in the table below, indexed by an enum as in
 * storage_sqlite.c, prepared on the connection the first time it is used
 * and kept; values travel only as parameters: text and numbers in text
 * format, bodies and signatures (bytea) in binary. Results come back in
 * binary format, read by the col_* helpers by the column's type. Libpq
 * notices are swallowed: a library module never prints.
 *
 * The decisions, and why:
 *
 *   - Transactions. begin is BEGIN ISOLATION LEVEL READ COMMITTED and then
 *     takes one transaction-scoped advisory lock, WRITER_LOCK, held until
 *     COMMIT or ROLLBACK. So writers are serialised across every server on
 *     the database, as the one SQLite writer is in one server (BEGIN
 *     IMMEDIATE), and push.c's read-then-write decisions (is it stored? in
 *     quarantine? which parent is missing?) hold across servers too.
 *     READ COMMITTED, not REPEATABLE READ, on purpose: each statement
 *     after the lock sees everything the previous holder committed; a
 *     snapshot taken when the transaction began (before waiting for the
 *     lock) would not.
 *   - The pull cursor under concurrent writers. seq comes from an identity
 *     column: a number is taken at insert and could commit after a greater
 *     one taken by another transaction, and a device that had pulled the
 *     greater one would never see the smaller. It cannot happen here: a
 *     version (or threshold revision) is inserted only inside a
 *     transaction that holds WRITER_LOCK, so the transaction that takes a
 *     number has seen every smaller number committed or rolled back
 *     (sequence numbers given to a rolled-back transaction are simply
 *     never used). Rule: every writing transaction holds WRITER_LOCK from
 *     its start to its end; nothing inserts a version otherwise.
 *     docs/SERVER.md ("PostgreSQL") says the same for operators.
 *   - Errors abort a PostgreSQL transaction, so an expected outcome must
 *     not be an error: inserts that may meet a row already there say ON
 *     CONFLICT DO NOTHING and the op answers FLD_EXISTS when no row was
 *     written, and the transaction goes on as with SQLite.
 *   - Checkpoints are no-ops: PostgreSQL folds its write-ahead log itself
 *     (its checkpointer process), the server has nothing to ask for.
 *     Backup is refused: pg_dump (or the cluster's own base backups and
 *     WAL archiving) is the tool, and docs/SERVER.md says how.
 *   - The scope walks are recursive CTEs like SQLite's, with one recursive
 *     reference each (PostgreSQL allows no more): down follows parent and
 *     merged_into in one join. UNION, not UNION ALL, so a cycle ends.
 *   - Lists given to one statement (units to export, attachment hashes)
 *     travel as one JSON array parameter, as in the SQLite back end.
 */
#include "storage_pg.h"

#include <assert.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "embedded.h"
#include "hlc.h"
#include "json.h"
#include "storage_raw.h"
#include "thresholds.h"

/* The advisory lock every writing transaction holds (see above): the
 * bytes of "fieldsrv". */
#define WRITER_LOCK "7379091425924838006"

/* Column types as the server reports them (pg_type OIDs, fixed since
 * PostgreSQL 7; libpq ships no header naming them to clients). */
enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23 };

enum pg_stmt {
    P_BEGIN,
    P_LOCK,
    P_COMMIT,
    P_ROLLBACK,
    P_HAS_META,
    P_META_GET,
    P_META_SET,
    P_CODE_INSERT,
    P_CODE_USE,
    P_DEVICE_INSERT,
    P_SCOPE_INSERT,
    P_DEVICE_GET,
    P_SCOPE_OF,
    P_DEVICE_FIND,
    P_DEVICE_REVOKE,
    P_DEVICES,
    P_UNIT_PUT,
    P_UNIT_DROP,
    P_UNIT_EXISTS,
    P_UNITS,
    P_UNITS_ON,
    P_IN_SCOPE,
    P_TARGET_DROP,
    P_TARGET_INSERT,
    P_TARGETS,
    P_TEMPLATE_INSERT,
    P_TEMPLATE_GET,
    P_TEMPLATES,
    P_VERSION_STATE,
    P_VERSION_RECORD,
    P_VERSION_INSERT,
    P_PARENT_INSERT,
    P_HEAD_DELETE,
    P_HEAD_INSERT,
    P_FORK,
    P_HAS_VERSION,
    P_MAX_SEQ,
    P_PULL,
    P_RECORD_VERSIONS,
    P_VERSIONS_UNTIL,
    P_VERSION_BODY,
    P_RECORDS,
    P_Q_INSERT,
    P_Q_WAIT_INSERT,
    P_Q_WAITERS,
    P_Q_WAIT_DELETE,
    P_Q_WAIT_COUNT,
    P_Q_GET,
    P_Q_EACH,
    P_Q_DELETE,
    P_Q_WAIT_DELETE_HASH,
    P_AUDIT_INSERT,
    P_AUDIT_EACH,
    P_ALARMS,
    P_COUNTS,
    P_THR_INSERT,
    P_THR_EACH,
    P_THR_MAX_SEQ,
    P_ATT_REF_INSERT,
    P_ATT_INSERT,
    P_ATT_SEEN,
    P_ATT_ACK,
    P_ATT_STORED,
    P_ATT_RESET,
    P_ATT_STALE,
    P_ATT_RECORD,
    P_ANY_TABLE,
    N_PG_STMTS
};

#define UNIT_COLUMNS                                                           \
    "code, name, kind, parent, valid_from, valid_to, in_programme, "           \
    "merged_into"

/* The units a device holds and every unit below them (parent or
 * merged_into, every version together: storage.h). $1 is the device. */
#define SCOPE_DOWN                                                             \
    "WITH RECURSIVE down(code) AS ("                                           \
    "  SELECT unit FROM device_scope WHERE device = $1::text "                 \
    "  UNION SELECT u.code FROM units u JOIN down "                            \
    "  ON u.parent = down.code OR u.merged_into = down.code) "

static const char *const sql_text[N_PG_STMTS] = {
    [P_BEGIN] = "BEGIN ISOLATION LEVEL READ COMMITTED",
    [P_LOCK] = "SELECT pg_advisory_xact_lock(" WRITER_LOCK ")",
    [P_COMMIT] = "COMMIT",
    [P_ROLLBACK] = "ROLLBACK",
    [P_HAS_META] = "SELECT to_regclass('meta') IS NOT NULL",
    [P_META_GET] = "SELECT value FROM meta WHERE key = $1",
    [P_META_SET] = "INSERT INTO meta (key, value) VALUES ($1, $2) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [P_CODE_INSERT] = "INSERT INTO enroll_codes (code_hash, inspector, role, "
                      "scope, created_ms, expires_ms) VALUES ($1, $2, $3, $4, "
                      "$5, $6) ON CONFLICT DO NOTHING",
    /* One statement both checks and spends the code: two servers racing
     * with the same code cannot both enrol (the row lock decides). */
    [P_CODE_USE] =
        "UPDATE enroll_codes SET used_ms = $2, used_by = $3 "
        "WHERE code_hash = $1 AND used_ms IS NULL AND expires_ms > $2 "
        "RETURNING inspector, role, scope, created_ms, expires_ms",
    [P_DEVICE_INSERT] = "INSERT INTO devices (pubkey, inspector, role, "
                        "enrolled_ms) VALUES ($1, $2, $3, $4) "
                        "ON CONFLICT DO NOTHING",
    [P_SCOPE_INSERT] = "INSERT INTO device_scope (device, unit) VALUES ($1, "
                       "$2) ON CONFLICT DO NOTHING",
    [P_DEVICE_GET] = "SELECT inspector, role, enrolled_ms, revoked_ms "
                     "FROM devices WHERE pubkey = $1",
    [P_SCOPE_OF] =
        "SELECT unit FROM device_scope WHERE device = $1 ORDER BY unit",
    /* Byte order (COLLATE "C" in the schema): [prefix, prefix||'g') is
     * the range of hex keys starting with prefix. */
    [P_DEVICE_FIND] = "SELECT pubkey FROM devices WHERE pubkey >= $1::text "
                      "AND pubkey < $1::text || 'g' ORDER BY pubkey LIMIT 2",
    [P_DEVICE_REVOKE] = "UPDATE devices SET revoked_ms = $2 WHERE pubkey = $1 "
                        "AND revoked_ms IS NULL",
    [P_DEVICES] = "SELECT pubkey, inspector, role, enrolled_ms, revoked_ms "
                  "FROM devices ORDER BY enrolled_ms, pubkey",
    [P_UNIT_PUT] =
        "INSERT INTO units (" UNIT_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, "
        "$7, $8) ON CONFLICT (code, valid_from) DO UPDATE SET "
        "name = excluded.name, kind = excluded.kind, "
        "parent = excluded.parent, valid_to = excluded.valid_to, "
        "in_programme = excluded.in_programme, "
        "merged_into = excluded.merged_into",
    [P_UNIT_DROP] = "DELETE FROM units WHERE code = $1 AND valid_from = $2",
    [P_UNIT_EXISTS] = "SELECT 1 FROM units WHERE code = $1 LIMIT 1",
    [P_UNITS] = "SELECT " UNIT_COLUMNS " FROM units ORDER BY code, valid_from",
    [P_UNITS_ON] =
        "SELECT " UNIT_COLUMNS " FROM units WHERE valid_from <= $1::text "
        "AND (valid_to IS NULL OR valid_to >= $1::text) "
        "ORDER BY code, valid_from",
    /* Up from the subject: every parent any version names and the unit it
     * merged into. (Both terms of a recursive CTE must have one collation:
     * the columns' "C".) */
    [P_IN_SCOPE] = "WITH RECURSIVE up(code) AS (SELECT $2::text COLLATE \"C\" "
                   "  UNION SELECT x.c FROM units u JOIN up ON u.code = "
                   "  up.code CROSS JOIN LATERAL (VALUES (u.parent), "
                   "  (u.merged_into)) x(c) WHERE x.c IS NOT NULL) "
                   "SELECT 1 FROM device_scope s WHERE s.device = $1 AND "
                   "s.unit IN (SELECT code FROM up) LIMIT 1",
    /* A replaced target goes to the end of the load order: the old row
     * is deleted and a new one (a new id) inserted, as SQLite's REPLACE
     * does. */
    [P_TARGET_DROP] = "DELETE FROM targets WHERE unit = $1 AND tier = $2 "
                      "AND applies_from = $3",
    [P_TARGET_INSERT] =
        "INSERT INTO targets (unit, tier, count, applies_from, due, source, "
        "loaded_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    [P_TARGETS] = "SELECT unit, tier, count, applies_from, due, source, "
                  "loaded_ms FROM targets ORDER BY id",
    [P_TEMPLATE_INSERT] = "INSERT INTO templates (hash, id, version, body, "
                          "added_ms) VALUES ($1, $2, $3, $4, $5) "
                          "ON CONFLICT DO NOTHING",
    [P_TEMPLATE_GET] = "SELECT body FROM templates WHERE hash = $1",
    [P_TEMPLATES] = "SELECT hash, id, version, added_ms FROM templates "
                    "ORDER BY id, added_ms, hash",
    [P_VERSION_STATE] = "SELECT coalesce((SELECT 1 FROM versions WHERE "
                        "hash = $1::text), (SELECT 2 FROM quarantine WHERE "
                        "hash = $1::text), 0)",
    [P_VERSION_RECORD] = "SELECT record FROM versions WHERE hash = $1::text",
    [P_VERSION_INSERT] =
        "INSERT INTO versions (hash, record, author, dseq, prev, hlc_ms, "
        "hlc_count, template_id, template_hash, subject, status, body, sig, "
        "pusher, received_ms, flag, ahead_ms) VALUES ($1, $2, $3, $4, $5, "
        "$6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) "
        "ON CONFLICT (hash) DO NOTHING RETURNING seq",
    /* edges keyed by the child's row (schema/pg/server-007.sql) */
    [P_PARENT_INSERT] = "INSERT INTO parents (child_seq, parent) "
                        "VALUES ($1, $2) ON CONFLICT DO NOTHING",
    [P_HEAD_DELETE] = "DELETE FROM heads WHERE record = $1 AND hash = $2",
    [P_HEAD_INSERT] = "INSERT INTO heads (record, hash) VALUES ($1, $2) "
                      "ON CONFLICT DO NOTHING",
    /* storage_sqlite.c's S_FORK */
    [P_FORK] =
        "(SELECT hash FROM versions WHERE author = $1::text "
        "  AND dseq = $2::bigint AND hash <> $4::text) "
        "UNION ALL (SELECT hash FROM versions WHERE author = $1::text "
        "  AND dseq = $2::bigint - 1 AND hash IS DISTINCT FROM $3::text) "
        "UNION ALL (SELECT hash FROM versions WHERE author = $1::text "
        "  AND dseq = $2::bigint + 1 AND prev IS DISTINCT FROM $4::text) "
        "UNION ALL (SELECT hash FROM versions WHERE hash = $3::text "
        "  AND (author <> $1::text OR dseq <> $2::bigint - 1)) "
        "LIMIT 1",
    [P_HAS_VERSION] = "SELECT 1 FROM versions WHERE hash = $1",
    [P_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM versions",
    /* The page a device pulls (storage_sqlite.c's S_PULL). */
    [P_PULL] = SCOPE_DOWN
    "SELECT seq, body, sig FROM versions WHERE seq > $2 "
    "AND ($3::boolean OR subject IN (SELECT code FROM down)) "
    "AND NOT (pusher = $1::text AND seq > $4) ORDER BY seq LIMIT $5",
    [P_RECORD_VERSIONS] = "SELECT seq, body, sig FROM versions "
                          "WHERE record = $1 ORDER BY seq",
    [P_VERSIONS_UNTIL] =
        "SELECT v.record, v.hash, v.subject, v.status, v.template_hash, "
        "v.received_ms, (SELECT string_agg(p.parent, ' ' ORDER BY p.parent) "
        "FROM parents p WHERE p.child_seq = v.seq) FROM versions v "
        "WHERE v.received_ms <= $1 ORDER BY v.record, v.seq",
    [P_VERSION_BODY] = "SELECT body, sig FROM versions WHERE hash = $1",
    [P_RECORDS] =
        "WITH RECURSIVE down(code) AS (SELECT json_array_elements_text("
        "  $1::json) COLLATE \"C\" UNION SELECT u.code FROM units u JOIN down "
        "  ON u.parent = down.code) "
        "SELECT record FROM versions WHERE ($2::boolean OR subject IN "
        "(SELECT code FROM down)) AND ($3::text IS NULL OR template_id = "
        "$3::text) GROUP BY record ORDER BY max(subject), record LIMIT $4",
    [P_Q_INSERT] = "INSERT INTO quarantine (hash, author, pusher, reason, "
                   "body, sig, received_ms) VALUES ($1, $2, $3, $4, $5, $6, "
                   "$7) ON CONFLICT DO NOTHING",
    [P_Q_WAIT_INSERT] = "INSERT INTO quarantine_wait (hash, parent) VALUES "
                        "($1, $2) ON CONFLICT DO NOTHING",
    [P_Q_WAITERS] = "SELECT hash FROM quarantine_wait WHERE parent = $1 "
                    "ORDER BY hash",
    [P_Q_WAIT_DELETE] = "DELETE FROM quarantine_wait WHERE parent = $1",
    [P_Q_WAIT_COUNT] = "SELECT count(*) FROM quarantine_wait WHERE hash = $1",
    [P_Q_GET] = "SELECT hash, author, pusher, reason, body, sig, received_ms "
                "FROM quarantine WHERE hash = $1",
    [P_Q_EACH] = "SELECT hash FROM quarantine WHERE $1::text IS NULL OR "
                 "reason = $1::text ORDER BY received_ms, hash",
    [P_Q_DELETE] = "DELETE FROM quarantine WHERE hash = $1",
    [P_Q_WAIT_DELETE_HASH] = "DELETE FROM quarantine_wait WHERE hash = $1",
    [P_AUDIT_INSERT] = "INSERT INTO audit (at_ms, kind, device, subject, "
                       "detail) VALUES ($1, $2, $3, $4, $5)",
    [P_AUDIT_EACH] = "SELECT id, at_ms, kind, device, subject, detail "
                     "FROM audit WHERE $1::text IS NULL OR kind = $1::text "
                     "ORDER BY id",
    [P_ALARMS] = SRV_SQL_CHAIN_ALARMS,
    [P_COUNTS] = "SELECT (SELECT coalesce(max(seq), 0) FROM versions), "
                 "(SELECT count(*) FROM quarantine), "
                 "(SELECT count(*) FROM devices), "
                 "(SELECT count(*) FROM devices WHERE revoked_ms IS NOT NULL), "
                 "(SELECT count(*) FROM templates), "
                 "(SELECT count(*) FROM units), "
                 "(SELECT count(*) FROM versions WHERE flag IS NOT NULL)",
    [P_THR_INSERT] =
        "INSERT INTO threshold_revisions (hash, template_id, template_hash, "
        "revision, valid_from, author, body, sig, received_ms) VALUES ($1, "
        "$2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING seq",
    [P_THR_EACH] =
        "SELECT seq, hash, template_id, template_hash, revision, valid_from, "
        "author, body, sig, received_ms FROM threshold_revisions "
        "WHERE seq > $1 AND ($2::text IS NULL OR template_hash = $2::text) "
        "ORDER BY seq LIMIT $3",
    [P_THR_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM threshold_revisions",
    [P_ATT_REF_INSERT] =
        "INSERT INTO attachment_refs (hash, seq, bytes, type, taken, "
        "position) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    [P_ATT_INSERT] = "INSERT INTO attachments (hash, bytes, type) VALUES "
                     "($1, $2, $3) ON CONFLICT DO NOTHING",
    /* The scope of P_PULL asked of the versions naming each hash; the
     * hashes come as a JSON array, their index from WITH ORDINALITY. */
    [P_ATT_SEEN] = SCOPE_DOWN
    "SELECT q.i - 1, a.hash, a.bytes, a.type, a.acked, a.last_chunk_ms, "
    "a.stored_ms FROM json_array_elements_text($2::json) WITH ORDINALITY "
    "q(h, i) JOIN attachments a ON a.hash = q.h WHERE EXISTS (SELECT 1 "
    "FROM attachment_refs r JOIN versions v ON v.seq = r.seq WHERE "
    "r.hash = a.hash AND ($3::boolean OR v.subject IN "
    "(SELECT code FROM down)))",
    [P_ATT_ACK] = "UPDATE attachments SET acked = $3, last_chunk_ms = $4 "
                  "WHERE hash = $1 AND acked = $2 AND stored_ms IS NULL",
    [P_ATT_STORED] = "UPDATE attachments SET acked = bytes, stored_ms = $2, "
                     "last_chunk_ms = coalesce(last_chunk_ms, $2) "
                     "WHERE hash = $1",
    [P_ATT_RESET] = "UPDATE attachments SET acked = 0, last_chunk_ms = NULL "
                    "WHERE hash = $1 AND stored_ms IS NULL",
    [P_ATT_STALE] =
        "SELECT hash, bytes, type, acked, last_chunk_ms, stored_ms "
        "FROM attachments WHERE stored_ms IS NULL AND last_chunk_ms IS NOT "
        "NULL AND last_chunk_ms < $1 ORDER BY last_chunk_ms",
    /* Each hash once, with the columns of the first version naming it. */
    [P_ATT_RECORD] =
        "SELECT hash, bytes, type, acked, last_chunk_ms, stored_ms, taken, "
        "position FROM (SELECT DISTINCT ON (r.hash) r.hash, r.bytes, r.type, "
        "coalesce(a.acked, 0) AS acked, a.last_chunk_ms, a.stored_ms, "
        "r.taken, r.position, r.seq FROM versions v JOIN attachment_refs r "
        "ON r.seq = v.seq LEFT JOIN attachments a ON a.hash = r.hash "
        "WHERE v.record = $1 ORDER BY r.hash, r.seq) f ORDER BY seq, hash",
    /* What a database to migrate into must not hold (storage_raw.h). */
    [P_ANY_TABLE] =
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
        "AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') ORDER BY 1 LIMIT 1",
};

/* The schema, compiled in by server.mk (scripts/embed.c). */
extern const struct fld_embedded srv_pg_schema_files[];

struct srv_pg {
    struct srv_storage base; /* first: a srv_pg * is a srv_storage * */
    PGconn *conn;
    bool prepared[N_PG_STMTS];
    bool in_tx;
    char loading[32]; /* the table whose load statement is prepared */
    char where[256];  /* the database as messages name it: no password */
};

static struct srv_pg *PG(struct srv_storage *st)
{
    return (struct srv_pg *)st;
}

/* ---- parameters -----------------------------------------------------------
 */

#define PARAMS_MAX 17

struct params {
    const char *v[PARAMS_MAX];
    int len[PARAMS_MAX];
    int fmt[PARAMS_MAX]; /* 0 text, 1 binary */
    char num[PARAMS_MAX][24];
    int n;
};

static void p_text(struct params *p, const char *s)
{
    assert(p->n < PARAMS_MAX);
    p->v[p->n] = s; /* NULL: SQL NULL */
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

static void p_int(struct params *p, int64_t x)
{
    snprintf(p->num[p->n], sizeof p->num[0], "%lld", (long long)x);
    p_text(p, p->num[p->n]);
}

static void p_bool(struct params *p, bool b)
{
    p_text(p, b ? "t" : "f");
}

static void p_blob(struct params *p, const uint8_t *b, size_t len)
{
    assert(p->n < PARAMS_MAX);
    p->v[p->n] = (const char *)b;
    p->len[p->n] = (int)len;
    p->fmt[p->n] = 1;
    p->n++;
}

/* ---- results --------------------------------------------------------------
 */

static const char *col_text(const PGresult *r, int row, int col)
{
    /* libpq ends every value with a NUL, binary ones too. */
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static char *col_dup(const PGresult *r, int row, int col)
{
    const char *s = col_text(r, row, col);

    return s ? fld_xstrdup(s) : NULL;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t x = 0;
    int i;

    for (i = 0; i < n; i++)
        x = x << 8 | p[i];
    return x;
}

/* An integer or boolean column in binary format; NULL reads 0. */
static int64_t col_int(const PGresult *r, int row, int col)
{
    const uint8_t *p = (const uint8_t *)PQgetvalue(r, row, col);
    int len = PQgetlength(r, row, col);

    if (PQgetisnull(r, row, col))
        return 0;
    switch (PQftype(r, col)) {
    case OID_INT8:
        return len == 8 ? (int64_t)be(p, 8) : 0;
    case OID_INT4:
        return len == 4 ? (int32_t)(uint32_t)be(p, 4) : 0;
    case OID_INT2:
        return len == 2 ? (int16_t)(uint16_t)be(p, 2) : 0;
    case OID_BOOL:
        return len == 1 && p[0] != 0;
    default:
        return 0;
    }
}

static const uint8_t *col_blob(const PGresult *r, int row, int col, size_t *len)
{
    *len = (size_t)PQgetlength(r, row, col);
    return (const uint8_t *)PQgetvalue(r, row, col);
}

/* ---- running statements -----------------------------------------------------
 */

/* The first line of a libpq message, without its "ERROR:  " */
static void first_line(const char *msg, char *out, size_t size)
{
    size_t n;

    if (msg == NULL)
        msg = "";
    n = strcspn(msg, "\n");
    snprintf(out, size, "%.*s", (int)n, msg);
}

static int pg_fail(struct srv_pg *g, const PGresult *r, const char *what,
                   struct fld_err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *primary =
        r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[300];
    int code = FLD_EDB;

    first_line(primary ? primary : PQerrorMessage(g->conn), line, sizeof line);
    /* The database went away (restarted, failed over, the network): busy,
     * which a device is answered 503 and Retry-After for; the next
     * statement outside a transaction connects again (run()). */
    if (PQstatus(g->conn) == CONNECTION_BAD)
        return fld_err_set(err, FLD_EBUSY, "%s: %s: connection lost: %s",
                           g->where, what, line);
    if (state == NULL)
        code = FLD_EDB;
    else if (strcmp(state, "23505") == 0)
        code = FLD_EXISTS;
    else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
             strcmp(state, "55P03") == 0 || strncmp(state, "08", 2) == 0 ||
             strncmp(state, "57P0", 4) == 0)
        code = FLD_EBUSY;
    return fld_err_set(err, code, "%s: %s: %s", g->where, what, line);
}

/* Prepare statement id on the connection if it is not yet, and run it:
 * the result, whatever its status (PQclear() it). */
static PGresult *attempt(struct srv_pg *g, enum pg_stmt id,
                         const struct params *p)
{
    char name[16];
    PGresult *r;

    snprintf(name, sizeof name, "f%d", (int)id);
    if (!g->prepared[id]) {
        r = PQprepare(g->conn, name, sql_text[id], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            return r;
        PQclear(r);
        g->prepared[id] = true;
    }
    return PQexecPrepared(g->conn, name, p->n, p->v, p->len, p->fmt, 1);
}

/*
 * Run statement id with p's parameters, results in binary format. *out
 * (when out is not NULL) gets the result, which the caller PQclear()s.
 *
 * A connection found broken outside a transaction (the database was
 * restarted or failed over since this handle's last request) is made
 * again and the statement run once more, its statements prepared anew:
 * what runs outside a transaction only reads, or is BEGIN, so running it
 * twice changes nothing, and a restart costs the devices nothing. Inside
 * a transaction nothing is retried: the caller rolls back, and the device
 * is answered busy (pg_fail) and tries again.
 */
static int run(struct srv_pg *g, enum pg_stmt id, const struct params *p,
               PGresult **out, const char *what, struct fld_err *err)
{
    static const struct params none = {.n = 0};
    PGresult *r;
    ExecStatusType s;
    int rc;

    if (out)
        *out = NULL;
    if (p == NULL)
        p = &none;
    r = attempt(g, id, p);
    s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK &&
        PQstatus(g->conn) == CONNECTION_BAD && !g->in_tx) {
        PQclear(r);
        PQreset(g->conn);
        memset(g->prepared, 0, sizeof g->prepared);
        r = attempt(g, id, p);
        s = PQresultStatus(r);
    }
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        rc = pg_fail(g, r, what, err);
        PQclear(r);
        return rc;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return FLD_OK;
}

/* Run a statement that changes rows; *changed (optional) is how many. */
static int change(struct srv_pg *g, enum pg_stmt id, const struct params *p,
                  int64_t *changed, const char *what, struct fld_err *err)
{
    PGresult *r;
    int rc = run(g, id, p, &r, what, err);

    if (rc != FLD_OK)
        return rc;
    if (changed)
        *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return FLD_OK;
}

/* Run a statement with text parameters a and b (NULL: fewer). */
static int run2(struct srv_pg *g, enum pg_stmt id, const char *a, const char *b,
                int64_t *changed, const char *what, struct fld_err *err)
{
    struct params p = {.n = 0};

    if (a != NULL)
        p_text(&p, a);
    if (b != NULL)
        p_text(&p, b);
    return change(g, id, &p, changed, what, err);
}

/* Whether statement id with text parameters a (and b) gives a row. */
static int exists(struct srv_pg *g, enum pg_stmt id, const char *a,
                  const char *b, bool *out, const char *what,
                  struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    int rc;

    *out = false;
    p_text(&p, a);
    if (b != NULL)
        p_text(&p, b);
    if ((rc = run(g, id, &p, &r, what, err)) != FLD_OK)
        return rc;
    *out = PQntuples(r) > 0;
    PQclear(r);
    return FLD_OK;
}

/* Column 0 of the one row statement id with text parameter a gives, as a
 * new string (*out, free()); FLD_NOTFOUND, with no message, when there is
 * none (as fld_db_get_text() on SQLite). */
static int get_text(struct srv_pg *g, enum pg_stmt id, const char *a,
                    char **out, const char *what, struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    int rc;

    *out = NULL;
    p_text(&p, a);
    if ((rc = run(g, id, &p, &r, what, err)) != FLD_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = FLD_NOTFOUND;
    else
        *out = col_dup(r, 0, 0);
    PQclear(r);
    return rc;
}

/* The n integer columns of the one row of statement id (parameter a
 * unless NULL). */
static int ints(struct srv_pg *g, enum pg_stmt id, const char *a, int64_t *v,
                int n, const char *what, struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    int i, rc;

    if (a != NULL)
        p_text(&p, a);
    if ((rc = run(g, id, &p, &r, what, err)) != FLD_OK)
        return rc;
    if (PQntuples(r) != 1 || PQnfields(r) < n) {
        PQclear(r);
        return fld_err_set(err, FLD_EDB, "%s: %s: no answer", g->where, what);
    }
    for (i = 0; i < n; i++)
        v[i] = col_int(r, 0, i);
    PQclear(r);
    return FLD_OK;
}

/* ---- opening --------------------------------------------------------------
 */

static void no_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Name the database for messages from the parsed connection options:
 * user, host, port and name, never the password. */
static void describe(const PQconninfoOption *opts, char *out, size_t size)
{
    const char *user = "", *host = "", *port = "", *db = "";
    const PQconninfoOption *o;

    for (o = opts; o && o->keyword; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "user") == 0)
            user = o->val;
        else if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "dbname") == 0)
            db = o->val;
    }
    snprintf(out, size, "postgresql://%s%s%s%s%s/%s", user, *user ? "@" : "",
             host, *port ? ":" : "", port, db);
}

static void pg_close(struct srv_storage *st)
{
    struct srv_pg *g = PG(st);

    if (g == NULL)
        return;
    PQfinish(g->conn);
    free(g);
}

/* Whether the database has our meta table: made by field-server. */
static int has_meta(struct srv_pg *g, bool *out, struct fld_err *err)
{
    PGresult *r;
    int rc;

    *out = false;
    if ((rc = run(g, P_HAS_META, NULL, &r, "read schema", err)) != FLD_OK)
        return rc;
    *out = PQntuples(r) == 1 && col_int(r, 0, 0) != 0;
    PQclear(r);
    return FLD_OK;
}

/* Run the embedded schema: several statements, no values, the one text
 * run outside the statement table. */
static int exec_schema(struct srv_pg *g, const struct fld_embedded *e,
                       struct fld_err *err)
{
    char *sql = (char *)fld_embedded_inflate(e);
    PGresult *r = PQexec(g->conn, sql);
    int rc = FLD_OK;

    free(sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = pg_fail(g, r, e->name, err);
    PQclear(r);
    return rc;
}

/* The version pg/server.sql makes: PostgreSQL was first supported at
 * the SQLite schema's version 5, with no history to replay before it. */
#define PG_FIRST_VERSION 5

/* The embedded PostgreSQL schema file of this name, or NULL. */
static const struct fld_embedded *schema_file(const char *name)
{
    const struct fld_embedded *e;

    for (e = srv_pg_schema_files; e->name != NULL; e++)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

/*
 * Bring the schema from version `from` (0: an empty database) to this
 * program's, in the caller's transaction under the writer lock:
 * pg/server.sql makes version PG_FIRST_VERSION, then each
 * pg/server-NNN.sql brings one more, and meta's schema_version says so.
 */
static int apply_schema(struct srv_pg *g, long from, struct fld_err *err)
{
    const struct fld_embedded *e;
    char name[32], version[24];
    int rc = FLD_OK;

    if (from == 0) {
        if ((e = schema_file("server.sql")) == NULL)
            return fld_err_set(err, FLD_EDB,
                               "the PostgreSQL schema is missing");
        rc = exec_schema(g, e, err);
        from = PG_FIRST_VERSION;
    }
    for (from++; rc == FLD_OK && from <= SRV_PG_SCHEMA_VERSION; from++) {
        snprintf(name, sizeof name, "server-%03ld.sql", from);
        if ((e = schema_file(name)) == NULL)
            return fld_err_set(err, FLD_EDB,
                               "the PostgreSQL schema has no %s to reach "
                               "version %ld",
                               name, from);
        snprintf(version, sizeof version, "%ld", from);
        rc = exec_schema(g, e, err);
        if (rc == FLD_OK)
            rc = run2(g, P_META_SET, "schema_version", version, NULL,
                      "upgrade schema", err);
    }
    return rc;
}

/* meta's schema_version. */
static int read_version(struct srv_pg *g, long *out, struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    char *end;
    int rc;

    p_text(&p, "schema_version");
    if ((rc = run(g, P_META_GET, &p, &r, "read schema", err)) != FLD_OK)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return fld_err_set(err, FLD_ECORRUPT,
                           "%s: not a field-server database (no schema "
                           "version)",
                           g->where);
    }
    *out = strtol(PQgetvalue(r, 0, 0), &end, 10);
    rc = *end != '\0' || *out < 1
             ? fld_err_set(err, FLD_ECORRUPT, "%s: damaged schema version",
                           g->where)
             : FLD_OK;
    PQclear(r);
    return rc;
}

/*
 * Make the schema in an empty database, or bring an older one up to this
 * program's: one transaction under the writer lock, which reads the
 * database again (another server or `init` may have done it meanwhile).
 */
static int settle_schema(struct srv_pg *g, struct fld_err *err)
{
    bool has = false;
    long version = 0;
    int rc;

    if ((rc = run(g, P_BEGIN, NULL, NULL, "settle schema", err)) != FLD_OK)
        return rc;
    g->in_tx = true;
    rc = run(g, P_LOCK, NULL, NULL, "settle schema", err);
    if (rc == FLD_OK)
        rc = has_meta(g, &has, err);
    if (rc == FLD_OK && has)
        rc = read_version(g, &version, err);
    if (rc == FLD_OK && version < SRV_PG_SCHEMA_VERSION) {
        rc = apply_schema(g, version, err);
        if (rc != FLD_OK && has)
            fld_err_prefix(err,
                           "%s: could not bring the schema from version %ld "
                           "to %d (only the role that owns the tables, the "
                           "one that ran init, may)",
                           g->where, version, SRV_PG_SCHEMA_VERSION);
    }
    if (rc == FLD_OK)
        rc = run(g, P_COMMIT, NULL, NULL, "settle schema", err);
    else
        (void)run(g, P_ROLLBACK, NULL, NULL, "roll back", NULL);
    g->in_tx = false;
    return rc;
}

static int check_schema(struct srv_pg *g, bool create, struct fld_err *err)
{
    bool has = false;
    long version = 0;
    int rc;

    if ((rc = has_meta(g, &has, err)) != FLD_OK)
        return rc;
    if (!has && !create)
        return fld_err_set(err, FLD_NOTFOUND,
                           "%s: not a field-server database (run field-server "
                           "init)",
                           g->where);
    rc = has ? read_version(g, &version, err) : FLD_OK;
    if (rc != FLD_OK)
        return rc;
    if (version > SRV_PG_SCHEMA_VERSION)
        return fld_err_set(err, FLD_EDB,
                           "%s: database schema version %ld is newer than "
                           "this program's (%d); upgrade field-server",
                           g->where, version, SRV_PG_SCHEMA_VERSION);
    return version < SRV_PG_SCHEMA_VERSION ? settle_schema(g, err) : FLD_OK;
}

/* location: what follows "postgresql:" or "postgres:" in --db: "//..."
 * is a URI, anything else a key=value connection string. */
static char *conninfo_of(const char *location)
{
    return strncmp(location, "//", 2) == 0
               ? fld_xasprintf("postgresql:%s", location)
               : fld_xstrdup(location);
}

char *srv_pg_display(const char *location)
{
    char *conninfo = conninfo_of(location), where[256];
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);

    free(conninfo);
    if (opts == NULL)
        return fld_xstrdup("postgresql:(malformed)");
    describe(opts, where, sizeof where);
    PQconninfoFree(opts);
    return fld_xstrdup(where);
}

/* Connect to location (after its scheme): *out is a handle with no
 * schema checked yet. */
static int connect_to(const char *location, struct srv_pg **out,
                      struct fld_err *err)
{
    PQconninfoOption *opts;
    char *conninfo, *msg = NULL, line[300];
    struct srv_pg *g;
    int rc;

    *out = NULL;
    conninfo = conninfo_of(location);
    opts = PQconninfoParse(conninfo, &msg);
    if (opts == NULL) {
        first_line(msg ? msg : "out of memory", line, sizeof line);
        PQfreemem(msg);
        free(conninfo);
        return fld_err_set(err, FLD_EUSAGE,
                           "not a PostgreSQL connection string: %s", line);
    }
    g = fld_xcalloc(1, sizeof *g);
    g->base.ops = &srv_storage_pg;
    describe(opts, g->where, sizeof g->where);
    PQconninfoFree(opts);
    {
        /* Defaults first: what the location says comes later and wins. A
         * database that does not answer is given up after 10 s (libpq
         * would wait for TCP's own timeout); the cluster's views name us. */
        const char *const keys[] = {
            "connect_timeout", "fallback_application_name", "dbname", NULL};
        const char *const values[] = {"10", "field-server", conninfo, NULL};

        g->conn = PQconnectdbParams(keys, values, 1);
    }
    free(conninfo);
    if (g->conn == NULL)
        abort(); /* libpq could not allocate its handle: out of memory */
    PQsetNoticeProcessor(g->conn, no_notices, NULL);
    if (PQstatus(g->conn) != CONNECTION_OK) {
        first_line(PQerrorMessage(g->conn), line, sizeof line);
        rc =
            fld_err_set(err, FLD_EDB, "%s: cannot connect: %s", g->where, line);
        pg_close(&g->base);
        return rc;
    }
    *out = g;
    return FLD_OK;
}

char *srv_pg_conninfo_split(const char *location, char **password)
{
    char *conninfo = conninfo_of(location);
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    const PQconninfoOption *o;
    struct fld_buf out = FLD_BUF_INIT;
    const char *c;

    free(conninfo);
    *password = NULL;
    if (opts == NULL)
        return NULL;
    for (o = opts; o->keyword; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "password") == 0) {
            *password = fld_xstrdup(o->val);
            continue;
        }
        /* key='value', with \ and ' escaped as libpq reads them */
        if (out.len > 0)
            fld_buf_putc(&out, ' ');
        fld_buf_printf(&out, "%s='", o->keyword);
        for (c = o->val; *c; c++) {
            if (*c == '\\' || *c == '\'')
                fld_buf_putc(&out, '\\');
            fld_buf_putc(&out, *c);
        }
        fld_buf_putc(&out, '\'');
    }
    PQconninfoFree(opts);
    conninfo = fld_buf_detach(&out, NULL);
    return conninfo ? conninfo : fld_xstrdup("");
}

static int pg_open(const char *location, bool create, struct srv_storage **out,
                   struct fld_err *err)
{
    struct srv_pg *g;
    int rc;

    *out = NULL;
    if ((rc = connect_to(location, &g, err)) != FLD_OK)
        return rc;
    if ((rc = check_schema(g, create, err)) != FLD_OK) {
        pg_close(&g->base);
        return rc;
    }
    *out = &g->base;
    return FLD_OK;
}

/* ---- transactions ---------------------------------------------------------
 */

static int pg_begin(struct srv_storage *st, struct fld_err *err)
{
    struct srv_pg *g = PG(st);
    int rc = run(g, P_BEGIN, NULL, NULL, "begin", err);

    if (rc != FLD_OK)
        return rc;
    g->in_tx = true;
    /* The writer lock, until COMMIT or ROLLBACK: see the top. */
    if ((rc = run(g, P_LOCK, NULL, NULL, "wait for the writer lock", err)) !=
        FLD_OK) {
        (void)run(g, P_ROLLBACK, NULL, NULL, "roll back", NULL);
        g->in_tx = false;
    }
    return rc;
}

static int pg_commit(struct srv_storage *st, struct fld_err *err)
{
    struct srv_pg *g = PG(st);
    int rc = run(g, P_COMMIT, NULL, NULL, "commit", err);

    /* COMMIT of a failed transaction rolls it back; either way it ends. */
    g->in_tx = false;
    return rc;
}

static void pg_rollback(struct srv_storage *st)
{
    struct srv_pg *g = PG(st);

    if (!g->in_tx)
        return;
    (void)run(g, P_ROLLBACK, NULL, NULL, "roll back", NULL);
    g->in_tx = false;
}

/* PostgreSQL folds its log by itself (its checkpointer process): there is
 * nothing for the server to fold, and nobody to ask. */
static int pg_checkpoint(struct srv_storage *st, struct fld_err *err)
{
    (void)st;
    (void)err;
    return FLD_OK;
}

static void pg_checkpoint_elsewhere(struct srv_storage *st,
                                    void (*want)(void *ctx), void *ctx)
{
    (void)st;
    (void)want;
    (void)ctx;
}

static int pg_backup(struct srv_storage *st, const char *path,
                     struct fld_err *err)
{
    (void)path;
    return fld_err_set(err, FLD_EUSAGE,
                       "%s: back up a PostgreSQL database with pg_dump "
                       "(docs/SERVER.md, \"PostgreSQL\")",
                       PG(st)->where);
}

/* ---- settings, enrollment, devices ----------------------------------------
 */

static int pg_meta_get(struct srv_storage *st, const char *key, char **value,
                       struct fld_err *err)
{
    int rc = get_text(PG(st), P_META_GET, key, value, "read setting", err);

    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "setting %s is not set", key);
    return rc;
}

static int pg_meta_set(struct srv_storage *st, const char *key,
                       const char *value, struct fld_err *err)
{
    return run2(PG(st), P_META_SET, key, value, NULL, "write setting", err);
}

static int pg_code_add(struct srv_storage *st, const struct srv_enroll_code *c,
                       struct fld_err *err)
{
    struct params p = {.n = 0};
    int64_t n = 0;
    int rc;

    p_text(&p, c->code_hash);
    p_text(&p, c->inspector);
    p_text(&p, c->role);
    p_text(&p, c->scope);
    p_int(&p, c->created_ms);
    p_int(&p, c->expires_ms);
    rc = change(PG(st), P_CODE_INSERT, &p, &n, "add enrollment code", err);
    if (rc == FLD_OK && n == 0)
        rc = fld_err_set(err, FLD_EXISTS, "add enrollment code: exists");
    return rc;
}

static int pg_code_use(struct srv_storage *st, const char *code_hash,
                       int64_t now, const char *device,
                       struct srv_enroll_code **out, struct fld_err *err)
{
    struct params p = {.n = 0};
    struct srv_enroll_code *c;
    PGresult *r;
    int rc;

    *out = NULL;
    p_text(&p, code_hash);
    p_int(&p, now);
    p_text(&p, device);
    rc = run(PG(st), P_CODE_USE, &p, &r, "use enrollment code", err);
    if (rc != FLD_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return fld_err_set(err, FLD_NOTFOUND,
                           "unknown, used or expired enrollment code");
    }
    c = fld_xcalloc(1, sizeof *c);
    snprintf(c->code_hash, sizeof c->code_hash, "%s", code_hash);
    c->inspector = col_dup(r, 0, 0);
    c->role = col_dup(r, 0, 1);
    c->scope = col_dup(r, 0, 2);
    c->created_ms = col_int(r, 0, 3);
    c->expires_ms = col_int(r, 0, 4);
    PQclear(r);
    *out = c;
    return FLD_OK;
}

static int pg_device_add(struct srv_storage *st, const struct srv_device *d,
                         struct fld_err *err)
{
    const char *what = "enrol device";
    struct params p = {.n = 0};
    int64_t n = 0;
    size_t i;
    int rc;

    p_text(&p, d->pubkey);
    p_text(&p, d->inspector);
    p_text(&p, d->role);
    p_int(&p, d->enrolled_ms);
    if ((rc = change(PG(st), P_DEVICE_INSERT, &p, &n, what, err)) != FLD_OK)
        return rc;
    if (n == 0)
        return fld_err_set(err, FLD_EXISTS, "device %.16s is already enrolled",
                           d->pubkey);
    for (i = 0; i < d->n_scope && rc == FLD_OK; i++)
        rc = run2(PG(st), P_SCOPE_INSERT, d->pubkey, d->scope[i], NULL, what,
                  err);
    return rc;
}

static int load_scope(struct srv_pg *g, struct srv_device *d,
                      struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    int i, rc;

    p_text(&p, d->pubkey);
    if ((rc = run(g, P_SCOPE_OF, &p, &r, "read scope", err)) != FLD_OK)
        return rc;
    d->n_scope = (size_t)PQntuples(r);
    d->scope = fld_xcalloc(d->n_scope ? d->n_scope : 1, sizeof *d->scope);
    for (i = 0; i < PQntuples(r); i++)
        d->scope[i] = col_dup(r, i, 0);
    PQclear(r);
    return FLD_OK;
}

/* A device from columns inspector, role, enrolled_ms, revoked_ms at
 * first. */
static struct srv_device *device_from_row(const PGresult *r, int row,
                                          const char *pubkey, int first)
{
    struct srv_device *d = fld_xcalloc(1, sizeof *d);

    snprintf(d->pubkey, sizeof d->pubkey, "%s", pubkey ? pubkey : "");
    d->inspector = col_dup(r, row, first);
    d->role = col_dup(r, row, first + 1);
    d->enrolled_ms = col_int(r, row, first + 2);
    d->revoked_ms = col_int(r, row, first + 3); /* NULL: 0 */
    return d;
}

static int pg_device_get(struct srv_storage *st, const char *pubkey,
                         struct srv_device **out, struct fld_err *err)
{
    struct params p = {.n = 0};
    struct srv_device *d;
    PGresult *r;
    int rc;

    *out = NULL;
    p_text(&p, pubkey);
    if ((rc = run(PG(st), P_DEVICE_GET, &p, &r, "read device", err)) != FLD_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return fld_err_set(err, FLD_NOTFOUND, "device %.16s is not enrolled",
                           pubkey);
    }
    d = device_from_row(r, 0, pubkey, 0);
    PQclear(r);
    if ((rc = load_scope(PG(st), d, err)) != FLD_OK) {
        srv_device_free(d);
        return rc;
    }
    *out = d;
    return FLD_OK;
}

static int pg_device_find(struct srv_storage *st, const char *prefix,
                          char out[FLD_HASH_HEX_LEN + 1], struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    int n, rc;

    out[0] = '\0';
    p_text(&p, prefix);
    if ((rc = run(PG(st), P_DEVICE_FIND, &p, &r, "find device", err)) != FLD_OK)
        return rc;
    n = PQntuples(r);
    if (n == 1)
        snprintf(out, FLD_HASH_HEX_LEN + 1, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (n == 0)
        return fld_err_set(err, FLD_NOTFOUND, "no device %s", prefix);
    if (n > 1)
        return fld_err_set(err, FLD_CONFLICT, "several devices start with %s",
                           prefix);
    return FLD_OK;
}

static int pg_device_revoke(struct srv_storage *st, const char *pubkey,
                            int64_t now, struct fld_err *err)
{
    struct params p = {.n = 0};
    int64_t n = 0;
    int rc;

    p_text(&p, pubkey);
    p_int(&p, now);
    if ((rc = change(PG(st), P_DEVICE_REVOKE, &p, &n, "revoke device", err)) !=
        FLD_OK)
        return rc;
    if (n == 0)
        return fld_err_set(err, FLD_EXISTS, "device %.16s is already revoked",
                           pubkey);
    return FLD_OK;
}

static int pg_each_device(struct srv_storage *st, srv_device_fn fn, void *ctx,
                          struct fld_err *err)
{
    PGresult *r;
    int i, rc;

    if ((rc = run(PG(st), P_DEVICES, NULL, &r, "list devices", err)) != FLD_OK)
        return rc;
    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++) {
        struct srv_device *d = device_from_row(r, i, col_text(r, i, 0), 1);

        rc = load_scope(PG(st), d, err);
        if (rc == FLD_OK)
            rc = fn(ctx, d);
        srv_device_free(d);
    }
    PQclear(r);
    return rc;
}

/* ---- units and targets ----------------------------------------------------
 */

static int pg_unit_put(struct srv_storage *st, const struct srv_unit *u,
                       struct fld_err *err)
{
    struct params p = {.n = 0};

    p_text(&p, u->code);
    p_text(&p, u->name);
    p_text(&p, u->kind ? u->kind : "");
    p_text(&p, u->parent);
    p_text(&p, u->valid_from ? u->valid_from : "0000-01-01");
    p_text(&p, u->valid_to);
    p_bool(&p, u->in_programme);
    p_text(&p, u->merged_into);
    return change(PG(st), P_UNIT_PUT, &p, NULL, "store unit", err);
}

static int pg_unit_drop(struct srv_storage *st, const char *code,
                        const char *valid_from, struct fld_err *err)
{
    return run2(PG(st), P_UNIT_DROP, code, valid_from, NULL, "store unit", err);
}

static int pg_unit_exists(struct srv_storage *st, const char *code, bool *out,
                          struct fld_err *err)
{
    return exists(PG(st), P_UNIT_EXISTS, code, NULL, out, "read", err);
}

static int walk_units(struct srv_pg *g, enum pg_stmt id, const char *date,
                      srv_unit_fn fn, void *ctx, struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    int i, rc;

    if (date != NULL)
        p_text(&p, date);
    if ((rc = run(g, id, &p, &r, "list units", err)) != FLD_OK)
        return rc;
    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++) {
        struct srv_unit u;

        u.code = col_text(r, i, 0);
        u.name = col_text(r, i, 1);
        u.kind = col_text(r, i, 2);
        u.parent = col_text(r, i, 3);
        u.valid_from = col_text(r, i, 4);
        u.valid_to = col_text(r, i, 5);
        u.in_programme = col_int(r, i, 6) != 0;
        u.merged_into = col_text(r, i, 7);
        rc = fn(ctx, &u);
    }
    PQclear(r);
    return rc;
}

static int pg_each_unit(struct srv_storage *st, srv_unit_fn fn, void *ctx,
                        struct fld_err *err)
{
    return walk_units(PG(st), P_UNITS, NULL, fn, ctx, err);
}

static int pg_units_on(struct srv_storage *st, const char *date, srv_unit_fn fn,
                       void *ctx, struct fld_err *err)
{
    return walk_units(PG(st), P_UNITS_ON, date, fn, ctx, err);
}

static int pg_in_scope(struct srv_storage *st, const char *device,
                       const char *subject, bool *out, struct fld_err *err)
{
    return exists(PG(st), P_IN_SCOPE, device, subject, out, "check scope", err);
}

static int pg_target_put(struct srv_storage *st, const struct srv_target *g,
                         struct fld_err *err)
{
    const char *what = "store target";
    struct params d = {.n = 0}, p = {.n = 0};
    int rc;

    p_text(&d, g->unit);
    p_text(&d, g->tier);
    p_text(&d, g->from);
    if ((rc = change(PG(st), P_TARGET_DROP, &d, NULL, what, err)) != FLD_OK)
        return rc;
    p_text(&p, g->unit);
    p_text(&p, g->tier);
    p_int(&p, g->count);
    p_text(&p, g->from);
    p_text(&p, g->due);
    p_text(&p, g->source);
    p_int(&p, g->loaded_ms);
    return change(PG(st), P_TARGET_INSERT, &p, NULL, what, err);
}

static int pg_each_target(struct srv_storage *st, srv_target_fn fn, void *ctx,
                          struct fld_err *err)
{
    PGresult *r;
    int i, rc;

    if ((rc = run(PG(st), P_TARGETS, NULL, &r, "list targets", err)) != FLD_OK)
        return rc;
    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++) {
        struct srv_target g;

        g.unit = col_text(r, i, 0);
        g.tier = col_text(r, i, 1);
        g.count = col_int(r, i, 2);
        g.from = col_text(r, i, 3);
        g.due = col_text(r, i, 4);
        g.source = col_text(r, i, 5);
        g.loaded_ms = col_int(r, i, 6);
        rc = fn(ctx, &g);
    }
    PQclear(r);
    return rc;
}

/* ---- templates ------------------------------------------------------------
 */

static int pg_template_put(struct srv_storage *st,
                           const struct srv_template_row *t,
                           const uint8_t *body, size_t len, struct fld_err *err)
{
    struct params p = {.n = 0};
    int64_t n = 0;
    int rc;

    p_text(&p, t->hash);
    p_text(&p, t->id);
    p_text(&p, t->version ? t->version : "");
    p_blob(&p, body, len);
    p_int(&p, t->added_ms);
    if ((rc = change(PG(st), P_TEMPLATE_INSERT, &p, &n, "add template", err)) !=
        FLD_OK)
        return rc;
    if (n == 0)
        return fld_err_set(err, FLD_EXISTS,
                           "template %s (%.16s) is already there", t->id,
                           t->hash);
    return FLD_OK;
}

/* A copy of a bytea column, NUL-terminated (callers may read it as text). */
static uint8_t *blob_dup(const PGresult *r, int row, int col, size_t *len)
{
    const uint8_t *b = col_blob(r, row, col, len);
    uint8_t *copy = fld_xmalloc(*len + 1);

    memcpy(copy, b, *len);
    copy[*len] = '\0';
    return copy;
}

static int pg_template_get(struct srv_storage *st, const char *hash,
                           uint8_t **body, size_t *len, struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    int rc;

    *body = NULL;
    *len = 0;
    p_text(&p, hash);
    if ((rc = run(PG(st), P_TEMPLATE_GET, &p, &r, "read template", err)) !=
        FLD_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = fld_err_set(err, FLD_NOTFOUND, "no template %.16s", hash);
    else
        *body = blob_dup(r, 0, 0, len);
    PQclear(r);
    return rc;
}

static int pg_each_template(struct srv_storage *st, srv_template_fn fn,
                            void *ctx, struct fld_err *err)
{
    PGresult *r;
    int i, rc;

    if ((rc = run(PG(st), P_TEMPLATES, NULL, &r, "list templates", err)) !=
        FLD_OK)
        return rc;
    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++) {
        struct srv_template_row t;

        t.hash = col_text(r, i, 0);
        t.id = col_text(r, i, 1);
        t.version = col_text(r, i, 2);
        t.added_ms = col_int(r, i, 3);
        rc = fn(ctx, &t);
    }
    PQclear(r);
    return rc;
}

/* ---- versions ---------------------------------------------------------------
 */

static int pg_version_state(struct srv_storage *st, const char *hash,
                            enum srv_version_state *out, struct fld_err *err)
{
    int64_t state = 0;
    int rc =
        ints(PG(st), P_VERSION_STATE, hash, &state, 1, "read version", err);

    *out = state == 1   ? SRV_PRESENT
           : state == 2 ? SRV_IN_QUARANTINE
                        : SRV_ABSENT;
    return rc;
}

static int pg_version_record(struct srv_storage *st, const char *hash,
                             char **record, struct fld_err *err)
{
    int rc =
        get_text(PG(st), P_VERSION_RECORD, hash, record, "read version", err);

    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "version %.16s is not stored",
                           hash);
    return rc;
}

/* The attachments v names, recorded for the version stored as seq. */
static int name_attachments(struct srv_pg *g, int64_t seq,
                            const struct fld_version *v, struct fld_err *err)
{
    const char *what = "record attachments";
    struct fld_version_attachment a;
    size_t i, n = fld_version_n_attachments(v);
    int rc = FLD_OK;

    for (i = 0; i < n && rc == FLD_OK; i++) {
        struct params p = {.n = 0}, q = {.n = 0};

        fld_version_attachment(v, i, &a);
        p_text(&p, a.hash);
        p_int(&p, seq);
        p_int(&p, a.bytes);
        p_text(&p, a.type);
        p_text(&p, a.taken);
        p_text(&p, a.position);
        if ((rc = change(g, P_ATT_REF_INSERT, &p, NULL, what, err)) != FLD_OK)
            return rc;
        p_text(&q, a.hash);
        p_int(&q, a.bytes);
        p_text(&q, a.type);
        rc = change(g, P_ATT_INSERT, &q, NULL, what, err);
    }
    return rc;
}

/* v was just inserted as row seq: its parent edges, its parents off the
 * record's heads, and v a head (as field/db.c's fld_db_heads_add does for
 * SQLite: push.c stores a version only once all its parents are stored, so none
 * that names it can be here yet). */
static int add_heads(struct srv_pg *g, const struct fld_version *v, int64_t seq,
                     struct fld_err *err)
{
    const char *what = "store version";
    size_t i;
    int rc;

    for (i = 0; i < v->parents->n; i++) {
        struct params e = {.n = 0};
        const char *p = v->parents->items[i]->s;

        p_int(&e, seq);
        p_text(&e, p);
        rc = change(g, P_PARENT_INSERT, &e, NULL, what, err);
        if (rc != FLD_OK)
            return rc;
        rc = run2(g, P_HEAD_DELETE, v->record, p, NULL, what, err);
        if (rc != FLD_OK)
            return rc;
    }
    return run2(g, P_HEAD_INSERT, v->record, v->hash, NULL, what, err);
}

static int pg_version_put(struct srv_storage *st,
                          const struct srv_version_in *in, int64_t *seq,
                          struct fld_err *err)
{
    const struct fld_version *v = in->v;
    struct srv_pg *g = PG(st);
    struct params p = {.n = 0};
    PGresult *r;
    int rc;

    *seq = 0;
    /* seq order is commit order only under the writer lock (see top). */
    if (!g->in_tx)
        return fld_err_set(err, FLD_EUSAGE,
                           "store version: outside a transaction");
    p_text(&p, v->hash);
    p_text(&p, v->record);
    p_text(&p, v->author);
    p_int(&p, v->dseq);
    p_text(&p, v->prev);
    p_int(&p, v->hlc.ms);
    p_int(&p, v->hlc.count);
    p_text(&p, v->template_id);
    p_text(&p, v->template_hash);
    p_text(&p, v->subject);
    p_text(&p, v->status);
    p_blob(&p, v->body, v->body_len);
    p_blob(&p, v->sig, FLD_SIG_LEN);
    p_text(&p, in->pusher);
    p_int(&p, in->received_ms);
    p_text(&p, in->flag);
    if (in->ahead_ms > 0)
        p_int(&p, in->ahead_ms);
    else
        p_text(&p, NULL);
    if ((rc = run(g, P_VERSION_INSERT, &p, &r, "store version", err)) != FLD_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return fld_err_set(err, FLD_EXISTS, "version %.16s already stored",
                           v->hash);
    }
    *seq = col_int(r, 0, 0);
    PQclear(r);
    if ((rc = name_attachments(g, *seq, v, err)) != FLD_OK)
        return rc;
    return add_heads(g, v, *seq, err);
}

static int pg_chain_check(struct srv_storage *st, const struct fld_version *v,
                          char fork_with[FLD_HASH_HEX_LEN + 1],
                          bool *prev_missing, struct fld_err *err)
{
    struct params p = {.n = 0};
    bool found = true;
    PGresult *r;
    int rc;

    fork_with[0] = '\0';
    *prev_missing = false;
    p_text(&p, v->author);
    p_int(&p, v->dseq);
    p_text(&p, v->prev);
    p_text(&p, v->hash);
    if ((rc = run(PG(st), P_FORK, &p, &r, "check chain", err)) != FLD_OK)
        return rc;
    if (PQntuples(r) > 0)
        snprintf(fork_with, FLD_HASH_HEX_LEN + 1, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (v->prev != NULL) {
        rc = exists(PG(st), P_HAS_VERSION, v->prev, NULL, &found, "read", err);
        if (rc != FLD_OK)
            return rc;
    }
    *prev_missing = !found;
    return FLD_OK;
}

static int pg_max_seq(struct srv_storage *st, int64_t *out, struct fld_err *err)
{
    *out = 0;
    return ints(PG(st), P_MAX_SEQ, NULL, out, 1, "read", err);
}

/* Hand rows seq, body, sig of r to fn, as they were signed. */
static int pull_rows(PGresult *r, srv_pull_fn fn, void *ctx,
                     struct fld_err *err)
{
    int i, rc = FLD_OK;

    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++) {
        size_t len, sig_len;
        const uint8_t *body = col_blob(r, i, 1, &len);
        const uint8_t *sig = col_blob(r, i, 2, &sig_len);

        if (sig_len != FLD_SIG_LEN)
            rc =
                fld_err_set(err, FLD_ECORRUPT, "a stored signature is damaged");
        else
            rc = fn(ctx, col_int(r, i, 0), body, len, sig);
    }
    PQclear(r);
    return rc;
}

static int pg_pull(struct srv_storage *st, const struct srv_pull_query *q,
                   srv_pull_fn fn, void *ctx, struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    int rc;

    p_text(&p, q->device);
    p_int(&p, q->after);
    p_bool(&p, q->all_units);
    p_int(&p, q->birth);
    p_int(&p, q->limit);
    if ((rc = run(PG(st), P_PULL, &p, &r, "pull", err)) != FLD_OK)
        return rc;
    return pull_rows(r, fn, ctx, err);
}

static int pg_record_versions(struct srv_storage *st, const char *record,
                              srv_pull_fn fn, void *ctx, struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    int rc;

    p_text(&p, record);
    if ((rc = run(PG(st), P_RECORD_VERSIONS, &p, &r, "read record", err)) !=
        FLD_OK)
        return rc;
    return pull_rows(r, fn, ctx, err);
}

/* The whole walk is read before the first callback: a province's
 * versions by columns, without bodies (tens of megabytes at most). */
static int pg_each_version_until(struct srv_storage *st, int64_t cutoff_ms,
                                 srv_report_version_fn fn, void *ctx,
                                 struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    int i, rc;

    p_int(&p, cutoff_ms);
    if ((rc = run(PG(st), P_VERSIONS_UNTIL, &p, &r, "read versions", err)) !=
        FLD_OK)
        return rc;
    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++) {
        struct srv_report_version v;

        v.record = col_text(r, i, 0);
        v.hash = col_text(r, i, 1);
        v.subject = col_text(r, i, 2);
        v.status = col_text(r, i, 3);
        v.template_hash = col_text(r, i, 4);
        v.received_ms = col_int(r, i, 5);
        v.parents = col_text(r, i, 6);
        if (v.parents == NULL)
            v.parents = "";
        rc = fn(ctx, &v);
    }
    PQclear(r);
    return rc;
}

static int pg_version_body(struct srv_storage *st, const char *hash,
                           uint8_t **body, size_t *len,
                           uint8_t sig[FLD_SIG_LEN], struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    size_t sig_len = 0;
    const uint8_t *s;
    int rc;

    *body = NULL;
    *len = 0;
    p_text(&p, hash);
    if ((rc = run(PG(st), P_VERSION_BODY, &p, &r, "read version", err)) !=
        FLD_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return fld_err_set(err, FLD_NOTFOUND, "no version %.16s", hash);
    }
    s = col_blob(r, 0, 1, &sig_len);
    if (sig_len != FLD_SIG_LEN) {
        rc = fld_err_set(err, FLD_ECORRUPT, "a stored signature is damaged");
    } else {
        *body = blob_dup(r, 0, 0, len);
        memcpy(sig, s, FLD_SIG_LEN);
    }
    PQclear(r);
    return rc;
}

/* A list of strings as one JSON array text (freed with fld_buf_free). */
static int json_list(const char *const *items, size_t n, struct fld_buf *out,
                     struct fld_err *err)
{
    struct fld_json *list = fld_json_array();
    size_t i;
    int rc;

    for (i = 0; i < n; i++)
        fld_json_append(list, fld_json_string(items[i]));
    rc = fld_json_write(list, out, err);
    fld_json_free(list);
    return rc;
}

static int pg_each_record(struct srv_storage *st,
                          const struct srv_record_query *q, srv_record_fn fn,
                          void *ctx, struct fld_err *err)
{
    struct fld_buf text = FLD_BUF_INIT;
    struct params p = {.n = 0};
    PGresult *r = NULL;
    int i, rc;

    rc = json_list(q->units, q->n_units, &text, err);
    if (rc == FLD_OK) {
        p_text(&p, fld_buf_str(&text));
        p_bool(&p, q->n_units == 0);
        p_text(&p, q->template_id);
        if (q->limit > 0)
            p_int(&p, q->limit);
        else
            p_text(&p, NULL); /* LIMIT NULL: no limit */
        rc = run(PG(st), P_RECORDS, &p, &r, "list records", err);
    }
    fld_buf_free(&text);
    if (rc != FLD_OK)
        return rc;
    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++)
        rc = fn(ctx, col_text(r, i, 0));
    PQclear(r);
    return rc;
}

/* ---- quarantine -----------------------------------------------------------
 */

static int pg_quarantine_put(struct srv_storage *st,
                             const struct srv_quarantined *qv,
                             const char *const *waits, size_t n_waits,
                             struct fld_err *err)
{
    const char *what = "quarantine version";
    struct params p = {.n = 0};
    int64_t n = 0;
    size_t i;
    int rc;

    p_text(&p, qv->hash);
    p_text(&p, qv->author);
    p_text(&p, qv->pusher);
    p_text(&p, qv->reason);
    p_blob(&p, qv->body, qv->body_len);
    p_blob(&p, qv->sig, FLD_SIG_LEN);
    p_int(&p, qv->received_ms);
    if ((rc = change(PG(st), P_Q_INSERT, &p, &n, what, err)) != FLD_OK)
        return rc;
    if (n == 0)
        return fld_err_set(err, FLD_EXISTS, "%.16s is in quarantine already",
                           qv->hash);
    for (i = 0; i < n_waits && rc == FLD_OK; i++)
        rc = run2(PG(st), P_Q_WAIT_INSERT, qv->hash, waits[i], NULL, what, err);
    return rc;
}

/* Call fn with the quarantined row of hash (none: nothing). The result
 * is the connection's no longer, so fn may run statements meanwhile. */
static int with_quarantined(struct srv_pg *g, const char *hash,
                            srv_quarantine_fn fn, void *ctx,
                            struct fld_err *err)
{
    struct params p = {.n = 0};
    struct srv_quarantined row;
    size_t sig_len = 0;
    PGresult *r;
    int rc;

    p_text(&p, hash);
    if ((rc = run(g, P_Q_GET, &p, &r, "read quarantine", err)) != FLD_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return FLD_OK;
    }
    row.hash = col_text(r, 0, 0);
    row.author = col_text(r, 0, 1);
    row.pusher = col_text(r, 0, 2);
    row.reason = col_text(r, 0, 3);
    row.body = col_blob(r, 0, 4, &row.body_len);
    row.sig = col_blob(r, 0, 5, &sig_len);
    row.received_ms = col_int(r, 0, 6);
    if (sig_len != FLD_SIG_LEN)
        rc = fld_err_set(err, FLD_ECORRUPT, "quarantined %.16s is damaged",
                         hash);
    else
        rc = fn(ctx, &row);
    PQclear(r);
    return rc;
}

/* The first column of every row of statement id on parameter a. */
static int texts(struct srv_pg *g, enum pg_stmt id, const char *a, PGresult **r,
                 const char *what, struct fld_err *err)
{
    struct params p = {.n = 0};

    p_text(&p, a);
    return run(g, id, &p, r, what, err);
}

static int pg_quarantine_unblock(struct srv_storage *st, const char *parent,
                                 srv_quarantine_fn fn, void *ctx,
                                 struct fld_err *err)
{
    const char *what = "release quarantine";
    struct srv_pg *g = PG(st);
    PGresult *r;
    int64_t left;
    int i, rc;

    if ((rc = texts(g, P_Q_WAITERS, parent, &r, "read quarantine", err)) !=
        FLD_OK)
        return rc;
    if (PQntuples(r) > 0)
        rc = run2(g, P_Q_WAIT_DELETE, parent, NULL, NULL, what, err);
    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++) {
        rc = ints(g, P_Q_WAIT_COUNT, PQgetvalue(r, i, 0), &left, 1,
                  "read quarantine", err);
        if (rc == FLD_OK && left == 0)
            rc = with_quarantined(g, PQgetvalue(r, i, 0), fn, ctx, err);
    }
    PQclear(r);
    return rc;
}

static int pg_quarantine_each(struct srv_storage *st, const char *reason,
                              srv_quarantine_fn fn, void *ctx,
                              struct fld_err *err)
{
    PGresult *r;
    int i, rc;

    if ((rc = texts(PG(st), P_Q_EACH, reason, &r, "read quarantine", err)) !=
        FLD_OK)
        return rc;
    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++)
        rc = with_quarantined(PG(st), PQgetvalue(r, i, 0), fn, ctx, err);
    PQclear(r);
    return rc;
}

static int pg_quarantine_remove(struct srv_storage *st, const char *hash,
                                struct fld_err *err)
{
    const char *what = "release quarantine";
    int rc = run2(PG(st), P_Q_DELETE, hash, NULL, NULL, what, err);

    if (rc == FLD_OK)
        rc = run2(PG(st), P_Q_WAIT_DELETE_HASH, hash, NULL, NULL, what, err);
    return rc;
}

/* ---- audit ----------------------------------------------------------------
 */

static int pg_audit_add(struct srv_storage *st, const char *kind,
                        const char *device, const char *subject,
                        const char *detail, struct fld_err *err)
{
    struct params p = {.n = 0};

    p_int(&p, fld_now_ms());
    p_text(&p, kind);
    p_text(&p, device);
    p_text(&p, subject);
    p_text(&p, detail);
    return change(PG(st), P_AUDIT_INSERT, &p, NULL, "write audit log", err);
}

static int pg_each_audit(struct srv_storage *st, const char *kind,
                         srv_audit_fn fn, void *ctx, struct fld_err *err)
{
    PGresult *r;
    int i, rc;

    if ((rc = texts(PG(st), P_AUDIT_EACH, kind, &r, "read audit log", err)) !=
        FLD_OK)
        return rc;
    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++) {
        struct srv_audit_row a;

        a.id = col_int(r, i, 0);
        a.at_ms = col_int(r, i, 1);
        a.kind = col_text(r, i, 2);
        a.device = col_text(r, i, 3);
        a.subject = col_text(r, i, 4);
        a.detail = col_text(r, i, 5);
        rc = fn(ctx, &a);
    }
    PQclear(r);
    return rc;
}

static int pg_each_alarm(struct srv_storage *st, srv_alarm_fn fn, void *ctx,
                         struct fld_err *err)
{
    PGresult *r;
    int i, rc;

    if ((rc = run(PG(st), P_ALARMS, NULL, &r, "check chains", err)) != FLD_OK)
        return rc;
    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++) {
        struct srv_chain_alarm a;

        a.kind = col_text(r, i, 0);
        a.author = col_text(r, i, 1);
        a.dseq = col_int(r, i, 2);
        a.hash = col_text(r, i, 3);
        a.other = col_text(r, i, 4);
        rc = fn(ctx, &a);
    }
    PQclear(r);
    return rc;
}

static int pg_counts(struct srv_storage *st, struct srv_counts *out,
                     struct fld_err *err)
{
    int64_t v[7] = {0};
    int rc = ints(PG(st), P_COUNTS, NULL, v, 7, "count", err);

    out->versions = v[0];
    out->quarantined = v[1];
    out->devices = v[2];
    out->revoked = v[3];
    out->templates = v[4];
    out->units = v[5];
    out->flagged = v[6];
    return rc;
}

/* ---- threshold revisions --------------------------------------------------
 */

static int pg_thresholds_put(struct srv_storage *st,
                             const struct fld_thresholds *t,
                             int64_t received_ms, int64_t *seq,
                             struct fld_err *err)
{
    struct srv_pg *g = PG(st);
    struct params p = {.n = 0};
    PGresult *r;
    int rc;

    *seq = 0;
    if (!g->in_tx)
        return fld_err_set(err, FLD_EUSAGE,
                           "store threshold revision: outside a transaction");
    p_text(&p, t->hash);
    p_text(&p, t->template_id);
    p_text(&p, t->template_hash);
    p_int(&p, t->revision);
    p_text(&p, t->valid_from);
    p_text(&p, t->author);
    p_blob(&p, t->body, t->body_len);
    p_blob(&p, t->sig, FLD_SIG_LEN);
    p_int(&p, received_ms);
    if ((rc = run(g, P_THR_INSERT, &p, &r, "store threshold revision", err)) !=
        FLD_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = fld_err_set(err, FLD_EXISTS,
                         "revision %lld of template %.16s is stored already",
                         (long long)t->revision, t->template_hash);
    else
        *seq = col_int(r, 0, 0);
    PQclear(r);
    return rc;
}

static int pg_thresholds_each(struct srv_storage *st, int64_t after,
                              const char *template_hash, int64_t limit,
                              srv_thresholds_fn fn, void *ctx,
                              struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    int i, rc;

    p_int(&p, after);
    p_text(&p, template_hash);
    if (limit > 0)
        p_int(&p, limit);
    else
        p_text(&p, NULL);
    if ((rc = run(PG(st), P_THR_EACH, &p, &r, "list threshold revisions",
                  err)) != FLD_OK)
        return rc;
    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++) {
        struct srv_thresholds_row t;
        size_t sig_len = 0;

        t.seq = col_int(r, i, 0);
        t.hash = col_text(r, i, 1);
        t.template_id = col_text(r, i, 2);
        t.template_hash = col_text(r, i, 3);
        t.revision = col_int(r, i, 4);
        t.valid_from = col_text(r, i, 5);
        t.author = col_text(r, i, 6);
        t.body = col_blob(r, i, 7, &t.body_len);
        t.sig = col_blob(r, i, 8, &sig_len);
        t.received_ms = col_int(r, i, 9);
        if (sig_len != FLD_SIG_LEN)
            rc = fld_err_set(err, FLD_ECORRUPT,
                             "threshold revision %lld: a column is damaged",
                             (long long)t.seq);
        else
            rc = fn(ctx, &t);
    }
    PQclear(r);
    return rc;
}

static int pg_thresholds_max_seq(struct srv_storage *st, int64_t *out,
                                 struct fld_err *err)
{
    *out = 0;
    return ints(PG(st), P_THR_MAX_SEQ, NULL, out, 1,
                "read the newest threshold revision", err);
}

/* ---- attachments ----------------------------------------------------------
 */

/* Columns hash, bytes, type, acked, last_chunk_ms, stored_ms from first,
 * then taken and position when the result has them. */
static void attachment_of(const PGresult *r, int row, int first,
                          struct srv_attachment *a)
{
    memset(a, 0, sizeof *a);
    a->hash = col_text(r, row, first);
    a->bytes = col_int(r, row, first + 1);
    a->type = col_text(r, row, first + 2);
    a->acked = col_int(r, row, first + 3);
    a->last_chunk_ms = col_int(r, row, first + 4);
    a->stored_ms = col_int(r, row, first + 5);
    if (PQnfields(r) >= first + 8) {
        a->taken = col_text(r, row, first + 6);
        a->position = col_text(r, row, first + 7);
    }
}

static int pg_attachments_seen(struct srv_storage *st, const char *device,
                               bool all_units, const char *const *hashes,
                               size_t n, srv_attachment_fn fn, void *ctx,
                               struct fld_err *err)
{
    struct fld_buf text = FLD_BUF_INIT;
    struct params p = {.n = 0};
    PGresult *r = NULL;
    int i, rc;

    rc = json_list(hashes, n, &text, err);
    if (rc == FLD_OK) {
        p_text(&p, device);
        p_text(&p, fld_buf_str(&text));
        p_bool(&p, all_units);
        rc = run(PG(st), P_ATT_SEEN, &p, &r, "read attachments", err);
    }
    fld_buf_free(&text);
    if (rc != FLD_OK)
        return rc;
    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++) {
        struct srv_attachment a;

        attachment_of(r, i, 1, &a);
        rc = fn(ctx, (size_t)col_int(r, i, 0), &a);
    }
    PQclear(r);
    return rc;
}

static int pg_attachment_ack(struct srv_storage *st, const char *hash,
                             int64_t from, int64_t to, int64_t now_ms,
                             struct fld_err *err)
{
    struct params p = {.n = 0};
    int64_t n = 0;
    int rc;

    p_text(&p, hash);
    p_int(&p, from);
    p_int(&p, to);
    p_int(&p, now_ms);
    if ((rc = change(PG(st), P_ATT_ACK, &p, &n, "acknowledge a chunk", err)) !=
        FLD_OK)
        return rc;
    if (n == 0)
        return fld_err_set(err, FLD_CONFLICT,
                           "attachment %.16s: the upload moved meanwhile",
                           hash);
    return FLD_OK;
}

static int pg_attachment_stored(struct srv_storage *st, const char *hash,
                                int64_t now_ms, struct fld_err *err)
{
    struct params p = {.n = 0};
    int64_t n = 0;
    int rc;

    p_text(&p, hash);
    p_int(&p, now_ms);
    if ((rc = change(PG(st), P_ATT_STORED, &p, &n, "store attachment", err)) !=
        FLD_OK)
        return rc;
    if (n == 0)
        return fld_err_set(err, FLD_NOTFOUND,
                           "no stored version names attachment %.16s", hash);
    return FLD_OK;
}

static int pg_attachment_reset(struct srv_storage *st, const char *hash,
                               struct fld_err *err)
{
    return run2(PG(st), P_ATT_RESET, hash, NULL, NULL, "reset an upload", err);
}

/* Rows of r to fn, counted from 0. */
static int listed(PGresult *r, srv_attachment_fn fn, void *ctx)
{
    int i, rc = FLD_OK;

    for (i = 0; i < PQntuples(r) && rc == FLD_OK; i++) {
        struct srv_attachment a;

        attachment_of(r, i, 0, &a);
        rc = fn(ctx, (size_t)i, &a);
    }
    PQclear(r);
    return rc;
}

static int pg_attachments_stale(struct srv_storage *st, int64_t before_ms,
                                srv_attachment_fn fn, void *ctx,
                                struct fld_err *err)
{
    struct params p = {.n = 0};
    PGresult *r;
    int rc;

    p_int(&p, before_ms);
    if ((rc = run(PG(st), P_ATT_STALE, &p, &r, "read partial uploads", err)) !=
        FLD_OK)
        return rc;
    return listed(r, fn, ctx);
}

static int pg_record_attachments(struct srv_storage *st, const char *record,
                                 srv_attachment_fn fn, void *ctx,
                                 struct fld_err *err)
{
    PGresult *r;
    int rc;

    if ((rc = texts(PG(st), P_ATT_RECORD, record, &r, "read attachments",
                    err)) != FLD_OK)
        return rc;
    return listed(r, fn, ctx);
}

const struct srv_storage_ops srv_storage_pg = {
    .scheme = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .checkpoint = pg_checkpoint,
    .checkpoint_elsewhere = pg_checkpoint_elsewhere,
    .checkpoint_passive = pg_checkpoint,
    .backup = pg_backup,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .code_add = pg_code_add,
    .code_use = pg_code_use,
    .device_add = pg_device_add,
    .device_get = pg_device_get,
    .device_find = pg_device_find,
    .device_revoke = pg_device_revoke,
    .each_device = pg_each_device,
    .unit_put = pg_unit_put,
    .unit_exists = pg_unit_exists,
    .each_unit = pg_each_unit,
    .in_scope = pg_in_scope,
    .unit_drop = pg_unit_drop,
    .units_on = pg_units_on,
    .target_put = pg_target_put,
    .each_target = pg_each_target,
    .template_put = pg_template_put,
    .template_get = pg_template_get,
    .each_template = pg_each_template,
    .version_state = pg_version_state,
    .version_record = pg_version_record,
    .version_put = pg_version_put,
    .chain_check = pg_chain_check,
    .max_seq = pg_max_seq,
    .pull = pg_pull,
    .each_record = pg_each_record,
    .record_versions = pg_record_versions,
    .each_version_until = pg_each_version_until,
    .version_body = pg_version_body,
    .quarantine_put = pg_quarantine_put,
    .quarantine_unblock = pg_quarantine_unblock,
    .quarantine_each = pg_quarantine_each,
    .quarantine_remove = pg_quarantine_remove,
    .audit_add = pg_audit_add,
    .each_audit = pg_each_audit,
    .each_alarm = pg_each_alarm,
    .counts = pg_counts,
    .thresholds_put = pg_thresholds_put,
    .thresholds_each = pg_thresholds_each,
    .thresholds_max_seq = pg_thresholds_max_seq,
    .attachments_seen = pg_attachments_seen,
    .attachment_ack = pg_attachment_ack,
    .attachment_stored = pg_attachment_stored,
    .attachment_reset = pg_attachment_reset,
    .attachments_stale = pg_attachments_stale,
    .record_attachments = pg_record_attachments,
};

/* ---- loading, for field-server migrate (storage_raw.h) ----------------------
 */

/* Run sql (no parameters; built from migrate.c's constant names, or the
 * embedded schema): *out (when not NULL) gets the result, which the
 * caller PQclear()s. */
static int exec_sql(struct srv_pg *g, const char *sql, const char *what,
                    PGresult **out, struct fld_err *err)
{
    PGresult *r = PQexecParams(g->conn, sql, 0, NULL, NULL, NULL, NULL, 1);
    ExecStatusType s = PQresultStatus(r);
    int rc = FLD_OK;

    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        rc = pg_fail(g, r, what, err);
    if (rc == FLD_OK && out != NULL)
        *out = r;
    else
        PQclear(r);
    return rc;
}

int srv_pg_open_empty(const char *location, struct srv_storage **out,
                      struct fld_err *err)
{
    struct srv_pg *g;
    PGresult *r;
    int rc;

    *out = NULL;
    if (strncmp(location, "postgresql:", 11) == 0)
        location += 11;
    else if (strncmp(location, "postgres:", 9) == 0)
        location += 9;
    else
        return fld_err_set(err, FLD_EUSAGE, "%s: not a PostgreSQL location",
                           location);
    if ((rc = connect_to(location, &g, err)) != FLD_OK)
        return rc;
    rc = run(g, P_BEGIN, NULL, NULL, "begin", err);
    if (rc == FLD_OK) {
        g->in_tx = true;
        rc = run(g, P_LOCK, NULL, NULL, "wait for the writer lock", err);
    }
    /* Under the lock: two migrations at once cannot both find it empty. */
    if (rc == FLD_OK)
        rc = run(g, P_ANY_TABLE, NULL, &r, "read", err);
    if (rc == FLD_OK) {
        if (PQntuples(r) > 0)
            rc = fld_err_set(err, FLD_EXISTS,
                             "%s is not empty (it has %s); migrate into a new, "
                             "empty database",
                             g->where, PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    if (rc == FLD_OK)
        rc = apply_schema(g, 0, err);
    if (rc != FLD_OK) {
        pg_rollback(&g->base);
        pg_close(&g->base);
        return rc;
    }
    *out = &g->base;
    return FLD_OK;
}

int srv_pg_load_row(struct srv_storage *st, const char *table,
                    const char *columns, bool identity,
                    const struct srv_cell *cells, size_t n, struct fld_err *err)
{
    struct srv_pg *g = PG(st);
    const char *v[PARAMS_MAX + 8];
    int len[PARAMS_MAX + 8], fmt[PARAMS_MAX + 8];
    char num[PARAMS_MAX + 8][24], name[48];
    PGresult *r;
    size_t i;
    int rc = FLD_OK;

    if (st->ops != &srv_storage_pg || n > PARAMS_MAX + 8)
        return fld_err_set(err, FLD_EUSAGE, "load %s: not possible", table);
    snprintf(name, sizeof name, "load_%s", table);
    if (strcmp(g->loading, table) != 0) {
        struct fld_buf sql = FLD_BUF_INIT;

        fld_buf_printf(&sql, "INSERT INTO %s (%s)%s VALUES (", table, columns,
                       identity ? " OVERRIDING SYSTEM VALUE" : "");
        for (i = 0; i < n; i++)
            fld_buf_printf(&sql, "%s$%zu", i ? ", " : "", i + 1);
        fld_buf_printf(&sql, ")");
        r = PQprepare(g->conn, name, fld_buf_str(&sql), (int)n, NULL);
        fld_buf_free(&sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_fail(g, r, "load", err);
        PQclear(r);
        if (rc != FLD_OK)
            return rc;
        snprintf(g->loading, sizeof g->loading, "%s", table);
    }
    for (i = 0; i < n; i++) {
        len[i] = 0;
        fmt[i] = 0;
        switch (cells[i].type) {
        case SRV_CELL_NULL:
            v[i] = NULL;
            break;
        case SRV_CELL_INT:
            snprintf(num[i], sizeof num[i], "%lld", (long long)cells[i].i);
            v[i] = num[i];
            break;
        case SRV_CELL_TEXT:
            v[i] = cells[i].text;
            break;
        case SRV_CELL_BLOB:
            v[i] = (const char *)cells[i].blob;
            len[i] = (int)cells[i].len;
            fmt[i] = 1;
            break;
        }
    }
    r = PQexecPrepared(g->conn, name, (int)n, v, len, fmt, 1);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = pg_fail(g, r, table, err);
    PQclear(r);
    return rc;
}

int srv_pg_load_end(struct srv_storage *st, const char *table,
                    const char *column, struct fld_err *err)
{
    struct srv_pg *g = PG(st);
    char *sql =
        fld_xasprintf("SELECT setval(pg_get_serial_sequence('%s', '%s'), "
                      "coalesce((SELECT max(%s) FROM %s), 0) + 1, false)",
                      table, column, column, table);
    int rc = exec_sql(g, sql, table, NULL, err);

    free(sql);
    return rc;
}

int srv_pg_count(struct srv_storage *st, const char *table, int64_t *n,
                 struct fld_err *err)
{
    struct srv_pg *g = PG(st);
    char *sql = fld_xasprintf("SELECT count(*) FROM %s", table);
    PGresult *r;
    int rc = exec_sql(g, sql, table, &r, err);

    free(sql);
    *n = 0;
    if (rc != FLD_OK)
        return rc;
    *n = PQntuples(r) == 1 ? col_int(r, 0, 0) : -1;
    PQclear(r);
    return FLD_OK;
}
