/*
 * hlc.h - the hybrid logical clock stamped on every version.
 *
 * A timestamp is [physical milliseconds, counter]. It never decides
 * causality (parents do that); it orders concurrent values in the merge and
 * is what a person reads as "when". A local event takes max(clock, now),
 * bumping the counter when the physical part did not move, so timestamps of
 * one device strictly increase even if its wall clock jumps back a little.
 *
 * Except when the clock is more than FLD_HLC_MAX_AHEAD_MS ahead of now:
 * then it was set by a wall clock that ran ahead (a tablet offline with a
 * wrong date; now is the wall clock corrected by the server's time, so
 * "now" is what the device has learnt to be true). The clock returns to
 * now, and the device's next versions carry real times again, earlier than
 * the wrong ones. That is safe: a device's own order is its chain (dseq and
 * prev, which still increase), and a record's order is its parents (an
 * edit names the versions it supersedes, whatever their stamps); the stamp
 * only orders concurrent values, and the wrong ones are "ahead" there
 * (sync/merge.h, syn_merge_at) and never win.
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

/* Advance clock for a local event at physical time now_ms (the trusted
 * time: the wall clock corrected by the server's); returns the new
 * timestamp (also left in *clock). A clock more than FLD_HLC_MAX_AHEAD_MS
 * ahead of now_ms returns to [now_ms, 0]. */
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
