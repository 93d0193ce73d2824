/* modules.c: see modules.h. dl_iterate_phdr takes the loader lock for the
 * walk; the agent holds no other lock then, and no thread is stopped. */
#include "modules.h"
#include "backoff.h"
#include "log.h"
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_OBJS 512

struct obj {
    uintptr_t lo, hi;           /* executable PT_LOAD range, runtime addresses */
    uintptr_t bias;             /* dlpi_addr: runtime address - file vaddr */
    char build_id[41];
};

static struct obj objs[MAX_OBJS];
static int nobjs;

static void note_build_id(const ElfW(Nhdr) *n, size_t size, char out[41])
{
    const char *p = (const char *)n, *end = p + size;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
        const ElfW(Nhdr) *nh = (const void *)p;
        const char *name = p + sizeof *nh;
        const unsigned char *desc = (const unsigned char *)name + ((nh->n_namesz + 3) & ~3u);
        if ((const char *)desc + nh->n_descsz > end)
            return;
        if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
            unsigned k = nh->n_descsz > 20 ? 20 : nh->n_descsz;
            for (unsigned i = 0; i < k; i++) {
                out[2 * i] = "0123456789abcdef"[desc[i] >> 4];
                out[2 * i + 1] = "0123456789abcdef"[desc[i] & 15];
            }
            out[2 * k] = 0;
            return;
        }
        p = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
    }
}

void ps_modules_exec_span(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
{
    *lo = *hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr, b = a + ph->p_memsz;
        if (!*lo || a < *lo)
            *lo = a;
        if (b > *hi)
            *hi = b;
    }
}

static int on_obj(struct dl_phdr_info *info, size_t size, void *arg)
{
    if (nobjs >= MAX_OBJS)
        return 1;
    struct obj *o = &objs[nobjs];
    memset(o, 0, sizeof *o);
    o->bias = info->dlpi_addr;
    ps_modules_exec_span(info, &o->lo, &o->hi);
    for (int i = 0; i < info->dlpi_phnum && !o->build_id[0]; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_NOTE)
            note_build_id((const void *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz, o->build_id);
    }
    if (o->hi)
        nobjs++;
    return 0;
}

static const struct obj *obj_at(uintptr_t a)
{
    for (int i = 0; i < nobjs; i++)
        if (objs[i].lo <= a && a < objs[i].hi)
            return &objs[i];
    return NULL;
}

/* One maps line: "lo-hi perms off dev inode   path". */
static void maps_line(struct ps_jw *w, char *line)
{
    char *end;
    uintptr_t lo = strtoull(line, &end, 16);
    if (*end != '-')
        return;
    uintptr_t hi = strtoull(end + 1, &end, 16);
    char *perms = end + 1;
    if (strlen(perms) < 5 || perms[2] != 'x')
        return;
    uintptr_t off = strtoull(perms + 5, &end, 16);
    char *path = end;
    for (int field = 0; field < 2 && *path; field++) {   /* dev, inode */
        while (*path == ' ')
            path++;
        while (*path && *path != ' ')
            path++;
    }
    while (*path == ' ')
        path++;
    const struct obj *o = obj_at(lo);
    ps_jw_obj(w, NULL);
    ps_jw_str(w, "path", *path ? path : "[anonymous]");
    ps_jw_hex(w, "start", lo);
    ps_jw_hex(w, "end", hi);
    ps_jw_hex(w, "file_offset", off);
    if (o)
        ps_jw_hex(w, "base", o->bias);
    else
        ps_jw_null(w, "base");
    ps_jw_str(w, "build_id", o && o->build_id[0] ? o->build_id : NULL);
    ps_jw_end(w);
}

/* 0 free, 1 a walk under way, 2 a fork under way. Both sides wait
 * (ps_backoff): a walk takes microseconds, and forks are rare. A fork from a
 * signal handler that interrupted this very thread's walk cannot wait for
 * it: it goes ahead (its child is at the old risk, never a hang here). */
static int walk_state;
static __thread int walking_here __attribute__((tls_model("initial-exec")));
static __thread int fork_went_ahead __attribute__((tls_model("initial-exec")));

static void take(int as)
{
    int free_ = 0;
    for (unsigned r = 0; !__atomic_compare_exchange_n(&walk_state, &free_, as, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);) {
        free_ = 0;
        ps_backoff(&r);
    }
}

int ps_modules_walk(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
    take(1);
    walking_here = 1;
    int r = dl_iterate_phdr(cb, data);
    walking_here = 0;
    __atomic_store_n(&walk_state, 0, __ATOMIC_RELEASE);
    return r;
}

void ps_modules_fork_prepare(void)
{
    if (walking_here)
        fork_went_ahead = 1;
    else
        take(2);
}

void ps_modules_fork_done(void)
{
    if (fork_went_ahead)
        fork_went_ahead = 0;
    else
        __atomic_store_n(&walk_state, 0, __ATOMIC_RELEASE);
}

void ps_modules_json(struct ps_jw *w)
{
    nobjs = 0;
    ps_modules_walk(on_obj, NULL);
    ps_jw_arr(w, "modules");
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[8192];
        size_t have = 0;
        for (;;) {
            ssize_t n = syscall(SYS_read, fd, buf + have, sizeof buf - 1 - have);
            if (n <= 0)
                break;
            have += (size_t)n;
            buf[have] = 0;
            char *p = buf, *nl;
            while ((nl = strchr(p, '\n'))) {
                *nl = 0;
                maps_line(w, p);
                p = nl + 1;
            }
            have = strlen(p);
            memmove(buf, p, have);
            if (have >= sizeof buf - 1)
                have = 0;               /* an absurdly long line: drop it */
        }
        close(fd);
    }
    ps_jw_end(w);
}
