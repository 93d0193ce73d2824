/* control_report.c: the report's "controller" section (docs/format.md): the
 * mode and bounds, what the controller did with each pool it looked at, and
 * its log of decisions with what each one saw (decision.h). At exit or from
 * a dump, agent stopped or calling: the controller's state is still. */
#include "report.h"
#include "clock.h"
#include "config.h"
#include "controller.h"
#include "decision.h"
#include "expand.h"
#include "log.h"
#include "pool.h"
#include "poolname.h"
#include "view.h"

#define NS 1e-9

static void pools_json(struct ps_jw *w, int mine)
{
    char reason[640], name[160], what[64], line[320];
    ps_jw_arr(w, "pools");
    const struct ps_view *view = ps_view_last();
    for (int pi = 0; mine && pi < view->npools; pi++) {
        struct ps_ctl_pool c;
        const struct ps_view_pool *v = ps_view_answer(pi);
        if (!ps_controller_pool(pi, &c) || !v)
            continue;
        const struct ps_rec_out *ro = &v->rec;
        ps_jw_obj(w, NULL);
        ps_jw_i64(w, "pool", pi);
        ps_poolname_label(pi, name, sizeof name);
        ps_jw_str(w, "name", name);
        ps_jw_str(w, "start_routine", ps_poolname_routine(pi));
        ps_jw_i64(w, "threads_at_start", c.threads_at_start);
        ps_jw_i64(w, "size", c.size);
        ps_jw_i64(w, "limit", v->limit);
        ps_jw_i64(w, "model_threads", c.model);
        ps_jw_i64(w, "recommended_threads", ro->recommended_threads);
        ps_jw_i64(w, "threads_added", ps_expand_added(pi));
        int grow = ps_expand_allowed(pi);
        ps_jw_bool(w, "expandable", grow);
        ps_jw_dbl(w, "best_tasks_per_s", c.best_tput);
        if (!grow) {
            int fixed = ps_expand_knob(pi, ro->recommended_threads, what, sizeof what, line, sizeof line);
            ps_fmt(reason, sizeof reason, "size fixed at start (%s): the controller can only park workers%s%s; "
                   "to start with a different size, %s", what, c.cannot_park ? ", and not these: " : "",
                   c.cannot_park ? c.cannot_park : "",
                   fixed ? "apply the profile's line" : "set the program's option named in the profile");
            ps_jw_str(w, "reason", reason);
        } else {
            ps_jw_str(w, "reason", "POOLSHIM_EXPAND: the controller may start workers");
        }
        if (ps_expand_refusal(pi))
            ps_jw_str(w, "expand_refused", ps_expand_refusal(pi));
        ps_jw_end(w);
    }
    ps_jw_end(w);
}

static void decision_json(struct ps_jw *w, const struct ps_decision *d)
{
    ps_jw_obj(w, NULL);
    ps_jw_dbl(w, "t_s", d->t_ns > ps_start_ns ? (d->t_ns - ps_start_ns) * NS : 0);
    ps_jw_i64(w, "pool", d->pool);
    ps_jw_i64(w, "from", d->from);
    ps_jw_i64(w, "to", d->to);
    ps_jw_str(w, "action", ps_act_name[d->act]);
    ps_jw_str(w, "reason", d->reason);
    ps_jw_obj(w, "inputs");
    ps_jw_i64(w, "threads", d->in.threads);
    ps_jw_i64(w, "parked", d->in.parked);
    ps_jw_dbl(w, "tasks_per_s", d->in.tput);
    ps_jw_dbl(w, "good_tasks_per_s", d->in.ref_tput);
    ps_jw_dbl(w, "w_c", d->in.w_c);
    ps_jw_dbl(w, "goetz_threads", d->in.goetz);
    ps_jw_i64(w, "model_threads", d->in.model);
    if (d->in.bottleneck > 0)
        ps_jw_dbl(w, "bottleneck_threads", d->in.bottleneck);
    else
        ps_jw_null(w, "bottleneck_threads");
    ps_jw_dbl(w, "cpu_cores", d->in.cpu_cores);
    ps_jw_dbl(w, "runqueue_cores", d->in.runq_cores);
    ps_jw_u64(w, "queue", d->in.queue);
    ps_jw_str(w, "classification", d->in.cls);
    ps_jw_end(w);
    ps_jw_end(w);
}

void ps_report_controller_json(struct ps_jw *w, const char *profile)
{
    int mine = ps_controller_active();  /* not a forked child that never ticked */
    static const char *const mode[] = { "off", "advise", "on" };
    ps_jw_obj(w, "controller");
    ps_jw_str(w, "mode", mode[ps_cfg.control]);
    ps_jw_i64(w, "cooldown_ms", ps_cfg.cooldown_ms);
    ps_jw_i64(w, "min", ps_cfg.min_threads);
    ps_jw_i64(w, "max", ps_controller_max_size());
    if (ps_cfg.expand[0])
        ps_jw_str(w, "expand", ps_cfg.expand);
    else
        ps_jw_null(w, "expand");
    if (mine)
        ps_expand_check_names();
    if (profile)
        ps_jw_str(w, "profile", profile);
    else
        ps_jw_null(w, "profile");
    pools_json(w, mine);
    unsigned n = ps_controller_decisions_total();
    unsigned kept = n < PS_DECISIONS_KEPT ? n : PS_DECISIONS_KEPT;
    ps_jw_u64(w, "decisions_total", n);
    ps_jw_u64(w, "decisions_dropped", n - kept);
    ps_jw_arr(w, "decisions");
    for (unsigned k = n - kept; k < n; k++) {
        const struct ps_decision *d = ps_controller_decision(k);
        if (d)
            decision_json(w, d);
    }
    ps_jw_end(w);
    ps_jw_end(w);
}
