/* cores.h: the CPUs the program can really use (cores.c). */
#ifndef PS_CORES_H
#define PS_CORES_H

/* CPUs this process may run on: its affinity mask, capped by its cgroup's
 * CPU quota (a container limit of 1.5 CPUs gives 1.5). Never 0. */
double ps_cores_usable(void);
/* ps_cores_usable() as of the agent's start (or the last fork), for
 * pool sizing, and rounded up (batch sizes, caps). */
extern double ps_cores;
extern int ps_ncores;
/* The quota in a cgroup v2 cpu.max or v1 cfs text pair ("150000 100000",
 * "max 100000"): CPUs, or 0 for no limit / unreadable. For tests. */
double ps_cores_parse_quota(const char *quota, const char *period);
#endif
