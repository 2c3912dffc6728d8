/*
 * test_syn_parallel.c - libsync's loop over several threads and its
 * background job (sync/parallel.c): every index is visited exactly once
 * whatever the number of threads (none, one, more than the indices, more
 * than the cap), a loop started in the background visits them all too
 * while the caller works on something else (as `field export` and
 * `field import` use it), and a job's writes are visible once it is
 * joined; and freed memory goes back to the system when asked
 * (syn_heaps_trim). `make tsan` runs it under ThreadSanitizer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parallel.h"

#define N 10007

/* Each index writes only its own slot, as the contract asks. */
static void visit(void *ctx, size_t i)
{
    int *seen = ctx;

    seen[i]++;
}

static void test_every_index_once(void **state)
{
    static const size_t threads[] = {0, 1, 2, 3, 8, 64};
    int *seen = calloc(N, sizeof *seen);
    size_t t, i;

    (void)state;
    assert_non_null(seen);
    for (t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        memset(seen, 0, N * sizeof *seen);
        syn_parallel_for(N, threads[t], visit, seen);
        for (i = 0; i < N; i++)
            assert_int_equal(seen[i], 1);
    }
    /* nothing to do, and fewer indices than threads */
    syn_parallel_for(0, 4, visit, seen);
    memset(seen, 0, N * sizeof *seen);
    syn_parallel_for(2, 8, visit, seen);
    assert_int_equal(seen[0] + seen[1] + seen[2], 2);
    free(seen);
}

/* Started in the background: the caller writes its own data meanwhile,
 * then takes part and reads every slot once finished. */
static void test_started_loop(void **state)
{
    static const size_t threads[] = {0, 1, 2, 5, 64};
    int *seen = calloc(N, sizeof *seen), *mine = calloc(N, sizeof *mine);
    size_t t, i;

    (void)state;
    assert_non_null(seen);
    assert_non_null(mine);
    for (t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        struct syn_loop *l;

        memset(seen, 0, N * sizeof *seen);
        l = syn_parallel_start(N, threads[t], visit, seen);
        assert_non_null(l);
        for (i = 0; i < N; i++)
            mine[i] = (int)(t + i);
        syn_parallel_finish(l);
        for (i = 0; i < N; i++)
            assert_int_equal(seen[i], 1);
        assert_int_equal(mine[N - 1], (int)(t + N - 1));
    }
    syn_parallel_finish(syn_parallel_start(0, 2, visit, seen));
    free(seen);
    free(mine);
}

struct work {
    long sum;
    int *data;
};

static void add_up(void *ctx)
{
    struct work *w = ctx;
    size_t i;

    for (i = 0; i < N; i++)
        w->sum += w->data[i];
}

/* The caller writes its own data while the job runs, then reads the job's
 * result once joined. */
static void test_job(void **state)
{
    struct work w = {0, NULL};
    int *mine = calloc(N, sizeof *mine);
    struct syn_job *j;
    size_t i;

    (void)state;
    w.data = calloc(N, sizeof *w.data);
    assert_non_null(w.data);
    assert_non_null(mine);
    for (i = 0; i < N; i++)
        w.data[i] = (int)i;
    j = syn_job_start(add_up, &w);
    for (i = 0; i < N; i++)
        mine[i] = (int)(2 * i);
    syn_job_join(j);
    assert_int_equal(w.sum, (long)N * (N - 1) / 2);
    assert_int_equal(mine[N - 1], 2 * (N - 1));
    syn_job_join(NULL);
    assert_true(syn_cpus() >= 1);
    free(w.data);
    free(mine);
}

/* This process's resident pages, from /proc (Linux). */
static long resident_pages(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = -1;

    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define OWN_MALLOC 1 /* the sanitizer's allocator, not the C library's */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define OWN_MALLOC 1
#endif
#endif

/*
 * 16 MB in small blocks, touched, then freed, all but the last: the C
 * library keeps them (the last one pins the top of its heap), and the
 * pages stay resident until syn_heaps_trim() gives them back. Only where
 * glibc's allocator is the one in use.
 */
static void test_heaps_trim(void **state)
{
    enum { BLOCKS = 2048, BLOCK = 8192 };
    char **b = calloc(BLOCKS, sizeof *b);
    long page = sysconf(_SC_PAGESIZE), before, after;
    size_t i;

    (void)state;
    assert_non_null(b);
    for (i = 0; i < BLOCKS; i++) {
        b[i] = malloc(BLOCK);
        assert_non_null(b[i]);
        memset(b[i], (int)i, BLOCK);
    }
    for (i = 0; i + 1 < BLOCKS; i++)
        free(b[i]);
    before = resident_pages();
    syn_heaps_trim();
    after = resident_pages();
    free(b[BLOCKS - 1]);
    free(b);
#if defined(__GLIBC__) && !defined(OWN_MALLOC)
    assert_true(before > 0 && after > 0);
    /* at least half of the 16 MB freed is no longer resident */
    assert_true((before - after) * page >= (long)BLOCKS * BLOCK / 2);
#else
    (void)before;
    (void)after;
    (void)page;
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_index_once),
        cmocka_unit_test(test_started_loop),
        cmocka_unit_test(test_job),
        cmocka_unit_test(test_heaps_trim),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
