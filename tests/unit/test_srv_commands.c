/*
 * test_srv_commands.c - the command table of field-server: sorted, unique,
 * every entry complete and its help laid out as field's; look-up by name,
 * unique prefix and suggestion, through the look-up field uses
 * (field/cmdline.h), as tests/unit/test_commands.c checks field's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"

static void test_table_sorted_unique_complete(void **state)
{
    const struct srv_cmd *c;
    int n = 0;

    (void)state;
    for (c = srv_cmd_table; c->name != NULL; c++, n++) {
        assert_non_null(c->run);
        assert_non_null(c->usage);
        assert_non_null(c->help);
        assert_true(strlen(c->help) > 20);
        /* A paragraph, then maybe a blank line and options: no blank line
         * at either end, no trailing newline (print_help adds them). */
        assert_true(c->help[0] != '\n');
        assert_true(c->help[strlen(c->help) - 1] != '\n');
        if (c != srv_cmd_table)
            assert_true(strcmp(c[-1].name, c->name) < 0);
    }
    assert_true(n >= 9);
}

static void test_find_exact_prefix_and_suggestion(void **state)
{
    struct fld_err err;

    (void)state;
    assert_string_equal(srv_cmd_find("serve", &err)->name, "serve");
    assert_string_equal(srv_cmd_find("enr", &err)->name, "enroll-code");
    assert_string_equal(srv_cmd_find("b", &err)->name, "backup");
    /* Every command starts with a letter of its own; only "" matches
     * several. */
    assert_null(srv_cmd_find("", &err));
    assert_non_null(strstr(err.msg, "ambiguous"));
    assert_null(srv_cmd_find("serv3", &err));
    assert_int_equal(err.code, FLD_EUSAGE);
    assert_string_equal(err.msg,
                        "unknown command 'serv3'; did you mean 'serve'?");
    assert_null(srv_cmd_find("devics", &err));
    assert_non_null(strstr(err.msg, "did you mean 'devices'"));
    assert_null(srv_cmd_find("zzzzzzzz", &err));
    assert_non_null(strstr(err.msg, "field-server help"));
    /* help is the program's, not a command of the table. */
    assert_null(srv_cmd_find("help", &err));
}

static void test_help_layout(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    f = open_memstream(&text, &len);
    assert_non_null(f);
    srv_cmd_print_help(srv_cmd_find("audit", NULL), f);
    fclose(f);
    /* The usage line, a paragraph, then the options after a blank line,
     * the command's own first and those every command has last. */
    assert_true(strncmp(text, "usage: field-server audit [--json]", 34) == 0);
    assert_non_null(strstr(text, "]\n\nShow the alarms"));
    assert_non_null(strstr(text, "alarm.\n\n  --kind KIND"));
    assert_non_null(strstr(text, "\n  --db PATH"));
    assert_true(strstr(text, "--kind") < strstr(text, "--db"));
    free(text);

    f = open_memstream(&text, &len);
    assert_non_null(f);
    srv_cmd_print_help(srv_cmd_find("init", NULL), f);
    fclose(f);
    assert_true(strncmp(text, "usage: field-server init\n\nCreate", 32) == 0);
    assert_non_null(strstr(text, "templates.\n\n  --db PATH"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sorted_unique_complete),
        cmocka_unit_test(test_find_exact_prefix_and_suggestion),
        cmocka_unit_test(test_help_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
