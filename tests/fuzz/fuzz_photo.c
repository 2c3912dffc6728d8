/*
 * fuzz_photo.c - libFuzzer harness for the photo sniffer and its EXIF
 * reader (field/photo.c over libexif): the bytes of a file an inspector
 * attaches, trusted by nothing.
 *
 * For any input: judging it must not crash, leak or overrun (the
 * sanitizers watch that); a refusal is one of the four messages, naming
 * the file; an accepted photo has a type, and its time and position, when
 * known, are in the forms the signed version requires (version.h). The
 * same bytes judged by head and tail pieces (as attachment_add.c reads a
 * large file) give the same verdict.
 *
 * Built by clang apart from the normal build (make fuzz).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "norm.h"
#include "photo.h"
#include "version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bug(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_photo: %s (%s)\n", what, detail);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const refusals[] = {
        "f.jpg: empty", "f.jpg: not a JPEG or PNG image",
        "f.jpg: truncated JPEG", "f.jpg: truncated PNG"};
    struct fld_photo p, q;
    struct fld_err err;
    char *norm = NULL;
    size_t i;
    int rc = fld_photo_read(data, size, "f.jpg", &p, &err);

    if (rc != FLD_OK) {
        if (rc != FLD_EINVAL)
            bug("refused with another code", err.msg);
        for (i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
            if (strcmp(err.msg, refusals[i]) == 0)
                break;
        if (i == sizeof refusals / sizeof refusals[0])
            bug("unexpected message", err.msg);
        return 0;
    }
    if (strcmp(p.type, "image/jpeg") != 0 && strcmp(p.type, "image/png") != 0)
        bug("accepted without a type", p.type);
    if (p.taken[0] && !fld_is_timestamp(p.taken))
        bug("taken is not a timestamp", p.taken);
    if (p.position[0]) {
        if (fld_norm_geopoint(p.position, &norm, NULL) != FLD_OK ||
            strcmp(norm, p.position) != 0)
            bug("position is not a normal geopoint", p.position);
        free(norm);
    }
    /* a head of the whole input and its last bytes: the same verdict (a
     * longer input's EXIF may lie beyond the head fld_photo_read takes) */
    if (size > FLD_PHOTO_HEAD_MAX)
        return 0;
    rc = fld_photo_sniff(data, size, data + size - (size < 12 ? size : 12),
                         size < 12 ? size : 12, (int64_t)size, "f.jpg", &q,
                         NULL);
    if (rc != FLD_OK || memcmp(&p, &q, sizeof p) != 0)
        bug("head and tail disagree with the whole", p.type);
    return 0;
}
