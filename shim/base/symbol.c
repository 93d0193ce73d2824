/* symbol.c: names for addresses. dladdr knows exported symbols only; most
 * start routines and lock sites are static functions, so we also read the
 * module's ELF .symtab when the file has one (not stripped). Called from the
 * agent or at exit, one thread at a time. */
#include "symbol.h"
#include "log.h"
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
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

int ps_symbolize(const void *addr, struct ps_sym *out)
{
    memset(out, 0, sizeof *out);
    Dl_info info;
    struct link_map *lm = NULL;
    if (!addr || !dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP) || !info.dli_fname)
        return -1;
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
        strncpy(out->name, info.dli_sname, sizeof out->name - 1);
        out->offset = (uintptr_t)addr - (uintptr_t)info.dli_saddr;
        return 0;
    }
    /* l_addr is the load bias: file vaddr = runtime address - bias (PIE, .so and ET_EXEC alike). */
    uintptr_t bias = lm ? lm->l_addr : (uintptr_t)info.dli_fbase;
    symtab_lookup(path, (uintptr_t)addr - bias, STT_FUNC, out->name, sizeof out->name, &out->offset);
    return 0;
}

int ps_symbol_data(const void *addr, char *buf, size_t cap)
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
    else if (s.name[0])
        ps_fmt(buf, cap, "%s", s.name);
    else
        ps_fmt(buf, cap, "%s+0x%lx", base(s.module), (unsigned long)s.module_offset);
}
