/*
 * metrics.h - what GET /metrics reports, in the Prometheus text format
 * (version 0.0.4): requests by route and status, a request latency
 * histogram by route, pushed versions by result, refusals by reason, and
 * gauges read from the storage (versions stored, quarantined, devices).
 * Counters are kept in memory under one mutex and start at zero with the
 * process, as Prometheus expects of counters.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "storage.h"

enum srv_route {
    SRV_ROUTE_ENROLL,
    SRV_ROUTE_SYNC,
    SRV_ROUTE_TEMPLATES,
    SRV_ROUTE_TEMPLATE,
    SRV_ROUTE_UNITS,
    SRV_ROUTE_THRESHOLDS,
    SRV_ROUTE_REPORT,
    SRV_ROUTE_HEALTH,
    SRV_ROUTE_METRICS,
    SRV_ROUTE_EXPORT,
    SRV_ROUTE_ATTACH_STATE,
    SRV_ROUTE_ATTACHMENT,
    SRV_ROUTE_OTHER,
    SRV_N_ROUTES
};

const char *srv_route_name(enum srv_route r);

struct srv_metrics;

struct srv_metrics *srv_metrics_new(void);
void srv_metrics_free(struct srv_metrics *m);

/* One finished request: its route, HTTP status and duration. */
void srv_metrics_request(struct srv_metrics *m, enum srv_route route,
                         int status, double seconds);
/* A refusal: what (a "request" or a "version") and the reason code. */
void srv_metrics_refusal(struct srv_metrics *m, const char *what,
                         const char *reason);
/* n pushed versions with this result ("stored", "duplicate", ...). */
void srv_metrics_pushed(struct srv_metrics *m, const char *result, int64_t n);

/* Attachment bytes acknowledged (received) or handed out to be sent. */
void srv_metrics_attachment_bytes(struct srv_metrics *m, int64_t received,
                                  int64_t sent);

/* The whole exposition; counts may be NULL when the storage was not read. */
void srv_metrics_write(struct srv_metrics *m, const struct srv_counts *counts,
                       struct fld_buf *out);

#endif
