/*
 * thresholds.c - the province's threshold revisions on the server (see
 * thresholds.h): accepting a signed revision, choosing the one in force,
 * and the page devices fetch.
 *
 * Where it sits: `field-server thresholds add` (cmd_thresholds.c) hands a
 * signed file to srv_thresholds_add(); the API (api.c) answers GET
 * /v1/thresholds?after=SEQ with srv_thresholds_page() and announces the
 * newest seq in every sync answer; the province's report applies the
 * revision in force to each template before it evaluates records
 * (srv_thresholds_apply). Storage keeps rows (storage.h); every decision
 * about them is here.
 *
 * Decisions:
 *   - Only an administrator sets thresholds: the author of the signature
 *     (not whoever runs the command) must be an enrolled, unrevoked device
 *     whose role is admin. The command runs on the server's own machine,
 *     but the signature is what devices check and what the audit shows.
 *   - Revision numbers only go up, per template hash: a revision that is
 *     not greater than every stored one is refused, so "the greatest
 *     revision" is the newest decision and a replayed or reordered file
 *     can never displace a later one.
 *   - The revision in force is chosen by two limits the report gives: the
 *     date it reports on (valid_from not after it) and a cut-off on the
 *     server's receipt time, so that a report rerun later over the same
 *     cut-off says the same thing even after newer revisions arrive.
 *   - A stored revision is verified again whenever it is used: the
 *     database is data from disk.
 *
 * Cost: a template has a handful of revisions; choosing one walks them.
 */
#include "thresholds.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

/* err, already saying what failed, now says it of stored data: the
 * server's own records no longer verify. */
static int corrupt(struct fld_err *err)
{
    if (err != NULL)
        err->code = FLD_ECORRUPT;
    return FLD_ECORRUPT;
}

/* The author must be an enrolled admin device, not revoked. */
static int check_author(struct srv_storage *st, const struct fld_thresholds *r,
                        struct fld_err *err)
{
    struct srv_device *d = NULL;
    int rc = srv_storage_device_get(st, r->author, &d, err);

    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_EINVAL,
                           "signed by device %.16s, which is not enrolled "
                           "here",
                           r->author);
    if (rc != FLD_OK)
        return rc;
    if (d->revoked_ms != 0)
        rc = fld_err_set(err, FLD_EINVAL,
                         "signed by device %.16s (%s), which is revoked",
                         r->author, d->inspector);
    else if (strcmp(d->role, "admin") != 0)
        rc = fld_err_set(err, FLD_EINVAL,
                         "signed by device %.16s (%s), enrolled as %s: only "
                         "an admin's device may set thresholds",
                         r->author, d->inspector, d->role);
    srv_device_free(d);
    return rc;
}

/* The template must be installed here, and the values fit it. */
static int check_template(struct srv_storage *st,
                          const struct fld_thresholds *r, struct fld_err *err)
{
    struct fld_template *t = NULL;
    uint8_t *body;
    size_t len;
    int rc = srv_storage_template_get(st, r->template_hash, &body, &len, err);

    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_EINVAL,
                           "template %s %.16s is not installed here "
                           "(field-server templates add)",
                           r->template_id, r->template_hash);
    if (rc != FLD_OK)
        return rc;
    rc = fld_template_parse(body, len, &t, err);
    free(body);
    if (rc != FLD_OK) {
        fld_err_prefix(err, "stored template %.16s", r->template_hash);
        return corrupt(err);
    }
    rc = fld_thresholds_check(r, t, err);
    fld_template_free(t);
    return rc;
}

/* The greatest revision stored for a template hash, and whether a given
 * hash is among them. */
struct newest {
    const char *hash;
    int64_t revision;
    int64_t same_seq; /* seq of the stored row with `hash`, 0 when none */
};

static int take_newest(void *ctx, const struct srv_thresholds_row *row)
{
    struct newest *n = ctx;

    if (row->revision > n->revision)
        n->revision = row->revision;
    if (strcmp(row->hash, n->hash) == 0)
        n->same_seq = row->seq;
    return FLD_OK;
}

static int check_number(struct srv_storage *st, const struct fld_thresholds *r,
                        struct fld_err *err)
{
    struct newest n = {r->hash, 0, 0};
    int rc = srv_storage_thresholds_each(st, 0, r->template_hash, 0,
                                         take_newest, &n, err);

    if (rc != FLD_OK)
        return rc;
    if (n.same_seq != 0)
        return fld_err_set(err, FLD_EXISTS,
                           "this revision is stored already (seq %" PRId64 ")",
                           n.same_seq);
    if (r->revision <= n.revision)
        return fld_err_set(err, FLD_EINVAL,
                           "revision %" PRId64 " is not greater than revision "
                           "%" PRId64 ", the newest stored for %s %.16s",
                           r->revision, n.revision, r->template_id,
                           r->template_hash);
    return FLD_OK;
}

int srv_thresholds_add(struct srv_storage *st, const uint8_t *file, size_t len,
                       int64_t now_ms, struct fld_thresholds **out,
                       int64_t *seq, struct fld_err *err)
{
    struct fld_thresholds *r = NULL;
    int rc;

    *out = NULL;
    *seq = 0;
    if ((rc = fld_thresholds_read(file, len, &r, err)) != FLD_OK)
        return rc;
    rc = check_author(st, r, err);
    if (rc == FLD_OK)
        rc = check_template(st, r, err);
    if (rc == FLD_OK)
        rc = check_number(st, r, err);
    if (rc != FLD_OK) {
        fld_thresholds_free(r);
        return rc;
    }
    rc = srv_storage_thresholds_put(st, r, now_ms, seq, err);
    if (rc == FLD_OK) {
        char *detail = fld_xasprintf(
            "%s revision %" PRId64 " valid from %s: %s", r->template_id,
            r->revision, r->valid_from, r->source);

        rc = srv_storage_audit_add(st, "thresholds", r->author,
                                   r->template_hash, detail, err);
        free(detail);
    }
    if (rc != FLD_OK) {
        fld_thresholds_free(r);
        return rc;
    }
    *out = r;
    return FLD_OK;
}

/* The candidate in force so far: its bytes are copied, the walk's row is
 * borrowed. */
struct pick {
    int64_t cutoff_ms;
    const char *as_of;
    int64_t revision;
    uint8_t *body;
    size_t len;
    uint8_t sig[FLD_SIG_LEN];
};

static int take_in_force(void *ctx, const struct srv_thresholds_row *row)
{
    struct pick *p = ctx;

    if (row->received_ms > p->cutoff_ms || row->revision <= p->revision ||
        (p->as_of != NULL && strcmp(row->valid_from, p->as_of) > 0))
        return FLD_OK;
    free(p->body);
    p->body = fld_xmalloc(row->body_len + 1);
    memcpy(p->body, row->body, row->body_len);
    p->len = row->body_len;
    memcpy(p->sig, row->sig, FLD_SIG_LEN);
    p->revision = row->revision;
    return FLD_OK;
}

int srv_thresholds_in_force(struct srv_storage *st, const char *template_hash,
                            int64_t cutoff_ms, const char *as_of,
                            struct fld_thresholds **out, struct fld_err *err)
{
    struct pick p;
    int rc;

    *out = NULL;
    memset(&p, 0, sizeof p);
    p.cutoff_ms = cutoff_ms;
    p.as_of = as_of;
    rc = srv_storage_thresholds_each(st, 0, template_hash, 0, take_in_force, &p,
                                     err);
    if (rc == FLD_OK && p.body != NULL &&
        fld_thresholds_open(p.body, p.len, p.sig, out, err) != FLD_OK) {
        fld_err_prefix(err,
                       "stored threshold revision %" PRId64 " of template "
                       "%.16s",
                       p.revision, template_hash);
        rc = corrupt(err);
    }
    free(p.body);
    return rc;
}

int srv_thresholds_apply(struct srv_storage *st, struct fld_template *t,
                         int64_t cutoff_ms, const char *as_of,
                         struct fld_err *err)
{
    struct fld_thresholds *r = NULL;
    int rc = srv_thresholds_in_force(st, fld_template_hash(t), cutoff_ms, as_of,
                                     &r, err);

    if (rc != FLD_OK || r == NULL)
        return rc;
    if (fld_thresholds_apply(r, t, err) != FLD_OK) {
        fld_err_prefix(err, "stored threshold revision %" PRId64 " of %s",
                       r->revision, r->template_id);
        rc = corrupt(err);
    }
    fld_thresholds_free(r);
    return rc;
}

/* ---- the page devices fetch ------------------------------------------------
 */

struct page {
    struct syn_thresholds_page p;
    size_t cap;
};

static int page_add(void *ctx, const struct srv_thresholds_row *row)
{
    struct page *pg = ctx;

    if (pg->p.n == SYN_THRESHOLDS_PAGE) {
        pg->p.more = true; /* the one row more asked for */
        return FLD_OK;
    }
    if (pg->p.n == pg->cap) {
        pg->cap = pg->cap ? 2 * pg->cap : 8;
        pg->p.items =
            fld_xreallocarray(pg->p.items, pg->cap, sizeof *pg->p.items);
    }
    syn_item_set(&pg->p.items[pg->p.n], row->body, row->body_len, row->sig);
    pg->p.items[pg->p.n].seq = row->seq;
    pg->p.n++;
    return FLD_OK;
}

int srv_thresholds_page(struct srv_storage *st, int64_t after,
                        struct fld_buf *out, struct fld_err *err)
{
    struct page pg;
    size_t i;
    int rc;

    memset(&pg, 0, sizeof pg);
    rc = srv_storage_thresholds_each(st, after, NULL, SYN_THRESHOLDS_PAGE + 1,
                                     page_add, &pg, err);
    if (rc == FLD_OK)
        syn_thresholds_page_encode(&pg.p, out);
    for (i = 0; i < pg.p.n; i++)
        free(pg.p.items[i].body);
    free(pg.p.items);
    return rc;
}
