/*
 * query.h - the query string of a request, in the one form that is signed
 * (docs/PROTOCOL.md, "Request signatures"): the parameters in the order
 * sent, each "name=value" (or "name" alone), joined by "&", with every byte
 * but RFC 3986's unreserved ones (A-Z a-z 0-9 - . _ ~) written as %XX in
 * capital hex digits.
 *
 * libmicrohttpd hands the server the parameters decoded, never the text
 * as sent; http.c writes them back in this form with srv_query_add(), and
 * the signature is checked over the path, "?" and that text. A client
 * that encodes its query the same way (fieldctl does, by sending exactly
 * what it signed) is verified; any other spelling of the same parameters
 * is refused as a bad signature rather than guessed at.
 */
#ifndef SRV_QUERY_H
#define SRV_QUERY_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Append one parameter to q (with "&" before it unless q is empty).
 * value NULL: the name alone, without "=". */
void srv_query_add(struct fld_buf *q, const char *name, size_t name_len,
                   const char *value, size_t value_len);

/* A query decoded: names[i] = values[i] ("" for a name alone). */
struct srv_query {
    char **names, **values;
    size_t n;
};

/*
 * Decode text (without the "?"; NULL or "" for none) into *out. FLD_EINVAL
 * naming the fault: a malformed %XX, a NUL byte, a parameter given twice,
 * or one not in known (a NULL-ended list of the names allowed), so that a
 * misspelled filter is refused rather than silently ignored. A name in
 * the message is shown in the signed form (cut to 40 bytes), so that the
 * message is one line of ASCII whatever the name holds. *out is
 * emptied first; srv_query_free() it whatever the result.
 */
int srv_query_parse(const char *text, const char *const *known,
                    struct srv_query *out, struct fld_err *err);
/* The value of name, borrowed from q; NULL when absent. */
const char *srv_query_get(const struct srv_query *q, const char *name);
void srv_query_free(struct srv_query *q);

#endif
