/*
 * ui_sync.c - the sync button of `field ui` (see ui_sync.h): a background
 * job (ui_job.h) that runs `field sync`, and the counts the page shows of
 * it, kept under the job's mutex.
 */
#include "ui_sync.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "ui_job.h"

struct fld_ui_sync {
    struct fld_ui_job job; /* first: work() is given the job */
    struct syn_stats stats;
};

/* The client's counts after every answer: what the page's progress shows. */
static void on_progress(void *data, const struct syn_stats *st)
{
    struct fld_ui_sync *s = data;

    fld_ui_job_lock(&s->job);
    s->stats = *st;
    fld_ui_job_unlock(&s->job);
}

static int work(struct fld_ui_job *j, struct cmd_ctx *ctx)
{
    struct fld_ui_sync *s = (struct fld_ui_sync *)j;
    struct syn_stats st;
    int rc = cmd_sync_run(ctx, &j->stop, on_progress, s, &st);

    on_progress(s, &st);
    return rc;
}

struct fld_ui_sync *fld_ui_sync_new(const struct cmd_ctx *parent)
{
    struct fld_ui_sync *s = fld_xcalloc(1, sizeof *s);

    fld_ui_job_init(&s->job, parent, work);
    return s;
}

static void zero_counts(struct fld_ui_job *j, void *arg)
{
    (void)j;
    memset(&((struct fld_ui_sync *)arg)->stats, 0, sizeof(struct syn_stats));
}

int fld_ui_sync_start(struct fld_ui_sync *s)
{
    return fld_ui_job_start(&s->job, zero_counts, s);
}

struct fld_json *fld_ui_sync_state(struct fld_ui_sync *s, struct fld_store *st)
{
    struct fld_json *o = fld_json_object();
    struct fld_ui_job_state js;
    int64_t pending = 0, bytes = 0;
    struct syn_stats c;

    fld_ui_job_lock(&s->job);
    fld_ui_job_copy(&s->job, &js);
    c = s->stats;
    fld_ui_job_unlock(&s->job);

    fld_ui_job_state_json(&js, o);
    fld_json_set(o, "message",
                 js.message[0] ? fld_json_string(js.message) : fld_json_null());
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

void fld_ui_sync_handle(struct fld_ui_sync *s, struct cmd_ctx *ctx,
                        bool is_post, struct fld_ui_reply *out)
{
    if (is_post && fld_ui_job_refuse_unenrolled(ctx, out))
        return;
    if (is_post && fld_ui_sync_start(s) == FLD_EBUSY) {
        fld_ui_reply_error(out, 409, "sync_running",
                           "Đang đồng bộ; hãy chờ lần này xong",
                           "a sync is running; wait for it to end", NULL);
        return;
    }
    fld_ui_reply_json(out, is_post ? 202 : 200, fld_ui_sync_state(s, ctx->st));
}

void fld_ui_sync_free(struct fld_ui_sync *s)
{
    if (s == NULL)
        return;
    fld_ui_job_end(&s->job);
    free(s);
}
