/*
 * client_queue.c - the queue of versions a sync pushes, and the batches
 * taken from it (steps 1 and 2 of the flow in client.c's file comment).
 *
 * Where it sits: the store says which versions are pending (its
 * sync_pending table) and which of them are parents of which; this file
 * puts them in the order to push: parents before children, each author's
 * versions in dseq order, arrival order breaking ties (Kahn's algorithm
 * with a heap). client.c then takes batches from the front of the queue,
 * round trip after round trip, and loads it again when the server resets
 * the cursor.
 *
 * A batch is written as it is read: each version's body goes straight
 * into the request's JSON text and through the gzip stream, so a batch
 * keeps no copy of its bodies, and all that is left to write once the
 * cursor is known (syn_client_batch_finish()) is the end of the text.
 * Reading and compressing a batch is most of a push's own work: client.c
 * does it for the next batch while the current one is on the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "gzip.h"

struct edge {
    size_t from, to;
};

void syn_client_queue_free(struct queue *q)
{
    size_t i;

    for (i = 0; i < q->n; i++)
        free(q->v[i].author);
    free(q->v);
    free(q->order);
    free(q->by_hash);
    free(q->edges);
    memset(q, 0, sizeof *q);
}

static int on_pending(void *ctx, const struct fld_store_pending *p)
{
    struct queue *q = ctx;
    struct pending *e;

    if (q->n == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 64;
        q->v = fld_xreallocarray(q->v, q->cap, sizeof *q->v);
    }
    e = &q->v[q->n++];
    q->last_seq = p->seq;
    snprintf(e->hash, sizeof e->hash, "%s", p->hash);
    e->author = fld_xstrdup(p->author);
    e->dseq = p->dseq;
    e->len = p->body_len;
    return FLD_OK;
}

/*
 * What the queue's sorts compare, with the index it stands for. qsort has
 * no context argument, and a global one would let two syncs in one
 * process (two threads, as the load benchmark runs) sort with each
 * other's queue.
 */
struct sort_key {
    const struct pending *p;
    size_t i;
};

static int cmp_hash(const void *a, const void *b)
{
    const struct sort_key *x = a, *y = b;

    return strcmp(x->p->hash, y->p->hash);
}

/* By author, then dseq, then arrival. */
static int cmp_chain(const void *a, const void *b)
{
    const struct sort_key *x = a, *y = b;
    int c = strcmp(x->p->author, y->p->author);

    if (c != 0)
        return c;
    if (x->p->dseq != y->p->dseq)
        return x->p->dseq < y->p->dseq ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* The indices of q's versions in the order cmp sorts them (new). */
static size_t *sorted(const struct queue *q,
                      int (*cmp)(const void *a, const void *b))
{
    struct sort_key *k = fld_xcalloc(q->n ? q->n : 1, sizeof *k);
    size_t *out = fld_xcalloc(q->n ? q->n : 1, sizeof *out), i;

    for (i = 0; i < q->n; i++) {
        k[i].p = &q->v[i];
        k[i].i = i;
    }
    qsort(k, q->n, sizeof *k, cmp);
    for (i = 0; i < q->n; i++)
        out[i] = k[i].i;
    free(k);
    return out;
}

static int cmp_edge(const void *a, const void *b)
{
    const struct edge *x = a, *y = b;

    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return x->to < y->to ? -1 : x->to > y->to;
}

static bool find_hash(const struct queue *q, const char *hash, size_t *out)
{
    size_t lo = 0, hi = q->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(q->v[q->by_hash[mid]].hash, hash);

        if (c == 0) {
            *out = q->by_hash[mid];
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static void add_edge(struct queue *q, size_t from, size_t to)
{
    if (q->n_edges == q->cap_edges) {
        q->cap_edges = q->cap_edges ? 2 * q->cap_edges : 64;
        q->edges = fld_xreallocarray(q->edges, q->cap_edges, sizeof *q->edges);
    }
    q->edges[q->n_edges++] = (struct edge){from, to};
}

static int on_pending_edge(void *ctx, const char *child, const char *parent)
{
    struct queue *q = ctx;
    size_t c, p;

    if (find_hash(q, child, &c) && find_hash(q, parent, &p) && c != p)
        add_edge(q, p, c);
    return FLD_OK;
}

/* A binary min-heap of indices (smaller index = arrived earlier). */
static void heap_push(size_t *h, size_t *n, size_t v)
{
    size_t i = (*n)++;

    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static size_t heap_pop(size_t *h, size_t *n)
{
    size_t top = h[0], v = h[--(*n)], i = 0;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (h[c] >= v)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0)
        h[i] = v;
    return top;
}

/*
 * Order the queue: parents before children (edges from the store's
 * parents table, both ends pending) and each author's versions by dseq,
 * otherwise in arrival order, which already satisfies both for versions
 * captured here. Kahn's algorithm, always taking the earliest-arrived
 * version that is ready. Signed data cannot form a cycle through parents
 * (a hash names what existed before it), but a misbehaving device could
 * sign dseq against its parents; whatever is left in a cycle is pushed
 * last, in arrival order, and the server sorts it out (quarantine).
 */
static int queue_order(struct run *r, struct queue *q, struct fld_err *err)
{
    size_t *chain, *start, *indeg, *heap, n_heap = 0, n_out = 0, i;
    bool *done;
    int rc;

    q->order = fld_xcalloc(q->n ? q->n : 1, sizeof *q->order);
    q->by_hash = sorted(q, cmp_hash);
    if (q->n == 0)
        return FLD_OK;
    rc = fld_store_sync_pending_edges(r->cfg.st, q->last_seq, on_pending_edge,
                                      q, err);
    if (rc != FLD_OK)
        return rc;
    chain = sorted(q, cmp_chain);
    for (i = 1; i < q->n; i++)
        if (strcmp(q->v[chain[i - 1]].author, q->v[chain[i]].author) == 0)
            add_edge(q, chain[i - 1], chain[i]);
    free(chain);
    if (q->n_edges > 1)
        qsort(q->edges, q->n_edges, sizeof *q->edges, cmp_edge);

    start = fld_xcalloc(q->n + 1, sizeof *start);
    indeg = fld_xcalloc(q->n, sizeof *indeg);
    heap = fld_xcalloc(q->n, sizeof *heap);
    done = fld_xcalloc(q->n, sizeof *done);
    for (i = 0; i < q->n_edges; i++) {
        start[q->edges[i].from + 1]++;
        indeg[q->edges[i].to]++;
    }
    for (i = 0; i < q->n; i++)
        start[i + 1] += start[i];
    for (i = 0; i < q->n; i++)
        if (indeg[i] == 0)
            heap_push(heap, &n_heap, i);
    while (n_heap > 0) {
        size_t v = heap_pop(heap, &n_heap), e;

        q->order[n_out++] = v;
        done[v] = true;
        for (e = start[v]; e < start[v + 1]; e++)
            if (--indeg[q->edges[e].to] == 0)
                heap_push(heap, &n_heap, q->edges[e].to);
    }
    for (i = 0; i < q->n && n_out < q->n; i++)
        if (!done[i])
            q->order[n_out++] = i;
    free(start);
    free(indeg);
    free(heap);
    free(done);
    return FLD_OK;
}

/* Load the first window of pending versions into q, ordered. */
static int load_window(struct run *r, struct queue *q, struct fld_err *err)
{
    int64_t total, bytes;
    int rc;

    syn_client_queue_free(q);
    rc = fld_store_sync_each_pending(r->cfg.st, r->cfg.queue_window, on_pending,
                                     q, err);
    if (rc == FLD_OK)
        rc = queue_order(r, q, err);
    if (rc != FLD_OK)
        return rc;
    /* counting them all walks them: only when there may be more */
    if (q->n == r->cfg.queue_window) {
        rc = fld_store_sync_pending_count(r->cfg.st, &total, &bytes, err);
        if (rc != FLD_OK)
            return rc;
        q->beyond = total - (int64_t)q->n;
    }
    r->stats->pending = (int64_t)q->n + q->beyond;
    return FLD_OK;
}

int syn_client_queue_load(struct run *r, struct queue *q, struct fld_err *err)
{
    int rc = load_window(r, q, err);

    r->stats->to_push = r->stats->pending;
    return rc;
}

int syn_client_queue_next_window(struct run *r, struct queue *q,
                                 struct fld_err *err)
{
    return load_window(r, q, err);
}

/* ---- batches ---------------------------------------------------------- */

void syn_client_batch_free(struct batch *b)
{
    free(b->idx);
    fld_buf_free(&b->plain);
    syn_gzip_abandon(b->gz);
    fld_buf_free(&b->zipped);
    memset(b, 0, sizeof *b);
}

/* A stored version that no longer matches its hash cannot be pushed;
 * it goes on the dead-letter list at once (in the keeper's transaction),
 * so it never blocks the rest (`field verify` tells the whole story). */
static int refuse_locally(struct keeper *k, const char *hash, const char *why,
                          struct fld_err *err)
{
    int rc;

    if ((rc = syn_keeper_begin(k, err)) != FLD_OK)
        return rc;
    rc = fld_store_sync_refuse(k->st, hash, "local_corrupt", why, err);
    if (rc != FLD_OK)
        syn_keeper_rollback(k);
    return rc;
}

/* One version into the batch: its JSON text, and through the gzip
 * stream. */
static void batch_add(struct batch *b, size_t i, const uint8_t *body,
                      size_t len, const uint8_t sig[FLD_SIG_LEN])
{
    struct syn_item it;
    size_t start = b->plain.len;

    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->idx = fld_xreallocarray(b->idx, b->cap, sizeof *b->idx);
    }
    b->idx[b->n] = i;
    memset(&it, 0, sizeof it);
    it.body = (uint8_t *)(uintptr_t)body; /* borrowed, only read */
    it.body_len = len;
    memcpy(it.sig, sig, FLD_SIG_LEN);
    syn_sync_request_encode_item(&it, b->n == 0, &b->plain);
    if (b->gz == NULL)
        b->gz = syn_gzip_begin();
    syn_gzip_more(b->gz, b->plain.data + start, b->plain.len - start,
                  &b->zipped);
    b->n++;
}

/*
 * The contract is in client_int.h. Each body is read by its hash and
 * checked against it (fld_store_version_raw), which is what lets the
 * answer's hashes be compared with the queue's without hashing again.
 */
int syn_client_batch_take(const struct batch_limits *lim, struct queue *q,
                          struct keeper *k, struct batch *b,
                          struct fld_err *err)
{
    size_t bytes = 0;
    int rc;

    memset(b, 0, sizeof *b);
    while (q->next < q->n && b->n < lim->versions) {
        size_t i = q->order[q->next];
        uint8_t *body, sig[FLD_SIG_LEN];
        size_t len;
        struct fld_err e;

        if (b->n > 0 && bytes + q->v[i].len > lim->bytes)
            break;
        fld_err_clear(&e);
        rc = fld_store_version_raw(k->st, q->v[i].hash, &body, &len, sig, &e);
        q->next++;
        if (rc == FLD_ECORRUPT || rc == FLD_NOTFOUND) {
            if ((rc = refuse_locally(k, q->v[i].hash, e.msg, err)) != FLD_OK)
                return rc;
            continue;
        }
        if (rc != FLD_OK) {
            if (err)
                *err = e;
            return rc;
        }
        batch_add(b, i, body, len, sig);
        bytes += len;
        free(body);
    }
    b->q_end = q->next;
    return FLD_OK;
}

/*
 * The rest of the request's text, and the body to send: gzipped when it
 * is at least SYN_GZIP_MIN bytes and gzip made it smaller, as
 * syn_client_exchange() decides for any other request.
 */
void syn_client_batch_finish(struct batch *b, const char *cursor, int64_t limit,
                             struct outgoing *o)
{
    size_t start = b->plain.len;

    syn_sync_request_encode_end(cursor, limit, b->n > 0, &b->plain);
    o->body = b->plain.data;
    o->len = b->plain.len;
    o->is_gzipped = false;
    if (b->gz == NULL)
        return;
    syn_gzip_end(b->gz, b->plain.data + start, b->plain.len - start,
                 &b->zipped);
    b->gz = NULL;
    if (b->plain.len >= SYN_GZIP_MIN && b->zipped.len < b->plain.len) {
        o->body = b->zipped.data;
        o->len = b->zipped.len;
        o->is_gzipped = true;
    }
}
