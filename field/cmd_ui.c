/*
 * cmd_ui.c - `field ui`: serve the local web app (field/ui/, embedded)
 * from this device's store until interrupted.
 *
 *   field ui [--listen ADDR] [--port N] [--pair] [--open] [--json]
 *
 * The key is loaded once here, as every writing command loads it (asking
 * the passphrase on the terminal when it has one), and stays in this
 * process's sodium_malloc'd memory; the browser gets a session, never the
 * key. The HTTP server (ui_server.c) runs in its own thread; this one
 * waits for SIGINT or SIGTERM, then stops it and exits 0.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "ui_server.h"

extern char **environ;

struct ui_opts {
    const char *listen;
    int port;
    bool is_open;
    bool pair;
};

enum { OPT_LISTEN = 1, OPT_PORT, OPT_OPEN, OPT_PAIR };

static int on_ui_option(struct cmd_ctx *ctx, int opt, const char *arg,
                        void *data)
{
    struct ui_opts *o = data;
    char *end;
    long n;

    switch (opt) {
    case OPT_LISTEN:
        o->listen = arg;
        return FLD_OK;
    case OPT_PORT:
        n = strtol(arg, &end, 10);
        if (*arg == '\0' || *end != '\0' || n < 0 || n > 65535)
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "--port must be a number from 0 to 65535, not "
                               "'%s'",
                               arg);
        o->port = (int)n;
        return FLD_OK;
    case OPT_PAIR:
        o->pair = true;
        return FLD_OK;
    default:
        o->is_open = true;
        return FLD_OK;
    }
}

/* Ask the desktop to open url when xdg-open is there; never waits for it. */
static pid_t open_browser(const char *url)
{
    posix_spawn_file_actions_t fa;
    char *argv[3];
    pid_t pid = -1;

    argv[0] = (char *)"xdg-open";
    argv[1] = (char *)url;
    argv[2] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY,
                                     0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY,
                                     0);
    if (posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static void print_start(struct cmd_ctx *ctx, const char *url, int port,
                        const char *listen, const char *code)
{
    if (ctx->json) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "url", fld_json_string(url));
        fld_json_set(o, "listen", fld_json_string(listen));
        fld_json_set(o, "port", fld_json_int(port));
        if (code)
            fld_json_set(o, "pairing_code", fld_json_string(code));
        cmd_print_json(ctx, o);
        fld_json_free(o);
    } else {
        printf("%s\n", url);
        if (code)
            printf("Mã ghép nối / pairing code: %s\n", code);
    }
    fflush(stdout);
}

int cmd_ui(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"port", required_argument, NULL, OPT_PORT},
        {"open", no_argument, NULL, OPT_OPEN},
        {"pair", no_argument, NULL, OPT_PAIR},
        {NULL, 0, NULL, 0}};
    struct ui_opts o = {"127.0.0.1", 0, false, false};
    struct fld_ui_server *s = NULL;
    sigset_t stop, old;
    char url[96];
    pid_t browser = -1;
    int rc, sig;

    if ((rc = cmd_parse_and_open(ctx, argc, argv, extra, on_ui_option, &o)))
        return rc;
    if ((rc = cmd_load_key(ctx)) != FLD_OK)
        return rc;
    /* Blocked before the server's thread starts, which inherits the mask:
     * the signal comes to sigwait() here, never into a request. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    if ((rc = fld_ui_server_start(ctx, o.listen, o.port, o.pair, &s,
                                  &ctx->err))) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return rc;
    }
    snprintf(url, sizeof url,
             strchr(o.listen, ':') ? "http://[%s]:%d/" : "http://%s:%d/",
             o.listen, fld_ui_server_port(s));
    print_start(ctx, url, fld_ui_server_port(s), o.listen,
                fld_ui_server_pairing_code(s));
    if (o.is_open)
        browser = open_browser(url);
    while (sigwait(&stop, &sig) != 0)
        ;
    fld_ui_server_stop(s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (browser > 0)
        waitpid(browser, NULL, WNOHANG);
    return FLD_OK;
}
