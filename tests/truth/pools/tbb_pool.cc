/* tbb_pool: oneTBB's task_group running TASKS tasks (work.h) in an arena of
 * THREADS (0: TBB's default, the cores: cores - 1 workers beside the thread
 * that waits). An arena larger than the cores needs the global limit raised
 * too (global_control alone only lowers it). */
#include "work.h"
#include <memory>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

int main(int argc, char **argv)
{
    int threads, tasks;
    double cpu_ms, sleep_ms;
    parse(argc, argv, &threads, &tasks, &cpu_ms, &sleep_ms);
    std::unique_ptr<tbb::global_control> limit;
    if (threads > 0)
        limit.reset(new tbb::global_control(tbb::global_control::max_allowed_parallelism, (size_t)threads));
    tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
    double t0 = now_s(CLOCK_MONOTONIC);
    arena.execute([&] {
        tbb::task_group g;
        for (int i = 0; i < tasks; i++) {
            g.run([=] { task(cpu_ms, sleep_ms); });
            pace();
        }
        g.wait();
    });
    report(tasks, t0);
    return 0;
}
