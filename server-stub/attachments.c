/*
 * attachments.c - the files of attachments on the server's disk (see
 * attachments.h for the layout and the contract).
 *
 * Durability, in the order a file lives:
 *   - a chunk's bytes are written with pwrite as they arrive from the
 *     network (srv_attach_put), and synced with fdatasync before
 *     api_attach.c acknowledges them in the database; a partial file made
 *     anew also has its directory synced, so the name survives a power
 *     cut with the bytes;
 *   - bytes past the acknowledged length (a chunk cut off, refused, or a
 *     server killed between the sync and the commit) are cut off when the
 *     chunk ends unacknowledged, and again by the next chunk, which starts
 *     from the acknowledged length whatever the file holds;
 *   - the completed file is hashed whole, renamed into place only when it
 *     matches its name, and both directories are synced; only then does
 *     the database call it stored. A crash between the rename and that
 *     commit leaves a whole, verified file that the database calls
 *     partial: the next chunk or state request finds it in place
 *     (srv_attach_is_whole) and marks it stored.
 *
 * Speed: every byte is hashed once, as it arrives (struct running keeps
 * the hash from chunk to chunk), and the disk is set writing while the
 * rest of a chunk arrives, so an upload costs about what writing the file
 * costs. The hash verifies the bytes received; the file is read back only
 * when that running hash was lost (a restart).
 *
 * Memory: nothing here holds a chunk: a piece of the body goes to the
 * file as it comes, and a 100 MB file is hashed, copied and served
 * through a 64 KiB buffer at most.
 */
#define _GNU_SOURCE /* sync_file_range */
#include "attachments.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "hlc.h"
#include "version.h"

#define IO_BUF (64 * 1024)

/* Uploads whose running hash is kept between chunks. */
#define RUNNING_MAX 16
/* Writeback is started every this many bytes of a chunk. */
#define FLUSH_EVERY (1024 * 1024)

/*
 * The running hash of an upload: BLAKE2b over its acknowledged bytes,
 * carried from chunk to chunk in memory so that the chunk completing the
 * file needs no second pass over what was already received. It is only
 * an optimisation: a server restarted, or an upload left idle while
 * RUNNING_MAX others moved, finishes by hashing its file from the disk.
 * The state lives in 64-byte aligned memory (libsodium declares it so).
 */
struct running {
    char hash[FLD_HASH_HEX_LEN + 1];
    int64_t at;   /* the bytes hashed: the acknowledged ones */
    uint64_t use; /* for evicting the least recently used */
    crypto_generichash_state *state;
};

/*
 * One writer of an upload at a time. A claim names its writer by a token.
 * A new request takes the upload over from a writer of the same device
 * at once (a device sends one chunk of a file at a time, so its older
 * request is one whose link dropped), and from another device's writer
 * silent for SRV_ATTACH_STALE_MS (its connection cut without a word, as
 * mobile links do). From then on the old writer's token no longer holds:
 * every write, cut and rename checks it under the lock, so a taken-over
 * writer never touches the file again.
 */
struct claim {
    char hash[FLD_HASH_HEX_LEN + 1];
    char owner[FLD_HASH_HEX_LEN + 1]; /* the device writing; "" for none */
    uint64_t token;
    int64_t active_ms; /* monotonic: when the writer last wrote */
};

struct srv_attach {
    char *dir;
    pthread_mutex_t lock; /* the claims, the writes and the running hashes */
    struct claim *claims;
    size_t n_claims, cap_claims;
    uint64_t tokens;
    struct running *running; /* RUNNING_MAX */
    uint64_t uses;
};

char *srv_attach_dir_of(const char *location)
{
    const char *path = location, *slash;

    if (strncmp(location, "postgresql:", 11) == 0 ||
        strncmp(location, "postgres:", 9) == 0)
        return fld_xstrdup("attachments");
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
    a->running = fld_xcalloc(RUNNING_MAX, sizeof *a->running);
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    return FLD_OK;
}

void srv_attach_close(struct srv_attach *a)
{
    if (a == NULL)
        return;
    pthread_mutex_destroy(&a->lock);
    for (size_t i = 0; i < RUNNING_MAX; i++)
        free(a->running[i].state);
    free(a->running);
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

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under a->lock: the claim of hash, or NULL. */
static struct claim *find_claim(struct srv_attach *a, const char *hash)
{
    size_t i;

    for (i = 0; i < a->n_claims; i++)
        if (strcmp(a->claims[i].hash, hash) == 0)
            return &a->claims[i];
    return NULL;
}

/* Under a->lock: whether token still holds hash's claim. */
static bool holds(struct srv_attach *a, const char *hash, uint64_t token)
{
    const struct claim *k = find_claim(a, hash);

    return k != NULL && k->token == token;
}

uint64_t srv_attach_claim(struct srv_attach *a, const char *hash,
                          const char *owner)
{
    struct claim *k;
    uint64_t token = 0;
    int64_t now = mono_ms();

    pthread_mutex_lock(&a->lock);
    k = find_claim(a, hash);
    if (k == NULL) {
        if (a->n_claims == a->cap_claims) {
            a->cap_claims = a->cap_claims ? 2 * a->cap_claims : 16;
            a->claims =
                fld_xreallocarray(a->claims, a->cap_claims, sizeof *a->claims);
        }
        k = &a->claims[a->n_claims++];
        snprintf(k->hash, sizeof k->hash, "%s", hash);
    } else if (owner == NULL || (strcmp(k->owner, owner) != 0 &&
                                 now - k->active_ms < SRV_ATTACH_STALE_MS)) {
        k = NULL;
    }
    if (k != NULL) {
        token = k->token = ++a->tokens;
        k->active_ms = now;
        snprintf(k->owner, sizeof k->owner, "%s", owner ? owner : "");
    }
    pthread_mutex_unlock(&a->lock);
    return token;
}

void srv_attach_unclaim(struct srv_attach *a, const char *hash, uint64_t token)
{
    struct claim *k;

    pthread_mutex_lock(&a->lock);
    k = find_claim(a, hash);
    if (k != NULL && k->token == token)
        *k = a->claims[--a->n_claims];
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

/* ---- chunks ----------------------------------------------------------------
 */

struct srv_attach_chunk {
    char hash[FLD_HASH_HEX_LEN + 1];
    uint64_t token; /* the claim it writes under */
    char *path;
    int fd;
    bool is_new;     /* the partial file was made by this chunk */
    int64_t at, end; /* where the chunk began, where it is now */
    int64_t flushed; /* writeback started up to here */
    crypto_generichash_state *state; /* NULL: finish reads the file */
};

static crypto_generichash_state *state_new(void)
{
    void *p = NULL;

    if (posix_memalign(&p, 64, sizeof(crypto_generichash_state)) != 0)
        abort(); /* out of memory */
    return p;
}

/* The running hash of hash at exactly `at` bytes, taken out of the
 * cache; a fresh one at 0; NULL when none is known. */
static crypto_generichash_state *take_running(struct srv_attach *a,
                                              const char *hash, int64_t at)
{
    crypto_generichash_state *st = NULL;
    size_t i;

    pthread_mutex_lock(&a->lock);
    for (i = 0; i < RUNNING_MAX; i++) {
        struct running *r = &a->running[i];

        if (r->state == NULL || strcmp(r->hash, hash) != 0)
            continue;
        if (r->at == at)
            st = r->state;
        else
            free(r->state); /* stale: the upload moved on without it */
        r->state = NULL;
    }
    pthread_mutex_unlock(&a->lock);
    if (st == NULL && at == 0) {
        st = state_new();
        crypto_generichash_init(st, NULL, 0, 32);
    }
    return st;
}

/* Keep c's running hash for the upload's next chunk. */
static void keep_running(struct srv_attach *a, struct srv_attach_chunk *c)
{
    struct running *slot = NULL;
    size_t i;

    pthread_mutex_lock(&a->lock);
    for (i = 0; i < RUNNING_MAX; i++) {
        struct running *r = &a->running[i];

        if (r->state == NULL) {
            slot = r;
            break;
        }
        if (slot == NULL || r->use < slot->use)
            slot = r;
    }
    free(slot->state);
    snprintf(slot->hash, sizeof slot->hash, "%s", c->hash);
    slot->at = c->end;
    slot->use = ++a->uses;
    slot->state = c->state;
    c->state = NULL;
    pthread_mutex_unlock(&a->lock);
}

int srv_attach_begin(struct srv_attach *a, const char *hash, uint64_t token,
                     int64_t at, struct srv_attach_chunk **out,
                     struct fld_err *err)
{
    struct srv_attach_chunk *c = fld_xcalloc(1, sizeof *c);
    struct stat sb;
    int rc = FLD_OK;

    *out = NULL;
    snprintf(c->hash, sizeof c->hash, "%s", hash);
    c->token = token;
    c->path = partial_path(a, hash);
    c->at = c->end = c->flushed = at;
    c->fd = open(c->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (c->fd < 0 && errno == ENOENT && at == 0) {
        c->fd = open(c->path,
                     O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        c->is_new = c->fd >= 0;
    }
    if (c->fd < 0)
        rc = errno == ENOENT
                 ? fld_err_set(err, FLD_NOTFOUND,
                               "attachment %.16s: the partial upload is gone",
                               hash)
                 : io_error(err, errno, "cannot open", c->path);
    else if (fstat(c->fd, &sb) != 0)
        rc = io_error(err, errno, "cannot read", c->path);
    else if (sb.st_size < at)
        rc = fld_err_set(err, FLD_NOTFOUND,
                         "attachment %.16s: the partial upload holds %lld of "
                         "%lld acknowledged bytes",
                         hash, (long long)sb.st_size, (long long)at);
    else if (sb.st_size > at && ftruncate(c->fd, (off_t)at) != 0)
        /* bytes written but never acknowledged (a server killed before
         * its commit): the client sends them again from `at` */
        rc = io_error(err, errno, "cannot truncate", c->path);
    if (rc != FLD_OK) {
        if (c->fd >= 0)
            close(c->fd);
        free(c->path);
        free(c);
        return rc;
    }
    c->state = take_running(a, hash, at);
    *out = c;
    return FLD_OK;
}

/* Under a->lock: whether c's writer still holds the upload (noting that
 * it is active), else FLD_EBUSY in err. */
static int still_holds(struct srv_attach *a, const struct srv_attach_chunk *c,
                       struct fld_err *err)
{
    struct claim *k = find_claim(a, c->hash);

    if (k == NULL || k->token != c->token)
        return fld_err_set(err, FLD_EBUSY,
                           "attachment %.16s: a newer request took this "
                           "upload over",
                           c->hash);
    k->active_ms = mono_ms();
    return FLD_OK;
}

int srv_attach_put(struct srv_attach *a, struct srv_attach_chunk *c,
                   const uint8_t *p, size_t len, struct fld_err *err)
{
    int e, rc;

    pthread_mutex_lock(&a->lock);
    rc = still_holds(a, c, err);
    e = rc == FLD_OK ? write_all(c->fd, p, len, (off_t)c->end) : 0;
    pthread_mutex_unlock(&a->lock);
    if (rc != FLD_OK)
        return rc;
    if (e != 0)
        return io_error(err, e, "cannot write", c->path);
    if (c->state != NULL)
        crypto_generichash_update(c->state, p, len);
    c->end += (int64_t)len;
    /* Start the disk on what is written while more arrives, so the sync
     * at the end of the chunk waits for little more than the last MiB. */
    if (c->end - c->flushed >= FLUSH_EVERY) {
        (void)sync_file_range(c->fd, (off_t)c->flushed,
                              (off_t)(c->end - c->flushed),
                              SYNC_FILE_RANGE_WRITE);
        c->flushed = c->end;
    }
    return FLD_OK;
}

int64_t srv_attach_chunk_end(const struct srv_attach_chunk *c)
{
    return c->end;
}

int srv_attach_sync(struct srv_attach *a, struct srv_attach_chunk *c,
                    struct fld_err *err)
{
    char *dir;
    int rc;

    pthread_mutex_lock(&a->lock);
    rc = still_holds(a, c, err);
    pthread_mutex_unlock(&a->lock);
    if (rc != FLD_OK)
        return rc;
    if (fdatasync(c->fd) != 0)
        return io_error(err, errno, "cannot sync", c->path);
    if (!c->is_new)
        return FLD_OK;
    dir = fld_xasprintf("%s/partial", a->dir);
    rc = sync_dir(dir, err);
    free(dir);
    return rc;
}

void srv_attach_end(struct srv_attach *a, struct srv_attach_chunk *c,
                    bool is_kept)
{
    bool is_cut = false;

    if (c == NULL)
        return;
    /* Leave no half of a chunk behind (and no empty file it made), unless
     * a newer writer owns the file now. */
    pthread_mutex_lock(&a->lock);
    if (!is_kept && holds(a, c->hash, c->token)) {
        if (c->is_new)
            (void)unlink(c->path);
        else
            is_cut = ftruncate(c->fd, (off_t)c->at) == 0;
    }
    pthread_mutex_unlock(&a->lock);
    if (is_cut)
        (void)fdatasync(c->fd);
    close(c->fd);
    if (is_kept && c->state != NULL)
        keep_running(a, c);
    free(c->state);
    free(c->path);
    free(c);
}

/* BLAKE2b-256 of fd's bytes from its start, streamed; *len its length. */
static int hash_fd(int fd, const char *path, uint8_t digest[32], int64_t *len,
                   struct fld_err *err)
{
    crypto_generichash_state *h = state_new();
    uint8_t *buf = fld_xmalloc(IO_BUF);
    ssize_t n;
    off_t at = 0;
    int rc = FLD_OK;

    crypto_generichash_init(h, NULL, 0, 32);
    for (;;) {
        n = pread(fd, buf, IO_BUF, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = io_error(err, errno, "cannot read", path);
        if (n <= 0)
            break;
        crypto_generichash_update(h, buf, (size_t)n);
        at += n;
    }
    if (rc == FLD_OK)
        crypto_generichash_final(h, digest, 32);
    free(buf);
    free(h);
    *len = (int64_t)at;
    return rc;
}

/*
 * The hash of the whole partial file that chunk c completes: from its
 * running hash when that covers every byte, else read from the disk.
 */
static int whole_hash(struct srv_attach_chunk *c,
                      char hex[FLD_HASH_HEX_LEN + 1], int64_t *len,
                      struct fld_err *err)
{
    uint8_t digest[32];
    int rc = FLD_OK;

    if (c->state != NULL) {
        crypto_generichash_final(c->state, digest, sizeof digest);
        free(c->state);
        c->state = NULL;
        *len = c->end;
    } else {
        rc = hash_fd(c->fd, c->path, digest, len, err);
    }
    if (rc == FLD_OK)
        fld_hex_encode(digest, sizeof digest, hex);
    return rc;
}

int srv_attach_finish(struct srv_attach *a, struct srv_attach_chunk *c,
                      int64_t bytes, struct fld_err *err)
{
    char hex[FLD_HASH_HEX_LEN + 1], *dir = NULL, *dest = NULL, *pdir = NULL;
    int64_t len = 0;
    bool made;
    int rc;

    rc = whole_hash(c, hex, &len, err);
    if (rc == FLD_OK && (len != bytes || strcmp(hex, c->hash) != 0)) {
        /* Nothing of a wrong file is kept: the upload starts again. */
        pthread_mutex_lock(&a->lock);
        if (holds(a, c->hash, c->token))
            (void)unlink(c->path);
        pthread_mutex_unlock(&a->lock);
        rc = fld_err_set(err, FLD_EBADSIG,
                         "the %lld bytes received hash to %.16s..., not to "
                         "the attachment's name %.16s...",
                         (long long)len, hex, c->hash);
    }
    if (rc == FLD_OK) {
        dir = whole_dir(a, c->hash);
        dest = whole_path(a, c->hash);
        rc = make_dir(dir, &made, err);
        if (rc == FLD_OK && made)
            rc = sync_dir(a->dir, err);
    }
    if (rc == FLD_OK) {
        pthread_mutex_lock(&a->lock);
        rc = still_holds(a, c, err);
        if (rc == FLD_OK && rename(c->path, dest) != 0)
            rc = io_error(err, errno, "cannot rename", c->path);
        pthread_mutex_unlock(&a->lock);
    }
    if (rc == FLD_OK)
        rc = sync_dir(dir, err);
    if (rc == FLD_OK) {
        pdir = fld_xasprintf("%s/partial", a->dir);
        rc = sync_dir(pdir, err);
    }
    free(pdir);
    free(dest);
    free(dir);
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
    uint64_t token;

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
        token = mtime_ms > 0 && mtime_ms < before_ms
                    ? srv_attach_claim(a, e->d_name, NULL)
                    : 0;
        if (token != 0) {
            if (unlink(path) == 0)
                (*n)++;
            srv_attach_unclaim(a, e->d_name, token);
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
        uint64_t token = srv_attach_claim(a, l.hashes[i], NULL);

        if (token == 0)
            continue; /* a chunk is arriving: not stale any more */
        /* The row first: a partial file without a row is swept later,
         * a row without its file is found out by the next chunk. */
        rc = forget(st, write_lock, l.hashes[i], err);
        if (rc == FLD_OK && srv_attach_partial_len(a, l.hashes[i]) >= 0) {
            rc = srv_attach_drop_partial(a, l.hashes[i], err);
            dropped++;
        }
        srv_attach_unclaim(a, l.hashes[i], token);
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
