/*
 * report.c - computing the province's progress report (report.h) from the
 * signed versions the server holds. docs/REPORTS.md states the definitions
 * for the people who read the figures; this comment says how they are
 * computed and why so.
 *
 * As of a date. A report "as of" D counts what the server had received by
 * the end of D (received_ms), never what a device's clock says: a tablet
 * set to the wrong year cannot move a decision into or out of a report,
 * and a report for a past date gives the same figures tomorrow. The units
 * counted are those valid on D (units are dated data: the districts before
 * 1 July 2025, the merged communes after), and only units taking part in
 * the programme are in a denominator; the others are listed apart.
 *
 * What counts. A record counts once it is approved: the merged state of its
 * versions received by D has status "approved". For each unit and tier the
 * latest approval (by receipt) is the unit's assessment for that tier, and
 * the template it was made against is evaluated on its answers with the
 * thresholds the province had loaded by D (thresholds.c). A unit MEETS a
 * tier when that assessment's tier rule is met, or when it meets a tier
 * that implies it (a model commune is an advanced one and an NTM one: the
 * templates say which tier implies which). Otherwise its state is that of
 * its own assessment (not met, unknown) or "not assessed". A criterion
 * whose threshold is unknown is unknown, never met: the form engine's
 * three-valued logic carries that through.
 *
 * Cost. One pass over the versions received by D (one indexed scan, no
 * body read), grouped by record: the heads as of D come from the parents
 * listed with each version. A record with one head needs only that head's
 * body; only records whose heads disagree are merged in full. Then one
 * form evaluation per unit and tier, with each template parsed once. For
 * 10,000 commune records that is about 10,000 body reads and evaluations
 * (make bench: bench_report).
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "form.h"
#include "merge.h"
#include "record.h"
#include "storage.h"
#include "thresholds.h"
#include "version.h"
#include "words.h"

/* ---- units -------------------------------------------------------------- */

/* A unit's latest approved assessment for one tier. */
struct assessment {
    int64_t approved_ms; /* receipt time of the approval; 0: none */
    char record[FLD_RECORD_HEX_LEN + 1];
    struct tmpl *tmpl;
    enum fld_status tier;
    enum fld_status *criteria; /* per criterion of tmpl */
};

struct unit {
    char *code, *name, *kind, *parent;
    bool in_programme;
    size_t parent_at; /* index of the parent in the table, or NONE */
    bool in_report;   /* the report's unit or below it */
    size_t locality;  /* which locality it counts under, or NONE */
    /* The latest approved assessment for each tier, by tier index. */
    struct assessment *best;
    enum srv_tier_state *state; /* per tier, once decided */
};

#define NONE ((size_t)-1)

struct units {
    struct unit *u;
    size_t n, cap;
};

static int add_unit(void *ctx, const struct srv_unit *su)
{
    struct units *us = ctx;
    struct unit *u;

    if (us->n == us->cap) {
        us->cap = us->cap ? 2 * us->cap : 256;
        us->u = fld_xreallocarray(us->u, us->cap, sizeof *us->u);
    }
    u = &us->u[us->n++];
    memset(u, 0, sizeof *u);
    u->code = fld_xstrdup(su->code);
    u->name = fld_xstrdup(su->name);
    u->kind = fld_xstrdup(su->kind);
    u->parent = su->parent ? fld_xstrdup(su->parent) : NULL;
    u->in_programme = su->in_programme;
    u->parent_at = NONE;
    u->locality = NONE;
    return FLD_OK;
}

static int cmp_unit_code(const void *a, const void *b)
{
    return strcmp(((const struct unit *)a)->code,
                  ((const struct unit *)b)->code);
}

static int cmp_code_key(const void *code, const void *elem)
{
    return strcmp(code, ((const struct unit *)elem)->code);
}

/* The index of code in the table sorted by code, or NONE. */
static size_t find_unit(const struct units *us, const char *code)
{
    const struct unit *u;

    if (us->n == 0) /* bsearch's base may be NULL only with none: skip it */
        return NONE;
    u = bsearch(code, us->u, us->n, sizeof *us->u, cmp_code_key);
    return u == NULL ? NONE : (size_t)(u - us->u);
}

/*
 * Mark the report's unit and everything below it (parents already linked),
 * and give
 * each unit below the locality it counts under (the report unit's child on
 * its path; the report unit itself counts under none).
 */
static void link_units(struct units *us, size_t top)
{
    size_t i, at, depth;

    for (i = 0; i < us->n; i++) {
        size_t below = NONE;

        /* Walk up at most as many steps as there are units: a cycle in
         * the data cannot loop forever (units import refuses cycles). */
        for (at = i, depth = 0; at != NONE && depth <= us->n; depth++) {
            if (at == top)
                break;
            below = at;
            at = us->u[at].parent_at;
        }
        if (at != top)
            continue;
        us->u[i].in_report = true;
        us->u[i].locality = i == top ? NONE : below;
    }
}

/* n_tiers: the length of each unit's best[] (the tiers are known later). */
static void units_free(struct units *us, size_t n_tiers)
{
    size_t i, k;

    for (i = 0; i < us->n; i++) {
        for (k = 0; us->u[i].best != NULL && k < n_tiers; k++)
            free(us->u[i].best[k].criteria);
        free(us->u[i].code);
        free(us->u[i].name);
        free(us->u[i].kind);
        free(us->u[i].parent);
        free(us->u[i].best);
        free(us->u[i].state);
    }
    free(us->u);
}

/* ---- tiers -------------------------------------------------------------- */

/* A template that decides a tier, parsed once, thresholds applied. */
struct tmpl {
    char hash[FLD_HASH_HEX_LEN + 1];
    struct fld_template *t; /* NULL: not a tier template, or unreadable */
    size_t tier;            /* index in the report's tiers */
};

struct build {
    struct srv_storage *st;
    struct srv_report *r;
    struct units units;
    char **implies; /* per tier: space-separated codes it implies */
    struct tmpl *tmpls;
    size_t n_tmpls;
    int64_t cutoff_ms;
    struct fld_err *err;
};

static size_t find_tier(const struct srv_report *r, const char *code)
{
    size_t i;

    for (i = 0; i < r->n_tiers; i++)
        if (strcmp(r->tiers[i].code, code) == 0)
            return i;
    return NONE;
}

static void add_kinds(struct srv_report_tier *tier,
                      const struct fld_template *t)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i;

    fld_buf_puts(&b, tier->kind ? tier->kind : "");
    for (i = 0; i < fld_template_n_subject_kinds(t); i++) {
        const char *k = fld_template_subject_kind(t, i);

        if (!fld_word_in(fld_buf_str(&b), k))
            fld_buf_printf(&b, "%s%s", b.len ? " " : "", k);
    }
    free(tier->kind);
    tier->kind = fld_buf_detach(&b, NULL);
}

/* A template read from storage: a tier template is kept with its tier. */
static int take_template(void *ctx, const struct srv_template_row *row)
{
    struct build *bd = ctx;
    struct srv_report *r = bd->r;
    struct fld_template *t = NULL;
    const struct fld_text *label;
    const char *code;
    size_t requires, k, i, len;
    uint8_t *body = NULL;
    int rc;

    rc = srv_storage_template_get(bd->st, row->hash, &body, &len, bd->err);
    if (rc != FLD_OK)
        return rc;
    rc = fld_template_parse(body, len, &t, NULL);
    free(body);
    if (rc != FLD_OK)
        return FLD_OK; /* installed templates were checked when added */
    code = fld_template_tier_code(t);
    if (code == NULL || !fld_template_tier(t, &label, &requires)) {
        fld_template_free(t);
        return FLD_OK;
    }
    k = find_tier(r, code);
    if (k == NONE) {
        r->tiers =
            fld_xreallocarray(r->tiers, r->n_tiers + 1, sizeof *r->tiers);
        bd->implies =
            fld_xreallocarray(bd->implies, r->n_tiers + 1, sizeof *bd->implies);
        k = r->n_tiers++;
        memset(&r->tiers[k], 0, sizeof r->tiers[k]);
        r->tiers[k].code = fld_xstrdup(code);
        r->tiers[k].label.vi = fld_xstrdup(label->vi);
        r->tiers[k].label.en = label->en ? fld_xstrdup(label->en) : NULL;
        bd->implies[k] = fld_xstrdup("");
    }
    add_kinds(&r->tiers[k], t);
    for (i = 0; i < fld_template_n_tier_implies(t); i++) {
        char *more = fld_xasprintf("%s%s%s", bd->implies[k],
                                   bd->implies[k][0] ? " " : "",
                                   fld_template_tier_implies(t, i));
        free(bd->implies[k]);
        bd->implies[k] = more;
    }
    bd->tmpls =
        fld_xreallocarray(bd->tmpls, bd->n_tmpls + 1, sizeof *bd->tmpls);
    snprintf(bd->tmpls[bd->n_tmpls].hash, FLD_HASH_HEX_LEN + 1, "%s",
             row->hash);
    bd->tmpls[bd->n_tmpls].t = t;
    bd->tmpls[bd->n_tmpls++].tier = k;
    return FLD_OK;
}

static struct tmpl *find_tmpl(struct build *bd, const char *hash)
{
    size_t i;

    for (i = 0; i < bd->n_tmpls; i++)
        if (strcmp(bd->tmpls[i].hash, hash) == 0)
            return &bd->tmpls[i];
    return NULL;
}

/* Whether tier a implies tier b, directly or through others. */
static bool implies(const struct build *bd, size_t a, size_t b, int depth)
{
    const char *list = bd->implies[a];
    size_t k;

    if (depth > 8) /* tiers form a short chain; stop a loop in bad data */
        return false;
    for (k = 0; k < bd->r->n_tiers; k++)
        if (k != a && fld_word_in(list, bd->r->tiers[k].code) &&
            (k == b || implies(bd, k, b, depth + 1)))
            return true;
    return false;
}

/* ---- assessments -------------------------------------------------------- */

/* The versions of one record received by the cutoff. */
struct rec {
    char id[FLD_RECORD_HEX_LEN + 1];
    struct srv_report_version *v;
    size_t n, cap;
};

/*
 * The heads among rec's versions: those no other version of the set names
 * as a parent. Parents are few and records short, so a quadratic look is
 * cheaper than building an index.
 */
static size_t heads_of(const struct rec *rc, size_t *heads)
{
    size_t i, j, n = 0;

    for (i = 0; i < rc->n; i++) {
        bool is_parent = false;

        for (j = 0; j < rc->n && !is_parent; j++)
            is_parent = j != i && fld_word_in(rc->v[j].parents, rc->v[i].hash);
        if (!is_parent)
            heads[n++] = i;
    }
    return n;
}

/* Open a version body from storage; the server verified it on arrival. */
static int load_version(struct build *bd, const char *hash,
                        struct fld_version **out)
{
    return srv_storage_version_get(bd->st, hash, out, bd->err);
}

/*
 * The approved state of a record, or nothing: *answers (borrowed from
 * *keep, which the caller frees) when its merged status as of the cutoff
 * is approved, with the template hash it names.
 */
static int approved_state(struct build *bd, const struct rec *rc,
                          struct fld_version ***keep, size_t *n_keep,
                          struct syn_merged **merged,
                          const struct fld_version **head)
{
    size_t *heads = fld_xcalloc(rc->n, sizeof *heads);
    size_t n_heads = heads_of(rc, heads), i;
    int rc_ = FLD_OK;

    *keep = NULL;
    *n_keep = 0;
    *merged = NULL;
    *head = NULL;
    if (n_heads == 1 && strcmp(rc->v[heads[0]].status, "approved") != 0)
        goto out;
    if (n_heads == 1) {
        *keep = fld_xcalloc(1, sizeof **keep);
        rc_ = load_version(bd, rc->v[heads[0]].hash, &(*keep)[0]);
        if (rc_ == FLD_OK) {
            *n_keep = 1;
            *head = (*keep)[0];
        }
        goto out;
    }
    /* Heads disagree: only the merge of every version says the status. */
    *keep = fld_xcalloc(rc->n, sizeof **keep);
    for (i = 0; i < rc->n && rc_ == FLD_OK; i++) {
        rc_ = load_version(bd, rc->v[i].hash, &(*keep)[i]);
        if (rc_ == FLD_OK)
            (*n_keep)++;
    }
    if (rc_ == FLD_OK)
        /* as of the cut-off: a stamp beyond it plus the skew is ahead */
        rc_ = syn_merge_at(*keep, *n_keep, bd->cutoff_ms + SRV_RECORD_SKEW_MS,
                           merged, bd->err);
    if (rc_ == FLD_OK && strcmp((*merged)->status, "approved") == 0)
        *head = (*merged)->newest;
out:
    free(heads);
    return rc_;
}

/* When the record became approved: the latest receipt among its decision
 * versions (by the cutoff). */
static int64_t approval_time(const struct rec *rc)
{
    int64_t t = 0;
    size_t i;

    for (i = 0; i < rc->n; i++)
        if (strcmp(rc->v[i].status, "approved") == 0 &&
            rc->v[i].received_ms > t)
            t = rc->v[i].received_ms;
    return t;
}

static int evaluate(struct build *bd, struct assessment *a,
                    const struct fld_json *answers)
{
    const struct fld_template *t = a->tmpl->t;
    struct fld_form *f;
    size_t i;
    int rc;

    rc = fld_form_eval(t, answers, bd->r->as_of, &f, bd->err);
    if (rc != FLD_OK)
        return rc;
    a->tier = fld_form_tier(f);
    free(a->criteria);
    a->criteria =
        fld_xcalloc(fld_template_n_criteria(t) + 1, sizeof *a->criteria);
    for (i = 0; i < fld_template_n_criteria(t); i++)
        a->criteria[i] = fld_form_criterion(f, i);
    fld_form_free(f);
    return FLD_OK;
}

/* One record, all its versions by the cutoff in hand. */
static int take_record(struct build *bd, const struct rec *rc)
{
    struct fld_version **keep = NULL;
    struct syn_merged *merged = NULL;
    const struct fld_version *head = NULL;
    struct assessment *a;
    struct tmpl *tm;
    size_t n_keep = 0, u, i;
    int64_t when;
    int rc_;

    u = find_unit(&bd->units, rc->v[0].subject);
    if (u == NONE || !bd->units.u[u].in_report)
        return FLD_OK;
    tm = find_tmpl(bd, rc->v[0].template_hash);
    if (tm == NULL)
        return FLD_OK; /* a checklist that decides no tier */
    bd->r->n_records++;
    rc_ = approved_state(bd, rc, &keep, &n_keep, &merged, &head);
    if (rc_ != FLD_OK || head == NULL)
        goto out;
    bd->r->n_approved++;
    if (bd->units.u[u].best == NULL)
        bd->units.u[u].best =
            fld_xcalloc(bd->r->n_tiers, sizeof *bd->units.u[u].best);
    a = &bd->units.u[u].best[tm->tier];
    when = approval_time(rc);
    /* The latest approval wins; equal times fall to the greater record id,
     * so that the choice never depends on the order of a scan. */
    if (a->approved_ms > when ||
        (a->approved_ms == when && strcmp(a->record, rc->id) > 0))
        goto out;
    a->approved_ms = when;
    snprintf(a->record, sizeof a->record, "%s", rc->id);
    a->tmpl = tm;
    rc_ = evaluate(bd, a, merged ? merged->answers : head->answers);
out:
    syn_merged_free(merged);
    for (i = 0; i < n_keep; i++)
        fld_version_free(keep[i]);
    free(keep);
    return rc_;
}

struct walk {
    struct build *bd;
    struct rec rec;
};

static void rec_reset(struct rec *rc)
{
    size_t i;

    for (i = 0; i < rc->n; i++)
        srv_report_version_clear(&rc->v[i]);
    rc->n = 0;
}

/* Versions arrive grouped by record; a new record id ends the last one. */
static int take_version(void *ctx, const struct srv_report_version *v)
{
    struct walk *w = ctx;
    int rc = FLD_OK;

    if (w->rec.n > 0 && strcmp(w->rec.id, v->record) != 0) {
        rc = take_record(w->bd, &w->rec);
        rec_reset(&w->rec);
    }
    if (w->rec.n == w->rec.cap) {
        w->rec.cap = w->rec.cap ? 2 * w->rec.cap : 8;
        w->rec.v = fld_xreallocarray(w->rec.v, w->rec.cap, sizeof *w->rec.v);
    }
    srv_report_version_copy(&w->rec.v[w->rec.n++], v);
    snprintf(w->rec.id, sizeof w->rec.id, "%s", v->record);
    return rc;
}

/* ---- the figures -------------------------------------------------------- */

/* Whether unit u is counted for tier k: of the tier's kinds, in the report,
 * taking part in the programme. */
static bool counts_for(const struct build *bd, const struct unit *u, size_t k)
{
    return u->in_report && u->in_programme &&
           fld_word_in(bd->r->tiers[k].kind, u->kind);
}

/* A unit's state for tier k: met through this tier's assessment or any
 * tier implying it, else what its own assessment says, else not assessed. */
static enum srv_tier_state tier_state(const struct build *bd,
                                      const struct unit *u, size_t k)
{
    const struct assessment *a = u->best ? &u->best[k] : NULL;
    size_t j;

    for (j = 0; u->best != NULL && j < bd->r->n_tiers; j++)
        if (u->best[j].approved_ms > 0 && u->best[j].tier == FLD_STATUS_MET &&
            (j == k || implies(bd, j, k, 0)))
            return SRV_TIER_MET;
    if (a == NULL || a->approved_ms == 0)
        return SRV_TIER_NOT_ASSESSED;
    return a->tier == FLD_STATUS_NOT_MET ? SRV_TIER_NOT_MET : SRV_TIER_UNKNOWN;
}

static void count_tiers(struct build *bd)
{
    struct srv_report *r = bd->r;
    size_t i, k;

    r->localities = fld_xcalloc(bd->units.n + 1, sizeof *r->localities);
    for (i = 0; i < bd->units.n; i++) {
        struct unit *u = &bd->units.u[i];

        u->state = fld_xcalloc(r->n_tiers + 1, sizeof *u->state);
        for (k = 0; k < r->n_tiers; k++) {
            if (!counts_for(bd, u, k))
                continue;
            u->state[k] = tier_state(bd, u, k);
            r->tiers[k].count[u->state[k]]++;
            r->tiers[k].total++;
        }
    }
}

/* Localities: the units directly below the report's unit, in code order,
 * each with the units it holds (itself included). */
static void count_localities(struct build *bd)
{
    struct srv_report *r = bd->r;
    size_t *slot = fld_xcalloc(bd->units.n + 1, sizeof *slot);
    size_t i, k;

    for (i = 0; i < bd->units.n; i++) {
        const struct unit *u = &bd->units.u[i];

        slot[i] = NONE;
        if (!u->in_report || u->locality != i)
            continue;
        slot[i] = r->n_localities;
        r->localities[r->n_localities].code = fld_xstrdup(u->code);
        r->localities[r->n_localities].name = fld_xstrdup(u->name);
        r->localities[r->n_localities++].tiers =
            fld_xcalloc(r->n_tiers + 1, sizeof(struct srv_ratio));
    }
    for (i = 0; i < bd->units.n; i++) {
        const struct unit *u = &bd->units.u[i];
        struct srv_report_locality *l;

        if (u->locality == NONE || slot[u->locality] == NONE)
            continue;
        l = &r->localities[slot[u->locality]];
        for (k = 0; k < r->n_tiers; k++)
            if (counts_for(bd, u, k)) {
                l->tiers[k].total++;
                l->tiers[k].n += u->state[k] == SRV_TIER_MET;
            }
    }
    free(slot);
}

/* One criteria table per tier template that some unit's assessment uses. */
static void count_criteria(struct build *bd)
{
    struct srv_report *r = bd->r;
    size_t m, i, c;

    r->criteria = fld_xcalloc(bd->n_tmpls + 1, sizeof *r->criteria);
    for (m = 0; m < bd->n_tmpls; m++) {
        const struct tmpl *tm = &bd->tmpls[m];
        size_t n_c = fld_template_n_criteria(tm->t);
        struct srv_report_criteria *tab = &r->criteria[r->n_criteria];

        memset(tab, 0, sizeof *tab);
        tab->c = fld_xcalloc(n_c + 1, sizeof *tab->c);
        for (c = 0; c < n_c; c++) {
            const struct fld_criterion *cr = fld_template_criterion(tm->t, c);

            tab->c[c].code = fld_xstrdup(cr->code);
            tab->c[c].name.vi = fld_xstrdup(cr->name.vi);
            tab->c[c].name.en = cr->name.en ? fld_xstrdup(cr->name.en) : NULL;
        }
        tab->n = n_c;
        for (i = 0; i < bd->units.n; i++) {
            const struct unit *u = &bd->units.u[i];
            const struct assessment *a = u->best ? &u->best[tm->tier] : NULL;

            if (a == NULL || a->approved_ms == 0 || a->tmpl != tm ||
                !counts_for(bd, u, tm->tier))
                continue;
            tab->n_units++;
            for (c = 0; c < n_c; c++) {
                tab->c[c].met += a->criteria[c] == FLD_STATUS_MET;
                tab->c[c].not_met += a->criteria[c] == FLD_STATUS_NOT_MET;
                tab->c[c].unknown += a->criteria[c] == FLD_STATUS_UNKNOWN;
            }
        }
        if (tab->n_units == 0) { /* nobody assessed against it: no table */
            for (c = 0; c < n_c; c++) {
                free(tab->c[c].code);
                free((char *)tab->c[c].name.vi);
                free((char *)tab->c[c].name.en);
            }
            free(tab->c);
            continue;
        }
        tab->tier = fld_xstrdup(r->tiers[tm->tier].code);
        tab->template_id = fld_xstrdup(fld_template_id(tm->t));
        r->n_criteria++;
    }
}

/* The criterion codes of a in this state, comma separated. */
static char *codes_in(const struct assessment *a, enum fld_status s)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t c;

    for (c = 0; a != NULL && c < fld_template_n_criteria(a->tmpl->t); c++)
        if (a->criteria[c] == s)
            fld_buf_printf(&b, "%s%s", b.len ? "," : "",
                           fld_template_criterion(a->tmpl->t, c)->code);
    fld_buf_putc(&b, '\0');
    return fld_buf_detach(&b, NULL);
}

static void list_misses(struct build *bd)
{
    struct srv_report *r = bd->r;
    size_t i, k;

    for (k = 0; k < r->n_tiers; k++)
        for (i = 0; i < bd->units.n; i++) {
            const struct unit *u = &bd->units.u[i];
            const struct assessment *a;
            struct srv_report_miss *m;

            if (!counts_for(bd, u, k) || u->state[k] == SRV_TIER_MET)
                continue;
            a = u->best && u->best[k].approved_ms ? &u->best[k] : NULL;
            r->misses = fld_xreallocarray(r->misses, r->n_misses + 1,
                                          sizeof *r->misses);
            m = &r->misses[r->n_misses++];
            m->tier = fld_xstrdup(r->tiers[k].code);
            m->code = fld_xstrdup(u->code);
            m->name = fld_xstrdup(u->name);
            m->state = u->state[k];
            m->not_met = codes_in(a, FLD_STATUS_NOT_MET);
            m->unknown = codes_in(a, FLD_STATUS_UNKNOWN);
        }
}

/* Units of a tier's kind below the report's unit that do not take part. */
static void list_excluded(struct build *bd)
{
    struct srv_report *r = bd->r;
    size_t i, k;

    for (i = 0; i < bd->units.n; i++) {
        const struct unit *u = &bd->units.u[i];
        bool of_a_tier = false;

        for (k = 0; k < r->n_tiers; k++)
            of_a_tier |= fld_word_in(r->tiers[k].kind, u->kind);
        if (!u->in_report || u->in_programme || !of_a_tier)
            continue;
        r->excluded = fld_xreallocarray(r->excluded, r->n_excluded + 1,
                                        sizeof *r->excluded);
        r->excluded[r->n_excluded].code = fld_xstrdup(u->code);
        r->excluded[r->n_excluded++].name = fld_xstrdup(u->name);
    }
}

static int take_target(void *ctx, const struct srv_target *g)
{
    struct build *bd = ctx;
    size_t k = find_tier(bd->r, g->tier);
    struct srv_report_tier *t;

    if (k == NONE || strcmp(g->unit, bd->r->unit.code) != 0 ||
        strcmp(g->from, bd->r->as_of) > 0)
        return FLD_OK;
    t = &bd->r->tiers[k];
    /* Of several targets for one tier, the one set last applies. */
    free(t->target_due);
    free(t->target_source);
    t->has_target = true;
    t->target = g->count;
    t->target_due = g->due ? fld_xstrdup(g->due) : NULL;
    t->target_source = g->source ? fld_xstrdup(g->source) : NULL;
    return FLD_OK;
}

/* ---- the whole ---------------------------------------------------------- */

/* The top of the unit tree on the date: the one unit without a parent. */
static size_t top_unit(struct build *bd)
{
    size_t i, top = NONE;

    for (i = 0; i < bd->units.n; i++)
        if (bd->units.u[i].parent_at == NONE) {
            if (top != NONE)
                return NONE;
            top = i;
        }
    return top;
}

static int prepare(struct build *bd, const char *unit)
{
    size_t top, i;
    int rc;

    rc = srv_storage_units_on(bd->st, bd->r->as_of, add_unit, &bd->units,
                              bd->err);
    if (rc != FLD_OK)
        return rc;
    if (bd->units.n == 0)
        return fld_err_set(bd->err, FLD_NOTFOUND,
                           "no units are valid on %s; import the province's "
                           "with 'field-server units import FILE.csv'",
                           bd->r->as_of);
    if (bd->units.n > 1) /* qsort wants a non-null base even for one */
        qsort(bd->units.u, bd->units.n, sizeof *bd->units.u, cmp_unit_code);
    for (i = 0; i < bd->units.n; i++)
        if (bd->units.u[i].parent != NULL)
            bd->units.u[i].parent_at =
                find_unit(&bd->units, bd->units.u[i].parent);
    if (unit == NULL) {
        top = top_unit(bd);
        if (top == NONE)
            return fld_err_set(bd->err, FLD_EUSAGE,
                               "the units valid on %s have no single top; "
                               "name one with --unit",
                               bd->r->as_of);
    } else {
        top = find_unit(&bd->units, unit);
    }
    if (top == NONE)
        return fld_err_set(bd->err, FLD_NOTFOUND,
                           "no unit %s exists on %s; see 'field-server units'",
                           unit, bd->r->as_of);
    link_units(&bd->units, top);
    bd->r->unit.code = fld_xstrdup(bd->units.u[top].code);
    bd->r->unit.name = fld_xstrdup(bd->units.u[top].name);
    rc = srv_storage_each_template(bd->st, take_template, bd, bd->err);
    for (i = 0; rc == FLD_OK && i < bd->n_tmpls; i++)
        rc = srv_thresholds_apply(bd->st, bd->tmpls[i].t, bd->cutoff_ms,
                                  bd->r->as_of, bd->err);
    return rc;
}

static void build_free(struct build *bd)
{
    size_t i;

    units_free(&bd->units, bd->r->n_tiers);
    for (i = 0; i < bd->r->n_tiers && bd->implies; i++)
        free(bd->implies[i]);
    free(bd->implies);
    for (i = 0; i < bd->n_tmpls; i++)
        fld_template_free(bd->tmpls[i].t);
    free(bd->tmpls);
}

void srv_report_today(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* The last millisecond of date (YYYY-MM-DD) in the server's local time. */
static int day_end_ms(const char *date, int64_t *out)
{
    int64_t days, y;
    int m, d;
    struct tm tm;
    time_t t;

    if (!fld_date_parse(date, &days))
        return FLD_EINVAL;
    fld_date_from_days(days, &y, &m, &d);
    memset(&tm, 0, sizeof tm);
    tm.tm_year = (int)(y - 1900);
    tm.tm_mon = m - 1;
    tm.tm_mday = d + 1; /* the next midnight, less one millisecond */
    tm.tm_isdst = -1;
    if ((t = mktime(&tm)) == (time_t)-1)
        return FLD_EINVAL;
    *out = (int64_t)t * 1000 - 1;
    return FLD_OK;
}

int srv_report_build(struct srv_storage *st, const char *unit,
                     const char *as_of, struct srv_report **out,
                     struct fld_err *err)
{
    struct build bd;
    struct walk w;
    int64_t day_end;
    int rc;

    *out = NULL;
    if (day_end_ms(as_of, &day_end) != FLD_OK)
        return fld_err_set(err, FLD_EUSAGE,
                           "the report's date must be YYYY-MM-DD, not '%s'",
                           as_of);
    memset(&bd, 0, sizeof bd);
    memset(&w, 0, sizeof w);
    bd.st = st;
    bd.err = err;
    bd.cutoff_ms = day_end;
    bd.r = fld_xcalloc(1, sizeof *bd.r);
    snprintf(bd.r->as_of, sizeof bd.r->as_of, "%s", as_of);
    bd.r->generated_ms = fld_now_ms();
    w.bd = &bd;
    if ((rc = prepare(&bd, unit)) != FLD_OK)
        goto out;
    rc =
        srv_storage_each_version_until(st, bd.cutoff_ms, take_version, &w, err);
    if (rc == FLD_OK && w.rec.n > 0)
        rc = take_record(&bd, &w.rec);
    if (rc != FLD_OK)
        goto out;
    count_tiers(&bd);
    count_localities(&bd);
    count_criteria(&bd);
    list_misses(&bd);
    list_excluded(&bd);
    rc = srv_storage_each_target(st, take_target, &bd, err);
out:
    rec_reset(&w.rec);
    free(w.rec.v);
    build_free(&bd);
    if (rc == FLD_OK)
        *out = bd.r;
    else
        srv_report_free(bd.r);
    return rc;
}
