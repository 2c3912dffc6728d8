/*
 * storage_sqlite_thresholds.c - the SQLite backend's threshold revisions
 * (storage.h, schema/server-003.sql): keep one, walk them in server order,
 * tell the newest sequence number.
 *
 * Where it sits: server-stub/thresholds.c decides whether a revision may
 * be stored (signature, the author's role, the template, a revision number
 * greater than any before) and which one is in force for a report; the
 * API pages them out to devices (GET /v1/thresholds?after=SEQ) and
 * announces the newest seq in every sync answer. This file only keeps and
 * reads rows, as the rest of the backend does (storage_sqlite.c); its
 * statements are in that file's table, named by the ids of
 * storage_sqlite.h.
 *
 * seq is the table's INTEGER PRIMARY KEY: SQLite numbers rows as they are
 * written and rows are never deleted, so a number is never given twice and
 * a device that has seen up to N has seen every revision numbered N or
 * less. The newest seq is one look-up of the primary key's end, cheap
 * enough for every sync answer.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "storage_sqlite.h"
#include "thresholds.h" /* the server's, which names libfield's */

int srv_sq_thresholds_put(struct srv_storage *st,
                          const struct fld_thresholds *r, int64_t received_ms,
                          int64_t *seq, struct fld_err *err)
{
    struct fld_db *d = srv_sq_db(st);
    sqlite3_stmt *s;
    int rc;

    *seq = 0;
    if ((rc = fld_db_stmt(d, S_THR_INSERT, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_thresholds(s, r);
    sqlite3_bind_int64(s, 9, received_ms);
    rc = fld_db_done(d, s, "store threshold revision", err);
    if (rc == FLD_EXISTS)
        return fld_err_set(err, FLD_EXISTS,
                           "revision %lld of template %.16s is stored already",
                           (long long)r->revision, r->template_hash);
    if (rc == FLD_OK)
        *seq = sqlite3_last_insert_rowid(d->db);
    return rc;
}

struct walk {
    srv_thresholds_fn fn;
    void *ctx;
    struct fld_err *err;
};

static int read_row(void *data, sqlite3_stmt *s)
{
    const struct walk *w = data;
    struct srv_thresholds_row r;

    r.seq = sqlite3_column_int64(s, 0);
    r.hash = fld_db_text(s, 1);
    r.template_id = fld_db_text(s, 2);
    r.template_hash = fld_db_text(s, 3);
    r.revision = sqlite3_column_int64(s, 4);
    r.valid_from = fld_db_text(s, 5);
    r.author = fld_db_text(s, 6);
    r.body = sqlite3_column_blob(s, 7);
    r.body_len = (size_t)sqlite3_column_bytes(s, 7);
    r.sig = sqlite3_column_blob(s, 8);
    r.received_ms = sqlite3_column_int64(s, 9);
    if (!r.hash || !r.template_id || !r.template_hash || !r.valid_from ||
        !r.author || !r.body || !r.sig ||
        sqlite3_column_bytes(s, 8) != FLD_SIG_LEN)
        return fld_err_set(w->err, FLD_ECORRUPT,
                           "threshold revision %lld: a column is damaged",
                           (long long)r.seq);
    return w->fn(w->ctx, &r);
}

int srv_sq_thresholds_each(struct srv_storage *st, int64_t after,
                           const char *template_hash, int64_t limit,
                           srv_thresholds_fn fn, void *ctx, struct fld_err *err)
{
    struct fld_db *d = srv_sq_db(st);
    struct walk w = {fn, ctx, err};
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(d, S_THR_EACH, &s, err)) != FLD_OK)
        return rc;
    sqlite3_bind_int64(s, 1, after);
    fld_db_bind_text(s, 2, template_hash);
    sqlite3_bind_int64(s, 3, limit > 0 ? limit : -1); /* -1: no limit */
    return fld_db_walk(d, s, read_row, &w, "list threshold revisions", err);
}

int srv_sq_thresholds_max_seq(struct srv_storage *st, int64_t *out,
                              struct fld_err *err)
{
    return fld_db_int64s(srv_sq_db(st), S_THR_MAX_SEQ, NULL, out, 1,
                         "read the newest threshold revision", err);
}
