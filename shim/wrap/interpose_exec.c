/* interpose_exec.c: execve, execv, execvp, execvpe. The new image loses our
 * memory without running destructors, so the report is written first (as
 * poolshim.<pid>.json; the new image, same pid, writes poolshim.<pid>.json
 * again at its exit only if it is shimmed, replacing it; so an image that ran
 * only its main thread and execs into a shimmed one writes none). A failed exec
 * resumes measuring. A vfork child shares our memory: there we only forward. */
#include "export.h"
#include "init.h"
#include "real.h"
#include <errno.h>
#include <unistd.h>

static void before_exec(char *const envp[])
{
    if (getpid() == ps_pid)
        ps_finish_exec(envp);
}

/* Only reached when the exec failed (PATH searches, ENOENT, EACCES): the
 * program goes on, and so does measuring. errno is the exec's. */
static int after_failed_exec(int r)
{
    int saved = errno;
    ps_resume_after_failed_exec();
    errno = saved;
    return r;
}

PS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    before_exec(envp);
    return after_failed_exec(PS_REAL(execve)(path, argv, envp));
}

PS_EXPORT int execv(const char *path, char *const argv[])
{
    before_exec(NULL);
    return after_failed_exec(PS_REAL(execv)(path, argv));
}

PS_EXPORT int execvp(const char *file, char *const argv[])
{
    before_exec(NULL);
    return after_failed_exec(PS_REAL(execvp)(file, argv));
}

PS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    before_exec(envp);
    return after_failed_exec(PS_REAL(execvpe)(file, argv, envp));
}
