/*
 * program.c - the front of both programs' main() (program.h).
 */
#include "program.h"

#include <locale.h>
#include <sodium.h>
#include <string.h>

#include "cmdline.h"

/* `help` alone prints the program's usage, `help COMMAND` the command's. */
static int run_help(const struct fld_program *p, int argc, char **argv)
{
    struct fld_err err = {0};
    const void *c;

    if (argc < 3) {
        p->usage(stdout);
        return FLD_EXIT_OK;
    }
    c = fld_cmd_find(p->table, p->size, argv[2], p->name, &err);
    if (c == NULL) {
        fprintf(stderr, "%s: %s\n", p->name, err.msg);
        return FLD_EXIT_USAGE;
    }
    p->print_help(c, stdout);
    return FLD_EXIT_OK;
}

const void *fld_program_start(const struct fld_program *p, int argc,
                              char **argv, int *status)
{
    struct fld_err err = {0};
    const void *c;

    setlocale(LC_CTYPE, "");
    *status = FLD_EXIT_USAGE;
    if (sodium_init() < 0) {
        fprintf(stderr, "%s: cannot initialise libsodium\n", p->name);
        *status = FLD_EXIT_FAIL;
        return NULL;
    }
    if (argc < 2) {
        p->usage(stderr);
        return NULL;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        *status = run_help(p, argc, argv);
        return NULL;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s %s\n", p->name, p->version);
        *status = FLD_EXIT_OK;
        return NULL;
    }
    if (argv[1][0] == '-') {
        fprintf(stderr, "%s: unknown option '%s'; see '%s --help'\n", p->name,
                argv[1], p->name);
        return NULL;
    }
    c = fld_cmd_find(p->table, p->size, argv[1], p->name, &err);
    if (c == NULL)
        fprintf(stderr, "%s: %s\n", p->name, err.msg);
    return c;
}

int fld_program_finish(const struct fld_program *p, const char *command, int rc,
                       const struct fld_err *err)
{
    if (rc == -1) /* --help was shown */
        return FLD_EXIT_OK;
    if (rc != FLD_OK)
        fprintf(stderr, "%s: %s: %s\n", p->name, command,
                err->msg[0] ? err->msg : fld_strerror(rc));
    return fld_exit_status(rc);
}
