/*
 * merged_export.c - a merged record as the export module takes it
 * (merged_export.h). It only fills a struct: libsync calls nothing of the
 * export module, so linking libsync never pulls libxlsxwriter in.
 */
#include "merged_export.h"

#include <string.h>

void syn_merged_export(const struct syn_merged *m,
                       struct fld_version *const *versions, size_t n_versions,
                       const struct fld_template *t, const char *unit_name,
                       struct fld_export_record *out)
{
    memset(out, 0, sizeof *out);
    out->newest = m->newest;
    out->tmpl = t;
    out->answers = m->answers;
    out->status = m->status;
    out->heads = m->heads;
    out->n_heads = m->n_heads;
    out->n_conflicts = m->n_conflicts;
    out->unit_name = unit_name;
    out->versions = versions;
    out->n_versions = n_versions;
}
