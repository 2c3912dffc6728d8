/*
 * targets.h - the province's targets as data: the CSV an administrator
 * loads with `field-server targets import FILE.csv`, checked and stored
 * (storage.h, struct srv_target), for the progress report to set its
 * counts against.
 *
 * The file is UTF-8 CSV (RFC 4180 quoting, field/csv_read.h) with the
 * header
 *   unit,tier,count,from,due,source
 * (any order): unit a unit code the server knows (42, the province);
 * tier a tier code, [a-z0-9-]{1,64} (xa-ntm, xa-ntm-nang-cao,
 * xa-ntm-kieu-mau, kdc-kieu-mau); count a whole number, at least that
 * many units (0 to 1,000,000,000); from the day the target applies from
 * and due the day it is due by (or empty), YYYY-MM-DD, due not before
 * from; source, NFC text of at most 1,000 bytes or empty, the document
 * that set the target. A unit, tier and from given twice in one file is
 * refused; a later import of the same three replaces the stored target.
 */
#ifndef SRV_TARGETS_H
#define SRV_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "storage.h"

/* Largest targets file accepted. */
#define SRV_TARGETS_MAX_BYTES (1024 * 1024)

/*
 * Check len bytes of CSV whole (every unit must be stored in st), then
 * put each target, in file order, loaded at loaded_ms. *n_targets gets
 * the number of rows. FLD_EINVAL with "line N: ..." for the first bad
 * line, before anything was put. The caller runs the transaction.
 */
int srv_targets_import(struct srv_storage *st, const uint8_t *csv, size_t len,
                       int64_t loaded_ms, size_t *n_targets,
                       struct fld_err *err);

#endif
