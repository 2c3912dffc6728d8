/*
 * parallel.c - a loop over several threads and a background job, with
 * POSIX threads (see parallel.h for the contract and for who uses them).
 *
 * Threads are started for each call and joined before it returns: a
 * sync makes a few dozen such calls, each worth tens of milliseconds of
 * work, so the microseconds a thread costs to start do not show, and
 * there is no pool to keep alive, shut down or get wrong. Indices are
 * handed out one at a time from an atomic counter, so a thread that was
 * descheduled (two cores, shared with the server and the store's writer)
 * simply takes fewer.
 */
#include "parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"

/* More threads than this buys nothing for a page of versions. */
#define MAX_THREADS 16

size_t syn_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : (size_t)n;
}

struct loop {
    atomic_size_t next;
    size_t n;
    void (*fn)(void *ctx, size_t i);
    void *ctx;
};

static void *run_loop(void *data)
{
    struct loop *l = data;
    size_t i;

    while ((i = atomic_fetch_add(&l->next, 1)) < l->n)
        l->fn(l->ctx, i);
    return NULL;
}

void syn_parallel_for(size_t n, size_t n_threads,
                      void (*fn)(void *ctx, size_t i), void *ctx)
{
    pthread_t th[MAX_THREADS];
    bool started[MAX_THREADS];
    struct loop l;
    size_t k;

    if (n_threads > MAX_THREADS)
        n_threads = MAX_THREADS;
    if (n_threads > n)
        n_threads = n;
    atomic_init(&l.next, 0);
    l.n = n;
    l.fn = fn;
    l.ctx = ctx;
    /* thread 0 is the caller's own */
    for (k = 1; k < n_threads; k++)
        started[k] = pthread_create(&th[k], NULL, run_loop, &l) == 0;
    run_loop(&l);
    for (k = 1; k < n_threads; k++)
        if (started[k])
            pthread_join(th[k], NULL);
}

struct syn_job {
    pthread_t th;
    bool is_thread; /* false: it ran already, on the caller's thread */
    void (*fn)(void *ctx);
    void *ctx;
};

static void *run_job(void *data)
{
    struct syn_job *j = data;

    j->fn(j->ctx);
    return NULL;
}

struct syn_job *syn_job_start(void (*fn)(void *ctx), void *ctx)
{
    struct syn_job *j = fld_xcalloc(1, sizeof *j);

    j->fn = fn;
    j->ctx = ctx;
    j->is_thread = pthread_create(&j->th, NULL, run_job, j) == 0;
    if (!j->is_thread)
        fn(ctx);
    return j;
}

void syn_job_join(struct syn_job *j)
{
    if (j == NULL)
        return;
    if (j->is_thread)
        pthread_join(j->th, NULL);
    free(j);
}
