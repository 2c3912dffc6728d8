/*
 * attachment.h - the device's photos (evidence attachments): files kept
 * content-addressed under the data directory, <home>/attachments/<first two
 * hex digits>/<hash>, and what the device knows of each in its store
 * (schema/field-007.sql). A file is named by its BLAKE2b-256; it is written
 * to a temporary name, fsynced, renamed into place and its directory
 * fsynced, so a file under its hash is always whole and right.
 *
 * The store's rows say which files the device holds, which the server is
 * known to hold whole (uploaded), and what every stored version signed
 * about the attachments it names (fld_store_put_version() writes those,
 * whatever brought the version). A version may name a photo whose file
 * this device does not hold: photos are fetched on request.
 *
 * fld_attachment_add() is in attachment_add.c, apart from the rest: it is
 * the only part that reads EXIF (photo.h, libexif), and libfield is a
 * static archive, so only the programs that capture photos link libexif.
 */
#ifndef FLD_ATTACHMENT_H
#define FLD_ATTACHMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "json.h"
#include "store.h"
#include "version.h"

/* A device's own limit on one file it adds, unless told otherwise. */
#define FLD_ATTACH_DEFAULT_LIMIT (20 * 1024 * 1024)

struct fld_attachment {
    char hash[FLD_HASH_HEX_LEN + 1];
    int64_t bytes;
    char type[16];     /* "image/jpeg" or "image/png" */
    char taken[20];    /* "YYYY-MM-DDTHH:MM:SS" from EXIF, "" when unknown */
    char position[64]; /* geopoint "lat lon" (norm.h) from EXIF GPS, "" when
                          unknown */
};

/* Sniff, check, read EXIF, hash and copy the file at path into home's
 * attachment directory, and record it as held (idempotent for the same
 * bytes). FLD_EINVAL "<path>: not a JPEG or PNG image" / "...: empty" /
 * "...: truncated JPEG"; FLD_ELIMIT "<path>: 25.3 MB is over the 20 MB
 * limit"; FLD_EIO. Must run inside a store transaction (the row); the file
 * is in place before the row is written, so a crash leaves at most an
 * unreferenced file, never a row without its file. */
int fld_attachment_add(struct fld_store *st, const char *home, const char *path,
                       int64_t limit, struct fld_attachment *out,
                       struct fld_err *err);

/* Where hash's file lives (whether or not it is there); free(). */
char *fld_attachment_path(const char *home, const char *hash);

/* What the store's versions signed about hash (their attachments member),
 * and whether the device holds the file. FLD_NOTFOUND when no stored version
 * names it. */
int fld_attachment_get(struct fld_store *st, const char *hash,
                       struct fld_attachment *out, bool *held,
                       struct fld_err *err);

/* Uploads to do: attachments whose file this device holds, named by a
 * version the server is known to hold (sync_known), and not yet known
 * stored on the server; at most max, in the order they were added.
 * *out is freed with free(). */
int fld_attachment_to_upload(struct fld_store *st, size_t max,
                             struct fld_attachment **out, size_t *n,
                             struct fld_err *err);

/* The server holds hash whole: never upload it again. */
int fld_attachment_mark_uploaded(struct fld_store *st, const char *hash,
                                 struct fld_err *err);

/* Downloads to do: attachments named by stored versions (of record only,
 * when record is not NULL) whose file this device does not hold; at most max.
 * *out is freed with free(). */
int fld_attachment_to_download(struct fld_store *st, const char *record,
                               size_t max, struct fld_attachment **out,
                               size_t *n, struct fld_err *err);

/* Keep a downloaded file: tmp_path (in home's attachment directory, so the
 * rename stays on one file system: fld_attachment_partial_path) must hash to
 * a->hash and be a->bytes long, else FLD_ECORRUPT and the file is deleted;
 * then it is renamed into place (fsync, dir fsync) and recorded as held. */
int fld_attachment_receive(struct fld_store *st, const char *home,
                           const struct fld_attachment *a, const char *tmp_path,
                           struct fld_err *err);

/* Keep a photo whose bytes are in memory (carried by a bundle): p[0..len)
 * is written to a temporary file in home's attachment folder and kept
 * with fld_attachment_receive(), so checked against a->hash and a->bytes
 * exactly as a download is. FLD_ECORRUPT (nothing kept), FLD_EFULL
 * ("photo <hash>: the disk is full ..."), FLD_EIO; no temporary file is
 * left on failure. Inside a store transaction (the row). */
int fld_attachment_put_bytes(struct fld_store *st, const char *home,
                             const struct fld_attachment *a, const uint8_t *p,
                             size_t len, struct fld_err *err);

/* Where a download of hash in progress is kept (resumed from its length);
 * free(). */
char *fld_attachment_partial_path(const char *home, const char *hash);

/* Check that every held file still hashes to its name (field verify): the
 * number of files checked, and FLD_ECORRUPT naming the first bad one. */
int fld_attachment_verify_files(struct fld_store *st, const char *home,
                                size_t *n_checked, struct fld_err *err);

/* ---- beyond the sync client's contract ------------------------------------
 */

/* The folder of home's attachments; free(). */
char *fld_attachment_dir(const char *home);

/*
 * The "attachments" member a new version with these answers signs: an
 * entry for every answer (at any depth: repeat items too) that is the hash
 * of an attachment the store knows, with what the store knows of it (the
 * file added here, or what the first version naming it signed). *out is
 * NULL when no answer names one; else free with fld_json_free(). Called by
 * capture.c for every version a device signs, so that whatever builds the
 * answers (set, fill, resolve, decisions, import, attach), a photo answer
 * carries its attachment, and a photo no longer answered drops out.
 */
int fld_attachment_entries(struct fld_store *st, const struct fld_json *answers,
                           struct fld_json **out, struct fld_err *err);

/*
 * Put tmp_path, a whole file already checked to hash to hash, under its
 * name in home: fsync it, create the folder, rename it in place, fsync the
 * folder. When a file of that name is there already (the same bytes, by
 * its name), tmp_path is removed instead. tmp_path must be on the same
 * file system (in fld_attachment_dir()). FLD_EIO / FLD_EFULL.
 */
int fld_attachment_place(const char *home, const char *hash,
                         const char *tmp_path, struct fld_err *err);

/* The same, each bad file given to fn (its hash, a one-line message:
 * missing, or not hashing to its name) and counted in *n_bad; FLD_OK
 * unless the check could not run. */
typedef void (*fld_attachment_fault_fn)(void *ctx, const char *hash,
                                        const char *message);
int fld_attachment_check_files(struct fld_store *st, const char *home,
                               fld_attachment_fault_fn fn, void *ctx,
                               size_t *n_checked, size_t *n_bad,
                               struct fld_err *err);

/* Mark held again every file in home that a stored version names and
 * that still hashes to its name (`field repair` builds a fresh store, whose
 * rows know of no file); *n_held counts them. Inside a transaction. */
int fld_attachment_rescan(struct fld_store *st, const char *home,
                          size_t *n_held, struct fld_err *err);

/* Whether home holds a file named hash (not whether it is right). */
bool fld_attachment_exists(const char *home, const char *hash);

#endif
