/*
 * storage_sqlite_int.h - what the files of the SQLite backend share, and
 * nobody else may use: the ids of the statements another file of the
 * backend runs, and the handle's database. The contract for the rest of
 * the server is storage.h.
 *
 *   storage_sqlite.c             the handle, the statement table (every
 *                                statement's SQL, these included), and
 *                                most operations
 *   storage_sqlite_thresholds.c  the threshold revisions' operations
 *
 * The ids below come first in storage_sqlite.c's enum of statements, so
 * that this file can name them without knowing the rest; their SQL is in
 * storage_sqlite.c's table with every other statement's, so that the
 * backend's whole vocabulary still reads in one place.
 */
#ifndef SRV_STORAGE_SQLITE_INT_H
#define SRV_STORAGE_SQLITE_INT_H

#include <stdint.h>

#include "db.h"
#include "err.h"
#include "storage.h"

enum srv_sqlite_shared_stmt {
    SRV_SQ_THR_INSERT,
    SRV_SQ_THR_EACH,
    SRV_SQ_THR_MAX_SEQ,
    SRV_SQ_N_SHARED /* storage_sqlite.c's own ids start here */
};

/* The database of a SQLite handle. */
struct fld_db *srv_sqlite_db(struct srv_storage *st);

/* The operations of storage.h on threshold revisions
 * (storage_sqlite_thresholds.c). */
int srv_sqlite_thresholds_put(struct srv_storage *st,
                              const struct fld_thresholds *r,
                              int64_t received_ms, int64_t *seq,
                              struct fld_err *err);
int srv_sqlite_thresholds_each(struct srv_storage *st, int64_t after,
                               const char *template_hash, int64_t limit,
                               srv_thresholds_fn fn, void *ctx,
                               struct fld_err *err);
int srv_sqlite_thresholds_max_seq(struct srv_storage *st, int64_t *out,
                                  struct fld_err *err);

#endif
