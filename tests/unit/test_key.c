/*
 * test_key.c - the device key: known-answer vectors, signatures that must
 * and must not verify, and key files written, read, damaged and refused.
 *
 * Each test runs in its own fresh directory (mkdtemp), removed afterwards.
 * Argon2id runs at libsodium's minimum cost so the suite stays fast; the
 * file records the cost, so loading is tested with the cost it was saved at.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "key.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 8032, section 7.1, TEST 1 (empty message). */
#define RFC_SECRET                                                             \
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define RFC_PUBLIC                                                             \
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define RFC_SIG                                                                \
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8"     \
    "821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"

/* Seed bytes 0, 1, ..., 31; computed once (and cross-checked with another
 * Ed25519 implementation), then fixed here. */
#define SEED_SEQ_HEX                                                           \
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define SEQ_PUBLIC                                                             \
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
#define SEQ_MSG "field-version-v1"
#define SEQ_SIG                                                                \
    "6dab1a8c5f1b907d9f2f92d1006c5dee75f89471a106f86a3b02366f65d2befbec1c"     \
    "b0fee4e5808f693153929d3455f0aacd7de5743f7dc659d91b1b87bfce0e"

/* The order L of the Ed25519 group, little-endian. */
static const uint8_t group_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
    0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

struct fixture {
    char dir[256];
    char path[300]; /* dir/key */
};

/* ---- helpers ---------------------------------------------------------- */

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    const char *tmp = getenv("TMPDIR");

    if (fx == NULL)
        return -1;
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    snprintf(fx->dir, sizeof fx->dir, "%s/field-test-key-XXXXXX", tmp);
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/key", fx->dir);
    fld_key_set_kdf_cost(crypto_pwhash_OPSLIMIT_MIN,
                         crypto_pwhash_MEMLIMIT_MIN);
    *state = fx;
    return 0;
}

/* Remove dir and what is in it (one level of subdirectories). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[600];
    struct stat st;

    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    remove_tree(fx->dir);
    free(fx);
    return 0;
}

static void from_hex(const char *hex, uint8_t *out, size_t len)
{
    assert_int_equal(fld_hex_decode(hex, out, len), 0);
}

static void to_hex(const uint8_t *p, size_t len, char *out)
{
    fld_hex_encode(p, len, out);
}

static struct fld_key *key_of_hex(const char *seed_hex)
{
    uint8_t seed[FLD_KEY_SEED_LEN];
    struct fld_key *k = NULL;
    struct fld_err err;

    from_hex(seed_hex, seed, sizeof seed);
    assert_int_equal(fld_key_from_seed(seed, &k, &err), FLD_OK);
    assert_non_null(k);
    return k;
}

/* Write exactly len bytes to path (replacing it) with the given mode. */
static void write_raw(const char *path, const void *data, size_t len,
                      mode_t mode)
{
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

static void write_text(const char *path, const char *text)
{
    write_raw(path, text, strlen(text), 0600);
}

/* The contents of path, NUL-terminated, in a static buffer. */
static const char *read_text(const char *path, size_t *len)
{
    static char buf[16384];
    ssize_t n;
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    n = read(fd, buf, sizeof buf - 1);
    assert_true(n >= 0);
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = (size_t)n;
    return buf;
}

static int file_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* text with the first "from" replaced by "to", in a static buffer. */
static const char *replaced(const char *text, const char *from, const char *to)
{
    static char buf[16384];
    const char *at = strstr(text, from);
    size_t pre;

    if (at == NULL)
        fail_msg("\"%s\" not in the key file", from);
    pre = (size_t)(at - text);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)pre, text, to,
             at + strlen(from));
    return buf;
}

static int load_code(const char *path, const char *pass)
{
    struct fld_key *k = (struct fld_key *)&k; /* must be cleared */
    struct fld_err err;
    int rc;

    fld_err_clear(&err);
    rc = fld_key_load(path, pass, &k, &err);
    if (rc != FLD_OK) {
        if (k != NULL)
            fail_msg("load failed (%d) but left *out set", rc);
        if (err.code != rc || err.msg[0] == '\0')
            fail_msg("load failed (%d) without a message", rc);
    }
    fld_key_free(k);
    return rc;
}

/* Write text as the key file and expect loading it to give code. */
static void expect_load(const char *path, const char *text, const char *pass,
                        int code, const char *why)
{
    int rc;

    write_text(path, text);
    rc = load_code(path, pass);
    if (rc != code)
        fail_msg("%s: load gave %d (%s), want %d (%s)", why, rc,
                 fld_strerror(rc), code, fld_strerror(code));
}

static void save_ok(const struct fld_key *k, const char *path, const char *pass)
{
    struct fld_err err;

    fld_err_clear(&err);
    if (fld_key_save(k, path, pass, &err) != FLD_OK)
        fail_msg("save: %s", err.msg);
}

static struct fld_key *load_ok(const char *path, const char *pass)
{
    struct fld_key *k = NULL;
    struct fld_err err;

    fld_err_clear(&err);
    if (fld_key_load(path, pass, &k, &err) != FLD_OK)
        fail_msg("load: %s", err.msg);
    assert_non_null(k);
    return k;
}

/* ---- known answers ------------------------------------------------------ */

static void test_rfc8032_vector_1(void **state)
{
    struct fld_key *k = key_of_hex(RFC_SECRET);
    uint8_t sig[FLD_SIG_LEN], pub[FLD_KEY_PUBLIC_LEN];
    char hex[2 * FLD_SIG_LEN + 1];

    (void)state;
    fld_key_public_hex(k, hex);
    assert_string_equal(hex, RFC_PUBLIC);
    to_hex(fld_key_public(k), FLD_KEY_PUBLIC_LEN, hex);
    assert_string_equal(hex, RFC_PUBLIC);
    fld_key_sign(k, NULL, 0, sig);
    to_hex(sig, sizeof sig, hex);
    assert_string_equal(hex, RFC_SIG);
    from_hex(RFC_PUBLIC, pub, sizeof pub);
    assert_int_equal(fld_sig_verify(pub, NULL, 0, sig), FLD_OK);
    fld_key_free(k);
}

static void test_fixed_seed_gives_fixed_key_and_signature(void **state)
{
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX);
    uint8_t sig[FLD_SIG_LEN];
    char hex[2 * FLD_SIG_LEN + 1];

    (void)state;
    fld_key_public_hex(k, hex);
    assert_string_equal(hex, SEQ_PUBLIC);
    fld_key_sign(k, (const uint8_t *)SEQ_MSG, strlen(SEQ_MSG), sig);
    to_hex(sig, sizeof sig, hex);
    assert_string_equal(hex, SEQ_SIG);
    assert_int_equal(fld_sig_verify(fld_key_public(k), (const uint8_t *)SEQ_MSG,
                                    strlen(SEQ_MSG), sig),
                     FLD_OK);
    fld_key_free(k);
}

/* ---- signatures that must fail ------------------------------------------ */

static void test_flipped_bit_in_message_or_signature_fails(void **state)
{
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX);
    uint8_t msg[] = SEQ_MSG, sig[FLD_SIG_LEN];
    size_t i, len = sizeof msg - 1;

    (void)state;
    fld_key_sign(k, msg, len, sig);
    assert_int_equal(fld_sig_verify(fld_key_public(k), msg, len, sig), FLD_OK);
    for (i = 0; i < 8 * len; i++) {
        msg[i / 8] ^= (uint8_t)(1u << (i % 8));
        if (fld_sig_verify(fld_key_public(k), msg, len, sig) != FLD_EBADSIG)
            fail_msg("message bit %zu flipped still verifies", i);
        msg[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (i = 0; i < 8 * FLD_SIG_LEN; i++) {
        sig[i / 8] ^= (uint8_t)(1u << (i % 8));
        if (fld_sig_verify(fld_key_public(k), msg, len, sig) != FLD_EBADSIG)
            fail_msg("signature bit %zu flipped still verifies", i);
        sig[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    /* a shorter or longer message fails too */
    assert_int_equal(fld_sig_verify(fld_key_public(k), msg, len - 1, sig),
                     FLD_EBADSIG);
    assert_int_equal(fld_sig_verify(fld_key_public(k), msg, len + 1, sig),
                     FLD_EBADSIG);
    assert_int_equal(fld_sig_verify(fld_key_public(k), msg, len, sig), FLD_OK);
    fld_key_free(k);
}

static void test_wrong_key_fails(void **state)
{
    struct fld_key *a = key_of_hex(SEED_SEQ_HEX), *b = NULL, *c = NULL;
    struct fld_err err;
    uint8_t sig[FLD_SIG_LEN];
    char ha[65], hb[65], hc[65];

    (void)state;
    assert_int_equal(fld_key_generate(&b, &err), FLD_OK);
    assert_int_equal(fld_key_generate(&c, &err), FLD_OK);
    fld_key_public_hex(a, ha);
    fld_key_public_hex(b, hb);
    fld_key_public_hex(c, hc);
    assert_string_not_equal(ha, hb);
    assert_string_not_equal(hb, hc);

    fld_key_sign(b, (const uint8_t *)"x", 1, sig);
    assert_int_equal(
        fld_sig_verify(fld_key_public(b), (const uint8_t *)"x", 1, sig),
        FLD_OK);
    assert_int_equal(
        fld_sig_verify(fld_key_public(a), (const uint8_t *)"x", 1, sig),
        FLD_EBADSIG);
    assert_int_equal(
        fld_sig_verify(fld_key_public(c), (const uint8_t *)"x", 1, sig),
        FLD_EBADSIG);
    fld_key_free(a);
    fld_key_free(b);
    fld_key_free(c);
    fld_key_free(NULL);
}

/*
 * S + L: the same point [S]B, so a lax verifier accepts it - a second valid
 * signature for the same message made without the key (malleability).
 */
static void test_noncanonical_signature_refused(void **state)
{
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX);
    uint8_t sig[FLD_SIG_LEN], bad[FLD_SIG_LEN];
    unsigned carry = 0;
    size_t i;

    (void)state;
    fld_key_sign(k, (const uint8_t *)SEQ_MSG, strlen(SEQ_MSG), sig);
    assert_int_equal(fld_sig_verify(fld_key_public(k), (const uint8_t *)SEQ_MSG,
                                    strlen(SEQ_MSG), sig),
                     FLD_OK);
    memcpy(bad, sig, sizeof bad);
    for (i = 0; i < 32; i++) {
        unsigned sum = bad[32 + i] + group_order[i] + carry;

        bad[32 + i] = (uint8_t)sum;
        carry = sum >> 8;
    }
    assert_int_equal(carry, 0); /* S < L < 2^253: S + L fits 256 bits */
    assert_memory_not_equal(bad, sig, sizeof sig);
    assert_int_equal(fld_sig_verify(fld_key_public(k), (const uint8_t *)SEQ_MSG,
                                    strlen(SEQ_MSG), bad),
                     FLD_EBADSIG);
    /* the RFC vector's S + L as well */
    from_hex(RFC_SIG, sig, sizeof sig);
    for (carry = 0, i = 0; i < 32; i++) {
        unsigned sum = sig[32 + i] + group_order[i] + carry;

        sig[32 + i] = (uint8_t)sum;
        carry = sum >> 8;
    }
    {
        uint8_t pub[FLD_KEY_PUBLIC_LEN];

        from_hex(RFC_PUBLIC, pub, sizeof pub);
        assert_int_equal(fld_sig_verify(pub, NULL, 0, sig), FLD_EBADSIG);
    }
    fld_key_free(k);
}

static void test_small_order_public_keys_refused(void **state)
{
    /* The identity point: [k]A = 0, so R = [S]B verifies any message for a
     * lax verifier. With S = 1, R is the base point B. */
    static const char identity[] =
        "0100000000000000000000000000000000000000000000000000000000000000";
    static const char base_point[] =
        "5866666666666666666666666666666666666666666666666666666666666666";
    static const char *const small_order[] = {
        identity,
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    };
    uint8_t pub[FLD_KEY_PUBLIC_LEN], sig[FLD_SIG_LEN];
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX);
    size_t i;

    (void)state;
    from_hex(identity, pub, sizeof pub);
    memset(sig, 0, sizeof sig);
    from_hex(base_point, sig, 32);
    sig[32] = 1;
    assert_int_equal(fld_sig_verify(pub, (const uint8_t *)"anything", 8, sig),
                     FLD_EBADSIG);
    assert_int_equal(fld_sig_verify(pub, NULL, 0, sig), FLD_EBADSIG);

    fld_key_sign(k, (const uint8_t *)"m", 1, sig);
    for (i = 0; i < N(small_order); i++) {
        from_hex(small_order[i], pub, sizeof pub);
        if (fld_sig_verify(pub, (const uint8_t *)"m", 1, sig) != FLD_EBADSIG)
            fail_msg("small-order key %s accepted", small_order[i]);
    }
    fld_key_free(k);
}

/* ---- saving and loading -------------------------------------------------- */

static void test_unprotected_round_trip(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX), *back;
    uint8_t s1[FLD_SIG_LEN], s2[FLD_SIG_LEN];
    struct stat st;

    save_ok(k, fx->path, NULL);
    assert_int_equal(stat(fx->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_string_equal(read_text(fx->path, NULL), "field-key v1\n"
                                                   "public " SEQ_PUBLIC "\n"
                                                   "kdf none\n"
                                                   "seed " SEED_SEQ_HEX "\n");
    assert_int_equal(fld_key_file_is_protected(fx->path), 0);

    back = load_ok(fx->path, NULL);
    assert_memory_equal(fld_key_public(back), fld_key_public(k),
                        FLD_KEY_PUBLIC_LEN);
    /* Ed25519 is deterministic: the same signature means the same secret */
    fld_key_sign(k, (const uint8_t *)"abc", 3, s1);
    fld_key_sign(back, (const uint8_t *)"abc", 3, s2);
    assert_memory_equal(s1, s2, sizeof s1);
    fld_key_free(back);

    /* a passphrase given for an unprotected file is not needed */
    back = load_ok(fx->path, "unused");
    fld_key_free(back);
    /* "" is "no passphrase" when saving too */
    unlink(fx->path);
    save_ok(k, fx->path, "");
    assert_int_equal(fld_key_file_is_protected(fx->path), 0);
    fld_key_free(k);
}

static void test_generated_key_round_trip(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = NULL, *back;
    struct fld_err err;
    uint8_t sig[FLD_SIG_LEN];

    assert_int_equal(fld_key_generate(&k, &err), FLD_OK);
    save_ok(k, fx->path, "pass");
    back = load_ok(fx->path, "pass");
    assert_memory_equal(fld_key_public(back), fld_key_public(k),
                        FLD_KEY_PUBLIC_LEN);
    fld_key_sign(back, (const uint8_t *)"x", 1, sig);
    assert_int_equal(
        fld_sig_verify(fld_key_public(k), (const uint8_t *)"x", 1, sig),
        FLD_OK);
    fld_key_free(back);
    fld_key_free(k);
}

#define VN_PASS "m\xe1\xba\xadt kh\xe1\xba\xa9u d\xc3\xa0i" /* mật khẩu dài */

static void test_protected_round_trip_and_passphrases(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX), *back;
    struct fld_err err;
    uint8_t sig[FLD_SIG_LEN];
    char hex[2 * FLD_SIG_LEN + 1];
    const char *text;
    struct stat st;

    save_ok(k, fx->path, VN_PASS);
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    text = read_text(fx->path, NULL);
    assert_true(strncmp(text,
                        "field-key v1\npublic " SEQ_PUBLIC "\n"
                        "kdf argon2id13 1 8192 ",
                        strlen("field-key v1\npublic " SEQ_PUBLIC "\n"
                               "kdf argon2id13 1 8192 ")) == 0);
    assert_non_null(strstr(text, "\nsealed "));
    assert_null(strstr(text, SEED_SEQ_HEX));
    assert_null(strstr(text, "seed"));
    assert_int_equal(fld_key_file_is_protected(fx->path), 1);

    back = load_ok(fx->path, VN_PASS);
    fld_key_sign(back, (const uint8_t *)SEQ_MSG, strlen(SEQ_MSG), sig);
    to_hex(sig, sizeof sig, hex);
    assert_string_equal(hex, SEQ_SIG);
    fld_key_free(back);

    assert_int_equal(load_code(fx->path, "wrong"), FLD_EPASS);
    assert_int_equal(load_code(fx->path, VN_PASS "x"), FLD_EPASS);
    assert_int_equal(load_code(fx->path, NULL), FLD_EPASS);
    assert_int_equal(load_code(fx->path, ""), FLD_EPASS);
    back = (struct fld_key *)&back;
    assert_int_equal(fld_key_load(fx->path, NULL, &back, &err), FLD_EPASS);
    assert_null(back);
    assert_non_null(strstr(err.msg, "none was given"));
    assert_int_equal(fld_key_load(fx->path, "", &back, &err), FLD_EPASS);
    assert_non_null(strstr(err.msg, "none was given"));
    assert_int_equal(fld_key_load(fx->path, "wrong", &back, &err), FLD_EPASS);
    assert_non_null(strstr(err.msg, "wrong passphrase"));

    /* two saves of one key differ (fresh salt and nonce) */
    {
        char first[1024];
        char path2[400];

        snprintf(first, sizeof first, "%s", text);
        snprintf(path2, sizeof path2, "%s/key2", fx->dir);
        save_ok(k, path2, VN_PASS);
        assert_string_not_equal(read_text(path2, NULL), first);
    }
    fld_key_free(k);
}

static void test_save_refuses_existing_file(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX);
    struct fld_err err;
    struct stat st;

    write_raw(fx->path, "precious\n", 9, 0644);
    assert_int_equal(fld_key_save(k, fx->path, NULL, &err), FLD_EXISTS);
    assert_non_null(strstr(err.msg, fx->path));
    assert_int_equal(fld_key_save(k, fx->path, "pw", &err), FLD_EXISTS);
    assert_string_equal(read_text(fx->path, NULL), "precious\n");
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);

    /* a saved key is not overwritten by another either */
    unlink(fx->path);
    save_ok(k, fx->path, NULL);
    fld_key_free(k);
    k = key_of_hex(RFC_SECRET);
    assert_int_equal(fld_key_save(k, fx->path, NULL, &err), FLD_EXISTS);
    assert_non_null(strstr(read_text(fx->path, NULL), SEQ_PUBLIC));
    fld_key_free(k);
}

static void test_save_never_follows_symlinks(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX);
    struct fld_err err;
    char target[400];

    /* dangling: following it would create the target */
    snprintf(target, sizeof target, "%s/target", fx->dir);
    assert_int_equal(symlink(target, fx->path), 0);
    assert_int_equal(fld_key_save(k, fx->path, NULL, &err), FLD_EXISTS);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_false(file_exists(target));

    /* to an existing file: it must stay as it was */
    write_raw(target, "precious\n", 9, 0600);
    assert_int_equal(fld_key_save(k, fx->path, "pw", &err), FLD_EXISTS);
    assert_string_equal(read_text(target, NULL), "precious\n");
    fld_key_free(k);
}

static void test_save_into_missing_directory(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX);
    struct fld_err err;
    char path[400];

    snprintf(path, sizeof path, "%s/no/such/key", fx->dir);
    assert_int_equal(fld_key_save(k, path, NULL, &err), FLD_EIO);
    assert_non_null(strstr(err.msg, path));
    assert_false(file_exists(path));
    fld_key_free(k);
}

/* A write that fails half-way (file size limit) leaves no file behind. */
static void test_failed_save_leaves_nothing(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX);
    struct fld_err err;
    struct rlimit old, small;
    void (*old_handler)(int);
    int rc;

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 100; /* the key file is about 160 bytes */
    old_handler = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    rc = fld_key_save(k, fx->path, NULL, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);

    assert_int_equal(rc, FLD_EIO);
    assert_non_null(strstr(err.msg, fx->path));
    assert_false(file_exists(fx->path));
    fld_key_free(k);
}

static void test_mode_is_0600_whatever_the_umask(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX);
    static const mode_t masks[] = {0, 022, 0177, 0377};
    struct stat st;
    mode_t old;
    size_t i;

    for (i = 0; i < N(masks); i++) {
        unlink(fx->path);
        old = umask(masks[i]);
        save_ok(k, fx->path, NULL);
        umask(old);
        assert_int_equal(stat(fx->path, &st), 0);
        if ((st.st_mode & 07777) != 0600)
            fail_msg("umask %04o gave mode %04o", (unsigned)masks[i],
                     (unsigned)(st.st_mode & 07777));
    }
    fld_key_free(k);
}

static void test_load_missing_file(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(load_code(fx->path, NULL), FLD_NOTFOUND);
    assert_int_equal(fld_key_file_is_protected(fx->path), -1);
}

static void test_load_refuses_loose_modes(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX), *back = NULL;
    static const mode_t loose[] = {0644, 0640, 0604, 0660,  0666, 0620,
                                   0602, 0700, 0610, 04600, 0200, 0000};
    struct fld_err err;
    size_t i;

    /* as root, 0000 and 0200 still open: the mode check refuses them */
    save_ok(k, fx->path, NULL);
    for (i = 0; i < N(loose); i++) {
        assert_int_equal(chmod(fx->path, loose[i]), 0);
        fld_err_clear(&err);
        back = (struct fld_key *)&back;
        if (fld_key_load(fx->path, NULL, &back, &err) != FLD_EIO)
            fail_msg("mode %04o accepted", (unsigned)loose[i]);
        assert_null(back);
        assert_int_equal(fld_key_file_is_protected(fx->path), -1);
    }
    assert_int_equal(chmod(fx->path, 0644), 0);
    assert_int_equal(fld_key_load(fx->path, NULL, &back, &err), FLD_EIO);
    assert_non_null(strstr(err.msg, "readable by other users"));
    assert_non_null(strstr(err.msg, "chmod 600"));
    assert_non_null(strstr(err.msg, fx->path));

    assert_int_equal(chmod(fx->path, 0400), 0);
    back = load_ok(fx->path, NULL);
    fld_key_free(back);
    assert_int_equal(chmod(fx->path, 0600), 0);
    back = load_ok(fx->path, NULL);
    fld_key_free(back);
    fld_key_free(k);
}

static void test_load_refuses_what_is_not_a_file(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(mkdir(fx->path, 0700), 0);
    assert_int_equal(load_code(fx->path, NULL), FLD_EIO);
    assert_int_equal(rmdir(fx->path), 0);
    /* a FIFO must be refused, not block the reader */
    assert_int_equal(mkfifo(fx->path, 0600), 0);
    assert_int_equal(load_code(fx->path, NULL), FLD_EIO);
    assert_int_equal(fld_key_file_is_protected(fx->path), -1);
}

static void test_truncated_files_are_corrupt(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX);
    const char *passes[2] = {NULL, "pw"};
    char full[1024];
    size_t len, cut;
    int p;

    for (p = 0; p < 2; p++) {
        unlink(fx->path);
        save_ok(k, fx->path, passes[p]);
        snprintf(full, sizeof full, "%s", read_text(fx->path, &len));
        for (cut = 0; cut < len; cut++) {
            int rc;

            write_raw(fx->path, full, cut, 0600);
            rc = load_code(fx->path, passes[p]);
            if (rc != FLD_ECORRUPT)
                fail_msg("%s file cut to %zu of %zu bytes: %d, not corrupt",
                         passes[p] ? "protected" : "plain", cut, len, rc);
        }
        write_raw(fx->path, full, len, 0600);
        assert_int_equal(load_code(fx->path, passes[p]), FLD_OK);
    }
    fld_key_free(k);
}

static void test_damaged_plain_files_are_corrupt(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX);
    static const char *const pub_line = "public " SEQ_PUBLIC "\n";
    static const char *const seed_line = "seed " SEED_SEQ_HEX "\n";
    static const struct {
        const char *from, *to, *why;
    } edits[] = {
        {"field-key v1", "field-key v2", "newer format"},
        {"field-key v1", "fieldkey v1", "wrong magic"},
        {"field-key v1", "FIELD-KEY V1", "magic in capitals"},
        {"field-key v1\n", "field-key v1 \n", "trailing space"},
        {"field-key v1\n", "field-key v1\r\n", "CRLF"},
        {"field-key v1\n", "", "no magic line"},
        {"public 03a1", "public 03A1", "uppercase hex"},
        {"public 03a1", "public 03a2", "public key not the seed's"},
        {"public 03a1", "public 0xa1", "bad hex digit"},
        {"public 03a1", "public 03a", "public key short"},
        {"public 03a1", "public 03a100", "public key long"},
        {"public ", "public  ", "double space"},
        {SEQ_PUBLIC "\n", SEQ_PUBLIC " x\n", "public line with 3 fields"},
        {SEQ_PUBLIC "\n", SEQ_PUBLIC " x y z w v u\n", "public, 8 fields"},
        {"public ", "pubkey ", "unknown keyword"},
        {"seed 0001", "seed 0101", "seed not the public key's"},
        {"seed 0001", "seed 00g1", "bad hex in seed"},
        {"seed 0001", "seed 001", "seed short"},
        {"seed 0001", "seed 000001", "seed long"},
        {"1e1f\n", "1e1F\n", "uppercase at the end"},
        {"kdf none\n", "kdf nothing\n", "unknown kdf"},
        {"kdf none\n", "kdf none extra\n", "kdf with extra field"},
        {"kdf none\n",
         "kdf argon2id13 1 8192 "
         "000102030405060708090a0b0c0d0e0f\n",
         "protected kdf, seed line"},
        {"kdf none\n", "", "no kdf line"},
        {"1e1f\n", "1e1f\n\n", "blank line after"},
        {"1e1f\n", "1e1f\nextra\n", "extra line"},
        {"1e1f\n", "1e1f", "no final newline"},
        {"field-key", "\nfield-key", "blank line before"},
        {"kdf none\n", "kdf none\nkdf none\n", "kdf twice"},
    };
    char good[1024];
    size_t i;

    save_ok(k, fx->path, NULL);
    snprintf(good, sizeof good, "%s", read_text(fx->path, NULL));
    assert_non_null(strstr(good, pub_line));
    assert_non_null(strstr(good, seed_line));
    for (i = 0; i < N(edits); i++)
        expect_load(fx->path, replaced(good, edits[i].from, edits[i].to), NULL,
                    FLD_ECORRUPT, edits[i].why);

    /* swapped lines */
    {
        char swapped[1024];

        snprintf(swapped, sizeof swapped, "field-key v1\n%skdf none\n%s",
                 seed_line, pub_line);
        expect_load(fx->path, swapped, NULL, FLD_ECORRUPT, "swapped lines");
    }
    /* a NUL byte, in the magic or hiding junk after a complete field */
    {
        char with_nul[1024];
        size_t len = strlen(good);

        memcpy(with_nul, good, len);
        with_nul[5] = '\0';
        write_raw(fx->path, with_nul, len, 0600);
        assert_int_equal(load_code(fx->path, NULL), FLD_ECORRUPT);
        snprintf(with_nul, sizeof with_nul, "%s",
                 replaced(good, "1e1f\n", "1e1f#x\n"));
        len = strlen(with_nul);
        with_nul[len - 3] = '\0';
        write_raw(fx->path, with_nul, len, 0600);
        assert_int_equal(load_code(fx->path, NULL), FLD_ECORRUPT);
    }
    expect_load(fx->path, "", NULL, FLD_ECORRUPT, "empty file");
    expect_load(fx->path, "\n\n\n\n", NULL, FLD_ECORRUPT, "blank lines");
    fld_key_free(k);
}

static void test_huge_files_are_corrupt(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX), *back;
    static char big[1 << 20];
    char good[1024];
    size_t len;

    save_ok(k, fx->path, NULL);
    snprintf(good, sizeof good, "%s", read_text(fx->path, &len));

    /* a valid key followed by padding up to 4 KiB + 1 */
    memset(big, '\n', sizeof big);
    memcpy(big, good, len);
    write_raw(fx->path, big, 4097, 0600);
    assert_int_equal(load_code(fx->path, NULL), FLD_ECORRUPT);
    write_raw(fx->path, big, sizeof big, 0600);
    assert_int_equal(load_code(fx->path, NULL), FLD_ECORRUPT);
    /* exactly 4 KiB is read, then refused for its extra lines */
    write_raw(fx->path, big, 4096, 0600);
    assert_int_equal(load_code(fx->path, NULL), FLD_ECORRUPT);
    assert_int_equal(fld_key_file_is_protected(fx->path), -1);
    /* and the cap does not hurt the real thing */
    write_raw(fx->path, good, len, 0600);
    back = load_ok(fx->path, NULL);
    fld_key_free(back);
    fld_key_free(k);
}

/* Cut the protected file into its fields (static storage). */
struct sealed_file {
    char pub[65], ops[32], mem[32], salt[33], nonce[49], ct[161];
};

static void split_sealed(const char *text, struct sealed_file *f)
{
    int n = sscanf(text,
                   "field-key v1\npublic %64s\nkdf argon2id13 %31s %31s %32s\n"
                   "sealed %48s %160s\n",
                   f->pub, f->ops, f->mem, f->salt, f->nonce, f->ct);

    assert_int_equal(n, 6);
}

static const char *join_sealed(const struct sealed_file *f)
{
    static char buf[2048];

    snprintf(buf, sizeof buf,
             "field-key v1\npublic %s\nkdf argon2id13 %s %s %s\n"
             "sealed %s %s\n",
             f->pub, f->ops, f->mem, f->salt, f->nonce, f->ct);
    return buf;
}

static void test_damaged_protected_files(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX),
                   *other = key_of_hex(RFC_SECRET);
    static const struct {
        int field; /* 0 ops, 1 mem, 2 salt, 3 nonce, 4 ciphertext */
        const char *value, *why;
    } bad[] = {
        {0, "0", "no passes"},
        {0, "17", "too many passes"},
        {0, "4294967296", "passes beyond 32 bits"},
        {0, "99999999999999999999999999", "passes overflow"},
        {0, "01", "leading zero"},
        {0, "-1", "negative passes"},
        {0, "+1", "signed passes"},
        {0, "1x", "passes not a number"},
        {1, "8191", "memory below libsodium's minimum"},
        {1, "1073741825", "memory above 1 GiB"},
        {1, "4398046510080", "memory at libsodium's maximum"},
        {1, "18446744073709551616", "memory overflows 64 bits"},
        {1, "08192", "memory with leading zero"},
        {2, "000102030405060708090a0b0c0d0e0f x", "six fields"},
        {2, "000102030405060708090a0b0c0d0e0f x y z", "eight fields"},
        {4, "00 x y z", "sealed line with six fields"},
        {2, "000102030405060708090a0b0c0d0e", "short salt"},
        {2, "000102030405060708090a0b0c0d0e0f10", "long salt"},
        {2, "000102030405060708090A0B0C0D0E0F", "uppercase salt"},
        {3, "00", "short nonce"},
        {4, "00", "short ciphertext"},
    };
    struct sealed_file good, f;
    char hex[65];
    size_t i;

    save_ok(k, fx->path, "pw");
    split_sealed(read_text(fx->path, NULL), &good);
    assert_string_equal(good.ops, "1");
    assert_string_equal(good.mem, "8192");
    expect_load(fx->path, join_sealed(&good), "pw", FLD_OK, "re-joined");

    for (i = 0; i < N(bad); i++) {
        /* written by hand: a bad value may be longer than its slot in
         * struct sealed_file */
        char text[2048];
        int fi = bad[i].field;

        snprintf(text, sizeof text,
                 "field-key v1\npublic %s\nkdf argon2id13 %s %s %s\n"
                 "sealed %s %s\n",
                 good.pub, fi == 0 ? bad[i].value : good.ops,
                 fi == 1 ? bad[i].value : good.mem,
                 fi == 2 ? bad[i].value : good.salt,
                 fi == 3 ? bad[i].value : good.nonce,
                 fi == 4 ? bad[i].value : good.ct);
        expect_load(fx->path, text, "pw", FLD_ECORRUPT, bad[i].why);
    }

    /* a flipped ciphertext bit cannot be told from a wrong passphrase */
    f = good;
    f.ct[10] = f.ct[10] == '0' ? '1' : '0';
    expect_load(fx->path, join_sealed(&f), "pw", FLD_EPASS, "flipped seal");
    /* another salt derives another key: same */
    f = good;
    f.salt[0] = f.salt[0] == '0' ? '1' : '0';
    expect_load(fx->path, join_sealed(&f), "pw", FLD_EPASS, "other salt");
    /* a different but valid cost changes the key too */
    f = good;
    snprintf(f.ops, sizeof f.ops, "2");
    expect_load(fx->path, join_sealed(&f), "pw", FLD_EPASS, "other cost");

    /* the public line replaced by another device's key: opens, but the
     * sealed key belongs to someone else */
    f = good;
    fld_key_public_hex(other, hex);
    snprintf(f.pub, sizeof f.pub, "%s", hex);
    expect_load(fx->path, join_sealed(&f), "pw", FLD_ECORRUPT,
                "public line swapped");
    {
        struct fld_key *none = NULL;
        struct fld_err err;

        assert_int_equal(fld_key_load(fx->path, "pw", &none, &err),
                         FLD_ECORRUPT);
        assert_non_null(strstr(err.msg, "sealed key does not belong"));
    }
    /* and without a passphrase, nothing is decided about the seal */
    expect_load(fx->path, join_sealed(&good), NULL, FLD_EPASS, "no pass");
    expect_load(fx->path, replaced(join_sealed(&good), "sealed", "seed"), "pw",
                FLD_ECORRUPT, "seed line after argon2id13");
    fld_key_free(other);
    fld_key_free(k);
}

static void test_is_protected(void **state)
{
    struct fixture *fx = *state;
    struct fld_key *k = key_of_hex(SEED_SEQ_HEX);

    assert_int_equal(fld_key_file_is_protected(fx->path), -1);
    save_ok(k, fx->path, "pw");
    assert_int_equal(fld_key_file_is_protected(fx->path), 1);
    unlink(fx->path);
    save_ok(k, fx->path, NULL);
    assert_int_equal(fld_key_file_is_protected(fx->path), 0);
    write_text(fx->path, "not a key\n");
    assert_int_equal(fld_key_file_is_protected(fx->path), -1);
    fld_key_free(k);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_rfc8032_vector_1),
        T(test_fixed_seed_gives_fixed_key_and_signature),
        T(test_flipped_bit_in_message_or_signature_fails),
        T(test_wrong_key_fails),
        T(test_noncanonical_signature_refused),
        T(test_small_order_public_keys_refused),
        T(test_unprotected_round_trip),
        T(test_generated_key_round_trip),
        T(test_protected_round_trip_and_passphrases),
        T(test_save_refuses_existing_file),
        T(test_save_never_follows_symlinks),
        T(test_save_into_missing_directory),
        T(test_failed_save_leaves_nothing),
        T(test_mode_is_0600_whatever_the_umask),
        T(test_load_missing_file),
        T(test_load_refuses_loose_modes),
        T(test_load_refuses_what_is_not_a_file),
        T(test_truncated_files_are_corrupt),
        T(test_damaged_plain_files_are_corrupt),
        T(test_huge_files_are_corrupt),
        T(test_damaged_protected_files),
        T(test_is_protected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
