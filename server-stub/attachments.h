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
 * srv_attach_write() cuts the file back to the acknowledged length before
 * it writes. api_attach.c decides what to write; this module only keeps
 * files, and never prints.
 *
 * One upload of a hash at a time: a request claims the hash for the time
 * it writes (srv_attach_claim), so that two connections resuming the same
 * upload never interleave their bytes.
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
 * plain path): "attachments" in the directory of the database file. New
 * string, free().
 */
char *srv_attach_dir_of(const char *location);

/* Open dir (made, with dir/partial, mode 0700, when missing); *out is
 * freed with srv_attach_close(). FLD_EIO when it cannot be made. */
int srv_attach_open(const char *dir, struct srv_attach **out,
                    struct fld_err *err);
void srv_attach_close(struct srv_attach *a);
const char *srv_attach_path(const struct srv_attach *a);

/* Claim hash for one request's write: false when another holds it. */
bool srv_attach_claim(struct srv_attach *a, const char *hash);
void srv_attach_unclaim(struct srv_attach *a, const char *hash);

/*
 * Write len bytes at offset `at` of hash's partial file (made when
 * missing), after cutting the file to `at` bytes, and fdatasync it.
 * FLD_NOTFOUND when the file holds fewer than `at` bytes (the
 * acknowledged bytes are gone: the upload must start again), FLD_EFULL
 * when the disk is full or the quota reached (the file is cut back to
 * `at`), FLD_EIO otherwise.
 */
int srv_attach_write(struct srv_attach *a, const char *hash, int64_t at,
                     const uint8_t *p, size_t len, struct fld_err *err);

/*
 * The partial file of hash is complete (bytes long): hash it whole
 * (streamed through a small buffer), and when it matches its name rename
 * it into place and sync the directories. FLD_EBADSIG when its length or
 * hash is not right: the partial is deleted. FLD_NOTFOUND without a
 * partial; FLD_EFULL, FLD_EIO.
 */
int srv_attach_finish(struct srv_attach *a, const char *hash, int64_t bytes,
                      struct fld_err *err);

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
