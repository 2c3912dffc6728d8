/*
 * test_template_cache.c - the process's cache of parsed templates
 * (field/template_cache.h): a template is parsed once per key, a key is
 * the template's hash and its threshold revision's, a template under the
 * wrong hash or a failed load keeps nothing, what is held is never
 * evicted, and threads share one copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "template_cache.h"

#define OTHER_THRESHOLDS                                                       \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* What the loader makes: template number n, and how often it ran. */
struct maker {
    int n;
    int calls;
    int fail; /* the code to fail with, 0 to succeed */
};

static char *template_json(int n)
{
    return fld_xasprintf(
        "{\"id\":\"t%d\",\"version\":\"1\",\"title\":{\"vi\":\"T\"},"
        "\"sections\":[{\"name\":\"s\",\"label\":{\"vi\":\"S\"},"
        "\"questions\":[{\"name\":\"q\",\"type\":\"text\","
        "\"label\":{\"vi\":\"Q\"}}]}]}",
        n);
}

static int make(void *data, struct fld_template **out, struct fld_err *err)
{
    struct maker *m = data;
    char *json = template_json(m->n);
    int rc;

    __atomic_add_fetch(&m->calls, 1, __ATOMIC_SEQ_CST);
    if (m->fail)
        rc = fld_err_set(err, m->fail, "made to fail");
    else
        rc = fld_template_parse((const uint8_t *)json, strlen(json), out, err);
    free(json);
    return rc;
}

/* The hash of template number n (64 hex digits into out). */
static void hash_of(int n, char out[65])
{
    struct maker m = {n, 0, 0};
    struct fld_template *t;

    assert_int_equal(make(&m, &t, NULL), FLD_OK);
    snprintf(out, 65, "%s", fld_template_hash(t));
    fld_template_free(t);
}

static int fresh(void **state)
{
    (void)state;
    fld_template_cache_clear();
    return 0;
}

static void test_parsed_once(void **state)
{
    struct maker m = {1, 0, 0};
    struct fld_template_cache_stats before, after;
    const struct fld_template *a, *b;
    char hash[65];

    (void)state;
    hash_of(1, hash);
    fld_template_cache_stats(&before);
    assert_int_equal(fld_template_cache_get(hash, NULL, make, &m, &a, NULL),
                     FLD_OK);
    assert_int_equal(fld_template_cache_get(hash, "", make, &m, &b, NULL),
                     FLD_OK);
    assert_ptr_equal(a, b); /* NULL and "" are the same: no thresholds */
    assert_int_equal(m.calls, 1);
    assert_string_equal(fld_template_id(a), "t1");
    fld_template_cache_stats(&after);
    assert_int_equal(after.misses - before.misses, 1);
    assert_int_equal(after.hits - before.hits, 1);
    assert_int_equal(after.entries, 1);
    assert_int_equal(after.held, 1);
    fld_template_cache_release(a);
    fld_template_cache_release(b);
    fld_template_cache_stats(&after);
    assert_int_equal(after.held, 0);
    assert_int_equal(after.entries, 1); /* kept for the next get */
    assert_int_equal(fld_template_cache_get(hash, NULL, make, &m, &a, NULL),
                     FLD_OK);
    assert_int_equal(m.calls, 1);
    fld_template_cache_release(a);
}

static void test_thresholds_are_another_entry(void **state)
{
    struct maker m = {2, 0, 0};
    const struct fld_template *plain, *revised;
    char hash[65];

    (void)state;
    hash_of(2, hash);
    assert_int_equal(fld_template_cache_get(hash, NULL, make, &m, &plain, NULL),
                     FLD_OK);
    assert_int_equal(fld_template_cache_get(hash, OTHER_THRESHOLDS, make, &m,
                                            &revised, NULL),
                     FLD_OK);
    assert_ptr_not_equal(plain, revised);
    assert_int_equal(m.calls, 2);
    fld_template_cache_release(plain);
    fld_template_cache_release(revised);
}

static void test_failures_keep_nothing(void **state)
{
    struct maker m = {3, 0, FLD_ECORRUPT}, other = {4, 0, 0};
    struct fld_template_cache_stats st;
    const struct fld_template *t = (const void *)&m;
    struct fld_err err;
    char hash[65];

    (void)state;
    hash_of(3, hash);
    /* the loader's failure is returned as it is */
    assert_int_equal(fld_template_cache_get(hash, NULL, make, &m, &t, &err),
                     FLD_ECORRUPT);
    assert_null(t);
    assert_string_equal(err.msg, "made to fail");
    /* a template whose hash is not the key's */
    assert_int_equal(fld_template_cache_get(hash, NULL, make, &other, &t, &err),
                     FLD_ECORRUPT);
    assert_null(t);
    assert_non_null(strstr(err.msg, "has hash"));
    fld_template_cache_stats(&st);
    assert_int_equal(st.entries, 0);
    /* keys that are not hashes: refused before any load */
    assert_int_equal(fld_template_cache_get("t3", NULL, make, &m, &t, &err),
                     FLD_EINVAL);
    assert_int_equal(
        fld_template_cache_get(hash, "not a hash", make, &m, &t, &err),
        FLD_EINVAL);
    assert_int_equal(m.calls, 1);
    /* and once the loader works, the key loads */
    m.fail = 0;
    assert_int_equal(fld_template_cache_get(hash, NULL, make, &m, &t, NULL),
                     FLD_OK);
    assert_int_equal(m.calls, 2);
    fld_template_cache_release(t);
}

static void test_eviction_spares_what_is_held(void **state)
{
    enum { N = FLD_TEMPLATE_CACHE_MAX + 5 };
    struct maker m[N + 1];
    struct fld_template_cache_stats st;
    const struct fld_template *held, *t;
    char hash[65];
    int i;

    (void)state;
    for (i = 0; i <= N; i++)
        m[i] = (struct maker){100 + i, 0, 0};
    hash_of(100, hash);
    assert_int_equal(
        fld_template_cache_get(hash, NULL, make, &m[0], &held, NULL), FLD_OK);
    for (i = 1; i <= N; i++) {
        hash_of(100 + i, hash);
        assert_int_equal(
            fld_template_cache_get(hash, NULL, make, &m[i], &t, NULL), FLD_OK);
        fld_template_cache_release(t);
    }
    fld_template_cache_stats(&st);
    assert_int_equal(st.entries, FLD_TEMPLATE_CACHE_MAX);
    assert_int_equal(st.held, 1);
    /* the held one stayed, and is the same template */
    hash_of(100, hash);
    assert_int_equal(fld_template_cache_get(hash, NULL, make, &m[0], &t, NULL),
                     FLD_OK);
    assert_ptr_equal(t, held);
    assert_int_equal(m[0].calls, 1);
    fld_template_cache_release(t);
    /* the least recently used of the others went first, the newest stayed */
    hash_of(101, hash);
    assert_int_equal(fld_template_cache_get(hash, NULL, make, &m[1], &t, NULL),
                     FLD_OK);
    assert_int_equal(m[1].calls, 2);
    fld_template_cache_release(t);
    hash_of(100 + N, hash);
    assert_int_equal(fld_template_cache_get(hash, NULL, make, &m[N], &t, NULL),
                     FLD_OK);
    assert_int_equal(m[N].calls, 1);
    fld_template_cache_release(t);
    fld_template_cache_release(held);
    fld_template_cache_clear();
    fld_template_cache_stats(&st);
    assert_int_equal(st.entries, 0);
}

/* ---- threads ------------------------------------------------------------ */

enum { N_THREADS = 4, N_KEYS = 3, ROUNDS = 500 };

struct shared {
    char hash[N_KEYS][65];
    struct maker m[N_KEYS];
    const struct fld_template *seen[N_THREADS][N_KEYS];
    int mixed; /* a thread got two different templates for one key */
};

struct worker {
    struct shared *sh;
    int id;
};

static void *work(void *data)
{
    struct worker *w = data;
    struct shared *sh = w->sh;
    int i, k;

    for (i = 0; i < ROUNDS; i++) {
        const struct fld_template *t;

        k = (i + w->id) % N_KEYS;
        if (fld_template_cache_get(sh->hash[k], NULL, make, &sh->m[k], &t,
                                   NULL) != FLD_OK)
            abort();
        if (sh->seen[w->id][k] == NULL)
            sh->seen[w->id][k] = t;
        else if (sh->seen[w->id][k] != t)
            sh->mixed = 1;
        fld_template_cache_release(t);
    }
    return NULL;
}

static void test_threads_share_one_copy(void **state)
{
    struct shared sh;
    struct worker w[N_THREADS];
    pthread_t th[N_THREADS];
    struct fld_template_cache_stats st;
    int i, k;

    (void)state;
    memset(&sh, 0, sizeof sh);
    for (k = 0; k < N_KEYS; k++) {
        sh.m[k] = (struct maker){200 + k, 0, 0};
        hash_of(200 + k, sh.hash[k]);
    }
    for (i = 0; i < N_THREADS; i++) {
        w[i] = (struct worker){&sh, i};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    assert_false(sh.mixed);
    for (k = 0; k < N_KEYS; k++) {
        /* at most one parse per thread that missed, one copy kept */
        assert_true(sh.m[k].calls >= 1 && sh.m[k].calls <= N_THREADS);
        for (i = 1; i < N_THREADS; i++)
            assert_ptr_equal(sh.seen[i][k], sh.seen[0][k]);
    }
    fld_template_cache_stats(&st);
    assert_int_equal(st.entries, N_KEYS);
    assert_int_equal(st.held, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_parsed_once, fresh),
        cmocka_unit_test_setup(test_thresholds_are_another_entry, fresh),
        cmocka_unit_test_setup(test_failures_keep_nothing, fresh),
        cmocka_unit_test_setup(test_eviction_spares_what_is_held, fresh),
        cmocka_unit_test_setup(test_threads_share_one_copy, fresh),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    fld_template_cache_clear();
    return rc;
}
