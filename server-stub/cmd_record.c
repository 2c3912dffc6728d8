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
 *   - The photos its versions name are listed with what the versions
 *     signed about them (size, type, when and where taken) and whether the
 *     server holds the file whole ("stored"), part of it, or none.
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

/* The record's photos (storage.h, srv_storage_record_attachments) as
 * `record --json` gives them. */
static int add_photo(void *ctx, size_t i, const struct srv_attachment *a)
{
    struct fld_json *o = fld_json_object();

    (void)i;
    fld_json_set(o, "hash", fld_json_string(a->hash));
    fld_json_set(o, "bytes", fld_json_int(a->bytes));
    fld_json_set(o, "type", fld_json_string(a->type));
    fld_json_set(o, "taken",
                 a->taken ? fld_json_string(a->taken) : fld_json_null());
    fld_json_set(o, "position",
                 a->position ? fld_json_string(a->position) : fld_json_null());
    fld_json_set(o, "stored", fld_json_bool(a->stored_ms > 0));
    fld_json_set(o, "received", fld_json_int(a->acked));
    fld_json_append(ctx, o);
    return FLD_OK;
}

static void print_photos(const struct fld_json *photos)
{
    const char *taken, *position;
    int64_t bytes = 0, received = 0;
    size_t i;

    for (i = 0; i < photos->n; i++) {
        const struct fld_json *p = photos->items[i];
        const struct fld_json *stored = fld_json_get(p, "stored");

        fld_json_get_int(p, "bytes", &bytes);
        fld_json_get_int(p, "received", &received);
        taken = fld_json_get_string(p, "taken");
        position = fld_json_get_string(p, "position");
        printf("photo     %s %lld bytes %s", fld_json_get_string(p, "hash"),
               (long long)bytes, fld_json_get_string(p, "type"));
        if (taken)
            printf(" taken %s", taken);
        if (position)
            printf(" at %s", position);
        if (stored && stored->type == FLD_JSON_TRUE)
            printf(", stored\n");
        else if (received > 0)
            printf(", partial (%lld bytes received)\n", (long long)received);
        else
            printf(", not received\n");
    }
}

static void print_record(const struct syn_merged *m, struct fld_json *photos,
                         bool json)
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
        fld_json_set(o, "attachments", fld_json_clone(photos));
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
    print_photos(photos);
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
    struct fld_json *photos = fld_json_array();
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
    rc = srv_record_load(ctx->st, argv[first], &r, err);
    if (rc == FLD_OK)
        rc = srv_storage_record_attachments(ctx->st, argv[first], add_photo,
                                            photos, err);
    if (rc == FLD_OK) {
        print_record(r.merged, photos, ctx->json);
        print_ahead(&r, ctx->json);
    }
out:
    fld_json_free(photos);
    srv_record_free(&r);
    return rc;
}
