/*
 * test_ui_server.c - the pure parts of `field ui`'s server (ui_server.h):
 * the session table and its cookie, the CSRF token check, the pairing
 * code's rate limit, and the Host check that defeats DNS rebinding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "ui_server.h"

static void cookie_of(const struct fld_ui_session *s, char *out, size_t cap,
                      const char *before)
{
    char hex[2 * FLD_UI_TOKEN_LEN + 1];

    fld_hex_encode(s->id, sizeof s->id, hex);
    snprintf(out, cap, "%s" FLD_UI_COOKIE "=%s; theme=dark", before, hex);
}

static void test_session_cookie(void **state)
{
    static struct fld_ui_sessions ss;
    struct fld_ui_session *a, *b;
    char cookie[256];

    (void)state;
    a = fld_ui_session_new(&ss, 1);
    b = fld_ui_session_new(&ss, 2);
    assert_true(a != b);
    assert_true(memcmp(a->id, b->id, sizeof a->id) != 0);
    assert_true(memcmp(a->id, a->csrf, sizeof a->id) != 0);
    cookie_of(a, cookie, sizeof cookie, "");
    assert_ptr_equal(fld_ui_session_find(&ss, cookie), a);
    cookie_of(b, cookie, sizeof cookie, "other=1; ");
    assert_ptr_equal(fld_ui_session_find(&ss, cookie), b);
    /* one hex digit changed, cut short, absent: no session */
    cookie[strlen("other=1; " FLD_UI_COOKIE "=")] ^= 1;
    assert_null(fld_ui_session_find(&ss, cookie));
    assert_null(fld_ui_session_find(&ss, FLD_UI_COOKIE "=abcd"));
    assert_null(fld_ui_session_find(&ss, "other=1"));
    assert_null(fld_ui_session_find(&ss, NULL));
}

static void test_sessions_full_replace_oldest(void **state)
{
    static struct fld_ui_sessions ss;
    struct fld_ui_session *first, *s = NULL;
    char cookie[256];
    int i;

    (void)state;
    first = fld_ui_session_new(&ss, 100);
    cookie_of(first, cookie, sizeof cookie, "");
    for (i = 1; i < FLD_UI_SESSIONS_MAX; i++)
        s = fld_ui_session_new(&ss, 100 + i);
    assert_ptr_equal(fld_ui_session_find(&ss, cookie), first);
    s = fld_ui_session_new(&ss, 1000); /* full: the oldest goes */
    assert_ptr_equal(s, first);
    assert_null(fld_ui_session_find(&ss, cookie));
}

static void test_csrf(void **state)
{
    static struct fld_ui_sessions ss;
    struct fld_ui_session *s = fld_ui_session_new(&ss, 1);
    char hex[2 * FLD_UI_TOKEN_LEN + 1];

    (void)state;
    fld_hex_encode(s->csrf, sizeof s->csrf, hex);
    assert_true(fld_ui_csrf_ok(s, hex));
    assert_false(fld_ui_csrf_ok(s, NULL));
    assert_false(fld_ui_csrf_ok(NULL, hex));
    assert_false(fld_ui_csrf_ok(s, ""));
    hex[10] = hex[10] == '0' ? '1' : '0';
    assert_false(fld_ui_csrf_ok(s, hex));
    /* the session id is not the token */
    fld_hex_encode(s->id, sizeof s->id, hex);
    assert_false(fld_ui_csrf_ok(s, hex));
}

static void wrong_code(char *out, const struct fld_ui_pairing *p)
{
    memcpy(out, p->code, FLD_UI_PAIR_DIGITS + 1);
    out[0] = out[0] == '9' ? '0' : (char)(out[0] + 1);
}

static void test_pairing_rate_limit(void **state)
{
    struct fld_ui_pairing p;
    char bad[FLD_UI_PAIR_DIGITS + 1], good[FLD_UI_PAIR_DIGITS + 1];
    int64_t wait, now = 1000000;
    int i;

    (void)state;
    fld_ui_pairing_new(&p);
    assert_int_equal(strlen(p.code), FLD_UI_PAIR_DIGITS);
    assert_int_equal(strspn(p.code, "0123456789"), FLD_UI_PAIR_DIGITS);
    memcpy(good, p.code, sizeof good);
    wrong_code(bad, &p);
    /* the first tries are free */
    for (i = 1; i < FLD_UI_PAIR_FREE; i++) {
        assert_int_equal(fld_ui_pair(&p, bad, now, &wait), FLD_EPASS);
        assert_int_equal(wait, 0);
    }
    assert_int_equal(fld_ui_pair(&p, "1234", now, &wait), FLD_EPASS);
    assert_int_equal(wait, 1000);
    /* while waiting, even the right code is not looked at */
    assert_int_equal(fld_ui_pair(&p, good, now + 999, &wait), FLD_EBUSY);
    assert_int_equal(wait, 1);
    /* each further wrong code doubles the wait */
    now += 1000;
    assert_int_equal(fld_ui_pair(&p, bad, now, &wait), FLD_EPASS);
    assert_int_equal(wait, 2000);
    now += 2000;
    assert_int_equal(fld_ui_pair(&p, NULL, now, &wait), FLD_EPASS);
    assert_int_equal(wait, 4000);
    for (i = 0; i < 40; i++) {
        now += wait;
        assert_int_equal(fld_ui_pair(&p, bad, now, &wait), FLD_EPASS);
    }
    assert_int_equal(wait, FLD_UI_PAIR_MAX_WAIT_MS);
    /* after the wait, the right code pairs, once */
    now += wait;
    assert_int_equal(fld_ui_pair(&p, good, now, &wait), FLD_OK);
    assert_int_equal(fld_ui_pair(&p, good, now + 1, &wait), FLD_EXISTS);
}

static void test_loopback(void **state)
{
    (void)state;
    assert_true(fld_ui_is_loopback("127.0.0.1"));
    assert_true(fld_ui_is_loopback("127.1.2.3"));
    assert_true(fld_ui_is_loopback("::1"));
    assert_false(fld_ui_is_loopback("0.0.0.0"));
    assert_false(fld_ui_is_loopback("192.168.1.5"));
    assert_false(fld_ui_is_loopback("::"));
    assert_false(fld_ui_is_loopback("localhost"));
}

static void test_host(void **state)
{
    (void)state;
    assert_true(fld_ui_host_ok("127.0.0.1:8080", "127.0.0.1", 8080));
    assert_true(fld_ui_host_ok("localhost:8080", "127.0.0.1", 8080));
    assert_true(fld_ui_host_ok("[::1]:8080", "::1", 8080));
    assert_false(fld_ui_host_ok("127.0.0.1:8081", "127.0.0.1", 8080));
    assert_false(fld_ui_host_ok("127.0.0.1", "127.0.0.1", 8080));
    assert_false(fld_ui_host_ok(NULL, "127.0.0.1", 8080));
    assert_false(fld_ui_host_ok("", "127.0.0.1", 8080));
    /* DNS rebinding: a name resolving to 127.0.0.1 is still a name */
    assert_false(fld_ui_host_ok("evil.example:8080", "127.0.0.1", 8080));
    assert_false(fld_ui_host_ok("192.168.1.5:8080", "127.0.0.1", 8080));
    assert_false(fld_ui_host_ok("[::1:8080", "::1", 8080));
    /* a LAN address: itself only, no localhost */
    assert_true(fld_ui_host_ok("192.168.1.5:9000", "192.168.1.5", 9000));
    assert_false(fld_ui_host_ok("localhost:9000", "192.168.1.5", 9000));
    assert_false(fld_ui_host_ok("192.168.1.6:9000", "192.168.1.5", 9000));
    /* a wildcard: any address literal with the port, never a name */
    assert_true(fld_ui_host_ok("10.0.0.7:9000", "0.0.0.0", 9000));
    assert_true(fld_ui_host_ok("[fe80::1]:9000", "::", 9000));
    assert_false(fld_ui_host_ok("phone.lan:9000", "0.0.0.0", 9000));
}

static void test_assets_embedded(void **state)
{
    const struct fld_embedded *e;
    bool html = false, js = false, css = false;

    (void)state;
    for (e = fld_ui_files; e->name != NULL; e++) {
        html = html || strcmp(e->name, "index.html") == 0;
        js = js || strcmp(e->name, "app.js") == 0;
        css = css || strcmp(e->name, "app.css") == 0;
        /* no inline script or style: the CSP would refuse it */
        if (strcmp(e->name, "index.html") == 0) {
            char *html_text = (char *)fld_embedded_inflate(e);

            assert_null(strstr(html_text, "<script>"));
            assert_null(strstr(html_text, "<style"));
            assert_null(strstr(html_text, "style="));
            assert_null(strstr(html_text, "onclick"));
            assert_null(strstr(html_text, "http://"));
            assert_null(strstr(html_text, "https://"));
            free(html_text);
        }
    }
    assert_true(html && js && css);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_cookie),
        cmocka_unit_test(test_sessions_full_replace_oldest),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_pairing_rate_limit),
        cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_assets_embedded),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
