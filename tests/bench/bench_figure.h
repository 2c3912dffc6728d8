/*
 * bench_figure.h - one figure of a benchmark as one JSON line, so that a
 * script can read what `make bench` printed (docs/BENCHMARKS.md):
 *
 *   {"bench":"server","figure":"ingest_share_of_verify","value":0.31,
 *    "unit":"ratio","target":">= 0.80"}
 *
 * target is the target for the figure, or NULL (printed null)
 * for a figure shown beside the others. With FIELD_BENCH_TAG set (as
 * scripts/run-bench.sh does when it runs bench_sync a second time, with
 * the static `field`), "_TAG" follows the benchmark's name, so that the
 * two runs' figures keep names of their own. Header-only: each benchmark
 * is its own program.
 */
#ifndef BENCH_FIGURE_H
#define BENCH_FIGURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static inline void bench_figure(const char *bench, const char *name,
                                double value, const char *unit,
                                const char *target)
{
    const char *tag = getenv("FIELD_BENCH_TAG");
    bool tagged = tag != NULL && tag[0] != '\0';

    printf("{\"bench\":\"%s%s%s\",\"figure\":\"%s\",\"value\":%.6g,"
           "\"unit\":\"%s\",\"target\":",
           bench, tagged ? "_" : "", tagged ? tag : "", name, value, unit);
    if (target != NULL)
        printf("\"%s\"}\n", target);
    else
        printf("null}\n");
}

#endif
