/*
 * srvtest.h - for the unit tests that hold a server database: a fresh
 * database with an epoch, a template installed and units, as every such
 * test starts. Header-only, beside testutil.h; include cmocka first.
 */
#ifndef FLD_SRVTEST_H
#define FLD_SRVTEST_H

#include <stdio.h>

#include "storage.h"
#include "template.h"
#include "version.h"

/*
 * A new server database at path with the epoch 0123456789abcdef, the
 * template t (version "1") and units[0..n_units), left open inside a
 * transaction for the test to add devices and rows to; the test commits
 * and closes it. tpl_hash, when not NULL, receives the template's hash.
 */
static inline struct srv_storage *tu_server_db(const char *path,
                                               const struct fld_template *t,
                                               const struct srv_unit *units,
                                               size_t n_units, char *tpl_hash)
{
    struct srv_storage *st;
    struct srv_template_row row;
    const uint8_t *canon;
    size_t len, i;

    assert_int_equal(srv_storage_open(path, true, &st, NULL), FLD_OK);
    assert_int_equal(srv_storage_begin(st, NULL), FLD_OK);
    assert_int_equal(
        srv_storage_meta_set(st, "epoch", "0123456789abcdef", NULL), FLD_OK);
    canon = fld_template_canonical(t, &len);
    row.hash = fld_template_hash(t);
    row.id = fld_template_id(t);
    row.version = "1";
    row.added_ms = 1;
    if (tpl_hash != NULL)
        snprintf(tpl_hash, FLD_HASH_HEX_LEN + 1, "%s", row.hash);
    assert_int_equal(srv_storage_template_put(st, &row, canon, len, NULL),
                     FLD_OK);
    for (i = 0; i < n_units; i++)
        assert_int_equal(srv_storage_unit_put(st, &units[i], NULL), FLD_OK);
    return st;
}

#endif
