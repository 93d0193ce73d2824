/* entry.h: the function a trampoline start routine runs for its thread.
 * Libraries that start every thread through one routine of their own pass it
 * a struct that holds the real function (pigz's yarn: ignition and a capsule
 * {probe, payload}; GLib: g_thread_proxy and a GThread {func, data}; APR:
 * dummy_worker and an apr_thread_t {pool, td, data, func, ...}). Grouped by
 * the routine alone, unrelated threads share a pool (pigz's writer joined its
 * compressors, so `pigz -p 2` read as a pool of 3; Apache's listener, an
 * event loop, joined its 8 workers and its wake-ups were counted as tasks).
 * Pools are keyed by routine and entry: the first word of the start argument
 * when it points into a loaded object's executable segment; else the first
 * of the next words (up to the 4th) that is the first instruction of a
 * function of an object other than the routine's (strict: a data word that
 * happens to point into code does not count; and a program's own worker
 * whose struct holds its own callback keeps its routine); else none.
 * Some trampolines are given the function itself: lbzip2 starts its reader,
 * its muxer and its workers through one routine (lbzip2+0x11470) that calls
 * its argument. Its argument's first word is machine code, so all of them
 * read as one pool with no entry, split by argument into instances as
 * timing let it (-n4: four pools, one worker alone). An argument that is the
 * first instruction of a function of a loaded object (its .eh_frame_hdr
 * says so) is the entry itself; a pointer into code that starts no function
 * (a string in an old layout's text segment) is read as before.
 * Objects loaded by dlopen after the constructor (Apache's LoadModule: the
 * workers' functions live in mod_mpm_event.so) are found through glibc's
 * _dl_find_object at the thread's start; for them only the strict rule
 * (starts a function) applies, the first word included.
 * Last, libstdc++'s routine (loaded at start) runs its argument's virtual
 * function: a std::thread state, whose vtable's third slot is _M_run, one
 * per lambda or functor (entry.c). Not another library's: HotSpot's routine
 * is given a JavaThread, whose slots say nothing of the pool. */
#ifndef PS_ENTRY_H
#define PS_ENTRY_H

/* Notes the executable segments of the objects loaded now (the program and
 * its libraries), and looks up _dl_find_object. Constructor only:
 * dl_iterate_phdr takes a loader lock that a later caller could hold across
 * a fork. Objects loaded later are asked of _dl_find_object, which takes no
 * lock (glibc 2.35; before it, they are not seen: their threads are grouped
 * by routine alone). Not by wrapping dlopen: glibc's dlopen searches the
 * RUNPATH and expands $ORIGIN of its caller's object, and a wrapper would be
 * that caller (a library with RUNPATH $ORIGIN/sub dlopening "libb.so" by
 * name fails under one), so the program could tell we are loaded. */
void ps_entry_init(void);
/* At a thread's start, on that thread: lock-free, no allocation, a few
 * system calls (reads that cannot fault: ~12 per candidate that lies in a
 * known object's code, one or two otherwise). arg when it is a function,
 * else the function a trampoline's struct holds, else NULL. Preserves errno. */
void *ps_entry_of(void *routine, void *arg);
#endif
