/*
 * test_bundle.c - reading a bundle (bundle.h): a good one yields its
 * versions verified and in order; a tampered version, bad JSON, a file of
 * another format, a malformed entry or too many entries refuse the whole
 * bundle with a message that says which; an empty list is a bundle of
 * nothing.
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

/* Version dseq of a chain by key k, with households_total = total. */
static struct fld_version *signed_version(const struct fld_key *k, int64_t dseq,
                                          const char *prev, int64_t total)
{
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
    assert_int_equal(fld_version_sign(&d, k, &v, NULL), FLD_OK);
    fld_json_free(answers);
    return v;
}

struct fixture {
    struct fld_key *key;
    struct fld_version *v[2];
};

static int setup(void **state)
{
    struct fixture *f = fld_xcalloc(1, sizeof *f);

    f->key = tu_key(7);
    f->v[0] = signed_version(f->key, 1, NULL, 10);
    f->v[1] = signed_version(f->key, 2, f->v[0]->hash, 11);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    fld_version_free(f->v[0]);
    fld_version_free(f->v[1]);
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
