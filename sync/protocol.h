/*
 * protocol.h - the messages of the sync protocol (docs/PROTOCOL.md), as the
 * `field` client and `field-server` both encode and decode them.
 *
 * Messages are JSON handled with cJSON; signed version bodies are never
 * re-serialised: a version travels as its exact canonical body text inside
 * a JSON string, next to its signature in hex, and the receiver checks it
 * with fld_version_open(). Requests are authenticated by the device key:
 *
 *   X-Field-Device:    the device's public key, 64 hex digits
 *   X-Field-Time:      the client's clock, Unix milliseconds, decimal
 *   X-Field-Signature: Ed25519 (128 hex) over
 *       "field-request-v1\n" METHOD "\n" PATH "\n" TIME "\n" BODYHASH
 *   where BODYHASH is the hex BLAKE2b-256 of the body bytes exactly as sent
 *   (after any Content-Encoding), so a server can authenticate a request
 *   before inflating it.
 *
 * Decoders check types and sizes and say which field was wrong; they never
 * print. Each returns FLD_OK, or: FLD_EINVAL for text that is not UTF-8
 * and for a member of the wrong type or value (naming it), FLD_ELIMIT for
 * nesting deeper than SYN_MAX_DEPTH or a list over its limit, FLD_EPROTO
 * for text that is not a JSON object. Every decoded object is freed with
 * its _free function.
 */
#ifndef SYN_PROTOCOL_H
#define SYN_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "key.h"
#include "version.h"

#define SYN_HDR_DEVICE "X-Field-Device"
#define SYN_HDR_TIME "X-Field-Time"
#define SYN_HDR_SIGNATURE "X-Field-Signature"
#define SYN_REQUEST_PREFIX "field-request-v1"
#define SYN_CONTENT_TYPE "application/json"
/* BODYHASH for a request whose signature leaves its body out: a chunk of
 * an attachment (PUT /v1/attachments/{hash}), whose bytes are checked
 * against the attachment's name once the file is whole. Signing them
 * too would cost a second pass of hashing over every byte on both sides
 * for nothing the name does not already guarantee (docs/PROTOCOL.md). */
#define SYN_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* Nesting allowed in a message (a sync request needs 3). */
#define SYN_MAX_DEPTH 16
/* Versions pushed in one request; pulled per page. */
#define SYN_MAX_PUSH 1000
#define SYN_MAX_LIMIT 1000
#define SYN_DEFAULT_LIMIT 100
/* An opaque cursor, an enrollment code. */
#define SYN_MAX_CURSOR 256
#define SYN_MAX_CODE 64
/* A result's reason code. */
#define SYN_REASON_MAX 32

/* ---- request authentication ------------------------------------------- */

struct syn_auth {
    char device[FLD_HASH_HEX_LEN + 1]; /* public key, hex */
    uint8_t pub[FLD_KEY_PUBLIC_LEN];
    int64_t time_ms;
    uint8_t sig[FLD_SIG_LEN];
};

/* The exact bytes a request signature covers (appended to out). */
void syn_request_message(const char *method, const char *path, int64_t time_ms,
                         const uint8_t *body, size_t len, struct fld_buf *out);

/* Sign a request with the device key; *out receives the three headers'
 * values (device, time_ms, sig). */
void syn_request_sign(const struct fld_key *key, const char *method,
                      const char *path, int64_t time_ms, const uint8_t *body,
                      size_t len, struct syn_auth *out);

/* The same for a request whose body the signature leaves out
 * (SYN_UNSIGNED_PAYLOAD): method, path and time only. */
void syn_request_sign_unsigned(const struct fld_key *key, const char *method,
                               const char *path, int64_t time_ms,
                               struct syn_auth *out);

/* The signature as 128 hex digits plus NUL. */
void syn_auth_sig_hex(const struct syn_auth *a, char out[2 * FLD_SIG_LEN + 1]);

/*
 * Parse the three header values (any may be NULL when absent): FLD_NOTFOUND
 * when all three are absent, FLD_EINVAL (naming the header) when one is
 * missing or malformed.
 */
int syn_auth_parse(const char *device, const char *time, const char *sig,
                   struct syn_auth *out, struct fld_err *err);

/* FLD_OK when a's signature covers this request, FLD_EBADSIG otherwise. */
int syn_request_verify(const struct syn_auth *a, const char *method,
                       const char *path, const uint8_t *body, size_t len,
                       struct fld_err *err);

/* The same for a request whose body the signature leaves out. */
int syn_request_verify_unsigned(const struct syn_auth *a, const char *method,
                                const char *path, struct fld_err *err);

/* ---- message text ------------------------------------------------------- */

/*
 * Check a message before any JSON parser sees it: FLD_EINVAL when it is
 * not valid UTF-8 (or holds a NUL byte, or the escape \u0000 in a
 * string, which a decoder would turn into one), FLD_ELIMIT when arrays and
 * objects nest deeper than max_depth. Strings are skipped correctly, so
 * brackets inside them do not count.
 */
int syn_json_precheck(const uint8_t *p, size_t len, int max_depth,
                      struct fld_err *err);

/* ---- POST /v1/sync ------------------------------------------------------ */

/* A version on the wire: its canonical body and the author's signature. */
struct syn_item {
    uint8_t *body; /* body_len bytes plus a NUL */
    size_t body_len;
    uint8_t sig[FLD_SIG_LEN];
    int64_t seq; /* server order (pulled items only; 0 when pushed) */
};

struct syn_sync_request {
    char *cursor;  /* NULL: start from the beginning */
    int64_t limit; /* page size asked for, 1..SYN_MAX_LIMIT */
    struct syn_item *push;
    size_t n_push;
};

enum syn_push_status {
    SYN_STORED,
    SYN_DUPLICATE,
    SYN_QUARANTINED,
    SYN_REFUSED
};

struct syn_result {
    char hash[FLD_HASH_HEX_LEN + 1]; /* BLAKE2b-256 of the pushed bytes */
    enum syn_push_status status;
    char reason[SYN_REASON_MAX]; /* "" for stored and duplicate */
    char *message;               /* for people; may be NULL */
};

struct syn_sync_response {
    struct syn_result *results; /* one per pushed version, in order */
    size_t n_results;
    struct syn_item *pull; /* in server order */
    size_t n_pull;
    char *cursor;        /* to send next time */
    bool more;           /* another page is waiting */
    bool reset;          /* the cursor sent was of another epoch or
                            scope: reconcile, then pull from here */
    int64_t server_time; /* Unix ms */
    /* The server's newest threshold revision sequence number (0: none);
     * -1 when the answer does not say (a server before them). */
    int64_t thresholds;
};

/* Copy body and signature into a new item slot (used when building). */
void syn_item_set(struct syn_item *it, const uint8_t *body, size_t len,
                  const uint8_t sig[FLD_SIG_LEN]);

/* Append the request's JSON text to out: {"push":[...],"cursor":...,
 * "limit":N}. */
void syn_sync_request_encode(const struct syn_sync_request *r,
                             struct fld_buf *out);
/*
 * The same in pieces, so that the versions (nearly all of a push) can be
 * written, and compressed, before the cursor they go with is known: each
 * pushed item in order (first: the first of the request), then the end.
 * has_items says whether any item was written before the end.
 */
void syn_sync_request_encode_item(const struct syn_item *it, bool first,
                                  struct fld_buf *out);
void syn_sync_request_encode_end(const char *cursor, int64_t limit,
                                 bool has_items, struct fld_buf *out);
/* FLD_EINVAL naming the field when malformed or of the wrong type,
 * FLD_ELIMIT when over a count limit. */
int syn_sync_request_decode(const uint8_t *p, size_t len,
                            struct syn_sync_request **out, struct fld_err *err);
void syn_sync_request_free(struct syn_sync_request *r);

void syn_sync_response_encode(const struct syn_sync_response *r,
                              struct fld_buf *out);
int syn_sync_response_decode(const uint8_t *p, size_t len,
                             struct syn_sync_response **out,
                             struct fld_err *err);
void syn_sync_response_free(struct syn_sync_response *r);

const char *syn_push_status_name(enum syn_push_status s);

/* ---- GET /v1/thresholds?after=SEQ -------------------------------------
 *
 * The province's threshold revisions (field/thresholds.h) after a server
 * sequence number, in server order: {"thresholds": [{"seq": N, "body":
 * "...", "sig": "..."}, ...], "more": bool}. A page holds at most
 * SYN_THRESHOLDS_PAGE; "more" says another waits after its last seq.
 */
#define SYN_THRESHOLDS_PATH "/v1/thresholds"
#define SYN_THRESHOLDS_PAGE 100

struct syn_thresholds_page {
    struct syn_item *items; /* seq set on each */
    size_t n;
    bool more;
};

void syn_thresholds_page_encode(const struct syn_thresholds_page *p,
                                struct fld_buf *out);
int syn_thresholds_page_decode(const uint8_t *p, size_t len,
                               struct syn_thresholds_page **out,
                               struct fld_err *err);
void syn_thresholds_page_free(struct syn_thresholds_page *p);

/* ---- POST /v1/enroll ---------------------------------------------------- */

struct syn_enroll_request {
    char code[SYN_MAX_CODE + 1];
    char public_key[FLD_HASH_HEX_LEN + 1];
};

void syn_enroll_request_encode(const struct syn_enroll_request *r,
                               struct fld_buf *out);
int syn_enroll_request_decode(const uint8_t *p, size_t len,
                              struct syn_enroll_request *out,
                              struct fld_err *err);

struct syn_enroll_response {
    char device[FLD_HASH_HEX_LEN + 1];
    char *inspector;
    char *role;
    char **scope;
    size_t n_scope;
    int64_t server_time;
};

void syn_enroll_response_encode(const struct syn_enroll_response *r,
                                struct fld_buf *out);
int syn_enroll_response_decode(const uint8_t *p, size_t len,
                               struct syn_enroll_response **out,
                               struct fld_err *err);
void syn_enroll_response_free(struct syn_enroll_response *r);

/* ---- errors ------------------------------------------------------------- */

/*
 * {"error":{"code":CODE,"message":MESSAGE}} with "server_time" added inside
 * the error object when server_time >= 0 (clock-skew refusals carry it).
 */
void syn_error_encode(const char *code, const char *message,
                      int64_t server_time, struct fld_buf *out);
/* Read an error body: code and message copied (truncated to fit);
 * *server_time is -1 when absent. FLD_EINVAL if it is not one. */
int syn_error_decode(const uint8_t *p, size_t len, char code[SYN_REASON_MAX],
                     char *message, size_t message_len, int64_t *server_time);

#endif
