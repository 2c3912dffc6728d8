/*
 * embedded.c - look-up in the table of files compiled into libfield (the
 * table itself is generated into build/gen/embedded_data.c).
 */
#include "embedded.h"

#include <string.h>

const struct fld_embedded *fld_embedded_find(const char *name)
{
    const struct fld_embedded *e;

    for (e = fld_embedded_files; e->name != NULL; e++)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}
