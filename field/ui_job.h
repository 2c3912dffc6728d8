/*
 * ui_job.h - a background job of `field ui`: the sync button's sync
 * (ui_sync.c) and the report screen's fetch (ui_report.c), each one at a
 * time on a thread of its own.
 *
 * The UI's HTTP thread answers one request at a time, and a job that
 * talks to the server may take minutes (or never be answered): so the job
 * runs on its own thread, with a cmd_ctx of its own (its own SQLite
 * connection: WAL lets the page read and save while the job writes) and
 * the key the UI lent it. What the page shows of it (running, when it
 * started and ended, how it ended) is kept here under the job's mutex.
 *
 * A job is embedded in its owner's struct; the owner's own shared state
 * (the sync's counts) is kept under the same mutex, fld_ui_job_lock().
 */
#ifndef FLD_UI_JOB_H
#define FLD_UI_JOB_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "cmd.h"
#include "json.h"
#include "ui_api.h"

struct fld_ui_job;

/* The work, on the job's thread, with the job's own ctx: an FLD_ code, and
 * ctx->err saying why when it is not FLD_OK. */
typedef int (*fld_ui_job_work)(struct fld_ui_job *j, struct cmd_ctx *ctx);
/* Called under the mutex just before a run starts: the owner's state for
 * the new run (what to fetch, counts back to zero). */
typedef void (*fld_ui_job_prepare)(struct fld_ui_job *j, void *arg);

struct fld_ui_job {
    pthread_mutex_t lock;
    pthread_t thread;
    bool is_running;
    bool has_thread; /* a thread to join, running or ended */
    bool has_run;    /* a run started at least once */
    int64_t started_ms, finished_ms;
    int rc;
    char message[FLD_ERR_MSG_MAX];
    /* Set when `field ui` stops, from the HTTP thread: read atomically. */
    volatile sig_atomic_t stop;
    fld_ui_job_work work;
    /* The device: borrowed from the UI's context. */
    const char *home, *db_path, *key_path;
    struct fld_key *key;
    enum fld_lang lang;
};

/* What the page is told of a job, copied under its mutex. */
struct fld_ui_job_state {
    bool running, ran;
    int64_t started_ms, finished_ms;
    int rc;
    char message[FLD_ERR_MSG_MAX];
};

/* For the device of parent (its data directory, language and key, which
 * must stay loaded until fld_ui_job_end()). */
void fld_ui_job_init(struct fld_ui_job *j, const struct cmd_ctx *parent,
                     fld_ui_job_work work);

/* Start a run, prepare(j, arg) first (NULL: nothing to prepare);
 * FLD_EBUSY when one is running, FLD_EIO when no thread could start. */
int fld_ui_job_start(struct fld_ui_job *j, fld_ui_job_prepare prepare,
                     void *arg);

void fld_ui_job_lock(struct fld_ui_job *j);
void fld_ui_job_unlock(struct fld_ui_job *j);

/* A copy of the job's state; the caller holds the mutex. */
void fld_ui_job_copy(struct fld_ui_job *j, struct fld_ui_job_state *out);

/* Add "running", "started_ms", "finished_ms" and "ok" (null before any
 * run and while one runs) of st to o. */
void fld_ui_job_state_json(const struct fld_ui_job_state *st,
                           struct fld_json *o);

/* When this device is not enrolled with a server (which every job needs),
 * reply 409 "not_enrolled" and return true. ctx is the UI's. */
bool fld_ui_job_refuse_unenrolled(struct cmd_ctx *ctx,
                                  struct fld_ui_reply *out);

/* Ask a running job to stop, wait for its thread, release the mutex. */
void fld_ui_job_end(struct fld_ui_job *j);

#endif
