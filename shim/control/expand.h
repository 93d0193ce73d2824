/* expand.h: growing a pool by starting more workers (POOLSHIM_EXPAND), and
 * naming the knob of pools whose size is fixed when they start. Agent only. */
#ifndef PS_EXPAND_H
#define PS_EXPAND_H
#include <stddef.h>

/* May pool pi be grown: its start routine (or a trampoline's entry) is
 * POOLSHIM_EXPAND and it passes the checks of expand.c? A refusal is logged
 * once, on one line. */
int ps_expand_allowed(int pi);
/* Why pool pi, named in POOLSHIM_EXPAND, is not grown; NULL if it was not
 * refused. */
const char *ps_expand_refusal(int pi);
/* At exit: judges the named pools not judged yet (a refusal is said even
 * when the run was too short for the controller), and warns once if
 * POOLSHIM_EXPAND named no routine that ran. */
void ps_expand_check_names(void);
/* Starts up to n workers like an existing one (same routine and argument,
 * stack and guard size, name, signal mask); returns how many started. */
int ps_expand_start(int pi, int n);
/* Pool index + 1 while this thread (the agent) starts workers for it, else
 * 0: pthread_create puts them in that pool, whatever their argument says
 * (instance.c's instances). */
extern __thread int ps_expand_into __attribute__((tls_model("initial-exec")));
/* Workers this shim started in pool pi. */
int ps_expand_added(int pi);
/* For a pool whose size its program fixes at start: how a user sets it next
 * time. Writes a shell line for `size` into line ("export OMP_NUM_THREADS=8",
 * or a comment naming the program's option) and a short name of the runtime
 * into what ("libgomp"); returns 1 if an environment variable sets it. */
int ps_expand_knob(int pi, int size, char *what, size_t wcap, char *line, size_t lcap);
/* The runtime pool pi belongs to, known by the API its object exports or
 * its program ("GLib GThreadPool", "libuv, bundled"), into buf; 0 if none. */
int ps_expand_runtime(int pi, char *buf, size_t cap);
/* Is pool pi libgomp's (OpenMP) team of workers? Known by the API its
 * routine's object exports, looked up once per pool. Agent thread only. */
int ps_expand_is_gomp(int pi);
/* Pool pi is the Go runtime's threads (cgo's): sized by GOMAXPROCS. */
int ps_expand_is_go(int pi);
/* Pool pi is the workers of a runtime whose caller works beside them as one
 * team (libgomp's master, oneTBB's thread that waits on its tasks,
 * OpenBLAS's caller, which takes its share of each call): the
 * caller's CPU is the team's, and one worker is half a team of two. */
int ps_expand_is_team(int pi);
void ps_expand_reset(void);
#endif
