/* metrics.h: POOLSHIM_METRICS=FILE: the pools' figures in the Prometheus text
 * exposition format (0.0.4), which node_exporter's textfile collector reads,
 * rewritten each agent tick (docs/format.md, "Metrics"). Agent thread only,
 * and the exiting thread once the agent has stopped. */
#ifndef PS_METRICS_H
#define PS_METRICS_H

/* Rewrites the file from the pools' latest samples; final: removes it (the
 * process is exiting or exec'ing, its figures would go stale). */
void ps_metrics_tick(int final);
#endif
