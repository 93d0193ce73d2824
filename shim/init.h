/* init.h: the shim's life cycle (see init.c). */
#ifndef PS_INIT_H
#define PS_INIT_H
extern int ps_pid;          /* our pid as of the constructor or the last fork */
/* Stops the agent and writes the report, once per process image. */
void ps_finish(const char *why);
/* ps_finish("exec") before an exec with envp (NULL: environ): an image that
 * ran only its main thread writes no report when the next one is shimmed. */
void ps_finish_exec(char *const envp[]);
/* The exec after ps_finish("exec") failed: restart the agent, report again at exit. */
void ps_resume_after_failed_exec(void);
#endif
