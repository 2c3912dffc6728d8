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
 * Inflate the single gzip member at p into out (appended). FLD_ELIMIT when
 * the output would pass cap bytes, FLD_EINVAL when the input is not one
 * complete, valid gzip member. On failure out is left as it was.
 */
int syn_gunzip(const uint8_t *p, size_t len, size_t cap, struct fld_buf *out,
               struct fld_err *err);

#endif
