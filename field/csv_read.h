/*
 * csv_read.h - reading a CSV table that an administrator loads (units,
 * targets): RFC 4180 quoting, a header line naming the columns, one
 * record per row. The file's own checks (what each column may hold) stay
 * with the module that reads it; this one decides only what a table is,
 * so that every such file is read the same way and its errors name lines
 * the same way ("line N: ...", counting physical lines from 1, the
 * header's line; a quoted field may span lines).
 *
 * Columns are recognised by name in the header, in any order: the caller
 * lists the names it knows, which of them a file must have, and gets each
 * row's fields in the order of its own list ("" for a column the file
 * lacks). A header naming a column the caller does not know, or one twice,
 * is refused: a misspelt optional column must not be silently ignored.
 * Empty lines are skipped; a byte-order mark, as spreadsheets write, is
 * allowed before the header.
 */
#ifndef FLD_CSV_READ_H
#define FLD_CSV_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Most columns a header may name. */
#define FLD_CSV_MAX_COLUMNS 32

/* A column the caller knows. */
struct fld_csv_column {
    const char *name;
    bool is_required;
};

/* A table read: n_rows rows of n_cols fields each, in the caller's column
 * order. Everything belongs to the table (fld_csv_table_free()). */
struct fld_csv_table {
    size_t n_rows, n_cols;
    char **cell;  /* row r, column c at cell[r * n_cols + c]; never NULL */
    size_t *line; /* the line each row starts on */
    bool *has;    /* has[c]: whether the header named column c */
    char *text;   /* the fields, NUL-separated */
};

/*
 * Read len bytes of CSV (valid UTF-8, what names the file in messages:
 * "units file") with the columns cols[0 .. n_cols-1] into *out. FLD_EINVAL
 * with "line N: ..." for a bad header or row, or a file that is not UTF-8;
 * *out is then empty. The caller bounds len beforehand.
 */
int fld_csv_read(const uint8_t *csv, size_t len, const char *what,
                 const struct fld_csv_column *cols, size_t n_cols,
                 struct fld_csv_table *out, struct fld_err *err);
/* Free what a table holds (not t itself); t may be empty or NULL. */
void fld_csv_table_free(struct fld_csv_table *t);

/* Field c of row r, borrowed from the table. */
const char *fld_csv_cell(const struct fld_csv_table *t, size_t r, size_t c);

#endif
