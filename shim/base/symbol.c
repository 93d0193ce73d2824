/* symbol.c: names for addresses. dladdr knows exported symbols only; most
 * start routines and lock sites are static functions, so we also read the
 * module's ELF .symtab when the file has one (not stripped). One module stays
 * mapped as a cache. Called from the agent or at exit, one thread at a time. */
#include "symbol.h"
#include "log.h"
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
    char path[256];
    const unsigned char *map;
    size_t size;
} cache;

static const unsigned char *map_module(const char *path, size_t *size)
{
    if (cache.map && !strcmp(cache.path, path)) {
        *size = cache.size;
        return cache.map;
    }
    if (cache.map)
        munmap((void *)cache.map, cache.size);
    cache.map = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof(Elf64_Ehdr))
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return NULL;
    cache.map = p;
    cache.size = (size_t)st.st_size;
    ps_fmt(cache.path, sizeof cache.path, "%s", path);
    *size = cache.size;
    return cache.map;
}

/* Nearest symbol of `type` (STT_FUNC, STT_OBJECT) covering vaddr in the file's .symtab. */
static int symtab_lookup(const char *path, uintptr_t vaddr, int type, char *name, size_t cap, uintptr_t *off)
{
    size_t size;
    const unsigned char *m = map_module(path, &size);
    if (!m || memcmp(m, ELFMAG, SELFMAG) || m[EI_CLASS] != ELFCLASS64)
        return -1;
    const Elf64_Ehdr *eh = (const void *)m;
    if (eh->e_shoff == 0 || eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > size)
        return -1;
    const Elf64_Shdr *sh = (const void *)(m + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const Elf64_Shdr *strs = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > size || strs->sh_offset + strs->sh_size > size)
            return -1;
        const Elf64_Sym *sym = (const void *)(m + sh[i].sh_offset);
        size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
        const Elf64_Sym *best = NULL;
        for (size_t k = 0; k < n; k++) {
            if (ELF64_ST_TYPE(sym[k].st_info) != type || !sym[k].st_value)
                continue;
            if (sym[k].st_value <= vaddr && vaddr < sym[k].st_value + (sym[k].st_size ? sym[k].st_size : 1) &&
                (!best || sym[k].st_value > best->st_value))
                best = &sym[k];
        }
        if (!best || best->st_name >= strs->sh_size)
            return -1;
        strncpy(name, (const char *)m + strs->sh_offset + best->st_name, cap - 1);
        name[cap - 1] = 0;
        *off = vaddr - best->st_value;
        return 0;
    }
    return -1;
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
