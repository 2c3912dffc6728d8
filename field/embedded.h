/*
 * embedded.h - files compiled into libfield by the build (scripts/embed.c):
 * the SQL schemas of schema/ and the checklist templates of
 * schema/templates/. They are the only schema source: the store applies
 * them from here, so a program never depends on files beside it.
 *
 * They are kept gzip-compressed (a sixth of their size, in a binary meant
 * to be small) and inflated when read, which happens once per process for
 * a schema or a template: fld_embedded_inflate() gives a private copy.
 */
#ifndef FLD_EMBEDDED_H
#define FLD_EMBEDDED_H

#include <stddef.h>

struct fld_embedded {
    const char *name;        /* base name, e.g. "field.sql" */
    const unsigned char *gz; /* the file, gzip-compressed */
    size_t gz_len;
    size_t len; /* the file's own length */
};

/* All embedded files, ended by an entry whose name is NULL. */
extern const struct fld_embedded fld_embedded_files[];

/* The embedded file of that base name, or NULL. */
const struct fld_embedded *fld_embedded_find(const char *name);

/*
 * The file's e->len bytes, followed by a NUL so text can be used
 * directly, in a new buffer for the caller to free(). Never NULL: out of
 * memory aborts (buf.h), and data that does not inflate to exactly len
 * bytes is a broken build, which aborts too.
 */
unsigned char *fld_embedded_inflate(const struct fld_embedded *e);

#endif
