/*
 * test_form.c - the form engine and answer editing on a small template
 * that uses every feature: parameters and a threshold table, relevance,
 * calculations, an expression for required, constraints, a choice_filter,
 * a repeat group with count() and sum(), criteria in three-valued logic,
 * and a tier that needs N criteria.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "edit.h"
#include "form.h"
#include "template.h"

static const char *const tmpl =
    "{\"id\": \"t\", \"version\": \"1\", \"title\": {\"vi\": \"Kiểm tra\"},"
    " \"parameters\": ["
    "  {\"name\": \"grp\", \"type\": \"select_one\", \"choices\": \"groups\","
    "   \"label\": {\"vi\": \"Nhóm\"}, \"required\": true}],"
    " \"thresholds\": {"
    "  \"pct\": {\"label\": {\"vi\": \"Tỷ lệ\"}, \"by\": [\"grp\"],"
    "   \"values\": {\"g1\": 70, \"g2\": \"80.5\", \"g3\": null}},"
    "  \"fixed\": {\"label\": {\"vi\": \"Cố định\"}, \"value\": 2}},"
    " \"choices\": {"
    "  \"groups\": [{\"name\": \"g1\", \"label\": {\"vi\": \"1\"}},"
    "              {\"name\": \"g2\", \"label\": {\"vi\": \"2\"}},"
    "              {\"name\": \"g3\", \"label\": {\"vi\": \"3\"}}],"
    "  \"kinds\": [{\"name\": \"a\", \"label\": {\"vi\": \"A\"}, \"only\": \"g1\"},"
    "             {\"name\": \"b\", \"label\": {\"vi\": \"B\"}, \"only\": \"g2\"}],"
    "  \"yn\": [{\"name\": \"yes\", \"label\": {\"vi\": \"Có\"}},"
    "          {\"name\": \"no\", \"label\": {\"vi\": \"Không\"}}]},"
    " \"sections\": ["
    "  {\"name\": \"s\", \"label\": {\"vi\": \"Chung\"}, \"questions\": ["
    "   {\"name\": \"total\", \"type\": \"integer\", \"label\": {\"vi\": \"Tổng\"},"
    "    \"required\": true, \"constraint\": \". > 0\","
    "    \"constraint_message\": {\"vi\": \"Phải lớn hơn 0\", \"en\": \"Must be above 0\"}},"
    "   {\"name\": \"part\", \"type\": \"integer\", \"label\": {\"vi\": \"Phần\"},"
    "    \"required\": \"${total} > 10\", \"constraint\": \". <= ${total}\"},"
    "   {\"name\": \"pct_calc\", \"type\": \"decimal\", \"label\": {\"vi\": \"%\"},"
    "    \"calculation\": \"${part} div ${total} * 100\"},"
    "   {\"name\": \"has_more\", \"type\": \"select_one\", \"choices\": \"yn\","
    "    \"label\": {\"vi\": \"Thêm?\"}},"
    "   {\"name\": \"more\", \"type\": \"text\", \"label\": {\"vi\": \"Thêm\"},"
    "    \"relevant\": \"${has_more} = 'yes'\", \"required\": true},"
    "   {\"name\": \"kind\", \"type\": \"select_one\", \"choices\": \"kinds\","
    "    \"label\": {\"vi\": \"Loại\"}, \"choice_filter\": \"${only} = ${grp}\"}]},"
    "  {\"name\": \"hh\", \"label\": {\"vi\": \"Hộ\"}, \"repeat\": true, \"questions\": ["
    "   {\"name\": \"hh_name\", \"type\": \"text\", \"label\": {\"vi\": \"Tên\"},"
    "    \"required\": true},"
    "   {\"name\": \"hh_area\", \"type\": \"integer\", \"label\": {\"vi\": \"Diện tích\"}}]},"
    "  {\"name\": \"sum\", \"label\": {\"vi\": \"Tổng hợp\"}, \"questions\": ["
    "   {\"name\": \"n_hh\", \"type\": \"integer\", \"label\": {\"vi\": \"Số hộ\"},"
    "    \"calculation\": \"count(${hh})\"},"
    "   {\"name\": \"area\", \"type\": \"integer\", \"label\": {\"vi\": \"Tổng DT\"},"
    "    \"calculation\": \"sum(${hh_area})\"}]}],"
    " \"criteria\": ["
    "  {\"code\": \"1\", \"name\": {\"vi\": \"Tỷ lệ\"}, \"indicators\": ["
    "   {\"code\": \"1.1\", \"text\": {\"vi\": \"đủ tỷ lệ\"},"
    "    \"met\": \"${part} div ${total} * 100 >= threshold('pct')\"}]},"
    "  {\"code\": \"2\", \"name\": {\"vi\": \"Hộ\"}, \"indicators\": ["
    "   {\"code\": \"2.1\", \"text\": {\"vi\": \"ít nhất 2 hộ\"},"
    "    \"met\": \"count(${hh}) >= threshold('fixed')\"},"
    "   {\"code\": \"2.2\", \"text\": {\"vi\": \"chưa có quy tắc\"}}]},"
    "  {\"code\": \"3\", \"name\": {\"vi\": \"Thêm\"}, \"indicators\": ["
    "   {\"code\": \"3.1\", \"text\": {\"vi\": \"có thêm\"},"
    "    \"met\": \"${has_more} = 'yes'\"}]}],"
    " \"tier\": {\"label\": {\"vi\": \"Đạt\"}, \"requires\": 2}}";

struct fixture {
    struct fld_template *t;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct fld_err err;

    if (fld_template_parse((const uint8_t *)tmpl, strlen(tmpl), &f->t, &err) !=
        FLD_OK) {
        fprintf(stderr, "template: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    fld_template_free(f->t);
    free(f);
    return 0;
}

/* Apply assignments to answers (NULL: none), expecting rc. */
static struct fld_json *edit(const struct fld_template *t,
                             const struct fld_json *a, int expect,
                             const char *first, ...)
{
    struct fld_edit *e = fld_edit_new(t, a);
    struct fld_json *out = NULL;
    struct fld_err err;
    const char *s;
    va_list ap;
    int rc = FLD_OK;

    va_start(ap, first);
    for (s = first; s != NULL && rc == FLD_OK; s = va_arg(ap, const char *))
        rc = fld_edit_assign(e, s, &err);
    va_end(ap);
    if (rc == FLD_OK)
        rc = fld_edit_check(e, "2026-11-28", FLD_LANG_EN, &err);
    if (rc != expect)
        fail_msg("expected %d, got %d (%s)", expect, rc, rc ? err.msg : "");
    if (rc == FLD_OK)
        out = fld_json_clone(fld_edit_answers(e));
    fld_edit_free(e);
    return out;
}

static size_t qi(const struct fld_template *t, const char *name)
{
    return fld_template_question_index(t, fld_template_question(t, name));
}

static struct fld_form *eval(const struct fld_template *t,
                             const struct fld_json *a)
{
    struct fld_form *f;

    assert_int_equal(fld_form_eval(t, a, "2026-11-28", &f, NULL), FLD_OK);
    return f;
}

static void test_blank_record(void **state)
{
    struct fixture *fx = *state;
    struct fld_form *f = eval(fx->t, NULL);

    /* grp and total required; part not (total blank); more not relevant */
    assert_int_equal(fld_form_n_problems(f), 2);
    assert_string_equal(fld_form_problem(f, 0)->question->name, "grp");
    assert_string_equal(fld_form_problem(f, 1)->question->name, "total");
    assert_false(fld_form_relevant(f, qi(fx->t, "more"), 0));
    assert_int_equal(fld_form_criterion(f, 0), FLD_STATUS_UNKNOWN);
    assert_int_equal(fld_form_criterion(f, 1), FLD_STATUS_NOT_MET); /* 0 < 2 */
    /* a blank answer makes a rule unknown, not false */
    assert_int_equal(fld_form_criterion(f, 2), FLD_STATUS_UNKNOWN);
    /* 0 met, 2 unknown: 2 could still be met */
    assert_int_equal(fld_form_tier(f), FLD_STATUS_UNKNOWN);
    fld_form_free(f);
}

static void test_threshold_by_parameter(void **state)
{
    struct fixture *fx = *state;
    struct fld_json *a =
        edit(fx->t, NULL, FLD_OK, "grp=g1", "total=20", "part=15", NULL);
    struct fld_json *b, *c;
    struct fld_form *f = eval(fx->t, a);
    char *th;

    assert_true(fld_form_value(f, qi(fx->t, "pct_calc"), 0)->num == 75.0);
    assert_int_equal(fld_form_criterion(f, 0), FLD_STATUS_MET); /* 75 >= 70 */
    th = fld_form_threshold(f, fld_template_threshold(fx->t, "pct"));
    assert_string_equal(th, "70");
    free(th);
    fld_form_free(f);
    b = edit(fx->t, a, FLD_OK, "grp=g2", NULL);
    f = eval(fx->t, b);
    assert_int_equal(fld_form_criterion(f, 0),
                     FLD_STATUS_NOT_MET); /* 75 < 80.5 */
    fld_form_free(f);
    c = edit(fx->t, a, FLD_OK, "grp=g3", NULL);
    f = eval(fx->t, c);
    assert_int_equal(fld_form_criterion(f, 0), FLD_STATUS_UNKNOWN); /* unset */
    assert_null(fld_form_threshold(f, fld_template_threshold(fx->t, "pct")));
    fld_form_free(f);
    fld_json_free(a);
    fld_json_free(b);
    fld_json_free(c);
}

/* fld_form_check: the same problems and values, and no criteria at all. */
static void test_check_without_criteria(void **state)
{
    struct fixture *fx = *state;
    struct fld_json *a =
        edit(fx->t, NULL, FLD_OK, "grp=g1", "total=20", "part=15", NULL);
    struct fld_form *full = eval(fx->t, a), *f = NULL;
    size_t i;

    assert_int_equal(fld_form_check(fx->t, a, "2026-11-28", &f, NULL), FLD_OK);
    assert_int_equal(fld_form_n_problems(f), fld_form_n_problems(full));
    for (i = 0; i < fld_form_n_problems(f); i++)
        assert_ptr_equal(fld_form_problem(f, i)->question,
                         fld_form_problem(full, i)->question);
    assert_true(fld_form_value(f, qi(fx->t, "pct_calc"), 0)->num == 75.0);
    assert_int_equal(fld_form_criterion(full, 0), FLD_STATUS_MET);
    assert_int_equal(fld_form_criterion(f, 0), FLD_STATUS_UNKNOWN);
    assert_int_equal(fld_form_indicator(f, 0, 0), FLD_STATUS_UNKNOWN);
    assert_int_equal(fld_form_tier(f), FLD_STATUS_UNKNOWN);
    fld_form_free(f);
    fld_form_free(full);
    fld_json_free(a);
}

static void test_required_expression_and_constraints(void **state)
{
    struct fixture *fx = *state;
    struct fld_json *a = edit(fx->t, NULL, FLD_OK, "grp=g1", "total=20", NULL);
    struct fld_form *f = eval(fx->t, a);

    assert_int_equal(fld_form_n_problems(f),
                     1); /* part: required when total > 10 */
    assert_string_equal(fld_form_problem(f, 0)->question->name, "part");
    assert_int_equal(fld_form_problem(f, 0)->kind, FLD_PROBLEM_REQUIRED);
    fld_form_free(f);
    /* refused: constraint with the template's message, and a cross-field one */
    assert_null(edit(fx->t, a, FLD_EINVAL, "total=0", NULL));
    assert_null(edit(fx->t, a, FLD_EINVAL, "part=21", NULL));
    /* judged on the new values together: total and part changed at once */
    fld_json_free(edit(fx->t, a, FLD_OK, "part=30", "total=40", NULL));
    assert_null(
        edit(fx->t, a, FLD_EINVAL, "pct_calc=3", NULL)); /* calculated */
    assert_null(edit(fx->t, a, FLD_NOTFOUND, "nope=3", NULL));
    assert_null(edit(fx->t, a, FLD_EUSAGE, "total", NULL));
    fld_json_free(a);
}

static void test_relevance(void **state)
{
    struct fixture *fx = *state;
    struct fld_json *a =
        edit(fx->t, NULL, FLD_OK, "has_more=yes", "more=chi tiết", NULL);
    struct fld_json *b;
    struct fld_form *f = eval(fx->t, a);

    assert_true(fld_form_relevant(f, qi(fx->t, "more"), 0));
    assert_int_equal(fld_form_criterion(f, 2), FLD_STATUS_MET);
    fld_form_free(f);
    /* not relevant: setting it is refused, and an old answer reads blank */
    assert_null(edit(fx->t, NULL, FLD_EINVAL, "has_more=no", "more=x", NULL));
    b = edit(fx->t, a, FLD_OK, "has_more=no", NULL);
    f = eval(fx->t, b);
    assert_int_equal(fld_form_value(f, qi(fx->t, "more"), 0)->type,
                     FLD_V_BLANK);
    fld_form_free(f);
    fld_json_free(a);
    fld_json_free(b);
}

static void test_choice_filter(void **state)
{
    struct fixture *fx = *state;
    struct fld_json *a = edit(fx->t, NULL, FLD_OK, "grp=g1", "kind=a", NULL);

    assert_non_null(a);
    assert_null(edit(fx->t, a, FLD_EINVAL, "kind=b", NULL)); /* only for g2 */
    fld_json_free(edit(fx->t, a, FLD_OK, "grp=g2", "kind=b", NULL));
    fld_json_free(a);
}

static void test_repeat_items(void **state)
{
    struct fixture *fx = *state;
    struct fld_json *a = edit(fx->t, NULL, FLD_OK, "hh[+].hh_name=Nguyễn Văn A",
                              "hh[+].hh_area=120", "hh[+2].hh_name=Trần Thị B",
                              "hh[+2].hh_area=80", NULL);
    struct fld_json *b;
    struct fld_form *f = eval(fx->t, a);
    char first[5];
    double first_area;

    assert_int_equal(fld_form_n_items(f, 1), 2);
    assert_true(fld_form_value(f, qi(fx->t, "n_hh"), 0)->num == 2.0);
    assert_true(fld_form_value(f, qi(fx->t, "area"), 0)->num == 200.0);
    assert_int_equal(fld_form_criterion(f, 1),
                     FLD_STATUS_UNKNOWN); /* 2.2 has no rule */
    snprintf(first, sizeof first, "%.4s", fld_form_item_id(f, 1, 0));
    first_area = fld_form_value(f, qi(fx->t, "hh_area"), 0)->num;
    assert_true(first_area == 120.0 || first_area == 80.0);
    fld_form_free(f);
    /* an item's field by id prefix; deleting an item */
    {
        char set[64], del[32];

        snprintf(set, sizeof set, "hh[%s].hh_area=100", first);
        snprintf(del, sizeof del, "hh[%s]=", first);
        b = edit(fx->t, a, FLD_OK, set, NULL);
        f = eval(fx->t, b);
        assert_true(fld_form_value(f, qi(fx->t, "area"), 0)->num ==
                    200.0 - first_area + 100.0);
        fld_form_free(f);
        fld_json_free(b);
        b = edit(fx->t, a, FLD_OK, del, NULL);
        f = eval(fx->t, b);
        assert_int_equal(fld_form_n_items(f, 1), 1);
        fld_form_free(f);
        fld_json_free(b);
    }
    /* a required field of an item left blank is a problem of that item */
    b = edit(fx->t, a, FLD_OK, "hh[+].hh_area=5", NULL);
    f = eval(fx->t, b);
    assert_int_equal(fld_form_n_items(f, 1), 3);
    assert_true(fld_form_n_problems(f) >= 1);
    fld_form_free(f);
    fld_json_free(b);
    assert_null(edit(fx->t, a, FLD_NOTFOUND, "hh[zzzz].hh_area=1", NULL));
    assert_null(
        edit(fx->t, a, FLD_NOTFOUND, "hh_area=1", NULL)); /* needs an item */
    assert_null(edit(fx->t, a, FLD_NOTFOUND, "xx[+].a=1", NULL));
    fld_json_free(a);
}

static void test_tier_requires_n(void **state)
{
    struct fixture *fx = *state;
    struct fld_json *a = edit(fx->t, NULL, FLD_OK, "grp=g1", "total=20",
                              "part=15", "has_more=yes", "more=x", NULL);
    struct fld_form *f = eval(fx->t, a);

    /* 1 met, 3 met, 2 not met (no households): 2 of 3 needed */
    assert_int_equal(fld_form_criterion(f, 0), FLD_STATUS_MET);
    assert_int_equal(fld_form_criterion(f, 2), FLD_STATUS_MET);
    assert_int_equal(fld_form_tier(f), FLD_STATUS_MET);
    fld_form_free(f);
    fld_json_free(a);
}

static void test_cycles_and_bad_refs_refused(void **state)
{
    static const char *const bad[][2] = {
        {"{\"id\":\"t\",\"version\":\"1\",\"title\":{\"vi\":\"x\"},\"sections\":[{\"name\":"
         "\"s\",\"label\":{\"vi\":\"s\"},\"questions\":[{\"name\":\"a\",\"type\":"
         "\"integer\",\"label\":{\"vi\":\"a\"},\"calculation\":\"${b} + 1\"},{\"name\":"
         "\"b\",\"type\":\"integer\",\"label\":{\"vi\":\"b\"},\"calculation\":\"${a}\"}]}]}",
         "calculations form a cycle: a -> b -> a"},
        {"{\"id\":\"t\",\"version\":\"1\",\"title\":{\"vi\":\"x\"},\"sections\":[{\"name\":"
         "\"s\",\"label\":{\"vi\":\"s\"},\"questions\":[{\"name\":\"a\",\"type\":"
         "\"integer\",\"label\":{\"vi\":\"a\"},\"constraint\":\". < ${roadd}\"}]}]}",
         "sections[0].questions[0].constraint: unknown reference ${roadd}"},
        {"{\"id\":\"t\",\"version\":\"1\",\"title\":{\"vi\":\"x\"},\"sections\":[{\"name\":"
         "\"s\",\"label\":{\"vi\":\"s\"},\"questions\":[{\"name\":\"a\",\"type\":"
         "\"integer\",\"label\":{\"vi\":\"a\"},\"relevant\":\". > 1\"}]}]}",
         "sections[0].questions[0].relevant: '.' means the answer"},
        {"{\"id\":\"t\",\"version\":\"1\",\"title\":{\"vi\":\"x\"},\"sections\":[{\"name\":"
         "\"s\",\"label\":{\"vi\":\"s\"},\"questions\":[{\"name\":\"a\",\"type\":"
         "\"integer\",\"label\":{\"vi\":\"a\"}}]}],\"criteria\":[{\"code\":\"1\",\"name\":"
         "{\"vi\":\"c\"},\"indicators\":[{\"code\":\"1.1\",\"text\":{\"vi\":\"i\"},"
         "\"met\":\"${a} > threshold('nope')\"}]}]}",
         "criteria[0].indicators[0].met: unknown threshold 'nope'"},
        {"{\"id\":\"t\",\"version\":\"1\",\"title\":{\"vi\":\"x\"},\"thresholds\":{\"x\":"
         "{\"label\":{\"vi\":\"x\"},\"by\":[\"a\"],\"values\":{}}},\"sections\":[{\"name\":"
         "\"s\",\"label\":{\"vi\":\"s\"},\"questions\":[{\"name\":\"a\",\"type\":"
         "\"integer\",\"label\":{\"vi\":\"a\"}}]}]}",
         "thresholds.x.by[0]: not a parameter"},
        {"{\"id\":\"t\",\"version\":\"1\",\"title\":{\"vi\":\"x\"},\"parameters\":"
         "[{\"name\":\"y\",\"type\":\"integer\",\"label\":{\"vi\":\"y\"}}],"
         "\"thresholds\":{\"x\":{\"label\":{\"vi\":\"x\"},\"by\":[\"y\"],\"values\":"
         "{\"2025\":1,\"2O26\":2}}},\"sections\":[{\"name\":\"s\",\"label\":{\"vi\":"
         "\"s\"},\"questions\":[{\"name\":\"a\",\"type\":\"integer\",\"label\":"
         "{\"vi\":\"a\"}}]}]}",
         "thresholds.x.values: key \"2O26\": \"2O26\" is not a value of parameter y"},
        {"{\"id\":\"t\",\"version\":\"1\",\"title\":{\"vi\":\"x\"},\"sections\":[{\"name\":"
         "\"s\",\"label\":{\"vi\":\"s\"},\"questions\":[{\"name\":\"a\",\"type\":"
         "\"integer\",\"label\":{\"vi\":\"a\"},\"relevent\":\"1\"}]}]}",
         "sections[0].questions[0]: unknown key \"relevent\""},
        {"{\"id\":\"t\",\"version\":\"1\",\"title\":{\"vi\":\"x\"},\"sections\":[{\"name\":"
         "\"s\",\"label\":{\"vi\":\"s\"},\"questions\":[{\"name\":\"a\",\"type\":"
         "\"integer\",\"label\":{\"vi\":\"a\"},\"calculation\":\"(1 + \"}]}]}",
         "sections[0].questions[0].calculation: "},
        {"{\"id\":\"t\",\"version\":\"1\",\"title\":{\"vi\":\"x\"},\"sections\":[{\"name\":"
         "\"s\",\"label\":{\"vi\":\"s\"},\"questions\":[{\"name\":\"a\",\"type\":"
         "\"integer\",\"label\":{\"vi\":\"a\"}}]}],\"tier\":{\"label\":{\"vi\":\"t\"},"
         "\"requires\":5}}",
         "tier.requires"},
        {"{\"id\":\"t\",\"version\":\"1\",\"title\":{\"vi\":\"x\"},\"sections\":[{\"name\":"
         "\"s\",\"label\":{\"vi\":\"s\"},\"questions\":[{\"name\":\"a\",\"type\":"
         "\"integer\",\"label\":{\"vi\":\"a\"},\"default\":\"abc\"}]}]}",
         "sections[0].questions[0].default: a: \"abc\" is not a whole number"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fld_template *t = NULL;
        struct fld_err err;

        fld_err_clear(&err);
        assert_int_equal(fld_template_parse((const uint8_t *)bad[i][0],
                                            strlen(bad[i][0]), &t, &err),
                         FLD_EINVAL);
        assert_null(t);
        if (strstr(err.msg, bad[i][1]) == NULL)
            fail_msg("case %zu: expected \"%s\" in \"%s\"", i, bad[i][1],
                     err.msg);
    }
}

struct problems {
    int n;
};

static void count_problem(void *ctx, const char *p)
{
    (void)p;
    ((struct problems *)ctx)->n++;
}

static void test_check_lists_every_problem(void **state)
{
    const char *two =
        "{\"id\":\"Bad\",\"title\":{\"vi\":\"x\"},\"sections\":[{\"name\":"
        "\"s\",\"label\":{\"vi\":\"s\"},\"questions\":[{\"name\":\"a\","
        "\"type\":\"integr\",\"label\":{\"vi\":\"a\"}}]}]}";
    struct problems p = {0};

    (void)state;
    /* the id, the missing version and the type: three at once */
    assert_int_equal(fld_template_check((const uint8_t *)two, strlen(two),
                                        count_problem, &p),
                     3);
    assert_int_equal(p.n, 3);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_blank_record),
        T(test_threshold_by_parameter),
        T(test_check_without_criteria),
        T(test_required_expression_and_constraints),
        T(test_relevance),
        T(test_choice_filter),
        T(test_repeat_items),
        T(test_tier_requires_n),
        cmocka_unit_test(test_cycles_and_bad_refs_refused),
        cmocka_unit_test(test_check_lists_every_problem),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
