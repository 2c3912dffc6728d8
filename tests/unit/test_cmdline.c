/*
 * test_cmdline.c - what field and field-server share on the command line
 * (field/cmdline.h): look-up of a command by exact name, unique prefix and
 * suggestion over any table whose entries start with their name, and the
 * exit status of every result code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cmdline.h"

/* Entries of another shape than either program's, name first. */
struct entry {
    const char *name;
    int value;
    const char *extra;
};

static const struct entry table[] = {
    {"backup", 1, "x"}, {"serve", 2, "y"},  {"server", 3, "z"},
    {"set", 4, "w"},    {"status", 5, "v"}, {NULL, 0, NULL},
};

static const struct entry *find(const char *name, struct fld_err *err)
{
    return fld_cmd_find(table, sizeof *table, name, "prog", err);
}

static void test_exact_and_unique_prefix(void **state)
{
    struct fld_err err;

    (void)state;
    assert_int_equal(find("backup", &err)->value, 1);
    assert_int_equal(find("b", &err)->value, 1);
    assert_int_equal(find("sta", &err)->value, 5);
    /* An exact name wins over the longer name it is a prefix of. */
    assert_int_equal(find("serve", &err)->value, 2);
    assert_int_equal(find("server", &err)->value, 3);
}

static void test_ambiguous_prefix(void **state)
{
    struct fld_err err;

    (void)state;
    fld_err_clear(&err);
    assert_null(find("se", &err));
    assert_int_equal(err.code, FLD_EUSAGE);
    assert_string_equal(err.msg, "'se' is ambiguous; say more of the command");
    assert_null(find("se", NULL)); /* err is optional */
}

static void test_suggestion_within_two_edits(void **state)
{
    struct fld_err err;

    (void)state;
    assert_null(find("serv3", &err));
    assert_int_equal(err.code, FLD_EUSAGE);
    assert_string_equal(err.msg,
                        "unknown command 'serv3'; did you mean 'serve'?");
    assert_null(find("bakcup", &err));
    assert_non_null(strstr(err.msg, "did you mean 'backup'?"));
    assert_null(find("zzzzzzzz", &err));
    assert_string_equal(err.msg, "unknown command 'zzzzzzzz'; see 'prog help'");
    /* Longer than any command: compared, never suggested, never overrun. */
    assert_null(find("sssssssssssssssssssssssssssssssssssssssssssssssssssssss"
                     "ssssssssssssssssssssssssssssss",
                     &err));
    assert_non_null(strstr(err.msg, "see 'prog help'"));
}

static void test_exit_status_of_every_code(void **state)
{
    static const int want[FLD_NRESULTS] = {
        [FLD_OK] = 0,       [FLD_NOTFOUND] = 3, [FLD_EXISTS] = 4,
        [FLD_CONFLICT] = 3, [FLD_EUSAGE] = 2,   [FLD_EINVAL] = 4,
        [FLD_ELIMIT] = 4,   [FLD_EIO] = 1,      [FLD_EFULL] = 1,
        [FLD_EDB] = 1,      [FLD_EBUSY] = 7,    [FLD_ECORRUPT] = 5,
        [FLD_EBADSIG] = 5,  [FLD_EPASS] = 6,    [FLD_EPROTO] = 1,
        [FLD_ENET] = 1,
    };
    int code;

    (void)state;
    for (code = 0; code < FLD_NRESULTS; code++)
        assert_int_equal(fld_exit_status(code), want[code]);
    assert_int_equal(fld_exit_status(-1), FLD_EXIT_FAIL);
    assert_int_equal(fld_exit_status(FLD_NRESULTS), FLD_EXIT_FAIL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_unique_prefix),
        cmocka_unit_test(test_ambiguous_prefix),
        cmocka_unit_test(test_suggestion_within_two_edits),
        cmocka_unit_test(test_exit_status_of_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
