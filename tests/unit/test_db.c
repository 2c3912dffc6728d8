/*
 * test_db.c - field/db.c on a small kind of database of its own: which
 * files are opened (stamped, empty, the previous release's) and which are
 * refused without a byte written (another kind, an unrelated SQLite file,
 * a newer one), the migrations, and the statement table with its helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <zlib.h>

#include "db.h"
#include "file.h"
#include "testutil.h"

#define TOY_APP 0x544f5921 /* "TOY!" */

static const unsigned char toy_1[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE things (name TEXT PRIMARY KEY, n INTEGER NOT NULL);";
static const unsigned char toy_2[] = "CREATE TABLE more (x TEXT);"
                                     "CREATE INDEX more_x ON more (x);";

/* Kept gzip-compressed, as the build keeps the real schemas (embedded.h);
 * filled in by gzip_toys(). */
static unsigned char toy_gz[2][256];
static struct fld_embedded toy_files[] = {{"toy-1.sql", toy_gz[0], 0, 0},
                                          {"toy-2.sql", toy_gz[1], 0, 0},
                                          {NULL, NULL, 0, 0}};

static int gzip_toys(void **state)
{
    const unsigned char *text[2] = {toy_1, toy_2};
    size_t len[2] = {sizeof toy_1 - 1, sizeof toy_2 - 1};
    int i;

    (void)state;
    for (i = 0; i < 2; i++) {
        z_stream z;

        memset(&z, 0, sizeof z);
        if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            return -1;
        z.next_in = (Bytef *)(size_t)text[i];
        z.avail_in = (uInt)len[i];
        z.next_out = toy_gz[i];
        z.avail_out = sizeof toy_gz[i];
        if (deflate(&z, Z_FINISH) != Z_STREAM_END)
            return -1;
        toy_files[i].gz_len = z.total_out;
        toy_files[i].len = len[i];
        deflateEnd(&z);
    }
    return 0;
}
static const char *const toy_migrations[] = {"toy-1.sql", "toy-2.sql"};

enum { T_PUT, T_GET, T_ALL, T_PREFIX, T_COUNT, T_BAD, N_T };
static const char *const toy_sql[N_T] = {
    [T_PUT] = "INSERT INTO things (name, n) VALUES (?1, coalesce(?2, 0))",
    [T_GET] = "SELECT n FROM things WHERE name = ?1",
    [T_ALL] = "SELECT name FROM things ORDER BY name",
    [T_PREFIX] = "SELECT name FROM things WHERE name >= ?1 AND "
                 "name < ?1 || '~' ORDER BY name LIMIT 2",
    [T_COUNT] = "SELECT count(*), coalesce(sum(n), 0) FROM things",
    [T_BAD] = "SELECT nothing FROM nowhere",
};

static const struct fld_db_kind toy = {
    .name = "toy store",
    .program = "toy",
    .application_id = TOY_APP,
    .files = toy_files,
    .migrations = toy_migrations,
    .n_migrations = 2,
    .sql = toy_sql,
    .n_stmts = N_T,
    .busy_ms = 100,
};

struct fx {
    char *dir;
    char *path; /* other.db: tu_rmdir removes it */
};

static int setup(void **state)
{
    struct fx *f = fld_xcalloc(1, sizeof *f);

    f->dir = tu_mkdtemp();
    f->path = fld_xasprintf("%s/other.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    free(f->path);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* Run sql on the file at path with SQLite itself, as another program. */
static void raw(const char *path, const char *sql)
{
    sqlite3 *db;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* The whole file, to show that a refused open wrote nothing. */
static char *slurp(const char *path, size_t *len)
{
    uint8_t *data;

    assert_int_equal(fld_file_read(path, 1 << 24, &data, len, NULL), FLD_OK);
    return (char *)data;
}

/*
 * A big-endian number of the file's 100-byte header, where docs/FORMATS.md
 * says to look: user_version at byte 60, application_id at byte 68. The
 * database is closed, so its write-ahead log is folded into the file.
 */
#define USER_VERSION 60
#define APPLICATION_ID 68
static uint32_t header(const char *path, size_t at)
{
    size_t len;
    uint8_t *h = (uint8_t *)slurp(path, &len);
    uint32_t v;

    assert_true(len >= 100);
    v = (uint32_t)h[at] << 24 | (uint32_t)h[at + 1] << 16 |
        (uint32_t)h[at + 2] << 8 | h[at + 3];
    free(h);
    return v;
}

/* Open must fail with code and a message holding want, and leave the
 * file's bytes exactly as they were. */
static void refused(const char *path, int mode, int code, const char *want)
{
    struct fld_db *d = (struct fld_db *)&d;
    struct fld_err err;
    size_t len_before, len_after;
    char *before = slurp(path, &len_before), *after;

    fld_err_clear(&err);
    assert_int_equal(fld_db_open(path, &toy, mode, &d, &err), code);
    assert_null(d);
    if (strstr(err.msg, want) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
    after = slurp(path, &len_after);
    assert_int_equal(len_after, len_before);
    assert_memory_equal(after, before, len_before);
    free(before);
    free(after);
}

static void test_create_stamps_and_migrates(void **state)
{
    struct fx *f = *state;
    struct fld_db *d;

    assert_int_equal(fld_db_open(f->path, &toy, 0, &d, NULL), FLD_NOTFOUND);
    assert_int_equal(fld_db_open(f->path, &toy, FLD_DB_CREATE, &d, NULL),
                     FLD_OK);
    fld_db_close(d);
    assert_int_equal(header(f->path, APPLICATION_ID), TOY_APP);
    assert_int_equal(header(f->path, USER_VERSION), 2);
    /* reopened as it is: nothing more to do */
    assert_int_equal(fld_db_open(f->path, &toy, 0, &d, NULL), FLD_OK);
    fld_db_close(d);
}

static void test_empty_file(void **state)
{
    struct fx *f = *state;
    struct fld_db *d;
    FILE *fp = fopen(f->path, "w");

    assert_non_null(fp);
    fclose(fp);
    refused(f->path, 0, FLD_ECORRUPT, "not a toy store (it is empty)");
    assert_int_equal(fld_db_open(f->path, &toy, FLD_DB_INIT_EMPTY, &d, NULL),
                     FLD_OK);
    fld_db_close(d);
    assert_int_equal(header(f->path, APPLICATION_ID), TOY_APP);
}

static void test_other_kinds_refused(void **state)
{
    struct fx *f = *state;
    char *sql;

    sql = fld_xasprintf("PRAGMA application_id = %d; PRAGMA user_version = 1;"
                        "CREATE TABLE devices (pubkey TEXT);",
                        FLD_DB_APP_SERVER);
    raw(f->path, sql);
    free(sql);
    refused(f->path, FLD_DB_CREATE, FLD_ECORRUPT,
            "other.db: not a toy store (it is a field-server database)");
    unlink(f->path);
    sql = fld_xasprintf("PRAGMA application_id = %d", FLD_DB_APP_DEVICE);
    raw(f->path, sql);
    free(sql);
    refused(f->path, 0, FLD_ECORRUPT, "(it is a field device store)");
    unlink(f->path);
    raw(f->path, "PRAGMA application_id = 1234");
    refused(f->path, FLD_DB_CREATE, FLD_ECORRUPT,
            "not a toy store (its application_id is 0x000004d2)");
}

static void test_unrelated_sqlite_file_refused(void **state)
{
    struct fx *f = *state;

    raw(f->path, "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('x')");
    refused(f->path, FLD_DB_CREATE, FLD_ECORRUPT,
            "not a toy store (it has other tables)");
    /* numbered like ours, but not our tables */
    raw(f->path, "PRAGMA user_version = 1");
    refused(f->path, 0, FLD_ECORRUPT, "not a toy store (it has other tables)");
    /* numbered beyond us, and without our tables */
    raw(f->path, "PRAGMA user_version = 7");
    refused(f->path, 0, FLD_ECORRUPT, "not a toy store (it has other tables)");
}

static void test_newer_file_refused(void **state)
{
    struct fx *f = *state;
    struct fld_db *d;

    assert_int_equal(fld_db_open(f->path, &toy, FLD_DB_CREATE, &d, NULL),
                     FLD_OK);
    fld_db_close(d);
    raw(f->path, "PRAGMA user_version = 3");
    refused(f->path, 0, FLD_EDB, "version 3 is newer than this program's (2)");
    refused(f->path, 0, FLD_EDB, "upgrade toy");
    /* unstamped, with our tables and more: a newer file of ours */
    raw(f->path, "PRAGMA application_id = 0; CREATE TABLE later (y)");
    refused(f->path, 0, FLD_EDB, "upgrade toy");
}

/* The previous release wrote no application_id: its files open and are
 * stamped then, at whatever schema version they are. */
static void test_previous_release_file_is_stamped(void **state)
{
    struct fx *f = *state;
    struct fld_db *d;
    char *sql = fld_xasprintf("%s PRAGMA user_version = 1;"
                              "INSERT INTO things VALUES ('kept', 5);",
                              (const char *)toy_1);
    bool found;

    raw(f->path, sql);
    free(sql);
    assert_int_equal(fld_db_open(f->path, &toy, 0, &d, NULL), FLD_OK);
    assert_int_equal(
        fld_db_exists(d, T_GET, "kept", NULL, &found, "read", NULL), FLD_OK);
    assert_true(found);
    fld_db_close(d);
    assert_int_equal(header(f->path, APPLICATION_ID), TOY_APP);
    assert_int_equal(header(f->path, USER_VERSION), 2);

    /* one table more than that version had: not ours after all */
    unlink(f->path);
    sql = fld_xasprintf("%s PRAGMA user_version = 1; CREATE TABLE mine (z);",
                        (const char *)toy_1);
    raw(f->path, sql);
    free(sql);
    refused(f->path, 0, FLD_ECORRUPT, "not a toy store (it has other tables)");
}

static void test_garbage_is_corrupt(void **state)
{
    struct fx *f = *state;
    FILE *fp = fopen(f->path, "w");

    assert_non_null(fp);
    fputs("this is not a database at all, just some text to fill a page", fp);
    fclose(fp);
    refused(f->path, FLD_DB_CREATE, FLD_ECORRUPT, "not a database");
}

struct seen {
    char names[64];
    int stop_at;
    int n;
};

static int see(void *ctx, sqlite3_stmt *s)
{
    struct seen *w = ctx;
    size_t used = strlen(w->names);

    snprintf(w->names + used, sizeof w->names - used, "%s", fld_db_text(s, 0));
    return ++w->n == w->stop_at ? FLD_CONFLICT : FLD_OK;
}

static void test_statements_and_helpers(void **state)
{
    struct fx *f = *state;
    struct fld_db *d;
    sqlite3_stmt *s, *again;
    struct fld_err err;
    struct seen w;
    int64_t v[2];
    char **names, one[16];
    size_t n;
    bool found;
    int k;

    assert_int_equal(fld_db_open(f->path, &toy, FLD_DB_CREATE, &d, NULL),
                     FLD_OK);
    /* prepared once, cached on the handle */
    assert_int_equal(fld_db_stmt(d, T_GET, &s, NULL), FLD_OK);
    assert_int_equal(fld_db_stmt(d, T_GET, &again, NULL), FLD_OK);
    assert_ptr_equal(s, again);
    assert_int_equal(fld_db_stmt(d, T_BAD, &s, &err), FLD_EDB);
    assert_null(s);
    assert_non_null(strstr(err.msg, "prepare"));

    assert_int_equal(fld_db_begin(d, NULL), FLD_OK);
    assert_int_equal(fld_db_run(d, T_PUT, "apple", "3", "put", NULL), FLD_OK);
    assert_int_equal(fld_db_run(d, T_PUT, "apricot", NULL, "put", NULL),
                     FLD_OK);
    assert_int_equal(fld_db_run(d, T_PUT, "banana", "4", "put", NULL), FLD_OK);
    assert_int_equal(fld_db_run(d, T_PUT, "apple", "1", "put", &err),
                     FLD_EXISTS);
    assert_int_equal(fld_db_commit(d, NULL), FLD_OK);

    assert_int_equal(fld_db_int64s(d, T_COUNT, NULL, v, 2, "count", NULL),
                     FLD_OK);
    assert_int_equal(v[0], 3);
    assert_int_equal(v[1], 7);
    assert_int_equal(fld_db_exists(d, T_GET, "banana", NULL, &found, "r", NULL),
                     FLD_OK);
    assert_true(found);
    assert_int_equal(fld_db_exists(d, T_GET, "cherry", NULL, &found, "r", NULL),
                     FLD_OK);
    assert_false(found);
    assert_int_equal(fld_db_lookup(d, T_GET, "cherry", NULL, &s, "r", &err),
                     FLD_NOTFOUND);
    assert_int_equal(fld_db_lookup(d, T_GET, "apple", NULL, &s, "r", NULL),
                     FLD_OK);
    assert_int_equal(sqlite3_column_int64(s, 0), 3);
    fld_db_reset(s);

    assert_int_equal(fld_db_texts(d, T_ALL, NULL, &names, &n, "all", NULL),
                     FLD_OK);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "apple");
    assert_string_equal(names[2], "banana");
    fld_db_strv_free(names, n);

    assert_int_equal(
        fld_db_prefix(d, T_PREFIX, "ap", one, sizeof one, &k, "find", NULL),
        FLD_OK);
    assert_int_equal(k, 2);
    assert_string_equal(one, "apple");
    assert_int_equal(
        fld_db_prefix(d, T_PREFIX, "ban", one, sizeof one, &k, "find", NULL),
        FLD_OK);
    assert_int_equal(k, 1);
    assert_string_equal(one, "banana");
    assert_int_equal(
        fld_db_prefix(d, T_PREFIX, "z", one, sizeof one, &k, "find", NULL),
        FLD_OK);
    assert_int_equal(k, 0);
    assert_string_equal(one, "");

    /* a walk stops at the first result that is not FLD_OK and returns it;
     * the statement is reset and walks again from the start */
    memset(&w, 0, sizeof w);
    w.stop_at = 2;
    assert_int_equal(fld_db_stmt(d, T_ALL, &s, NULL), FLD_OK);
    assert_int_equal(fld_db_walk(d, s, see, &w, "walk", NULL), FLD_CONFLICT);
    assert_string_equal(w.names, "appleapricot");
    memset(&w, 0, sizeof w);
    assert_int_equal(fld_db_walk(d, s, see, &w, "walk", NULL), FLD_OK);
    assert_string_equal(w.names, "appleapricotbanana");

    /* closing with a transaction open rolls it back */
    assert_int_equal(fld_db_begin(d, NULL), FLD_OK);
    assert_int_equal(fld_db_run(d, T_PUT, "cherry", "1", "put", NULL), FLD_OK);
    fld_db_close(d);
    assert_int_equal(fld_db_open(f->path, &toy, 0, &d, NULL), FLD_OK);
    assert_int_equal(fld_db_int64s(d, T_COUNT, NULL, v, 2, "count", NULL),
                     FLD_OK);
    assert_int_equal(v[0], 3);
    fld_db_close(d);
}

/*
 * One statement inside a transaction that changes far more pages than
 * SQLite keeps of its statement journal in memory, so the journal goes to
 * a temporary file mid-statement. The unix VFS of SQLite 3.40 writes at
 * most 128 KiB in one call, and the in-memory journal is written out as
 * one piece of the configured size: at 512 KiB, as field configured it
 * before, this failed as "the disk is full", and with it every migration
 * of a store of some thousands of versions (field-009.sql, server-006.sql).
 */
static void test_large_statement_in_a_transaction(void **state)
{
    struct fx *f = *state;
    struct fld_db *d;
    struct fld_err err;
    int64_t v[2];

    assert_int_equal(fld_db_open(f->path, &toy, FLD_DB_CREATE, &d, NULL),
                     FLD_OK);
    /* about 600 pages of rows, 2.4 MB: each row on a page of its own */
    assert_int_equal(fld_db_exec(d->db,
                                 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
                                 "SELECT i + 1 FROM c WHERE i < 600) "
                                 "INSERT INTO things (name, n) SELECT "
                                 "printf('%04d', i) || hex(zeroblob(1500)), i "
                                 "FROM c",
                                 "fill", NULL),
                     FLD_OK);
    fld_err_clear(&err);
    assert_int_equal(fld_db_begin(d, NULL), FLD_OK);
    /* n is NOT NULL, so the update may fail half-way: it journals */
    if (fld_db_exec(d->db, "UPDATE things SET n = n + 1", "update", &err) !=
        FLD_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(fld_db_commit(d, NULL), FLD_OK);
    assert_int_equal(fld_db_int64s(d, T_COUNT, NULL, v, 2, "count", NULL),
                     FLD_OK);
    assert_int_equal(v[0], 600);
    assert_int_equal(v[1], 600 * 601 / 2 + 600);
    fld_db_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_stamps_and_migrates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_kinds_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unrelated_sqlite_file_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_file_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_previous_release_file_is_stamped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_is_corrupt, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_statements_and_helpers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_large_statement_in_a_transaction,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, gzip_toys, NULL);
}
