/*
 * test_ui_conflicts.c - what choosing a conflict's candidate sets
 * (field/ui_conflicts.c), for every kind of path the merge reports: a
 * scalar answer, one choice of a select_multiple, a repeat item's
 * existence (kept or removed), a field of an item and a choice inside
 * one; the status's own conflict left out. The merged state is made by
 * hand: the candidates are what sync/merge.c would list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "ui_conflicts.h"

static const char *const tmpl =
    "{\"id\": \"t\", \"version\": \"1\", \"title\": {\"vi\": \"Kiểm tra\"},"
    " \"choices\": {\"w\": [{\"name\": \"a\", \"label\": {\"vi\": \"A\"}},"
    "                      {\"name\": \"b\", \"label\": {\"vi\": \"B\"}},"
    "                      {\"name\": \"c\", \"label\": {\"vi\": \"C\"}}]},"
    " \"sections\": ["
    "  {\"name\": \"s\", \"label\": {\"vi\": \"Chung\"}, \"questions\": ["
    "   {\"name\": \"total\", \"type\": \"integer\","
    "    \"label\": {\"vi\": \"Tổng\", \"en\": \"Total\"}},"
    "   {\"name\": \"waste\", \"type\": \"select_multiple\", \"choices\": "
    "\"w\", \"label\": {\"vi\": \"Rác\"}}]},"
    "  {\"name\": \"hh\", \"label\": {\"vi\": \"Hộ\"}, \"repeat\": true,"
    "   \"questions\": ["
    "   {\"name\": \"hh_name\", \"type\": \"text\", \"label\": {\"vi\": "
    "\"Tên\"}},"
    "   {\"name\": \"hh_w\", \"type\": \"select_multiple\", \"choices\": "
    "\"w\", \"label\": {\"vi\": \"Rác hộ\"}}]}]}";

static const char *const merged_answers =
    "{\"hh\":{\"00aa\":{\"hh_name\":\"An\",\"hh_w\":[\"a\"]}},"
    "\"total\":120,\"waste\":[\"a\",\"c\"]}";

/* The assignments of candidate k of the conflict on path, as JSON text. */
static char *assign_of(const char *path, const char *value, bool shown)
{
    struct fld_template *t;
    struct fld_json *answers, *v = NULL, *out;
    struct syn_candidate cand = {NULL, "ab12", "cd34", "Bình", {1000, 0}};
    struct syn_conflict c = {(char *)path, &cand, 1};
    struct syn_merged m;
    struct cmd_record r;
    struct fld_buf b = FLD_BUF_INIT;
    const struct fld_json *a;
    char *text;

    assert_int_equal(
        fld_template_parse((const uint8_t *)tmpl, strlen(tmpl), &t, NULL),
        FLD_OK);
    assert_int_equal(fld_json_parse((const uint8_t *)merged_answers,
                                    strlen(merged_answers), &answers, NULL),
                     FLD_OK);
    if (value != NULL)
        assert_int_equal(
            fld_json_parse((const uint8_t *)value, strlen(value), &v, NULL),
            FLD_OK);
    cand.value = v;
    memset(&m, 0, sizeof m);
    m.answers = answers;
    m.status = "draft";
    m.conflicts = &c;
    m.n_conflicts = 1;
    memset(&r, 0, sizeof r);
    r.merged = &m;
    r.t = t;
    out = fld_ui_conflicts_json(&r);
    if (out->n == 0) {
        text = NULL;
    } else {
        const struct fld_json *k =
            fld_json_get(out->items[0], "candidates")->items[0];

        a = fld_json_get(k, "assign");
        assert_non_null(a);
        assert_int_equal(fld_json_write(a, &b, NULL), FLD_OK);
        text = fld_xstrdup(fld_buf_str(&b));
        assert_true(fld_json_get(k, "shown")->type ==
                    (shown ? FLD_JSON_TRUE : FLD_JSON_FALSE));
    }
    fld_buf_free(&b);
    fld_json_free(out);
    fld_json_free(v);
    fld_json_free(answers);
    fld_template_free(t);
    return text;
}

static void expect_assign(const char *path, const char *value, const char *want)
{
    char *got = assign_of(path, value, true);

    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_scalar(void **state)
{
    (void)state;
    expect_assign("total", "130", "{\"total\":\"130\"}");
    expect_assign("total", NULL, "{\"total\":null}");
}

static void test_choice(void **state)
{
    (void)state;
    /* Present: the merged set with it; absent: without it. */
    expect_assign("waste/b", "\"b\"", "{\"waste\":\"a c b\"}");
    expect_assign("waste/c", NULL, "{\"waste\":\"a\"}");
    expect_assign("waste/a", "\"a\"", "{\"waste\":\"a c\"}");
}

static void test_item(void **state)
{
    (void)state;
    expect_assign("hh/00aa", NULL, "{\"hh[00aa]\":null}");
    expect_assign("hh/00bb", "{\"hh_name\":\"Ba\",\"hh_w\":[\"b\",\"c\"]}",
                  "{\"hh[00bb].hh_name\":\"Ba\",\"hh[00bb].hh_w\":\"b c\"}");
    expect_assign("hh/00aa/hh_name", "\"Anh\"",
                  "{\"hh[00aa].hh_name\":\"Anh\"}");
    expect_assign("hh/00aa/hh_w/c", "\"c\"", "{\"hh[00aa].hh_w\":\"a c\"}");
    expect_assign("hh/00aa/hh_w/a", NULL, "{\"hh[00aa].hh_w\":null}");
}

static void test_status_left_out(void **state)
{
    (void)state;
    assert_null(assign_of("status", "\"approved\"", true));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar),
        cmocka_unit_test(test_choice),
        cmocka_unit_test(test_item),
        cmocka_unit_test(test_status_left_out),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
