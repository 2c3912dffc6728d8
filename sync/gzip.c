/*
 * gzip.c - gzip bodies with a hard cap on what inflating may produce (see
 * gzip.h). Compression uses zlib's default level: bodies are JSON full of
 * repeated keys and answers, which gzip shrinks several times over.
 */
#include "gzip.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* 16 + MAX_WBITS: a gzip wrapper, not zlib's own or raw deflate. */
#define GZIP_WBITS (16 + MAX_WBITS)
#define CHUNK 16384

void syn_gzip(const uint8_t *p, size_t len, struct fld_buf *out)
{
    z_stream z;
    uint8_t chunk[CHUNK];
    int r;

    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, GZIP_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        abort(); /* only out of memory or a zlib bug */
    /* zlib's lengths are uInt; feed huge inputs in slices. */
    do {
        size_t slice = len > 0x40000000 ? 0x40000000 : len;

        z.next_in = (Bytef *)(uintptr_t)p;
        z.avail_in = (uInt)slice;
        p += slice;
        len -= slice;
        do {
            z.next_out = chunk;
            z.avail_out = sizeof chunk;
            r = deflate(&z, len == 0 ? Z_FINISH : Z_NO_FLUSH);
            fld_buf_append(out, chunk, sizeof chunk - z.avail_out);
        } while (z.avail_out == 0);
    } while (len > 0);
    (void)r;
    deflateEnd(&z);
}

int syn_gunzip(const uint8_t *p, size_t len, size_t cap, struct fld_buf *out,
               struct fld_err *err)
{
    z_stream z;
    uint8_t chunk[CHUNK];
    size_t start = out->len, produced = 0, n;
    int r, rc = FLD_OK;

    if (len > 0xffffffffu)
        return fld_err_set(err, FLD_ELIMIT, "gzip body too large");
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, GZIP_WBITS) != Z_OK)
        abort();
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)len;
    for (;;) {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        r = inflate(&z, Z_NO_FLUSH);
        n = sizeof chunk - z.avail_out;
        if (n > cap - produced) {
            rc = fld_err_set(err, FLD_ELIMIT,
                             "gzip body inflates to more than %zu bytes", cap);
            break;
        }
        fld_buf_append(out, chunk, n);
        produced += n;
        if (r == Z_STREAM_END) {
            if (z.avail_in != 0)
                rc = fld_err_set(
                    err, FLD_EINVAL,
                    "gzip body: %u bytes after the end of the stream",
                    z.avail_in);
            break;
        }
        if (r == Z_BUF_ERROR && z.avail_in == 0 && n == 0) {
            rc = fld_err_set(err, FLD_EINVAL, "gzip body is truncated");
            break;
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            rc = fld_err_set(err, FLD_EINVAL, "gzip body is invalid: %s",
                             z.msg ? z.msg : "corrupt data");
            break;
        }
    }
    inflateEnd(&z);
    if (rc != FLD_OK) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return rc;
}
