/*
 * storage_pg.h - field-server's PostgreSQL back end (storage_pg.c), for
 * several servers sharing one database (issue 16). The server reaches it
 * only through storage.h; this header names the table of operations that
 * storage.c registers under the schemes "postgresql" and "postgres".
 *
 * A location is "postgresql://..." or "postgres://..." (a libpq URI), or
 * "postgres:" followed by a libpq key=value string ("postgres:dbname=f
 * host=/run/postgresql"). Messages name the database by user, host, port
 * and name, never by its password.
 */
#ifndef SRV_STORAGE_PG_H
#define SRV_STORAGE_PG_H

#include "storage.h"

/* The schema version of this program (meta.schema_version):
 * schema/pg/server.sql makes version 5, and schema/pg/server-006.sql ..
 * bring it one version further each, as the SQLite schema's files do. */
#define SRV_PG_SCHEMA_VERSION 7

extern const struct srv_storage_ops srv_storage_pg;

/* location (after its scheme) as srv_storage_display() shows it: new
 * string, free(). */
char *srv_pg_display(const char *location);

/*
 * location (after its scheme) as a libpq key=value connection string for
 * another program (pg_dump), without its password, which *password gets
 * (new, free(); NULL when none) to be handed over in the environment
 * (PGPASSWORD), never on a command line that `ps` shows. New string,
 * free(); NULL when location is malformed.
 */
char *srv_pg_conninfo_split(const char *location, char **password);

#endif
