/*
 * api_attach.c - the attachment endpoints (docs/PROTOCOL.md, "Attachments
 * (photos)"), after api.c's gate has authenticated the device:
 *
 *   POST /v1/attachments/state            stored, partial, missing, unknown
 *   PUT  /v1/attachments/{hash}?offset=N  one chunk, acknowledged when
 *                                         durable
 *   GET  /v1/attachments/{hash}?offset=N  the whole file's bytes from N
 *
 * Where it sits: the storage says which attachments a device may see (the
 * scope of a pull, asked of the versions naming them) and how many bytes
 * of each are acknowledged; attachments.c keeps the files. A chunk goes:
 * claim the hash (one writer per upload), read its row, check the offset
 * and the size, write and fdatasync the chunk, and only then record the
 * new offset in the database (one transaction under the writer lock). The
 * chunk that completes the file has it hashed whole and renamed into
 * place before the row says "stored". So what a client was told is
 * acknowledged is on the disk, and nothing not verified is ever served.
 *
 * Decisions:
 *   - An attachment no version this device may see names does not exist
 *     for it (404 unknown_attachment), whether or not the server holds it:
 *     no hint leaks across scopes.
 *   - The size and type are the signed ones, from the first stored version
 *     naming the hash; the uploader's headers are never believed.
 *   - A second request for an upload under way is told to retry (503
 *     busy) rather than wait: a client that lost its connection asks the
 *     state again anyway.
 *   - A file left whole in place by a server killed before it marked it
 *     stored is marked stored by the next chunk of it (it was hashed
 *     before the rename).
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "attachments.h"
#include "hlc.h"
#include "protocol.h"
#include "query.h"

#define PREFIX "/v1/attachments/"
#define MAX_STATE_HASHES 1000

/* One attachment as this device may see it. */
struct seen {
    bool found;
    int64_t bytes, acked, stored_ms;
    char type[32];
};

static bool is_admin(const struct srv_device *d)
{
    return strcmp(d->role, "admin") == 0;
}

static void need(const void *p)
{
    if (p == NULL)
        abort(); /* out of memory */
}

/* ---- POST /v1/attachments/state --------------------------------------------
 */

static int keep_seen(void *ctx, size_t i, const struct srv_attachment *a)
{
    struct seen *all = ctx;

    all[i].found = true;
    all[i].bytes = a->bytes;
    all[i].acked = a->acked;
    all[i].stored_ms = a->stored_ms;
    snprintf(all[i].type, sizeof all[i].type, "%s", a->type ? a->type : "");
    return FLD_OK;
}

/* The state a row means: whole files are stored, a byte acknowledged is a
 * partial, none is missing. */
static const char *state_of(const struct seen *w)
{
    if (!w->found)
        return "unknown";
    if (w->stored_ms > 0)
        return "stored";
    return w->acked > 0 ? "partial" : "missing";
}

static cJSON *state_json(const char *hash, const struct seen *w)
{
    cJSON *o = cJSON_CreateObject();

    need(o);
    need(cJSON_AddStringToObject(o, "hash", hash));
    need(cJSON_AddStringToObject(o, "state", state_of(w)));
    need(cJSON_AddNumberToObject(
        o, "offset", (double)(w->stored_ms > 0 ? w->bytes : w->acked)));
    if (w->found)
        need(cJSON_AddNumberToObject(o, "bytes", (double)w->bytes));
    return o;
}

/* The hashes of {"hashes":[...]}: 1 to 1000 distinct, each 64 lowercase
 * hex digits, into *out (borrowed from root). */
static int parse_hashes(const cJSON *root, const char ***out, size_t *n,
                        char *msg, size_t msg_len)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "hashes");
    const cJSON *item;
    const char **h;
    size_t i = 0, j;

    *out = NULL;
    *n = 0;
    if (!cJSON_IsObject(root) || !cJSON_IsArray(arr) ||
        cJSON_GetArraySize(arr) < 1 ||
        cJSON_GetArraySize(arr) > MAX_STATE_HASHES) {
        snprintf(msg, msg_len,
                 "the body must be {\"hashes\":[...]} with 1 "
                 "to 1000 hashes");
        return -1;
    }
    h = fld_xcalloc((size_t)cJSON_GetArraySize(arr), sizeof *h);
    cJSON_ArrayForEach(item, arr)
    {
        if (!cJSON_IsString(item) ||
            strlen(item->valuestring) != FLD_HASH_HEX_LEN ||
            !fld_is_hex(item->valuestring, FLD_HASH_HEX_LEN)) {
            snprintf(msg, msg_len, "hashes[%zu]: not 64 lowercase hex digits",
                     i);
            free(h);
            return -1;
        }
        for (j = 0; j < i; j++)
            if (strcmp(h[j], item->valuestring) == 0) {
                snprintf(msg, msg_len, "hashes[%zu]: asked twice", i);
                free(h);
                return -1;
            }
        h[i++] = item->valuestring;
    }
    *out = h;
    *n = i;
    return 0;
}

void srv_api_attach_state(struct srv *s, struct srv_storage *st,
                          const struct srv_device *dev, const uint8_t *body,
                          size_t len, struct srv_response *resp)
{
    cJSON *req = cJSON_ParseWithLength((const char *)body, len);
    cJSON *root, *arr;
    const char **hashes = NULL;
    struct seen *all = NULL;
    struct fld_err err;
    char msg[128];
    size_t n = 0, i;
    int rc;

    (void)s;
    fld_err_clear(&err);
    if (req == NULL) {
        srv_api_error(resp, 400, "bad_json", "the body is not JSON", -1);
        return;
    }
    if (parse_hashes(req, &hashes, &n, msg, sizeof msg) != 0) {
        srv_api_error(resp, 400, "bad_request", msg, -1);
        cJSON_Delete(req);
        return;
    }
    all = fld_xcalloc(n, sizeof *all);
    rc = srv_storage_attachments_seen(st, dev->pubkey, is_admin(dev), hashes, n,
                                      keep_seen, all, &err);
    if (rc != FLD_OK) {
        srv_api_failure(resp, rc, &err);
    } else {
        root = srv_api_list_new("attachments", &arr);
        for (i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, state_json(hashes[i], &all[i]));
        srv_api_json_ok(resp, root);
    }
    free(all);
    free((void *)hashes);
    cJSON_Delete(req);
}

/* ---- PUT and GET /v1/attachments/{hash} ------------------------------------
 */

/* The hash of the path and the offset of the query (0 when absent and
 * !required), or -1 with 400 bad_request in resp. */
static int target(const struct srv_request *req, bool required,
                  const char **hash, int64_t *offset, struct srv_response *resp)
{
    static const char *const params[] = {"offset", NULL};
    struct srv_query q;
    struct fld_err err;
    const char *arg;
    char *end = NULL;

    *hash = req->path + strlen(PREFIX);
    *offset = 0;
    fld_err_clear(&err);
    if (strlen(*hash) != FLD_HASH_HEX_LEN ||
        !fld_is_hex(*hash, FLD_HASH_HEX_LEN)) {
        srv_api_error(resp, 400, "bad_request",
                      "an attachment is named by 64 lowercase hex digits", -1);
        return -1;
    }
    if (srv_query_parse(req->query, params, &q, &err) != FLD_OK) {
        srv_api_error(resp, 400, "bad_request", err.msg, -1);
        srv_query_free(&q);
        return -1;
    }
    arg = srv_query_get(&q, "offset");
    if (arg != NULL && arg[0] >= '0' && arg[0] <= '9' && strlen(arg) <= 15)
        *offset = strtoll(arg, &end, 10);
    if ((arg == NULL && required) ||
        (arg != NULL && (end == NULL || *end != '\0'))) {
        srv_api_error(resp, 400, "bad_request",
                      "\"offset\" must be a number of bytes (0 or more)", -1);
        srv_query_free(&q);
        return -1;
    }
    srv_query_free(&q);
    return 0;
}

/* Hash as dev may see it, into *w; -1 with the failure in resp. */
static int look_up(struct srv_storage *st, const struct srv_device *dev,
                   const char *hash, struct seen *w, struct srv_response *resp)
{
    struct fld_err err;
    int rc;

    fld_err_clear(&err);
    memset(w, 0, sizeof *w);
    rc = srv_storage_attachments_seen(st, dev->pubkey, is_admin(dev), &hash, 1,
                                      keep_seen, w, &err);
    if (rc != FLD_OK) {
        srv_api_failure(resp, rc, &err);
        return -1;
    }
    return 0;
}

static void unknown(struct srv_response *resp)
{
    srv_api_error(resp, 404, "unknown_attachment",
                  "no stored version this device may see names this "
                  "attachment",
                  -1);
}

/* 409 wrong_offset, carrying where the acknowledged bytes end. */
static void wrong_offset(struct srv_response *resp, int64_t offset,
                         int64_t acked)
{
    cJSON *root = cJSON_CreateObject(), *e;
    char msg[128], *text;

    need(root);
    need(e = cJSON_AddObjectToObject(root, "error"));
    snprintf(msg, sizeof msg,
             "the acknowledged bytes end at %" PRId64 ", not at %" PRId64
             "; resume from there",
             acked, offset);
    need(cJSON_AddStringToObject(e, "code", "wrong_offset"));
    need(cJSON_AddStringToObject(e, "message", msg));
    need(cJSON_AddNumberToObject(e, "offset", (double)acked));
    need(text = cJSON_PrintUnformatted(root));
    srv_api_error(resp, 409, "wrong_offset", msg, -1);
    fld_buf_reset(&resp->body);
    fld_buf_puts(&resp->body, text);
    cJSON_free(text);
    cJSON_Delete(root);
}

static void chunk_ok(struct srv_response *resp, const char *hash,
                     int64_t offset, int64_t bytes, bool stored)
{
    cJSON *root = cJSON_CreateObject();

    need(root);
    need(cJSON_AddStringToObject(root, "hash", hash));
    need(cJSON_AddNumberToObject(root, "offset", (double)offset));
    need(cJSON_AddNumberToObject(root, "bytes", (double)bytes));
    need(cJSON_AddBoolToObject(root, "stored", stored));
    srv_api_json_ok(resp, root);
}

/* One transaction under the writer lock: ack from..to (to < 0: no ack),
 * then mark stored when stored, or reset when reset. */
static int record(struct srv *s, struct srv_storage *st, const char *hash,
                  int64_t from, int64_t to, bool stored, bool reset,
                  struct fld_err *err)
{
    int64_t now = fld_now_ms();
    int rc;

    pthread_mutex_lock(&s->write_lock);
    rc = srv_storage_begin(st, err);
    if (rc == FLD_OK && to >= 0)
        rc = srv_storage_attachment_ack(st, hash, from, to, now, err);
    if (rc == FLD_OK && stored)
        rc = srv_storage_attachment_stored(st, hash, now, err);
    if (rc == FLD_OK && reset)
        rc = srv_storage_attachment_reset(st, hash, err);
    if (rc == FLD_OK)
        rc = srv_storage_commit(st, err);
    else
        srv_storage_rollback(st);
    pthread_mutex_unlock(&s->write_lock);
    return rc;
}

/* The disk's failures: full is the server's state, told as such; a
 * writer taken over (its link looked dead) is told to ask again. */
static void disk_failure(struct srv_response *resp, int rc,
                         const struct fld_err *err)
{
    if (rc == FLD_EFULL)
        srv_api_error(resp, 507, "disk_full",
                      "the server's disk is full; nothing of this chunk was "
                      "kept",
                      -1);
    else if (rc == FLD_EBUSY)
        srv_api_error(resp, 503, "busy", err->msg, -1);
    else
        srv_api_failure(resp, rc, err);
}

/* A chunk on its way in (api.h). */
struct srv_upload {
    struct srv *s;
    char hash[FLD_HASH_HEX_LEN + 1];
    uint64_t token; /* its claim */
    /* A streamed chunk's signature, checked for a replay at its end. */
    struct syn_auth auth;
    bool is_replay_pending;
    int64_t offset, len; /* where the chunk starts, its Content-Length */
    int64_t bytes;       /* the signed size of the file */
    struct srv_attach_chunk *chunk;
    int rc; /* the first failure writing it, kept for the answer */
    struct fld_err err;
};

static void upload_free(struct srv_upload *u, bool is_kept)
{
    srv_attach_end(u->s->attach, u->chunk, is_kept);
    srv_attach_unclaim(u->s->attach, u->hash, u->token);
    free(u);
}

/* Begin writing the chunk of len bytes at offset of the upload w of hash,
 * claimed: the upload, or NULL with the answer in resp. */
static struct srv_upload *begin_claimed(struct srv *s, struct srv_storage *st,
                                        const char *hash, uint64_t token,
                                        int64_t offset, uint64_t len,
                                        const struct seen *w,
                                        struct srv_response *resp)
{
    int64_t end = offset + (int64_t)len;
    struct srv_upload *u;
    struct fld_err err;
    char msg[128];
    int rc;

    fld_err_clear(&err);
    if (srv_attach_is_whole(s->attach, hash)) {
        /* verified and renamed, but the server stopped before it said so */
        if ((rc = record(s, st, hash, 0, -1, true, false, &err)) != FLD_OK)
            srv_api_failure(resp, rc, &err);
        else
            chunk_ok(resp, hash, w->bytes, w->bytes, true);
        return NULL;
    }
    if (offset != w->acked) {
        wrong_offset(resp, offset, w->acked);
        return NULL;
    }
    if (end > w->bytes) {
        snprintf(msg, sizeof msg,
                 "the chunk ends at %" PRId64 ", beyond the %" PRId64
                 " bytes signed",
                 end, w->bytes);
        srv_api_error(resp, 413, "beyond_size", msg, -1);
        return NULL;
    }
    u = fld_xcalloc(1, sizeof *u);
    rc = srv_attach_begin(s->attach, hash, token, offset, &u->chunk, &err);
    if (rc == FLD_OK) {
        u->s = s;
        snprintf(u->hash, sizeof u->hash, "%s", hash);
        u->token = token;
        u->offset = offset;
        u->len = (int64_t)len;
        u->bytes = w->bytes;
        return u;
    }
    free(u);
    if (rc != FLD_NOTFOUND) {
        disk_failure(resp, rc, &err);
        return NULL;
    }
    /* the acknowledged bytes are gone (deleted behind our back): the
     * upload starts again from 0 */
    if ((rc = record(s, st, hash, 0, -1, false, true, &err)) != FLD_OK)
        srv_api_failure(resp, rc, &err);
    else
        wrong_offset(resp, offset, 0);
    return NULL;
}

struct srv_upload *srv_api_attach_begin(struct srv *s, struct srv_storage *st,
                                        const struct srv_device *dev,
                                        const struct syn_auth *auth,
                                        const struct srv_request *req,
                                        uint64_t len, struct srv_response *resp)
{
    struct srv_upload *u = NULL;
    const char *hash;
    struct seen w;
    int64_t offset;
    uint64_t token;

    if (target(req, true, &hash, &offset, resp) != 0)
        return NULL;
    if (len == 0) {
        srv_api_error(resp, 400, "bad_request", "an empty chunk", -1);
        return NULL;
    }
    if (len > SRV_ATTACH_MAX_CHUNK) {
        srv_api_error(resp, 413, "too_large", "a chunk is at most 8 MiB", -1);
        return NULL;
    }
    if ((token = srv_attach_claim(s->attach, hash, dev->pubkey)) == 0) {
        srv_api_error(resp, 503, "busy",
                      "another request is writing this attachment; retry", -1);
        resp->retry_after_s = 1; /* it ends, or is taken over, in seconds */
        return NULL;
    }
    /* read after the claim: no other request moves it meanwhile */
    if (look_up(st, dev, hash, &w, resp) == 0) {
        if (!w.found)
            unknown(resp);
        else if (w.stored_ms > 0)
            chunk_ok(resp, hash, w.bytes, w.bytes, true); /* nothing written */
        else
            u = begin_claimed(s, st, hash, token, offset, len, &w, resp);
    }
    if (u == NULL) {
        srv_attach_unclaim(s->attach, hash, token);
    } else if (req->is_streamed) {
        u->auth = *auth;
        u->is_replay_pending = true;
    }
    return u;
}

void srv_api_upload_piece(struct srv_upload *u, const uint8_t *p, size_t len)
{
    /* After a failure the rest of the body is read and dropped: the
     * answer comes when it is all in, on a connection still usable. */
    if (u->rc != FLD_OK)
        return;
    if ((int64_t)len > u->offset + u->len - srv_attach_chunk_end(u->chunk))
        u->rc = fld_err_set(&u->err, FLD_ELIMIT,
                            "the chunk is longer than its Content-Length");
    else
        u->rc = srv_attach_put(u->s->attach, u->chunk, p, len, &u->err);
}

/* The chunk is all in and durable: finish the file if it is whole, and
 * acknowledge. Whether its bytes stay: the database holds them, or they
 * are the whole file, verified and in place (which a failure to record
 * it must not cut; the next chunk or state request finds it whole). */
static bool acknowledge(struct srv_upload *u, struct srv_storage *st,
                        struct srv_response *resp)
{
    struct srv *s = u->s;
    int64_t end = srv_attach_chunk_end(u->chunk);
    bool is_whole = end == u->bytes;
    struct fld_err err;
    int rc = FLD_OK;

    fld_err_clear(&err);
    if (is_whole)
        rc = srv_attach_finish(s->attach, u->chunk, u->bytes, &err);
    if (rc == FLD_EBADSIG) {
        if ((rc = record(s, st, u->hash, 0, -1, false, true, &err)) != FLD_OK)
            srv_api_failure(resp, rc, &err);
        else
            srv_api_error(resp, 422, "hash_mismatch", err.msg, -1);
        return false;
    }
    if (rc != FLD_OK) {
        disk_failure(resp, rc, &err);
        return false;
    }
    rc = record(s, st, u->hash, u->offset, end, is_whole, false, &err);
    if (rc == FLD_CONFLICT) {
        wrong_offset(resp, u->offset, u->offset);
        return is_whole;
    }
    if (rc != FLD_OK) {
        srv_api_failure(resp, rc, &err);
        return is_whole;
    }
    srv_metrics_attachment_bytes(s->metrics, end - u->offset, 0);
    chunk_ok(resp, u->hash, end, u->bytes, is_whole);
    return true;
}

void srv_api_attach_end(struct srv_upload *u, struct srv_storage *st,
                        struct srv_response *resp)
{
    bool is_kept = false;

    if (u->is_replay_pending &&
        srv_api_check_replay(u->s, &u->auth, resp) != 0) {
        upload_free(u, false);
        return;
    }
    if (u->rc == FLD_OK && srv_attach_chunk_end(u->chunk) != u->offset + u->len)
        u->rc = fld_err_set(&u->err, FLD_ELIMIT,
                            "the chunk is shorter than its Content-Length");
    if (u->rc == FLD_OK)
        u->rc = srv_attach_sync(u->s->attach, u->chunk, &u->err);
    if (u->rc == FLD_ELIMIT)
        srv_api_error(resp, 400, "bad_request", u->err.msg, -1);
    else if (u->rc != FLD_OK)
        disk_failure(resp, u->rc, &u->err);
    else
        is_kept = acknowledge(u, st, resp);
    upload_free(u, is_kept);
}

void srv_api_upload_abort(struct srv_upload *u)
{
    if (u != NULL)
        upload_free(u, false);
}

void srv_api_attach_put(struct srv *s, struct srv_storage *st,
                        const struct srv_device *dev,
                        const struct srv_request *req,
                        struct srv_response *resp)
{
    struct srv_upload *u =
        srv_api_attach_begin(s, st, dev, NULL, req, req->body_len, resp);

    if (u == NULL)
        return;
    srv_api_upload_piece(u, req->body, req->body_len);
    srv_api_attach_end(u, st, resp);
}

void srv_api_attach_get(struct srv *s, struct srv_storage *st,
                        const struct srv_device *dev,
                        const struct srv_request *req,
                        struct srv_response *resp)
{
    const char *hash;
    struct seen w;
    struct fld_err err;
    int64_t offset, len = 0;
    int fd = -1, rc;

    fld_err_clear(&err);
    if (target(req, false, &hash, &offset, resp) != 0)
        return;
    if (look_up(st, dev, hash, &w, resp) != 0)
        return;
    if (!w.found || w.stored_ms == 0) {
        unknown(resp); /* a partial file is never served */
        return;
    }
    if (offset > w.bytes) {
        srv_api_error(resp, 400, "bad_request",
                      "\"offset\" is beyond the attachment's size", -1);
        return;
    }
    rc = srv_attach_open_whole(s->attach, hash, &fd, &len, &err);
    if (rc == FLD_OK && len != w.bytes) {
        close(fd);
        rc = fld_err_set(&err, FLD_ECORRUPT,
                         "attachment %.16s: %lld bytes on disk, %lld signed",
                         hash, (long long)len, (long long)w.bytes);
    }
    if (rc != FLD_OK) {
        /* stored and now gone or damaged: the server's fault */
        srv_api_error(resp, 500, "internal", err.msg, -1);
        return;
    }
    fld_buf_reset(&resp->body);
    resp->status = 200;
    snprintf(resp->file_type, sizeof resp->file_type, "%s", w.type);
    resp->content_type = resp->file_type;
    resp->has_file = true;
    resp->fd = fd;
    resp->file_offset = (uint64_t)offset;
    resp->file_len = (uint64_t)(len - offset);
    resp->attachment_bytes = w.bytes;
    srv_metrics_attachment_bytes(s->metrics, 0, len - offset);
}
