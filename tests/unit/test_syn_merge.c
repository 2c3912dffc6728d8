/*
 * test_syn_merge.c - the merge of concurrent versions (sync/merge.h)
 * against DESIGN.md section 3.
 *
 * Three kinds of test:
 *   - a table of small histories, each with the answers, status and
 *     conflicts a person would expect (scalars, choice sets, repeat items,
 *     status moves, supervisors settling a conflict offline);
 *   - a second, deliberately naive implementation of the same rules
 *     (ancestors by depth-first search, frontiers straight from their
 *     definition, every merged state recomputed from scratch) compared
 *     with syn_merge() on thousands of random histories, in every delivery
 *     order for the small ones. Both print the same text (answers'
 *     canonical bytes, status, heads, conflicts with every candidate),
 *     which must be identical. A failing history prints its seed; replay
 *     it with SYN_MERGE_SEED=<seed>; SYN_MERGE_DAGS=<n> runs more;
 *   - a record of 500 versions from five devices, merged in two orders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "key.h"
#include "merge.h"
#include "testutil.h"
#include "version.h"

#define RECORD "0193a1b2c3d47e5f8a9b0c1d2e3f4a5b"
#define TEMPLATE_HASH                                                          \
    "3333333333333333333333333333333333333333333333333333333333333333"
#define N_DEVICES 5
#define DEFAULT_DAGS 5000

static struct fld_key *keys[N_DEVICES];
static const char *const inspectors[N_DEVICES] = {
    "Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", NULL, "Phạm Thị Dung"};

/* ---- histories -------------------------------------------------------- */

/* The versions of one record, and each device's chain (dseq, prev). */
struct hist {
    struct fld_version **v;
    size_t n, cap;
    int64_t dseq[N_DEVICES];
    char prev[N_DEVICES][FLD_HASH_HEX_LEN + 1];
};

static void hist_free(struct hist *h)
{
    size_t i;

    for (i = 0; i < h->n; i++)
        fld_version_free(h->v[i]);
    free(h->v);
    memset(h, 0, sizeof *h);
}

/* Sign a new version of device dev with parents h->v[par[0..np)]. */
static struct fld_version *hist_add(struct hist *h, int dev, const size_t *par,
                                    size_t np, int64_t ms, int64_t count,
                                    const char *status,
                                    const struct fld_json *answers)
{
    const char **ph = fld_xcalloc(np + 1, sizeof *ph);
    struct fld_version_draft d;
    struct fld_version *v;
    struct fld_err err;
    size_t i;

    for (i = 0; i < np; i++)
        ph[i] = h->v[par[i]]->hash;
    memset(&d, 0, sizeof d);
    d.record = RECORD;
    d.parents = ph;
    d.n_parents = np;
    d.dseq = ++h->dseq[dev];
    d.prev = d.dseq == 1 ? NULL : h->prev[dev];
    d.hlc.ms = ms;
    d.hlc.count = count;
    d.template_id = "field-demo";
    d.template_hash = TEMPLATE_HASH;
    d.subject = "42001";
    d.status = status;
    d.inspector = inspectors[dev];
    d.answers = answers;
    if (fld_version_sign(&d, keys[dev], &v, &err) != FLD_OK)
        fail_msg("sign: %s", err.msg);
    free(ph);
    memcpy(h->prev[dev], v->hash, sizeof h->prev[dev]);
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 16;
        h->v = fld_xreallocarray(h->v, h->cap, sizeof *h->v);
    }
    h->v[h->n++] = v;
    return v;
}

/* JSON written with single quotes, for readable tables. */
static struct fld_json *jq(const char *text)
{
    char *s = fld_xstrdup(text), *p;
    struct fld_json *j;
    struct fld_err err;

    for (p = s; *p != '\0'; p++)
        if (*p == '\'')
            *p = '"';
    if (fld_json_parse((const uint8_t *)s, strlen(s), &j, &err) != FLD_OK)
        fail_msg("bad test JSON %s: %s", text, err.msg);
    free(s);
    return j;
}

static void put_json(struct fld_buf *b, const struct fld_json *v)
{
    if (v == NULL)
        fld_buf_putc(b, '-');
    else
        assert_int_equal(fld_json_write(v, b, NULL), FLD_OK);
}

/* ---- the text both implementations print ------------------------------ */

static void d_state(struct fld_buf *b, const struct fld_json *answers,
                    const char *status, bool is_outdated)
{
    fld_buf_puts(b, "answers ");
    put_json(b, answers);
    fld_buf_printf(b, "\nstatus %s%s\n", status,
                   is_outdated ? " (review outdated)" : "");
}

static void d_candidate(struct fld_buf *b, const char *hash, struct fld_hlc hlc,
                        const struct fld_json *value)
{
    fld_buf_printf(b, " %.16s@%lld.%lld=", hash, (long long)hlc.ms,
                   (long long)hlc.count);
    put_json(b, value);
}

static char *describe(const struct syn_merged *r)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i, j;

    d_state(&b, r->answers, r->status, r->review_outdated);
    fld_buf_puts(&b, "heads");
    for (i = 0; i < r->n_heads; i++)
        fld_buf_printf(&b, " %.16s", r->heads[i]);
    fld_buf_printf(&b, "\nnewest %.16s\n", r->newest->hash);
    fld_buf_printf(&b, "review %.16s\n", r->review ? r->review->hash : "-");
    for (i = 0; i < r->n_conflicts; i++) {
        const struct syn_conflict *c = &r->conflicts[i];

        fld_buf_printf(&b, "conflict %s:", c->path);
        for (j = 0; j < c->n_candidates; j++)
            d_candidate(&b, c->candidates[j].version, c->candidates[j].hlc,
                        c->candidates[j].value);
        fld_buf_putc(&b, '\n');
    }
    return fld_buf_detach(&b, NULL);
}

static char *merge_text(struct fld_version *const *v, size_t n)
{
    struct syn_merged *r;
    struct fld_err err;
    char *s;

    if (syn_merge(v, n, &r, &err) != FLD_OK)
        fail_msg("syn_merge: %s", err.msg);
    s = describe(r);
    syn_merged_free(r);
    return s;
}

/* ---- the table -------------------------------------------------------- */

struct spec {
    char name;
    const char *parents; /* names */
    int dev;
    int64_t ms;
    const char *status;
    const char *answers; /* single-quoted JSON */
};

struct mcase {
    const char *title;
    struct spec v[8];
    const char *answers; /* expected, canonical, single-quoted */
    const char *status;
    bool is_outdated;
    const char *conflicts; /* "path=W(value),L(-);path2=..." newest first */
};

/* The histories read as a table, one version per brace. */
/* clang-format off */
#define BASE {'P', "", 0, 1000, "draft", "{'a':'x','b':'y'}"}
#define CBASE {'P', "", 0, 1000, "draft", "{'m':['c0','c1']}"}
#define GBASE {'P', "", 0, 1000, "draft", "{'g':{'i1':{'f':1,'h':'x'}}}"}
#define FBASE {'P', "", 0, 1000, "final", "{'a':'x'}"}

static const struct mcase cases[] = {
    {"scalar: changed on one side",
     {BASE, {'A', "P", 1, 1001, "draft", "{'a':'z','b':'y'}"},
      {'B', "P", 2, 1002, "draft", "{'a':'x','b':'y','c':1}"}},
     "{'a':'z','b':'y','c':1}", "draft", false, ""},
    {"scalar: both sides the same",
     {BASE, {'A', "P", 1, 1001, "draft", "{'a':'z','b':'y'}"},
      {'B', "P", 2, 1002, "draft", "{'a':'z','b':'y'}"}},
     "{'a':'z','b':'y'}", "draft", false, ""},
    {"scalar: both sides differ, the newer shown",
     {BASE, {'A', "P", 1, 1001, "draft", "{'a':'z','b':'y'}"},
      {'B', "P", 2, 1002, "draft", "{'a':'w','b':'y'}"}},
     "{'a':'w','b':'y'}", "draft", false, "a=B('w'),A('z')"},
    {"scalar: removed on one side, unchanged on the other",
     {BASE, {'A', "P", 1, 1001, "draft", "{'b':'y'}"},
      {'B', "P", 2, 1002, "draft", "{'a':'x','b':'y','c':1}"}},
     "{'b':'y','c':1}", "draft", false, ""},
    {"scalar: removed on one side, changed on the other",
     {BASE, {'A', "P", 1, 1003, "draft", "{'b':'y'}"},
      {'B', "P", 2, 1002, "draft", "{'a':'w','b':'y'}"}},
     "{'b':'y'}", "draft", false, "a=A(-),B('w')"},
    {"scalar: ABA on one branch, unchanged on the other",
     {BASE, {'A', "P", 1, 1001, "draft", "{'a':'z','b':'y'}"},
      {'C', "A", 1, 1003, "draft", "{'a':'x','b':'y'}"},
      {'B', "P", 2, 1002, "draft", "{'a':'x','b':'q'}"}},
     "{'a':'x','b':'q'}", "draft", false, ""},
    {"scalar: ABA on one branch, changed on the other",
     {BASE, {'A', "P", 1, 1001, "draft", "{'a':'z','b':'y'}"},
      {'C', "A", 1, 1003, "draft", "{'a':'x','b':'y'}"},
      {'B', "P", 2, 1002, "draft", "{'a':'w','b':'y'}"}},
     "{'a':'x','b':'y'}", "draft", false, "a=C('x'),B('w')"},
    {"scalar: a wrong clock does not beat causality",
     {BASE, {'A', "P", 1, 9999, "draft", "{'a':'z','b':'y'}"},
      {'C', "A", 2, 1001, "draft", "{'a':'w','b':'y'}"}},
     "{'a':'w','b':'y'}", "draft", false, ""},
    {"choices: added on both sides",
     {CBASE, {'A', "P", 1, 1001, "draft", "{'m':['c0','c1','c2']}"},
      {'B', "P", 2, 1002, "draft", "{'m':['c0','c1','c3']}"}},
     "{'m':['c0','c1','c2','c3']}", "draft", false, ""},
    {"choices: added on one side, removed on the other",
     {CBASE, {'A', "P", 1, 1001, "draft", "{'m':['c0','c1','c2']}"},
      {'B', "P", 2, 1002, "draft", "{'m':['c1']}"}},
     "{'m':['c1','c2']}", "draft", false, ""},
    {"choices: the same choice toggled on both sides",
     {CBASE, {'A', "P", 1, 1001, "draft", "{'m':['c1']}"},
      {'B', "P", 2, 1002, "draft", "{'m':['c1']}"}},
     "{'m':['c1']}", "draft", false, ""},
    {"choices: all removed on one side",
     {CBASE, {'A', "P", 1, 1001, "draft", "{}"},
      {'B', "P", 2, 1002, "draft", "{'m':['c0','c1'],'z':1}"}},
     "{'z':1}", "draft", false, ""},
    {"choices: toggled on and off on one side, another added on the other",
     {CBASE, {'A', "P", 1, 1001, "draft", "{'m':['c0','c1','c2']}"},
      {'C', "A", 1, 1003, "draft", "{'m':['c0','c1']}"},
      {'B', "P", 2, 1002, "draft", "{'m':['c0','c1','c3']}"}},
     "{'m':['c0','c1','c3']}", "draft", false, ""},
    {"choices: removed after seeing it added, added again concurrently",
     {CBASE, {'A', "P", 1, 1001, "draft", "{'m':['c0','c1','c2']}"},
      {'C', "A", 1, 1003, "draft", "{'m':['c0','c1']}"},
      {'B', "P", 2, 1002, "draft", "{'m':['c0','c1','c2']}"}},
     "{'m':['c0','c1']}", "draft", false, "m/c2=C(-),B('c2')"},
    {"repeat: items added on both sides",
     {GBASE, {'A', "P", 1, 1001, "draft", "{'g':{'i1':{'f':1,'h':'x'},'i2':{'f':2}}}"},
      {'B', "P", 2, 1002, "draft", "{'g':{'i1':{'f':1,'h':'x'},'i3':{'f':3}}}"}},
     "{'g':{'i1':{'f':1,'h':'x'},'i2':{'f':2},'i3':{'f':3}}}", "draft", false, ""},
    {"repeat: deleted on one side, edited on the other (edit newer)",
     {GBASE, {'A', "P", 1, 1001, "draft", "{'g':{}}"},
      {'B', "P", 2, 1002, "draft", "{'g':{'i1':{'f':2,'h':'x'}}}"}},
     "{'g':{'i1':{'f':2,'h':'x'}}}", "draft", false,
     "g/i1=B({'f':2,'h':'x'}),A(-)"},
    {"repeat: deleted on one side, edited on the other (deletion newer)",
     {GBASE, {'A', "P", 1, 1003, "draft", "{'g':{}}"},
      {'B', "P", 2, 1002, "draft", "{'g':{'i1':{'f':2,'h':'x'}}}"}},
     "{}", "draft", false, "g/i1=A(-),B({'f':2,'h':'x'})"},
    {"repeat: deleted on both sides",
     {GBASE, {'A', "P", 1, 1001, "draft", "{'g':{}}"},
      {'B', "P", 2, 1002, "draft", "{}"}},
     "{}", "draft", false, ""},
    {"repeat: different fields of one item edited",
     {GBASE, {'A', "P", 1, 1001, "draft", "{'g':{'i1':{'f':2,'h':'x'}}}"},
      {'B', "P", 2, 1002, "draft", "{'g':{'i1':{'f':1,'h':'z'}}}"}},
     "{'g':{'i1':{'f':2,'h':'z'}}}", "draft", false, ""},
    {"repeat: one field of one item edited differently",
     {GBASE, {'A', "P", 1, 1001, "draft", "{'g':{'i1':{'f':2,'h':'x'}}}"},
      {'B', "P", 2, 1002, "draft", "{'g':{'i1':{'f':3,'h':'x'}}}"}},
     "{'g':{'i1':{'f':3,'h':'x'}}}", "draft", false, "g/i1/f=B(3),A(2)"},
    {"status: draft and final concurrent",
     {BASE, {'A', "P", 1, 1001, "final", "{'a':'x','b':'y'}"},
      {'B', "P", 2, 1002, "draft", "{'a':'z','b':'y'}"}},
     "{'a':'z','b':'y'}", "final", false, ""},
    {"status: approved against rejected",
     {FBASE, {'A', "P", 1, 1001, "approved", "{'a':'x'}"},
      {'B', "P", 2, 1002, "rejected", "{'a':'x'}"}},
     "{'a':'x'}", "rejected", false, "status=B('rejected'),A('approved')"},
    {"status: approved against returned",
     {FBASE, {'A', "P", 1, 1001, "approved", "{'a':'x'}"},
      {'B', "P", 2, 1002, "returned", "{'a':'x'}"}},
     "{'a':'x'}", "returned", false, "status=B('returned'),A('approved')"},
    {"status: returned, then corrected as a draft",
     {FBASE, {'A', "P", 1, 1001, "returned", "{'a':'x'}"},
      {'B', "A", 2, 1002, "draft", "{'a':'y'}"}},
     "{'a':'y'}", "draft", false, ""},
    {"status: approval concurrent with an edit",
     {FBASE, {'A', "P", 1, 1003, "approved", "{'a':'x'}"},
      {'B', "P", 2, 1002, "final", "{'a':'z'}"}},
     "{'a':'z'}", "final", true, ""},
    {"status: rejection concurrent with an edit",
     {FBASE, {'A', "P", 1, 1001, "rejected", "{'a':'x'}"},
      {'B', "P", 2, 1002, "final", "{'a':'x','n':1}"}},
     "{'a':'x','n':1}", "final", true, ""},
    {"status: approval concurrent with a status change only",
     {FBASE, {'A', "P", 1, 1001, "approved", "{'a':'x'}"},
      {'B', "P", 2, 1002, "draft", "{'a':'x'}"}},
     "{'a':'x'}", "approved", false, ""},
    {"status: approved again after the outdated review",
     {FBASE, {'A', "P", 1, 1001, "approved", "{'a':'x'}"},
      {'B', "P", 2, 1002, "final", "{'a':'z'}"},
      {'C', "AB", 1, 1003, "approved", "{'a':'z'}"}},
     "{'a':'z'}", "approved", false, ""},
    {"status: an outdated review settled by a later edit",
     {FBASE, {'A', "P", 1, 1001, "approved", "{'a':'x'}"},
      {'B', "P", 2, 1002, "final", "{'a':'z'}"},
      {'C', "AB", 2, 1003, "final", "{'a':'z','b':1}"}},
     "{'a':'z','b':1}", "final", false, ""},
    {"status: approval of an edit it saw",
     {FBASE, {'B', "P", 2, 1001, "final", "{'a':'z'}"},
      {'A', "B", 1, 1002, "approved", "{'a':'z'}"}},
     "{'a':'z'}", "approved", false, ""},
    {"status: reopened after approval",
     {FBASE, {'A', "P", 1, 1001, "approved", "{'a':'x'}"},
      {'C', "A", 2, 1002, "draft", "{'a':'x'}"}},
     "{'a':'x'}", "draft", false, ""},
    {"supervisors: the same conflict settled alike offline",
     {BASE, {'A', "P", 1, 1001, "draft", "{'a':'z','b':'y'}"},
      {'B', "P", 2, 1002, "draft", "{'a':'w','b':'y'}"},
      {'S', "AB", 3, 1003, "draft", "{'a':'z','b':'y'}"},
      {'T', "AB", 4, 1004, "draft", "{'a':'z','b':'y'}"}},
     "{'a':'z','b':'y'}", "draft", false, ""},
    {"supervisors: the same conflict settled differently offline",
     {BASE, {'A', "P", 1, 1001, "draft", "{'a':'z','b':'y'}"},
      {'B', "P", 2, 1002, "draft", "{'a':'w','b':'y'}"},
      {'S', "AB", 3, 1003, "draft", "{'a':'z','b':'y'}"},
      {'T', "AB", 4, 1004, "draft", "{'a':'w','b':'y'}"}},
     "{'a':'w','b':'y'}", "draft", false, "a=T('w'),S('z')"},
    {"supervisors: keeping the shown value settles the conflict",
     {BASE, {'A', "P", 1, 1001, "draft", "{'a':'z','b':'y'}"},
      {'B', "P", 2, 1002, "draft", "{'a':'w','b':'y'}"},
      {'S', "AB", 3, 1000, "draft", "{'a':'w','b':'y'}"},
      {'C', "A", 1, 1005, "draft", "{'a':'z','b':'y'}"}},
     "{'a':'w','b':'y'}", "draft", false, ""},
    {"one version: empty groups and empty choice sets are left out",
     {{'P', "", 0, 1000, "draft", "{'a':'x','g':{},'m':[],'k':{'i1':{}}}"}},
     "{'a':'x','k':{'i1':{}}}", "draft", false, ""},
};
/* clang-format on */

static size_t spec_index(const struct mcase *c, char name)
{
    size_t i;

    for (i = 0; i < 8 && c->v[i].name != 0; i++)
        if (c->v[i].name == name)
            return i;
    fail_msg("%s: no version %c", c->title, name);
    return 0;
}

static char name_of(const struct mcase *c, const struct hist *h,
                    const char *hash)
{
    size_t i;

    for (i = 0; i < h->n; i++)
        if (strcmp(h->v[i]->hash, hash) == 0)
            return c->v[i].name;
    return '?';
}

/* The conflicts as the table writes them, with version names. */
static char *named_conflicts(const struct mcase *c, const struct hist *h,
                             const struct syn_merged *r)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i, j;

    fld_buf_puts(&b, ""); /* "" rather than NULL when there are none */
    for (i = 0; i < r->n_conflicts; i++) {
        fld_buf_printf(&b, "%s%s=", i ? ";" : "", r->conflicts[i].path);
        for (j = 0; j < r->conflicts[i].n_candidates; j++) {
            const struct syn_candidate *x = &r->conflicts[i].candidates[j];

            fld_buf_printf(&b, "%s%c(", j ? "," : "",
                           name_of(c, h, x->version));
            put_json(&b, x->value);
            fld_buf_putc(&b, ')');
        }
    }
    return fld_buf_detach(&b, NULL);
}

static void build_case(const struct mcase *c, struct hist *h)
{
    size_t i, j;

    memset(h, 0, sizeof *h);
    for (i = 0; i < 8 && c->v[i].name != 0; i++) {
        const struct spec *s = &c->v[i];
        size_t par[8], np = strlen(s->parents);
        struct fld_json *a = jq(s->answers);

        for (j = 0; j < np; j++)
            par[j] = spec_index(c, s->parents[j]);
        hist_add(h, s->dev, par, np, s->ms, 0, s->status, a);
        fld_json_free(a);
    }
}

static void check_case(const struct mcase *c, struct fld_version **v, size_t n,
                       const struct hist *h)
{
    struct syn_merged *r;
    struct fld_buf got = FLD_BUF_INIT;
    struct fld_json *want = jq(c->answers);
    char *conf, *expect_conf = fld_xstrdup(c->conflicts), *p;

    for (p = expect_conf; *p != '\0'; p++)
        if (*p == '\'')
            *p = '"';
    assert_int_equal(syn_merge(v, n, &r, NULL), FLD_OK);
    put_json(&got, r->answers);
    conf = named_conflicts(c, h, r);
    if (!fld_json_equal(r->answers, want) ||
        strcmp(r->status, c->status) != 0 ||
        r->review_outdated != c->is_outdated || strcmp(conf, expect_conf) != 0)
        fail_msg(
            "%s:\n  got  %s status %s%s conflicts %s\n  want %s status %s%s "
            "conflicts %s",
            c->title, fld_buf_str(&got), r->status,
            r->review_outdated ? " (outdated)" : "", conf, c->answers,
            c->status, c->is_outdated ? " (outdated)" : "", expect_conf);
    syn_merged_free(r);
    fld_buf_free(&got);
    fld_json_free(want);
    free(conf);
    free(expect_conf);
}

static void test_matrix(void **state)
{
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hist h;
        struct fld_version **rev;

        build_case(&cases[i], &h);
        check_case(&cases[i], h.v, h.n, &h);
        rev = fld_xcalloc(h.n, sizeof *rev);
        for (j = 0; j < h.n; j++)
            rev[j] = h.v[h.n - 1 - j];
        check_case(&cases[i], rev, h.n, &h);
        free(rev);
        hist_free(&h);
    }
}

/* The candidates carry who, when and which version; ties in hlc go to the
 * greater hash. */
static void test_candidates(void **state)
{
    struct hist h;
    struct fld_json *a = jq("{'a':'x'}"), *b = jq("{'a':'y'}"),
                    *c = jq("{'a':'z'}");
    struct syn_merged *r;
    const struct syn_candidate *x;
    size_t root = 0;
    char author[65];

    (void)state;
    memset(&h, 0, sizeof h);
    hist_add(&h, 0, NULL, 0, 1000, 0, "draft", a);
    hist_add(&h, 1, &root, 1, 1001, 7, "draft", b);
    hist_add(&h, 3, &root, 1, 1001, 7, "draft", c);
    assert_int_equal(syn_merge(h.v, h.n, &r, NULL), FLD_OK);
    assert_int_equal(r->n_conflicts, 1);
    assert_int_equal(r->conflicts[0].n_candidates, 2);
    x = &r->conflicts[0].candidates[0];
    assert_true(strcmp(x->version, r->conflicts[0].candidates[1].version) > 0);
    assert_true(fld_json_equal(fld_json_get(r->answers, "a"), x->value));
    assert_int_equal(x->hlc.ms, 1001);
    assert_int_equal(x->hlc.count, 7);
    if (strcmp(x->version, h.v[1]->hash) == 0) {
        fld_key_public_hex(keys[1], author);
        assert_string_equal(x->inspector, inspectors[1]);
        assert_null(r->conflicts[0].candidates[1].inspector);
    } else {
        fld_key_public_hex(keys[3], author);
        assert_null(x->inspector);
    }
    assert_string_equal(x->author, author);
    assert_int_equal(r->n_heads, 2);
    assert_true(strcmp(r->heads[0], r->heads[1]) < 0);
    assert_string_equal(r->newest->hash, x->version);
    syn_merged_free(r);
    fld_json_free(a);
    fld_json_free(b);
    fld_json_free(c);
    hist_free(&h);
}

/*
 * Clocks from the future (merge.h, syn_merge_at). A tablet whose clock ran
 * ten years ahead edits concurrently with a correct one: with the bound,
 * the correct value is shown first, the correct head is the newest and the
 * correct decision the latest; without it (syn_merge) the 2035 stamp won,
 * which is what the issue saw. Causality still beats every clock: an edit
 * made after the wrong one, stamped at real time (earlier than 2035),
 * supersedes it. And the result does not depend on delivery order.
 */
static void test_clock_from_the_future(void **state)
{
    const int64_t now = 1764288000000;    /* 2025-11-28 */
    const int64_t future = 2079993600000; /* 2035-11-30 */
    const int64_t bound = now + 300000;
    struct fld_json *a = jq("{'a':'x'}"), *good = jq("{'a':'good'}"),
                    *bad = jq("{'a':'from 2035'}"),
                    *fixed = jq("{'a':'later'}");
    struct fld_version *rev[4];
    struct syn_merged *r;
    struct hist h;
    size_t root = 0, both[2] = {1, 2}, ahead = 2;

    (void)state;
    memset(&h, 0, sizeof h);
    hist_add(&h, 0, NULL, 0, now - 5000, 0, "draft", a);
    hist_add(&h, 1, &root, 1, now - 1000, 0, "final", good);
    hist_add(&h, 2, &root, 1, future, 0, "final", bad);

    assert_int_equal(syn_merge(h.v, h.n, &r, NULL), FLD_OK);
    assert_string_equal(r->newest->hash, h.v[2]->hash); /* the old way */
    syn_merged_free(r);

    assert_int_equal(syn_merge_at(h.v, h.n, bound, &r, NULL), FLD_OK);
    assert_int_equal(r->n_conflicts, 1);
    assert_string_equal(fld_json_get(r->answers, "a")->s, "good");
    assert_string_equal(r->conflicts[0].candidates[0].version, h.v[1]->hash);
    assert_string_equal(r->conflicts[0].candidates[1].version, h.v[2]->hash);
    assert_string_equal(r->newest->hash, h.v[1]->hash);
    syn_merged_free(r);

    /* the same set in another order: the same state */
    rev[0] = h.v[2];
    rev[1] = h.v[0];
    rev[2] = h.v[1];
    assert_int_equal(syn_merge_at(rev, 3, bound, &r, NULL), FLD_OK);
    assert_string_equal(fld_json_get(r->answers, "a")->s, "good");
    assert_string_equal(r->newest->hash, h.v[1]->hash);
    syn_merged_free(r);

    /* two decisions, one from the future: the correct one is the latest */
    hist_add(&h, 3, both, 2, now, 0, "approved", good);
    hist_add(&h, 4, both, 2, future + 1, 0, "rejected", good);
    assert_int_equal(syn_merge_at(h.v, h.n, bound, &r, NULL), FLD_OK);
    assert_non_null(r->review);
    assert_string_equal(r->review->hash, h.v[3]->hash);
    syn_merged_free(r);
    h.n -= 2; /* set the decisions aside (freed with the history) */
    fld_version_free(h.v[h.n]);
    fld_version_free(h.v[h.n + 1]);

    /* the tablet, its clock fixed, edits after its wrong version: a child
     * stamped earlier than its parent still supersedes it */
    hist_add(&h, 2, &ahead, 1, now + 1000, 0, "final", fixed);
    assert_int_equal(syn_merge_at(h.v, h.n, bound, &r, NULL), FLD_OK);
    assert_int_equal(r->n_conflicts, 1); /* "good" and "later" concurrent */
    assert_string_equal(fld_json_get(r->answers, "a")->s, "later");
    assert_string_equal(r->newest->hash, h.v[3]->hash);
    syn_merged_free(r);

    fld_json_free(a);
    fld_json_free(good);
    fld_json_free(bad);
    fld_json_free(fixed);
    hist_free(&h);
}

static void test_refusals(void **state)
{
    struct hist h, other;
    struct fld_json *a = jq("{'a':'x'}");
    struct fld_version *two[2];
    struct syn_merged *r = (struct syn_merged *)&r;
    struct fld_err err;
    size_t root = 0;
    char *once, *twice;

    (void)state;
    memset(&h, 0, sizeof h);
    hist_add(&h, 0, NULL, 0, 1000, 0, "draft", a);
    hist_add(&h, 1, &root, 1, 1001, 0, "final", a);

    assert_int_equal(syn_merge(h.v, 0, &r, &err), FLD_EINVAL);
    assert_null(r);
    assert_int_equal(syn_merge(h.v + 1, 1, &r, &err), FLD_EINVAL);
    assert_non_null(strstr(err.msg, "missing"));
    assert_null(r);

    /* another record */
    memset(&other, 0, sizeof other);
    {
        struct fld_version_draft d;
        struct fld_version *v;

        memset(&d, 0, sizeof d);
        d.record = "0193a1b2c3d47e5f8a9b0c1d2e3f4a5c";
        d.dseq = 1;
        d.template_id = "field-demo";
        d.template_hash = TEMPLATE_HASH;
        d.subject = "42001";
        d.status = "draft";
        d.answers = a;
        assert_int_equal(fld_version_sign(&d, keys[0], &v, NULL), FLD_OK);
        two[0] = h.v[0];
        two[1] = v;
        assert_int_equal(syn_merge(two, 2, &r, &err), FLD_EINVAL);
        assert_non_null(strstr(err.msg, "two records"));
        fld_version_free(v);
    }

    /* a version given twice counts once */
    once = merge_text(h.v, 2);
    {
        struct fld_version *three[3] = {h.v[1], h.v[0], h.v[1]};

        twice = merge_text(three, 3);
    }
    assert_string_equal(once, twice);
    free(once);
    free(twice);
    fld_json_free(a);
    hist_free(&h);
}

/* ---- the naive implementation ----------------------------------------- */

/*
 * Everything here follows the words of DESIGN.md section 3 as directly as
 * possible and shares no code with merge.c: versions are taken in the
 * order given, ancestors are found by depth-first search, paths are
 * strings, values compare as canonical bytes, and the merged state of a
 * version's parents is recomputed from the writers among its ancestors
 * every time it is needed.
 */
enum { NK_SCALAR = 1, NK_CHOICE, NK_ITEM, NK_FIELD, NK_FCHOICE };

#define NCOMP 96

struct nentry {
    char key[4 * NCOMP]; /* kind digit, then components joined by '\x1f' */
    int kind;
    char comp[4][NCOMP];
    char *eq;                    /* bytes compared for equality */
    const struct fld_json *show; /* what a candidate shows */
};

struct npath {
    struct nentry e; /* the first seen; eq/show unused */
    int item;        /* fields: index of the item's own path */
};

struct naive {
    size_t n;
    struct fld_version *const *v;
    bool *anc; /* anc[i*n+j]: j is a strict ancestor of i */
    struct npath *paths;
    size_t n_paths;
    char **eq;                    /* [i*n_paths+p], NULL when absent */
    const struct fld_json **show; /* [i*n_paths+p] */
    bool *wr;                     /* [i*n_paths+p] */
    bool *wr_status;
    bool *changer;
    int *status;
};

static const char *const status_names[] = {"",         "draft",    "final",
                                           "approved", "rejected", "returned"};
#define N_STATUS 6
#define DECISION 3 /* ranks from here on are decisions */

static int status_rank(const char *s)
{
    const char *const *names = status_names;
    int i;

    for (i = 1; i < N_STATUS; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    fail_msg("status %s", s);
    return 0;
}

static const char *status_str(int r)
{
    return status_names[r];
}

static void dfs(struct naive *nv, size_t from, size_t at)
{
    const struct fld_json *ps = nv->v[at]->parents;
    size_t i, j;

    for (i = 0; i < ps->n; i++)
        for (j = 0; j < nv->n; j++)
            if (strcmp(nv->v[j]->hash, ps->items[i]->s) == 0 &&
                !nv->anc[from * nv->n + j]) {
                nv->anc[from * nv->n + j] = true;
                dfs(nv, from, j);
            }
}

static bool is_anc(const struct naive *nv, size_t i, size_t j)
{
    return nv->anc[i * nv->n + j];
}

struct nlist {
    struct nentry *e;
    size_t n, cap;
};

static void nadd(struct nlist *l, int kind, const char *const *comp, int n_comp,
                 char *eq, const struct fld_json *show)
{
    struct nentry *e;
    int i;

    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        l->e = fld_xreallocarray(l->e, l->cap, sizeof *l->e);
    }
    e = &l->e[l->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    snprintf(e->key, sizeof e->key, "%d", kind);
    for (i = 0; i < n_comp; i++) {
        size_t len = strlen(e->key);

        assert_true(strlen(comp[i]) < NCOMP);
        snprintf(e->comp[i], sizeof e->comp[i], "%s", comp[i]);
        snprintf(e->key + len, sizeof e->key - len, "\x1f%s", comp[i]);
    }
    e->eq = eq;
    e->show = show;
}

static char *canonical(const struct fld_json *v)
{
    struct fld_buf b = FLD_BUF_INIT;

    put_json(&b, v);
    return fld_buf_detach(&b, NULL);
}

static void nflat_answer(struct nlist *l, int kind, const char **comp,
                         int n_comp, const struct fld_json *y)
{
    size_t i;

    if (y->type != FLD_JSON_ARRAY) {
        nadd(l, kind, comp, n_comp, canonical(y), y);
        return;
    }
    for (i = 0; i < y->n; i++) {
        comp[n_comp] = y->items[i]->s;
        nadd(l, kind + 1, comp, n_comp + 1, fld_xstrdup("present"),
             y->items[i]);
    }
}

static void nflatten(const struct fld_json *a, struct nlist *l)
{
    const char *comp[4];
    size_t i, j, k;

    for (i = 0; i < a->n; i++) {
        const struct fld_json *x = a->members[i].value;

        comp[0] = a->members[i].key;
        if (x->type != FLD_JSON_OBJECT) {
            nflat_answer(l, NK_SCALAR, comp, 1, x);
            continue;
        }
        for (j = 0; j < x->n; j++) {
            const struct fld_json *item = x->members[j].value;

            comp[1] = x->members[j].key;
            nadd(l, NK_ITEM, comp, 2, fld_xstrdup("present"), item);
            for (k = 0; k < item->n; k++) {
                comp[2] = item->members[k].key;
                nflat_answer(l, NK_FIELD, comp, 3, item->members[k].value);
            }
        }
    }
}

static int nfind_path(const struct naive *nv, const char *key)
{
    size_t p;

    for (p = 0; p < nv->n_paths; p++)
        if (strcmp(nv->paths[p].e.key, key) == 0)
            return (int)p;
    return -1;
}

static void nbuild_paths(struct naive *nv)
{
    struct nlist *lists = fld_xcalloc(nv->n, sizeof *lists);
    size_t i, j, p;

    for (i = 0; i < nv->n; i++) {
        nflatten(nv->v[i]->answers, &lists[i]);
        for (j = 0; j < lists[i].n; j++)
            if (nfind_path(nv, lists[i].e[j].key) < 0) {
                nv->paths = fld_xreallocarray(nv->paths, nv->n_paths + 1,
                                              sizeof *nv->paths);
                nv->paths[nv->n_paths].e = lists[i].e[j];
                nv->paths[nv->n_paths].e.eq = NULL;
                nv->paths[nv->n_paths++].item = -1;
            }
    }
    for (p = 0; p < nv->n_paths; p++) {
        struct npath *np = &nv->paths[p];

        if (np->e.kind == NK_FIELD || np->e.kind == NK_FCHOICE) {
            char key[4 * NCOMP];

            snprintf(key, sizeof key, "%d\x1f%s\x1f%s", NK_ITEM, np->e.comp[0],
                     np->e.comp[1]);
            np->item = nfind_path(nv, key);
            assert_true(np->item >= 0);
        }
    }
    nv->eq = fld_xcalloc(nv->n * nv->n_paths + 1, sizeof *nv->eq);
    nv->show = fld_xcalloc(nv->n * nv->n_paths + 1, sizeof *nv->show);
    for (i = 0; i < nv->n; i++) {
        for (j = 0; j < lists[i].n; j++) {
            size_t at =
                i * nv->n_paths + (size_t)nfind_path(nv, lists[i].e[j].key);

            free(nv->eq[at]); /* a choice listed twice */
            nv->eq[at] = lists[i].e[j].eq;
            nv->show[at] = lists[i].e[j].show;
        }
        free(lists[i].e);
    }
    free(lists);
}

static bool nwrites(const struct naive *nv, size_t i, int p)
{
    return p < 0 ? nv->wr_status[i] : nv->wr[i * nv->n_paths + (size_t)p];
}

static bool streq0(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* The writers of p (status when p < 0) in set that are not ancestors of
 * another writer of p in set: the frontier, by its definition. */
static size_t nfrontier(const struct naive *nv, const bool *set, int p,
                        size_t *f)
{
    size_t i, j, k = 0;

    for (i = 0; i < nv->n; i++) {
        bool is_max = set[i] && nwrites(nv, i, p);

        for (j = 0; j < nv->n && is_max; j++)
            if (j != i && set[j] && nwrites(nv, j, p) && is_anc(nv, j, i))
                is_max = false;
        if (is_max)
            f[k++] = i;
    }
    return k;
}

static const char *neq(const struct naive *nv, size_t i, int p)
{
    return nv->eq[i * nv->n_paths + (size_t)p];
}

static bool ndistinct(const struct naive *nv, const size_t *f, size_t k, int p)
{
    size_t i;

    for (i = 1; i < k; i++)
        if (!streq0(neq(nv, f[i], p), neq(nv, f[0], p)))
            return true;
    return false;
}

static bool nnewer(const struct naive *nv, size_t a, size_t b)
{
    int c = fld_hlc_cmp(&nv->v[a]->hlc, &nv->v[b]->hlc);

    return c != 0 ? c > 0 : strcmp(nv->v[a]->hash, nv->v[b]->hash) > 0;
}

struct nstatus {
    int shown;
    bool is_conflict, is_outdated;
};

static struct nstatus nview_status(const struct naive *nv, const bool *set,
                                   const size_t *f, size_t k)
{
    struct nstatus s = {0, false, false};
    size_t i, e, best = SIZE_MAX;
    bool seen[N_STATUS] = {false};
    int n_decisions = 0;

    for (i = 0; i < k; i++) {
        int r = nv->status[f[i]];

        if (r < DECISION) {
            s.shown = r > s.shown ? r : s.shown;
            continue;
        }
        n_decisions += !seen[r];
        seen[r] = true;
        if (best == SIZE_MAX || nnewer(nv, f[i], best))
            best = f[i];
        for (e = 0; e < nv->n; e++)
            if (set[e] && nv->changer[e] && e != f[i] && !is_anc(nv, f[i], e) &&
                !is_anc(nv, e, f[i]))
                s.is_outdated = true;
    }
    s.is_conflict = n_decisions > 1;
    if (best != SIZE_MAX)
        s.shown = nv->status[best];
    if (s.is_outdated)
        s.shown = 2;
    return s;
}

static bool nis_field(const struct naive *nv, int p)
{
    return nv->paths[p].e.kind == NK_FIELD || nv->paths[p].e.kind == NK_FCHOICE;
}

static bool nwrites_now(const struct naive *nv, size_t i, int p,
                        const size_t *f)
{
    const bool *set = nv->anc + i * nv->n;
    size_t k;
    const char *merged;
    int q;

    if (nis_field(nv, p) && neq(nv, i, nv->paths[p].item) == NULL)
        return false;
    if (nv->v[i]->parents->n == 0)
        return true;
    k = nfrontier(nv, set, p, (size_t *)f);
    if (ndistinct(nv, f, k, p))
        return true;
    merged = k ? neq(nv, f[0], p) : NULL;
    if (!streq0(neq(nv, i, p), merged))
        return true;
    if (nv->paths[p].e.kind != NK_ITEM || neq(nv, i, p) == NULL)
        return false;
    for (q = 0; q < (int)nv->n_paths; q++)
        if (nis_field(nv, q) && nv->paths[q].item == p && nwrites(nv, i, q))
            return true;
    return false;
}

static void nrun_version(struct naive *nv, size_t i, size_t *f)
{
    size_t p, k;

    for (p = 0; p < nv->n_paths; p++)
        if (nv->paths[p].e.kind != NK_ITEM)
            nv->wr[i * nv->n_paths + p] = nwrites_now(nv, i, (int)p, f);
    for (p = 0; p < nv->n_paths; p++)
        if (nv->paths[p].e.kind == NK_ITEM)
            nv->wr[i * nv->n_paths + p] = nwrites_now(nv, i, (int)p, f);
    for (p = 0; p < nv->n_paths; p++)
        nv->changer[i] |= nv->wr[i * nv->n_paths + p];
    if (nv->v[i]->parents->n == 0) {
        nv->wr_status[i] = true;
    } else {
        struct nstatus s;

        k = nfrontier(nv, nv->anc + i * nv->n, -1, f);
        s = nview_status(nv, nv->anc + i * nv->n, f, k);
        nv->wr_status[i] =
            s.is_conflict || s.is_outdated || nv->status[i] != s.shown;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_json_str(const void *a, const void *b)
{
    return strcmp((*(struct fld_json *const *)a)->s,
                  (*(struct fld_json *const *)b)->s);
}

struct nresult {
    struct fld_json *answers;
    int status;
    char *text;
};

static size_t nwinner(const struct naive *nv, const size_t *f, size_t k)
{
    size_t i, best = f[0];

    for (i = 1; i < k; i++)
        if (nnewer(nv, f[i], best))
            best = f[i];
    return best;
}

/* The merged answers from each path's winner, kind by kind. */
static struct fld_json *nanswers(const struct naive *nv, const bool *all,
                                 size_t *f, size_t *winner)
{
    struct fld_json *out = fld_json_object();
    size_t p, k, i;
    int kind;

    for (p = 0; p < nv->n_paths; p++) {
        k = nfrontier(nv, all, (int)p, f);
        winner[p] = k ? nwinner(nv, f, k) : SIZE_MAX;
    }
    for (kind = NK_SCALAR; kind <= NK_FCHOICE; kind++)
        for (p = 0; p < nv->n_paths; p++) {
            const struct nentry *e = &nv->paths[p].e;
            struct fld_json *obj = out, *x;

            if (e->kind != kind || winner[p] == SIZE_MAX ||
                neq(nv, winner[p], (int)p) == NULL)
                continue;
            if (kind == NK_FIELD || kind == NK_FCHOICE) {
                obj = fld_json_get_mut(fld_json_get_mut(out, e->comp[0]),
                                       e->comp[1]);
                if (obj == NULL)
                    continue; /* the item is not there */
            }
            i = kind == NK_FIELD || kind == NK_FCHOICE ? 2 : 0;
            if (kind == NK_SCALAR || kind == NK_FIELD) {
                fld_json_set(
                    obj, e->comp[i],
                    fld_json_clone(nv->show[winner[p] * nv->n_paths + p]));
            } else if (kind == NK_ITEM) {
                if (fld_json_get(out, e->comp[0]) == NULL)
                    fld_json_set(out, e->comp[0], fld_json_object());
                fld_json_set(fld_json_get_mut(out, e->comp[0]), e->comp[1],
                             fld_json_object());
            } else {
                if (fld_json_get(obj, e->comp[i]) == NULL)
                    fld_json_set(obj, e->comp[i], fld_json_array());
                x = fld_json_get_mut(obj, e->comp[i]);
                fld_json_append(x, fld_json_string(e->comp[i + 1]));
                qsort(x->items, x->n, sizeof *x->items, cmp_json_str);
            }
        }
    return out;
}

struct nconflict {
    char path[4 * NCOMP];
    struct fld_buf text;
};

static int cmp_nconflict(const void *a, const void *b)
{
    return strcmp(((const struct nconflict *)a)->path,
                  ((const struct nconflict *)b)->path);
}

static void ncandidates(const struct naive *nv, struct nconflict *c, size_t *f,
                        size_t k, int p)
{
    size_t i, j;

    for (i = 0; i < k; i++) /* newest first, by selection */
        for (j = i + 1; j < k; j++)
            if (nnewer(nv, f[j], f[i])) {
                size_t t = f[i];

                f[i] = f[j];
                f[j] = t;
            }
    fld_buf_printf(&c->text, "conflict %s:", c->path);
    for (i = 0; i < k; i++) {
        const struct fld_json *val =
            p < 0 ? fld_json_get(nv->v[f[i]]->json, "status")
                  : nv->show[f[i] * nv->n_paths + (size_t)p];

        if (p >= 0 && neq(nv, f[i], p) == NULL)
            val = NULL;
        d_candidate(&c->text, nv->v[f[i]]->hash, nv->v[f[i]]->hlc, val);
    }
    fld_buf_putc(&c->text, '\n');
}

static void ndisplay(const struct nentry *e, char *out, size_t len)
{
    int n = e->kind == NK_SCALAR                         ? 1
            : e->kind == NK_CHOICE || e->kind == NK_ITEM ? 2
            : e->kind == NK_FIELD                        ? 3
                                                         : 4;
    int i;

    out[0] = '\0';
    for (i = 0; i < n; i++) {
        if (i)
            strncat(out, "/", len - strlen(out) - 1);
        strncat(out, e->comp[i], len - strlen(out) - 1);
    }
}

static char *nconflicts(const struct naive *nv, const bool *all, size_t *f,
                        const size_t *winner, struct nstatus st)
{
    struct nconflict *c = fld_xcalloc(nv->n_paths + 1, sizeof *c);
    struct fld_buf out = FLD_BUF_INIT;
    size_t n = 0, p, k, i;

    for (p = 0; p < nv->n_paths; p++) {
        k = nfrontier(nv, all, (int)p, f);
        if (!ndistinct(nv, f, k, (int)p))
            continue;
        if (nis_field(nv, (int)p) &&
            (winner[nv->paths[p].item] == SIZE_MAX ||
             neq(nv, winner[nv->paths[p].item], nv->paths[p].item) == NULL))
            continue;
        ndisplay(&nv->paths[p].e, c[n].path, sizeof c[n].path);
        ncandidates(nv, &c[n++], f, k, (int)p);
    }
    if (st.is_conflict) {
        k = nfrontier(nv, all, -1, f);
        for (i = p = 0; i < k; i++)
            if (nv->status[f[i]] >= 3)
                f[p++] = f[i];
        snprintf(c[n].path, sizeof c[n].path, "status");
        ncandidates(nv, &c[n++], f, p, -1);
    }
    qsort(c, n, sizeof *c, cmp_nconflict);
    for (i = 0; i < n; i++) {
        fld_buf_puts(&out, fld_buf_str(&c[i].text));
        fld_buf_free(&c[i].text);
    }
    free(c);
    return fld_buf_detach(&out, NULL);
}

static char *nheads(const struct naive *nv)
{
    struct fld_buf b = FLD_BUF_INIT;
    const char **h = fld_xcalloc(nv->n, sizeof *h);
    size_t i, j, k = 0, newest = SIZE_MAX;

    for (i = 0; i < nv->n; i++) {
        bool is_head = true;

        for (j = 0; j < nv->n; j++)
            if (is_anc(nv, j, i))
                is_head = false;
        if (!is_head)
            continue;
        h[k++] = nv->v[i]->hash;
        if (newest == SIZE_MAX || nnewer(nv, i, newest))
            newest = i;
    }
    qsort(h, k, sizeof *h, cmp_str);
    fld_buf_puts(&b, "heads");
    for (i = 0; i < k; i++)
        fld_buf_printf(&b, " %.16s", h[i]);
    fld_buf_printf(&b, "\nnewest %.16s\n", nv->v[newest]->hash);
    /* The latest review: the newest decision no other decision follows. */
    newest = SIZE_MAX;
    for (i = 0; i < nv->n; i++) {
        bool is_followed = false;

        if (nv->status[i] < DECISION)
            continue;
        for (j = 0; j < nv->n; j++)
            if (nv->status[j] >= DECISION && is_anc(nv, j, i))
                is_followed = true;
        if (!is_followed && (newest == SIZE_MAX || nnewer(nv, i, newest)))
            newest = i;
    }
    fld_buf_printf(&b, "review %.16s\n",
                   newest == SIZE_MAX ? "-" : nv->v[newest]->hash);
    free(h);
    return fld_buf_detach(&b, NULL);
}

static void naive_free(struct naive *nv)
{
    size_t i;

    for (i = 0; i < nv->n * nv->n_paths; i++)
        free(nv->eq[i]);
    free(nv->eq);
    free(nv->show);
    free(nv->anc);
    free(nv->paths);
    free(nv->wr);
    free(nv->wr_status);
    free(nv->changer);
    free(nv->status);
}

/* An order in which every version comes after its ancestors: by the
 * number of ancestors (an ancestor always has fewer). */
static size_t *norder(const struct naive *nv)
{
    size_t *order = fld_xcalloc(nv->n, sizeof *order),
           *count = fld_xcalloc(nv->n, sizeof *count);
    size_t i, j;

    for (i = 0; i < nv->n; i++) {
        order[i] = i;
        for (j = 0; j < nv->n; j++)
            count[i] += is_anc(nv, i, j);
    }
    for (i = 1; i < nv->n; i++)
        for (j = i; j > 0 && count[order[j - 1]] > count[order[j]]; j--) {
            size_t t = order[j];

            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    free(count);
    return order;
}

static struct nresult naive_merge(struct fld_version *const *v, size_t n)
{
    struct naive nv;
    struct nresult res;
    struct fld_buf b = FLD_BUF_INIT;
    size_t *f = fld_xcalloc(n + 1, sizeof *f), *order, i, k, *winner;
    bool *all = fld_xcalloc(n, sizeof *all);
    struct nstatus st;
    char *conf, *heads;

    memset(&nv, 0, sizeof nv);
    nv.n = n;
    nv.v = v;
    nv.anc = fld_xcalloc(n * n, sizeof *nv.anc);
    nv.status = fld_xcalloc(n, sizeof *nv.status);
    for (i = 0; i < n; i++) {
        dfs(&nv, i, i);
        nv.status[i] = status_rank(v[i]->status);
        all[i] = true;
    }
    nbuild_paths(&nv);
    nv.wr = fld_xcalloc(n * nv.n_paths + 1, sizeof *nv.wr);
    nv.wr_status = fld_xcalloc(n, sizeof *nv.wr_status);
    nv.changer = fld_xcalloc(n, sizeof *nv.changer);
    order = norder(&nv);
    for (i = 0; i < n; i++)
        nrun_version(&nv, order[i], f);
    winner = fld_xcalloc(nv.n_paths + 1, sizeof *winner);
    res.answers = nanswers(&nv, all, f, winner);
    k = nfrontier(&nv, all, -1, f);
    st = nview_status(&nv, all, f, k);
    res.status = st.shown;
    d_state(&b, res.answers, status_str(st.shown), st.is_outdated);
    heads = nheads(&nv);
    conf = nconflicts(&nv, all, f, winner, st);
    fld_buf_puts(&b, heads);
    fld_buf_puts(&b, conf);
    res.text = fld_buf_detach(&b, NULL);
    free(heads);
    free(conf);
    free(winner);
    free(order);
    free(all);
    free(f);
    naive_free(&nv);
    return res;
}

static void nresult_free(struct nresult *r)
{
    fld_json_free(r->answers);
    free(r->text);
}

/* The naive merge must meet the table's expectations on its own (answers,
 * status, which paths conflict), or agreeing with it proves nothing. */
static void check_naive_case(const struct mcase *c, const struct nresult *r)
{
    struct fld_json *want = jq(c->answers);
    char *paths = fld_xstrdup(c->conflicts), *p, *next_p;
    const char *line;
    size_t n_want = 0, n_got = 0;

    if (!fld_json_equal(r->answers, want) ||
        strcmp(status_str(r->status), c->status) != 0)
        fail_msg("%s: naive merge gives\n%s", c->title, r->text);
    for (p = paths; *p != '\0'; p = next_p) {
        char needle[128], *end = strchr(p, ';');

        next_p = end != NULL ? end + 1 : p + strlen(p);
        *strchr(p, '=') = '\0';
        snprintf(needle, sizeof needle, "conflict %s:", p);
        if (strstr(r->text, needle) == NULL)
            fail_msg("%s: naive merge misses %s\n%s", c->title, needle,
                     r->text);
        n_want++;
    }
    for (line = strstr(r->text, "conflict "); line != NULL;
         line = strstr(line + 1, "\nconflict "))
        n_got++;
    assert_int_equal(n_got, n_want);
    assert_int_equal(strstr(r->text, "(review outdated)") != NULL,
                     c->is_outdated);
    fld_json_free(want);
    free(paths);
}

static void test_naive_meets_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hist h;
        struct nresult r;

        build_case(&cases[i], &h);
        r = naive_merge(h.v, h.n);
        check_naive_case(&cases[i], &r);
        nresult_free(&r);
        hist_free(&h);
    }
}

/* ---- random histories ------------------------------------------------- */

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *g) /* splitmix64 */
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t pick(struct rng *g, size_t n)
{
    return (size_t)(next(g) % n);
}

static const char *const item_ids[] = {"00000000000000a1", "00000000000000a2",
                                       "00000000000000a3", "00000000000000a4"};
static const char *const choices[] = {"c0", "c1", "c2", "c3"};

static struct fld_json *random_scalar(struct rng *g)
{
    static const char *const words[] = {"a", "b", "Đà Nẵng"};
    size_t k = pick(g, 5);

    return k < 3 ? fld_json_string(words[k]) : fld_json_int((int64_t)k - 2);
}

/* Add or remove one choice, keeping the array sorted; an empty set is
 * removed, as devices do. */
static void toggle_choice(struct fld_json *obj, const char *name,
                          const char *choice)
{
    struct fld_json *arr = fld_json_get_mut(obj, name),
                    *next_arr = fld_json_array();
    bool had = false, put = false;
    size_t i;

    for (i = 0; arr != NULL && i < arr->n; i++) {
        int c = strcmp(arr->items[i]->s, choice);

        if (c == 0) {
            had = true;
            continue;
        }
        if (c > 0 && !put && !had) {
            fld_json_append(next_arr, fld_json_string(choice));
            put = true;
        }
        fld_json_append(next_arr, fld_json_string(arr->items[i]->s));
    }
    if (!had && !put)
        fld_json_append(next_arr, fld_json_string(choice));
    if (next_arr->n == 0) {
        fld_json_free(next_arr);
        fld_json_remove(obj, name);
    } else {
        fld_json_set(obj, name, next_arr);
    }
}

static void edit_item(struct rng *g, struct fld_json *item)
{
    static const char *const fields[] = {"f0", "f1"};
    size_t k = pick(g, 4);

    if (k < 2)
        fld_json_set(item, fields[k], random_scalar(g));
    else if (k == 2)
        toggle_choice(item, "fm", choices[pick(g, 3)]);
    else
        fld_json_remove(item, fields[pick(g, 2)]);
}

static void edit_group(struct rng *g, struct fld_json *a)
{
    struct fld_json *grp = fld_json_get_mut(a, "g"), *item;
    const char *id = item_ids[pick(g, 4)];
    size_t k = pick(g, 3);

    if (grp == NULL) {
        fld_json_set(a, "g", fld_json_object());
        grp = fld_json_get_mut(a, "g");
    }
    item = fld_json_get_mut(grp, id);
    if (item == NULL) { /* add it */
        item = fld_json_object();
        fld_json_set(item, "f0", random_scalar(g));
        fld_json_set(grp, id, item);
    } else if (k == 0) { /* delete it; sometimes the group goes too */
        fld_json_remove(grp, id);
        if (grp->n == 0 && pick(g, 2))
            fld_json_remove(a, "g");
    } else {
        edit_item(g, item);
    }
}

static void random_edit(struct rng *g, struct fld_json *a)
{
    static const char *const scalars[] = {"s0", "s1", "s2"};
    static const char *const sets[] = {"m0", "m1"};
    size_t k = pick(g, 10);

    if (k < 3)
        fld_json_set(a, scalars[pick(g, 3)], random_scalar(g));
    else if (k == 3)
        fld_json_remove(a, scalars[pick(g, 3)]);
    else if (k < 6)
        toggle_choice(a, sets[pick(g, 2)], choices[pick(g, 4)]);
    else
        edit_group(g, a);
}

/* The version numbers of p's ancestors and p itself, for each p in par. */
static size_t closure(const struct hist *h, const size_t *par, size_t np,
                      struct fld_version **out)
{
    bool *in = fld_xcalloc(h->n, sizeof *in);
    size_t i, j, k, n = 0;

    for (i = 0; i < np; i++)
        in[par[i]] = true;
    for (i = h->n; i-- > 0;) /* children come after parents in h */
        if (in[i])
            for (j = 0; j < h->v[i]->parents->n; j++)
                for (k = 0; k < i; k++)
                    if (strcmp(h->v[k]->hash, h->v[i]->parents->items[j]->s) ==
                        0)
                        in[k] = true;
    for (i = 0; i < h->n; i++)
        if (in[i])
            out[n++] = h->v[i];
    free(in);
    return n;
}

static void heads_of(const struct hist *h, size_t *heads, size_t *n_heads)
{
    size_t i, j, k;

    *n_heads = 0;
    for (i = 0; i < h->n; i++) {
        bool is_head = true;

        for (j = i + 1; j < h->n && is_head; j++)
            for (k = 0; k < h->v[j]->parents->n; k++)
                if (strcmp(h->v[j]->parents->items[k]->s, h->v[i]->hash) == 0)
                    is_head = false;
        if (is_head)
            heads[(*n_heads)++] = i;
    }
}

static void pick_parents(struct rng *g, const struct hist *h, size_t *par,
                         size_t *np)
{
    size_t *heads = fld_xcalloc(h->n, sizeof *heads), n_heads, want, i, j, x;
    size_t r = pick(g, 20);

    heads_of(h, heads, &n_heads);
    want = r < 13 ? 1 : r < 18 ? 2 : 3;
    *np = 0;
    for (i = 0; i < 4 * want && *np < want; i++) {
        bool is_new = true;

        x = pick(g, 10) < 6 ? heads[pick(g, n_heads)] : pick(g, h->n);
        for (j = 0; j < *np; j++)
            is_new &= par[j] != x;
        if (is_new)
            par[(*np)++] = x;
    }
    free(heads);
}

/* One new version: a root, or an edit made from the merged state of some
 * parents (as field does) or, now and then, from one parent's answers. */
static void random_version(struct rng *g, struct hist *h, int64_t *clock)
{
    static const char *const statuses[] = {"draft", "final", "approved",
                                           "rejected", "returned"};
    struct fld_version **sub = fld_xcalloc(h->n + 1, sizeof *sub);
    size_t par[3], np = 0, i, n_edits = pick(g, 4);
    struct fld_json *a;
    char status[16] = "draft";
    int64_t ms;

    if (h->n > 0 && pick(g, 40) != 0)
        pick_parents(g, h, par, &np);
    if (np == 0) {
        a = fld_json_object();
        n_edits += 2;
    } else if (pick(g, 4) != 0) {
        struct nresult r = naive_merge(sub, closure(h, par, np, sub));

        a = fld_json_clone(r.answers);
        snprintf(status, sizeof status, "%s", status_str(r.status));
        nresult_free(&r);
    } else {
        const struct fld_version *p = h->v[par[pick(g, np)]];

        a = fld_json_clone(p->answers);
        snprintf(status, sizeof status, "%s", p->status);
    }
    for (i = 0; i < n_edits; i++)
        random_edit(g, a);
    if (pick(g, 5) == 0)
        snprintf(status, sizeof status, "%s", statuses[pick(g, 5)]);
    /* Mostly a clock that moves on, with ties; sometimes a wrong one. */
    ms = pick(g, 10) == 0 ? 1000 + (int64_t)pick(g, 30)
                          : (*clock += (int64_t)pick(g, 3));
    hist_add(h, (int)pick(g, N_DEVICES), par, np, ms, (int64_t)pick(g, 2),
             status, a);
    fld_json_free(a);
    free(sub);
}

static void random_history(uint64_t seed, struct hist *h)
{
    struct rng g = {seed};
    size_t n = pick(&g, 10) == 0 ? 1 + pick(&g, 40) : 1 + pick(&g, 14), i;
    int64_t clock = 1000;

    memset(h, 0, sizeof *h);
    for (i = 0; i < n; i++)
        random_version(&g, h, &clock);
}

/* Every order of v[0..n) (Heap's algorithm) must give want. */
static bool all_orders_agree(struct fld_version **v, size_t n, const char *want,
                             uint64_t seed)
{
    size_t c[8] = {0}, i = 1;
    char *got = merge_text(v, n);
    bool is_ok = strcmp(got, want) == 0;

    free(got);
    while (i < n && is_ok) {
        if (c[i] < i) {
            struct fld_version *t;
            size_t j = i % 2 == 0 ? 0 : c[i];

            t = v[j];
            v[j] = v[i];
            v[i] = t;
            got = merge_text(v, n);
            if (strcmp(got, want) != 0) {
                fprintf(stderr,
                        "seed %llu: order-dependent result:\n%s\nvs\n%s",
                        (unsigned long long)seed, got, want);
                is_ok = false;
            }
            free(got);
            c[i]++;
            i = 1;
        } else {
            c[i++] = 0;
        }
    }
    return is_ok;
}

static void shuffle(struct rng *g, struct fld_version **v, size_t n)
{
    size_t i;

    for (i = n; i > 1; i--) {
        size_t j = pick(g, i);
        struct fld_version *t = v[i - 1];

        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* How many histories showed each feature: a generator that never makes
 * conflicts would prove nothing, so the test prints these. */
static const char *const features[] = {
    "heads ",
    " ", /* several heads (two hashes on the line) */
    "conflict s",
    "conflict m",
    "conflict g/",
    "conflict status",
    "(review outdated)",
    "status approved",
    "status rejected"};
static unsigned long seen[sizeof features / sizeof features[0]];

static void count_features(const char *text)
{
    const char *heads = strstr(text, "heads ");
    size_t i;

    if (heads != NULL && strchr(heads + 6, ' ') != NULL &&
        strchr(heads + 6, ' ') < strchr(heads, '\n'))
        seen[1]++;
    seen[0]++;
    for (i = 2; i < sizeof features / sizeof features[0]; i++)
        if (strstr(text, features[i]) != NULL)
            seen[i]++;
}

/* One random history: the naive merge, then syn_merge in several (or,
 * when small, all) orders. */
static bool check_seed(uint64_t seed)
{
    struct hist h;
    struct rng g = {seed ^ 0xabcdefULL};
    struct nresult want;
    char *got;
    bool is_ok;
    int round;

    random_history(seed, &h);
    want = naive_merge(h.v, h.n);
    count_features(want.text);
    shuffle(&g, h.v, h.n);
    got = merge_text(h.v, h.n);
    is_ok = strcmp(got, want.text) == 0;
    if (!is_ok)
        fprintf(stderr,
                "seed %llu (%zu versions): syn_merge differs from the "
                "naive merge\n-- naive:\n%s-- syn_merge:\n%s",
                (unsigned long long)seed, h.n, want.text, got);
    free(got);
    if (is_ok && h.n <= 6)
        is_ok = all_orders_agree(h.v, h.n, want.text, seed);
    for (round = 0; is_ok && h.n > 6 && round < 2; round++) {
        shuffle(&g, h.v, h.n);
        got = merge_text(h.v, h.n);
        is_ok = strcmp(got, want.text) == 0;
        if (!is_ok)
            fprintf(stderr, "seed %llu: order-dependent result\n",
                    (unsigned long long)seed);
        free(got);
    }
    nresult_free(&want);
    hist_free(&h);
    return is_ok;
}

static void test_against_naive(void **state)
{
    const char *one = getenv("SYN_MERGE_SEED"),
               *many = getenv("SYN_MERGE_DAGS");
    uint64_t n = many ? strtoull(many, NULL, 10) : DEFAULT_DAGS, i;
    uint64_t failed = 0;

    (void)state;
    if (one != NULL) {
        if (!check_seed(strtoull(one, NULL, 10)))
            fail_msg("seed %s fails", one);
        return;
    }
    for (i = 1; i <= n; i++)
        if (!check_seed(i) && ++failed >= 3)
            break;
    print_message("%lu histories: %lu with several heads; conflicts on scalars "
                  "%lu, choices %lu, items %lu, status %lu; review outdated "
                  "%lu; approved %lu, rejected %lu\n",
                  seen[0], seen[1], seen[2], seen[3], seen[4], seen[5], seen[6],
                  seen[7], seen[8]);
    if (failed)
        fail_msg("%llu random histories failed: replay one with SYN_MERGE_SEED",
                 (unsigned long long)failed);
}

/* ---- a long record ---------------------------------------------------- */

/*
 * 500 versions: a first version with 55 answers, then five devices each
 * editing its own answer on its own branch, all branches merged by device
 * 0 every fourth round, and at the end each device sets one shared answer
 * on its branch. The result is known without a merge: each device's last
 * value, and one conflict with five candidates, the newest first.
 */
static void test_five_hundred_versions(void **state)
{
    struct hist h;
    struct fld_json *all = fld_json_object(), *da[N_DEVICES], *want;
    size_t tip[N_DEVICES], base = 0, d, i, round = 0;
    bool is_merged = true; /* the root counts as the first merge */
    struct syn_merged *r;
    char name[16], value[32], *s1, *s2;

    (void)state;
    memset(&h, 0, sizeof h);
    for (i = 0; i < 55; i++) {
        snprintf(name, sizeof name, "q%02zu", i);
        fld_json_set(all, name, fld_json_string("bê tông"));
    }
    hist_add(&h, 0, NULL, 0, 1000, 0, "draft", all);
    for (d = 0; d < N_DEVICES; d++)
        da[d] = NULL;
    while (h.n < 495) {
        round++;
        for (d = 0; d < N_DEVICES && h.n < 495; d++) {
            if (is_merged) { /* every branch starts from the merge */
                fld_json_free(da[d]);
                da[d] = fld_json_clone(all);
            }
            snprintf(name, sizeof name, "d%zu", d);
            snprintf(value, sizeof value, "round %zu", round);
            fld_json_set(da[d], name, fld_json_string(value));
            hist_add(&h, (int)d, is_merged ? &base : &tip[d], 1,
                     (int64_t)(1000 * round + d), 0, "draft", da[d]);
            tip[d] = h.n - 1;
        }
        is_merged = false;
        if (round % 4 == 0 && h.n < 480) {
            for (d = 0; d < N_DEVICES; d++) {
                snprintf(name, sizeof name, "d%zu", d);
                fld_json_set(all, name,
                             fld_json_clone(fld_json_get(da[d], name)));
            }
            hist_add(&h, 0, tip, N_DEVICES, (int64_t)(1000 * round + 999), 0,
                     "draft", all);
            base = h.n - 1;
            is_merged = true;
        }
    }
    want = fld_json_clone(all);
    for (d = 0; d < N_DEVICES; d++) {
        snprintf(name, sizeof name, "d%zu", d);
        fld_json_set(want, name, fld_json_clone(fld_json_get(da[d], name)));
        fld_json_set(da[d], "shared", fld_json_string(name));
        hist_add(&h, (int)d, &tip[d], 1, (int64_t)(1000 * (round + 1) + d), 0,
                 "draft", da[d]);
    }
    fld_json_set(want, "shared", fld_json_string("d4"));
    assert_int_equal(h.n, 500);
    assert_int_equal(syn_merge(h.v, h.n, &r, NULL), FLD_OK);
    assert_true(fld_json_equal(r->answers, want));
    assert_string_equal(r->status, "draft");
    assert_int_equal(r->n_heads, 5);
    assert_int_equal(r->n_conflicts, 1);
    assert_string_equal(r->conflicts[0].path, "shared");
    assert_int_equal(r->conflicts[0].n_candidates, 5);
    assert_string_equal(r->conflicts[0].candidates[0].version, h.v[499]->hash);
    syn_merged_free(r);

    s1 = merge_text(h.v, h.n);
    for (i = 0; i < h.n / 2; i++) {
        struct fld_version *t = h.v[i];

        h.v[i] = h.v[h.n - 1 - i];
        h.v[h.n - 1 - i] = t;
    }
    s2 = merge_text(h.v, h.n);
    assert_string_equal(s1, s2);
    free(s1);
    free(s2);
    for (d = 0; d < N_DEVICES; d++)
        fld_json_free(da[d]);
    fld_json_free(all);
    fld_json_free(want);
    hist_free(&h);
}

static int setup(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < N_DEVICES; i++)
        keys[i] = tu_key((uint8_t)(40 * i + 1));
    return 0;
}

static int teardown(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < N_DEVICES; i++)
        fld_key_free(keys[i]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_clock_from_the_future),
        cmocka_unit_test(test_naive_meets_table),
        cmocka_unit_test(test_five_hundred_versions),
        cmocka_unit_test(test_against_naive),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
