/*
 * ui_photos.c - photos in the form of `field ui` (see ui_photos.h).
 *
 * The upload arrives whole in memory (ui_server.c caps it at
 * FLD_UI_MAX_PHOTO before reading it all), is written to a private file in
 * the attachments' partial folder, and that file is what `field attach`
 * would be given: cmd_attach_photos() sniffs it, reads its EXIF, copies it
 * under its hash and signs the version, all or nothing. The private file
 * is removed whatever happened. Its name never reaches the page: the
 * attachment's messages name "the photo" instead.
 */
#include "ui_photos.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

#define UPLOAD_PREFIX "/api/records/"
#define UPLOAD_SUFFIX "/photos"
#define PHOTOS_PREFIX "/api/photos/"
/* The longest question address: GROUP[16 hex digits].NAME, generously. */
#define QUESTION_MAX 256

bool fld_ui_photo_is_upload(const char *method, const char *path)
{
    size_t n = strlen(path), p = strlen(UPLOAD_PREFIX),
           s = strlen(UPLOAD_SUFFIX);

    return strcmp(method, "POST") == 0 && n > p + s &&
           strncmp(path, UPLOAD_PREFIX, p) == 0 &&
           strcmp(path + n - s, UPLOAD_SUFFIX) == 0;
}

/* The record id between the prefix and the suffix: 4 to 32 lowercase hex
 * digits, as the other record endpoints take it. */
static bool upload_record(const char *path, char id[FLD_RECORD_HEX_LEN + 1])
{
    const char *rest = path + strlen(UPLOAD_PREFIX);
    size_t n = strspn(rest, "0123456789abcdef");

    if (n < 4 || n > FLD_RECORD_HEX_LEN || strcmp(rest + n, UPLOAD_SUFFIX))
        return false;
    memcpy(id, rest, n);
    id[n] = '\0';
    return true;
}

/* Write the body to a new private file under home's attachments; *tmp is
 * its path (free(), unlink()). */
static int write_upload(struct cmd_ctx *ctx, const uint8_t *body, size_t len,
                        char **tmp)
{
    char *dir = fld_attachment_dir(ctx->home);
    char *partial = fld_xasprintf("%s/partial", dir);
    size_t done = 0;
    ssize_t w;
    int fd = -1, rc = FLD_OK;

    *tmp = fld_xasprintf("%s/ui-XXXXXX", partial);
    if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
        (mkdir(partial, 0700) != 0 && errno != EEXIST))
        rc = fld_err_set(&ctx->err, FLD_EIO, "cannot create %s: %s", partial,
                         strerror(errno));
    else if ((fd = mkstemp(*tmp)) < 0)
        rc = fld_err_set(&ctx->err, FLD_EIO, "cannot create a file in %s: %s",
                         partial, strerror(errno));
    while (rc == FLD_OK && done < len) {
        w = write(fd, body + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = fld_err_set(&ctx->err, errno == ENOSPC ? FLD_EFULL : FLD_EIO,
                             "cannot write the photo in %s: %s", partial,
                             strerror(errno));
        else
            done += (size_t)w;
    }
    if (fd >= 0 && close(fd) != 0 && rc == FLD_OK)
        rc = fld_err_set(&ctx->err, FLD_EIO, "cannot write the photo in %s",
                         partial);
    if (rc != FLD_OK && fd >= 0)
        unlink(*tmp);
    if (rc != FLD_OK) {
        free(*tmp);
        *tmp = NULL;
    }
    free(partial);
    free(dir);
    return rc;
}

/* ctx's message with the private file's name replaced by "the photo". */
static void name_photo(struct cmd_ctx *ctx, const char *tmp)
{
    char msg[FLD_ERR_MSG_MAX];
    size_t n = strlen(tmp);

    if (strncmp(ctx->err.msg, tmp, n) != 0)
        return;
    snprintf(msg, sizeof msg, "the photo%s", ctx->err.msg + n);
    memcpy(ctx->err.msg, msg, sizeof msg);
}

/* A failure of cmd_attach_photos() at stage x->stage, mapped as the task
 * of each stage means: the question 400, the file 415 or 413, a closed
 * record or a refused answer 422. */
static void reply_attach_failure(struct cmd_ctx *ctx,
                                 const struct cmd_attached *x, int rc,
                                 struct fld_ui_reply *out)
{
    const char *en = ctx->err.msg;

    if (x->stage == CMD_ATTACH_RECORD && rc == FLD_EINVAL)
        fld_ui_reply_error(out, 422, "closed",
                           "Phiếu đã đóng hoặc đang có xung đột: không thêm "
                           "ảnh được",
                           en, NULL);
    else if (x->stage == CMD_ATTACH_QUESTION)
        fld_ui_reply_error(out, 400, "bad_question",
                           "Không có câu hỏi ảnh này trong biểu mẫu", en,
                           "question");
    else if (x->stage == CMD_ATTACH_FILE && rc == FLD_EINVAL)
        fld_ui_reply_error(out, 415, "not_a_photo",
                           "Tệp gửi lên không phải ảnh JPEG đầy đủ", en, NULL);
    else if (x->stage == CMD_ATTACH_FILE && rc == FLD_ELIMIT)
        fld_ui_reply_error(out, 413, "too_large", "Ảnh quá lớn", en, NULL);
    else if (x->stage == CMD_ATTACH_ANSWER)
        fld_ui_reply_error(out, 422, "refused",
                           "Không được chấp nhận, chưa lưu gì", en, NULL);
    else
        fld_ui_reply_failure(out, ctx, rc);
}

/* What the page checks before anything is written: the record's address,
 * the question named, a JPEG declared and something sent. */
static bool bad_upload(const char *path, const char *question, const char *type,
                       size_t len, char id[FLD_RECORD_HEX_LEN + 1],
                       struct fld_ui_reply *out)
{
    if (!upload_record(path, id))
        fld_ui_reply_error(out, 404, "not_found", "Không tìm thấy phiếu",
                           "no such record", NULL);
    else if (question == NULL || question[0] == '\0' ||
             strlen(question) > QUESTION_MAX)
        fld_ui_reply_error(
            out, 400, "bad_question", "Thiếu tên câu hỏi ảnh (?question=TÊN)",
            "give the photo question: ?question=NAME", "question");
    else if (type == NULL ||
             strncmp(type, "image/jpeg", strlen("image/jpeg")) != 0)
        fld_ui_reply_error(out, 415, "not_a_photo",
                           "Cần gửi ảnh JPEG (Content-Type: image/jpeg)",
                           "send a JPEG photo (Content-Type: image/jpeg)",
                           NULL);
    else if (len == 0)
        fld_ui_reply_error(out, 400, "bad_request", "Không có ảnh nào được gửi",
                           "the request has no photo in its body", NULL);
    else
        return false;
    return true;
}

void fld_ui_photo_upload(struct cmd_ctx *ctx, const char *path,
                         const char *question, const char *type,
                         const uint8_t *body, size_t len,
                         struct fld_ui_reply *out)
{
    char id[FLD_RECORD_HEX_LEN + 1];
    struct cmd_attached x;
    struct fld_json *o, *state;
    char *tmp = NULL;
    int rc;

    memset(&x, 0, sizeof x);
    if (bad_upload(path, question, type, len, id, out))
        return;
    fld_err_clear(&ctx->err);
    if ((rc = write_upload(ctx, body, len, &tmp)) != FLD_OK) {
        fld_ui_reply_failure(out, ctx, rc);
        return;
    }
    rc = cmd_attach_photos(ctx, id, question, (const char *const *)&tmp, 1,
                           FLD_UI_MAX_PHOTO, &x);
    unlink(tmp);
    name_photo(ctx, tmp);
    free(tmp);
    if (rc != FLD_OK) {
        reply_attach_failure(ctx, &x, rc, out);
        cmd_attached_free(&x);
        return;
    }
    o = fld_json_object();
    fld_json_set(o, "saved", fld_json_bool(x.v != NULL));
    if (x.v != NULL)
        fld_json_set(o, "version", fld_json_string(x.v->hash));
    fld_json_set(o, "photo", cmd_attachment_json(&x.a[0]));
    memcpy(id, x.r.id, sizeof id);
    cmd_attached_free(&x);
    if (fld_ui_record_state(ctx, id, &state, out) != FLD_OK) {
        fld_json_free(o);
        return;
    }
    fld_json_set(o, "state", state);
    fld_ui_reply_json(out, 201, o);
}

void fld_ui_photo_get(struct cmd_ctx *ctx, const char *path,
                      struct fld_ui_reply *out)
{
    const char *hash = path + strlen(PHOTOS_PREFIX);
    struct fld_attachment a;
    struct fld_err err;
    uint8_t *data = NULL;
    size_t len = 0;
    char *file;
    bool held = false;
    int rc;

    if (strlen(hash) != FLD_HASH_HEX_LEN ||
        !fld_is_hex(hash, FLD_HASH_HEX_LEN)) {
        fld_ui_reply_error(out, 400, "bad_request",
                           "Mã ảnh không hợp lệ (64 chữ số hex)",
                           "a photo is named by its hash: 64 hex digits", NULL);
        return;
    }
    rc = fld_attachment_get(ctx->st, hash, &a, &held, &err);
    if (rc == FLD_NOTFOUND || (rc == FLD_OK && !held)) {
        fld_ui_reply_error(out, 404, "not_found", "Máy này không giữ ảnh này",
                           "this device holds no such photo", NULL);
        return;
    }
    file = fld_attachment_path(ctx->home, hash);
    if (rc == FLD_OK)
        rc = fld_file_read(file, (size_t)FLD_ATTACH_MAX_BYTES, &data, &len,
                           &err);
    free(file);
    if (rc != FLD_OK) {
        fld_ui_reply_error(out, rc == FLD_NOTFOUND ? 404 : 500,
                           rc == FLD_NOTFOUND ? "not_found" : "internal",
                           "Không đọc được ảnh", err.msg, NULL);
        free(data);
        return;
    }
    fld_buf_reset(&out->body);
    fld_buf_append(&out->body, data, len);
    free(data);
    out->status = 200;
    out->type = strcmp(a.type, "image/png") == 0 ? "image/png" : "image/jpeg";
    out->filename = NULL;
    /* named by its content: it never changes */
    out->cache = "private, max-age=31536000, immutable";
}
