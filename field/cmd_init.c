/*
 * cmd_init.c - `field init`: set up a device.
 *
 *   field init [--inspector NAME] [--passphrase]
 *
 * Creates the data directory (mode 0700), the device key (mode 0600,
 * optionally passphrase-protected), and the store, then installs the
 * built-in templates. Either all of it is there afterwards or none of it:
 * a failure removes what this run created.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "capture.h"
#include "cmd.h"
#include "embedded.h"
#include "norm.h"
#include "units.h"

struct init_opts {
    const char *inspector;
    bool passphrase;
};

enum { OPT_INSPECTOR = 1, OPT_PASSPHRASE };

static int on_option(struct cmd_ctx *ctx, int opt, const char *arg, void *data)
{
    struct init_opts *o = data;

    (void)ctx;
    if (opt == OPT_INSPECTOR)
        o->inspector = arg;
    else
        o->passphrase = true;
    return FLD_OK;
}

/* mkdir -p with mode 0700 for the last component. */
static int make_home(struct cmd_ctx *ctx)
{
    char *path = fld_xstrdup(ctx->home);
    char *p;
    int rc = FLD_OK;

    for (p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            rc = fld_err_set(&ctx->err, FLD_EIO, "%s: %s", path,
                             strerror(errno));
        *p = '/';
        if (rc != FLD_OK)
            break;
    }
    if (rc == FLD_OK && mkdir(path, 0700) != 0 && errno != EEXIST)
        rc = fld_err_set(&ctx->err, errno == ENOSPC ? FLD_EFULL : FLD_EIO,
                         "%s: %s", path, strerror(errno));
    free(path);
    return rc;
}

/* The units shipped with the program (the CSV files of schema/units). */
int cmd_install_units(struct cmd_ctx *ctx, int *n_installed)
{
    const struct fld_embedded *e;
    unsigned char *csv;
    size_t len, n;
    int rc = FLD_OK;

    *n_installed = 0;
    for (e = fld_embedded_files; e->name != NULL && rc == FLD_OK; e++) {
        len = strlen(e->name);
        if (len < 4 || strcmp(e->name + len - 4, ".csv") != 0)
            continue;
        csv = fld_embedded_inflate(e);
        rc = fld_units_import(ctx->st, csv, e->len, &n, &ctx->err);
        free(csv);
        if (rc != FLD_OK)
            return fld_err_prefix(&ctx->err, "built-in units %s", e->name);
        *n_installed += (int)n;
    }
    return rc;
}

int cmd_install_templates(struct cmd_ctx *ctx, int *n_installed)
{
    const struct fld_embedded *e;
    struct fld_template *t;
    const uint8_t *canon;
    size_t len, n;
    int rc = FLD_OK;

    *n_installed = 0;
    for (e = fld_embedded_files; e->name != NULL && rc == FLD_OK; e++) {
        n = strlen(e->name);
        if (n < 5 || strcmp(e->name + n - 5, ".json") != 0)
            continue;
        if ((rc = fld_template_parse_embedded(e, &t, &ctx->err)) != FLD_OK)
            return fld_err_prefix(&ctx->err, "built-in template %s", e->name);
        canon = fld_template_canonical(t, &len);
        rc = fld_store_template_put(ctx->st, fld_template_hash(t),
                                    fld_template_id(t), canon, len, &ctx->err);
        fld_template_free(t);
        if (rc == FLD_OK)
            (*n_installed)++;
    }
    return rc;
}

static int create_all(struct cmd_ctx *ctx, const struct init_opts *o,
                      const char *inspector, int *n_templates, int *n_units)
{
    char *pass = NULL;
    int rc;

    if (o->passphrase || getenv("FIELD_PASSPHRASE") != NULL) {
        rc = cmd_passphrase(ctx, "New passphrase for the device key: ", true,
                            &pass);
        if (rc != FLD_OK)
            return rc;
        if (pass[0] == '\0') {
            cmd_passphrase_free(pass);
            return fld_err_set(&ctx->err, FLD_EPASS, "the passphrase is empty");
        }
    }
    rc = fld_key_generate(&ctx->key, &ctx->err);
    if (rc == FLD_OK)
        rc = fld_key_save(ctx->key, ctx->key_path, pass, &ctx->err);
    cmd_passphrase_free(pass);
    if (rc != FLD_OK)
        return rc;
    rc = fld_store_open(ctx->db_path, FLD_STORE_CREATE, &ctx->st, &ctx->err);
    if (rc == FLD_OK)
        rc = fld_capture_setup(ctx->st, ctx->key, inspector, &ctx->err);
    if (rc != FLD_OK)
        return rc;
    if ((rc = fld_store_begin(ctx->st, &ctx->err)) != FLD_OK)
        return rc;
    if ((rc = cmd_install_templates(ctx, n_templates)) != FLD_OK) {
        fld_store_rollback(ctx->st);
        return rc;
    }
    if ((rc = fld_store_commit(ctx->st, &ctx->err)) != FLD_OK)
        return rc;
    return cmd_install_units(ctx, n_units);
}

static void remove_created(struct cmd_ctx *ctx)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    size_t i;

    fld_store_close(ctx->st);
    ctx->st = NULL;
    for (i = 0; i < 3; i++) {
        char *p = fld_xasprintf("%s%s", ctx->db_path, suffix[i]);
        unlink(p);
        free(p);
    }
    unlink(ctx->key_path);
}

static void report(struct cmd_ctx *ctx, const char *inspector, int n_templates,
                   int n_units)
{
    char pub[65];

    fld_key_public_hex(ctx->key, pub);
    if (ctx->json) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "home", fld_json_string(ctx->home));
        fld_json_set(o, "device", fld_json_string(pub));
        fld_json_set(o, "inspector", fld_json_string(inspector));
        fld_json_set(o, "templates", fld_json_int(n_templates));
        fld_json_set(o, "units", fld_json_int(n_units));
        cmd_print_json(ctx, o);
        fld_json_free(o);
        return;
    }
    printf("Set up field in %s\n", ctx->home);
    printf("Device key:  %s\n", pub);
    if (inspector[0])
        printf("Inspector:   %s\n", inspector);
    printf("Templates:   %d installed (see 'field templates')\n", n_templates);
    printf("Units:       %d installed (see 'field units')\n", n_units);
}

int cmd_init(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"inspector", required_argument, NULL, OPT_INSPECTOR},
        {"passphrase", no_argument, NULL, OPT_PASSPHRASE},
        {NULL, 0, NULL, 0}};
    struct init_opts o = {"", false};
    struct stat sb;
    char *inspector = NULL;
    int rc, first, n_templates = 0, n_units = 0;

    if ((rc = cmd_parse(ctx, argc, argv, extra, on_option, &o, &first)) !=
        FLD_OK)
        return rc;
    if (first != argc)
        return fld_err_set(&ctx->err, FLD_EUSAGE, "unexpected argument '%s'",
                           argv[first]);
    if ((rc = fld_norm_text(o.inspector, &inspector, &ctx->err)) != FLD_OK)
        return fld_err_prefix(&ctx->err, "--inspector");
    if ((rc = cmd_locate_home(ctx)) != FLD_OK)
        goto out;
    if ((rc = make_home(ctx)) != FLD_OK)
        goto out;
    if (stat(ctx->db_path, &sb) == 0 || lstat(ctx->key_path, &sb) == 0) {
        rc = fld_err_set(&ctx->err, FLD_EXISTS,
                         "%s is already set up (it has a store or a key)",
                         ctx->home);
        goto out;
    }
    rc = create_all(ctx, &o, inspector, &n_templates, &n_units);
    if (rc != FLD_OK)
        remove_created(ctx);
    else
        report(ctx, inspector, n_templates, n_units);
out:
    free(inspector);
    return rc;
}
