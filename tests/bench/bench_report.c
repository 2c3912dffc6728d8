/*
 * bench_report.c - the province's progress report (server-stub/report.c,
 * srv_report_build) over 10,000 approved commune assessments: how long
 * `field-server report` takes to compute its figures, and how much
 * memory it needs.
 *
 * The province built here is the upper bound a report meets: one top
 * unit, 100 district-level units, 10,000 communes (about as many as the
 * whole country had before the merger of 1 July 2025; a real province has
 * one to two hundred), one in 170 not taking part in the programme, as
 * the source document's Kỳ Lợi does not. Each commune has one record of
 * the built-in ntm-xa-2021 checklist (92 questions, 19 criteria), with
 * the answers an inspector gives on two visits (ntm_answers.h, region
 * bac_trung_bo, year 2025): a final version signed by the district's
 * inspector, then an approved one signed by the province's supervisor,
 * both devices enrolled. The province's thresholds are loaded as one
 * signed revision by an admin's device, so that criteria are decided
 * rather than left unknown. 20,000 versions in all.
 *
 * The database is written through the storage interface directly (not
 * over HTTP), by a child process, so that neither the time nor the
 * memory of writing it is measured: the parent then opens it and times
 * srv_report_build() over the whole province, as of 30/06/2025, three
 * times, and prints the median, its peak resident memory, and the
 * report's counts (checked: every record approved, every commune taking
 * part counted). Figures only: nothing here fails on time.
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"
#include "date.h"
#include "embedded.h"
#include "report.h"
#include "storage.h"
#include "template.h"
#include "version.h"
#include "../../server-stub/thresholds.h"

#define TEMPLATE "ntm-xa-2021"
#define N_DISTRICTS 100
#define PER_DISTRICT 100
#define N_COMMUNES (N_DISTRICTS * PER_DISTRICT)
#define NOT_TAKING_PART 170 /* one commune in this many */
#define AS_OF "2025-06-30"
#define RUNS 3
#define BATCH 500 /* records per transaction while writing */

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("bench_report: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

#define NTM_TEMPLATE TEMPLATE
#define ntm_die die
#include "ntm_answers.h"

/* CPU time of this process, user and system: steadier than the wall
 * clock on a machine others share. */
static double cpu_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The first millisecond of a day, UTC: receipt times for the data. */
static int64_t day_ms(const char *date)
{
    int64_t days = 0;

    if (!fld_date_parse(date, &days))
        die("bad date %s", date);
    return days * 86400000;
}

/* A device and its chain: the dseq and prev of its next version. */
struct author {
    struct fld_key *key;
    char pubkey[FLD_HASH_HEX_LEN + 1];
    int64_t dseq;
    char prev[FLD_HASH_HEX_LEN + 1];
};

static void enroll(struct srv_storage *st, struct author *a, const char *name,
                   const char *role, const char *scope)
{
    struct srv_device d;
    char *units[1] = {(char *)scope};

    if (fld_key_generate(&a->key, NULL) != FLD_OK)
        die("cannot make a key");
    fld_key_public_hex(a->key, a->pubkey);
    memset(&d, 0, sizeof d);
    memcpy(d.pubkey, a->pubkey, sizeof d.pubkey);
    d.inspector = (char *)name;
    d.role = (char *)role;
    d.scope = units;
    d.n_scope = 1;
    d.enrolled_ms = day_ms("2025-01-02");
    if (srv_storage_device_add(st, &d, NULL) != FLD_OK)
        die("cannot enroll %s", name);
}

/* Sign a version of record by a, as received at received_ms, and store
 * it; its hash in hash. */
static void store(struct srv_storage *st, struct author *a,
                  const struct fld_template *t, const char *record,
                  const char *parent, const char *subject, const char *status,
                  const struct fld_json *answers, int64_t received_ms,
                  char hash[FLD_HASH_HEX_LEN + 1])
{
    struct fld_version_draft d;
    struct fld_version *v = NULL;
    struct srv_version_in in;
    const char *parents[1] = {parent};
    struct fld_err err;
    int64_t seq;

    memset(&d, 0, sizeof d);
    d.record = record;
    d.parents = parents;
    d.n_parents = parent ? 1 : 0;
    d.dseq = ++a->dseq;
    d.prev = a->prev[0] ? a->prev : NULL;
    d.hlc.ms = received_ms - 3600000; /* an hour before it arrived */
    d.template_id = TEMPLATE;
    d.template_hash = fld_template_hash(t);
    d.subject = subject;
    d.status = status;
    d.answers = answers;
    if (fld_version_sign(&d, a->key, &v, &err) != FLD_OK)
        die("sign: %s", err.msg);
    memset(&in, 0, sizeof in);
    in.v = v;
    in.pusher = a->pubkey;
    in.received_ms = received_ms;
    if (srv_storage_version_put(st, &in, &seq, &err) != FLD_OK)
        die("store: %s", err.msg);
    memcpy(a->prev, v->hash, sizeof a->prev);
    memcpy(hash, v->hash, FLD_HASH_HEX_LEN + 1);
    fld_version_free(v);
}

/*
 * The province's values for the template's thresholds, as an admin
 * would sign them (the bench's own values, not the decision's): one for
 * the whole country, by region, or by region and year.
 */
static const struct threshold_value {
    const char *name, *value;
    int by; /* 0: value, 1: region, 2: region/year */
} values[] = {
    {"road_xa_paved_pct", "100", 0},
    {"road_thon_hard_pct", "80", 1},
    {"road_ngo_ok_pct", "75", 1},
    {"road_noidong_ok_pct", "60", 1},
    {"irrigated_pct", "80", 1},
    {"households_power_pct", "98", 1},
    {"schools_standard_pct", "70", 1},
    {"villages_culture_house_pct", "100", 0},
    {"solid_house_pct", "80", 1},
    {"income_min_mvnd", "54", 2},
    {"poverty_max_pct", "4", 1},
    {"employed_pct", "95", 1},
    {"trained_pct", "70", 1},
    {"certified_pct", "25", 1},
    {"grads_continuing_pct", "85", 1},
    {"insured_pct", "90", 1},
    {"stunting_max_pct", "22", 1},
    {"ehr_pct", "90", 1},
    {"villages_cultural_pct", "70", 1},
    {"water_hygienic_pct", "98", 1},
    {"water_clean_pct", "50", 1},
    {"establishments_ok_pct", "100", 1},
    {"green_public_m2_per_person", "2", 0},
    {"waste_treated_pct", "80", 1},
    {"pesticide_med_treated_pct", "100", 1},
    {"households_3clean_pct", "60", 1},
    {"livestock_ok_pct", "60", 1},
    {"food_est_ok_pct", "100", 1},
    {"sorting_pct", "30", 1},
    {"plastic_treated_pct", "80", 1},
    {"orgs_sp_good_pct", "50", 0},
};

static void load_thresholds(struct srv_storage *st, const struct author *admin,
                            const struct fld_template *t)
{
    struct fld_buf draft = FLD_BUF_INIT, file = FLD_BUF_INIT;
    struct fld_json *d = NULL;
    struct fld_thresholds *r = NULL;
    struct fld_err err;
    int64_t seq;
    size_t i;

    fld_buf_puts(&draft,
                 "{\"template\":\"" TEMPLATE "\",\"revision\":1,"
                 "\"valid_from\":\"2025-01-01\",\"source\":\"Quyết định "
                 "thử nghiệm (bench)\",\"thresholds\":{");
    for (i = 0; i < sizeof values / sizeof values[0]; i++) {
        const struct threshold_value *v = &values[i];

        fld_buf_printf(&draft, "%s\"%s\":", i ? "," : "", v->name);
        if (v->by == 0)
            fld_buf_printf(&draft, "{\"value\":\"%s\"}", v->value);
        else
            fld_buf_printf(&draft, "{\"values\":{\"bac_trung_bo%s\":\"%s\"}}",
                           v->by == 2 ? "/2025" : "", v->value);
    }
    fld_buf_puts(&draft, "}}");
    if (fld_json_parse(draft.data, draft.len, &d, &err) != FLD_OK ||
        fld_thresholds_sign(d, t, admin->key, day_ms("2025-01-05"), &r, &err) !=
            FLD_OK)
        die("thresholds: %s", err.msg);
    fld_thresholds_write(r, &file);
    fld_thresholds_free(r);
    r = NULL;
    if (srv_thresholds_add(st, file.data, file.len, day_ms("2025-01-05"), &r,
                           &seq, &err) != FLD_OK)
        die("thresholds add: %s", err.msg);
    fld_thresholds_free(r);
    fld_json_free(d);
    fld_buf_free(&draft);
    fld_buf_free(&file);
}

static void put_unit(struct srv_storage *st, const char *code, const char *name,
                     const char *kind, const char *parent, bool in_programme)
{
    struct srv_unit u = {code,         name, kind,         parent,
                         "2000-01-01", NULL, in_programme, NULL};

    if (srv_storage_unit_put(st, &u, NULL) != FLD_OK)
        die("unit %s", code);
}

static void commune_code(size_t i, char out[16])
{
    snprintf(out, 16, "90%02zu%03zu", i / PER_DISTRICT, i % PER_DISTRICT);
}

/* The whole province at path, written in batches of BATCH records. */
static void build_db(const char *path)
{
    const struct fld_embedded *e = fld_embedded_find(TEMPLATE ".json");
    struct srv_storage *st;
    struct fld_template *t;
    struct srv_template_row row;
    struct author admin, supervisor, inspectors[N_DISTRICTS];
    const uint8_t *canon;
    size_t len, i;
    int64_t june = day_ms("2025-06-01");

    memset(&admin, 0, sizeof admin);
    memset(&supervisor, 0, sizeof supervisor);
    memset(inspectors, 0, sizeof inspectors);
    if (e == NULL || fld_template_parse_embedded(e, &t, NULL) != FLD_OK)
        die("no template %s", TEMPLATE);
    if (srv_storage_open(path, true, &st, NULL) != FLD_OK ||
        srv_storage_begin(st, NULL) != FLD_OK)
        die("cannot create %s", path);
    srv_storage_meta_set(st, "epoch", "0123456789abcdef", NULL);
    canon = fld_template_canonical(t, &len);
    row.hash = fld_template_hash(t);
    row.id = fld_template_id(t);
    row.version = "1";
    row.added_ms = day_ms("2025-01-02");
    if (srv_storage_template_put(st, &row, canon, len, NULL) != FLD_OK)
        die("cannot install %s", TEMPLATE);
    put_unit(st, "90", "Tỉnh Thử Nghiệm", "tinh", NULL, true);
    enroll(st, &admin, "Quản trị tỉnh", "admin", "90");
    enroll(st, &supervisor, "Phạm Thị Dung", "supervisor", "90");
    for (i = 0; i < N_DISTRICTS; i++) {
        char code[16], name[64];

        snprintf(code, sizeof code, "90%02zu", i);
        snprintf(name, sizeof name, "Huyện Thử %zu", i + 1);
        put_unit(st, code, name, "huyen", "90", true);
        snprintf(name, sizeof name, "Cán bộ huyện %zu", i + 1);
        enroll(st, &inspectors[i], name, "inspector", code);
    }
    load_thresholds(st, &admin, t);
    for (i = 0; i < N_COMMUNES; i++) {
        struct commune c;
        char district[16], record[FLD_RECORD_HEX_LEN + 1];
        char final[FLD_HASH_HEX_LEN + 1], approved[FLD_HASH_HEX_LEN + 1];
        struct fld_json *a;
        int64_t at = june + (int64_t)rnd(20 * 86400) * 1000;

        commune_code(i, c.code);
        snprintf(c.name, sizeof c.name, "Xã Thử %zu", i + 1);
        snprintf(district, sizeof district, "%.4s", c.code);
        put_unit(st, c.code, c.name, "xa", district,
                 i % NOT_TAKING_PART != NOT_TAKING_PART - 1);
        a = first_answers(t, &c);
        revise(t, a, 2); /* the second visit completes it */
        fld_record_id_new(record);
        store(st, &inspectors[i / PER_DISTRICT], t, record, NULL, c.code,
              "final", a, at, final);
        store(st, &supervisor, t, record, final, c.code, "approved", a,
              at + (int64_t)between(1, 5) * 86400000, approved);
        fld_json_free(a);
        if ((i + 1) % BATCH == 0 && (srv_storage_commit(st, NULL) != FLD_OK ||
                                     srv_storage_begin(st, NULL) != FLD_OK))
            die("cannot commit");
    }
    if (srv_storage_commit(st, NULL) != FLD_OK)
        die("cannot commit");
    srv_storage_close(st);
    fld_key_free(admin.key);
    fld_key_free(supervisor.key);
    for (i = 0; i < N_DISTRICTS; i++)
        fld_key_free(inspectors[i].key);
    fld_template_free(t);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void remove_db(const char *dir, const char *path)
{
    char *wal = fld_xasprintf("%s-wal", path),
         *shm = fld_xasprintf("%s-shm", path);

    unlink(wal);
    unlink(shm);
    unlink(path);
    rmdir(dir);
    free(wal);
    free(shm);
}

int main(void)
{
    char dir[] = "/tmp/field-bench-report-XXXXXX";
    char *path;
    struct srv_storage *st;
    struct srv_report *r = NULL;
    const struct srv_report_tier *tier;
    struct fld_err err;
    struct rusage ru;
    double secs[RUNS], cpu[RUNS], t0, c0;
    int64_t n_excluded = N_COMMUNES / NOT_TAKING_PART;
    pid_t pid;
    int status, bad = 0, i;

    if (sodium_init() < 0 || mkdtemp(dir) == NULL)
        die("cannot start");
    setvbuf(stdout, NULL, _IOLBF, 0);
    path = fld_xasprintf("%s/server.db", dir);
    printf("writing %d communes, %d records of %s (%d versions, signed) "
           "through the storage interface ...\n",
           N_COMMUNES, N_COMMUNES, TEMPLATE, 2 * N_COMMUNES);
    t0 = now_s();
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        build_db(path);
        _exit(0);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        remove_db(dir, path);
        die("writing the database failed");
    }
    printf("written in %.1f s (not measured)\n", now_s() - t0);

    if (srv_storage_open(path, false, &st, &err) != FLD_OK)
        die("open: %s", err.msg);
    for (i = 0; i < RUNS; i++) {
        srv_report_free(r);
        r = NULL;
        t0 = now_s();
        c0 = cpu_s();
        if (srv_report_build(st, "90", AS_OF, &r, &err) != FLD_OK)
            die("report: %s", err.msg);
        secs[i] = now_s() - t0;
        cpu[i] = cpu_s() - c0;
    }
    qsort(secs, RUNS, sizeof secs[0], cmp_double);
    qsort(cpu, RUNS, sizeof cpu[0], cmp_double);
    getrusage(RUSAGE_SELF, &ru);

    tier = r->n_tiers == 1 ? &r->tiers[0] : NULL;
    if (tier == NULL || r->n_records != N_COMMUNES ||
        r->n_approved != N_COMMUNES || tier->total != N_COMMUNES - n_excluded ||
        (int64_t)r->n_excluded != n_excluded || r->n_localities != N_DISTRICTS)
        bad = 1;
    printf("report over %d records (%d versions): %.2f s median of %d "
           "(runs %.2f %.2f %.2f; target < 1 s)\n",
           N_COMMUNES, 2 * N_COMMUNES, secs[RUNS / 2], RUNS, secs[0], secs[1],
           secs[2]);
    printf("CPU time %.2f s median; peak resident memory of the reporting "
           "process %.1f MB\n",
           cpu[RUNS / 2], (double)ru.ru_maxrss / 1024.0);
    if (tier != NULL)
        printf("figures: %lld approved of %lld records; tier %s: %lld met, "
               "%lld not met, %lld unknown, %lld not assessed of %lld; "
               "%zu not taking part%s\n",
               (long long)r->n_approved, (long long)r->n_records, tier->code,
               (long long)tier->count[SRV_TIER_MET],
               (long long)tier->count[SRV_TIER_NOT_MET],
               (long long)tier->count[SRV_TIER_UNKNOWN],
               (long long)tier->count[SRV_TIER_NOT_ASSESSED],
               (long long)tier->total, r->n_excluded,
               bad ? " (WRONG COUNTS)" : "");
    else
        printf("figures: WRONG, %zu tiers\n", r->n_tiers);
    srv_report_free(r);
    srv_storage_close(st);
    remove_db(dir, path);
    free(path);
    return bad;
}
