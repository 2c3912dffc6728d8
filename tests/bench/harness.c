/*
 * harness.c - running the real programs for the benchmarks that measure
 * them end to end (bench_sync.c, bench_load.c): a temporary directory and
 * a janitor that cleans it up however the benchmark ends, `field` and
 * `field-server` found beside the benchmark, a server on a free loopback
 * port, and devices set up and enrolled through the command line (see
 * harness.h).
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* Proxies started, to give each its own port file. */
static int n_proxies;

#include "bench_clock.h"
#include "embedded.h"
#include "key.h"
#include "store.h"
#include "template.h"
#include "units.h"

char bench_tmpdir[64];
static char who[32] = "bench"; /* the benchmark, for messages */
static char bindir[PATH_MAX + 16];
static int janitor_fd = -1;
static pid_t server_pid = -1;
/* The peak resident set of the last program bench_run() waited for (kB). */
long bench_last_maxrss_kb;
long long bench_last_written;
int bench_server_port;

/* A path under the temporary directory, new (free()). */
char *bench_tpath(const char *name)
{
    return fld_xasprintf("%s/%s", bench_tmpdir, name);
}

/* Report, show the server's log tail, and end: the janitor cleans up. */
void bench_die(const char *fmt, ...)
{
    va_list ap;
    char *log = bench_tpath("server.log"), line[512];
    FILE *f;

    fflush(stdout);
    fprintf(stderr, "%s: ", who);
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
void bench_remove_tree(const char *path)
{
    if (strcmp(path, bench_tmpdir) == 0 && getenv("BENCH_KEEP") != NULL) {
        fprintf(stderr, "%s: kept %s (BENCH_KEEP)\n", who, path);
        return;
    }
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
            bench_remove_tree(child);
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
        bench_die("pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0)
        bench_die("fork: %s", strerror(errno));
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
        if (getenv("BENCH_KEEP") == NULL)
            bench_remove_tree(bench_tmpdir);
        _exit(0);
    }
    close(fds[0]);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    janitor_fd = fds[1];
}

static void tell_janitor(pid_t server)
{
    if (write(janitor_fd, &server, sizeof server) != (ssize_t)sizeof server)
        bench_die("cannot reach the janitor");
}

/* ---- running the programs ------------------------------------------------ */

char *bench_program(const char *name)
{
    return fld_xasprintf("%s/%s", bindir, name);
}

/* What the process pid wrote with write() and pwrite(), from /proc/PID/io
 * while it is a zombie: its files, its database and journals, its pipes;
 * -1 where the kernel does not say. */
static long long written(pid_t pid)
{
    char path[64], line[128];
    long long n = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/io", (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "wchar: %lld", &n) == 1)
            break;
    fclose(f);
    return n;
}

/*
 * `bench_sync --measure FILE PROGRAM ARGS...`: run PROGRAM and write its
 * peak resident set (kB), wall time (s) and bytes written (written()) to
 * FILE; exit as it did.
 * bench_run() goes through this because Linux counts in a program's peak
 * resident set the image of the process it was exec'd from: forked
 * straight from this one (which holds 23 MB of bodies), every `field
 * sync` would weigh at least that much. Here PROGRAM is forked from a
 * freshly exec'd, small process.
 */
static int measure(const char *file, char *const *argv)
{
    struct rusage ru;
    siginfo_t si;
    long long wrote;
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
    /* Ended but not reaped: its /proc/PID/io is still there to read. */
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
        if (errno != EINTR)
            return 127;
    wrote = written(pid);
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            return 127;
    if ((f = fopen(file, "w")) != NULL) {
        fprintf(f, "%ld %.6f %lld\n", ru.ru_maxrss, now_s() - t0, wrote);
        fclose(f);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* $tmpdir/last-PID.what: what the last program this process ran left
 * (its standard error, its peak memory), one per process so that
 * processes setting up devices side by side do not mix them. */
static char *last_file(const char *what)
{
    return fld_xasprintf("%s/last-%ld.%s", bench_tmpdir, (long)getpid(), what);
}

/*
 * Run argv (argv[0] a path) with FIELD_HOME=home when home is not NULL,
 * standard input from /dev/null, standard output into out when not NULL
 * (else discarded), standard error into $tmpdir/last-PID.err, through
 * measure() (bench_last_maxrss_kb: its peak resident set; bench_last_written:
 * the bytes it wrote). Returns the exit
 * status; *secs (when not NULL) is its wall time from fork to exit.
 */
int bench_run(const char *home, const char *const *argv, struct fld_buf *out,
              double *secs)
{
    char *errpath = last_file("err"), *rsspath = last_file("rss");
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
        bench_die("pipe: %s", strerror(errno));
    t0 = now_s();
    pid = fork();
    if (pid < 0)
        bench_die("fork: %s", strerror(errno));
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
            bench_die("waitpid: %s", strerror(errno));
    if (secs != NULL)
        *secs = now_s() - t0;
    bench_last_maxrss_kb = 0;
    bench_last_written = -1;
    if ((f = fopen(rsspath, "r")) != NULL) {
        double wall;

        /* the program's own wall time, without measure()'s start */
        if (fscanf(f, "%ld %lf %lld", &bench_last_maxrss_kb, &wall,
                   &bench_last_written) >= 2 &&
            secs != NULL)
            *secs = wall;
        fclose(f);
    }
    free(rsspath);
    free(errpath);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* bench_run(), and die with the program's stderr when it does not exit 0. */
void bench_must(const char *home, const char *const *argv, struct fld_buf *out)
{
    char *errpath, line[512];
    FILE *f;
    int rc = bench_run(home, argv, out, NULL);

    if (rc == 0)
        return;
    errpath = last_file("err");
    fprintf(stderr, "%s: %s %s exited %d\n", who, argv[0], argv[1], rc);
    f = fopen(errpath, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        fprintf(stderr, "  %s", line);
    if (f != NULL)
        fclose(f);
    free(errpath);
    bench_die("giving up");
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

void bench_write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0)
        bench_die("cannot write %s", path);
}

/* The server's database: a PostgreSQL location, or NULL for the SQLite
 * file $tmpdir/server.db. */
static const char *server_location;
/* A second server on the same database, or -1. */
static pid_t second_pid = -1;

void bench_set_server_db(const char *location)
{
    server_location = location;
}

/* The database location, new (free()). */
static char *server_db(void)
{
    return server_location != NULL ? fld_xasprintf("%s", server_location)
                                   : bench_tpath("server.db");
}

/*
 * `field-server serve` on the database, on a free loopback port written
 * to portfile, from the temporary directory (a PostgreSQL server keeps
 * its photos under its working directory). Our child, told to die with
 * us; its pid, and its port in *port.
 */
static pid_t serve(const char *const *extra, const char *portfile,
                   const char *log, int *port)
{
    char *srv = bench_program("field-server"), *db = server_db();
    pid_t parent = getpid(), pid;
    int i;

    unlink(portfile); /* a server served here before */
    *port = 0;
    pid = fork();
    if (pid < 0)
        bench_die("fork: %s", strerror(errno));
    if (pid == 0) {
        const char *args[32] = {srv,           "serve",     "--db",   db,
                                "--listen",    "127.0.0.1", "--port", "0",
                                "--port-file", portfile,    "--quiet"};
        size_t k = 11;
        int in = open("/dev/null", O_RDONLY);
        int err = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        for (; extra != NULL && *extra != NULL && k + 1 < 32; extra++)
            args[k++] = *extra;
        args[k] = NULL;

#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        if (getppid() != parent || in < 0 || err < 0 ||
            chdir(bench_tmpdir) != 0)
            _exit(127);
        dup2(in, 0);
        dup2(err, 1);
        dup2(err, 2);
        execv(srv, (char *const *)args);
        _exit(127);
    }
    for (i = 0; i < 200 && *port == 0; i++) {
        FILE *f = fopen(portfile, "r");

        if (f != NULL) {
            if (fscanf(f, "%d", port) != 1)
                *port = 0;
            fclose(f);
        }
        if (*port > 0)
            break;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            bench_die("the server did not start");
        usleep(50000);
    }
    if (*port == 0)
        bench_die("the server wrote no port file in 10 s");
    free(srv);
    free(db);
    return pid;
}

/*
 * A fresh server database (the SQLite file, or the empty PostgreSQL
 * database bench_set_server_db() named) with the built-in templates and
 * the units of Hà Tĩnh, then `field-server serve` on a free loopback
 * port. The server is our child; the janitor knows its pid.
 */
void bench_start_server(const char *const *extra)
{
    const struct fld_embedded *csv = fld_embedded_find(BENCH_UNITS_CSV);
    char *srv = bench_program("field-server"), *db = server_db();
    char *units = bench_tpath("units.csv"),
         *portfile = bench_tpath("server.port");
    char *log = bench_tpath("server.log");
    unsigned char *text;

    if (csv == NULL)
        bench_die("no embedded %s", BENCH_UNITS_CSV);
    text = fld_embedded_inflate(csv);
    bench_write_file(units, text, csv->len);
    free(text);
    {
        const char *init[] = {srv, "init", "--db", db, NULL};
        const char *imp[] = {srv, "units", "--db", db, "import", units, NULL};

        bench_must(NULL, init, NULL);
        bench_must(NULL, imp, NULL);
    }
    server_pid = serve(extra, portfile, log, &bench_server_port);
    tell_janitor(server_pid);
    free(srv);
    free(db);
    free(units);
    free(portfile);
    free(log);
}

int bench_start_second_server(const char *const *extra)
{
    char *portfile = bench_tpath("server2.port"),
         *log = bench_tpath("server2.log");
    int port;

    /* PR_SET_PDEATHSIG ends it with us; the janitor knows the first only */
    second_pid = serve(extra, portfile, log, &port);
    free(portfile);
    free(log);
    return port;
}

/* The server's peak resident set (kB) so far: VmHWM counts its own
 * memory since exec, unlike wait4's figure (see measure()). */
long bench_server_hwm_kb(void)
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

long long bench_server_written(void)
{
    long long first = written(server_pid), second;

    if (second_pid <= 0 || first < 0)
        return first;
    second = written(second_pid);
    return second < 0 ? -1 : first + second;
}

/* The processor time of the process pid so far (user + system, s). */
static double cpu_s(pid_t pid)
{
    char path[64], line[1024], *p;
    unsigned long long utime = 0, stime = 0;
    FILE *f;
    int field;

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    p = fgets(line, sizeof line, f);
    fclose(f);
    /* after "pid (comm) ": state is field 3, utime 14, stime 15; comm may
     * hold spaces, so count from its closing parenthesis */
    if (p == NULL || (p = strrchr(line, ')')) == NULL)
        return 0;
    for (field = 2; *p != '\0' && field < 14; p++)
        if (*p == ' ')
            field++;
    if (sscanf(p, "%llu %llu", &utime, &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

double bench_server_cpu_s(void)
{
    return cpu_s(server_pid) + (second_pid > 0 ? cpu_s(second_pid) : 0);
}

int bench_stop_server(double *secs)
{
    int status = 0;
    double t0;

    bench_last_maxrss_kb = bench_server_hwm_kb();
    t0 = now_s();
    kill(server_pid, SIGTERM);
    while (waitpid(server_pid, &status, 0) < 0 && errno == EINTR)
        ;
    *secs = now_s() - t0;
    tell_janitor(0);
    server_pid = -1;
    if (second_pid > 0) {
        kill(second_pid, SIGTERM);
        while (waitpid(second_pid, NULL, 0) < 0 && errno == EINTR)
            ;
        second_pid = -1;
    }
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
    a.sin_port = htons((uint16_t)bench_server_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        send(fd, req, sizeof req - 1, MSG_NOSIGNAL) !=
            (ssize_t)(sizeof req - 1))
        bench_die("GET /metrics: %s", strerror(errno));
    while ((n = recv(fd, chunk, sizeof chunk, 0)) > 0)
        fld_buf_append(out, chunk, (size_t)n);
    close(fd);
}

/* The value of the metric line that starts with name (and a space); 0
 * when there is none (a route's histogram appears with its first request). */
double bench_metric(const char *name)
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

/* ---- devices ------------------------------------------------------------- */

/* A data directory set up with `field init` and enrolled for scope. */
char *bench_new_device(const char *name, const char *inspector,
                       const char *scope)
{
    char *home = bench_tpath(name), *field = bench_program("field"),
         *srv = bench_program("field-server");
    char *db = server_db(), *url;
    struct fld_buf code = FLD_BUF_INIT;
    const char *init[] = {field, "init", "--inspector", inspector, NULL};
    const char *mk[] = {srv,           "enroll-code", "--db",   db,
                        "--inspector", inspector,     "--role", "inspector",
                        "--scope",     scope,         NULL};

    url = fld_xasprintf("http://127.0.0.1:%d", bench_server_port);
    bench_must(home, init, NULL);
    bench_must(NULL, mk, &code);
    while (code.len > 0 &&
           (code.data[code.len - 1] == '\n' || code.data[code.len - 1] == ' '))
        code.data[--code.len] = '\0';
    {
        const char *enroll[] = {field, "enroll", url, fld_buf_str(&code), NULL};

        bench_must(home, enroll, NULL);
    }
    fld_buf_free(&code);
    free(url);
    free(db);
    free(srv);
    free(field);
    return home;
}

void bench_harness_start(const char *name, const char *argv0)
{
    snprintf(who, sizeof who, "%s", name);
    snprintf(bench_tmpdir, sizeof bench_tmpdir, "/tmp/field-%s-XXXXXX", name);
    if (sodium_init() < 0 || mkdtemp(bench_tmpdir) == NULL) {
        fprintf(stderr, "%s: cannot start\n", name);
        exit(1);
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    start_janitor();
    find_programs(argv0);
}

int bench_harness_measure(int argc, char **argv)
{
    if (argc > 3 && strcmp(argv[1], "--measure") == 0)
        return measure(argv[2], argv + 3);
    return -1;
}

/* ---- Hà Tĩnh and its devices --------------------------------------------- */

struct commune_list {
    struct commune *c;
    size_t n, max;
};

static int add_commune(void *ctx, const struct fld_unit *u)
{
    struct commune_list *l = ctx;

    if (strcmp(u->kind, "xa") == 0 && u->valid_to == NULL && l->n < l->max) {
        snprintf(l->c[l->n].code, sizeof l->c[l->n].code, "%s", u->code);
        snprintf(l->c[l->n].name, sizeof l->c[l->n].name, "%s", u->name);
        l->n++;
    }
    return FLD_OK;
}

size_t bench_communes(struct commune *out, size_t max)
{
    const struct fld_embedded *csv = fld_embedded_find(BENCH_UNITS_CSV);
    struct commune_list l = {out, 0, max};
    struct fld_units_dest dest = {NULL, NULL, NULL, NULL};
    unsigned char *text;
    size_t lines;

    dest.put = add_commune;
    dest.ctx = &l;
    if (csv == NULL)
        bench_die("no communes in %s", BENCH_UNITS_CSV);
    text = fld_embedded_inflate(csv);
    if (fld_units_read(text, csv->len, &dest, &lines, NULL) != FLD_OK ||
        l.n == 0)
        bench_die("no communes in %s", BENCH_UNITS_CSV);
    free(text);
    return l.n;
}

void bench_device_open(const char *home, const char *template_id,
                       struct bench_device *d)
{
    char *db = fld_xasprintf("%s/field.db", home);
    char *key = fld_xasprintf("%s/device.key", home);
    uint8_t *body;
    size_t len;
    struct fld_err err;

    d->t = NULL;
    if (fld_store_open(db, FLD_STORE_OPEN, &d->st, &err) != FLD_OK ||
        fld_key_load(key, NULL, &d->key, &err) != FLD_OK)
        bench_die("device %s: %s", home, err.msg);
    free(db);
    free(key);
    if (template_id == NULL)
        return;
    if (fld_store_template_get(d->st, template_id, &body, &len, NULL, &err) !=
        FLD_OK)
        bench_die("device %s: %s", home, err.msg);
    if (fld_template_parse(body, len, &d->t, &err) != FLD_OK)
        bench_die("template %s: %s", template_id, err.msg);
    free(body);
}

void bench_device_close(struct bench_device *d)
{
    fld_template_free(d->t);
    fld_key_free(d->key);
    fld_store_close(d->st);
}

int bench_start_proxy(const char *const *args, pid_t *pid)
{
    char *proxy = bench_program("../tests/tools/faultproxy");
    char *portfile, to[16], name[32];
    const char *argv[32];
    pid_t parent = getpid();
    size_t n = 0;
    int port = 0;

    snprintf(name, sizeof name, "proxy-%d.port", ++n_proxies);
    portfile = bench_tpath(name);
    snprintf(to, sizeof to, "%d", bench_server_port);
    argv[n++] = proxy;
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--to";
    argv[n++] = to;
    argv[n++] = "--plan";
    argv[n++] = "";
    for (; args != NULL && *args != NULL && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    *pid = fork();
    if (*pid < 0)
        bench_die("fork failed");
    if (*pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        execv(proxy, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 200 && port == 0; i++) {
        FILE *f = fopen(portfile, "r");

        if (f != NULL) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port == 0)
            usleep(50000);
    }
    if (port == 0)
        bench_die("faultproxy (%s) wrote no port file", proxy);
    free(proxy);
    free(portfile);
    return port;
}
