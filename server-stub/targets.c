/*
 * targets.c - reading the province's targets from CSV (see targets.h).
 *
 * Where it sits. `field-server targets import` (cmd_targets.c) reads a
 * file, opens a transaction and hands the bytes here; the rows end in the
 * targets table (storage.h), which the progress report reads to say
 * "69 of at least 75". As with units (field/units.c), every row is checked
 * before the first is stored, so a bad line leaves the targets as they
 * were, and the error names it.
 */
#include "targets.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "csv_read.h"
#include "date.h"
#include "norm.h"

enum { C_UNIT, C_TIER, C_COUNT, C_FROM, C_DUE, C_SOURCE, N_COLS };

static const struct fld_csv_column columns[N_COLS] = {
    {"unit", true}, {"tier", true}, {"count", true},
    {"from", true}, {"due", true},  {"source", true}};

#define MAX_COUNT 1000000000
#define MAX_SOURCE 1000

static bool is_tier(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-') ||
            i >= 64)
            return false;
    return i > 0;
}

/* A whole number written plainly: digits only, no sign, no spaces. */
static bool parse_count(const char *s, int64_t *out)
{
    int64_t n = 0;
    size_t i;

    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 10)
            return false;
        n = n * 10 + (s[i] - '0');
    }
    *out = n;
    return i > 0 && n <= MAX_COUNT;
}

static bool is_nfc_text(const char *s)
{
    char *norm = NULL;
    bool ok = fld_norm_text(s, &norm, NULL) == FLD_OK && strcmp(norm, s) == 0;

    free(norm);
    return ok;
}

/* Check row i of t into g (strings borrowed from t). */
static int check_row(struct srv_storage *st, const struct fld_csv_table *t,
                     size_t i, struct srv_target *g, struct fld_err *err)
{
    size_t line = t->line[i];
    const char *count = fld_csv_cell(t, i, C_COUNT);
    int64_t from, due;
    bool known = false;
    int rc;

    g->unit = fld_csv_cell(t, i, C_UNIT);
    g->tier = fld_csv_cell(t, i, C_TIER);
    g->from = fld_csv_cell(t, i, C_FROM);
    g->due = fld_csv_cell(t, i, C_DUE);
    g->source = fld_csv_cell(t, i, C_SOURCE);
    if (strlen(g->unit) > 64 || g->unit[0] == '\0')
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: unit \"%.64s\" is not "
                           "a unit code",
                           line, g->unit);
    if ((rc = srv_storage_unit_exists(st, g->unit, &known, err)) != FLD_OK)
        return rc;
    if (!known)
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: unit %s is not loaded (field-server "
                           "units import)",
                           line, g->unit);
    if (!is_tier(g->tier))
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: tier \"%.64s\" is not a tier code "
                           "(a-z, 0-9 and -, at most 64)",
                           line, g->tier);
    if (!parse_count(count, &g->count))
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: count \"%.16s\" is not a whole number "
                           "from 0 to %d",
                           line, count, MAX_COUNT);
    if (!fld_date_parse(g->from, &from))
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: from \"%.32s\" is not a YYYY-MM-DD date",
                           line, g->from);
    if (g->due[0] == '\0')
        g->due = NULL;
    else if (!fld_date_parse(g->due, &due) || due < from)
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: due \"%.32s\" is not a date on or after "
                           "from",
                           line, g->due);
    if (strlen(g->source) > MAX_SOURCE || !is_nfc_text(g->source))
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: source must be NFC text of at most %d "
                           "bytes, without surrounding spaces",
                           line, MAX_SOURCE);
    if (g->source[0] == '\0')
        g->source = NULL;
    return FLD_OK;
}

struct row {
    const struct srv_target *g;
    size_t line;
};

static int by_key_line(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c = strcmp(x->g->unit, y->g->unit);

    if (c == 0)
        c = strcmp(x->g->tier, y->g->tier);
    if (c == 0)
        c = strcmp(x->g->from, y->g->from);
    if (c == 0)
        c = x->line < y->line ? -1 : x->line > y->line;
    return c;
}

/* The same unit, tier and from twice in the file: which one is meant?
 * Sorted by those and the line, the two are neighbours; the message names
 * the earliest line that repeats another. */
static int check_twice(const struct fld_csv_table *t,
                       const struct srv_target *g, struct fld_err *err)
{
    struct row *r = fld_xcalloc(t->n_rows ? t->n_rows : 1, sizeof *r);
    size_t i, at = 0;
    int rc = FLD_OK;

    for (i = 0; i < t->n_rows; i++) {
        r[i].g = &g[i];
        r[i].line = t->line[i];
    }
    qsort(r, t->n_rows, sizeof *r, by_key_line);
    for (i = 1; i < t->n_rows; i++) {
        struct row a = r[i - 1];

        a.line = r[i].line; /* compare the keys alone */
        if (by_key_line(&a, &r[i]) == 0 && (at == 0 || r[i].line < r[at].line))
            at = i;
    }
    if (at > 0)
        rc = fld_err_set(err, FLD_EINVAL,
                         "line %zu: unit %s, tier %s from %s is already on "
                         "line %zu",
                         r[at].line, r[at].g->unit, r[at].g->tier,
                         r[at].g->from, r[at - 1].line);
    free(r);
    return rc;
}

int srv_targets_import(struct srv_storage *st, const uint8_t *csv, size_t len,
                       int64_t loaded_ms, size_t *n_targets,
                       struct fld_err *err)
{
    struct fld_csv_table t;
    struct srv_target *g = NULL;
    size_t i;
    int rc;

    *n_targets = 0;
    if (len > SRV_TARGETS_MAX_BYTES)
        return fld_err_set(err, FLD_ELIMIT, "targets file larger than %d bytes",
                           SRV_TARGETS_MAX_BYTES);
    rc = fld_csv_read(csv, len, "targets file", columns, N_COLS, &t, err);
    if (rc != FLD_OK)
        return rc;
    g = fld_xcalloc(t.n_rows ? t.n_rows : 1, sizeof *g);
    for (i = 0; i < t.n_rows && rc == FLD_OK; i++) {
        rc = check_row(st, &t, i, &g[i], err);
        g[i].loaded_ms = loaded_ms;
    }
    if (rc == FLD_OK)
        rc = check_twice(&t, g, err);
    for (i = 0; i < t.n_rows && rc == FLD_OK; i++)
        rc = srv_storage_target_put(st, &g[i], err);
    if (rc == FLD_OK)
        *n_targets = t.n_rows;
    free(g);
    fld_csv_table_free(&t);
    return rc;
}
