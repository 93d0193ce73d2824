/* wfg.c: lock owners and wait-for cycles (wfg.h). Agent thread only.
 * Owners come from the lock itself, not from our wrappers: glibc records the
 * holder's TID in pthread_mutex_t.__data.__owner (x86-64 ABI, offset 8) and the
 * writer of an rwlock in __data.__cur_writer (offset 24), also for locks taken
 * before we were loaded or inside libc. Elided (TSX) mutexes record no owner.
 * The lock may be freed memory by the time we look, hence process_vm_readv on
 * ourselves, which returns EFAULT instead of crashing. */
#include "wfg.h"
#include "thread.h"
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int ps_wfg_peek(uintptr_t addr, void *out, int n)
{
    struct iovec local = { out, (size_t)n }, remote = { (void *)addr, (size_t)n };
    long r = syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0);
    return r == n ? 0 : r < 0 ? -errno : -EFAULT;
}

int ps_wfg_lock_owner(int kind, uintptr_t addr)
{
    if (!addr)
        return 0;
    if (kind == PS_K_MUTEX) {
        pthread_mutex_t m;
        if (ps_wfg_peek(addr, &m, sizeof m))
            return 0;
        return m.__data.__owner > 0 ? m.__data.__owner : 0;
    }
    if (kind == PS_K_RWLOCK) {
        pthread_rwlock_t l;
        if (ps_wfg_peek(addr, &l, sizeof l))
            return 0;
        return l.__data.__cur_writer > 0 ? l.__data.__cur_writer : 0;
    }
    return 0;
}

/* tid -> edge index, open addressing; agent only, so a static table. */
#define HASH_CAP 16384
static int hkey[HASH_CAP], hval[HASH_CAP];
static int mark[HASH_CAP];

static void hash_clear(void)
{
    for (int i = 0; i < HASH_CAP; i++)
        hkey[i] = 0;
}

static int *hash_slot(int tid)
{
    uint32_t h = ((uint32_t)tid * 2654435761u) & (HASH_CAP - 1);
    while (hkey[h] && hkey[h] != tid)
        h = (h + 1) & (HASH_CAP - 1);
    hkey[h] = tid;
    return &hval[h];
}

static int index_of(int tid)
{
    uint32_t h = ((uint32_t)tid * 2654435761u) & (HASH_CAP - 1);
    while (hkey[h]) {
        if (hkey[h] == tid)
            return hval[h];
        h = (h + 1) & (HASH_CAP - 1);
    }
    return -1;
}

int ps_wfg_cycles(const struct ps_wfg_edge *e, int n, int *out, int cap)
{
    if (n > HASH_CAP / 2)
        n = HASH_CAP / 2;
    hash_clear();
    for (int i = 0; i < n; i++) {
        *hash_slot(e[i].from) = i;
        mark[i] = 0;
    }
    int len = 0, ncyc = 0;
    /* Each walk marks its nodes with its own id; meeting the current id again
     * closes a cycle, meeting an older id joins a path already explored. */
    for (int i = 0; i < n; i++) {
        if (mark[i])
            continue;
        int id = i + 1, cur = i;
        while (cur >= 0 && !mark[cur]) {
            mark[cur] = id;
            cur = index_of(e[cur].to);
        }
        if (cur < 0 || mark[cur] != id)
            continue;
        int need = 1;
        for (int c = index_of(e[cur].to); c != cur; c = index_of(e[c].to))
            need++;
        if (len + need + 1 > cap)
            break;
        out[len++] = e[cur].from;
        for (int c = index_of(e[cur].to); c != cur; c = index_of(e[c].to))
            out[len++] = e[c].from;
        out[len++] = 0;
        ncyc++;
    }
    return ncyc;
}

uint64_t ps_wfg_signature(const int *cycles, int len)
{
    uint64_t sig = 0;
    for (int i = 0; i < len; i++)
        if (cycles[i])
            sig += ((uint64_t)(unsigned)cycles[i] * 0x9E3779B97F4A7C15ull) ^ 0x5bd1e995u;
    return sig;
}
