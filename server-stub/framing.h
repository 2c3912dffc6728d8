/*
 * framing.h - how long a request's body is, from its headers alone: the
 * Content-Length and Transfer-Encoding headers a client sent, checked for
 * the ambiguities that let a client and a server (or a proxy between
 * them) disagree on where a request ends (RFC 9112 section 6.3).
 *
 * http.c feeds every header of a request through srv_framing_header()
 * before any byte of the body is read, and refuses the request with 400
 * when srv_framing_check() says so. Pure: no I/O, no allocation, so that
 * tests/fuzz/fuzz_framing.c can drive it with any bytes.
 */
#ifndef SRV_FRAMING_H
#define SRV_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srv_framing {
    unsigned n_length;   /* Content-Length headers seen */
    uint64_t length;     /* the first one's value */
    bool length_bad;     /* one was not a plain decimal number */
    bool length_differs; /* two disagreed */
    unsigned n_encoding; /* Transfer-Encoding headers seen */
    bool chunked;        /* the (only) encoding is "chunked" */
};

void srv_framing_init(struct srv_framing *f);

/* One header as received (name compared without regard to case; value
 * without the surrounding white space libmicrohttpd strips). */
void srv_framing_header(struct srv_framing *f, const char *name,
                        size_t name_len, const char *value, size_t value_len);

/*
 * Whether the headers seen frame the body unambiguously: 0, with *len the
 * declared length (0 when there is no body) and *chunked, or -1 with *why
 * a one-line reason for the 400 answer: Content-Length not a number, two
 * different Content-Lengths, Content-Length with Transfer-Encoding, or a
 * Transfer-Encoding other than a single "chunked".
 */
int srv_framing_check(const struct srv_framing *f, uint64_t *len, bool *chunked,
                      const char **why);

#endif
