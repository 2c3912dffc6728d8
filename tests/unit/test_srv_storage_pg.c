/*
 * test_srv_storage_pg.c - the server's storage on its PostgreSQL back end
 * (server-stub/storage_pg.c), against a real PostgreSQL named by
 * FIELD_TEST_PG_URL; every test is skipped when it is not set.
 * tests/integration/test_server_pg.sh runs this program with the URL of
 * the throwaway PostgreSQL it starts (pg_lib.sh).
 *
 * The back end must answer op for op as the SQLite one: one script of
 * operations (pushes through push.c, pulls, scopes, quarantine, codes,
 * devices, units, targets, the audit log, alarms and counts) runs on a
 * fresh SQLite file and on a fresh PostgreSQL database, each writing what
 * it saw into a transcript, and the two transcripts must be equal. Then
 * what only PostgreSQL has to get right: a second writer waits for the
 * first to commit (the writer lock that keeps seq order equal to commit
 * order), an expected conflict does not abort the transaction, and a
 * rolled-back transaction leaves nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#ifndef SRV_WITH_PG
/* Built without the back end (make PG=): nothing to test. */
int main(void)
{
    puts("test_srv_storage_pg: built without PostgreSQL (PG=), skipped");
    return 0;
}
#else
#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "push.h"
#include "server.h"
#include "storage.h"
#include "srvtest.h"
#include "testutil.h"

/* One server: its location, the server and a handle of it. */
struct side {
    char *location;
    struct srv_config cfg;
    struct srv *s;
    struct srv_storage *st;
};

struct fx {
    char *dir, *cwd;
    struct side sq, pg;
    struct fld_key *admin, *inspector;
    char admin_hex[FLD_HASH_HEX_LEN + 1], inspector_hex[FLD_HASH_HEX_LEN + 1];
    char tpl[FLD_HASH_HEX_LEN + 1];
};

/* Empty the PostgreSQL database: every test starts from nothing. */
static void reset_pg(const char *url)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r;

    assert_int_equal(PQstatus(c), CONNECTION_OK);
    r = PQexec(c, "SET client_min_messages = warning; "
                  "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
}

static void add_device(struct srv_storage *st, const char *pubkey,
                       const char *role, const char *unit)
{
    struct srv_device d;
    char *scope[1] = {(char *)unit};

    memset(&d, 0, sizeof d);
    snprintf(d.pubkey, sizeof d.pubkey, "%s", pubkey);
    d.inspector = (char *)"Test";
    d.role = (char *)role;
    d.scope = unit ? scope : NULL;
    d.n_scope = unit ? 1 : 0;
    d.enrolled_ms = 1;
    assert_int_equal(srv_storage_device_add(st, &d, NULL), FLD_OK);
}

static void open_side(struct fx *f, struct side *sd, const char *location)
{
    struct fld_template *t = tu_demo_template();
    struct srv_unit units[] = {
        {"42", "Hà Tĩnh", "tinh", NULL, "0000-01-01", NULL, true, NULL},
        {"4201", "Một", "xa", "42", "0000-01-01", NULL, true, NULL},
        {"420101", "Thôn", "thon", "4201", "0000-01-01", NULL, true, NULL},
        {"4202", "Hai", "xa", "42", "0000-01-01", "2025-06-30", true, NULL},
        {"4203", "Ba", "xa", "42", "2025-07-01", NULL, false, NULL},
        {"420201", "Đông", "thon", "4202", "0000-01-01", NULL, true, "4201"}};
    struct srv_storage *st;

    sd->location = fld_xstrdup(location);
    st = tu_server_db(location, t, units, sizeof units / sizeof units[0],
                      f->tpl);
    add_device(st, f->admin_hex, "admin", NULL);
    add_device(st, f->inspector_hex, "inspector", "4201");
    assert_int_equal(srv_storage_commit(st, NULL), FLD_OK);
    srv_storage_close(st);
    fld_template_free(t);
    srv_config_defaults(&sd->cfg);
    free(sd->cfg.db);
    sd->cfg.db = fld_xstrdup(location);
    assert_int_equal(srv_open(&sd->cfg, &sd->s, NULL), FLD_OK);
    assert_int_equal(srv_acquire(sd->s, &sd->st, NULL), FLD_OK);
}

static void close_side(struct side *sd)
{
    if (sd->s == NULL)
        return;
    srv_release(sd->s, sd->st);
    srv_close(sd->s);
    srv_config_free(&sd->cfg);
    free(sd->location);
}

static int setup(void **state)
{
    const char *url = getenv("FIELD_TEST_PG_URL");
    struct fx *f;
    char *path;

    if (url == NULL || *url == '\0')
        return 0; /* each test skips */
    if (sodium_init() < 0)
        return -1;
    f = fld_xcalloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    /* A PostgreSQL server keeps its attachments in its working
     * directory: this test's own. */
    f->cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(f->dir), 0);
    f->admin = tu_key(7);
    f->inspector = tu_key(9);
    fld_key_public_hex(f->admin, f->admin_hex);
    fld_key_public_hex(f->inspector, f->inspector_hex);
    path = fld_xasprintf("%s/server.db", f->dir);
    open_side(f, &f->sq, path);
    free(path);
    reset_pg(url);
    open_side(f, &f->pg, url);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    if (f == NULL)
        return 0;
    close_side(&f->sq);
    close_side(&f->pg);
    fld_key_free(f->admin);
    fld_key_free(f->inspector);
    assert_int_equal(chdir(f->cwd), 0);
    free(f->cwd);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

#define NEED_PG(state)                                                         \
    do {                                                                       \
        if (*(state) == NULL)                                                  \
            skip();                                                            \
    } while (0)

/* ---- the transcript --------------------------------------------------------
 */

static struct fld_version *sign(const struct fx *f, const struct fld_key *k,
                                const char *record, int64_t dseq,
                                const char *prev, const char *parent,
                                const char *subject)
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
    d.answers = none;
    assert_int_equal(fld_version_sign(&d, k, &v, NULL), FLD_OK);
    fld_json_free(none);
    return v;
}

/* The record of a stored version, or the code without one. */
static void put_version_record(struct srv_storage *st, struct fld_buf *out,
                               const char *hash)
{
    char *record = NULL;
    int rc = srv_storage_version_record(st, hash, &record, NULL);

    fld_buf_printf(out, "record of %.8s: %d %s\n", hash, rc,
                   record ? record : "-");
    free(record);
}

static void push(struct side *sd, struct fld_buf *out, const char *pusher,
                 const struct fld_version *v)
{
    struct srv_device *d;
    struct syn_item it;
    struct syn_result r;

    memset(&r, 0, sizeof r);
    syn_item_set(&it, v->body, v->body_len, v->sig);
    assert_int_equal(srv_storage_device_get(sd->st, pusher, &d, NULL), FLD_OK);
    assert_int_equal(srv_push(sd->s, sd->st, d, &it, 1, &r, NULL), FLD_OK);
    fld_buf_printf(out, "push %.8s: %d %s\n", v->hash, (int)r.status, r.reason);
    free(r.message);
    free(it.body);
    srv_device_free(d);
}

static int put_pull(void *ctx, int64_t seq, const uint8_t *body, size_t len,
                    const uint8_t *sig)
{
    struct fld_buf *out = ctx;

    fld_buf_printf(out, "  seq %lld, %zu bytes, sig ", (long long)seq, len);
    fld_buf_hex(out, sig, 4);
    fld_buf_printf(out, ", body %.40s\n", (const char *)body);
    return FLD_OK;
}

static int put_unit(void *ctx, const struct srv_unit *u)
{
    fld_buf_printf(ctx, "  unit %s %s %s %s %s..%s %d %s\n", u->code, u->name,
                   u->kind, u->parent ? u->parent : "-", u->valid_from,
                   u->valid_to ? u->valid_to : "", (int)u->in_programme,
                   u->merged_into ? u->merged_into : "-");
    return FLD_OK;
}

static int put_target(void *ctx, const struct srv_target *g)
{
    fld_buf_printf(ctx, "  target %s %s %lld %s %s %s %lld\n", g->unit, g->tier,
                   (long long)g->count, g->from, g->due ? g->due : "-",
                   g->source ? g->source : "-", (long long)g->loaded_ms);
    return FLD_OK;
}

static int put_device(void *ctx, const struct srv_device *d)
{
    size_t i;

    fld_buf_printf(ctx, "  device %.8s %s %s %lld %lld", d->pubkey,
                   d->inspector, d->role, (long long)d->enrolled_ms,
                   (long long)d->revoked_ms);
    for (i = 0; i < d->n_scope; i++)
        fld_buf_printf(ctx, " %s", d->scope[i]);
    fld_buf_putc(ctx, '\n');
    return FLD_OK;
}

static int put_template(void *ctx, const struct srv_template_row *t)
{
    fld_buf_printf(ctx, "  template %.8s %s %s %lld\n", t->hash, t->id,
                   t->version, (long long)t->added_ms);
    return FLD_OK;
}

static int put_audit(void *ctx, const struct srv_audit_row *a)
{
    /* Not the id nor the time: the two servers ran at other moments. */
    fld_buf_printf(ctx, "  audit %s %.8s %.8s %s\n", a->kind,
                   a->device ? a->device : "-", a->subject ? a->subject : "-",
                   a->detail);
    return FLD_OK;
}

static int put_alarm(void *ctx, const struct srv_chain_alarm *a)
{
    fld_buf_printf(ctx, "  alarm %s %.8s %lld %.8s %.8s\n", a->kind, a->author,
                   (long long)a->dseq, a->hash, a->other);
    return FLD_OK;
}

static int put_quarantined(void *ctx, const struct srv_quarantined *q)
{
    fld_buf_printf(ctx, "  quarantined %.8s %.8s %s %zu\n", q->hash, q->pusher,
                   q->reason, q->body_len);
    return FLD_OK;
}

static int put_record(void *ctx, const char *record)
{
    fld_buf_printf(ctx, "  record %s\n", record);
    return FLD_OK;
}

static int put_report(void *ctx, const struct srv_report_version *v)
{
    fld_buf_printf(ctx, "  report %s %.8s %s %s [%.8s]\n", v->record, v->hash,
                   v->subject, v->status, v->parents);
    return FLD_OK;
}

/* The same operations on one server; what each answered goes to out. */
static void script(struct fx *f, struct side *sd, struct fld_buf *out)
{
    const char *r1 = "0193aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const char *r2 = "0193bbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    struct fld_version *v1, *v2, *v3, *fork, *far, *skip;
    struct srv_storage *st = sd->st;
    struct srv_enroll_code c = {
        "", (char *)"Chi", (char *)"inspector", (char *)"4201 4202", 10, 1000};
    struct srv_enroll_code *used = NULL;
    struct srv_target g1 = {"42", "xa-ntm", 3, "2025-01-01", NULL, "QĐ 1", 5};
    struct srv_target g2 = {"4201",       "xa-ntm", 1, "2025-01-01",
                            "2026-12-31", NULL,     6};
    struct srv_pull_query q;
    struct srv_counts n;
    enum srv_version_state vs;
    char found[FLD_HASH_HEX_LEN + 1], fork_with[FLD_HASH_HEX_LEN + 1];
    const char *under42 = "42";
    struct srv_record_query rq = {&under42, 1, NULL, 0};
    char *value = NULL;
    bool b = false;
    int64_t seq = -1;
    int i;

    /* settings, codes, devices */
    fld_buf_printf(out, "meta missing: %d\n",
                   srv_storage_meta_get(st, "nothing", &value, NULL));
    memset(c.code_hash, 'c', FLD_HASH_HEX_LEN);
    assert_int_equal(srv_storage_begin(st, NULL), FLD_OK);
    fld_buf_printf(out, "code add: %d\n", srv_storage_code_add(st, &c, NULL));
    fld_buf_printf(out, "code add again: %d\n",
                   srv_storage_code_add(st, &c, NULL));
    fld_buf_printf(
        out, "code use: %d\n",
        srv_storage_code_use(st, c.code_hash, 20, "dd", &used, NULL));
    fld_buf_printf(out, "  %s %s %s %lld %lld\n", used->inspector, used->role,
                   used->scope, (long long)used->created_ms,
                   (long long)used->expires_ms);
    srv_enroll_code_free(used);
    fld_buf_printf(
        out, "code use again: %d\n",
        srv_storage_code_use(st, c.code_hash, 21, "dd", &used, NULL));
    fld_buf_printf(out, "device revoke: %d\n",
                   srv_storage_device_revoke(st, f->inspector_hex, 50, NULL));
    fld_buf_printf(out, "device revoke again: %d\n",
                   srv_storage_device_revoke(st, f->inspector_hex, 60, NULL));
    assert_int_equal(srv_storage_commit(st, NULL), FLD_OK);
    fld_buf_printf(out, "find %.4s: %d ", f->admin_hex,
                   srv_storage_device_find(st, f->admin_hex, found, NULL));
    fld_buf_printf(out, "%.8s\n", found);
    fld_buf_printf(out, "find '': %d\n",
                   srv_storage_device_find(st, "", found, NULL));
    fld_buf_printf(out, "find 'z': %d\n",
                   srv_storage_device_find(st, "z", found, NULL));
    fld_buf_printf(out, "devices: %d\n",
                   srv_storage_each_device(st, put_device, out, NULL));
    fld_buf_printf(out, "templates: %d\n",
                   srv_storage_each_template(st, put_template, out, NULL));

    /* units, scope, targets */
    fld_buf_printf(out, "units: %d\n",
                   srv_storage_each_unit(st, put_unit, out, NULL));
    fld_buf_printf(out, "units on 2025-07-01: %d\n",
                   srv_storage_units_on(st, "2025-07-01", put_unit, out, NULL));
    fld_buf_printf(out, "units on 2025-06-30: %d\n",
                   srv_storage_units_on(st, "2025-06-30", put_unit, out, NULL));
    for (i = 0; i < 5; i++) {
        static const char *const s[] = {"4201", "420101", "420201", "4202",
                                        "nowhere"};

        srv_storage_in_scope(st, f->inspector_hex, s[i], &b, NULL);
        fld_buf_printf(out, "in scope %s: %d\n", s[i], (int)b);
    }
    srv_storage_unit_exists(st, "4203", &b, NULL);
    fld_buf_printf(out, "4203 exists: %d\n", (int)b);
    assert_int_equal(srv_storage_begin(st, NULL), FLD_OK);
    fld_buf_printf(out, "target: %d\n", srv_storage_target_put(st, &g1, NULL));
    fld_buf_printf(out, "target: %d\n", srv_storage_target_put(st, &g2, NULL));
    g1.count = 4;
    fld_buf_printf(out, "target replaced: %d\n",
                   srv_storage_target_put(st, &g1, NULL));
    fld_buf_printf(out, "unit drop: %d\n",
                   srv_storage_unit_drop(st, "4203", "2025-07-01", NULL));
    assert_int_equal(srv_storage_commit(st, NULL), FLD_OK);
    fld_buf_printf(out, "targets: %d\n",
                   srv_storage_each_target(st, put_target, out, NULL));
    srv_storage_unit_exists(st, "4203", &b, NULL);
    fld_buf_printf(out, "4203 exists: %d\n", (int)b);

    /* versions through push.c: a child before its parent, a duplicate, a
     * fork, a gap, a prev that is not the author's version at dseq - 1, a
     * revoked pusher */
    v1 = sign(f, f->admin, r1, 1, NULL, NULL, "4201");
    v2 = sign(f, f->admin, r1, 2, v1->hash, v1->hash, "420101");
    v3 = sign(f, f->admin, r2, 3, v2->hash, NULL, "420201");
    fork = sign(f, f->admin, r2, 2, v1->hash, NULL, "4202");
    far = sign(f, f->admin, r2, 9,
               "77777777777777777777777777777777"
               "77777777777777777777777777777777",
               NULL, "4202");
    skip = sign(f, f->admin, r2, 4, v1->hash, NULL, "4202");
    push(sd, out, f->admin_hex, v2);
    fld_buf_printf(
        out, "quarantine: %d\n",
        srv_storage_quarantine_each(st, NULL, put_quarantined, out, NULL));
    srv_storage_version_state(st, v2->hash, &vs, NULL);
    fld_buf_printf(out, "state of v2: %d\n", (int)vs);
    push(sd, out, f->admin_hex, v1);
    push(sd, out, f->admin_hex, v1);
    push(sd, out, f->admin_hex, v3);
    push(sd, out, f->admin_hex, fork);
    push(sd, out, f->admin_hex, far);
    push(sd, out, f->admin_hex, skip);
    push(sd, out, f->inspector_hex, v1);
    srv_storage_version_state(st, v2->hash, &vs, NULL);
    fld_buf_printf(out, "state of v2: %d\n", (int)vs);
    put_version_record(st, out, v2->hash);
    put_version_record(st, out, far->prev);
    srv_storage_chain_check(st, fork, fork_with, &b, NULL);
    fld_buf_printf(out, "chain of fork: %.8s %d\n", fork_with, (int)b);
    srv_storage_chain_check(st, far, fork_with, &b, NULL);
    fld_buf_printf(out, "chain of far: %.8s %d\n", fork_with, (int)b);
    srv_storage_chain_check(st, skip, fork_with, &b, NULL);
    fld_buf_printf(out, "chain of skip: %.8s %d\n", fork_with, (int)b);
    srv_storage_max_seq(st, &seq, NULL);
    fld_buf_printf(out, "max seq: %lld\n", (long long)seq);

    /* pulls: everything by pages, the inspector's scope, own pushes */
    memset(&q, 0, sizeof q);
    q.device = f->admin_hex;
    q.all_units = true;
    q.limit = 2;
    q.birth = 1000;
    for (q.after = 0; q.after < 8; q.after += 2)
        fld_buf_printf(out, "pull after %lld: %d\n", (long long)q.after,
                       srv_storage_pull(st, &q, put_pull, out, NULL));
    q.birth = 2;
    q.after = 0;
    q.limit = 100;
    fld_buf_printf(out, "pull, own after 2 skipped: %d\n",
                   srv_storage_pull(st, &q, put_pull, out, NULL));
    q.device = f->inspector_hex;
    q.all_units = false;
    fld_buf_printf(out, "pull in scope 4201: %d\n",
                   srv_storage_pull(st, &q, put_pull, out, NULL));
    fld_buf_printf(out, "record versions: %d\n",
                   srv_storage_record_versions(st, r1, put_pull, out, NULL));
    fld_buf_printf(
        out, "report: %d\n",
        srv_storage_each_version_until(st, INT64_MAX, put_report, out, NULL));
    fld_buf_printf(out, "records under 42: %d\n",
                   srv_storage_each_record(st, &rq, put_record, out, NULL));
    rq.n_units = 0;
    rq.limit = 1;
    fld_buf_printf(out, "one record: %d\n",
                   srv_storage_each_record(st, &rq, put_record, out, NULL));
    fld_buf_printf(out, "alarms: %d\n",
                   srv_storage_each_alarm(st, put_alarm, out, NULL));
    fld_buf_printf(out, "audit: %d\n",
                   srv_storage_each_audit(st, NULL, put_audit, out, NULL));
    fld_buf_printf(out, "audit of refusals: %d\n",
                   srv_storage_each_audit(st, "refused", put_audit, out, NULL));
    assert_int_equal(srv_storage_counts(st, &n, NULL), FLD_OK);
    fld_buf_printf(out, "counts: %lld %lld %lld %lld %lld %lld %lld\n",
                   (long long)n.versions, (long long)n.quarantined,
                   (long long)n.devices, (long long)n.revoked,
                   (long long)n.templates, (long long)n.units,
                   (long long)n.flagged);
    srv_storage_thresholds_max_seq(st, &seq, NULL);
    fld_buf_printf(out, "thresholds: %lld\n", (long long)seq);

    /* a version stored twice, directly: FLD_EXISTS, and the transaction
     * goes on */
    assert_int_equal(srv_storage_begin(st, NULL), FLD_OK);
    {
        struct srv_version_in in = {v1, f->admin_hex, 5, NULL, 0};

        fld_buf_printf(out, "put again: %d\n",
                       srv_storage_version_put(st, &in, &seq, NULL));
    }
    fld_buf_printf(out, "then a setting: %d\n",
                   srv_storage_meta_set(st, "k", "v", NULL));
    fld_buf_printf(out, "commit: %d\n", srv_storage_commit(st, NULL));
    fld_buf_printf(out, "setting: %d ",
                   srv_storage_meta_get(st, "k", &value, NULL));
    fld_buf_printf(out, "%s\n", value ? value : "-");
    free(value);
    fld_version_free(v1);
    fld_version_free(v2);
    fld_version_free(v3);
    fld_version_free(fork);
    fld_version_free(far);
    fld_version_free(skip);
}

static void test_same_answers_as_sqlite(void **state)
{
    struct fx *f = *state;
    struct fld_buf a = FLD_BUF_INIT, b = FLD_BUF_INIT;

    NEED_PG(state);
    script(f, &f->sq, &a);
    script(f, &f->pg, &b);
    /* Both in full when they differ (print_message cuts long text). */
    if (strcmp(fld_buf_str(&a), fld_buf_str(&b)) != 0)
        fprintf(stderr, "SQLite:\n%s\nPostgreSQL:\n%s\n", fld_buf_str(&a),
                fld_buf_str(&b));
    assert_string_equal(fld_buf_str(&b), fld_buf_str(&a));
    fld_buf_free(&a);
    fld_buf_free(&b);
}

/* ---- the writer lock
 * ---------------------------------------------------------- */

struct waiter {
    struct srv_storage *st;
    volatile int began; /* set once begin returned */
    int rc;
};

static void *second_writer(void *arg)
{
    struct waiter *w = arg;

    w->rc = srv_storage_begin(w->st, NULL);
    __atomic_store_n(&w->began, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* A second writer (another connection, as another server's would be)
 * waits in begin until the first commits, and then sees its version:
 * so a seq taken later never commits earlier. */
static void test_second_writer_waits(void **state)
{
    struct fx *f = *state;
    struct srv_storage *other = NULL;
    struct fld_version *v;
    struct srv_version_in in;
    struct waiter w;
    struct timespec pause = {0, 300 * 1000 * 1000};
    pthread_t t;
    int64_t seq = 0, max = 0;

    NEED_PG(state);
    assert_int_equal(srv_storage_open(f->pg.location, false, &other, NULL),
                     FLD_OK);
    v = sign(f, f->admin, "0193cccccccccccccccccccccccccccc", 1, NULL, NULL,
             "4201");
    memset(&in, 0, sizeof in);
    in.v = v;
    in.pusher = f->admin_hex;
    in.received_ms = 1;
    assert_int_equal(srv_storage_begin(f->pg.st, NULL), FLD_OK);
    assert_int_equal(srv_storage_version_put(f->pg.st, &in, &seq, NULL),
                     FLD_OK);
    memset(&w, 0, sizeof w);
    w.st = other;
    assert_int_equal(pthread_create(&t, NULL, second_writer, &w), 0);
    nanosleep(&pause, NULL);
    assert_int_equal(__atomic_load_n(&w.began, __ATOMIC_SEQ_CST), 0);
    assert_int_equal(srv_storage_commit(f->pg.st, NULL), FLD_OK);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(w.rc, FLD_OK);
    assert_int_equal(srv_storage_max_seq(other, &max, NULL), FLD_OK);
    assert_int_equal(max, seq);
    srv_storage_rollback(other);
    srv_storage_close(other);
    fld_version_free(v);
}

static int count_audit(void *ctx, const struct srv_audit_row *a)
{
    (void)a;
    (*(int *)ctx)++;
    return FLD_OK;
}

/* A transaction rolled back leaves nothing: not the version, not its
 * heads, not its audit line. */
static void test_rollback_leaves_nothing(void **state)
{
    struct fx *f = *state;
    struct srv_storage *st;
    struct fld_version *v;
    struct srv_version_in in;
    struct srv_counts n;
    enum srv_version_state vs;
    int64_t seq = 0;
    int n_audit = 0;

    NEED_PG(state);
    st = f->pg.st;
    v = sign(f, f->admin, "0193dddddddddddddddddddddddddddd", 1, NULL, NULL,
             "4201");
    memset(&in, 0, sizeof in);
    in.v = v;
    in.pusher = f->admin_hex;
    in.received_ms = 1;
    /* Outside a transaction, a version is refused. */
    assert_int_equal(srv_storage_version_put(st, &in, &seq, NULL), FLD_EUSAGE);
    assert_int_equal(srv_storage_begin(st, NULL), FLD_OK);
    assert_int_equal(srv_storage_version_put(st, &in, &seq, NULL), FLD_OK);
    assert_int_equal(srv_storage_audit_add(st, "x", NULL, NULL, "y", NULL),
                     FLD_OK);
    srv_storage_rollback(st);
    assert_int_equal(srv_storage_version_state(st, v->hash, &vs, NULL), FLD_OK);
    assert_int_equal(vs, SRV_ABSENT);
    assert_int_equal(srv_storage_counts(st, &n, NULL), FLD_OK);
    assert_int_equal(n.versions, 0);
    assert_int_equal(
        srv_storage_each_audit(st, "x", count_audit, &n_audit, NULL), FLD_OK);
    assert_int_equal(n_audit, 0);
    fld_version_free(v);
}

/* One value of a query on a connection of its own. */
static char *pg_value(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r;
    char *v;

    assert_int_equal(PQstatus(c), CONNECTION_OK);
    r = PQexec(c, sql);
    assert_true(PQresultStatus(r) == PGRES_TUPLES_OK ||
                PQresultStatus(r) == PGRES_COMMAND_OK);
    v = fld_xstrdup(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0
                        ? PQgetvalue(r, 0, 0)
                        : "");
    PQclear(r);
    PQfinish(c);
    return v;
}

static void expect_pg(const char *url, const char *sql, const char *want)
{
    char *v = pg_value(url, sql);

    assert_string_equal(v, want);
    free(v);
}

/* A database of schema version 5 (pg/server.sql alone) is brought to
 * this program's version when it is opened: the two indexes of
 * server-006.sql go, and server-007.sql keys parent edges by row. */
static void test_schema_5_upgrades(void **state)
{
    struct fx *f = *state;
    const char *indexes = "SELECT count(*) FROM pg_indexes WHERE indexname "
                          "IN ('versions_prev', 'parents_parent')";
    struct srv_storage *st;

    NEED_PG(state);
    expect_pg(f->pg.location,
              "SELECT value FROM meta WHERE key = 'schema_version'", "7");
    expect_pg(f->pg.location, indexes, "0");
    free(pg_value(f->pg.location,
                  "CREATE INDEX versions_prev ON versions (prev); "
                  "CREATE TABLE old_parents (child text COLLATE \"C\" NOT "
                  "NULL, parent text COLLATE \"C\" NOT NULL, PRIMARY KEY "
                  "(child, parent)); INSERT INTO old_parents SELECT v.hash, "
                  "e.parent FROM parents e JOIN versions v ON v.seq = "
                  "e.child_seq; DROP TABLE parents; ALTER TABLE old_parents "
                  "RENAME TO parents; ALTER TABLE parents RENAME CONSTRAINT "
                  "old_parents_pkey TO parents_pkey; "
                  "CREATE INDEX parents_parent ON parents (parent); "
                  "UPDATE meta SET value = '5' WHERE key = 'schema_version'"));
    expect_pg(f->pg.location, indexes, "2");
    assert_int_equal(srv_storage_open(f->pg.location, false, &st, NULL),
                     FLD_OK);
    srv_storage_close(st);
    expect_pg(f->pg.location,
              "SELECT value FROM meta WHERE key = 'schema_version'", "7");
    expect_pg(f->pg.location, indexes, "0");
    expect_pg(f->pg.location,
              "SELECT count(*) FROM information_schema.columns WHERE "
              "table_name = 'parents' AND column_name = 'child_seq'",
              "1");
}

/* The back ends that need nothing from the server: checkpoints do
 * nothing, backup says to use pg_dump. */
static void test_checkpoint_and_backup(void **state)
{
    struct fx *f = *state;
    struct fld_err err;

    NEED_PG(state);
    assert_int_equal(srv_storage_checkpoint(f->pg.st, NULL), FLD_OK);
    assert_int_equal(srv_storage_checkpoint_passive(f->pg.st, NULL), FLD_OK);
    assert_int_equal(srv_storage_backup(f->pg.st, "/nonexistent/x", &err),
                     FLD_EUSAGE);
    assert_non_null(strstr(err.msg, "pg_dump"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_answers_as_sqlite, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_second_writer_waits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_and_backup, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_schema_5_upgrades, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
