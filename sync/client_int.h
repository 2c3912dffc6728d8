/*
 * client_int.h - what the files of the device's sync client share, and
 * nobody else may use: one sync or enrollment in progress (struct run),
 * the signed request with its retries, and the queue of versions to push.
 * The contract for everyone else is client.h.
 *
 * The client is written in three files around this header, as SQLite
 * writes a subsystem as x.c, x.h and xInt.h:
 *
 *   client.c         requests (signing, retries, clock correction) and
 *                    the sync: the loop of round trips, pipelined
 *   client_queue.c   the queue of versions to push, in the order to push,
 *                    and the batches (request bodies) taken from it
 *   client_apply.c   an answer: checked against its batch, its pulled
 *                    versions verified (in parallel), applied to the store
 *   client_enroll.c  enrollment: the server's URL, the one-time code, and
 *                    what the device records of the server
 */
#ifndef SYN_CLIENT_INT_H
#define SYN_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "gzip.h"
#include "client.h"
#include "protocol.h"
#include "transport.h"
#include "version.h"

#define SYNC_PATH "/v1/sync"

/* One sync or enrollment in progress. */
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
    size_t n_threads;          /* verifying a page: threads, ours included */
    /* Another thread holds the store (client.c's pipeline): a clock-skew
     * correction is kept in offset_ms, marked unsaved, and written by the
     * loop once the store is back. */
    bool is_store_busy;
    bool is_offset_unsaved;
};

/* A request as it goes out on every attempt. */
struct outgoing {
    const char *method, *path;
    const uint8_t *body; /* gzipped when that made it smaller */
    size_t len;
    bool is_gzipped;
    /* NULL: JSON for a POST, none for a GET; "application/octet-stream"
     * for an attachment's chunk (client_attach.c) */
    const char *content_type;
    /* A streamed answer (transport.h): a 200 or 206 of any media type is
     * then the answer sought, its body already in the sink. */
    syn_sink_fn sink;
    void *sink_ctx;
    /* Sent once: a failure comes back at once, for the caller to decide
     * what the next try sends (a photo's chunk shrinks after a cut). */
    bool is_sent_once;
    /* The signature leaves the body out (SYN_UNSIGNED_PAYLOAD): a photo's
     * chunk, whose bytes the attachment's name vouches for. */
    bool is_payload_unsigned;
    /* A 200 of any media type is the answer sought, kept in resp->body
     * (a report as CSV or XLSX; the caller checks the type); a refusal
     * is still our server's JSON. */
    bool is_any_type;
    /* Send "Expect: 100-continue": the body goes only once the server
     * has accepted the headers, so a refusal costs no body bytes (a
     * photo's chunk after a failure, when a refusal is likely). */
    bool is_expecting;
};

/* ---- client.c --------------------------------------------------------- */

/* Start a run with the caller's settings, defaults filled in; clears
 * *stats, which the run fills. */
void syn_client_run_init(struct run *r, const struct syn_client *c,
                         struct syn_stats *stats);

/*
 * One request to the server, signed, with retries. Returns FLD_OK when
 * resp holds a 200 answer with a JSON body. A refusal by our server is
 * FLD_EINVAL with its code in r->code and its message in err; an answer
 * that is not ours is FLD_EPROTO; no usable answer after the retries is
 * FLD_ENET (FLD_EPROTO when the last one was not ours).
 */
int syn_client_exchange(struct run *r, const char *method, const char *path,
                        const struct fld_buf *plain,
                        struct syn_http_response *resp, struct fld_err *err);

/* The same with a body ready to go (o->method, o->path set): the batches
 * of a sync are compressed as they are read (client_queue.c). */
int syn_client_exchange_ready(struct run *r, const struct outgoing *o,
                              struct syn_http_response *resp,
                              struct fld_err *err);

/* Whether the caller asked the run to stop (client.h, stop). */
bool syn_client_stopped(const struct run *r);

/* Wait before retry number attempt (1, 2, ...): exponential backoff with
 * full jitter, or the server's Retry-After (-1: none), watching stop. */
void syn_client_retry_wait(struct run *r, int attempt, int64_t retry_after_s);

/* A decoder refused the answer (its message is in err): say whose.
 * Returns FLD_EPROTO. */
int syn_client_malformed(const struct run *r, struct fld_err *err);

/* The clock offset that makes our time read as the server's did when it
 * answered (half a round trip ago). */
int64_t syn_client_offset_from(const struct run *r, int64_t server_time);

/* A meta setting, or "" when unset (new string, free()). */
int syn_client_meta_text(struct fld_store *st, const char *key, char **out,
                         struct fld_err *err);

/* A meta setting as an integer, or 0 when unset. */
int syn_client_meta_int(struct fld_store *st, const char *key, int64_t *out,
                        struct fld_err *err);

/* ---- client_queue.c --------------------------------------------------- */

/* A version waiting to be pushed. */
struct pending {
    char hash[FLD_HASH_HEX_LEN + 1];
    char *author;
    int64_t dseq;
    size_t len;
};

struct edge; /* a version that must go before another (client_queue.c) */

struct queue {
    struct pending *v; /* in arrival order */
    size_t n, cap;
    /* The queue holds a window of the pending versions: the first
     * queue_window by arrival; beyond: how many more were pending when it
     * was loaded, to load once these are answered. */
    int64_t last_seq; /* the newest arrival in the window */
    int64_t beyond;
    size_t *order;   /* indices into v: the order to push in */
    size_t next;     /* position in order of the next to push */
    size_t *by_hash; /* indices into v sorted by hash, for look-ups */
    struct edge *edges;
    size_t n_edges, cap_edges;
};

/* (Re)load q with the store's pending versions, the first
 * r->cfg.queue_window of them by arrival, ordered: parents before
 * children, each author's in dseq order. Sets the counts of r->stats
 * that say what there is to push. */
int syn_client_queue_load(struct run *r, struct queue *q, struct fld_err *err);

/* Load the next window once every version of a full one was answered
 * (they are no longer pending); r->stats->to_push stays. */
int syn_client_queue_next_window(struct run *r, struct queue *q,
                                 struct fld_err *err);

/* Empty q; a zeroed queue is empty already. */
void syn_client_queue_free(struct queue *q);

/*
 * Whoever holds the store during a sync, and the transaction it keeps
 * open across answers (client_apply.c). Held by one thread at a time:
 * the loop, or the background job it started and has not yet joined.
 */
struct keeper {
    struct fld_store *st;
    bool in_txn;
    int64_t txn_start_ms;
    int64_t txn_versions; /* results and pulled versions in it */
};

/* Begin the transaction unless one is open. */
int syn_keeper_begin(struct keeper *k, struct fld_err *err);
/* Commit the open transaction, if any (a failed commit leaves none). */
int syn_keeper_commit(struct keeper *k, struct fld_err *err);
void syn_keeper_rollback(struct keeper *k);
/* Whether the open transaction has held enough, or long enough, that it
 * is time to commit it. */
bool syn_keeper_due(const struct keeper *k);

/* How much one request may push (struct syn_client's tunables). */
struct batch_limits {
    size_t versions;
    size_t bytes;
};

/* A request being built: the versions it pushes, and its body so far. */
struct batch {
    size_t *idx; /* queue indices of the versions, in the order written */
    size_t n, cap;
    size_t q_end;               /* the queue's position after this batch */
    struct fld_buf plain;       /* the JSON text so far */
    struct syn_gzip_stream *gz; /* the same being gzipped; NULL: no items */
    struct fld_buf zipped;      /* what gz has produced so far */
};

/*
 * Take the next batch from the front of q into b (which need not be
 * initialised): at most lim->versions versions and lim->bytes of bodies,
 * but always one when any is left. A stored version that no longer
 * matches its hash goes on the dead-letter list (in k's transaction)
 * instead. Reads the store: the caller holds k.
 */
int syn_client_batch_take(const struct batch_limits *lim, struct queue *q,
                          struct keeper *k, struct batch *b,
                          struct fld_err *err);
/* End b's text with the cursor and the page limit, and point o's body
 * at what is to be sent (borrowed from b until it is freed). */
void syn_client_batch_finish(struct batch *b, const char *cursor, int64_t limit,
                             struct outgoing *o);
void syn_client_batch_free(struct batch *b);

/* ---- client_apply.c --------------------------------------------------- */

/* A page's verification outcome for one version. */
struct verdict {
    int rc;
    char msg[FLD_ERR_MSG_MAX];
};

/* An answer to a batch, from decoding to being applied. */
struct answer {
    struct syn_sync_response *resp; /* each pull[i].body freed once verified */
    /* verified, one per resp->pull[i], without their parsed answers
     * (answers and review NULL: the body holds them) */
    struct fld_version **pulled;
    struct verdict *bad; /* per pulled version, while checking */
    /* The exchange's figures, for the clock correction (taken when the
     * answer arrived: the next exchange overwrites struct run's). */
    int64_t rtt_ms, answered_ms, offset_ms;
    size_t q_end;       /* the queue's position after the batch it answers */
    bool is_cursor_new; /* its cursor differs from the one sent */
    /* What applying it did (syn_client_count() takes them over). */
    bool is_applied;
    int64_t offset_out;
    int64_t pulled_new;
};

/*
 * Check a decoded answer against the batch b it answers: one result per
 * version, hash by hash, a usable cursor, no "more" with an empty page.
 * FLD_EPROTO naming the server. Reads r and q only.
 */
int syn_client_check(const struct run *r, const struct queue *q,
                     const struct batch *b, const struct answer *a,
                     struct fld_err *err);
/* Verify every version a checked answer pulled (fld_version_open(), on
 * r->n_threads threads). FLD_EPROTO or FLD_EBADSIG naming the server and
 * the first bad version in server order. Reads r only. */
int syn_client_verify(const struct run *r, struct answer *a,
                      struct fld_err *err);
/* Write what a checked answer proves in k's transaction (begun when none
 * is open; rolled back on failure). Touches k and a only. */
int syn_client_apply(struct keeper *k, struct answer *a, struct fld_err *err);
/* Count what an applied answer did into s. */
void syn_client_count(struct syn_stats *s, const struct answer *a);
void syn_client_answer_free(struct answer *a);

#endif
