/*
 * ui_sync.c - the sync button of `field ui` (see ui_sync.h).
 *
 * The UI's HTTP thread answers one request at a time, and a sync over a
 * slow link takes minutes: so the sync runs on a thread of its own, with
 * a cmd_ctx of its own (its own SQLite connection: WAL lets the page read
 * and save while the sync writes, each transaction waiting briefly for
 * the other) and the key the UI lent it. Only the state below is shared,
 * and only under the mutex: the HTTP thread reads a copy of it.
 */
#include "ui_sync.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "hlc.h"

struct fld_ui_sync {
    pthread_mutex_t lock;
    pthread_t thread;
    bool is_running;
    bool has_thread; /* a thread to join, running or ended */
    bool has_run;    /* a sync ran at least once */
    struct syn_stats stats;
    int64_t started_ms, finished_ms;
    int rc;
    char message[FLD_ERR_MSG_MAX];
    /* Set when `field ui` stops: the sync ends between requests. */
    volatile sig_atomic_t stop;
    /* The device: borrowed from the UI's context. */
    const char *home, *db_path, *key_path;
    struct fld_key *key;
};

struct fld_ui_sync *fld_ui_sync_new(const struct cmd_ctx *parent)
{
    struct fld_ui_sync *s = fld_xcalloc(1, sizeof *s);

    pthread_mutex_init(&s->lock, NULL);
    s->home = parent->home;
    s->db_path = parent->db_path;
    s->key_path = parent->key_path;
    s->key = parent->key;
    return s;
}

/* The client's counts after every answer: what the page's progress shows. */
static void on_progress(void *data, const struct syn_stats *st)
{
    struct fld_ui_sync *s = data;

    pthread_mutex_lock(&s->lock);
    s->stats = *st;
    pthread_mutex_unlock(&s->lock);
}

static void *run(void *data)
{
    struct fld_ui_sync *s = data;
    struct cmd_ctx ctx;
    struct syn_stats st;
    int rc;

    memset(&ctx, 0, sizeof ctx);
    ctx.home = fld_xstrdup(s->home);
    ctx.db_path = fld_xstrdup(s->db_path);
    ctx.key_path = fld_xstrdup(s->key_path);
    ctx.key = s->key; /* lent: taken back before cmd_ctx_close() */
    rc = cmd_sync_run(&ctx, &s->stop, on_progress, s, &st);
    pthread_mutex_lock(&s->lock);
    s->stats = st;
    s->rc = rc;
    snprintf(s->message, sizeof s->message, "%s",
             rc == FLD_OK ? "" : ctx.err.msg);
    s->finished_ms = fld_now_ms();
    s->is_running = false;
    pthread_mutex_unlock(&s->lock);
    ctx.key = NULL;
    cmd_ctx_close(&ctx);
    return NULL;
}

int fld_ui_sync_start(struct fld_ui_sync *s)
{
    bool join;

    pthread_mutex_lock(&s->lock);
    if (s->is_running) {
        pthread_mutex_unlock(&s->lock);
        return FLD_EBUSY;
    }
    join = s->has_thread;
    pthread_mutex_unlock(&s->lock);
    if (join) /* the last sync's thread has ended: collect it */
        pthread_join(s->thread, NULL);
    pthread_mutex_lock(&s->lock);
    memset(&s->stats, 0, sizeof s->stats);
    s->is_running = s->has_run = true;
    s->started_ms = fld_now_ms();
    s->finished_ms = 0;
    s->rc = FLD_OK;
    s->message[0] = '\0';
    s->has_thread = pthread_create(&s->thread, NULL, run, s) == 0;
    if (!s->has_thread) {
        s->is_running = false;
        s->rc = FLD_EIO;
        snprintf(s->message, sizeof s->message, "cannot start a thread");
    }
    pthread_mutex_unlock(&s->lock);
    return s->has_thread ? FLD_OK : FLD_EIO;
}

struct fld_json *fld_ui_sync_state(struct fld_ui_sync *s, struct fld_store *st)
{
    struct fld_json *o = fld_json_object();
    int64_t pending = 0, bytes = 0;
    struct syn_stats c;
    bool running, ran;
    int64_t started, finished;
    int rc;
    char message[FLD_ERR_MSG_MAX];

    pthread_mutex_lock(&s->lock);
    c = s->stats;
    running = s->is_running;
    ran = s->has_run;
    started = s->started_ms;
    finished = s->finished_ms;
    rc = s->rc;
    memcpy(message, s->message, sizeof message);
    pthread_mutex_unlock(&s->lock);

    fld_json_set(o, "running", fld_json_bool(running));
    fld_json_set(o, "started_ms",
                 ran ? fld_json_int(started) : fld_json_null());
    fld_json_set(o, "finished_ms",
                 ran && !running ? fld_json_int(finished) : fld_json_null());
    fld_json_set(o, "ok",
                 ran && !running ? fld_json_bool(rc == FLD_OK)
                                 : fld_json_null());
    fld_json_set(o, "message",
                 message[0] ? fld_json_string(message) : fld_json_null());
    fld_json_set(o, "pushed", fld_json_int(c.pushed));
    fld_json_set(o, "stored", fld_json_int(c.stored));
    fld_json_set(o, "refused", fld_json_int(c.refused));
    fld_json_set(o, "pulled", fld_json_int(c.pulled));
    fld_json_set(o, "new", fld_json_int(c.pulled_new));
    fld_json_set(o, "to_push", fld_json_int(c.to_push));
    fld_json_set(o, "photos_up", fld_json_int(c.att_uploaded));
    fld_json_set(o, "photos_down", fld_json_int(c.att_downloaded));
    if (fld_store_sync_pending_count(st, &pending, &bytes, NULL) == FLD_OK)
        fld_json_set(o, "pending", fld_json_int(pending));
    else
        fld_json_set(o, "pending", fld_json_null());
    return o;
}

/* Whether this device is enrolled with a server: the sync needs one. */
static bool is_enrolled(struct cmd_ctx *ctx)
{
    char *url = NULL;
    bool yes =
        fld_store_meta_get(ctx->st, SYN_META_URL, &url, NULL) == FLD_OK &&
        url[0] != '\0';

    free(url);
    return yes;
}

void fld_ui_sync_handle(struct fld_ui_sync *s, struct cmd_ctx *ctx,
                        bool is_post, struct fld_ui_reply *out)
{
    int status = 200;

    if (is_post && !is_enrolled(ctx)) {
        fld_ui_reply_error(out, 409, "not_enrolled",
                           "Thiết bị chưa đăng ký với máy chủ: chạy 'field "
                           "enroll URL MÃ' trước",
                           "this device is not enrolled with a server: run "
                           "'field enroll URL CODE' first",
                           NULL);
        return;
    }
    if (is_post && fld_ui_sync_start(s) == FLD_EBUSY) {
        fld_ui_reply_error(out, 409, "sync_running",
                           "Đang đồng bộ; hãy chờ lần này xong",
                           "a sync is running; wait for it to end", NULL);
        return;
    }
    if (is_post)
        status = 202;
    fld_ui_reply_json(out, status, fld_ui_sync_state(s, ctx->st));
}

void fld_ui_sync_free(struct fld_ui_sync *s)
{
    if (s == NULL)
        return;
    /* read by the sync's thread (syn_client_stopped()): atomically */
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
    if (s->has_thread)
        pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
