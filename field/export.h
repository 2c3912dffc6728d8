/*
 * export.h - records written out for other tools: JSON (every signed
 * version, for whoever must verify), CSV (one template, one row per
 * record), XLSX (a workbook for an office: a sheet per template, repeat
 * groups on their own sheets, labels in Vietnamese or English) and
 * GeoJSON (each inspection's position as a point, for QGIS).
 *
 * Where it sits: the caller gathers records (the device from its store,
 * field/cmd_export.c; the server from its database, server-stub/export.c),
 * shows each as the merge of its versions (sync/merge.h), and hands each
 * one here as plain data. This module never reads a store or the network:
 * the same bytes come out of `field export` and of the server's
 * GET /v1/export for the same records. docs/FORMATS.md gives the layouts.
 *
 * Records are added one at a time, so a caller holds one record in memory
 * at a time and only the output grows. An XLSX workbook is built by
 * libxlsxwriter in a temporary file (it writes only to a named file) that
 * fld_export_finish() reads back and removes; the other formats are built
 * in memory (a caller may take them as they come: fld_export_take).
 * Either way the caller gets bytes, and writes them where it wants: field
 * through fld_file_write() (a new file, never over another), the server into an
 * HTTP answer.
 */
#ifndef FLD_EXPORT_H
#define FLD_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "template.h"
#include "version.h"

enum fld_export_format {
    FLD_EXPORT_JSON,
    FLD_EXPORT_CSV,
    FLD_EXPORT_XLSX,
    FLD_EXPORT_GEOJSON
};

/* Largest workbook read back from its temporary file. */
#define FLD_EXPORT_MAX_XLSX (512u * 1024 * 1024)

/* "json", "csv", "xlsx" or "geojson"; FLD_EUSAGE naming them otherwise. */
int fld_export_format_parse(const char *name, enum fld_export_format *out,
                            struct fld_err *err);
const char *fld_export_format_name(enum fld_export_format f);
/* The media type of the format, for an HTTP answer. */
const char *fld_export_media_type(enum fld_export_format f);

/*
 * One record as it is shown: the merge of its versions. Everything is
 * borrowed for the duration of fld_export_add().
 */
struct fld_export_record {
    /* The head shown first (syn_merged.newest): the record's id, subject
     * (unit code), template, time, author and inspector are its. */
    const struct fld_version *newest;
    const struct fld_template *tmpl; /* the template newest names */
    const struct fld_json *answers;  /* the merged answers */
    const char *status;              /* the merged status */
    char *const *heads;              /* sorted head hashes */
    size_t n_heads;
    size_t n_conflicts;
    const char *unit_name; /* the subject's name, NULL when not known */
    /* JSON only: every version, in the order they are to be listed. */
    struct fld_version *const *versions;
    size_t n_versions;
};

struct fld_export_opts {
    enum fld_lang lang; /* XLSX and GeoJSON labels */
    /* "YYYY-MM-DD": the day rules that use today() are evaluated on, for
     * the tier result (XLSX, GeoJSON). */
    const char *today;
    /* CSV: the one template whose records make the file; NULL takes the
     * first record's. */
    const char *template_id;
    /* XLSX: where the temporary workbook goes; NULL: $TMPDIR, else /tmp. */
    const char *tmpdir;
};

struct fld_export;

/*
 * Start an export. opts is copied (its strings too). XLSX: FLD_EIO when
 * the temporary file cannot be made. *out is freed with fld_export_free().
 */
int fld_export_new(enum fld_export_format format,
                   const struct fld_export_opts *opts, struct fld_export **out,
                   struct fld_err *err);

/*
 * Add one record. CSV: FLD_EUSAGE when its template is not the file's
 * ("choose one with --template"). XLSX: FLD_ELIMIT beyond a sheet's
 * 1,048,576 rows. GeoJSON: a record with no position is counted
 * (fld_export_n_without_position) and left out; that is not an error.
 */
int fld_export_add(struct fld_export *x, const struct fld_export_record *r,
                   struct fld_err *err);

/*
 * JSON only, for a caller that lays records out on several threads: the
 * bytes fld_export_add() adds for r (without the separator before it),
 * appended to out. It reads nothing of an export, so any thread may call
 * it; out is left as it was on failure (FLD_EINVAL: a string that is not
 * valid UTF-8, possible only for records built by hand).
 * fld_export_add_rendered() then adds those bytes as the next record.
 */
int fld_export_json_render(const struct fld_export_record *r,
                           struct fld_buf *out, struct fld_err *err);
void fld_export_add_rendered(struct fld_export *x, const void *bytes,
                             size_t len);

/*
 * XLSX and GeoJSON show what the template's rules say of each record
 * (its calculations, its tier), the most of their cost. A caller on
 * several threads may work that out ahead: fld_export_evaluate() reads
 * nothing of an export, so any thread may call it (r->tmpl set, today the
 * export's "YYYY-MM-DD"); fld_export_add_evaluated() then adds r as
 * fld_export_add() does, with it. Free with fld_export_eval_free() (NULL
 * is fine).
 */
struct fld_export_eval;
struct fld_export_eval *fld_export_evaluate(const struct fld_export_record *r,
                                            const char *today);
int fld_export_add_evaluated(struct fld_export *x,
                             const struct fld_export_record *r,
                             const struct fld_export_eval *ev,
                             struct fld_err *err);
void fld_export_eval_free(struct fld_export_eval *ev);

/*
 * JSON, CSV, GeoJSON: the bytes laid out so far (fld_export_buffered())
 * appended to out and dropped from x, for a caller that writes a large
 * export as it goes instead of holding it whole; what fld_export_finish()
 * gives is then the rest. When out is empty the bytes are handed over,
 * not copied, and x goes on in out's buffer: a caller that empties out
 * (fld_buf_reset) after writing it copies nothing. XLSX: nothing
 * (libxlsxwriter holds its own).
 */
size_t fld_export_buffered(const struct fld_export *x);
void fld_export_take(struct fld_export *x, struct fld_buf *out);

/*
 * Append the whole file to out. XLSX: FLD_EIO when the workbook cannot be
 * written or read back, FLD_ELIMIT beyond FLD_EXPORT_MAX_XLSX. Adding
 * after finishing is a programmer's error.
 */
int fld_export_finish(struct fld_export *x, struct fld_buf *out,
                      struct fld_err *err);

/* Records added, and (GeoJSON) those left out for want of a position. */
size_t fld_export_n_records(const struct fld_export *x);
size_t fld_export_n_without_position(const struct fld_export *x);

/* Free x, removing a temporary workbook not finished. x may be NULL. */
void fld_export_free(struct fld_export *x);

/* "Nháp", "Hoàn thành", "Đã duyệt", "Không duyệt", "Trả lại" (or in
 * English) for a record's status; the status itself when unknown. */
const char *fld_export_status_label(const char *status, enum fld_lang lang);

#endif
