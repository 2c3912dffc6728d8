/*
 * test_template.c - the template loader (every refusal names its place)
 * and typed input turned into normalised answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "template.h"
#include "testutil.h"

static void test_demo_template_loads(void **state)
{
    struct fld_template *t = tu_demo_template();
    const struct fld_question *q;

    (void)state;
    assert_string_equal(fld_template_id(t), "field-demo");
    assert_true(fld_template_n_questions(t) >= 10);
    assert_true(fld_template_n_sections(t) >= 3);
    assert_true(fld_is_hex(fld_template_hash(t), 64));
    q = fld_template_question(t, "waste");
    assert_non_null(q);
    assert_int_equal(q->type, FLD_Q_SELECT_MULTIPLE);
    assert_int_equal(q->n_choices, 4);
    assert_string_equal(fld_text_get(&q->label, FLD_LANG_EN),
                        "Household waste");
    assert_string_equal(fld_text_get(&q->label, FLD_LANG_VI),
                        "Rác thải sinh hoạt");
    assert_null(fld_template_question(t, "nope"));
    fld_template_free(t);
}

static void test_hash_ignores_layout(void **state)
{
    const char *a = "{\"id\":\"t\",\"version\":\"1\",\"title\":{\"vi\":\"A\"},"
                    "\"sections\":[{\"name\":\"s\",\"label\":{\"vi\":\"S\"},"
                    "\"questions\":[{\"name\":\"q\",\"type\":\"text\","
                    "\"label\":{\"vi\":\"Q\"}}]}]}";
    const char *b =
        "{ \"version\": \"1\", \"id\": \"t\", \"title\": {\"vi\": \"A\"},\n"
        "  \"sections\": [ {\"label\": {\"vi\": \"S\"}, \"name\": \"s\",\n"
        "  \"questions\": [{\"type\": \"text\", \"name\": \"q\", "
        "\"label\": {\"vi\": \"Q\"}}]}]}";
    struct fld_template *ta, *tb;

    (void)state;
    assert_int_equal(
        fld_template_parse((const uint8_t *)a, strlen(a), &ta, NULL), FLD_OK);
    assert_int_equal(
        fld_template_parse((const uint8_t *)b, strlen(b), &tb, NULL), FLD_OK);
    assert_string_equal(fld_template_hash(ta), fld_template_hash(tb));
    fld_template_free(ta);
    fld_template_free(tb);
}

/* Each broken template is refused with a message naming the place. */
static void refused(const char *json, const char *place)
{
    struct fld_template *t = NULL;
    struct fld_err err;

    fld_err_clear(&err);
    assert_int_not_equal(
        fld_template_parse((const uint8_t *)json, strlen(json), &t, &err),
        FLD_OK);
    assert_null(t);
    if (strstr(err.msg, place) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", place, err.msg);
}

#define HEAD "{\"id\":\"t\",\"version\":\"1\",\"title\":{\"vi\":\"A\"},"
#define SEC(qs)                                                                 \
    "\"sections\":[{\"name\":\"s\",\"label\":{\"vi\":\"S\"},\"questions\":[" qs \
    "]}]}"
#define Q(extra) "{\"name\":\"q\",\"label\":{\"vi\":\"Q\"}" extra "}"

static void test_broken_templates_name_the_place(void **state)
{
    (void)state;
    refused("[1]", "expected an object");
    refused("{\"id\":\"t\"", "template");
    refused(HEAD "\"sections\":[]}", "sections");
    refused(
        "{\"id\":\"Bad Id\",\"version\":\"1\",\"title\":{\"vi\":\"A\"}," SEC(
            Q(",\"type\":\"text\"")),
        "id");
    refused(
        "{\"id\":\"t\",\"title\":{\"vi\":\"A\"}," SEC(Q(",\"type\":\"text\"")),
        "version");
    refused("{\"id\":\"t\",\"version\":\"1\"," SEC(Q(",\"type\":\"text\"")),
            "template.title");
    refused(HEAD SEC(Q(",\"type\":\"integr\"")),
            "sections[0].questions[0].type: unknown type \"integr\"");
    refused(HEAD SEC(Q(",\"type\":\"text\"") "," Q(",\"type\":\"text\"")),
            "sections[0].questions[1].name: duplicate question \"q\"");
    refused(HEAD SEC(Q(",\"type\":\"select_one\",\"choices\":\"nope\"")),
            "sections[0].questions[0].choices: unknown choice list \"nope\"");
    refused(HEAD SEC(Q(",\"type\":\"text\",\"required\":1")),
            "sections[0].questions[0].required");
    refused(HEAD SEC("{\"name\":\"q\",\"type\":\"text\"}"),
            "sections[0].questions[0].label: missing");
    refused(
        HEAD SEC("{\"name\":\"q\",\"type\":\"text\",\"label\":{\"en\":\"Q\"}}"),
        "sections[0].questions[0].label.vi");
    refused(HEAD
            "\"choices\":{\"yn\":[{\"name\":\"y\",\"label\":{\"vi\":\"Có\"}},"
            "{\"name\":\"y\",\"label\":{\"vi\":\"Có\"}}]}," SEC(
                Q(",\"type\":\"text\"")),
            "choices.yn[1].name: duplicate choice");
    refused(HEAD SEC(
                "{\"name\":\"9q\",\"type\":\"text\",\"label\":{\"vi\":\"Q\"}}"),
            "sections[0].questions[0].name");
    refused(HEAD SEC(Q(",\"type\":\"decimal\",\"max\":1.5")), "byte");
}

static struct fld_json *answer(const struct fld_template *t, const char *name,
                               const char *text, int expect)
{
    struct fld_json *v = NULL;
    struct fld_err err;

    assert_int_equal(
        fld_template_answer(fld_template_question(t, name), text, &v, &err),
        expect);
    if (expect != FLD_OK) {
        assert_null(v);
        assert_non_null(
            strstr(err.msg, name)); /* the message names the question */
    }
    return v;
}

static void test_answers_are_typed_and_normalised(void **state)
{
    struct fld_template *t = tu_demo_template();
    struct fld_json *v;

    (void)state;
    v = answer(t, "households_total", " 120 ", FLD_OK);
    assert_int_equal(v->type, FLD_JSON_INT);
    assert_int_equal(v->i, 120);
    fld_json_free(v);
    v = answer(t, "road_total_km", "12,50", FLD_OK);
    assert_string_equal(v->s, "12.5");
    fld_json_free(v);
    v = answer(t, "inspection_date", "1/7/2025", FLD_OK);
    assert_string_equal(v->s, "2025-07-01");
    fld_json_free(v);
    v = answer(t, "waste", "sorted, collected sorted", FLD_OK);
    assert_int_equal(v->n, 2);
    assert_string_equal(v->items[0]->s, "collected");
    assert_string_equal(v->items[1]->s, "sorted");
    fld_json_free(v);
    /* decomposed Vietnamese becomes precomposed */
    v = answer(t, "remarks", "Nguye\xcc\x82\xcc\x83n", FLD_OK);
    assert_string_equal(v->s, "Nguyễn");
    fld_json_free(v);
    assert_null(answer(t, "remarks", "   ", FLD_OK)); /* blank clears */
    answer(t, "households_total", "12a", FLD_EINVAL);
    answer(t, "households_total", "1.5", FLD_EINVAL);
    answer(t, "road_total_km", "1e5", FLD_EINVAL);
    answer(t, "inspection_date", "31/02/2026", FLD_EINVAL);
    answer(t, "planning_approved", "maybe", FLD_EINVAL);
    answer(t, "waste", "collected plastic", FLD_EINVAL);
    answer(t, "about", "x", FLD_EINVAL);
    answer(t, "remarks", "bad \x01 control", FLD_EINVAL);
    answer(t, "remarks", "bad \xff utf8", FLD_EINVAL);
    fld_template_free(t);
}

static void test_check_and_format_values(void **state)
{
    struct fld_template *t = tu_demo_template();
    const struct fld_question *q =
        fld_template_question(t, "planning_approved");
    struct fld_json *yes = fld_json_string("yes"), *bad = fld_json_int(1);
    char *text;

    (void)state;
    assert_int_equal(fld_template_check_value(q, yes, NULL), FLD_OK);
    assert_int_equal(fld_template_check_value(q, bad, NULL), FLD_EINVAL);
    text = fld_template_format(q, yes, FLD_LANG_VI);
    assert_string_equal(text, "Có");
    free(text);
    text = fld_template_format(q, yes, FLD_LANG_EN);
    assert_string_equal(text, "Yes");
    free(text);
    fld_json_free(yes);
    fld_json_free(bad);
    fld_template_free(t);
}

static void test_every_shipped_template_loads(void **state)
{
    const struct fld_embedded *e;
    int n = 0;

    (void)state;
    for (e = fld_embedded_files; e->name; e++) {
        struct fld_template *t = NULL;
        struct fld_err err;
        size_t len = strlen(e->name);

        if (len < 5 || strcmp(e->name + len - 5, ".json") != 0)
            continue;
        if (fld_template_parse(e->data, e->len, &t, &err) != FLD_OK)
            fail_msg("%s: %s", e->name, err.msg);
        fld_template_free(t);
        n++;
    }
    assert_true(n >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_template_loads),
        cmocka_unit_test(test_hash_ignores_layout),
        cmocka_unit_test(test_broken_templates_name_the_place),
        cmocka_unit_test(test_answers_are_typed_and_normalised),
        cmocka_unit_test(test_check_and_format_values),
        cmocka_unit_test(test_every_shipped_template_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
