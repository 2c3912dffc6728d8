/*
 * test_commands.c - the command table of `field`: sorted, unique, every
 * entry complete; look-up by name, unique prefix and suggestion; the exit
 * status of every result code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cmd.h"

static void test_table_sorted_unique_complete(void **state)
{
    const struct cmd *c;
    int n = 0;

    (void)state;
    for (c = cmd_table; c->name != NULL; c++, n++) {
        assert_non_null(c->run);
        assert_non_null(c->usage);
        assert_non_null(c->help);
        assert_true(strlen(c->help) > 20);
        if (c != cmd_table)
            assert_true(strcmp(c[-1].name, c->name) < 0);
    }
    assert_true(n >= 10);
}

static void test_find_exact_prefix_and_suggestion(void **state)
{
    struct fld_err err;

    (void)state;
    assert_string_equal(cmd_find("show", &err)->name, "show");
    assert_string_equal(cmd_find("fin", &err)->name, "finalize");
    assert_string_equal(cmd_find("hist", &err)->name, "history");
    assert_null(cmd_find("s", &err)); /* set, show */
    assert_non_null(strstr(err.msg, "ambiguous"));
    assert_null(cmd_find("verfy", &err));
    assert_non_null(strstr(err.msg, "did you mean 'verify'"));
    assert_null(cmd_find("zzzzzzzz", &err));
    assert_non_null(strstr(err.msg, "field help"));
}

static void test_exit_statuses(void **state)
{
    (void)state;
    assert_int_equal(fld_exit_status(FLD_OK), 0);
    assert_int_equal(fld_exit_status(FLD_EIO), 1);
    assert_int_equal(fld_exit_status(FLD_EFULL), 1);
    assert_int_equal(fld_exit_status(FLD_EUSAGE), 2);
    assert_int_equal(fld_exit_status(FLD_NOTFOUND), 3);
    assert_int_equal(fld_exit_status(FLD_EINVAL), 4);
    assert_int_equal(fld_exit_status(FLD_ECORRUPT), 5);
    assert_int_equal(fld_exit_status(FLD_EBADSIG), 5);
    assert_int_equal(fld_exit_status(FLD_EPASS), 6);
    assert_int_equal(fld_exit_status(FLD_EBUSY), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sorted_unique_complete),
        cmocka_unit_test(test_find_exact_prefix_and_suggestion),
        cmocka_unit_test(test_exit_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
