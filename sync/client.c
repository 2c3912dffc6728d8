/*
 * client.c - enrollment and sync, the device side (see client.h for the
 * contract and docs/SYNC.md for the guarantees, in words for people).
 *
 * The flow of one sync:
 *
 *   1. The queue: every pending version (the store's sync_pending table
 *      lists them), ordered so that parents go before children and each
 *      author's versions go in dseq order, arrival order breaking ties
 *      (client_queue.c: Kahn's algorithm with a heap).
 *   2. A loop of round trips (round_trip()): a batch from the queue,
 *      capped by count and by bytes, plus the pull cursor. An empty batch
 *      is fine: a sync with nothing to push is one request that pulls.
 *   3. Each answer is checked before anything is written (one result per
 *      pushed version, hash by hash; every pulled version verified by
 *      fld_version_open(), on several threads), then applied
 *      (client_apply.c): results, pulled versions, the hybrid logical
 *      clock, the cursor, all in one transaction.
 *   4. The loop ends when the queue is empty and the server says no more
 *      pages wait.
 *
 * The round trips are pipelined: while a request is on the network (and
 * the server works on it), a background job applies the answer before it
 * and reads and compresses the batch after it (struct store_job); the
 * store is the job's until it is joined, and the loop touches it only
 * then. Answers that come fast share a transaction (client_apply.c says
 * when one is committed). Once nothing is left to push, the
 * request for the next page goes out as soon as an answer says more
 * pages wait, before that answer is verified (send_batch()), so that the
 * server reads and compresses one page while the device verifies the
 * one before. Requests themselves are never concurrent: each goes out
 * after the answer before it, and the server stores a batch before it
 * answers, so parents reach it before their children, as the protocol
 * asks.
 *
 * Why this is safe to kill at any moment: nothing is recorded before the
 * answer that proves it is applied, and everything one answer proves is
 * recorded together, in one transaction with every answer before it that
 * is not committed yet. If an answer is lost, or its transaction never
 * commits, the same versions are pushed again (the server answers
 * "duplicate") and the same pages are pulled again (the versions are
 * already stored, or stored now). Only the cost of a retry is ever lost,
 * never a version, and nothing is stored twice anywhere: both sides key
 * versions by their hash.
 *
 * Retries (syn_client_retry_wait()) back off exponentially with full jitter, so
 * a crowd of tablets coming back online at once does not hammer the server in
 * lockstep. Only failures that may pass are retried: no answer, a 5xx, a 429, a
 * 408, an answer that is not ours with a 5xx status (a proxy whose upstream is
 * down). Refusals (4xx) are final, except clock skew, which is corrected once,
 * and a replay refusal, which a new signature answers.
 *
 * This file makes the requests and runs the sync; the queue and the
 * batches are client_queue.c, answers client_apply.c, enrollment
 * client_enroll.c, and what they share is client_int.h.
 */
#include "client_int.h"

#include <assert.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "capture.h"
#include "catalog.h"
#include "gzip.h"
#include "hlc.h"
#include "parallel.h"
#include "status.h"

/* However large the server's Retry-After, wait at most this long. */
#define RETRY_AFTER_MAX_MS 120000

void syn_transport_free(struct syn_transport *t)
{
    if (t != NULL)
        t->ops->free(t);
}

void syn_http_response_reset(struct syn_http_response *resp)
{
    fld_buf_free(&resp->body);
    memset(resp, 0, sizeof *resp);
    resp->retry_after_s = -1;
}

/* ---- one sync or enrollment in progress -------------------------------- */

void syn_client_run_init(struct run *r, const struct syn_client *c,
                         struct syn_stats *stats)
{
    memset(r, 0, sizeof *r);
    r->cfg = *c;
    if (r->cfg.batch_versions == 0 || r->cfg.batch_versions > SYN_MAX_PUSH)
        r->cfg.batch_versions =
            r->cfg.batch_versions ? SYN_MAX_PUSH : SYN_BATCH_VERSIONS;
    if (r->cfg.batch_bytes == 0)
        r->cfg.batch_bytes = SYN_BATCH_BYTES;
    if (r->cfg.page_limit <= 0 || r->cfg.page_limit > SYN_MAX_LIMIT)
        r->cfg.page_limit =
            r->cfg.page_limit > 0 ? SYN_MAX_LIMIT : SYN_PAGE_LIMIT;
    if (r->cfg.queue_window == 0)
        r->cfg.queue_window = SYN_QUEUE_WINDOW;
    if (r->cfg.max_attempts <= 0)
        r->cfg.max_attempts = SYN_ATTEMPTS;
    if (r->cfg.backoff_ms <= 0)
        r->cfg.backoff_ms = SYN_BACKOFF_MS;
    if (r->cfg.backoff_max_ms <= 0)
        r->cfg.backoff_max_ms = SYN_BACKOFF_MAX_MS;
    r->n_threads = r->cfg.verify_threads ? r->cfg.verify_threads : syn_cpus();
    r->stats = stats;
    memset(stats, 0, sizeof *stats);
    stats->started_ms = fld_now_ms();
}

bool syn_client_stopped(const struct run *r)
{
    /* Set by a signal handler, or by another thread (the sync button of
     * `field ui`), which writes it atomically: read it so. */
    return r->cfg.stop != NULL &&
           __atomic_load_n(r->cfg.stop, __ATOMIC_RELAXED) != 0;
}

/* Sleep ms in short slices, so that a stop request is noticed quickly. */
static void wait_ms(struct run *r, int64_t ms)
{
    if (r->cfg.sleep_ms != NULL) {
        r->cfg.sleep_ms(r->cfg.sleep_ctx, ms);
        return;
    }
    while (ms > 0 && !syn_client_stopped(r)) {
        int64_t slice = ms < 100 ? ms : 100;
        struct timespec ts = {0, (long)slice * 1000000L};

        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

/*
 * Before retry number `attempt` (1, 2, ...): exponential backoff with
 * full jitter, somewhere in [d/2, d] for d = backoff * 2^(attempt-1),
 * capped; a Retry-After from the server is honoured (within reason).
 */
void syn_client_retry_wait(struct run *r, int attempt, int64_t retry_after_s)
{
    int64_t d = r->cfg.backoff_ms;
    int i;

    for (i = 1; i < attempt && d < r->cfg.backoff_max_ms; i++)
        d *= 2;
    if (d > r->cfg.backoff_max_ms)
        d = r->cfg.backoff_max_ms;
    d = d / 2 + (int64_t)randombytes_uniform((uint32_t)(d / 2 + 1));
    if (retry_after_s > 0) {
        int64_t ra = retry_after_s * 1000;

        if (ra > RETRY_AFTER_MAX_MS)
            ra = RETRY_AFTER_MAX_MS;
        if (ra > d)
            d = ra;
    }
    wait_ms(r, d);
}

/* "application/json", possibly with parameters. */
static bool is_json_type(const char *ct)
{
    size_t n = strlen(SYN_CONTENT_TYPE);

    return strncasecmp(ct, SYN_CONTENT_TYPE, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The words for an answer that did not come from a field server. */
static int not_ours(const struct run *r, const struct syn_http_response *resp,
                    struct fld_err *err)
{
    char type[64];

    snprintf(type, sizeof type, "%.*s", (int)strcspn(resp->content_type, "; "),
             resp->content_type);
    if (type[0] == '\0')
        snprintf(type, sizeof type, "no content type");
    return fld_err_set(
        err, FLD_EPROTO,
        "the server at %s answered with %s (HTTP %d), not the sync "
        "protocol — a captive portal or proxy? (sign in to the "
        "network, or check the URL)",
        r->url, type, resp->status);
}

/* Correct the clock offset so that our time reads as the server's did
 * when it answered (half a round trip ago). */
int64_t syn_client_offset_from(const struct run *r, int64_t server_time)
{
    return server_time + r->rtt_ms / 2 - r->answered_ms;
}

/* Use offset from now on, and keep it in the store; while another thread
 * holds the store (a sync's pipeline), the loop keeps it there once the
 * store is back (r->is_offset_unsaved). */
static int save_offset(struct run *r, int64_t offset, struct fld_err *err)
{
    int rc;

    if (r->is_store_busy) {
        r->offset_ms = offset;
        r->is_offset_unsaved = true;
        r->stats->clock_corrections++;
        return FLD_OK;
    }
    if ((rc = fld_store_begin(r->cfg.st, err)) != FLD_OK)
        return rc;
    if ((rc = fld_store_meta_set_int(r->cfg.st, FLD_META_OFFSET, offset,
                                     err)) != FLD_OK) {
        fld_store_rollback(r->cfg.st);
        return rc;
    }
    if ((rc = fld_store_commit(r->cfg.st, err)) == FLD_OK) {
        r->offset_ms = offset;
        r->stats->clock_corrections++;
    }
    return rc;
}

/* ---- one request, with retries ---------------------------------------- */

/* What one exchange remembers from attempt to attempt. */
struct attempts {
    int n; /* attempts that count against max_attempts */
    bool is_skew_fixed, is_replay_retried;
    bool is_last_not_ours;     /* the last failure was not our server's */
    int64_t retry_after_s;     /* the server's Retry-After, -1 when none */
    char why[FLD_ERR_MSG_MAX]; /* the last failure that may pass */
};

/* What became of one attempt (see judge()). */
enum outcome {
    O_DONE,  /* the answer, or a failure no retry mends: rc says which */
    O_RETRY, /* a failure that may pass: why says what it was */
    O_AGAIN  /* sign and send again at once (a clock corrected, a replay) */
};

/*
 * One attempt: the request signed with a time of its own, and sent.
 * Counts the request and its bytes, and times the answer (r->rtt_ms,
 * r->answered_ms), which the clock correction needs.
 */
static int send_once(struct run *r, const struct outgoing *o,
                     struct syn_http_response *resp, struct fld_err *err)
{
    struct syn_auth a;
    struct syn_header h[6];
    struct syn_http_request req;
    char sig[2 * FLD_SIG_LEN + 1], time_text[24];
    int64_t t0 = fld_now_ms(), t = t0 + r->offset_ms;
    size_t nh = 0;
    int rc;

    /* Two requests never share a time, hence never a signature. */
    if (t <= r->last_time)
        t = r->last_time + 1;
    r->last_time = t;
    if (o->is_payload_unsigned)
        syn_request_sign_unsigned(r->cfg.key, o->method, o->path, t, &a);
    else
        syn_request_sign(r->cfg.key, o->method, o->path, t, o->body, o->len,
                         &a);
    syn_auth_sig_hex(&a, sig);
    snprintf(time_text, sizeof time_text, "%" PRId64, t);
    h[nh++] = (struct syn_header){SYN_HDR_DEVICE, a.device};
    h[nh++] = (struct syn_header){SYN_HDR_TIME, time_text};
    h[nh++] = (struct syn_header){SYN_HDR_SIGNATURE, sig};
    if (o->content_type != NULL)
        h[nh++] = (struct syn_header){"Content-Type", o->content_type};
    else if (strcmp(o->method, "POST") == 0)
        h[nh++] = (struct syn_header){"Content-Type", SYN_CONTENT_TYPE};
    if (o->is_gzipped)
        h[nh++] = (struct syn_header){"Content-Encoding", "gzip"};
    if (o->is_expecting)
        h[nh++] = (struct syn_header){"Expect", "100-continue"};
    req = (struct syn_http_request){r->url,  o->method, o->path, h,          nh,
                                    o->body, o->len,    o->sink, o->sink_ctx};

    syn_http_response_reset(resp);
    r->stats->requests++;
    rc = r->cfg.transport->ops->perform(r->cfg.transport, &req, resp, err);
    r->stats->bytes_up += (int64_t)resp->wire_up;
    r->stats->bytes_down += (int64_t)resp->wire_down;
    r->answered_ms = fld_now_ms();
    r->rtt_ms = r->answered_ms - t0;
    return rc;
}

/*
 * A JSON answer other than 200: our server's error (or a proxy's JSON).
 * 5xx, 429 and 408 may pass; a clock-skew refusal is mended once by
 * correcting the clock, a replay refusal once by a new signature; every
 * other refusal is final, its code left in r->code.
 */
static enum outcome judge_error(struct run *r, struct attempts *at,
                                const struct syn_http_response *resp, int *rc,
                                struct fld_err *err)
{
    char code[SYN_REASON_MAX], msg[256];
    int64_t server_time = -1;

    if (syn_error_decode(resp->body.data, resp->body.len, code, msg, sizeof msg,
                         &server_time) != FLD_OK) {
        snprintf(code, sizeof code, "?");
        snprintf(msg, sizeof msg, "an answer that is not a field error");
    }
    /* A full disk on the server does not pass in the seconds a retry
     * waits: sending the bytes again would only cost the link. Final, and
     * the next sync tries again. */
    if (resp->status == 507 && strcmp(code, "disk_full") == 0) {
        snprintf(r->code, sizeof r->code, "%s", code);
        *rc = fld_err_set(err, FLD_EFULL,
                          "the server's disk is full (%s): %s; the next "
                          "sync tries again",
                          r->url, msg);
        return O_DONE;
    }
    if (resp->status >= 500 || resp->status == 429 || resp->status == 408) {
        if (resp->status >= 500)
            r->maybe_delivered = true;
        snprintf(at->why, sizeof at->why, "HTTP %d %s: %s", resp->status, code,
                 msg);
        at->retry_after_s = resp->retry_after_s;
        return O_RETRY;
    }
    if (strcmp(code, "clock_skew") == 0 && server_time > 0 &&
        !at->is_skew_fixed) {
        at->is_skew_fixed = true;
        *rc = save_offset(r, syn_client_offset_from(r, server_time), err);
        if (*rc != FLD_OK)
            return O_DONE;
        /* Request times only move forward; the refused time came from
         * the wrong clock and never entered the server's replay cache,
         * so forget it or the retry repeats it. */
        r->last_time = 0;
        at->n--; /* a corrected clock is not a failed try */
        return O_AGAIN;
    }
    if (strcmp(code, "replayed") == 0 && !at->is_replay_retried) {
        at->is_replay_retried = true; /* a new time makes a new signature */
        return O_AGAIN;
    }
    if (strcmp(code, "?") == 0) {
        *rc = fld_err_set(err, FLD_EPROTO,
                          "the server at %s answered HTTP %d with JSON that "
                          "is not the sync protocol — a proxy?",
                          r->url, resp->status);
        return O_DONE;
    }
    snprintf(r->code, sizeof r->code, "%s", code);
    *rc = fld_err_set(err, FLD_EINVAL, "the server at %s refused: %s (%s)",
                      r->url, msg, code);
    return O_DONE;
}

/*
 * What to make of one attempt, given *rc, what the transport returned.
 * Only failures that may pass are retried: no answer, a 5xx, a 429, a
 * 408, an answer that is not ours with a 5xx status (a proxy whose
 * upstream is down). On O_DONE *rc is what the exchange returns.
 */
static enum outcome judge(struct run *r, struct attempts *at,
                          const struct outgoing *o,
                          const struct syn_http_response *resp, int *rc,
                          struct fld_err *err)
{
    at->is_last_not_ours = false;
    at->retry_after_s = -1;
    if (*rc == FLD_ENET) {
        /* The request may have arrived and been acted on. */
        r->maybe_delivered = true;
        if (syn_client_stopped(r))
            return O_DONE;
        snprintf(at->why, sizeof at->why, "%s", err ? err->msg : "no answer");
        return O_RETRY;
    }
    if (*rc != FLD_OK) {
        /* Too large, broken gzip, an unverifiable TLS peer: final. */
        fld_err_prefix(err, "the server at %s", r->url);
        return O_DONE;
    }
    if (o->sink != NULL && (resp->status == 200 || resp->status == 206))
        return O_DONE; /* the body is in the sink */
    if (o->is_any_type && resp->status == 200)
        return O_DONE;
    if (!is_json_type(resp->content_type)) {
        if (resp->status < 500 && resp->status != 429) {
            *rc = not_ours(r, resp, err);
            return O_DONE;
        }
        r->maybe_delivered = true;
        not_ours(r, resp, err);
        snprintf(at->why, sizeof at->why, "%s", err ? err->msg : "");
        at->is_last_not_ours = true;
        return O_RETRY;
    }
    if (resp->status == 200)
        return O_DONE;
    return judge_error(r, at, resp, rc, err);
}

/* The contract is in client_int.h. Each attempt is signed anew, so a
 * retry is never a replay. */
int syn_client_exchange_ready(struct run *r, const struct outgoing *o,
                              struct syn_http_response *resp,
                              struct fld_err *err)
{
    struct attempts at = {0, false, false, false, -1, ""};
    int rc = FLD_OK;

    r->code[0] = '\0';
    for (;;) {
        enum outcome what;

        if (syn_client_stopped(r)) {
            rc = fld_err_set(err, FLD_ENET, "interrupted");
            break;
        }
        if (at.n > 0)
            r->stats->retries++;
        at.n++;
        rc = send_once(r, o, resp, err);
        what = judge(r, &at, o, resp, &rc, err);
        if (what == O_DONE)
            break;
        if (what == O_AGAIN)
            continue;
        if (o->is_sent_once || at.n >= r->cfg.max_attempts) {
            if (at.is_last_not_ours)
                rc = fld_err_set(err, FLD_EPROTO, "%s", at.why);
            else
                rc = fld_err_set(err, FLD_ENET,
                                 "cannot reach the server at %s: %s (%d tries)",
                                 r->url, at.why, at.n);
            break;
        }
        syn_client_retry_wait(r, at.n, at.retry_after_s);
    }
    if (rc == FLD_ENET && syn_client_stopped(r))
        rc = fld_err_set(err, FLD_ENET, "interrupted");
    return rc;
}

/* The contract is in client_int.h. The body is gzipped once, for every
 * attempt. */
int syn_client_exchange(struct run *r, const char *method, const char *path,
                        const struct fld_buf *plain,
                        struct syn_http_response *resp, struct fld_err *err)
{
    struct fld_buf gz = FLD_BUF_INIT;
    struct outgoing o = {.method = method,
                         .path = path,
                         .body = plain ? plain->data : NULL,
                         .len = plain ? plain->len : 0};
    int rc;

    if (o.len >= SYN_GZIP_MIN) {
        syn_gzip(o.body, o.len, &gz);
        if (gz.len < o.len) {
            o.body = gz.data;
            o.len = gz.len;
            o.is_gzipped = true;
        }
    }
    rc = syn_client_exchange_ready(r, &o, resp, err);
    fld_buf_free(&gz);
    return rc;
}

/* A decoder refused the answer (its message is in err): say whose. */
int syn_client_malformed(const struct run *r, struct fld_err *err)
{
    char why[FLD_ERR_MSG_MAX];

    snprintf(why, sizeof why, "%s", err ? err->msg : "");
    return fld_err_set(err, FLD_EPROTO,
                       "the server at %s sent a malformed answer: %s", r->url,
                       why);
}

/* ---- store helpers ---------------------------------------------------- */

/* A meta setting, or "" when unset (new string, free()). */
int syn_client_meta_text(struct fld_store *st, const char *key, char **out,
                         struct fld_err *err)
{
    int rc = fld_store_meta_get(st, key, out, err);

    if (rc == FLD_NOTFOUND) {
        *out = fld_xstrdup("");
        return FLD_OK;
    }
    return rc;
}

int syn_client_meta_int(struct fld_store *st, const char *key, int64_t *out,
                        struct fld_err *err)
{
    int rc = fld_store_meta_get_int(st, key, out, err);

    if (rc == FLD_NOTFOUND) {
        *out = 0;
        return FLD_OK;
    }
    return rc;
}

/* ---- the sync: round trips in a pipeline ------------------------------ */

/*
 * What the background job does while a request is on the network: apply
 * the answer before it (when there is one), commit when the keeper's
 * transaction is due, then read and compress the batch after it. It
 * holds the store, the keeper and the queue until joined, and touches
 * nothing else: what it learns goes into the answer and into the job.
 */
struct store_job {
    struct keeper *k;
    struct queue *q;
    struct batch_limits lim;
    struct answer *apply; /* NULL: nothing to apply */
    struct batch *next;   /* filled with the next batch */
    int64_t commits;      /* how many commits it made (0 or 1) */
    int rc;
    struct fld_err err;
};

static void run_store_job(void *data)
{
    struct store_job *j = data;

    j->rc = FLD_OK;
    j->commits = 0;
    fld_err_clear(&j->err);
    if (j->apply != NULL)
        j->rc = syn_client_apply(j->k, j->apply, &j->err);
    if (j->rc == FLD_OK && syn_keeper_due(j->k)) {
        j->rc = syn_keeper_commit(j->k, &j->err);
        j->commits++;
    }
    if (j->rc == FLD_OK)
        j->rc = syn_client_batch_take(&j->lim, j->q, j->k, j->next, &j->err);
}

/* A pull request sent ahead of the page being verified (send_batch()),
 * and its answer: the job running it owns it until joined. */
struct ahead {
    struct run *r;
    struct batch b; /* empty: such a request only pulls */
    char *cursor;   /* the cursor it sent; NULL: no request is ahead */
    struct answer a;
    int rc;
    struct fld_err err;
};

/* One sync in progress: the store's side, the request on the network
 * and the answers on their way to the store. */
struct pipe {
    struct run *r;
    struct keeper k;
    struct queue q;
    struct batch_limits lim;
    struct batch cur;   /* the batch of the request being sent */
    struct batch next;  /* the one after it, being read meanwhile */
    struct answer done; /* checked, waiting to be applied */
    struct ahead ahead; /* the next page's answer, when one went ahead */
    char *cursor;
    /* Counts of answers applied but not yet committed: they reach
     * r->stats when their transaction commits, so that the summary of a
     * sync that failed says what it kept. */
    struct syn_stats staged;
    size_t staged_q_end; /* the queue's position they account for */
    size_t acked_q_end;  /* ... and that of those committed */
};

/* Answers applied, then committed: their counts become the run's. */
static void take_staged(struct pipe *p)
{
    struct syn_stats *s = p->r->stats;

    s->pushed += p->staged.pushed;
    s->stored += p->staged.stored;
    s->duplicates += p->staged.duplicates;
    s->quarantined += p->staged.quarantined;
    s->refused += p->staged.refused;
    s->pulled += p->staged.pulled;
    s->pulled_new += p->staged.pulled_new;
    memset(&p->staged, 0, sizeof p->staged);
    p->acked_q_end = p->staged_q_end;
}

/* A clock-skew correction made while the store was busy: written now,
 * in the keeper's transaction. */
static int save_unsaved_offset(struct pipe *p, struct fld_err *err)
{
    int rc;

    if (!p->r->is_offset_unsaved)
        return FLD_OK;
    p->r->is_offset_unsaved = false;
    if ((rc = syn_keeper_begin(&p->k, err)) != FLD_OK)
        return rc;
    return fld_store_meta_set_int(p->k.st, FLD_META_OFFSET, p->r->offset_ms,
                                  err);
}

/* Commit the keeper's transaction, then count what it held. */
static int commit(struct pipe *p, struct fld_err *err)
{
    int rc = syn_keeper_commit(&p->k, err);

    if (rc == FLD_OK)
        take_staged(p);
    return rc;
}

/*
 * The answer p->done has been applied (by the job or here): count it in
 * the staged figures, take over the clock offset it settled on, and
 * forget it, giving its memory back (a pull's peak then stays that of a
 * few pages, however many it pulls). A correction made meanwhile by a
 * clock-skew refusal is newer, and wins.
 */
static void applied(struct pipe *p)
{
    struct run *r = p->r;
    const struct answer *a = &p->done;

    syn_client_count(&p->staged, a);
    p->staged_q_end = a->q_end;
    if (a->offset_out != a->offset_ms && !r->is_offset_unsaved) {
        r->offset_ms = a->offset_out;
        r->stats->clock_corrections++;
    }
    syn_client_answer_free(&p->done);
    syn_heaps_trim();
}

/*
 * Apply p->done on this thread (nothing else holds the store). An answer
 * whose application failed is dropped with the transaction it was in:
 * applying it later without the answers rolled back with it would move
 * the cursor past pages never stored.
 */
static int apply_here(struct pipe *p, struct fld_err *err)
{
    int rc;

    if (p->done.resp == NULL)
        return FLD_OK;
    if ((rc = syn_client_apply(&p->k, &p->done, err)) != FLD_OK) {
        syn_client_answer_free(&p->done);
        memset(&p->staged, 0, sizeof p->staged);
        return rc;
    }
    applied(p);
    return FLD_OK;
}

/* Send batch b with cursor (the one answer applied last gave) and decode
 * the answer into *a, with the exchange's figures it needs. */
static int fetch(struct run *r, struct batch *b, const char *cursor,
                 struct answer *a, struct fld_err *err)
{
    struct outgoing o = {.method = "POST", .path = SYNC_PATH};
    struct syn_http_response resp;
    int rc;

    memset(&resp, 0, sizeof resp);
    syn_client_batch_finish(b, cursor[0] ? cursor : NULL, r->cfg.page_limit,
                            &o);
    rc = syn_client_exchange_ready(r, &o, &resp, err);
    if (rc == FLD_OK && syn_sync_response_decode(resp.body.data, resp.body.len,
                                                 &a->resp, err) != FLD_OK)
        rc = syn_client_malformed(r, err);
    a->rtt_ms = r->rtt_ms;
    a->answered_ms = r->answered_ms;
    a->offset_ms = r->offset_ms;
    a->q_end = b->q_end;
    a->is_cursor_new =
        a->resp != NULL &&
        strcmp(a->resp->cursor ? a->resp->cursor : "", cursor) != 0;
    syn_http_response_reset(&resp);
    return rc;
}

static void run_ahead(void *data)
{
    struct ahead *h = data;

    fld_err_clear(&h->err);
    h->rc = fetch(h->r, &h->b, h->cursor, &h->a, &h->err);
}

/* Forget what went ahead, and its answer if it is still here (none is
 * ahead: nothing to do). */
static void drop_ahead(struct pipe *p)
{
    syn_client_answer_free(&p->ahead.a);
    syn_client_batch_free(&p->ahead.b);
    free(p->ahead.cursor);
    memset(&p->ahead, 0, sizeof p->ahead);
}

/*
 * Send the current batch, decode the answer into *a, check it and verify
 * what it pulled, while the job (started by the caller) works on the
 * store. When the sync only pulls now (pull_only: nothing left to push)
 * and this answer says more pages wait, the request for the next page
 * goes out before this one is verified, on a thread of its own, so that
 * the server reads and compresses it meanwhile; its answer waits in
 * p->ahead for the next round trip, which sends nothing then. Requests
 * stay one at a time: the one ahead is sent after this one's answer.
 */
static int send_batch(struct pipe *p, bool pull_only, struct answer *a,
                      struct fld_err *err)
{
    struct run *r = p->r;
    struct syn_job *job = NULL;
    int rc;

    if (p->ahead.cursor != NULL) { /* this page's request went already */
        assert(p->cur.n == 0 && strcmp(p->ahead.cursor, p->cursor) == 0);
        rc = p->ahead.rc;
        if (rc != FLD_OK && err)
            *err = p->ahead.err;
        *a = p->ahead.a;
        memset(&p->ahead.a, 0, sizeof p->ahead.a); /* *a's now */
        drop_ahead(p);
    } else {
        rc = fetch(r, &p->cur, p->cursor, a, err);
    }
    if (rc == FLD_OK)
        rc = syn_client_check(r, &p->q, &p->cur, a, err);
    if (rc == FLD_OK && pull_only && a->resp->more && !a->resp->reset) {
        p->ahead.r = r;
        p->ahead.b.q_end = p->cur.q_end; /* it takes nothing from the queue */
        p->ahead.cursor = fld_xstrdup(a->resp->cursor);
        job = syn_job_start(run_ahead, &p->ahead);
    }
    if (rc == FLD_OK)
        rc = syn_client_verify(r, a, err);
    syn_job_join(job);
    return rc;
}

/*
 * One round trip: the current batch goes out while the job applies the
 * answer before it and reads the next batch; then the new answer, once
 * checked, waits in p->done for the next round trip's job. On return
 * the job has been joined: the store is this thread's again.
 */
static int round_trip(struct pipe *p, struct fld_err *err)
{
    struct store_job job;
    struct syn_job *bg;
    struct answer fresh;
    int rc;

    /* Read before the job takes the next batch: with the queue used up
     * and no window beyond it, every batch from now on is empty. */
    bool pull_only = p->cur.n == 0 && p->q.next >= p->q.n && p->q.beyond == 0;

    memset(&fresh, 0, sizeof fresh);
    memset(&job, 0, sizeof job);
    job.k = &p->k;
    job.q = &p->q;
    job.lim = p->lim;
    job.apply = p->done.resp != NULL ? &p->done : NULL;
    job.next = &p->next;
    p->r->is_store_busy = true;
    bg = syn_job_start(run_store_job, &job);
    rc = send_batch(p, pull_only, &fresh, err);
    syn_job_join(bg);
    p->r->is_store_busy = false;
    if (job.apply != NULL && job.apply->is_applied)
        applied(p);
    if (job.commits > 0 && job.rc == FLD_OK)
        take_staged(p);
    if (job.rc != FLD_OK && rc == FLD_OK) {
        rc = job.rc;
        if (err)
            *err = job.err;
    }
    if (job.rc != FLD_OK) {
        /* The transaction was rolled back with whatever was staged in
         * it; an answer the job could not apply is dropped (see
         * apply_here()). */
        syn_client_answer_free(&p->done);
        memset(&p->staged, 0, sizeof p->staged);
    }
    if (rc == FLD_OK)
        rc = save_unsaved_offset(p, err);
    if (rc != FLD_OK) {
        syn_client_answer_free(&fresh);
        drop_ahead(p);
        return rc;
    }
    p->done = fresh;
    free(p->cursor);
    p->cursor = fld_xstrdup(fresh.resp->cursor);
    p->r->thresholds = fresh.resp->thresholds;
    syn_client_batch_free(&p->cur);
    p->cur = p->next;
    memset(&p->next, 0, sizeof p->next);
    return FLD_OK;
}

/*
 * Apply and commit what was answered, then load the queue with load and
 * take its first batch (p->cur, empty when nothing is left): after the
 * server's cursor reset (the batch read meanwhile came from the old
 * queue), and when every version of a full window was answered (nothing
 * is in flight then: the batch just answered was the window's last).
 */
static int requeue(struct pipe *p,
                   int (*load)(struct run *r, struct queue *q,
                               struct fld_err *err),
                   struct fld_err *err)
{
    int rc;

    if ((rc = apply_here(p, err)) != FLD_OK)
        return rc;
    if ((rc = commit(p, err)) != FLD_OK)
        return rc;
    syn_client_batch_free(&p->cur);
    if ((rc = load(p->r, &p->q, err)) != FLD_OK)
        return rc;
    p->staged_q_end = p->acked_q_end = 0;
    return syn_client_batch_take(&p->lim, &p->q, &p->k, &p->cur, err);
}

/* The server's cursor reset: its answer forgets what the server was known
 * to hold; the queue is loaded again, to push everything it lacks. */
static int after_reset(struct pipe *p, struct fld_err *err)
{
    struct run *r = p->r;
    int rc;

    /* The answer carried a fresh cursor: a second reset in one sync
     * means the server is not keeping its word. */
    if (r->stats->reset) {
        rc = apply_here(p, err);
        if (rc == FLD_OK)
            rc = commit(p, err);
        if (rc != FLD_OK)
            return rc;
        return fld_err_set(err, FLD_EPROTO,
                           "the server at %s reset the cursor it had just "
                           "issued",
                           r->url);
    }
    r->stats->reset = true;
    return requeue(p, syn_client_queue_load, err);
}

/* Forget the cursor and what the server was known to hold (--full). */
static int forget_all(struct fld_store *st, struct fld_err *err)
{
    int rc;

    if ((rc = fld_store_begin(st, err)) != FLD_OK)
        return rc;
    rc = fld_store_sync_forget(st, err);
    if (rc == FLD_OK)
        rc = fld_store_meta_set(st, SYN_META_CURSOR, "", err);
    if (rc != FLD_OK) {
        fld_store_rollback(st);
        return rc;
    }
    return fld_store_commit(st, err);
}

static void progress(struct pipe *p)
{
    struct run *r = p->r;

    r->stats->pending = (int64_t)(p->q.n - p->acked_q_end) + p->q.beyond;
    r->stats->elapsed_ms = fld_now_ms() - r->stats->started_ms;
    if (r->cfg.progress)
        r->cfg.progress(r->cfg.progress_ctx, r->stats);
}

/*
 * The loop of round trips (see the file comment for the flow). It ends
 * when no batch is left to send and the server says no page is left;
 * whatever way it ends, every answer that was checked is applied and
 * committed, as it would have been one by one.
 */
static int sync_loop(struct run *r, bool full, struct fld_err *err)
{
    struct pipe p;
    int rc, rc2;

    memset(&p, 0, sizeof p);
    p.r = r;
    p.k.st = r->cfg.st;
    p.lim.versions = r->cfg.batch_versions;
    p.lim.bytes = r->cfg.batch_bytes;
    rc = full ? forget_all(r->cfg.st, err) : FLD_OK;
    if (rc != FLD_OK)
        return rc;
    if ((rc = syn_client_meta_text(r->cfg.st, SYN_META_CURSOR, &p.cursor,
                                   err)) != FLD_OK)
        goto done;
    rc = syn_client_meta_int(r->cfg.st, FLD_META_OFFSET, &r->offset_ms, err);
    if (rc != FLD_OK)
        goto done;
    if ((rc = syn_client_queue_load(r, &p.q, err)) != FLD_OK)
        goto done;
    if (r->cfg.progress) /* what there is to push */
        r->cfg.progress(r->cfg.progress_ctx, r->stats);
    if ((rc = syn_client_batch_take(&p.lim, &p.q, &p.k, &p.cur, err)) != FLD_OK)
        goto done;
    for (;;) {
        bool more;

        if ((rc = round_trip(&p, err)) != FLD_OK)
            break;
        more = p.done.resp->more;
        rc = p.done.resp->reset ? after_reset(&p, err) : FLD_OK;
        if (rc == FLD_OK && p.cur.n == 0 && p.q.beyond > 0)
            rc = requeue(&p, syn_client_queue_next_window, err);
        if (rc != FLD_OK)
            break;
        if (p.cur.n == 0 && !more) { /* nothing to send, nothing to pull */
            if ((rc = apply_here(&p, err)) == FLD_OK)
                rc = commit(&p, err);
            progress(&p);
            break;
        }
        progress(&p);
        if (syn_client_stopped(r)) {
            rc = fld_err_set(err, FLD_ENET, "interrupted");
            break;
        }
    }
done:
    /* What was checked is proven: keep it, as a sync one answer at a
     * time would have. */
    rc2 = apply_here(&p, rc == FLD_OK ? err : NULL);
    if (rc2 == FLD_OK)
        rc2 = commit(&p, rc == FLD_OK ? err : NULL);
    else
        syn_keeper_rollback(&p.k);
    if (rc == FLD_OK)
        rc = rc2;
    r->stats->pending = (int64_t)(p.q.n - p.acked_q_end) + p.q.beyond;
    syn_client_answer_free(&p.done);
    drop_ahead(&p);
    syn_client_batch_free(&p.cur);
    syn_client_batch_free(&p.next);
    free(p.cursor);
    syn_client_queue_free(&p.q);
    return rc;
}

/* The server this device is enrolled with, for the caller to free. */
static int server_url(struct fld_store *st, char **url, struct fld_err *err)
{
    int rc = fld_store_meta_get(st, SYN_META_URL, url, err);

    if (rc == FLD_NOTFOUND || (rc == FLD_OK && (*url)[0] == '\0')) {
        free(*url);
        *url = NULL;
        return fld_err_set(err, FLD_NOTFOUND,
                           "this device is not enrolled with a server; run "
                           "'field enroll URL CODE' first");
    }
    return rc;
}

/* A signed GET through syn_client_exchange(), for catalog.c. */
static int get_signed(void *ctx, const char *path,
                      struct syn_http_response *resp, struct fld_err *err)
{
    return syn_client_exchange(ctx, "GET", path, NULL, resp, err);
}

int syn_sync(const struct syn_client *c, bool full, struct syn_stats *stats,
             struct fld_err *err)
{
    struct run r;
    char *url = NULL;
    int rc;

    syn_client_run_init(&r, c, stats);
    if ((rc = server_url(c->st, &url, err)) != FLD_OK)
        return rc;
    r.url = url;
    rc = sync_loop(&r, full, err);
    if (rc == FLD_OK) /* the province's threshold revisions, when new */
        rc = syn_catalog_thresholds(c->st, r.thresholds, full || stats->reset,
                                    get_signed, &r, &stats->thresholds, err);
    stats->elapsed_ms = fld_now_ms() - stats->started_ms;
    if (c->home != NULL)
        syn_status_note(c->home, c->st, fld_now_ms(), rc,
                        err != NULL ? err->msg : NULL);
    free(url);
    return rc;
}

/* ---- GET /v1/report ------------------------------------------------------ */

/* Append "?name=value" or "&name=value" to the path in b, the value in
 * the one form the server checks signatures over (server-stub/query.h):
 * RFC 3986's unreserved bytes as they are, every other as %XX in capital
 * hex. value NULL: nothing. */
static void query_add(struct fld_buf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p;

    if (value == NULL)
        return;
    fld_buf_printf(b, "%c%s=", strchr(fld_buf_str(b), '?') ? '&' : '?', name);
    for (p = (const unsigned char *)value; *p != '\0'; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
            *p == '~') {
            fld_buf_putc(b, *p);
        } else {
            fld_buf_putc(b, '%');
            fld_buf_putc(b, hex[*p >> 4]);
            fld_buf_putc(b, hex[*p & 15]);
        }
    }
}

/* The media type a report of format comes as (the start of it). */
static const char *report_type(const char *format)
{
    if (format != NULL && strcmp(format, "csv") == 0)
        return "text/csv";
    if (format != NULL && strcmp(format, "xlsx") == 0)
        return "application/vnd.openxmlformats-officedocument.spreadsheetml."
               "sheet";
    return SYN_CONTENT_TYPE;
}

void syn_report_path(const struct syn_report_query *q, struct fld_buf *out)
{
    fld_buf_puts(out, "/v1/report");
    query_add(out, "unit", q->unit);
    query_add(out, "as_of", q->as_of);
    query_add(out, "format", q->format);
    query_add(out, "lang", q->lang);
}

int syn_report(const struct syn_client *c, const struct syn_report_query *q,
               struct fld_buf *out, struct fld_err *err)
{
    struct run r;
    struct syn_stats stats;
    struct syn_http_response resp;
    struct fld_buf path = FLD_BUF_INIT;
    struct outgoing o;
    const char *want = report_type(q->format);
    char *url = NULL;
    int rc;

    syn_client_run_init(&r, c, &stats);
    memset(&resp, 0, sizeof resp);
    if ((rc = server_url(c->st, &url, err)) != FLD_OK)
        return rc;
    r.url = url;
    rc = syn_client_meta_int(c->st, FLD_META_OFFSET, &r.offset_ms, err);
    if (rc != FLD_OK)
        goto out;
    syn_report_path(q, &path);
    memset(&o, 0, sizeof o);
    o.method = "GET";
    o.path = fld_buf_str(&path);
    o.is_any_type = true;
    rc = syn_client_exchange_ready(&r, &o, &resp, err);
    if (rc == FLD_EINVAL && strcmp(r.code, "unknown_unit") == 0)
        rc = FLD_NOTFOUND; /* the server's message names the unit */
    if (rc != FLD_OK)
        goto out;
    /* Any 200 passed (a CSV is not JSON): it must be what was asked for,
     * not a captive portal's page. */
    if (strncasecmp(resp.content_type, want, strlen(want)) != 0) {
        rc = fld_err_set(
            err, FLD_EPROTO,
            "the server at %s answered with %.60s, not a report "
            "— a captive portal or proxy? (sign in to the "
            "network, or check the URL)",
            url, resp.content_type[0] ? resp.content_type : "no content type");
        goto out;
    }
    fld_buf_append(out, resp.body.data, resp.body.len);
out:
    syn_http_response_reset(&resp);
    fld_buf_free(&path);
    free(url);
    return rc;
}
