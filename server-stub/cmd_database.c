/*
 * cmd_database.c - the life of the server's database file: `init` creates
 * it, `backup` copies it while the server keeps serving.
 *
 *   field-server init [--db PATH]
 *   field-server backup [--db PATH] FILE
 *
 * Decisions:
 *   - A database has an epoch, 16 random hex digits, which every pull
 *     cursor carries (api.h). init gives a new database one; backup gives
 *     the copy a NEW one. A server restored from a backup must not be taken
 *     for the one that kept running: with another epoch, every device's
 *     cursor is answered "reset" and the device reconciles by record heads
 *     (DESIGN.md section 5), pushing again what the backup lacks. Keeping
 *     the epoch would let devices skip versions the restored copy never had.
 *   - init installs the built-in checklist templates (the ones libfield
 *     embeds), so that a new server accepts the versions of new devices
 *     at once; more are added with `templates add`.
 *   - init refuses a database that already has an epoch (exit 4), rather
 *     than reinitialising it: that would change the epoch under devices.
 *   - backup uses SQLite's online backup, so it runs beside `serve`, and
 *     then checkpoints the copy so that it is one self-contained file.
 *   - The photos are files beside the database (attachments.h), not in
 *     it: backup copies the whole ones to FILE.attachments/ (same layout)
 *     after the database, so every attachment the copy calls stored is
 *     there (a file is in place before its row says so); a file stored
 *     meanwhile is copied too and harmless. Unfinished uploads are not
 *     copied: their clients resume from the state the copy gives.
 *     docs/SERVER.md says how to restore both.
 */
#include "command.h"

#include <stdlib.h>
#include <string.h>

#include "attachments.h"
#include "embedded.h"
#include "hlc.h"

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
        if ((rc = fld_template_parse_embedded(e, &t, err)) != FLD_OK)
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

/*
 * field-server init [--db PATH]
 *
 * Create the database (the schema is applied by storage on open), give it
 * an epoch and install the built-in templates, in one transaction: a
 * failed init leaves no half-initialised database that serve would take.
 */
int srv_cmd_init(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    struct fld_err *err = &ctx->err;
    struct srv_storage *st = NULL;
    char epoch[17], *have = NULL, *where = NULL;
    int rc, n = 0;

    if ((rc = srv_cmd_parse_options(ctx, argc, argv, NULL, NULL, NULL)) !=
        FLD_OK)
        goto out;
    if ((rc = srv_storage_open(ctx->cfg.db, true, &st, err)) != FLD_OK)
        goto out;
    where = srv_storage_display(ctx->cfg.db);
    rc = srv_storage_meta_get(st, "epoch", &have, err);
    if (rc == FLD_OK) {
        rc = fld_err_set(err, FLD_EXISTS, "%s is initialised already", where);
        goto out;
    }
    if (rc != FLD_NOTFOUND)
        goto out;
    srv_epoch_new(epoch);
    if ((rc = srv_storage_begin(st, err)) != FLD_OK)
        goto out;
    rc = srv_storage_meta_set(st, "epoch", epoch, err);
    if (rc == FLD_OK)
        rc = install_builtin_templates(st, &n, err);
    if (rc == FLD_OK)
        rc = srv_storage_audit_add(st, "init", NULL, NULL, epoch, err);
    if ((rc = srv_cmd_end(st, rc, err)) == FLD_OK)
        printf("initialised %s: epoch %s, %d built-in template%s\n", where,
               epoch, n, n == 1 ? "" : "s");
out:
    free(where);
    free(have);
    srv_storage_close(st);
    return rc;
}

/*
 * field-server backup [--db PATH] FILE
 *
 * Copy the live database to FILE (an existing FILE is refused, exit 4),
 * then give the copy its own epoch, noted in the copy's audit log with
 * the epoch it was taken from, and copy the whole attachment files to
 * FILE.attachments/.
 */
int srv_cmd_backup(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    struct fld_err *err = &ctx->err;
    struct srv_storage *copy = NULL;
    char epoch[17], *files = NULL;
    const char *path;
    size_t n = 0;
    int64_t bytes = 0;
    int rc, first;

    if ((rc = srv_cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)) !=
        FLD_OK)
        goto out;
    if (argc - first != 1) {
        rc = fld_err_set(err, FLD_EUSAGE, "usage: backup FILE");
        goto out;
    }
    path = argv[first];
    if ((rc = srv_cmd_open(ctx)) != FLD_OK)
        goto out;
    if ((rc = srv_storage_backup(ctx->st, path, err)) != FLD_OK)
        goto out;
    srv_epoch_new(epoch);
    if ((rc = srv_storage_open(path, false, &copy, err)) != FLD_OK)
        goto out;
    if ((rc = srv_storage_begin(copy, err)) != FLD_OK)
        goto out;
    rc = srv_storage_meta_set(copy, "epoch", epoch, err);
    if (rc == FLD_OK)
        rc = srv_storage_audit_add(copy, "restored-epoch", NULL, ctx->s->epoch,
                                   epoch, err);
    rc = srv_cmd_end(copy, rc, err);
    if (rc == FLD_OK)
        rc = srv_storage_checkpoint(copy, err);
    if (rc == FLD_OK) {
        files = fld_xasprintf("%s.attachments", path);
        rc = srv_attach_copy(srv_attach_path(ctx->s->attach), files, &n, &bytes,
                             err);
    }
    if (rc == FLD_OK) {
        srv_storage_close(copy);
        copy = NULL;
        printf("backed up to %s (epoch %s once restored), %zu attachment%s "
               "(%lld bytes) to %s\n",
               path, epoch, n, n == 1 ? "" : "s", (long long)bytes, files);
    }
out:
    free(files);
    srv_storage_close(copy);
    return rc;
}
