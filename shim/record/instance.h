/* instance.h: one pool code, several pools. Threads sharing a start routine
 * and a name prefix are one pool, unless they show that they are workers of
 * separate instances of one pool code (zstd's reader, writer and
 * compressors, each pool's workers given its context): instance.c. */
#ifndef PS_INSTANCE_H
#define PS_INSTANCE_H
#include "thread.h"

/* The pool thread t joins as it starts, by its key (routine, entry, name
 * prefix) and, for instances, its start argument; -1 when the table is
 * full. t is in it when this returns (before the next thread looks). */
int ps_instance_join(const struct ps_thread *t, const char *prefix);
/* 1 for the first pool of its key, 2 for the second instance and so on:
 * two instances of one pool code must not share a name. */
int ps_pool_instance_no(int pi);
/* Thread t (in a pool) took a name of prefix: if it has done none of its
 * pool's work yet, it moves to the pool of its new name; else the pool keeps
 * it and takes the name as its alias (pool.h: ps_pool_renamed). So threads
 * named as they start are grouped by the names they work under, whoever
 * names them and whenever the race between naming and starting ends. */
void ps_instance_renamed(struct ps_thread *t, const char *prefix);
/* Pool from's live threads join pool to, tasks and all (pool.c: a thread
 * alone in its pool that waits for work where another pool's workers do);
 * what from learned is forgotten. The number moved. */
int ps_instance_absorb(int from, int to);
/* After fork: the lock's holder is gone. */
void ps_instance_reset(void);
#endif
