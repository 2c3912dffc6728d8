/*
 * test_version.c - signed versions: building, hashing, signing, importing,
 * and the golden vectors that pin every signed byte.
 *
 * tests/data/golden/ holds, for a key made from the seed 00 01 02 .. 1f and
 * a fixed draft, the canonical body, its hash and its signature. If any of
 * these bytes changes, every device in the field would disagree with every
 * other: the golden test fails and the change must be a new format
 * version. Run with FIELD_WRITE_GOLDEN=1 once to (re)create the files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "key.h"
#include "version.h"

#define GOLDEN "tests/data/golden/"

static const char *const parent_a =
    "1111111111111111111111111111111111111111111111111111111111111111";
static const char *const parent_b =
    "0000000000000000000000000000000000000000000000000000000000000000";

static struct fld_key *seeded_key(uint8_t first)
{
    uint8_t seed[32];
    struct fld_key *k;
    int i;

    for (i = 0; i < 32; i++)
        seed[i] = (uint8_t)(first + i);
    assert_int_equal(fld_key_from_seed(seed, &k, NULL), FLD_OK);
    return k;
}

/* A fixed draft with Vietnamese text, an integer, a decimal, a choice set. */
static struct fld_json *fixed_answers(void)
{
    struct fld_json *a = fld_json_object();
    struct fld_json *waste = fld_json_array();

    fld_json_append(waste, fld_json_string("collected"));
    fld_json_append(waste, fld_json_string("sorted"));
    fld_json_set(a, "remarks", fld_json_string("Đường bê tông \"tốt\"\n"));
    fld_json_set(a, "households_total", fld_json_int(120));
    fld_json_set(a, "road_total_km", fld_json_string("12.5"));
    fld_json_set(a, "waste", waste);
    return a;
}

static void fixed_draft(struct fld_version_draft *d, struct fld_json *answers)
{
    static const char *parents[2];

    parents[0] = parent_a;
    parents[1] = parent_b; /* given unsorted on purpose */
    memset(d, 0, sizeof *d);
    d->record = "0193a1b2c3d47e5f8a9b0c1d2e3f4a5b";
    d->parents = parents;
    d->n_parents = 2;
    d->dseq = 42;
    d->prev =
        "2222222222222222222222222222222222222222222222222222222222222222";
    d->hlc.ms = 1764288000000;
    d->hlc.count = 3;
    d->template_id = "field-demo";
    d->template_hash =
        "3333333333333333333333333333333333333333333333333333333333333333";
    d->subject = "42001";
    d->status = "draft";
    d->inspector = "Nguyễn Văn An";
    d->answers = answers;
}

static struct fld_version *fixed_version(void)
{
    struct fld_key *k = seeded_key(0);
    struct fld_json *answers = fixed_answers();
    struct fld_version_draft d;
    struct fld_version *v;
    struct fld_err err;

    fixed_draft(&d, answers);
    assert_int_equal(fld_version_sign(&d, k, &v, &err), FLD_OK);
    fld_json_free(answers);
    fld_key_free(k);
    return v;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = fld_xmalloc(1 << 20);

    assert_non_null(f);
    *len = fread(p, 1, 1 << 20, f);
    fclose(f);
    return p;
}

static void write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    fclose(f);
}

static void test_golden_vector(void **state)
{
    struct fld_version *v = fixed_version();
    char sig_hex[129];
    uint8_t *body, *hash, *sig;
    size_t body_len, hash_len, sig_len;

    (void)state;
    fld_hex_encode(v->sig, 64, sig_hex);
    if (getenv("FIELD_WRITE_GOLDEN")) {
        write_file(GOLDEN "version1.body", v->body, v->body_len);
        write_file(GOLDEN "version1.hash", v->hash, 64);
        write_file(GOLDEN "version1.sig", sig_hex, 128);
    }
    body = read_file(GOLDEN "version1.body", &body_len);
    hash = read_file(GOLDEN "version1.hash", &hash_len);
    sig = read_file(GOLDEN "version1.sig", &sig_len);
    assert_int_equal(body_len, v->body_len);
    assert_memory_equal(body, v->body, body_len);
    assert_int_equal(hash_len, 64);
    assert_memory_equal(hash, v->hash, 64);
    assert_int_equal(sig_len, 128);
    assert_memory_equal(sig, sig_hex, 128);
    free(body);
    free(hash);
    free(sig);
    fld_version_free(v);
}

static void test_body_is_canonical_and_sorted(void **state)
{
    struct fld_version *v = fixed_version();
    const char *b = (const char *)v->body;

    (void)state;
    /* keys sorted, parents sorted, no white space outside strings */
    assert_true(strncmp(b, "{\"answers\":", 11) == 0);
    assert_non_null(strstr(b, "\"parents\":[\"0000"));
    assert_true(strstr(b, "\"parents\":[\"0000") < strstr(b, "\"1111"));
    assert_non_null(strstr(b, "\"v\":1}"));
    assert_non_null(strstr(b, "\"hlc\":[1764288000000,3]"));
    assert_string_equal(v->status, "draft");
    assert_int_equal(v->dseq, 42);
    fld_version_free(v);
}

static void test_open_round_trip(void **state)
{
    struct fld_version *v = fixed_version(), *w;
    struct fld_err err;

    (void)state;
    assert_int_equal(fld_version_open(v->body, v->body_len, v->sig, &w, &err),
                     FLD_OK);
    assert_string_equal(w->hash, v->hash);
    assert_string_equal(w->inspector, "Nguyễn Văn An");
    assert_string_equal(w->prev, v->prev);
    assert_int_equal(w->parents->n, 2);
    assert_true(fld_json_equal(w->answers, v->answers));
    fld_version_free(w);
    fld_version_free(v);
}

/* The owned variant keeps the caller's body on success and gives it back
 * untouched on failure (the sanitizer build sees a leak or a double free). */
static void test_open_owned_takes_the_body(void **state)
{
    struct fld_version *v = fixed_version(), *w = NULL;
    struct fld_err err;
    uint8_t *body = fld_xmalloc(v->body_len + 1);
    uint8_t sig[64];

    (void)state;
    memcpy(body, v->body, v->body_len);
    body[v->body_len] = '\0';
    memcpy(sig, v->sig, 64);
    sig[5] ^= 1;
    assert_int_equal(fld_version_open_owned(body, v->body_len, sig, &w, &err),
                     FLD_EBADSIG);
    assert_null(w);
    assert_memory_equal(body, v->body, v->body_len);
    assert_int_equal(
        fld_version_open_owned(body, v->body_len, v->sig, &w, &err), FLD_OK);
    assert_ptr_equal(w->body, body);
    assert_string_equal(w->hash, v->hash);
    fld_version_free(w);
    fld_version_free(v);
}

static void test_flipped_bits_fail(void **state)
{
    struct fld_version *v = fixed_version(), *w = NULL;
    struct fld_err err;
    uint8_t *body = fld_xmalloc(v->body_len);
    uint8_t sig[64];
    char *digit;
    size_t i;

    (void)state;
    /* A bit flipped anywhere in the signature. */
    for (i = 0; i < 64 * 8; i += 37) {
        memcpy(sig, v->sig, 64);
        sig[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(fld_version_open(v->body, v->body_len, sig, &w, &err),
                         FLD_EBADSIG);
        assert_null(w);
    }
    /* 120 households becomes 121: still canonical, signature fails. */
    memcpy(body, v->body, v->body_len);
    digit = strstr((char *)body, ":120");
    assert_non_null(digit);
    digit[3] ^= 1;
    assert_int_equal(fld_version_open(body, v->body_len, v->sig, &w, &err),
                     FLD_EBADSIG);
    assert_null(w);
    free(body);
    fld_version_free(v);
}

static void test_wrong_key_fails(void **state)
{
    struct fld_version *v = fixed_version(), *other, *w = NULL;
    struct fld_key *k2 = seeded_key(100);
    struct fld_json *answers = fixed_answers();
    struct fld_version_draft d;
    struct fld_err err;

    (void)state;
    fixed_draft(&d, answers);
    assert_int_equal(fld_version_sign(&d, k2, &other, &err), FLD_OK);
    /* other's signature over v's body: wrong key for v's author */
    assert_int_equal(
        fld_version_open(v->body, v->body_len, other->sig, &w, &err),
        FLD_EBADSIG);
    assert_null(w);
    assert_non_null(strstr(err.msg, "does not verify"));
    fld_version_free(other);
    fld_version_free(v);
    fld_json_free(answers);
    fld_key_free(k2);
}

/* S + L (the group order) is the same point arithmetic but a second byte
 * form of the signature; strict verification must refuse it. */
static void test_non_canonical_signature_fails(void **state)
{
    static const uint8_t L[32] = {
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
        0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
    struct fld_version *v = fixed_version(), *w = NULL;
    struct fld_err err;
    uint8_t sig[64];
    unsigned carry = 0;
    int i;

    (void)state;
    memcpy(sig, v->sig, 64);
    for (i = 0; i < 32; i++) {
        carry += (unsigned)sig[32 + i] + L[i];
        sig[32 + i] = (uint8_t)carry;
        carry >>= 8;
    }
    assert_int_equal(fld_version_open(v->body, v->body_len, sig, &w, &err),
                     FLD_EBADSIG);
    fld_version_free(v);
}

static void open_text(const char *body, int expect)
{
    struct fld_version *w = NULL;
    uint8_t sig[64] = {0};
    struct fld_err err;

    assert_int_equal(
        fld_version_open((const uint8_t *)body, strlen(body), sig, &w, &err),
        expect);
    assert_null(w);
}

static void test_malformed_bodies_refused(void **state)
{
    (void)state;
    /* not canonical: white space */
    open_text("{ \"v\":1}", FLD_EINVAL);
    /* canonical but missing fields */
    open_text("{\"v\":1}", FLD_EINVAL);
    /* wrong v */
    open_text("{\"v\":2}", FLD_EINVAL);
    /* unknown key */
    open_text("{\"evil\":1,\"v\":1}", FLD_EINVAL);
    /* not JSON */
    open_text("hello", FLD_EINVAL);
}

static void test_oversized_body_refused(void **state)
{
    size_t len = FLD_VERSION_MAX_BODY + 1;
    uint8_t *big = fld_xcalloc(1, len);
    uint8_t sig[64] = {0};
    struct fld_version *w = NULL;

    (void)state;
    memset(big, ' ', len);
    assert_int_equal(fld_version_open(big, len, sig, &w, NULL), FLD_ELIMIT);
    free(big);
}

static void test_draft_rules(void **state)
{
    struct fld_key *k = seeded_key(0);
    struct fld_json *answers = fixed_answers();
    struct fld_version_draft d;
    struct fld_version *v = NULL;
    struct fld_err err;

    (void)state;
    fixed_draft(&d, answers);
    d.status = "done";
    assert_int_equal(fld_version_sign(&d, k, &v, &err), FLD_EINVAL);
    assert_non_null(strstr(err.msg, "status"));
    fixed_draft(&d, answers);
    d.subject = "has space";
    assert_int_equal(fld_version_sign(&d, k, &v, &err), FLD_EINVAL);
    fixed_draft(&d, answers);
    d.record = "0193";
    assert_int_equal(fld_version_sign(&d, k, &v, &err), FLD_EINVAL);
    fixed_draft(&d, answers);
    d.dseq = 1; /* prev given with dseq 1 */
    assert_int_equal(fld_version_sign(&d, k, &v, &err), FLD_EINVAL);
    fixed_draft(&d, answers);
    d.dseq = 3;
    d.prev = NULL;
    assert_int_equal(fld_version_sign(&d, k, &v, &err), FLD_EINVAL);
    fixed_draft(&d, answers);
    d.hlc.ms = -1;
    assert_int_equal(fld_version_sign(&d, k, &v, &err), FLD_EINVAL);
    assert_null(v);
    fld_json_free(answers);
    fld_key_free(k);
}

/* Sign the fixed draft with this status and review (JSON text or NULL). */
static int sign_review(const char *status, const char *review, char *msg)
{
    struct fld_key *k = seeded_key(0);
    struct fld_json *answers = fixed_answers(), *r = NULL;
    struct fld_version_draft d;
    struct fld_version *v = NULL, *back = NULL;
    struct fld_err err;
    int rc;

    fixed_draft(&d, answers);
    d.status = status;
    if (review != NULL)
        assert_int_equal(
            fld_json_parse((const uint8_t *)review, strlen(review), &r, NULL),
            FLD_OK);
    d.review = r;
    fld_err_clear(&err);
    rc = fld_version_sign(&d, k, &v, &err);
    snprintf(msg, FLD_ERR_MSG_MAX, "%s", err.msg);
    if (rc == FLD_OK) { /* what was signed opens again, review and all */
        assert_int_equal(
            fld_version_open(v->body, v->body_len, v->sig, &back, NULL),
            FLD_OK);
        assert_true(review == NULL || fld_json_equal(back->review, r));
    }
    fld_version_free(back);
    fld_version_free(v);
    fld_json_free(r);
    fld_json_free(answers);
    fld_key_free(k);
    return rc;
}

static void test_review_rules(void **state)
{
    char msg[FLD_ERR_MSG_MAX], big[FLD_REVIEW_MAX_NOTE + 32];

    (void)state;
    assert_int_equal(sign_review("returned", "{\"note\":\"Đo lại\"}", msg),
                     FLD_OK);
    assert_int_equal(sign_review("approved",
                                 "{\"recognition\":{\"date\":\"2025-06-30\","
                                 "\"number\":\"12/QĐ-UBND\"}}",
                                 msg),
                     FLD_OK);
    assert_int_equal(sign_review("rejected", NULL, msg), FLD_OK);
    assert_int_equal(sign_review("final", "{\"note\":\"x\"}", msg), FLD_EINVAL);
    assert_string_equal(msg, "version: \"review\" in a final version");
    assert_int_equal(sign_review("returned", "{\"why\":\"x\"}", msg),
                     FLD_EINVAL);
    assert_int_equal(sign_review("returned", "{\"note\":\"\"}", msg),
                     FLD_EINVAL);
    assert_int_equal(sign_review("returned", "{\"note\":1}", msg), FLD_EINVAL);
    assert_int_equal(sign_review("rejected",
                                 "{\"recognition\":{\"date\":\"2025-06-30\","
                                 "\"number\":\"1\"}}",
                                 msg),
                     FLD_EINVAL);
    assert_string_equal(msg, "version: a recognition in a rejected version");
    assert_int_equal(sign_review("approved",
                                 "{\"recognition\":{\"date\":\"30/06/2025\","
                                 "\"number\":\"1\"}}",
                                 msg),
                     FLD_EINVAL);
    assert_int_equal(
        sign_review("approved", "{\"recognition\":{\"number\":\"1\"}}", msg),
        FLD_EINVAL);
    memset(big, 'a', sizeof big);
    memcpy(big, "{\"note\":\"", 9);
    memcpy(big + 9 + FLD_REVIEW_MAX_NOTE + 1, "\"}", 3);
    assert_int_equal(sign_review("returned", big, msg), FLD_EINVAL);
}

/* Sign the fixed draft with these attachments (JSON text); on success the
 * version opens again and names them through fld_version_attachment(). */
static int sign_attachments(const char *attachments, char *msg)
{
    struct fld_key *k = seeded_key(0);
    struct fld_json *answers = fixed_answers(), *a = NULL;
    struct fld_version_draft d;
    struct fld_version *v = NULL, *back = NULL;
    struct fld_version_attachment one;
    struct fld_err err;
    int rc;

    fixed_draft(&d, answers);
    assert_int_equal(fld_json_parse((const uint8_t *)attachments,
                                    strlen(attachments), &a, NULL),
                     FLD_OK);
    d.attachments = a;
    fld_err_clear(&err);
    rc = fld_version_sign(&d, k, &v, &err);
    snprintf(msg, FLD_ERR_MSG_MAX, "%s", err.msg);
    if (rc == FLD_OK) {
        assert_int_equal(
            fld_version_open(v->body, v->body_len, v->sig, &back, NULL),
            FLD_OK);
        assert_int_equal(fld_version_n_attachments(back), a->n);
        if (a->n > 0) {
            fld_version_attachment(back, 0, &one);
            assert_string_equal(one.hash, a->members[0].key);
            assert_true(one.bytes > 0);
        }
    }
    fld_version_free(back);
    fld_version_free(v);
    fld_json_free(a);
    fld_json_free(answers);
    fld_key_free(k);
    return rc;
}

#define PHOTO                                                                  \
    "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""

static void test_attachment_rules(void **state)
{
    char msg[FLD_ERR_MSG_MAX];

    (void)state;
    assert_int_equal(sign_attachments("{}", msg), FLD_OK); /* left out */
    assert_int_equal(
        sign_attachments("{" PHOTO ":{\"bytes\":2048,\"type\":\"image/jpeg\","
                         "\"taken\":\"2026-12-05T09:30:00\","
                         "\"position\":\"18.340000 105.900000\"}}",
                         msg),
        FLD_OK);
    assert_int_equal(sign_attachments("{" PHOTO
                                      ":{\"bytes\":1,\"type\":\"image/png\"}}",
                                      msg),
                     FLD_OK);
    /* each rule broken once: type, size, time, position, key, extra member */
    assert_int_equal(sign_attachments("{" PHOTO
                                      ":{\"bytes\":1,\"type\":\"image/gif\"}}",
                                      msg),
                     FLD_EINVAL);
    assert_string_equal(msg, "version: attachment 0123456789abcdef is not "
                             "{bytes, type, taken, position}");
    assert_int_equal(sign_attachments("{" PHOTO
                                      ":{\"bytes\":0,\"type\":\"image/png\"}}",
                                      msg),
                     FLD_EINVAL);
    assert_int_equal(sign_attachments("{" PHOTO
                                      ":{\"bytes\":1,\"type\":\"image/png\","
                                      "\"taken\":\"2026-12-05 09:30:00\"}}",
                                      msg),
                     FLD_EINVAL);
    assert_int_equal(sign_attachments("{" PHOTO
                                      ":{\"bytes\":1,\"type\":\"image/png\","
                                      "\"taken\":\"2026-12-05T24:00:00\"}}",
                                      msg),
                     FLD_EINVAL);
    assert_int_equal(sign_attachments("{" PHOTO
                                      ":{\"bytes\":1,\"type\":\"image/png\","
                                      "\"position\":\"18.34 105.9\"}}",
                                      msg),
                     FLD_EINVAL);
    assert_int_equal(
        sign_attachments("{\"ABCDEF\":{\"bytes\":1,\"type\":\"image/png\"}}",
                         msg),
        FLD_EINVAL);
    assert_int_equal(sign_attachments("{" PHOTO
                                      ":{\"bytes\":1,\"type\":\"image/png\","
                                      "\"name\":\"a.png\"}}",
                                      msg),
                     FLD_EINVAL);
    assert_true(fld_is_timestamp("2024-02-29T23:59:59"));
    assert_false(fld_is_timestamp("2023-02-29T12:00:00"));
    assert_false(fld_is_timestamp("2023-01-01T12:60:00"));
    assert_false(fld_is_timestamp("2023-01-01T12:00:0"));
}

static void test_duplicate_parents_collapse(void **state)
{
    static const char *parents[3];
    struct fld_key *k = seeded_key(0);
    struct fld_version_draft d;
    struct fld_version *v;

    (void)state;
    fixed_draft(&d, NULL);
    parents[0] = parent_a;
    parents[1] = parent_a;
    parents[2] = parent_b;
    d.parents = parents;
    d.n_parents = 3;
    assert_int_equal(fld_version_sign(&d, k, &v, NULL), FLD_OK);
    assert_int_equal(v->parents->n, 2);
    fld_version_free(v);
    fld_key_free(k);
}

static void test_record_ids_are_time_ordered(void **state)
{
    char a[33], b[33];

    (void)state;
    fld_record_id_new(a);
    fld_record_id_new(b);
    assert_true(fld_is_hex(a, 32));
    assert_int_equal(a[12], '7'); /* version nibble */
    assert_true(strchr("89ab", a[16]) != NULL);
    assert_true(strncmp(a, b, 8) <= 0);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_vector),
        cmocka_unit_test(test_body_is_canonical_and_sorted),
        cmocka_unit_test(test_open_round_trip),
        cmocka_unit_test(test_open_owned_takes_the_body),
        cmocka_unit_test(test_flipped_bits_fail),
        cmocka_unit_test(test_wrong_key_fails),
        cmocka_unit_test(test_non_canonical_signature_fails),
        cmocka_unit_test(test_malformed_bodies_refused),
        cmocka_unit_test(test_oversized_body_refused),
        cmocka_unit_test(test_draft_rules),
        cmocka_unit_test(test_review_rules),
        cmocka_unit_test(test_attachment_rules),
        cmocka_unit_test(test_duplicate_parents_collapse),
        cmocka_unit_test(test_record_ids_are_time_ordered),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
