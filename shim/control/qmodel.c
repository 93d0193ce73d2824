/* qmodel.c: the pool as a closed queueing network, to size it.
 * cores x (1 + W/C) is the size at which the cores *could* be busy all the
 * time if every task's CPU burst and wait took exactly their mean and never
 * overlapped badly. Real bursts and waits vary: at that size several threads
 * often want a core at once while others all wait, and the pool reaches only
 * 0.67-0.9 of the cores' throughput (measured on mixed GLib, libuv, OpenMP
 * and CPython pools). The machine-repairman model says how many more threads
 * absorb that: N threads cycle between a CPU station of `cores` servers
 * (mean service C) and a delay station (mean wait W); with exponential times
 * (a conservative spread) exact mean-value analysis gives the throughput at
 * each N. The size is the smallest N that keeps `busy` of the cores' capacity.
 * Cost: O(N^2) for one pass; beyond MVA_MAX / 2 threads the headroom is
 * under 5 % and cores x (1 + W/C) is used as it is. */
#include "qmodel.h"

#define MVA_MAX 400

/* Load-dependent MVA, one population at a time, up to n threads or until
 * the cores are `busy` (0: never stop early). Returns the population it
 * stopped at; *util is the cores' utilization there. p[] holds the queue
 * length distribution at the CPU station. */
static int mva(int n, double cores, double w_c, double busy, double *util)
{
    double p[MVA_MAX + 1];
    p[0] = 1;
    int k;
    for (k = 1; k <= n; k++) {
        double r = 0;
        for (int j = 1; j <= k; j++)
            r += j / (j < cores ? j : cores) * p[j - 1];
        double x = k / (w_c + r);
        double sum = 0;
        for (int j = k; j >= 1; j--) {
            p[j] = x / (j < cores ? j : cores) * p[j - 1];
            sum += p[j];
        }
        p[0] = 1 - sum > 0 ? 1 - sum : 0;
        *util = x / cores;
        if (busy > 0 && *util >= busy)
            break;
    }
    return k > n ? n : k;
}

double ps_qmodel_utilization(int n, double cores, double w_c)
{
    double u = 0;
    if (n < 1 || !(cores > 0) || !(w_c >= 0))
        return 0;
    mva(n < MVA_MAX ? n : MVA_MAX, cores, w_c, 0, &u);
    return u;
}

int ps_qmodel_threads(double cores, double w_c, double busy)
{
    if (!(cores > 0) || !(w_c >= 0) || !(busy > 0 && busy < 1))
        return 1;
    double goetz = cores * (1 + w_c);
    if (goetz > MVA_MAX / 2)             /* the headroom there is under 5 % */
        return (int)(goetz + 0.999);
    double u;
    return mva(MVA_MAX, cores, w_c, busy, &u);
}
