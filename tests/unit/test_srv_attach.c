/*
 * test_srv_attach.c - photos on the server (issue 10, docs/PROTOCOL.md
 * "Attachments (photos)"): the attachment endpoints driven through
 * srv_api_handle() with hand-made signed requests, and the files module
 * (attachments.h) underneath: the four states, chunks in order, a
 * duplicate or out-of-order chunk (409 with the offset), a chunk beyond
 * the signed size (413), a completed file that is not its hash (422,
 * nothing kept), a device out of scope (404), GET whole and from an
 * offset, a restarted server resuming from the acknowledged offset, bytes
 * a killed server wrote but never acknowledged, the expiry of partials,
 * the attachments of a version released from quarantine, and the backup
 * copy of the whole files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "attachments.h"
#include "hlc.h"
#include "protocol.h"
#include "push.h"
#include "server.h"
#include "storage.h"
#include "srvtest.h"
#include "testutil.h"

#define SIZE (300 * 1024) /* the photo: three chunks of 100 KiB */
#define CHUNK (100 * 1024)

struct fx {
    char *dir;
    char *path;
    struct srv_config cfg;
    struct srv *s;
    struct fld_key *admin, *here, *there; /* there: another commune */
    char tpl[FLD_HASH_HEX_LEN + 1];
    uint8_t *photo;
    char hash[FLD_HASH_HEX_LEN + 1];
    uint8_t *other; /* a second photo, named but never uploaded */
    char other_hash[FLD_HASH_HEX_LEN + 1];
    int64_t clock; /* request times, each a millisecond later */
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

static void hash_of(const uint8_t *p, size_t len, char hex[65])
{
    uint8_t h[32];

    crypto_generichash(h, sizeof h, p, len, NULL, 0);
    fld_hex_encode(h, sizeof h, hex);
}

static void open_server(struct fx *f)
{
    assert_int_equal(srv_open(&f->cfg, &f->s, NULL), FLD_OK);
    f->clock = fld_now_ms() + 1;
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
    st =
        tu_server_db(f->path, t, units, sizeof units / sizeof units[0], f->tpl);
    f->admin = tu_key(7);
    f->here = tu_key(10);
    f->there = tu_key(11);
    add_device(st, f->admin, "admin", NULL);
    add_device(st, f->here, "inspector", "4201");
    add_device(st, f->there, "inspector", "4202");
    assert_int_equal(srv_storage_commit(st, NULL), FLD_OK);
    srv_storage_close(st);
    fld_template_free(t);
    /* one byte more, for the chunk that goes beyond the signed size */
    f->photo = fld_xmalloc(SIZE + 1);
    randombytes_buf(f->photo, SIZE + 1);
    f->photo[0] = 0xff; /* a JPEG's first bytes, for the look of it */
    f->photo[1] = 0xd8;
    hash_of(f->photo, SIZE, f->hash);
    f->other = fld_xmalloc(1000);
    randombytes_buf(f->other, 1000);
    hash_of(f->other, 1000, f->other_hash);
    srv_config_defaults(&f->cfg);
    free(f->cfg.db);
    f->cfg.db = fld_xstrdup(f->path);
    open_server(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    srv_close(f->s);
    srv_config_free(&f->cfg);
    fld_key_free(f->admin);
    fld_key_free(f->here);
    fld_key_free(f->there);
    free(f->photo);
    free(f->other);
    tu_rmdir(f->dir);
    free(f->path);
    free(f);
    return 0;
}

/* A version of a record in subject by key, naming the photo (and the
 * other one when both), with the size given for the photo. */
static struct fld_version *sign_naming(struct fx *f, const struct fld_key *k,
                                       const char *record, int64_t dseq,
                                       const char *prev, const char *parent,
                                       const char *subject, int64_t bytes,
                                       bool both)
{
    struct fld_version_draft d;
    struct fld_version *v;
    struct fld_json *answers = fld_json_object();
    struct fld_json *att = fld_json_object(), *a;
    const char *parents[1] = {parent};

    a = fld_json_object();
    fld_json_set(a, "bytes", fld_json_int(bytes));
    fld_json_set(a, "type", fld_json_string("image/jpeg"));
    fld_json_set(a, "taken", fld_json_string("2026-12-01T09:30:00"));
    fld_json_set(a, "position", fld_json_string("18.340000 105.900000"));
    fld_json_set(att, f->hash, a);
    if (both) {
        a = fld_json_object();
        fld_json_set(a, "bytes", fld_json_int(1000));
        fld_json_set(a, "type", fld_json_string("image/png"));
        fld_json_set(att, f->other_hash, a);
    }
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
    d.answers = answers;
    d.attachments = att;
    assert_int_equal(fld_version_sign(&d, k, &v, NULL), FLD_OK);
    fld_json_free(answers);
    fld_json_free(att);
    return v;
}

static enum syn_push_status push1(struct fx *f, const struct fld_key *pusher,
                                  const struct fld_version *v)
{
    struct srv_storage *st;
    struct srv_device *d;
    struct syn_item it;
    struct syn_result r;
    char pub[FLD_HASH_HEX_LEN + 1];

    memset(&r, 0, sizeof r);
    fld_key_public_hex(pusher, pub);
    syn_item_set(&it, v->body, v->body_len, v->sig);
    assert_int_equal(srv_acquire(f->s, &st, NULL), FLD_OK);
    assert_int_equal(srv_storage_device_get(st, pub, &d, NULL), FLD_OK);
    assert_int_equal(srv_push(f->s, st, d, &it, 1, &r, NULL), FLD_OK);
    srv_release(f->s, st);
    free(r.message);
    free(it.body);
    srv_device_free(d);
    return r.status;
}

/* Push, by `here`, a version of commune 4201 naming the photo (and the
 * other photo). */
static void push_photo(struct fx *f)
{
    struct fld_version *v =
        sign_naming(f, f->here, "0193aaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1, NULL,
                    NULL, "4201", SIZE, true);

    assert_int_equal(push1(f, f->here, v), SYN_STORED);
    fld_version_free(v);
}

/* The request method target (path and "?query") signed by k, with body;
 * resp is answered. ctype NULL: application/octet-stream for a PUT,
 * application/json for a POST. */
static void call(struct fx *f, const struct fld_key *k, const char *method,
                 const char *target, const char *ctype, const uint8_t *body,
                 size_t len, struct srv_response *resp)
{
    struct srv_request req;
    struct syn_auth a;
    char t[32], sig[129], path[256];
    const char *q = strchr(target, '?');

    memset(&req, 0, sizeof req);
    memset(resp, 0, sizeof *resp);
    snprintf(path, sizeof path, "%.*s",
             (int)(q ? (size_t)(q - target) : strlen(target)), target);
    req.method = method;
    req.path = path;
    req.query = q ? q + 1 : NULL;
    req.content_type = ctype                        ? ctype
                       : strcmp(method, "PUT") == 0 ? "application/octet-stream"
                       : strcmp(method, "POST") == 0 ? "application/json"
                                                     : NULL;
    if (strcmp(method, "PUT") == 0) /* a chunk's bytes are not signed */
        syn_request_sign_unsigned(k, method, target, f->clock++, &a);
    else
        syn_request_sign(k, method, target, f->clock++, body, len, &a);
    syn_auth_sig_hex(&a, sig);
    snprintf(t, sizeof t, "%lld", (long long)a.time_ms);
    req.device = a.device;
    req.time = t;
    req.signature = sig;
    req.body = body ? body : (const uint8_t *)"";
    req.body_len = len;
    srv_api_handle(f->s, &req, resp);
}

/* PUT the photo's bytes [from, from + len) at offset; the status. */
static int put(struct fx *f, const struct fld_key *k, int64_t offset,
               size_t from, size_t len, struct srv_response *resp)
{
    char target[160];

    snprintf(target, sizeof target, "/v1/attachments/%s?offset=%lld", f->hash,
             (long long)offset);
    call(f, k, "PUT", target, NULL, f->photo + from, len, resp);
    return resp->status;
}

static int put_ok(struct fx *f, int64_t offset, size_t len)
{
    struct srv_response resp;
    int status = put(f, f->here, offset, (size_t)offset, len, &resp);

    srv_response_free(&resp);
    return status;
}

static bool body_has(const struct srv_response *resp, const char *text)
{
    return resp->body.data != NULL &&
           strstr(fld_buf_str((struct fld_buf *)&resp->body), text) != NULL;
}

/* The state of the photo and the other as k sees them, as JSON text. */
static void expect_state(struct fx *f, const struct fld_key *k,
                         const char *photo, const char *other)
{
    struct srv_response resp;
    char body[256], want[200];

    snprintf(body, sizeof body, "{\"hashes\":[\"%s\",\"%s\"]}", f->hash,
             f->other_hash);
    call(f, k, "POST", "/v1/attachments/state", NULL, (const uint8_t *)body,
         strlen(body), &resp);
    assert_int_equal(resp.status, 200);
    snprintf(want, sizeof want, "{\"hash\":\"%s\",%s}", f->hash, photo);
    if (!body_has(&resp, want))
        fail_msg("%s lacks %s", fld_buf_str(&resp.body), want);
    snprintf(want, sizeof want, "{\"hash\":\"%s\",%s}", f->other_hash, other);
    if (!body_has(&resp, want))
        fail_msg("%s lacks %s", fld_buf_str(&resp.body), want);
    srv_response_free(&resp);
}

static char *partial_path(struct fx *f)
{
    return fld_xasprintf("%s/attachments/partial/%s", f->dir, f->hash);
}

static char *whole_path(struct fx *f)
{
    return fld_xasprintf("%s/attachments/%.2s/%s", f->dir, f->hash, f->hash);
}

static bool exists(char *path)
{
    struct stat sb;
    bool yes = stat(path, &sb) == 0;

    free(path);
    return yes;
}

/* ---- the tests -------------------------------------------------------------
 */

static void test_states_and_upload_in_order(void **state)
{
    struct fx *f = *state;
    struct srv_response resp;

    expect_state(f, f->here, "\"state\":\"unknown\",\"offset\":0",
                 "\"state\":\"unknown\",\"offset\":0");
    push_photo(f);
    expect_state(f, f->here,
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":307200",
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":1000");
    assert_int_equal(put(f, f->here, 0, 0, CHUNK, &resp), 200);
    assert_true(body_has(&resp, "\"offset\":102400,\"bytes\":307200,"
                                "\"stored\":false"));
    srv_response_free(&resp);
    expect_state(f, f->here,
                 "\"state\":\"partial\",\"offset\":102400,\"bytes\":307200",
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":1000");
    assert_false(exists(whole_path(f)));
    assert_int_equal(put_ok(f, CHUNK, CHUNK), 200);
    assert_int_equal(put(f, f->here, 2 * CHUNK, 2 * CHUNK, CHUNK, &resp), 200);
    assert_true(body_has(&resp, "\"offset\":307200,\"bytes\":307200,"
                                "\"stored\":true"));
    srv_response_free(&resp);
    expect_state(f, f->here,
                 "\"state\":\"stored\",\"offset\":307200,\"bytes\":307200",
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":1000");
    assert_true(exists(whole_path(f)));
    assert_false(exists(partial_path(f)));
    /* a chunk of a file stored: 200, stored, nothing written */
    assert_int_equal(put(f, f->here, 0, 0, CHUNK, &resp), 200);
    assert_true(body_has(&resp, "\"stored\":true"));
    srv_response_free(&resp);
    /* the admin sees everything */
    expect_state(f, f->admin,
                 "\"state\":\"stored\",\"offset\":307200,\"bytes\":307200",
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":1000");
}

static void test_offsets_and_sizes_refused(void **state)
{
    struct fx *f = *state;
    struct srv_response resp;
    char target[160];

    push_photo(f);
    assert_int_equal(put_ok(f, 0, CHUNK), 200);
    /* the same chunk again: 409 with where to resume */
    assert_int_equal(put(f, f->here, 0, 0, CHUNK, &resp), 409);
    assert_string_equal(resp.error, "wrong_offset");
    assert_true(body_has(&resp, "\"offset\":102400"));
    srv_response_free(&resp);
    /* out of order: the third before the second */
    assert_int_equal(put(f, f->here, 2 * CHUNK, 2 * CHUNK, CHUNK, &resp), 409);
    assert_true(body_has(&resp, "\"code\":\"wrong_offset\""));
    assert_true(body_has(&resp, "\"offset\":102400"));
    srv_response_free(&resp);
    /* beyond the signed size */
    assert_int_equal(put(f, f->here, CHUNK, CHUNK, 2 * CHUNK + 1, &resp), 413);
    assert_string_equal(resp.error, "beyond_size");
    srv_response_free(&resp);
    /* an empty chunk, no offset, a bad offset, a bad name */
    assert_int_equal(put(f, f->here, CHUNK, CHUNK, 0, &resp), 400);
    srv_response_free(&resp);
    snprintf(target, sizeof target, "/v1/attachments/%s", f->hash);
    call(f, f->here, "PUT", target, NULL, f->photo, 10, &resp);
    assert_int_equal(resp.status, 400);
    srv_response_free(&resp);
    snprintf(target, sizeof target, "/v1/attachments/%s?offset=-1", f->hash);
    call(f, f->here, "PUT", target, NULL, f->photo, 10, &resp);
    assert_int_equal(resp.status, 400);
    srv_response_free(&resp);
    call(f, f->here, "PUT", "/v1/attachments/ABC?offset=0", NULL, f->photo, 10,
         &resp);
    assert_int_equal(resp.status, 400);
    srv_response_free(&resp);
    /* not octets, or gzipped */
    snprintf(target, sizeof target, "/v1/attachments/%s?offset=102400",
             f->hash);
    call(f, f->here, "PUT", target, "application/json", f->photo, 10, &resp);
    assert_int_equal(resp.status, 415);
    assert_string_equal(resp.error, "bad_content_type");
    srv_response_free(&resp);
    /* nothing of these moved the upload */
    expect_state(f, f->here,
                 "\"state\":\"partial\",\"offset\":102400,\"bytes\":307200",
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":1000");
    /* and a state request must be well formed */
    call(f, f->here, "POST", "/v1/attachments/state", NULL,
         (const uint8_t *)"{\"hashes\":[]}", 13, &resp);
    assert_int_equal(resp.status, 400);
    srv_response_free(&resp);
}

static void test_wrong_bytes_are_not_kept(void **state)
{
    struct fx *f = *state;
    struct srv_response resp;

    push_photo(f);
    assert_int_equal(put_ok(f, 0, CHUNK), 200);
    assert_int_equal(put_ok(f, CHUNK, CHUNK), 200);
    f->photo[2 * CHUNK + 5] ^= 1; /* the last chunk damaged on the way */
    assert_int_equal(put(f, f->here, 2 * CHUNK, 2 * CHUNK, CHUNK, &resp), 422);
    assert_string_equal(resp.error, "hash_mismatch");
    srv_response_free(&resp);
    f->photo[2 * CHUNK + 5] ^= 1;
    assert_false(exists(partial_path(f)));
    assert_false(exists(whole_path(f)));
    expect_state(f, f->here,
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":307200",
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":1000");
    /* GET finds nothing: no byte of it is visible */
    {
        char target[160];

        snprintf(target, sizeof target, "/v1/attachments/%s", f->hash);
        call(f, f->here, "GET", target, NULL, NULL, 0, &resp);
        assert_int_equal(resp.status, 404);
        assert_false(resp.has_file);
        srv_response_free(&resp);
    }
    /* and it can be sent again, right */
    assert_int_equal(put_ok(f, 0, SIZE), 200);
    assert_true(exists(whole_path(f)));
}

static void test_scope(void **state)
{
    struct fx *f = *state;
    struct srv_response resp;
    struct fld_version *v;
    char target[160];

    push_photo(f);
    /* another commune's inspector: it does not exist */
    expect_state(f, f->there, "\"state\":\"unknown\",\"offset\":0",
                 "\"state\":\"unknown\",\"offset\":0");
    assert_int_equal(put(f, f->there, 0, 0, CHUNK, &resp), 404);
    assert_string_equal(resp.error, "unknown_attachment");
    srv_response_free(&resp);
    assert_int_equal(put_ok(f, 0, SIZE), 200);
    snprintf(target, sizeof target, "/v1/attachments/%s", f->hash);
    call(f, f->there, "GET", target, NULL, NULL, 0, &resp);
    assert_int_equal(resp.status, 404);
    assert_string_equal(resp.error, "unknown_attachment");
    srv_response_free(&resp);
    /* once a version of its own commune names the same photo, it sees it:
     * stored already, it costs no byte */
    v = sign_naming(f, f->there, "0193bbbbbbbbbbbbbbbbbbbbbbbbbbbb", 1, NULL,
                    NULL, "4202", SIZE, false);
    assert_int_equal(push1(f, f->there, v), SYN_STORED);
    fld_version_free(v);
    expect_state(f, f->there,
                 "\"state\":\"stored\",\"offset\":307200,\"bytes\":307200",
                 "\"state\":\"unknown\",\"offset\":0");
}

/* The bytes of resp's file. */
static void expect_file(const struct srv_response *resp, const uint8_t *want,
                        size_t len)
{
    uint8_t *got = fld_xmalloc(len + 1);

    assert_true(resp->has_file);
    assert_int_equal(resp->file_len, len);
    assert_int_equal(pread(resp->fd, got, len + 1, (off_t)resp->file_offset),
                     (ssize_t)len);
    assert_memory_equal(got, want, len);
    free(got);
}

static void test_get_whole_and_from_offset(void **state)
{
    struct fx *f = *state;
    struct srv_response resp;
    char target[160];

    push_photo(f);
    snprintf(target, sizeof target, "/v1/attachments/%s", f->hash);
    call(f, f->here, "GET", target, NULL, NULL, 0, &resp);
    assert_int_equal(resp.status, 404); /* missing: nothing to serve */
    srv_response_free(&resp);
    assert_int_equal(put_ok(f, 0, CHUNK), 200);
    call(f, f->here, "GET", target, NULL, NULL, 0, &resp);
    assert_int_equal(resp.status, 404); /* a partial is never served */
    srv_response_free(&resp);
    assert_int_equal(put_ok(f, CHUNK, SIZE - CHUNK), 200);
    call(f, f->here, "GET", target, NULL, NULL, 0, &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, "image/jpeg");
    assert_int_equal(resp.attachment_bytes, SIZE);
    expect_file(&resp, f->photo, SIZE);
    srv_response_free(&resp);
    snprintf(target, sizeof target, "/v1/attachments/%s?offset=1000", f->hash);
    call(f, f->admin, "GET", target, NULL, NULL, 0, &resp);
    assert_int_equal(resp.status, 200);
    expect_file(&resp, f->photo + 1000, SIZE - 1000);
    srv_response_free(&resp);
    snprintf(target, sizeof target, "/v1/attachments/%s?offset=307201",
             f->hash);
    call(f, f->here, "GET", target, NULL, NULL, 0, &resp);
    assert_int_equal(resp.status, 400);
    srv_response_free(&resp);
}

static void test_restart_resumes_and_truncates(void **state)
{
    struct fx *f = *state;
    char *path;
    int fd;

    push_photo(f);
    assert_int_equal(put_ok(f, 0, CHUNK), 200);
    /* A server killed after it wrote chunks, before it acknowledged them:
     * more bytes beyond the acknowledged ones than the rest of the photo,
     * so that writing over them would not be enough. */
    path = partial_path(f);
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, f->other, 1000), 1000);
    assert_int_equal(write(fd, f->photo, SIZE), SIZE);
    close(fd);
    free(path);
    srv_close(f->s);
    open_server(f);
    expect_state(f, f->here,
                 "\"state\":\"partial\",\"offset\":102400,\"bytes\":307200",
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":1000");
    assert_int_equal(put_ok(f, CHUNK, SIZE - CHUNK), 200);
    /* the garbage was cut: the file is whole and right */
    assert_true(exists(whole_path(f)));
    expect_state(f, f->here,
                 "\"state\":\"stored\",\"offset\":307200,\"bytes\":307200",
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":1000");
}

static void test_lost_partial_starts_again(void **state)
{
    struct fx *f = *state;
    struct srv_response resp;
    char *path = partial_path(f);

    push_photo(f);
    assert_int_equal(put_ok(f, 0, CHUNK), 200);
    assert_int_equal(unlink(path), 0); /* deleted behind the server's back */
    free(path);
    assert_int_equal(put(f, f->here, CHUNK, CHUNK, CHUNK, &resp), 409);
    assert_true(body_has(&resp, "\"offset\":0"));
    srv_response_free(&resp);
    assert_int_equal(put_ok(f, 0, SIZE), 200);
}

static void test_expiry(void **state)
{
    struct fx *f = *state;
    struct srv_storage *st;
    size_t n = 9;

    push_photo(f);
    assert_int_equal(put_ok(f, 0, CHUNK), 200);
    /* not old enough */
    assert_int_equal(srv_expire_partials(f->s, &n, NULL), FLD_OK);
    assert_int_equal(n, 0);
    assert_true(exists(partial_path(f)));
    /* a week later (the cut-off moved instead of the clock) */
    assert_int_equal(srv_acquire(f->s, &st, NULL), FLD_OK);
    assert_int_equal(srv_attach_expire(f->s->attach, st, &f->s->write_lock,
                                       fld_now_ms() + 1000, &n, NULL),
                     FLD_OK);
    srv_release(f->s, st);
    assert_int_equal(n, 1);
    assert_false(exists(partial_path(f)));
    expect_state(f, f->here,
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":307200",
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":1000");
    /* a partial file without a row (a crash) goes too */
    {
        char *p =
            fld_xasprintf("%s/attachments/partial/%s", f->dir, f->other_hash);
        int fd = open(p, O_WRONLY | O_CREAT, 0600);

        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(srv_acquire(f->s, &st, NULL), FLD_OK);
        assert_int_equal(srv_attach_expire(f->s->attach, st, NULL,
                                           fld_now_ms() + 1000, &n, NULL),
                         FLD_OK);
        srv_release(f->s, st);
        assert_int_equal(n, 1);
        assert_false(exists(p));
    }
    /* and the upload starts again from 0 */
    assert_int_equal(put_ok(f, 0, SIZE), 200);
}

static void test_released_from_quarantine(void **state)
{
    struct fx *f = *state;
    struct fld_version *v1, *v2;

    /* the child names the photo and arrives first: in quarantine, its
     * photo is unknown; once its parent arrives, it is missing */
    v1 = sign_naming(f, f->here, "0193cccccccccccccccccccccccccccc", 1, NULL,
                     NULL, "4201", 1, false);
    v2 = sign_naming(f, f->here, "0193cccccccccccccccccccccccccccc", 2,
                     v1->hash, v1->hash, "4201", SIZE, true);
    assert_int_equal(push1(f, f->here, v2), SYN_QUARANTINED);
    expect_state(f, f->here, "\"state\":\"unknown\",\"offset\":0",
                 "\"state\":\"unknown\",\"offset\":0");
    assert_int_equal(push1(f, f->here, v1), SYN_STORED);
    /* v1 named the photo first (with a wrong size): its size holds */
    expect_state(f, f->here, "\"state\":\"missing\",\"offset\":0,\"bytes\":1",
                 "\"state\":\"missing\",\"offset\":0,\"bytes\":1000");
    fld_version_free(v1);
    fld_version_free(v2);
}

static int list_att(void *ctx, size_t i, const struct srv_attachment *a)
{
    struct fld_buf *b = ctx;

    fld_buf_printf(b, "%zu:%.8s:%lld:%s:%s:%s:%s ", i, a->hash,
                   (long long)a->bytes, a->type, a->taken ? a->taken : "-",
                   a->position ? a->position : "-",
                   a->stored_ms ? "stored" : "not");
    return FLD_OK;
}

/* The bytes of the partial file of hash under dir, into buf (NUL-ended). */
static size_t partial_bytes(const char *dir, const char *hash, char *buf,
                            size_t cap)
{
    char path[512];
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "%s/partial/%s", dir, hash);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, buf, cap - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    return (size_t)n;
}

/*
 * One writer per upload: a second device is told no while the first is
 * active, the same device takes its own upload over at once (its older
 * request lost its link), and the writer taken over can neither write
 * nor cut the file any more. The server's housekeeping never takes over.
 */
static void test_claims_and_takeover(void **state)
{
    static const char hash[] = "0123456789abcdef0123456789abcdef"
                               "0123456789abcdef0123456789abcdef";
    static const char dev_a[] = "aa", dev_b[] = "bb";
    char *dir = tu_mkdtemp(), buf[64];
    struct srv_attach *a;
    struct srv_attach_chunk *old, *now;
    struct fld_err err;
    uint64_t t1, t2;

    (void)state;
    fld_err_clear(&err);
    assert_int_equal(srv_attach_open(dir, &a, &err), FLD_OK);
    t1 = srv_attach_claim(a, hash, dev_a);
    assert_true(t1 != 0);
    assert_int_equal(srv_attach_begin(a, hash, t1, 0, &old, &err), FLD_OK);
    assert_int_equal(srv_attach_put(a, old, (const uint8_t *)"abc", 3, &err),
                     FLD_OK);
    assert_int_equal(srv_attach_claim(a, hash, dev_b), 0); /* active */
    assert_int_equal(srv_attach_claim(a, hash, NULL), 0);  /* housekeeping */

    t2 = srv_attach_claim(a, hash, dev_a); /* the same device: at once */
    assert_true(t2 != 0 && t2 != t1);
    assert_int_equal(srv_attach_begin(a, hash, t2, 0, &now, &err), FLD_OK);
    assert_int_equal(srv_attach_put(a, now, (const uint8_t *)"ABCDEF", 6, &err),
                     FLD_OK);
    /* the old writer is fenced off: no write, no cut, no unclaim */
    assert_int_equal(srv_attach_put(a, old, (const uint8_t *)"xyz", 3, &err),
                     FLD_EBUSY);
    assert_int_equal(srv_attach_sync(a, old, &err), FLD_EBUSY);
    srv_attach_end(a, old, false);
    srv_attach_unclaim(a, hash, t1);
    assert_int_equal(partial_bytes(dir, hash, buf, sizeof buf), 6);
    assert_string_equal(buf, "ABCDEF");
    assert_int_equal(srv_attach_claim(a, hash, dev_b), 0); /* still held */

    assert_int_equal(srv_attach_sync(a, now, &err), FLD_OK);
    srv_attach_end(a, now, true);
    srv_attach_unclaim(a, hash, t2);
    assert_true(srv_attach_claim(a, hash, dev_b) != 0); /* free again */
    srv_attach_close(a);
    tu_rmdir(dir);
}

/* A chunk that ends unacknowledged leaves nothing of itself: the file is
 * cut back to where the chunk began, or removed when the chunk made it. */
static void test_unacknowledged_chunk_is_cut(void **state)
{
    static const char hash[] = "fedcba9876543210fedcba9876543210"
                               "fedcba9876543210fedcba9876543210";
    char *dir = tu_mkdtemp(), buf[64], path[512];
    struct srv_attach *a;
    struct srv_attach_chunk *c;
    struct fld_err err;
    uint64_t t;

    (void)state;
    fld_err_clear(&err);
    assert_int_equal(srv_attach_open(dir, &a, &err), FLD_OK);
    t = srv_attach_claim(a, hash, "aa");
    assert_int_equal(srv_attach_begin(a, hash, t, 0, &c, &err), FLD_OK);
    assert_int_equal(srv_attach_put(a, c, (const uint8_t *)"half", 4, &err),
                     FLD_OK);
    srv_attach_end(a, c, false);
    snprintf(path, sizeof path, "%s/partial/%s", dir, hash);
    assert_int_equal(access(path, F_OK), -1); /* made by it: removed */

    assert_int_equal(srv_attach_begin(a, hash, t, 0, &c, &err), FLD_OK);
    assert_int_equal(srv_attach_put(a, c, (const uint8_t *)"kept", 4, &err),
                     FLD_OK);
    assert_int_equal(srv_attach_sync(a, c, &err), FLD_OK);
    srv_attach_end(a, c, true);
    assert_int_equal(srv_attach_begin(a, hash, t, 4, &c, &err), FLD_OK);
    assert_int_equal(srv_attach_put(a, c, (const uint8_t *)"lost", 4, &err),
                     FLD_OK);
    srv_attach_end(a, c, false);
    assert_int_equal(partial_bytes(dir, hash, buf, sizeof buf), 4);
    assert_string_equal(buf, "kept");
    srv_attach_unclaim(a, hash, t);
    srv_attach_close(a);
    tu_rmdir(dir);
}

static void test_record_listing_and_backup_copy(void **state)
{
    struct fx *f = *state;
    struct srv_storage *st;
    struct fld_buf b = FLD_BUF_INIT;
    char want[256], *from, *to;
    size_t n = 0;
    int64_t bytes = 0;

    push_photo(f);
    assert_int_equal(put_ok(f, 0, SIZE), 200);
    assert_int_equal(srv_acquire(f->s, &st, NULL), FLD_OK);
    assert_int_equal(
        srv_storage_record_attachments(st, "0193aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                       list_att, &b, NULL),
        FLD_OK);
    srv_release(f->s, st);
    snprintf(
        want, sizeof want,
        "%zu:%.8s:307200:image/jpeg:2026-12-01T09:30:00:18.340000 105.900000:"
        "stored ",
        strcmp(f->hash, f->other_hash) < 0 ? (size_t)0 : (size_t)1, f->hash);
    assert_non_null(strstr(fld_buf_str(&b), want));
    snprintf(want, sizeof want, "%.8s:1000:image/png:-:-:not ", f->other_hash);
    assert_non_null(strstr(fld_buf_str(&b), want));
    fld_buf_free(&b);
    from = fld_xasprintf("%s/attachments", f->dir);
    to = fld_xasprintf("%s/copy", f->dir);
    assert_int_equal(srv_attach_copy(from, to, &n, &bytes, NULL), FLD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(bytes, SIZE);
    assert_true(exists(fld_xasprintf("%s/%.2s/%s", to, f->hash, f->hash)));
    assert_int_equal(srv_attach_copy(from, to, &n, &bytes, NULL), FLD_EXISTS);
    free(from);
    free(to);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claims_and_takeover),
        cmocka_unit_test(test_unacknowledged_chunk_is_cut),
        cmocka_unit_test_setup_teardown(test_states_and_upload_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_offsets_and_sizes_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wrong_bytes_are_not_kept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_whole_and_from_offset, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_resumes_and_truncates,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_partial_starts_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_released_from_quarantine, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_record_listing_and_backup_copy,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
