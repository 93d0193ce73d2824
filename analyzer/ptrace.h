/* ptrace.h: `poolshim dump PID` from outside the process, in three steps.
 *  1. ptrace.c stops every thread with PTRACE_SEIZE + PTRACE_INTERRUPT, copies
 *     what a dump needs while nothing moves (registers, the stack from SP up,
 *     the object behind each futex word), and lets every thread go: one
 *     instant, and nothing the program can see (the kernel restarts the
 *     interrupted calls; no handler of the program runs).
 *  2. ptrace_unwind.c unwinds each thread offline from those copies with
 *     elfutils' libdwfl and names frames, modules and lock objects.
 *  3. ptrace_dump.c turns both into a dump in the shim's format and writes it.
 * Only step 1 runs while the program is stopped, and it never waits on the
 * program itself. x86-64 only. */
#ifndef AN_PTRACE_H
#define AN_PTRACE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/user.h>
#include <time.h>
#include <jansson.h>

enum pt_status { PT_NONE, PT_STOPPED, PT_EXITED, PT_TIMEOUT };
extern const char *const pt_status_name[];   /* the dump's thread "capture" value */

/* Bytes of the object a futex word belongs to: a glibc mutex's __owner is at
 * +8 of its first word, an rwlock's __cur_writer at +24 of its start, which is
 * 8 or 12 bytes before the word its waiters sleep on. */
#define PT_OBJ_BEFORE 16
#define PT_OBJ_AFTER 40

struct pt_thread {
    int tid;
    int status;                      /* enum pt_status */
    int interrupted;                 /* PTRACE_INTERRUPT sent */
    int regs_ok;                     /* regs (and what follows) were read */
    int resume_sig;                  /* a signal that arrived during the stop: delivered at detach */
    struct user_regs_struct regs;    /* valid when PT_STOPPED */
    long sysno;                      /* the system call it was blocked in, or -1 */
    uint64_t arg[6];
    uint64_t stack_lo;               /* the copy covers [stack_lo, stack_lo + stack_len) */
    size_t stack_len;
    unsigned char *stack;
    uint64_t obj_lo;                 /* bytes around the futex word, when sysno is futex */
    size_t obj_len;
    unsigned char obj[PT_OBJ_BEFORE + PT_OBJ_AFTER];
    char kstate;                     /* /proc state letter for a thread that did not stop, else 0 */
};

struct pt_map { uint64_t start, end, offset; char perms[5]; char *path; };

struct pt_capture {
    int pid;
    int n, cap;
    struct pt_thread *th;
    char *maps_text;                 /* /proc/PID/maps as read just before the stop */
    size_t maps_len;
    char *maps_lines;                /* a copy cut into lines: maps[].path points into it */
    struct pt_map *maps;
    int nmaps;
    int rounds;                      /* task listings until no new thread appeared */
    double seize_ms;                 /* attaching (the program runs meanwhile) */
    double stop_ms;                  /* first interrupt to the last thread stopped */
    double copy_ms;                  /* registers, stacks and lock words, all threads stopped */
    double pause_ms;                 /* first interrupt to the last thread resumed */
    size_t stack_bytes;              /* copied in all */
    int realtime;                    /* the stop-to-resume window ran SCHED_FIFO */
    struct timespec began;           /* CLOCK_MONOTONIC when the capture began */
};

/* Stops, copies and resumes PID; before_resume (if not NULL) is called with
 * arg while every thread is stopped, and must not wait for the process. On
 * failure returns -1 with one line (the cause and the fix, no "poolshim:"
 * prefix) in msg; nothing stays attached. */
int pt_capture(int pid, struct pt_capture *cap, char *msg, size_t msglen, void (*before_resume)(void *), void *arg);
/* Detaches threads that had not stopped by the deadline if they have now. */
void pt_detach_stragglers(struct pt_capture *cap);
void pt_capture_free(struct pt_capture *cap);
/* A long-lived tracer (the supervising `poolshim run`) must not leave a
 * thread seized: one that stops after pt_detach_stragglers gave up on it
 * would stay stopped for good. Detaches those that have stopped since;
 * returns how many are still out (call again later while > 0). */
int pt_detach_lost(void);
/* Collecting stops with waitpid(-1) may collect a child's end too: the
 * tracer's own child (under `poolshim run`, the program). 1 and its wait
 * status if pid's end was collected that way (once), else 0. */
int pt_take_reaped(int pid, int *status);

/* Whether this thread was blocked in a system call, and which. */
int pt_in_syscall(const struct pt_thread *t);

/* Step 2: per thread its "stack" (frames {addr, module, symbol, offset}),
 * plus "modules" and names of data objects. */
struct pt_unwind;
struct pt_unwind *pt_unwind_open(const struct pt_capture *cap, char *msg, size_t msglen);
/* The frames of thread i as a new JSON array (empty when it did not stop). */
json_t *pt_unwind_stack(struct pt_unwind *u, int i);
/* "symbol+0xoff" naming a data address (a lock), or NULL. Static buffer. */
const char *pt_unwind_data_name(struct pt_unwind *u, uint64_t addr);
/* The executable mappings in the dump's "modules" shape. */
json_t *pt_unwind_modules(struct pt_unwind *u);
void pt_unwind_close(struct pt_unwind *u);

/* The shim's own picture of a process under it (pools, causes, locks,
 * allocations, per-thread records): requested while the threads are stopped
 * (a signal to the shim's thread, which finds it pending as it resumes; the
 * shim's wrappers then know an EINTR of that stop is ours), then waited for:
 * a new reference and the file it came from, or NULL with why. */
struct pt_picture {
    void (*request)(void *arg);
    json_t *(*get)(int pid, void *arg, char *path, size_t pathlen, char *why, size_t whylen);
    void *arg;
    const char *why;                 /* capture.why when the picture was had; NULL: poolshim dump PID's */
    int required;                    /* no picture, no dump (pt_dump_file fails with its why) */
};

/* Step 3, for cmd_dump: captures PID and writes poolshim.<pid>.dump.<n>.json
 * into dir, with the shim's picture merged in when pic is given (its file is
 * replaced). Prints the path and the text (or --json) answer; returns the
 * exit status. If the capture is refused and refusal is not NULL, nothing is
 * printed: the cause goes there and -1 is returned (the caller has another way). */
int pt_dump(int pid, const char *dir, const struct pt_picture *pic, int json_out, char *refusal, size_t refusal_len);
/* The writing half of pt_dump, for a capture already taken (the supervisor's):
 * unwinds, merges pic's picture if given (pic->request is not called), writes
 * dir/poolshim.<pid>.dump.<n>.json atomically (n: the picture's, else the
 * first free) and frees cap. 0 with the path in out and the JSON text in
 * *text (free it), or -1 with one line in msg. */
int pt_dump_file(struct pt_capture *cap, const struct pt_picture *pic, const char *dir, char *out, size_t outlen,
                 char **text, char *msg, size_t msglen);
#endif
