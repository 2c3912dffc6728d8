/*
 * thresholds.c - signing, importing and applying threshold revisions (see
 * thresholds.h for the format and docs/TEMPLATES.md "Thresholds as data").
 *
 * Where it sits: an administrator writes a draft (`field thresholds draft`
 * prints one to fill in) and signs it (`field thresholds sign`,
 * field/cmd_thresholds.c); `field-server thresholds add` imports it,
 * checks the author's role and stores it (server-stub/thresholds.c);
 * devices fetch it when they sync (sync/catalog.c) and import it again;
 * `field show`, `field review` and the province's report apply the one in
 * force to the template before evaluating records.
 *
 * As in version.c, both directions go through one validator, check_body(),
 * so a device never signs a revision another would refuse; signing writes
 * the canonical bytes with json.c's writer, and importing insists that the
 * bytes received are exactly those, so a revision has one byte form and
 * its hash is a true identity. Values are normalised when signed (a draft
 * may say "54,780"), never when imported.
 *
 * What a revision may say of the template's thresholds is the template's
 * own business (template_thresholds.c): the same key check as the loader's,
 * so that a revision can name exactly the keys a template could.
 */
#include "thresholds.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "norm.h"

#define PREFIX_LEN (sizeof FLD_THRESHOLDS_SIGN_PREFIX - 1)
#define MAX_TEMPLATE_ID 64

static const char *const body_keys[] = {
    "author",   "issued_ms",  "kind", "revision",   "source",
    "template", "thresholds", "v",    "valid_from", NULL};

/* Only the members of o named in keys (a NULL-ended list); the first
 * other one in *bad. */
static bool only_keys(const struct fld_json *o, const char *const *keys,
                      const char **bad)
{
    size_t i, k;

    for (i = 0; i < o->n; i++) {
        for (k = 0; keys[k] != NULL; k++)
            if (strcmp(o->members[i].key, keys[k]) == 0)
                break;
        if (keys[k] == NULL) {
            *bad = o->members[i].key;
            return false;
        }
    }
    return true;
}

/* 1..MAX_TEMPLATE_ID printable ASCII characters without spaces, as a
 * version's template id (version.c). */
static bool is_template_id(const char *s)
{
    size_t i;

    for (i = 0; s != NULL && s[i] != '\0'; i++)
        if (s[i] <= ' ' || s[i] > '~' || i >= MAX_TEMPLATE_ID)
            return false;
    return s != NULL && i > 0;
}

static int check_template(struct fld_thresholds *r, struct fld_err *err)
{
    const struct fld_json *t = fld_json_get(r->json, "template");

    r->template_id = fld_json_get_string(t, "id");
    r->template_hash = fld_json_get_string(t, "hash");
    if (t == NULL || t->type != FLD_JSON_OBJECT || t->n != 2 ||
        !is_template_id(r->template_id) || r->template_hash == NULL ||
        !fld_is_hex(r->template_hash, FLD_HASH_HEX_LEN))
        return fld_err_set(err, FLD_EINVAL,
                           "template: expected {\"id\": ..., \"hash\": <64 hex "
                           "digits>}");
    return FLD_OK;
}

/* The rules of thresholds.h, filling r's convenience fields from its json.
 * The thresholds themselves are the template's to check. */
static int check_body(struct fld_thresholds *r, struct fld_err *err)
{
    const struct fld_json *b = r->json;
    const char *bad = NULL, *kind;
    int64_t v;
    int rc;

    if (b->type != FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL, "a revision is a JSON object");
    if (!only_keys(b, body_keys, &bad))
        return fld_err_set(err, FLD_EINVAL, "unknown key \"%s\"", bad);
    kind = fld_json_get_string(b, "kind");
    if (kind == NULL || strcmp(kind, FLD_THRESHOLDS_KIND) != 0)
        return fld_err_set(err, FLD_EINVAL,
                           "kind: not \"" FLD_THRESHOLDS_KIND "\"");
    if (!fld_json_get_int(b, "v", &v) || v != 1)
        return fld_err_set(err, FLD_EINVAL, "v: not 1");
    if ((rc = check_template(r, err)) != FLD_OK)
        return rc;
    if (!fld_json_get_int(b, "revision", &r->revision) || r->revision < 1)
        return fld_err_set(err, FLD_EINVAL,
                           "revision: expected a whole number from 1");
    r->valid_from = fld_json_get_string(b, "valid_from");
    if (!fld_is_date(r->valid_from))
        return fld_err_set(err, FLD_EINVAL,
                           "valid_from: expected a date YYYY-MM-DD");
    r->source = fld_json_get_string(b, "source");
    if (r->source == NULL || r->source[0] == '\0' ||
        strlen(r->source) > FLD_THRESHOLDS_MAX_SOURCE)
        return fld_err_set(err, FLD_EINVAL,
                           "source: expected the document that set the values "
                           "(1 to %d bytes of text)",
                           FLD_THRESHOLDS_MAX_SOURCE);
    r->thresholds = fld_json_get(b, "thresholds");
    if (r->thresholds == NULL || r->thresholds->type != FLD_JSON_OBJECT ||
        r->thresholds->n == 0)
        return fld_err_set(err, FLD_EINVAL,
                           "thresholds: expected an object naming at least one "
                           "threshold");
    r->author = fld_json_get_string(b, "author");
    if (r->author == NULL || !fld_is_hex(r->author, FLD_HASH_HEX_LEN))
        return fld_err_set(err, FLD_EINVAL,
                           "author: expected a device key (64 hex digits)");
    if (!fld_json_get_int(b, "issued_ms", &r->issued_ms) || r->issued_ms < 0)
        return fld_err_set(err, FLD_EINVAL,
                           "issued_ms: expected a time in milliseconds");
    return FLD_OK;
}

void fld_thresholds_sign_message(const uint8_t hash[32],
                                 uint8_t msg[PREFIX_LEN + 32])
{
    memcpy(msg, FLD_THRESHOLDS_SIGN_PREFIX, PREFIX_LEN);
    memcpy(msg + PREFIX_LEN, hash, 32);
}

/* The signed message for r, whose hash is set. */
static void message_of(const struct fld_thresholds *r,
                       uint8_t msg[PREFIX_LEN + 32])
{
    uint8_t h[32];

    (void)fld_hex_decode(r->hash, h, sizeof h); /* we wrote it */
    fld_thresholds_sign_message(h, msg);
}

const char *fld_thresholds_draft_template(const struct fld_json *draft)
{
    const struct fld_json *t = fld_json_get(draft, "template");

    if (t != NULL && t->type == FLD_JSON_STRING)
        return t->s;
    return fld_json_get_string(t, "hash");
}

/* A copy of a draft's thresholds with every decimal string that reads as
 * a number written in normal form; what does not read is left for the
 * check to name. */
static struct fld_json *normalised(const struct fld_json *v)
{
    struct fld_json *copy;
    char *norm = NULL;
    size_t i;

    if (v->type == FLD_JSON_STRING &&
        fld_norm_decimal(v->s, &norm, NULL) == FLD_OK) {
        copy = fld_json_string(norm);
        free(norm);
        return copy;
    }
    if (v->type != FLD_JSON_OBJECT)
        return fld_json_clone(v);
    copy = fld_json_object();
    for (i = 0; i < v->n; i++)
        fld_json_set(copy, v->members[i].key, normalised(v->members[i].value));
    return copy;
}

/* The draft's "template" must name t, by id, hash, or both. */
static int draft_names(const struct fld_json *draft,
                       const struct fld_template *t, struct fld_err *err)
{
    const struct fld_json *d = fld_json_get(draft, "template");
    const char *id = fld_template_id(t), *hash = fld_template_hash(t);
    const char *did, *dhash;

    if (d != NULL && d->type == FLD_JSON_STRING &&
        (strcmp(d->s, id) == 0 || strcmp(d->s, hash) == 0))
        return FLD_OK;
    did = fld_json_get_string(d, "id");
    dhash = fld_json_get_string(d, "hash");
    if (d != NULL && d->type == FLD_JSON_OBJECT && did && dhash &&
        strcmp(did, id) == 0 && strcmp(dhash, hash) == 0)
        return FLD_OK;
    return fld_err_set(err, FLD_EINVAL,
                       "template: expected \"%s\" (or its hash, or {\"id\", "
                       "\"hash\"})",
                       id);
}

/* The body a draft becomes, before the checks: author and issued_ms added,
 * the template named exactly, text and decimals normalised. */
static int draft_body(const struct fld_json *draft,
                      const struct fld_template *t, const struct fld_key *key,
                      int64_t issued_ms, struct fld_json **out,
                      struct fld_err *err)
{
    static const char *const draft_keys[] = {
        "kind",       "revision", "source",     "template",
        "thresholds", "v",        "valid_from", NULL};
    const struct fld_json *m;
    struct fld_json *b, *tmpl;
    const char *bad = NULL;
    char author[FLD_HASH_HEX_LEN + 1], *text = NULL;
    int rc;

    *out = NULL;
    if (draft->type != FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL, "a draft is a JSON object");
    if (!only_keys(draft, draft_keys, &bad))
        return fld_err_set(err, FLD_EINVAL,
                           strcmp(bad, "author") == 0 ||
                                   strcmp(bad, "issued_ms") == 0
                               ? "%s: filled in when signing; leave it out"
                               : "unknown key \"%s\"",
                           bad);
    if ((rc = draft_names(draft, t, err)) != FLD_OK)
        return rc;
    b = fld_json_clone(draft);
    tmpl = fld_json_object();
    fld_json_set(tmpl, "id", fld_json_string(fld_template_id(t)));
    fld_json_set(tmpl, "hash", fld_json_string(fld_template_hash(t)));
    fld_json_set(b, "template", tmpl);
    if (fld_json_get(b, "kind") == NULL)
        fld_json_set(b, "kind", fld_json_string(FLD_THRESHOLDS_KIND));
    if (fld_json_get(b, "v") == NULL)
        fld_json_set(b, "v", fld_json_int(1));
    m = fld_json_get(draft, "valid_from");
    if (m && m->type == FLD_JSON_STRING &&
        fld_norm_date(m->s, &text, NULL) == FLD_OK)
        fld_json_set(b, "valid_from", fld_json_string(text));
    free(text);
    text = NULL;
    m = fld_json_get(draft, "source");
    if (m && m->type == FLD_JSON_STRING &&
        fld_norm_text(m->s, &text, NULL) == FLD_OK)
        fld_json_set(b, "source", fld_json_string(text));
    free(text);
    m = fld_json_get(draft, "thresholds");
    if (m != NULL)
        fld_json_set(b, "thresholds", normalised(m));
    fld_key_public_hex(key, author);
    fld_json_set(b, "author", fld_json_string(author));
    fld_json_set(b, "issued_ms", fld_json_int(issued_ms));
    *out = b;
    return FLD_OK;
}

int fld_thresholds_sign(const struct fld_json *draft,
                        const struct fld_template *t, const struct fld_key *key,
                        int64_t issued_ms, struct fld_thresholds **out,
                        struct fld_err *err)
{
    struct fld_thresholds *r = fld_xcalloc(1, sizeof *r);
    struct fld_buf buf = FLD_BUF_INIT;
    uint8_t msg[PREFIX_LEN + 32];
    int rc;

    *out = NULL;
    if (issued_ms < 0 || issued_ms > FLD_JSON_MAX_INT) {
        rc = fld_err_set(err, FLD_EINVAL, "issued_ms: out of range");
        goto fail;
    }
    rc = draft_body(draft, t, key, issued_ms, &r->json, err);
    if (rc == FLD_OK)
        rc = check_body(r, err);
    if (rc == FLD_OK)
        rc = fld_thresholds_check(r, t, err);
    if (rc == FLD_OK)
        rc = fld_json_write(r->json, &buf, err);
    if (rc != FLD_OK)
        goto fail;
    if (buf.len > FLD_THRESHOLDS_MAX_BODY) {
        rc = fld_err_set(err, FLD_ELIMIT, "revision of %zu bytes exceeds %d",
                         buf.len, FLD_THRESHOLDS_MAX_BODY);
        goto fail;
    }
    r->body = (uint8_t *)fld_buf_detach(&buf, &r->body_len);
    fld_version_hash(r->body, r->body_len, r->hash);
    message_of(r, msg);
    fld_key_sign(key, msg, sizeof msg, r->sig);
    *out = r;
    return FLD_OK;
fail:
    fld_buf_free(&buf);
    fld_thresholds_free(r);
    return rc;
}

int fld_thresholds_open(const uint8_t *body, size_t len,
                        const uint8_t sig[FLD_SIG_LEN],
                        struct fld_thresholds **out, struct fld_err *err)
{
    struct fld_thresholds *r;
    struct fld_buf canon = FLD_BUF_INIT;
    uint8_t pub[FLD_KEY_PUBLIC_LEN], msg[PREFIX_LEN + 32];
    int rc;

    *out = NULL;
    if (len > FLD_THRESHOLDS_MAX_BODY)
        return fld_err_set(err, FLD_ELIMIT, "revision of %zu bytes exceeds %d",
                           len, FLD_THRESHOLDS_MAX_BODY);
    r = fld_xcalloc(1, sizeof *r);
    rc = fld_json_parse(body, len, &r->json, err);
    if (rc == FLD_OK)
        rc = fld_json_write(r->json, &canon, err);
    if (rc == FLD_OK &&
        (canon.len != len || memcmp(canon.data, body, len) != 0))
        rc = fld_err_set(err, FLD_EINVAL, "not in canonical form");
    fld_buf_free(&canon);
    if (rc == FLD_OK)
        rc = check_body(r, err);
    if (rc != FLD_OK) {
        fld_thresholds_free(r);
        return rc;
    }
    r->body = fld_xmalloc(len + 1);
    memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->body_len = len;
    memcpy(r->sig, sig, FLD_SIG_LEN);
    fld_version_hash(body, len, r->hash);
    message_of(r, msg);
    (void)fld_hex_decode(r->author, pub, sizeof pub); /* checked as hex */
    if (fld_sig_verify(pub, msg, sizeof msg, sig) != FLD_OK) {
        rc = fld_err_set(err, FLD_EBADSIG,
                         "threshold revision %.16s: signature by %.16s does "
                         "not verify",
                         r->hash, r->author);
        fld_thresholds_free(r);
        return rc;
    }
    *out = r;
    return FLD_OK;
}

int fld_thresholds_read(const uint8_t *p, size_t len,
                        struct fld_thresholds **out, struct fld_err *err)
{
    static const char *const keys[] = {"body", "sig", NULL};
    struct fld_json *doc = NULL;
    const struct fld_json *body;
    const char *sig, *bad = NULL;
    uint8_t raw[FLD_SIG_LEN];
    int rc;

    *out = NULL;
    if (len > FLD_THRESHOLDS_MAX_FILE)
        return fld_err_set(err, FLD_ELIMIT, "larger than %d bytes",
                           FLD_THRESHOLDS_MAX_FILE);
    if ((rc = fld_json_parse(p, len, &doc, err)) != FLD_OK)
        return rc;
    body = fld_json_get(doc, "body");
    sig = fld_json_get_string(doc, "sig");
    if (doc->type != FLD_JSON_OBJECT || !only_keys(doc, keys, &bad) ||
        body == NULL || body->type != FLD_JSON_STRING || sig == NULL ||
        !fld_is_hex(sig, 2 * FLD_SIG_LEN) ||
        fld_hex_decode(sig, raw, sizeof raw) != 0)
        rc = fld_err_set(err, FLD_EINVAL,
                         "not a signed threshold revision {\"body\": ..., "
                         "\"sig\": <128 hex digits>}");
    else
        rc = fld_thresholds_open((const uint8_t *)body->s, body->len, raw, out,
                                 err);
    fld_json_free(doc);
    return rc;
}

void fld_thresholds_write(const struct fld_thresholds *r, struct fld_buf *out)
{
    struct fld_json *doc = fld_json_object();
    char sig[2 * FLD_SIG_LEN + 1];

    fld_hex_encode(r->sig, sizeof r->sig, sig);
    fld_json_set(doc, "body",
                 fld_json_stringn((const char *)r->body, r->body_len));
    fld_json_set(doc, "sig", fld_json_string(sig));
    /* a verified body is valid UTF-8 without NUL: the writer cannot fail */
    (void)fld_json_write(doc, out, NULL);
    fld_buf_putc(out, '\n');
    fld_json_free(doc);
}

int fld_thresholds_check(const struct fld_thresholds *r,
                         const struct fld_template *t, struct fld_err *err)
{
    if (strcmp(r->template_hash, fld_template_hash(t)) != 0 ||
        strcmp(r->template_id, fld_template_id(t)) != 0)
        return fld_err_set(err, FLD_EINVAL,
                           "template: the revision is for %s %.16s, not for "
                           "%s %.16s",
                           r->template_id, r->template_hash, fld_template_id(t),
                           fld_template_hash(t));
    return fld_template_check_thresholds(t, r->thresholds, err);
}

int fld_thresholds_apply(const struct fld_thresholds *r, struct fld_template *t,
                         struct fld_err *err)
{
    struct fld_provenance prov;
    int rc;

    if ((rc = fld_thresholds_check(r, t, err)) != FLD_OK)
        return rc;
    prov.source = r->source;
    prov.verified = true;
    return fld_template_set_thresholds(t, r->thresholds, &prov, err);
}

void fld_thresholds_free(struct fld_thresholds *r)
{
    if (r == NULL)
        return;
    free(r->body);
    fld_json_free(r->json);
    free(r);
}
