/*
 * json_parse.c - the strict reader of the JSON that field signs
 * (fld_json_parse() and fld_json_check_canonical() in json.h).
 *
 * Where it sits: every body received from another device or the server
 * comes through fld_json_check_canonical() before its signature is even
 * looked at; templates and bundles are read with fld_json_parse(). It
 * reads ordinary JSON text but refuses everything that could be read two
 * ways (json.h lists what), and builds the same trees as json.c.
 *
 * The reader is a plain recursive-descent parser. Recursion is bounded:
 * each array or object adds one level, and a level past FLD_JSON_MAX_DEPTH
 * is refused before anything is allocated for it. While it reads, the
 * parser also notes the first place where the input departs from the
 * canonical form (white space, an escape the writer would not use, keys
 * out of order); fld_json_check_canonical() reports that note, and only
 * then compares the input with what the writer (json.c) produces, as the
 * final word.
 *
 * Error messages start with the 0-based byte offset where the problem was
 * found: "byte 17: duplicate key \"a\"".
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_int.h"
#include "utf8.h"

/* ---- the strict reader ----------------------------------------------- */

struct parser {
    const uint8_t *p;
    size_t len;
    size_t pos;          /* next byte to read */
    struct fld_err err;  /* why parsing failed */
    struct fld_err note; /* first departure from the canonical form */
};

static int fail(struct parser *ps, int code, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void note(struct parser *ps, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record "byte <at>: <reason>" as the error and return code. */
static int fail(struct parser *ps, int code, size_t at, const char *fmt, ...)
{
    char reason[FLD_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return fld_err_set(&ps->err, code, "byte %zu: %s", at, reason);
}

static bool has_note(const struct parser *ps)
{
    return ps->note.code != FLD_OK;
}

/* Remember the first non-canonical spot only: the parser moves forward,
 * so the first note is also the earliest in the input. */
static void note(struct parser *ps, size_t at, const char *fmt, ...)
{
    char reason[FLD_ERR_MSG_MAX];
    va_list ap;

    if (has_note(ps))
        return;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    fld_err_set(&ps->note, FLD_EINVAL, "byte %zu: %s", at, reason);
}

/* The next byte, or -1 at the end of the input. */
static int peek(const struct parser *ps)
{
    return ps->pos < ps->len ? ps->p[ps->pos] : -1;
}

/* "expected X, found Y" for the byte at the current position. */
static int expected(struct parser *ps, const char *what)
{
    int c = peek(ps);

    if (c < 0)
        return fail(ps, FLD_EINVAL, ps->pos,
                    "unexpected end of input "
                    "(expected %s)",
                    what);
    if (c > 0x20 && c < 0x7f)
        return fail(ps, FLD_EINVAL, ps->pos, "expected %s, found '%c'", what,
                    c);
    return fail(ps, FLD_EINVAL, ps->pos, "expected %s, found byte 0x%02x", what,
                (unsigned)c);
}

/* The four white-space bytes of RFC 8259; none is canonical. */
static void skip_ws(struct parser *ps)
{
    size_t start = ps->pos;

    while (ps->pos < ps->len &&
           (ps->p[ps->pos] == ' ' || ps->p[ps->pos] == '\t' ||
            ps->p[ps->pos] == '\n' || ps->p[ps->pos] == '\r'))
        ps->pos++;
    if (ps->pos > start)
        note(ps, start, "white space outside strings");
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int parse_literal(struct parser *ps, const char *word,
                         enum fld_json_type type, struct fld_json **out)
{
    size_t n = strlen(word);

    if (ps->len - ps->pos < n || memcmp(ps->p + ps->pos, word, n) != 0)
        return fail(ps, FLD_EINVAL, ps->pos,
                    "invalid literal (expected "
                    "%s)",
                    word);
    ps->pos += n;
    *out = fld_json_new(type);
    return FLD_OK;
}

/*
 * number = [ "-" ] ( "0" / digit1-9 *digit ), and nothing else: no
 * fraction, no exponent, no "-0", magnitude at most 2^53 - 1. Each accepted
 * number thus has one spelling, and any JSON reader, even one that holds
 * numbers as doubles, reads back exactly the same integer. Decimals travel
 * as strings.
 */
static int parse_number(struct parser *ps, struct fld_json **out)
{
    size_t start = ps->pos;
    bool is_negative = false;
    int64_t mag = 0;

    if (peek(ps) == '-') {
        is_negative = true;
        ps->pos++;
    }
    if (!is_digit(peek(ps)))
        return fail(ps, FLD_EINVAL, start, "invalid number");
    if (peek(ps) == '0' && ps->pos + 1 < ps->len &&
        is_digit(ps->p[ps->pos + 1]))
        return fail(ps, FLD_EINVAL, start, "leading zero in number");
    while (is_digit(peek(ps))) {
        int d = ps->p[ps->pos] - '0';

        /* mag * 10 + d <= MAX, checked without overflowing */
        if (mag > (FLD_JSON_MAX_INT - d) / 10)
            return fail(ps, FLD_EINVAL, start,
                        "integer out of range "
                        "(|n| > 2^53-1)");
        mag = mag * 10 + d;
        ps->pos++;
    }
    if (peek(ps) == '.')
        return fail(ps, FLD_EINVAL, ps->pos,
                    "fraction in number (only "
                    "integers; decimals travel as strings)");
    if (peek(ps) == 'e' || peek(ps) == 'E')
        return fail(ps, FLD_EINVAL, ps->pos,
                    "exponent in number (only "
                    "plain integers)");
    if (is_negative && mag == 0)
        return fail(ps, FLD_EINVAL, start, "\"-0\" is not allowed");
    *out = fld_json_new(FLD_JSON_INT);
    (*out)->i = is_negative ? -mag : mag;
    return FLD_OK;
}

static int hex_value(uint8_t c, bool *is_upper)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') {
        *is_upper = true;
        return c - 'A' + 10;
    }
    return -1;
}

/* Read the four hex digits of the \u escape whose backslash is at. */
static int read_hex4(struct parser *ps, size_t at, uint32_t *unit,
                     bool *is_upper)
{
    size_t i;

    if (ps->len - at < 6)
        return fail(ps, FLD_EINVAL, at, "truncated \\u escape");
    *unit = 0;
    for (i = 2; i < 6; i++) {
        int h = hex_value(ps->p[at + i], is_upper);

        if (h < 0)
            return fail(ps, FLD_EINVAL, at,
                        "invalid \\u escape (four hex "
                        "digits needed)");
        *unit = *unit << 4 | (uint32_t)h;
    }
    return FLD_OK;
}

/*
 * A \u escape at ps->pos: one code unit, or a UTF-16 surrogate pair
 * written as two escapes. A surrogate on its own has no UTF-8 form, and
 * U+0000 would cut the C string short, so both are refused. Advances past
 * the escape(s) and stores the code point in *cp.
 */
static int read_u_escape(struct parser *ps, uint32_t *cp)
{
    size_t at = ps->pos;
    bool is_upper = false;
    uint32_t lo;
    int rc;

    rc = read_hex4(ps, at, cp, &is_upper);
    if (rc != FLD_OK)
        return rc;
    ps->pos += 6;
    if (*cp >= 0xdc00 && *cp <= 0xdfff)
        return fail(ps, FLD_EINVAL, at, "unpaired surrogate \\u%04" PRIx32,
                    *cp);
    if (*cp >= 0xd800 && *cp <= 0xdbff) {
        if (ps->len - ps->pos < 2 || ps->p[ps->pos] != '\\' ||
            ps->p[ps->pos + 1] != 'u')
            return fail(ps, FLD_EINVAL, at, "unpaired surrogate \\u%04" PRIx32,
                        *cp);
        rc = read_hex4(ps, ps->pos, &lo, &is_upper);
        if (rc != FLD_OK)
            return rc;
        if (lo < 0xdc00 || lo > 0xdfff)
            return fail(ps, FLD_EINVAL, at, "unpaired surrogate \\u%04" PRIx32,
                        *cp);
        ps->pos += 6;
        *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (*cp == 0)
        return fail(ps, FLD_EINVAL, at,
                    "\\u0000 is not allowed (text "
                    "cannot hold NUL)");
    /* The canonical form escapes only control characters, with a short
     * escape where one exists, else \u00xx in lowercase. */
    if (fld_json_escape_letter(*cp) != 0)
        note(ps, at, "\\u%04" PRIx32 " where the canonical form is \\%c", *cp,
             fld_json_escape_letter(*cp));
    else if (*cp >= 0x20)
        note(ps, at, "needless escape of U+%04" PRIX32, *cp);
    else if (is_upper)
        note(ps, at, "uppercase hex digits in escape");
    return FLD_OK;
}

/* One escape at ps->pos (a backslash); appends what it stands for. */
static int parse_escape(struct parser *ps, struct fld_buf *b)
{
    size_t at = ps->pos;
    uint8_t utf8[4];
    uint32_t cp;
    int letter, byte, rc;

    if (ps->len - at < 2)
        return fail(ps, FLD_EINVAL, at, "unterminated string");
    letter = ps->p[at + 1];
    if (letter == 'u') {
        rc = read_u_escape(ps, &cp);
        if (rc == FLD_OK)
            fld_buf_append(b, utf8, fld_utf8_encode(cp, utf8));
        return rc;
    }
    ps->pos += 2;
    if (letter == '/') {
        note(ps, at, "needless escape \\/");
        fld_buf_putc(b, '/');
        return FLD_OK;
    }
    byte = fld_json_escape_byte(letter);
    if (byte >= 0) {
        fld_buf_putc(b, byte);
        return FLD_OK;
    }
    if (letter > 0x20 && letter < 0x7f)
        return fail(ps, FLD_EINVAL, at, "invalid escape \\%c", letter);
    return fail(ps, FLD_EINVAL, at,
                "invalid escape (byte 0x%02x after "
                "backslash)",
                (unsigned)letter);
}

/* Bytes that stand for themselves inside a string. */
static bool is_plain(uint8_t c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/*
 * The string whose opening quote is at ps->pos, into b without quotes.
 * Raw bytes must be valid UTF-8 and not control characters (JSON requires
 * those escaped); b never receives a NUL.
 */
static int parse_string(struct parser *ps, struct fld_buf *b)
{
    uint32_t cp;
    int rc;

    ps->pos++;
    for (;;) {
        size_t run = ps->pos;
        int c;

        /* Plain ASCII and whole UTF-8 characters go into b as one run. */
        while (ps->pos < ps->len) {
            uint8_t byte = ps->p[ps->pos];
            size_t n = is_plain(byte) ? 1
                       : byte >= 0x80 ? fld_utf8_decode(ps->p + ps->pos,
                                                        ps->len - ps->pos, &cp)
                                      : 0;

            if (n == 0)
                break;
            ps->pos += n;
        }
        if (ps->pos > run)
            fld_buf_append(b, ps->p + run, ps->pos - run);
        c = peek(ps);
        if (c < 0)
            return fail(ps, FLD_EINVAL, ps->pos, "unterminated string");
        if (c == '"') {
            ps->pos++;
            return FLD_OK;
        }
        if (c == '\\') {
            rc = parse_escape(ps, b);
            if (rc != FLD_OK)
                return rc;
            continue;
        }
        if (c < 0x20)
            return fail(ps, FLD_EINVAL, ps->pos,
                        "control character 0x%02x "
                        "in string (must be escaped)",
                        (unsigned)c);
        /* all that is left: a byte that starts no valid character */
        return fail(ps, FLD_EINVAL, ps->pos, "invalid UTF-8");
    }
}

static int parse_string_value(struct parser *ps, struct fld_json **out)
{
    struct fld_buf b = FLD_BUF_INIT;
    int rc = parse_string(ps, &b);

    if (rc != FLD_OK) {
        fld_buf_free(&b);
        return rc;
    }
    *out = fld_json_new(FLD_JSON_STRING);
    (*out)->s = fld_buf_detach(&b, &(*out)->len);
    return FLD_OK;
}

/* A key: a string whose bytes are all ASCII (after escapes are resolved,
 * so "\u00e9" is refused as well as a raw "é"). */
static int parse_key(struct parser *ps, char **key)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t at = ps->pos, i;
    int rc = parse_string(ps, &b);

    for (i = 0; rc == FLD_OK && i < b.len; i++)
        if (b.data[i] >= 0x80)
            rc = fail(ps, FLD_EINVAL, at,
                      "non-ASCII key (keys must be "
                      "ASCII)");
    if (rc != FLD_OK) {
        fld_buf_free(&b);
        return rc;
    }
    *key = fld_buf_detach(&b, NULL);
    return FLD_OK;
}

static int parse_value(struct parser *ps, int depth, struct fld_json **out);

static int parse_array(struct parser *ps, int depth, struct fld_json **out)
{
    struct fld_json *arr, *item;
    int rc;

    if (depth > FLD_JSON_MAX_DEPTH)
        return fail(ps, FLD_ELIMIT, ps->pos, "nesting deeper than %d",
                    FLD_JSON_MAX_DEPTH);
    arr = fld_json_array();
    ps->pos++;
    skip_ws(ps);
    if (peek(ps) == ']') {
        ps->pos++;
        *out = arr;
        return FLD_OK;
    }
    for (;;) {
        rc = parse_value(ps, depth, &item);
        if (rc != FLD_OK)
            break;
        fld_json_append(arr, item);
        skip_ws(ps);
        if (peek(ps) == ']') {
            ps->pos++;
            *out = arr;
            return FLD_OK;
        }
        if (peek(ps) != ',') {
            rc = expected(ps, "',' or ']'");
            break;
        }
        ps->pos++;
        skip_ws(ps);
    }
    fld_json_free(arr);
    return rc;
}

/* A member read but not yet placed: where its key started, for messages. */
struct pending {
    struct fld_json_member m;
    size_t at;
};

/* Key order, then input order, so that equal keys sit together with the
 * first occurrence first. */
static int compare_pending(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    int c = strcmp(x->m.key, y->m.key);

    if (c != 0)
        return c;
    return x->at < y->at ? -1 : x->at > y->at;
}

static bool is_strictly_sorted(const struct pending *mem, size_t n)
{
    size_t i;

    for (i = 1; i < n; i++)
        if (strcmp(mem[i - 1].m.key, mem[i].m.key) >= 0)
            return false;
    return true;
}

/*
 * Sort the members read and refuse duplicates. Sorting once at the end
 * (rather than inserting each member in place) keeps a large object in
 * reverse order from costing quadratic time. The duplicate reported is the
 * earliest repeated key in the input, as a streaming reader would find it.
 * On success the members move into a new object.
 */
static int finish_object(struct parser *ps, struct pending *mem, size_t n,
                         struct fld_json **out)
{
    struct fld_json *obj;
    size_t i, dup = 0;
    char quoted[FLD_JSON_QUOTED_KEY_MAX];

    if (!is_strictly_sorted(mem, n)) {
        qsort(mem, n, sizeof *mem, compare_pending);
        for (i = 1; i < n; i++)
            if (strcmp(mem[i - 1].m.key, mem[i].m.key) == 0 &&
                (dup == 0 || mem[i].at < mem[dup].at))
                dup = i;
        if (dup != 0) {
            fld_json_quote_key(mem[dup].m.key, quoted);
            return fail(ps, FLD_EINVAL, mem[dup].at, "duplicate key %s",
                        quoted);
        }
    }
    obj = fld_json_object();
    if (n > 0) {
        obj->members =
            fld_xreallocarray(NULL, capacity_for(n), sizeof *obj->members);
        for (i = 0; i < n; i++)
            obj->members[i] = mem[i].m;
    }
    obj->n = n;
    *out = obj;
    return FLD_OK;
}

/* Note a key that sorts before the previous one (prev, NULL for the
 * first). Equal keys are not noted here: a duplicate is an error, found
 * when the object closes. */
static void note_key_order(struct parser *ps, const char *prev, const char *key,
                           size_t at)
{
    char quoted[FLD_JSON_QUOTED_KEY_MAX], quoted_prev[FLD_JSON_QUOTED_KEY_MAX];

    if (has_note(ps) || prev == NULL || strcmp(key, prev) >= 0)
        return;
    fld_json_quote_key(key, quoted);
    fld_json_quote_key(prev, quoted_prev);
    note(ps, at, "key %s after %s (keys must be sorted)", quoted, quoted_prev);
}

/* One "key": value member at ps->pos (the key's opening quote); prev is
 * the key before it in the input, or NULL. */
static int parse_member(struct parser *ps, int depth, const char *prev,
                        struct pending *p)
{
    int rc;

    p->at = ps->pos;
    rc = parse_key(ps, &p->m.key);
    if (rc != FLD_OK)
        return rc;
    /* before the value, so that notes stay in input order */
    note_key_order(ps, prev, p->m.key, p->at);
    skip_ws(ps);
    if (peek(ps) != ':')
        rc = expected(ps, "':'");
    if (rc == FLD_OK) {
        ps->pos++;
        skip_ws(ps);
        rc = parse_value(ps, depth, &p->m.value);
    }
    if (rc != FLD_OK)
        free(p->m.key);
    return rc;
}

static int parse_object(struct parser *ps, int depth, struct fld_json **out)
{
    struct pending *mem = NULL;
    size_t n = 0, cap = 0, i;
    int rc;

    if (depth > FLD_JSON_MAX_DEPTH)
        return fail(ps, FLD_ELIMIT, ps->pos, "nesting deeper than %d",
                    FLD_JSON_MAX_DEPTH);
    ps->pos++;
    skip_ws(ps);
    if (peek(ps) == '}') {
        ps->pos++;
        *out = fld_json_object();
        return FLD_OK;
    }
    for (;;) {
        if (peek(ps) != '"') {
            rc = expected(ps, "a key string");
            break;
        }
        if (n == cap) {
            cap = grown_capacity(cap);
            mem = fld_xreallocarray(mem, cap, sizeof *mem);
        }
        rc = parse_member(ps, depth, n > 0 ? mem[n - 1].m.key : NULL, &mem[n]);
        if (rc != FLD_OK)
            break;
        n++;
        skip_ws(ps);
        if (peek(ps) == '}') {
            ps->pos++;
            rc = finish_object(ps, mem, n, out);
            if (rc == FLD_OK)
                n = 0; /* the members now belong to *out */
            break;
        }
        if (peek(ps) != ',') {
            rc = expected(ps, "',' or '}'");
            break;
        }
        ps->pos++;
        skip_ws(ps);
    }
    for (i = 0; i < n; i++) {
        free(mem[i].m.key);
        fld_json_free(mem[i].m.value);
    }
    free(mem);
    return rc;
}

/* One value at ps->pos, which the caller has moved past white space.
 * depth counts the arrays and objects that enclose it. */
static int parse_value(struct parser *ps, int depth, struct fld_json **out)
{
    switch (peek(ps)) {
    case '{':
        return parse_object(ps, depth + 1, out);
    case '[':
        return parse_array(ps, depth + 1, out);
    case '"':
        return parse_string_value(ps, out);
    case 'n':
        return parse_literal(ps, "null", FLD_JSON_NULL, out);
    case 't':
        return parse_literal(ps, "true", FLD_JSON_TRUE, out);
    case 'f':
        return parse_literal(ps, "false", FLD_JSON_FALSE, out);
    default:
        if (peek(ps) == '-' || is_digit(peek(ps)))
            return parse_number(ps, out);
        return expected(ps, "a value");
    }
}

static void parser_init(struct parser *ps, const uint8_t *p, size_t len)
{
    assert(p != NULL || len == 0);
    ps->p = p;
    ps->len = len;
    ps->pos = 0;
    fld_err_clear(&ps->err);
    fld_err_clear(&ps->note);
}

/* The whole input: one value, white space around it, nothing else. */
static int parse_document(struct parser *ps, struct fld_json **out)
{
    int rc;

    *out = NULL;
    skip_ws(ps);
    if (ps->pos == ps->len)
        return fail(ps, FLD_EINVAL, ps->pos, "empty input");
    rc = parse_value(ps, 0, out);
    if (rc != FLD_OK)
        return rc;
    skip_ws(ps);
    if (ps->pos != ps->len) {
        fld_json_free(*out);
        *out = NULL;
        return fail(ps, FLD_EINVAL, ps->pos,
                    "trailing bytes after the "
                    "value");
    }
    return FLD_OK;
}

int fld_json_parse(const uint8_t *p, size_t len, struct fld_json **out,
                   struct fld_err *err)
{
    struct parser ps;
    int rc;

    parser_init(&ps, p, len);
    rc = parse_document(&ps, out);
    if (rc != FLD_OK)
        return fld_err_set(err, rc, "%s", ps.err.msg);
    return FLD_OK;
}

static size_t first_difference(const uint8_t *a, size_t a_len, const uint8_t *b,
                               size_t b_len)
{
    size_t i = 0;

    while (i < a_len && i < b_len && a[i] == b[i])
        i++;
    return i;
}

/*
 * The parser's note gives the precise reason in the common cases; the byte
 * comparison with the writer's output is what actually decides. The fuzz
 * harness (tests/fuzz/fuzz_json.c) treats reaching the comparison's
 * message as a bug: it would mean the notes missed a kind of departure.
 */
int fld_json_check_canonical(const uint8_t *p, size_t len, struct fld_err *err)
{
    struct fld_buf canon = FLD_BUF_INIT;
    struct fld_json *v;
    struct parser ps;
    int rc;

    parser_init(&ps, p, len);
    if (parse_document(&ps, &v) != FLD_OK)
        return fld_err_set(err, FLD_EINVAL, "%s", ps.err.msg);
    if (has_note(&ps)) {
        rc = fld_err_set(err, FLD_EINVAL, "%s", ps.note.msg);
        goto done;
    }
    fld_buf_reserve(&canon, len); /* what it should come to */
    rc = fld_json_write(v, &canon, err);
    if (rc == FLD_OK && (canon.len != len || memcmp(canon.data, p, len) != 0))
        rc = fld_err_set(err, FLD_EINVAL,
                         "byte %zu: differs from the "
                         "canonical form",
                         first_difference(p, len, canon.data, canon.len));
done:
    fld_buf_free(&canon);
    fld_json_free(v);
    return rc;
}
