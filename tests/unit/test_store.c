/*
 * test_store.c - the device store: schema and migrations, versions and
 * heads, record look-up, listing, templates, and the refusals (a foreign
 * SQLite file, a server database, a newer schema, a locked database).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>

#include "capture.h"
#include "db.h"
#include "file.h"
#include "store.h"
#include "testutil.h"

static int setup(void **state)
{
    *state = tu_device_open(7, "Trần Thị Bình");
    return 0;
}

static int teardown(void **state)
{
    tu_device_close(*state);
    return 0;
}

static int64_t count_rows(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int64_t n = -1;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static void test_schema_version_and_pragmas(void **state)
{
    struct tu_device *f = *state;

    assert_int_equal(count_rows(f->path, "PRAGMA user_version"),
                     FLD_STORE_SCHEMA_VERSION);
    assert_int_equal(
        count_rows(f->path,
                   "SELECT count(*) FROM sqlite_schema WHERE name "
                   "IN ('versions','parents','heads','meta','templates')"),
        5);
}

static void test_reopen_keeps_everything(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *v;
    char *name;

    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &v, NULL), FLD_OK);
    fld_store_close(f->st);
    assert_int_equal(fld_store_open(f->path, FLD_STORE_OPEN, &f->st, NULL),
                     FLD_OK);
    assert_int_equal(fld_store_meta_get(f->st, FLD_META_INSPECTOR, &name, NULL),
                     FLD_OK);
    assert_string_equal(name, "Trần Thị Bình");
    free(name);
    fld_version_free(v);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM versions"), 1);
}

static void test_put_twice_is_exists(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *v;
    struct fld_err err;

    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &v, NULL), FLD_OK);
    assert_int_equal(fld_store_begin(f->st, NULL), FLD_OK);
    assert_int_equal(fld_store_put_version(f->st, v, &err), FLD_EXISTS);
    fld_store_rollback(f->st);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM versions"), 1);
    fld_version_free(v);
}

static void test_heads_follow_versions(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *v1, *v2, *got;
    struct fld_json *answers = fld_json_object();
    char **heads;
    size_t n;

    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &v1, NULL), FLD_OK);
    fld_json_set(answers, "households_total", fld_json_int(5));
    assert_int_equal(
        fld_capture_save(f->st, f->key, v1, answers, "draft", &v2, NULL),
        FLD_OK);
    assert_int_equal(fld_store_heads(f->st, v1->record, &heads, &n, NULL),
                     FLD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(heads[0], v2->hash);
    fld_strv_free(heads, n);
    assert_int_equal(fld_store_get_version(f->st, v2->hash, &got, NULL),
                     FLD_OK);
    assert_string_equal(got->parents->items[0]->s, v1->hash);
    assert_int_equal(got->dseq, 2);
    assert_string_equal(got->prev, v1->hash);
    fld_version_free(got);
    fld_version_free(v1);
    fld_version_free(v2);
    fld_json_free(answers);
}

static void put(struct tu_device *f, const struct fld_version *v)
{
    assert_int_equal(fld_store_begin(f->st, NULL), FLD_OK);
    assert_int_equal(fld_store_put_version(f->st, v, NULL), FLD_OK);
    assert_int_equal(fld_store_commit(f->st, NULL), FLD_OK);
}

static void expect_heads(struct tu_device *f, const char *record,
                         const char *only)
{
    char **heads;
    size_t n;

    assert_int_equal(fld_store_heads(f->st, record, &heads, &n, NULL), FLD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(heads[0], only);
    fld_strv_free(heads, n);
}

/*
 * A child stored before its parent (relayed, or carried in a bundle in
 * another order) keeps the parent off the heads when it arrives; a child
 * in another record names it as any edge does but never supersedes it:
 * the heads of a record are its versions no version of the same record
 * names as a parent (schema/field-010.sql).
 */
static void test_child_stored_before_its_parent(void **state)
{
    static const char r1[] = "01a24ea1d1a97c03b2cee35bb9e4d1fd",
                      r2[] = "01a24ea1d1a97c03b2cee35bb9e4d2aa";
    struct tu_device *f = *state;
    struct fld_key *k = tu_key(9);
    struct fld_version *v1, *v2, *other;
    const char *p1[2] = {NULL, NULL}, *p2[3] = {NULL, NULL, NULL};
    char *rec;

    v1 = tu_sign_demo(k, r1, "42001", 1, NULL);
    p1[0] = v1->hash;
    v2 = tu_sign_demo(k, r1, "42001", 2, p1);
    /* record r2's first version names v1 as a parent too */
    p2[0] = v2->hash;
    p2[1] = v1->hash;
    other = tu_sign_demo(k, r2, "42001", 3, p2);
    put(f, other);
    put(f, v2);
    expect_heads(f, r1, v2->hash);
    put(f, v1);
    expect_heads(f, r1, v2->hash);
    expect_heads(f, r2, other->hash);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM parents"), 3);
    /* each version's record, by its hash */
    assert_int_equal(fld_store_version_record(f->st, other->hash, &rec, NULL),
                     FLD_OK);
    assert_string_equal(rec, r2);
    free(rec);
    assert_int_equal(fld_store_version_record(f->st, r1, &rec, NULL),
                     FLD_NOTFOUND);
    assert_null(rec);
    fld_version_free(v1);
    fld_version_free(v2);
    fld_version_free(other);
    fld_key_free(k);
}

static void test_find_record_by_prefix(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *v;
    char rec[33], prefix[13];
    struct fld_err err;

    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &v, NULL), FLD_OK);
    snprintf(prefix, sizeof prefix, "%.12s", v->record);
    assert_int_equal(fld_store_find_record(f->st, prefix, rec, NULL), FLD_OK);
    assert_string_equal(rec, v->record);
    assert_int_equal(fld_store_find_record(f->st, v->record, rec, NULL),
                     FLD_OK);
    assert_int_equal(fld_store_find_record(f->st, "ffffffff", rec, &err),
                     FLD_NOTFOUND);
    assert_int_equal(fld_store_find_record(f->st, "01", rec, &err),
                     FLD_NOTFOUND);
    assert_int_equal(fld_store_find_record(f->st, "0'; DROP", rec, &err),
                     FLD_NOTFOUND);
    fld_version_free(v);
}

static void test_ambiguous_prefix(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *v1, *v2;
    char rec[33], prefix[5];
    struct fld_err err;

    /* Ids start with 48 bits of milliseconds: two made in the same test
     * share their first 4 hex digits (which change every 49 days). */
    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &v1, NULL), FLD_OK);
    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42002", NULL, &v2, NULL), FLD_OK);
    snprintf(prefix, sizeof prefix, "%.4s", v1->record);
    assert_memory_equal(v1->record, v2->record, 4);
    assert_int_equal(fld_store_find_record(f->st, prefix, rec, &err),
                     FLD_CONFLICT);
    assert_non_null(strstr(err.msg, "ambiguous"));
    fld_version_free(v1);
    fld_version_free(v2);
}

struct listing {
    int n;
    char status[16];
};

static int count_record(void *ctx, const struct fld_record_summary *r)
{
    struct listing *l = ctx;

    l->n++;
    snprintf(l->status, sizeof l->status, "%s", r->status);
    return FLD_OK;
}

struct order {
    char ids[4][33];
    size_t n;
    int64_t n_versions; /* summed */
};

static int note_order(void *ctx, const struct fld_record_summary *r)
{
    struct order *o = ctx;

    if (o->n < 4)
        snprintf(o->ids[o->n++], sizeof o->ids[0], "%s", r->record);
    o->n_versions += r->n_versions;
    return FLD_OK;
}

static void test_list_filters(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *a, *b, *b2;
    struct fld_record_filter only_final = {"final", NULL, NULL};
    struct fld_record_filter subject = {NULL, "42002", NULL};
    struct fld_record_filter other_tmpl = {NULL, NULL, "nope"};
    struct listing l;

    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &a, NULL), FLD_OK);
    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42002", NULL, &b, NULL), FLD_OK);
    assert_int_equal(
        fld_capture_save(f->st, f->key, b, b->answers, "final", &b2, NULL),
        FLD_OK);
    memset(&l, 0, sizeof l);
    assert_int_equal(fld_store_each_record(f->st, NULL, count_record, &l, NULL),
                     FLD_OK);
    assert_int_equal(l.n, 2);
    memset(&l, 0, sizeof l);
    assert_int_equal(
        fld_store_each_record(f->st, &only_final, count_record, &l, NULL),
        FLD_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.status, "final");
    memset(&l, 0, sizeof l);
    fld_store_each_record(f->st, &subject, count_record, &l, NULL);
    assert_int_equal(l.n, 1);
    memset(&l, 0, sizeof l);
    fld_store_each_record(f->st, &other_tmpl, count_record, &l, NULL);
    assert_int_equal(l.n, 0);
    /* the brief walk (field export) takes the same records in the same
     * order, the same filters, without the counts */
    {
        const struct fld_record_filter *filters[] = {NULL, &only_final,
                                                     &subject, &other_tmpl};
        const int64_t versions[] = {3, 2, 2, 0}; /* a: 1, b: 2 */
        size_t i;

        for (i = 0; i < 4; i++) {
            struct order full = {{""}, 0, 0}, brief = {{""}, 0, 0};

            assert_int_equal(fld_store_each_record(f->st, filters[i],
                                                   note_order, &full, NULL),
                             FLD_OK);
            assert_int_equal(fld_store_each_record_brief(
                                 f->st, filters[i], note_order, &brief, NULL),
                             FLD_OK);
            assert_int_equal(full.n, brief.n);
            assert_memory_equal(full.ids, brief.ids, sizeof full.ids);
            assert_int_equal(brief.n_versions, 0);
            assert_int_equal(full.n_versions, versions[i]);
        }
    }
    fld_version_free(a);
    fld_version_free(b);
    fld_version_free(b2);
}

static void test_templates_by_id_and_hash(void **state)
{
    struct tu_device *f = *state;
    const uint8_t *canon;
    uint8_t *body;
    size_t len, got_len;
    char hash[65];
    struct fld_err err;

    canon = fld_template_canonical(f->t, &len);
    assert_int_equal(fld_store_template_put(f->st, fld_template_hash(f->t),
                                            fld_template_id(f->t), canon, len,
                                            NULL),
                     FLD_OK);
    assert_int_equal(fld_store_template_put(f->st, fld_template_hash(f->t),
                                            fld_template_id(f->t), canon, len,
                                            &err),
                     FLD_EXISTS);
    assert_int_equal(fld_store_template_get(f->st, "field-demo", &body,
                                            &got_len, hash, NULL),
                     FLD_OK);
    assert_string_equal(hash, fld_template_hash(f->t));
    assert_int_equal(got_len, len);
    assert_memory_equal(body, canon, len);
    free(body);
    assert_int_equal(fld_store_template_get(f->st, fld_template_hash(f->t),
                                            &body, &got_len, NULL, NULL),
                     FLD_OK);
    free(body);
    assert_int_equal(
        fld_store_template_get(f->st, "nope", &body, &got_len, NULL, &err),
        FLD_NOTFOUND);
}

static void test_tampered_body_is_corrupt(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *v, *got = NULL;
    struct fld_err err;
    sqlite3 *db;

    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &v, NULL), FLD_OK);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE versions SET body = "
                                  "replace(body, '42001', '42009')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(fld_store_get_version(f->st, v->hash, &got, &err),
                     FLD_ECORRUPT);
    assert_null(got);
    assert_non_null(strstr(err.msg, "does not match its hash"));
    fld_version_free(v);
}

static void test_foreign_and_newer_files_refused(void **state)
{
    struct tu_device *f = *state;
    char *other = fld_xasprintf("%s/other.db", f->dir);
    struct fld_store *st = NULL;
    struct fld_err err;
    sqlite3 *db;
    FILE *fp;

    assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE x(y)", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(fld_store_open(other, FLD_STORE_OPEN, &st, &err),
                     FLD_ECORRUPT);
    assert_non_null(strstr(err.msg, "not a field device store"));
    unlink(other);
    fp = fopen(other, "w");
    fputs("this is not a database at all, just some text to fill a page", fp);
    fclose(fp);
    assert_int_equal(fld_store_open(other, FLD_STORE_OPEN, &st, &err),
                     FLD_ECORRUPT);
    unlink(other);
    assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(fld_store_open(other, FLD_STORE_OPEN, &st, &err), FLD_EDB);
    assert_non_null(strstr(err.msg, "99"));
    assert_null(st);
    unlink(other);
    assert_int_equal(fld_store_open(other, FLD_STORE_OPEN, &st, &err),
                     FLD_NOTFOUND);
    free(other);
}

static void test_store_is_stamped(void **state)
{
    struct tu_device *f = *state;

    assert_int_equal(count_rows(f->path, "PRAGMA application_id"),
                     FLD_DB_APP_DEVICE);
}

/* The whole file, to show that a refused open wrote nothing. */
static uint8_t *file_bytes(const char *path, size_t *len)
{
    uint8_t *data;

    assert_int_equal(fld_file_read(path, 1 << 24, &data, len, NULL), FLD_OK);
    return data;
}

/* A server database (stamped FLDs) is never migrated into a device store:
 * before, `field list` over one failed half-way with "table units already
 * exists". */
static void test_server_database_refused(void **state)
{
    struct tu_device *f = *state;
    char *other = fld_xasprintf("%s/other.db", f->dir);
    char *sql = fld_xasprintf(
        "PRAGMA application_id = %d; PRAGMA user_version = 1; CREATE TABLE "
        "meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE "
        "enroll_codes (code_hash TEXT PRIMARY KEY)",
        FLD_DB_APP_SERVER);
    struct fld_store *st = NULL;
    struct fld_err err;
    uint8_t *before, *after;
    size_t len_before, len_after;
    sqlite3 *db;

    assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    before = file_bytes(other, &len_before);
    assert_int_equal(fld_store_open(other, FLD_STORE_OPEN, &st, &err),
                     FLD_ECORRUPT);
    assert_null(st);
    assert_non_null(strstr(
        err.msg, "not a field device store (it is a field-server database)"));
    assert_int_equal(fld_store_open(other, FLD_STORE_CREATE, &st, &err),
                     FLD_ECORRUPT);
    after = file_bytes(other, &len_after);
    assert_int_equal(len_after, len_before);
    assert_memory_equal(after, before, len_before);
    free(before);
    free(after);
    free(sql);
    unlink(other);
    free(other);
}

/* The previous release stamped nothing: its store opens, keeps its
 * versions, and is stamped. */
static void test_previous_release_store_is_stamped(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *v;
    sqlite3 *db;

    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &v, NULL), FLD_OK);
    fld_store_close(f->st);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "PRAGMA application_id = 0", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(count_rows(f->path, "PRAGMA application_id"), 0);
    assert_int_equal(fld_store_open(f->path, FLD_STORE_OPEN, &f->st, NULL),
                     FLD_OK);
    assert_int_equal(count_rows(f->path, "PRAGMA application_id"),
                     FLD_DB_APP_DEVICE);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM versions"), 1);
    fld_version_free(v);
}

static void test_locked_database_is_busy(void **state)
{
    struct tu_device *f = *state;
    struct fld_store *second = NULL;
    struct fld_err err;

    assert_int_equal(fld_store_open(f->path, FLD_STORE_OPEN, &second, NULL),
                     FLD_OK);
    fld_store_set_busy_timeout(second, 50);
    assert_int_equal(fld_store_begin(f->st, NULL), FLD_OK);
    assert_int_equal(fld_store_begin(second, &err), FLD_EBUSY);
    assert_non_null(strstr(err.msg, "locked"));
    fld_store_rollback(f->st);
    assert_int_equal(fld_store_begin(second, &err), FLD_OK);
    fld_store_rollback(second);
    fld_store_close(second);
}

static int n_records(struct fld_store *st)
{
    struct listing l;

    memset(&l, 0, sizeof l);
    assert_int_equal(fld_store_each_record(st, NULL, count_record, &l, NULL),
                     FLD_OK);
    return l.n;
}

/* A read transaction sees one snapshot: a record another connection stores
 * meanwhile is seen only once it ends, and that writer is not kept
 * waiting (WAL). */
static void test_read_transaction_is_one_snapshot(void **state)
{
    struct tu_device *f = *state;
    struct fld_store *second = NULL;
    struct fld_version *v1, *v2;

    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", NULL, &v1, NULL), FLD_OK);
    assert_int_equal(fld_store_open(f->path, FLD_STORE_OPEN, &second, NULL),
                     FLD_OK);
    fld_store_set_busy_timeout(second, 50);
    assert_int_equal(fld_store_begin_read(f->st, NULL), FLD_OK);
    assert_int_equal(n_records(f->st), 1);
    assert_int_equal(
        fld_capture_new(second, f->key, f->t, "42001", NULL, &v2, NULL),
        FLD_OK);
    assert_int_equal(n_records(f->st), 1);
    fld_store_rollback(f->st);
    assert_int_equal(n_records(f->st), 2);
    fld_store_close(second);
    fld_version_free(v1);
    fld_version_free(v2);
}

static void test_meta_values(void **state)
{
    struct tu_device *f = *state;
    int64_t n;
    char *s;
    struct fld_err err;

    assert_int_equal(fld_store_meta_set_int(f->st, "x.n", -42, NULL), FLD_OK);
    assert_int_equal(fld_store_meta_get_int(f->st, "x.n", &n, NULL), FLD_OK);
    assert_int_equal(n, -42);
    assert_int_equal(fld_store_meta_set(f->st, "x.s", "abc", NULL), FLD_OK);
    assert_int_equal(fld_store_meta_get_int(f->st, "x.s", &n, &err),
                     FLD_ECORRUPT);
    assert_int_equal(fld_store_meta_get(f->st, "x.missing", &s, &err),
                     FLD_NOTFOUND);
    assert_null(s);
}

/* A revision of the village template, signed by the store's device. */
static struct fld_thresholds *kdc_revision(struct tu_device *f,
                                           const struct fld_template *t,
                                           int64_t revision,
                                           const char *valid_from)
{
    char *text = fld_xasprintf(
        "{\"template\":\"ha-tinh-kdc-kieu-mau\",\"revision\":%lld,"
        "\"valid_from\":\"%s\",\"source\":\"QĐ %lld/QĐ-UBND\","
        "\"thresholds\":{\"house_ok_pct\":{\"value\":%lld}}}",
        (long long)revision, valid_from, (long long)revision,
        (long long)(70 + revision));
    struct fld_json *d = NULL;
    struct fld_thresholds *r = NULL;

    assert_int_equal(
        fld_json_parse((const uint8_t *)text, strlen(text), &d, NULL), FLD_OK);
    assert_int_equal(fld_thresholds_sign(d, t, f->key, 1000, &r, NULL), FLD_OK);
    fld_json_free(d);
    free(text);
    return r;
}

static int count_revision(void *ctx, const struct fld_store_thresholds_row *r)
{
    int64_t *n = ctx;

    assert_int_equal(r->revision, *n + 1);
    assert_string_equal(r->template_id, "ha-tinh-kdc-kieu-mau");
    (*n)++;
    return FLD_OK;
}

/* The hash of the revision of t in force on date (NULL: any), verified
 * again, or "" when there is none. */
static char *in_force(struct tu_device *f, const struct fld_template *t,
                      const char *date)
{
    uint8_t *body, sig[FLD_SIG_LEN];
    struct fld_thresholds *got;
    size_t len;
    char *hash;
    int rc = fld_store_thresholds_in_force(f->st, fld_template_hash(t), date,
                                           &body, &len, sig, NULL);

    if (rc == FLD_NOTFOUND) {
        assert_null(body);
        return fld_xstrdup("");
    }
    assert_int_equal(rc, FLD_OK);
    assert_int_equal(fld_thresholds_open(body, len, sig, &got, NULL), FLD_OK);
    hash = fld_xstrdup(got->hash);
    fld_thresholds_free(got);
    free(body);
    return hash;
}

static void expect_in_force(struct tu_device *f, const struct fld_template *t,
                            const char *date, const char *want)
{
    char *hash = in_force(f, t, date);

    assert_string_equal(hash, want);
    free(hash);
}

/* Revisions are kept by hash; the one in force on a date is the greatest
 * whose valid_from is not after it. */
static void test_threshold_revisions(void **state)
{
    struct tu_device *f = *state;
    const struct fld_embedded *e =
        fld_embedded_find("ha-tinh-kdc-kieu-mau.json");
    struct fld_template *t = NULL;
    struct fld_thresholds *r1, *r2;
    int64_t n = 0;
    struct fld_err err;

    assert_int_equal(fld_template_parse_embedded(e, &t, NULL), FLD_OK);
    r1 = kdc_revision(f, t, 1, "2025-01-01");
    r2 = kdc_revision(f, t, 2, "2026-01-01");
    expect_in_force(f, t, NULL, "");
    assert_int_equal(fld_store_begin(f->st, NULL), FLD_OK);
    assert_int_equal(fld_store_thresholds_put(f->st, r2, 7, NULL), FLD_OK);
    assert_int_equal(fld_store_thresholds_put(f->st, r1, 0, NULL), FLD_OK);
    assert_int_equal(fld_store_thresholds_put(f->st, r1, 0, &err), FLD_EXISTS);
    assert_int_equal(fld_store_commit(f->st, NULL), FLD_OK);

    expect_in_force(f, t, "2025-12-31", r1->hash);
    expect_in_force(f, t, "2026-01-01", r2->hash);
    expect_in_force(f, t, NULL, r2->hash);
    expect_in_force(f, t, "2024-12-31", "");
    assert_int_equal(fld_store_each_thresholds(f->st, count_revision, &n, NULL),
                     FLD_OK);
    assert_int_equal(n, 2);
    fld_thresholds_free(r1);
    fld_thresholds_free(r2);
    fld_template_free(t);
}

/* The pending versions as the store lists them, as one string of hashes
 * in arrival order, and what the definition says they are. */
static int add_pending(void *ctx, const struct fld_store_pending *p)
{
    fld_buf_printf(ctx, "%s ", p->hash);
    return FLD_OK;
}

static void expect_queue(struct tu_device *f, const char *want)
{
    struct fld_buf got = FLD_BUF_INIT;
    int64_t n, bytes, by_definition;

    assert_int_equal(
        fld_store_sync_each_pending(f->st, 0, add_pending, &got, NULL), FLD_OK);
    assert_string_equal(fld_buf_str(&got), want);
    assert_int_equal(fld_store_sync_pending_count(f->st, &n, &bytes, NULL),
                     FLD_OK);
    by_definition = count_rows(
        f->path, "SELECT count(*) FROM versions v WHERE NOT EXISTS (SELECT 1 "
                 "FROM sync_known k WHERE k.seq = v.seq) AND NOT EXISTS "
                 "(SELECT 1 FROM sync_refused r WHERE r.hash = v.hash)");
    assert_int_equal(n, by_definition);
    fld_buf_free(&got);
}

/* sync_pending (schema/field-006.sql) follows every change of what the
 * server is known to hold or has refused, and a store of schema version
 * 5 gets it filled when it is migrated. */
static void test_pending_queue(void **state)
{
    struct tu_device *f = *state;
    struct fld_version *v[3];
    char want[4 * (FLD_HASH_HEX_LEN + 1) + 1];
    sqlite3 *db;
    int i;

    for (i = 0; i < 3; i++)
        assert_int_equal(
            fld_capture_new(f->st, f->key, f->t, "42001", NULL, &v[i], NULL),
            FLD_OK);
    snprintf(want, sizeof want, "%s %s %s ", v[0]->hash, v[1]->hash,
             v[2]->hash);
    expect_queue(f, want);

    assert_int_equal(fld_store_begin(f->st, NULL), FLD_OK);
    assert_int_equal(fld_store_sync_known(f->st, v[0]->hash, "stored", NULL),
                     FLD_OK);
    assert_int_equal(
        fld_store_sync_refuse(f->st, v[1]->hash, "scope", "no", NULL), FLD_OK);
    assert_int_equal(fld_store_commit(f->st, NULL), FLD_OK);
    snprintf(want, sizeof want, "%s ", v[2]->hash);
    expect_queue(f, want);

    /* known after a refusal: off the dead-letter list, still not pending */
    assert_int_equal(fld_store_begin(f->st, NULL), FLD_OK);
    assert_int_equal(fld_store_sync_known(f->st, v[1]->hash, "pulled", NULL),
                     FLD_OK);
    assert_int_equal(
        fld_store_sync_refuse(f->st, v[2]->hash, "scope", NULL, NULL), FLD_OK);
    assert_int_equal(fld_store_commit(f->st, NULL), FLD_OK);
    expect_queue(f, "");

    /* forgetting makes everything pending again, in arrival order */
    assert_int_equal(fld_store_begin(f->st, NULL), FLD_OK);
    assert_int_equal(fld_store_sync_forget(f->st, NULL), FLD_OK);
    assert_int_equal(fld_store_commit(f->st, NULL), FLD_OK);
    snprintf(want, sizeof want, "%s %s %s ", v[0]->hash, v[1]->hash,
             v[2]->hash);
    expect_queue(f, want);

    /* a store from before the queue (and with sync_known and parents by
     * hash): the migrations fill the queue and key both by row */
    assert_int_equal(fld_store_begin(f->st, NULL), FLD_OK);
    assert_int_equal(fld_store_sync_known(f->st, v[1]->hash, "stored", NULL),
                     FLD_OK);
    assert_int_equal(fld_store_commit(f->st, NULL), FLD_OK);
    fld_store_close(f->st);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "DROP TRIGGER sync_pending_stored; DROP TRIGGER "
                     "sync_pending_known; DROP TRIGGER sync_pending_refused; "
                     "DROP TRIGGER sync_pending_unknown; DROP TRIGGER "
                     "sync_pending_unrefused; DROP TABLE sync_pending; "
                     "DROP TABLE version_attachments; "
                     "DROP TABLE attachments; "
                     /* sync_known by hash, as field-003.sql made it */
                     "CREATE TABLE old_known (hash TEXT PRIMARY KEY "
                     "REFERENCES versions (hash), how TEXT NOT NULL, "
                     "at_ms INTEGER NOT NULL) WITHOUT ROWID; "
                     "INSERT INTO old_known SELECT v.hash, k.how, k.at_ms "
                     "FROM sync_known k JOIN versions v ON v.seq = k.seq; "
                     "DROP TABLE sync_known; "
                     "ALTER TABLE old_known RENAME TO sync_known; "
                     /* parents by the child's hash, as field.sql made it */
                     "CREATE TABLE old_parents (child TEXT NOT NULL, "
                     "parent TEXT NOT NULL, PRIMARY KEY (child, parent)) "
                     "WITHOUT ROWID; INSERT INTO old_parents SELECT v.hash, "
                     "e.parent FROM parents e JOIN versions v "
                     "ON v.seq = e.child_seq; DROP TABLE parents; "
                     "ALTER TABLE old_parents RENAME TO parents; "
                     "CREATE INDEX parents_parent ON parents (parent); "
                     "PRAGMA user_version = 5",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(fld_store_open(f->path, FLD_STORE_OPEN, &f->st, NULL),
                     FLD_OK);
    snprintf(want, sizeof want, "%s %s ", v[0]->hash, v[2]->hash);
    expect_queue(f, want);
    for (i = 0; i < 3; i++)
        fld_version_free(v[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_version_and_pragmas, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_put_twice_is_exists, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_heads_follow_versions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_child_stored_before_its_parent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_record_by_prefix, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ambiguous_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_templates_by_id_and_hash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tampered_body_is_corrupt, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_foreign_and_newer_files_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_is_stamped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_database_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_previous_release_store_is_stamped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_database_is_busy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_read_transaction_is_one_snapshot,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threshold_revisions, setup,
                                        teardown),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
