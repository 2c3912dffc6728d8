/*
 * fuzz_json.c - libFuzzer harness for the canonical JSON reader and writer
 * (field/json_parse.c, field/json.c), the parser that every signed body from
 * outside meets.
 *
 * For any input: parsing must not crash, leak or overrun (the sanitizers
 * watch that). When it parses, the tree's canonical bytes must read back to
 * an equal tree that writes the very same bytes, and the canonical check
 * must accept the input exactly when the input is those bytes. The check's
 * last-resort message (a byte comparison after the parser's own notes)
 * must never be the one that decides: reaching it means the notes missed a
 * kind of non-canonical input.
 *
 * Built by clang apart from the normal build:
 *   clang -fsanitize=fuzzer,address,undefined -Ifield field/json.c \
 *         field/json_parse.c field/utf8.c field/buf.c field/err.c \
 *         tests/fuzz/fuzz_json.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bug(const char *what, const struct fld_err *err)
{
    fprintf(stderr, "fuzz_json: %s (%s)\n", what, err ? err->msg : "");
    abort();
}

/* Write v, or abort: a tree that the reader built must always write. */
static void write_or_abort(const struct fld_json *v, struct fld_buf *out)
{
    struct fld_err err;

    fld_err_clear(&err);
    if (fld_json_write(v, out, &err) != FLD_OK)
        bug("a parsed tree does not write", &err);
}

static struct fld_json *parse_or_abort(const uint8_t *p, size_t len)
{
    struct fld_json *v = NULL;
    struct fld_err err;

    fld_err_clear(&err);
    if (fld_json_parse(p, len, &v, &err) != FLD_OK || v == NULL)
        bug("canonical bytes do not parse", &err);
    return v;
}

/* The canonical check's last-resort message is exactly "byte N: differs
 * from the canonical form"; a note that merely quotes those words in a key
 * does not count. */
static bool is_fallback(const char *msg)
{
    if (strncmp(msg, "byte ", 5) != 0)
        return false;
    msg += 5;
    while (*msg >= '0' && *msg <= '9')
        msg++;
    return strcmp(msg, ": differs from the canonical form") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fld_buf first = FLD_BUF_INIT, second = FLD_BUF_INIT;
    struct fld_json *v = NULL, *again;
    struct fld_err err;
    bool is_canonical;
    int rc;

    fld_err_clear(&err);
    rc = fld_json_parse(data, size, &v, &err);
    if (rc != FLD_OK) {
        if (v != NULL || (rc != FLD_EINVAL && rc != FLD_ELIMIT))
            bug("a refusal left a tree or an unexpected code", &err);
        if (strncmp(err.msg, "byte ", 5) != 0)
            bug("a refusal does not name its byte", &err);
        if (fld_json_check_canonical(data, size, NULL) != FLD_EINVAL)
            bug("the canonical check accepts what the reader refuses", NULL);
        return 0;
    }

    write_or_abort(v, &first);
    again = parse_or_abort(first.data, first.len);
    if (!fld_json_equal(v, again))
        bug("the canonical bytes read back as another tree", NULL);
    write_or_abort(again, &second);
    if (first.len != second.len ||
        memcmp(first.data, second.data, first.len) != 0)
        bug("writing is not stable across a round trip", NULL);

    is_canonical = first.len == size && memcmp(first.data, data, size) == 0;
    fld_err_clear(&err);
    rc = fld_json_check_canonical(data, size, &err);
    if ((rc == FLD_OK) != is_canonical)
        bug("the canonical check disagrees with the writer", &err);
    if (rc != FLD_OK && is_fallback(err.msg))
        bug("the parser's notes missed a departure", &err);
    if (fld_json_check_canonical(first.data, first.len, &err) != FLD_OK)
        bug("the canonical check refuses the writer's bytes", &err);

    fld_json_free(again);
    fld_json_free(v);
    fld_buf_free(&first);
    fld_buf_free(&second);
    return 0;
}
