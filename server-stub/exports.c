/*
 * exports.c - the server's records for an office and a map (exports.h):
 * which records an export holds, and GET /v1/export.
 *
 * Where it sits: storage lists the records of the units asked for; each is
 * loaded, verified and merged (record.c), kept when its merged state
 * matches the filters, and handed to libfield's export module, which lays
 * out the same bytes `field export` writes. The administrator's command
 * (cmd_export.c) and the endpoint share everything here.
 *
 * Decisions:
 *   - Scope is the gate's second half: a supervisor's device sees the
 *     units it was enrolled for and everything below them, as it does
 *     when it pulls; an explicit unit outside that is refused (403), not
 *     answered with an empty file that would read as "nothing inspected".
 *     Each record's shown subject is checked again with
 *     srv_storage_in_scope(), so a record whose unit changed between
 *     versions is shown only to whoever may see where it is now.
 *   - Filters on status apply to the merged status, the one every replica
 *     shows, so they are applied after the merge; unit and template narrow
 *     the records storage lists, and the limit counts those.
 *   - An inspector's device may not export (403): inspectors have their
 *     own records on their device, and `field export` writes them.
 */
#include "exports.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merged_export.h"
#include "query.h"
#include "record.h"
#include "template.h"

struct ids {
    char **v;
    size_t n;
};

/* Unit names by code, in the order storage lists them (by code). */
struct unit_names {
    char **code, **name;
    size_t n;
};

/* Templates met so far, by hash: records share a few. */
struct templates {
    struct fld_template **t;
    size_t n;
};

/* What one export carries from record to record. */
struct run {
    struct srv_storage *st;
    const struct srv_export_query *q;
    struct unit_names units;
    struct templates templates;
    struct fld_export *x;
};

static int keep_id(void *ctx, const char *record)
{
    struct ids *ids = ctx;

    ids->v = fld_xreallocarray(ids->v, ids->n + 1, sizeof *ids->v);
    ids->v[ids->n++] = fld_xstrdup(record);
    return FLD_OK;
}

static int keep_unit(void *ctx, const struct srv_unit *u)
{
    struct unit_names *un = ctx;

    un->code = fld_xreallocarray(un->code, un->n + 1, sizeof *un->code);
    un->name = fld_xreallocarray(un->name, un->n + 1, sizeof *un->name);
    un->code[un->n] = fld_xstrdup(u->code);
    un->name[un->n++] = fld_xstrdup(u->name);
    return FLD_OK;
}

static const char *unit_name(const struct unit_names *un, const char *code)
{
    size_t lo = 0, hi = un->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(un->code[mid], code);

        if (c == 0)
            return un->name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int template_of(struct run *run, const char *hash,
                       const struct fld_template **out, struct fld_err *err)
{
    struct templates *ts = &run->templates;
    struct fld_template *t = NULL;
    uint8_t *body;
    size_t i, len;
    int rc;

    for (i = 0; i < ts->n; i++)
        if (strcmp(fld_template_hash(ts->t[i]), hash) == 0) {
            *out = ts->t[i];
            return FLD_OK;
        }
    if ((rc = srv_storage_template_get(run->st, hash, &body, &len, err)) !=
        FLD_OK)
        return rc;
    rc = fld_template_parse(body, len, &t, err);
    free(body);
    if (rc != FLD_OK)
        return fld_err_set(err, FLD_ECORRUPT, "template %.16s: %s", hash,
                           err->msg);
    ts->t = fld_xreallocarray(ts->t, ts->n + 1, sizeof *ts->t);
    ts->t[ts->n++] = t;
    *out = t;
    return FLD_OK;
}

/* Whether the merged record m is one the export holds. */
static int wanted(struct run *run, const struct syn_merged *m, bool *out,
                  struct fld_err *err)
{
    const struct srv_export_query *q = run->q;

    *out = false;
    if (q->template_id && strcmp(q->template_id, m->newest->template_id) != 0)
        return FLD_OK;
    if (q->status && strcmp(q->status, m->status) != 0)
        return FLD_OK;
    if (q->device == NULL || strcmp(q->device->role, "admin") == 0) {
        *out = true;
        return FLD_OK;
    }
    return srv_storage_in_scope(run->st, q->device->pubkey, m->newest->subject,
                                out, err);
}

static int add_record(struct run *run, const char *id, struct fld_err *err)
{
    const struct fld_template *t = NULL;
    struct fld_export_record e;
    struct srv_record r;
    bool keep = false;
    int rc;

    if ((rc = srv_record_load(run->st, id, &r, err)) == FLD_OK)
        rc = wanted(run, r.merged, &keep, err);
    if (rc == FLD_OK && keep)
        rc = template_of(run, r.merged->newest->template_hash, &t, err);
    if (rc == FLD_OK && keep) {
        syn_merged_export(r.merged, r.versions, r.n_versions, t,
                          unit_name(&run->units, r.merged->newest->subject),
                          &e);
        rc = fld_export_add(run->x, &e, err);
    }
    srv_record_free(&r);
    return rc;
}

static bool known_status(const char *s)
{
    static const char *const statuses[] = {"draft", "final", "approved",
                                           "rejected", "returned"};
    size_t i;

    for (i = 0; i < sizeof statuses / sizeof *statuses; i++)
        if (strcmp(s, statuses[i]) == 0)
            return true;
    return false;
}

/* The records storage lists for q: those of its unit, else of the
 * device's scope, else of every unit; at most one more than the limit, to
 * tell that there are too many without reading them all. */
static int list_records(struct srv_storage *st,
                        const struct srv_export_query *q, struct ids *ids,
                        struct fld_err *err)
{
    const struct srv_device *d = q->device;
    struct srv_record_query rq;

    memset(&rq, 0, sizeof rq);
    rq.template_id = q->template_id;
    rq.limit = q->max_records > 0 ? q->max_records + 1 : 0;
    if (q->unit != NULL) {
        rq.units = &q->unit;
        rq.n_units = 1;
    } else if (d != NULL && strcmp(d->role, "admin") != 0) {
        if (d->n_scope == 0) /* no units at all, not every unit */
            return FLD_OK;
        rq.units = (const char *const *)d->scope;
        rq.n_units = d->n_scope;
    }
    return srv_storage_each_record(st, &rq, keep_id, ids, err);
}

static int check_query(struct srv_storage *st, const struct srv_export_query *q,
                       struct fld_err *err)
{
    bool exists;
    int rc;

    if (q->status != NULL && !known_status(q->status))
        return fld_err_set(err, FLD_EUSAGE,
                           "status must be draft, final, approved, rejected "
                           "or returned, not '%.40s'",
                           q->status);
    if (q->unit == NULL)
        return FLD_OK;
    if ((rc = srv_storage_unit_exists(st, q->unit, &exists, err)) != FLD_OK)
        return rc;
    return exists ? FLD_OK
                  : fld_err_set(err, FLD_NOTFOUND, "no unit %.64s", q->unit);
}

int srv_export(struct srv_storage *st, const struct srv_export_query *q,
               struct fld_buf *out, size_t *n_records, struct fld_err *err)
{
    struct fld_export_opts xo;
    struct ids ids = {NULL, 0};
    struct run run;
    size_t i;
    int rc;

    memset(&run, 0, sizeof run);
    run.st = st;
    run.q = q;
    if ((rc = check_query(st, q, err)) == FLD_OK)
        rc = list_records(st, q, &ids, err);
    if (rc == FLD_OK && q->max_records > 0 && ids.n > (size_t)q->max_records)
        rc = fld_err_set(err, FLD_ELIMIT,
                         "more than %lld records match; export one unit or "
                         "one template at a time",
                         (long long)q->max_records);
    if (rc == FLD_OK)
        rc = srv_storage_each_unit(st, keep_unit, &run.units, err);
    memset(&xo, 0, sizeof xo);
    xo.lang = q->lang;
    xo.template_id = q->template_id;
    if (rc == FLD_OK)
        rc = fld_export_new(q->format, &xo, &run.x, err);
    for (i = 0; i < ids.n && rc == FLD_OK; i++)
        rc = add_record(&run, ids.v[i], err);
    if (rc == FLD_OK)
        rc = fld_export_finish(run.x, out, err);
    if (rc == FLD_OK && n_records != NULL)
        *n_records = fld_export_n_records(run.x);
    fld_export_free(run.x);
    for (i = 0; i < run.templates.n; i++)
        fld_template_free(run.templates.t[i]);
    free(run.templates.t);
    for (i = 0; i < run.units.n; i++) {
        free(run.units.code[i]);
        free(run.units.name[i]);
    }
    free(run.units.code);
    free(run.units.name);
    for (i = 0; i < ids.n; i++)
        free(ids.v[i]);
    free(ids.v);
    return rc;
}

/* ---- GET /v1/export ------------------------------------------------------ */

/* The request's parameters into q; 0, or -1 with the refusal in resp. */
static int read_params(const struct srv_query *pq, struct srv_export_query *q,
                       struct srv_response *resp)
{
    const char *format = srv_query_get(pq, "format");
    const char *lang = srv_query_get(pq, "lang");
    struct fld_err err;

    fld_err_clear(&err);
    if (format == NULL) {
        srv_api_error(resp, 400, "unknown_format",
                      "say format=json, csv, xlsx or geojson", -1);
        return -1;
    }
    if (fld_export_format_parse(format, &q->format, &err) != FLD_OK) {
        srv_api_error(resp, 400, "unknown_format", err.msg, -1);
        return -1;
    }
    if (lang != NULL && strcmp(lang, "vi") != 0 && strcmp(lang, "en") != 0) {
        srv_api_error(resp, 400, "bad_request", "lang must be vi or en", -1);
        return -1;
    }
    q->lang = lang && strcmp(lang, "en") == 0 ? FLD_LANG_EN : FLD_LANG_VI;
    q->template_id = srv_query_get(pq, "template");
    q->status = srv_query_get(pq, "status");
    q->unit = srv_query_get(pq, "unit");
    return 0;
}

void srv_export_answer(struct srv_storage *st, const struct srv_device *d,
                       const char *query, struct srv_response *resp)
{
    static const char *const params[] = {"format", "template", "status",
                                         "unit",   "lang",     NULL};
    struct srv_export_query q;
    struct srv_query pq;
    struct fld_err err;
    int rc;

    fld_err_clear(&err);
    memset(&q, 0, sizeof q);
    if (strcmp(d->role, "supervisor") != 0 && strcmp(d->role, "admin") != 0) {
        srv_api_error(resp, 403, "forbidden",
                      "exports are for supervisors' and administrators' "
                      "devices",
                      -1);
        return;
    }
    if (srv_query_parse(query, params, &pq, &err) != FLD_OK) {
        srv_api_error(resp, 400, "bad_request", err.msg, -1);
    } else if (read_params(&pq, &q, resp) == 0 &&
               srv_api_check_scope(st, d, q.unit, resp) == 0) {
        q.device = d;
        q.max_records = SRV_EXPORT_MAX_RECORDS;
        fld_buf_reset(&resp->body);
        rc = srv_export(st, &q, &resp->body, NULL, &err);
        if (rc == FLD_OK) {
            resp->status = 200;
            resp->content_type = fld_export_media_type(q.format);
        } else if (rc == FLD_NOTFOUND) {
            srv_api_error(resp, 404, "unknown_unit", err.msg, -1);
        } else if (rc == FLD_EUSAGE) {
            srv_api_error(resp, 400, "bad_request", err.msg, -1);
        } else if (rc == FLD_ELIMIT) {
            srv_api_error(resp, 400, "too_many_records", err.msg, -1);
        } else {
            srv_api_failure(resp, rc, &err);
        }
    }
    srv_query_free(&pq);
}
