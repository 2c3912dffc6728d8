/*
 * api_report.c - GET /v1/report: the progress report for a supervisor's or
 * an administrator's device, within its scope (docs/PROTOCOL.md).
 *
 * Decisions:
 *   - A GET whose query the request signature covers (query.h), as
 *     GET /v1/export: what unit a report is about is exactly what nobody
 *     on the way may change.
 *   - Supervisors and admins only: an inspector collects, a supervisor
 *     reads figures. A unit outside the device's scope is refused (403)
 *     rather than silently cut down: a figure that quietly leaves out part
 *     of what was asked would be read as the whole.
 *   - The same report (report.c) in the same layouts as the command line;
 *     the XLSX goes through a private temporary folder because
 *     libxlsxwriter writes files, not memory, in the version Debian ships.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "norm.h"
#include "query.h"
#include "report.h"
#include "storage.h"
#include "version.h"

#define XLSX_TYPE                                                              \
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#define XLSX_MAX (64 * 1024 * 1024)

/* What the query asked for; every parameter optional. */
struct report_req {
    char *unit;
    char *as_of;
    enum { AS_JSON, AS_CSV, AS_XLSX } format;
    enum fld_lang lang;
};

/* Read the query into q; 0, or -1 with resp holding a 400. */
static int read_request(const char *query, struct report_req *q,
                        struct srv_response *resp)
{
    static const char *const params[] = {"unit", "as_of", "format", "lang",
                                         NULL};
    const char *unit, *as_of, *format, *lang;
    struct srv_query pq;
    struct fld_err err;
    const char *bad = NULL;

    memset(q, 0, sizeof *q);
    fld_err_clear(&err);
    if (srv_query_parse(query, params, &pq, &err) != FLD_OK) {
        srv_api_error(resp, 400, "bad_request", err.msg, -1);
        srv_query_free(&pq);
        return -1;
    }
    unit = srv_query_get(&pq, "unit");
    as_of = srv_query_get(&pq, "as_of");
    format = srv_query_get(&pq, "format");
    lang = srv_query_get(&pq, "lang");
    if (format != NULL && strcmp(format, "csv") == 0)
        q->format = AS_CSV;
    else if (format != NULL && strcmp(format, "xlsx") == 0)
        q->format = AS_XLSX;
    else if (format != NULL && strcmp(format, "json") != 0)
        bad = "format must be json, csv or xlsx";
    else if (lang != NULL && strcmp(lang, "vi") != 0 && strcmp(lang, "en") != 0)
        bad = "lang must be vi or en";
    else if (as_of != NULL && fld_norm_date(as_of, &q->as_of, NULL) != FLD_OK)
        bad = "as_of must be a date (YYYY-MM-DD)";
    else if (unit != NULL && !fld_is_code(unit))
        bad = "unit is not a unit code";
    if (bad == NULL) {
        q->lang =
            lang != NULL && strcmp(lang, "en") == 0 ? FLD_LANG_EN : FLD_LANG_VI;
        q->unit = unit ? fld_xstrdup(unit) : NULL;
    } else {
        srv_api_error(resp, 400, "bad_request", bad, -1);
    }
    srv_query_free(&pq);
    return bad == NULL ? 0 : -1;
}

/*
 * The unit a device may have a report of: the one it named, if its scope
 * holds it; by default the top for an admin and its only scope unit for a
 * supervisor (one with several must name one). 0, or -1 with resp set.
 */
static int choose_unit(struct srv_storage *st, const struct srv_device *dev,
                       struct report_req *q, struct srv_response *resp)
{
    if (strcmp(dev->role, "admin") == 0)
        return 0;
    if (q->unit == NULL && dev->n_scope == 1)
        q->unit = fld_xstrdup(dev->scope[0]);
    if (q->unit == NULL) {
        srv_api_error(resp, 400, "bad_request",
                      "this device's scope has several units: name one with "
                      "unit=CODE",
                      -1);
        return -1;
    }
    return srv_api_check_scope(st, dev, q->unit, resp);
}

/* The workbook, written where nobody else can reach, then read back. */
static int xlsx_body(const struct srv_report *r, enum fld_lang lang,
                     struct fld_buf *out, struct fld_err *err)
{
    char dir[] = "/tmp/field-report.XXXXXX";
    char path[sizeof dir + 16];
    uint8_t *data = NULL;
    size_t len = 0;
    int rc;

    if (mkdtemp(dir) == NULL)
        return fld_err_set(err, FLD_EIO, "cannot make a temporary folder");
    snprintf(path, sizeof path, "%s/report.xlsx", dir);
    rc = srv_report_write_xlsx(r, lang, path, err);
    if (rc == FLD_OK)
        rc = fld_file_read(path, XLSX_MAX, &data, &len, err);
    if (rc == FLD_OK)
        fld_buf_append(out, data, len);
    free(data);
    unlink(path);
    rmdir(dir);
    return rc;
}

void srv_api_report(struct srv_storage *st, const struct srv_device *dev,
                    const char *query, struct srv_response *resp)
{
    struct report_req q;
    struct srv_report *r = NULL;
    struct fld_err err;
    char today[11];
    int rc;

    fld_err_clear(&err);
    if (strcmp(dev->role, "supervisor") != 0 &&
        strcmp(dev->role, "admin") != 0) {
        srv_api_error(resp, 403, "forbidden",
                      "reports are for supervisors' and administrators' "
                      "devices",
                      -1);
        return;
    }
    if (read_request(query, &q, resp) != 0)
        goto out;
    if (choose_unit(st, dev, &q, resp) != 0)
        goto out;
    if (q.as_of == NULL) {
        srv_report_today(today);
        q.as_of = fld_xstrdup(today);
    }
    rc = srv_report_build(st, q.unit, q.as_of, &r, &err);
    if (rc == FLD_NOTFOUND) {
        srv_api_error(resp, 404, "unknown_unit", err.msg, -1);
        goto out;
    }
    if (rc == FLD_EUSAGE) {
        srv_api_error(resp, 400, "bad_request", err.msg, -1);
        goto out;
    }
    fld_buf_reset(&resp->body);
    if (rc == FLD_OK && q.format == AS_XLSX) {
        rc = xlsx_body(r, q.lang, &resp->body, &err);
        resp->content_type = XLSX_TYPE;
    } else if (rc == FLD_OK && q.format == AS_CSV) {
        srv_report_write_csv(r, q.lang, &resp->body);
        resp->content_type = "text/csv; charset=utf-8";
    } else if (rc == FLD_OK) {
        struct fld_json *doc = srv_report_json(r);

        rc = fld_json_write(doc, &resp->body, &err);
        fld_json_free(doc);
        resp->content_type = "application/json";
    }
    if (rc != FLD_OK) {
        srv_api_failure(resp, rc, &err);
        goto out;
    }
    resp->status = 200;
out:
    srv_report_free(r);
    free(q.unit);
    free(q.as_of);
}
