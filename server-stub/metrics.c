/*
 * metrics.c - counters for GET /metrics (see metrics.h). Label values are
 * our own fixed codes (routes, statuses, reason codes), never text from a
 * client, so the number of series stays small and nothing needs escaping;
 * a table of at most MAX_LABELED entries per family bounds it anyway.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELED 64
#define N_BUCKETS 12

static const double bucket_le[N_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

static const char *const route_names[SRV_N_ROUTES] = {
    [SRV_ROUTE_ENROLL] = "enroll",
    [SRV_ROUTE_SYNC] = "sync",
    [SRV_ROUTE_TEMPLATES] = "templates",
    [SRV_ROUTE_TEMPLATE] = "template",
    [SRV_ROUTE_UNITS] = "units",
    [SRV_ROUTE_HEALTH] = "health",
    [SRV_ROUTE_METRICS] = "metrics",
    [SRV_ROUTE_EXPORT] = "export",
    [SRV_ROUTE_OTHER] = "other",
    [SRV_ROUTE_THRESHOLDS] = "thresholds",
    [SRV_ROUTE_REPORT] = "report",
    [SRV_ROUTE_ATTACH_STATE] = "attachment_state",
    [SRV_ROUTE_ATTACHMENT] = "attachment",
};

struct labeled {
    char a[32]; /* first label value */
    char b[32]; /* second label value */
    int64_t n;
};

struct histogram {
    int64_t bucket[N_BUCKETS]; /* non-cumulative here; summed when written */
    int64_t count;
    double sum;
};

struct srv_metrics {
    pthread_mutex_t lock;
    struct labeled requests[MAX_LABELED]; /* route, status */
    size_t n_requests;
    struct labeled refusals[MAX_LABELED]; /* what, reason */
    size_t n_refusals;
    struct labeled pushed[MAX_LABELED]; /* result */
    size_t n_pushed;
    struct histogram latency[SRV_N_ROUTES];
    int64_t attach_received, attach_sent; /* bytes */
};

const char *srv_route_name(enum srv_route r)
{
    return (unsigned)r < SRV_N_ROUTES ? route_names[r] : "other";
}

struct srv_metrics *srv_metrics_new(void)
{
    struct srv_metrics *m = fld_xcalloc(1, sizeof *m);

    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void srv_metrics_free(struct srv_metrics *m)
{
    if (m == NULL)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* Add n to the series (a, b) of a family; caller holds the lock. */
static void bump(struct labeled *t, size_t *n_t, const char *a, const char *b,
                 int64_t n)
{
    size_t i;

    for (i = 0; i < *n_t; i++)
        if (strcmp(t[i].a, a) == 0 && strcmp(t[i].b, b) == 0) {
            t[i].n += n;
            return;
        }
    if (*n_t == MAX_LABELED)
        return; /* bounded: a series past the table is dropped */
    snprintf(t[i].a, sizeof t[i].a, "%s", a);
    snprintf(t[i].b, sizeof t[i].b, "%s", b);
    t[i].n = n;
    (*n_t)++;
}

void srv_metrics_request(struct srv_metrics *m, enum srv_route route,
                         int status, double seconds)
{
    char st[8];
    struct histogram *h;
    size_t i;

    if ((unsigned)route >= SRV_N_ROUTES)
        route = SRV_ROUTE_OTHER;
    snprintf(st, sizeof st, "%d", status);
    pthread_mutex_lock(&m->lock);
    bump(m->requests, &m->n_requests, route_names[route], st, 1);
    h = &m->latency[route];
    for (i = 0; i < N_BUCKETS; i++)
        if (seconds <= bucket_le[i]) {
            h->bucket[i]++;
            break;
        }
    h->count++;
    h->sum += seconds;
    pthread_mutex_unlock(&m->lock);
}

void srv_metrics_refusal(struct srv_metrics *m, const char *what,
                         const char *reason)
{
    pthread_mutex_lock(&m->lock);
    bump(m->refusals, &m->n_refusals, what, reason, 1);
    pthread_mutex_unlock(&m->lock);
}

void srv_metrics_pushed(struct srv_metrics *m, const char *result, int64_t n)
{
    pthread_mutex_lock(&m->lock);
    bump(m->pushed, &m->n_pushed, result, "", n);
    pthread_mutex_unlock(&m->lock);
}

void srv_metrics_attachment_bytes(struct srv_metrics *m, int64_t received,
                                  int64_t sent)
{
    pthread_mutex_lock(&m->lock);
    m->attach_received += received;
    m->attach_sent += sent;
    pthread_mutex_unlock(&m->lock);
}

/* A counter family: its HELP and TYPE lines, then one series per entry
 * of t, labelled label_a (and label_b, unless NULL). */
static void write_counter(struct fld_buf *out, const char *name,
                          const char *help, const char *label_a,
                          const char *label_b, const struct labeled *t,
                          size_t n)
{
    size_t i;

    fld_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (i = 0; i < n; i++) {
        fld_buf_printf(out, "%s{%s=\"%s\"", name, label_a, t[i].a);
        if (label_b != NULL)
            fld_buf_printf(out, ",%s=\"%s\"", label_b, t[i].b);
        fld_buf_printf(out, "} %lld\n", (long long)t[i].n);
    }
}

/* The latency histogram, one set of cumulative buckets per route that
 * answered at least once. */
static void write_latency(const struct srv_metrics *m, struct fld_buf *out)
{
    size_t i, r;

    fld_buf_puts(out, "# HELP field_request_duration_seconds Time to answer a "
                      "request, from its first byte.\n"
                      "# TYPE field_request_duration_seconds histogram\n");
    for (r = 0; r < SRV_N_ROUTES; r++) {
        const struct histogram *h = &m->latency[r];
        int64_t cum = 0;

        if (h->count == 0)
            continue;
        for (i = 0; i < N_BUCKETS; i++) {
            cum += h->bucket[i];
            fld_buf_printf(out,
                           "field_request_duration_seconds_bucket{route=\"%s\","
                           "le=\"%g\"} %lld\n",
                           route_names[r], bucket_le[i], (long long)cum);
        }
        fld_buf_printf(
            out,
            "field_request_duration_seconds_bucket{route=\"%s\","
            "le=\"+Inf\"} %lld\n"
            "field_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
            "field_request_duration_seconds_count{route=\"%s\"} %lld\n",
            route_names[r], (long long)h->count, route_names[r], h->sum,
            route_names[r], (long long)h->count);
    }
}

void srv_metrics_write(struct srv_metrics *m, const struct srv_counts *c,
                       struct fld_buf *out)
{
    pthread_mutex_lock(&m->lock);
    write_counter(out, "field_requests_total",
                  "HTTP requests answered, by route and status.", "route",
                  "status", m->requests, m->n_requests);
    write_latency(m, out);
    write_counter(out, "field_pushed_versions_total",
                  "Pushed versions, by result.", "result", NULL, m->pushed,
                  m->n_pushed);
    write_counter(out, "field_refusals_total",
                  "Refused requests and versions, by reason.", "what", "reason",
                  m->refusals, m->n_refusals);
    fld_buf_printf(out,
                   "# HELP field_attachment_bytes_total Attachment bytes "
                   "acknowledged to uploaders, and handed out to be sent.\n"
                   "# TYPE field_attachment_bytes_total counter\n"
                   "field_attachment_bytes_total{direction=\"received\"} "
                   "%lld\n"
                   "field_attachment_bytes_total{direction=\"sent\"} %lld\n",
                   (long long)m->attach_received, (long long)m->attach_sent);
    pthread_mutex_unlock(&m->lock);
    if (c == NULL)
        return;
    fld_buf_printf(
        out,
        "# HELP field_versions_stored Versions held, in server order.\n"
        "# TYPE field_versions_stored gauge\n"
        "field_versions_stored %lld\n"
        "# HELP field_versions_quarantined Versions waiting in "
        "quarantine.\n"
        "# TYPE field_versions_quarantined gauge\n"
        "field_versions_quarantined %lld\n"
        "# HELP field_versions_flagged Stored versions that break a "
        "checklist rule.\n"
        "# TYPE field_versions_flagged gauge\n"
        "field_versions_flagged %lld\n"
        "# HELP field_devices Enrolled devices, and how many are "
        "revoked.\n"
        "# TYPE field_devices gauge\n"
        "field_devices{state=\"enrolled\"} %lld\n"
        "field_devices{state=\"revoked\"} %lld\n",
        (long long)c->versions, (long long)c->quarantined,
        (long long)c->flagged, (long long)c->devices, (long long)c->revoked);
}
