/*
 * test_verify.c - the whole-store check finds each kind of tampering and
 * names the version or device at fault, and finds nothing in a sound store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "capture.h"
#include "testutil.h"
#include "verify.h"

struct fixture {
    char *dir;
    char *path;
    struct fld_store *st;
    struct fld_key *key;
    struct fld_version *v[4]; /* dseq 1..4: record A (1,2,4), record B (3) */
};

static int setup(void **state)
{
    struct fixture *f = fld_xcalloc(1, sizeof *f);
    struct fld_template *t = tu_demo_template();
    struct fld_json *a = fld_json_object();

    f->dir = tu_mkdtemp();
    f->path = fld_xasprintf("%s/field.db", f->dir);
    f->key = tu_key(3);
    if (fld_store_open(f->path, FLD_STORE_CREATE, &f->st, NULL) ||
        fld_capture_setup(f->st, f->key, "Phạm Thị Dung", NULL) ||
        fld_capture_new(f->st, f->key, t, "42001", NULL, &f->v[0], NULL))
        return -1;
    fld_json_set(a, "households_total", fld_json_int(10));
    if (fld_capture_save(f->st, f->key, f->v[0], a, "draft", &f->v[1], NULL) ||
        fld_capture_new(f->st, f->key, t, "42002", NULL, &f->v[2], NULL))
        return -1;
    fld_json_set(a, "households_total", fld_json_int(11));
    if (fld_capture_save(f->st, f->key, f->v[1], a, "draft", &f->v[3], NULL))
        return -1;
    fld_json_free(a);
    fld_template_free(t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int i;

    for (i = 0; i < 4; i++)
        fld_version_free(f->v[i]);
    fld_store_close(f->st);
    fld_key_free(f->key);
    free(f->path);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

struct faults {
    int n;
    char all[4096];
};

static void on_fault(void *ctx, const char *kind, const char *subject,
                     const char *message)
{
    struct faults *fs = ctx;
    size_t used = strlen(fs->all);

    fs->n++;
    snprintf(fs->all + used, sizeof fs->all - used, "%s %s: %s\n", kind,
             subject, message);
}

static int run_verify(struct fixture *f, struct faults *fs)
{
    struct fld_verify_stats stats;

    memset(fs, 0, sizeof *fs);
    return fld_verify_store(f->st, on_fault, fs, &stats, NULL);
}

static void tamper(struct fixture *f, const char *sql)
{
    sqlite3 *db;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static void expect_fault(struct faults *fs, const char *subject,
                         const char *words)
{
    char line[200];

    snprintf(line, sizeof line, "%s", subject);
    if (strstr(fs->all, line) == NULL || strstr(fs->all, words) == NULL)
        fail_msg("expected a fault on %s saying \"%s\"; got:\n%s", subject,
                 words, fs->all);
}

static void test_sound_store_has_no_fault(void **state)
{
    struct fixture *f = *state;
    struct fld_verify_stats stats;
    struct faults fs;

    memset(&fs, 0, sizeof fs);
    assert_int_equal(fld_verify_store(f->st, on_fault, &fs, &stats, NULL),
                     FLD_OK);
    assert_int_equal(fs.n, 0);
    assert_int_equal(stats.n_versions, 4);
    assert_int_equal(stats.n_records, 2);
    assert_int_equal(stats.n_devices, 1);
}

static void test_changed_answer(void **state)
{
    struct fixture *f = *state;
    struct faults fs;

    tamper(
        f,
        "UPDATE versions SET body = replace(body, ':10}', ':99}') WHERE dseq = 2");
    assert_int_equal(run_verify(f, &fs), FLD_ECORRUPT);
    expect_fault(&fs, f->v[1]->hash, "does not match its hash");
}

static void test_removed_middle_version(void **state)
{
    struct fixture *f = *state;
    struct faults fs;

    tamper(f, "DELETE FROM versions WHERE dseq = 2");
    assert_int_equal(run_verify(f, &fs), FLD_ECORRUPT);
    expect_fault(&fs, f->key ? "device" : "", "dseq 2");
    expect_fault(&fs, f->v[3]->hash, "parent");
}

static void test_removed_newest_version(void **state)
{
    struct fixture *f = *state;
    struct faults fs;
    char sql[600];

    /* remove the newest version and make the heads look right again */
    snprintf(sql, sizeof sql,
             "DELETE FROM parents WHERE child_seq = (SELECT seq FROM "
             "versions WHERE hash = '%s'); DELETE FROM versions WHERE "
             "dseq = 4; UPDATE heads SET hash = '%s' WHERE hash = '%s'",
             f->v[3]->hash, f->v[1]->hash, f->v[3]->hash);
    tamper(f, sql);
    assert_int_equal(run_verify(f, &fs), FLD_ECORRUPT);
    expect_fault(&fs, "device", "signed 4 versions");
}

static void test_resigned_with_another_key(void **state)
{
    struct fixture *f = *state;
    struct fld_key *other = tu_key(200);
    struct fld_version *forged;
    struct fld_version_draft d;
    const char *parent = f->v[0]->hash;
    struct fld_json *a = fld_json_object();
    sqlite3 *db;
    sqlite3_stmt *s;

    /* A forger rewrites version 2 with other answers, keeping its place in
     * the chain, and signs it with a key of its own. */
    memset(&d, 0, sizeof d);
    d.record = f->v[1]->record;
    d.parents = &parent;
    d.n_parents = 1;
    d.dseq = 2;
    d.prev = f->v[0]->hash;
    d.hlc = f->v[1]->hlc;
    d.template_id = f->v[1]->template_id;
    d.template_hash = f->v[1]->template_hash;
    d.subject = f->v[1]->subject;
    d.status = "draft";
    fld_json_set(a, "households_total", fld_json_int(500));
    d.answers = a;
    assert_int_equal(fld_version_sign(&d, other, &forged, NULL), FLD_OK);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "UPDATE versions SET body = ?1, sig = ?2 "
                           "WHERE hash = ?3",
                           -1, &s, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(s, 1, forged->body, (int)forged->body_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, forged->sig, 64, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, f->v[1]->hash, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
    {
        struct faults fs;

        assert_int_equal(run_verify(f, &fs), FLD_ECORRUPT);
        expect_fault(&fs, f->v[1]->hash, "does not match its hash");
    }
    /* now also fix up the hash column: the signature is then checked and
     * the author is not this device any more */
    {
        struct faults fs;
        char fix[400];

        snprintf(fix, sizeof fix,
                 "UPDATE versions SET hash = '%s' WHERE hash = '%s'",
                 forged->hash, f->v[1]->hash);
        tamper(f, fix);
        assert_int_equal(run_verify(f, &fs), FLD_ECORRUPT);
        expect_fault(&fs, forged->hash, "column \"author\"");
        expect_fault(&fs, f->v[3]->hash, "parent");
    }
    fld_version_free(forged);
    fld_key_free(other);
    fld_json_free(a);
}

/* Another device's version of record B names the head of record A as a
 * parent besides B's own head: an edge like any other, but A's head stays
 * A's head, in the store and for verify (schema/field-010.sql). */
static void test_parent_in_another_record(void **state)
{
    struct fixture *f = *state;
    struct fld_key *other = tu_key(201);
    const char *parents[3] = {f->v[2]->hash, f->v[3]->hash, NULL};
    struct fld_version *v =
        tu_sign_demo(other, f->v[2]->record, f->v[2]->subject, 1, parents);
    struct fld_verify_stats stats;
    struct faults fs;
    char **heads;
    size_t n;

    assert_int_equal(fld_store_begin(f->st, NULL), FLD_OK);
    assert_int_equal(fld_store_put_version(f->st, v, NULL), FLD_OK);
    assert_int_equal(fld_store_commit(f->st, NULL), FLD_OK);
    assert_int_equal(fld_store_heads(f->st, f->v[3]->record, &heads, &n, NULL),
                     FLD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(heads[0], f->v[3]->hash);
    fld_strv_free(heads, n);
    memset(&fs, 0, sizeof fs);
    assert_int_equal(fld_verify_store(f->st, on_fault, &fs, &stats, NULL),
                     FLD_OK);
    if (fs.n != 0)
        fail_msg("%s", fs.all);
    assert_int_equal(stats.n_versions, 5);
    assert_int_equal(stats.n_devices, 2);
    fld_version_free(v);
    fld_key_free(other);
}

static void test_swapped_signature(void **state)
{
    struct fixture *f = *state;
    struct faults fs;

    tamper(
        f,
        "UPDATE versions SET sig = (SELECT sig FROM versions WHERE dseq = 1) "
        "WHERE dseq = 2");
    assert_int_equal(run_verify(f, &fs), FLD_ECORRUPT);
    expect_fault(&fs, f->v[1]->hash, "signature does not verify");
}

static void test_changed_column_only(void **state)
{
    struct fixture *f = *state;
    struct faults fs;

    tamper(f, "UPDATE versions SET status = 'approved' WHERE dseq = 3");
    assert_int_equal(run_verify(f, &fs), FLD_ECORRUPT);
    expect_fault(&fs, f->v[2]->hash, "column \"status\"");
}

static void test_removed_head_row(void **state)
{
    struct fixture *f = *state;
    struct faults fs;
    char sql[200];

    snprintf(sql, sizeof sql, "DELETE FROM heads WHERE hash = '%s'",
             f->v[3]->hash);
    tamper(f, sql);
    assert_int_equal(run_verify(f, &fs), FLD_ECORRUPT);
    expect_fault(&fs, f->v[3]->record, "heads");
}

static void test_fork_in_chain(void **state)
{
    struct fixture *f = *state;
    struct faults fs;

    /* a cloned disk: the same dseq used twice (simulated by the column) */
    tamper(f, "UPDATE versions SET dseq = 2 WHERE dseq = 3");
    assert_int_equal(run_verify(f, &fs), FLD_ECORRUPT);
    expect_fault(&fs, "device", "fork");
}

static void test_edited_parents_table(void **state)
{
    struct fixture *f = *state;
    struct faults fs;
    char sql[600];

    /* v1's edge taken out; an edge from v2 to v0 put in */
    snprintf(sql, sizeof sql,
             "DELETE FROM parents WHERE child_seq = (SELECT seq FROM "
             "versions WHERE hash = '%s'); INSERT INTO parents SELECT seq, "
             "'%s' FROM versions WHERE hash = '%s'",
             f->v[1]->hash, f->v[0]->hash, f->v[2]->hash);
    tamper(f, sql);
    assert_int_equal(run_verify(f, &fs), FLD_ECORRUPT);
    expect_fault(&fs, f->v[1]->hash, "parents table lacks its parent");
    expect_fault(&fs, f->v[2]->hash, "which its signed body does not");
    assert_int_equal(fs.n, 2);
}

/* A parallel loop that runs the indices backwards: the walk must not
 * depend on the order its versions' own checks run in. */
static void backwards(size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
    while (n-- > 0)
        fn(ctx, n);
}

/* 300 versions (more than one batch of the walk), three of them tampered
 * with on either side of the batch's boundary: the faults, their order
 * and the counts are the same whether each version's own checks run one
 * after the other or through a parallel loop, in any order. */
static void test_parallel_walk_finds_the_same(void **state)
{
    struct fixture *f = *state;
    struct fld_verify_stats one, many;
    struct faults fs_one, fs_many;
    struct fld_version *prev = f->v[3], *next = NULL;
    struct fld_json *a = fld_json_object();
    int i;

    for (i = 0; i < 296; i++) {
        fld_json_set(a, "households_total", fld_json_int(100 + i));
        assert_int_equal(
            fld_capture_save(f->st, f->key, prev, a, "draft", &next, NULL),
            FLD_OK);
        if (prev != f->v[3])
            fld_version_free(prev);
        prev = next;
    }
    fld_version_free(prev);
    fld_json_free(a);
    tamper(f, "UPDATE versions SET body = replace(body, ':110}', ':999}') "
              "WHERE dseq = 15;"
              "UPDATE versions SET subject = '42009' WHERE dseq = 257;"
              "UPDATE versions SET sig = (SELECT sig FROM versions "
              "WHERE dseq = 1) WHERE dseq = 290");
    memset(&fs_one, 0, sizeof fs_one);
    memset(&fs_many, 0, sizeof fs_many);
    assert_int_equal(fld_verify_store(f->st, on_fault, &fs_one, &one, NULL),
                     FLD_ECORRUPT);
    assert_int_equal(fld_verify_store_with(f->st, backwards, on_fault, &fs_many,
                                           &many, NULL),
                     FLD_ECORRUPT);
    assert_int_equal(fs_one.n, 3);
    expect_fault(&fs_one, "version", "does not match its hash");
    expect_fault(&fs_one, "version", "\"subject\" disagrees");
    expect_fault(&fs_one, "version", "signature does not verify");
    assert_string_equal(fs_many.all, fs_one.all);
    assert_int_equal(many.n_versions, 300);
    assert_int_equal(many.n_versions, one.n_versions);
    assert_int_equal(many.n_records, one.n_records);
    assert_int_equal(many.n_devices, one.n_devices);
    assert_int_equal(many.n_faults, one.n_faults);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_sound_store_has_no_fault),
        T(test_changed_answer),
        T(test_removed_middle_version),
        T(test_removed_newest_version),
        T(test_resigned_with_another_key),
        T(test_swapped_signature),
        T(test_changed_column_only),
        T(test_removed_head_row),
        T(test_fork_in_chain),
        T(test_edited_parents_table),
        T(test_parallel_walk_finds_the_same),
        /* not damage: an edge to another record */
        T(test_parent_in_another_record),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
