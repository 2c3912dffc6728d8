/*
 * bench_ui.c - the two speed figures of the web UI (issue 15): loading
 * the page of the 92-question ntm-xa-2021 form from the real `field ui`
 * on loopback, and evaluating the form again after one answer.
 *
 * A device is set up with `field init`, and one inspection of a commune
 * with about 56 answers is captured through libfield, as `field new`
 * would (tests/bench/ntm_answers.h). Then `field ui --json --port 0`
 * serves it, and this program is the browser, over plain sockets, one
 * new connection per request as the slowest browser would:
 *
 *   page load   everything the browser fetches to show the form: the
 *               page, its script and style sheet, GET /api/session and
 *               GET /api/records/ID (the whole form state from the C
 *               engine); target < 200 ms
 *   evaluate    POST /api/records/ID/evaluate with one answer changed,
 *               the round trip the page makes after each answer: the
 *               engine evaluates the form and the state comes back
 *   engine      fld_form_eval() of the same template and answers, in this
 *               process: the engine's own share; target < 5 ms
 *
 * Each is timed many times and printed as median and maximum; the
 * medians go out as JSON lines with their targets (bench_figure.h). The
 * browser's own drawing is not here: test_ui_browser.sh runs the page in
 * chromium, and tests never fail on time.
 *
 * Usage: bench_ui [ROUNDS]   (default 50)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_figure.h"
#include "buf.h"
#include "capture.h"
#include "form.h"
#include "harness.h"
#include "json.h"
#include "store.h"
#include "template.h"
#include "version.h"

#define TEMPLATE "ntm-xa-2021"
#define DEFAULT_ROUNDS 50

#define NTM_TEMPLATE TEMPLATE
#define ntm_die bench_die
#include "ntm_answers.h"

/* ---- `field ui` ------------------------------------------------------------
 */

static pid_t ui_pid = -1;
static int ui_port;

/* field ui --json --port 0 for the device at home; its port from the one
 * line it prints. It dies with us (PR_SET_PDEATHSIG) however we end. */
static void start_ui(const char *home)
{
    char *field = bench_program("field"), line[512];
    int fds[2];
    ssize_t n;
    size_t got = 0;
    const char *p;

    if (pipe(fds) != 0)
        bench_die("pipe: %s", strerror(errno));
    ui_pid = fork();
    if (ui_pid < 0)
        bench_die("fork: %s", strerror(errno));
    if (ui_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setenv("FIELD_HOME", home, 1);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(field, field, "ui", "--json", "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    while (got < sizeof line - 1 && memchr(line, '\n', got) == NULL &&
           (n = read(fds[0], line + got, sizeof line - 1 - got)) > 0)
        got += (size_t)n;
    line[got] = '\0';
    close(fds[0]);
    if ((p = strstr(line, "\"port\":")) == NULL || (ui_port = atoi(p + 7)) <= 0)
        bench_die("field ui did not say its port: %s", line);
    free(field);
}

static void stop_ui(void)
{
    int status;

    kill(ui_pid, SIGTERM);
    waitpid(ui_pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_die("field ui did not stop cleanly (status %d)", status);
}

/* ---- a browser over plain sockets -----------------------------------------
 */

struct browser {
    char cookie[128]; /* "field_ui=..." once the server gave one */
    char csrf[128];
};

/* The value after "name": (a string) in the JSON text, into out. */
static void json_string(const char *text, const char *name, char *out,
                        size_t size)
{
    char pat[64];
    const char *p, *end;

    snprintf(pat, sizeof pat, "\"%s\":\"", name);
    if ((p = strstr(text, pat)) == NULL ||
        (end = strchr(p + strlen(pat), '"')) == NULL ||
        (size_t)(end - p - strlen(pat)) >= size)
        bench_die("no \"%s\" in: %.200s", name, text);
    p += strlen(pat);
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
}

/* One request on a new connection; the answer's body in out; its status
 * returned. A Set-Cookie is kept for the next requests. */
static int request(struct browser *b, const char *method, const char *path,
                   const char *body, struct fld_buf *out)
{
    struct sockaddr_in a;
    struct fld_buf req = FLD_BUF_INIT, in = FLD_BUF_INIT;
    char chunk[16384];
    const char *text, *head_end, *c;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)ui_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        bench_die("connect to field ui: %s", strerror(errno));
    fld_buf_printf(&req,
                   "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                   "Connection: close\r\n",
                   method, path, ui_port);
    if (b->cookie[0] != '\0')
        fld_buf_printf(&req, "Cookie: %s\r\n", b->cookie);
    if (body != NULL)
        fld_buf_printf(&req,
                       "Content-Type: application/json\r\n"
                       "X-CSRF-Token: %s\r\nContent-Length: %zu\r\n\r\n%s",
                       b->csrf, strlen(body), body);
    else
        fld_buf_printf(&req, "\r\n");
    if (send(fd, req.data, req.len, MSG_NOSIGNAL) != (ssize_t)req.len)
        bench_die("send to field ui: %s", strerror(errno));
    while ((n = recv(fd, chunk, sizeof chunk, 0)) > 0)
        fld_buf_append(&in, chunk, (size_t)n);
    close(fd);
    text = fld_buf_str(&in);
    if (sscanf(text, "HTTP/1.1 %d", &status) != 1 ||
        (head_end = strstr(text, "\r\n\r\n")) == NULL)
        bench_die("%s %s: no HTTP answer", method, path);
    if ((c = strstr(text, "Set-Cookie: ")) != NULL && c < head_end) {
        size_t len = strcspn(c + 12, ";\r\n");

        if (len < sizeof b->cookie) {
            memcpy(b->cookie, c + 12, len);
            b->cookie[len] = '\0';
        }
    }
    fld_buf_reset(out);
    fld_buf_append(out, head_end + 4, in.len - (size_t)(head_end + 4 - text));
    fld_buf_free(&req);
    fld_buf_free(&in);
    return status;
}

static void must(struct browser *b, const char *method, const char *path,
                 const char *body, struct fld_buf *out)
{
    int status = request(b, method, path, body, out);

    if (status != 200)
        bench_die("%s %s: status %d: %.300s", method, path, status,
                  fld_buf_str(out));
}

/* ---- timing -----------------------------------------------------------------
 */

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Sort the n times; print median and maximum in ms; return the median. */
static double summary(const char *what, double *s, int n)
{
    qsort(s, (size_t)n, sizeof *s, by_value);
    printf("%-46s median %7.2f ms, max %7.2f ms (%d runs)\n", what,
           1e3 * s[n / 2], 1e3 * s[n - 1], n);
    return 1e3 * s[n / 2];
}

/* The page of record id, as the browser loads it. */
static void load_page(struct browser *b, const char *id, struct fld_buf *out)
{
    char path[128];

    must(b, "GET", "/", NULL, out);
    must(b, "GET", "/app.js", NULL, out);
    must(b, "GET", "/app.css", NULL, out);
    must(b, "GET", "/api/session", NULL, out);
    json_string(fld_buf_str(out), "csrf", b->csrf, sizeof b->csrf);
    snprintf(path, sizeof path, "/api/records/%s", id);
    must(b, "GET", path, NULL, out);
}

int main(int argc, char **argv)
{
    int measured = bench_harness_measure(argc, argv);
    int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_ROUNDS, i;
    struct commune communes[256];
    struct bench_device d;
    struct browser b = {"", ""};
    struct fld_buf out = FLD_BUF_INIT;
    struct fld_version *v;
    struct fld_json *a;
    struct fld_form *f;
    struct fld_err err;
    char *home, *field, id[FLD_RECORD_HEX_LEN + 1], path[128], body[128];
    double *s, page_ms, eval_ms, engine_ms, t0;
    size_t n_answers;

    if (measured >= 0)
        return measured;
    (void)revise; /* ntm_answers.h's revisions: one version is enough */
    if (sodium_init() < 0 || rounds < 5)
        return 2;
    bench_harness_start("bench_ui", argv[0]);
    home = bench_tpath("device");
    field = bench_program("field");
    {
        const char *init[] = {field, "init", "--inspector", "Bench", NULL};

        bench_must(home, init, NULL);
    }
    if (bench_communes(communes, 256) == 0)
        bench_die("no communes among the units");
    bench_device_open(home, TEMPLATE, &d);
    a = first_answers(d.t, &communes[0]);
    n_answers = a->n;
    if (fld_capture_new(d.st, d.key, d.t, communes[0].code, a, &v, &err) !=
        FLD_OK)
        bench_die("new record: %s", err.msg);
    memcpy(id, v->record, sizeof id);
    fld_version_free(v);

    start_ui(home);
    printf("field ui on 127.0.0.1:%d; one %s record of %s with %zu answers, "
           "%zu questions\n",
           ui_port, TEMPLATE, communes[0].name, n_answers,
           fld_template_n_questions(d.t));
    s = fld_xcalloc((size_t)rounds, sizeof *s);
    load_page(&b, id, &out); /* the first time: caches warm */
    for (i = 0; i < rounds; i++) {
        t0 = now_s();
        load_page(&b, id, &out);
        s[i] = now_s() - t0;
    }
    page_ms = summary("page load (5 requests, a connection each)", s, rounds);
    snprintf(path, sizeof path, "/api/records/%s/evaluate", id);
    for (i = 0; i < rounds; i++) {
        snprintf(body, sizeof body,
                 "{\"answers\":{\"households_poor\":\"%d\"}}", 10 + i);
        t0 = now_s();
        must(&b, "POST", path, body, &out);
        s[i] = now_s() - t0;
    }
    eval_ms = summary("evaluate after one answer (round trip)", s, rounds);
    for (i = 0; i < rounds; i++) {
        t0 = now_s();
        if (fld_form_eval(d.t, a, "2026-12-05", &f, &err) != FLD_OK)
            bench_die("fld_form_eval: %s", err.msg);
        fld_form_free(f);
        s[i] = now_s() - t0;
    }
    engine_ms = summary("the engine alone (fld_form_eval)", s, rounds);
    stop_ui();

    bench_figure("ui", "form_page_load_ms", page_ms, "ms", "< 200");
    bench_figure("ui", "evaluate_round_trip_ms", eval_ms, "ms", NULL);
    bench_figure("ui", "evaluate_engine_ms", engine_ms, "ms", "< 5");
    free(s);
    fld_json_free(a);
    bench_device_close(&d);
    fld_buf_free(&out);
    free(field);
    free(home);
    return 0;
}
