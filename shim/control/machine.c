/* machine.c: the machine's idle CPU from /proc/stat, the process's CPU
 * (machine.h). */
#include "machine.h"
#include "clock.h"
#include "file.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double ps_machine_idle_cores(uint64_t now)
{
    static uint64_t prev_jiffies, prev_ns;
    static long hz;
    char buf[512];
    unsigned long long v[5] = { 0 };
    if (!hz)
        hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0 || ps_file_read_small("/proc/stat", buf, sizeof buf) <= 0 || strncmp(buf, "cpu ", 4))
        return 0;
    char *q = buf + 4;
    for (int k = 0; k < 5; k++)
        v[k] = strtoull(q, &q, 10);     /* user nice system idle iowait */
    uint64_t jiffies = v[3] + v[4];
    double r = 0;
    if (prev_ns && now > prev_ns && now - prev_ns < 1000000000ull && jiffies >= prev_jiffies)
        r = (double)(jiffies - prev_jiffies) / (double)hz / ((double)(now - prev_ns) * 1e-9);
    prev_jiffies = jiffies;
    prev_ns = now;
    return r;
}

uint64_t ps_machine_process_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts))
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
