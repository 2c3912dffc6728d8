/*
 * bench_load.c - many devices syncing with one field-server at the same
 * time (issue 11, item 6): throughput, the latency of each sync (median
 * and 99th percentile), failed syncs and the server's peak memory; then
 * the same with a share of the devices on a slow link, to see that the
 * fast ones keep their latency while the slow ones trickle.
 *
 * What runs is what a province runs: the real `field-server serve` on
 * 127.0.0.1 (harness.h), DEVICES devices set up with `field init` and
 * enrolled with `field enroll`, ten to a commune of Hà Tĩnh (an
 * inspection team), each capturing PER_DEVICE versions of the ntm-xa-2021
 * checklist through libfield. Each sync is the device's own client
 * library, syn_sync() over libcurl, exactly what `field sync` calls, each
 * device on a thread of its own, all started together:
 *
 *   round 1  every device pushes its versions and pulls its commune's;
 *   round 2  every device again, pulling what its team pushed after it
 *            had pulled (after it, each device holds its whole commune);
 *   round 3  every device has captured PER_DEVICE more; one in SLOW_EVERY
 *            now reaches the server through tests/tools/faultproxy at
 *            SLOW_RATE bytes per second each way;
 *   round 4  every device again.
 *
 * A round's figures: wall time, versions moved (pushed + pulled) per
 * second, each sync's latency (p50/p99, fast and slow devices apart) and
 * the syncs that failed. Every figure also goes out as a JSON line.
 * Figures only: nothing here fails on time; it fails when a sync fails or
 * a device ends without its commune's versions.
 *
 * All of it runs on SQLite, then again on PostgreSQL when
 * scripts/run-bench.sh hands over empty databases: FIELD_BENCH_PG_4 for
 * one server, FIELD_BENCH_PG_5 for two servers sharing it (every other
 * device syncs with the second; the slow link is in front of the first).
 * The figures of PostgreSQL are those of SQLite with the suffix _pg or
 * _pg_two_servers.
 *
 * Usage: bench_load [DEVICES]   (default 200, a multiple of 10)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_figure.h"
#include "capture.h"
#include "client.h"
#include "harness.h"
#include "store.h"
#include "transport.h"
#include "version.h"

#define TEMPLATE "ntm-xa-2021"
#define DEFAULT_DEVICES 200
#define PER_COMMUNE 10 /* devices sharing a commune */
#define PER_DEVICE 50  /* versions each captures per round of capture */
#define PER_RECORD 5   /* versions per record: the first and 4 revisions */
#define SLOW_EVERY 5   /* one device in five on the slow link in round 3 */
#define SLOW_RATE 32768
#define MAX_COMMUNES 256

#define NTM_TEMPLATE TEMPLATE
#define ntm_die bench_die
#include "ntm_answers.h"

struct dev {
    char *home;
    const struct commune *c;
    bool slow;
    /* the last sync */
    double secs;
    int rc;
    char err[FLD_ERR_MSG_MAX];
    int64_t pushed, pulled;
    int64_t got; /* pulled new, over every round */
};

/* What one round measured. */
struct round {
    double wall;
    int64_t moved;
    int failed;
    double server_cpu;         /* the server's processor seconds */
    double p50, p99;           /* fast devices, seconds */
    double slow_p50, slow_p99; /* slow devices (0 when none) */
};

/* ---- capturing ----------------------------------------------------------- */

/* n versions on d: records of PER_RECORD, one transaction each. */
static void capture(struct dev *d, size_t n)
{
    struct bench_device bd;
    struct fld_version *v = NULL, *next;
    struct fld_json *a = NULL;
    struct fld_err err;
    size_t i;

    bench_device_open(d->home, TEMPLATE, &bd);
    for (i = 0; i < n; i++) {
        int rc;

        if (i % PER_RECORD == 0) {
            fld_json_free(a);
            a = first_answers(bd.t, d->c);
            fld_version_free(v);
            rc = fld_capture_new(bd.st, bd.key, bd.t, d->c->code, a, &next,
                                 &err);
        } else {
            revise(bd.t, a, (int)(i % PER_RECORD) + 1);
            rc = fld_capture_save(bd.st, bd.key, v, a, "draft", &next, &err);
            fld_version_free(v);
        }
        if (rc != FLD_OK)
            bench_die("capture on %s: %s", d->home, err.msg);
        v = next;
    }
    fld_version_free(v);
    fld_json_free(a);
    bench_device_close(&bd);
}

#define SETUP_WORKERS 4

/*
 * Set up devs[k], devs[k + SETUP_WORKERS], ... and capture on each: the
 * work of one setup process. Most of a device's set-up is waiting for
 * the disk (every step is a synced transaction), so four at a time.
 */
static void set_up_share(struct dev *devs, size_t n, size_t k, const char *run)
{
    for (size_t i = k; i < n; i += SETUP_WORKERS) {
        char name[64], inspector[64];

        snprintf(name, sizeof name, "%s-d%04zu", run, i);
        snprintf(inspector, sizeof inspector, "Cán bộ %zu", i + 1);
        free(bench_new_device(name, inspector, devs[i].c->code));
        capture(&devs[i], PER_DEVICE);
    }
}

static void set_up(struct dev *devs, size_t n, const struct commune *communes,
                   const char *run)
{
    pid_t pid[SETUP_WORKERS];
    int status, failed = 0;
    size_t i, k;

    for (i = 0; i < n; i++) {
        char name[64];

        snprintf(name, sizeof name, "%s-d%04zu", run, i);
        devs[i].home = bench_tpath(name);
        devs[i].c = &communes[i / PER_COMMUNE];
    }
    fflush(stdout);
    for (k = 0; k < SETUP_WORKERS; k++) {
        if ((pid[k] = fork()) < 0)
            bench_die("fork failed");
        if (pid[k] == 0) {
            set_up_share(devs, n, k, run);
            _exit(0);
        }
    }
    for (k = 0; k < SETUP_WORKERS; k++)
        if (waitpid(pid[k], &status, 0) != pid[k] || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            failed++;
    if (failed)
        bench_die("%d set-up process%s failed (above)", failed,
                  failed > 1 ? "es" : "");
}

/* ---- syncing ------------------------------------------------------------- */

/* One `field sync`, through the client library, timed. */
static void *sync_device(void *arg)
{
    struct dev *d = arg;
    struct bench_device bd;
    struct syn_curl_options co;
    struct syn_transport *t = NULL;
    struct syn_client c;
    struct syn_stats stats;
    struct fld_err err;
    double t0;

    bench_device_open(d->home, NULL, &bd);
    memset(&co, 0, sizeof co);
    memset(&c, 0, sizeof c);
    memset(&stats, 0, sizeof stats);
    fld_err_clear(&err);
    t0 = now_s();
    d->rc = syn_transport_curl_new(&co, &t, &err);
    if (d->rc == FLD_OK) {
        c.st = bd.st;
        c.key = bd.key;
        c.transport = t;
        c.verify_threads = 1; /* two hundred of them share two cores */
        d->rc = syn_sync(&c, false, &stats, &err);
    }
    d->secs = now_s() - t0;
    snprintf(d->err, sizeof d->err, "%s", d->rc == FLD_OK ? "" : err.msg);
    d->pushed = stats.pushed;
    d->pulled = stats.pulled_new;
    syn_transport_free(t);
    bench_device_close(&bd);
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The q-quantile of n sorted values (the nearest rank). */
static double quantile(const double *v, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n + 0.999999);

    if (n == 0)
        return 0;
    return v[k == 0 ? 0 : (k > n ? n : k) - 1];
}

/* Every device syncs at once; the round's figures. */
static struct round run_round(struct dev *devs, size_t n, const char *what)
{
    pthread_t *th = fld_xcalloc(n, sizeof *th);
    double *fast = fld_xcalloc(n, sizeof *fast);
    double *slow = fld_xcalloc(n, sizeof *slow);
    size_t n_fast = 0, n_slow = 0, i;
    struct round r;
    double t0 = now_s(), cpu0 = bench_server_cpu_s();

    memset(&r, 0, sizeof r);
    for (i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, sync_device, &devs[i]) != 0)
            bench_die("cannot start thread %zu", i);
    for (i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    r.wall = now_s() - t0;
    r.server_cpu = bench_server_cpu_s() - cpu0;
    for (i = 0; i < n; i++) {
        if (devs[i].rc != FLD_OK) {
            r.failed++;
            fprintf(stderr, "bench_load: %s: sync failed: %s\n", devs[i].home,
                    devs[i].err);
        }
        r.moved += devs[i].pushed + devs[i].pulled;
        devs[i].got += devs[i].pulled;
        if (devs[i].slow)
            slow[n_slow++] = devs[i].secs;
        else
            fast[n_fast++] = devs[i].secs;
    }
    qsort(fast, n_fast, sizeof *fast, by_value);
    qsort(slow, n_slow, sizeof *slow, by_value);
    r.p50 = quantile(fast, n_fast, 0.50);
    r.p99 = quantile(fast, n_fast, 0.99);
    r.slow_p50 = quantile(slow, n_slow, 0.50);
    r.slow_p99 = quantile(slow, n_slow, 0.99);
    printf("| %-34s | %5.2f | %5.2f | %7lld | %8.0f | %6.0f | %6.0f | %6.0f | "
           "%6.0f | %6d |\n",
           what, r.wall, r.server_cpu, (long long)r.moved,
           (double)r.moved / r.wall, 1e3 * r.p50, 1e3 * r.p99, 1e3 * r.slow_p50,
           1e3 * r.slow_p99, r.failed);
    free(th);
    free(fast);
    free(slow);
    if (r.failed > 0)
        bench_die("%d of %zu syncs failed (above)", r.failed, n);
    return r;
}

/* After `captures` rounds of capture and the syncs that followed, each
 * device holds what the rest of its team captured: fail otherwise. */
static void check_teams(const struct dev *devs, size_t n, int captures)
{
    int64_t want = (int64_t)captures * (PER_COMMUNE - 1) * PER_DEVICE;

    for (size_t i = 0; i < n; i++)
        if (devs[i].got != want)
            bench_die("%s pulled %lld versions of its team's, not %lld",
                      devs[i].home, (long long)devs[i].got, (long long)want);
}

/* ---- the slow link ------------------------------------------------------- */

/* faultproxy in front of the server at SLOW_RATE; its port. */
static int start_slow_link(pid_t *pid)
{
    char rate[16];
    const char *args[] = {"--rate", rate, NULL};

    snprintf(rate, sizeof rate, "%d", SLOW_RATE);
    return bench_start_proxy(args, pid);
}

/* Point device d at url (what `field enroll` would have recorded). */
static void set_url(struct dev *d, const char *url)
{
    struct bench_device bd;
    struct fld_err err;

    bench_device_open(d->home, NULL, &bd);
    if (fld_store_meta_set(bd.st, SYN_META_URL, url, &err) != FLD_OK)
        bench_die("%s: %s", d->home, err.msg);
    bench_device_close(&bd);
}

/* ---- main ---------------------------------------------------------------- */

static size_t parse_devices(int argc, char **argv)
{
    char *end;
    unsigned long v;

    if (argc < 2)
        return DEFAULT_DEVICES;
    v = strtoul(argv[1], &end, 10);
    if (*end != '\0' || v < PER_COMMUNE || v > 2000 || v % PER_COMMUNE) {
        fprintf(stderr,
                "usage: bench_load [DEVICES]   (a multiple of %d, up to "
                "2000)\n",
                PER_COMMUNE);
        exit(2);
    }
    return (size_t)v;
}

/* One figure, its name followed by the run's suffix ("" for SQLite). */
static void figure(const char *name, const char *suffix, double value,
                   const char *unit, const char *target)
{
    char full[96];

    snprintf(full, sizeof full, "%s%s", name, suffix);
    bench_figure("load", full, value, unit, target);
}

static void figures(const char *sfx, size_t n, const struct round *r,
                    const struct round *s, double server_mb)
{
    figure("devices", sfx, (double)n, "devices", NULL);
    figure("versions_moved_per_s", sfx, (double)r->moved / r->wall,
           "versions/s", NULL);
    figure("server_cpu_ms_per_version_moved", sfx,
           1e3 * r->server_cpu / (double)r->moved, "ms", NULL);
    figure("sync_p50_ms", sfx, 1e3 * r->p50, "ms", NULL);
    figure("sync_p99_ms", sfx, 1e3 * r->p99, "ms", NULL);
    figure("failed_syncs", sfx,
           r[0].failed + r[1].failed + s[0].failed + s[1].failed, "syncs",
           "= 0");
    figure("with_slow_fast_p50_ms", sfx, 1e3 * s->p50, "ms", NULL);
    figure("with_slow_fast_p99_ms", sfx, 1e3 * s->p99, "ms", NULL);
    figure("with_slow_slow_p50_ms", sfx, 1e3 * s->slow_p50, "ms", NULL);
    figure("server_peak_rss_mb", sfx, server_mb, "MB", NULL);
}

/*
 * Every device here comes from 127.0.0.1, where a province's come from
 * many addresses: the limits a server puts on one address (connections
 * at once, enrollments) are raised to what two hundred devices need.
 */
static const char *const serve_settings[] = {"--per-ip-connections", "1000",
                                             "--enroll-per-ip", "100000", NULL};

/* What one run is: its name (device directories), the suffix of its
 * figures, its database (NULL: SQLite) and how many servers share it. */
struct run {
    const char *name, *suffix, *db;
    int servers;
};

/* The four rounds on one back end, with fresh devices; its figures. */
static void load_run(const struct run *run, size_t n,
                     const struct commune *communes)
{
    struct round r[2], s[2];
    struct dev *devs;
    size_t i;
    pid_t proxy;
    char *url, *url2 = NULL;
    double stop_s, t0;

    printf("\n== %s, %d server%s\n", run->db == NULL ? "SQLite" : "PostgreSQL",
           run->servers, run->servers > 1 ? "s sharing the database" : "");
    bench_set_server_db(run->db);
    bench_start_server(serve_settings);
    if (run->servers > 1)
        url2 = fld_xasprintf("http://127.0.0.1:%d",
                             bench_start_second_server(serve_settings));
    devs = fld_xcalloc(n, sizeof *devs);
    printf("setting up %zu devices (field init, enroll-code, field enroll), "
           "%d to a commune, and capturing %d versions on each ...\n",
           n, PER_COMMUNE, PER_DEVICE);
    t0 = now_s();
    set_up(devs, n, communes, run->name);
    printf("set up in %.1f s\n\n", now_s() - t0);
    /* with two servers, every other device syncs with the second */
    for (i = 1; url2 != NULL && i < n; i += 2)
        set_url(&devs[i], url2);
    printf("| %-34s | %5s | %5s | %7s | %8s | %6s | %6s | %6s | %6s | %6s "
           "|\n",
           "round (all devices at once)", "wall s", "srv s", "moved", "moved/s",
           "p50 ms", "p99 ms", "slow50", "slow99", "failed");
    printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
           "---: |\n");
    r[0] = run_round(devs, n, "1. push and pull");
    r[1] = run_round(devs, n, "2. pull what the team pushed after");
    check_teams(devs, n, 1);

    url = fld_xasprintf("http://127.0.0.1:%d", start_slow_link(&proxy));
    for (i = 0; i < n; i++) {
        capture(&devs[i], PER_DEVICE);
        devs[i].slow = i % SLOW_EVERY == 0;
        if (devs[i].slow)
            set_url(&devs[i], url);
    }
    s[0] = run_round(devs, n, "3. again, 1 in 5 on a 32 kB/s link");
    s[1] = run_round(devs, n, "4. again, all caught up");
    kill(proxy, SIGKILL);
    waitpid(proxy, NULL, 0);

    check_teams(devs, n, 2);
    {
        double stored = bench_metric("field_versions_stored");

        if (stored != (double)(2 * n * PER_DEVICE))
            bench_die("the server holds %.0f versions, not %zu", stored,
                      2 * n * PER_DEVICE);
    }
    bench_stop_server(&stop_s);
    printf("\nsrv s: the server's processor time in the round%s; moved: "
           "versions pushed plus versions\npulled that were new to the "
           "device; p50/p99: each device's whole sync, fast devices;\n"
           "slow50/slow99: those on the slow link.\n"
           "field-server's peak resident set: %.1f MB\n",
           run->servers > 1 ? " (both servers)" : "",
           (double)bench_last_maxrss_kb / 1024.0);
    figures(run->suffix, n, r, s, (double)bench_last_maxrss_kb / 1024.0);
    for (i = 0; i < n; i++) {
        bench_remove_tree(devs[i].home);
        free(devs[i].home);
    }
    free(devs);
    free(url);
    free(url2);
}

int main(int argc, char **argv)
{
    static struct commune communes[MAX_COMMUNES];
    const char *pg1 = getenv("FIELD_BENCH_PG_4");
    const char *pg2 = getenv("FIELD_BENCH_PG_5");
    const struct run sqlite = {"sqlite", "", NULL, 1};
    const struct run pg = {"pg", "_pg", pg1, 1};
    const struct run pg_two = {"pg2", "_pg_two_servers", pg2, 2};
    struct syn_transport *t;
    size_t n, n_communes;
    int rc;

    if ((rc = bench_harness_measure(argc, argv)) >= 0)
        return rc;
    n = parse_devices(argc, argv);
    bench_harness_start("bench_load", argv[0]);
    n_communes = bench_communes(communes, MAX_COMMUNES);
    if (n / PER_COMMUNE > n_communes)
        bench_die("%zu devices need %zu communes; Hà Tĩnh has %zu", n,
                  n / PER_COMMUNE, n_communes);
    /* libcurl's global set-up, once, before any thread */
    if (syn_transport_curl_new(NULL, &t, NULL) != FLD_OK)
        bench_die("cannot set up libcurl");
    syn_transport_free(t);
    load_run(&sqlite, n, communes);
    if (pg1 == NULL || !*pg1) {
        printf("\nbench_load: PostgreSQL skipped: FIELD_BENCH_PG_4 is not "
               "set (scripts/run-bench.sh sets it where PostgreSQL 15 is "
               "installed)\n");
    } else {
        load_run(&pg, n, communes);
        if (pg2 != NULL && *pg2)
            load_run(&pg_two, n, communes);
    }
    bench_remove_tree(bench_tmpdir);
    return 0;
}
