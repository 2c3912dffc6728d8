/*
 * ui_server.c - libmicrohttpd glue of `field ui` (see ui_server.h): the
 * embedded files, sessions, CSRF, pairing, the Host check and the headers
 * every response carries. The API's meaning is ui_api.c's.
 *
 * Care copied from the server (server-stub/http.c), scaled to one person's
 * browser: a Content-Length over FLD_UI_MAX_BODY (for a photo's upload,
 * FLD_UI_MAX_PHOTO) is refused from the headers (413) and a chunked body that
 * grows past it is read to its end and dropped, then refused; an idle
 * connection is closed after IDLE_TIMEOUT_S; connections and the memory for
 * each one's headers are capped. Nothing is logged: a request's body may hold
 * answers, and the terminal is `field ui`'s own.
 *
 * One thread (MHD_USE_INTERNAL_POLLING_THREAD, no pool) serves every
 * request in turn, so the store, the session table and the pairing state
 * are touched by that thread alone and need no lock.
 */
#include "ui_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "buf.h"
#include "ui_api.h"
#include "ui_photos.h"
#include "ui_report.h"
#include "ui_sync.h"

#define IDLE_TIMEOUT_S 30
#define MAX_CONNECTIONS 64
#define PER_IP_CONNECTIONS 32
#define CONN_MEMORY (64 * 1024)

/* No inline script or style anywhere: the page's code is app.js. */
#define CSP                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; "                \
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "            \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct fld_ui_server {
    struct cmd_ctx *ctx;
    struct MHD_Daemon *d;
    char listen[INET6_ADDRSTRLEN];
    int port;
    bool needs_pairing; /* off loopback, or asked for (--pair) */
    struct fld_ui_sessions sessions;
    struct fld_ui_pairing pairing;
    struct fld_ui_sync *sync;     /* the sync button's thread (ui_sync.h) */
    struct fld_ui_report *report; /* the report's fetch (ui_report.h) */
};

/* One request, from its headers to its end. */
struct req {
    struct fld_buf body;
    size_t cap; /* the largest body taken: FLD_UI_MAX_BODY, or a photo's */
    bool is_too_large;
};

static int64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- the pure parts ------------------------------------------------------ */

/* The token of exactly 2 * FLD_UI_TOKEN_LEN hex digits at s; false if not. */
static bool unhex_token(const char *s, size_t len,
                        uint8_t out[FLD_UI_TOKEN_LEN])
{
    size_t bin_len;

    if (len != 2 * FLD_UI_TOKEN_LEN)
        return false;
    return sodium_hex2bin(out, FLD_UI_TOKEN_LEN, s, len, NULL, &bin_len,
                          NULL) == 0 &&
           bin_len == FLD_UI_TOKEN_LEN;
}

struct fld_ui_session *fld_ui_session_new(struct fld_ui_sessions *ss,
                                          int64_t now)
{
    struct fld_ui_session *s = &ss->s[0];
    size_t i;

    for (i = 0; i < FLD_UI_SESSIONS_MAX; i++) {
        if (!ss->s[i].is_used) {
            s = &ss->s[i];
            break;
        }
        if (ss->s[i].created_ms < s->created_ms)
            s = &ss->s[i];
    }
    randombytes_buf(s->id, sizeof s->id);
    randombytes_buf(s->csrf, sizeof s->csrf);
    s->created_ms = now;
    s->is_used = true;
    return s;
}

struct fld_ui_session *fld_ui_session_find(struct fld_ui_sessions *ss,
                                           const char *cookie)
{
    static const char name[] = FLD_UI_COOKIE "=";
    uint8_t id[FLD_UI_TOKEN_LEN];
    const char *p = cookie;
    size_t i, len;

    /* Cookie: a=1; field_ui=HEX; b=2 */
    while (p != NULL && *p != '\0') {
        p += strspn(p, " \t;");
        len = strcspn(p, ";");
        if (strncmp(p, name, sizeof name - 1) == 0 &&
            unhex_token(p + sizeof name - 1, len - (sizeof name - 1), id)) {
            for (i = 0; i < FLD_UI_SESSIONS_MAX; i++)
                if (ss->s[i].is_used &&
                    sodium_memcmp(ss->s[i].id, id, sizeof id) == 0)
                    return &ss->s[i];
        }
        p += len;
    }
    return NULL;
}

bool fld_ui_csrf_ok(const struct fld_ui_session *s, const char *header)
{
    uint8_t token[FLD_UI_TOKEN_LEN];

    if (s == NULL || header == NULL ||
        !unhex_token(header, strlen(header), token))
        return false;
    return sodium_memcmp(token, s->csrf, sizeof token) == 0;
}

void fld_ui_pairing_new(struct fld_ui_pairing *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->code, sizeof p->code, "%08u",
             (unsigned)randombytes_uniform(100000000u));
}

int fld_ui_pair(struct fld_ui_pairing *p, const char *code, int64_t now,
                int64_t *wait_ms)
{
    int64_t wait;
    bool is_right;

    *wait_ms = 0;
    if (p->is_spent)
        return FLD_EXISTS;
    if (now < p->not_before) {
        *wait_ms = p->not_before - now;
        return FLD_EBUSY;
    }
    is_right = code != NULL && strlen(code) == FLD_UI_PAIR_DIGITS &&
               sodium_memcmp(code, p->code, FLD_UI_PAIR_DIGITS) == 0;
    if (is_right) {
        p->is_spent = true;
        sodium_memzero(p->code, sizeof p->code);
        return FLD_OK;
    }
    p->failures++;
    if (p->failures >= FLD_UI_PAIR_FREE) {
        /* 1 s after the fifth wrong code, then 2, 4, 8 ... up to an hour */
        unsigned doublings = p->failures - FLD_UI_PAIR_FREE;

        wait = doublings >= 12 ? FLD_UI_PAIR_MAX_WAIT_MS
                               : (int64_t)1000 << doublings;
        if (wait > FLD_UI_PAIR_MAX_WAIT_MS)
            wait = FLD_UI_PAIR_MAX_WAIT_MS;
        p->not_before = now + wait;
        *wait_ms = wait;
    }
    return FLD_EPASS;
}

/* listen's bytes (4 or 16) in out; 0 when it is not numeric. */
static int parse_ip(const char *s, uint8_t out[16])
{
    if (inet_pton(AF_INET, s, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, s, out) == 1)
        return 16;
    return 0;
}

bool fld_ui_is_loopback(const char *listen)
{
    static const uint8_t v6_loopback[16] = {[15] = 1};
    uint8_t ip[16];
    int n = parse_ip(listen, ip);

    return (n == 4 && ip[0] == 127) ||
           (n == 16 && memcmp(ip, v6_loopback, 16) == 0);
}

static bool is_wildcard(const char *listen)
{
    static const uint8_t zero[16];
    uint8_t ip[16];
    int n = parse_ip(listen, ip);

    return n > 0 && memcmp(ip, zero, (size_t)n) == 0;
}

bool fld_ui_host_ok(const char *host, const char *listen, int port)
{
    char name[64], want[16];
    uint8_t a[16], b[16];
    const char *colon;
    size_t len;
    int n;

    if (host == NULL)
        return false;
    if (host[0] == '[') { /* [::1]:8080 */
        colon = strchr(host, ']');
        if (colon == NULL || colon[1] != ':')
            return false;
        len = (size_t)(colon - host - 1);
        host++;
        colon++;
    } else {
        colon = strrchr(host, ':');
        if (colon == NULL)
            return false;
        len = (size_t)(colon - host);
    }
    if (len == 0 || len >= sizeof name)
        return false;
    memcpy(name, host, len);
    name[len] = '\0';
    snprintf(want, sizeof want, "%d", port);
    if (strcmp(colon + 1, want) != 0)
        return false;
    if (strcmp(name, "localhost") == 0)
        return fld_ui_is_loopback(listen) || is_wildcard(listen);
    if ((n = parse_ip(name, a)) == 0)
        return false; /* a name: exactly what DNS rebinding uses */
    if (is_wildcard(listen))
        return true;
    return parse_ip(listen, b) == n && memcmp(a, b, (size_t)n) == 0;
}

/* ---- responses ----------------------------------------------------------- */

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot && strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (dot && strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (dot && strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (dot && strcmp(dot, ".svg") == 0)
        return "image/svg+xml";
    return "application/octet-stream";
}

/* Queue r with status, type and every security header, and a Set-Cookie
 * for session s when given. r stays the caller's to destroy. */
static enum MHD_Result queue_cached(struct MHD_Connection *c, int status,
                                    const char *type, struct MHD_Response *r,
                                    const struct fld_ui_session *s,
                                    const char *cache)
{
    char cookie[160], id[2 * FLD_UI_TOKEN_LEN + 1];

    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                            cache ? cache : "no-store");
    if (s != NULL) {
        fld_hex_encode(s->id, sizeof s->id, id);
        snprintf(cookie, sizeof cookie,
                 FLD_UI_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict", id);
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
        sodium_memzero(cookie, sizeof cookie);
    }
    return MHD_queue_response(c, (unsigned)status, r);
}

static enum MHD_Result queue(struct MHD_Connection *c, int status,
                             const char *type, struct MHD_Response *r,
                             const struct fld_ui_session *s)
{
    return queue_cached(c, status, type, r, s, NULL);
}

/* Queue data (copied unless is_static) as queue() does. */
static enum MHD_Result respond(struct MHD_Connection *c, int status,
                               const char *type, const void *data, size_t len,
                               bool is_static, const struct fld_ui_session *s)
{
    struct MHD_Response *r;
    enum MHD_Result ok;

    r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data,
                                        is_static ? MHD_RESPMEM_PERSISTENT
                                                  : MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    ok = queue(c, status, type, r, s);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_reply(struct MHD_Connection *c,
                                  const struct fld_ui_reply *reply,
                                  const struct fld_ui_session *s)
{
    struct MHD_Response *r;
    enum MHD_Result ok;
    char disposition[128];

    if (reply->type == NULL)
        return respond(c, reply->status, "application/json", reply->body.data,
                       reply->body.len, false, s);
    /* A file: the report's workbook to download (the same headers, and
     * Content-Disposition so that the browser saves it), or a photo to
     * show (with its own caching). */
    r = MHD_create_response_from_buffer(reply->body.len, reply->body.data,
                                        MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    if (reply->filename != NULL) {
        snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"",
                 reply->filename);
        MHD_add_response_header(r, "Content-Disposition", disposition);
    }
    ok = queue_cached(c, reply->status, reply->type, r, s, reply->cache);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status,
                                  const char *code, const char *vi,
                                  const char *en)
{
    struct fld_ui_reply reply = {0, FLD_BUF_INIT, NULL, NULL, NULL};
    enum MHD_Result ok;

    fld_ui_reply_error(&reply, status, code, vi, en, NULL);
    ok = send_reply(c, &reply, NULL);
    fld_buf_free(&reply.body);
    return ok;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static const char *argument(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- requests ------------------------------------------------------------ */

/* The web app's file for path, or NULL. */
static const struct fld_embedded *asset(const char *path)
{
    const struct fld_embedded *e;

    if (strcmp(path, "/") == 0)
        path = "/index.html";
    if (path[0] != '/' || strchr(path + 1, '/') != NULL)
        return NULL;
    for (e = fld_ui_files; e->name != NULL; e++)
        if (strcmp(e->name, path + 1) == 0)
            return e;
    return NULL;
}

/* Whether the client takes gzip: every browser says so; a client that
 * does not (curl without --compressed) gets the file inflated. */
static bool takes_gzip(struct MHD_Connection *c)
{
    const char *accept = header(c, MHD_HTTP_HEADER_ACCEPT_ENCODING);

    return accept != NULL && strstr(accept, "gzip") != NULL;
}

/* The embedded file e, sent as it is kept (gzip-compressed) where the
 * client takes that. */
static enum MHD_Result send_asset(struct MHD_Connection *c,
                                  const struct fld_embedded *e,
                                  const struct fld_ui_session *s)
{
    struct MHD_Response *r;
    unsigned char *data;
    bool gz = takes_gzip(c);
    enum MHD_Result ok;

    if (gz) {
        r = MHD_create_response_from_buffer(e->gz_len, (void *)(uintptr_t)e->gz,
                                            MHD_RESPMEM_PERSISTENT);
    } else {
        data = fld_embedded_inflate(e);
        r = MHD_create_response_from_buffer(e->len, data,
                                            MHD_RESPMEM_MUST_COPY);
        free(data);
    }
    if (r == NULL)
        return MHD_NO;
    if (gz)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    ok = queue(c, 200, content_type(e->name), r, s);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result serve_asset(struct fld_ui_server *h,
                                   struct MHD_Connection *c,
                                   const struct fld_embedded *e)
{
    const struct fld_ui_session *s = NULL;

    /* On loopback, the page itself opens a session: only a browser on this
     * machine, at an address the Host check accepted, gets here. */
    if (!h->needs_pairing && strcmp(e->name, "index.html") == 0 &&
        fld_ui_session_find(&h->sessions, header(c, "Cookie")) == NULL)
        s = fld_ui_session_new(&h->sessions, now_ms());
    return send_asset(c, e, s);
}

/* GET /api/session: the CSRF token and who this device is. */
static enum MHD_Result session_info(struct fld_ui_server *h,
                                    struct MHD_Connection *c,
                                    const struct fld_ui_session *s, int status,
                                    bool set_cookie)
{
    struct fld_ui_reply reply = {status, FLD_BUF_INIT, NULL, NULL, NULL};
    struct fld_json *o = fld_ui_api_session(h->ctx);
    char csrf[2 * FLD_UI_TOKEN_LEN + 1];
    enum MHD_Result ok;

    fld_hex_encode(s->csrf, sizeof s->csrf, csrf);
    fld_json_set(o, "csrf", fld_json_string(csrf));
    fld_json_set(o, "paired", fld_json_bool(h->needs_pairing));
    fld_json_write(o, &reply.body, NULL);
    fld_json_free(o);
    ok = send_reply(c, &reply, set_cookie ? s : NULL);
    fld_buf_free(&reply.body);
    return ok;
}

static bool is_json(struct MHD_Connection *c)
{
    const char *type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);

    return type != NULL &&
           strncmp(type, "application/json", strlen("application/json")) == 0;
}

/* POST /api/pair {"code": "12345678"}: a session for the right code. */
static enum MHD_Result pair(struct fld_ui_server *h, struct MHD_Connection *c,
                            const struct req *rq)
{
    struct fld_json *body = NULL;
    struct fld_err err;
    const char *code = NULL;
    char en[128], vi[160];
    int64_t wait;
    long long secs;
    int rc;

    if (!h->needs_pairing)
        return send_error(c, 404, "not_found",
                          "Không cần ghép nối trên máy này",
                          "no pairing on loopback");
    if (!is_json(c))
        return send_error(c, 415, "bad_request",
                          "Cần Content-Type: application/json",
                          "Content-Type must be application/json");
    if (fld_json_parse(rq->body.data, rq->body.len, &body, &err) == FLD_OK)
        code = fld_json_get_string(body, "code");
    rc = fld_ui_pair(&h->pairing, code, now_ms(), &wait);
    fld_json_free(body);
    if (rc == FLD_OK)
        return session_info(h, c, fld_ui_session_new(&h->sessions, now_ms()),
                            200, true);
    if (rc == FLD_EXISTS)
        return send_error(c, 403, "pairing_spent",
                          "Mã ghép nối đã được dùng; hãy chạy lại 'field ui' "
                          "để có mã mới",
                          "the pairing code was used already; run 'field ui' "
                          "again for a new one");
    secs = (long long)(wait + 999) / 1000;
    if (rc == FLD_EBUSY) {
        snprintf(en, sizeof en,
                 "too many wrong codes: wait %lld s before trying again", secs);
        snprintf(vi, sizeof vi,
                 "Sai mã quá nhiều lần: hãy đợi %lld giây rồi thử lại", secs);
        return send_error(c, 429, "rate_limited", vi, en);
    }
    if (wait > 0) {
        snprintf(en, sizeof en,
                 "wrong pairing code; wait %lld s before the next try", secs);
        snprintf(vi, sizeof vi,
                 "Sai mã ghép nối; hãy đợi %lld giây trước lần thử tiếp theo",
                 secs);
        return send_error(c, 403, "wrong_code", vi, en);
    }
    return send_error(c, 403, "wrong_code", "Sai mã ghép nối",
                      "wrong pairing code");
}

/* An Origin, when the browser sends one, must be this very server. */
static bool origin_ok(struct MHD_Connection *c)
{
    const char *origin = header(c, "Origin");
    const char *host = header(c, MHD_HTTP_HEADER_HOST);
    static const char scheme[] = "http://";

    if (origin == NULL)
        return true;
    return host != NULL && strncmp(origin, scheme, sizeof scheme - 1) == 0 &&
           strcmp(origin + sizeof scheme - 1, host) == 0;
}

static enum MHD_Result api(struct fld_ui_server *h, struct MHD_Connection *c,
                           const char *method, const char *url,
                           const struct req *rq)
{
    struct fld_ui_reply reply = {500, FLD_BUF_INIT, NULL, NULL, NULL};
    struct fld_ui_query q;
    struct fld_ui_session *s;
    bool is_post = strcmp(method, "POST") == 0;
    enum MHD_Result ok;

    if (is_post && !origin_ok(c))
        return send_error(c, 403, "bad_origin",
                          "Yêu cầu từ trang khác bị từ chối",
                          "a request from another origin is refused");
    if (strcmp(url, "/api/pair") == 0 && is_post)
        return pair(h, c, rq);
    s = fld_ui_session_find(&h->sessions, header(c, "Cookie"));
    if (s == NULL && h->needs_pairing)
        return send_error(c, 401, "pairing_required",
                          "Cần ghép nối: nhập mã mà 'field ui' hiển thị",
                          "pairing required: enter the code 'field ui' shows");
    if (s == NULL)
        return send_error(c, 401, "no_session",
                          "Chưa có phiên làm việc: hãy tải lại trang",
                          "no session: reload the page");
    if (strcmp(url, "/api/session") == 0 && !is_post)
        return session_info(h, c, s, 200, false);
    if (is_post && !fld_ui_csrf_ok(s, header(c, "X-CSRF-Token")))
        return send_error(c, 403, "csrf",
                          "Thiếu hoặc sai mã chống giả mạo (CSRF); hãy tải lại "
                          "trang",
                          "missing or wrong X-CSRF-Token; reload the page");
    if (fld_ui_photo_is_upload(method, url)) {
        fld_ui_photo_upload(h->ctx, url, argument(c, "question"),
                            header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
                            (const uint8_t *)rq->body.data, rq->body.len,
                            &reply);
        goto send;
    }
    if (is_post && rq->body.len > 0 && !is_json(c))
        return send_error(c, 415, "bad_request",
                          "Cần Content-Type: application/json",
                          "Content-Type must be application/json");
    q.q = argument(c, "q");
    q.status = argument(c, "status");
    q.unit = argument(c, "unit");
    q.template_id = argument(c, "template");
    if (strcmp(url, "/api/sync") == 0)
        fld_ui_sync_handle(h->sync, h->ctx, is_post, &reply);
    else if (strcmp(url, "/api/report") == 0 ||
             strcmp(url, "/api/report.xlsx") == 0)
        fld_ui_report_handle(h->report, h->ctx, is_post, url, q.unit, &reply);
    else if (strncmp(url, "/api/photos/", strlen("/api/photos/")) == 0 &&
             !is_post)
        fld_ui_photo_get(h->ctx, url, &reply);
    else
        fld_ui_api_handle(h->ctx, method, url, &q,
                          (const uint8_t *)rq->body.data, rq->body.len, &reply);
send:
    ok = send_reply(c, &reply, NULL);
    fld_buf_free(&reply.body);
    return ok;
}

static enum MHD_Result dispatch(struct fld_ui_server *h,
                                struct MHD_Connection *c, const char *method,
                                const char *url, const struct req *rq)
{
    const struct fld_embedded *e;
    bool is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    if (!fld_ui_host_ok(header(c, MHD_HTTP_HEADER_HOST), h->listen, h->port))
        return send_error(c, 403, "bad_host",
                          "Địa chỉ máy chủ (Host) không đúng",
                          "the Host header does not name this server");
    if (rq->is_too_large) {
        char en[64];

        snprintf(en, sizeof en, "the %s is larger than %zu MiB",
                 rq->cap > FLD_UI_MAX_BODY ? "photo" : "request body",
                 rq->cap / (1024 * 1024));
        return send_error(c, 413, "too_large", "Dữ liệu gửi lên quá lớn", en);
    }
    if (strncmp(url, "/api/", 5) == 0)
        return api(h, c, method, url, rq);
    e = is_get ? asset(url) : NULL;
    if (e != NULL)
        return serve_asset(h, c, e);
    if (!is_get)
        return send_error(c, 405, "method", "Phương thức không được hỗ trợ",
                          "method not allowed");
    return send_error(c, 404, "not_found", "Không có trang này",
                      "no such page");
}

/* Whether a photo's upload comes from this server's page, in a session,
 * with its CSRF token (api() checks each again, and says which failed). */
static bool may_upload(struct fld_ui_server *h, struct MHD_Connection *c)
{
    const struct fld_ui_session *s;

    if (!fld_ui_host_ok(header(c, MHD_HTTP_HEADER_HOST), h->listen, h->port) ||
        !origin_ok(c))
        return false;
    s = fld_ui_session_find(&h->sessions, header(c, "Cookie"));
    return fld_ui_csrf_ok(s, header(c, "X-CSRF-Token"));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct fld_ui_server *h = cls;
    struct req *rq = *con_cls;
    const char *length;

    (void)version;
    if (rq == NULL) {
        rq = fld_xcalloc(1, sizeof *rq);
        *con_cls = rq;
        /* Only a photo's upload may be large: `field attach`'s limit. */
        rq->cap = fld_ui_photo_is_upload(method, url) ? FLD_UI_MAX_PHOTO
                                                      : FLD_UI_MAX_BODY;
        /* A photo's body is taken only from a session with its token:
         * anyone else is answered (401, 403) before 20 MB are held. */
        if (rq->cap == FLD_UI_MAX_PHOTO && !may_upload(h, c))
            return dispatch(h, c, method, url, rq);
        /* A declared length over the cap is refused before any byte. */
        length = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length != NULL && strtoull(length, NULL, 10) > rq->cap) {
            rq->is_too_large = true;
            return dispatch(h, c, method, url, rq);
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!rq->is_too_large && rq->body.len + *upload_size > rq->cap)
            rq->is_too_large = true;
        if (!rq->is_too_large)
            fld_buf_append(&rq->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(h, c, method, url, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (rq != NULL) {
        /* the body may hold answers: not left in freed memory */
        if (rq->body.data)
            sodium_memzero(rq->body.data, rq->body.len);
        fld_buf_free(&rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

int fld_ui_server_start(struct cmd_ctx *ctx, const char *listen, int port,
                        bool pair, struct fld_ui_server **out,
                        struct fld_err *err)
{
    struct fld_ui_server *h;
    struct addrinfo hints, *ai = NULL;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    char service[8];
    int g;

    *out = NULL;
    if (port < 0 || port > 65535)
        return fld_err_set(err, FLD_EUSAGE, "--port must be 0 to 65535");
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%d", port);
    g = strlen(listen) < INET6_ADDRSTRLEN
            ? getaddrinfo(listen, service, &hints, &ai)
            : EAI_NONAME;
    if (g != 0)
        return fld_err_set(err, FLD_EUSAGE,
                           "--listen: \"%s\" is not a numeric IP address",
                           listen);
    h = fld_xcalloc(1, sizeof *h);
    h->ctx = ctx;
    h->sync = fld_ui_sync_new(ctx);
    h->report = fld_ui_report_new(ctx);
    snprintf(h->listen, sizeof h->listen, "%s", listen);
    h->needs_pairing = pair || !fld_ui_is_loopback(listen);
    if (h->needs_pairing)
        fld_ui_pairing_new(&h->pairing);
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_CONNECTIONS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (h->d == NULL) {
        fld_ui_sync_free(h->sync);
        fld_ui_report_free(h->report);
        free(h);
        return fld_err_set(err, FLD_EIO,
                           "cannot listen on %s port %d (in use?)", listen,
                           port);
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    *out = h;
    return FLD_OK;
}

int fld_ui_server_port(const struct fld_ui_server *s)
{
    return s->port;
}

const char *fld_ui_server_pairing_code(const struct fld_ui_server *s)
{
    return s->needs_pairing ? s->pairing.code : NULL;
}

void fld_ui_server_stop(struct fld_ui_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->d);
    fld_ui_sync_free(s->sync);     /* a sync under way ends its round trip */
    fld_ui_report_free(s->report); /* a fetch under way is abandoned */
    sodium_memzero(&s->sessions, sizeof s->sessions);
    sodium_memzero(&s->pairing, sizeof s->pairing);
    free(s);
}
