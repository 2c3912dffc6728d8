/*
 * test_syn_ca_store.c - where the libcurl transport finds the system's CA
 * store (sync/ca_store.h): $SSL_CERT_FILE wins when set, and names no
 * store at all when its file is missing (no quiet fallback to another
 * bundle); unset, the answer is one of the usual places, readable, or
 * none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca_store.h"

static void test_ssl_cert_file_wins(void **state)
{
    char path[] = "/tmp/field-ca-XXXXXX";
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    setenv("SSL_CERT_FILE", path, 1);
    assert_string_equal(syn_ca_store_find(), path);
    unlink(path);
    assert_null(syn_ca_store_find()); /* named, gone: no store */
    unsetenv("SSL_CERT_FILE");
}

static void test_usual_places(void **state)
{
    const char *ca;

    (void)state;
    unsetenv("SSL_CERT_FILE");
    ca = syn_ca_store_find();
    if (ca != NULL) {
        assert_non_null(strstr(SYN_CA_STORE_PLACES, ca));
        assert_int_equal(access(ca, R_OK), 0);
    }
    setenv("SSL_CERT_FILE", "", 1); /* empty is unset */
    assert_true(syn_ca_store_find() == ca);
    unsetenv("SSL_CERT_FILE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssl_cert_file_wins),
        cmocka_unit_test(test_usual_places),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
