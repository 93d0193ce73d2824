/* alloc.h: the allocation snapshot of a dump: jemalloc's statistics and its
 * sampled heap profile (a heap_v2 file beside the dump), read back for the top
 * live allocation sites with their stacks. interpose_malloc.c makes jemalloc
 * the process allocator; this module only reads it. Agent thread only, except
 * ps_alloc_init (constructor). */
#ifndef PS_ALLOC_H
#define PS_ALLOC_H
#include "jsonw.h"

/* Turns heap profiling on with lg_sample (POOLSHIM_ALLOC_SAMPLE), or leaves it
 * off for -1. Logs once and degrades if jemalloc is not the allocator. */
void ps_alloc_init(int lg_sample);
/* Writes "allocations": {stats, profile, prof_file, top_sites[]} or {error}.
 * heap_name is the profile's file name in dir (written atomically). */
void ps_alloc_json(struct ps_jw *w, const char *dir, const char *heap_name);
#endif
