/*
 * server.h - the running server's shared state: its configuration, a pool
 * of storage handles, the one writer lock, the cache of parsed templates,
 * the replay cache of request signatures, the epoch and the metrics.
 *
 * Flow of a request: http.c (libmicrohttpd) reads the body under the caps
 * and hands a struct srv_request to api.c, which authenticates it (its
 * gate), decodes it with libsync (sync/protocol.h), and for a push
 * runs push.c, which verifies every version outside the writer lock and
 * stores the batch inside it, in one transaction. Nothing below http.c
 * knows about HTTP connections, so the unit tests call api.c directly.
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "storage.h"
#include "template.h"

struct srv_config {
    char *db;        /* storage location (a SQLite path) */
    char *listen;    /* numeric address to listen on */
    int port;        /* 0: let the system choose */
    char *port_file; /* write the bound port here once listening */
    char *tls_cert;  /* PEM files; both or neither */
    char *tls_key;
    unsigned threads;           /* worker threads (0: two per core) */
    size_t max_body;            /* request body as received, bytes */
    size_t max_inflated;        /* request body after gunzip, bytes */
    int64_t skew_ms;            /* accepted difference of a request's clock */
    unsigned request_timeout_s; /* to receive one whole request */
    unsigned idle_timeout_s;    /* an idle connection is closed */
    unsigned max_connections;
    unsigned per_ip_connections; /* 0: no limit */
    unsigned header_timeout_s;   /* to receive a request's headers */
    size_t max_buffered;         /* request bodies held at once, bytes */
    unsigned enroll_per_ip;      /* enrollment attempts per skew window */
    unsigned shutdown_grace_s;   /* wait for requests in flight */
    unsigned partial_days;       /* unfinished uploads are kept so long */
    bool quiet;                  /* no request log on stderr */
};

/* Defaults (docs/SERVER.md lists them). */
void srv_config_defaults(struct srv_config *c);
void srv_config_free(struct srv_config *c);
/*
 * Set one option by its name (as in the configuration file and the long
 * option, without "--"): FLD_EUSAGE naming the problem when the name is
 * unknown or the value is not valid for it.
 */
int srv_config_set(struct srv_config *c, const char *name, const char *value,
                   struct fld_err *err);
/* Read "name = value" lines (# comments, blank lines) from path. */
int srv_config_load(struct srv_config *c, const char *path,
                    struct fld_err *err);

struct srv_attach;
struct srv_checkpointer;
struct srv_metrics;
struct srv_replay;

struct srv {
    struct srv_config cfg;
    char epoch[17]; /* 16 hex digits, new for each restored database */

    pthread_mutex_t pool_lock;
    struct srv_storage **free_handles;
    size_t n_free, cap_free;

    /* One writer at a time: SQLite allows only one, and waiting on a mutex
     * is fairer and faster than SQLite's busy-sleep loop. */
    pthread_mutex_t write_lock;

    pthread_mutex_t tpl_lock;
    struct srv_tpl_entry *templates; /* parsed templates by hash */
    size_t n_templates;

    struct srv_replay *replay;
    /* Enrollment signatures are kept apart, tagged with the address they
     * came from, so that anonymous attempts cannot fill the cache that
     * enrolled devices need (bounded per address, docs/SECURITY.md). */
    struct srv_replay *enroll_replay;
    /* When this process started (Unix ms): a request signed before it
     * may have been seen by the process before, whose replay cache is
     * gone, so it is refused (docs/SECURITY.md, "Replays"). */
    int64_t start_ms;
    struct srv_metrics *metrics;
    struct srv_checkpointer *checkpointer;
    /* The attachments' files (attachments.h), beside the database. */
    struct srv_attach *attach;
};

/* Open the storage (which must exist and be initialised) and set up the
 * shared state; *out is freed with srv_close(). */
int srv_open(const struct srv_config *cfg, struct srv **out,
             struct fld_err *err);
void srv_close(struct srv *s);

/* A storage handle for this thread's request; give it back with
 * srv_release(). */
int srv_acquire(struct srv *s, struct srv_storage **out, struct fld_err *err);
void srv_release(struct srv *s, struct srv_storage *st);

/*
 * The parsed template of this hash (cached; templates never change), or
 * FLD_NOTFOUND. Borrowed until srv_close().
 */
int srv_template(struct srv *s, struct srv_storage *st, const char *hash,
                 const struct fld_template **out, struct fld_err *err);

/* The parsed template of this hash if it is in the cache already, else
 * NULL; needs no storage handle, so any thread may ask. */
const struct fld_template *srv_template_cached(struct srv *s, const char *hash);

/* Delete the attachment uploads left unfinished for cfg.partial_days
 * (attachments.h); *n (may be NULL) counts them. The server runs it when
 * it starts and then every hour (checkpointer.h). */
int srv_expire_partials(struct srv *s, size_t *n, struct fld_err *err);

/* A new random epoch: 16 lowercase hex digits. */
void srv_epoch_new(char out[17]);

/* A condition variable whose timed waits run on the monotonic clock, as
 * the server's deadlines do: setting the wall clock must not stall or
 * hurry the threads that wait on it (the watchdog, the checkpointer). */
void srv_cond_init_monotonic(pthread_cond_t *cv);

/* ---- replay cache ----------------------------------------------------------
 */

/*
 * Remember request signatures for as long as their time is acceptable, so
 * that a captured request cannot be sent again. FLD_OK when sig is new
 * (it is now remembered until expires_ms), FLD_EXISTS when it was seen,
 * FLD_ELIMIT when the cache is full of live entries.
 */
struct srv_replay *srv_replay_new(size_t max_entries);
int srv_replay_check(struct srv_replay *r, const uint8_t sig[64],
                     int64_t expires_ms, int64_t now_ms);
/*
 * srv_replay_check() for a signature tagged with owner (a digest of the
 * client's address): FLD_EBUSY, and nothing remembered, when per_owner
 * live entries of that owner are there already (0: no bound). Counting
 * scans the table, so it is meant for a small cache (enrollment).
 */
int srv_replay_check_owned(struct srv_replay *r, const uint8_t sig[64],
                           int64_t expires_ms, int64_t now_ms, uint64_t owner,
                           size_t per_owner);
void srv_replay_free(struct srv_replay *r);

#endif
