/*
 * fuzz_units.c - libFuzzer harness for the units file reader
 * (field/units.c over field/csv_read.c), the parser of the CSV files an
 * administrator loads on devices and on the server.
 *
 * For any input: reading must not crash, leak or overrun (the sanitizers
 * watch that), and a refusal must say where: "line N: ..." or a message
 * about the whole file. When a file is accepted, importing it again over
 * what it stored must be accepted too, with the same rows: each row then
 * replaces its stored twin, so a province can always load the same file
 * twice.
 *
 * Built by clang apart from the normal build (make fuzz).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The units accepted, kept as copies (a units file's strings are
 * borrowed for the call only). */
struct kept {
    struct fld_unit *u;
    size_t n;
};

static void bug(const char *what, const struct fld_err *err)
{
    fprintf(stderr, "fuzz_units: %s (%s)\n", what, err ? err->msg : "");
    abort();
}

static char *dup_or_null(const char *s)
{
    return s ? fld_xstrdup(s) : NULL;
}

static int keep(void *ctx, const struct fld_unit *u)
{
    struct kept *k = ctx;
    struct fld_unit *c;

    k->u = fld_xreallocarray(k->u, k->n + 1, sizeof *k->u);
    c = &k->u[k->n++];
    c->code = fld_xstrdup(u->code);
    c->name = fld_xstrdup(u->name);
    c->kind = fld_xstrdup(u->kind);
    c->parent_code = dup_or_null(u->parent_code);
    c->valid_from = fld_xstrdup(u->valid_from);
    c->valid_to = dup_or_null(u->valid_to);
    c->in_programme = u->in_programme;
    c->merged_into = dup_or_null(u->merged_into);
    return FLD_OK;
}

static void kept_free(struct kept *k)
{
    size_t i;

    for (i = 0; i < k->n; i++) {
        free((char *)k->u[i].code);
        free((char *)k->u[i].name);
        free((char *)k->u[i].kind);
        free((char *)k->u[i].parent_code);
        free((char *)k->u[i].valid_from);
        free((char *)k->u[i].valid_to);
        free((char *)k->u[i].merged_into);
    }
    free(k->u);
}

/* The second import: the first one's units as the store, and a count of
 * the units it puts. */
struct again {
    struct kept *k;
    size_t n_put;
};

static int each_kept(void *ctx, fld_unit_fn fn, void *fn_ctx,
                     struct fld_err *err)
{
    struct again *a = ctx;
    size_t i;
    int rc = FLD_OK;

    (void)err;
    for (i = 0; i < a->k->n && rc == FLD_OK; i++)
        rc = fn(fn_ctx, &a->k->u[i]);
    return rc;
}

static int drop_none(void *ctx, const char *code, const char *valid_from,
                     struct fld_err *err)
{
    (void)ctx;
    (void)code;
    (void)valid_from;
    (void)err;
    return FLD_OK;
}

static int count(void *ctx, const struct fld_unit *u)
{
    struct again *a = ctx;

    (void)u;
    a->n_put++;
    return FLD_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kept k = {NULL, 0};
    struct again a = {&k, 0};
    struct fld_units_dest first = {NULL, NULL, keep, &k};
    struct fld_units_dest second = {each_kept, drop_none, count, &a};
    struct fld_err err;
    size_t n, n_again;
    int rc;

    fld_err_clear(&err);
    rc = fld_units_read(data, size, &first, &n, &err);
    if (rc != FLD_OK) {
        if (rc != FLD_EINVAL && rc != FLD_ELIMIT)
            bug("an unexpected code", &err);
        if (strncmp(err.msg, "line ", 5) != 0 &&
            strncmp(err.msg, "units file ", 11) != 0)
            bug("a refusal does not say where", &err);
        kept_free(&k);
        return 0;
    }
    if (n != k.n)
        bug("the count differs from the rows put", NULL);
    rc = fld_units_read(data, size, &second, &n_again, &err);
    if (rc != FLD_OK)
        bug("an accepted file is refused over itself", &err);
    if (n_again != n || a.n_put != n)
        bug("the second import puts other rows", NULL);
    kept_free(&k);
    return 0;
}
