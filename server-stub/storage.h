/*
 * storage.h - everything field-server keeps, behind one interface.
 *
 * The API and the administration commands talk only to the functions
 * below; a backend is a table of operations (struct srv_storage_ops)
 * chosen by srv_storage_open() from the location's scheme: SQLite
 * (storage_sqlite.c, schema/server.sql), the default, or PostgreSQL for
 * several servers on one database (storage_pg.c, schema/pg/server.sql;
 * DESIGN.md section 6).
 *
 * A handle is used by one thread at a time. The server keeps a small pool
 * of handles and serialises writers itself; every writing operation must
 * run between srv_storage_begin() and srv_storage_commit() (one
 * BEGIN IMMEDIATE ... COMMIT per request or command), so nothing is ever
 * half stored. Returned non-const pointers belong to the caller and name
 * their free function; rows given to callbacks are borrowed for the call.
 */
#ifndef SRV_STORAGE_H
#define SRV_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "version.h"

struct srv_storage;

/* ---- rows ---------------------------------------------------------------- */

struct srv_device {
    char pubkey[FLD_HASH_HEX_LEN + 1];
    char *inspector;
    char *role;   /* "inspector", "supervisor" or "admin" */
    char **scope; /* unit codes; the device covers them and their descendants */
    size_t n_scope;
    int64_t enrolled_ms;
    int64_t revoked_ms; /* 0 while not revoked */
};
void srv_device_free(struct srv_device *d);

struct srv_enroll_code {
    char code_hash[FLD_HASH_HEX_LEN + 1];
    char *inspector;
    char *role;
    char *scope; /* unit codes separated by single spaces */
    int64_t created_ms;
    int64_t expires_ms;
};
void srv_enroll_code_free(struct srv_enroll_code *c);

/* A version to store: verified, with who delivered it and when. */
struct srv_version_in {
    const struct fld_version *v;
    const char *pusher;
    int64_t received_ms;
    const char *flag; /* why it breaks a checklist rule, or NULL */
    int64_t ahead_ms; /* > 0: stamped this far beyond receipt plus skew
                         (schema/server-004.sql); 0 otherwise */
};

/* A quarantined version as kept. */
struct srv_quarantined {
    const char *hash;
    const char *author;
    const char *pusher;
    const char *reason;
    const uint8_t *body;
    size_t body_len;
    const uint8_t *sig; /* FLD_SIG_LEN bytes */
    int64_t received_ms;
};

/* One version of an administrative unit (schema/server-002.sql): a code
 * may have several, with periods that do not overlap. */
struct srv_unit {
    const char *code;
    const char *name;
    const char *kind;        /* tinh, xa, phuong, thon ... ("" unknown) */
    const char *parent;      /* NULL at the top */
    const char *valid_from;  /* YYYY-MM-DD; "0000-01-01" when not known */
    const char *valid_to;    /* YYYY-MM-DD, inclusive; NULL while valid */
    bool in_programme;       /* false: counted apart by reports */
    const char *merged_into; /* the unit it merged into, or NULL */
};

/* A target the province set: at least count units of unit meeting tier,
 * from the day from, by due. */
struct srv_target {
    const char *unit, *tier;
    int64_t count;
    const char *from, *due /* NULL */, *source /* NULL */;
    int64_t loaded_ms;
};

struct srv_template_row {
    const char *hash;
    const char *id;
    const char *version;
    int64_t added_ms;
};

struct srv_audit_row {
    int64_t id;
    int64_t at_ms;
    const char *kind;
    const char *device;  /* may be NULL */
    const char *subject; /* may be NULL */
    const char *detail;
};

/* A chain alarm: a fork (two versions of one device with the same dseq,
 * or a version whose prev is not its device's version at dseq - 1) or a
 * gap (a prev that is not stored). */
struct srv_chain_alarm {
    const char *kind; /* "fork" or "gap" */
    const char *author;
    int64_t dseq;
    const char *hash;  /* the version concerned */
    const char *other; /* fork: the other version; gap: the missing prev */
};

struct srv_counts {
    int64_t versions;
    int64_t quarantined;
    int64_t devices;
    int64_t revoked;
    int64_t templates;
    int64_t units;
    int64_t flagged;
};

struct fld_thresholds; /* a verified revision: field/thresholds.h */

/* A stored threshold revision (field/thresholds.h), by server order. */
struct srv_thresholds_row {
    int64_t seq; /* server order */
    const char *hash;
    const char *template_id;
    const char *template_hash;
    int64_t revision;
    const char *valid_from;
    const char *author;
    const uint8_t *body;
    size_t body_len;
    const uint8_t *sig; /* FLD_SIG_LEN bytes */
    int64_t received_ms;
};

/* An attachment (schema/server-005.sql): what the stored versions signed
 * about it and how far its upload has come. taken and position are those
 * of one version naming it (record_attachments), NULL otherwise. */
struct srv_attachment {
    const char *hash;
    int64_t bytes;         /* the signed size */
    const char *type;      /* the signed media type */
    int64_t acked;         /* bytes acknowledged (durable on disk) */
    int64_t last_chunk_ms; /* 0: no chunk yet */
    int64_t stored_ms;     /* 0: not whole yet */
    const char *taken;
    const char *position;
};

/* What a version's hash is known as here. */
enum srv_version_state { SRV_ABSENT, SRV_PRESENT, SRV_IN_QUARANTINE };

/* Callbacks return FLD_OK to go on; anything else stops and is returned. */
typedef int (*srv_device_fn)(void *ctx, const struct srv_device *d);
typedef int (*srv_unit_fn)(void *ctx, const struct srv_unit *u);
typedef int (*srv_target_fn)(void *ctx, const struct srv_target *g);
typedef int (*srv_template_fn)(void *ctx, const struct srv_template_row *t);
typedef int (*srv_audit_fn)(void *ctx, const struct srv_audit_row *a);
typedef int (*srv_alarm_fn)(void *ctx, const struct srv_chain_alarm *a);
typedef int (*srv_quarantine_fn)(void *ctx, const struct srv_quarantined *q);
typedef int (*srv_pull_fn)(void *ctx, int64_t seq, const uint8_t *body,
                           size_t body_len, const uint8_t *sig);
typedef int (*srv_thresholds_fn)(void *ctx, const struct srv_thresholds_row *r);
/* i: the index of the hash asked for (attachments_seen), else a count. */
typedef int (*srv_attachment_fn)(void *ctx, size_t i,
                                 const struct srv_attachment *a);

/* Records to export: those with a version about one of units or a unit
 * below one (any unit when n_units is 0) and of template template_id (any
 * when NULL), ordered by unit then id, at most limit (0: no limit). */
struct srv_record_query {
    const char *const *units;
    size_t n_units;
    const char *template_id;
    int64_t limit;
};
typedef int (*srv_record_fn)(void *ctx, const char *record);

/* A version as the report reads it: its columns, not its body. Strings
 * are borrowed for the callback's duration (srv_report_version_copy keeps
 * them). */
struct srv_report_version {
    const char *record;
    const char *hash;
    const char *subject;
    const char *status;
    const char *template_hash;
    const char *parents; /* the parents' hashes, space separated ("" none) */
    int64_t received_ms;
};
typedef int (*srv_report_version_fn)(void *ctx,
                                     const struct srv_report_version *v);
/* Deep copy into *to (strings owned), and free such a copy. */
void srv_report_version_copy(struct srv_report_version *to,
                             const struct srv_report_version *from);
void srv_report_version_clear(struct srv_report_version *v);

/* What to pull: versions after `after` in server order, inside the
 * device's scope (all when all_units), skipping those `device` pushed
 * after `birth`. */
struct srv_pull_query {
    const char *device;
    bool all_units;
    int64_t after;
    int64_t birth;
    int64_t limit;
};

/* ---- the backend's table of operations ---------------------------------- */

struct srv_storage_ops {
    const char *scheme; /* "sqlite" */
    int (*open)(const char *location, bool create, struct srv_storage **out,
                struct fld_err *err);
    void (*close)(struct srv_storage *st);
    int (*begin)(struct srv_storage *st, struct fld_err *err);
    int (*commit)(struct srv_storage *st, struct fld_err *err);
    void (*rollback)(struct srv_storage *st);
    int (*checkpoint)(struct srv_storage *st, struct fld_err *err);
    void (*checkpoint_elsewhere)(struct srv_storage *st,
                                 void (*want)(void *ctx), void *ctx);
    int (*checkpoint_passive)(struct srv_storage *st, struct fld_err *err);
    int (*backup)(struct srv_storage *st, const char *path,
                  struct fld_err *err);
    int (*meta_get)(struct srv_storage *st, const char *key, char **value,
                    struct fld_err *err);
    int (*meta_set)(struct srv_storage *st, const char *key, const char *value,
                    struct fld_err *err);
    int (*code_add)(struct srv_storage *st, const struct srv_enroll_code *c,
                    struct fld_err *err);
    int (*code_use)(struct srv_storage *st, const char *code_hash, int64_t now,
                    const char *device, struct srv_enroll_code **out,
                    struct fld_err *err);
    int (*device_add)(struct srv_storage *st, const struct srv_device *d,
                      struct fld_err *err);
    int (*device_get)(struct srv_storage *st, const char *pubkey,
                      struct srv_device **out, struct fld_err *err);
    int (*device_find)(struct srv_storage *st, const char *prefix,
                       char out[FLD_HASH_HEX_LEN + 1], struct fld_err *err);
    int (*device_revoke)(struct srv_storage *st, const char *pubkey,
                         int64_t now, struct fld_err *err);
    int (*each_device)(struct srv_storage *st, srv_device_fn fn, void *ctx,
                       struct fld_err *err);
    int (*unit_put)(struct srv_storage *st, const struct srv_unit *u,
                    struct fld_err *err);
    int (*unit_exists)(struct srv_storage *st, const char *code, bool *out,
                       struct fld_err *err);
    int (*each_unit)(struct srv_storage *st, srv_unit_fn fn, void *ctx,
                     struct fld_err *err);
    int (*in_scope)(struct srv_storage *st, const char *device,
                    const char *subject, bool *out, struct fld_err *err);
    int (*unit_drop)(struct srv_storage *st, const char *code,
                     const char *valid_from, struct fld_err *err);
    int (*units_on)(struct srv_storage *st, const char *date, srv_unit_fn fn,
                    void *ctx, struct fld_err *err);
    int (*target_put)(struct srv_storage *st, const struct srv_target *g,
                      struct fld_err *err);
    int (*each_target)(struct srv_storage *st, srv_target_fn fn, void *ctx,
                       struct fld_err *err);
    int (*template_put)(struct srv_storage *st,
                        const struct srv_template_row *t, const uint8_t *body,
                        size_t len, struct fld_err *err);
    int (*template_get)(struct srv_storage *st, const char *hash,
                        uint8_t **body, size_t *len, struct fld_err *err);
    int (*each_template)(struct srv_storage *st, srv_template_fn fn, void *ctx,
                         struct fld_err *err);
    int (*version_state)(struct srv_storage *st, const char *hash,
                         enum srv_version_state *out, struct fld_err *err);
    int (*version_record)(struct srv_storage *st, const char *hash,
                          char **record, struct fld_err *err);
    int (*version_put)(struct srv_storage *st, const struct srv_version_in *in,
                       int64_t *seq, struct fld_err *err);
    int (*chain_check)(struct srv_storage *st, const struct fld_version *v,
                       char fork_with[FLD_HASH_HEX_LEN + 1], bool *prev_missing,
                       struct fld_err *err);
    int (*max_seq)(struct srv_storage *st, int64_t *out, struct fld_err *err);
    int (*pull)(struct srv_storage *st, const struct srv_pull_query *q,
                srv_pull_fn fn, void *ctx, struct fld_err *err);
    int (*record_versions)(struct srv_storage *st, const char *record,
                           srv_pull_fn fn, void *ctx, struct fld_err *err);
    int (*each_version_until)(struct srv_storage *st, int64_t cutoff_ms,
                              srv_report_version_fn fn, void *ctx,
                              struct fld_err *err);
    int (*version_body)(struct srv_storage *st, const char *hash,
                        uint8_t **body, size_t *len, uint8_t sig[FLD_SIG_LEN],
                        struct fld_err *err);
    int (*each_record)(struct srv_storage *st, const struct srv_record_query *q,
                       srv_record_fn fn, void *ctx, struct fld_err *err);
    int (*quarantine_put)(struct srv_storage *st,
                          const struct srv_quarantined *q,
                          const char *const *waits, size_t n_waits,
                          struct fld_err *err);
    int (*quarantine_unblock)(struct srv_storage *st, const char *parent,
                              srv_quarantine_fn fn, void *ctx,
                              struct fld_err *err);
    int (*quarantine_each)(struct srv_storage *st, const char *reason,
                           srv_quarantine_fn fn, void *ctx,
                           struct fld_err *err);
    int (*quarantine_remove)(struct srv_storage *st, const char *hash,
                             struct fld_err *err);
    int (*audit_add)(struct srv_storage *st, const char *kind,
                     const char *device, const char *subject,
                     const char *detail, struct fld_err *err);
    int (*each_audit)(struct srv_storage *st, const char *kind, srv_audit_fn fn,
                      void *ctx, struct fld_err *err);
    int (*each_alarm)(struct srv_storage *st, srv_alarm_fn fn, void *ctx,
                      struct fld_err *err);
    int (*counts)(struct srv_storage *st, struct srv_counts *out,
                  struct fld_err *err);
    int (*thresholds_put)(struct srv_storage *st,
                          const struct fld_thresholds *r, int64_t received_ms,
                          int64_t *seq, struct fld_err *err);
    int (*thresholds_each)(struct srv_storage *st, int64_t after,
                           const char *template_hash, int64_t limit,
                           srv_thresholds_fn fn, void *ctx,
                           struct fld_err *err);
    int (*thresholds_max_seq)(struct srv_storage *st, int64_t *out,
                              struct fld_err *err);
    int (*attachments_seen)(struct srv_storage *st, const char *device,
                            bool all_units, const char *const *hashes, size_t n,
                            srv_attachment_fn fn, void *ctx,
                            struct fld_err *err);
    int (*attachment_ack)(struct srv_storage *st, const char *hash,
                          int64_t from, int64_t to, int64_t now_ms,
                          struct fld_err *err);
    int (*attachment_stored)(struct srv_storage *st, const char *hash,
                             int64_t now_ms, struct fld_err *err);
    int (*attachment_reset)(struct srv_storage *st, const char *hash,
                            struct fld_err *err);
    int (*attachments_stale)(struct srv_storage *st, int64_t before_ms,
                             srv_attachment_fn fn, void *ctx,
                             struct fld_err *err);
    int (*record_attachments)(struct srv_storage *st, const char *record,
                              srv_attachment_fn fn, void *ctx,
                              struct fld_err *err);
};

/* Every backend handle starts with this. */
struct srv_storage {
    const struct srv_storage_ops *ops;
};

extern const struct srv_storage_ops srv_storage_sqlite;

/* The schema version the SQLite backend writes. */
#define SRV_SCHEMA_VERSION 5

/* ---- the interface --------------------------------------------------------
 */

/*
 * Open the storage at location: "sqlite:PATH" or a plain path (SQLite),
 * "postgresql://...", "postgres://..." or "postgres:KEY=VALUE ..."
 * (PostgreSQL, storage_pg.h).
 * create: make it (and its schema) when missing; otherwise FLD_NOTFOUND
 * when missing. FLD_EDB when made by a newer program, FLD_ECORRUPT when
 * it is not a field-server database (a device store, an unrelated SQLite
 * file: refused before anything is written to it), FLD_EUSAGE for an
 * unknown scheme.
 */
int srv_storage_open(const char *location, bool create,
                     struct srv_storage **out, struct fld_err *err);
void srv_storage_close(struct srv_storage *st);
/*
 * The location as messages and logs may show it: a PostgreSQL one by its
 * user, host, port and database, never its password; any other as given.
 * New string, free().
 */
char *srv_storage_display(const char *location);

int srv_storage_begin(struct srv_storage *st, struct fld_err *err);
int srv_storage_commit(struct srv_storage *st, struct fld_err *err);
void srv_storage_rollback(struct srv_storage *st);
/* Fold the write-ahead log into the database (at shutdown). */
int srv_storage_checkpoint(struct srv_storage *st, struct fld_err *err);
/*
 * Leave folding the log to another thread instead of doing it inside
 * this handle's commits (which hold the writer lock): want(ctx) is called
 * after a commit that left enough in the log to fold; that thread then
 * calls srv_storage_checkpoint_passive() on a handle of its own. A
 * commit still folds by itself once the log passes a hard limit, so a
 * folder that falls behind never lets it grow without bound. A back end
 * without such a log never calls want.
 */
void srv_storage_checkpoint_elsewhere(struct srv_storage *st,
                                      void (*want)(void *ctx), void *ctx);
/* Fold as much of the log as can be folded without waiting for readers
 * or the writer. */
int srv_storage_checkpoint_passive(struct srv_storage *st, struct fld_err *err);
/* A consistent copy at path (which must not exist), taken while others
 * keep reading and writing. */
int srv_storage_backup(struct srv_storage *st, const char *path,
                       struct fld_err *err);

/* Named settings ("epoch"); *value is new (free()), FLD_NOTFOUND if unset. */
int srv_storage_meta_get(struct srv_storage *st, const char *key, char **value,
                         struct fld_err *err);
int srv_storage_meta_set(struct srv_storage *st, const char *key,
                         const char *value, struct fld_err *err);

/* Enrollment codes, kept by the hash of the code. code_use marks the code
 * used by device and returns it: FLD_NOTFOUND when unknown, already used
 * or expired (the three are not told apart to a caller that guesses). */
int srv_storage_code_add(struct srv_storage *st,
                         const struct srv_enroll_code *c, struct fld_err *err);
int srv_storage_code_use(struct srv_storage *st, const char *code_hash,
                         int64_t now, const char *device,
                         struct srv_enroll_code **out, struct fld_err *err);

/* Devices. add: FLD_EXISTS when the key is enrolled already. get:
 * FLD_NOTFOUND when unknown; *out freed with srv_device_free(). find: the
 * one device whose key starts with prefix (FLD_CONFLICT when several).
 * revoke: FLD_EXISTS when revoked already. */
int srv_storage_device_add(struct srv_storage *st, const struct srv_device *d,
                           struct fld_err *err);
int srv_storage_device_get(struct srv_storage *st, const char *pubkey,
                           struct srv_device **out, struct fld_err *err);
int srv_storage_device_find(struct srv_storage *st, const char *prefix,
                            char out[FLD_HASH_HEX_LEN + 1],
                            struct fld_err *err);
int srv_storage_device_revoke(struct srv_storage *st, const char *pubkey,
                              int64_t now, struct fld_err *err);
int srv_storage_each_device(struct srv_storage *st, srv_device_fn fn, void *ctx,
                            struct fld_err *err);

/*
 * Units, each a version of a code valid from valid_from to valid_to
 * (field/units.c checks a file against the stored ones before any is
 * put). put: insert, or replace the version of the same code and
 * valid_from. drop: remove that version (none: FLD_OK). exists: whether
 * any version of code is stored, whatever its dates. each_unit: every
 * version, by code then valid_from. units_on: the versions valid on date
 * (YYYY-MM-DD; FLD_EINVAL otherwise), by code: at most one per code.
 */
int srv_storage_unit_put(struct srv_storage *st, const struct srv_unit *u,
                         struct fld_err *err);
int srv_storage_unit_drop(struct srv_storage *st, const char *code,
                          const char *valid_from, struct fld_err *err);
int srv_storage_unit_exists(struct srv_storage *st, const char *code, bool *out,
                            struct fld_err *err);
int srv_storage_each_unit(struct srv_storage *st, srv_unit_fn fn, void *ctx,
                          struct fld_err *err);
int srv_storage_units_on(struct srv_storage *st, const char *date,
                         srv_unit_fn fn, void *ctx, struct fld_err *err);
/*
 * Whether subject is one of the device's scope units or lies below one.
 * "Below" takes every version together, whatever its dates: a unit lies
 * below each unit that was ever its parent and below the unit it merged
 * into. So a version whose subject has ended (a commune merged on 1 July
 * 2025, one of its villages) stays in the scope of the unit that took it
 * over and of the units it was under, and a scope never changes by itself
 * at midnight: what a device may pull changes only when units are
 * imported or the device is enrolled anew (api.c's cursors rely on it).
 */
int srv_storage_in_scope(struct srv_storage *st, const char *device,
                         const char *subject, bool *out, struct fld_err *err);

/* Targets: put one (replacing the row of the same unit, tier and from,
 * which then comes last); each in the order loaded. */
int srv_storage_target_put(struct srv_storage *st, const struct srv_target *g,
                           struct fld_err *err);
int srv_storage_each_target(struct srv_storage *st, srv_target_fn fn, void *ctx,
                            struct fld_err *err);

/* Templates by hash: put (FLD_EXISTS when there), get (*body new, free(),
 * NUL-terminated; FLD_NOTFOUND), all by id then time added. */
int srv_storage_template_put(struct srv_storage *st,
                             const struct srv_template_row *t,
                             const uint8_t *body, size_t len,
                             struct fld_err *err);
int srv_storage_template_get(struct srv_storage *st, const char *hash,
                             uint8_t **body, size_t *len, struct fld_err *err);
int srv_storage_each_template(struct srv_storage *st, srv_template_fn fn,
                              void *ctx, struct fld_err *err);

/* Versions. */
int srv_storage_version_state(struct srv_storage *st, const char *hash,
                              enum srv_version_state *out, struct fld_err *err);
/* The record of the stored version hash (*record new, free());
 * FLD_NOTFOUND when it is not stored (absent or in quarantine). */
int srv_storage_version_record(struct srv_storage *st, const char *hash,
                               char **record, struct fld_err *err);
/* Store a version (and its parents and heads); *seq is its server order.
 * FLD_EXISTS when the hash is stored already. */
int srv_storage_version_put(struct srv_storage *st,
                            const struct srv_version_in *in, int64_t *seq,
                            struct fld_err *err);
/* Before storing v: a stored version that forks v's author's chain with
 * it (fork_with gets its hash, "" when none): another with v's dseq, at
 * dseq - 1 another than v's prev, at dseq + 1 one naming another prev,
 * or v's prev itself when it is not the author's at dseq - 1. And
 * whether v's prev is missing (a gap). */
int srv_storage_chain_check(struct srv_storage *st, const struct fld_version *v,
                            char fork_with[FLD_HASH_HEX_LEN + 1],
                            bool *prev_missing, struct fld_err *err);
int srv_storage_max_seq(struct srv_storage *st, int64_t *out,
                        struct fld_err *err);
int srv_storage_pull(struct srv_storage *st, const struct srv_pull_query *q,
                     srv_pull_fn fn, void *ctx, struct fld_err *err);
/*
 * Every version received at or before cutoff_ms, grouped by record (in
 * record order, then server order within a record), with its parents.
 */
int srv_storage_each_version_until(struct srv_storage *st, int64_t cutoff_ms,
                                   srv_report_version_fn fn, void *ctx,
                                   struct fld_err *err);
/*
 * The version of this hash, opened from the stored bytes: its rules and
 * canonical form checked, its signature not (the server verified it when
 * it stored it; `field-server audit` re-verifies). FLD_NOTFOUND if absent.
 */
int srv_storage_version_get(struct srv_storage *st, const char *hash,
                            struct fld_version **out, struct fld_err *err);
int srv_storage_record_versions(struct srv_storage *st, const char *record,
                                srv_pull_fn fn, void *ctx, struct fld_err *err);
/* The ids of the records q asks for (see struct srv_record_query). */
int srv_storage_each_record(struct srv_storage *st,
                            const struct srv_record_query *q, srv_record_fn fn,
                            void *ctx, struct fld_err *err);

/* Quarantine. put: waits lists the parents it waits for (none for other
 * reasons); FLD_EXISTS when there already. unblock: parent has arrived;
 * fn gets each version that waited for it and now waits for nothing.
 * each: every quarantined version of a reason (NULL: all). */
int srv_storage_quarantine_put(struct srv_storage *st,
                               const struct srv_quarantined *q,
                               const char *const *waits, size_t n_waits,
                               struct fld_err *err);
int srv_storage_quarantine_unblock(struct srv_storage *st, const char *parent,
                                   srv_quarantine_fn fn, void *ctx,
                                   struct fld_err *err);
int srv_storage_quarantine_each(struct srv_storage *st, const char *reason,
                                srv_quarantine_fn fn, void *ctx,
                                struct fld_err *err);
int srv_storage_quarantine_remove(struct srv_storage *st, const char *hash,
                                  struct fld_err *err);

/* The audit log: append one entry (now); walk entries of a kind (NULL:
 * all), oldest first. Chain alarms are computed from the stored versions. */
int srv_storage_audit_add(struct srv_storage *st, const char *kind,
                          const char *device, const char *subject,
                          const char *detail, struct fld_err *err);
int srv_storage_each_audit(struct srv_storage *st, const char *kind,
                           srv_audit_fn fn, void *ctx, struct fld_err *err);
int srv_storage_each_alarm(struct srv_storage *st, srv_alarm_fn fn, void *ctx,
                           struct fld_err *err);
/*
 * The chain alarms, the same statement on both back ends (no values;
 * CAST, which both read, types the kind). Forks: two versions of one
 * device with the same dseq; a version whose prev is stored but is not
 * its author's version at dseq - 1; a version whose author's version at
 * dseq - 1 is another than its prev. Gaps: a prev not stored. Ordered by
 * author, dseq, kind, version.
 */
#define SRV_SQL_CHAIN_ALARMS                                                   \
    "SELECT CAST('fork' AS TEXT), a.author, a.dseq, a.hash, b.hash "           \
    "  FROM versions a JOIN versions b ON b.author = a.author "                \
    "  AND b.dseq = a.dseq AND b.hash > a.hash "                               \
    "UNION ALL "                                                               \
    "SELECT 'fork', v.author, v.dseq, v.hash, p.hash FROM versions v "         \
    "  JOIN versions p ON p.hash = v.prev "                                    \
    "  WHERE p.author <> v.author OR p.dseq <> v.dseq - 1 "                    \
    "UNION ALL "                                                               \
    "SELECT 'fork', v.author, v.dseq, v.hash, b.hash FROM versions v "         \
    "  JOIN versions b ON b.author = v.author AND b.dseq = v.dseq - 1 "        \
    "  WHERE v.prev IS NOT NULL AND b.hash <> v.prev "                         \
    "UNION ALL "                                                               \
    "SELECT 'gap', v.author, v.dseq, v.hash, v.prev FROM versions v "          \
    "  WHERE v.prev IS NOT NULL AND NOT EXISTS "                               \
    "  (SELECT 1 FROM versions p WHERE p.hash = v.prev) "                      \
    "ORDER BY 2, 3, 1, 4"
int srv_storage_counts(struct srv_storage *st, struct srv_counts *out,
                       struct fld_err *err);

/* Threshold revisions (schema/server-003.sql; the rules are checked by
 * server-stub/thresholds.c, not here). put: store the verified revision r
 * (field/thresholds.h), received at received_ms, *seq its server order;
 * FLD_EXISTS when its hash, or its revision number for its template hash, is
 * stored already. each: the revisions after seq `after` in server order, of one
 * template hash (NULL: all), at most limit (0: all). max_seq: the greatest seq,
 * 0 when none. */
int srv_storage_thresholds_put(struct srv_storage *st,
                               const struct fld_thresholds *r,
                               int64_t received_ms, int64_t *seq,
                               struct fld_err *err);
int srv_storage_thresholds_each(struct srv_storage *st, int64_t after,
                                const char *template_hash, int64_t limit,
                                srv_thresholds_fn fn, void *ctx,
                                struct fld_err *err);
int srv_storage_thresholds_max_seq(struct srv_storage *st, int64_t *out,
                                   struct fld_err *err);

/*
 * Attachments (schema/server-005.sql, server-stub/attachments.h for the
 * files). Storing a version (version_put) records the attachments it
 * names, in the same transaction; nothing else adds one.
 *
 * seen: of the n hashes asked, those that a stored version names which
 * `device` may pull (the scope of srv_storage_pull: a version whose
 * subject is one of its units or below one; every version when
 * all_units): fn gets each with i its index in hashes, in no particular
 * order; a hash not given to fn is unknown to this device. At most 1000
 * hashes.
 * ack: the upload of hash now has `to` bytes acknowledged, at now_ms:
 * FLD_CONFLICT when its acknowledged bytes were not `from` (another
 * request moved them), FLD_NOTFOUND when no version names it.
 * stored: the whole file is in place, verified (acked becomes bytes).
 * reset: nothing of the upload is kept any more (acked 0, no chunk time);
 * a stored attachment stays stored.
 * stale: the partial uploads whose last chunk is before before_ms, oldest
 * first (i counts from 0).
 * record_attachments: the attachments the record's stored versions name,
 * each once, in the order they were first named, with the taken and
 * position of the first version naming it (i counts from 0).
 */
int srv_storage_attachments_seen(struct srv_storage *st, const char *device,
                                 bool all_units, const char *const *hashes,
                                 size_t n, srv_attachment_fn fn, void *ctx,
                                 struct fld_err *err);
int srv_storage_attachment_ack(struct srv_storage *st, const char *hash,
                               int64_t from, int64_t to, int64_t now_ms,
                               struct fld_err *err);
int srv_storage_attachment_stored(struct srv_storage *st, const char *hash,
                                  int64_t now_ms, struct fld_err *err);
int srv_storage_attachment_reset(struct srv_storage *st, const char *hash,
                                 struct fld_err *err);
int srv_storage_attachments_stale(struct srv_storage *st, int64_t before_ms,
                                  srv_attachment_fn fn, void *ctx,
                                  struct fld_err *err);
int srv_storage_record_attachments(struct srv_storage *st, const char *record,
                                   srv_attachment_fn fn, void *ctx,
                                   struct fld_err *err);

#endif
