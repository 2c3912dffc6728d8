/*
 * test_thresholds.c - threshold revisions (field/thresholds.h): signed by a
 * fixed key over a fixed draft they give fixed bytes (golden vectors);
 * a flipped bit, a wrong key or a version's signature prefix are refused;
 * every rule is refused with its place; applied to a template, the form
 * engine evaluates with the new values, and what was not given stays as
 * the template has it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "file.h"
#include "form.h"
#include "thresholds.h"
#include "testutil.h"

#define GOLDEN "tests/data/golden/"
#define ISSUED 1764288000000LL

/* A small template: a region and a year, a threshold of one value and one
 * keyed by both, a threshold the template knows (70), and a criterion that
 * needs the first two. Its hash never changes with the built-in ones. */
static const char template_json[] =
    "{\"id\":\"thr-test\",\"version\":\"1\",\"title\":{\"vi\":\"T\"},"
    "\"parameters\":["
    " {\"name\":\"region\",\"type\":\"select_one\",\"choices\":\"regions\","
    "  \"label\":{\"vi\":\"Vùng\"}},"
    " {\"name\":\"year\",\"type\":\"integer\",\"label\":{\"vi\":\"Năm\"}}],"
    "\"choices\":{\"regions\":[{\"name\":\"bac\",\"label\":{\"vi\":\"B\"}},"
    " {\"name\":\"nam\",\"label\":{\"vi\":\"N\"}}]},"
    "\"thresholds\":{"
    " \"margin_pct\":{\"label\":{\"vi\":\"M\"},\"value\":null},"
    " \"income_min\":{\"label\":{\"vi\":\"I\"},\"by\":[\"region\",\"year\"],"
    "  \"values\":{\"bac/2025\":null,\"nam/2025\":null}},"
    " \"known_pct\":{\"label\":{\"vi\":\"K\"},\"value\":70}},"
    "\"sections\":[{\"name\":\"s\",\"label\":{\"vi\":\"S\"},\"questions\":["
    " {\"name\":\"income\",\"type\":\"decimal\",\"label\":{\"vi\":\"Thu\"}},"
    " {\"name\":\"pct\",\"type\":\"integer\",\"label\":{\"vi\":\"P\"}}]}],"
    "\"criteria\":["
    " {\"code\":\"1\",\"name\":{\"vi\":\"Thu nhập\"},\"indicators\":[{"
    "  \"code\":\"1\",\"text\":{\"vi\":\"x\"},\"met\":\"${income} * 100 >= "
    "threshold('income_min') * (100 + threshold('margin_pct'))\"}]},"
    " {\"code\":\"2\",\"name\":{\"vi\":\"Tỉ lệ\"},\"indicators\":[{"
    "  \"code\":\"2\",\"text\":{\"vi\":\"y\"},\"met\":\"${pct} >= "
    "threshold('known_pct')\"}]}],"
    "\"tier\":{\"label\":{\"vi\":\"T\"},\"requires\":\"all\"}}";

/* What an administrator writes: decimals with a comma, a date as
 * Vietnamese write it, the template by its id. */
static const char draft_json[] =
    "{\"template\":\"thr-test\",\"revision\":1,\"valid_from\":\"1/7/2025\","
    "\"source\":\"Quyết định 12/2025/QĐ-UBND\","
    "\"thresholds\":{\"margin_pct\":{\"value\":10},"
    "\"income_min\":{\"values\":{\"bac/2025\":\"60,0\",\"nam/2025\":null}}}}";

static struct fld_template *test_template(void)
{
    struct fld_template *t = NULL;
    struct fld_err err;

    if (fld_template_parse((const uint8_t *)template_json,
                           strlen(template_json), &t, &err) != FLD_OK)
        fail_msg("template: %s", err.msg);
    return t;
}

static struct fld_json *parse(const char *text)
{
    struct fld_json *j = NULL;
    struct fld_err err;

    if (fld_json_parse((const uint8_t *)text, strlen(text), &j, &err) != FLD_OK)
        fail_msg("%s: %s", text, err.msg);
    return j;
}

/* Sign draft text for t with the key of seed `seed`; expect rc. */
static struct fld_thresholds *sign_text(const struct fld_template *t,
                                        const char *draft, uint8_t seed,
                                        int expect, const char *message)
{
    struct fld_json *d = parse(draft);
    struct fld_key *k = tu_key(seed);
    struct fld_thresholds *r = NULL;
    struct fld_err err;
    int rc;

    fld_err_clear(&err);
    rc = fld_thresholds_sign(d, t, k, ISSUED, &r, &err);
    if (rc != expect)
        fail_msg("sign gave %d (%s), expected %d", rc, err.msg, expect);
    if (message != NULL && strcmp(err.msg, message) != 0)
        fail_msg("expected \"%s\", got \"%s\"", message, err.msg);
    fld_json_free(d);
    fld_key_free(k);
    return r;
}

/* Statuses of criteria 1, 2 and the tier: 'm', 'n', '?'. */
static void expect_statuses(const struct fld_template *t, const char *answers,
                            const char *want)
{
    static const char letter[] = {[FLD_STATUS_UNKNOWN] = '?',
                                  [FLD_STATUS_MET] = 'm',
                                  [FLD_STATUS_NOT_MET] = 'n'};
    struct fld_json *a = parse(answers);
    struct fld_form *f = NULL;
    char got[4];

    assert_int_equal(fld_form_eval(t, a, "2025-08-01", &f, NULL), FLD_OK);
    got[0] = letter[fld_form_criterion(f, 0)];
    got[1] = letter[fld_form_criterion(f, 1)];
    got[2] = letter[fld_form_tier(f)];
    got[3] = '\0';
    assert_string_equal(got, want);
    fld_form_free(f);
    fld_json_free(a);
}

static const char answers_66[] =
    "{\"region\":\"bac\",\"year\":2025,\"income\":\"66\",\"pct\":75}";

static void test_sign_normalises_and_apply_decides(void **state)
{
    struct fld_template *t = test_template();
    char hash[FLD_HASH_HEX_LEN + 1];
    struct fld_thresholds *r = sign_text(t, draft_json, 0, FLD_OK, NULL);
    const struct fld_threshold *th;
    struct fld_err err;

    (void)state;
    snprintf(hash, sizeof hash, "%s", fld_template_hash(t));
    assert_string_equal(r->template_id, "thr-test");
    assert_string_equal(r->template_hash, hash);
    assert_int_equal(r->revision, 1);
    assert_string_equal(r->valid_from, "2025-07-01");
    assert_string_equal(r->source, "Quyết định 12/2025/QĐ-UBND");
    assert_int_equal(r->issued_ms, ISSUED);
    assert_string_equal(
        fld_json_get_string(
            fld_json_get(fld_json_get(r->thresholds, "income_min"), "values"),
            "bac/2025"),
        "60");
    assert_non_null(strstr((const char *)r->body, "\"bac/2025\":\"60\""));

    /* Before: the income level is unknown, so criterion 1 and the tier. */
    expect_statuses(t, answers_66, "?m?");
    fld_err_clear(&err);
    assert_int_equal(fld_thresholds_apply(r, t, &err), FLD_OK);
    /* 66 is 60 plus 10%: met; the template's own 70 still decides 2. */
    expect_statuses(t, answers_66, "mmm");
    expect_statuses(t,
                    "{\"region\":\"bac\",\"year\":2025,\"income\":\"65.9\","
                    "\"pct\":75}",
                    "nmn");
    /* a key the revision leaves null stays unknown */
    expect_statuses(t,
                    "{\"region\":\"nam\",\"year\":2025,\"income\":\"66\","
                    "\"pct\":75}",
                    "?m?");
    /* the identity of the template is not touched */
    assert_string_equal(fld_template_hash(t), hash);
    th = fld_template_threshold(t, "margin_pct");
    assert_string_equal(th->provenance.source, "Quyết định 12/2025/QĐ-UBND");
    assert_true(th->provenance.verified);
    th = fld_template_threshold(t, "known_pct");
    assert_null(th->provenance.source);
    assert_int_equal(th->value->i, 70);
    fld_thresholds_free(r);
    fld_template_free(t);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    uint8_t *p = NULL;
    struct fld_err err;

    if (fld_file_read(path, 1 << 16, &p, len, &err) != FLD_OK)
        fail_msg("%s (run from the repository root)", err.msg);
    return p;
}

static void write_file(const char *path, const void *p, size_t len)
{
    assert_int_equal(fld_file_write(path, p, len, 0644, 0, NULL), FLD_OK);
}

/* The bytes a fixed key signs over a fixed draft never change: if they
 * did, devices and servers of two releases would disagree. */
static void test_golden_vector(void **state)
{
    struct fld_template *t = test_template();
    struct fld_thresholds *r = sign_text(t, draft_json, 0, FLD_OK, NULL);
    char sig_hex[2 * FLD_SIG_LEN + 1];
    uint8_t *body, *hash, *sig;
    size_t body_len, hash_len, sig_len;

    (void)state;
    fld_hex_encode(r->sig, FLD_SIG_LEN, sig_hex);
    if (getenv("FIELD_WRITE_GOLDEN")) {
        write_file(GOLDEN "thresholds1.body", r->body, r->body_len);
        write_file(GOLDEN "thresholds1.hash", r->hash, FLD_HASH_HEX_LEN);
        write_file(GOLDEN "thresholds1.sig", sig_hex, 2 * FLD_SIG_LEN);
    }
    body = read_file(GOLDEN "thresholds1.body", &body_len);
    hash = read_file(GOLDEN "thresholds1.hash", &hash_len);
    sig = read_file(GOLDEN "thresholds1.sig", &sig_len);
    assert_int_equal(body_len, r->body_len);
    assert_memory_equal(body, r->body, body_len);
    assert_int_equal(hash_len, FLD_HASH_HEX_LEN);
    assert_memory_equal(hash, r->hash, FLD_HASH_HEX_LEN);
    assert_int_equal(sig_len, 2 * FLD_SIG_LEN);
    assert_memory_equal(sig, sig_hex, 2 * FLD_SIG_LEN);
    free(body);
    free(hash);
    free(sig);
    fld_thresholds_free(r);
    fld_template_free(t);
}

static int open_copy(const uint8_t *body, size_t len, const uint8_t *sig,
                     struct fld_err *err)
{
    struct fld_thresholds *r = NULL;
    int rc = fld_thresholds_open(body, len, sig, &r, err);

    if (rc == FLD_OK)
        assert_non_null(r);
    else
        assert_null(r);
    fld_thresholds_free(r);
    return rc;
}

/* Every bit of body and signature counts; another key's signature, or the
 * author's signature as a version (field-version-v1), is no signature. */
static void test_tampering_is_refused(void **state)
{
    struct fld_template *t = test_template();
    struct fld_thresholds *r = sign_text(t, draft_json, 0, FLD_OK, NULL);
    struct fld_key *other = tu_key(1), *author = tu_key(0);
    uint8_t *body = fld_xmalloc(r->body_len), sig[FLD_SIG_LEN], h[32];
    uint8_t vmsg[sizeof FLD_SIGN_PREFIX - 1 + 32];
    uint8_t tmsg[sizeof FLD_THRESHOLDS_SIGN_PREFIX - 1 + 32];
    struct fld_err err;
    char *at;

    (void)state;
    assert_int_equal(open_copy(r->body, r->body_len, r->sig, &err), FLD_OK);
    /* a flipped bit in the signature */
    memcpy(sig, r->sig, FLD_SIG_LEN);
    sig[10] ^= 0x04;
    assert_int_equal(open_copy(r->body, r->body_len, sig, &err), FLD_EBADSIG);
    assert_non_null(strstr(err.msg, "does not verify"));
    /* a flipped bit in a value: "60" becomes "62", still canonical */
    memcpy(body, r->body, r->body_len);
    at = strstr((char *)body, "\"60\"");
    assert_non_null(at);
    at[2] ^= 0x02;
    assert_int_equal(open_copy(body, r->body_len, r->sig, &err), FLD_EBADSIG);
    /* another key's signature over the same message */
    assert_int_equal(fld_hex_decode(r->hash, h, sizeof h), 0);
    fld_thresholds_sign_message(h, tmsg);
    fld_key_sign(other, tmsg, sizeof tmsg, sig);
    assert_int_equal(open_copy(r->body, r->body_len, sig, &err), FLD_EBADSIG);
    /* the author's own key, but as a version's signature */
    fld_version_sign_message(h, vmsg);
    fld_key_sign(author, vmsg, sizeof vmsg, sig);
    assert_int_equal(open_copy(r->body, r->body_len, sig, &err), FLD_EBADSIG);
    /* the right message again verifies */
    fld_key_sign(author, tmsg, sizeof tmsg, sig);
    assert_int_equal(open_copy(r->body, r->body_len, sig, &err), FLD_OK);
    /* a space: the same JSON, not the signed bytes */
    {
        struct fld_buf b = FLD_BUF_INIT;

        fld_buf_putc(&b, ' ');
        fld_buf_append(&b, r->body, r->body_len);
        assert_int_equal(open_copy(b.data, b.len, r->sig, &err), FLD_EINVAL);
        assert_string_equal(err.msg, "not in canonical form");
        fld_buf_free(&b);
    }
    free(body);
    fld_key_free(other);
    fld_key_free(author);
    fld_thresholds_free(r);
    fld_template_free(t);
}

/* A draft with member key (JSON text, or NULL to drop it) in place of the
 * fixed one's. */
static char *draft_with(const char *key, const char *json)
{
    struct fld_json *d = parse(draft_json);
    struct fld_buf b = FLD_BUF_INIT;
    char *out;

    if (json == NULL)
        fld_json_remove(d, key);
    else
        fld_json_set(d, key, parse(json));
    assert_int_equal(fld_json_write(d, &b, NULL), FLD_OK);
    out = fld_xstrndup((const char *)b.data, b.len);
    fld_buf_free(&b);
    fld_json_free(d);
    return out;
}

static void refused(const struct fld_template *t, const char *key,
                    const char *json, const char *message)
{
    char *d = draft_with(key, json);

    assert_null(sign_text(t, d, 0, FLD_EINVAL, message));
    free(d);
}

/* Every rule is refused with the place of the problem, in one line. */
static void test_rules_name_the_place(void **state)
{
    struct fld_template *t = test_template();

    (void)state;
    refused(t, "thresholds",
            "{\"margin_pct\":{\"value\":10},\"incom_min\":{\"value\":1}}",
            "thresholds.incom_min: not a threshold of template thr-test");
    refused(t, "thresholds", "{\"margin_pct\":{\"value\":true}}",
            "thresholds.margin_pct.value: not a number");
    refused(t, "thresholds", "{\"margin_pct\":{\"value\":\"ten\"}}",
            "thresholds.margin_pct.value: not a number");
    refused(t, "thresholds",
            "{\"income_min\":{\"values\":{\"bac/2025\":[60]}}}",
            "thresholds.income_min.values[\"bac/2025\"]: not a number");
    refused(t, "thresholds",
            "{\"income_min\":{\"values\":{\"bac_trung_bo/2025\":60}}}",
            "thresholds.income_min.values[\"bac_trung_bo/2025\"]: "
            "\"bac_trung_bo\" is not a value of parameter region");
    refused(t, "thresholds", "{\"income_min\":{\"values\":{\"bac\":60}}}",
            "thresholds.income_min.values[\"bac\"]: needs 2 parts joined by "
            "'/'");
    refused(t, "thresholds", "{\"income_min\":{\"value\":60}}",
            "thresholds.income_min: keyed by region, year: give \"values\" "
            "(and no \"value\")");
    refused(t, "thresholds", "{\"margin_pct\":{\"values\":{\"x\":1}}}",
            "thresholds.margin_pct: one value, not a table: give \"value\" "
            "(and no \"values\")");
    refused(t, "thresholds", "{\"margin_pct\":{\"value\":1,\"unit\":\"%\"}}",
            "thresholds.margin_pct: unknown key \"unit\"");
    refused(t, "thresholds", "{\"margin_pct\":10}",
            "thresholds.margin_pct: expected {\"value\": ...} or {\"values\": "
            "{...}}");
    refused(t, "thresholds", "{}",
            "thresholds: expected an object naming at least one threshold");
    refused(t, "revision", "0", "revision: expected a whole number from 1");
    refused(t, "revision", "\"2\"", "revision: expected a whole number from 1");
    refused(t, "valid_from", "\"2025-02-30\"",
            "valid_from: expected a date YYYY-MM-DD");
    refused(t, "source", NULL,
            "source: expected the document that set the values (1 to 1000 "
            "bytes of text)");
    refused(t, "template", "\"ntm-xa-2021\"",
            "template: expected \"thr-test\" (or its hash, or {\"id\", "
            "\"hash\"})");
    refused(t, "author", "\"00\"",
            "author: filled in when signing; leave it out");
    refused(t, "signature", "1", "unknown key \"signature\"");
    refused(t, "kind", "\"field-version\"", "kind: not \"field-thresholds\"");
    fld_template_free(t);
}

/* A revision of another template never applies, and a failed apply
 * changes nothing. */
static void test_apply_is_all_or_nothing(void **state)
{
    struct fld_template *t = test_template();
    struct fld_template *demo = tu_demo_template();
    struct fld_thresholds *r = sign_text(t, draft_json, 0, FLD_OK, NULL);
    struct fld_json *bad = parse("{\"margin_pct\":{\"value\":10},"
                                 "\"income_min\":{\"values\":{\"bac/2025\":"
                                 "60,\"nam/2025\":\"x\"}}}");
    struct fld_err err;

    (void)state;
    fld_err_clear(&err);
    assert_int_equal(fld_thresholds_apply(r, demo, &err), FLD_EINVAL);
    assert_non_null(strstr(err.msg, "the revision is for thr-test"));
    assert_int_equal(fld_template_set_thresholds(t, bad, NULL, &err),
                     FLD_EINVAL);
    assert_string_equal(
        err.msg, "thresholds.income_min.values[\"nam/2025\"]: not a number");
    /* nothing of it was taken, not even the margin listed first */
    assert_int_equal(fld_template_threshold(t, "margin_pct")->value->type,
                     FLD_JSON_NULL);
    expect_statuses(t, answers_66, "?m?");
    /* written in another form than the normal one: refused on import */
    fld_json_free(bad);
    bad = parse("{\"margin_pct\":{\"value\":\"10.0\"}}");
    assert_int_equal(fld_template_check_thresholds(t, bad, &err), FLD_EINVAL);
    assert_string_equal(err.msg, "thresholds.margin_pct.value: \"10.0\" is "
                                 "not written in normal form (\"10\")");
    fld_json_free(bad);
    fld_thresholds_free(r);
    fld_template_free(demo);
    fld_template_free(t);
}

/* The file form {"body", "sig"} round-trips, and nothing else passes. */
static void test_file_form(void **state)
{
    struct fld_template *t = test_template();
    struct fld_thresholds *r = sign_text(t, draft_json, 0, FLD_OK, NULL);
    struct fld_thresholds *back = NULL;
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_err err;
    static const char *const bad[] = {"[]", "{\"body\":\"{}\"}",
                                      "{\"body\":\"{}\",\"sig\":\"00\"}"};

    (void)state;
    fld_thresholds_write(r, &b);
    assert_int_equal(b.data[b.len - 1], '\n');
    assert_int_equal(fld_thresholds_read(b.data, b.len, &back, &err), FLD_OK);
    assert_string_equal(back->hash, r->hash);
    assert_memory_equal(back->sig, r->sig, FLD_SIG_LEN);
    assert_int_equal(back->revision, 1);
    fld_thresholds_free(back);
    assert_int_equal(
        fld_thresholds_read((const uint8_t *)bad[0], 2, &back, &err),
        FLD_EINVAL);
    assert_int_equal(fld_thresholds_read((const uint8_t *)bad[1],
                                         strlen(bad[1]), &back, &err),
                     FLD_EINVAL);
    assert_int_equal(fld_thresholds_read((const uint8_t *)bad[2],
                                         strlen(bad[2]), &back, &err),
                     FLD_EINVAL);
    assert_string_equal(err.msg, "not a signed threshold revision {\"body\": "
                                 "..., \"sig\": <128 hex digits>}");
    assert_null(back);
    fld_buf_free(&b);
    fld_thresholds_free(r);
    fld_template_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_normalises_and_apply_decides),
        cmocka_unit_test(test_golden_vector),
        cmocka_unit_test(test_tampering_is_refused),
        cmocka_unit_test(test_rules_name_the_place),
        cmocka_unit_test(test_apply_is_all_or_nothing),
        cmocka_unit_test(test_file_form),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
