/*
 * version.c - building, signing and importing record versions.
 *
 * Both directions go through one validator, check_body(), so a device can
 * never sign a body that another device would refuse to import. Signing
 * writes the canonical bytes with json.c's writer; importing insists that
 * the received bytes are exactly those the writer would produce, so a body
 * has one and only one byte form and its hash is a true identity.
 */
#include "version.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "norm.h"

#define SIGN_PREFIX_LEN (sizeof FLD_SIGN_PREFIX - 1)
#define MAX_INSPECTOR 200
#define MAX_CODE 64

int fld_is_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == '\0';
}

int fld_is_code(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (s[i] <= ' ' || s[i] > '~' || i >= MAX_CODE)
            return 0;
    return i > 0;
}

static int need_string(const struct fld_json *body, const char *key,
                       const char **out, struct fld_err *err)
{
    const struct fld_json *v = fld_json_get(body, key);

    if (v == NULL)
        return fld_err_set(err, FLD_EINVAL, "version: \"%s\" missing", key);
    if (v->type != FLD_JSON_STRING)
        return fld_err_set(err, FLD_EINVAL, "version: \"%s\" is not a string",
                           key);
    *out = v->s;
    return FLD_OK;
}

static int need_hex(const struct fld_json *body, const char *key, size_t n,
                    const char **out, struct fld_err *err)
{
    int rc = need_string(body, key, out, err);

    if (rc == FLD_OK && !fld_is_hex(*out, n))
        return fld_err_set(err, FLD_EINVAL,
                           "version: \"%s\" is not %zu lowercase hex digits",
                           key, n);
    return rc;
}

static int check_parents(const struct fld_json *parents, struct fld_err *err)
{
    size_t i;

    if (parents == NULL || parents->type != FLD_JSON_ARRAY)
        return fld_err_set(err, FLD_EINVAL,
                           "version: \"parents\" is not an array");
    for (i = 0; i < parents->n; i++) {
        const struct fld_json *p = parents->items[i];

        if (p->type != FLD_JSON_STRING || !fld_is_hex(p->s, FLD_HASH_HEX_LEN))
            return fld_err_set(err, FLD_EINVAL,
                               "version: parents[%zu] is not a hash", i);
        /* Sorted and distinct: one byte form for one set of parents. */
        if (i > 0 && strcmp(parents->items[i - 1]->s, p->s) >= 0)
            return fld_err_set(err, FLD_EINVAL,
                               "version: parents are not sorted and distinct");
    }
    return FLD_OK;
}

static int check_hlc(const struct fld_json *hlc, struct fld_hlc *out,
                     struct fld_err *err)
{
    if (hlc == NULL || hlc->type != FLD_JSON_ARRAY || hlc->n != 2 ||
        hlc->items[0]->type != FLD_JSON_INT ||
        hlc->items[1]->type != FLD_JSON_INT || hlc->items[0]->i < 0 ||
        hlc->items[1]->i < 0)
        return fld_err_set(err, FLD_EINVAL,
                           "version: \"hlc\" is not [milliseconds, counter]");
    out->ms = hlc->items[0]->i;
    out->count = hlc->items[1]->i;
    return FLD_OK;
}

/* An answer is a string, an integer or an array of strings (choices). */
static bool is_scalar_answer(const struct fld_json *a)
{
    size_t j;

    if (a->type == FLD_JSON_STRING || a->type == FLD_JSON_INT)
        return true;
    if (a->type != FLD_JSON_ARRAY)
        return false;
    for (j = 0; j < a->n; j++)
        if (a->items[j]->type != FLD_JSON_STRING)
            return false;
    return true;
}

/* A repeat: {"<item id>": {"<question>": answer, ...}, ...}. */
static bool is_repeat_answer(const struct fld_json *a)
{
    size_t i, j;

    if (a->type != FLD_JSON_OBJECT)
        return false;
    for (i = 0; i < a->n; i++) {
        const struct fld_json *item = a->members[i].value;

        if (item->type != FLD_JSON_OBJECT)
            return false;
        for (j = 0; j < item->n; j++)
            if (!is_scalar_answer(item->members[j].value))
                return false;
    }
    return true;
}

static int check_answers(const struct fld_json *answers, struct fld_err *err)
{
    size_t i;

    if (answers == NULL || answers->type != FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL,
                           "version: \"answers\" is not an object");
    for (i = 0; i < answers->n; i++) {
        const struct fld_json *a = answers->members[i].value;

        if (!is_scalar_answer(a) && !is_repeat_answer(a))
            return fld_err_set(err, FLD_EINVAL,
                               "version: answer \"%s\" has an unsupported type",
                               answers->members[i].key);
    }
    return FLD_OK;
}

int fld_status_is_decision(const char *s)
{
    return strcmp(s, "approved") == 0 || strcmp(s, "rejected") == 0 ||
           strcmp(s, "returned") == 0;
}

static int is_status(const char *s)
{
    return strcmp(s, "draft") == 0 || strcmp(s, "final") == 0 ||
           fld_status_is_decision(s);
}

/* A text member of o of 1..max bytes, or absent (*out NULL). */
static bool optional_text(const struct fld_json *o, const char *key, size_t max,
                          const char **out)
{
    const struct fld_json *m = fld_json_get(o, key);

    *out = NULL;
    if (m == NULL)
        return true;
    *out = fld_json_get_string(o, key);
    return *out != NULL && (*out)[0] != '\0' && strlen(*out) <= max;
}

/* Only the members of o named in keys (a NULL-ended list). */
static bool has_only(const struct fld_json *o, const char *const *keys)
{
    size_t i, k;

    for (i = 0; i < o->n; i++) {
        for (k = 0; keys[k] != NULL; k++)
            if (strcmp(o->members[i].key, keys[k]) == 0)
                break;
        if (keys[k] == NULL)
            return false;
    }
    return true;
}

int fld_is_date(const char *s)
{
    char *norm = NULL;
    bool ok = s != NULL && strlen(s) == 10 &&
              fld_norm_date(s, &norm, NULL) == FLD_OK && strcmp(norm, s) == 0;

    free(norm);
    return ok;
}

/* The "review" member (version.h): what a supervisor's decision says. */
static int check_review(struct fld_version *v, struct fld_err *err)
{
    static const char *const review_keys[] = {"note", "recognition", NULL};
    static const char *const recognition_keys[] = {"number", "date", NULL};
    const struct fld_json *r = fld_json_get(v->json, "review"), *rec;
    const char *text;

    v->review = r;
    if (r == NULL)
        return FLD_OK;
    if (!fld_status_is_decision(v->status))
        return fld_err_set(err, FLD_EINVAL,
                           "version: \"review\" in a %s version", v->status);
    if (r->type != FLD_JSON_OBJECT || !has_only(r, review_keys) ||
        !optional_text(r, "note", FLD_REVIEW_MAX_NOTE, &text))
        return fld_err_set(err, FLD_EINVAL,
                           "version: \"review\" is not {note, recognition}");
    rec = fld_json_get(r, "recognition");
    if (rec == NULL)
        return FLD_OK;
    if (strcmp(v->status, "approved") != 0)
        return fld_err_set(err, FLD_EINVAL,
                           "version: a recognition in a %s version", v->status);
    if (rec->type != FLD_JSON_OBJECT || rec->n != 2 ||
        !has_only(rec, recognition_keys) ||
        !optional_text(rec, "number", 100, &text) || text == NULL ||
        !fld_is_date(fld_json_get_string(rec, "date")))
        return fld_err_set(
            err, FLD_EINVAL,
            "version: \"recognition\" is not {number, date YYYY-MM-DD}");
    return FLD_OK;
}

int fld_is_timestamp(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    char date[11];
    size_t i;

    if (s == NULL || strlen(s) != sizeof shape - 1)
        return 0;
    for (i = 0; shape[i] != '\0'; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return 0;
    memcpy(date, s, 10);
    date[10] = '\0';
    return fld_is_date(date) && (s[11] - '0') * 10 + (s[12] - '0') < 24 &&
           s[14] < '6' && s[17] < '6';
}

static bool is_geopoint(const char *s)
{
    char *norm = NULL;
    bool ok = s != NULL && strlen(s) <= 64 &&
              fld_norm_geopoint(s, &norm, NULL) == FLD_OK &&
              strcmp(norm, s) == 0;

    free(norm);
    return ok;
}

/* One entry of "attachments": {bytes, type, taken?, position?}. */
static bool is_attachment(const struct fld_json_member *m)
{
    static const char *const keys[] = {"bytes", "type", "taken", "position",
                                       NULL};
    const struct fld_json *a = m->value;
    const struct fld_json *taken, *position;
    const char *type;
    int64_t bytes;

    if (!fld_is_hex(m->key, FLD_HASH_HEX_LEN) || a->type != FLD_JSON_OBJECT ||
        !has_only(a, keys) || !fld_json_get_int(a, "bytes", &bytes) ||
        bytes < 1 || bytes > FLD_ATTACH_MAX_BYTES)
        return false;
    type = fld_json_get_string(a, "type");
    if (type == NULL ||
        (strcmp(type, "image/jpeg") != 0 && strcmp(type, "image/png") != 0))
        return false;
    taken = fld_json_get(a, "taken");
    position = fld_json_get(a, "position");
    return (taken == NULL ||
            fld_is_timestamp(fld_json_get_string(a, "taken"))) &&
           (position == NULL ||
            is_geopoint(fld_json_get_string(a, "position")));
}

/* The "attachments" member (version.h). */
static int check_attachments(struct fld_version *v, struct fld_err *err)
{
    const struct fld_json *att = fld_json_get(v->json, "attachments");
    size_t i;

    v->attachments = att;
    if (att == NULL)
        return FLD_OK;
    if (att->type != FLD_JSON_OBJECT || att->n == 0 ||
        att->n > FLD_ATTACH_MAX_PER_VERSION)
        return fld_err_set(err, FLD_EINVAL,
                           "version: \"attachments\" is not an object of "
                           "1..%d attachments",
                           FLD_ATTACH_MAX_PER_VERSION);
    for (i = 0; i < att->n; i++)
        if (!is_attachment(&att->members[i]))
            return fld_err_set(err, FLD_EINVAL,
                               "version: attachment %.16s is not {bytes, "
                               "type, taken, position}",
                               att->members[i].key);
    return FLD_OK;
}

size_t fld_version_n_attachments(const struct fld_version *v)
{
    return v->attachments != NULL ? v->attachments->n : 0;
}

void fld_version_attachment(const struct fld_version *v, size_t i,
                            struct fld_version_attachment *out)
{
    const struct fld_json_member *m = &v->attachments->members[i];

    out->hash = m->key;
    fld_json_get_int(m->value, "bytes", &out->bytes);
    out->type = fld_json_get_string(m->value, "type");
    out->taken = fld_json_get_string(m->value, "taken");
    out->position = fld_json_get_string(m->value, "position");
}

static int check_known_keys(const struct fld_json *body, struct fld_err *err)
{
    static const char *const known[] = {
        "answers",   "attachments", "author",   "dseq",   "hlc",
        "inspector", "parents",     "prev",     "record", "review",
        "status",    "subject",     "template", "v"};
    size_t i, k;

    for (i = 0; i < body->n; i++) {
        for (k = 0; k < sizeof known / sizeof known[0]; k++)
            if (strcmp(body->members[i].key, known[k]) == 0)
                break;
        if (k == sizeof known / sizeof known[0])
            return fld_err_set(err, FLD_EINVAL, "version: unknown key \"%s\"",
                               body->members[i].key);
    }
    return FLD_OK;
}

/* The rules of version.h, filling v's convenience fields from its json. */
static int check_body(struct fld_version *v, struct fld_err *err)
{
    const struct fld_json *b = v->json;
    const struct fld_json *tmpl;
    int64_t ver;
    int rc;

    if (b->type != FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL, "version: body is not an object");
    if ((rc = check_known_keys(b, err)) != FLD_OK)
        return rc;
    if (!fld_json_get_int(b, "v", &ver) || ver != 1)
        return fld_err_set(err, FLD_EINVAL, "version: \"v\" is not 1");
    rc = need_hex(b, "record", FLD_RECORD_HEX_LEN, &v->record, err);
    if (rc == FLD_OK)
        rc = need_hex(b, "author", FLD_HASH_HEX_LEN, &v->author, err);
    if (rc == FLD_OK)
        rc = need_string(b, "subject", &v->subject, err);
    if (rc == FLD_OK)
        rc = need_string(b, "status", &v->status, err);
    if (rc != FLD_OK)
        return rc;
    if (!fld_is_code(v->subject))
        return fld_err_set(err, FLD_EINVAL,
                           "version: \"subject\" is not a unit code");
    if (!is_status(v->status))
        return fld_err_set(err, FLD_EINVAL, "version: unknown status \"%s\"",
                           v->status);
    if (!fld_json_get_int(b, "dseq", &v->dseq) || v->dseq < 1)
        return fld_err_set(err, FLD_EINVAL,
                           "version: \"dseq\" is not a positive integer");
    v->prev = NULL;
    if (v->dseq > 1) {
        rc = need_hex(b, "prev", FLD_HASH_HEX_LEN, &v->prev, err);
        if (rc != FLD_OK)
            return rc;
    }
    if (v->dseq == 1 && fld_json_get(b, "prev") != NULL)
        return fld_err_set(err, FLD_EINVAL,
                           "version: \"prev\" given with dseq 1");
    if ((rc = check_hlc(fld_json_get(b, "hlc"), &v->hlc, err)))
        return rc;
    tmpl = fld_json_get(b, "template");
    if (tmpl == NULL || tmpl->type != FLD_JSON_OBJECT || tmpl->n != 2 ||
        need_string(tmpl, "id", &v->template_id, NULL) ||
        need_hex(tmpl, "hash", FLD_HASH_HEX_LEN, &v->template_hash, NULL) ||
        !fld_is_code(v->template_id))
        return fld_err_set(err, FLD_EINVAL,
                           "version: \"template\" is not {id, hash}");
    v->parents = fld_json_get(b, "parents");
    if ((rc = check_parents(v->parents, err)))
        return rc;
    v->answers = fld_json_get(b, "answers");
    if ((rc = check_answers(v->answers, err)))
        return rc;
    v->inspector = fld_json_get_string(b, "inspector");
    if (fld_json_get(b, "inspector") != NULL &&
        (v->inspector == NULL || strlen(v->inspector) > MAX_INSPECTOR))
        return fld_err_set(err, FLD_EINVAL,
                           "version: \"inspector\" is not a name");
    if ((rc = check_attachments(v, err)))
        return rc;
    return check_review(v, err);
}

void fld_version_hash(const uint8_t *body, size_t len,
                      char hex[FLD_HASH_HEX_LEN + 1])
{
    uint8_t h[32];

    crypto_generichash(h, sizeof h, body, len, NULL, 0);
    fld_hex_encode(h, sizeof h, hex);
}

void fld_version_sign_message(const uint8_t hash[32],
                              uint8_t msg[SIGN_PREFIX_LEN + 32])
{
    memcpy(msg, FLD_SIGN_PREFIX, SIGN_PREFIX_LEN);
    memcpy(msg + SIGN_PREFIX_LEN, hash, 32);
}

static void sign_message_of(const char *hash_hex,
                            uint8_t msg[SIGN_PREFIX_LEN + 32])
{
    uint8_t h[32];

    (void)fld_hex_decode(hash_hex, h, sizeof h); /* we produced it */
    fld_version_sign_message(h, msg);
}

static struct fld_json *sorted_parents(const char *const *parents, size_t n)
{
    struct fld_json *arr = fld_json_array();
    const char **tmp = fld_xcalloc(n, sizeof *tmp);
    size_t i, j;

    if (n > 0)
        memcpy(tmp, parents, n * sizeof *tmp);
    for (i = 1; i < n; i++) /* insertion sort: a handful of heads at most */
        for (j = i; j > 0 && strcmp(tmp[j - 1], tmp[j]) > 0; j--) {
            const char *t = tmp[j];
            tmp[j] = tmp[j - 1];
            tmp[j - 1] = t;
        }
    for (i = 0; i < n; i++)
        if (i == 0 || strcmp(tmp[i - 1], tmp[i]) != 0)
            fld_json_append(arr, fld_json_string(tmp[i]));
    free(tmp);
    return arr;
}

static struct fld_json *draft_body(const struct fld_version_draft *d,
                                   const char *author)
{
    struct fld_json *b = fld_json_object();
    struct fld_json *hlc = fld_json_array();
    struct fld_json *tmpl = fld_json_object();

    fld_json_append(hlc, fld_json_int(d->hlc.ms));
    fld_json_append(hlc, fld_json_int(d->hlc.count));
    fld_json_set(tmpl, "id", fld_json_string(d->template_id));
    fld_json_set(tmpl, "hash", fld_json_string(d->template_hash));
    fld_json_set(b, "v", fld_json_int(1));
    fld_json_set(b, "record", fld_json_string(d->record));
    fld_json_set(b, "parents", sorted_parents(d->parents, d->n_parents));
    fld_json_set(b, "author", fld_json_string(author));
    fld_json_set(b, "dseq", fld_json_int(d->dseq));
    if (d->prev != NULL)
        fld_json_set(b, "prev", fld_json_string(d->prev));
    fld_json_set(b, "hlc", hlc);
    fld_json_set(b, "template", tmpl);
    fld_json_set(b, "subject", fld_json_string(d->subject));
    fld_json_set(b, "status", fld_json_string(d->status));
    fld_json_set(b, "answers",
                 d->answers ? fld_json_clone(d->answers) : fld_json_object());
    if (d->inspector != NULL)
        fld_json_set(b, "inspector", fld_json_string(d->inspector));
    if (d->review != NULL)
        fld_json_set(b, "review", fld_json_clone(d->review));
    if (d->attachments != NULL && d->attachments->n > 0)
        fld_json_set(b, "attachments", fld_json_clone(d->attachments));
    return b;
}

int fld_version_sign(const struct fld_version_draft *draft,
                     const struct fld_key *key, struct fld_version **out,
                     struct fld_err *err)
{
    struct fld_version *v = fld_xcalloc(1, sizeof *v);
    struct fld_buf buf = FLD_BUF_INIT;
    uint8_t msg[SIGN_PREFIX_LEN + 32];
    char author[FLD_HASH_HEX_LEN + 1];
    int rc;

    *out = NULL;
    if (draft->dseq < 1 || draft->dseq > FLD_JSON_MAX_INT ||
        draft->hlc.ms < 0 || draft->hlc.ms > FLD_JSON_MAX_INT ||
        draft->hlc.count < 0 || draft->hlc.count > FLD_JSON_MAX_INT) {
        fld_version_free(v);
        return fld_err_set(err, FLD_EINVAL, "version: counter out of range");
    }
    fld_key_public_hex(key, author);
    v->json = draft_body(draft, author);
    rc = check_body(v, err);
    if (rc == FLD_OK)
        rc = fld_json_write(v->json, &buf, err);
    if (rc != FLD_OK)
        goto fail;
    if (buf.len > FLD_VERSION_MAX_BODY) {
        rc = fld_err_set(err, FLD_ELIMIT,
                         "version: body of %zu bytes exceeds %d", buf.len,
                         FLD_VERSION_MAX_BODY);
        goto fail;
    }
    v->body = (uint8_t *)fld_buf_detach(&buf, &v->body_len);
    fld_version_hash(v->body, v->body_len, v->hash);
    sign_message_of(v->hash, msg);
    fld_key_sign(key, msg, sizeof msg, v->sig);
    *out = v;
    return FLD_OK;
fail:
    fld_buf_free(&buf);
    fld_version_free(v);
    return rc;
}

/* The received bytes must be exactly what our writer makes of them. */
static int check_canonical(const struct fld_json *json, const uint8_t *body,
                           size_t len, struct fld_err *err)
{
    struct fld_buf canon = FLD_BUF_INIT;
    int rc;

    fld_buf_reserve(&canon, len); /* what it should come to: one allocation */
    rc = fld_json_write(json, &canon, err);
    if (rc == FLD_OK &&
        (canon.len != len || memcmp(canon.data, body, len) != 0))
        rc = fld_err_set(err, FLD_EINVAL,
                         "version: body is not in canonical form");
    fld_buf_free(&canon);
    return rc;
}

/* Everything fld_version_open checks but the signature (verify_sig false).
 * owned: body itself when the version is to keep it (see
 * fld_version_open_owned()), NULL to keep a copy. */
static int open_body(const uint8_t *body, size_t len,
                     const uint8_t sig[FLD_SIG_LEN], bool verify_sig,
                     uint8_t *owned, struct fld_version **out,
                     struct fld_err *err)
{
    struct fld_version *v;
    uint8_t pub[FLD_KEY_PUBLIC_LEN];
    uint8_t msg[SIGN_PREFIX_LEN + 32];
    int rc;

    *out = NULL;
    if (len > FLD_VERSION_MAX_BODY)
        return fld_err_set(err, FLD_ELIMIT,
                           "version: body of %zu bytes exceeds %d", len,
                           FLD_VERSION_MAX_BODY);
    v = fld_xcalloc(1, sizeof *v);
    if ((rc = fld_json_parse(body, len, &v->json, err)) != FLD_OK) {
        fld_err_prefix(err, "version");
        goto fail;
    }
    rc = check_canonical(v->json, body, len, err);
    if (rc == FLD_OK)
        rc = check_body(v, err);
    if (rc != FLD_OK)
        goto fail;
    if (owned != NULL) {
        v->body = owned;
    } else {
        v->body = fld_xmalloc(len + 1);
        memcpy(v->body, body, len);
        v->body[len] = '\0';
    }
    v->body_len = len;
    memcpy(v->sig, sig, FLD_SIG_LEN);
    fld_version_hash(body, len, v->hash);
    if (!verify_sig) {
        *out = v;
        return FLD_OK;
    }
    sign_message_of(v->hash, msg);
    (void)fld_hex_decode(v->author, pub, sizeof pub); /* checked as hex */
    if (fld_sig_verify(pub, msg, sizeof msg, sig) != FLD_OK) {
        rc = fld_err_set(err, FLD_EBADSIG,
                         "version %.16s: signature by %.16s does not verify",
                         v->hash, v->author);
        goto fail;
    }
    *out = v;
    return FLD_OK;
fail:
    if (v->body == owned)
        v->body = NULL; /* still the caller's */
    fld_version_free(v);
    return rc;
}

int fld_version_open(const uint8_t *body, size_t len,
                     const uint8_t sig[FLD_SIG_LEN], struct fld_version **out,
                     struct fld_err *err)
{
    return open_body(body, len, sig, true, NULL, out, err);
}

int fld_version_open_owned(uint8_t *body, size_t len,
                           const uint8_t sig[FLD_SIG_LEN],
                           struct fld_version **out, struct fld_err *err)
{
    return open_body(body, len, sig, true, body, out, err);
}

int fld_version_open_stored(const uint8_t *body, size_t len,
                            const uint8_t sig[FLD_SIG_LEN],
                            struct fld_version **out, struct fld_err *err)
{
    return open_body(body, len, sig, false, NULL, out, err);
}

void fld_version_free(struct fld_version *v)
{
    if (v == NULL)
        return;
    free(v->body);
    fld_json_free(v->json);
    free(v);
}

void fld_record_id_new(char out[FLD_RECORD_HEX_LEN + 1])
{
    uint8_t id[16];
    uint64_t ms = (uint64_t)fld_now_ms();
    int i;

    randombytes_buf(id, sizeof id);
    for (i = 0; i < 6; i++) /* 48-bit big-endian milliseconds first */
        id[i] = (uint8_t)(ms >> (40 - 8 * i));
    id[6] = (uint8_t)(0x70 | (id[6] & 0x0f)); /* version 7 */
    id[8] = (uint8_t)(0x80 | (id[8] & 0x3f)); /* RFC 4122 variant */
    fld_hex_encode(id, sizeof id, out);
}
