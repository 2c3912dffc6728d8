/*
 * test_syn_sim.c - a seeded convergence simulation of the whole sync
 * system (issue 5, "tests that can fail"): 3 to 5 devices and one server
 * in one process, the client talking to the server's request handler
 * through the transport seam, over a network that loses and repeats
 * messages, with device clocks that are wrong.
 *
 * Each seed drives a fixed number of steps of a PRNG-chosen action:
 *
 *   create   a device starts a record of the field-demo template with
 *            random answers (typed as a person types them: decimals with a
 *            comma, dates as DD/MM/YYYY, Vietnamese text precomposed or
 *            decomposed, the select_multiple `waste`), through fld_edit
 *   edit     a device edits a record it holds: changes answers, toggles
 *            waste choices, finalises; the supervisor approves or rejects;
 *            a record with conflicts is resolved instead (a version on all
 *            its heads, each conflict settled to some candidate's value)
 *   sync     a (partial) sync through a faulty transport: the request is
 *            lost, or the answer is lost after the server acted, or the
 *            request arrives twice, or an old request is replayed, or the
 *            server is busy (503); small batches and pages; sometimes
 *            --full; sometimes the sync is killed after a request
 *   clock    a device whose clock is wrong (hours behind or ahead, one of
 *            them years ahead) goes back to its wrong time (meta
 *            clock.offset_ms, which capture and the client add to the
 *            wall clock; every sync corrects it from the server's time)
 *   relay    a record's versions carried from one device to another (a
 *            bundle on a USB stick): the receiver pushes others' versions
 *   server   field-server restarts on its database; or is backed up; or
 *            its disk dies and the last backup comes back with a new epoch,
 *            so that what it acknowledged since is gone until the devices
 *            (cursors reset) push it again
 *
 * The devices enroll with their clocks already wrong. One of them is a
 * supervisor (approvals and rejections); the others are inspectors, all
 * with the same scope, so that every replica must end up with everything.
 *
 * Then every device syncs over a perfect network until nothing moves, and
 * the test holds that: every replica (the devices and the server) holds
 * the same set of version hashes; every record's merged state (answers in
 * canonical bytes, status, review_outdated, conflicts with every
 * candidate, heads, newest) is byte-identical everywhere; every version the
 * server ever acknowledged (stored, duplicate or quarantined, in any answer
 * it gave, delivered or lost) is stored on the server; every store passes
 * fld_verify_store(); nothing ended on a dead-letter list or in quarantine;
 * and further rounds of sync, plain and --full, move and create nothing.
 * Along the way: a request the server accepted is never accepted again
 * when replayed, and text typed decomposed is stored composed.
 *
 *   SYN_SIM_SEEDS=n   run seeds 1..n (default 16; `make soak` runs 500)
 *   SYN_SIM_SEED=n    run only seed n (replaying a failure)
 *   SYN_SIM_STEPS=n   steps per seed (default 150)
 *   SYN_SIM_VERBOSE=1 print every step
 *   SYN_SIM_SUMMARY=1 print what each seed did (actions, faults, time)
 *
 * A failing seed names itself in the test name ("seed 17 (replay:
 * SYN_SIM_SEED=17)") and prints its last steps. A replay takes the same
 * decisions in the same order, but not the same bytes: record ids and the
 * clock readings in the versions come from the system, so which of two
 * concurrent values wins may differ; what decides convergence (the shape
 * of the DAG, which message is lost) does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <utf8proc.h>

#include "api.h"
#include "client.h"
#include "edit.h"
#include "merge.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"
#include "verify.h"
#include "srvtest.h"
#include "testutil.h"

#define URL "https://field.example"
#define MAX_DEV 5
#define MAX_SAVED 8 /* old requests kept for replaying */
#define DEFAULT_SEEDS 16
#define DEFAULT_STEPS 150
#define LOG_TAIL 40     /* steps shown when a seed fails */
#define FINAL_ROUNDS 10 /* rounds of sync allowed to converge */

/* ---- a small seeded PRNG (splitmix64) -------------------------------------
 */

struct rng {
    uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint32_t below(struct rng *r, uint32_t n)
{
    return n ? (uint32_t)(rnd(r) % n) : 0;
}

static bool chance(struct rng *r, unsigned percent)
{
    return below(r, 100) < percent;
}

/* ---- sets of strings ----------------------------------------------------- */

struct strv {
    char **v;
    size_t n, cap;
};

static void strv_add(struct strv *s, const char *str)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = fld_xreallocarray(s->v, s->cap, sizeof *s->v);
    }
    s->v[s->n++] = fld_xstrdup(str);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop duplicates. */
static void strv_uniq(struct strv *s)
{
    size_t i, n = 0;

    if (s->n == 0)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_str);
    for (i = 0; i < s->n; i++) {
        if (n > 0 && strcmp(s->v[n - 1], s->v[i]) == 0)
            free(s->v[i]);
        else
            s->v[n++] = s->v[i];
    }
    s->n = n;
}

static bool strv_has(const struct strv *s, const char *str)
{
    return s->n > 0 && bsearch(&str, s->v, s->n, sizeof *s->v, cmp_str) != NULL;
}

static void strv_free(struct strv *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- the simulation's state ------------------------------------------------
 */

/* A request the server answered, kept to be replayed later. */
struct saved {
    char *path, *content_type, *content_encoding, *device, *time, *signature;
    uint8_t *body;
    size_t len;
    int status; /* what the server answered it */
};

struct sim;

/*
 * The transport: the server's handler in-process, behind faults chosen by
 * the seed's PRNG. Percentages per request; perfect turns them all off.
 */
struct net {
    struct syn_transport base;
    struct sim *sim;
    bool perfect;
    unsigned p_drop_request, p_drop_answer, p_duplicate, p_replay, p_busy;
    int kill_after; /* > 0: the sync is killed during that request */
    volatile sig_atomic_t stop;
    struct saved saved[MAX_SAVED];
    size_t n_saved, next_saved;
};

struct dev {
    struct tu_device *d;
    char pub[65];
    const char *name;
    bool is_supervisor;
    int64_t wrong_ms; /* the offset its clock falls back to; 0: a good clock */
};

struct counts {
    int64_t requests, lost_requests, lost_answers, duplicates, replays, busy,
        kills, creates, edits, resolves, approvals, finals, relays,
        clock_resets, syncs, syncs_failed, full_syncs, skipped, conflicts_seen,
        restarts, restores;
};

struct sim {
    uint64_t seed;
    struct rng rng;
    int step;
    char *dir;
    char *db;
    struct srv_config cfg;
    struct srv *srv;
    struct net net;
    struct dev dev[MAX_DEV];
    size_t n_dev;
    struct strv records; /* every record created, in creation order */
    struct strv acked;   /* every version the server acknowledged */
    char violation[512]; /* the first thing seen wrong inside the transport */
    struct fld_buf log;  /* one line per step */
    struct counts c;
    /* Weights of the actions: create, edit, resolve, sync, clock, relay,
     * server restart, backup, restore. Syncing more or less often than
     * editing makes more or fewer concurrent versions. */
    unsigned weights[9];
    bool has_backup;
    size_t n_versions; /* at the end, on every replica */
    int64_t t0;
};

static bool verbose;

static void logf_(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logf_(struct sim *s, const char *fmt, ...)
{
    char line[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fld_buf_printf(&s->log, "  [%3d] %s\n", s->step, line);
    if (verbose)
        fprintf(stderr, "  seed %" PRIu64 " [%3d] %s\n", s->seed, s->step,
                line);
}

/* The last LOG_TAIL steps of the log. */
static void print_log_tail(const struct sim *s)
{
    const char *text = fld_buf_str(&s->log), *p = text + strlen(text);
    int lines = 0;

    while (p > text && lines <= LOG_TAIL)
        if (*--p == '\n')
            lines++;
    if (p > text)
        p++;
    fprintf(stderr, "last steps of seed %" PRIu64 ":\n%s", s->seed, p);
}

/* Fail this seed, saying how to replay it. */
static void sim_fail(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sim_fail(struct sim *s, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_log_tail(s);
    fail_msg("seed %" PRIu64 ", step %d: %s\n"
             "  replay: SYN_SIM_SEED=%" PRIu64 " build/tests/test_syn_sim",
             s->seed, s->step, msg, s->seed);
}

static void violation(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void violation(struct sim *s, const char *fmt, ...)
{
    va_list ap;

    if (s->violation[0])
        return;
    va_start(ap, fmt);
    vsnprintf(s->violation, sizeof s->violation, fmt, ap);
    va_end(ap);
}

/* ---- the faulty transport -------------------------------------------------
 */

static const char *header(const struct syn_http_request *req, const char *name)
{
    size_t i;

    for (i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

static char *dup_or_null(const char *s)
{
    return s ? fld_xstrdup(s) : NULL;
}

static void saved_free(struct saved *v)
{
    free(v->path);
    free(v->content_type);
    free(v->content_encoding);
    free(v->device);
    free(v->time);
    free(v->signature);
    free(v->body);
    memset(v, 0, sizeof *v);
}

/* Every version a 200 sync answer acknowledges joins the acked set,
 * whether or not the answer then reaches the device. */
static void note_acks(struct sim *s, const struct srv_response *out)
{
    struct syn_sync_response *a;
    size_t i;

    if (out->status != 200 || out->route != SRV_ROUTE_SYNC)
        return;
    if (syn_sync_response_decode(out->body.data, out->body.len, &a, NULL) !=
        FLD_OK) {
        violation(s, "the server's own sync answer does not decode");
        return;
    }
    for (i = 0; i < a->n_results; i++)
        if (a->results[i].status != SYN_REFUSED)
            strv_add(&s->acked, a->results[i].hash);
    syn_sync_response_free(a);
}

static void handle(struct sim *s, const struct srv_request *sr,
                   struct srv_response *out)
{
    memset(out, 0, sizeof *out);
    srv_api_handle(s->srv, sr, out);
    note_acks(s, out);
}

static void request_of(const struct syn_http_request *req,
                       struct srv_request *sr)
{
    memset(sr, 0, sizeof *sr);
    sr->method = req->method;
    sr->path = req->path;
    sr->content_type = header(req, "Content-Type");
    sr->content_encoding = header(req, "Content-Encoding");
    sr->device = header(req, SYN_HDR_DEVICE);
    sr->time = header(req, SYN_HDR_TIME);
    sr->signature = header(req, SYN_HDR_SIGNATURE);
    sr->body = req->body;
    sr->body_len = req->body_len;
}

static void save_request(struct net *t, const struct srv_request *sr,
                         int status)
{
    struct saved *v = &t->saved[t->next_saved];

    saved_free(v);
    v->path = fld_xstrdup(sr->path);
    v->content_type = dup_or_null(sr->content_type);
    v->content_encoding = dup_or_null(sr->content_encoding);
    v->device = dup_or_null(sr->device);
    v->time = dup_or_null(sr->time);
    v->signature = dup_or_null(sr->signature);
    v->body = fld_xmalloc(sr->body_len + 1);
    memcpy(v->body, sr->body, sr->body_len);
    v->len = sr->body_len;
    v->status = status;
    t->next_saved = (t->next_saved + 1) % MAX_SAVED;
    if (t->n_saved < MAX_SAVED)
        t->n_saved++;
}

/* An attacker (or a confused proxy) sends an old request again: the
 * server must not accept what it accepted once. */
static void replay_old(struct sim *s, struct net *t)
{
    struct saved *v = &t->saved[below(&s->rng, (uint32_t)t->n_saved)];
    struct srv_request sr;
    struct srv_response out;

    memset(&sr, 0, sizeof sr);
    sr.method = "POST";
    sr.path = v->path;
    sr.content_type = v->content_type;
    sr.content_encoding = v->content_encoding;
    sr.device = v->device;
    sr.time = v->time;
    sr.signature = v->signature;
    sr.body = v->body;
    sr.body_len = v->len;
    handle(s, &sr, &out);
    s->c.replays++;
    if (v->status == 200 && out.status == 200)
        violation(s, "the server accepted a replayed request (%s, time %s)",
                  v->path, v->time);
    srv_response_free(&out);
}

static void answer(struct syn_http_response *resp,
                   const struct srv_response *out)
{
    resp->status = out->status;
    snprintf(resp->content_type, sizeof resp->content_type, "%s",
             out->content_type ? out->content_type : "");
    fld_buf_append(&resp->body, out->body.data, out->body.len);
    resp->wire_down = out->body.len + 200;
}

static int net_perform(struct syn_transport *base,
                       const struct syn_http_request *req,
                       struct syn_http_response *resp, struct fld_err *err)
{
    struct net *t = (struct net *)base;
    struct sim *s = t->sim;
    struct srv_request sr;
    struct srv_response out, again;
    uint32_t r;
    bool killed = false;

    s->c.requests++;
    resp->wire_up = req->body_len + 300;
    request_of(req, &sr);
    if (t->kill_after > 0 && --t->kill_after == 0) {
        /* Killed while this request is in flight: before it left, or
         * after the server acted on it. Either way no answer. */
        t->stop = 1;
        s->c.kills++;
        killed = true;
        if (chance(&s->rng, 50))
            return fld_err_set(err, FLD_ENET, "interrupted");
    }
    if (!t->perfect && !killed && t->n_saved > 0 &&
        chance(&s->rng, t->p_replay))
        replay_old(s, t);
    r = t->perfect || killed ? 100 : below(&s->rng, 100);
    if (r < t->p_drop_request) {
        s->c.lost_requests++;
        return fld_err_set(err, FLD_ENET, "connection timed out");
    }
    r -= t->p_drop_request;
    if (r < t->p_busy) {
        s->c.busy++;
        resp->status = 503;
        snprintf(resp->content_type, sizeof resp->content_type, "%s",
                 SYN_CONTENT_TYPE);
        fld_buf_puts(&resp->body,
                     "{\"error\":{\"code\":\"busy\",\"message\":\"retry\"}}");
        return FLD_OK;
    }
    r -= t->p_busy;
    handle(s, &sr, &out);
    if (out.status == 200 || out.status == 401)
        save_request(t, &sr, out.status);
    if (killed) {
        srv_response_free(&out);
        return fld_err_set(err, FLD_ENET, "interrupted");
    }
    if (r < t->p_duplicate) {
        /* The network delivers the request twice; the device hears one of
         * the two answers. */
        s->c.duplicates++;
        handle(s, &sr, &again);
        if (out.status == 200 && again.status == 200)
            violation(s, "the server accepted the same request twice (%s)",
                      sr.path);
        if (chance(&s->rng, 50)) {
            answer(resp, &again);
        } else {
            answer(resp, &out);
        }
        srv_response_free(&again);
        srv_response_free(&out);
        return FLD_OK;
    }
    r -= t->p_duplicate;
    if (r < t->p_drop_answer) {
        s->c.lost_answers++;
        srv_response_free(&out);
        return fld_err_set(err, FLD_ENET, "connection reset by peer");
    }
    answer(resp, &out);
    srv_response_free(&out);
    return FLD_OK;
}

static void net_free(struct syn_transport *base)
{
    (void)base; /* lives in the simulation */
}

static const struct syn_transport_ops net_ops = {net_perform, net_free};

/* Retries sleep nowhere. */
static void no_sleep(void *ctx, int64_t ms)
{
    (void)ctx;
    (void)ms;
}

/* ---- set-up and tear-down ------------------------------------------------ */

static const char *const names[MAX_DEV] = {"Nguyễn Văn An", "Trần Thị Bình",
                                           "Lê Hoàng Chi", "Phạm Minh Đức",
                                           "Võ Thị Hà"};

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    char *end;
    unsigned long long n;

    if (v == NULL || *v == '\0')
        return dflt;
    n = strtoull(v, &end, 10);
    if (*end != '\0') {
        fprintf(stderr, "test_syn_sim: %s=%s is not a number\n", name, v);
        exit(2);
    }
    return (uint64_t)n;
}

static void set_offset(struct dev *d, int64_t offset)
{
    assert_int_equal(fld_store_begin(d->d->st, NULL), FLD_OK);
    assert_int_equal(
        fld_store_meta_set_int(d->d->st, FLD_META_OFFSET, offset, NULL),
        FLD_OK);
    assert_int_equal(fld_store_commit(d->d->st, NULL), FLD_OK);
}

static struct syn_client client_for(struct sim *s, struct dev *d)
{
    struct syn_client c;

    memset(&c, 0, sizeof c);
    c.st = d->d->st;
    c.key = d->d->key;
    c.transport = &s->net.base;
    c.sleep_ms = no_sleep;
    c.stop = &s->net.stop;
    return c;
}

static void make_server(struct sim *s)
{
    struct srv_storage *st;
    struct fld_template *t = tu_demo_template();
    struct srv_unit units[] = {
        {"42", "Hà Tĩnh", "tinh", NULL, "0000-01-01", NULL, true, NULL},
        {"4201", "Xã Một", "xa", "42", "0000-01-01", NULL, true, NULL},
        {"4202", "Xã Hai", "xa", "42", "0000-01-01", NULL, true, NULL}};

    s->dir = tu_mkdtemp();
    s->db = fld_xasprintf("%s/field.db", s->dir);
    st = tu_server_db(s->db, t, units, sizeof units / sizeof units[0], NULL);
    assert_int_equal(srv_storage_commit(st, NULL), FLD_OK);
    srv_storage_close(st);
    fld_template_free(t);
    srv_config_defaults(&s->cfg);
    free(s->cfg.db);
    s->cfg.db = fld_xstrdup(s->db);
    s->cfg.quiet = true;
    assert_int_equal(srv_open(&s->cfg, &s->srv, NULL), FLD_OK);
}

/* A one-time code for role, as `field-server enroll-code` makes one. */
static void make_code(struct sim *s, const char *code, const char *role)
{
    struct srv_storage *st;
    struct srv_enroll_code c;

    memset(&c, 0, sizeof c);
    fld_version_hash((const uint8_t *)code, strlen(code), c.code_hash);
    c.inspector = (char *)"Đoàn kiểm tra";
    c.role = (char *)role;
    c.scope = (char *)"4201 4202";
    c.created_ms = fld_now_ms();
    c.expires_ms = c.created_ms + 3600000;
    assert_int_equal(srv_acquire(s->srv, &st, NULL), FLD_OK);
    assert_int_equal(srv_storage_code_add(st, &c, NULL), FLD_OK);
    srv_release(s->srv, st);
}

static int sim_setup(void **state)
{
    uint64_t seed = *(const uint64_t *)*state;
    struct sim *s = fld_xcalloc(1, sizeof *s);
    size_t i;

    if (sodium_init() < 0)
        return -1;
    s->seed = seed;
    s->rng.s = seed * 0x2545f4914f6cdd1dULL + 1;
    s->t0 = fld_now_ms();
    make_server(s);
    s->net.base.ops = &net_ops;
    s->net.sim = s;
    s->n_dev = 3 + below(&s->rng, 3);
    for (i = 0; i < s->n_dev; i++) {
        struct dev *d = &s->dev[i];

        d->name = names[i];
        d->d = tu_device_open((uint8_t)(17 * (i + 1)), d->name);
        fld_key_public_hex(d->d->key, d->pub);
        d->is_supervisor = i == 0;
        /* Clocks: 0 good, 1 hours ahead, 2 years ahead, 3 hours behind,
         * 4 good. */
        switch (i) {
        case 1:
            d->wrong_ms = (1 + (int64_t)below(&s->rng, 6)) * 3600000;
            break;
        case 2:
            d->wrong_ms =
                3 * 365LL * 86400000 + (int64_t)below(&s->rng, 86400000);
            break;
        case 3:
            d->wrong_ms = -(1 + (int64_t)below(&s->rng, 9)) * 3600000;
            break;
        default:
            d->wrong_ms = 0;
            break;
        }
    }
    /* This seed's network: each fault between never and often. */
    s->net.p_drop_request = below(&s->rng, 15);
    s->net.p_drop_answer = below(&s->rng, 15);
    s->net.p_duplicate = below(&s->rng, 10);
    s->net.p_replay = below(&s->rng, 10);
    s->net.p_busy = below(&s->rng, 8);
    s->weights[0] = 8;
    s->weights[1] = 40;
    s->weights[2] = 8;
    s->weights[3] = 8 + below(&s->rng, 30);
    s->weights[4] = 4;
    s->weights[5] = 4;
    s->weights[6] = 1;
    s->weights[7] = 2;
    s->weights[8] = 1;
    logf_(
        s,
        "%zu devices, sync weight %u; network: lose %u%% of requests, %u%% of "
        "answers, duplicate %u%%, replay %u%%, busy %u%%",
        s->n_dev, s->weights[3], s->net.p_drop_request, s->net.p_drop_answer,
        s->net.p_duplicate, s->net.p_replay, s->net.p_busy);
    *state = s;
    return 0;
}

/* Every device enrolls (over a sound network) with its clock already
 * wrong, as a tablet out of the box would; enrollment corrects it, and it
 * goes wrong again at once. */
static void enroll_all(struct sim *s)
{
    size_t i;

    s->net.perfect = true;
    for (i = 0; i < s->n_dev; i++) {
        struct dev *d = &s->dev[i];
        struct syn_client c = client_for(s, d);
        struct syn_enrollment e;
        struct fld_err err;
        char code[32];

        if (d->wrong_ms)
            set_offset(d, d->wrong_ms);
        snprintf(code, sizeof code, "CODE%zu", i);
        make_code(s, code, d->is_supervisor ? "supervisor" : "inspector");
        if (syn_enroll(&c, URL, code, NULL, NULL, &e, &err) != FLD_OK)
            sim_fail(s, "%s: enroll with the clock %+" PRId64 " min off: %s",
                     d->name, d->wrong_ms / 60000, err.msg);
        syn_enrollment_free(&e);
        if (d->wrong_ms)
            set_offset(d, d->wrong_ms);
    }
    s->net.perfect = false;
}

static int sim_teardown(void **state)
{
    struct sim *s = *state;
    size_t i;

    for (i = 0; i < s->n_dev; i++)
        tu_device_close(s->dev[i].d);
    for (i = 0; i < MAX_SAVED; i++)
        saved_free(&s->net.saved[i]);
    srv_close(s->srv);
    srv_config_free(&s->cfg);
    free(s->db);
    tu_rmdir(s->dir);
    strv_free(&s->records);
    strv_free(&s->acked);
    fld_buf_free(&s->log);
    free(s);
    return 0;
}

/* ---- what a person types ----------------------------------------------------
 */

static const char *const waste_choices[] = {"collected", "sorted", "composted",
                                            "burned"};

/* Remarks, composed (NFC) as written here; a device types them either way. */
static const char *const remarks[] = {
    "Đường liên thôn đã được bê tông hoá",
    "Thu gom rác thải tốt; cần phân loại tại nguồn",
    "Nhà văn hoá thôn xuống cấp, đề nghị sửa chữa",
    "Kênh mương nội đồng chưa được kiên cố hoá",
    "Hộ nghèo giảm, thu nhập bình quân tăng",
    "Đạt",
};

static void today(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* A decimal as people type it: a comma or a point, trailing zeros. */
static void type_decimal(struct sim *s, char *out, size_t len, unsigned max)
{
    unsigned whole = below(&s->rng, max), frac = below(&s->rng, 100);

    switch (below(&s->rng, 3)) {
    case 0:
        snprintf(out, len, "%u,%u", whole, frac);
        break;
    case 1:
        snprintf(out, len, "%u.%02u0", whole, frac);
        break;
    default:
        snprintf(out, len, "%u", whole);
        break;
    }
}

/* The current waste choices with one toggled, or a random set. */
static void type_waste(struct sim *s, const struct fld_json *answers, char *out,
                       size_t len)
{
    const struct fld_json *have = fld_json_get(answers, "waste");
    bool on[4] = {false, false, false, false};
    size_t i, j, n = 0;

    if (have != NULL && have->type == FLD_JSON_ARRAY)
        for (i = 0; i < have->n; i++)
            for (j = 0; j < 4; j++)
                if (have->items[i]->type == FLD_JSON_STRING &&
                    strcmp(have->items[i]->s, waste_choices[j]) == 0)
                    on[j] = true;
    if (chance(&s->rng, 75)) {
        j = below(&s->rng, 4);
        on[j] = !on[j];
    } else {
        for (j = 0; j < 4; j++)
            on[j] = chance(&s->rng, 40);
    }
    n = (size_t)snprintf(out, len, "waste=");
    /* Typed in a random order, separated by spaces or commas. */
    for (i = 0, j = below(&s->rng, 4); i < 4; i++, j = (j + 1) % 4)
        if (on[j] && n < len)
            n += (size_t)snprintf(
                out + n, len - n, "%s%s",
                out[n - 1] == '=' ? "" : (chance(&s->rng, 50) ? " " : ","),
                waste_choices[j]);
}

/* One NAME=VALUE as a person types it. For a remark, *is_remark is set and
 * *nfc_remark is what must be stored (NULL: cleared). */
static void type_assignment(struct sim *s, const struct fld_json *answers,
                            char *out, size_t len, const char **nfc_remark,
                            bool *is_remark)
{
    char num[32];
    int64_t total = 100;

    switch (below(&s->rng, 11)) {
    case 0:
        if (chance(&s->rng, 50))
            snprintf(out, len, "inspection_date=2025-%02u-%02u",
                     1 + below(&s->rng, 12), 1 + below(&s->rng, 28));
        else
            snprintf(out, len, "inspection_date=%u/%u/2025",
                     1 + below(&s->rng, 28), 1 + below(&s->rng, 12));
        break;
    case 1:
        snprintf(out, len, "location=%u.%04u%s%u.%05u", 8 + below(&s->rng, 15),
                 below(&s->rng, 10000), chance(&s->rng, 50) ? " " : ", ",
                 102 + below(&s->rng, 8), below(&s->rng, 100000));
        break;
    case 2:
        snprintf(out, len, "planning_approved=%s",
                 chance(&s->rng, 50) ? "yes" : "no");
        break;
    case 3:
        type_decimal(s, num, sizeof num, 300);
        snprintf(out, len, "road_total_km=%s", num);
        break;
    case 4:
        type_decimal(s, num, sizeof num, 100);
        snprintf(out, len, "road_hardened_km=%s", num);
        break;
    case 5:
        snprintf(out, len, "households_total=%u", 50 + below(&s->rng, 450));
        break;
    case 6:
        fld_json_get_int(answers, "households_total", &total);
        snprintf(out, len, "households_latrine=%" PRId64,
                 total > 0 ? (int64_t)below(&s->rng, (uint32_t)total + 1) : 0);
        break;
    case 7:
    case 8:
        type_waste(s, answers, out, len);
        break;
    case 9:
        type_decimal(s, num, sizeof num, 120);
        snprintf(out, len, "income_mvnd=%s", num);
        break;
    default: {
        const char *nfc =
            remarks[below(&s->rng, sizeof remarks / sizeof *remarks)];

        *is_remark = true;
        if (chance(&s->rng, 10)) {
            snprintf(out, len, "remarks=");
            *nfc_remark = NULL;
        } else if (chance(&s->rng, 50)) {
            /* Typed on a keyboard that sends decomposed Vietnamese. */
            char *nfd = (char *)utf8proc_NFD((const utf8proc_uint8_t *)nfc);

            assert_non_null(nfd);
            snprintf(out, len, "remarks=  %s ", nfd);
            free(nfd);
            *nfc_remark = nfc;
        } else {
            snprintf(out, len, "remarks=%s", nfc);
            *nfc_remark = nfc;
        }
        break;
    }
    }
}

/*
 * Apply n random assignments to answers (NULL: none yet) as `field set`
 * does, checks included. *out is new, or NULL when the form refused the
 * edit (a constraint; rare, and then nothing is written).
 */
static void type_answers(struct sim *s, struct dev *d,
                         const struct fld_json *answers, int n,
                         struct fld_json **out)
{
    struct fld_edit *e = fld_edit_new(d->d->t, answers);
    const char *nfc_remark = NULL;
    bool typed_remark = false;
    struct fld_err err;
    char line[512], day[11];
    int i;

    *out = NULL;
    for (i = 0; i < n; i++) {
        bool is_remark = false;

        type_assignment(s, fld_edit_answers(e), line, sizeof line, &nfc_remark,
                        &is_remark);
        typed_remark = typed_remark || is_remark;
        if (fld_edit_assign(e, line, &err) != FLD_OK)
            sim_fail(s, "the form refused what a person typed: '%s': %s", line,
                     err.msg);
    }
    today(day);
    if (fld_edit_check(e, day, FLD_LANG_EN, &err) != FLD_OK) {
        logf_(s, "%s: the form refuses the edit (%s)", d->name, err.msg);
        s->c.skipped++;
        fld_edit_free(e);
        return;
    }
    if (typed_remark) {
        /* What was typed last is kept, composed, whichever way it came. */
        const char *have = fld_json_get_string(fld_edit_answers(e), "remarks");

        if ((nfc_remark == NULL) != (have == NULL) ||
            (have != NULL && strcmp(have, nfc_remark) != 0))
            sim_fail(s, "a remark typed as '%s' was kept as '%s'",
                     nfc_remark ? nfc_remark : "", have ? have : "(nothing)");
    }
    *out = fld_json_clone(fld_edit_answers(e));
    fld_edit_free(e);
}

/* ---- records as a device holds them -------------------------------------- */

struct rec {
    struct fld_version **v;
    size_t n, cap;
    struct syn_merged *m;
};

static int collect(void *ctx, const struct fld_store_row *row)
{
    struct rec *r = ctx;
    struct fld_version *v;
    int rc = fld_version_open(row->body, row->body_len, row->sig, &v, NULL);

    if (rc != FLD_OK)
        return rc;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->v = fld_xreallocarray(r->v, r->cap, sizeof *r->v);
    }
    r->v[r->n++] = v;
    return FLD_OK;
}

static void rec_free(struct rec *r)
{
    size_t i;

    syn_merged_free(r->m);
    for (i = 0; i < r->n; i++)
        fld_version_free(r->v[i]);
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* The record's versions on device d, merged; false when d lacks it. */
static bool rec_load(struct sim *s, struct dev *d, const char *record,
                     struct rec *r)
{
    struct fld_err err;
    int rc;

    memset(r, 0, sizeof *r);
    rc = fld_store_each_version(d->d->st, record, FLD_ORDER_ARRIVAL, collect, r,
                                &err);
    if (rc != FLD_OK)
        sim_fail(s, "%s: reading record %.12s: %s", d->name, record, err.msg);
    if (r->n == 0)
        return false;
    if (syn_merge(r->v, r->n, &r->m, &err) != FLD_OK)
        sim_fail(s, "%s: merging record %.12s: %s", d->name, record, err.msg);
    return true;
}

static bool is_closed(const char *status)
{
    return strcmp(status, "approved") == 0 || strcmp(status, "rejected") == 0;
}

/* Write the version a person's edit or resolution makes: parents all the
 * heads, as cmd_record_save does. */
static void save(struct sim *s, struct dev *d, const struct rec *r,
                 const struct fld_json *answers, const char *status,
                 const char *what)
{
    const struct syn_merged *m = r->m;
    struct fld_version *v = NULL;
    struct fld_err err;
    int rc;

    if (m->n_heads == 1 && fld_json_equal(answers, m->answers) &&
        strcmp(status, m->status) == 0) {
        logf_(s, "%s: %s %.8s: nothing changed", d->name, what,
              m->newest->record);
        s->c.skipped++;
        return;
    }
    rc = fld_capture_save_heads(d->d->st, d->d->key, m->newest,
                                (const char *const *)m->heads, m->n_heads,
                                answers, status, &v, &err);
    if (rc != FLD_OK)
        sim_fail(s, "%s: saving record %.12s: %s", d->name, m->newest->record,
                 err.msg);
    logf_(s,
          "%s: %s %.8s -> %.8s (%s, %zu parent%s, hlc %" PRId64 ".%" PRId64 ")",
          d->name, what, v->record, v->hash, status, m->n_heads,
          m->n_heads == 1 ? "" : "s", v->hlc.ms, v->hlc.count);
    fld_version_free(v);
}

/* ---- the actions
 * ------------------------------------------------------------- */

static void act_create(struct sim *s, struct dev *d)
{
    struct fld_json *answers = NULL;
    struct fld_version *v = NULL;
    struct fld_err err;
    const char *subject = chance(&s->rng, 50) ? "4201" : "4202";

    type_answers(s, d, NULL, 1 + (int)below(&s->rng, 5), &answers);
    if (answers == NULL)
        return;
    if (fld_capture_new(d->d->st, d->d->key, d->d->t, subject, answers, &v,
                        &err) != FLD_OK)
        sim_fail(s, "%s: new record: %s", d->name, err.msg);
    strv_add(&s->records, v->record);
    s->c.creates++;
    logf_(s, "%s: new record #%zu %.8s for %s -> %.8s", d->name,
          s->records.n - 1, v->record, subject, v->hash);
    fld_version_free(v);
    fld_json_free(answers);
}

/* Settle one choice of waste to what a candidate holds. */
static void settle_choice(struct sim *s, struct dev *d,
                          struct fld_json *answers, const char *choice,
                          bool present)
{
    const struct fld_json *have = fld_json_get(answers, "waste");
    struct fld_buf line = FLD_BUF_INIT;
    struct fld_edit *e;
    struct fld_err err;
    size_t i;

    fld_buf_puts(&line, "waste=");
    if (have != NULL && have->type == FLD_JSON_ARRAY)
        for (i = 0; i < have->n; i++)
            if (strcmp(have->items[i]->s, choice) != 0)
                fld_buf_printf(&line, "%s ", have->items[i]->s);
    if (present)
        fld_buf_puts(&line, choice);
    e = fld_edit_new(d->d->t, answers);
    if (fld_edit_assign(e, fld_buf_str(&line), &err) != FLD_OK)
        sim_fail(s, "settling a choice: '%s': %s", fld_buf_str(&line), err.msg);
    if ((have = fld_json_get(fld_edit_answers(e), "waste")) != NULL)
        fld_json_set(answers, "waste", fld_json_clone(have));
    else
        fld_json_remove(answers, "waste");
    fld_edit_free(e);
    fld_buf_free(&line);
}

/*
 * `field resolve`: the merged answers, each conflict settled to a random
 * candidate's value (the shown winner when the person just confirms), and
 * the status; the supervisor alone settles a status conflict.
 */
static void resolve(struct sim *s, struct dev *d, const struct rec *r)
{
    const struct syn_merged *m = r->m;
    struct fld_json *answers = fld_json_clone(m->answers);
    const char *status = m->status;
    size_t i;

    for (i = 0; i < m->n_conflicts; i++) {
        const struct syn_conflict *c = &m->conflicts[i];
        const struct syn_candidate *pick =
            &c->candidates[chance(&s->rng, 50)
                               ? 0
                               : below(&s->rng, (uint32_t)c->n_candidates)];
        const char *slash = strchr(c->path, '/');

        if (strcmp(c->path, "status") == 0) {
            if (pick->value != NULL && pick->value->type == FLD_JSON_STRING)
                status = pick->value->s;
        } else if (slash == NULL) {
            if (pick->value != NULL)
                fld_json_set(answers, c->path, fld_json_clone(pick->value));
            else
                fld_json_remove(answers, c->path);
        } else if (strncmp(c->path, "waste/", 6) == 0) {
            settle_choice(s, d, answers, slash + 1, pick->value != NULL);
        } else {
            sim_fail(s,
                     "a conflict on path %s, which this template cannot have",
                     c->path);
        }
    }
    if (is_closed(status) && !d->is_supervisor)
        status = "final";
    s->c.resolves++;
    save(s, d, r, answers, status, "resolves");
    fld_json_free(answers);
}

static void act_edit(struct sim *s, struct dev *d, const char *record)
{
    struct rec r;
    const struct syn_merged *m;
    struct fld_json *answers = NULL;

    if (!rec_load(s, d, record, &r))
        return;
    m = r.m;
    if (m->n_conflicts > 0) {
        s->c.conflicts_seen++;
        /* Crossed decisions are a supervisor's to settle (field resolve
         * refuses them), and so are conflicts on a closed record. */
        if (fld_status_is_decision(m->status) && !d->is_supervisor)
            logf_(
                s,
                "%s: record %.8s is %s with %zu conflicts: for the supervisor",
                d->name, record, m->status, m->n_conflicts);
        else
            resolve(s, d, &r);
    } else if (is_closed(m->status)) {
        logf_(s, "%s: record %.8s is %s: closed", d->name, record, m->status);
    } else if (d->is_supervisor && strcmp(m->status, "final") == 0 &&
               chance(&s->rng, 60)) {
        int roll = (int)below(&s->rng, 100);

        s->c.approvals++;
        save(s, d, &r, m->answers,
             roll < 60   ? "approved"
             : roll < 80 ? "rejected"
                         : "returned",
             "reviews");
    } else {
        /* A returned record's correction is a draft again. */
        const char *status =
            strcmp(m->status, "returned") == 0 ? "draft" : m->status;

        if (strcmp(status, "draft") == 0 && chance(&s->rng, 20)) {
            status = "final";
            s->c.finals++;
        }
        type_answers(s, d, m->answers,
                     chance(&s->rng, 20) ? 0 : 1 + (int)below(&s->rng, 3),
                     &answers);
        if (answers != NULL) {
            s->c.edits++;
            save(s, d, &r, answers, status, "edits");
        }
    }
    fld_json_free(answers);
    rec_free(&r);
}

/* A record device d holds, chosen by creation order (stable across runs of
 * a seed, unlike record ids); NULL when it holds none. */
static const char *pick_record(struct sim *s, struct dev *d,
                               bool with_conflicts)
{
    size_t i, n = 0, *have;
    const char *out = NULL;

    if (s->records.n == 0)
        return NULL;
    have = fld_xcalloc(s->records.n, sizeof *have);
    for (i = 0; i < s->records.n; i++) {
        char **heads;
        size_t n_heads;

        assert_int_equal(
            fld_store_heads(d->d->st, s->records.v[i], &heads, &n_heads, NULL),
            FLD_OK);
        if (n_heads > (with_conflicts ? 1u : 0u))
            have[n++] = i;
        fld_strv_free(heads, n_heads);
    }
    if (n > 0) {
        /* Recent records are edited more than old ones. */
        size_t k = chance(&s->rng, 60)
                       ? n - 1 - below(&s->rng, n < 4 ? (uint32_t)n : 4)
                       : below(&s->rng, (uint32_t)n);

        out = s->records.v[have[k]];
    }
    free(have);
    return out;
}

/* A sync; in the random phase failures are expected, but only those a
 * lossy network explains. */
static int sync_dev(struct sim *s, struct dev *d, bool full, bool random_sizes,
                    struct syn_stats *st)
{
    struct syn_client c = client_for(s, d);
    struct fld_err err;
    int rc;

    if (random_sizes) {
        c.batch_versions = chance(&s->rng, 30) ? 0 : 1 + below(&s->rng, 6);
        c.page_limit = chance(&s->rng, 30) ? 0 : 1 + (int64_t)below(&s->rng, 6);
        s->net.kill_after =
            chance(&s->rng, 10) ? 1 + (int)below(&s->rng, 4) : 0;
    }
    fld_err_clear(&err);
    rc = syn_sync(&c, full, st, &err);
    s->net.stop = 0;
    s->net.kill_after = 0;
    s->c.syncs++;
    s->c.full_syncs += full;
    logf_(s,
          "%s: sync%s: %s%s%s; %" PRId64 " requests, pushed %" PRId64
          " (stored %" PRId64 ", dup %" PRId64 ", quar %" PRId64
          ", refused %" PRId64 "), pulled %" PRId64 " (%" PRId64 " new)%s",
          d->name, full ? " --full" : "", fld_strerror(rc), rc ? ": " : "",
          rc ? err.msg : "", st->requests, st->pushed, st->stored,
          st->duplicates, st->quarantined, st->refused, st->pulled,
          st->pulled_new, st->clock_corrections ? ", clock corrected" : "");
    if (s->violation[0])
        sim_fail(s, "%s", s->violation);
    if (st->refused > 0)
        sim_fail(s, "%s: the server refused %" PRId64 " version(s) (%s)",
                 d->name, st->refused,
                 "every version here is in scope and signed by its role");
    if (rc == FLD_OK)
        return rc;
    s->c.syncs_failed++;
    if (s->net.perfect ||
        !(rc == FLD_ENET ||
          (rc == FLD_EINVAL && strstr(err.msg, "replayed") != NULL)))
        sim_fail(s, "%s: sync failed: %s: %s", d->name, fld_strerror(rc),
                 err.msg);
    return rc;
}

/* Carry every version of one record from device a to device b. */
static void act_relay(struct sim *s, struct dev *a, struct dev *b)
{
    const char *record = pick_record(s, a, false);
    struct rec r;
    struct fld_err err;
    size_t i, n_new = 0;
    int rc;

    if (record == NULL || !rec_load(s, a, record, &r))
        return;
    assert_int_equal(fld_store_begin(b->d->st, NULL), FLD_OK);
    for (i = 0; i < r.n; i++) {
        rc = fld_store_put_version(b->d->st, r.v[i], &err);
        if (rc == FLD_OK)
            n_new++;
        else if (rc != FLD_EXISTS)
            sim_fail(s, "relay into %s: %s", b->name, err.msg);
    }
    assert_int_equal(fld_store_commit(b->d->st, NULL), FLD_OK);
    s->c.relays++;
    logf_(s, "%s carries record %.8s to %s: %zu versions, %zu new", a->name,
          record, b->name, r.n, n_new);
    rec_free(&r);
}

static void forget_saved(struct net *t)
{
    size_t i;

    for (i = 0; i < MAX_SAVED; i++)
        saved_free(&t->saved[i]);
    t->n_saved = 0;
    t->next_saved = 0;
}

/* field-server stops and starts again on the same database (a deploy, a
 * crash): what it stored stays, cursors stay valid (same epoch). Its
 * replay cache lives in memory and goes with it, so the old requests kept
 * for replaying are forgotten too: replayed after a restart, within the
 * clock window, one would be accepted again (harmless, as a push is
 * idempotent, but not what "replayed" promises). */
static void act_restart(struct sim *s)
{
    srv_close(s->srv);
    assert_int_equal(srv_open(&s->cfg, &s->srv, NULL), FLD_OK);
    forget_saved(&s->net);
    s->c.restarts++;
    logf_(s, "the server restarts");
}

static void unlink_db(const char *dir, const char *name)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    size_t i;

    for (i = 0; i < 3; i++) {
        char *p = fld_xasprintf("%s/%s%s", dir, name, suffixes[i]);

        unlink(p);
        free(p);
    }
}

/* An operator backs the server up (a consistent copy, taken live). */
static void act_backup(struct sim *s)
{
    struct srv_storage *st;
    char *path = fld_xasprintf("%s/other.db", s->dir);
    struct srv_counts c;

    unlink_db(s->dir, "other.db");
    assert_int_equal(srv_acquire(s->srv, &st, NULL), FLD_OK);
    assert_int_equal(srv_storage_backup(st, path, NULL), FLD_OK);
    assert_int_equal(srv_storage_counts(st, &c, NULL), FLD_OK);
    srv_release(s->srv, st);
    s->has_backup = true;
    logf_(s, "the server is backed up (%" PRId64 " versions)", c.versions);
    free(path);
}

/*
 * The server's disk dies and the last backup is restored, with an epoch of
 * its own: everything acknowledged since the backup is gone from the
 * server, and the devices must put it back (their cursors are reset, they
 * push again what the server lacks and pull again from the start).
 */
static void act_restore(struct sim *s)
{
    struct srv_storage *st;
    char *from = fld_xasprintf("%s/other.db", s->dir), epoch[17];
    struct srv_counts c;

    srv_close(s->srv);
    unlink_db(s->dir, "field.db");
    assert_int_equal(rename(from, s->db), 0);
    free(from);
    srv_epoch_new(epoch);
    assert_int_equal(srv_storage_open(s->db, false, &st, NULL), FLD_OK);
    assert_int_equal(srv_storage_begin(st, NULL), FLD_OK);
    assert_int_equal(srv_storage_meta_set(st, "epoch", epoch, NULL), FLD_OK);
    assert_int_equal(srv_storage_commit(st, NULL), FLD_OK);
    assert_int_equal(srv_storage_counts(st, &c, NULL), FLD_OK);
    srv_storage_close(st);
    assert_int_equal(srv_open(&s->cfg, &s->srv, NULL), FLD_OK);
    forget_saved(&s->net);
    s->has_backup = false;
    s->c.restores++;
    logf_(s,
          "the server is restored from its backup (%" PRId64 " versions), "
          "epoch %s",
          c.versions, epoch);
}

static void step(struct sim *s)
{
    struct dev *d = &s->dev[below(&s->rng, (uint32_t)s->n_dev)];
    const unsigned *w = s->weights;
    uint32_t a = below(&s->rng, w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] +
                                    w[7] + w[8]);
    const char *record;
    struct syn_stats st;

    if (a < w[0] || s->records.n == 0) {
        act_create(s, d);
    } else if ((a -= w[0]) < w[1]) {
        if ((record = pick_record(s, d, false)) != NULL)
            act_edit(s, d, record);
    } else if ((a -= w[1]) < w[2]) {
        if ((record = pick_record(s, d, true)) != NULL)
            act_edit(s, d, record);
    } else if ((a -= w[2]) < w[3]) {
        sync_dev(s, d, chance(&s->rng, 5), true, &st);
    } else if ((a -= w[3]) < w[4]) {
        if (d->wrong_ms) {
            set_offset(d, d->wrong_ms);
            s->c.clock_resets++;
            logf_(s, "%s: clock wrong again (%+" PRId64 " min)", d->name,
                  d->wrong_ms / 60000);
        }
    } else if ((a -= w[4]) < w[5]) {
        struct dev *to = &s->dev[below(&s->rng, (uint32_t)s->n_dev)];

        if (to != d)
            act_relay(s, d, to);
    } else if ((a -= w[5]) < w[6]) {
        act_restart(s);
    } else if ((a -= w[6]) < w[7] || !s->has_backup) {
        act_backup(s);
    } else {
        act_restore(s);
    }
}

/* ---- the checks at the end -------------------------------------------------
 */

static int add_hash(void *ctx, const struct fld_store_row *row)
{
    strv_add(ctx, row->hash);
    return FLD_OK;
}

static void device_hashes(struct dev *d, struct strv *out)
{
    memset(out, 0, sizeof *out);
    assert_int_equal(fld_store_each_version(d->d->st, NULL, FLD_ORDER_AUTHOR,
                                            add_hash, out, NULL),
                     FLD_OK);
    strv_uniq(out);
}

/* Everything the server stores, as verified versions. */
struct server_versions {
    struct fld_version **v;
    size_t n, cap;
    int bad;
};

static int on_server_row(void *ctx, int64_t seq, const uint8_t *body,
                         size_t len, const uint8_t *sig)
{
    struct server_versions *sv = ctx;
    struct fld_version *v;

    (void)seq;
    if (fld_version_open(body, len, sig, &v, NULL) != FLD_OK) {
        sv->bad++;
        return FLD_OK;
    }
    if (sv->n == sv->cap) {
        sv->cap = sv->cap ? 2 * sv->cap : 64;
        sv->v = fld_xreallocarray(sv->v, sv->cap, sizeof *sv->v);
    }
    sv->v[sv->n++] = v;
    return FLD_OK;
}

static void server_load(struct sim *s, struct server_versions *sv,
                        struct srv_counts *counts)
{
    struct srv_storage *st;
    struct srv_pull_query q;

    memset(sv, 0, sizeof *sv);
    memset(&q, 0, sizeof q);
    q.device = "";
    q.all_units = true;
    q.after = 0;
    q.birth = INT64_MAX;
    q.limit = INT64_MAX;
    assert_int_equal(srv_acquire(s->srv, &st, NULL), FLD_OK);
    assert_int_equal(srv_storage_pull(st, &q, on_server_row, sv, NULL), FLD_OK);
    assert_int_equal(srv_storage_counts(st, counts, NULL), FLD_OK);
    srv_release(s->srv, st);
}

static void server_versions_free(struct server_versions *sv)
{
    size_t i;

    for (i = 0; i < sv->n; i++)
        fld_version_free(sv->v[i]);
    free(sv->v);
}

static void put_json(struct fld_buf *b, const struct fld_json *v)
{
    if (v == NULL)
        fld_buf_puts(b, "(absent)");
    else
        assert_int_equal(fld_json_write(v, b, NULL), FLD_OK);
}

/* The merged state, every byte of it, as text. */
static char *merged_text(const struct syn_merged *m)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i, j;

    fld_buf_puts(&b, "answers ");
    put_json(&b, m->answers);
    fld_buf_printf(&b, "\nstatus %s%s\nnewest %s\nheads", m->status,
                   m->review_outdated ? " (review outdated)" : "",
                   m->newest->hash);
    for (i = 0; i < m->n_heads; i++)
        fld_buf_printf(&b, " %s", m->heads[i]);
    for (i = 0; i < m->n_conflicts; i++) {
        const struct syn_conflict *c = &m->conflicts[i];

        fld_buf_printf(&b, "\nconflict %s:", c->path);
        for (j = 0; j < c->n_candidates; j++) {
            const struct syn_candidate *k = &c->candidates[j];

            fld_buf_printf(
                &b, "\n  %s by %.16s (%s) at %" PRId64 ".%" PRId64 ": ",
                k->version, k->author, k->inspector ? k->inspector : "-",
                k->hlc.ms, k->hlc.count);
            put_json(&b, k->value);
        }
    }
    fld_buf_putc(&b, '\n');
    return fld_buf_detach(&b, NULL);
}

/* What DESIGN.md promises of any merged state, whoever computes it. */
static void check_merged(struct sim *s, const char *who, const struct rec *r)
{
    const struct syn_merged *m = r->m;
    size_t i, j, k;

    for (i = 0; i < m->n_conflicts; i++) {
        const struct syn_conflict *c = &m->conflicts[i];
        bool distinct = false;

        if (c->n_candidates < 2)
            sim_fail(s,
                     "%s: record %.12s: conflict on %s with %zu candidate(s)",
                     who, m->newest->record, c->path, c->n_candidates);
        for (j = 0; j < c->n_candidates && !distinct; j++)
            for (k = j + 1; k < c->n_candidates && !distinct; k++) {
                const struct fld_json *x = c->candidates[j].value,
                                      *y = c->candidates[k].value;

                distinct = (x == NULL) != (y == NULL) ||
                           (x != NULL && !fld_json_equal(x, y));
            }
        if (!distinct)
            sim_fail(s,
                     "%s: record %.12s: a conflict on %s whose candidates all "
                     "hold the same value",
                     who, m->newest->record, c->path);
    }
    if (m->n_heads == 1 && m->n_conflicts == 0 && !m->review_outdated) {
        if (!fld_json_equal(m->answers, m->newest->answers) ||
            strcmp(m->status, m->newest->status) != 0)
            sim_fail(
                s,
                "%s: record %.12s has one head, but its merged state is not "
                "that head's",
                who, m->newest->record);
    }
}

static void check_heads_match(struct sim *s, struct dev *d, const struct rec *r)
{
    char **heads;
    size_t n, i;

    assert_int_equal(
        fld_store_heads(d->d->st, r->m->newest->record, &heads, &n, NULL),
        FLD_OK);
    if (n != r->m->n_heads)
        sim_fail(s, "%s: record %.12s: the store has %zu heads, the merge %zu",
                 d->name, r->m->newest->record, n, r->m->n_heads);
    for (i = 0; i < n; i++)
        if (strcmp(heads[i], r->m->heads[i]) != 0)
            sim_fail(s,
                     "%s: record %.12s: the store's heads are not the merge's",
                     d->name, r->m->newest->record);
    fld_strv_free(heads, n);
}

static void on_fault(void *ctx, const char *kind, const char *subject,
                     const char *message)
{
    struct fld_buf *b = ctx;

    fld_buf_printf(b, "  %s %.16s: %s\n", kind, subject, message);
}

/* Sync everyone over a perfect network until a round moves nothing. */
static void converge(struct sim *s)
{
    struct syn_stats st;
    int round;
    size_t i;

    s->net.perfect = true;
    for (round = 0; round < FINAL_ROUNDS; round++) {
        int64_t moved = 0;

        for (i = 0; i < s->n_dev; i++) {
            if (sync_dev(s, &s->dev[i], false, false, &st) != FLD_OK)
                moved++;
            moved += st.pushed + st.pulled_new;
        }
        if (moved == 0)
            return;
    }
    sim_fail(s, "the devices still exchange versions after %d rounds of sync",
             FINAL_ROUNDS);
}

static void check_converged(struct sim *s)
{
    struct strv first, hashes, other;
    struct server_versions sv;
    struct srv_counts counts;
    struct srv_storage *sst;
    char **texts = fld_xcalloc(s->records.n ? s->records.n : 1, sizeof *texts);
    size_t i, j;

    /* Every acknowledgement was kept: what the server said it holds, it
     * holds, whatever happened to the answer or to the server since. */
    server_load(s, &sv, &counts);
    if (sv.bad > 0)
        sim_fail(s, "the server stores %d version(s) that do not verify",
                 sv.bad);
    memset(&hashes, 0, sizeof hashes);
    for (i = 0; i < sv.n; i++)
        strv_add(&hashes, sv.v[i]->hash);
    strv_uniq(&hashes);
    if (hashes.n != sv.n)
        sim_fail(s, "the server holds %zu versions, %zu distinct", sv.n,
                 hashes.n);
    strv_uniq(&s->acked);
    for (i = 0; i < s->acked.n; i++) {
        enum srv_version_state state;

        if (!strv_has(&hashes, s->acked.v[i])) {
            assert_int_equal(srv_acquire(s->srv, &sst, NULL), FLD_OK);
            assert_int_equal(
                srv_storage_version_state(sst, s->acked.v[i], &state, NULL),
                FLD_OK);
            srv_release(s->srv, sst);
            sim_fail(
                s,
                "version %.16s was acknowledged by the server but is %s there",
                s->acked.v[i],
                state == SRV_IN_QUARANTINE ? "in quarantine" : "not stored");
        }
    }
    if (counts.quarantined != 0)
        sim_fail(s,
                 "%" PRId64 " version(s) are still in quarantine on the server",
                 counts.quarantined);

    /* Same versions everywhere, the server included. */
    device_hashes(&s->dev[0], &first);
    for (i = 1; i < s->n_dev; i++) {
        device_hashes(&s->dev[i], &other);
        for (j = 0; j < other.n || j < first.n; j++)
            if (j >= other.n || j >= first.n ||
                strcmp(other.v[j], first.v[j]) != 0)
                sim_fail(
                    s, "%s holds %zu versions, %s %zu, and not the same: %.16s",
                    s->dev[i].name, other.n, s->dev[0].name, first.n,
                    j < other.n ? other.v[j] : first.v[j]);
        strv_free(&other);
    }
    if (hashes.n != first.n)
        sim_fail(s, "the server holds %zu versions, the devices %zu", hashes.n,
                 first.n);
    for (i = 0; i < first.n; i++)
        if (strcmp(hashes.v[i], first.v[i]) != 0)
            sim_fail(s, "the server's versions are not the devices' (%.16s)",
                     first.v[i]);
    strv_free(&hashes);
    s->n_versions = first.n;

    /* Every record merges to the same bytes on every replica. */
    for (i = 0; i < s->records.n; i++) {
        const char *record = s->records.v[i];
        struct rec r;

        for (j = 0; j < s->n_dev; j++) {
            char *text;

            if (!rec_load(s, &s->dev[j], record, &r))
                sim_fail(s, "%s lacks record %.12s", s->dev[j].name, record);
            check_merged(s, s->dev[j].name, &r);
            check_heads_match(s, &s->dev[j], &r);
            text = merged_text(r.m);
            if (texts[i] == NULL) {
                texts[i] = text;
            } else {
                if (strcmp(texts[i], text) != 0) {
                    fprintf(stderr, "%s:\n%s%s:\n%s", s->dev[0].name, texts[i],
                            s->dev[j].name, text);
                    sim_fail(s, "record %.12s merges differently on %s and %s",
                             record, s->dev[0].name, s->dev[j].name);
                }
                free(text);
            }
            if (r.m->n_conflicts > 0 && j == 0)
                logf_(s,
                      "record #%zu %.8s ends with %zu conflict(s), %zu head(s)",
                      i, record, r.m->n_conflicts, r.m->n_heads);
            rec_free(&r);
        }
        /* The server's replica of it. */
        memset(&r, 0, sizeof r);
        for (j = 0; j < sv.n; j++)
            if (strcmp(sv.v[j]->record, record) == 0) {
                if (r.n == r.cap) {
                    r.cap = r.cap ? 2 * r.cap : 16;
                    r.v = fld_xreallocarray(r.v, r.cap, sizeof *r.v);
                }
                r.v[r.n++] = sv.v[j];
            }
        assert_int_equal(syn_merge(r.v, r.n, &r.m, NULL), FLD_OK);
        {
            char *text = merged_text(r.m);

            if (strcmp(texts[i], text) != 0) {
                fprintf(stderr, "devices:\n%sserver:\n%s", texts[i], text);
                sim_fail(s, "record %.12s merges differently on the server",
                         record);
            }
            free(text);
        }
        syn_merged_free(r.m);
        free(r.v); /* the versions belong to sv */
    }
    for (i = 0; i < s->records.n; i++)
        free(texts[i]);
    free(texts);
    server_versions_free(&sv);

    /* Every store verifies; nothing is pending or refused. */
    for (i = 0; i < s->n_dev; i++) {
        struct fld_buf faults = FLD_BUF_INIT;
        struct fld_verify_stats vs;
        struct fld_err err;
        int64_t known, refused, pending, bytes;
        int rc =
            fld_verify_store(s->dev[i].d->st, on_fault, &faults, &vs, &err);

        if (rc != FLD_OK)
            sim_fail(s, "%s: verify: %s (%" PRId64 " faults)\n%s",
                     s->dev[i].name, fld_strerror(rc), vs.n_faults,
                     fld_buf_str(&faults));
        fld_buf_free(&faults);
        assert_int_equal(
            fld_store_sync_counts(s->dev[i].d->st, &known, &refused, NULL),
            FLD_OK);
        assert_int_equal(fld_store_sync_pending_count(s->dev[i].d->st, &pending,
                                                      &bytes, NULL),
                         FLD_OK);
        if (refused != 0 || pending != 0 || known != (int64_t)first.n)
            sim_fail(s,
                     "%s: %" PRId64 " known to the server, %" PRId64
                     " refused, %" PRId64 " pending, of %zu",
                     s->dev[i].name, known, refused, pending, first.n);
    }
    strv_free(&first);
}

/* Rounds of sync with no edits create nothing, move nothing, and cost one
 * request each (a --full one pushes everything again, all duplicates). */
static void check_quiet(struct sim *s)
{
    struct srv_counts before, after;
    struct server_versions sv;
    struct syn_stats st;
    size_t i;
    int round;

    server_load(s, &sv, &before);
    server_versions_free(&sv);
    for (round = 0; round < 3; round++) {
        for (i = 0; i < s->n_dev; i++) {
            int64_t n0, n1, bytes;
            struct strv h0, h1;
            bool full = round == 1;

            device_hashes(&s->dev[i], &h0);
            sync_dev(s, &s->dev[i], full, false, &st);
            device_hashes(&s->dev[i], &h1);
            assert_int_equal(fld_store_sync_pending_count(s->dev[i].d->st, &n0,
                                                          &bytes, NULL),
                             FLD_OK);
            n1 = (int64_t)h1.n;
            if (h1.n != h0.n || st.pulled_new != 0 || st.stored != 0 ||
                st.quarantined != 0 || n0 != 0)
                sim_fail(s,
                         "%s: a sync with nothing to do changed something: %zu "
                         "-> %" PRId64 " versions, stored %" PRId64
                         ", pulled %" PRId64 " new, %" PRId64 " pending",
                         s->dev[i].name, h0.n, n1, st.stored, st.pulled_new,
                         n0);
            if (!full && (st.requests != 1 || st.pushed != 0 || st.pulled != 0))
                sim_fail(s,
                         "%s: a sync with nothing to do took %" PRId64
                         " requests, "
                         "pushed %" PRId64 ", pulled %" PRId64,
                         s->dev[i].name, st.requests, st.pushed, st.pulled);
            if (full && st.duplicates != (int64_t)h0.n)
                sim_fail(s,
                         "%s: a --full sync of %zu versions got %" PRId64
                         " duplicates",
                         s->dev[i].name, h0.n, st.duplicates);
            strv_free(&h0);
            strv_free(&h1);
        }
    }
    server_load(s, &sv, &after);
    server_versions_free(&sv);
    if (after.versions != before.versions || after.quarantined != 0)
        sim_fail(s,
                 "quiet syncs changed the server: %" PRId64 " -> %" PRId64
                 " versions",
                 before.versions, after.versions);
}

static void test_seed(void **state)
{
    struct sim *s = *state;
    int steps = (int)env_u64("SYN_SIM_STEPS", DEFAULT_STEPS);

    enroll_all(s);
    for (s->step = 1; s->step <= steps; s->step++)
        step(s);
    s->step = steps + 1;
    logf_(s, "converging");
    converge(s);
    check_converged(s);
    check_quiet(s);
    if (verbose || getenv("SYN_SIM_SUMMARY"))
        fprintf(stderr,
                "  seed %" PRIu64
                ": %zu devices, %zu records, %zu versions; %" PRId64
                " creates, %" PRId64 " edits, %" PRId64 " finals, %" PRId64
                " reviews, %" PRId64 " resolves (%" PRId64
                " conflicted), %" PRId64 " relays, %" PRId64
                " clock resets; %" PRId64 " syncs (%" PRId64 " failed, %" PRId64
                " full), %" PRId64 " requests: %" PRId64 " lost, %" PRId64
                " answers lost, %" PRId64 " doubled, %" PRId64
                " replays, %" PRId64 " busy, %" PRId64 " kills, %" PRId64
                " server restarts, %" PRId64 " restores; %" PRId64 " ms\n",
                s->seed, s->n_dev, s->records.n, s->n_versions, s->c.creates,
                s->c.edits, s->c.finals, s->c.approvals, s->c.resolves,
                s->c.conflicts_seen, s->c.relays, s->c.clock_resets, s->c.syncs,
                s->c.syncs_failed, s->c.full_syncs, s->c.requests,
                s->c.lost_requests, s->c.lost_answers, s->c.duplicates,
                s->c.replays, s->c.busy, s->c.kills, s->c.restarts,
                s->c.restores, fld_now_ms() - s->t0);
}

int main(void)
{
    uint64_t one = env_u64("SYN_SIM_SEED", 0);
    uint64_t n = one ? 1 : env_u64("SYN_SIM_SEEDS", DEFAULT_SEEDS), i;
    struct CMUnitTest *tests;
    uint64_t *seeds;
    char **test_names;
    int rc;

    verbose = env_u64("SYN_SIM_VERBOSE", 0) != 0;
    if (n == 0)
        n = 1;
    tests = fld_xcalloc(n, sizeof *tests);
    seeds = fld_xcalloc(n, sizeof *seeds);
    test_names = fld_xcalloc(n, sizeof *test_names);
    for (i = 0; i < n; i++) {
        seeds[i] = one ? one : i + 1;
        test_names[i] =
            fld_xasprintf("seed %" PRIu64 " (replay: SYN_SIM_SEED=%" PRIu64 ")",
                          seeds[i], seeds[i]);
        tests[i].name = test_names[i];
        tests[i].test_func = test_seed;
        tests[i].setup_func = sim_setup;
        tests[i].teardown_func = sim_teardown;
        tests[i].initial_state = &seeds[i];
    }
    rc = _cmocka_run_group_tests("test_syn_sim", tests, (size_t)n, NULL, NULL);
    for (i = 0; i < n; i++)
        free(test_names[i]);
    free(test_names);
    free(seeds);
    free(tests);
    return rc;
}
