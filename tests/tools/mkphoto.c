/*
 * mkphoto.c - write a photo for the tests, made from nothing (no files
 * from the internet): a real JPEG, padded with comment segments to the
 * size asked, with an EXIF block giving when and where it was taken, or a
 * real PNG. Not installed.
 *
 *   mkphoto [--size BYTES] [--noise] [--taken "YYYY:MM:DD HH:MM:SS"]
 *           [--datetime "YYYY:MM:DD HH:MM:SS"] [--gps LAT,LON] [--png] FILE
 *
 * --noise fills the padding with random bytes, as a camera's picture data
 * is: every file differs, and none compresses (the sync tests and
 * benchmark); without it the same arguments make the same bytes. *
 * --taken is EXIF DateTimeOriginal, --datetime the DateTime fallback;
 * --gps takes signed degrees (negative: south, west).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/phototest.h"
#include "file.h"

static int usage(void)
{
    fprintf(stderr, "usage: mkphoto [--size BYTES] [--noise] [--taken TIME] "
                    "[--datetime TIME] [--gps LAT,LON] [--png] FILE\n");
    return 2;
}

/* Random bytes in place of the body of every comment segment (FF FE) of
 * the JPEG in b, which pt_jpeg() pads with. */
static void add_noise(struct fld_buf *b)
{
    size_t at = 2, len;

    while (at + 4 <= b->len && b->data[at] == 0xff) {
        len = (size_t)b->data[at + 2] << 8 | b->data[at + 3];
        if (b->data[at + 1] == 0xfe && at + 2 + len <= b->len)
            randombytes_buf(b->data + at + 4, len - 2);
        if (b->data[at + 1] == 0xda) /* the scan: no more segments */
            break;
        at += 2 + len;
    }
}

int main(int argc, char **argv)
{
    struct pt_exif x = {NULL, NULL, false, 0, 0};
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_err err;
    size_t size = 0;
    bool png = false, exif = false, noise = false;
    int i, rc;

    for (i = 1; i < argc - 1; i++) {
        if (strcmp(argv[i], "--png") == 0) {
            png = true;
        } else if (strcmp(argv[i], "--noise") == 0) {
            noise = true;
        } else if (i + 1 >= argc - 1) {
            return usage();
        } else if (strcmp(argv[i], "--size") == 0) {
            size = (size_t)strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--taken") == 0) {
            x.original = argv[++i];
            exif = true;
        } else if (strcmp(argv[i], "--datetime") == 0) {
            x.datetime = argv[++i];
            exif = true;
        } else if (strcmp(argv[i], "--gps") == 0) {
            if (sscanf(argv[++i], "%lf,%lf", &x.lat, &x.lon) != 2)
                return usage();
            x.gps = exif = true;
        } else {
            return usage();
        }
    }
    /* the last argument is the file: never an option (mkphoto --help) */
    if (i != argc - 1 || argv[i][0] == '-')
        return usage();
    if (png)
        pt_png(&b);
    else
        pt_jpeg(&b, exif ? &x : NULL, size);
    if (noise && !png)
        add_noise(&b);
    rc = fld_file_write(argv[argc - 1], b.data, b.len, 0644, 0, &err);
    if (rc != FLD_OK)
        fprintf(stderr, "mkphoto: %s\n", err.msg);
    fld_buf_free(&b);
    return rc == FLD_OK ? 0 : 1;
}
