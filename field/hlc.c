/*
 * hlc.c - hybrid logical clock arithmetic (see hlc.h for the rules).
 */
#include "hlc.h"

#include <time.h>

struct fld_hlc fld_hlc_tick(struct fld_hlc *clock, int64_t now_ms)
{
    /* A clock further ahead of trusted time than any observation may pull
     * it (fld_hlc_observe's bound) was set by a wrong wall clock: it comes
     * back to real time, or the device would stamp the future forever. */
    if (clock->ms > now_ms + FLD_HLC_MAX_AHEAD_MS) {
        clock->ms = now_ms;
        clock->count = 0;
        return *clock;
    }
    if (now_ms > clock->ms) {
        clock->ms = now_ms;
        clock->count = 0;
    } else {
        clock->count++;
    }
    return *clock;
}

void fld_hlc_observe(struct fld_hlc *clock, const struct fld_hlc *seen,
                     int64_t bound_ms)
{
    struct fld_hlc s = *seen;

    if (s.ms > bound_ms) {
        s.ms = bound_ms;
        s.count = 0;
    }
    if (fld_hlc_cmp(&s, clock) > 0)
        *clock = s;
}

int fld_hlc_cmp(const struct fld_hlc *a, const struct fld_hlc *b)
{
    if (a->ms != b->ms)
        return a->ms < b->ms ? -1 : 1;
    if (a->count != b->count)
        return a->count < b->count ? -1 : 1;
    return 0;
}

int64_t fld_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
