/*
 * attachments.h - the files of attachments (photos) on the server's disk,
 * beside the database, never in it (docs/SERVER.md, "Attachments"):
 *
 *   <dir of the database>/attachments/<2 hex>/<hash>   whole, verified
 *   <dir of the database>/attachments/partial/<hash>   an upload under way
 *
 * A file is named by its BLAKE2b-256 (64 lowercase hex digits). A whole
 * file appears only by a rename after its every byte was hashed and
 * matched its name, so whatever is under a <2 hex> directory is whole and
 * right; nothing under partial/ is ever served or listed as stored.
 *
 * The database says how many bytes of a partial are acknowledged
 * (storage.h, srv_storage_attachment_ack): a chunk is written and synced
 * here first, and acknowledged there after, so the file may hold bytes
 * beyond the acknowledged ones (a server killed in between), never fewer;
 * srv_attach_begin() cuts the file back to the acknowledged length before
 * a chunk is written. api_attach.c decides what to write; this module only
 * keeps files, and never prints.
 *
 * One upload of a hash at a time: a request claims the hash for the time
 * it writes (srv_attach_claim), so that two connections resuming the same
 * upload never interleave their bytes; one whose link went silent is
 * taken over after a few seconds, and fenced off from then on.
 */
#ifndef SRV_ATTACHMENTS_H
#define SRV_ATTACHMENTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "storage.h"

/* The most bytes one chunk (PUT) may carry (docs/PROTOCOL.md). */
#define SRV_ATTACH_MAX_CHUNK (8u * 1024 * 1024)

struct srv_attach;

/*
 * The attachments directory of the storage at location ("sqlite:PATH" or a
 * plain path): "attachments" in the directory of the database file. A
 * PostgreSQL database ("postgresql:..." or "postgres:...") has no such
 * directory: "attachments" in the server's working directory (the
 * service's WorkingDirectory; several servers on one database must share
 * it, docs/SERVER.md). New string, free().
 */
char *srv_attach_dir_of(const char *location);

/* Open dir (made, with dir/partial, mode 0700, when missing); *out is
 * freed with srv_attach_close(). FLD_EIO when it cannot be made. */
int srv_attach_open(const char *dir, struct srv_attach **out,
                    struct fld_err *err);
void srv_attach_close(struct srv_attach *a);
const char *srv_attach_path(const struct srv_attach *a);

/* A writer silent this long may be taken over (its link was cut without
 * a word, and its connection has not timed out yet). */
#define SRV_ATTACH_STALE_MS 3000

/*
 * Claim hash for one writer, the device owner (public key hex; NULL for
 * the server's own housekeeping): its token (never 0), or 0 when another
 * writer holds it. A writer of the same device is taken over at once,
 * another device's one when it has not written for SRV_ATTACH_STALE_MS;
 * with owner NULL nothing is taken over. A writer taken over finds every
 * later write, sync and finish refused (FLD_EBUSY) and leaves the file
 * alone. Unclaiming with a token that no longer holds does nothing.
 */
uint64_t srv_attach_claim(struct srv_attach *a, const char *hash,
                          const char *owner);
void srv_attach_unclaim(struct srv_attach *a, const char *hash, uint64_t token);

/* One chunk being written, from srv_attach_begin() to srv_attach_end(). */
struct srv_attach_chunk;

/*
 * Begin a chunk at offset `at` of hash's partial file (made when `at` is
 * 0 and there is none), cut back to `at` bytes first. FLD_NOTFOUND when
 * the file holds fewer than `at` bytes (the acknowledged bytes are gone:
 * the upload must start again); FLD_EFULL, FLD_EIO. *out is ended with
 * srv_attach_end() whatever happens next.
 */
int srv_attach_begin(struct srv_attach *a, const char *hash, uint64_t token,
                     int64_t at, struct srv_attach_chunk **out,
                     struct fld_err *err);

/* Write the next len bytes of the chunk (and hash them). FLD_EFULL when
 * the disk is full or the quota reached, FLD_EBUSY when the chunk's
 * writer was taken over, FLD_EIO otherwise. */
int srv_attach_put(struct srv_attach *a, struct srv_attach_chunk *c,
                   const uint8_t *p, size_t len, struct fld_err *err);

/* Where the chunk's bytes end in the file. */
int64_t srv_attach_chunk_end(const struct srv_attach_chunk *c);

/* Make the chunk's bytes durable (fdatasync; the directory too when the
 * file is new). FLD_EFULL, FLD_EIO. */
int srv_attach_sync(struct srv_attach *a, struct srv_attach_chunk *c,
                    struct fld_err *err);

/*
 * The chunk c completed the file (bytes long): hash it whole (the running
 * hash, or the file read back when that was lost), and when it matches
 * its name rename it into place and sync the directories. FLD_EBADSIG
 * when its length or hash is not right: the partial is deleted. FLD_EFULL,
 * FLD_EIO.
 */
int srv_attach_finish(struct srv_attach *a, struct srv_attach_chunk *c,
                      int64_t bytes, struct fld_err *err);

/*
 * End chunk c (NULL is fine). is_kept: its bytes stay (the database holds
 * them as acknowledged, or they completed the file now in place), and its
 * running hash is kept for the upload's next chunk; otherwise its bytes
 * are cut off the file.
 */
void srv_attach_end(struct srv_attach *a, struct srv_attach_chunk *c,
                    bool is_kept);

/* Whether hash is whole in place. */
bool srv_attach_is_whole(const struct srv_attach *a, const char *hash);

/* Open hash's whole file for reading: *fd (the caller closes it) and its
 * length. FLD_NOTFOUND when it is not whole here. */
int srv_attach_open_whole(const struct srv_attach *a, const char *hash, int *fd,
                          int64_t *len, struct fld_err *err);

/* Delete hash's partial file (none is fine). */
int srv_attach_drop_partial(struct srv_attach *a, const char *hash,
                            struct fld_err *err);

/* The length of hash's partial file, or -1 when there is none. */
int64_t srv_attach_partial_len(const struct srv_attach *a, const char *hash);

/*
 * Expire the uploads left unfinished since before before_ms: each partial
 * the storage lists as stale (its last chunk older) is deleted and
 * forgotten (srv_storage_attachment_reset, one transaction each, under
 * write_lock when not NULL), and so is every partial file not written to
 * since before_ms (one a crash left without a row). Hashes claimed by a
 * request are skipped. *n (may be NULL) counts the partials deleted.
 */
int srv_attach_expire(struct srv_attach *a, struct srv_storage *st,
                      pthread_mutex_t *write_lock, int64_t before_ms, size_t *n,
                      struct fld_err *err);

/*
 * Copy every whole file of the attachments directory from_dir to to_dir
 * (made; it must not exist), each file synced: partials are not copied.
 * *n and *bytes (may be NULL) count what was copied. FLD_EXISTS when
 * to_dir exists; FLD_EFULL, FLD_EIO.
 */
int srv_attach_copy(const char *from_dir, const char *to_dir, size_t *n,
                    int64_t *bytes, struct fld_err *err);

#endif
