/*
 * file.c - capped reads and safe writes of whole files (see file.h).
 *
 * Where it sits: below every command that reads a file the user names
 * (templates, unit lists, bundles, TLS certificates) or writes one
 * (exports, bundles, the key file, the server's port file). It never
 * prints; its messages name the path and the system's reason.
 *
 * Decisions:
 *   - Reading opens with O_NONBLOCK, so that a FIFO planted at the path
 *     cannot block us before fstat says it is no regular file. The cap is
 *     checked against fstat's size first (a huge file costs nothing) and
 *     again while reading, by asking for one byte more than the cap: a
 *     file may grow between the two.
 *   - A new file gets its final name by link(2), which fails when the
 *     name exists, so "never overwrite" holds even against a file or link
 *     that appears while we write. A file system without hard links (FAT
 *     on a USB stick) gets the name reserved with O_CREAT|O_EXCL instead,
 *     then rename(2) puts the written file over that empty file of ours.
 *   - Replacing (no FLD_FILE_NEW) is rename(2): atomic for readers.
 *   - The temporary file is ".NAME.XXXXXX" beside the target (hidden,
 *     same file system, so link and rename stay within it), made with
 *     O_EXCL under a name nobody can predict well enough to race us into
 *     writing elsewhere; O_NOFOLLOW refuses a link planted there.
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

/* ---- reading ------------------------------------------------------------ */

int fld_file_open(const char *path, int *fd, struct stat *st,
                  struct fld_err *err)
{
    int e;

    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (*fd < 0) {
        e = errno;
        return fld_err_set(err, e == ENOENT ? FLD_NOTFOUND : FLD_EIO, "%s: %s",
                           path, strerror(e));
    }
    if (fstat(*fd, st) != 0) {
        e = errno;
        close(*fd);
        *fd = -1;
        return fld_err_set(err, FLD_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st->st_mode)) {
        close(*fd);
        *fd = -1;
        return fld_err_set(err, FLD_EIO, "%s: not a regular file", path);
    }
    return FLD_OK;
}

/* read(2) again after a signal (and after EAGAIN: O_NONBLOCK means nothing
 * on a regular file, but costs nothing to honour). */
static ssize_t read_some(int fd, void *p, size_t len)
{
    ssize_t n;

    do
        n = read(fd, p, len);
    while (n < 0 && (errno == EINTR || errno == EAGAIN));
    return n;
}

static int too_large(const char *path, size_t cap, struct fld_err *err)
{
    return fld_err_set(err, FLD_ELIMIT, "%s: larger than %zu bytes", path, cap);
}

/*
 * Read fd to its end into *buf, which holds *size bytes and is grown
 * (never past cap + 1) when can_grow is set: at most cap bytes, then a NUL.
 */
static int read_all(int fd, const char *path, size_t cap, uint8_t **buf,
                    size_t *size, bool can_grow, size_t *len,
                    struct fld_err *err)
{
    uint8_t probe;
    ssize_t n;

    *len = 0;
    for (;;) {
        if (*len == cap) {
            /* full: one byte more and the file is over the cap */
            n = read_some(fd, &probe, 1);
            if (n > 0)
                return too_large(path, cap, err);
            if (n == 0)
                break;
            return fld_err_set(err, FLD_EIO, "%s: %s", path, strerror(errno));
        }
        if (can_grow && *len + 1 == *size) {
            *size = *size > cap / 2 ? cap + 1 : 2 * *size;
            *buf = fld_xrealloc(*buf, *size);
        }
        n = read_some(fd, *buf + *len, *size - 1 - *len);
        if (n < 0)
            return fld_err_set(err, FLD_EIO, "%s: %s", path, strerror(errno));
        if (n == 0)
            break;
        *len += (size_t)n;
    }
    (*buf)[*len] = '\0';
    return FLD_OK;
}

int fld_file_read_fd(int fd, const char *path, size_t cap, uint8_t *buf,
                     size_t *len, struct fld_err *err)
{
    size_t size = cap + 1;

    return read_all(fd, path, cap, &buf, &size, false, len, err);
}

int fld_file_read(const char *path, size_t cap, uint8_t **data, size_t *len,
                  struct fld_err *err)
{
    struct stat st;
    size_t size;
    int fd, rc;

    *data = NULL;
    *len = 0;
    if ((rc = fld_file_open(path, &fd, &st, err)) != FLD_OK)
        return rc;
    if ((uintmax_t)st.st_size > cap) {
        close(fd);
        return too_large(path, cap, err);
    }
    /* room for the whole file, its NUL and one byte to see it end */
    size = (size_t)st.st_size + 2;
    if (size > cap + 1)
        size = cap + 1;
    *data = fld_xmalloc(size);
    rc = read_all(fd, path, cap, data, &size, true, len, err);
    close(fd);
    if (rc != FLD_OK) {
        free(*data);
        *data = NULL;
        *len = 0;
    }
    return rc;
}

int fld_file_read_stream(int fd, const char *name, size_t cap, uint8_t **data,
                         size_t *len, struct fld_err *err)
{
    size_t size = cap < 65536 ? cap + 1 : 65536;
    int rc;

    *data = fld_xmalloc(size);
    rc = read_all(fd, name, cap, data, &size, true, len, err);
    if (rc != FLD_OK) {
        free(*data);
        *data = NULL;
        *len = 0;
    }
    return rc;
}

/* ---- writing ------------------------------------------------------------ */

static int write_error(const char *path, const char *doing, int e,
                       struct fld_err *err)
{
    int code = FLD_EIO;

    if (e == ENOSPC)
        code = FLD_EFULL;
#ifdef EDQUOT
    if (e == EDQUOT)
        code = FLD_EFULL;
#endif
    return fld_err_set(err, code, "%s: %s: %s", path, doing, strerror(e));
}

/* The folder of path, as a new string ("." for a bare name). */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return fld_xstrdup(".");
    if (slash == path)
        return fld_xstrdup("/");
    return fld_xstrndup(path, (size_t)(slash - path));
}

/* Make the folder's new entry durable. Some file systems cannot sync a
 * folder (EINVAL); that is no failure. */
static int sync_folder(const char *folder)
{
    int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0, e = 0;

    if (fd < 0)
        return -1;
    if (fsync(fd) != 0 && errno != EINVAL) {
        rc = -1;
        e = errno;
    }
    close(fd);
    errno = e;
    return rc;
}

/* Create a new temporary file beside path; *tmp is its name (free()). */
static int create_temp(const char *path, mode_t mode, char **tmp)
{
    /* atomic: threads of one process (a sync in `field ui` beside an
     * export) may make temporary files at once */
    static atomic_uint counter;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int dir_len = slash ? (int)(slash - path + 1) : 0;
    struct timespec now;
    int i, fd = -1;

    *tmp = NULL;
    for (i = 0; i < 100 && fd < 0; i++) {
        clock_gettime(CLOCK_REALTIME, &now);
        free(*tmp);
        *tmp = fld_xasprintf(
            "%.*s.%s.%lx%lx%x", dir_len, path, base, (unsigned long)getpid(),
            (unsigned long)now.tv_nsec, atomic_fetch_add(&counter, 1));
        fd = open(*tmp,
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
                      O_NOCTTY,
                  mode);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    return fd;
}

static int write_fd(int fd, const uint8_t *p, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int exists(const char *path, struct fld_err *err)
{
    struct stat st;

    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        return fld_err_set(err, FLD_EXISTS,
                           "%s: already exists as a symbolic link; nothing is "
                           "written through one",
                           path);
    return fld_err_set(err, FLD_EXISTS, "%s: already exists; not overwritten",
                       path);
}

/* A file system that cannot make hard links says so in one of these. */
static bool no_hard_links(int e)
{
    return e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == ENOSYS;
}

/*
 * Give the written temporary file tmp the name path, which must not exist:
 * link(2), which refuses an existing name; without hard links, reserve the
 * name with O_EXCL and rename over that empty file of ours.
 */
static int publish_new(const char *tmp, const char *path, struct fld_err *err)
{
    int fd, e;

    if (link(tmp, path) == 0) {
        unlink(tmp);
        return FLD_OK;
    }
    e = errno;
    if (e == EEXIST)
        return exists(path, err);
    if (!no_hard_links(e))
        return write_error(path, "cannot create", e, err);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        e = errno;
        if (e == EEXIST)
            return exists(path, err);
        return write_error(path, "cannot create", e, err);
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        e = errno;
        unlink(path);
        return write_error(path, "cannot create", e, err);
    }
    return FLD_OK;
}

/* Remove path if it is still the file we wrote (ours: same inode). */
static void remove_ours(const char *path, const struct stat *ours)
{
    struct stat now;

    if (lstat(path, &now) == 0 && now.st_dev == ours->st_dev &&
        now.st_ino == ours->st_ino)
        unlink(path);
}

int fld_file_write(const char *path, const void *data, size_t len, mode_t mode,
                   int flags, struct fld_err *err)
{
    struct fld_file_stream *s;
    struct stat st;
    int rc;

    /* Refuse early: nothing is written for a name that is taken (the
     * publishing step checks again, for a name taken meanwhile). */
    if ((flags & FLD_FILE_NEW) && lstat(path, &st) == 0)
        return exists(path, err);
    if ((rc = fld_file_stream_new(path, mode, flags, &s, err)) != FLD_OK)
        return rc;
    if ((rc = fld_file_stream_write(s, data, len, err)) != FLD_OK) {
        fld_file_stream_discard(s);
        return rc;
    }
    return fld_file_stream_commit(s, err);
}

/* ---- writing piece by piece (fld_file_write is one piece) --------------- */

struct fld_file_stream {
    char *path, *tmp;
    int flags;
    int fd;
    struct stat ours;
};

int fld_file_stream_new(const char *path, mode_t mode, int flags,
                        struct fld_file_stream **out, struct fld_err *err)
{
    struct fld_file_stream *s = fld_xcalloc(1, sizeof *s);
    int rc = FLD_OK;

    *out = NULL;
    s->path = fld_xstrdup(path);
    s->flags = flags;
    s->fd = create_temp(path, mode, &s->tmp);
    if (s->fd < 0) {
        rc = write_error(path, "cannot create", errno, err);
        free(s->tmp);
        s->tmp = NULL; /* nothing of ours to remove */
    } else if (fstat(s->fd, &s->ours) != 0) {
        rc = write_error(path, "cannot create", errno, err);
    } else if ((flags & FLD_FILE_EXACT_MODE) && fchmod(s->fd, mode) != 0) {
        /* the umask may have taken bits away that the caller needs */
        rc = write_error(path, "cannot set its mode", errno, err);
    }
    if (rc != FLD_OK) {
        fld_file_stream_discard(s);
        return rc;
    }
    *out = s;
    return FLD_OK;
}

int fld_file_stream_write(struct fld_file_stream *s, const void *data,
                          size_t len, struct fld_err *err)
{
    if (write_fd(s->fd, data, len) != 0)
        return write_error(s->path, "cannot write", errno, err);
    return FLD_OK;
}

int fld_file_stream_commit(struct fld_file_stream *s, struct fld_err *err)
{
    char *folder = folder_of(s->path);
    struct stat st;
    int rc = FLD_OK;

    if (!(s->flags & FLD_FILE_NO_SYNC) && fsync(s->fd) != 0)
        rc = write_error(s->path, "cannot write", errno, err);
    if (close(s->fd) != 0 && rc == FLD_OK)
        rc = write_error(s->path, "cannot write", errno, err);
    s->fd = -1;
    if (rc == FLD_OK && (s->flags & FLD_FILE_NEW) && lstat(s->path, &st) == 0)
        rc = exists(s->path, err);
    if (rc == FLD_OK && (s->flags & FLD_FILE_NEW))
        rc = publish_new(s->tmp, s->path, err);
    else if (rc == FLD_OK && rename(s->tmp, s->path) != 0)
        rc = write_error(s->path, "cannot replace", errno, err);
    if (rc == FLD_OK) {
        free(s->tmp); /* published: the name is gone */
        s->tmp = NULL;
        if (!(s->flags & FLD_FILE_NO_SYNC) && sync_folder(folder) != 0) {
            rc = write_error(s->path, "cannot sync its folder", errno, err);
            /* a new file the folder may lose is taken back; a replaced
             * one cannot be, the old one is gone */
            if (s->flags & FLD_FILE_NEW)
                remove_ours(s->path, &s->ours);
        }
    }
    free(folder);
    fld_file_stream_discard(s);
    return rc;
}

void fld_file_stream_discard(struct fld_file_stream *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    if (s->tmp != NULL)
        unlink(s->tmp);
    free(s->tmp);
    free(s->path);
    free(s);
}
