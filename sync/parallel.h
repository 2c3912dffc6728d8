/*
 * parallel.h - the little concurrency the device's sync client uses: a
 * loop whose iterations run on several threads, and one job run in the
 * background while the caller does something else; and what the C
 * library's heaps, which those threads share, are allowed to keep.
 *
 * Where it sits: client_apply.c verifies the versions of a pulled page
 * with syn_parallel_for() (each fld_version_open() is independent, and
 * libsodium's verification is thread-safe), and client.c runs the store's
 * side of a round trip (applying the last answer, preparing the next
 * batch) as a syn_job while the request in between is on the network;
 * `field export` verifies and merges one batch of records with
 * syn_parallel_start() while it writes the batch before and reads the
 * one after, and `field import` parses and types one batch of lines
 * while it signs and stores the batch before.
 *
 * Nothing here shares state behind the caller's back: a function given to
 * syn_parallel_for() may only write what belongs to its own index, and a
 * job owns what it was given until syn_job_join() returns, which is the
 * point where everything it wrote becomes visible to the caller. When a
 * thread cannot be started the work runs on the caller's thread instead:
 * slower, never wrong.
 */
#ifndef SYN_PARALLEL_H
#define SYN_PARALLEL_H

#include <stddef.h>

/* The processors this process may run on (at least 1). */
size_t syn_cpus(void);

/* Hold the C library to one heap per processor rather than one per
 * thread that ever allocated at the same time as another (glibc's
 * default, up to eight per processor): a program calls it once, at
 * start, before it starts any thread. */
void syn_heaps_per_core(void);

/* Give the memory freed so far back to the system. glibc keeps what is
 * freed in each heap for later, in pieces; a long pull frees a page of
 * versions at every round trip, from heaps several threads share, and
 * without this the resident set grew with the versions pulled while the
 * memory in use did not. Any thread, at any time; a no-op elsewhere. */
void syn_heaps_trim(void);

/*
 * fn(ctx, i) for every i in [0, n), on up to n_threads threads counting
 * the caller's own, each taking the next index not yet taken; returns
 * when every call has returned. n_threads 0 or 1 runs them in order on
 * the caller's thread.
 */
void syn_parallel_for(size_t n, size_t n_threads,
                      void (*fn)(void *ctx, size_t i), void *ctx);

/*
 * The same loop, started in the background: n_threads - 1 threads begin
 * taking indices at once while the caller goes on with other work (the
 * next batch to read, the last one to write); syn_parallel_finish() then
 * takes part in what is left on the caller's own thread, and returns when
 * every call has returned. Everything fn wrote is visible to the caller
 * from then on. Never NULL; syn_parallel_finish() frees it. ctx must stay
 * valid until then.
 */
struct syn_loop;
struct syn_loop *syn_parallel_start(size_t n, size_t n_threads,
                                    void (*fn)(void *ctx, size_t i), void *ctx);
void syn_parallel_finish(struct syn_loop *l);

/* A job running in the background. */
struct syn_job;

/* Start fn(ctx) on a thread of its own (or run it now, on this thread,
 * when no thread can be started). Never NULL; syn_job_join() frees it. */
struct syn_job *syn_job_start(void (*fn)(void *ctx), void *ctx);

/* Wait for the job to end, and free it. NULL is fine (nothing to wait
 * for). */
void syn_job_join(struct syn_job *job);

#endif
