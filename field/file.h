/*
 * file.h - whole files read with a size cap, and new files written safely:
 * the one place where field and field-server touch files other than their
 * databases (key files, templates, unit lists, bundles, exports, TLS
 * certificates, the server's port file).
 *
 * Reading takes only a regular file (a FIFO or a device planted at the path
 * must not hang the reader, a directory must not be read as one) and at
 * most cap bytes: a larger file is refused, also one that grows while it
 * is read. A symbolic link is followed, as any program follows the name
 * of a file its user gives it.
 *
 * Writing never leaves a half-written file under the final name: the bytes
 * go to a temporary file in the same folder (created new, O_EXCL and
 * O_NOFOLLOW, with the mode asked), are fsync'd, then the file is put in
 * place and the folder fsync'd, so that after a power cut the name holds
 * either nothing (or the old file) or all the new bytes. On failure the
 * temporary file is removed and nothing is left behind.
 *
 * The model is OpenBSD signify's xopen / writeall / readmsg.
 */
#ifndef FLD_FILE_H
#define FLD_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "err.h"

/*
 * Open path for reading and fstat it into *st: FLD_NOTFOUND when there is
 * no such file, FLD_EIO when it cannot be opened or is not a regular file
 * ("<path>: not a regular file"). *fd is -1 on failure; the caller closes
 * it otherwise.
 */
int fld_file_open(const char *path, int *fd, struct stat *st,
                  struct fld_err *err);

/*
 * Read fd (opened by fld_file_open) to its end into buf, which holds
 * cap + 1 bytes: at most cap bytes, then a NUL that *len leaves out.
 * FLD_ELIMIT when there is more ("<path>: larger than <cap> bytes"),
 * FLD_EIO when reading fails. For secrets: nothing is copied elsewhere.
 */
int fld_file_read_fd(int fd, const char *path, size_t cap, uint8_t *buf,
                     size_t *len, struct fld_err *err);

/*
 * Read the whole file at path, at most cap bytes, into new memory (*data,
 * *len bytes followed by a NUL; free() it). The codes of fld_file_open and
 * fld_file_read_fd; *data is NULL on failure.
 */
int fld_file_read(const char *path, size_t cap, uint8_t **data, size_t *len,
                  struct fld_err *err);
/* The same for an open stream that is not a regular file (standard input
 * from a pipe), named name in messages; memory grows as bytes arrive. */
int fld_file_read_stream(int fd, const char *name, size_t cap, uint8_t **data,
                         size_t *len, struct fld_err *err);

enum {
    /* The final name must not exist, and is never overwritten, not even a
     * symbolic link there: FLD_EXISTS ("<path>: already exists; not
     * overwritten"). Without it the file replaces what is at the name, in
     * one step (rename): a reader sees the old file or the new one. */
    FLD_FILE_NEW = 1,
    /* The file gets exactly mode, whatever the umask (key files: 0600). */
    FLD_FILE_EXACT_MODE = 2,
    /* A note that may be lost (how the last sync ended): neither the file
     * nor its folder is fsync'd. The name still holds the old file or the
     * new one, whole; after a power cut, possibly the old one, or on some
     * file systems an empty one, which its reader must take as none. */
    FLD_FILE_NO_SYNC = 4
};

/*
 * Write len bytes of data to path, as above, with mode (less the umask
 * unless FLD_FILE_EXACT_MODE) and flags (FLD_FILE_*). FLD_EFULL when the
 * disk is full, FLD_EIO for other failures, with the path and the system's
 * reason in the message.
 */
int fld_file_write(const char *path, const void *data, size_t len, mode_t mode,
                   int flags, struct fld_err *err);

/*
 * The same, written piece by piece, for a file too large to hold in
 * memory (an export of many records): fld_file_stream_new() makes the
 * temporary file beside path, fld_file_stream_write() appends to it, and
 * fld_file_stream_commit() syncs it and gives it its name exactly as
 * fld_file_write() does (the same flags, checks and messages; an existing
 * name is refused then, after the writing), or fld_file_stream_discard()
 * removes it. Commit and discard free the stream; discard takes NULL.
 */
struct fld_file_stream;
int fld_file_stream_new(const char *path, mode_t mode, int flags,
                        struct fld_file_stream **out, struct fld_err *err);
int fld_file_stream_write(struct fld_file_stream *s, const void *data,
                          size_t len, struct fld_err *err);
int fld_file_stream_commit(struct fld_file_stream *s, struct fld_err *err);
void fld_file_stream_discard(struct fld_file_stream *s);

#endif
