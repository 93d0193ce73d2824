/* alloc.h: the allocation snapshot of a dump: the allocator's statistics and
 * the top live allocation sites with their stacks, from heap_sample.c's
 * samples of glibc's heap (the default) or jemalloc's heap profile (a heap_v2
 * file beside the dump, POOLSHIM_MALLOC=jemalloc). interpose_malloc.c routes
 * the program's allocations; this module only reads them. Agent thread only,
 * except ps_alloc_init (constructor). */
#ifndef PS_ALLOC_H
#define PS_ALLOC_H
#include "jsonw.h"

/* Starts heap sampling with lg_sample (POOLSHIM_ALLOC_SAMPLE), or leaves it
 * off for -1. Logs once and degrades when the program's malloc is not ours. */
void ps_alloc_init(int lg_sample);
/* Writes "allocations": {stats, profile, prof_file, top_sites[]} or {error}.
 * heap_name is the profile's file name in dir (written atomically). */
void ps_alloc_json(struct ps_jw *w, const char *dir, const char *heap_name);
#endif
