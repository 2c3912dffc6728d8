/*
 * cmd_sync.c - `field enroll` and `field sync`: the device's side of the
 * server (sync/client.h does the work; this file parses, prints and
 * watches).
 *
 *   field enroll [--cacert FILE] [--pinned-pubkey SPEC] URL CODE
 *   field sync [--json] [--full] [--retries N] [--cacert FILE]
 *              [--pinned-pubkey SPEC] [--no-attachments | --attachments
 *              | --attachments-of RECORD]
 *   field sync --watch [--interval SECONDS] [--json] ...
 *   field sync status [--json]
 *
 * Output: one summary line on stdout (or a JSON object with --json); a
 * progress line on stderr only when stderr is a terminal; errors as one
 * line through main(). A failure to reach the server is exit status 1
 * with a message naming the server; a refusal by the server is 4.
 *
 * Photos go after the versions (sync/client_attach.c): a slow or failed
 * upload never holds back the answers, which are already on the server
 * when the photos start. A failure there still prints the summary of the
 * versions, then the error.
 *
 * Only one `field sync` runs at a time per data directory (a lock file,
 * sync.lock, held with flock): two would push the same versions and race
 * to store the cursor, harmlessly but wastefully.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "client.h"
#include "cmd.h"
#include "hlc.h"
#include "status.h"
#include "transport.h"

/* --watch: seconds between syncs while the server answers, by default. */
#define WATCH_INTERVAL_S 120
/* --watch while offline: the first wait, and the longest. */
#define WATCH_OFFLINE_FIRST_S 10
#define WATCH_OFFLINE_MAX_S 900

enum {
    OPT_CACERT = 1,
    OPT_PINNED,
    OPT_FULL,
    OPT_WATCH,
    OPT_INTERVAL,
    OPT_RETRIES,
    OPT_NO_ATTACHMENTS,
    OPT_ATTACHMENTS,
    OPT_ATTACHMENTS_OF
};

struct sync_opts {
    const char *cacert;
    const char *pinned;
    bool full;
    bool watch;
    long interval_s;
    long retries;          /* -1: the default */
    bool no_attachments;   /* send no photo (a metered link) */
    bool attachments;      /* also fetch the photos this device lacks */
    const char *of_record; /* ... of this record only */
};

static const struct option tls_options[] = {
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"pinned-pubkey", required_argument, NULL, OPT_PINNED},
    {NULL, 0, NULL, 0}};

static const struct option sync_options[] = {
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"pinned-pubkey", required_argument, NULL, OPT_PINNED},
    {"full", no_argument, NULL, OPT_FULL},
    {"watch", no_argument, NULL, OPT_WATCH},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"no-attachments", no_argument, NULL, OPT_NO_ATTACHMENTS},
    {"attachments", no_argument, NULL, OPT_ATTACHMENTS},
    {"attachments-of", required_argument, NULL, OPT_ATTACHMENTS_OF},
    {NULL, 0, NULL, 0}};

static int on_option(struct cmd_ctx *ctx, int opt, const char *arg, void *data)
{
    struct sync_opts *o = data;
    char *end;

    switch (opt) {
    case OPT_CACERT:
        o->cacert = arg;
        break;
    case OPT_PINNED:
        o->pinned = arg;
        break;
    case OPT_FULL:
        o->full = true;
        break;
    case OPT_WATCH:
        o->watch = true;
        break;
    case OPT_INTERVAL:
        errno = 0;
        o->interval_s = strtol(arg, &end, 10);
        if (errno || *end || end == arg || o->interval_s < 1 ||
            o->interval_s > 86400)
            return fld_err_set(
                &ctx->err, FLD_EUSAGE,
                "--interval must be 1 to 86400 seconds, not '%s'", arg);
        break;
    case OPT_NO_ATTACHMENTS:
        o->no_attachments = true;
        break;
    case OPT_ATTACHMENTS:
        o->attachments = true;
        break;
    case OPT_ATTACHMENTS_OF:
        o->attachments = true;
        o->of_record = arg;
        break;
    case OPT_RETRIES:
        errno = 0;
        o->retries = strtol(arg, &end, 10);
        if (errno || *end || end == arg || o->retries < 0 || o->retries > 100)
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "--retries must be 0 to 100, not '%s'", arg);
        break;
    default:
        return fld_err_set(&ctx->err, FLD_EUSAGE, "bad option");
    }
    return FLD_OK;
}

/* ---- TLS options and the transport -----------------------------------------
 */

/* A file named on the command line is remembered by enroll and used by
 * later syncs from anywhere (a systemd service, cron): keep it absolute. */
static int absolute(struct cmd_ctx *ctx, const char *what, const char *path,
                    char **out)
{
    char buf[PATH_MAX];

    *out = NULL;
    if (realpath(path, buf) == NULL)
        return fld_err_set(&ctx->err, errno == ENOENT ? FLD_NOTFOUND : FLD_EIO,
                           "%s %s: %s", what, path, strerror(errno));
    *out = fld_xstrdup(buf);
    return FLD_OK;
}

/* The TLS options to use: the command line's, else those enroll kept.
 * *cacert and *pinned are new (NULL when none). */
static int tls_settings(struct cmd_ctx *ctx, const struct sync_opts *o,
                        bool remembered, char **cacert, char **pinned)
{
    int rc;

    *cacert = *pinned = NULL;
    if (o->cacert) {
        rc = absolute(ctx, "--cacert", o->cacert, cacert);
        if (rc != FLD_OK)
            return rc;
    }
    if (o->pinned) {
        if (strncmp(o->pinned, "sha256//", 8) == 0)
            *pinned = fld_xstrdup(o->pinned);
        else if ((rc = absolute(ctx, "--pinned-pubkey", o->pinned, pinned)) !=
                 FLD_OK)
            return rc;
    }
    if (remembered && *cacert == NULL &&
        fld_store_meta_get(ctx->st, SYN_META_CACERT, cacert, NULL) == FLD_OK &&
        (*cacert)[0] == '\0') {
        free(*cacert);
        *cacert = NULL;
    }
    if (remembered && *pinned == NULL &&
        fld_store_meta_get(ctx->st, SYN_META_PINNED, pinned, NULL) == FLD_OK &&
        (*pinned)[0] == '\0') {
        free(*pinned);
        *pinned = NULL;
    }
    return FLD_OK;
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* ---- output ----------------------------------------------------------------
 */

static void human_bytes(int64_t n, char out[32])
{
    if (n < 1000)
        snprintf(out, 32, "%" PRId64 " B", n);
    else if (n < 1000 * 1000)
        snprintf(out, 32, "%.1f kB", (double)n / 1e3);
    else
        snprintf(out, 32, "%.1f MB", (double)n / 1e6);
}

/*
 * The progress line: the client's counts after each answer, plus the
 * bytes of the request in flight (a big batch over a slow link takes a
 * while), redrawn at most every 200 ms.
 */
struct progress {
    bool on; /* stderr is a terminal */
    bool drawn;
    int64_t last_ms;
    struct syn_stats s; /* as of the last answer */
    int64_t flight_up, flight_down;
};

/* The progress line while photos move: files and bytes each way. */
static void draw_photos(struct progress *p, int64_t elapsed)
{
    char up[32], down[32], rate[32];
    const struct syn_stats *s = &p->s;
    int64_t bytes =
        s->att_bytes_up + p->flight_up + s->att_bytes_down + p->flight_down;

    human_bytes(s->att_bytes_up + p->flight_up, up);
    human_bytes(s->att_bytes_down + p->flight_down, down);
    human_bytes(bytes * 1000 / (elapsed > 0 ? elapsed : 1), rate);
    fprintf(stderr,
            "\rsync: photos up %" PRId64 "/%" PRId64 " (%s), down %" PRId64
            "/%" PRId64 " (%s), %s/s\033[K",
            s->att_uploaded + s->att_already, s->att_to_upload, up,
            s->att_downloaded, s->att_to_download, down, rate);
    fflush(stderr);
    p->drawn = true;
}

static void draw(struct progress *p)
{
    char up[32], down[32], rate[32];
    int64_t now = fld_now_ms();
    int64_t elapsed = now - p->s.started_ms;
    int64_t bytes_up = p->s.bytes_up + p->flight_up;
    int64_t bytes_down = p->s.bytes_down + p->flight_down;

    if (!p->on || p->s.started_ms == 0 || now - p->last_ms < 200)
        return;
    p->last_ms = now;
    if (p->s.att_to_upload > 0 || p->s.att_to_download > 0) {
        draw_photos(p, elapsed);
        return;
    }
    human_bytes(bytes_up, up);
    human_bytes(bytes_down, down);
    human_bytes((bytes_up + bytes_down) * 1000 / (elapsed > 0 ? elapsed : 1),
                rate);
    fprintf(stderr,
            "\rsync: up %" PRId64 "/%" PRId64 " versions (%s), down %" PRId64
            " versions (%s), %s/s, %" PRId64 " left\033[K",
            p->s.pushed, p->s.to_push, up, p->s.pulled, down, rate,
            p->s.pending);
    fflush(stderr);
    p->drawn = true;
}

static void on_answer(void *data, const struct syn_stats *s)
{
    struct progress *p = data;

    p->s = *s;
    p->flight_up = p->flight_down = 0;
    draw(p);
}

static void on_transfer(void *data, int64_t up, int64_t down)
{
    struct progress *p = data;

    if (p->s.started_ms == 0)
        p->s.started_ms = fld_now_ms();
    p->flight_up = up;
    p->flight_down = down;
    draw(p);
}

/* Erase the line, and start afresh for the next sync (--watch). */
static void clear_progress(struct progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    memset(&p->s, 0, sizeof p->s);
    p->flight_up = p->flight_down = 0;
    p->drawn = false;
}

/* --json: what became of the photos. */
static struct fld_json *attachment_counts(const struct syn_stats *s)
{
    struct fld_json *a = fld_json_object();

    fld_json_set(a, "to_upload", fld_json_int(s->att_to_upload));
    fld_json_set(a, "uploaded", fld_json_int(s->att_uploaded));
    fld_json_set(a, "already_there", fld_json_int(s->att_already));
    fld_json_set(a, "waiting", fld_json_int(s->att_waiting));
    fld_json_set(a, "failed", fld_json_int(s->att_failed));
    fld_json_set(a, "bytes_up", fld_json_int(s->att_bytes_up));
    fld_json_set(a, "to_download", fld_json_int(s->att_to_download));
    fld_json_set(a, "downloaded", fld_json_int(s->att_downloaded));
    fld_json_set(a, "bytes_down", fld_json_int(s->att_bytes_down));
    return a;
}

/* The photos' line of the summary, when any moved or wait. */
static void print_photos(const struct syn_stats *s)
{
    char up[32], down[32];

    if (s->att_to_upload == 0 && s->att_to_download == 0)
        return;
    human_bytes(s->att_bytes_up, up);
    human_bytes(s->att_bytes_down, down);
    printf("ảnh / photos: %" PRId64 " sent (%s), %" PRId64
           " already on the server, %" PRId64 " waiting, %" PRId64
           " failed; %" PRId64 " of %" PRId64 " received (%s)\n",
           s->att_uploaded, up, s->att_already, s->att_waiting, s->att_failed,
           s->att_downloaded, s->att_to_download, down);
}

static void print_summary(struct cmd_ctx *ctx, const char *url,
                          const struct syn_stats *s)
{
    char up[32], down[32];

    if (ctx->json) {
        struct fld_json *o = fld_json_object();
        struct fld_buf b = FLD_BUF_INIT;

        fld_json_set(o, "server", fld_json_string(url));
        fld_json_set(o, "pushed", fld_json_int(s->pushed));
        fld_json_set(o, "stored", fld_json_int(s->stored));
        fld_json_set(o, "duplicates", fld_json_int(s->duplicates));
        fld_json_set(o, "quarantined", fld_json_int(s->quarantined));
        fld_json_set(o, "refused", fld_json_int(s->refused));
        fld_json_set(o, "pulled", fld_json_int(s->pulled));
        fld_json_set(o, "new", fld_json_int(s->pulled_new));
        fld_json_set(o, "pending", fld_json_int(s->pending));
        fld_json_set(o, "bytes_up", fld_json_int(s->bytes_up));
        fld_json_set(o, "bytes_down", fld_json_int(s->bytes_down));
        fld_json_set(o, "requests", fld_json_int(s->requests));
        fld_json_set(o, "retries", fld_json_int(s->retries));
        fld_json_set(o, "clock_corrections",
                     fld_json_int(s->clock_corrections));
        fld_json_set(o, "reset", fld_json_bool(s->reset));
        fld_json_set(o, "thresholds", fld_json_int(s->thresholds));
        fld_json_set(o, "attachments", attachment_counts(s));
        fld_json_set(o, "milliseconds", fld_json_int(s->elapsed_ms));
        /* Our JSON writer is the canonical one, integers only; seconds are
         * for people reading the summary, so add them as a plain number. */
        if (fld_json_write(o, &b, NULL) == FLD_OK && b.len > 1) {
            b.len--; /* drop the closing brace */
            fld_buf_printf(&b, ",\"seconds\":%.3f}",
                           (double)s->elapsed_ms / 1e3);
            printf("%s\n", fld_buf_str(&b));
        }
        fld_buf_free(&b);
        fld_json_free(o);
        fflush(stdout);
        return;
    }
    human_bytes(s->bytes_up, up);
    human_bytes(s->bytes_down, down);
    printf("synced with %s: pushed %" PRId64 " (%" PRId64 " stored, %" PRId64
           " duplicates, %" PRId64 " quarantined, %" PRId64
           " refused), pulled %" PRId64 " (%" PRId64 " new); %" PRId64
           " request%s, %s up, %s down, "
           "%.2f s%s\n",
           url, s->pushed, s->stored, s->duplicates, s->quarantined, s->refused,
           s->pulled, s->pulled_new, s->requests, s->requests == 1 ? "" : "s",
           up, down, (double)s->elapsed_ms / 1e3,
           s->refused ? "; see 'field sync status' for the refused versions"
                      : "");
    if (s->thresholds > 0)
        printf("ngưỡng mới của tỉnh / new threshold revisions: %" PRId64
               " (field thresholds)\n",
               s->thresholds);
    print_photos(s);
    fflush(stdout);
}

/* stop (may be NULL) ends a transfer under way once set. */
static int open_transport(struct cmd_ctx *ctx, const char *cacert,
                          const char *pinned, const volatile sig_atomic_t *stop,
                          long bound_s, struct progress *p,
                          struct syn_transport **out)
{
    struct syn_curl_options co;

    memset(&co, 0, sizeof co);
    if (bound_s > 0) {
        co.connect_timeout_ms = bound_s * 1000;
        co.low_speed_time_s = bound_s;
    }
    co.cacert = cacert;
    co.pinned_pubkey = pinned;
    co.stop = stop;
    if (p != NULL && p->on) {
        co.on_transfer = on_transfer;
        co.transfer_ctx = p;
    }
    return syn_transport_curl_new(&co, out, &ctx->err);
}

/* ---- field enroll
 * ------------------------------------------------------------ */

int cmd_enroll(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct sync_opts o;
    struct syn_client c;
    struct syn_transport *t = NULL;
    struct syn_enrollment e;
    char *cacert = NULL, *pinned = NULL;
    int rc, first;

    memset(&o, 0, sizeof o);
    o.retries = -1;
    memset(&e, 0, sizeof e);
    if ((rc = cmd_parse(ctx, argc, argv, tls_options, on_option, &o, &first)))
        return rc;
    if (argc - first != 2)
        return fld_err_set(&ctx->err, FLD_EUSAGE, "usage: field enroll %s",
                           ctx->cmd->usage);
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        goto done;
    if ((rc = cmd_load_key(ctx)) != FLD_OK)
        goto done;
    if ((rc = tls_settings(ctx, &o, false, &cacert, &pinned)) != FLD_OK)
        goto done;
    rc = open_transport(ctx, cacert, pinned, NULL, 0, NULL, &t);
    if (rc != FLD_OK)
        goto done;
    memset(&c, 0, sizeof c);
    c.st = ctx->st;
    c.key = ctx->key;
    c.transport = t;
    rc = syn_enroll(&c, argv[first], argv[first + 1], cacert, pinned, &e,
                    &ctx->err);
    if (rc != FLD_OK)
        goto done;
    if (ctx->json) {
        struct fld_json *j = fld_json_object();

        fld_json_set(j, "server", fld_json_string(e.url));
        fld_json_set(j, "role",
                     e.role ? fld_json_string(e.role) : fld_json_null());
        fld_json_set(j, "scope",
                     e.scope ? fld_json_string(e.scope) : fld_json_null());
        fld_json_set(j, "inspector",
                     e.inspector ? fld_json_string(e.inspector)
                                 : fld_json_null());
        fld_json_set(j, "was_enrolled", fld_json_bool(e.was_enrolled));
        rc = cmd_print_json(ctx, j);
        fld_json_free(j);
    } else if (e.was_enrolled) {
        printf("enrolled at %s (this key was enrolled there already)\n", e.url);
    } else {
        printf("enrolled at %s as %s%s%s%s%s\n", e.url, e.role,
               e.scope[0] ? " for " : "", e.scope, e.inspector[0] ? ", " : "",
               e.inspector);
    }
done:
    syn_enrollment_free(&e);
    syn_transport_free(t);
    free(cacert);
    free(pinned);
    return rc;
}

/* ---- field sync status
 * ------------------------------------------------------- */

struct dead_list {
    struct fld_json *arr; /* --json */
    int64_t n;
};

static int on_refused(void *data, const struct fld_store_refused *r)
{
    struct dead_list *d = data;

    d->n++;
    if (d->arr) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "hash", fld_json_string(r->hash));
        fld_json_set(o, "record", fld_json_string(r->record));
        fld_json_set(o, "subject", fld_json_string(r->subject));
        fld_json_set(o, "author", fld_json_string(r->author));
        fld_json_set(o, "dseq", fld_json_int(r->dseq));
        fld_json_set(o, "reason", fld_json_string(r->reason));
        fld_json_set(o, "message",
                     r->message ? fld_json_string(r->message)
                                : fld_json_null());
        fld_json_set(o, "refused_ms", fld_json_int(r->at_ms));
        fld_json_append(d->arr, o);
        return FLD_OK;
    }
    printf("  %.16s  record %.12s  subject %s  %s%s%s\n", r->hash, r->record,
           r->subject, r->reason, r->message ? ": " : "",
           r->message ? r->message : "");
    return FLD_OK;
}

static char *meta_or_empty(struct cmd_ctx *ctx, const char *key)
{
    char *v = NULL;

    if (fld_store_meta_get(ctx->st, key, &v, NULL) != FLD_OK)
        return fld_xstrdup("");
    return v;
}

static int sync_status(struct cmd_ctx *ctx)
{
    char *url = meta_or_empty(ctx, SYN_META_URL);
    char *role = meta_or_empty(ctx, SYN_META_ROLE);
    char *scope = meta_or_empty(ctx, SYN_META_SCOPE);
    struct syn_status note;
    int64_t n_pending, bytes, known, n_refused;
    struct dead_list d = {NULL, 0};
    char when[32], size[32];
    int rc;

    syn_status_read(ctx->home, ctx->st, &note);
    rc = fld_store_sync_pending_count(ctx->st, &n_pending, &bytes, &ctx->err);
    if (rc != FLD_OK)
        goto done;
    rc = fld_store_sync_counts(ctx->st, &known, &n_refused, &ctx->err);
    if (rc != FLD_OK)
        goto done;
    if (ctx->json) {
        struct fld_json *o = fld_json_object();

        d.arr = fld_json_array();
        rc = fld_store_sync_each_refused(ctx->st, on_refused, &d, &ctx->err);
        fld_json_set(o, "server",
                     url[0] ? fld_json_string(url) : fld_json_null());
        fld_json_set(o, "role",
                     role[0] ? fld_json_string(role) : fld_json_null());
        fld_json_set(o, "scope", fld_json_string(scope));
        fld_json_set(o, "last_sync_ms",
                     note.last_ok_ms ? fld_json_int(note.last_ok_ms)
                                     : fld_json_null());
        fld_json_set(o, "last_attempt_ms",
                     note.last_try_ms ? fld_json_int(note.last_try_ms)
                                      : fld_json_null());
        fld_json_set(o, "last_error",
                     note.last_error[0] ? fld_json_string(note.last_error)
                                        : fld_json_null());
        fld_json_set(o, "pending", fld_json_int(n_pending));
        fld_json_set(o, "pending_bytes", fld_json_int(bytes));
        fld_json_set(o, "known", fld_json_int(known));
        fld_json_set(o, "refused", d.arr);
        d.arr = NULL;
        if (rc == FLD_OK)
            rc = cmd_print_json(ctx, o);
        fld_json_free(o);
        goto done;
    }
    if (url[0])
        printf("server:     %s (%s%s%s)\n", url,
               role[0] ? role : "role unknown", scope[0] ? ", scope " : "",
               scope);
    else
        printf("server:     none; run 'field enroll URL CODE'\n");
    if (note.last_ok_ms) {
        cmd_format_time(note.last_ok_ms, when);
        printf("last sync:  %s\n", when);
    } else {
        printf("last sync:  never\n");
    }
    if (note.last_error[0] && note.last_try_ms > note.last_ok_ms) {
        cmd_format_time(note.last_try_ms, when);
        printf("last error: %s: %s\n", when, note.last_error);
    }
    human_bytes(bytes, size);
    printf("pending:    %" PRId64 " version%s (%s)\n", n_pending,
           n_pending == 1 ? "" : "s", size);
    printf("refused:    %" PRId64 " version%s%s\n", n_refused,
           n_refused == 1 ? "" : "s",
           n_refused ? " (not pushed again until 'field sync --full'):" : "");
    rc = fld_store_sync_each_refused(ctx->st, on_refused, &d, &ctx->err);
done:
    fld_json_free(d.arr);
    free(url);
    free(role);
    free(scope);
    syn_status_free(&note);
    return rc;
}

/* ---- field sync
 * ---------------------------------------------------------------- */

/* Hold the data directory's sync lock (released when the process ends). */
static int take_lock(struct cmd_ctx *ctx, int *fd)
{
    char *path = fld_xasprintf("%s/sync.lock", ctx->home);

    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*fd < 0) {
        int rc =
            fld_err_set(&ctx->err, FLD_EIO, "%s: %s", path, strerror(errno));

        free(path);
        return rc;
    }
    free(path);
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        close(*fd);
        *fd = -1;
        return fld_err_set(&ctx->err, FLD_EBUSY,
                           "another 'field sync' is running for %s", ctx->home);
    }
    return FLD_OK;
}

/*
 * One sync: the versions, then (unless o->no_attachments) the photos.
 * *versions_done says whether the versions were synced: when only the
 * photos failed, the caller prints what was done before the error.
 */
static int sync_once(struct cmd_ctx *ctx, struct syn_client *c,
                     const struct sync_opts *o, bool full, struct syn_stats *s,
                     bool *versions_done)
{
    char record[FLD_RECORD_HEX_LEN + 1];
    int rc = syn_sync(c, full, s, &ctx->err);

    *versions_done = rc == FLD_OK;
    if (rc != FLD_OK || o->no_attachments)
        return rc;
    /* Looked up after the versions: the record may just have arrived. */
    if (o->of_record != NULL) {
        rc = fld_store_find_record(ctx->st, o->of_record, record, &ctx->err);
        if (rc != FLD_OK)
            return rc;
    }
    return syn_sync_attachments(c, true, o->attachments,
                                o->of_record ? record : NULL, s, &ctx->err);
}

/* Sleep up to s seconds, waking early when asked to stop. */
static void nap(int64_t ms)
{
    while (ms > 0 && !stop_requested) {
        int64_t slice = ms < 200 ? ms : 200;
        struct timespec ts = {0, (long)slice * 1000000L};

        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

/* With jitter, so that many devices do not keep in step. */
static int64_t jittered(int64_t ms)
{
    return ms * 3 / 4 + (int64_t)randombytes_uniform((uint32_t)(ms / 2 + 1));
}

/*
 * --watch: sync now and every interval; while the server cannot be
 * reached (or something else answers, such as a captive portal), retry
 * after 10 s, 20 s, 40 s ... up to ten intervals (at most 15 minutes):
 * cheap on battery and bandwidth while offline, yet back soon after the
 * link returns. Stops cleanly on SIGINT or SIGTERM: an interrupted round
 * trip is simply redone by the next sync. Failures that waiting cannot
 * mend (revoked, not enrolled, a damaged store) end the watch.
 */
static int watch(struct cmd_ctx *ctx, struct syn_client *c, const char *url,
                 const struct sync_opts *o, struct progress *p)
{
    struct sigaction sa;
    int64_t interval =
        (o->interval_s ? o->interval_s : WATCH_INTERVAL_S) * 1000;
    int64_t offline_max = interval * 10, offline = WATCH_OFFLINE_FIRST_S * 1000;
    char last_error[FLD_ERR_MSG_MAX] = "";
    bool first = true, versions_done;
    int rc = FLD_OK;

    if (offline_max > WATCH_OFFLINE_MAX_S * 1000)
        offline_max = WATCH_OFFLINE_MAX_S * 1000;
    if (offline_max < interval)
        offline_max = interval;
    if (offline > interval)
        offline = interval;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    c->stop = &stop_requested;
    if (o->retries < 0)
        c->max_attempts = 3; /* the watch itself is the outer retry */
    while (!stop_requested) {
        struct syn_stats s;
        int64_t wait;

        rc = sync_once(ctx, c, o, first && o->full, &s, &versions_done);
        clear_progress(p);
        if (stop_requested)
            break;
        if (rc == FLD_OK) {
            first = false;
            if (s.pushed || s.pulled || s.att_to_upload || s.att_to_download ||
                ctx->json)
                print_summary(ctx, url, &s);
            if (last_error[0])
                fprintf(stderr, "field: sync: the server answers again\n");
            last_error[0] = '\0';
            offline = WATCH_OFFLINE_FIRST_S * 1000 < interval
                          ? WATCH_OFFLINE_FIRST_S * 1000
                          : interval;
            wait = jittered(interval);
        } else if (rc == FLD_ENET || rc == FLD_EPROTO || rc == FLD_EBUSY ||
                   rc == FLD_EFULL) {
            /* Say it once, not every time: a day offline is one line. */
            if (strcmp(last_error, ctx->err.msg) != 0) {
                fprintf(stderr, "field: sync: %s; will keep trying\n",
                        ctx->err.msg);
                snprintf(last_error, sizeof last_error, "%s", ctx->err.msg);
            }
            wait = jittered(offline);
            offline = offline * 2 > offline_max ? offline_max : offline * 2;
        } else {
            return rc;
        }
        fld_err_clear(&ctx->err);
        nap(wait);
    }
    fld_err_clear(&ctx->err);
    return FLD_OK;
}

/* The server this device is enrolled with, in *url (free()). */
static int enrolled_url(struct cmd_ctx *ctx, char **url)
{
    if (fld_store_meta_get(ctx->st, SYN_META_URL, url, NULL) != FLD_OK ||
        (*url)[0] == '\0') {
        free(*url);
        *url = NULL;
        return fld_err_set(&ctx->err, FLD_NOTFOUND,
                           "this device is not enrolled with a server; run "
                           "'field enroll URL CODE' first");
    }
    return FLD_OK;
}

/*
 * Everything around the sync itself: the data directory's sync lock, the
 * key, the TLS settings, the transport and the client; then the watch
 * (o->watch) or one sync, whose counts go to *s. p (may be NULL: nobody
 * draws) is the terminal's progress line, fn (may be NULL) the callback
 * that sees the counts after every answer; stop (may be NULL; the watch
 * has its own) ends the sync between requests once set.
 */
static int with_client(struct cmd_ctx *ctx, const struct sync_opts *o,
                       const char *url, const volatile sig_atomic_t *stop,
                       struct progress *p, syn_progress_fn fn, void *fn_ctx,
                       struct syn_stats *s, bool *versions_done)
{
    struct syn_transport *t = NULL;
    struct syn_client c;
    char *cacert = NULL, *pinned = NULL;
    int rc, lock = -1;

    *versions_done = false;
    if ((rc = take_lock(ctx, &lock)) != FLD_OK)
        goto done;
    if (ctx->key == NULL) /* `field ui` lends its own */
        rc = cmd_load_key(ctx);
    if (rc != FLD_OK)
        goto done;
    if ((rc = tls_settings(ctx, o, true, &cacert, &pinned)) != FLD_OK)
        goto done;
    if (o->watch)
        stop = &stop_requested;
    rc = open_transport(ctx, cacert, pinned, stop, 0, p, &t);
    if (rc != FLD_OK)
        goto done;
    memset(&c, 0, sizeof c);
    c.st = ctx->st;
    c.key = ctx->key;
    c.transport = t;
    c.progress = fn;
    c.progress_ctx = fn_ctx;
    c.stop = stop;
    c.home = ctx->home;
    if (o->retries >= 0)
        c.max_attempts = (int)o->retries + 1;
    if (o->watch)
        rc = watch(ctx, &c, url, o, p);
    else
        rc = sync_once(ctx, &c, o, o->full, s, versions_done);
done:
    syn_transport_free(t);
    if (lock >= 0)
        close(lock);
    free(cacert);
    free(pinned);
    return rc;
}

int cmd_sync_transport(struct cmd_ctx *ctx, const volatile sig_atomic_t *stop,
                       long bound_s, struct syn_transport **out)
{
    struct sync_opts o;
    char *cacert = NULL, *pinned = NULL;
    int rc;

    memset(&o, 0, sizeof o);
    *out = NULL;
    rc = tls_settings(ctx, &o, true, &cacert, &pinned);
    if (rc == FLD_OK)
        rc = open_transport(ctx, cacert, pinned, stop, bound_s, NULL, out);
    free(cacert);
    free(pinned);
    return rc;
}

int cmd_sync_run(struct cmd_ctx *ctx, const volatile sig_atomic_t *stop,
                 syn_progress_fn progress, void *progress_ctx,
                 struct syn_stats *s)
{
    struct sync_opts o;
    char *url = NULL;
    bool versions_done;
    int rc;

    memset(&o, 0, sizeof o);
    o.retries = -1;
    memset(s, 0, sizeof *s);
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        return rc;
    if ((rc = enrolled_url(ctx, &url)) != FLD_OK)
        return rc;
    rc = with_client(ctx, &o, url, stop, NULL, progress, progress_ctx, s,
                     &versions_done);
    free(url);
    return rc;
}

int cmd_sync(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct sync_opts o;
    struct syn_stats s;
    struct progress p;
    char *url = NULL;
    bool versions_done;
    int rc, first;

    memset(&o, 0, sizeof o);
    o.retries = -1;
    if ((rc = cmd_parse(ctx, argc, argv, sync_options, on_option, &o, &first)))
        return rc;
    if (first < argc && strcmp(argv[first], "status") == 0) {
        if (first + 1 != argc || o.full || o.watch || o.cacert || o.pinned ||
            o.interval_s || o.retries >= 0 || o.no_attachments || o.attachments)
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "usage: field sync status [--json]");
        if ((rc = cmd_open_store(ctx)) != FLD_OK)
            return rc;
        return sync_status(ctx);
    }
    if (first < argc)
        return fld_err_set(&ctx->err, FLD_EUSAGE, "unexpected argument '%s'",
                           argv[first]);
    if (o.interval_s && !o.watch)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "--interval goes with --watch");
    if (o.no_attachments && o.attachments)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "--no-attachments and --attachments exclude each "
                           "other");
    if ((rc = cmd_open_store(ctx)) != FLD_OK)
        return rc;
    if ((rc = enrolled_url(ctx, &url)) != FLD_OK)
        return rc;
    memset(&p, 0, sizeof p);
    p.on = isatty(STDERR_FILENO) == 1;
    rc = with_client(ctx, &o, url, NULL, &p, on_answer, &p, &s, &versions_done);
    clear_progress(&p);
    if (versions_done && !o.watch)
        print_summary(ctx, url, &s);
    free(url);
    return rc;
}
