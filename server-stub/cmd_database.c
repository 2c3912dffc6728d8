/*
 * cmd_database.c - the life of the server's database file: `init` creates
 * it, `backup` copies it while the server keeps serving.
 *
 *   field-server init [--db PATH]
 *   field-server backup [--db PATH] FILE
 *   field-server new-epoch [--db PATH]
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
 *   - On PostgreSQL, backup runs pg_dump (--format=custom) when it is on
 *     PATH, with the server's own connection, and checks its exit status;
 *     without it, it refuses and prints the exact pg_dump command to run.
 *     Why run it rather than only name it: the operator then has one
 *     backup command whatever the back end, the schema version is checked
 *     first (a dump taken by a program that cannot read the schema is
 *     refused), the photos are copied beside it as for SQLite, and a
 *     failure (a pg_dump older than the server, a role that may not read
 *     a table) is one line and a non-zero exit, which a cron job sees.
 *     The password travels in pg_dump's environment (PGPASSWORD), never
 *     on its command line. The dump is made with umask 077: it holds the
 *     devices' keys and the province's records.
 *   - A dump cannot be given a new epoch as it is written (the SQLite
 *     copy is): after pg_restore, `field-server new-epoch` does it, with
 *     the same audit entry; docs/SERVER.md gives the whole restore.
 */
#include "command.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attachments.h"
#include "embedded.h"
#include "hlc.h"
#ifdef SRV_WITH_PG
#include "storage_pg.h"
#endif

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

#ifdef SRV_WITH_PG
/* Whether prog is an executable file in a directory of PATH. */
static bool on_path(const char *prog)
{
    const char *path = getenv("PATH"), *p, *end;
    bool found = false;

    for (p = path ? path : ""; !found && *p; p = *end ? end + 1 : end) {
        char *file;

        end = strchr(p, ':');
        if (end == NULL)
            end = p + strlen(p);
        file = fld_xasprintf("%.*s/%s", (int)(end - p), p, prog);
        found = end > p && access(file, X_OK) == 0;
        free(file);
    }
    return found;
}

/* Run pg_dump with argv, password (may be NULL) in its environment; its
 * standard error into err's one line when it fails. */
static int run_pg_dump(char *const argv[], const char *password,
                       struct fld_err *err)
{
    char msg[400];
    int fds[2], status;
    ssize_t got = 0, n;
    pid_t pid;

    if (pipe(fds) != 0)
        return fld_err_set(err, FLD_EIO, "pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return fld_err_set(err, FLD_EIO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        umask(077);
        if (password != NULL)
            setenv("PGPASSWORD", password, 1);
        dup2(null, 0);
        dup2(null, 1);
        dup2(fds[1], 2);
        close(fds[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        n = read(fds[0], msg + got, sizeof msg - 1 - (size_t)got);
        if (n > 0)
            got += n;
        else if (n == 0 || errno != EINTR)
            break;
    }
    close(fds[0]);
    msg[got] = '\0';
    msg[strcspn(msg, "\n")] = '\0';
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return FLD_OK;
    return fld_err_set(err, FLD_EDB, "pg_dump failed (%s %d): %s",
                       WIFEXITED(status) ? "exit" : "signal",
                       WIFEXITED(status) ? WEXITSTATUS(status)
                                         : WTERMSIG(status),
                       msg[0] ? msg : "no message");
}
#endif

/*
 * The PostgreSQL backup: pg_dump into path, then the photos beside it.
 * The schema version was checked when the storage was opened.
 */
static int backup_pg(struct srv_cmd_ctx *ctx, const char *path)
{
#ifdef SRV_WITH_PG
    struct fld_err *err = &ctx->err;
    char *password = NULL, *conninfo, *where, *file_arg, *db_arg, *files;
    struct stat sb;
    size_t n = 0;
    int64_t bytes = 0;
    int rc;

    where = srv_storage_display(ctx->cfg.db);
    conninfo = srv_pg_conninfo_split(strchr(ctx->cfg.db, ':') + 1, &password);
    if (conninfo == NULL) {
        free(where);
        return fld_err_set(err, FLD_EUSAGE,
                           "not a PostgreSQL connection "
                           "string");
    }
    if (lstat(path, &sb) == 0) {
        rc = fld_err_set(err, FLD_EXISTS, "%s: already exists", path);
    } else if (!on_path("pg_dump")) {
        rc = fld_err_set(err, FLD_NOTFOUND,
                         "pg_dump is not on PATH (install postgresql-client "
                         "of the server's version); run instead: pg_dump "
                         "--format=custom --file='%s' --dbname=\"%s\"",
                         path, conninfo);
    } else {
        char *argv[5];

        file_arg = fld_xasprintf("--file=%s", path);
        db_arg = fld_xasprintf("--dbname=%s", conninfo);
        argv[0] = (char *)"pg_dump";
        argv[1] = (char *)"--format=custom";
        argv[2] = file_arg;
        argv[3] = db_arg;
        argv[4] = NULL;
        rc = run_pg_dump(argv, password, err);
        if (rc != FLD_OK)
            (void)unlink(path); /* nothing half-written stays */
        free(file_arg);
        free(db_arg);
    }
    files = fld_xasprintf("%s.attachments", path);
    if (rc == FLD_OK)
        rc = srv_attach_copy(srv_attach_path(ctx->s->attach), files, &n, &bytes,
                             err);
    if (rc == FLD_OK)
        printf("backed up %s to %s with pg_dump (schema version %d, epoch "
               "%s), %zu attachment%s (%lld bytes) to %s; restore with "
               "pg_restore, then field-server new-epoch\n",
               where, path, SRV_PG_SCHEMA_VERSION, ctx->s->epoch, n,
               n == 1 ? "" : "s", (long long)bytes, files);
    if (password != NULL)
        memset(password, 0, strlen(password));
    free(password);
    free(files);
    free(conninfo);
    free(where);
    return rc;
#else
    (void)path;
    return fld_err_set(&ctx->err, FLD_EUSAGE,
                       "this field-server was built without PostgreSQL "
                       "(make PG=1)");
#endif
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
    if (strncmp(ctx->cfg.db, "postgres", 8) == 0 &&
        strchr(ctx->cfg.db, ':') != NULL) {
        rc = backup_pg(ctx, path);
        goto out;
    }
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

/*
 * field-server new-epoch [--db PATH]
 *
 * Give the database a new epoch, noted in its audit log with the one it
 * had: after a restore that could not do it itself (pg_restore of a
 * dump, a file copied back by hand), so that every device's cursor is
 * answered "reset" and the devices reconcile by record heads, pushing
 * again what the restored copy lacks.
 */
int srv_cmd_new_epoch(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    struct fld_err *err = &ctx->err;
    char epoch[17], *where;
    int rc;

    if ((rc = srv_cmd_parse_options(ctx, argc, argv, NULL, NULL, NULL)) !=
        FLD_OK)
        return rc;
    if ((rc = srv_cmd_open(ctx)) != FLD_OK)
        return rc;
    srv_epoch_new(epoch);
    if ((rc = srv_storage_begin(ctx->st, err)) != FLD_OK)
        return rc;
    rc = srv_storage_meta_set(ctx->st, "epoch", epoch, err);
    if (rc == FLD_OK)
        rc = srv_storage_audit_add(ctx->st, "restored-epoch", NULL,
                                   ctx->s->epoch, epoch, err);
    if ((rc = srv_cmd_end(ctx->st, rc, err)) != FLD_OK)
        return rc;
    where = srv_storage_display(ctx->cfg.db);
    printf("%s: epoch %s (was %s): devices will reconcile\n", where, epoch,
           ctx->s->epoch);
    free(where);
    return FLD_OK;
}
