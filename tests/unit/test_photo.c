/*
 * test_photo.c - sniffing photos from their bytes and reading their EXIF:
 * JPEG and PNG accepted, everything else refused with one line naming the
 * file, and known answers for the time and place a camera wrote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "phototest.h"
#include "photo.h"

static int read_buf(const struct fld_buf *b, struct fld_photo *p,
                    struct fld_err *err)
{
    return fld_photo_read(b->data, b->len, "x.jpg", p, err);
}

static void test_jpeg_with_exif(void **state)
{
    struct pt_exif x = {"2026:11:28 08:15:02", "2026:12:01 10:00:00", true,
                        18.3559, 105.8877};
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_photo p;

    (void)state;
    pt_jpeg(&b, &x, 0);
    assert_int_equal(read_buf(&b, &p, NULL), FLD_OK);
    assert_string_equal(p.type, "image/jpeg");
    /* DateTimeOriginal wins over DateTime */
    assert_string_equal(p.taken, "2026-11-28T08:15:02");
    assert_string_equal(p.position, "18.355900 105.887700");
    fld_buf_free(&b);
}

static void test_southern_western_and_fallback_time(void **state)
{
    struct pt_exif x = {NULL, "2025:01:02 03:04:05", true, -33.8688, -70.5};
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_photo p;

    (void)state;
    pt_jpeg(&b, &x, 300 * 1024); /* EXIF in the head, the end far after */
    assert_true(b.len == 300 * 1024);
    assert_int_equal(read_buf(&b, &p, NULL), FLD_OK);
    assert_string_equal(p.taken, "2025-01-02T03:04:05");
    assert_string_equal(p.position, "-33.868800 -70.500000");
    fld_buf_free(&b);
}

static void test_no_exif_and_unset_clock(void **state)
{
    struct pt_exif x = {"0000:00:00 00:00:00", NULL, false, 0, 0};
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_photo p;

    (void)state;
    pt_jpeg(&b, NULL, 0);
    assert_int_equal(read_buf(&b, &p, NULL), FLD_OK);
    assert_string_equal(p.taken, "");
    assert_string_equal(p.position, "");
    fld_buf_free(&b);
    /* a camera whose clock was never set: the time is unknown, no error */
    pt_jpeg(&b, &x, 0);
    assert_int_equal(read_buf(&b, &p, NULL), FLD_OK);
    assert_string_equal(p.taken, "");
    fld_buf_free(&b);
}

static void test_png(void **state)
{
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_photo p;
    struct fld_err err;

    (void)state;
    pt_png(&b);
    assert_int_equal(fld_photo_read(b.data, b.len, "a.png", &p, NULL), FLD_OK);
    assert_string_equal(p.type, "image/png");
    assert_string_equal(p.taken, "");
    /* cut short: no IEND */
    assert_int_equal(fld_photo_read(b.data, b.len - 1, "a.png", &p, &err),
                     FLD_EINVAL);
    assert_string_equal(err.msg, "a.png: truncated PNG");
    fld_buf_free(&b);
}

static void test_refused(void **state)
{
    static const uint8_t gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00;";
    static const char text[] = "this is not a photo\n";
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_photo p;
    struct fld_err err;

    (void)state;
    assert_int_equal(fld_photo_read(gif, sizeof gif - 1, "g.jpg", &p, &err),
                     FLD_EINVAL);
    assert_string_equal(err.msg, "g.jpg: not a JPEG or PNG image");
    assert_int_equal(fld_photo_read((const uint8_t *)text, sizeof text - 1,
                                    "t.jpg", &p, &err),
                     FLD_EINVAL);
    assert_string_equal(err.msg, "t.jpg: not a JPEG or PNG image");
    assert_string_equal(p.type, "");
    assert_int_equal(fld_photo_read(NULL, 0, "e.jpg", &p, &err), FLD_EINVAL);
    assert_string_equal(err.msg, "e.jpg: empty");
    pt_jpeg(&b, NULL, 0);
    assert_int_equal(fld_photo_read(b.data, b.len - 1, "c.jpg", &p, &err),
                     FLD_EINVAL);
    assert_string_equal(err.msg, "c.jpg: truncated JPEG");
    assert_int_equal(fld_photo_read(b.data, 3, "c.jpg", &p, &err), FLD_EINVAL);
    assert_string_equal(err.msg, "c.jpg: truncated JPEG");
    fld_buf_free(&b);
}

/* A broken EXIF block (its length runs past the file) is no EXIF, and the
 * photo is still a photo. */
static void test_broken_exif(void **state)
{
    struct pt_exif x = {"2026:11:28 08:15:02", NULL, true, 18, 105};
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_photo p;
    size_t i;

    (void)state;
    pt_jpeg(&b, &x, 0);
    b.data[4] = 0xff; /* APP1 length: 65k, past the end */
    assert_int_equal(read_buf(&b, &p, NULL), FLD_OK);
    assert_string_equal(p.taken, "");
    fld_buf_free(&b);
    /* every byte of the block flipped in turn: never a crash */
    pt_jpeg(&b, &x, 0);
    for (i = 6; i < 200 && i < b.len - 2; i++) {
        b.data[i] ^= 0x5a;
        (void)read_buf(&b, &p, NULL);
        b.data[i] ^= 0x5a;
    }
    fld_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jpeg_with_exif),
        cmocka_unit_test(test_southern_western_and_fallback_time),
        cmocka_unit_test(test_no_exif_and_unset_clock),
        cmocka_unit_test(test_png),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_broken_exif),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
