/*
 * push.c - verification and storage of pushed versions (see push.h).
 *
 * The work is split so that one slow push never holds up the others:
 *
 *   1. outside any lock, each body goes through fld_version_open(): size
 *      cap, strict parse, exact canonical bytes, rules, hash and the
 *      author's Ed25519 signature; then each version is evaluated against
 *      its checklist (the flag a version that breaks a rule is stored
 *      with). This is the CPU-heavy part: the versions of one request are
 *      spread over every core (syn_parallel_for), so that one device's
 *      initial push uses the whole machine, and requests run side by side
 *      on the server's worker threads.
 *   2. under the writer lock, in one BEGIN IMMEDIATE ... COMMIT, each
 *      surviving version is placed: duplicate, refused for scope or role,
 *      quarantined, or stored. Storing a version may release quarantined
 *      children that waited for it; they are placed in turn from a work
 *      list (not by recursion: a long chain pushed backwards must not
 *      overflow the stack).
 *
 * Refusing loses signed field data, so it is kept for what no honest
 * device produces (malformed or forged bytes) and what the pusher may not
 * do (out of scope, role). Anything that may become acceptable later waits
 * in quarantine instead.
 */
#include "push.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "form.h"
#include "hlc.h"
#include "json.h"
#include "metrics.h"
#include "parallel.h"

/* A version released from quarantine, waiting to be placed again. */
struct released {
    char *pusher;
    uint8_t *body;
    size_t body_len;
    uint8_t sig[FLD_SIG_LEN];
    int64_t received_ms;
};

struct worklist {
    struct released *items;
    size_t n, cap;
};

/* What phase 1 found out about one pushed item, outside the lock. */
struct checked {
    struct fld_version *v;        /* NULL: refused, its result says why */
    const struct fld_template *t; /* its template, if installed and agreeing */
    char *flag;                   /* checklist_flag() against t, when t */
    bool is_judged;               /* flag set, answers dropped */
};

/* Today's date in UTC, as the checklist rules compare dates. */
static void utc_today(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static void set_result(struct syn_result *r, enum syn_push_status status,
                       const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_result(struct syn_result *r, enum syn_push_status status,
                       const char *reason, const char *fmt, ...)
{
    va_list ap;
    char msg[FLD_ERR_MSG_MAX];

    r->status = status;
    snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
    free(r->message);
    r->message = NULL;
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        r->message = fld_xstrdup(msg);
    }
}

int srv_role_may_set(const char *role, const char *status)
{
    if (!fld_status_is_decision(status))
        return 1;
    return strcmp(role, "supervisor") == 0 || strcmp(role, "admin") == 0;
}

/* Whether device d's scope holds unit subject (an admin's holds all). */
static int holds(struct srv_storage *st, const struct srv_device *d,
                 const char *subject, bool *ok, struct fld_err *err)
{
    *ok = strcmp(d->role, "admin") == 0;
    if (*ok)
        return FLD_OK;
    return srv_storage_in_scope(st, d->pubkey, subject, ok, err);
}

/*
 * The first checklist rule v breaks against template t, as a new string,
 * or NULL: an answer under a name the template does not have, then what
 * the form engine finds (a wrong type, a choice not offered, a broken
 * constraint; past draft also a relevant required question left blank).
 * The version is stored either way: signed field data is never refused
 * for its content, only flagged for a person to look at.
 */
static char *checklist_flag(const struct fld_template *t,
                            const struct fld_version *v, const char *today)
{
    static const char *const kinds[] = {
        "required question unanswered", "answer breaks its constraint",
        /* in parentheses: one string on two lines, as clang asks */
        ("answer of the wrong type or not in normal form (NFC, trimmed, "
         "at most 4096 bytes)"),
        "choice not offered"};
    struct fld_form *f = NULL;
    struct fld_err e;
    char *flag = NULL;
    size_t i;

    for (i = 0; i < v->answers->n; i++) {
        const char *name = v->answers->members[i].key;
        const struct fld_question *q = fld_template_question(t, name);

        if ((q == NULL || q->type == FLD_Q_NOTE) &&
            !fld_template_repeat(t, name))
            return fld_xasprintf("answer \"%s\": no such question in %s", name,
                                 fld_template_id(t));
    }
    if (fld_form_check(t, v->answers, today, &f, &e) != FLD_OK)
        return fld_xasprintf("checklist rules could not be evaluated: %s",
                             e.msg);
    for (i = 0; flag == NULL && i < fld_form_n_problems(f); i++) {
        const struct fld_problem *p = fld_form_problem(f, i);

        if (p->kind == FLD_PROBLEM_REQUIRED && strcmp(v->status, "draft") == 0)
            continue;
        flag = fld_xasprintf("%s: %s%s%s in a %s version", p->question->name,
                             kinds[p->kind], p->item ? " in item " : "",
                             p->item ? p->item : "", v->status);
    }
    fld_form_free(f);
    return flag;
}

static int audit(struct srv_storage *st, const char *kind, const char *device,
                 const char *subject, struct fld_err *err, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int audit(struct srv_storage *st, const char *kind, const char *device,
                 const char *subject, struct fld_err *err, const char *fmt, ...)
{
    va_list ap;
    char detail[FLD_ERR_MSG_MAX];

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return srv_storage_audit_add(st, kind, device, subject, detail, err);
}

/* Quarantine callback: keep a copy of the released version to place. */
static int collect_released(void *ctx, const struct srv_quarantined *q)
{
    struct worklist *w = ctx;
    struct released *r;

    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 8;
        w->items = fld_xreallocarray(w->items, w->cap, sizeof *w->items);
    }
    r = &w->items[w->n++];
    r->pusher = fld_xstrdup(q->pusher);
    r->body = fld_xmalloc(q->body_len + 1);
    memcpy(r->body, q->body, q->body_len);
    r->body[q->body_len] = '\0';
    r->body_len = q->body_len;
    memcpy(r->sig, q->sig, FLD_SIG_LEN);
    r->received_ms = q->received_ms;
    return FLD_OK;
}

static void released_free(struct released *r)
{
    free(r->pusher);
    free(r->body);
}

/* Store v (all checks passed) and queue the quarantined versions that
 * waited only for it. c: what phase 1 found out about v (NULL for a
 * version released from quarantine). */
static int store(struct srv *s, struct srv_storage *st,
                 const struct fld_version *v, const struct fld_template *t,
                 const struct checked *c, const char *pusher,
                 int64_t received_ms, struct worklist *w, struct fld_err *err)
{
    struct srv_version_in in;
    char fork_with[FLD_HASH_HEX_LEN + 1], today[11];
    char *own = NULL; /* a flag worked out here, freed here */
    const char *flag;
    bool prev_missing;
    int64_t seq;
    int rc;

    if ((rc = srv_storage_chain_check(st, v, fork_with, &prev_missing, err)) !=
        FLD_OK)
        return rc;
    if (fork_with[0]) {
        rc = audit(st, "fork", v->author, v->hash, err,
                   "device chain forks at dseq %lld: %.16s and %.16s",
                   (long long)v->dseq, v->hash, fork_with);
        if (rc != FLD_OK)
            return rc;
    }
    if (prev_missing) {
        rc = audit(st, "gap", v->author, v->hash, err,
                   "device chain gap before dseq %lld: prev %.16s not received",
                   (long long)v->dseq, v->prev);
        if (rc != FLD_OK)
            return rc;
    }
    /* evaluated in phase 1 unless the template arrived in between */
    if (c != NULL && c->t == t) {
        flag = c->flag;
    } else {
        utc_today(today);
        flag = own = checklist_flag(t, v, today);
    }
    in.v = v;
    in.pusher = pusher;
    in.received_ms = received_ms;
    in.flag = flag;
    /* Clocks from the future (docs/SYNC.md): kept, for it is signed
     * evidence, but marked, so that its stamp is never believed. */
    in.ahead_ms =
        v->hlc.ms > received_ms + s->cfg.skew_ms ? v->hlc.ms - received_ms : 0;
    rc = srv_storage_version_put(st, &in, &seq, err);
    if (rc == FLD_OK && flag)
        rc = audit(st, "flagged", v->author, v->hash, err, "%s", flag);
    if (rc == FLD_OK && in.ahead_ms > 0)
        rc = audit(st, "clock_ahead", v->author, v->hash, err,
                   "stamped %lld ms (%lld days) after it was received; its "
                   "time is not used to order values",
                   (long long)in.ahead_ms, (long long)(in.ahead_ms / 86400000));
    free(own);
    if (rc == FLD_OK)
        rc = srv_storage_quarantine_unblock(st, v->hash, collect_released, w,
                                            err);
    return rc;
}

/* The audit's words for a quarantine reason. */
static const char *quarantine_why(const char *reason)
{
    if (strcmp(reason, "missing_parents") == 0)
        return "waiting for its parents";
    if (strcmp(reason, "revoked_author") == 0)
        return "its author is revoked";
    if (strcmp(reason, "template_mismatch") == 0)
        return "its template id does not match its template hash";
    if (strcmp(reason, "record_mismatch") == 0)
        return "a parent is a version of another record";
    return "its template is not installed";
}

/*
 * The parents of v not stored yet, into waits[*n_waits]; and *other, the
 * first stored parent that is a version of another record (NULL: none).
 * No conforming device names one, and a record whose versions name a
 * parent outside it cannot be merged (sync/merge_dag.c refuses it): one
 * such version would stop every report that merges its record.
 */
static int check_parents(struct srv_storage *st, const struct fld_version *v,
                         const char **waits, size_t *n_waits,
                         const char **other, struct fld_err *err)
{
    size_t i;
    int rc = FLD_OK;

    *n_waits = 0;
    *other = NULL;
    for (i = 0; i < v->parents->n && rc == FLD_OK; i++) {
        const char *p = v->parents->items[i]->s;
        char *record;

        rc = srv_storage_version_record(st, p, &record, err);
        if (rc == FLD_NOTFOUND) {
            waits[(*n_waits)++] = p;
            rc = FLD_OK;
        } else if (rc == FLD_OK) {
            if (*other == NULL && strcmp(record, v->record) != 0)
                *other = p;
            free(record);
        }
    }
    return rc;
}

/*
 * Place a verified version whose pusher is allowed to push it: quarantine
 * it, or store it. author_revoked: the author's revocation time (0: not
 * revoked).
 */
static int place(struct srv *s, struct srv_storage *st,
                 const struct fld_version *v, const struct checked *c,
                 const char *pusher, int64_t author_revoked,
                 int64_t received_ms, struct syn_result *res,
                 struct worklist *w, struct fld_err *err)
{
    const struct fld_template *t = NULL;
    const char **waits = NULL;
    const char *reason = NULL, *other = NULL;
    size_t n_waits = 0;
    int rc = FLD_OK;

    if (author_revoked) {
        reason = "revoked_author";
    } else if ((rc = srv_template(s, st, v->template_hash, &t, err)) ==
               FLD_NOTFOUND) {
        reason = "unknown_template";
        rc = FLD_OK;
    } else if (rc != FLD_OK) {
        return rc;
    } else if (strcmp(fld_template_id(t), v->template_id) != 0) {
        /* The hash names the exact template; an id that disagrees with it
         * comes from no conforming device. Kept as signed evidence, never
         * stored as a version: reports group by template id. */
        reason = "template_mismatch";
    } else {
        waits = fld_xcalloc(v->parents->n + 1, sizeof *waits);
        rc = check_parents(st, v, waits, &n_waits, &other, err);
        if (rc == FLD_OK && other != NULL)
            reason = "record_mismatch";
        else if (n_waits > 0)
            reason = "missing_parents";
    }
    if (rc == FLD_OK && reason != NULL) {
        struct srv_quarantined q = {v->hash, v->author,   pusher, reason,
                                    v->body, v->body_len, v->sig, received_ms};

        /* a parent of another record stays one: nothing to wait for */
        rc =
            srv_storage_quarantine_put(st, &q, waits, other ? 0 : n_waits, err);
        if (rc == FLD_OK)
            rc = audit(st, "quarantined", pusher, v->hash, err, "%s: %s",
                       reason, quarantine_why(reason));
        if (res && strcmp(reason, "template_mismatch") == 0)
            set_result(res, SYN_QUARANTINED, reason,
                       "template id %s does not match its template %.16s (%s)",
                       v->template_id, v->template_hash, fld_template_id(t));
        else if (res && other != NULL)
            set_result(res, SYN_QUARANTINED, reason,
                       "its parent %.16s is a version of another record",
                       other);
        else if (res && n_waits > 0)
            set_result(res, SYN_QUARANTINED, reason,
                       "kept until its parents arrive");
        else if (res && author_revoked)
            set_result(res, SYN_QUARANTINED, reason,
                       "its author's device is revoked");
        else if (res)
            set_result(res, SYN_QUARANTINED, reason,
                       "its template %.16s is not installed", v->template_hash);
    } else if (rc == FLD_OK) {
        rc = store(s, st, v, t, c, pusher, received_ms, w, err);
        if (res)
            set_result(res, SYN_STORED, NULL, NULL);
    }
    free(waits);
    return rc;
}

/* Place the versions released from quarantine, and those they release. */
static int drain(struct srv *s, struct srv_storage *st, struct worklist *w,
                 struct fld_err *err)
{
    struct srv_device *author;
    struct fld_version *v;
    struct released r;
    int rc = FLD_OK;

    while (w->n > 0 && rc == FLD_OK) {
        r = w->items[--w->n];
        /* It verified when it arrived; verify again rather than trust the
         * quarantine table, which sits on disk. */
        rc = fld_version_open(r.body, r.body_len, r.sig, &v, NULL);
        if (rc != FLD_OK) {
            rc = fld_err_set(err, FLD_ECORRUPT,
                             "a quarantined version no longer verifies");
            released_free(&r);
            break;
        }
        rc = srv_storage_device_get(st, v->author, &author, err);
        if (rc == FLD_OK)
            rc = srv_storage_quarantine_remove(st, v->hash, err);
        if (rc == FLD_OK)
            rc = place(s, st, v, NULL, r.pusher, author->revoked_ms,
                       r.received_ms, NULL, w, err);
        if (rc == FLD_OK)
            rc = audit(st, "released", r.pusher, v->hash, err,
                       "left quarantine");
        srv_device_free(author);
        fld_version_free(v);
        released_free(&r);
    }
    return rc;
}

static void worklist_free(struct worklist *w)
{
    size_t i;

    for (i = 0; i < w->n; i++)
        released_free(&w->items[i]);
    free(w->items);
}

/* One subject judged for the author of struct seen. */
struct judged {
    char *subject;
    bool pusher_holds, author_holds;
};

/*
 * The author of the last version admitted in this push, and every subject
 * judged for it so far: whether the pusher's and the author's scopes hold
 * it. Each judgement walks the unit tree in SQL, and a push of a few
 * hundred versions names a few dozen communes, so each is asked once.
 * Good for one transaction: devices and scopes change only under the
 * writer lock, which the push holds throughout.
 */
struct seen {
    struct srv_device *author; /* NULL: none yet, or not enrolled */
    struct judged *subjects;
    size_t n, cap;
};

static void forget_subjects(struct seen *m)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        free(m->subjects[i].subject);
    m->n = 0;
}

static void seen_free(struct seen *m)
{
    srv_device_free(m->author);
    forget_subjects(m);
    free(m->subjects);
}

/* m->author = the device enrolled as pubkey (FLD_NOTFOUND: none). */
static int author_of(struct srv_storage *st, struct seen *m, const char *pubkey,
                     struct fld_err *err)
{
    int rc;

    if (m->author != NULL && strcmp(m->author->pubkey, pubkey) == 0)
        return FLD_OK;
    srv_device_free(m->author);
    m->author = NULL;
    forget_subjects(m);
    rc = srv_storage_device_get(st, pubkey, &m->author, err);
    if (rc != FLD_OK)
        m->author = NULL;
    return rc;
}

/* *out = subject judged against the pusher's and m->author's scopes. */
static int judge_scope(struct srv_storage *st, struct seen *m,
                       const struct srv_device *pusher, const char *subject,
                       const struct judged **out, struct fld_err *err)
{
    struct judged *j;
    size_t i;
    int rc;

    for (i = 0; i < m->n; i++)
        if (strcmp(m->subjects[i].subject, subject) == 0) {
            *out = &m->subjects[i];
            return FLD_OK;
        }
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->subjects =
            fld_xreallocarray(m->subjects, m->cap, sizeof *m->subjects);
    }
    j = &m->subjects[m->n];
    if ((rc = holds(st, pusher, subject, &j->pusher_holds, err)) != FLD_OK)
        return rc;
    /* Most versions are pushed by the device that signed them: the scope
     * walk, 8% of the server's time for a push of 100, is done once. */
    if (strcmp(m->author->pubkey, pusher->pubkey) == 0)
        j->author_holds = j->pusher_holds;
    else if ((rc = holds(st, m->author, subject, &j->author_holds, err)) !=
             FLD_OK)
        return rc;
    j->subject = fld_xstrdup(subject);
    m->n++;
    *out = j;
    return FLD_OK;
}

/* Phase 2 for one verified version. */
static int admit(struct srv *s, struct srv_storage *st,
                 const struct srv_device *pusher, const struct checked *c,
                 int64_t now, struct seen *m, struct syn_result *res,
                 struct worklist *w, struct fld_err *err)
{
    const struct fld_version *v = c->v;
    const struct judged *scope;
    enum srv_version_state state;
    int rc;

    if ((rc = srv_storage_version_state(st, v->hash, &state, err)) != FLD_OK)
        return rc;
    if (state == SRV_PRESENT) {
        set_result(res, SYN_DUPLICATE, NULL, NULL);
        return FLD_OK;
    }
    if (state == SRV_IN_QUARANTINE) {
        set_result(res, SYN_QUARANTINED, "quarantined",
                   "already held in quarantine");
        return FLD_OK;
    }
    rc = author_of(st, m, v->author, err);
    if (rc == FLD_NOTFOUND) {
        set_result(res, SYN_REFUSED, "unknown_author",
                   "signed by %.16s, which was never enrolled here", v->author);
        return FLD_OK;
    }
    if (rc != FLD_OK)
        return rc;
    if ((rc = judge_scope(st, m, pusher, v->subject, &scope, err)) != FLD_OK)
        return rc;
    if (!scope->pusher_holds) {
        set_result(res, SYN_REFUSED, "out_of_scope",
                   "unit %s is outside this device's scope", v->subject);
        return FLD_OK;
    }
    /* A relay carries what its author may write, and nothing more: a
     * version is judged by its signer's scope as well as by the pusher's. */
    if (!scope->author_holds) {
        set_result(res, SYN_REFUSED, "out_of_scope",
                   "unit %s is outside the scope of the device that signed "
                   "it (%.16s)",
                   v->subject, v->author);
        return FLD_OK;
    }
    if (!srv_role_may_set(m->author->role, v->status)) {
        set_result(res, SYN_REFUSED, "role",
                   "an %s may not sign a version with status %s",
                   m->author->role, v->status);
        return FLD_OK;
    }
    rc = place(s, st, v, c, pusher->pubkey, m->author->revoked_ms, now, res, w,
               err);
    if (rc == FLD_OK)
        rc = drain(s, st, w, err);
    return rc;
}

/* Phase 1's shared state: item i's thread writes only c[i], results[i]. */
struct phase1 {
    struct srv *s;
    const struct syn_item *items;
    struct syn_result *results;
    struct checked *c;
    char today[11];
};

/* c->t = v's template, when it is installed and its id agrees. */
static void agree(struct checked *c, const struct fld_template *t)
{
    if (t != NULL && strcmp(fld_template_id(t), c->v->template_id) == 0)
        c->t = t;
}

/*
 * Evaluate item i against its checklist, when its template is known, and
 * drop its parsed answers and review then: nothing after the flag reads
 * them (store() evaluates again only a version whose template was not
 * known here, which keeps them).
 */
static void judge_item(void *ctx, size_t i)
{
    struct phase1 *p = ctx;
    struct checked *c = &p->c[i];

    if (c->t == NULL || c->is_judged)
        return;
    c->flag = checklist_flag(c->t, c->v, p->today);
    fld_json_remove(c->v->json, "answers");
    fld_json_remove(c->v->json, "review");
    c->v->answers = NULL;
    c->v->review = NULL;
    c->is_judged = true;
}

/*
 * Verify item i (everything fld_version_open() checks), and judge it at
 * once when its template is in the server's cache: a batch of 500 then
 * never holds 500 parsed answers at a time.
 */
static void open_item(void *ctx, size_t i)
{
    struct phase1 *p = ctx;
    const struct syn_item *it = &p->items[i];
    struct checked *c = &p->c[i];
    struct fld_err e;
    int rc;

    fld_version_hash(it->body, it->body_len, p->results[i].hash);
    fld_err_clear(&e);
    rc = fld_version_open(it->body, it->body_len, it->sig, &c->v, &e);
    if (rc == FLD_EBADSIG)
        set_result(&p->results[i], SYN_REFUSED, "bad_signature", "%s", e.msg);
    else if (rc != FLD_OK)
        set_result(&p->results[i], SYN_REFUSED, "malformed", "%s", e.msg);
    if (rc != FLD_OK)
        return;
    agree(c, srv_template_cached(p->s, c->v->template_hash));
    judge_item(p, i);
}

/*
 * The template of each verified version, from the server's cache (one
 * lookup per run of versions of the same template), when it is installed
 * and its id agrees; anything else is left to phase 2, which decides
 * under the lock and reports storage errors.
 */
static void find_templates(struct srv *s, struct srv_storage *st,
                           struct checked *c, size_t n)
{
    const struct fld_template *t = NULL;
    const char *hash = NULL;
    size_t i;

    for (i = 0; i < n; i++) {
        if (c[i].v == NULL || c[i].t != NULL)
            continue;
        if (hash == NULL || strcmp(hash, c[i].v->template_hash) != 0) {
            hash = c[i].v->template_hash;
            if (srv_template(s, st, hash, &t, NULL) != FLD_OK)
                t = NULL;
        }
        agree(&c[i], t);
    }
}

/* Phase 1 over every core: a request of one version stays on its own. */
static void check_items(struct srv *s, struct srv_storage *st, struct phase1 *p,
                        size_t n)
{
    size_t threads = n >= 8 ? syn_cpus() : 1;

    syn_parallel_for(n, threads, open_item, p);
    find_templates(s, st, p->c, n);
    syn_parallel_for(n, threads, judge_item, p);
}

int srv_push(struct srv *s, struct srv_storage *st,
             const struct srv_device *pusher, const struct syn_item *items,
             size_t n, struct syn_result *results, struct fld_err *err)
{
    struct phase1 p = {s, items, results, NULL, ""};
    struct worklist w = {NULL, 0, 0};
    struct seen m = {NULL, NULL, 0, 0};
    int64_t now = fld_now_ms();
    size_t i;
    int rc;

    /* 1. Verify and evaluate, outside the lock. */
    p.c = fld_xcalloc(n ? n : 1, sizeof *p.c);
    utc_today(p.today);
    check_items(s, st, &p, n);

    /* 2. Place, in one transaction under the writer lock. */
    pthread_mutex_lock(&s->write_lock);
    rc = srv_storage_begin(st, err);
    for (i = 0; i < n && rc == FLD_OK; i++) {
        if (p.c[i].v != NULL)
            rc = admit(s, st, pusher, &p.c[i], now, &m, &results[i], &w, err);
        if (rc == FLD_OK && results[i].status == SYN_REFUSED)
            rc = audit(st, "refused", pusher->pubkey, results[i].hash, err,
                       "%s: %s", results[i].reason,
                       results[i].message ? results[i].message : "");
    }
    if (rc == FLD_OK)
        rc = srv_storage_commit(st, err);
    else
        srv_storage_rollback(st);
    pthread_mutex_unlock(&s->write_lock);
    seen_free(&m);

    if (rc == FLD_OK) {
        for (i = 0; i < n; i++) {
            srv_metrics_pushed(s->metrics,
                               syn_push_status_name(results[i].status), 1);
            if (results[i].status == SYN_REFUSED)
                srv_metrics_refusal(s->metrics, "version", results[i].reason);
        }
    }
    for (i = 0; i < n; i++) {
        fld_version_free(p.c[i].v);
        free(p.c[i].flag);
    }
    free(p.c);
    worklist_free(&w);
    return rc;
}

int srv_push_recheck(struct srv *s, struct srv_storage *st, const char *reason,
                     size_t *n_released, struct fld_err *err)
{
    struct worklist w = {NULL, 0, 0};
    int rc;

    *n_released = 0;
    rc = srv_storage_quarantine_each(st, reason, collect_released, &w, err);
    *n_released = w.n;
    if (rc == FLD_OK)
        rc = drain(s, st, &w, err);
    worklist_free(&w);
    return rc;
}
