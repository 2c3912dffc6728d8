/*
 * numbers.h - numbers as people in the province write them (source
 * document: "1.205/1.512 thôn, đạt 79,9%"): in Vietnamese a dot groups
 * thousands and a comma comes before the decimal; in English the other
 * way round. The server's report and `field report` write every count and
 * share through these, so the two agree to the character.
 */
#ifndef FLD_NUMBERS_H
#define FLD_NUMBERS_H

#include <stdint.h>

#include "buf.h"
#include "template.h"

/* n with its thousands grouped: "1.205" (VI), "1,205" (EN). */
void fld_format_count(int64_t n, enum fld_lang lang, struct fld_buf *out);

/* A share given in tenths of a percent, with one decimal: 797 gives
 * "79,7%" (VI), "79.7%" (EN); a negative one (no total) gives "–". */
void fld_format_tenths(int64_t tenths, enum fld_lang lang, struct fld_buf *out);

#endif
