/*
 * storage_sqlite_report.c - what the SQLite backend reads for the
 * province's report (storage.h, server-stub/report.c): every version
 * received by a time, as columns, in one pass; and one stored version's
 * bytes, for the few records whose answers the report must read.
 *
 * Why columns first: a report over a province reads tens of thousands of
 * versions, and most of them decide nothing (an older head of a record
 * whose newest version is what counts). The walk hands out the record,
 * subject, status, template and parents the DAG needs, ordered by record
 * through the versions_record index, with the parents gathered by one
 * correlated look-up in the derived parents table; report.c then opens the
 * body only of the heads it keeps. The statements are in the table of
 * storage_sqlite.c, named by the ids of storage_sqlite.h.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "storage_sqlite.h"

struct report_walk {
    srv_report_version_fn fn;
    void *ctx;
};

static int report_row(void *data, sqlite3_stmt *s)
{
    const struct report_walk *w = data;
    struct srv_report_version v;

    v.record = fld_db_text(s, 0);
    v.hash = fld_db_text(s, 1);
    v.subject = fld_db_text(s, 2);
    v.status = fld_db_text(s, 3);
    v.template_hash = fld_db_text(s, 4);
    v.received_ms = sqlite3_column_int64(s, 5);
    v.parents = fld_db_text(s, 6);
    if (v.parents == NULL)
        v.parents = "";
    return w->fn(w->ctx, &v);
}

int srv_sq_each_version_until(struct srv_storage *st, int64_t cutoff_ms,
                              srv_report_version_fn fn, void *ctx,
                              struct fld_err *err)
{
    struct report_walk w = {fn, ctx};
    sqlite3_stmt *s;
    int rc;

    if ((rc = fld_db_stmt(srv_sq_db(st), S_VERSIONS_UNTIL, &s, err)) != FLD_OK)
        return rc;
    sqlite3_bind_int64(s, 1, cutoff_ms);
    return fld_db_walk(srv_sq_db(st), s, report_row, &w, "read versions", err);
}

int srv_sq_version_body(struct srv_storage *st, const char *hash,
                        uint8_t **body, size_t *len, uint8_t sig[FLD_SIG_LEN],
                        struct fld_err *err)
{
    sqlite3_stmt *s;
    int rc;

    *body = NULL;
    *len = 0;
    rc = fld_db_lookup(srv_sq_db(st), S_VERSION_BODY, hash, NULL, &s,
                       "read version", err);
    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "no version %.16s", hash);
    if (rc != FLD_OK)
        return rc;
    if (sqlite3_column_bytes(s, 1) != FLD_SIG_LEN)
        rc = fld_err_set(err, FLD_ECORRUPT, "a stored signature is damaged");
    if (rc == FLD_OK) {
        *len = (size_t)sqlite3_column_bytes(s, 0);
        *body = fld_xmalloc(*len + 1);
        memcpy(*body, sqlite3_column_blob(s, 0), *len);
        memcpy(sig, sqlite3_column_blob(s, 1), FLD_SIG_LEN);
    }
    fld_db_reset(s);
    return rc;
}
