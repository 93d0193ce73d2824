/* symbol.c: names for addresses. dladdr knows exported symbols only; most
 * start routines and lock sites are static functions, so we also read the
 * module's ELF .symtab when the file has one (not stripped). Called from the
 * agent or at exit, one thread at a time. Modules the agent saw loaded are
 * remembered, so an address in one unloaded since is still named. */
#include "symbol.h"
#include "log.h"
#include "modules.h"
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The .symtab is read with pread in chunks, never mapped: a mapping's pages
 * of the file count in the program's resident set once scanned (node's 2.5
 * MiB .symtab put 2.7-6 MiB of /usr/bin/node in its peak RSS), and a copy
 * through a small buffer costs about what the scan does. One thread at a
 * time (the agent, or the exit), so the buffer is static. */
#define SYM_CHUNK 1024                   /* symbols per read: 24 KiB */
static Elf64_Sym chunk[SYM_CHUNK];

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    return pread(fd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

/* Nearest symbol of `type` (STT_FUNC, STT_OBJECT) covering vaddr in the file's .symtab. */
static int symtab_lookup(const char *path, uintptr_t vaddr, int type, char *name, size_t cap, uintptr_t *off)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = -1;
    Elf64_Ehdr eh;
    Elf64_Shdr sh, strs;
    if (read_at(fd, &eh, sizeof eh, 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        !eh.e_shoff || eh.e_shentsize != sizeof(Elf64_Shdr))
        goto out;
    for (int i = 0; i < eh.e_shnum; i++) {
        if (read_at(fd, &sh, sizeof sh, eh.e_shoff + (uint64_t)i * sizeof sh))
            goto out;
        if (sh.sh_type != SHT_SYMTAB || sh.sh_link >= eh.e_shnum)
            continue;
        if (read_at(fd, &strs, sizeof strs, eh.e_shoff + (uint64_t)sh.sh_link * sizeof strs))
            goto out;
        Elf64_Sym best = { 0 };
        int found = 0;
        size_t n = sh.sh_size / sizeof(Elf64_Sym);
        for (size_t at = 0; at < n; at += SYM_CHUNK) {
            size_t m = n - at < SYM_CHUNK ? n - at : SYM_CHUNK;
            if (read_at(fd, chunk, m * sizeof *chunk, sh.sh_offset + at * sizeof *chunk))
                goto out;
            for (size_t k = 0; k < m; k++) {
                const Elf64_Sym *y = &chunk[k];
                if (ELF64_ST_TYPE(y->st_info) != type || !y->st_value)
                    continue;
                if (y->st_value <= vaddr && vaddr < y->st_value + (y->st_size ? y->st_size : 1) &&
                    (!found || y->st_value > best.st_value)) {
                    best = *y;
                    found = 1;
                }
            }
        }
        if (!found || best.st_name >= strs.sh_size || cap < 2)
            goto out;
        size_t len = strs.sh_size - best.st_name < cap - 1 ? strs.sh_size - best.st_name : cap - 1;
        ssize_t got = pread(fd, name, len, (off_t)(strs.sh_offset + best.st_name));
        if (got <= 0)
            goto out;
        name[got] = 0;
        name[strnlen(name, (size_t)got)] = 0;
        *off = vaddr - best.st_value;
        r = 0;
        goto out;
    }
out:
    close(fd);
    return r;
}

/* Answers remembered: a report or dump names the same few addresses many
 * times (each thread's start routine, each lock's sites, in several
 * sections), and dladdr scans every exported symbol of the module for each
 * (node exports ~75,000: ~2 M instructions a call, ~210 M for node's report at
 * exit before this). Forgotten whenever a module was loaded or unloaded
 * since (an address may then name another function). */
#define MEMO 64
enum { MEMO_FUNC, MEMO_DATA };
struct memo {
    const void *addr;
    int kind;                /* MEMO_*; the entry is empty while addr is NULL */
    int r;                   /* the call's result */
    struct ps_sym s;         /* MEMO_DATA: s.module holds the formatted name */
};
static struct memo memo[MEMO];
static unsigned memo_next;
static unsigned long long memo_adds, memo_subs;
/* Taken with a try: a caller that finds it taken (a host thread naming its
 * pool while the agent writes a dump) goes without the memo. */
static int memo_busy;

static int memo_take(void)
{
    return !__atomic_exchange_n(&memo_busy, 1, __ATOMIC_ACQUIRE);
}

static void memo_give(void)
{
    __atomic_store_n(&memo_busy, 0, __ATOMIC_RELEASE);
}

static int module_counts(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned long long *c = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        c[0] = info->dlpi_adds;
        c[1] = info->dlpi_subs;
    }
    return 1;                /* the counters are the same in every entry: one is enough */
}

static struct memo *memo_find(const void *addr, int kind)
{
    unsigned long long c[2] = { 0, 0 };
    ps_modules_walk(module_counts, c);
    if (c[0] != memo_adds || c[1] != memo_subs || (!c[0] && !c[1])) {
        memset(memo, 0, sizeof memo);
        memo_adds = c[0];
        memo_subs = c[1];
    }
    for (int i = 0; i < MEMO; i++)
        if (memo[i].addr == addr && memo[i].kind == kind)
            return &memo[i];
    return NULL;
}

static void memo_keep(const void *addr, int kind, int r, const struct ps_sym *s)
{
    struct memo *m = &memo[memo_next++ % MEMO];
    m->addr = addr;
    m->kind = kind;
    m->r = r;
    m->s = *s;
}

/* Modules seen loaded, remembered after they are unloaded: a site or a
 * routine in a library the program dlclosed before its report (Apache
 * unloads mod_mpm_event.so at exit; 7z its 7z.so) is named by the module it
 * was in, and by the file's .symtab, instead of a bare address. Written by
 * the agent only (ps_symbol_note_modules), append-only: an entry is filled,
 * then the count published with a release store; readers (any thread
 * naming an address) load it with acquire and never see a half-written
 * entry. Asked only when no loaded object holds the address: a range a
 * later dlopen reused is named by its new object while that is loaded, and
 * after it is gone by the latest module seen there (which of the two the
 * site was in, an address alone cannot tell). */
#define SEEN_MAX 256
static struct seen {
    uintptr_t lo, hi;          /* executable PT_LOAD span, runtime addresses */
    uintptr_t bias;            /* dlpi_addr */
    char path[256];
} seen[SEEN_MAX];
static int seen_n;
static unsigned long long seen_adds;

static int note_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    if (!info->dlpi_name || !info->dlpi_name[0])
        return 0;                /* the program (never unloaded) or the vdso */
    uintptr_t lo, hi;
    ps_modules_exec_span(info, &lo, &hi);
    if (!hi)
        return 0;
    int n = seen_n;
    for (int k = n - 1; k >= 0; k--)
        if (seen[k].lo == lo && seen[k].hi == hi && !strcmp(seen[k].path, info->dlpi_name))
            return 0;
    if (n == SEEN_MAX) {
        static int once;
        ps_log_once(&once, "more than %d libraries loaded: sites in ones unloaded later may be named by address", SEEN_MAX);
        return 1;
    }
    seen[n].lo = lo;
    seen[n].hi = hi;
    seen[n].bias = info->dlpi_addr;
    ps_fmt(seen[n].path, sizeof seen[n].path, "%s", info->dlpi_name);
    __atomic_store_n(&seen_n, n + 1, __ATOMIC_RELEASE);
    return 0;
}

void ps_symbol_note_modules(void)
{
    unsigned long long c[2] = { 0, 0 };
    ps_modules_walk(module_counts, c);
    if (c[0] == seen_adds && seen_n)
        return;                  /* nothing loaded since the last look */
    seen_adds = c[0];
    ps_modules_walk(note_module, NULL);
}

/* An address no loaded object holds, in a module seen before: its module
 * and .symtab name. */
static int symbolize_unloaded(const void *addr, struct ps_sym *out, char *name, size_t ncap)
{
    int n = __atomic_load_n(&seen_n, __ATOMIC_ACQUIRE);
    for (int k = n - 1; k >= 0; k--) {
        const struct seen *m = &seen[k];
        if ((uintptr_t)addr < m->lo || (uintptr_t)addr >= m->hi)
            continue;
        ps_fmt(out->module, sizeof out->module, "%s", m->path);
        out->module_offset = (uintptr_t)addr - m->bias;
        symtab_lookup(m->path, (uintptr_t)addr - m->bias, STT_FUNC, name, ncap, &out->offset);
        return 0;
    }
    return -1;
}

/* Into out, but the function's name into name (out->name, or a longer
 * buffer: ps_symbol_func). */
static int symbolize_into(const void *addr, struct ps_sym *out, char *name, size_t ncap)
{
    memset(out, 0, sizeof *out);
    if (ncap)
        name[0] = 0;
    Dl_info info;
    struct link_map *lm = NULL;
    if (!addr || !dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP) || !info.dli_fname)
        return addr ? symbolize_unloaded(addr, out, name, ncap) : -1;
    const char *path = info.dli_fname;
    char exe[256];
    if (!path[0] || (lm && lm->l_name && !lm->l_name[0])) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = 0;
            path = exe;
        }
    }
    ps_fmt(out->module, sizeof out->module, "%s", path);
    out->module_offset = (uintptr_t)addr - (uintptr_t)info.dli_fbase;
    if (info.dli_sname && info.dli_saddr) {
        ps_fmt(name, ncap, "%s", info.dli_sname);
        out->offset = (uintptr_t)addr - (uintptr_t)info.dli_saddr;
        return 0;
    }
    /* l_addr is the load bias: file vaddr = runtime address - bias (PIE, .so and ET_EXEC alike). */
    uintptr_t bias = lm ? lm->l_addr : (uintptr_t)info.dli_fbase;
    symtab_lookup(path, (uintptr_t)addr - bias, STT_FUNC, name, ncap, &out->offset);
    return 0;
}

static int symbolize(const void *addr, struct ps_sym *out)
{
    return symbolize_into(addr, out, out->name, sizeof out->name);
}

int ps_symbolize(const void *addr, struct ps_sym *out)
{
    if (!addr || !memo_take())
        return symbolize(addr, out);
    const struct memo *m = memo_find(addr, MEMO_FUNC);
    int r;
    if (m) {
        *out = m->s;
        r = m->r;
    } else {
        r = symbolize(addr, out);
        memo_keep(addr, MEMO_FUNC, r, out);
    }
    memo_give();
    return r;
}

static int symbol_data(const void *addr, char *buf, size_t cap)
{
    Dl_info info;
    struct link_map *lm = NULL;
    if (!addr || !dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP) || !info.dli_fname)
        return 0;
    uintptr_t off = 0;
    char name[128] = "";
    if (info.dli_sname && info.dli_saddr) {
        ps_fmt(name, sizeof name, "%s", info.dli_sname);
        off = (uintptr_t)addr - (uintptr_t)info.dli_saddr;
    } else {
        const char *path = info.dli_fname;
        char exe[256];
        if (!path[0] || (lm && lm->l_name && !lm->l_name[0])) {
            ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
            if (n <= 0)
                return 0;
            exe[n] = 0;
            path = exe;
        }
        uintptr_t bias = lm ? lm->l_addr : (uintptr_t)info.dli_fbase;
        if (symtab_lookup(path, (uintptr_t)addr - bias, STT_OBJECT, name, sizeof name, &off))
            return 0;
    }
    if (off)
        ps_fmt(buf, cap, "%s+0x%lx", name, (unsigned long)off);
    else
        ps_fmt(buf, cap, "%s", name);
    return 1;
}

int ps_symbol_data(const void *addr, char *buf, size_t cap)
{
    if (!addr || !memo_take())
        return symbol_data(addr, buf, cap);
    const struct memo *m = memo_find(addr, MEMO_DATA);
    struct ps_sym s;
    int r;
    if (m) {
        r = m->r;
        s = m->s;
    } else {
        memset(&s, 0, sizeof s);
        r = symbol_data(addr, s.module, sizeof s.module);
        memo_keep(addr, MEMO_DATA, r, &s);
    }
    memo_give();
    if (r)
        ps_fmt(buf, cap, "%s", s.module);
    return r;
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

void ps_symbol_string(const void *addr, char *buf, size_t cap)
{
    struct ps_sym s;
    if (ps_symbolize(addr, &s))
        ps_fmt(buf, cap, "%p", addr);
    else if (s.name[0])
        ps_fmt(buf, cap, "%s+0x%lx (%s)", s.name, (unsigned long)s.offset, base(s.module));
    else
        ps_fmt(buf, cap, "%s+0x%lx", base(s.module), (unsigned long)s.module_offset);
}

void ps_symbol_func(const void *addr, char *buf, size_t cap)
{
    struct ps_sym s;
    if (ps_symbolize(addr, &s))
        ps_fmt(buf, cap, "%p", addr);
    else if (strlen(s.name) == sizeof s.name - 1 && cap > sizeof s.name)
        symbolize_into(addr, &s, buf, cap);  /* cut: a C++ symbol cut short cannot be demangled */
    else if (s.name[0])
        ps_fmt(buf, cap, "%s", s.name);
    else
        ps_fmt(buf, cap, "%s+0x%lx", base(s.module), (unsigned long)s.module_offset);
}
