/*
 * cmd_import.c - `field import`: many new records from a file, each one a
 * signed version, as if each had been typed with `field new` (and
 * `field finalize`).
 *
 *   field import [--json] FILE
 *
 * FILE (or - for standard input) holds JSON lines, one record a line:
 *
 *   {"template":"ntm-xa-2021","subject":"18133","status":"final",
 *    "answers":{"region":"bac_trung_bo","year":"2025","roads_km":"24,6"}}
 *
 * Who needs it: inspectors moving last year's spreadsheets into field, an
 * office entering paper forms, and the tests and benchmarks that need a
 * province of records.
 *
 * Decisions:
 *   - An answer is given as a person types it (a string; a JSON number is
 *     taken as its text), and goes through exactly what `field set` does:
 *     the same typing, normalisation, relevance and constraints, the same
 *     NAME=VALUE syntax for repeat groups ("households[+].name"). There is
 *     one way into a record, whoever types.
 *   - "status" is draft (the default) or final; final is checked for
 *     completeness as `field finalize` checks it.
 *   - The whole file is one transaction: it is imported whole or not at
 *     all, and the first bad line is named ("line 12: ..."). A half
 *     imported spreadsheet is worse than none: nobody knows where to
 *     resume.
 *   - Templates are parsed once per process (cmd_load_template).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "capture.h"
#include "cmd.h"
#include "edit.h"
#include "file.h"
#include "parallel.h"

/* Largest import file: about 200,000 commune records. */
#define IMPORT_MAX_BYTES (512u * 1024 * 1024)
#define MAX_LINE_ANSWERS 4096

struct import {
    struct cmd_ctx *ctx;
    size_t n_records;
};

/* The answers object as NAME=VALUE assignments (new strings in *out). */
static int assignments(struct fld_err *err, const struct fld_json *answers,
                       char ***out, size_t *n)
{
    size_t i;

    *out = NULL;
    *n = 0;
    if (answers == NULL)
        return FLD_OK;
    if (answers->type != FLD_JSON_OBJECT || answers->n > MAX_LINE_ANSWERS)
        return fld_err_set(err, FLD_EINVAL,
                           "\"answers\" must be an object of at most %d "
                           "answers",
                           MAX_LINE_ANSWERS);
    *out = fld_xcalloc(answers->n + 1, sizeof **out);
    for (i = 0; i < answers->n; i++) {
        const struct fld_json *v = answers->members[i].value;
        const char *key = answers->members[i].key;

        if (v->type == FLD_JSON_STRING)
            (*out)[i] = fld_xasprintf("%s=%s", key, v->s);
        else if (v->type == FLD_JSON_INT)
            (*out)[i] = fld_xasprintf("%s=%lld", key, (long long)v->i);
        else
            return fld_err_set(err, FLD_EINVAL,
                               "answer \"%s\" must be text or a number", key);
        (*n)++;
    }
    return FLD_OK;
}

static void assignments_free(char **a, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

/*
 * Lines go through in batches, on every core where the work allows it
 * (issue 11): the JSON of each line is parsed, and its answers typed,
 * normalised and checked (fld_edit_apply: the bulk of an import), on
 * all cores (syn_parallel_for); what touches the store or the device's
 * chain stays on this thread, in the file's order: the template and unit
 * lookups, a final record's completeness (it lists problems on standard
 * error), the signing of each version on the one before it, and the
 * writes. Each line gets exactly the checks, in the order, that a line at
 * a time gave it, and the first bad line is the one named, with the same
 * message: the parallel work only computes ahead what this thread then
 * consumes in order.
 */
#define BATCH 64

/* One line of the file on its way through. */
struct line {
    const char *text;
    size_t len;
    size_t no; /* 1-based */
    struct fld_json *o;
    const struct fld_template *t; /* looked up on this thread */
    const char *status;
    struct fld_json *answers; /* typed and checked on any thread */
    int rc;                   /* parse, then answers */
    struct fld_err err;
};

struct batch {
    struct line lines[BATCH];
    size_t n;
    size_t upto;  /* lines to type and save: up to the first refused */
    bool stopped; /* one was refused before its answers */
    enum fld_lang lang;
    char today[11];
};

static void parse_line(void *data, size_t i)
{
    struct line *l = &((struct batch *)data)->lines[i];

    l->rc = fld_json_parse((const uint8_t *)l->text, l->len, &l->o, &l->err);
}

/* The line's answers applied and checked (fld_edit_apply, as cmd_apply
 * does), with its own error (any thread). */
static void type_line(void *data, size_t i)
{
    struct batch *b = data;
    struct line *l = &b->lines[i];
    char **args = NULL;
    size_t n_args = 0;

    if (l->t == NULL) /* refused before its answers, or not reached */
        return;
    l->rc = assignments(&l->err, fld_json_get(l->o, "answers"), &args, &n_args);
    if (l->rc == FLD_OK)
        l->rc = fld_edit_apply(l->t, NULL, n_args, args, b->today, b->lang,
                               &l->answers, &l->err);
    assignments_free(args, n_args);
}

/*
 * The shape of a line: its members, the type of each, and its status.
 * A member the importer does not know is refused, not skipped: "answer"
 * for "answers" would otherwise import an empty record, and "Status" a
 * draft, without a word. ("answers" is checked with its answers.) On
 * success *tid, *subject and *status (draft when left out) are the line's,
 * borrowed from o.
 */
static int check_shape(const struct fld_json *o, const char **tid_out,
                       const char **subject_out, const char **status_out,
                       struct fld_err *err)
{
    static const char *const known[] = {"answers", "status", "subject",
                                        "template"};
    const struct fld_json *tid = fld_json_get(o, "template");
    const struct fld_json *subject = fld_json_get(o, "subject");
    const struct fld_json *status = fld_json_get(o, "status");
    size_t i, k;

    if (o->type != FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL,
                           "a line must be a JSON object, {\"template\": ..., "
                           "\"subject\": ..., ...}");
    for (i = 0; i < o->n; i++) {
        char quoted[FLD_JSON_QUOTED_KEY_MAX];

        for (k = 0; k < sizeof known / sizeof known[0]; k++)
            if (strcmp(o->members[i].key, known[k]) == 0)
                break;
        if (k < sizeof known / sizeof known[0])
            continue;
        fld_json_quote_key(o->members[i].key, quoted);
        return fld_err_set(err, FLD_EINVAL,
                           "unknown member %s (a line has \"template\", "
                           "\"subject\", \"status\" and \"answers\")",
                           quoted);
    }
    if (tid == NULL || subject == NULL)
        return fld_err_set(err, FLD_EINVAL,
                           "a record needs \"template\" and \"subject\"");
    if (tid->type != FLD_JSON_STRING)
        return fld_err_set(err, FLD_EINVAL,
                           "\"template\" must be a template id in quotes, "
                           "such as \"ntm-xa-2021\"");
    if (subject->type != FLD_JSON_STRING)
        return fld_err_set(err, FLD_EINVAL,
                           "\"subject\" must be a unit code in quotes, such "
                           "as \"18133\"");
    if (status != NULL && status->type != FLD_JSON_STRING)
        return fld_err_set(err, FLD_EINVAL,
                           "\"status\" must be \"draft\" or \"final\", in "
                           "quotes");
    if (status != NULL && strcmp(status->s, "draft") != 0 &&
        strcmp(status->s, "final") != 0)
        return fld_err_set(err, FLD_EINVAL,
                           "\"status\" is draft or final, not \"%s\"",
                           status->s);
    *tid_out = tid->s;
    *subject_out = subject->s;
    *status_out = status != NULL ? status->s : "draft";
    return FLD_OK;
}

/* What a line is checked for before its answers (this thread, in order):
 * its shape, then its subject, its template and unit. */
static int check_line(struct import *im, struct line *l)
{
    struct cmd_ctx *ctx = im->ctx;
    const char *tid = NULL, *subject = NULL, *status = NULL;
    const struct fld_template *t;
    int rc;

    if ((rc = check_shape(l->o, &tid, &subject, &status, &ctx->err)) != FLD_OK)
        return rc;
    if ((rc = cmd_check_subject(ctx, subject)) != FLD_OK)
        return rc;
    if ((rc = cmd_load_template(ctx, tid, &t)) != FLD_OK)
        return rc;
    if ((rc = cmd_check_unit(ctx, t, subject)) != FLD_OK)
        return rc;
    l->t = t;
    l->status = status;
    return FLD_OK;
}

/* The rest of a line whose answers are checked: completeness, then sign
 * and store (this thread, in order). */
static int save_line(struct import *im, struct line *l)
{
    struct cmd_ctx *ctx = im->ctx;
    const char *subject = fld_json_get_string(l->o, "subject");
    struct fld_version *v = NULL;
    int rc = FLD_OK;

    if (strcmp(l->status, "final") == 0)
        rc = cmd_check_complete(ctx, l->t, l->answers);
    if (rc == FLD_OK)
        rc = fld_capture_first(ctx->st, ctx->key, l->t, subject, l->answers,
                               l->status, &v, &ctx->err);
    if (rc == FLD_OK)
        im->n_records++;
    fld_version_free(v);
    return rc;
}

/* Read the next lines of text from *at into b (blank lines are counted,
 * not kept). */
static void next_lines(struct batch *b, const char *text, size_t len,
                       size_t *at, size_t *line)
{
    b->n = 0;
    while (b->n < BATCH && *at < len) {
        const char *end = memchr(text + *at, '\n', len - *at);
        size_t n = end ? (size_t)(end - (text + *at)) : len - *at;
        struct line *l = &b->lines[b->n];

        ++*line;
        if (n > 0 && text[*at + n - 1] == '\r')
            n--;
        if (n > 0) {
            memset(l, 0, sizeof *l);
            l->text = text + *at;
            l->len = n;
            l->no = *line;
            b->n++;
        }
        *at += end ? (size_t)(end - (text + *at)) + 1 : len - *at;
    }
}

static void free_lines(struct batch *b)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        fld_json_free(b->lines[i].o);
        fld_json_free(b->lines[i].answers);
    }
    b->n = 0;
}

/* Check b's lines up to the first refused before its answers (later ones
 * are never reached): b->upto lines go on, b->stopped when one was
 * refused. */
static void check_batch(struct import *im, struct batch *b)
{
    int rc = FLD_OK;

    for (b->upto = 0; b->upto < b->n && rc == FLD_OK; b->upto++) {
        struct line *l = &b->lines[b->upto];

        rc = l->rc == FLD_OK ? check_line(im, l) : l->rc;
    }
    b->stopped = rc != FLD_OK;
}

/* Report or save b's lines, in order; the first failure, named by line. */
static int save_batch(struct import *im, struct batch *b)
{
    struct cmd_ctx *ctx = im->ctx;
    size_t i;
    int rc = FLD_OK;

    for (i = 0; i < b->upto && rc == FLD_OK; i++) {
        struct line *l = &b->lines[i];

        if (l->t == NULL) {
            /* refused before its answers: say it again, in its turn */
            if ((rc = l->rc) != FLD_OK)
                ctx->err = l->err;
            else
                rc = check_line(im, l);
        } else if ((rc = l->rc) != FLD_OK) {
            ctx->err = l->err;
        } else {
            rc = save_line(im, l);
        }
        if (rc != FLD_OK)
            fld_err_prefix(&ctx->err, "line %zu", l->no);
    }
    return rc;
}

/* One loop over two batches: typing the checked lines of one and parsing
 * the lines of the next. */
struct both {
    struct batch *typed, *parsed;
};

static void type_or_parse(void *data, size_t i)
{
    struct both *w = data;

    if (i < w->typed->upto)
        type_line(w->typed, i);
    else
        parse_line(w->parsed, i - w->typed->upto);
}

/*
 * Every line of text, in one transaction; "line N: " on the first bad one.
 * Three batches turn: while this thread signs and stores batch k - 1,
 * every core types batch k's answers and parses batch k + 1's lines; then
 * this thread checks batch k + 1's templates and units.
 */
static int import_lines(struct import *im, char *text, size_t len)
{
    struct cmd_ctx *ctx = im->ctx;
    struct batch *b[3], *saved = NULL, *cur, *next;
    size_t line = 0, at = 0, threads = syn_cpus(), k, turn = 0;
    int rc;

    if ((rc = fld_store_begin(ctx->st, &ctx->err)) != FLD_OK)
        return rc;
    for (k = 0; k < 3; k++) {
        b[k] = fld_xcalloc(1, sizeof *b[k]);
        b[k]->lang = ctx->lang;
    }
    cur = b[0];
    cmd_today(cur->today);
    next_lines(cur, text, len, &at, &line);
    syn_parallel_for(cur->n, threads, parse_line, cur);
    check_batch(im, cur);
    while (cur != NULL) {
        struct both w;
        struct syn_loop *loop;

        next = NULL;
        if (at < len && !cur->stopped && rc == FLD_OK) {
            next = b[++turn % 3];
            cmd_today(next->today);
            next_lines(next, text, len, &at, &line);
        }
        w.typed = cur;
        w.parsed = next;
        loop = syn_parallel_start(cur->upto + (next ? next->n : 0), threads,
                                  type_or_parse, &w);
        if (saved != NULL && rc == FLD_OK)
            rc = save_batch(im, saved);
        if (saved != NULL)
            free_lines(saved);
        syn_parallel_finish(loop);
        if (next != NULL && rc == FLD_OK)
            check_batch(im, next);
        saved = cur;
        cur = rc == FLD_OK ? next : NULL;
        if (rc != FLD_OK && next != NULL)
            free_lines(next);
    }
    if (saved != NULL && rc == FLD_OK)
        rc = save_batch(im, saved);
    for (k = 0; k < 3; k++) {
        free_lines(b[k]);
        free(b[k]);
    }
    if (rc != FLD_OK) {
        fld_store_rollback(ctx->st);
        return rc;
    }
    return fld_store_commit(ctx->st, &ctx->err);
}

int cmd_import(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct import im;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc, first;

    memset(&im, 0, sizeof im);
    im.ctx = ctx;
    if ((rc = cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)) != FLD_OK)
        return rc;
    if (first + 1 != argc)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "give one file of JSON lines (or - for standard "
                           "input)");
    if (strcmp(argv[first], "-") == 0)
        rc = fld_file_read_stream(STDIN_FILENO, "standard input",
                                  IMPORT_MAX_BYTES, &data, &len, &ctx->err);
    else
        rc = fld_file_read(argv[first], IMPORT_MAX_BYTES, &data, &len,
                           &ctx->err);
    if (rc == FLD_OK)
        rc = cmd_open_store(ctx);
    if (rc == FLD_OK)
        rc = cmd_load_key(ctx);
    if (rc == FLD_OK)
        rc = import_lines(&im, (char *)data, len);
    if (rc == FLD_OK && ctx->json) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "records", fld_json_int((int64_t)im.n_records));
        rc = cmd_print_json(ctx, o);
        fld_json_free(o);
    } else if (rc == FLD_OK) {
        printf("Imported %zu record%s\n", im.n_records,
               im.n_records == 1 ? "" : "s");
    }
    free(data);
    return rc;
}
