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
#include "file.h"

/* Largest import file: about 200,000 commune records. */
#define IMPORT_MAX_BYTES (512u * 1024 * 1024)
#define MAX_LINE_ANSWERS 4096

struct import {
    struct cmd_ctx *ctx;
    size_t n_records;
};

/* The answers object as NAME=VALUE assignments (new strings in *out). */
static int assignments(struct cmd_ctx *ctx, const struct fld_json *answers,
                       char ***out, size_t *n)
{
    size_t i;

    *out = NULL;
    *n = 0;
    if (answers == NULL)
        return FLD_OK;
    if (answers->type != FLD_JSON_OBJECT || answers->n > MAX_LINE_ANSWERS)
        return fld_err_set(&ctx->err, FLD_EINVAL,
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
            return fld_err_set(&ctx->err, FLD_EINVAL,
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

/* One line: check everything a person's `field new` would, then sign. */
static int import_record(struct import *im, const struct fld_json *o)
{
    struct cmd_ctx *ctx = im->ctx;
    const char *tid = fld_json_get_string(o, "template");
    const char *subject = fld_json_get_string(o, "subject");
    const char *status = fld_json_get_string(o, "status");
    const struct fld_template *t;
    struct fld_json *answers = NULL;
    struct fld_version *v = NULL;
    char **args = NULL;
    size_t n_args = 0;
    int rc;

    if (o->type != FLD_JSON_OBJECT || tid == NULL || subject == NULL)
        return fld_err_set(&ctx->err, FLD_EINVAL,
                           "a record needs \"template\" and \"subject\"");
    if (status == NULL)
        status = "draft";
    if (strcmp(status, "draft") != 0 && strcmp(status, "final") != 0)
        return fld_err_set(&ctx->err, FLD_EINVAL,
                           "\"status\" is draft or final, not \"%s\"", status);
    if ((rc = cmd_check_subject(ctx, subject)) != FLD_OK)
        return rc;
    if ((rc = cmd_load_template(ctx, tid, &t)) != FLD_OK)
        return rc;
    if ((rc = cmd_check_unit(ctx, t, subject)) != FLD_OK)
        return rc;
    rc = assignments(ctx, fld_json_get(o, "answers"), &args, &n_args);
    if (rc == FLD_OK)
        rc = cmd_apply(ctx, t, NULL, (int)n_args, args, &answers);
    if (rc == FLD_OK && strcmp(status, "final") == 0)
        rc = cmd_check_complete(ctx, t, answers);
    if (rc == FLD_OK)
        rc = fld_capture_first(ctx->st, ctx->key, t, subject, answers, status,
                               &v, &ctx->err);
    if (rc == FLD_OK)
        im->n_records++;
    fld_version_free(v);
    fld_json_free(answers);
    assignments_free(args, n_args);
    return rc;
}

/* Every line of text, in one transaction; "line N: " on the first bad one. */
static int import_lines(struct import *im, char *text, size_t len)
{
    struct cmd_ctx *ctx = im->ctx;
    size_t line = 0, at = 0;
    int rc;

    if ((rc = fld_store_begin(ctx->st, &ctx->err)) != FLD_OK)
        return rc;
    while (rc == FLD_OK && at < len) {
        char *end = memchr(text + at, '\n', len - at);
        size_t n = end ? (size_t)(end - (text + at)) : len - at;
        struct fld_json *o = NULL;

        line++;
        if (n > 0 && text[at + n - 1] == '\r')
            n--;
        if (n > 0) {
            rc = fld_json_parse((const uint8_t *)text + at, n, &o, &ctx->err);
            if (rc == FLD_OK)
                rc = import_record(im, o);
            if (rc != FLD_OK)
                fld_err_prefix(&ctx->err, "line %zu", line);
        }
        fld_json_free(o);
        at += (end ? (size_t)(end - (text + at)) + 1 : len - at);
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
