/*
 * cmdline.h - what the two command-line programs, field and field-server,
 * share so that they behave alike: finding a command in a table by its
 * name or a unique prefix, suggesting the closest name when none matches,
 * and the exit status of each result code.
 *
 * It sits in libfield because both programs link libfield, and like every
 * libfield module it never prints: the look-up leaves its message in an
 * error record, and each program's main() prints it.
 */
#ifndef FLD_CMDLINE_H
#define FLD_CMDLINE_H

#include <stddef.h>

#include "err.h"

/* Exit statuses of both programs (README.md "Exit codes", docs/SERVER.md). */
enum fld_exit {
    FLD_EXIT_OK = 0,
    FLD_EXIT_FAIL = 1,      /* I/O, database, disk full, anything else */
    FLD_EXIT_USAGE = 2,     /* bad command line */
    FLD_EXIT_NOTFOUND = 3,  /* no such thing; an ambiguous prefix */
    FLD_EXIT_REFUSED = 4,   /* a value or an action refused; already there */
    FLD_EXIT_INTEGRITY = 5, /* verification failed: tampering, corruption */
    FLD_EXIT_KEY = 6,       /* wrong or missing passphrase */
    FLD_EXIT_BUSY = 7       /* the database is locked by another process */
};

/* The exit status for a result code (enum fld_result); never fails. */
int fld_exit_status(int code);

/*
 * Find a command in a table: entries of `size` bytes each, each starting
 * with its name (a const char *), the last one's name NULL. Returns the
 * entry named `name`, else the one entry whose name starts with `name`.
 * Otherwise NULL, and err (may be NULL) is set to FLD_EUSAGE with a
 * message for people: an ambiguous prefix; an unknown name with the
 * closest command when one is within two edits ("did you mean 'serve'?");
 * else an unknown name and "see 'PROGRAM help'".
 */
const void *fld_cmd_find(const void *table, size_t size, const char *name,
                         const char *program, struct fld_err *err);

#endif
