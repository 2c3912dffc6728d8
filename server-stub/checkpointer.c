/*
 * checkpointer.c - one thread, started on the first request for a
 * checkpoint, that runs a passive checkpoint each time it is asked
 * (see checkpointer.h for why).
 *
 * Requests only set a flag: a checkpoint that runs folds everything
 * committed before it started, so asks that arrive meanwhile are
 * answered by the next run. A failed checkpoint (the database busy with
 * a backup, say) is simply tried again on the next ask: the log is still
 * bounded by the commits' own hard limit (storage.h).
 *
 * The same thread runs the server's periodic chores (srv_checkpointer_every:
 * the expiry of unfinished attachment uploads), so that the server keeps
 * one background thread, not one per chore. Its waits are on the
 * monotonic clock: setting the wall clock neither stalls nor hurries them.
 */
#include "checkpointer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "buf.h"
#include "server.h"
#include "storage.h"

struct srv_checkpointer {
    struct srv *s;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool started, wanted, stop;
    /* the periodic chore, NULL when none */
    void (*chore)(void *ctx);
    void *chore_ctx;
    int64_t every_ms;
    struct timespec due;
};

static void set_due(struct srv_checkpointer *c)
{
    clock_gettime(CLOCK_MONOTONIC, &c->due);
    c->due.tv_sec += (time_t)(c->every_ms / 1000);
    c->due.tv_nsec += (long)(c->every_ms % 1000) * 1000000L;
    if (c->due.tv_nsec >= 1000000000L) {
        c->due.tv_sec++;
        c->due.tv_nsec -= 1000000000L;
    }
}

static bool is_due(const struct srv_checkpointer *c)
{
    struct timespec now;

    if (c->chore == NULL)
        return false;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > c->due.tv_sec ||
           (now.tv_sec == c->due.tv_sec && now.tv_nsec >= c->due.tv_nsec);
}

struct srv_checkpointer *srv_checkpointer_new(struct srv *s)
{
    struct srv_checkpointer *c = fld_xcalloc(1, sizeof *c);

    c->s = s;
    pthread_mutex_init(&c->lock, NULL);
    srv_cond_init_monotonic(&c->wake);
    return c;
}

/* One passive checkpoint on a handle from the pool. */
static void fold(struct srv_checkpointer *c)
{
    struct srv_storage *st;

    if (srv_acquire(c->s, &st, NULL) != FLD_OK)
        return;
    (void)srv_storage_checkpoint_passive(st, NULL);
    srv_release(c->s, st);
}

static void *run(void *arg)
{
    struct srv_checkpointer *c = arg;

    bool chore, wanted;

    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->wanted && !c->stop && !is_due(c)) {
            if (c->chore != NULL)
                pthread_cond_timedwait(&c->wake, &c->lock, &c->due);
            else
                pthread_cond_wait(&c->wake, &c->lock);
        }
        if (c->stop)
            break;
        wanted = c->wanted;
        chore = is_due(c);
        c->wanted = false;
        if (chore)
            set_due(c);
        pthread_mutex_unlock(&c->lock);
        if (wanted)
            fold(c);
        if (chore)
            c->chore(c->chore_ctx);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

void srv_checkpointer_want(void *ctx)
{
    struct srv_checkpointer *c = ctx;

    pthread_mutex_lock(&c->lock);
    /* no thread (none could be started): SQLite's hard limit still folds */
    if (!c->started && !c->stop)
        c->started = pthread_create(&c->thread, NULL, run, c) == 0;
    c->wanted = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

void srv_checkpointer_every(struct srv_checkpointer *c, int64_t every_ms,
                            void (*chore)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&c->lock);
    c->chore = chore;
    c->chore_ctx = ctx;
    c->every_ms = every_ms;
    set_due(c);
    if (!c->started && !c->stop)
        c->started = pthread_create(&c->thread, NULL, run, c) == 0;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

void srv_checkpointer_stop(struct srv_checkpointer *c)
{
    bool started;

    pthread_mutex_lock(&c->lock);
    c->stop = true;
    started = c->started;
    c->started = false;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    if (started)
        pthread_join(c->thread, NULL);
}

void srv_checkpointer_free(struct srv_checkpointer *c)
{
    if (c == NULL)
        return;
    srv_checkpointer_stop(c);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
