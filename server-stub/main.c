/*
 * main.c - the field-server program: finds the command (cmd_table.c),
 * runs it, and is the one place that reports an error and picks the exit
 * status.
 *
 *   field-server [--version] [--help] <command> [options] [arguments]
 *
 * One handler per command, in the cmd_*.c files, grouped by what they
 * touch; command.h is what they share. A unique prefix of a command name
 * is accepted.
 */
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "command.h"

#define SERVER_VERSION "0.1.0"

static void usage(FILE *out)
{
    const struct srv_cmd *c;

    fprintf(out,
            "usage: field-server [--version] [--help] <command> [options]\n\n"
            "The central server of field: receives, verifies and serves the\n"
            "signed inspection records of enrolled devices.\n\nCommands:\n");
    for (c = srv_cmd_table; c->name != NULL; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->usage);
    fprintf(out, "\n'field-server <command> --help' explains a command.\n");
}

int main(int argc, char **argv)
{
    struct srv_cmd_ctx ctx;
    const struct srv_cmd *c;
    int rc;

    setlocale(LC_CTYPE, "");
    memset(&ctx, 0, sizeof ctx);
    if (sodium_init() < 0) {
        fputs("field-server: cannot initialise libsodium\n", stderr);
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        if ((c = srv_cmd_find(argv[2], &ctx.err)) == NULL) {
            fprintf(stderr, "field-server: %s\n", ctx.err.msg);
            return 2;
        }
        srv_cmd_print_help(c, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("field-server %s\n", SERVER_VERSION);
        return 0;
    }
    if (argv[1][0] == '-') {
        fprintf(
            stderr,
            "field-server: unknown option '%s'; see 'field-server --help'\n",
            argv[1]);
        return 2;
    }
    if ((c = srv_cmd_find(argv[1], &ctx.err)) == NULL || c->run == NULL) {
        fprintf(stderr, "field-server: %s\n",
                c ? "see 'field-server help COMMAND'" : ctx.err.msg);
        return 2;
    }
    ctx.cmd = c;
    rc = c->run(&ctx, argc - 1, argv + 1);
    if (rc == -1) /* --help was shown */
        rc = FLD_OK;
    if (rc != FLD_OK)
        fprintf(stderr, "field-server: %s: %s\n", c->name,
                ctx.err.msg[0] ? ctx.err.msg : fld_strerror(rc));
    srv_cmd_ctx_close(&ctx);
    return srv_exit_status(rc);
}
