/*
 * cmd_serve.c - `serve`: run the HTTP API until told to stop.
 *
 *   field-server serve [--listen ADDR] [--port N] [--tls-cert PEM
 *                      --tls-key PEM] [--threads N] ... [--quiet]
 *
 * http.c runs libmicrohttpd's workers; each request goes to api.c. This
 * file only starts and stops them.
 *
 * Decisions:
 *   - Every option of serve is a server setting with the name the
 *     configuration file uses (server-stub/field-server.conf.example), so
 *     the two can never disagree; srv_cmd_parse() applies them over the
 *     file.
 *   - Signals are taken by this thread alone, with sigwait(): SIGTERM and
 *     SIGINT are blocked before the worker threads start, so they inherit
 *     the mask and never see them, and no handler runs in an arbitrary
 *     thread. SIGPIPE is ignored: a client that goes away is an error on
 *     its connection, not the end of the server.
 *   - On SIGTERM or SIGINT the server stops accepting, lets the requests in
 *     flight finish for up to shutdown-grace seconds (30 by default; the
 *     systemd unit field-server.service allows 60 to stop), then checkpoints
 * the write-ahead log so that what is left on disk is one self-contained
 * database file, and exits 0.
 *   - On SQLite, serve holds the lock beside the database for its life
 *     (serve_lock.h), so that `migrate` refuses while it runs, and it
 *     refuses to start while a migrate moves the file.
 */
#include "command.h"

#include <signal.h>
#include <stdlib.h>

#include "checkpointer.h"
#include "http.h"
#include "parallel.h"
#include "serve_lock.h"

static const struct option serve_options[] = {
    {"listen", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"port", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"port-file", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"tls-cert", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"tls-key", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"threads", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"max-body", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"max-inflated", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"skew", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"request-timeout", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"idle-timeout", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"max-connections", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"per-ip-connections", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"shutdown-grace", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"header-timeout", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"max-buffered", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"enroll-per-ip", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"partial-days", required_argument, NULL, SRV_CMD_OPT_SETTING},
    {"quiet", no_argument, NULL, SRV_CMD_OPT_SETTING},
    {NULL, 0, NULL, 0},
};

/* The hourly chore: unfinished uploads past --partial-days go. */
static void expire_partials(void *ctx)
{
    struct srv *s = ctx;
    struct fld_err err;
    size_t n = 0;

    fld_err_clear(&err);
    if (srv_expire_partials(s, &n, &err) != FLD_OK)
        fprintf(stderr, "field-server: expiring partial uploads: %s\n",
                err.msg);
    else if (n > 0 && !s->cfg.quiet)
        fprintf(stderr,
                "field-server: deleted %zu unfinished upload%s older than "
                "%u days\n",
                n, n == 1 ? "" : "s", s->cfg.partial_days);
}

/*
 * field-server serve [settings...]
 *
 * Open the server, start the HTTP workers, wait for SIGTERM or SIGINT,
 * stop (letting requests in flight finish) and checkpoint. Exit 0 when it
 * stopped cleanly.
 */
int srv_cmd_serve(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    struct fld_err *err = &ctx->err;
    struct srv_http *h = NULL;
    sigset_t set;
    char *where;
    int rc, sig = 0, left, lock = -1;

    rc = srv_cmd_parse_options(ctx, argc, argv, serve_options, NULL, NULL);
    if (rc != FLD_OK)
        goto out;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    syn_heaps_per_core();
    if ((rc = srv_open(&ctx->cfg, &ctx->s, err)) != FLD_OK)
        goto out;
    if ((rc = srv_serve_lock(ctx->cfg.db, SRV_LOCK_SERVE, &lock, err)) !=
        FLD_OK)
        goto out;
    /* Once now (a server that was down for a week), then every hour. */
    expire_partials(ctx->s);
    srv_checkpointer_every(ctx->s->checkpointer, 3600 * 1000, expire_partials,
                           ctx->s);
    if ((rc = srv_http_start(ctx->s, &h, err)) != FLD_OK)
        goto out;
    where = srv_storage_display(ctx->cfg.db);
    fprintf(stderr, "field-server: serving %s on %s%s:%d (epoch %s)\n", where,
            h && ctx->cfg.tls_cert ? "https://" : "http://", ctx->cfg.listen,
            srv_http_port(h), ctx->s->epoch);
    free(where);
    sigwait(&set, &sig);
    fprintf(stderr, "field-server: %s: finishing requests in flight\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    left = srv_http_stop(h, ctx->cfg.shutdown_grace_s);
    h = NULL;
    if (left > 0)
        fprintf(stderr, "field-server: %d request%s cut off after %us\n", left,
                left == 1 ? "" : "s", ctx->cfg.shutdown_grace_s);
    srv_checkpointer_stop(ctx->s->checkpointer);
    if ((rc = srv_acquire(ctx->s, &ctx->st, err)) == FLD_OK)
        rc = srv_storage_checkpoint(ctx->st, err);
    if (rc == FLD_OK)
        fprintf(stderr, "field-server: stopped cleanly\n");
out:
    if (h)
        srv_http_stop(h, 0);
    srv_serve_unlock(lock);
    return rc;
}
