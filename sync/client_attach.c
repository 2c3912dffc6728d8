/*
 * client_attach.c - photos after the versions: the device's side of the
 * attachment endpoints (docs/PROTOCOL.md "Attachments (photos)").
 *
 * Versions never wait for photos: syn_sync() moves the answers first, and
 * this file runs after it, so a slow upload holds back nothing signed.
 *
 * Uploading. One POST /v1/attachments/state asks the server about a batch
 * of files at once: a file it holds costs a few bytes of that request and
 * is marked uploaded; one it cannot place yet (its version is not there)
 * waits for a later sync. The others go up in chunks, each a PUT at the
 * offset the server acknowledged. Each chunk is sent once per attempt
 * (the request retries of client.c would resend the same big chunk over a
 * link that keeps cutting it): after a failure the chunk shrinks and the
 * next PUT names the same offset; if the lost answer had been
 * acknowledged, the server says 409 with its offset and the upload
 * continues from there. Chunks are sized by struct pace: big on a fast
 * link, small on one that keeps being cut, so that a cut loses little. The
 * acknowledged bytes are durable on the server, so a killed client or server
 * loses only the chunk in flight.
 *
 * Downloading. Each file is fetched into a partial file of its own, from
 * its current length on (GET ?offset=), the body streamed to disk through
 * the transport's sink, never held in memory; it is kept (renamed under
 * its hash) only once fld_attachment_receive() has checked its hash and
 * size.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attachment.h"
#include "capture.h"
#include "client_int.h"
#include "file.h"

#define STATE_PATH "/v1/attachments/state"
#define ATTACH_PATH "/v1/attachments/"
#define OCTETS "application/octet-stream"
#define STATE_BATCH 500 /* hashes asked about per request (at most 1000) */
#define CHUNK_MIN (64 * 1024)
#define CHUNK_FIRST (256 * 1024)
#define CHUNK_MAX (8 * 1024 * 1024) /* the server's cap */
#define CHUNK_TARGET_MS 250
/* Once the link was cut: a chunk is at most this share of the bytes it
 * carries between cuts. */
#define CUT_SHARE 16

enum att_state { AS_UNKNOWN, AS_MISSING, AS_PARTIAL, AS_STORED };

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- state ------------------------------------------------------------- */

/* The body of a state request for list[0..n). */
static void state_request(const struct fld_attachment *list, size_t n,
                          struct fld_buf *out)
{
    size_t i;

    fld_buf_puts(out, "{\"hashes\":[");
    for (i = 0; i < n; i++) {
        fld_buf_puts(out, i ? ",\"" : "\"");
        fld_buf_puts(out, list[i].hash);
        fld_buf_puts(out, "\"");
    }
    fld_buf_puts(out, "]}");
}

static bool parse_state(const char *s, enum att_state *out)
{
    static const char *const names[] = {"unknown", "missing", "partial",
                                        "stored"};
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum att_state)i;
            return true;
        }
    return false;
}

/* The answer to a state request: one entry per hash asked, in order. */
static int decode_states(const struct fld_buf *body,
                         const struct fld_attachment *list, size_t n,
                         enum att_state *states, int64_t *offsets,
                         struct fld_err *err)
{
    cJSON *root = cJSON_ParseWithLength((const char *)body->data, body->len);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "attachments");
    const cJSON *e;
    size_t i = 0;
    int rc = FLD_OK;

    if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) != n)
        rc = fld_err_set(err, FLD_EPROTO,
                         "attachment states: not one per hash asked");
    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(e, "hash");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "state");
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "offset");

        if (rc != FLD_OK || i >= n)
            break;
        if (!cJSON_IsString(h) || strcmp(h->valuestring, list[i].hash) != 0 ||
            !cJSON_IsString(st) || !parse_state(st->valuestring, &states[i])) {
            rc = fld_err_set(err, FLD_EPROTO,
                             "attachment states: entry %zu is not the hash "
                             "asked with a known state",
                             i);
            break;
        }
        offsets[i] = cJSON_IsNumber(off) ? (int64_t)off->valuedouble : 0;
        if (offsets[i] < 0 || offsets[i] > list[i].bytes)
            offsets[i] = 0; /* nonsense: start over, the server will say */
        i++;
    }
    cJSON_Delete(root);
    return rc;
}

static int ask_states(struct run *r, const struct fld_attachment *list,
                      size_t n, enum att_state *states, int64_t *offsets,
                      struct fld_err *err)
{
    struct fld_buf req = FLD_BUF_INIT;
    struct syn_http_response resp;
    int rc;

    memset(&resp, 0, sizeof resp);
    state_request(list, n, &req);
    rc = syn_client_exchange(r, "POST", STATE_PATH, &req, &resp, err);
    if (rc == FLD_OK &&
        decode_states(&resp.body, list, n, states, offsets, err) != FLD_OK)
        rc = syn_client_malformed(r, err);
    fld_buf_free(&req);
    fld_buf_free(&resp.body);
    return rc;
}

/* ---- one chunk --------------------------------------------------------- */

/* What the server said of one chunk. */
struct chunk_answer {
    int64_t offset;        /* where the next chunk starts */
    bool is_stored;        /* the file is whole and checked on the server */
    bool is_reconnected;   /* the link was cut on the way (transport.h) */
    int64_t retry_after_s; /* FLD_EBUSY: the server's Retry-After, or -1 */
};

/* A number member of the answer, or of its "error" object (409). */
static bool answer_int(const struct fld_buf *body, const char *key,
                       int64_t *out)
{
    cJSON *root = cJSON_ParseWithLength((const char *)body->data, body->len);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *v;
    bool ok;

    v = cJSON_GetObjectItemCaseSensitive(o ? o : root, key);
    ok = cJSON_IsNumber(v) && v->valuedouble >= 0;
    if (ok)
        *out = (int64_t)v->valuedouble;
    cJSON_Delete(root);
    return ok;
}

/* A 503 that says another request is writing the file. */
static bool is_busy(const struct syn_http_response *resp)
{
    char code[SYN_REASON_MAX];
    int64_t server_time;

    return syn_error_decode(resp->body.data, resp->body.len, code, NULL, 0,
                            &server_time) == FLD_OK &&
           strcmp(code, "busy") == 0;
}

/*
 * PUT one chunk, once (no retries: the caller shrinks the chunk first),
 * with "Expect: 100-continue" when is_expecting. FLD_OK with *ans from a
 * 200 or a 409 (the server's offset); FLD_EBUSY when another request is
 * writing the file (503 busy); FLD_ENET when no answer came; FLD_EINVAL
 * with r->code for the other refusals.
 */
static int put_chunk(struct run *r, const char *hash, int64_t offset,
                     const uint8_t *p, size_t len, bool is_expecting,
                     struct chunk_answer *ans, struct fld_err *err)
{
    char path[sizeof ATTACH_PATH + FLD_HASH_HEX_LEN + 32];
    struct outgoing o = {.method = "PUT",
                         .path = path,
                         .body = p,
                         .len = len,
                         .content_type = OCTETS,
                         .is_sent_once = true,
                         .is_payload_unsigned = true,
                         .is_expecting = is_expecting};
    struct syn_http_response resp;
    cJSON *root;
    int rc;

    snprintf(path, sizeof path, ATTACH_PATH "%s?offset=%" PRId64, hash, offset);
    memset(&resp, 0, sizeof resp);
    rc = syn_client_exchange_ready(r, &o, &resp, err);
    ans->is_stored = false;
    ans->is_reconnected = resp.is_reconnected;
    ans->retry_after_s = resp.retry_after_s;
    if (rc == FLD_ENET && resp.status == 503 && is_busy(&resp)) {
        rc = FLD_EBUSY;
    } else if (rc == FLD_OK) {
        root =
            cJSON_ParseWithLength((const char *)resp.body.data, resp.body.len);
        ans->is_stored =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "stored"));
        cJSON_Delete(root);
        if (!answer_int(&resp.body, "offset", &ans->offset))
            rc = fld_err_set(err, FLD_EPROTO,
                             "the server at %s answered a chunk without "
                             "an offset",
                             r->url);
    } else if (rc == FLD_EINVAL && strcmp(r->code, "wrong_offset") == 0 &&
               answer_int(&resp.body, "offset", &ans->offset)) {
        rc = FLD_OK; /* a chunk acknowledged before its answer was lost */
    }
    fld_buf_free(&resp.body);
    return rc;
}

/*
 * How big the next chunk is, carried from chunk to chunk and file to
 * file. Two things bound it. The rate: a chunk should take about
 * CHUNK_TARGET_MS at the rate just measured (and at most double), so a
 * fast link pays few round trips. The cuts: a cut loses the chunk in
 * flight, so once the link has been cut, a chunk is at most an eighth of
 * the bytes the link carries between cuts (a running mean): on a link cut
 * every few megabytes, about one byte in sixteen is sent twice.
 */
struct pace {
    size_t chunk;
    int64_t since_cut; /* bytes acknowledged since the last failure */
    int64_t between;   /* mean bytes between failures; 0: none seen */
    bool is_changed;   /* between moved: keep it (SYN_META_BETWEEN) */
};

static size_t clamp_chunk(const struct pace *p, double want)
{
    double cap = p->between > 0 ? (double)p->between / CUT_SHARE : CHUNK_MAX;

    if (want > cap)
        want = cap;
    if (want > CHUNK_MAX)
        want = CHUNK_MAX;
    return want < CHUNK_MIN ? CHUNK_MIN : (size_t)want;
}

/* A chunk of len bytes went through in ms. */
static void pace_ok(struct pace *p, size_t len, int64_t ms)
{
    double rate = (double)len / (double)(ms > 0 ? ms : 1);
    double want = rate * CHUNK_TARGET_MS;

    if (want > 2.0 * (double)len)
        want = 2.0 * (double)len;
    p->since_cut += (int64_t)len;
    /* The link got better: forget the cuts of the past, slowly. */
    if (p->between > 0 && p->since_cut > 4 * p->between) {
        p->between = p->since_cut;
        p->is_changed = true;
    }
    p->chunk = clamp_chunk(p, want);
}

/* A chunk was lost. */
static void pace_cut(struct pace *p)
{
    int64_t run = p->since_cut + (int64_t)p->chunk / 2;

    p->between = p->between > 0 ? (p->between + run) / 2 : run;
    p->is_changed = true;
    p->since_cut = 0;
    p->chunk = clamp_chunk(p, (double)p->chunk / 4);
}

/*
 * The link's mean bytes between cuts outlives the process: a sync killed
 * on a bad link (or a device that syncs every few minutes there) starts
 * the next with chunks that fit, instead of learning it again by losing
 * big ones.
 */
static void keep_pace(struct run *r, struct pace *p)
{
    if (!p->is_changed || fld_store_begin(r->cfg.st, NULL) != FLD_OK)
        return;
    if (fld_store_meta_set_int(r->cfg.st, SYN_META_BETWEEN, p->between, NULL) ==
            FLD_OK &&
        fld_store_commit(r->cfg.st, NULL) == FLD_OK)
        p->is_changed = false;
    else
        fld_store_rollback(r->cfg.st);
}

/* ---- one upload -------------------------------------------------------- */

/* The store records that the server holds hash. */
static int mark_uploaded(struct run *r, const char *hash, struct fld_err *err)
{
    int rc = fld_store_begin(r->cfg.st, err);

    if (rc == FLD_OK)
        rc = fld_attachment_mark_uploaded(r->cfg.st, hash, err);
    if (rc == FLD_OK)
        return fld_store_commit(r->cfg.st, err);
    fld_store_rollback(r->cfg.st);
    return rc;
}

/* Read len bytes of fd at offset, whole. */
static int read_at(int fd, uint8_t *p, size_t len, int64_t offset,
                   const char *hash, struct fld_err *err)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = pread(fd, p + got, len - got, (off_t)offset + (off_t)got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fld_err_set(err, FLD_EIO,
                               "attachment %.16s: cannot read: %s", hash,
                               n < 0 ? strerror(errno)
                                     : "shorter than "
                                       "signed");
        got += (size_t)n;
    }
    return FLD_OK;
}

/* Upload a's file from offset until the server holds it whole, chunks
 * sized by pace. FLD_OK when stored; FLD_ENET after max_attempts
 * failures in a row; FLD_EINVAL (and the like) when the server refuses
 * this file. */
static int upload_file(struct run *r, const struct fld_attachment *a,
                       int64_t offset, uint8_t *buf, struct pace *pace,
                       struct fld_err *err)
{
    char *path = fld_attachment_path(r->cfg.home, a->hash);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct chunk_answer ans;
    int failures = 0, stalls = 0, rc = FLD_OK;
    /* The first chunk of a resumed upload, or one after a failure, waits
     * for the server's go-ahead before its bytes go: a refusal (409, 503)
     * is then likely, and costs no chunk. */
    bool is_resuming = offset > 0;
    struct stat sb;

    if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size != a->bytes) {
        rc = fld_err_set(err, FLD_EIO,
                         "attachment %.16s: %s is missing or not the %" PRId64
                         " bytes signed (run field verify)",
                         a->hash, path, a->bytes);
        goto done;
    }
    for (;;) {
        size_t len = pace->chunk;
        int64_t t0;

        if (offset < 0 || offset >= a->bytes) {
            rc = fld_err_set(err, FLD_EPROTO,
                             "the server at %s acknowledged offset %" PRId64
                             " of a %" PRId64 "-byte attachment it does not "
                             "hold",
                             r->url, offset, a->bytes);
            break;
        }
        if ((int64_t)len > a->bytes - offset)
            len = (size_t)(a->bytes - offset);
        if ((rc = read_at(fd, buf, len, offset, a->hash, err)) != FLD_OK)
            break;
        t0 = now_ms();
        rc = put_chunk(r, a->hash, offset, buf, len, is_resuming, &ans, err);
        if (rc != FLD_EBUSY) /* a busy answer came before the body */
            r->stats->att_bytes_up += (int64_t)len; /* sent, if not taken */
        if ((rc == FLD_ENET || rc == FLD_EBUSY) && !syn_client_stopped(r) &&
            ++failures < r->cfg.max_attempts) {
            r->stats->retries++;
            is_resuming = true;
            if (rc == FLD_EBUSY) {
                /* Our own earlier try, cut, is still being written
                 * on the server: it ends or is taken over in seconds. */
                syn_client_retry_wait(r, failures, ans.retry_after_s);
                continue;
            }
            pace_cut(pace);
            keep_pace(r, pace);
            /* A cut is retried at once with a smaller chunk; a link that
             * keeps failing is waited for, with backoff. */
            if (failures > 1)
                syn_client_retry_wait(r, failures - 1, -1);
            continue;
        }
        if (rc != FLD_OK)
            break;
        is_resuming = false;
        if (ans.is_reconnected) {
            /* Cut, and sent again on a new connection: count it so. */
            r->stats->att_bytes_up += (int64_t)len;
            pace_cut(pace);
            keep_pace(r, pace);
        } else if (ans.offset == offset + (int64_t)len) {
            pace_ok(pace, len, now_ms() - t0);
            failures = 0;
        }
        if (ans.is_stored)
            break;
        /* A server that keeps sending us back (a 409 at or before where
         * we were) is not our server keeping its word: stop there. */
        if (ans.offset <= offset && ++stalls >= r->cfg.max_attempts) {
            rc = fld_err_set(err, FLD_EPROTO,
                             "the server at %s keeps asking for attachment "
                             "%.16s from offset %" PRId64,
                             r->url, a->hash, ans.offset);
            break;
        }
        offset = ans.offset;
        if (r->cfg.progress)
            r->cfg.progress(r->cfg.progress_ctx, r->stats);
    }
done:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* A refusal that concerns one file only: count it, go on with the rest. */
static bool is_file_refusal(const struct run *r, int rc)
{
    return rc == FLD_EIO ||
           (rc == FLD_EINVAL && (strcmp(r->code, "unknown_attachment") == 0 ||
                                 strcmp(r->code, "beyond_size") == 0 ||
                                 strcmp(r->code, "hash_mismatch") == 0));
}

/* One batch of uploads: asked about, then sent. *progress: how many the
 * server now holds (0 means asking again would get the same batch). */
static int upload_batch(struct run *r, const struct fld_attachment *list,
                        size_t n, uint8_t *buf, struct pace *pace,
                        size_t *progress, struct fld_err *err)
{
    enum att_state *states = fld_xcalloc(n, sizeof *states);
    int64_t *offsets = fld_xcalloc(n, sizeof *offsets);
    size_t i;
    int rc;

    *progress = 0;
    rc = ask_states(r, list, n, states, offsets, err);
    for (i = 0; rc == FLD_OK && i < n; i++) {
        if (states[i] == AS_UNKNOWN) {
            r->stats->att_waiting++;
            continue;
        }
        if (states[i] != AS_STORED) {
            rc = upload_file(r, &list[i], offsets[i], buf, pace, err);
            if (is_file_refusal(r, rc)) {
                r->stats->att_failed++;
                r->code[0] = '\0';
                rc = FLD_OK;
                continue;
            }
            if (rc == FLD_EFULL) /* the server's disk: none can go now */
                r->stats->att_waiting += n - i;
            if (rc != FLD_OK)
                break;
            r->stats->att_uploaded++;
        } else {
            r->stats->att_already++;
        }
        if ((rc = mark_uploaded(r, list[i].hash, err)) == FLD_OK)
            (*progress)++;
    }
    free(states);
    free(offsets);
    return rc;
}

static int upload_all(struct run *r, struct fld_err *err)
{
    uint8_t *buf = fld_xmalloc(CHUNK_MAX);
    struct pace pace = {CHUNK_FIRST, 0, 0, false};
    size_t n = 0, progress;
    struct fld_attachment *list = NULL;
    bool is_first = true;
    int rc;

    if (syn_client_meta_int(r->cfg.st, SYN_META_BETWEEN, &pace.between, err) ==
        FLD_OK)
        pace.chunk = clamp_chunk(&pace, CHUNK_FIRST);
    for (;;) {
        free(list);
        list = NULL;
        rc = fld_attachment_to_upload(r->cfg.st, STATE_BATCH, &list, &n, err);
        if (rc != FLD_OK || n == 0)
            break;
        if (is_first)
            r->stats->att_to_upload = (int64_t)n;
        is_first = false;
        r->stats->att_waiting = 0;
        rc = upload_batch(r, list, n, buf, &pace, &progress, err);
        /* A batch that moved nothing would come back the same. */
        if (rc != FLD_OK || progress == 0 || n < STATE_BATCH)
            break;
    }
    keep_pace(r, &pace);
    free(list);
    free(buf);
    return rc;
}

/* ---- downloads --------------------------------------------------------- */

/* Where a download's bytes go as they arrive. */
struct sink {
    int fd;
    int64_t have, bytes; /* in the partial file; what it must come to */
    int err_no;          /* why a write failed */
    struct run *r;
};

static int to_partial(void *ctx, const uint8_t *p, size_t len)
{
    struct sink *k = ctx;

    if (k->have + (int64_t)len > k->bytes) {
        k->err_no = EFBIG; /* more than signed: stop, keep what fits */
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(k->fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            k->err_no = errno;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        k->have += n;
        k->r->stats->att_bytes_down += n;
    }
    return 0;
}

/* This device's disk is full: have bytes of a are kept in its partial
 * file, not as the photo, and the next sync resumes from there. */
static int disk_full(const struct fld_attachment *a, int64_t have,
                     struct fld_err *err)
{
    return fld_err_set(err, FLD_EFULL,
                       "attachment %.16s: the disk is full on this device "
                       "(%" PRId64 " of %" PRId64 " bytes kept, not yet a "
                       "photo); make room and sync again",
                       a->hash, have, a->bytes);
}

/* GET the rest of a's file into the partial file k describes, once. */
static int get_rest(struct run *r, const struct fld_attachment *a,
                    struct sink *k, struct fld_err *err)
{
    char path[sizeof ATTACH_PATH + FLD_HASH_HEX_LEN + 32];
    struct outgoing o = {.method = "GET",
                         .path = path,
                         .sink = to_partial,
                         .sink_ctx = k,
                         .is_sent_once = true};
    struct syn_http_response resp;
    int rc;

    snprintf(path, sizeof path, ATTACH_PATH "%s?offset=%" PRId64, a->hash,
             k->have);
    memset(&resp, 0, sizeof resp);
    rc = syn_client_exchange_ready(r, &o, &resp, err);
    fld_buf_free(&resp.body);
    if (k->err_no == EFBIG)
        return fld_err_set(err, FLD_EPROTO,
                           "the server at %s sent more than the %" PRId64
                           " bytes signed for attachment %.16s",
                           r->url, a->bytes, a->hash);
    if (k->err_no == ENOSPC || k->err_no == EDQUOT)
        return disk_full(a, k->have, err);
    if (k->err_no != 0)
        return fld_err_set(err, FLD_EIO, "attachment %.16s: cannot write: %s",
                           a->hash, strerror(k->err_no));
    return rc;
}

/* Open a's partial file for appending; k->have is its length. */
static int open_partial(struct run *r, const struct fld_attachment *a,
                        const char *partial, struct sink *k,
                        struct fld_err *err)
{
    char *dir = fld_attachment_dir(r->cfg.home);
    char *parts = fld_xasprintf("%s/partial", dir);
    struct stat sb;

    bool is_made;

    /* The folders exist once a photo was attached here; not on a device
     * that only ever fetched. */
    is_made = (mkdir(dir, 0700) == 0 || errno == EEXIST) &&
              (mkdir(parts, 0700) == 0 || errno == EEXIST);
    free(dir);
    free(parts);
    if (!is_made)
        return fld_err_set(err, errno == ENOSPC ? FLD_EFULL : FLD_EIO, "%s: %s",
                           partial, strerror(errno));
    k->fd = open(partial,
                 O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (k->fd < 0 || fstat(k->fd, &sb) != 0)
        return fld_err_set(err, FLD_EIO, "%s: %s", partial, strerror(errno));
    k->have = sb.st_size;
    k->bytes = a->bytes;
    k->err_no = 0;
    k->r = r;
    if (k->have > a->bytes && ftruncate(k->fd, 0) == 0)
        k->have = 0; /* not a beginning of this file: start again */
    return FLD_OK;
}

/* Fetch a's file, resuming its partial file; kept once checked. */
static int download_file(struct run *r, const struct fld_attachment *a,
                         struct fld_err *err)
{
    char *partial = fld_attachment_partial_path(r->cfg.home, a->hash);
    struct sink k = {-1, 0, 0, 0, r};
    int failures = 0, rc;

    if ((rc = open_partial(r, a, partial, &k, err)) != FLD_OK)
        goto done;
    while (k.have < a->bytes) {
        int64_t had = k.have;

        rc = get_rest(r, a, &k, err);
        if (k.have > had)
            failures = 0; /* a cut after progress is not a dead link */
        if (rc == FLD_ENET && !syn_client_stopped(r) &&
            ++failures < r->cfg.max_attempts) {
            r->stats->retries++;
            syn_client_retry_wait(r, failures, -1);
            continue;
        }
        if (rc != FLD_OK)
            goto done;
        if (k.have < a->bytes) { /* an answer that ended early */
            rc = fld_err_set(err, FLD_EPROTO,
                             "the server at %s sent %" PRId64 " of %" PRId64
                             " bytes of attachment %.16s",
                             r->url, k.have, a->bytes, a->hash);
            goto done;
        }
    }
    if (fdatasync(k.fd) != 0) {
        if (errno == ENOSPC || errno == EDQUOT)
            rc = disk_full(a, k.have, err);
        else
            rc = fld_err_set(err, FLD_EIO, "%s: %s", partial, strerror(errno));
        goto done;
    }
    if ((rc = fld_store_begin(r->cfg.st, err)) != FLD_OK)
        goto done;
    rc = fld_attachment_receive(r->cfg.st, r->cfg.home, a, partial, err);
    if (rc == FLD_OK)
        rc = fld_store_commit(r->cfg.st, err);
    else
        fld_store_rollback(r->cfg.st);
    /* Placing it failed: fld_attachment_place() removed the partial file
     * unless the failure came before it was opened. */
    if (rc == FLD_EFULL)
        rc = disk_full(a, access(partial, F_OK) == 0 ? k.have : 0, err);
    if (rc == FLD_OK)
        r->stats->att_downloaded++;
done:
    if (k.fd >= 0)
        close(k.fd);
    free(partial);
    return rc;
}

static int download_all(struct run *r, const char *record, struct fld_err *err)
{
    struct fld_attachment *list = NULL;
    size_t n = 0, i;
    int rc =
        fld_attachment_to_download(r->cfg.st, record, SIZE_MAX, &list, &n, err);

    r->stats->att_to_download = (int64_t)n;
    for (i = 0; rc == FLD_OK && i < n; i++) {
        rc = download_file(r, &list[i], err);
        if (rc == FLD_ECORRUPT ||
            (rc == FLD_EINVAL && strcmp(r->code, "unknown_attachment") == 0)) {
            r->stats->att_failed++; /* not there, or not right: the next */
            r->code[0] = '\0';
            rc = FLD_OK;
        }
        if (r->cfg.progress)
            r->cfg.progress(r->cfg.progress_ctx, r->stats);
    }
    free(list);
    return rc;
}

int syn_sync_attachments(const struct syn_client *c, bool upload, bool download,
                         const char *record, struct syn_stats *stats,
                         struct fld_err *err)
{
    struct syn_stats keep = *stats;
    struct run r;
    char *url = NULL;
    int rc;

    syn_client_run_init(&r, c, stats);
    *stats = keep; /* the versions' counts stay */
    rc = syn_client_meta_text(c->st, SYN_META_URL, &url, err);
    if (rc == FLD_OK && url[0] == '\0')
        rc = fld_err_set(err, FLD_NOTFOUND, "this device is not enrolled");
    if (rc == FLD_OK)
        rc = syn_client_meta_int(c->st, FLD_META_OFFSET, &r.offset_ms, err);
    r.url = url;
    if (rc == FLD_OK && upload)
        rc = upload_all(&r, err);
    if (rc == FLD_OK && download)
        rc = download_all(&r, record, err);
    stats->elapsed_ms = fld_now_ms() - stats->started_ms;
    free(url);
    return rc;
}
