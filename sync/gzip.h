/*
 * gzip.h - gzip bodies for the wire (RFC 1952, zlib), in both directions.
 *
 * Inflating is where a hostile peer attacks: a few kilobytes of gzip can
 * expand to gigabytes (a "decompression bomb"). syn_gunzip() therefore
 * takes a hard cap on the decompressed size and stops the moment the
 * output would pass it, having allocated at most the cap; it also refuses
 * anything but exactly one complete gzip member (no trailing bytes, no
 * truncated stream). Never prints; shared by the client and the server.
 */
#ifndef SYN_GZIP_H
#define SYN_GZIP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Append the gzip form of len bytes at p to out. */
void syn_gzip(const uint8_t *p, size_t len, struct fld_buf *out);

/*
 * The same in pieces, for a body whose start is known before its end (a
 * push is compressed while the request before it is on its way): begin,
 * syn_gzip_more() any number of times, then syn_gzip_end() once, each
 * appending what it produced to out; the pieces make one gzip member of
 * their concatenation. syn_gzip_end() frees the stream;
 * syn_gzip_abandon() frees one that is not to be finished (NULL is fine).
 * A stream may pass from thread to thread, used by one at a time.
 */
struct syn_gzip_stream;
struct syn_gzip_stream *syn_gzip_begin(void);
void syn_gzip_more(struct syn_gzip_stream *g, const uint8_t *p, size_t len,
                   struct fld_buf *out);
void syn_gzip_end(struct syn_gzip_stream *g, const uint8_t *p, size_t len,
                  struct fld_buf *out);
void syn_gzip_abandon(struct syn_gzip_stream *g);

/*
 * Inflate the single gzip member at p into out (appended). FLD_ELIMIT when
 * the output would pass cap bytes, FLD_EINVAL when the input is not one
 * complete, valid gzip member. On failure out is left as it was.
 */
int syn_gunzip(const uint8_t *p, size_t len, size_t cap, struct fld_buf *out,
               struct fld_err *err);

#endif
