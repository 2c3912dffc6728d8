/*
 * photo.c - sniffing JPEG and PNG files and reading their EXIF block (see
 * photo.h). Everything here reads bytes it was given and trusts none of
 * them: every offset is checked against the length before it is used, and
 * the EXIF block goes to libexif only as the bounded segment it sits in.
 */
#include "photo.h"

#include <libexif/exif-data.h>
#include <libexif/exif-utils.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "norm.h"
#include "version.h"

static const uint8_t png_signature[8] = {0x89, 'P',  'N',  'G',
                                         '\r', '\n', 0x1a, '\n'};
/* The IEND chunk is always these 12 bytes: empty, so its CRC is fixed. */
static const uint8_t png_iend[FLD_PHOTO_TAIL_LEN] = {
    0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};

/* "YYYY:MM:DD HH:MM:SS" (EXIF) as "YYYY-MM-DDTHH:MM:SS", when it is a real
 * date and time; otherwise out stays "". */
static void exif_time(ExifData *ed, ExifIfd ifd, ExifTag tag, char out[20])
{
    ExifEntry *e = exif_content_get_entry(ed->ifd[ifd], tag);
    char t[20];

    if (e == NULL || e->format != EXIF_FORMAT_ASCII || e->data == NULL ||
        e->size < 19)
        return;
    memcpy(t, e->data, 19);
    t[19] = '\0';
    if (t[4] != ':' || t[7] != ':' || t[10] != ' ')
        return;
    t[4] = '-';
    t[7] = '-';
    t[10] = 'T';
    if (fld_is_timestamp(t))
        memcpy(out, t, sizeof t);
}

/* Degrees from the three rationals (degrees, minutes, seconds) of a GPS
 * coordinate, signed by its reference; false when either is malformed. */
static bool exif_coord(ExifData *ed, ExifTag tag, ExifTag ref_tag,
                       char negative, double *out)
{
    ExifContent *gps = ed->ifd[EXIF_IFD_GPS];
    ExifEntry *e = exif_content_get_entry(gps, tag);
    ExifEntry *ref = exif_content_get_entry(gps, ref_tag);
    ExifByteOrder order = exif_data_get_byte_order(ed);
    double v = 0, scale = 1;
    int i;

    if (e == NULL || ref == NULL || e->format != EXIF_FORMAT_RATIONAL ||
        e->components < 3 || e->data == NULL || e->size < 24 ||
        ref->format != EXIF_FORMAT_ASCII || ref->data == NULL || ref->size < 1)
        return false;
    for (i = 0; i < 3; i++, scale *= 60) {
        ExifRational r = exif_get_rational(e->data + 8 * i, order);

        if (r.denominator == 0)
            return false;
        v += (double)r.numerator / r.denominator / scale;
    }
    if (ref->data[0] == negative)
        v = -v;
    else if (ref->data[0] != (negative == 'S' ? 'N' : 'E'))
        return false;
    *out = v;
    return true;
}

static void exif_position(ExifData *ed, char out[64])
{
    double lat, lon;
    char text[64], *norm = NULL;

    if (!exif_coord(ed, EXIF_TAG_GPS_LATITUDE, EXIF_TAG_GPS_LATITUDE_REF, 'S',
                    &lat) ||
        !exif_coord(ed, EXIF_TAG_GPS_LONGITUDE, EXIF_TAG_GPS_LONGITUDE_REF, 'W',
                    &lon))
        return;
    snprintf(text, sizeof text, "%.7f %.7f", lat, lon);
    /* out of range (a corrupt block) is unknown, not an error */
    if (fld_norm_geopoint(text, &norm, NULL) == FLD_OK && strlen(norm) < 64)
        snprintf(out, 64, "%s", norm);
    free(norm);
}

/* The EXIF block of a JPEG's head: walk the marker segments from the start
 * of image to the first APP1 that begins "Exif\0\0", stopping at the start
 * of scan (no metadata after it) or at the end of what was read. */
static void jpeg_exif(const uint8_t *p, size_t len, struct fld_photo *out)
{
    size_t at = 2;
    ExifData *ed;

    while (at + 4 <= len && p[at] == 0xff) {
        uint8_t marker = p[at + 1];
        size_t seg = (size_t)p[at + 2] << 8 | p[at + 3];

        if (marker == 0xff) { /* fill byte */
            at++;
            continue;
        }
        if (marker == 0xda || marker == 0xd9 || seg < 2 || at + 2 + seg > len)
            return;
        if (marker == 0xe1 && seg >= 8 &&
            memcmp(p + at + 4, "Exif\0\0", 6) == 0)
            break;
        at += 2 + seg;
    }
    if (at + 4 > len || p[at] != 0xff || p[at + 1] != 0xe1)
        return;
    ed = exif_data_new_from_data(
        p + at + 4, (unsigned)(((size_t)p[at + 2] << 8 | p[at + 3]) - 2));
    if (ed == NULL)
        return;
    exif_time(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, out->taken);
    if (out->taken[0] == '\0')
        exif_time(ed, EXIF_IFD_0, EXIF_TAG_DATE_TIME, out->taken);
    exif_position(ed, out->position);
    exif_data_unref(ed);
}

int fld_photo_sniff(const uint8_t *head, size_t head_len, const uint8_t *tail,
                    size_t tail_len, int64_t size, const char *name,
                    struct fld_photo *out, struct fld_err *err)
{
    memset(out, 0, sizeof *out);
    if (size <= 0)
        return fld_err_set(err, FLD_EINVAL, "%s: empty", name);
    if (head_len >= 3 && head[0] == 0xff && head[1] == 0xd8 &&
        head[2] == 0xff) {
        /* the smallest whole JPEG: SOI, a segment's marker, EOI */
        if (size < 6 || tail_len < 2 || tail[tail_len - 2] != 0xff ||
            tail[tail_len - 1] != 0xd9)
            return fld_err_set(err, FLD_EINVAL, "%s: truncated JPEG", name);
        snprintf(out->type, sizeof out->type, "image/jpeg");
        jpeg_exif(head, head_len, out);
        return FLD_OK;
    }
    if (head_len >= 8 && memcmp(head, png_signature, 8) == 0) {
        /* IHDR comes first and is 13 bytes long */
        if (head_len < 16 || memcmp(head + 8, "\0\0\0\x0dIHDR", 8) != 0)
            return fld_err_set(err, FLD_EINVAL, "%s: not a JPEG or PNG image",
                               name);
        if (size < 8 + 25 + FLD_PHOTO_TAIL_LEN ||
            tail_len < FLD_PHOTO_TAIL_LEN ||
            memcmp(tail + tail_len - FLD_PHOTO_TAIL_LEN, png_iend,
                   FLD_PHOTO_TAIL_LEN) != 0)
            return fld_err_set(err, FLD_EINVAL, "%s: truncated PNG", name);
        snprintf(out->type, sizeof out->type, "image/png");
        return FLD_OK;
    }
    return fld_err_set(err, FLD_EINVAL, "%s: not a JPEG or PNG image", name);
}

int fld_photo_read(const uint8_t *p, size_t len, const char *name,
                   struct fld_photo *out, struct fld_err *err)
{
    size_t head = len < FLD_PHOTO_HEAD_MAX ? len : FLD_PHOTO_HEAD_MAX;
    size_t tail = len < FLD_PHOTO_TAIL_LEN ? len : FLD_PHOTO_TAIL_LEN;

    /* (no arithmetic on p when it may be NULL: an empty file) */
    return fld_photo_sniff(p, head, len ? p + len - tail : p, tail,
                           (int64_t)len, name, out, err);
}
