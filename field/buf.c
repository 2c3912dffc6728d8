/*
 * buf.c - allocation wrappers that abort on exhaustion, and the growable
 * byte buffer (see buf.h).
 */
#include "buf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t len)
{
    fprintf(stderr, "field: out of memory (%zu bytes)\n", len);
    abort();
}

void *fld_xmalloc(size_t len)
{
    void *p = malloc(len ? len : 1);

    if (p == NULL)
        oom(len);
    return p;
}

void *fld_xcalloc(size_t n, size_t len)
{
    void *p = calloc(n ? n : 1, len ? len : 1);

    if (p == NULL)
        oom(n * len);
    return p;
}

void *fld_xrealloc(void *p, size_t len)
{
    void *q = realloc(p, len ? len : 1);

    if (q == NULL)
        oom(len);
    return q;
}

void *fld_xreallocarray(void *p, size_t n, size_t len)
{
    if (len != 0 && n > SIZE_MAX / len)
        oom(SIZE_MAX);
    return fld_xrealloc(p, n * len);
}

char *fld_xstrdup(const char *s)
{
    return fld_xstrndup(s, strlen(s));
}

char *fld_xstrndup(const char *s, size_t len)
{
    char *p = fld_xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static void reserve(struct fld_buf *b, size_t more)
{
    size_t need;

    if (more > SIZE_MAX - b->len - 1)
        oom(SIZE_MAX);
    need = b->len + more + 1;
    if (need <= b->cap)
        return;
    if (b->cap == 0)
        b->cap = 64;
    while (b->cap < need)
        b->cap = b->cap > SIZE_MAX / 2 ? need : b->cap * 2;
    b->data = fld_xrealloc(b->data, b->cap);
}

void fld_buf_reserve(struct fld_buf *b, size_t more)
{
    if (more > SIZE_MAX - b->len - 1)
        oom(SIZE_MAX);
    if (b->len + more + 1 <= b->cap)
        return;
    b->cap = b->len + more + 1;
    b->data = fld_xrealloc(b->data, b->cap);
}

void fld_buf_append(struct fld_buf *b, const void *p, size_t len)
{
    reserve(b, len);
    if (len)
        memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void fld_buf_puts(struct fld_buf *b, const char *s)
{
    fld_buf_append(b, s, strlen(s));
}

void fld_buf_putc(struct fld_buf *b, int c)
{
    uint8_t ch = (uint8_t)c;

    fld_buf_append(b, &ch, 1);
}

/* Append the formatted text to b: measured first, then written in place.
 * False, b unchanged, when vsnprintf refuses the format. */
static bool buf_vprintf(struct fld_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static bool buf_vprintf(struct fld_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    int n;

    va_copy(again, ap);
    n = vsnprintf(NULL, 0, fmt, again);
    va_end(again);
    if (n < 0)
        return false;
    reserve(b, (size_t)n);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return true;
}

void fld_buf_printf(struct fld_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *fld_xasprintf(const char *fmt, ...)
{
    struct fld_buf b = FLD_BUF_INIT;
    va_list ap;
    bool ok;

    va_start(ap, fmt);
    ok = buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (!ok)
        oom(0);
    return (char *)b.data;
}

void fld_buf_hex(struct fld_buf *b, const uint8_t *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    reserve(b, 2 * len);
    for (i = 0; i < len; i++) {
        b->data[b->len++] = (uint8_t)digits[p[i] >> 4];
        b->data[b->len++] = (uint8_t)digits[p[i] & 15];
    }
    b->data[b->len] = '\0';
}

const char *fld_buf_str(const struct fld_buf *b)
{
    return b->data ? (const char *)b->data : "";
}

char *fld_buf_detach(struct fld_buf *b, size_t *len)
{
    char *p;

    if (b->data == NULL) {
        reserve(b, 0);
        b->data[0] = '\0';
    }
    p = (char *)b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void fld_buf_reset(struct fld_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void fld_buf_free(struct fld_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void fld_hex_encode(const uint8_t *p, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is refused: our hex is canonical lowercase */
}

int fld_hex_decode(const char *hex, uint8_t *out, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        int hi = hexval((unsigned char)hex[2 * i]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[2 * len] == '\0' ? 0 : -1;
}
