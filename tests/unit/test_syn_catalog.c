/*
 * test_syn_catalog.c - threshold revisions fetched during a sync
 * (sync/catalog.h), against a server played by a function that answers
 * GET /v1/thresholds?after=SEQ from a list: nothing is asked when the
 * sync answer announces nothing new; revisions are verified, checked
 * against their template and stored with the number seen in one go; one
 * of a template the device lacks is skipped but seen; a page that does
 * not verify, or comes out of order, keeps nothing; --full fetches again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "client.h"
#include "protocol.h"
#include "testutil.h"

static const char template_json[] =
    "{\"id\":\"thr-cat\",\"version\":\"1\",\"title\":{\"vi\":\"T\"},"
    "\"thresholds\":{\"pct\":{\"label\":{\"vi\":\"P\"},\"value\":null}},"
    "\"sections\":[{\"name\":\"s\",\"label\":{\"vi\":\"S\"},\"questions\":["
    " {\"name\":\"x\",\"type\":\"integer\",\"label\":{\"vi\":\"X\"}}]}]}";
/* the same template with another version: another hash, not installed */
static const char other_json[] =
    "{\"id\":\"thr-cat\",\"version\":\"2\",\"title\":{\"vi\":\"T\"},"
    "\"thresholds\":{\"pct\":{\"label\":{\"vi\":\"P\"},\"value\":null}},"
    "\"sections\":[{\"name\":\"s\",\"label\":{\"vi\":\"S\"},\"questions\":["
    " {\"name\":\"x\",\"type\":\"integer\",\"label\":{\"vi\":\"X\"}}]}]}";

#define MAX_ITEMS 8

/* The server: revisions in seq order (1, 2, ...), served page pages. */
struct fake {
    struct syn_item items[MAX_ITEMS];
    size_t n;
    size_t page;
    int requests;
    bool tamper; /* flip a byte of the first body served */
};

static int fake_get(void *ctx, const char *path, struct syn_http_response *resp,
                    struct fld_err *err)
{
    struct fake *f = ctx;
    struct syn_thresholds_page p;
    int64_t after;
    size_t i;

    (void)err;
    f->requests++;
    assert_int_equal(sscanf(path, "/v1/thresholds?after=%" SCNd64, &after), 1);
    memset(&p, 0, sizeof p);
    p.items = fld_xcalloc(MAX_ITEMS, sizeof *p.items);
    for (i = 0; i < f->n; i++) {
        if (f->items[i].seq <= after)
            continue;
        if (p.n == f->page) {
            p.more = true;
            break;
        }
        p.items[p.n++] = f->items[i];
    }
    if (f->tamper && p.n > 0) {
        p.items[0].body = (uint8_t *)fld_xstrdup((char *)p.items[0].body);
        p.items[0].body[strlen("{\"author\":\"")] ^= 0x01;
    }
    resp->status = 200;
    snprintf(resp->content_type, sizeof resp->content_type, "application/json");
    syn_thresholds_page_encode(&p, &resp->body);
    if (f->tamper && p.n > 0)
        free(p.items[0].body);
    free(p.items);
    return FLD_OK;
}

static struct fld_template *parse(const char *json)
{
    struct fld_template *t = NULL;

    assert_int_equal(
        fld_template_parse((const uint8_t *)json, strlen(json), &t, NULL),
        FLD_OK);
    return t;
}

/* Add revision `revision` of t (pct = value) to the fake server. */
static void serve(struct fake *f, const struct fld_template *t,
                  const struct fld_key *k, int64_t revision, int value)
{
    char *text = fld_xasprintf(
        "{\"template\":\"%s\",\"revision\":%lld,\"valid_from\":\"2025-01-01\","
        "\"source\":\"QĐ\",\"thresholds\":{\"pct\":{\"value\":%d}}}",
        fld_template_hash(t), (long long)revision, value);
    struct fld_json *d = NULL;
    struct fld_thresholds *r = NULL;

    assert_int_equal(
        fld_json_parse((const uint8_t *)text, strlen(text), &d, NULL), FLD_OK);
    assert_int_equal(fld_thresholds_sign(d, t, k, 1, &r, NULL), FLD_OK);
    assert_true(f->n < MAX_ITEMS);
    syn_item_set(&f->items[f->n], r->body, r->body_len, r->sig);
    f->items[f->n].seq = (int64_t)f->n + 1;
    f->n++;
    fld_thresholds_free(r);
    fld_json_free(d);
    free(text);
}

/* The server forgets its last revision (restored from a backup). */
static void forget_last(struct fake *f)
{
    assert_true(f->n > 0);
    f->n--;
    free(f->items[f->n].body);
}

static void fake_free(struct fake *f)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        free(f->items[i].body);
}

static int64_t count;
static int count_row(void *ctx, const struct fld_store_thresholds_row *r)
{
    (void)ctx;
    (void)r;
    count++;
    return FLD_OK;
}

static int64_t stored_here(struct fld_store *st)
{
    count = 0;
    assert_int_equal(fld_store_each_thresholds(st, count_row, NULL, NULL),
                     FLD_OK);
    return count;
}

static int64_t seen(struct fld_store *st)
{
    int64_t n = 0;

    if (fld_store_meta_get_int(st, SYN_META_THRESHOLDS, &n, NULL) != FLD_OK)
        return 0;
    return n;
}

/* A device enrolled at sync.example holding template_json, and a server
 * with revisions 1 and 2 of it and one of a template the device lacks,
 * served two a page. */
struct fx {
    struct tu_device *d;
    struct fld_template *t, *other;
    struct fld_key *admin;
    struct fake f;
    int64_t stored;
};

static int setup(void **state)
{
    struct fx *x = fld_xcalloc(1, sizeof *x);
    const uint8_t *canon;
    size_t len;

    x->d = tu_device_open(3, "An");
    x->t = parse(template_json);
    x->other = parse(other_json);
    x->admin = tu_key(9);
    x->f.page = 2;
    assert_int_equal(fld_store_meta_set(x->d->st, SYN_META_URL,
                                        "https://sync.example", NULL),
                     FLD_OK);
    canon = fld_template_canonical(x->t, &len);
    assert_int_equal(fld_store_template_put(x->d->st, fld_template_hash(x->t),
                                            fld_template_id(x->t), canon, len,
                                            NULL),
                     FLD_OK);
    serve(&x->f, x->t, x->admin, 1, 60);
    serve(&x->f, x->other, x->admin, 1, 61); /* a template the device lacks */
    serve(&x->f, x->t, x->admin, 2, 62);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;

    fake_free(&x->f);
    fld_key_free(x->admin);
    fld_template_free(x->t);
    fld_template_free(x->other);
    tu_device_close(x->d);
    free(x);
    return 0;
}

/* One fetch after a sync that announced server_seq: its result, and how
 * many requests it made. */
static int fetch(struct fx *x, int64_t server_seq, bool full, int *requests,
                 struct fld_err *err)
{
    int rc;

    x->f.requests = 0;
    rc = syn_catalog_thresholds(x->d->st, server_seq, full, fake_get, &x->f,
                                &x->stored, err);
    *requests = x->f.requests;
    return rc;
}

static void test_fetch_verify_store(void **state)
{
    struct fx *x = *state;
    struct fld_err err;
    int n;

    /* an old server, or nothing new: not a single request */
    assert_int_equal(fetch(x, -1, false, &n, NULL), FLD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(fetch(x, 0, false, &n, NULL), FLD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(x->stored, 0);

    /* a page that does not verify keeps nothing, not even the rest */
    x->f.tamper = true;
    fld_err_clear(&err);
    assert_int_equal(fetch(x, 3, false, &n, &err), FLD_EBADSIG);
    assert_non_null(strstr(err.msg, "does not verify"));
    assert_int_equal(stored_here(x->d->st), 0);
    assert_int_equal(seen(x->d->st), 0);
    x->f.tamper = false;

    /* two pages; the other template's revision is seen, not kept */
    assert_int_equal(fetch(x, 3, false, &n, NULL), FLD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(x->stored, 2);
    assert_int_equal(stored_here(x->d->st), 2);
    assert_int_equal(seen(x->d->st), 3);
    /* seen: nothing asked again */
    assert_int_equal(fetch(x, 3, false, &n, NULL), FLD_OK);
    assert_int_equal(n, 0);
    /* --full asks again from the start; what is here stays once */
    assert_int_equal(fetch(x, 3, true, &n, NULL), FLD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(x->stored, 0);
    assert_int_equal(stored_here(x->d->st), 2);
}

/* Sequence numbers are one server's: another server's, or a restored
 * server's that went back, start again from the beginning. */
static void test_numbers_are_the_servers(void **state)
{
    struct fx *x = *state;
    int n;

    assert_int_equal(fetch(x, 3, false, &n, NULL), FLD_OK);
    assert_int_equal(seen(x->d->st), 3);
    /* enrolled at another server */
    assert_int_equal(fld_store_meta_set(x->d->st, SYN_META_URL,
                                        "https://other.example", NULL),
                     FLD_OK);
    assert_int_equal(fetch(x, 3, false, &n, NULL), FLD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(seen(x->d->st), 3);
    /* restored from an older backup: it numbers what comes next from 3
     * again, which must not pass for seen */
    forget_last(&x->f);
    assert_int_equal(fetch(x, 2, false, &n, NULL), FLD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(seen(x->d->st), 2);
    serve(&x->f, x->t, x->admin, 3, 63);
    assert_int_equal(fetch(x, 3, false, &n, NULL), FLD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(x->stored, 1);
    assert_int_equal(stored_here(x->d->st), 3);
}

/* Sequence numbers that go back within a page are not the protocol. */
static void test_out_of_order_is_refused(void **state)
{
    struct fx *x = *state;
    struct fld_err err;
    int n;

    x->f.page = 4;
    x->f.items[2].seq = 2;
    fld_err_clear(&err);
    assert_int_equal(fetch(x, 3, false, &n, &err), FLD_EPROTO);
    assert_non_null(strstr(err.msg, "out of order"));
    assert_int_equal(seen(x->d->st), 0);
    assert_int_equal(stored_here(x->d->st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetch_verify_store, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_numbers_are_the_servers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_is_refused, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
