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
 *
 * Photos are checked after the versions, because a photo is taken only
 * when a version of the same bundle names it, at the size it signed: the
 * signed size bounds what a photo's base64 may decode to, and the hash is
 * checked before anything is handed back, so a caller writes only bytes
 * that are the photo a signature covers. `field sync` checks a fetched
 * photo the same way (fld_attachment_receive), and the import hands the
 * bytes to that very function.
 *
 * The writer puts the photos first: the document's members then come in
 * key order, and the text grows in one buffer while each photo is read,
 * encoded and dropped in turn. A bundle without photos is byte for byte
 * what a writer of the first release wrote.
 */
#include "bundle.h"

#include <sodium.h>
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

/* What the bundle's versions sign about one photo: the first version (in
 * the file's order) naming a hash decides its size. */
struct named {
    const char *hash; /* points into a version */
    int64_t bytes;
    size_t order;  /* of the naming, to keep the first of equal hashes */
    bool is_taken; /* a photo entry of this hash was read already */
};

static int cmp_named(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = strcmp(x->hash, y->hash);

    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Every (hash, size) the versions sign, sorted by hash then file order. */
static struct named *names_of(const struct fld_bundle *b, size_t *n)
{
    struct named *list = NULL;
    size_t i, j, cap = 0;

    *n = 0;
    for (i = 0; i < b->n; i++) {
        size_t k = fld_version_n_attachments(b->versions[i]);

        for (j = 0; j < k; j++) {
            struct fld_version_attachment a;

            fld_version_attachment(b->versions[i], j, &a);
            if (*n == cap) {
                cap = cap ? 2 * cap : 16;
                list = fld_xreallocarray(list, cap, sizeof *list);
            }
            list[*n].hash = a.hash;
            list[*n].bytes = a.bytes;
            list[*n].order = *n;
            list[*n].is_taken = false;
            (*n)++;
        }
    }
    if (*n > 1)
        qsort(list, *n, sizeof *list, cmp_named);
    return list;
}

/* The first naming of hash in the sorted list, or NULL. */
static struct named *find_named(struct named *list, size_t n, const char *hash)
{
    size_t lo = 0, hi = n;

    /* the lowest index whose hash is not below hash */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(list[mid].hash, hash) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(list[lo].hash, hash) == 0 ? &list[lo] : NULL;
}

/* Decode and check photo entry i into *ph. */
static int open_photo(const struct fld_json *entry, size_t i,
                      struct named *names, size_t n_names,
                      struct fld_bundle_photo *ph, struct fld_err *err)
{
    const char *hash = fld_json_get_string(entry, "hash");
    const struct fld_json *data = fld_json_get(entry, "data");
    char hex[FLD_HASH_HEX_LEN + 1];
    const char *end = NULL;
    struct named *name;
    int64_t bytes;
    size_t got = 0;

    if (hash == NULL || !fld_is_hex(hash, FLD_HASH_HEX_LEN) || data == NULL ||
        data->type != FLD_JSON_STRING ||
        !fld_json_get_int(entry, "bytes", &bytes))
        return fld_err_set(err, FLD_EINVAL,
                           "attachments[%zu]: expected {\"hash\": 64 hex "
                           "digits, \"bytes\": a number, \"data\": base64}",
                           i);
    if ((name = find_named(names, n_names, hash)) == NULL)
        return fld_err_set(err, FLD_EINVAL,
                           "attachments[%zu]: photo %.16s is named by no "
                           "version of the bundle",
                           i, hash);
    if (name->is_taken)
        return fld_err_set(err, FLD_EINVAL,
                           "attachments[%zu]: photo %.16s comes twice", i,
                           hash);
    if (bytes != name->bytes)
        return fld_err_set(err, FLD_EINVAL,
                           "attachments[%zu]: photo %.16s says %lld bytes; "
                           "its version signed %lld",
                           i, hash, (long long)bytes, (long long)name->bytes);
    /* Base64 carries 3 bytes in 4 characters: text too short for the
     * signed size is refused before any memory is taken for it. */
    if ((uint64_t)bytes > (uint64_t)data->len / 4 * 3)
        return fld_err_set(err, FLD_ECORRUPT,
                           "attachments[%zu]: photo %.16s: its data is "
                           "shorter than the %lld bytes signed",
                           i, hash, (long long)bytes);
    ph->data = fld_xmalloc((size_t)bytes + 1);
    if (sodium_base642bin(ph->data, (size_t)bytes, data->s, data->len, NULL,
                          &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != data->s + data->len || got != (size_t)bytes) {
        free(ph->data);
        ph->data = NULL;
        return fld_err_set(err, FLD_ECORRUPT,
                           "attachments[%zu]: photo %.16s: its data is not "
                           "base64 of the %lld bytes signed",
                           i, hash, (long long)bytes);
    }
    fld_version_hash(ph->data, got, hex);
    if (sodium_memcmp(hex, hash, FLD_HASH_HEX_LEN) != 0) {
        free(ph->data);
        ph->data = NULL;
        return fld_err_set(err, FLD_ECORRUPT,
                           "attachments[%zu]: photo %.16s: its bytes do not "
                           "match its hash (they hash to %.16s); refused",
                           i, hash, hex);
    }
    memcpy(ph->hash, hash, FLD_HASH_HEX_LEN + 1);
    ph->len = got;
    name->is_taken = true;
    return FLD_OK;
}

/* The photos of list into b (its versions read already). The tree is
 * fld_bundle_read()'s own: each photo's base64 text is dropped once it is
 * decoded, so that the text and the bytes of all the photos are never
 * held at once (an import then peaks near twice the bundle's size, the
 * file's text and its parsed form, rather than near three times). */
static int open_photos(struct fld_json *list, struct fld_bundle *b,
                       struct fld_err *err)
{
    struct named *names;
    size_t n_names;
    int rc = FLD_OK;

    if (list->type != FLD_JSON_ARRAY)
        return fld_err_set(err, FLD_EINVAL,
                           "\"attachments\" is not a list of photos");
    if (list->n > FLD_BUNDLE_MAX_PHOTOS)
        return fld_err_set(err, FLD_ELIMIT,
                           "%zu photos; a bundle holds at most %zu", list->n,
                           FLD_BUNDLE_MAX_PHOTOS);
    names = names_of(b, &n_names);
    b->photos = fld_xcalloc(list->n + 1, sizeof *b->photos);
    for (; b->n_photos < list->n; b->n_photos++) {
        struct fld_json *entry = list->items[b->n_photos];
        struct fld_json *data;

        rc = open_photo(entry, b->n_photos, names, n_names,
                        &b->photos[b->n_photos], err);
        if (rc != FLD_OK)
            break;
        data = (struct fld_json *)fld_json_get(entry, "data");
        free(data->s);
        data->s = fld_xstrdup("");
        data->len = 0;
    }
    free(names);
    return rc;
}

int fld_bundle_read(const uint8_t *p, size_t len, size_t max_versions,
                    struct fld_bundle **out, struct fld_err *err)
{
    struct fld_json *photos;
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
    /* absent from bundles without photos, and from older ones */
    /* ours to change: the tree is freed below */
    photos = (struct fld_json *)fld_json_get(doc, "attachments");
    if (photos != NULL)
        rc = open_photos(photos, b, err);
    if (rc != FLD_OK)
        goto out;
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
    if (b->photos != NULL)
        for (i = 0; i < b->n_photos; i++)
            free(b->photos[i].data);
    free(b->photos);
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

void fld_bundle_writer_init(struct fld_bundle_writer *w)
{
    memset(w, 0, sizeof *w);
}

/* What a photo entry costs beyond its base64: the keys, the size, the
 * hash, the punctuation. */
#define PHOTO_ENTRY_OVERHEAD 128

int fld_bundle_writer_photo(struct fld_bundle_writer *w, const char *hash,
                            const uint8_t *p, size_t len, struct fld_err *err)
{
    size_t b64_len;
    char *b64;

    if (w->n_photos >= FLD_BUNDLE_MAX_PHOTOS)
        return fld_err_set(err, FLD_ELIMIT, "a bundle holds at most %zu photos",
                           FLD_BUNDLE_MAX_PHOTOS);
    /* in this order, so that no subtraction wraps */
    b64_len =
        len > FLD_BUNDLE_MAX_BYTES
            ? FLD_BUNDLE_MAX_BYTES
            : sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    if (w->out.len + PHOTO_ENTRY_OVERHEAD > FLD_BUNDLE_MAX_BYTES ||
        b64_len > FLD_BUNDLE_MAX_BYTES - w->out.len - PHOTO_ENTRY_OVERHEAD)
        return fld_err_set(err, FLD_ELIMIT,
                           "with photo %.16s the bundle would be over %zu "
                           "MiB",
                           hash, FLD_BUNDLE_MAX_BYTES >> 20);
    b64 = fld_xmalloc(b64_len);
    sodium_bin2base64(b64, b64_len, p, len, sodium_base64_VARIANT_ORIGINAL);
    fld_buf_puts(&w->out, w->n_photos == 0 ? "{\"attachments\":[" : ",");
    fld_buf_printf(&w->out, "{\"bytes\":%zu,\"data\":\"", len);
    fld_buf_append(&w->out, b64, b64_len - 1); /* without its NUL */
    fld_buf_printf(&w->out, "\",\"hash\":\"%.64s\"}", hash);
    free(b64);
    w->n_photos++;
    return FLD_OK;
}

int fld_bundle_writer_finish(struct fld_bundle_writer *w,
                             struct fld_json *versions, struct fld_err *err)
{
    int rc;

    fld_buf_puts(&w->out, w->n_photos == 0 ? "{" : "],");
    fld_buf_puts(&w->out, "\"format\":\"" FLD_BUNDLE_FORMAT "\",\"versions\":");
    rc = fld_json_write(versions, &w->out, err);
    fld_json_free(versions);
    if (rc != FLD_OK)
        return rc;
    fld_buf_putc(&w->out, '}');
    if (w->out.len > FLD_BUNDLE_MAX_BYTES)
        return fld_err_set(err, FLD_ELIMIT, "the bundle would be over %zu MiB",
                           FLD_BUNDLE_MAX_BYTES >> 20);
    return FLD_OK;
}

void fld_bundle_writer_free(struct fld_bundle_writer *w)
{
    fld_buf_free(&w->out);
    w->n_photos = 0;
}
