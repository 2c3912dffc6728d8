/*
 * attachment.c - the device's photo files and what its store knows of
 * them (see attachment.h); fld_attachment_add() is in attachment_add.c.
 *
 * Files are read in FLD_ATTACH_CHUNK pieces and hashed as they are read:
 * a photo is never held whole in memory, whatever its size.
 */
#include "attachment.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

#define ATTACH_DIR "attachments"

char *fld_attachment_dir(const char *home)
{
    return fld_xasprintf("%s/" ATTACH_DIR, home);
}

char *fld_attachment_path(const char *home, const char *hash)
{
    return fld_xasprintf("%s/" ATTACH_DIR "/%.2s/%s", home, hash, hash);
}

char *fld_attachment_partial_path(const char *home, const char *hash)
{
    return fld_xasprintf("%s/" ATTACH_DIR "/partial/%s", home, hash);
}

bool fld_attachment_exists(const char *home, const char *hash)
{
    char *path = fld_attachment_path(home, hash);
    struct stat sb;
    bool there = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);

    free(path);
    return there;
}

static int sys_err(struct fld_err *err, const char *what, const char *path)
{
    int e = errno;

    return fld_err_set(err, e == ENOSPC || e == EDQUOT ? FLD_EFULL : FLD_EIO,
                       "%s %s: %s", what, path, strerror(e));
}

/* The folder that holds path, made when missing (0700: the data
 * directory's own files are the device's only). */
static int make_dir(const char *path, struct fld_err *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return sys_err(err, "cannot create", path);
    return FLD_OK;
}

static int fsync_dir(const char *dir, struct fld_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int rc = FLD_OK;

    if (fd < 0)
        return sys_err(err, "cannot open", dir);
    if (fsync(fd) != 0)
        rc = sys_err(err, "cannot sync", dir);
    close(fd);
    return rc;
}

int fld_attachment_place(const char *home, const char *hash,
                         const char *tmp_path, struct fld_err *err)
{
    char *top = fld_attachment_dir(home);
    char *dir = fld_xasprintf("%s/%.2s", top, hash);
    char *path = fld_attachment_path(home, hash);
    int fd, rc;

    if ((fd = open(tmp_path, O_RDONLY)) < 0) {
        rc = sys_err(err, "cannot open", tmp_path);
        goto out;
    }
    rc = fsync(fd) == 0 ? FLD_OK : sys_err(err, "cannot sync", tmp_path);
    close(fd);
    if (rc == FLD_OK)
        rc = make_dir(top, err);
    if (rc == FLD_OK)
        rc = make_dir(dir, err);
    if (rc != FLD_OK)
        goto out;
    /* A file under its hash is whole and right: the same bytes are there. */
    if (fld_attachment_exists(home, hash)) {
        unlink(tmp_path);
        goto out;
    }
    if (rename(tmp_path, path) != 0) {
        rc = sys_err(err, "cannot put in place", path);
        goto out;
    }
    rc = fsync_dir(dir, err);
out:
    if (rc != FLD_OK)
        unlink(tmp_path);
    free(path);
    free(dir);
    free(top);
    return rc;
}

/* Hash what is left of fd in bounded pieces: *len bytes, the hash in hex. */
static int hash_fd(int fd, const char *path, int64_t *len,
                   char hex[FLD_HASH_HEX_LEN + 1], struct fld_err *err)
{
    crypto_generichash_state h;
    uint8_t *buf = fld_xmalloc(64 * 1024), raw[32];
    ssize_t got;
    int rc = FLD_OK;

    *len = 0;
    crypto_generichash_init(&h, NULL, 0, sizeof raw);
    while ((got = read(fd, buf, 64 * 1024)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = sys_err(err, "cannot read", path);
            break;
        }
        crypto_generichash_update(&h, buf, (size_t)got);
        *len += got;
    }
    crypto_generichash_final(&h, raw, sizeof raw);
    sodium_bin2hex(hex, FLD_HASH_HEX_LEN + 1, raw, sizeof raw);
    free(buf);
    return rc;
}

int fld_attachment_get(struct fld_store *st, const char *hash,
                       struct fld_attachment *out, bool *held,
                       struct fld_err *err)
{
    return fld_store_attach_signed(st, hash, out, held, err);
}

int fld_attachment_to_upload(struct fld_store *st, size_t max,
                             struct fld_attachment **out, size_t *n,
                             struct fld_err *err)
{
    return fld_store_attach_list(st, FLD_ATTACH_TO_UPLOAD, NULL, max, out, n,
                                 err);
}

int fld_attachment_mark_uploaded(struct fld_store *st, const char *hash,
                                 struct fld_err *err)
{
    return fld_store_attach_uploaded(st, hash, err);
}

int fld_attachment_to_download(struct fld_store *st, const char *record,
                               size_t max, struct fld_attachment **out,
                               size_t *n, struct fld_err *err)
{
    return fld_store_attach_list(st, FLD_ATTACH_TO_DOWNLOAD, record, max, out,
                                 n, err);
}

int fld_attachment_receive(struct fld_store *st, const char *home,
                           const struct fld_attachment *a, const char *tmp_path,
                           struct fld_err *err)
{
    char hex[FLD_HASH_HEX_LEN + 1];
    int64_t len;
    int fd, rc;

    if (!fld_is_hex(a->hash, FLD_HASH_HEX_LEN))
        return fld_err_set(err, FLD_EINVAL, "not an attachment hash: %.70s",
                           a->hash);
    if ((fd = open(tmp_path, O_RDONLY)) < 0)
        return sys_err(err, "cannot open", tmp_path);
    rc = hash_fd(fd, tmp_path, &len, hex, err);
    close(fd);
    if (rc != FLD_OK)
        return rc;
    /* A file that is not what the versions signed is never kept. */
    if (len != a->bytes || sodium_memcmp(hex, a->hash, FLD_HASH_HEX_LEN) != 0) {
        unlink(tmp_path);
        return fld_err_set(
            err, FLD_ECORRUPT,
            "attachment %.16s: the file received is not it (%lld bytes, "
            "hash %.16s); deleted",
            a->hash, (long long)len, hex);
    }
    if ((rc = fld_attachment_place(home, a->hash, tmp_path, err)) != FLD_OK)
        return rc;
    return fld_store_attach_hold(st, a, err);
}

int fld_attachment_put_bytes(struct fld_store *st, const char *home,
                             const struct fld_attachment *a, const uint8_t *p,
                             size_t len, struct fld_err *err)
{
    char *dir = fld_attachment_dir(home);
    char *partial = fld_xasprintf("%s/partial", dir);
    char *tmp = fld_xasprintf("%s/put-XXXXXX", partial);
    int fd = -1, rc;

    rc = make_dir(dir, err);
    if (rc == FLD_OK)
        rc = make_dir(partial, err);
    if (rc != FLD_OK)
        goto out;
    if ((fd = mkstemp(tmp)) < 0) {
        rc = sys_err(err, "cannot create a file in", partial);
        goto out;
    }
    while (len > 0) {
        ssize_t put = write(fd, p, len);

        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0) {
            rc = sys_err(err, "cannot write", tmp);
            break;
        }
        p += put;
        len -= (size_t)put;
    }
    if (close(fd) != 0 && rc == FLD_OK)
        rc = sys_err(err, "cannot write", tmp);
    if (rc != FLD_OK) {
        unlink(tmp);
        goto out;
    }
    /* checked again against the name and signed size, then put in place */
    rc = fld_attachment_receive(st, home, a, tmp, err);
    if (rc != FLD_OK)
        unlink(tmp);
out:
    /* Name the photo and the folder, not the temporary file (gone). */
    if (rc == FLD_EFULL)
        rc = fld_err_set(err, FLD_EFULL,
                         "photo %.16s: the disk is full: no room for it in "
                         "%s",
                         a->hash, dir);
    free(tmp);
    free(partial);
    free(dir);
    return rc;
}

int fld_attachment_check_files(struct fld_store *st, const char *home,
                               fld_attachment_fault_fn fn, void *ctx,
                               size_t *n_checked, size_t *n_bad,
                               struct fld_err *err)
{
    struct fld_attachment *held;
    size_t n, i;
    int rc;

    *n_checked = *n_bad = 0;
    rc = fld_store_attach_list(st, FLD_ATTACH_HELD, NULL, 0, &held, &n, err);
    if (rc != FLD_OK)
        return rc;
    for (i = 0; i < n; i++) {
        char *path = fld_attachment_path(home, held[i].hash);
        char hex[FLD_HASH_HEX_LEN + 1];
        struct fld_err e;
        int64_t len = 0;
        int fd = open(path, O_RDONLY | O_NOFOLLOW);

        fld_err_clear(&e);
        if (fd < 0)
            fld_err_set(&e, FLD_ECORRUPT, "attachment %s: the file is missing",
                        path);
        else if (hash_fd(fd, path, &len, hex, &e) == FLD_OK &&
                 strcmp(hex, held[i].hash) != 0)
            fld_err_set(&e, FLD_ECORRUPT,
                        "attachment %s: the file does not hash to its name "
                        "(changed or replaced)",
                        path);
        if (fd >= 0)
            close(fd);
        (*n_checked)++;
        if (e.code != FLD_OK) {
            (*n_bad)++;
            fn(ctx, held[i].hash, e.msg);
        }
        free(path);
    }
    free(held);
    return FLD_OK;
}

int fld_attachment_rescan(struct fld_store *st, const char *home,
                          size_t *n_held, struct fld_err *err)
{
    struct fld_attachment *l;
    size_t n, i;
    int rc;

    *n_held = 0;
    rc =
        fld_store_attach_list(st, FLD_ATTACH_TO_DOWNLOAD, NULL, 0, &l, &n, err);
    for (i = 0; i < n && rc == FLD_OK; i++) {
        char *path = fld_attachment_path(home, l[i].hash);
        char hex[FLD_HASH_HEX_LEN + 1];
        int64_t len;
        int fd = open(path, O_RDONLY | O_NOFOLLOW);

        /* only a file that still is what its name says is held again */
        if (fd >= 0 && hash_fd(fd, path, &len, hex, NULL) == FLD_OK &&
            strcmp(hex, l[i].hash) == 0) {
            rc = fld_store_attach_set_held(st, l[i].hash, true, err);
            (*n_held)++;
        }
        if (fd >= 0)
            close(fd);
        free(path);
    }
    free(l);
    return rc;
}

struct first_bad {
    char msg[FLD_ERR_MSG_MAX];
};

static void keep_first(void *ctx, const char *hash, const char *message)
{
    struct first_bad *f = ctx;

    (void)hash;
    if (f->msg[0] == '\0')
        snprintf(f->msg, sizeof f->msg, "%s", message);
}

int fld_attachment_verify_files(struct fld_store *st, const char *home,
                                size_t *n_checked, struct fld_err *err)
{
    struct first_bad first = {""};
    size_t n_bad;
    int rc = fld_attachment_check_files(st, home, keep_first, &first, n_checked,
                                        &n_bad, err);

    if (rc != FLD_OK)
        return rc;
    if (n_bad == 1)
        return fld_err_set(err, FLD_ECORRUPT, "%s", first.msg);
    if (n_bad > 1)
        return fld_err_set(err, FLD_ECORRUPT, "%s (and %zu more)", first.msg,
                           n_bad - 1);
    return FLD_OK;
}

/* Add an entry for every answer below v that names a known attachment. */
static int collect(struct fld_store *st, const struct fld_json *v,
                   struct fld_json *into, struct fld_err *err)
{
    struct fld_attachment a;
    struct fld_json *e;
    size_t i;
    int rc = FLD_OK;

    if (v->type == FLD_JSON_OBJECT) {
        for (i = 0; i < v->n && rc == FLD_OK; i++)
            rc = collect(st, v->members[i].value, into, err);
        return rc;
    }
    if (v->type == FLD_JSON_ARRAY) {
        for (i = 0; i < v->n && rc == FLD_OK; i++)
            rc = collect(st, v->items[i], into, err);
        return rc;
    }
    if (v->type != FLD_JSON_STRING || !fld_is_hex(v->s, FLD_HASH_HEX_LEN) ||
        fld_json_get(into, v->s) != NULL)
        return FLD_OK;
    rc = fld_store_attach_known(st, v->s, &a, NULL, err);
    if (rc == FLD_NOTFOUND)
        return FLD_OK; /* a hash the device never saw: nothing to sign */
    if (rc != FLD_OK)
        return rc;
    e = fld_json_object();
    fld_json_set(e, "bytes", fld_json_int(a.bytes));
    fld_json_set(e, "type", fld_json_string(a.type));
    if (a.taken[0])
        fld_json_set(e, "taken", fld_json_string(a.taken));
    if (a.position[0])
        fld_json_set(e, "position", fld_json_string(a.position));
    fld_json_set(into, a.hash, e);
    return FLD_OK;
}

int fld_attachment_entries(struct fld_store *st, const struct fld_json *answers,
                           struct fld_json **out, struct fld_err *err)
{
    struct fld_json *o;
    int rc;

    *out = NULL;
    if (answers == NULL)
        return FLD_OK;
    o = fld_json_object();
    rc = collect(st, answers, o, err);
    if (rc != FLD_OK || o->n == 0) {
        fld_json_free(o);
        return rc;
    }
    *out = o;
    return FLD_OK;
}
