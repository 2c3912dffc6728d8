/*
 * test_file.c - field/file.c: capped reads (the cap, a file that grows past
 * it, what is not a regular file) and safe writes (a new file's content and
 * mode, an existing name or a symbolic link refused, replacing, and no
 * temporary file left behind on success or failure).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "file.h"
#include "testutil.h"

struct fx {
    char *dir;
};

static int setup(void **state)
{
    struct fx *f = fld_xcalloc(1, sizeof *f);

    f->dir = tu_mkdtemp();
    *state = f;
    return 0;
}

/* Names in the folder (not . and ..), "" when none, for checking what a
 * write left behind. */
static char *listing(const char *dir)
{
    struct fld_buf b = FLD_BUF_INIT;
    struct dirent *e;
    DIR *d = opendir(dir);

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            fld_buf_printf(&b, "%s%s", b.len ? " " : "", e->d_name);
    closedir(d);
    fld_buf_puts(&b, "");
    return fld_buf_detach(&b, NULL);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char *names = listing(f->dir), *name, *rest = names, *p;

    /* the folder holds plain files, links and at most one folder */
    while ((name = rest) != NULL && *name != '\0') {
        rest = strchr(name, ' ');
        if (rest != NULL)
            *rest++ = '\0';
        p = fld_xasprintf("%s/%s", f->dir, name);
        if (unlink(p) != 0)
            rmdir(p);
        free(p);
    }
    free(names);
    rmdir(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static char *in(const struct fx *f, const char *name)
{
    return fld_xasprintf("%s/%s", f->dir, name);
}

static void put(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_read_whole_file(void **state)
{
    struct fx *f = *state;
    char *path = in(f, "a.txt");
    uint8_t *data = (uint8_t *)"x";
    size_t len = 99;

    put(path, "hello");
    assert_int_equal(fld_file_read(path, 5, &data, &len, NULL), FLD_OK);
    assert_int_equal(len, 5);
    assert_string_equal((char *)data, "hello");
    free(data);
    put(path, "");
    assert_int_equal(fld_file_read(path, 5, &data, &len, NULL), FLD_OK);
    assert_int_equal(len, 0);
    assert_string_equal((char *)data, "");
    free(data);
    free(path);
}

static void test_read_cap(void **state)
{
    struct fx *f = *state;
    char *path = in(f, "a.txt");
    uint8_t *data = (uint8_t *)"x";
    struct fld_err err;
    size_t len = 99;

    put(path, "hello!");
    assert_int_equal(fld_file_read(path, 5, &data, &len, &err), FLD_ELIMIT);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_non_null(strstr(err.msg, "larger than 5 bytes"));
    assert_non_null(strstr(err.msg, path));
    free(path);
}

/* A file may grow after fstat: reading asks for one byte past the cap.
 * A pipe has no size to fstat, so it shows the read itself holds the cap. */
static void test_read_fd_holds_the_cap(void **state)
{
    uint8_t buf[5 + 1];
    struct fld_err err;
    size_t len;
    int p[2];

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "12345", 5), 5);
    close(p[1]);
    assert_int_equal(fld_file_read_fd(p[0], "pipe", 5, buf, &len, NULL),
                     FLD_OK);
    assert_int_equal(len, 5);
    assert_string_equal((char *)buf, "12345");
    close(p[0]);

    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "123456", 6), 6);
    close(p[1]);
    assert_int_equal(fld_file_read_fd(p[0], "pipe", 5, buf, &len, &err),
                     FLD_ELIMIT);
    assert_non_null(strstr(err.msg, "pipe: larger than 5 bytes"));
    close(p[0]);
}

static void test_read_refuses_what_is_not_a_file(void **state)
{
    struct fx *f = *state;
    char *path = in(f, "x");
    uint8_t *data;
    struct fld_err err;
    size_t len;

    assert_int_equal(fld_file_read(path, 100, &data, &len, &err), FLD_NOTFOUND);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(fld_file_read(path, 100, &data, &len, &err), FLD_EIO);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(rmdir(path), 0);
    /* a FIFO is refused at once; reading it would wait for a writer */
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(fld_file_read(path, 100, &data, &len, &err), FLD_EIO);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_null(data);
    free(path);
}

static void test_read_follows_a_link(void **state)
{
    struct fx *f = *state;
    char *path = in(f, "a.txt"), *link = in(f, "b.txt");
    uint8_t *data;
    size_t len;

    put(path, "via link");
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(fld_file_read(link, 100, &data, &len, NULL), FLD_OK);
    assert_string_equal((char *)data, "via link");
    free(data);
    free(path);
    free(link);
}

static void test_write_new_file(void **state)
{
    struct fx *f = *state;
    char *path = in(f, "out.json"), *names;
    uint8_t *data;
    struct stat st;
    size_t len;
    mode_t old = umask(022);

    assert_int_equal(
        fld_file_write(path, "{\"a\":1}", 7, 0666, FLD_FILE_NEW, NULL), FLD_OK);
    umask(old);
    assert_int_equal(fld_file_read(path, 100, &data, &len, NULL), FLD_OK);
    assert_string_equal((char *)data, "{\"a\":1}");
    free(data);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644); /* the umask applies */
    names = listing(f->dir);
    assert_string_equal(names, "out.json"); /* no temporary file left */
    free(names);
    free(path);
}

static void test_write_new_refuses_existing(void **state)
{
    struct fx *f = *state;
    char *path = in(f, "out.json"), *target = in(f, "target"), *names;
    uint8_t *data;
    struct fld_err err;
    size_t len;

    put(path, "precious");
    assert_int_equal(fld_file_write(path, "new", 3, 0644, FLD_FILE_NEW, &err),
                     FLD_EXISTS);
    assert_non_null(strstr(err.msg, "already exists; not overwritten"));
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(fld_file_read(path, 100, &data, &len, NULL), FLD_OK);
    assert_string_equal((char *)data, "precious");
    free(data);
    unlink(path);

    /* a dangling link: following it would create the target */
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(fld_file_write(path, "new", 3, 0644, FLD_FILE_NEW, &err),
                     FLD_EXISTS);
    assert_non_null(strstr(err.msg, "symbolic link"));
    names = listing(f->dir);
    assert_string_equal(names, "out.json");
    free(names);
    free(path);
    free(target);
}

/* Written piece by piece: named only on commit, with fld_file_write()'s
 * checks then (an existing name is refused, the temporary file removed),
 * and nothing left when discarded. */
static void test_stream(void **state)
{
    struct fx *f = *state;
    char *path = in(f, "out.json"), *names;
    struct fld_file_stream *s = NULL;
    struct fld_err err;
    uint8_t *data;
    size_t len;

    assert_int_equal(fld_file_stream_new(path, 0600, FLD_FILE_NEW, &s, NULL),
                     FLD_OK);
    assert_int_equal(fld_file_stream_write(s, "{\"a\":", 5, NULL), FLD_OK);
    assert_int_equal(fld_file_stream_write(s, "1}", 2, NULL), FLD_OK);
    assert_int_equal(access(path, F_OK), -1); /* not named yet */
    assert_int_equal(fld_file_stream_commit(s, NULL), FLD_OK);
    assert_int_equal(fld_file_read(path, 100, &data, &len, NULL), FLD_OK);
    assert_string_equal((char *)data, "{\"a\":1}");
    free(data);

    assert_int_equal(fld_file_stream_new(path, 0600, FLD_FILE_NEW, &s, NULL),
                     FLD_OK);
    assert_int_equal(fld_file_stream_write(s, "new", 3, NULL), FLD_OK);
    assert_int_equal(fld_file_stream_commit(s, &err), FLD_EXISTS);
    assert_non_null(strstr(err.msg, "already exists; not overwritten"));

    assert_int_equal(fld_file_stream_new(path, 0600, FLD_FILE_NEW, &s, NULL),
                     FLD_OK);
    assert_int_equal(fld_file_stream_write(s, "new", 3, NULL), FLD_OK);
    fld_file_stream_discard(s);
    fld_file_stream_discard(NULL);
    names = listing(f->dir);
    assert_string_equal(names, "out.json"); /* no temporary file left */
    free(names);
    assert_int_equal(fld_file_read(path, 100, &data, &len, NULL), FLD_OK);
    assert_string_equal((char *)data, "{\"a\":1}");
    free(data);
    free(path);
}

static void test_write_exact_mode(void **state)
{
    struct fx *f = *state;
    char *path = in(f, "device.key");
    static const mode_t masks[] = {0, 022, 0177, 0377};
    struct stat st;
    mode_t old;
    size_t i;

    for (i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        unlink(path);
        old = umask(masks[i]);
        assert_int_equal(fld_file_write(path, "k", 1, 0600,
                                        FLD_FILE_NEW | FLD_FILE_EXACT_MODE,
                                        NULL),
                         FLD_OK);
        umask(old);
        assert_int_equal(stat(path, &st), 0);
        if ((st.st_mode & 07777) != 0600)
            fail_msg("umask %04o gave mode %04o", (unsigned)masks[i],
                     (unsigned)(st.st_mode & 07777));
    }
    free(path);
}

static void test_write_replaces(void **state)
{
    struct fx *f = *state;
    char *path = in(f, "port"), *names;
    uint8_t *data;
    size_t len;

    put(path, "8080\n");
    assert_int_equal(fld_file_write(path, "9090\n", 5, 0644, 0, NULL), FLD_OK);
    assert_int_equal(fld_file_read(path, 100, &data, &len, NULL), FLD_OK);
    assert_string_equal((char *)data, "9090\n");
    free(data);
    names = listing(f->dir);
    assert_string_equal(names, "port");
    free(names);
    free(path);
}

/* A write that fails half-way (file size limit) leaves neither the file
 * nor the temporary file behind. */
static void test_failed_write_leaves_nothing(void **state)
{
    struct fx *f = *state;
    char *path = in(f, "big"), *names;
    static char big[4096];
    struct fld_err err;
    struct rlimit old, small;
    void (*old_handler)(int);
    int rc;

    memset(big, 'x', sizeof big);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 100;
    old_handler = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    rc = fld_file_write(path, big, sizeof big, 0644, FLD_FILE_NEW, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(rc, FLD_EIO);
    assert_non_null(strstr(err.msg, path));
    names = listing(f->dir);
    assert_string_equal(names, "");
    free(names);
    free(path);
}

static void test_write_into_missing_folder(void **state)
{
    struct fx *f = *state;
    char *path = in(f, "no/such/file");
    struct fld_err err;

    assert_int_equal(fld_file_write(path, "x", 1, 0644, FLD_FILE_NEW, &err),
                     FLD_EIO);
    assert_non_null(strstr(err.msg, path));
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_whole_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_cap, setup, teardown),
        cmocka_unit_test(test_read_fd_holds_the_cap),
        cmocka_unit_test_setup_teardown(test_read_refuses_what_is_not_a_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_follows_a_link, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_new_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_new_refuses_existing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_exact_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_leaves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_into_missing_folder, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
