/*
 * csv.c - CSV fields and rows (csv.h). Rows end with CRLF as RFC 4180
 * says; spreadsheets read either ending.
 */
#include "csv.h"

#include <string.h>

void fld_csv_field(struct fld_buf *out, const char *s, bool is_text)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ';
    const char *p;

    if (quote)
        fld_buf_putc(out, '"');
    if (is_text && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@'))
        fld_buf_putc(out, '\'');
    for (p = s; *p; p++) {
        if (*p == '"')
            fld_buf_putc(out, '"');
        fld_buf_putc(out, *p);
    }
    if (quote)
        fld_buf_putc(out, '"');
}

void fld_csv_row(struct fld_buf *out, const char *const *fields, bool is_text)
{
    size_t i;

    for (i = 0; fields[i] != NULL; i++) {
        if (i > 0)
            fld_buf_putc(out, ',');
        fld_csv_field(out, fields[i], is_text);
    }
    fld_buf_puts(out, "\r\n");
}
