/*
 * bench_server.c - versions verified and stored per second by one
 * field-server, beside the Ed25519 verifications per second of this
 * machine, measured in the same run.
 *
 * A real server (libserver: libmicrohttpd, verification, SQLite in WAL
 * with synchronous=FULL) runs in this process on a free loopback port.
 * Four client threads, each a device with its own key, push pre-signed
 * chains of versions in batches of 200 through POST /v1/sync, signed
 * requests over plain sockets. Signing happens before the clock starts;
 * every version is verified (canonical form, hash, signature, scope,
 * template, parents) and stored by the server.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"
#include "buf.h"
#include "embedded.h"
#include "hlc.h"
#include "http.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"
#include "template.h"
#include "version.h"

#define N_DEVICES 4
#define PER_DEVICE 2000
#define BATCH 200

struct client {
    struct fld_key *key;
    struct fld_buf bodies[PER_DEVICE / BATCH]; /* one sync request each */
    int port;
    int failures;
};

static double ed25519_per_second(void)
{
    uint8_t pk[32], sk[64], sig[64], msg[48];
    double t0 = now_s(), t;
    long n = 0;

    crypto_sign_keypair(pk, sk);
    randombytes_buf(msg, sizeof msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    do {
        for (int i = 0; i < 200; i++)
            if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0)
                abort();
        n += 200;
        t = now_s() - t0;
    } while (t < 1.0);
    return (double)n / t;
}

/* One signed POST /v1/sync; 0 when answered 200. */
static int post(const struct client *c, const struct fld_buf *body)
{
    struct sockaddr_in a;
    struct syn_auth auth;
    struct fld_buf req = FLD_BUF_INIT;
    char sig[129], buf[4096];
    ssize_t n;
    size_t off = 0;
    int fd, ok = -1;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)c->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    syn_request_sign(c->key, "POST", "/v1/sync", fld_now_ms(), body->data,
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
        while (off < req.len &&
               (n = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL)) > 0)
            off += (size_t)n;
        n = recv(fd, buf, sizeof buf - 1, 0);
        if (n > 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0)
            ok = 0;
        while (n > 0)
            n = recv(fd, buf, sizeof buf, 0);
    }
    if (fd >= 0)
        close(fd);
    fld_buf_free(&req);
    return ok;
}

static void *run_client(void *arg)
{
    struct client *c = arg;

    for (int i = 0; i < PER_DEVICE / BATCH; i++)
        if (post(c, &c->bodies[i]) != 0)
            c->failures++;
    return NULL;
}

/* Pre-sign the device's chain: one record per 10 versions, batches of
 * BATCH in dseq order, parents before children. */
static void prepare(struct client *c, const char *tpl)
{
    struct fld_json *answers = fld_json_object();
    char prev[FLD_HASH_HEX_LEN + 1] = "", record[FLD_RECORD_HEX_LEN + 1];
    char head[FLD_HASH_HEX_LEN + 1] = "";

    fld_json_set(answers, "households_total", fld_json_int(120));
    fld_json_set(answers, "remarks",
                 fld_json_string("Đường thôn đã cứng hoá 80%"));
    for (int b = 0; b < PER_DEVICE / BATCH; b++) {
        struct syn_sync_request r;
        struct syn_item items[BATCH];

        memset(&r, 0, sizeof r);
        r.limit = 1;
        r.push = items;
        r.n_push = BATCH;
        for (int i = 0; i < BATCH; i++) {
            int64_t dseq = (int64_t)b * BATCH + i + 1;
            const char *parents[1] = {head};
            struct fld_version_draft d;
            struct fld_version *v;

            if ((dseq - 1) % 10 == 0) {
                fld_record_id_new(record);
                head[0] = '\0';
            }
            memset(&d, 0, sizeof d);
            d.record = record;
            d.parents = parents;
            d.n_parents = head[0] ? 1 : 0;
            d.dseq = dseq;
            d.prev = prev[0] ? prev : NULL;
            d.hlc.ms = 1764288000000 + dseq;
            d.template_id = "field-demo";
            d.template_hash = tpl;
            d.subject = "42";
            d.status = "draft";
            d.answers = answers;
            if (fld_version_sign(&d, c->key, &v, NULL) != FLD_OK)
                abort();
            syn_item_set(&items[i], v->body, v->body_len, v->sig);
            memcpy(prev, v->hash, sizeof prev);
            memcpy(head, v->hash, sizeof head);
            fld_version_free(v);
        }
        syn_sync_request_encode(&r, &c->bodies[b]);
        for (int i = 0; i < BATCH; i++)
            free(items[i].body);
    }
    fld_json_free(answers);
}

int main(void)
{
    char dir[] = "/tmp/field-bench-XXXXXX", path[64], wal[80], shm[80];
    struct srv_config cfg;
    struct srv_storage *st;
    struct srv *s;
    struct srv_http *h;
    struct fld_template *t;
    struct srv_template_row row;
    struct client clients[N_DEVICES];
    pthread_t th[N_DEVICES];
    const struct fld_embedded *e = fld_embedded_find("field-demo.json");
    const uint8_t *canon;
    size_t len;
    double ed, t0, secs;
    int failures = 0;

    if (sodium_init() < 0 || e == NULL || mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof path, "%s/server.db", dir);
    if (fld_template_parse(e->data, e->len, &t, NULL) != FLD_OK ||
        srv_storage_open(path, true, &st, NULL) != FLD_OK)
        return 1;
    canon = fld_template_canonical(t, &len);
    row.hash = fld_template_hash(t);
    row.id = fld_template_id(t);
    row.version = "1";
    row.added_ms = 1;
    srv_storage_begin(st, NULL);
    srv_storage_meta_set(st, "epoch", "0123456789abcdef", NULL);
    srv_storage_template_put(st, &row, canon, len, NULL);
    for (int i = 0; i < N_DEVICES; i++) {
        struct srv_device d;
        char *scope[1] = {(char *)"42"};

        memset(&d, 0, sizeof d);
        if (fld_key_generate(&clients[i].key, NULL) != FLD_OK)
            return 1;
        fld_key_public_hex(clients[i].key, d.pubkey);
        d.inspector = (char *)"Bench";
        d.role = (char *)"inspector";
        d.scope = scope;
        d.n_scope = 1;
        d.enrolled_ms = 1;
        srv_storage_device_add(st, &d, NULL);
    }
    if (srv_storage_commit(st, NULL) != FLD_OK)
        return 1;
    srv_storage_close(st);

    printf("signing %d versions on %d devices ...\n", N_DEVICES * PER_DEVICE,
           N_DEVICES);
    for (int i = 0; i < N_DEVICES; i++) {
        memset(clients[i].bodies, 0, sizeof clients[i].bodies);
        clients[i].failures = 0;
        prepare(&clients[i], row.hash);
    }
    srv_config_defaults(&cfg);
    free(cfg.db);
    cfg.db = fld_xstrdup(path);
    cfg.port = 0;
    cfg.quiet = true;
    if (srv_open(&cfg, &s, NULL) != FLD_OK ||
        srv_http_start(s, &h, NULL) != FLD_OK)
        return 1;
    ed = ed25519_per_second();

    t0 = now_s();
    for (int i = 0; i < N_DEVICES; i++) {
        clients[i].port = srv_http_port(h);
        pthread_create(&th[i], NULL, run_client, &clients[i]);
    }
    for (int i = 0; i < N_DEVICES; i++) {
        pthread_join(th[i], NULL);
        failures += clients[i].failures;
    }
    secs = now_s() - t0;
    srv_http_stop(h, 5);
    if (srv_acquire(s, &st, NULL) == FLD_OK) {
        struct srv_counts c;

        if (srv_storage_counts(st, &c, NULL) == FLD_OK &&
            c.versions != N_DEVICES * PER_DEVICE)
            failures++;
        srv_release(s, st);
    }
    printf("server: %d versions pushed in batches of %d by %d devices over "
           "loopback in %.2f s\n",
           N_DEVICES * PER_DEVICE, BATCH, N_DEVICES, secs);
    printf("server: %.0f versions verified and stored per second%s\n",
           N_DEVICES * PER_DEVICE / secs, failures ? " (WITH FAILURES)" : "");
    printf("ed25519: %.0f signature verifications per second (one core)\n", ed);
    srv_close(s);
    srv_config_free(&cfg);
    fld_template_free(t);
    for (int i = 0; i < N_DEVICES; i++) {
        for (int b = 0; b < PER_DEVICE / BATCH; b++)
            fld_buf_free(&clients[i].bodies[b]);
        fld_key_free(clients[i].key);
    }
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(wal);
    unlink(shm);
    unlink(path);
    rmdir(dir);
    return failures ? 1 : 0;
}
