/*
 * server.c - the server's shared state (see server.h): the pool of storage
 * handles, the template cache, the epoch and the replay cache.
 *
 * SQLite handles are not shared between threads; a request takes one from
 * the pool and gives it back, and the pool opens another when all are in
 * use. Each handle leaves folding its log to the checkpointer's thread
 * (checkpointer.h). Templates are immutable by hash, so a parsed template is
 * cached for the life of the process: parsing one per pushed version would cost
 * more than verifying its signature.
 */
#include "server.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "attachments.h"
#include "buf.h"
#include "checkpointer.h"
#include "hlc.h"
#include "metrics.h"

struct srv_tpl_entry {
    char hash[FLD_HASH_HEX_LEN + 1];
    struct fld_template *t;
};

void srv_epoch_new(char out[17])
{
    uint8_t r[8];

    randombytes_buf(r, sizeof r);
    fld_hex_encode(r, sizeof r, out);
}

int srv_open(const struct srv_config *cfg, struct srv **out,
             struct fld_err *err)
{
    struct srv *s;
    struct srv_storage *st;
    struct srv_attach *attach = NULL;
    char *epoch = NULL, *dir, *where;
    int rc;

    *out = NULL;
    if ((rc = srv_storage_open(cfg->db, false, &st, err)) != FLD_OK)
        return rc;
    where = srv_storage_display(cfg->db);
    rc = srv_storage_meta_get(st, "epoch", &epoch, err);
    if (rc == FLD_NOTFOUND)
        rc = fld_err_set(err, FLD_ECORRUPT,
                         "%s: not initialised (run field-server init)", where);
    if (rc == FLD_OK && (strlen(epoch) != 16 || !fld_is_hex(epoch, 16)))
        rc = fld_err_set(err, FLD_ECORRUPT, "%s: damaged epoch", where);
    free(where);
    if (rc == FLD_OK) {
        dir = srv_attach_dir_of(cfg->db);
        rc = srv_attach_open(dir, &attach, err);
        free(dir);
    }
    if (rc != FLD_OK) {
        free(epoch);
        srv_storage_close(st);
        return rc;
    }
    s = fld_xcalloc(1, sizeof *s);
    s->attach = attach;
    s->cfg = *cfg; /* strings stay owned by the caller's config */
    memcpy(s->epoch, epoch, 17);
    free(epoch);
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_mutex_init(&s->write_lock, NULL);
    pthread_mutex_init(&s->tpl_lock, NULL);
    s->replay = srv_replay_new(1u << 20);
    s->enroll_replay = srv_replay_new(1u << 16);
    s->start_ms = fld_now_ms();
    s->metrics = srv_metrics_new();
    s->checkpointer = srv_checkpointer_new(s);
    srv_storage_checkpoint_elsewhere(st, srv_checkpointer_want,
                                     s->checkpointer);
    srv_release(s, st);
    *out = s;
    return FLD_OK;
}

void srv_close(struct srv *s)
{
    size_t i;

    if (s == NULL)
        return;
    srv_checkpointer_free(s->checkpointer); /* it uses the pool */
    srv_attach_close(s->attach);
    for (i = 0; i < s->n_free; i++)
        srv_storage_close(s->free_handles[i]);
    free(s->free_handles);
    for (i = 0; i < s->n_templates; i++)
        fld_template_free(s->templates[i].t);
    free(s->templates);
    srv_replay_free(s->replay);
    srv_replay_free(s->enroll_replay);
    srv_metrics_free(s->metrics);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_mutex_destroy(&s->write_lock);
    pthread_mutex_destroy(&s->tpl_lock);
    free(s);
}

int srv_acquire(struct srv *s, struct srv_storage **out, struct fld_err *err)
{
    int rc;

    pthread_mutex_lock(&s->pool_lock);
    if (s->n_free > 0) {
        *out = s->free_handles[--s->n_free];
        pthread_mutex_unlock(&s->pool_lock);
        return FLD_OK;
    }
    pthread_mutex_unlock(&s->pool_lock);
    if ((rc = srv_storage_open(s->cfg.db, false, out, err)) != FLD_OK)
        return rc;
    srv_storage_checkpoint_elsewhere(*out, srv_checkpointer_want,
                                     s->checkpointer);
    return FLD_OK;
}

void srv_release(struct srv *s, struct srv_storage *st)
{
    if (st == NULL)
        return;
    srv_storage_rollback(st); /* never hand on an open transaction */
    pthread_mutex_lock(&s->pool_lock);
    if (s->n_free == s->cap_free) {
        s->cap_free = s->cap_free ? 2 * s->cap_free : 8;
        s->free_handles = fld_xreallocarray(s->free_handles, s->cap_free,
                                            sizeof *s->free_handles);
    }
    s->free_handles[s->n_free++] = st;
    pthread_mutex_unlock(&s->pool_lock);
}

int srv_expire_partials(struct srv *s, size_t *n, struct fld_err *err)
{
    struct srv_storage *st;
    int64_t before = fld_now_ms() - (int64_t)s->cfg.partial_days * 86400000;
    int rc;

    if (n)
        *n = 0;
    if ((rc = srv_acquire(s, &st, err)) != FLD_OK)
        return rc;
    rc = srv_attach_expire(s->attach, st, &s->write_lock, before, n, err);
    srv_release(s, st);
    return rc;
}

const struct fld_template *srv_template_cached(struct srv *s, const char *hash)
{
    const struct fld_template *t = NULL;
    size_t i;

    pthread_mutex_lock(&s->tpl_lock);
    for (i = 0; i < s->n_templates && t == NULL; i++)
        if (strcmp(s->templates[i].hash, hash) == 0)
            t = s->templates[i].t;
    pthread_mutex_unlock(&s->tpl_lock);
    return t;
}

int srv_template(struct srv *s, struct srv_storage *st, const char *hash,
                 const struct fld_template **out, struct fld_err *err)
{
    struct fld_template *t;
    uint8_t *body;
    size_t len, i;
    int rc;

    if ((*out = srv_template_cached(s, hash)) != NULL)
        return FLD_OK;
    if ((rc = srv_storage_template_get(st, hash, &body, &len, err)) != FLD_OK)
        return rc;
    rc = fld_template_parse(body, len, &t, err);
    free(body);
    if (rc != FLD_OK)
        return fld_err_set(err, FLD_ECORRUPT, "stored template %.16s: %s", hash,
                           err ? err->msg : "does not parse");
    pthread_mutex_lock(&s->tpl_lock);
    for (i = 0; i < s->n_templates; i++) /* another thread was quicker */
        if (strcmp(s->templates[i].hash, hash) == 0)
            break;
    if (i < s->n_templates) {
        fld_template_free(t);
    } else {
        s->templates = fld_xreallocarray(s->templates, s->n_templates + 1,
                                         sizeof *s->templates);
        snprintf(s->templates[i].hash, sizeof s->templates[i].hash, "%s", hash);
        s->templates[i].t = t;
        s->n_templates++;
    }
    *out = s->templates[i].t;
    pthread_mutex_unlock(&s->tpl_lock);
    return FLD_OK;
}

/* ---- replay cache
 * ------------------------------------------------------------ */

/*
 * An open-addressing hash table of signatures with their expiry. A slot
 * whose entry has expired counts as free, so the table cleans itself as it
 * is probed; it doubles (dropping expired entries) past half full.
 */
struct replay_slot {
    uint8_t sig[64];
    int64_t expires_ms; /* 0: never used */
    uint64_t owner;     /* who sent it (0: not tagged) */
};

struct srv_replay {
    pthread_mutex_t lock;
    struct replay_slot *slots;
    size_t cap, used, max;
};

struct srv_replay *srv_replay_new(size_t max_entries)
{
    struct srv_replay *r = fld_xcalloc(1, sizeof *r);

    pthread_mutex_init(&r->lock, NULL);
    r->cap = 1024;
    r->max = max_entries;
    r->slots = fld_xcalloc(r->cap, sizeof *r->slots);
    return r;
}

void srv_replay_free(struct srv_replay *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->slots);
    free(r);
}

static size_t slot_of(const uint8_t sig[64], size_t cap)
{
    uint64_t h;

    /* Signatures are uniformly random bytes: any 8 of them hash well. */
    memcpy(&h, sig, sizeof h);
    return (size_t)(h & (cap - 1));
}

static void replay_insert(struct replay_slot *slots, size_t cap,
                          const uint8_t sig[64], int64_t expires_ms,
                          uint64_t owner, int64_t now_ms)
{
    size_t i = slot_of(sig, cap);

    while (slots[i].expires_ms > now_ms)
        i = (i + 1) & (cap - 1);
    memcpy(slots[i].sig, sig, 64);
    slots[i].expires_ms = expires_ms;
    slots[i].owner = owner;
}

/* Live entries of owner (the caller holds the lock). */
static size_t owned_by(const struct srv_replay *r, uint64_t owner,
                       int64_t now_ms)
{
    size_t i, n = 0;

    for (i = 0; i < r->cap; i++)
        if (r->slots[i].expires_ms > now_ms && r->slots[i].owner == owner)
            n++;
    return n;
}

static void replay_grow(struct srv_replay *r, int64_t now_ms)
{
    struct replay_slot *old = r->slots;
    size_t old_cap = r->cap, i, live = 0;

    for (i = 0; i < old_cap; i++)
        if (old[i].expires_ms > now_ms)
            live++;
    /* Keep the same size when expiring entries made room enough. */
    if (live >= old_cap / 4)
        r->cap *= 2;
    r->slots = fld_xcalloc(r->cap, sizeof *r->slots);
    for (i = 0; i < old_cap; i++)
        if (old[i].expires_ms > now_ms)
            replay_insert(r->slots, r->cap, old[i].sig, old[i].expires_ms,
                          old[i].owner, now_ms);
    r->used = live;
    free(old);
}

int srv_replay_check(struct srv_replay *r, const uint8_t sig[64],
                     int64_t expires_ms, int64_t now_ms)
{
    return srv_replay_check_owned(r, sig, expires_ms, now_ms, 0, 0);
}

int srv_replay_check_owned(struct srv_replay *r, const uint8_t sig[64],
                           int64_t expires_ms, int64_t now_ms, uint64_t owner,
                           size_t per_owner)
{
    size_t i;
    int rc = FLD_OK;

    pthread_mutex_lock(&r->lock);
    /* Probe the whole run of slots used since they were last cleaned: an
     * expired slot in the middle does not end the run. */
    for (i = slot_of(sig, r->cap); r->slots[i].expires_ms != 0;
         i = (i + 1) & (r->cap - 1))
        if (r->slots[i].expires_ms > now_ms &&
            sodium_memcmp(r->slots[i].sig, sig, 64) == 0) {
            rc = FLD_EXISTS;
            goto out;
        }
    if (per_owner > 0 && owned_by(r, owner, now_ms) >= per_owner) {
        rc = FLD_EBUSY;
        goto out;
    }
    if (r->used + 1 > r->cap / 2 || r->used + 1 > r->max) {
        replay_grow(r, now_ms);
        if (r->used + 1 > r->max) {
            rc = FLD_ELIMIT;
            goto out;
        }
    }
    replay_insert(r->slots, r->cap, sig, expires_ms, owner, now_ms);
    r->used++;
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

void srv_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t a;

    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}
