/*
 * bundle.c - a bundle's bytes to verified versions (bundle.h).
 *
 * Where it sits: `field bundle import` (cmd_bundle.c) reads a file under
 * FLD_BUNDLE_MAX_BYTES and hands the bytes here; what comes back has been
 * checked as strictly as a version pushed over the network, and the
 * command stores it in one transaction. The fuzz harness
 * tests/fuzz/fuzz_bundle.c feeds it any bytes.
 *
 * The envelope is read with our strict JSON reader (json.h), which also
 * refuses a NUL in a string, so a body's text is exactly its bytes. The
 * count cap is checked before the first signature: a bundle of a million
 * junk entries is refused without a million checks.
 */
#include "bundle.h"

#include <stdlib.h>
#include <string.h>

/* The entry at i as a verified version into *out. */
static int open_entry(const struct fld_json *entry, size_t i,
                      struct fld_version **out, struct fld_err *err)
{
    const struct fld_json *body = fld_json_get(entry, "body");
    const char *sig_hex = fld_json_get_string(entry, "sig");
    uint8_t sig[FLD_SIG_LEN];
    int rc;

    if (body == NULL || body->type != FLD_JSON_STRING || sig_hex == NULL ||
        strlen(sig_hex) != 2 * FLD_SIG_LEN ||
        fld_hex_decode(sig_hex, sig, FLD_SIG_LEN) != 0)
        return fld_err_set(err, FLD_EINVAL,
                           "versions[%zu]: expected {\"body\": text, \"sig\": "
                           "128 hex digits}",
                           i);
    /* fld_err_prefix() returns FLD_OK when err is NULL: keep rc */
    rc = fld_version_open((const uint8_t *)body->s, body->len, sig, out, err);
    if (rc != FLD_OK)
        fld_err_prefix(err, "versions[%zu]", i);
    return rc;
}

int fld_bundle_read(const uint8_t *p, size_t len, size_t max_versions,
                    struct fld_bundle **out, struct fld_err *err)
{
    struct fld_json *doc = NULL;
    const struct fld_json *list;
    const char *format;
    struct fld_bundle *b = NULL;
    int rc;

    *out = NULL;
    if (len > FLD_BUNDLE_MAX_BYTES)
        return fld_err_set(err, FLD_ELIMIT, "a bundle is at most %zu bytes",
                           FLD_BUNDLE_MAX_BYTES);
    if ((rc = fld_json_parse(p, len, &doc, err)) != FLD_OK) {
        fld_err_prefix(err, "not a bundle");
        return rc;
    }
    format = fld_json_get_string(doc, "format");
    list = fld_json_get(doc, "versions");
    if (format == NULL || strcmp(format, FLD_BUNDLE_FORMAT) != 0 ||
        list == NULL || list->type != FLD_JSON_ARRAY) {
        rc = fld_err_set(err, FLD_EINVAL, "not a %s file", FLD_BUNDLE_FORMAT);
        goto out;
    }
    if (list->n > max_versions) {
        rc = fld_err_set(err, FLD_ELIMIT,
                         "%zu versions; a bundle holds at most %zu", list->n,
                         max_versions);
        goto out;
    }
    b = fld_xcalloc(1, sizeof *b);
    b->versions = fld_xcalloc(list->n + 1, sizeof *b->versions);
    for (; b->n < list->n; b->n++) {
        rc = open_entry(list->items[b->n], b->n, &b->versions[b->n], err);
        if (rc != FLD_OK)
            goto out;
    }
    *out = b;
    b = NULL;
out:
    fld_bundle_free(b);
    fld_json_free(doc);
    return rc;
}

void fld_bundle_free(struct fld_bundle *b)
{
    size_t i;

    if (b == NULL)
        return;
    for (i = 0; i < b->n; i++)
        fld_version_free(b->versions[i]);
    free(b->versions);
    free(b);
}

struct fld_json *fld_bundle_entry(const uint8_t *body, size_t len,
                                  const uint8_t sig[FLD_SIG_LEN])
{
    struct fld_json *o = fld_json_object();
    char hex[2 * FLD_SIG_LEN + 1];

    fld_hex_encode(sig, FLD_SIG_LEN, hex);
    fld_json_set(o, "body", fld_json_stringn((const char *)body, len));
    fld_json_set(o, "sig", fld_json_string(hex));
    return o;
}
