/*
 * catalog.c - the province's threshold revisions fetched during a sync
 * (see catalog.h; docs/SYNC.md and docs/PROTOCOL.md).
 *
 * Where it sits: client.c runs the sync's round trips and remembers the
 * "thresholds" number each answer announced; when they are done it calls
 * syn_catalog_thresholds() with that number and a way to send a signed GET
 * through its own exchange (retries, clock correction, answers that are
 * not ours). Here the revisions are fetched page by page, verified
 * (fld_thresholds_open: canonical bytes, hash, signature) and checked
 * against the template they name (fld_thresholds_check), then stored with
 * the new "seen" number in one transaction. `field show` and `field
 * review` apply the one in force (field/cmd_thresholds.c).
 *
 * Why like this:
 *   - A sync with nothing to do must stay one request: the number in the
 *     sync answer says whether anything is new, and nothing is asked when
 *     it is not.
 *   - Everything a fetch proves is written together, after every page has
 *     been checked, as client.c does with a page of versions: a fetch cut
 *     short stores nothing and is simply done again next time, and a
 *     revision that does not verify keeps the whole batch out.
 *   - A revision of a template this device does not hold cannot be checked
 *     and would never be used: it is skipped, and counted as seen. A
 *     device that installs the template later gets it with `field sync
 *     --full`, which fetches from the start.
 *   - Sequence numbers are one server's: the number seen is kept with the
 *     server's URL, and a number smaller than the one seen (a server
 *     restored from an older backup) starts again from the beginning.
 *     What is fetched twice is stored once (revisions are kept by hash).
 */
#include "catalog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "protocol.h"
#include "thresholds.h"

/* The revisions fetched and checked, waiting to be stored. */
struct fetched {
    struct fld_thresholds **r;
    int64_t *seq;
    size_t n, cap;
};

static void fetched_free(struct fetched *f)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        fld_thresholds_free(f->r[i]);
    free(f->r);
    free(f->seq);
}

/* Whether r fits the template it names, when this device holds it:
 * FLD_OK (fits), FLD_NOTFOUND (not held: skip it), or a refusal. */
static int check_against_template(struct fld_store *st,
                                  const struct fld_thresholds *r,
                                  struct fld_err *err)
{
    struct fld_template *t = NULL;
    uint8_t *body;
    size_t len;
    int rc =
        fld_store_template_get(st, r->template_hash, &body, &len, NULL, err);

    if (rc != FLD_OK)
        return rc;
    rc = fld_template_parse(body, len, &t, err);
    free(body);
    if (rc == FLD_OK)
        rc = fld_thresholds_check(r, t, err);
    fld_template_free(t);
    if (rc != FLD_OK)
        return fld_err_set(err, FLD_EPROTO,
                           "the server sent threshold revision %" PRId64
                           " of %s, which does not fit the template held "
                           "here; nothing of it was kept",
                           r->revision, r->template_id);
    return FLD_OK;
}

/* Verify and check one page's items (after `*after`), keeping those of
 * templates held here; *after moves to the page's last seq. */
static int take_page(struct fld_store *st, const struct syn_thresholds_page *p,
                     int64_t *after, struct fetched *f, struct fld_err *err)
{
    size_t i;
    int rc;

    for (i = 0; i < p->n; i++) {
        const struct syn_item *it = &p->items[i];
        struct fld_thresholds *r = NULL;

        if (it->seq <= *after)
            return fld_err_set(err, FLD_EPROTO,
                               "the server sent threshold revisions out of "
                               "order (seq %" PRId64 " after %" PRId64 ")",
                               it->seq, *after);
        *after = it->seq;
        rc = fld_thresholds_open(it->body, it->body_len, it->sig, &r, err);
        if (rc != FLD_OK) {
            fld_err_prefix(err,
                           "the server sent a threshold revision (seq %" PRId64
                           ") that does not verify, so none was kept",
                           it->seq);
            return rc == FLD_EBADSIG ? rc : FLD_EPROTO;
        }
        rc = check_against_template(st, r, err);
        if (rc == FLD_NOTFOUND) {
            fld_thresholds_free(r); /* not held here: seen, not kept */
            continue;
        }
        if (rc != FLD_OK) {
            fld_thresholds_free(r);
            return rc;
        }
        if (f->n == f->cap) {
            f->cap = f->cap ? 2 * f->cap : 8;
            f->r = fld_xreallocarray(f->r, f->cap, sizeof *f->r);
            f->seq = fld_xreallocarray(f->seq, f->cap, sizeof *f->seq);
        }
        f->r[f->n] = r;
        f->seq[f->n++] = it->seq;
    }
    return FLD_OK;
}

/* Fetch every page after `*after`; *after ends at the last seq sent. */
static int fetch_all(struct fld_store *st, syn_get_fn get, void *ctx,
                     int64_t *after, struct fetched *f, struct fld_err *err)
{
    struct syn_http_response resp;
    struct syn_thresholds_page *p = NULL;
    char path[64];
    bool more = true;
    int rc = FLD_OK;

    memset(&resp, 0, sizeof resp);
    while (more && rc == FLD_OK) {
        snprintf(path, sizeof path, "%s?after=%" PRId64, SYN_THRESHOLDS_PATH,
                 *after);
        syn_http_response_reset(&resp);
        if ((rc = get(ctx, path, &resp, err)) != FLD_OK)
            break;
        rc = syn_thresholds_page_decode(resp.body.data, resp.body.len, &p, err);
        if (rc != FLD_OK) {
            fld_err_prefix(err, "the server sent a malformed list of threshold "
                                "revisions");
            rc = FLD_EPROTO;
            break;
        }
        /* "more" with an empty page would have us ask for ever */
        more = p->more;
        if (more && p->n == 0)
            rc = fld_err_set(err, FLD_EPROTO,
                             "the server says more threshold revisions wait "
                             "but sent none");
        else
            rc = take_page(st, p, after, f, err);
        syn_thresholds_page_free(p);
        p = NULL;
    }
    syn_http_response_reset(&resp);
    return rc;
}

/* Store what was fetched and the number seen, in one transaction. */
static int store_all(struct fld_store *st, const struct fetched *f,
                     int64_t seen, int64_t *stored, struct fld_err *err)
{
    char *url = NULL;
    size_t i;
    int rc;

    if ((rc = fld_store_begin(st, err)) != FLD_OK)
        return rc;
    for (i = 0; i < f->n && rc == FLD_OK; i++) {
        rc = fld_store_thresholds_put(st, f->r[i], f->seq[i], err);
        if (rc == FLD_OK)
            (*stored)++;
        else if (rc == FLD_EXISTS) /* fetched again: already here */
            rc = FLD_OK;
    }
    if (rc == FLD_OK)
        rc = fld_store_meta_set_int(st, SYN_META_THRESHOLDS, seen, err);
    if (rc == FLD_OK)
        rc = fld_store_meta_get(st, SYN_META_URL, &url, err);
    if (rc == FLD_OK)
        rc = fld_store_meta_set(st, SYN_META_THRESHOLDS_SERVER, url, err);
    else if (rc == FLD_NOTFOUND) /* not enrolled: no server to name */
        rc = FLD_OK;
    free(url);
    if (rc != FLD_OK) {
        fld_store_rollback(st);
        *stored = 0;
        return rc;
    }
    return fld_store_commit(st, err);
}

/*
 * The last number seen at the server this device syncs with now, 0 when
 * it was seen at another one: sequence numbers are a server's own, so a
 * device enrolled anew elsewhere starts from the beginning.
 */
static int last_seen(struct fld_store *st, int64_t *seen, struct fld_err *err)
{
    char *url = NULL, *at = NULL;
    int rc;

    *seen = 0;
    rc = fld_store_meta_get(st, SYN_META_URL, &url, err);
    if (rc == FLD_OK)
        rc = fld_store_meta_get(st, SYN_META_THRESHOLDS_SERVER, &at, err);
    if (rc == FLD_OK && strcmp(url, at) == 0)
        rc = fld_store_meta_get_int(st, SYN_META_THRESHOLDS, seen, err);
    free(url);
    free(at);
    return rc == FLD_NOTFOUND ? FLD_OK : rc; /* nothing seen there yet */
}

int syn_catalog_thresholds(struct fld_store *st, int64_t server_seq, bool full,
                           syn_get_fn get, void *ctx, int64_t *stored,
                           struct fld_err *err)
{
    struct fetched f;
    int64_t seen = 0, after;
    int rc;

    *stored = 0;
    if (server_seq < 0) /* a server that does not announce them */
        return FLD_OK;
    if (!full) {
        if ((rc = last_seen(st, &seen, err)) != FLD_OK)
            return rc;
    }
    /* Numbers that went back: a server restored from an older backup, which
     * numbers what it receives next from where the backup stopped. What
     * was seen there says nothing of what it holds now. */
    if (server_seq < seen)
        seen = 0;
    if (server_seq <= seen)
        return FLD_OK; /* nothing new: no request */
    memset(&f, 0, sizeof f);
    after = seen;
    rc = fetch_all(st, get, ctx, &after, &f, err);
    /* A server that announced more than it sent has nothing more to give:
     * remembering its number keeps later syncs from asking again. */
    if (rc == FLD_OK)
        rc = store_all(st, &f, after > server_seq ? after : server_seq, stored,
                       err);
    fetched_free(&f);
    return rc;
}
