/*
 * embedded.h - files compiled into libfield by the build (scripts/embed.c):
 * the SQL schemas of schema/ and the checklist templates of
 * schema/templates/. They are the only schema source: the store applies
 * them from here, so a program never depends on files beside it.
 */
#ifndef FLD_EMBEDDED_H
#define FLD_EMBEDDED_H

#include <stddef.h>

struct fld_embedded {
    const char *name;          /* base name, e.g. "field.sql" */
    const unsigned char *data; /* len bytes followed by a NUL */
    size_t len;
};

/* All embedded files, ended by an entry whose name is NULL. */
extern const struct fld_embedded fld_embedded_files[];

/* The embedded file of that base name, or NULL. */
const struct fld_embedded *fld_embedded_find(const char *name);

#endif
