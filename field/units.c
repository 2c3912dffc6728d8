/*
 * units.c - importing administrative units from CSV (see units.h).
 *
 * Where it sits. `field units import` (through fld_units_import) and
 * `field-server units import` (through fld_units_read and its own storage)
 * hand a file here; what comes out is a list of unit versions to store, or
 * one "line N: ..." message and nothing stored. The reports that count
 * units "as of" a date rely on what is checked here: that on any day a
 * code names at most one version, that a unit's parent exists on every
 * day the unit does, and that a walk up the tree ends.
 *
 * How. The file is read whole (field/csv_read.c) and each row checked on
 * its own; then the versions already stored are read, and the file's rows
 * and the stored versions they do not replace are sorted together by code
 * and start. Every check across rows then reads that one sorted list:
 * overlapping versions of a code are neighbours, and the versions of a
 * parent are found by binary search. Only what the file brings is
 * judged: a stored version is checked only when the file changes a unit
 * it depends on, so that old data (the server's migrated units, which
 * were never checked) does not block an unrelated import. A province is a
 * few thousand units, all in memory at once.
 */
#include "units.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "csv_read.h"
#include "date.h"
#include "norm.h"

enum {
    C_CODE,
    C_NAME,
    C_KIND,
    C_PARENT,
    C_FROM,
    C_TO,
    C_IN_PROGRAMME,
    C_MERGED_INTO,
    N_COLS
};

static const struct fld_csv_column columns[N_COLS] = {
    {"code", true},          {"name", true},        {"kind", true},
    {"parent_code", true},   {"valid_from", true},  {"valid_to", true},
    {"in_programme", false}, {"merged_into", false}};

/* An empty valid_from: the unit existed before any date we know of. */
#define SINCE_EVER "0000-01-01"
#define MAX_FIELD 256
/* The day number of a valid_to that is not set: still valid. */
#define OPEN INT64_MAX

/* One version of a unit, from the file (line > 0) or the store (line 0).
 * A file row's strings point into the table; a stored one's are copies. */
struct uv {
    char *code, *name, *kind, *parent, *from_s, *to_s, *merged_into;
    bool in_programme;
    bool is_dropped; /* stored, and replaced by the file */
    int64_t from, to;
    size_t line;
};

struct units {
    struct fld_csv_table t;
    struct uv *v; /* the file's rows, then the stored versions */
    size_t n, n_file;
    struct uv **sorted; /* the versions not dropped, by code then from */
    size_t n_sorted;
};

/* ---- one row -------------------------------------------------------------
 */

static bool is_kind(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_') || i >= 32)
            return false;
    return i > 0;
}

static bool is_unit_code(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == ',' || i >= 64)
            return false;
    return i > 0;
}

static int check_name(const struct uv *r, struct fld_err *err)
{
    char *name = NULL;
    bool ok = fld_norm_text(r->name, &name, NULL) == FLD_OK &&
              name[0] != '\0' && strcmp(name, r->name) == 0;

    free(name);
    if (!ok)
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: name must be non-empty NFC text without "
                           "surrounding spaces",
                           r->line);
    return FLD_OK;
}

static int check_dates(struct uv *r, struct fld_err *err)
{
    if (r->from_s[0] == '\0')
        r->from_s = (char *)SINCE_EVER;
    if (!fld_date_parse(r->from_s, &r->from))
        return fld_err_set(
            err, FLD_EINVAL,
            "line %zu: valid_from \"%s\" is not a YYYY-MM-DD date", r->line,
            r->from_s);
    r->to = OPEN;
    if (r->to_s[0] == '\0') {
        r->to_s = NULL;
        return FLD_OK;
    }
    if (!fld_date_parse(r->to_s, &r->to) || r->to < r->from)
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: valid_to \"%s\" is not a date on or "
                           "after valid_from",
                           r->line, r->to_s);
    return FLD_OK;
}

static int check_programme(struct uv *r, const char *s, struct fld_err *err)
{
    r->in_programme = strcmp(s, "no") != 0;
    if (s[0] != '\0' && strcmp(s, "yes") != 0 && strcmp(s, "no") != 0)
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: in_programme \"%s\" is not yes or no",
                           r->line, s);
    return FLD_OK;
}

/* A field of the table, writable: the table's text is the units'. */
static char *cell(const struct fld_csv_table *t, size_t row, size_t col)
{
    return t->cell[row * t->n_cols + col];
}

/* Row i of the table into r, and what can be checked on the row alone. */
static int check_row(const struct fld_csv_table *t, size_t i, struct uv *r,
                     struct fld_err *err)
{
    size_t c;
    int rc;

    r->line = t->line[i];
    for (c = 0; c < N_COLS; c++)
        if (strlen(cell(t, i, c)) > MAX_FIELD)
            return fld_err_set(err, FLD_EINVAL, "line %zu: %s is too long",
                               r->line, columns[c].name);
    r->code = cell(t, i, C_CODE);
    r->name = cell(t, i, C_NAME);
    r->kind = cell(t, i, C_KIND);
    r->parent = cell(t, i, C_PARENT);
    r->from_s = cell(t, i, C_FROM);
    r->to_s = cell(t, i, C_TO);
    r->merged_into = cell(t, i, C_MERGED_INTO);
    if (!is_unit_code(r->code))
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: code \"%s\" is not a unit code", r->line,
                           r->code);
    if ((rc = check_name(r, err)) != FLD_OK)
        return rc;
    if (!is_kind(r->kind))
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: kind \"%s\" is not a lowercase name",
                           r->line, r->kind);
    if (r->parent[0] && !is_unit_code(r->parent))
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: parent_code \"%s\" is not a unit code",
                           r->line, r->parent);
    if ((rc = check_dates(r, err)) != FLD_OK)
        return rc;
    if ((rc = check_programme(r, cell(t, i, C_IN_PROGRAMME), err)))
        return rc;
    if (r->merged_into[0] && !is_unit_code(r->merged_into))
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: merged_into \"%s\" is not a unit code",
                           r->line, r->merged_into);
    if (r->merged_into[0] && r->to_s == NULL)
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: merged_into needs a valid_to, the last "
                           "day before the merger",
                           r->line);
    if (r->parent[0] == '\0')
        r->parent = NULL;
    if (r->merged_into[0] == '\0')
        r->merged_into = NULL;
    return FLD_OK;
}

static int read_file(struct units *u, const uint8_t *csv, size_t len,
                     struct fld_err *err)
{
    size_t i;
    int rc;

    if (len > FLD_UNITS_MAX_BYTES)
        return fld_err_set(err, FLD_ELIMIT, "units file larger than %d bytes",
                           FLD_UNITS_MAX_BYTES);
    rc = fld_csv_read(csv, len, "units file", columns, N_COLS, &u->t, err);
    if (rc != FLD_OK)
        return rc;
    u->v = fld_xcalloc(u->t.n_rows ? u->t.n_rows : 1, sizeof *u->v);
    for (i = 0; i < u->t.n_rows; i++) {
        if ((rc = check_row(&u->t, i, &u->v[i], err)) != FLD_OK)
            return rc;
        u->n = u->n_file = i + 1;
    }
    return FLD_OK;
}

/* ---- what is stored -------------------------------------------------------
 */

static char *dup_or_null(const char *s)
{
    return s ? fld_xstrdup(s) : NULL;
}

static int collect_stored(void *ctx, const struct fld_unit *s)
{
    struct units *u = ctx;
    struct uv *r;

    u->v = fld_xreallocarray(u->v, u->n + 1, sizeof *u->v);
    r = &u->v[u->n++];
    memset(r, 0, sizeof *r);
    r->code = fld_xstrdup(s->code);
    r->name = fld_xstrdup(s->name);
    r->kind = fld_xstrdup(s->kind);
    r->parent = dup_or_null(s->parent_code);
    r->from_s = fld_xstrdup(s->valid_from);
    r->to_s = dup_or_null(s->valid_to);
    r->merged_into = dup_or_null(s->merged_into);
    r->in_programme = s->in_programme;
    r->to = OPEN;
    /* A stored date we cannot read is taken as open: the store made it,
     * and `field verify` is where damage is reported. */
    if (!fld_date_parse(r->from_s, &r->from))
        r->from = FLD_DATE_DAY_MIN;
    if (r->to_s && !fld_date_parse(r->to_s, &r->to))
        r->to = OPEN;
    return FLD_OK;
}

static void free_stored(struct units *u)
{
    size_t i;

    for (i = u->n_file; i < u->n; i++) {
        struct uv *r = &u->v[i];

        free(r->code);
        free(r->name);
        free(r->kind);
        free(r->parent);
        free(r->from_s);
        free(r->to_s);
        free(r->merged_into);
    }
}

static int by_code_from(const void *a, const void *b)
{
    const struct uv *x = *(struct uv *const *)a, *y = *(struct uv *const *)b;
    int c = strcmp(x->code, y->code);

    if (c != 0)
        return c;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    /* the file's rows before the stored, then in file order */
    return x->line == y->line  ? 0
           : x->line == 0      ? 1
           : y->line == 0      ? -1
           : x->line < y->line ? -1
                               : 1;
}

/* Index u->sorted: versions [*first, end) are those of code. */
static size_t range_of(const struct units *u, const char *code, size_t *end)
{
    size_t lo = 0, hi = u->n_sorted, first;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(u->sorted[mid]->code, code) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    first = lo;
    while (hi < u->n_sorted && strcmp(u->sorted[hi]->code, code) == 0)
        hi++;
    *end = hi;
    return first;
}

/* The first line of the file that gives code, or 0. */
static size_t line_of(const struct units *u, const char *code)
{
    size_t i, end, line = 0;

    for (i = range_of(u, code, &end); i < end; i++)
        if (u->sorted[i]->line && (line == 0 || u->sorted[i]->line < line))
            line = u->sorted[i]->line;
    return line;
}

/* Stored versions the file replaces: the same code and valid_from, or the
 * one undated version of a code the file gives with dates. Then sort. */
static void merge_stored(struct units *u)
{
    size_t i, j, end;

    u->sorted = fld_xcalloc(u->n ? u->n : 1, sizeof *u->sorted);
    for (i = 0; i < u->n_file; i++)
        u->sorted[u->n_sorted++] = &u->v[i];
    qsort(u->sorted, u->n_sorted, sizeof *u->sorted, by_code_from);
    for (i = u->n_file; i < u->n; i++) {
        struct uv *s = &u->v[i];
        bool undated = s->from == FLD_DATE_DAY_MIN && s->to == OPEN;

        for (j = range_of(u, s->code, &end); j < end; j++)
            if (undated || u->sorted[j]->from == s->from)
                s->is_dropped = true;
    }
    for (i = u->n_file; i < u->n; i++)
        if (!u->v[i].is_dropped)
            u->sorted[u->n_sorted++] = &u->v[i];
    qsort(u->sorted, u->n_sorted, sizeof *u->sorted, by_code_from);
}

/* ---- checks across rows ----------------------------------------------------
 */

/* "from A to B", or "from A on" while valid, into out. */
static const char *period(const struct uv *r, char out[48])
{
    if (r->to_s)
        snprintf(out, 48, "from %s to %s", r->from_s, r->to_s);
    else
        snprintf(out, 48, "from %s on", r->from_s);
    return out;
}

static int overlap_error(const struct uv *a, const struct uv *b,
                         struct fld_err *err)
{
    char pa[48], pb[48];

    if (b->line == 0 || (a->line && a->line > b->line)) {
        const struct uv *x = a;

        a = b;
        b = x;
    }
    if (a->line == 0)
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: code %s %s overlaps its stored version "
                           "%s",
                           b->line, b->code, period(b, pb), period(a, pa));
    return fld_err_set(err, FLD_EINVAL,
                       "line %zu: code %s %s overlaps line %zu (%s): a code "
                       "may come again only for another period",
                       b->line, b->code, period(b, pb), a->line, period(a, pa));
}

/* Two versions of a code must not share a day: one that never ends cannot
 * be followed, and two that do cannot be told apart. Sorted by start, a
 * version overlaps an earlier one exactly when it starts before the
 * latest end so far (reach). */
static int check_overlaps(const struct units *u, struct fld_err *err)
{
    const struct uv *reach = NULL;
    size_t i;

    for (i = 0; i < u->n_sorted; i++) {
        const struct uv *b = u->sorted[i];

        if (reach == NULL || strcmp(reach->code, b->code) != 0) {
            reach = b;
            continue;
        }
        /* both stored: not this file's doing */
        if (reach->to >= b->from && (reach->line || b->line))
            return overlap_error(reach, b, err);
        if (b->to > reach->to)
            reach = b;
    }
    return FLD_OK;
}

/*
 * Whether the versions of code cover every day of [a, b]; *gap gets the
 * first day they miss. The versions are sorted and (file or not) do not
 * overlap once check_overlaps() has passed.
 */
static bool covers(const struct units *u, const char *code, int64_t a,
                   int64_t b, int64_t *gap)
{
    size_t i, end;
    int64_t day = a;

    for (i = range_of(u, code, &end); i < end; i++) {
        const struct uv *v = u->sorted[i];

        if (v->to < day)
            continue;
        if (v->from > day)
            break;
        if (v->to == OPEN || v->to >= b)
            return true;
        day = v->to + 1;
    }
    *gap = day;
    return false;
}

/* The first day r needs its parent on: its own start, or the parent's
 * first day when r's start is not known (an unknown date contradicts
 * nothing), never after r's end. */
static int64_t first_needed(const struct units *u, const struct uv *r)
{
    size_t end, i = range_of(u, r->parent, &end);
    int64_t a = r->from;

    if (r->from == FLD_DATE_DAY_MIN && i < end && u->sorted[i]->from > a)
        a = u->sorted[i]->from;
    return a > r->to ? r->to : a;
}

static int check_parent(const struct units *u, const struct uv *r,
                        struct fld_err *err)
{
    char day[11], pr[48];
    size_t end;
    int64_t gap;

    if (range_of(u, r->parent, &end) == end) {
        if (r->line == 0)
            return FLD_OK; /* stored, and not the file's doing */
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: parent_code %s is neither in the file "
                           "nor loaded",
                           r->line, r->parent);
    }
    if (covers(u, r->parent, first_needed(u, r), r->to, &gap))
        return FLD_OK;
    fld_date_format(gap, day);
    if (r->line)
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: parent_code %s is not valid on %s, "
                           "within the unit's period (%s)",
                           r->line, r->parent, day, period(r, pr));
    return fld_err_set(err, FLD_EINVAL,
                       "line %zu: unit %s would not be valid on %s, when the "
                       "stored unit %s (%s) lies under it",
                       line_of(u, r->parent), r->parent, day, r->code,
                       period(r, pr));
}

/* A unit that ended in a merger: the unit it became part of is valid the
 * day after. */
static int check_merge(const struct units *u, const struct uv *r,
                       struct fld_err *err)
{
    char day[11];
    size_t end;
    int64_t gap;

    if (range_of(u, r->merged_into, &end) == end) {
        if (r->line == 0)
            return FLD_OK;
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: merged_into %s is neither in the file "
                           "nor loaded",
                           r->line, r->merged_into);
    }
    if (r->to == OPEN || covers(u, r->merged_into, r->to + 1, r->to + 1, &gap))
        return FLD_OK;
    fld_date_format(r->to + 1, day);
    if (r->line)
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: merged_into %s is not valid on %s, the "
                           "day after valid_to",
                           r->line, r->merged_into, day);
    return fld_err_set(err, FLD_EINVAL,
                       "line %zu: unit %s would not be valid on %s, the day "
                       "the stored unit %s merged into it",
                       line_of(u, r->merged_into), r->merged_into, day,
                       r->code);
}

/* Every version the file brings, and every stored one that depends on a
 * unit the file changes, has its parent and its merger on its days. */
static int check_links(const struct units *u, struct fld_err *err)
{
    size_t i;
    int rc;

    for (i = 0; i < u->n_sorted; i++) {
        const struct uv *r = u->sorted[i];

        if (r->parent && (r->line || line_of(u, r->parent)))
            if ((rc = check_parent(u, r, err)) != FLD_OK)
                return rc;
        if (r->merged_into && (r->line || line_of(u, r->merged_into)))
            if ((rc = check_merge(u, r, err)) != FLD_OK)
                return rc;
    }
    return FLD_OK;
}

/* ---- cycles ----------------------------------------------------------------
 *
 * The tree by code, all dates together: a code's parents are the parents
 * of all its versions. Scope walks go up and down it without dates, so it
 * must have no cycle on any day, nor across days.
 */

struct walk_up {
    const struct units *u;
    size_t *queue;  /* indexes into u->sorted of a code's first version */
    size_t *came;   /* came[i]: the version the walk reached i from */
    unsigned *seen; /* seen[i] == mark: reached in this walk */
    unsigned mark;
};

/* The message for a cycle through r: "A → B → ... → A", from the version
 * of r's code that the walk reached (target) back to r's parent. */
static int cycle_error(const struct walk_up *w, const struct uv *r,
                       size_t target, struct fld_err *err)
{
    struct fld_buf path = FLD_BUF_INIT;
    size_t *chain = fld_xcalloc(w->u->n_sorted, sizeof *chain);
    size_t i = target, n = 0;
    int rc;

    for (;;) {
        chain[n++] = i;
        if (w->came[i] == i || n == w->u->n_sorted)
            break;
        i = w->came[i];
    }
    fld_buf_puts(&path, r->code);
    while (n > 0)
        fld_buf_printf(&path, " → %s", w->u->sorted[chain[--n]]->code);
    rc = fld_err_set(err, FLD_EINVAL, "line %zu: parent_code cycle: %s",
                     r->line, fld_buf_str(&path));
    fld_buf_free(&path);
    free(chain);
    return rc;
}

/* Walk up from r's parent, breadth first, each code once: reaching r's
 * code again is a cycle. A walk sees only r's ancestors, a few levels. */
static int walk_from(struct walk_up *w, const struct uv *r, struct fld_err *err)
{
    const struct units *u = w->u;
    size_t head = 0, tail = 0, end, i, j;

    if (++w->mark == 0)
        w->mark = 1;
    i = range_of(u, r->parent, &end);
    if (i == end)
        return FLD_OK;
    w->seen[i] = w->mark;
    w->came[i] = i;
    w->queue[tail++] = i;
    while (head < tail) {
        size_t at = w->queue[head++], stop;

        if (strcmp(u->sorted[at]->code, r->code) == 0)
            return cycle_error(w, r, at, err);
        range_of(u, u->sorted[at]->code, &stop);
        for (j = at; j < stop; j++) {
            const char *p = u->sorted[j]->parent;

            if (p == NULL)
                continue;
            i = range_of(u, p, &end);
            if (i == end || w->seen[i] == w->mark)
                continue;
            w->seen[i] = w->mark;
            w->came[i] = at;
            w->queue[tail++] = i;
        }
    }
    return FLD_OK;
}

static int check_cycles(const struct units *u, struct fld_err *err)
{
    struct walk_up w;
    size_t i, n = u->n_sorted ? u->n_sorted : 1;
    int rc = FLD_OK;

    w.u = u;
    w.queue = fld_xcalloc(n, sizeof *w.queue);
    w.came = fld_xcalloc(n, sizeof *w.came);
    w.seen = fld_xcalloc(n, sizeof *w.seen);
    w.mark = 0;
    for (i = 0; i < u->n_file && rc == FLD_OK; i++)
        if (u->v[i].parent)
            rc = walk_from(&w, &u->v[i], err);
    free(w.queue);
    free(w.came);
    free(w.seen);
    return rc;
}

/* ---- reading ---------------------------------------------------------------
 */

static int store_all(const struct units *u, const struct fld_units_dest *dest,
                     struct fld_err *err)
{
    size_t i;
    int rc = FLD_OK;

    for (i = u->n_file; i < u->n && rc == FLD_OK; i++)
        if (u->v[i].is_dropped && dest->drop)
            rc = dest->drop(dest->ctx, u->v[i].code, u->v[i].from_s, err);
    for (i = 0; i < u->n_file && rc == FLD_OK; i++) {
        const struct uv *r = &u->v[i];
        struct fld_unit x = {r->code,         r->name,       r->kind,
                             r->parent,       r->from_s,     r->to_s,
                             r->in_programme, r->merged_into};

        rc = dest->put(dest->ctx, &x);
    }
    return rc;
}

int fld_units_read(const uint8_t *csv, size_t len,
                   const struct fld_units_dest *dest, size_t *n_units,
                   struct fld_err *err)
{
    struct units u;
    int rc;

    memset(&u, 0, sizeof u);
    *n_units = 0;
    rc = read_file(&u, csv, len, err);
    if (rc == FLD_OK && dest->each_stored)
        rc = dest->each_stored(dest->ctx, collect_stored, &u, err);
    if (rc == FLD_OK) {
        merge_stored(&u);
        rc = check_overlaps(&u, err);
    }
    if (rc == FLD_OK)
        rc = check_links(&u, err);
    if (rc == FLD_OK)
        rc = check_cycles(&u, err);
    if (rc == FLD_OK)
        rc = store_all(&u, dest, err);
    if (rc == FLD_OK)
        *n_units = u.n_file;
    free_stored(&u);
    free(u.sorted);
    free(u.v);
    fld_csv_table_free(&u.t);
    return rc;
}

/* ---- the device store -----------------------------------------------------
 */

struct import {
    struct fld_store *st;
    struct fld_err *err;
};

static int each_stored(void *ctx, fld_unit_fn fn, void *fn_ctx,
                       struct fld_err *err)
{
    struct import *im = ctx;

    return fld_store_each_unit(im->st, fn, fn_ctx, err);
}

static int drop(void *ctx, const char *code, const char *valid_from,
                struct fld_err *err)
{
    struct import *im = ctx;

    return fld_store_unit_drop(im->st, code, valid_from, err);
}

static int put(void *ctx, const struct fld_unit *u)
{
    struct import *im = ctx;

    return fld_store_unit_put(im->st, u, im->err);
}

int fld_units_import(struct fld_store *st, const uint8_t *csv, size_t len,
                     size_t *n_units, struct fld_err *err)
{
    struct import im = {st, err};
    struct fld_units_dest dest = {each_stored, drop, put, &im};
    int rc = fld_store_begin(st, err);

    *n_units = 0;
    if (rc != FLD_OK)
        return rc;
    rc = fld_units_read(csv, len, &dest, n_units, err);
    if (rc == FLD_OK)
        return fld_store_commit(st, err);
    fld_store_rollback(st);
    *n_units = 0;
    return rc;
}
