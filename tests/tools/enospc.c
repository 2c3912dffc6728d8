/*
 * enospc.c - a test seam: an LD_PRELOAD library that makes one directory
 * look full, so that the integration tests can show what the real
 * programs do on a full disk without mounting a small file system (CI
 * runs as root on a fresh machine where mounting may not be allowed).
 *
 *   FIELD_ENOSPC_DIR=/abs/dir   files under this directory are "on the
 *                               full disk" (required; unset: no effect)
 *   FIELD_ENOSPC_AFTER=N        let N bytes through first (this process,
 *                               all such files together; default 0), then
 *                               a write that would go past N is cut short
 *                               at N and the next fails
 *   FIELD_ENOSPC_WHILE=/file    full only while this file exists, so that
 *                               a test can give space back to a running
 *                               server by removing it
 *   FIELD_ENOSPC_AT=sync        writes go through and fsync/fdatasync
 *                               fail instead: a file system that
 *                               allocates late (ext4's delayed
 *                               allocation, NFS) reports a full disk only
 *                               when the data is flushed
 *
 * What fails with ENOSPC: write, pwrite, pwrite64, writev, pwritev,
 * fallocate, posix_fallocate and an ftruncate that grows a file (or, with
 * FIELD_ENOSPC_AT=sync, fsync and fdatasync only). close() never fails
 * here, though on NFS it may. Whether a
 * descriptor's file is under the directory is read from /proc/self/fd at
 * each call (so every way of opening a file is covered: open, openat,
 * mkstemp). SQLite's own files are written with pwrite too: keep them out
 * of the directory. What is written through stdio inside libc (fwrite)
 * does not pass through here; the programs write attachments with write()
 * and pwrite().
 *
 * Built without sanitizers as a shared object for the tests only
 * (Makefile); under AddressSanitizer the tests add
 * verify_asan_link_order=0, and the calls reach ASan's own interceptors
 * through RTLD_NEXT.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static unsigned long long used; /* bytes let through so far */

static const char *full_dir(void)
{
    const char *d = getenv("FIELD_ENOSPC_DIR");
    const char *w = getenv("FIELD_ENOSPC_WHILE");

    if (d == NULL || d[0] != '/')
        return NULL;
    if (w != NULL && w[0] != '\0' && access(w, F_OK) != 0)
        return NULL;
    return d;
}

/* Whether the disk fills when data is flushed rather than written. */
static int at_sync(void)
{
    const char *m = getenv("FIELD_ENOSPC_AT");

    return m != NULL && strcmp(m, "sync") == 0;
}

/* Whether fd is a file under the full directory. */
static int on_full_disk(int fd)
{
    char link[64], path[PATH_MAX];
    const char *d = full_dir();
    size_t dlen;
    ssize_t n;

    if (d == NULL)
        return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    dlen = strlen(d);
    while (dlen > 1 && d[dlen - 1] == '/')
        dlen--;
    return strncmp(path, d, dlen) == 0 &&
           (path[dlen] == '/' || path[dlen] == '\0');
}

/* How many of len bytes may go to fd: len when it is not on the full
 * disk, else what is left of FIELD_ENOSPC_AFTER; 0 means fail. */
static size_t allowance(int fd, size_t len)
{
    const char *a;
    unsigned long long after, cur, left;

    if (len == 0 || at_sync() || !on_full_disk(fd))
        return len;
    a = getenv("FIELD_ENOSPC_AFTER");
    after = a ? strtoull(a, NULL, 10) : 0;
    for (;;) {
        cur = __atomic_load_n(&used, __ATOMIC_SEQ_CST);
        if (cur >= after)
            return 0;
        left = after - cur;
        if (left > len)
            left = len;
        if (__atomic_compare_exchange_n(&used, &cur, cur + left, 0,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return (size_t)left;
    }
}

/* The next definition of name (libc's, or ASan's interceptor). */
#define REAL(name)                                                             \
    static __typeof__(&name) real_##name;                                      \
    if (real_##name == NULL)                                                   \
    *(void **)&real_##name = dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *p, size_t len)
{
    REAL(write);
    size_t ok = allowance(fd, len);

    if (ok == 0 && len > 0) {
        errno = ENOSPC;
        return -1;
    }
    return real_write(fd, p, ok);
}

ssize_t pwrite(int fd, const void *p, size_t len, off_t at)
{
    REAL(pwrite);
    size_t ok = allowance(fd, len);

    if (ok == 0 && len > 0) {
        errno = ENOSPC;
        return -1;
    }
    return real_pwrite(fd, p, ok, at);
}

ssize_t pwrite64(int fd, const void *p, size_t len, off64_t at)
{
    REAL(pwrite64);
    size_t ok = allowance(fd, len);

    if (ok == 0 && len > 0) {
        errno = ENOSPC;
        return -1;
    }
    return real_pwrite64(fd, p, ok, at);
}

/* The vector versions write the first piece only when space is short: a
 * short write, which callers must handle anyway. */
static size_t iov_len(const struct iovec *iov, int n)
{
    size_t len = 0;
    int i;

    for (i = 0; i < n; i++)
        len += iov[i].iov_len;
    return len;
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    REAL(writev);
    REAL(write);
    size_t len = iov_len(iov, n), ok;

    if (at_sync() || !on_full_disk(fd))
        return real_writev(fd, iov, n);
    ok = allowance(fd, len);
    if (ok == 0 && len > 0) {
        errno = ENOSPC;
        return -1;
    }
    if (ok == len)
        return real_writev(fd, iov, n);
    while (n > 0 && iov->iov_len == 0) {
        iov++;
        n--;
    }
    return real_write(fd, iov->iov_base, ok < iov->iov_len ? ok : iov->iov_len);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t at)
{
    REAL(pwritev);
    REAL(pwrite);
    size_t len = iov_len(iov, n), ok;

    if (at_sync() || !on_full_disk(fd))
        return real_pwritev(fd, iov, n, at);
    ok = allowance(fd, len);
    if (ok == 0 && len > 0) {
        errno = ENOSPC;
        return -1;
    }
    if (ok == len)
        return real_pwritev(fd, iov, n, at);
    while (n > 0 && iov->iov_len == 0) {
        iov++;
        n--;
    }
    return real_pwrite(fd, iov->iov_base, ok < iov->iov_len ? ok : iov->iov_len,
                       at);
}

/* Reserving space: all or nothing. */
static int reserve(int fd, off_t len)
{
    if (len <= 0 || at_sync() || !on_full_disk(fd))
        return 1;
    return allowance(fd, (size_t)len) == (size_t)len;
}

int fallocate(int fd, int mode, off_t at, off_t len)
{
    REAL(fallocate);

    if (!reserve(fd, len)) {
        errno = ENOSPC;
        return -1;
    }
    return real_fallocate(fd, mode, at, len);
}

int posix_fallocate(int fd, off_t at, off_t len)
{
    REAL(posix_fallocate);

    if (!reserve(fd, len))
        return ENOSPC;
    return real_posix_fallocate(fd, at, len);
}

int ftruncate(int fd, off_t len)
{
    REAL(ftruncate);
    struct stat sb;

    if (on_full_disk(fd) && fstat(fd, &sb) == 0 && len > sb.st_size &&
        !reserve(fd, len - sb.st_size)) {
        errno = ENOSPC;
        return -1;
    }
    return real_ftruncate(fd, len);
}

int fsync(int fd)
{
    REAL(fsync);

    if (at_sync() && on_full_disk(fd)) {
        errno = ENOSPC;
        return -1;
    }
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync);

    if (at_sync() && on_full_disk(fd)) {
        errno = ENOSPC;
        return -1;
    }
    return real_fdatasync(fd);
}
