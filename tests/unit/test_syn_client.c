/*
 * test_syn_client.c - the sync client (sync/client.h) against the real
 * server's request handler, called in-process through the transport seam
 * (no HTTP, no sockets): enrollment, push and pull between devices,
 * batching and order, the dead-letter list, cursor resets and --full,
 * clock correction, the hybrid clock's bound; and, through a transport
 * that fails on purpose, answers lost after the server acted on them,
 * 5xx and proxies, captive portals, tampered pages and interruption; and
 * photos (client_attach.c): uploaded in chunks through lost answers and
 * cuts, fetched by another device through the streaming sink.
 *
 * Each test gets a fresh server database and fresh device stores.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api.h"
#include "attachment.h"
#include "client.h"
#include "file.h"
#include "gzip.h"
#include "protocol.h"
#include "server.h"
#include "status.h"
#include "storage.h"
#include "phototest.h"
#include "srvtest.h"
#include "testutil.h"

#define URL "https://field.example"

/* ---- the in-process transport, with faults on demand ----------------------
 */

enum fault {
    F_NONE,
    F_DOWN,        /* no connection: the server never sees the request */
    F_DROP_ANSWER, /* the server acts, then the answer is lost */
    F_BUSY_503,    /* our server's JSON 503, without acting */
    F_PROXY_502,   /* a proxy's HTML error page */
    F_PORTAL,      /* a captive portal's login page, 200 text/html */
    F_TAMPER_PULL, /* one byte of the first pulled body changed */
    F_FORGE_SIG    /* one hex digit of pulled version forge_at's sig */
};

struct inproc {
    struct syn_transport base;
    struct srv *s;
    enum fault fault;
    int n_faults;    /* requests the fault applies to; -1: all */
    int n_spared;    /* requests let through before the fault applies */
    int n_performed; /* requests seen */
    int n_handled;   /* requests the server handled */
    int n_pushed;    /* versions pushed, summed over handled requests */
    int forge_at;    /* F_FORGE_SIG: which pulled version (from 0) */
    /* Faults apply only to requests of this method when set ("PUT") */
    const char *fault_method;
    int n_puts;      /* chunks the server handled */
    long forged_seq; /* F_FORGE_SIG: the seq of the version forged */
};

static const char *header(const struct syn_http_request *req, const char *name)
{
    size_t i;

    for (i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

static void set_text(struct syn_http_response *resp, int status, const char *ct,
                     const char *body)
{
    resp->status = status;
    snprintf(resp->content_type, sizeof resp->content_type, "%s", ct);
    fld_buf_puts(&resp->body, body);
}

/* Flip one character inside the first "body" string of a sync answer. */
static void tamper(struct fld_buf *b)
{
    char *p = strstr((char *)b->data, "\"pull\":[{\"body\":\"");

    if (p == NULL)
        return;
    /* An answer's digit: the body stays a valid version, but it is no
     * longer the one its author signed. */
    p = strstr(p, "households_total\\\":");
    if (p != NULL) {
        p += strlen("households_total\\\":");
        *p = *p == '9' ? '8' : (char)(*p + 1);
    }
}

/* Change one hex digit of the signature of pulled version at (from 0) and
 * note its seq: the body is intact, the signature is no longer its
 * author's. */
static void forge_sig(struct fld_buf *b, int at, long *seq)
{
    char *p = strstr((char *)b->data, "\"pull\":[");
    int i;

    *seq = -1;
    for (i = 0; p != NULL && i <= at; i++)
        if ((p = strstr(p + 1, "\"sig\":\"")) == NULL)
            return;
    p += strlen("\"sig\":\"");
    *p = *p == '0' ? '1' : '0';
    if ((p = strstr(p, "\"seq\":")) != NULL)
        *seq = strtol(p + strlen("\"seq\":"), NULL, 10);
}

static int count_pushed(const struct fld_buf *plain)
{
    struct syn_sync_request *r;
    int n;

    if (syn_sync_request_decode(plain->data, plain->len, &r, NULL) != FLD_OK)
        return 0;
    n = (int)r->n_push;
    syn_sync_request_free(r);
    return n;
}

static int inproc_perform(struct syn_transport *base,
                          const struct syn_http_request *req,
                          struct syn_http_response *resp, struct fld_err *err)
{
    struct inproc *t = (struct inproc *)base;
    struct srv_request sr;
    struct srv_response out;
    enum fault f = F_NONE;

    t->n_performed++;
    if (t->n_faults != 0 && t->n_spared > 0)
        t->n_spared--;
    else if (t->n_faults != 0 && (t->fault_method == NULL ||
                                  strcmp(t->fault_method, req->method) == 0)) {
        f = t->fault;
        if (t->n_faults > 0)
            t->n_faults--;
    }
    resp->wire_up = req->body_len + 300;
    switch (f) {
    case F_DOWN:
        return fld_err_set(err, FLD_ENET, "connection refused");
    case F_BUSY_503:
        set_text(resp, 503, "application/json",
                 "{\"error\":{\"code\":\"busy\",\"message\":\"retry\"}}");
        return FLD_OK;
    case F_PROXY_502:
        set_text(resp, 502, "text/html; charset=iso-8859-1",
                 "<html><body><h1>502 Bad Gateway</h1></body></html>");
        return FLD_OK;
    case F_PORTAL:
        set_text(
            resp, 200, "text/html",
            "<!DOCTYPE html><html><body><form>Wi-Fi login</form></body></html>");
        return FLD_OK;
    default:
        break;
    }
    memset(&sr, 0, sizeof sr);
    memset(&out, 0, sizeof out);
    sr.method = req->method;
    sr.path = req->path;
    sr.content_type = header(req, "Content-Type");
    sr.content_encoding = header(req, "Content-Encoding");
    sr.device = header(req, SYN_HDR_DEVICE);
    sr.time = header(req, SYN_HDR_TIME);
    sr.signature = header(req, SYN_HDR_SIGNATURE);
    sr.body = req->body;
    sr.body_len = req->body_len;
    if (strchr(req->path, '?') != NULL) { /* the signed query, as http.c */
        static char path[512];
        size_t n = (size_t)(strchr(req->path, '?') - req->path);

        snprintf(path, sizeof path, "%.*s", (int)n, req->path);
        sr.path = path;
        sr.query = req->path + n + 1;
    }
    srv_api_handle(t->s, &sr, &out);
    t->n_handled++;
    if (strcmp(req->method, "PUT") == 0)
        t->n_puts++;
    if (out.has_file) { /* a photo: read from its file, as http.c sends it */
        uint8_t *p = fld_xmalloc(out.file_len + 1);

        assert_int_equal(pread(out.fd, p, out.file_len, (off_t)out.file_offset),
                         (ssize_t)out.file_len);
        if (req->sink != NULL && out.status == 200)
            assert_int_equal(req->sink(req->sink_ctx, p, out.file_len), 0);
        else
            fld_buf_append(&out.body, p, out.file_len);
        free(p);
    }
    if (strcmp(req->path, "/v1/sync") == 0 && out.status == 200) {
        struct fld_buf plain = FLD_BUF_INIT;

        if (sr.content_encoding)
            syn_gunzip(req->body, req->body_len, SYN_MAX_RESPONSE, &plain,
                       NULL);
        else
            fld_buf_append(&plain, req->body, req->body_len);
        t->n_pushed += count_pushed(&plain);
        fld_buf_free(&plain);
    }
    if (f == F_DROP_ANSWER) {
        srv_response_free(&out);
        return fld_err_set(err, FLD_ENET, "connection reset by peer");
    }
    if (f == F_TAMPER_PULL)
        tamper(&out.body);
    if (f == F_FORGE_SIG)
        forge_sig(&out.body, t->forge_at, &t->forged_seq);
    resp->status = out.status;
    snprintf(resp->content_type, sizeof resp->content_type, "%s",
             out.content_type ? out.content_type : "");
    fld_buf_append(&resp->body, out.body.data, out.body.len);
    resp->wire_down = out.body.len + 200;
    srv_response_free(&out);
    return FLD_OK;
}

static void inproc_free(struct syn_transport *base)
{
    (void)base; /* lives in the fixture */
}

static const struct syn_transport_ops inproc_ops = {inproc_perform,
                                                    inproc_free};

static void fail_next(struct inproc *t, enum fault f, int n)
{
    t->fault = f;
    t->n_faults = n;
    t->n_spared = 0;
    t->fault_method = NULL;
}

/* ---- fixture: a server and up to three devices
 * ------------------------------- */

struct fx {
    char *dir;
    char *path;
    struct srv_config cfg;
    struct srv *s;
    struct inproc t;
    struct tu_device *a, *b, *c;
    int64_t slept_ms[16];
    int n_sleeps;
};

static void count_sleep(void *ctx, int64_t ms)
{
    struct fx *f = ctx;

    if (f->n_sleeps < 16)
        f->slept_ms[f->n_sleeps] = ms;
    f->n_sleeps++;
}

static int setup(void **state)
{
    struct fx *f = fld_xcalloc(1, sizeof *f);
    struct srv_storage *st;
    struct fld_template *t = tu_demo_template();
    struct srv_unit units[] = {
        {"42", "Hà Tĩnh", "tinh", NULL, "0000-01-01", NULL, true, NULL},
        {"4201", "Một", "xa", "42", "0000-01-01", NULL, true, NULL},
        {"4202", "Hai", "xa", "42", "0000-01-01", NULL, true, NULL}};

    if (sodium_init() < 0)
        return -1;
    f->dir = tu_mkdtemp();
    f->path = fld_xasprintf("%s/field.db", f->dir);
    st = tu_server_db(f->path, t, units, sizeof units / sizeof units[0], NULL);
    assert_int_equal(srv_storage_commit(st, NULL), FLD_OK);
    srv_storage_close(st);
    fld_template_free(t);
    srv_config_defaults(&f->cfg);
    free(f->cfg.db);
    f->cfg.db = fld_xstrdup(f->path);
    f->cfg.quiet = true;
    assert_int_equal(srv_open(&f->cfg, &f->s, NULL), FLD_OK);
    f->t.base.ops = &inproc_ops;
    f->t.s = f->s;
    f->a = tu_device_open(11, "Ann");
    f->b = tu_device_open(22, "Bình");
    f->c = tu_device_open(33, "Chi");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    tu_device_close(f->a);
    tu_device_close(f->b);
    tu_device_close(f->c);
    srv_close(f->s);
    srv_config_free(&f->cfg);
    free(f->path);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* A client for device d over the fixture's transport; retries sleep
 * nowhere (they are counted). */
static struct syn_client client(struct fx *f, struct tu_device *d)
{
    struct syn_client c;

    memset(&c, 0, sizeof c);
    c.st = d->st;
    c.key = d->key;
    c.transport = &f->t.base;
    c.home = d->dir;
    c.sleep_ms = count_sleep;
    c.sleep_ctx = f;
    return c;
}

/* A one-time code for role and scope ("" for none), as enroll-code makes. */
static void make_code(struct fx *f, const char *code, const char *role,
                      const char *scope)
{
    struct srv_storage *st;
    struct srv_enroll_code c;
    char norm[64];
    size_t n = 0;

    for (; *code; code++)
        if (*code != '-')
            norm[n++] = (char)toupper((unsigned char)*code);
    norm[n] = '\0';
    memset(&c, 0, sizeof c);
    fld_version_hash((const uint8_t *)norm, n, c.code_hash);
    c.inspector = (char *)"Test";
    c.role = (char *)role;
    c.scope = (char *)scope;
    c.created_ms = fld_now_ms();
    c.expires_ms = c.created_ms + 3600000;
    assert_int_equal(srv_acquire(f->s, &st, NULL), FLD_OK);
    assert_int_equal(srv_storage_code_add(st, &c, NULL), FLD_OK);
    srv_release(f->s, st);
}

static void enroll(struct fx *f, struct tu_device *d, const char *code,
                   const char *role, const char *scope)
{
    struct syn_client c = client(f, d);
    struct syn_enrollment e;
    struct fld_err err;

    make_code(f, code, role, scope);
    assert_int_equal(syn_enroll(&c, URL, code, NULL, NULL, &e, &err), FLD_OK);
    syn_enrollment_free(&e);
}

static int sync_dev(struct fx *f, struct tu_device *d, bool full,
                    struct syn_stats *s, struct fld_err *err)
{
    struct syn_client c = client(f, d);

    return syn_sync(&c, full, s, err);
}

/* A new record with n versions in one chain; returns nothing. */
static void capture(struct tu_device *d, const char *subject, int n)
{
    struct fld_json *answers = fld_json_object();
    struct fld_version *v = NULL, *next;
    int i;

    fld_json_set(answers, "households_total", fld_json_int(100));
    assert_int_equal(
        fld_capture_new(d->st, d->key, d->t, subject, answers, &v, NULL),
        FLD_OK);
    for (i = 1; i < n; i++) {
        fld_json_set(answers, "households_total", fld_json_int(100 + i));
        assert_int_equal(
            fld_capture_save(d->st, d->key, v, answers, "draft", &next, NULL),
            FLD_OK);
        fld_version_free(v);
        v = next;
    }
    fld_version_free(v);
    fld_json_free(answers);
}

/* Versions a device holds: known to the server, refused, or pending. */
static int64_t count_versions(struct tu_device *d)
{
    int64_t known, refused, n_pending, bytes;

    assert_int_equal(fld_store_sync_counts(d->st, &known, &refused, NULL),
                     FLD_OK);
    assert_int_equal(
        fld_store_sync_pending_count(d->st, &n_pending, &bytes, NULL), FLD_OK);
    return known + refused + n_pending;
}

static int64_t pending(struct tu_device *d)
{
    int64_t n, bytes;

    assert_int_equal(fld_store_sync_pending_count(d->st, &n, &bytes, NULL),
                     FLD_OK);
    return n;
}

static int64_t server_versions(struct fx *f)
{
    struct srv_storage *st;
    struct srv_counts c;

    assert_int_equal(srv_acquire(f->s, &st, NULL), FLD_OK);
    assert_int_equal(srv_storage_counts(st, &c, NULL), FLD_OK);
    srv_release(f->s, st);
    return c.versions;
}

static int add_hash(void *ctx, const struct fld_store_row *row)
{
    struct fld_buf *b = ctx;

    fld_buf_puts(b, row->hash);
    fld_buf_putc(b, '\n');
    return FLD_OK;
}

/* Every version hash a device holds, sorted, as one string. */
static char *hashes_of(struct tu_device *d)
{
    struct fld_buf b = FLD_BUF_INIT;

    assert_int_equal(fld_store_each_version(d->st, NULL, FLD_ORDER_AUTHOR,
                                            add_hash, &b, NULL),
                     FLD_OK);
    return fld_buf_detach(&b, NULL);
}

/* ---- enrollment
 * -------------------------------------------------------------- */

static void test_url_normalise(void **state)
{
    char *u;
    struct fld_err err;

    (void)state;
    assert_int_equal(
        syn_url_normalise("https://x.example:8443/field//", &u, &err), FLD_OK);
    assert_string_equal(u, "https://x.example:8443/field");
    free(u);
    assert_int_equal(syn_url_normalise("http://127.0.0.1:80", &u, &err),
                     FLD_OK);
    free(u);
    assert_int_equal(syn_url_normalise("ftp://x", &u, &err), FLD_EUSAGE);
    assert_int_equal(syn_url_normalise("https://", &u, &err), FLD_EUSAGE);
    assert_int_equal(syn_url_normalise("https://u:p@x", &u, &err), FLD_EUSAGE);
    assert_int_equal(syn_url_normalise("https://x/?a=1", &u, &err), FLD_EUSAGE);
    assert_int_equal(syn_url_normalise("https://x y", &u, &err), FLD_EUSAGE);
    assert_null(u);
}

static void test_enroll_records_the_server(void **state)
{
    struct fx *f = *state;
    struct syn_client c = client(f, f->a);
    struct syn_enrollment e;
    struct srv_storage *st;
    struct srv_device *d;
    struct fld_err err;
    char *v, pub[65];

    make_code(f, "AAAA-BBBB-CCCC-DDDD", "inspector", "4201 4202");
    assert_int_equal(
        syn_enroll(&c, URL "/", "aaaa-bbbb-cccc-dddd", NULL, NULL, &e, &err),
        FLD_OK);
    assert_string_equal(e.url, URL);
    assert_string_equal(e.role, "inspector");
    assert_string_equal(e.scope, "4201 4202");
    assert_false(e.was_enrolled);
    syn_enrollment_free(&e);
    assert_int_equal(fld_store_meta_get(f->a->st, SYN_META_URL, &v, NULL),
                     FLD_OK);
    assert_string_equal(v, URL);
    free(v);
    assert_int_equal(fld_store_meta_get(f->a->st, SYN_META_SCOPE, &v, NULL),
                     FLD_OK);
    assert_string_equal(v, "4201 4202");
    free(v);
    fld_key_public_hex(f->a->key, pub);
    assert_int_equal(srv_acquire(f->s, &st, NULL), FLD_OK);
    assert_int_equal(srv_storage_device_get(st, pub, &d, NULL), FLD_OK);
    assert_string_equal(d->role, "inspector");
    srv_device_free(d);
    srv_release(f->s, st);

    /* Again at the same server: refused locally, nothing sent. */
    f->t.n_performed = 0;
    assert_int_equal(syn_enroll(&c, URL, "whatever", NULL, NULL, &e, &err),
                     FLD_EXISTS);
    assert_int_equal(f->t.n_performed, 0);
}

static void test_enroll_refusals(void **state)
{
    struct fx *f = *state;
    struct syn_client c = client(f, f->a);
    struct syn_enrollment e;
    struct fld_err err;
    char *v;

    assert_int_equal(syn_enroll(&c, URL, "NOPE-NOPE", NULL, NULL, &e, &err),
                     FLD_EINVAL);
    assert_non_null(strstr(err.msg, "invalid_code"));
    assert_non_null(strstr(err.msg, URL));
    assert_int_equal(fld_store_meta_get(f->a->st, SYN_META_URL, &v, NULL),
                     FLD_NOTFOUND);
    assert_int_equal(syn_enroll(&c, "gopher://x", "X", NULL, NULL, &e, &err),
                     FLD_EUSAGE);
    fail_next(&f->t, F_DOWN, -1);
    make_code(f, "DOWN", "inspector", "4201");
    assert_int_equal(syn_enroll(&c, URL, "DOWN", NULL, NULL, &e, &err),
                     FLD_ENET);
    assert_non_null(strstr(err.msg, "cannot reach the server at " URL));
    assert_int_equal(f->t.n_performed, 1 + SYN_ATTEMPTS);
}

/* The server enrolled the key but the answer was lost: the retry finds
 * the code spent, and a signed probe shows the key is ours. */
static void test_enroll_answer_lost(void **state)
{
    struct fx *f = *state;
    struct syn_client c = client(f, f->a);
    struct syn_enrollment e;
    struct fld_err err;
    struct syn_stats s;
    char *v;

    make_code(f, "LOST", "inspector", "4201");
    fail_next(&f->t, F_DROP_ANSWER, 1);
    assert_int_equal(syn_enroll(&c, URL, "LOST", NULL, NULL, &e, &err), FLD_OK);
    assert_true(e.was_enrolled);
    syn_enrollment_free(&e);
    assert_int_equal(fld_store_meta_get(f->a->st, SYN_META_URL, &v, NULL),
                     FLD_OK);
    free(v);
    capture(f->a, "4201", 1);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.stored, 1);

    /* Someone else's spent code is still refused. */
    make_code(f, "USED", "inspector", "4201");
    fail_next(&f->t, F_DROP_ANSWER, 1);
    c = client(f, f->b);
    assert_int_equal(syn_enroll(&c, URL, "USED", NULL, NULL, &e, &err), FLD_OK);
    syn_enrollment_free(&e);
    c = client(f, f->c);
    assert_int_equal(syn_enroll(&c, URL, "USED", NULL, NULL, &e, &err),
                     FLD_EINVAL);
    assert_non_null(strstr(err.msg, "invalid_code"));
}

/* ---- push and pull
 * ----------------------------------------------------------- */

static void test_two_devices_converge(void **state)
{
    struct fx *f = *state;
    struct syn_stats s;
    struct fld_err err;
    char *ha, *hb;

    enroll(f, f->a, "A", "inspector", "4201");
    enroll(f, f->b, "B", "inspector", "4201");
    capture(f->a, "4201", 3);
    capture(f->a, "4201", 2);
    capture(f->b, "4201", 4);

    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.requests, 1);
    assert_int_equal(s.stored, 5);
    assert_int_equal(s.pulled, 0);
    assert_int_equal(pending(f->a), 0);
    assert_int_equal(sync_dev(f, f->b, false, &s, &err), FLD_OK);
    assert_int_equal(s.stored, 4);
    assert_int_equal(s.pulled, 5);
    assert_int_equal(s.pulled_new, 5);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.pulled, 4);
    assert_int_equal(s.pushed, 0);
    assert_int_equal(server_versions(f), 9);

    ha = hashes_of(f->a);
    hb = hashes_of(f->b);
    assert_string_equal(ha, hb);
    free(ha);
    free(hb);

    /* Nothing to do: one request each, nothing pushed back (pulled
     * versions are known to the server). */
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.requests, 1);
    assert_int_equal(s.pushed + s.pulled, 0);
    assert_true(s.bytes_up + s.bytes_down < 2000);
    assert_int_equal(sync_dev(f, f->b, false, &s, &err), FLD_OK);
    assert_int_equal(s.requests, 1);
    assert_int_equal(s.pushed + s.pulled, 0);
    assert_int_equal(pending(f->b), 0);
}

/* A sync on a thread of its own, over its own copy of the transport. */
struct concurrent {
    struct syn_client c;
    struct inproc t;
    struct syn_stats s;
    struct fld_err err;
    int rc;
};

static void *sync_thread(void *arg)
{
    struct concurrent *x = arg;

    x->rc = syn_sync(&x->c, false, &x->s, &x->err);
    return NULL;
}

/*
 * Two devices of one process syncing at the same moment (a web UI
 * serving two people, the load benchmark): nothing one sync keeps may be
 * another's (make tsan runs this), and both end with every version.
 */
static void test_two_syncs_at_once(void **state)
{
    struct fx *f = *state;
    struct concurrent x[2];
    struct tu_device *d[2] = {f->a, f->b};
    pthread_t th[2];
    struct syn_stats s;
    struct fld_err err;
    char *ha, *hb;
    int i;

    enroll(f, f->a, "A", "inspector", "4201");
    enroll(f, f->b, "B", "inspector", "4201");
    for (i = 0; i < 3; i++) {
        capture(f->a, "4201", 10);
        capture(f->b, "4201", 10);
    }
    for (i = 0; i < 2; i++) {
        memset(&x[i], 0, sizeof x[i]);
        x[i].t = f->t;
        x[i].c = client(f, d[i]);
        x[i].c.transport = &x[i].t.base;
        x[i].c.sleep_ms = NULL; /* the fixture's counter is not shared */
        assert_int_equal(pthread_create(&th[i], NULL, sync_thread, &x[i]), 0);
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(x[i].rc, FLD_OK);
        assert_int_equal(x[i].s.stored, 30);
    }
    /* what each pushed while the other pulled comes now */
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(sync_dev(f, f->b, false, &s, &err), FLD_OK);
    assert_int_equal(count_versions(f->a), 60);
    assert_int_equal(count_versions(f->b), 60);
    ha = hashes_of(f->a);
    hb = hashes_of(f->b);
    assert_string_equal(ha, hb);
    free(ha);
    free(hb);
}

/*
 * More pending versions than the queue holds at once: they go a window
 * at a time (7 here, in batches of 3), parents before children across
 * windows, and the counts cover them all.
 */
static void test_queue_in_windows(void **state)
{
    struct fx *f = *state;
    struct syn_client c;
    struct syn_stats s;
    struct fld_err err;

    enroll(f, f->a, "A", "inspector", "4201");
    capture(f->a, "4201", 10);
    capture(f->a, "4201", 10);
    capture(f->a, "4201", 10);
    c = client(f, f->a);
    c.queue_window = 7;
    c.batch_versions = 3;
    assert_int_equal(syn_sync(&c, false, &s, &err), FLD_OK);
    /* windows of 7, 7, 7, 7 and 2, each in batches of 3, 3 and 1 */
    assert_int_equal(s.requests, 13);
    assert_int_equal(s.to_push, 30);
    assert_int_equal(s.stored, 30);
    assert_int_equal(s.quarantined, 0); /* no child before its parent */
    assert_int_equal(s.pending, 0);
    assert_int_equal(pending(f->a), 0);
    assert_int_equal(server_versions(f), 30);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.pushed, 0);
}

static void test_batches_and_pages(void **state)
{
    struct fx *f = *state;
    struct syn_client c = client(f, f->a);
    struct syn_stats s;
    struct fld_err err;
    int i;

    enroll(f, f->a, "A", "inspector", "4201");
    enroll(f, f->b, "B", "inspector", "4201");
    for (i = 0; i < 5; i++)
        capture(f->a, "4201", 5);
    /* 25 versions, 4 per push: 7 requests, every parent before its child
     * and the chain in dseq order (or the server would quarantine). */
    c.batch_versions = 4;
    assert_int_equal(syn_sync(&c, false, &s, &err), FLD_OK);
    assert_int_equal(s.requests, 7);
    assert_int_equal(s.stored, 25);
    assert_int_equal(s.quarantined, 0);
    assert_int_equal(f->t.n_pushed, 25);

    /* Pages of 6 on the other device: 5 requests (the last one says no
     * more), all pulled once. */
    c = client(f, f->b);
    c.page_limit = 6;
    assert_int_equal(syn_sync(&c, false, &s, &err), FLD_OK);
    assert_int_equal(s.requests, 5);
    assert_int_equal(s.pulled, 25);
    assert_int_equal(s.pulled_new, 25);

    /* The byte cap: one version per push when each is larger than it. */
    capture(f->b, "4201", 3);
    c.batch_bytes = 1;
    assert_int_equal(syn_sync(&c, false, &s, &err), FLD_OK);
    assert_int_equal(s.requests, 3);
    assert_int_equal(s.stored, 3);
}

static int put_version(void *ctx, const struct fld_store_row *row)
{
    struct fld_version **out = ctx;
    size_t i = 0;

    while (out[i] != NULL)
        i++;
    assert_int_equal(
        fld_version_open(row->body, row->body_len, row->sig, &out[i], NULL),
        FLD_OK);
    return FLD_OK;
}

/* B carries A's versions (a relay), received children first: B pushes
 * parents first all the same, and never pushes back what it pulled. */
static void test_relay_parents_first(void **state)
{
    struct fx *f = *state;
    struct fld_version *v[8] = {NULL};
    struct syn_stats s;
    struct fld_err err;
    int i;

    enroll(f, f->a, "A", "inspector", "4201");
    enroll(f, f->b, "B", "inspector", "4201");
    capture(f->a, "4201", 4);
    assert_int_equal(fld_store_each_version(f->a->st, NULL, FLD_ORDER_ARRIVAL,
                                            put_version, v, NULL),
                     FLD_OK);
    assert_int_equal(fld_store_begin(f->b->st, NULL), FLD_OK);
    for (i = 3; i >= 0; i--)
        assert_int_equal(fld_store_put_version(f->b->st, v[i], NULL), FLD_OK);
    assert_int_equal(fld_store_commit(f->b->st, NULL), FLD_OK);
    assert_int_equal(sync_dev(f, f->b, false, &s, &err), FLD_OK);
    assert_int_equal(s.stored, 4);
    assert_int_equal(s.quarantined, 0);
    /* A's sync: the server holds them, A pushes (duplicates), pulls none. */
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.duplicates, 4);
    /* Pull skips what the device itself pushed, never by author: B pushed
     * these, so they come back to A, which has them. */
    assert_int_equal(s.pulled, 4);
    assert_int_equal(s.pulled_new, 0);
    for (i = 0; i < 4; i++)
        fld_version_free(v[i]);
}

/* ---- the dead-letter list
 * ----------------------------------------------------- */

struct dead {
    int n;
    char reason[32];
};

static int on_dead(void *ctx, const struct fld_store_refused *r)
{
    struct dead *d = ctx;

    d->n++;
    snprintf(d->reason, sizeof d->reason, "%s", r->reason);
    assert_string_equal(r->subject, "4202");
    assert_non_null(r->message);
    return FLD_OK;
}

static void test_refused_goes_to_dead_letters(void **state)
{
    struct fx *f = *state;
    struct syn_stats s;
    struct fld_err err;
    struct dead d = {0, ""};

    enroll(f, f->a, "A", "inspector", "4201");
    capture(f->a, "4201", 2);
    capture(f->a, "4202", 1); /* outside the scope */
    capture(f->a, "4201", 2);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.stored, 4);
    assert_int_equal(s.refused, 1);
    assert_int_equal(pending(f->a), 0);
    assert_int_equal(fld_store_sync_each_refused(f->a->st, on_dead, &d, NULL),
                     FLD_OK);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.reason, "out_of_scope");
    /* Not pushed again ... */
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.pushed, 0);
    /* ... until a full sync, which tries everything again. */
    assert_int_equal(sync_dev(f, f->a, true, &s, &err), FLD_OK);
    assert_int_equal(s.pushed, 5);
    assert_int_equal(s.duplicates, 4);
    assert_int_equal(s.refused, 1);
    assert_int_equal(server_versions(f), 4);
}

/* ---- failures
 * ---------------------------------------------------------------- */

/* The server stores the batch, the answer never arrives, and the link
 * stays down: the sync fails. The next one completes: the versions come
 * back "duplicate", nothing is lost and nothing is stored twice. */
static void test_answer_lost_then_resume(void **state)
{
    struct fx *f = *state;
    struct syn_client c;
    struct syn_stats s;
    struct syn_status note;
    struct fld_err err;
    char *v;

    enroll(f, f->a, "A", "inspector", "4201");
    enroll(f, f->b, "B", "inspector", "4201");
    capture(f->b, "4201", 3);
    assert_int_equal(sync_dev(f, f->b, false, &s, &err), FLD_OK);
    capture(f->a, "4201", 6);

    c = client(f, f->a);
    c.max_attempts = 2;
    fail_next(&f->t, F_DROP_ANSWER, -1);
    assert_int_equal(syn_sync(&c, false, &s, &err), FLD_ENET);
    assert_non_null(strstr(err.msg, URL));
    assert_int_equal(s.requests, 2);
    assert_int_equal(server_versions(f), 9); /* the server acted */
    assert_int_equal(pending(f->a), 6);      /* we never heard */
    assert_int_equal(fld_store_meta_get(f->a->st, SYN_META_CURSOR, &v, NULL),
                     FLD_NOTFOUND);              /* nothing applied */
    syn_status_read(f->a->dir, f->a->st, &note); /* noted for status */
    assert_non_null(strstr(note.last_error, "connection reset"));
    assert_int_equal(note.last_ok_ms, 0);
    assert_true(note.last_try_ms > 0);
    syn_status_free(&note);

    fail_next(&f->t, F_NONE, 0);
    assert_int_equal(syn_sync(&c, false, &s, &err), FLD_OK);
    assert_int_equal(s.duplicates, 6);
    assert_int_equal(s.stored, 0);
    assert_int_equal(s.pulled_new, 3);
    assert_int_equal(pending(f->a), 0);
    assert_int_equal(server_versions(f), 9);
    assert_int_equal(count_versions(f->a), 9);
    syn_status_read(f->a->dir, f->a->st, &note);
    assert_string_equal(note.last_error, "");
    assert_int_equal(note.last_ok_ms, note.last_try_ms);
    syn_status_free(&note);
}

/* One lost answer inside a sync is retried at once (with backoff). */
static void test_answer_lost_once_is_retried(void **state)
{
    struct fx *f = *state;
    struct syn_client c;
    struct syn_stats s;
    struct fld_err err;

    enroll(f, f->a, "A", "inspector", "4201");
    capture(f->a, "4201", 5);
    c = client(f, f->a);
    c.batch_versions = 2;
    f->n_sleeps = 0;
    fail_next(&f->t, F_DROP_ANSWER, 1);
    assert_int_equal(syn_sync(&c, false, &s, &err), FLD_OK);
    assert_int_equal(s.retries, 1);
    assert_int_equal(s.requests, 4);
    assert_int_equal(s.duplicates, 2);
    assert_int_equal(s.stored, 3);
    assert_int_equal(f->n_sleeps, 1);
    assert_int_equal(server_versions(f), 5);
}

static void test_5xx_backoff(void **state)
{
    struct fx *f = *state;
    struct syn_stats s;
    struct fld_err err;

    enroll(f, f->a, "A", "inspector", "4201");
    capture(f->a, "4201", 2);
    f->n_sleeps = 0;
    fail_next(&f->t, F_BUSY_503, 3);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.retries, 3);
    assert_int_equal(s.stored, 2);
    assert_int_equal(f->n_sleeps, 3);
    /* Exponential with full jitter: each wait in [d/2, d], d doubling. */
    assert_in_range(f->slept_ms[0], SYN_BACKOFF_MS / 2, SYN_BACKOFF_MS);
    assert_in_range(f->slept_ms[1], SYN_BACKOFF_MS, 2 * SYN_BACKOFF_MS);
    assert_in_range(f->slept_ms[2], 2 * SYN_BACKOFF_MS, 4 * SYN_BACKOFF_MS);

    /* Busy for good: give up after the attempts, naming the server. */
    capture(f->a, "4201", 1);
    fail_next(&f->t, F_BUSY_503, -1);
    f->t.n_handled = 0;
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_ENET);
    assert_int_equal(s.requests, SYN_ATTEMPTS);
    assert_non_null(strstr(err.msg, URL));
    assert_non_null(strstr(err.msg, "503"));
    assert_int_equal(pending(f->a), 1);
}

/* A captive portal's page is reported as such, never parsed, and not
 * retried: nothing changes on the device. */
static void test_captive_portal(void **state)
{
    struct fx *f = *state;
    struct syn_stats s;
    struct fld_err err;
    char *v;

    enroll(f, f->a, "A", "inspector", "4201");
    capture(f->a, "4201", 2);
    fail_next(&f->t, F_PORTAL, -1);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_EPROTO);
    assert_int_equal(s.requests, 1);
    assert_non_null(
        strstr(err.msg, "the server at " URL " answered with text/html"));
    assert_non_null(strstr(err.msg, "captive portal"));
    assert_int_equal(pending(f->a), 2);
    assert_int_equal(fld_store_meta_get(f->a->st, SYN_META_CURSOR, &v, NULL),
                     FLD_NOTFOUND);

    /* A proxy's HTML 502 may pass: retried, then reported as not ours. */
    fail_next(&f->t, F_PROXY_502, -1);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_EPROTO);
    assert_int_equal(s.requests, SYN_ATTEMPTS);
    assert_non_null(strstr(err.msg, "text/html (HTTP 502)"));
    fail_next(&f->t, F_PROXY_502, 2);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.stored, 2);
}

/* Devices A and B enrolled for commune 4201, and A's records (of
 * versions_each versions) on the server, for B to pull. */
static void pushed_by_a(struct fx *f, int records, int versions_each)
{
    struct syn_stats s;
    struct fld_err err;
    int i;

    enroll(f, f->a, "A", "inspector", "4201");
    enroll(f, f->b, "B", "inspector", "4201");
    for (i = 0; i < records; i++)
        capture(f->a, "4201", versions_each);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.stored, records * versions_each);
}

/* A page whose version does not verify is refused whole. */
static void test_tampered_page(void **state)
{
    struct fx *f = *state;
    struct syn_stats s;
    struct fld_err err;
    char *v;

    pushed_by_a(f, 1, 3);
    fail_next(&f->t, F_TAMPER_PULL, 1);
    assert_int_equal(sync_dev(f, f->b, false, &s, &err), FLD_EBADSIG);
    assert_non_null(strstr(err.msg, "does not verify"));
    assert_int_equal(count_versions(f->b), 0);
    assert_int_equal(fld_store_meta_get(f->b->st, SYN_META_CURSOR, &v, NULL),
                     FLD_NOTFOUND);
    assert_int_equal(sync_dev(f, f->b, false, &s, &err), FLD_OK);
    assert_int_equal(s.pulled_new, 3);
}

/*
 * One forged signature among 500 pulled versions, verified on several
 * threads: the page is refused whole (docs/PROTOCOL.md: a client verifies
 * every pulled version before keeping it), the error names that version
 * by its seq, and nothing of the page is kept, not even the cursor.
 */
static void test_forged_among_500(void **state)
{
    struct fx *f = *state;
    struct syn_client c;
    struct syn_stats s;
    struct fld_err err;
    char want[64];
    char *v;

    pushed_by_a(f, 250, 2);
    c = client(f, f->b);
    c.page_limit = 500;
    c.verify_threads = 4;
    f->t.forge_at = 316;
    fail_next(&f->t, F_FORGE_SIG, 1);
    assert_int_equal(syn_sync(&c, false, &s, &err), FLD_EBADSIG);
    assert_true(f->t.forged_seq > 0);
    snprintf(want, sizeof want, "(seq %ld)", f->t.forged_seq);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "does not verify"));
    assert_int_equal(count_versions(f->b), 0);
    assert_int_equal(fld_store_meta_get(f->b->st, SYN_META_CURSOR, &v, NULL),
                     FLD_NOTFOUND);
    /* the same page unforged is kept whole */
    assert_int_equal(syn_sync(&c, false, &s, &err), FLD_OK);
    assert_int_equal(s.pulled_new, 500);
}

/*
 * Once nothing is left to push, the request for the next page goes out
 * while the page before is verified (client.c). A bad third page of five:
 * the sync fails naming it, the fourth page, fetched meanwhile, is
 * dropped unread, and what the first two pages brought stays, with the
 * cursor after them, so the next sync pulls only the rest.
 */
static void test_bad_page_while_next_is_ahead(void **state)
{
    struct fx *f = *state;
    struct syn_client c;
    struct syn_stats s;
    struct fld_err err;

    pushed_by_a(f, 5, 5);
    c = client(f, f->b);
    c.page_limit = 6;
    f->t.n_performed = 0;
    fail_next(&f->t, F_TAMPER_PULL, 1);
    f->t.n_spared = 2;
    assert_int_equal(syn_sync(&c, false, &s, &err), FLD_EBADSIG);
    assert_non_null(strstr(err.msg, "does not verify"));
    assert_int_equal(f->t.n_performed, 4); /* the fourth page went ahead */
    assert_int_equal(count_versions(f->b), 12);

    f->t.n_performed = 0;
    assert_int_equal(syn_sync(&c, false, &s, &err), FLD_OK);
    assert_int_equal(s.pulled_new, 13);
    assert_int_equal(f->t.n_performed, 3);
    assert_int_equal(count_versions(f->b), 25);
}

static void test_interrupted(void **state)
{
    struct fx *f = *state;
    struct syn_client c;
    struct syn_stats s;
    struct fld_err err;
    volatile sig_atomic_t stop = 1;

    enroll(f, f->a, "A", "inspector", "4201");
    c = client(f, f->a);
    c.stop = &stop;
    assert_int_equal(syn_sync(&c, false, &s, &err), FLD_ENET);
    assert_string_equal(err.msg, "interrupted");
    assert_int_equal(s.requests, 0);
}

static void test_not_enrolled(void **state)
{
    struct fx *f = *state;
    struct syn_stats s;
    struct fld_err err;

    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_NOTFOUND);
    assert_non_null(strstr(err.msg, "field enroll"));
}

/* ---- clocks, resets
 * ------------------------------------------------------------ */

static void test_clock_skew_corrected(void **state)
{
    struct fx *f = *state;
    struct syn_stats s;
    struct fld_err err;
    int64_t offset;

    enroll(f, f->a, "A", "inspector", "4201");
    capture(f->a, "4201", 1);
    assert_int_equal(fld_store_begin(f->a->st, NULL), FLD_OK);
    assert_int_equal(
        fld_store_meta_set_int(f->a->st, "clock.offset_ms", -3600000, NULL),
        FLD_OK);
    assert_int_equal(fld_store_commit(f->a->st, NULL), FLD_OK);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.clock_corrections, 1);
    assert_int_equal(s.stored, 1);
    assert_int_equal(s.requests, 2);
    assert_int_equal(
        fld_store_meta_get_int(f->a->st, "clock.offset_ms", &offset, NULL),
        FLD_OK);
    assert_in_range(offset + 5000, 0, 10000);
}

/* A device whose clock says next year: its version is stored and served,
 * but the receiver's clock stops at the server's time plus 5 minutes. */
static void test_hlc_bounded_by_server_time(void **state)
{
    struct fx *f = *state;
    struct fld_version_draft d;
    struct fld_version *v;
    struct fld_json *answers = fld_json_object();
    struct syn_stats s;
    struct fld_err err;
    int64_t now = fld_now_ms(), hlc;
    char pub[65];

    enroll(f, f->a, "A", "inspector", "4201");
    enroll(f, f->b, "B", "inspector", "4201");
    memset(&d, 0, sizeof d);
    d.record = "0193aaaabbbbccccddddeeeeffff0000";
    d.dseq = 1;
    d.hlc.ms = now + 365LL * 86400000;
    d.template_id = fld_template_id(f->a->t);
    d.template_hash = fld_template_hash(f->a->t);
    d.subject = "4201";
    d.status = "draft";
    d.answers = answers;
    assert_int_equal(fld_version_sign(&d, f->a->key, &v, NULL), FLD_OK);
    fld_key_public_hex(f->a->key, pub);
    assert_string_equal(v->author, pub);
    assert_int_equal(fld_store_begin(f->a->st, NULL), FLD_OK);
    assert_int_equal(fld_store_put_version(f->a->st, v, NULL), FLD_OK);
    assert_int_equal(fld_store_commit(f->a->st, NULL), FLD_OK);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.stored, 1);
    assert_int_equal(sync_dev(f, f->b, false, &s, &err), FLD_OK);
    assert_int_equal(s.pulled_new, 1);
    assert_int_equal(
        fld_store_meta_get_int(f->b->st, "clock.hlc_ms", &hlc, NULL), FLD_OK);
    assert_true(hlc >= now);
    assert_true(hlc <= fld_now_ms() + FLD_HLC_MAX_AHEAD_MS + 1000);
    fld_version_free(v);
    fld_json_free(answers);
}

/* The server is restored from a backup that lacks the last versions (a
 * new epoch): the old cursors are answered with a reset, the devices pull
 * from the start what the server has and push again what it lacks, and
 * the restored server is whole again. */
static void test_cursor_reset_refills_a_restored_server(void **state)
{
    struct fx *f = *state;
    struct srv_storage *st;
    struct syn_stats s;
    struct fld_err err;
    char *copy = fld_xasprintf("%s/other.db", f->dir);

    enroll(f, f->a, "A", "inspector", "4201");
    enroll(f, f->b, "B", "inspector", "4201");
    capture(f->a, "4201", 3);
    capture(f->b, "4201", 2);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(sync_dev(f, f->b, false, &s, &err), FLD_OK);
    assert_int_equal(srv_acquire(f->s, &st, NULL), FLD_OK);
    assert_int_equal(srv_storage_backup(st, copy, NULL), FLD_OK);
    srv_release(f->s, st);
    capture(f->a, "4201", 2);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.stored, 2);
    assert_int_equal(sync_dev(f, f->b, false, &s, &err), FLD_OK);
    assert_int_equal(server_versions(f), 7);

    /* Restore: the copy, with an epoch of its own. */
    srv_close(f->s);
    assert_int_equal(srv_storage_open(copy, false, &st, NULL), FLD_OK);
    assert_int_equal(
        srv_storage_meta_set(st, "epoch", "fedcba9876543210", NULL), FLD_OK);
    srv_storage_close(st);
    free(f->cfg.db);
    f->cfg.db = copy;
    assert_int_equal(srv_open(&f->cfg, &f->s, NULL), FLD_OK);
    f->t.s = f->s;
    assert_int_equal(server_versions(f), 5);

    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_true(s.reset);
    assert_int_equal(s.pulled, 5); /* from the start, its own included */
    assert_int_equal(s.pulled_new, 0);
    assert_int_equal(s.stored, 2); /* what the backup lacked */
    assert_int_equal(server_versions(f), 7);
    assert_int_equal(pending(f->a), 0);
    assert_int_equal(sync_dev(f, f->b, false, &s, &err), FLD_OK);
    assert_true(s.reset);
    assert_int_equal(s.pulled_new, 0);
    assert_int_equal(s.pushed, 0);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_false(s.reset);
    assert_int_equal(s.requests, 1);
    assert_int_equal(s.pushed + s.pulled, 0);
}

static void test_full_sync(void **state)
{
    struct fx *f = *state;
    struct syn_stats s;
    struct fld_err err;

    enroll(f, f->a, "A", "inspector", "4201");
    capture(f->a, "4201", 4);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(sync_dev(f, f->a, true, &s, &err), FLD_OK);
    assert_int_equal(s.duplicates, 4);
    assert_int_equal(s.stored, 0);
    assert_int_equal(server_versions(f), 4);
    assert_int_equal(pending(f->a), 0);
}

/* Large pushes travel gzipped (the server inflates them, so this also
 * shows the signature covers the compressed bytes). */
static void test_large_push_gzipped(void **state)
{
    struct fx *f = *state;
    struct syn_stats s;
    struct fld_err err;
    int i;

    enroll(f, f->a, "A", "inspector", "4201");
    for (i = 0; i < 20; i++)
        capture(f->a, "4201", 3);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.stored, 60);
    assert_int_equal(s.requests, 1);
}

/* ---- photos ------------------------------------------------------------ */

/* Device d attaches a JPEG of size bytes and names it in a new record of
 * 4201 (the demo template has no photo question; the store needs none):
 * the photo's bytes into b, its hash into hash. */
static void attach_photo(struct tu_device *d, size_t size, struct fld_buf *b,
                         char hash[65])
{
    char *path = fld_xasprintf("%s/in.jpg", d->dir);
    struct fld_attachment a;
    struct fld_json *answers = fld_json_object();
    struct fld_version *v = NULL;

    pt_jpeg(b, NULL, size);
    assert_int_equal(fld_file_write(path, b->data, b->len, 0600, 0, NULL),
                     FLD_OK);
    assert_int_equal(fld_store_begin(d->st, NULL), FLD_OK);
    assert_int_equal(fld_attachment_add(d->st, d->dir, path,
                                        FLD_ATTACH_DEFAULT_LIMIT, &a, NULL),
                     FLD_OK);
    assert_int_equal(fld_store_commit(d->st, NULL), FLD_OK);
    snprintf(hash, 65, "%s", a.hash);
    fld_json_set(answers, "remarks", fld_json_string(a.hash));
    assert_int_equal(
        fld_capture_new(d->st, d->key, d->t, "4201", answers, &v, NULL),
        FLD_OK);
    assert_int_equal(fld_version_n_attachments(v), 1);
    fld_version_free(v);
    fld_json_free(answers);
    free(path);
}

/* Whether file path holds exactly b's bytes. */
static bool file_is(const char *path, const struct fld_buf *b)
{
    uint8_t *data = NULL;
    size_t len = 0;
    bool same = fld_file_read(path, 64u << 20, &data, &len, NULL) == FLD_OK &&
                len == b->len && memcmp(data, b->data, len) == 0;

    free(data);
    return same;
}

static int sync_photos(struct fx *f, struct tu_device *d, bool download,
                       struct syn_stats *s, struct fld_err *err)
{
    struct syn_client c = client(f, d);

    c.home = d->dir;
    memset(s, 0, sizeof *s);
    return syn_sync_attachments(&c, true, download, NULL, s, err);
}

static void test_photo_up_through_faults_and_down(void **state)
{
    struct fx *f = *state;
    struct fld_buf photo = FLD_BUF_INIT;
    struct syn_stats s;
    struct fld_err err;
    char hash[65], *on_server, *on_b;

    enroll(f, f->a, "PHOT-OAAA", "inspector", "4201");
    enroll(f, f->b, "PHOT-OBBB", "inspector", "4201");
    attach_photo(f->a, 3u << 20, &photo, hash);
    on_server = fld_xasprintf("%s/attachments/%.2s/%s", f->dir, hash, hash);
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);

    /* The first chunk's answer is lost after the server kept it, then the
     * link is down for the next two tries: the upload goes on from the
     * server's offset, and never sends an acknowledged byte again. */
    fail_next(&f->t, F_DROP_ANSWER, 1);
    f->t.fault_method = "PUT";
    assert_int_equal(sync_photos(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.att_uploaded, 1);
    assert_int_equal(s.att_failed, 0);
    assert_true(file_is(on_server, &photo));
    fail_next(&f->t, F_DOWN, 2);
    f->t.fault_method = "PUT";
    assert_int_equal(sync_photos(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.att_to_upload, 0); /* known to be there: not asked */

    /* Device b gets the version, and the photo only when it asks. */
    assert_int_equal(sync_dev(f, f->b, false, &s, &err), FLD_OK);
    assert_int_equal(sync_photos(f, f->b, false, &s, &err), FLD_OK);
    assert_int_equal(s.att_to_download, 0);
    assert_int_equal(sync_photos(f, f->b, true, &s, &err), FLD_OK);
    assert_int_equal(s.att_downloaded, 1);
    assert_int_equal(s.att_bytes_down, (int64_t)photo.len);
    on_b = fld_attachment_path(f->b->dir, hash);
    assert_true(file_is(on_b, &photo));
    assert_int_equal(sync_photos(f, f->b, true, &s, &err), FLD_OK);
    assert_int_equal(s.att_to_download, 0);
    free(on_b);
    free(on_server);
    fld_buf_free(&photo);
}

/* A photo whose version the server does not hold yet waits; a photo file
 * changed on the device is never sent, and counted as failed. */
static void test_photo_waits_for_its_version(void **state)
{
    struct fx *f = *state;
    struct fld_buf photo = FLD_BUF_INIT;
    struct syn_stats s;
    struct fld_err err;
    char hash[65], *mine;
    int puts;

    enroll(f, f->a, "WAIT-AAAA", "inspector", "4201");
    attach_photo(f->a, 200000, &photo, hash);
    assert_int_equal(sync_photos(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.att_to_upload, 0); /* its version is not there */
    assert_int_equal(sync_dev(f, f->a, false, &s, &err), FLD_OK);
    mine = fld_attachment_path(f->a->dir, hash);
    photo.data[photo.len / 2] ^= 1;
    assert_int_equal(fld_file_write(mine, photo.data, photo.len, 0600, 0, NULL),
                     FLD_OK);
    puts = f->t.n_puts;
    assert_int_equal(sync_photos(f, f->a, false, &s, &err), FLD_OK);
    assert_int_equal(s.att_failed, 1);
    assert_int_equal(s.att_uploaded, 0);
    assert_true(f->t.n_puts - puts >= 1); /* sent, and refused whole */
    free(mine);
    fld_buf_free(&photo);
}

/* ---- the progress report (syn_report) -------------------------------------
 */

static void test_report_path_encoding(void **state)
{
    struct syn_report_query q = {"a b/\xc3\xa9", "2025-06-30", "csv", NULL};
    struct fld_buf b = FLD_BUF_INIT;

    (void)state;
    syn_report_path(&q, &b);
    /* exactly the spelling the server signs over (server-stub/query.h) */
    assert_string_equal(fld_buf_str(&b), "/v1/report?unit=a%20b%2F%C3%A9"
                                         "&as_of=2025-06-30&format=csv");
    fld_buf_free(&b);
}

static void test_report(void **state)
{
    struct fx *f = *state;
    struct syn_client ca = client(f, f->a), cb = client(f, f->b);
    struct syn_report_query q = {"4201", NULL, "json", "en"};
    struct fld_buf body = FLD_BUF_INIT;
    struct fld_json *doc;
    struct fld_err err;

    /* not enrolled: nothing sent */
    f->t.n_performed = 0;
    assert_int_equal(syn_report(&ca, &q, &body, &err), FLD_NOTFOUND);
    assert_int_equal(f->t.n_performed, 0);
    enroll(f, f->a, "REPO-RTAA-AAAA-AAAA", "supervisor", "42");
    enroll(f, f->b, "REPO-RTBB-BBBB-BBBB", "inspector", "4201");

    /* a supervisor's JSON report of a unit in its scope: the signed
     * query was accepted */
    assert_int_equal(syn_report(&ca, &q, &body, &err), FLD_OK);
    assert_int_equal(
        fld_json_parse((const uint8_t *)body.data, body.len, &doc, &err),
        FLD_OK);
    assert_string_equal(fld_json_get_string(fld_json_get(doc, "unit"), "code"),
                        "4201");
    fld_json_free(doc);

    /* the workbook: any 200 of the type asked for */
    fld_buf_reset(&body);
    q.format = "xlsx";
    assert_int_equal(syn_report(&ca, &q, &body, &err), FLD_OK);
    assert_true(body.len > 2 && memcmp(body.data, "PK", 2) == 0);

    /* an unknown unit, an inspector's device: the server's refusals */
    fld_buf_reset(&body);
    q.format = "json";
    q.unit = "4299";
    assert_int_equal(syn_report(&ca, &q, &body, &err), FLD_NOTFOUND);
    q.unit = "4201";
    assert_int_equal(syn_report(&cb, &q, &body, &err), FLD_EINVAL);
    assert_non_null(strstr(err.msg, "supervisors"));
    assert_int_equal(body.len, 0);

    /* a captive portal's page is not a report */
    fail_next(&f->t, F_PORTAL, 1);
    assert_int_equal(syn_report(&ca, &q, &body, &err), FLD_EPROTO);
    assert_int_equal(body.len, 0);
    fld_buf_free(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_normalise),
        cmocka_unit_test_setup_teardown(test_enroll_records_the_server, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_enroll_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enroll_answer_lost, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_devices_converge, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_syncs_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_queue_in_windows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_and_pages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_relay_parents_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_goes_to_dead_letters,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_lost_then_resume, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_answer_lost_once_is_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_5xx_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_captive_portal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_among_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_page_while_next_is_ahead,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_enrolled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_skew_corrected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hlc_bounded_by_server_time, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_cursor_reset_refills_a_restored_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_photo_up_through_faults_and_down,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_photo_waits_for_its_version, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_large_push_gzipped, setup,
                                        teardown),
        cmocka_unit_test(test_report_path_encoding),
        cmocka_unit_test_setup_teardown(test_report, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
