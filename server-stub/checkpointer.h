/*
 * checkpointer.h - the thread that folds the server's write-ahead log
 * into its database, so that the writers never do it while they hold the
 * writer lock.
 *
 * Where it sits: SQLite in WAL mode appends each commit to the log and,
 * by default, copies the log back into the database inside the commit
 * that makes it long enough; with a push committing hundreds of versions
 * at a time, that copy (and its fsync) was about half of the time a push
 * held the writer lock. server.c hands every storage handle it opens to
 * srv_storage_checkpoint_elsewhere() with srv_checkpointer_want() as the
 * hook, and this thread folds the log with a passive checkpoint (which
 * waits for nobody) on a handle of its own, while the next push goes on.
 * What a commit acknowledged is in the log and synced before the commit
 * returns (synchronous=FULL), so where the log is folded changes nothing
 * a device was told.
 */
#ifndef SRV_CHECKPOINTER_H
#define SRV_CHECKPOINTER_H

#include <stdint.h>

struct srv;
struct srv_checkpointer;

/* A checkpointer for s's database; its thread starts when first wanted. */
struct srv_checkpointer *srv_checkpointer_new(struct srv *s);

/* Ask for a checkpoint soon (many asks before it runs make one). Safe from
 * any thread; ctx is the checkpointer. */
void srv_checkpointer_want(void *ctx);

/*
 * Run chore(ctx) on the same thread every every_ms milliseconds from now
 * (one chore; a second call replaces it), starting the thread. A chore
 * must not stop the checkpointer. field-server serve expires unfinished
 * attachment uploads this way (srv_expire_partials).
 */
void srv_checkpointer_every(struct srv_checkpointer *c, int64_t every_ms,
                            void (*chore)(void *ctx), void *ctx);

/* Stop the thread after the checkpoint under way, if any; later asks are
 * ignored (a server stopping folds the whole log itself, and a passive
 * checkpoint running beside that would leave it half done). */
void srv_checkpointer_stop(struct srv_checkpointer *c);

/* Stop and free. NULL is fine. */
void srv_checkpointer_free(struct srv_checkpointer *c);

#endif
