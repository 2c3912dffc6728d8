/*
 * test_srv_thresholds.c - the province's threshold revisions on the server
 * (server-stub/thresholds.c and the storage under it): what
 * srv_thresholds_add() accepts and refuses (the author's role and state,
 * the template, the values, the revision number, the signature), the
 * revision srv_thresholds_apply() chooses by date and receipt cut-off,
 * the pages devices fetch, and the number every sync answer announces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "form.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"
#include "srvtest.h"
#include "testutil.h"
/* the server's header; "thresholds.h" alone is libfield's from here */
#include "../../server-stub/thresholds.h"

#define MAX_TIME INT64_MAX

/* A template with one threshold of one value, one keyed by a year, and a
 * threshold the template knows. */
static const char template_json[] =
    "{\"id\":\"thr-srv\",\"version\":\"1\",\"title\":{\"vi\":\"T\"},"
    "\"parameters\":[{\"name\":\"year\",\"type\":\"integer\","
    " \"label\":{\"vi\":\"Năm\"}}],"
    "\"thresholds\":{"
    " \"pct\":{\"label\":{\"vi\":\"P\"},\"value\":null},"
    " \"income\":{\"label\":{\"vi\":\"I\"},\"by\":[\"year\"],"
    "  \"values\":{\"2025\":null}}},"
    "\"sections\":[{\"name\":\"s\",\"label\":{\"vi\":\"S\"},\"questions\":["
    " {\"name\":\"x\",\"type\":\"integer\",\"label\":{\"vi\":\"X\"}}]}],"
    "\"criteria\":[{\"code\":\"1\",\"name\":{\"vi\":\"C\"},\"indicators\":[{"
    " \"code\":\"1\",\"text\":{\"vi\":\"x\"},"
    " \"met\":\"${x} >= threshold('pct')\"}]}]}";

struct fx {
    char *dir, *path;
    struct srv_config cfg;
    struct srv *s;
    struct srv_storage *st;
    struct fld_template *t;
    struct fld_key *admin, *inspector, *revoked, *stranger;
};

static void add_device(struct srv_storage *st, const struct fld_key *k,
                       const char *role, int64_t revoked_ms)
{
    struct srv_device d;

    memset(&d, 0, sizeof d);
    fld_key_public_hex(k, d.pubkey);
    d.inspector = (char *)"Quản trị";
    d.role = (char *)role;
    d.enrolled_ms = 1;
    assert_int_equal(srv_storage_device_add(st, &d, NULL), FLD_OK);
    if (revoked_ms)
        assert_int_equal(
            srv_storage_device_revoke(st, d.pubkey, revoked_ms, NULL), FLD_OK);
}

static int setup(void **state)
{
    struct fx *f = fld_xcalloc(1, sizeof *f);
    struct srv_storage *st;

    if (sodium_init() < 0)
        return -1;
    f->dir = tu_mkdtemp();
    f->path = fld_xasprintf("%s/field.db", f->dir);
    assert_int_equal(fld_template_parse((const uint8_t *)template_json,
                                        strlen(template_json), &f->t, NULL),
                     FLD_OK);
    f->admin = tu_key(1);
    f->inspector = tu_key(2);
    f->revoked = tu_key(3);
    f->stranger = tu_key(4);
    st = tu_server_db(f->path, f->t, NULL, 0, NULL);
    add_device(st, f->admin, "admin", 0);
    add_device(st, f->inspector, "inspector", 0);
    add_device(st, f->revoked, "admin", 5);
    assert_int_equal(srv_storage_commit(st, NULL), FLD_OK);
    srv_storage_close(st);
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
    fld_template_free(f->t);
    fld_key_free(f->admin);
    fld_key_free(f->inspector);
    fld_key_free(f->revoked);
    fld_key_free(f->stranger);
    free(f->path);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* The file form of a revision of f->t signed by k. */
static void signed_file(const struct fx *f, const struct fld_key *k,
                        int64_t revision, const char *valid_from, int pct,
                        struct fld_buf *out)
{
    char *text = fld_xasprintf(
        "{\"template\":\"thr-srv\",\"revision\":%lld,\"valid_from\":\"%s\","
        "\"source\":\"QĐ %lld/QĐ-UBND\",\"thresholds\":{\"pct\":{\"value\":"
        "%d},\"income\":{\"values\":{\"2025\":\"61.5\"}}}}",
        (long long)revision, valid_from, (long long)revision, pct);
    struct fld_json *d = NULL;
    struct fld_thresholds *r = NULL;

    assert_int_equal(
        fld_json_parse((const uint8_t *)text, strlen(text), &d, NULL), FLD_OK);
    assert_int_equal(fld_thresholds_sign(d, f->t, k, 1000, &r, NULL), FLD_OK);
    fld_buf_reset(out);
    fld_thresholds_write(r, out);
    fld_thresholds_free(r);
    fld_json_free(d);
    free(text);
}

/* A revision body signed as is, as a client that skipped the checks
 * would: what the server must check itself. */
static void raw_file(const struct fx *f, const struct fld_key *k,
                     const char *thresholds, struct fld_buf *out)
{
    char author[FLD_HASH_HEX_LEN + 1];
    char *text;
    struct fld_json *body = NULL;
    struct fld_thresholds r;
    struct fld_buf canon = FLD_BUF_INIT;
    uint8_t h[32], msg[sizeof FLD_THRESHOLDS_SIGN_PREFIX - 1 + 32];

    fld_key_public_hex(k, author);
    text = fld_xasprintf(
        "{\"author\":\"%s\",\"issued_ms\":1,\"kind\":\"field-thresholds\","
        "\"revision\":9,\"source\":\"x\",\"template\":{\"hash\":\"%s\","
        "\"id\":\"thr-srv\"},\"thresholds\":%s,\"v\":1,"
        "\"valid_from\":\"2025-01-01\"}",
        author, fld_template_hash(f->t), thresholds);
    assert_int_equal(
        fld_json_parse((const uint8_t *)text, strlen(text), &body, NULL),
        FLD_OK);
    assert_int_equal(fld_json_write(body, &canon, NULL), FLD_OK);
    memset(&r, 0, sizeof r);
    r.body = canon.data;
    r.body_len = canon.len;
    fld_version_hash(canon.data, canon.len, r.hash);
    assert_int_equal(fld_hex_decode(r.hash, h, sizeof h), 0);
    fld_thresholds_sign_message(h, msg);
    fld_key_sign(k, msg, sizeof msg, r.sig);
    fld_buf_reset(out);
    fld_thresholds_write(&r, out);
    fld_buf_free(&canon);
    fld_json_free(body);
    free(text);
}

/* Add file at time now in its own transaction; expect rc and, when
 * refused, message. */
static int64_t add(struct fx *f, const struct fld_buf *file, int64_t now,
                   int expect, const char *message)
{
    struct fld_thresholds *r = NULL;
    struct fld_err err;
    int64_t seq = 0;
    int rc;

    fld_err_clear(&err);
    assert_int_equal(srv_storage_begin(f->st, NULL), FLD_OK);
    rc = srv_thresholds_add(f->st, file->data, file->len, now, &r, &seq, &err);
    if (rc == FLD_OK)
        assert_int_equal(srv_storage_commit(f->st, NULL), FLD_OK);
    else
        srv_storage_rollback(f->st);
    if (rc != expect)
        fail_msg("add gave %d (%s), expected %d", rc, err.msg, expect);
    if (message != NULL && strstr(err.msg, message) == NULL)
        fail_msg("\"%s\" lacks \"%s\"", err.msg, message);
    if (rc == FLD_OK)
        assert_non_null(r);
    else
        assert_null(r);
    fld_thresholds_free(r);
    return seq;
}

static int64_t max_seq(struct fx *f)
{
    int64_t n = -1;

    assert_int_equal(srv_storage_thresholds_max_seq(f->st, &n, NULL), FLD_OK);
    return n;
}

/* Only an admin's well-formed, greater revision of an installed template
 * is stored; every refusal says why and stores nothing. */
static void test_add_checks_everything(void **state)
{
    struct fx *f = *state;
    struct fld_buf b = FLD_BUF_INIT;

    assert_int_equal(max_seq(f), 0);
    signed_file(f, f->inspector, 1, "2025-01-01", 70, &b);
    add(f, &b, 1000, FLD_EINVAL,
        "enrolled as inspector: only an admin's device may set thresholds");
    signed_file(f, f->revoked, 1, "2025-01-01", 70, &b);
    add(f, &b, 1000, FLD_EINVAL, "which is revoked");
    signed_file(f, f->stranger, 1, "2025-01-01", 70, &b);
    add(f, &b, 1000, FLD_EINVAL, "which is not enrolled here");
    raw_file(f, f->admin, "{\"pct\":{\"value\":true}}", &b);
    add(f, &b, 1000, FLD_EINVAL, "thresholds.pct.value: not a number");
    raw_file(f, f->admin, "{\"pc\":{\"value\":1}}", &b);
    add(f, &b, 1000, FLD_EINVAL,
        "thresholds.pc: not a threshold of template thr-srv");
    raw_file(f, f->admin, "{\"income\":{\"values\":{\"2025/1\":1}}}", &b);
    add(f, &b, 1000, FLD_EINVAL,
        "thresholds.income.values[\"2025/1\"]: has more than 1 parts");
    assert_int_equal(max_seq(f), 0);

    signed_file(f, f->admin, 2, "2025-01-01", 70, &b);
    assert_int_equal(add(f, &b, 1000, FLD_OK, NULL), 1);
    add(f, &b, 1001, FLD_EXISTS, "this revision is stored already (seq 1)");
    signed_file(f, f->admin, 2, "2025-02-01", 71, &b);
    add(f, &b, 1002, FLD_EINVAL,
        "revision 2 is not greater than revision 2, the newest stored");
    signed_file(f, f->admin, 1, "2025-02-01", 71, &b);
    add(f, &b, 1002, FLD_EINVAL, "revision 1 is not greater than revision 2");
    signed_file(f, f->admin, 3, "2025-02-01", 71, &b);
    {
        /* another author, as valid a key: not the one who signed */
        char *at = strstr(fld_buf_str(&b), "author\\\":\\\"");

        assert_non_null(at);
        at += strlen("author\\\":\\\"");
        *at = *at == '0' ? '1' : '0';
    }
    add(f, &b, 1003, FLD_EBADSIG, "does not verify");
    signed_file(f, f->admin, 3, "2025-02-01", 71, &b);
    b.data[b.len - 4] = b.data[b.len - 4] == '0' ? '1' : '0'; /* the sig */
    add(f, &b, 1003, FLD_EBADSIG, "does not verify");
    assert_int_equal(max_seq(f), 1);
    signed_file(f, f->admin, 3, "2025-02-01", 71, &b);
    assert_int_equal(add(f, &b, 1004, FLD_OK, NULL), 2);
    assert_int_equal(max_seq(f), 2);
    fld_buf_free(&b);
}

/* The value of threshold pct that srv_thresholds_apply() sets on a fresh
 * copy of the template, -1 when it stays unknown. */
static int64_t pct_in_force(struct fx *f, int64_t cutoff, const char *as_of)
{
    const uint8_t *canon;
    size_t len;
    struct fld_template *t = NULL;
    const struct fld_json *v;
    int64_t out;

    canon = fld_template_canonical(f->t, &len);
    assert_int_equal(fld_template_parse(canon, len, &t, NULL), FLD_OK);
    assert_int_equal(srv_thresholds_apply(f->st, t, cutoff, as_of, NULL),
                     FLD_OK);
    v = fld_template_threshold(t, "pct")->value;
    out = v->type == FLD_JSON_INT ? v->i : -1;
    assert_string_equal(fld_template_hash(t), fld_template_hash(f->t));
    fld_template_free(t);
    return out;
}

/* The greatest revision valid on the date and received by the cut-off. */
static void test_apply_chooses_by_date_and_cutoff(void **state)
{
    struct fx *f = *state;
    struct fld_buf b = FLD_BUF_INIT;

    assert_int_equal(pct_in_force(f, MAX_TIME, NULL), -1); /* none yet */
    signed_file(f, f->admin, 1, "2024-01-01", 60, &b);
    add(f, &b, 1000, FLD_OK, NULL);
    signed_file(f, f->admin, 2, "2025-01-01", 65, &b);
    add(f, &b, 2000, FLD_OK, NULL);
    signed_file(f, f->admin, 3, "2026-01-01", 70, &b);
    add(f, &b, 3000, FLD_OK, NULL);

    assert_int_equal(pct_in_force(f, MAX_TIME, NULL), 70);
    assert_int_equal(pct_in_force(f, MAX_TIME, "2025-06-30"), 65);
    assert_int_equal(pct_in_force(f, MAX_TIME, "2025-01-01"), 65);
    assert_int_equal(pct_in_force(f, MAX_TIME, "2024-12-31"), 60);
    assert_int_equal(pct_in_force(f, MAX_TIME, "2023-12-31"), -1);
    /* a report cut off before revision 2 arrived still says 60 */
    assert_int_equal(pct_in_force(f, 1999, "2025-06-30"), 60);
    assert_int_equal(pct_in_force(f, 2000, "2025-06-30"), 65);
    assert_int_equal(pct_in_force(f, 999, NULL), -1);
    fld_buf_free(&b);
}

/* Call the API as the admin device: method, target (a path, and a query
 * after "?", signed with it as a client signs it), body. */
static void call(struct fx *f, const char *method, const char *path,
                 const char *body, struct srv_response *resp)
{
    struct srv_request req;
    struct syn_auth a;
    char sig[129], t[32], target[128];
    char *query;
    static int64_t last;
    int64_t now = fld_now_ms();

    if (now <= last) /* no two requests share a signature */
        now = last + 1;
    last = now;
    memset(&req, 0, sizeof req);
    memset(resp, 0, sizeof *resp);
    snprintf(target, sizeof target, "%s", path);
    if ((query = strchr(target, '?')) != NULL)
        *query++ = '\0'; /* the server has them apart (http.c) */
    req.method = method;
    req.path = target;
    req.query = query;
    req.body = (const uint8_t *)body;
    req.body_len = strlen(body);
    if (strcmp(method, "POST") == 0)
        req.content_type = "application/json";
    syn_request_sign(f->admin, method, path, now, req.body, req.body_len, &a);
    syn_auth_sig_hex(&a, sig);
    snprintf(t, sizeof t, "%lld", (long long)a.time_ms);
    req.device = a.device;
    req.time = t;
    req.signature = sig;
    srv_api_handle(f->s, &req, resp);
}

/* The newest seq a sync answer announces. */
static int64_t announced(struct fx *f)
{
    struct srv_response resp;
    struct syn_sync_response *sr = NULL;
    int64_t n;

    call(f, "POST", "/v1/sync", "{\"limit\":5}", &resp);
    assert_int_equal(resp.status, 200);
    assert_int_equal(
        syn_sync_response_decode(resp.body.data, resp.body.len, &sr, NULL),
        FLD_OK);
    n = sr->thresholds;
    syn_sync_response_free(sr);
    srv_response_free(&resp);
    return n;
}

/* The page GET path answers (200 expected). */
static struct syn_thresholds_page *fetch(struct fx *f, const char *path)
{
    struct srv_response resp;
    struct syn_thresholds_page *p = NULL;

    call(f, "GET", path, "", &resp);
    assert_int_equal(resp.status, 200);
    assert_int_equal(
        syn_thresholds_page_decode(resp.body.data, resp.body.len, &p, NULL),
        FLD_OK);
    srv_response_free(&resp);
    return p;
}

/* Every sync answer says the newest seq; revisions come in pages after a
 * seq given in the path. */
static void test_sync_announces_and_pages_serve(void **state)
{
    struct fx *f = *state;
    struct fld_buf b = FLD_BUF_INIT;
    struct srv_response resp;
    struct syn_thresholds_page *p;
    struct fld_thresholds *r = NULL;

    assert_int_equal(announced(f), 0);
    signed_file(f, f->admin, 1, "2024-01-01", 60, &b);
    add(f, &b, 1000, FLD_OK, NULL);
    signed_file(f, f->admin, 2, "2025-01-01", 65, &b);
    add(f, &b, 2000, FLD_OK, NULL);
    assert_int_equal(announced(f), 2);

    p = fetch(f, "/v1/thresholds?after=1");
    assert_int_equal(p->n, 1);
    assert_int_equal(p->items[0].seq, 2);
    assert_false(p->more);
    /* what a device fetches verifies as signed */
    assert_int_equal(fld_thresholds_open(p->items[0].body, p->items[0].body_len,
                                         p->items[0].sig, &r, NULL),
                     FLD_OK);
    assert_int_equal(r->revision, 2);
    fld_thresholds_free(r);
    syn_thresholds_page_free(p);
    p = fetch(f, "/v1/thresholds");
    assert_int_equal(p->n, 2);
    syn_thresholds_page_free(p);
    call(f, "GET", "/v1/thresholds?after=-1", "", &resp);
    assert_int_equal(resp.status, 400);
    assert_string_equal(resp.error, "bad_request");
    srv_response_free(&resp);
    call(f, "GET", "/v1/thresholds?before=1", "", &resp);
    assert_int_equal(resp.status, 400);
    srv_response_free(&resp);
    call(f, "GET", "/v1/thresholds/1", "", &resp);
    assert_int_equal(resp.status, 404);
    srv_response_free(&resp);
    fld_buf_free(&b);
}

/* A page holds at most SYN_THRESHOLDS_PAGE; "more" says another waits. */
static void test_pages_are_bounded(void **state)
{
    struct fx *f = *state;
    struct fld_buf b = FLD_BUF_INIT, out = FLD_BUF_INIT;
    struct syn_thresholds_page *p = NULL;
    int64_t i;

    for (i = 1; i <= SYN_THRESHOLDS_PAGE + 1; i++) {
        signed_file(f, f->admin, i, "2025-01-01", (int)i, &b);
        add(f, &b, 1000 + i, FLD_OK, NULL);
    }
    assert_int_equal(srv_thresholds_page(f->st, 0, &out, NULL), FLD_OK);
    assert_int_equal(syn_thresholds_page_decode(out.data, out.len, &p, NULL),
                     FLD_OK);
    assert_int_equal(p->n, SYN_THRESHOLDS_PAGE);
    assert_true(p->more);
    syn_thresholds_page_free(p);
    fld_buf_reset(&out);
    assert_int_equal(
        srv_thresholds_page(f->st, SYN_THRESHOLDS_PAGE, &out, NULL), FLD_OK);
    assert_int_equal(syn_thresholds_page_decode(out.data, out.len, &p, NULL),
                     FLD_OK);
    assert_int_equal(p->n, 1);
    assert_false(p->more);
    syn_thresholds_page_free(p);
    fld_buf_free(&out);
    fld_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_checks_everything, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_apply_chooses_by_date_and_cutoff,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_announces_and_pages_serve,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages_are_bounded, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
