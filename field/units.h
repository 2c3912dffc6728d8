/*
 * units.h - administrative units as data: reading the CSV an administrator
 * loads (`field units import FILE.csv`) into the store.
 *
 * The file is UTF-8 CSV (RFC 4180 quoting) with the header
 *   code,name,kind,parent_code,valid_from,valid_to
 * code and parent_code are unit codes (GSO codes, for example 18073),
 * kind a lowercase name (tinh, huyen, thi_xa, thanh_pho, xa, phuong, thon),
 * dates YYYY-MM-DD: valid_from empty when the start is not known (stored
 * as 0000-01-01), valid_to inclusive and empty while the unit exists. A
 * parent must be in the file or already in the store. The whole file is
 * checked before anything is stored, and stored in one transaction, so a
 * bad line leaves the store as it was.
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

/* Whether a parent code not in the file is known elsewhere (a store). */
typedef bool (*fld_unit_known_fn)(void *ctx, const char *code);

/*
 * Read and check len bytes of CSV without storing anything, then call fn
 * with each unit in file order; a parent must be in the file or known
 * (known may be NULL). *n_units receives the number of rows. FLD_EINVAL
 * with "line N: ..." for the first bad line, before fn was ever called.
 * For stores other than the device's (the server reads the same files).
 */
int fld_units_read(const uint8_t *csv, size_t len, fld_unit_known_fn known,
                   fld_unit_fn fn, void *ctx, size_t *n_units,
                   struct fld_err *err);

/*
 * Check and import len bytes of CSV. *n_units receives the number of rows
 * stored. FLD_EINVAL with "line N: ..." for the first bad line; nothing is
 * stored then. Runs its own transaction.
 */
int fld_units_import(struct fld_store *st, const uint8_t *csv, size_t len,
                     size_t *n_units, struct fld_err *err);

#endif
