/* interpose_sleep.c: nanosleep, clock_nanosleep, usleep, sleep: `sleep` wait.
 * (usleep and sleep reach nanosleep inside libc, unseen, so they are wrapped
 * by name as well.) */
#include "export.h"
#include "account.h"
#include "real.h"

#define PS_SLEEP_WRAP(ret, name, params, args)                                       \
    PS_EXPORT ret name params                                                        \
    {                                                                                \
        PS_SPAN(sp_);                                                            \
        if (!ps_span_begin(&sp_, PS_SLEEP, PS_K_SLEEP, 0, PS_CALLER()))                \
            return PS_REAL(name) args;                                               \
        ret r = ps_real_##name args;                                                 \
        ps_span_end(&sp_);                                                           \
        return r;                                                                    \
    }

PS_SLEEP_WRAP(int, nanosleep, (const struct timespec *req, struct timespec *rem), (req, rem))
PS_SLEEP_WRAP(int, clock_nanosleep, (clockid_t c, int f, const struct timespec *req, struct timespec *rem),
              (c, f, req, rem))
PS_SLEEP_WRAP(int, usleep, (useconds_t us), (us))
PS_SLEEP_WRAP(unsigned, sleep, (unsigned secs), (secs))
