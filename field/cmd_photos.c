/*
 * cmd_photos.c - a record's evidence photos as `field show` lists them:
 * for each photo answer, what the versions signed about the photo (size,
 * type, when and where the camera says it was taken), whether its file is
 * on this device, and a warning when it looks like evidence of something
 * else: taken far from the record's own position, or on another day than
 * the inspection's.
 *
 * The record's position is its first geopoint answer outside repeat
 * groups, its day the first date answer outside repeat groups, else the
 * day (this device's local time) of the first version that named the
 * photo. A photo without a time or a position is not warned about: many
 * cameras write neither, and the inspector cannot help it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cmd.h"
#include "form.h"
#include "geo.h"

/* A photo taken farther than this from the record's position is flagged:
 * a commune's villages lie a few km apart, a household's garden within a
 * few hundred metres of where the inspector stood (GPS error included). */
#define CMD_PHOTO_FAR_METRES 1000.0

/* The first answered question of type outside repeat groups; free(). */
static char *record_answer(const struct fld_template *t, struct fld_form *f,
                           enum fld_qtype type)
{
    size_t qi;

    for (qi = 0; qi < fld_template_n_questions(t); qi++) {
        const struct fld_question *q = fld_template_question_at(t, qi);
        const struct fld_value *v;

        if (q->type != type || q->section == FLD_NO_SECTION ||
            fld_template_section(t, q->section)->is_repeat)
            continue;
        v = fld_form_value(f, qi, 0);
        if (v->type != FLD_V_BLANK)
            return fld_value_to_string(v);
    }
    return NULL;
}

static bool parse_point(const char *s, double *lat, double *lon)
{
    return s != NULL && sscanf(s, "%lf %lf", lat, lon) == 2;
}

/* The local day of the record's first version naming hash, "" if none. */
static void first_named_day(const struct cmd_record *r, const char *hash,
                            char day[11])
{
    const struct fld_version *first = NULL;
    size_t i;

    day[0] = '\0';
    for (i = 0; i < r->n_versions; i++) {
        const struct fld_version *v = r->versions[i];

        if (v->attachments && fld_json_get(v->attachments, hash) &&
            (first == NULL || fld_hlc_cmp(&v->hlc, &first->hlc) < 0))
            first = v;
    }
    if (first != NULL) {
        time_t s = (time_t)(first->hlc.ms / 1000);
        struct tm tm;

        if (localtime_r(&s, &tm) != NULL)
            strftime(day, 11, "%Y-%m-%d", &tm);
    }
}

struct place {
    char *position; /* the record's, or NULL */
    char *date;     /* the record's, or NULL */
};

static struct fld_json *photo_json(struct cmd_ctx *ctx,
                                   const struct cmd_record *r,
                                   const struct place *p,
                                   const struct fld_question *q,
                                   const char *item, const char *hash)
{
    struct fld_json *o = fld_json_object(), *warn = fld_json_array();
    struct fld_attachment a;
    bool held = false;
    double lat1, lon1, lat2, lon2;
    char day[11];
    int rc = fld_attachment_get(ctx->st, hash, &a, &held, NULL);

    fld_json_set(o, "question", fld_json_string(q->name));
    fld_json_set(o, "item", item ? fld_json_string(item) : fld_json_null());
    fld_json_set(o, "hash", fld_json_string(hash));
    if (rc != FLD_OK) { /* answered with a hash no version described */
        memset(&a, 0, sizeof a);
        held = fld_attachment_exists(ctx->home, hash);
    }
    fld_json_set(o, "signed", fld_json_bool(rc == FLD_OK));
    fld_json_set(o, "bytes",
                 rc == FLD_OK ? fld_json_int(a.bytes) : fld_json_null());
    fld_json_set(o, "type",
                 a.type[0] ? fld_json_string(a.type) : fld_json_null());
    fld_json_set(o, "taken",
                 a.taken[0] ? fld_json_string(a.taken) : fld_json_null());
    fld_json_set(o, "position",
                 a.position[0] ? fld_json_string(a.position) : fld_json_null());
    fld_json_set(o, "held", fld_json_bool(held));
    if (parse_point(p->position, &lat1, &lon1) &&
        parse_point(a.position, &lat2, &lon2)) {
        double d = fld_geo_distance_m(lat1, lon1, lat2, lon2);

        fld_json_set(o, "distance_m", fld_json_int((int64_t)(d + 0.5)));
        if (d > CMD_PHOTO_FAR_METRES)
            fld_json_append(warn, fld_json_string("far"));
    }
    if (p->date != NULL)
        snprintf(day, sizeof day, "%s", p->date);
    else
        first_named_day(r, hash, day);
    fld_json_set(o, "day", day[0] ? fld_json_string(day) : fld_json_null());
    if (a.taken[0] && day[0] && strncmp(a.taken, day, 10) != 0)
        fld_json_append(warn, fld_json_string("other_day"));
    fld_json_set(o, "warnings", warn);
    return o;
}

struct fld_json *cmd_photos_json(struct cmd_ctx *ctx,
                                 const struct cmd_record *r, struct fld_form *f)
{
    const struct fld_template *t = r->t;
    struct fld_json *out = fld_json_array();
    struct place p;
    size_t qi, k;

    p.position = record_answer(t, f, FLD_Q_GEOPOINT);
    p.date = record_answer(t, f, FLD_Q_DATE);
    for (qi = 0; qi < fld_template_n_questions(t); qi++) {
        const struct fld_question *q = fld_template_question_at(t, qi);
        const struct fld_section *s;
        size_t n_items = 1;

        if (q->type != FLD_Q_PHOTO || q->section == FLD_NO_SECTION)
            continue;
        s = fld_template_section(t, q->section);
        if (s->is_repeat)
            n_items = fld_form_n_items(f, q->section);
        for (k = 0; k < n_items; k++) {
            const struct fld_value *v = fld_form_value(f, qi, k);
            char *hash;

            if (v->type == FLD_V_BLANK)
                continue;
            hash = fld_value_to_string(v);
            fld_json_append(out, photo_json(ctx, r, &p, q,
                                            s->is_repeat ? fld_form_item_id(
                                                               f, q->section, k)
                                                         : NULL,
                                            hash));
            free(hash);
        }
    }
    free(p.position);
    free(p.date);
    return out;
}

static bool has(const struct fld_json *warn, const char *code)
{
    size_t i;

    for (i = 0; i < warn->n; i++)
        if (strcmp(warn->items[i]->s, code) == 0)
            return true;
    return false;
}

void cmd_photos_print(struct cmd_ctx *ctx, const struct fld_json *photos)
{
    bool en = ctx->lang == FLD_LANG_EN;
    size_t i;

    if (photos->n == 0)
        return;
    printf("\n[%s]\n", en ? "Photos" : "Ảnh");
    for (i = 0; i < photos->n; i++) {
        const struct fld_json *o = photos->items[i];
        const struct fld_json *warn = fld_json_get(o, "warnings");
        const char *item = fld_json_get_string(o, "item");
        const char *taken = fld_json_get_string(o, "taken");
        const char *pos = fld_json_get_string(o, "position");
        const char *day = fld_json_get_string(o, "day");
        const struct fld_json *held = fld_json_get(o, "held");
        int64_t bytes = 0, dist = 0;

        printf("  %s%s%.8s%s: %.12s", fld_json_get_string(o, "question"),
               item ? " [" : "", item ? item : "", item ? "]" : "",
               fld_json_get_string(o, "hash"));
        if (fld_json_get_int(o, "bytes", &bytes))
            printf("  %.1f KB  %s", (double)bytes / 1024,
                   fld_json_get_string(o, "type"));
        else
            printf("  %s", en ? "(no version describes it)"
                              : "(không phiên bản nào mô tả ảnh này)");
        printf("  %s\n", held->type == FLD_JSON_TRUE
                             ? (en ? "on this device" : "có trên máy")
                             : (en ? "not on this device (sync to fetch it)"
                                   : "chưa có trên máy (đồng bộ để tải về)"));
        printf("      %s %s, %s %s\n", en ? "taken" : "chụp lúc",
               taken ? taken : (en ? "unknown" : "không rõ"), en ? "at" : "tại",
               pos ? pos : (en ? "unknown" : "không rõ"));
        if (has(warn, "far") && fld_json_get_int(o, "distance_m", &dist))
            printf("      ! %s %.1f km %s\n", en ? "taken" : "chụp cách",
                   (double)dist / 1000,
                   en ? "from the record's position" : "vị trí của hồ sơ");
        if (has(warn, "other_day"))
            printf("      ! %s %.10s, %s %s\n", en ? "taken on" : "chụp ngày",
                   taken,
                   en ? "not on the inspection day"
                      : "không phải ngày kiểm tra",
                   day);
    }
}
