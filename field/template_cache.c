/*
 * template_cache.c - parsed templates shared by everything in one process
 * (see template_cache.h for the contract).
 *
 * Where it sits: between whoever reads templates from a store (field's
 * cmd_load_template(), and any later caller: the server, sync) and the
 * parser (template.c). The caller says how to make a template; this file
 * only decides whether it must.
 *
 * A plain array searched in order: a process meets a handful of templates
 * (seven are built in), so a linear scan of 64-byte keys is cheaper than
 * any index, and a hit costs one lock and a few string comparisons. The
 * "last used" tick orders eviction; only entries nobody holds are freed,
 * so a pointer lent out stays valid until it is released whatever other
 * threads do.
 */
#include "template_cache.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "version.h"

struct entry {
    char hash[FLD_HASH_HEX_LEN + 1];       /* the template's */
    char thresholds[FLD_HASH_HEX_LEN + 1]; /* the revision's, "" for none */
    struct fld_template *t;
    size_t holds;       /* loans not yet released */
    uint64_t last_used; /* tick of the last get */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *entries;
static size_t n_entries, cap_entries;
static uint64_t tick, hits, misses;

/* The entry of this key, or NULL; with the lock held. */
static struct entry *find(const char *hash, const char *thresholds)
{
    size_t i;

    for (i = 0; i < n_entries; i++)
        if (strcmp(entries[i].hash, hash) == 0 &&
            strcmp(entries[i].thresholds, thresholds) == 0)
            return &entries[i];
    return NULL;
}

/* A loan of e; with the lock held. */
static const struct fld_template *lend(struct entry *e)
{
    e->holds++;
    e->last_used = ++tick;
    return e->t;
}

/* Free the least recently used entry nobody holds, if any; with the lock
 * held. */
static void evict_one(void)
{
    size_t i, victim = n_entries;

    for (i = 0; i < n_entries; i++)
        if (entries[i].holds == 0 &&
            (victim == n_entries ||
             entries[i].last_used < entries[victim].last_used))
            victim = i;
    if (victim == n_entries)
        return;
    fld_template_free(entries[victim].t);
    entries[victim] = entries[--n_entries];
}

/* Keep t under the key and lend it; with the lock held. */
static const struct fld_template *
insert(const char *hash, const char *thresholds, struct fld_template *t)
{
    struct entry *e;

    while (n_entries >= FLD_TEMPLATE_CACHE_MAX) {
        size_t before = n_entries;

        evict_one();
        if (n_entries == before)
            break; /* all held: grow past the bound rather than fail */
    }
    if (n_entries == cap_entries) {
        cap_entries = cap_entries ? 2 * cap_entries : 8;
        entries = fld_xreallocarray(entries, cap_entries, sizeof *entries);
    }
    e = &entries[n_entries++];
    memset(e, 0, sizeof *e);
    memcpy(e->hash, hash, FLD_HASH_HEX_LEN + 1);
    memcpy(e->thresholds, thresholds, strlen(thresholds) + 1);
    e->t = t;
    return lend(e);
}

int fld_template_cache_get(const char *template_hash,
                           const char *thresholds_hash,
                           fld_template_load_fn load, void *ctx,
                           const struct fld_template **out, struct fld_err *err)
{
    const char *th = thresholds_hash ? thresholds_hash : "";
    struct fld_template *made = NULL;
    struct entry *e;
    int rc;

    *out = NULL;
    if (!fld_is_hex(template_hash, FLD_HASH_HEX_LEN) ||
        (th[0] != '\0' && !fld_is_hex(th, FLD_HASH_HEX_LEN)))
        return fld_err_set(err, FLD_EINVAL,
                           "a template is cached by its hash and its "
                           "threshold revision's, 64 hex digits each");
    pthread_mutex_lock(&lock);
    if ((e = find(template_hash, th)) != NULL) {
        hits++;
        *out = lend(e);
    }
    pthread_mutex_unlock(&lock);
    if (*out != NULL)
        return FLD_OK;

    /* a miss: parse without the lock, so that other threads' hits go on */
    if ((rc = load(ctx, &made, err)) != FLD_OK) {
        fld_template_free(made);
        return rc;
    }
    if (strcmp(fld_template_hash(made), template_hash) != 0) {
        rc = fld_err_set(err, FLD_ECORRUPT,
                         "the template kept under hash %.16s has hash %.16s",
                         template_hash, fld_template_hash(made));
        fld_template_free(made);
        return rc;
    }
    pthread_mutex_lock(&lock);
    misses++;
    if ((e = find(template_hash, th)) != NULL) {
        *out = lend(e); /* another thread kept it meanwhile: use that one */
    } else {
        *out = insert(template_hash, th, made);
        made = NULL;
    }
    pthread_mutex_unlock(&lock);
    fld_template_free(made);
    return FLD_OK;
}

void fld_template_cache_release(const struct fld_template *t)
{
    bool found = false;
    size_t i;

    if (t == NULL)
        return;
    pthread_mutex_lock(&lock);
    for (i = 0; i < n_entries && !found; i++)
        if (entries[i].t == t) {
            assert(entries[i].holds > 0);
            entries[i].holds--;
            found = true;
        }
    pthread_mutex_unlock(&lock);
    assert(found); /* released twice, or never lent by the cache */
    (void)found;
}

void fld_template_cache_clear(void)
{
    size_t i = 0;

    pthread_mutex_lock(&lock);
    while (i < n_entries) {
        if (entries[i].holds == 0) {
            fld_template_free(entries[i].t);
            entries[i] = entries[--n_entries];
        } else {
            i++;
        }
    }
    if (n_entries == 0) {
        free(entries);
        entries = NULL;
        cap_entries = 0;
    }
    pthread_mutex_unlock(&lock);
}

void fld_template_cache_stats(struct fld_template_cache_stats *out)
{
    size_t i;

    pthread_mutex_lock(&lock);
    memset(out, 0, sizeof *out);
    out->entries = n_entries;
    for (i = 0; i < n_entries; i++)
        out->held += entries[i].holds > 0;
    out->hits = hits;
    out->misses = misses;
    pthread_mutex_unlock(&lock);
}
