/*
 * norm.h - values normalised when they are entered, never when verified.
 *
 * Two inspectors typing the same word must produce the same bytes, or the
 * merge reports a conflict that is not one and reports split their counts.
 * Vietnamese arrives both precomposed and decomposed depending on keyboard
 * and system, so every text answer goes through NFC here, once, when a
 * person types it. A signed version is never re-normalised: what was signed
 * is what is kept.
 *
 * Each function takes what a person typed and either returns the one
 * normal form (a new string the caller frees) or FLD_EINVAL with a message
 * that says what is wrong in words a person understands.
 */
#ifndef FLD_NORM_H
#define FLD_NORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Longest text answer accepted, in bytes after normalisation. */
#define FLD_NORM_TEXT_MAX 4096
/* Most significant digits kept in a decimal. */
#define FLD_NORM_DECIMAL_DIGITS 30

/*
 * Text: must be valid UTF-8; converted to Unicode NFC; leading and trailing
 * white space removed; control characters other than tab and newline
 * refused; at most FLD_NORM_TEXT_MAX bytes. An empty result is allowed (the
 * caller decides whether blank means "clear the answer").
 */
int fld_norm_text(const char *in, char **out, struct fld_err *err);

/*
 * Whether s (len bytes, NUL-terminated there) is already what
 * fld_norm_text() makes of it: what a stored text answer must be. Most
 * text is shown so in one pass without a copy; the rest is normalised
 * and compared.
 */
bool fld_norm_text_is_normal(const char *s, size_t len);

/*
 * Integer: optional sign and decimal digits, surrounding white space
 * allowed; |n| <= 2^53 - 1 (the range canonical JSON carries).
 */
int fld_norm_integer(const char *in, int64_t *out, struct fld_err *err);

/*
 * Decimal: optional sign, digits, and at most one decimal separator, which
 * may be '.' or ',' (Vietnamese writes 54,78). No thousands grouping: "1.205"
 * is one point two zero five. Result: "-"? digits ("." digits)? with no
 * leading zeros (but "0.5"), no trailing fractional zeros, no "-0", at most
 * FLD_NORM_DECIMAL_DIGITS significant digits. "54,780" -> "54.78",
 * "-0.0" -> "0", "007" -> "7".
 */
int fld_norm_decimal(const char *in, char **out, struct fld_err *err);

/*
 * Date: YYYY-MM-DD, or DD/MM/YYYY as Vietnamese write it (D and M may be a
 * single digit); must be a real calendar date between 1900-01-01 and
 * 2999-12-31. Result: YYYY-MM-DD.
 */
int fld_norm_date(const char *in, char **out, struct fld_err *err);

/*
 * Geopoint: "latitude longitude" in decimal degrees, optionally followed by
 * altitude and accuracy in metres, separated by spaces (a comma between
 * latitude and longitude is accepted too). Latitude in [-90, 90], longitude
 * in [-180, 180]. Result: "lat lon" with exactly 6 decimals each (about
 * 0.1 m), then altitude and accuracy with 1 decimal if given.
 */
int fld_norm_geopoint(const char *in, char **out, struct fld_err *err);

#endif
