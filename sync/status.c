/*
 * status.c - the note of how the last sync ended (see status.h).
 *
 * The file is canonical JSON, one object:
 *   {"last_attempt_ms":N,"last_error":"...","last_ok_ms":N}
 * with the same names `field sync status --json` shows (last_ok_ms there
 * is last_sync_ms).
 */
#include "status.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "client.h"
#include "file.h"
#include "json.h"

/* A note is three numbers and an error message (FLD_ERR_MSG_MAX). */
#define STATUS_MAX 4096

static char *status_path(const char *home)
{
    return fld_xasprintf("%s/%s", home, SYN_STATUS_FILE);
}

/* The note in the file into *out, or false, with *out untouched, when
 * there is none or it is damaged. */
static bool read_file(const char *home, struct syn_status *out)
{
    char *path = status_path(home);
    uint8_t *data = NULL;
    size_t len = 0;
    struct fld_json *o = NULL;
    const char *error;
    int64_t try_ms, ok_ms;
    bool ok;

    ok = fld_file_read(path, STATUS_MAX, &data, &len, NULL) == FLD_OK &&
         fld_json_parse(data, len, &o, NULL) == FLD_OK &&
         fld_json_get_int(o, "last_attempt_ms", &try_ms) &&
         fld_json_get_int(o, "last_ok_ms", &ok_ms) &&
         (error = fld_json_get_string(o, "last_error")) != NULL;
    if (ok) {
        out->last_try_ms = try_ms;
        out->last_ok_ms = ok_ms;
        out->last_error = fld_xstrdup(error);
    }
    fld_json_free(o);
    free(data);
    free(path);
    return ok;
}

/* The note as stores written before the file kept it. */
static void read_meta(struct fld_store *st, struct syn_status *out)
{
    if (fld_store_meta_get_int(st, SYN_META_LAST_TRY, &out->last_try_ms,
                               NULL) != FLD_OK)
        out->last_try_ms = 0;
    if (fld_store_meta_get_int(st, SYN_META_LAST_OK, &out->last_ok_ms, NULL) !=
        FLD_OK)
        out->last_ok_ms = 0;
    if (fld_store_meta_get(st, SYN_META_LAST_ERROR, &out->last_error, NULL) !=
        FLD_OK)
        out->last_error = NULL;
}

void syn_status_read(const char *home, struct fld_store *st,
                     struct syn_status *out)
{
    memset(out, 0, sizeof *out);
    if (!read_file(home, out))
        read_meta(st, out);
    if (out->last_error == NULL)
        out->last_error = fld_xstrdup("");
}

void syn_status_note(const char *home, struct fld_store *st, int64_t now_ms,
                     int rc, const char *error)
{
    struct syn_status s;
    struct fld_json *o = fld_json_object();
    struct fld_buf b = FLD_BUF_INIT;
    char *path = status_path(home);

    syn_status_read(home, st, &s);
    s.last_try_ms = now_ms;
    if (rc == FLD_OK)
        s.last_ok_ms = now_ms;
    fld_json_set(o, "last_attempt_ms", fld_json_int(s.last_try_ms));
    fld_json_set(o, "last_ok_ms", fld_json_int(s.last_ok_ms));
    if (rc == FLD_OK)
        error = "";
    else if (error == NULL || error[0] == '\0')
        error = fld_strerror(rc);
    fld_json_set(o, "last_error", fld_json_string(error));
    if (fld_json_write(o, &b, NULL) != FLD_OK) {
        /* words from afar that are not UTF-8: the code's own, then */
        fld_json_set(o, "last_error", fld_json_string(fld_strerror(rc)));
        fld_buf_free(&b);
        (void)fld_json_write(o, &b, NULL);
    }
    (void)fld_file_write(path, b.data, b.len, 0600, FLD_FILE_NO_SYNC, NULL);
    fld_buf_free(&b);
    fld_json_free(o);
    free(path);
    syn_status_free(&s);
}

void syn_status_free(struct syn_status *s)
{
    free(s->last_error);
    s->last_error = NULL;
}
