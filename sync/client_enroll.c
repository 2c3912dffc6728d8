/*
 * client_enroll.c - enrolling this device with a server (syn_enroll() in
 * client.h; docs/SYNC.md).
 *
 * Where it sits: `field enroll URL CODE` calls syn_enroll(), which sends
 * the device's public key with the one-time code the server's admin
 * handed out (POST /v1/enroll, signed like every request, through
 * client.c's retries), then records in the store's meta table the server,
 * the role and scope it granted and the TLS settings to reach it again.
 * A lost answer is the hard case: the code may have been used by our own
 * request, so a refusal that could mean that is settled by asking the
 * server whether this key is enrolled (probe_enrolled()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capture.h"
#include "client_int.h"
#include "hlc.h"

#define ENROLL_PATH "/v1/enroll"
#define MAX_URL 1024

void syn_enrollment_free(struct syn_enrollment *e)
{
    if (e == NULL)
        return;
    free(e->url);
    free(e->role);
    free(e->scope);
    free(e->inspector);
    memset(e, 0, sizeof *e);
}

/* ---- URLs ------------------------------------------------------------- */

int syn_url_normalise(const char *url, char **out, struct fld_err *err)
{
    size_t n = strlen(url), start, i;

    *out = NULL;
    if (strncasecmp(url, "https://", 8) == 0)
        start = 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        start = 7;
    else
        return fld_err_set(
            err, FLD_EUSAGE,
            "the server URL must start with https:// (or http://): "
            "'%.200s'",
            url);
    if (n > MAX_URL)
        return fld_err_set(err, FLD_EUSAGE, "the server URL is too long");
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)url[i];

        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '\\' ||
            ch == '@')
            return fld_err_set(err, FLD_EUSAGE,
                               "the server URL may not contain '%c' or spaces "
                               "(give scheme, host, port and path only)",
                               ch > 0x20 && ch < 0x7f ? (int)ch : '?');
    }
    if (url[start] == '\0' || url[start] == '/' || url[start] == ':')
        return fld_err_set(err, FLD_EUSAGE,
                           "the server URL has no host: '%.200s'", url);
    while (n > start && url[n - 1] == '/')
        n--;
    *out = fld_xstrndup(url, n);
    return FLD_OK;
}

/* ---- enrollment ------------------------------------------------------- */

/* A signed sync request that asks for one version and pushes none: it
 * answers 200 only if this key is enrolled at the server. */
static int probe_enrolled(struct run *r, struct fld_err *err)
{
    struct syn_sync_request req;
    struct fld_buf body = FLD_BUF_INIT;
    struct syn_http_response resp;
    int rc;

    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    req.limit = 1;
    syn_sync_request_encode(&req, &body);
    rc = syn_client_exchange(r, "POST", SYNC_PATH, &body, &resp, err);
    syn_http_response_reset(&resp);
    fld_buf_free(&body);
    return rc;
}

static int record_enrollment(struct run *r, const struct syn_enrollment *e,
                             bool new_server, const char *cacert,
                             const char *pinned, int64_t server_time,
                             struct fld_err *err)
{
    struct fld_store *st = r->cfg.st;
    const struct {
        const char *key, *value;
    } texts[] = {
        {SYN_META_URL, e->url},
        {SYN_META_ROLE, e->role ? e->role : ""},
        {SYN_META_SCOPE, e->scope ? e->scope : ""},
        {SYN_META_INSPECTOR, e->inspector ? e->inspector : ""},
        {SYN_META_CACERT, cacert ? cacert : ""},
        {SYN_META_PINNED, pinned ? pinned : ""},
    };
    size_t i;
    int rc;

    if ((rc = fld_store_begin(st, err)) != FLD_OK)
        return rc;
    /* Versions known to another server say nothing of this one. */
    if (new_server) {
        rc = fld_store_sync_forget(st, err);
        if (rc == FLD_OK)
            rc = fld_store_meta_set(st, SYN_META_CURSOR, "", err);
    }
    for (i = 0; rc == FLD_OK && i < sizeof texts / sizeof texts[0]; i++)
        rc = fld_store_meta_set(st, texts[i].key, texts[i].value, err);
    if (rc == FLD_OK)
        rc = fld_store_meta_set_int(st, SYN_META_ENROLLED, fld_now_ms(), err);
    if (rc == FLD_OK && server_time > 0)
        rc = fld_store_meta_set_int(
            st, FLD_META_OFFSET, syn_client_offset_from(r, server_time), err);
    if (rc != FLD_OK) {
        fld_store_rollback(st);
        return rc;
    }
    return fld_store_commit(st, err);
}

/* The scope as struct syn_enrollment keeps it: unit codes, space
 * separated (new string). */
static char *join_scope(const struct syn_enroll_response *ans)
{
    struct fld_buf s = FLD_BUF_INIT;
    char *scope;
    size_t i;

    for (i = 0; i < ans->n_scope; i++) {
        if (i)
            fld_buf_putc(&s, ' ');
        fld_buf_puts(&s, ans->scope[i]);
    }
    scope = fld_xstrdup(fld_buf_str(&s));
    fld_buf_free(&s);
    return scope;
}

/*
 * POST /v1/enroll with the code and this device's public key. On 200 what
 * the server granted goes into out and its time into *server_time; a
 * refusal is syn_client_exchange()'s (FLD_EINVAL, its code in r->code).
 */
static int ask_server(struct run *r, const char *code,
                      struct syn_enrollment *out, int64_t *server_time,
                      struct fld_err *err)
{
    struct syn_enroll_request req;
    struct syn_enroll_response *ans = NULL;
    struct syn_http_response resp;
    struct fld_buf body = FLD_BUF_INIT;
    char pub[FLD_HASH_HEX_LEN + 1];
    int rc;

    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    snprintf(req.code, sizeof req.code, "%s", code);
    fld_key_public_hex(r->cfg.key, pub);
    memcpy(req.public_key, pub, sizeof req.public_key);
    syn_enroll_request_encode(&req, &body);
    rc = syn_client_exchange(r, "POST", ENROLL_PATH, &body, &resp, err);
    if (rc != FLD_OK)
        goto done;
    if (syn_enroll_response_decode(resp.body.data, resp.body.len, &ans, err) !=
        FLD_OK) {
        rc = syn_client_malformed(r, err);
        goto done;
    }
    if (strcmp(ans->device, pub) != 0) {
        rc = fld_err_set(err, FLD_EPROTO,
                         "the server at %s enrolled another key (%.16s)",
                         r->url, ans->device);
        goto done;
    }
    out->role = fld_xstrdup(ans->role ? ans->role : "");
    out->inspector = fld_xstrdup(ans->inspector ? ans->inspector : "");
    out->scope = join_scope(ans);
    *server_time = ans->server_time;
done:
    syn_enroll_response_free(ans);
    syn_http_response_reset(&resp);
    fld_buf_free(&body);
    return rc;
}

/*
 * Whether the refusal just received may mean that this very key is
 * enrolled: already_enrolled (the server checked our signature, so it is
 * our key that is enrolled), or invalid_code after an attempt whose
 * answer was lost (perhaps ours used it).
 */
static bool may_be_ours(const struct run *r)
{
    if (strcmp(r->code, "already_enrolled") == 0)
        return true;
    return strcmp(r->code, "invalid_code") == 0 && r->maybe_delivered;
}

/* Ask the server whether this key is enrolled. When it does not know the
 * key, the refusal that made us ask (in err) is the answer. */
static int confirm_enrolled(struct run *r, struct syn_enrollment *out,
                            struct fld_err *err)
{
    struct fld_err first = err ? *err : (struct fld_err){0, ""};
    int rc = probe_enrolled(r, err);

    if (rc == FLD_EINVAL && strcmp(r->code, "unknown_device") == 0) {
        if (err)
            *err = first;
        return FLD_EINVAL;
    }
    if (rc == FLD_OK)
        out->was_enrolled = true;
    return rc;
}

int syn_enroll(const struct syn_client *c, const char *url, const char *code,
               const char *cacert, const char *pinned,
               struct syn_enrollment *out, struct fld_err *err)
{
    struct syn_stats stats;
    struct run r;
    char *have = NULL;
    int64_t server_time = 0;
    int rc;

    memset(out, 0, sizeof *out);
    syn_client_run_init(&r, c, &stats);
    if ((rc = syn_url_normalise(url, &out->url, err)) != FLD_OK)
        return rc;
    if (strlen(code) == 0 || strlen(code) > SYN_MAX_CODE) {
        rc = fld_err_set(err, FLD_EUSAGE,
                         "the enrollment code must be 1 to %d characters",
                         SYN_MAX_CODE);
        goto done;
    }
    r.url = out->url;
    if ((rc = syn_client_meta_text(c->st, SYN_META_URL, &have, err)) != FLD_OK)
        goto done;
    if ((rc = syn_client_meta_int(c->st, FLD_META_OFFSET, &r.offset_ms, err)) !=
        FLD_OK)
        goto done;
    if (strcmp(have, out->url) == 0) {
        rc = fld_err_set(err, FLD_EXISTS,
                         "this device is already enrolled at %s; 'field sync' "
                         "syncs with it",
                         out->url);
        goto done;
    }
    rc = ask_server(&r, code, out, &server_time, err);
    if (rc == FLD_EINVAL && may_be_ours(&r))
        rc = confirm_enrolled(&r, out, err);
    if (rc == FLD_OK)
        rc = record_enrollment(&r, out, have[0] != '\0', cacert, pinned,
                               server_time, err);
done:
    if (rc != FLD_OK)
        syn_enrollment_free(out);
    free(have);
    return rc;
}
