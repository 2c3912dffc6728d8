/*
 * bench_figure.h - one figure of a benchmark as one JSON line, so that a
 * script can read what `make bench` printed (docs/BENCHMARKS.md):
 *
 *   {"bench":"server","figure":"ingest_share_of_verify","value":0.31,
 *    "unit":"ratio","target":">= 0.80"}
 *
 * target is the target for the figure, or NULL (printed null)
 * for a figure shown beside the others. Header-only: each benchmark is
 * its own program.
 */
#ifndef BENCH_FIGURE_H
#define BENCH_FIGURE_H

#include <stdio.h>

static inline void bench_figure(const char *bench, const char *name,
                                double value, const char *unit,
                                const char *target)
{
    printf("{\"bench\":\"%s\",\"figure\":\"%s\",\"value\":%.6g,"
           "\"unit\":\"%s\",\"target\":",
           bench, name, value, unit);
    if (target != NULL)
        printf("\"%s\"}\n", target);
    else
        printf("null}\n");
}

#endif
