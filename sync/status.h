/*
 * status.h - how the last sync ended, for people (`field sync status`):
 * when one was last tried, when one last worked, and why the last one
 * failed.
 *
 * The note is kept in a small file beside the store, SYN_STATUS_FILE in
 * the data directory, and not in the store: a sync with nothing to carry
 * then writes nothing to the store and makes the disk sync nothing (five
 * fsyncs it was, every few seconds in a `field sync --watch`). The file
 * is replaced whole (a reader sees the old note or the new one) and never
 * fsync'd: a power cut may lose the last outcome, and a damaged file
 * reads as no note. Stores written before kept the note in their meta
 * table (SYN_META_LAST_*), which is read while there is no file.
 */
#ifndef SYN_STATUS_H
#define SYN_STATUS_H

#include <stdint.h>

#include "store.h"

#define SYN_STATUS_FILE "sync-status.json"

struct syn_status {
    int64_t last_try_ms; /* 0: never tried */
    int64_t last_ok_ms;  /* 0: never worked */
    char *last_error;    /* "" when the last try worked */
};

/* The note in the data directory home, else the one in the store st's
 * meta table, else none (zeros, ""). Never fails; syn_status_free(). */
void syn_status_read(const char *home, struct fld_store *st,
                     struct syn_status *out);

/* Note a sync that ended now with rc (FLD_OK: it worked) and, if it did
 * not, error (NULL: the code's words). Best effort: a note that cannot be
 * written is left out, and the sync's own result stands. */
void syn_status_note(const char *home, struct fld_store *st, int64_t now_ms,
                     int rc, const char *error);

void syn_status_free(struct syn_status *s);

#endif
