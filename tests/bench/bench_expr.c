/*
 * bench_expr.c - how fast rules parse and evaluate.
 *
 * Prints, for a realistic criterion rule and for a long one, parses per
 * second (fld_expr_parse + fld_expr_free) and evaluations per second
 * (fld_expr_eval + fld_value_clear, tri-state mode, names resolved by a
 * small lookup like the form engine's). Each figure is the best of five
 * rounds. Figures only: nothing here fails on time.
 * Usage: bench_expr [N]   (default 200000 iterations per round)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"
#include "err.h"
#include "expr.h"

#define ROUNDS 5

/* The 2021-2025 sanitation criterion, roughly: a ratio against a
 * threshold, and a select_multiple answer. */
static const char realistic[] =
    "${households_latrine} div ${households_total} * 100 >= "
    "threshold('latrine_pct') and selected(${waste}, 'collected')";

/* A long rule: several indicators, a region switch, a regex and a sum
 * over a repeat. */
static const char long_rule[] =
    "if(param('region') = '1', "
    "${households_latrine} div ${households_total} * 100 >= "
    "threshold('latrine_pct'), "
    "${households_latrine} div ${households_total} * 100 >= "
    "threshold('latrine_pct') - 5) "
    "and (selected(${waste}, 'collected') or selected(${waste}, 'sorted')) "
    "and count-selected(${waste}) >= 2 "
    "and ${road_hardened_km} div ${road_total_km} * 100 >= "
    "threshold('road_pct') "
    "and sum(${school_rooms}) >= 12 and count(${school_rooms}) > 2 "
    "and round(${income_mvnd}, 1) >= threshold('income_mvnd') "
    "and string-length(${remarks}) <= 500 "
    "and regex(${phone}, '^0[0-9]{9}$') "
    "and date(${inspection_date}) <= today() "
    "and coalesce(${poor_pct}, 0) < threshold('poor_pct')";

static int lookup(void *ctx, const char *name, struct fld_value *out)
{
    static const char *const rooms[] = {"4", "5", "6"};
    size_t i;

    (void)ctx;
    if (strcmp(name, "households_latrine") == 0) {
        fld_value_number(out, 1100);
    } else if (strcmp(name, "households_total") == 0) {
        fld_value_number(out, 1204);
    } else if (strcmp(name, "waste") == 0) {
        fld_value_list(out, 2);
        fld_value_string(&out->items[0], "collected");
        fld_value_string(&out->items[1], "sorted");
    } else if (strcmp(name, "road_hardened_km") == 0) {
        fld_value_string(out, "21.35");
    } else if (strcmp(name, "road_total_km") == 0) {
        fld_value_string(out, "24.6");
    } else if (strcmp(name, "school_rooms") == 0) {
        fld_value_list(out, 3);
        for (i = 0; i < 3; i++)
            fld_value_string(&out->items[i], rooms[i]);
    } else if (strcmp(name, "income_mvnd") == 0) {
        fld_value_string(out, "54.78");
    } else if (strcmp(name, "remarks") == 0) {
        fld_value_string(out, "Đường trục xã đã bê tông hoá");
    } else if (strcmp(name, "phone") == 0) {
        fld_value_string(out, "0912345678");
    } else if (strcmp(name, "inspection_date") == 0) {
        fld_value_string(out, "2026-11-28");
    } else if (strcmp(name, "poor_pct") == 0) {
        fld_value_blank(out);
    } else {
        return FLD_NOTFOUND;
    }
    return FLD_OK;
}

static int threshold(void *ctx, const char *name, struct fld_value *out)
{
    (void)ctx;
    if (strcmp(name, "latrine_pct") == 0)
        fld_value_number(out, 80);
    else if (strcmp(name, "road_pct") == 0)
        fld_value_number(out, 70);
    else if (strcmp(name, "income_mvnd") == 0)
        fld_value_number(out, 50);
    else if (strcmp(name, "poor_pct") == 0)
        fld_value_number(out, 5);
    else
        return FLD_NOTFOUND;
    return FLD_OK;
}

static int param(void *ctx, const char *name, struct fld_value *out)
{
    (void)ctx;
    if (strcmp(name, "region") != 0)
        return FLD_NOTFOUND;
    fld_value_string(out, "1");
    return FLD_OK;
}

static int bench(const char *label, const char *src, long n)
{
    struct fld_expr_env env;
    struct fld_expr *e = NULL;
    struct fld_value v;
    struct fld_err err;
    double best_parse = 0, best_eval = 0, t0, rate;
    long i;
    int round;

    memset(&env, 0, sizeof env);
    env.lookup = lookup;
    env.threshold = threshold;
    env.param = param;
    env.today = "2026-11-28";
    env.tri_state = true;
    for (round = 0; round < ROUNDS; round++) {
        t0 = now_s();
        for (i = 0; i < n; i++) {
            if (fld_expr_parse(src, &e, &err) != FLD_OK) {
                fprintf(stderr, "bench_expr: %s: %s\n", label, err.msg);
                return 1;
            }
            fld_expr_free(e);
        }
        rate = (double)n / (now_s() - t0);
        best_parse = rate > best_parse ? rate : best_parse;
    }
    if (fld_expr_parse(src, &e, &err) != FLD_OK)
        return 1;
    for (round = 0; round < ROUNDS; round++) {
        t0 = now_s();
        for (i = 0; i < n; i++) {
            if (fld_expr_eval(e, &env, &v, &err) != FLD_OK ||
                v.type != FLD_V_BOOL || !v.b) {
                fprintf(stderr, "bench_expr: %s: wrong answer %s\n", label,
                        err.msg);
                fld_expr_free(e);
                return 1;
            }
            fld_value_clear(&v);
        }
        rate = (double)n / (now_s() - t0);
        best_eval = rate > best_eval ? rate : best_eval;
    }
    fld_expr_free(e);
    printf("%-10s %4zu bytes  %10.0f parses/s  %10.0f evaluations/s\n", label,
           strlen(src), best_parse, best_eval);
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;

    if (n < 1)
        return 1;
    if (bench("realistic", realistic, n) != 0 ||
        bench("long", long_rule, n / 5 > 0 ? n / 5 : 1) != 0)
        return 1;
    return 0;
}
