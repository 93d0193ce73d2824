/* decision.h: what the controller decided and why. controller.c writes it
 * (agent thread); the report reads it at exit (output/control_report.c), with
 * the agent stopped. */
#ifndef PS_DECISION_H
#define PS_DECISION_H
#include <stdint.h>

enum ps_act { PS_ACT_HOLD, PS_ACT_THROTTLE, PS_ACT_UNPARK, PS_ACT_EXPAND, PS_ACT_ROLLBACK, PS_ACT_RELEASE,
              PS_ACT_ADVISE };
extern const char *const ps_act_name[];

/* What a decision saw. */
struct ps_decision_in {
    int threads, parked;
    int model;                 /* the model's size (clamped) this decision saw */
    double tput, ref_tput, w_c, goetz, bottleneck, cpu_cores, runq_cores;
    uint64_t queue;
    const char *cls;
};

struct ps_decision {
    uint64_t t_ns;
    int pool, from, to, act;
    char reason[400];           /* the longest (a fixed size with a refusal) runs to ~330 */
    struct ps_decision_in in;
};

/* The controller's own figures for pool pi. */
struct ps_ctl_pool {
    int threads_at_start;
    int size;                   /* the size it runs the pool at */
    int model;                  /* the model's size it last computed */
    double best_tput;           /* the last good size's throughput, per second */
    const char *cannot_park;    /* why its workers cannot be parked, NULL if they can */
};
/* 1 and *out filled when this process's controller looked at pool pi, else 0. */
int ps_controller_pool(int pi, struct ps_ctl_pool *out);
/* The log keeps the last PS_DECISIONS_KEPT decisions; older ones are dropped. */
#define PS_DECISIONS_KEPT 256
/* Decisions this process logged, ever (0 in a forked child that never ticked). */
unsigned ps_controller_decisions_total(void);
/* The k-th decision logged, or NULL when it was dropped or never made. */
const struct ps_decision *ps_controller_decision(unsigned k);
/* The largest size the controller may set (POOLSHIM_MAX, else 64 per core). */
int ps_controller_max_size(void);
#endif
