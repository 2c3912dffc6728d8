/*
 * test_srv_report.c - the province's progress report engine
 * (server-stub/report.c, srv_report_build) over a small server database
 * built through the real storage interface, and the number formats every
 * layout uses (srv_format_share, srv_share_tenths; counts in test_numbers).
 *
 * The province: unit 90, districts 9001 and 9002, eight communes of kind
 * "xa" and one tier template (tier "xa-ntm", two criteria). Each commune
 * stands for one rule of docs/REPORTS.md:
 *
 *   90001  final, then approved exactly at the last millisecond of
 *          30/06/2025                                    -> met
 *   90002  final only                                    -> not assessed
 *   90003  final, approved at 00:00:00.000 on 1/7/2025   -> not assessed
 *          as of 30/06, met as of 5/7
 *   90004  approved, but not taking part in the programme -> listed apart
 *   90005  approved in May; its validity ends 31/05/2025 -> counted as of
 *          31/05, gone as of 30/06
 *   90006  approved, criterion 1 not met                 -> not met
 *   90007  two records approved: the earlier meets, the later misses
 *          criterion 2                                   -> not met
 *   90008  approved while the inspector changed an answer concurrently:
 *          the merge sends it back to final              -> not assessed
 *
 * Versions are signed by an inspector's and a supervisor's enrolled
 * devices; the receipt times are set through srv_version_in.received_ms
 * and read in UTC (main sets TZ), so that "the end of 30/06/2025" is one
 * known millisecond. The devices' own clocks (hlc) are all in early June:
 * only receipt times may decide.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "report.h"
#include "storage.h"
#include "srvtest.h"
#include "testutil.h"

#define DAY_MS INT64_C(86400000)

static const char template_json[] =
    "{\"id\":\"t-xa-ntm\",\"version\":\"1\","
    "\"title\":{\"vi\":\"Xã NTM (thử)\",\"en\":\"NTM commune (test)\"},"
    "\"subject_kind\":\"xa\","
    "\"choices\":{\"yes_no\":["
    " {\"name\":\"yes\",\"label\":{\"vi\":\"Có\"}},"
    " {\"name\":\"no\",\"label\":{\"vi\":\"Không\"}}]},"
    "\"sections\":[{\"name\":\"main\",\"label\":{\"vi\":\"Chung\"},"
    " \"questions\":["
    "  {\"name\":\"c1\",\"type\":\"select_one\",\"choices\":\"yes_no\","
    "   \"required\":true,\"label\":{\"vi\":\"Tiêu chí 1\"}},"
    "  {\"name\":\"score\",\"type\":\"integer\",\"required\":true,"
    "   \"label\":{\"vi\":\"Điểm\"}}]}],"
    "\"criteria\":["
    " {\"code\":\"1\",\"name\":{\"vi\":\"Quy hoạch\"},\"indicators\":[{"
    "  \"code\":\"1.1\",\"text\":{\"vi\":\"Có\"},\"met\":\"${c1} = 'yes'\"}]},"
    " {\"code\":\"2\",\"name\":{\"vi\":\"Điểm\"},\"indicators\":[{"
    "  \"code\":\"2.1\",\"text\":{\"vi\":\"Đủ\"},\"met\":\"${score} >= 50\"}]}"
    "],"
    "\"tier\":{\"code\":\"xa-ntm\",\"label\":{\"vi\":\"Xã đạt chuẩn NTM\","
    " \"en\":\"Commune meets NTM\"},\"requires\":\"all\"}}";

/* A device and its chain: the dseq and prev of its next version. */
struct author {
    struct fld_key *key;
    int64_t dseq;
    char prev[FLD_HASH_HEX_LEN + 1];
};

struct fx {
    char *dir, *path;
    struct srv_storage *st;
    char tpl[FLD_HASH_HEX_LEN + 1];
    struct author inspector, supervisor;
};

/* The first millisecond of a day (UTC, as main sets TZ). */
static int64_t day_ms(const char *date)
{
    int64_t days = 0;

    assert_true(fld_date_parse(date, &days));
    return days * DAY_MS;
}

/* The last millisecond of a day: what a report as of it still counts. */
static int64_t day_end_ms(const char *date)
{
    return day_ms(date) + DAY_MS - 1;
}

static void add_device(struct srv_storage *st, const struct fld_key *k,
                       const char *role)
{
    struct srv_device d;
    char *scope[1] = {(char *)"90"};

    memset(&d, 0, sizeof d);
    fld_key_public_hex(k, d.pubkey);
    d.inspector = (char *)"Thử";
    d.role = (char *)role;
    d.scope = scope;
    d.n_scope = 1;
    d.enrolled_ms = 1;
    assert_int_equal(srv_storage_device_add(st, &d, NULL), FLD_OK);
}

/* What one version says. */
struct step {
    int record; /* record ids are made from this number */
    const char *subject, *status, *c1;
    int64_t score;
    const char *parents[2]; /* NULL-terminated when fewer */
    int64_t received_ms;
};

/* Sign step by a and store it as received at step->received_ms; the
 * version's hash in hash. */
static void store(struct fx *f, struct author *a, const struct step *s,
                  char hash[FLD_HASH_HEX_LEN + 1])
{
    struct fld_version_draft d;
    struct fld_version *v = NULL;
    struct fld_json *answers = fld_json_object();
    struct srv_version_in in;
    char record[FLD_RECORD_HEX_LEN + 1];
    int64_t seq = 0;

    snprintf(record, sizeof record, "%032x", (unsigned)s->record);
    fld_json_set(answers, "c1", fld_json_string(s->c1));
    fld_json_set(answers, "score", fld_json_int(s->score));
    memset(&d, 0, sizeof d);
    d.record = record;
    d.parents = s->parents;
    d.n_parents = s->parents[0] == NULL ? 0 : s->parents[1] == NULL ? 1 : 2;
    d.dseq = ++a->dseq;
    d.prev = a->prev[0] ? a->prev : NULL;
    d.hlc.ms = day_ms("2025-06-01") + a->dseq; /* the device's clock */
    d.template_id = "t-xa-ntm";
    d.template_hash = f->tpl;
    d.subject = s->subject;
    d.status = s->status;
    d.inspector = "Thử";
    d.answers = answers;
    assert_int_equal(fld_version_sign(&d, a->key, &v, NULL), FLD_OK);
    memset(&in, 0, sizeof in);
    in.v = v;
    in.pusher = v->author; /* each device delivers its own versions */
    in.received_ms = s->received_ms;
    assert_int_equal(srv_storage_version_put(f->st, &in, &seq, NULL), FLD_OK);
    assert_true(seq > 0);
    snprintf(a->prev, sizeof a->prev, "%s", v->hash);
    snprintf(hash, FLD_HASH_HEX_LEN + 1, "%s", v->hash);
    fld_version_free(v);
    fld_json_free(answers);
}

/* A record finalised by the inspector at final_ms and, unless approve_ms
 * is 0, approved by the supervisor at approve_ms with the same answers. */
static void record(struct fx *f, int rec, const char *subject, const char *c1,
                   int64_t score, int64_t final_ms, int64_t approve_ms)
{
    char fin[FLD_HASH_HEX_LEN + 1], app[FLD_HASH_HEX_LEN + 1];
    struct step s = {rec, subject, "final", c1, score, {NULL, NULL}, final_ms};

    store(f, &f->inspector, &s, fin);
    if (approve_ms == 0)
        return;
    s.status = "approved";
    s.parents[0] = fin;
    s.received_ms = approve_ms;
    store(f, &f->supervisor, &s, app);
}

static void put_units(struct srv_storage *st)
{
    const struct srv_unit units[] = {
        {"90", "Tỉnh Thử", "tinh", NULL, "2000-01-01", NULL, true, NULL},
        {"9001", "Huyện Một", "huyen", "90", "2000-01-01", NULL, true, NULL},
        {"9002", "Huyện Hai", "huyen", "90", "2000-01-01", NULL, true, NULL},
        {"90001", "Xã Một", "xa", "9001", "2000-01-01", NULL, true, NULL},
        {"90002", "Xã Hai", "xa", "9001", "2000-01-01", NULL, true, NULL},
        {"90003", "Xã Ba", "xa", "9001", "2000-01-01", NULL, true, NULL},
        {"90004", "Kỳ Lợi Thử", "xa", "9001", "2000-01-01", NULL, false, NULL},
        {"90005", "Xã Năm", "xa", "9001", "2000-01-01", "2025-05-31", true,
         NULL},
        {"90006", "Xã Sáu", "xa", "9001", "2000-01-01", NULL, true, NULL},
        {"90007", "Xã Bảy", "xa", "9002", "2000-01-01", NULL, true, NULL},
        {"90008", "Xã Tám", "xa", "9002", "2000-01-01", NULL, true, NULL},
    };
    size_t i;

    for (i = 0; i < sizeof units / sizeof units[0]; i++)
        assert_int_equal(srv_storage_unit_put(st, &units[i], NULL), FLD_OK);
}

/* 90008: approved while the inspector's concurrent edit changes c1. */
static void crossed_record(struct fx *f, int64_t at)
{
    char fin[FLD_HASH_HEX_LEN + 1], h[FLD_HASH_HEX_LEN + 1];
    struct step s = {9, "90008", "final", "yes", 80, {NULL, NULL}, at};

    store(f, &f->inspector, &s, fin);
    s.parents[0] = fin;
    s.received_ms = at + 1;
    s.c1 = "no";
    store(f, &f->inspector, &s, h);
    s.c1 = "yes";
    s.status = "approved";
    s.received_ms = at + 2;
    store(f, &f->supervisor, &s, h);
}

static int setup(void **state)
{
    struct fx *f = fld_xcalloc(1, sizeof *f);
    struct fld_template *t = NULL;
    int64_t june = day_ms("2025-06-10");

    f->dir = tu_mkdtemp();
    f->path = fld_xasprintf("%s/field.db", f->dir);
    f->inspector.key = tu_key(11);
    f->supervisor.key = tu_key(12);
    assert_int_equal(fld_template_parse((const uint8_t *)template_json,
                                        strlen(template_json), &t, NULL),
                     FLD_OK);
    f->st = tu_server_db(f->path, t, NULL, 0, f->tpl);
    fld_template_free(t);
    put_units(f->st);
    add_device(f->st, f->inspector.key, "inspector");
    add_device(f->st, f->supervisor.key, "supervisor");

    record(f, 1, "90001", "yes", 80, june, day_end_ms("2025-06-30"));
    record(f, 2, "90002", "yes", 80, june, 0);
    record(f, 3, "90003", "yes", 80, june, day_ms("2025-07-01"));
    record(f, 4, "90004", "yes", 80, june, june + 1);
    record(f, 5, "90005", "yes", 80, day_ms("2025-05-10"),
           day_ms("2025-05-20"));
    record(f, 6, "90006", "no", 80, june, june + 1);
    record(f, 7, "90007", "yes", 80, june, june + 1); /* met ... */
    record(f, 8, "90007", "yes", 10, june, june + 2); /* ... superseded */
    crossed_record(f, june);
    assert_int_equal(srv_storage_commit(f->st, NULL), FLD_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    srv_storage_close(f->st);
    fld_key_free(f->inspector.key);
    fld_key_free(f->supervisor.key);
    free(f->path);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* What *out holds before a call that must clear it on failure. */
static struct srv_report sentinel;

static struct srv_report *build(struct fx *f, const char *unit,
                                const char *as_of)
{
    struct srv_report *r = NULL;
    struct fld_err err;
    int rc;

    fld_err_clear(&err);
    rc = srv_report_build(f->st, unit, as_of, &r, &err);
    if (rc != FLD_OK)
        fail_msg("report as of %s: %d (%s)", as_of, rc, err.msg);
    assert_non_null(r);
    return r;
}

static const struct srv_report_tier *tier(const struct srv_report *r)
{
    assert_int_equal(r->n_tiers, 1);
    assert_string_equal(r->tiers[0].code, "xa-ntm");
    return &r->tiers[0];
}

/* The miss listed for unit code, NULL when the unit is not listed. */
static const struct srv_report_miss *miss(const struct srv_report *r,
                                          const char *code)
{
    size_t i;

    for (i = 0; i < r->n_misses; i++)
        if (strcmp(r->misses[i].code, code) == 0)
            return &r->misses[i];
    return NULL;
}

static void expect_counts(const struct srv_report_tier *t, int64_t met,
                          int64_t not_met, int64_t unknown,
                          int64_t not_assessed, int64_t total)
{
    assert_int_equal(t->count[SRV_TIER_MET], met);
    assert_int_equal(t->count[SRV_TIER_NOT_MET], not_met);
    assert_int_equal(t->count[SRV_TIER_UNKNOWN], unknown);
    assert_int_equal(t->count[SRV_TIER_NOT_ASSESSED], not_assessed);
    assert_int_equal(t->total, total);
}

/* As of 30/06/2025: only approved records received by its last
 * millisecond count, the latest approval of a unit decides, and a final
 * record (alone or crossed by an edit) counts as nothing. */
static void test_approved_by_the_date(void **state)
{
    struct fx *f = *state;
    struct srv_report *r = build(f, "90", "2025-06-30");
    const struct srv_report_miss *m;

    assert_string_equal(r->unit.code, "90");
    assert_string_equal(r->as_of, "2025-06-30");
    /* 90001 met; 90006, 90007 not met; 90002, 90003, 90008 not assessed */
    expect_counts(tier(r), 1, 2, 0, 3, 6);
    /* records of valid units in the report (90005 is not valid), and those
     * approved (90004's too: it is outside a denominator, not the count) */
    assert_int_equal(r->n_records, 8);
    assert_int_equal(r->n_approved, 5);

    assert_null(miss(r, "90001"));
    m = miss(r, "90002");
    assert_non_null(m);
    assert_int_equal(m->state, SRV_TIER_NOT_ASSESSED);
    assert_string_equal(m->not_met, "");
    m = miss(r, "90003");
    assert_non_null(m);
    assert_int_equal(m->state, SRV_TIER_NOT_ASSESSED);
    m = miss(r, "90006");
    assert_non_null(m);
    assert_int_equal(m->state, SRV_TIER_NOT_MET);
    assert_string_equal(m->not_met, "1");
    assert_string_equal(m->unknown, "");
    m = miss(r, "90007"); /* the later record, which misses criterion 2 */
    assert_non_null(m);
    assert_int_equal(m->state, SRV_TIER_NOT_MET);
    assert_string_equal(m->not_met, "2");
    m = miss(r, "90008");
    assert_non_null(m);
    assert_int_equal(m->state, SRV_TIER_NOT_ASSESSED);
    assert_int_equal(r->n_misses, 5);

    /* per criterion, over the assessments that count: 90001, 90006, 90007 */
    assert_int_equal(r->n_criteria, 1);
    assert_string_equal(r->criteria[0].template_id, "t-xa-ntm");
    assert_int_equal(r->criteria[0].n_units, 3);
    assert_int_equal(r->criteria[0].n, 2);
    assert_string_equal(r->criteria[0].c[0].code, "1");
    assert_int_equal(r->criteria[0].c[0].met, 2);
    assert_int_equal(r->criteria[0].c[0].not_met, 1);
    assert_int_equal(r->criteria[0].c[1].met, 2);
    assert_int_equal(r->criteria[0].c[1].not_met, 1);

    /* the districts, each over the communes it holds */
    assert_int_equal(r->n_localities, 2);
    assert_string_equal(r->localities[0].code, "9001");
    assert_int_equal(r->localities[0].tiers[0].n, 1);
    assert_int_equal(r->localities[0].tiers[0].total, 4);
    assert_string_equal(r->localities[1].code, "9002");
    assert_int_equal(r->localities[1].tiers[0].n, 0);
    assert_int_equal(r->localities[1].tiers[0].total, 2);
    srv_report_free(r);
}

/* An approval received one millisecond after the day counts only in a
 * report of a later date; the earlier report does not move. */
static void test_received_after_the_date(void **state)
{
    struct fx *f = *state;
    struct srv_report *r = build(f, "90", "2025-07-05");

    expect_counts(tier(r), 2, 2, 0, 2, 6);
    assert_null(miss(r, "90003"));
    assert_int_equal(r->n_approved, 6);
    srv_report_free(r);
    r = build(f, "90", "2025-06-30");
    expect_counts(tier(r), 1, 2, 0, 3, 6);
    srv_report_free(r);
    r = build(f, "90", "2025-06-09"); /* before anything was received */
    expect_counts(tier(r), 0, 0, 0, 6, 6);
    assert_int_equal(r->n_records, 0);
    assert_int_equal(r->n_criteria, 0);
    srv_report_free(r);
}

/* A unit not taking part is in no denominator, is never listed as
 * missing, and is listed apart. */
static void test_not_in_programme(void **state)
{
    struct fx *f = *state;
    struct srv_report *r = build(f, "90", "2025-06-30");

    assert_int_equal(r->n_excluded, 1);
    assert_string_equal(r->excluded[0].code, "90004");
    assert_string_equal(r->excluded[0].name, "Kỳ Lợi Thử");
    assert_null(miss(r, "90004"));
    assert_int_equal(r->localities[0].tiers[0].total, 4); /* not 5 */
    srv_report_free(r);
}

/* A unit counts only on the days it is valid: 90005 (valid to 31/05)
 * is met as of 31/05 and gone from every figure as of 1/06. */
static void test_validity_ended(void **state)
{
    struct fx *f = *state;
    struct srv_report *r = build(f, "90", "2025-05-31");

    expect_counts(tier(r), 1, 0, 0, 6, 7);
    assert_null(miss(r, "90005"));
    assert_int_equal(r->n_records, 1);
    assert_int_equal(r->n_approved, 1);
    srv_report_free(r);
    r = build(f, "90", "2025-06-01");
    expect_counts(tier(r), 0, 0, 0, 6, 6);
    assert_null(miss(r, "90005"));
    assert_int_equal(r->n_excluded, 1); /* still only 90004 */
    srv_report_free(r);
}

/* The report's unit: named, the top by default, FLD_NOTFOUND when no
 * unit of that code is valid on the date. */
static void test_unit(void **state)
{
    struct fx *f = *state;
    struct srv_report *r = build(f, "9002", "2025-06-30");
    struct fld_err err;

    assert_string_equal(r->unit.code, "9002");
    assert_string_equal(r->unit.name, "Huyện Hai");
    expect_counts(tier(r), 0, 1, 0, 1, 2);
    assert_int_equal(r->n_localities, 2); /* its communes */
    assert_string_equal(r->localities[0].code, "90007");
    assert_int_equal(r->n_excluded, 0);
    srv_report_free(r);
    r = build(f, NULL, "2025-06-30");
    assert_string_equal(r->unit.code, "90");
    srv_report_free(r);

    r = &sentinel; /* must be cleared */
    fld_err_clear(&err);
    assert_int_equal(srv_report_build(f->st, "4242", "2025-06-30", &r, &err),
                     FLD_NOTFOUND);
    assert_null(r);
    assert_non_null(strstr(err.msg, "4242"));
    assert_int_equal(srv_report_build(f->st, "90005", "2025-06-30", &r, &err),
                     FLD_NOTFOUND);
    assert_null(r);
    r = build(f, "90005", "2025-05-31");
    expect_counts(tier(r), 1, 0, 0, 0, 1);
    srv_report_free(r);
}

/* The date must be a real day written YYYY-MM-DD. */
static void test_bad_date(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {"2025-02-31", "30/06/2025", "2025-6-30",
                                      "", "2025-06-30x"};
    struct srv_report *r;
    struct fld_err err;
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = &sentinel;
        fld_err_clear(&err);
        assert_int_equal(srv_report_build(f->st, "90", bad[i], &r, &err),
                         FLD_EUSAGE);
        assert_null(r);
        assert_non_null(strstr(err.msg, "YYYY-MM-DD"));
    }
}

/* The target of the report's unit in force on the date: the one set
 * last among those from that date or earlier. */
static void test_targets(void **state)
{
    struct fx *f = *state;
    const struct srv_target targets[] = {
        {"90", "xa-ntm", 5, "2025-01-01", "2025-12-31", "QĐ 1", 0},
        {"90", "xa-ntm", 6, "2025-07-01", NULL, NULL, 0},
        {"9001", "xa-ntm", 9, "2025-01-01", NULL, NULL, 0},
        {"90", "xa-khac", 9, "2025-01-01", NULL, NULL, 0},
    };
    struct srv_report *r;
    size_t i;

    r = build(f, "90", "2025-06-30");
    assert_false(tier(r)->has_target);
    srv_report_free(r);
    assert_int_equal(srv_storage_begin(f->st, NULL), FLD_OK);
    for (i = 0; i < sizeof targets / sizeof targets[0]; i++)
        assert_int_equal(srv_storage_target_put(f->st, &targets[i], NULL),
                         FLD_OK);
    assert_int_equal(srv_storage_commit(f->st, NULL), FLD_OK);
    r = build(f, "90", "2025-06-30");
    assert_true(tier(r)->has_target);
    assert_int_equal(tier(r)->target, 5);
    assert_string_equal(tier(r)->target_due, "2025-12-31");
    assert_string_equal(tier(r)->target_source, "QĐ 1");
    srv_report_free(r);
    r = build(f, "90", "2025-07-01");
    assert_int_equal(tier(r)->target, 6);
    assert_null(tier(r)->target_due);
    srv_report_free(r);
}

static void expect_share(int64_t n, int64_t total, enum fld_lang lang,
                         const char *want)
{
    struct fld_buf b = FLD_BUF_INIT;
    struct srv_ratio r = {n, total};

    srv_format_share(r, lang, &b);
    assert_string_equal(fld_buf_str(&b), want);
    fld_buf_free(&b);
}

static int64_t tenths(int64_t n, int64_t total)
{
    struct srv_ratio r = {n, total};

    return srv_share_tenths(r);
}

/* Tenths of a per cent from integers, half up; -1 without a total. */
static void test_share_tenths(void **state)
{
    (void)state;
    assert_int_equal(tenths(1205, 1512), 797); /* 79.69... */
    assert_int_equal(tenths(69, 169), 408);    /* 40.82... */
    assert_int_equal(tenths(1, 16), 63);       /* 6.25: half goes up */
    assert_int_equal(tenths(3, 16), 188);      /* 18.75 */
    assert_int_equal(tenths(1, 3), 333);       /* 33.33...: down */
    assert_int_equal(tenths(2, 3), 667);
    assert_int_equal(tenths(1, 2000), 1); /* 0.05: half up */
    assert_int_equal(tenths(1, 2001), 0); /* 0.0499...: down */
    assert_int_equal(tenths(0, 7), 0);
    assert_int_equal(tenths(169, 169), 1000);
    assert_int_equal(tenths(0, 0), -1);
    assert_int_equal(tenths(5, 0), -1);
}

static void test_format_share(void **state)
{
    (void)state;
    expect_share(1205, 1512, FLD_LANG_VI, "79,7%");
    expect_share(1205, 1512, FLD_LANG_EN, "79.7%");
    expect_share(69, 169, FLD_LANG_VI, "40,8%");
    expect_share(1, 16, FLD_LANG_EN, "6.3%");
    expect_share(0, 7, FLD_LANG_VI, "0,0%");
    expect_share(169, 169, FLD_LANG_VI, "100,0%");
    expect_share(0, 0, FLD_LANG_VI, "–");
    expect_share(0, 0, FLD_LANG_EN, "–");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_approved_by_the_date, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_received_after_the_date, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_not_in_programme, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validity_ended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_targets, setup, teardown),
        cmocka_unit_test(test_share_tenths),
        cmocka_unit_test(test_format_share),
    };

    /* Receipt times are read in the server's local time: fix it. */
    setenv("TZ", "UTC", 1);
    tzset();
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
