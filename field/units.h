/*
 * units.h - administrative units as data: reading the CSV an administrator
 * loads (`field units import FILE.csv`, `field-server units import`) into
 * a store, checked against what the store holds already.
 *
 * The file is UTF-8 CSV (RFC 4180 quoting, field/csv_read.h) whose header
 * names the columns
 *   code,name,kind,parent_code,valid_from,valid_to[,in_programme][,merged_into]
 * (the last two optional, any order). code, parent_code and merged_into
 * are unit codes (GSO codes, for example 18073), kind a lowercase name
 * (tinh, huyen, thi_xa, thanh_pho, xa, phuong, thon), dates YYYY-MM-DD:
 * valid_from empty when the start is not known (stored as 0000-01-01),
 * valid_to inclusive and empty while the unit exists. in_programme is
 * `yes` (the default) or `no` for a unit that does not take part in the
 * New Rural programme (Kỳ Lợi, in the Vũng Áng economic zone): reports
 * count it apart. merged_into, for a unit that ended in a merger, is the
 * code of the unit it became part of, which must be valid the day after
 * its valid_to.
 *
 * A row is a version of its code: the same code may come again, from the
 * file or the store, only with a period that does not overlap (a rename).
 * A row of the same code and valid_from as a stored one replaces it; so
 * does the file's dating of a code whose only stored version has no dates
 * at all (valid since ever and still valid: what a row with both dates
 * empty gives, and what the server's migration gave the units of its
 * previous release). The parent must be in the file or stored, and some
 * version of it valid on every day of the child's period (from the
 * parent's first day when the child's start is not known); parents never
 * form a cycle, whatever the dates, so that a walk up the tree always
 * ends. The whole file is checked, against the store too, before anything
 * is stored, and the first problem is reported as "line N: ...".
 */
#ifndef FLD_UNITS_H
#define FLD_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* Largest units file accepted. */
#define FLD_UNITS_MAX_BYTES (8 * 1024 * 1024)

/* The store a file goes to, seen from the reader. */
struct fld_units_dest {
    /* Call fn(fn_ctx, u) with every unit version stored already; NULL when
     * nothing is. */
    int (*each_stored)(void *ctx, fld_unit_fn fn, void *fn_ctx,
                       struct fld_err *err);
    /* Remove the stored version of code from valid_from (an undated version
     * the file dates); may be NULL when each_stored is. */
    int (*drop)(void *ctx, const char *code, const char *valid_from,
                struct fld_err *err);
    /* Insert a unit of the file, or replace the version of the same code
     * and valid_from. */
    fld_unit_fn put;
    void *ctx;
};

/*
 * Read and check len bytes of CSV against what dest holds, without
 * changing anything; then drop the stored versions the file replaces and
 * put each unit of the file, in file order. *n_units receives the number
 * of rows. FLD_EINVAL with "line N: ..." for the first problem, before
 * drop or put was ever called. The caller runs the transaction. For
 * stores other than the device's (the server reads the same files).
 */
int fld_units_read(const uint8_t *csv, size_t len,
                   const struct fld_units_dest *dest, size_t *n_units,
                   struct fld_err *err);

/*
 * Check and import len bytes of CSV into the device store. *n_units
 * receives the number of rows stored. FLD_EINVAL with "line N: ..." for
 * the first problem; nothing is stored then. Runs its own transaction.
 */
int fld_units_import(struct fld_store *st, const uint8_t *csv, size_t len,
                     size_t *n_units, struct fld_err *err);

#endif
