/*
 * testutil.h - helpers shared by the unit tests: a private temporary
 * directory per test, a seeded device key, and the demo template.
 * Header-only so that each test program stays one file plus this.
 */
#ifndef FLD_TESTUTIL_H
#define FLD_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "embedded.h"
#include "key.h"
#include "template.h"
#include "version.h"

/* mkdtemp under $TMPDIR; removed (with its files) by tu_rmdir. */
static inline char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char *dir = fld_xasprintf("%s/field-test-XXXXXX", base ? base : "/tmp");

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return dir;
}

static inline void tu_rmdir(char *dir)
{
    static const char *const names[] = {"field.db", "field.db-wal", "field.db-shm",
                                        "key", "other.db", "other.db-wal",
                                        "other.db-shm"};
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *p = fld_xasprintf("%s/%s", dir, names[i]);
        unlink(p);
        free(p);
    }
    rmdir(dir);
    free(dir);
}

static inline struct fld_key *tu_key(uint8_t first)
{
    uint8_t seed[32];
    struct fld_key *k = NULL;
    int i;

    for (i = 0; i < 32; i++)
        seed[i] = (uint8_t)(first + i);
    if (fld_key_from_seed(seed, &k, NULL) != FLD_OK)
        abort();
    return k;
}

static inline struct fld_template *tu_demo_template(void)
{
    const struct fld_embedded *e = fld_embedded_find("field-demo.json");
    struct fld_template *t = NULL;

    if (e == NULL || fld_template_parse(e->data, e->len, &t, NULL) != FLD_OK)
        abort();
    return t;
}

#endif
