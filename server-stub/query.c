/*
 * query.c - query strings in their signed form, and decoded (query.h).
 *
 * Where it sits: http.c encodes the parameters libmicrohttpd decoded, so
 * that api.c can check the signature over exactly what the client signed;
 * the handlers that take parameters (GET /v1/export) decode that text.
 * Queries are short: libmicrohttpd bounds the request line by the memory
 * of a connection (http.c, CONN_MEMORY).
 */
#include "query.h"

#include <stdlib.h>
#include <string.h>

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

static void encode(struct fld_buf *q, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (is_unreserved(c)) {
            fld_buf_putc(q, c);
        } else {
            fld_buf_putc(q, '%');
            fld_buf_putc(q, hex[c >> 4]);
            fld_buf_putc(q, hex[c & 15]);
        }
    }
}

void srv_query_add(struct fld_buf *q, const char *name, size_t name_len,
                   const char *value, size_t value_len)
{
    if (q->len > 0)
        fld_buf_putc(q, '&');
    encode(q, name, name_len);
    if (value == NULL)
        return;
    fld_buf_putc(q, '=');
    encode(q, value, value_len);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode s[0..len) into a new string; NULL when malformed or holding a
 * NUL byte. */
static char *decode(const char *s, size_t len)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i;
    int hi, lo;

    for (i = 0; i < len; i++) {
        if (s[i] != '%') {
            fld_buf_putc(&b, s[i]);
            continue;
        }
        hi = i + 2 < len ? hex_digit(s[i + 1]) : -1;
        lo = i + 2 < len ? hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            fld_buf_free(&b);
            return NULL;
        }
        fld_buf_putc(&b, hi * 16 + lo);
        i += 2;
    }
    if (b.data == NULL)
        fld_buf_puts(&b, "");
    return fld_buf_detach(&b, NULL);
}

/* How a refusal shows a name: in its signed form (%XX for all but the
 * unreserved bytes), cut to at most 40 bytes between escapes, so that
 * the message is one line of ASCII whatever the name holds (a newline,
 * half of a UTF-8 sequence). *len receives the length to print. */
static char *shown(const char *name, int *len)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t cut;

    encode(&b, name, strlen(name));
    cut = b.len < 40 ? b.len : 40;
    if (cut < b.len && cut >= 1 && b.data[cut - 1] == '%')
        cut -= 1;
    else if (cut < b.len && cut >= 2 && b.data[cut - 2] == '%')
        cut -= 2;
    *len = (int)cut;
    return fld_buf_detach(&b, NULL);
}

static int is_known(const char *const *known, const char *name)
{
    for (; *known != NULL; known++)
        if (strcmp(*known, name) == 0)
            return 1;
    return 0;
}

/* One "name[=value]" of length len at p into out. */
static int parse_one(const char *p, size_t len, const char *const *known,
                     struct srv_query *out, struct fld_err *err)
{
    const char *eq = memchr(p, '=', len);
    size_t name_len = eq ? (size_t)(eq - p) : len;
    char *name = decode(p, name_len), *value, *show;
    int show_len;

    if (name == NULL)
        return fld_err_set(err, FLD_EINVAL,
                           "a malformed %%-escape in the query");
    if (!is_known(known, name)) {
        show = shown(name, &show_len);
        fld_err_set(err, FLD_EINVAL, "unknown query parameter '%.*s'", show_len,
                    show);
        free(show);
        free(name);
        return FLD_EINVAL;
    }
    if (srv_query_get(out, name) != NULL) {
        show = shown(name, &show_len);
        fld_err_set(err, FLD_EINVAL, "query parameter '%.*s' given twice",
                    show_len, show);
        free(show);
        free(name);
        return FLD_EINVAL;
    }
    value = eq ? decode(eq + 1, len - name_len - 1) : fld_xstrdup("");
    if (value == NULL) {
        free(name);
        return fld_err_set(err, FLD_EINVAL,
                           "a malformed %%-escape in the query");
    }
    out->names = fld_xreallocarray(out->names, out->n + 1, sizeof *out->names);
    out->values =
        fld_xreallocarray(out->values, out->n + 1, sizeof *out->values);
    out->names[out->n] = name;
    out->values[out->n++] = value;
    return FLD_OK;
}

int srv_query_parse(const char *text, const char *const *known,
                    struct srv_query *out, struct fld_err *err)
{
    const char *p = text, *amp;
    int rc = FLD_OK;

    memset(out, 0, sizeof *out);
    while (p != NULL && *p != '\0' && rc == FLD_OK) {
        amp = strchr(p, '&');
        if (amp != p)
            rc = parse_one(p, amp ? (size_t)(amp - p) : strlen(p), known, out,
                           err);
        p = amp ? amp + 1 : NULL;
    }
    return rc;
}

const char *srv_query_get(const struct srv_query *q, const char *name)
{
    size_t i;

    for (i = 0; i < q->n; i++)
        if (strcmp(q->names[i], name) == 0)
            return q->values[i];
    return NULL;
}

void srv_query_free(struct srv_query *q)
{
    size_t i;

    for (i = 0; i < q->n; i++) {
        free(q->names[i]);
        free(q->values[i]);
    }
    free(q->names);
    free(q->values);
    memset(q, 0, sizeof *q);
}
