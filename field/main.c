/*
 * main.c - the `field` program: finds the command, runs it, and is the one
 * place that reports an error and picks the exit status.
 *
 *   field [--version] [--help] <command> [options] [arguments]
 *
 * Commands live in the table of cmd_table.c, one handler per command in
 * the cmd_*.c files. A unique prefix of a command name is accepted.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "parallel.h"
#include "program.h"

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

static void print_help(const void *cmd, FILE *out)
{
    cmd_print_help(cmd, out);
}

static const struct fld_program field = {
    "field", FIELD_VERSION, cmd_table, sizeof *cmd_table, usage, print_help,
};

int main(int argc, char **argv)
{
    struct cmd_ctx ctx;
    int status, rc;

    /* Past a file size limit (ulimit -f) the kernel would kill us with
     * SIGXFSZ, silently; ignored, the write fails with EFBIG instead and
     * the command reports it in one line like any other write error. */
    signal(SIGXFSZ, SIG_IGN);
    syn_heaps_per_core();
    memset(&ctx, 0, sizeof ctx);
    ctx.cmd = fld_program_start(&field, argc, argv, &status);
    if (ctx.cmd == NULL)
        return status;
    rc = ctx.cmd->run(&ctx, argc - 1, argv + 1);
    status = fld_program_finish(&field, ctx.cmd->name, rc, &ctx.err);
    cmd_ctx_close(&ctx);
    return status;
}
