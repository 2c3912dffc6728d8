/*
 * testutil.h - helpers shared by the unit tests: a private temporary
 * directory per test, a seeded device key, the demo template and a
 * version of it signed as a test needs.
 * Header-only so that each test program stays one file plus this.
 */
#ifndef FLD_TESTUTIL_H
#define FLD_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "capture.h"
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

/* Remove path and, when it is a directory, everything under it; symbolic
 * links are removed, never followed. */
static inline void tu_remove_tree(const char *path)
{
    struct stat sb;
    struct dirent *e;
    DIR *d;

    if (lstat(path, &sb) != 0)
        return;
    if (!S_ISDIR(sb.st_mode)) {
        unlink(path);
        return;
    }
    if ((d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            char *p;

            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            p = fld_xasprintf("%s/%s", path, e->d_name);
            tu_remove_tree(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(path);
}

/* A tu_mkdtemp() directory and all it holds (stores, keys, photos). */
static inline void tu_rmdir(char *dir)
{
    tu_remove_tree(dir);
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

    if (e == NULL || fld_template_parse_embedded(e, &t, NULL) != FLD_OK)
        abort();
    return t;
}

/*
 * A version of the demo template signed by k, without answers, for the
 * versions no capture makes (a child stored before its parent, a parent
 * in another record): parents NULL-ended (NULL: none), prev the first of
 * them past dseq 1.
 */
static inline struct fld_version *
tu_sign_demo(const struct fld_key *k, const char *record, const char *subject,
             int64_t dseq, const char *const *parents)
{
    struct fld_template *t = tu_demo_template();
    struct fld_json *answers = fld_json_object();
    struct fld_version_draft d;
    struct fld_version *v;

    memset(&d, 0, sizeof d);
    d.record = record;
    d.parents = parents;
    while (parents != NULL && parents[d.n_parents] != NULL)
        d.n_parents++;
    d.dseq = dseq;
    d.prev = dseq > 1 && d.n_parents > 0 ? parents[0] : NULL;
    d.hlc.ms = 1764288000000 + dseq;
    d.template_id = fld_template_id(t);
    d.template_hash = fld_template_hash(t);
    d.subject = subject;
    d.status = "draft";
    d.answers = answers;
    if (fld_version_sign(&d, k, &v, NULL) != FLD_OK)
        abort();
    fld_json_free(answers);
    fld_template_free(t);
    return v;
}

/*
 * A device for store-level tests: a fresh store in a private directory,
 * set up with a seeded key and the demo template.
 */
struct tu_device {
    char *dir;
    char *path;
    struct fld_store *st;
    struct fld_key *key;
    struct fld_template *t;
};

static inline struct tu_device *tu_device_open(uint8_t seed,
                                               const char *inspector)
{
    struct tu_device *d = fld_xcalloc(1, sizeof *d);

    d->dir = tu_mkdtemp();
    d->path = fld_xasprintf("%s/field.db", d->dir);
    d->key = tu_key(seed);
    d->t = tu_demo_template();
    if (fld_store_open(d->path, FLD_STORE_CREATE, &d->st, NULL) != FLD_OK ||
        fld_capture_setup(d->st, d->key, inspector, NULL) != FLD_OK)
        abort();
    return d;
}

static inline void tu_device_close(struct tu_device *d)
{
    fld_store_close(d->st);
    fld_key_free(d->key);
    fld_template_free(d->t);
    free(d->path);
    tu_rmdir(d->dir);
    free(d);
}

#endif
