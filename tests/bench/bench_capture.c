/*
 * bench_capture.c - how fast a device signs and stores versions.
 *
 * Prints, for a realistic answer set (the demo template filled in):
 *   - versions signed per second (canonical JSON + BLAKE2b + Ed25519),
 *   - versions imported per second (strict parse + canonical check +
 *     signature verification), beside raw Ed25519 verifications per second,
 *   - versions signed and stored per second through fld_capture_save, one
 *     transaction each, with synchronous=FULL on the real file system,
 *   - `field verify` over the resulting store, versions per second.
 * Usage: bench_capture [N]   (default 2000 stored versions)
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"
#include "buf.h"
#include "capture.h"
#include "embedded.h"
#include "verify.h"

static struct fld_json *answers(int i)
{
    struct fld_json *a = fld_json_object(), *waste = fld_json_array();
    char text[64];

    fld_json_append(waste, fld_json_string("collected"));
    fld_json_append(waste, fld_json_string("sorted"));
    snprintf(text, sizeof text, "Đường trục xã đã bê tông hoá, lần %d", i);
    fld_json_set(a, "inspection_date", fld_json_string("2026-11-28"));
    fld_json_set(a, "location", fld_json_string("18.352100 105.901200"));
    fld_json_set(a, "planning_approved", fld_json_string("yes"));
    fld_json_set(a, "road_total_km", fld_json_string("24.6"));
    fld_json_set(a, "road_hardened_km", fld_json_string("21.35"));
    fld_json_set(a, "households_total", fld_json_int(1204));
    fld_json_set(a, "households_latrine", fld_json_int(1000 + i % 200));
    fld_json_set(a, "waste", waste);
    fld_json_set(a, "income_mvnd", fld_json_string("54.78"));
    fld_json_set(a, "remarks", fld_json_string(text));
    return a;
}

static void fault(void *ctx, const char *kind, const char *subject,
                  const char *msg)
{
    (void)ctx;
    fprintf(stderr, "unexpected fault: %s %s: %s\n", kind, subject, msg);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000, i;
    const struct fld_embedded *e = fld_embedded_find("field-demo.json");
    char dir[] = "/tmp/field-bench-XXXXXX", path[64];
    struct fld_template *t;
    struct fld_store *st;
    struct fld_key *key;
    struct fld_version *v, *next;
    struct fld_verify_stats stats;
    struct fld_json *a;
    uint8_t msg[48];
    double t0, dt;
    size_t body_bytes = 0;

    if (sodium_init() < 0 || n < 10 || mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof path, "%s/field.db", dir);
    if (fld_template_parse_embedded(e, &t, NULL) ||
        fld_key_generate(&key, NULL) ||
        fld_store_open(path, FLD_STORE_CREATE, &st, NULL) ||
        fld_capture_setup(st, key, "Bench", NULL) ||
        fld_capture_new(st, key, t, "18424", NULL, &v, NULL))
        return 1;

    /* sign only */
    {
        struct fld_version_draft d;
        struct fld_version *s;
        int rounds = 5 * n;

        memset(&d, 0, sizeof d);
        d.record = v->record;
        d.dseq = 7;
        d.prev = v->hash;
        d.template_id = v->template_id;
        d.template_hash = v->template_hash;
        d.subject = "18424";
        d.status = "draft";
        a = answers(1);
        d.answers = a;
        t0 = now_s();
        for (i = 0; i < rounds; i++) {
            d.hlc.ms = 1764288000000 + i;
            fld_version_sign(&d, key, &s, NULL);
            body_bytes = s->body_len;
            if (i + 1 < rounds)
                fld_version_free(s);
        }
        dt = now_s() - t0;
        printf("sign:            %8.0f versions/s  (body %zu bytes)\n",
               rounds / dt, body_bytes);
        t0 = now_s();
        for (i = 0; i < rounds; i++) {
            struct fld_version *o;

            if (fld_version_open(s->body, s->body_len, s->sig, &o, NULL) !=
                FLD_OK)
                return 1;
            fld_version_free(o);
        }
        dt = now_s() - t0;
        printf("import+verify:   %8.0f versions/s\n", rounds / dt);
        memset(msg, 7, sizeof msg);
        t0 = now_s();
        for (i = 0; i < rounds; i++)
            if (fld_sig_verify(
                    fld_key_public(key),
                    (const uint8_t *)"field-version-v1"
                                     "0123456789abcdef0123456789abcdef",
                    48, s->sig) == FLD_OK)
                return 1; /* wrong message: must fail, but costs a full check */
        dt = now_s() - t0;
        printf("ed25519 verify:  %8.0f /s (this machine, same run)\n",
               rounds / dt);
        fld_version_free(s);
        fld_json_free(a);
    }

    /* sign + store, one transaction each, synchronous=FULL */
    t0 = now_s();
    for (i = 0; i < n; i++) {
        a = answers(i);
        if (fld_capture_save(st, key, v, a, "draft", &next, NULL) != FLD_OK)
            return 1;
        fld_json_free(a);
        fld_version_free(v);
        v = next;
    }
    dt = now_s() - t0;
    printf("capture (FULL):  %8.0f versions/s  (%d versions, one transaction "
           "each, %.2f ms each)\n",
           n / dt, n, 1000 * dt / n);

    t0 = now_s();
    if (fld_verify_store(st, fault, NULL, &stats, NULL) != FLD_OK)
        return 1;
    dt = now_s() - t0;
    printf("verify store:    %8.0f versions/s  (%lld versions)\n",
           (double)stats.n_versions / dt, (long long)stats.n_versions);

    fld_version_free(v);
    fld_store_close(st);
    fld_key_free(key);
    fld_template_free(t);
    {
        char *p;
        static const char *const suffix[] = {"", "-wal", "-shm"};

        for (i = 0; i < 3; i++) {
            p = fld_xasprintf("%s%s", path, suffix[i]);
            unlink(p);
            free(p);
        }
        rmdir(dir);
    }
    return 0;
}
