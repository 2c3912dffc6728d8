/*
 * client.c - enrollment and sync, the device side (see client.h for the
 * contract and docs/SYNC.md for the guarantees, in words for people).
 *
 * The flow of one sync:
 *
 *   1. The queue: every pending version (the store's sync_known and
 *      sync_refused tables say which), ordered so that parents go before
 *      children and each author's versions go in dseq order, arrival
 *      order breaking ties (queue_order(): Kahn's algorithm with a heap).
 *   2. A loop of round trips (exchange()): a batch from the queue, capped
 *      by count and by bytes, plus the pull cursor. An empty batch is
 *      fine: a sync with nothing to push is one request that pulls.
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
 */
#include "client.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "capture.h"
#include "catalog.h"
#include "gzip.h"
#include "hlc.h"
#include "protocol.h"
#include "version.h"

#define SYNC_PATH "/v1/sync"
#define ENROLL_PATH "/v1/enroll"
#define MAX_URL 1024
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

void syn_enrollment_free(struct syn_enrollment *e)
{
    if (e == NULL)
        return;
    free(e->url);
    free(e->role);
    free(e->scope);
    free(e->inspector);
    memset(e, 0, sizeof *e);
}

/* ---- URLs -----------------------------------------------------------------
 */

int syn_url_normalise(const char *url, char **out, struct fld_err *err)
{
    size_t n = strlen(url), start, i;

    *out = NULL;
    if (strncasecmp(url, "https://", 8) == 0)
        start = 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        start = 7;
    else
        return fld_err_set(
            err, FLD_EUSAGE,
            "the server URL must start with https:// (or http://): "
            "'%.200s'",
            url);
    if (n > MAX_URL)
        return fld_err_set(err, FLD_EUSAGE, "the server URL is too long");
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)url[i];

        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '\\' ||
            ch == '@')
            return fld_err_set(err, FLD_EUSAGE,
                               "the server URL may not contain '%c' or spaces "
                               "(give scheme, host, port and path only)",
                               ch > 0x20 && ch < 0x7f ? (int)ch : '?');
    }
    if (url[start] == '\0' || url[start] == '/' || url[start] == ':')
        return fld_err_set(err, FLD_EUSAGE,
                           "the server URL has no host: '%.200s'", url);
    while (n > start && url[n - 1] == '/')
        n--;
    *out = fld_xstrndup(url, n);
    return FLD_OK;
}

/* ---- one sync or enrollment in progress ------------------------------------
 */

struct run {
    struct syn_client cfg; /* the caller's, with defaults filled in */
    const char *url;
    struct syn_stats *stats;
    int64_t offset_ms;         /* the device's clock correction */
    int64_t last_time;         /* X-Field-Time of the last request signed */
    int64_t rtt_ms;            /* of the last answer */
    int64_t answered_ms;       /* local wall clock when it arrived */
    bool maybe_delivered;      /* a request may have been acted on unanswered */
    char code[SYN_REASON_MAX]; /* error code of the last refusal */
    int64_t thresholds;        /* newest threshold revision, as answers say */
};

static void run_init(struct run *r, const struct syn_client *c,
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
static int64_t offset_from(const struct run *r, int64_t server_time)
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

/*
 * One request to the server, signed, with retries. Returns FLD_OK when
 * resp holds a 200 answer with a JSON body. A refusal by our server is
 * FLD_EINVAL with its code in r->code and its message in err; an answer
 * that is not ours is FLD_EPROTO; no usable answer after the retries is
 * FLD_ENET (FLD_EPROTO when the last one was not ours).
 */
static int exchange(struct run *r, const char *method, const char *path,
                    const struct fld_buf *plain, struct syn_http_response *resp,
                    struct fld_err *err)
{
    struct fld_buf gz = FLD_BUF_INIT;
    const uint8_t *body = plain ? plain->data : NULL;
    size_t len = plain ? plain->len : 0;
    bool gzipped = false, skew_fixed = false, replay_retried = false;
    bool last_not_ours = false;
    char why[FLD_ERR_MSG_MAX] = "";
    int attempt = 0, rc = FLD_OK;

    r->code[0] = '\0';
    if (len >= SYN_GZIP_MIN) {
        syn_gzip(body, len, &gz);
        if (gz.len < len) {
            body = gz.data;
            len = gz.len;
            gzipped = true;
        }
    }
    for (;;) {
        struct syn_auth a;
        struct syn_header h[5];
        struct syn_http_request req;
        char sig[2 * FLD_SIG_LEN + 1], time_text[24];
        int64_t t0 = fld_now_ms(), t = t0 + r->offset_ms, retry_after = -1;
        size_t nh = 0;

        if (stopped(r)) {
            rc = fld_err_set(err, FLD_ENET, "interrupted");
            break;
        }
        /* Two requests never share a time, hence never a signature. */
        if (t <= r->last_time)
            t = r->last_time + 1;
        r->last_time = t;
        syn_request_sign(r->cfg.key, method, path, t, body, len, &a);
        syn_auth_sig_hex(&a, sig);
        snprintf(time_text, sizeof time_text, "%" PRId64, t);
        h[nh++] = (struct syn_header){SYN_HDR_DEVICE, a.device};
        h[nh++] = (struct syn_header){SYN_HDR_TIME, time_text};
        h[nh++] = (struct syn_header){SYN_HDR_SIGNATURE, sig};
        if (strcmp(method, "POST") == 0)
            h[nh++] = (struct syn_header){"Content-Type", SYN_CONTENT_TYPE};
        if (gzipped)
            h[nh++] = (struct syn_header){"Content-Encoding", "gzip"};
        req = (struct syn_http_request){r->url, method, path, h, nh, body, len};

        syn_http_response_reset(resp);
        r->stats->requests++;
        if (attempt > 0)
            r->stats->retries++;
        attempt++;
        rc = r->cfg.transport->ops->perform(r->cfg.transport, &req, resp, err);
        r->stats->bytes_up += (int64_t)resp->wire_up;
        r->stats->bytes_down += (int64_t)resp->wire_down;
        r->answered_ms = fld_now_ms();
        r->rtt_ms = r->answered_ms - t0;
        last_not_ours = false;

        if (rc == FLD_ENET) {
            /* The request may have arrived and been acted on. */
            r->maybe_delivered = true;
            if (stopped(r))
                break;
            snprintf(why, sizeof why, "%s", err ? err->msg : "no answer");
        } else if (rc != FLD_OK) {
            /* Too large, broken gzip, an unverifiable TLS peer: final. */
            fld_err_prefix(err, "the server at %s", r->url);
            break;
        } else if (!is_json_type(resp->content_type)) {
            if (resp->status >= 500 || resp->status == 429) {
                r->maybe_delivered = true;
                not_ours(r, resp, err);
                snprintf(why, sizeof why, "%s", err ? err->msg : "");
                last_not_ours = true;
            } else {
                rc = not_ours(r, resp, err);
                break;
            }
        } else if (resp->status == 200) {
            rc = FLD_OK;
            break;
        } else {
            char code[SYN_REASON_MAX], msg[256];
            int64_t server_time = -1;

            if (syn_error_decode(resp->body.data, resp->body.len, code, msg,
                                 sizeof msg, &server_time) != FLD_OK) {
                snprintf(code, sizeof code, "?");
                snprintf(msg, sizeof msg,
                         "an answer that is not a field error");
            }
            if (resp->status >= 500 || resp->status == 429 ||
                resp->status == 408) {
                if (resp->status >= 500)
                    r->maybe_delivered = true;
                snprintf(why, sizeof why, "HTTP %d %s: %s", resp->status, code,
                         msg);
                retry_after = resp->retry_after_s;
            } else if (strcmp(code, "clock_skew") == 0 && server_time > 0 &&
                       !skew_fixed) {
                skew_fixed = true;
                if ((rc = save_offset(r, offset_from(r, server_time), err)) !=
                    FLD_OK)
                    break;
                /* Request times only move forward; the refused time came
                 * from the wrong clock and never entered the server's
                 * replay cache, so forget it or the retry repeats it. */
                r->last_time = 0;
                attempt--; /* a corrected clock is not a failed try */
                continue;
            } else if (strcmp(code, "replayed") == 0 && !replay_retried) {
                replay_retried = true; /* a new time makes a new signature */
                continue;
            } else if (strcmp(code, "?") == 0) {
                rc = fld_err_set(
                    err, FLD_EPROTO,
                    "the server at %s answered HTTP %d with JSON that is "
                    "not the sync protocol — a proxy?",
                    r->url, resp->status);
                break;
            } else {
                snprintf(r->code, sizeof r->code, "%s", code);
                rc = fld_err_set(err, FLD_EINVAL,
                                 "the server at %s refused: %s (%s)", r->url,
                                 msg, code);
                break;
            }
        }
        /* Only the failures that may pass get here. */
        if (attempt >= r->cfg.max_attempts) {
            if (last_not_ours)
                rc = fld_err_set(err, FLD_EPROTO, "%s", why);
            else
                rc = fld_err_set(err, FLD_ENET,
                                 "cannot reach the server at %s: %s (%d tries)",
                                 r->url, why, attempt);
            break;
        }
        retry_wait(r, attempt, retry_after);
    }
    if (rc == FLD_ENET && stopped(r))
        rc = fld_err_set(err, FLD_ENET, "interrupted");
    fld_buf_free(&gz);
    return rc;
}

/* A decoder refused the answer (its message is in err): say whose. */
static int malformed(const struct run *r, struct fld_err *err)
{
    char why[FLD_ERR_MSG_MAX];

    snprintf(why, sizeof why, "%s", err ? err->msg : "");
    return fld_err_set(err, FLD_EPROTO,
                       "the server at %s sent a malformed answer: %s", r->url,
                       why);
}

/* ---- the queue of versions to push ------------------------------------------
 */

struct pending {
    char hash[FLD_HASH_HEX_LEN + 1];
    char *author;
    int64_t dseq;
    size_t len;
};

struct queue {
    struct pending *v; /* in arrival order */
    size_t n, cap;
    size_t *order;   /* indices into v: the order to push in */
    size_t next;     /* position in order of the next to push */
    size_t *by_hash; /* indices into v sorted by hash, for look-ups */
    struct edge *edges;
    size_t n_edges, cap_edges;
};

struct edge {
    size_t from, to;
};

static void queue_free(struct queue *q)
{
    size_t i;

    for (i = 0; i < q->n; i++)
        free(q->v[i].author);
    free(q->v);
    free(q->order);
    free(q->by_hash);
    free(q->edges);
    memset(q, 0, sizeof *q);
}

static int on_pending(void *ctx, const struct fld_store_pending *p)
{
    struct queue *q = ctx;
    struct pending *e;

    if (q->n == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 64;
        q->v = fld_xreallocarray(q->v, q->cap, sizeof *q->v);
    }
    e = &q->v[q->n++];
    snprintf(e->hash, sizeof e->hash, "%s", p->hash);
    e->author = fld_xstrdup(p->author);
    e->dseq = p->dseq;
    e->len = p->body_len;
    return FLD_OK;
}

static const struct queue *sort_q; /* qsort has no context argument */

static int cmp_hash(const void *a, const void *b)
{
    return strcmp(sort_q->v[*(const size_t *)a].hash,
                  sort_q->v[*(const size_t *)b].hash);
}

/* By author, then dseq, then arrival. */
static int cmp_chain(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcmp(sort_q->v[i].author, sort_q->v[j].author);

    if (c != 0)
        return c;
    if (sort_q->v[i].dseq != sort_q->v[j].dseq)
        return sort_q->v[i].dseq < sort_q->v[j].dseq ? -1 : 1;
    return i < j ? -1 : i > j;
}

static int cmp_edge(const void *a, const void *b)
{
    const struct edge *x = a, *y = b;

    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return x->to < y->to ? -1 : x->to > y->to;
}

static bool find_hash(const struct queue *q, const char *hash, size_t *out)
{
    size_t lo = 0, hi = q->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(q->v[q->by_hash[mid]].hash, hash);

        if (c == 0) {
            *out = q->by_hash[mid];
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static void add_edge(struct queue *q, size_t from, size_t to)
{
    if (q->n_edges == q->cap_edges) {
        q->cap_edges = q->cap_edges ? 2 * q->cap_edges : 64;
        q->edges = fld_xreallocarray(q->edges, q->cap_edges, sizeof *q->edges);
    }
    q->edges[q->n_edges++] = (struct edge){from, to};
}

static int on_pending_edge(void *ctx, const char *child, const char *parent)
{
    struct queue *q = ctx;
    size_t c, p;

    if (find_hash(q, child, &c) && find_hash(q, parent, &p) && c != p)
        add_edge(q, p, c);
    return FLD_OK;
}

/* A binary min-heap of indices (smaller index = arrived earlier). */
static void heap_push(size_t *h, size_t *n, size_t v)
{
    size_t i = (*n)++;

    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static size_t heap_pop(size_t *h, size_t *n)
{
    size_t top = h[0], v = h[--(*n)], i = 0;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (h[c] >= v)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0)
        h[i] = v;
    return top;
}

/*
 * Order the queue: parents before children (edges from the store's
 * parents table, both ends pending) and each author's versions by dseq,
 * otherwise in arrival order, which already satisfies both for versions
 * captured here. Kahn's algorithm, always taking the earliest-arrived
 * version that is ready. Signed data cannot form a cycle through parents
 * (a hash names what existed before it), but a misbehaving device could
 * sign dseq against its parents; whatever is left in a cycle is pushed
 * last, in arrival order, and the server sorts it out (quarantine).
 */
static int queue_order(struct run *r, struct queue *q, struct fld_err *err)
{
    size_t *chain, *start, *indeg, *heap, n_heap = 0, n_out = 0, i;
    bool *done;
    int rc;

    q->order = fld_xcalloc(q->n ? q->n : 1, sizeof *q->order);
    q->by_hash = fld_xcalloc(q->n ? q->n : 1, sizeof *q->by_hash);
    if (q->n == 0)
        return FLD_OK;
    for (i = 0; i < q->n; i++)
        q->by_hash[i] = i;
    sort_q = q;
    qsort(q->by_hash, q->n, sizeof *q->by_hash, cmp_hash);
    rc = fld_store_sync_pending_edges(r->cfg.st, on_pending_edge, q, err);
    if (rc != FLD_OK)
        return rc;
    chain = fld_xcalloc(q->n, sizeof *chain);
    for (i = 0; i < q->n; i++)
        chain[i] = i;
    qsort(chain, q->n, sizeof *chain, cmp_chain);
    for (i = 1; i < q->n; i++)
        if (strcmp(q->v[chain[i - 1]].author, q->v[chain[i]].author) == 0)
            add_edge(q, chain[i - 1], chain[i]);
    free(chain);
    if (q->n_edges > 1)
        qsort(q->edges, q->n_edges, sizeof *q->edges, cmp_edge);

    start = fld_xcalloc(q->n + 1, sizeof *start);
    indeg = fld_xcalloc(q->n, sizeof *indeg);
    heap = fld_xcalloc(q->n, sizeof *heap);
    done = fld_xcalloc(q->n, sizeof *done);
    for (i = 0; i < q->n_edges; i++) {
        start[q->edges[i].from + 1]++;
        indeg[q->edges[i].to]++;
    }
    for (i = 0; i < q->n; i++)
        start[i + 1] += start[i];
    for (i = 0; i < q->n; i++)
        if (indeg[i] == 0)
            heap_push(heap, &n_heap, i);
    while (n_heap > 0) {
        size_t v = heap_pop(heap, &n_heap), e;

        q->order[n_out++] = v;
        done[v] = true;
        for (e = start[v]; e < start[v + 1]; e++)
            if (--indeg[q->edges[e].to] == 0)
                heap_push(heap, &n_heap, q->edges[e].to);
    }
    for (i = 0; i < q->n && n_out < q->n; i++)
        if (!done[i])
            q->order[n_out++] = i;
    sort_q = NULL;
    free(start);
    free(indeg);
    free(heap);
    free(done);
    return FLD_OK;
}

static int queue_load(struct run *r, struct queue *q, struct fld_err *err)
{
    int rc;

    queue_free(q);
    rc = fld_store_sync_each_pending(r->cfg.st, on_pending, q, err);
    if (rc == FLD_OK)
        rc = queue_order(r, q, err);
    r->stats->to_push = (int64_t)q->n;
    r->stats->pending = (int64_t)q->n;
    return rc;
}

/* ---- store helpers
 * ----------------------------------------------------------- */

/* A meta setting, or "" when unset (new string, free()). */
static int meta_text(struct fld_store *st, const char *key, char **out,
                     struct fld_err *err)
{
    int rc = fld_store_meta_get(st, key, out, err);

    if (rc == FLD_NOTFOUND) {
        *out = fld_xstrdup("");
        return FLD_OK;
    }
    return rc;
}

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

/* ---- one round trip of sync
 * --------------------------------------------------- */

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
    struct fld_hlc clock, before;
    int64_t bound = a->server_time + FLD_HLC_MAX_AHEAD_MS, offset;
    size_t i;
    int rc;

    if ((rc = fld_store_begin(st, err)) != FLD_OK)
        return rc;
    if (a->reset) {
        rc = fld_store_sync_forget(st, err);
        if (rc != FLD_OK)
            goto fail;
    }
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
            goto fail;
    }
    if ((rc = meta_int(st, FLD_META_HLC_MS, &clock.ms, err)) != FLD_OK)
        goto fail;
    if ((rc = meta_int(st, FLD_META_HLC_COUNT, &clock.count, err)) != FLD_OK)
        goto fail;
    before = clock;
    for (i = 0; i < a->n_pull; i++) {
        const struct fld_version *v = t->pulled[i];

        rc = fld_store_put_version(st, v, err);
        if (rc == FLD_OK)
            r->stats->pulled_new++;
        else if (rc != FLD_EXISTS)
            goto fail;
        if ((rc = fld_store_sync_known(st, v->hash, "pulled", err)) != FLD_OK)
            goto fail;
        /* A tablet whose clock says 2030 must not drag us there. */
        if (a->server_time > 0)
            fld_hlc_observe(&clock, &v->hlc, bound);
    }
    if (fld_hlc_cmp(&clock, &before) != 0) {
        rc = fld_store_meta_set_int(st, FLD_META_HLC_MS, clock.ms, err);
        if (rc != FLD_OK)
            goto fail;
        rc = fld_store_meta_set_int(st, FLD_META_HLC_COUNT, clock.count, err);
        if (rc != FLD_OK)
            goto fail;
    }
    if ((rc = fld_store_meta_set(st, SYN_META_CURSOR, a->cursor, err)) !=
        FLD_OK)
        goto fail;
    /* Every answer carries the server's time: keep our clock near it. */
    offset = a->server_time > 0 ? offset_from(r, a->server_time) : r->offset_ms;
    if (llabs(offset - r->offset_ms) >
        (r->rtt_ms > CLOCK_SLACK_MS ? r->rtt_ms : CLOCK_SLACK_MS)) {
        if ((rc = fld_store_meta_set_int(st, FLD_META_OFFSET, offset, err)) !=
            FLD_OK)
            goto fail;
    } else {
        offset = r->offset_ms;
    }
    if ((rc = fld_store_commit(st, err)) != FLD_OK)
        return rc;
    if (offset != r->offset_ms) {
        r->offset_ms = offset;
        r->stats->clock_corrections++;
    }
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
    if ((rc = exchange(r, "POST", SYNC_PATH, &body, &resp, err)) != FLD_OK)
        goto done;
    if ((rc = syn_sync_response_decode(resp.body.data, resp.body.len, &t.resp,
                                       err)) != FLD_OK) {
        rc = malformed(r, err);
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
    if ((rc = meta_text(r->cfg.st, SYN_META_CURSOR, &cursor, err)) != FLD_OK)
        goto done;
    rc = meta_int(r->cfg.st, FLD_META_OFFSET, &r->offset_ms, err);
    if (rc != FLD_OK)
        goto done;
    if ((rc = queue_load(r, &q, err)) != FLD_OK)
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
            if ((rc = queue_load(r, &q, err)) != FLD_OK)
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
    queue_free(&q);
    return rc;
}

/* A signed GET through exchange(), for catalog.c. */
static int get_signed(void *ctx, const char *path,
                      struct syn_http_response *resp, struct fld_err *err)
{
    return exchange(ctx, "GET", path, NULL, resp, err);
}

int syn_sync(const struct syn_client *c, bool full, struct syn_stats *stats,
             struct fld_err *err)
{
    struct run r;
    char *url = NULL;
    int rc;

    run_init(&r, c, stats);
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

/* ---- enrollment
 * --------------------------------------------------------------- */

/* A signed sync request that asks for one version and pushes none: it
 * answers 200 only if this key is enrolled at the server. */
static int probe_enrolled(struct run *r, struct fld_err *err)
{
    struct syn_sync_request req;
    struct fld_buf body = FLD_BUF_INIT;
    struct syn_http_response resp;
    int rc;

    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    req.limit = 1;
    syn_sync_request_encode(&req, &body);
    rc = exchange(r, "POST", SYNC_PATH, &body, &resp, err);
    syn_http_response_reset(&resp);
    fld_buf_free(&body);
    return rc;
}

static int record_enrollment(struct run *r, const struct syn_enrollment *e,
                             bool new_server, const char *cacert,
                             const char *pinned, int64_t server_time,
                             struct fld_err *err)
{
    struct fld_store *st = r->cfg.st;
    const struct {
        const char *key, *value;
    } texts[] = {
        {SYN_META_URL, e->url},
        {SYN_META_ROLE, e->role ? e->role : ""},
        {SYN_META_SCOPE, e->scope ? e->scope : ""},
        {SYN_META_INSPECTOR, e->inspector ? e->inspector : ""},
        {SYN_META_CACERT, cacert ? cacert : ""},
        {SYN_META_PINNED, pinned ? pinned : ""},
    };
    size_t i;
    int rc;

    if ((rc = fld_store_begin(st, err)) != FLD_OK)
        return rc;
    /* Versions known to another server say nothing of this one. */
    if (new_server) {
        rc = fld_store_sync_forget(st, err);
        if (rc == FLD_OK)
            rc = fld_store_meta_set(st, SYN_META_CURSOR, "", err);
    }
    for (i = 0; rc == FLD_OK && i < sizeof texts / sizeof texts[0]; i++)
        rc = fld_store_meta_set(st, texts[i].key, texts[i].value, err);
    if (rc == FLD_OK)
        rc = fld_store_meta_set_int(st, SYN_META_ENROLLED, fld_now_ms(), err);
    if (rc == FLD_OK && server_time > 0)
        rc = fld_store_meta_set_int(st, FLD_META_OFFSET,
                                    offset_from(r, server_time), err);
    if (rc != FLD_OK) {
        fld_store_rollback(st);
        return rc;
    }
    return fld_store_commit(st, err);
}

int syn_enroll(const struct syn_client *c, const char *url, const char *code,
               const char *cacert, const char *pinned,
               struct syn_enrollment *out, struct fld_err *err)
{
    struct syn_stats stats;
    struct run r;
    struct syn_enroll_request req;
    struct syn_enroll_response *ans = NULL;
    struct syn_http_response resp;
    struct fld_buf body = FLD_BUF_INIT;
    char *have = NULL, pub[FLD_HASH_HEX_LEN + 1];
    int64_t server_time = 0;
    size_t i;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&resp, 0, sizeof resp);
    run_init(&r, c, &stats);
    if ((rc = syn_url_normalise(url, &out->url, err)) != FLD_OK)
        return rc;
    if (strlen(code) == 0 || strlen(code) > SYN_MAX_CODE)
        return fld_err_set(err, FLD_EUSAGE,
                           "the enrollment code must be 1 to %d "
                           "characters",
                           SYN_MAX_CODE);
    r.url = out->url;
    if ((rc = meta_text(c->st, SYN_META_URL, &have, err)) != FLD_OK)
        goto done;
    if ((rc = meta_int(c->st, FLD_META_OFFSET, &r.offset_ms, err)) != FLD_OK)
        goto done;
    if (strcmp(have, out->url) == 0) {
        rc = fld_err_set(err, FLD_EXISTS,
                         "this device is already enrolled at %s; 'field sync' "
                         "syncs with it",
                         out->url);
        goto done;
    }
    memset(&req, 0, sizeof req);
    snprintf(req.code, sizeof req.code, "%s", code);
    fld_key_public_hex(c->key, pub);
    memcpy(req.public_key, pub, sizeof req.public_key);
    syn_enroll_request_encode(&req, &body);
    rc = exchange(&r, "POST", ENROLL_PATH, &body, &resp, err);
    if (rc == FLD_OK) {
        rc = syn_enroll_response_decode(resp.body.data, resp.body.len, &ans,
                                        err);
        if (rc != FLD_OK) {
            rc = malformed(&r, err);
            goto done;
        }
        if (strcmp(ans->device, pub) != 0) {
            rc = fld_err_set(err, FLD_EPROTO,
                             "the server at %s enrolled another key (%.16s)",
                             r.url, ans->device);
            goto done;
        }
        out->role = fld_xstrdup(ans->role ? ans->role : "");
        out->inspector = fld_xstrdup(ans->inspector ? ans->inspector : "");
        {
            struct fld_buf s = FLD_BUF_INIT;

            for (i = 0; i < ans->n_scope; i++) {
                if (i)
                    fld_buf_putc(&s, ' ');
                fld_buf_puts(&s, ans->scope[i]);
            }
            out->scope = fld_xstrdup(fld_buf_str(&s));
            fld_buf_free(&s);
        }
        server_time = ans->server_time;
    } else if (rc == FLD_EINVAL &&
               (strcmp(r.code, "already_enrolled") == 0 ||
                (strcmp(r.code, "invalid_code") == 0 && r.maybe_delivered))) {
        /* already_enrolled: the server checked our signature, so it is our
         * key that is enrolled. invalid_code after an attempt whose answer
         * was lost: perhaps ours used it. Ask. */
        struct fld_err first = err ? *err : (struct fld_err){0, ""};

        rc = probe_enrolled(&r, err);
        if (rc == FLD_EINVAL && strcmp(r.code, "unknown_device") == 0) {
            if (err)
                *err = first;
            rc = FLD_EINVAL;
            goto done;
        }
        if (rc != FLD_OK)
            goto done;
        out->was_enrolled = true;
    } else {
        goto done;
    }
    rc = record_enrollment(&r, out, have[0] != '\0', cacert, pinned,
                           server_time, err);
done:
    if (rc != FLD_OK)
        syn_enrollment_free(out);
    syn_enroll_response_free(ans);
    syn_http_response_reset(&resp);
    fld_buf_free(&body);
    free(have);
    return rc;
}
