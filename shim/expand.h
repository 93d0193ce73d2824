/* expand.h: growing a pool by starting more workers (POOLSHIM_EXPAND), and
 * naming the knob of pools whose size is fixed when they start. Agent only. */
#ifndef PS_EXPAND_H
#define PS_EXPAND_H
#include <stddef.h>

/* Is pool pi declared safe to grow (its start routine is POOLSHIM_EXPAND)? */
int ps_expand_allowed(int pi);
/* Starts up to n workers like an existing one (same routine and argument,
 * name, signal mask); returns how many started. */
int ps_expand_start(int pi, int n);
/* Workers this shim started in pool pi. */
int ps_expand_added(int pi);
/* For a pool whose size its program fixes at start: how a user sets it next
 * time. Writes a shell line for `size` into line ("export OMP_NUM_THREADS=8",
 * or a comment naming the program's option) and a short name of the runtime
 * into what ("libgomp"); returns 1 if an environment variable sets it. */
int ps_expand_knob(int pi, int size, char *what, size_t wcap, char *line, size_t lcap);
void ps_expand_reset(void);
#endif
