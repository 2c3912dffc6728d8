/*
 * fieldctl.c - a test client for field-server, built from libfield and
 * libsync only (never installed). The integration tests use it to be a
 * device: make a key, sign versions (including forks, gaps and bad ones on
 * purpose), build protocol messages, and send signed requests over a plain
 * socket with full control of every byte and of the timing.
 *
 *   fieldctl keygen KEYFILE                 new key; prints its public key
 *   fieldctl pub KEYFILE                    prints the public key
 *   fieldctl version KEYFILE OPTIONS        signs a version; writes the
 *       item (body line, signature line) to stdout
 *       --record R --dseq N [--prev H] [--parent H]... --subject CODE
 *       --template-id ID --template-hash H [--status S] [--answers JSON]
 *       [--answers-file FILE] [--hlc MS] [--hlc-counter N]
 *       [--attachments JSON]   the signed attachments member (version.h)
 *   fieldctl hash ITEMFILE                  the version hash of an item
 *   fieldctl sync-body [--cursor C] [--limit N] ITEMFILE...
 *   fieldctl enroll-body CODE KEYFILE
 *   fieldctl request KEYFILE|- METHOD URL [OPTIONS]
 *       --body FILE          the body (default none)
 *       --gzip               gzip the body (Content-Encoding: gzip)
 *       --encoding E         send Content-Encoding: E without encoding
 *       --content-type T     (default application/json for a body; "" for
 *                            none)
 *       --time-offset MS     sign with the clock moved by MS
 *       --corrupt-sig        flip a bit of the request signature
 *       --save FILE          also write the exact request bytes to FILE
 *       --accept-gzip        ask for a gzip response (and inflate it)
 *       --chunked            send the body with chunked transfer encoding
 *       --trickle MS         send the body one byte every MS ms
 *       --pause-after N --pause-ms MS [--started FILE]
 *                            send N body bytes, touch FILE, wait, go on
 *       --output FILE        write the response body to FILE, exactly
 *                            (a photo), instead of after the status
 *       --dump-headers FILE  write the response headers to FILE
 *       --expect             send "Expect: 100-continue" and the body only
 *                            after "100 Continue"; when a final answer
 *                            comes first, say "body not sent" on stderr
 *   fieldctl send URL FILE                  send raw request bytes
 *
 * request and send print the status code on the first line of stdout and
 * the response body (inflated) after it; they exit 0 when an answer came,
 * 1 when none did.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "gzip.h"
#include "hlc.h"
#include "json.h"
#include "key.h"
#include "protocol.h"
#include "version.h"

#define MAX_FILE (256 * 1024 * 1024)

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fieldctl: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct fld_buf b = FLD_BUF_INIT;
    char chunk[65536];
    size_t n;

    if (f == NULL)
        die("cannot open %s", path);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        fld_buf_append(&b, chunk, n);
        if (b.len > MAX_FILE)
            die("%s: too large", path);
    }
    fclose(f);
    if (b.data == NULL)
        fld_buf_puts(&b, "");
    return (uint8_t *)fld_buf_detach(&b, len);
}

static struct fld_key *load_key(const char *path)
{
    struct fld_key *k;
    struct fld_err err;

    if (fld_key_load(path, NULL, &k, &err) != FLD_OK)
        die("%s", err.msg);
    return k;
}

/* An item file: the body on the first line, the signature (hex) on the
 * second. */
static void read_item(const char *path, struct syn_item *it)
{
    size_t len;
    uint8_t *data = slurp(path, &len);
    char *nl = memchr(data, '\n', len), *sig;

    if (nl == NULL)
        die("%s: not an item file", path);
    *nl = '\0';
    sig = nl + 1;
    sig[strcspn(sig, "\n")] = '\0';
    if (!fld_is_hex(sig, 128))
        die("%s: bad signature line", path);
    memset(it, 0, sizeof *it);
    it->body_len = (size_t)(nl - (char *)data);
    it->body = data;
    fld_hex_decode(sig, it->sig, 64);
}

static int cmd_keygen(int argc, char **argv)
{
    struct fld_key *k;
    struct fld_err err;
    char hex[65];

    if (argc != 2)
        die("%s", "usage: keygen KEYFILE");
    if (fld_key_generate(&k, &err) != FLD_OK ||
        fld_key_save(k, argv[1], NULL, &err) != FLD_OK)
        die("%s", err.msg);
    fld_key_public_hex(k, hex);
    puts(hex);
    fld_key_free(k);
    return 0;
}

static int cmd_pub(int argc, char **argv)
{
    struct fld_key *k;
    char hex[65];

    if (argc != 2)
        die("%s", "usage: pub KEYFILE");
    k = load_key(argv[1]);
    fld_key_public_hex(k, hex);
    puts(hex);
    fld_key_free(k);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    static const struct option opts[] = {
        {"record", required_argument, NULL, 'r'},
        {"dseq", required_argument, NULL, 'd'},
        {"prev", required_argument, NULL, 'p'},
        {"parent", required_argument, NULL, 'P'},
        {"subject", required_argument, NULL, 's'},
        {"template-id", required_argument, NULL, 'i'},
        {"template-hash", required_argument, NULL, 'H'},
        {"status", required_argument, NULL, 'S'},
        {"answers", required_argument, NULL, 'a'},
        {"answers-file", required_argument, NULL, 'A'},
        {"hlc", required_argument, NULL, 'c'},
        {"hlc-counter", required_argument, NULL, 'C'},
        {"attachments", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0}};
    struct fld_json *attachments = NULL;
    uint8_t *file;
    size_t file_len;
    struct fld_version_draft d;
    struct fld_version *v;
    struct fld_json *answers = NULL;
    struct fld_key *k;
    struct fld_err err;
    const char *parents[16];
    char sig[129];
    int c;

    memset(&d, 0, sizeof d);
    d.status = "draft";
    d.parents = parents;
    d.hlc.ms = fld_now_ms();
    optind = 2;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            d.record = optarg;
            break;
        case 'd':
            d.dseq = strtoll(optarg, NULL, 10);
            break;
        case 'p':
            d.prev = optarg;
            break;
        case 'P':
            if (d.n_parents == 16)
                die("%s", "too many parents");
            parents[d.n_parents++] = optarg;
            break;
        case 's':
            d.subject = optarg;
            break;
        case 'i':
            d.template_id = optarg;
            break;
        case 'H':
            d.template_hash = optarg;
            break;
        case 'S':
            d.status = optarg;
            break;
        case 'a':
            if (fld_json_parse((const uint8_t *)optarg, strlen(optarg),
                               &answers, &err) != FLD_OK)
                die("--answers: %s", err.msg);
            break;
        case 'A': /* answers too long for one argument (128 KiB) */
            if (fld_file_read(optarg, FLD_VERSION_MAX_BODY, &file, &file_len,
                              &err) != FLD_OK)
                die("--answers-file: %s", err.msg);
            if (fld_json_parse(file, file_len, &answers, &err) != FLD_OK)
                die("--answers-file: %s", err.msg);
            free(file);
            break;
        case 'c':
            d.hlc.ms = strtoll(optarg, NULL, 10);
            break;
        case 'C':
            d.hlc.count = strtoll(optarg, NULL, 10);
            break;
        case 'T':
            if (fld_json_parse((const uint8_t *)optarg, strlen(optarg),
                               &attachments, &err) != FLD_OK)
                die("--attachments: %s", err.msg);
            d.attachments = attachments;
            break;
        default:
            die("%s", "bad option to version");
        }
    }
    if (optind != argc - 1 && optind != argc)
        die("%s", "usage: version KEYFILE OPTIONS");
    if (answers == NULL)
        answers = fld_json_object();
    d.answers = answers;
    k = load_key(argv[1]);
    if (fld_version_sign(&d, k, &v, &err) != FLD_OK)
        die("%s", err.msg);
    fld_hex_encode(v->sig, 64, sig);
    fwrite(v->body, 1, v->body_len, stdout);
    printf("\n%s\n", sig);
    fld_version_free(v);
    fld_json_free(answers);
    fld_json_free(attachments);
    fld_key_free(k);
    return 0;
}

static int cmd_hash(int argc, char **argv)
{
    struct syn_item it;
    char hash[65];

    if (argc != 2)
        die("%s", "usage: hash ITEMFILE");
    read_item(argv[1], &it);
    fld_version_hash(it.body, it.body_len, hash);
    puts(hash);
    free(it.body);
    return 0;
}

static int cmd_sync_body(int argc, char **argv)
{
    static const struct option opts[] = {
        {"cursor", required_argument, NULL, 'c'},
        {"limit", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0}};
    struct syn_sync_request r;
    struct fld_buf out = FLD_BUF_INIT;
    size_t i;
    int c;

    memset(&r, 0, sizeof r);
    r.limit = SYN_DEFAULT_LIMIT;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c')
            r.cursor = optarg[0] ? optarg : NULL;
        else if (c == 'l')
            r.limit = strtoll(optarg, NULL, 10);
        else
            die("%s", "bad option to sync-body");
    }
    r.n_push = (size_t)(argc - optind);
    r.push = fld_xcalloc(r.n_push + 1, sizeof *r.push);
    for (i = 0; i < r.n_push; i++)
        read_item(argv[optind + (int)i], &r.push[i]);
    syn_sync_request_encode(&r, &out);
    fwrite(out.data, 1, out.len, stdout);
    for (i = 0; i < r.n_push; i++)
        free(r.push[i].body);
    free(r.push);
    fld_buf_free(&out);
    return 0;
}

static int cmd_enroll_body(int argc, char **argv)
{
    struct syn_enroll_request r;
    struct fld_buf out = FLD_BUF_INIT;
    struct fld_key *k;

    if (argc != 3)
        die("%s", "usage: enroll-body CODE KEYFILE");
    memset(&r, 0, sizeof r);
    snprintf(r.code, sizeof r.code, "%s", argv[1]);
    k = load_key(argv[2]);
    fld_key_public_hex(k, r.public_key);
    syn_enroll_request_encode(&r, &out);
    fwrite(out.data, 1, out.len, stdout);
    fld_buf_free(&out);
    fld_key_free(k);
    return 0;
}

/* ---- HTTP over a plain socket
 * -------------------------------------------------- */

struct url {
    char host[256];
    char port[8];
    char path[1024];
};

static void parse_url(const char *u, struct url *out)
{
    const char *p, *slash, *colon;

    if (strncmp(u, "http://", 7) != 0)
        die("only http:// URLs: %s", u);
    p = u + 7;
    slash = strchr(p, '/');
    if (slash == NULL)
        slash = p + strlen(p);
    colon = memchr(p, ':', (size_t)(slash - p));
    if (colon == NULL || (size_t)(colon - p) >= sizeof out->host ||
        (size_t)(slash - colon - 1) >= sizeof out->port)
        die("URL needs host:port: %s", u);
    snprintf(out->host, sizeof out->host, "%.*s", (int)(colon - p), p);
    snprintf(out->port, sizeof out->port, "%.*s", (int)(slash - colon - 1),
             colon + 1);
    snprintf(out->path, sizeof out->path, "%s", *slash ? slash : "/");
}

static int connect_to(const struct url *u)
{
    struct addrinfo hints, *ai;
    int fd;

    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(u->host, u->port, &hints, &ai) != 0)
        die("bad address %s", u->host);
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        freeaddrinfo(ai);
        fprintf(stderr, "fieldctl: connect: %s\n", strerror(errno));
        exit(1);
    }
    freeaddrinfo(ai);
    return fd;
}

/* Whether the server has started to answer (or closed) within ms. */
static int readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};

    return poll(&p, 1, ms) > 0;
}

/* Send all; 0, or -1 when the server closed the connection. */
static int send_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* After headers that asked "Expect: 100-continue": true when the server
 * said "100 Continue" (consumed), false when its final answer came. */
static bool continued(int fd)
{
    char peek[13], c;
    unsigned crlf = 0;
    ssize_t n;

    if (!readable(fd, 5000))
        die("%s", "no answer to Expect: 100-continue");
    n = recv(fd, peek, sizeof peek - 1, MSG_PEEK);
    if (n < 12 || memcmp(peek + 9, "100", 3) != 0)
        return false;
    while (crlf < 4 && recv(fd, &c, 1, 0) == 1) /* through the blank line */
        crlf = (c == '\r' || c == '\n') ? crlf + 1 : 0;
    return true;
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&t, NULL);
}

/* Read the whole answer (the request said Connection: close), print it. */
/* request's --output and --dump-headers (NULL: not asked) */
static const char *output_file, *headers_file;

static void write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0)
        die("cannot write %s", path);
}

static int read_answer(int fd)
{
    struct fld_buf in = FLD_BUF_INIT, plain = FLD_BUF_INIT;
    char chunk[65536], *hdr_end, *line;
    int status = 0, gz = 0, chunked = 0;
    ssize_t n;
    size_t hlen;
    struct fld_err err;

    while (readable(fd, 30000) && (n = recv(fd, chunk, sizeof chunk, 0)) > 0)
        fld_buf_append(&in, chunk, (size_t)n);
    close(fd);
    if (in.len == 0 ||
        (hdr_end = strstr((char *)in.data, "\r\n\r\n")) == NULL) {
        fprintf(stderr, "fieldctl: no answer\n");
        fld_buf_free(&in);
        return 1;
    }
    *hdr_end = '\0';
    hlen = (size_t)(hdr_end - (char *)in.data) + 4;
    if (headers_file)
        write_file(headers_file, in.data, strlen((char *)in.data));
    sscanf((char *)in.data, "HTTP/1.%*d %d", &status);
    for (line = strstr((char *)in.data, "\r\n"); line;
         line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Content-Encoding: gzip", 22) == 0)
            gz = 1;
        if (strncasecmp(line + 2, "Transfer-Encoding: chunked", 26) == 0)
            chunked = 1;
    }
    if (chunked) { /* de-chunk in place */
        char *p = (char *)in.data + hlen, *end = (char *)in.data + in.len;
        struct fld_buf body = FLD_BUF_INIT;

        while (p < end) {
            unsigned long size = strtoul(p, &line, 16);

            if (size == 0 || (line = strstr(line, "\r\n")) == NULL)
                break;
            line += 2;
            if ((size_t)(end - line) < size)
                break;
            fld_buf_append(&body, line, size);
            p = line + size + 2;
        }
        fld_buf_append(&plain, body.data ? body.data : (uint8_t *)"", body.len);
        fld_buf_free(&body);
    } else {
        fld_buf_append(&plain, in.data + hlen, in.len - hlen);
    }
    printf("%d\n", status);
    if (gz) {
        struct fld_buf out = FLD_BUF_INIT;

        if (syn_gunzip(plain.data, plain.len, MAX_FILE, &out, &err) != FLD_OK)
            die("bad gzip answer: %s", err.msg);
        fwrite(out.data ? out.data : (uint8_t *)"", 1, out.len, stdout);
        fld_buf_free(&out);
    } else if (output_file) {
        write_file(output_file, plain.data ? plain.data : (uint8_t *)"",
                   plain.len);
    } else {
        fwrite(plain.data ? plain.data : (uint8_t *)"", 1, plain.len, stdout);
    }
    fputc('\n', stdout);
    fld_buf_free(&in);
    fld_buf_free(&plain);
    return 0;
}

static int cmd_request(int argc, char **argv)
{
    static const struct option opts[] = {
        {"body", required_argument, NULL, 'b'},
        {"gzip", no_argument, NULL, 'z'},
        {"encoding", required_argument, NULL, 'e'},
        {"content-type", required_argument, NULL, 't'},
        {"time-offset", required_argument, NULL, 'o'},
        {"corrupt-sig", no_argument, NULL, 'x'},
        {"save", required_argument, NULL, 's'},
        {"accept-gzip", no_argument, NULL, 'A'},
        {"chunked", no_argument, NULL, 'C'},
        {"trickle", required_argument, NULL, 'T'},
        {"pause-after", required_argument, NULL, 'n'},
        {"pause-ms", required_argument, NULL, 'm'},
        {"started", required_argument, NULL, 'S'},
        {"output", required_argument, NULL, 'O'},
        {"dump-headers", required_argument, NULL, 'D'},
        {"expect", no_argument, NULL, 'E'},
        {NULL, 0, NULL, 0}};
    const char *body_file = NULL, *encoding = NULL, *ctype = NULL, *save = NULL;
    const char *started = NULL;
    int gzip = 0, corrupt = 0, accept_gz = 0, chunked = 0, trickle = -1, c, fd;
    int expect = 0;
    long long offset = 0;
    size_t pause_after = 0, len = 0, i;
    int pause_ms = 0;
    uint8_t *body = NULL;
    struct fld_buf wire = FLD_BUF_INIT, req = FLD_BUF_INIT;
    struct url u;
    struct syn_auth a;
    char sig[129];

    optind = 4;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            body_file = optarg;
            break;
        case 'z':
            gzip = 1;
            break;
        case 'e':
            encoding = optarg;
            break;
        case 't':
            ctype = optarg;
            break;
        case 'o':
            offset = strtoll(optarg, NULL, 10);
            break;
        case 'x':
            corrupt = 1;
            break;
        case 's':
            save = optarg;
            break;
        case 'A':
            accept_gz = 1;
            break;
        case 'C':
            chunked = 1;
            break;
        case 'T':
            trickle = (int)strtol(optarg, NULL, 10);
            break;
        case 'n':
            pause_after = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 'm':
            pause_ms = (int)strtol(optarg, NULL, 10);
            break;
        case 'S':
            started = optarg;
            break;
        case 'O':
            output_file = optarg;
            break;
        case 'D':
            headers_file = optarg;
            break;
        case 'E':
            expect = 1;
            break;
        default:
            die("%s", "bad option to request");
        }
    }
    if (argc < 4 || optind != argc)
        die("%s", "usage: request KEYFILE|- METHOD URL [OPTIONS]");
    parse_url(argv[3], &u);
    if (body_file) {
        body = slurp(body_file, &len);
        if (gzip) {
            syn_gzip(body, len, &wire);
            free(body);
            body = (uint8_t *)fld_buf_detach(&wire, &len);
            if (body == NULL)
                body = (uint8_t *)fld_xstrdup("");
        }
    }
    fld_buf_printf(&req,
                   "%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n",
                   argv[2], u.path, u.host, u.port);
    if (strcmp(argv[1], "-") != 0) {
        struct fld_key *k = load_key(argv[1]);

        /* a photo's chunk is signed without its bytes (docs/PROTOCOL.md) */
        if (strcmp(argv[2], "PUT") == 0 &&
            strncmp(u.path, "/v1/attachments/", 16) == 0)
            syn_request_sign_unsigned(k, argv[2], u.path, fld_now_ms() + offset,
                                      &a);
        else
            syn_request_sign(k, argv[2], u.path, fld_now_ms() + offset, body,
                             len, &a);
        if (corrupt)
            a.sig[10] ^= 1;
        syn_auth_sig_hex(&a, sig);
        fld_buf_printf(&req, "%s: %s\r\n%s: %lld\r\n%s: %s\r\n", SYN_HDR_DEVICE,
                       a.device, SYN_HDR_TIME, (long long)a.time_ms,
                       SYN_HDR_SIGNATURE, sig);
        fld_key_free(k);
    }
    if (ctype == NULL && body_file)
        ctype = SYN_CONTENT_TYPE;
    if (ctype && ctype[0])
        fld_buf_printf(&req, "Content-Type: %s\r\n", ctype);
    if (gzip)
        fld_buf_puts(&req, "Content-Encoding: gzip\r\n");
    else if (encoding)
        fld_buf_printf(&req, "Content-Encoding: %s\r\n", encoding);
    if (accept_gz)
        fld_buf_puts(&req, "Accept-Encoding: gzip\r\n");
    if (expect)
        fld_buf_puts(&req, "Expect: 100-continue\r\n");
    if (chunked)
        fld_buf_puts(&req, "Transfer-Encoding: chunked\r\n\r\n");
    else if (body_file)
        fld_buf_printf(&req, "Content-Length: %zu\r\n\r\n", len);
    else
        fld_buf_puts(&req, "\r\n");
    if (save) {
        FILE *f = fopen(save, "wb");

        if (f == NULL)
            die("cannot write %s", save);
        fwrite(req.data, 1, req.len, f);
        if (len)
            fwrite(body, 1, len, f);
        fclose(f);
    }

    fd = connect_to(&u);
    if (send_all(fd, req.data, req.len) != 0)
        return read_answer(fd);
    if (expect && !continued(fd)) {
        fprintf(stderr, "fieldctl: body not sent\n");
        free(body);
        fld_buf_free(&req);
        return read_answer(fd);
    }
    if (chunked) {
        /* 64 KiB chunks, stopping as soon as the server answers. */
        for (i = 0; i < len; i += 65536) {
            size_t n = len - i < 65536 ? len - i : 65536;
            char head[32];

            snprintf(head, sizeof head, "%zx\r\n", n);
            if (readable(fd, 0) ||
                send_all(fd, (uint8_t *)head, strlen(head)) ||
                send_all(fd, body + i, n) || send_all(fd, (uint8_t *)"\r\n", 2))
                break;
        }
        if (i >= len)
            send_all(fd, (const uint8_t *)"0\r\n\r\n", 5);
    } else if (trickle >= 0) {
        for (i = 0; i < len; i++) {
            if (readable(fd, trickle) || send_all(fd, body + i, 1) != 0)
                break;
        }
    } else if (pause_after > 0 && pause_after < len) {
        if (send_all(fd, body, pause_after) == 0) {
            if (started) {
                int sfd = open(started, O_WRONLY | O_CREAT | O_TRUNC, 0644);

                if (sfd >= 0)
                    close(sfd);
            }
            sleep_ms(pause_ms);
            send_all(fd, body + pause_after, len - pause_after);
        }
    } else if (len) {
        send_all(fd, body, len);
    }
    free(body);
    fld_buf_free(&req);
    return read_answer(fd);
}

static int cmd_send(int argc, char **argv)
{
    struct url u;
    size_t len;
    uint8_t *data;
    int fd;

    if (argc != 3)
        die("%s", "usage: send URL FILE");
    parse_url(argv[1], &u);
    data = slurp(argv[2], &len);
    fd = connect_to(&u);
    send_all(fd, data, len);
    free(data);
    return read_answer(fd);
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0 || argc < 2)
        die("%s", "usage: fieldctl COMMAND ... (see tests/tools/fieldctl.c)");
    if (strcmp(argv[1], "keygen") == 0)
        return cmd_keygen(argc - 1, argv + 1);
    if (strcmp(argv[1], "pub") == 0)
        return cmd_pub(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0)
        return cmd_version(argc - 1, argv + 1);
    if (strcmp(argv[1], "hash") == 0)
        return cmd_hash(argc - 1, argv + 1);
    if (strcmp(argv[1], "sync-body") == 0)
        return cmd_sync_body(argc - 1, argv + 1);
    if (strcmp(argv[1], "enroll-body") == 0)
        return cmd_enroll_body(argc - 1, argv + 1);
    if (strcmp(argv[1], "request") == 0)
        return cmd_request(argc - 1, argv + 1);
    if (strcmp(argv[1], "send") == 0)
        return cmd_send(argc - 1, argv + 1);
    die("unknown command %s", argv[1]);
}
