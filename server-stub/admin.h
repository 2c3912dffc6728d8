/*
 * admin.h - the subcommands of field-server: a sorted table of name,
 * handler, usage line and help text, as in the field program. Each
 * handler parses its own options (getopt_long), prints for people on
 * stdout (or JSON with --json) and returns an enum fld_result, leaving a
 * one-line message in err; main.c prints "field-server: CMD: MESSAGE" and
 * picks the exit status.
 */
#ifndef SRV_ADMIN_H
#define SRV_ADMIN_H

#include <stdio.h>

#include "err.h"

struct srv_cmd {
    const char *name;
    int (*run)(int argc, char **argv, struct fld_err *err);
    const char *usage;
    const char *help;
};

/* Sorted by name, ended by an entry whose name is NULL. */
extern const struct srv_cmd srv_cmd_table[];

/* The command of that name or unique prefix; NULL (err set) otherwise. */
const struct srv_cmd *srv_cmd_find(const char *name, struct fld_err *err);
void srv_cmd_print_help(const struct srv_cmd *c, FILE *out);

/* Exit status for a result code (0 ok, 1 failure, 2 usage, 3 not found,
 * 4 refused or exists, 5 audit found alarms). */
int srv_exit_status(int code);

/* Set by SIGTERM/SIGINT handling in `serve` (tests call it directly). */
int srv_cmd_serve(int argc, char **argv, struct fld_err *err);

#endif
