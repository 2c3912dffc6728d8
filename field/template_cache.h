/*
 * template_cache.h - parsed templates shared by everything in one process,
 * keyed by the template's hash.
 *
 * Why: a template is named by the hash of its canonical bytes (template.h),
 * so a hash always means the same questions and rules, and parsing one is
 * the costly step of reading it: the 2021-2025 commune checklist is 119 kB
 * of JSON and about 400 expressions, some 2 ms to load. A command that
 * walks ten thousand records of it (`field export`), or a server checking
 * every pushed version, must parse it once, not once per record.
 *
 * The key is the template's hash plus, when the province's thresholds are
 * applied to it (thresholds.h), the hash of that signed revision: the same
 * template with other thresholds gives other verdicts, so it is another
 * entry. NULL (or "") stands for the template as published.
 *
 * Ownership and lifetime:
 *   - The cache owns every template in it. fld_template_cache_get() lends
 *     one, and the loan lasts until the matching
 *     fld_template_cache_release(): each successful get is paired with
 *     exactly one release, from any thread.
 *   - A lent template is shared and must not be changed (no
 *     fld_template_set_thresholds() on it): the pointer is const for that
 *     reason. A caller who needs to change one parses its own copy.
 *   - An entry nobody holds stays for the next get. Beyond
 *     FLD_TEMPLATE_CACHE_MAX entries the least recently used one that
 *     nobody holds is freed; entries that are held are never freed, so the
 *     cache holds at most MAX entries plus those lent out.
 *   - fld_template_cache_clear() frees every entry nobody holds (for
 *     tests, and for leak checkers at the end of a process).
 *
 * Threads: every function may be called from any thread. One mutex guards
 * the table; load() runs without it, so a slow parse does not stop other
 * threads' hits. Two threads missing the same key at once may both load,
 * and the second copy is freed: the template is parsed at most once per
 * thread that misses, and the cache keeps one.
 */
#ifndef FLD_TEMPLATE_CACHE_H
#define FLD_TEMPLATE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "template.h"

/* Entries kept when nobody holds them; a process meets a few templates. */
#define FLD_TEMPLATE_CACHE_MAX 32

/*
 * Make the template of the key, on a miss: parse it (and apply the
 * thresholds revision the key names). *out becomes the caller's; the
 * cache takes it over. Called without the cache's lock held.
 */
typedef int (*fld_template_load_fn)(void *ctx, struct fld_template **out,
                                    struct fld_err *err);

/*
 * The template whose canonical hash is template_hash (64 hex digits) with
 * the threshold revision thresholds_hash applied (NULL or "": none). On a
 * hit, the one kept; on a miss, load(ctx, ...) makes it and it is kept.
 * *out is lent until fld_template_cache_release(*out).
 *
 * Errors, with *out NULL and nothing kept: what load returns; FLD_ECORRUPT
 * when what load made has another hash than template_hash (a store that
 * keeps a template under a hash that is not its own); FLD_EINVAL when
 * template_hash is not 64 lowercase hex digits.
 */
int fld_template_cache_get(const char *template_hash,
                           const char *thresholds_hash,
                           fld_template_load_fn load, void *ctx,
                           const struct fld_template **out,
                           struct fld_err *err);

/* End one loan of t, which a get returned. t may be NULL. */
void fld_template_cache_release(const struct fld_template *t);

/* Free every entry nobody holds. */
void fld_template_cache_clear(void);

/* What the cache has done since the process started, for tests and
 * benchmarks. */
struct fld_template_cache_stats {
    size_t entries; /* kept now */
    size_t held;    /* of them, lent out now */
    uint64_t hits, misses;
};
void fld_template_cache_stats(struct fld_template_cache_stats *out);

#endif
