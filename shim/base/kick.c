/* kick.c: the agent's doorbell (kick.h). */
#include "kick.h"
#include "real.h"
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

int ps_kick_word;
int ps_agent_up;

void ps_kick(void)
{
    __atomic_fetch_add(&ps_kick_word, 1, __ATOMIC_RELEASE);
    if (ps_real_syscall)
        ps_real_syscall(SYS_futex, &ps_kick_word, FUTEX_WAKE_PRIVATE, 1, NULL, 0, 0);
    else
        syscall(SYS_futex, &ps_kick_word, FUTEX_WAKE_PRIVATE, 1, NULL, 0, 0);
}
