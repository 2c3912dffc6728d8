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

/*
 * What a gzip member says it inflates to (its trailer's ISIZE, RFC 1952),
 * so that the output is allocated once at its size. Only a hint: it comes
 * from the peer, so it is held under cap and under what deflate can reach
 * at all from len bytes (1032 to 1), and inflating checks the truth.
 */
static size_t inflated_size(const uint8_t *p, size_t len, size_t cap)
{
    size_t isize;

    if (len < 18) /* a header and a trailer */
        return 0;
    p += len - 4;
    isize = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 |
            (size_t)p[3] << 24;
    if (isize > cap)
        isize = cap;
    return isize / 1032 > len ? len * 1032 : isize;
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
    fld_buf_reserve(out, inflated_size(p, len, cap));
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
