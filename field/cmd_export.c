/*
 * cmd_export.c - `field export`: records for other tools.
 *
 *   field export --format json|csv [--template ID] [--status S]
 *                [--subject CODE] [--output FILE]
 *
 * JSON carries, for each record, the current answers and every signed
 * version exactly as signed (body text, hash, signature), so whoever
 * receives an export can verify it. CSV is one row per record and one
 * column per question of one template, for spreadsheets: RFC 4180 quoting,
 * and text answers that a spreadsheet would run as a formula (starting
 * with = + - @) are prefixed with an apostrophe.
 *
 * With --output the file is written beside its final name and linked into
 * place only when complete, so a failed export leaves nothing behind, and
 * an existing file is never overwritten.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"
#include "cmd.h"
#include "file.h"
#include "merge.h"

enum { OPT_FORMAT = 100, OPT_OUTPUT };

struct export_opts {
    struct fld_record_filter filter;
    const char *format;
    const char *output;
};

struct collected {
    char **records;
    size_t n;
};

static int on_option(struct cmd_ctx *ctx, int opt, const char *arg, void *data)
{
    struct export_opts *o = data;

    if (opt == OPT_FORMAT && strcmp(arg, "json") && strcmp(arg, "csv"))
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "--format must be json or csv, not '%s'", arg);
    if (opt == OPT_FORMAT)
        o->format = arg;
    else if (opt == OPT_OUTPUT)
        o->output = arg;
    else
        return cmd_on_filter(ctx, opt, arg, &o->filter);
    return FLD_OK;
}

static int collect(void *data, const struct fld_record_summary *r)
{
    struct collected *c = data;

    c->records = fld_xreallocarray(c->records, c->n + 1, sizeof *c->records);
    c->records[c->n++] = fld_xstrdup(r->record);
    return FLD_OK;
}

static int version_entry(void *data, const struct fld_store_row *r)
{
    struct fld_json *arr = data;
    struct fld_json *o = fld_json_object();
    char sig[2 * FLD_SIG_LEN + 1];

    fld_hex_encode(r->sig, r->sig_len == FLD_SIG_LEN ? FLD_SIG_LEN : 0, sig);
    fld_json_set(o, "hash", fld_json_string(r->hash));
    fld_json_set(o, "sig", fld_json_string(sig));
    fld_json_set(o, "body",
                 fld_json_stringn((const char *)r->body, r->body_len));
    fld_json_append(arr, o);
    return FLD_OK;
}

static int export_json(struct cmd_ctx *ctx, const struct collected *c,
                       struct fld_buf *out)
{
    struct fld_json *doc = fld_json_object(), *list = fld_json_array();
    size_t i;
    int rc = FLD_OK;

    for (i = 0; i < c->n && rc == FLD_OK; i++) {
        struct fld_json *o = fld_json_object(), *heads = fld_json_array();
        struct fld_json *versions = fld_json_array(), *tmpl = fld_json_object();
        const struct fld_version *v;
        struct cmd_record r;
        size_t k;

        if ((rc = cmd_record_load(ctx, c->records[i], &r)) == FLD_OK)
            rc = fld_store_each_version(ctx->st, c->records[i],
                                        FLD_ORDER_ARRIVAL, version_entry,
                                        versions, &ctx->err);
        fld_json_set(o, "heads", heads);
        fld_json_set(o, "versions", versions);
        fld_json_set(o, "template", tmpl);
        fld_json_append(list, o);
        if (rc != FLD_OK) {
            cmd_record_free(&r);
            break;
        }
        /* the merged state: what every replica with these versions shows */
        v = r.merged->newest;
        for (k = 0; k < r.merged->n_heads; k++)
            fld_json_append(heads, fld_json_string(r.merged->heads[k]));
        fld_json_set(o, "record", fld_json_string(v->record));
        fld_json_set(o, "subject", fld_json_string(v->subject));
        fld_json_set(o, "status", fld_json_string(r.merged->status));
        fld_json_set(o, "updated_ms", fld_json_int(v->hlc.ms));
        fld_json_set(o, "answers", fld_json_clone(r.merged->answers));
        fld_json_set(o, "conflicts",
                     fld_json_int((int64_t)r.merged->n_conflicts));
        fld_json_set(tmpl, "id", fld_json_string(v->template_id));
        fld_json_set(tmpl, "hash", fld_json_string(v->template_hash));
        cmd_record_free(&r);
    }
    fld_json_set(doc, "format", fld_json_string("field-export-v1"));
    fld_json_set(doc, "records", list);
    if (rc == FLD_OK)
        rc = fld_json_write(doc, out, &ctx->err);
    if (rc == FLD_OK)
        fld_buf_putc(out, '\n');
    fld_json_free(doc);
    return rc;
}

/* One CSV field, quoted when it must be (RFC 4180). */
static void csv_field(struct fld_buf *out, const char *s, bool is_text)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ';
    const char *p;

    if (quote)
        fld_buf_putc(out, '"');
    if (is_text && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@'))
        fld_buf_putc(out, '\'');
    for (p = s; *p; p++) {
        if (*p == '"')
            fld_buf_putc(out, '"');
        fld_buf_putc(out, *p);
    }
    if (quote)
        fld_buf_putc(out, '"');
}

static void csv_value(struct fld_buf *out, const struct fld_question *q,
                      const struct fld_json *a)
{
    struct fld_buf tmp = FLD_BUF_INIT;
    size_t i;

    if (a == NULL)
        return;
    if (a->type == FLD_JSON_INT)
        fld_buf_printf(&tmp, "%lld", (long long)a->i);
    else if (a->type == FLD_JSON_STRING)
        fld_buf_puts(&tmp, a->s);
    else
        for (i = 0; i < a->n; i++) /* select_multiple: XLSForm's spaces */
            fld_buf_printf(&tmp, "%s%s", i ? " " : "", a->items[i]->s);
    csv_field(out, fld_buf_str(&tmp), q->type == FLD_Q_TEXT);
    fld_buf_free(&tmp);
}

static void csv_row(struct fld_buf *out, const struct fld_template *t,
                    const struct syn_merged *m)
{
    const struct fld_version *v = m->newest;
    size_t i, n = fld_template_n_questions(t);
    char when[32];

    cmd_format_time(v->hlc.ms, when);
    fld_buf_printf(out, "%s,", v->record);
    csv_field(out, v->subject, false);
    fld_buf_printf(out, ",%s,%s,%s,%zu,%s,", v->template_id, m->status, when,
                   m->n_heads, v->author);
    csv_field(out, v->inspector ? v->inspector : "", true);
    for (i = 0; i < n; i++) {
        const struct fld_question *q = fld_template_question_at(t, i);

        if (q->type == FLD_Q_NOTE)
            continue;
        fld_buf_putc(out, ',');
        csv_value(out, q, fld_json_get(m->answers, q->name));
    }
    fld_buf_puts(out, "\r\n");
}

/* The header row: the record's columns, then one per question of t that
 * holds an answer (notes hold none). */
static void csv_header(struct fld_buf *out, const struct fld_template *t)
{
    size_t n;

    fld_buf_puts(
        out, "record,subject,template,status,updated,heads,author,inspector");
    for (n = 0; n < fld_template_n_questions(t); n++)
        if (fld_template_question_at(t, n)->type != FLD_Q_NOTE)
            fld_buf_printf(out, ",%s", fld_template_question_at(t, n)->name);
    fld_buf_puts(out, "\r\n");
}

static int export_csv(struct cmd_ctx *ctx, const struct collected *c,
                      const char *template_id, struct fld_buf *out)
{
    struct fld_template *t = NULL;
    char *chosen = NULL;
    size_t i;
    int rc = FLD_OK;

    for (i = 0; i < c->n && rc == FLD_OK; i++) {
        struct cmd_record r;
        const struct fld_version *v;

        if ((rc = cmd_record_load(ctx, c->records[i], &r)) != FLD_OK) {
            cmd_record_free(&r);
            break;
        }
        v = r.merged->newest;
        if (chosen == NULL) /* the first record's, unless --template */
            chosen = fld_xstrdup(template_id ? template_id : v->template_id);
        if (strcmp(chosen, v->template_id) != 0)
            rc = fld_err_set(&ctx->err, FLD_EUSAGE,
                             "records of several templates (%s, %s) match; "
                             "choose one with --template",
                             chosen, v->template_id);
        else if (t == NULL) {
            rc = cmd_load_template(ctx, v->template_hash, &t);
            if (rc == FLD_OK)
                csv_header(out, t);
        }
        if (rc == FLD_OK)
            csv_row(out, t, r.merged);
        cmd_record_free(&r);
    }
    free(chosen);
    fld_template_free(t);
    return rc;
}

int cmd_export(struct cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"status", required_argument, NULL, CMD_OPT_STATUS},
        {"subject", required_argument, NULL, CMD_OPT_SUBJECT},
        {"template", required_argument, NULL, CMD_OPT_TEMPLATE},
        {NULL, 0, NULL, 0}};
    struct export_opts o;
    struct collected c = {NULL, 0};
    struct fld_buf out = FLD_BUF_INIT;
    int rc;

    memset(&o, 0, sizeof o);
    if ((rc = cmd_parse_and_open(ctx, argc, argv, extra, on_option, &o)))
        return rc;
    if (o.format == NULL)
        return fld_err_set(&ctx->err, FLD_EUSAGE,
                           "say --format json or --format csv");
    if ((rc =
             fld_store_each_record(ctx->st, &o.filter, collect, &c, &ctx->err)))
        goto out;
    if (strcmp(o.format, "json") == 0)
        rc = export_json(ctx, &c, &out);
    else
        rc = export_csv(ctx, &c, o.filter.template_id, &out);
    /* a new file, never over an existing one, nothing half-written left;
     * mode 0600, as exports have always been written */
    if (rc == FLD_OK && o.output)
        rc = fld_file_write(o.output, out.data, out.len, 0600, FLD_FILE_NEW,
                            &ctx->err);
    else if (rc == FLD_OK)
        fwrite(fld_buf_str(&out), 1, out.len, stdout);
out:
    fld_strv_free(c.records, c.n);
    fld_buf_free(&out);
    return rc;
}
