/*
 * bench_walk.c - the commands that walk a device's records, timed as an
 * inspector runs them: real `field` processes over a store of 10,000
 * commune inspections.
 *
 * The store is built the way an office migrating last year's figures
 * builds it: a JSON lines file of N records (the ntm-xa-2021 checklist,
 * region bac_trung_bo, year 2025, about 60 answers each as a person types
 * them, from ntm_answers.h, on the communes of Hà Tĩnh) given to
 * `field import`, which checks and signs each record as one version
 * (issue 11 item 4). That import is the first figure: versions per second
 * with synchronous=FULL, into a fresh `field init` store each run.
 *
 * Then, over the last store: `field export` as JSON, CSV, XLSX and
 * GeoJSON, `field list` (text and --json), `field show` of one record
 * (text and --json) and `field verify`. Each is run RUNS times; the human
 * lines give min, median and max of the wall time (process start to exit,
 * output written to a file) and the largest peak resident memory, and
 * every figure also goes out as one JSON line (the median), with its
 * target:
 *
 *   {"bench":"walk","figure":"export_json_ms","value":812.0,"unit":"ms",
 *    "target":"<= 1000"}
 *
 * Figures only: nothing here fails on time. It fails when a command
 * fails or the import does not hold N versions afterwards.
 *
 * Usage: bench_walk [N]   (default 10000 records)
 * With BENCH_WALK_KEEP=1 in the environment the temporary directory is
 * left in place (its path printed), for profiling a command by hand over
 * the same store: FIELD_HOME=DIR/home2 perf record -g field export ...
 * The `field` program is looked for in ../bin beside this program, or in
 * $FIELD_BUILD/bin when FIELD_BUILD is set.
 */
#define _GNU_SOURCE /* nftw's FTW_DEPTH and FTW_PHYS, environ */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_figure.h"
#include "buf.h"
#include "embedded.h"
#include "file.h"
#include "json.h"
#include "template.h"
#include "units.h"

#define DEFAULT_RECORDS 10000
#define RUNS 3
#define TEMPLATE "ntm-xa-2021"
#define UNITS_CSV "ha-tinh.csv"
#define MAX_COMMUNES 256

static char tmpdir[] = "/tmp/field-bench-walk-XXXXXX";
static char field_bin[PATH_MAX + 16];

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static int remove_one(const char *path, const struct stat *sb, int flag,
                      struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* rm -rf of the temporary directory; links are removed, not followed. */
static void clean_up(void)
{
    nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("bench_walk: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    clean_up();
    exit(1);
}

#define NTM_TEMPLATE TEMPLATE
#define ntm_die die
#include "ntm_answers.h"

static char *tpath(const char *name)
{
    return fld_xasprintf("%s/%s", tmpdir, name);
}

/* $FIELD_BUILD/bin/field, else ../bin/field beside this program. */
static void find_field(const char *argv0)
{
    const char *build = getenv("FIELD_BUILD");
    char self[PATH_MAX];
    char *slash;

    if (build != NULL && build[0] != '\0') {
        snprintf(field_bin, sizeof field_bin, "%s/bin/field", build);
        return;
    }
    if (realpath("/proc/self/exe", self) == NULL &&
        realpath(argv0, self) == NULL)
        die("cannot tell where this program is");
    slash = strrchr(self, '/');
    *slash = '\0';
    snprintf(field_bin, sizeof field_bin, "%s/../bin/field", self);
}

/* ---- one process ---------------------------------------------------------
 */

struct ran {
    double secs;
    long max_rss_kb;
};

/*
 * field ARGS... with FIELD_HOME=home, standard output into out_path,
 * standard error into $tmpdir/stderr; dies, showing that error, unless
 * it exits 0. The wall time runs from spawning to reaping.
 */
static struct ran field(const char *home, const char *out_path,
                        const char *const *args)
{
    const char *argv[16];
    char *err_path = tpath("stderr");
    posix_spawn_file_actions_t fa;
    struct rusage ru;
    struct ran r;
    size_t n = 0;
    double t0;
    pid_t pid;
    int status, rc;

    argv[n++] = field_bin;
    while (*args != NULL && n < 15)
        argv[n++] = *args++;
    argv[n] = NULL;
    setenv("FIELD_HOME", home, 1);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    t0 = now_s();
    rc = posix_spawn(&pid, field_bin, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        die("cannot run %s: %s", field_bin, strerror(rc));
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            die("wait4: %s", strerror(errno));
    r.secs = now_s() - t0;
    r.max_rss_kb = ru.ru_maxrss;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        uint8_t *msg = NULL;
        size_t len = 0;

        fld_file_read(err_path, 64 * 1024, &msg, &len, NULL);
        die("field %s exited %d: %.*s", argv[1],
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
            (int)len, msg ? (const char *)msg : "");
    }
    free(err_path);
    return r;
}

/* ---- the records --------------------------------------------------------
 */

struct communes {
    struct commune c[MAX_COMMUNES];
    size_t n;
};

static int add_commune(void *ctx, const struct fld_unit *u)
{
    struct communes *cs = ctx;

    if (strcmp(u->kind, "xa") != 0 || u->valid_to != NULL ||
        cs->n == MAX_COMMUNES)
        return FLD_OK;
    snprintf(cs->c[cs->n].code, sizeof cs->c->code, "%s", u->code);
    snprintf(cs->c[cs->n].name, sizeof cs->c->name, "%s", u->name);
    cs->n++;
    return FLD_OK;
}

/* Today's communes of Hà Tĩnh, from the units `field init` loads. */
static void load_communes(struct communes *cs)
{
    const struct fld_embedded *csv = fld_embedded_find(UNITS_CSV);
    struct fld_units_dest dest;
    unsigned char *text;
    size_t n;

    memset(&dest, 0, sizeof dest);
    dest.put = add_commune;
    dest.ctx = cs;
    cs->n = 0;
    if (csv == NULL)
        die("no communes in %s", UNITS_CSV);
    text = fld_embedded_inflate(csv);
    if (fld_units_read(text, csv->len, &dest, &n, NULL) != FLD_OK || cs->n == 0)
        die("no communes in %s", UNITS_CSV);
    free(text);
}

/*
 * The answers as a person types them, which is what `field import`
 * takes: a string stays itself, an integer its digits. ntm_answers.h
 * gives no other kind.
 */
static struct fld_json *as_typed(const struct fld_json *a)
{
    struct fld_json *o = fld_json_object();
    size_t i;

    for (i = 0; i < a->n; i++) {
        const struct fld_json *v = a->members[i].value;

        if (v->type != FLD_JSON_STRING && v->type != FLD_JSON_INT)
            die("answer %s is neither text nor an integer", a->members[i].key);
        fld_json_set(o, a->members[i].key, fld_json_clone(v));
    }
    return o;
}

/* n records, one JSON object a line; returns the path (free()). */
static char *write_records(size_t n, size_t *bytes)
{
    const struct fld_embedded *e = fld_embedded_find(TEMPLATE ".json");
    char *path = tpath("records.jsonl");
    struct fld_buf b = FLD_BUF_INIT;
    struct fld_template *t;
    struct communes cs;
    size_t i;

    if (e == NULL || fld_template_parse_embedded(e, &t, NULL) != FLD_OK)
        die("cannot load %s", TEMPLATE);
    load_communes(&cs);
    for (i = 0; i < n; i++) {
        const struct commune *c = &cs.c[rnd(cs.n)];
        struct fld_json *a = first_answers(t, c), *line = fld_json_object();

        revise(t, a, 2); /* the second visit completes the checklist */
        fld_json_set(line, "template", fld_json_string(TEMPLATE));
        fld_json_set(line, "subject", fld_json_string(c->code));
        fld_json_set(line, "status", fld_json_string("draft"));
        fld_json_set(line, "answers", as_typed(a));
        if (fld_json_write(line, &b, NULL) != FLD_OK)
            die("cannot write record %zu", i);
        fld_buf_append(&b, "\n", 1);
        fld_json_free(line);
        fld_json_free(a);
    }
    if (fld_file_write(path, b.data, b.len, 0600, 0, NULL) != FLD_OK)
        die("cannot write %s", path);
    *bytes = b.len;
    fld_buf_free(&b);
    fld_template_free(t);
    return path;
}

/* ---- figures -------------------------------------------------------------
 */

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/*
 * The human line (min, median, max of RUNS, and peak memory) and the JSON
 * line of one figure: the median wall time in ms, or, when per is not 0,
 * per / median seconds in unit (a rate).
 */
static void report(const char *what, const char *figure, struct ran *runs,
                   double per, const char *unit, const char *target)
{
    double s[RUNS];
    char name[96];
    long rss = 0;
    size_t i;
    double v;

    for (i = 0; i < RUNS; i++) {
        s[i] = runs[i].secs;
        if (runs[i].max_rss_kb > rss)
            rss = runs[i].max_rss_kb;
    }
    qsort(s, RUNS, sizeof *s, by_value);
    v = per > 0 ? per / s[RUNS / 2] : 1000.0 * s[RUNS / 2];
    printf("%-34s %8.0f - %8.0f - %8.0f ms   %7.1f MB   %10.0f %s\n", what,
           1000 * s[0], 1000 * s[RUNS / 2], 1000 * s[RUNS - 1],
           (double)rss / 1024, v, unit);
    bench_figure("walk", figure, v, unit, target);
    snprintf(name, sizeof name, "%s_rss_mb", figure);
    bench_figure("walk", name, (double)rss / 1024, "MB", NULL);
}

/* One walking command, RUNS times over home; output to out. */
static void walk(const char *home, const char *what, const char *figure,
                 const char *target, const char *const *args)
{
    char *out = tpath("out");
    struct ran runs[RUNS];
    size_t i;

    for (i = 0; i < RUNS; i++) {
        unlink(out); /* --output never overwrites */
        runs[i] = field(home, out, args);
    }
    report(what, figure, runs, 0, "ms", target);
    free(out);
}

/* The id of a record in the middle of `field list --json` (new string). */
static char *some_record(const char *home)
{
    const char *list[] = {"list", "--json", NULL};
    char *out = tpath("list.json"), *id;
    struct fld_json *j = NULL;
    uint8_t *text = NULL;
    size_t len = 0;
    const char *s;

    field(home, out, list);
    if (fld_file_read(out, 256u << 20, &text, &len, NULL) != FLD_OK ||
        fld_json_parse(text, len, &j, NULL) != FLD_OK ||
        j->type != FLD_JSON_ARRAY || j->n == 0)
        die("field list --json gave no list");
    s = fld_json_get_string(j->items[j->n / 2], "record");
    if (s == NULL)
        die("field list --json gave no record id");
    id = fld_xstrdup(s);
    fld_json_free(j);
    free(text);
    free(out);
    return id;
}

static size_t parse_count(int argc, char **argv)
{
    char *end;
    unsigned long v;

    if (argc < 2)
        return DEFAULT_RECORDS;
    v = strtoul(argv[1], &end, 10);
    if (*end != '\0' || v < 10 || v > 1000000) {
        fprintf(stderr, "usage: bench_walk [N]   (N records, 10..1000000)\n");
        exit(2);
    }
    return (size_t)v;
}

int main(int argc, char **argv)
{
    size_t n = parse_count(argc, argv), bytes, i;
    const char *import_target = ">= 5000";
    struct ran runs[RUNS];
    char *records, *home = NULL, *out, *id, *xlsx;

    if (mkdtemp(tmpdir) == NULL) {
        fprintf(stderr, "bench_walk: cannot make a temporary directory\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    find_field(argv[0]);
    out = tpath("out");
    records = write_records(n, &bytes);
    printf("%zu draft records of %s (%zu bytes of JSON lines); each command "
           "%d times: min - median - max wall time, peak RSS\n\n",
           n, TEMPLATE, bytes, RUNS);

    for (i = 0; i < RUNS; i++) {
        const char *init[] = {"init", "--inspector", "Nguyễn Văn An", NULL};
        const char *import[] = {"import", records, NULL};
        char name[16];

        snprintf(name, sizeof name, "home%zu", i);
        free(home);
        home = tpath(name);
        field(home, out, init);
        runs[i] = field(home, out, import);
    }
    report("import (JSON lines, FULL)", "import_versions_per_s", runs,
           (double)n, "versions/s", import_target);
    {
        const char *count[] = {"verify", "--json", NULL};
        struct fld_json *j = NULL;
        uint8_t *text = NULL;
        size_t len = 0;
        int64_t nv = -1;

        field(home, out, count);
        if (fld_file_read(out, 1 << 20, &text, &len, NULL) != FLD_OK ||
            fld_json_parse(text, len, &j, NULL) != FLD_OK ||
            !fld_json_get_int(j, "versions", &nv) || nv != (int64_t)n)
            die("the store holds %lld versions, not %zu", (long long)nv, n);
        fld_json_free(j);
        free(text);
    }

    xlsx = tpath("out.xlsx");
    {
        const char *json[] = {"export", "--format", "json", NULL};
        const char *csv[] = {"export", "--format", "csv", NULL};
        const char *geo[] = {"export", "--format", "geojson", NULL};
        const char *book[] = {"export",   "--format", "xlsx",
                              "--output", xlsx,       NULL};

        walk(home, "export --format json", "export_json_ms", "<= 1000", json);
        walk(home, "export --format csv", "export_csv_ms", "<= 1000", csv);
        unlink(xlsx);
        for (i = 0; i < RUNS; i++) {
            unlink(xlsx);
            runs[i] = field(home, out, book);
        }
        report("export --format xlsx", "export_xlsx_ms", runs, 0, "ms",
               "<= 1000");
        walk(home, "export --format geojson", "export_geojson_ms", "<= 1000",
             geo);
    }
    {
        const char *list[] = {"list", NULL};
        const char *list_json[] = {"list", "--json", NULL};
        const char *verify[] = {"verify", NULL};

        walk(home, "list", "list_ms", "<= 250", list);
        walk(home, "list --json", "list_json_ms", "<= 250", list_json);
        id = some_record(home);
        {
            const char *show[] = {"show", id, NULL};
            const char *show_json[] = {"show", "--json", id, NULL};

            walk(home, "show (one record)", "show_ms", "<= 50", show);
            walk(home, "show --json (one record)", "show_json_ms", "<= 50",
                 show_json);
        }
        walk(home, "verify", "verify_ms", "<= 1000", verify);
    }
    free(id);
    free(xlsx);
    free(out);
    free(home);
    free(records);
    if (getenv("BENCH_WALK_KEEP") != NULL)
        printf("\nkept %s\n", tmpdir);
    else
        clean_up();
    return 0;
}
