/*
 * main.c - the field-server program: finds the command, runs it, and is
 * the one place that reports an error and picks the exit status.
 *
 *   field-server [--version] [--help] <command> [options] [arguments]
 *
 * Commands live in the table of cmd_table.c, one handler per command in
 * the cmd_*.c files, grouped by what they touch; command.h is what they
 * share. It behaves as field's main.c does: a unique prefix of a command
 * name is accepted, a mistyped one gets the closest name suggested, help
 * has the same layout, and errors map to the same exit statuses
 * (field/cmdline.h).
 */
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cmdline.h"
#include "command.h"

#define SERVER_VERSION "0.1.0"

static void usage(FILE *out)
{
    const struct srv_cmd *c;

    fprintf(out, "usage: field-server [--version] [--help] <command> "
                 "[options] [arguments]\n\n"
                 "The central server of field: receives, verifies and serves "
                 "the\nsigned inspection records of enrolled devices.\n\n"
                 "Commands:\n");
    for (c = srv_cmd_table; c->name != NULL; c++)
        if (c->usage[0] == '\0')
            fprintf(out, "  %s\n", c->name);
        else
            fprintf(out, "  %-12s %s\n", c->name, c->usage);
    fprintf(out, "\nThe database is --db PATH, else the db setting of the "
                 "configuration\nfile (--config FILE or $FIELD_SERVER_CONFIG), "
                 "else field-server.db.\n'field-server help <command>' or "
                 "'field-server <command> --help'\nexplains a command.\n");
}

static int run_help(int argc, char **argv, struct fld_err *err)
{
    const struct srv_cmd *c;

    if (argc < 3) {
        usage(stdout);
        return FLD_OK;
    }
    if ((c = srv_cmd_find(argv[2], err)) == NULL)
        return FLD_EUSAGE;
    srv_cmd_print_help(c, stdout);
    return FLD_OK;
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
            fprintf(stderr, "field-server: %s\n", ctx.err.msg);
        return fld_exit_status(rc);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("field-server %s\n", SERVER_VERSION);
        return FLD_EXIT_OK;
    }
    if (argv[1][0] == '-') {
        fprintf(
            stderr,
            "field-server: unknown option '%s'; see 'field-server --help'\n",
            argv[1]);
        return FLD_EXIT_USAGE;
    }
    if ((c = srv_cmd_find(argv[1], &ctx.err)) == NULL) {
        fprintf(stderr, "field-server: %s\n", ctx.err.msg);
        return FLD_EXIT_USAGE;
    }
    ctx.cmd = c;
    rc = c->run(&ctx, argc - 1, argv + 1);
    if (rc == -1) /* --help was shown */
        rc = FLD_OK;
    if (rc != FLD_OK)
        fprintf(stderr, "field-server: %s: %s\n", c->name,
                ctx.err.msg[0] ? ctx.err.msg : fld_strerror(rc));
    srv_cmd_ctx_close(&ctx);
    return fld_exit_status(rc);
}
