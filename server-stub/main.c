/*
 * main.c - the field-server program: finds the subcommand (admin.c's
 * table), runs it, and is the one place that reports an error and picks
 * the exit status.
 *
 *   field-server [--version] [--help] <command> [options] [arguments]
 */
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"

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
    const struct srv_cmd *c;
    struct fld_err err;
    int rc;

    setlocale(LC_CTYPE, "");
    fld_err_clear(&err);
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
        if ((c = srv_cmd_find(argv[2], &err)) == NULL) {
            fprintf(stderr, "field-server: %s\n", err.msg);
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
    if ((c = srv_cmd_find(argv[1], &err)) == NULL || c->run == NULL) {
        fprintf(stderr, "field-server: %s\n",
                c ? "see 'field-server help COMMAND'" : err.msg);
        return 2;
    }
    rc = c->run(argc - 1, argv + 1, &err);
    if (rc == -1) /* --help was shown */
        return 0;
    if (rc != FLD_OK)
        fprintf(stderr, "field-server: %s: %s\n", c->name,
                err.msg[0] ? err.msg : fld_strerror(rc));
    return srv_exit_status(rc);
}
