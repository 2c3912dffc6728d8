/*
 * json_int.h - what the two files of the canonical JSON share, and nobody
 * else may use. The contract for the rest of field is json.h.
 *
 * The JSON of signed records is written in two files around this header,
 * as SQLite writes a subsystem as x.c, x.h and xInt.h:
 *
 *   json.c        the value tree and the one canonical writer
 *   json_parse.c  the strict reader, and the check that bytes received
 *                 are exactly what the writer would produce
 *
 * The reader builds trees as the tree functions do (the same allocation
 * sizes), and speaks of escapes and keys as the writer writes them.
 */
#ifndef FLD_JSON_INT_H
#define FLD_JSON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

/*
 * struct fld_json has no capacity field (callers read n directly), so the
 * allocated size of items and members is implied by n: the smallest power
 * of two that holds n, and at least 4. An array is full, and must grow
 * before the next element, exactly when n is 0 or a power of two >= 4.
 * Removing elements never shrinks the allocation, which keeps it at least
 * as large as the size implied by the smaller n.
 */
static inline bool is_full(size_t n)
{
    return n == 0 || (n >= 4 && (n & (n - 1)) == 0);
}

static inline size_t capacity_for(size_t n)
{
    size_t cap = 4;

    while (cap < n)
        cap *= 2;
    return cap;
}

static inline size_t grown_capacity(size_t n)
{
    return n == 0 ? 4 : 2 * n;
}

/* ---- json.c ----------------------------------------------------------- */

/* A new value of type with nothing in it (fld_json_free()). */
struct fld_json *fld_json_new(enum fld_json_type type);

/* The letter of the canonical short escape for byte c (n for a newline),
 * or 0 if it has none. */
uint8_t fld_json_escape_letter(uint32_t c);

/* The byte that the short escape \letter stands for, or -1 when it is
 * none of the canonical seven (the reader also takes \/, which is not). */
int fld_json_escape_byte(int letter);

#endif
