/*
 * fuzz_ui.c - libFuzzer harness for what `field ui` reads from a browser
 * before any JSON (field/ui_server.c): the Host header, the Cookie header
 * and the X-CSRF-Token header; and the search folding of field/ui_api.c.
 *
 * For any input: nothing crashes, leaks or overruns (the sanitizers watch
 * that), and the answers keep their promises: a Host accepted names the
 * port served; a cookie finds a session only when it carries that
 * session's id; a token passes only when it is the session's token; a
 * folded text has no ASCII capital left.
 *
 * Built by clang apart from the normal build (make fuzz).
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ui_api.h"
#include "ui_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const listens[] = {"127.0.0.1", "::1", "0.0.0.0",
                                      "192.168.43.1"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fld_ui_sessions ss;
    static struct fld_ui_session *s;
    char *text = malloc(size + 1), *folded;
    char hex[2 * FLD_UI_TOKEN_LEN + 1];
    size_t i, len;

    if (s == NULL) {
        if (sodium_init() < 0)
            abort();
        s = fld_ui_session_new(&ss, 1);
    }
    memcpy(text, data, size);
    text[size] = '\0';
    len = strlen(text);

    for (i = 0; i < sizeof listens / sizeof *listens; i++)
        if (fld_ui_host_ok(text, listens[i], 8080) &&
            (len < 5 || strcmp(text + len - 5, ":8080") != 0))
            abort();

    fld_hex_encode(s->id, sizeof s->id, hex);
    if (fld_ui_session_find(&ss, text) != NULL && strstr(text, hex) == NULL)
        abort();
    fld_hex_encode(s->csrf, sizeof s->csrf, hex);
    if (fld_ui_csrf_ok(s, text) && strcmp(text, hex) != 0)
        abort();

    folded = fld_ui_fold(text);
    for (i = 0; folded != NULL && folded[i] != '\0'; i++)
        if (folded[i] >= 'A' && folded[i] <= 'Z')
            abort();
    free(folded);
    free(text);
    return 0;
}
