/*
 * transport.h - the seam between the sync client and the network: one
 * HTTP request in, one HTTP answer out.
 *
 * The client (client.c) builds, signs and checks messages; a transport
 * only moves bytes. The `field` program plugs in the libcurl transport
 * (syn_transport_curl_new, transport_curl.c, the only code that links
 * libcurl); unit tests plug in one that calls the server's request
 * handler in-process, or one that fails on purpose (drops an answer the
 * server already acted on, answers 503, answers with a captive portal's
 * HTML page), so that every recovery path runs without a network.
 *
 * What is whose job:
 *   - The client gzips a large request body itself and sets
 *     Content-Encoding, because the request signature covers the body
 *     exactly as sent (docs/PROTOCOL.md): compression must happen before
 *     signing, so it cannot be the transport's business.
 *   - The transport asks for gzipped answers and inflates them under a
 *     hard cap (syn_gunzip), so resp->body is always the plain body.
 *   - The transport reports what arrived, whatever it was; deciding that an
 *     answer is not ours (a captive portal, a proxy's error page) is the
 *     client's, in one place for every transport.
 */
#ifndef SYN_TRANSPORT_H
#define SYN_TRANSPORT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* A decoded answer body is refused past this size (a page of 1000 of the
 * largest versions fits; a runaway or hostile peer does not). */
#define SYN_MAX_RESPONSE (64u * 1024 * 1024)

struct syn_header {
    const char *name;
    const char *value;
};

/* Where a streamed answer's body goes (see syn_http_request.sink). */
typedef int (*syn_sink_fn)(void *ctx, const uint8_t *p, size_t len);

struct syn_http_request {
    const char *base_url; /* "https://host:port", no trailing slash */
    const char *method;   /* "GET", "POST" or "PUT" */
    const char *path;     /* "/v1/sync" */
    const struct syn_header *headers;
    size_t n_headers;
    const uint8_t *body; /* exactly the bytes to send (signed as such) */
    size_t body_len;
    /* When set, the body of a 200 or 206 answer is handed to sink as it
     * arrives, not kept in resp->body, and not held to SYN_MAX_RESPONSE:
     * a photo of many megabytes is never held in memory, and the sink
     * decides how much it takes (a non-zero return stops the transfer:
     * FLD_EIO, the sink keeping its own reason). Any other answer (an
     * error's JSON) still lands in resp->body. */
    syn_sink_fn sink;
    void *sink_ctx;
};

struct syn_http_response {
    int status;             /* HTTP status */
    char content_type[128]; /* "" when the answer had none */
    struct fld_buf body;    /* the body, inflated if it came gzipped */
    int64_t retry_after_s;  /* Retry-After in seconds, -1 when absent */
    size_t wire_up;         /* bytes sent: request line, headers, body */
    size_t wire_down;       /* bytes received: status, headers, body */
    /* The request needed a new connection although one was open: the
     * link dropped it, perhaps while the request was going out, in which
     * case the transport sent it again on the new one (libcurl does, up to
     * five times, for a request that got no answer). Chunked uploads
     * size their chunks by such cuts (sync/client_attach.c). */
    bool is_reconnected;
};

struct syn_transport;

struct syn_transport_ops {
    /*
     * Perform one request. FLD_OK when a complete HTTP answer arrived,
     * whatever its status; FLD_ENET (err saying what failed, without the
     * URL, which the client adds) when none did: no connection, a
     * timeout, a connection cut short, a TLS failure, an interruption;
     * FLD_ELIMIT when the answer passed SYN_MAX_RESPONSE; FLD_EPROTO when
     * its gzip was broken, or when the peer's TLS identity could not be
     * verified (certificate, host name, pinned key): retrying cannot help. resp
     * is zeroed by the caller and its body freed by the caller in every case;
     * wire_up/wire_down count what moved even when the request failed.
     */
    int (*perform)(struct syn_transport *t, const struct syn_http_request *req,
                   struct syn_http_response *resp, struct fld_err *err);
    void (*free)(struct syn_transport *t);
};

/* Implementations embed this as their first member. */
struct syn_transport {
    const struct syn_transport_ops *ops;
};

/* Free a transport; NULL is fine. */
void syn_transport_free(struct syn_transport *t);

/* Empty resp for reuse (frees its body). */
void syn_http_response_reset(struct syn_http_response *resp);

/* ---- the libcurl transport (transport_curl.c; only `field` links it) ---- */

struct syn_curl_options {
    const char *cacert;        /* PEM bundle to trust instead of the system's */
    const char *pinned_pubkey; /* "sha256//BASE64[;sha256//...]" or a PEM/DER
                                  file: the server's key must match */
    long connect_timeout_ms;   /* 0: 15 s */
    long low_speed_bytes;      /* abort below this many bytes per second ... */
    long low_speed_time_s;     /* ... for this long (0: 64 B/s for 30 s) */
    /* When set and non-zero, the request in flight is abandoned (FLD_ENET,
     * "interrupted") within about a second: a signal handler sets it. */
    const volatile sig_atomic_t *stop;
    /* Called about once a second and on every chunk during a transfer
     * with the bytes of the request body sent and of the answer body
     * received so far (a progress display for big batches on slow
     * links); may be NULL. */
    void (*on_transfer)(void *ctx, int64_t up, int64_t down);
    void *transfer_ctx;
};

/*
 * A transport over libcurl: HTTP/1.1, keep-alive between requests, only
 * http and https, no redirects followed (a redirect is an answer, and a
 * captive portal's favourite), TLS peer and host verification always on.
 * FLD_EINVAL when an option is refused by libcurl (a pinned key spec it
 * cannot use). *out is freed with syn_transport_free().
 */
int syn_transport_curl_new(const struct syn_curl_options *opt,
                           struct syn_transport **out, struct fld_err *err);

#endif
