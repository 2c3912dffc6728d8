/*
 * thresholds.h - threshold revisions: the values a province uses for a
 * template's thresholds, signed by an administrator's device, as data
 * (docs/TEMPLATES.md "Thresholds as data").
 *
 * A template's thresholds that nobody had verified are null: every
 * criterion that needs one is unknown, never met. The province decides the
 * values it applies (a Quyết định of its People's Committee) and its
 * administrator signs them as a revision:
 *
 *   {"author":"<admin device pubkey hex>","issued_ms":1764288000000,
 *    "kind":"field-thresholds","revision":3,
 *    "source":"Quyết định 12/2025/QĐ-UBND ...",
 *    "template":{"hash":"<hash>","id":"ntm-xa-kieu-mau-2021"},
 *    "thresholds":{"income_margin_pct":{"value":10},
 *                  "income_nang_cao_mvnd":{"values":
 *                      {"bac_trung_bo/2024":"61.5","bac_trung_bo/2025":null}}},
 *    "v":1,"valid_from":"2025-01-01"}
 *
 * Rules a body follows (checked when signing and on every import):
 *   kind        "field-thresholds"; v 1
 *   template    {"id": a template id, "hash": 64 hex}: the exact template
 *   revision    1 <= n < 2^53; the server keeps them increasing per
 *               template hash, and the greatest in force wins
 *   valid_from  YYYY-MM-DD: the date from which the values apply
 *   source      1..FLD_THRESHOLDS_MAX_SOURCE bytes of text: the document
 *               that set the values
 *   thresholds  a non-empty object, as fld_template_set_thresholds()
 *               takes it (template.h); checked against the template by
 *               fld_thresholds_check()
 *   author      64 lowercase hex: the signing device's public key
 *   issued_ms   Unix milliseconds when it was signed, >= 0
 * No other keys; at most FLD_THRESHOLDS_MAX_BODY bytes.
 *
 * It is signed as a version is (version.h): the canonical bytes (json.h)
 * are hashed with BLAKE2b-256 and the author signs, with Ed25519,
 * "field-thresholds-v1" followed by the 32 raw hash bytes. The prefix
 * differs from a version's, so neither signature can ever pass for the
 * other. Who may sign (an admin's device) is the server's to check: it
 * alone knows the roles.
 *
 * On disk and on the wire a revision is {"body": "<canonical JSON
 * text>", "sig": "<128 hex>"}: the body travels as the exact signed text.
 */
#ifndef FLD_THRESHOLDS_H
#define FLD_THRESHOLDS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "key.h"
#include "template.h"
#include "version.h"

#define FLD_THRESHOLDS_KIND "field-thresholds"
#define FLD_THRESHOLDS_SIGN_PREFIX "field-thresholds-v1"
#define FLD_THRESHOLDS_MAX_BODY (256 * 1024)
#define FLD_THRESHOLDS_MAX_SOURCE 1000
/* A file {"body": ..., "sig": ...}: the body escaped, plus a little. */
#define FLD_THRESHOLDS_MAX_FILE (2 * FLD_THRESHOLDS_MAX_BODY)

/* A verified revision. Everything is owned by it; the string fields point
 * into json and live as long as it does. */
struct fld_thresholds {
    uint8_t *body; /* canonical bytes exactly as signed, NUL-terminated */
    size_t body_len;
    uint8_t sig[FLD_SIG_LEN];
    char hash[FLD_HASH_HEX_LEN + 1];
    struct fld_json *json; /* the parsed body */

    const char *template_id;
    const char *template_hash;
    int64_t revision;
    const char *valid_from;
    const char *source;
    const char *author;
    int64_t issued_ms;
    const struct fld_json *thresholds; /* object */
};

/*
 * The template an administrator's draft names: its "template" member,
 * either a string (an installed template's id or hash) or {"id", "hash"}
 * (the hash is returned). NULL when absent or of another form. Borrowed
 * from draft.
 */
const char *fld_thresholds_draft_template(const struct fld_json *draft);

/*
 * Sign a revision of t's thresholds from an administrator's draft: the
 * JSON above without author and issued_ms (which signing fills in:
 * key's public key, issued_ms), "kind" and "v" optional, "template" as
 * fld_thresholds_draft_template() reads it and naming t. Decimal strings
 * are written in normal form ("54,780" becomes "54.78") and the source
 * text in Unicode NFC, as typed answers are. FLD_EINVAL naming the first
 * problem's place; *out is freed with fld_thresholds_free().
 */
int fld_thresholds_sign(const struct fld_json *draft,
                        const struct fld_template *t, const struct fld_key *key,
                        int64_t issued_ms, struct fld_thresholds **out,
                        struct fld_err *err);

/*
 * Import a revision from its body bytes and signature, verifying
 * everything: the size cap, strict parsing, that the bytes are exactly
 * canonical, every rule above, and the author's signature over the hash.
 * Nothing is normalised. FLD_EINVAL for a malformed body, FLD_ELIMIT for
 * an oversized one, FLD_EBADSIG when the signature does not verify.
 */
int fld_thresholds_open(const uint8_t *body, size_t len,
                        const uint8_t sig[FLD_SIG_LEN],
                        struct fld_thresholds **out, struct fld_err *err);

/* The same from the file form {"body": ..., "sig": ...} (at most
 * FLD_THRESHOLDS_MAX_FILE bytes); FLD_EINVAL when it is not one. */
int fld_thresholds_read(const uint8_t *p, size_t len,
                        struct fld_thresholds **out, struct fld_err *err);
/* Append r's file form, and a newline, to out. */
void fld_thresholds_write(const struct fld_thresholds *r, struct fld_buf *out);

/*
 * Whether r fits t: it names t (id and hash), and its thresholds are t's,
 * with keys and values t can take (fld_template_check_thresholds()).
 * FLD_EINVAL naming the first problem.
 */
int fld_thresholds_check(const struct fld_thresholds *r,
                         const struct fld_template *t, struct fld_err *err);

/*
 * Check r against t, then set its thresholds on t: the form engine then
 * evaluates with them. The replaced thresholds' provenance becomes the
 * revision's source, verified: the province's administrator signed it.
 */
int fld_thresholds_apply(const struct fld_thresholds *r, struct fld_template *t,
                         struct fld_err *err);

/* The exact message an author signs for a revision of this hash. */
void fld_thresholds_sign_message(
    const uint8_t hash[32],
    uint8_t msg[sizeof FLD_THRESHOLDS_SIGN_PREFIX - 1 + 32]);

void fld_thresholds_free(struct fld_thresholds *r);

#endif
