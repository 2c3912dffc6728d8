/*
 * client.h - the device side of sync: enrolling with a server and
 * exchanging versions with it (docs/PROTOCOL.md, docs/SYNC.md).
 *
 * A sync is a loop of POST /v1/sync round trips. Each carries a batch of
 * pending versions (parents before children, each device's own in dseq
 * order, relayed versions too) and the pull cursor, and each answer is
 * applied to the store in ONE transaction: the server's result for every
 * pushed version (acknowledged, or refused onto the dead-letter list), the
 * page of pulled versions (each verified with fld_version_open() first),
 * and the new cursor. A sync killed or cut off at any point therefore
 * resumes where the last applied answer left it: versions whose answer
 * was lost are pushed again and come back "duplicate"; a page whose
 * answer was lost is pulled again and its versions are already stored.
 *
 * Requests that fail on the network, with a 5xx or with 429 are retried
 * with exponential backoff and full jitter. A clock-skew refusal corrects
 * the device's clock offset (meta clock.offset_ms, which capture adds to
 * the wall clock) by the server's time and is retried once. Pulled
 * versions advance the device's hybrid logical clock, never past the
 * server's time plus FLD_HLC_MAX_AHEAD_MS.
 *
 * An answer that is not our server's (a captive portal's HTML page, a
 * proxy's error page, anything that is not application/json) is reported
 * as such and never parsed as data.
 *
 * This module never prints: progress goes to a callback, results to
 * struct syn_stats, errors to struct fld_err.
 */
#ifndef SYN_CLIENT_H
#define SYN_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "key.h"
#include "store.h"
#include "transport.h"

/* Meta settings of the device store that sync owns. */
#define SYN_META_URL "sync.url"
#define SYN_META_ROLE "sync.role"
#define SYN_META_SCOPE "sync.scope"         /* unit codes, space separated */
#define SYN_META_INSPECTOR "sync.inspector" /* as the server knows them */
#define SYN_META_ENROLLED "sync.enrolled_ms"
#define SYN_META_CACERT "sync.cacert" /* remembered from enroll */
#define SYN_META_PINNED "sync.pinned_pubkey"
#define SYN_META_CURSOR "sync.cursor" /* "" before the first pull */
/* Where stores written before status.h kept the note of the last sync;
 * read while there is no SYN_STATUS_FILE, never written. */
#define SYN_META_LAST_OK "sync.last_ok_ms"
#define SYN_META_LAST_TRY "sync.last_attempt_ms"
#define SYN_META_LAST_ERROR "sync.last_error"
/* Mean bytes the link carried between cuts, for sizing photo chunks
 * (client_attach.c); absent until a cut was seen */
#define SYN_META_BETWEEN "sync.attach_between"

/* Defaults of the tunables of struct syn_client (0 selects them). */
#define SYN_BATCH_VERSIONS 500
#define SYN_BATCH_BYTES (4u * 1024 * 1024) /* of version bodies per push */
#define SYN_PAGE_LIMIT 500
/* Pending versions held in memory at once: a device with more pushes them
 * a window at a time, so that a sync's memory does not grow with them. */
#define SYN_QUEUE_WINDOW 20000
#define SYN_ATTEMPTS 6           /* tries of one request: ~30 s of backoff */
#define SYN_BACKOFF_MS 500       /* first retry delay, doubled each time ... */
#define SYN_BACKOFF_MAX_MS 30000 /* ... up to this */
/* Request bodies of at least this many bytes are sent gzipped. */
#define SYN_GZIP_MIN 1024

/* What a sync did; updated as it goes (the progress callback sees it). */
struct syn_stats {
    int64_t requests;    /* HTTP requests sent, retries included */
    int64_t retries;     /* of which repeated after a failure */
    int64_t pushed;      /* versions sent whose answer arrived ... */
    int64_t stored;      /* ... stored by the server */
    int64_t duplicates;  /* ... it had already */
    int64_t quarantined; /* ... it keeps aside (acknowledged all the same) */
    int64_t refused;     /* ... it refused: now on the dead-letter list */
    int64_t pulled;      /* versions received */
    int64_t pulled_new;  /* of which this device did not have */
    int64_t bytes_up;    /* on the wire, headers included */
    int64_t bytes_down;
    int64_t to_push; /* versions pending when the push began */
    int64_t pending; /* versions still to push */
    int64_t clock_corrections;
    bool reset; /* the server's cursor reset forced a reconcile */
    /* Attachments (syn_sync_attachments): files the server now holds that
     * this sync sent or found there already, files still to send (their
     * versions not on the server yet, or a failure), files received, and
     * the file bytes moved each way (chunks resent after a cut included) */
    int64_t att_to_upload;
    int64_t att_uploaded;
    int64_t att_already;
    int64_t att_waiting;
    int64_t att_failed;
    int64_t att_bytes_up;
    int64_t att_to_download;
    int64_t att_downloaded;
    int64_t att_bytes_down;
    int64_t thresholds; /* threshold revisions new here (sync/catalog.c) */
    int64_t started_ms;
    int64_t elapsed_ms;
};

typedef void (*syn_progress_fn)(void *ctx, const struct syn_stats *s);

/*
 * Everything a sync or an enrollment works with, filled by the caller.
 * The pointers are borrowed for the duration of the call. Zero tunables
 * take the defaults above.
 */
struct syn_client {
    struct fld_store *st;
    const struct fld_key *key; /* the device key: signs requests */
    struct syn_transport *transport;

    size_t batch_versions; /* versions per push, at most SYN_MAX_PUSH */
    size_t batch_bytes;    /* body bytes per push (one version always fits) */
    int64_t page_limit;    /* versions per pulled page, 1..SYN_MAX_LIMIT */
    int max_attempts;      /* tries of one request before giving up */
    int64_t backoff_ms;
    int64_t backoff_max_ms;
    size_t verify_threads; /* verifying a pulled page; 0: one per processor */
    size_t queue_window;   /* pending versions in memory at once */
    /* The data directory, where attachments' files live (attachment.h)
     * and the note of how the last sync ended is kept (status.h); NULL:
     * no note is kept, and syn_sync_attachments() cannot run. */
    const char *home;

    syn_progress_fn progress; /* before the first request and after every
                                 answer; may be NULL */
    void *progress_ctx;
    /* Set non-zero (by a signal handler) to stop between requests and
     * during backoff; the sync returns FLD_ENET "interrupted". */
    const volatile sig_atomic_t *stop;
    /* Waiting between retries; NULL: sleep in slices, watching stop.
     * Tests pass a function that only counts. */
    void (*sleep_ms)(void *ctx, int64_t ms);
    void *sleep_ctx;
};

/* What the server said when enrolling (strings new; syn_enrollment_free). */
struct syn_enrollment {
    char *url;
    char *role;        /* NULL when not known (see syn_enroll) */
    char *scope;       /* space separated; NULL when not known */
    char *inspector;   /* NULL when not known */
    bool was_enrolled; /* the key was enrolled already (a lost answer) */
};

void syn_enrollment_free(struct syn_enrollment *e);

/*
 * Check and normalise a server URL: http:// or https://, a host, an
 * optional port and path prefix, no query, fragment, user or white space;
 * a trailing slash is dropped. *out is new (free()). FLD_EUSAGE with a
 * message for people when it is not one.
 */
int syn_url_normalise(const char *url, char **out, struct fld_err *err);

/*
 * Enroll this device at url with a one-time code (POST /v1/enroll, signed
 * by the device key), then record the server, the enrollment and the
 * TLS options (cacert, pinned; either may be NULL) in the store, in one
 * transaction, and correct the clock offset by the server's time.
 *
 * Losing the answer must not strand a device whose code is now spent: if
 * the server says the key is enrolled already, or says the code is used
 * after an earlier attempt of this call may have reached it, a signed
 * probe confirms that this key is enrolled there and the enrollment is
 * recorded with role and scope unknown (out->was_enrolled).
 *
 * FLD_EXISTS when the store is already enrolled at this url; enrolling at
 * another server forgets the sync state of the old one. FLD_EINVAL when
 * the server refuses (a wrong or spent code, named); FLD_ENET, FLD_EPROTO
 * as for syn_sync().
 */
int syn_enroll(const struct syn_client *c, const char *url, const char *code,
               const char *cacert, const char *pinned,
               struct syn_enrollment *out, struct fld_err *err);

/*
 * Push every pending version and pull everything new, until both are
 * done. full: first forget what the server was known to hold and the
 * cursor, so everything is pushed again (idempotent) and pulled from the
 * start; the server's cursor reset does the same on its own. stats is
 * filled (also when failing, with what was done).
 *
 * FLD_NOTFOUND when the device is not enrolled; FLD_ENET when the server
 * cannot be reached (after the retries; the message names the server);
 * FLD_EPROTO when what answered is not our server or broke the protocol;
 * FLD_EINVAL when the server refuses the request (revoked, not enrolled
 * there); FLD_EBADSIG when the server sent a version that does not
 * verify (nothing of that page is kept); store failures as the store
 * returns them. The outcome is also noted for `field sync status` in the
 * data directory, when c->home is set (status.h).
 */
int syn_sync(const struct syn_client *c, bool full, struct syn_stats *stats,
             struct fld_err *err);

/*
 * Photos, after the versions (docs/PROTOCOL.md "Attachments"): upload
 * every attachment this device holds whose version the server holds and
 * whose bytes it does not (upload), then, when download is set, fetch the
 * files of the attachments the store's versions name (of record only, when
 * not NULL) that this device does not hold. Uploads go in chunks that
 * grow while the link is fast and shrink after a failure; after a cut,
 * the next chunk starts at the server's acknowledged offset, so no
 * acknowledged byte is ever sent twice. A download resumes from the
 * length of its partial file and is kept only once its hash is checked.
 * The counts go to stats->att_*; stats is not cleared (it follows a
 * syn_sync() in the same struct).
 *
 * FLD_OK also when some files wait (their versions not yet on the
 * server: att_waiting) or are refused (att_failed, err naming the last);
 * FLD_ENET when the server could not be reached after the retries (what
 * was acknowledged stays; the next sync continues from there); store and
 * file failures as they come.
 */
int syn_sync_attachments(const struct syn_client *c, bool upload, bool download,
                         const char *record, struct syn_stats *stats,
                         struct fld_err *err);

/* What a report is asked for (GET /v1/report, docs/PROTOCOL.md); NULL
 * members are left out, for the server's defaults. */
struct syn_report_query {
    const char *unit;   /* a unit code */
    const char *as_of;  /* YYYY-MM-DD */
    const char *format; /* "json", "csv" or "xlsx" */
    const char *lang;   /* "vi" or "en" */
};

/* Append the request's path to out: "/v1/report" and the query in the
 * one spelling the server checks the signature over. */
void syn_report_path(const struct syn_report_query *q, struct fld_buf *out);

/*
 * The progress report for this device (a supervisor's or an admin's),
 * as the server computes it: one signed GET, retried as a sync's
 * requests are. On FLD_OK the body (JSON, CSV or the XLSX workbook, as
 * asked) is appended to out.
 *
 * FLD_NOTFOUND when the device is not enrolled, or the server knows no
 * such unit; FLD_EINVAL when the server refuses (an inspector's device,
 * a unit outside the scope, a bad parameter: its message in err);
 * FLD_ENET when it cannot be reached; FLD_EPROTO when what answered is
 * not our server or not a report of the format asked.
 */
int syn_report(const struct syn_client *c, const struct syn_report_query *q,
               struct fld_buf *out, struct fld_err *err);

#endif
