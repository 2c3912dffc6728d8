/*
 * csv.h - writing CSV (RFC 4180) for other tools: the one place that
 * decides how a field is quoted, so every export and report agrees.
 */
#ifndef FLD_CSV_H
#define FLD_CSV_H

#include <stdbool.h>

#include "buf.h"

/*
 * Append s as one CSV field: quoted when it holds a comma, a quote, a line
 * break or starts with a space, quotes doubled. With is_text, a value that
 * starts with = + - or @ gets a leading apostrophe, so that a spreadsheet
 * opening the file shows it instead of running it as a formula (numbers
 * are passed with is_text false and keep their sign).
 */
void fld_csv_field(struct fld_buf *out, const char *s, bool is_text);

/* Append the fields of a NULL-ended list as one row, then CRLF. */
void fld_csv_row(struct fld_buf *out, const char *const *fields, bool is_text);

#endif
