/*
 * ui_api.h - the JSON API of `field ui` (docs/UI.md): what each endpoint
 * means, over the same command plumbing the CLI uses (cmd.h), so that the
 * browser's form is evaluated by the one C engine (form.h, edit.h) and
 * every save is the version `field set` would sign.
 *
 * It never touches the network or the terminal: ui_server.c hands it a
 * decoded request (method, path, four query values, the body) after the
 * session, CSRF and size checks, and sends back the status and JSON it
 * leaves in a struct fld_ui_reply. Not thread-safe: one request at a time
 * (the server runs one thread).
 *
 * Errors have one shape everywhere:
 *   {"error": CODE, "message_vi": "...", "message_en": "..."}
 * with an optional "field" (the JSON member that was wrong) and, for 409
 * and 422, the record's "state" or the "missing" list.
 */
#ifndef FLD_UI_API_H
#define FLD_UI_API_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cmd.h"

/* The largest body any endpoint reads (the server answers 413 beyond). */
#define FLD_UI_MAX_BODY (1024 * 1024)

struct fld_ui_reply {
    int status;          /* HTTP status */
    struct fld_buf body; /* JSON text, unless type says otherwise */
    /* NULL: JSON. Else the media type of a file to download, and its
     * name (a static string: Content-Disposition: attachment). */
    const char *type;
    const char *filename; /* NULL: shown, not downloaded (a photo) */
    const char *cache;    /* Cache-Control; NULL: no-store */
};

/* The query values the endpoints read; NULL when absent. */
struct fld_ui_query {
    const char *q;
    const char *status;
    const char *unit;
    const char *template_id;
};

/*
 * Answer one API request: method "GET" or "POST", path beginning "/api/",
 * body (len bytes, may be NULL for none). ctx has the store open and, for
 * the endpoints that write, the key loaded. out->body is appended to; the
 * caller initialises it (FLD_BUF_INIT) and frees it. Always sets a status.
 */
void fld_ui_api_handle(struct cmd_ctx *ctx, const char *method,
                       const char *path, const struct fld_ui_query *query,
                       const uint8_t *body, size_t len,
                       struct fld_ui_reply *out);

/* What GET /api/session returns besides the CSRF token: the device, the
 * inspector, the language. A new object (fld_json_free()). */
struct fld_json *fld_ui_api_session(struct cmd_ctx *ctx);

/* Set out to status and v (consumed); a 500 should v not write. */
void fld_ui_reply_json(struct fld_ui_reply *out, int status,
                       struct fld_json *v);

/*
 * Set out to the error shape above: status, a stable code
 * ("not_found", "bad_request", ...), the Vietnamese and English messages,
 * and field when the error is about one member of the request (else NULL).
 */
void fld_ui_reply_error(struct fld_ui_reply *out, int status, const char *code,
                        const char *vi, const char *en, const char *field);

/*
 * A failure of the command plumbing, with the message it left in ctx->err
 * (English, one line), mapped to a status: unknown things 404, refused
 * values 422, a busy database 503, the rest 500.
 */
void fld_ui_reply_failure(struct fld_ui_reply *out, struct cmd_ctx *ctx,
                          int rc);

/* The form state of record id (a full id or prefix), as GET
 * /api/records/ID answers it, in *out (new); on failure the reply says
 * why and the code is returned. */
int fld_ui_record_state(struct cmd_ctx *ctx, const char *id,
                        struct fld_json **out, struct fld_ui_reply *reply);

/*
 * s folded for a search: lowercase, without diacritics (đ as d), so that
 * "ky loi" finds "Kỳ Lợi". New string (free()); NULL when s is not UTF-8.
 */
char *fld_ui_fold(const char *s);

#endif
