/*
 * csv_read.c - reading an administrator's CSV table (see csv_read.h).
 *
 * The file is copied once; fields are cut out of the copy in place (quotes
 * removed, NUL-terminated), so a table is one allocation of text and two
 * arrays, whatever its size. The units and targets importers read through
 * here and then check their own columns.
 */
#include "csv_read.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "utf8.h"

/* Split one CSV record starting at *pos into fields (RFC 4180), at most
 * FLD_CSV_MAX_COLUMNS. Quoted fields may hold commas, doubled quotes and
 * line breaks; *line counts the line breaks passed. */
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
            if (n == FLD_CSV_MAX_COLUMNS)
                return fld_err_set(err, FLD_EINVAL,
                                   "line %zu: more than %d fields", start_line,
                                   FLD_CSV_MAX_COLUMNS);
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

/* "a,b,c": the required columns, as the message for a bad header says. */
static void required_names(const struct fld_csv_column *cols, size_t n_cols,
                           struct fld_buf *out)
{
    size_t i;

    for (i = 0; i < n_cols; i++)
        if (cols[i].is_required)
            fld_buf_printf(out, "%s%s", out->len ? "," : "", cols[i].name);
}

static int header_error(const struct fld_csv_column *cols, size_t n_cols,
                        const char *why, const char *name, struct fld_err *err)
{
    struct fld_buf b = FLD_BUF_INIT;
    int rc;

    required_names(cols, n_cols, &b);
    rc = fld_err_set(err, FLD_EINVAL,
                     "line 1: expected the header %s (%s \"%s\")",
                     fld_buf_str(&b), why, name);
    fld_buf_free(&b);
    return rc;
}

/* Map each header field to the caller's column: where[i] is the caller's
 * index of the file's field i. */
static int read_header(char **fields, size_t n,
                       const struct fld_csv_column *cols, size_t n_cols,
                       size_t *where, bool *has, struct fld_err *err)
{
    size_t i, c;

    for (i = 0; i < n; i++) {
        for (c = 0; c < n_cols; c++)
            if (strcmp(fields[i], cols[c].name) == 0)
                break;
        if (c == n_cols)
            return header_error(cols, n_cols, "unknown column", fields[i], err);
        if (has[c])
            return header_error(cols, n_cols, "twice the column", fields[i],
                                err);
        has[c] = true;
        where[i] = c;
    }
    for (c = 0; c < n_cols; c++)
        if (cols[c].is_required && !has[c])
            return header_error(cols, n_cols, "no column", cols[c].name, err);
    return FLD_OK;
}

static void add_row(struct fld_csv_table *t, char **fields, const size_t *where,
                    size_t n, size_t line)
{
    size_t i, r = t->n_rows++;

    t->cell =
        fld_xreallocarray(t->cell, t->n_rows * t->n_cols, sizeof *t->cell);
    t->line = fld_xreallocarray(t->line, t->n_rows, sizeof *t->line);
    for (i = 0; i < t->n_cols; i++)
        t->cell[r * t->n_cols + i] = (char *)"";
    for (i = 0; i < n; i++)
        t->cell[r * t->n_cols + where[i]] = fields[i];
    t->line[r] = line;
}

static int read_rows(struct fld_csv_table *t, size_t len, size_t pos,
                     size_t line, const size_t *where, size_t n_header,
                     struct fld_err *err)
{
    char *fields[FLD_CSV_MAX_COLUMNS];
    size_t n;
    int rc;

    while (pos < len) {
        size_t at = line;

        if ((rc = split_record(t->text, len, &pos, fields, &n, &line, err)))
            return rc;
        if (n == 1 && fields[0][0] == '\0')
            continue; /* an empty line */
        if (n != n_header)
            return fld_err_set(err, FLD_EINVAL,
                               "line %zu: expected %zu fields, got %zu", at,
                               n_header, n);
        add_row(t, fields, where, n, at);
    }
    return FLD_OK;
}

int fld_csv_read(const uint8_t *csv, size_t len, const char *what,
                 const struct fld_csv_column *cols, size_t n_cols,
                 struct fld_csv_table *out, struct fld_err *err)
{
    char *fields[FLD_CSV_MAX_COLUMNS];
    size_t where[FLD_CSV_MAX_COLUMNS];
    size_t pos = 0, n, line = 1;
    int rc;

    memset(out, 0, sizeof *out);
    if (!fld_utf8_valid(csv, len))
        return fld_err_set(err, FLD_EINVAL, "%s is not valid UTF-8", what);
    out->n_cols = n_cols;
    out->has = fld_xcalloc(n_cols ? n_cols : 1, sizeof *out->has);
    out->text = fld_xstrndup((const char *)csv, len);
    if (len >= 3 && memcmp(csv, "\xef\xbb\xbf", 3) == 0)
        pos = 3;
    rc = split_record(out->text, len, &pos, fields, &n, &line, err);
    if (rc == FLD_OK)
        rc = read_header(fields, n, cols, n_cols, where, out->has, err);
    if (rc == FLD_OK)
        rc = read_rows(out, len, pos, line, where, n, err);
    if (rc != FLD_OK)
        fld_csv_table_free(out);
    return rc;
}

void fld_csv_table_free(struct fld_csv_table *t)
{
    if (t == NULL)
        return;
    free(t->cell);
    free(t->line);
    free(t->has);
    free(t->text);
    memset(t, 0, sizeof *t);
}

const char *fld_csv_cell(const struct fld_csv_table *t, size_t r, size_t c)
{
    return t->cell[r * t->n_cols + c];
}
