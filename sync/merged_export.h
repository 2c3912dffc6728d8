/*
 * merged_export.h - a merged record (merge.h) as the export module takes
 * it (field/export.h): the one place that knows both, so that the device
 * (field export) and the server (GET /v1/export) hand the exporter the
 * same view of a record.
 */
#ifndef SYN_MERGED_EXPORT_H
#define SYN_MERGED_EXPORT_H

#include <stddef.h>

#include "export.h"
#include "merge.h"

/*
 * Fill *out with what m shows: its newest head, answers, status, heads and
 * conflicts; versions are the record's versions (listed by a JSON export),
 * t the template m->newest names, unit_name the subject's name or NULL.
 * Everything is borrowed: m, versions, t and unit_name must outlive *out.
 */
void syn_merged_export(const struct syn_merged *m,
                       struct fld_version *const *versions, size_t n_versions,
                       const struct fld_template *t, const char *unit_name,
                       struct fld_export_record *out);

#endif
