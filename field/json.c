/*
 * json.c - the value tree and the canonical writer of the JSON that
 * field signs (see json.h for the contract, DESIGN.md section 3 for why).
 *
 * Where it sits: every version body is built as a tree here, written once
 * by fld_json_write() into the bytes that are hashed and signed, and every
 * body received from another device or the server comes back through
 * fld_json_check_canonical() (json_parse.c) before its signature is even
 * looked at. Two devices that disagree on a single byte of the canonical
 * form would see each other's signatures fail, so the writer has exactly
 * one output per tree, and the reader (json_parse.c) refuses everything
 * that could be read two ways.
 *
 * The writer checks the reader's bound on nesting, FLD_JSON_MAX_DEPTH, so
 * a tree built by hand cannot recurse deeper than one read from outside.
 * What the two files share is json_int.h.
 */
#include "json_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* ---- constructors and tree operations -------------------------------- */

struct fld_json *fld_json_new(enum fld_json_type type)
{
    struct fld_json *v = fld_xcalloc(1, sizeof *v);

    v->type = type;
    return v;
}

struct fld_json *fld_json_null(void)
{
    return fld_json_new(FLD_JSON_NULL);
}

struct fld_json *fld_json_bool(bool b)
{
    return fld_json_new(b ? FLD_JSON_TRUE : FLD_JSON_FALSE);
}

struct fld_json *fld_json_int(int64_t i)
{
    struct fld_json *v;

    assert(i >= -FLD_JSON_MAX_INT && i <= FLD_JSON_MAX_INT);
    v = fld_json_new(FLD_JSON_INT);
    v->i = i;
    return v;
}

struct fld_json *fld_json_string(const char *s)
{
    return fld_json_stringn(s, strlen(s));
}

/* The bytes are not checked here: fld_json_write() refuses a string that
 * is not valid UTF-8 or holds a NUL, which keeps construction infallible. */
struct fld_json *fld_json_stringn(const char *s, size_t len)
{
    struct fld_json *v;

    assert(s != NULL);
    v = fld_json_new(FLD_JSON_STRING);
    v->s = fld_xstrndup(s, len);
    v->len = len;
    return v;
}

struct fld_json *fld_json_array(void)
{
    return fld_json_new(FLD_JSON_ARRAY);
}

struct fld_json *fld_json_object(void)
{
    return fld_json_new(FLD_JSON_OBJECT);
}

void fld_json_free(struct fld_json *v)
{
    size_t i;

    if (v == NULL)
        return;
    switch (v->type) {
    case FLD_JSON_STRING:
        free(v->s);
        break;
    case FLD_JSON_ARRAY:
        for (i = 0; i < v->n; i++)
            fld_json_free(v->items[i]);
        free(v->items);
        break;
    case FLD_JSON_OBJECT:
        for (i = 0; i < v->n; i++) {
            free(v->members[i].key);
            fld_json_free(v->members[i].value);
        }
        free(v->members);
        break;
    default:
        break;
    }
    free(v);
}

struct fld_json *fld_json_clone(const struct fld_json *v)
{
    struct fld_json *c;
    size_t i;

    if (v == NULL)
        return NULL;
    c = fld_json_new(v->type);
    c->i = v->i;
    if (v->type == FLD_JSON_STRING) {
        c->s = fld_xstrndup(v->s, v->len);
        c->len = v->len;
    } else if (v->type == FLD_JSON_ARRAY && v->n > 0) {
        c->items =
            fld_xreallocarray(NULL, capacity_for(v->n), sizeof *c->items);
        for (i = 0; i < v->n; i++)
            c->items[i] = fld_json_clone(v->items[i]);
        c->n = v->n;
    } else if (v->type == FLD_JSON_OBJECT && v->n > 0) {
        c->members =
            fld_xreallocarray(NULL, capacity_for(v->n), sizeof *c->members);
        for (i = 0; i < v->n; i++) {
            c->members[i].key = fld_xstrdup(v->members[i].key);
            c->members[i].value = fld_json_clone(v->members[i].value);
        }
        c->n = v->n;
    }
    return c;
}

/* Two NULLs are equal; NULL and a value are not. Objects are sorted, so
 * comparing members in order compares them as sets. */
bool fld_json_equal(const struct fld_json *a, const struct fld_json *b)
{
    size_t i;

    if (a == NULL || b == NULL)
        return a == b;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case FLD_JSON_INT:
        return a->i == b->i;
    case FLD_JSON_STRING:
        return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    case FLD_JSON_ARRAY:
        if (a->n != b->n)
            return false;
        for (i = 0; i < a->n; i++)
            if (!fld_json_equal(a->items[i], b->items[i]))
                return false;
        return true;
    case FLD_JSON_OBJECT:
        if (a->n != b->n)
            return false;
        for (i = 0; i < a->n; i++)
            if (strcmp(a->members[i].key, b->members[i].key) != 0 ||
                !fld_json_equal(a->members[i].value, b->members[i].value))
                return false;
        return true;
    default:
        return true; /* null, false, true: the type is the value */
    }
}

void fld_json_append(struct fld_json *arr, struct fld_json *value)
{
    assert(arr != NULL && arr->type == FLD_JSON_ARRAY);
    assert(value != NULL);
    if (is_full(arr->n))
        arr->items = fld_xreallocarray(arr->items, grown_capacity(arr->n),
                                       sizeof *arr->items);
    arr->items[arr->n++] = value;
}

static bool is_ascii_key(const char *key)
{
    const unsigned char *k = (const unsigned char *)key;

    if (key == NULL)
        return false;
    for (; *k != '\0'; k++)
        if (*k >= 0x80)
            return false;
    return true;
}

/*
 * Binary search over the sorted members. Returns the index of key, or the
 * index where it would be inserted; *found tells which. strcmp() compares
 * as unsigned char, which for ASCII keys is the byte order JCS asks for.
 */
static size_t find_key(const struct fld_json *obj, const char *key, bool *found)
{
    size_t lo = 0, hi = obj->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(obj->members[mid].key, key);

        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

void fld_json_set(struct fld_json *obj, const char *key, struct fld_json *value)
{
    struct fld_json_member *m;
    bool found;
    size_t at;

    assert(obj != NULL && obj->type == FLD_JSON_OBJECT);
    assert(value != NULL);
    assert(is_ascii_key(key));
    at = find_key(obj, key, &found);
    if (found) {
        /* Setting the value a member already holds must not free it. */
        if (obj->members[at].value != value)
            fld_json_free(obj->members[at].value);
        obj->members[at].value = value;
        return;
    }
    if (is_full(obj->n))
        obj->members = fld_xreallocarray(obj->members, grown_capacity(obj->n),
                                         sizeof *obj->members);
    m = obj->members + at;
    memmove(m + 1, m, (obj->n - at) * sizeof *m);
    m->key = fld_xstrdup(key);
    m->value = value;
    obj->n++;
}

bool fld_json_remove(struct fld_json *obj, const char *key)
{
    struct fld_json_member *m;
    bool found;
    size_t at;

    assert(obj != NULL && obj->type == FLD_JSON_OBJECT);
    at = find_key(obj, key, &found);
    if (!found)
        return false;
    m = obj->members + at;
    free(m->key);
    fld_json_free(m->value);
    memmove(m, m + 1, (obj->n - at - 1) * sizeof *m);
    obj->n--;
    return true;
}

struct fld_json *fld_json_get_mut(struct fld_json *obj, const char *key)
{
    bool found;
    size_t at;

    if (obj == NULL || obj->type != FLD_JSON_OBJECT || key == NULL)
        return NULL;
    at = find_key(obj, key, &found);
    return found ? obj->members[at].value : NULL;
}

const struct fld_json *fld_json_get(const struct fld_json *obj, const char *key)
{
    /* The cast only lets one search serve both getters; nothing is
     * written through it. */
    return fld_json_get_mut((struct fld_json *)obj, key);
}

const char *fld_json_get_string(const struct fld_json *obj, const char *key)
{
    const struct fld_json *v = fld_json_get(obj, key);

    return v != NULL && v->type == FLD_JSON_STRING ? v->s : NULL;
}

/* *out is cleared when the answer is false, as every output of ours is. */
bool fld_json_get_int(const struct fld_json *obj, const char *key, int64_t *out)
{
    const struct fld_json *v = fld_json_get(obj, key);

    if (v == NULL || v->type != FLD_JSON_INT) {
        *out = 0;
        return false;
    }
    *out = v->i;
    return true;
}

/* ---- the canonical writer -------------------------------------------- */

/*
 * The seven two-character escapes of the canonical form (RFC 8785 section
 * 3.2.2.2), with the byte each stands for. The reader also accepts \/,
 * which JSON allows but the canonical form never uses.
 */
static const struct {
    uint8_t letter;
    uint8_t byte;
} short_escapes[] = {
    {'"', '"'},  {'\\', '\\'}, {'b', 0x08}, {'f', 0x0c},
    {'n', 0x0a}, {'r', 0x0d},  {'t', 0x09},
};

#define N_SHORT_ESCAPES (sizeof short_escapes / sizeof short_escapes[0])

uint8_t fld_json_escape_letter(uint32_t c)
{
    size_t i;

    for (i = 0; i < N_SHORT_ESCAPES; i++)
        if (short_escapes[i].byte == c)
            return short_escapes[i].letter;
    return 0;
}

int fld_json_escape_byte(int letter)
{
    size_t i;

    for (i = 0; i < N_SHORT_ESCAPES; i++)
        if (short_escapes[i].letter == letter)
            return short_escapes[i].byte;
    return -1;
}

void fld_json_write_string(struct fld_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s;
    size_t i, run = 0;

    fld_buf_putc(out, '"');
    for (i = 0; i < len; i++) {
        uint8_t letter;

        if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\')
            continue;
        fld_buf_append(out, p + run, i - run);
        run = i + 1;
        letter = fld_json_escape_letter(p[i]);
        if (letter != 0) {
            const uint8_t esc[2] = {'\\', letter};

            fld_buf_append(out, esc, 2);
        } else {
            uint8_t esc[6] = "\\u00"; /* and two hex digits: */

            esc[4] = (uint8_t)hex[p[i] >> 4];
            esc[5] = (uint8_t)hex[p[i] & 15];
            fld_buf_append(out, esc, 6);
        }
    }
    fld_buf_append(out, p + run, len - run);
    fld_buf_putc(out, '"');
}

/* Plain decimal; the range check has been done, so negation is safe. */
static void write_int(struct fld_buf *out, int64_t i)
{
    char digits[24];
    size_t k = sizeof digits;
    uint64_t m = i < 0 ? (uint64_t)-i : (uint64_t)i;

    do {
        digits[--k] = (char)('0' + m % 10);
        m /= 10;
    } while (m != 0);
    if (i < 0)
        digits[--k] = '-';
    fld_buf_append(out, digits + k, sizeof digits - k);
}

void fld_json_quote_key(const char *key, char out[FLD_JSON_QUOTED_KEY_MAX])
{
    struct fld_buf b = FLD_BUF_INIT;

    fld_json_write_string(&b, key, strlen(key));
    if (b.len < FLD_JSON_QUOTED_KEY_MAX) {
        memcpy(out, b.data, b.len + 1);
    } else {
        memcpy(out, b.data, 64);
        memcpy(out + 64, "...\"", 5);
    }
    fld_buf_free(&b);
}

static int write_value(const struct fld_json *v, struct fld_buf *out, int depth,
                       struct fld_err *err);

static int write_array(const struct fld_json *v, struct fld_buf *out, int depth,
                       struct fld_err *err)
{
    size_t i;
    int rc;

    fld_buf_putc(out, '[');
    for (i = 0; i < v->n; i++) {
        if (i > 0)
            fld_buf_putc(out, ',');
        rc = write_value(v->items[i], out, depth, err);
        if (rc != FLD_OK) {
            fld_err_prefix(err, "item %zu", i);
            return rc;
        }
    }
    fld_buf_putc(out, ']');
    return FLD_OK;
}

/*
 * The tree functions keep members sorted and unique, but the fields are
 * public, so a tree changed by hand is checked rather than trusted: signing
 * unsorted keys would produce bytes no reader accepts.
 */
static int write_object(const struct fld_json *v, struct fld_buf *out,
                        int depth, struct fld_err *err)
{
    char quoted[FLD_JSON_QUOTED_KEY_MAX], prev[FLD_JSON_QUOTED_KEY_MAX];
    size_t i;
    int rc;

    fld_buf_putc(out, '{');
    for (i = 0; i < v->n; i++) {
        const char *key = v->members[i].key;

        if (!is_ascii_key(key))
            return fld_err_set(err, FLD_EINVAL,
                               "member %zu: key missing "
                               "or not ASCII",
                               i);
        if (i > 0 && strcmp(v->members[i - 1].key, key) >= 0) {
            fld_json_quote_key(key, quoted);
            fld_json_quote_key(v->members[i - 1].key, prev);
            return fld_err_set(err, FLD_EINVAL,
                               "key %s after %s: keys "
                               "not sorted or repeated",
                               quoted, prev);
        }
        if (i > 0)
            fld_buf_putc(out, ',');
        fld_json_write_string(out, key, strlen(key));
        fld_buf_putc(out, ':');
        rc = write_value(v->members[i].value, out, depth, err);
        if (rc != FLD_OK) {
            fld_json_quote_key(key, quoted);
            fld_err_prefix(err, "key %s", quoted);
            return rc;
        }
    }
    fld_buf_putc(out, '}');
    return FLD_OK;
}

static int write_value(const struct fld_json *v, struct fld_buf *out, int depth,
                       struct fld_err *err)
{
    assert(v != NULL);
    switch (v->type) {
    case FLD_JSON_NULL:
        fld_buf_puts(out, "null");
        return FLD_OK;
    case FLD_JSON_FALSE:
        fld_buf_puts(out, "false");
        return FLD_OK;
    case FLD_JSON_TRUE:
        fld_buf_puts(out, "true");
        return FLD_OK;
    case FLD_JSON_INT:
        if (v->i < -FLD_JSON_MAX_INT || v->i > FLD_JSON_MAX_INT)
            return fld_err_set(
                err, FLD_EINVAL,
                "integer %" PRId64 " out of range (|n| > 2^53-1)", v->i);
        write_int(out, v->i);
        return FLD_OK;
    case FLD_JSON_STRING:
        if (v->s == NULL || !fld_utf8_valid((const uint8_t *)v->s, v->len))
            return fld_err_set(err, FLD_EINVAL,
                               "string is not valid UTF-8 "
                               "or contains NUL");
        fld_json_write_string(out, v->s, v->len);
        return FLD_OK;
    case FLD_JSON_ARRAY:
    case FLD_JSON_OBJECT:
        if (depth >= FLD_JSON_MAX_DEPTH)
            return fld_err_set(err, FLD_EINVAL, "nesting deeper than %d",
                               FLD_JSON_MAX_DEPTH);
        if (v->type == FLD_JSON_ARRAY)
            return write_array(v, out, depth + 1, err);
        return write_object(v, out, depth + 1, err);
    }
    return fld_err_set(err, FLD_EINVAL, "unknown value type %d", (int)v->type);
}

/* On failure out is put back as it was, so no half value is ever left
 * where a caller might hash it. */
int fld_json_write(const struct fld_json *v, struct fld_buf *out,
                   struct fld_err *err)
{
    size_t start = out->len;
    int rc = write_value(v, out, 0, err);

    if (rc != FLD_OK && out->data != NULL) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}
