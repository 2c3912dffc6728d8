/*
 * ntm_answers.h - inspections of a commune against ntm-xa-2021 as an
 * inspector would fill them, for the benchmarks that need a province of
 * realistic records (bench_sync.c, bench_report.c): about 56 answers in a
 * first version, consistent with the template's constraints (parts never
 * above their totals), and revisions that correct a few figures.
 *
 * A header of static functions, included by one benchmark program each:
 * the includer defines NTM_TEMPLATE (the template's id, for messages) and
 * a printf-like ntm_die() that does not return.
 */
#ifndef NTM_ANSWERS_H
#define NTM_ANSWERS_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "commune.h"
#include "json.h"
#include "template.h"

static uint64_t rng_state = 20251128;

static uint64_t rnd(uint64_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (rng_state >> 33) % n;
}

/* A whole number in [lo, hi]. */
static int64_t between(int64_t lo, int64_t hi)
{
    return lo + (int64_t)rnd((uint64_t)(hi - lo + 1));
}

/* pct of x, in per mille precision, rounded down: x * [lo, hi]% */
static int64_t share(int64_t x, int lo_pct, int hi_pct)
{
    return x * between(lo_pct * 10, hi_pct * 10) / 1000;
}

static const char *met(int pct_yes)
{
    return (int)rnd(100) < pct_yes ? "yes" : "no";
}

/*
 * Set answer name from the text a person would type, through the same
 * conversion `field set` uses (fld_template_answer): integers become
 * integers, dates and decimals normalised strings, choices checked.
 */
static void put(const struct fld_template *t, struct fld_json *a,
                const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put(const struct fld_template *t, struct fld_json *a,
                const char *name, const char *fmt, ...)
{
    const struct fld_question *q = fld_template_question(t, name);
    struct fld_json *v = NULL;
    struct fld_err err;
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (q == NULL)
        ntm_die("%s has no question %s", NTM_TEMPLATE, name);
    if (fld_template_answer(q, text, &v, &err) != FLD_OK || v == NULL)
        ntm_die("answer %s=%s: %s", name, text, err.msg);
    fld_json_set(a, name, v);
}

static int64_t get(const struct fld_json *a, const char *name)
{
    int64_t v = 0;

    if (!fld_json_get_int(a, name, &v))
        ntm_die("no integer answer %s", name);
    return v;
}

/*
 * The first version of an inspection: the parameters, the general part,
 * planning, infrastructure, economy and most of health and education;
 * 56 answers, consistent with the template's constraints (parts never
 * above their totals).
 */
static struct fld_json *first_answers(const struct fld_template *t,
                                      const struct commune *c)
{
    struct fld_json *a = fld_json_object();
    int64_t hh = between(2400, 6200), pop = hh * between(36, 42) / 10;
    int64_t vil = between(9, 28), x, y;

    put(t, a, "region", "bac_trung_bo");
    put(t, a, "year", "2025");
    put(t, a, "inspection_date", "2025-%02d-%02d", (int)between(7, 11),
        (int)between(1, 28));
    put(t, a, "location", "%.6f %.6f", 17.95 + (double)rnd(800000) / 1e6,
        105.25 + (double)rnd(1200000) / 1e6);
    put(t, a, "special_commune", "no");
    put(t, a, "households_total", "%lld", (long long)hh);
    put(t, a, "population_total", "%lld", (long long)pop);
    put(t, a, "villages_total", "%lld", (long long)vil);

    put(t, a, "plan_approved", "%s", met(95));
    put(t, a, "plan_managed", "%s", met(90));
    put(t, a, "plan_decision_ref",
        "Quyết định số %d/QĐ-UBND ngày %d/%d/2024 của UBND tỉnh Hà Tĩnh phê "
        "duyệt quy hoạch chung xây dựng xã %s",
        (int)between(1000, 4999), (int)between(1, 28), (int)between(1, 12),
        c->name);

    x = between(12000, 36000);
    put(t, a, "road_xa_total_m", "%lld", (long long)x);
    put(t, a, "road_xa_paved_m", "%lld", (long long)share(x, 92, 100));
    x = between(20000, 60000);
    put(t, a, "road_thon_total_m", "%lld", (long long)x);
    put(t, a, "road_thon_hard_m", "%lld", (long long)share(x, 80, 100));
    x = between(15000, 50000);
    put(t, a, "road_ngo_total_m", "%lld", (long long)x);
    put(t, a, "road_ngo_ok_m", "%lld", (long long)share(x, 75, 100));
    x = between(10000, 40000);
    put(t, a, "road_noidong_total_m", "%lld", (long long)x);
    put(t, a, "road_noidong_ok_m", "%lld", (long long)share(x, 60, 100));
    x = between(800, 4200);
    put(t, a, "farmland_total_ha", "%lld", (long long)x);
    put(t, a, "farmland_irrigated_ha", "%lld", (long long)share(x, 70, 100));
    put(t, a, "disaster_ready", "%s", met(90));
    put(t, a, "power_system", "%s", met(97));
    put(t, a, "households_power", "%lld", (long long)share(hh, 98, 100));
    x = between(3, 8);
    put(t, a, "schools_total", "%lld", (long long)x);
    put(t, a, "schools_standard", "%lld", (long long)between(x / 2, x));
    put(t, a, "culture_hall", "%s", met(85));
    put(t, a, "play_area", "%s", met(80));
    put(t, a, "villages_culture_house", "%lld",
        (long long)between(vil * 8 / 10, vil));
    put(t, a, "market", "%s", met(75));
    put(t, a, "post_point", "%s", met(98));
    put(t, a, "telecom", "%s", met(97));
    put(t, a, "radio", "%s", met(90));
    put(t, a, "it_admin", "%s", met(88));
    put(t, a, "houses_temporary", "%lld", (long long)between(0, 40));
    put(t, a, "households_solid_house", "%lld", (long long)share(hh, 85, 99));

    put(t, a, "income_mvnd", "%lld.%02lld", (long long)between(48, 72),
        (long long)between(0, 99));
    put(t, a, "income_source",
        "Báo cáo tình hình kinh tế - xã hội năm 2025 của "
        "UBND xã %s; số liệu Chi cục Thống kê khu vực",
        c->name);
    put(t, a, "households_poor", "%lld", (long long)share(hh, 1, 5));
    put(t, a, "poverty_ref",
        "Quyết định số %d/QĐ-UBND ngày %d/02/2025 công nhận kết quả rà soát hộ "
        "nghèo, hộ cận nghèo",
        (int)between(100, 999), (int)between(1, 28));
    x = share(pop, 58, 64);
    put(t, a, "workers_working_age", "%lld", (long long)x);
    y = share(x, 92, 98);
    put(t, a, "workers_employed", "%lld", (long long)y);
    x = share(y, 60, 80);
    put(t, a, "workers_trained", "%lld", (long long)x);
    put(t, a, "workers_certified", "%lld", (long long)share(x, 25, 40));
    put(t, a, "coop", "%s", met(85));
    put(t, a, "value_chain", "%s", met(70));
    put(t, a, "traceability", "%s", met(75));
    put(t, a, "craft_plan", "%s", rnd(3) ? "na" : met(80));
    put(t, a, "extension_team", "%s", met(85));

    put(t, a, "edu_universal", "%s", met(95));
    x = between(150, 520);
    put(t, a, "grads_lower_sec", "%lld", (long long)x);
    put(t, a, "grads_continuing", "%lld", (long long)share(x, 85, 98));
    put(t, a, "population_insured", "%lld", (long long)share(pop, 90, 97));
    put(t, a, "health_standard", "%s", met(92));
    x = share(pop, 6, 8);
    put(t, a, "children_u5", "%lld", (long long)x);
    put(t, a, "children_u5_stunted", "%lld", (long long)share(x, 8, 20));
    return a;
}

/* Figures corrected on a later visit: each is a share of its total. */
static const struct correction {
    const char *part, *total;
    int lo_pct, hi_pct;
} corrections[] = {
    {"road_thon_hard_m", "road_thon_total_m", 80, 100},
    {"road_ngo_ok_m", "road_ngo_total_m", 75, 100},
    {"road_noidong_ok_m", "road_noidong_total_m", 60, 100},
    {"farmland_irrigated_ha", "farmland_total_ha", 70, 100},
    {"households_poor", "households_total", 1, 5},
    {"households_solid_house", "households_total", 85, 99},
    {"workers_certified", "workers_trained", 25, 40},
    {"children_u5_stunted", "children_u5", 8, 20},
    {"grads_continuing", "grads_lower_sec", 85, 98},
};

#define N_CORRECTIONS (sizeof corrections / sizeof corrections[0])

/*
 * The n-th revision of an inspection (n >= 2 is its version number): the
 * second completes health, culture and water; every one corrects one to
 * three figures and rewrites the remarks, so each version changes
 * something (fld_capture_save refuses a version that does not).
 */
static void revise(const struct fld_template *t, struct fld_json *a, int n)
{
    int64_t k, i, total;

    if (fld_json_get(a, "population_ehr") == NULL) {
        int64_t hh = get(a, "households_total"), x;

        put(t, a, "population_ehr", "%lld",
            (long long)share(get(a, "population_total"), 80, 98));
        put(t, a, "villages_cultural_std", "%lld",
            (long long)between(get(a, "villages_total") * 7 / 10,
                               get(a, "villages_total")));
        x = share(hh, 97, 100);
        put(t, a, "households_water_hygienic", "%lld", (long long)x);
        put(t, a, "households_water_clean", "%lld",
            (long long)share(x, 40, 80));
    }
    k = between(1, 3);
    for (i = 0; i < k; i++) {
        const struct correction *c = &corrections[rnd(N_CORRECTIONS)];

        total = get(a, c->total);
        put(t, a, c->part, "%lld",
            (long long)share(total, c->lo_pct, c->hi_pct));
    }
    if (rnd(4) == 0)
        put(t, a, "market", "%s", met(75));
    put(t, a, "remarks",
        "Lần rà soát thứ %d: đã đối chiếu số liệu với báo cáo của các thôn và "
        "biên bản kiểm tra thực địa; cập nhật các chỉ tiêu giao thông, lao "
        "động",
        n);
}

#endif
