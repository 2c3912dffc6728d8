/*
 * admin.c - field-server's subcommands (see admin.h): set up a database,
 * hand out enrollment codes, list and revoke devices, install templates,
 * import administrative units, take a backup while serving, read the
 * audit log, and serve.
 *
 * Every writing command is one transaction, so an administrator never
 * leaves the database half changed; they can all run while the server is
 * serving (SQLite in WAL mode; the server reads devices and templates from
 * the database on every request, so a revocation takes effect at once).
 */
#include "admin.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "buf.h"
#include "embedded.h"
#include "hlc.h"
#include "merge.h"
#include "http.h"
#include "protocol.h"
#include "push.h"
#include "server.h"
#include "storage.h"
#include "template.h"
#include "units.h"
#include "utf8.h"

#define MAX_NAME 200
#define MAX_CODE_LEN 64

/* ---- shared option handling
 * ---------------------------------------------------- */

enum {
    OPT_DB = 1000,
    OPT_CONFIG,
    OPT_JSON,
    OPT_HELP,
    OPT_INSPECTOR,
    OPT_ROLE,
    OPT_SCOPE,
    OPT_TTL,
    OPT_KIND,
    OPT_SETTING /* serve's settings: the option's name is the setting's */
};

static const struct option serve_options[] = {
    {"listen", required_argument, NULL, OPT_SETTING},
    {"port", required_argument, NULL, OPT_SETTING},
    {"port-file", required_argument, NULL, OPT_SETTING},
    {"tls-cert", required_argument, NULL, OPT_SETTING},
    {"tls-key", required_argument, NULL, OPT_SETTING},
    {"threads", required_argument, NULL, OPT_SETTING},
    {"max-body", required_argument, NULL, OPT_SETTING},
    {"max-inflated", required_argument, NULL, OPT_SETTING},
    {"skew", required_argument, NULL, OPT_SETTING},
    {"request-timeout", required_argument, NULL, OPT_SETTING},
    {"idle-timeout", required_argument, NULL, OPT_SETTING},
    {"max-connections", required_argument, NULL, OPT_SETTING},
    {"per-ip-connections", required_argument, NULL, OPT_SETTING},
    {"shutdown-grace", required_argument, NULL, OPT_SETTING},
    {"quiet", no_argument, NULL, OPT_SETTING},
};
#define N_SERVE_OPTIONS (sizeof serve_options / sizeof serve_options[0])

/* What a command's options gave. */
struct opts {
    struct srv_config cfg;
    bool json;
    const char *inspector;
    const char *role;
    const char **scope;
    size_t n_scope;
    long ttl_hours;
    const char *kind;
    int first_arg; /* optind after parsing */
};

static void opts_free(struct opts *o)
{
    srv_config_free(&o->cfg);
    free(o->scope);
}

/*
 * Parse argv with the options every command shares (--db, --config,
 * --json, --help) plus extra (a zero-ended table, may be NULL) and, for
 * serve, the server's settings. The configuration file is read first, so
 * an option on the command line wins over it whatever the order. Returns
 * FLD_OK, FLD_EUSAGE, or -1 when --help was shown.
 */
static int parse(const char *name, int argc, char **argv,
                 const struct option *extra, bool settings, struct opts *o,
                 struct fld_err *err)
{
    struct option longopts[64];
    const char **names = fld_xcalloc((size_t)argc + 1, sizeof *names);
    const char **values = fld_xcalloc((size_t)argc + 1, sizeof *values);
    const char *config = getenv("FIELD_SERVER_CONFIG");
    const char *db = NULL;
    const struct srv_cmd *cmd = srv_cmd_find(name, NULL);
    size_t n = 0, n_set = 0, i;
    int c, idx, rc = FLD_OK;

    memset(o, 0, sizeof *o);
    srv_config_defaults(&o->cfg);
    o->ttl_hours = 72;
    longopts[n++] = (struct option){"db", required_argument, NULL, OPT_DB};
    longopts[n++] =
        (struct option){"config", required_argument, NULL, OPT_CONFIG};
    longopts[n++] = (struct option){"json", no_argument, NULL, OPT_JSON};
    longopts[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    for (; extra && extra->name; extra++)
        longopts[n++] = *extra;
    if (settings)
        for (i = 0; i < N_SERVE_OPTIONS; i++)
            longopts[n++] = serve_options[i];
    longopts[n] = (struct option){NULL, 0, NULL, 0};

    optind = 0;
    opterr = 0;
    while (rc == FLD_OK &&
           (c = getopt_long(argc, argv, "+h", longopts, &idx)) != -1) {
        switch (c) {
        case OPT_DB:
            db = optarg;
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case 'h':
        case OPT_HELP:
            srv_cmd_print_help(cmd, stdout);
            rc = -1;
            break;
        case OPT_INSPECTOR:
            o->inspector = optarg;
            break;
        case OPT_ROLE:
            o->role = optarg;
            break;
        case OPT_SCOPE:
            o->scope =
                fld_xreallocarray(o->scope, o->n_scope + 1, sizeof *o->scope);
            o->scope[o->n_scope++] = optarg;
            break;
        case OPT_TTL: {
            char *end;

            errno = 0;
            o->ttl_hours = strtol(optarg, &end, 10);
            if (errno || *end || o->ttl_hours < 1 || o->ttl_hours > 24 * 365)
                rc = fld_err_set(err, FLD_EUSAGE,
                                 "--ttl: hours from 1 to 8760, not \"%s\"",
                                 optarg);
            break;
        }
        case OPT_KIND:
            o->kind = optarg;
            break;
        case OPT_SETTING:
            names[n_set] = longopts[idx].name;
            values[n_set++] = optarg ? optarg : "yes";
            break;
        default:
            rc = fld_err_set(err, FLD_EUSAGE,
                             "unknown or incomplete option '%s'; "
                             "see 'field-server %s --help'",
                             argv[optind - 1], cmd->name);
        }
    }
    if (rc == FLD_OK && config)
        rc = srv_config_load(&o->cfg, config, err);
    if (rc == FLD_OK && db)
        rc = srv_config_set(&o->cfg, "db", db, err);
    for (i = 0; i < n_set && rc == FLD_OK; i++)
        rc = srv_config_set(&o->cfg, names[i], values[i], err);
    o->first_arg = optind;
    free(names);
    free(values);
    return rc;
}

/* Refuse arguments beyond max. */
static int no_more_args(const struct opts *o, int argc, int max,
                        struct fld_err *err)
{
    if (argc - o->first_arg > max)
        return fld_err_set(err, FLD_EUSAGE, "too many arguments");
    return FLD_OK;
}

/* Open the server state for a command (the database must be initialised). */
static int open_server(struct opts *o, struct srv **s, struct srv_storage **st,
                       struct fld_err *err)
{
    int rc = srv_open(&o->cfg, s, err);

    if (rc != FLD_OK)
        return rc;
    if ((rc = srv_acquire(*s, st, err)) != FLD_OK) {
        srv_close(*s);
        *s = NULL;
    }
    return rc;
}

static void close_server(struct srv *s, struct srv_storage *st)
{
    if (s) {
        srv_release(s, st);
        srv_close(s);
    }
}

static void format_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || localtime_r(&t, &tm) == NULL)
        snprintf(out, 32, "-");
    else
        strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

static void print_json(cJSON *root)
{
    char *text = cJSON_PrintUnformatted(root);

    if (text == NULL)
        abort();
    puts(text);
    cJSON_free(text);
    cJSON_Delete(root);
}

/* 1..64 printable ASCII characters without spaces: a unit code. */
static int is_code(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (s[i] <= ' ' || s[i] > '~' || i >= MAX_CODE_LEN)
            return 0;
    return i > 0;
}

/* ---- init
 * ---------------------------------------------------------------------- */

static int install_builtin_templates(struct srv_storage *st, int *n,
                                     struct fld_err *err)
{
    const struct fld_embedded *e;
    int rc = FLD_OK;

    *n = 0;
    for (e = fld_embedded_files; e->name != NULL && rc == FLD_OK; e++) {
        size_t len = strlen(e->name), clen;
        struct fld_template *t;
        struct srv_template_row row;
        const uint8_t *canon;

        if (len < 5 || strcmp(e->name + len - 5, ".json") != 0)
            continue;
        if ((rc = fld_template_parse(e->data, e->len, &t, err)) != FLD_OK)
            return fld_err_prefix(err, "built-in template %s", e->name);
        canon = fld_template_canonical(t, &clen);
        row.hash = fld_template_hash(t);
        row.id = fld_template_id(t);
        row.version = fld_template_version(t);
        row.added_ms = fld_now_ms();
        rc = srv_storage_template_put(st, &row, canon, clen, err);
        if (rc == FLD_OK)
            (*n)++;
        else if (rc == FLD_EXISTS)
            rc = FLD_OK;
        fld_template_free(t);
    }
    return rc;
}

static int cmd_init(int argc, char **argv, struct fld_err *err)
{
    struct opts o;
    struct srv_storage *st = NULL;
    char epoch[17], *have = NULL;
    int rc, n = 0;

    if ((rc = parse("init", argc, argv, NULL, false, &o, err)) != FLD_OK ||
        (rc = no_more_args(&o, argc, 0, err)) != FLD_OK)
        goto out;
    if ((rc = srv_storage_open(o.cfg.db, true, &st, err)) != FLD_OK)
        goto out;
    rc = srv_storage_meta_get(st, "epoch", &have, err);
    if (rc == FLD_OK) {
        rc =
            fld_err_set(err, FLD_EXISTS, "%s is initialised already", o.cfg.db);
        goto out;
    }
    if (rc != FLD_NOTFOUND)
        goto out;
    srv_epoch_new(epoch);
    if ((rc = srv_storage_begin(st, err)) != FLD_OK)
        goto out;
    if ((rc = srv_storage_meta_set(st, "epoch", epoch, err)) == FLD_OK &&
        (rc = install_builtin_templates(st, &n, err)) == FLD_OK &&
        (rc = srv_storage_audit_add(st, "init", NULL, NULL, epoch, err)) ==
            FLD_OK)
        rc = srv_storage_commit(st, err);
    else
        srv_storage_rollback(st);
    if (rc == FLD_OK)
        printf("initialised %s: epoch %s, %d built-in template%s\n", o.cfg.db,
               epoch, n, n == 1 ? "" : "s");
out:
    free(have);
    srv_storage_close(st);
    opts_free(&o);
    return rc;
}

/* ---- enroll-code
 * ----------------------------------------------------------------- */

/* Crockford's base 32: no I, L, O or U to misread. */
static const char code_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int cmd_enroll_code(int argc, char **argv, struct fld_err *err)
{
    static const struct option extra[] = {
        {"inspector", required_argument, NULL, OPT_INSPECTOR},
        {"role", required_argument, NULL, OPT_ROLE},
        {"scope", required_argument, NULL, OPT_SCOPE},
        {"ttl", required_argument, NULL, OPT_TTL},
        {NULL, 0, NULL, 0}};
    struct opts o;
    struct srv *s = NULL;
    struct srv_storage *st = NULL;
    struct srv_enroll_code c;
    struct srv_counts counts;
    struct fld_buf scope = FLD_BUF_INIT;
    char code[20], norm[17], hash[FLD_HASH_HEX_LEN + 1];
    uint8_t rnd[16];
    size_t i, j;
    int rc;

    memset(&c, 0, sizeof c);
    if ((rc = parse("enroll-code", argc, argv, extra, false, &o, err)) !=
        FLD_OK)
        goto out;
    /* Units may also follow the options: --scope 42 4201 4202. */
    for (i = (size_t)o.first_arg; i < (size_t)argc; i++) {
        o.scope = fld_xreallocarray(o.scope, o.n_scope + 1, sizeof *o.scope);
        o.scope[o.n_scope++] = argv[i];
    }
    if (o.inspector == NULL || o.inspector[0] == '\0' ||
        strlen(o.inspector) > MAX_NAME ||
        !fld_utf8_valid((const uint8_t *)o.inspector, strlen(o.inspector))) {
        rc = fld_err_set(err, FLD_EUSAGE,
                         "--inspector NAME is required (UTF-8, at "
                         "most %d bytes)",
                         MAX_NAME);
        goto out;
    }
    if (o.role == NULL ||
        (strcmp(o.role, "inspector") != 0 &&
         strcmp(o.role, "supervisor") != 0 && strcmp(o.role, "admin") != 0)) {
        rc = fld_err_set(err, FLD_EUSAGE,
                         "--role must be inspector, supervisor or admin");
        goto out;
    }
    if (o.n_scope == 0 && strcmp(o.role, "admin") != 0) {
        rc = fld_err_set(err, FLD_EUSAGE,
                         "--scope UNIT... is required for an %s", o.role);
        goto out;
    }
    if ((rc = open_server(&o, &s, &st, err)) != FLD_OK ||
        (rc = srv_storage_counts(st, &counts, err)) != FLD_OK)
        goto out;
    for (i = 0; i < o.n_scope; i++) {
        bool known = true;

        if (!is_code(o.scope[i])) {
            rc = fld_err_set(err, FLD_EUSAGE,
                             "scope: \"%s\" is not a unit code", o.scope[i]);
            goto out;
        }
        /* Once units are imported, a scope must name one of them. */
        if (counts.units > 0 && (rc = srv_storage_unit_exists(
                                     st, o.scope[i], &known, err)) != FLD_OK)
            goto out;
        if (!known) {
            rc = fld_err_set(err, FLD_NOTFOUND,
                             "scope: no unit %s (see "
                             "'field-server units')",
                             o.scope[i]);
            goto out;
        }
        fld_buf_printf(&scope, "%s%s", i ? " " : "", o.scope[i]);
    }
    /* 80 random bits as 16 characters: far beyond guessing, and the code
     * expires anyway. */
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
    memcpy(c.code_hash, hash, sizeof c.code_hash);
    c.inspector = (char *)o.inspector;
    c.role = (char *)o.role;
    c.scope = (char *)fld_buf_str(&scope);
    c.created_ms = fld_now_ms();
    c.expires_ms = c.created_ms + (int64_t)o.ttl_hours * 3600 * 1000;
    if ((rc = srv_storage_begin(st, err)) != FLD_OK)
        goto out;
    if ((rc = srv_storage_code_add(st, &c, err)) == FLD_OK &&
        (rc = srv_storage_audit_add(st, "enroll-code", NULL, c.scope,
                                    o.inspector, err)) == FLD_OK)
        rc = srv_storage_commit(st, err);
    else
        srv_storage_rollback(st);
    if (rc != FLD_OK)
        goto out;
    if (o.json) {
        cJSON *root = cJSON_CreateObject();

        if (!root || !cJSON_AddStringToObject(root, "code", code) ||
            !cJSON_AddNumberToObject(root, "expires_ms", (double)c.expires_ms))
            abort();
        print_json(root);
    } else {
        char when[32];

        format_time(c.expires_ms, when);
        printf("%s\n", code);
        if (isatty(STDOUT_FILENO))
            printf("one-time code for %s (%s), valid until %s\n", o.inspector,
                   o.role, when);
    }
out:
    fld_buf_free(&scope);
    close_server(s, st);
    opts_free(&o);
    return rc;
}

/* ---- devices
 * --------------------------------------------------------------------- */

static int print_device(void *ctx, const struct srv_device *d)
{
    cJSON *arr = ctx;
    size_t i;

    if (arr != NULL) {
        cJSON *o = cJSON_CreateObject(), *scope;

        if (!o || !cJSON_AddStringToObject(o, "device", d->pubkey) ||
            !cJSON_AddStringToObject(o, "inspector", d->inspector) ||
            !cJSON_AddStringToObject(o, "role", d->role) ||
            !(scope = cJSON_AddArrayToObject(o, "scope")) ||
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

static int cmd_devices(int argc, char **argv, struct fld_err *err)
{
    struct opts o;
    struct srv *s = NULL;
    struct srv_storage *st = NULL;
    const char *sub;
    char key[FLD_HASH_HEX_LEN + 1];
    int rc;

    if ((rc = parse("devices", argc, argv, NULL, false, &o, err)) != FLD_OK)
        goto out;
    sub = o.first_arg < argc ? argv[o.first_arg] : "list";
    if (strcmp(sub, "list") == 0) {
        cJSON *root = NULL, *arr = NULL;

        if ((rc = no_more_args(&o, argc, 1, err)) != FLD_OK ||
            (rc = open_server(&o, &s, &st, err)) != FLD_OK)
            goto out;
        if (o.json && (!(root = cJSON_CreateObject()) ||
                       !(arr = cJSON_AddArrayToObject(root, "devices"))))
            abort();
        rc = srv_storage_each_device(st, print_device, arr, err);
        if (root && rc == FLD_OK)
            print_json(root);
        else
            cJSON_Delete(root);
    } else if (strcmp(sub, "revoke") == 0) {
        if (argc - o.first_arg != 2) {
            rc = fld_err_set(err, FLD_EUSAGE, "usage: devices revoke DEVICE");
            goto out;
        }
        if (strlen(argv[o.first_arg + 1]) < 4 ||
            strlen(argv[o.first_arg + 1]) > FLD_HASH_HEX_LEN) {
            rc = fld_err_set(err, FLD_EUSAGE,
                             "give at least 4 hex digits of the device key");
            goto out;
        }
        if ((rc = open_server(&o, &s, &st, err)) != FLD_OK ||
            (rc = srv_storage_device_find(st, argv[o.first_arg + 1], key,
                                          err)) != FLD_OK ||
            (rc = srv_storage_begin(st, err)) != FLD_OK)
            goto out;
        if ((rc = srv_storage_device_revoke(st, key, fld_now_ms(), err)) ==
                FLD_OK &&
            (rc = srv_storage_audit_add(st, "revoked", key, NULL,
                                        "revoked by an administrator", err)) ==
                FLD_OK)
            rc = srv_storage_commit(st, err);
        else
            srv_storage_rollback(st);
        if (rc == FLD_OK)
            printf("revoked %s\n", key);
    } else {
        rc = fld_err_set(err, FLD_EUSAGE,
                         "unknown subcommand \"%s\" (list, revoke)", sub);
    }
out:
    close_server(s, st);
    opts_free(&o);
    return rc;
}

/* ---- templates
 * -------------------------------------------------------------------- */

static int read_file(const char *path, size_t cap, uint8_t **out, size_t *len,
                     struct fld_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct fld_buf b = FLD_BUF_INIT;
    uint8_t chunk[65536];
    ssize_t n;

    *out = NULL;
    *len = 0;
    if (fd < 0)
        return fld_err_set(err, errno == ENOENT ? FLD_NOTFOUND : FLD_EIO,
                           "%s: %s", path, strerror(errno));
    while ((n = read(fd, chunk, sizeof chunk)) > 0) {
        if ((size_t)n > cap - b.len) {
            close(fd);
            fld_buf_free(&b);
            return fld_err_set(err, FLD_ELIMIT, "%s: larger than %zu bytes",
                               path, cap);
        }
        fld_buf_append(&b, chunk, (size_t)n);
    }
    close(fd);
    if (n < 0) {
        fld_buf_free(&b);
        return fld_err_set(err, FLD_EIO, "%s: %s", path, strerror(errno));
    }
    if (b.data == NULL)
        fld_buf_puts(&b, "");
    *out = (uint8_t *)fld_buf_detach(&b, len);
    return FLD_OK;
}

static int print_template(void *ctx, const struct srv_template_row *t)
{
    cJSON *arr = ctx;
    char when[32];

    if (arr) {
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddStringToObject(o, "id", t->id) ||
            !cJSON_AddStringToObject(o, "version", t->version) ||
            !cJSON_AddStringToObject(o, "hash", t->hash))
            abort();
        cJSON_AddItemToArray(arr, o);
        return FLD_OK;
    }
    format_time(t->added_ms, when);
    printf("%-20s %-8s %s  %s\n", t->id, t->version, t->hash, when);
    return FLD_OK;
}

static int cmd_templates(int argc, char **argv, struct fld_err *err)
{
    struct opts o;
    struct srv *s = NULL;
    struct srv_storage *st = NULL;
    struct fld_template *t = NULL;
    uint8_t *data = NULL;
    size_t len, n_rechecked = 0;
    const char *sub;
    int rc;

    if ((rc = parse("templates", argc, argv, NULL, false, &o, err)) != FLD_OK)
        goto out;
    sub = o.first_arg < argc ? argv[o.first_arg] : "list";
    if (strcmp(sub, "list") == 0) {
        cJSON *root = NULL, *arr = NULL;

        if ((rc = no_more_args(&o, argc, 1, err)) != FLD_OK ||
            (rc = open_server(&o, &s, &st, err)) != FLD_OK)
            goto out;
        if (o.json && (!(root = cJSON_CreateObject()) ||
                       !(arr = cJSON_AddArrayToObject(root, "templates"))))
            abort();
        rc = srv_storage_each_template(st, print_template, arr, err);
        if (root && rc == FLD_OK)
            print_json(root);
        else
            cJSON_Delete(root);
    } else if (strcmp(sub, "add") == 0) {
        struct srv_template_row row;
        const uint8_t *canon;
        size_t clen;

        if (argc - o.first_arg != 2) {
            rc = fld_err_set(err, FLD_EUSAGE, "usage: templates add FILE");
            goto out;
        }
        if ((rc = read_file(argv[o.first_arg + 1], FLD_TEMPLATE_MAX_BYTES,
                            &data, &len, err)) != FLD_OK ||
            (rc = fld_template_parse(data, len, &t, err)) != FLD_OK) {
            fld_err_prefix(err, "%s", argv[o.first_arg + 1]);
            goto out;
        }
        if ((rc = open_server(&o, &s, &st, err)) != FLD_OK ||
            (rc = srv_storage_begin(st, err)) != FLD_OK)
            goto out;
        canon = fld_template_canonical(t, &clen);
        row.hash = fld_template_hash(t);
        row.id = fld_template_id(t);
        row.version = fld_template_version(t);
        row.added_ms = fld_now_ms();
        /* Versions waiting for this template leave quarantine with it. */
        if ((rc = srv_storage_template_put(st, &row, canon, clen, err)) ==
                FLD_OK &&
            (rc = srv_storage_audit_add(st, "template", NULL, row.hash, row.id,
                                        err)) == FLD_OK &&
            (rc = srv_push_recheck(s, st, "unknown_template", &n_rechecked,
                                   err)) == FLD_OK)
            rc = srv_storage_commit(st, err);
        else
            srv_storage_rollback(st);
        if (rc == FLD_OK)
            printf("added %s %s %s\n", row.id, row.version, row.hash);
    } else {
        rc = fld_err_set(err, FLD_EUSAGE,
                         "unknown subcommand \"%s\" (list, add)", sub);
    }
out:
    fld_template_free(t);
    free(data);
    close_server(s, st);
    opts_free(&o);
    return rc;
}

/* ---- units
 * ------------------------------------------------------------------------ */

/*
 * Units come in the same CSV as on the devices (field/units.h: code, name,
 * kind, parent_code, valid_from, valid_to), read and checked whole by
 * libfield before anything is stored. The server keeps the tree (code,
 * name, parent, kind as its level): a later row of a code replaces an
 * earlier one, so the file's current names win.
 */
struct unit_import {
    struct srv_storage *st;
    struct fld_err *err;
};

static bool unit_known(void *ctx, const char *code)
{
    struct unit_import *im = ctx;
    bool found = false;

    return srv_storage_unit_exists(im->st, code, &found, NULL) == FLD_OK &&
           found;
}

static int unit_store(void *ctx, const struct fld_unit *u)
{
    struct unit_import *im = ctx;
    struct srv_unit row = {u->code, u->name, u->parent_code, u->kind};

    return srv_storage_unit_put(im->st, &row, im->err);
}

static int print_unit(void *ctx, const struct srv_unit *u)
{
    cJSON *arr = ctx;

    if (arr) {
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddStringToObject(o, "code", u->code) ||
            !cJSON_AddStringToObject(o, "name", u->name) ||
            !(u->parent ? cJSON_AddStringToObject(o, "parent", u->parent)
                        : cJSON_AddNullToObject(o, "parent")) ||
            !cJSON_AddStringToObject(o, "level", u->level ? u->level : ""))
            abort();
        cJSON_AddItemToArray(arr, o);
        return FLD_OK;
    }
    printf("%-12s %-12s %-10s %s\n", u->code, u->parent ? u->parent : "-",
           u->level && u->level[0] ? u->level : "-", u->name);
    return FLD_OK;
}

static int cmd_units(int argc, char **argv, struct fld_err *err)
{
    struct opts o;
    struct srv *s = NULL;
    struct srv_storage *st = NULL;
    uint8_t *data = NULL;
    cJSON *doc = NULL;
    size_t len;
    const char *sub;
    int rc, n = 0;

    if ((rc = parse("units", argc, argv, NULL, false, &o, err)) != FLD_OK)
        goto out;
    sub = o.first_arg < argc ? argv[o.first_arg] : "list";
    if (strcmp(sub, "list") == 0) {
        cJSON *root = NULL, *arr = NULL;

        if ((rc = no_more_args(&o, argc, 1, err)) != FLD_OK ||
            (rc = open_server(&o, &s, &st, err)) != FLD_OK)
            goto out;
        if (o.json && (!(root = cJSON_CreateObject()) ||
                       !(arr = cJSON_AddArrayToObject(root, "units"))))
            abort();
        rc = srv_storage_each_unit(st, print_unit, arr, err);
        if (root && rc == FLD_OK)
            print_json(root);
        else
            cJSON_Delete(root);
    } else if (strcmp(sub, "import") == 0) {
        struct unit_import im;
        size_t n_read = 0;

        if (argc - o.first_arg != 2) {
            rc = fld_err_set(err, FLD_EUSAGE, "usage: units import FILE.csv");
            goto out;
        }
        if ((rc = read_file(argv[o.first_arg + 1], FLD_UNITS_MAX_BYTES, &data,
                            &len, err)) != FLD_OK ||
            (rc = open_server(&o, &s, &st, err)) != FLD_OK ||
            (rc = srv_storage_begin(st, err)) != FLD_OK)
            goto out;
        im.st = st;
        im.err = err;
        if ((rc = fld_units_read(data, len, unit_known, unit_store, &im,
                                 &n_read, err)) == FLD_OK &&
            (rc =
                 srv_storage_audit_add(st, "units", NULL, argv[o.first_arg + 1],
                                       "units imported", err)) == FLD_OK)
            rc = srv_storage_commit(st, err);
        else
            srv_storage_rollback(st);
        if (rc != FLD_OK)
            fld_err_prefix(err, "%s", argv[o.first_arg + 1]);
        n = (int)n_read;
        if (rc == FLD_OK)
            printf("imported %d unit%s\n", n, n == 1 ? "" : "s");
    } else {
        rc = fld_err_set(err, FLD_EUSAGE,
                         "unknown subcommand \"%s\" (list, import)", sub);
    }
out:
    cJSON_Delete(doc);
    free(data);
    close_server(s, st);
    opts_free(&o);
    return rc;
}

/* ---- backup
 * ------------------------------------------------------------------------ */

static int cmd_backup(int argc, char **argv, struct fld_err *err)
{
    struct opts o;
    struct srv *s = NULL;
    struct srv_storage *st = NULL, *copy = NULL;
    char epoch[17];
    const char *path;
    int rc;

    if ((rc = parse("backup", argc, argv, NULL, false, &o, err)) != FLD_OK)
        goto out;
    if (argc - o.first_arg != 1) {
        rc = fld_err_set(err, FLD_EUSAGE, "usage: backup FILE");
        goto out;
    }
    path = argv[o.first_arg];
    if ((rc = open_server(&o, &s, &st, err)) != FLD_OK ||
        (rc = srv_storage_backup(st, path, err)) != FLD_OK)
        goto out;
    /* A server restored from this copy must not be taken for the one that
     * kept running: the copy gets an epoch of its own, so devices' cursors
     * from the live server are answered "reset" by a restored one. */
    srv_epoch_new(epoch);
    if ((rc = srv_storage_open(path, false, &copy, err)) != FLD_OK ||
        (rc = srv_storage_begin(copy, err)) != FLD_OK)
        goto out;
    if ((rc = srv_storage_meta_set(copy, "epoch", epoch, err)) == FLD_OK &&
        (rc = srv_storage_audit_add(copy, "restored-epoch", NULL, s->epoch,
                                    epoch, err)) == FLD_OK)
        rc = srv_storage_commit(copy, err);
    else
        srv_storage_rollback(copy);
    if (rc == FLD_OK)
        rc = srv_storage_checkpoint(copy, err);
    if (rc == FLD_OK) {
        srv_storage_close(copy);
        copy = NULL;
        printf("backed up to %s (epoch %s once restored)\n", path, epoch);
    }
out:
    srv_storage_close(copy);
    close_server(s, st);
    opts_free(&o);
    return rc;
}

/* ---- audit
 * ------------------------------------------------------------------------- */

struct audit_out {
    cJSON *arr;
    int n;
};

static int print_alarm(void *ctx, const struct srv_chain_alarm *a)
{
    struct audit_out *ao = ctx;

    ao->n++;
    if (ao->arr) {
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddStringToObject(o, "kind", a->kind) ||
            !cJSON_AddStringToObject(o, "author", a->author) ||
            !cJSON_AddNumberToObject(o, "dseq", (double)a->dseq) ||
            !cJSON_AddStringToObject(o, "version", a->hash) ||
            !cJSON_AddStringToObject(
                o, strcmp(a->kind, "gap") == 0 ? "missing_prev" : "other",
                a->other))
            abort();
        cJSON_AddItemToArray(ao->arr, o);
        return FLD_OK;
    }
    if (strcmp(a->kind, "gap") == 0)
        printf(
            "  gap   device %.16s dseq %lld: version %.16s names prev %.16s, "
            "which was never received\n",
            a->author, (long long)a->dseq, a->hash, a->other);
    else
        printf("  fork  device %.16s dseq %lld: versions %.16s and %.16s\n",
               a->author, (long long)a->dseq, a->hash, a->other);
    return FLD_OK;
}

static int print_audit(void *ctx, const struct srv_audit_row *a)
{
    struct audit_out *ao = ctx;
    char when[32];

    ao->n++;
    if (ao->arr) {
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddNumberToObject(o, "at_ms", (double)a->at_ms) ||
            !cJSON_AddStringToObject(o, "kind", a->kind) ||
            !(a->device ? cJSON_AddStringToObject(o, "device", a->device)
                        : cJSON_AddNullToObject(o, "device")) ||
            !(a->subject ? cJSON_AddStringToObject(o, "subject", a->subject)
                         : cJSON_AddNullToObject(o, "subject")) ||
            !cJSON_AddStringToObject(o, "detail", a->detail))
            abort();
        cJSON_AddItemToArray(ao->arr, o);
        return FLD_OK;
    }
    format_time(a->at_ms, when);
    printf("  %s  %-12s %-16.16s %-16.16s %s\n", when, a->kind,
           a->device ? a->device : "-", a->subject ? a->subject : "-",
           a->detail);
    return FLD_OK;
}

static int cmd_audit(int argc, char **argv, struct fld_err *err)
{
    static const struct option extra[] = {
        {"kind", required_argument, NULL, OPT_KIND}, {NULL, 0, NULL, 0}};
    struct opts o;
    struct srv *s = NULL;
    struct srv_storage *st = NULL;
    struct audit_out alarms = {NULL, 0}, log = {NULL, 0};
    struct srv_counts c;
    cJSON *root = NULL;
    int rc;

    if ((rc = parse("audit", argc, argv, extra, false, &o, err)) != FLD_OK ||
        (rc = no_more_args(&o, argc, 0, err)) != FLD_OK ||
        (rc = open_server(&o, &s, &st, err)) != FLD_OK ||
        (rc = srv_storage_counts(st, &c, err)) != FLD_OK)
        goto out;
    if (o.json) {
        if (!(root = cJSON_CreateObject()) ||
            !(alarms.arr = cJSON_AddArrayToObject(root, "alarms")) ||
            !(log.arr = cJSON_AddArrayToObject(root, "log")) ||
            !cJSON_AddNumberToObject(root, "versions", (double)c.versions) ||
            !cJSON_AddNumberToObject(root, "quarantined",
                                     (double)c.quarantined) ||
            !cJSON_AddNumberToObject(root, "flagged", (double)c.flagged))
            abort();
    } else {
        printf("versions stored: %lld, quarantined: %lld, flagged: %lld\n",
               (long long)c.versions, (long long)c.quarantined,
               (long long)c.flagged);
        printf("chain alarms:\n");
    }
    if ((rc = srv_storage_each_alarm(st, print_alarm, &alarms, err)) != FLD_OK)
        goto out;
    if (!o.json) {
        if (alarms.n == 0)
            printf("  none\n");
        printf("log:\n");
    }
    if ((rc = srv_storage_each_audit(st, o.kind, print_audit, &log, err)) !=
        FLD_OK)
        goto out;
    if (o.json)
        print_json(root);
    root = NULL;
    if (alarms.n > 0)
        rc = fld_err_set(err, FLD_ECORRUPT, "%d chain alarm%s (forks or gaps)",
                         alarms.n, alarms.n == 1 ? "" : "s");
out:
    cJSON_Delete(root);
    close_server(s, st);
    opts_free(&o);
    return rc;
}

/* ---- serve
 * ------------------------------------------------------------------------- */

int srv_cmd_serve(int argc, char **argv, struct fld_err *err)
{
    struct opts o;
    struct srv *s = NULL;
    struct srv_storage *st = NULL;
    struct srv_http *h = NULL;
    sigset_t set;
    int rc, sig = 0, left;

    if ((rc = parse("serve", argc, argv, NULL, true, &o, err)) != FLD_OK ||
        (rc = no_more_args(&o, argc, 0, err)) != FLD_OK)
        goto out;
    /* Signals are taken by this thread alone, with sigwait: the worker
     * threads started below inherit the mask and never see them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((rc = srv_open(&o.cfg, &s, err)) != FLD_OK ||
        (rc = srv_http_start(s, &h, err)) != FLD_OK)
        goto out;
    fprintf(stderr, "field-server: serving %s on %s%s:%d (epoch %s)\n",
            o.cfg.db, h && o.cfg.tls_cert ? "https://" : "http://",
            o.cfg.listen, srv_http_port(h), s->epoch);
    sigwait(&set, &sig);
    fprintf(stderr, "field-server: %s: finishing requests in flight\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    left = srv_http_stop(h, o.cfg.shutdown_grace_s);
    h = NULL;
    if (left > 0)
        fprintf(stderr, "field-server: %d request%s cut off after %us\n", left,
                left == 1 ? "" : "s", o.cfg.shutdown_grace_s);
    /* Fold the write-ahead log into the database, so that what is left on
     * disk is one self-contained file. */
    if ((rc = srv_acquire(s, &st, err)) == FLD_OK)
        rc = srv_storage_checkpoint(st, err);
    srv_release(s, st);
    if (rc == FLD_OK)
        fprintf(stderr, "field-server: stopped cleanly\n");
out:
    if (h)
        srv_http_stop(h, 0);
    srv_close(s);
    opts_free(&o);
    return rc;
}

/* ---- records
 * ----------------------------------------------------------------------- */

/*
 * A record as the province sees it: the deterministic merge (sync/merge.h)
 * of every version the server holds, the same state every device with
 * these versions shows. Each version is verified again on the way.
 */
struct record_versions {
    struct fld_version **v;
    size_t n;
    struct fld_err *err;
};

static int keep_version(void *ctx, int64_t seq, const uint8_t *body, size_t len,
                        const uint8_t *sig)
{
    struct record_versions *rv = ctx;
    struct fld_version *v;
    int rc;

    (void)seq;
    if ((rc = fld_version_open(body, len, sig, &v, rv->err)) != FLD_OK)
        return fld_err_set(rv->err, FLD_ECORRUPT,
                           "a stored version does not verify: %s",
                           rv->err->msg);
    rv->v = fld_xreallocarray(rv->v, rv->n + 1, sizeof *rv->v);
    rv->v[rv->n++] = v;
    return FLD_OK;
}

static void print_record(const struct syn_merged *m, bool json)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i, j;

    if (json) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "record", fld_json_string(m->newest->record));
        fld_json_set(o, "subject", fld_json_string(m->newest->subject));
        fld_json_set(o, "template", fld_json_string(m->newest->template_id));
        fld_json_set(o, "status", fld_json_string(m->status));
        fld_json_set(o, "review_outdated", fld_json_bool(m->review_outdated));
        fld_json_set(o, "heads", fld_json_int((int64_t)m->n_heads));
        fld_json_set(o, "conflicts", fld_json_int((int64_t)m->n_conflicts));
        fld_json_set(o, "answers", fld_json_clone(m->answers));
        fld_json_write(o, &b, NULL);
        fld_json_free(o);
        printf("%s\n", fld_buf_str(&b));
        fld_buf_free(&b);
        return;
    }
    printf(
        "record    %s\nsubject   %s\ntemplate  %s\nstatus    %s%s\nheads     %zu\n",
        m->newest->record, m->newest->subject, m->newest->template_id,
        m->status, m->review_outdated ? " (review outdated)" : "", m->n_heads);
    fld_json_write(m->answers, &b, NULL);
    printf("answers   %s\n", fld_buf_str(&b));
    for (i = 0; i < m->n_conflicts; i++) {
        printf("conflict  %s:", m->conflicts[i].path);
        for (j = 0; j < m->conflicts[i].n_candidates; j++) {
            const struct syn_candidate *c = &m->conflicts[i].candidates[j];

            fld_buf_reset(&b);
            if (c->value)
                fld_json_write(c->value, &b, NULL);
            else
                fld_buf_puts(&b, "(deleted)");
            printf(" %s%s by %.16s", j ? "| " : "", fld_buf_str(&b), c->author);
        }
        putchar('\n');
    }
    fld_buf_free(&b);
}

static int cmd_record(int argc, char **argv, struct fld_err *err)
{
    struct opts o;
    struct srv *s = NULL;
    struct srv_storage *st = NULL;
    struct record_versions rv = {NULL, 0, err};
    struct syn_merged *m = NULL;
    size_t i;
    int rc;

    if ((rc = parse("record", argc, argv, NULL, false, &o, err)) != FLD_OK)
        goto out;
    if (argc - o.first_arg != 1) {
        rc = fld_err_set(err, FLD_EUSAGE, "usage: record RECORD");
        goto out;
    }
    if ((rc = open_server(&o, &s, &st, err)) != FLD_OK ||
        (rc = srv_storage_record_versions(st, argv[o.first_arg], keep_version,
                                          &rv, err)) != FLD_OK)
        goto out;
    if (rv.n == 0) {
        rc = fld_err_set(err, FLD_NOTFOUND, "no record %s (give its full id)",
                         argv[o.first_arg]);
        goto out;
    }
    if ((rc = syn_merge(rv.v, rv.n, &m, err)) == FLD_OK)
        print_record(m, o.json);
out:
    syn_merged_free(m);
    for (i = 0; i < rv.n; i++)
        fld_version_free(rv.v[i]);
    free(rv.v);
    close_server(s, st);
    opts_free(&o);
    return rc;
}

/* ---- the table
 * ---------------------------------------------------------------------- */

#define COMMON                                                                 \
    "\n  --db PATH      the database (default field-server.db)\n"              \
    "  --config FILE  read settings from FILE ($FIELD_SERVER_CONFIG)"

const struct srv_cmd srv_cmd_table[] = {
    {"audit", cmd_audit, "[--json] [--kind KIND]",
     "Show the alarms and the audit log: forks and gaps in device chains\n"
     "(computed from the stored versions), then every logged event:\n"
     "enrolments, revocations, refused pushes, quarantined and released\n"
     "versions, flagged versions. Exits 5 when there is a chain alarm.\n"
     "  --kind KIND    only log entries of KIND (refused, revoked, ...)" COMMON},
    {"backup", cmd_backup, "FILE",
     "Copy the database to FILE (which must not exist) with SQLite's online\n"
     "backup, while the server keeps serving. The copy gets a new epoch, so\n"
     "that devices reconcile if it is ever restored." COMMON},
    {"devices", cmd_devices, "[list] [--json] | revoke DEVICE",
     "List enrolled devices (key, role, state, inspector, scope), or revoke\n"
     "one by its key or a unique prefix of at least 4 hex digits. A revoked\n"
     "device's requests are refused at once, and versions it signed are\n"
     "quarantined rather than stored." COMMON},
    {"enroll-code", cmd_enroll_code,
     "--inspector NAME --role inspector|supervisor|admin --scope UNIT... "
     "[--ttl HOURS]",
     "Print a one-time enrollment code for a new device. The device sends it\n"
     "with its public key to POST /v1/enroll and is enrolled with this name,\n"
     "role and scope (the units and everything below them; an admin covers\n"
     "every unit). The code expires after --ttl hours (default 72); only its\n"
     "hash is stored." COMMON},
    {"help", NULL, "[COMMAND]", "Explain a command."},
    {"init", cmd_init, "",
     "Create the database (schema/server.sql, WAL), give it an epoch and\n"
     "install the built-in checklist templates." COMMON},
    {"record", cmd_record, "[--json] RECORD",
     "Show one record as the province sees it: the deterministic merge of\n"
     "every version stored here (the same state every device holding these\n"
     "versions shows), with its status, heads and each unresolved conflict\n"
     "with every value and its author. Every version is verified again." COMMON},
    {"serve", srv_cmd_serve,
     "[--listen ADDR] [--port N] [--tls-cert PEM --tls-key PEM] [...]",
     "Serve the API until SIGTERM or SIGINT, then stop accepting, let the\n"
     "requests in flight finish and checkpoint the database.\n"
     "  --listen ADDR          numeric address (default 127.0.0.1)\n"
     "  --port N               port (default 8080; 0 picks a free one)\n"
     "  --port-file FILE       write the bound port to FILE\n"
     "  --tls-cert, --tls-key  serve HTTPS with these PEM files\n"
     "  --threads N            worker threads (default two per core)\n"
     "  --max-body SIZE        largest request body (default 16M)\n"
     "  --max-inflated SIZE    largest body after gunzip (default 64M)\n"
     "  --skew SECONDS         accepted clock difference (default 300)\n"
     "  --request-timeout S    to receive a whole request (default 60)\n"
     "  --idle-timeout S       close idle connections (default 30)\n"
     "  --max-connections N    (default 1000)\n"
     "  --per-ip-connections N (default 0: no limit)\n"
     "  --shutdown-grace S     wait for requests in flight (default 30)\n"
     "  --quiet                no request log on standard error" COMMON},
    {"templates", cmd_templates, "[list] [--json] | add FILE",
     "List the installed checklist templates, or add one from a JSON file.\n"
     "Versions quarantined for want of the template are stored then." COMMON},
    {"units", cmd_units, "[list] [--json] | import FILE",
     "List the administrative units, or import them from a JSON file:\n"
     "{\"units\": [{\"code\": \"42\", \"name\": \"Hà Tĩnh\", \"parent\": null,\n"
     "\"level\": \"province\"}, ...]}. Existing codes are updated." COMMON},
    {NULL, NULL, NULL, NULL},
};

const struct srv_cmd *srv_cmd_find(const char *name, struct fld_err *err)
{
    const struct srv_cmd *c, *found = NULL;
    size_t len = strlen(name);
    int n = 0;

    for (c = srv_cmd_table; c->name != NULL; c++) {
        if (strcmp(c->name, name) == 0)
            return c;
        if (strncmp(c->name, name, len) == 0) {
            found = c;
            n++;
        }
    }
    if (n == 1)
        return found;
    fld_err_set(err, FLD_EUSAGE,
                n > 1 ? "'%s' is ambiguous; see 'field-server --help'"
                      : "unknown command '%s'; see 'field-server --help'",
                name);
    return NULL;
}

void srv_cmd_print_help(const struct srv_cmd *c, FILE *out)
{
    fprintf(out, "usage: field-server %s %s\n\n%s\n", c->name, c->usage,
            c->help);
}

int srv_exit_status(int code)
{
    switch (code) {
    case FLD_OK:
        return 0;
    case FLD_EUSAGE:
        return 2;
    case FLD_NOTFOUND:
        return 3;
    case FLD_EXISTS:
    case FLD_EINVAL:
    case FLD_ELIMIT:
    case FLD_CONFLICT:
        return 4;
    case FLD_ECORRUPT:
        return 5;
    default:
        return 1;
    }
}
