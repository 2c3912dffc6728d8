/*
 * harness.h - what the end-to-end benchmarks share for running the real
 * programs: the `field` and `field-server` of this build, a fresh server
 * database with the units of Hà Tĩnh served on 127.0.0.1 on a port the
 * system picks, and devices set up with `field init` and enrolled with
 * `field enroll`, exactly as a district does.
 *
 * Clean-up does not depend on ending well: a janitor process, forked by
 * bench_harness_start(), waits for the benchmark to end however it ends
 * (a failure, ^C, kill -9), then kills the server and removes the
 * temporary directory; on Linux the server is also told to die with us
 * (PR_SET_PDEATHSIG); with BENCH_KEEP set in the environment the
 * directory is kept, for perf or a second look. The programs are looked
 * for in ../bin beside the benchmark, or in $FIELD_BUILD/bin when
 * FIELD_BUILD is set.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "commune.h"

#define BENCH_UNITS_CSV "ha-tinh.csv"

/* The temporary directory, the server's port once started, and the peak
 * resident set (kB) of the last program bench_run() waited for, and the
 * bytes it wrote with write() and pwrite() (-1: not known). */
extern char bench_tmpdir[64];
extern int bench_server_port;
extern long bench_last_maxrss_kb;
extern long long bench_last_written;

/*
 * `BENCH --measure FILE PROGRAM ARGS...`: bench_run() runs each program
 * through this, so that its peak resident set is its own (Linux counts
 * the image of the process a program was exec'd from). Call first in
 * main: returns the exit status to return when argv asks for it, else -1.
 */
int bench_harness_measure(int argc, char **argv);

/* The temporary directory /tmp/field-NAME-XXXXXX, the janitor, the
 * programs; name also prefixes every message. Exits when it cannot. */
void bench_harness_start(const char *name, const char *argv0);

/* A path under the temporary directory, new (free()). */
char *bench_tpath(const char *name);
/* Report (with the server's log), and end: the janitor cleans up. */
void bench_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* rm -rf path, without following symbolic links. */
void bench_remove_tree(const char *path);
void bench_write_file(const char *path, const void *p, size_t len);

/* The path of one of this build's programs, new (free()). */
char *bench_program(const char *name);
/*
 * Run argv (argv[0] a path) with FIELD_HOME=home when home is not NULL,
 * standard input from /dev/null, standard output into out when not NULL
 * (else discarded), standard error into $tmpdir/last-PID.err (safe from
 * several processes at once). Returns the
 * exit status; *secs (when not NULL) is the program's wall time.
 */
int bench_run(const char *home, const char *const *argv, struct fld_buf *out,
              double *secs);
/* bench_run(), and die with the program's stderr when it fails. */
void bench_must(const char *home, const char *const *argv, struct fld_buf *out);

/* The database of the servers started from now on: an empty PostgreSQL
 * database's location, or NULL (the default) for a SQLite file in the
 * temporary directory. Kept, not copied. */
void bench_set_server_db(const char *location);
/* init, import the units, serve on a free loopback port (quiet), with
 * the extra settings of serve (NULL-terminated; NULL for none). */
void bench_start_server(const char *const *extra);
/* A second `field-server serve` on the same (PostgreSQL) database, once
 * the first has started; its port. bench_stop_server() stops it too. */
int bench_start_second_server(const char *const *extra);
/* The server's peak resident set so far (kB). */
long bench_server_hwm_kb(void);
/* The bytes the server (both, when a second runs) has written so far
 * (write() and pwrite(): its database, write-ahead log and answers; -1:
 * not known). */
long long bench_server_written(void);
/* The processor time the server (both, with a second) has used so far
 * (user + system, s). */
double bench_server_cpu_s(void);
/* SIGTERM, as an administrator stops it (and the second server); *secs
 * how long the first took to go; bench_last_maxrss_kb its peak resident
 * set. Returns its exit status. */
int bench_stop_server(double *secs);
/* The value of the server's /metrics line that starts with name (0: none). */
double bench_metric(const char *name);

/*
 * tests/tools/faultproxy in front of the server, with the misbehaviour
 * of args (NULL-terminated: "--rate", "1000", ...; the plan is to pass
 * everything); its port, and its pid in *pid. It dies with us however we
 * end; kill it (SIGTERM) to stop it earlier.
 */
int bench_start_proxy(const char *const *args, pid_t *pid);

/* A data directory $tmpdir/name set up with `field init` and enrolled
 * with a code for an inspector of scope (unit codes). New (free()). */
char *bench_new_device(const char *name, const char *inspector,
                       const char *scope);

/* The communes (xa) of today's Hà Tĩnh, from the units the programs ship:
 * at most max into out; how many. */
size_t bench_communes(struct commune *out, size_t max);

/* A device's store, key and checklist opened in-process, to capture
 * through libfield exactly as `field new` and `field set` do. */
struct bench_device {
    struct fld_store *st;
    struct fld_key *key;
    struct fld_template *t;
};

/* template_id NULL: no checklist (d->t NULL), for a sync, which needs
 * none. */
void bench_device_open(const char *home, const char *template_id,
                       struct bench_device *d);
void bench_device_close(struct bench_device *d);

#endif
