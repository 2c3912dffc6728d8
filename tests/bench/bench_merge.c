/*
 * bench_merge.c - how fast the merge (sync/merge.h) decides a record.
 *
 * Builds a realistic history: a commune checklist of 60 answers (54
 * scalars, 5 choice sets, a repeat group of households), four devices
 * editing on their own branches and now and then syncing, which makes a
 * version whose parents are all the heads, as `field resolve` does. Then
 * prints, each figure the best of several rounds:
 *   - the time to merge the record at 500 versions (and at 100, 2000),
 *   - merges per second of a 10-version record.
 * Signing the versions is not timed. Figures only: nothing here fails on
 * time.
 * Usage: bench_merge [N]   (default 500 versions for the long record)
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"
#include "buf.h"
#include "merge.h"
#include "version.h"

#define N_DEVICES 4
#define ROUNDS 7

struct hist {
    struct fld_version **v;
    size_t n;
    size_t tip[N_DEVICES];
    int64_t dseq[N_DEVICES];
    struct fld_key *keys[N_DEVICES];
    uint64_t rng;
};

static size_t pick(struct hist *h, size_t n)
{
    h->rng = h->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (size_t)((h->rng >> 33) % n);
}

static void die(const char *what, const struct fld_err *err)
{
    fprintf(stderr, "bench_merge: %s: %s\n", what, err->msg);
    exit(1);
}

static struct fld_json *first_answers(void)
{
    static const char *const waste[] = {"collected", "sorted"};
    struct fld_json *a = fld_json_object(), *arr;
    char name[32], text[64];
    size_t i;

    for (i = 0; i < 54; i++) {
        snprintf(name, sizeof name, "q%02zu", i);
        snprintf(text, sizeof text, "Đường trục xã đã bê tông hoá %zu", i);
        fld_json_set(a, name,
                     i % 3 ? fld_json_string(text) : fld_json_int((int64_t)i));
    }
    for (i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "m%zu", i);
        arr = fld_json_array();
        fld_json_append(arr, fld_json_string(waste[0]));
        fld_json_append(arr, fld_json_string(waste[1]));
        fld_json_set(a, name, arr);
    }
    return a;
}

/* One household of the repeat group. */
static struct fld_json *household(struct hist *h)
{
    struct fld_json *o = fld_json_object(), *arr = fld_json_array();

    fld_json_set(o, "hh_name", fld_json_string("Hộ ông Nguyễn Văn Bình"));
    fld_json_set(o, "hh_members", fld_json_int((int64_t)(1 + pick(h, 8))));
    fld_json_append(arr, fld_json_string(pick(h, 2) ? "latrine" : "water"));
    fld_json_set(o, "hh_has", arr);
    return o;
}

static void edit(struct hist *h, struct fld_json *a)
{
    struct fld_json *g = fld_json_get_mut(a, "households");
    char name[32], text[64];
    size_t k = pick(h, 10);

    if (k < 6) {
        snprintf(name, sizeof name, "q%02zu", pick(h, 54));
        snprintf(text, sizeof text, "sửa lần %zu", pick(h, 1000));
        fld_json_set(a, name, fld_json_string(text));
    } else if (k < 8) {
        struct fld_json *arr = fld_json_array();

        snprintf(name, sizeof name, "m%zu", pick(h, 5));
        fld_json_append(arr,
                        fld_json_string(pick(h, 2) ? "burned" : "collected"));
        fld_json_append(arr, fld_json_string("sorted"));
        fld_json_set(a, name, arr);
    } else {
        if (g == NULL) {
            fld_json_set(a, "households", fld_json_object());
            g = fld_json_get_mut(a, "households");
        }
        snprintf(name, sizeof name, "%016zx", pick(h, 8));
        if (fld_json_get(g, name) != NULL && pick(h, 4) == 0)
            fld_json_remove(g, name);
        else
            fld_json_set(g, name, household(h));
    }
}

static void add(struct hist *h, int dev, const size_t *par, size_t np,
                const struct fld_json *answers)
{
    const char *ph[64];
    struct fld_version_draft d;
    struct fld_err err;
    size_t i;

    for (i = 0; i < np; i++)
        ph[i] = h->v[par[i]]->hash;
    memset(&d, 0, sizeof d);
    d.record = "0193a1b2c3d47e5f8a9b0c1d2e3f4a5b";
    d.parents = ph;
    d.n_parents = np;
    d.dseq = ++h->dseq[dev];
    d.prev = d.dseq == 1 ? NULL : h->v[h->tip[dev]]->hash;
    d.hlc.ms = 1764288000000 + (int64_t)h->n * 60000 + (int64_t)pick(h, 90000);
    d.template_id = "ntm-xa";
    d.template_hash =
        "3333333333333333333333333333333333333333333333333333333333333333";
    d.subject = "42001";
    d.status = pick(h, 50) ? "draft" : "final";
    d.inspector = "Nguyễn Văn An";
    d.answers = answers;
    h->v = fld_xreallocarray(h->v, h->n + 1, sizeof *h->v);
    if (fld_version_sign(&d, h->keys[dev], &h->v[h->n], &err) != FLD_OK)
        die("sign", &err);
    h->tip[dev] = h->n++;
}

/* The heads of h, as syn_merge finds them, and their merged answers. */
static struct fld_json *merged_heads(struct hist *h, size_t *par, size_t *np)
{
    struct syn_merged *m;
    struct fld_json *a;
    struct fld_err err;
    size_t i, j;

    if (syn_merge(h->v, h->n, &m, &err) != FLD_OK)
        die("merge", &err);
    *np = 0;
    for (i = 0; i < m->n_heads && *np < 64; i++)
        for (j = 0; j < h->n; j++)
            if (strcmp(h->v[j]->hash, m->heads[i]) == 0)
                par[(*np)++] = j;
    a = fld_json_clone(m->answers);
    syn_merged_free(m);
    return a;
}

/*
 * A device's next version: usually an edit on its own branch (it is
 * offline); one time in five it syncs first, so the version's parents are
 * all the heads and its answers start from their merged state.
 */
static void step(struct hist *h)
{
    int dev = (int)pick(h, N_DEVICES);
    size_t par[64], np = 1, i, n_edits = 1 + pick(h, 3);
    struct fld_json *a;

    if (h->dseq[dev] == 0 || pick(h, 5) == 0) {
        a = merged_heads(h, par, &np);
    } else {
        par[0] = h->tip[dev];
        a = fld_json_clone(h->v[par[0]]->answers);
    }
    for (i = 0; i < n_edits; i++)
        edit(h, a);
    add(h, dev, par, np, a);
    fld_json_free(a);
}

static void build(struct hist *h, size_t n)
{
    struct fld_json *a = first_answers();
    uint8_t seed[32];
    int d;

    memset(h, 0, sizeof *h);
    h->rng = 42;
    for (d = 0; d < N_DEVICES; d++) {
        memset(seed, 0x10 * (d + 1), sizeof seed);
        if (fld_key_from_seed(seed, &h->keys[d], NULL) != FLD_OK)
            exit(1);
    }
    add(h, 0, NULL, 0, a);
    fld_json_free(a);
    while (h->n < n)
        step(h);
}

static void destroy(struct hist *h)
{
    size_t i;

    for (i = 0; i < h->n; i++)
        fld_version_free(h->v[i]);
    for (i = 0; i < N_DEVICES; i++)
        fld_key_free(h->keys[i]);
    free(h->v);
}

/* Seconds for one merge of every version of h, best of ROUNDS. */
static double time_merge(struct hist *h, size_t reps)
{
    double best = 1e9;
    struct fld_err err;
    int r;

    for (r = 0; r < ROUNDS; r++) {
        double t0 = now_s();
        size_t i;

        for (i = 0; i < reps; i++) {
            struct syn_merged *m;

            if (syn_merge(h->v, h->n, &m, &err) != FLD_OK)
                die("merge", &err);
            syn_merged_free(m);
        }
        if ((now_s() - t0) / (double)reps < best)
            best = (now_s() - t0) / (double)reps;
    }
    return best;
}

static void report_long(size_t n)
{
    struct hist h;
    struct syn_merged *m;
    size_t answers;

    build(&h, n);
    if (syn_merge(h.v, h.n, &m, NULL) != FLD_OK)
        exit(1);
    answers = m->answers->n;
    printf("merge, %zu versions (%zu heads, %zu conflicts, %zu answers): "
           "%.2f ms\n",
           n, m->n_heads, m->n_conflicts, answers, 1e3 * time_merge(&h, 5));
    syn_merged_free(m);
    destroy(&h);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 500;
    struct hist h;
    double t;

    if (sodium_init() < 0 || n < 2)
        return 1;
    report_long(n);
    if (argc == 1) {
        report_long(100);
        report_long(2000);
    }
    build(&h, 10);
    t = time_merge(&h, 2000);
    printf("merge, 10 versions: %.0f merges/s (%.1f us each)\n", 1.0 / t,
           1e6 * t);
    destroy(&h);
    return 0;
}
