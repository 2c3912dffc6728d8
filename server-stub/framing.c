/*
 * framing.c - a request body's length from its headers (see framing.h).
 *
 * libmicrohttpd 0.9.75 reads the first Content-Length it finds and
 * ignores the others; a proxy in front may read the last. Two requests
 * hidden in one is the classic result ("request smuggling"), so any
 * disagreement is refused here, before the body is read.
 */
#include "framing.h"

#include <string.h>
#include <strings.h>

/* More digits than this cannot be a length any server accepts. */
#define MAX_DIGITS 19

void srv_framing_init(struct srv_framing *f)
{
    memset(f, 0, sizeof *f);
}

static bool name_is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && strncasecmp(name, want, len) == 0;
}

/* A plain decimal number (no sign, no spaces, no list), or false. */
static bool parse_length(const char *v, size_t len, uint64_t *out)
{
    uint64_t n = 0;
    size_t i;

    if (len == 0 || len > MAX_DIGITS)
        return false;
    for (i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    *out = n;
    return true;
}

void srv_framing_header(struct srv_framing *f, const char *name,
                        size_t name_len, const char *value, size_t value_len)
{
    uint64_t n = 0;

    if (name_is(name, name_len, "Content-Length")) {
        if (!parse_length(value, value_len, &n))
            f->length_bad = true;
        else if (f->n_length == 0)
            f->length = n;
        else if (n != f->length)
            f->length_differs = true;
        f->n_length++;
    } else if (name_is(name, name_len, "Transfer-Encoding")) {
        f->chunked = f->n_encoding == 0 && name_is(value, value_len, "chunked");
        f->n_encoding++;
    }
}

int srv_framing_check(const struct srv_framing *f, uint64_t *len, bool *chunked,
                      const char **why)
{
    *len = 0;
    *chunked = false;
    *why = NULL;
    if (f->length_bad)
        *why = "Content-Length must be a decimal number";
    else if (f->length_differs)
        *why = "two different Content-Length headers";
    else if (f->n_length > 0 && f->n_encoding > 0)
        *why = "Content-Length and Transfer-Encoding together";
    else if (f->n_encoding > 0 && !(f->n_encoding == 1 && f->chunked))
        *why = "Transfer-Encoding must be chunked alone";
    if (*why != NULL)
        return -1;
    *len = f->length;
    *chunked = f->chunked;
    return 0;
}
