/*
 * store.c - the device's SQLite store (see store.h for the contract).
 *
 * All SQL of the device lives in the statement table below, so the whole
 * vocabulary of the store can be read in one place. The plumbing is
 * field/db.c's, shared with the server's storage: each statement is
 * prepared on first use and cached on the handle, bound, run by a helper
 * that resets it, and finalised on close; SQLite's result codes become ours
 * there (a locked file is FLD_EBUSY, a full disk FLD_EFULL, a damaged file
 * FLD_ECORRUPT, a unique-key violation on a version hash FLD_EXISTS); so do
 * the schema migrations. What stays here is the device's own: its SQL, the
 * columns each reader names, and the words of its messages.
 */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attachment.h"
#include "buf.h"
#include "db.h"
#include "embedded.h"

enum stmt_id {
    S_META_GET,
    S_META_SET,
    S_VERSION_HAS,
    S_VERSION_RECORD,
    S_VERSION_INSERT,
    S_VERSION_GET,
    S_PARENT_INSERT,
    S_HEAD_DELETE,
    S_HAS_CHILD,
    S_HEAD_INSERT,
    S_HEADS_OF,
    S_FIND_RECORD,
    S_EACH_ALL_ARRIVAL,
    S_EACH_ALL_AUTHOR,
    S_EACH_RECORD,
    S_EDGES,
    S_RECORDS,
    S_RECORDS_BRIEF,
    S_TEMPLATE_INSERT,
    S_TEMPLATE_GET,
    S_TEMPLATES,
    S_UNIT_PUT,
    S_UNIT_DROP,
    S_UNIT_AT,
    S_UNIT_COUNT,
    S_UNIT_EXISTS,
    S_UNITS,
    S_SYNC_PENDING,
    S_SYNC_PENDING_EDGES,
    S_SYNC_PENDING_COUNT,
    S_SYNC_KNOWN,
    S_SYNC_UNREFUSE,
    S_SYNC_REFUSE,
    S_SYNC_FORGET_KNOWN,
    S_SYNC_FORGET_REFUSED,
    S_SYNC_REFUSED,
    S_SYNC_COUNTS,
    S_THR_INSERT,
    S_THR_IN_FORCE,
    S_THR_EACH,
    S_INTEGRITY,
    S_FK_CHECK,
    S_META_EACH,
    S_SALVAGE_FROM,
    S_ATT_NAMED,
    S_ATT_LEARN,
    S_ATT_HOLD,
    S_ATT_KNOWN,
    S_ATT_SIGNED,
    S_ATT_SET_HELD,
    S_ATT_UPLOADED,
    S_ATT_TO_UPLOAD,
    S_ATT_TO_DOWNLOAD,
    S_ATT_HELD,
    N_STMTS
};

#define VERSION_COLUMNS                                                        \
    "seq, hash, record, author, dseq, prev, hlc_ms, hlc_count, template_id, "  \
    "template_hash, subject, status, body, sig, stored_ms"

/* One row per record: its newest head, by (hlc, hash), the same order
 * the merge uses to pick a winner among concurrent values; filtered by
 * status, subject and template (NULL: any), most recently changed first. */
#define RECORDS_HEADS                                                          \
    "WITH h AS (SELECT v.record, v.hash, v.template_id, v.subject, "           \
    "  v.status, v.hlc_ms, v.hlc_count, row_number() OVER (PARTITION BY "      \
    "  v.record ORDER BY v.hlc_ms DESC, v.hlc_count DESC, v.hash DESC) "       \
    "  AS rank, count(*) OVER (PARTITION BY v.record) AS n_heads "             \
    "  FROM heads JOIN versions v ON v.hash = heads.hash) "

#define RECORDS_SHOWN                                                          \
    "FROM h WHERE h.rank = 1 "                                                 \
    "  AND (?1 IS NULL OR h.status = ?1) "                                     \
    "  AND (?2 IS NULL OR h.subject = ?2) "                                    \
    "  AND (?3 IS NULL OR h.template_id = ?3) "                                \
    "ORDER BY h.hlc_ms DESC, h.hlc_count DESC, h.record"

static const char *const sql_text[N_STMTS] = {
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_VERSION_HAS] = "SELECT 1 FROM versions WHERE hash = ?1",
    [S_VERSION_RECORD] = "SELECT record FROM versions WHERE hash = ?1",
    [S_VERSION_INSERT] = "INSERT INTO versions (" FLD_DB_VERSION_COLUMNS
                         ", stored_ms) VALUES (" FLD_DB_VERSION_PARAMS ", ?14)",
    [S_VERSION_GET] = "SELECT body, sig FROM versions WHERE hash = ?1",
    [S_PARENT_INSERT] = FLD_DB_SQL_PARENT_INSERT,
    [S_HEAD_DELETE] = FLD_DB_SQL_HEAD_DELETE,
    /* among the versions of its record (?2): schema/field-010.sql */
    [S_HAS_CHILD] = "SELECT 1 FROM versions c CROSS JOIN parents e "
                    "ON e.child_seq = c.seq WHERE c.record = ?2 "
                    "AND e.parent = ?1 LIMIT 1",
    [S_HEAD_INSERT] = FLD_DB_SQL_HEAD_INSERT,
    [S_HEADS_OF] = "SELECT hash FROM heads WHERE record = ?1 ORDER BY hash",
    /* Hex digits sort below 'g', so [prefix, prefix||'g') is the range of
     * ids starting with prefix, and the primary key index serves it. */
    [S_FIND_RECORD] = "SELECT DISTINCT record FROM heads "
                      "WHERE record >= ?1 AND record < ?1 || 'g' LIMIT 2",
    [S_EACH_ALL_ARRIVAL] =
        "SELECT " VERSION_COLUMNS " FROM versions ORDER BY seq",
    [S_EACH_ALL_AUTHOR] =
        "SELECT " VERSION_COLUMNS " FROM versions ORDER BY author, dseq, hash",
    [S_EACH_RECORD] = "SELECT " VERSION_COLUMNS
                      " FROM versions WHERE record = ?1 ORDER BY seq",
    /* an edge whose child is gone names its row, for verify to report */
    [S_EDGES] = "SELECT coalesce(v.hash, 'row ' || e.child_seq), e.parent "
                "FROM parents e LEFT JOIN versions v ON v.seq = e.child_seq "
                "ORDER BY 1, 2",
    [S_RECORDS] = RECORDS_HEADS
    "SELECT h.record, h.template_id, h.subject, h.status, h.hlc_ms, "
    "  h.hlc_count, h.n_heads, "
    "  (SELECT count(*) FROM versions c WHERE c.record = h.record), "
    "  (SELECT f.hlc_ms FROM versions f WHERE f.record = h.record "
    "   ORDER BY f.hlc_ms, f.hlc_count LIMIT 1), "
    "  (SELECT f.hlc_count FROM versions f WHERE f.record = h.record "
    "   ORDER BY f.hlc_ms, f.hlc_count LIMIT 1) " RECORDS_SHOWN,
    /* The same rows without the counts of versions and the first stamp
     * (0): three lookups per record fewer, for a walk that reads every
     * version anyway (field export). */
    [S_RECORDS_BRIEF] = RECORDS_HEADS
    "SELECT h.record, h.template_id, h.subject, h.status, h.hlc_ms, "
    "  h.hlc_count, h.n_heads, 0, 0, 0 " RECORDS_SHOWN,
    [S_TEMPLATE_INSERT] = "INSERT INTO templates (hash, id, body, added_ms) "
                          "VALUES (?1, ?2, ?3, ?4)",
    [S_TEMPLATE_GET] = "SELECT hash, body FROM templates WHERE hash = ?1 OR "
                       "id = ?1 ORDER BY hash = ?1 DESC, added_ms DESC, "
                       "hash LIMIT 1",
    [S_TEMPLATES] = "SELECT hash, id, body, added_ms FROM templates "
                    "ORDER BY id, added_ms, hash",
    [S_UNIT_PUT] =
        "INSERT INTO units (code, name, kind, parent_code, valid_from, "
        "valid_to, in_programme, merged_into) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT (code, valid_from) DO UPDATE SET name = excluded.name, "
        "kind = excluded.kind, parent_code = excluded.parent_code, "
        "valid_to = excluded.valid_to, in_programme = excluded.in_programme, "
        "merged_into = excluded.merged_into",
    [S_UNIT_DROP] = "DELETE FROM units WHERE code = ?1 AND valid_from = ?2",
    /* The unit of this code on a date: the row whose validity holds it. */
    [S_UNIT_AT] = "SELECT code, name, kind, parent_code, valid_from, valid_to, "
                  "in_programme, merged_into FROM units WHERE code = ?1 AND "
                  "valid_from <= ?2 AND (valid_to IS NULL OR valid_to >= ?2) "
                  "ORDER BY valid_from DESC LIMIT 1",
    [S_UNIT_COUNT] = "SELECT count(*) FROM units",
    [S_UNIT_EXISTS] = "SELECT 1 FROM units WHERE code = ?1 LIMIT 1",
    [S_UNITS] =
        "SELECT code, name, kind, parent_code, valid_from, valid_to, "
        "in_programme, merged_into FROM units ORDER BY code, valid_from",
    /* Pending: the rows of sync_pending (schema/field-006.sql), which its
     * triggers keep equal to the versions neither known to the server nor
     * refused by it; each costs a look-up by seq, so finding what to push
     * costs what there is to push. length() of a blob reads only its
     * header. */
    [S_SYNC_PENDING] = "SELECT v.seq, v.hash, v.author, v.dseq, length(v.body) "
                       "FROM sync_pending p JOIN versions v ON v.seq = p.seq "
                       "ORDER BY p.seq LIMIT ?1",
    /* The parents rows of each pending child whose parent is pending too.
     * CROSS JOIN fixes the order, from the few pending rows out: left to
     * itself (no ANALYZE), SQLite walked every row of parents, whose key
     * order spares it the sort: 113 ms at 100,000 versions, now under 16. */
    [S_SYNC_PENDING_EDGES] = "SELECT vc.hash, e.parent FROM sync_pending c "
                             "CROSS JOIN versions vc ON vc.seq = c.seq "
                             "CROSS JOIN parents e ON e.child_seq = vc.seq "
                             "CROSS JOIN versions vp ON vp.hash = e.parent "
                             "CROSS JOIN sync_pending p ON p.seq = vp.seq "
                             "WHERE c.seq <= ?1 AND p.seq <= ?1 "
                             "ORDER BY vc.hash, e.parent",
    [S_SYNC_PENDING_COUNT] =
        "SELECT count(*), coalesce(sum(length(v.body)), 0) "
        "FROM sync_pending p JOIN versions v ON v.seq = p.seq",
    /* keyed by the version's row (schema/field-008.sql) */
    [S_SYNC_KNOWN] = "INSERT INTO sync_known (seq, how, at_ms) "
                     "SELECT seq, ?2, ?3 FROM versions WHERE hash = ?1 "
                     "ON CONFLICT (seq) DO NOTHING",
    [S_SYNC_UNREFUSE] = "DELETE FROM sync_refused WHERE hash = ?1",
    [S_SYNC_REFUSE] =
        "INSERT INTO sync_refused (hash, reason, message, at_ms) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (hash) DO UPDATE SET "
        "reason = excluded.reason, message = excluded.message, "
        "at_ms = excluded.at_ms",
    [S_SYNC_FORGET_KNOWN] = "DELETE FROM sync_known",
    [S_SYNC_FORGET_REFUSED] = "DELETE FROM sync_refused",
    [S_SYNC_REFUSED] =
        "SELECT r.hash, v.record, v.subject, v.author, v.dseq, r.reason, "
        "r.message, r.at_ms FROM sync_refused r JOIN versions v "
        "ON v.hash = r.hash ORDER BY r.at_ms, v.seq",
    [S_SYNC_COUNTS] = "SELECT (SELECT count(*) FROM sync_known), "
                      "(SELECT count(*) FROM sync_refused)",
    [S_THR_INSERT] =
        "INSERT INTO threshold_revisions (" FLD_DB_THRESHOLDS_COLUMNS
        ", seq, stored_ms) VALUES (" FLD_DB_THRESHOLDS_PARAMS ", ?9, ?10)",
    /* The revision in force on a date: the greatest whose valid_from is
     * not after it (the hash breaks a tie the server never lets happen). */
    [S_THR_IN_FORCE] =
        "SELECT body, sig FROM threshold_revisions WHERE template_hash = ?1 "
        "AND (?2 IS NULL OR valid_from <= ?2) "
        "ORDER BY revision DESC, hash DESC LIMIT 1",
    /* At most 100 problems: enough to say what is wrong, bounded. */
    [S_INTEGRITY] = "PRAGMA integrity_check(100)",
    [S_FK_CHECK] = "PRAGMA foreign_key_check",
    [S_META_EACH] = "SELECT key, value FROM meta ORDER BY key",
    /* By the table's own key, never an index: a damaged index must not
     * hide the rows that still read (fld_store_salvage_versions). */
    [S_SALVAGE_FROM] = "SELECT " VERSION_COLUMNS
                       " FROM versions NOT INDEXED WHERE seq > ?1 ORDER BY seq",
    [S_THR_EACH] = "SELECT hash, template_id, template_hash, revision, "
                   "valid_from, author, seq, stored_ms, body, sig "
                   "FROM threshold_revisions "
                   "ORDER BY template_id, template_hash, revision, hash",
    /* Attachments (schema/field-007.sql). What a version signed about each
     * attachment it names, and the device's row for the file, learnt from
     * the first version that names it unless the file was added here. */
    [S_ATT_NAMED] = "INSERT INTO version_attachments (seq, hash, bytes, type, "
                    "taken, position) VALUES ((SELECT seq FROM versions "
                    "WHERE hash = ?1), ?2, ?3, ?4, ?5, ?6)",
    [S_ATT_LEARN] = "INSERT INTO attachments (hash, bytes, type, taken, "
                    "position, added_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                    "ON CONFLICT (hash) DO NOTHING",
    [S_ATT_HOLD] = "INSERT INTO attachments (hash, bytes, type, taken, "
                   "position, added_ms, held) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                   "1) ON CONFLICT (hash) DO UPDATE SET held = 1",
    [S_ATT_KNOWN] = "SELECT hash, bytes, type, taken, position, held "
                    "FROM attachments WHERE hash = ?1",
    /* The first stored version's word for it: what was signed first. */
    [S_ATT_SIGNED] =
        "SELECT va.hash, va.bytes, va.type, va.taken, va.position, "
        "coalesce(a.held, 0) FROM version_attachments va "
        "LEFT JOIN attachments a ON a.hash = va.hash "
        "WHERE va.hash = ?1 ORDER BY va.seq LIMIT 1",
    [S_ATT_SET_HELD] = "UPDATE attachments SET held = ?2 WHERE hash = ?1",
    [S_ATT_UPLOADED] = "UPDATE attachments SET uploaded = 1 WHERE hash = ?1",
    [S_ATT_TO_UPLOAD] =
        "SELECT a.hash, a.bytes, a.type, a.taken, a.position, a.held "
        "FROM attachments a WHERE a.held = 1 AND a.uploaded = 0 "
        "AND EXISTS (SELECT 1 FROM version_attachments va "
        "  JOIN versions v ON v.seq = va.seq "
        "  JOIN sync_known k ON k.seq = v.seq WHERE va.hash = a.hash) "
        "ORDER BY a.id LIMIT ?1",
    [S_ATT_TO_DOWNLOAD] =
        "SELECT a.hash, a.bytes, a.type, a.taken, a.position, a.held "
        "FROM attachments a WHERE a.held = 0 "
        "AND EXISTS (SELECT 1 FROM version_attachments va "
        "  JOIN versions v ON v.seq = va.seq WHERE va.hash = a.hash "
        "  AND (?2 IS NULL OR v.record = ?2)) "
        "ORDER BY a.id LIMIT ?1",
    [S_ATT_HELD] = "SELECT hash, bytes, type, taken, position, held "
                   "FROM attachments WHERE held = 1 ORDER BY id LIMIT ?1",
};

struct fld_store {
    struct fld_db *d;
};

/* Migrations in order: migration[i] brings user_version from i to i+1. */
static const char *const migration[] = {
    "field.sql",     "field-002.sql", "field-003.sql", "field-004.sql",
    "field-005.sql", "field-006.sql", "field-007.sql", "field-008.sql",
    "field-009.sql", "field-010.sql"};

static const struct fld_db_kind device_store = {
    .name = "field device store",
    .program = "field",
    .application_id = FLD_DB_APP_DEVICE,
    .files = fld_embedded_files,
    .migrations = migration,
    .n_migrations = sizeof migration / sizeof migration[0],
    .sql = sql_text,
    .n_stmts = N_STMTS,
    .busy_ms = 2000,
};

int fld_store_open(const char *path, enum fld_store_mode mode,
                   struct fld_store **out, struct fld_err *err)
{
    struct fld_store *st = fld_xcalloc(1, sizeof *st);
    int flags = mode == FLD_STORE_CREATE     ? FLD_DB_CREATE
                : mode == FLD_STORE_READONLY ? FLD_DB_READONLY
                                             : 0;
    int rc = fld_db_open(path, &device_store, flags, &st->d, err);

    *out = NULL;
    if (rc != FLD_OK) {
        free(st);
        return rc;
    }
    *out = st;
    return FLD_OK;
}

void fld_store_close(struct fld_store *st)
{
    if (st == NULL)
        return;
    fld_db_close(st->d);
    free(st);
}

void fld_store_set_busy_timeout(struct fld_store *st, int ms)
{
    sqlite3_busy_timeout(st->d->db, ms);
}

int fld_store_begin(struct fld_store *st, struct fld_err *err)
{
    return fld_db_begin(st->d, err);
}

int fld_store_commit(struct fld_store *st, struct fld_err *err)
{
    return fld_db_commit(st->d, err);
}

void fld_store_rollback(struct fld_store *st)
{
    fld_db_rollback(st->d);
}

int fld_store_begin_read(struct fld_store *st, struct fld_err *err)
{
    return fld_db_exec(st->d->db, "BEGIN DEFERRED", "begin reading", err);
}

int fld_store_meta_get(struct fld_store *st, const char *key, char **value,
                       struct fld_err *err)
{
    int rc =
        fld_db_get_text(st->d, S_META_GET, key, value, "read setting", err);

    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "setting %s is not set", key);
    return rc;
}

int fld_store_meta_set(struct fld_store *st, const char *key, const char *value,
                       struct fld_err *err)
{
    return fld_db_run(st->d, S_META_SET, key, value, "write setting", err);
}

int fld_store_meta_get_int(struct fld_store *st, const char *key,
                           int64_t *value, struct fld_err *err)
{
    char *text, *end;
    int rc = fld_store_meta_get(st, key, &text, err);

    if (rc != FLD_OK)
        return rc;
    *value = strtoll(text, &end, 10);
    rc = (*end != '\0' || end == text)
             ? fld_err_set(err, FLD_ECORRUPT, "setting %s is not a number", key)
             : FLD_OK;
    free(text);
    return rc;
}

int fld_store_meta_set_int(struct fld_store *st, const char *key, int64_t value,
                           struct fld_err *err)
{
    char text[24];

    snprintf(text, sizeof text, "%lld", (long long)value);
    return fld_store_meta_set(st, key, text, err);
}

/* Bind an attachment's columns from ?first on: hash, bytes, type, taken,
 * position (NULL when unknown), then the time it was learnt. */
static void bind_attachment(sqlite3_stmt *s, int first, const char *hash,
                            int64_t bytes, const char *type, const char *taken,
                            const char *position)
{
    fld_db_bind_text(s, first, hash);
    sqlite3_bind_int64(s, first + 1, bytes);
    fld_db_bind_text(s, first + 2, type);
    fld_db_bind_text(s, first + 3, taken && taken[0] ? taken : NULL);
    fld_db_bind_text(s, first + 4, position && position[0] ? position : NULL);
    if (first == 1)
        sqlite3_bind_int64(s, 6, fld_now_ms());
}

/* The attachments v names (its signed "attachments" member): what it
 * signed about each, and a row for each file the device did not know. */
static int put_attachments(struct fld_store *st, const struct fld_version *v,
                           struct fld_err *err)
{
    size_t i, n = fld_version_n_attachments(v);
    sqlite3_stmt *s;
    int rc = FLD_OK;

    for (i = 0; i < n && rc == FLD_OK; i++) {
        struct fld_version_attachment a;

        fld_version_attachment(v, i, &a);
        if ((rc = fld_db_stmt(st->d, S_ATT_NAMED, &s, err)) != FLD_OK)
            break;
        fld_db_bind_text(s, 1, v->hash);
        bind_attachment(s, 2, a.hash, a.bytes, a.type, a.taken, a.position);
        if ((rc = fld_db_done(st->d, s, "store attachment", err)) != FLD_OK)
            break;
        if ((rc = fld_db_stmt(st->d, S_ATT_LEARN, &s, err)) != FLD_OK)
            break;
        bind_attachment(s, 1, a.hash, a.bytes, a.type, a.taken, a.position);
        rc = fld_db_done(st->d, s, "store attachment", err);
    }
    return rc;
}

/*
 * A new version replaces its parents as heads of the record. It becomes a
 * head itself unless a stored version of its record already names it as
 * a parent (a child relayed before its parent).
 */
int fld_store_put_version(struct fld_store *st, const struct fld_version *v,
                          struct fld_err *err)
{
    static const struct fld_db_heads heads = {S_PARENT_INSERT, S_HEAD_DELETE,
                                              S_HAS_CHILD, S_HEAD_INSERT};
    sqlite3_stmt *s;
    int64_t seq;
    bool found;
    int rc;

    rc =
        fld_db_exists(st->d, S_VERSION_HAS, v->hash, NULL, &found, "read", err);
    if (rc != FLD_OK)
        return rc;
    if (found)
        return fld_err_set(err, FLD_EXISTS, "version %.16s already stored",
                           v->hash);
    if ((rc = fld_db_stmt(st->d, S_VERSION_INSERT, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_version(s, v);
    sqlite3_bind_int64(s, 14, fld_now_ms());
    if ((rc = fld_db_done(st->d, s, "store version", err)) != FLD_OK)
        return rc;
    seq = sqlite3_last_insert_rowid(st->d->db); /* before anything else */
    if ((rc = put_attachments(st, v, err)) != FLD_OK)
        return rc;
    return fld_db_heads_add(st->d, &heads, v, seq, err);
}

int fld_store_version_record(struct fld_store *st, const char *hash,
                             char **record, struct fld_err *err)
{
    int rc = fld_db_get_text(st->d, S_VERSION_RECORD, hash, record,
                             "read version", err);

    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "version %.16s not found", hash);
    return rc;
}

/* Columns 0 and 1 of the row s was stepped to, a signed body and its
 * signature, copied out (*body new, free()); s is reset either way. False,
 * with nothing copied, when a column is missing or the wrong size. */
static bool take_signed(sqlite3_stmt *s, uint8_t **body, size_t *len,
                        uint8_t sig[FLD_SIG_LEN])
{
    bool ok = sqlite3_column_blob(s, 0) != NULL &&
              sqlite3_column_bytes(s, 1) == FLD_SIG_LEN;

    if (ok) {
        *body = fld_db_blob_dup(s, 0, len);
        memcpy(sig, sqlite3_column_blob(s, 1), FLD_SIG_LEN);
    }
    fld_db_reset(s);
    return ok;
}

int fld_store_version_raw(struct fld_store *st, const char *hash,
                          uint8_t **body, size_t *len, uint8_t sig[FLD_SIG_LEN],
                          struct fld_err *err)
{
    char actual[FLD_HASH_HEX_LEN + 1];
    sqlite3_stmt *s;
    int rc;

    *body = NULL;
    *len = 0;
    rc = fld_db_lookup(st->d, S_VERSION_GET, hash, NULL, &s, "read version",
                       err);
    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "version %.16s not found", hash);
    if (rc != FLD_OK)
        return rc;
    if (!take_signed(s, body, len, sig))
        return fld_err_set(err, FLD_ECORRUPT,
                           "version %.16s: stored body or signature is damaged",
                           hash);
    /* The hash is the version's name: bytes that no longer give it were
     * changed behind the program's back. */
    fld_version_hash(*body, *len, actual);
    if (strcmp(actual, hash) != 0) {
        free(*body);
        *body = NULL;
        *len = 0;
        return fld_err_set(err, FLD_ECORRUPT,
                           "version %.16s: stored body does not match its hash",
                           hash);
    }
    return FLD_OK;
}

int fld_store_get_version(struct fld_store *st, const char *hash,
                          struct fld_version **out, struct fld_err *err)
{
    uint8_t *body, sig[FLD_SIG_LEN];
    size_t len;
    int rc;

    *out = NULL;
    if ((rc = fld_store_version_raw(st, hash, &body, &len, sig, err)) != FLD_OK)
        return rc;
    rc = fld_version_open(body, len, sig, out, err);
    free(body);
    if (rc != FLD_OK)
        return fld_err_set(err, FLD_ECORRUPT, "version %.16s: %s", hash,
                           err ? err->msg : "does not verify");
    return FLD_OK;
}

int fld_store_find_record(struct fld_store *st, const char *prefix,
                          char out[FLD_RECORD_HEX_LEN + 1], struct fld_err *err)
{
    size_t len = strlen(prefix), i;
    int rc, n;

    for (i = 0; i < len; i++)
        if (!((prefix[i] >= '0' && prefix[i] <= '9') ||
              (prefix[i] >= 'a' && prefix[i] <= 'f')))
            break;
    if (len < 4 || len > FLD_RECORD_HEX_LEN || i < len)
        return fld_err_set(err, FLD_NOTFOUND,
                           "no record %s (give 4 to 32 lowercase hex digits)",
                           prefix);
    rc = fld_db_prefix(st->d, S_FIND_RECORD, prefix, out,
                       FLD_RECORD_HEX_LEN + 1, &n, "find record", err);
    if (rc != FLD_OK)
        return rc;
    if (n == 0)
        return fld_err_set(err, FLD_NOTFOUND, "no record %s", prefix);
    if (n > 1)
        return fld_err_set(err, FLD_CONFLICT,
                           "record %s is ambiguous; give more digits", prefix);
    return FLD_OK;
}

void fld_strv_free(char **v, size_t n)
{
    fld_db_strv_free(v, n);
}

int fld_store_heads(struct fld_store *st, const char *record, char ***hashes,
                    size_t *n, struct fld_err *err)
{
    return fld_db_texts(st->d, S_HEADS_OF, record, hashes, n, "read heads",
                        err);
}

/*
 * Every walk of the store is fld_db_walk(): step a bound statement, hand
 * each row to a small reader that names the columns and calls the caller's
 * callback, stop at the first result that is not FLD_OK. A walk carries the
 * caller's callback and context.
 */
struct walk {
    union {
        fld_store_row_fn version;
        fld_store_edge_fn edge;
        fld_record_fn record;
        fld_template_row_fn template;
        fld_unit_fn unit;
        fld_store_pending_fn pending;
        fld_store_refused_fn refused;
        fld_store_thresholds_fn thresholds;
    } fn;
    void *ctx;
    struct fld_err *err;
};

/* Walk statement id, bound to arg when it is not NULL. */
static int walk(struct fld_store *st, enum stmt_id id, const char *arg,
                fld_db_row_fn read, struct walk *w, const char *what)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(st->d, id, &s, w->err)) != FLD_OK)
        return rc;
    if (arg != NULL)
        fld_db_bind_text(s, 1, arg);
    return fld_db_walk(st->d, s, read, w, what, w->err);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    return fld_db_text(s, i);
}

static void read_row(sqlite3_stmt *s, struct fld_store_row *row)
{
    row->seq = sqlite3_column_int64(s, 0);
    row->hash = col_text(s, 1);
    row->record = col_text(s, 2);
    row->author = col_text(s, 3);
    row->dseq = sqlite3_column_int64(s, 4);
    row->prev = col_text(s, 5);
    row->hlc.ms = sqlite3_column_int64(s, 6);
    row->hlc.count = sqlite3_column_int64(s, 7);
    row->template_id = col_text(s, 8);
    row->template_hash = col_text(s, 9);
    row->subject = col_text(s, 10);
    row->status = col_text(s, 11);
    row->body = sqlite3_column_blob(s, 12);
    row->body_len = (size_t)sqlite3_column_bytes(s, 12);
    row->sig = sqlite3_column_blob(s, 13);
    row->sig_len = (size_t)sqlite3_column_bytes(s, 13);
    row->stored_ms = sqlite3_column_int64(s, 14);
}

/* A tampered file may hold NULLs where the schema says NOT NULL no longer
 * holds (the columns were rewritten); never hand NULL text to callers. */
static int row_complete(const struct fld_store_row *row)
{
    return row->hash && row->record && row->author && row->template_id &&
           row->template_hash && row->subject && row->status;
}

static int version_row(void *data, sqlite3_stmt *s)
{
    const struct walk *w = data;
    struct fld_store_row row;

    read_row(s, &row);
    if (!row_complete(&row))
        return fld_err_set(w->err, FLD_ECORRUPT,
                           "version row %lld has empty columns",
                           (long long)row.seq);
    return w->fn.version(w->ctx, &row);
}

int fld_store_each_version(struct fld_store *st, const char *record,
                           enum fld_store_order order, fld_store_row_fn fn,
                           void *ctx, struct fld_err *err)
{
    enum stmt_id id = record                      ? S_EACH_RECORD
                      : order == FLD_ORDER_AUTHOR ? S_EACH_ALL_AUTHOR
                                                  : S_EACH_ALL_ARRIVAL;
    struct walk w = {.fn.version = fn, .ctx = ctx, .err = err};

    return walk(st, id, record, version_row, &w, "read versions");
}

static int edge_row(void *data, sqlite3_stmt *s)
{
    const struct walk *w = data;

    return w->fn.edge(w->ctx, col_text(s, 0) ? col_text(s, 0) : "",
                      col_text(s, 1) ? col_text(s, 1) : "");
}

int fld_store_each_edge(struct fld_store *st, fld_store_edge_fn fn, void *ctx,
                        struct fld_err *err)
{
    struct walk w = {.fn.edge = fn, .ctx = ctx, .err = err};

    return walk(st, S_EDGES, NULL, edge_row, &w, "read parents");
}

static int record_row(void *data, sqlite3_stmt *s)
{
    const struct walk *w = data;
    struct fld_record_summary sum;

    sum.record = col_text(s, 0);
    sum.template_id = col_text(s, 1);
    sum.subject = col_text(s, 2);
    sum.status = col_text(s, 3);
    sum.updated.ms = sqlite3_column_int64(s, 4);
    sum.updated.count = sqlite3_column_int64(s, 5);
    sum.n_heads = sqlite3_column_int64(s, 6);
    sum.n_versions = sqlite3_column_int64(s, 7);
    sum.created.ms = sqlite3_column_int64(s, 8);
    sum.created.count = sqlite3_column_int64(s, 9);
    if (!sum.record || !sum.template_id || !sum.subject || !sum.status)
        return fld_err_set(w->err, FLD_ECORRUPT,
                           "a record row has empty columns");
    return w->fn.record(w->ctx, &sum);
}

static int each_record(struct fld_store *st, enum stmt_id id,
                       const struct fld_record_filter *filter, fld_record_fn fn,
                       void *ctx, struct fld_err *err)
{
    struct walk w = {.fn.record = fn, .ctx = ctx, .err = err};
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(st->d, id, &s, err)) != FLD_OK)
        return rc;
    if (filter) {
        fld_db_bind_text(s, 1, filter->status);
        fld_db_bind_text(s, 2, filter->subject);
        fld_db_bind_text(s, 3, filter->template_id);
    }
    return fld_db_walk(st->d, s, record_row, &w, "list records", err);
}

int fld_store_each_record(struct fld_store *st,
                          const struct fld_record_filter *filter,
                          fld_record_fn fn, void *ctx, struct fld_err *err)
{
    return each_record(st, S_RECORDS, filter, fn, ctx, err);
}

int fld_store_each_record_brief(struct fld_store *st,
                                const struct fld_record_filter *filter,
                                fld_record_fn fn, void *ctx,
                                struct fld_err *err)
{
    return each_record(st, S_RECORDS_BRIEF, filter, fn, ctx, err);
}

int fld_store_template_put(struct fld_store *st, const char *hash,
                           const char *id, const uint8_t *body, size_t len,
                           struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(st->d, S_TEMPLATE_INSERT, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, hash);
    fld_db_bind_text(s, 2, id);
    sqlite3_bind_blob(s, 3, body, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, fld_now_ms());
    rc = fld_db_done(st->d, s, "install template", err);
    if (rc == FLD_EXISTS)
        return fld_err_set(err, FLD_EXISTS, "template %s is already installed",
                           id);
    return rc;
}

int fld_store_template_get(struct fld_store *st, const char *id_or_hash,
                           uint8_t **body, size_t *len,
                           char hash_out[FLD_HASH_HEX_LEN + 1],
                           struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    *body = NULL;
    *len = 0;
    rc = fld_db_lookup(st->d, S_TEMPLATE_GET, id_or_hash, NULL, &s,
                       "read template", err);
    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "no template %s", id_or_hash);
    if (rc != FLD_OK)
        return rc;
    *body = fld_db_blob_dup(s, 1, len);
    if (hash_out)
        snprintf(hash_out, FLD_HASH_HEX_LEN + 1, "%s",
                 col_text(s, 0) ? col_text(s, 0) : "");
    fld_db_reset(s);
    return FLD_OK;
}

static int template_row(void *data, sqlite3_stmt *s)
{
    const struct walk *w = data;

    return w->fn.template(
        w->ctx, col_text(s, 0), col_text(s, 1), sqlite3_column_blob(s, 2),
        (size_t)sqlite3_column_bytes(s, 2), sqlite3_column_int64(s, 3));
}

int fld_store_each_template(struct fld_store *st, fld_template_row_fn fn,
                            void *ctx, struct fld_err *err)
{
    struct walk w = {.fn.template = fn, .ctx = ctx, .err = err};

    return walk(st, S_TEMPLATES, NULL, template_row, &w, "list templates");
}

int fld_store_unit_put(struct fld_store *st, const struct fld_unit *u,
                       struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(st->d, S_UNIT_PUT, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, u->code);
    fld_db_bind_text(s, 2, u->name);
    fld_db_bind_text(s, 3, u->kind);
    fld_db_bind_text(s, 4, u->parent_code);
    fld_db_bind_text(s, 5, u->valid_from);
    fld_db_bind_text(s, 6, u->valid_to);
    sqlite3_bind_int(s, 7, u->in_programme ? 1 : 0);
    fld_db_bind_text(s, 8, u->merged_into);
    return fld_db_done(st->d, s, "store unit", err);
}

int fld_store_unit_drop(struct fld_store *st, const char *code,
                        const char *valid_from, struct fld_err *err)
{
    return fld_db_run(st->d, S_UNIT_DROP, code, valid_from, "store unit", err);
}

static int unit_row(void *data, sqlite3_stmt *s)
{
    const struct walk *w = data;
    struct fld_unit u;

    u.code = col_text(s, 0);
    u.name = col_text(s, 1);
    u.kind = col_text(s, 2);
    u.parent_code = col_text(s, 3);
    u.valid_from = col_text(s, 4);
    u.valid_to = col_text(s, 5);
    u.in_programme = sqlite3_column_int(s, 6) != 0;
    u.merged_into = col_text(s, 7);
    return w->fn.unit(w->ctx, &u);
}

int fld_store_unit_at(struct fld_store *st, const char *code, const char *date,
                      fld_unit_fn fn, void *ctx, struct fld_err *err)
{
    struct walk w = {.fn.unit = fn, .ctx = ctx, .err = err};
    sqlite3_stmt *s;
    int rc;

    rc = fld_db_lookup(st->d, S_UNIT_AT, code, date, &s, "read unit", err);
    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "no unit %s on %s", code, date);
    if (rc != FLD_OK)
        return rc;
    rc = unit_row(&w, s);
    fld_db_reset(s);
    return rc;
}

int fld_store_unit_count(struct fld_store *st, int64_t *n, struct fld_err *err)
{
    return fld_db_int64s(st->d, S_UNIT_COUNT, NULL, n, 1, "count units", err);
}

int fld_store_each_unit(struct fld_store *st, fld_unit_fn fn, void *ctx,
                        struct fld_err *err)
{
    struct walk w = {.fn.unit = fn, .ctx = ctx, .err = err};

    return walk(st, S_UNITS, NULL, unit_row, &w, "list units");
}

int fld_store_unit_exists(struct fld_store *st, const char *code, bool *out,
                          struct fld_err *err)
{
    return fld_db_exists(st->d, S_UNIT_EXISTS, code, NULL, out, "read", err);
}

/* ---- sync state ------------------------------------------------------------
 */

static int pending_row(void *data, sqlite3_stmt *s)
{
    const struct walk *w = data;
    struct fld_store_pending p;

    p.seq = sqlite3_column_int64(s, 0);
    p.hash = col_text(s, 1);
    p.author = col_text(s, 2);
    p.dseq = sqlite3_column_int64(s, 3);
    p.body_len = (size_t)sqlite3_column_int64(s, 4);
    if (p.hash == NULL || p.author == NULL)
        return fld_err_set(w->err, FLD_ECORRUPT,
                           "version row %lld has empty columns",
                           (long long)p.seq);
    return w->fn.pending(w->ctx, &p);
}

int fld_store_sync_each_pending(struct fld_store *st, size_t limit,
                                fld_store_pending_fn fn, void *ctx,
                                struct fld_err *err)
{
    struct walk w = {.fn.pending = fn, .ctx = ctx, .err = err};
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(st->d, S_SYNC_PENDING, &s, err)) != FLD_OK)
        return rc;
    sqlite3_bind_int64(s, 1, limit > 0 ? (int64_t)limit : -1); /* -1: all */
    return fld_db_walk(st->d, s, pending_row, &w, "list pending versions", err);
}

int fld_store_sync_pending_edges(struct fld_store *st, int64_t max_seq,
                                 fld_store_edge_fn fn, void *ctx,
                                 struct fld_err *err)
{
    struct walk w = {.fn.edge = fn, .ctx = ctx, .err = err};
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(st->d, S_SYNC_PENDING_EDGES, &s, err)) != FLD_OK)
        return rc;
    sqlite3_bind_int64(s, 1, max_seq > 0 ? max_seq : INT64_MAX);
    return fld_db_walk(st->d, s, edge_row, &w, "list pending parents", err);
}

int fld_store_sync_pending_count(struct fld_store *st, int64_t *n,
                                 int64_t *bytes, struct fld_err *err)
{
    int64_t v[2] = {0, 0};
    int rc = fld_db_int64s(st->d, S_SYNC_PENDING_COUNT, NULL, v, 2,
                           "count pending versions", err);

    *n = v[0];
    if (bytes)
        *bytes = v[1];
    return rc;
}

int fld_store_sync_known(struct fld_store *st, const char *hash,
                         const char *how, struct fld_err *err)
{
    const char *what = "record a version the server holds";
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(st->d, S_SYNC_KNOWN, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, hash);
    fld_db_bind_text(s, 2, how);
    sqlite3_bind_int64(s, 3, fld_now_ms());
    if ((rc = fld_db_done(st->d, s, what, err)) != FLD_OK)
        return rc;
    return fld_db_run(st->d, S_SYNC_UNREFUSE, hash, NULL, what, err);
}

int fld_store_sync_refuse(struct fld_store *st, const char *hash,
                          const char *reason, const char *message,
                          struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(st->d, S_SYNC_REFUSE, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, hash);
    fld_db_bind_text(s, 2, reason);
    fld_db_bind_text(s, 3, message);
    sqlite3_bind_int64(s, 4, fld_now_ms());
    return fld_db_done(st->d, s, "record a refused version", err);
}

int fld_store_sync_forget(struct fld_store *st, struct fld_err *err)
{
    const char *what = "forget sync state";
    int rc = fld_db_run(st->d, S_SYNC_FORGET_KNOWN, NULL, NULL, what, err);

    if (rc != FLD_OK)
        return rc;
    return fld_db_run(st->d, S_SYNC_FORGET_REFUSED, NULL, NULL, what, err);
}

static int refused_row(void *data, sqlite3_stmt *s)
{
    const struct walk *w = data;
    struct fld_store_refused d;

    d.hash = col_text(s, 0);
    d.record = col_text(s, 1);
    d.subject = col_text(s, 2);
    d.author = col_text(s, 3);
    d.dseq = sqlite3_column_int64(s, 4);
    d.reason = col_text(s, 5);
    d.message = col_text(s, 6);
    d.at_ms = sqlite3_column_int64(s, 7);
    if (!d.hash || !d.record || !d.subject || !d.author || !d.reason)
        return fld_err_set(w->err, FLD_ECORRUPT,
                           "a refused-version row has empty columns");
    return w->fn.refused(w->ctx, &d);
}

int fld_store_sync_each_refused(struct fld_store *st, fld_store_refused_fn fn,
                                void *ctx, struct fld_err *err)
{
    struct walk w = {.fn.refused = fn, .ctx = ctx, .err = err};

    return walk(st, S_SYNC_REFUSED, NULL, refused_row, &w,
                "list refused versions");
}

int fld_store_sync_counts(struct fld_store *st, int64_t *known,
                          int64_t *refused, struct fld_err *err)
{
    int64_t v[2] = {0, 0};
    int rc = fld_db_int64s(st->d, S_SYNC_COUNTS, NULL, v, 2, "count sync state",
                           err);

    *known = v[0];
    *refused = v[1];
    return rc;
}

/* ---- threshold revisions ---------------------------------------------------
 */

int fld_store_thresholds_put(struct fld_store *st,
                             const struct fld_thresholds *r, int64_t seq,
                             struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(st->d, S_THR_INSERT, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_thresholds(s, r);
    if (seq > 0)
        sqlite3_bind_int64(s, 9, seq);
    sqlite3_bind_int64(s, 10, fld_now_ms());
    rc = fld_db_done(st->d, s, "store threshold revision", err);
    if (rc == FLD_EXISTS)
        return fld_err_set(err, FLD_EXISTS,
                           "threshold revision %.16s already stored", r->hash);
    return rc;
}

int fld_store_thresholds_in_force(struct fld_store *st,
                                  const char *template_hash, const char *as_of,
                                  uint8_t **body, size_t *len,
                                  uint8_t sig[FLD_SIG_LEN], struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    *body = NULL;
    *len = 0;
    rc = fld_db_lookup(st->d, S_THR_IN_FORCE, template_hash, as_of, &s,
                       "read threshold revision", err);
    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND,
                           "no threshold revision for template %.16s",
                           template_hash);
    if (rc != FLD_OK)
        return rc;
    if (!take_signed(s, body, len, sig))
        return fld_err_set(err, FLD_ECORRUPT,
                           "a threshold revision of template %.16s is damaged",
                           template_hash);
    return FLD_OK;
}

static int thresholds_row(void *data, sqlite3_stmt *s)
{
    const struct walk *w = data;
    struct fld_store_thresholds_row r;

    r.hash = col_text(s, 0);
    r.template_id = col_text(s, 1);
    r.template_hash = col_text(s, 2);
    r.revision = sqlite3_column_int64(s, 3);
    r.valid_from = col_text(s, 4);
    r.author = col_text(s, 5);
    r.seq = sqlite3_column_int64(s, 6); /* 0 for NULL */
    r.stored_ms = sqlite3_column_int64(s, 7);
    r.body = sqlite3_column_blob(s, 8);
    r.body_len = (size_t)sqlite3_column_bytes(s, 8);
    r.sig = sqlite3_column_blob(s, 9);
    if (!r.hash || !r.template_id || !r.template_hash || !r.valid_from ||
        !r.author || !r.body || !r.sig ||
        sqlite3_column_bytes(s, 9) != FLD_SIG_LEN)
        return fld_err_set(w->err, FLD_ECORRUPT,
                           "a threshold revision row has empty columns");
    return w->fn.thresholds(w->ctx, &r);
}

int fld_store_each_thresholds(struct fld_store *st, fld_store_thresholds_fn fn,
                              void *ctx, struct fld_err *err)
{
    struct walk w = {.fn.thresholds = fn, .ctx = ctx, .err = err};

    return walk(st, S_THR_EACH, NULL, thresholds_row, &w,
                "list threshold revisions");
}

/* ---- damage: checking the file itself, and saving what still reads ------ */

struct problems {
    fld_store_problem_fn fn;
    void *ctx;
    int64_t n;
};

static int integrity_row(void *data, sqlite3_stmt *s)
{
    struct problems *p = data;
    const char *line = col_text(s, 0);

    if (line != NULL && strcmp(line, "ok") == 0)
        return FLD_OK;
    p->n++;
    p->fn(p->ctx, line ? line : "integrity check: unreadable answer");
    return FLD_OK;
}

static int fk_row(void *data, sqlite3_stmt *s)
{
    struct problems *p = data;
    char *line = fld_xasprintf("table %s row %lld names a missing row of %s",
                               col_text(s, 0) ? col_text(s, 0) : "?",
                               (long long)sqlite3_column_int64(s, 1),
                               col_text(s, 2) ? col_text(s, 2) : "?");

    p->n++;
    p->fn(p->ctx, line);
    free(line);
    return FLD_OK;
}

/* Run one checking pragma; a failure to run it is itself a problem. */
static void run_check(struct fld_store *st, enum stmt_id id, fld_db_row_fn read,
                      struct problems *p)
{
    struct fld_err e;
    sqlite3_stmt *s;
    int rc;

    fld_err_clear(&e);
    rc = fld_db_stmt(st->d, id, &s, &e);
    if (rc == FLD_OK)
        rc = fld_db_walk(st->d, s, read, p, "check", &e);
    if (rc != FLD_OK) {
        p->n++;
        p->fn(p->ctx, e.msg);
    }
}

int64_t fld_store_check_file(struct fld_store *st, fld_store_problem_fn fn,
                             void *ctx)
{
    struct problems p = {fn, ctx, 0};

    run_check(st, S_INTEGRITY, integrity_row, &p);
    run_check(st, S_FK_CHECK, fk_row, &p);
    return p.n;
}

struct meta_walk {
    fld_store_meta_fn fn;
    void *ctx;
};

static int meta_row(void *data, sqlite3_stmt *s)
{
    struct meta_walk *m = data;

    if (col_text(s, 0) == NULL || col_text(s, 1) == NULL)
        return FLD_OK;
    return m->fn(m->ctx, col_text(s, 0), col_text(s, 1));
}

int fld_store_each_meta(struct fld_store *st, fld_store_meta_fn fn, void *ctx,
                        struct fld_err *err)
{
    struct meta_walk m = {fn, ctx};
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(st->d, S_META_EACH, &s, err)) != FLD_OK)
        return rc;
    return fld_db_walk(st->d, s, meta_row, &m, "read settings", err);
}

struct salvage {
    fld_store_row_fn fn;
    void *ctx;
    int64_t last;    /* seq of the last row handed over */
    bool is_stopped; /* fn said stop */
};

static int salvage_row(void *data, sqlite3_stmt *s)
{
    struct salvage *v = data;
    struct fld_store_row row;
    int rc;

    read_row(s, &row);
    v->last = row.seq;
    if (!row_complete(&row))
        return FLD_OK; /* unreadable columns: skipped, not fatal */
    rc = v->fn(v->ctx, &row);
    v->is_stopped = rc != FLD_OK;
    return rc;
}

/*
 * Rows of a damaged b-tree page fail to read, and so may every later row
 * of the same scan. After a failure the scan starts again past the last
 * row read, skipping 1, 2, 4 ... sequence numbers, so that the rows behind
 * a damaged page are still reached; 2^20 rows past the last good one it
 * gives up (a store holds far fewer versions).
 */
int fld_store_salvage_versions(struct fld_store *st, fld_store_row_fn fn,
                               void *ctx, int64_t *n_failures,
                               struct fld_err *err)
{
    struct salvage v = {fn, ctx, 0, false};
    int64_t base = 0, skip = 0; /* rows with seq <= base are behind us */
    struct fld_err e;
    sqlite3_stmt *s;
    int rc;

    *n_failures = 0;
    for (;;) {
        if ((rc = fld_db_stmt(st->d, S_SALVAGE_FROM, &s, err)) != FLD_OK)
            return rc;
        sqlite3_bind_int64(s, 1, base);
        v.last = base;
        fld_err_clear(&e);
        rc = fld_db_walk(st->d, s, salvage_row, &v, "read versions", &e);
        if (rc == FLD_OK)
            return FLD_OK;
        if (v.is_stopped) /* fn's own failure: its message is its own */
            return rc;
        (*n_failures)++;
        if (v.last > base) {
            base = v.last;
            skip = 1;
        } else {
            skip = skip == 0 ? 1 : 2 * skip;
        }
        if (skip > ((int64_t)1 << 20))
            return FLD_OK;
        base += skip;
    }
}

/* ---- attachments (schema/field-007.sql) ---------------------------------- */

int fld_store_attach_hold(struct fld_store *st, const struct fld_attachment *a,
                          struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc = fld_db_stmt(st->d, S_ATT_HOLD, &s, err);

    if (rc != FLD_OK)
        return rc;
    bind_attachment(s, 1, a->hash, a->bytes, a->type, a->taken, a->position);
    return fld_db_done(st->d, s, "record attachment", err);
}

/* Columns 0..5 of an attachment row into *out and *held. */
static void read_attachment(sqlite3_stmt *s, struct fld_attachment *out,
                            bool *held)
{
    const char *t;

    memset(out, 0, sizeof *out);
    snprintf(out->hash, sizeof out->hash, "%s", (t = col_text(s, 0)) ? t : "");
    out->bytes = sqlite3_column_int64(s, 1);
    snprintf(out->type, sizeof out->type, "%s", (t = col_text(s, 2)) ? t : "");
    snprintf(out->taken, sizeof out->taken, "%s",
             (t = col_text(s, 3)) ? t : "");
    snprintf(out->position, sizeof out->position, "%s",
             (t = col_text(s, 4)) ? t : "");
    if (held)
        *held = sqlite3_column_int(s, 5) != 0;
}

static int attach_lookup(struct fld_store *st, enum stmt_id id,
                         const char *hash, struct fld_attachment *out,
                         bool *held, struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc = fld_db_lookup(st->d, id, hash, NULL, &s, "read attachment", err);

    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "no attachment %.16s", hash);
    if (rc != FLD_OK)
        return rc;
    read_attachment(s, out, held);
    fld_db_reset(s);
    return FLD_OK;
}

int fld_store_attach_known(struct fld_store *st, const char *hash,
                           struct fld_attachment *out, bool *held,
                           struct fld_err *err)
{
    return attach_lookup(st, S_ATT_KNOWN, hash, out, held, err);
}

int fld_store_attach_signed(struct fld_store *st, const char *hash,
                            struct fld_attachment *out, bool *held,
                            struct fld_err *err)
{
    return attach_lookup(st, S_ATT_SIGNED, hash, out, held, err);
}

int fld_store_attach_set_held(struct fld_store *st, const char *hash, bool held,
                              struct fld_err *err)
{
    return fld_db_run(st->d, S_ATT_SET_HELD, hash, held ? "1" : "0",
                      "record attachment", err);
}

int fld_store_attach_uploaded(struct fld_store *st, const char *hash,
                              struct fld_err *err)
{
    return fld_db_run(st->d, S_ATT_UPLOADED, hash, NULL, "record attachment",
                      err);
}

struct attach_list {
    struct fld_attachment *v;
    size_t n, cap;
};

static int attach_row(void *data, sqlite3_stmt *s)
{
    struct attach_list *l = data;

    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = fld_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    read_attachment(s, &l->v[l->n++], NULL);
    return FLD_OK;
}

int fld_store_attach_list(struct fld_store *st, enum fld_store_attach_which w,
                          const char *record, size_t max,
                          struct fld_attachment **out, size_t *n,
                          struct fld_err *err)
{
    static const enum stmt_id ids[] = {[FLD_ATTACH_TO_UPLOAD] = S_ATT_TO_UPLOAD,
                                       [FLD_ATTACH_TO_DOWNLOAD] =
                                           S_ATT_TO_DOWNLOAD,
                                       [FLD_ATTACH_HELD] = S_ATT_HELD};
    struct attach_list l = {NULL, 0, 0};
    sqlite3_stmt *s;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = fld_db_stmt(st->d, ids[w], &s, err)) != FLD_OK)
        return rc;
    sqlite3_bind_int64(s, 1, max > 0 ? (int64_t)max : -1); /* -1: all */
    if (w == FLD_ATTACH_TO_DOWNLOAD)
        fld_db_bind_text(s, 2, record);
    rc = fld_db_walk(st->d, s, attach_row, &l, "list attachments", err);
    if (rc != FLD_OK) {
        free(l.v);
        return rc;
    }
    *out = l.v;
    *n = l.n;
    return FLD_OK;
}
