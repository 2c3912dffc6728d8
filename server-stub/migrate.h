/*
 * migrate.h - move a server's SQLite database to PostgreSQL losing
 * nothing (`field-server migrate`, cmd_migrate.c; docs/SERVER.md,
 * "Moving a SQLite server to PostgreSQL").
 */
#ifndef SRV_MIGRATE_H
#define SRV_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* What was moved, and checked on the target before it was committed. */
struct srv_migrate_report {
    int64_t tables;      /* tables copied */
    int64_t rows;        /* rows copied, all tables */
    int64_t versions;    /* each signature and hash re-verified */
    int64_t quarantined; /* each signature and hash re-verified */
    int64_t thresholds;  /* each signature re-verified */
    int64_t templates;   /* each hash re-verified */
    int64_t devices;
    int64_t codes;
    int64_t audit;
    int64_t units;
    int64_t targets;
    int64_t attachments; /* rows: what stored versions name */
    size_t files;        /* whole attachment files copied */
    int64_t file_bytes;
    char epoch[17]; /* kept: devices' cursors stay valid */
    int64_t ms;     /* how long it took */
};

/*
 * Copy the server database from (a SQLite file: "sqlite:PATH" or a plain
 * path) into the empty PostgreSQL database to, in one transaction on to
 * that is committed only once every table's row count matches the
 * source, every version, quarantined version and threshold revision read
 * back from to verifies (signature and hash) and every walk of the
 * storage interface (versions, quarantine, thresholds, templates,
 * devices, units, targets, audit) gives the same bytes on both sides.
 * The whole attachment files are copied to attach_to, which must not
 * exist (removed again if the database is not committed).
 *
 * The source is read in one transaction that holds its writer lock, so
 * the copy is of one moment and a server still serving it waits (it
 * should be stopped: docs/SERVER.md). An older source schema is first
 * brought up to date, as every field-server command does on open.
 *
 * FLD_EUSAGE: from is not SQLite, to not PostgreSQL (or this program was
 * built without it). FLD_NOTFOUND: no such file, or not initialised.
 * FLD_ECORRUPT: not a field-server database. FLD_EDB: a schema newer
 * than this program, or the database failed. FLD_EXISTS: to is not empty,
 * or attach_to exists. FLD_EBADSIG: a version failed to verify on the
 * target (nothing committed).
 */
int srv_migrate(const char *from, const char *to, const char *attach_to,
                struct srv_migrate_report *out, struct fld_err *err);

#endif
