/*
 * http.c - libmicrohttpd glue (see http.h). It owns connections, bodies
 * and timing; what a request means is api.c's business.
 *
 * Bodies arrive in pieces through the access handler. Each piece is
 * checked against two limits before it is kept: the size cap (a declared
 * Content-Length over it is refused before any byte of the body is read)
 * and the request deadline, which measures from the request's first call,
 * so a client that trickles one byte a second cannot hold a worker or a
 * buffer for long. Workers are event driven (epoll), so a slow client
 * costs a connection slot, not a thread.
 *
 * Nothing of a body is read before the headers say it may come:
 * framing.c refuses ambiguous lengths (400), and srv_api_admit() checks,
 * from the headers alone, the route, the X-Field headers, the clock and
 * that the device is enrolled and not revoked, and says how many bytes
 * this request may carry (413 beyond). Every body held counts against
 * one ceiling for the whole server (max-buffered): a body that would
 * pass it is refused with 503 and Retry-After, so that many clients
 * sending big bodies at once slow each other down instead of exhausting
 * the memory. A known length is allocated once, exactly.
 *
 * A client must send a request's headers within header-timeout of
 * connecting (or of its previous request ending): libmicrohttpd's own
 * timeout only counts silence, which a client sending one byte every few
 * seconds never makes (slowloris). A watchdog thread shuts down the
 * socket of a connection past its deadline; with the per-address cap
 * (per-ip-connections) this keeps slots free for the clients that behave.
 *
 * libmicrohttpd 0.9 only lets a handler answer before the body or after
 * all of it. To refuse in the middle of a body (the deadline passed, a
 * chunked body grew past the cap), a plain-HTTP connection gets the JSON
 * error written straight to its socket before it is closed; a TLS one is
 * closed without an answer, which is the best the library allows.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "file.h"
#include "framing.h"
#include "gzip.h"
#include "hlc.h"
#include "metrics.h"
#include "protocol.h"
#include "query.h"

/* Responses smaller than this are not worth compressing. */
#define GZIP_MIN 1024
/* Memory per connection for headers and buffering: bounds header size. */
#define CONN_MEMORY (64 * 1024)
#define MAX_TLS_FILE (1024 * 1024)
/* How often the watchdog looks for connections past their deadline. */
#define WATCH_MS 200
/* What a 503 tells a client to wait before retrying, seconds. */
#define RETRY_AFTER "5"

/* One connection, from accept to close (libmicrohttpd's socket context),
 * in the list the watchdog walks. */
struct conn {
    struct conn *prev, *next;
    int fd;
    bool waiting; /* for a request's headers, until deadline */
    struct timespec deadline;
    bool is_streaming; /* a chunk of a photo is arriving (see watchdog) */
};

struct srv_http {
    struct srv *s;
    struct MHD_Daemon *d;
    int port;
    bool tls;
    char *cert, *key; /* PEM text, kept while the daemon runs */

    pthread_mutex_t lock;
    pthread_cond_t idle;
    unsigned in_flight;
    bool stopping;

    /* under lock: the connections, and the bytes of bodies held */
    struct conn *conns;
    size_t buffered;
    pthread_t watchdog;
    pthread_cond_t wake; /* the watchdog's sleep, cut short on stop */
    bool watching;
};

/* One request, from its headers to its completion. */
struct req {
    struct timespec start;
    struct fld_buf body;
    size_t max_body; /* what srv_api_admit() allowed */
    size_t charged;  /* bytes of h->buffered this request holds */
    bool answered;   /* a response was queued or written */
    /* A chunk of a photo goes to the disk as it arrives (api.h); when it
     * was refused from its headers, the answer is held until its body
     * has been read, so the connection stays usable. */
    struct srv_upload *upload;
    bool is_held;
    struct srv_response held;
};

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) +
           (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* s for a line of the log: libmicrohttpd hands over the path decoded, so
 * a "%0A" in a request would otherwise start a forged line of its own;
 * control bytes are written back as %XX. */
static void log_text(struct fld_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char c;

    for (; *s != '\0'; s++) {
        c = (unsigned char)*s;
        if (c >= 0x20 && c != 0x7f) {
            fld_buf_putc(out, c);
            continue;
        }
        fld_buf_putc(out, '%');
        fld_buf_putc(out, hex[c >> 4]);
        fld_buf_putc(out, hex[c & 15]);
    }
}

static void log_request(struct srv_http *h, const char *method, const char *url,
                        const struct srv_response *resp, double secs)
{
    struct fld_buf line = FLD_BUF_INIT;

    if (h->s->cfg.quiet)
        return;
    log_text(&line, method);
    fld_buf_putc(&line, ' ');
    log_text(&line, url);
    fprintf(stderr, "field-server: %s %d %.1fms%s%s%s%s\n", line.data,
            resp->status, secs * 1000, resp->device[0] ? " device=" : "",
            resp->device, resp->error[0] ? " error=" : "", resp->error);
    fld_buf_free(&line);
}

static void finish_metrics(struct srv_http *h, const char *method,
                           const char *url, struct req *rq,
                           const struct srv_response *resp)
{
    double secs = seconds_since(&rq->start);

    srv_metrics_request(h->s->metrics, resp->route, resp->status, secs);
    log_request(h, method, url, resp, secs);
}

/*
 * Queue resp's file on c: libmicrohttpd reads it from the descriptor as
 * the socket takes it (sendfile on plain HTTP), so a 100 MB photo is never
 * in memory; it owns the descriptor from here on.
 */
static enum MHD_Result send_file(struct MHD_Connection *c,
                                 struct srv_response *resp)
{
    struct MHD_Response *r;
    enum MHD_Result ok;
    char bytes[24];

    r = MHD_create_response_from_fd_at_offset64(resp->file_len, resp->fd,
                                                resp->file_offset);
    if (r == NULL)
        return MHD_NO; /* srv_response_free() closes the descriptor */
    resp->has_file = false;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (resp->attachment_bytes > 0) {
        snprintf(bytes, sizeof bytes, "%lld",
                 (long long)resp->attachment_bytes);
        MHD_add_response_header(r, SRV_HDR_ATTACHMENT_BYTES, bytes);
    }
    ok = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Queue resp on c (gzipped when the client accepts it). */
static enum MHD_Result send_response(struct MHD_Connection *c,
                                     struct srv_response *resp, bool head)
{
    const char *accept = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    struct MHD_Response *r;
    struct fld_buf gz = FLD_BUF_INIT;
    bool zipped = false;
    enum MHD_Result ok;
    size_t len;
    char *data;

    if (resp->has_file)
        return send_file(c, resp);
    if (accept && srv_contains_nocase(accept, "gzip") &&
        resp->body.len >= GZIP_MIN && !head) {
        syn_gzip(resp->body.data, resp->body.len, &gz);
        zipped = true;
        data = fld_buf_detach(&gz, &len);
    } else {
        data = fld_buf_detach(&resp->body, &len);
    }
    if (data == NULL) {
        data = fld_xstrdup("");
        len = 0;
    }
    r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (zipped)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (resp->status == 503 && resp->retry_after_s > 0) {
        char after[16];

        snprintf(after, sizeof after, "%d", resp->retry_after_s);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, after);
    } else if (resp->status == 503) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER);
    }
    ok = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ok;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

/*
 * Refuse in the middle of a body (see the top of the file): write the
 * error to the socket ourselves, then let libmicrohttpd close it.
 */
static enum MHD_Result refuse_midway(struct srv_http *h,
                                     struct MHD_Connection *c,
                                     const char *method, const char *url,
                                     struct req *rq, int status,
                                     const char *code, const char *message)
{
    struct srv_response resp;
    const union MHD_ConnectionInfo *ci;
    struct fld_buf raw = FLD_BUF_INIT;

    memset(&resp, 0, sizeof resp);
    resp.route = srv_api_route(url);
    srv_api_error(&resp, status, code, message, -1);
    /* a TLS connection is closed without an answer (see the top) */
    ci = h->tls ? NULL
                : MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci != NULL) {
        fld_buf_printf(&raw,
                       "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
                       status, reason_phrase(status), SYN_CONTENT_TYPE,
                       resp.body.len,
                       status == 503 ? "Retry-After: " RETRY_AFTER "\r\n" : "");
        fld_buf_append(&raw, resp.body.data, resp.body.len);
        /* Best effort: the socket is non-blocking and the answer small. */
        if (send(ci->connect_fd, raw.data, raw.len,
                 MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
            shutdown(ci->connect_fd, SHUT_WR);
        fld_buf_free(&raw);
    }
    rq->answered = true;
    srv_metrics_refusal(h->s->metrics, "request", code);
    finish_metrics(h, method, url, rq, &resp);
    srv_response_free(&resp);
    return MHD_NO;
}

/* Answer now, before the body (allowed on the first call). */
static enum MHD_Result refuse_early(struct srv_http *h,
                                    struct MHD_Connection *c,
                                    const char *method, const char *url,
                                    struct req *rq, int status,
                                    const char *code, const char *message)
{
    struct srv_response resp;
    enum MHD_Result ok;

    memset(&resp, 0, sizeof resp);
    resp.route = srv_api_route(url);
    srv_api_error(&resp, status, code, message, -1);
    rq->answered = true;
    srv_metrics_refusal(h->s->metrics, "request", code);
    finish_metrics(h, method, url, rq, &resp);
    ok = send_response(c, &resp, false);
    srv_response_free(&resp);
    return ok;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static enum MHD_Result add_argument(void *cls, enum MHD_ValueKind kind,
                                    const char *key, size_t key_size,
                                    const char *value, size_t value_size)
{
    (void)kind;
    srv_query_add(cls, key, key_size, value, value_size);
    return MHD_YES;
}

/* The query as signed (query.h): libmicrohttpd keeps the parameters in the
 * order they came, decoded; they are encoded again in the one form a
 * client signs. Empty when the request has none. */
static void signed_query(struct MHD_Connection *c, struct fld_buf *q)
{
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, add_argument, q);
}

static void now_plus(struct timespec *t, unsigned seconds)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_sec += (time_t)seconds;
}

/* The connection's headers are in (waiting false) or it waits for the
 * next request's (true, from now on for header-timeout). */
static struct conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

static void conn_waiting(struct srv_http *h, struct MHD_Connection *c,
                         bool waiting)
{
    struct conn *k = conn_of(c);

    if (k == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    k->waiting = waiting;
    if (waiting)
        now_plus(&k->deadline, h->s->cfg.header_timeout_s);
    pthread_mutex_unlock(&h->lock);
}

static void conn_streaming(struct srv_http *h, struct MHD_Connection *c,
                           bool is_streaming)
{
    struct conn *k = conn_of(c);

    if (k == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    k->is_streaming = is_streaming;
    pthread_mutex_unlock(&h->lock);
}

/* Take n more bytes of the server's body ceiling for rq; false when they
 * would pass it. */
static bool charge(struct srv_http *h, struct req *rq, size_t n)
{
    bool ok;

    pthread_mutex_lock(&h->lock);
    ok = n <= h->s->cfg.max_buffered - h->buffered;
    if (ok) {
        h->buffered += n;
        rq->charged += n;
    }
    pthread_mutex_unlock(&h->lock);
    return ok;
}

static void uncharge(struct srv_http *h, struct req *rq)
{
    pthread_mutex_lock(&h->lock);
    h->buffered -= rq->charged;
    rq->charged = 0;
    pthread_mutex_unlock(&h->lock);
}

static enum MHD_Result add_framing(void *cls, enum MHD_ValueKind kind,
                                   const char *key, size_t key_size,
                                   const char *value, size_t value_size)
{
    (void)kind;
    srv_framing_header(cls, key, key_size, value ? value : "",
                       value ? value_size : 0);
    return MHD_YES;
}

/* The client's numeric address into out ("" when unknown). */
static void client_address(struct MHD_Connection *c, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    socklen_t sl = sizeof(struct sockaddr_in6);

    out[0] = '\0';
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET)
        sl = sizeof(struct sockaddr_in);
    if (getnameinfo(sa, sl, out, (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
        out[0] = '\0';
}

/* The request as api.c sees it, from c's headers (body and query apart). */
static void request_of(struct MHD_Connection *c, const char *method,
                       const char *url, const char *client,
                       struct srv_request *req)
{
    memset(req, 0, sizeof *req);
    req->method = method;
    req->path = url;
    req->content_type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
    req->content_encoding = header(c, MHD_HTTP_HEADER_CONTENT_ENCODING);
    req->device = header(c, SYN_HDR_DEVICE);
    req->time = header(c, SYN_HDR_TIME);
    req->signature = header(c, SYN_HDR_SIGNATURE);
    req->client = client;
}

/* Answer resp (then freed) before the body. */
static enum MHD_Result answer_now(struct srv_http *h, struct MHD_Connection *c,
                                  const char *method, const char *url,
                                  struct req *rq, struct srv_response *resp)
{
    enum MHD_Result ok;

    rq->answered = true;
    finish_metrics(h, method, url, rq, resp);
    ok = send_response(c, resp, false);
    srv_response_free(resp);
    return ok;
}

/* Whether the client waits for "100 Continue" before it sends the body. */
static bool expects_continue(struct MHD_Connection *c)
{
    const char *v = header(c, MHD_HTTP_HEADER_EXPECT);

    return v != NULL && strcasecmp(v, "100-continue") == 0;
}

/* The first call of a chunk of a photo: the whole gate and every check
 * run now (api.h, srv_api_upload_begin); nothing is buffered, so nothing
 * is charged against the ceiling. */
static enum MHD_Result begin_upload(struct srv_http *h,
                                    struct MHD_Connection *c,
                                    const char *method, const char *url,
                                    struct req *rq, struct srv_request *req,
                                    uint64_t len, bool chunked)
{
    struct fld_buf query = FLD_BUF_INIT;

    if (chunked)
        return refuse_early(h, c, method, url, rq, 411, "length_required",
                            "a chunk must say its Content-Length");
    signed_query(c, &query);
    req->query = query.len > 0 ? fld_buf_str(&query) : NULL;
    req->is_streamed = true;
    rq->upload = srv_api_upload_begin(h->s, req, len, &rq->held);
    fld_buf_free(&query);
    conn_streaming(h, c, rq->upload != NULL);
    if (rq->upload != NULL)
        return MHD_YES;
    /* Refused: a client waiting for "100 Continue" has not sent the body
     * and hears it now; another is answered once its body is read, which
     * keeps the connection usable (an answer before the body would be a
     * race with the bytes still coming). */
    if (expects_continue(c))
        return answer_now(h, c, method, url, rq, &rq->held);
    rq->is_held = true;
    return MHD_YES;
}

/*
 * The first call, when the headers are in and no byte of the body has
 * been read: frame the body, admit it from the headers, and charge its
 * known length against the server's ceiling (see the top of the file).
 */
static enum MHD_Result on_headers(struct srv_http *h, struct MHD_Connection *c,
                                  const char *method, const char *url,
                                  struct req *rq)
{
    struct srv_framing f;
    struct srv_request req;
    struct srv_response resp;
    char client[INET6_ADDRSTRLEN + 1];
    const char *why;
    uint64_t len;
    bool chunked;

    conn_waiting(h, c, false);
    if (h->stopping)
        return refuse_early(h, c, method, url, rq, 503, "shutting_down",
                            "the server is stopping; retry later");
    srv_framing_init(&f);
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, add_framing, &f);
    if (srv_framing_check(&f, &len, &chunked, &why) != 0)
        return refuse_early(h, c, method, url, rq, 400, "bad_request", why);
    if (len == 0 && !chunked)
        return MHD_YES; /* no body: the gate checks everything at once */
    client_address(c, client, sizeof client);
    request_of(c, method, url, client, &req);
    memset(&resp, 0, sizeof resp);
    if (srv_api_admit(h->s, &req, &rq->max_body, &resp) != 0) {
        if (resp.error[0])
            srv_metrics_refusal(h->s->metrics, "request", resp.error);
        return answer_now(h, c, method, url, rq, &resp);
    }
    srv_response_free(&resp);
    if (len > rq->max_body)
        return refuse_early(h, c, method, url, rq, 413, "too_large",
                            "the body is larger than this request may carry");
    if (srv_api_is_upload(method, url))
        return begin_upload(h, c, method, url, rq, &req, len, chunked);
    if (chunked)
        return MHD_YES; /* charged as it comes */
    if (!charge(h, rq, (size_t)len + 1))
        return refuse_early(h, c, method, url, rq, 503, "busy",
                            "the server is receiving too much at once; "
                            "retry later");
    /* Allocated once, exactly: appending never copies or grows it. */
    rq->body.data = fld_xmalloc((size_t)len + 1);
    rq->body.data[0] = '\0';
    rq->body.cap = (size_t)len + 1;
    return MHD_YES;
}

/* A piece of the body: under the deadline, the request's cap and, when
 * the buffer must grow (chunked), the server's ceiling. */
static enum MHD_Result on_piece(struct srv_http *h, struct MHD_Connection *c,
                                const char *method, const char *url,
                                struct req *rq, const char *upload,
                                size_t *upload_len)
{
    size_t need;

    if (seconds_since(&rq->start) > (double)h->s->cfg.request_timeout_s)
        return refuse_midway(h, c, method, url, rq, 408, "timeout",
                             "the request took too long to arrive");
    if (rq->upload != NULL || rq->is_held) {
        if (rq->upload != NULL)
            srv_api_upload_piece(rq->upload, (const uint8_t *)upload,
                                 *upload_len);
        *upload_len = 0;
        return MHD_YES;
    }
    if (*upload_len > rq->max_body - rq->body.len)
        return refuse_midway(h, c, method, url, rq, 413, "too_large",
                             "the body is larger than this request may carry");
    need = rq->body.len + *upload_len + 1;
    /* fld_buf at most doubles what it needs: charge that before it grows */
    if (need > rq->body.cap && !charge(h, rq, 2 * need - rq->charged)) {
        fld_buf_free(&rq->body);
        return refuse_midway(h, c, method, url, rq, 503, "busy",
                             "the server is receiving too much at once; "
                             "retry later");
    }
    fld_buf_append(&rq->body, upload, *upload_len);
    *upload_len = 0;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_len, void **con_cls)
{
    struct srv_http *h = cls;
    struct req *rq = *con_cls;
    struct srv_request req;
    struct srv_response resp;
    struct fld_buf query = FLD_BUF_INIT;
    char client[INET6_ADDRSTRLEN + 1];
    enum MHD_Result ok;

    (void)version;
    if (rq == NULL) {
        rq = fld_xcalloc(1, sizeof *rq);
        clock_gettime(CLOCK_MONOTONIC, &rq->start);
        *con_cls = rq;
        pthread_mutex_lock(&h->lock);
        h->in_flight++;
        pthread_mutex_unlock(&h->lock);
        return on_headers(h, c, method, url, rq);
    }
    if (rq->answered) { /* the rest of a body already refused */
        *upload_len = 0;
        return MHD_YES;
    }
    if (*upload_len > 0)
        return on_piece(h, c, method, url, rq, upload, upload_len);

    /* The whole request is here. */
    memset(&resp, 0, sizeof resp);
    rq->answered = true;
    if (rq->is_held) {
        resp = rq->held;
        rq->is_held = false;
    } else if (rq->upload != NULL) {
        conn_streaming(h, c, false);
        srv_api_upload_end(h->s, rq->upload, &resp);
        rq->upload = NULL;
    } else if (seconds_since(&rq->start) >
               (double)h->s->cfg.request_timeout_s) {
        resp.route = srv_api_route(url);
        srv_api_error(&resp, 408, "timeout",
                      "the request took too long to arrive", -1);
        srv_metrics_refusal(h->s->metrics, "request", "timeout");
    } else {
        client_address(c, client, sizeof client);
        request_of(c, method, url, client, &req);
        req.body = rq->body.data ? rq->body.data : (const uint8_t *)"";
        req.body_len = rq->body.len;
        signed_query(c, &query);
        req.query = query.len > 0 ? fld_buf_str(&query) : NULL;
        srv_api_handle(h->s, &req, &resp);
        fld_buf_free(&query);
    }
    finish_metrics(h, method, url, rq, &resp);
    ok = send_response(c, &resp, strcmp(method, "HEAD") == 0);
    srv_response_free(&resp);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct srv_http *h = cls;
    struct req *rq = *con_cls;

    (void)toe;
    if (rq == NULL)
        return;
    fld_buf_free(&rq->body);
    uncharge(h, rq);
    if (rq->upload != NULL) { /* the connection went away */
        conn_streaming(h, c, false);
        srv_api_upload_abort(rq->upload);
    }
    if (rq->is_held)
        srv_response_free(&rq->held);
    free(rq);
    conn_waiting(h, c, true); /* the next request's headers */
    *con_cls = NULL;
    pthread_mutex_lock(&h->lock);
    h->in_flight--;
    if (h->in_flight == 0)
        pthread_cond_broadcast(&h->idle);
    pthread_mutex_unlock(&h->lock);
}

/* A connection opens (it waits for its first request's headers from now)
 * or closes (libmicrohttpd closes the socket after this returns, so the
 * watchdog never shuts down a descriptor reused by another connection). */
static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct srv_http *h = cls;
    const union MHD_ConnectionInfo *ci;
    struct conn *k;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k = fld_xcalloc(1, sizeof *k);
        k->fd = ci ? ci->connect_fd : -1;
        k->waiting = true;
        now_plus(&k->deadline, h->s->cfg.header_timeout_s);
        pthread_mutex_lock(&h->lock);
        k->next = h->conns;
        if (h->conns)
            h->conns->prev = k;
        h->conns = k;
        pthread_mutex_unlock(&h->lock);
        *socket_context = k;
        return;
    }
    k = *socket_context;
    if (k == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    if (k->prev)
        k->prev->next = k->next;
    else
        h->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    pthread_mutex_unlock(&h->lock);
    free(k);
    *socket_context = NULL;
}

static bool passed(const struct timespec *now, const struct timespec *t)
{
    return now->tv_sec > t->tv_sec ||
           (now->tv_sec == t->tv_sec && now->tv_nsec >= t->tv_nsec);
}

/*
 * Whether the client of fd hung up, with nothing left unread. A chunk of
 * a photo holds its upload's claim until libmicrohttpd sees the end of its
 * connection, and its edge-triggered epoll can miss an end that arrives
 * with the last bytes read (the socket then sits in CLOSE-WAIT until the
 * idle timeout, and the client's next try is told "busy"). Asking the
 * socket directly costs one poll per streaming connection per tick.
 */
static bool hung_up(int fd)
{
    struct pollfd p = {fd, POLLRDHUP, 0};
    int unread = 0;

    return poll(&p, 1, 0) == 1 &&
           (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0 &&
           ioctl(fd, FIONREAD, &unread) == 0 && unread == 0;
}

/*
 * Shut down the sockets of connections that did not send a request's
 * headers in time, or whose client hung up under a streamed chunk.
 * libmicrohttpd then reads end-of-file and closes the connection in its
 * own thread; the descriptor stays open until then.
 */
static void *watchdog(void *arg)
{
    struct srv_http *h = arg;
    struct timespec now, wake;
    struct conn *k;
    unsigned cut;

    pthread_mutex_lock(&h->lock);
    while (h->watching) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        cut = 0;
        for (k = h->conns; k != NULL; k = k->next)
            if (k->waiting && k->fd >= 0 && passed(&now, &k->deadline)) {
                shutdown(k->fd, SHUT_RDWR);
                k->waiting = false;
                cut++;
            } else if (k->is_streaming && k->fd >= 0 && hung_up(k->fd)) {
                shutdown(k->fd, SHUT_RDWR);
                k->is_streaming = false;
            }
        pthread_mutex_unlock(&h->lock);
        while (cut-- > 0)
            srv_metrics_refusal(h->s->metrics, "request", "header_timeout");
        clock_gettime(CLOCK_MONOTONIC, &wake);
        wake.tv_nsec += WATCH_MS * 1000000L;
        if (wake.tv_nsec >= 1000000000L) {
            wake.tv_sec++;
            wake.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&h->lock);
        if (h->watching)
            pthread_cond_timedwait(&h->wake, &h->lock, &wake);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* Read a whole PEM file (bounded, a regular file) into a new string. A
 * missing or empty file is an I/O failure of the server's set-up. */
static int read_pem(const char *path, char **out, struct fld_err *err)
{
    uint8_t *data;
    size_t len;
    int rc = fld_file_read(path, MAX_TLS_FILE, &data, &len, err);

    *out = NULL;
    if (rc == FLD_NOTFOUND)
        rc = fld_err_set(err, FLD_EIO, "%s: %s", path, strerror(ENOENT));
    if (rc == FLD_OK && len == 0) {
        free(data);
        rc = fld_err_set(err, FLD_EIO, "%s: cannot read", path);
    }
    if (rc == FLD_OK)
        *out = (char *)data;
    return rc;
}

/* The private key's text is wiped, not just freed. */
static void wipe_free(char *p)
{
    if (p != NULL) {
        sodium_memzero(p, strlen(p));
        free(p);
    }
}

static void stop_watchdog(struct srv_http *h)
{
    pthread_mutex_lock(&h->lock);
    h->watching = false;
    pthread_cond_broadcast(&h->wake);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->watchdog, NULL);
}

static void http_free(struct srv_http *h)
{
    wipe_free(h->cert);
    wipe_free(h->key);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->idle);
    pthread_cond_destroy(&h->wake);
    free(h);
}

/* The port file is replaced in one step: a test or a supervisor polling
 * it reads the old port or the new one, never a part. */
static int write_port_file(const char *path, int port, struct fld_err *err)
{
    char text[16];
    int n = snprintf(text, sizeof text, "%d\n", port);

    return fld_file_write(path, text, (size_t)n, 0644, 0, err);
}

/* The TLS certificate and key of h's configuration (when it has them), read
 * into memory for libmicrohttpd (wiped when the server stops). */
static int load_tls(struct srv_http *h, struct fld_err *err)
{
    int rc;

    if (h->s->cfg.tls_cert == NULL)
        return FLD_OK; /* plain HTTP, as on loopback */
    /* The static build links a libmicrohttpd without GnuTLS
     * (scripts/static.sh says why). */
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return fld_err_set(err, FLD_EUSAGE,
                           "this field-server was built without TLS (the "
                           "static build): serve plain HTTP behind a reverse "
                           "proxy that holds the certificate, or install the "
                           "packaged field-server");
    if ((rc = read_pem(h->s->cfg.tls_cert, &h->cert, err)) != FLD_OK)
        return rc;
    if ((rc = read_pem(h->s->cfg.tls_key, &h->key, err)) != FLD_OK)
        return rc;
    h->tls = true;
    return FLD_OK;
}

/* Worker threads: as configured, or two per core (0); at least two. */
static unsigned worker_count(unsigned configured)
{
    long ncpu;

    if (configured == 0) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        configured = ncpu > 0 ? (unsigned)(2 * ncpu) : 4;
    }
    return configured < 2 ? 2 : configured;
}

int srv_http_start(struct srv *s, struct srv_http **out, struct fld_err *err)
{
    struct srv_http *h;
    struct addrinfo hints, *ai = NULL;
    const union MHD_DaemonInfo *info;
    unsigned threads = worker_count(s->cfg.threads);
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC;
    char port[8];
    int rc = FLD_OK, g;

    *out = NULL;
    if ((s->cfg.tls_cert == NULL) != (s->cfg.tls_key == NULL))
        return fld_err_set(err, FLD_EUSAGE,
                           "--tls-cert and --tls-key go together");
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%d", s->cfg.port);
    if ((g = getaddrinfo(s->cfg.listen, port, &hints, &ai)) != 0)
        return fld_err_set(err, FLD_EUSAGE,
                           "listen: \"%s\" is not a numeric IP address (%s)",
                           s->cfg.listen, gai_strerror(g));
    h = fld_xcalloc(1, sizeof *h);
    h->s = s;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->idle, NULL);
    srv_cond_init_monotonic(&h->wake);
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if ((rc = load_tls(h, err)) != FLD_OK)
        goto fail;
    if (h->tls)
        flags |= MHD_USE_TLS;
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
        s->cfg.idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        s->cfg.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        s->cfg.per_ip_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        h->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->cert,
        MHD_OPTION_HTTPS_MEM_KEY, h->key, MHD_OPTION_END);
    if (h->d == NULL) {
        rc = fld_err_set(
            err, FLD_EIO,
            "cannot listen on %s port %d (in use, or bad TLS files?)",
            s->cfg.listen, s->cfg.port);
        goto fail;
    }
    h->watching = true;
    if (pthread_create(&h->watchdog, NULL, watchdog, h) != 0) {
        h->watching = false;
        MHD_stop_daemon(h->d);
        rc = fld_err_set(err, FLD_EIO, "cannot start a thread");
        goto fail;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : s->cfg.port;
    freeaddrinfo(ai);
    ai = NULL;
    if (s->cfg.port_file)
        rc = write_port_file(s->cfg.port_file, h->port, err);
    if (rc != FLD_OK) {
        MHD_stop_daemon(h->d);
        stop_watchdog(h);
        goto fail;
    }
    *out = h;
    return FLD_OK;
fail:
    if (ai)
        freeaddrinfo(ai);
    http_free(h);
    return rc;
}

int srv_http_port(const struct srv_http *h)
{
    return h->port;
}

int srv_http_stop(struct srv_http *h, unsigned grace_s)
{
    struct timespec deadline;
    MHD_socket fd;
    int left;

    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    pthread_mutex_unlock(&h->lock);
    /* Stop accepting at once: a new client gets "connection refused" and
     * retries later, rather than a half-served request. */
    fd = MHD_quiesce_daemon(h->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += grace_s;
    pthread_mutex_lock(&h->lock);
    while (h->in_flight > 0)
        if (pthread_cond_timedwait(&h->idle, &h->lock, &deadline) == ETIMEDOUT)
            break;
    left = (int)h->in_flight;
    pthread_mutex_unlock(&h->lock);
    MHD_stop_daemon(h->d);
    stop_watchdog(h);
    http_free(h);
    return left;
}
