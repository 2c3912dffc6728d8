/*
 * protocol.c - encoding and decoding the sync protocol's messages, and the
 * request signatures (see protocol.h and docs/PROTOCOL.md).
 *
 * The split of trust is the point of this file. cJSON reads and writes the
 * envelope: cursors, limits, flags, result lists (a sync request, the
 * bulk of every push, is written directly: see
 * syn_sync_request_encode_item()). It never decides what a
 * version is: the "body" strings are copied out byte for byte and handed to
 * fld_version_open() by whoever receives them, which insists on the exact
 * canonical bytes the author signed. Because cJSON accepts invalid UTF-8
 * and nests up to a thousand levels, a message first passes
 * syn_json_precheck(), which refuses both cheaply and without recursion.
 *
 * Decoders ignore members they do not know, so a newer peer may add some;
 * a member they know must have its documented type, or the message is
 * refused with the member's name in the message.
 */
#include "protocol.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

/* ---- request authentication ------------------------------------------- */

/* The signed text, its BODYHASH given. */
static void message_of(const char *method, const char *path, int64_t time_ms,
                       const char *body_hash, struct fld_buf *out)
{
    fld_buf_printf(out, "%s\n%s\n%s\n%" PRId64 "\n%s", SYN_REQUEST_PREFIX,
                   method, path, time_ms, body_hash);
}

void syn_request_message(const char *method, const char *path, int64_t time_ms,
                         const uint8_t *body, size_t len, struct fld_buf *out)
{
    char hash[FLD_HASH_HEX_LEN + 1];

    fld_version_hash(body, len, hash);
    message_of(method, path, time_ms, hash, out);
}

/* Sign msg (then freed) into *out. */
static void sign_message(const struct fld_key *key, int64_t time_ms,
                         struct fld_buf *msg, struct syn_auth *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->pub, fld_key_public(key), FLD_KEY_PUBLIC_LEN);
    fld_key_public_hex(key, out->device);
    out->time_ms = time_ms;
    fld_key_sign(key, msg->data, msg->len, out->sig);
    fld_buf_free(msg);
}

void syn_request_sign(const struct fld_key *key, const char *method,
                      const char *path, int64_t time_ms, const uint8_t *body,
                      size_t len, struct syn_auth *out)
{
    struct fld_buf msg = FLD_BUF_INIT;

    syn_request_message(method, path, time_ms, body, len, &msg);
    sign_message(key, time_ms, &msg, out);
}

void syn_request_sign_unsigned(const struct fld_key *key, const char *method,
                               const char *path, int64_t time_ms,
                               struct syn_auth *out)
{
    struct fld_buf msg = FLD_BUF_INIT;

    message_of(method, path, time_ms, SYN_UNSIGNED_PAYLOAD, &msg);
    sign_message(key, time_ms, &msg, out);
}

void syn_auth_sig_hex(const struct syn_auth *a, char out[2 * FLD_SIG_LEN + 1])
{
    fld_hex_encode(a->sig, FLD_SIG_LEN, out);
}

/* A decimal integer, digits only (an optional leading '-'), in range. */
static int parse_int64(const char *s, int64_t *out)
{
    char *end;
    long long v;
    size_t i = s[0] == '-' ? 1 : 0;

    if (s[i] == '\0' || strlen(s) > 20)
        return -1;
    for (; s[i] != '\0'; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int syn_auth_parse(const char *device, const char *time, const char *sig,
                   struct syn_auth *out, struct fld_err *err)
{
    memset(out, 0, sizeof *out);
    if (device == NULL && time == NULL && sig == NULL)
        return fld_err_set(err, FLD_NOTFOUND, "the request is not signed");
    if (device == NULL || !fld_is_hex(device, FLD_HASH_HEX_LEN) ||
        fld_hex_decode(device, out->pub, sizeof out->pub) != 0)
        return fld_err_set(err, FLD_EINVAL,
                           "%s must be 64 lowercase hex digits",
                           SYN_HDR_DEVICE);
    memcpy(out->device, device, FLD_HASH_HEX_LEN + 1);
    if (time == NULL || parse_int64(time, &out->time_ms) != 0)
        return fld_err_set(err, FLD_EINVAL,
                           "%s must be Unix milliseconds in decimal",
                           SYN_HDR_TIME);
    if (sig == NULL || !fld_is_hex(sig, 2 * FLD_SIG_LEN) ||
        fld_hex_decode(sig, out->sig, sizeof out->sig) != 0)
        return fld_err_set(err, FLD_EINVAL,
                           "%s must be 128 lowercase hex digits",
                           SYN_HDR_SIGNATURE);
    return FLD_OK;
}

/* FLD_OK when a signed msg (freed here). */
static int verify_message(const struct syn_auth *a, struct fld_buf *msg,
                          struct fld_err *err)
{
    int rc = fld_sig_verify(a->pub, msg->data, msg->len, a->sig);

    fld_buf_free(msg);
    if (rc != FLD_OK)
        return fld_err_set(err, FLD_EBADSIG,
                           "the request signature does not verify");
    return FLD_OK;
}

int syn_request_verify(const struct syn_auth *a, const char *method,
                       const char *path, const uint8_t *body, size_t len,
                       struct fld_err *err)
{
    struct fld_buf msg = FLD_BUF_INIT;

    syn_request_message(method, path, a->time_ms, body, len, &msg);
    return verify_message(a, &msg, err);
}

int syn_request_verify_unsigned(const struct syn_auth *a, const char *method,
                                const char *path, struct fld_err *err)
{
    struct fld_buf msg = FLD_BUF_INIT;

    message_of(method, path, a->time_ms, SYN_UNSIGNED_PAYLOAD, &msg);
    return verify_message(a, &msg, err);
}

/* ---- message text ------------------------------------------------------- */

int syn_json_precheck(const uint8_t *p, size_t len, int max_depth,
                      struct fld_err *err)
{
    size_t i = 0, n;
    uint32_t cp;
    int depth = 0, in_string = 0;

    while (i < len) {
        uint8_t c = p[i];

        if (c == 0)
            return fld_err_set(err, FLD_EINVAL, "byte %zu: NUL in the body", i);
        if (c >= 0x80) {
            n = fld_utf8_decode(p + i, len - i, &cp);
            if (n == 0)
                return fld_err_set(err, FLD_EINVAL, "byte %zu: invalid UTF-8",
                                   i);
            i += n;
            continue;
        }
        if (in_string) {
            /* cJSON would decode it into a NUL that ends the C string
             * early: a pushed body would lose its tail unseen */
            if (c == '\\' && len - i >= 6 && memcmp(p + i, "\\u0000", 6) == 0)
                return fld_err_set(err, FLD_EINVAL,
                                   "byte %zu: \\u0000 in a string", i);
            if (c == '\\')
                i++; /* the escaped byte is never a quote that ends it */
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return fld_err_set(err, FLD_ELIMIT,
                                   "byte %zu: nested deeper than %d", i,
                                   max_depth);
        } else if (c == ']' || c == '}') {
            depth--;
        }
        i++;
    }
    return FLD_OK;
}

/* ---- cJSON helpers ------------------------------------------------------ */

/* cJSON reports out of memory as NULL; in field that aborts. */
static void *need(void *p)
{
    if (p == NULL) {
        fputs("out of memory\n", stderr);
        abort();
    }
    return p;
}

static cJSON *parse(const uint8_t *p, size_t len, struct fld_err *err)
{
    const char *end = NULL;
    cJSON *root;

    if (syn_json_precheck(p, len, SYN_MAX_DEPTH, err) != FLD_OK)
        return NULL;
    root = cJSON_ParseWithLengthOpts((const char *)p, len, &end, 0);
    /* cJSON stops at the end of the first value; anything but white space
     * after it makes the message malformed. */
    while (root != NULL && end < (const char *)p + len &&
           (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (root != NULL && end != (const char *)p + len) {
        cJSON_Delete(root);
        fld_err_set(err, FLD_EPROTO, "bytes after the JSON value at byte %zu",
                    (size_t)(end - (const char *)p));
        return NULL;
    }
    if (root == NULL) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= (const char *)p && at <= (const char *)p + len
                         ? (size_t)(at - (const char *)p)
                         : 0;

        fld_err_set(err, FLD_EPROTO, "malformed JSON near byte %zu", off);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        fld_err_set(err, FLD_EPROTO, "the message is not a JSON object");
        return NULL;
    }
    return root;
}

static void print(const cJSON *root, struct fld_buf *out)
{
    char *s = need(cJSON_PrintUnformatted(root));

    fld_buf_puts(out, s);
    cJSON_free(s);
}

static void add_string(cJSON *obj, const char *key, const char *value)
{
    need(cJSON_AddStringToObject(obj, key, value));
}

static void add_int(cJSON *obj, const char *key, int64_t value)
{
    need(cJSON_AddNumberToObject(obj, key, (double)value));
}

/* A member that must be a string (absent: FLD_NOTFOUND, *out NULL). */
static int get_string(const cJSON *obj, const char *key, const char *where,
                      const char **out, struct fld_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return FLD_NOTFOUND;
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return fld_err_set(err, FLD_EINVAL, "%s\"%s\" must be a string", where,
                           key);
    *out = v->valuestring;
    return FLD_OK;
}

/* A member that must be an integer in [lo, hi]. */
static int get_int(const cJSON *obj, const char *key, const char *where,
                   int64_t lo, int64_t hi, int64_t *out, struct fld_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    double d;

    if (v == NULL || cJSON_IsNull(v))
        return FLD_NOTFOUND;
    if (!cJSON_IsNumber(v))
        return fld_err_set(err, FLD_EINVAL, "%s\"%s\" must be an integer",
                           where, key);
    d = v->valuedouble;
    if (!(d == floor(d)) || d < (double)lo || d > (double)hi)
        return fld_err_set(err, FLD_EINVAL,
                           "%s\"%s\" must be an integer from %" PRId64
                           " to %" PRId64,
                           where, key, lo, hi);
    *out = (int64_t)d;
    return FLD_OK;
}

static int get_bool(const cJSON *obj, const char *key, bool *out,
                    struct fld_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (v == NULL || cJSON_IsNull(v))
        return FLD_NOTFOUND;
    if (!cJSON_IsBool(v))
        return fld_err_set(err, FLD_EINVAL, "\"%s\" must be true or false",
                           key);
    *out = cJSON_IsTrue(v);
    return FLD_OK;
}

/* An array member (absent: FLD_NOTFOUND), at most max items. */
static int get_array(const cJSON *obj, const char *key, size_t max,
                     const cJSON **out, size_t *n, struct fld_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    int count;

    *out = NULL;
    *n = 0;
    if (v == NULL || cJSON_IsNull(v))
        return FLD_NOTFOUND;
    if (!cJSON_IsArray(v))
        return fld_err_set(err, FLD_EINVAL, "\"%s\" must be an array", key);
    count = cJSON_GetArraySize(v);
    if ((size_t)count > max)
        return fld_err_set(err, FLD_ELIMIT, "\"%s\" has %d items; at most %zu",
                           key, count, max);
    *out = v;
    *n = (size_t)count;
    return FLD_OK;
}

/* ---- items -------------------------------------------------------------- */

void syn_item_set(struct syn_item *it, const uint8_t *body, size_t len,
                  const uint8_t sig[FLD_SIG_LEN])
{
    it->body = fld_xmalloc(len + 1);
    memcpy(it->body, body, len);
    it->body[len] = '\0';
    it->body_len = len;
    memcpy(it->sig, sig, FLD_SIG_LEN);
}

/* One item, {"body":...,"sig":...,"seq":N}, written directly as cJSON
 * would print it (pushed ones go without seq): the one writer of items,
 * for requests, answers and threshold pages alike. */
static void write_item(struct fld_buf *out, const struct syn_item *it,
                       bool with_seq)
{
    char sig[2 * FLD_SIG_LEN + 1];

    fld_buf_puts(out, "{\"body\":");
    fld_json_write_string(out, (const char *)it->body, it->body_len);
    fld_hex_encode(it->sig, FLD_SIG_LEN, sig);
    fld_buf_printf(out, ",\"sig\":\"%s\"", sig);
    if (with_seq)
        fld_buf_printf(out, ",\"seq\":%" PRId64, it->seq);
    fld_buf_putc(out, '}');
}

static int item_read(cJSON *o, const char *list, size_t i, struct syn_item *it,
                     struct fld_err *err)
{
    const char *body, *sig;
    cJSON *node;
    char where[48];
    int rc;

    snprintf(where, sizeof where, "%s[%zu]: ", list, i);
    if (!cJSON_IsObject(o))
        return fld_err_set(err, FLD_EINVAL, "%s[%zu] must be an object", list,
                           i);
    rc = get_string(o, "body", where, &body, err);
    if (rc == FLD_OK)
        rc = get_string(o, "sig", where, &sig, err);
    if (rc != FLD_OK)
        return rc == FLD_NOTFOUND
                   ? fld_err_set(err, FLD_EINVAL,
                                 "%s\"body\" and \"sig\" are required", where)
                   : rc;
    if (!fld_is_hex(sig, 2 * FLD_SIG_LEN))
        return fld_err_set(err, FLD_EINVAL,
                           "%s\"sig\" must be 128 lowercase hex digits", where);
    /* The body is taken from the tree rather than copied: a page holds
     * 500 of them, and the tree is deleted once it is read. */
    node = cJSON_GetObjectItemCaseSensitive(o, "body");
    it->body_len = strlen(body);
    it->body = (uint8_t *)node->valuestring;
    node->valuestring = NULL;
    fld_hex_decode(sig, it->sig, FLD_SIG_LEN);
    if (get_int(o, "seq", where, 0, FLD_JSON_MAX_INT, &it->seq, err) ==
        FLD_EINVAL)
        return FLD_EINVAL;
    return FLD_OK;
}

static void items_free(struct syn_item *items, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(items[i].body);
    free(items);
}

/* Read the array `key` of items; absent is an empty list. */
static int items_read(cJSON *root, const char *key, size_t max,
                      struct syn_item **out, size_t *n_out, struct fld_err *err)
{
    const cJSON *checked;
    cJSON *arr, *o;
    size_t n, i = 0;
    int rc = get_array(root, key, max, &checked, &n, err);

    *out = NULL;
    *n_out = 0;
    if (rc == FLD_NOTFOUND)
        return FLD_OK;
    if (rc != FLD_OK)
        return rc;
    arr = cJSON_GetObjectItemCaseSensitive(root, key); /* checked's own */
    *out = fld_xcalloc(n ? n : 1, sizeof **out);
    cJSON_ArrayForEach(o, arr)
    {
        if ((rc = item_read(o, key, i, &(*out)[i], err)) != FLD_OK) {
            items_free(*out, i + 1);
            *out = NULL;
            return rc;
        }
        i++;
    }
    *n_out = n;
    return FLD_OK;
}

/* ---- POST /v1/sync ------------------------------------------------------ */

static const char *const status_names[] = {
    [SYN_STORED] = "stored",
    [SYN_DUPLICATE] = "duplicate",
    [SYN_QUARANTINED] = "quarantined",
    [SYN_REFUSED] = "refused",
};

const char *syn_push_status_name(enum syn_push_status s)
{
    return (unsigned)s < sizeof status_names / sizeof status_names[0]
               ? status_names[s]
               : "unknown";
}

/*
 * Requests are written directly rather than through cJSON: a push is 500
 * bodies of a few kilobytes, and building a cJSON tree of copies only to
 * print it again cost more than gzipping the result. The push array comes
 * first and the cursor last, so that a client can write (and compress)
 * the versions before it knows the cursor they go with.
 */
void syn_sync_request_encode_item(const struct syn_item *it, bool first,
                                  struct fld_buf *out)
{
    fld_buf_puts(out, first ? "{\"push\":[" : ",");
    write_item(out, it, false);
}

void syn_sync_request_encode_end(const char *cursor, int64_t limit,
                                 bool has_items, struct fld_buf *out)
{
    fld_buf_puts(out, has_items ? "],\"cursor\":" : "{\"push\":[],\"cursor\":");
    if (cursor)
        fld_json_write_string(out, cursor, strlen(cursor));
    else
        fld_buf_puts(out, "null");
    fld_buf_printf(out, ",\"limit\":%" PRId64 "}", limit);
}

void syn_sync_request_encode(const struct syn_sync_request *r,
                             struct fld_buf *out)
{
    size_t i;

    for (i = 0; i < r->n_push; i++)
        syn_sync_request_encode_item(&r->push[i], i == 0, out);
    syn_sync_request_encode_end(r->cursor, r->limit, r->n_push > 0, out);
}

int syn_sync_request_decode(const uint8_t *p, size_t len,
                            struct syn_sync_request **out, struct fld_err *err)
{
    cJSON *root = parse(p, len, err);
    struct syn_sync_request *r;
    const char *cursor;
    int rc;

    *out = NULL;
    if (root == NULL)
        return err ? err->code : FLD_EINVAL;
    r = fld_xcalloc(1, sizeof *r);
    r->limit = SYN_DEFAULT_LIMIT;
    rc = get_string(root, "cursor", "", &cursor, err);
    if (rc == FLD_OK &&
        (strlen(cursor) == 0 || strlen(cursor) > SYN_MAX_CURSOR))
        rc = fld_err_set(err, FLD_EINVAL,
                         "\"cursor\" must be 1 to %d characters",
                         SYN_MAX_CURSOR);
    if (rc == FLD_OK)
        r->cursor = fld_xstrdup(cursor);
    if (rc == FLD_OK || rc == FLD_NOTFOUND)
        rc = get_int(root, "limit", "", 1, SYN_MAX_LIMIT, &r->limit, err);
    if (rc == FLD_OK || rc == FLD_NOTFOUND)
        rc = items_read(root, "push", SYN_MAX_PUSH, &r->push, &r->n_push, err);
    cJSON_Delete(root);
    if (rc != FLD_OK && rc != FLD_NOTFOUND) {
        syn_sync_request_free(r);
        return rc;
    }
    *out = r;
    return FLD_OK;
}

void syn_sync_request_free(struct syn_sync_request *r)
{
    if (r == NULL)
        return;
    free(r->cursor);
    items_free(r->push, r->n_push);
    free(r);
}

/* A member's name and value as cJSON writes them, after sep ('{' or ','). */
static void write_member(struct fld_buf *out, char sep, const char *key,
                         const char *value)
{
    fld_buf_printf(out, "%c\"%s\":", sep, key);
    fld_json_write_string(out, value, strlen(value));
}

/*
 * Answers are written directly too, for the same reason: a page of 500
 * pulled versions built as a cJSON tree copied every body, and printing
 * it escaped them byte by byte; the two were 38% of the server's
 * processor time during a pull. The bytes are the ones cJSON would write for
 * the same members in the same order (test_sync_response_as_cjson_writes).
 */
void syn_sync_response_encode(const struct syn_sync_response *r,
                              struct fld_buf *out)
{
    size_t i, room = 256 + r->n_results * 256;

    /* Room for it all at once: each item's body, which grows by about a
     * tenth when its quotes are escaped (a sixth is allowed for), and
     * its signature (128 hex digits), seq and names. */
    for (i = 0; i < r->n_pull; i++)
        room += r->pull[i].body_len + r->pull[i].body_len / 6 + 192;
    fld_buf_reserve(out, room);
    fld_buf_puts(out, "{\"results\":[");
    for (i = 0; i < r->n_results; i++) {
        const struct syn_result *res = &r->results[i];

        if (i > 0)
            fld_buf_putc(out, ',');
        write_member(out, '{', "hash", res->hash);
        write_member(out, ',', "status", syn_push_status_name(res->status));
        if (res->reason[0])
            write_member(out, ',', "reason", res->reason);
        if (res->message)
            write_member(out, ',', "message", res->message);
        fld_buf_putc(out, '}');
    }
    fld_buf_puts(out, "],\"pull\":[");
    for (i = 0; i < r->n_pull; i++) {
        if (i > 0)
            fld_buf_putc(out, ',');
        write_item(out, &r->pull[i], true);
    }
    fld_buf_putc(out, ']');
    write_member(out, ',', "cursor", r->cursor ? r->cursor : "");
    fld_buf_printf(out, ",\"more\":%s,\"reset\":%s,\"server_time\":%" PRId64,
                   r->more ? "true" : "false", r->reset ? "true" : "false",
                   r->server_time);
    if (r->thresholds >= 0)
        fld_buf_printf(out, ",\"thresholds\":%" PRId64, r->thresholds);
    fld_buf_putc(out, '}');
}

static int result_read(const cJSON *o, size_t i, struct syn_result *res,
                       struct fld_err *err)
{
    const char *hash, *status, *reason, *message;
    char where[32];
    size_t s;
    int rc;

    snprintf(where, sizeof where, "results[%zu]: ", i);
    if (!cJSON_IsObject(o))
        return fld_err_set(err, FLD_EINVAL, "results[%zu] must be an object",
                           i);
    rc = get_string(o, "hash", where, &hash, err);
    if (rc != FLD_OK || !fld_is_hex(hash, FLD_HASH_HEX_LEN))
        return rc == FLD_EINVAL
                   ? rc
                   : fld_err_set(err, FLD_EINVAL, "%s\"hash\" must be a hash",
                                 where);
    memcpy(res->hash, hash, FLD_HASH_HEX_LEN + 1);
    if ((rc = get_string(o, "status", where, &status, err)) != FLD_OK)
        return rc == FLD_EINVAL ? rc
                                : fld_err_set(err, FLD_EINVAL,
                                              "%s\"status\" missing", where);
    for (s = 0; s < sizeof status_names / sizeof status_names[0]; s++)
        if (strcmp(status, status_names[s]) == 0)
            break;
    if (s == sizeof status_names / sizeof status_names[0])
        return fld_err_set(err, FLD_EINVAL, "%sunknown status \"%.32s\"", where,
                           status);
    res->status = (enum syn_push_status)s;
    if ((rc = get_string(o, "reason", where, &reason, err)) == FLD_EINVAL)
        return rc;
    if (reason)
        snprintf(res->reason, sizeof res->reason, "%s", reason);
    if ((rc = get_string(o, "message", where, &message, err)) == FLD_EINVAL)
        return rc;
    if (message)
        res->message = fld_xstrdup(message);
    return FLD_OK;
}

int syn_sync_response_decode(const uint8_t *p, size_t len,
                             struct syn_sync_response **out,
                             struct fld_err *err)
{
    cJSON *root = parse(p, len, err);
    struct syn_sync_response *r;
    const cJSON *arr, *o;
    const char *cursor;
    size_t n, i = 0;
    int rc;

    *out = NULL;
    if (root == NULL)
        return err ? err->code : FLD_EINVAL;
    r = fld_xcalloc(1, sizeof *r);
    rc = get_array(root, "results", SYN_MAX_PUSH, &arr, &n, err);
    if (rc == FLD_OK) {
        r->results = fld_xcalloc(n ? n : 1, sizeof *r->results);
        r->n_results = n;
        cJSON_ArrayForEach(o, arr)
        {
            if ((rc = result_read(o, i, &r->results[i], err)) != FLD_OK)
                break;
            i++;
        }
    }
    if (rc == FLD_OK || rc == FLD_NOTFOUND)
        rc = items_read(root, "pull", SYN_MAX_LIMIT, &r->pull, &r->n_pull, err);
    if (rc == FLD_OK || rc == FLD_NOTFOUND) {
        rc = get_string(root, "cursor", "", &cursor, err);
        if (rc == FLD_OK)
            r->cursor = fld_xstrdup(cursor);
        else if (rc == FLD_NOTFOUND)
            rc = fld_err_set(err, FLD_EINVAL, "\"cursor\" missing");
    }
    if (rc == FLD_OK)
        rc = get_bool(root, "more", &r->more, err);
    if (rc == FLD_OK || rc == FLD_NOTFOUND)
        rc = get_bool(root, "reset", &r->reset, err);
    if (rc == FLD_OK || rc == FLD_NOTFOUND)
        rc = get_int(root, "server_time", "", 0, FLD_JSON_MAX_INT,
                     &r->server_time, err);
    r->thresholds = -1; /* a server that does not say */
    if (rc == FLD_OK || rc == FLD_NOTFOUND)
        rc = get_int(root, "thresholds", "", 0, FLD_JSON_MAX_INT,
                     &r->thresholds, err);
    cJSON_Delete(root);
    if (rc != FLD_OK && rc != FLD_NOTFOUND) {
        syn_sync_response_free(r);
        return rc;
    }
    *out = r;
    return FLD_OK;
}

void syn_thresholds_page_encode(const struct syn_thresholds_page *p,
                                struct fld_buf *out)
{
    size_t i;

    fld_buf_puts(out, "{\"thresholds\":[");
    for (i = 0; i < p->n; i++) {
        if (i > 0)
            fld_buf_putc(out, ',');
        write_item(out, &p->items[i], true);
    }
    fld_buf_printf(out, "],\"more\":%s}", p->more ? "true" : "false");
}

int syn_thresholds_page_decode(const uint8_t *p, size_t len,
                               struct syn_thresholds_page **out,
                               struct fld_err *err)
{
    cJSON *root = parse(p, len, err);
    struct syn_thresholds_page *r;
    int rc;

    *out = NULL;
    if (root == NULL)
        return err ? err->code : FLD_EINVAL;
    r = fld_xcalloc(1, sizeof *r);
    rc = items_read(root, "thresholds", SYN_THRESHOLDS_PAGE, &r->items, &r->n,
                    err);
    if (rc == FLD_OK)
        rc = get_bool(root, "more", &r->more, err);
    cJSON_Delete(root);
    if (rc != FLD_OK && rc != FLD_NOTFOUND) {
        syn_thresholds_page_free(r);
        return rc;
    }
    *out = r;
    return FLD_OK;
}

void syn_thresholds_page_free(struct syn_thresholds_page *p)
{
    if (p == NULL)
        return;
    items_free(p->items, p->n);
    free(p);
}

void syn_sync_response_free(struct syn_sync_response *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n_results; i++)
        free(r->results[i].message);
    free(r->results);
    items_free(r->pull, r->n_pull);
    free(r->cursor);
    free(r);
}

/* ---- POST /v1/enroll ---------------------------------------------------- */

void syn_enroll_request_encode(const struct syn_enroll_request *r,
                               struct fld_buf *out)
{
    cJSON *root = need(cJSON_CreateObject());

    add_string(root, "code", r->code);
    add_string(root, "public_key", r->public_key);
    print(root, out);
    cJSON_Delete(root);
}

int syn_enroll_request_decode(const uint8_t *p, size_t len,
                              struct syn_enroll_request *out,
                              struct fld_err *err)
{
    cJSON *root = parse(p, len, err);
    const char *code = NULL, *pub = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (root == NULL)
        return err ? err->code : FLD_EINVAL;
    rc = get_string(root, "code", "", &code, err);
    if (rc == FLD_OK)
        rc = get_string(root, "public_key", "", &pub, err);
    if (rc == FLD_NOTFOUND)
        rc = fld_err_set(err, FLD_EINVAL,
                         "\"code\" and \"public_key\" are required");
    else if (rc == FLD_OK && (strlen(code) == 0 || strlen(code) > SYN_MAX_CODE))
        rc = fld_err_set(err, FLD_EINVAL, "\"code\" must be 1 to %d characters",
                         SYN_MAX_CODE);
    else if (rc == FLD_OK && !fld_is_hex(pub, FLD_HASH_HEX_LEN))
        rc = fld_err_set(err, FLD_EINVAL,
                         "\"public_key\" must be 64 lowercase hex digits");
    if (rc == FLD_OK) {
        snprintf(out->code, sizeof out->code, "%s", code);
        memcpy(out->public_key, pub, FLD_HASH_HEX_LEN + 1);
    }
    cJSON_Delete(root);
    return rc;
}

void syn_enroll_response_encode(const struct syn_enroll_response *r,
                                struct fld_buf *out)
{
    cJSON *root = need(cJSON_CreateObject());
    cJSON *scope;
    size_t i;

    add_string(root, "device", r->device);
    add_string(root, "inspector", r->inspector ? r->inspector : "");
    add_string(root, "role", r->role ? r->role : "");
    scope = need(cJSON_AddArrayToObject(root, "scope"));
    for (i = 0; i < r->n_scope; i++)
        cJSON_AddItemToArray(scope, need(cJSON_CreateString(r->scope[i])));
    add_int(root, "server_time", r->server_time);
    print(root, out);
    cJSON_Delete(root);
}

int syn_enroll_response_decode(const uint8_t *p, size_t len,
                               struct syn_enroll_response **out,
                               struct fld_err *err)
{
    cJSON *root = parse(p, len, err);
    struct syn_enroll_response *r;
    const char *device = NULL, *inspector = NULL, *role = NULL;
    const cJSON *arr, *o;
    size_t n = 0;
    int rc;

    *out = NULL;
    if (root == NULL)
        return err ? err->code : FLD_EINVAL;
    r = fld_xcalloc(1, sizeof *r);
    rc = get_string(root, "device", "", &device, err);
    if (rc == FLD_OK)
        rc = get_string(root, "inspector", "", &inspector, err);
    if (rc == FLD_OK)
        rc = get_string(root, "role", "", &role, err);
    if (rc == FLD_OK)
        rc = get_array(root, "scope", 4096, &arr, &n, err);
    if (rc == FLD_NOTFOUND)
        rc = fld_err_set(err, FLD_EINVAL,
                         "an enrollment answer needs \"device\", "
                         "\"inspector\", \"role\" and \"scope\"");
    if (rc == FLD_OK && !fld_is_hex(device, FLD_HASH_HEX_LEN))
        rc = fld_err_set(err, FLD_EINVAL, "\"device\" must be 64 hex digits");
    if (rc == FLD_OK) {
        memcpy(r->device, device, FLD_HASH_HEX_LEN + 1);
        r->inspector = fld_xstrdup(inspector);
        r->role = fld_xstrdup(role);
        r->scope = fld_xcalloc(n ? n : 1, sizeof *r->scope);
        cJSON_ArrayForEach(o, arr)
        {
            if (!cJSON_IsString(o)) {
                rc =
                    fld_err_set(err, FLD_EINVAL, "\"scope\" must hold strings");
                break;
            }
            r->scope[r->n_scope++] = fld_xstrdup(o->valuestring);
        }
    }
    if (rc == FLD_OK) {
        rc = get_int(root, "server_time", "", 0, FLD_JSON_MAX_INT,
                     &r->server_time, err);
        if (rc == FLD_NOTFOUND)
            rc = FLD_OK;
    }
    cJSON_Delete(root);
    if (rc != FLD_OK) {
        syn_enroll_response_free(r);
        return rc;
    }
    *out = r;
    return FLD_OK;
}

void syn_enroll_response_free(struct syn_enroll_response *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n_scope; i++)
        free(r->scope[i]);
    free(r->scope);
    free(r->inspector);
    free(r->role);
    free(r);
}

/* ---- errors ------------------------------------------------------------- */

void syn_error_encode(const char *code, const char *message,
                      int64_t server_time, struct fld_buf *out)
{
    cJSON *root = need(cJSON_CreateObject());
    cJSON *e = need(cJSON_AddObjectToObject(root, "error"));

    add_string(e, "code", code);
    add_string(e, "message", message);
    if (server_time >= 0)
        add_int(e, "server_time", server_time);
    print(root, out);
    cJSON_Delete(root);
}

int syn_error_decode(const uint8_t *p, size_t len, char code[SYN_REASON_MAX],
                     char *message, size_t message_len, int64_t *server_time)
{
    cJSON *root = parse(p, len, NULL);
    const cJSON *e;
    const char *c = NULL, *m = NULL;
    int rc = FLD_EINVAL;

    *server_time = -1;
    code[0] = '\0';
    if (message_len)
        message[0] = '\0';
    if (root == NULL)
        return FLD_EINVAL;
    e = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (cJSON_IsObject(e) && get_string(e, "code", "", &c, NULL) == FLD_OK) {
        snprintf(code, SYN_REASON_MAX, "%s", c);
        if (get_string(e, "message", "", &m, NULL) == FLD_OK && message_len)
            snprintf(message, message_len, "%s", m);
        if (get_int(e, "server_time", "", 0, FLD_JSON_MAX_INT, server_time,
                    NULL) != FLD_OK)
            *server_time = -1;
        rc = FLD_OK;
    }
    cJSON_Delete(root);
    return rc;
}
