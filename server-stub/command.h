/*
 * command.h - what the command files of the field-server program share:
 * the command table entry, the context a command runs in (its settings,
 * the opened server and storage, output options, the error) and the
 * helpers that fill it. It plays for field-server the part field/cmd.h
 * plays for field.
 *
 * These files (main.c, cmd_*.c) are the program, not libserver: they are
 * linked into field-server alone, as curl keeps its tool (src/) apart
 * from its library (lib/). libserver stores, verifies, pushes and answers
 * HTTP; only the program parses a command line, prints and exits.
 *
 * A handler parses its own options with srv_cmd_parse(), prints for
 * people on stdout (or JSON with --json) and returns an enum fld_result,
 * leaving the one-line message in ctx->err; main() prints
 * "field-server: <command>: <message>" and maps the code to the exit
 * status with fld_exit_status() (field/cmdline.h; docs/SERVER.md "Exit
 * statuses"), the same mapping field uses.
 */
#ifndef SRV_COMMAND_H
#define SRV_COMMAND_H

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "server.h"
#include "storage.h"

struct srv_cmd_ctx {
    const struct srv_cmd *cmd; /* the command being run */
    struct srv_config cfg;     /* defaults < config file < options */
    bool json;                 /* --json */
    struct srv *s;             /* opened by srv_cmd_open */
    struct srv_storage *st;    /* acquired from s by srv_cmd_open */
    struct fld_err err;
};

struct srv_cmd {
    const char *name; /* first, as fld_cmd_find() expects */
    int (*run)(struct srv_cmd_ctx *ctx, int argc, char **argv);
    const char *usage; /* arguments after the command name */
    const char *help;  /* a paragraph, then the options */
};

/* The handlers, one per command, grouped in files by what they touch. */
int srv_cmd_init(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_backup(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_enroll_code(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_export(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_devices(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_templates(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_thresholds(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_units(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_targets(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_audit(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_migrate(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_new_epoch(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_record(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_report(struct srv_cmd_ctx *ctx, int argc, char **argv);
int srv_cmd_serve(struct srv_cmd_ctx *ctx, int argc, char **argv);

/* The command table, sorted by name, ended by a NULL name. */
extern const struct srv_cmd srv_cmd_table[];

/* The command of that name or unique prefix (fld_cmd_find); NULL, with
 * err set and a suggestion when one is close, otherwise. */
const struct srv_cmd *srv_cmd_find(const char *name, struct fld_err *err);
void srv_cmd_print_help(const struct srv_cmd *cmd, FILE *out);

/*
 * An option that is a server setting (serve's --port, --listen ...): give
 * it this value in `extra`, and srv_cmd_parse() applies it by its name
 * with srv_config_set() after the configuration file, so that the command
 * line wins whatever the order.
 */
#define SRV_CMD_OPT_SETTING 999

/*
 * Parse the options every command shares (--db, --config, --json, --help)
 * plus the command's own: `extra` lists them (ending with a zero entry;
 * may be NULL) and `on_option` receives each (may be NULL when all are
 * settings). Parsing stops at the first argument that is not an option
 * (a subcommand's own arguments follow it). The configuration file
 * ($FIELD_SERVER_CONFIG or --config) is read after the options, and --db
 * and the settings are applied over it. Returns FLD_OK with *first_arg
 * the index of the first argument, FLD_EUSAGE (message set), or -1 when
 * --help was shown.
 */
int srv_cmd_parse(struct srv_cmd_ctx *ctx, int argc, char **argv,
                  const struct option *extra,
                  int (*on_option)(struct srv_cmd_ctx *ctx, int opt,
                                   const char *arg, void *data),
                  void *data, int *first_arg);

/* Refuse more than max arguments from first on ("too many arguments"). */
int srv_cmd_no_more_args(struct srv_cmd_ctx *ctx, int argc, int first, int max);

/* For commands that take options but no arguments: srv_cmd_parse(), then
 * refuse any argument. */
int srv_cmd_parse_options(struct srv_cmd_ctx *ctx, int argc, char **argv,
                          const struct option *extra,
                          int (*on_option)(struct srv_cmd_ctx *ctx, int opt,
                                           const char *arg, void *data),
                          void *data);

/*
 * End the transaction begun on st: commit when rc is FLD_OK, else roll
 * back. Returns rc, or the commit's failure. Every writing command is one
 * transaction, so an administrator never leaves the database half changed.
 */
int srv_cmd_end(struct srv_storage *st, int rc, struct fld_err *err);

/* Open the server state and one storage handle (ctx->s, ctx->st); the
 * database must be initialised. srv_cmd_ctx_close() gives them back. */
int srv_cmd_open(struct srv_cmd_ctx *ctx);
void srv_cmd_ctx_close(struct srv_cmd_ctx *ctx);

/*
 * The `list` subcommand of devices, templates and units: refuse arguments
 * after "list", open the storage and walk it. walk() calls the storage's
 * iterator with arr: NULL for people (its callback prints a line per row)
 * or, with --json, the array printed afterwards as {"key": [...]}.
 */
int srv_cmd_list(struct srv_cmd_ctx *ctx, int argc, int first, const char *key,
                 int (*walk)(struct srv_storage *st, cJSON *arr,
                             struct fld_err *err));

/*
 * The `import FILE` subcommand of units and targets: read FILE (at most
 * cap bytes), open the storage, and in one transaction have load() check
 * and store the bytes (*n: how many rows) and log it in the audit (kind
 * "<noun>s", subject FILE); then print "imported N <noun>s". Any error is
 * prefixed with FILE and changes nothing.
 */
int srv_cmd_import(struct srv_cmd_ctx *ctx, const char *path, size_t cap,
                   const char *noun,
                   int (*load)(struct srv_cmd_ctx *ctx, const uint8_t *data,
                               size_t len, size_t *n));

/* Print root as compact JSON and a newline on stdout, and delete it. */
void srv_cmd_print_json(cJSON *root);
/* "2026-11-28 08:15:02" in local time, "-" for no time (0). */
void srv_cmd_format_time(int64_t ms, char out[32]);
/* Read a whole file of at most cap bytes; *out is new (free()). */
int srv_cmd_read_file(struct srv_cmd_ctx *ctx, const char *path, size_t cap,
                      uint8_t **out, size_t *len);

#endif
