/*
 * test_capture.c - writing versions on a device: the chain (dseq, prev),
 * the clock, one version per save, refusals that leave nothing behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>

#include "capture.h"
#include "testutil.h"

static int setup(void **state)
{
    *state = tu_device_open(1, "Lê Văn Cường");
    return 0;
}

static int teardown(void **state)
{
    tu_device_close(*state);
    return 0;
}

static void test_chain_runs_across_records(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *a, *b, *c;
    struct fld_json *answers = fld_json_object();
    int64_t dseq;

    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &a, NULL), FLD_OK);
    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42002", NULL, &b, NULL), FLD_OK);
    fld_json_set(answers, "remarks", fld_json_string("tốt"));
    assert_int_equal(
        fld_capture_save(f->st, f->key, a, answers, "draft", &c, NULL), FLD_OK);
    assert_int_equal(a->dseq, 1);
    assert_null(a->prev);
    assert_int_equal(b->dseq, 2);
    assert_string_equal(b->prev, a->hash);
    assert_int_equal(c->dseq, 3);
    assert_string_equal(c->prev, b->hash);
    assert_string_equal(c->inspector, "Lê Văn Cường");
    assert_string_equal(c->template_hash, fld_template_hash(f->t));
    /* the clock strictly increases, whatever the wall clock does */
    assert_true(fld_hlc_cmp(&a->hlc, &b->hlc) < 0);
    assert_true(fld_hlc_cmp(&b->hlc, &c->hlc) < 0);
    assert_int_equal(fld_store_meta_get_int(f->st, FLD_META_DSEQ, &dseq, NULL),
                     FLD_OK);
    assert_int_equal(dseq, 3);
    fld_version_free(a);
    fld_version_free(b);
    fld_version_free(c);
    fld_json_free(answers);
}

static void test_clock_survives_reopen_and_backwards_wall_clock(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *a, *b, *c;
    int64_t near = fld_now_ms() + 60000, before, after;

    /* A clock persisted a minute ahead (a wall clock that went back a
     * little): it survives reopening and stays monotonic. */
    assert_int_equal(fld_store_meta_set_int(f->st, FLD_META_HLC_MS, near, NULL),
                     FLD_OK);
    fld_store_close(f->st);
    assert_int_equal(fld_store_open(f->path, FLD_STORE_OPEN, &f->st, NULL),
                     FLD_OK);
    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &a, NULL), FLD_OK);
    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &b, NULL), FLD_OK);
    assert_int_equal(a->hlc.ms, near);
    assert_int_equal(a->hlc.count, 1);
    assert_int_equal(b->hlc.count, 2);

    /* A clock persisted in 2100 was set by a wall clock that ran ahead
     * (issue 13): the next version returns to real time (hlc.h). */
    assert_int_equal(
        fld_store_meta_set_int(f->st, FLD_META_HLC_MS, 4102444800000, NULL),
        FLD_OK);
    before = fld_now_ms();
    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &c, NULL), FLD_OK);
    after = fld_now_ms();
    assert_true(c->hlc.ms >= before && c->hlc.ms <= after);
    assert_int_equal(c->hlc.count, 0);
    assert_int_equal(c->dseq, b->dseq + 1); /* the chain goes on */
    fld_version_free(a);
    fld_version_free(b);
    fld_version_free(c);
}

static void test_unchanged_save_writes_nothing(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *a, *b = NULL;
    struct fld_err err;
    int64_t dseq;

    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &a, NULL), FLD_OK);
    assert_int_equal(
        fld_capture_save(f->st, f->key, a, a->answers, "draft", &b, &err),
        FLD_EXISTS);
    assert_null(b);
    fld_store_meta_get_int(f->st, FLD_META_DSEQ, &dseq, NULL);
    assert_int_equal(dseq, 1);
    fld_version_free(a);
}

static void test_stale_base_is_conflict(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *a, *b, *c = NULL;
    struct fld_json *answers = fld_json_object();
    struct fld_err err;
    int64_t dseq;

    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &a, NULL), FLD_OK);
    fld_json_set(answers, "households_total", fld_json_int(1));
    assert_int_equal(
        fld_capture_save(f->st, f->key, a, answers, "draft", &b, NULL), FLD_OK);
    fld_json_set(answers, "households_total", fld_json_int(2));
    /* a is no longer the head: saving on it would fork silently */
    assert_int_equal(
        fld_capture_save(f->st, f->key, a, answers, "draft", &c, &err),
        FLD_CONFLICT);
    assert_null(c);
    fld_store_meta_get_int(f->st, FLD_META_DSEQ, &dseq, NULL);
    assert_int_equal(dseq, 2); /* the refused save took no counter */
    fld_version_free(a);
    fld_version_free(b);
    fld_json_free(answers);
}

static void test_foreign_key_refused(void **state)
{
    struct tu_device *f = *state;
    struct fld_key *other = tu_key(99);
    struct fld_version *v = NULL;
    struct fld_err err;

    assert_int_equal(
        fld_capture_new(f->st, other, f->t, "42001", NULL, &v, &err),
        FLD_ECORRUPT);
    assert_non_null(strstr(err.msg, "does not belong"));
    assert_null(v);
    fld_key_free(other);
}

static void test_setup_twice_refused(void **state)
{
    struct tu_device *f = *state;
    struct fld_err err;

    assert_int_equal(fld_capture_setup(f->st, f->key, "x", &err), FLD_EXISTS);
}

static void test_head_of_unknown_record(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *v;
    struct fld_err err;

    assert_int_equal(
        fld_capture_head(f->st, "0123456789abcdef0123456789abcdef", &v, &err),
        FLD_NOTFOUND);
    assert_null(v);
}

static void test_bad_subject_refused_nothing_written(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *v = NULL;
    struct fld_err err;
    int64_t dseq;

    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "bad subject", NULL, &v, &err),
        FLD_EINVAL);
    assert_null(v);
    fld_store_meta_get_int(f->st, FLD_META_DSEQ, &dseq, NULL);
    assert_int_equal(dseq, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain_runs_across_records, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_clock_survives_reopen_and_backwards_wall_clock, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_unchanged_save_writes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_base_is_conflict, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_foreign_key_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_setup_twice_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_head_of_unknown_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_bad_subject_refused_nothing_written, setup, teardown),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
