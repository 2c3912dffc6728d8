/*
 * test_srv_gate.c - what field-server decides before it reads a body and
 * around its replay cache (issue 13, docs/SECURITY.md): the framing of a
 * body (framing.h: two Content-Lengths, Content-Length with
 * Transfer-Encoding), srv_api_admit() from the headers alone (who may
 * send a body, and how big), a request signed before the server started
 * (a replay after a restart), and enrollment attempts bounded per address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "framing.h"
#include "hlc.h"
#include "key.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"
#include "testutil.h"

struct fx {
    char *dir;
    struct srv_config cfg;
    struct srv *s;
    struct fld_key *k;       /* an admin device */
    struct fld_key *revoked; /* a device revoked */
};

static void add_device(struct srv_storage *st, const struct fld_key *k)
{
    struct srv_device d;

    memset(&d, 0, sizeof d);
    fld_key_public_hex(k, d.pubkey);
    d.inspector = (char *)"Test";
    d.role = (char *)"admin";
    d.enrolled_ms = 1;
    assert_int_equal(srv_storage_device_add(st, &d, NULL), FLD_OK);
}

static int setup(void **state)
{
    struct fx *f = fld_xcalloc(1, sizeof *f);
    struct srv_storage *st;
    char pub[FLD_HASH_HEX_LEN + 1];

    if (sodium_init() < 0)
        return -1;
    f->dir = tu_mkdtemp();
    srv_config_defaults(&f->cfg);
    free(f->cfg.db);
    f->cfg.db = fld_xasprintf("%s/server.db", f->dir);
    assert_int_equal(srv_storage_open(f->cfg.db, true, &st, NULL), FLD_OK);
    assert_int_equal(
        srv_storage_meta_set(st, "epoch", "0123456789abcdef", NULL), FLD_OK);
    f->k = tu_key(7);
    f->revoked = tu_key(8);
    add_device(st, f->k);
    add_device(st, f->revoked);
    fld_key_public_hex(f->revoked, pub);
    assert_int_equal(srv_storage_device_revoke(st, pub, 2, NULL), FLD_OK);
    srv_storage_close(st);
    assert_int_equal(srv_open(&f->cfg, &f->s, NULL), FLD_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    srv_close(f->s);
    srv_config_free(&f->cfg);
    fld_key_free(f->k);
    fld_key_free(f->revoked);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- framing ---------------------------------------------------------------
 */

static int frame(const char *const *lines, uint64_t *len, bool *chunked,
                 const char **why)
{
    struct srv_framing f;
    size_t i;

    srv_framing_init(&f);
    for (i = 0; lines[i] != NULL; i += 2)
        srv_framing_header(&f, lines[i], strlen(lines[i]), lines[i + 1],
                           strlen(lines[i + 1]));
    return srv_framing_check(&f, len, chunked, why);
}

static void test_framing(void **state)
{
    const char *none[] = {"Host", "x", NULL};
    const char *one[] = {"content-length", "1234", NULL};
    const char *same[] = {"Content-Length", "5", "Content-Length", "5", NULL};
    const char *two[] = {"Content-Length", "5", "Content-Length", "50", NULL};
    const char *sign[] = {"Content-Length", "+5", NULL};
    const char *list[] = {"Content-Length", "5, 5", NULL};
    const char *huge[] = {"Content-Length", "99999999999999999999", NULL};
    const char *both[] = {"Content-Length", "5", "Transfer-Encoding", "chunked",
                          NULL};
    const char *chunk[] = {"Transfer-Encoding", "Chunked", NULL};
    const char *gz[] = {"Transfer-Encoding", "gzip, chunked", NULL};
    const char *twice[] = {"Transfer-Encoding", "chunked", "Transfer-Encoding",
                           "chunked", NULL};
    const char *why;
    uint64_t len;
    bool chunked;

    (void)state;
    assert_int_equal(frame(none, &len, &chunked, &why), 0);
    assert_true(len == 0 && !chunked);
    assert_int_equal(frame(one, &len, &chunked, &why), 0);
    assert_true(len == 1234 && !chunked);
    assert_int_equal(frame(same, &len, &chunked, &why), 0);
    assert_true(len == 5);
    assert_int_equal(frame(two, &len, &chunked, &why), -1);
    assert_string_equal(why, "two different Content-Length headers");
    assert_int_equal(frame(sign, &len, &chunked, &why), -1);
    assert_int_equal(frame(list, &len, &chunked, &why), -1);
    assert_int_equal(frame(huge, &len, &chunked, &why), -1);
    assert_int_equal(frame(both, &len, &chunked, &why), -1);
    assert_string_equal(why, "Content-Length and Transfer-Encoding together");
    assert_int_equal(frame(chunk, &len, &chunked, &why), 0);
    assert_true(chunked);
    assert_int_equal(frame(gz, &len, &chunked, &why), -1);
    assert_int_equal(frame(twice, &len, &chunked, &why), -1);
}

/* ---- admission from the headers --------------------------------------------
 */

/* req signed by k at time_ms over body (NULL: headers only, as admit sees
 * them); t and sig hold the header texts. */
static void sign(struct srv_request *req, const struct fld_key *k,
                 const char *method, const char *path, const char *body,
                 int64_t time_ms, char t[32], char sig[129], struct syn_auth *a)
{
    memset(req, 0, sizeof *req);
    req->method = method;
    req->path = path;
    req->content_type = "application/json";
    syn_request_sign(k, method, path, time_ms, (const uint8_t *)body,
                     body ? strlen(body) : 0, a);
    syn_auth_sig_hex(a, sig);
    snprintf(t, 32, "%lld", (long long)a->time_ms);
    req->device = a->device;
    req->time = t;
    req->signature = sig;
    req->body = (const uint8_t *)(body ? body : "");
    req->body_len = body ? strlen(body) : 0;
}

/* srv_api_admit() on req: its result, *max and the error code. */
static int admit(struct fx *f, const struct srv_request *req, size_t *max,
                 char code[32])
{
    struct srv_response resp;
    int rc;

    memset(&resp, 0, sizeof resp);
    rc = srv_api_admit(f->s, req, max, &resp);
    snprintf(code, 32, "%s", resp.error);
    srv_response_free(&resp);
    return rc;
}

static void test_admit(void **state)
{
    struct fx *f = *state;
    struct fld_key *stranger = tu_key(9);
    struct srv_request req;
    struct syn_auth a;
    char t[32], sig[129], code[32];
    size_t max = 1;

    sign(&req, f->k, "POST", "/v1/sync", NULL, fld_now_ms(), t, sig, &a);
    assert_int_equal(admit(f, &req, &max, code), 0);
    assert_int_equal(max, f->cfg.max_body);

    req.device = req.time = req.signature = NULL; /* nobody */
    assert_int_equal(admit(f, &req, &max, code), -1);
    assert_string_equal(code, "unsigned");

    sign(&req, stranger, "POST", "/v1/sync", NULL, fld_now_ms(), t, sig, &a);
    assert_int_equal(admit(f, &req, &max, code), -1);
    assert_string_equal(code, "unknown_device");

    sign(&req, f->revoked, "POST", "/v1/sync", NULL, fld_now_ms(), t, sig, &a);
    assert_int_equal(admit(f, &req, &max, code), -1);
    assert_string_equal(code, "revoked");

    sign(&req, f->k, "POST", "/v1/sync", NULL, fld_now_ms() - 3600000, t, sig,
         &a);
    assert_int_equal(admit(f, &req, &max, code), -1);
    assert_string_equal(code, "clock_skew");

    sign(&req, f->k, "POST", "/v1/sync", NULL, fld_now_ms(), t, sig, &a);
    req.content_type = "text/plain";
    assert_int_equal(admit(f, &req, &max, code), -1);
    assert_string_equal(code, "unsupported_media_type");

    /* anyone may enroll, with a small body only */
    sign(&req, stranger, "POST", "/v1/enroll", NULL, fld_now_ms(), t, sig, &a);
    assert_int_equal(admit(f, &req, &max, code), 0);
    assert_int_equal(max, SRV_ENROLL_MAX_BODY);

    /* a GET carries nothing; an unknown path or method is refused */
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = "/v1/health";
    assert_int_equal(admit(f, &req, &max, code), 0);
    assert_int_equal(max, 0);
    req.path = "/v1/nothing";
    assert_int_equal(admit(f, &req, &max, code), -1);
    assert_string_equal(code, "not_found");
    req.path = "/v1/sync";
    assert_int_equal(admit(f, &req, &max, code), -1);
    assert_string_equal(code, "method_not_allowed");
    fld_key_free(stranger);
}

/* ---- replays
 * ------------------------------------------------------------------- */

static int handle(struct fx *f, const struct srv_request *req, char code[32])
{
    struct srv_response resp;
    int status;

    memset(&resp, 0, sizeof resp);
    srv_api_handle(f->s, req, &resp);
    status = resp.status;
    snprintf(code, 32, "%s", resp.error);
    srv_response_free(&resp);
    return status;
}

/* The replay cache dies with the process: a request signed before the
 * server (re)started is refused, with the server's time to sign again. */
static void test_replay_after_restart(void **state)
{
    struct fx *f = *state;
    struct srv_request req;
    struct syn_auth a;
    char t[32], sig[129], code[32];

    sign(&req, f->k, "POST", "/v1/sync", "{}", fld_now_ms(), t, sig, &a);
    assert_int_equal(handle(f, &req, code), 200);
    assert_int_equal(handle(f, &req, code), 401);
    assert_string_equal(code, "replayed");
    srv_close(f->s);
    usleep(5000);
    assert_int_equal(srv_open(&f->cfg, &f->s, NULL), FLD_OK);
    assert_int_equal(handle(f, &req, code), 401);
    assert_string_equal(code, "clock_skew");
    sign(&req, f->k, "POST", "/v1/sync", "{}", fld_now_ms(), t, sig, &a);
    assert_int_equal(handle(f, &req, code), 200);
}

/* Anyone can make keys and sign enrollment attempts: an address may have
 * enroll_per_ip of them in the cache, and the devices' cache is apart. */
static void test_enrollment_attempts_per_address(void **state)
{
    struct fx *f = *state;
    struct srv_request req;
    struct syn_auth a;
    char t[32], sig[129], code[32];
    const char *body = "{\"code\":\"NOT-A-CODE\",\"public_key\":\"00\"}";
    struct fld_key *k;
    uint8_t i;

    f->s->cfg.enroll_per_ip = 3;
    for (i = 0; i < 4; i++) {
        k = tu_key((uint8_t)(20 + i));
        sign(&req, k, "POST", "/v1/enroll", body, fld_now_ms(), t, sig, &a);
        req.client = "192.0.2.1";
        assert_int_equal(handle(f, &req, code), i < 3 ? 400 : 429);
        if (i == 3)
            assert_string_equal(code, "too_many_requests");
        fld_key_free(k);
    }
    k = tu_key(30);
    sign(&req, k, "POST", "/v1/enroll", body, fld_now_ms(), t, sig, &a);
    req.client = "192.0.2.2"; /* another address */
    assert_int_equal(handle(f, &req, code), 400);
    fld_key_free(k);
    sign(&req, f->k, "POST", "/v1/sync", "{}", fld_now_ms(), t, sig, &a);
    req.client = "192.0.2.1"; /* a device from the flooding address */
    assert_int_equal(handle(f, &req, code), 200);
}

static void test_replay_cache_per_owner(void **state)
{
    struct srv_replay *r = srv_replay_new(1024);
    uint8_t sig[64];

    (void)state;
    memset(sig, 5, sizeof sig);
    sig[0] = 1;
    assert_int_equal(srv_replay_check_owned(r, sig, 100, 10, 7, 2), FLD_OK);
    sig[0] = 2;
    assert_int_equal(srv_replay_check_owned(r, sig, 100, 10, 7, 2), FLD_OK);
    sig[0] = 3;
    assert_int_equal(srv_replay_check_owned(r, sig, 100, 10, 7, 2), FLD_EBUSY);
    assert_int_equal(srv_replay_check_owned(r, sig, 100, 10, 8, 2), FLD_OK);
    sig[0] = 4; /* the first two expired */
    assert_int_equal(srv_replay_check_owned(r, sig, 300, 150, 7, 2), FLD_OK);
    srv_replay_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test_setup_teardown(test_admit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_after_restart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_enrollment_attempts_per_address,
                                        setup, teardown),
        cmocka_unit_test(test_replay_cache_per_owner),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
