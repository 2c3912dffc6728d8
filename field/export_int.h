/*
 * export_int.h - what the files of the export module share, and nobody
 * else may use. The contract for the rest of field is export.h.
 *
 *   export.c       the formats' dispatch, JSON, CSV and GeoJSON, and what
 *                  every format says the same way (labels, the tier)
 *   export_xlsx.c  the workbook, through libxlsxwriter
 */
#ifndef FLD_EXPORT_INT_H
#define FLD_EXPORT_INT_H

#include <stdbool.h>

#include "buf.h"
#include "err.h"
#include "export.h"
#include "form.h"
#include "template.h"

/* A workbook being built in a temporary file. */
struct fld_xlsx;

/* What the form engine says of one record, for the formats that show it
 * (XLSX, GeoJSON). form is NULL when the template's rules could not be
 * evaluated for this record: the tier is unknown then, and calculations
 * are left blank, but the record is still exported. */
struct fld_export_eval {
    struct fld_form *form;
    bool has_tier; /* the template has a tier rule */
    enum fld_status tier;
};

/* Whether q has a cell in its record's row: an answer outside repeat
 * groups (a repeat group's questions have their own rows, notes none). */
bool fld_export_on_record_row(const struct fld_template *t,
                              const struct fld_question *q);

/* Start a workbook in a new temporary file under tmpdir. FLD_EIO when it
 * cannot be made. */
int fld_xlsx_open(const char *tmpdir, enum fld_lang lang, struct fld_xlsx **out,
                  struct fld_err *err);
/* Write r's rows: one on its template's sheet, one per repeat item on the
 * group's sheet. FLD_ELIMIT beyond a sheet's rows. */
int fld_xlsx_add(struct fld_xlsx *x, const struct fld_export_record *r,
                 const struct fld_export_eval *ev, struct fld_err *err);
/* Close the workbook and append its bytes to out; x is freed and its
 * temporary file removed whatever the result. */
int fld_xlsx_close(struct fld_xlsx *x, struct fld_buf *out,
                   struct fld_err *err);
/* Give up a workbook: free x and remove its temporary file. */
void fld_xlsx_discard(struct fld_xlsx *x);

#endif
