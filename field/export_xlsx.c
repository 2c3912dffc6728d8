/*
 * export_xlsx.c - the export as a workbook for an office (export.h,
 * export_int.h), written with libxlsxwriter.
 *
 * Layout (docs/FORMATS.md): one sheet per template, named by its id, with
 * one row per record: record id, unit code and name, status, inspector,
 * time of the newest version, the tier result when the template has a
 * tier, then one column per question outside repeat groups (notes take
 * none). Each repeat group has its own sheet, "<template>-<group>", with
 * one row per item: record id, unit, item id, then the group's questions.
 * Every sheet opens with two header rows: the labels in the chosen
 * language, then the names a program would use; both stay in view
 * (frozen panes) and the second carries the filter buttons.
 *
 * Decisions:
 *   - Values are shown as `field show` shows them: choices by their label
 *     (several joined by "; "), calculations by the form engine's value.
 *     Integers and decimals are numbers, dates and the time are dates, so
 *     an office can sum, sort and filter without converting anything;
 *     everything else is text. A text cell is never a formula, so nothing
 *     here needs the CSV's apostrophe.
 *   - Sheets are per template hash, not per id: two versions of a
 *     template may ask different questions, and putting one's answers
 *     under the other's columns would misfile them. The second version's
 *     sheet gets the id with "~2". Excel's sheet names are at most 31
 *     characters, without [ ] : * ? / \, unique whatever the case; a name
 *     that breaks a rule is cut or changed, then numbered.
 *   - libxlsxwriter writes only to a named file: the workbook is built in
 *     a new temporary file (mkstemp, mode 0600), read back whole, then
 *     removed, so the caller decides where the bytes go. Rows are written
 *     in order on every sheet, so the library's constant-memory mode holds
 *     one row per sheet in memory, whatever the number of records.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "date.h"
#include "export_int.h"
#include "file.h"
#include "value.h"

/* 31 characters of up to 4 bytes, and a NUL. */
#define SHEET_NAME_MAX 128
#define SHEET_CHARS 31

struct sheet {
    lxw_worksheet *ws;
    char name[SHEET_NAME_MAX];
    lxw_row_t next; /* the next row to write; data start below the header */
    lxw_col_t n_cols;
    const char **names; /* while the header is made: row 1, to come */
};

/* The sheets of one template: its records, and each repeat group's items
 * (groups[i] belongs to section i; its ws is NULL for other sections). */
struct book_template {
    char hash[FLD_HASH_HEX_LEN + 1];
    struct sheet main;
    struct sheet *groups;
    size_t n_sections;
};

struct fld_xlsx {
    lxw_workbook *wb;
    char *path;   /* the temporary file */
    char *tmpdir; /* libxlsxwriter's own temporary files */
    enum fld_lang lang;
    lxw_format *head, *names, *date, *datetime;
    struct book_template *tmpls;
    size_t n_tmpls;
};

/* The first row of data: row 0 holds the labels, row 1 the names. */
#define FIRST_DATA_ROW 2

static const char *tr(const struct fld_xlsx *x, const char *vi, const char *en)
{
    return x->lang == FLD_LANG_EN ? en : vi;
}

/* ---- the workbook -------------------------------------------------------- */

int fld_xlsx_open(const char *tmpdir, enum fld_lang lang, struct fld_xlsx **out,
                  struct fld_err *err)
{
    struct fld_xlsx *x = fld_xcalloc(1, sizeof *x);
    lxw_workbook_options o;
    int fd;

    *out = NULL;
    x->lang = lang;
    x->tmpdir = fld_xstrdup(tmpdir);
    x->path = fld_xasprintf("%s/field-export-XXXXXX", tmpdir);
    if ((fd = mkstemp(x->path)) < 0) {
        fld_err_set(err, FLD_EIO, "%s: cannot make a temporary file: %s",
                    tmpdir, strerror(errno));
        free(x->path);
        free(x->tmpdir);
        free(x);
        return FLD_EIO;
    }
    close(fd);
    memset(&o, 0, sizeof o);
    o.constant_memory = LXW_TRUE;
    o.tmpdir = x->tmpdir;
    x->wb = workbook_new_opt(x->path, &o);
    if (x->wb == NULL) {
        fld_xlsx_discard(x);
        return fld_err_set(err, FLD_EIO, "cannot start a workbook");
    }
    x->head = workbook_add_format(x->wb);
    format_set_bold(x->head);
    format_set_text_wrap(x->head);
    x->names = workbook_add_format(x->wb);
    format_set_italic(x->names);
    format_set_font_color(x->names, LXW_COLOR_GRAY);
    x->date = workbook_add_format(x->wb);
    format_set_num_format(x->date, tr(x, "dd/mm/yyyy", "yyyy-mm-dd"));
    x->datetime = workbook_add_format(x->wb);
    format_set_num_format(x->datetime,
                          tr(x, "dd/mm/yyyy hh:mm:ss", "yyyy-mm-dd hh:mm:ss"));
    *out = x;
    return FLD_OK;
}

static void book_free(struct fld_xlsx *x)
{
    size_t i;

    for (i = 0; i < x->n_tmpls; i++)
        free(x->tmpls[i].groups);
    free(x->tmpls);
    unlink(x->path);
    free(x->path);
    free(x->tmpdir);
    free(x);
}

void fld_xlsx_discard(struct fld_xlsx *x)
{
    if (x == NULL)
        return;
    if (x->wb != NULL)
        lxw_workbook_free(x->wb);
    book_free(x);
}

/* ---- sheets -------------------------------------------------------------- */

/* Copy at most max_chars UTF-8 characters of s into out (SHEET_NAME_MAX
 * bytes), replacing what Excel refuses in a sheet name by '_'. */
static void clean_name(const char *s, size_t max_chars, char *out)
{
    size_t len = 0, chars = 0, n;

    while (*s && chars < max_chars) {
        unsigned char c = (unsigned char)*s;

        n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (strnlen(s, n) < n || len + n >= SHEET_NAME_MAX)
            break;
        if (n == 1 && strchr("[]:*?/\\", c) != NULL)
            out[len] = '_';
        else
            memcpy(out + len, s, n);
        len += n;
        s += n;
        chars++;
    }
    out[len] = '\0';
    if (len == 0)
        snprintf(out, SHEET_NAME_MAX, "%s", "sheet");
    /* nor may a name start or end with an apostrophe */
    if (out[0] == '\'')
        out[0] = '_';
    if (out[strlen(out) - 1] == '\'')
        out[strlen(out) - 1] = '_';
}

/* A name for a new sheet: base made acceptable to Excel, then, when the
 * workbook holds it already (or it is "History", which Excel keeps for
 * itself), its end replaced by "~2", "~3" ... "" leaves the choice to
 * libxlsxwriter ("Sheet4"). */
static void sheet_name(struct fld_xlsx *x, const char *base, char *out)
{
    char suffix[16];
    unsigned k;
    size_t n;

    clean_name(base, SHEET_CHARS, out);
    for (k = 2; strcasecmp(out, "history") == 0 ||
                workbook_validate_sheet_name(x->wb, out) != LXW_NO_ERROR;
         k++) {
        if (k > 9999) { /* cannot happen with the names cleaned above */
            out[0] = '\0';
            return;
        }
        n = (size_t)snprintf(suffix, sizeof suffix, "~%u", k);
        clean_name(base, SHEET_CHARS - n, out);
        n = strlen(out);
        snprintf(out + n, SHEET_NAME_MAX - n, "%s", suffix);
    }
}

/* A column: its label now, its name when the labels' row is complete
 * (constant-memory mode writes a sheet's rows strictly in order). */
static void header_cell(struct fld_xlsx *x, struct sheet *s, const char *label,
                        const char *name, double width)
{
    worksheet_write_string(s->ws, 0, s->n_cols, label, x->head);
    worksheet_set_column(s->ws, s->n_cols, s->n_cols, width, NULL);
    s->names =
        fld_xreallocarray(s->names, (size_t)s->n_cols + 1, sizeof *s->names);
    s->names[s->n_cols++] = name;
}

/* The names' row, once every column is labelled. */
static void header_end(struct fld_xlsx *x, struct sheet *s)
{
    lxw_col_t col;

    for (col = 0; col < s->n_cols; col++)
        worksheet_write_string(s->ws, 1, col, s->names[col], x->names);
    free(s->names);
    s->names = NULL;
}

static int new_sheet(struct fld_xlsx *x, const char *base, struct sheet *s,
                     struct fld_err *err)
{
    sheet_name(x, base, s->name);
    s->ws = workbook_add_worksheet(x->wb, s->name[0] ? s->name : NULL);
    if (s->ws == NULL)
        return fld_err_set(err, FLD_EIO, "cannot add the sheet %s", s->name);
    s->next = FIRST_DATA_ROW;
    s->n_cols = 0;
    worksheet_freeze_panes(s->ws, FIRST_DATA_ROW, 0);
    return FLD_OK;
}

static void question_header(struct fld_xlsx *x, struct sheet *s,
                            const struct fld_question *q)
{
    header_cell(x, s, fld_text_get(&q->label, x->lang), q->name, 18);
}

/* The template's sheet: the record's columns, then its questions. */
static int main_sheet(struct fld_xlsx *x, const struct fld_template *t,
                      struct sheet *s, struct fld_err *err)
{
    const struct fld_text *tier;
    size_t i, requires;
    int rc;

    if ((rc = new_sheet(x, fld_template_id(t), s, err)) != FLD_OK)
        return rc;
    header_cell(x, s, tr(x, "Mã phiếu", "Record"), "record", 34);
    header_cell(x, s, tr(x, "Mã đơn vị", "Unit code"), "unit", 10);
    header_cell(x, s, tr(x, "Tên đơn vị", "Unit"), "unit_name", 24);
    header_cell(x, s, tr(x, "Trạng thái", "Status"), "status", 13);
    header_cell(x, s, tr(x, "Người kiểm tra", "Inspector"), "inspector", 20);
    header_cell(x, s, tr(x, "Lần lưu cuối", "Last saved"), "time", 19);
    if (fld_template_tier(t, &tier, &requires))
        header_cell(x, s, fld_text_get(tier, x->lang), "tier", 16);
    for (i = 0; i < fld_template_n_questions(t); i++)
        if (fld_export_on_record_row(t, fld_template_question_at(t, i)))
            question_header(x, s, fld_template_question_at(t, i));
    header_end(x, s);
    return FLD_OK;
}

/* A repeat group's sheet: the item's columns, then its questions. */
static int group_sheet(struct fld_xlsx *x, const struct fld_template *t,
                       const struct fld_section *sec, struct sheet *s,
                       struct fld_err *err)
{
    char *base = fld_xasprintf("%s-%s", fld_template_id(t), sec->name);
    size_t i;
    int rc = new_sheet(x, base, s, err);

    free(base);
    if (rc != FLD_OK)
        return rc;
    header_cell(x, s, tr(x, "Mã phiếu", "Record"), "record", 34);
    header_cell(x, s, tr(x, "Mã đơn vị", "Unit code"), "unit", 10);
    header_cell(x, s, tr(x, "Mã mục", "Item"), "item", 18);
    for (i = sec->first; i < sec->first + sec->n; i++)
        if (fld_template_question_at(t, i)->type != FLD_Q_NOTE)
            question_header(x, s, fld_template_question_at(t, i));
    header_end(x, s);
    return FLD_OK;
}

/* The sheets of t, made when its first record comes. */
static int template_sheets(struct fld_xlsx *x, const struct fld_template *t,
                           struct book_template **out, struct fld_err *err)
{
    struct book_template *bt;
    size_t i;
    int rc;

    for (i = 0; i < x->n_tmpls; i++)
        if (strcmp(x->tmpls[i].hash, fld_template_hash(t)) == 0) {
            *out = &x->tmpls[i];
            return FLD_OK;
        }
    x->tmpls = fld_xreallocarray(x->tmpls, x->n_tmpls + 1, sizeof *x->tmpls);
    bt = &x->tmpls[x->n_tmpls++];
    memset(bt, 0, sizeof *bt);
    snprintf(bt->hash, sizeof bt->hash, "%s", fld_template_hash(t));
    bt->n_sections = fld_template_n_sections(t);
    bt->groups = fld_xcalloc(bt->n_sections + 1, sizeof *bt->groups);
    rc = main_sheet(x, t, &bt->main, err);
    for (i = 0; i < bt->n_sections && rc == FLD_OK; i++) {
        const struct fld_section *sec = fld_template_section(t, i);

        if (sec->is_repeat)
            rc = group_sheet(x, t, sec, &bt->groups[i], err);
    }
    if (rc != FLD_OK) { /* never write to half-made sheets later */
        free(bt->groups);
        x->n_tmpls--;
        return rc;
    }
    *out = bt;
    return FLD_OK;
}

static int next_row(struct sheet *s, lxw_row_t *row, struct fld_err *err)
{
    if (s->next >= LXW_ROW_MAX)
        return fld_err_set(err, FLD_ELIMIT,
                           "sheet %s: more rows than a spreadsheet holds "
                           "(%d); export fewer records at a time",
                           s->name, LXW_ROW_MAX);
    *row = s->next++;
    return FLD_OK;
}

/* ---- cells --------------------------------------------------------------- */

struct cell {
    struct fld_xlsx *x;
    lxw_worksheet *ws;
    lxw_row_t row;
    lxw_col_t col;
};

static void put_text(const struct cell *c, const char *s)
{
    if (s != NULL && s[0] != '\0')
        worksheet_write_string(c->ws, c->row, c->col, s, NULL);
}

/* A date (and time) as a spreadsheet date, which it can sort and count;
 * as text outside the years a spreadsheet knows. */
static void put_datetime(const struct cell *c, const struct tm *tm,
                         bool with_time)
{
    lxw_datetime d;
    char text[32];

    if (tm->tm_year + 1900 < 1900 || tm->tm_year + 1900 > 9999) {
        strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", tm);
        put_text(c, text);
        return;
    }
    d.year = tm->tm_year + 1900;
    d.month = tm->tm_mon + 1;
    d.day = tm->tm_mday;
    d.hour = with_time ? tm->tm_hour : 0;
    d.min = with_time ? tm->tm_min : 0;
    d.sec = with_time ? tm->tm_sec : 0;
    worksheet_write_datetime(c->ws, c->row, c->col, &d,
                             with_time ? c->x->datetime : c->x->date);
}

/* A stored answer: a number, a date, or the text `field show` prints. */
static void put_stored(const struct cell *c, const struct fld_question *q,
                       const struct fld_json *a)
{
    struct fld_value v;
    struct tm tm;
    int64_t days, y;
    double num;
    char *text;

    if (a->type == FLD_JSON_INT) {
        worksheet_write_number(c->ws, c->row, c->col, (double)a->i, NULL);
        return;
    }
    if (a->type == FLD_JSON_STRING && q->type == FLD_Q_DECIMAL) {
        /* value.c reads numbers in the "C" locale, whatever the user's */
        fld_value_string(&v, a->s);
        num = fld_value_to_number(&v);
        fld_value_clear(&v);
        if (isfinite(num)) {
            worksheet_write_number(c->ws, c->row, c->col, num, NULL);
            return;
        }
    }
    if (a->type == FLD_JSON_STRING && q->type == FLD_Q_DATE &&
        fld_date_parse(a->s, &days)) {
        memset(&tm, 0, sizeof tm);
        fld_date_from_days(days, &y, &tm.tm_mon, &tm.tm_mday);
        tm.tm_year = (int)(y - 1900);
        tm.tm_mon -= 1;
        put_datetime(c, &tm, false);
        return;
    }
    text = fld_template_format(q, a, c->x->lang);
    put_text(c, text);
    free(text);
}

/* A calculation's value, as the form engine computed it. */
static void put_calculated(const struct cell *c, struct fld_form *f, size_t qi,
                           size_t item)
{
    const struct fld_value *v = fld_form_value(f, qi, item);
    char *text;

    if (v->type == FLD_V_NUMBER && isfinite(v->num)) {
        worksheet_write_number(c->ws, c->row, c->col, v->num, NULL);
        return;
    }
    if (v->type == FLD_V_BLANK)
        return;
    text = fld_value_to_string(v);
    put_text(c, text);
    free(text);
}

/* One question's cell: the stored answer, else a calculation's value. */
static void put_answer(const struct cell *c, const struct fld_template *t,
                       size_t qi, const struct fld_json *answers,
                       const struct fld_export_eval *ev, size_t item)
{
    const struct fld_question *q = fld_template_question_at(t, qi);
    const struct fld_json *a = fld_json_get(answers, q->name);

    if (a != NULL)
        put_stored(c, q, a);
    else if (q->calculation != NULL && ev->form != NULL)
        put_calculated(c, ev->form, qi, item);
}

/* ---- rows ---------------------------------------------------------------- */

static int record_row(struct fld_xlsx *x, struct sheet *s,
                      const struct fld_export_record *r,
                      const struct fld_export_eval *ev, struct fld_err *err)
{
    const struct fld_version *v = r->newest;
    const struct fld_template *t = r->tmpl;
    struct cell c = {x, s->ws, 0, 0};
    time_t secs = (time_t)(v->hlc.ms / 1000);
    struct tm tm;
    size_t i;
    int rc;

    if ((rc = next_row(s, &c.row, err)) != FLD_OK)
        return rc;
    put_text(&c, v->record);
    c.col++;
    put_text(&c, v->subject);
    c.col++;
    put_text(&c, r->unit_name);
    c.col++;
    put_text(&c, fld_export_status_label(r->status, x->lang));
    c.col++;
    put_text(&c, v->inspector);
    c.col++;
    if (localtime_r(&secs, &tm) != NULL)
        put_datetime(&c, &tm, true);
    c.col++;
    if (ev->has_tier) {
        put_text(&c, fld_status_name(ev->tier, x->lang));
        c.col++;
    }
    for (i = 0; i < fld_template_n_questions(t); i++)
        if (fld_export_on_record_row(t, fld_template_question_at(t, i))) {
            put_answer(&c, t, i, r->answers, ev, 0);
            c.col++;
        }
    return FLD_OK;
}

/* One row per item of the repeat section sec, in item id order (the
 * order the form engine numbers them in, so calculations line up). */
static int item_rows(struct fld_xlsx *x, struct sheet *s,
                     const struct fld_export_record *r,
                     const struct fld_section *sec,
                     const struct fld_export_eval *ev, struct fld_err *err)
{
    const struct fld_json *items = fld_json_get(r->answers, sec->name);
    struct cell c = {x, s->ws, 0, 0};
    size_t k, i;
    int rc;

    if (items == NULL || items->type != FLD_JSON_OBJECT)
        return FLD_OK;
    for (k = 0; k < items->n; k++) {
        if ((rc = next_row(s, &c.row, err)) != FLD_OK)
            return rc;
        c.col = 0;
        put_text(&c, r->newest->record);
        c.col++;
        put_text(&c, r->newest->subject);
        c.col++;
        put_text(&c, items->members[k].key);
        c.col++;
        for (i = sec->first; i < sec->first + sec->n; i++) {
            if (fld_template_question_at(r->tmpl, i)->type == FLD_Q_NOTE)
                continue;
            put_answer(&c, r->tmpl, i, items->members[k].value, ev, k);
            c.col++;
        }
    }
    return FLD_OK;
}

int fld_xlsx_add(struct fld_xlsx *x, const struct fld_export_record *r,
                 const struct fld_export_eval *ev, struct fld_err *err)
{
    struct book_template *bt;
    size_t i;
    int rc;

    if ((rc = template_sheets(x, r->tmpl, &bt, err)) != FLD_OK)
        return rc;
    if ((rc = record_row(x, &bt->main, r, ev, err)) != FLD_OK)
        return rc;
    for (i = 0; i < bt->n_sections; i++) {
        if (bt->groups[i].ws == NULL)
            continue;
        rc = item_rows(x, &bt->groups[i], r, fld_template_section(r->tmpl, i),
                       ev, err);
        if (rc != FLD_OK)
            return rc;
    }
    return FLD_OK;
}

/* The filter buttons on the names row, over the rows written. */
static void sheet_finish(struct sheet *s)
{
    if (s->ws != NULL && s->n_cols > 0)
        worksheet_autofilter(s->ws, 1, 0, s->next - 1,
                             (lxw_col_t)(s->n_cols - 1));
}

int fld_xlsx_close(struct fld_xlsx *x, struct fld_buf *out, struct fld_err *err)
{
    lxw_worksheet *ws;
    lxw_error e;
    uint8_t *data = NULL;
    size_t i, k, len;
    int rc;

    if (x->n_tmpls == 0) { /* a workbook needs a sheet: say why it is bare */
        ws = workbook_add_worksheet(x->wb, tr(x, "Không có phiếu", "Empty"));
        if (ws != NULL)
            worksheet_write_string(
                ws, 0, 0,
                tr(x, "Không có phiếu nào phù hợp.", "No record matched."),
                NULL);
    }
    for (i = 0; i < x->n_tmpls; i++) {
        sheet_finish(&x->tmpls[i].main);
        for (k = 0; k < x->tmpls[i].n_sections; k++)
            sheet_finish(&x->tmpls[i].groups[k]);
    }
    e = workbook_close(x->wb);
    x->wb = NULL;
    if (e != LXW_NO_ERROR)
        rc = fld_err_set(err, FLD_EIO, "cannot write the workbook: %s",
                         lxw_strerror(e));
    else
        rc = fld_file_read(x->path, FLD_EXPORT_MAX_XLSX, &data, &len, err);
    if (rc == FLD_OK)
        fld_buf_append(out, data, len);
    free(data);
    book_free(x);
    return rc;
}
