/*
 * api.h - the HTTP API of field-server (docs/PROTOCOL.md), independent of
 * the HTTP library: http.c fills a struct srv_request from libmicrohttpd,
 * and unit tests fill one by hand.
 *
 *   POST /v1/enroll            one-time code + public key, signed by it
 *   POST /v1/sync              push and pull in one round trip
 *   GET  /v1/templates         the installed templates
 *   GET  /v1/templates/{hash}  one template's canonical JSON
 *   GET  /v1/units             the administrative units
 *   GET  /v1/export?format=... records for an office or a map (exports.h)
 *   GET  /v1/thresholds?after=SEQ  the province's threshold revisions
 *   POST /v1/attachments/state          which photos the server holds
 *   PUT  /v1/attachments/{hash}?offset=N  one chunk of a photo
 *   GET  /v1/attachments/{hash}?offset=N  a photo, from offset on
 *   GET  /v1/health            liveness, unauthenticated
 *   GET  /metrics              Prometheus text, unauthenticated
 *
 * Every answer but /metrics, a template body and a photo is JSON; every refusal
 * is
 * {"error":{"code":"...","message":"..."}} with a 4xx status (5xx only for
 * the server's own failures).
 */
#ifndef SRV_API_H
#define SRV_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "metrics.h"
#include "server.h"

struct srv_request {
    const char *method;
    const char *path;             /* without the query string */
    const char *content_type;     /* NULL when absent */
    const char *content_encoding; /* NULL when absent */
    const char *device;           /* the X-Field-* headers, NULL when absent */
    const char *time;
    const char *signature;
    const uint8_t *body; /* exactly as received (still gzipped if it was) */
    size_t body_len;
    /* The query in its signed form (query.h), without "?"; NULL when the
     * request has none. The signature covers path "?" query. */
    const char *query;
    /* The client's numeric address (enrollment attempts are bounded per
     * address); NULL when unknown (unit tests). */
    const char *client;
    /* A chunk streamed from its headers (srv_api_upload_begin): its
     * replay check waits for its end, so that a request libcurl sends
     * again after the link dropped it under its body is not refused as
     * its own replay. */
    bool is_streamed;
};

struct srv_response {
    int status;
    const char *content_type;
    struct fld_buf body;
    enum srv_route route;
    char error[32];  /* the error code, "" on success */
    char device[17]; /* first digits of the signer, for the log */
    /*
     * A file instead of body (GET /v1/attachments/{hash}): file_len bytes
     * of fd from file_offset, which http.c hands to libmicrohttpd to send
     * without reading them into memory, never gzipped. The response owns
     * fd: http.c takes it (has_file becomes false), else
     * srv_response_free() closes it. attachment_bytes > 0 is sent as
     * X-Field-Attachment-Bytes; content_type may point at file_type.
     */
    /* Retry-After of a 503, seconds (0: the server's default). */
    int retry_after_s;
    bool has_file;
    int fd;
    uint64_t file_offset, file_len;
    int64_t attachment_bytes;
    char file_type[32];
};

#define SRV_HDR_ATTACHMENT_BYTES "X-Field-Attachment-Bytes"

/* The route of a path (for metrics even when the request is refused). */
enum srv_route srv_api_route(const char *path);

/* Answer req; resp is filled (free its body with srv_response_free). */
void srv_api_handle(struct srv *s, const struct srv_request *req,
                    struct srv_response *resp);
void srv_response_free(struct srv_response *resp);

/*
 * Before any byte of req's body is read (req->body is NULL): whether the
 * body may come, from the headers alone. The signature covers the body,
 * so it cannot be checked yet; what can is: the route and the method,
 * the media type, the X-Field headers, the clock, and for a route of
 * enrolled devices that the device is enrolled and not revoked. 0 with
 * *max_body the most bytes this request may carry (0 for a GET, a few
 * KiB for an enrollment, max-body for an enrolled device), or -1 with
 * the refusal in resp. srv_api_handle() checks everything again.
 */
#define SRV_ENROLL_MAX_BODY (16 * 1024) /* a code, a key, a name */
int srv_api_admit(struct srv *s, const struct srv_request *req,
                  size_t *max_body, struct srv_response *resp);

/*
 * A chunk of a photo (PUT /v1/attachments/{hash}), streamed: its bytes go
 * to the disk as they arrive, never held in memory. The signature of such
 * a request leaves the body out (SYN_UNSIGNED_PAYLOAD), so the whole gate
 * and every check of the chunk against its upload run from the headers:
 *   - srv_api_upload_begin(), once srv_api_admit() let the body come, with
 *     req->query set and len its Content-Length: the upload, or NULL with
 *     the answer in resp (to send once the body is read and dropped);
 *   - srv_api_upload_piece() for each piece of the body, in order;
 *   - srv_api_upload_end() when the body is all in: the answer in resp;
 *   - srv_api_upload_abort() instead when the connection went away.
 * end and abort free the upload.
 */
struct srv_upload;
bool srv_api_is_upload(const char *method, const char *path);
struct srv_upload *srv_api_upload_begin(struct srv *s,
                                        const struct srv_request *req,
                                        uint64_t len,
                                        struct srv_response *resp);
void srv_api_upload_piece(struct srv_upload *u, const uint8_t *p, size_t len);
void srv_api_upload_end(struct srv *s, struct srv_upload *u,
                        struct srv_response *resp);
void srv_api_upload_abort(struct srv_upload *u);

struct syn_auth;
/* 0 when the signature of auth was not seen before (and is now noted),
 * else -1 with the refusal (401 replayed) in resp. */
int srv_api_check_replay(struct srv *s, const struct syn_auth *auth,
                         struct srv_response *resp);

struct srv_device;
/*
 * GET /v1/report for dev, whose signature (covering the query) the gate
 * checked: the query (unit, as_of, format json|csv|xlsx, lang vi|en, each
 * optional) is answered with the report or a JSON error (api_report.c).
 */
void srv_api_report(struct srv_storage *st, const struct srv_device *dev,
                    const char *query, struct srv_response *resp);

/*
 * Whether d may read about unit (NULL: the caller's whole scope): an
 * admin may read any; another device a unit that exists and its scope
 * holds. 0, or -1 with the refusal (404 unknown_unit, 403 out_of_scope)
 * or the storage's failure in resp.
 */
int srv_api_check_scope(struct srv_storage *st, const struct srv_device *d,
                        const char *unit, struct srv_response *resp);

/* A new JSON object {"key": []} as the list endpoints answer (and the
 * administration commands print with --json); *arr is its array. Out of
 * memory aborts. Free with cJSON_Delete. */
cJSON *srv_api_list_new(const char *key, cJSON **arr);

/* A unit version as GET /v1/units and `field-server units --json` give it
 * (docs/PROTOCOL.md): "level" repeats "kind" for clients of the first
 * release. Out of memory aborts. Free with cJSON_Delete. */
cJSON *srv_api_unit_json(const struct srv_unit *u);

/*
 * POST /v1/enroll, after the gate: body (the enrollment request, inflated)
 * signed by signer, the key being enrolled (api_enroll.c).
 */
void srv_api_enroll(struct srv *s, struct srv_storage *st, const uint8_t *body,
                    size_t len, const char *signer, struct srv_response *resp);

/*
 * The attachment endpoints (api_attach.c, docs/PROTOCOL.md "Attachments
 * (photos)"), after the gate: dev signed the request, whose path, query
 * and body (as received: a PUT's is the chunk, never copied) are in req.
 */
void srv_api_attach_state(struct srv *s, struct srv_storage *st,
                          const struct srv_device *dev, const uint8_t *body,
                          size_t len, struct srv_response *resp);
void srv_api_attach_put(struct srv *s, struct srv_storage *st,
                        const struct srv_device *dev,
                        const struct srv_request *req,
                        struct srv_response *resp);
/* The parts of srv_api_attach_put() for a streamed chunk (see
 * srv_api_upload_begin above): begin after the gate, from the headers;
 * end with the storage st to acknowledge in. */
struct srv_upload *srv_api_attach_begin(struct srv *s, struct srv_storage *st,
                                        const struct srv_device *dev,
                                        const struct syn_auth *auth,
                                        const struct srv_request *req,
                                        uint64_t len,
                                        struct srv_response *resp);
void srv_api_attach_end(struct srv_upload *u, struct srv_storage *st,
                        struct srv_response *resp);
void srv_api_attach_get(struct srv *s, struct srv_storage *st,
                        const struct srv_device *dev,
                        const struct srv_request *req,
                        struct srv_response *resp);

/* A 200 JSON answer: resp's body, emptied, for the caller to write into. */
struct fld_buf *srv_api_ok_body(struct srv_response *resp);

/* A 200 JSON answer of root, which is freed. */
void srv_api_json_ok(struct srv_response *resp, cJSON *root);

/* Fill resp with a body decoder's refusal (sync/protocol.h): 400 bad_json,
 * 413 too_large or 400 bad_request, by rc. */
void srv_api_decode_error(struct srv_response *resp, int rc,
                          const struct fld_err *err);

/* Whether s contains word, ignoring ASCII case (header values). */
int srv_contains_nocase(const char *s, const char *word);

/* Fill resp with the answer to a failure of the server itself (storage):
 * 503 busy, 507 storage_full or 500 internal, by rc. */
void srv_api_failure(struct srv_response *resp, int rc,
                     const struct fld_err *err);

/* Fill resp with a JSON error (also used by http.c for its own refusals). */
void srv_api_error(struct srv_response *resp, int status, const char *code,
                   const char *message, int64_t server_time);

/* ---- pull cursors ----------------------------------------------------------
 */

/*
 * A cursor is opaque to clients. Inside it is "1.EPOCH.SCOPE.POS.BIRTH":
 * the server's epoch, a digest of the device's role and scope when it was
 * issued, the last server sequence number pulled, and the sequence number
 * at which the cursor was born (what the device pushes after that is not
 * sent back to it). Forging one gains nothing: scope is enforced on every
 * pull from the device's current scope.
 */
struct srv_cursor {
    char epoch[17];
    char scope[17];
    int64_t pos;
    int64_t birth;
};

void srv_cursor_encode(const struct srv_cursor *c, char *out, size_t len);
/* FLD_EINVAL when text is not a cursor of this form. */
int srv_cursor_decode(const char *text, struct srv_cursor *out);
/* The digest of a device's role and scope, 16 hex digits. */
void srv_scope_digest(const struct srv_device *d, char out[17]);

#endif
