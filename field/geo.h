/*
 * geo.h - distances between two positions (latitude and longitude in
 * degrees, as a geopoint answer and a photo's EXIF give them).
 */
#ifndef FLD_GEO_H
#define FLD_GEO_H

/* The great-circle distance in metres (haversine, mean Earth radius). */
double fld_geo_distance_m(double lat1, double lon1, double lat2, double lon2);

#endif
