/* init.h: the shim's life cycle (see init.c). */
#ifndef PS_INIT_H
#define PS_INIT_H
extern int ps_pid;          /* our pid as of the constructor or the last fork */
/* Stops the agent and writes the report, once per process image. */
void ps_finish(const char *why);
/* ps_finish("exec") before an exec with envp (NULL: environ): an image that
 * ran only its main thread writes no report when the next one is shimmed. */
void ps_finish_exec(char *const envp[]);
/* _exit or _Exit, on any thread: no destructor will run. ps_finish("_exit")
 * if this process ran a thread besides its main one since its last fork.
 * Safe before the constructor and in a vfork child (another pid): it returns. */
void ps_finish_exit_now(void);
/* The exec after ps_finish("exec") failed: restart the agent, report again at exit. */
void ps_resume_after_failed_exec(void);
#endif
