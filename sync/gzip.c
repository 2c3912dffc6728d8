/*
 * gzip.c - gzip bodies with a hard cap on what inflating may produce (see
 * gzip.h). Compression uses zlib's default level: bodies are JSON full of
 * repeated keys and answers, which gzip shrinks several times over.
 */
#include "gzip.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* 16 + MAX_WBITS: a gzip wrapper, not zlib's own or raw deflate. */
#define GZIP_WBITS (16 + MAX_WBITS)
#define CHUNK 16384

struct syn_gzip_stream {
    z_stream z;
};

struct syn_gzip_stream *syn_gzip_begin(void)
{
    struct syn_gzip_stream *g = fld_xcalloc(1, sizeof *g);

    if (deflateInit2(&g->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, GZIP_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        abort(); /* only out of memory or a zlib bug */
    return g;
}

/* Feed len bytes at p, finishing the member when finish is set. */
static void feed(struct syn_gzip_stream *g, const uint8_t *p, size_t len,
                 bool finish, struct fld_buf *out)
{
    uint8_t chunk[CHUNK];

    /* zlib's lengths are uInt; feed huge inputs in slices. */
    do {
        size_t slice = len > 0x40000000 ? 0x40000000 : len;

        g->z.next_in = (Bytef *)(uintptr_t)p;
        g->z.avail_in = (uInt)slice;
        p += slice;
        len -= slice;
        do {
            g->z.next_out = chunk;
            g->z.avail_out = sizeof chunk;
            (void)deflate(&g->z, finish && len == 0 ? Z_FINISH : Z_NO_FLUSH);
            fld_buf_append(out, chunk, sizeof chunk - g->z.avail_out);
        } while (g->z.avail_out == 0);
    } while (len > 0);
}

void syn_gzip_more(struct syn_gzip_stream *g, const uint8_t *p, size_t len,
                   struct fld_buf *out)
{
    feed(g, p, len, false, out);
}

void syn_gzip_end(struct syn_gzip_stream *g, const uint8_t *p, size_t len,
                  struct fld_buf *out)
{
    feed(g, p, len, true, out);
    syn_gzip_abandon(g);
}

void syn_gzip_abandon(struct syn_gzip_stream *g)
{
    if (g == NULL)
        return;
    deflateEnd(&g->z);
    free(g);
}

void syn_gzip(const uint8_t *p, size_t len, struct fld_buf *out)
{
    syn_gzip_end(syn_gzip_begin(), p, len, out);
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
