/*
 * buf.h - a growable byte buffer, and the allocation wrappers every module
 * uses.
 *
 * Out of memory is not a result code in field: fld_xmalloc() and friends
 * abort the process with a message, so callers never check for NULL. A
 * struct fld_buf always keeps a NUL byte after its contents, so text built
 * in it can be used as a C string without copying.
 */
#ifndef FLD_BUF_H
#define FLD_BUF_H

#include <stddef.h>
#include <stdint.h>

void *fld_xmalloc(size_t len);
void *fld_xcalloc(size_t n, size_t len);
void *fld_xrealloc(void *p, size_t len);
/* Realloc for an array of n elements of len bytes, checking the product. */
void *fld_xreallocarray(void *p, size_t n, size_t len);
char *fld_xstrdup(const char *s);
char *fld_xstrndup(const char *s, size_t len);
/* A newly allocated string built from a printf format; caller frees. */
char *fld_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct fld_buf {
    uint8_t *data; /* NUL-terminated; NULL until something is added */
    size_t len;    /* bytes in use, not counting the terminating NUL */
    size_t cap;
};

#define FLD_BUF_INIT                                                           \
    {                                                                          \
        NULL, 0, 0                                                             \
    }

/* Room for `more` bytes after what b holds, exactly: for a size known in
 * advance, where growing by doubling would leave up to half unused. */
void fld_buf_reserve(struct fld_buf *b, size_t more);
void fld_buf_append(struct fld_buf *b, const void *p, size_t len);
void fld_buf_puts(struct fld_buf *b, const char *s);
void fld_buf_putc(struct fld_buf *b, int c);
void fld_buf_printf(struct fld_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Lowercase hex of len bytes. */
void fld_buf_hex(struct fld_buf *b, const uint8_t *p, size_t len);
/* The contents as a C string ("" when empty); borrowed until the next change.
 */
const char *fld_buf_str(const struct fld_buf *b);
/* Hand the contents to the caller (free() them); b is left empty. */
char *fld_buf_detach(struct fld_buf *b, size_t *len);
void fld_buf_reset(struct fld_buf *b);
void fld_buf_free(struct fld_buf *b);

/* Lowercase hex of len bytes into out, which holds 2*len+1 bytes. */
void fld_hex_encode(const uint8_t *p, size_t len, char *out);
/* Decode exactly 2*len hex digits from hex into out; -1 if malformed. */
int fld_hex_decode(const char *hex, uint8_t *out, size_t len);

#endif
