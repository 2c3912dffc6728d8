/*
 * transport_curl.c - the sync transport over libcurl (see transport.h).
 *
 * This is the only file of the project that includes curl.h, and only the
 * `field` program links it (sync/sync.mk): the server, libsync and the
 * unit tests never pull libcurl in.
 *
 * Choices made for slow, lossy mobile links and hostile networks:
 *   - One easy handle for the transport's life, so consecutive requests of
 *     a sync reuse the connection (and its TLS session).
 *   - A connect timeout, and a low-speed limit instead of a total timeout:
 *     a big batch over a crawling but alive link must be allowed to
 *     finish; a link that has stalled is given up after low_speed_time_s.
 *   - Gzipped answers are asked for with an explicit Accept-Encoding
 *     header and inflated here with syn_gunzip() under SYN_MAX_RESPONSE,
 *     rather than by libcurl's automatic decoding: the raw body is capped
 *     as it arrives, the inflated one by syn_gunzip(), and the byte counts
 *     are those that crossed the wire.
 *   - No redirects: a 30x is reported as what it is (captive portals
 *     redirect to their login page). Only http and https are allowed.
 *   - "Expect: 100-continue" is switched off: it costs a round trip (or a
 *     one-second wait) on every large push. A request that asks for it
 *     (a photo's chunk after a failure, when a refusal is likely) keeps
 *     it.
 *   - TLS verification of peer and host name is never turned off; a
 *     private CA is given with --cacert, and --pinned-pubkey additionally
 *     requires the server's public key to match.
 *   - Without --cacert, the system's CA store is looked for where the
 *     distributions keep it (ca_store.h) rather than where this libcurl
 *     was built to look: the static `field` runs on systems it was not
 *     built on. With none, an https request fails at once, saying so.
 */
#include "transport.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ca_store.h"
#include "gzip.h"

#define USER_AGENT "field-sync/1"

struct curl_transport {
    struct syn_transport base;
    CURL *easy;
    struct syn_curl_options opt;
    char *cacert;
    char *pinned;
    bool has_no_ca;    /* neither --cacert nor a system CA store */
    bool is_connected; /* a connection was made: later ones are reconnects */
    char errbuf[CURL_ERROR_SIZE];
};

/* What one transfer collects as it runs. */
struct transfer {
    struct fld_buf raw;
    CURL *easy;
    const struct syn_http_request *req;
    bool sink_refused; /* the request's sink said no */
    bool too_large;
    bool gzipped;
    bool headers_done; /* the blank line that ends the headers arrived */
    int64_t retry_after_s;
    const struct syn_curl_options *opt;
};

/* Whether this answer's body goes to the request's sink: a success, not
 * an error's JSON, and never a gzipped one (a photo is not compressed). */
static bool to_sink(const struct transfer *x)
{
    long status = 0;

    if (x->req->sink == NULL || x->gzipped)
        return false;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    return status == 200 || status == 206;
}

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
    struct transfer *x = data;
    size_t len = size * n;

    if (to_sink(x)) {
        if (x->req->sink(x->req->sink_ctx, (const uint8_t *)p, len) == 0)
            return len;
        x->sink_refused = true;
        return 0; /* CURLE_WRITE_ERROR */
    }
    if (x->raw.len + len > SYN_MAX_RESPONSE) {
        x->too_large = true;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    fld_buf_append(&x->raw, p, len);
    return len;
}

/* Header lines of the answer, one per call, with their CRLF. A new status
 * line (after a 100 Continue, say) forgets what came before. */
static size_t on_header(char *p, size_t size, size_t n, void *data)
{
    struct transfer *x = data;
    size_t len = size * n;
    char line[256];
    char *v;

    if (len >= sizeof line)
        return len;
    memcpy(line, p, len);
    line[len] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (strncmp(line, "HTTP/", 5) == 0) {
        x->gzipped = false;
        x->headers_done = false;
        x->retry_after_s = -1;
        return len;
    }
    if (line[0] == '\0') {
        x->headers_done = true;
        return len;
    }
    if ((v = strchr(line, ':')) == NULL)
        return len;
    *v++ = '\0';
    while (*v == ' ' || *v == '\t')
        v++;
    if (strcasecmp(line, "Content-Encoding") == 0)
        x->gzipped = strcasecmp(v, "gzip") == 0 || strcasecmp(v, "x-gzip") == 0;
    else if (strcasecmp(line, "Retry-After") == 0 && v[0] >= '0' && v[0] <= '9')
        x->retry_after_s = strtoll(v, NULL, 10);
    return len;
}

/* Polled by libcurl about once a second, and on every chunk: a non-zero
 * answer aborts the transfer (CURLE_ABORTED_BY_CALLBACK). */
static int on_progress(void *data, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct transfer *x = data;

    (void)dltotal;
    (void)ultotal;
    if (x->opt->on_transfer != NULL)
        x->opt->on_transfer(x->opt->transfer_ctx, (int64_t)ulnow,
                            (int64_t)dlnow);
    /* a signal handler's flag, or another thread's (atomic there too) */
    return x->opt->stop != NULL &&
           __atomic_load_n(x->opt->stop, __ATOMIC_RELAXED) != 0;
}

/* The peer is not who it must be: retrying cannot help, and saying "the
 * network failed" would hide what may be an interception. */
static bool is_tls_refusal(CURLcode cc)
{
    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ISSUER_ERROR:
        return true;
    default:
        return false;
    }
}

/* The request's headers, plus ours: gzip accepted, no 100-continue. */
static struct curl_slist *request_headers(const struct syn_http_request *req)
{
    struct curl_slist *hdrs = NULL;
    bool is_expecting = false;
    size_t i;

    for (i = 0; i < req->n_headers; i++) {
        char *line = fld_xasprintf("%s: %s", req->headers[i].name,
                                   req->headers[i].value);

        hdrs = curl_slist_append(hdrs, line);
        free(line);
        if (strcasecmp(req->headers[i].name, "Expect") == 0)
            is_expecting = true;
    }
    hdrs = curl_slist_append(hdrs, "Accept-Encoding: gzip");
    if (!is_expecting)
        hdrs = curl_slist_append(hdrs, "Expect:");
    if (hdrs == NULL)
        abort(); /* out of memory */
    return hdrs;
}

/* Point the easy handle at this request, collecting into x. What stays
 * set from one request to the next is syn_transport_curl_new()'s. */
static void set_request(struct curl_transport *t,
                        const struct syn_http_request *req, const char *url,
                        struct curl_slist *hdrs, struct transfer *x)
{
    curl_easy_setopt(t->easy, CURLOPT_URL, url);
    curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, hdrs);
    /* A PUT is sent as a POST of its bytes under another name: the body
     * comes from memory either way. */
    curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST,
                     strcmp(req->method, "PUT") == 0 ? "PUT" : NULL);
    curl_easy_setopt(t->easy, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)(req->sink ? 0 : SYN_MAX_RESPONSE));
    if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(t->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS,
                         req->body_len ? (const char *)req->body : "");
        curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
    } else {
        curl_easy_setopt(t->easy, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(t->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(t->easy, CURLOPT_XFERINFODATA, x);
    t->errbuf[0] = '\0';
}

/* The bytes that crossed the wire each way, headers included, whether or
 * not the transfer succeeded. */
static void count_wire(struct curl_transport *t,
                       const struct syn_http_request *req,
                       struct syn_http_response *resp)
{
    curl_off_t up = 0, down = 0;
    long req_size = 0, hdr_size = 0;

    curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &req_size);
    curl_easy_getinfo(t->easy, CURLINFO_HEADER_SIZE, &hdr_size);
    curl_easy_getinfo(t->easy, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_easy_getinfo(t->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
    /* REQUEST_SIZE counts the request line and headers (and, for a small
     * POST sent along with them, the body too); never count the body twice. */
    resp->wire_up = (size_t)req_size > req->body_len
                        ? (size_t)req_size
                        : (size_t)req_size + (size_t)up;
    resp->wire_down = (size_t)hdr_size + (size_t)down;
}

/* Whether this transfer had to connect again (transport.h). */
static void note_connects(struct curl_transport *t,
                          struct syn_http_response *resp)
{
    long n = 0;

    curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &n);
    resp->is_reconnected = n > 0 && t->is_connected;
    if (n > 0)
        t->is_connected = true;
}

/* A transfer that libcurl failed, as our result code and words. */
static int transfer_error(const struct curl_transport *t,
                          const struct transfer *x, CURLcode cc,
                          struct fld_err *err)
{
    const char *why = t->errbuf[0] ? t->errbuf : curl_easy_strerror(cc);

    if (x->too_large)
        return fld_err_set(err, FLD_ELIMIT,
                           "the answer is larger than %u bytes",
                           SYN_MAX_RESPONSE);
    if (cc == CURLE_ABORTED_BY_CALLBACK)
        return fld_err_set(err, FLD_ENET, "interrupted");
    if (x->sink_refused)
        return fld_err_set(err, FLD_EIO, "the answer's body could not be kept");
    if (is_tls_refusal(cc))
        return fld_err_set(err, FLD_EPROTO,
                           "cannot verify its TLS identity: %s — a captive "
                           "portal or proxy intercepting the connection, or a "
                           "private CA (see --cacert)",
                           why);
    return fld_err_set(err, FLD_ENET, "%s", why);
}

/* The answer of a transfer libcurl finished into resp: status, content
 * type, Retry-After, and the body, inflated under SYN_MAX_RESPONSE when it
 * came gzipped. */
static int take_answer(struct curl_transport *t, const struct transfer *x,
                       struct syn_http_response *resp, struct fld_err *err)
{
    const char *ct = NULL;
    long status = 0;

    /* libcurl accepts an answer whose connection closed in the middle of
     * its headers as complete; it is not. */
    if (!x->headers_done)
        return fld_err_set(err, FLD_ENET,
                           "the connection closed in the middle "
                           "of the answer's headers");
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ct);
    resp->status = (int)status;
    snprintf(resp->content_type, sizeof resp->content_type, "%s", ct ? ct : "");
    resp->retry_after_s = x->retry_after_s;
    if (x->raw.len == 0)
        return FLD_OK;
    if (!x->gzipped) {
        fld_buf_append(&resp->body, x->raw.data, x->raw.len);
        return FLD_OK;
    }
    if (syn_gunzip(x->raw.data, x->raw.len, SYN_MAX_RESPONSE, &resp->body,
                   err) == FLD_OK)
        return FLD_OK;
    if (err && err->code == FLD_ELIMIT)
        return FLD_ELIMIT;
    return fld_err_set(err, FLD_EPROTO, "the gzipped answer is broken");
}

static int curl_perform(struct syn_transport *base,
                        const struct syn_http_request *req,
                        struct syn_http_response *resp, struct fld_err *err)
{
    struct curl_transport *t = (struct curl_transport *)base;
    struct curl_slist *hdrs = request_headers(req);
    struct transfer x;
    char *url = fld_xasprintf("%s%s", req->base_url, req->path);
    CURLcode cc;
    int rc;

    if (t->has_no_ca && strncasecmp(url, "https:", 6) == 0) {
        rc = fld_err_set(err, FLD_EPROTO,
                         "no CA certificate store on this system (looked "
                         "for " SYN_CA_STORE_PLACES "): give the server's "
                         "CA certificate with --cacert FILE");
        curl_slist_free_all(hdrs);
        free(url);
        return rc;
    }
    memset(&x, 0, sizeof x);
    x.easy = t->easy;
    x.req = req;
    x.retry_after_s = -1;
    x.opt = &t->opt;
    set_request(t, req, url, hdrs, &x);
    cc = curl_easy_perform(t->easy);
    count_wire(t, req, resp);
    note_connects(t, resp);
    if (cc != CURLE_OK)
        rc = transfer_error(t, &x, cc, err);
    else
        rc = take_answer(t, &x, resp, err);
    curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    fld_buf_free(&x.raw);
    free(url);
    return rc;
}

static void curl_transport_free(struct syn_transport *base)
{
    struct curl_transport *t = (struct curl_transport *)base;

    curl_easy_cleanup(t->easy);
    free(t->cacert);
    free(t->pinned);
    free(t);
}

static const struct syn_transport_ops curl_ops = {curl_perform,
                                                  curl_transport_free};

int syn_transport_curl_new(const struct syn_curl_options *opt,
                           struct syn_transport **out, struct fld_err *err)
{
    static bool initialised;
    struct curl_transport *t;
    CURLcode cc;

    *out = NULL;
    if (!initialised) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return fld_err_set(err, FLD_ENET, "cannot initialise libcurl");
        initialised = true;
    }
    t = fld_xcalloc(1, sizeof *t);
    t->base.ops = &curl_ops;
    if (opt)
        t->opt = *opt;
    if (t->opt.connect_timeout_ms <= 0)
        t->opt.connect_timeout_ms = 15000;
    if (t->opt.low_speed_bytes <= 0)
        t->opt.low_speed_bytes = 64;
    if (t->opt.low_speed_time_s <= 0)
        t->opt.low_speed_time_s = 30;
    if ((t->easy = curl_easy_init()) == NULL) {
        free(t);
        return fld_err_set(err, FLD_ENET, "cannot initialise libcurl");
    }
    curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(t->easy, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(t->easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS,
                     t->opt.connect_timeout_ms);
    curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_LIMIT, t->opt.low_speed_bytes);
    curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_TIME, t->opt.low_speed_time_s);
    curl_easy_setopt(t->easy, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)SYN_MAX_RESPONSE);
    curl_easy_setopt(t->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(t->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(t->easy, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    cc = curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    cc = curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS,
                          (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (cc == CURLE_OK) {
        const char *ca = t->opt.cacert ? t->opt.cacert : syn_ca_store_find();

        t->has_no_ca = ca == NULL;
        if (ca != NULL) {
            t->cacert = fld_xstrdup(ca);
            cc = curl_easy_setopt(t->easy, CURLOPT_CAINFO, t->cacert);
        }
    }
    if (cc == CURLE_OK && t->opt.pinned_pubkey) {
        t->pinned = fld_xstrdup(t->opt.pinned_pubkey);
        cc = curl_easy_setopt(t->easy, CURLOPT_PINNEDPUBLICKEY, t->pinned);
        if (cc != CURLE_OK) {
            curl_transport_free(&t->base);
            return fld_err_set(
                err, FLD_EINVAL,
                "--pinned-pubkey is not supported by this libcurl: %s",
                curl_easy_strerror(cc));
        }
    }
    if (cc != CURLE_OK) {
        curl_transport_free(&t->base);
        return fld_err_set(err, FLD_EINVAL, "libcurl refused an option: %s",
                           curl_easy_strerror(cc));
    }
    *out = &t->base;
    return FLD_OK;
}
