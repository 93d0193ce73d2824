/* pprof.h: a report or a dump as a pprof profile (profile.proto, not yet
 * gzipped): what is sampled and why is in pprof.c's top comment and
 * docs/format.md. The command around it is pprof_cmd.c. */
#ifndef AN_PPROF_H
#define AN_PPROF_H
#include "load.h"
#include "pb.h"

enum { AN_PPROF_CONTENTION = 1, AN_PPROF_OFFCPU = 2, AN_PPROF_HEAP = 4 };

/* The Profile message of doc with the sample kinds in kinds (a mask of
 * AN_PPROF_*) into *out (an_pb_free it). 0, or -1 out of memory. */
int an_pprof_build(const struct an_doc *doc, unsigned kinds, struct an_pb *out);
#endif
