/*
 * main.c - the `field` program: finds the command, runs it, and is the one
 * place that reports an error and picks the exit status.
 *
 *   field [--version] [--help] <command> [options] [arguments]
 *
 * Commands live in the table of cmd_table.c, one handler per command in
 * the cmd_*.c files. A unique prefix of a command name is accepted.
 */
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define FIELD_VERSION "0.1.0"

static void usage(FILE *out)
{
    const struct cmd *c;

    fprintf(
        out,
        "usage: field [--version] [--help] <command> [options] [arguments]\n\n"
        "Capture New Rural Development (nông thôn mới) inspections offline\n"
        "as signed, immutable records.\n\nCommands:\n");
    for (c = cmd_table; c->name != NULL; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->usage);
    fprintf(out,
            "\nThe data directory is $FIELD_HOME, else $XDG_DATA_HOME/field,\n"
            "else ~/.local/share/field. 'field help <command>' or\n"
            "'field <command> --help' explains a command.\n");
}

static int run_help(int argc, char **argv, struct fld_err *err)
{
    const struct cmd *c;

    if (argc < 3) {
        usage(stdout);
        return FLD_OK;
    }
    if ((c = cmd_find(argv[2], err)) == NULL)
        return FLD_EUSAGE;
    cmd_print_help(c, stdout);
    return FLD_OK;
}

int main(int argc, char **argv)
{
    struct cmd_ctx ctx;
    const struct cmd *c;
    int rc;

    setlocale(LC_CTYPE, "");
    memset(&ctx, 0, sizeof ctx);
    if (sodium_init() < 0) {
        fputs("field: cannot initialise libsodium\n", stderr);
        return FLD_EXIT_FAIL;
    }
    if (argc < 2) {
        usage(stderr);
        return FLD_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        rc = run_help(argc, argv, &ctx.err);
        if (rc != FLD_OK)
            fprintf(stderr, "field: %s\n", ctx.err.msg);
        return fld_exit_status(rc);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("field %s\n", FIELD_VERSION);
        return FLD_EXIT_OK;
    }
    if (argv[1][0] == '-') {
        fprintf(stderr, "field: unknown option '%s'; see 'field --help'\n",
                argv[1]);
        return FLD_EXIT_USAGE;
    }
    if ((c = cmd_find(argv[1], &ctx.err)) == NULL) {
        fprintf(stderr, "field: %s\n", ctx.err.msg);
        return FLD_EXIT_USAGE;
    }
    ctx.cmd = c;
    rc = c->run(&ctx, argc - 1, argv + 1);
    if (rc == -1) /* --help was shown */
        rc = FLD_OK;
    if (rc != FLD_OK)
        fprintf(stderr, "field: %s: %s\n", c->name,
                ctx.err.msg[0] ? ctx.err.msg : fld_strerror(rc));
    cmd_ctx_close(&ctx);
    return fld_exit_status(rc);
}
