/*
 * bench_server.c - versions verified and stored per second by one
 * field-server, beside what this machine's cores can verify in the same
 * run (issue 11, item 1: ingest at >= 80% of the aggregate rate).
 *
 * A real server (libserver: libmicrohttpd, verification, SQLite in WAL
 * with synchronous=FULL) runs in this process on a free loopback port and
 * takes pre-signed versions of the ntm-xa-2021 commune checklist (about
 * 60 answers, 2.3-2.9 kB each, records of four versions) through
 * POST /v1/sync, signed requests over plain sockets, in batches of 500 as
 * the device's client sends them. Signing happens before the clock
 * starts; the server checks every version as in production (canonical
 * form, hash, signature, scope, template, parents, checklist rules) and
 * stores it. Two scenarios, each on a fresh database:
 *
 *   one device    10,000 versions, one request after the other (an
 *                 initial push: parallelism must come from the server)
 *   four devices  2,500 each, at the same time
 *
 * The yardstick, measured on every core at once on the same bodies: a
 * BLAKE2b-256 of the body and one Ed25519 verification per version, the
 * cryptography no server can skip; and fld_version_open(), the whole
 * check of a version without storing it. Each figure goes out as one
 * JSON line (bench_figure.h). Figures only: nothing here fails on time.
 *
 * Then the back ends side by side (issue 16), each on a fresh database:
 * four devices pushing 2,500 versions each at once, then two readers
 * pulling all 10,000 from the start at once (pages of 1,000, as a new
 * device does), on SQLite with one server, on PostgreSQL with one server,
 * and on PostgreSQL with two servers sharing the database (devices and
 * readers split between them). The PostgreSQL databases are given by
 * FIELD_BENCH_PG_1 and FIELD_BENCH_PG_2 (scripts/run-bench.sh starts a
 * throwaway cluster for them); without them those figures are skipped
 * with one line. With FIELD_BENCH_PG_3 too, the SQLite database is then
 * moved there by `field-server migrate`, timed. All servers run in this
 * process, as above.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_figure.h"
#include "buf.h"
#include "embedded.h"
#include "hlc.h"
#include "http.h"
#include "json.h"
#include "migrate.h"
#include "parallel.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"
#include "template.h"
#include "version.h"

#define TEMPLATE "ntm-xa-2021"
#define N_VERSIONS 10000
#define BATCH 500 /* SYN_BATCH_VERSIONS, the device client's batch */
#define MAX_DEVICES 4
#define PER_RECORD 4
#define SUBJECT "42"
#define READERS 2
#define PULL_LIMIT 1000

static _Noreturn void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static _Noreturn void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("bench_server: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

#define NTM_TEMPLATE TEMPLATE
#define ntm_die die
#include "ntm_answers.h"

/* One device: its key and its versions, as sync requests of BATCH. */
struct device {
    struct fld_key *key;
    struct fld_buf *bodies; /* one POST /v1/sync body each */
    size_t n_bodies;
    int port;
    int failures;
};

/* The bodies and signatures of the versions signed, for the yardstick. */
struct signed_set {
    struct fld_buf bodies;
    size_t *ends; /* bodies.data[ends[i-1] .. ends[i]) is version i */
    uint8_t (*sigs)[FLD_SIG_LEN];
    size_t n;
};

/* One signed POST /v1/sync whose answer is read whole: its body into
 * resp; 0 when answered 200. */
static int post_read(const struct fld_key *key, int port,
                     const struct fld_buf *body, struct fld_buf *resp)
{
    struct sockaddr_in a;
    struct syn_auth auth;
    struct fld_buf req = FLD_BUF_INIT, all = FLD_BUF_INIT;
    char sig[129], buf[65536];
    const char *head_end;
    ssize_t n;
    size_t off = 0;
    int fd, ok = -1;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    syn_request_sign(key, "POST", "/v1/sync", fld_now_ms(), body->data,
                     body->len, &auth);
    syn_auth_sig_hex(&auth, sig);
    fld_buf_printf(
        &req,
        "POST /v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\n"
        "%s: %s\r\n%s: %lld\r\n%s: %s\r\n\r\n",
        body->len, SYN_HDR_DEVICE, auth.device, SYN_HDR_TIME,
        (long long)auth.time_ms, SYN_HDR_SIGNATURE, sig);
    fld_buf_append(&req, body->data, body->len);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        while (off < req.len) {
            n = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
            fld_buf_append(&all, buf, (size_t)n);
    }
    if (fd >= 0)
        close(fd);
    head_end = all.len ? strstr(fld_buf_str(&all), "\r\n\r\n") : NULL;
    if (head_end != NULL && all.len > 12 &&
        memcmp(all.data, "HTTP/1.1 200", 12) == 0) {
        fld_buf_append(resp, head_end + 4,
                       all.len - (size_t)(head_end + 4 - (char *)all.data));
        ok = 0;
    }
    fld_buf_free(&all);
    fld_buf_free(&req);
    return ok;
}

/* One signed POST /v1/sync; 0 when answered 200. */
static int post(const struct device *c, const struct fld_buf *body)
{
    struct fld_buf resp = FLD_BUF_INIT;
    int ok = post_read(c->key, c->port, body, &resp);

    fld_buf_free(&resp);
    return ok;
}

static void *run_device(void *arg)
{
    struct device *d = arg;

    for (size_t i = 0; i < d->n_bodies; i++)
        if (post(d, &d->bodies[i]) != 0)
            d->failures++;
    return NULL;
}

static void keep(struct signed_set *ss, const struct fld_version *v)
{
    ss->ends = fld_xreallocarray(ss->ends, ss->n + 1, sizeof *ss->ends);
    ss->sigs = fld_xreallocarray(ss->sigs, ss->n + 1, sizeof *ss->sigs);
    fld_buf_append(&ss->bodies, v->body, v->body_len);
    ss->ends[ss->n] = ss->bodies.len;
    memcpy(ss->sigs[ss->n], v->sig, FLD_SIG_LEN);
    ss->n++;
}

/*
 * Sign n versions by d's key: records of PER_RECORD versions on commune
 * SUBJECT, each revision the child of the one before, chained by dseq;
 * requests of BATCH in dseq order (parents before children). Every
 * version goes to ss too.
 */
static void prepare(struct device *d, const struct fld_template *t,
                    const char *tpl_hash, size_t n, struct signed_set *ss)
{
    static const struct commune c = {SUBJECT, "Thạch Hà"};
    char prev[FLD_HASH_HEX_LEN + 1] = "", head[FLD_HASH_HEX_LEN + 1] = "";
    char record[FLD_RECORD_HEX_LEN + 1];
    struct syn_item items[BATCH];
    struct fld_json *a = NULL;
    size_t made = 0;

    d->n_bodies = (n + BATCH - 1) / BATCH;
    d->bodies = fld_xcalloc(d->n_bodies, sizeof *d->bodies);
    for (size_t b = 0; b < d->n_bodies; b++) {
        struct syn_sync_request r;
        size_t in_batch = 0;

        for (; in_batch < BATCH && made < n; in_batch++, made++) {
            const char *parents[1] = {head};
            struct fld_version_draft dr;
            struct fld_version *v;

            if (made % PER_RECORD == 0) {
                fld_json_free(a);
                a = first_answers(t, &c);
                fld_record_id_new(record);
                head[0] = '\0';
            } else {
                revise(t, a, (int)(made % PER_RECORD) + 1);
            }
            memset(&dr, 0, sizeof dr);
            dr.record = record;
            dr.parents = parents;
            dr.n_parents = head[0] ? 1 : 0;
            dr.dseq = (int64_t)made + 1;
            dr.prev = prev[0] ? prev : NULL;
            dr.hlc.ms = 1764288000000 + (int64_t)made;
            dr.template_id = TEMPLATE;
            dr.template_hash = tpl_hash;
            dr.subject = SUBJECT;
            dr.status = "draft";
            dr.answers = a;
            if (fld_version_sign(&dr, d->key, &v, NULL) != FLD_OK)
                die("cannot sign version %zu", made);
            syn_item_set(&items[in_batch], v->body, v->body_len, v->sig);
            keep(ss, v);
            memcpy(prev, v->hash, sizeof prev);
            memcpy(head, v->hash, sizeof head);
            fld_version_free(v);
        }
        memset(&r, 0, sizeof r);
        r.limit = 1;
        r.push = items;
        r.n_push = in_batch;
        syn_sync_request_encode(&r, &d->bodies[b]);
        for (size_t i = 0; i < in_batch; i++)
            free(items[i].body);
    }
    fld_json_free(a);
}

/* A fresh server database at path with the template and the devices. */
static void server_db(const char *path, const struct fld_template *t,
                      struct device *devs, size_t n_devs)
{
    struct srv_template_row row;
    struct srv_storage *st;
    const uint8_t *canon;
    size_t len;

    if (srv_storage_open(path, true, &st, NULL) != FLD_OK)
        die("cannot create %s", path);
    canon = fld_template_canonical(t, &len);
    row.hash = fld_template_hash(t);
    row.id = fld_template_id(t);
    row.version = "1";
    row.added_ms = 1;
    srv_storage_begin(st, NULL);
    srv_storage_meta_set(st, "epoch", "0123456789abcdef", NULL);
    srv_storage_template_put(st, &row, canon, len, NULL);
    for (size_t i = 0; i < n_devs; i++) {
        struct srv_device d;
        char *scope[1] = {(char *)SUBJECT};

        memset(&d, 0, sizeof d);
        fld_key_public_hex(devs[i].key, d.pubkey);
        d.inspector = (char *)"Bench";
        d.role = (char *)"inspector";
        d.scope = scope;
        d.n_scope = 1;
        d.enrolled_ms = 1;
        srv_storage_device_add(st, &d, NULL);
    }
    if (srv_storage_commit(st, NULL) != FLD_OK)
        die("cannot set up %s", path);
    srv_storage_close(st);
}

static void remove_db(const char *path)
{
    char side[96];

    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    unlink(path);
}

/*
 * Versions per second the server verified and stored when devs pushed
 * their requests at the same time, on a fresh database at path.
 */
static double ingest(const char *path, const struct fld_template *t,
                     struct device *devs, size_t n_devs, size_t n_versions)
{
    pthread_t th[MAX_DEVICES];
    struct srv_config cfg;
    struct srv_storage *st;
    struct srv *s;
    struct srv_http *h;
    struct srv_counts c;
    double t0, secs;
    int failures = 0;

    server_db(path, t, devs, n_devs);
    srv_config_defaults(&cfg);
    free(cfg.db);
    cfg.db = fld_xstrdup(path);
    cfg.port = 0;
    cfg.quiet = true;
    if (srv_open(&cfg, &s, NULL) != FLD_OK ||
        srv_http_start(s, &h, NULL) != FLD_OK)
        die("cannot start the server on %s", path);
    t0 = now_s();
    for (size_t i = 0; i < n_devs; i++) {
        devs[i].port = srv_http_port(h);
        devs[i].failures = 0;
        pthread_create(&th[i], NULL, run_device, &devs[i]);
    }
    for (size_t i = 0; i < n_devs; i++) {
        pthread_join(th[i], NULL);
        failures += devs[i].failures;
    }
    secs = now_s() - t0;
    srv_http_stop(h, 5);
    if (srv_acquire(s, &st, NULL) != FLD_OK ||
        srv_storage_counts(st, &c, NULL) != FLD_OK)
        die("cannot count what the server stored");
    srv_release(s, st);
    if (failures || c.versions != (int64_t)n_versions)
        die("%d failed requests; %lld of %zu versions stored", failures,
            (long long)c.versions, n_versions);
    srv_close(s);
    srv_config_free(&cfg);
    remove_db(path);
    printf("server: %zu versions from %zu device%s in %.2f s: %.0f "
           "versions/s\n",
           n_versions, n_devs, n_devs > 1 ? "s" : "", secs,
           (double)n_versions / secs);
    return (double)n_versions / secs;
}

/* ---- the yardstick, on every core at once ------------------------------ */

struct yard {
    const struct signed_set *ss;
    uint8_t pk[32];
    uint8_t sig[64];
    uint8_t msg[48];
    bool whole; /* fld_version_open() rather than the cryptography alone */
    double seconds;
    long done[16];
};

/* One thread's share: versions of ss in turn until seconds have passed. */
static void yard_run(struct yard *y, size_t thread)
{
    const struct signed_set *ss = y->ss;
    double t0 = now_s();
    long n = 0;

    do {
        for (int k = 0; k < 50; k++, n++) {
            size_t i = ((size_t)n * 7 + thread * 131) % ss->n;
            size_t from = i ? ss->ends[i - 1] : 0;
            const uint8_t *body = (const uint8_t *)ss->bodies.data + from;
            size_t len = ss->ends[i] - from;

            if (y->whole) {
                struct fld_version *v;

                if (fld_version_open(body, len, ss->sigs[i], &v, NULL) !=
                    FLD_OK)
                    abort();
                fld_version_free(v);
            } else {
                char hash[FLD_HASH_HEX_LEN + 1];

                fld_version_hash(body, len, hash);
                if (crypto_sign_verify_detached(y->sig, y->msg, sizeof y->msg,
                                                y->pk) != 0)
                    abort();
            }
        }
    } while (now_s() - t0 < y->seconds);
    y->done[thread] = n;
}

struct yard_thread {
    struct yard *y;
    size_t index;
};

static void *yard_thread(void *arg)
{
    struct yard_thread *yt = arg;

    yard_run(yt->y, yt->index);
    return NULL;
}

/* Versions per second over n_threads threads (at most 16) for one
 * second each. */
static double yardstick(const struct signed_set *ss, bool whole,
                        size_t n_threads)
{
    struct yard y;
    struct yard_thread yt[16];
    pthread_t th[16];
    uint8_t sk[64];
    double t0, secs;
    long n = 0;

    if (n_threads > 16)
        n_threads = 16;
    memset(&y, 0, sizeof y);
    y.ss = ss;
    y.whole = whole;
    y.seconds = 1.0;
    crypto_sign_keypair(y.pk, sk);
    randombytes_buf(y.msg, sizeof y.msg);
    crypto_sign_detached(y.sig, NULL, y.msg, sizeof y.msg, sk);
    sodium_memzero(sk, sizeof sk);
    t0 = now_s();
    for (size_t k = 0; k < n_threads; k++) {
        yt[k].y = &y;
        yt[k].index = k;
        if (pthread_create(&th[k], NULL, yard_thread, &yt[k]) != 0)
            die("cannot start a thread");
    }
    for (size_t k = 0; k < n_threads; k++) {
        pthread_join(th[k], NULL);
        n += y.done[k];
    }
    secs = now_s() - t0;
    return (double)n / secs;
}

/* ---- the back ends side by side ------------------------------------------ */

struct reader {
    struct fld_key *key;
    int port;
    size_t pulled;
    int failures;
};

/* Pull everything from the start, page by page, as a new device does. */
static void *run_reader(void *arg)
{
    struct reader *r = arg;
    char *cursor = NULL;
    bool more = true;

    while (more) {
        struct syn_sync_request q;
        struct syn_sync_response *a = NULL;
        struct fld_buf body = FLD_BUF_INIT, resp = FLD_BUF_INIT;

        memset(&q, 0, sizeof q);
        q.cursor = cursor;
        q.limit = PULL_LIMIT;
        syn_sync_request_encode(&q, &body);
        more = false;
        if (post_read(r->key, r->port, &body, &resp) == 0 &&
            syn_sync_response_decode(resp.data, resp.len, &a, NULL) == FLD_OK) {
            r->pulled += a->n_pull;
            free(cursor);
            cursor = fld_xstrdup(a->cursor);
            more = a->more;
        } else {
            r->failures++;
        }
        syn_sync_response_free(a);
        fld_buf_free(&body);
        fld_buf_free(&resp);
    }
    free(cursor);
    return NULL;
}

/* What one scenario measured. */
struct pair {
    double ingest; /* versions/s stored, four devices at once */
    double pull;   /* versions/s pulled, two readers at once */
};

/*
 * One scenario on a fresh database at location: n_servers servers on it,
 * devs split between them, then READERS readers split likewise.
 */
static struct pair backend_run(const char *location, size_t n_servers,
                               const struct fld_template *t,
                               struct device *devs, size_t n_devs,
                               struct fld_key *const *reader_keys)
{
    struct device all[MAX_DEVICES + READERS];
    pthread_t th[MAX_DEVICES + READERS];
    struct reader rd[READERS];
    struct srv_config cfg;
    struct srv *s[2];
    struct srv_http *h[2];
    struct pair out;
    size_t i, pulled = 0, n_versions;
    double t0;
    int failures = 0;

    for (i = 0; i < n_devs; i++)
        all[i] = devs[i];
    n_versions = N_VERSIONS; /* devs hold N_VERSIONS between them */
    for (i = 0; i < READERS; i++) {
        memset(&all[n_devs + i], 0, sizeof all[0]);
        all[n_devs + i].key = reader_keys[i];
    }
    server_db(location, t, all, n_devs + READERS);
    srv_config_defaults(&cfg);
    free(cfg.db);
    cfg.db = fld_xstrdup(location);
    cfg.port = 0;
    cfg.quiet = true;
    for (i = 0; i < n_servers; i++)
        if (srv_open(&cfg, &s[i], NULL) != FLD_OK ||
            srv_http_start(s[i], &h[i], NULL) != FLD_OK)
            die("cannot start server %zu on %s", i + 1, location);
    t0 = now_s();
    for (i = 0; i < n_devs; i++) {
        devs[i].port = srv_http_port(h[i % n_servers]);
        devs[i].failures = 0;
        pthread_create(&th[i], NULL, run_device, &devs[i]);
    }
    for (i = 0; i < n_devs; i++) {
        pthread_join(th[i], NULL);
        failures += devs[i].failures;
    }
    out.ingest = (double)n_versions / (now_s() - t0);
    t0 = now_s();
    for (i = 0; i < READERS; i++) {
        rd[i] = (struct reader){reader_keys[i], srv_http_port(h[i % n_servers]),
                                0, 0};
        pthread_create(&th[i], NULL, run_reader, &rd[i]);
    }
    for (i = 0; i < READERS; i++) {
        pthread_join(th[i], NULL);
        failures += rd[i].failures;
        pulled += rd[i].pulled;
    }
    out.pull = (double)pulled / (now_s() - t0);
    for (i = 0; i < n_servers; i++) {
        srv_http_stop(h[i], 5);
        srv_close(s[i]);
    }
    srv_config_free(&cfg);
    if (failures || pulled != READERS * n_versions)
        die("%s: %d failed requests; %zu of %zu versions pulled", location,
            failures, pulled, READERS * n_versions);
    printf("%s, %zu server%s: ingest %.0f versions/s, pull %.0f versions/s\n",
           strncmp(location, "postgres", 8) == 0 ? "PostgreSQL" : "SQLite",
           n_servers, n_servers > 1 ? "s" : "", out.ingest, out.pull);
    return out;
}

static void backend_figures(const char *name, struct pair p)
{
    char figure[96];

    snprintf(figure, sizeof figure, "ingest_four_devices_per_s_%s", name);
    bench_figure("server_backends", figure, p.ingest, "versions/s", NULL);
    snprintf(figure, sizeof figure, "pull_two_readers_per_s_%s", name);
    bench_figure("server_backends", figure, p.pull, "versions/s", NULL);
}

/* The SQLite database at path, 10,000 versions and more, moved to the
 * empty PostgreSQL database FIELD_BENCH_PG_3 by `field-server migrate`
 * (copy, re-verification of every signature, commit), when given. */
static void migrate_figure(const char *path, const char *dir)
{
#ifdef SRV_WITH_PG
    const char *pg3 = getenv("FIELD_BENCH_PG_3");
    struct srv_migrate_report r;
    char att[96];
    double t0;

    if (pg3 == NULL || !*pg3)
        return;
    snprintf(att, sizeof att, "%s/migrated-attachments", dir);
    t0 = now_s();
    if (srv_migrate(path, pg3, att, &r, NULL) != FLD_OK)
        die("cannot migrate %s to PostgreSQL", path);
    t0 = now_s() - t0;
    (void)rmdir(att);
    printf("migrate SQLite to PostgreSQL: %lld versions (%lld rows) in "
           "%.2f s\n",
           (long long)r.versions, (long long)r.rows, t0);
    bench_figure("server_backends", "migrate_versions_per_s",
                 (double)r.versions / t0, "versions/s", NULL);
#else
    (void)path;
    (void)dir;
#endif
}

/* SQLite, then PostgreSQL with one and two servers when given. */
static void backends(const char *dir, const struct fld_template *t,
                     struct device *devs)
{
    const char *pg1 = getenv("FIELD_BENCH_PG_1");
    const char *pg2 = getenv("FIELD_BENCH_PG_2");
    struct fld_key *readers[READERS];
    char path[96];
    struct pair p;
    size_t i;

    for (i = 0; i < READERS; i++)
        if (fld_key_generate(&readers[i], NULL) != FLD_OK)
            die("cannot make a key");
    snprintf(path, sizeof path, "%s/backends.db", dir);
    p = backend_run(path, 1, t, devs, MAX_DEVICES, readers);
    backend_figures("sqlite", p);
    migrate_figure(path, dir);
    remove_db(path);
    if (pg1 == NULL || pg2 == NULL || !*pg1 || !*pg2) {
        printf("server_backends: PostgreSQL skipped: FIELD_BENCH_PG_1 and "
               "FIELD_BENCH_PG_2 are not set (scripts/run-bench.sh sets them "
               "where PostgreSQL 15 is installed)\n");
    } else if (chdir(dir) != 0) { /* a PostgreSQL server's photos go here */
        die("cannot enter %s", dir);
    } else {
        backend_figures("pg",
                        backend_run(pg1, 1, t, devs, MAX_DEVICES, readers));
        backend_figures("pg_two_servers",
                        backend_run(pg2, 2, t, devs, MAX_DEVICES, readers));
    }
    /* The servers' (empty) photo directory, SQLite's and PostgreSQL's. */
    snprintf(path, sizeof path, "%s/attachments/partial", dir);
    (void)rmdir(path);
    snprintf(path, sizeof path, "%s/attachments", dir);
    (void)rmdir(path);
    for (i = 0; i < READERS; i++)
        fld_key_free(readers[i]);
}

int main(void)
{
    char dir[] = "/tmp/field-bench-XXXXXX", path[64];
    const struct fld_embedded *e = fld_embedded_find(TEMPLATE ".json");
    struct device one, many[MAX_DEVICES];
    struct signed_set ss = {FLD_BUF_INIT, NULL, NULL, 0};
    struct fld_template *t;
    size_t cores = syn_cpus();
    double ingest_one, ingest_many, crypto, whole;

    if (sodium_init() < 0 || e == NULL || mkdtemp(dir) == NULL)
        die("cannot set up (libsodium, the template, a temporary directory)");
    if (fld_template_parse_embedded(e, &t, NULL) != FLD_OK)
        die("template %s does not parse", TEMPLATE);
    snprintf(path, sizeof path, "%s/server.db", dir);
    printf("signing %d versions of %s (one device, then %d devices) ...\n",
           2 * N_VERSIONS, TEMPLATE, MAX_DEVICES);
    if (fld_key_generate(&one.key, NULL) != FLD_OK)
        die("cannot make a key");
    prepare(&one, t, fld_template_hash(t), N_VERSIONS, &ss);
    for (size_t i = 0; i < MAX_DEVICES; i++) {
        struct signed_set mine = {FLD_BUF_INIT, NULL, NULL, 0};

        if (fld_key_generate(&many[i].key, NULL) != FLD_OK)
            die("cannot make a key");
        prepare(&many[i], t, fld_template_hash(t), N_VERSIONS / MAX_DEVICES,
                &mine);
        fld_buf_free(&mine.bodies);
        free(mine.ends);
        free(mine.sigs);
    }
    printf("bodies: %zu versions, %.0f bytes on average\n", ss.n,
           (double)ss.bodies.len / (double)ss.n);

    crypto = yardstick(&ss, false, cores);
    whole = yardstick(&ss, true, cores);
    printf("this machine, %zu cores: %.0f versions/s hashed and "
           "Ed25519-verified, %.0f/s through fld_version_open()\n",
           cores, crypto, whole);
    ingest_one = ingest(path, t, &one, 1, N_VERSIONS);
    ingest_many = ingest(path, t, many, MAX_DEVICES, N_VERSIONS);

    bench_figure("server", "verify_all_cores_per_s", crypto, "versions/s",
                 NULL);
    bench_figure("server", "version_open_all_cores_per_s", whole, "versions/s",
                 NULL);
    bench_figure("server", "ingest_one_device_per_s", ingest_one, "versions/s",
                 NULL);
    bench_figure("server", "ingest_four_devices_per_s", ingest_many,
                 "versions/s", NULL);
    bench_figure("server", "ingest_one_device_share_of_verify",
                 ingest_one / crypto, "ratio", ">= 0.80");
    bench_figure("server", "ingest_four_devices_share_of_verify",
                 ingest_many / crypto, "ratio", ">= 0.80");
    fflush(stdout);
    backends(dir, t, many);

    fld_template_free(t);
    for (size_t b = 0; b < one.n_bodies; b++)
        fld_buf_free(&one.bodies[b]);
    free(one.bodies);
    fld_key_free(one.key);
    for (size_t i = 0; i < MAX_DEVICES; i++) {
        for (size_t b = 0; b < many[i].n_bodies; b++)
            fld_buf_free(&many[i].bodies[b]);
        free(many[i].bodies);
        fld_key_free(many[i].key);
    }
    fld_buf_free(&ss.bodies);
    free(ss.ends);
    free(ss.sigs);
    rmdir(dir);
    return 0;
}
