/*
 * verify.c - whole-store integrity check (see verify.h).
 *
 * One pass over the versions in (author, dseq) order checks each body and
 * each device chain, and keeps a small index entry per version; the
 * cross-version checks (parents present, heads correct) then run on that
 * index in memory. Parents and heads come from the signed bodies, never
 * from the derived tables, so editing those tables is caught as well.
 */
#include "verify.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"
#include "version.h"

struct entry {
    char hash[FLD_HASH_HEX_LEN + 1];
    char record[FLD_RECORD_HEX_LEN + 1];
    char **parents;
    size_t n_parents;
    int has_child;
    int is_bad; /* failed its own checks: its parents are unknown */
};

struct walk {
    fld_fault_fn fn;
    void *ctx;
    struct fld_verify_stats *stats;
    struct entry *entries;
    size_t n, cap;
    /* the chain being walked */
    char author[FLD_HASH_HEX_LEN + 1];
    int64_t last_dseq;
    char last_hash[FLD_HASH_HEX_LEN + 1];
    /* this device */
    char *self;
    int64_t self_max_dseq;
    char self_last[FLD_HASH_HEX_LEN + 1];
};

static void fault(struct walk *w, const char *kind, const char *subject,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fault(struct walk *w, const char *kind, const char *subject,
                  const char *fmt, ...)
{
    char msg[FLD_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    w->stats->n_faults++;
    w->fn(w->ctx, kind, subject, msg);
}

static int str_differs(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a != b;
    return strcmp(a, b) != 0;
}

/* The indexed columns must say what the signed body says. */
static void check_columns(struct walk *w, const struct fld_store_row *r,
                          const struct fld_version *v)
{
    const char *bad = NULL;

    if (str_differs(r->record, v->record))
        bad = "record";
    else if (str_differs(r->author, v->author))
        bad = "author";
    else if (r->dseq != v->dseq)
        bad = "dseq";
    else if (str_differs(r->prev, v->prev))
        bad = "prev";
    else if (r->hlc.ms != v->hlc.ms || r->hlc.count != v->hlc.count)
        bad = "hlc";
    else if (str_differs(r->template_id, v->template_id) ||
             str_differs(r->template_hash, v->template_hash))
        bad = "template";
    else if (str_differs(r->subject, v->subject))
        bad = "subject";
    else if (str_differs(r->status, v->status))
        bad = "status";
    if (bad != NULL)
        fault(w, "version", r->hash,
              "stored column \"%s\" disagrees with the signed body", bad);
}

/* Chains: dseq strictly follows, prev names the previous version. */
static void check_chain(struct walk *w, const struct fld_store_row *r)
{
    int is_self = w->self && strcmp(r->author, w->self) == 0;

    if (strcmp(r->author, w->author) != 0) {
        snprintf(w->author, sizeof w->author, "%s", r->author);
        w->last_dseq = 0;
        w->last_hash[0] = '\0';
        w->stats->n_devices++;
    }
    if (r->dseq == w->last_dseq) {
        fault(w, "device", r->author,
              "fork: two versions with dseq %lld (%.16s and %.16s)",
              (long long)r->dseq, w->last_hash, r->hash);
    } else if (r->dseq == w->last_dseq + 1 && w->last_dseq > 0 &&
               str_differs(r->prev, w->last_hash)) {
        fault(w, "version", r->hash,
              "prev does not name the device's version dseq %lld (%.16s)",
              (long long)w->last_dseq, w->last_hash);
    } else if (r->dseq > w->last_dseq + 1 && is_self) {
        /* Other devices' chains may be partial here (sync is scoped); our
         * own must be complete. */
        fault(w, "device", r->author,
              "version%s dseq %lld%s%lld missing (removed from the store?)",
              r->dseq - w->last_dseq > 2 ? "s" : "",
              (long long)w->last_dseq + 1,
              r->dseq - w->last_dseq > 2 ? ".." : " before ",
              (long long)(r->dseq - w->last_dseq > 2 ? r->dseq - 1 : r->dseq));
    }
    w->last_dseq = r->dseq;
    snprintf(w->last_hash, sizeof w->last_hash, "%s", r->hash);
    if (is_self) {
        w->self_max_dseq = r->dseq;
        snprintf(w->self_last, sizeof w->self_last, "%s", r->hash);
    }
}

static void remember(struct walk *w, const struct fld_store_row *r,
                     const struct fld_version *v)
{
    struct entry *e;
    size_t i;

    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 256;
        w->entries = fld_xreallocarray(w->entries, w->cap, sizeof *w->entries);
    }
    e = &w->entries[w->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->hash, sizeof e->hash, "%s", r->hash);
    snprintf(e->record, sizeof e->record, "%s", v ? v->record : r->record);
    e->is_bad = v == NULL;
    if (v == NULL)
        return;
    e->n_parents = v->parents->n;
    e->parents = fld_xcalloc(e->n_parents, sizeof *e->parents);
    for (i = 0; i < e->n_parents; i++)
        e->parents[i] = fld_xstrdup(v->parents->items[i]->s);
}

/*
 * A version read from the store, with what its own checks found: copies
 * of the row, since the walk's row lives only during its callback.
 */
struct read_row {
    struct fld_store_row r;
    char *strings[8]; /* the row's strings, owned (r points into them) */
    uint8_t *body, *sig;
    bool hash_ok;
    int rc; /* of fld_version_open() when hash_ok and the signature's size is */
    struct fld_version *v;
    struct fld_err err;
};

static const char *keep(struct read_row *x, size_t k, const char *s)
{
    x->strings[k] = s ? fld_xstrdup(s) : NULL;
    return x->strings[k];
}

static void read_row_copy(struct read_row *x, const struct fld_store_row *r)
{
    memset(x, 0, sizeof *x);
    x->r = *r;
    x->r.hash = keep(x, 0, r->hash);
    x->r.record = keep(x, 1, r->record);
    x->r.author = keep(x, 2, r->author);
    x->r.prev = keep(x, 3, r->prev);
    x->r.template_id = keep(x, 4, r->template_id);
    x->r.template_hash = keep(x, 5, r->template_hash);
    x->r.subject = keep(x, 6, r->subject);
    x->r.status = keep(x, 7, r->status);
    x->body = fld_xmalloc(r->body_len + 1);
    if (r->body_len > 0)
        memcpy(x->body, r->body, r->body_len);
    x->r.body = x->body;
    x->sig = fld_xmalloc(r->sig_len + 1);
    if (r->sig_len > 0)
        memcpy(x->sig, r->sig, r->sig_len);
    x->r.sig = x->sig;
}

static void read_row_free(struct read_row *x)
{
    size_t k;

    for (k = 0; k < sizeof x->strings / sizeof *x->strings; k++)
        free(x->strings[k]);
    free(x->body);
    free(x->sig);
    fld_version_free(x->v);
}

/* The version's own checks, which need nothing but its row: the part of
 * the walk that runs on every core. */
static void open_row(struct read_row *x)
{
    char actual[FLD_HASH_HEX_LEN + 1];

    fld_version_hash(x->r.body, x->r.body_len, actual);
    x->hash_ok = strcmp(actual, x->r.hash) == 0;
    if (x->hash_ok && x->r.sig_len == FLD_SIG_LEN)
        x->rc = fld_version_open(x->r.body, x->r.body_len, x->r.sig, &x->v,
                                 &x->err);
}

/* What the checks of one version found, and the checks across versions
 * that need the ones before it, in the walk's order. */
static void finish_row(struct walk *w, const struct read_row *x)
{
    const struct fld_store_row *r = &x->r;

    w->stats->n_versions++;
    if (!x->hash_ok)
        fault(w, "version", r->hash,
              "body does not match its hash (changed after it was signed)");
    else if (r->sig_len != FLD_SIG_LEN)
        fault(w, "version", r->hash, "stored signature is damaged");
    else if (x->rc != FLD_OK)
        fault(w, "version", r->hash, "%s",
              x->rc == FLD_EBADSIG
                  ? "signature does not verify (re-signed by another key?)"
                  : x->err.msg);
    else
        check_columns(w, r, x->v);
    check_chain(w, r);
    remember(w, r, x->v);
}

/* Versions are read a batch at a time; the batch's own checks run through
 * the caller's parallel loop, then finish in order. */
#define BATCH 256

struct batch {
    struct walk *w;
    fld_parallel_fn parallel;
    struct read_row rows[BATCH];
    size_t n;
};

static void open_one(void *ctx, size_t i)
{
    open_row(&((struct batch *)ctx)->rows[i]);
}

static void run_batch(struct batch *b)
{
    size_t i;

    if (b->parallel != NULL)
        b->parallel(b->n, open_one, b);
    else
        for (i = 0; i < b->n; i++)
            open_row(&b->rows[i]);
    for (i = 0; i < b->n; i++) {
        finish_row(b->w, &b->rows[i]);
        read_row_free(&b->rows[i]);
    }
    b->n = 0;
}

static int check_row(void *ctx, const struct fld_store_row *r)
{
    struct batch *b = ctx;

    read_row_copy(&b->rows[b->n++], r);
    if (b->n == BATCH)
        run_batch(b);
    return FLD_OK;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->hash,
                  ((const struct entry *)b)->hash);
}

static struct entry *lookup(struct walk *w, const char *hash)
{
    struct entry key;

    if (w->n == 0)
        return NULL;
    snprintf(key.hash, sizeof key.hash, "%s", hash);
    return bsearch(&key, w->entries, w->n, sizeof *w->entries, cmp_entry);
}

static void check_parents(struct walk *w)
{
    size_t i, j;

    for (i = 0; i < w->n; i++)
        for (j = 0; j < w->entries[i].n_parents; j++) {
            struct entry *p = lookup(w, w->entries[i].parents[j]);

            if (p == NULL)
                fault(w, "version", w->entries[i].hash,
                      "parent %.16s is not in the store (removed?)",
                      w->entries[i].parents[j]);
            else if (strcmp(p->record, w->entries[i].record) == 0)
                p->has_child = 1; /* a child of another record is not */
        }
}

/*
 * The parents table must hold exactly the edges the signed bodies state.
 * Entries are sorted by hash and each one's parents are sorted, so the
 * body edges come in the same (child, parent) order as the table's rows
 * and one merge pass compares them.
 */
struct edge_walk {
    struct walk *w;
    size_t entry, parent; /* the next body edge */
};

static int next_body_edge(struct edge_walk *e, const char **child,
                          const char **parent)
{
    struct walk *w = e->w;

    while (e->entry < w->n && e->parent >= w->entries[e->entry].n_parents) {
        e->entry++;
        e->parent = 0;
    }
    if (e->entry == w->n)
        return 0;
    *child = w->entries[e->entry].hash;
    *parent = w->entries[e->entry].parents[e->parent];
    return 1;
}

static int compare_edge(void *ctx, const char *child, const char *parent)
{
    struct edge_walk *e = ctx;
    const char *bc, *bp;
    struct entry *c;

    for (;;) {
        int cmp = 1;

        if (next_body_edge(e, &bc, &bp)) {
            cmp = strcmp(bc, child);
            if (cmp == 0)
                cmp = strcmp(bp, parent);
        }
        if (cmp == 0) {
            e->parent++;
            return FLD_OK;
        }
        if (cmp > 0)
            break;
        fault(e->w, "version", bc, "parents table lacks its parent %.16s", bp);
        e->parent++;
    }
    c = lookup(e->w, child);
    if (c == NULL || !c->is_bad) /* a bad version's edges are unknown */
        fault(e->w, "version", child,
              "parents table names %.16s, which its signed body does not",
              parent);
    return FLD_OK;
}

static int check_edges(struct walk *w, struct fld_store *st,
                       struct fld_err *err)
{
    struct edge_walk e = {w, 0, 0};
    const char *bc, *bp;
    int rc = fld_store_each_edge(st, compare_edge, &e, err);

    while (rc == FLD_OK && next_body_edge(&e, &bc, &bp)) {
        fault(w, "version", bc, "parents table lacks its parent %.16s", bp);
        e.parent++;
    }
    return rc;
}

/* The heads table must hold exactly the versions without children in
 * their own record (schema/field-010.sql). */
static int check_record_heads(struct walk *w, struct fld_store *st,
                              const char *record, struct fld_err *err)
{
    char **heads;
    size_t n, i, expected = 0;
    int rc = fld_store_heads(st, record, &heads, &n, err);

    if (rc != FLD_OK)
        return rc;
    for (i = 0; i < w->n; i++) {
        if (strcmp(w->entries[i].record, record) != 0)
            continue;
        if (w->entries[i].is_bad) {
            /* Already reported; without its parents the heads are unknown. */
            fld_strv_free(heads, n);
            return FLD_OK;
        }
        if (!w->entries[i].has_child)
            expected++;
    }
    for (i = 0; i < n; i++) {
        struct entry *e = lookup(w, heads[i]);

        if (e == NULL || e->has_child || strcmp(e->record, record) != 0) {
            fault(w, "record", record,
                  "stored head %.16s is not a current version", heads[i]);
            expected++; /* counted as listed; avoid a second fault below */
        }
    }
    if (n != expected)
        fault(w, "record", record,
              "stored heads list %zu versions where %zu have no successor", n,
              expected);
    fld_strv_free(heads, n);
    return FLD_OK;
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int check_all_heads(struct walk *w, struct fld_store *st,
                           struct fld_err *err)
{
    const char **records = fld_xcalloc(w->n, sizeof *records);
    size_t i;
    int rc = FLD_OK;

    for (i = 0; i < w->n; i++)
        records[i] = w->entries[i].record;
    if (w->n > 0)
        qsort(records, w->n, sizeof *records, cmp_strp);
    for (i = 0; i < w->n && rc == FLD_OK; i++) {
        if (i > 0 && strcmp(records[i - 1], records[i]) == 0)
            continue;
        w->stats->n_records++;
        rc = check_record_heads(w, st, records[i], err);
    }
    free(records);
    return rc;
}

/* This device's chain must end where the device says it signed last: a
 * removed newest version leaves no gap, only a shorter chain. */
static int check_self_end(struct walk *w, struct fld_store *st,
                          struct fld_err *err)
{
    int64_t dseq;
    char *prev = NULL;
    int rc = fld_store_meta_get_int(st, FLD_META_DSEQ, &dseq, err);

    if (rc != FLD_OK)
        return rc == FLD_NOTFOUND ? FLD_OK : rc;
    /* a device that signed nothing yet has no last version */
    if (dseq > 0)
        rc = fld_store_meta_get(st, FLD_META_PREV, &prev, err);
    if (rc != FLD_OK)
        return rc;
    if (dseq != w->self_max_dseq)
        fault(w, "device", w->self,
              "this device signed %lld versions but the store holds its chain "
              "only up to dseq %lld (removed?)",
              (long long)dseq, (long long)w->self_max_dseq);
    else if (dseq > 0 && strcmp(prev, w->self_last) != 0)
        fault(w, "device", w->self,
              "the device's last version is %.16s but the store's is %.16s",
              prev, w->self_last);
    free(prev);
    return FLD_OK;
}

int fld_verify_store(struct fld_store *st, fld_fault_fn fn, void *ctx,
                     struct fld_verify_stats *stats, struct fld_err *err)
{
    return fld_verify_store_with(st, NULL, fn, ctx, stats, err);
}

int fld_verify_store_with(struct fld_store *st, fld_parallel_fn parallel,
                          fld_fault_fn fn, void *ctx,
                          struct fld_verify_stats *stats, struct fld_err *err)
{
    struct batch *b;
    struct walk w;
    size_t i;
    int rc;

    memset(&w, 0, sizeof w);
    memset(stats, 0, sizeof *stats);
    w.fn = fn;
    w.ctx = ctx;
    w.stats = stats;
    rc = fld_store_meta_get(st, FLD_META_PUBLIC, &w.self, err);
    if (rc != FLD_OK && rc != FLD_NOTFOUND)
        return rc;
    b = fld_xcalloc(1, sizeof *b); /* 256 rows: not on the stack */
    b->w = &w;
    b->parallel = parallel;
    rc = fld_store_each_version(st, NULL, FLD_ORDER_AUTHOR, check_row, b, err);
    if (rc == FLD_OK)
        run_batch(b);
    for (i = 0; i < b->n; i++) /* a walk that failed leaves some unread */
        read_row_free(&b->rows[i]);
    free(b);
    if (rc == FLD_OK) {
        if (w.n > 0)
            qsort(w.entries, w.n, sizeof *w.entries, cmp_entry);
        check_parents(&w);
        rc = check_edges(&w, st, err);
        if (rc == FLD_OK)
            rc = check_all_heads(&w, st, err);
        if (rc == FLD_OK && w.self)
            rc = check_self_end(&w, st, err);
    }
    for (i = 0; i < w.n; i++)
        fld_strv_free(w.entries[i].parents, w.entries[i].n_parents);
    free(w.entries);
    free(w.self);
    if (rc == FLD_OK && stats->n_faults > 0)
        rc = fld_err_set(err, FLD_ECORRUPT, "%lld fault%s found",
                         (long long)stats->n_faults,
                         stats->n_faults == 1 ? "" : "s");
    return rc;
}
