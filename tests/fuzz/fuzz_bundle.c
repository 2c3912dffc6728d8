/*
 * fuzz_bundle.c - libFuzzer harness for the bundle reader (field/bundle.c),
 * which takes in whatever a USB stick carries to `field bundle import`.
 *
 * For any input: no crash, leak, overrun or undefined behaviour (the
 * sanitizers watch), and
 *   - a refusal leaves no bundle, has a known code and a one-line message
 *     that says what kind of refusal it is, and is the same refusal without
 *     an error record (fld_err_prefix() returns FLD_OK for a NULL record,
 *     a trap for a reader that returns what it returns);
 *   - an accepted bundle holds at most the versions allowed, and every one
 *     verifies again on its own from its bytes and signature, with the
 *     same hash;
 *   - every accepted photo hashes to its name;
 *   - the accepted versions and photos, written again as a bundle, read
 *     back as the same versions and photos in the same order.
 * At most MAX_VERSIONS entries are allowed, so that the count limit is
 * reached too and no input costs more than a few signature checks.
 *
 * Seeds (tests/fuzz/corpus/fuzz_bundle/) are bundles written by the real
 * `field bundle export`, and broken ones. Built by `make fuzz`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bundle.h"
#include "err.h"

#define MAX_VERSIONS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bug(const char *what, const struct fld_err *err)
{
    fprintf(stderr, "fuzz_bundle: %s (%s)\n", what, err ? err->msg : "");
    abort();
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void check_refusal(const uint8_t *data, size_t size, int rc,
                          const struct fld_bundle *b, const struct fld_err *err)
{
    struct fld_bundle *again = NULL;

    if (b != NULL)
        bug("a refusal left a bundle", err);
    if (rc != FLD_EINVAL && rc != FLD_ELIMIT && rc != FLD_EBADSIG &&
        rc != FLD_ECORRUPT)
        bug("a refusal with an unexpected code", err);
    if (err->msg[0] == '\0' || strchr(err->msg, '\n') != NULL)
        bug("a refusal without a one-line message", err);
    if (!starts(err->msg, "not a bundle: ") &&
        strcmp(err->msg, "not a " FLD_BUNDLE_FORMAT " file") != 0 &&
        !starts(err->msg, "versions[") && !starts(err->msg, "attachments[") &&
        !starts(err->msg, "\"attachments\" is not a list") &&
        strstr(err->msg, " versions; a bundle holds at most ") == NULL &&
        strstr(err->msg, " photos; a bundle holds at most ") == NULL)
        bug("a refusal that does not say what kind it is", err);
    if (fld_bundle_read(data, size, MAX_VERSIONS, &again, NULL) != rc ||
        again != NULL)
        bug("the refusal differs without an error record", err);
}

/* Every version opens again from its own bytes, as the store would. */
static void check_versions(const struct fld_bundle *b)
{
    struct fld_version *v;
    struct fld_err err;
    size_t i;

    for (i = 0; i < b->n; i++) {
        fld_err_clear(&err);
        if (fld_version_open(b->versions[i]->body, b->versions[i]->body_len,
                             b->versions[i]->sig, &v, &err) != FLD_OK)
            bug("an accepted version does not verify again", &err);
        if (strcmp(v->hash, b->versions[i]->hash) != 0)
            bug("an accepted version has another hash", NULL);
        fld_version_free(v);
    }
}

/* Every accepted photo is the file its name says. */
static void check_photos(const struct fld_bundle *b)
{
    char hex[FLD_HASH_HEX_LEN + 1];
    size_t i;

    for (i = 0; i < b->n_photos; i++) {
        fld_version_hash(b->photos[i].data, b->photos[i].len, hex);
        if (strcmp(hex, b->photos[i].hash) != 0)
            bug("an accepted photo does not hash to its name", NULL);
    }
}

/* Written again, the bundle reads back as the same versions and photos. */
static void check_rewrite(const struct fld_bundle *b)
{
    struct fld_json *list = fld_json_array();
    struct fld_bundle_writer w;
    struct fld_bundle *again = NULL;
    struct fld_err err;
    size_t i;

    fld_err_clear(&err);
    fld_bundle_writer_init(&w);
    for (i = 0; i < b->n_photos; i++)
        if (fld_bundle_writer_photo(&w, b->photos[i].hash, b->photos[i].data,
                                    b->photos[i].len, &err) != FLD_OK)
            bug("an accepted photo does not write", &err);
    for (i = 0; i < b->n; i++)
        fld_json_append(list, fld_bundle_entry(b->versions[i]->body,
                                               b->versions[i]->body_len,
                                               b->versions[i]->sig));
    if (fld_bundle_writer_finish(&w, list, &err) != FLD_OK)
        bug("an accepted bundle does not write", &err);
    if (fld_bundle_read(w.out.data, w.out.len, MAX_VERSIONS, &again, &err) !=
        FLD_OK)
        bug("an accepted bundle, written again, is refused", &err);
    if (again->n != b->n || again->n_photos != b->n_photos)
        bug("an accepted bundle reads back with another count", NULL);
    for (i = 0; i < b->n; i++)
        if (strcmp(again->versions[i]->hash, b->versions[i]->hash) != 0)
            bug("an accepted bundle reads back in another order", NULL);
    for (i = 0; i < b->n_photos; i++)
        if (strcmp(again->photos[i].hash, b->photos[i].hash) != 0 ||
            again->photos[i].len != b->photos[i].len ||
            memcmp(again->photos[i].data, b->photos[i].data,
                   b->photos[i].len) != 0)
            bug("an accepted photo reads back otherwise", NULL);
    fld_bundle_free(again);
    fld_bundle_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fld_bundle *b = (struct fld_bundle *)&b; /* must be cleared */
    struct fld_err err;
    int rc;

    fld_err_clear(&err);
    rc = fld_bundle_read(data, size, MAX_VERSIONS, &b, &err);
    if (rc != FLD_OK) {
        check_refusal(data, size, rc, b, &err);
        return 0;
    }
    if (b == NULL || b->n > MAX_VERSIONS)
        bug("an acceptance without a bundle, or with too many versions", NULL);
    check_versions(b);
    check_photos(b);
    check_rewrite(b);
    fld_bundle_free(b);
    return 0;
}
