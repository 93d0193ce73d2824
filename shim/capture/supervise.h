/* supervise.h: asking the supervising `poolshim run` to take a dump's stacks
 * by ptrace, so that no thread of the program is signalled (a process cannot
 * trace its own threads; its ancestor may, even under Yama ptrace_scope 1).
 * `poolshim run` names an abstract unix socket in POOLSHIM_SUPERVISOR; the
 * shim opens a connection only for one request (SOCK_CLOEXEC, closed before
 * the dump is done), so no descriptor of ours stays in the program's table or
 * crosses an exec. Agent thread only.
 *
 * One request, in order (SOCK_SEQPACKET records, text):
 *   shim -> "dump N DIR"             DIR: POOLSHIM_DIR; the sender is known by SO_PEERCRED
 *   sup  -> "captured" | "refused WHY"   every thread stopped, copied, resumed
 *   shim -> "picture PATH" | "abort WHY" the shim's picture (no stacks) written at PATH
 *   sup  -> "written PATH" | "failed WHY"   the merged dump, written atomically
 * The protocol is analyzer/supervise.c's too (the other end). */
#ifndef PS_SUPERVISE_H
#define PS_SUPERVISE_H
#include <stddef.h>
#include <stdint.h>

struct ps_super { int fd; };

/* Asks the supervisor for dump n's capture and waits until every thread was
 * stopped and let go. 0: captured (then ps_super_finish, ps_super_end);
 * -1: no capture, why says so in a few words (no supervisor, it is gone, it
 * refused, it did not answer in time) and nothing stays open. */
int ps_super_capture(struct ps_super *s, int n, char *why, size_t whylen);
/* Hands the picture written at picture_path (absolute) to the supervisor and
 * waits for the merged dump. 0: written; -1: not, with why. */
int ps_super_finish(struct ps_super *s, const char *picture_path, char *why, size_t whylen);
/* Tells the supervisor the picture could not be written, if the request is
 * still open, and closes it. */
void ps_super_end(struct ps_super *s, const char *abort_why);

/* For restart.h: a wait that failed with EINTR although no handler ran on its
 * thread was cut by a stop. Was it the supervisor's, i.e. is a request under
 * way, or has one ended since stops0 = ps_super_stops()? */
uint64_t ps_super_stops(void);
int ps_super_stop_since(uint64_t stops0);
#endif
