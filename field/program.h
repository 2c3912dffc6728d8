/*
 * program.h - the front of both programs' main(): field and field-server
 * start, read their first argument and report a command's failure the
 * same way, so that they behave alike (--help, help COMMAND, --version,
 * an unknown option, a mistyped command, one line per error, the exit
 * statuses of cmdline.h).
 *
 * Unlike libfield, this prints: it is compiled into the two programs only
 * (Makefile, server-stub/server.mk), never into a library.
 */
#ifndef FLD_PROGRAM_H
#define FLD_PROGRAM_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

struct fld_program {
    const char *name;    /* "field", as messages name the program */
    const char *version; /* what --version prints after the name */
    const void *table;   /* the command table, as fld_cmd_find() takes it */
    size_t size;         /* one entry of the table, in bytes */
    void (*usage)(FILE *out);                       /* the program's help */
    void (*print_help)(const void *cmd, FILE *out); /* one command's help */
};

/*
 * Set the locale and libsodium up, then read argv[1]. Returns the command
 * (an entry of p->table) to run. Otherwise returns NULL with the exit
 * status in *status, after printing what was asked for (the help, the
 * version) or a one-line error (none, an unknown option, no such command).
 */
const void *fld_program_start(const struct fld_program *p, int argc,
                              char **argv, int *status);

/*
 * The exit status for a command's result rc, printing "PROGRAM: COMMAND:
 * message" first when it failed. rc -1 means the command showed its help.
 */
int fld_program_finish(const struct fld_program *p, const char *command, int rc,
                       const struct fld_err *err);

#endif
