/* stacks.h: every thread's stack, captured in-process for a dump.
 * The agent sends the dump signal to each thread with rt_tgsigqueueinfo and a
 * cookie (generation | slot) in si_value; the handler unwinds the interrupted
 * thread with libgcc's _Unwind_Backtrace into a preallocated slot and returns.
 * The same signal sent to the process by anyone else (kill, sigqueue from
 * another process: `poolshim dump PID`) is a dump request: the handler only
 * counts it and wakes the agent. Symbolization happens later, in the agent.
 * `poolshim dump PID` on a process under the shim stops the threads itself by
 * ptrace and asks only for the shim's picture: the same signal, sent with
 * rt_tgsigqueueinfo to the agent thread alone, tagged PS_DUMP_PICTURE_COOKIE;
 * the agent then writes a dump without signalling any thread. */
#ifndef PS_STACKS_H
#define PS_STACKS_H
#include <stdint.h>

#define PS_STACK_FRAMES 48
/* si_value of a picture request (SI_QUEUE from another process): "pict". */
#define PS_DUMP_PICTURE_COOKIE 0x70696374u

enum ps_capture { PS_CAP_NONE, PS_CAP_OK, PS_CAP_TIMEOUT, PS_CAP_BLOCKED, PS_CAP_EXITED,
                  PS_CAP_SELF, PS_CAP_DISABLED, PS_CAP_ERROR };
extern const char *const ps_capture_name[];

struct ps_stack_req {          /* one thread to capture, filled by the caller */
    int tid;
    int blocked_signal;        /* SigBlk has the dump signal: do not send */
    /* results */
    int status;                /* enum ps_capture */
    int n;                     /* frames */
    uint64_t handler_ns;       /* time spent in the handler (the thread's pause) */
    uintptr_t ip[PS_STACK_FRAMES];   /* ip[0] is the interrupted PC, the rest return addresses */
};

/* Installs the handler (constructor). Returns 0, or -errno and stacks stay off. */
int ps_stacks_init(int sig);
/* Is stack capture usable right now (our handler still installed)? Logs once if not. */
int ps_stacks_enabled(void);
/* Called by the sigaction wrapper when the program sets the action of the
 * dump signal: anything but our handler takes it over (one warning, and
 * signal capture stops). */
struct sigaction;
void ps_stacks_note_sigaction(const struct sigaction *act);
/* Called by the sigaltstack wrapper on the thread that set its alternate
 * stack to sp (0: none): where two live threads share one, the handler
 * leaves alternate stacks for good (stacks.c says why). */
void ps_stacks_note_altstack(uintptr_t sp);
/* Captures the stacks of reqs[0..n) (agent thread only). Waits at most
 * timeout_ms for all answers. Returns the wall time of the capture in ns. */
uint64_t ps_stacks_capture(struct ps_stack_req *reqs, int n, int timeout_ms);
/* Dump requests received so far (signals to the process, not ours). */
uint64_t ps_stacks_requests(void);
/* Picture requests (no stacks) received so far. */
uint64_t ps_stacks_pictures(void);
/* A call failed with EINTR on a thread where no handler ran: a stop. Was it
 * `poolshim dump` stopping the process by ptrace (which sends its picture
 * request while the threads are stopped, so the agent has it pending or has
 * counted it by the time they resume), since pictures0 = ps_stacks_pictures()?
 * Reads /proc: slow path only. Keeps errno. */
int ps_stacks_ptrace_stop_since(uint64_t pictures0);
/* Lets the dump signal reach the calling thread (the agent, which starts with
 * every signal blocked), so picture requests sent to it alone arrive. */
void ps_stacks_accept_requests(void);
/* The thread whose handler took the last request: while in it, all signals
 * are blocked (the handler's mask), which is not the thread's own choice. */
int ps_stacks_requester(void);
/* Unwinds once in normal context so the first capture in a signal handler
 * does no lazy initialisation. */
void ps_stacks_prime(void);
#endif
