/*
 * test_attachment.c - the device's photo files and their rows: adding a
 * file (once, whatever the number of times), refusals that leave nothing,
 * the attachments a signed version carries, what is left to upload and to
 * download, a download that is not what was signed, and verifying the
 * files held.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <sys/stat.h>

#include "attachment.h"
#include "file.h"
#include "phototest.h"
#include "testutil.h"

static int setup(void **state)
{
    *state = tu_device_open(1, "Lê Văn Cường");
    return 0;
}

static int teardown(void **state)
{
    tu_device_close(*state); /* the photos and inputs go with its folder */
    return 0;
}

/* Write bytes to <dir>/in/name; the path, free(). */
static char *put_file(struct tu_device *f, const char *name, const void *p,
                      size_t len)
{
    char *in = fld_xasprintf("%s/in", f->dir);
    char *path = fld_xasprintf("%s/%s", in, name);

    mkdir(in, 0700);
    unlink(path);
    assert_int_equal(fld_file_write(path, p, len, 0600, 0, NULL), FLD_OK);
    free(in);
    return path;
}

static char *put_photo(struct tu_device *f, const char *name,
                       const struct pt_exif *x, size_t size, struct fld_buf *b)
{
    pt_jpeg(b, x, size);
    return put_file(f, name, b->data, b->len);
}

static int add(struct tu_device *f, const char *path, int64_t limit,
               struct fld_attachment *a, struct fld_err *err)
{
    int rc;

    assert_int_equal(fld_store_begin(f->st, NULL), FLD_OK);
    rc = fld_attachment_add(f->st, f->dir, path, limit, a, err);
    if (rc == FLD_OK)
        assert_int_equal(fld_store_commit(f->st, NULL), FLD_OK);
    else
        fld_store_rollback(f->st);
    return rc;
}

static void hash_hex(const struct fld_buf *b, char hex[65])
{
    uint8_t h[32];

    crypto_generichash(h, sizeof h, b->data, b->len, NULL, 0);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

/* A new record whose answer "remarks" names hash (the demo template has
 * no photo question; the store does not need one). */
static struct fld_version *capture_naming(struct tu_device *f, const char *hash)
{
    struct fld_json *answers = fld_json_object();
    struct fld_version *v = NULL;

    fld_json_set(answers, "remarks", fld_json_string(hash));
    assert_int_equal(
        fld_capture_new(f->st, f->key, f->t, "42001", answers, &v, NULL),
        FLD_OK);
    fld_json_free(answers);
    return v;
}

static void test_add_is_idempotent_and_signed(void **state)
{
    struct tu_device *f = *state;
    struct pt_exif x = {"2026:11:28 08:15:02", NULL, true, 18.3559, 105.8877};
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_attachment a, again, got;
    struct fld_version_attachment va;
    struct fld_version *v;
    char hex[65], *path = put_photo(f, "a.jpg", &x, 200 * 1024, &b), *stored;
    uint8_t *data;
    size_t len;
    bool held;

    hash_hex(&b, hex);
    assert_int_equal(add(f, path, 0, &a, NULL), FLD_OK);
    assert_string_equal(a.hash, hex);
    assert_int_equal(a.bytes, (int64_t)b.len);
    assert_string_equal(a.type, "image/jpeg");
    assert_string_equal(a.taken, "2026-11-28T08:15:02");
    assert_string_equal(a.position, "18.355900 105.887700");
    /* the file is under its hash, byte for byte */
    stored = fld_attachment_path(f->dir, hex);
    assert_int_equal(fld_file_read(stored, 1 << 20, &data, &len, NULL), FLD_OK);
    assert_int_equal(len, b.len);
    assert_memory_equal(data, b.data, len);
    free(data);
    /* the same bytes again: the same attachment, nothing more */
    assert_int_equal(add(f, path, 0, &again, NULL), FLD_OK);
    assert_memory_equal(&again, &a, sizeof a);
    /* no version names it yet */
    assert_int_equal(fld_attachment_get(f->st, hex, &got, &held, NULL),
                     FLD_NOTFOUND);
    /* a version answering with its hash signs what the device knows */
    v = capture_naming(f, hex);
    assert_int_equal(fld_version_n_attachments(v), 1);
    fld_version_attachment(v, 0, &va);
    assert_string_equal(va.hash, hex);
    assert_int_equal(va.bytes, (int64_t)b.len);
    assert_string_equal(va.type, "image/jpeg");
    assert_string_equal(va.taken, "2026-11-28T08:15:02");
    assert_string_equal(va.position, "18.355900 105.887700");
    assert_int_equal(fld_attachment_get(f->st, hex, &got, &held, NULL), FLD_OK);
    assert_true(held);
    assert_memory_equal(&got, &a, sizeof a);
    fld_version_free(v);
    free(stored);
    free(path);
    fld_buf_free(&b);
}

static void test_answer_cleared_drops_attachment(void **state)
{
    struct tu_device *f = *state;
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_attachment a;
    struct fld_version *v, *w;
    struct fld_json *answers = fld_json_object();
    char *path = put_photo(f, "a.jpg", NULL, 0, &b);

    assert_int_equal(add(f, path, 0, &a, NULL), FLD_OK);
    v = capture_naming(f, a.hash);
    assert_int_equal(fld_version_n_attachments(v), 1);
    fld_json_set(answers, "remarks", fld_json_string("không còn ảnh"));
    assert_int_equal(
        fld_capture_save(f->st, f->key, v, answers, "draft", &w, NULL), FLD_OK);
    assert_int_equal(fld_version_n_attachments(w), 0);
    assert_null(w->attachments);
    fld_version_free(v);
    fld_version_free(w);
    fld_json_free(answers);
    free(path);
    fld_buf_free(&b);
}

/* Every path that signs answers carries their photos: a merge of heads
 * (resolve) and a supervisor's decision too, not only `field attach`. */
static void test_every_signing_path_carries(void **state)
{
    struct tu_device *f = *state;
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_attachment a;
    struct fld_version *v, *w, *d;
    char *path = put_photo(f, "a.jpg", NULL, 0, &b);
    const char *head;

    assert_int_equal(add(f, path, 0, &a, NULL), FLD_OK);
    v = capture_naming(f, a.hash);
    head = v->hash;
    assert_int_equal(fld_capture_save_heads(f->st, f->key, v, &head, 1,
                                            v->answers, "final", &w, NULL),
                     FLD_OK);
    assert_int_equal(fld_version_n_attachments(w), 1);
    head = w->hash;
    assert_int_equal(fld_capture_decide(f->st, f->key, w, &head, 1, w->answers,
                                        "approved", NULL, &d, NULL),
                     FLD_OK);
    assert_int_equal(fld_version_n_attachments(d), 1);
    fld_version_free(v);
    fld_version_free(w);
    fld_version_free(d);
    free(path);
    fld_buf_free(&b);
}

/* Nothing is left behind by a refusal: no file, no row. */
static void expect_nothing_held(struct tu_device *f)
{
    struct fld_attachment *l;
    size_t n;

    assert_int_equal(
        fld_store_attach_list(f->st, FLD_ATTACH_HELD, NULL, 0, &l, &n, NULL),
        FLD_OK);
    assert_int_equal(n, 0);
    free(l);
}

static void test_refusals(void **state)
{
    struct tu_device *f = *state;
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_attachment a;
    struct fld_err err;
    char *empty = put_file(f, "empty.jpg", "", 0);
    char *text = put_file(f, "text.jpg", "hello\n", 6);
    char *big = put_photo(f, "big.jpg", NULL, 5000, &b);
    char *cut = put_file(f, "cut.jpg", b.data, b.len - 1);
    char *none = fld_xasprintf("%s/in/none.jpg", f->dir), *msg;

    assert_int_equal(add(f, empty, 0, &a, &err), FLD_EINVAL);
    msg = fld_xasprintf("%s: empty", empty);
    assert_string_equal(err.msg, msg);
    free(msg);
    assert_int_equal(add(f, text, 0, &a, &err), FLD_EINVAL);
    msg = fld_xasprintf("%s: not a JPEG or PNG image", text);
    assert_string_equal(err.msg, msg);
    free(msg);
    assert_int_equal(add(f, cut, 0, &a, &err), FLD_EINVAL);
    msg = fld_xasprintf("%s: truncated JPEG", cut);
    assert_string_equal(err.msg, msg);
    free(msg);
    assert_int_equal(add(f, big, 4096, &a, &err), FLD_ELIMIT);
    assert_non_null(strstr(err.msg, "over the"));
    assert_non_null(strstr(err.msg, big));
    assert_int_equal(add(f, none, 0, &a, &err), FLD_NOTFOUND);
    assert_string_equal(a.hash, "");
    expect_nothing_held(f);
    free(empty);
    free(text);
    free(big);
    free(cut);
    free(none);
    fld_buf_free(&b);
}

static void test_upload_queue(void **state)
{
    struct tu_device *f = *state;
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_attachment a, *l;
    struct fld_version *v;
    char *path = put_photo(f, "a.jpg", NULL, 0, &b);
    size_t n;

    assert_int_equal(add(f, path, 0, &a, NULL), FLD_OK);
    /* held but named by no version: nothing to upload */
    assert_int_equal(fld_attachment_to_upload(f->st, 10, &l, &n, NULL), FLD_OK);
    assert_int_equal(n, 0);
    free(l);
    v = capture_naming(f, a.hash);
    /* named by a version the server does not hold yet: not yet */
    assert_int_equal(fld_attachment_to_upload(f->st, 10, &l, &n, NULL), FLD_OK);
    assert_int_equal(n, 0);
    free(l);
    assert_int_equal(fld_store_sync_known(f->st, v->hash, "stored", NULL),
                     FLD_OK);
    assert_int_equal(fld_attachment_to_upload(f->st, 10, &l, &n, NULL), FLD_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(&l[0], &a, sizeof a);
    free(l);
    assert_int_equal(fld_attachment_mark_uploaded(f->st, a.hash, NULL), FLD_OK);
    assert_int_equal(fld_attachment_to_upload(f->st, 10, &l, &n, NULL), FLD_OK);
    assert_int_equal(n, 0);
    free(l);
    fld_version_free(v);
    free(path);
    fld_buf_free(&b);
}

static void test_download_and_receive(void **state)
{
    struct tu_device *f = *state, *g = tu_device_open(2, "Trần Thị B");
    struct pt_exif x = {"2026:11:28 08:15:02", NULL, false, 0, 0};
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_attachment a, *l;
    struct fld_version *v;
    struct fld_err err;
    struct stat sb;
    char *path = put_photo(g, "b.jpg", &x, 0, &b), *tmp, *bad;
    size_t n;
    bool held;

    /* another device photographs; its version comes here without the file */
    assert_int_equal(add(g, path, 0, &a, NULL), FLD_OK);
    v = capture_naming(g, a.hash);
    assert_int_equal(fld_store_begin(f->st, NULL), FLD_OK);
    assert_int_equal(fld_store_put_version(f->st, v, NULL), FLD_OK);
    assert_int_equal(fld_store_commit(f->st, NULL), FLD_OK);
    assert_int_equal(fld_attachment_get(f->st, a.hash, &a, &held, NULL),
                     FLD_OK);
    assert_false(held);
    assert_string_equal(a.taken, "2026-11-28T08:15:02");
    assert_int_equal(fld_attachment_to_download(f->st, NULL, 0, &l, &n, NULL),
                     FLD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].hash, a.hash);
    free(l);
    assert_int_equal(
        fld_attachment_to_download(f->st, v->record, 5, &l, &n, NULL), FLD_OK);
    assert_int_equal(n, 1);
    free(l);
    assert_int_equal(
        fld_attachment_to_download(f->st, "0123456789abcdef0123456789abcdef", 5,
                                   &l, &n, NULL),
        FLD_OK);
    assert_int_equal(n, 0);
    free(l);
    /* a download that is not the file signed is refused and deleted */
    tmp = fld_attachment_partial_path(f->dir, a.hash);
    bad = fld_xasprintf("%s/attachments", f->dir);
    mkdir(bad, 0700);
    free(bad);
    bad = fld_xasprintf("%s/attachments/partial", f->dir);
    mkdir(bad, 0700);
    free(bad);
    b.data[b.len / 2] ^= 1;
    assert_int_equal(fld_file_write(tmp, b.data, b.len, 0600, 0, NULL), FLD_OK);
    assert_int_equal(fld_attachment_receive(f->st, f->dir, &a, tmp, &err),
                     FLD_ECORRUPT);
    assert_int_equal(stat(tmp, &sb), -1);
    assert_false(fld_attachment_exists(f->dir, a.hash));
    /* too short: refused too */
    b.data[b.len / 2] ^= 1;
    assert_int_equal(fld_file_write(tmp, b.data, b.len - 1, 0600, 0, NULL),
                     FLD_OK);
    assert_int_equal(fld_attachment_receive(f->st, f->dir, &a, tmp, &err),
                     FLD_ECORRUPT);
    assert_int_equal(stat(tmp, &sb), -1);
    /* the right bytes: kept, held, nothing more to download */
    assert_int_equal(fld_file_write(tmp, b.data, b.len, 0600, 0, NULL), FLD_OK);
    assert_int_equal(fld_attachment_receive(f->st, f->dir, &a, tmp, &err),
                     FLD_OK);
    assert_true(fld_attachment_exists(f->dir, a.hash));
    assert_int_equal(stat(tmp, &sb), -1);
    assert_int_equal(fld_attachment_get(f->st, a.hash, &a, &held, NULL),
                     FLD_OK);
    assert_true(held);
    assert_int_equal(fld_attachment_to_download(f->st, NULL, 0, &l, &n, NULL),
                     FLD_OK);
    assert_int_equal(n, 0);
    free(l);
    fld_version_free(v);
    free(tmp);
    free(path);
    fld_buf_free(&b);
    teardown((void **)&g);
}

static void test_verify_files(void **state)
{
    struct tu_device *f = *state;
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_attachment a;
    struct fld_err err;
    char *path = put_photo(f, "a.jpg", NULL, 0, &b), *stored;
    size_t n;

    assert_int_equal(add(f, path, 0, &a, NULL), FLD_OK);
    assert_int_equal(fld_attachment_verify_files(f->st, f->dir, &n, NULL),
                     FLD_OK);
    assert_int_equal(n, 1);
    /* one byte flipped in the stored file: caught, naming the file */
    stored = fld_attachment_path(f->dir, a.hash);
    b.data[b.len / 2] ^= 0x01;
    assert_int_equal(fld_file_write(stored, b.data, b.len, 0600, 0, NULL),
                     FLD_OK);
    assert_int_equal(fld_attachment_verify_files(f->st, f->dir, &n, &err),
                     FLD_ECORRUPT);
    assert_int_equal(n, 1);
    assert_non_null(strstr(err.msg, a.hash));
    assert_non_null(strstr(err.msg, "does not hash to its name"));
    /* gone: caught too */
    unlink(stored);
    assert_int_equal(fld_attachment_verify_files(f->st, f->dir, &n, &err),
                     FLD_ECORRUPT);
    assert_non_null(strstr(err.msg, "missing"));
    free(stored);
    free(path);
    fld_buf_free(&b);
}

static void test_png_added(void **state)
{
    struct tu_device *f = *state;
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_attachment a;
    char *path;

    pt_png(&b);
    path = put_file(f, "p.png", b.data, b.len);
    assert_int_equal(add(f, path, 0, &a, NULL), FLD_OK);
    assert_string_equal(a.type, "image/png");
    assert_int_equal(a.bytes, (int64_t)b.len);
    free(path);
    fld_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_is_idempotent_and_signed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_cleared_drops_attachment,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_signing_path_carries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_download_and_receive, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_png_added, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
