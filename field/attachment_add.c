/*
 * attachment_add.c - adding a photo file to the device (fld_attachment_add,
 * attachment.h): the one part of attachments that reads EXIF, so that only
 * the programs that capture photos link libexif (libfield is a static
 * archive: a program gets the members it calls).
 *
 * The file is read once, in bounded pieces: the first piece (the head,
 * FLD_PHOTO_HEAD_MAX bytes) and the last bytes decide whether it is a
 * photo and what its EXIF says before anything is written; then the head
 * and every next piece are hashed and written to a temporary file in the
 * attachment folder, which is put in place under its hash once whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attachment.h"
#include "buf.h"
#include "file.h"
#include "photo.h"

/* The pieces a file is copied in after its head. */
#define COPY_CHUNK (64 * 1024)

static int sys_err(struct fld_err *err, const char *what, const char *path)
{
    int e = errno;

    return fld_err_set(err, e == ENOSPC || e == EDQUOT ? FLD_EFULL : FLD_EIO,
                       "%s %s: %s", what, path, strerror(e));
}

/* Read exactly len bytes at offset (pread: the file position is the
 * copy's); FLD_EIO when the file is shorter now than it was. */
static int read_at(int fd, const char *path, uint8_t *buf, size_t len,
                   off_t offset, struct fld_err *err)
{
    size_t done = 0;

    while (done < len) {
        ssize_t got = pread(fd, buf + done, len - done, offset + (off_t)done);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return sys_err(err, "cannot read", path);
        if (got == 0)
            return fld_err_set(err, FLD_EIO, "%s: changed while it was read",
                               path);
        done += (size_t)got;
    }
    return FLD_OK;
}

static int write_all(int fd, const char *path, const uint8_t *p, size_t len,
                     struct fld_err *err)
{
    while (len > 0) {
        ssize_t put = write(fd, p, len);

        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0)
            return sys_err(err, "cannot write", path);
        p += put;
        len -= (size_t)put;
    }
    return FLD_OK;
}

/* Copy the file (size bytes, head already read) to tmp, hashing it. */
static int copy(int in, const char *path, int64_t size, const uint8_t *head,
                size_t head_len, int out, const char *tmp,
                char hex[FLD_HASH_HEX_LEN + 1], struct fld_err *err)
{
    crypto_generichash_state h;
    uint8_t *buf = fld_xmalloc(COPY_CHUNK), raw[32];
    int64_t done = (int64_t)head_len;
    int rc;

    crypto_generichash_init(&h, NULL, 0, sizeof raw);
    crypto_generichash_update(&h, head, head_len);
    rc = write_all(out, tmp, head, head_len, err);
    while (rc == FLD_OK && done < size) {
        size_t n =
            size - done < COPY_CHUNK ? (size_t)(size - done) : COPY_CHUNK;

        rc = read_at(in, path, buf, n, (off_t)done, err);
        if (rc == FLD_OK) {
            crypto_generichash_update(&h, buf, n);
            rc = write_all(out, tmp, buf, n, err);
        }
        done += (int64_t)n;
    }
    crypto_generichash_final(&h, raw, sizeof raw);
    sodium_bin2hex(hex, FLD_HASH_HEX_LEN + 1, raw, sizeof raw);
    free(buf);
    return rc;
}

int fld_attachment_add(struct fld_store *st, const char *home, const char *path,
                       int64_t limit, struct fld_attachment *out,
                       struct fld_err *err)
{
    uint8_t *head = NULL, tail[FLD_PHOTO_TAIL_LEN];
    char *dir = NULL, *partial = NULL, *tmp = NULL;
    struct fld_photo photo;
    struct stat sb;
    size_t head_len, tail_len;
    int64_t size;
    int in = -1, fd = -1, rc;

    memset(out, 0, sizeof *out);
    if (limit <= 0 || limit > FLD_ATTACH_MAX_BYTES)
        limit = FLD_ATTACH_MAX_BYTES;
    if ((rc = fld_file_open(path, &in, &sb, err)) != FLD_OK)
        return rc;
    size = (int64_t)sb.st_size;
    if (size > limit) {
        rc = fld_err_set(err, FLD_ELIMIT,
                         "%s: %.1f MB is over the %.4g MB "
                         "limit",
                         path, (double)size / (1024 * 1024),
                         (double)limit / (1024 * 1024));
        goto out;
    }
    head_len = size < FLD_PHOTO_HEAD_MAX ? (size_t)size : FLD_PHOTO_HEAD_MAX;
    tail_len = size < FLD_PHOTO_TAIL_LEN ? (size_t)size : FLD_PHOTO_TAIL_LEN;
    head = fld_xmalloc(head_len + 1);
    rc = read_at(in, path, head, head_len, 0, err);
    if (rc == FLD_OK)
        rc = read_at(in, path, tail, tail_len,
                     (off_t)(size - (int64_t)tail_len), err);
    if (rc == FLD_OK)
        rc = fld_photo_sniff(head, head_len, tail, tail_len, size, path, &photo,
                             err);
    if (rc != FLD_OK)
        goto out;

    dir = fld_attachment_dir(home);
    partial = fld_xasprintf("%s/partial", dir);
    tmp = fld_xasprintf("%s/add-XXXXXX", partial);
    if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
        (mkdir(partial, 0700) != 0 && errno != EEXIST)) {
        rc = sys_err(err, "cannot create", partial);
        goto out;
    }
    if ((fd = mkstemp(tmp)) < 0) {
        rc = sys_err(err, "cannot create a file in", partial);
        goto out;
    }
    rc = copy(in, path, size, head, head_len, fd, tmp, out->hash, err);
    if (rc == FLD_OK && close(fd) != 0)
        rc = sys_err(err, "cannot write", tmp);
    fd = -1;
    if (rc == FLD_OK)
        rc = fld_attachment_place(home, out->hash, tmp, err);
    else
        unlink(tmp);
    /* Name what the person gave and where it would go, not the temporary
     * file, which is gone. */
    if (rc == FLD_EFULL)
        rc = fld_err_set(err, FLD_EFULL,
                         "%s: the disk is full: no room for the photo in %s; "
                         "nothing was attached",
                         path, dir);
    if (rc != FLD_OK)
        goto out;
    out->bytes = size;
    memcpy(out->type, photo.type, sizeof out->type);
    memcpy(out->taken, photo.taken, sizeof out->taken);
    memcpy(out->position, photo.position, sizeof out->position);
    /* the file is in place before the row says the device holds it */
    rc = fld_store_attach_hold(st, out, err);
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    if (in >= 0)
        close(in);
    if (rc != FLD_OK)
        memset(out, 0, sizeof *out);
    free(tmp);
    free(partial);
    free(dir);
    free(head);
    return rc;
}
