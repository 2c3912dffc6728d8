/*
 * bench_sync.c - sync over loopback between the real programs: the
 * `field` program (its libcurl client) and `field-server`, with 10,000
 * versions of a commune checklist.
 *
 * What runs is what a district runs: `field-server init`, `units import`,
 * `enroll-code` and `serve` on 127.0.0.1 with --port 0 --port-file (the
 * system picks a free port), two devices set up with `field init` and
 * `field enroll`, and every sync a `field sync --json` process, whose
 * summary gives the requests and the bytes on the wire (headers
 * included). Only writing the versions goes around the command line (one
 * process per version would take minutes): they are captured through
 * libfield (fld_capture_new / fld_capture_save) into device A's own
 * store, exactly as `field new` and `field set` would, one transaction
 * each. The checklist is the ntm-xa-2021 template with region
 * bac_trung_bo and year 2025, about 60 realistic answers per version, on
 * the communes of Hà Tĩnh; records have 2 to 6 versions.
 *
 * Phases, each with wall time (the whole `field sync` process), the
 * sync's own time, the server's time answering (from its /metrics),
 * requests, bytes up and down, and versions per second:
 *   1. device A pushes the 10,000 versions to a fresh server;
 *   2. a fresh device B pulls them;
 *   3. A, then B, sync with nothing to do;
 *   4. A changes 100 records and syncs (push side), then B syncs (pull side).
 * Each sync's peak resident set (from wait4), and the server's over the
 * whole run, are measured too. Every figure the issue sets a target for
 * (issue 11: push, pull, no-op and 100 changed by wall time, peak RSS)
 * goes out at the end as one JSON line, with its target:
 *   {"bench":"sync","figure":"noop_sync_wall_ms","value":12.3,"unit":"ms",
 *    "target":"<= 15"}
 * Then, measured in the same run: the gzip size of the signed bodies
 * themselves (to compare with the bytes on the wire), this machine's
 * Ed25519 verifications per second and fld_version_open() (the full
 * check a server makes of each version) per second (to compare with the
 * server's ingest), and the merge of a record of 500 versions, which
 * bench_merge measures (run here, from the same build directory).
 *
 * Clean-up does not depend on ending well: a janitor process, forked
 * first, waits for this one to end however it ends (a failure, ^C,
 * kill -9) and then kills the server and removes the temporary
 * directory; on Linux the server is also told to die with us
 * (PR_SET_PDEATHSIG). Figures only: nothing here fails on time.
 *
 * Usage: bench_sync [N]   (default 10000 versions)
 * The programs are looked for in ../bin beside this program, or in
 * $FIELD_BUILD/bin when FIELD_BUILD is set.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "bench_clock.h"
#include "bench_figure.h"
#include "buf.h"
#include "capture.h"
#include "embedded.h"
#include "gzip.h"
#include "store.h"
#include "template.h"
#include "units.h"
#include "version.h"

#define DEFAULT_VERSIONS 10000
#define N_CHANGED 100
#define TEMPLATE "ntm-xa-2021"
#define PROVINCE "42"
#define UNITS_CSV "ha-tinh.csv"
/* What the client sends per request (sync/client.h, SYN_BATCH_VERSIONS). */
#define PUSH_BATCH 500
#define MAX_COMMUNES 256

static char tmpdir[] = "/tmp/field-bench-sync-XXXXXX";
static char bindir[PATH_MAX + 16];
static int janitor_fd = -1;
static pid_t server_pid = -1;
/* The peak resident set of the last program run() waited for (kB). */
static long last_maxrss_kb;
static int server_port;

/* A path under the temporary directory, new (free()). */
static char *tpath(const char *name)
{
    return fld_xasprintf("%s/%s", tmpdir, name);
}

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Report, show the server's log tail, and end: the janitor cleans up. */
static void die(const char *fmt, ...)
{
    va_list ap;
    char *log = tpath("server.log"), line[512];
    FILE *f;

    fflush(stdout);
    fputs("bench_sync: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    f = fopen(log, "r");
    if (f != NULL) {
        while (fgets(line, sizeof line, f) != NULL)
            fprintf(stderr, "  server: %s", line);
        fclose(f);
    }
    free(log);
    exit(1);
}

/* ---- clean-up that survives us ------------------------------------------- */

/* rm -rf path, without following symbolic links. */
static void remove_tree(const char *path)
{
    struct stat sb;
    DIR *d;
    struct dirent *e;

    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode) && (d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            char *child;

            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            child = fld_xasprintf("%s/%s", path, e->d_name);
            remove_tree(child);
            free(child);
        }
        closedir(d);
        rmdir(path);
        return;
    }
    unlink(path);
}

/*
 * Fork the janitor. It holds the read end of a pipe whose write end only
 * this process has (close-on-exec, so no child inherits it): the pipe
 * reaches end-of-file exactly when this process is gone. Until then it
 * reads the server's pid (0 once we have stopped it ourselves). Signals
 * that end us (^C reaches the whole process group) do not end it.
 */
static void start_janitor(void)
{
    int fds[2];
    pid_t pid;

    if (pipe(fds) != 0)
        die("pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        pid_t server = 0, msg;
        ssize_t n;

        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        close(fds[1]);
        for (;;) {
            n = read(fds[0], &msg, sizeof msg);
            if (n == (ssize_t)sizeof msg)
                server = msg;
            else if (n < 0 && errno == EINTR)
                continue;
            else
                break;
        }
        if (server > 0) {
            kill(server, SIGKILL);
            usleep(200000); /* let it go before its files do */
        }
        remove_tree(tmpdir);
        _exit(0);
    }
    close(fds[0]);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    janitor_fd = fds[1];
}

static void tell_janitor(pid_t server)
{
    if (write(janitor_fd, &server, sizeof server) != (ssize_t)sizeof server)
        die("cannot reach the janitor");
}

/* ---- running the programs ------------------------------------------------ */

static char *program(const char *name)
{
    return fld_xasprintf("%s/%s", bindir, name);
}

/*
 * `bench_sync --measure FILE PROGRAM ARGS...`: run PROGRAM and write its
 * peak resident set (kB) and wall time (s) to FILE; exit as it did.
 * run() goes through this because Linux counts in a program's peak
 * resident set the image of the process it was exec'd from: forked
 * straight from this one (which holds 23 MB of bodies), every `field
 * sync` would weigh at least that much. Here PROGRAM is forked from a
 * freshly exec'd, small process.
 */
static int measure(const char *file, char *const *argv)
{
    struct rusage ru;
    int status;
    double t0 = now_s();
    pid_t pid = fork();
    FILE *f;

    if (pid < 0)
        return 127;
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            return 127;
    if ((f = fopen(file, "w")) != NULL) {
        fprintf(f, "%ld %.6f\n", ru.ru_maxrss, now_s() - t0);
        fclose(f);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/*
 * Run argv (argv[0] a path) with FIELD_HOME=home when home is not NULL,
 * standard input from /dev/null, standard output into out when not NULL
 * (else discarded), standard error into $tmpdir/last.err, through
 * measure() (last_maxrss_kb: its peak resident set). Returns the exit
 * status; *secs (when not NULL) is its wall time from fork to exit.
 */
static int run(const char *home, const char *const *argv, struct fld_buf *out,
               double *secs)
{
    char *errpath = tpath("last.err"), *rsspath = tpath("last.rss");
    char chunk[8192];
    const char *wrapped[64];
    FILE *f;
    size_t k;
    int fds[2], status;
    pid_t pid;
    ssize_t n;
    double t0;

    wrapped[0] = "/proc/self/exe";
    wrapped[1] = "--measure";
    wrapped[2] = rsspath;
    for (k = 0; argv[k] != NULL && k + 4 < sizeof wrapped / sizeof *wrapped;
         k++)
        wrapped[k + 3] = argv[k];
    wrapped[k + 3] = NULL;
    remove(rsspath);
    if (pipe(fds) != 0)
        die("pipe: %s", strerror(errno));
    t0 = now_s();
    pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (in < 0 || err < 0)
            _exit(127);
        dup2(in, 0);
        dup2(fds[1], 1);
        dup2(err, 2);
        close(fds[0]);
        if (home != NULL)
            setenv("FIELD_HOME", home, 1);
        execv("/proc/self/exe", (char *const *)wrapped);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        n = read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out != NULL)
            fld_buf_append(out, chunk, (size_t)n);
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    if (secs != NULL)
        *secs = now_s() - t0;
    last_maxrss_kb = 0;
    if ((f = fopen(rsspath, "r")) != NULL) {
        double wall;

        /* the program's own wall time, without measure()'s start */
        if (fscanf(f, "%ld %lf", &last_maxrss_kb, &wall) == 2 && secs != NULL)
            *secs = wall;
        fclose(f);
    }
    free(rsspath);
    free(errpath);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* run(), and die with the program's stderr when it does not exit 0. */
static void must(const char *home, const char *const *argv, struct fld_buf *out)
{
    char *errpath, line[512];
    FILE *f;
    int rc = run(home, argv, out, NULL);

    if (rc == 0)
        return;
    errpath = tpath("last.err");
    fprintf(stderr, "bench_sync: %s %s exited %d\n", argv[0], argv[1], rc);
    f = fopen(errpath, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        fprintf(stderr, "  %s", line);
    if (f != NULL)
        fclose(f);
    free(errpath);
    die("giving up");
}

/* Where the programs are: $FIELD_BUILD/bin, else ../bin beside us. */
static void find_programs(const char *argv0)
{
    const char *build = getenv("FIELD_BUILD");
    char self[PATH_MAX], *slash;
    ssize_t n;

    if (build != NULL && build[0] != '\0') {
        snprintf(bindir, sizeof bindir, "%s/bin", build);
        return;
    }
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0)
        self[n] = '\0';
    else if (realpath(argv0, self) == NULL)
        snprintf(self, sizeof self, "%s", argv0);
    slash = strrchr(self, '/');
    if (slash == NULL)
        snprintf(self, sizeof self, ".");
    else
        *slash = '\0';
    snprintf(bindir, sizeof bindir, "%s/../bin", self);
}

/* ---- the server ---------------------------------------------------------- */

static void write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0)
        die("cannot write %s", path);
}

/*
 * A fresh server database with the built-in templates and the units of
 * Hà Tĩnh, then `field-server serve` on a free loopback port. The server
 * is our child; the janitor knows its pid.
 */
static void start_server(void)
{
    const struct fld_embedded *csv = fld_embedded_find(UNITS_CSV);
    char *srv = program("field-server"), *db = tpath("server.db");
    char *units = tpath("units.csv"), *portfile = tpath("server.port");
    char *log = tpath("server.log");
    pid_t parent = getpid();
    int i;

    if (csv == NULL)
        die("no embedded %s", UNITS_CSV);
    write_file(units, csv->data, csv->len);
    {
        const char *init[] = {srv, "init", "--db", db, NULL};
        const char *imp[] = {srv, "units", "--db", db, "import", units, NULL};

        must(NULL, init, NULL);
        must(NULL, imp, NULL);
    }
    server_pid = fork();
    if (server_pid < 0)
        die("fork: %s", strerror(errno));
    if (server_pid == 0) {
        const char *serve[] = {srv,           "serve",     "--db",    db,
                               "--listen",    "127.0.0.1", "--port",  "0",
                               "--port-file", portfile,    "--quiet", NULL};
        int in = open("/dev/null", O_RDONLY);
        int err = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        if (getppid() != parent || in < 0 || err < 0)
            _exit(127);
        dup2(in, 0);
        dup2(err, 1);
        dup2(err, 2);
        execv(srv, (char *const *)serve);
        _exit(127);
    }
    tell_janitor(server_pid);
    for (i = 0; i < 200; i++) {
        FILE *f = fopen(portfile, "r");
        int port = 0;

        if (f != NULL) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port > 0) {
            server_port = port;
            break;
        }
        if (waitpid(server_pid, NULL, WNOHANG) == server_pid)
            die("the server did not start");
        usleep(50000);
    }
    if (server_port == 0)
        die("the server wrote no port file in 10 s");
    free(srv);
    free(db);
    free(units);
    free(portfile);
    free(log);
}

/* SIGTERM, as an administrator stops it; *secs how long it took to go. */
/* The server's peak resident set (kB) so far: VmHWM counts its own
 * memory since exec, unlike wait4's figure (see measure()). */
static long server_hwm_kb(void)
{
    char path[64], line[256];
    long kb = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/status", (long)server_pid);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static int stop_server(double *secs)
{
    int status = 0;
    double t0;

    last_maxrss_kb = server_hwm_kb();
    t0 = now_s();
    kill(server_pid, SIGTERM);
    while (waitpid(server_pid, &status, 0) < 0 && errno == EINTR)
        ;
    *secs = now_s() - t0;
    tell_janitor(0);
    server_pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* GET /metrics over a plain socket (unsigned, docs/PROTOCOL.md). */
static void get_metrics(struct fld_buf *out)
{
    struct sockaddr_in a;
    const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Connection: close\r\n\r\n";
    char chunk[8192];
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    fld_buf_reset(out);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)server_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        send(fd, req, sizeof req - 1, MSG_NOSIGNAL) !=
            (ssize_t)(sizeof req - 1))
        die("GET /metrics: %s", strerror(errno));
    while ((n = recv(fd, chunk, sizeof chunk, 0)) > 0)
        fld_buf_append(out, chunk, (size_t)n);
    close(fd);
}

/* The value of the metric line that starts with name (and a space); 0
 * when there is none (a route's histogram appears with its first request). */
static double metric(const char *name)
{
    struct fld_buf m = FLD_BUF_INIT;
    const char *text, *p;
    size_t len = strlen(name);
    double v = 0;

    get_metrics(&m);
    text = fld_buf_str(&m);
    for (p = text; (p = strstr(p, name)) != NULL; p += len)
        if ((p == text || p[-1] == '\n') && p[len] == ' ') {
            v = strtod(p + len + 1, NULL);
            break;
        }
    fld_buf_free(&m);
    return v;
}

#define SYNC_SECONDS "field_request_duration_seconds_sum{route=\"sync\"}"

/* ---- devices ------------------------------------------------------------- */

/* A data directory set up with `field init` and enrolled for the province. */
static char *new_device(const char *name, const char *inspector)
{
    char *home = tpath(name), *field = program("field"),
         *srv = program("field-server");
    char *db = tpath("server.db"), *url;
    struct fld_buf code = FLD_BUF_INIT;
    const char *init[] = {field, "init", "--inspector", inspector, NULL};
    const char *mk[] = {srv,           "enroll-code", "--db",   db,
                        "--inspector", inspector,     "--role", "inspector",
                        "--scope",     PROVINCE,      NULL};

    url = fld_xasprintf("http://127.0.0.1:%d", server_port);
    must(home, init, NULL);
    must(NULL, mk, &code);
    while (code.len > 0 &&
           (code.data[code.len - 1] == '\n' || code.data[code.len - 1] == ' '))
        code.data[--code.len] = '\0';
    {
        const char *enroll[] = {field, "enroll", url, fld_buf_str(&code), NULL};

        must(home, enroll, NULL);
    }
    fld_buf_free(&code);
    free(url);
    free(db);
    free(srv);
    free(field);
    return home;
}

/* ---- the checklist ------------------------------------------------------- */

#define NTM_TEMPLATE TEMPLATE
#define ntm_die die
#include "ntm_answers.h"

struct communes {
    struct commune c[MAX_COMMUNES];
    size_t n;
};

/* The communes (xa) of today's Hà Tĩnh, from the units the programs ship. */
static int add_commune(void *ctx, const struct fld_unit *u)
{
    struct communes *cs = ctx;

    if (strcmp(u->kind, "xa") == 0 && u->valid_to == NULL &&
        cs->n < MAX_COMMUNES) {
        snprintf(cs->c[cs->n].code, sizeof cs->c[cs->n].code, "%s", u->code);
        snprintf(cs->c[cs->n].name, sizeof cs->c[cs->n].name, "%s", u->name);
        cs->n++;
    }
    return FLD_OK;
}

/* ---- filling device A ---------------------------------------------------- */

/* Every body made, in the order the device made them (= push order). */
struct made {
    struct fld_buf bodies;
    size_t *ends; /* bodies.data[ends[i-1] .. ends[i]) is version i */
    uint8_t (*sigs)[FLD_SIG_LEN];
    size_t n;
    char (*records)[FLD_RECORD_HEX_LEN + 1];
    size_t n_records;
    size_t n_answers; /* summed over versions */
};

static void keep(struct made *m, const struct fld_version *v)
{
    m->ends = fld_xreallocarray(m->ends, m->n + 1, sizeof *m->ends);
    m->sigs = fld_xreallocarray(m->sigs, m->n + 1, sizeof *m->sigs);
    fld_buf_append(&m->bodies, v->body, v->body_len);
    m->ends[m->n] = m->bodies.len;
    memcpy(m->sigs[m->n], v->sig, FLD_SIG_LEN);
    m->n_answers += v->answers->n;
    m->n++;
}

struct device {
    struct fld_store *st;
    struct fld_key *key;
    struct fld_template *t;
};

static void device_open(const char *home, struct device *d)
{
    char *db = fld_xasprintf("%s/field.db", home);
    char *key = fld_xasprintf("%s/device.key", home);
    uint8_t *body;
    size_t len;
    struct fld_err err;

    if (fld_store_open(db, FLD_STORE_OPEN, &d->st, &err) != FLD_OK ||
        fld_key_load(key, NULL, &d->key, &err) != FLD_OK ||
        fld_store_template_get(d->st, TEMPLATE, &body, &len, NULL, &err) !=
            FLD_OK)
        die("device %s: %s", home, err.msg);
    if (fld_template_parse(body, len, &d->t, &err) != FLD_OK)
        die("template %s: %s", TEMPLATE, err.msg);
    free(body);
    free(db);
    free(key);
}

static void device_close(struct device *d)
{
    fld_template_free(d->t);
    fld_key_free(d->key);
    fld_store_close(d->st);
}

/* One new version of record (its only head), revised; kept in m. */
static void capture_revision(struct device *d, struct made *m,
                             const char *record, int n)
{
    struct fld_version *head, *v;
    struct fld_json *a;
    struct fld_err err;

    if (fld_capture_head(d->st, record, &head, &err) != FLD_OK)
        die("head of %s: %s", record, err.msg);
    a = fld_json_clone(head->answers);
    revise(d->t, a, n);
    if (fld_capture_save(d->st, d->key, head, a, "draft", &v, &err) != FLD_OK)
        die("save %s: %s", record, err.msg);
    keep(m, v);
    fld_version_free(v);
    fld_version_free(head);
    fld_json_free(a);
}

/*
 * n versions on device A: records of 2 to 6 versions (4 on average) on
 * the communes, each version one transaction, as `field new`/`field set`.
 */
static void fill(const char *home, const struct communes *cs, size_t n,
                 struct made *m)
{
    struct device d;
    struct fld_err err;

    device_open(home, &d);
    while (m->n < n) {
        const struct commune *c = &cs->c[rnd(cs->n)];
        size_t k = (size_t)between(2, 6), j;
        struct fld_json *a = first_answers(d.t, c);
        struct fld_version *v;

        if (fld_capture_new(d.st, d.key, d.t, c->code, a, &v, &err) != FLD_OK)
            die("new record: %s", err.msg);
        fld_json_free(a);
        m->records =
            fld_xreallocarray(m->records, m->n_records + 1, sizeof *m->records);
        memcpy(m->records[m->n_records++], v->record, FLD_RECORD_HEX_LEN + 1);
        keep(m, v);
        fld_version_free(v);
        for (j = 2; j <= k && m->n < n; j++)
            capture_revision(&d, m, m->records[m->n_records - 1], (int)j);
    }
    device_close(&d);
}

/* ---- one sync ------------------------------------------------------------ */

struct phase {
    const char *name;
    int64_t versions; /* moved: pushed or pulled */
    int64_t requests, bytes_up, bytes_down, sync_ms;
    double wall, server;
    double rss_mb; /* the `field sync` process's peak resident set */
};

/* The integer member key of the flat JSON summary in s (-1 if missing). */
static int64_t member(const char *s, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(s, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* `field sync --json` on the device at home; pushing says which way the
 * versions of this phase move. */
static void sync_phase(const char *home, struct phase *ph, const char *name,
                       int pushing)
{
    char *field = program("field");
    const char *argv[] = {field, "sync", "--json", NULL};
    struct fld_buf out = FLD_BUF_INIT;
    double busy = metric(SYNC_SECONDS);
    const char *s;
    int rc;

    rc = run(home, argv, &out, &ph->wall);
    ph->rss_mb = (double)last_maxrss_kb / 1024.0;
    s = fld_buf_str(&out);
    if (rc != 0 || member(s, "pending") != 0 || member(s, "refused") != 0)
        die("%s: field sync exited %d: %s", name, rc, s);
    ph->name = name;
    ph->server = metric(SYNC_SECONDS) - busy;
    ph->versions = pushing ? member(s, "stored") : member(s, "new");
    ph->requests = member(s, "requests");
    ph->bytes_up = member(s, "bytes_up");
    ph->bytes_down = member(s, "bytes_down");
    ph->sync_ms = member(s, "milliseconds");
    fld_buf_free(&out);
    free(field);
}

/* ---- what the machine can do --------------------------------------------- */

static double ed25519_per_second(void)
{
    uint8_t pk[32], sk[64], sig[64], msg[sizeof FLD_SIGN_PREFIX - 1 + 32];
    double t0 = now_s(), t;
    long n = 0;

    crypto_sign_keypair(pk, sk);
    randombytes_buf(msg, sizeof msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    do {
        for (int i = 0; i < 200; i++)
            if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0)
                die("a good signature does not verify");
        n += 200;
        t = now_s() - t0;
    } while (t < 1.0);
    return (double)n / t;
}

/* fld_version_open (strict parse, canonical check, hash, signature) over
 * the bodies made, for about a second. */
static double open_per_second(const struct made *m)
{
    double t0 = now_s(), t;
    size_t i = 0, n = 0;

    do {
        size_t start = i ? m->ends[i - 1] : 0;
        struct fld_version *v;
        struct fld_err err;

        if (fld_version_open(m->bodies.data + start, m->ends[i] - start,
                             m->sigs[i], &v, &err) != FLD_OK)
            die("version %zu does not open: %s", i, err.msg);
        fld_version_free(v);
        n++;
        i = (i + 1) % m->n;
        t = now_s() - t0;
    } while (t < 1.0);
    return (double)n / t;
}

/* gzip of the bodies [from, to) of m, as one stream. */
static size_t gzip_size(const struct made *m, size_t from, size_t to)
{
    struct fld_buf z = FLD_BUF_INIT;
    size_t start = from ? m->ends[from - 1] : 0, len;

    syn_gzip(m->bodies.data + start, m->ends[to - 1] - start, &z);
    len = z.len;
    fld_buf_free(&z);
    return len;
}

/* The bench_merge program beside us: its figure for 500 versions. */
static void merge_figure(char *line, size_t size)
{
    char *bench = fld_xasprintf("%s/../bench/bench_merge", bindir);
    const char *argv[] = {bench, "500", NULL};
    struct fld_buf out = FLD_BUF_INIT;
    const char *nl;

    snprintf(line, size, "(bench_merge not found at %s)", bench);
    if (access(bench, X_OK) == 0 && run(NULL, argv, &out, NULL) == 0) {
        nl = strchr(fld_buf_str(&out), '\n');
        snprintf(line, size, "%.*s",
                 (int)(nl ? (size_t)(nl - fld_buf_str(&out)) : out.len),
                 fld_buf_str(&out));
    }
    fld_buf_free(&out);
    free(bench);
}

/* ---- report -------------------------------------------------------------- */

static void kb(double bytes, char out[32])
{
    if (bytes < 10000)
        snprintf(out, 32, "%.0f B", bytes);
    else if (bytes < 10e6)
        snprintf(out, 32, "%.1f kB", bytes / 1e3);
    else
        snprintf(out, 32, "%.2f MB", bytes / 1e6);
}

/* One figure as one JSON line (the shape every benchmark prints, so a
 * script can read them); target NULL when there is none. */
static void figure(const char *name, double value, const char *unit,
                   const char *target)
{
    bench_figure("sync", name, value, unit, target);
}

/* The figures of the targets (issue 11, items 2, 3 and 5), and
 * the bytes on the wire beside them. */
static void figures(const struct phase *ph, double server_rss_mb)
{
    figure("initial_push_wall_s", ph[0].wall, "s", "<= 0.75");
    figure("initial_push_server_s", ph[0].server, "s", NULL);
    figure("initial_push_bytes_up", (double)ph[0].bytes_up, "B", NULL);
    figure("initial_pull_wall_s", ph[1].wall, "s", "<= 0.75");
    figure("initial_pull_bytes_down", (double)ph[1].bytes_down, "B", NULL);
    figure("noop_sync_wall_ms", ph[2].wall * 1e3, "ms", "<= 15");
    figure("noop_sync_pull_side_wall_ms", ph[3].wall * 1e3, "ms", "<= 15");
    figure("changed_100_push_wall_ms", ph[4].wall * 1e3, "ms", "<= 40");
    figure("changed_100_pull_wall_ms", ph[5].wall * 1e3, "ms", "<= 40");
    figure("client_peak_rss_push_mb", ph[0].rss_mb, "MB", "<= 32");
    figure("client_peak_rss_pull_mb", ph[1].rss_mb, "MB", "<= 32");
    figure("server_peak_rss_mb", server_rss_mb, "MB", "<= 32");
}

static void print_phase(const struct phase *p)
{
    char up[32], down[32], rate[32];

    kb((double)p->bytes_up, up);
    kb((double)p->bytes_down, down);
    if (p->versions > 0)
        snprintf(rate, sizeof rate, "%.0f", (double)p->versions / p->wall);
    else
        snprintf(rate, sizeof rate, "-");
    printf("| %-32s | %8lld | %8lld | %9s | %10s | %6.3f | %6.3f | %8.3f | "
           "%10s | %6.1f |\n",
           p->name, (long long)p->versions, (long long)p->requests, up, down,
           p->wall, (double)p->sync_ms / 1e3, p->server, rate, p->rss_mb);
}

int main(int argc, char **argv)
{
    size_t n = DEFAULT_VERSIONS, n_batches, gz_batches = 0, i;
    const struct fld_embedded *csv;
    struct communes cs;
    struct fld_units_dest units_dest = {NULL, NULL, NULL, NULL};
    struct made m;
    struct phase ph[6];
    struct device d;
    char *home_a, *home_b, merge_line[256];
    char raw[32], gz_all[32], gz_b[32], floor_b[32], floor_c[32];
    double t0, fill_s, ed, opened, stop_s, answers, server_rss_mb;
    size_t floor_bytes, floor_changed;
    int stop_rc;

    if (argc > 3 && strcmp(argv[1], "--measure") == 0)
        return measure(argv[2], argv + 3);
    if (argc > 1) {
        char *end;
        unsigned long v = strtoul(argv[1], &end, 10);

        if (*end != '\0' || v < 2 * N_CHANGED || v > 1000000) {
            fprintf(stderr,
                    "usage: bench_sync [N]   (N versions, %d..1000000)\n",
                    2 * N_CHANGED);
            return 2;
        }
        n = (size_t)v;
    }
    if (sodium_init() < 0 || mkdtemp(tmpdir) == NULL) {
        fprintf(stderr, "bench_sync: cannot start\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    start_janitor();
    find_programs(argv[0]);
    memset(&m, 0, sizeof m);
    memset(&cs, 0, sizeof cs);
    memset(ph, 0, sizeof ph);

    csv = fld_embedded_find(UNITS_CSV);
    units_dest.put = add_commune;
    units_dest.ctx = &cs;
    if (csv == NULL ||
        fld_units_read(csv->data, csv->len, &units_dest, &i, NULL) != FLD_OK ||
        cs.n == 0)
        die("no communes in %s", UNITS_CSV);

    start_server();
    home_a = new_device("a", "Nguyễn Văn An");
    printf("server on 127.0.0.1:%d; capturing %zu versions of %s on device A "
           "(libfield, one transaction each) ...\n",
           server_port, n, TEMPLATE);
    t0 = now_s();
    fill(home_a, &cs, n, &m);
    fill_s = now_s() - t0;
    answers = (double)m.n_answers / (double)m.n;

    /* 1. A pushes everything; 2. a fresh device B pulls everything. */
    sync_phase(home_a, &ph[0], "1. initial push (device A)", 1);
    if (metric("field_versions_stored") != (double)m.n)
        die("the server holds %.0f versions, not %zu",
            metric("field_versions_stored"), m.n);
    home_b = new_device("b", "Trần Thị Bình");
    sync_phase(home_b, &ph[1], "2. initial pull (fresh device B)", 0);
    /* 3. nothing to do. */
    sync_phase(home_a, &ph[2], "3a. no-op sync (device A)", 0);
    sync_phase(home_b, &ph[3], "3b. no-op sync (device B)", 0);
    /* 4. A changes 100 records; A pushes, B pulls. */
    device_open(home_a, &d);
    for (i = 0; i < N_CHANGED; i++) {
        /* distinct records: a stride through them, prime to their count */
        size_t r = (i * 7919 + 13) % m.n_records;

        capture_revision(&d, &m, m.records[r], 9);
    }
    device_close(&d);
    sync_phase(home_a, &ph[4], "4a. 100 changed: push (A)", 1);
    sync_phase(home_b, &ph[5], "4b. 100 changed: pull (B)", 0);
    if (ph[0].versions != (int64_t)n || ph[1].versions != (int64_t)n ||
        ph[2].versions != 0 || ph[3].versions != 0 ||
        ph[4].versions != N_CHANGED || ph[5].versions != N_CHANGED)
        die("unexpected counts: pushed %lld, pulled %lld, no-op %lld, "
            "changed %lld/%lld",
            (long long)ph[0].versions, (long long)ph[1].versions,
            (long long)(ph[2].versions + ph[3].versions),
            (long long)ph[4].versions, (long long)ph[5].versions);
    {
        double flagged = metric("field_versions_flagged");

        if (flagged != 0)
            printf("note: the server flagged %.0f versions as breaking a "
                   "checklist rule\n",
                   flagged);
    }
    stop_rc = stop_server(&stop_s);
    server_rss_mb = (double)last_maxrss_kb / 1024.0;

    /* What the machine can do, and what the bodies weigh. */
    ed = ed25519_per_second();
    opened = open_per_second(&m);
    n_batches = (n + PUSH_BATCH - 1) / PUSH_BATCH;
    for (i = 0; i < n_batches; i++)
        gz_batches +=
            gzip_size(&m, i * PUSH_BATCH,
                      (i + 1) * PUSH_BATCH < n ? (i + 1) * PUSH_BATCH : n);
    floor_bytes = gz_batches + n * FLD_SIG_LEN;
    floor_changed = gzip_size(&m, n, n + N_CHANGED) + N_CHANGED * FLD_SIG_LEN;
    merge_figure(merge_line, sizeof merge_line);

    printf("\n%zu versions of %s (region=bac_trung_bo, year=2025) in %zu "
           "records on %zu communes; %.1f answers and %zu bytes of signed body "
           "per version on average; captured in %.1f s (%.0f versions/s)\n\n",
           n, TEMPLATE, m.n_records, cs.n, answers, m.ends[n - 1] / n, fill_s,
           (double)n / fill_s);
    printf("| %-32s | %8s | %8s | %9s | %10s | %6s | %6s | %8s | %10s | %6s "
           "|\n",
           "phase (`field sync --json`)", "versions", "requests", "bytes up",
           "bytes down", "wall s", "sync s", "server s", "versions/s",
           "RSS MB");
    printf("| %-32s | %8s | %8s | %9s | %10s | %6s | %6s | %8s | %10s | %6s "
           "|\n",
           "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:",
           "---:", "---:");
    for (i = 0; i < 6; i++)
        print_phase(&ph[i]);
    printf("\nwall s: the whole `field sync` process; sync s: its own summary "
           "(milliseconds);\nserver s: the server's time answering /v1/sync "
           "(its /metrics); versions/s: versions / wall s;\nRSS MB: the "
           "`field sync` process's peak resident set; field-server's over the "
           "whole run: %.1f MB.\n\n",
           server_rss_mb);

    kb((double)m.ends[n - 1], raw);
    kb((double)gzip_size(&m, 0, n), gz_all);
    kb((double)gz_batches, gz_b);
    kb((double)floor_bytes, floor_b);
    kb((double)floor_changed, floor_c);
    printf(
        "signed bodies of the %zu versions: %s raw, %s gzipped as one stream, "
        "%s gzipped in batches of %d (as pushed);\n"
        "  with their %d-byte signatures, %s: on the wire the push is "
        "%.2fx that, the pull %.2fx\n"
        "the 100 changed versions: %s gzipped with their signatures; "
        "push %.2fx that, pull %.2fx\n",
        n, raw, gz_all, gz_b, PUSH_BATCH, FLD_SIG_LEN, floor_b,
        (double)ph[0].bytes_up / (double)floor_bytes,
        (double)ph[1].bytes_down / (double)floor_bytes, floor_c,
        (double)ph[4].bytes_up / (double)floor_changed,
        (double)ph[5].bytes_down / (double)floor_changed);
    printf("ed25519: %.0f verifications/s (one core, this run); "
           "fld_version_open: %.0f versions/s\n",
           ed, opened);
    printf("ingest: initial push %.0f versions/s by wall time, %.0f by the "
           "server's own time (%.0f%% of the Ed25519 rate, %.0f%% of "
           "fld_version_open's)\n",
           (double)n / ph[0].wall, (double)n / ph[0].server,
           100.0 * (double)n / ph[0].server / ed,
           100.0 * (double)n / ph[0].server / opened);
    printf("%s\n", merge_line);
    printf("server stopped by SIGTERM in %.2f s (exit %d)\n", stop_s, stop_rc);
    figures(ph, server_rss_mb);

    remove_tree(tmpdir);
    fld_buf_free(&m.bodies);
    free(m.ends);
    free(m.sigs);
    free(m.records);
    free(home_a);
    free(home_b);
    return 0;
}
