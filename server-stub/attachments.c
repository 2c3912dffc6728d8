/*
 * attachments.c - the files of attachments on the server's disk (see
 * attachments.h for the layout and the contract).
 *
 * Durability, in the order a file lives:
 *   - a chunk is written with pwrite at its offset and synced with
 *     fdatasync before api_attach.c acknowledges it in the database; a
 *     partial file made anew also has its directory synced, so the name
 *     survives a power cut with the bytes;
 *   - bytes past the acknowledged length (a server killed between the
 *     sync and the commit) are cut off by the next write, which starts
 *     from the acknowledged length whatever the file holds;
 *   - the completed file is read back whole through a 64 KiB buffer and
 *     hashed, renamed into place only when it matches its name, and both
 *     directories are synced; only then does the database call it stored.
 *     A crash between the rename and that commit leaves a whole, verified
 *     file that the database calls partial: the next chunk or state
 *     request finds it in place (srv_attach_is_whole) and marks it stored.
 *
 * Memory: nothing here holds more than one chunk (given by the caller)
 * and one 64 KiB buffer; a 100 MB file is hashed, copied and served
 * without being read into memory.
 */
#include "attachments.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "hlc.h"
#include "version.h"

#define IO_BUF (64 * 1024)

struct srv_attach {
    char *dir;
    pthread_mutex_t lock; /* the claims */
    char (*claims)[FLD_HASH_HEX_LEN + 1];
    size_t n_claims, cap_claims;
};

char *srv_attach_dir_of(const char *location)
{
    const char *path = location, *slash;

    if (strncmp(location, "sqlite:", 7) == 0)
        path = location + 7;
    slash = strrchr(path, '/');
    if (slash == NULL)
        return fld_xstrdup("attachments");
    if (slash == path)
        return fld_xstrdup("/attachments");
    return fld_xasprintf("%.*s/attachments", (int)(slash - path), path);
}

/* ENOSPC and EDQUOT are the disk's state, not a fault of ours. */
static int io_error(struct fld_err *err, int e, const char *what,
                    const char *path)
{
    return fld_err_set(err, e == ENOSPC || e == EDQUOT ? FLD_EFULL : FLD_EIO,
                       "%s %s: %s", what, path, strerror(e));
}

static int make_dir(const char *path, bool *made, struct fld_err *err)
{
    if (made)
        *made = false;
    if (mkdir(path, 0700) == 0) {
        if (made)
            *made = true;
        return FLD_OK;
    }
    if (errno == EEXIST)
        return FLD_OK;
    return io_error(err, errno, "cannot make", path);
}

static int sync_dir(const char *path, struct fld_err *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = FLD_OK;

    if (fd < 0)
        return io_error(err, errno, "cannot open", path);
    if (fsync(fd) != 0)
        rc = io_error(err, errno, "cannot sync", path);
    close(fd);
    return rc;
}

int srv_attach_open(const char *dir, struct srv_attach **out,
                    struct fld_err *err)
{
    struct srv_attach *a;
    char *partial = fld_xasprintf("%s/partial", dir);
    int rc;

    *out = NULL;
    rc = make_dir(dir, NULL, err);
    if (rc == FLD_OK)
        rc = make_dir(partial, NULL, err);
    free(partial);
    if (rc != FLD_OK)
        return rc;
    a = fld_xcalloc(1, sizeof *a);
    a->dir = fld_xstrdup(dir);
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    return FLD_OK;
}

void srv_attach_close(struct srv_attach *a)
{
    if (a == NULL)
        return;
    pthread_mutex_destroy(&a->lock);
    free(a->claims);
    free(a->dir);
    free(a);
}

const char *srv_attach_path(const struct srv_attach *a)
{
    return a->dir;
}

/* ---- claims ----------------------------------------------------------------
 */

static size_t find_claim(const struct srv_attach *a, const char *hash)
{
    size_t i;

    for (i = 0; i < a->n_claims; i++)
        if (strcmp(a->claims[i], hash) == 0)
            return i;
    return a->n_claims;
}

bool srv_attach_claim(struct srv_attach *a, const char *hash)
{
    bool ok;

    pthread_mutex_lock(&a->lock);
    ok = find_claim(a, hash) == a->n_claims;
    if (ok) {
        if (a->n_claims == a->cap_claims) {
            a->cap_claims = a->cap_claims ? 2 * a->cap_claims : 16;
            a->claims =
                fld_xreallocarray(a->claims, a->cap_claims, sizeof *a->claims);
        }
        snprintf(a->claims[a->n_claims++], FLD_HASH_HEX_LEN + 1, "%s", hash);
    }
    pthread_mutex_unlock(&a->lock);
    return ok;
}

void srv_attach_unclaim(struct srv_attach *a, const char *hash)
{
    size_t i;

    pthread_mutex_lock(&a->lock);
    i = find_claim(a, hash);
    if (i < a->n_claims)
        memcpy(a->claims[i], a->claims[--a->n_claims], sizeof a->claims[i]);
    pthread_mutex_unlock(&a->lock);
}

/* ---- files -----------------------------------------------------------------
 */

static char *partial_path(const struct srv_attach *a, const char *hash)
{
    return fld_xasprintf("%s/partial/%s", a->dir, hash);
}

static char *whole_dir(const struct srv_attach *a, const char *hash)
{
    return fld_xasprintf("%s/%.2s", a->dir, hash);
}

static char *whole_path(const struct srv_attach *a, const char *hash)
{
    return fld_xasprintf("%s/%.2s/%s", a->dir, hash, hash);
}

static int write_all(int fd, const uint8_t *p, size_t len, off_t at)
{
    ssize_t n;

    while (len > 0) {
        n = pwrite(fd, p, len, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        p += n;
        len -= (size_t)n;
        at += n;
    }
    return 0;
}

int srv_attach_write(struct srv_attach *a, const char *hash, int64_t at,
                     const uint8_t *p, size_t len, struct fld_err *err)
{
    char *path = partial_path(a, hash);
    struct stat sb;
    bool made = false;
    int fd, e, rc = FLD_OK;

    fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT && at == 0) {
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0600);
        made = fd >= 0;
    }
    if (fd < 0) {
        rc = errno == ENOENT
                 ? fld_err_set(err, FLD_NOTFOUND,
                               "attachment %.16s: the partial upload is gone",
                               hash)
                 : io_error(err, errno, "cannot open", path);
        free(path);
        return rc;
    }
    if (fstat(fd, &sb) != 0) {
        rc = io_error(err, errno, "cannot read", path);
    } else if (sb.st_size < at) {
        rc = fld_err_set(err, FLD_NOTFOUND,
                         "attachment %.16s: the partial upload holds %lld of "
                         "%lld acknowledged bytes",
                         hash, (long long)sb.st_size, (long long)at);
    } else if (sb.st_size > at && ftruncate(fd, (off_t)at) != 0) {
        /* bytes written but never acknowledged (a server killed before
         * its commit): the client sends them again from `at` */
        rc = io_error(err, errno, "cannot truncate", path);
    } else {
        e = write_all(fd, p, len, (off_t)at);
        if (e == 0 && fdatasync(fd) != 0)
            e = errno;
        if (e != 0) {
            /* Nothing of this chunk is acknowledged: leave no half of it. */
            if (ftruncate(fd, (off_t)at) == 0)
                (void)fdatasync(fd);
            rc = io_error(err, e, "cannot write", path);
        }
    }
    close(fd);
    if (rc == FLD_OK && made) {
        char *dir = fld_xasprintf("%s/partial", a->dir);

        rc = sync_dir(dir, err);
        free(dir);
    }
    free(path);
    return rc;
}

/* BLAKE2b-256 of fd's bytes from its start, streamed; *len its length. */
static int hash_fd(int fd, const char *path, char hex[FLD_HASH_HEX_LEN + 1],
                   int64_t *len, struct fld_err *err)
{
    crypto_generichash_state h;
    uint8_t *buf = fld_xmalloc(IO_BUF), digest[32];
    ssize_t n;
    off_t at = 0;

    crypto_generichash_init(&h, NULL, 0, sizeof digest);
    for (;;) {
        n = pread(fd, buf, IO_BUF, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            return io_error(err, errno, "cannot read", path);
        }
        if (n == 0)
            break;
        crypto_generichash_update(&h, buf, (size_t)n);
        at += n;
    }
    free(buf);
    crypto_generichash_final(&h, digest, sizeof digest);
    fld_hex_encode(digest, sizeof digest, hex);
    *len = (int64_t)at;
    return FLD_OK;
}

int srv_attach_finish(struct srv_attach *a, const char *hash, int64_t bytes,
                      struct fld_err *err)
{
    char *path = partial_path(a, hash), *dir = NULL, *dest = NULL;
    char hex[FLD_HASH_HEX_LEN + 1], *pdir = NULL;
    int64_t len = 0;
    bool made;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        rc = errno == ENOENT ? fld_err_set(err, FLD_NOTFOUND,
                                           "attachment %.16s: no partial "
                                           "upload",
                                           hash)
                             : io_error(err, errno, "cannot open", path);
        free(path);
        return rc;
    }
    rc = hash_fd(fd, path, hex, &len, err);
    close(fd);
    if (rc == FLD_OK && (len != bytes || strcmp(hex, hash) != 0)) {
        /* Nothing of a wrong file is kept: the upload starts again. */
        unlink(path);
        rc = fld_err_set(err, FLD_EBADSIG,
                         "the %lld bytes received hash to %.16s..., not to "
                         "the attachment's name %.16s...",
                         (long long)len, hex, hash);
    }
    if (rc == FLD_OK) {
        dir = whole_dir(a, hash);
        dest = whole_path(a, hash);
        rc = make_dir(dir, &made, err);
        if (rc == FLD_OK && made)
            rc = sync_dir(a->dir, err);
    }
    if (rc == FLD_OK && rename(path, dest) != 0)
        rc = io_error(err, errno, "cannot rename", path);
    if (rc == FLD_OK)
        rc = sync_dir(dir, err);
    if (rc == FLD_OK) {
        pdir = fld_xasprintf("%s/partial", a->dir);
        rc = sync_dir(pdir, err);
    }
    free(pdir);
    free(dest);
    free(dir);
    free(path);
    return rc;
}

bool srv_attach_is_whole(const struct srv_attach *a, const char *hash)
{
    char *path = whole_path(a, hash);
    struct stat sb;
    bool ok = lstat(path, &sb) == 0 && S_ISREG(sb.st_mode);

    free(path);
    return ok;
}

int srv_attach_open_whole(const struct srv_attach *a, const char *hash, int *fd,
                          int64_t *len, struct fld_err *err)
{
    char *path = whole_path(a, hash);
    struct stat sb;
    int rc = FLD_OK;

    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (*fd < 0) {
        rc = errno == ENOENT ? fld_err_set(err, FLD_NOTFOUND,
                                           "attachment %.16s is not here", hash)
                             : io_error(err, errno, "cannot open", path);
    } else if (fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = io_error(err, errno ? errno : EINVAL, "cannot read", path);
        close(*fd);
        *fd = -1;
    } else {
        *len = (int64_t)sb.st_size;
    }
    free(path);
    return rc;
}

int srv_attach_drop_partial(struct srv_attach *a, const char *hash,
                            struct fld_err *err)
{
    char *path = partial_path(a, hash);
    int rc = FLD_OK;

    if (unlink(path) != 0 && errno != ENOENT)
        rc = io_error(err, errno, "cannot delete", path);
    free(path);
    return rc;
}

int64_t srv_attach_partial_len(const struct srv_attach *a, const char *hash)
{
    char *path = partial_path(a, hash);
    struct stat sb;
    int64_t len = -1;

    if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode))
        len = (int64_t)sb.st_size;
    free(path);
    return len;
}

/* ---- expiry ----------------------------------------------------------------
 */

struct stale {
    char (*hashes)[FLD_HASH_HEX_LEN + 1];
    size_t n, cap;
};

static int keep_stale(void *ctx, size_t i, const struct srv_attachment *row)
{
    struct stale *l = ctx;

    (void)i;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->hashes = fld_xreallocarray(l->hashes, l->cap, sizeof *l->hashes);
    }
    snprintf(l->hashes[l->n++], FLD_HASH_HEX_LEN + 1, "%s", row->hash);
    return FLD_OK;
}

/* Forget the upload of hash in the database, in a transaction of its own. */
static int forget(struct srv_storage *st, pthread_mutex_t *write_lock,
                  const char *hash, struct fld_err *err)
{
    int rc;

    if (write_lock)
        pthread_mutex_lock(write_lock);
    rc = srv_storage_begin(st, err);
    if (rc == FLD_OK)
        rc = srv_storage_attachment_reset(st, hash, err);
    if (rc == FLD_OK)
        rc = srv_storage_commit(st, err);
    else
        srv_storage_rollback(st);
    if (write_lock)
        pthread_mutex_unlock(write_lock);
    return rc;
}

/* Partial files not written to since before_ms, whatever the database
 * says (a crash may have left one it has no row for). */
static int sweep_files(struct srv_attach *a, int64_t before_ms, size_t *n,
                       struct fld_err *err)
{
    char *dir = fld_xasprintf("%s/partial", a->dir), *path;
    struct dirent *e;
    struct stat sb;
    DIR *d = opendir(dir);
    int64_t mtime_ms;

    if (d == NULL) {
        int rc = io_error(err, errno, "cannot open", dir);

        free(dir);
        return rc;
    }
    while ((e = readdir(d)) != NULL) {
        if (strlen(e->d_name) != FLD_HASH_HEX_LEN ||
            !fld_is_hex(e->d_name, FLD_HASH_HEX_LEN))
            continue;
        path = fld_xasprintf("%s/%s", dir, e->d_name);
        mtime_ms = 0;
        if (lstat(path, &sb) == 0)
            mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 +
                       sb.st_mtim.tv_nsec / 1000000;
        if (mtime_ms > 0 && mtime_ms < before_ms &&
            srv_attach_claim(a, e->d_name)) {
            if (unlink(path) == 0)
                (*n)++;
            srv_attach_unclaim(a, e->d_name);
        }
        free(path);
    }
    closedir(d);
    free(dir);
    return FLD_OK;
}

int srv_attach_expire(struct srv_attach *a, struct srv_storage *st,
                      pthread_mutex_t *write_lock, int64_t before_ms, size_t *n,
                      struct fld_err *err)
{
    struct stale l = {NULL, 0, 0};
    size_t i, dropped = 0;
    int rc;

    rc = srv_storage_attachments_stale(st, before_ms, keep_stale, &l, err);
    for (i = 0; i < l.n && rc == FLD_OK; i++) {
        if (!srv_attach_claim(a, l.hashes[i]))
            continue; /* a chunk is arriving: not stale any more */
        /* The row first: a partial file without a row is swept later,
         * a row without its file is found out by the next chunk. */
        rc = forget(st, write_lock, l.hashes[i], err);
        if (rc == FLD_OK && srv_attach_partial_len(a, l.hashes[i]) >= 0) {
            rc = srv_attach_drop_partial(a, l.hashes[i], err);
            dropped++;
        }
        srv_attach_unclaim(a, l.hashes[i]);
    }
    free(l.hashes);
    if (rc == FLD_OK)
        rc = sweep_files(a, before_ms, &dropped, err);
    if (n)
        *n = dropped;
    return rc;
}

/* ---- backup ----------------------------------------------------------------
 */

/* Copy the file from to the new file to, synced. */
static int copy_file(const char *from, const char *to, int64_t *bytes,
                     struct fld_err *err)
{
    uint8_t *buf;
    ssize_t n;
    off_t at = 0;
    int in, out, e = 0, rc = FLD_OK;

    if ((in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
        return io_error(err, errno, "cannot open", from);
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out < 0) {
        rc = io_error(err, errno, "cannot create", to);
        close(in);
        return rc;
    }
    buf = fld_xmalloc(IO_BUF);
    for (;;) {
        n = read(in, buf, IO_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = n < 0 ? errno : 0;
            break;
        }
        if ((e = write_all(out, buf, (size_t)n, at)) != 0)
            break;
        at += n;
        *bytes += n;
    }
    if (e == 0 && fsync(out) != 0)
        e = errno;
    free(buf);
    close(in);
    close(out);
    if (e != 0) {
        unlink(to);
        rc = io_error(err, e, "cannot copy to", to);
    }
    return rc;
}

/* Copy the whole files of one <2 hex> directory. */
static int copy_fan(const char *from, const char *to, size_t *n, int64_t *bytes,
                    struct fld_err *err)
{
    DIR *d = opendir(from);
    struct dirent *e;
    char *src, *dst;
    int rc = FLD_OK;

    if (d == NULL)
        return io_error(err, errno, "cannot open", from);
    rc = make_dir(to, NULL, err);
    while (rc == FLD_OK) {
        if ((e = readdir(d)) == NULL)
            break;
        if (strlen(e->d_name) != FLD_HASH_HEX_LEN ||
            !fld_is_hex(e->d_name, FLD_HASH_HEX_LEN))
            continue;
        src = fld_xasprintf("%s/%s", from, e->d_name);
        dst = fld_xasprintf("%s/%s", to, e->d_name);
        rc = copy_file(src, dst, bytes, err);
        if (rc == FLD_OK)
            (*n)++;
        free(src);
        free(dst);
    }
    closedir(d);
    if (rc == FLD_OK)
        rc = sync_dir(to, err);
    return rc;
}

int srv_attach_copy(const char *from_dir, const char *to_dir, size_t *n,
                    int64_t *bytes, struct fld_err *err)
{
    DIR *d;
    struct dirent *e;
    char *src, *dst;
    size_t count = 0;
    int64_t total = 0;
    int rc;

    if (mkdir(to_dir, 0700) != 0)
        return errno == EEXIST
                   ? fld_err_set(err, FLD_EXISTS, "%s: already exists", to_dir)
                   : io_error(err, errno, "cannot make", to_dir);
    d = opendir(from_dir);
    if (d == NULL && errno == ENOENT) {
        rc = FLD_OK; /* no attachment was ever received */
    } else if (d == NULL) {
        rc = io_error(err, errno, "cannot open", from_dir);
    } else {
        rc = FLD_OK;
        while (rc == FLD_OK) {
            if ((e = readdir(d)) == NULL)
                break;
            if (strlen(e->d_name) != 2 || !fld_is_hex(e->d_name, 2))
                continue;
            src = fld_xasprintf("%s/%s", from_dir, e->d_name);
            dst = fld_xasprintf("%s/%s", to_dir, e->d_name);
            rc = copy_fan(src, dst, &count, &total, err);
            free(src);
            free(dst);
        }
        closedir(d);
    }
    if (rc == FLD_OK)
        rc = sync_dir(to_dir, err);
    if (n)
        *n = count;
    if (bytes)
        *bytes = total;
    return rc;
}
