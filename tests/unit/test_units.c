/*
 * test_units.c - importing administrative units: valid files, validity
 * dates, the optional columns in_programme and merged_into, and every kind
 * of bad line refused with its line number and nothing stored: within the
 * file, and across the file and what the store holds already (overlapping
 * versions of a code, a parent not valid on the unit's days, a merger into
 * a unit not valid the day after, a parent cycle).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

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
    char parent[32];
    char merged_into[32];
    bool in_programme;
};

static int keep(void *ctx, const struct fld_unit *u)
{
    struct got *g = ctx;

    snprintf(g->name, sizeof g->name, "%s", u->name);
    snprintf(g->kind, sizeof g->kind, "%s", u->kind);
    snprintf(g->parent, sizeof g->parent, "%s",
             u->parent_code ? u->parent_code : "");
    snprintf(g->merged_into, sizeof g->merged_into, "%s",
             u->merged_into ? u->merged_into : "");
    g->in_programme = u->in_programme;
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

/* csv is refused with words in the message, and the store keeps what it
 * had (count rows, each the same). */
static void refused(struct tu_device *d, const char *csv, const char *words)
{
    struct fld_err err;
    size_t n = 99;
    int64_t before, after;

    fld_store_unit_count(d->st, &before, NULL);
    fld_err_clear(&err);
    assert_int_not_equal(import(d, csv, &n, &err), FLD_OK);
    assert_int_equal(n, 0);
    if (strstr(err.msg, words) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", words, err.msg);
    fld_store_unit_count(d->st, &after, NULL);
    assert_int_equal(after, before);
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

/* The optional columns, by name and in any order; a file without them
 * stays valid (every test above). */
static void test_programme_and_mergers(void **state)
{
    struct tu_device *d = *state;
    struct got g;
    size_t n;

    assert_int_equal(
        import(d,
               "merged_into,code,name,kind,parent_code,valid_from,valid_to,"
               "in_programme\n"
               ",42,Tỉnh Hà Tĩnh,tinh,,1991-10-01,,\n"
               ",447,Huyện Kỳ Anh,huyen,42,1991-10-01,2025-06-30,yes\n"
               ",18838,Kỳ Lạc,xa,42,2025-07-01,,\n"
               "18838,18814,Kỳ Lợi,xa,447,1991-10-01,2025-06-30,no\n"
               ",1881401,Thôn Một,thon,18814,1991-10-01,2025-06-30,\n",
               &n, NULL),
        FLD_OK);
    assert_int_equal(n, 5);
    assert_int_equal(
        fld_store_unit_at(d->st, "18814", "2020-01-01", keep, &g, NULL),
        FLD_OK);
    assert_false(g.in_programme);
    assert_string_equal(g.merged_into, "18838");
    assert_string_equal(g.parent, "447");
    assert_int_equal(
        fld_store_unit_at(d->st, "18838", "2025-07-01", keep, &g, NULL),
        FLD_OK);
    assert_true(g.in_programme);
    assert_string_equal(g.merged_into, "");
    assert_int_equal(
        fld_store_unit_at(d->st, "1881401", "2020-01-01", keep, &g, NULL),
        FLD_OK);
    assert_true(g.in_programme);
}

#define PROV HEADER "42,Tỉnh Hà Tĩnh,tinh,,1991-10-01,\n"
#define HEADER_ALL                                                             \
    "code,name,kind,parent_code,valid_from,valid_to,in_programme,"             \
    "merged_into\n"

static void test_bad_columns_refused(void **state)
{
    struct tu_device *d = *state;

    refused(d, HEADER_ALL "42,Tỉnh,tinh,,,,maybe,\n",
            "line 2: in_programme \"maybe\" is not yes or no");
    refused(d, HEADER_ALL "42,Tỉnh,tinh,,,,Yes,\n", "line 2: in_programme");
    refused(d,
            "code,name,kind,parent_code,valid_from,valid_to,in_programe\n"
            "42,Tỉnh,tinh,,,,no\n",
            "line 1: expected the header code,name,kind,parent_code,"
            "valid_from,valid_to (unknown column \"in_programe\")");
    refused(d, "code,name,kind,parent_code,valid_from,valid_to,code\n",
            "line 1: expected the header");
    refused(d, "code,name,kind,valid_from,valid_to\n",
            "(no column \"parent_code\")");
    refused(d, HEADER_ALL "43,Xã,xa,,2020-01-01,,,9 9\n",
            "line 2: merged_into \"9 9\" is not a unit code");
    refused(d, HEADER_ALL "42,Tỉnh,tinh,,1991-10-01,,,\n43,Xã,xa,42,,,,42\n",
            "line 3: merged_into needs a valid_to");
    refused(d,
            HEADER_ALL "42,Tỉnh,tinh,,1991-10-01,,,\n"
                       "43,Xã,xa,42,2000-01-01,2025-06-30,,99\n",
            "line 3: merged_into 99 is neither in the file nor loaded");
    refused(d,
            HEADER_ALL "42,Tỉnh,tinh,,1991-10-01,,,\n"
                       "43,Xã,xa,42,2000-01-01,2025-06-30,,44\n"
                       "44,Xã Mới,xa,42,2025-08-01,,,\n",
            "line 3: merged_into 44 is not valid on 2025-07-01, the day "
            "after valid_to");
}

/* A code may come again only for another period; one that never ends
 * cannot be followed by another. */
static void test_overlapping_versions_refused(void **state)
{
    struct tu_device *d = *state;
    size_t n;

    refused(d, PROV "42,Hà Tĩnh,tinh,,1991-10-01,\n",
            "line 3: code 42 from 1991-10-01 on overlaps line 2 (from "
            "1991-10-01 on)");
    refused(d,
            PROV "43,Xã,xa,42,2000-01-01,2020-12-31\n"
                 "43,Xã Mới,xa,42,2020-12-31,\n",
            "line 4: code 43 from 2020-12-31 on overlaps line 3");
    refused(d,
            PROV "43,Xã Mới,xa,42,2021-01-01,\n"
                 "43,Xã,xa,42,2000-01-01,\n",
            "line 4: code 43 from 2000-01-01 on overlaps line 3");
    /* a rename: disjoint periods */
    assert_int_equal(import(d,
                            PROV "43,Xã,xa,42,2000-01-01,2020-12-31\n"
                                 "43,Xã Mới,xa,42,2021-01-01,\n",
                            &n, NULL),
                     FLD_OK);
    /* ... and against the store */
    refused(d, HEADER "43,Xã Khác,xa,42,2020-06-01,\n",
            "line 2: code 43 from 2020-06-01 on overlaps its stored version "
            "from 2000-01-01 to 2020-12-31");
    /* the same code and start replaces the stored version */
    assert_int_equal(
        import(d, HEADER "43,Xã Mới Hơn,xa,42,2021-01-01,\n", &n, NULL),
        FLD_OK);
}

/* Some version of the parent is valid on every day of the child's. */
static void test_parent_validity(void **state)
{
    struct tu_device *d = *state;
    struct got g;
    size_t n;
    int64_t count;

    refused(d,
            PROV "447,Huyện Kỳ Anh,huyen,42,1991-10-01,2025-06-30\n"
                 "18838,Kỳ Lạc,xa,447,2025-07-01,\n",
            "line 4: parent_code 447 is not valid on 2025-07-01, within the "
            "unit's period (from 2025-07-01 on)");
    refused(d,
            PROV "447,Huyện Kỳ Anh,huyen,42,1991-10-01,2025-06-30\n"
                 "18814,Kỳ Lợi,xa,447,1991-10-01,\n",
            "line 4: parent_code 447 is not valid on 2025-07-01");
    refused(d,
            PROV "447,Huyện,huyen,42,1991-10-01,2000-12-31\n"
                 "447,Huyện,huyen,42,2001-02-01,\n"
                 "18814,Kỳ Lợi,xa,447,1995-01-01,\n",
            "line 5: parent_code 447 is not valid on 2001-01-01");
    /* two versions of the parent (a rename) cover the child together;
     * a child whose start is not known needs its parent from the
     * parent's first day only */
    assert_int_equal(
        import(d,
               PROV "447,Huyện Kỳ Anh,huyen,42,1991-10-01,2009-12-31\n"
                    "447,Huyện Kỳ Anh Mới,huyen,42,2010-01-01,2025-06-30\n"
                    "18814,Kỳ Lợi,xa,447,2000-01-01,2025-06-30\n"
                    "1881401,Thôn Một,thon,18814,,2025-06-30\n",
               &n, NULL),
        FLD_OK);
    assert_int_equal(n, 5);
    /* a file that ends a parent earlier would orphan a stored child */
    refused(d, HEADER "447,Huyện Kỳ Anh Mới,huyen,42,2010-01-01,2020-12-31\n",
            "line 2: unit 447 would not be valid on 2021-01-01, when the "
            "stored unit 18814 (from 2000-01-01 to 2025-06-30) lies under "
            "it");
    fld_store_unit_count(d->st, &count, NULL);
    assert_int_equal(count, 5);
    assert_int_equal(
        fld_store_unit_at(d->st, "447", "2020-01-01", keep, &g, NULL), FLD_OK);
    assert_string_equal(g.name, "Huyện Kỳ Anh Mới");
}

static void test_parent_cycles_refused(void **state)
{
    struct tu_device *d = *state;
    size_t n;

    refused(d, HEADER "42,Tỉnh,tinh,42,,\n",
            "line 2: parent_code cycle: 42 → 42");
    refused(d,
            HEADER "42,Tỉnh,tinh,43,,\n"
                   "43,Xã,xa,42,,\n",
            "line 2: parent_code cycle: 42 → 43 → 42");
    /* across dates: the tree by code must have no cycle at all */
    refused(d,
            HEADER "42,Tỉnh,tinh,,2000-01-01,2009-12-31\n"
                   "42,Tỉnh,tinh,43,2010-01-01,\n"
                   "43,Xã,xa,42,2000-01-01,2009-12-31\n"
                   "43,Xã,xa,,2010-01-01,\n",
            "line 3: parent_code cycle: 42 → 43 → 42");
    /* across the file and the store */
    assert_int_equal(import(d,
                            HEADER "42,Tỉnh,tinh,,,\n"
                                   "43,Huyện,huyen,42,,\n"
                                   "44,Xã,xa,43,,\n",
                            &n, NULL),
                     FLD_OK);
    refused(d, HEADER "42,Tỉnh Hà Tĩnh,tinh,44,,\n",
            "line 2: parent_code cycle: 42 → 44 → 43 → 42");
}

/* The server's migration gave the units of its previous release no dates
 * (valid since ever, still valid), as a row with both dates empty does:
 * a file that dates such a code replaces that version. */
static void test_dating_an_undated_unit(void **state)
{
    struct tu_device *d = *state;
    struct got g;
    size_t n;
    int64_t count;

    assert_int_equal(import(d,
                            HEADER "42,Tỉnh,tinh,,,\n"
                                   "43,Xã,xa,42,,\n",
                            &n, NULL),
                     FLD_OK);
    assert_int_equal(import(d,
                            HEADER "43,Xã Cũ,xa,42,2000-01-01,2025-06-30\n"
                                   "43,Xã Mới,xa,42,2025-07-01,\n",
                            &n, NULL),
                     FLD_OK);
    fld_store_unit_count(d->st, &count, NULL);
    assert_int_equal(count, 3);
    assert_int_equal(
        fld_store_unit_at(d->st, "43", "1990-01-01", keep, &g, NULL),
        FLD_NOTFOUND);
    assert_int_equal(
        fld_store_unit_at(d->st, "43", "2025-07-01", keep, &g, NULL), FLD_OK);
    assert_string_equal(g.name, "Xã Mới");
    /* a dated version is never replaced that way: it overlaps */
    refused(d, HEADER "43,Xã Khác,xa,42,2025-08-01,\n",
            "line 2: code 43 from 2025-08-01 on overlaps its stored version "
            "from 2025-07-01 on");
}

/* A store of the previous release (schema version 3, units without
 * in_programme or merged_into) opens migrated: its units take part in the
 * programme and record no merger. */
static void test_previous_store_migrates(void **state)
{
    static const char *const files[] = {"field.sql", "field-002.sql",
                                        "field-003.sql"};
    char *dir = tu_mkdtemp();
    char *path = fld_xasprintf("%s/old.db", dir);
    struct fld_store *st;
    struct got g;
    sqlite3 *db;
    size_t i;

    (void)state;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        const struct fld_embedded *e = fld_embedded_find(files[i]);
        char *sql;

        assert_non_null(e);
        sql = (char *)fld_embedded_inflate(e);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        free(sql);
    }
    assert_int_equal(
        sqlite3_exec(db,
                     "PRAGMA user_version = 3; INSERT INTO units (code, name, "
                     "kind, parent_code, valid_from, valid_to) VALUES ('42', "
                     "'Tỉnh Hà Tĩnh', 'tinh', NULL, '0000-01-01', NULL)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(fld_store_open(path, FLD_STORE_OPEN, &st, NULL), FLD_OK);
    assert_int_equal(fld_store_unit_at(st, "42", "2026-01-01", keep, &g, NULL),
                     FLD_OK);
    assert_string_equal(g.name, "Tỉnh Hà Tĩnh");
    assert_true(g.in_programme);
    assert_string_equal(g.merged_into, "");
    fld_store_close(st);
    free(path);
    tu_rmdir(dir);
}

static void test_shipped_units_file(void **state)
{
    struct tu_device *d = *state;
    const struct fld_embedded *e = fld_embedded_find("ha-tinh.csv");
    unsigned char *csv;
    struct fld_err err;
    struct got g;
    size_t n;

    if (e == NULL)
        skip();
    csv = fld_embedded_inflate(e);
    if (fld_units_import(d->st, csv, e->len, &n, &err) != FLD_OK)
        fail_msg("ha-tinh.csv: %s", err.msg);
    free(csv);
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
        cmocka_unit_test_setup_teardown(test_programme_and_mergers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_columns_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_overlapping_versions_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_parent_validity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parent_cycles_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dating_an_undated_unit, setup,
                                        teardown),
        cmocka_unit_test(test_previous_store_migrates),
        cmocka_unit_test_setup_teardown(test_shipped_units_file, setup,
                                        teardown),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
