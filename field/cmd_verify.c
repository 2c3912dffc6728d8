/*
 * cmd_verify.c - `field verify`: re-check the whole store and name every
 * fault (verify.h does the checking; this file only reports).
 *
 *   field verify [--json]
 *
 * Exit status 0 when the store is sound, 5 when a fault was found.
 */
#include <stdlib.h>

#include "cmd.h"
#include "verify.h"

struct report {
    struct cmd_ctx *ctx;
    struct fld_json *faults; /* --json */
};

static void on_fault(void *data, const char *kind, const char *subject,
                     const char *message)
{
    struct report *r = data;

    if (r->faults != NULL) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "kind", fld_json_string(kind));
        fld_json_set(o, "subject", fld_json_string(subject ? subject : ""));
        fld_json_set(o, "message", fld_json_string(message));
        fld_json_append(r->faults, o);
        return;
    }
    fprintf(stdout, "FAULT %s %s: %s\n", kind, subject ? subject : "?",
            message);
}

int cmd_verify(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct report r = {ctx, NULL};
    struct fld_verify_stats stats;
    int rc;

    if ((rc = cmd_parse_and_open(ctx, argc, argv, NULL, NULL, NULL)) != FLD_OK)
        return rc;
    if (ctx->json)
        r.faults = fld_json_array();
    rc = fld_verify_store(ctx->st, on_fault, &r, &stats, &ctx->err);
    if (rc == FLD_OK || rc == FLD_ECORRUPT) {
        if (r.faults != NULL) {
            struct fld_json *o = fld_json_object();

            fld_json_set(o, "ok", fld_json_bool(stats.n_faults == 0));
            fld_json_set(o, "versions", fld_json_int(stats.n_versions));
            fld_json_set(o, "records", fld_json_int(stats.n_records));
            fld_json_set(o, "devices", fld_json_int(stats.n_devices));
            fld_json_set(o, "faults", r.faults);
            r.faults = NULL;
            cmd_print_json(ctx, o);
            fld_json_free(o);
        } else if (stats.n_faults == 0) {
            printf(
                "OK: %lld version%s of %lld record%s by %lld device%s verified\n",
                (long long)stats.n_versions, stats.n_versions == 1 ? "" : "s",
                (long long)stats.n_records, stats.n_records == 1 ? "" : "s",
                (long long)stats.n_devices, stats.n_devices == 1 ? "" : "s");
        }
    }
    fld_json_free(r.faults);
    return rc;
}
