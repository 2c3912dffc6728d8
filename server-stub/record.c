/*
 * record.c - a record as the server shows it (record.h): its stored
 * versions, verified on the way out of storage, and their merge.
 *
 * Where it sits: between storage (the versions as signed, in server order)
 * and whoever shows records to people: the record command and the export.
 * Nothing is written: the merge is computed, never stored (DESIGN.md
 * section 3: no replica writes a merge on its own).
 */
#include "record.h"

#include <stdlib.h>
#include <string.h>

#include "hlc.h"

struct collect {
    struct srv_record *r;
    struct fld_err *err;
};

static int keep_version(void *ctx, int64_t seq, const uint8_t *body, size_t len,
                        const uint8_t *sig)
{
    struct collect *c = ctx;
    struct srv_record *r = c->r;
    struct fld_version *v;

    (void)seq;
    if (fld_version_open(body, len, sig, &v, c->err) != FLD_OK)
        return fld_err_set(c->err, FLD_ECORRUPT,
                           "a stored version does not verify: %s", c->err->msg);
    r->versions =
        fld_xreallocarray(r->versions, r->n_versions + 1, sizeof *r->versions);
    r->versions[r->n_versions++] = v;
    return FLD_OK;
}

int srv_record_load(struct srv_storage *st, const char *id,
                    struct srv_record *out, struct fld_err *err)
{
    struct collect c = {out, err};
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = srv_storage_record_versions(st, id, keep_version, &c, err)) !=
        FLD_OK)
        return rc;
    if (out->n_versions == 0)
        return fld_err_set(err, FLD_NOTFOUND, "no record %s (give its full id)",
                           id);
    /* Stamps beyond the server's time plus its skew are not believed
     * (merge.h, syn_merge_at; push.c flags them on arrival). */
    return syn_merge_at(out->versions, out->n_versions,
                        fld_now_ms() + SRV_RECORD_SKEW_MS, &out->merged, err);
}

void srv_record_free(struct srv_record *r)
{
    size_t i;

    syn_merged_free(r->merged);
    for (i = 0; i < r->n_versions; i++)
        fld_version_free(r->versions[i]);
    free(r->versions);
    memset(r, 0, sizeof *r);
}
