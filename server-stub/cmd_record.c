/*
 * cmd_record.c - `record`: one record as the province sees it.
 *
 *   field-server record [--json] RECORD
 *
 * The state shown is the deterministic merge (sync/merge.h) of every
 * version the server holds of the record: the same state, byte for byte,
 * that every device holding these versions shows, with each unresolved
 * conflict and every value in it with its author.
 *
 * Decisions:
 *   - Every stored version is verified again (hash and signature) on the
 *     way: this command is what a person trusts when a figure is disputed,
 *     so it does not take the database's word for it. A stored version
 *     that does not verify is an integrity failure (exit 5).
 *   - The record is named by its full id: the server holds every device's
 *     records, and a prefix that is unique today may not be tomorrow.
 */
#include "command.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "hlc.h"
#include "json.h"
#include "merge.h"
#include "record.h"

static void print_record(const struct syn_merged *m, bool json)
{
    struct fld_buf b = FLD_BUF_INIT;
    size_t i, j;

    if (json) {
        struct fld_json *o = fld_json_object();

        fld_json_set(o, "record", fld_json_string(m->newest->record));
        fld_json_set(o, "subject", fld_json_string(m->newest->subject));
        fld_json_set(o, "template", fld_json_string(m->newest->template_id));
        fld_json_set(o, "status", fld_json_string(m->status));
        fld_json_set(o, "review_outdated", fld_json_bool(m->review_outdated));
        fld_json_set(o, "heads", fld_json_int((int64_t)m->n_heads));
        fld_json_set(o, "conflicts", fld_json_int((int64_t)m->n_conflicts));
        fld_json_set(o, "answers", fld_json_clone(m->answers));
        fld_json_write(o, &b, NULL);
        fld_json_free(o);
        printf("%s\n", fld_buf_str(&b));
        fld_buf_free(&b);
        return;
    }
    printf(
        "record    %s\nsubject   %s\ntemplate  %s\nstatus    %s%s\nheads     %zu\n",
        m->newest->record, m->newest->subject, m->newest->template_id,
        m->status, m->review_outdated ? " (review outdated)" : "", m->n_heads);
    fld_json_write(m->answers, &b, NULL);
    printf("answers   %s\n", fld_buf_str(&b));
    for (i = 0; i < m->n_conflicts; i++) {
        printf("conflict  %s:", m->conflicts[i].path);
        for (j = 0; j < m->conflicts[i].n_candidates; j++) {
            const struct syn_candidate *c = &m->conflicts[i].candidates[j];

            fld_buf_reset(&b);
            if (c->value)
                fld_json_write(c->value, &b, NULL);
            else
                fld_buf_puts(&b, "(deleted)");
            printf(" %s%s by %.16s", j ? "| " : "", fld_buf_str(&b), c->author);
        }
        putchar('\n');
    }
    fld_buf_free(&b);
}

/* The versions whose stamp is beyond the server's time plus its skew: they
 * were flagged on arrival (push.c, "clock_ahead" in the audit) and take no
 * part in deciding what is shown first (merge.h, syn_merge_at). */
static void print_ahead(const struct srv_record *r, bool json)
{
    int64_t bound = fld_now_ms() + SRV_RECORD_SKEW_MS;
    char when[32];
    time_t t;
    struct tm tm;
    size_t i;

    if (json)
        return;
    for (i = 0; i < r->n_versions; i++) {
        const struct fld_version *v = r->versions[i];

        if (v->hlc.ms <= bound)
            continue;
        t = (time_t)(v->hlc.ms / 1000);
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
        printf("ahead     %.16s by %.16s stamped %s UTC: clock ahead "
               "(đồng hồ chạy trước), not used to order values\n",
               v->hash, v->author, when);
    }
}

/*
 * field-server record [--json] RECORD
 *
 * Verify and merge every stored version of RECORD (its full id) and print
 * the state; exit 3 when the server holds none.
 */
int srv_cmd_record(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    struct fld_err *err = &ctx->err;
    struct srv_record r;
    int rc, first;

    memset(&r, 0, sizeof r);
    if ((rc = srv_cmd_parse(ctx, argc, argv, NULL, NULL, NULL, &first)) !=
        FLD_OK)
        goto out;
    if (argc - first != 1) {
        rc = fld_err_set(err, FLD_EUSAGE, "usage: record RECORD");
        goto out;
    }
    if ((rc = srv_cmd_open(ctx)) != FLD_OK)
        goto out;
    if ((rc = srv_record_load(ctx->st, argv[first], &r, err)) == FLD_OK) {
        print_record(r.merged, ctx->json);
        print_ahead(&r, ctx->json);
    }
out:
    srv_record_free(&r);
    return rc;
}
