/*
 * storage.c - the one storage interface of field-server (see storage.h):
 * picks a backend by the location's scheme and forwards each call to the
 * backend's table of operations. Nothing here knows SQL.
 */
#include "storage.h"

#include <stdlib.h>
#include <string.h>

#include "date.h"
#ifdef SRV_WITH_PG
#include "storage_pg.h"
#endif

/* The back ends by scheme; "postgres" is libpq's other name for its URIs
 * and the one of a key=value location ("postgres:dbname=f host=..."). */
static const struct {
    const char *scheme;
    const struct srv_storage_ops *ops;
} backends[] = {
    {"sqlite", &srv_storage_sqlite},
#ifdef SRV_WITH_PG
    {"postgresql", &srv_storage_pg},
    {"postgres", &srv_storage_pg},
#endif
};

/* Whether location names a PostgreSQL database (whether or not this
 * program was built with that back end). */
static bool is_pg(const char *location)
{
    return strncmp(location, "postgresql:", 11) == 0 ||
           strncmp(location, "postgres:", 9) == 0;
}

int srv_storage_open(const char *location, bool create,
                     struct srv_storage **out, struct fld_err *err)
{
    const char *colon = strchr(location, ':');
    const char *slash = strchr(location, '/');
    size_t i;

    *out = NULL;
    /* A plain path (no scheme, or a colon only after a slash) is a SQLite
     * file. */
    if (colon == NULL || (slash != NULL && slash < colon))
        return srv_storage_sqlite.open(location, create, out, err);
    for (i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        size_t n = strlen(backends[i].scheme);

        if ((size_t)(colon - location) == n &&
            strncmp(location, backends[i].scheme, n) == 0)
            return backends[i].ops->open(colon + 1, create, out, err);
    }
    if (is_pg(location))
        return fld_err_set(err, FLD_EUSAGE,
                           "this field-server was built without PostgreSQL "
                           "(make PG=1)");
    return fld_err_set(err, FLD_EUSAGE, "%.*s: unknown storage scheme",
                       (int)(colon - location), location);
}

char *srv_storage_display(const char *location)
{
    if (!is_pg(location))
        return fld_xstrdup(location);
#ifdef SRV_WITH_PG
    return srv_pg_display(strchr(location, ':') + 1);
#else
    return fld_xstrdup("postgresql:(not built in)");
#endif
}

void srv_storage_close(struct srv_storage *st)
{
    if (st != NULL)
        st->ops->close(st);
}

int srv_storage_begin(struct srv_storage *st, struct fld_err *err)
{
    return st->ops->begin(st, err);
}

int srv_storage_commit(struct srv_storage *st, struct fld_err *err)
{
    return st->ops->commit(st, err);
}

void srv_storage_rollback(struct srv_storage *st)
{
    st->ops->rollback(st);
}

int srv_storage_checkpoint(struct srv_storage *st, struct fld_err *err)
{
    return st->ops->checkpoint(st, err);
}

void srv_storage_checkpoint_elsewhere(struct srv_storage *st,
                                      void (*want)(void *ctx), void *ctx)
{
    st->ops->checkpoint_elsewhere(st, want, ctx);
}

int srv_storage_checkpoint_passive(struct srv_storage *st, struct fld_err *err)
{
    return st->ops->checkpoint_passive(st, err);
}

int srv_storage_backup(struct srv_storage *st, const char *path,
                       struct fld_err *err)
{
    return st->ops->backup(st, path, err);
}

int srv_storage_meta_get(struct srv_storage *st, const char *key, char **value,
                         struct fld_err *err)
{
    return st->ops->meta_get(st, key, value, err);
}

int srv_storage_meta_set(struct srv_storage *st, const char *key,
                         const char *value, struct fld_err *err)
{
    return st->ops->meta_set(st, key, value, err);
}

int srv_storage_code_add(struct srv_storage *st,
                         const struct srv_enroll_code *c, struct fld_err *err)
{
    return st->ops->code_add(st, c, err);
}

int srv_storage_code_use(struct srv_storage *st, const char *code_hash,
                         int64_t now, const char *device,
                         struct srv_enroll_code **out, struct fld_err *err)
{
    return st->ops->code_use(st, code_hash, now, device, out, err);
}

int srv_storage_device_add(struct srv_storage *st, const struct srv_device *d,
                           struct fld_err *err)
{
    return st->ops->device_add(st, d, err);
}

int srv_storage_device_get(struct srv_storage *st, const char *pubkey,
                           struct srv_device **out, struct fld_err *err)
{
    return st->ops->device_get(st, pubkey, out, err);
}

int srv_storage_device_find(struct srv_storage *st, const char *prefix,
                            char out[FLD_HASH_HEX_LEN + 1], struct fld_err *err)
{
    return st->ops->device_find(st, prefix, out, err);
}

int srv_storage_device_revoke(struct srv_storage *st, const char *pubkey,
                              int64_t now, struct fld_err *err)
{
    return st->ops->device_revoke(st, pubkey, now, err);
}

int srv_storage_each_device(struct srv_storage *st, srv_device_fn fn, void *ctx,
                            struct fld_err *err)
{
    return st->ops->each_device(st, fn, ctx, err);
}

int srv_storage_unit_put(struct srv_storage *st, const struct srv_unit *u,
                         struct fld_err *err)
{
    return st->ops->unit_put(st, u, err);
}

int srv_storage_unit_exists(struct srv_storage *st, const char *code, bool *out,
                            struct fld_err *err)
{
    return st->ops->unit_exists(st, code, out, err);
}

int srv_storage_each_unit(struct srv_storage *st, srv_unit_fn fn, void *ctx,
                          struct fld_err *err)
{
    return st->ops->each_unit(st, fn, ctx, err);
}

int srv_storage_unit_drop(struct srv_storage *st, const char *code,
                          const char *valid_from, struct fld_err *err)
{
    return st->ops->unit_drop(st, code, valid_from, err);
}

/* The date is checked here, once for every backend: compared as text, a
 * malformed one would select nonsense rather than fail. */
int srv_storage_units_on(struct srv_storage *st, const char *date,
                         srv_unit_fn fn, void *ctx, struct fld_err *err)
{
    int64_t day;

    if (date == NULL || !fld_date_parse(date, &day))
        return fld_err_set(err, FLD_EINVAL, "\"%s\" is not a YYYY-MM-DD date",
                           date ? date : "");
    return st->ops->units_on(st, date, fn, ctx, err);
}

int srv_storage_target_put(struct srv_storage *st, const struct srv_target *g,
                           struct fld_err *err)
{
    return st->ops->target_put(st, g, err);
}

int srv_storage_each_target(struct srv_storage *st, srv_target_fn fn, void *ctx,
                            struct fld_err *err)
{
    return st->ops->each_target(st, fn, ctx, err);
}

int srv_storage_in_scope(struct srv_storage *st, const char *device,
                         const char *subject, bool *out, struct fld_err *err)
{
    return st->ops->in_scope(st, device, subject, out, err);
}

int srv_storage_template_put(struct srv_storage *st,
                             const struct srv_template_row *t,
                             const uint8_t *body, size_t len,
                             struct fld_err *err)
{
    return st->ops->template_put(st, t, body, len, err);
}

int srv_storage_template_get(struct srv_storage *st, const char *hash,
                             uint8_t **body, size_t *len, struct fld_err *err)
{
    return st->ops->template_get(st, hash, body, len, err);
}

int srv_storage_each_template(struct srv_storage *st, srv_template_fn fn,
                              void *ctx, struct fld_err *err)
{
    return st->ops->each_template(st, fn, ctx, err);
}

int srv_storage_version_state(struct srv_storage *st, const char *hash,
                              enum srv_version_state *out, struct fld_err *err)
{
    return st->ops->version_state(st, hash, out, err);
}

int srv_storage_version_record(struct srv_storage *st, const char *hash,
                               char **record, struct fld_err *err)
{
    return st->ops->version_record(st, hash, record, err);
}

int srv_storage_version_put(struct srv_storage *st,
                            const struct srv_version_in *in, int64_t *seq,
                            struct fld_err *err)
{
    return st->ops->version_put(st, in, seq, err);
}

int srv_storage_chain_check(struct srv_storage *st, const struct fld_version *v,
                            char fork_with[FLD_HASH_HEX_LEN + 1],
                            bool *prev_missing, struct fld_err *err)
{
    return st->ops->chain_check(st, v, fork_with, prev_missing, err);
}

int srv_storage_max_seq(struct srv_storage *st, int64_t *out,
                        struct fld_err *err)
{
    return st->ops->max_seq(st, out, err);
}

int srv_storage_pull(struct srv_storage *st, const struct srv_pull_query *q,
                     srv_pull_fn fn, void *ctx, struct fld_err *err)
{
    return st->ops->pull(st, q, fn, ctx, err);
}

int srv_storage_each_version_until(struct srv_storage *st, int64_t cutoff_ms,
                                   srv_report_version_fn fn, void *ctx,
                                   struct fld_err *err)
{
    return st->ops->each_version_until(st, cutoff_ms, fn, ctx, err);
}

int srv_storage_version_get(struct srv_storage *st, const char *hash,
                            struct fld_version **out, struct fld_err *err)
{
    uint8_t *body = NULL, sig[FLD_SIG_LEN];
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = st->ops->version_body(st, hash, &body, &len, sig, err);
    if (rc == FLD_OK)
        rc = fld_version_open_stored(body, len, sig, out, err);
    free(body);
    return rc;
}

static char *dup_or_null(const char *s)
{
    return s ? fld_xstrdup(s) : NULL;
}

void srv_report_version_copy(struct srv_report_version *to,
                             const struct srv_report_version *from)
{
    to->record = dup_or_null(from->record);
    to->hash = dup_or_null(from->hash);
    to->subject = dup_or_null(from->subject);
    to->status = dup_or_null(from->status);
    to->template_hash = dup_or_null(from->template_hash);
    to->parents = dup_or_null(from->parents ? from->parents : "");
    to->received_ms = from->received_ms;
}

void srv_report_version_clear(struct srv_report_version *v)
{
    free((char *)v->record);
    free((char *)v->hash);
    free((char *)v->subject);
    free((char *)v->status);
    free((char *)v->template_hash);
    free((char *)v->parents);
    memset(v, 0, sizeof *v);
}

int srv_storage_record_versions(struct srv_storage *st, const char *record,
                                srv_pull_fn fn, void *ctx, struct fld_err *err)
{
    return st->ops->record_versions(st, record, fn, ctx, err);
}

int srv_storage_each_record(struct srv_storage *st,
                            const struct srv_record_query *q, srv_record_fn fn,
                            void *ctx, struct fld_err *err)
{
    return st->ops->each_record(st, q, fn, ctx, err);
}

int srv_storage_quarantine_put(struct srv_storage *st,
                               const struct srv_quarantined *q,
                               const char *const *waits, size_t n_waits,
                               struct fld_err *err)
{
    return st->ops->quarantine_put(st, q, waits, n_waits, err);
}

int srv_storage_quarantine_unblock(struct srv_storage *st, const char *parent,
                                   srv_quarantine_fn fn, void *ctx,
                                   struct fld_err *err)
{
    return st->ops->quarantine_unblock(st, parent, fn, ctx, err);
}

int srv_storage_quarantine_each(struct srv_storage *st, const char *reason,
                                srv_quarantine_fn fn, void *ctx,
                                struct fld_err *err)
{
    return st->ops->quarantine_each(st, reason, fn, ctx, err);
}

int srv_storage_quarantine_remove(struct srv_storage *st, const char *hash,
                                  struct fld_err *err)
{
    return st->ops->quarantine_remove(st, hash, err);
}

int srv_storage_audit_add(struct srv_storage *st, const char *kind,
                          const char *device, const char *subject,
                          const char *detail, struct fld_err *err)
{
    return st->ops->audit_add(st, kind, device, subject, detail, err);
}

int srv_storage_each_audit(struct srv_storage *st, const char *kind,
                           srv_audit_fn fn, void *ctx, struct fld_err *err)
{
    return st->ops->each_audit(st, kind, fn, ctx, err);
}

int srv_storage_each_alarm(struct srv_storage *st, srv_alarm_fn fn, void *ctx,
                           struct fld_err *err)
{
    return st->ops->each_alarm(st, fn, ctx, err);
}

int srv_storage_counts(struct srv_storage *st, struct srv_counts *out,
                       struct fld_err *err)
{
    return st->ops->counts(st, out, err);
}

void srv_device_free(struct srv_device *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->n_scope; i++)
        free(d->scope[i]);
    free(d->scope);
    free(d->inspector);
    free(d->role);
    free(d);
}

void srv_enroll_code_free(struct srv_enroll_code *c)
{
    if (c == NULL)
        return;
    free(c->inspector);
    free(c->role);
    free(c->scope);
    free(c);
}

int srv_storage_thresholds_put(struct srv_storage *st,
                               const struct fld_thresholds *r,
                               int64_t received_ms, int64_t *seq,
                               struct fld_err *err)
{
    return st->ops->thresholds_put(st, r, received_ms, seq, err);
}

int srv_storage_thresholds_each(struct srv_storage *st, int64_t after,
                                const char *template_hash, int64_t limit,
                                srv_thresholds_fn fn, void *ctx,
                                struct fld_err *err)
{
    return st->ops->thresholds_each(st, after, template_hash, limit, fn, ctx,
                                    err);
}

int srv_storage_thresholds_max_seq(struct srv_storage *st, int64_t *out,
                                   struct fld_err *err)
{
    return st->ops->thresholds_max_seq(st, out, err);
}

int srv_storage_attachments_seen(struct srv_storage *st, const char *device,
                                 bool all_units, const char *const *hashes,
                                 size_t n, srv_attachment_fn fn, void *ctx,
                                 struct fld_err *err)
{
    return st->ops->attachments_seen(st, device, all_units, hashes, n, fn, ctx,
                                     err);
}

int srv_storage_attachment_ack(struct srv_storage *st, const char *hash,
                               int64_t from, int64_t to, int64_t now_ms,
                               struct fld_err *err)
{
    return st->ops->attachment_ack(st, hash, from, to, now_ms, err);
}

int srv_storage_attachment_stored(struct srv_storage *st, const char *hash,
                                  int64_t now_ms, struct fld_err *err)
{
    return st->ops->attachment_stored(st, hash, now_ms, err);
}

int srv_storage_attachment_reset(struct srv_storage *st, const char *hash,
                                 struct fld_err *err)
{
    return st->ops->attachment_reset(st, hash, err);
}

int srv_storage_attachments_stale(struct srv_storage *st, int64_t before_ms,
                                  srv_attachment_fn fn, void *ctx,
                                  struct fld_err *err)
{
    return st->ops->attachments_stale(st, before_ms, fn, ctx, err);
}

int srv_storage_record_attachments(struct srv_storage *st, const char *record,
                                   srv_attachment_fn fn, void *ctx,
                                   struct fld_err *err)
{
    return st->ops->record_attachments(st, record, fn, ctx, err);
}
