/*
 * date.c - calendar arithmetic (see date.h for the contract).
 *
 * Where it sits: below the value normaliser (norm.c), which checks that a
 * typed date exists, and below the expression language (value.c reads a
 * date string as a day number; expr_func.c's date() and today() go back
 * and forth). It knows nothing of either.
 *
 * Day numbers are computed with Howard Hinnant's days_from_civil and
 * civil_from_days: the year is shifted to start in March, so that the leap
 * day falls at the end and the length of every month before it follows
 * one linear formula, and eras of 400 years (146097 days) make the result
 * exact for every year, negative ones included, without a table or a loop.
 */
#include "date.h"

#include <stdio.h>

bool fld_date_is_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

int fld_date_days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};

    if (m < 1 || m > 12)
        return 0;
    return m == 2 && fld_date_is_leap(y) ? 29 : days[m - 1];
}

bool fld_date_valid(int64_t y, int m, int d)
{
    return d >= 1 && d <= fld_date_days_in_month(y, m);
}

int64_t fld_date_to_days(int64_t y, int m, int d)
{
    int64_t era;
    unsigned mu = (unsigned)m, yoe, doy, doe;

    y -= mu <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    /* the year of the era (0..399), the day of the year counted from
     * 1 March (0..365) and the day of the era (0..146096) */
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (mu > 2 ? mu - 3 : mu + 9) + 2) / 5 + (unsigned)d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void fld_date_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t era, z = days + 719468; /* days since 0000-03-01 */
    unsigned doe, yoe, doy, mp;

    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153; /* months since March */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits_value(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

bool fld_date_parse(const char *s, int64_t *days)
{
    int i, y, m, d;

    for (i = 0; i < 10; i++) {
        bool want_dash = i == 4 || i == 7;
        bool is_digit = s[i] >= '0' && s[i] <= '9';

        /* the NUL is neither: a short string stops here */
        if (want_dash ? s[i] != '-' : !is_digit)
            return false;
    }
    if (s[10] != '\0')
        return false;
    y = digits_value(s, 4);
    m = digits_value(s + 5, 2);
    d = digits_value(s + 8, 2);
    if (!fld_date_valid(y, m, d))
        return false;
    *days = fld_date_to_days(y, m, d);
    return true;
}

void fld_date_format(int64_t days, char out[11])
{
    int64_t y;
    int m, d;

    fld_date_from_days(days, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", (int)y, m, d);
}
