/*
 * test_syn_protocol.c - libsync's wire protocol: request signatures (a
 * known answer, a flipped bit, a wrong key, another path or body), the
 * message precheck (UTF-8, nesting, strings), round trips of every message,
 * refusals of wrong types, and gzip with its decompression cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "gzip.h"
#include "protocol.h"
#include "testutil.h"

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static const uint8_t body[] = "{\"cursor\":null,\"limit\":100,\"push\":[]}";

static void test_request_signature(void **state)
{
    struct fld_key *k = tu_key(1), *other = tu_key(2);
    struct syn_auth a, b, parsed;
    struct fld_buf msg = FLD_BUF_INIT;
    char sig[129], t[32];

    (void)state;
    syn_request_message("POST", "/v1/sync", 1764288000000, body,
                        sizeof body - 1, &msg);
    /* The exact signed text: prefix, method, path, time, body hash. */
    assert_memory_equal(
        msg.data, "field-request-v1\nPOST\n/v1/sync\n1764288000000\n", 45);
    assert_int_equal(msg.len, 45 + 64);
    syn_request_sign(k, "POST", "/v1/sync", 1764288000000, body,
                     sizeof body - 1, &a);
    assert_int_equal(
        syn_request_verify(&a, "POST", "/v1/sync", body, sizeof body - 1, NULL),
        FLD_OK);
    /* Through the headers and back. */
    syn_auth_sig_hex(&a, sig);
    snprintf(t, sizeof t, "%lld", (long long)a.time_ms);
    assert_int_equal(syn_auth_parse(a.device, t, sig, &parsed, NULL), FLD_OK);
    assert_int_equal(syn_request_verify(&parsed, "POST", "/v1/sync", body,
                                        sizeof body - 1, NULL),
                     FLD_OK);
    /* Anything changed fails. */
    assert_int_equal(syn_request_verify(&a, "POST", "/v1/enroll", body,
                                        sizeof body - 1, NULL),
                     FLD_EBADSIG);
    assert_int_equal(
        syn_request_verify(&a, "POST", "/v1/sync", body, sizeof body - 2, NULL),
        FLD_EBADSIG);
    b = a;
    b.time_ms++;
    assert_int_equal(
        syn_request_verify(&b, "POST", "/v1/sync", body, sizeof body - 1, NULL),
        FLD_EBADSIG);
    b = a;
    b.sig[0] ^= 1;
    assert_int_equal(
        syn_request_verify(&b, "POST", "/v1/sync", body, sizeof body - 1, NULL),
        FLD_EBADSIG);
    b = a;
    memcpy(b.pub, fld_key_public(other), 32);
    assert_int_equal(
        syn_request_verify(&b, "POST", "/v1/sync", body, sizeof body - 1, NULL),
        FLD_EBADSIG);
    fld_buf_free(&msg);
    fld_key_free(k);
    fld_key_free(other);
}

/* A photo's chunk is signed without its bytes (SYN_UNSIGNED_PAYLOAD):
 * method, path with the query, and time are covered, and the two kinds
 * of signature never stand for each other. */
static void test_request_signature_unsigned_payload(void **state)
{
    static const char path[] = "/v1/attachments/ab?offset=0";
    struct fld_key *k = tu_key(1);
    struct syn_auth a, b;

    (void)state;
    syn_request_sign_unsigned(k, "PUT", path, 1764288000000, &a);
    assert_int_equal(syn_request_verify_unsigned(&a, "PUT", path, NULL),
                     FLD_OK);
    assert_int_equal(syn_request_verify_unsigned(
                         &a, "PUT", "/v1/attachments/ab?offset=1", NULL),
                     FLD_EBADSIG);
    assert_int_equal(syn_request_verify_unsigned(&a, "GET", path, NULL),
                     FLD_EBADSIG);
    b = a;
    b.time_ms++;
    assert_int_equal(syn_request_verify_unsigned(&b, "PUT", path, NULL),
                     FLD_EBADSIG);
    /* not a signature over an empty body, nor the other way round */
    assert_int_equal(
        syn_request_verify(&a, "PUT", path, (const uint8_t *)"", 0, NULL),
        FLD_EBADSIG);
    syn_request_sign(k, "PUT", path, 1764288000000, body, sizeof body - 1, &b);
    assert_int_equal(syn_request_verify_unsigned(&b, "PUT", path, NULL),
                     FLD_EBADSIG);
    fld_key_free(k);
}

static void test_auth_parse_refusals(void **state)
{
    struct syn_auth a;
    char dev[65], sig[129];

    (void)state;
    memset(dev, 'a', 64);
    dev[64] = '\0';
    memset(sig, 'b', 128);
    sig[128] = '\0';
    assert_int_equal(syn_auth_parse(NULL, NULL, NULL, &a, NULL), FLD_NOTFOUND);
    assert_int_equal(syn_auth_parse(dev, "12", sig, &a, NULL), FLD_OK);
    assert_int_equal(syn_auth_parse(dev, NULL, sig, &a, NULL), FLD_EINVAL);
    assert_int_equal(syn_auth_parse(dev, "12x", sig, &a, NULL), FLD_EINVAL);
    assert_int_equal(syn_auth_parse(dev, "", sig, &a, NULL), FLD_EINVAL);
    assert_int_equal(
        syn_auth_parse(dev, "99999999999999999999999", sig, &a, NULL),
        FLD_EINVAL);
    assert_int_equal(syn_auth_parse("AB", "12", sig, &a, NULL), FLD_EINVAL);
    dev[0] = 'A'; /* uppercase is not the canonical form */
    assert_int_equal(syn_auth_parse(dev, "12", sig, &a, NULL), FLD_EINVAL);
    dev[0] = 'a';
    sig[5] = 'g';
    assert_int_equal(syn_auth_parse(dev, "12", sig, &a, NULL), FLD_EINVAL);
}

static void test_precheck(void **state)
{
    const char *vi = "{\"a\":\"Hà Tĩnh\"}";
    const char *quoted = "[\"[[[\\\"[[\"]";
    char deep[200];

    (void)state;
    assert_int_equal(
        syn_json_precheck((const uint8_t *)vi, strlen(vi), 4, NULL), FLD_OK);
    assert_int_equal(
        syn_json_precheck((const uint8_t *)"{\"a\":\"\xff\"}", 9, 4, NULL),
        FLD_EINVAL);
    assert_int_equal(
        syn_json_precheck((const uint8_t *)"{\"a\":\"\xed\xa0\x80\"}", 11, 4,
                          NULL),
        FLD_EINVAL);
    assert_int_equal(
        syn_json_precheck((const uint8_t *)"{\"a\":1}\0", 8, 4, NULL),
        FLD_EINVAL);
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    assert_int_equal(syn_json_precheck((const uint8_t *)deep, 200, 99, NULL),
                     FLD_ELIMIT);
    assert_int_equal(syn_json_precheck((const uint8_t *)deep, 200, 100, NULL),
                     FLD_OK);
    /* An escaped NUL would cut a decoded string short: refused; an
     * escaped backslash before "u0000" is no escape of a NUL. */
    assert_int_equal(syn_json_precheck((const uint8_t *)"{\"a\":\"x\\u0000y\"}",
                                       16, 4, NULL),
                     FLD_EINVAL);
    assert_int_equal(
        syn_json_precheck((const uint8_t *)"{\"a\":\"x\\\\u0000\"}", 16, 4,
                          NULL),
        FLD_OK);
    assert_int_equal(
        syn_json_precheck((const uint8_t *)"{\"a\":\"\\u0001\"}", 14, 4, NULL),
        FLD_OK);
    /* Brackets and escaped quotes inside strings do not count. */
    assert_int_equal(
        syn_json_precheck((const uint8_t *)quoted, strlen(quoted), 1, NULL),
        FLD_OK);
}

/* A pushed body with an escaped NUL was decoded cut short at it (cJSON
 * ends its C string there), and the rest was dropped unseen. */
static void test_pushed_body_with_escaped_nul_refused(void **state)
{
    struct fld_buf m = FLD_BUF_INIT;
    struct syn_sync_request *r = NULL;
    struct fld_err err;
    char sig[2 * FLD_SIG_LEN + 1];

    (void)state;
    memset(sig, '0', sizeof sig - 1);
    sig[sizeof sig - 1] = '\0';
    fld_buf_printf(
        &m, "{\"push\":[{\"body\":\"{}\\u0000tail\",\"sig\":\"%s\"}]}", sig);
    assert_int_equal(syn_sync_request_decode(m.data, m.len, &r, &err),
                     FLD_EINVAL);
    assert_null(r);
    assert_non_null(strstr(err.msg, "\\u0000"));
    fld_buf_free(&m);
}

static void test_sync_request_round_trip(void **state)
{
    struct syn_sync_request r, *back;
    struct syn_item item;
    struct fld_buf out = FLD_BUF_INIT;
    uint8_t sig[64];
    const char *b = "{\"answers\":{\"ghi_chú\":\"Xã \\\"Một\\\"\\n\"},\"v\":1}";

    (void)state;
    memset(sig, 0x5a, sizeof sig);
    syn_item_set(&item, (const uint8_t *)b, strlen(b), sig);
    memset(&r, 0, sizeof r);
    r.cursor = (char *)"1.abc";
    r.limit = 7;
    r.push = &item;
    r.n_push = 1;
    syn_sync_request_encode(&r, &out);
    assert_int_equal(syn_sync_request_decode(out.data, out.len, &back, NULL),
                     FLD_OK);
    assert_string_equal(back->cursor, "1.abc");
    assert_int_equal(back->limit, 7);
    assert_int_equal(back->n_push, 1);
    /* The body comes back byte for byte. */
    assert_int_equal(back->push[0].body_len, strlen(b));
    assert_memory_equal(back->push[0].body, b, strlen(b));
    assert_memory_equal(back->push[0].sig, sig, 64);
    syn_sync_request_free(back);
    free(item.body);
    fld_buf_free(&out);
}

/* The request writer escapes every control character, the quote and the
 * backslash, keeps UTF-8 as it is, and writes what cJSON reads back byte
 * for byte; an empty push with no cursor reads as one. */
static void test_sync_request_escapes(void **state)
{
    struct syn_sync_request r, *back;
    struct syn_item item;
    struct fld_buf out = FLD_BUF_INIT, pieces = FLD_BUF_INIT;
    uint8_t sig[64], raw[64];
    size_t n = 0;
    int c;

    (void)state;
    for (c = 1; c < 0x20; c++)
        raw[n++] = (uint8_t)c;
    memcpy(raw + n, "\"\\/\xc3\xa1", 5);
    n += 5;
    memset(sig, 0xa5, sizeof sig);
    syn_item_set(&item, raw, n, sig);
    memset(&r, 0, sizeof r);
    r.limit = 500;
    r.push = &item;
    r.n_push = 1;
    syn_sync_request_encode(&r, &out);
    assert_non_null(strstr(fld_buf_str(&out), "\\u001f\\\"\\\\/\xc3\xa1\""));
    assert_int_equal(syn_sync_request_decode(out.data, out.len, &back, NULL),
                     FLD_OK);
    assert_null(back->cursor);
    assert_int_equal(back->n_push, 1);
    assert_int_equal(back->push[0].body_len, n);
    assert_memory_equal(back->push[0].body, raw, n);
    syn_sync_request_free(back);

    /* in pieces: the same bytes */
    syn_sync_request_encode_item(&item, true, &pieces);
    syn_sync_request_encode_end(NULL, 500, true, &pieces);
    assert_int_equal(pieces.len, out.len);
    assert_memory_equal(pieces.data, out.data, out.len);

    fld_buf_reset(&out);
    r.n_push = 0;
    r.cursor = (char *)"2.\"q\"";
    syn_sync_request_encode(&r, &out);
    assert_int_equal(syn_sync_request_decode(out.data, out.len, &back, NULL),
                     FLD_OK);
    assert_string_equal(back->cursor, "2.\"q\"");
    assert_int_equal(back->n_push, 0);
    assert_int_equal(back->limit, 500);
    syn_sync_request_free(back);
    free(item.body);
    fld_buf_free(&out);
    fld_buf_free(&pieces);
}

static void test_sync_request_refusals(void **state)
{
    static const struct {
        const char *text;
        int rc;
    } cases[] = {
        {"{}", FLD_OK},
        {"{\"cursor\":null,\"push\":[]}", FLD_OK},
        {"", FLD_EPROTO},
        {"[]", FLD_EPROTO},
        {"{\"push\":[", FLD_EPROTO},
        {"{} {}", FLD_EPROTO},
        {"{\"push\":{}}", FLD_EINVAL},
        {"{\"limit\":\"5\"}", FLD_EINVAL},
        {"{\"limit\":0}", FLD_EINVAL},
        {"{\"limit\":2.5}", FLD_EINVAL},
        {"{\"cursor\":5}", FLD_EINVAL},
        {"{\"cursor\":\"\"}", FLD_EINVAL},
        {"{\"push\":[5]}", FLD_EINVAL},
        {"{\"push\":[{\"body\":\"x\"}]}", FLD_EINVAL},
        {"{\"push\":[{\"body\":\"x\",\"sig\":\"00\"}]}", FLD_EINVAL},
        {"{\"cursor\":\"\xc3\x28\"}", FLD_EINVAL},
    };
    struct syn_sync_request *r;
    struct fld_err err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fld_err_clear(&err);
        int rc = syn_sync_request_decode((const uint8_t *)cases[i].text,
                                         strlen(cases[i].text), &r, &err);

        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): got %d (%s), want %d", i, cases[i].text,
                     rc, err.msg, cases[i].rc);
        if (rc == FLD_OK)
            assert_int_equal(r->limit > 0, 1);
        else
            assert_null(r);
        syn_sync_request_free(r);
    }
}

static void test_sync_response_round_trip(void **state)
{
    struct syn_sync_response r, *back;
    struct syn_result res[2];
    struct syn_item pulled;
    struct fld_buf out = FLD_BUF_INIT;
    uint8_t sig[64];

    (void)state;
    memset(&r, 0, sizeof r);
    memset(res, 0, sizeof res);
    memset(res[0].hash, 'a', 64);
    res[0].status = SYN_STORED;
    memset(res[1].hash, 'b', 64);
    res[1].status = SYN_REFUSED;
    strcpy(res[1].reason, "out_of_scope");
    res[1].message = (char *)"unit 4202 is outside";
    memset(sig, 1, sizeof sig);
    syn_item_set(&pulled, (const uint8_t *)"{\"v\":1}", 7, sig);
    pulled.seq = 12345678901LL;
    r.results = res;
    r.n_results = 2;
    r.pull = &pulled;
    r.n_pull = 1;
    r.cursor = (char *)"1.x";
    r.more = true;
    r.server_time = 1764288000123LL;
    syn_sync_response_encode(&r, &out);
    assert_int_equal(syn_sync_response_decode(out.data, out.len, &back, NULL),
                     FLD_OK);
    assert_int_equal(back->n_results, 2);
    assert_int_equal(back->results[0].status, SYN_STORED);
    assert_string_equal(back->results[0].reason, "");
    assert_int_equal(back->results[1].status, SYN_REFUSED);
    assert_string_equal(back->results[1].reason, "out_of_scope");
    assert_string_equal(back->results[1].message, "unit 4202 is outside");
    assert_int_equal(back->n_pull, 1);
    assert_int_equal(back->pull[0].seq, 12345678901LL);
    assert_memory_equal(back->pull[0].body, "{\"v\":1}", 7);
    assert_string_equal(back->cursor, "1.x");
    assert_true(back->more);
    assert_false(back->reset);
    assert_int_equal(back->server_time, 1764288000123LL);
    assert_int_equal(back->thresholds, 0); /* announced: none yet */
    syn_sync_response_free(back);
    /* the newest threshold revision, and an answer that does not say */
    r.thresholds = 17;
    fld_buf_reset(&out);
    syn_sync_response_encode(&r, &out);
    assert_non_null(strstr(fld_buf_str(&out), "\"thresholds\":17"));
    assert_int_equal(syn_sync_response_decode(out.data, out.len, &back, NULL),
                     FLD_OK);
    assert_int_equal(back->thresholds, 17);
    syn_sync_response_free(back);
    r.thresholds = -1;
    fld_buf_reset(&out);
    syn_sync_response_encode(&r, &out);
    assert_null(strstr(fld_buf_str(&out), "thresholds"));
    assert_int_equal(syn_sync_response_decode(out.data, out.len, &back, NULL),
                     FLD_OK);
    assert_int_equal(back->thresholds, -1);
    syn_sync_response_free(back);
    free(pulled.body);
    fld_buf_free(&out);
}

/* What the answer's encoder wrote when it built a cJSON tree. */
static char *as_cjson_writes(const struct syn_sync_response *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *results = cJSON_AddArrayToObject(root, "results"), *pull, *o;
    char sig[2 * FLD_SIG_LEN + 1];
    char *s;
    size_t i;

    for (i = 0; i < r->n_results; i++) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "hash", r->results[i].hash);
        cJSON_AddStringToObject(o, "status",
                                syn_push_status_name(r->results[i].status));
        if (r->results[i].reason[0])
            cJSON_AddStringToObject(o, "reason", r->results[i].reason);
        if (r->results[i].message)
            cJSON_AddStringToObject(o, "message", r->results[i].message);
        cJSON_AddItemToArray(results, o);
    }
    pull = cJSON_AddArrayToObject(root, "pull");
    for (i = 0; i < r->n_pull; i++) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "body", (const char *)r->pull[i].body);
        fld_hex_encode(r->pull[i].sig, FLD_SIG_LEN, sig);
        cJSON_AddStringToObject(o, "sig", sig);
        cJSON_AddNumberToObject(o, "seq", (double)r->pull[i].seq);
        cJSON_AddItemToArray(pull, o);
    }
    cJSON_AddStringToObject(root, "cursor", r->cursor ? r->cursor : "");
    cJSON_AddBoolToObject(root, "more", r->more);
    cJSON_AddBoolToObject(root, "reset", r->reset);
    cJSON_AddNumberToObject(root, "server_time", (double)r->server_time);
    if (r->thresholds >= 0)
        cJSON_AddNumberToObject(root, "thresholds", (double)r->thresholds);
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

/* Encode r and compare with what cJSON writes for it. */
static void assert_as_cjson_writes(const struct syn_sync_response *r)
{
    struct fld_buf out = FLD_BUF_INIT;
    char *want = as_cjson_writes(r);

    syn_sync_response_encode(r, &out);
    assert_string_equal(fld_buf_str(&out), want);
    cJSON_free(want);
    fld_buf_free(&out);
}

/* The answer is written without a tree, byte for byte as cJSON wrote it:
 * every escape, non-ASCII text, empty lists, large numbers. */
static void test_sync_response_as_cjson_writes(void **state)
{
    static const char tricky[] =
        "{\"q\":\"say \\\"hi\\\"\",\"t\":\"Nguyễn\tVăn\nAn /\x01\x1f\"}";
    struct syn_sync_response r;
    struct syn_result res[3];
    struct syn_item pulled[3];
    uint8_t sig[64];
    int i;

    (void)state;
    memset(&r, 0, sizeof r);
    r.cursor = (char *)"7.\"x\\y\"";
    r.server_time = 1796579689675LL;
    r.thresholds = -1;
    assert_as_cjson_writes(&r); /* nothing pushed, nothing pulled */

    memset(res, 0, sizeof res);
    memset(res[0].hash, 'a', 64);
    res[0].status = SYN_STORED;
    memset(res[1].hash, 'b', 64);
    res[1].status = SYN_DUPLICATE;
    memset(res[2].hash, 'c', 64);
    res[2].status = SYN_REFUSED;
    strcpy(res[2].reason, "out_of_scope");
    res[2].message = (char *)"đơn vị \"4202\" nằm ngoài\\\r\n";
    for (i = 0; i < 3; i++) {
        memset(sig, 0x11 * (i + 1), sizeof sig);
        syn_item_set(&pulled[i], (const uint8_t *)tricky, sizeof tricky - 1,
                     sig);
        pulled[i].seq = i == 2 ? 12345678901LL : i + 1;
    }
    r.results = res;
    r.n_results = 3;
    r.pull = pulled;
    r.n_pull = 3;
    r.more = true;
    r.reset = true;
    r.thresholds = 17;
    assert_as_cjson_writes(&r);
    r.cursor = NULL;
    r.thresholds = 0;
    assert_as_cjson_writes(&r);
    for (i = 0; i < 3; i++)
        free(pulled[i].body);
}

/* GET /v1/thresholds?after=SEQ: items with their seq, and "more". */
static void test_thresholds_page_round_trip(void **state)
{
    struct syn_thresholds_page p, *back = NULL;
    struct syn_item it[2];
    struct fld_buf out = FLD_BUF_INIT;
    struct fld_err err;
    uint8_t sig[64];
    const char *bad = "{\"thresholds\":[{\"body\":\"{}\",\"sig\":\"00\"}]}";

    (void)state;
    memset(sig, 2, sizeof sig);
    syn_item_set(&it[0], (const uint8_t *)"{\"a\":1}", 7, sig);
    syn_item_set(&it[1], (const uint8_t *)"{\"b\":2}", 7, sig);
    it[0].seq = 4;
    it[1].seq = 9;
    p.items = it;
    p.n = 2;
    p.more = true;
    syn_thresholds_page_encode(&p, &out);
    assert_int_equal(syn_thresholds_page_decode(out.data, out.len, &back, NULL),
                     FLD_OK);
    assert_int_equal(back->n, 2);
    assert_int_equal(back->items[1].seq, 9);
    assert_memory_equal(back->items[1].body, "{\"b\":2}", 7);
    assert_memory_equal(back->items[1].sig, sig, 64);
    assert_true(back->more);
    syn_thresholds_page_free(back);
    assert_int_equal(syn_thresholds_page_decode((const uint8_t *)bad,
                                                strlen(bad), &back, &err),
                     FLD_EINVAL);
    assert_null(back);
    assert_non_null(strstr(err.msg, "thresholds[0]"));
    /* An empty last page, written directly, is still the JSON cJSON
     * would write. */
    fld_buf_free(&out);
    p.n = 0;
    p.more = false;
    syn_thresholds_page_encode(&p, &out);
    assert_string_equal(fld_buf_str(&out),
                        "{\"thresholds\":[],\"more\":false}");
    free(it[0].body);
    free(it[1].body);
    fld_buf_free(&out);
}

static void test_enroll_and_error_messages(void **state)
{
    struct syn_enroll_request rq, rq2;
    struct syn_enroll_response rs, *back;
    struct fld_buf out = FLD_BUF_INIT;
    char *scope[] = {(char *)"4201", (char *)"4202"};
    char code[SYN_REASON_MAX], msg[64];
    int64_t t;

    (void)state;
    memset(&rq, 0, sizeof rq);
    strcpy(rq.code, "ABCD-EFGH");
    memset(rq.public_key, 'c', 64);
    syn_enroll_request_encode(&rq, &out);
    assert_int_equal(syn_enroll_request_decode(out.data, out.len, &rq2, NULL),
                     FLD_OK);
    assert_string_equal(rq2.code, "ABCD-EFGH");
    assert_string_equal(rq2.public_key, rq.public_key);
    assert_int_equal(syn_enroll_request_decode(
                         (const uint8_t *)"{\"code\":\"x\"}", 12, &rq2, NULL),
                     FLD_EINVAL);
    fld_buf_reset(&out);
    memset(&rs, 0, sizeof rs);
    memset(rs.device, 'd', 64);
    rs.inspector = (char *)"Nguyễn Văn An";
    rs.role = (char *)"inspector";
    rs.scope = scope;
    rs.n_scope = 2;
    rs.server_time = 5;
    syn_enroll_response_encode(&rs, &out);
    assert_int_equal(syn_enroll_response_decode(out.data, out.len, &back, NULL),
                     FLD_OK);
    assert_string_equal(back->inspector, "Nguyễn Văn An");
    assert_int_equal(back->n_scope, 2);
    assert_string_equal(back->scope[1], "4202");
    syn_enroll_response_free(back);
    fld_buf_reset(&out);
    syn_error_encode("clock_skew", "too far", 1764288000000LL, &out);
    assert_string_equal(fld_buf_str(&out),
                        "{\"error\":{\"code\":\"clock_skew\","
                        "\"message\":\"too far\","
                        "\"server_time\":1764288000000}}");
    assert_int_equal(
        syn_error_decode(out.data, out.len, code, msg, sizeof msg, &t), FLD_OK);
    assert_string_equal(code, "clock_skew");
    assert_string_equal(msg, "too far");
    assert_int_equal(t, 1764288000000LL);
    fld_buf_free(&out);
}

static void test_gzip_round_trip_and_limits(void **state)
{
    struct fld_buf z = FLD_BUF_INIT, back = FLD_BUF_INIT;
    uint8_t *zeros = fld_xcalloc(1, 4 * 1024 * 1024);
    size_t n;

    (void)state;
    syn_gzip(body, sizeof body - 1, &z);
    assert_int_equal(syn_gunzip(z.data, z.len, 1024, &back, NULL), FLD_OK);
    assert_int_equal(back.len, sizeof body - 1);
    assert_memory_equal(back.data, body, sizeof body - 1);
    /* Exactly at the cap is fine, one byte less is not. */
    fld_buf_reset(&back);
    assert_int_equal(syn_gunzip(z.data, z.len, sizeof body - 1, &back, NULL),
                     FLD_OK);
    fld_buf_reset(&back);
    assert_int_equal(syn_gunzip(z.data, z.len, sizeof body - 2, &back, NULL),
                     FLD_ELIMIT);
    assert_int_equal(back.len, 0);
    /* Truncated, trailing bytes, not gzip at all. */
    assert_int_equal(syn_gunzip(z.data, z.len - 3, 1024, &back, NULL),
                     FLD_EINVAL);
    fld_buf_append(&z, "x", 1);
    assert_int_equal(syn_gunzip(z.data, z.len, 1024, &back, NULL), FLD_EINVAL);
    assert_int_equal(syn_gunzip(body, sizeof body - 1, 1024, &back, NULL),
                     FLD_EINVAL);
    /* A bomb: 4 MiB of zeros in a few KiB stops at a 64 KiB cap. */
    fld_buf_reset(&z);
    syn_gzip(zeros, 4 * 1024 * 1024, &z);
    assert_true(z.len < 16 * 1024);
    n = back.len;
    assert_int_equal(syn_gunzip(z.data, z.len, 64 * 1024, &back, NULL),
                     FLD_ELIMIT);
    assert_int_equal(back.len, n);
    assert_true(back.cap <= 128 * 1024);
    free(zeros);
    fld_buf_free(&z);
    fld_buf_free(&back);
}

/* The trailer's size (ISIZE) only sizes the output: a lie is caught by
 * inflating, and what it makes us allocate is bounded by the cap and by
 * what deflate can reach from that many bytes. */
static void test_gzip_size_hint_is_bounded(void **state)
{
    struct fld_buf z = FLD_BUF_INIT, back = FLD_BUF_INIT;

    (void)state;
    syn_gzip(body, sizeof body - 1, &z);
    memset(z.data + z.len - 4, 0xff, 4); /* claims 4 GiB */
    assert_int_equal(syn_gunzip(z.data, z.len, 64 << 20, &back, NULL),
                     FLD_EINVAL);
    assert_true(back.cap <= z.len * 1032 + 1);
    fld_buf_free(&back);
    assert_int_equal(syn_gunzip(z.data, z.len, 10, &back, NULL), FLD_ELIMIT);
    assert_true(back.cap <= 11);
    fld_buf_free(&back);
    memset(z.data + z.len - 4, 0, 4); /* claims nothing */
    assert_int_equal(syn_gunzip(z.data, z.len, 1024, &back, NULL), FLD_EINVAL);
    fld_buf_free(&back);
    fld_buf_free(&z);
}

/* A member written in pieces inflates to the pieces joined. */
static void test_gzip_in_pieces(void **state)
{
    struct fld_buf z = FLD_BUF_INIT, back = FLD_BUF_INIT;
    struct syn_gzip_stream *g = syn_gzip_begin();
    size_t half = (sizeof body - 1) / 2;

    (void)state;
    syn_gzip_more(g, body, half, &z);
    syn_gzip_more(g, body, 0, &z);
    syn_gzip_end(g, body + half, sizeof body - 1 - half, &z);
    assert_int_equal(syn_gunzip(z.data, z.len, 1024, &back, NULL), FLD_OK);
    assert_int_equal(back.len, sizeof body - 1);
    assert_memory_equal(back.data, body, sizeof body - 1);
    syn_gzip_abandon(syn_gzip_begin());
    syn_gzip_abandon(NULL);
    fld_buf_free(&z);
    fld_buf_free(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_signature),
        cmocka_unit_test(test_request_signature_unsigned_payload),
        cmocka_unit_test(test_auth_parse_refusals),
        cmocka_unit_test(test_precheck),
        cmocka_unit_test(test_pushed_body_with_escaped_nul_refused),
        cmocka_unit_test(test_sync_request_round_trip),
        cmocka_unit_test(test_sync_request_escapes),
        cmocka_unit_test(test_sync_request_refusals),
        cmocka_unit_test(test_sync_response_round_trip),
        cmocka_unit_test(test_thresholds_page_round_trip),
        cmocka_unit_test(test_enroll_and_error_messages),
        cmocka_unit_test(test_gzip_round_trip_and_limits),
        cmocka_unit_test(test_sync_response_as_cjson_writes),
        cmocka_unit_test(test_gzip_size_hint_is_bounded),
        cmocka_unit_test(test_gzip_in_pieces),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
