/*
 * test_geo.c - great-circle distances (field/geo.c) against libm's own
 * haversine and against distances known on the map.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "geo.h"

/* The textbook formula, with libm's asin(): what geo.c must agree with. */
static double reference_m(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = M_PI / 180;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a =
        sin(dlat / 2) * sin(dlat / 2) +
        cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);

    return 2 * 6371008.8 * asin(sqrt(a < 1 ? a : 1));
}

/* Within a millimetre of the reference up to a quarter of the Earth;
 * beyond, within 20 cm: there libm's asin(sqrt(a)) itself loses digits
 * (a is near 1, where asin is flat), which geo.c avoids. */
static void test_agrees_with_libm(void **state)
{
    static const double pts[][4] = {
        {18.3559, 105.8877, 18.3559, 105.8877}, /* the same place */
        {18.3559, 105.8877, 18.3560, 105.8878}, /* 15 m */
        {18.3559, 105.8877, 18.5, 105.8878},    /* 16 km */
        {21.0285, 105.8542, 10.8231, 106.6297}, /* Hà Nội - TP HCM */
        {0, 0, 0, 180},                         /* half the equator */
        {90, 0, -90, 0},                        /* pole to pole */
        {18.0, 105.0, -18.0, -75.0},            /* antipodes */
        {-33.9, 18.4, 51.5, -0.1},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof pts / sizeof *pts; i++) {
        const double *p = pts[i];
        double got = fld_geo_distance_m(p[0], p[1], p[2], p[3]);
        double want = reference_m(p[0], p[1], p[2], p[3]);

        assert_true(fabs(got - want) < (want < 10e6 ? 0.001 : 0.2));
    }
}

/* Known figures: the photo 16.0 km away in test_attach.sh, Hà Nội to
 * Ho Chi Minh City about 1,138 km, half the Earth 20,015 km. */
static void test_known_distances(void **state)
{
    (void)state;
    assert_int_equal(
        (int)lround(fld_geo_distance_m(18.3559, 105.8877, 18.5, 105.8878) /
                    100),
        160);
    assert_int_equal(
        (int)lround(fld_geo_distance_m(21.0285, 105.8542, 10.8231, 106.6297) /
                    1000),
        1138);
    assert_int_equal((int)lround(fld_geo_distance_m(0, 0, 0, 180) / 1000),
                     20015);
    assert_true(fld_geo_distance_m(1, 2, 1, 2) == 0);
    /* Pole to pole: pi times the radius, to the centimetre (libm's asin
     * of the same a is 13 cm short); other antipodes within the 20 cm the
     * rounding of a itself allows. */
    assert_true(fabs(fld_geo_distance_m(90, 0, -90, 0) - M_PI * 6371008.8) <
                0.01);
    assert_true(fabs(fld_geo_distance_m(18, 105, -18, -75) - M_PI * 6371008.8) <
                0.2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agrees_with_libm),
        cmocka_unit_test(test_known_distances),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
