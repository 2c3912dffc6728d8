/*
 * record.h - one record as the server shows it: every version stored of
 * it, verified again, and their deterministic merge (sync/merge.h), the
 * same state every replica holding these versions shows. `field-server
 * record` prints it; the export (export.h) lays out many.
 */
#ifndef SRV_RECORD_H
#define SRV_RECORD_H

#include <stddef.h>

#include "err.h"
#include "merge.h"
#include "storage.h"
#include "version.h"

struct srv_record {
    struct fld_version **versions; /* in server order */
    size_t n_versions;
    struct syn_merged *merged; /* borrows from versions */
};

/*
 * Load every stored version of the record whose full id is given, verify
 * each (hash and signature: a figure in dispute is checked, not taken on
 * the database's word) and merge them. FLD_NOTFOUND when the server holds
 * none, FLD_ECORRUPT when a stored version does not verify, the merge's
 * codes otherwise. *out is emptied first; srv_record_free() it whatever
 * the result.
 */
/* The skew a merge on the server allows past its own time (the default
 * request skew of config.c: a stamp beyond it was flagged on arrival). */
#define SRV_RECORD_SKEW_MS (300 * 1000)

int srv_record_load(struct srv_storage *st, const char *id,
                    struct srv_record *out, struct fld_err *err);
void srv_record_free(struct srv_record *r);

#endif
