/*
 * test_srv_serve_lock.c - the lock beside a SQLite database that `serve`
 * holds and `migrate` takes alone (serve_lock.h): servers share it, a
 * migrate is refused while one holds it and holds off a new one while it
 * runs, the refusal says who holds it, a released lock (or one whose
 * holder died) blocks nothing, and a PostgreSQL location takes none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serve_lock.h"
#include "testutil.h"

struct fx {
    char *dir, *db, *lock;
};

static int setup(void **state)
{
    struct fx *f = fld_xcalloc(1, sizeof *f);

    f->dir = tu_mkdtemp();
    f->db = fld_xasprintf("%s/server.db", f->dir);
    f->lock = fld_xasprintf("%s/server.db.lock", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    tu_rmdir(f->dir);
    free(f->db);
    free(f->lock);
    free(f);
    return 0;
}

static void test_servers_share_migrate_is_refused(void **state)
{
    struct fx *f = *state;
    struct fld_err err;
    struct stat sb;
    int a, b, m;

    assert_int_equal(srv_serve_lock(f->db, SRV_LOCK_SERVE, &a, &err), FLD_OK);
    assert_true(a >= 0);
    assert_int_equal(stat(f->lock, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* a second server (a restart overlapping the old one) */
    assert_int_equal(srv_serve_lock(f->db, SRV_LOCK_SERVE, &b, &err), FLD_OK);
    assert_int_equal(srv_serve_lock(f->db, SRV_LOCK_ALONE, &m, &err),
                     FLD_EBUSY);
    assert_int_equal(m, -1);
    assert_non_null(strstr(err.msg, "in use by a running field-server serve"));
    assert_non_null(strstr(err.msg, "stop the server first"));
    srv_serve_unlock(a);
    /* one server left is enough to refuse */
    assert_int_equal(srv_serve_lock(f->db, SRV_LOCK_ALONE, &m, &err),
                     FLD_EBUSY);
    srv_serve_unlock(b);
    assert_int_equal(srv_serve_lock(f->db, SRV_LOCK_ALONE, &m, &err), FLD_OK);
    srv_serve_unlock(m);
}

static void test_a_migrate_holds_off_a_server(void **state)
{
    struct fx *f = *state;
    struct fld_err err;
    int m, s;

    assert_int_equal(srv_serve_lock(f->db, SRV_LOCK_ALONE, &m, &err), FLD_OK);
    assert_int_equal(srv_serve_lock(f->db, SRV_LOCK_SERVE, &s, &err),
                     FLD_EBUSY);
    assert_non_null(strstr(err.msg, "being moved by field-server migrate"));
    assert_int_equal(srv_serve_lock(f->db, SRV_LOCK_ALONE, &s, &err),
                     FLD_EBUSY);
    srv_serve_unlock(m);
    assert_int_equal(srv_serve_lock(f->db, SRV_LOCK_SERVE, &s, &err), FLD_OK);
    srv_serve_unlock(s);
}

/* A server killed with -9 leaves its file, not its lock. */
static void test_a_dead_holder_blocks_nothing(void **state)
{
    struct fx *f = *state;
    struct fld_err err;
    int fds[2], m, status;
    char c;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int s;

        if (srv_serve_lock(f->db, SRV_LOCK_SERVE, &s, &err) != FLD_OK)
            _exit(1);
        (void)!write(fds[1], "x", 1);
        pause();
        _exit(0);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);
    assert_int_equal(srv_serve_lock(f->db, SRV_LOCK_ALONE, &m, &err),
                     FLD_EBUSY);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(srv_serve_lock(f->db, SRV_LOCK_ALONE, &m, &err), FLD_OK);
    srv_serve_unlock(m);
}

static void test_locations(void **state)
{
    struct fx *f = *state;
    char *prefixed = fld_xasprintf("sqlite:%s", f->db);
    char *nowhere = fld_xasprintf("%s/no/such/dir/server.db", f->dir);
    struct fld_err err;
    int a, m;

    /* sqlite:PATH is the same file's lock */
    assert_int_equal(srv_serve_lock(f->db, SRV_LOCK_SERVE, &a, &err), FLD_OK);
    assert_int_equal(srv_serve_lock(prefixed, SRV_LOCK_ALONE, &m, &err),
                     FLD_EBUSY);
    srv_serve_unlock(a);
    /* PostgreSQL: no lock, no file */
    assert_int_equal(srv_serve_lock("postgresql:///field?host=/nowhere",
                                    SRV_LOCK_ALONE, &m, &err),
                     FLD_OK);
    assert_int_equal(m, -1);
    srv_serve_unlock(m);
    /* a directory that is not there: an error naming the lock file */
    assert_int_equal(srv_serve_lock(nowhere, SRV_LOCK_SERVE, &m, &err),
                     FLD_EIO);
    assert_non_null(strstr(err.msg, "server.db.lock"));
    free(prefixed);
    free(nowhere);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_servers_share_migrate_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_migrate_holds_off_a_server,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_dead_holder_blocks_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_locations, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
