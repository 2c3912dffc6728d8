/*
 * cmd_verify.c - `field verify`: re-check the whole store and name every
 * fault (verify.h does the checking; this file only reports).
 *
 *   field verify [--json]
 *
 * It checks the database file itself (SQLite's integrity and foreign key
 * checks), then every hash, signature, chain and head (verify.h), then
 * every photo file the device holds against its name (attachment.h: a
 * changed or swapped photo is tampering too; a photo the device does not
 * hold is not a fault, photos are fetched on request). Exit
 * status 0, and "OK", only when all of it passed; 5 when anything failed,
 * with the way back: `field repair`, then `field sync --full`.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "parallel.h"
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

static void on_bad_photo(void *data, const char *hash, const char *message)
{
    on_fault(data, "attachment", hash, message);
}

static void on_problem(void *data, const char *problem)
{
    on_fault(data, "database", NULL, problem);
}

/* A damaged store is not the end: say how to get it back. */
static int damaged(struct cmd_ctx *ctx)
{
    char was[FLD_ERR_MSG_MAX];

    snprintf(was, sizeof was, "%s", ctx->err.msg);
    return fld_err_set(&ctx->err, FLD_ECORRUPT,
                       "%s; the store is damaged: 'field repair' rebuilds it "
                       "from what still verifies, then 'field sync' fetches "
                       "the rest from the server",
                       was);
}

/* Each version's own checks on every core (verify.h). */
static void on_every_core(size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
    syn_parallel_for(n, syn_cpus(), fn, ctx);
}

int cmd_verify(struct cmd_ctx *ctx, int argc, char **argv)
{
    struct report r = {ctx, NULL};
    struct fld_verify_stats stats;
    int64_t n_file;
    size_t n_photos = 0, n_bad_photos = 0;
    bool photos_only = false;
    int rc;

    rc = cmd_parse_and_open(ctx, argc, argv, NULL, NULL, NULL);
    if (rc == FLD_ECORRUPT)
        return damaged(ctx);
    if (rc != FLD_OK)
        return rc;
    if (ctx->json)
        r.faults = fld_json_array();
    /* The file first: a damaged index or page can hide rows from the walk
     * below, which then finds "nothing wrong" in what it could see. */
    n_file = fld_store_check_file(ctx->st, on_problem, &r);
    rc = fld_verify_store_with(ctx->st, on_every_core, on_fault, &r, &stats,
                               &ctx->err);
    if (rc != FLD_OK && stats.n_faults == 0 &&
        (rc == FLD_ECORRUPT || n_file > 0)) {
        /* the walk itself hit the damage: one more fault, not the end */
        on_fault(&r, "database", NULL, ctx->err.msg);
        n_file++;
        rc = FLD_ECORRUPT;
    }
    if (rc == FLD_OK || rc == FLD_ECORRUPT) {
        struct fld_err e;

        if (fld_attachment_check_files(ctx->st, ctx->home, on_bad_photo, &r,
                                       &n_photos, &n_bad_photos,
                                       &e) != FLD_OK) {
            on_fault(&r, "attachment", NULL, e.msg);
            n_bad_photos++;
        }
        if (n_bad_photos > 0 && rc == FLD_OK && n_file == 0 &&
            stats.n_faults == 0) {
            /* the store is sound: only photos were changed */
            stats.n_faults = (int64_t)n_bad_photos;
            rc = fld_err_set(&ctx->err, FLD_ECORRUPT,
                             "%zu photo file%s changed, replaced or missing "
                             "(see FAULT lines)",
                             n_bad_photos, n_bad_photos == 1 ? "" : "s");
            photos_only = true;
        } else {
            stats.n_faults += (int64_t)n_bad_photos;
        }
    }
    if (!photos_only && (n_file > 0 || rc == FLD_ECORRUPT)) {
        stats.n_faults += n_file;
        fld_err_set(&ctx->err, FLD_ECORRUPT, "%lld fault%s found",
                    (long long)stats.n_faults, stats.n_faults == 1 ? "" : "s");
        rc = FLD_ECORRUPT;
    }
    if (rc == FLD_OK || rc == FLD_ECORRUPT) {
        if (r.faults != NULL) {
            struct fld_json *o = fld_json_object();

            fld_json_set(o, "ok", fld_json_bool(stats.n_faults == 0));
            fld_json_set(o, "versions", fld_json_int(stats.n_versions));
            fld_json_set(o, "records", fld_json_int(stats.n_records));
            fld_json_set(o, "devices", fld_json_int(stats.n_devices));
            fld_json_set(o, "photos", fld_json_int((int64_t)n_photos));
            fld_json_set(o, "faults", r.faults);
            r.faults = NULL;
            cmd_print_json(ctx, o);
            fld_json_free(o);
        } else if (rc == FLD_OK) {
            printf(
                "OK: %lld version%s of %lld record%s by %lld device%s verified",
                (long long)stats.n_versions, stats.n_versions == 1 ? "" : "s",
                (long long)stats.n_records, stats.n_records == 1 ? "" : "s",
                (long long)stats.n_devices, stats.n_devices == 1 ? "" : "s");
            if (n_photos > 0)
                printf(", %zu photo file%s", n_photos,
                       n_photos == 1 ? "" : "s");
            putchar('\n');
        }
    }
    fld_json_free(r.faults);
    if (rc == FLD_ECORRUPT && !photos_only)
        return damaged(ctx);
    return rc;
}
