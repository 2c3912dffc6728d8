/*
 * serve_lock.c - the lock beside a SQLite database that `serve` holds and
 * `migrate` checks (serve_lock.h says why).
 *
 * Decisions:
 *   - flock(2), not fcntl(2) record locks: a record lock belongs to the
 *     process and goes when any descriptor of the file is closed in it,
 *     and two descriptors in one process never conflict; a flock belongs
 *     to the open file, so the rule holds within one process too (the
 *     unit test relies on it).
 *   - A file of its own, not the database: SQLite takes fcntl locks on
 *     the database file, and closing another descriptor of it would drop
 *     them (the very fcntl trap above).
 *   - Never waiting: the question is "is a server running now", and a
 *     wait would hang a migrate behind a server that runs for months.
 */
#include "serve_lock.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "buf.h"

static bool is_pg(const char *location)
{
    return strncmp(location, "postgresql:", 11) == 0 ||
           strncmp(location, "postgres:", 9) == 0;
}

int srv_serve_lock(const char *location, enum srv_serve_lock_mode mode, int *fd,
                   struct fld_err *err)
{
    const char *path = location;
    char *lock;
    int rc = FLD_OK;

    *fd = -1;
    if (is_pg(location))
        return FLD_OK;
    if (strncmp(path, "sqlite:", 7) == 0)
        path += 7;
    lock = fld_xasprintf("%s.lock", path);
    *fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*fd < 0) {
        rc = fld_err_set(err, FLD_EIO, "%s: %s", lock, strerror(errno));
    } else if (flock(*fd, (mode == SRV_LOCK_SERVE ? LOCK_SH : LOCK_EX) |
                              LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK)
            rc = fld_err_set(err, FLD_EIO, "%s: %s", lock, strerror(errno));
        else if (mode == SRV_LOCK_SERVE)
            rc = fld_err_set(err, FLD_EBUSY,
                             "%s is being moved by field-server migrate (%s "
                             "is locked); serve the database it moves to",
                             path, lock);
        else
            rc = fld_err_set(err, FLD_EBUSY,
                             "%s is in use by a running field-server serve "
                             "(%s is locked): stop the server first",
                             path, lock);
    }
    if (rc != FLD_OK && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    free(lock);
    return rc;
}

void srv_serve_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* the lock goes with the open file */
}
