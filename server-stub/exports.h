/*
 * exports.h - the server's records for an office and a map: the formats of
 * `field export` (field/export.h: JSON, CSV, XLSX, GeoJSON), written from
 * what the server holds, each record shown as the merge of every version
 * stored of it (record.h).
 *
 *   GET /v1/export?format=F&template=ID&status=S&unit=CODE&lang=vi|en
 *       a supervisor's or administrator's device, the records of its scope
 *   field-server export --format F [...] --output FILE
 *       the administrator, every record
 *
 * docs/PROTOCOL.md gives the endpoint's answers, docs/FORMATS.md the
 * layouts.
 */
#ifndef SRV_EXPORTS_H
#define SRV_EXPORTS_H

#include <stdint.h>

#include "api.h"
#include "buf.h"
#include "err.h"
#include "export.h"
#include "storage.h"

/*
 * Records one request may export. Every record is read, verified and
 * merged while an HTTP worker waits, and the whole answer is built in
 * memory: a request that would take more is refused, and the office
 * narrows it by unit or template (a province is a few thousand records of
 * a template; the administrator's command has no limit).
 */
#define SRV_EXPORT_MAX_RECORDS 10000

struct srv_export_query {
    enum fld_export_format format;
    enum fld_lang lang;
    const char *template_id; /* NULL: any (CSV: the first record's) */
    const char *status;      /* NULL: any; else draft, final, approved,
                                rejected or returned */
    const char *unit;        /* NULL: every unit the device may see */
    /* Whose scope limits the records: a supervisor sees its units and
     * those below them, an administrator every unit; NULL (the
     * administrator's command) sees every unit. */
    const struct srv_device *device;
    int64_t max_records; /* records matching unit and template; 0: no limit */
};

/*
 * Append the export q asks for to out, and the number of records in it to
 * *n_records (may be NULL). FLD_NOTFOUND for an unknown unit, FLD_EUSAGE
 * for an unknown status or CSV records of several templates, FLD_ELIMIT
 * beyond q->max_records, FLD_ECORRUPT when a stored version does not
 * verify; storage's codes otherwise. The unit's place in the device's
 * scope is the caller's to check (srv_export_answer does).
 */
int srv_export(struct srv_storage *st, const struct srv_export_query *q,
               struct fld_buf *out, size_t *n_records, struct fld_err *err);

/*
 * GET /v1/export for device d, whose request passed the gate: query is the
 * request's query text (query.h; NULL for none). Fills resp: 200 with the
 * file, or a JSON refusal (403 forbidden for an inspector's device, 403
 * out_of_scope for a unit outside d's scope, 400 for a bad parameter or
 * format, 404 for an unknown unit, 400 too_many_records beyond
 * SRV_EXPORT_MAX_RECORDS).
 */
void srv_export_answer(struct srv_storage *st, const struct srv_device *d,
                       const char *query, struct srv_response *resp);

#endif
