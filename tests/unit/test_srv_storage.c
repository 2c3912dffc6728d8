/*
 * test_srv_storage.c - the server's storage interface on its SQLite
 * backend (a fresh database per test), the files it refuses (a device
 * store, an unrelated SQLite file), the verification of pushed
 * versions (push.c), pull cursors, the replay cache, and the API handler
 * called directly through struct srv_request, without HTTP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "db.h"
#include "exports.h"
#include "file.h"
#include "push.h"
#include "server.h"
#include "storage.h"
#include "store.h"
#include "targets.h"
#include "srvtest.h"
#include "testutil.h"

struct fx {
    char *dir;
    char *path;
    struct srv_config cfg;
    struct srv *s;
    struct srv_storage *st;
    struct fld_key *k; /* an admin device */
    char tpl[FLD_HASH_HEX_LEN + 1];
};

static void add_device(struct srv_storage *st, const struct fld_key *k,
                       const char *role, const char *unit)
{
    struct srv_device d;
    char *scope[1] = {(char *)unit};

    memset(&d, 0, sizeof d);
    fld_key_public_hex(k, d.pubkey);
    d.inspector = (char *)"Test";
    d.role = (char *)role;
    d.scope = unit ? scope : NULL;
    d.n_scope = unit ? 1 : 0;
    d.enrolled_ms = 1;
    assert_int_equal(srv_storage_device_add(st, &d, NULL), FLD_OK);
}

static int setup(void **state)
{
    struct fx *f = fld_xcalloc(1, sizeof *f);
    struct srv_storage *st;
    struct fld_template *t = tu_demo_template();
    struct srv_unit units[] = {
        {"42", "Hà Tĩnh", "tinh", NULL, "0000-01-01", NULL, true, NULL},
        {"4201", "Một", "xa", "42", "0000-01-01", NULL, true, NULL},
        {"420101", "Thôn", "thon", "4201", "0000-01-01", NULL, true, NULL},
        {"4202", "Hai", "xa", "42", "0000-01-01", NULL, true, NULL}};

    if (sodium_init() < 0)
        return -1;
    f->dir = tu_mkdtemp();
    f->path = fld_xasprintf("%s/field.db", f->dir);
    st =
        tu_server_db(f->path, t, units, sizeof units / sizeof units[0], f->tpl);
    f->k = tu_key(7);
    add_device(st, f->k, "admin", NULL);
    assert_int_equal(srv_storage_commit(st, NULL), FLD_OK);
    srv_storage_close(st);
    fld_template_free(t);
    srv_config_defaults(&f->cfg);
    free(f->cfg.db);
    f->cfg.db = fld_xstrdup(f->path);
    assert_int_equal(srv_open(&f->cfg, &f->s, NULL), FLD_OK);
    assert_int_equal(srv_acquire(f->s, &f->st, NULL), FLD_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    srv_release(f->s, f->st);
    srv_close(f->s);
    srv_config_free(&f->cfg);
    fld_key_free(f->k);
    free(f->path);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* Sign a version of record by key, with these answers (NULL: none). */
static struct fld_version *
sign_answers(const struct fx *f, const struct fld_key *k, const char *record,
             int64_t dseq, const char *prev, const char *parent,
             const char *subject, const struct fld_json *answers)
{
    struct fld_version_draft d;
    struct fld_version *v;
    struct fld_json *none = fld_json_object();
    const char *parents[1] = {parent};

    memset(&d, 0, sizeof d);
    d.record = record;
    d.parents = parents;
    d.n_parents = parent ? 1 : 0;
    d.dseq = dseq;
    d.prev = prev;
    d.hlc.ms = 1764288000000 + dseq;
    d.template_id = "field-demo";
    d.template_hash = f->tpl;
    d.subject = subject;
    d.status = "draft";
    d.answers = answers ? answers : none;
    assert_int_equal(fld_version_sign(&d, k, &v, NULL), FLD_OK);
    fld_json_free(none);
    return v;
}

/* Sign a version of record by key. */
static struct fld_version *sign(const struct fx *f, const struct fld_key *k,
                                const char *record, int64_t dseq,
                                const char *prev, const char *parent,
                                const char *subject)
{
    return sign_answers(f, k, record, dseq, prev, parent, subject, NULL);
}

static enum syn_push_status push1(struct fx *f, const char *pusher,
                                  const struct fld_version *v, char *reason)
{
    struct srv_device *d;
    struct syn_item it;
    struct syn_result r;

    memset(&r, 0, sizeof r);
    syn_item_set(&it, v->body, v->body_len, v->sig);
    assert_int_equal(srv_storage_device_get(f->st, pusher, &d, NULL), FLD_OK);
    assert_int_equal(srv_push(f->s, f->st, d, &it, 1, &r, NULL), FLD_OK);
    assert_string_equal(r.hash, v->hash);
    if (reason)
        strcpy(reason, r.reason);
    free(r.message);
    free(it.body);
    srv_device_free(d);
    return r.status;
}

static void test_schema_and_reopen(void **state)
{
    struct fx *f = *state;
    struct srv_storage *st;
    char *v;
    struct fld_err err;

    assert_int_equal(srv_storage_open(f->path, false, &st, NULL), FLD_OK);
    assert_int_equal(srv_storage_meta_get(st, "epoch", &v, NULL), FLD_OK);
    assert_string_equal(v, "0123456789abcdef");
    free(v);
    srv_storage_close(st);
    assert_int_equal(srv_storage_open("/nonexistent/x.db", false, &st, &err),
                     FLD_NOTFOUND);
    assert_int_equal(srv_storage_open("postgres:x", false, &st, &err),
                     FLD_EUSAGE);
}

/* The device store says what the file is: stamped "FLDs". */
static bool is_stamped_server(const char *path)
{
    struct fld_store *device = NULL;
    struct fld_err err;

    fld_err_clear(&err);
    if (fld_store_open(path, FLD_STORE_OPEN, &device, &err) != FLD_ECORRUPT)
        return false;
    return strstr(err.msg, "(it is a field-server database)") != NULL;
}

/* The whole file, to show that a refused open wrote nothing. */
static uint8_t *file_bytes(const char *path, size_t *len)
{
    uint8_t *data;

    assert_int_equal(fld_file_read(path, 1 << 24, &data, len, NULL), FLD_OK);
    return data;
}

/* Open must fail with FLD_ECORRUPT naming why, whether or not asked to
 * create, and leave the file's bytes as they were. */
static void refused(const char *path, const char *why)
{
    struct srv_storage *st = NULL;
    struct fld_err err;
    size_t len_before, len_after;
    uint8_t *before = file_bytes(path, &len_before), *after;
    int create;

    for (create = 0; create < 2; create++) {
        fld_err_clear(&err);
        assert_int_equal(srv_storage_open(path, create, &st, &err),
                         FLD_ECORRUPT);
        assert_null(st);
        if (strstr(err.msg, why) == NULL)
            fail_msg("\"%s\" lacks \"%s\"", err.msg, why);
    }
    after = file_bytes(path, &len_after);
    assert_int_equal(len_after, len_before);
    assert_memory_equal(after, before, len_before);
    free(before);
    free(after);
}

static void test_foreign_files_refused(void **state)
{
    struct fx *f = *state;
    char *other = fld_xasprintf("%s/other.db", f->dir);
    struct fld_store *device;
    sqlite3 *db;

    assert_true(is_stamped_server(f->path));
    /* a device store */
    assert_int_equal(fld_store_open(other, FLD_STORE_CREATE, &device, NULL),
                     FLD_OK);
    fld_store_close(device);
    refused(other, "not a field-server database (it is a field device store)");
    /* a device store of the previous release (not stamped) */
    assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "PRAGMA application_id = 0", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    refused(other, "not a field-server database (it has other tables)");
    unlink(other);
    /* somebody's own SQLite file */
    assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE notes (t TEXT)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    refused(other, "not a field-server database (it has other tables)");
    unlink(other);
    free(other);
}

/* A server database of the previous release opens and is stamped. */
static void test_previous_release_database_is_stamped(void **state)
{
    struct fx *f = *state;
    struct srv_storage *st;
    sqlite3 *db;
    char *v;

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "PRAGMA application_id = 0", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(srv_storage_open(f->path, false, &st, NULL), FLD_OK);
    assert_int_equal(srv_storage_meta_get(st, "epoch", &v, NULL), FLD_OK);
    assert_string_equal(v, "0123456789abcdef");
    free(v);
    srv_storage_close(st);
    assert_true(is_stamped_server(f->path));
}

static void test_codes_and_devices(void **state)
{
    struct fx *f = *state;
    struct srv_enroll_code c, *used;
    struct srv_device *d;
    char key[65], h[65], found[65];
    struct fld_key *k2 = tu_key(9);

    memset(&c, 0, sizeof c);
    memset(c.code_hash, 'a', 64);
    c.inspector = (char *)"Lan";
    c.role = (char *)"inspector";
    c.scope = (char *)"4201 4202";
    c.created_ms = 100;
    c.expires_ms = 200;
    assert_int_equal(srv_storage_code_add(f->st, &c, NULL), FLD_OK);
    assert_int_equal(
        srv_storage_code_use(f->st, c.code_hash, 250, "x", &used, NULL),
        FLD_NOTFOUND); /* expired */
    assert_int_equal(
        srv_storage_code_use(f->st, c.code_hash, 150, "x", &used, NULL),
        FLD_OK);
    assert_string_equal(used->scope, "4201 4202");
    srv_enroll_code_free(used);
    assert_int_equal(
        srv_storage_code_use(f->st, c.code_hash, 160, "y", &used, NULL),
        FLD_NOTFOUND); /* spent */

    add_device(f->st, k2, "inspector", "4201");
    fld_key_public_hex(k2, key);
    assert_int_equal(srv_storage_device_get(f->st, key, &d, NULL), FLD_OK);
    assert_string_equal(d->role, "inspector");
    assert_int_equal(d->n_scope, 1);
    assert_int_equal(d->revoked_ms, 0);
    srv_device_free(d);
    memcpy(h, key, 8);
    h[8] = '\0';
    assert_int_equal(srv_storage_device_find(f->st, h, found, NULL), FLD_OK);
    assert_string_equal(found, key);
    assert_int_equal(srv_storage_device_revoke(f->st, key, 5, NULL), FLD_OK);
    assert_int_equal(srv_storage_device_revoke(f->st, key, 6, NULL),
                     FLD_EXISTS);
    assert_int_equal(srv_storage_device_get(f->st, key, &d, NULL), FLD_OK);
    assert_int_equal(d->revoked_ms, 5);
    srv_device_free(d);
    fld_key_free(k2);
}

static void test_scope_walks_the_unit_tree(void **state)
{
    struct fx *f = *state;
    struct fld_key *k2 = tu_key(9);
    char key[65];
    bool in;

    add_device(f->st, k2, "inspector", "4201");
    fld_key_public_hex(k2, key);
    assert_int_equal(srv_storage_in_scope(f->st, key, "4201", &in, NULL),
                     FLD_OK);
    assert_true(in);
    assert_int_equal(srv_storage_in_scope(f->st, key, "420101", &in, NULL),
                     FLD_OK);
    assert_true(in);
    assert_int_equal(srv_storage_in_scope(f->st, key, "4202", &in, NULL),
                     FLD_OK);
    assert_false(in);
    assert_int_equal(srv_storage_in_scope(f->st, key, "42", &in, NULL), FLD_OK);
    assert_false(in);
    fld_key_free(k2);
}

static int count_pull(void *ctx, int64_t seq, const uint8_t *body, size_t len,
                      const uint8_t *sig)
{
    (void)seq;
    (void)body;
    (void)len;
    (void)sig;
    (*(int *)ctx)++;
    return FLD_OK;
}

/* ---- dated units and targets ----------------------------------------------
 */

/* Kỳ Lợi (18814), outside the programme, under the district 447 until
 * 30/6/2025, then merged into Kỳ Lạc (18838); its village 1881401 moved
 * under Kỳ Lạc. */
static void put_merger(struct fx *f)
{
    struct srv_unit units[] = {
        {"447", "Huyện Kỳ Anh", "huyen", "42", "1991-10-01", "2025-06-30", true,
         NULL},
        {"18814", "Kỳ Lợi", "xa", "447", "1991-10-01", "2025-06-30", false,
         "18838"},
        {"1881401", "Thôn Một", "thon", "18814", "1991-10-01", "2025-06-30",
         true, NULL},
        {"1881401", "Thôn Một", "thon", "18838", "2025-07-01", NULL, true,
         NULL},
        {"18838", "Kỳ Lạc", "xa", "42", "2025-07-01", NULL, true, NULL}};
    size_t i;

    assert_int_equal(srv_storage_begin(f->st, NULL), FLD_OK);
    for (i = 0; i < sizeof units / sizeof units[0]; i++)
        assert_int_equal(srv_storage_unit_put(f->st, &units[i], NULL), FLD_OK);
    assert_int_equal(srv_storage_commit(f->st, NULL), FLD_OK);
}

/* "code/parent[/no][/>merged]" of each unit, space separated. */
static int list_unit(void *ctx, const struct srv_unit *u)
{
    struct fld_buf *b = ctx;

    fld_buf_printf(b, "%s%s/%s%s%s%s", b->len ? " " : "", u->code,
                   u->parent ? u->parent : "-", u->in_programme ? "" : "/no",
                   u->merged_into ? "/>" : "",
                   u->merged_into ? u->merged_into : "");
    return FLD_OK;
}

static void expect_units_on(struct fx *f, const char *date, const char *want)
{
    struct fld_buf b = FLD_BUF_INIT;

    assert_int_equal(srv_storage_units_on(f->st, date, list_unit, &b, NULL),
                     FLD_OK);
    assert_string_equal(fld_buf_str(&b), want);
    fld_buf_free(&b);
}

static void test_units_on_a_date(void **state)
{
    struct fx *f = *state;
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_err err;

    put_merger(f);
    expect_units_on(f, "2025-06-30",
                    "18814/447/no/>18838 1881401/18814 42/- 4201/42 "
                    "420101/4201 4202/42 447/42");
    expect_units_on(f, "2025-07-01",
                    "1881401/18838 18838/42 42/- 4201/42 420101/4201 "
                    "4202/42");
    expect_units_on(f, "1991-09-30", "42/- 4201/42 420101/4201 4202/42");
    assert_int_equal(
        srv_storage_units_on(f->st, "2025-7-1", list_unit, &b, &err),
        FLD_EINVAL);
    assert_int_equal(b.len, 0);
    /* every version, by code then start */
    assert_int_equal(srv_storage_each_unit(f->st, list_unit, &b, NULL), FLD_OK);
    assert_string_equal(fld_buf_str(&b),
                        "18814/447/no/>18838 1881401/18814 1881401/18838 "
                        "18838/42 42/- 4201/42 420101/4201 4202/42 447/42");
    fld_buf_free(&b);
    /* drop one version; the other stays */
    assert_int_equal(srv_storage_begin(f->st, NULL), FLD_OK);
    assert_int_equal(
        srv_storage_unit_drop(f->st, "1881401", "1991-10-01", NULL), FLD_OK);
    assert_int_equal(srv_storage_commit(f->st, NULL), FLD_OK);
    expect_units_on(f, "2025-06-30",
                    "18814/447/no/>18838 42/- 4201/42 420101/4201 4202/42 "
                    "447/42");
    expect_units_on(f, "2025-07-01",
                    "1881401/18838 18838/42 42/- 4201/42 420101/4201 "
                    "4202/42");
}

static bool in_scope(struct fx *f, const char *device, const char *subject)
{
    bool in = false;

    assert_int_equal(srv_storage_in_scope(f->st, device, subject, &in, NULL),
                     FLD_OK);
    return in;
}

/* A scope walks every version, and from a merged unit to the one that
 * took it over: a version whose subject has ended is still pulled. */
static void test_scope_follows_mergers(void **state)
{
    struct fx *f = *state;
    struct fld_key *new_commune = tu_key(21), *old_district = tu_key(22);
    char k_new[65], k_old[65], admin[65], reason[SYN_REASON_MAX];
    struct fld_version *v;
    struct srv_pull_query q;
    int n = 0;

    put_merger(f);
    assert_int_equal(srv_storage_begin(f->st, NULL), FLD_OK);
    add_device(f->st, new_commune, "inspector", "18838");
    add_device(f->st, old_district, "inspector", "447");
    assert_int_equal(srv_storage_commit(f->st, NULL), FLD_OK);
    fld_key_public_hex(new_commune, k_new);
    fld_key_public_hex(old_district, k_old);
    fld_key_public_hex(f->k, admin);
    assert_true(in_scope(f, k_new, "18838"));
    assert_true(in_scope(f, k_new, "18814"));   /* merged into it */
    assert_true(in_scope(f, k_new, "1881401")); /* both parents */
    assert_false(in_scope(f, k_new, "447"));
    assert_false(in_scope(f, k_new, "4201"));
    assert_true(in_scope(f, k_old, "18814"));
    assert_true(in_scope(f, k_old, "1881401"));
    assert_false(in_scope(f, k_old, "18838"));
    /* a version of the ended commune reaches the new commune's inspector */
    v = sign(f, f->k, "0193cccccccccccccccccccccccccccc", 1, NULL, NULL,
             "18814");
    assert_int_equal(push1(f, admin, v, reason), SYN_STORED);
    memset(&q, 0, sizeof q);
    q.device = k_new;
    q.limit = 10;
    assert_int_equal(srv_storage_pull(f->st, &q, count_pull, &n, NULL), FLD_OK);
    assert_int_equal(n, 1);
    n = 0;
    q.device = k_old;
    assert_int_equal(srv_storage_pull(f->st, &q, count_pull, &n, NULL), FLD_OK);
    assert_int_equal(n, 1);
    fld_version_free(v);
    fld_key_free(new_commune);
    fld_key_free(old_district);
}

/* "unit/tier/count/from/due" of each target, space separated. */
static int list_target(void *ctx, const struct srv_target *g)
{
    struct fld_buf *b = ctx;

    fld_buf_printf(b, "%s%s/%s/%lld/%s/%s%s", b->len ? " " : "", g->unit,
                   g->tier, (long long)g->count, g->from, g->due ? g->due : "-",
                   g->source ? "" : "/nosource");
    return FLD_OK;
}

static int import_targets(struct fx *f, const char *csv, size_t *n,
                          struct fld_err *err)
{
    int rc;

    assert_int_equal(srv_storage_begin(f->st, NULL), FLD_OK);
    rc =
        srv_targets_import(f->st, (const uint8_t *)csv, strlen(csv), 7, n, err);
    if (rc == FLD_OK)
        assert_int_equal(srv_storage_commit(f->st, NULL), FLD_OK);
    else
        srv_storage_rollback(f->st);
    return rc;
}

#define TARGETS "unit,tier,count,from,due,source\n"

static void targets_refused(struct fx *f, const char *csv, const char *words)
{
    struct fld_buf before = FLD_BUF_INIT, after = FLD_BUF_INIT;
    struct fld_err err;
    size_t n = 99;

    srv_storage_each_target(f->st, list_target, &before, NULL);
    fld_err_clear(&err);
    assert_int_equal(import_targets(f, csv, &n, &err), FLD_EINVAL);
    assert_int_equal(n, 0);
    if (strstr(err.msg, words) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", words, err.msg);
    srv_storage_each_target(f->st, list_target, &after, NULL);
    assert_string_equal(fld_buf_str(&after), fld_buf_str(&before));
    fld_buf_free(&before);
    fld_buf_free(&after);
}

static void test_targets(void **state)
{
    struct fx *f = *state;
    struct fld_buf b = FLD_BUF_INIT;
    size_t n;

    assert_int_equal(
        import_targets(f,
                       TARGETS "42,xa-ntm-nang-cao,75,2025-01-01,2025-12-31,"
                               "\"Kết luận, Hà Tĩnh\"\n"
                               "42,xa-ntm-kieu-mau,22,2025-01-01,2025-12-31,"
                               "Kết luận\n"
                               "4201,kdc-kieu-mau,1,2025-01-01,,\n",
                       &n, NULL),
        FLD_OK);
    assert_int_equal(n, 3);
    /* the same unit, tier and from again: replaced, and now last */
    assert_int_equal(import_targets(f,
                                    "source,due,from,count,tier,unit\n"
                                    ",,2025-01-01,80,xa-ntm-nang-cao,42\n",
                                    &n, NULL),
                     FLD_OK);
    assert_int_equal(srv_storage_each_target(f->st, list_target, &b, NULL),
                     FLD_OK);
    assert_string_equal(fld_buf_str(&b),
                        "42/xa-ntm-kieu-mau/22/2025-01-01/2025-12-31 "
                        "4201/kdc-kieu-mau/1/2025-01-01/-/nosource "
                        "42/xa-ntm-nang-cao/80/2025-01-01/-/nosource");
    fld_buf_free(&b);
    targets_refused(f, TARGETS "99,xa-ntm,1,2025-01-01,,\n",
                    "line 2: unit 99 is not loaded");
    targets_refused(f, TARGETS "42,xa-ntm,1,2025-01-01,,\n42,Xa,1,2025,,\n",
                    "line 3: tier \"Xa\" is not a tier code");
    targets_refused(f, TARGETS "42,xa-ntm,-1,2025-01-01,,\n",
                    "line 2: count \"-1\" is not a whole number");
    targets_refused(f, TARGETS "42,xa-ntm,1.5,2025-01-01,,\n", "line 2: count");
    targets_refused(f, TARGETS "42,xa-ntm,,2025-01-01,,\n", "line 2: count");
    targets_refused(f, TARGETS "42,xa-ntm,1,01/01/2025,,\n",
                    "line 2: from \"01/01/2025\" is not a YYYY-MM-DD date");
    targets_refused(f, TARGETS "42,xa-ntm,1,2025-01-01,2024-12-31,\n",
                    "line 2: due \"2024-12-31\" is not a date on or after");
    targets_refused(f, TARGETS "42,xa-ntm,1,2025-01-01,, x\n",
                    "line 2: source must be NFC text");
    targets_refused(f,
                    TARGETS "42,xa-ntm,1,2025-01-01,,\n"
                            "42,xa-ntm-nang-cao,1,2025-01-01,,\n"
                            "42,xa-ntm,2,2025-01-01,,\n",
                    "line 4: unit 42, tier xa-ntm from 2025-01-01 is already "
                    "on line 2");
    targets_refused(f, "unit,tier,count,from,due\n",
                    "line 1: expected the header unit,tier,count,from,due,"
                    "source (no column \"source\")");
    targets_refused(f, TARGETS "42,xa-ntm,1,2025-01-01,\n",
                    "line 2: expected 6 fields, got 5");
}

/* A database of the previous release (schema version 1: units without
 * dates) opens migrated: each unit valid since ever, its level its kind,
 * in the programme; scopes still walk; targets are empty. */
extern const struct fld_embedded srv_schema_files[];

/* The first row of sql gives want as text. */
static void expect_text(sqlite3 *db, const char *sql, const char *want)
{
    sqlite3_stmt *s;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), want);
    sqlite3_finalize(s);
}

static void test_version_1_database_migrates(void **state)
{
    struct fx *f = *state;
    char *old = fld_xasprintf("%s/old.db", f->dir);
    const struct fld_embedded *e;
    struct srv_storage *st;
    struct fld_buf b = FLD_BUF_INIT;
    char *sql;
    sqlite3 *db;
    bool in;

    char *schema;

    for (e = srv_schema_files; e->name && strcmp(e->name, "server.sql"); e++)
        ;
    assert_non_null(e->name);
    schema = (char *)fld_embedded_inflate(e);
    sql = fld_xasprintf(
        "%s PRAGMA application_id = %d; PRAGMA user_version = 1; "
        "INSERT INTO units VALUES ('42', 'Hà Tĩnh', NULL, 'tinh'), "
        "('4201', 'Xã Một', '42', 'xa'), ('420101', 'Thôn', '4201', ''); "
        "INSERT INTO devices VALUES ('ab', 'An', 'inspector', 1, NULL); "
        "INSERT INTO device_scope VALUES ('ab', '4201');",
        schema, FLD_DB_APP_SERVER);
    free(schema);
    assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    free(sql);
    assert_int_equal(srv_storage_open(old, false, &st, NULL), FLD_OK);
    assert_int_equal(
        srv_storage_units_on(st, "1900-01-01", list_unit, &b, NULL), FLD_OK);
    assert_string_equal(fld_buf_str(&b), "42/- 4201/42 420101/4201");
    assert_int_equal(srv_storage_in_scope(st, "ab", "420101", &in, NULL),
                     FLD_OK);
    assert_true(in);
    fld_buf_reset(&b);
    assert_int_equal(srv_storage_each_target(st, list_target, &b, NULL),
                     FLD_OK);
    assert_int_equal(b.len, 0);
    srv_storage_close(st);
    assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
    expect_text(db,
                "SELECT kind || '|' || valid_from || '|' || "
                "coalesce(valid_to, '-') || '|' || in_programme FROM units "
                "WHERE code = '4201'",
                "xa|0000-01-01|-|1");
    /* every migration ran: units with dates (2), threshold revisions (3),
     * clocks ahead (4), attachments (5), two indexes fewer (6), parent
     * edges by row (7) */
    expect_text(db, "PRAGMA user_version", "7");
    expect_text(db, "SELECT count(ahead_ms) FROM versions", "0");
    expect_text(db, "SELECT count(*) FROM threshold_revisions", "0");
    expect_text(db,
                "SELECT count(*) FROM sqlite_schema WHERE name IN "
                "('versions_prev', 'parents_parent')",
                "0");
    sqlite3_close(db);
    fld_buf_free(&b);
    free(old);
}

static void test_push_quarantine_pull(void **state)
{
    struct fx *f = *state;
    struct fld_version *v1, *v2, *again;
    char admin[65], reason[SYN_REASON_MAX];
    struct srv_pull_query q;
    int n = 0;

    fld_key_public_hex(f->k, admin);
    v1 = sign(f, f->k, "0193aaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1, NULL, NULL,
              "4201");
    v2 = sign(f, f->k, "0193aaaaaaaaaaaaaaaaaaaaaaaaaaaa", 2, v1->hash,
              v1->hash, "4201");
    /* Child first: it waits in quarantine. */
    assert_int_equal(push1(f, admin, v2, reason), SYN_QUARANTINED);
    assert_string_equal(reason, "missing_parents");
    assert_int_equal(push1(f, admin, v1, reason), SYN_STORED);
    assert_int_equal(push1(f, admin, v1, reason), SYN_DUPLICATE);
    assert_int_equal(push1(f, admin, v2, reason), SYN_DUPLICATE); /* released */
    /* Pull: all (after 0), none when the pusher's own are skipped. */
    memset(&q, 0, sizeof q);
    q.device = admin;
    q.all_units = true;
    q.limit = 10;
    q.birth = 1000;
    assert_int_equal(srv_storage_pull(f->st, &q, count_pull, &n, NULL), FLD_OK);
    assert_int_equal(n, 2);
    n = 0;
    q.birth = 0;
    assert_int_equal(srv_storage_pull(f->st, &q, count_pull, &n, NULL), FLD_OK);
    assert_int_equal(n, 0);
    /* A fork: another version with dseq 2 is stored, and an alarm shows. */
    again = sign(f, f->k, "0193bbbbbbbbbbbbbbbbbbbbbbbbbbbb", 2, v1->hash, NULL,
                 "4202");
    assert_int_equal(push1(f, admin, again, reason), SYN_STORED);
    fld_version_free(v1);
    fld_version_free(v2);
    fld_version_free(again);
}

/* The reason the quarantine holds hash for, from the database itself. */
static void expect_quarantine_reason(struct fx *f, const char *hash,
                                     const char *want)
{
    sqlite3 *db;
    sqlite3_stmt *s;

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT reason FROM quarantine "
                                        "WHERE hash = ?1",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), want);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/*
 * A version naming a parent of another record is kept in quarantine as
 * evidence, never stored: its record could not be merged (every report
 * that reaches it would stop). Whether the parent is stored when it
 * arrives or arrives after it, and it is never released.
 */
static void test_parent_of_another_record(void **state)
{
    struct fx *f = *state;
    struct fld_version *a1, *b2, *d3, *c4;
    char admin[65], reason[SYN_REASON_MAX];
    int64_t stored;

    fld_key_public_hex(f->k, admin);
    a1 = sign(f, f->k, "0193aaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1, NULL, NULL,
              "4201");
    b2 = sign(f, f->k, "0193bbbbbbbbbbbbbbbbbbbbbbbbbbbb", 2, a1->hash,
              a1->hash, "4201");
    d3 = sign(f, f->k, "0193dddddddddddddddddddddddddddd", 3, b2->hash, NULL,
              "4201");
    c4 = sign(f, f->k, "0193cccccccccccccccccccccccccccc", 4, d3->hash,
              d3->hash, "4201");
    assert_int_equal(push1(f, admin, a1, reason), SYN_STORED);
    assert_int_equal(push1(f, admin, b2, reason), SYN_QUARANTINED);
    assert_string_equal(reason, "record_mismatch");
    expect_quarantine_reason(f, b2->hash, "record_mismatch");
    /* its parent pushed again releases nothing */
    assert_int_equal(push1(f, admin, a1, reason), SYN_DUPLICATE);
    assert_int_equal(push1(f, admin, b2, reason), SYN_QUARANTINED);
    assert_string_equal(reason, "quarantined");
    /* the child first: it waits, then stays once its parent is stored */
    assert_int_equal(push1(f, admin, c4, reason), SYN_QUARANTINED);
    assert_string_equal(reason, "missing_parents");
    assert_int_equal(push1(f, admin, d3, reason), SYN_STORED);
    expect_quarantine_reason(f, c4->hash, "record_mismatch");
    assert_int_equal(srv_storage_max_seq(f->st, &stored, NULL), FLD_OK);
    assert_int_equal(stored, 2); /* a1 and d3 */
    fld_version_free(a1);
    fld_version_free(b2);
    fld_version_free(d3);
    fld_version_free(c4);
}

struct ids {
    char v[4][33];
    size_t n;
};

static int keep_id(void *ctx, const char *record)
{
    struct ids *ids = ctx;

    assert_true(ids->n < 4);
    snprintf(ids->v[ids->n++], sizeof ids->v[0], "%s", record);
    return FLD_OK;
}

static void list(struct fx *f, const char *unit, const char *tpl, int64_t limit,
                 struct ids *ids)
{
    struct srv_record_query q = {&unit, unit ? 1 : 0, tpl, limit};

    memset(ids, 0, sizeof *ids);
    assert_int_equal(srv_storage_each_record(f->st, &q, keep_id, ids, NULL),
                     FLD_OK);
}

/* Records by unit (with the units below it), by template, in unit order,
 * up to a limit; and the export built on them for a supervisor. */
static void test_records_for_export(void **state)
{
    static const char *const ids_by_unit[3] = {
        "0193cccccccccccccccccccccccccccc", "0193bbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "0193aaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    static const char *const units[3] = {"4201", "420101", "4202"};
    struct fx *f = *state;
    struct fld_version *v[3];
    struct fld_key *sup = tu_key(11);
    struct srv_device *d;
    struct srv_export_query q;
    struct fld_buf out = FLD_BUF_INIT;
    char admin[65], key[65];
    struct ids ids;
    size_t i, n;

    fld_key_public_hex(f->k, admin);
    for (i = 0; i < 3; i++) {
        /* pushed in another order than the units' */
        v[i] = sign(f, f->k, ids_by_unit[2 - i], (int64_t)i + 1,
                    i ? v[i - 1]->hash : NULL, NULL, units[2 - i]);
        assert_int_equal(push1(f, admin, v[i], NULL), SYN_STORED);
    }
    list(f, NULL, NULL, 0, &ids);
    assert_int_equal(ids.n, 3);
    for (i = 0; i < 3; i++)
        assert_string_equal(ids.v[i], ids_by_unit[i]);
    list(f, "4201", NULL, 0, &ids);
    assert_int_equal(ids.n, 2); /* the commune and its village */
    assert_string_equal(ids.v[1], ids_by_unit[1]);
    list(f, NULL, "field-demo", 2, &ids);
    assert_int_equal(ids.n, 2);
    list(f, NULL, "other", 0, &ids);
    assert_int_equal(ids.n, 0);

    add_device(f->st, sup, "supervisor", "4201");
    fld_key_public_hex(sup, key);
    assert_int_equal(srv_storage_device_get(f->st, key, &d, NULL), FLD_OK);
    memset(&q, 0, sizeof q);
    q.format = FLD_EXPORT_GEOJSON;
    q.device = d;
    assert_int_equal(srv_export(f->st, &q, &out, &n, NULL), FLD_OK);
    assert_int_equal(n, 2); /* its scope's records, not 4202's */
    assert_string_equal(fld_buf_str(&out),
                        "{\"type\":\"FeatureCollection\",\"features\":[],"
                        "\"without_position\":2}\n");
    q.max_records = 1;
    assert_int_equal(srv_export(f->st, &q, &out, NULL, NULL), FLD_ELIMIT);
    q.max_records = 0;
    q.status = "done";
    assert_int_equal(srv_export(f->st, &q, &out, NULL, NULL), FLD_EUSAGE);
    q.status = "final";
    fld_buf_reset(&out);
    assert_int_equal(srv_export(f->st, &q, &out, &n, NULL), FLD_OK);
    assert_int_equal(n, 0); /* all are drafts */
    q.status = NULL;
    q.unit = "9999";
    assert_int_equal(srv_export(f->st, &q, &out, NULL, NULL), FLD_NOTFOUND);
    srv_device_free(d);
    fld_buf_free(&out);
    fld_key_free(sup);
    for (i = 0; i < 3; i++)
        fld_version_free(v[i]);
}

static int count_alarm(void *ctx, const struct srv_chain_alarm *a)
{
    (void)a;
    (*(int *)ctx)++;
    return FLD_OK;
}

static void test_forks_gaps_and_refusals(void **state)
{
    struct fx *f = *state;
    struct fld_key *k2 = tu_key(9), *stranger = tu_key(11);
    struct fld_version *v1, *fork, *gap, *out, *unknown;
    char admin[65], insp[65], reason[SYN_REASON_MAX];
    int n = 0;

    fld_key_public_hex(f->k, admin);
    add_device(f->st, k2, "inspector", "4201");
    fld_key_public_hex(k2, insp);
    v1 = sign(f, k2, "0193cccccccccccccccccccccccccccc", 1, NULL, NULL, "4201");
    fork =
        sign(f, k2, "0193dddddddddddddddddddddddddddd", 1, NULL, NULL, "4201");
    gap =
        sign(f, k2, "0193eeeeeeeeeeeeeeeeeeeeeeeeeeee", 5,
             "1111111111111111111111111111111111111111111111111111111111111111",
             NULL, "420101");
    out = sign(f, k2, "0193ffffffffffffffffffffffffffff", 6, gap->hash, NULL,
               "4202");
    unknown = sign(f, stranger, "0193ffffffffffffffffffffffffff00", 1, NULL,
                   NULL, "4201");
    assert_int_equal(push1(f, insp, v1, reason), SYN_STORED);
    assert_int_equal(push1(f, insp, fork, reason), SYN_STORED);
    assert_int_equal(push1(f, insp, gap, reason), SYN_STORED);
    assert_int_equal(push1(f, insp, out, reason), SYN_REFUSED);
    assert_string_equal(reason, "out_of_scope");
    /* Relayed by an admin, it is still outside its signer's scope. */
    assert_int_equal(push1(f, admin, out, reason), SYN_REFUSED);
    assert_string_equal(reason, "out_of_scope");
    assert_int_equal(push1(f, insp, unknown, reason), SYN_REFUSED);
    assert_string_equal(reason, "unknown_author");
    assert_int_equal(srv_storage_each_alarm(f->st, count_alarm, &n, NULL),
                     FLD_OK);
    assert_int_equal(n, 2); /* the fork at dseq 1, the gap before dseq 5 */
    assert_int_equal(srv_storage_device_revoke(f->st, insp, 9, NULL), FLD_OK);
    fld_version_free(v1);
    v1 = sign(f, k2, "0193cccccccccccccccccccccccccccc", 7, out->hash, NULL,
              "4201");
    assert_int_equal(push1(f, admin, v1, reason), SYN_QUARANTINED);
    assert_string_equal(reason, "revoked_author");
    fld_version_free(v1);
    fld_version_free(fork);
    fld_version_free(gap);
    fld_version_free(out);
    fld_version_free(unknown);
    fld_key_free(k2);
    fld_key_free(stranger);
}

static int count_audit(void *ctx, const struct srv_audit_row *a)
{
    (void)a;
    (*(int *)ctx)++;
    return FLD_OK;
}

/* Forks audited at push time so far, and alarms listed now. */
static void expect_chain(struct fx *f, int forks, int alarms)
{
    int n = 0;

    assert_int_equal(
        srv_storage_each_audit(f->st, "fork", count_audit, &n, NULL), FLD_OK);
    assert_int_equal(n, forks);
    n = 0;
    assert_int_equal(srv_storage_each_alarm(f->st, count_alarm, &n, NULL),
                     FLD_OK);
    assert_int_equal(n, alarms);
}

/*
 * The chain is checked on (author, dseq) and the hash alone
 * (schema/server-006.sql): an honest chain raises nothing; a version at
 * dseq 4 under one at dseq 5 that names another prev forks; so does one
 * at dseq 6 naming the version at dseq 1 as its prev. Each is audited
 * when it arrives, whatever came first, and listed by the alarms.
 */
static void test_chain_on_author_and_dseq(void **state)
{
    struct fx *f = *state;
    struct fld_key *k = tu_key(12);
    struct fld_version *v[6];
    char insp[65], reason[SYN_REASON_MAX];
    const char *missing =
        "4444444444444444444444444444444444444444444444444444444444444444";
    size_t i;

    add_device(f->st, k, "inspector", "4201");
    fld_key_public_hex(k, insp);
    v[0] =
        sign(f, k, "0193a0000000000000000000000000a1", 1, NULL, NULL, "4201");
    v[1] = sign(f, k, "0193a0000000000000000000000000a2", 2, v[0]->hash, NULL,
                "4201");
    v[2] = sign(f, k, "0193a0000000000000000000000000a3", 3, v[1]->hash, NULL,
                "4201");
    for (i = 0; i < 3; i++)
        assert_int_equal(push1(f, insp, v[i], reason), SYN_STORED);
    expect_chain(f, 0, 0);
    /* at dseq 5, a prev never received: a gap, not yet a fork */
    v[3] = sign(f, k, "0193a0000000000000000000000000a5", 5, missing, NULL,
                "4201");
    assert_int_equal(push1(f, insp, v[3], reason), SYN_STORED);
    expect_chain(f, 0, 1);
    /* dseq 4 arrives, and is not the prev that dseq 5 names */
    v[4] = sign(f, k, "0193a0000000000000000000000000a4", 4, v[2]->hash, NULL,
                "4201");
    assert_int_equal(push1(f, insp, v[4], reason), SYN_STORED);
    expect_chain(f, 1, 2);
    /* dseq 6 names dseq 1 as its prev */
    v[5] = sign(f, k, "0193a0000000000000000000000000a6", 6, v[0]->hash, NULL,
                "4201");
    assert_int_equal(push1(f, insp, v[5], reason), SYN_STORED);
    /* listed: the gap before 5, 5 against 4, 6 against 5, 6 against 1 */
    expect_chain(f, 2, 4);
    for (i = 0; i < 6; i++)
        fld_version_free(v[i]);
    fld_key_free(k);
}

static void test_cursor_and_replay(void **state)
{
    struct srv_cursor c, back;
    struct srv_replay *r = srv_replay_new(4);
    char text[128];
    uint8_t sig[64];
    int i;

    (void)state;
    memset(&c, 0, sizeof c);
    strcpy(c.epoch, "0123456789abcdef");
    strcpy(c.scope, "fedcba9876543210");
    c.pos = 42;
    c.birth = 7;
    srv_cursor_encode(&c, text, sizeof text);
    assert_int_equal(srv_cursor_decode(text, &back), FLD_OK);
    assert_memory_equal(&c, &back, sizeof c);
    assert_int_equal(
        srv_cursor_decode("1.0123456789abcdef.fedcba9876543210.0.0", &back),
        FLD_OK);
    assert_int_equal(
        srv_cursor_decode("2.0123456789abcdef.fedcba9876543210.0.0", &back),
        FLD_EINVAL);
    assert_int_equal(
        srv_cursor_decode("1.0123456789abcdef.fedcba9876543210.x.0", &back),
        FLD_EINVAL);
    assert_int_equal(
        srv_cursor_decode("1.0123456789abcdef.fedcba9876543210.1", &back),
        FLD_EINVAL);
    memset(sig, 3, sizeof sig);
    assert_int_equal(srv_replay_check(r, sig, 100, 10), FLD_OK);
    assert_int_equal(srv_replay_check(r, sig, 100, 50), FLD_EXISTS);
    assert_int_equal(srv_replay_check(r, sig, 300, 150), FLD_OK); /* expired */
    for (i = 0; i < 3; i++) {
        sig[0] = (uint8_t)(10 + i);
        assert_int_equal(srv_replay_check(r, sig, 1000, 200), FLD_OK);
    }
    sig[0] = 99;
    assert_int_equal(srv_replay_check(r, sig, 1000, 200),
                     FLD_ELIMIT); /* full */
    srv_replay_free(r);
}

static void test_api_without_http(void **state)
{
    struct fx *f = *state;
    struct srv_request req;
    struct srv_response resp;
    struct syn_auth a;
    char sig[129], t[32];
    const char *body = "{\"limit\":5}";

    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    req.method = "GET";
    req.path = "/v1/health";
    req.body = (const uint8_t *)"";
    srv_api_handle(f->s, &req, &resp);
    assert_int_equal(resp.status, 200);
    srv_response_free(&resp);

    req.method = "POST";
    req.path = "/v1/sync";
    req.content_type = "application/json; charset=utf-8";
    req.body = (const uint8_t *)body;
    req.body_len = strlen(body);
    srv_api_handle(f->s, &req, &resp);
    assert_int_equal(resp.status, 401);
    assert_string_equal(resp.error, "unsigned");
    srv_response_free(&resp);

    syn_request_sign(f->k, "POST", "/v1/sync", fld_now_ms(), req.body,
                     req.body_len, &a);
    syn_auth_sig_hex(&a, sig);
    snprintf(t, sizeof t, "%lld", (long long)a.time_ms);
    req.device = a.device;
    req.time = t;
    req.signature = sig;
    srv_api_handle(f->s, &req, &resp);
    assert_int_equal(resp.status, 200);
    assert_non_null(
        strstr(fld_buf_str(&resp.body), "\"cursor\":\"1.0123456789abcdef."));
    srv_response_free(&resp);
    srv_api_handle(f->s, &req, &resp); /* the same signature again */
    assert_int_equal(resp.status, 401);
    assert_string_equal(resp.error, "replayed");
    srv_response_free(&resp);
}

/*
 * One push of 64 versions, verified on several threads: records of four
 * versions by an inspector of commune 4201. Version 17 carries a forged
 * signature: it alone is refused, naming it, and the two after it in its
 * record wait in quarantine for it; the record at 40 is in another
 * commune and refused; two versions break a checklist rule and are
 * stored with a flag; everything else is stored, in one transaction.
 */
static void test_push_batch_in_parallel(void **state)
{
    enum { N = 64 };
    struct fx *f = *state;
    struct fld_key *insp = tu_key(9);
    struct fld_json *bad = fld_json_object();
    struct fld_version *v[N];
    struct syn_item items[N];
    struct syn_result res[N];
    struct srv_device *d;
    struct srv_counts c;
    char pub[65], record[FLD_RECORD_HEX_LEN + 1], named[17];
    size_t i, stored = 0;

    fld_key_public_hex(insp, pub);
    assert_int_equal(srv_storage_begin(f->st, NULL), FLD_OK);
    add_device(f->st, insp, "inspector", "4201");
    assert_int_equal(srv_storage_commit(f->st, NULL), FLD_OK);
    fld_json_set(bad, "households_total", fld_json_int(0)); /* . > 0 */
    for (i = 0; i < N; i++) {
        bool first = i % 4 == 0;

        if (first)
            fld_record_id_new(record);
        v[i] = sign_answers(
            f, insp, record, (int64_t)i + 1, i ? v[i - 1]->hash : NULL,
            first ? NULL : v[i - 1]->hash, i >= 40 && i < 44 ? "4202" : "4201",
            i == 5 || i == 50 ? bad : NULL);
        syn_item_set(&items[i], v[i]->body, v[i]->body_len, v[i]->sig);
    }
    items[17].sig[3] ^= 0x40;
    memset(res, 0, sizeof res);
    assert_int_equal(srv_storage_device_get(f->st, pub, &d, NULL), FLD_OK);
    assert_int_equal(srv_push(f->s, f->st, d, items, N, res, NULL), FLD_OK);
    for (i = 0; i < N; i++) {
        assert_string_equal(res[i].hash, v[i]->hash);
        if (i == 17) {
            assert_int_equal(res[i].status, SYN_REFUSED);
            assert_string_equal(res[i].reason, "bad_signature");
            snprintf(named, sizeof named, "%.16s", v[i]->hash);
            assert_non_null(strstr(res[i].message, named));
        } else if (i == 18 || i == 19) {
            assert_int_equal(res[i].status, SYN_QUARANTINED);
            assert_string_equal(res[i].reason, "missing_parents");
        } else if (i >= 40 && i < 44) {
            assert_int_equal(res[i].status, SYN_REFUSED);
            assert_string_equal(res[i].reason, "out_of_scope");
        } else {
            assert_int_equal(res[i].status, SYN_STORED);
            stored++;
        }
    }
    assert_int_equal(srv_storage_counts(f->st, &c, NULL), FLD_OK);
    assert_int_equal(c.versions, (int64_t)stored);
    assert_int_equal(c.quarantined, 2);
    assert_int_equal(c.flagged, 2);
    for (i = 0; i < N; i++) {
        free(res[i].message);
        free(items[i].body);
        fld_version_free(v[i]);
    }
    srv_device_free(d);
    fld_json_free(bad);
    fld_key_free(insp);
}

/* A megabyte-sized meta value, to fill the log. */
static char *filler(size_t mb)
{
    char *s = fld_xmalloc((mb << 20) + 1);

    memset(s, 'x', mb << 20);
    s[mb << 20] = '\0';
    return s;
}

static off_t file_size(const char *path)
{
    struct stat sb;

    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

static void count_want(void *ctx)
{
    (*(int *)ctx)++;
}

/*
 * A handle that leaves folding the log elsewhere: a commit that leaves
 * more than SQLite's usual checkpoint size in the log calls want() and
 * leaves the database file as it was; a passive checkpoint folds it.
 */
static void test_log_folded_elsewhere(void **state)
{
    struct fx *f = *state;
    struct srv_storage *st;
    char *six = filler(6);
    int wanted = 0;

    assert_int_equal(srv_storage_open(f->path, false, &st, NULL), FLD_OK);
    srv_storage_checkpoint_elsewhere(st, count_want, &wanted);
    assert_true(file_size(f->path) < (6 << 20));
    assert_int_equal(srv_storage_begin(st, NULL), FLD_OK);
    assert_int_equal(srv_storage_meta_set(st, "filler", six, NULL), FLD_OK);
    assert_int_equal(srv_storage_commit(st, NULL), FLD_OK);
    assert_int_equal(wanted, 1);
    assert_true(file_size(f->path) < (6 << 20));
    assert_int_equal(srv_storage_checkpoint_passive(st, NULL), FLD_OK);
    assert_true(file_size(f->path) >= (6 << 20));
    srv_storage_close(st);
    free(six);
}

/* The server's handles are folded by the checkpointer's thread, soon
 * after the commit that asked. */
static void test_log_folded_in_background(void **state)
{
    struct fx *f = *state;
    char *six = filler(6);
    int waited_ms = 0;

    assert_int_equal(srv_storage_begin(f->st, NULL), FLD_OK);
    assert_int_equal(srv_storage_meta_set(f->st, "filler", six, NULL), FLD_OK);
    assert_int_equal(srv_storage_commit(f->st, NULL), FLD_OK);
    while (file_size(f->path) < (6 << 20) && waited_ms < 10000) {
        usleep(10000);
        waited_ms += 10;
    }
    assert_true(file_size(f->path) >= (6 << 20));
    free(six);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_and_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_foreign_files_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_previous_release_database_is_stamped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codes_and_devices, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scope_walks_the_unit_tree, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_parent_of_another_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_push_quarantine_pull, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_push_batch_in_parallel, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_folded_elsewhere, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_folded_in_background, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_records_for_export, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forks_gaps_and_refusals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_units_on_a_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scope_follows_mergers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_targets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_1_database_migrates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_chain_on_author_and_dseq, setup,
                                        teardown),
        cmocka_unit_test(test_cursor_and_replay),
        cmocka_unit_test_setup_teardown(test_api_without_http, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
