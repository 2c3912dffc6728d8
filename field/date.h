/*
 * date.h - calendar arithmetic on the proleptic Gregorian calendar, written
 * once for every module that reads or checks a date.
 *
 * Two modules need it: the value normaliser (norm.c) refuses 31/02/2026 as
 * a person types it, and the expression language (expr_func.c, value.c)
 * turns "YYYY-MM-DD" into a day number and back for date(), today() and
 * comparisons. Both must agree on which days exist, so both ask here.
 *
 * A day number counts days since 1970-01-01 (day 0), negative before it,
 * as ODK's date values do. Years are astronomical: year 0 exists and is a
 * leap year. Nothing here allocates, and nothing reads the clock: "today"
 * is always given by the caller.
 */
#ifndef FLD_DATE_H
#define FLD_DATE_H

#include <stdbool.h>
#include <stdint.h>

/* The day numbers of 0000-01-01 and 9999-12-31: the dates that the form
 * YYYY-MM-DD can write. */
#define FLD_DATE_DAY_MIN (-719528)
#define FLD_DATE_DAY_MAX 2932896

/* True when y (any year, 0 and negative ones included) has a 29 February. */
bool fld_date_is_leap(int64_t y);

/* Days in month m (1..12) of year y: 28 to 31. m outside 1..12 gives 0, so
 * that "d > fld_date_days_in_month(y, m)" refuses any day of it. */
int fld_date_days_in_month(int64_t y, int m);

/* True when y-m-d is a day of the calendar: m in 1..12, d in 1..the
 * month's length. */
bool fld_date_valid(int64_t y, int m, int d);

/* The day number of y-m-d, which must be valid (fld_date_valid); exact
 * for every year that fits. */
int64_t fld_date_to_days(int64_t y, int m, int d);

/* The date of a day number: the inverse of fld_date_to_days(). */
void fld_date_from_days(int64_t days, int64_t *y, int *m, int *d);

/*
 * Exactly "YYYY-MM-DD" (ten bytes, then the end of s) naming a day that
 * exists: its day number in *days and true; otherwise false and *days
 * untouched. No white space, no single-digit months: this is the canonical
 * form answers are stored in, not what a person types (norm.h reads that).
 */
bool fld_date_parse(const char *s, int64_t *days);

/* The canonical form "YYYY-MM-DD" of a day number in FLD_DATE_DAY_MIN ..
 * FLD_DATE_DAY_MAX, written into out (11 bytes with the NUL). */
void fld_date_format(int64_t days, char out[11]);

#endif
