/* wfg.h: who blocks whom. Lock owners read from glibc's own lock words, and
 * cycles in the wait-for graph (a thread waits for one object at a time, so
 * every node has at most one outgoing edge and a walk finds each cycle).
 * Agent thread only. */
#ifndef PS_WFG_H
#define PS_WFG_H
#include <stdint.h>

/* The holder's TID of a glibc mutex (kind PS_K_MUTEX: __data.__owner) or the
 * writer of an rwlock (PS_K_RWLOCK: __data.__cur_writer); 0 if none, unknown,
 * or the memory is not readable (read with process_vm_readv: never faults). */
int ps_wfg_lock_owner(int kind, uintptr_t addr);
/* Reads n bytes of our own memory without faulting; 0 or -errno. */
int ps_wfg_peek(uintptr_t addr, void *out, int n);

struct ps_wfg_edge { int from, to; };
/* Finds the cycles among edges (out-degree <= 1 per `from`). Writes the TIDs
 * of each cycle into out (cycles separated by a 0), at most cap entries;
 * returns the number of cycles. */
int ps_wfg_cycles(const struct ps_wfg_edge *e, int n, int *out, int cap);
/* Order-independent signature of the cycles found (to dump a deadlock once). */
uint64_t ps_wfg_signature(const int *cycles, int len);
#endif
