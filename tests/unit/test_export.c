/*
 * test_export.c - the export module (field/export.h) on a small template
 * with a geopoint, a tier, a note and a repeat group: the GeoJSON byte for
 * byte, the CSV row and its quoting, the JSON document (and each record
 * laid out on its own, as `field export` does on several threads, the same
 * bytes as the tree the module once built), the workbook's
 * temporary file (made and removed), and the formats' names. The workbook's
 * sheets and cells are read back by tests/integration/test_export_office.sh
 * with python3's zipfile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export.h"
#include "json.h"
#include "testutil.h"

static const char *const tmpl =
    "{\"id\": \"t-export\", \"version\": \"1\", \"title\": {\"vi\": \"Xuất\"},"
    " \"choices\": {\"yn\": ["
    "  {\"name\": \"yes\", \"label\": {\"vi\": \"Có\", \"en\": \"Yes\"}},"
    "  {\"name\": \"no\", \"label\": {\"vi\": \"Không\", \"en\": \"No\"}}]},"
    " \"sections\": ["
    "  {\"name\": \"s\", \"label\": {\"vi\": \"Chung\"}, \"questions\": ["
    "   {\"name\": \"about\", \"type\": \"note\", \"label\": {\"vi\": \"Ghi\"}},"
    "   {\"name\": \"n\", \"type\": \"integer\", \"label\": {\"vi\": \"Số hộ\"}},"
    "   {\"name\": \"ok\", \"type\": \"select_one\", \"choices\": \"yn\","
    "    \"label\": {\"vi\": \"Đạt?\"}},"
    "   {\"name\": \"where\", \"type\": \"geopoint\","
    "    \"label\": {\"vi\": \"Vị trí\"}},"
    "   {\"name\": \"remark\", \"type\": \"text\","
    "    \"label\": {\"vi\": \"Nhận xét\"}}]},"
    "  {\"name\": \"hh\", \"label\": {\"vi\": \"Hộ\"}, \"repeat\": true,"
    "   \"questions\": [{\"name\": \"hh_name\", \"type\": \"text\","
    "    \"label\": {\"vi\": \"Tên\"}}]}],"
    " \"criteria\": [{\"code\": \"1\", \"name\": {\"vi\": \"Đủ hộ\"},"
    "  \"indicators\": [{\"code\": \"1.1\", \"text\": {\"vi\": \"trên 5\"},"
    "   \"met\": \"${n} > 5\"}]}],"
    " \"tier\": {\"label\": {\"vi\": \"Đạt chuẩn\", \"en\": \"Meets\"},"
    "  \"requires\": \"all\"}}";

#define R1 "0193000000000000000000000000000a"
#define R2 "0193000000000000000000000000000b"
#define R3 "0193000000000000000000000000000c"
#define MS 1764288000000 /* 2025-11-28T00:00:00Z */

struct fixture {
    struct fld_template *t;
    struct fld_key *key;
    struct fld_version *v[3];
    char *head[3];
    struct fld_export_record r[3];
};

/* Each record's first version (dseq 1: the records stand alone here). */
static struct fld_version *sign(struct fixture *f, const char *record,
                                const char *answers)
{
    struct fld_version_draft d;
    struct fld_version *v = NULL;
    struct fld_json *a = NULL;
    struct fld_err err;

    assert_int_equal(
        fld_json_parse((const uint8_t *)answers, strlen(answers), &a, NULL),
        FLD_OK);
    memset(&d, 0, sizeof d);
    d.record = record;
    d.dseq = 1;
    d.hlc.ms = MS;
    d.template_id = fld_template_id(f->t);
    d.template_hash = fld_template_hash(f->t);
    d.subject = "4201";
    d.status = "final";
    d.inspector = "Chị Lan";
    d.answers = a;
    if (fld_version_sign(&d, f->key, &v, &err) != FLD_OK)
        fail_msg("%s", err.msg);
    fld_json_free(a);
    return v;
}

static int setup(void **state)
{
    struct fixture *f = fld_xcalloc(1, sizeof *f);
    static const char *const answers[3] = {
        "{\"hh\":{\"00000000000000a1\":{\"hh_name\":\"An\"},"
        "\"00000000000000a2\":{\"hh_name\":\"Bình\"}},\"n\":10,\"ok\":\"yes\","
        "\"remark\":\"=x\",\"where\":\"21.028500 105.854200 12.0 5.0\"}",
        "{\"n\":3,\"ok\":\"no\"}",
        /* not a geopoint a conforming device writes: left off the map */
        "{\"n\":7,\"where\":\"91.000000 105.000000\"}"};
    size_t i;

    assert_int_equal(
        fld_template_parse((const uint8_t *)tmpl, strlen(tmpl), &f->t, NULL),
        FLD_OK);
    f->key = tu_key(7);
    for (i = 0; i < 3; i++) {
        f->v[i] = sign(f, i == 0 ? R1 : i == 1 ? R2 : R3, answers[i]);
        f->r[i].newest = f->v[i];
        f->r[i].tmpl = f->t;
        f->r[i].answers = f->v[i]->answers;
        f->r[i].status = f->v[i]->status;
        f->head[i] = f->v[i]->hash;
        f->r[i].heads = &f->head[i];
        f->r[i].n_heads = 1;
        f->r[i].unit_name = i == 0 ? "Xã Một" : NULL;
        f->r[i].versions = &f->v[i];
        f->r[i].n_versions = 1;
    }
    /* the CSV's times are local: make them the same everywhere */
    setenv("TZ", "UTC", 1);
    tzset();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    size_t i;

    for (i = 0; i < 3; i++)
        fld_version_free(f->v[i]);
    fld_key_free(f->key);
    fld_template_free(f->t);
    free(f);
    return 0;
}

/* Export records from..to-1 of f in format with opts; the bytes, new. */
static char *export(struct fixture *f, enum fld_export_format format,
                    const struct fld_export_opts *opts, size_t from, size_t to,
                    size_t *n_without)
{
    struct fld_export *x = NULL;
    struct fld_buf out = FLD_BUF_INIT;
    size_t i;

    assert_int_equal(fld_export_new(format, opts, &x, NULL), FLD_OK);
    for (i = from; i < to; i++)
        assert_int_equal(fld_export_add(x, &f->r[i], NULL), FLD_OK);
    assert_int_equal(fld_export_n_records(x), to - from);
    assert_int_equal(fld_export_finish(x, &out, NULL), FLD_OK);
    if (n_without)
        *n_without = fld_export_n_without_position(x);
    fld_export_free(x);
    if (out.data == NULL)
        fld_buf_puts(&out, "");
    return fld_buf_detach(&out, NULL);
}

static void test_geojson(void **state)
{
    struct fixture *f = *state;
    struct fld_export_opts o = {FLD_LANG_VI, "2026-01-01", NULL, NULL};
    size_t n_without;
    char *got = export(f, FLD_EXPORT_GEOJSON, &o, 0, 3, &n_without);

    assert_string_equal(
        got,
        "{\"type\":\"FeatureCollection\",\"features\":[\n"
        "{\"type\":\"Feature\",\"id\":\"" R1 "\",\"geometry\":{\"type\":"
        "\"Point\",\"coordinates\":[105.854200,21.028500]},\"properties\":{"
        "\"record\":\"" R1 "\",\"unit\":\"4201\",\"unit_name\":\"Xã Một\","
        "\"template\":\"t-export\",\"status\":\"final\",\"status_label\":"
        "\"Hoàn thành\",\"tier\":\"met\",\"tier_label\":\"đạt\","
        "\"inspector\":\"Chị Lan\",\"time\":\"2025-11-28T00:00:00Z\","
        "\"position\":\"where\"}}\n"
        "],\"without_position\":2}\n");
    assert_int_equal(n_without, 2);
    free(got);
}

/* Rules evaluated ahead (fld_export_evaluate, as `field export` does on
 * several threads) give the file fld_export_add() gives. */
static void test_geojson_evaluated_ahead(void **state)
{
    struct fixture *f = *state;
    struct fld_export_opts o = {FLD_LANG_VI, "2026-01-01", NULL, NULL};
    char *want = export(f, FLD_EXPORT_GEOJSON, &o, 0, 3, NULL);
    struct fld_export *x = NULL;
    struct fld_buf got = FLD_BUF_INIT;
    size_t i;

    assert_int_equal(fld_export_new(FLD_EXPORT_GEOJSON, &o, &x, NULL), FLD_OK);
    for (i = 0; i < 3; i++) {
        struct fld_export_eval *ev = fld_export_evaluate(&f->r[i], o.today);

        assert_int_equal(fld_export_add_evaluated(x, &f->r[i], ev, NULL),
                         FLD_OK);
        fld_export_eval_free(ev);
    }
    fld_export_eval_free(NULL);
    assert_int_equal(fld_export_n_records(x), 3);
    assert_int_equal(fld_export_n_without_position(x), 2);
    assert_int_equal(fld_export_finish(x, &got, NULL), FLD_OK);
    fld_export_free(x);
    assert_string_equal(fld_buf_str(&got), want);
    fld_buf_free(&got);
    free(want);
}

/* Taken as it is made (fld_export_take, into an empty buffer or not),
 * then finished: the pieces make the file made whole. */
static void test_take(void **state)
{
    struct fixture *f = *state;
    struct fld_export_opts o = {FLD_LANG_VI, "2026-01-01", NULL, NULL};
    static const enum fld_export_format formats[] = {
        FLD_EXPORT_JSON, FLD_EXPORT_CSV, FLD_EXPORT_GEOJSON};
    size_t k, i;

    for (k = 0; k < 3; k++) {
        char *want = export(f, formats[k], &o, 0, k == 1 ? 2 : 3, NULL);
        struct fld_buf got = FLD_BUF_INIT, piece = FLD_BUF_INIT;
        struct fld_export *x = NULL;

        assert_int_equal(fld_export_new(formats[k], &o, &x, NULL), FLD_OK);
        for (i = 0; i < (k == 1 ? 2u : 3u); i++) {
            assert_int_equal(fld_export_add(x, &f->r[i], NULL), FLD_OK);
            size_t skip = i == 1; /* into a buffer that holds something */

            if (skip)
                fld_buf_putc(&piece, 'P');
            fld_export_take(x, &piece);
            assert_int_equal(fld_export_buffered(x), 0);
            if (skip)
                assert_int_equal(piece.data[0], 'P');
            if (piece.len > skip)
                fld_buf_append(&got, piece.data + skip, piece.len - skip);
            fld_buf_reset(&piece);
        }
        assert_int_equal(fld_export_finish(x, &piece, NULL), FLD_OK);
        fld_buf_append(&got, piece.data, piece.len);
        fld_export_free(x);
        assert_string_equal(fld_buf_str(&got), want);
        fld_buf_free(&got);
        fld_buf_free(&piece);
        free(want);
    }
}

static void test_geojson_empty_english(void **state)
{
    struct fixture *f = *state;
    struct fld_export_opts o = {FLD_LANG_EN, "2026-01-01", NULL, NULL};
    char *got = export(f, FLD_EXPORT_GEOJSON, &o, 1, 2, NULL);

    assert_string_equal(got, "{\"type\":\"FeatureCollection\",\"features\":"
                             "[],\"without_position\":1}\n");
    free(got);
    got = export(f, FLD_EXPORT_GEOJSON, &o, 0, 1, NULL);
    assert_non_null(strstr(got, "\"status_label\":\"Final\",\"tier\":\"met\","
                                "\"tier_label\":\"met\""));
    free(got);
}

static void test_csv(void **state)
{
    struct fixture *f = *state;
    struct fld_export_opts o = {FLD_LANG_VI, NULL, NULL, NULL};
    char *got = export(f, FLD_EXPORT_CSV, &o, 0, 2, NULL);
    char *want = fld_xasprintf(
        "record,subject,template,status,updated,heads,author,inspector,n,ok,"
        "where,remark\r\n"
        "%s,4201,t-export,final,2025-11-28 00:00:00,1,%s,Chị Lan,10,yes,"
        "21.028500 105.854200 12.0 5.0,'=x\r\n"
        "%s,4201,t-export,final,2025-11-28 00:00:00,1,%s,Chị Lan,3,no,,\r\n",
        R1, f->v[0]->author, R2, f->v[1]->author);

    /* the repeat group's question has its own rows, not a column here */
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void test_csv_one_template(void **state)
{
    struct fixture *f = *state;
    struct fld_export_opts o = {FLD_LANG_VI, NULL, "other", NULL};
    struct fld_export *x = NULL;
    struct fld_err err;

    assert_int_equal(fld_export_new(FLD_EXPORT_CSV, &o, &x, NULL), FLD_OK);
    assert_int_equal(fld_export_add(x, &f->r[0], &err), FLD_EUSAGE);
    assert_non_null(strstr(err.msg, "several templates (other, t-export)"));
    fld_export_free(x);
}

static void test_json(void **state)
{
    struct fixture *f = *state;
    struct fld_export_opts o = {FLD_LANG_VI, NULL, NULL, NULL};
    char *got = export(f, FLD_EXPORT_JSON, &o, 0, 2, NULL);
    struct fld_json *doc = NULL;
    const struct fld_json *recs, *v;
    size_t len = strlen(got);

    /* one canonical document, then a newline */
    assert_int_equal(got[len - 1], '\n');
    assert_int_equal(
        fld_json_check_canonical((const uint8_t *)got, len - 1, NULL), FLD_OK);
    assert_int_equal(fld_json_parse((const uint8_t *)got, len - 1, &doc, NULL),
                     FLD_OK);
    assert_string_equal(fld_json_get_string(doc, "format"), "field-export-v1");
    recs = fld_json_get(doc, "records");
    assert_int_equal(recs->n, 2);
    assert_string_equal(fld_json_get_string(recs->items[0], "record"), R1);
    v = fld_json_get(recs->items[0], "versions")->items[0];
    assert_string_equal(fld_json_get_string(v, "hash"), f->v[0]->hash);
    assert_memory_equal(fld_json_get_string(v, "body"), f->v[0]->body,
                        f->v[0]->body_len);
    fld_json_free(doc);
    free(got);
}

/* The record as a tree, written by fld_json_write(): how the JSON export
 * laid records out before it wrote them member by member. */
static char *json_as_tree(const struct fld_export_record *r)
{
    const struct fld_version *v = r->newest;
    struct fld_json *o = fld_json_object(), *heads = fld_json_array();
    struct fld_json *versions = fld_json_array(), *tobj = fld_json_object();
    struct fld_buf out = FLD_BUF_INIT;
    size_t i;

    for (i = 0; i < r->n_heads; i++)
        fld_json_append(heads, fld_json_string(r->heads[i]));
    for (i = 0; i < r->n_versions; i++) {
        struct fld_json *vo = fld_json_object();
        char sig[2 * FLD_SIG_LEN + 1];

        fld_hex_encode(r->versions[i]->sig, FLD_SIG_LEN, sig);
        fld_json_set(vo, "hash", fld_json_string(r->versions[i]->hash));
        fld_json_set(vo, "sig", fld_json_string(sig));
        fld_json_set(vo, "body",
                     fld_json_stringn((const char *)r->versions[i]->body,
                                      r->versions[i]->body_len));
        fld_json_append(versions, vo);
    }
    fld_json_set(tobj, "id", fld_json_string(v->template_id));
    fld_json_set(tobj, "hash", fld_json_string(v->template_hash));
    fld_json_set(o, "record", fld_json_string(v->record));
    fld_json_set(o, "subject", fld_json_string(v->subject));
    fld_json_set(o, "status", fld_json_string(r->status));
    fld_json_set(o, "updated_ms", fld_json_int(v->hlc.ms));
    fld_json_set(o, "answers", fld_json_clone(r->answers));
    fld_json_set(o, "conflicts", fld_json_int((int64_t)r->n_conflicts));
    fld_json_set(o, "heads", heads);
    fld_json_set(o, "versions", versions);
    fld_json_set(o, "template", tobj);
    assert_int_equal(fld_json_write(o, &out, NULL), FLD_OK);
    fld_json_free(o);
    return fld_buf_detach(&out, NULL);
}

/* Records laid out member by member (and on other threads, by
 * fld_export_json_render) are the bytes the tree gives: one head or
 * several, one version or several, conflicts, escapes in the bodies. */
static void test_json_render(void **state)
{
    struct fixture *f = *state;
    struct fld_export_record many = f->r[0];
    struct fld_version *vs[3] = {f->v[0], f->v[1], f->v[2]};
    char *heads[2] = {f->v[1]->hash, f->v[2]->hash};
    struct fld_export_opts o = {FLD_LANG_VI, NULL, NULL, NULL};
    struct fld_export *x = NULL;
    struct fld_buf a = FLD_BUF_INIT, b = FLD_BUF_INIT;
    size_t i;

    many.versions = vs;
    many.n_versions = 3;
    many.heads = heads;
    many.n_heads = 2;
    many.n_conflicts = 2;
    for (i = 0; i < 4; i++) {
        const struct fld_export_record *r = i < 3 ? &f->r[i] : &many;
        struct fld_buf got = FLD_BUF_INIT;
        char *want = json_as_tree(r);

        assert_int_equal(fld_export_json_render(r, &got, NULL), FLD_OK);
        assert_string_equal(fld_buf_str(&got), want);
        fld_buf_free(&got);
        free(want);
    }
    /* added rendered, the document is the one fld_export_add() makes */
    assert_int_equal(fld_export_new(FLD_EXPORT_JSON, &o, &x, NULL), FLD_OK);
    for (i = 0; i < 3; i++)
        assert_int_equal(fld_export_add(x, &f->r[i], NULL), FLD_OK);
    assert_int_equal(fld_export_add(x, &many, NULL), FLD_OK);
    assert_int_equal(fld_export_finish(x, &a, NULL), FLD_OK);
    fld_export_free(x);
    assert_int_equal(fld_export_new(FLD_EXPORT_JSON, &o, &x, NULL), FLD_OK);
    for (i = 0; i < 4; i++) {
        struct fld_buf one = FLD_BUF_INIT;

        assert_int_equal(
            fld_export_json_render(i < 3 ? &f->r[i] : &many, &one, NULL),
            FLD_OK);
        fld_export_add_rendered(x, one.data, one.len);
        fld_buf_free(&one);
    }
    assert_int_equal(fld_export_n_records(x), 4);
    assert_int_equal(fld_export_finish(x, &b, NULL), FLD_OK);
    fld_export_free(x);
    assert_string_equal(fld_buf_str(&a), fld_buf_str(&b));
    fld_buf_free(&a);
    fld_buf_free(&b);
}

static size_t n_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_xlsx_temporary_file(void **state)
{
    struct fixture *f = *state;
    char *dir = tu_mkdtemp();
    struct fld_export_opts o = {FLD_LANG_VI, "2026-01-01", NULL, dir};
    struct fld_export *x = NULL;
    struct fld_buf out = FLD_BUF_INIT;
    size_t i;

    assert_int_equal(fld_export_new(FLD_EXPORT_XLSX, &o, &x, NULL), FLD_OK);
    assert_int_equal(n_files(dir), 1); /* the workbook being built */
    for (i = 0; i < 3; i++)
        assert_int_equal(fld_export_add(x, &f->r[i], NULL), FLD_OK);
    assert_int_equal(fld_export_finish(x, &out, NULL), FLD_OK);
    fld_export_free(x);
    assert_int_equal(n_files(dir), 0); /* read back and removed */
    assert_true(out.len > 1000);
    assert_memory_equal(out.data, "PK\3\4", 4); /* a zip archive */
    fld_buf_free(&out);

    /* given up before the end: nothing left behind either */
    assert_int_equal(fld_export_new(FLD_EXPORT_XLSX, &o, &x, NULL), FLD_OK);
    assert_int_equal(fld_export_add(x, &f->r[0], NULL), FLD_OK);
    fld_export_free(x);
    assert_int_equal(n_files(dir), 0);

    /* no records still makes a workbook a spreadsheet opens */
    assert_int_equal(fld_export_new(FLD_EXPORT_XLSX, &o, &x, NULL), FLD_OK);
    assert_int_equal(fld_export_finish(x, &out, NULL), FLD_OK);
    fld_export_free(x);
    assert_memory_equal(out.data, "PK\3\4", 4);
    fld_buf_free(&out);
    tu_rmdir(dir);
}

static void test_xlsx_no_tmpdir(void **state)
{
    struct fld_export_opts o = {FLD_LANG_VI, NULL, NULL, "/nonexistent/dir"};
    struct fld_export *x = NULL;
    struct fld_err err;

    (void)state;
    assert_int_equal(fld_export_new(FLD_EXPORT_XLSX, &o, &x, &err), FLD_EIO);
    assert_null(x);
    assert_non_null(strstr(err.msg, "/nonexistent/dir"));
}

static void test_formats(void **state)
{
    static const char *const names[] = {"json", "csv", "xlsx", "geojson"};
    enum fld_export_format fm;
    struct fld_err err;
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++) {
        assert_int_equal(fld_export_format_parse(names[i], &fm, NULL), FLD_OK);
        assert_string_equal(fld_export_format_name(fm), names[i]);
    }
    assert_int_equal(fld_export_format_parse("xls", &fm, &err), FLD_EUSAGE);
    assert_non_null(strstr(err.msg, "json, csv, xlsx or geojson"));
    assert_string_equal(fld_export_media_type(FLD_EXPORT_GEOJSON),
                        "application/geo+json");
    assert_string_equal(fld_export_status_label("approved", FLD_LANG_VI),
                        "Đã duyệt");
    assert_string_equal(fld_export_status_label("returned", FLD_LANG_EN),
                        "Returned");
    assert_string_equal(fld_export_status_label("odd", FLD_LANG_VI), "odd");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_geojson, setup, teardown),
        cmocka_unit_test_setup_teardown(test_geojson_evaluated_ahead, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_geojson_empty_english, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_one_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_render, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xlsx_temporary_file, setup,
                                        teardown),
        cmocka_unit_test(test_xlsx_no_tmpdir),
        cmocka_unit_test(test_formats),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
