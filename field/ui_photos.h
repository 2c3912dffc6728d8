/*
 * ui_photos.h - photos in the form of `field ui` (docs/UI.md): a photo
 * from the phone's camera or the computer's files, attached as `field
 * attach` attaches it (cmd_attach_photos(): the file checked and kept
 * under its hash, ONE signed version answering the question with it),
 * and the photos this device holds, for the page's thumbnails.
 *
 *   POST /api/records/ID/photos?question=NAME  body: the JPEG's bytes,
 *        Content-Type: image/jpeg, at most FLD_UI_MAX_PHOTO bytes
 *        201 {saved, version, photo: {hash, bytes, type, taken,
 *        position}, state}; 404 unknown record; 400 no such photo
 *        question; 415 not a JPEG; 413 too large; 422 a closed record
 *        or one with conflicts
 *   GET  /api/photos/HASH  the file (image/jpeg or image/png), cached by
 *        the browser as what it is: immutable, named by its hash
 *
 * The session and CSRF checks are ui_server.c's, as for every request.
 */
#ifndef FLD_UI_PHOTOS_H
#define FLD_UI_PHOTOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "ui_api.h"

/* The largest upload: `field attach`'s own default limit. Only the upload
 * endpoint reads a body this large; every other keeps FLD_UI_MAX_BODY. */
#define FLD_UI_MAX_PHOTO FLD_ATTACH_DEFAULT_LIMIT

/* Whether method and path are a photo upload (its body limit is
 * FLD_UI_MAX_PHOTO, and it is not JSON). */
bool fld_ui_photo_is_upload(const char *method, const char *path);

/* POST /api/records/ID/photos: path as the request gave it, question
 * the query's, type the Content-Type header (may be NULL). */
void fld_ui_photo_upload(struct cmd_ctx *ctx, const char *path,
                         const char *question, const char *type,
                         const uint8_t *body, size_t len,
                         struct fld_ui_reply *out);

/* GET /api/photos/HASH: path as the request gave it. */
void fld_ui_photo_get(struct cmd_ctx *ctx, const char *path,
                      struct fld_ui_reply *out);

#endif
