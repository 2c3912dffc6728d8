/*
 * ui_job.c - a background job of `field ui` (see ui_job.h).
 */
#include "ui_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "hlc.h"

void fld_ui_job_init(struct fld_ui_job *j, const struct cmd_ctx *parent,
                     fld_ui_job_work work)
{
    memset(j, 0, sizeof *j);
    pthread_mutex_init(&j->lock, NULL);
    j->work = work;
    j->home = parent->home;
    j->db_path = parent->db_path;
    j->key_path = parent->key_path;
    j->key = parent->key;
    j->lang = parent->lang;
}

static void *run(void *data)
{
    struct fld_ui_job *j = data;
    struct cmd_ctx ctx;
    int rc;

    memset(&ctx, 0, sizeof ctx);
    ctx.home = fld_xstrdup(j->home);
    ctx.db_path = fld_xstrdup(j->db_path);
    ctx.key_path = fld_xstrdup(j->key_path);
    ctx.key = j->key; /* lent: taken back before cmd_ctx_close() */
    ctx.lang = j->lang;
    rc = j->work(j, &ctx);
    pthread_mutex_lock(&j->lock);
    j->rc = rc;
    snprintf(j->message, sizeof j->message, "%s",
             rc == FLD_OK     ? ""
             : ctx.err.msg[0] ? ctx.err.msg
                              : fld_strerror(rc));
    j->finished_ms = fld_now_ms();
    j->is_running = false;
    pthread_mutex_unlock(&j->lock);
    ctx.key = NULL;
    cmd_ctx_close(&ctx);
    return NULL;
}

int fld_ui_job_start(struct fld_ui_job *j, fld_ui_job_prepare prepare,
                     void *arg)
{
    bool join;

    pthread_mutex_lock(&j->lock);
    if (j->is_running) {
        pthread_mutex_unlock(&j->lock);
        return FLD_EBUSY;
    }
    join = j->has_thread;
    pthread_mutex_unlock(&j->lock);
    if (join) /* the last run's thread has ended: collect it */
        pthread_join(j->thread, NULL);
    pthread_mutex_lock(&j->lock);
    if (prepare != NULL)
        prepare(j, arg);
    j->is_running = j->has_run = true;
    j->started_ms = fld_now_ms();
    j->finished_ms = 0;
    j->rc = FLD_OK;
    j->message[0] = '\0';
    j->has_thread = pthread_create(&j->thread, NULL, run, j) == 0;
    if (!j->has_thread) {
        j->is_running = false;
        j->rc = FLD_EIO;
        snprintf(j->message, sizeof j->message, "cannot start a thread");
    }
    pthread_mutex_unlock(&j->lock);
    return j->has_thread ? FLD_OK : FLD_EIO;
}

void fld_ui_job_lock(struct fld_ui_job *j)
{
    pthread_mutex_lock(&j->lock);
}

void fld_ui_job_unlock(struct fld_ui_job *j)
{
    pthread_mutex_unlock(&j->lock);
}

void fld_ui_job_copy(struct fld_ui_job *j, struct fld_ui_job_state *out)
{
    out->running = j->is_running;
    out->ran = j->has_run;
    out->started_ms = j->started_ms;
    out->finished_ms = j->finished_ms;
    out->rc = j->rc;
    memcpy(out->message, j->message, sizeof out->message);
}

void fld_ui_job_state_json(const struct fld_ui_job_state *st,
                           struct fld_json *o)
{
    bool ended = st->ran && !st->running;

    fld_json_set(o, "running", fld_json_bool(st->running));
    fld_json_set(o, "started_ms",
                 st->ran ? fld_json_int(st->started_ms) : fld_json_null());
    fld_json_set(o, "finished_ms",
                 ended ? fld_json_int(st->finished_ms) : fld_json_null());
    fld_json_set(o, "ok",
                 ended ? fld_json_bool(st->rc == FLD_OK) : fld_json_null());
}

bool fld_ui_job_refuse_unenrolled(struct cmd_ctx *ctx, struct fld_ui_reply *out)
{
    char *url = NULL;
    bool enrolled =
        fld_store_meta_get(ctx->st, SYN_META_URL, &url, NULL) == FLD_OK &&
        url[0] != '\0';

    free(url);
    if (enrolled)
        return false;
    fld_ui_reply_error(out, 409, "not_enrolled",
                       "Thiết bị chưa đăng ký với máy chủ: chạy 'field "
                       "enroll URL MÃ' trước",
                       "this device is not enrolled with a server: run "
                       "'field enroll URL CODE' first",
                       NULL);
    return true;
}

void fld_ui_job_end(struct fld_ui_job *j)
{
    /* read by the job's thread (syn_client_stopped(), the transport's
     * progress): atomically */
    __atomic_store_n(&j->stop, 1, __ATOMIC_RELAXED);
    if (j->has_thread)
        pthread_join(j->thread, NULL);
    pthread_mutex_destroy(&j->lock);
}
