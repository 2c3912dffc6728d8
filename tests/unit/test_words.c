/*
 * test_words.c - space-separated word lists (field/words.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "words.h"

static void test_word_in(void **state)
{
    (void)state;
    assert_true(fld_word_in("18133", "18133"));
    assert_true(fld_word_in("18133 18160", "18160"));
    assert_true(fld_word_in("xa phuong thon", "phuong"));
    assert_false(fld_word_in("18133 18160", "1816"));
    assert_false(fld_word_in("18133 18160", "8133"));
    assert_false(fld_word_in("181330 18160", "18133"));
    assert_false(fld_word_in("", "x"));
    assert_false(fld_word_in("a b", ""));
    /* a later, whole occurrence after a partial one */
    assert_true(fld_word_in("xa-ntm-nang-cao xa-ntm", "xa-ntm"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_word_in),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
