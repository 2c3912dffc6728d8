/*
 * units.c - importing administrative units from CSV (see units.h).
 *
 * Parsing and checking happen first, into an array of rows that borrow
 * from one copy of the file; only a file with no bad line reaches the
 * store, in one transaction.
 */
#include "units.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "norm.h"
#include "utf8.h"

#define N_FIELDS 6
/* An empty valid_from: the unit existed before any date we know of. */
#define SINCE_EVER "0000-01-01"
#define MAX_FIELD 256

struct row {
    char *f[N_FIELDS]; /* code, name, kind, parent_code, valid_from, valid_to */
    size_t line;
};

struct parsed {
    struct row *rows;
    size_t n;
    char *text; /* the fields, NUL-separated, owned */
};

/* Split one CSV record starting at *pos into fields (RFC 4180). Quoted
 * fields may hold commas, doubled quotes and line breaks. */
static int split_record(char *buf, size_t len, size_t *pos, char **fields,
                        size_t *n_fields, size_t *line, struct fld_err *err)
{
    size_t i = *pos, out = *pos, n = 0;
    size_t start_line = *line;

    fields[n++] = buf + out;
    while (i < len) {
        char c = buf[i];

        if (c == '"' && buf + out == fields[n - 1]) { /* a quoted field */
            i++;
            for (;;) {
                if (i >= len)
                    return fld_err_set(err, FLD_EINVAL,
                                       "line %zu: unterminated quoted field",
                                       start_line);
                if (buf[i] == '"' && i + 1 < len && buf[i + 1] == '"') {
                    buf[out++] = '"';
                    i += 2;
                } else if (buf[i] == '"') {
                    i++;
                    break;
                } else {
                    if (buf[i] == '\n')
                        (*line)++;
                    buf[out++] = buf[i++];
                }
            }
            continue;
        }
        if (c == ',' || c == '\n' || c == '\r') {
            buf[out++] = '\0';
            i++;
            if (c == '\r' && i < len && buf[i] == '\n')
                i++;
            if (c != ',')
                break;
            if (n == N_FIELDS + 1)
                return fld_err_set(err, FLD_EINVAL,
                                   "line %zu: more than %d fields", start_line,
                                   N_FIELDS);
            fields[n++] = buf + out;
            continue;
        }
        buf[out++] = buf[i++];
    }
    if (i >= len)
        buf[out] = '\0';
    (*line)++;
    *pos = i;
    *n_fields = n;
    return FLD_OK;
}

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

/* A date field exactly as stored: YYYY-MM-DD and a real day. */
static bool is_date(const char *s)
{
    char *norm = NULL;
    bool ok = strlen(s) == 10 && fld_norm_date(s, &norm, NULL) == FLD_OK &&
              strcmp(norm, s) == 0;

    free(norm);
    return ok;
}

static int check_row(struct row *r, struct fld_err *err)
{
    const char *const names[N_FIELDS] = {
        "code", "name", "kind", "parent_code", "valid_from", "valid_to"};
    char *name = NULL;
    size_t i;

    for (i = 0; i < N_FIELDS; i++)
        if (strlen(r->f[i]) > MAX_FIELD)
            return fld_err_set(err, FLD_EINVAL, "line %zu: %s is too long",
                               r->line, names[i]);
    if (!is_unit_code(r->f[0]))
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: code \"%s\" is not a unit code", r->line,
                           r->f[0]);
    if (fld_norm_text(r->f[1], &name, NULL) != FLD_OK || name[0] == '\0' ||
        strcmp(name, r->f[1]) != 0) {
        free(name);
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: name must be non-empty NFC text without "
                           "surrounding spaces",
                           r->line);
    }
    free(name);
    if (!is_kind(r->f[2]))
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: kind \"%s\" is not a lowercase name",
                           r->line, r->f[2]);
    if (r->f[3][0] && !is_unit_code(r->f[3]))
        return fld_err_set(err, FLD_EINVAL,
                           "line %zu: parent_code \"%s\" is not a unit code",
                           r->line, r->f[3]);
    if (r->f[4][0] == '\0')
        r->f[4] = (char *)SINCE_EVER;
    else if (!is_date(r->f[4]))
        return fld_err_set(
            err, FLD_EINVAL,
            "line %zu: valid_from \"%s\" is not a YYYY-MM-DD date", r->line,
            r->f[4]);
    if (r->f[5][0] && (!is_date(r->f[5]) || strcmp(r->f[5], r->f[4]) < 0))
        return fld_err_set(
            err, FLD_EINVAL,
            "line %zu: valid_to \"%s\" is not a date on or after "
            "valid_from",
            r->line, r->f[5]);
    return FLD_OK;
}

static int parse(const uint8_t *csv, size_t len, struct parsed *p,
                 struct fld_err *err)
{
    static const char header[] =
        "code,name,kind,parent_code,valid_from,valid_to";
    char *fields[N_FIELDS + 1];
    size_t pos = 0, n, line = 1;
    int rc;

    if (len > FLD_UNITS_MAX_BYTES)
        return fld_err_set(err, FLD_ELIMIT, "units file larger than %d bytes",
                           FLD_UNITS_MAX_BYTES);
    if (!fld_utf8_valid(csv, len))
        return fld_err_set(err, FLD_EINVAL, "units file is not valid UTF-8");
    p->text = fld_xstrndup((const char *)csv, len);
    if (len >= 3 && memcmp(csv, "\xef\xbb\xbf", 3) == 0)
        pos = 3; /* a byte-order mark, as spreadsheets write */
    if (strncmp(p->text + pos, header, sizeof header - 1) != 0)
        return fld_err_set(err, FLD_EINVAL, "line 1: expected the header %s",
                           header);
    if ((rc = split_record(p->text, len, &pos, fields, &n, &line, err)))
        return rc;
    while (pos < len) {
        struct row *r;
        size_t at = line;

        if ((rc = split_record(p->text, len, &pos, fields, &n, &line, err)))
            return rc;
        if (n == 1 && fields[0][0] == '\0')
            continue; /* an empty line */
        if (n != N_FIELDS)
            return fld_err_set(err, FLD_EINVAL,
                               "line %zu: expected %d fields, got %zu", at,
                               N_FIELDS, n);
        p->rows = fld_xreallocarray(p->rows, p->n + 1, sizeof *p->rows);
        r = &p->rows[p->n++];
        memcpy(r->f, fields, sizeof r->f);
        r->line = at;
        if ((rc = check_row(r, err)))
            return rc;
    }
    return FLD_OK;
}

/* Every parent is in the file, or known to the caller. */
static int check_parents(const struct parsed *p, fld_unit_known_fn known,
                         void *ctx, struct fld_err *err)
{
    size_t i, j;

    for (i = 0; i < p->n; i++) {
        const char *parent = p->rows[i].f[3];

        if (parent[0] == '\0')
            continue;
        for (j = 0; j < p->n; j++)
            if (strcmp(p->rows[j].f[0], parent) == 0)
                break;
        if (j == p->n && (known == NULL || !known(ctx, parent)))
            return fld_err_set(
                err, FLD_EINVAL,
                "line %zu: parent_code %s is neither in the file "
                "nor loaded",
                p->rows[i].line, parent);
    }
    return FLD_OK;
}

static int each_row(const struct parsed *p, fld_unit_fn fn, void *ctx)
{
    size_t i;
    int rc = FLD_OK;

    for (i = 0; rc == FLD_OK && i < p->n; i++) {
        const struct row *r = &p->rows[i];
        struct fld_unit u = {r->f[0], r->f[1],
                             r->f[2], r->f[3][0] ? r->f[3] : NULL,
                             r->f[4], r->f[5][0] ? r->f[5] : NULL};

        rc = fn(ctx, &u);
    }
    return rc;
}

int fld_units_read(const uint8_t *csv, size_t len, fld_unit_known_fn known,
                   fld_unit_fn fn, void *ctx, size_t *n_units,
                   struct fld_err *err)
{
    struct parsed p = {NULL, 0, NULL};
    int rc = parse(csv, len, &p, err);

    *n_units = 0;
    if (rc == FLD_OK)
        rc = check_parents(&p, known, ctx, err);
    if (rc == FLD_OK)
        rc = each_row(&p, fn, ctx);
    if (rc == FLD_OK)
        *n_units = p.n;
    free(p.rows);
    free(p.text);
    return rc;
}

/* The device store: a parent may be any unit loaded before, at any date. */
struct import {
    struct fld_store *st;
    struct fld_err *err;
};

static bool in_store(void *ctx, const char *code)
{
    struct import *im = ctx;
    bool exists = false;

    return fld_store_unit_exists(im->st, code, &exists, NULL) == FLD_OK &&
           exists;
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
    int rc = fld_store_begin(st, err);

    *n_units = 0;
    if (rc != FLD_OK)
        return rc;
    rc = fld_units_read(csv, len, in_store, put, &im, n_units, err);
    if (rc == FLD_OK)
        return fld_store_commit(st, err);
    fld_store_rollback(st);
    *n_units = 0;
    return rc;
}
