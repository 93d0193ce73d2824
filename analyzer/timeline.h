/* timeline.h: the threads' state timelines of a trace file
 * (poolshim.<pid>.trace.json, POOLSHIM_TRACE=on), as slices that the trace
 * export (trace_export.c) and the page (html.c) draw. Built once here, so
 * both show the same picture.
 *
 * What a slice's time means (docs/format.md, "The trace file"):
 *  - a wait slice is a wrapped call exactly as the shim timed it (begin and
 *    end of the call, the span's own clock);
 *  - between waits the thread ran, waited for a core, or blocked in a call no
 *    wrapper saw. The shim knows the split per sampling interval only (the
 *    schedstat CPU and run-queue deltas), so inside one interval each gap is
 *    cut in the interval's proportions: run queue first (a woken thread waits
 *    for a core before it runs), then running, then blocked unwrapped;
 *  - run-queue time of an interval that the gaps cannot hold is the wake-up
 *    of a wait (the span's end includes the wait for a core): it becomes a
 *    nested "runqueue" slice at the end of that interval's wait slices.
 * Top-level slices of a thread never overlap and cover its measured life
 * [born, end]; nested slices lie inside their parent. */
#ifndef AN_TIMELINE_H
#define AN_TIMELINE_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

enum an_st { AN_ST_RUN, AN_ST_RUNQ, AN_ST_UNWRAPPED, AN_ST_WAIT, AN_ST_PARKED };

struct an_slice {
    int64_t t0, t1;          /* ns since the shim started */
    int st;                  /* enum an_st */
    int cause, kind;         /* AN_ST_WAIT / PARKED: the shim's cause and kind numbers */
    int depth;               /* 0 top level, 1 nested (a wake-up's run queue) */
    uint64_t obj;            /* lock, condvar, ... address or fd key; 0 none */
};

struct an_tthread {
    int tid, pool, exited;
    char name[64];
    int64_t born, end;
    uint64_t events_lost;
    int64_t cpu_ns, runq_ns;           /* the shim's totals at the end */
    struct an_slice *s;                /* sorted by t0; a parent before its children */
    size_t n, cap;
};

struct an_timeline {
    int pid;
    int interval_ms;
    char causes[8][16];                /* the trace file's names, by number */
    int ncauses;
    char kinds[16][16];
    int nkinds;
    struct an_tthread *th;
    size_t nth;
};

/* Builds from a parsed trace file; -1 with msg when it is not one. */
int an_timeline_build(const json_t *trace, struct an_timeline *tl, char *msg, size_t msglen);
void an_timeline_free(struct an_timeline *tl);
/* "running", "runqueue", "blocked (unwrapped)", the cause ("idle", "lock", ...) or "parked". */
const char *an_slice_state(const struct an_timeline *tl, const struct an_slice *s);
/* The kind's name ("mutex", "cond", ...) or NULL. */
const char *an_slice_kind(const struct an_timeline *tl, const struct an_slice *s);

/* The path of the trace file a report or dump at doc_path names (its "trace"
 * key, a file name beside it), malloc'ed; NULL when it names none. */
char *an_trace_path(const char *doc_path, const json_t *doc);
/* Loads a trace file (kind "trace"); NULL with msg on error. */
json_t *an_trace_file_load(const char *path, char *msg, size_t msglen);
/* The trace file a report names (its "trace" key, beside the report), loaded;
 * NULL with msg when the report has none or it cannot be read. */
json_t *an_trace_of_report(const char *report_path, const json_t *report, char *msg, size_t msglen);
/* A name for an object address from a report's locks and waits ("name", else
 * "site"), or NULL. */
const char *an_obj_name(const json_t *report, uint64_t obj);
#endif
