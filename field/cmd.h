/*
 * cmd.h - what the command files of the `field` program share: the
 * command table entry, the context a command runs in (data directory,
 * store, key, output options) and the helpers that open them.
 *
 * Only the program prints. A handler returns an enum fld_result and leaves
 * the one-line message in ctx->err; main() prints "field: <command>:
 * <message>" and maps the code to the exit status documented in README.md
 * with fld_exit_status() (field/cmdline.h), which field-server uses too.
 */
#ifndef FLD_CMD_H
#define FLD_CMD_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "attachment.h"
#include "buf.h"
#include "cmdline.h"
#include "err.h"
#include "json.h"
#include "key.h"
#include "store.h"
#include "template.h"
#include "thresholds.h"

struct cmd_ctx {
    const struct cmd *cmd; /* the command being run */
    char *home;            /* data directory */
    char *db_path;
    char *key_path;
    struct fld_store *st; /* opened by cmd_open_store */
    struct fld_key *key;  /* loaded by cmd_load_key */
    bool json;            /* --json */
    enum fld_lang lang;   /* --lang */
    struct fld_err err;
    /* The templates this command has asked for (cmd_load_template), held
     * from the process's cache until cmd_ctx_close(). */
    struct cmd_held_template *templates;
    size_t n_templates;
};

struct cmd_held_template {
    char *name; /* as asked for: an id or a hash */
    const struct fld_template *t;
};

struct cmd {
    const char *name;
    int (*run)(struct cmd_ctx *ctx, int argc, char **argv);
    const char *usage; /* arguments after the command name */
    const char *help;  /* a paragraph: what it does, its options */
};

/* The handlers, one per command (cmd_*.c). */
int cmd_approve(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_attach(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_bundle(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_conflicts(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_enroll(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_export(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_fill(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_finalize(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_history(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_import(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_init(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_list(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_new(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_reject(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_report(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_repair(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_resolve(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_return(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_review(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_set(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_show(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_sync(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_template(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_templates(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_thresholds(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_ui(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_units(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_verify(struct cmd_ctx *ctx, int argc, char **argv);

/* The command table, sorted by name, ended by a NULL name. */
extern const struct cmd cmd_table[];

/*
 * Parse the options every command shares (--json, --lang, --help) plus
 * the command's own. Options are GNU long options; `extra` lists the
 * command's own (ending with a zero entry) and `on_option` receives them.
 * Returns FLD_OK, FLD_EUSAGE (message set), or -1 when --help was shown.
 */
int cmd_parse(struct cmd_ctx *ctx, int argc, char **argv,
              const struct option *extra,
              int (*on_option)(struct cmd_ctx *ctx, int opt, const char *arg,
                               void *data),
              void *data, int *first_arg);

/*
 * For commands that take options but no arguments: parse (as cmd_parse),
 * refuse any argument, open the store.
 */
int cmd_parse_and_open(struct cmd_ctx *ctx, int argc, char **argv,
                       const struct option *extra,
                       int (*on_option)(struct cmd_ctx *ctx, int opt,
                                        const char *arg, void *data),
                       void *data);

void cmd_print_help(const struct cmd *cmd, FILE *out);
/* The command of that name or unique prefix (fld_cmd_find); NULL, with
 * err set and a suggestion when one is close, otherwise. */
const struct cmd *cmd_find(const char *name, struct fld_err *err);

/* Locate the data directory: $FIELD_HOME, else $XDG_DATA_HOME/field, else
 * ~/.local/share/field. */
int cmd_locate_home(struct cmd_ctx *ctx);
/* Install the built-in templates and units into ctx->st (cmd_init.c; used
 * by `field repair` too), counting them; FLD_EXISTS rows are not errors
 * for units. */
int cmd_install_templates(struct cmd_ctx *ctx, int *n_installed);
int cmd_install_units(struct cmd_ctx *ctx, int *n_installed);
/* The bound beyond which a version's stamp is not believed in a merge
 * (syn_merge_at): this device's clock, corrected by the server's time it
 * last learnt, plus FLD_HLC_MAX_AHEAD_MS. Needs ctx->st open. */
int64_t cmd_trusted_bound(struct cmd_ctx *ctx);
/* Locate the data directory and check that its store exists (FLD_NOTFOUND:
 * "... is not set up; run 'field init' first"), without opening it. */
int cmd_locate_store(struct cmd_ctx *ctx);
/* Open the store of an initialised data directory (once: when ctx has it
 * open already, FLD_OK and nothing else). */
int cmd_open_store(struct cmd_ctx *ctx);
/* Load the device key, asking for its passphrase when protected. */
int cmd_load_key(struct cmd_ctx *ctx);
/*
 * The passphrase: $FIELD_PASSPHRASE, else asked on the terminal without
 * echo (twice when confirm). *out is sodium_malloc'd; free with
 * cmd_passphrase_free. FLD_EPASS when none can be had.
 */
int cmd_passphrase(struct cmd_ctx *ctx, const char *prompt, bool confirm,
                   char **out);
void cmd_passphrase_free(char *p);
void cmd_ctx_close(struct cmd_ctx *ctx);

/*
 * Every version of record id (a full id), in the order they arrived, each
 * verified: fn(data, v, before), before being the answers of v's first
 * parent (NULL for the first version, or a parent not stored), both
 * borrowed for the call; a non-zero return ends the walk with it. A
 * version that does not verify ends it with FLD_ECORRUPT. What `field
 * history` and the history of `field ui` show (cmd_show.c).
 */
typedef int (*cmd_history_fn)(void *data, const struct fld_version *v,
                              const struct fld_json *before);
int cmd_history_walk(struct cmd_ctx *ctx, const char *id, cmd_history_fn fn,
                     void *data);

/*
 * One sync as `field sync` without options runs it: the versions, then
 * the photos this device holds, under the data directory's sync lock
 * (FLD_EBUSY while another sync runs there). Opens ctx's store when it
 * is not open; uses ctx->key when set, else loads it. stop (may be NULL)
 * ends it between requests, and a transfer under way, once set non-zero
 * (FLD_ENET "interrupted"; what was acknowledged stays). progress (may be
 * NULL) sees the counts before the first request and after every answer;
 * *s holds what the sync did, also when it fails part way.
 */
struct syn_stats;
int cmd_sync_run(struct cmd_ctx *ctx, const volatile sig_atomic_t *stop,
                 void (*progress)(void *progress_ctx,
                                  const struct syn_stats *s),
                 void *progress_ctx, struct syn_stats *s);

/* The transport `field sync` would use (cmd_sync.c), with the TLS
 * settings enroll remembered; for the other requests a device makes to
 * its server (`field report`). stop as for cmd_sync_run(). bound_s > 0
 * bounds both the connect and a stall (nothing arriving) to that many
 * seconds; 0 keeps the sync's (15 s, then 30 s below 64 B/s). *out new,
 * syn_transport_free(). */
struct syn_transport;
int cmd_sync_transport(struct cmd_ctx *ctx, const volatile sig_atomic_t *stop,
                       long bound_s, struct syn_transport **out);

/*
 * The progress report from the server (cmd_report.c), for `field report`
 * and the report screen of `field ui`: q as GET /v1/report takes it, in
 * ctx's language whatever q->lang says, the body appended to out. With
 * bound_s > 0 (a page waits for it): one try, its connect and any stall
 * bounded as cmd_sync_transport() bounds them; 0: retried as a sync is.
 * stop (may be NULL) abandons the request once set. A JSON report is
 * also kept on the device, with the time it was fetched (CMD_META_REPORT*),
 * replacing the last: what the report screen shows when the server cannot be
 * reached.
 */
#define CMD_META_REPORT "report.last"
#define CMD_META_REPORT_MS "report.fetched_ms"
struct syn_report_query;
int cmd_report_fetch(struct cmd_ctx *ctx, const struct syn_report_query *q,
                     long bound_s, const volatile sig_atomic_t *stop,
                     struct fld_buf *out);

/*
 * A record as commands see it: every stored version, and their merge
 * (sync/merge.h) — the answers and status a person works on, the heads a
 * new version must name as parents, and the conflicts left to resolve.
 */
struct syn_merged;
struct cmd_record {
    char id[FLD_RECORD_HEX_LEN + 1];
    struct fld_version **versions;
    size_t n_versions;
    struct syn_merged *merged;
    const struct fld_template *t; /* the newest head's: cmd_load_template */
};

/* Load and merge the record named by prefix; cmd_record_free() after. */
int cmd_record_load(struct cmd_ctx *ctx, const char *prefix,
                    struct cmd_record *r);
/* The same for a full record id, without loading its template (r->t is
 * NULL): for commands that walk many records and keep their templates. */
int cmd_record_read(struct cmd_ctx *ctx, const char *id, struct cmd_record *r);
void cmd_record_free(struct cmd_record *r);
/* Open the store and load the record named by prefix for an edit
 * (cmd_record.c): refused while it has unresolved conflicts (except for
 * `field resolve`) or is closed (approved, rejected). */
int cmd_record_edit(struct cmd_ctx *ctx, const char *prefix,
                    struct cmd_record *r);
/* Add the photo file at path to the device in a transaction of its own
 * (cmd_attach.c; `field fill`): *a is what was added. limit in bytes. */
int cmd_add_photo(struct cmd_ctx *ctx, const char *path, int64_t limit,
                  struct fld_attachment *a);

/*
 * `field attach` without its printing (cmd_attach.c; also `field ui`'s
 * photo upload): the n_files photo files (each within limit bytes) added
 * to the device and ONE signed version of record answering question
 * (NAME, GROUP[ID].NAME or GROUP[+].NAME, as `field attach` takes it)
 * with them; all or nothing. out->v is the version, NULL when the answer
 * was already that (nothing signed); out->stage says where a failure
 * came, for a caller that maps it (a missing record and a missing
 * question are both FLD_NOTFOUND). cmd_attached_free() after, also on
 * failure.
 */
enum cmd_attach_stage {
    CMD_ATTACH_RECORD,   /* loading the record for an edit */
    CMD_ATTACH_QUESTION, /* the question: unknown, not a photo, misaddressed */
    CMD_ATTACH_FILE,     /* a file: not JPEG or PNG, over the limit, I/O */
    CMD_ATTACH_ANSWER,   /* the answers refused them (a final record's
                            completeness) */
    CMD_ATTACH_SIGN      /* the key, the store, the signing */
};
struct cmd_attached {
    enum cmd_attach_stage stage;
    struct cmd_record r;
    struct fld_attachment *a;
    size_t n;
    struct fld_version *v;
};
int cmd_attach_photos(struct cmd_ctx *ctx, const char *record,
                      const char *question, const char *const *files,
                      size_t n_files, int64_t limit, struct cmd_attached *out);
void cmd_attached_free(struct cmd_attached *x);
/* One attached photo as `field attach --json` and `field ui` report it:
 * {hash, bytes, type, taken, position} (null where the photo said nothing). */
struct fld_json *cmd_attachment_json(const struct fld_attachment *a);
/* Sign answers and status as a new version on all of r's heads. When r
 * has one head and nothing changes, nothing is written (FLD_EXISTS). */
int cmd_record_save(struct cmd_ctx *ctx, const struct cmd_record *r,
                    const struct fld_json *answers, const char *status,
                    struct fld_version **out);

/*
 * What `field new` and `field import` check of a new record (cmd_record.c):
 * a subject that is a unit code (1..64 printable characters), and, when
 * template t says which kind of unit it inspects and such units are
 * loaded, a unit of that kind valid today.
 */
int cmd_check_subject(struct cmd_ctx *ctx, const char *subject);
int cmd_check_unit(struct cmd_ctx *ctx, const struct fld_template *t,
                   const char *code);
/*
 * Apply NAME=VALUE arguments to answers (edit.h): each value typed and
 * normalised, then relevance and constraints checked on the result. On
 * success *out is the new answers (caller frees); nothing on failure.
 */
int cmd_apply(struct cmd_ctx *ctx, const struct fld_template *t,
              const struct fld_json *answers, int argc, char **argv,
              struct fld_json **out);
/* A final record's answers: every relevant required question answered and
 * every answer within its constraint; each problem is listed on stderr. */
int cmd_check_complete(struct cmd_ctx *ctx, const struct fld_template *t,
                       const struct fld_json *answers);

/* The status an edit of a record of this status keeps: a returned record
 * is a draft again once its inspector corrects it. */
const char *cmd_edit_status(const char *status);

/* Resolve a record prefix to its id. */
int cmd_find_record(struct cmd_ctx *ctx, const char *prefix, char out[33]);
/*
 * The installed template of that id or hash, with the province's threshold
 * revision in force today set on it, parsed once per process
 * (field/template_cache.h). *out is borrowed until cmd_ctx_close() and
 * shared: never changed. A name is looked up in the store once per
 * command; asking again gives the same template.
 */
int cmd_load_template(struct cmd_ctx *ctx, const char *id_or_hash,
                      const struct fld_template **out);

/* The threshold revision in force today for the template of this hash
 * (field/cmd_thresholds.c): the greatest stored revision whose valid_from
 * is not after today, verified; *out NULL when there is none. Freed with
 * fld_thresholds_free(). FLD_ECORRUPT when the stored one does not verify. */
int cmd_thresholds_in_force(struct cmd_ctx *ctx, const char *template_hash,
                            struct fld_thresholds **out);

/* --status, --subject, --template: filling a struct fld_record_filter.
 * A command with more options of its own lists these ids among them. */
enum { CMD_OPT_STATUS = 1, CMD_OPT_SUBJECT, CMD_OPT_TEMPLATE };
extern const struct option cmd_filter_options[];
int cmd_on_filter(struct cmd_ctx *ctx, int opt, const char *arg, void *data);

/* A record's photo answers (cmd_photos.c), each with what the versions
 * signed about it, whether this device holds its file, and its warnings
 * ("far" from the record's position, taken on an "other_day"); a JSON
 * array, fld_json_free(). f is the form of r's answers. */
struct fld_form;
struct fld_json *cmd_photos_json(struct cmd_ctx *ctx,
                                 const struct cmd_record *r,
                                 struct fld_form *f);
/* The same for a person, under `field show`'s answers. */
void cmd_photos_print(struct cmd_ctx *ctx, const struct fld_json *photos);

/*
 * A supervisor's decisions (cmd_review.c), shared by `field review`,
 * `field approve|reject|return` and the review screen of `field ui`.
 */
/* FLD_OK when this device is enrolled as a supervisor or an admin, else
 * FLD_EINVAL saying what it is. */
int cmd_review_role(struct cmd_ctx *ctx);
/* The inbox: records final and in this device's scope, oldest first, as
 * `field review --json` prints them. *out a new JSON array. Checks the
 * role first (cmd_review_role). */
int cmd_review_inbox(struct cmd_ctx *ctx, struct fld_json **out);

struct cmd_decision {
    const char *status; /* approved | rejected | returned */
    char *note;         /* note or reason, NFC; NULL for none */
    char *number;       /* the recognition decision's number, or NULL */
    char *date;         /* its date, YYYY-MM-DD, or NULL */
};
/* Typed text made NFC, 1..max bytes; what names it in the message.
 * *out is replaced (freed first). FLD_EUSAGE when empty or too long. */
int cmd_decision_text(struct cmd_ctx *ctx, const char *what, const char *arg,
                      size_t max, char **out);
/* A reason for a rejection or return; a number and a date together. */
int cmd_decision_check(struct cmd_ctx *ctx, const struct cmd_decision *d);
/* Sign d on record r (loaded with cmd_record_load) when r waits for a
 * decision: one version on all its heads, answers unchanged. FLD_EINVAL
 * naming why not (a draft, returned, closed, conflicts). *out new. */
int cmd_decision_sign(struct cmd_ctx *ctx, const struct cmd_record *r,
                      const struct cmd_decision *d, struct fld_version **out);
void cmd_decision_free(struct cmd_decision *d);

/* Print v as compact JSON and a newline on stdout. */
int cmd_print_json(struct cmd_ctx *ctx, const struct fld_json *v);
/* Today's local date, "YYYY-MM-DD" (FIELD_TODAY overrides it, for tests
 * of rules that use today()). */
void cmd_today(char out[11]);
/* Read a whole file of at most max bytes; *data is new (free()). */
int cmd_read_file(struct cmd_ctx *ctx, const char *path, size_t max,
                  uint8_t **data, size_t *len);

/* "2026-11-28 08:15:02" in local time, for people. */
void cmd_format_time(int64_t ms, char out[32]);

#endif
