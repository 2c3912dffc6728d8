/*
 * report_out.c - the province report laid out for people and machines
 * (report.h): aligned text, JSON, CSV and an XLSX workbook.
 *
 * Every format is written from the same struct srv_report, and every share
 * comes from srv_share_tenths(), integer arithmetic rounded half up to one
 * decimal: the text, the CSV and the workbook agree to the digit, and a
 * test can read any of them back and compare. Numbers are written the way
 * the province writes them (source document: "1.205/1.512 thôn, đạt
 * 79,9%"): a dot between thousands and a comma before the decimal in
 * Vietnamese, the other way round in English. In the workbook counts are
 * numbers (a spreadsheet sums them) and shares are numbers with one
 * decimal shown, so a provincial office can keep computing with them.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "csv.h"
#include "numbers.h"

/* ---- numbers ------------------------------------------------------------ */

int64_t srv_share_tenths(struct srv_ratio r)
{
    if (r.total <= 0)
        return -1;
    return (r.n * 1000 + r.total / 2) / r.total;
}

void srv_format_share(struct srv_ratio r, enum fld_lang lang,
                      struct fld_buf *out)
{
    fld_format_tenths(srv_share_tenths(r), lang, out);
}

/* "69/169" with the province's grouping. */
static void format_ratio(struct srv_ratio r, enum fld_lang lang,
                         struct fld_buf *out)
{
    fld_format_count(r.n, lang, out);
    fld_buf_putc(out, '/');
    fld_format_count(r.total, lang, out);
}

const char *srv_tier_state_name(enum srv_tier_state s, enum fld_lang lang)
{
    static const char *const vi[] = {"đạt", "không đạt", "chưa xác định",
                                     "chưa đánh giá"};
    static const char *const en[] = {"met", "not met", "unknown",
                                     "not assessed"};

    return lang == FLD_LANG_EN ? en[s] : vi[s];
}

static const char *tr(enum fld_lang lang, const char *vi, const char *en)
{
    return lang == FLD_LANG_EN ? en : vi;
}

/* "30/06/2025" for Vietnamese readers, ISO for English ones. */
static void format_date(const char *iso, enum fld_lang lang,
                        struct fld_buf *out)
{
    if (lang == FLD_LANG_VI && strlen(iso) == 10)
        fld_buf_printf(out, "%.2s/%.2s/%.4s", iso + 8, iso + 5, iso);
    else
        fld_buf_puts(out, iso);
}

static struct srv_ratio tier_ratio(const struct srv_report_tier *t)
{
    struct srv_ratio r = {t->count[SRV_TIER_MET], t->total};

    return r;
}

/* ---- JSON ---------------------------------------------------------------- */

static struct fld_json *text_json(const struct fld_text *t)
{
    struct fld_json *o = fld_json_object();

    fld_json_set(o, "vi", fld_json_string(t->vi ? t->vi : ""));
    if (t->en != NULL)
        fld_json_set(o, "en", fld_json_string(t->en));
    return o;
}

static struct fld_json *unit_json(const struct srv_report_unit *u)
{
    struct fld_json *o = fld_json_object();

    fld_json_set(o, "code", fld_json_string(u->code));
    fld_json_set(o, "name", fld_json_string(u->name));
    return o;
}

static struct fld_json *tier_json(const struct srv_report_tier *t)
{
    struct fld_json *o = fld_json_object();

    fld_json_set(o, "code", fld_json_string(t->code));
    fld_json_set(o, "label", text_json(&t->label));
    fld_json_set(o, "kind", fld_json_string(t->kind));
    fld_json_set(o, "met", fld_json_int(t->count[SRV_TIER_MET]));
    fld_json_set(o, "not_met", fld_json_int(t->count[SRV_TIER_NOT_MET]));
    fld_json_set(o, "unknown", fld_json_int(t->count[SRV_TIER_UNKNOWN]));
    fld_json_set(o, "not_assessed",
                 fld_json_int(t->count[SRV_TIER_NOT_ASSESSED]));
    fld_json_set(o, "total", fld_json_int(t->total));
    fld_json_set(o, "share_tenths",
                 fld_json_int(srv_share_tenths(tier_ratio(t))));
    if (t->has_target) {
        struct fld_json *g = fld_json_object();
        int64_t left = t->target - t->count[SRV_TIER_MET];

        fld_json_set(g, "count", fld_json_int(t->target));
        fld_json_set(g, "remaining", fld_json_int(left > 0 ? left : 0));
        if (t->target_due)
            fld_json_set(g, "due", fld_json_string(t->target_due));
        if (t->target_source)
            fld_json_set(g, "source", fld_json_string(t->target_source));
        fld_json_set(o, "target", g);
    }
    return o;
}

static struct fld_json *localities_json(const struct srv_report *r)
{
    struct fld_json *arr = fld_json_array();
    size_t i, k;

    for (i = 0; i < r->n_localities; i++) {
        const struct srv_report_locality *l = &r->localities[i];
        struct fld_json *o = fld_json_object(), *tiers = fld_json_object();

        fld_json_set(o, "code", fld_json_string(l->code));
        fld_json_set(o, "name", fld_json_string(l->name));
        for (k = 0; k < r->n_tiers; k++) {
            struct fld_json *c = fld_json_object();

            fld_json_set(c, "met", fld_json_int(l->tiers[k].n));
            fld_json_set(c, "total", fld_json_int(l->tiers[k].total));
            fld_json_set(tiers, r->tiers[k].code, c);
        }
        fld_json_set(o, "tiers", tiers);
        fld_json_append(arr, o);
    }
    return arr;
}

static struct fld_json *criteria_json(const struct srv_report *r)
{
    struct fld_json *arr = fld_json_array();
    size_t i, k;

    for (i = 0; i < r->n_criteria; i++) {
        const struct srv_report_criteria *c = &r->criteria[i];
        struct fld_json *o = fld_json_object(), *list = fld_json_array();

        fld_json_set(o, "tier", fld_json_string(c->tier));
        fld_json_set(o, "template", fld_json_string(c->template_id));
        fld_json_set(o, "units", fld_json_int(c->n_units));
        for (k = 0; k < c->n; k++) {
            struct fld_json *e = fld_json_object();

            fld_json_set(e, "code", fld_json_string(c->c[k].code));
            fld_json_set(e, "name", text_json(&c->c[k].name));
            fld_json_set(e, "met", fld_json_int(c->c[k].met));
            fld_json_set(e, "not_met", fld_json_int(c->c[k].not_met));
            fld_json_set(e, "unknown", fld_json_int(c->c[k].unknown));
            fld_json_append(list, e);
        }
        fld_json_set(o, "criteria", list);
        fld_json_append(arr, o);
    }
    return arr;
}

static const char *const state_keys[] = {"met", "not_met", "unknown",
                                         "not_assessed"};

static struct fld_json *misses_json(const struct srv_report *r)
{
    struct fld_json *arr = fld_json_array();
    size_t i;

    for (i = 0; i < r->n_misses; i++) {
        const struct srv_report_miss *m = &r->misses[i];
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "tier", fld_json_string(m->tier));
        fld_json_set(o, "code", fld_json_string(m->code));
        fld_json_set(o, "name", fld_json_string(m->name));
        fld_json_set(o, "state", fld_json_string(state_keys[m->state]));
        fld_json_set(o, "not_met", fld_json_string(m->not_met));
        fld_json_set(o, "unknown", fld_json_string(m->unknown));
        fld_json_append(arr, o);
    }
    return arr;
}

struct fld_json *srv_report_json(const struct srv_report *r)
{
    struct fld_json *o = fld_json_object(), *arr = fld_json_array();
    size_t i;

    fld_json_set(o, "unit", unit_json(&r->unit));
    fld_json_set(o, "as_of", fld_json_string(r->as_of));
    fld_json_set(o, "generated_ms", fld_json_int(r->generated_ms));
    fld_json_set(o, "records", fld_json_int(r->n_records));
    fld_json_set(o, "approved", fld_json_int(r->n_approved));
    for (i = 0; i < r->n_tiers; i++)
        fld_json_append(arr, tier_json(&r->tiers[i]));
    fld_json_set(o, "tiers", arr);
    fld_json_set(o, "localities", localities_json(r));
    fld_json_set(o, "criteria", criteria_json(r));
    fld_json_set(o, "missing", misses_json(r));
    arr = fld_json_array();
    for (i = 0; i < r->n_excluded; i++)
        fld_json_append(arr, unit_json(&r->excluded[i]));
    fld_json_set(o, "not_in_programme", arr);
    return o;
}

/* ---- text ---------------------------------------------------------------- */

/* Columns count characters, not bytes: Vietnamese text is NFC, one code
 * point per letter. */
static size_t width_of(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void pad(FILE *out, const char *s, size_t width, bool right)
{
    size_t w = width_of(s);

    if (right)
        for (; w < width; w++)
            fputc(' ', out);
    fputs(s, out);
    if (!right)
        for (; w < width; w++)
            fputc(' ', out);
}

static const char *label_of(const struct fld_text *t, enum fld_lang lang)
{
    return lang == FLD_LANG_EN && t->en ? t->en : t->vi;
}

static void text_head(const struct srv_report *r, enum fld_lang lang, FILE *out)
{
    struct fld_buf b = FLD_BUF_INIT;
    char when[32];
    time_t secs = (time_t)(r->generated_ms / 1000);
    struct tm tm;

    localtime_r(&secs, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    fprintf(out, "%s — %s (%s)\n",
            tr(lang, "BÁO CÁO TIẾN ĐỘ XÂY DỰNG NÔNG THÔN MỚI",
               "NEW RURAL DEVELOPMENT PROGRESS REPORT"),
            r->unit.name, r->unit.code);
    format_date(r->as_of, lang, &b);
    fprintf(out, "%s %s %s; %s %s\n",
            tr(lang, "Tính đến hết ngày", "As of the end of"), fld_buf_str(&b),
            tr(lang, "(theo thời điểm máy chủ nhận)",
               "(by the time the server received each version)"),
            tr(lang, "lập lúc", "made"), when);
    fld_buf_reset(&b);
    fld_format_count(r->n_approved, lang, &b);
    fld_buf_puts(&b, lang == FLD_LANG_EN ? " approved of " : " đã duyệt / ");
    fld_format_count(r->n_records, lang, &b);
    fprintf(out, "%s: %s\n\n", tr(lang, "Hồ sơ", "Records"), fld_buf_str(&b));
    fld_buf_free(&b);
}

static void text_tiers(const struct srv_report *r, enum fld_lang lang,
                       FILE *out)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i, w = 12;

    for (i = 0; i < r->n_tiers; i++)
        if (width_of(label_of(&r->tiers[i].label, lang)) > w)
            w = width_of(label_of(&r->tiers[i].label, lang));
    pad(out, tr(lang, "Mức đạt chuẩn", "Tier"), w, false);
    fprintf(out, "  %13s  %7s  %s\n", tr(lang, "Đạt", "Met"),
            tr(lang, "Tỷ lệ", "Share"), tr(lang, "Mục tiêu", "Target"));
    for (i = 0; i < r->n_tiers; i++) {
        const struct srv_report_tier *t = &r->tiers[i];

        pad(out, label_of(&t->label, lang), w, false);
        fld_buf_reset(&b);
        format_ratio(tier_ratio(t), lang, &b);
        fputs("  ", out);
        pad(out, fld_buf_str(&b), 13, true);
        fld_buf_reset(&b);
        srv_format_share(tier_ratio(t), lang, &b);
        fputs("  ", out);
        pad(out, fld_buf_str(&b), 7, true);
        if (t->has_target) {
            int64_t left = t->target - t->count[SRV_TIER_MET];

            fld_buf_reset(&b);
            fld_format_count(t->target, lang, &b);
            fprintf(out, "  ≥ %s", fld_buf_str(&b));
            if (left > 0 && lang == FLD_LANG_EN)
                fprintf(out, " (%" PRId64 " to go)", left);
            else if (left > 0)
                fprintf(out, " (còn %" PRId64 ")", left);
            else
                fputs(tr(lang, " (đã đạt)", " (reached)"), out);
        }
        fputc('\n', out);
        if (t->count[SRV_TIER_NOT_MET] + t->count[SRV_TIER_UNKNOWN] +
                t->count[SRV_TIER_NOT_ASSESSED] >
            0)
            fprintf(out,
                    "%*s  %s %" PRId64 ", %s %" PRId64 ", %s %" PRId64 "\n",
                    (int)w, "", srv_tier_state_name(SRV_TIER_NOT_MET, lang),
                    t->count[SRV_TIER_NOT_MET],
                    srv_tier_state_name(SRV_TIER_UNKNOWN, lang),
                    t->count[SRV_TIER_UNKNOWN],
                    srv_tier_state_name(SRV_TIER_NOT_ASSESSED, lang),
                    t->count[SRV_TIER_NOT_ASSESSED]);
    }
    fld_buf_free(&b);
}

static void text_localities(const struct srv_report *r, enum fld_lang lang,
                            FILE *out)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i, k, w = 10;

    if (r->n_localities == 0)
        return;
    for (i = 0; i < r->n_localities; i++) {
        size_t lw = width_of(r->localities[i].name) +
                    width_of(r->localities[i].code) + 3;

        w = lw > w ? lw : w;
    }
    fprintf(out, "\n%s\n", tr(lang, "Theo địa bàn", "By locality"));
    pad(out, "", w, false);
    for (k = 0; k < r->n_tiers; k++) {
        fputs("  ", out);
        pad(out, r->tiers[k].code, 16, true);
    }
    fputc('\n', out);
    for (i = 0; i < r->n_localities; i++) {
        const struct srv_report_locality *l = &r->localities[i];

        fld_buf_reset(&b);
        fld_buf_printf(&b, "%s (%s)", l->name, l->code);
        pad(out, fld_buf_str(&b), w, false);
        for (k = 0; k < r->n_tiers; k++) {
            fld_buf_reset(&b);
            format_ratio(l->tiers[k], lang, &b);
            fputs("  ", out);
            pad(out, fld_buf_str(&b), 16, true);
        }
        fputc('\n', out);
    }
    fld_buf_free(&b);
}

static void text_criteria(const struct srv_report *r, enum fld_lang lang,
                          FILE *out)
{
    size_t i, k, w;

    for (i = 0; i < r->n_criteria; i++) {
        const struct srv_report_criteria *c = &r->criteria[i];

        fprintf(out, "\n%s %s (%s), %" PRId64 " %s\n",
                tr(lang, "Theo tiêu chí —", "By criterion —"), c->tier,
                c->template_id, c->n_units, tr(lang, "đơn vị", "units"));
        for (w = 10, k = 0; k < c->n; k++) {
            size_t cw = width_of(label_of(&c->c[k].name, lang)) +
                        width_of(c->c[k].code) + 1;

            w = cw > w ? cw : w;
        }
        pad(out, "", w, false);
        /* pad() counts display columns: printf's %9s counts UTF-8 bytes */
        fputs("  ", out);
        pad(out, tr(lang, "đạt", "met"), 9, true);
        fputs("  ", out);
        pad(out, tr(lang, "không đạt", "not met"), 9, true);
        fputs("  ", out);
        pad(out, tr(lang, "chưa rõ", "unknown"), 9, true);
        fputc('\n', out);
        for (k = 0; k < c->n; k++) {
            struct fld_buf b = FLD_BUF_INIT;

            fld_buf_printf(&b, "%s %s", c->c[k].code,
                           label_of(&c->c[k].name, lang));
            pad(out, fld_buf_str(&b), w, false);
            fprintf(out, "  %9" PRId64 "  %9" PRId64 "  %9" PRId64 "\n",
                    c->c[k].met, c->c[k].not_met, c->c[k].unknown);
            fld_buf_free(&b);
        }
    }
}

static void text_misses(const struct srv_report *r, enum fld_lang lang,
                        FILE *out)
{
    const char *tier = NULL;
    size_t i;

    if (r->n_misses > 0)
        fprintf(out, "\n%s\n",
                tr(lang, "Đơn vị chưa đạt", "Units that miss a tier"));
    for (i = 0; i < r->n_misses; i++) {
        const struct srv_report_miss *m = &r->misses[i];

        if (tier == NULL || strcmp(tier, m->tier) != 0) {
            tier = m->tier;
            fprintf(out, "%s:\n", tier);
        }
        fprintf(out, "  %s %s — %s", m->code, m->name,
                srv_tier_state_name(m->state, lang));
        if (m->not_met[0])
            fprintf(out, "; %s: %s", tr(lang, "không đạt", "not met"),
                    m->not_met);
        if (m->unknown[0])
            fprintf(out, "; %s: %s", tr(lang, "chưa rõ", "unknown"),
                    m->unknown);
        fputc('\n', out);
    }
    for (i = 0; i < r->n_excluded; i++)
        fprintf(out, "%s%s (%s)",
                i == 0 ? tr(lang, "\nKhông tham gia chương trình: ",
                            "\nNot taking part in the programme: ")
                       : ", ",
                r->excluded[i].name, r->excluded[i].code);
    if (r->n_excluded > 0)
        fputc('\n', out);
}

void srv_report_write_text(const struct srv_report *r, enum fld_lang lang,
                           FILE *out)
{
    text_head(r, lang, out);
    text_tiers(r, lang, out);
    text_localities(r, lang, out);
    text_criteria(r, lang, out);
    text_misses(r, lang, out);
}

/* ---- CSV ----------------------------------------------------------------- */

/*
 * One table of 9 columns, so that one file opens in any spreadsheet:
 *   part, tier, code, name, met, total, share, not_met, unknown
 * part is "tier", "locality", "criterion", "missing" or "excluded"; a
 * column a part does not use is empty. Numbers are plain digits (a CSV is
 * for machines); the share is written as the text would, in lang.
 */
static void csv_line(struct fld_buf *out, const char *part, const char *tier,
                     const char *code, const char *name, const char *met,
                     const char *total, const char *share, const char *not_met,
                     const char *unknown)
{
    const char *f[] = {part,  tier,  code,    name,    met,
                       total, share, not_met, unknown, NULL};

    fld_csv_row(out, f, true);
}

static char *num(char buf[24], int64_t n)
{
    snprintf(buf, 24, "%" PRId64, n);
    return buf;
}

void srv_report_write_csv(const struct srv_report *r, enum fld_lang lang,
                          struct fld_buf *out)
{
    struct fld_buf share = FLD_BUF_INIT;
    char a[24], b[24], c[24], d[24];
    size_t i, k;

    csv_line(out, "part", "tier", "code", "name", "met", "total", "share",
             "not_met", "unknown");
    for (i = 0; i < r->n_tiers; i++) {
        const struct srv_report_tier *t = &r->tiers[i];

        fld_buf_reset(&share);
        srv_format_share(tier_ratio(t), lang, &share);
        csv_line(out, "tier", t->code, r->unit.code, label_of(&t->label, lang),
                 num(a, t->count[SRV_TIER_MET]), num(b, t->total),
                 fld_buf_str(&share), num(c, t->count[SRV_TIER_NOT_MET]),
                 num(d, t->count[SRV_TIER_UNKNOWN]));
    }
    for (i = 0; i < r->n_localities; i++)
        for (k = 0; k < r->n_tiers; k++) {
            const struct srv_report_locality *l = &r->localities[i];

            fld_buf_reset(&share);
            srv_format_share(l->tiers[k], lang, &share);
            csv_line(out, "locality", r->tiers[k].code, l->code, l->name,
                     num(a, l->tiers[k].n), num(b, l->tiers[k].total),
                     fld_buf_str(&share), "", "");
        }
    for (i = 0; i < r->n_criteria; i++)
        for (k = 0; k < r->criteria[i].n; k++) {
            const struct srv_report_criterion *e = &r->criteria[i].c[k];
            struct srv_ratio q = {e->met, r->criteria[i].n_units};

            fld_buf_reset(&share);
            srv_format_share(q, lang, &share);
            csv_line(out, "criterion", r->criteria[i].tier, e->code,
                     label_of(&e->name, lang), num(a, e->met),
                     num(b, r->criteria[i].n_units), fld_buf_str(&share),
                     num(c, e->not_met), num(d, e->unknown));
        }
    for (i = 0; i < r->n_misses; i++)
        csv_line(out, "missing", r->misses[i].tier, r->misses[i].code,
                 r->misses[i].name, state_keys[r->misses[i].state], "", "",
                 r->misses[i].not_met, r->misses[i].unknown);
    for (i = 0; i < r->n_excluded; i++)
        csv_line(out, "excluded", "", r->excluded[i].code, r->excluded[i].name,
                 "", "", "", "", "");
    fld_buf_free(&share);
}

/* ---- XLSX ---------------------------------------------------------------- */

struct book {
    lxw_workbook *wb;
    lxw_format *bold, *share, *title;
    enum fld_lang lang;
};

static lxw_worksheet *sheet(struct book *bk, const char *vi, const char *en,
                            const char *const *heads_vi,
                            const char *const *heads_en)
{
    lxw_worksheet *ws = workbook_add_worksheet(bk->wb, tr(bk->lang, vi, en));
    const char *const *h = bk->lang == FLD_LANG_EN ? heads_en : heads_vi;
    lxw_col_t col;

    for (col = 0; h[col] != NULL; col++) {
        worksheet_write_string(ws, 0, col, h[col], bk->bold);
        worksheet_set_column(ws, col, col, col == 1 ? 40 : 14, NULL);
    }
    worksheet_freeze_panes(ws, 1, 0);
    return ws;
}

/* A share as a number of percent with one decimal (40.8), or blank. */
static void write_share(struct book *bk, lxw_worksheet *ws, lxw_row_t row,
                        lxw_col_t col, struct srv_ratio r)
{
    int64_t t = srv_share_tenths(r);

    if (t >= 0)
        worksheet_write_number(ws, row, col, (double)t / 10.0, bk->share);
}

static void xlsx_tiers(struct book *bk, const struct srv_report *r)
{
    static const char *const vi[] = {
        "Mã",        "Mức đạt chuẩn", "Đạt",     "Tổng số",
        "Tỷ lệ (%)", "Không đạt",     "Chưa rõ", "Chưa đánh giá",
        "Mục tiêu",  "Còn thiếu",     NULL};
    static const char *const en[] = {
        "Code",    "Tier",         "Met",    "Total", "Share (%)", "Not met",
        "Unknown", "Not assessed", "Target", "To go", NULL};
    lxw_worksheet *ws = sheet(bk, "Tổng hợp", "Summary", vi, en);
    size_t i;

    for (i = 0; i < r->n_tiers; i++) {
        const struct srv_report_tier *t = &r->tiers[i];
        lxw_row_t row = (lxw_row_t)(i + 1);

        worksheet_write_string(ws, row, 0, t->code, NULL);
        worksheet_write_string(ws, row, 1, label_of(&t->label, bk->lang), NULL);
        worksheet_write_number(ws, row, 2, (double)t->count[SRV_TIER_MET],
                               NULL);
        worksheet_write_number(ws, row, 3, (double)t->total, NULL);
        write_share(bk, ws, row, 4, tier_ratio(t));
        worksheet_write_number(ws, row, 5, (double)t->count[SRV_TIER_NOT_MET],
                               NULL);
        worksheet_write_number(ws, row, 6, (double)t->count[SRV_TIER_UNKNOWN],
                               NULL);
        worksheet_write_number(ws, row, 7,
                               (double)t->count[SRV_TIER_NOT_ASSESSED], NULL);
        if (t->has_target) {
            int64_t left = t->target - t->count[SRV_TIER_MET];

            worksheet_write_number(ws, row, 8, (double)t->target, NULL);
            worksheet_write_number(ws, row, 9, (double)(left > 0 ? left : 0),
                                   NULL);
        }
    }
}

static void xlsx_localities(struct book *bk, const struct srv_report *r)
{
    static const char *const vi[] = {
        "Mã", "Địa bàn", "Mức đạt chuẩn", "Đạt", "Tổng số", "Tỷ lệ (%)", NULL};
    static const char *const en[] = {"Code",  "Locality",  "Tier", "Met",
                                     "Total", "Share (%)", NULL};
    lxw_worksheet *ws = sheet(bk, "Theo địa bàn", "By locality", vi, en);
    lxw_row_t row = 1;
    size_t i, k;

    for (i = 0; i < r->n_localities; i++)
        for (k = 0; k < r->n_tiers; k++, row++) {
            const struct srv_report_locality *l = &r->localities[i];

            worksheet_write_string(ws, row, 0, l->code, NULL);
            worksheet_write_string(ws, row, 1, l->name, NULL);
            worksheet_write_string(ws, row, 2, r->tiers[k].code, NULL);
            worksheet_write_number(ws, row, 3, (double)l->tiers[k].n, NULL);
            worksheet_write_number(ws, row, 4, (double)l->tiers[k].total, NULL);
            write_share(bk, ws, row, 5, l->tiers[k]);
        }
}

static void xlsx_criteria(struct book *bk, const struct srv_report *r)
{
    static const char *const vi[] = {"Mã",        "Tiêu chí",  "Mức đạt chuẩn",
                                     "Đạt",       "Không đạt", "Chưa rõ",
                                     "Số đơn vị", NULL};
    static const char *const en[] = {"Code",    "Criterion", "Tier",  "Met",
                                     "Not met", "Unknown",   "Units", NULL};
    lxw_worksheet *ws = sheet(bk, "Theo tiêu chí", "By criterion", vi, en);
    lxw_row_t row = 1;
    size_t i, k;

    for (i = 0; i < r->n_criteria; i++)
        for (k = 0; k < r->criteria[i].n; k++, row++) {
            const struct srv_report_criterion *e = &r->criteria[i].c[k];

            worksheet_write_string(ws, row, 0, e->code, NULL);
            worksheet_write_string(ws, row, 1, label_of(&e->name, bk->lang),
                                   NULL);
            worksheet_write_string(ws, row, 2, r->criteria[i].tier, NULL);
            worksheet_write_number(ws, row, 3, (double)e->met, NULL);
            worksheet_write_number(ws, row, 4, (double)e->not_met, NULL);
            worksheet_write_number(ws, row, 5, (double)e->unknown, NULL);
            worksheet_write_number(ws, row, 6, (double)r->criteria[i].n_units,
                                   NULL);
        }
}

static void xlsx_misses(struct book *bk, const struct srv_report *r)
{
    static const char *const vi[] = {"Mã",
                                     "Đơn vị",
                                     "Mức đạt chuẩn",
                                     "Tình trạng",
                                     "Tiêu chí không đạt",
                                     "Tiêu chí chưa rõ",
                                     NULL};
    static const char *const en[] = {
        "Code", "Unit", "Tier", "State", "Criteria not met", "Criteria unknown",
        NULL};
    lxw_worksheet *ws = sheet(bk, "Chưa đạt", "Missing", vi, en);
    size_t i;

    for (i = 0; i < r->n_misses; i++) {
        const struct srv_report_miss *m = &r->misses[i];
        lxw_row_t row = (lxw_row_t)(i + 1);

        worksheet_write_string(ws, row, 0, m->code, NULL);
        worksheet_write_string(ws, row, 1, m->name, NULL);
        worksheet_write_string(ws, row, 2, m->tier, NULL);
        worksheet_write_string(ws, row, 3,
                               srv_tier_state_name(m->state, bk->lang), NULL);
        worksheet_write_string(ws, row, 4, m->not_met, NULL);
        worksheet_write_string(ws, row, 5, m->unknown, NULL);
    }
}

int srv_report_write_xlsx(const struct srv_report *r, enum fld_lang lang,
                          const char *path, struct fld_err *err)
{
    struct book bk;
    lxw_error e;
    int fd;

    /* libxlsxwriter opens path itself and would overwrite a file; make it
     * ours first, so that nothing somebody else made is ever replaced. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
    if (fd < 0)
        return fld_err_set(err, FLD_EIO, "%s: cannot create: %s", path,
                           strerror(errno));
    close(fd);
    memset(&bk, 0, sizeof bk);
    bk.lang = lang;
    bk.wb = workbook_new(path);
    if (bk.wb == NULL) {
        unlink(path);
        return fld_err_set(err, FLD_EIO, "%s: cannot start a workbook", path);
    }
    bk.bold = workbook_add_format(bk.wb);
    format_set_bold(bk.bold);
    bk.share = workbook_add_format(bk.wb);
    format_set_num_format(bk.share, "0.0");
    xlsx_tiers(&bk, r);
    xlsx_localities(&bk, r);
    xlsx_criteria(&bk, r);
    xlsx_misses(&bk, r);
    e = workbook_close(bk.wb);
    if (e != LXW_NO_ERROR) {
        unlink(path);
        return fld_err_set(err, FLD_EIO, "%s: %s", path, lxw_strerror(e));
    }
    return FLD_OK;
}

/* ---- freeing ------------------------------------------------------------- */

static void text_free(struct fld_text *t)
{
    free((char *)t->vi);
    free((char *)t->en);
}

void srv_report_free(struct srv_report *r)
{
    size_t i, k;

    if (r == NULL)
        return;
    free(r->unit.code);
    free(r->unit.name);
    for (i = 0; i < r->n_tiers; i++) {
        free(r->tiers[i].code);
        text_free(&r->tiers[i].label);
        free(r->tiers[i].kind);
        free(r->tiers[i].target_due);
        free(r->tiers[i].target_source);
    }
    free(r->tiers);
    for (i = 0; i < r->n_localities; i++) {
        free(r->localities[i].code);
        free(r->localities[i].name);
        free(r->localities[i].tiers);
    }
    free(r->localities);
    for (i = 0; i < r->n_criteria; i++) {
        for (k = 0; k < r->criteria[i].n; k++) {
            free(r->criteria[i].c[k].code);
            text_free(&r->criteria[i].c[k].name);
        }
        free(r->criteria[i].c);
        free(r->criteria[i].tier);
        free(r->criteria[i].template_id);
    }
    free(r->criteria);
    for (i = 0; i < r->n_misses; i++) {
        free(r->misses[i].tier);
        free(r->misses[i].code);
        free(r->misses[i].name);
        free(r->misses[i].not_met);
        free(r->misses[i].unknown);
    }
    free(r->misses);
    for (i = 0; i < r->n_excluded; i++) {
        free(r->excluded[i].code);
        free(r->excluded[i].name);
    }
    free(r->excluded);
    free(r);
}
