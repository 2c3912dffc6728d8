/*
 * hlc.h - the hybrid logical clock stamped on every version.
 *
 * A timestamp is [physical milliseconds, counter]. It never decides
 * causality (parents do that); it orders concurrent values in the merge and
 * is what a person reads as "when". A local event takes max(clock, now),
 * bumping the counter when the physical part did not move, so timestamps of
 * one device strictly increase even if its wall clock jumps back.
 *
 * Observing a remote timestamp moves the clock forward too, but never past
 * a bound the caller gives (the server's time plus a few minutes): one
 * tablet set to 2030 must not drag every device there. The clock state is
 * persisted by the store between runs.
 */
#ifndef FLD_HLC_H
#define FLD_HLC_H

#include <stdint.h>

/* How far past the trusted time an observed timestamp may pull the clock. */
#define FLD_HLC_MAX_AHEAD_MS (5 * 60 * 1000)

struct fld_hlc {
    int64_t ms;    /* physical part, Unix epoch milliseconds */
    int64_t count; /* logical counter within one millisecond */
};

/* Advance clock for a local event at physical time now_ms; returns the new
 * timestamp (also left in *clock). */
struct fld_hlc fld_hlc_tick(struct fld_hlc *clock, int64_t now_ms);

/*
 * Merge a timestamp seen on received data into clock: afterwards clock is
 * at least min(seen, bound_ms) so later local events order after it. A
 * seen.ms beyond bound_ms is clamped to bound_ms.
 */
void fld_hlc_observe(struct fld_hlc *clock, const struct fld_hlc *seen,
                     int64_t bound_ms);

/* <0, 0, >0 as a orders before, equal to, after b. */
int fld_hlc_cmp(const struct fld_hlc *a, const struct fld_hlc *b);

/* The wall clock in Unix epoch milliseconds. */
int64_t fld_now_ms(void);

#endif
