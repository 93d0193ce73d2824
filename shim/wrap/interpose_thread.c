/* interpose_thread.c: pthread_create, the joins and thread names.
 * pthread_create claims the new thread's record up front (no allocation: the
 * routine and argument travel in the record) and starts the thread in a
 * trampoline that binds the record to the thread, puts it in its pool and
 * closes the record on every way out (return, pthread_exit, cancellation)
 * through a cleanup handler. If no record is free, the thread runs unwrapped. */
#include "confine.h"
#include "export.h"
#include "account.h"
#include "agent.h"
#include "controller.h"
#include "entry.h"
#include "expand.h"
#include "instance.h"
#include "peek.h"
#include "real.h"
#include "throttle.h"
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>


static void on_exit_cleanup(void *p)
{
    struct ps_thread *t = p;
    ps_controller_on_thread_exit(t);
    ps_thread_on_exit(t);
}

static void *trampoline(void *p)
{
    struct ps_thread *t = p;
    void *(*fn)(void *) = (void *(*)(void *))t->routine;
    void *arg = t->start_arg;
    __atomic_store_n(&t->tid, ps_gettid(), __ATOMIC_RELEASE);   /* the agent waits for it (sampler.c) */
    ps_thread_note_tid(t);
    t->self = pthread_self();
    ps_self = t;
    /* The pool is keyed by the name inherited from the creator (recorded by
     * pthread_create): the creator may rename the new thread at any moment
     * (pthread_setname_np), so the name seen here would split a pool in two
     * by a race. A name already changed is the pool's new name. It is read
     * once the thread is in its pool: a rename before that read is seen by
     * it, one after by the wrapper (which skips a thread in no pool yet:
     * read before the join, memcached's main thread renamed 3 of its 4
     * workers in between once, and they stayed a pool of their own). */
    char name[PS_NAME_LEN] = "", prefix[PS_NAME_LEN];
    if (!t->name[0]) {
        prctl(PR_GET_NAME, name, 0, 0, 0);
        memcpy(t->name, name, PS_NAME_LEN);
    }
    ps_pool_prefix(t->name, prefix);
    t->entry = ps_entry_of(t->routine, arg);
    __atomic_store_n(&t->pool, ps_pool_join(t, prefix), __ATOMIC_SEQ_CST);
    prctl(PR_GET_NAME, name, 0, 0, 0);
    if (strncmp(name, t->name, PS_NAME_LEN)) {
        memcpy(t->name, name, PS_NAME_LEN);
        ps_pool_prefix(name, prefix);
        if (t->pool >= 0)
            ps_instance_renamed(t, prefix);
    }
    void *ret;
    pthread_cleanup_push(on_exit_cleanup, t);
    ret = fn(arg);
    pthread_cleanup_pop(1);
    return ret;
}

/* The attributes a worker started again must get too (expand.c). */
static void note_attr(struct ps_thread *t, const pthread_attr_t *attr)
{
    void *lo = NULL;
    size_t size = 0;
    t->stack_size = t->guard_size = 0;
    t->user_stack = 0;
    if (!attr)
        return;
    pthread_attr_getstacksize(attr, &t->stack_size);
    pthread_attr_getguardsize(attr, &t->guard_size);
    /* glibc keeps the stack's top, 0 when none was set; getstack returns
     * top - size, so a stack was given iff lo + size is not 0. */
    if (!pthread_attr_getstack(attr, &lo, &size))
        t->user_stack = (uintptr_t)lo + size != 0;
}

PS_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    if (__atomic_load_n(&ps_ready, __ATOMIC_ACQUIRE))
        ps_agent_ensure();                   /* the process's second thread: ours first (agent.c) */
    /* confined (confine.h): its start would make calls of ours */
    struct ps_thread *t = __atomic_load_n(&ps_ready, __ATOMIC_ACQUIRE) && !ps_is_confined()
                              ? ps_thread_claim(0, (void *)fn) : NULL;
    if (!t)
        return PS_REAL(pthread_create)(th, attr, fn, arg);
    t->via_create = 1;
    t->start_arg = arg;
    t->join_pool = ps_expand_into;
    /* what the argument held as the thread was made: tells instances of one
     * pool code apart (instance.c); ~1 us, a thread start costs tens */
    t->arg_read = !ps_peek(t->arg_bytes, arg, sizeof t->arg_bytes);
    int saved = errno;
    prctl(PR_GET_NAME, t->name, 0, 0, 0);    /* the name it inherits */
    t->name[PS_NAME_LEN - 1] = 0;
    errno = saved;
    note_attr(t, attr);
    int r = PS_REAL(pthread_create)(th, attr, trampoline, t);
    if (r != 0) {
        t->tid = 0;
        __atomic_store_n(&t->state, PS_T_FREE, __ATOMIC_RELEASE);
    }
    return r;
}

/* A thread named after it started, by itself or by its creator (memcached
 * names each worker from the main thread, racing with the worker's start):
 * before it did any work it moves to the pool of its new name, else its
 * pool takes the name, so that a worker that starts with it joins the same
 * pool instead of splitting it (instance.h: ps_instance_renamed). */
PS_EXPORT int pthread_setname_np(pthread_t th, const char *name)
{
    int r = PS_REAL(pthread_setname_np)(th, name);
    if (r == 0 && __atomic_load_n(&ps_ready, __ATOMIC_ACQUIRE)) {
        struct ps_thread *t = ps_thread_by_pthread(th);
        if (t && t->pool >= 0) {
            char prefix[PS_NAME_LEN];
            ps_pool_prefix(name, prefix);
            ps_instance_renamed(t, prefix);
        }
    }
    return r;
}

/* A thread named with prctl(PR_SET_NAME) is renamed as by pthread_setname_np:
 * GNAT names each Ada task so as it begins (w(1) .. w(4)), and a name seen
 * only at the agent's next tick, after the task's first waits, split the
 * pool in two. prctl's arguments are read as libc's own wrapper reads them. */
PS_EXPORT int prctl(int option, ...)
{
    va_list ap;
    va_start(ap, option);
    unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long);
    unsigned long a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
    va_end(ap);
    if (option == PR_SET_SECCOMP && (a2 == SECCOMP_MODE_STRICT || (a2 == SECCOMP_MODE_FILTER && a3)))
        ps_agent_confine();                  /* before the filter is in (confine.h) */
    int r = PS_REAL(prctl)(option, a2, a3, a4, a5);
    struct ps_thread *t = ps_self;
    if (option == PR_SET_NAME && r == 0 && a2 && t && t->pool >= 0 && __atomic_load_n(&ps_ready, __ATOMIC_ACQUIRE)) {
        int e = errno;
        char name[PS_NAME_LEN], prefix[PS_NAME_LEN];
        size_t n = strnlen((const char *)a2, PS_NAME_LEN - 1);
        memcpy(name, (const char *)a2, n);
        name[n] = 0;
        ps_pool_prefix(name, prefix);
        ps_instance_renamed(t, prefix);
        errno = e;
    }
    return r;
}

#define PS_JOIN_WRAP(name, params, args)                                              \
    PS_EXPORT int name params                                                         \
    {                                                                                 \
        PS_SPAN(s);                                                             \
        if (!PS_REAL(name))                                                           \
            return ENOSYS;                                                            \
        ps_throttle_on_join(th);         /* a joined worker must not stay parked */   \
        if (!ps_span_begin(&s, PS_COND, PS_K_JOIN, (uintptr_t)th, PS_CALLER()))       \
            return ps_real_##name args;                                               \
        int r = ps_real_##name args;                                                  \
        ps_span_end(&s);                                                              \
        return r;                                                                     \
    }

PS_JOIN_WRAP(pthread_join, (pthread_t th, void **ret), (th, ret))
PS_JOIN_WRAP(pthread_timedjoin_np, (pthread_t th, void **ret, const struct timespec *abs), (th, ret, abs))
PS_JOIN_WRAP(pthread_clockjoin_np, (pthread_t th, void **ret, clockid_t c, const struct timespec *abs),
             (th, ret, c, abs))
