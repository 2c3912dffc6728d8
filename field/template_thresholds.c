/*
 * template_thresholds.c - a loaded template's thresholds replaced by values
 * given as data: a province's signed threshold revision (thresholds.h,
 * docs/TEMPLATES.md "Thresholds as data").
 *
 * Where it sits: a template arrives with the thresholds its author knew,
 * many of them null (unknown) because the official values were not in
 * hand. A province's administrator signs the values it uses; the device
 * (field/cmd_thresholds.c) and the server (server-stub/thresholds.c) load
 * the template as usual, then hand the revision's "thresholds" object to
 * fld_template_set_thresholds(), and the form engine (form.c), which reads
 * each threshold's value or table through struct fld_threshold, evaluates
 * with the new values. The template's identity (its canonical bytes and
 * hash) does not change: a record still names the template it was filled
 * against, and the thresholds in force are a separate, dated fact.
 *
 * What a thresholds object may say, checked before anything changes:
 *
 *   {NAME: {"value": V}}               a threshold of one value
 *   {NAME: {"values": {KEY: V, ...}}}  a threshold keyed by parameters
 *
 * NAME must be a threshold of the template; "value" goes with a threshold
 * that has no "by", "values" with one that has; each KEY must be one the
 * template's own tables could hold (fld_template_key_ok(), the loader's
 * check); V is an integer, a decimal written as a string in normal form
 * ("54.78", as norm.c writes it) or null (still unknown). A listed
 * threshold is replaced whole: a table's keys left out are unknown, as in
 * a template. Thresholds not listed keep the template's values.
 *
 * The first problem is reported, with its place as the revision writes it
 * ("thresholds.income_min_mvnd.values[\"bac_trung_bo/2025\"]: not a
 * number"): a revision is refused whole, so one line says what to fix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "norm.h"
#include "template_int.h"

/* An integer, a decimal string in normal form, or null. */
static int check_number(const struct fld_json *v, const char *where,
                        struct fld_err *err)
{
    char *norm = NULL;
    int rc = FLD_OK;

    if (v->type == FLD_JSON_INT || v->type == FLD_JSON_NULL)
        return FLD_OK;
    if (v->type != FLD_JSON_STRING ||
        fld_norm_decimal(v->s, &norm, NULL) != FLD_OK)
        rc = fld_err_set(err, FLD_EINVAL, "%s: not a number", where);
    else if (strcmp(norm, v->s) != 0)
        rc = fld_err_set(err, FLD_EINVAL,
                         "%s: \"%s\" is not written in normal form (\"%s\")",
                         where, v->s, norm);
    free(norm);
    return rc;
}

/* The parameters a table is keyed by, for a message: "region, year". */
static void by_list(const struct fld_threshold *th, char *out, size_t len)
{
    size_t i, at = 0;

    out[0] = '\0';
    for (i = 0; i < th->n_by && at < len; i++)
        at += (size_t)snprintf(out + at, len - at, "%s%s", i ? ", " : "",
                               th->by[i]);
}

static int check_table(const struct fld_template *t,
                       const struct fld_threshold *th,
                       const struct fld_json *values, const char *where,
                       struct fld_err *err)
{
    char msg[FLD_ERR_MSG_MAX];
    size_t i;
    int rc = FLD_OK;

    if (values->type != FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL,
                           "%s.values: expected an object of keys and values",
                           where);
    for (i = 0; i < values->n && rc == FLD_OK; i++) {
        const char *key = values->members[i].key;
        char *place = fld_xasprintf("%s.values[\"%s\"]", where, key);

        if (!fld_template_key_ok(t, th, key, msg, sizeof msg))
            rc = fld_err_set(err, FLD_EINVAL, "%s: %s", place, msg);
        else
            rc = check_number(values->members[i].value, place, err);
        free(place);
    }
    return rc;
}

/* One member NAME: {...} of a thresholds object. */
static int check_one(const struct fld_template *t, const char *name,
                     const struct fld_json *entry, struct fld_err *err)
{
    const struct fld_threshold *th = fld_template_threshold(t, name);
    const struct fld_json *value, *values;
    char where[FLD_ERR_MSG_MAX / 2], by[FLD_ERR_MSG_MAX / 4];
    size_t i;

    snprintf(where, sizeof where, "thresholds.%s", name);
    if (th == NULL)
        return fld_err_set(err, FLD_EINVAL,
                           "%s: not a threshold of template %s", where,
                           fld_template_id(t));
    if (entry->type != FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL,
                           "%s: expected {\"value\": ...} or {\"values\": "
                           "{...}}",
                           where);
    for (i = 0; i < entry->n; i++)
        if (strcmp(entry->members[i].key, "value") != 0 &&
            strcmp(entry->members[i].key, "values") != 0)
            return fld_err_set(err, FLD_EINVAL, "%s: unknown key \"%s\"", where,
                               entry->members[i].key);
    value = fld_json_get(entry, "value");
    values = fld_json_get(entry, "values");
    by_list(th, by, sizeof by);
    if (th->n_by > 0 && (values == NULL || value != NULL))
        return fld_err_set(err, FLD_EINVAL,
                           "%s: keyed by %s: give \"values\" (and no "
                           "\"value\")",
                           where, by);
    if (th->n_by == 0 && (value == NULL || values != NULL))
        return fld_err_set(err, FLD_EINVAL,
                           "%s: one value, not a table: give \"value\" (and no "
                           "\"values\")",
                           where);
    if (value != NULL) {
        snprintf(where + strlen(where), sizeof where - strlen(where), ".value");
        return check_number(value, where, err);
    }
    return check_table(t, th, values, where, err);
}

int fld_template_check_thresholds(const struct fld_template *t,
                                  const struct fld_json *thresholds,
                                  struct fld_err *err)
{
    size_t i;
    int rc;

    if (thresholds == NULL || thresholds->type != FLD_JSON_OBJECT)
        return fld_err_set(err, FLD_EINVAL,
                           "thresholds: expected an object of thresholds");
    for (i = 0; i < thresholds->n; i++) {
        rc = check_one(t, thresholds->members[i].key,
                       thresholds->members[i].value, err);
        if (rc != FLD_OK)
            return rc;
    }
    return FLD_OK;
}

int fld_template_set_thresholds(struct fld_template *t,
                                const struct fld_json *thresholds,
                                const struct fld_provenance *prov,
                                struct fld_err *err)
{
    struct fld_json *copy;
    char *source = NULL;
    size_t i, k;
    int rc;

    /* all or nothing: nothing changes until every entry is known good */
    if ((rc = fld_template_check_thresholds(t, thresholds, err)) != FLD_OK)
        return rc;
    copy = fld_json_clone(thresholds);
    if (prov != NULL && prov->source != NULL)
        source = fld_xstrdup(prov->source);
    t->revised =
        fld_xreallocarray(t->revised, t->n_revised + 1, sizeof *t->revised);
    t->revised[t->n_revised].json = copy;
    t->revised[t->n_revised].source = source;
    t->n_revised++;
    for (i = 0; i < copy->n; i++) {
        const struct fld_json *entry = copy->members[i].value;

        for (k = 0; k < t->n_thresholds; k++)
            if (strcmp(t->thresholds[k].name, copy->members[i].key) == 0)
                break;
        /* checked above: every name is a threshold of t */
        if (t->thresholds[k].n_by == 0)
            t->thresholds[k].value = fld_json_get(entry, "value");
        else
            t->thresholds[k].values = fld_json_get(entry, "values");
        if (prov != NULL) {
            t->thresholds[k].provenance.source = source;
            t->thresholds[k].provenance.verified = prov->verified;
        }
    }
    return FLD_OK;
}
