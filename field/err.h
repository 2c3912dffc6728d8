/*
 * err.h - the result codes shared by every module of field, and the small
 * error record that carries a one-line message beside the code.
 *
 * Every function that can fail returns an int from enum fld_result: FLD_OK
 * (0) on success, a named expected outcome (FLD_NOTFOUND, FLD_EXISTS, ...)
 * or a failure. Detail travels in a struct fld_err owned by the caller, set
 * by fld_err_set(), which also returns the code, so reporting is one
 * statement:
 *
 *     return fld_err_set(err, FLD_EINVAL, "question %s: not an integer", q);
 *
 * Library modules never print; only the top of a program (field's main, the
 * server's request handler) turns a code and message into output.
 */
#ifndef FLD_ERR_H
#define FLD_ERR_H

enum fld_result {
    FLD_OK = 0,
    FLD_NOTFOUND, /* no such record, question, template, key ... */
    FLD_EXISTS,   /* already there (a version stored twice, a key file) */
    FLD_CONFLICT, /* ambiguous (a record prefix matching several) */
    FLD_EUSAGE,   /* the caller asked for something meaningless */
    FLD_EINVAL,   /* a value refused: wrong type, out of range, malformed */
    FLD_ELIMIT,   /* a size or depth limit exceeded */
    FLD_EIO,      /* a file could not be read or written */
    FLD_EFULL,    /* the disk is full */
    FLD_EDB,      /* the database failed */
    FLD_EBUSY,    /* the database is locked by another process */
    FLD_ECORRUPT, /* stored data is damaged or was edited behind our back */
    FLD_EBADSIG,  /* a signature or hash does not verify */
    FLD_EPASS,    /* wrong passphrase, or one is needed and none given */
    FLD_EPROTO,   /* a peer broke the protocol */
    FLD_ENET,     /* the network failed */
    FLD_NRESULTS
};

/* Size of the message buffer: one line for a person, never a dump. */
#define FLD_ERR_MSG_MAX 512

struct fld_err {
    int code;
    char msg[FLD_ERR_MSG_MAX];
};

/* Fixed English text naming a result code; never NULL. */
const char *fld_strerror(int code);

/*
 * Record code and a printf-style message in err (which may be NULL, then
 * only the code is returned). The message is truncated to fit. Returns code.
 */
int fld_err_set(struct fld_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the current message with "context: " (for callers that add where).
 * Returns err's code, but FLD_OK when err is NULL: a function that may be
 * given no record must return its own code, not this. */
int fld_err_prefix(struct fld_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reset err to FLD_OK with an empty message. err may be NULL. */
void fld_err_clear(struct fld_err *err);

#endif
