/*
 * cmd_audit.c - what an administrator checks: `audit` shows the chain
 * alarms and the audit log.
 *
 *   field-server audit [--json] [--kind KIND]
 *
 * Decisions:
 *   - Forks and gaps in a device's chain (DESIGN.md section 5: a restored
 *     backup, a cloned disk) are computed from the stored versions each
 *     time, not kept as log rows: they cannot drift from the data, and a
 *     gap disappears once the missing version arrives.
 *   - The audit exits 5 (integrity, as `field verify` does) when there is
 *     a chain alarm, after printing everything: a cron job notices without
 *     parsing the output. The signed versions themselves are stored either
 *     way; an alarm is for a person to look into, never a refusal.
 *   - The log lists what the server did on its own or for an administrator
 *     (enrolments, revocations, refused pushes, quarantined, released and
 *     flagged versions), oldest first; --kind keeps one kind.
 */
#include "command.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_KIND = 1 };

struct audit_out {
    cJSON *arr;
    int n;
};

static int on_audit_option(struct srv_cmd_ctx *ctx, int opt, const char *arg,
                           void *data)
{
    (void)ctx;
    (void)opt; /* OPT_KIND, the only one */
    *(const char **)data = arg;
    return FLD_OK;
}

static int print_alarm(void *ctx, const struct srv_chain_alarm *a)
{
    struct audit_out *ao = ctx;

    ao->n++;
    if (ao->arr) {
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddStringToObject(o, "kind", a->kind) ||
            !cJSON_AddStringToObject(o, "author", a->author) ||
            !cJSON_AddNumberToObject(o, "dseq", (double)a->dseq) ||
            !cJSON_AddStringToObject(o, "version", a->hash) ||
            !cJSON_AddStringToObject(
                o, strcmp(a->kind, "gap") == 0 ? "missing_prev" : "other",
                a->other))
            abort();
        cJSON_AddItemToArray(ao->arr, o);
        return FLD_OK;
    }
    if (strcmp(a->kind, "gap") == 0)
        printf(
            "  gap   device %.16s dseq %lld: version %.16s names prev %.16s, "
            "which was never received\n",
            a->author, (long long)a->dseq, a->hash, a->other);
    else
        printf("  fork  device %.16s dseq %lld: versions %.16s and %.16s\n",
               a->author, (long long)a->dseq, a->hash, a->other);
    return FLD_OK;
}

static int print_audit(void *ctx, const struct srv_audit_row *a)
{
    struct audit_out *ao = ctx;
    char when[32];

    ao->n++;
    if (ao->arr) {
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddNumberToObject(o, "at_ms", (double)a->at_ms) ||
            !cJSON_AddStringToObject(o, "kind", a->kind) ||
            !(a->device ? cJSON_AddStringToObject(o, "device", a->device)
                        : cJSON_AddNullToObject(o, "device")) ||
            !(a->subject ? cJSON_AddStringToObject(o, "subject", a->subject)
                         : cJSON_AddNullToObject(o, "subject")) ||
            !cJSON_AddStringToObject(o, "detail", a->detail))
            abort();
        cJSON_AddItemToArray(ao->arr, o);
        return FLD_OK;
    }
    srv_cmd_format_time(a->at_ms, when);
    printf("  %s  %-12s %-16.16s %-16.16s %s\n", when, a->kind,
           a->device ? a->device : "-", a->subject ? a->subject : "-",
           a->detail);
    return FLD_OK;
}

/*
 * field-server audit [--json] [--kind KIND]
 *
 * Print the counts of stored, quarantined and flagged versions, the chain
 * alarms and the log; exit 5 when there is an alarm.
 */
int srv_cmd_audit(struct srv_cmd_ctx *ctx, int argc, char **argv)
{
    static const struct option extra[] = {
        {"kind", required_argument, NULL, OPT_KIND}, {NULL, 0, NULL, 0}};
    struct fld_err *err = &ctx->err;
    struct audit_out alarms = {NULL, 0}, log = {NULL, 0};
    struct srv_counts c;
    const char *kind = NULL;
    cJSON *root = NULL;
    int rc;

    rc = srv_cmd_parse_options(ctx, argc, argv, extra, on_audit_option, &kind);
    if (rc != FLD_OK)
        goto out;
    if ((rc = srv_cmd_open(ctx)) != FLD_OK)
        goto out;
    if ((rc = srv_storage_counts(ctx->st, &c, err)) != FLD_OK)
        goto out;
    if (ctx->json) {
        root = cJSON_CreateObject();
        if (root == NULL)
            abort();
        alarms.arr = cJSON_AddArrayToObject(root, "alarms");
        log.arr = cJSON_AddArrayToObject(root, "log");
        if (alarms.arr == NULL || log.arr == NULL ||
            !cJSON_AddNumberToObject(root, "versions", (double)c.versions) ||
            !cJSON_AddNumberToObject(root, "quarantined",
                                     (double)c.quarantined) ||
            !cJSON_AddNumberToObject(root, "flagged", (double)c.flagged))
            abort();
    } else {
        printf("versions stored: %lld, quarantined: %lld, flagged: %lld\n",
               (long long)c.versions, (long long)c.quarantined,
               (long long)c.flagged);
        printf("chain alarms:\n");
    }
    if ((rc = srv_storage_each_alarm(ctx->st, print_alarm, &alarms, err)) !=
        FLD_OK)
        goto out;
    if (!ctx->json) {
        if (alarms.n == 0)
            printf("  none\n");
        printf("log:\n");
    }
    if ((rc = srv_storage_each_audit(ctx->st, kind, print_audit, &log, err)) !=
        FLD_OK)
        goto out;
    if (ctx->json)
        srv_cmd_print_json(root);
    root = NULL;
    if (alarms.n > 0)
        rc = fld_err_set(err, FLD_ECORRUPT, "%d chain alarm%s (forks or gaps)",
                         alarms.n, alarms.n == 1 ? "" : "s");
out:
    cJSON_Delete(root);
    return rc;
}
