/*
 * cmd_devices.c - who may talk to the server: `enroll-code` hands out a
 * one-time code for a new device, `devices` lists the enrolled ones and
 * revokes one.
 *
 *   field-server enroll-code --inspector NAME --role ROLE --scope UNIT...
 *                            [--ttl HOURS] [--json]
 *   field-server devices [list] [--json]
 *   field-server devices revoke DEVICE
 *
 * The device side is POST /v1/enroll (api.c): the device sends the code
 * with its public key, signed by that key, and is enrolled with the name,
 * role and scope decided here.
 *
 * Decisions:
 *   - A code is 16 characters of Crockford's base 32 (80 random bits),
 *     printed in groups of four: far beyond guessing within its lifetime,
 *     short enough to read over the telephone, without I, L, O or U to
 *     misread. Only its BLAKE2b hash is stored, so a copy of the database
 *     does not hand out valid codes; api.c hashes what the device sends
 *     the same way, ignoring dashes, spaces and case.
 *   - A code expires (--ttl, 72 hours by default) and is used once.
 *   - Once units are imported, every unit of a scope must be one of them:
 *     a typo in a scope would otherwise enroll a device that can push
 *     nothing. Before any import, codes are taken as given (a new server).
 *   - An admin's scope may be empty: an admin covers every unit.
 *   - Revocation takes a unique prefix of at least 4 hex digits of the key,
 *     as people copy them from `devices`; it is written with an audit entry
 *     in one transaction and takes effect at once, since the server reads
 *     devices from the database on every request.
 *   - With stdout not a terminal, enroll-code prints the code alone, so a
 *     script can capture it; a terminal also gets who it is for and until
 *     when.
 */
#include "command.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "hlc.h"
#include "utf8.h"
#include "version.h"

#define MAX_NAME 200

/* Crockford's base 32: no I, L, O or U to misread. */
static const char code_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

enum { OPT_INSPECTOR = 1, OPT_ROLE, OPT_SCOPE, OPT_TTL };

/* What enroll-code's options gave. */
struct enroll_opts {
    const char *inspector;
    const char *role;
    const char **scope;
    size_t n_scope;
    long ttl_hours;
};

static int on_enroll_option(struct srv_cmd_ctx *ctx, int opt, const char *arg,
                            void *data)
{
    struct enroll_opts *o = data;
    char *end;

    switch (opt) {
    case OPT_INSPECTOR:
        o->inspector = arg;
        break;
    case OPT_ROLE:
        o->role = arg;
        break;
    case OPT_SCOPE:
        o->scope =
            fld_xreallocarray(o->scope, o->n_scope + 1, sizeof *o->scope);
        o->scope[o->n_scope++] = arg;
        break;
    default: /* OPT_TTL */
        errno = 0;
        o->ttl_hours = strtol(arg, &end, 10);
        if (errno || *end || o->ttl_hours < 1 || o->ttl_hours > 24 * 365)
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "--ttl: hours from 1 to 8760, not \"%s\"", arg);
    }
    return FLD_OK;
}

/* The name, the role, and a scope unless for an admin. */
static int check_enroll_opts(struct srv_cmd_ctx *ctx,
                             const struct enroll_opts *o)
{
    const char *role = o->role;

    if (o->inspector == NULL || o->inspector[0] == '\0' ||
        strlen(o->inspector) > MAX_NAME ||
        !fld_utf8_valid((const uint8_t *)o->inspector, strlen(o->inspector)))
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "--inspector NAME is required (UTF-8, at "
                           "most %d bytes)",
                           MAX_NAME);
    if (role == NULL ||
        (strcmp(role, "inspector") != 0 && strcmp(role, "supervisor") != 0 &&
         strcmp(role, "admin") != 0))
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "--role must be inspector, supervisor or admin");
    if (o->n_scope == 0 && strcmp(role, "admin") != 0)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "--scope UNIT... is required for an %s", role);
    return FLD_OK;
}

/* The scope's units, each a unit code and, once units are imported, a
 * stored one, into out separated by spaces (as storage keeps a scope). */
static int check_scope(struct srv_cmd_ctx *ctx, const struct enroll_opts *o,
                       struct fld_buf *out)
{
    struct srv_counts counts;
    size_t i;
    int rc;

    if ((rc = srv_storage_counts(ctx->st, &counts, &ctx->err)) != FLD_OK)
        return rc;
    for (i = 0; i < o->n_scope; i++) {
        bool known = true;

        if (!fld_is_code(o->scope[i]))
            return fld_err_set(&ctx->err, FLD_EUSAGE,
                               "scope: \"%s\" is not a unit code", o->scope[i]);
        if (counts.units > 0) {
            rc = srv_storage_unit_exists(ctx->st, o->scope[i], &known,
                                         &ctx->err);
            if (rc != FLD_OK)
                return rc;
        }
        if (!known)
            return fld_err_set(&ctx->err, FLD_NOTFOUND,
                               "scope: no unit %s (see "
                               "'field-server units')",
                               o->scope[i]);
        fld_buf_printf(out, "%s%s", i ? " " : "", o->scope[i]);
    }
    return FLD_OK;
}

/* A new code as people read it ("XXXX-XXXX-XXXX-XXXX") and the hash that
 * storage keeps (of the 16 characters without dashes, as api.c hashes
 * what a device sends). 80 random bits: far beyond guessing, and the code
 * expires anyway. */
static void new_code(char code[20], char hash[FLD_HASH_HEX_LEN + 1])
{
    char norm[17];
    uint8_t rnd[16];
    size_t i, j;

    randombytes_buf(rnd, sizeof rnd);
    for (i = 0; i < 16; i++)
        norm[i] = code_alphabet[rnd[i] & 31];
    norm[16] = '\0';
    for (i = 0, j = 0; i < 16; i++) {
        if (i > 0 && i % 4 == 0)
            code[j++] = '-';
        code[j++] = norm[i];
    }
    code[j] = '\0';
    fld_version_hash((const uint8_t *)norm, 16, hash);
}

/*
 * field-server enroll-code --inspector NAME --role ROLE --scope UNIT...
 *                          [--ttl HOURS] [--json]
 *
 * Check the name, role and scope, make a code, store its hash with who it
 * is for, and print the code (with --json, the code and its expiry).
 */
int srv_cmd_enroll_code(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"inspector", required_argument, NULL, OPT_INSPECTOR},
        {"role", required_argument, NULL, OPT_ROLE},
        {"scope", required_argument, NULL, OPT_SCOPE},
        {"ttl", required_argument, NULL, OPT_TTL},
        {NULL, 0, NULL, 0}};
    struct fld_err *err = &ctx->err;
    struct enroll_opts o = {NULL, NULL, NULL, 0, 72};
    struct srv_enroll_code c;
    struct fld_buf scope = FLD_BUF_INIT;
    char code[20], hash[FLD_HASH_HEX_LEN + 1];
    int i, rc, first;

    memset(&c, 0, sizeof c);
    rc = srv_cmd_parse(ctx, argc, argv, extra, on_enroll_option, &o, &first);
    if (rc != FLD_OK)
        goto out;
    /* Units may also follow the options: --scope 42 4201 4202. */
    for (i = first; i < argc; i++) {
        o.scope = fld_xreallocarray(o.scope, o.n_scope + 1, sizeof *o.scope);
        o.scope[o.n_scope++] = argv[i];
    }
    if ((rc = check_enroll_opts(ctx, &o)) != FLD_OK)
        goto out;
    if ((rc = srv_cmd_open(ctx)) != FLD_OK)
        goto out;
    if ((rc = check_scope(ctx, &o, &scope)) != FLD_OK)
        goto out;
    new_code(code, hash);
    memcpy(c.code_hash, hash, sizeof c.code_hash);
    c.inspector = (char *)o.inspector;
    c.role = (char *)o.role;
    c.scope = (char *)fld_buf_str(&scope);
    c.created_ms = fld_now_ms();
    c.expires_ms = c.created_ms + (int64_t)o.ttl_hours * 3600 * 1000;
    if ((rc = srv_storage_begin(ctx->st, err)) != FLD_OK)
        goto out;
    rc = srv_storage_code_add(ctx->st, &c, err);
    if (rc == FLD_OK)
        rc = srv_storage_audit_add(ctx->st, "enroll-code", NULL, c.scope,
                                   o.inspector, err);
    if ((rc = srv_cmd_end(ctx->st, rc, err)) != FLD_OK)
        goto out;
    if (ctx->json) {
        cJSON *root = cJSON_CreateObject();

        if (!root || !cJSON_AddStringToObject(root, "code", code) ||
            !cJSON_AddNumberToObject(root, "expires_ms", (double)c.expires_ms))
            abort();
        srv_cmd_print_json(root);
    } else {
        char when[32];

        srv_cmd_format_time(c.expires_ms, when);
        printf("%s\n", code);
        if (isatty(STDOUT_FILENO))
            printf("one-time code for %s (%s), valid until %s\n", o.inspector,
                   o.role, when);
    }
out:
    fld_buf_free(&scope);
    free(o.scope);
    return rc;
}

static int print_device(void *ctx, const struct srv_device *d)
{
    cJSON *arr = ctx;
    size_t i;

    if (arr != NULL) {
        cJSON *o = cJSON_CreateObject(), *scope;

        if (!o || !cJSON_AddStringToObject(o, "device", d->pubkey) ||
            !cJSON_AddStringToObject(o, "inspector", d->inspector) ||
            !cJSON_AddStringToObject(o, "role", d->role))
            abort();
        scope = cJSON_AddArrayToObject(o, "scope");
        if (scope == NULL ||
            !cJSON_AddNumberToObject(o, "enrolled_ms",
                                     (double)d->enrolled_ms) ||
            !(d->revoked_ms ? cJSON_AddNumberToObject(o, "revoked_ms",
                                                      (double)d->revoked_ms)
                            : cJSON_AddNullToObject(o, "revoked_ms")))
            abort();
        for (i = 0; i < d->n_scope; i++)
            cJSON_AddItemToArray(scope, cJSON_CreateString(d->scope[i]));
        cJSON_AddItemToArray(arr, o);
        return FLD_OK;
    }
    printf("%.16s  %-10s %-8s %s  [", d->pubkey, d->role,
           d->revoked_ms ? "revoked" : "active", d->inspector);
    for (i = 0; i < d->n_scope; i++)
        printf("%s%s", i ? " " : "", d->scope[i]);
    printf("]\n");
    return FLD_OK;
}

static int walk_devices(struct srv_storage *st, cJSON *arr, struct fld_err *err)
{
    return srv_storage_each_device(st, print_device, arr, err);
}

/*
 * field-server devices [list] [--json]
 * field-server devices revoke DEVICE
 *
 * List the devices, or revoke the one device whose key starts with DEVICE
 * (several: exit 3, naming the prefix; revoked already: exit 4).
 */
int srv_cmd_devices(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    struct fld_err *err = &ctx->err;
    struct srv_storage *st;
    const char *sub;
    char key[FLD_HASH_HEX_LEN + 1];
    int rc, first;

    if ((rc = srv_cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)) !=
        FLD_OK)
        return rc;
    sub = first < argc ? argv[first] : "list";
    if (strcmp(sub, "list") == 0) {
        rc = srv_cmd_list(ctx, argc, first, "devices", walk_devices);
    } else if (strcmp(sub, "revoke") == 0) {
        if (argc - first != 2)
            return fld_err_set(err, FLD_EUSAGE, "usage: devices revoke DEVICE");
        if (strlen(argv[first + 1]) < 4 ||
            strlen(argv[first + 1]) > FLD_HASH_HEX_LEN)
            return fld_err_set(err, FLD_EUSAGE,
                               "give at least 4 hex digits of the device key");
        if ((rc = srv_cmd_open(ctx)) != FLD_OK)
            return rc;
        st = ctx->st;
        rc = srv_storage_device_find(st, argv[first + 1], key, err);
        if (rc != FLD_OK)
            return rc;
        if ((rc = srv_storage_begin(st, err)) != FLD_OK)
            return rc;
        rc = srv_storage_device_revoke(st, key, fld_now_ms(), err);
        if (rc == FLD_OK)
            rc = srv_storage_audit_add(st, "revoked", key, NULL,
                                       "revoked by an administrator", err);
        if ((rc = srv_cmd_end(st, rc, err)) == FLD_OK)
            printf("revoked %s\n", key);
    } else {
        rc = fld_err_set(err, FLD_EUSAGE,
                         "unknown subcommand \"%s\" (list, revoke)", sub);
    }
    return rc;
}
