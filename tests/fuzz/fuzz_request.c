/*
 * fuzz_request.c - libFuzzer harness for what field-server reads from a
 * request besides its framing (fuzz_framing.c): the three X-Field
 * headers, the query string, and the body of a push or an enrollment,
 * gzipped or not, down to each pushed version.
 *
 * The input is split at its first four NUL bytes, so that the fuzzer can
 * change each part alone (none of the four can hold a NUL on the wire):
 *
 *   DEVICE \0 TIME \0 SIGNATURE \0 QUERY \0 BODY
 *
 * An empty header is an absent one. BODY is any bytes. The request is
 * taken as "GET /v1/thresholds?QUERY" when it has a query and no body,
 * "POST /v1/thresholds?QUERY" with both, and "POST /v1/sync" (or "GET"
 * when empty) without a query, signed over the parsed parameters written
 * again in the signed form (query.h).
 *
 * For any input: no crash, leak, overrun or undefined behaviour, every
 * refusal has a known code and a one-line message, and
 *   - headers (syn_auth_parse): absent only when all three are; accepted
 *     ones, written out again, parse to the same claim; a verified
 *     signature stops verifying when one byte of the body changes;
 *   - query (srv_query_parse, under the names the handlers take): what it
 *     accepts has known, distinct names, and written in the signed form
 *     (srv_query_add) parses back to the same parameters and writes the
 *     same text again; and, as libmicrohttpd hands the server decoded
 *     parameters, the parts of QUERY split at '&' and '=' taken as such
 *     bytes come back exactly through srv_query_add and srv_query_parse;
 *   - body: gunzip under a cap (server-stub/api.c) never passes the cap,
 *     leaves its output as it was on a refusal, and what it accepts
 *     gzips and inflates back the same; the raw body and, when it
 *     inflates, the inflated one go through the checks and decoders the
 *     server runs: syn_json_precheck, syn_sync_request_decode (its limits
 *     hold, it encodes and decodes back the same, a cursor in it decodes
 *     and encodes back the same, each pushed version is opened as push.c
 *     opens it) and syn_enroll_request_decode (likewise).
 *
 * Seeds (tests/fuzz/corpus/fuzz_request/) are real signed requests made by
 * tests/fuzz/request_seeds.py. Built by `make fuzz`.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "buf.h"
#include "err.h"
#include "gzip.h"
#include "protocol.h"
#include "query.h"
#include "version.h"

/* What the server lets a body inflate to, scaled down to keep runs fast. */
#define INFLATE_CAP (64 * 1024)
#define N_PARTS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bug(const char *what, const char *msg)
{
    fprintf(stderr, "fuzz_request: %s (%s)\n", what, msg ? msg : "");
    abort();
}

/* A refusal: a code among the allowed (FLD_OK ends the list), and one
 * line of message. */
static void check_refusal(int rc, const int *allowed, const struct fld_err *e,
                          const char *what)
{
    for (; *allowed != FLD_OK; allowed++)
        if (rc == *allowed)
            break;
    if (*allowed == FLD_OK)
        bug(what, e->msg);
    if (e->msg[0] == '\0' || strchr(e->msg, '\n') != NULL)
        bug("a refusal without a one-line message", e->msg);
}

/* ---- the X-Field headers ------------------------------------------------ */

static void check_signature(const struct syn_auth *a, const char *method,
                            const char *target, const uint8_t *body, size_t len)
{
    static const int codes[] = {FLD_EBADSIG, FLD_OK};
    struct fld_err e;
    uint8_t *changed;
    int rc;

    fld_err_clear(&e);
    rc = syn_request_verify(a, method, target, body, len, &e);
    if (rc != FLD_OK) {
        check_refusal(rc, codes, &e, "a signature refused with another code");
        return;
    }
    /* it verifies (a seed signed it): the body is covered */
    changed = fld_xmalloc(len + 1);
    memcpy(changed, body, len);
    changed[len] = 'x';
    if (len > 0)
        changed[len / 2] ^= 1;
    if (syn_request_verify(a, method, target, changed, len > 0 ? len : 1,
                           NULL) != FLD_EBADSIG)
        bug("a signature verifies over another body", target);
    free(changed);
}

static int check_auth(const char *device, const char *time, const char *sig,
                      struct syn_auth *a)
{
    static const int codes[] = {FLD_NOTFOUND, FLD_EINVAL, FLD_OK};
    struct syn_auth again;
    char time_text[24], sig_hex[2 * FLD_SIG_LEN + 1], pub_hex[65];
    struct fld_err e;
    int rc;

    fld_err_clear(&e);
    rc = syn_auth_parse(device, time, sig, a, &e);
    if (rc != FLD_OK) {
        check_refusal(rc, codes, &e, "headers refused with another code");
        if ((rc == FLD_NOTFOUND) != (!device && !time && !sig))
            bug("headers absent, or not, but said otherwise", e.msg);
        return rc;
    }
    fld_hex_encode(a->pub, sizeof a->pub, pub_hex);
    if (strcmp(pub_hex, a->device) != 0 || strcmp(device, a->device) != 0)
        bug("a device key that is not the header's", device);
    snprintf(time_text, sizeof time_text, "%" PRId64, a->time_ms);
    syn_auth_sig_hex(a, sig_hex);
    if (syn_auth_parse(a->device, time_text, sig_hex, &again, &e) != FLD_OK ||
        memcmp(&again, a, sizeof again) != 0)
        bug("accepted headers, written again, parse to another claim", e.msg);
    return FLD_OK;
}

/* ---- the query ---------------------------------------------------------- */

/* A value as parsed: a name without "=" (value NULL) reads as "". */
static const char *value_of(const struct srv_query *q, size_t i)
{
    return q->values[i] ? q->values[i] : "";
}

static void check_same_query(const struct srv_query *a,
                             const struct srv_query *b, const char *what)
{
    size_t i;

    if (a->n != b->n)
        bug(what, "another count");
    for (i = 0; i < a->n; i++)
        if (strcmp(a->names[i], b->names[i]) != 0 ||
            strcmp(value_of(a, i), value_of(b, i)) != 0)
            bug(what, a->names[i]);
}

/* The query as the server rebuilds it from q's parameters (http.c). */
static void write_query(const struct srv_query *q, struct fld_buf *out)
{
    size_t i;

    for (i = 0; i < q->n; i++)
        srv_query_add(out, q->names[i], strlen(q->names[i]), q->values[i],
                      q->values[i] ? strlen(q->values[i]) : 0);
}

/* Parse text; when accepted, write its signed form into *signed_form (a
 * new string) and check that it reads back the same. */
static void check_query(const char *text, char **signed_form)
{
    static const char *const known[] = {
        "after", "unit",     "as_of",  "format",
        "lang",  "template", "status", NULL}; /* the names the handlers take */
    static const int codes[] = {FLD_EINVAL, FLD_OK};
    struct srv_query q, again;
    struct fld_buf first = FLD_BUF_INIT, second = FLD_BUF_INIT;
    struct fld_err e;
    size_t i, j;
    int rc;

    *signed_form = NULL;
    fld_err_clear(&e);
    rc = srv_query_parse(text, known, &q, &e);
    if (rc != FLD_OK) {
        check_refusal(rc, codes, &e, "a query refused with another code");
        srv_query_free(&q);
        return;
    }
    for (i = 0; i < q.n; i++)
        for (j = i + 1; j < q.n; j++)
            if (strcmp(q.names[i], q.names[j]) == 0)
                bug("a query parameter accepted twice", q.names[i]);
    write_query(&q, &first);
    if (srv_query_parse(fld_buf_str(&first), known, &again, &e) != FLD_OK)
        bug("a query in its signed form is refused", e.msg);
    check_same_query(&q, &again, "a query reads back otherwise");
    write_query(&again, &second);
    /* the signed form is %-escaped ASCII: no NUL */
    if (strcmp(fld_buf_str(&first), fld_buf_str(&second)) != 0)
        bug("the signed form of a query is not stable", fld_buf_str(&first));
    srv_query_free(&again);
    srv_query_free(&q);
    fld_buf_free(&second);
    *signed_form = fld_buf_detach(&first, NULL);
}

/* Split text at '&' and the first '=' of each piece into the parameters
 * libmicrohttpd would hand over (any bytes but NUL and '&'; the value
 * NULL for a piece without '='). */
static void split_raw(const char *text, struct srv_query *raw,
                      const char ***known)
{
    const char *p = text, *amp, *eq;
    size_t len;

    memset(raw, 0, sizeof *raw);
    *known = fld_xcalloc(strlen(text) + 2, sizeof **known);
    for (; p != NULL; p = amp ? amp + 1 : NULL) {
        amp = strchr(p, '&');
        len = amp ? (size_t)(amp - p) : strlen(p);
        eq = memchr(p, '=', len);
        raw->names = fld_xreallocarray(raw->names, raw->n + 1, sizeof(char *));
        raw->values =
            fld_xreallocarray(raw->values, raw->n + 1, sizeof(char *));
        raw->names[raw->n] = fld_xstrndup(p, eq ? (size_t)(eq - p) : len);
        raw->values[raw->n] =
            eq ? fld_xstrndup(eq + 1, len - (size_t)(eq - p) - 1) : NULL;
        (*known)[raw->n] = raw->names[raw->n];
        raw->n++;
    }
}

/* Decoded parameters, written in the signed form and parsed, come back
 * exactly: refused only for a name given twice. A parameter without name
 * and value writes nothing, so it is left out first. */
static void check_raw_query(const char *text)
{
    struct srv_query raw, kept, parsed;
    const char **known;
    struct fld_buf form = FLD_BUF_INIT;
    struct fld_err e;
    bool twice = false;
    size_t i, j;
    int rc;

    split_raw(text, &raw, &known);
    memset(&kept, 0, sizeof kept);
    kept.names = fld_xcalloc(raw.n + 1, sizeof(char *));
    kept.values = fld_xcalloc(raw.n + 1, sizeof(char *));
    for (i = 0; i < raw.n; i++) {
        if (raw.names[i][0] == '\0' && raw.values[i] == NULL)
            continue;
        for (j = 0; j < kept.n; j++)
            twice = twice || strcmp(kept.names[j], raw.names[i]) == 0;
        kept.names[kept.n] = raw.names[i];
        kept.values[kept.n++] = raw.values[i];
    }
    write_query(&kept, &form);
    fld_err_clear(&e);
    rc = srv_query_parse(fld_buf_str(&form), known, &parsed, &e);
    if ((rc == FLD_OK) == twice)
        bug("decoded parameters do not come back", e.msg);
    if (rc == FLD_OK)
        check_same_query(&kept, &parsed,
                         "decoded parameters come back "
                         "otherwise");
    srv_query_free(&parsed);
    free(kept.names);
    free(kept.values);
    srv_query_free(&raw);
    free(known);
    fld_buf_free(&form);
}

/* ---- the body ----------------------------------------------------------- */

static void check_gunzip(const uint8_t *p, size_t len, struct fld_buf *plain)
{
    static const int codes[] = {FLD_EINVAL, FLD_ELIMIT, FLD_OK};
    struct fld_buf again = FLD_BUF_INIT, back = FLD_BUF_INIT;
    struct fld_err e;
    int rc;

    /* a prefix the inflated bytes follow, as in the server's buffer */
    fld_buf_puts(plain, "prefix");
    fld_err_clear(&e);
    rc = syn_gunzip(p, len, INFLATE_CAP, plain, &e);
    if (rc != FLD_OK) {
        check_refusal(rc, codes, &e, "gunzip refused with another code");
        if (plain->len != 6 || memcmp(plain->data, "prefix", 6) != 0)
            bug("a refused gunzip changed its output", e.msg);
        fld_buf_reset(plain);
        return;
    }
    if (plain->len - 6 > INFLATE_CAP)
        bug("gunzip passed its cap", NULL);
    syn_gzip(plain->data + 6, plain->len - 6, &again);
    if (syn_gunzip(again.data, again.len, INFLATE_CAP, &back, &e) != FLD_OK ||
        back.len != plain->len - 6 ||
        memcmp(back.data, plain->data + 6, back.len) != 0)
        bug("inflated bytes do not gzip and inflate back the same", e.msg);
    fld_buf_free(&again);
    fld_buf_free(&back);
}

static void check_cursor(const char *text)
{
    struct srv_cursor c, again;
    char out[128];

    if (srv_cursor_decode(text, &c) != FLD_OK)
        return;
    srv_cursor_encode(&c, out, sizeof out);
    if (srv_cursor_decode(out, &again) != FLD_OK ||
        memcmp(&c, &again, sizeof c) != 0)
        bug("a cursor does not encode and decode back the same", text);
}

/* Each pushed version, opened as push.c opens it. */
static void open_items(const struct syn_item *items, size_t n)
{
    static const int codes[] = {FLD_EINVAL, FLD_ELIMIT, FLD_EBADSIG, FLD_OK};
    struct fld_version *v;
    struct fld_err e;
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        if (strlen((const char *)items[i].body) != items[i].body_len)
            bug("a pushed body's length is not its text's", NULL);
        fld_err_clear(&e);
        rc = fld_version_open(items[i].body, items[i].body_len, items[i].sig,
                              &v, &e);
        if (rc == FLD_OK)
            fld_version_free(v);
        else
            check_refusal(rc, codes, &e,
                          "a version refused with another "
                          "code");
    }
}

static void check_same_sync(const struct syn_sync_request *a,
                            const struct syn_sync_request *b)
{
    size_t i;

    if ((a->cursor == NULL) != (b->cursor == NULL) ||
        (a->cursor && strcmp(a->cursor, b->cursor) != 0) ||
        a->limit != b->limit || a->n_push != b->n_push)
        bug("a sync request encodes and decodes back otherwise", NULL);
    for (i = 0; i < a->n_push; i++)
        if (a->push[i].body_len != b->push[i].body_len ||
            memcmp(a->push[i].body, b->push[i].body, a->push[i].body_len) ||
            memcmp(a->push[i].sig, b->push[i].sig, FLD_SIG_LEN) != 0)
            bug("a pushed version encodes and decodes back otherwise", NULL);
}

static void check_sync(const uint8_t *p, size_t len)
{
    static const int codes[] = {FLD_EINVAL, FLD_ELIMIT, FLD_EPROTO, FLD_OK};
    struct syn_sync_request *r = NULL, *again = NULL;
    struct fld_buf text = FLD_BUF_INIT;
    struct fld_err e;
    size_t cursor_len;
    int rc;

    fld_err_clear(&e);
    rc = syn_sync_request_decode(p, len, &r, &e);
    if (rc != FLD_OK) {
        check_refusal(rc, codes, &e,
                      "a sync request refused with another "
                      "code");
        if (r != NULL)
            bug("a refused sync request left a request", e.msg);
        return;
    }
    cursor_len = r->cursor ? strlen(r->cursor) : 1;
    if (r->limit < 1 || r->limit > SYN_MAX_LIMIT || r->n_push > SYN_MAX_PUSH ||
        cursor_len < 1 || cursor_len > SYN_MAX_CURSOR)
        bug("a sync request past its limits accepted", NULL);
    if (r->cursor)
        check_cursor(r->cursor);
    open_items(r->push, r->n_push);
    syn_sync_request_encode(r, &text);
    if (syn_sync_request_decode(text.data, text.len, &again, &e) != FLD_OK)
        bug("an accepted sync request, encoded, is refused", e.msg);
    check_same_sync(r, again);
    syn_sync_request_free(again);
    syn_sync_request_free(r);
    fld_buf_free(&text);
}

static void check_enroll(const uint8_t *p, size_t len)
{
    static const int codes[] = {FLD_EINVAL, FLD_ELIMIT, FLD_EPROTO, FLD_OK};
    struct syn_enroll_request r, again;
    struct fld_buf text = FLD_BUF_INIT;
    struct fld_err e;
    int rc;

    fld_err_clear(&e);
    rc = syn_enroll_request_decode(p, len, &r, &e);
    if (rc != FLD_OK) {
        check_refusal(rc, codes, &e,
                      "an enrollment refused with another "
                      "code");
        return;
    }
    if (strlen(r.code) < 1 || strlen(r.code) > SYN_MAX_CODE ||
        !fld_is_hex(r.public_key, FLD_HASH_HEX_LEN))
        bug("an enrollment past its limits accepted", r.code);
    syn_enroll_request_encode(&r, &text);
    if (syn_enroll_request_decode(text.data, text.len, &again, &e) != FLD_OK ||
        memcmp(&r, &again, sizeof r) != 0)
        bug("an enrollment encodes and decodes back otherwise", e.msg);
    fld_buf_free(&text);
}

/* The checks and decoders the server runs on a POST body. */
static void check_message(const uint8_t *p, size_t len)
{
    static const int codes[] = {FLD_EINVAL, FLD_ELIMIT, FLD_OK};
    struct fld_err e;
    int rc;

    fld_err_clear(&e);
    rc = syn_json_precheck(p, len, SYN_MAX_DEPTH, &e);
    if (rc != FLD_OK)
        check_refusal(rc, codes, &e, "a body refused with another code");
    check_sync(p, len);
    check_enroll(p, len);
}

/* ---- the request -------------------------------------------------------- */

/* Split at the first N_PARTS NULs: the parts (NULL when empty) and the
 * body after them. The parts point into copy, which the caller frees. */
static void split(const uint8_t *data, size_t size, char **copy,
                  const char *part[N_PARTS], const uint8_t **body,
                  size_t *body_len)
{
    size_t i, at = 0;

    *copy = fld_xmalloc(size + 1);
    memcpy(*copy, data, size);
    (*copy)[size] = '\0';
    for (i = 0; i < N_PARTS; i++) {
        const char *start = *copy + at;
        size_t len = at < size ? strlen(start) : 0;

        part[i] = len > 0 ? start : NULL;
        at = at + len < size ? at + len + 1 : size;
    }
    *body = data + at;
    *body_len = size - at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *part[N_PARTS];
    char *copy, *query, *target;
    const uint8_t *body;
    size_t body_len;
    struct syn_auth auth;
    struct fld_buf plain = FLD_BUF_INIT;

    split(data, size, &copy, part, &body, &body_len);
    check_query(part[3] ? part[3] : "", &query);
    if (part[3] != NULL)
        check_raw_query(part[3]);
    if (check_auth(part[0], part[1], part[2], &auth) == FLD_OK &&
        (part[3] == NULL || query != NULL)) {
        if (part[3] != NULL)
            target = fld_xasprintf("/v1/thresholds?%s", query);
        else
            target = fld_xstrdup("/v1/sync");
        check_signature(&auth, body_len ? "POST" : "GET", target, body,
                        body_len);
        free(target);
    }
    check_message(body, body_len);
    check_gunzip(body, body_len, &plain);
    if (plain.len > 6)
        check_message(plain.data + 6, plain.len - 6);
    fld_buf_free(&plain);
    free(query);
    free(copy);
    return 0;
}
