/*
 * report.h - the province's progress report: how many units meet which
 * tier of the New Rural programme, per locality and per criterion, against
 * the targets, as of a date (docs/REPORTS.md gives the definitions).
 *
 * srv_report_build() computes it from what the server holds (report.c);
 * the srv_report_write_*() functions lay it out for a terminal, for
 * machines (JSON, CSV) and for an office (XLSX) (report_out.c). The report
 * is plain data between the two, so every format says the same thing.
 */
#ifndef SRV_REPORT_H
#define SRV_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "template.h"

/* What a unit's assessments say of one tier. */
enum srv_tier_state {
    SRV_TIER_MET,     /* an approved assessment meets it (or a higher tier) */
    SRV_TIER_NOT_MET, /* the latest approved assessment does not */
    SRV_TIER_UNKNOWN, /* ... cannot tell: a threshold or answer unknown */
    SRV_TIER_NOT_ASSESSED, /* no approved assessment of this tier */
    SRV_TIER_N
};

/* A count out of a denominator; shares are computed when written. */
struct srv_ratio {
    int64_t n, total;
};

/* A programme tier: a template's tier code and the units it applies to. */
struct srv_report_tier {
    char *code;            /* "xa-ntm", "xa-ntm-nang-cao", "kdc-kieu-mau" */
    struct fld_text label; /* owned strings */
    char *kind;            /* the unit kinds it counts, space separated */
    int64_t count[SRV_TIER_N];
    int64_t
        total; /* units of those kinds valid on the date, in the programme */
    bool has_target;
    int64_t target;      /* at least this many units */
    char *target_due;    /* YYYY-MM-DD or NULL */
    char *target_source; /* the document that set it, or NULL */
};

/* One locality: a unit directly below the report's unit. */
struct srv_report_locality {
    char *code, *name;
    struct srv_ratio *tiers; /* one per report tier, in the same order */
};

/* How the units assessed against one tier fare on each criterion. */
struct srv_report_criterion {
    char *code;
    struct fld_text name;
    int64_t met, not_met, unknown;
};

struct srv_report_criteria {
    char *tier;        /* the tier's code */
    char *template_id; /* whose criteria these are */
    struct srv_report_criterion *c;
    size_t n;
    int64_t n_units; /* units whose latest approved assessment this is */
};

/* A unit that misses a tier, and the criteria it misses. */
struct srv_report_miss {
    char *tier, *code, *name;
    enum srv_tier_state state;
    char *not_met; /* criterion codes, comma separated ("" for none) */
    char *unknown;
};

struct srv_report_unit {
    char *code, *name;
};

struct srv_report {
    struct srv_report_unit unit;
    char as_of[11]; /* YYYY-MM-DD: versions received up to its end count */
    int64_t generated_ms;
    int64_t n_records;  /* records of the units considered */
    int64_t n_approved; /* of which approved on the date */
    struct srv_report_tier *tiers;
    size_t n_tiers;
    struct srv_report_locality *localities;
    size_t n_localities;
    struct srv_report_criteria *criteria;
    size_t n_criteria;
    struct srv_report_miss *misses;
    size_t n_misses;
    struct srv_report_unit *excluded; /* not taking part in the programme */
    size_t n_excluded;
};

struct srv_storage;

/*
 * Compute the report of unit (NULL: the top of the unit tree on the date)
 * as of as_of (YYYY-MM-DD; versions the server received by the end of that
 * day, in its local time, count). *out is freed with srv_report_free().
 * FLD_NOTFOUND for a unit not valid on the date.
 */
int srv_report_build(struct srv_storage *st, const char *unit,
                     const char *as_of, struct srv_report **out,
                     struct fld_err *err);
void srv_report_free(struct srv_report *r);

/* Today in the server's local time, YYYY-MM-DD: a report's default date. */
void srv_report_today(char out[11]);

/* "met", "not met", "unknown", "not assessed" (or in Vietnamese). */
const char *srv_tier_state_name(enum srv_tier_state s, enum fld_lang lang);

/*
 * A share as people in the province write it (field/numbers.h: "79,7%" in
 * Vietnamese, "79.7%" in English), rounded half up to one decimal from
 * integers, never through floating point, so that every format agrees to
 * the digit. A total of 0 gives "–".
 */
void srv_format_share(struct srv_ratio r, enum fld_lang lang,
                      struct fld_buf *out);
/* The share in tenths of a percent (797 for 1205/1512); -1 when total 0. */
int64_t srv_share_tenths(struct srv_ratio r);

/* The report as one JSON document (docs/REPORTS.md). */
struct fld_json *srv_report_json(const struct srv_report *r);
/* Aligned text for a terminal. */
void srv_report_write_text(const struct srv_report *r, enum fld_lang lang,
                           FILE *out);
/* CSV (RFC 4180): one table, its first column says which part a row is. */
void srv_report_write_csv(const struct srv_report *r, enum fld_lang lang,
                          struct fld_buf *out);
/*
 * An XLSX workbook at path (created; refused if it exists): a sheet each
 * for the summary, the localities, the criteria and the units that miss a
 * tier, with labels in lang. FLD_EIO when it cannot be written.
 */
int srv_report_write_xlsx(const struct srv_report *r, enum fld_lang lang,
                          const char *path, struct fld_err *err);

#endif
