/* cores.c: how many cores a pool of this process can use. A pool is sized
 * for the cores it can run on, not for the machine: under `taskset -c 0` or
 * in a container limited to 1.5 CPUs, cores x (1 + W/C) on the machine's
 * count would oversize every pool. So: the affinity mask, capped by the CPU
 * quota of the process's cgroup and of each of its parents (cgroup v2
 * cpu.max; v1 cpu.cfs_quota_us / cpu.cfs_period_us). Read once, by the agent
 * at start: a later sched_setaffinity is not followed. */
#include "cores.h"
#include "file.h"
#include "log.h"
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

double ps_cores = 1;
int ps_ncores = 1;

double ps_cores_parse_quota(const char *quota, const char *period)
{
    if (!quota || !period || *quota < '0' || *quota > '9' || *period < '0' || *period > '9')
        return 0;                /* "max" or "-1": no limit */
    double q = strtod(quota, NULL), p = strtod(period, NULL);
    return q > 0 && p > 0 ? q / p : 0;
}

static double min_quota(double a, double b)
{
    return a > 0 && (b <= 0 || a < b) ? a : b;
}

/* cgroup v2: cpu.max of the process's cgroup and of every parent. */
static double quota_v2(const char *rel)
{
    char path[512], buf[128];
    double best = 0;
    size_t len = strlen(rel);
    if (len > 300)
        return 0;
    char dir[320];
    memcpy(dir, rel, len + 1);
    for (;;) {
        ps_fmt(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", dir);
        if (ps_file_read_small(path, buf, sizeof buf) > 0) {
            char *sp = strchr(buf, ' ');
            if (sp)
                best = min_quota(ps_cores_parse_quota(buf, sp + 1), best);
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            break;
        *slash = 0;
    }
    return best;
}

static double quota_v1(void)
{
    char q[64], p[64];
    if (ps_file_read_small("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", q, sizeof q) <= 0 ||
        ps_file_read_small("/sys/fs/cgroup/cpu/cpu.cfs_period_us", p, sizeof p) <= 0)
        return 0;
    return ps_cores_parse_quota(q, p);
}

static double quota(void)
{
    char buf[1024];
    if (ps_file_read_small("/proc/self/cgroup", buf, sizeof buf) <= 0)
        return 0;
    char *v2 = strstr(buf, "0::");
    if (v2 && (v2 == buf || v2[-1] == '\n')) {
        char *end = strchr(v2, '\n');
        if (end)
            *end = 0;
        return quota_v2(v2 + 3);
    }
    return quota_v1();
}

double ps_cores_usable(void)
{
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    double n = online > 0 ? (double)online : 1;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        n = CPU_COUNT(&set);
    double q = quota();
    if (q > 0 && q < n)
        n = q;
    return n > 0.01 ? n : 0.01;
}
