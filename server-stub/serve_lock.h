/*
 * serve_lock.h - "a server is serving this SQLite database": a lock on
 * the file DB.lock beside the database, so that a command which must not
 * run beside a server (`migrate --from`, which copies a snapshot: what a
 * server acknowledged after it would be lost) can tell, and refuse.
 *
 *   serve    holds it shared for its whole life (several processes may,
 *            as during a restart);
 *   migrate  takes it exclusive for the copy, so it refuses while a
 *            server runs, and a server started meanwhile refuses too.
 *
 * flock(2): the kernel drops the lock when the process ends however it
 * ends (kill -9 included), so a stale file never blocks anything; the
 * file itself stays, empty. A PostgreSQL location takes no lock: several
 * servers share such a database by design, and migrate reads only SQLite.
 * `flock -n DB.lock true` in a shell says the same (exit 1: in use).
 */
#ifndef SRV_SERVE_LOCK_H
#define SRV_SERVE_LOCK_H

#include <stdbool.h>

#include "err.h"

enum srv_serve_lock_mode {
    SRV_LOCK_SERVE, /* shared: a server serving the database */
    SRV_LOCK_ALONE, /* exclusive: no server may serve meanwhile */
};

/*
 * Take the lock of the database at location (a path, sqlite:PATH, or a
 * PostgreSQL location: no lock, *fd = -1) without waiting. FLD_OK with
 * *fd open (release it with srv_serve_unlock); FLD_EBUSY, with one line
 * in err saying who holds it, when the other mode is held; FLD_EIO when
 * the lock file cannot be opened.
 */
int srv_serve_lock(const char *location, enum srv_serve_lock_mode mode, int *fd,
                   struct fld_err *err);
/* Release it (fd -1: nothing). */
void srv_serve_unlock(int fd);

#endif
