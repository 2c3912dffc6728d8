/*
 * utf8.h - strict UTF-8 validation and decoding (RFC 3629): no overlong
 * forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF. Shared by
 * the canonical JSON reader, the value normaliser and the expression
 * language (string-length counts characters, not bytes).
 */
#ifndef FLD_UTF8_H
#define FLD_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Decode one code point from p (at most len bytes). Returns the number of
 * bytes used (1..4) and stores the code point in *cp, or 0 if the bytes at
 * p do not start a valid sequence.
 */
size_t fld_utf8_decode(const uint8_t *p, size_t len, uint32_t *cp);

/* True when all len bytes are valid UTF-8 and none is NUL. */
bool fld_utf8_valid(const uint8_t *p, size_t len);

/* Number of code points in valid UTF-8 s; (size_t)-1 if s is invalid. */
size_t fld_utf8_length(const char *s);

/* Append the UTF-8 encoding of cp (<= U+10FFFF, not a surrogate) to out;
 * returns the number of bytes written (1..4), or 0 if cp is not valid. */
size_t fld_utf8_encode(uint32_t cp, uint8_t out[4]);

#endif
