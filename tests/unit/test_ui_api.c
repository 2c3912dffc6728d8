/*
 * test_ui_api.c - the JSON API of `field ui` (ui_api.h) on a real store
 * in a fresh temporary data directory per test: JSON in, form state out.
 * The form state comes from the C engine (relevance, constraints with
 * their messages, calculations, repeat items, filtered choices), evaluate
 * saves nothing, save signs exactly one version and refuses a stale base
 * (409), finalize lists what is missing (422), and bad input gets its
 * status and names the member.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "testutil.h"
#include "ui_testutil.h"
#include "ui_api.h"

/* A template with everything the page draws (as tests/unit/test_form.c). */
static const char *const tmpl =
    "{\"id\": \"t\", \"version\": \"1\", \"title\": {\"vi\": \"Kiểm tra\"},"
    " \"parameters\": ["
    "  {\"name\": \"grp\", \"type\": \"select_one\", \"choices\": \"groups\","
    "   \"label\": {\"vi\": \"Nhóm\"}, \"required\": true}],"
    " \"choices\": {"
    "  \"groups\": [{\"name\": \"g1\", \"label\": {\"vi\": \"1\"}},"
    "              {\"name\": \"g2\", \"label\": {\"vi\": \"2\"}}],"
    "  \"kinds\": [{\"name\": \"a\", \"label\": {\"vi\": \"A\"}, \"only\": "
    "\"g1\"},"
    "             {\"name\": \"b\", \"label\": {\"vi\": \"B\"}, \"only\": "
    "\"g2\"}],"
    "  \"yn\": [{\"name\": \"yes\", \"label\": {\"vi\": \"Có\"}},"
    "          {\"name\": \"no\", \"label\": {\"vi\": \"Không\"}}]},"
    " \"sections\": ["
    "  {\"name\": \"s\", \"label\": {\"vi\": \"Chung\"}, \"questions\": ["
    "   {\"name\": \"total\", \"type\": \"integer\", \"label\": {\"vi\": "
    "\"Tổng\"},"
    "    \"required\": true, \"constraint\": \". > 0\","
    "    \"constraint_message\": {\"vi\": \"Phải lớn hơn 0\", \"en\": \"Must "
    "be above 0\"}},"
    "   {\"name\": \"has_more\", \"type\": \"select_one\", \"choices\": "
    "\"yn\","
    "    \"label\": {\"vi\": \"Thêm?\"}},"
    "   {\"name\": \"more\", \"type\": \"text\", \"label\": {\"vi\": "
    "\"Thêm\"},"
    "    \"relevant\": \"${has_more} = 'yes'\", \"required\": true},"
    "   {\"name\": \"kind\", \"type\": \"select_one\", \"choices\": "
    "\"kinds\","
    "    \"label\": {\"vi\": \"Loại\"}, \"choice_filter\": \"${only} = "
    "${grp}\"}]},"
    "  {\"name\": \"hh\", \"label\": {\"vi\": \"Hộ\"}, \"repeat\": true, "
    "\"questions\": ["
    "   {\"name\": \"hh_name\", \"type\": \"text\", \"label\": {\"vi\": "
    "\"Tên\"},"
    "    \"required\": true},"
    "   {\"name\": \"hh_area\", \"type\": \"integer\", \"label\": {\"vi\": "
    "\"Diện tích\"}}]},"
    "  {\"name\": \"sum\", \"label\": {\"vi\": \"Tổng hợp\"}, \"questions\": "
    "["
    "   {\"name\": \"n_hh\", \"type\": \"integer\", \"label\": {\"vi\": \"Số "
    "hộ\"},"
    "    \"calculation\": \"count(${hh})\"},"
    "   {\"name\": \"area\", \"type\": \"integer\", \"label\": {\"vi\": "
    "\"Tổng DT\"},"
    "    \"calculation\": \"sum(${hh_area})\"}]}]}";

struct fixture {
    char *dir;
    struct cmd_ctx ctx;
    struct fld_json *reply; /* the last reply, parsed */
    int status;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct fld_template *t;
    struct fld_err err;
    const uint8_t *body;
    size_t len;

    tu_ui_device(&f->dir, &f->ctx);
    assert_int_equal(
        fld_template_parse((const uint8_t *)tmpl, strlen(tmpl), &t, &err),
        FLD_OK);
    body = fld_template_canonical(t, &len);
    assert_int_equal(fld_store_template_put(f->ctx.st, fld_template_hash(t),
                                            "t", body, len, &err),
                     FLD_OK);
    fld_template_free(t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    fld_json_free(f->reply);
    cmd_ctx_close(&f->ctx);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* Send a request; the reply is parsed into f->reply, its status returned. */
static int call(struct fixture *f, const char *method, const char *path,
                const char *body)
{
    struct fld_ui_reply reply = {0, FLD_BUF_INIT, NULL, NULL, NULL};
    struct fld_ui_query q = {NULL, NULL, NULL, NULL};
    struct fld_err err;
    const char *qs = strchr(path, '?');
    char *p = fld_xstrdup(path);

    if (qs != NULL) {
        p[qs - path] = '\0';
        if (strncmp(qs, "?q=", 3) == 0)
            q.q = qs + 3;
        if (strncmp(qs, "?status=", 8) == 0)
            q.status = qs + 8;
    }
    fld_json_free(f->reply);
    f->reply = NULL;
    fld_ui_api_handle(&f->ctx, method, p, &q, (const uint8_t *)body,
                      body ? strlen(body) : 0, &reply);
    free(p);
    assert_int_equal(fld_json_parse((const uint8_t *)reply.body.data,
                                    reply.body.len, &f->reply, &err),
                     FLD_OK);
    fld_buf_free(&reply.body);
    f->status = reply.status;
    return reply.status;
}

static const char *str(const struct fld_json *o, const char *key)
{
    const char *s = fld_json_get_string(o, key);

    assert_non_null(s);
    return s;
}

static int64_t n_versions(struct fixture *f)
{
    int64_t n = 0;
    size_t i;

    assert_int_equal(call(f, "GET", "/api/records", NULL), 200);
    for (i = 0; i < f->reply->n; i++) {
        int64_t v;

        assert_true(fld_json_get_int(f->reply->items[i], "versions", &v));
        n += v;
    }
    return n;
}

/* A new record of template t; its id in out. */
static void new_t(struct fixture *f, char out[33])
{
    assert_int_equal(call(f, "POST", "/api/records",
                          "{\"template\": \"t\", \"unit\": \"X1\"}"),
                     201);
    snprintf(out, 33, "%s", str(f->reply, "id"));
}

/* The question of that key in a state (parameters, sections, items). */
static const struct fld_json *question(const struct fld_json *state,
                                       const char *key)
{
    const struct fld_json *secs = fld_json_get(state, "sections");
    const struct fld_json *params = fld_json_get(state, "parameters");
    size_t i, j, k;

    for (i = 0; i < params->n; i++)
        if (strcmp(str(params->items[i], "key"), key) == 0)
            return params->items[i];
    for (i = 0; i < secs->n; i++) {
        const struct fld_json *qs = fld_json_get(secs->items[i], "questions");
        const struct fld_json *items = fld_json_get(secs->items[i], "items");

        for (j = 0; qs && j < qs->n; j++)
            if (strcmp(str(qs->items[j], "key"), key) == 0)
                return qs->items[j];
        for (j = 0; items && j < items->n; j++) {
            qs = fld_json_get(items->items[j], "questions");
            for (k = 0; k < qs->n; k++)
                if (strcmp(str(qs->items[k], "key"), key) == 0)
                    return qs->items[k];
        }
    }
    fail_msg("no question %s", key);
    return NULL;
}

static bool relevant(const struct fld_json *q)
{
    return fld_json_get(q, "relevant")->type == FLD_JSON_TRUE;
}

static void test_fold(void **state)
{
    char *s;

    (void)state;
    s = fld_ui_fold("Kỳ Lợi");
    assert_string_equal(s, "ky loi");
    free(s);
    s = fld_ui_fold("Đức Thọ");
    assert_string_equal(s, "duc tho");
    free(s);
    assert_null(fld_ui_fold("\xff"));
}

static void test_templates_and_units(void **state)
{
    struct fixture *f = *state;
    size_t i;
    bool demo = false;

    assert_int_equal(call(f, "GET", "/api/templates", NULL), 200);
    for (i = 0; i < f->reply->n; i++)
        demo = demo || strcmp(str(f->reply->items[i], "id"), "field-demo") == 0;
    assert_true(demo);
    /* init loads the province's units: part of a name, accents optional,
     * any case; only units valid today */
    assert_int_equal(call(f, "GET", "/api/units?q=KY XUAN", NULL), 200);
    assert_int_equal(f->reply->n, 1);
    assert_string_equal(str(f->reply->items[0], "name"), "Kỳ Xuân");
    assert_int_equal(call(f, "GET", "/api/units?q=kỳ xuân", NULL), 200);
    assert_int_equal(f->reply->n, 1);
    assert_int_equal(call(f, "GET", "/api/units?q=zzzz", NULL), 200);
    assert_int_equal(f->reply->n, 0);
    assert_int_equal(call(f, "GET", "/api/nothing", NULL), 404);
    assert_string_equal(str(f->reply, "error"), "not_found");
    assert_non_null(fld_json_get_string(f->reply, "message_vi"));
    assert_non_null(fld_json_get_string(f->reply, "message_en"));
}

/* A template added while `field ui` runs is the one a new record gets. */
static void test_template_added_meanwhile(void **state)
{
    struct fixture *f = *state;
    struct fld_template *t;
    struct fld_err err;
    const uint8_t *body;
    char *v2 = fld_xstrdup(tmpl), *at = strstr(v2, "\"version\": \"1\"");
    char id[33], path[96], hash[65];
    size_t i, len;

    new_t(f, id); /* the process now holds version 1 */
    assert_int_equal(call(f, "GET", "/api/templates", NULL), 200);
    at[strlen("\"version\": \"")] = '2';
    assert_int_equal(
        fld_template_parse((const uint8_t *)v2, strlen(v2), &t, &err), FLD_OK);
    body = fld_template_canonical(t, &len);
    snprintf(hash, sizeof hash, "%s", fld_template_hash(t));
    assert_int_equal(
        fld_store_template_put(f->ctx.st, hash, "t", body, len, &err), FLD_OK);
    fld_template_free(t);
    free(v2);
    assert_int_equal(call(f, "GET", "/api/templates", NULL), 200);
    for (i = 0; i < f->reply->n; i++)
        if (strcmp(str(f->reply->items[i], "id"), "t") == 0)
            assert_string_equal(str(f->reply->items[i], "version"), "2");
    new_t(f, id);
    snprintf(path, sizeof path, "/api/records/%s", id);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    assert_string_equal(str(fld_json_get(f->reply, "template"), "hash"), hash);
}

static void test_new_record_bad_input(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(call(f, "POST", "/api/records", "{\"template\": 1}"), 400);
    assert_string_equal(str(f->reply, "field"), "template");
    assert_int_equal(call(f, "POST", "/api/records", "{\"template\": \"t\"}"),
                     400);
    assert_string_equal(str(f->reply, "field"), "unit");
    assert_int_equal(call(f, "POST", "/api/records", "[1]"), 400);
    assert_int_equal(call(f, "POST", "/api/records", "{\"a\": 1.5}"), 400);
    assert_string_equal(str(f->reply, "error"), "bad_json");
    assert_int_equal(call(f, "POST", "/api/records",
                          "{\"template\": \"nope\", \"unit\": \"X1\"}"),
                     404);
    assert_int_equal(call(f, "POST", "/api/records",
                          "{\"template\": \"t\", \"unit\": \"a b\"}"),
                     422);
    assert_int_equal(n_versions(f), 0);
}

static void test_state_from_engine(void **state)
{
    struct fixture *f = *state;
    char id[33], path[96], body[512];
    const struct fld_json *q, *ch;

    new_t(f, id);
    snprintf(path, sizeof path, "/api/records/%s", id);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    assert_string_equal(str(f->reply, "status"), "draft");
    assert_int_equal(strlen(str(f->reply, "base")), 64);
    assert_false(relevant(question(f->reply, "more")));
    assert_true(fld_json_get(f->reply, "missing")->n >= 2);

    /* evaluate: relevance, a constraint's message, a choice filter, a new
     * repeat item and the calculations over it; and a value of the wrong
     * type, reported under its key while the rest still counts */
    snprintf(path, sizeof path, "/api/records/%s/evaluate", id);
    snprintf(body, sizeof body,
             "{\"answers\": {\"has_more\": \"yes\", \"total\": \"0\","
             " \"grp\": \"g1\", \"hh[0123456789abcdef].hh_name\": \"Lan\","
             " \"hh[0123456789abcdef].hh_area\": \"120\","
             " \"hh[fedcba9876543210].hh_area\": \"x\"}}");
    assert_int_equal(call(f, "POST", path, body), 200);
    assert_true(relevant(question(f->reply, "more")));
    q = question(f->reply, "total");
    assert_string_equal(str(fld_json_get(q, "error"), "en"), "Must be above 0");
    assert_string_equal(str(fld_json_get(q, "error"), "vi"), "Phải lớn hơn 0");
    ch = fld_json_get(question(f->reply, "kind"), "choices");
    assert_int_equal(ch->n, 1);
    assert_string_equal(str(ch->items[0], "name"), "a");
    q = question(f->reply, "hh[0123456789abcdef].hh_name");
    assert_string_equal(str(q, "value"), "Lan");
    assert_string_equal(str(question(f->reply, "n_hh"), "value"), "1");
    assert_string_equal(str(question(f->reply, "area"), "value"), "120");
    assert_non_null(fld_json_get_string(fld_json_get(f->reply, "errors"),
                                        "hh[fedcba9876543210].hh_area"));
    /* nothing was saved */
    assert_int_equal(n_versions(f), 1);
}

static void test_save_base_and_finalize(void **state)
{
    struct fixture *f = *state;
    char id[33], path[96], body[512], base[65], *old;

    new_t(f, id);
    snprintf(path, sizeof path, "/api/records/%s", id);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    snprintf(base, sizeof base, "%s", str(f->reply, "base"));
    snprintf(path, sizeof path, "/api/records/%s/save", id);

    /* a refused value: 422, nothing written */
    snprintf(body, sizeof body,
             "{\"base\": \"%s\", \"answers\": {\"total\": \"-1\"}}", base);
    assert_int_equal(call(f, "POST", path, body), 422);
    assert_non_null(strstr(str(f->reply, "message_en"), "Must be above 0"));
    assert_non_null(strstr(str(f->reply, "message_vi"), "Phải lớn hơn 0"));
    assert_int_equal(n_versions(f), 1);
    /* wrong types name the member */
    assert_int_equal(call(f, "POST", path, "{\"answers\": {}}"), 400);
    assert_string_equal(str(f->reply, "field"), "base");
    snprintf(body, sizeof body,
             "{\"base\": \"%s\", \"answers\": {\"total\": 5}}", base);
    assert_int_equal(call(f, "POST", path, body), 400);
    assert_string_equal(str(f->reply, "field"), "answers.total");
    snprintf(body, sizeof body,
             "{\"base\": \"%s\", \"answers\": {\"total=7\": \"5\"}}", base);
    assert_int_equal(call(f, "POST", path, body), 400);
    assert_string_equal(str(f->reply, "field"), "answers");

    /* a save: one version, the new state */
    snprintf(body, sizeof body,
             "{\"base\": \"%s\", \"answers\": {\"total\": \"5\", \"grp\": "
             "\"g2\", \"hh[0123456789abcdef].hh_name\": \"Lan\"}}",
             base);
    assert_int_equal(call(f, "POST", path, body), 200);
    assert_true(fld_json_get(f->reply, "saved")->type == FLD_JSON_TRUE);
    assert_int_equal(n_versions(f), 2);

    /* the same base again: the record moved; 409 with its state */
    old = fld_xstrdup(body);
    assert_int_equal(call(f, "POST", path, old), 409);
    free(old);
    assert_string_equal(str(f->reply, "error"), "moved");
    assert_string_equal(
        str(question(fld_json_get(f->reply, "state"), "total"), "type"),
        "integer");
    assert_int_equal(n_versions(f), 2);

    /* finalize: complete, so final */
    snprintf(path, sizeof path, "/api/records/%s/finalize", id);
    assert_int_equal(call(f, "POST", path, "{}"), 200);
    assert_string_equal(str(fld_json_get(f->reply, "state"), "status"),
                        "final");
    assert_int_equal(call(f, "POST", path, "{}"), 422);
    assert_int_equal(n_versions(f), 3);

    /* history: three versions, what each changed */
    snprintf(path, sizeof path, "/api/records/%s/history", id);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    assert_int_equal(f->reply->n, 3);
    assert_string_equal(str(f->reply->items[2], "status"), "final");
    assert_string_equal(str(f->reply->items[0], "inspector"), "An");
}

/* A returned record comes first in the list, with the supervisor's reason;
 * the next save makes it a draft again, as `field set` does. */
static void test_returned_first(void **state)
{
    struct fixture *f = *state;
    struct fld_version *v = NULL, *out = NULL;
    struct fld_json *review = fld_json_object();
    struct fld_err err;
    char a[33], b[33], path[96], body[256];
    const char *heads[1];

    new_t(f, a);
    new_t(f, b);
    assert_int_equal(fld_capture_head(f->ctx.st, a, &v, &err), FLD_OK);
    heads[0] = v->hash;
    fld_json_set(review, "note", fld_json_string("Thiếu ảnh nhà văn hoá"));
    assert_int_equal(fld_capture_decide(f->ctx.st, f->ctx.key, v, heads, 1,
                                        v->answers, "returned", review, &out,
                                        &err),
                     FLD_OK);
    fld_version_free(v);
    fld_version_free(out);
    fld_json_free(review);

    assert_int_equal(call(f, "GET", "/api/records", NULL), 200);
    assert_int_equal(f->reply->n, 2);
    assert_string_equal(str(f->reply->items[0], "id"), a);
    assert_string_equal(str(f->reply->items[0], "status"), "returned");
    assert_string_equal(
        str(fld_json_get(f->reply->items[0], "review"), "reason"),
        "Thiếu ảnh nhà văn hoá");
    assert_string_equal(str(f->reply->items[1], "id"), b);
    assert_int_equal(call(f, "GET", "/api/records?status=returned", NULL), 200);
    assert_int_equal(f->reply->n, 1);

    snprintf(path, sizeof path, "/api/records/%s", a);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    assert_string_equal(str(fld_json_get(f->reply, "review"), "reason"),
                        "Thiếu ảnh nhà văn hoá");
    snprintf(body, sizeof body,
             "{\"base\": \"%s\", \"answers\": {\"total\": \"3\"}}",
             str(f->reply, "base"));
    snprintf(path, sizeof path, "/api/records/%s/save", a);
    assert_int_equal(call(f, "POST", path, body), 200);
    assert_string_equal(str(fld_json_get(f->reply, "state"), "status"),
                        "draft");
}

static void test_finalize_missing(void **state)
{
    struct fixture *f = *state;
    char id[33], path[96];
    const struct fld_json *missing;
    size_t i;
    bool total = false;

    new_t(f, id);
    snprintf(path, sizeof path, "/api/records/%s/finalize", id);
    assert_int_equal(call(f, "POST", path, "{}"), 422);
    assert_string_equal(str(f->reply, "error"), "incomplete");
    missing = fld_json_get(f->reply, "missing");
    for (i = 0; i < missing->n; i++)
        total = total || strcmp(str(missing->items[i], "key"), "total") == 0;
    assert_true(total);
    assert_int_equal(n_versions(f), 1);
}

static void test_unknown_records(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(call(f, "GET", "/api/records/0123456789abcdef", NULL),
                     404);
    assert_int_equal(call(f, "GET", "/api/records/zz", NULL), 404);
    assert_int_equal(call(f, "GET", "/api/records/0123/../x", NULL), 404);
    assert_int_equal(call(f, "POST", "/api/records/0123456789abcdef/save",
                          "{\"base\": \"x\"}"),
                     404);
    assert_int_equal(
        call(f, "GET", "/api/records/0123456789abcdef/history", NULL), 404);
    assert_int_equal(call(f, "DELETE", "/api/records", NULL), 405);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold),      T(test_templates_and_units),
        T(test_template_added_meanwhile), T(test_new_record_bad_input),
        T(test_state_from_engine),        T(test_save_base_and_finalize),
        T(test_returned_first),           T(test_finalize_missing),
        T(test_unknown_records),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
