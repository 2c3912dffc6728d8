/*
 * bench_clock.h - the one clock every benchmark reads: seconds on the
 * monotonic clock, so that a wall-clock step (NTP, faketime) never shows
 * up as a figure. Header-only: each benchmark is its own program.
 */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <time.h>

static inline double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
