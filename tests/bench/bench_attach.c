/*
 * bench_attach.c - photos over loopback between the real programs: how
 * fast `field sync` uploads a photo to `field-server`, beside what a
 * plain `curl` upload of the same bytes reaches on this machine in the
 * same run; what resuming after a cut costs; and the peak memory of both
 * programs while 100 MB go up (issue 10's targets: at least 80% of
 * curl's rate, the file never held whole in memory, peak RSS under 32 MB
 * each).
 *
 * The photo is a valid JPEG of the size asked (tests/tools/mkphoto
 * --noise: padded with random bytes, incompressible, as photos are),
 * attached with `field attach --limit`. Phases:
 *   1. curl: `curl -T photo` to a sink on 127.0.0.1 (a thread of this
 *      program) that reads the body and throws it away (the rate of
 *      moving the bytes over loopback, nothing more), then to one that
 *      writes and syncs it, then to one that also hashes it with BLAKE2b
 *      as it comes: the least the server must do, since it keeps a photo
 *      only once its bytes hash to its name.
 *   2. upload: `field sync` of the record with the photo (its version
 *      first, a few kB), timed as a whole; the server writes every chunk
 *      to disk as it arrives, hashing it on the way, and syncs it.
 *   3. resume: the same size again through tests/tools/faultproxy, which
 *      cuts each connection after a third of the photo; `field sync` runs
 *      until done. Overhead: bytes that crossed the link over the photo's
 *      size, and the time over phase 2's.
 * The programs run through harness.h, whose janitor cleans up however
 * the benchmark ends. Figures only: nothing here fails on time.
 *
 * Usage: bench_attach [MB]   (default 100)
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_figure.h"
#include "buf.h"
#include "harness.h"

#define DEFAULT_MB 100
#define COMMUNE                                                                \
    "18133" /* Hương Sơn, a commune of the units the harness imports */

/* ---- the photo ----------------------------------------------------------- */

/* A JPEG of size bytes at path, its padding random (tests/tools/mkphoto). */
static void make_jpeg(const char *path, size_t size)
{
    char *mkphoto = bench_program("../tests/tools/mkphoto");
    char bytes[32];
    const char *argv[] = {mkphoto, "--size", bytes, "--noise", path, NULL};

    snprintf(bytes, sizeof bytes, "%zu", size);
    bench_must(NULL, argv, NULL);
    free(mkphoto);
}

/* ---- phase 1: a plain curl upload to a sink ------------------------------ */

/* A sink on 127.0.0.1: accepts one connection at a time, reads the
 * request's headers, takes Content-Length bytes and answers 200. A
 * plain sink throws them away (the rate of the loopback alone); a
 * durable one writes them to a file and syncs it before answering, as
 * any upload that must survive a power cut does. */
struct sink {
    int fd;
    int port;
    const char *file; /* durable: where the bytes go; NULL: nowhere */
    bool is_hashing;  /* and BLAKE2b the bytes as they come, as the
                         server must to verify a photo against its name */
};

static size_t content_length(const char *headers)
{
    static const char name[] = "\r\ncontent-length:";

    for (const char *p = headers; *p != '\0'; p++)
        if (strncasecmp(p, name, sizeof name - 1) == 0)
            return (size_t)strtoull(p + sizeof name - 1, NULL, 10);
    return 0;
}

/* Keep n bytes at p as the sink k does. */
static void sink_take(const struct sink *k, int out,
                      crypto_generichash_state *h, const char *p, size_t n)
{
    if (out >= 0 && write(out, p, n) != (ssize_t)n)
        bench_die("the sink cannot write %s", k->file);
    if (k->is_hashing)
        crypto_generichash_update(h, (const unsigned char *)p, n);
}

static void serve_one(int c, const struct sink *k)
{
    static char buf[1 << 16];
    static crypto_generichash_state h;
    uint8_t digest[32];
    size_t have = 0, body, got;
    char *end = NULL;
    ssize_t n;
    int out = k->file ? open(k->file, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;

    crypto_generichash_init(&h, NULL, 0, sizeof digest);

    while (have < sizeof buf - 1 && end == NULL) {
        if ((n = read(c, buf + have, sizeof buf - 1 - have)) <= 0)
            return;
        have += (size_t)n;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (end == NULL)
        return;
    body = content_length(buf);
    got = have - (size_t)(end + 4 - buf);
    sink_take(k, out, &h, end + 4, got);
    while (got < body && (n = read(c, buf, sizeof buf)) > 0) {
        sink_take(k, out, &h, buf, (size_t)n);
        got += (size_t)n;
    }
    if (out >= 0 && (fdatasync(out) != 0 || close(out) != 0))
        bench_die("the sink cannot sync %s", k->file);
    crypto_generichash_final(&h, digest, sizeof digest);
    dprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
               "Connection: close\r\n\r\n");
}

static void *sink_loop(void *arg)
{
    struct sink *k = arg;

    for (;;) {
        int c = accept(k->fd, NULL, NULL);

        if (c < 0)
            return NULL;
        serve_one(c, k);
        close(c);
    }
}

static void sink_start(struct sink *k)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    pthread_t t;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((k->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        bind(k->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(k->fd, 4) != 0 ||
        getsockname(k->fd, (struct sockaddr *)&a, &alen) != 0)
        bench_die("cannot start the sink");
    k->port = ntohs(a.sin_port);
    if (pthread_create(&t, NULL, sink_loop, k) != 0)
        bench_die("cannot start the sink's thread");
    pthread_detach(t);
}

/* Seconds curl takes to PUT the file to the sink (best of three). */
static double curl_upload(const char *photo, int port)
{
    char *url = fld_xasprintf("http://127.0.0.1:%d/sink", port);
    const char *argv[] = {"/usr/bin/curl", "-sS", "-f", "-H", "Expect:", "-T",
                          photo,           url,   NULL};
    double best = 0, secs;

    for (int i = 0; i < 3; i++) {
        if (bench_run(NULL, argv, NULL, &secs) != 0)
            bench_die("curl could not upload to the sink");
        if (best == 0 || secs < best)
            best = secs;
    }
    free(url);
    return best;
}

/* ---- phases 2 and 3: field sync --------------------------------------------
 */

/* A record on home's device with a photo of mb megabytes; the photo's
 * path (new). */
static char *record_with_photo(const char *home, const char *name, size_t bytes)
{
    char *photo = bench_tpath(name);
    char *field = bench_program("field");
    char limit[32];
    struct fld_buf rec = FLD_BUF_INIT;
    const char *new_argv[] = {field,       "new",   "ntm-xa-2021",
                              "--subject", COMMUNE, NULL};

    make_jpeg(photo, bytes);
    bench_must(home, new_argv, &rec);
    while (rec.len > 0 && rec.data[rec.len - 1] == '\n')
        rec.data[--rec.len] = '\0';
    snprintf(limit, sizeof limit, "%zu", bytes / 1000000 + 1);
    {
        const char *attach_argv[] = {
            field,        "attach", "--limit", limit, fld_buf_str(&rec),
            "plan_photo", photo,    NULL};

        bench_must(home, attach_argv, NULL);
    }
    fld_buf_free(&rec);
    free(field);
    return photo;
}

/* `field sync`, once; its wall time and peak RSS. */
static int field_sync(const char *home, double *secs, double *rss_mb)
{
    char *field = bench_program("field");
    const char *argv[] = {field, "sync", "--retries", "2", NULL};
    int rc = bench_run(home, argv, NULL, secs);

    *rss_mb = (double)bench_last_maxrss_kb / 1024.0;
    free(field);
    return rc;
}

/* Point home's device at url (a fault proxy, or the server again). */
static void sync_url(const char *home, const char *url)
{
    char *db = fld_xasprintf("%s/field.db", home);
    char *sql = fld_xasprintf(
        "UPDATE meta SET value = '%s' WHERE key = 'sync.url';", url);
    const char *argv[] = {"/usr/bin/sqlite3", db, sql, NULL};

    bench_must(NULL, argv, NULL);
    free(db);
    free(sql);
}

/* A fault proxy in front of the server, cutting every connection after
 * cut bytes from the client, counting into *count (new); its port. */
static int start_cutting_proxy(long long cut, char **count, pid_t *pid)
{
    char cuts[64];
    const char *args[] = {"--cut", cuts, "--count", NULL, NULL};

    *count = bench_tpath("proxy.count");
    args[3] = *count;
    snprintf(cuts, sizeof cuts, "%lld:%lld", cut, cut);
    return bench_start_proxy(args, pid);
}

/* The bytes the proxy carried from the client, all connections. */
static long long proxied_bytes(const char *count)
{
    FILE *f = fopen(count, "r");
    long long n, sum = 0;

    if (f == NULL)
        return 0;
    while (fscanf(f, "%lld", &n) == 1)
        sum += n;
    fclose(f);
    return sum;
}

int main(int argc, char **argv)
{
    int measured = bench_harness_measure(argc, argv);
    size_t mb = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : DEFAULT_MB;
    size_t bytes = mb * 1000 * 1000;
    double curl_s, durable_s, hashed_s, up_s, resume_s = 0, rss_mb;
    double curl_rate, durable_rate, hashed_rate, up_rate, server_rss_mb;
    double resume_rss_mb;
    long long sent;
    char *home, *photo, *photo2, *count, *url;
    struct sink k = {-1, 0, NULL, false}, kd = {-1, 0, NULL, false};
    struct sink kh = {-1, 0, NULL, true};
    int proxy_port, rounds = 0;
    pid_t proxy;

    if (measured >= 0)
        return measured;
    if (mb < 1 || mb > 1000)
        bench_die("usage: bench_attach [MB, 1-1000]");
    bench_harness_start("attach", argv[0]);
    bench_start_server(NULL);
    home = bench_new_device("a", "Nguyễn Văn An", "42");
    photo = record_with_photo(home, "photo.jpg", bytes);

    sink_start(&k);
    curl_s = curl_upload(photo, k.port);
    curl_rate = (double)bytes / curl_s / 1e6;
    printf("curl -T to a sink:     %zu MB in %.3f s, %.0f MB/s\n", mb, curl_s,
           curl_rate);
    kd.file = bench_tpath("sink.bin");
    sink_start(&kd);
    durable_s = curl_upload(photo, kd.port);
    durable_rate = (double)bytes / durable_s / 1e6;
    printf("curl -T, written+synced: %zu MB in %.3f s, %.0f MB/s\n", mb,
           durable_s, durable_rate);
    kh.file = kd.file;
    sink_start(&kh);
    hashed_s = curl_upload(photo, kh.port);
    hashed_rate = (double)bytes / hashed_s / 1e6;
    printf("curl -T, written+synced+hashed: %zu MB in %.3f s, %.0f MB/s\n", mb,
           hashed_s, hashed_rate);

    if (field_sync(home, &up_s, &rss_mb) != 0)
        bench_die("field sync of the photo failed");
    up_rate = (double)bytes / up_s / 1e6;
    printf("field sync (upload):   %zu MB in %.3f s, %.0f MB/s (%.0f%% of "
           "curl, %.0f%% written+synced, %.0f%% written+synced+hashed), "
           "client peak RSS %.1f MB\n",
           mb, up_s, up_rate, 100 * up_rate / curl_rate,
           100 * up_rate / durable_rate, 100 * up_rate / hashed_rate, rss_mb);

    photo2 = record_with_photo(home, "photo2.jpg", bytes);
    proxy_port = start_cutting_proxy((long long)bytes / 3, &count, &proxy);
    url = fld_xasprintf("http://127.0.0.1:%d", proxy_port);
    sync_url(home, url);
    resume_rss_mb = 0;
    for (rounds = 1; rounds <= 10; rounds++) {
        double secs, rss;
        int rc = field_sync(home, &secs, &rss);

        resume_s += secs;
        if (rss > resume_rss_mb)
            resume_rss_mb = rss;
        if (rc == 0)
            break;
    }
    kill(proxy, SIGTERM);
    waitpid(proxy, NULL, 0);
    sent = proxied_bytes(count);
    printf("through cuts every %zu MB: %d sync%s, %.3f s, %lld bytes sent "
           "for %zu (%.1f%% over)\n",
           mb / 3, rounds, rounds == 1 ? "" : "s", resume_s, sent, bytes,
           100.0 * ((double)sent / (double)bytes - 1));
    server_rss_mb = (double)bench_server_hwm_kb() / 1024.0;
    printf("server peak RSS over the run: %.1f MB\n", server_rss_mb);

    bench_figure("attach", "curl_upload_mb_per_s", curl_rate, "MB/s", NULL);
    bench_figure("attach", "curl_durable_mb_per_s", durable_rate, "MB/s", NULL);
    bench_figure("attach", "upload_mb_per_s", up_rate, "MB/s", NULL);
    bench_figure("attach", "upload_share_of_curl", up_rate / curl_rate, "ratio",
                 ">= 0.80");
    bench_figure("attach", "curl_hashed_mb_per_s", hashed_rate, "MB/s", NULL);
    bench_figure("attach", "upload_share_of_curl_durable",
                 up_rate / durable_rate, "ratio", NULL);
    bench_figure("attach", "upload_share_of_curl_hashed", up_rate / hashed_rate,
                 "ratio", NULL);
    bench_figure("attach", "resume_overhead_bytes",
                 (double)sent / (double)bytes - 1, "ratio", NULL);
    bench_figure("attach", "resume_overhead_time", resume_s / up_s - 1, "ratio",
                 NULL);
    bench_figure("attach", "client_peak_rss_mb",
                 rss_mb > resume_rss_mb ? rss_mb : resume_rss_mb, "MB", "< 32");
    bench_figure("attach", "server_peak_rss_mb", server_rss_mb, "MB", "< 32");
    free((char *)kd.file);
    free(url);
    free(count);
    free(photo2);
    free(photo);
    free(home);
    return 0;
}
