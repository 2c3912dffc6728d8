/*
 * test_units.c - importing administrative units: valid files, validity
 * dates, and every kind of bad line refused with its line number and
 * nothing stored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>

#include "testutil.h"
#include "units.h"

#define HEADER "code,name,kind,parent_code,valid_from,valid_to\n"

static int setup(void **state)
{
    *state = tu_device_open(5, "Hoàng Văn Em");
    return 0;
}

static int teardown(void **state)
{
    tu_device_close(*state);
    return 0;
}

static int import(struct tu_device *d, const char *csv, size_t *n,
                  struct fld_err *err)
{
    return fld_units_import(d->st, (const uint8_t *)csv, strlen(csv), n, err);
}

struct got {
    char name[128];
    char kind[32];
};

static int keep(void *ctx, const struct fld_unit *u)
{
    struct got *g = ctx;

    snprintf(g->name, sizeof g->name, "%s", u->name);
    snprintf(g->kind, sizeof g->kind, "%s", u->kind);
    return FLD_OK;
}

static void test_import_and_validity(void **state)
{
    struct tu_device *d = *state;
    struct got g;
    size_t n;
    int64_t count;

    assert_int_equal(
        import(d,
               HEADER "42,Tỉnh Hà Tĩnh,tinh,,1991-10-01,\n"
                      "437,Thị xã Hồng Lĩnh,thi_xa,42,1992-08-01,2025-06-30\r\n"
                      "18115,\"Bắc Hồng Lĩnh\",phuong,42,2025-07-01,\n"
                      "18682,Yên Hòa,xa,42,2025-07-01,2026-04-29\n"
                      "18682,Yên Hoà,xa,42,2026-04-30,\n",
               &n, NULL),
        FLD_OK);
    assert_int_equal(n, 5);
    assert_int_equal(fld_store_unit_count(d->st, &count, NULL), FLD_OK);
    assert_int_equal(count, 5);
    assert_int_equal(
        fld_store_unit_at(d->st, "437", "2024-01-01", keep, &g, NULL), FLD_OK);
    assert_string_equal(g.name, "Thị xã Hồng Lĩnh");
    assert_int_equal(
        fld_store_unit_at(d->st, "437", "2025-07-01", keep, &g, NULL),
        FLD_NOTFOUND);
    assert_int_equal(
        fld_store_unit_at(d->st, "18682", "2026-01-01", keep, &g, NULL),
        FLD_OK);
    assert_string_equal(g.name, "Yên Hòa");
    assert_int_equal(
        fld_store_unit_at(d->st, "18682", "2026-05-01", keep, &g, NULL),
        FLD_OK);
    assert_string_equal(g.name, "Yên Hoà");
    assert_string_equal(g.kind, "xa");
    /* importing again replaces, never duplicates */
    assert_int_equal(
        import(d, HEADER "42,Tỉnh Hà Tĩnh,tinh,,1991-10-01,\n", &n, NULL),
        FLD_OK);
    fld_store_unit_count(d->st, &count, NULL);
    assert_int_equal(count, 5);
}

static void refused(struct tu_device *d, const char *csv, const char *words)
{
    struct fld_err err;
    size_t n = 99;
    int64_t count;

    fld_err_clear(&err);
    assert_int_not_equal(import(d, csv, &n, &err), FLD_OK);
    assert_int_equal(n, 0);
    if (strstr(err.msg, words) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", words, err.msg);
    fld_store_unit_count(d->st, &count, NULL);
    assert_int_equal(count, 0);
}

static void test_bad_files_refused_whole(void **state)
{
    struct tu_device *d = *state;

    refused(d, "code,name\n1,a\n", "line 1: expected the header");
    refused(
        d, HEADER "42,Tỉnh Hà Tĩnh,tinh,,1991-10-01,\n43,X,xa,42,2025-13-01,\n",
        "line 3: valid_from");
    refused(d, HEADER "42,Tỉnh,tinh,,1991-10-01\n",
            "line 2: expected 6 fields, got 5");
    refused(d, HEADER "42,Tỉnh,tinh,,1991-10-01,,extra\n", "line 2");
    refused(d, HEADER "4 2,Tỉnh,tinh,,1991-10-01,\n", "line 2: code");
    refused(d, HEADER "42,,tinh,,1991-10-01,\n", "line 2: name");
    refused(d, HEADER "42,Tỉnh,Tinh,,1991-10-01,\n", "line 2: kind");
    refused(d, HEADER "43,Xã,xa,99,2025-07-01,\n", "line 2: parent_code 99");
    refused(d, HEADER "43,Xã,xa,,2025-07-01,2025-06-30\n", "line 2: valid_to");
    refused(d, HEADER "43,\"Xã,xa,,2025-07-01,\n", "unterminated");
    refused(d, HEADER "43,X\xff,xa,,2025-07-01,\n", "UTF-8");
    refused(d, HEADER "43,Nguye\xcc\x82\xcc\x83n,xa,,2025-07-01,\n", "NFC");
}

static void test_shipped_units_file(void **state)
{
    struct tu_device *d = *state;
    const struct fld_embedded *e = fld_embedded_find("ha-tinh.csv");
    struct fld_err err;
    struct got g;
    size_t n;

    if (e == NULL)
        skip();
    if (fld_units_import(d->st, e->data, e->len, &n, &err) != FLD_OK)
        fail_msg("ha-tinh.csv: %s", err.msg);
    assert_true(n >= 69 + 13 + 1);
    assert_int_equal(
        fld_store_unit_at(d->st, "18073", "2026-01-01", keep, &g, NULL),
        FLD_OK);
    assert_string_equal(g.name, "Thành Sen");
    assert_int_equal(
        fld_store_unit_at(d->st, "448", "2024-06-01", keep, &g, NULL), FLD_OK);
    assert_int_equal(
        fld_store_unit_at(d->st, "448", "2025-02-01", keep, &g, NULL),
        FLD_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import_and_validity, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_refused_whole, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shipped_units_file, setup,
                                        teardown),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
