/*
 * test_srv_commands.c - the command table of field-server: sorted, unique,
 * every entry complete, as tests/unit/test_commands.c checks field's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "command.h"

static void test_table_sorted_unique_complete(void **state)
{
    const struct srv_cmd *c;
    int n = 0;

    (void)state;
    for (c = srv_cmd_table; c->name != NULL; c++, n++) {
        assert_non_null(c->usage);
        assert_non_null(c->help);
        assert_true(strlen(c->help) > 10);
        if (c != srv_cmd_table)
            assert_true(strcmp(c[-1].name, c->name) < 0);
    }
    assert_true(n >= 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sorted_unique_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
