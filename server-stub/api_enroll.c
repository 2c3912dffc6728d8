/*
 * api_enroll.c - POST /v1/enroll: a new device spends a one-time code
 * (`field-server enroll-code`) and is enrolled with the code's name, role
 * and scope (docs/PROTOCOL.md).
 *
 * Where it sits: the gate in api.c has already checked the request's
 * framing, clock and signature (by the key being enrolled, which proves
 * the device holds it) and bounded enrolment attempts per address; this
 * file decodes the body and spends the code. Only the code's hash is
 * stored, so it is compared in one normal form.
 */
#include "api.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hlc.h"
#include "protocol.h"
#include "server.h"
#include "storage.h"
#include "version.h"

/* Codes are typed by people: compare them without dashes, spaces or case. */
static void code_hash(const char *code, char out[FLD_HASH_HEX_LEN + 1])
{
    char norm[SYN_MAX_CODE + 1];
    size_t n = 0;

    for (; *code && n < SYN_MAX_CODE; code++)
        if (*code != '-' && *code != ' ')
            norm[n++] = (char)toupper((unsigned char)*code);
    norm[n] = '\0';
    fld_version_hash((const uint8_t *)norm, n, out);
}

/* Split "A B C" into a new array of strings. */
static char **split_scope(const char *text, size_t *n)
{
    char **v = NULL, *copy = fld_xstrdup(text), *p = copy, *sp;
    size_t cap = 0;

    *n = 0;
    while (*p) {
        sp = strchr(p, ' ');
        if (sp)
            *sp = '\0';
        if (*p) {
            if (*n == cap) {
                cap = cap ? 2 * cap : 4;
                v = fld_xreallocarray(v, cap, sizeof *v);
            }
            v[(*n)++] = fld_xstrdup(p);
        }
        if (!sp)
            break;
        p = sp + 1;
    }
    free(copy);
    return v;
}

/*
 * POST /v1/enroll: spend a one-time code (enroll-code) and enroll the key
 * that signed the request with the code's name, role and scope. The code
 * is spent and the device added in one transaction under the writer lock,
 * so two devices racing with one code cannot both win.
 */
void srv_api_enroll(struct srv *s, struct srv_storage *st, const uint8_t *body,
                    size_t len, const char *signer, struct srv_response *resp)
{
    struct syn_enroll_request er;
    struct srv_enroll_code *code = NULL;
    struct syn_enroll_response out;
    struct srv_device d;
    char hash[FLD_HASH_HEX_LEN + 1];
    struct fld_err err;
    size_t i;
    int rc;

    fld_err_clear(&err);
    rc = syn_enroll_request_decode(body, len, &er, &err);
    if (rc != FLD_OK) {
        srv_api_decode_error(resp, rc, &err);
        return;
    }
    if (strcmp(er.public_key, signer) != 0) {
        srv_api_error(resp, 400, "key_mismatch",
                      "public_key must be the key that signs the request", -1);
        return;
    }
    code_hash(er.code, hash);
    memset(&d, 0, sizeof d);
    pthread_mutex_lock(&s->write_lock);
    rc = srv_storage_begin(st, &err);
    if (rc == FLD_OK)
        rc = srv_storage_code_use(st, hash, fld_now_ms(), er.public_key, &code,
                                  &err);
    if (rc == FLD_OK) {
        memcpy(d.pubkey, er.public_key, sizeof d.pubkey);
        d.inspector = code->inspector;
        d.role = code->role;
        d.scope = split_scope(code->scope, &d.n_scope);
        d.enrolled_ms = fld_now_ms();
        rc = srv_storage_device_add(st, &d, &err);
    }
    if (rc == FLD_OK)
        rc = srv_storage_audit_add(st, "enrolled", d.pubkey, code->scope,
                                   code->inspector, &err);
    if (rc == FLD_OK)
        rc = srv_storage_commit(st, &err);
    else
        srv_storage_rollback(st);
    pthread_mutex_unlock(&s->write_lock);
    if (rc == FLD_NOTFOUND) {
        srv_api_error(resp, 403, "invalid_code",
                      "the enrollment code is unknown, used or expired", -1);
    } else if (rc == FLD_EXISTS) {
        srv_api_error(resp, 409, "already_enrolled",
                      "this device key is enrolled already", -1);
    } else if (rc != FLD_OK) {
        srv_api_failure(resp, rc, &err);
    } else {
        memset(&out, 0, sizeof out);
        memcpy(out.device, d.pubkey, sizeof out.device);
        out.inspector = code->inspector;
        out.role = code->role;
        out.scope = d.scope;
        out.n_scope = d.n_scope;
        out.server_time = fld_now_ms();
        syn_enroll_response_encode(&out, srv_api_ok_body(resp));
    }
    for (i = 0; i < d.n_scope; i++)
        free(d.scope[i]);
    free(d.scope);
    srv_enroll_code_free(code);
}
