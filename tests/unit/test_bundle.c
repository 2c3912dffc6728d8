/*
 * test_bundle.c - reading a bundle (bundle.h): a good one yields its
 * versions verified and in order; a tampered version, bad JSON, a file of
 * another format, a malformed entry or too many entries refuse the whole
 * bundle with a message that says which; an empty list is a bundle of
 * nothing. Photos: written and read back byte for byte; a bundle without
 * photos is the first release's text exactly; a photo changed, cut, of
 * another size than signed, named by no version, or given twice refuses
 * the bundle; the writer's size cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bundle.h"
#include "testutil.h"

#define RECORD "0193a1b2c3d47e5f8a9b0c1d2e3f4a5b"
#define TEMPLATE_HASH                                                          \
    "3333333333333333333333333333333333333333333333333333333333333333"

#define PHOTO_LEN 1000

/* Version dseq of a chain by key k, with households_total = total; when
 * photo is not NULL, the version names it (PHOTO_LEN bytes). */
static struct fld_version *signed_version(const struct fld_key *k, int64_t dseq,
                                          const char *prev, int64_t total,
                                          const char *photo)
{
    struct fld_json *att = NULL;
    struct fld_json *answers = fld_json_object();
    struct fld_version_draft d;
    struct fld_version *v = NULL;
    const char *parents[1];

    fld_json_set(answers, "households_total", fld_json_int(total));
    memset(&d, 0, sizeof d);
    parents[0] = prev;
    d.record = RECORD;
    d.parents = parents;
    d.n_parents = prev ? 1 : 0;
    d.dseq = dseq;
    d.prev = prev;
    d.hlc.ms = 1764288000000 + dseq;
    d.template_id = "field-demo";
    d.template_hash = TEMPLATE_HASH;
    d.subject = "42001";
    d.status = "draft";
    d.answers = answers;
    if (photo != NULL) {
        struct fld_json *one = fld_json_object();

        fld_json_set(one, "bytes", fld_json_int(PHOTO_LEN));
        fld_json_set(one, "type", fld_json_string("image/jpeg"));
        att = fld_json_object();
        fld_json_set(att, photo, one);
        fld_json_set(answers, "photo", fld_json_string(photo));
        d.attachments = att;
    }
    assert_int_equal(fld_version_sign(&d, k, &v, NULL), FLD_OK);
    fld_json_free(answers);
    fld_json_free(att);
    return v;
}

struct fixture {
    struct fld_key *key;
    struct fld_version *v[3]; /* the third names the photo */
    uint8_t photo[PHOTO_LEN];
    char photo_hash[FLD_HASH_HEX_LEN + 1];
};

static int setup(void **state)
{
    struct fixture *f = fld_xcalloc(1, sizeof *f);
    size_t i;

    for (i = 0; i < PHOTO_LEN; i++)
        f->photo[i] = (uint8_t)(i * 7 + 3);
    fld_version_hash(f->photo, PHOTO_LEN, f->photo_hash);
    f->key = tu_key(7);
    f->v[0] = signed_version(f->key, 1, NULL, 10, NULL);
    f->v[1] = signed_version(f->key, 2, f->v[0]->hash, 11, NULL);
    f->v[2] = signed_version(f->key, 3, f->v[1]->hash, 12, f->photo_hash);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    fld_version_free(f->v[0]);
    fld_version_free(f->v[1]);
    fld_version_free(f->v[2]);
    fld_key_free(f->key);
    free(f);
    return 0;
}

/* The bundle text of entries (taken), as `field bundle export` writes it. */
static void write_bundle(struct fld_json *entries, struct fld_buf *out)
{
    struct fld_json *doc = fld_json_object();

    fld_json_set(doc, "format", fld_json_string(FLD_BUNDLE_FORMAT));
    fld_json_set(doc, "versions", entries);
    assert_int_equal(fld_json_write(doc, out, NULL), FLD_OK);
    fld_json_free(doc);
}

static void bundle_of(struct fixture *f, size_t n, struct fld_buf *out)
{
    struct fld_json *entries = fld_json_array();
    size_t i;

    for (i = 0; i < n; i++)
        fld_json_append(
            entries,
            fld_bundle_entry(f->v[i]->body, f->v[i]->body_len, f->v[i]->sig));
    write_bundle(entries, out);
}

/* Read text, expecting a refusal with code and words in its message. */
static void expect_refused(const char *text, size_t len, size_t max, int code,
                           const char *words)
{
    struct fld_bundle *b = (struct fld_bundle *)&b; /* must be cleared */
    struct fld_err err;

    fld_err_clear(&err);
    assert_int_equal(fld_bundle_read((const uint8_t *)text, len, max, &b, &err),
                     code);
    assert_null(b);
    if (strstr(err.msg, words) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", words, err.msg);
    assert_null(strchr(err.msg, '\n'));
    /* without an error record the result is still a refusal */
    assert_int_equal(fld_bundle_read((const uint8_t *)text, len, max, &b, NULL),
                     code);
    assert_null(b);
}

static void test_good_bundle(void **state)
{
    struct fixture *f = *state;
    struct fld_buf text = FLD_BUF_INIT;
    struct fld_bundle *b = NULL;
    struct fld_err err;
    size_t i;

    bundle_of(f, 2, &text);
    assert_int_equal(
        fld_bundle_read(text.data, text.len, FLD_BUNDLE_MAX_VERSIONS, &b, &err),
        FLD_OK);
    assert_non_null(b);
    assert_int_equal(b->n, 2);
    for (i = 0; i < 2; i++) {
        assert_string_equal(b->versions[i]->hash, f->v[i]->hash);
        assert_int_equal(b->versions[i]->body_len, f->v[i]->body_len);
        assert_memory_equal(b->versions[i]->sig, f->v[i]->sig, FLD_SIG_LEN);
    }
    fld_bundle_free(b);
    /* exactly as many as allowed is still a bundle */
    assert_int_equal(fld_bundle_read(text.data, text.len, 2, &b, &err), FLD_OK);
    fld_bundle_free(b);
    fld_bundle_free(NULL);
    fld_buf_free(&text);
}

static void test_empty(void **state)
{
    struct fixture *f = *state;
    struct fld_buf text = FLD_BUF_INIT;
    struct fld_bundle *b = NULL;

    bundle_of(f, 0, &text);
    assert_int_equal(
        fld_bundle_read(text.data, text.len, FLD_BUNDLE_MAX_VERSIONS, &b, NULL),
        FLD_OK);
    assert_non_null(b);
    assert_int_equal(b->n, 0);
    fld_bundle_free(b);
    fld_buf_free(&text);
    expect_refused("", 0, FLD_BUNDLE_MAX_VERSIONS, FLD_EINVAL, "not a bundle");
}

static void test_tampered_version(void **state)
{
    struct fixture *f = *state;
    struct fld_buf text = FLD_BUF_INIT;
    char *at;

    bundle_of(f, 2, &text);
    /* the second version's answer changed after signing: still canonical,
     * so only the signature can tell */
    at = strstr((char *)text.data, "households_total\\\":11");
    assert_non_null(at);
    at[strlen("households_total\\\":1")] = '2';
    expect_refused((const char *)text.data, text.len, FLD_BUNDLE_MAX_VERSIONS,
                   FLD_EBADSIG, "versions[1]: ");
    fld_buf_free(&text);
}

static void test_bad_json(void **state)
{
    static const char *const junk[] = {
        "{\"format\":\"field-bundle-v1\",\"versions\":[",
        "{\"format\":\"field-bundle-v1\",\"versions\":[]} trailing",
        "{\"format\":\"field-bundle-v1\",\"format\":\"x\",\"versions\":[]}",
        "\xff"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof junk / sizeof junk[0]; i++)
        expect_refused(junk[i], strlen(junk[i]), FLD_BUNDLE_MAX_VERSIONS,
                       FLD_EINVAL, "not a bundle: byte ");
}

static void test_not_a_bundle(void **state)
{
    static const char *const other[] = {
        "{\"format\":\"nope\"}", "[]", "{\"format\":\"field-bundle-v1\"}",
        "{\"format\":\"field-bundle-v1\",\"versions\":{}}",
        "{\"format\":\"field-bundle-v2\",\"versions\":[]}"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof other / sizeof other[0]; i++)
        expect_refused(other[i], strlen(other[i]), FLD_BUNDLE_MAX_VERSIONS,
                       FLD_EINVAL, "not a field-bundle-v1 file");
}

static void test_bad_entry(void **state)
{
    struct fixture *f = *state;
    struct fld_json *entries = fld_json_array();
    struct fld_json *bad =
        fld_bundle_entry(f->v[1]->body, f->v[1]->body_len, f->v[1]->sig);
    struct fld_buf text = FLD_BUF_INIT;
    static const char number[] =
        "{\"format\":\"field-bundle-v1\",\"versions\":[1]}";

    fld_json_set(bad, "sig", fld_json_string("abc"));
    fld_json_append(entries, fld_bundle_entry(f->v[0]->body, f->v[0]->body_len,
                                              f->v[0]->sig));
    fld_json_append(entries, bad);
    write_bundle(entries, &text);
    expect_refused((const char *)text.data, text.len, FLD_BUNDLE_MAX_VERSIONS,
                   FLD_EINVAL, "versions[1]: expected {\"body\": text");
    fld_buf_free(&text);
    expect_refused(number, sizeof number - 1, FLD_BUNDLE_MAX_VERSIONS,
                   FLD_EINVAL, "versions[0]: expected");
}

static void test_too_many_versions(void **state)
{
    struct fixture *f = *state;
    struct fld_buf text = FLD_BUF_INIT;
    static const char junk[] =
        "{\"format\":\"field-bundle-v1\",\"versions\":[{},{},{}]}";

    bundle_of(f, 2, &text);
    expect_refused((const char *)text.data, text.len, 1, FLD_ELIMIT,
                   "2 versions; a bundle holds at most 1");
    fld_buf_free(&text);
    /* counted before any entry is looked at */
    expect_refused(junk, sizeof junk - 1, 2, FLD_ELIMIT, "at most 2");
}

/* A bundle of the first n versions and the photos given (hash, bytes,
 * length each), as `field bundle export` writes it. */
struct photo_arg {
    const char *hash;
    const uint8_t *p;
    size_t len;
};

static void bundle_with(struct fixture *f, size_t n, const struct photo_arg *ph,
                        size_t n_photos, struct fld_buf *out)
{
    struct fld_bundle_writer w;
    struct fld_json *entries = fld_json_array();
    size_t i;

    fld_bundle_writer_init(&w);
    for (i = 0; i < n_photos; i++)
        assert_int_equal(
            fld_bundle_writer_photo(&w, ph[i].hash, ph[i].p, ph[i].len, NULL),
            FLD_OK);
    for (i = 0; i < n; i++)
        fld_json_append(
            entries,
            fld_bundle_entry(f->v[i]->body, f->v[i]->body_len, f->v[i]->sig));
    assert_int_equal(fld_bundle_writer_finish(&w, entries, NULL), FLD_OK);
    *out = w.out;
    w.out.data = NULL;
    fld_bundle_writer_free(&w);
}

static void test_photos_round_trip(void **state)
{
    struct fixture *f = *state;
    struct photo_arg ph = {f->photo_hash, f->photo, PHOTO_LEN};
    struct fld_buf text = FLD_BUF_INIT;
    struct fld_bundle *b = NULL;
    struct fld_err err;

    bundle_with(f, 3, &ph, 1, &text);
    assert_int_equal(
        fld_bundle_read(text.data, text.len, FLD_BUNDLE_MAX_VERSIONS, &b, &err),
        FLD_OK);
    assert_int_equal(b->n, 3);
    assert_int_equal(b->n_photos, 1);
    assert_string_equal(b->photos[0].hash, f->photo_hash);
    assert_int_equal(b->photos[0].len, PHOTO_LEN);
    assert_memory_equal(b->photos[0].data, f->photo, PHOTO_LEN);
    fld_bundle_free(b);
    /* the members in key order: the photos first */
    assert_memory_equal(text.data, "{\"attachments\":[{\"bytes\":1000,",
                        strlen("{\"attachments\":[{\"bytes\":1000,"));
    fld_buf_free(&text);
}

/* Without photos the writer writes what the first release wrote. */
static void test_without_photos_first_format(void **state)
{
    struct fixture *f = *state;
    struct fld_buf old = FLD_BUF_INIT, now = FLD_BUF_INIT;
    struct fld_bundle *b = NULL;

    bundle_of(f, 3, &old);
    bundle_with(f, 3, NULL, 0, &now);
    assert_int_equal(now.len, old.len);
    assert_memory_equal(now.data, old.data, old.len);
    /* a version names a photo the bundle does not carry: fine */
    assert_int_equal(
        fld_bundle_read(now.data, now.len, FLD_BUNDLE_MAX_VERSIONS, &b, NULL),
        FLD_OK);
    assert_int_equal(b->n_photos, 0);
    fld_bundle_free(b);
    fld_buf_free(&old);
    fld_buf_free(&now);
}

static void test_photo_refused(void **state)
{
    struct fixture *f = *state;
    uint8_t changed[PHOTO_LEN];
    struct photo_arg bad = {f->photo_hash, changed, PHOTO_LEN};
    struct photo_arg twice[2] = {{f->photo_hash, f->photo, PHOTO_LEN},
                                 {f->photo_hash, f->photo, PHOTO_LEN}};
    struct photo_arg shorter = {f->photo_hash, f->photo, PHOTO_LEN - 1};
    struct fld_buf text = FLD_BUF_INIT;
    char *at;

    memcpy(changed, f->photo, PHOTO_LEN);
    changed[500] ^= 1;
    bundle_with(f, 3, &bad, 1, &text);
    expect_refused((const char *)text.data, text.len, FLD_BUNDLE_MAX_VERSIONS,
                   FLD_ECORRUPT, "attachments[0]: photo ");
    expect_refused((const char *)text.data, text.len, FLD_BUNDLE_MAX_VERSIONS,
                   FLD_ECORRUPT, "do not match its hash");
    fld_buf_free(&text);

    /* named by no version of the bundle (the third is left out) */
    bundle_with(f, 2, twice, 1, &text);
    expect_refused((const char *)text.data, text.len, FLD_BUNDLE_MAX_VERSIONS,
                   FLD_EINVAL, "is named by no version of the bundle");
    fld_buf_free(&text);

    bundle_with(f, 3, twice, 2, &text);
    expect_refused((const char *)text.data, text.len, FLD_BUNDLE_MAX_VERSIONS,
                   FLD_EINVAL, "attachments[1]: photo ");
    expect_refused((const char *)text.data, text.len, FLD_BUNDLE_MAX_VERSIONS,
                   FLD_EINVAL, "comes twice");
    fld_buf_free(&text);

    bundle_with(f, 3, &shorter, 1, &text);
    expect_refused((const char *)text.data, text.len, FLD_BUNDLE_MAX_VERSIONS,
                   FLD_EINVAL, "says 999 bytes; its version signed 1000");
    fld_buf_free(&text);

    /* the base64 text cut short, its size still the signed one */
    bundle_with(f, 3, twice, 1, &text);
    at = strstr((char *)text.data, "\",\"hash\"");
    assert_non_null(at);
    memmove(at - 8, at, text.len - (size_t)(at - (char *)text.data) + 1);
    text.len -= 8;
    expect_refused((const char *)text.data, text.len, FLD_BUNDLE_MAX_VERSIONS,
                   FLD_ECORRUPT, "shorter than the 1000 bytes signed");
    fld_buf_free(&text);

    /* not base64 at all, of the right length */
    bundle_with(f, 3, twice, 1, &text);
    at = strstr((char *)text.data, "\"data\":\"");
    assert_non_null(at);
    at[strlen("\"data\":\"") + 10] = '*';
    expect_refused((const char *)text.data, text.len, FLD_BUNDLE_MAX_VERSIONS,
                   FLD_ECORRUPT, "is not base64 of the 1000 bytes signed");
    fld_buf_free(&text);
}

static void test_photo_malformed(void **state)
{
    static const char *const junk[] = {
        "\"attachments\":[{\"hash\":\"ab\",\"bytes\":1,\"data\":\"\"}]",
        "\"attachments\":[{\"bytes\":1,\"data\":\"AA==\"}]",
        "\"attachments\":[1]"};
    static const char not_list[] =
        "{\"attachments\":{},\"format\":\"field-bundle-v1\",\"versions\":[]}";
    size_t i;

    (void)state;
    for (i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        char *text = fld_xasprintf(
            "{%s,\"format\":\"field-bundle-v1\",\"versions\":[]}", junk[i]);

        expect_refused(text, strlen(text), FLD_BUNDLE_MAX_VERSIONS, FLD_EINVAL,
                       "attachments[0]: expected {\"hash\": 64 hex digits");
        free(text);
    }
    expect_refused(not_list, sizeof not_list - 1, FLD_BUNDLE_MAX_VERSIONS,
                   FLD_EINVAL, "\"attachments\" is not a list of photos");
}

/* The writer refuses a photo that would take the bundle over its cap,
 * adding nothing (the bytes are not even read: the pointer is a dummy). */
static void test_writer_cap(void **state)
{
    struct fixture *f = *state;
    struct fld_bundle_writer w;
    struct fld_err err;

    fld_bundle_writer_init(&w);
    assert_int_equal(fld_bundle_writer_photo(&w, f->photo_hash, f->photo,
                                             FLD_BUNDLE_MAX_BYTES / 4 * 3 + 1,
                                             &err),
                     FLD_ELIMIT);
    assert_non_null(strstr(err.msg, "the bundle would be over 512 MiB"));
    assert_int_equal(w.out.len, 0);
    assert_int_equal(w.n_photos, 0);
    fld_bundle_writer_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_bundle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_version, setup, teardown),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_not_a_bundle),
        cmocka_unit_test_setup_teardown(test_bad_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_versions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_photos_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_without_photos_first_format, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_photo_refused, setup, teardown),
        cmocka_unit_test(test_photo_malformed),
        cmocka_unit_test_setup_teardown(test_writer_cap, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
