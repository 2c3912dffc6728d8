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
 *                    the sync: round trips, checking and applying answers
 *   client_queue.c   the queue of versions to push, in the order to push
 *   client_enroll.c  enrollment: the server's URL, the one-time code, and
 *                    what the device records of the server
 */
#ifndef SYN_CLIENT_INT_H
#define SYN_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
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
    size_t *order;   /* indices into v: the order to push in */
    size_t next;     /* position in order of the next to push */
    size_t *by_hash; /* indices into v sorted by hash, for look-ups */
    struct edge *edges;
    size_t n_edges, cap_edges;
};

/* (Re)load q with every pending version of the store, ordered: parents
 * before children, each author's in dseq order. Sets the counts of
 * r->stats that say what there is to push. */
int syn_client_queue_load(struct run *r, struct queue *q, struct fld_err *err);

/* Empty q; a zeroed queue is empty already. */
void syn_client_queue_free(struct queue *q);

#endif
