/*
 * api.c - the HTTP API of field-server (api.h, docs/PROTOCOL.md): routing,
 * the authentication gate, the handlers, pull cursors.
 *
 * Where it sits: http.c (libmicrohttpd) reads a request under its caps and
 * hands a struct srv_request here; this file answers it into a struct
 * srv_response, using push.c to verify and store pushed versions and the
 * storage interface for everything else. Nothing here knows about
 * connections, so unit tests and the in-process sync tests call
 * srv_api_handle() directly.
 *
 * One table of routes (path, method, who may call, handler) decides the
 * route of a path (also for metrics, even when the request is refused),
 * the method it takes, and whether the gate runs; srv_api_handle() then
 * runs the gate once, so that no handler can forget it. Every signed
 * request goes through the same gate, in this order, each step refusing
 * with its own code before anything is stored:
 *
 *   content type and encoding   415 unsupported_media_type / _encoding
 *   the three X-Field headers   401 unsigned / bad_auth_header
 *   the clock                   401 clock_skew (with the server's time;
 *                               also when signed before the server
 *                               started, see check_claim)
 *   the device                  401 unknown_device
 *   the signature               401 bad_signature
 *   not seen before             401 replayed (429 too_many_requests: an
 *                               address's enrollment attempts)
 *   not revoked                 403 revoked
 *   gunzip under the cap        400 bad_gzip / 413 too_large
 *   UTF-8, nesting, JSON, types 400 bad_utf8 / too_deep / bad_json /
 *                               bad_request
 *
 * Before a body is read, srv_api_admit() runs the steps that need no body
 * (route, media type, headers, clock, device, revocation), so that
 * nobody unknown can make the server hold a body (docs/SECURITY.md).
 *
 * Decisions:
 *   - The signature covers the path and its query (in the one encoded
 *     form of query.h, which http.c rebuilds from libmicrohttpd's decoded
 *     parameters), so nobody can change what a GET asks for.
 *   - The signature covers the body as received, so a request is
 *     authenticated before it is inflated: an unknown client cannot make
 *     the server spend time on a decompression bomb.
 *   - Enrollment is signed too, by the key being enrolled (the device is
 *     not known yet): the device proves it holds the key it names, and a
 *     captured enrollment cannot be replayed with another key.
 *   - A clock_skew refusal carries the server's time, so that a device
 *     with a wrong clock corrects it and retries at once (DESIGN.md
 *     section 3, "Clock"); signatures seen within the skew window are
 *     remembered, so a captured request cannot be sent again.
 *   - Failures of the server itself are not the client's fault and say so:
 *     503 busy (retry), 507 storage_full, 500 internal. Every refusal
 *     counts in the metrics by its code.
 *   - health and metrics are unsigned (monitoring has no device key);
 *     health reads the database, which proves more than answering from
 *     memory. Every other route needs an enrolled, unrevoked device.
 *   - GET also answers HEAD (libmicrohttpd sends no body for it).
 *   - A pull page asks storage for one row more than the limit, to learn
 *     whether more remain without a second query; a complete page moves
 *     the cursor past the device's own pushes (see handle_sync).
 *   - Templates are served by hash only: a hash names exactly one body, so
 *     a device can check what it received, and caches never go stale.
 */
#include "api.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "attachments.h"
#include "exports.h"
#include "gzip.h"
#include "hlc.h"
#include "protocol.h"
#include "push.h"
#include "query.h"
#include "thresholds.h"

void srv_response_free(struct srv_response *resp)
{
    fld_buf_free(&resp->body);
    if (resp->has_file)
        close(resp->fd);
    resp->has_file = false;
}

void srv_api_error(struct srv_response *resp, int status, const char *code,
                   const char *message, int64_t server_time)
{
    fld_buf_reset(&resp->body);
    syn_error_encode(code, message, server_time, &resp->body);
    resp->status = status;
    resp->content_type = SYN_CONTENT_TYPE;
    snprintf(resp->error, sizeof resp->error, "%s", code);
}

/* A failure of the server itself (storage), not of the request. */
static void internal_error(struct srv_response *resp, int rc,
                           const struct fld_err *err)
{
    if (rc == FLD_EBUSY)
        srv_api_error(resp, 503, "busy", "the database is busy; retry", -1);
    else if (rc == FLD_EFULL)
        srv_api_error(resp, 507, "storage_full", "the server's disk is full",
                      -1);
    else
        srv_api_error(resp, 500, "internal",
                      err && err->msg[0] ? err->msg : fld_strerror(rc), -1);
}

void srv_api_failure(struct srv_response *resp, int rc,
                     const struct fld_err *err)
{
    internal_error(resp, rc, err);
}

struct fld_buf *srv_api_ok_body(struct srv_response *resp)
{
    fld_buf_reset(&resp->body);
    resp->status = 200;
    resp->content_type = SYN_CONTENT_TYPE;
    return &resp->body;
}

void srv_api_json_ok(struct srv_response *resp, cJSON *root)
{
    char *text = cJSON_PrintUnformatted(root);

    if (text == NULL)
        abort(); /* out of memory */
    fld_buf_puts(srv_api_ok_body(resp), text);
    cJSON_free(text);
    cJSON_Delete(root);
}

/* ---- cursors
 * ----------------------------------------------------------------- */

void srv_cursor_encode(const struct srv_cursor *c, char *out, size_t len)
{
    snprintf(out, len, "1.%s.%s.%" PRId64 ".%" PRId64, c->epoch, c->scope,
             c->pos, c->birth);
}

static int take_int(const char **p, char end, int64_t *out)
{
    int64_t v = 0;
    const char *s = *p;

    if (*s < '0' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9') {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s++ - '0');
    }
    if (*s != end)
        return -1;
    *p = end ? s + 1 : s;
    *out = v;
    return 0;
}

int srv_cursor_decode(const char *text, struct srv_cursor *out)
{
    const char *p = text;

    memset(out, 0, sizeof *out);
    if (strncmp(p, "1.", 2) != 0 || strlen(p) < 2 + 17 + 17 + 3)
        return FLD_EINVAL;
    p += 2;
    memcpy(out->epoch, p, 16);
    if (!fld_is_hex(out->epoch, 16) || p[16] != '.')
        return FLD_EINVAL;
    p += 17;
    memcpy(out->scope, p, 16);
    if (!fld_is_hex(out->scope, 16) || p[16] != '.')
        return FLD_EINVAL;
    p += 17;
    if (take_int(&p, '.', &out->pos) != 0 ||
        take_int(&p, '\0', &out->birth) != 0)
        return FLD_EINVAL;
    return FLD_OK;
}

void srv_scope_digest(const struct srv_device *d, char out[17])
{
    crypto_generichash_state h;
    uint8_t digest[8];
    size_t i;

    crypto_generichash_init(&h, NULL, 0, sizeof digest);
    crypto_generichash_update(&h, (const uint8_t *)d->role,
                              strlen(d->role) + 1);
    if (strcmp(d->role, "admin") != 0)
        for (i = 0; i < d->n_scope; i++)
            crypto_generichash_update(&h, (const uint8_t *)d->scope[i],
                                      strlen(d->scope[i]) + 1);
    crypto_generichash_final(&h, digest, sizeof digest);
    fld_hex_encode(digest, sizeof digest, out);
}

/* ---- the gate
 * ------------------------------------------------------------------ */

int srv_contains_nocase(const char *s, const char *word)
{
    size_t n = strlen(word);

    for (; *s; s++)
        if (strncasecmp(s, word, n) == 0)
            return 1;
    return 0;
}

/* "application/json", optionally with parameters ("; charset=utf-8"). */
static int is_json_type(const char *ct)
{
    size_t n = strlen(SYN_CONTENT_TYPE);

    if (ct == NULL || strncasecmp(ct, SYN_CONTENT_TYPE, n) != 0)
        return 0;
    ct += n;
    while (*ct == ' ')
        ct++;
    if (*ct == '\0')
        return 1;
    if (*ct != ';')
        return 0;
    return !srv_contains_nocase(ct, "charset") ||
           srv_contains_nocase(ct, "utf-8");
}

/* What the gate lets through. */
struct authed {
    struct srv_device *device; /* NULL for enroll */
    struct syn_auth auth;
    struct fld_buf plain; /* the body, inflated when it was gzipped */
};

/* "application/octet-stream", optionally with parameters. */
static int is_octet_type(const char *ct)
{
    static const char octets[] = "application/octet-stream";
    size_t n = sizeof octets - 1;

    if (ct == NULL || strncasecmp(ct, octets, n) != 0)
        return 0;
    ct += n;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* A PUT's (a chunk of a photo, docs/PROTOCOL.md): raw bytes, never
 * gzipped (photos do not compress, and the offset counts raw bytes). */
static int check_octets(const struct srv_request *req,
                        struct srv_response *resp)
{
    if (!is_octet_type(req->content_type) ||
        (req->content_encoding != NULL && req->content_encoding[0] != '\0' &&
         strcasecmp(req->content_encoding, "identity") != 0)) {
        srv_api_error(resp, 415, "bad_content_type",
                      "a chunk must be application/octet-stream, not "
                      "compressed",
                      -1);
        return -1;
    }
    return 0;
}

/* A POST's content type and encoding (*gz: the body is gzipped). */
static int check_media(const struct srv_request *req, bool *gz,
                       struct srv_response *resp)
{
    *gz = false;
    if (strcmp(req->method, "PUT") == 0)
        return check_octets(req, resp);
    if (strcmp(req->method, "POST") != 0)
        return 0;
    if (!is_json_type(req->content_type)) {
        srv_api_error(resp, 415, "unsupported_media_type",
                      "the body must be application/json", -1);
        return -1;
    }
    if (req->content_encoding == NULL || req->content_encoding[0] == '\0')
        return 0;
    if (strcasecmp(req->content_encoding, "gzip") == 0) {
        *gz = true;
        return 0;
    }
    if (strcasecmp(req->content_encoding, "identity") != 0) {
        srv_api_error(resp, 415, "unsupported_encoding",
                      "Content-Encoding must be gzip or identity", -1);
        return -1;
    }
    return 0;
}

/* The signature over the request target: the path, and "?" and the query
 * when there is one, so that nobody can change what a GET asks for. */
static int verify_target(const struct authed *a, const struct srv_request *req,
                         struct fld_err *err)
{
    char *target = req->query == NULL
                       ? fld_xstrdup(req->path)
                       : fld_xasprintf("%s?%s", req->path, req->query);
    int rc;

    /* a chunk of a photo: the attachment's name vouches for its bytes */
    if (srv_api_is_upload(req->method, req->path))
        rc = syn_request_verify_unsigned(&a->auth, req->method, target, err);
    else
        rc = syn_request_verify(&a->auth, req->method, target, req->body,
                                req->body_len, err);
    free(target);
    return rc;
}

/*
 * The X-Field headers and the clock: who claims to have signed req, and
 * when. A request signed before this process started is refused like a
 * wrong clock: the process before may have seen it, and its replay cache
 * is gone (see "Replays" in docs/SECURITY.md for why this, and not a
 * replay cache kept in the database that every GET would write to).
 */
static int check_claim(struct srv *s, const struct srv_request *req,
                       struct srv_response *resp, struct syn_auth *auth)
{
    struct fld_err err;
    int64_t now = fld_now_ms();
    char msg[160];
    int rc;

    fld_err_clear(&err);
    rc = syn_auth_parse(req->device, req->time, req->signature, auth, &err);
    if (rc != FLD_OK) {
        srv_api_error(resp, 401,
                      rc == FLD_NOTFOUND ? "unsigned" : "bad_auth_header",
                      err.msg, -1);
        return -1;
    }
    snprintf(resp->device, sizeof resp->device, "%.16s", auth->device);
    if (auth->time_ms > now + s->cfg.skew_ms ||
        auth->time_ms < now - s->cfg.skew_ms) {
        snprintf(msg, sizeof msg,
                 "the request's time is %+" PRId64 " ms from the server's; "
                 "correct the clock by server_time and retry",
                 auth->time_ms - now);
        srv_api_error(resp, 401, "clock_skew", msg, now);
        return -1;
    }
    if (auth->time_ms < s->start_ms) {
        srv_api_error(resp, 401, "clock_skew",
                      "the request was signed before the server started; "
                      "sign it again with server_time",
                      now);
        return -1;
    }
    return 0;
}

/* The enrolled device that auth names, into *out. */
static int find_device(struct srv_storage *st, const struct syn_auth *auth,
                       struct srv_response *resp, struct srv_device **out)
{
    struct fld_err err;
    int rc;

    fld_err_clear(&err);
    rc = srv_storage_device_get(st, auth->device, out, &err);
    if (rc == FLD_NOTFOUND) {
        srv_api_error(resp, 401, "unknown_device",
                      "this device is not enrolled", -1);
        return -1;
    }
    if (rc != FLD_OK) {
        internal_error(resp, rc, &err);
        return -1;
    }
    return 0;
}

static int check_revoked(const struct srv_device *d, struct srv_response *resp)
{
    if (d != NULL && d->revoked_ms) {
        srv_api_error(resp, 403, "revoked", "this device has been revoked", -1);
        return -1;
    }
    return 0;
}

/* A digest of the client's address, tagging its enrollment signatures. */
static uint64_t client_tag(const char *client)
{
    uint8_t h[crypto_shorthash_BYTES];
    static const uint8_t key[crypto_shorthash_KEYBYTES];
    uint64_t v;

    if (client == NULL)
        client = "";
    crypto_shorthash(h, (const unsigned char *)client, strlen(client), key);
    memcpy(&v, h, sizeof v);
    return v | 1; /* never 0, the untagged owner */
}

/* Not seen before: enrollment signatures go to their own cache, bounded
 * per address (anyone can make a key and sign an attempt). */
static int check_replay(struct srv *s, const struct srv_request *req,
                        bool enrolling, struct srv_response *resp,
                        const struct syn_auth *auth)
{
    int64_t now = fld_now_ms();
    int rc;

    if (enrolling)
        rc = srv_replay_check_owned(
            s->enroll_replay, auth->sig, auth->time_ms + s->cfg.skew_ms, now,
            client_tag(req->client), s->cfg.enroll_per_ip);
    else
        rc = srv_replay_check(s->replay, auth->sig,
                              auth->time_ms + s->cfg.skew_ms, now);
    if (rc == FLD_EXISTS) {
        srv_api_error(resp, 401, "replayed",
                      "this exact request was received before", -1);
        return -1;
    }
    if (rc == FLD_EBUSY) {
        srv_api_error(resp, 429, "too_many_requests",
                      "too many enrollment attempts from this address; "
                      "retry later",
                      -1);
        return -1;
    }
    if (rc != FLD_OK) {
        srv_api_error(resp, 503, "busy", "too many requests; retry", -1);
        return -1;
    }
    return 0;
}

int srv_api_check_replay(struct srv *s, const struct syn_auth *auth,
                         struct srv_response *resp)
{
    struct srv_request req;

    memset(&req, 0, sizeof req);
    return check_replay(s, &req, false, resp, auth);
}

/*
 * Who signed req, and whether they may: the X-Field headers, the clock,
 * the device (unless enrolling), the signature over the body as received,
 * a replay, a revocation. Fills a->auth and a->device.
 */
static int check_signer(struct srv *s, struct srv_storage *st,
                        const struct srv_request *req, bool enrolling,
                        struct srv_response *resp, struct authed *a)
{
    struct fld_err err;

    fld_err_clear(&err);
    if (check_claim(s, req, resp, &a->auth) != 0)
        return -1;
    if (!enrolling && find_device(st, &a->auth, resp, &a->device) != 0)
        return -1;
    if (verify_target(a, req, &err) != FLD_OK) {
        srv_api_error(resp, 401, "bad_signature", err.msg, -1);
        return -1;
    }
    /* A streamed chunk is checked for a replay at its end (api.h). */
    if (!req->is_streamed &&
        check_replay(s, req, enrolling, resp, &a->auth) != 0)
        return -1;
    return check_revoked(a->device, resp);
}

/* The body under the caps into a->plain, inflated when gz; a POST's must
 * be UTF-8 JSON no deeper than SYN_MAX_DEPTH. */
static int read_body(struct srv *s, const struct srv_request *req, bool gz,
                     struct srv_response *resp, struct authed *a)
{
    struct fld_err err;
    int rc;

    fld_err_clear(&err);
    if (req->body_len > s->cfg.max_body) {
        srv_api_error(resp, 413, "too_large", "the body is too large", -1);
        return -1;
    }
    /* A chunk of a photo is written from where it was received: a copy
     * would double what a 8 MiB chunk holds in memory. */
    if (strcmp(req->method, "PUT") == 0)
        return 0;
    if (gz) {
        rc = syn_gunzip(req->body, req->body_len, s->cfg.max_inflated,
                        &a->plain, &err);
        if (rc == FLD_ELIMIT) {
            srv_api_error(resp, 413, "too_large", err.msg, -1);
            return -1;
        }
        if (rc != FLD_OK) {
            srv_api_error(resp, 400, "bad_gzip", err.msg, -1);
            return -1;
        }
    } else if (req->body_len) {
        fld_buf_append(&a->plain, req->body, req->body_len);
    }
    if (strcmp(req->method, "POST") != 0)
        return 0;
    rc = syn_json_precheck(a->plain.data, a->plain.len, SYN_MAX_DEPTH, &err);
    if (rc == FLD_ELIMIT) {
        srv_api_error(resp, 400, "too_deep", err.msg, -1);
        return -1;
    }
    if (rc != FLD_OK) {
        srv_api_error(resp, 400, "bad_utf8", err.msg, -1);
        return -1;
    }
    return 0;
}

/*
 * The gate, in the order the top of this file lists: authenticate req and
 * decode its body into a->plain. Returns 0 to go on, -1 when resp holds
 * the refusal. enrolling: the device need not be enrolled (it proves it
 * holds the key it is enrolling).
 */
static int gate_checks(struct srv *s, struct srv_storage *st,
                       const struct srv_request *req, bool enrolling,
                       struct srv_response *resp, struct authed *a)
{
    bool gz;

    memset(a, 0, sizeof *a);
    if (check_media(req, &gz, resp) != 0)
        return -1;
    if (check_signer(s, st, req, enrolling, resp, a) != 0)
        return -1;
    return read_body(s, req, gz, resp, a);
}

static void authed_free(struct authed *a)
{
    srv_device_free(a->device);
    a->device = NULL;
    fld_buf_free(&a->plain);
}

/* gate_checks(), releasing what it took when it refuses. */
static int gate(struct srv *s, struct srv_storage *st,
                const struct srv_request *req, bool enrolling,
                struct srv_response *resp, struct authed *a)
{
    if (gate_checks(s, st, req, enrolling, resp, a) == 0)
        return 0;
    authed_free(a);
    return -1;
}

void srv_api_decode_error(struct srv_response *resp, int rc,
                          const struct fld_err *err)
{
    if (rc == FLD_EPROTO)
        srv_api_error(resp, 400, "bad_json", err->msg, -1);
    else if (rc == FLD_ELIMIT)
        srv_api_error(resp, 413, "too_large", err->msg, -1);
    else
        srv_api_error(resp, 400, "bad_request", err->msg, -1);
}

/* ---- POST /v1/enroll (api_enroll.c) -------------------------------------
 */

static void handle_enroll(struct srv *s, struct srv_storage *st,
                          const struct srv_request *req, struct authed *a,
                          struct srv_response *resp)
{
    (void)req;
    srv_api_enroll(s, st, a->plain.data, a->plain.len, a->auth.device, resp);
}

/* ---- POST /v1/sync
 * ------------------------------------------------------------ */

struct page {
    struct syn_sync_response *r;
    size_t cap;
    int64_t limit;
    bool more;
};

static int page_add(void *ctx, int64_t seq, const uint8_t *body, size_t len,
                    const uint8_t *sig)
{
    struct page *pg = ctx;
    struct syn_sync_response *r = pg->r;

    if ((int64_t)r->n_pull == pg->limit) {
        pg->more = true; /* the extra row asked for: another page waits */
        return FLD_OK;
    }
    if (r->n_pull == pg->cap) {
        pg->cap = pg->cap ? 2 * pg->cap : 16;
        r->pull = fld_xreallocarray(r->pull, pg->cap, sizeof *r->pull);
    }
    syn_item_set(&r->pull[r->n_pull], body, len, sig);
    r->pull[r->n_pull].seq = seq;
    r->n_pull++;
    return FLD_OK;
}

/* Free what a response built on the stack holds. */
static void response_parts_free(struct syn_sync_response *r)
{
    size_t i;

    for (i = 0; i < r->n_results; i++)
        free(r->results[i].message);
    free(r->results);
    for (i = 0; i < r->n_pull; i++)
        free(r->pull[i].body);
    free(r->pull);
}

/*
 * Where this request's pull starts: the cursor it sent, or a new one
 * (position 0, born at the newest sequence number) when it sent none or
 * one of another epoch or scope (*reset is set then). Returns 0, or -1
 * with the refusal in resp.
 */
static int start_cursor(struct srv *s, struct srv_storage *st, const char *text,
                        const struct srv_device *d, struct srv_cursor *cur,
                        bool *reset, struct srv_response *resp)
{
    struct srv_cursor now_cur;
    char scope[17];
    struct fld_err err;
    int64_t max_seq;
    int rc;

    fld_err_clear(&err);
    srv_scope_digest(d, scope);
    if ((rc = srv_storage_max_seq(st, &max_seq, &err)) != FLD_OK) {
        internal_error(resp, rc, &err);
        return -1;
    }
    memset(&now_cur, 0, sizeof now_cur);
    memcpy(now_cur.epoch, s->epoch, sizeof now_cur.epoch);
    memcpy(now_cur.scope, scope, sizeof now_cur.scope);
    now_cur.pos = 0;
    now_cur.birth = max_seq;
    if (text == NULL) {
        *cur = now_cur;
    } else if (srv_cursor_decode(text, cur) != FLD_OK) {
        srv_api_error(resp, 400, "bad_cursor",
                      "the cursor was not issued by this server", -1);
        return -1;
    } else if (strcmp(cur->epoch, s->epoch) != 0 ||
               strcmp(cur->scope, scope) != 0) {
        /* Another epoch (the server was restored from a backup) or another
         * scope: the old position means nothing now. */
        *reset = true;
        *cur = now_cur;
    }
    return 0;
}

/*
 * Pull one page of at most limit versions after cur into out (its pull
 * and more), and move cur past it. Storage is asked for one row more than
 * the limit, to learn whether more wait without a second query.
 */
static int pull_page(struct srv_storage *st, const struct srv_device *d,
                     int64_t limit, struct srv_cursor *cur,
                     struct syn_sync_response *out, struct fld_err *err)
{
    struct srv_pull_query q;
    struct page pg;
    int64_t max_seq;
    int rc;

    memset(&pg, 0, sizeof pg);
    pg.r = out;
    pg.limit = limit;
    q.device = d->pubkey;
    q.all_units = strcmp(d->role, "admin") == 0;
    q.after = cur->pos;
    q.birth = cur->birth;
    q.limit = limit + 1;
    /* Every version at or below max_seq is committed and visible to the
     * pull that follows (SQLite has one writer, and numbers rows as they
     * are written). */
    if ((rc = srv_storage_max_seq(st, &max_seq, err)) != FLD_OK)
        return rc;
    if ((rc = srv_storage_pull(st, &q, page_add, &pg, err)) != FLD_OK)
        return rc;
    if (out->n_pull > 0)
        cur->pos = out->pull[out->n_pull - 1].seq;
    /* A complete page has looked at every row up to max_seq, the device's
     * own pushes included: move past them all, or each later request would
     * walk the device's whole history again only to skip it. */
    if (!pg.more && max_seq > cur->pos)
        cur->pos = max_seq;
    out->more = pg.more;
    return FLD_OK;
}

/*
 * POST /v1/sync: push, then pull one page, in one round trip. The pushed
 * versions are verified and stored by push.c (a result each); the pull
 * starts from the request's cursor, or afresh ("reset") when the cursor
 * belongs to another epoch or scope, and never sends a device what it
 * pushed itself since the cursor was born.
 */
static void handle_sync(struct srv *s, struct srv_storage *st,
                        const struct srv_request *req, struct authed *a,
                        struct srv_response *resp)
{
    struct syn_sync_request *sr = NULL;
    struct syn_sync_response out;
    struct srv_cursor cur;
    char text[SYN_MAX_CURSOR + 1];
    struct fld_err err;
    int rc;

    (void)req;
    memset(&out, 0, sizeof out);
    fld_err_clear(&err);
    rc = syn_sync_request_decode(a->plain.data, a->plain.len, &sr, &err);
    if (rc != FLD_OK) {
        srv_api_decode_error(resp, rc, &err);
        goto out;
    }
    if (start_cursor(s, st, sr->cursor, a->device, &cur, &out.reset, resp))
        goto out;
    out.results = fld_xcalloc(sr->n_push ? sr->n_push : 1, sizeof *out.results);
    out.n_results = sr->n_push;
    rc = srv_push(s, st, a->device, sr->push, sr->n_push, out.results, &err);
    if (rc == FLD_OK)
        rc = pull_page(st, a->device, sr->limit, &cur, &out, &err);
    /* the newest threshold revision: a device fetches only when it moved */
    if (rc == FLD_OK)
        rc = srv_storage_thresholds_max_seq(st, &out.thresholds, &err);
    if (rc != FLD_OK) {
        internal_error(resp, rc, &err);
        goto out;
    }
    srv_cursor_encode(&cur, text, sizeof text);
    out.cursor = text;
    out.server_time = fld_now_ms();
    syn_sync_response_encode(&out, srv_api_ok_body(resp));
    out.cursor = NULL;
out:
    response_parts_free(&out);
    syn_sync_request_free(sr);
}

/* ---- GET /v1/templates, /v1/templates/{hash}, /v1/units
 * ------------------------ */

cJSON *srv_api_list_new(const char *key, cJSON **arr)
{
    cJSON *root = cJSON_CreateObject();

    if (root == NULL)
        abort(); /* out of memory */
    *arr = cJSON_AddArrayToObject(root, key);
    if (*arr == NULL)
        abort();
    return root;
}

/* Answer {"key": [...]} with every row walk() adds to the array. */
static void
list_ok(struct srv_storage *st, struct srv_response *resp, const char *key,
        int (*walk)(struct srv_storage *st, cJSON *arr, struct fld_err *err))
{
    struct fld_err err;
    cJSON *root, *arr;
    int rc;

    fld_err_clear(&err);
    root = srv_api_list_new(key, &arr);
    rc = walk(st, arr, &err);
    if (rc != FLD_OK) {
        cJSON_Delete(root);
        internal_error(resp, rc, &err);
        return;
    }
    srv_api_json_ok(resp, root);
}

static int add_template(void *ctx, const struct srv_template_row *t)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || !cJSON_AddStringToObject(o, "id", t->id) ||
        !cJSON_AddStringToObject(o, "version", t->version) ||
        !cJSON_AddStringToObject(o, "hash", t->hash))
        abort();
    cJSON_AddItemToArray(ctx, o);
    return FLD_OK;
}

static int walk_templates(struct srv_storage *st, cJSON *arr,
                          struct fld_err *err)
{
    return srv_storage_each_template(st, add_template, arr, err);
}

static void handle_templates(struct srv *s, struct srv_storage *st,
                             const struct srv_request *req, struct authed *a,
                             struct srv_response *resp)
{
    (void)s;
    (void)req;
    (void)a;
    list_ok(st, resp, "templates", walk_templates);
}

static void handle_template(struct srv *s, struct srv_storage *st,
                            const struct srv_request *req, struct authed *a,
                            struct srv_response *resp)
{
    const char *hash = req->path + strlen("/v1/templates/");
    struct fld_err err;
    uint8_t *body;
    size_t len;
    int rc;

    (void)s;
    (void)a;
    fld_err_clear(&err);
    if (!fld_is_hex(hash, FLD_HASH_HEX_LEN)) {
        srv_api_error(resp, 404, "not_found",
                      "templates are named by their hash", -1);
        return;
    }
    rc = srv_storage_template_get(st, hash, &body, &len, &err);
    if (rc == FLD_NOTFOUND) {
        srv_api_error(resp, 404, "not_found", "no such template", -1);
    } else if (rc != FLD_OK) {
        internal_error(resp, rc, &err);
    } else {
        fld_buf_append(srv_api_ok_body(resp), body, len);
        free(body);
    }
}

/* Text, or JSON null for NULL; out of memory aborts. */
static void add_text_or_null(cJSON *o, const char *key, const char *v)
{
    if (!(v ? cJSON_AddStringToObject(o, key, v)
            : cJSON_AddNullToObject(o, key)))
        abort();
}

/* The contract is in api.h. */
int srv_api_check_scope(struct srv_storage *st, const struct srv_device *d,
                        const char *unit, struct srv_response *resp)
{
    struct fld_err err;
    bool exists, in = false;
    char msg[160];
    int rc;

    fld_err_clear(&err);
    if (unit == NULL || strcmp(d->role, "admin") == 0)
        return 0;
    rc = srv_storage_unit_exists(st, unit, &exists, &err);
    if (rc == FLD_OK && exists)
        rc = srv_storage_in_scope(st, d->pubkey, unit, &in, &err);
    if (rc != FLD_OK) {
        srv_api_failure(resp, rc, &err);
        return -1;
    }
    if (!exists) {
        snprintf(msg, sizeof msg, "no unit %.64s", unit);
        srv_api_error(resp, 404, "unknown_unit", msg, -1);
        return -1;
    }
    if (!in) {
        snprintf(msg, sizeof msg,
                 "unit %.64s is outside the scope this device was enrolled "
                 "for",
                 unit);
        srv_api_error(resp, 403, "out_of_scope", msg, -1);
        return -1;
    }
    return 0;
}

cJSON *srv_api_unit_json(const struct srv_unit *u)
{
    cJSON *o = cJSON_CreateObject();
    const char *kind = u->kind ? u->kind : "";

    if (o == NULL || !cJSON_AddStringToObject(o, "code", u->code) ||
        !cJSON_AddStringToObject(o, "name", u->name) ||
        !cJSON_AddStringToObject(o, "level", kind) ||
        !cJSON_AddStringToObject(o, "kind", kind))
        abort();
    add_text_or_null(o, "parent", u->parent);
    add_text_or_null(o, "valid_from", u->valid_from);
    add_text_or_null(o, "valid_to", u->valid_to);
    if (!cJSON_AddBoolToObject(o, "in_programme", u->in_programme))
        abort();
    add_text_or_null(o, "merged_into", u->merged_into);
    return o;
}

static int add_unit(void *ctx, const struct srv_unit *u)
{
    cJSON_AddItemToArray(ctx, srv_api_unit_json(u));
    return FLD_OK;
}

static int walk_units(struct srv_storage *st, cJSON *arr, struct fld_err *err)
{
    return srv_storage_each_unit(st, add_unit, arr, err);
}

static void handle_units(struct srv *s, struct srv_storage *st,
                         const struct srv_request *req, struct authed *a,
                         struct srv_response *resp)
{
    (void)s;
    (void)req;
    (void)a;
    list_ok(st, resp, "units", walk_units);
}

/* ---- GET /v1/export ---------------------------------------------------------
 */

static void handle_export(struct srv *s, struct srv_storage *st,
                          const struct srv_request *req, struct authed *a,
                          struct srv_response *resp)
{
    (void)s;
    srv_export_answer(st, a->device, req->query, resp);
}

/* ---- GET /v1/report (api_report.c) ---------------------------------------
 */

static void handle_report(struct srv *s, struct srv_storage *st,
                          const struct srv_request *req, struct authed *a,
                          struct srv_response *resp)
{
    (void)s;
    srv_api_report(st, a->device, req->query, resp);
}

/* ---- GET /v1/thresholds?after=SEQ -------------------------------------------
 */

/* The province's threshold revisions after a server sequence number (all
 * without one), a page at a time: devices fetch them when a sync answer
 * announces a newer one than they have seen. The query is signed with the
 * path (query.h), so nobody on the way can change what is asked. */
static void handle_thresholds(struct srv *s, struct srv_storage *st,
                              const struct srv_request *req, struct authed *a,
                              struct srv_response *resp)
{
    static const char *const params[] = {"after", NULL};
    struct srv_query q;
    const char *arg;
    int64_t after = 0;
    struct fld_err err;
    char *end = NULL;
    int rc;

    (void)s;
    (void)a;
    fld_err_clear(&err);
    if (srv_query_parse(req->query, params, &q, &err) != FLD_OK) {
        srv_api_error(resp, 400, "bad_request", err.msg, -1);
        srv_query_free(&q);
        return;
    }
    if ((arg = srv_query_get(&q, "after")) != NULL) {
        if (arg[0] >= '0' && arg[0] <= '9' && strlen(arg) <= 16)
            after = strtoll(arg, &end, 10);
        if (end == NULL || *end != '\0') {
            srv_api_error(resp, 400, "bad_request",
                          "\"after\" must be a sequence number (0 or more)",
                          -1);
            srv_query_free(&q);
            return;
        }
    }
    srv_query_free(&q);
    if ((rc = srv_thresholds_page(st, after, srv_api_ok_body(resp), &err)) !=
        FLD_OK)
        internal_error(resp, rc, &err);
}

/* ---- /v1/attachments (api_attach.c) ----------------------------------------
 */

static void handle_attach_state(struct srv *s, struct srv_storage *st,
                                const struct srv_request *req, struct authed *a,
                                struct srv_response *resp)
{
    (void)req;
    srv_api_attach_state(s, st, a->device, a->plain.data, a->plain.len, resp);
}

static void handle_attach_put(struct srv *s, struct srv_storage *st,
                              const struct srv_request *req, struct authed *a,
                              struct srv_response *resp)
{
    srv_api_attach_put(s, st, a->device, req, resp);
}

static void handle_attach_get(struct srv *s, struct srv_storage *st,
                              const struct srv_request *req, struct authed *a,
                              struct srv_response *resp)
{
    srv_api_attach_get(s, st, a->device, req, resp);
}

/* ---- GET /v1/health, /metrics -----------------------------------------------
 */

static void handle_health(struct srv *s, struct srv_storage *st,
                          const struct srv_request *req, struct authed *a,
                          struct srv_response *resp)
{
    struct srv_counts c;
    struct fld_err err;
    cJSON *root;
    int rc;

    (void)req;
    (void)a;
    fld_err_clear(&err);
    /* Reading the database proves more than answering from memory. */
    if ((rc = srv_storage_counts(st, &c, &err)) != FLD_OK) {
        srv_api_error(resp, 503, "unhealthy", err.msg, -1);
        return;
    }
    root = cJSON_CreateObject();
    if (root == NULL || !cJSON_AddStringToObject(root, "status", "ok") ||
        !cJSON_AddStringToObject(root, "epoch", s->epoch) ||
        !cJSON_AddNumberToObject(root, "server_time", (double)fld_now_ms()))
        abort();
    srv_api_json_ok(resp, root);
}

static void handle_metrics(struct srv *s, struct srv_storage *st,
                           const struct srv_request *req, struct authed *a,
                           struct srv_response *resp)
{
    struct srv_counts c;
    int rc = srv_storage_counts(st, &c, NULL);

    (void)req;
    (void)a;
    fld_buf_reset(&resp->body);
    srv_metrics_write(s->metrics, rc == FLD_OK ? &c : NULL, &resp->body);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- routes and dispatch
 * --------------------------------------------------------- */

/* Who may call a route. */
enum access {
    OPEN,      /* anyone: monitoring */
    ENROLLING, /* signed by the key being enrolled */
    ENROLLED   /* signed by an enrolled device that is not revoked */
};

static const struct route {
    const char *path; /* exact; a prefix when it ends with '/' */
    enum srv_route route;
    const char *method; /* GET also answers HEAD */
    enum access access;
    void (*handle)(struct srv *s, struct srv_storage *st,
                   const struct srv_request *req, struct authed *a,
                   struct srv_response *resp);
} routes[] = {
    {"/v1/enroll", SRV_ROUTE_ENROLL, "POST", ENROLLING, handle_enroll},
    {"/v1/sync", SRV_ROUTE_SYNC, "POST", ENROLLED, handle_sync},
    {"/v1/templates", SRV_ROUTE_TEMPLATES, "GET", ENROLLED, handle_templates},
    {"/v1/templates/", SRV_ROUTE_TEMPLATE, "GET", ENROLLED, handle_template},
    {"/v1/units", SRV_ROUTE_UNITS, "GET", ENROLLED, handle_units},
    {"/v1/thresholds", SRV_ROUTE_THRESHOLDS, "GET", ENROLLED,
     handle_thresholds},
    {"/v1/export", SRV_ROUTE_EXPORT, "GET", ENROLLED, handle_export},
    {"/v1/report", SRV_ROUTE_REPORT, "GET", ENROLLED, handle_report},
    /* the exact path before the prefix it falls under */
    {"/v1/attachments/state", SRV_ROUTE_ATTACH_STATE, "POST", ENROLLED,
     handle_attach_state},
    {"/v1/attachments/", SRV_ROUTE_ATTACHMENT, "PUT", ENROLLED,
     handle_attach_put},
    {"/v1/attachments/", SRV_ROUTE_ATTACHMENT, "GET", ENROLLED,
     handle_attach_get},
    {"/v1/health", SRV_ROUTE_HEALTH, "GET", OPEN, handle_health},
    {"/metrics", SRV_ROUTE_METRICS, "GET", OPEN, handle_metrics},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

static bool method_allowed(const struct route *r, const char *method)
{
    if (strcmp(method, r->method) == 0)
        return true;
    return strcmp(r->method, "GET") == 0 && strcmp(method, "HEAD") == 0;
}

static bool path_matches(const struct route *r, const char *path)
{
    size_t len = strlen(r->path);

    if (r->path[len - 1] == '/')
        return strncmp(path, r->path, len) == 0;
    return strcmp(path, r->path) == 0;
}

/* The route of path: the first one taking method (NULL: any), else the
 * first of that path (which then answers 405). A path served by two
 * methods has two entries. */
static const struct route *find_route(const char *path, const char *method)
{
    const struct route *first = NULL;
    size_t i;

    for (i = 0; i < N_ROUTES; i++) {
        if (!path_matches(&routes[i], path))
            continue;
        if (method == NULL || method_allowed(&routes[i], method))
            return &routes[i];
        if (first == NULL)
            first = &routes[i];
    }
    return first;
}

enum srv_route srv_api_route(const char *path)
{
    const struct route *r = find_route(path, NULL);

    return r ? r->route : SRV_ROUTE_OTHER;
}

/* The route of req, or NULL with the refusal (404, 405) in resp. */
static const struct route *route_of(const struct srv_request *req,
                                    struct srv_response *resp)
{
    const struct route *r = find_route(req->path, req->method);
    char msg[64];

    resp->route = r ? r->route : SRV_ROUTE_OTHER;
    resp->error[0] = '\0';
    resp->device[0] = '\0';
    if (r == NULL) {
        srv_api_error(resp, 404, "not_found", "no such endpoint", -1);
        return NULL;
    }
    if (!method_allowed(r, req->method)) {
        snprintf(msg, sizeof msg, "use %s for %s", r->method, req->path);
        srv_api_error(resp, 405, "method_not_allowed", msg, -1);
        return NULL;
    }
    return r;
}

int srv_api_admit(struct srv *s, const struct srv_request *req,
                  size_t *max_body, struct srv_response *resp)
{
    const struct route *r = route_of(req, resp);
    struct srv_storage *st = NULL;
    struct srv_device *d = NULL;
    struct syn_auth auth;
    struct fld_err err;
    bool gz;
    int rc;

    *max_body = 0;
    if (r == NULL)
        return -1;
    if (strcmp(r->method, "GET") == 0)
        return 0; /* a GET carries no body */
    if (check_media(req, &gz, resp) != 0)
        return -1;
    if (check_claim(s, req, resp, &auth) != 0)
        return -1;
    if (r->access == ENROLLING) {
        *max_body = s->cfg.max_body < SRV_ENROLL_MAX_BODY ? s->cfg.max_body
                                                          : SRV_ENROLL_MAX_BODY;
        return 0;
    }
    fld_err_clear(&err);
    if ((rc = srv_acquire(s, &st, &err)) != FLD_OK) {
        internal_error(resp, rc, &err);
        return -1;
    }
    rc = find_device(st, &auth, resp, &d);
    srv_release(s, st);
    if (rc == 0)
        rc = check_revoked(d, resp);
    srv_device_free(d);
    if (rc != 0)
        return -1;
    *max_body = s->cfg.max_body;
    /* a chunk of a photo: at most 8 MiB, streamed to disk (docs/PROTOCOL.md) */
    if (strcmp(r->method, "PUT") == 0)
        *max_body = SRV_ATTACH_MAX_CHUNK;
    return 0;
}

bool srv_api_is_upload(const char *method, const char *path)
{
    return strcmp(method, "PUT") == 0 &&
           srv_api_route(path) == SRV_ROUTE_ATTACHMENT;
}

struct srv_upload *srv_api_upload_begin(struct srv *s,
                                        const struct srv_request *req,
                                        uint64_t len, struct srv_response *resp)
{
    const struct route *r = route_of(req, resp);
    struct srv_upload *u = NULL;
    struct srv_storage *st = NULL;
    struct authed a;
    struct fld_err err;
    int rc;

    assert(r != NULL && srv_api_is_upload(req->method, req->path));
    fld_err_clear(&err);
    if ((rc = srv_acquire(s, &st, &err)) != FLD_OK) {
        internal_error(resp, rc, &err);
        return NULL;
    }
    if (gate(s, st, req, false, resp, &a) == 0) {
        u = srv_api_attach_begin(s, st, a.device, &a.auth, req, len, resp);
        authed_free(&a);
    }
    srv_release(s, st);
    if (resp->error[0])
        srv_metrics_refusal(s->metrics, "request", resp->error);
    return u;
}

void srv_api_upload_end(struct srv *s, struct srv_upload *u,
                        struct srv_response *resp)
{
    struct srv_storage *st = NULL;
    struct fld_err err;
    int rc;

    resp->route = SRV_ROUTE_ATTACHMENT;
    fld_err_clear(&err);
    if ((rc = srv_acquire(s, &st, &err)) != FLD_OK) {
        srv_api_upload_abort(u);
        internal_error(resp, rc, &err);
        return;
    }
    srv_api_attach_end(u, st, resp);
    srv_release(s, st);
    if (resp->error[0])
        srv_metrics_refusal(s->metrics, "request", resp->error);
}

void srv_api_handle(struct srv *s, const struct srv_request *req,
                    struct srv_response *resp)
{
    const struct route *r = route_of(req, resp);
    struct srv_storage *st = NULL;
    struct authed a;
    struct fld_err err;
    int rc;

    if (r == NULL)
        return;
    fld_err_clear(&err);
    if ((rc = srv_acquire(s, &st, &err)) != FLD_OK) {
        internal_error(resp, rc, &err);
        return;
    }
    memset(&a, 0, sizeof a);
    if (r->access == OPEN) {
        r->handle(s, st, req, &a, resp);
    } else if (gate(s, st, req, r->access == ENROLLING, resp, &a) == 0) {
        r->handle(s, st, req, &a, resp);
        authed_free(&a);
    }
    srv_release(s, st);
    if (resp->error[0])
        srv_metrics_refusal(s->metrics, "request", resp->error);
}
