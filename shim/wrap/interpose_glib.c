/* interpose_glib.c: GLib's GThreadPool, known by its API. A GThreadPool's
 * worker takes its next task under a GMutex, a futex GLib drives itself:
 * when the queue is never empty nothing a wrapper sees marks a task, so the
 * count from the wait for work would be a small part of the truth. The pool
 * names its task function when it is made: g_thread_pool_new(_full) is
 * interposed and handed a trampoline that counts the call around the
 * program's function (same data, same user_data: only pool->func, a public
 * field, reads differently). Trampolines are a fixed set, one per distinct
 * task function; past that, pools keep their function and their count
 * comes from the wait for work as before. */
#include "export.h"
#include "log.h"
#include "pool.h"
#include "thread.h"
#include <dlfcn.h>
#include <stddef.h>

typedef void (*ps_gfunc)(void *data, void *user_data);
typedef void (*ps_gdestroy)(void *data);

#define PS_GLIB_SLOTS 16
static ps_gfunc slots[PS_GLIB_SLOTS];

static void run_task(int k, void *data, void *user_data)
{
    struct ps_thread *t = ps_self;
    int mine = t && !t->ignore;
    if (mine)
        ps_task_api_begin(t);
    slots[k](data, user_data);
    if (mine)
        ps_task_api_end(t);
}

#define T(k) static void tramp##k(void *d, void *u) { run_task(k, d, u); }
T(0) T(1) T(2) T(3) T(4) T(5) T(6) T(7) T(8) T(9) T(10) T(11) T(12) T(13) T(14) T(15)
#undef T
static const ps_gfunc tramps[PS_GLIB_SLOTS] = { tramp0, tramp1, tramp2, tramp3, tramp4, tramp5, tramp6,
                                                tramp7, tramp8, tramp9, tramp10, tramp11, tramp12,
                                                tramp13, tramp14, tramp15 };

/* The trampoline that runs func (the same one for every pool of func), or
 * func itself when the slots are gone. Slots are claimed once, never freed:
 * a pool freed and made again reuses its function's slot. */
static ps_gfunc wrap(ps_gfunc func)
{
    static int full_logged;
    if (!func)
        return func;
    for (int k = 0; k < PS_GLIB_SLOTS; k++)
        if (func == tramps[k])
            return func;                 /* another pool's func, read back: counted once */
    for (int k = 0; k < PS_GLIB_SLOTS; k++) {
        ps_gfunc cur = __atomic_load_n(&slots[k], __ATOMIC_ACQUIRE);
        if (cur == func)
            return tramps[k];
        if (!cur) {
            ps_gfunc none = NULL;
            if (__atomic_compare_exchange_n(&slots[k], &none, func, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                return tramps[k];
            if (none == func)
                return tramps[k];
        }
    }
    ps_log_once(&full_logged, "more than %d GThreadPool task functions: further pools' tasks are counted "
                "from their wait for work", PS_GLIB_SLOTS);
    return func;
}

static void *next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

PS_EXPORT void *g_thread_pool_new(ps_gfunc func, void *user_data, int max_threads, int exclusive, void **error)
{
    static void *(*real)(ps_gfunc, void *, int, int, void **);
    if (!real)
        real = next("g_thread_pool_new");
    return real ? real(wrap(func), user_data, max_threads, exclusive, error) : NULL;
}

PS_EXPORT void *g_thread_pool_new_full(ps_gfunc func, void *user_data, ps_gdestroy item_free, int max_threads,
                                       int exclusive, void **error)
{
    static void *(*real)(ps_gfunc, void *, ps_gdestroy, int, int, void **);
    if (!real)
        real = next("g_thread_pool_new_full");
    return real ? real(wrap(func), user_data, item_free, max_threads, exclusive, error) : NULL;
}
