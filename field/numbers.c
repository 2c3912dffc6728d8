/*
 * numbers.c - counts and shares in the province's number style (see
 * numbers.h).
 */
#include "numbers.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void fld_format_count(int64_t n, enum fld_lang lang, struct fld_buf *out)
{
    char digits[24];
    const char *d = digits;
    size_t len, i;

    /* The digits of |n| without negating n: INT64_MIN has no positive. */
    snprintf(digits, sizeof digits, "%" PRId64, n);
    if (*d == '-')
        fld_buf_putc(out, *d++);
    len = strlen(d);
    for (i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            fld_buf_putc(out, lang == FLD_LANG_EN ? ',' : '.');
        fld_buf_putc(out, d[i]);
    }
}

void fld_format_tenths(int64_t tenths, enum fld_lang lang, struct fld_buf *out)
{
    if (tenths < 0) {
        fld_buf_puts(out, "–");
        return;
    }
    fld_format_count(tenths / 10, lang, out);
    fld_buf_printf(out, "%c%" PRId64 "%%", lang == FLD_LANG_EN ? '.' : ',',
                   tenths % 10);
}
