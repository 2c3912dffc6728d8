/*
 * faultproxy.c - a small TCP proxy on 127.0.0.1 that misbehaves on
 * purpose, for the sync tests (tests/integration/test_sync_faults.sh).
 * Not installed.
 *
 *   faultproxy --port-file FILE --to PORT --plan ACTION[,ACTION...]
 *              [--mark FILE] [--rate BYTES_PER_SECOND]
 *
 * It listens on a free loopback port (written to FILE once listening) and
 * forwards each connection to 127.0.0.1:PORT. The n-th connection gets the
 * n-th ACTION of the plan; connections after the plan's end pass through.
 *
 *   pass         forward both ways
 *   drop         close the connection at once: the request never arrives
 *   drop-answer  forward the request; the moment the server starts to
 *                answer (so it has acted on it), close the client's side:
 *                the answer is lost
 *   truncate     forward the first few bytes of the answer (not all of
 *                its headers), then close
 *   truncate-body  forward the answer's headers and a few bytes of its
 *                body, then close
 *   stall        forward the request; hold the answer forever (until the
 *                client gives up or is killed)
 *   delay        hold the answer for two seconds, then forward it
 *   dup          deliver the request twice: a second connection to the
 *                server carries a copy once the first answer begins (a
 *                replay; were both sent at once, which the server sees
 *                first would be a race); its answer is thrown away
 *
 * With --mark, each time a fault is applied its name is appended to FILE
 * as a line ("drop-answer"), so a test knows that the server has acted.
 * With --rate, every connection carries at most that many bytes per
 * second each way: a slow link (tests/bench/bench_load.c).
 *
 * With --cut MIN:MAX, every connection is cut after a random number of
 * bytes from the client, between MIN and MAX (a mobile link that drops
 * every few megabytes: tests/integration/test_attach_faults.sh); with
 * --stall-percent P as well, P in a hundred of those cuts first hold the
 * connection silent for STALL_MS. With --count FILE, each connection
 * appends to FILE, when it ends, the number of bytes it carried from the
 * client to the server, one line each: what crossed the link.
 *
 * Each connection is served by its own child process (fork), which ends
 * when either side closes, or after 60 seconds whatever happens, so a
 * stalled connection cannot outlive a test run. The parent runs until it
 * is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define CHILD_LIFE_S 60
#define TRUNCATE_BYTES 20
#define STALL_MS 3000

/* --rate: bytes per second each way, 0 for as fast as it goes. */
static long rate;
/* --cut, --stall-percent, --count */
static long long cut_min, cut_max;
static long stall_percent;
static const char *count_path;

static void die(const char *what)
{
    fprintf(stderr, "faultproxy: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int connect_to(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void mark(const char *path, const char *action)
{
    FILE *f;

    if (path == NULL)
        return;
    if ((f = fopen(path, "a")) != NULL) {
        fprintf(f, "%s\n", action);
        fclose(f);
    }
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* How much to read at a time: a tenth of a second's worth under --rate. */
static size_t chunk_size(size_t max)
{
    if (rate <= 0 || (size_t)rate / 10 >= max)
        return max;
    return rate >= 10 ? (size_t)rate / 10 : 1;
}

/* Under --rate, the time n bytes take on the slow link. */
static void throttle(ssize_t n)
{
    if (rate > 0 && n > 0)
        nap_ms((long)(n * 1000 / rate));
}

/* --count: what this connection carried upstream, as one line. */
static void count(long long up)
{
    char line[32];
    int fd, len;

    if (count_path == NULL)
        return;
    len = snprintf(line, sizeof line, "%lld\n", up);
    if ((fd = open(count_path, O_WRONLY | O_APPEND | O_CREAT, 0600)) >= 0) {
        if (write(fd, line, (size_t)len) != len)
            fputs("faultproxy: --count: short write\n", stderr);
        close(fd);
    }
}

/* --cut: where this connection is cut, in bytes from the client; -1 for
 * never. */
static long long cut_point(void)
{
    if (cut_max <= 0)
        return -1;
    srandom((unsigned)getpid() ^ (unsigned)time(NULL));
    return cut_min + (long long)(random() % (cut_max - cut_min + 1));
}

/* Serve one client connection c according to action; never returns. */
static void serve(int c, int port, const char *action, const char *mark_path)
{
    struct pollfd p[3];
    char buf[65536];
    int u, dup_fd = -1, answered = 0;
    long long up = 0, cut_at = cut_point();
    struct {
        char *p;
        size_t len, cap;
    } copy = {NULL, 0, 0}; /* dup: the request, until the answer begins */

    alarm(CHILD_LIFE_S);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* the test killed the proxy: go too */
    if (strcmp(action, "drop") == 0) {
        mark(mark_path, action);
        close(c);
        _exit(0);
    }
    if ((u = connect_to(port)) < 0)
        _exit(1);
    if (strcmp(action, "dup") == 0 && (dup_fd = connect_to(port)) < 0)
        _exit(1);
    for (;;) {
        int n_fds = 2;
        ssize_t n;

        p[0] = (struct pollfd){c, POLLIN, 0};
        p[1] = (struct pollfd){u, POLLIN, 0};
        if (dup_fd >= 0)
            p[n_fds++] = (struct pollfd){dup_fd, POLLIN, 0};
        if (poll(p, (nfds_t)n_fds, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            n = read(c, buf, chunk_size(sizeof buf));
            if (n <= 0)
                break;
            throttle(n);
            if (cut_at >= 0 && up + n > cut_at) {
                write_all(u, buf, (size_t)(cut_at - up));
                up = cut_at;
                mark(mark_path, "cut");
                if ((long)(random() % 100) < stall_percent)
                    nap_ms(STALL_MS);
                break;
            }
            up += n;
            if (write_all(u, buf, (size_t)n) != 0)
                break;
            if (dup_fd >= 0 && !answered) {
                if (copy.len + (size_t)n > copy.cap) {
                    copy.cap = 2 * (copy.len + (size_t)n);
                    if ((copy.p = realloc(copy.p, copy.cap)) == NULL)
                        _exit(1);
                }
                memcpy(copy.p + copy.len, buf, (size_t)n);
                copy.len += (size_t)n;
            }
        }
        if (n_fds == 3 && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
            n = read(dup_fd, buf, sizeof buf); /* the copy's answer: dropped */
            if (n <= 0) {
                close(dup_fd);
                dup_fd = -1;
            }
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            n = read(u, buf, chunk_size(sizeof buf));
            if (n <= 0)
                break;
            throttle(n);
            if (!answered && strcmp(action, "drop-answer") == 0) {
                mark(mark_path, action);
                break;
            }
            if (!answered && strcmp(action, "truncate") == 0) {
                write_all(c, buf,
                          (size_t)n < TRUNCATE_BYTES ? (size_t)n
                                                     : TRUNCATE_BYTES);
                mark(mark_path, action);
                break;
            }
            if (!answered && strcmp(action, "truncate-body") == 0) {
                size_t end = 0, keep;

                while (end + 4 <= (size_t)n &&
                       memcmp(buf + end, "\r\n\r\n", 4) != 0)
                    end++;
                keep = end + 4 <= (size_t)n ? end + 4 + 5 : (size_t)n / 2;
                write_all(c, buf, keep < (size_t)n ? keep : (size_t)n / 2);
                mark(mark_path, action);
                break;
            }
            if (!answered && strcmp(action, "stall") == 0) {
                mark(mark_path, action);
                for (;;)
                    pause(); /* until the alarm */
            }
            if (!answered && strcmp(action, "delay") == 0) {
                mark(mark_path, action);
                nap_ms(2000);
            }
            if (!answered && dup_fd >= 0 && copy.len > 0 &&
                write_all(dup_fd, copy.p, copy.len) == 0)
                mark(mark_path, action);
            answered = 1;
            if (write_all(c, buf, (size_t)n) != 0)
                break;
        }
    }
    count(up);
    close(c);
    close(u);
    free(copy.p);
    _exit(0);
}

static void usage(void)
{
    fputs(
        "usage: faultproxy --port-file FILE --to PORT --plan ACTION[,ACTION...] "
        "[--mark FILE] [--rate BYTES_PER_SECOND] [--cut MIN:MAX] "
        "[--stall-percent P] [--count FILE]\n",
        stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *port_file = NULL, *plan = "", *mark_path = NULL;
    char *plan_copy, *actions[256];
    size_t n_actions = 0, next = 0;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int port = 0, lfd, i, one = 1;
    FILE *f;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port-file") == 0)
            port_file = argv[i + 1];
        else if (strcmp(argv[i], "--to") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--plan") == 0)
            plan = argv[i + 1];
        else if (strcmp(argv[i], "--mark") == 0)
            mark_path = argv[i + 1];
        else if (strcmp(argv[i], "--rate") == 0)
            rate = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--cut") == 0) {
            if (sscanf(argv[i + 1], "%lld:%lld", &cut_min, &cut_max) != 2 ||
                cut_min < 1 || cut_max < cut_min)
                usage();
        } else if (strcmp(argv[i], "--stall-percent") == 0)
            stall_percent = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--count") == 0)
            count_path = argv[i + 1];
        else
            usage();
    }
    if (i != argc || port_file == NULL || port <= 0 || port > 65535)
        usage();
    plan_copy = strdup(plan);
    for (char *s = plan_copy, *tok;
         n_actions < 256 && (tok = strsep(&s, ",")) != NULL;)
        if (*tok)
            actions[n_actions++] = tok;

    signal(SIGCHLD, SIG_IGN); /* children are reaped by the system */
    signal(SIGPIPE, SIG_IGN);
    if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        die("socket");
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0)
        die("listen");
    if (getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
        die("getsockname");
    {
        char tmp[4096];

        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        if ((f = fopen(tmp, "w")) == NULL)
            die(tmp);
        fprintf(f, "%d\n", ntohs(a.sin_port));
        if (fclose(f) != 0 || rename(tmp, port_file) != 0)
            die(port_file);
    }
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        const char *action;
        pid_t pid;

        if (c < 0) {
            if (errno == EINTR)
                continue;
            die("accept");
        }
        action = next < n_actions ? actions[next] : "pass";
        next++;
        pid = fork();
        if (pid == 0) {
            close(lfd);
            serve(c, port, action, mark_path);
        }
        close(c);
    }
}
