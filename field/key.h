/*
 * key.h - the device identity: an Ed25519 key pair made by `field init`.
 *
 * The secret half lives only in sodium_malloc'd memory (guarded pages,
 * locked, wiped on free) and on disk in a key file created with
 * O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600. The file may be protected by a
 * passphrase: the 64-byte secret key (seed, then public key) is then sealed
 * with crypto_secretbox under a key derived by Argon2id (crypto_pwhash), so
 * a stolen laptop does not give away the signing key. The public half is the
 * device's identity: its 64 lowercase hex digits are the "author" of every
 * version the device signs.
 *
 * Key file format (text, one field per line, see docs/FORMATS.md):
 *   field-key v1
 *   public <64 hex>
 *   kdf none                                      (unprotected) or
 *   kdf argon2id13 <opslimit> <memlimit> <32 hex salt>
 *   seed <64 hex>                                 (unprotected) or
 *   sealed <48 hex nonce> <160 hex ciphertext>    (protected)
 * The loader checks every line, the lengths, that the seed gives back the
 * stored public key, and refuses files larger than 4 KiB.
 */
#ifndef FLD_KEY_H
#define FLD_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define FLD_KEY_PUBLIC_LEN 32
#define FLD_KEY_SEED_LEN 32
#define FLD_SIG_LEN 64

struct fld_key;

/* A fresh random key pair; *out is freed with fld_key_free(). */
int fld_key_generate(struct fld_key **out, struct fld_err *err);

/* The key pair of a 32-byte seed (for test vectors and key files). */
int fld_key_from_seed(const uint8_t seed[FLD_KEY_SEED_LEN],
                      struct fld_key **out, struct fld_err *err);

/*
 * Write k to path, which must not exist yet (FLD_EXISTS otherwise; symlinks
 * are never followed). passphrase NULL or "" writes the seed unprotected.
 * The file is written in full, fsync'd, and removed again on any failure.
 * FLD_EFULL when the disk is full, FLD_EIO for other failures.
 */
int fld_key_save(const struct fld_key *k, const char *path,
                 const char *passphrase, struct fld_err *err);

/*
 * Read the key at path. FLD_NOTFOUND when there is no file, FLD_ECORRUPT
 * when it is malformed or its seed does not match its public key,
 * FLD_EPASS when it is protected and passphrase is NULL or wrong, FLD_EIO
 * when it cannot be read or is readable by others (mode not 0600 or 0400).
 */
int fld_key_load(const char *path, const char *passphrase, struct fld_key **out,
                 struct fld_err *err);

/* 1 when the file at path is passphrase-protected, 0 when not, -1 on error. */
int fld_key_file_is_protected(const char *path);

/* The public key, borrowed from k (valid until fld_key_free). */
const uint8_t *fld_key_public(const struct fld_key *k);
/* The public key as 64 lowercase hex digits plus NUL. */
void fld_key_public_hex(const struct fld_key *k, char out[65]);

/* Ed25519 detached signature of msg. */
void fld_key_sign(const struct fld_key *k, const uint8_t *msg, size_t len,
                  uint8_t sig[FLD_SIG_LEN]);

/* Wipe and free; NULL is fine. */
void fld_key_free(struct fld_key *k);

/*
 * Verify an Ed25519 signature with libsodium's strict rules (non-canonical
 * signatures and small-order keys are refused). FLD_OK or FLD_EBADSIG.
 */
int fld_sig_verify(const uint8_t pub[FLD_KEY_PUBLIC_LEN], const uint8_t *msg,
                   size_t len, const uint8_t sig[FLD_SIG_LEN]);

/*
 * Argon2id cost used for new key files. Tests lower it through
 * fld_key_set_kdf_cost() to keep the suite fast; the file records the cost
 * it was made with, so loading always uses the right one.
 */
void fld_key_set_kdf_cost(unsigned long long opslimit, size_t memlimit);

#endif
