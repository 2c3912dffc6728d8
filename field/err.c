/*
 * err.c - result code names and the one-line error record (see err.h).
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[FLD_NRESULTS] = {
    [FLD_OK] = "ok",
    [FLD_NOTFOUND] = "not found",
    [FLD_EXISTS] = "already exists",
    [FLD_CONFLICT] = "ambiguous",
    [FLD_EUSAGE] = "usage error",
    [FLD_EINVAL] = "invalid value",
    [FLD_ELIMIT] = "limit exceeded",
    [FLD_EIO] = "input/output error",
    [FLD_EFULL] = "disk full",
    [FLD_EDB] = "database error",
    [FLD_EBUSY] = "database is locked",
    [FLD_ECORRUPT] = "data is corrupt",
    [FLD_EBADSIG] = "signature does not verify",
    [FLD_EPASS] = "wrong or missing passphrase",
    [FLD_EPROTO] = "protocol error",
    [FLD_ENET] = "network error",
};

const char *fld_strerror(int code)
{
    if (code < 0 || code >= FLD_NRESULTS || names[code] == NULL)
        return "unknown error";
    return names[code];
}

int fld_err_set(struct fld_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int fld_err_prefix(struct fld_err *err, const char *fmt, ...)
{
    char old[FLD_ERR_MSG_MAX];
    size_t used, room;
    va_list ap;

    if (err == NULL)
        return FLD_OK;
    memcpy(old, err->msg, sizeof old);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    used = strlen(err->msg);
    room = sizeof err->msg - used;
    if (room > 2) { /* ": " and at least the NUL still fit */
        memcpy(err->msg + used, ": ", 2);
        used += 2;
        room -= 2;
        strncpy(err->msg + used, old, room - 1);
        err->msg[sizeof err->msg - 1] = '\0';
    }
    return err->code;
}

void fld_err_clear(struct fld_err *err)
{
    if (err == NULL)
        return;
    err->code = FLD_OK;
    err->msg[0] = '\0';
}
