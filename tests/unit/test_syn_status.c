/*
 * test_syn_status.c - the note of how the last sync ended (sync/status.c):
 * written beside the store and read back; a failure keeps the time of the
 * last sync that worked; a store from before the file is read from its
 * meta table until the first note; a damaged or missing note reads as the
 * meta table's, or as none; words that are not UTF-8 never make the note
 * fail; and noting never writes to the store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"
#include "file.h"
#include "status.h"
#include "testutil.h"

static int setup(void **state)
{
    *state = tu_device_open(7, "An");
    return 0;
}

static int teardown(void **state)
{
    tu_device_close(*state);
    return 0;
}

static char *note_path(const struct tu_device *d)
{
    return fld_xasprintf("%s/%s", d->dir, SYN_STATUS_FILE);
}

static void expect_note(struct tu_device *d, int64_t try_ms, int64_t ok_ms,
                        const char *error)
{
    struct syn_status s;

    syn_status_read(d->dir, d->st, &s);
    assert_int_equal(s.last_try_ms, try_ms);
    assert_int_equal(s.last_ok_ms, ok_ms);
    assert_string_equal(s.last_error, error);
    syn_status_free(&s);
}

static void put_file(const struct tu_device *d, const char *text)
{
    char *path = note_path(d);

    assert_int_equal(fld_file_write(path, text, strlen(text), 0600, 0, NULL),
                     FLD_OK);
    free(path);
}

static void test_never_synced(void **state)
{
    expect_note(*state, 0, 0, "");
}

static void test_noted_and_read_back(void **state)
{
    struct tu_device *d = *state;
    char *path = note_path(d);
    struct stat st;

    syn_status_note(d->dir, d->st, 1000, FLD_OK, NULL);
    expect_note(d, 1000, 1000, "");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* a failure: the last sync that worked is kept */
    syn_status_note(d->dir, d->st, 2000, FLD_ENET, "cannot reach the server");
    expect_note(d, 2000, 1000, "cannot reach the server");
    /* no words: the code's own */
    syn_status_note(d->dir, d->st, 3000, FLD_ENET, NULL);
    expect_note(d, 3000, 1000, fld_strerror(FLD_ENET));
    /* words that are not UTF-8 (from afar): still noted, in the code's */
    syn_status_note(d->dir, d->st, 4000, FLD_EPROTO, "bad \xff bytes");
    expect_note(d, 4000, 1000, fld_strerror(FLD_EPROTO));
    syn_status_note(d->dir, d->st, 5000, FLD_OK, NULL);
    expect_note(d, 5000, 5000, "");
    free(path);
}

/* A store from before the file: its meta table, until the first note. */
static void test_older_store_read_from_meta(void **state)
{
    struct tu_device *d = *state;

    assert_int_equal(fld_store_meta_set_int(d->st, SYN_META_LAST_TRY, 70, NULL),
                     FLD_OK);
    assert_int_equal(fld_store_meta_set_int(d->st, SYN_META_LAST_OK, 60, NULL),
                     FLD_OK);
    assert_int_equal(
        fld_store_meta_set(d->st, SYN_META_LAST_ERROR, "timed out", NULL),
        FLD_OK);
    expect_note(d, 70, 60, "timed out");
    syn_status_note(d->dir, d->st, 80, FLD_ENET, "no route");
    expect_note(d, 80, 60, "no route");
}

/* Empty (a power cut), not JSON, a member missing or of the wrong type,
 * too large: each reads as no note, so as the meta table's. */
static void test_damaged_note_reads_as_none(void **state)
{
    static const char *const damaged[] = {
        "",
        "{\"last_attempt_ms\":1",
        "{\"last_attempt_ms\":1,\"last_ok_ms\":1}",
        "{\"last_attempt_ms\":\"1\",\"last_error\":\"\",\"last_ok_ms\":1}",
        "[1,2,3]",
    };
    struct tu_device *d = *state;
    char *big = fld_xcalloc(1, 10001);
    size_t i;

    assert_int_equal(fld_store_meta_set_int(d->st, SYN_META_LAST_TRY, 9, NULL),
                     FLD_OK);
    for (i = 0; i < sizeof damaged / sizeof *damaged; i++) {
        put_file(d, damaged[i]);
        expect_note(d, 9, 0, "");
    }
    memset(big, ' ', 10000);
    put_file(d, big);
    expect_note(d, 9, 0, "");
    /* and a good one is read */
    put_file(d,
             "{\"last_attempt_ms\":5,\"last_error\":\"x\",\"last_ok_ms\":4}");
    expect_note(d, 5, 4, "x");
    free(big);
}

/* Noting writes nothing to the store: its meta table is as it was. */
static void test_note_leaves_the_store_alone(void **state)
{
    struct tu_device *d = *state;
    int64_t v = -1;

    syn_status_note(d->dir, d->st, 1234, FLD_OK, NULL);
    assert_int_equal(fld_store_meta_get_int(d->st, SYN_META_LAST_TRY, &v, NULL),
                     FLD_NOTFOUND);
    assert_int_equal(fld_store_meta_get_int(d->st, SYN_META_LAST_OK, &v, NULL),
                     FLD_NOTFOUND);
}

/* A note that cannot be written (its folder is gone) is left out. */
static void test_unwritable_note_is_left_out(void **state)
{
    struct tu_device *d = *state;
    char *gone = fld_xasprintf("%s/no-such-folder", d->dir);

    syn_status_note(gone, d->st, 1, FLD_OK, NULL);
    expect_note(d, 0, 0, "");
    free(gone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_never_synced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noted_and_read_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_older_store_read_from_meta, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_damaged_note_reads_as_none, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_note_leaves_the_store_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_note_is_left_out, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
