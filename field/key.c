/*
 * key.c - the device's Ed25519 key pair: made, written to and read from its
 * key file, used to sign, and signatures checked (see key.h).
 *
 * `field init` makes the key and saves it; every command that writes a
 * version loads it, signs the version's domain-separated hash, and frees it
 * again. Every version received is checked with fld_sig_verify().
 *
 * Where secrets live. The 64-byte libsodium secret key (seed || public key)
 * sits in a struct fld_key allocated with sodium_malloc (guard pages,
 * mlock'd, wiped by sodium_free) and made read-only once filled. Every
 * other secret a function handles - the file text, which holds the seed in
 * hex when unprotected; the decoded seed; the key derived from the
 * passphrase; the decrypted secret key - is in one struct secrets, also
 * sodium_malloc'd, wiped with sodium_memzero and freed on every path out.
 *
 * Key files. Written once through file.c: a new file of mode exactly 0600
 * (O_EXCL, O_NOFOLLOW), written in full and fsync'd, put in place only if
 * the name is free (never over another file or through a symbolic link),
 * its folder fsync'd, and nothing left behind on any failure. Read through
 * file.c straight into guarded memory with a 4 KiB cap (a regular file
 * only), refused when group or others have any access (the message says
 * how to fix it), and checked line by line; every number read is bounded, so a
 * crafted file cannot make Argon2id allocate more than 1 GiB or run for
 * minutes. The sealed form holds the whole 64-byte secret key (seed ||
 * public key: 16 + 64 bytes = the 160 hex digits of key.h), so the public
 * line is checked twice: against the decrypted copy and against the key
 * the seed gives. A passphrase given for an unprotected file is ignored.
 */
#include "key.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "file.h"

#define MAGIC "field-key v1"
#define FILE_MAX 4096

#define SECRET_LEN crypto_sign_SECRETKEYBYTES /* seed || public key */
#define SALT_LEN crypto_pwhash_SALTBYTES
#define NONCE_LEN crypto_secretbox_NONCEBYTES
#define SEALED_LEN (crypto_secretbox_MACBYTES + SECRET_LEN)
#define BOX_KEY_LEN crypto_secretbox_KEYBYTES

/*
 * Bounds on the Argon2id cost a key file may ask for. libsodium's own
 * maxima (2^32 - 1 passes, terabytes) would let a crafted file stall or
 * exhaust the machine; SENSITIVE is 4 passes and 1 GiB.
 */
#define KDF_OPS_MIN crypto_pwhash_argon2id_OPSLIMIT_MIN
#define KDF_OPS_MAX 16ULL
#define KDF_MEM_MIN ((size_t)crypto_pwhash_argon2id_MEMLIMIT_MIN)
#define KDF_MEM_MAX ((size_t)1 << 30)

/* The file format of key.h spells these lengths out in hex digits. */
_Static_assert(FLD_KEY_PUBLIC_LEN == crypto_sign_PUBLICKEYBYTES, "public");
_Static_assert(FLD_KEY_SEED_LEN == crypto_sign_SEEDBYTES, "seed");
_Static_assert(FLD_SIG_LEN == crypto_sign_BYTES, "signature");
_Static_assert(SALT_LEN == 16, "salt: 32 hex digits");
_Static_assert(NONCE_LEN == 24, "nonce: 48 hex digits");
_Static_assert(SEALED_LEN == 80, "sealed: 160 hex digits");
_Static_assert(KDF_MEM_MAX <= crypto_pwhash_argon2id_MEMLIMIT_MAX, "mem");

struct fld_key {
    uint8_t sk[SECRET_LEN];
    uint8_t pk[FLD_KEY_PUBLIC_LEN];
};

/* Every temporary secret of a save or a load, in guarded memory. */
struct secrets {
    char text[FILE_MAX + 1]; /* the key file */
    char seed_hex[2 * FLD_KEY_SEED_LEN + 1];
    uint8_t seed[FLD_KEY_SEED_LEN];
    uint8_t box_key[BOX_KEY_LEN]; /* from the passphrase */
    uint8_t plain[SECRET_LEN];    /* the unsealed secret key */
};

/* What a key file says, apart from an unprotected seed. */
struct key_file {
    uint8_t pk[FLD_KEY_PUBLIC_LEN];
    bool is_protected;
    unsigned long long ops;
    size_t mem;
    uint8_t salt[SALT_LEN];
    uint8_t nonce[NONCE_LEN];
    uint8_t sealed[SEALED_LEN];
};

static unsigned long long kdf_ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
static size_t kdf_mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;

/* sodium_init() is idempotent and cheap after the first call. */
static int need_sodium(struct fld_err *err)
{
    if (sodium_init() < 0)
        return fld_err_set(err, FLD_EIO, "libsodium cannot be initialised");
    return FLD_OK;
}

/* Guarded memory; out of memory aborts, as everywhere in field (buf.h). */
static void *secure_alloc(size_t len)
{
    void *p = sodium_malloc(len);

    if (p == NULL)
        abort();
    return p;
}

static struct secrets *secrets_new(void)
{
    struct secrets *s = secure_alloc(sizeof *s);

    sodium_memzero(s, sizeof *s);
    return s;
}

static void secrets_free(struct secrets *s)
{
    if (s == NULL)
        return;
    sodium_memzero(s, sizeof *s);
    sodium_free(s);
}

/* ---- making keys -------------------------------------------------------- */

/* A new key pair in guarded memory: from seed, or random when seed is
 * NULL. */
static int make_key(const uint8_t *seed, struct fld_key **out,
                    struct fld_err *err)
{
    struct fld_key *k;
    int rc;

    *out = NULL;
    rc = need_sodium(err);
    if (rc != FLD_OK)
        return rc;
    k = secure_alloc(sizeof *k);
    if (seed != NULL)
        crypto_sign_seed_keypair(k->pk, k->sk, seed);
    else
        crypto_sign_keypair(k->pk, k->sk);
    sodium_mprotect_readonly(k);
    *out = k;
    return FLD_OK;
}

int fld_key_generate(struct fld_key **out, struct fld_err *err)
{
    return make_key(NULL, out, err);
}

int fld_key_from_seed(const uint8_t seed[FLD_KEY_SEED_LEN],
                      struct fld_key **out, struct fld_err *err)
{
    return make_key(seed, out, err);
}

void fld_key_free(struct fld_key *k)
{
    sodium_free(k); /* wipes; accepts NULL and read-only memory */
}

const uint8_t *fld_key_public(const struct fld_key *k)
{
    return k->pk;
}

void fld_key_public_hex(const struct fld_key *k, char out[65])
{
    fld_hex_encode(k->pk, FLD_KEY_PUBLIC_LEN, out);
}

void fld_key_set_kdf_cost(unsigned long long opslimit, size_t memlimit)
{
    /* A cost the loader would refuse would make unreadable key files. */
    assert(opslimit >= KDF_OPS_MIN && opslimit <= KDF_OPS_MAX);
    assert(memlimit >= KDF_MEM_MIN && memlimit <= KDF_MEM_MAX);
    kdf_ops = opslimit < KDF_OPS_MIN   ? KDF_OPS_MIN
              : opslimit > KDF_OPS_MAX ? KDF_OPS_MAX
                                       : opslimit;
    kdf_mem = memlimit < KDF_MEM_MIN   ? KDF_MEM_MIN
              : memlimit > KDF_MEM_MAX ? KDF_MEM_MAX
                                       : memlimit;
}

/* ---- signing and verifying ---------------------------------------------- */

void fld_key_sign(const struct fld_key *k, const uint8_t *msg, size_t len,
                  uint8_t sig[FLD_SIG_LEN])
{
    crypto_sign_detached(sig, NULL, msg, len, k->sk);
}

/*
 * libsodium (since 1.0.16, unless built with ED25519_COMPAT, which no
 * distribution does) refuses S >= L, small-order R, and non-canonical or
 * small-order public keys; the unit tests pin each of these, so a build
 * against a lax libsodium fails its tests rather than accepting forgeries.
 */
int fld_sig_verify(const uint8_t pub[FLD_KEY_PUBLIC_LEN], const uint8_t *msg,
                   size_t len, const uint8_t sig[FLD_SIG_LEN])
{
    if (sodium_init() < 0)
        return FLD_EBADSIG; /* fail closed */
    if (crypto_sign_verify_detached(sig, msg, len, pub) != 0)
        return FLD_EBADSIG;
    return FLD_OK;
}

/* ---- writing key files -------------------------------------------------- */

/* The key that seals the secret key: Argon2id of the passphrase with the
 * file's salt and cost, into s->box_key. Saving and loading derive it
 * alike, or no file would open again. */
static int derive_box_key(struct secrets *s, const char *passphrase,
                          const uint8_t salt[SALT_LEN], unsigned long long ops,
                          size_t mem, const char *path, struct fld_err *err)
{
    if (crypto_pwhash(s->box_key, sizeof s->box_key, passphrase,
                      strlen(passphrase), salt, ops, mem,
                      crypto_pwhash_ALG_ARGON2ID13) == 0)
        return FLD_OK;
    return fld_err_set(err, FLD_EIO,
                       "cannot derive a key from the passphrase for %s "
                       "(out of memory?)",
                       path);
}

int fld_key_save(const struct fld_key *k, const char *path,
                 const char *passphrase, struct fld_err *err)
{
    bool is_protected = passphrase != NULL && passphrase[0] != '\0';
    char pk_hex[2 * FLD_KEY_PUBLIC_LEN + 1];
    char salt_hex[2 * SALT_LEN + 1];
    char nonce_hex[2 * NONCE_LEN + 1];
    char sealed_hex[2 * SEALED_LEN + 1];
    uint8_t salt[SALT_LEN], nonce[NONCE_LEN], sealed[SEALED_LEN];
    struct secrets *s;
    int rc, n;

    rc = need_sodium(err);
    if (rc != FLD_OK)
        return rc;
    s = secrets_new();
    fld_hex_encode(k->pk, FLD_KEY_PUBLIC_LEN, pk_hex);
    if (!is_protected) {
        fld_hex_encode(k->sk, FLD_KEY_SEED_LEN, s->seed_hex);
        n = snprintf(s->text, sizeof s->text,
                     MAGIC "\npublic %s\nkdf none\nseed %s\n", pk_hex,
                     s->seed_hex);
    } else {
        randombytes_buf(salt, sizeof salt);
        randombytes_buf(nonce, sizeof nonce);
        rc = derive_box_key(s, passphrase, salt, kdf_ops, kdf_mem, path, err);
        if (rc != FLD_OK)
            goto done;
        crypto_secretbox_easy(sealed, k->sk, SECRET_LEN, nonce, s->box_key);
        fld_hex_encode(salt, sizeof salt, salt_hex);
        fld_hex_encode(nonce, sizeof nonce, nonce_hex);
        fld_hex_encode(sealed, sizeof sealed, sealed_hex);
        n = snprintf(s->text, sizeof s->text,
                     MAGIC "\npublic %s\nkdf argon2id13 %llu %zu %s\n"
                           "sealed %s %s\n",
                     pk_hex, kdf_ops, kdf_mem, salt_hex, nonce_hex, sealed_hex);
    }
    assert(n > 0 && (size_t)n < sizeof s->text);
    /* new (a key file is never overwritten), exactly 0600 whatever the
     * umask, written in full and fsync'd with its folder, or not at all */
    rc = fld_file_write(path, s->text, (size_t)n, 0600,
                        FLD_FILE_NEW | FLD_FILE_EXACT_MODE, err);
done:
    secrets_free(s);
    return rc;
}

/* ---- reading key files -------------------------------------------------- */

/*
 * Read the whole key file into text (FILE_MAX + 1 bytes, in guarded
 * memory: the file module reads straight into it), NUL-terminated. The
 * mode is checked before a byte is read.
 */
static int read_key_file(const char *path, char *text, size_t *len,
                         struct fld_err *err)
{
    struct stat st;
    unsigned mode;
    int fd, rc;

    *len = 0;
    rc = fld_file_open(path, &fd, &st, err);
    if (rc == FLD_NOTFOUND)
        return fld_err_set(err, FLD_NOTFOUND, "there is no key file %s", path);
    if (rc != FLD_OK)
        return rc;
    mode = (unsigned)st.st_mode & 07777;
    if (mode & 044)
        rc = fld_err_set(err, FLD_EIO,
                         "key file %s is readable by other users (mode %04o); "
                         "fix it with: chmod 600 %s",
                         path, mode, path);
    else if (mode != 0600 && mode != 0400)
        rc = fld_err_set(err, FLD_EIO,
                         "key file %s has mode %04o, but a key file must have "
                         "mode 0600; fix it with: chmod 600 %s",
                         path, mode, path);
    else
        rc = fld_file_read_fd(fd, path, FILE_MAX, (uint8_t *)text, len, err);
    close(fd);
    if (rc == FLD_ELIMIT)
        rc = fld_err_set(err, FLD_ECORRUPT,
                         "%s is larger than 4 KiB, so it is not a key file",
                         path);
    return rc;
}

static int damaged(struct fld_err *err, const char *path, int line,
                   const char *what)
{
    return fld_err_set(err, FLD_ECORRUPT, "key file %s is damaged: line %d %s",
                       path, line, what);
}

/*
 * Cut the next '\n'-terminated line out of [*cur, end) and split it on
 * single spaces into at most max fields. Returns the number of fields, or
 * -1 when there is no complete line, a field is empty or there are more.
 */
static int next_fields(char **cur, char *end, char **fields, int max)
{
    char *line = *cur, *nl, *p;
    int n = 0, i;

    nl = memchr(line, '\n', (size_t)(end - line));
    if (nl == NULL)
        return -1;
    *nl = '\0';
    *cur = nl + 1;
    for (p = line;;) {
        char *sp = strchr(p, ' ');

        if (n == max)
            return -1;
        fields[n++] = p;
        if (sp == NULL)
            break;
        *sp = '\0';
        p = sp + 1;
    }
    for (i = 0; i < n; i++)
        if (fields[i][0] == '\0')
            return -1;
    return n;
}

/* Decimal digits without sign or leading zeros, at most max; -1 if not. */
static int parse_count(const char *s, unsigned long long max,
                       unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i;

    if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
        return -1;
    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v > (max - (unsigned long long)(s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (unsigned long long)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/*
 * Check every line of the key file text[0..len) and fill f; an unprotected
 * seed goes to seed. text is cut up in the process.
 */
static int parse_key_file(char *text, size_t len, struct key_file *f,
                          uint8_t seed[FLD_KEY_SEED_LEN], const char *path,
                          struct fld_err *err)
{
    char *cur = text, *end = text + len, *fld[5];
    unsigned long long mem;
    int n;

    memset(f, 0, sizeof *f);
    if (memchr(text, '\0', len) != NULL)
        return fld_err_set(err, FLD_ECORRUPT,
                           "%s is not a field key file (it contains a NUL "
                           "byte)",
                           path);

    n = next_fields(&cur, end, fld, 2);
    if (n != 2 || strcmp(fld[0], "field-key") != 0)
        return fld_err_set(err, FLD_ECORRUPT,
                           "%s is not a field key file (it does not start "
                           "with \"" MAGIC "\")",
                           path);
    if (strcmp(fld[1], "v1") != 0)
        return fld_err_set(err, FLD_ECORRUPT,
                           "key file %s has a format this version of field "
                           "cannot read",
                           path);

    n = next_fields(&cur, end, fld, 2);
    if (n != 2 || strcmp(fld[0], "public") != 0 ||
        fld_hex_decode(fld[1], f->pk, sizeof f->pk) != 0)
        return damaged(err, path, 2,
                       "should be \"public\" and 64 lowercase hex digits");

    n = next_fields(&cur, end, fld, 5);
    if (n == 2 && strcmp(fld[0], "kdf") == 0 && strcmp(fld[1], "none") == 0) {
        f->is_protected = false;
    } else if (n == 5 && strcmp(fld[0], "kdf") == 0 &&
               strcmp(fld[1], "argon2id13") == 0) {
        f->is_protected = true;
        if (parse_count(fld[2], KDF_OPS_MAX, &f->ops) != 0 ||
            f->ops < KDF_OPS_MIN)
            return damaged(err, path, 3,
                           "has an Argon2id pass count outside 1..16");
        if (parse_count(fld[3], KDF_MEM_MAX, &mem) != 0 || mem < KDF_MEM_MIN)
            return damaged(err, path, 3,
                           "has an Argon2id memory size outside 8 KiB..1 GiB");
        f->mem = (size_t)mem;
        if (fld_hex_decode(fld[4], f->salt, sizeof f->salt) != 0)
            return damaged(err, path, 3,
                           "should end with a salt of 32 lowercase hex digits");
    } else {
        return damaged(err, path, 3,
                       "should be \"kdf none\" or \"kdf argon2id13\" and its "
                       "parameters");
    }

    n = next_fields(&cur, end, fld, 3);
    if (!f->is_protected) {
        if (n != 2 || strcmp(fld[0], "seed") != 0 ||
            fld_hex_decode(fld[1], seed, FLD_KEY_SEED_LEN) != 0)
            return damaged(err, path, 4,
                           "should be \"seed\" and 64 lowercase hex digits");
    } else {
        if (n != 3 || strcmp(fld[0], "sealed") != 0 ||
            fld_hex_decode(fld[1], f->nonce, sizeof f->nonce) != 0 ||
            fld_hex_decode(fld[2], f->sealed, sizeof f->sealed) != 0)
            return damaged(err, path, 4,
                           "should be \"sealed\", 48 and 160 lowercase hex "
                           "digits");
    }
    if (cur != end)
        return damaged(err, path, 5, "should not be there");
    return FLD_OK;
}

int fld_key_load(const char *path, const char *passphrase, struct fld_key **out,
                 struct fld_err *err)
{
    struct fld_key *k = NULL;
    struct secrets *s;
    struct key_file f;
    size_t len;
    int rc;

    *out = NULL;
    rc = need_sodium(err);
    if (rc != FLD_OK)
        return rc;
    s = secrets_new();
    rc = read_key_file(path, s->text, &len, err);
    if (rc != FLD_OK)
        goto done;
    rc = parse_key_file(s->text, len, &f, s->seed, path, err);
    if (rc != FLD_OK)
        goto done;

    if (f.is_protected) {
        if (passphrase == NULL || passphrase[0] == '\0') {
            rc = fld_err_set(err, FLD_EPASS,
                             "key file %s is protected by a passphrase, and "
                             "none was given",
                             path);
            goto done;
        }
        rc = derive_box_key(s, passphrase, f.salt, f.ops, f.mem, path, err);
        if (rc != FLD_OK)
            goto done;
        /* A wrong passphrase and a damaged seal look the same here. */
        if (crypto_secretbox_open_easy(s->plain, f.sealed, sizeof f.sealed,
                                       f.nonce, s->box_key) != 0) {
            rc = fld_err_set(err, FLD_EPASS,
                             "the passphrase does not open key file %s "
                             "(wrong passphrase, or a damaged file)",
                             path);
            goto done;
        }
        if (sodium_memcmp(s->plain + FLD_KEY_SEED_LEN, f.pk,
                          FLD_KEY_PUBLIC_LEN) != 0) {
            rc = fld_err_set(err, FLD_ECORRUPT,
                             "key file %s is damaged: its sealed key does not "
                             "belong to its public key",
                             path);
            goto done;
        }
        memcpy(s->seed, s->plain, FLD_KEY_SEED_LEN);
    }

    if ((rc = make_key(s->seed, &k, err)) != FLD_OK)
        goto done;
    if (sodium_memcmp(k->pk, f.pk, FLD_KEY_PUBLIC_LEN) != 0) {
        rc = fld_err_set(err, FLD_ECORRUPT,
                         "key file %s is damaged: its secret key does not "
                         "match its public key",
                         path);
        goto done;
    }
    *out = k;
    k = NULL;
    rc = FLD_OK;
done:
    fld_key_free(k);
    secrets_free(s);
    return rc;
}

int fld_key_file_is_protected(const char *path)
{
    struct secrets *s;
    struct key_file f;
    size_t len;
    int rc;

    if (sodium_init() < 0)
        return -1;
    s = secrets_new();
    rc = read_key_file(path, s->text, &len, NULL);
    if (rc == FLD_OK)
        rc = parse_key_file(s->text, len, &f, s->seed, path, NULL);
    secrets_free(s);
    if (rc != FLD_OK)
        return -1;
    return f.is_protected ? 1 : 0;
}
