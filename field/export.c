/*
 * export.c - records written out for other tools (export.h): the dispatch
 * between formats, and the three formats built in memory: JSON, CSV and
 * GeoJSON. The workbook is export_xlsx.c's.
 *
 * Where it sits: after the merge. The caller (field's cmd_export.c, the
 * server's export.c) has shown each record as the merge of its versions;
 * this file turns the result into bytes, the same whoever calls it.
 *
 * Decisions:
 *   - JSON carries, besides the merged answers, every version exactly as
 *     signed (body text, hash, signature), so whoever receives an export
 *     can verify it without trusting the exporter. It is written record by
 *     record in canonical form: the bytes are those of one canonical
 *     document {"format":..,"records":[..]}, as they always were.
 *   - CSV is one template's records, one row each, one column per question
 *     (fld_csv_field quotes, and keeps spreadsheets from running text as
 *     formulas). The columns are the first record's template's; a record
 *     of another version of that template fills them by question name.
 *   - GeoJSON (RFC 7946) has one Point per record, at the first geopoint
 *     question answered outside repeat groups: [longitude, latitude], as
 *     the RFC orders them (our answers are "lat lon ..."). The stored
 *     answer is read through fld_norm_geopoint(), which checks its ranges
 *     and gives digits that are valid JSON numbers, so a malformed value
 *     from a non-conforming device leaves the record out rather than
 *     making the file invalid. Records without a position are left out
 *     and counted in the collection's "without_position" member (a
 *     foreign member, which RFC 7946 allows), so nobody mistakes a map of
 *     60 points for the 69 communes inspected.
 *   - The tier result is the form engine's (form.h), evaluated on
 *     opts->today, exactly what `field show` says of the record; a record
 *     whose rules cannot be evaluated is exported with its tier unknown.
 */
#include "export.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "export_int.h"
#include "form.h"
#include "norm.h"
#include "utf8.h"

struct fld_export {
    enum fld_export_format format;
    enum fld_lang lang;
    char today[11];
    char *template_id; /* CSV: the file's template, once known */
    char **columns;    /* CSV: the questions' names, from the header */
    bool *is_text;     /* CSV: whether each column holds text */
    size_t n_columns;
    bool has_header;
    struct fld_buf out;    /* JSON, CSV, GeoJSON: the file so far */
    struct fld_xlsx *xlsx; /* XLSX: the workbook being built */
    size_t n_records, n_without_position;
    bool finished;
};

static const char *const format_names[] = {"json", "csv", "xlsx", "geojson"};

int fld_export_format_parse(const char *name, enum fld_export_format *out,
                            struct fld_err *err)
{
    size_t i;

    for (i = 0; i < sizeof format_names / sizeof *format_names; i++)
        if (strcmp(name, format_names[i]) == 0) {
            *out = (enum fld_export_format)i;
            return FLD_OK;
        }
    return fld_err_set(err, FLD_EUSAGE,
                       "the format must be json, csv, xlsx or geojson, not "
                       "'%.40s'",
                       name);
}

const char *fld_export_format_name(enum fld_export_format f)
{
    return format_names[f];
}

const char *fld_export_media_type(enum fld_export_format f)
{
    static const char *const types[] = {
        "application/json", "text/csv; charset=utf-8",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/geo+json"};

    return types[f];
}

const char *fld_export_status_label(const char *status, enum fld_lang lang)
{
    static const struct {
        const char *status, *vi, *en;
    } labels[] = {{"draft", "Nháp", "Draft"},
                  {"final", "Hoàn thành", "Final"},
                  {"approved", "Đã duyệt", "Approved"},
                  {"rejected", "Không duyệt", "Rejected"},
                  {"returned", "Trả lại", "Returned"}};
    size_t i;

    for (i = 0; i < sizeof labels / sizeof *labels; i++)
        if (strcmp(status, labels[i].status) == 0)
            return lang == FLD_LANG_EN ? labels[i].en : labels[i].vi;
    return status;
}

bool fld_export_on_record_row(const struct fld_template *t,
                              const struct fld_question *q)
{
    if (q->type == FLD_Q_NOTE)
        return false;
    return q->section == FLD_NO_SECTION ||
           !fld_template_section(t, q->section)->is_repeat;
}

/* ---- JSON ---------------------------------------------------------------- */

/* A string, checked as fld_json_write() checks it: FLD_EINVAL when it is
 * not valid UTF-8 (what says so names the member). */
static int put_checked(struct fld_buf *out, const char *key, const char *value,
                       size_t len, struct fld_err *err)
{
    if (value == NULL || !fld_utf8_valid((const uint8_t *)value, len))
        return fld_err_set(err, FLD_EINVAL,
                           "key \"%s\": string is not valid UTF-8 or "
                           "contains NUL",
                           key);
    fld_json_write_string(out, value, len);
    return FLD_OK;
}

/* A string member, "key":"value", after a separator when sep. */
static int put_text(struct fld_buf *out, char sep, const char *key,
                    const char *value, size_t len, struct fld_err *err)
{
    if (sep)
        fld_buf_putc(out, sep);
    fld_buf_printf(out, "\"%s\":", key);
    return put_checked(out, key, value, len, err);
}

static int put_cstr(struct fld_buf *out, char sep, const char *key,
                    const char *value, struct fld_err *err)
{
    return put_text(out, sep, key, value, value ? strlen(value) : 0, err);
}

/* {"body":"...","hash":"...","sig":"..."}: keys in canonical order */
static int put_version(struct fld_buf *out, const struct fld_version *v,
                       struct fld_err *err)
{
    char sig[2 * FLD_SIG_LEN + 1];
    int rc;

    fld_hex_encode(v->sig, FLD_SIG_LEN, sig);
    fld_buf_putc(out, '{');
    rc = put_text(out, 0, "body", (const char *)v->body, v->body_len, err);
    if (rc == FLD_OK)
        rc = put_cstr(out, ',', "hash", v->hash, err);
    if (rc == FLD_OK)
        rc = put_cstr(out, ',', "sig", sig, err);
    fld_buf_putc(out, '}');
    return rc;
}

/*
 * The record written straight into out, member by member in the canonical
 * order (sorted keys) fld_json_write() gives the same object built as a
 * tree: the same bytes, without a copy of every version's body and
 * answers to build and free.
 */
int fld_export_json_render(const struct fld_export_record *r,
                           struct fld_buf *out, struct fld_err *err)
{
    const struct fld_version *v = r->newest;
    size_t start = out->len, i;
    int rc;

    fld_buf_puts(out, "{\"answers\":");
    rc = fld_json_write(r->answers, out, err);
    if (rc == FLD_OK)
        fld_buf_printf(out, ",\"conflicts\":%zu,\"heads\":[", r->n_conflicts);
    for (i = 0; i < r->n_heads && rc == FLD_OK; i++) {
        if (i > 0)
            fld_buf_putc(out, ',');
        rc = put_checked(out, "heads", r->heads[i], strlen(r->heads[i]), err);
    }
    if (rc == FLD_OK)
        fld_buf_putc(out, ']');
    if (rc == FLD_OK)
        rc = put_cstr(out, ',', "record", v->record, err);
    if (rc == FLD_OK)
        rc = put_cstr(out, ',', "status", r->status, err);
    if (rc == FLD_OK)
        rc = put_cstr(out, ',', "subject", v->subject, err);
    if (rc == FLD_OK) {
        fld_buf_puts(out, ",\"template\":{");
        rc = put_cstr(out, 0, "hash", v->template_hash, err);
    }
    if (rc == FLD_OK)
        rc = put_cstr(out, ',', "id", v->template_id, err);
    if (rc == FLD_OK &&
        (v->hlc.ms < -FLD_JSON_MAX_INT || v->hlc.ms > FLD_JSON_MAX_INT))
        rc = fld_err_set(err, FLD_EINVAL,
                         "key \"updated_ms\": integer %lld out of range",
                         (long long)v->hlc.ms);
    if (rc == FLD_OK)
        fld_buf_printf(out, "},\"updated_ms\":%lld,\"versions\":[",
                       (long long)v->hlc.ms);
    for (i = 0; i < r->n_versions && rc == FLD_OK; i++) {
        if (i > 0)
            fld_buf_putc(out, ',');
        rc = put_version(out, r->versions[i], err);
    }
    if (rc == FLD_OK)
        fld_buf_puts(out, "]}");
    if (rc != FLD_OK && out->data != NULL) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}

static int add_json(struct fld_export *x, const struct fld_export_record *r,
                    struct fld_err *err)
{
    size_t start = x->out.len;
    int rc;

    if (x->n_records > 0)
        fld_buf_putc(&x->out, ',');
    rc = fld_export_json_render(r, &x->out, err);
    if (rc != FLD_OK && x->out.data != NULL) {
        x->out.len = start;
        x->out.data[start] = '\0';
    }
    return rc;
}

void fld_export_add_rendered(struct fld_export *x, const void *bytes,
                             size_t len)
{
    assert(!x->finished && x->format == FLD_EXPORT_JSON);
    if (x->n_records > 0)
        fld_buf_putc(&x->out, ',');
    fld_buf_append(&x->out, bytes, len);
    x->n_records++;
}

/* ---- CSV ----------------------------------------------------------------- */

/* A version's time for people (local, "2026-11-28 08:15:02") or for
 * programs (UTC, ISO 8601: "2026-11-28T01:15:02Z"). */
static void format_time(int64_t ms, bool utc, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    bool ok = utc ? gmtime_r(&t, &tm) != NULL : localtime_r(&t, &tm) != NULL;

    if (!ok ||
        strftime(out, 32, utc ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S",
                 &tm) == 0)
        snprintf(out, 32, "%lld", (long long)ms);
}

static void csv_value(struct fld_buf *out, const struct fld_json *a,
                      bool is_text)
{
    struct fld_buf tmp = FLD_BUF_INIT;
    size_t i;

    if (a == NULL)
        return;
    if (a->type == FLD_JSON_INT)
        fld_buf_printf(&tmp, "%lld", (long long)a->i);
    else if (a->type == FLD_JSON_STRING)
        fld_buf_puts(&tmp, a->s);
    else if (a->type == FLD_JSON_ARRAY)
        for (i = 0; i < a->n; i++) /* select_multiple: XLSForm's spaces */
            if (a->items[i]->type == FLD_JSON_STRING)
                fld_buf_printf(&tmp, "%s%s", i ? " " : "", a->items[i]->s);
    fld_csv_field(out, fld_buf_str(&tmp), is_text);
    fld_buf_free(&tmp);
}

/* The header row: the record's columns, then one per question of t that
 * holds an answer outside repeat groups (notes hold none); the columns are
 * kept, so that every later row fills the same ones. */
static void csv_header(struct fld_export *x, const struct fld_template *t)
{
    size_t i, n = fld_template_n_questions(t);

    fld_buf_puts(&x->out, "record,subject,template,status,updated,heads,"
                          "author,inspector");
    x->columns = fld_xcalloc(n + 1, sizeof *x->columns);
    x->is_text = fld_xcalloc(n + 1, sizeof *x->is_text);
    for (i = 0; i < n; i++) {
        const struct fld_question *q = fld_template_question_at(t, i);

        if (!fld_export_on_record_row(t, q))
            continue;
        fld_buf_printf(&x->out, ",%s", q->name);
        x->is_text[x->n_columns] = q->type == FLD_Q_TEXT;
        x->columns[x->n_columns++] = fld_xstrdup(q->name);
    }
    fld_buf_puts(&x->out, "\r\n");
    x->has_header = true;
}

static void csv_row(struct fld_export *x, const struct fld_export_record *r)
{
    const struct fld_version *v = r->newest;
    char when[32];
    size_t i;

    format_time(v->hlc.ms, false, when);
    fld_buf_printf(&x->out, "%s,", v->record);
    fld_csv_field(&x->out, v->subject, false);
    fld_buf_putc(&x->out, ',');
    fld_csv_field(&x->out, v->template_id, false);
    fld_buf_printf(&x->out, ",%s,%s,%zu,%s,", r->status, when, r->n_heads,
                   v->author);
    fld_csv_field(&x->out, v->inspector ? v->inspector : "", true);
    for (i = 0; i < x->n_columns; i++) {
        fld_buf_putc(&x->out, ',');
        csv_value(&x->out, fld_json_get(r->answers, x->columns[i]),
                  x->is_text[i]);
    }
    fld_buf_puts(&x->out, "\r\n");
}

static int add_csv(struct fld_export *x, const struct fld_export_record *r,
                   struct fld_err *err)
{
    const char *id = r->newest->template_id;

    if (x->template_id == NULL) /* the first record's, unless chosen */
        x->template_id = fld_xstrdup(id);
    if (strcmp(x->template_id, id) != 0)
        return fld_err_set(err, FLD_EUSAGE,
                           "records of several templates (%s, %s) match; "
                           "choose one template",
                           x->template_id, id);
    if (!x->has_header)
        csv_header(x, r->tmpl);
    csv_row(x, r);
    return FLD_OK;
}

/* ---- GeoJSON ------------------------------------------------------------- */

/* s as a JSON string, or null for NULL. Every string here comes from a
 * verified body or a loaded template, so it is valid UTF-8; should one not
 * be, null is written rather than an invalid file. */
static void put_string(struct fld_buf *b, const char *s)
{
    struct fld_json *j;
    struct fld_buf tmp = FLD_BUF_INIT;

    if (s == NULL) {
        fld_buf_puts(b, "null");
        return;
    }
    j = fld_json_string(s);
    if (fld_json_write(j, &tmp, NULL) == FLD_OK)
        fld_buf_append(b, tmp.data, tmp.len);
    else
        fld_buf_puts(b, "null");
    fld_json_free(j);
    fld_buf_free(&tmp);
}

/* ,"key":"value" (or null). */
static void put_member(struct fld_buf *b, const char *key, const char *value)
{
    fld_buf_printf(b, ",\"%s\":", key);
    put_string(b, value);
}

/*
 * The record's position: the first geopoint question outside repeat
 * groups whose answer is a valid geopoint. *norm is new ("lat lon ..."
 * with fixed decimals), *question borrowed from r's template.
 */
static bool find_position(const struct fld_export_record *r,
                          const char **question, char **norm)
{
    const struct fld_template *t = r->tmpl;
    size_t i;

    for (i = 0; i < fld_template_n_questions(t); i++) {
        const struct fld_question *q = fld_template_question_at(t, i);
        const struct fld_json *a;

        if (q->type != FLD_Q_GEOPOINT || !fld_export_on_record_row(t, q))
            continue;
        a = fld_json_get(r->answers, q->name);
        if (a == NULL || a->type != FLD_JSON_STRING)
            continue;
        if (fld_norm_geopoint(a->s, norm, NULL) == FLD_OK) {
            *question = q->name;
            return true;
        }
    }
    return false;
}

static const char *tier_code(const struct fld_export_eval *ev)
{
    static const char *const codes[] = {"unknown", "met", "not_met"};

    return ev->has_tier ? codes[ev->tier] : NULL;
}

static void add_feature(struct fld_export *x, const struct fld_export_record *r,
                        const struct fld_export_eval *ev)
{
    const struct fld_version *v = r->newest;
    const char *question, *lon;
    struct fld_buf *b = &x->out;
    char *pos = NULL, when[32];
    size_t lat_len, lon_len;

    if (!find_position(r, &question, &pos)) {
        x->n_without_position++;
        return;
    }
    /* "lat lon [alt acc]", as fld_norm_geopoint writes it */
    lat_len = strcspn(pos, " ");
    lon = pos + lat_len + (pos[lat_len] == ' ');
    lon_len = strcspn(lon, " ");
    format_time(v->hlc.ms, true, when);
    fld_buf_puts(b, x->n_records > x->n_without_position ? ",\n" : "\n");
    fld_buf_puts(b, "{\"type\":\"Feature\",\"id\":");
    put_string(b, v->record);
    fld_buf_printf(b,
                   ",\"geometry\":{\"type\":\"Point\",\"coordinates\":"
                   "[%.*s,%.*s]},\"properties\":{\"record\":",
                   (int)lon_len, lon, (int)lat_len, pos);
    put_string(b, v->record);
    put_member(b, "unit", v->subject);
    put_member(b, "unit_name", r->unit_name);
    put_member(b, "template", v->template_id);
    put_member(b, "status", r->status);
    put_member(b, "status_label", fld_export_status_label(r->status, x->lang));
    put_member(b, "tier", tier_code(ev));
    put_member(b, "tier_label",
               ev->has_tier ? fld_status_name(ev->tier, x->lang) : NULL);
    put_member(b, "inspector", v->inspector);
    put_member(b, "time", when);
    put_member(b, "position", question);
    fld_buf_puts(b, "}}");
    free(pos);
}

/* ---- the module ---------------------------------------------------------- */

/* Evaluate r's form for the formats that show its tier and calculations,
 * then hand it to the format. */
struct fld_export_eval *fld_export_evaluate(const struct fld_export_record *r,
                                            const char *today)
{
    struct fld_export_eval *ev = fld_xcalloc(1, sizeof *ev);
    const struct fld_text *label;
    size_t requires;

    ev->has_tier = fld_template_tier(r->tmpl, &label, &requires);
    ev->tier = FLD_STATUS_UNKNOWN;
    if (fld_form_eval(r->tmpl, r->answers, today, &ev->form, NULL) != FLD_OK)
        ev->form = NULL;
    else if (ev->has_tier)
        ev->tier = fld_form_tier(ev->form);
    return ev;
}

void fld_export_eval_free(struct fld_export_eval *ev)
{
    if (ev == NULL)
        return;
    fld_form_free(ev->form);
    free(ev);
}

int fld_export_add_evaluated(struct fld_export *x,
                             const struct fld_export_record *r,
                             const struct fld_export_eval *ev,
                             struct fld_err *err)
{
    int rc = FLD_OK;

    assert(!x->finished &&
           (x->format == FLD_EXPORT_XLSX || x->format == FLD_EXPORT_GEOJSON));
    if (x->format == FLD_EXPORT_XLSX)
        rc = fld_xlsx_add(x->xlsx, r, ev, err);
    else
        add_feature(x, r, ev);
    if (rc == FLD_OK)
        x->n_records++;
    return rc;
}

static int add_evaluated(struct fld_export *x,
                         const struct fld_export_record *r, struct fld_err *err)
{
    struct fld_export_eval *ev = fld_export_evaluate(r, x->today);
    int rc;

    if (x->format == FLD_EXPORT_XLSX)
        rc = fld_xlsx_add(x->xlsx, r, ev, err);
    else {
        add_feature(x, r, ev);
        rc = FLD_OK;
    }
    fld_export_eval_free(ev);
    return rc;
}

static void local_today(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;

    if (localtime_r(&now, &tm) == NULL ||
        strftime(out, 11, "%Y-%m-%d", &tm) == 0)
        memcpy(out, "1970-01-01", 11);
}

int fld_export_new(enum fld_export_format format,
                   const struct fld_export_opts *opts, struct fld_export **out,
                   struct fld_err *err)
{
    struct fld_export *x = fld_xcalloc(1, sizeof *x);
    const char *tmpdir = opts->tmpdir;
    int rc = FLD_OK;

    *out = NULL;
    x->format = format;
    x->lang = opts->lang;
    if (opts->today != NULL && strlen(opts->today) == 10)
        memcpy(x->today, opts->today, sizeof x->today);
    else
        local_today(x->today);
    if (opts->template_id != NULL)
        x->template_id = fld_xstrdup(opts->template_id);
    if (tmpdir == NULL || tmpdir[0] == '\0')
        tmpdir = getenv("TMPDIR");
    if (tmpdir == NULL || tmpdir[0] == '\0')
        tmpdir = "/tmp";
    if (format == FLD_EXPORT_JSON)
        fld_buf_puts(&x->out, "{\"format\":\"field-export-v1\",\"records\":[");
    else if (format == FLD_EXPORT_GEOJSON)
        fld_buf_puts(&x->out, "{\"type\":\"FeatureCollection\",\"features\":[");
    else if (format == FLD_EXPORT_XLSX)
        rc = fld_xlsx_open(tmpdir, x->lang, &x->xlsx, err);
    if (rc != FLD_OK) {
        fld_export_free(x);
        return rc;
    }
    *out = x;
    return FLD_OK;
}

int fld_export_add(struct fld_export *x, const struct fld_export_record *r,
                   struct fld_err *err)
{
    int rc;

    assert(!x->finished);
    if (x->format == FLD_EXPORT_JSON)
        rc = add_json(x, r, err);
    else if (x->format == FLD_EXPORT_CSV)
        rc = add_csv(x, r, err);
    else
        rc = add_evaluated(x, r, err);
    if (rc == FLD_OK)
        x->n_records++;
    return rc;
}

int fld_export_finish(struct fld_export *x, struct fld_buf *out,
                      struct fld_err *err)
{
    struct fld_xlsx *xlsx = x->xlsx;

    assert(!x->finished);
    x->finished = true;
    if (x->format == FLD_EXPORT_XLSX) {
        x->xlsx = NULL;
        return fld_xlsx_close(xlsx, out, err);
    }
    if (x->format == FLD_EXPORT_JSON)
        fld_buf_puts(&x->out, "]}\n");
    else if (x->format == FLD_EXPORT_GEOJSON)
        fld_buf_printf(&x->out, "%s],\"without_position\":%zu}\n",
                       x->n_records > x->n_without_position ? "\n" : "",
                       x->n_without_position);
    if (out->len == 0) {
        /* hand the file over rather than copy it: an export of ten
         * thousand records is some 50 MB */
        fld_buf_free(out);
        *out = x->out;
        memset(&x->out, 0, sizeof x->out);
    } else if (x->out.len > 0)
        fld_buf_append(out, x->out.data, x->out.len);
    return FLD_OK;
}

size_t fld_export_buffered(const struct fld_export *x)
{
    return x->format == FLD_EXPORT_XLSX ? 0 : x->out.len;
}

void fld_export_take(struct fld_export *x, struct fld_buf *out)
{
    struct fld_buf spare;

    if (x->format == FLD_EXPORT_XLSX || x->out.len == 0)
        return;
    if (out->len > 0) {
        fld_buf_append(out, x->out.data, x->out.len);
        fld_buf_reset(&x->out);
        return;
    }
    /* hand the bytes over rather than copy them, and go on in out's
     * (empty) buffer: a caller that writes and empties its buffer each
     * time turns two buffers, and nothing is copied or grown again */
    spare = *out;
    *out = x->out;
    x->out = spare;
}

size_t fld_export_n_records(const struct fld_export *x)
{
    return x->n_records;
}

size_t fld_export_n_without_position(const struct fld_export *x)
{
    return x->n_without_position;
}

void fld_export_free(struct fld_export *x)
{
    size_t i;

    if (x == NULL)
        return;
    fld_xlsx_discard(x->xlsx);
    for (i = 0; i < x->n_columns; i++)
        free(x->columns[i]);
    free(x->columns);
    free(x->is_text);
    free(x->template_id);
    fld_buf_free(&x->out);
    free(x);
}
