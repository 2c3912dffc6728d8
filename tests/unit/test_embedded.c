/*
 * test_embedded.c - the files built into libfield (field/embedded.h):
 * kept compressed, each inflates to exactly its source file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "embedded.h"

/* The source of an embedded file, read from the tree (tests run from its
 * root); NULL when not found in any folder the build takes them from. */
static unsigned char *source(const char *name, size_t *len)
{
    static const char *const dirs[] = {"schema", "schema/templates",
                                       "schema/units"};
    char path[512];
    size_t i;

    for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        FILE *f;
        unsigned char *data;
        long n;

        snprintf(path, sizeof path, "%s/%s", dirs[i], name);
        if ((f = fopen(path, "rb")) == NULL)
            continue;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        data = malloc((size_t)n + 1);
        assert_non_null(data);
        *len = fread(data, 1, (size_t)n, f);
        fclose(f);
        return data;
    }
    return NULL;
}

static void test_each_inflates_to_its_source(void **state)
{
    const struct fld_embedded *e;
    size_t n_files = 0, total = 0, total_gz = 0;

    (void)state;
    for (e = fld_embedded_files; e->name != NULL; e++) {
        size_t len = 0;
        unsigned char *want = source(e->name, &len);
        unsigned char *got = fld_embedded_inflate(e);

        if (want == NULL)
            fail_msg("%s: no source file in schema/", e->name);
        assert_int_equal(e->len, len);
        assert_memory_equal(got, want, len);
        assert_int_equal(got[len], '\0');
        total += e->len;
        total_gz += e->gz_len;
        n_files++;
        free(got);
        free(want);
    }
    assert_true(n_files > 10);
    /* what the compression is for: a small portable binary */
    assert_true(total_gz * 3 < total);
}

static void test_find(void **state)
{
    const struct fld_embedded *e = fld_embedded_find("field.sql");

    (void)state;
    assert_non_null(e);
    assert_string_equal(e->name, "field.sql");
    assert_null(fld_embedded_find("nothing.sql"));
    assert_null(fld_embedded_find(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_inflates_to_its_source),
        cmocka_unit_test(test_find),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
