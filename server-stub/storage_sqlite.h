/*
 * storage_sqlite.h - what the files of field-server's SQLite backend share.
 * This is not an interface (storage.h is the one the server uses): it lets
 * the backend live in more than one file while every statement stays in
 * one table, the backend's vocabulary, in storage_sqlite.c.
 *
 *   storage_sqlite.c        opening and migrations, the statement table,
 *                           settings, devices, templates, versions,
 *                           quarantine, audit; the table of operations
 *   storage_sqlite_units.c  units and targets: what the province's
 *                           reports count by, and what scopes walk
 *   storage_sqlite_thresholds.c  the province's threshold revisions
 */
#ifndef SRV_STORAGE_SQLITE_H
#define SRV_STORAGE_SQLITE_H

#include "db.h"
#include "storage.h"

/* The statements of the backend, ids into storage_sqlite.c's table. */
enum srv_sq_stmt {
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
    S_UNIT_DROP,
    S_UNIT_EXISTS,
    S_UNITS,
    S_UNITS_ON,
    S_IN_SCOPE,
    S_TARGET_PUT,
    S_TARGETS,
    S_TEMPLATE_INSERT,
    S_TEMPLATE_GET,
    S_TEMPLATES,
    S_VERSION_STATE,
    S_VERSION_RECORD,
    S_VERSION_INSERT,
    S_PARENT_INSERT,
    S_HEAD_DELETE,
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
    S_VERSIONS_UNTIL,
    S_VERSION_BODY,
    S_RECORDS,
    S_THR_INSERT,
    S_THR_EACH,
    S_THR_MAX_SEQ,
    S_ATT_REF_INSERT,
    S_ATT_INSERT,
    S_ATT_SEEN,
    S_ATT_ACK,
    S_ATT_STORED,
    S_ATT_RESET,
    S_ATT_STALE,
    S_ATT_RECORD,
    N_STMTS
};

/* A handle of the backend. */
struct srv_sq {
    struct srv_storage base; /* first: a srv_sq * is a srv_storage * */
    struct fld_db *d;
    void (*want_checkpoint)(void *ctx); /* srv_storage_checkpoint_elsewhere */
    void *want_ctx;
};

static inline struct fld_db *srv_sq_db(struct srv_storage *st)
{
    return ((struct srv_sq *)st)->d;
}

/*
 * Every walk is fld_db_walk() with a reader that names the columns of its
 * statement and calls the caller's callback with a borrowed row.
 */
struct srv_sq_walk {
    union {
        srv_unit_fn unit;
        srv_target_fn target;
        srv_template_fn template;
        srv_pull_fn pull;
        srv_audit_fn audit;
        srv_alarm_fn alarm;
        srv_record_fn record;
        srv_attachment_fn attachment;
    } fn;
    void *ctx;
    struct fld_err *err;
};

/* Walk statement id, which has no parameters. */
int srv_sq_walk(struct srv_storage *st, int id, fld_db_row_fn read,
                struct srv_sq_walk *w, const char *what);

/* The operations of storage_sqlite_units.c (contracts in storage.h). */
int srv_sq_unit_put(struct srv_storage *st, const struct srv_unit *u,
                    struct fld_err *err);
int srv_sq_unit_drop(struct srv_storage *st, const char *code,
                     const char *valid_from, struct fld_err *err);
int srv_sq_unit_exists(struct srv_storage *st, const char *code, bool *out,
                       struct fld_err *err);
int srv_sq_each_unit(struct srv_storage *st, srv_unit_fn fn, void *ctx,
                     struct fld_err *err);
int srv_sq_units_on(struct srv_storage *st, const char *date, srv_unit_fn fn,
                    void *ctx, struct fld_err *err);
int srv_sq_in_scope(struct srv_storage *st, const char *device,
                    const char *subject, bool *out, struct fld_err *err);
int srv_sq_target_put(struct srv_storage *st, const struct srv_target *g,
                      struct fld_err *err);
int srv_sq_each_target(struct srv_storage *st, srv_target_fn fn, void *ctx,
                       struct fld_err *err);

/* The report's reads (storage_sqlite_report.c), as storage.h says. */
int srv_sq_each_version_until(struct srv_storage *st, int64_t cutoff_ms,
                              srv_report_version_fn fn, void *ctx,
                              struct fld_err *err);
int srv_sq_version_body(struct srv_storage *st, const char *hash,
                        uint8_t **body, size_t *len, uint8_t sig[FLD_SIG_LEN],
                        struct fld_err *err);

/* The operations of storage_sqlite_thresholds.c (contracts in storage.h). */
int srv_sq_thresholds_put(struct srv_storage *st,
                          const struct fld_thresholds *r, int64_t received_ms,
                          int64_t *seq, struct fld_err *err);
int srv_sq_thresholds_each(struct srv_storage *st, int64_t after,
                           const char *template_hash, int64_t limit,
                           srv_thresholds_fn fn, void *ctx,
                           struct fld_err *err);
int srv_sq_thresholds_max_seq(struct srv_storage *st, int64_t *out,
                              struct fld_err *err);

/* The attachments of schema/server-005.sql (storage_sqlite_attach.c). */
int srv_sq_attachments_name(struct srv_storage *st, int64_t seq,
                            const struct fld_version *v, struct fld_err *err);
int srv_sq_attachments_seen(struct srv_storage *st, const char *device,
                            bool all_units, const char *const *hashes, size_t n,
                            srv_attachment_fn fn, void *ctx,
                            struct fld_err *err);
int srv_sq_attachment_ack(struct srv_storage *st, const char *hash,
                          int64_t from, int64_t to, int64_t now_ms,
                          struct fld_err *err);
int srv_sq_attachment_stored(struct srv_storage *st, const char *hash,
                             int64_t now_ms, struct fld_err *err);
int srv_sq_attachment_reset(struct srv_storage *st, const char *hash,
                            struct fld_err *err);
int srv_sq_attachments_stale(struct srv_storage *st, int64_t before_ms,
                             srv_attachment_fn fn, void *ctx,
                             struct fld_err *err);
int srv_sq_record_attachments(struct srv_storage *st, const char *record,
                              srv_attachment_fn fn, void *ctx,
                              struct fld_err *err);

#endif
