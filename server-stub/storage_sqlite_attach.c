/*
 * storage_sqlite_attach.c - the SQLite backend's attachments (storage.h,
 * schema/server-005.sql): which photos the stored versions name, who may
 * see them, and how far each upload has come.
 *
 * Where it sits: api_attach.c answers the attachment endpoints and
 * attachments.c keeps the files; this file only keeps and reads rows, as
 * the rest of the backend does (storage_sqlite.c), its statements in that
 * file's table. sq_version_put() calls srv_sq_attachments_name() for every
 * version it stores, inside the caller's transaction, so a version and the
 * attachments it names are committed together: whether it arrived in a
 * push or left the quarantine.
 *
 * The scope of an attachment is the scope of a pull, asked of the versions
 * that name it (S_ATT_SEEN repeats S_PULL's walk of the unit tree): a
 * device sees an attachment when it may pull at least one of them.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "storage_sqlite.h"

int srv_sq_attachments_name(struct srv_storage *st, int64_t seq,
                            const struct fld_version *v, struct fld_err *err)
{
    struct fld_db *d = srv_sq_db(st);
    const char *what = "record attachments";
    struct fld_version_attachment a;
    sqlite3_stmt *s;
    size_t i, n = fld_version_n_attachments(v);
    int rc = FLD_OK;

    for (i = 0; i < n && rc == FLD_OK; i++) {
        fld_version_attachment(v, i, &a);
        if ((rc = fld_db_stmt(d, S_ATT_REF_INSERT, &s, err)) != FLD_OK)
            return rc;
        fld_db_bind_text(s, 1, a.hash);
        sqlite3_bind_int64(s, 2, seq);
        sqlite3_bind_int64(s, 3, a.bytes);
        fld_db_bind_text(s, 4, a.type);
        fld_db_bind_text(s, 5, a.taken);
        fld_db_bind_text(s, 6, a.position);
        if ((rc = fld_db_done(d, s, what, err)) != FLD_OK)
            return rc;
        if ((rc = fld_db_stmt(d, S_ATT_INSERT, &s, err)) != FLD_OK)
            return rc;
        fld_db_bind_text(s, 1, a.hash);
        sqlite3_bind_int64(s, 2, a.bytes);
        fld_db_bind_text(s, 3, a.type);
        rc = fld_db_done(d, s, what, err);
    }
    return rc;
}

static int64_t int_or_0(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL
               ? 0
               : sqlite3_column_int64(s, i);
}

/* The columns hash, bytes, type, acked, last_chunk_ms, stored_ms from
 * column first on. */
static void attachment_of(sqlite3_stmt *s, int first, struct srv_attachment *a)
{
    memset(a, 0, sizeof *a);
    a->hash = fld_db_text(s, first);
    a->bytes = sqlite3_column_int64(s, first + 1);
    a->type = fld_db_text(s, first + 2);
    a->acked = sqlite3_column_int64(s, first + 3);
    a->last_chunk_ms = int_or_0(s, first + 4);
    a->stored_ms = int_or_0(s, first + 5);
}

static int seen_row(void *data, sqlite3_stmt *s)
{
    const struct srv_sq_walk *w = data;
    struct srv_attachment a;

    attachment_of(s, 1, &a);
    return w->fn.attachment(w->ctx, (size_t)sqlite3_column_int64(s, 0), &a);
}

int srv_sq_attachments_seen(struct srv_storage *st, const char *device,
                            bool all_units, const char *const *hashes, size_t n,
                            srv_attachment_fn fn, void *ctx,
                            struct fld_err *err)
{
    struct srv_sq_walk w = {.fn.attachment = fn, .ctx = ctx, .err = err};
    struct fld_db *d = srv_sq_db(st);
    struct fld_json *list = fld_json_array();
    struct fld_buf text = FLD_BUF_INIT;
    sqlite3_stmt *s;
    size_t i;
    int rc;

    for (i = 0; i < n; i++)
        fld_json_append(list, fld_json_string(hashes[i]));
    rc = fld_json_write(list, &text, err);
    fld_json_free(list);
    if (rc == FLD_OK)
        rc = fld_db_stmt(d, S_ATT_SEEN, &s, err);
    if (rc == FLD_OK) {
        fld_db_bind_text(s, 1, device);
        fld_db_bind_text(s, 2, fld_buf_str(&text));
        sqlite3_bind_int(s, 3, all_units ? 1 : 0);
        rc = fld_db_walk(d, s, seen_row, &w, "read attachments", err);
    }
    fld_buf_free(&text);
    return rc;
}

int srv_sq_attachment_ack(struct srv_storage *st, const char *hash,
                          int64_t from, int64_t to, int64_t now_ms,
                          struct fld_err *err)
{
    struct fld_db *d = srv_sq_db(st);
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(d, S_ATT_ACK, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, hash);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    sqlite3_bind_int64(s, 4, now_ms);
    if ((rc = fld_db_done(d, s, "acknowledge a chunk", err)) != FLD_OK)
        return rc;
    if (sqlite3_changes(d->db) == 0)
        return fld_err_set(err, FLD_CONFLICT,
                           "attachment %.16s: the upload moved meanwhile",
                           hash);
    return FLD_OK;
}

/* Run statement id on hash alone, with now_ms as ?2 when now_ms > 0. */
static int update_one(struct srv_storage *st, int id, const char *hash,
                      int64_t now_ms, const char *what, struct fld_err *err)
{
    struct fld_db *d = srv_sq_db(st);
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(d, id, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, hash);
    if (now_ms > 0)
        sqlite3_bind_int64(s, 2, now_ms);
    return fld_db_done(d, s, what, err);
}

int srv_sq_attachment_stored(struct srv_storage *st, const char *hash,
                             int64_t now_ms, struct fld_err *err)
{
    int rc =
        update_one(st, S_ATT_STORED, hash, now_ms, "store attachment", err);

    if (rc == FLD_OK && sqlite3_changes(srv_sq_db(st)->db) == 0)
        return fld_err_set(err, FLD_NOTFOUND,
                           "no stored version names attachment %.16s", hash);
    return rc;
}

int srv_sq_attachment_reset(struct srv_storage *st, const char *hash,
                            struct fld_err *err)
{
    return update_one(st, S_ATT_RESET, hash, 0, "reset an upload", err);
}

/* A listing walked in order, its rows counted from 0. */
struct counted {
    const struct srv_sq_walk *w;
    size_t i;
};

/* A row of a listing: attachment_of()'s columns, then taken and position
 * when the statement has them (S_ATT_RECORD). */
static int listed_row(void *data, sqlite3_stmt *s)
{
    struct counted *c = data;
    struct srv_attachment a;

    attachment_of(s, 0, &a);
    if (sqlite3_column_count(s) > 7) {
        a.taken = fld_db_text(s, 6);
        a.position = fld_db_text(s, 7);
    }
    return c->w->fn.attachment(c->w->ctx, c->i++, &a);
}

/* Walk the rows of s, its parameters bound, through fn. */
static int walk_listed(struct srv_storage *st, sqlite3_stmt *s,
                       srv_attachment_fn fn, void *ctx, const char *what,
                       struct fld_err *err)
{
    struct srv_sq_walk w = {.fn.attachment = fn, .ctx = ctx, .err = err};
    struct counted c = {&w, 0};

    return fld_db_walk(srv_sq_db(st), s, listed_row, &c, what, err);
}

int srv_sq_attachments_stale(struct srv_storage *st, int64_t before_ms,
                             srv_attachment_fn fn, void *ctx,
                             struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(srv_sq_db(st), S_ATT_STALE, &s, err)) != FLD_OK)
        return rc;
    sqlite3_bind_int64(s, 1, before_ms);
    return walk_listed(st, s, fn, ctx, "read partial uploads", err);
}

int srv_sq_record_attachments(struct srv_storage *st, const char *record,
                              srv_attachment_fn fn, void *ctx,
                              struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(srv_sq_db(st), S_ATT_RECORD, &s, err)) != FLD_OK)
        return rc;
    fld_db_bind_text(s, 1, record);
    return walk_listed(st, s, fn, ctx, "read attachments", err);
}
