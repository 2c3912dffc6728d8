/*
 * photo.h - what a photo file is, from its bytes (never its name): a JPEG
 * or a PNG, whole (not cut short), and what its camera wrote in its EXIF
 * block: when it was taken and where. No store, no files: the caller
 * (attachment_add.c) reads the bytes, so this is testable, and fuzzable,
 * on bytes alone.
 *
 * A file is judged by its beginning and its end, so that a caller never
 * holds a whole photo in memory: the first bytes (at least
 * FLD_PHOTO_HEAD_MAX, or the whole file when it is shorter) carry the
 * signature and, in a JPEG, the EXIF segment (APP1, at most 64 KiB, which
 * cameras write right after the start of image); the last
 * FLD_PHOTO_TAIL_LEN bytes carry the end of image (JPEG FF D9) or the
 * IEND chunk (PNG).
 *
 * EXIF is read with libexif: DateTimeOriginal, else DateTime, as
 * "YYYY-MM-DDTHH:MM:SS" (the camera's clock; no zone); GPSLatitude and
 * GPSLongitude with their N/S/E/W references, as a geopoint normalised by
 * fld_norm_geopoint(). A value that is absent or malformed (a camera
 * writes "0000:00:00 00:00:00" when its clock was never set) is unknown,
 * never an error: the photo is still evidence.
 */
#ifndef FLD_PHOTO_H
#define FLD_PHOTO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* How much of the start of a file the EXIF segment may need: a JPEG
 * marker segment is at most 65535 bytes, and a few come before APP1. */
#define FLD_PHOTO_HEAD_MAX (128 * 1024)
/* The end of a PNG: the IEND chunk (length, "IEND", CRC). */
#define FLD_PHOTO_TAIL_LEN 12

struct fld_photo {
    char type[16];     /* "image/jpeg" or "image/png" */
    char taken[20];    /* "YYYY-MM-DDTHH:MM:SS", "" when unknown */
    char position[64]; /* "lat lon" (norm.h), "" when unknown */
};

/*
 * Judge a file of size bytes from its head (the first head_len bytes:
 * all of them when size <= FLD_PHOTO_HEAD_MAX, else at least that many)
 * and its tail (the last tail_len bytes, tail_len = min(size,
 * FLD_PHOTO_TAIL_LEN)). name is the file as the user gave it, for the
 * messages: FLD_EINVAL "<name>: empty", "<name>: not a JPEG or PNG image",
 * "<name>: truncated JPEG", "<name>: truncated PNG". *out is filled on
 * success and zeroed on failure.
 */
int fld_photo_sniff(const uint8_t *head, size_t head_len, const uint8_t *tail,
                    size_t tail_len, int64_t size, const char *name,
                    struct fld_photo *out, struct fld_err *err);

/* The same for a whole file in memory (tests, the fuzz harness). */
int fld_photo_read(const uint8_t *p, size_t len, const char *name,
                   struct fld_photo *out, struct fld_err *err);

#endif
