/*
 * client.c - enrollment and sync, the device side (see client.h for the
 * contract and docs/SYNC.md for the guarantees, in words for people).
 *
 * The flow of one sync:
 *
 *   1. The queue: every pending version (the store's sync_known and
 *      sync_refused tables say which), ordered so that parents go before
 *      children and each author's versions go in dseq order, arrival
 *      order breaking ties (client_queue.c: Kahn's algorithm with a heap).
 *   2. A loop of round trips (round_trip()): a batch from the queue,
 *      capped by count and by bytes, plus the pull cursor. An empty batch
 *      is fine: a sync with nothing to push is one request that pulls.
 *   3. Each answer is checked before anything is written (one result per
 *      pushed version, hash by hash; every pulled version verified by
 *      fld_version_open()), then applied in one transaction (apply()):
 *      results, pulled versions, the hybrid logical clock, the cursor.
 *   4. The loop ends when the queue is empty and the server says no more
 *      pages wait.
 *
 * Why this is safe to kill at any moment: nothing is recorded before the
 * answer that proves it is applied, and everything one answer proves is
 * recorded together. If the answer is lost, the same versions are pushed
 * again (the server answers "duplicate") and the same page is pulled
 * again (the versions are already stored). Only the cost of a retry is
 * ever lost, never a version, and nothing is stored twice anywhere: both
 * sides key versions by their hash.
 *
 * Retries (retry_wait()) back off exponentially with full jitter, so a
 * crowd of tablets coming back online at once does not hammer the server
 * in lockstep. Only failures that may pass are retried: no answer, a 5xx,
 * a 429, a 408, an answer that is not ours with a 5xx status (a proxy
 * whose upstream is down). Refusals (4xx) are final, except clock skew,
 * which is corrected once, and a replay refusal, which a new signature
 * answers.
 *
 * This file makes the requests and runs the sync; the queue of step 1 is
 * client_queue.c, enrollment is client_enroll.c, and what they share is
 * client_int.h.
 */
#include "client_int.h"

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

/* A correction of the clock offset smaller than this is noise. */
#define CLOCK_SLACK_MS 2000
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
    if (r->cfg.max_attempts <= 0)
        r->cfg.max_attempts = SYN_ATTEMPTS;
    if (r->cfg.backoff_ms <= 0)
        r->cfg.backoff_ms = SYN_BACKOFF_MS;
    if (r->cfg.backoff_max_ms <= 0)
        r->cfg.backoff_max_ms = SYN_BACKOFF_MAX_MS;
    r->stats = stats;
    memset(stats, 0, sizeof *stats);
    stats->started_ms = fld_now_ms();
}

static bool stopped(const struct run *r)
{
    return r->cfg.stop != NULL && *r->cfg.stop != 0;
}

/* Sleep ms in short slices, so that a stop request is noticed quickly. */
static void wait_ms(struct run *r, int64_t ms)
{
    if (r->cfg.sleep_ms != NULL) {
        r->cfg.sleep_ms(r->cfg.sleep_ctx, ms);
        return;
    }
    while (ms > 0 && !stopped(r)) {
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
static void retry_wait(struct run *r, int attempt, int64_t retry_after_s)
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

static int save_offset(struct run *r, int64_t offset, struct fld_err *err)
{
    int rc;

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

/* A request as it goes out on every attempt. */
struct outgoing {
    const char *method, *path;
    const uint8_t *body; /* gzipped when that made it smaller */
    size_t len;
    bool is_gzipped;
};

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
    struct syn_header h[5];
    struct syn_http_request req;
    char sig[2 * FLD_SIG_LEN + 1], time_text[24];
    int64_t t0 = fld_now_ms(), t = t0 + r->offset_ms;
    size_t nh = 0;
    int rc;

    /* Two requests never share a time, hence never a signature. */
    if (t <= r->last_time)
        t = r->last_time + 1;
    r->last_time = t;
    syn_request_sign(r->cfg.key, o->method, o->path, t, o->body, o->len, &a);
    syn_auth_sig_hex(&a, sig);
    snprintf(time_text, sizeof time_text, "%" PRId64, t);
    h[nh++] = (struct syn_header){SYN_HDR_DEVICE, a.device};
    h[nh++] = (struct syn_header){SYN_HDR_TIME, time_text};
    h[nh++] = (struct syn_header){SYN_HDR_SIGNATURE, sig};
    if (strcmp(o->method, "POST") == 0)
        h[nh++] = (struct syn_header){"Content-Type", SYN_CONTENT_TYPE};
    if (o->is_gzipped)
        h[nh++] = (struct syn_header){"Content-Encoding", "gzip"};
    req = (struct syn_http_request){r->url, o->method, o->path, h,
                                    nh,     o->body,   o->len};

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
                          const struct syn_http_response *resp, int *rc,
                          struct fld_err *err)
{
    at->is_last_not_ours = false;
    at->retry_after_s = -1;
    if (*rc == FLD_ENET) {
        /* The request may have arrived and been acted on. */
        r->maybe_delivered = true;
        if (stopped(r))
            return O_DONE;
        snprintf(at->why, sizeof at->why, "%s", err ? err->msg : "no answer");
        return O_RETRY;
    }
    if (*rc != FLD_OK) {
        /* Too large, broken gzip, an unverifiable TLS peer: final. */
        fld_err_prefix(err, "the server at %s", r->url);
        return O_DONE;
    }
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

/* The contract is in client_int.h. The body is gzipped once, for every
 * attempt; each attempt is signed anew, so a retry is never a replay. */
int syn_client_exchange(struct run *r, const char *method, const char *path,
                        const struct fld_buf *plain,
                        struct syn_http_response *resp, struct fld_err *err)
{
    struct fld_buf gz = FLD_BUF_INIT;
    struct outgoing o = {method, path, plain ? plain->data : NULL,
                         plain ? plain->len : 0, false};
    struct attempts at = {0, false, false, false, -1, ""};
    int rc = FLD_OK;

    r->code[0] = '\0';
    if (o.len >= SYN_GZIP_MIN) {
        syn_gzip(o.body, o.len, &gz);
        if (gz.len < o.len) {
            o.body = gz.data;
            o.len = gz.len;
            o.is_gzipped = true;
        }
    }
    for (;;) {
        enum outcome what;

        if (stopped(r)) {
            rc = fld_err_set(err, FLD_ENET, "interrupted");
            break;
        }
        if (at.n > 0)
            r->stats->retries++;
        at.n++;
        rc = send_once(r, &o, resp, err);
        what = judge(r, &at, resp, &rc, err);
        if (what == O_DONE)
            break;
        if (what == O_AGAIN)
            continue;
        if (at.n >= r->cfg.max_attempts) {
            if (at.is_last_not_ours)
                rc = fld_err_set(err, FLD_EPROTO, "%s", at.why);
            else
                rc = fld_err_set(err, FLD_ENET,
                                 "cannot reach the server at %s: %s (%d tries)",
                                 r->url, at.why, at.n);
            break;
        }
        retry_wait(r, at.n, at.retry_after_s);
    }
    if (rc == FLD_ENET && stopped(r))
        rc = fld_err_set(err, FLD_ENET, "interrupted");
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

/* Record how a sync ended, for `field sync status`. Best effort: the sync's
 * own outcome matters more than this note about it. */
static void note_outcome(struct fld_store *st, int rc,
                         const struct fld_err *err)
{
    int64_t now = fld_now_ms();

    if (fld_store_begin(st, NULL) != FLD_OK)
        return;
    if (fld_store_meta_set_int(st, SYN_META_LAST_TRY, now, NULL) != FLD_OK ||
        (rc == FLD_OK &&
         fld_store_meta_set_int(st, SYN_META_LAST_OK, now, NULL) != FLD_OK) ||
        fld_store_meta_set(
            st, SYN_META_LAST_ERROR,
            rc == FLD_OK ? ""
                         : (err && err->msg[0] ? err->msg : fld_strerror(rc)),
            NULL) != FLD_OK) {
        fld_store_rollback(st);
        return;
    }
    fld_store_commit(st, NULL);
}

/* ---- one round trip of sync ------------------------------------------- */

/* What one round trip sends, and the verified versions it brought. */
struct trip {
    struct syn_sync_request req;
    size_t *pushed; /* queue indices of req.push[i] */
    struct syn_sync_response *resp;
    struct fld_version **pulled; /* verified, one per resp->pull[i] */
};

static void trip_free(struct trip *t)
{
    size_t i;

    for (i = 0; i < t->req.n_push; i++)
        free(t->req.push[i].body);
    free(t->req.push);
    free(t->pushed);
    if (t->resp != NULL && t->pulled != NULL)
        for (i = 0; i < t->resp->n_pull; i++)
            fld_version_free(t->pulled[i]);
    free(t->pulled);
    syn_sync_response_free(t->resp);
    memset(t, 0, sizeof *t);
}

/* A stored version that no longer matches its hash cannot be pushed;
 * it goes on the dead-letter list at once, so it never blocks the rest
 * (`field verify` tells the whole story). */
static int refuse_locally(struct run *r, const char *hash, const char *why,
                          struct fld_err *err)
{
    int rc;

    if ((rc = fld_store_begin(r->cfg.st, err)) != FLD_OK)
        return rc;
    rc = fld_store_sync_refuse(r->cfg.st, hash, "local_corrupt", why, err);
    if (rc == FLD_OK)
        return fld_store_commit(r->cfg.st, err);
    fld_store_rollback(r->cfg.st);
    return rc;
}

/* Fill t->req with the next batch of the queue: at most batch_versions
 * versions and batch_bytes of bodies (but always at least one). */
static int take_batch(struct run *r, struct queue *q, struct trip *t,
                      struct fld_err *err)
{
    size_t bytes = 0, cap = r->cfg.batch_versions;
    int rc;

    t->req.push = fld_xcalloc(cap, sizeof *t->req.push);
    t->pushed = fld_xcalloc(cap, sizeof *t->pushed);
    while (q->next < q->n && t->req.n_push < cap) {
        size_t i = q->order[q->next];
        struct syn_item *it = &t->req.push[t->req.n_push];
        uint8_t *body;
        size_t len;
        struct fld_err e;

        if (t->req.n_push > 0 && bytes + q->v[i].len > r->cfg.batch_bytes)
            break;
        rc = fld_store_version_raw(r->cfg.st, q->v[i].hash, &body, &len,
                                   it->sig, &e);
        q->next++;
        if (rc == FLD_ECORRUPT || rc == FLD_NOTFOUND) {
            if ((rc = refuse_locally(r, q->v[i].hash, e.msg, err)) != FLD_OK)
                return rc;
            continue;
        }
        if (rc != FLD_OK) {
            if (err)
                *err = e;
            return rc;
        }
        it->body = body;
        it->body_len = len;
        bytes += len;
        t->pushed[t->req.n_push++] = i;
    }
    return FLD_OK;
}

/* Check the answer against what was sent, and verify every pulled version,
 * before a single byte of it is written. */
static int check_answer(struct run *r, struct trip *t, struct fld_err *err)
{
    const struct syn_sync_response *a = t->resp;
    size_t i;

    if (a->n_results != t->req.n_push)
        return fld_err_set(
            err, FLD_EPROTO,
            "the server at %s answered %zu results for %zu versions "
            "pushed",
            r->url, a->n_results, t->req.n_push);
    for (i = 0; i < a->n_results; i++) {
        char hash[FLD_HASH_HEX_LEN + 1];

        fld_version_hash(t->req.push[i].body, t->req.push[i].body_len, hash);
        if (strcmp(hash, a->results[i].hash) != 0)
            return fld_err_set(
                err, FLD_EPROTO,
                "the server at %s answered for version %.16s where "
                "%.16s was pushed",
                r->url, a->results[i].hash, hash);
    }
    if (a->cursor == NULL || a->cursor[0] == '\0' ||
        strlen(a->cursor) > SYN_MAX_CURSOR)
        return fld_err_set(err, FLD_EPROTO,
                           "the server at %s sent no usable cursor", r->url);
    /* "more" with an empty page would have us loop for ever. */
    if (a->more && a->n_pull == 0)
        return fld_err_set(
            err, FLD_EPROTO,
            "the server at %s says more versions wait but sent none", r->url);
    t->pulled = fld_xcalloc(a->n_pull ? a->n_pull : 1, sizeof *t->pulled);
    for (i = 0; i < a->n_pull; i++) {
        struct fld_err e;
        int rc = fld_version_open(a->pull[i].body, a->pull[i].body_len,
                                  a->pull[i].sig, &t->pulled[i], &e);

        if (rc != FLD_OK)
            return fld_err_set(
                err, rc == FLD_EBADSIG ? FLD_EBADSIG : FLD_EPROTO,
                "the server at %s sent a version (seq %" PRId64
                ") that does not verify: %s; nothing of that page "
                "was kept",
                r->url, a->pull[i].seq, e.msg);
    }
    return FLD_OK;
}

/* The server's result for every version pushed: known to the server, or
 * refused onto the dead-letter list. Part of apply()'s transaction. */
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

/* Store the pulled versions (verified by check_answer()) and let them
 * advance the hybrid logical clock, never past the server's time plus
 * FLD_HLC_MAX_AHEAD_MS. Part of apply()'s transaction. */
static int store_pulled(struct run *r, const struct trip *t,
                        struct fld_err *err)
{
    const struct syn_sync_response *a = t->resp;
    struct fld_store *st = r->cfg.st;
    struct fld_hlc clock, before;
    int64_t bound = a->server_time + FLD_HLC_MAX_AHEAD_MS;
    size_t i;
    int rc;

    rc = syn_client_meta_int(st, FLD_META_HLC_MS, &clock.ms, err);
    if (rc != FLD_OK)
        return rc;
    rc = syn_client_meta_int(st, FLD_META_HLC_COUNT, &clock.count, err);
    if (rc != FLD_OK)
        return rc;
    before = clock;
    for (i = 0; i < a->n_pull; i++) {
        const struct fld_version *v = t->pulled[i];

        rc = fld_store_put_version(st, v, err);
        if (rc == FLD_OK)
            r->stats->pulled_new++;
        else if (rc != FLD_EXISTS)
            return rc;
        if ((rc = fld_store_sync_known(st, v->hash, "pulled", err)) != FLD_OK)
            return rc;
        /* A tablet whose clock says 2030 must not drag us there. */
        if (a->server_time > 0)
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
 * Every answer carries the server's time: keep our clock near it. *offset
 * is the offset to use from now on, written to the store when it differs
 * from ours by more than a round trip's noise. Part of apply()'s
 * transaction; r->offset_ms changes only once that commits.
 */
static int correct_offset(struct run *r, const struct syn_sync_response *a,
                          int64_t *offset, struct fld_err *err)
{
    int64_t slack = r->rtt_ms > CLOCK_SLACK_MS ? r->rtt_ms : CLOCK_SLACK_MS;

    *offset = a->server_time > 0 ? syn_client_offset_from(r, a->server_time)
                                 : r->offset_ms;
    if (llabs(*offset - r->offset_ms) <= slack) {
        *offset = r->offset_ms;
        return FLD_OK;
    }
    return fld_store_meta_set_int(r->cfg.st, FLD_META_OFFSET, *offset, err);
}

/* Count what a committed answer did, for struct syn_stats. */
static void count_results(struct run *r, const struct syn_sync_response *a)
{
    size_t i;

    for (i = 0; i < a->n_results; i++) {
        switch (a->results[i].status) {
        case SYN_STORED:
            r->stats->stored++;
            break;
        case SYN_DUPLICATE:
            r->stats->duplicates++;
            break;
        case SYN_QUARANTINED:
            r->stats->quarantined++;
            break;
        default:
            r->stats->refused++;
            break;
        }
    }
    r->stats->pushed += (int64_t)a->n_results;
    r->stats->pulled += (int64_t)a->n_pull;
}

/*
 * Apply a checked answer: everything it proves, in one transaction. On a
 * cursor reset the device first forgets what the server was known to
 * hold: the server may be a restored backup missing some of it, so
 * everything is pushed again (the answers say "duplicate" for what it
 * has) and pulled from the beginning (the answer's page is the first).
 */
static int apply(struct run *r, struct trip *t, struct fld_err *err)
{
    const struct syn_sync_response *a = t->resp;
    struct fld_store *st = r->cfg.st;
    int64_t offset;
    int rc;

    if ((rc = fld_store_begin(st, err)) != FLD_OK)
        return rc;
    if (a->reset) {
        rc = fld_store_sync_forget(st, err);
        if (rc != FLD_OK)
            goto fail;
    }
    if ((rc = record_results(st, a, err)) != FLD_OK)
        goto fail;
    if ((rc = store_pulled(r, t, err)) != FLD_OK)
        goto fail;
    if ((rc = fld_store_meta_set(st, SYN_META_CURSOR, a->cursor, err)) !=
        FLD_OK)
        goto fail;
    if ((rc = correct_offset(r, a, &offset, err)) != FLD_OK)
        goto fail;
    if ((rc = fld_store_commit(st, err)) != FLD_OK)
        return rc;
    if (offset != r->offset_ms) {
        r->offset_ms = offset;
        r->stats->clock_corrections++;
    }
    count_results(r, a);
    return FLD_OK;
fail:
    fld_store_rollback(st);
    return rc;
}

/* Push the next batch (possibly empty) and pull one page. */
static int round_trip(struct run *r, struct queue *q, char **cursor, bool *more,
                      bool *reset, struct fld_err *err)
{
    struct trip t;
    struct fld_buf body = FLD_BUF_INIT;
    struct syn_http_response resp;
    int rc;

    memset(&t, 0, sizeof t);
    memset(&resp, 0, sizeof resp);
    if ((rc = take_batch(r, q, &t, err)) != FLD_OK)
        goto done;
    t.req.cursor = (*cursor)[0] ? *cursor : NULL;
    t.req.limit = r->cfg.page_limit;
    syn_sync_request_encode(&t.req, &body);
    t.req.cursor = NULL; /* borrowed */
    if ((rc = syn_client_exchange(r, "POST", SYNC_PATH, &body, &resp, err)) !=
        FLD_OK)
        goto done;
    if ((rc = syn_sync_response_decode(resp.body.data, resp.body.len, &t.resp,
                                       err)) != FLD_OK) {
        rc = syn_client_malformed(r, err);
        goto done;
    }
    if ((rc = check_answer(r, &t, err)) != FLD_OK)
        goto done;
    if ((rc = apply(r, &t, err)) != FLD_OK)
        goto done;
    free(*cursor);
    *cursor = fld_xstrdup(t.resp->cursor);
    *more = t.resp->more;
    *reset = t.resp->reset;
    r->thresholds = t.resp->thresholds;
done:
    syn_http_response_reset(&resp);
    fld_buf_free(&body);
    trip_free(&t);
    return rc;
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

static int sync_loop(struct run *r, bool full, struct fld_err *err)
{
    struct queue q;
    char *cursor = NULL;
    bool more = false, reset = false;
    int rc;

    memset(&q, 0, sizeof q);
    if (full) {
        rc = forget_all(r->cfg.st, err);
        if (rc != FLD_OK)
            return rc;
    }
    if ((rc = syn_client_meta_text(r->cfg.st, SYN_META_CURSOR, &cursor, err)) !=
        FLD_OK)
        goto done;
    rc = syn_client_meta_int(r->cfg.st, FLD_META_OFFSET, &r->offset_ms, err);
    if (rc != FLD_OK)
        goto done;
    if ((rc = syn_client_queue_load(r, &q, err)) != FLD_OK)
        goto done;
    if (r->cfg.progress) /* what there is to push */
        r->cfg.progress(r->cfg.progress_ctx, r->stats);
    for (;;) {
        size_t at = q.next;

        rc = round_trip(r, &q, &cursor, &more, &reset, err);
        if (rc != FLD_OK) {
            q.next = at;
            break;
        }
        if (reset) {
            /* The answer carried a fresh cursor: a second reset in one
             * sync means the server is not keeping its word. */
            if (r->stats->reset) {
                rc =
                    fld_err_set(err, FLD_EPROTO,
                                "the server at %s reset the cursor it had just "
                                "issued",
                                r->url);
                break;
            }
            r->stats->reset = true;
            if ((rc = syn_client_queue_load(r, &q, err)) != FLD_OK)
                break;
        }
        r->stats->pending = (int64_t)(q.n - q.next);
        r->stats->elapsed_ms = fld_now_ms() - r->stats->started_ms;
        if (r->cfg.progress)
            r->cfg.progress(r->cfg.progress_ctx, r->stats);
        if (q.next >= q.n && !more)
            break;
        if (stopped(r)) {
            rc = fld_err_set(err, FLD_ENET, "interrupted");
            break;
        }
    }
done:
    free(cursor);
    syn_client_queue_free(&q);
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
    rc = fld_store_meta_get(c->st, SYN_META_URL, &url, err);
    if (rc == FLD_NOTFOUND || (rc == FLD_OK && url[0] == '\0')) {
        free(url);
        return fld_err_set(err, FLD_NOTFOUND,
                           "this device is not enrolled with a server; run "
                           "'field enroll URL CODE' first");
    }
    if (rc != FLD_OK)
        return rc;
    r.url = url;
    rc = sync_loop(&r, full, err);
    if (rc == FLD_OK) /* the province's threshold revisions, when new */
        rc = syn_catalog_thresholds(c->st, r.thresholds, full || stats->reset,
                                    get_signed, &r, &stats->thresholds, err);
    stats->elapsed_ms = fld_now_ms() - stats->started_ms;
    note_outcome(c->st, rc, err);
    free(url);
    return rc;
}
