/*
 * migrate.c - a province's server moves from SQLite to PostgreSQL
 * (issue 16): every row of every table, as it is, then checked on the
 * target inside the same transaction before anything is committed.
 *
 * Decisions:
 *   - Rows, not operations (storage_raw.h): seq numbers stay what they
 *     were, and so does the epoch, so every device's pull cursor stays
 *     valid and nothing is pulled or pushed again. Audit ids, target and
 *     threshold order, used enrollment codes and quarantined versions
 *     stay too. The generated columns then continue after the greatest
 *     copied number.
 *   - One transaction on the target: the schema, every row and the
 *     checks. A failure anywhere (a dropped connection, a row PostgreSQL
 *     refuses, a check that fails) rolls it all back, and the database is
 *     left as empty as it was found. The target must be empty to begin
 *     with (no table in its schema): a migration never merges.
 *   - No server may serve the source meanwhile: what it acknowledged
 *     after the copy would be lost. `serve` holds a lock beside the file
 *     for its life (serve_lock.h); migrate takes it exclusive for the
 *     whole move, so it refuses (busy) while a server runs and a server
 *     started during the move refuses too. The copy itself is one read
 *     transaction on the source, so it is of one moment whatever else
 *     (an administration command) writes to the file.
 *   - The checks go through the storage interface on both sides, the way
 *     the server will read the target: each walk (versions by pull, the
 *     quarantine, threshold revisions, templates, devices, units, targets,
 *     the audit log) is hashed into a digest per side and the digests
 *     must match; on the target every version and quarantined version is
 *     opened with its signature verified and its hash recomputed and
 *     looked up, every threshold revision verified, every template's hash
 *     recomputed. Row counts of every table must match too.
 *   - The photo files are copied (whole ones only, as `backup` does)
 *     before the commit, and removed again when the commit does not
 *     happen: a failed migration leaves nothing behind. An unfinished
 *     upload keeps its row (bytes acknowledged) but not its partial
 *     file: its next chunk finds the partial gone and the server has the
 *     device start that photo again from 0 (api_attach.c), as after a
 *     restored backup.
 */
#define _XOPEN_SOURCE 700 /* nftw, before any header */
#include "migrate.h"

#include <errno.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attachments.h"
#include "hlc.h"
#include "serve_lock.h"
#include "storage.h"
#include "storage_raw.h"
#include "template.h"
#include "thresholds.h"
#include "version.h"

/*
 * Every table of the SQLite server schema at version 7 (schema/server.sql
 * and server-002.sql .. server-007.sql), devices before device_scope (its
 * foreign key). All of them are copied, every column: nothing the server
 * keeps is derived from somewhere else that the migration could rebuild
 * instead (parents, heads, attachment_refs are derived from the bodies,
 * but copying them as they are is both simpler and what the source
 * says). meta's row schema_version, should a source ever have one, is
 * the target schema's own and is not copied; SQLite keeps its schema
 * version in PRAGMA user_version, which the PostgreSQL schema keeps as
 * that row. identity: the first column is generated on PostgreSQL.
 */
static const struct table {
    const char *name;
    const char *columns;
    size_t n;
    const char *identity; /* the generated first column, or NULL */
} tables[] = {
    {"meta", "key, value", 2, NULL},
    {"devices", "pubkey, inspector, role, enrolled_ms, revoked_ms", 5, NULL},
    {"device_scope", "device, unit", 2, NULL},
    {"enroll_codes",
     "code_hash, inspector, role, scope, created_ms, expires_ms, used_ms, "
     "used_by",
     8, NULL},
    {"units",
     "code, name, kind, parent, valid_from, valid_to, in_programme, "
     "merged_into",
     8, NULL},
    {"targets", "id, unit, tier, count, applies_from, due, source, loaded_ms",
     8, "id"},
    {"templates", "hash, id, version, body, added_ms", 5, NULL},
    {"versions",
     "seq, hash, record, author, pusher, dseq, prev, hlc_ms, hlc_count, "
     "template_id, template_hash, subject, status, body, sig, received_ms, "
     "flag, ahead_ms",
     18, "seq"},
    {"parents", "child_seq, parent", 2, NULL},
    {"heads", "record, hash", 2, NULL},
    {"quarantine", "hash, author, pusher, reason, body, sig, received_ms", 7,
     NULL},
    {"quarantine_wait", "hash, parent", 2, NULL},
    {"audit", "id, at_ms, kind, device, subject, detail", 6, "id"},
    {"threshold_revisions",
     "seq, hash, template_id, template_hash, revision, valid_from, author, "
     "body, sig, received_ms",
     10, "seq"},
    {"attachments", "hash, bytes, type, acked, last_chunk_ms, stored_ms", 6,
     NULL},
    {"attachment_refs", "hash, seq, bytes, type, taken, position", 6, NULL},
};
#define N_TABLES (sizeof tables / sizeof tables[0])

/* ---- copying --------------------------------------------------------------
 */

struct copy {
    struct srv_storage *dst;
    const struct table *t;
    int64_t rows;
    struct fld_err *err;
};

static int copy_row(void *ctx, const struct srv_cell *cells, size_t n)
{
    struct copy *c = ctx;

    if (strcmp(c->t->name, "meta") == 0 && cells[0].type == SRV_CELL_TEXT &&
        strcmp(cells[0].text, "schema_version") == 0)
        return FLD_OK;
    c->rows++;
    return srv_pg_load_row(c->dst, c->t->name, c->t->columns,
                           c->t->identity != NULL, cells, n, c->err);
}

/* Copy every table; counts[i] gets the rows copied into tables[i], which
 * the target must then hold (meta: one more, its schema_version). */
static int copy_tables(struct srv_storage *src, struct srv_storage *dst,
                       int64_t counts[N_TABLES], struct fld_err *err)
{
    size_t i;
    int rc;

    for (i = 0; i < N_TABLES; i++) {
        struct copy c = {.dst = dst, .t = &tables[i], .err = err};
        int64_t there = -1;

        rc = srv_sqlite_each_row(src, c.t->name, c.t->columns, c.t->n, copy_row,
                                 &c, err);
        if (rc == FLD_OK && c.t->identity != NULL)
            rc = srv_pg_load_end(dst, c.t->name, c.t->identity, err);
        if (rc == FLD_OK)
            rc = srv_pg_count(dst, c.t->name, &there, err);
        if (rc != FLD_OK)
            return fld_err_prefix(err, "copy %s", c.t->name);
        if (there != c.rows + (strcmp(c.t->name, "meta") == 0))
            return fld_err_set(err, FLD_ECORRUPT,
                               "copy %s: %lld rows read, %lld on the target",
                               c.t->name, (long long)c.rows, (long long)there);
        counts[i] = c.rows;
    }
    return FLD_OK;
}

/* ---- checking -------------------------------------------------------------
 */

/* A digest of one side's walks, and whether to verify what is read. */
struct side {
    struct srv_storage *st;
    bool verify;
    crypto_generichash_state h;
    int64_t n;    /* rows in the current walk */
    int64_t last; /* the last seq pulled */
    struct fld_err *err;
};

static void dig(struct side *s, const void *p, size_t len)
{
    uint64_t n = len;

    crypto_generichash_update(&s->h, (const uint8_t *)&n, sizeof n);
    crypto_generichash_update(&s->h, p, len);
}

static void dig_str(struct side *s, const char *t)
{
    static const uint8_t null_mark = 0xff;

    if (t == NULL)
        crypto_generichash_update(&s->h, &null_mark, 1);
    else
        dig(s, t, strlen(t));
}

static void dig_int(struct side *s, int64_t x)
{
    dig(s, &x, sizeof x);
}

/* Open body with its signature verified, and check the hash it was kept
 * under: the target holds nothing it could not have accepted. */
static int verify_version(struct side *s, const uint8_t *body, size_t len,
                          const uint8_t *sig, const char *kept_as, int64_t seq)
{
    struct fld_version *v, *kept = NULL;
    int rc = fld_version_open(body, len, sig, &v, s->err);

    if (rc != FLD_OK)
        return fld_err_prefix(s->err, "version %lld on the target",
                              (long long)seq);
    if (kept_as != NULL) {
        if (strcmp(kept_as, v->hash) != 0)
            rc = fld_err_set(s->err, FLD_ECORRUPT,
                             "quarantined %s: its body hashes to %s", kept_as,
                             v->hash);
    } else {
        rc = srv_storage_version_get(s->st, v->hash, &kept, s->err);
        if (rc != FLD_OK || kept->body_len != len ||
            memcmp(kept->body, body, len) != 0)
            rc = fld_err_set(s->err, FLD_ECORRUPT,
                             "version %lld: not found by its hash %s on the "
                             "target",
                             (long long)seq, v->hash);
    }
    fld_version_free(kept);
    fld_version_free(v);
    return rc;
}

static int on_version(void *ctx, int64_t seq, const uint8_t *body,
                      size_t body_len, const uint8_t *sig)
{
    struct side *s = ctx;

    s->n++;
    s->last = seq;
    dig_int(s, seq);
    dig(s, body, body_len);
    dig(s, sig, FLD_SIG_LEN);
    return s->verify ? verify_version(s, body, body_len, sig, NULL, seq)
                     : FLD_OK;
}

static int on_quarantined(void *ctx, const struct srv_quarantined *q)
{
    struct side *s = ctx;

    s->n++;
    dig_str(s, q->hash);
    dig_str(s, q->author);
    dig_str(s, q->pusher);
    dig_str(s, q->reason);
    dig(s, q->body, q->body_len);
    dig(s, q->sig, FLD_SIG_LEN);
    dig_int(s, q->received_ms);
    return s->verify
               ? verify_version(s, q->body, q->body_len, q->sig, q->hash, 0)
               : FLD_OK;
}

static int on_thresholds(void *ctx, const struct srv_thresholds_row *r)
{
    struct side *s = ctx;
    struct fld_thresholds *t;
    int rc = FLD_OK;

    s->n++;
    dig_int(s, r->seq);
    dig_str(s, r->hash);
    dig(s, r->body, r->body_len);
    dig(s, r->sig, FLD_SIG_LEN);
    dig_int(s, r->received_ms);
    if (!s->verify)
        return FLD_OK;
    if ((rc = fld_thresholds_open(r->body, r->body_len, r->sig, &t, s->err)) !=
        FLD_OK)
        return fld_err_prefix(s->err, "threshold revision %s on the target",
                              r->hash);
    if (strcmp(t->hash, r->hash) != 0)
        rc = fld_err_set(s->err, FLD_ECORRUPT,
                         "threshold revision %s: its body hashes to %s",
                         r->hash, t->hash);
    fld_thresholds_free(t);
    return rc;
}

static int on_template(void *ctx, const struct srv_template_row *t)
{
    struct side *s = ctx;
    struct fld_template *parsed = NULL;
    uint8_t *body;
    size_t len;
    int rc;

    s->n++;
    dig_str(s, t->hash);
    dig_str(s, t->id);
    dig_str(s, t->version);
    dig_int(s, t->added_ms);
    if ((rc = srv_storage_template_get(s->st, t->hash, &body, &len, s->err)) !=
        FLD_OK)
        return rc;
    dig(s, body, len);
    if (s->verify) {
        rc = fld_template_parse(body, len, &parsed, s->err);
        if (rc == FLD_OK && strcmp(fld_template_hash(parsed), t->hash) != 0)
            rc = fld_err_set(s->err, FLD_ECORRUPT,
                             "template %s: its body hashes to %s", t->hash,
                             fld_template_hash(parsed));
        else if (rc != FLD_OK)
            rc = fld_err_prefix(s->err, "template %s on the target", t->hash);
        fld_template_free(parsed);
    }
    free(body);
    return rc;
}

static int on_device(void *ctx, const struct srv_device *d)
{
    struct side *s = ctx;
    size_t i;

    s->n++;
    dig_str(s, d->pubkey);
    dig_str(s, d->inspector);
    dig_str(s, d->role);
    for (i = 0; i < d->n_scope; i++)
        dig_str(s, d->scope[i]);
    dig_int(s, d->enrolled_ms);
    dig_int(s, d->revoked_ms);
    return FLD_OK;
}

static int on_unit(void *ctx, const struct srv_unit *u)
{
    struct side *s = ctx;

    s->n++;
    dig_str(s, u->code);
    dig_str(s, u->name);
    dig_str(s, u->kind);
    dig_str(s, u->parent);
    dig_str(s, u->valid_from);
    dig_str(s, u->valid_to);
    dig_int(s, u->in_programme);
    dig_str(s, u->merged_into);
    return FLD_OK;
}

static int on_target(void *ctx, const struct srv_target *g)
{
    struct side *s = ctx;

    s->n++;
    dig_str(s, g->unit);
    dig_str(s, g->tier);
    dig_int(s, g->count);
    dig_str(s, g->from);
    dig_str(s, g->due);
    dig_str(s, g->source);
    dig_int(s, g->loaded_ms);
    return FLD_OK;
}

static int on_audit(void *ctx, const struct srv_audit_row *a)
{
    struct side *s = ctx;

    s->n++;
    dig_int(s, a->id);
    dig_int(s, a->at_ms);
    dig_str(s, a->kind);
    dig_str(s, a->device);
    dig_str(s, a->subject);
    dig_str(s, a->detail);
    return FLD_OK;
}

/* The walks, each named; n[i] gets how many rows walk i read. */
enum {
    W_VERSIONS,
    W_QUARANTINE,
    W_THRESHOLDS,
    W_TEMPLATES,
    W_DEVICES,
    W_UNITS,
    W_TARGETS,
    W_AUDIT,
    N_WALKS
};
static const char *const walk_name[N_WALKS] = {
    "versions",  "quarantine", "threshold revisions",
    "templates", "devices",    "units",
    "targets",   "audit log"};

static int walk(struct side *s, int w, struct fld_err *err)
{
    struct srv_pull_query q = {
        .device = "", .all_units = true, .birth = INT64_MAX, .limit = 1000};
    int64_t before;
    int rc = FLD_OK;

    switch (w) {
    case W_VERSIONS: /* by pages, as devices pull */
        do {
            before = s->n;
            q.after = s->last;
            rc = srv_storage_pull(s->st, &q, on_version, s, err);
        } while (rc == FLD_OK && s->n - before == q.limit);
        return rc;
    case W_QUARANTINE:
        return srv_storage_quarantine_each(s->st, NULL, on_quarantined, s, err);
    case W_THRESHOLDS:
        return srv_storage_thresholds_each(s->st, 0, NULL, 0, on_thresholds, s,
                                           err);
    case W_TEMPLATES:
        return srv_storage_each_template(s->st, on_template, s, err);
    case W_DEVICES:
        return srv_storage_each_device(s->st, on_device, s, err);
    case W_UNITS:
        return srv_storage_each_unit(s->st, on_unit, s, err);
    case W_TARGETS:
        return srv_storage_each_target(s->st, on_target, s, err);
    default:
        return srv_storage_each_audit(s->st, NULL, on_audit, s, err);
    }
}

/* Walk both sides, verifying the target; the digests must match. */
static int compare(struct srv_storage *src, struct srv_storage *dst,
                   int64_t n[N_WALKS], struct fld_err *err)
{
    uint8_t a[32], b[32];
    int w, rc;

    for (w = 0; w < N_WALKS; w++) {
        struct side from = {.st = src, .err = err};
        struct side to = {.st = dst, .verify = true, .err = err};

        crypto_generichash_init(&from.h, NULL, 0, sizeof a);
        crypto_generichash_init(&to.h, NULL, 0, sizeof b);
        rc = walk(&from, w, err);
        if (rc == FLD_OK)
            rc = walk(&to, w, err);
        if (rc != FLD_OK)
            return fld_err_prefix(err, "check %s", walk_name[w]);
        crypto_generichash_final(&from.h, a, sizeof a);
        crypto_generichash_final(&to.h, b, sizeof b);
        if (from.n != to.n || sodium_memcmp(a, b, sizeof a) != 0)
            return fld_err_set(err, FLD_ECORRUPT,
                               "check %s: the target differs from the source "
                               "(%lld and %lld read)",
                               walk_name[w], (long long)from.n,
                               (long long)to.n);
        n[w] = to.n;
    }
    return FLD_OK;
}

/* ---- the migration --------------------------------------------------------
 */

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    (void)remove(path);
    return 0;
}

static bool is_pg_location(const char *s)
{
    return strncmp(s, "postgresql:", 11) == 0 ||
           strncmp(s, "postgres:", 9) == 0;
}

/* The SQLite file a --from names, checked before SQLite may create it. */
static int source_path(const char *from, const char **path, struct fld_err *err)
{
    struct stat sb;

    if (is_pg_location(from))
        return fld_err_set(err, FLD_EUSAGE,
                           "--from must be a SQLite database (sqlite:FILE or "
                           "a path), not PostgreSQL");
    *path = strncmp(from, "sqlite:", 7) == 0 ? from + 7 : from;
    if (stat(*path, &sb) != 0)
        return fld_err_set(err, errno == ENOENT ? FLD_NOTFOUND : FLD_EIO,
                           "%s: %s", *path, strerror(errno));
    if (!S_ISREG(sb.st_mode) || sb.st_size == 0)
        return fld_err_set(err, FLD_ECORRUPT, "%s: not a field-server database",
                           *path);
    return FLD_OK;
}

static int64_t count_of(const int64_t counts[N_TABLES], const char *name)
{
    size_t i;

    for (i = 0; i < N_TABLES; i++)
        if (strcmp(tables[i].name, name) == 0)
            return counts[i];
    return 0;
}

int srv_migrate(const char *from, const char *to, const char *attach_to,
                struct srv_migrate_report *out, struct fld_err *err)
{
    struct srv_storage *src = NULL, *dst = NULL;
    int64_t counts[N_TABLES] = {0}, n[N_WALKS] = {0}, t0 = fld_now_ms();
    const char *path = NULL;
    char *epoch = NULL, *from_dir = NULL;
    bool made_dir = false;
    struct stat sb;
    size_t i;
    int rc, lock = -1;

    memset(out, 0, sizeof *out);
    if (!is_pg_location(to))
        return fld_err_set(err, FLD_EUSAGE,
                           "--to must be a PostgreSQL database "
                           "(postgresql://...)");
    if ((rc = source_path(from, &path, err)) != FLD_OK)
        return rc;
    if ((rc = srv_serve_lock(path, SRV_LOCK_ALONE, &lock, err)) != FLD_OK)
        return rc;
    if (lstat(attach_to, &sb) == 0) {
        rc = fld_err_set(err, FLD_EXISTS,
                         "%s already exists (the target's attachments "
                         "directory must be new)",
                         attach_to);
        goto out;
    }
    if ((rc = srv_storage_open(path, false, &src, err)) != FLD_OK)
        goto out;
    rc = srv_storage_meta_get(src, "epoch", &epoch, err);
    if (rc == FLD_NOTFOUND)
        rc = fld_err_set(err, FLD_NOTFOUND,
                         "%s: not initialised (run field-server init)", path);
    if (rc != FLD_OK)
        goto out;
    if ((rc = srv_pg_open_empty(to, &dst, err)) != FLD_OK)
        goto out;
    if ((rc = srv_storage_begin(src, err)) != FLD_OK)
        goto out;
    rc = copy_tables(src, dst, counts, err);
    if (rc == FLD_OK)
        rc = compare(src, dst, n, err);
    from_dir = srv_attach_dir_of(path);
    if (rc == FLD_OK && stat(from_dir, &sb) == 0) {
        rc = srv_attach_copy(from_dir, attach_to, &out->files, &out->file_bytes,
                             err);
        made_dir = rc != FLD_EXISTS; /* made, whole or in part */
    }
    srv_storage_rollback(src); /* it only read */
    if (rc == FLD_OK)
        rc = srv_storage_commit(dst, err);
    if (rc != FLD_OK)
        goto out;
    for (i = 0; i < N_TABLES; i++)
        out->rows += counts[i];
    out->tables = (int64_t)N_TABLES;
    out->versions = n[W_VERSIONS];
    out->quarantined = n[W_QUARANTINE];
    out->thresholds = n[W_THRESHOLDS];
    out->templates = n[W_TEMPLATES];
    out->devices = n[W_DEVICES];
    out->units = n[W_UNITS];
    out->targets = n[W_TARGETS];
    out->audit = n[W_AUDIT];
    out->codes = count_of(counts, "enroll_codes");
    out->attachments = count_of(counts, "attachments");
    snprintf(out->epoch, sizeof out->epoch, "%s", epoch);
    out->ms = fld_now_ms() - t0;
out:
    if (rc != FLD_OK && made_dir)
        (void)nftw(attach_to, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(from_dir);
    free(epoch);
    srv_storage_close(dst); /* uncommitted: rolled back */
    srv_storage_close(src);
    srv_serve_unlock(lock);
    return rc;
}
