/*
 * json.h - the canonical JSON of signed records: a value tree, a strict
 * reader and the one canonical writer.
 *
 * Everything field signs is serialised by fld_json_write(), which emits the
 * subset of RFC 8785 (JSON Canonicalization Scheme) that DESIGN.md section 3
 * allows:
 *   - object keys are ASCII and sorted by their bytes; no duplicates;
 *   - no insignificant white space;
 *   - numbers are integers with |n| < 2^53, written in plain decimal (no
 *     exponent, no fraction, no "-0"); decimals travel as strings;
 *   - strings are valid UTF-8 with the minimal JCS escapes: \" \\ \b \f \n
 *     \r \t, other control characters as \u00xx (lowercase hex), everything
 *     else as the UTF-8 bytes themselves. U+0000 is refused so that text is
 *     always a C string.
 *
 * fld_json_parse() reads ordinary JSON text (white space and any escapes
 * allowed) but refuses anything outside that subset: duplicate keys,
 * non-ASCII keys, invalid UTF-8 (including lone surrogates in \u escapes),
 * fractions, exponents, integers out of range, "-0", nesting deeper than
 * FLD_JSON_MAX_DEPTH, trailing bytes. fld_json_check_canonical() then tells
 * whether the bytes were exactly what the writer would produce, which is how
 * an imported signed body is checked.
 *
 * cJSON stays the parser for protocol messages; it is never used for signed
 * bytes (it keeps duplicate keys, rounds big integers, accepts bad UTF-8).
 */
#ifndef FLD_JSON_H
#define FLD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define FLD_JSON_MAX_DEPTH 32
#define FLD_JSON_MAX_INT 9007199254740991LL /* 2^53 - 1 */

enum fld_json_type {
    FLD_JSON_NULL,
    FLD_JSON_FALSE,
    FLD_JSON_TRUE,
    FLD_JSON_INT,
    FLD_JSON_STRING,
    FLD_JSON_ARRAY,
    FLD_JSON_OBJECT
};

struct fld_json;

struct fld_json_member {
    char *key; /* ASCII, NUL-terminated */
    struct fld_json *value;
};

/*
 * A JSON value. Fields are read directly; change a tree only through the
 * functions below so that objects stay sorted and free of duplicates.
 */
struct fld_json {
    enum fld_json_type type;
    int64_t i;                       /* FLD_JSON_INT */
    char *s;                         /* FLD_JSON_STRING, NUL-terminated */
    size_t len;                      /* FLD_JSON_STRING: bytes in s */
    size_t n;                        /* ARRAY: items; OBJECT: members */
    struct fld_json **items;         /* FLD_JSON_ARRAY */
    struct fld_json_member *members; /* FLD_JSON_OBJECT, sorted by key */
};

/*
 * Parse len bytes at p. On success *out is a new tree (fld_json_free()).
 * On failure *out is NULL and err says what and where ("byte 17: duplicate
 * key \"a\""): FLD_EINVAL for malformed or out-of-subset input, FLD_ELIMIT
 * for nesting beyond FLD_JSON_MAX_DEPTH.
 */
int fld_json_parse(const uint8_t *p, size_t len, struct fld_json **out,
                   struct fld_err *err);

/*
 * Append s (len bytes, valid UTF-8) as a canonical JSON string: the seven
 * short escapes, \u00xx in lowercase for the other bytes below 0x20, and
 * every other byte as it is (including '/', DEL and non-ASCII UTF-8) -
 * the same bytes cJSON writes for it.
 */
void fld_json_write_string(struct fld_buf *out, const char *s, size_t len);

/*
 * Append the canonical bytes of v to out. Returns FLD_OK, or FLD_EINVAL if
 * the tree holds something the subset forbids (an integer out of range, a
 * string that is not valid UTF-8) - possible only for trees built by hand.
 */
int fld_json_write(const struct fld_json *v, struct fld_buf *out,
                   struct fld_err *err);

/*
 * FLD_OK when p..len parses and re-serialises to exactly the same bytes;
 * FLD_EINVAL (with the reason) otherwise.
 */
int fld_json_check_canonical(const uint8_t *p, size_t len, struct fld_err *err);

/* Constructors; each returns a new value owned by the caller. */
struct fld_json *fld_json_null(void);
struct fld_json *fld_json_bool(bool b);
/* |i| must be <= FLD_JSON_MAX_INT (asserted: callers range-check input). */
struct fld_json *fld_json_int(int64_t i);
struct fld_json *fld_json_string(const char *s);
struct fld_json *fld_json_stringn(const char *s, size_t len);
struct fld_json *fld_json_array(void);
struct fld_json *fld_json_object(void);

/* Deep copy. */
struct fld_json *fld_json_clone(const struct fld_json *v);
/* Structural equality (same type and same contents). */
bool fld_json_equal(const struct fld_json *a, const struct fld_json *b);
void fld_json_free(struct fld_json *v);

/* Append value (ownership passes to arr). */
void fld_json_append(struct fld_json *arr, struct fld_json *value);

/*
 * Set key in obj to value, replacing and freeing any previous value; obj
 * takes ownership of value. key must be ASCII (asserted).
 */
void fld_json_set(struct fld_json *obj, const char *key,
                  struct fld_json *value);
/* Remove key from obj (freeing its value); false if it was absent. */
bool fld_json_remove(struct fld_json *obj, const char *key);
/* The member value, borrowed from obj, or NULL when absent or not an object. */
const struct fld_json *fld_json_get(const struct fld_json *obj,
                                    const char *key);
struct fld_json *fld_json_get_mut(struct fld_json *obj, const char *key);
/* Typed getters: NULL / false when absent or of another type. */
const char *fld_json_get_string(const struct fld_json *obj, const char *key);
bool fld_json_get_int(const struct fld_json *obj, const char *key,
                      int64_t *out);

/* Room for a quoted key in a message: 64 bytes of it, "...\"" and NUL. */
#define FLD_JSON_QUOTED_KEY_MAX 72

/*
 * A key as it would appear in canonical JSON, cut to a readable length,
 * for error messages: keys may hold quotes or control characters, and a
 * message must stay one printable line.
 */
void fld_json_quote_key(const char *key, char out[FLD_JSON_QUOTED_KEY_MAX]);

#endif
