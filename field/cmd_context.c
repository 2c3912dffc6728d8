/*
 * cmd_context.c - the plumbing every command of `field` shares: option
 * parsing, the data directory, opening the store and the key, asking for
 * a passphrase, JSON output. Finding a command and the exit statuses are
 * shared with field-server (cmdline.c).
 */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "capture.h"
#include "file.h"
#include "merge.h"
#include "template_cache.h"
#include "version.h"

#define PASSPHRASE_MAX 1024

void cmd_print_help(const struct cmd *cmd, FILE *out)
{
    fprintf(out, "usage: field %s %s\n\n%s\n", cmd->name, cmd->usage,
            cmd->help);
}

/* Exact name, else a unique prefix; otherwise suggest the closest. */
const struct cmd *cmd_find(const char *name, struct fld_err *err)
{
    return fld_cmd_find(cmd_table, sizeof *cmd_table, name, "field", err);
}

enum { OPT_HELP = 1000, OPT_JSON, OPT_LANG };

int cmd_parse(struct cmd_ctx *ctx, int argc, char **argv,
              const struct option *extra,
              int (*on_option)(struct cmd_ctx *ctx, int opt, const char *arg,
                               void *data),
              void *data, int *first_arg)
{
    const struct cmd *cmd = ctx->cmd;
    struct option opts[32];
    size_t n = 0;
    int c, rc;

    opts[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    opts[n++] = (struct option){"json", no_argument, NULL, OPT_JSON};
    opts[n++] = (struct option){"lang", required_argument, NULL, OPT_LANG};
    while (extra && extra->name && n < 31)
        opts[n++] = *extra++;
    opts[n] = (struct option){NULL, 0, NULL, 0};
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
        case OPT_HELP:
            cmd_print_help(cmd, stdout);
            return -1;
        case OPT_JSON:
            ctx->json = true;
            break;
        case OPT_LANG:
            if (strcmp(optarg, "vi") == 0)
                ctx->lang = FLD_LANG_VI;
            else if (strcmp(optarg, "en") == 0)
                ctx->lang = FLD_LANG_EN;
            else
                return fld_err_set(&ctx->err, FLD_EUSAGE,
                                   "--lang must be vi or en, not '%s'", optarg);
            break;
        case '?':
            return fld_err_set(
                &ctx->err, FLD_EUSAGE,
                "unknown or incomplete option '%s'; see 'field %s --help'",
                argv[optind - 1], cmd->name);
        default:
            if (on_option == NULL)
                return fld_err_set(&ctx->err, FLD_EUSAGE, "bad option");
            if ((rc = on_option(ctx, c, optarg, data)) != FLD_OK)
                return rc;
        }
    }
    *first_arg = optind;
    return FLD_OK;
}

int cmd_parse_and_open(struct cmd_ctx *ctx, int argc, char **argv,
                       const struct option *extra,
                       int (*on_option)(struct cmd_ctx *ctx, int opt,
                                        const char *arg, void *data),
                       void *data)
{
    int rc, first;

    if ((rc = cmd_parse(ctx, argc, argv, extra, on_option, data, &first)))
        return rc;
    if (first != argc)
        return fld_err_set(&ctx->err, FLD_EUSAGE, "unexpected argument '%s'",
                           argv[first]);
    return cmd_open_store(ctx);
}

int cmd_locate_home(struct cmd_ctx *ctx)
{
    const char *home = getenv("FIELD_HOME");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *user = getenv("HOME");

    /* Once per context: `field ui`'s sync thread is given its directory. */
    if (ctx->home != NULL)
        return FLD_OK;
    if (home != NULL && home[0] != '\0')
        ctx->home = fld_xstrdup(home);
    else if (xdg != NULL && xdg[0] == '/')
        ctx->home = fld_xasprintf("%s/field", xdg);
    else if (user != NULL && user[0] == '/')
        ctx->home = fld_xasprintf("%s/.local/share/field", user);
    else
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "no data directory: set FIELD_HOME or HOME");
    ctx->db_path = fld_xasprintf("%s/field.db", ctx->home);
    ctx->key_path = fld_xasprintf("%s/device.key", ctx->home);
    return FLD_OK;
}

int cmd_locate_store(struct cmd_ctx *ctx)
{
    struct stat sb;
    int rc;

    if ((rc = cmd_locate_home(ctx)) != FLD_OK)
        return rc;
    if (stat(ctx->db_path, &sb) != 0)
        return fld_err_set(&ctx->err, FLD_NOTFOUND,
                           "%s is not set up; run 'field init' first",
                           ctx->home);
    return FLD_OK;
}

int cmd_open_store(struct cmd_ctx *ctx)
{
    int rc;

    /* Once per context: `field ui` edits many records with one store, and
     * cmd_record_edit() opens it for the commands that did not yet. */
    if (ctx->st != NULL)
        return FLD_OK;
    if ((rc = cmd_locate_store(ctx)) != FLD_OK)
        return rc;
    /* A data directory that cannot be written (a read-only mount, a copy
     * handed over for inspection) still serves every command that only
     * reads; one that writes says why it cannot (fld_db_begin). */
    if (access(ctx->home, W_OK) != 0 || access(ctx->db_path, W_OK) != 0)
        return fld_store_open(ctx->db_path, FLD_STORE_READONLY, &ctx->st,
                              &ctx->err);
    return fld_store_open(ctx->db_path, FLD_STORE_OPEN, &ctx->st, &ctx->err);
}

void cmd_passphrase_free(char *p)
{
    if (p != NULL)
        sodium_free(p);
}

/* Read one line from the terminal with echo off. */
static int read_tty(const char *prompt, char *buf, size_t cap)
{
    FILE *tty = fopen("/dev/tty", "r+");
    struct termios old, quiet;
    int ok = 0;

    if (tty == NULL)
        return -1;
    fputs(prompt, tty);
    fflush(tty);
    if (tcgetattr(fileno(tty), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
        ok = fgets(buf, (int)cap, tty) != NULL;
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
        fputc('\n', tty);
    }
    fclose(tty);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

int cmd_passphrase(struct cmd_ctx *ctx, const char *prompt, bool confirm,
                   char **out)
{
    const char *env = getenv("FIELD_PASSPHRASE");
    char *p = sodium_malloc(PASSPHRASE_MAX), *again;
    int rc = FLD_OK;

    *out = NULL;
    if (p == NULL)
        return fld_err_set(&ctx->err, FLD_EIO, "cannot allocate secure memory");
    if (env != NULL) {
        if (strlen(env) >= PASSPHRASE_MAX)
            rc = fld_err_set(&ctx->err, FLD_EPASS,
                             "FIELD_PASSPHRASE is too long");
        else
            memcpy(p, env, strlen(env) + 1);
    } else if (!isatty(STDIN_FILENO) ||
               read_tty(prompt, p, PASSPHRASE_MAX) != 0) {
        rc = fld_err_set(&ctx->err, FLD_EPASS,
                         "the device key needs a passphrase: run in a terminal "
                         "or set FIELD_PASSPHRASE");
    } else if (confirm) {
        again = sodium_malloc(PASSPHRASE_MAX);
        if (again == NULL || read_tty("Again: ", again, PASSPHRASE_MAX) != 0 ||
            strcmp(again, p) != 0)
            rc = fld_err_set(&ctx->err, FLD_EPASS, "the passphrases differ");
        cmd_passphrase_free(again);
    }
    if (rc != FLD_OK) {
        cmd_passphrase_free(p);
        return rc;
    }
    *out = p;
    return FLD_OK;
}

int cmd_load_key(struct cmd_ctx *ctx)
{
    char *pass = NULL;
    int prot = fld_key_file_is_protected(ctx->key_path);
    int rc;

    if (prot == 1) {
        rc = cmd_passphrase(ctx, "Passphrase for the device key: ", false,
                            &pass);
        if (rc != FLD_OK)
            return rc;
    }
    rc = fld_key_load(ctx->key_path, pass, &ctx->key, &ctx->err);
    cmd_passphrase_free(pass);
    return rc;
}

void cmd_ctx_close(struct cmd_ctx *ctx)
{
    size_t i;

    for (i = 0; i < ctx->n_templates; i++) {
        fld_template_cache_release(ctx->templates[i].t);
        free(ctx->templates[i].name);
    }
    free(ctx->templates);
    ctx->templates = NULL;
    ctx->n_templates = 0;
    fld_store_close(ctx->st);
    fld_key_free(ctx->key);
    free(ctx->home);
    free(ctx->db_path);
    free(ctx->key_path);
    ctx->st = NULL;
    ctx->key = NULL;
    ctx->home = ctx->db_path = ctx->key_path = NULL;
}

int cmd_find_record(struct cmd_ctx *ctx, const char *prefix, char out[33])
{
    return fld_store_find_record(ctx->st, prefix, out, &ctx->err);
}

/* What cmd_load_template() hands the cache to make a template on a miss:
 * the installed body and the revision in force, if any. */
struct template_source {
    const char *name;
    uint8_t *body;
    size_t len;
    struct fld_thresholds *r;
};

static int parse_installed(void *data, struct fld_template **out,
                           struct fld_err *err)
{
    const struct template_source *src = data;
    int rc;

    if ((rc = fld_template_parse(src->body, src->len, out, err)) != FLD_OK)
        return fld_err_set(err, FLD_ECORRUPT, "installed template %s: %s",
                           src->name, err->msg);
    if (src->r == NULL)
        return FLD_OK;
    if (fld_thresholds_apply(src->r, *out, err) != FLD_OK) {
        fld_err_prefix(err, "stored threshold revision %lld of %s",
                       (long long)src->r->revision, src->r->template_id);
        return err->code = FLD_ECORRUPT;
    }
    return FLD_OK;
}

int cmd_load_template(struct cmd_ctx *ctx, const char *id_or_hash,
                      const struct fld_template **out)
{
    struct template_source src = {id_or_hash, NULL, 0, NULL};
    char hash[FLD_HASH_HEX_LEN + 1];
    size_t i;
    int rc;

    *out = NULL;
    for (i = 0; i < ctx->n_templates; i++)
        if (strcmp(ctx->templates[i].name, id_or_hash) == 0) {
            *out = ctx->templates[i].t;
            return FLD_OK;
        }
    rc = fld_store_template_get(ctx->st, id_or_hash, &src.body, &src.len, hash,
                                &ctx->err);
    if (rc == FLD_NOTFOUND)
        return fld_err_set(
            &ctx->err, FLD_NOTFOUND,
            "no template '%s' is installed; see 'field templates'", id_or_hash);
    if (rc == FLD_OK)
        rc = cmd_thresholds_in_force(ctx, hash, &src.r);
    if (rc == FLD_OK)
        rc = fld_template_cache_get(hash, src.r ? src.r->hash : NULL,
                                    parse_installed, &src, out, &ctx->err);
    free(src.body);
    fld_thresholds_free(src.r);
    if (rc != FLD_OK)
        return rc;
    ctx->templates = fld_xreallocarray(ctx->templates, ctx->n_templates + 1,
                                       sizeof *ctx->templates);
    ctx->templates[ctx->n_templates].name = fld_xstrdup(id_or_hash);
    ctx->templates[ctx->n_templates++].t = *out;
    return FLD_OK;
}

int cmd_print_json(struct cmd_ctx *ctx, const struct fld_json *v)
{
    struct fld_buf b = FLD_BUF_INIT;
    int rc = fld_json_write(v, &b, &ctx->err);

    if (rc == FLD_OK) {
        fwrite(b.data, 1, b.len, stdout);
        fputc('\n', stdout);
    }
    fld_buf_free(&b);
    return rc;
}

void cmd_format_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (localtime_r(&t, &tm) == NULL ||
        strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)ms);
}

void cmd_today(char out[11])
{
    const char *fixed = getenv("FIELD_TODAY");
    time_t now = time(NULL);
    struct tm tm;

    if (fixed != NULL && strlen(fixed) == 10) {
        memcpy(out, fixed, 11);
        return;
    }
    if (localtime_r(&now, &tm) == NULL ||
        strftime(out, 11, "%Y-%m-%d", &tm) == 0)
        memcpy(out, "1970-01-01", 11);
}

int cmd_read_file(struct cmd_ctx *ctx, const char *path, size_t max,
                  uint8_t **data, size_t *len)
{
    return fld_file_read(path, max, data, len, &ctx->err);
}

static int collect_version(void *data, const struct fld_store_row *row)
{
    struct cmd_record *r = data;
    struct fld_version *v;
    struct fld_err err;

    if (row->sig_len != FLD_SIG_LEN ||
        fld_version_open(row->body, row->body_len, row->sig, &v, &err) !=
            FLD_OK)
        return FLD_ECORRUPT; /* named by the caller: run field verify */
    r->versions =
        fld_xreallocarray(r->versions, r->n_versions + 1, sizeof *r->versions);
    r->versions[r->n_versions++] = v;
    return FLD_OK;
}

int64_t cmd_trusted_bound(struct cmd_ctx *ctx)
{
    int64_t offset = 0;
    struct fld_err e;

    /* the offset the server's time taught (capture.h); none: 0 */
    if (fld_store_meta_get_int(ctx->st, FLD_META_OFFSET, &offset, &e) != FLD_OK)
        offset = 0;
    return fld_now_ms() + offset + FLD_HLC_MAX_AHEAD_MS;
}

int cmd_record_read(struct cmd_ctx *ctx, const char *id, struct cmd_record *r)
{
    int rc;

    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    rc = fld_store_each_version(ctx->st, r->id, FLD_ORDER_ARRIVAL,
                                collect_version, r, &ctx->err);
    if (rc == FLD_ECORRUPT)
        return fld_err_set(
            &ctx->err, FLD_ECORRUPT,
            "a version of record %.12s does not verify; run 'field verify'",
            r->id);
    if (rc != FLD_OK)
        return rc;
    return syn_merge_at(r->versions, r->n_versions, cmd_trusted_bound(ctx),
                        &r->merged, &ctx->err);
}

int cmd_record_load(struct cmd_ctx *ctx, const char *prefix,
                    struct cmd_record *r)
{
    char id[FLD_RECORD_HEX_LEN + 1];
    int rc;

    memset(r, 0, sizeof *r);
    if ((rc = cmd_find_record(ctx, prefix, id)) != FLD_OK)
        return rc;
    if ((rc = cmd_record_read(ctx, id, r)) != FLD_OK)
        return rc;
    return cmd_load_template(ctx, r->merged->newest->template_hash, &r->t);
}

void cmd_record_free(struct cmd_record *r)
{
    size_t i;

    syn_merged_free(r->merged);
    for (i = 0; i < r->n_versions; i++)
        fld_version_free(r->versions[i]);
    free(r->versions);
    memset(r, 0, sizeof *r);
}

const char *cmd_edit_status(const char *status)
{
    return strcmp(status, "returned") == 0 ? "draft" : status;
}

int cmd_record_save(struct cmd_ctx *ctx, const struct cmd_record *r,
                    const struct fld_json *answers, const char *status,
                    struct fld_version **out)
{
    const struct syn_merged *m = r->merged;

    *out = NULL;
    if (m->n_heads == 1 && fld_json_equal(answers, m->answers) &&
        strcmp(status, m->status) == 0)
        return fld_err_set(&ctx->err, FLD_EXISTS, "nothing changed");
    return fld_capture_save_heads(ctx->st, ctx->key, m->newest,
                                  (const char *const *)m->heads, m->n_heads,
                                  answers, status, out, &ctx->err);
}
