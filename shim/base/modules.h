/* modules.h: the module map of a dump: executable mappings from
 * /proc/self/maps with each object's GNU build ID (read from its PT_NOTE in
 * memory), so the analyzer can symbolize raw addresses offline and refuse a
 * binary that changed on disk. Agent thread only. */
#ifndef PS_MODULES_H
#define PS_MODULES_H
#include "jsonw.h"
#include <link.h>

void ps_modules_json(struct ps_jw *w);

/* dl_iterate_phdr for the shim's own walks after its constructor (the
 * agent's, at exit): never across a fork of the program. The walk holds
 * glibc's dl_load_write_lock, which glibc's fork (posix/fork.c) does not
 * reset in the child (it resets dl_load_lock and dl_load_tls_lock only): a
 * thread that forked during a walk would leave its child with the lock
 * held, and a child that dlopened before its exec (a fork-started worker
 * importing an extension) would hang. The fork handlers wait for a walk
 * under way and keep new ones out until the fork is done (init.c registers
 * them). */
int ps_modules_walk(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data);
/* The runtime span of an object's executable PT_LOAD segments (in a walk's
 * callback); 0, 0 if it has none. */
void ps_modules_exec_span(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi);
void ps_modules_fork_prepare(void);
void ps_modules_fork_done(void);
#endif
