/*
 * store.h - the device's local store: one SQLite file holding every signed
 * version, the derived heads of each record, installed templates and the
 * device's own counters.
 *
 * The schema comes only from the SQL files of schema/, compiled in
 * (embedded.h), and is numbered by PRAGMA user_version: opening applies the
 * migrations a file lacks, in order, and refuses a file made by a newer
 * program. The file is stamped with PRAGMA application_id "FLDd" (db.h):
 * a server database or an unrelated SQLite file is refused, untouched. The
 * database runs in WAL mode with synchronous=FULL: a version the program said
 * it saved survives a power cut. Every statement is prepared once, cached on
 * the handle and bound, never built from strings.
 *
 * Writers bracket their work in fld_store_begin() / fld_store_commit()
 * (BEGIN IMMEDIATE: a second writer waits, then gets FLD_EBUSY), so one
 * command is one transaction and nothing is ever half-written.
 */
#ifndef FLD_STORE_H
#define FLD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hlc.h"
#include "key.h"
#include "thresholds.h"
#include "version.h"

struct fld_store;

/* The schema version this program writes. */
#define FLD_STORE_SCHEMA_VERSION 10

enum fld_store_mode {
    FLD_STORE_OPEN,    /* the file must exist */
    FLD_STORE_CREATE,  /* create it if missing */
    FLD_STORE_READONLY /* the file must exist; open it for reading only (a
                          read-only data directory): every write fails
                          with "the data directory ... is read-only" */
};

/*
 * Open (or create) the store at path and bring its schema up to date.
 * FLD_NOTFOUND when the file is missing and mode is FLD_STORE_OPEN;
 * FLD_ECORRUPT when it is not a field device store (a server database,
 * an unrelated SQLite file, an empty file when not creating: "<path>: not
 * a field device store (...)") or is damaged; FLD_EDB when it was made by
 * a newer program; FLD_EBUSY when locked.
 */
int fld_store_open(const char *path, enum fld_store_mode mode,
                   struct fld_store **out, struct fld_err *err);
void fld_store_close(struct fld_store *st);

/* How long a command waits for another process's lock (default 2000 ms). */
void fld_store_set_busy_timeout(struct fld_store *st, int ms);

int fld_store_begin(struct fld_store *st, struct fld_err *err);
int fld_store_commit(struct fld_store *st, struct fld_err *err);
/* Roll back an open transaction; harmless when none is open. */
void fld_store_rollback(struct fld_store *st);
/*
 * A read transaction, ended with fld_store_rollback(): every read until
 * then sees one snapshot of the store, and the file is locked once rather
 * than for each statement (a walk over ten thousand records would lock and
 * unlock it, and re-read its header, ten thousand times). Works on a
 * read-only store; writers in other processes go on (WAL). Not for
 * writing: a writer uses fld_store_begin().
 */
int fld_store_begin_read(struct fld_store *st, struct fld_err *err);

/* Small named settings. get: *value is new (free()), FLD_NOTFOUND if unset. */
int fld_store_meta_get(struct fld_store *st, const char *key, char **value,
                       struct fld_err *err);
int fld_store_meta_set(struct fld_store *st, const char *key, const char *value,
                       struct fld_err *err);
int fld_store_meta_get_int(struct fld_store *st, const char *key,
                           int64_t *value, struct fld_err *err);
int fld_store_meta_set_int(struct fld_store *st, const char *key, int64_t value,
                           struct fld_err *err);

/*
 * Store a verified version and update the record's heads. FLD_EXISTS when
 * a version with this hash is already stored (a no-op, not a failure).
 * Must run inside a transaction.
 */
int fld_store_put_version(struct fld_store *st, const struct fld_version *v,
                          struct fld_err *err);
/* The record of the stored version hash (*record new, free());
 * FLD_NOTFOUND when it is not stored. */
int fld_store_version_record(struct fld_store *st, const char *hash,
                             char **record, struct fld_err *err);

/*
 * Load and fully verify the version of this hash (fld_version_open).
 * FLD_NOTFOUND when absent; FLD_ECORRUPT when the stored bytes no longer
 * verify or disagree with the stored hash.
 */
int fld_store_get_version(struct fld_store *st, const char *hash,
                          struct fld_version **out, struct fld_err *err);

/*
 * The full record id matching prefix (at least 4 hex digits).
 * FLD_NOTFOUND when none matches, FLD_CONFLICT when several do.
 */
int fld_store_find_record(struct fld_store *st, const char *prefix,
                          char out[FLD_RECORD_HEX_LEN + 1],
                          struct fld_err *err);

/* The record's head hashes, sorted; *hashes is freed with fld_strv_free(). */
int fld_store_heads(struct fld_store *st, const char *record, char ***hashes,
                    size_t *n, struct fld_err *err);
void fld_strv_free(char **v, size_t n);

/* One stored row, as the database holds it (not verified). Borrowed for
 * the duration of the callback. */
struct fld_store_row {
    int64_t seq;
    const char *hash;
    const char *record;
    const char *author;
    int64_t dseq;
    const char *prev; /* NULL when dseq = 1 */
    struct fld_hlc hlc;
    const char *template_id;
    const char *template_hash;
    const char *subject;
    const char *status;
    const uint8_t *body;
    size_t body_len;
    const uint8_t *sig;
    size_t sig_len;
    int64_t stored_ms;
};

/* Return FLD_OK to go on; anything else stops the walk and is returned. */
typedef int (*fld_store_row_fn)(void *ctx, const struct fld_store_row *row);

enum fld_store_order {
    FLD_ORDER_ARRIVAL, /* the order versions were stored here */
    FLD_ORDER_AUTHOR   /* by author, then dseq, then hash */
};

/* Walk the versions of one record (or all when record is NULL). */
int fld_store_each_version(struct fld_store *st, const char *record,
                           enum fld_store_order order, fld_store_row_fn fn,
                           void *ctx, struct fld_err *err);

/* Every row of the derived parents table, sorted by (child, parent). */
typedef int (*fld_store_edge_fn)(void *ctx, const char *child,
                                 const char *parent);
int fld_store_each_edge(struct fld_store *st, fld_store_edge_fn fn, void *ctx,
                        struct fld_err *err);

/* A record as a list shows it: its newest head (greatest hlc, then hash). */
struct fld_record_summary {
    const char *record;
    const char *template_id;
    const char *subject;
    const char *status;
    struct fld_hlc created;
    struct fld_hlc updated;
    int64_t n_versions;
    int64_t n_heads;
};

/* Restrict a listing; NULL fields match everything. */
struct fld_record_filter {
    const char *status;
    const char *subject;
    const char *template_id;
};

typedef int (*fld_record_fn)(void *ctx, const struct fld_record_summary *r);
/* Records, most recently changed first. */
int fld_store_each_record(struct fld_store *st,
                          const struct fld_record_filter *filter,
                          fld_record_fn fn, void *ctx, struct fld_err *err);
/* The same records in the same order, without n_versions and created
 * (left 0): a third quicker, for a walk that reads each record's versions
 * anyway (field export). */
int fld_store_each_record_brief(struct fld_store *st,
                                const struct fld_record_filter *filter,
                                fld_record_fn fn, void *ctx,
                                struct fld_err *err);

/* Install a template (canonical bytes); FLD_EXISTS when already there. */
int fld_store_template_put(struct fld_store *st, const char *hash,
                           const char *id, const uint8_t *body, size_t len,
                           struct fld_err *err);
/*
 * Find a template by hash, or by id (the most recently added of that id).
 * *body (len bytes, NUL-terminated) is new, freed with free(). *hash_out
 * receives the hash when non-NULL.
 */
int fld_store_template_get(struct fld_store *st, const char *id_or_hash,
                           uint8_t **body, size_t *len,
                           char hash_out[FLD_HASH_HEX_LEN + 1],
                           struct fld_err *err);

typedef int (*fld_template_row_fn)(void *ctx, const char *hash, const char *id,
                                   const uint8_t *body, size_t len,
                                   int64_t added_ms);
int fld_store_each_template(struct fld_store *st, fld_template_row_fn fn,
                            void *ctx, struct fld_err *err);

/* An administrative unit, valid from valid_from to valid_to (inclusive;
 * NULL while still valid). Strings borrowed for the callback's duration. */
struct fld_unit {
    const char *code;
    const char *name;
    const char *kind;
    const char *parent_code; /* NULL at the top */
    const char *valid_from;  /* YYYY-MM-DD */
    const char *valid_to;    /* YYYY-MM-DD or NULL */
    bool in_programme;       /* false: outside the New Rural programme */
    const char *merged_into; /* the unit it merged into, or NULL */
};

typedef int (*fld_unit_fn)(void *ctx, const struct fld_unit *u);

/* Insert a unit, or replace the one of the same code and valid_from. */
int fld_store_unit_put(struct fld_store *st, const struct fld_unit *u,
                       struct fld_err *err);
/* Remove the version of code from valid_from (none: FLD_OK). Only the
 * units importer calls it, for a version the file it imports replaces. */
int fld_store_unit_drop(struct fld_store *st, const char *code,
                        const char *valid_from, struct fld_err *err);
/* Call fn with the unit of this code valid on date; FLD_NOTFOUND if none. */
int fld_store_unit_at(struct fld_store *st, const char *code, const char *date,
                      fld_unit_fn fn, void *ctx, struct fld_err *err);
int fld_store_unit_count(struct fld_store *st, int64_t *n, struct fld_err *err);
/* Whether any row of this code exists, whatever its dates. */
int fld_store_unit_exists(struct fld_store *st, const char *code, bool *out,
                          struct fld_err *err);
/* Every unit, by code then valid_from. */
int fld_store_each_unit(struct fld_store *st, fld_unit_fn fn, void *ctx,
                        struct fld_err *err);

/* ---- sync state (schema/field-003.sql) -------------------------------------
 *
 * What this device knows of the server: the versions the server holds
 * (acknowledged by it, or pulled from it) and the versions it refused
 * (the dead-letter list). Every other version is pending. sync/client.c
 * writes these rows inside the transaction that processes the server's
 * answer, so they are exactly as durable as the answer they record.
 */

/* A version waiting to be pushed; borrowed for the callback's duration. */
struct fld_store_pending {
    int64_t seq; /* local arrival order */
    const char *hash;
    const char *author;
    int64_t dseq;
    size_t body_len;
};

typedef int (*fld_store_pending_fn)(void *ctx,
                                    const struct fld_store_pending *p);

/* The pending versions: not known to the server, not refused; by seq;
 * the first limit of them (0: all). */
int fld_store_sync_each_pending(struct fld_store *st, size_t limit,
                                fld_store_pending_fn fn, void *ctx,
                                struct fld_err *err);
/* The (child, parent) edges whose two ends are both pending, with seq at
 * most max_seq (0: any). */
int fld_store_sync_pending_edges(struct fld_store *st, int64_t max_seq,
                                 fld_store_edge_fn fn, void *ctx,
                                 struct fld_err *err);
/* How many versions are pending, and their body bytes. */
int fld_store_sync_pending_count(struct fld_store *st, int64_t *n,
                                 int64_t *bytes, struct fld_err *err);

/*
 * The stored body and signature of a version, to send on: the body is
 * checked against its hash (FLD_ECORRUPT when they disagree) but the
 * signature is not verified here (the receiver does that). *body (len
 * bytes, NUL-terminated) is new, freed with free(). FLD_NOTFOUND if absent.
 */
int fld_store_version_raw(struct fld_store *st, const char *hash,
                          uint8_t **body, size_t *len, uint8_t sig[FLD_SIG_LEN],
                          struct fld_err *err);

/*
 * The server holds the version hash (which must be stored here): how is
 * "stored", "duplicate", "quarantined" or "pulled". A version already
 * known keeps its first row; one on the refused list leaves it.
 */
int fld_store_sync_known(struct fld_store *st, const char *hash,
                         const char *how, struct fld_err *err);
/* The server refused the version hash: put it on the dead-letter list with
 * the server's reason and message (may be NULL), replacing an older entry. */
int fld_store_sync_refuse(struct fld_store *st, const char *hash,
                          const char *reason, const char *message,
                          struct fld_err *err);
/* Forget what the server was known to hold and what it refused: every
 * version is pending again. */
int fld_store_sync_forget(struct fld_store *st, struct fld_err *err);

/* A dead letter, with the refused version's record and subject. */
struct fld_store_refused {
    const char *hash;
    const char *record;
    const char *subject;
    const char *author;
    int64_t dseq;
    const char *reason;
    const char *message; /* NULL when the server gave none */
    int64_t at_ms;
};

typedef int (*fld_store_refused_fn)(void *ctx,
                                    const struct fld_store_refused *r);
/* The dead-letter list, oldest refusal first. */
int fld_store_sync_each_refused(struct fld_store *st, fld_store_refused_fn fn,
                                void *ctx, struct fld_err *err);
/* How many versions the server is known to hold, and how many it refused. */
int fld_store_sync_counts(struct fld_store *st, int64_t *known,
                          int64_t *refused, struct fld_err *err);

/* ---- threshold revisions (schema/field-005.sql) ---------------------------
 *
 * The province's threshold revisions (thresholds.h) for the templates this
 * device holds, verified and checked against their template before they
 * are stored (sync/catalog.c), kept as the exact bytes signed.
 */

/* Keep the verified revision r; seq is the server's sequence number for it
 * (0: none). FLD_EXISTS when it is stored already. Inside a transaction. */
int fld_store_thresholds_put(struct fld_store *st,
                             const struct fld_thresholds *r, int64_t seq,
                             struct fld_err *err);
/*
 * The revision in force for the template of this hash on date as_of
 * (YYYY-MM-DD; NULL: whatever its date): the greatest revision whose
 * valid_from is not after as_of. Its body (*len bytes, NUL-terminated,
 * free()) and signature, not verified here: open them with
 * fld_thresholds_open(). FLD_NOTFOUND when there is none.
 */
int fld_store_thresholds_in_force(struct fld_store *st,
                                  const char *template_hash, const char *as_of,
                                  uint8_t **body, size_t *len,
                                  uint8_t sig[FLD_SIG_LEN],
                                  struct fld_err *err);
/* A stored revision as listed; borrowed for the callback's duration. */
struct fld_store_thresholds_row {
    const char *hash;
    const char *template_id;
    const char *template_hash;
    int64_t revision;
    const char *valid_from;
    const char *author;
    int64_t seq; /* the server's; 0 when none */
    int64_t stored_ms;
    const uint8_t *body; /* as signed, not verified here */
    size_t body_len;
    const uint8_t *sig; /* FLD_SIG_LEN bytes */
};
typedef int (*fld_store_thresholds_fn)(
    void *ctx, const struct fld_store_thresholds_row *r);
/* Every stored revision, by template id, template hash and revision. */
int fld_store_each_thresholds(struct fld_store *st, fld_store_thresholds_fn fn,
                              void *ctx, struct fld_err *err);
/* ---- attachments (schema/field-007.sql) -----------------------------------
 *
 * The rows behind field/attachment.h, which is what callers use: it keeps
 * the files these rows describe. fld_store_put_version() records what each
 * version signs about the attachments it names, and learns of each file
 * it did not know (not held, not uploaded).
 */
struct fld_attachment; /* attachment.h */

/* The device holds a's file: record it (learnt now if unknown). */
int fld_store_attach_hold(struct fld_store *st, const struct fld_attachment *a,
                          struct fld_err *err);
/* The device's row for hash (*held: whether it holds the file);
 * FLD_NOTFOUND when it knows nothing of it. held may be NULL. */
int fld_store_attach_known(struct fld_store *st, const char *hash,
                           struct fld_attachment *out, bool *held,
                           struct fld_err *err);
/* What the first stored version naming hash signed about it;
 * FLD_NOTFOUND when no stored version names it. held may be NULL. */
int fld_store_attach_signed(struct fld_store *st, const char *hash,
                            struct fld_attachment *out, bool *held,
                            struct fld_err *err);
int fld_store_attach_set_held(struct fld_store *st, const char *hash, bool held,
                              struct fld_err *err);
int fld_store_attach_uploaded(struct fld_store *st, const char *hash,
                              struct fld_err *err);
enum fld_store_attach_which {
    FLD_ATTACH_TO_UPLOAD,   /* held, not uploaded, named by a version the
                               server holds */
    FLD_ATTACH_TO_DOWNLOAD, /* not held, named by a version (of record) */
    FLD_ATTACH_HELD         /* every file held */
};
/* Those rows, in the order the device learnt of them, at most max (0: all);
 * record only for FLD_ATTACH_TO_DOWNLOAD (NULL: any). *out: free(). */
int fld_store_attach_list(struct fld_store *st, enum fld_store_attach_which w,
                          const char *record, size_t max,
                          struct fld_attachment **out, size_t *n,
                          struct fld_err *err);

/* ---- damage ------------------------------------------------------------- */

/* A problem found in the database file, in SQLite's words. */
typedef void (*fld_store_problem_fn)(void *ctx, const char *problem);
/*
 * Check the file itself: PRAGMA integrity_check (pages, indexes, NOT NULL
 * and the like) and PRAGMA foreign_key_check. Each problem goes to fn;
 * returns how many (0: the file is sound). A check that cannot run at all
 * counts as a problem.
 */
int64_t fld_store_check_file(struct fld_store *st, fld_store_problem_fn fn,
                             void *ctx);

/* Every setting (key, value), by key; strings borrowed for the call. */
typedef int (*fld_store_meta_fn)(void *ctx, const char *key, const char *value);
int fld_store_each_meta(struct fld_store *st, fld_store_meta_fn fn, void *ctx,
                        struct fld_err *err);

/*
 * Every version row of a possibly damaged store that still reads, in
 * arrival order, by the table itself (never an index), going on past rows
 * that fail to read; *n_failures counts the read failures met. The rows
 * are not verified (the caller verifies each). FLD_OK unless fn stopped
 * the walk (its code is returned) or nothing could be asked at all.
 */
int fld_store_salvage_versions(struct fld_store *st, fld_store_row_fn fn,
                               void *ctx, int64_t *n_failures,
                               struct fld_err *err);

#endif
