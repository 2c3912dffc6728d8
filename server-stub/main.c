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
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "program.h"

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

static void print_help(const void *cmd, FILE *out)
{
    srv_cmd_print_help(cmd, out);
}

static const struct fld_program server = {
    "field-server",        SERVER_VERSION, srv_cmd_table,
    sizeof *srv_cmd_table, usage,          print_help,
};

int main(int argc, char **argv)
{
    struct srv_cmd_ctx ctx;
    int status, rc;

    memset(&ctx, 0, sizeof ctx);
    ctx.cmd = fld_program_start(&server, argc, argv, &status);
    if (ctx.cmd == NULL)
        return status;
    rc = ctx.cmd->run(&ctx, argc - 1, argv + 1);
    status = fld_program_finish(&server, ctx.cmd->name, rc, &ctx.err);
    srv_cmd_ctx_close(&ctx);
    return status;
}
