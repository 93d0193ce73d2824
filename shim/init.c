/* init.c: the shim's life cycle: constructor, destructor, fork.
 * Order at start: real symbols, configuration, the tables (mapped memory),
 * the calling (main) thread's record, then ps_ready, then the agent thread.
 * Any failure leaves ps_ready at 0: every wrapper then only forwards.
 * At exit: stop the agent (bounded wait), take a last sample, write the report.
 * After fork the child keeps only its forking thread: tables are reset and a
 * new agent is started, so the child measures itself and writes its own report.
 * An exec that fails returns to the program: measuring resumes and the exit
 * report replaces the one written before the exec. A process that ends with
 * _exit runs no destructor: its wrapper (interpose_exit.c) finishes here
 * first, if the process ran a thread besides its main one. */
#include "confine.h"
#include "agent.h"
#include "config.h"
#include "entry.h"
#include "expand.h"
#include "file.h"
#include "history.h"
#include "log.h"
#include "modules.h"
#include "pool.h"
#include "poolname.h"
#include "real.h"
#include "report.h"
#include "clock.h"
#include "syncobj.h"
#include "thread.h"
#include "trace.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

int ps_pid;
static int forked_child;     /* this process is a fork of a measured one */

static void atfork_child(void)
{
    if (!ps_ready)
        return;
    forked_child = 1;
    ps_pid = getpid();
    ps_start_ns = ps_now_ns();
    ps_thread_after_fork_child();
    ps_obj_table_reset();
    ps_pool_table_reset();
    ps_poolname_reset();                 /* pool 0 of the child is not the parent's */
    struct ps_thread *me = ps_self;
    if (me && !me->ignore && me->routine) {
        char prefix[PS_NAME_LEN];
        ps_pool_prefix(me->name, prefix);
        me->pool = ps_pool_join(me, prefix);
    } else if (me) {
        me->pool = -1;
    }
    ps_agent_after_fork_child();
}

static void init_body(void)
{
    ps_log_init();
    ps_real_init();
    ps_clock_init();
    ps_pid = getpid();
    ps_start_ns = ps_now_ns();
    ps_config_load(&ps_cfg, NULL);
    ps_file_note_program();
    ps_history_note_command();
    ps_trace_init();
    ps_entry_init();
    ps_track_held = ps_cfg.control == PS_CONTROL_ON;
    int r;
    if ((r = ps_thread_table_init()) || (r = ps_obj_table_init()) || (r = ps_pool_table_init())) {
        ps_log("cannot map the shim's tables (errno %d): measuring nothing, the program runs as usual", -r);
        return;
    }
    struct ps_thread *me = ps_thread_claim(ps_gettid(), NULL);
    if (me) {
        me->self = pthread_self();
        ps_thread_set_baseline(me);
        ps_self = me;
    }
    __atomic_store_n(&ps_ready, 1, __ATOMIC_RELEASE);
    pthread_atfork(ps_modules_fork_prepare, ps_modules_fork_done, ps_modules_fork_done);
    pthread_atfork(NULL, NULL, atfork_child);
    ps_agent_want();
}

/* The host sees errno as it was: nothing we do at start may leave a trace. */
__attribute__((constructor(101))) static void ps_init(void)
{
    int saved = errno;
    init_body();
    errno = saved;
}

static int finished;

/* The parent process has the shim loaded: this one is a helper of a
 * measured run, not the program the user started. */
static int parent_measured(void)
{
    char path[64];
    ps_fmt(path, sizeof path, "/proc/%d/maps", (int)getppid());
    return ps_file_contains(path, "libpoolshim");
}

static void finish(const char *why, int next_shimmed)
{
    if (!__atomic_load_n(&ps_ready, __ATOMIC_ACQUIRE) || getpid() != ps_pid)
        return;              /* not initialised, or a vfork child sharing our memory */
    if (__atomic_exchange_n(&finished, 1, __ATOMIC_ACQ_REL) || ps_is_confined())
        return;              /* confined: no file can be written (confine.h) */
    ps_agent_stop();
    ps_pool_check_name();
    ps_expand_check_names();
    /* An image that ran only its main thread and execs into one the shim
     * measures too (a version manager's script that execs the interpreter)
     * has nothing to report that the next image's poolshim.<pid>.json, the
     * same name, would not replace a moment later. Nor has a process that
     * never started a thread whose parent the shim measures too (a shell's
     * subshells and helpers: 40 files for one `python3` through pyenv): no
     * pool, nothing the run's other reports do not say. */
    if (ps_cfg.report && !((next_shimmed || forked_child || parent_measured()) && !ps_thread_any_besides_main()))
        ps_report_write(why);
    ps_trace_write();
}

void ps_finish(const char *why)
{
    finish(why, 0);
}

void ps_finish_exec(char *const envp[])
{
    extern char **environ;
    int shimmed = 0;
    for (char *const *e = envp ? envp : environ; e && *e && !shimmed; e++)
        shimmed = !strncmp(*e, "LD_PRELOAD=", 11) && strstr(*e, "libpoolshim");
    finish("exec", shimmed);
}

/* As at exit(), but a process that ran no thread besides its main one and
 * is a fork of a measured one writes nothing, not even its trace: it is a
 * fork helper or a shell's child whose exec failed (every shell, all the
 * time). The program the user started does write: dash ends `dash -c '...'`
 * with _exit, and wrote no report at all. Any thread may call: others still
 * run, as at exit(), and `finished` keeps it to one report, whichever of
 * _exit, exit and exec comes first. */
void ps_finish_exit_now(void)
{
    if (!__atomic_load_n(&ps_ready, __ATOMIC_ACQUIRE) || getpid() != ps_pid)
        return;
    if (!ps_thread_any_besides_main() && (forked_child || parent_measured()))
        return;
    finish("_exit", 0);
}

void ps_resume_after_failed_exec(void)
{
    if (!__atomic_load_n(&ps_ready, __ATOMIC_ACQUIRE) || getpid() != ps_pid)
        return;
    if (__atomic_exchange_n(&finished, 0, __ATOMIC_ACQ_REL)) {
        ps_agent_want();
        if (ps_thread_any_besides_main())
            ps_agent_ensure();    /* it ran before the exec; a process of one thread waits for its second */
    }
}

__attribute__((destructor(101))) static void ps_fini(void)
{
    int saved = errno;          /* later destructors and atexit handlers see the program's */
    ps_finish("exit");
    errno = saved;
}
