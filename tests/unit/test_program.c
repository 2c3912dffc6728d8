/*
 * test_program.c - the front both programs' main() share (field/program.h):
 * which first arguments run a command, which print help or the version,
 * which are usage errors, and the exit status a command's result becomes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cmdline.h"
#include "program.h"

struct entry {
    const char *name;
    int value;
};

static const struct entry table[] = {
    {"serve", 1}, {"status", 2}, {"sync", 3}, {NULL, 0}};

static int usages, helps;
static const struct entry *helped;

static void usage(FILE *out)
{
    (void)out;
    usages++;
}

static void print_help(const void *cmd, FILE *out)
{
    (void)out;
    helps++;
    helped = cmd;
}

static const struct fld_program prog = {"prog",        "9.9", table,
                                        sizeof *table, usage, print_help};

/* Start with the arguments after the program's name; NULL ends them. */
static const struct entry *start(int *status, const char *a, const char *b)
{
    char *argv[4] = {(char *)"prog", (char *)a, (char *)b, NULL};
    int argc = a == NULL ? 1 : b == NULL ? 2 : 3;

    usages = helps = 0;
    helped = NULL;
    *status = -99;
    return fld_program_start(&prog, argc, argv, status);
}

static void test_a_command_by_name_or_prefix(void **state)
{
    int status;

    (void)state;
    assert_int_equal(start(&status, "serve", NULL)->value, 1);
    assert_int_equal(start(&status, "sy", "--json")->value, 3);
    assert_int_equal(status, FLD_EXIT_USAGE); /* untouched meaning: run it */
}

static void test_help_and_version_exit_zero(void **state)
{
    int status;

    (void)state;
    assert_null(start(&status, "--help", NULL));
    assert_int_equal(status, FLD_EXIT_OK);
    assert_int_equal(usages, 1);
    assert_null(start(&status, "help", "stat"));
    assert_int_equal(status, FLD_EXIT_OK);
    assert_int_equal(helps, 1);
    assert_int_equal(helped->value, 2);
    assert_null(start(&status, "--version", NULL));
    assert_int_equal(status, FLD_EXIT_OK);
}

static void test_usage_errors_exit_two(void **state)
{
    int status;

    (void)state;
    assert_null(start(&status, NULL, NULL)); /* no command at all */
    assert_int_equal(status, FLD_EXIT_USAGE);
    assert_int_equal(usages, 1);
    assert_null(start(&status, "--frobnicate", NULL));
    assert_int_equal(status, FLD_EXIT_USAGE);
    assert_null(start(&status, "s", NULL)); /* ambiguous */
    assert_int_equal(status, FLD_EXIT_USAGE);
    assert_null(start(&status, "srve", NULL));
    assert_int_equal(status, FLD_EXIT_USAGE);
    assert_null(start(&status, "help", "nothing"));
    assert_int_equal(status, FLD_EXIT_USAGE);
    assert_int_equal(helps, 0);
}

static void test_finish_maps_results(void **state)
{
    struct fld_err err = {0};

    (void)state;
    assert_int_equal(fld_program_finish(&prog, "serve", FLD_OK, &err), 0);
    assert_int_equal(fld_program_finish(&prog, "serve", -1, &err), 0);
    fld_err_set(&err, FLD_NOTFOUND, "no record 'x'");
    assert_int_equal(fld_program_finish(&prog, "serve", FLD_NOTFOUND, &err),
                     FLD_EXIT_NOTFOUND);
    memset(&err, 0, sizeof err); /* no message: the result's own words */
    assert_int_equal(fld_program_finish(&prog, "serve", FLD_EUSAGE, &err),
                     FLD_EXIT_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_command_by_name_or_prefix),
        cmocka_unit_test(test_help_and_version_exit_zero),
        cmocka_unit_test(test_usage_errors_exit_two),
        cmocka_unit_test(test_finish_maps_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
