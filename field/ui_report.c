/*
 * ui_report.c - the report screen of `field ui` (see ui_report.h): the
 * fetch is a background job (ui_job.h), as the sync is, so that a server
 * that accepts the connection but never answers holds that thread and
 * never the page; the report itself is kept in the store by
 * cmd_report_fetch() and read from there by whoever asks.
 */
#include "ui_report.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "ui_job.h"

/* A report with more localities than this has each one's district added,
 * for the page to group them (docs/UI.md). */
#define GROUP_MIN 15
/* The longest unit code asked for (bad_unit() checks it). */
#define UNIT_MAX 64
/* A fetch on the thread may wait this long to connect, and this long
 * again for each stall: nobody waits for it, but the stop when `field ui`
 * ends does not have to either. */
#define FETCH_BOUND_S 30

struct fld_ui_report {
    struct fld_ui_job job;   /* first: work() is given the job */
    char unit[UNIT_MAX + 1]; /* written before the run starts */
};

static int work(struct fld_ui_job *j, struct cmd_ctx *ctx)
{
    struct fld_ui_report *r = (struct fld_ui_report *)j;
    struct syn_report_query q = {NULL, NULL, "json", NULL};
    struct fld_buf body = FLD_BUF_INIT;
    int rc;

    q.unit = r->unit[0] ? r->unit : NULL;
    rc = cmd_report_fetch(ctx, &q, FETCH_BOUND_S, &j->stop, &body);
    fld_buf_free(&body);
    return rc;
}

struct fld_ui_report *fld_ui_report_new(const struct cmd_ctx *parent)
{
    struct fld_ui_report *r = fld_xcalloc(1, sizeof *r);

    fld_ui_job_init(&r->job, parent, work);
    return r;
}

static void set_unit(struct fld_ui_job *j, void *arg)
{
    const char *unit = arg;

    snprintf(((struct fld_ui_report *)j)->unit, UNIT_MAX + 1, "%s",
             unit ? unit : "");
}

int fld_ui_report_start(struct fld_ui_report *r, const char *unit)
{
    return fld_ui_job_start(&r->job, set_unit, (void *)unit);
}

/* ---- districts ------------------------------------------------------------
 *
 * Since 1 July 2025 a province's communes stand directly under it, and a
 * province's report lists them all (69 in Hà Tĩnh). People still think of
 * them by the district (huyện) they were in: where the device's units say
 * which one that was (a version of the commune whose parent was a district,
 * kept from before the change), each locality gets it, and the page groups
 * a long chart by it. The report itself is the server's and is not changed.
 */

struct unit_row {
    char *code, *name, *kind, *parent, *from;
};

struct unit_rows {
    struct unit_row *r;
    size_t n, cap;
};

static int keep_row(void *data, const struct fld_unit *u)
{
    struct unit_rows *rs = data;
    struct unit_row *r;

    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 256;
        rs->r = fld_xreallocarray(rs->r, rs->cap, sizeof *rs->r);
    }
    r = &rs->r[rs->n++];
    r->code = fld_xstrdup(u->code);
    r->name = fld_xstrdup(u->name);
    r->kind = fld_xstrdup(u->kind);
    r->parent = u->parent_code ? fld_xstrdup(u->parent_code) : NULL;
    r->from = fld_xstrdup(u->valid_from);
    return 0;
}

static void free_rows(struct unit_rows *rs)
{
    size_t i;

    for (i = 0; i < rs->n; i++) {
        free(rs->r[i].code);
        free(rs->r[i].name);
        free(rs->r[i].kind);
        free(rs->r[i].parent);
        free(rs->r[i].from);
    }
    free(rs->r);
}

static bool is_district_kind(const char *kind)
{
    return strcmp(kind, "huyen") == 0 || strcmp(kind, "thi_xa") == 0 ||
           strcmp(kind, "thanh_pho") == 0 || strcmp(kind, "quan") == 0;
}

/* The newest version of the unit code (rows come by code, then date). */
static const struct unit_row *newest(const struct unit_rows *rs,
                                     const char *code)
{
    const struct unit_row *found = NULL;
    size_t i;

    for (i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].code, code) == 0)
            found = &rs->r[i];
    return found;
}

/* The district code was last in: the parent of its newest version that
 * had a district for parent; NULL when none did. */
static const struct unit_row *district_of(const struct unit_rows *rs,
                                          const char *code)
{
    const struct unit_row *best = NULL, *p;
    size_t i;

    for (i = 0; i < rs->n; i++) {
        if (strcmp(rs->r[i].code, code) != 0 || rs->r[i].parent == NULL)
            continue;
        p = newest(rs, rs->r[i].parent);
        if (p != NULL && is_district_kind(p->kind))
            best = p; /* a later version wins */
    }
    return best;
}

/* Add "district": {code, name} to each locality of report whose district
 * the device's units know, when the report has more than GROUP_MIN. */
static void add_districts(struct cmd_ctx *ctx, struct fld_json *report)
{
    struct fld_json *locs = fld_json_get_mut(report, "localities");
    struct unit_rows rs = {NULL, 0, 0};
    const struct unit_row *d;
    struct fld_json *g;
    const char *code;
    size_t i;

    if (locs == NULL || locs->type != FLD_JSON_ARRAY || locs->n <= GROUP_MIN)
        return;
    if (fld_store_each_unit(ctx->st, keep_row, &rs, NULL) == FLD_OK) {
        for (i = 0; i < locs->n; i++) {
            code = fld_json_get_string(locs->items[i], "code");
            d = code ? district_of(&rs, code) : NULL;
            if (d == NULL)
                continue;
            g = fld_json_object();
            fld_json_set(g, "code", fld_json_string(d->code));
            fld_json_set(g, "name", fld_json_string(d->name));
            fld_json_set(locs->items[i], "district", g);
        }
    }
    free_rows(&rs);
}

/* {report, fetched_ms}: the last report kept (both null when none). */
static struct fld_json *kept_report(struct cmd_ctx *ctx)
{
    struct fld_json *o = fld_json_object(), *doc = NULL;
    char *text = NULL;
    int64_t ms = 0;

    if (fld_store_meta_get(ctx->st, CMD_META_REPORT, &text, NULL) == FLD_OK &&
        fld_json_parse((const uint8_t *)text, strlen(text), &doc, NULL) ==
            FLD_OK &&
        fld_store_meta_get_int(ctx->st, CMD_META_REPORT_MS, &ms, NULL) ==
            FLD_OK) {
        add_districts(ctx, doc);
        fld_json_set(o, "report", doc);
        fld_json_set(o, "fetched_ms", fld_json_int(ms));
    } else {
        fld_json_free(doc);
        fld_json_set(o, "report", fld_json_null());
        fld_json_set(o, "fetched_ms", fld_json_null());
    }
    free(text);
    return o;
}

/* What a failed fetch (rc) means to the page: a stable code and the
 * Vietnamese for it; the English is the message the fetch left. */
static const char *failure_code(int rc, const char **vi)
{
    switch (rc) {
    case FLD_ENET:
    case FLD_EPROTO:
        *vi = "Không kết nối được máy chủ; đang hiện báo cáo đã tải lần trước";
        return "offline";
    case FLD_EINVAL:
        *vi = "Máy chủ từ chối: chỉ thiết bị giám sát hoặc quản trị, trong "
              "phạm vi của mình, xem được báo cáo";
        return "refused";
    case FLD_NOTFOUND:
        *vi = "Chưa đăng ký với máy chủ, hoặc không có đơn vị này";
        return "not_found";
    default:
        *vi = "Không tải được báo cáo";
        return "failed";
    }
}

/* Add the outcome of rc (message) to o: the error shape's members. */
static void set_failure(struct fld_json *o, int rc, const char *message)
{
    const char *vi, *code = failure_code(rc, &vi);

    fld_json_set(o, "error", fld_json_string(code));
    fld_json_set(o, "message_vi", fld_json_string(vi));
    fld_json_set(o, "message_en", fld_json_string(message));
}

struct fld_json *fld_ui_report_state(struct fld_ui_report *r,
                                     struct cmd_ctx *ctx)
{
    struct fld_json *o = kept_report(ctx);
    struct fld_ui_job_state js;

    fld_ui_job_lock(&r->job);
    fld_ui_job_copy(&r->job, &js);
    fld_ui_job_unlock(&r->job);
    fld_ui_job_state_json(&js, o);
    if (js.ran && !js.running && js.rc != FLD_OK)
        set_failure(o, js.rc, js.message);
    return o;
}

/* The unit asked for: a unit code, or absent. */
static bool bad_unit(const char *unit, struct fld_ui_reply *reply)
{
    if (unit == NULL || unit[0] == '\0' ||
        (strlen(unit) <= UNIT_MAX &&
         strspn(unit, "0123456789ABCDEFGHIJKLMNOPQRSTU"
                      "VWXYZabcdefghijklmnopqrstuvwxyz"
                      "-_.") == strlen(unit)))
        return false;
    fld_ui_reply_error(reply, 400, "bad_request", "Mã đơn vị không hợp lệ",
                       "unit is not a unit code", "unit");
    return true;
}

/* The server's workbook, passed through for the browser to save. The HTTP
 * thread waits for it, so its wait is bounded (FLD_UI_XLSX_BOUND_S). */
static void report_xlsx(struct cmd_ctx *ctx, const char *unit,
                        struct fld_ui_reply *reply)
{
    struct syn_report_query q = {NULL, NULL, "xlsx", NULL};
    struct fld_json *o;
    int rc;

    q.unit = unit && unit[0] ? unit : NULL;
    fld_err_clear(&ctx->err);
    fld_buf_reset(&reply->body);
    rc = cmd_report_fetch(ctx, &q, FLD_UI_XLSX_BOUND_S, NULL, &reply->body);
    if (rc != FLD_OK) {
        o = fld_json_object();
        set_failure(o, rc, ctx->err.msg[0] ? ctx->err.msg : fld_strerror(rc));
        fld_ui_reply_json(reply,
                          rc == FLD_ENET || rc == FLD_EPROTO ? 503
                          : rc == FLD_EINVAL                 ? 403
                          : rc == FLD_NOTFOUND               ? 404
                                                             : 500,
                          o);
        return;
    }
    reply->status = 200;
    reply->type = "application/vnd.openxmlformats-officedocument."
                  "spreadsheetml.sheet";
    reply->filename = "bao-cao.xlsx";
}

void fld_ui_report_handle(struct fld_ui_report *r, struct cmd_ctx *ctx,
                          bool is_post, const char *path, const char *unit,
                          struct fld_ui_reply *out)
{
    bool is_xlsx = strcmp(path, "/api/report.xlsx") == 0;

    if (is_xlsx && is_post) {
        fld_ui_reply_error(out, 404, "not_found", "Không có địa chỉ này",
                           "no such API endpoint: POST /api/report.xlsx", NULL);
        return;
    }
    if (!is_post && !is_xlsx) {
        fld_ui_reply_json(out, 200, fld_ui_report_state(r, ctx));
        return;
    }
    if (bad_unit(unit, out))
        return;
    if (fld_ui_job_refuse_unenrolled(ctx, out))
        return;
    if (is_xlsx) {
        report_xlsx(ctx, unit, out);
        return;
    }
    if (fld_ui_report_start(r, unit) == FLD_EBUSY) {
        fld_ui_reply_error(out, 409, "report_running",
                           "Đang tải báo cáo; hãy chờ lần này xong",
                           "the report is being fetched; wait for it", NULL);
        return;
    }
    fld_ui_reply_json(out, 202, fld_ui_report_state(r, ctx));
}

void fld_ui_report_free(struct fld_ui_report *r)
{
    if (r == NULL)
        return;
    fld_ui_job_end(&r->job);
    free(r);
}
