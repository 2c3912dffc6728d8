/*
 * fuzz_version.c - libFuzzer harness for importing a signed version: the
 * input is a body followed by a 64-byte signature. Import must never crash,
 * and whatever it accepts must re-serialise to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fld_version *v = NULL;
    struct fld_buf out = FLD_BUF_INIT;

    if (size < FLD_SIG_LEN)
        return 0;
    if (fld_version_open(data, size - FLD_SIG_LEN, data + size - FLD_SIG_LEN,
                         &v, NULL) == FLD_OK) {
        if (fld_json_write(v->json, &out, NULL) != FLD_OK ||
            out.len != v->body_len || memcmp(out.data, v->body, out.len) != 0)
            abort();
        fld_buf_free(&out);
        fld_version_free(v);
    }
    return 0;
}
