/*
 * test_template.c - the template loader (every refusal names its place),
 * typed input turned into normalised answers, and the built-in templates:
 * each loads, and the 2021-2025 model-commune checklist (ntm-xa-kieu-mau-2021)
 * decides its four conditions as QĐ 319/QĐ-TTg says, never guessing the
 * income level it has not been given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "edit.h"
#include "embedded.h"
#include "form.h"
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

/* Matching answers to questions by one walk of the two sorted lists gives
 * what looking each question up gives: every other question answered,
 * with names before, between and after the template's that no question
 * has; an answers value that is not an object matches nothing. */
static void test_match_answers_as_lookups(void **state)
{
    struct fld_template *t = tu_demo_template();
    size_t i, n = fld_template_n_questions(t), matched = 0;
    const struct fld_json **out = calloc(n + 1, sizeof *out);
    struct fld_json *answers = fld_json_object(), *list = fld_json_array();
    static const char *const strangers[] = {"", "0_first", "a", "waste_",
                                            "zzzz_last"};

    (void)state;
    assert_non_null(out);
    for (i = 0; i < n; i += 2)
        fld_json_set(answers, fld_template_question_at(t, i)->name,
                     fld_json_int((int64_t)i));
    for (i = 0; i < sizeof strangers / sizeof *strangers; i++)
        if (fld_template_question(t, strangers[i]) == NULL)
            fld_json_set(answers, strangers[i], fld_json_int(-1));
    fld_template_match_answers(t, answers, out);
    for (i = 0; i < n; i++) {
        const char *name = fld_template_question_at(t, i)->name;

        assert_ptr_equal(out[i], fld_json_get(answers, name));
        if (i % 2 == 0) {
            assert_non_null(out[i]);
            assert_int_equal(out[i]->i, (int64_t)i);
            matched++;
        } else {
            assert_null(out[i]);
        }
    }
    assert_int_equal(matched, (n + 1) / 2);
    fld_template_match_answers(t, list, out);
    for (i = 0; i < n; i++)
        assert_null(out[i]);
    fld_json_free(answers);
    fld_json_free(list);
    free(out);
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

static void accepted(const char *json)
{
    struct fld_template *t = NULL;
    struct fld_err err;

    fld_err_clear(&err);
    if (fld_template_parse((const uint8_t *)json, strlen(json), &t, &err) !=
        FLD_OK)
        fail_msg("refused: %s", err.msg);
    fld_template_free(t);
}

/* A template with parameter y and threshold x, whose keys are given. */
#define THRESHOLD(keys)                                                        \
    HEAD "\"parameters\":[{\"name\":\"y\",\"type\":\"integer\","               \
         "\"label\":{\"vi\":\"Y\"}}],\"thresholds\":{\"x\":{\"label\":"        \
         "{\"vi\":\"X\"}" keys "}}," SEC(Q(",\"type\":\"text\""))

/* Threshold tables: "by" must name parameters, and every key of "values"
 * values of them, or a threshold would stay unknown without a word. */
static void test_threshold_tables_are_checked(void **state)
{
    (void)state;
    accepted(THRESHOLD(",\"value\":70"));
    accepted(THRESHOLD(",\"value\":null"));
    accepted(
        THRESHOLD(",\"by\":[\"y\"],\"values\":{\"2025\":1,\"2026\":null}"));
    refused(THRESHOLD(",\"values\":{\"2025\":1}"),
            "thresholds.x.values: needs \"by\" (the parameters it is keyed "
            "by)");
    refused(THRESHOLD(",\"by\":\"y\",\"values\":{}"),
            "thresholds.x: \"by\" must list parameters and \"values\" be an "
            "object");
    refused(THRESHOLD(",\"by\":[],\"values\":{}"),
            "thresholds.x: \"by\" must list parameters");
    refused(THRESHOLD(",\"by\":[\"y\"]"),
            "thresholds.x: \"by\" must list parameters");
    refused(THRESHOLD(",\"by\":[\"y\"],\"values\":[1]"),
            "thresholds.x: \"by\" must list parameters");
    refused(THRESHOLD(",\"by\":[\"q\"],\"values\":{}"),
            "thresholds.x.by[0]: not a parameter of this template");
    refused(THRESHOLD(",\"by\":[\"y\",\"y\"],\"values\":{\"2025\":1}"),
            "thresholds.x.values: key \"2025\": needs 2 parts joined by '/'");
    refused(THRESHOLD(",\"by\":[\"y\"],\"values\":{\"2025/1\":1}"),
            "thresholds.x.values: key \"2025/1\": has more than 1 parts");
    refused(THRESHOLD(",\"by\":[\"y\"],\"values\":{\"20x5\":1}"),
            "thresholds.x.values: key \"20x5\": \"20x5\" is not a value of "
            "parameter y");
    refused(THRESHOLD(",\"value\":70,\"bogus\":1"),
            "thresholds.x: unknown key \"bogus\"");
    /* choices alone may carry keys of their own, for choice_filter */
    accepted(HEAD "\"choices\":{\"yn\":[{\"name\":\"y\",\"label\":{\"vi\":"
                  "\"C\"},\"group\":\"g1\"}]}," SEC(
                      Q(",\"type\":\"select_one\",\"choices\":\"yn\"")));
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
        /* refused the same without an error record to fill */
        assert_int_equal(
            fld_template_answer(fld_template_question(t, name), text, &v, NULL),
            expect);
        assert_null(v);
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
        if (fld_template_parse_embedded(e, &t, &err) != FLD_OK)
            fail_msg("%s: %s", e->name, err.msg);
        fld_template_free(t);
        n++;
    }
    assert_true(n >= 1);
}

/*
 * The built-in template file, parsed. When key is not NULL the value
 * values[key] of threshold th is first set to value: a copy with an
 * unknown threshold filled in, as a province would ship it.
 */
static struct fld_template *builtin(const char *file, const char *th,
                                    const char *key, const char *value)
{
    const struct fld_embedded *e = fld_embedded_find(file);
    struct fld_template *t = NULL;
    struct fld_json *doc = NULL;
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_err err;

    assert_non_null(e);
    if (key == NULL) {
        if (fld_template_parse_embedded(e, &t, &err) != FLD_OK)
            fail_msg("%s: %s", file, err.msg);
        return t;
    }
    {
        unsigned char *text = fld_embedded_inflate(e);

        assert_int_equal(fld_json_parse(text, e->len, &doc, &err), FLD_OK);
        free(text);
    }
    {
        struct fld_json *ths = fld_json_get_mut(doc, "thresholds");
        struct fld_json *values =
            fld_json_get_mut(fld_json_get_mut(ths, th), "values");

        assert_non_null(values);
        assert_non_null(fld_json_get(values, key)); /* a key it already has */
        fld_json_set(values, key, fld_json_string(value));
    }
    assert_int_equal(fld_json_write(doc, &b, &err), FLD_OK);
    if (fld_template_parse(b.data, b.len, &t, &err) != FLD_OK)
        fail_msg("%s with %s[%s]: %s", file, th, key, err.msg);
    fld_json_free(doc);
    fld_buf_free(&b);
    return t;
}

/* base (NULL: no answers yet) with the NAME=VALUE assignments that
 * follow, up to a NULL, applied and checked. */
static struct fld_json *edited(const struct fld_template *t,
                               const struct fld_json *base, ...)
{
    struct fld_edit *e = fld_edit_new(t, base);
    struct fld_json *out;
    struct fld_err err;
    const char *s;
    va_list ap;

    va_start(ap, base);
    while ((s = va_arg(ap, const char *)) != NULL) {
        if (fld_edit_assign(e, s, &err) != FLD_OK)
            fail_msg("%s: %s", s, err.msg);
    }
    va_end(ap);
    if (fld_edit_check(e, "2024-12-01", FLD_LANG_EN, &err) != FLD_OK)
        fail_msg("check: %s", err.msg);
    out = fld_json_clone(fld_edit_answers(e));
    fld_edit_free(e);
    return out;
}

static void test_commune_tier_templates_load(void **state)
{
    struct fld_template *nc =
        builtin("ntm-xa-nang-cao-2021.json", NULL, NULL, NULL);
    struct fld_template *km =
        builtin("ntm-xa-kieu-mau-2021.json", NULL, NULL, NULL);
    const struct fld_text *tier;
    struct fld_json *a;
    struct fld_form *f;
    size_t i, requires = 1;

    (void)state;
    assert_string_equal(fld_template_id(nc), "ntm-xa-nang-cao-2021");
    assert_int_equal(fld_template_n_criteria(nc), 19);
    assert_string_equal(fld_template_subject_kind(nc, 0), "xa");
    assert_true(fld_template_tier(nc, &tier, &requires));
    assert_int_equal(requires, 0); /* all */
    assert_string_equal(fld_text_get(tier, FLD_LANG_VI),
                        "Xã đạt chuẩn nông thôn mới nâng cao (2021–2025)");
    assert_string_equal(fld_template_id(km), "ntm-xa-kieu-mau-2021");
    assert_int_equal(fld_template_n_criteria(km), 4);
    assert_string_equal(fld_template_subject_kind(km, 0), "xa");
    requires = 1;
    assert_true(fld_template_tier(km, &tier, &requires));
    assert_int_equal(requires, 0);
    assert_string_equal(fld_text_get(tier, FLD_LANG_VI),
                        "Xã đạt chuẩn nông thôn mới kiểu mẫu (2021–2025)");
    for (i = 0; i < 4; i++)
        assert_true(fld_template_criterion(km, i)->provenance.verified);

    /* Annex II of QĐ 318 is not in hand: no threshold of the advanced
     * set has a value, and every criterion ends with an advanced-level
     * item the province is to fill, with no rule, so none is ever met. */
    a = edited(nc, NULL, "region=bac_trung_bo", "year=2024", NULL);
    assert_int_equal(fld_form_eval(nc, a, "2024-12-01", &f, NULL), FLD_OK);
    for (i = 0; i < fld_template_n_thresholds(nc); i++) {
        char *v = fld_form_threshold(f, fld_template_threshold_at(nc, i));

        if (v != NULL)
            fail_msg("threshold %s has a value: %s",
                     fld_template_threshold_at(nc, i)->name, v);
    }
    for (i = 0; i < fld_template_n_criteria(nc); i++) {
        const struct fld_criterion *c = fld_template_criterion(nc, i);

        assert_false(c->provenance.verified);
        assert_null(c->indicators[c->n_indicators - 1].met);
        assert_int_not_equal(fld_form_criterion(f, i), FLD_STATUS_MET);
    }
    fld_form_free(f);
    fld_json_free(a);
    fld_template_free(nc);
    fld_template_free(km);
}

/*
 * The status of each criterion of t for answers a, then of the tier, one
 * letter each: 'm' met, 'n' not met, '?' unknown; compared with want.
 */
static void expect_statuses(const struct fld_template *t,
                            const struct fld_json *a, const char *want)
{
    static const char letter[] = {[FLD_STATUS_UNKNOWN] = '?',
                                  [FLD_STATUS_MET] = 'm',
                                  [FLD_STATUS_NOT_MET] = 'n'};
    char got[16];
    struct fld_form *f;
    size_t i, n = fld_template_n_criteria(t);

    assert_true(n + 2 <= sizeof got);
    assert_int_equal(fld_form_eval(t, a, "2024-12-01", &f, NULL), FLD_OK);
    for (i = 0; i < n; i++)
        got[i] = letter[fld_form_criterion(f, i)];
    got[n] = letter[fld_form_tier(f)];
    got[n + 1] = '\0';
    fld_form_free(f);
    assert_string_equal(got, want);
}

static void test_kieu_mau_four_conditions(void **state)
{
    /* The built-in copy, with its unknown income level, and one where the
     * province has filled in 60 million VND for Bắc Trung Bộ in 2024. */
    struct fld_template *raw =
        builtin("ntm-xa-kieu-mau-2021.json", NULL, NULL, NULL);
    struct fld_template *t =
        builtin("ntm-xa-kieu-mau-2021.json", "income_nang_cao_mvnd",
                "bac_trung_bo/2024", "60");
    size_t required = fld_template_question_index(
        t, fld_template_question(t, "income_required_mvnd"));
    struct fld_json *a, *b;
    struct fld_form *f;

    (void)state;
    /* 66 is exactly 60 plus 10%: at least 10% above, so met. */
    a = edited(t, NULL, "region=bac_trung_bo", "year=2024",
               "inspection_date=2024-11-20", "villages_total=12",
               "nang_cao_recognised=yes", "nang_cao_decision_no=1234/QĐ-UBND",
               "nang_cao_decision_date=2023-12-20", "income_mvnd=66",
               "smart_villages=1", "smart_village_names=Thôn Bắc Hải",
               "outstanding_field=san_xuat", "outstanding_field_met=yes", NULL);
    expect_statuses(t, a, "mmmmm");
    assert_int_equal(fld_form_eval(t, a, "2024-12-01", &f, NULL), FLD_OK);
    assert_int_equal(fld_form_n_problems(f), 0);
    /* and the level it had to reach is shown: 60 plus 10% */
    assert_true(fld_form_value(f, required, 0)->num == 66.0);
    fld_form_free(f);
    /* The built-in template does not know the advanced income level:
     * condition 2 is unknown, so is the tier, and the rest stand. */
    expect_statuses(raw, a, "m?mm?");

    /* Another year's level is unknown even in the filled copy. */
    b = edited(t, a, "year=2025", NULL);
    expect_statuses(t, b, "m?mm?");
    fld_json_free(b);
    /* Just under 10% above: not met, whatever else is met. */
    b = edited(t, a, "income_mvnd=65.9", NULL);
    expect_statuses(t, b, "mnmmn");
    fld_json_free(b);
    /* No smart village: condition 3 is not met, in both copies. */
    b = edited(t, a, "smart_villages=0", NULL);
    expect_statuses(t, b, "mmnmn");
    expect_statuses(raw, b, "m?nmn");
    fld_json_free(b);
    /* Not (yet) recognised as advanced under the 2021-2025 set. */
    b = edited(t, a, "nang_cao_recognised=no", NULL);
    expect_statuses(t, b, "nmmmn");
    fld_json_free(b);
    fld_json_free(a);
    fld_template_free(raw);
    fld_template_free(t);
}

/* A template with a tier whose members other than the label are given. */
#define TIERED(members)                                                        \
    HEAD "\"tier\":{\"label\":{\"vi\":\"T\"},\"requires\":\"all\"" members     \
         "}," SEC(Q(",\"type\":\"text\""))

/* The programme tier a template decides, and the tiers it implies: the
 * province's report counts units by these codes. */
static void test_tier_codes(void **state)
{
    static const struct {
        const char *file, *code, *implies;
    } want[] = {
        {"ntm-xa-2021.json", "xa-ntm", NULL},
        {"ntm-xa-2026.json", "xa-ntm", NULL},
        {"ntm-xa-nang-cao-2021.json", "xa-ntm-nang-cao", "xa-ntm"},
        {"ntm-xa-kieu-mau-2021.json", "xa-ntm-kieu-mau", "xa-ntm-nang-cao"},
        {"ha-tinh-kdc-kieu-mau.json", "kdc-kieu-mau", NULL},
        {"ha-tinh-vuon-mau.json", NULL, NULL},
    };
    struct fld_template *t;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        t = builtin(want[i].file, NULL, NULL, NULL);
        if (want[i].code == NULL)
            assert_null(fld_template_tier_code(t));
        else
            assert_string_equal(fld_template_tier_code(t), want[i].code);
        assert_int_equal(fld_template_n_tier_implies(t),
                         want[i].implies ? 1 : 0);
        if (want[i].implies)
            assert_string_equal(fld_template_tier_implies(t, 0),
                                want[i].implies);
        assert_null(fld_template_tier_implies(t, 1));
        fld_template_free(t);
    }
    accepted(TIERED(",\"code\":\"xa-ntm-2\",\"implies\":[\"a\",\"b-1\"]"));
    accepted(TIERED(",\"code\":\"x\",\"implies\":[]"));
    refused(TIERED(",\"code\":\"Xa\""), "tier.code: expected a tier code");
    refused(TIERED(",\"code\":\"xa_ntm\""), "tier.code");
    refused(TIERED(",\"code\":\"\""), "tier.code");
    refused(TIERED(",\"code\":7"), "tier.code");
    refused(TIERED(",\"code\":\"a12345678901234567890123456789012345678901234"
                   "56789012345678901234\""),
            "tier.code");
    refused(TIERED(",\"implies\":[\"xa-ntm\"]"),
            "tier.implies: needs a \"code\"");
    refused(TIERED(",\"code\":\"a\",\"implies\":\"b\""),
            "tier.implies: expected a list of tier codes");
    refused(TIERED(",\"code\":\"a\",\"implies\":[\"b\",\"B\"]"),
            "tier.implies[1]: not a tier code");
    refused(TIERED(",\"code\":\"a\",\"implies\":[\"b\",\"a\"]"),
            "tier.implies[1]: \"a\" is this tier itself");
    refused(TIERED(",\"code\":\"a\",\"implies\":[\"b\",\"b\"]"),
            "tier.implies[1]: \"b\" given twice");
    refused(TIERED(",\"kode\":\"a\""), "tier: unknown key \"kode\"");
}

/* A recognition under the 2021-2025 set cannot predate QĐ 318/QĐ-TTg. */
static void test_kieu_mau_refuses_an_old_recognition(void **state)
{
    struct fld_template *t =
        builtin("ntm-xa-kieu-mau-2021.json", NULL, NULL, NULL);
    struct fld_edit *e = fld_edit_new(t, NULL);
    struct fld_err err;

    (void)state;
    assert_int_equal(fld_edit_assign(e, "nang_cao_recognised=yes", &err),
                     FLD_OK);
    assert_int_equal(
        fld_edit_assign(e, "nang_cao_decision_date=2021-06-30", &err), FLD_OK);
    assert_int_equal(fld_edit_check(e, "2024-12-01", FLD_LANG_EN, &err),
                     FLD_EINVAL);
    assert_non_null(strstr(err.msg, "08/3/2022"));
    fld_edit_free(e);
    fld_template_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_template_loads),
        cmocka_unit_test(test_match_answers_as_lookups),
        cmocka_unit_test(test_hash_ignores_layout),
        cmocka_unit_test(test_broken_templates_name_the_place),
        cmocka_unit_test(test_threshold_tables_are_checked),
        cmocka_unit_test(test_answers_are_typed_and_normalised),
        cmocka_unit_test(test_check_and_format_values),
        cmocka_unit_test(test_every_shipped_template_loads),
        cmocka_unit_test(test_commune_tier_templates_load),
        cmocka_unit_test(test_kieu_mau_four_conditions),
        cmocka_unit_test(test_kieu_mau_refuses_an_old_recognition),
        cmocka_unit_test(test_tier_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
