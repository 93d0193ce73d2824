/* profile.c: the recommended-size profile (profile.h). Its sizes are the
 * report's (the view's answer, view.h), so the profile, the summary and the report
 * never disagree; only pools the controller cannot grow live are listed
 * (a pool named in POOLSHIM_EXPAND is sized in the run itself). */
#include "profile.h"
#include "config.h"
#include "expand.h"
#include "file.h"
#include "log.h"
#include "pool.h"
#include "poolname.h"
#include "view.h"
#include <unistd.h>

int ps_profile_write(char *path, size_t cap)
{
    static int failed_logged;
    char body[8192], line[320], what[64], name[160], exe[256] = "";
    size_t len = 0;
    int pools = 0, exports = 0;
    for (int pi = 0; pi < ps_view_last()->npools && len < sizeof body - 800; pi++) {
        const struct ps_view_pool *v = ps_view_answer(pi);
        if (!v || ps_expand_allowed(pi))
            continue;
        const struct ps_rec_out *ro = &v->rec;
        int rec = ro->recommended_threads;
        if (rec <= 0 || rec == v->tot.threads || ro->cls == PS_CLASS_SINGLE)
            continue;
        exports += ps_expand_knob(pi, rec, what, sizeof what, line, sizeof line);
        ps_poolname_label(pi, name, sizeof name);
        len += ps_fmt(body + len, sizeof body - len, "# pool %d %s (%s): %d threads, %s, recommended %d: %s\n%s\n",
                      pi, name, what, v->tot.threads, ps_class_name[ro->cls], rec, ro->reason, line);
        pools++;
    }
    if (!pools)
        return 0;
    char buf[8192 + 768];
    ps_file_self_exe(exe, sizeof exe);
    size_t at = ps_fmt(buf, sizeof buf, "# poolshim profile: recommended pool sizes for %s (pid %d)\n", exe,
                       (int)getpid());
    if (exports)
        at += ps_fmt(buf + at, sizeof buf - at,
                     "# Apply next time: `. ./poolshim.%d.profile` in the shell that starts the program%s\n",
                     (int)getpid(), exports < pools ? "; commented lines name a program option to set by hand." : ".");
    else
        at += ps_fmt(buf + at, sizeof buf - at,
                     "# No environment variable sets these pools' sizes: each line names the program option to set by hand.\n");
    at += ps_fmt(buf + at, sizeof buf - at, "%s", body);
    char fname[64];
    ps_fmt(fname, sizeof fname, "poolshim.%d.profile", (int)getpid());
    int r = ps_file_write_atomic(ps_cfg.dir, fname, buf, at);
    if (r) {
        ps_log_once(&failed_logged, "cannot write %s/%s (errno %d): no profile", ps_cfg.dir, fname, -r);
        return 0;
    }
    ps_fmt(path, cap, "%s/%s", ps_cfg.dir, fname);
    return 1;
}
