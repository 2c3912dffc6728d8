/*
 * capture.c - writing new versions on the device (see capture.h).
 *
 * The device's position in its own chain (dseq, prev) and its hybrid
 * logical clock live in the store's meta table and change only inside the
 * transaction that stores the version they were used for. That is what
 * makes the chain gap-free: a version is never signed with a dseq that a
 * stored version already used, and a rolled-back transaction takes its
 * counter with it.
 */
#include "capture.h"

#include <stdlib.h>
#include <string.h>

#include "attachment.h"
#include "buf.h"

int fld_capture_setup(struct fld_store *st, const struct fld_key *key,
                      const char *inspector, struct fld_err *err)
{
    /* a new device has signed nothing, and its clock starts at zero */
    static const char *const zero[] = {FLD_META_DSEQ, FLD_META_HLC_MS,
                                       FLD_META_HLC_COUNT, FLD_META_OFFSET};
    char pub[65], *have = NULL;
    size_t i;
    int rc;

    if ((rc = fld_store_begin(st, err)) != FLD_OK)
        return rc;
    rc = fld_store_meta_get(st, FLD_META_PUBLIC, &have, NULL);
    free(have);
    if (rc == FLD_OK) {
        fld_store_rollback(st);
        return fld_err_set(err, FLD_EXISTS,
                           "this store already has a device key");
    }
    fld_key_public_hex(key, pub);
    rc = fld_store_meta_set(st, FLD_META_PUBLIC, pub, err);
    if (rc == FLD_OK)
        rc = fld_store_meta_set(st, FLD_META_INSPECTOR, inspector, err);
    for (i = 0; i < sizeof zero / sizeof zero[0] && rc == FLD_OK; i++)
        rc = fld_store_meta_set_int(st, zero[i], 0, err);
    if (rc != FLD_OK) {
        fld_store_rollback(st);
        return rc;
    }
    return fld_store_commit(st, err);
}

/* The device state a new version needs, read inside the transaction. */
struct device_state {
    int64_t dseq;
    char *prev;
    char *inspector;
    struct fld_hlc clock;
    int64_t offset_ms;
};

static void state_free(struct device_state *s)
{
    free(s->prev);
    free(s->inspector);
}

static int read_state(struct fld_store *st, const struct fld_key *key,
                      struct device_state *s, struct fld_err *err)
{
    const struct {
        const char *key;
        int64_t *value;
    } ints[] = {{FLD_META_DSEQ, &s->dseq},
                {FLD_META_HLC_MS, &s->clock.ms},
                {FLD_META_HLC_COUNT, &s->clock.count},
                {FLD_META_OFFSET, &s->offset_ms}};
    char pub[65], *have = NULL;
    size_t i;
    int rc;

    memset(s, 0, sizeof *s);
    if ((rc = fld_store_meta_get(st, FLD_META_PUBLIC, &have, err)) != FLD_OK)
        return rc == FLD_NOTFOUND ? fld_err_set(err, FLD_ECORRUPT,
                                                "the store has no device key")
                                  : rc;
    fld_key_public_hex(key, pub);
    rc = strcmp(have, pub) == 0
             ? FLD_OK
             : fld_err_set(err, FLD_ECORRUPT,
                           "the key file does not belong to this store "
                           "(store device %.16s, key %.16s)",
                           have, pub);
    free(have);
    for (i = 0; i < sizeof ints / sizeof ints[0] && rc == FLD_OK; i++)
        rc = fld_store_meta_get_int(st, ints[i].key, ints[i].value, err);
    if (rc == FLD_OK)
        rc = fld_store_meta_get(st, FLD_META_INSPECTOR, &s->inspector, err);
    /* the first version has no previous one */
    if (rc == FLD_OK && s->dseq > 0)
        rc = fld_store_meta_get(st, FLD_META_PREV, &s->prev, err);
    return rc;
}

/* Sign draft as the device's next version, store it, advance the chain.
 * Runs inside the caller's transaction. Every version a device signs
 * passes here, whoever built its answers: so here, and only here, the
 * draft gets the attachments its photo answers name (attachment.h). */
static int append(struct fld_store *st, const struct fld_key *key,
                  struct fld_version_draft *d, struct fld_version **out,
                  struct fld_err *err)
{
    struct device_state s;
    struct fld_version *v = NULL;
    struct fld_json *attachments = NULL;
    int rc;

    memset(&s, 0, sizeof s);
    if (d->attachments == NULL) {
        rc = fld_attachment_entries(st, d->answers, &attachments, err);
        if (rc != FLD_OK)
            goto done;
        d->attachments = attachments;
    }
    if ((rc = read_state(st, key, &s, err)) != FLD_OK)
        goto done;
    d->dseq = s.dseq + 1;
    d->prev = s.prev;
    d->inspector = s.inspector[0] ? s.inspector : NULL;
    d->hlc = fld_hlc_tick(&s.clock, fld_now_ms() + s.offset_ms);
    rc = fld_version_sign(d, key, &v, err);
    if (rc == FLD_OK)
        rc = fld_store_put_version(st, v, err);
    /* the chain and the clock move in the transaction that stores it */
    if (rc == FLD_OK)
        rc = fld_store_meta_set_int(st, FLD_META_DSEQ, v->dseq, err);
    if (rc == FLD_OK)
        rc = fld_store_meta_set(st, FLD_META_PREV, v->hash, err);
    if (rc == FLD_OK)
        rc = fld_store_meta_set_int(st, FLD_META_HLC_MS, s.clock.ms, err);
    if (rc == FLD_OK)
        rc = fld_store_meta_set_int(st, FLD_META_HLC_COUNT, s.clock.count, err);
    if (rc != FLD_OK)
        goto done;
    *out = v;
    v = NULL;
done:
    if (attachments != NULL)
        d->attachments = NULL; /* it was ours, and is freed now */
    fld_json_free(attachments);
    fld_version_free(v);
    state_free(&s);
    return rc;
}

static int finish_tx(struct fld_store *st, int rc, struct fld_version **out,
                     struct fld_err *err)
{
    if (rc == FLD_OK)
        rc = fld_store_commit(st, err);
    else
        fld_store_rollback(st);
    if (rc != FLD_OK) {
        fld_version_free(*out);
        *out = NULL;
    }
    return rc;
}

int fld_capture_first(struct fld_store *st, const struct fld_key *key,
                      const struct fld_template *t, const char *subject,
                      const struct fld_json *answers, const char *status,
                      struct fld_version **out, struct fld_err *err)
{
    struct fld_version_draft d;
    char record[FLD_RECORD_HEX_LEN + 1];

    *out = NULL;
    if (strcmp(status, "draft") != 0 && strcmp(status, "final") != 0)
        return fld_err_set(err, FLD_EINVAL,
                           "a new record is a draft or final, not %s", status);
    memset(&d, 0, sizeof d);
    fld_record_id_new(record);
    d.record = record;
    d.template_id = fld_template_id(t);
    d.template_hash = fld_template_hash(t);
    d.subject = subject;
    d.status = status;
    d.answers = answers;
    return append(st, key, &d, out, err);
}

int fld_capture_new(struct fld_store *st, const struct fld_key *key,
                    const struct fld_template *t, const char *subject,
                    const struct fld_json *answers, struct fld_version **out,
                    struct fld_err *err)
{
    int rc;

    *out = NULL;
    if ((rc = fld_store_begin(st, err)) != FLD_OK)
        return rc;
    rc = fld_capture_first(st, key, t, subject, answers, "draft", out, err);
    return finish_tx(st, rc, out, err);
}

/* The record's heads must still be exactly the ones the edit was made on. */
static int check_heads(struct fld_store *st, const char *record,
                       const char *const *expected, size_t n_expected,
                       struct fld_err *err)
{
    char **heads;
    size_t n, i, j;
    int rc = fld_store_heads(st, record, &heads, &n, err);

    if (rc != FLD_OK)
        return rc;
    for (i = 0; i < n_expected && n == n_expected; i++) {
        for (j = 0; j < n; j++)
            if (strcmp(heads[j], expected[i]) == 0)
                break;
        if (j == n)
            break;
    }
    if (n != n_expected || i < n_expected)
        rc = fld_err_set(
            err, FLD_CONFLICT,
            "record %.12s changed meanwhile (%zu current versions); "
            "run the command again",
            record, n);
    fld_strv_free(heads, n);
    return rc;
}

/* The new version on heads, inside the caller's transaction. */
static int append_heads(struct fld_store *st, const struct fld_key *key,
                        const struct fld_version *like,
                        const char *const *heads, size_t n_heads,
                        const struct fld_json *answers, const char *status,
                        const struct fld_json *review, struct fld_version **out,
                        struct fld_err *err)
{
    struct fld_version_draft d;
    int rc;

    *out = NULL;
    memset(&d, 0, sizeof d);
    d.record = like->record;
    d.parents = heads;
    d.n_parents = n_heads;
    d.template_id = like->template_id;
    d.template_hash = like->template_hash;
    d.subject = like->subject;
    d.status = status;
    d.answers = answers;
    d.review = review;
    rc = check_heads(st, like->record, heads, n_heads, err);
    if (rc == FLD_OK)
        rc = append(st, key, &d, out, err);
    return rc;
}

static int save_heads(struct fld_store *st, const struct fld_key *key,
                      const struct fld_version *like, const char *const *heads,
                      size_t n_heads, const struct fld_json *answers,
                      const char *status, const struct fld_json *review,
                      struct fld_version **out, struct fld_err *err)
{
    int rc;

    *out = NULL;
    if ((rc = fld_store_begin(st, err)) != FLD_OK)
        return rc;
    rc = append_heads(st, key, like, heads, n_heads, answers, status, review,
                      out, err);
    return finish_tx(st, rc, out, err);
}

int fld_capture_append_heads(struct fld_store *st, const struct fld_key *key,
                             const struct fld_version *like,
                             const char *const *heads, size_t n_heads,
                             const struct fld_json *answers, const char *status,
                             struct fld_version **out, struct fld_err *err)
{
    int rc = append_heads(st, key, like, heads, n_heads, answers, status, NULL,
                          out, err);

    if (rc != FLD_OK) {
        fld_version_free(*out);
        *out = NULL;
    }
    return rc;
}

int fld_capture_save_heads(struct fld_store *st, const struct fld_key *key,
                           const struct fld_version *like,
                           const char *const *heads, size_t n_heads,
                           const struct fld_json *answers, const char *status,
                           struct fld_version **out, struct fld_err *err)
{
    return save_heads(st, key, like, heads, n_heads, answers, status, NULL, out,
                      err);
}

int fld_capture_decide(struct fld_store *st, const struct fld_key *key,
                       const struct fld_version *like, const char *const *heads,
                       size_t n_heads, const struct fld_json *answers,
                       const char *decision, const struct fld_json *review,
                       struct fld_version **out, struct fld_err *err)
{
    *out = NULL;
    if (!fld_status_is_decision(decision))
        return fld_err_set(err, FLD_EINVAL, "\"%s\" is not a decision",
                           decision);
    return save_heads(st, key, like, heads, n_heads, answers, decision, review,
                      out, err);
}

int fld_capture_save(struct fld_store *st, const struct fld_key *key,
                     const struct fld_version *base,
                     const struct fld_json *answers, const char *status,
                     struct fld_version **out, struct fld_err *err)
{
    const char *parent = base->hash;

    *out = NULL;
    if (fld_json_equal(answers, base->answers) &&
        strcmp(status, base->status) == 0)
        return fld_err_set(err, FLD_EXISTS, "nothing changed");
    return fld_capture_save_heads(st, key, base, &parent, 1, answers, status,
                                  out, err);
}

int fld_capture_head(struct fld_store *st, const char *record,
                     struct fld_version **out, struct fld_err *err)
{
    char **heads;
    size_t n;
    int rc = fld_store_heads(st, record, &heads, &n, err);

    *out = NULL;
    if (rc != FLD_OK)
        return rc;
    if (n == 0)
        rc = fld_err_set(err, FLD_NOTFOUND, "no record %s", record);
    else if (n > 1)
        rc = fld_err_set(err, FLD_CONFLICT,
                         "record %.12s has %zu concurrent versions to merge",
                         record, n);
    else
        rc = fld_store_get_version(st, heads[0], out, err);
    fld_strv_free(heads, n);
    return rc;
}
