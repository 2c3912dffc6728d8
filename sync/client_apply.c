/*
 * client_apply.c - an answer of the server to a sync request: checked
 * against what was sent, its pulled versions verified, then applied to
 * the store (steps 3 and 4 of the flow in client.c's file comment).
 *
 * Where it sits: client.c sends a batch (client_queue.c built it) and
 * decodes the answer; syn_client_check() then holds the answer against
 * the batch and syn_client_verify() verifies every pulled version,
 * before a single byte of it is written; syn_client_apply() writes
 * everything the answer proves (the server's result for every pushed
 * version, the pulled versions, the hybrid logical clock, the cursor,
 * the clock offset) inside the keeper's transaction.
 *
 * Verification runs on several threads (syn_parallel_for): each
 * fld_version_open() is independent, and the Ed25519 check that
 * dominates it is thread-safe in libsodium. The outcome is the same as
 * checking in order: every version is checked, and a page with bad
 * versions is refused naming the first of them in server order.
 *
 * Applying runs on whichever thread holds the store at the time: while
 * client.c waits for the next answer, a background job applies this one.
 * So apply touches only the keeper and the answer, never struct run:
 * what the stats and the clock offset learn from it is taken over by
 * client.c once the job has been joined (syn_client_count()).
 *
 * The keeper's transaction spans several answers when they come fast
 * (syn_keeper_due() says when to commit): a page of versions touches
 * index pages all over the store (hashes are random), and committing
 * every page wrote those pages again each time. A transaction is still
 * all or nothing: a sync killed mid-way keeps the answers committed
 * before and none of the others, whose versions are pushed or pulled
 * again by the next sync, and nothing is recorded before the answer
 * that proves it.
 */
#include "client_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "hlc.h"
#include "parallel.h"

/* Commit at least this often (ms, versions): long enough to amortise the
 * index pages a page of versions dirties, short enough that a capture
 * waiting for the store (busy timeout: 2 s) is never refused. */
#define TXN_MAX_MS 400
#define TXN_MAX_VERSIONS 2000

/* A correction of the clock offset smaller than this is noise. */
#define CLOCK_SLACK_MS 2000

/* ---- the store's transaction ------------------------------------------ */

int syn_keeper_begin(struct keeper *k, struct fld_err *err)
{
    int rc;

    if (k->in_txn)
        return FLD_OK;
    if ((rc = fld_store_begin(k->st, err)) != FLD_OK)
        return rc;
    k->in_txn = true;
    k->txn_start_ms = fld_now_ms();
    k->txn_versions = 0;
    return FLD_OK;
}

int syn_keeper_commit(struct keeper *k, struct fld_err *err)
{
    if (!k->in_txn)
        return FLD_OK;
    k->in_txn = false;
    return fld_store_commit(k->st, err);
}

void syn_keeper_rollback(struct keeper *k)
{
    if (k->in_txn)
        fld_store_rollback(k->st);
    k->in_txn = false;
}

bool syn_keeper_due(const struct keeper *k)
{
    return k->in_txn && (k->txn_versions >= TXN_MAX_VERSIONS ||
                         fld_now_ms() - k->txn_start_ms >= TXN_MAX_MS);
}

/* ---- checking an answer ----------------------------------------------- */

void syn_client_answer_free(struct answer *a)
{
    size_t i;

    if (a->resp != NULL && a->pulled != NULL)
        for (i = 0; i < a->resp->n_pull; i++)
            fld_version_free(a->pulled[i]);
    free(a->pulled);
    free(a->bad);
    syn_sync_response_free(a->resp);
    memset(a, 0, sizeof *a);
}

/*
 * One pulled version, on whichever thread takes index i. Once verified
 * it is reduced to what storing it needs: its body (which holds the
 * answers exactly as signed, and which the version takes over from the
 * decoded page rather than copying) and the fields of its row. The parsed
 * answers are dropped here, which keeps the three pages a pipelined sync
 * holds at a time within a few megabytes.
 */
static void verify_one(void *ctx, size_t i)
{
    struct answer *a = ctx;
    struct syn_item *it = &a->resp->pull[i];
    struct fld_version *v;
    struct fld_err e;

    fld_err_clear(&e);
    a->bad[i].rc =
        fld_version_open_owned(it->body, it->body_len, it->sig, &v, &e);
    if (a->bad[i].rc != FLD_OK) {
        snprintf(a->bad[i].msg, sizeof a->bad[i].msg, "%s", e.msg);
        return;
    }
    it->body = NULL; /* the version's now */
    fld_json_remove(v->json, "answers");
    fld_json_remove(v->json, "review");
    v->answers = NULL;
    v->review = NULL;
    a->pulled[i] = v;
}

/* The contract is in client_int.h: every pulled version through
 * verify_one(); the first failure in server order is the one reported. */
int syn_client_verify(const struct run *r, struct answer *a,
                      struct fld_err *err)
{
    size_t n = a->resp->n_pull, i;

    a->pulled = fld_xcalloc(n ? n : 1, sizeof *a->pulled);
    a->bad = fld_xcalloc(n ? n : 1, sizeof *a->bad);
    syn_parallel_for(n, r->n_threads, verify_one, a);
    for (i = 0; i < n; i++)
        if (a->bad[i].rc != FLD_OK)
            return fld_err_set(
                err, a->bad[i].rc == FLD_EBADSIG ? FLD_EBADSIG : FLD_EPROTO,
                "the server at %s sent a version (seq %" PRId64
                ") that does not verify: %s; nothing of that page "
                "was kept",
                r->url, a->resp->pull[i].seq, a->bad[i].msg);
    return FLD_OK;
}

int syn_client_check(const struct run *r, const struct queue *q,
                     const struct batch *b, const struct answer *a,
                     struct fld_err *err)
{
    const struct syn_sync_response *resp = a->resp;
    size_t i;

    if (resp->n_results != b->n)
        return fld_err_set(
            err, FLD_EPROTO,
            "the server at %s answered %zu results for %zu versions "
            "pushed",
            r->url, resp->n_results, b->n);
    /* The queue's hash of each version sent was checked against its body
     * when the batch was read (fld_store_version_raw). */
    for (i = 0; i < resp->n_results; i++) {
        const char *sent = q->v[b->idx[i]].hash;

        if (strcmp(sent, resp->results[i].hash) != 0)
            return fld_err_set(
                err, FLD_EPROTO,
                "the server at %s answered for version %.16s where "
                "%.16s was pushed",
                r->url, resp->results[i].hash, sent);
    }
    if (resp->cursor == NULL || resp->cursor[0] == '\0' ||
        strlen(resp->cursor) > SYN_MAX_CURSOR)
        return fld_err_set(err, FLD_EPROTO,
                           "the server at %s sent no usable cursor", r->url);
    /* "more" with an empty page would have us loop for ever. */
    if (resp->more && resp->n_pull == 0)
        return fld_err_set(
            err, FLD_EPROTO,
            "the server at %s says more versions wait but sent none", r->url);
    return FLD_OK;
}

/* ---- applying an answer ----------------------------------------------- */

/* The server's result for every version pushed: known to the server, or
 * refused onto the dead-letter list. */
static int record_results(struct fld_store *st,
                          const struct syn_sync_response *a,
                          struct fld_err *err)
{
    size_t i;
    int rc;

    for (i = 0; i < a->n_results; i++) {
        const struct syn_result *res = &a->results[i];

        if (res->status == SYN_REFUSED)
            rc = fld_store_sync_refuse(st, res->hash,
                                       res->reason[0] ? res->reason : "refused",
                                       res->message, err);
        else
            rc = fld_store_sync_known(st, res->hash,
                                      syn_push_status_name(res->status), err);
        if (rc != FLD_OK)
            return rc;
    }
    return FLD_OK;
}

/* A meta setting as an integer, or 0 when unset. */
static int meta_int(struct fld_store *st, const char *key, int64_t *out,
                    struct fld_err *err)
{
    int rc = fld_store_meta_get_int(st, key, out, err);

    if (rc == FLD_NOTFOUND) {
        *out = 0;
        return FLD_OK;
    }
    return rc;
}

/* Store the pulled versions (verified by syn_client_verify()) and let them
 * advance the hybrid logical clock, never past the server's time plus
 * FLD_HLC_MAX_AHEAD_MS. */
static int store_pulled(struct fld_store *st, struct answer *a,
                        struct fld_err *err)
{
    const struct syn_sync_response *resp = a->resp;
    struct fld_hlc clock, before;
    int64_t bound = resp->server_time + FLD_HLC_MAX_AHEAD_MS;
    size_t i;
    int rc;

    if (resp->n_pull == 0)
        return FLD_OK;
    if ((rc = meta_int(st, FLD_META_HLC_MS, &clock.ms, err)) != FLD_OK)
        return rc;
    if ((rc = meta_int(st, FLD_META_HLC_COUNT, &clock.count, err)) != FLD_OK)
        return rc;
    before = clock;
    for (i = 0; i < resp->n_pull; i++) {
        const struct fld_version *v = a->pulled[i];

        rc = fld_store_put_version(st, v, err);
        if (rc == FLD_OK)
            a->pulled_new++;
        else if (rc != FLD_EXISTS)
            return rc;
        if ((rc = fld_store_sync_known(st, v->hash, "pulled", err)) != FLD_OK)
            return rc;
        /* A tablet whose clock says 2030 must not drag us there. */
        if (resp->server_time > 0)
            fld_hlc_observe(&clock, &v->hlc, bound);
    }
    if (fld_hlc_cmp(&clock, &before) == 0)
        return FLD_OK;
    rc = fld_store_meta_set_int(st, FLD_META_HLC_MS, clock.ms, err);
    if (rc == FLD_OK)
        rc = fld_store_meta_set_int(st, FLD_META_HLC_COUNT, clock.count, err);
    return rc;
}

/*
 * Every answer carries the server's time: keep our clock near it. The
 * offset to use from now on, which differs from the one the request was
 * signed with only when the two are further apart than a round trip's
 * noise.
 */
static int64_t corrected_offset(const struct answer *a)
{
    int64_t slack = a->rtt_ms > CLOCK_SLACK_MS ? a->rtt_ms : CLOCK_SLACK_MS;
    int64_t server_time = a->resp->server_time, offset;

    if (server_time <= 0)
        return a->offset_ms;
    /* our time reads as the server's did when it answered, half a round
     * trip ago (syn_client_offset_from(), with this answer's figures) */
    offset = server_time + a->rtt_ms / 2 - a->answered_ms;
    return llabs(offset - a->offset_ms) <= slack ? a->offset_ms : offset;
}

/*
 * Apply a checked answer inside the keeper's transaction. On a cursor
 * reset the device first forgets what the server was known to hold: the
 * server may be a restored backup missing some of it, so everything is
 * pushed again (the answers say "duplicate" for what it has) and pulled
 * from the beginning (the answer's page is the first). An answer that
 * changes nothing (a sync with nothing to do: no results, no versions,
 * the same cursor, the same clock) writes nothing. On failure the
 * transaction is rolled back: the answers it held are applied again by
 * the next sync, which receives them again.
 */
int syn_client_apply(struct keeper *k, struct answer *a, struct fld_err *err)
{
    const struct syn_sync_response *resp = a->resp;
    int rc;

    a->offset_out = corrected_offset(a);
    if (!resp->reset && resp->n_results == 0 && resp->n_pull == 0 &&
        !a->is_cursor_new && a->offset_out == a->offset_ms) {
        a->is_applied = true;
        return FLD_OK;
    }
    if ((rc = syn_keeper_begin(k, err)) != FLD_OK)
        return rc;
    rc = resp->reset ? fld_store_sync_forget(k->st, err) : FLD_OK;
    if (rc != FLD_OK)
        goto fail;
    if ((rc = record_results(k->st, resp, err)) != FLD_OK)
        goto fail;
    if ((rc = store_pulled(k->st, a, err)) != FLD_OK)
        goto fail;
    rc = a->is_cursor_new
             ? fld_store_meta_set(k->st, SYN_META_CURSOR, resp->cursor, err)
             : FLD_OK;
    if (rc != FLD_OK)
        goto fail;
    rc =
        a->offset_out != a->offset_ms
            ? fld_store_meta_set_int(k->st, FLD_META_OFFSET, a->offset_out, err)
            : FLD_OK;
    if (rc != FLD_OK)
        goto fail;
    k->txn_versions += (int64_t)(resp->n_results + resp->n_pull);
    a->is_applied = true;
    return FLD_OK;
fail:
    syn_keeper_rollback(k);
    return rc;
}

/* Count what an applied answer did, for struct syn_stats. */
void syn_client_count(struct syn_stats *s, const struct answer *a)
{
    const struct syn_sync_response *resp = a->resp;
    size_t i;

    for (i = 0; i < resp->n_results; i++) {
        switch (resp->results[i].status) {
        case SYN_STORED:
            s->stored++;
            break;
        case SYN_DUPLICATE:
            s->duplicates++;
            break;
        case SYN_QUARANTINED:
            s->quarantined++;
            break;
        default:
            s->refused++;
            break;
        }
    }
    s->pushed += (int64_t)resp->n_results;
    s->pulled += (int64_t)resp->n_pull;
    s->pulled_new += a->pulled_new;
}
