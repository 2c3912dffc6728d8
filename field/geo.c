/*
 * geo.c - great-circle distances (see geo.h).
 */
#include "geo.h"

#include <math.h>

#define EARTH_RADIUS_M 6371008.8

/*
 * asin(x) for x in [0, 1/sqrt(2)], by halving [0, pi/4] until sin() pins
 * the angle down to the last bit (there sin() is steep enough for that).
 * libm's asin() would be one call, but it brings three copies (one per
 * processor variant) of a 22 kB table into the static `field`, which must
 * stay under 4 MB; this is the program's only inverse trigonometric
 * function, and it runs a few times per record shown.
 */
static double asin_small(double x)
{
    double lo = 0, hi = M_PI / 4, mid;
    int i;

    if (x <= 0)
        return 0;
    for (i = 0; i < 64; i++) {
        mid = lo + (hi - lo) / 2;
        if (mid <= lo || mid >= hi)
            break; /* no double between them: as close as it gets */
        if (sin(mid) < x)
            lo = mid;
        else
            hi = mid;
    }
    return lo + (hi - lo) / 2;
}

double fld_geo_distance_m(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = M_PI / 180;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a =
        sin(dlat / 2) * sin(dlat / 2) +
        cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    double half_angle; /* asin(sqrt(a)) */

    a = a < 0 ? 0 : a > 1 ? 1 : a;
    /* Past 45 degrees, its complement: asin(sqrt(a)) + asin(sqrt(1 - a))
     * is pi/2, and the bisection stays where it is exact. */
    if (a <= 0.5)
        half_angle = asin_small(sqrt(a));
    else
        half_angle = M_PI / 2 - asin_small(sqrt(1 - a));
    return 2 * EARTH_RADIUS_M * half_angle;
}
