/* entry.h: the function a trampoline start routine runs for its thread.
 * Libraries that start every thread through one routine of their own pass it
 * a struct whose first word is the real function (pigz's yarn: ignition and a
 * capsule {probe, payload}; GLib: g_thread_proxy and a GThread {func, data}).
 * Grouped by the routine alone, unrelated threads share a pool (pigz's writer
 * joined its compressors, so `pigz -p 2` read as a pool of 3). Pools are keyed
 * by routine and entry: the first word of the start argument when it points
 * into a loaded object's executable segment, else none.
 * Some trampolines are given the function itself: lbzip2 starts its reader,
 * its muxer and its workers through one routine (lbzip2+0x11470) that calls
 * its argument. Its argument's first word is machine code, so all of them
 * read as one pool with no entry, split by argument into instances as
 * timing let it (-n4: four pools, one worker alone). An argument that is the
 * first instruction of a function of a loaded object (its .eh_frame_hdr
 * says so) is the entry itself; a pointer into code that starts no function
 * (a string in an old layout's text segment) is read as before. */
#ifndef PS_ENTRY_H
#define PS_ENTRY_H

/* Notes the executable segments of the objects loaded now (the program and
 * its libraries). Constructor only: dl_iterate_phdr takes a loader lock that a
 * later caller could hold across a fork, and objects loaded by dlopen later
 * are rarely where a program's own trampoline lives (theirs are not seen:
 * their threads are grouped by routine alone). */
void ps_entry_init(void);
/* At a thread's start, on that thread: lock-free, a few system calls (reads
 * that cannot fault: ~12 for an argument in libc's code, one otherwise).
 * arg when it is a function, else the first word of a trampoline's struct,
 * else NULL. Preserves errno. */
void *ps_entry_of(void *routine, void *arg);
#endif
