/*
 * norm.c - what a person typed, turned into the one normal form of a value
 * (see norm.h).
 *
 * This sits between the capture screens and the record model: an answer is
 * normalised once, when it is entered, and the normal form is what goes into
 * the canonical bytes that get hashed and signed. Nothing here runs when a
 * version is verified, so a change to these rules never invalidates an old
 * signature; it only changes what new versions look like.
 *
 * Every function is strict about syntax and says in one line what is wrong,
 * repeating (a shortened, printable copy of) what was typed. Numbers are
 * handled as digit strings, never through double: "54.78" must stay exactly
 * 54.78, and a geopoint rounded on one tablet must round the same way on
 * every other.
 *
 * Decisions beyond norm.h, all in favour of what people actually type:
 *   - White space around any value is ignored: ASCII space, tab, CR, LF and
 *     the Unicode space separators (no-break space, ideographic space ...).
 *   - Text: CR LF and a lone CR become LF (text pasted from Windows), then
 *     the usual rule holds: tab and LF are the only control characters kept.
 *   - Decimals: ".5" is 0.5 and "5." is 5; a leading "+" is allowed. The
 *     digit limit counts every digit of the normal form except the "0" of
 *     "0.x", so "0.000001" has six.
 *   - Geopoints: the numbers use "." only (a "," separates latitude from
 *     longitude); rounding is half away from zero; altitude must lie within
 *     -100000..100000 m and accuracy within 0..100000 m.
 */
#include "norm.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "buf.h"
#include "date.h"
#include "utf8.h"

/* The largest integer canonical JSON carries exactly: 2^53 - 1. */
#define INT_LIMIT 9007199254740991ULL

/*
 * Text longer than this before normalisation is refused without running
 * NFC: composition shrinks text at most threefold (a Hangul syllable from
 * three jamo, 9 bytes to 3), so nothing longer can fit FLD_NORM_TEXT_MAX.
 * It bounds the work and memory a pasted novel can cost.
 */
#define TEXT_RAW_MAX (4 * FLD_NORM_TEXT_MAX)

/* How much of a refused input an error message repeats. */
#define SHOW_CHARS 40
#define SHOW_MAX (SHOW_CHARS * 4 + 4)

/* Bounds of the optional geopoint fields, in metres. */
#define ALTITUDE_LIMIT 100000
#define ACCURACY_LIMIT 100000

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

static bool is_space(uint32_t cp)
{
    switch (cp) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
    case 0x00a0: /* no-break space */
    case 0x1680: /* ogham space mark */
    case 0x2028: /* line separator */
    case 0x2029: /* paragraph separator */
    case 0x202f: /* narrow no-break space */
    case 0x205f: /* medium mathematical space */
    case 0x3000: /* ideographic space */
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200a; /* en quad .. hair space */
    }
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * Find the part of s[0..len) between leading and trailing white space:
 * [*start, *end). Bytes that are not valid UTF-8 count as content, so a
 * malformed input is trimmed the same way and then refused by its parser.
 */
static void trim(const char *s, size_t len, size_t *start, size_t *end)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    bool seen = false;

    *start = *end = 0;
    while (i < len) {
        uint32_t cp;
        size_t used = fld_utf8_decode(p + i, len - i, &cp);

        if (used == 0) {
            cp = 0xfffd; /* not white space */
            used = 1;
        }
        if (!is_space(cp)) {
            if (!seen)
                *start = i;
            seen = true;
            *end = i + used;
        }
        i += used;
    }
}

/*
 * Copy at most SHOW_CHARS characters of s[0..len) into out, for an error
 * message: bytes that are not UTF-8 and control characters become '?', so
 * the message stays one printable line, and "..." marks a cut.
 */
static const char *show(const char *s, size_t len, char out[SHOW_MAX])
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0, o = 0, n = 0;

    while (i < len && n < SHOW_CHARS) {
        uint32_t cp;
        size_t used = fld_utf8_decode(p + i, len - i, &cp);

        if (used == 0 || is_control(cp)) {
            out[o++] = '?';
            i += used ? used : 1;
        } else {
            memcpy(out + o, p + i, used);
            o += used;
            i += used;
        }
        n++;
    }
    if (i < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* ---- text --------------------------------------------------------------- */

/* Byte offset of the first byte of s[0..len) that is not valid UTF-8. */
static size_t first_invalid(const uint8_t *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t used = fld_utf8_decode(s + i, len - i, &cp);

        if (used == 0)
            break;
        i += used;
    }
    return i;
}

/* Refuse a control character other than tab, LF and CR in s[start, end),
 * which is valid UTF-8. They are looked for in what was typed, not in its
 * NFC, so that the position given is the one the person sees. */
static int refuse_controls(const uint8_t *s, size_t start, size_t end,
                           struct fld_err *err)
{
    size_t i, n_chars;

    for (i = start, n_chars = 1; i < end; n_chars++) {
        uint32_t cp;
        size_t used = fld_utf8_decode(s + i, end - i, &cp);

        if (is_control(cp) && cp != '\t' && cp != '\n' && cp != '\r')
            return fld_err_set(err, FLD_EINVAL,
                               "text contains an invisible control character "
                               "(U+%04" PRIX32 ") at character %zu",
                               cp, n_chars);
        i += used;
    }
    return FLD_OK;
}

/* The set of code points nfc_already() takes as they are. */
static bool in_nfc_set(uint32_t cp)
{
    return cp < 0x300 || (cp >= 0x1E00 && cp <= 0x1EFF);
}

/*
 * Whether s[0, len) (valid UTF-8) is already its own NFC by a test that
 * needs no tables: every code point below U+0300 (ASCII, Latin-1, Latin
 * Extended-A and -B, IPA, spacing modifiers) or in U+1E00..U+1EFF (Latin
 * Extended Additional, where Vietnamese's precomposed letters are), and no
 * CR. No code point there is a combining mark, a composition exclusion,
 * or a character that composes with the one before it, so NFC leaves such
 * text as it is (test_norm checks it against utf8proc, every code point
 * and pairs of them). Typed Vietnamese is nearly always such text, and the
 * two passes of utf8proc were a fifth of a bulk import's time.
 */
static bool nfc_already(const uint8_t *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t used = fld_utf8_decode(s + i, len - i, &cp);

        if (used == 0 || cp == '\r' || !in_nfc_set(cp))
            return false;
        i += used;
    }
    return true;
}

/*
 * s[0, len) (valid UTF-8) in NFC, with CR LF and a lone CR turned into LF,
 * as UTF-8 in *nfc (free()) of *nfc_len bytes. NFC as utf8proc_map() does
 * it, but with our allocator (out of memory aborts in field): canonical
 * decomposition into UTF-32, then canonical composition re-encoded to
 * UTF-8 in the same buffer.
 */
static int to_nfc(const uint8_t *s, size_t len, uint8_t **nfc, size_t *nfc_len,
                  struct fld_err *err)
{
    const utf8proc_option_t opts = UTF8PROC_COMPOSE | UTF8PROC_STABLE;
    utf8proc_ssize_t n_cps, n_kept, n_bytes;
    utf8proc_int32_t *cps;
    size_t i;

    *nfc = NULL;
    *nfc_len = 0;
    if (nfc_already(s, len)) {
        *nfc = fld_xmalloc(len + 1);
        memcpy(*nfc, s, len);
        *nfc_len = len;
        return FLD_OK;
    }
    n_cps = utf8proc_decompose(s, (utf8proc_ssize_t)len, NULL, 0, opts);
    if (n_cps < 0)
        return fld_err_set(err, FLD_EINVAL, "text cannot be normalised: %s",
                           utf8proc_errmsg(n_cps));
    /* reencode needs one byte more than the code points it is given */
    cps = fld_xcalloc((size_t)n_cps + 1, sizeof *cps);
    if (utf8proc_decompose(s, (utf8proc_ssize_t)len, cps, n_cps, opts) !=
        n_cps) {
        free(cps);
        return fld_err_set(err, FLD_EINVAL, "text cannot be normalised");
    }

    /* CR LF and a lone CR become LF: one newline, whatever the system. */
    n_kept = 0;
    for (i = 0; i < (size_t)n_cps; i++) {
        if (cps[i] == '\r') {
            if (i + 1 < (size_t)n_cps && cps[i + 1] == '\n')
                continue;
            cps[n_kept++] = '\n';
        } else {
            cps[n_kept++] = cps[i];
        }
    }

    n_bytes = utf8proc_reencode(cps, n_kept, opts);
    if (n_bytes < 0) {
        free(cps);
        return fld_err_set(err, FLD_EINVAL, "text cannot be normalised: %s",
                           utf8proc_errmsg(n_bytes));
    }
    *nfc = (uint8_t *)cps;
    *nfc_len = (size_t)n_bytes;
    return FLD_OK;
}

int fld_norm_text(const char *in, char **out, struct fld_err *err)
{
    const uint8_t *raw = (const uint8_t *)in;
    size_t len = strlen(in), start, end, nfc_len;
    uint8_t *nfc;
    int rc;

    *out = NULL;
    if (!fld_utf8_valid(raw, len))
        return fld_err_set(err, FLD_EINVAL,
                           "text is not valid UTF-8 (byte %zu is not part of "
                           "a character)",
                           first_invalid(raw, len) + 1);

    /* Trimmed before NFC, so that the size cap below applies to content.
     * No white space character composes with a neighbour, and NFC maps
     * none of the others to white space (U+2000 and U+2001 become U+2002
     * and U+2003, spaces too), so the trim after NFC is only a guard. */
    trim(in, len, &start, &end);
    if (end - start > TEXT_RAW_MAX)
        return fld_err_set(err, FLD_EINVAL,
                           "text is too long: more than %d bytes, at most %d "
                           "are allowed",
                           TEXT_RAW_MAX, FLD_NORM_TEXT_MAX);
    rc = refuse_controls(raw, start, end, err);
    if (rc != FLD_OK)
        return rc;
    rc = to_nfc(raw + start, end - start, &nfc, &nfc_len, err);
    if (rc != FLD_OK)
        return rc;
    trim((const char *)nfc, nfc_len, &start, &end);
    if (end - start > FLD_NORM_TEXT_MAX)
        rc = fld_err_set(err, FLD_EINVAL,
                         "text is too long: %zu bytes, at most %d are allowed",
                         end - start, FLD_NORM_TEXT_MAX);
    else
        *out = fld_xstrndup((const char *)nfc + start, end - start);
    free(nfc);
    return rc;
}

/*
 * Whether one pass shows s[0, len) to be its own normal form: valid UTF-8
 * (what fld_utf8_decode() refuses, fld_utf8_valid() does too), no white
 * space at either end, no control character but tab and LF, every code
 * point in the set nfc_already() takes, and not too long. Each rule is one that
 * fld_norm_text() applies, so such text comes back from it unchanged.
 */
static bool plainly_normal(const uint8_t *s, size_t len)
{
    uint32_t cp = 0;
    size_t i = 0;

    if (len == 0 || len > FLD_NORM_TEXT_MAX)
        return false;
    while (i < len) {
        size_t used = fld_utf8_decode(s + i, len - i, &cp);

        if (used == 0 || (i == 0 && is_space(cp)) ||
            (is_control(cp) && cp != '\t' && cp != '\n') || !in_nfc_set(cp))
            return false;
        i += used;
    }
    return !is_space(cp);
}

bool fld_norm_text_is_normal(const char *s, size_t len)
{
    char *norm = NULL;
    bool same;

    if (plainly_normal((const uint8_t *)s, len))
        return true;
    same = strlen(s) == len && fld_norm_text(s, &norm, NULL) == FLD_OK &&
           strcmp(norm, s) == 0;
    free(norm);
    return same;
}

/* ---- integers ----------------------------------------------------------- */

/*
 * Where a typed number starts: white space trimmed ([*start, *end) is the
 * text messages show), an optional sign read (*is_neg), *i at what follows
 * the sign. FLD_EINVAL when nothing but white space was typed.
 */
static int number_start(const char *in, size_t *start, size_t *end, size_t *i,
                        bool *is_neg, struct fld_err *err)
{
    trim(in, strlen(in), start, end);
    if (*start == *end)
        return fld_err_set(err, FLD_EINVAL, "no number given");
    *i = *start;
    *is_neg = in[*i] == '-';
    if (in[*i] == '+' || in[*i] == '-')
        (*i)++;
    return FLD_OK;
}

int fld_norm_integer(const char *in, int64_t *out, struct fld_err *err)
{
    size_t start, end, i;
    char shown[SHOW_MAX];
    uint64_t mag = 0;
    bool is_neg;
    int rc;

    *out = 0;
    if ((rc = number_start(in, &start, &end, &i, &is_neg, err)) != FLD_OK)
        return rc;
    if (i == end)
        goto malformed;
    for (; i < end; i++) {
        if (!is_digit(in[i]))
            goto malformed;
        /* Stop accumulating once past the limit: no overflow, and the
         * remaining characters are still checked. */
        if (mag <= INT_LIMIT)
            mag = mag * 10 + (uint64_t)(in[i] - '0');
    }
    if (mag > INT_LIMIT)
        return fld_err_set(err, FLD_EINVAL, "%s is outside -%llu..%llu",
                           show(in + start, end - start, shown),
                           (unsigned long long)INT_LIMIT,
                           (unsigned long long)INT_LIMIT);
    *out = is_neg ? -(int64_t)mag : (int64_t)mag;
    return FLD_OK;

malformed:
    return fld_err_set(err, FLD_EINVAL, "\"%s\" is not a whole number",
                       show(in + start, end - start, shown));
}

/* ---- decimals ----------------------------------------------------------- */

int fld_norm_decimal(const char *in, char **out, struct fld_err *err)
{
    size_t start, end, i;
    size_t int_at, int_len, frac_at, frac_len;
    struct fld_buf b = FLD_BUF_INIT;
    char shown[SHOW_MAX];
    bool is_neg;
    int rc;

    *out = NULL;
    if ((rc = number_start(in, &start, &end, &i, &is_neg, err)) != FLD_OK)
        return rc;
    int_at = i;
    while (i < end && is_digit(in[i]))
        i++;
    int_len = i - int_at;
    frac_at = i;
    frac_len = 0;
    if (i < end && (in[i] == '.' || in[i] == ',')) {
        frac_at = ++i;
        while (i < end && is_digit(in[i]))
            i++;
        frac_len = i - frac_at;
    }
    if (i != end || int_len + frac_len == 0)
        return fld_err_set(err, FLD_EINVAL,
                           "\"%s\" is not a decimal number (write digits with "
                           "at most one \".\" or \",\")",
                           show(in + start, end - start, shown));

    while (int_len > 0 && in[int_at] == '0') {
        int_at++;
        int_len--;
    }
    while (frac_len > 0 && in[frac_at + frac_len - 1] == '0')
        frac_len--;
    if (int_len + frac_len > FLD_NORM_DECIMAL_DIGITS)
        return fld_err_set(err, FLD_EINVAL, "%s has more than %d digits",
                           show(in + start, end - start, shown),
                           FLD_NORM_DECIMAL_DIGITS);

    if (is_neg && int_len + frac_len > 0) /* never "-0" */
        fld_buf_putc(&b, '-');
    if (int_len > 0)
        fld_buf_append(&b, in + int_at, int_len);
    else
        fld_buf_putc(&b, '0');
    if (frac_len > 0) {
        fld_buf_putc(&b, '.');
        fld_buf_append(&b, in + frac_at, frac_len);
    }
    *out = fld_buf_detach(&b, NULL);
    return FLD_OK;
}

/* ---- dates -------------------------------------------------------------- */

/* Read 1..max_len digits at s[*i]; -1 when there are none or too many. */
static int read_digits(const char *s, size_t end, size_t *i, size_t min_len,
                       size_t max_len)
{
    size_t at = *i;
    int v = 0;

    while (*i < end && is_digit(s[*i]) && *i - at < max_len) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    if (*i - at < min_len || (*i < end && is_digit(s[*i])))
        return -1;
    return v;
}

int fld_norm_date(const char *in, char **out, struct fld_err *err)
{
    size_t len = strlen(in), start, end, i;
    char shown[SHOW_MAX];
    int y, m, d;

    *out = NULL;
    trim(in, len, &start, &end);
    if (start == end)
        return fld_err_set(err, FLD_EINVAL, "no date given");
    show(in + start, end - start, shown);

    /* YYYY-MM-DD, two digits each for month and day */
    i = start;
    y = read_digits(in, end, &i, 4, 4);
    if (y >= 0 && i < end && in[i] == '-') {
        i++;
        m = read_digits(in, end, &i, 2, 2);
        if (m < 0 || i >= end || in[i] != '-')
            goto malformed;
        i++;
        d = read_digits(in, end, &i, 2, 2);
        if (d < 0 || i != end)
            goto malformed;
    } else {
        /* DD/MM/YYYY, as Vietnamese write it; 5/1/2026 is fine */
        i = start;
        d = read_digits(in, end, &i, 1, 2);
        if (d < 0 || i >= end || in[i] != '/')
            goto malformed;
        i++;
        m = read_digits(in, end, &i, 1, 2);
        if (m < 0 || i >= end || in[i] != '/')
            goto malformed;
        i++;
        y = read_digits(in, end, &i, 4, 4);
        if (y < 0 || i != end)
            goto malformed;
    }

    if (!fld_date_valid(y, m, d))
        return fld_err_set(err, FLD_EINVAL, "%s is not a calendar date", shown);
    if (y < 1900 || y > 2999)
        return fld_err_set(err, FLD_EINVAL,
                           "%s is outside the years 1900..2999", shown);
    *out = fld_xasprintf("%04d-%02d-%02d", y, m, d);
    return FLD_OK;

malformed:
    return fld_err_set(err, FLD_EINVAL,
                       "\"%s\" is not a date (write DD/MM/YYYY or YYYY-MM-DD)",
                       shown);
}

/* ---- geopoints ---------------------------------------------------------- */

/*
 * A decimal number read exactly as magnitude * 10^-places, plus what is
 * needed to round it and to compare it with a bound: is_half when the digit
 * after the last kept one is 5 or more, has_more when any digit after the
 * kept ones is not zero, is_huge when the integer part has more than nine
 * digits (which is out of every range here, and keeps the arithmetic far
 * from overflow).
 */
struct fixed {
    bool is_neg;
    bool is_half;
    bool has_more;
    bool is_huge;
    uint64_t mag;
};

static uint64_t pow10u(int n)
{
    uint64_t v = 1;

    while (n-- > 0)
        v *= 10;
    return v;
}

/* Parse s[0..len) as [+-] digits ["." digits]; false when malformed. */
static bool parse_fixed(const char *s, size_t len, int places, struct fixed *f)
{
    size_t i = 0, n_int = 0, n_frac = 0;
    uint64_t int_part = 0, frac_part = 0;

    memset(f, 0, sizeof *f);
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        f->is_neg = s[i] == '-';
        i++;
    }
    for (; i < len && is_digit(s[i]); i++, n_int++) {
        if (int_part == 0 && s[i] == '0')
            continue;              /* leading zero */
        if (int_part >= 100000000) /* a tenth digit */
            f->is_huge = true;
        else
            int_part = int_part * 10 + (uint64_t)(s[i] - '0');
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && is_digit(s[i]); i++, n_frac++) {
            int digit = s[i] - '0';

            if ((int)n_frac < places)
                frac_part = frac_part * 10 + (uint64_t)digit;
            else if (digit != 0)
                f->has_more = true;
            if ((int)n_frac == places && digit >= 5)
                f->is_half = true;
        }
    }
    if (i != len || n_int + n_frac == 0)
        return false;
    if ((int)n_frac < places)
        frac_part *= pow10u(places - (int)n_frac);
    f->mag = int_part * pow10u(places) + frac_part;
    return true;
}

/* True when |f| <= limit (whole units), exactly, before rounding. */
static bool within(const struct fixed *f, int places, uint64_t limit)
{
    uint64_t scaled = limit * pow10u(places);

    return !f->is_huge &&
           (f->mag < scaled || (f->mag == scaled && !f->has_more));
}

/* Append f rounded half away from zero to places decimals; never "-0". */
static void put_fixed(struct fld_buf *b, const struct fixed *f, int places)
{
    uint64_t r = f->mag + (f->is_half ? 1 : 0);
    uint64_t unit = pow10u(places);

    fld_buf_printf(b, "%s%" PRIu64 ".%0*" PRIu64,
                   f->is_neg && r != 0 ? "-" : "", r / unit, places, r % unit);
}

/* The parts of a geopoint, in order, and the decimals each keeps. */
static const char *const geo_names[4] = {"latitude", "longitude", "altitude",
                                         "accuracy"};
static const int geo_places[4] = {6, 6, 1, 1};

enum geo_split { GEO_OK, GEO_COUNT, GEO_MALFORMED };

/* Split in[start, end) (trimmed, not empty) on spaces and tabs into 2 to 4
 * parts: their offsets and lengths. One comma may stand between latitude
 * and longitude. GEO_COUNT for too few or too many parts, GEO_MALFORMED
 * for stray commas or separators at the end. */
static enum geo_split split_geopoint(const char *in, size_t start, size_t end,
                                     size_t tok_at[4], size_t tok_len[4],
                                     size_t *n_tok)
{
    size_t i = start;

    *n_tok = 0;
    while (i < end) {
        if (*n_tok == 4)
            return GEO_COUNT;
        if (*n_tok > 0) {
            size_t n_commas = 0;

            while (i < end && (in[i] == ' ' || in[i] == '\t' || in[i] == ',')) {
                if (in[i] == ',')
                    n_commas++;
                i++;
            }
            if (n_commas > (*n_tok == 1 ? 1u : 0u) || i == end)
                return GEO_MALFORMED;
        }
        tok_at[*n_tok] = i;
        while (i < end && in[i] != ' ' && in[i] != '\t' && in[i] != ',')
            i++;
        tok_len[*n_tok] = i - tok_at[*n_tok];
        (*n_tok)++;
    }
    return *n_tok < 2 ? GEO_COUNT : GEO_OK;
}

/* Each part within its range; the message repeats the part as typed. */
static int check_geopoint(const char *in, const size_t tok_at[4],
                          const size_t tok_len[4], const struct fixed v[4],
                          size_t n_tok, struct fld_err *err)
{
    char shown[SHOW_MAX];

    show(in + tok_at[0], tok_len[0], shown);
    if (!within(&v[0], geo_places[0], 90))
        return fld_err_set(err, FLD_EINVAL, "latitude %s is outside -90..90",
                           shown);
    show(in + tok_at[1], tok_len[1], shown);
    if (!within(&v[1], geo_places[1], 180))
        return fld_err_set(err, FLD_EINVAL, "longitude %s is outside -180..180",
                           shown);
    if (n_tok > 2) {
        show(in + tok_at[2], tok_len[2], shown);
        if (!within(&v[2], geo_places[2], ALTITUDE_LIMIT))
            return fld_err_set(err, FLD_EINVAL,
                               "altitude %s is outside -%d..%d metres", shown,
                               ALTITUDE_LIMIT, ALTITUDE_LIMIT);
    }
    if (n_tok > 3) {
        show(in + tok_at[3], tok_len[3], shown);
        if (v[3].is_neg && (v[3].mag != 0 || v[3].has_more))
            return fld_err_set(err, FLD_EINVAL, "accuracy %s is negative",
                               shown);
        if (!within(&v[3], geo_places[3], ACCURACY_LIMIT))
            return fld_err_set(err, FLD_EINVAL,
                               "accuracy %s is more than %d metres", shown,
                               ACCURACY_LIMIT);
    }
    return FLD_OK;
}

int fld_norm_geopoint(const char *in, char **out, struct fld_err *err)
{
    size_t len = strlen(in), start, end, n_tok, k;
    size_t tok_at[4], tok_len[4];
    struct fixed v[4];
    struct fld_buf b = FLD_BUF_INIT;
    char shown[SHOW_MAX];
    int rc;

    *out = NULL;
    trim(in, len, &start, &end);
    if (start == end)
        return fld_err_set(err, FLD_EINVAL, "no geopoint given");
    switch (split_geopoint(in, start, end, tok_at, tok_len, &n_tok)) {
    case GEO_OK:
        break;
    case GEO_COUNT:
        return fld_err_set(err, FLD_EINVAL,
                           "\"%s\" is not a geopoint: give latitude and "
                           "longitude, then optionally altitude and accuracy",
                           show(in + start, end - start, shown));
    case GEO_MALFORMED:
        return fld_err_set(err, FLD_EINVAL,
                           "\"%s\" is not a geopoint (write latitude and "
                           "longitude in decimal degrees, e.g. 21.0285 "
                           "105.8542)",
                           show(in + start, end - start, shown));
    }
    for (k = 0; k < n_tok; k++) {
        if (!parse_fixed(in + tok_at[k], tok_len[k], geo_places[k], &v[k]))
            return fld_err_set(err, FLD_EINVAL,
                               "%s \"%s\" is not a decimal number (use \".\" "
                               "for decimals)",
                               geo_names[k],
                               show(in + tok_at[k], tok_len[k], shown));
    }
    rc = check_geopoint(in, tok_at, tok_len, v, n_tok, err);
    if (rc != FLD_OK)
        return rc;
    for (k = 0; k < n_tok; k++) {
        if (k > 0)
            fld_buf_putc(&b, ' ');
        put_fixed(&b, &v[k], geo_places[k]);
    }
    *out = fld_buf_detach(&b, NULL);
    return FLD_OK;
}
