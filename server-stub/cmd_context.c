/*
 * cmd_context.c - the plumbing every command of field-server shares (see
 * command.h): option parsing and settings, opening the server's storage,
 * JSON and time output, reading an input file, finding a command and its
 * help text. Finding a command (with the same suggestions) and the exit
 * statuses are field's own, shared through field/cmdline.h, so that the
 * two programs answer a mistyped command and an error alike.
 *
 * Decisions:
 *   - Settings come from three places, in rising priority: the defaults,
 *     the configuration file ($FIELD_SERVER_CONFIG or --config), then the
 *     command line. The file is read after all options are parsed, so
 *     "--port 9000 --config FILE" still means port 9000: the command line
 *     always wins, whatever the order. The options that are settings go
 *     through srv_config_set() by name, the same table the file uses.
 *   - Option parsing stops at the first argument ("+" in getopt's
 *     string): a subcommand's words and a scope's units follow the
 *     options, and an argument that looks like an option after them
 *     ("devices revoke -x") is an argument, not an option. field's parser
 *     permutes instead (options anywhere); the server keeps its rule so
 *     that the command lines it accepts stay the ones it always accepted.
 *   - A command opens the server through srv_open(), exactly as serve
 *     does, so that an administration command checks the same things (an
 *     initialised database, an intact epoch) and can run beside a serving
 *     process (SQLite in WAL mode).
 */
#include "command.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "buf.h"
#include "file.h"
#include "cmdline.h"

/* Options every command has; a command's own use values below these. */
enum { OPT_DB = 1000, OPT_CONFIG, OPT_JSON, OPT_HELP };

/* At most this many options in all (serve has the most: 15 + 4). */
#define MAX_OPTIONS 64

int srv_cmd_parse(struct srv_cmd_ctx *ctx, int argc, char **argv,
                  const struct option *extra,
                  int (*on_option)(struct srv_cmd_ctx *ctx, int opt,
                                   const char *arg, void *data),
                  void *data, int *first_arg)
{
    struct option longopts[MAX_OPTIONS];
    const char **names = fld_xcalloc((size_t)argc + 1, sizeof *names);
    const char **values = fld_xcalloc((size_t)argc + 1, sizeof *values);
    const char *config = getenv("FIELD_SERVER_CONFIG");
    const char *db = NULL;
    size_t n = 0, n_set = 0, i;
    int c, idx, rc = FLD_OK;

    srv_config_free(&ctx->cfg);
    srv_config_defaults(&ctx->cfg);
    longopts[n++] = (struct option){"db", required_argument, NULL, OPT_DB};
    longopts[n++] =
        (struct option){"config", required_argument, NULL, OPT_CONFIG};
    longopts[n++] = (struct option){"json", no_argument, NULL, OPT_JSON};
    longopts[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    for (; extra && extra->name && n < MAX_OPTIONS - 1; extra++)
        longopts[n++] = *extra;
    longopts[n] = (struct option){NULL, 0, NULL, 0};

    optind = 0;
    opterr = 0;
    while (rc == FLD_OK) {
        c = getopt_long(argc, argv, "+h", longopts, &idx);
        if (c == -1)
            break;
        switch (c) {
        case OPT_DB:
            db = optarg;
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_JSON:
            ctx->json = true;
            break;
        case 'h':
        case OPT_HELP:
            srv_cmd_print_help(ctx->cmd, stdout);
            rc = -1;
            break;
        case SRV_CMD_OPT_SETTING:
            names[n_set] = longopts[idx].name;
            values[n_set++] = optarg ? optarg : "yes";
            break;
        case '?':
            rc = fld_err_set(&ctx->err, FLD_EUSAGE,
                             "unknown or incomplete option '%s'; "
                             "see 'field-server %s --help'",
                             argv[optind - 1], ctx->cmd->name);
            break;
        default:
            if (on_option == NULL)
                rc = fld_err_set(&ctx->err, FLD_EUSAGE, "bad option");
            else
                rc = on_option(ctx, c, optarg, data);
        }
    }
    if (rc == FLD_OK && config)
        rc = srv_config_load(&ctx->cfg, config, &ctx->err);
    if (rc == FLD_OK && db)
        rc = srv_config_set(&ctx->cfg, "db", db, &ctx->err);
    for (i = 0; i < n_set && rc == FLD_OK; i++)
        rc = srv_config_set(&ctx->cfg, names[i], values[i], &ctx->err);
    *first_arg = optind;
    free(names);
    free(values);
    return rc;
}

int srv_cmd_no_more_args(struct srv_cmd_ctx *ctx, int argc, int first, int max)
{
    if (argc - first > max)
        return fld_err_set(&ctx->err, FLD_EUSAGE, "too many arguments");
    return FLD_OK;
}

int srv_cmd_parse_options(struct srv_cmd_ctx *ctx, int argc, char **argv,
                          const struct option *extra,
                          int (*on_option)(struct srv_cmd_ctx *ctx, int opt,
                                           const char *arg, void *data),
                          void *data)
{
    int rc, first;

    rc = srv_cmd_parse(ctx, argc, argv, extra, on_option, data, &first);
    if (rc != FLD_OK)
        return rc;
    return srv_cmd_no_more_args(ctx, argc, first, 0);
}

int srv_cmd_end(struct srv_storage *st, int rc, struct fld_err *err)
{
    if (rc != FLD_OK) {
        srv_storage_rollback(st);
        return rc;
    }
    return srv_storage_commit(st, err);
}

int srv_cmd_open(struct srv_cmd_ctx *ctx)
{
    int rc = srv_open(&ctx->cfg, &ctx->s, &ctx->err);

    if (rc != FLD_OK)
        return rc;
    if ((rc = srv_acquire(ctx->s, &ctx->st, &ctx->err)) != FLD_OK) {
        srv_close(ctx->s);
        ctx->s = NULL;
    }
    return rc;
}

void srv_cmd_ctx_close(struct srv_cmd_ctx *ctx)
{
    if (ctx->s) {
        srv_release(ctx->s, ctx->st);
        srv_close(ctx->s);
    }
    ctx->s = NULL;
    ctx->st = NULL;
    srv_config_free(&ctx->cfg);
}

int srv_cmd_list(struct srv_cmd_ctx *ctx, int argc, int first, const char *key,
                 int (*walk)(struct srv_storage *st, cJSON *arr,
                             struct fld_err *err))
{
    cJSON *root = NULL, *arr = NULL;
    int rc;

    if ((rc = srv_cmd_no_more_args(ctx, argc, first, 1)) != FLD_OK)
        return rc;
    if ((rc = srv_cmd_open(ctx)) != FLD_OK)
        return rc;
    if (ctx->json)
        root = srv_api_list_new(key, &arr);
    rc = walk(ctx->st, arr, &ctx->err);
    if (root != NULL && rc == FLD_OK)
        srv_cmd_print_json(root);
    else
        cJSON_Delete(root);
    return rc;
}

void srv_cmd_print_json(cJSON *root)
{
    char *text = cJSON_PrintUnformatted(root);

    if (text == NULL)
        abort();
    puts(text);
    cJSON_free(text);
    cJSON_Delete(root);
}

void srv_cmd_format_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || localtime_r(&t, &tm) == NULL)
        snprintf(out, 32, "-");
    else
        strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

int srv_cmd_read_file(struct srv_cmd_ctx *ctx, const char *path, size_t cap,
                      uint8_t **out, size_t *len)
{
    return fld_file_read(path, cap, out, len, &ctx->err);
}

int srv_cmd_import(struct srv_cmd_ctx *ctx, const char *path, size_t cap,
                   const char *noun,
                   int (*load)(struct srv_cmd_ctx *ctx, const uint8_t *data,
                               size_t len, size_t *n))
{
    struct fld_err *err = &ctx->err;
    uint8_t *data = NULL;
    size_t len, n = 0;
    char kind[32], what[64];
    int rc;

    rc = srv_cmd_read_file(ctx, path, cap, &data, &len);
    if (rc == FLD_OK)
        rc = srv_cmd_open(ctx);
    if (rc == FLD_OK)
        rc = srv_storage_begin(ctx->st, err);
    if (rc != FLD_OK) {
        free(data);
        return rc;
    }
    rc = load(ctx, data, len, &n);
    snprintf(kind, sizeof kind, "%ss", noun);
    snprintf(what, sizeof what, "%ss imported", noun);
    if (rc == FLD_OK)
        rc = srv_storage_audit_add(ctx->st, kind, NULL, path, what, err);
    rc = srv_cmd_end(ctx->st, rc, err);
    free(data);
    if (rc != FLD_OK)
        return fld_err_prefix(err, "%s", path);
    printf("imported %zu %s%s\n", n, noun, n == 1 ? "" : "s");
    return FLD_OK;
}

const struct srv_cmd *srv_cmd_find(const char *name, struct fld_err *err)
{
    return fld_cmd_find(srv_cmd_table, sizeof *srv_cmd_table, name,
                        "field-server", err);
}

/* The options every command has, shown last in each help text. */
static const char common_options[] =
    "  --db PATH              the database (default field-server.db)\n"
    "  --config FILE          read settings from FILE ($FIELD_SERVER_CONFIG)";

void srv_cmd_print_help(const struct srv_cmd *cmd, FILE *out)
{
    /* A help text is a paragraph, then maybe a blank line and options. */
    bool has_options = strstr(cmd->help, "\n\n  -") != NULL;

    fprintf(out, "usage: field-server %s%s%s\n\n%s\n%s%s\n", cmd->name,
            cmd->usage[0] ? " " : "", cmd->usage, cmd->help,
            has_options ? "" : "\n", common_options);
}
