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
 * The programs run through harness.h, whose janitor cleans up however
 * the benchmark ends. Figures only: nothing here fails on time.
 *
 * Usage: bench_sync [N]   (default 10000 versions)
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_figure.h"
#include "harness.h"
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
/* What the client sends per request (sync/client.h, SYN_BATCH_VERSIONS). */
#define PUSH_BATCH 500
#define MAX_COMMUNES 256

#define SYNC_SECONDS "field_request_duration_seconds_sum{route=\"sync\"}"

/* ---- the checklist ------------------------------------------------------- */

#define NTM_TEMPLATE TEMPLATE
#define ntm_die bench_die
#include "ntm_answers.h"

struct communes {
    struct commune c[MAX_COMMUNES];
    size_t n;
};

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

/* One new version of record (its only head), revised; kept in m. */
static void capture_revision(struct bench_device *d, struct made *m,
                             const char *record, int n)
{
    struct fld_version *head, *v;
    struct fld_json *a;
    struct fld_err err;

    if (fld_capture_head(d->st, record, &head, &err) != FLD_OK)
        bench_die("head of %s: %s", record, err.msg);
    a = fld_json_clone(head->answers);
    revise(d->t, a, n);
    if (fld_capture_save(d->st, d->key, head, a, "draft", &v, &err) != FLD_OK)
        bench_die("save %s: %s", record, err.msg);
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
    struct bench_device d;
    struct fld_err err;

    bench_device_open(home, TEMPLATE, &d);
    while (m->n < n) {
        const struct commune *c = &cs->c[rnd(cs->n)];
        size_t k = (size_t)between(2, 6), j;
        struct fld_json *a = first_answers(d.t, c);
        struct fld_version *v;

        if (fld_capture_new(d.st, d.key, d.t, c->code, a, &v, &err) != FLD_OK)
            bench_die("new record: %s", err.msg);
        fld_json_free(a);
        m->records =
            fld_xreallocarray(m->records, m->n_records + 1, sizeof *m->records);
        memcpy(m->records[m->n_records++], v->record, FLD_RECORD_HEX_LEN + 1);
        keep(m, v);
        fld_version_free(v);
        for (j = 2; j <= k && m->n < n; j++)
            capture_revision(&d, m, m->records[m->n_records - 1], (int)j);
    }
    bench_device_close(&d);
}

/* ---- one sync ------------------------------------------------------------ */

struct phase {
    const char *name;
    int64_t versions; /* moved: pushed or pulled */
    int64_t requests, bytes_up, bytes_down, sync_ms;
    double wall, server;
    double rss_mb;            /* the `field sync` process's peak resident set */
    long long written;        /* bytes it wrote: database, journals, output */
    double server_cpu;        /* the server's processor time in the phase, s */
    long long server_written; /* ... and the bytes it wrote */
};

/* The integer member key of the flat JSON summary in s (-1 if missing). */
static int64_t member(const char *s, const char *key)
{
    char pat[64];
    size_t len;
    int depth = 0;

    /* Only the summary's own members: "attachments" is an object of its
     * own with members of the same names, and sorts first. */
    len = (size_t)snprintf(pat, sizeof pat, "\"%s\":", key);
    for (; *s != '\0'; s++) {
        if (*s == '{' || *s == '[')
            depth++;
        else if (*s == '}' || *s == ']')
            depth--;
        else if (depth == 1 && strncmp(s, pat, len) == 0)
            return strtoll(s + len, NULL, 10);
    }
    return -1;
}

/* `field sync --json` on the device at home; pushing says which way the
 * versions of this phase move. */
static void sync_phase(const char *home, struct phase *ph, const char *name,
                       int pushing)
{
    char *field = bench_program("field");
    const char *argv[] = {field, "sync", "--json", NULL};
    struct fld_buf out = FLD_BUF_INIT;
    double busy = bench_metric(SYNC_SECONDS), cpu = bench_server_cpu_s();
    long long wrote = bench_server_written();
    const char *s;
    int rc;

    rc = bench_run(home, argv, &out, &ph->wall);
    ph->server_cpu = bench_server_cpu_s() - cpu;
    ph->server_written = bench_server_written() - wrote;
    ph->rss_mb = (double)bench_last_maxrss_kb / 1024.0;
    ph->written = bench_last_written;
    s = fld_buf_str(&out);
    if (rc != 0 || member(s, "pending") != 0 || member(s, "refused") != 0)
        bench_die("%s: field sync exited %d: %s", name, rc, s);
    ph->name = name;
    ph->server = bench_metric(SYNC_SECONDS) - busy;
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
                bench_die("a good signature does not verify");
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
            bench_die("version %zu does not open: %s", i, err.msg);
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
    char *bench = bench_program("../bench/bench_merge");
    const char *argv[] = {bench, "500", NULL};
    struct fld_buf out = FLD_BUF_INIT;
    const char *nl;

    snprintf(line, size, "(bench_merge not found at %s)", bench);
    if (access(bench, X_OK) == 0 && bench_run(NULL, argv, &out, NULL) == 0) {
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
    figure("initial_pull_device_written_mb", (double)ph[1].written / 1e6, "MB",
           NULL);
    figure("changed_100_pull_device_written_mb", (double)ph[5].written / 1e6,
           "MB", NULL);
    figure("initial_push_server_cpu_s", ph[0].server_cpu, "s", NULL);
    figure("initial_push_server_written_mb", (double)ph[0].server_written / 1e6,
           "MB", NULL);
    figure("changed_100_push_server_cpu_ms", ph[4].server_cpu * 1e3, "ms",
           NULL);
    figure("changed_100_push_server_written_mb",
           (double)ph[4].server_written / 1e6, "MB", NULL);
    figure("client_peak_rss_push_mb", ph[0].rss_mb, "MB", "<= 32");
    figure("client_peak_rss_pull_mb", ph[1].rss_mb, "MB", "<= 32");
    figure("server_peak_rss_mb", server_rss_mb, "MB", "<= 32");
}

static void print_phase(const struct phase *p)
{
    char up[32], down[32], rate[32], wrote[32], srv_wrote[32];

    kb((double)p->written, wrote);
    kb((double)p->server_written, srv_wrote);
    kb((double)p->bytes_up, up);
    kb((double)p->bytes_down, down);
    if (p->versions > 0)
        snprintf(rate, sizeof rate, "%.0f", (double)p->versions / p->wall);
    else
        snprintf(rate, sizeof rate, "-");
    printf("| %-32s | %8lld | %8lld | %9s | %10s | %6.3f | %6.3f | %8.3f | "
           "%10s | %6.1f | %9s | %7.3f | %9s |\n",
           p->name, (long long)p->versions, (long long)p->requests, up, down,
           p->wall, (double)p->sync_ms / 1e3, p->server, rate, p->rss_mb, wrote,
           p->server_cpu, srv_wrote);
}

int main(int argc, char **argv)
{
    size_t n = DEFAULT_VERSIONS, n_batches, gz_batches = 0, i;
    struct communes cs;
    struct made m;
    struct phase ph[6];
    struct bench_device d;
    char *home_a, *home_b, merge_line[256];
    char raw[32], gz_all[32], gz_b[32], floor_b[32], floor_c[32];
    double t0, fill_s, ed, opened, stop_s, answers, server_rss_mb;
    size_t floor_bytes, floor_changed;
    int stop_rc;

    if ((stop_rc = bench_harness_measure(argc, argv)) >= 0)
        return stop_rc;
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
    bench_harness_start("bench_sync", argv[0]);
    memset(&m, 0, sizeof m);
    memset(&cs, 0, sizeof cs);
    memset(ph, 0, sizeof ph);

    cs.n = bench_communes(cs.c, MAX_COMMUNES);

    bench_start_server(NULL);
    home_a = bench_new_device("a", "Nguyễn Văn An", PROVINCE);
    printf("server on 127.0.0.1:%d; capturing %zu versions of %s on device A "
           "(libfield, one transaction each) ...\n",
           bench_server_port, n, TEMPLATE);
    t0 = now_s();
    fill(home_a, &cs, n, &m);
    fill_s = now_s() - t0;
    answers = (double)m.n_answers / (double)m.n;

    /* 1. A pushes everything; 2. a fresh device B pulls everything. */
    sync_phase(home_a, &ph[0], "1. initial push (device A)", 1);
    if (bench_metric("field_versions_stored") != (double)m.n)
        bench_die("the server holds %.0f versions, not %zu",
                  bench_metric("field_versions_stored"), m.n);
    home_b = bench_new_device("b", "Trần Thị Bình", PROVINCE);
    sync_phase(home_b, &ph[1], "2. initial pull (fresh device B)", 0);
    /* 3. nothing to do. */
    sync_phase(home_a, &ph[2], "3a. no-op sync (device A)", 0);
    sync_phase(home_b, &ph[3], "3b. no-op sync (device B)", 0);
    /* 4. A changes 100 records; A pushes, B pulls. */
    bench_device_open(home_a, TEMPLATE, &d);
    for (i = 0; i < N_CHANGED; i++) {
        /* distinct records: a stride through them, prime to their count */
        size_t r = (i * 7919 + 13) % m.n_records;

        capture_revision(&d, &m, m.records[r], 9);
    }
    bench_device_close(&d);
    sync_phase(home_a, &ph[4], "4a. 100 changed: push (A)", 1);
    sync_phase(home_b, &ph[5], "4b. 100 changed: pull (B)", 0);
    if (ph[0].versions != (int64_t)n || ph[1].versions != (int64_t)n ||
        ph[2].versions != 0 || ph[3].versions != 0 ||
        ph[4].versions != N_CHANGED || ph[5].versions != N_CHANGED)
        bench_die("unexpected counts: pushed %lld, pulled %lld, no-op %lld, "
                  "changed %lld/%lld",
                  (long long)ph[0].versions, (long long)ph[1].versions,
                  (long long)(ph[2].versions + ph[3].versions),
                  (long long)ph[4].versions, (long long)ph[5].versions);
    {
        double flagged = bench_metric("field_versions_flagged");

        if (flagged != 0)
            printf("note: the server flagged %.0f versions as breaking a "
                   "checklist rule\n",
                   flagged);
    }
    stop_rc = bench_stop_server(&stop_s);
    server_rss_mb = (double)bench_last_maxrss_kb / 1024.0;

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
           "| %9s | %7s | %9s |\n",
           "phase (`field sync --json`)", "versions", "requests", "bytes up",
           "bytes down", "wall s", "sync s", "server s", "versions/s", "RSS MB",
           "written", "srv cpu", "srv wrote");
    printf("| %-32s | %8s | %8s | %9s | %10s | %6s | %6s | %8s | %10s | %6s "
           "| %9s | %7s | %9s |\n",
           "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:",
           "---:", "---:", "---:", "---:", "---:");
    for (i = 0; i < 6; i++)
        print_phase(&ph[i]);
    printf("\nwall s: the whole `field sync` process; sync s: its own summary "
           "(milliseconds);\nserver s: the server's time answering /v1/sync "
           "(its /metrics); versions/s: versions / wall s;\nRSS MB: the "
           "`field sync` process's peak resident set; field-server's over the "
           "whole run: %.1f MB;\nwritten: what the `field sync` process "
           "wrote (its database, write-ahead log, journals, output); srv "
           "cpu, srv wrote:\nthe server's processor seconds and bytes "
           "written during the phase.\n\n",
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

    bench_remove_tree(bench_tmpdir);
    fld_buf_free(&m.bodies);
    free(m.ends);
    free(m.sigs);
    free(m.records);
    free(home_a);
    free(home_b);
    return 0;
}
