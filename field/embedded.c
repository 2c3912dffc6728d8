/*
 * embedded.c - look-up in the table of files compiled into libfield (the
 * table itself is generated into build/gen/embedded_data.c) and their
 * inflation.
 */
#include "embedded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"

#define GZIP_WBITS (16 + MAX_WBITS) /* a gzip wrapper (zlib.h) */

const struct fld_embedded *fld_embedded_find(const char *name)
{
    const struct fld_embedded *e;

    for (e = fld_embedded_files; e->name != NULL; e++)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

unsigned char *fld_embedded_inflate(const struct fld_embedded *e)
{
    unsigned char *out = fld_xmalloc(e->len + 1);
    z_stream z;
    int r;

    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, GZIP_WBITS) != Z_OK)
        abort(); /* only out of memory */
    z.next_in = (Bytef *)(size_t)e->gz;
    z.avail_in = (uInt)e->gz_len;
    z.next_out = out;
    z.avail_out = (uInt)e->len + 1; /* room for one byte too many */
    r = inflate(&z, Z_FINISH);
    if (r != Z_STREAM_END || z.total_out != e->len) {
        fprintf(stderr, "field: built-in file %s is damaged\n", e->name);
        abort();
    }
    inflateEnd(&z);
    out[e->len] = '\0';
    return out;
}
