/* qmodel.h: how many threads keep the cores busy (qmodel.c). */
#ifndef PS_QMODEL_H
#define PS_QMODEL_H

/* The smallest pool size at which a closed queueing model of the pool keeps
 * `busy` (e.g. 0.95) of `cores` cores busy, for tasks whose wait is w_c times
 * their CPU. Pure arithmetic. */
int ps_qmodel_threads(double cores, double w_c, double busy);
/* The model's throughput at n threads, as a fraction of the cores' capacity. */
double ps_qmodel_utilization(int n, double cores, double w_c);
#endif
