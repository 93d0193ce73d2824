/* backoff.h: waiting for one of the shim's few spin locks (a thread joining
 * its pool, a walk of the loaded objects), held by another thread of ours
 * for microseconds. */
#ifndef PS_BACKOFF_H
#define PS_BACKOFF_H

/* One round of the wait; *rounds counts the calls (start it at 0). */
void ps_backoff(unsigned *rounds);
#endif
