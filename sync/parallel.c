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
#ifdef __GLIBC__ /* known once a C library header is in */
#include <malloc.h>
#endif
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

/*
 * glibc gives each thread that allocates while another holds the heap a
 * heap of its own, up to eight per core, and each keeps the most it ever
 * held. Our threads live for one call, and whichever heap a new one
 * takes has held some other thread's pages: with a push parsing its
 * versions on every core, a dozen such heaps made the server's peak
 * resident set 37 MB, and a pull that fetches one page while it verifies
 * the one before and stores the one before that held 33-34 MB in four;
 * one heap per core keeps both under the 32 MB aimed at
 * (docs/BENCHMARKS.md). Other C libraries have one heap.
 */
void syn_heaps_per_core(void)
{
#ifdef M_ARENA_MAX
    mallopt(M_ARENA_MAX, (int)syn_cpus());
#endif
}

void syn_heaps_trim(void)
{
#ifdef __GLIBC__
    (void)malloc_trim(0);
#endif
}

struct syn_loop {
    atomic_size_t next;
    size_t n;
    void (*fn)(void *ctx, size_t i);
    void *ctx;
    pthread_t th[MAX_THREADS];
    bool started[MAX_THREADS];
    size_t n_threads;
};

static void *run_loop(void *data)
{
    struct syn_loop *l = data;
    size_t i;

    while ((i = atomic_fetch_add(&l->next, 1)) < l->n)
        l->fn(l->ctx, i);
    return NULL;
}

/* Fill l and start its threads but the caller's own (thread 0). */
static void loop_start(struct syn_loop *l, size_t n, size_t n_threads,
                       void (*fn)(void *ctx, size_t i), void *ctx)
{
    size_t k;

    if (n_threads > MAX_THREADS)
        n_threads = MAX_THREADS;
    if (n_threads > n)
        n_threads = n;
    atomic_init(&l->next, 0);
    l->n = n;
    l->fn = fn;
    l->ctx = ctx;
    l->n_threads = n_threads;
    for (k = 1; k < n_threads; k++)
        l->started[k] = pthread_create(&l->th[k], NULL, run_loop, l) == 0;
}

/* Take part on the caller's thread, then wait for the others. */
static void loop_finish(struct syn_loop *l)
{
    size_t k;

    run_loop(l);
    for (k = 1; k < l->n_threads; k++)
        if (l->started[k])
            pthread_join(l->th[k], NULL);
}

void syn_parallel_for(size_t n, size_t n_threads,
                      void (*fn)(void *ctx, size_t i), void *ctx)
{
    struct syn_loop l;

    loop_start(&l, n, n_threads, fn, ctx);
    loop_finish(&l);
}

struct syn_loop *syn_parallel_start(size_t n, size_t n_threads,
                                    void (*fn)(void *ctx, size_t i), void *ctx)
{
    struct syn_loop *l = fld_xcalloc(1, sizeof *l);

    loop_start(l, n, n_threads, fn, ctx);
    return l;
}

void syn_parallel_finish(struct syn_loop *l)
{
    loop_finish(l);
    free(l);
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
