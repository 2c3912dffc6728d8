/*
 * utf8.c - strict UTF-8 (RFC 3629) decoding, validation and encoding.
 *
 * Every byte of text that reaches a signed record passes through here: the
 * canonical JSON reader validates strings with fld_utf8_decode(), the
 * writer re-checks trees built by hand with fld_utf8_valid(), and the value
 * normaliser and expression language count characters with
 * fld_utf8_length(). Being strict matters for signatures: if two readers
 * disagreed on whether "C0 AF" is "/", the same signed bytes could mean two
 * different things. So only the shortest form of each scalar value is
 * accepted, surrogates (U+D800..U+DFFF, which exist only in UTF-16) are
 * refused, and nothing above U+10FFFF is allowed.
 */
#include "utf8.h"

#include <assert.h>
#include <string.h>

size_t fld_utf8_decode(const uint8_t *p, size_t len, uint32_t *cp)
{
    uint32_t c, min;
    size_t n, i;

    *cp = 0;
    if (len == 0)
        return 0;
    c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    /* 0x80..0xBF only continue a sequence; 0xC0 and 0xC1 could only start
     * an overlong two-byte form; 0xF5..0xFF would start values past
     * U+10FFFF. None of them can begin a valid sequence. */
    if (c < 0xc2 || c > 0xf4)
        return 0;
    if (c < 0xe0) {
        n = 2;
        c &= 0x1f;
        min = 0x80;
    } else if (c < 0xf0) {
        n = 3;
        c &= 0x0f;
        min = 0x800;
    } else {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    }
    if (len < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    /* min refuses overlong three- and four-byte forms (E0 80 80, F0 80 80
     * 80); the other two tests refuse surrogates and F4 90 and above. */
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

bool fld_utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;
    uint32_t cp;

    while (i < len) {
        size_t n;

        if (p[i] >= 0x01 && p[i] < 0x80) { /* ASCII: the common case */
            i++;
            continue;
        }
        if (p[i] == 0)
            return false; /* text must stay a C string */
        n = fld_utf8_decode(p + i, len - i, &cp);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

size_t fld_utf8_length(const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t len, i = 0, count = 0;
    uint32_t cp;

    assert(s != NULL);
    len = strlen(s);
    while (i < len) {
        size_t n = fld_utf8_decode(p + i, len - i, &cp);

        if (n == 0)
            return (size_t)-1;
        i += n;
        count++;
    }
    return count;
}

size_t fld_utf8_encode(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp >= 0xd800 && cp <= 0xdfff)
        return 0; /* surrogates are UTF-16 artefacts, not characters */
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp > 0x10ffff)
        return 0;
    out[0] = (uint8_t)(0xf0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}
