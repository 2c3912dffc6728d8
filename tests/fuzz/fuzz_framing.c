/*
 * fuzz_framing.c - libFuzzer harness for server-stub/framing.c, which
 * decides from a request's headers how long its body is, before any byte
 * of it is read (a mistake there lets one request hide another, or makes
 * the server wait for a body that never comes).
 *
 * The input is a header block: lines "Name: value" split at the first
 * ':', the value stripped of spaces and tabs as libmicrohttpd strips it.
 * For any input: no crash, overrun or undefined behaviour (the
 * sanitizers watch), a refusal has a one-line reason, and an acceptance
 * agrees with a plain re-count of the headers: one length (or several
 * equal ones) and no Transfer-Encoding, or a single "chunked" and no
 * length, or neither.
 *
 * Built by `make fuzz` (clang, against the libraries compiled once for
 * fuzzing) and run by scripts/fuzz.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bug(const char *what)
{
    fprintf(stderr, "fuzz_framing: %s\n", what);
    abort();
}

static size_t strip(const char **p, size_t len)
{
    while (len > 0 && (**p == ' ' || **p == '\t')) {
        (*p)++;
        len--;
    }
    while (len > 0 && ((*p)[len - 1] == ' ' || (*p)[len - 1] == '\t' ||
                       (*p)[len - 1] == '\r'))
        len--;
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *end = text + size, *line, *colon;
    struct srv_framing f;
    unsigned lengths = 0, encodings = 0;
    const char *why;
    uint64_t len;
    bool chunked;

    srv_framing_init(&f);
    for (line = text; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *stop = nl ? nl : end;
        const char *value;
        size_t name_len, value_len;

        colon = memchr(line, ':', (size_t)(stop - line));
        if (colon != NULL) {
            name_len = (size_t)(colon - line);
            value = colon + 1;
            value_len = strip(&value, (size_t)(stop - value));
            srv_framing_header(&f, line, name_len, value, value_len);
            if (name_len == 14 && strncasecmp(line, "Content-Length", 14) == 0)
                lengths++;
            if (name_len == 17 &&
                strncasecmp(line, "Transfer-Encoding", 17) == 0)
                encodings++;
        }
        line = stop + 1;
    }
    if (srv_framing_check(&f, &len, &chunked, &why) != 0) {
        if (why == NULL || strchr(why, '\n') != NULL)
            bug("a refusal without a one-line reason");
        return 0;
    }
    if (lengths > 0 && encodings > 0)
        bug("a length and an encoding accepted together");
    if (encodings > 1 || (encodings == 1 && !chunked))
        bug("an encoding other than a single chunked accepted");
    if (lengths == 0 && len != 0)
        bug("a length without a Content-Length");
    if (chunked && len != 0)
        bug("a length with a chunked body");
    return 0;
}
