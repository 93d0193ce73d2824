/* symbolize.c: the symbolizer (symbolize.h) over elfutils' libdwfl. Each
 * object of the module map is reported to one Dwfl at its load bias, opened
 * from its path only when its GNU build ID is the recorded one; when the file
 * changed, its separate debug file found by that build ID stands in for it
 * (symbols and DWARF live there; no code is needed to name addresses).
 * libdwfl then finds separate debug files by build ID on its own
 * (dwfl_standard_find_debuginfo: /usr/lib/debug/.build-id/). Inlined calls
 * come from the DWARF scopes at the address, innermost out: each
 * DW_TAG_inlined_subroutine is one call, its DW_AT_call_file/line the place
 * in its caller, up to the DW_TAG_subprogram that holds them all. */
#include "symbolize.h"
#include <ctype.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE_MASK_4K (~(uint64_t)0xfff)

struct obj {
    char *path;
    char *build_id;           /* as recorded, or NULL */
    uint64_t bias;
    Dwfl_Module *dm;          /* NULL: left out */
};

struct an_sym {
    Dwfl *dwfl;
    json_t *names;            /* mangled -> demangled, owning the strings we return */
    struct obj *o;
    size_t n;
    char *problems;
    size_t plen;
};

static char *debuginfo_path;  /* NULL: libdwfl's default, ":.debug:/usr/lib/debug" */
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

/* libstdc++'s demangler (the analyzer links it): C++ names as gdb shows them. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

static const char *demangle(struct an_sym *s, const char *name)
{
    if (!name || strncmp(name, "_Z", 2)) return name;
    json_t *d = json_object_get(s->names, name);
    if (!d) {
        int st = -1;
        char *dm = __cxa_demangle(name, NULL, NULL, &st);
        d = json_string(st == 0 && dm ? dm : name);
        free(dm);
        if (!d) return name;
        json_object_set_new(s->names, name, d);
    }
    return json_string_value(d);
}

/* A DWARF function's name: its linkage name demangled (qualified, as gdb
 * shows it) when it has one, else its plain name. */
static const char *die_name(struct an_sym *s, Dwarf_Die *die)
{
    Dwarf_Attribute a;
    const char *link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
    return link ? demangle(s, link) : dwarf_diename(die);
}

static void problem(struct an_sym *s, const char *path, const char *why)
{
    char line[600];
    int k = snprintf(line, sizeof line, "%s: %s\n", path, why);
    if (k < 0) return;
    char *p = realloc(s->problems, s->plen + (size_t)k + 1);
    if (!p) return;
    s->problems = p;
    memcpy(p + s->plen, line, (size_t)k + 1);
    s->plen += (size_t)k;
}

static void hex(const unsigned char *b, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 2 < cap; i++, k += 2) snprintf(out + k, 3, "%02x", b[i]);
    out[k] = 0;
}

static int same_id(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    return !*a && !*b;
}

/* Opens path as ELF; fills its build ID (hex) and, when want_bias, the load
 * bias of the mapping (start, file_offset) from the PT_LOAD that maps it. */
static int open_elf(const char *path, char *id, size_t idcap, int want_bias, uint64_t start, uint64_t off,
                    uint64_t *bias)
{
    /* The path comes from the dump: a FIFO or a device there must not hang or feed us. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0) return -1;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!e || elf_kind(e) != ELF_K_ELF) {
        if (e) elf_end(e);
        close(fd);
        return -1;
    }
    const void *bits;
    ssize_t nb = dwelf_elf_gnu_build_id(e, &bits);
    id[0] = 0;
    if (nb > 0) hex(bits, (size_t)nb, id, idcap);
    int found = !want_bias;
    size_t nph;
    if (want_bias && elf_getphdrnum(e, &nph) == 0)
        for (size_t i = 0; i < nph && !found; i++) {
            GElf_Phdr ph;
            if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD) continue;
            if ((ph.p_offset & PAGE_MASK_4K) != (off & PAGE_MASK_4K)) continue;
            *bias = start - (ph.p_vaddr & PAGE_MASK_4K);
            found = 1;
        }
    elf_end(e);
    if (!found) {
        close(fd);
        return -1;
    }
    return fd;
}

static void add_obj(struct an_sym *s, const struct an_sym_module *m)
{
    if (!m->path || m->path[0] != '/') return;           /* [vdso], [anonymous], ... */
    uint64_t bias = m->base;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->o[i].path, m->path)) return;       /* one object, several mappings */
    char id[128];
    int fd = open_elf(m->path, id, sizeof id, !m->has_base, m->start, m->file_offset, &bias);
    const char *use = m->path;
    char dbg[300];
    if (fd >= 0 && m->build_id && m->build_id[0] && !same_id(id, m->build_id)) {
        close(fd);
        fd = -1;
        /* The file was replaced; its debug file by build ID still names the old code. */
        snprintf(dbg, sizeof dbg, "/usr/lib/debug/.build-id/%.2s/%s.debug", m->build_id, m->build_id + 2);
        if (m->has_base && strlen(m->build_id) > 2) fd = open_elf(dbg, id, sizeof id, 0, 0, 0, &bias);
        if (fd >= 0 && same_id(id, m->build_id)) use = dbg;
        else {
            if (fd >= 0) close(fd);
            fd = -1;
            problem(s, m->path, "build ID differs from the dump's (the file was rebuilt or replaced)");
            return;
        }
    } else if (fd < 0) {
        problem(s, m->path, "cannot be opened as ELF here");
        return;
    }
    struct obj *no = realloc(s->o, sizeof *no * (s->n + 1));
    if (!no) {
        close(fd);
        return;
    }
    s->o = no;
    struct obj *o = &s->o[s->n];
    memset(o, 0, sizeof *o);
    o->path = strdup(m->path);
    o->build_id = m->build_id ? strdup(m->build_id) : NULL;
    o->bias = bias;
    const char *name = strrchr(m->path, '/') + 1;
    o->dm = dwfl_report_elf(s->dwfl, name, use, fd, bias, true);
    if (!o->dm) {
        close(fd);
        problem(s, m->path, dwfl_errmsg(-1));
        free(o->path);
        free(o->build_id);
        return;
    }
    void **ud;
    dwfl_module_info(o->dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
    *ud = o;
    s->n++;
}

struct an_sym *an_sym_open(const struct an_sym_module *mods, size_t n)
{
    struct an_sym *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->names = json_object();
    elf_version(EV_CURRENT);
    s->dwfl = dwfl_begin(&callbacks);
    if (!s->dwfl) {
        free(s);
        return NULL;
    }
    dwfl_report_begin(s->dwfl);
    for (size_t i = 0; i < n; i++) add_obj(s, &mods[i]);
    dwfl_report_end(s->dwfl, NULL, NULL);
    /* realloc may have moved the objects: point the modules at their new home. */
    for (size_t i = 0; i < s->n; i++) {
        void **ud;
        dwfl_module_info(s->o[i].dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
        *ud = &s->o[i];
    }
    return s;
}

static uint64_t hex_of(const json_t *o, const char *key, int *ok)
{
    const char *v = json_string_value(json_object_get(o, key));
    char *end;
    *ok = 0;
    if (!v || strncmp(v, "0x", 2)) return 0;
    unsigned long long x = strtoull(v, &end, 16);
    *ok = !*end && end > v + 2;
    return x;
}

struct an_sym *an_sym_open_json(const json_t *modules)
{
    size_t n = json_array_size(modules), k = 0, i;
    struct an_sym_module *m = calloc(n + 1, sizeof *m);
    if (!m) return NULL;
    json_t *e;
    json_array_foreach(modules, i, e) {
        int ok1, ok2, ok3;
        struct an_sym_module *x = &m[k];
        x->path = json_string_value(json_object_get(e, "path"));
        x->start = hex_of(e, "start", &ok1);
        x->end = hex_of(e, "end", &ok2);
        x->file_offset = hex_of(e, "file_offset", &ok3);
        x->base = hex_of(e, "base", &x->has_base);
        x->build_id = json_string_value(json_object_get(e, "build_id"));
        if (x->path && ok1 && ok2 && (ok3 || x->has_base)) k++;
    }
    struct an_sym *s = an_sym_open(m, k);
    free(m);
    return s;
}

static struct obj *obj_of(Dwfl_Module *dm)
{
    void **ud;
    dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
    return ud ? *ud : NULL;
}

/* File name of entry idx of the file table of die's unit. */
static const char *unit_file(Dwarf_Die *die, Dwarf_Word idx)
{
    Dwarf_Die cu;
    Dwarf_Files *files;
    size_t nf;
    if (!dwarf_diecu(die, &cu, NULL, NULL) || dwarf_getsrcfiles(&cu, &files, &nf) || idx >= nf) return NULL;
    return dwarf_filesrc(files, idx, NULL, NULL);
}

static int attr_udata(Dwarf_Die *die, int name, Dwarf_Word *v)
{
    Dwarf_Attribute a;
    return dwarf_attr(die, (unsigned)name, &a) && dwarf_formudata(&a, v) == 0;
}

int an_sym_frame(struct an_sym *s, uint64_t addr, int is_return, struct an_sym_frame *out)
{
    memset(out, 0, sizeof *out);
    if (!s || !addr) return -1;
    uint64_t a = is_return ? addr - 1 : addr;
    Dwfl_Module *dm = dwfl_addrmodule(s->dwfl, a);
    struct obj *o = dm ? obj_of(dm) : NULL;
    if (!o) return -1;
    out->module = o->path;
    out->module_offset = addr - o->bias;
    GElf_Off off;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(dm, a, &off, &sym, NULL, NULL, NULL);
    if (is_return && !(name && GELF_ST_TYPE(sym.st_info) == STT_FUNC)) {
        /* A return address at a function's first instruction is where a
         * signal handler returns: the kernel's signal frame, whose return
         * address is the sigreturn trampoline (glibc's __restore_rt, a
         * sizeless symbol the byte before does not belong to). A thread in
         * a handler of the program's at a dump showed an unnamed libc frame. */
        GElf_Off off0;
        GElf_Sym sym0;
        const char *at = dwfl_module_addrinfo(dm, addr, &off0, &sym0, NULL, NULL, NULL);
        if (at && GELF_ST_TYPE(sym0.st_info) == STT_FUNC && off0 == 0) {
            name = at;
            sym = sym0;
            off = 0;
            a = addr;
        }
    }
    if (name && GELF_ST_TYPE(sym.st_info) == STT_FUNC) {
        out->symbol = demangle(s, name);
        out->offset = off + (addr - a);
    }
    /* The line from the unit that holds the address, else libdw's module
     * wide search; and only a line inside the function that holds the
     * address. A cgo binary's Go units have no address ranges libdw's search
     * reads, and every Go frame was given one C unit's row (gcc_mmap.c:37):
     * a wrong file:line is worse than none. */
    Dwarf_Addr bias, laddr = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(dm, a, &bias);
    Dwarf_Line *dl = cu ? dwarf_getsrc_die(cu, a - bias) : NULL;
    const char *file = NULL;
    if (dl && dwarf_lineaddr(dl, &laddr) == 0 && (file = dwarf_linesrc(dl, NULL, NULL)) != NULL) {
        dwarf_lineno(dl, &out->line);
        laddr += bias;
    } else {
        Dwfl_Line *ln = dwfl_module_getsrc(dm, a);
        file = ln ? dwfl_lineinfo(ln, &laddr, &out->line, NULL, NULL, NULL) : NULL;
    }
    int in_function = !(name && GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_size) ||
                      (laddr + off >= a && laddr <= a);
    if (!in_function) {
        file = NULL;
        out->line = 0;
        cu = NULL;                       /* nor its scopes: the unit is not this code's */
    }
    out->file = file;
    Dwarf_Die *scopes = NULL;
    int ns = cu ? dwarf_getscopes(cu, a - bias, &scopes) : 0;
    /* Past the first inlined call, dwarf_getscopes follows the abstract
     * definition; the concrete chain of callers is the innermost scope's
     * parents in the DIE tree (as eu-addr2line -i walks it). */
    if (ns > 0) {
        Dwarf_Die inner = scopes[0], *chain = NULL;
        int nc = dwarf_getscopes_die(&inner, &chain);
        free(scopes);
        scopes = nc > 0 ? chain : NULL;
        ns = nc > 0 ? nc : 0;
        if (nc <= 0) free(chain);
    }
    int line = out->line;
    for (int i = 0; i < ns; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_inlined_subroutine) {
            if (out->ninlined < AN_SYM_MAX_INLINE)
                out->inlined[out->ninlined++] = (struct an_sym_loc){ die_name(s, &scopes[i]), file, line };
            Dwarf_Word cf = 0, cl = 0;
            file = attr_udata(&scopes[i], DW_AT_call_file, &cf) ? unit_file(&scopes[i], cf) : NULL;
            line = attr_udata(&scopes[i], DW_AT_call_line, &cl) ? (int)cl : 0;
        } else if (tag == DW_TAG_subprogram) {
            if (!out->symbol) {
                out->symbol = die_name(s, &scopes[i]);
                Dwarf_Addr lo;
                if (out->symbol && dwarf_lowpc(&scopes[i], &lo) == 0 && lo + bias <= a) out->offset = addr - (lo + bias);
            }
            break;
        }
    }
    free(scopes);
    out->file = file;
    out->line = file || line ? line : 0;
    return 0;
}

int an_sym_data(struct an_sym *s, uint64_t addr, struct an_sym_data *out)
{
    memset(out, 0, sizeof *out);
    if (!s || !addr) return -1;
    Dwfl_Module *dm = dwfl_addrmodule(s->dwfl, addr);
    struct obj *o = dm ? obj_of(dm) : NULL;
    if (!o) return -1;
    out->module = o->path;
    GElf_Off off;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(dm, addr, &off, &sym, NULL, NULL, NULL);
    int type = name ? GELF_ST_TYPE(sym.st_info) : -1;
    /* Only an object that covers addr: the nearest label below (_edata,
     * __bss_start, a sizeless symbol) would be a wrong name. */
    if (!name || (type != STT_OBJECT && type != STT_NOTYPE && type != STT_COMMON) ||
        !(off < sym.st_size || (sym.st_size == 0 && off == 0)))
        return -1;
    out->symbol = name;
    out->offset = off;
    return 0;
}

uint64_t an_sym_site_addr(struct an_sym *s, const char *site)
{
    /* "func+0x1c (module)" */
    if (!s || !site) return 0;
    const char *plus = strstr(site, "+0x"), *paren = strstr(site, " (");
    if (!plus || !paren || paren < plus) return 0;
    size_t fl = (size_t)(plus - site);
    char *end;
    unsigned long long off = strtoull(plus + 3, &end, 16);
    if (end != paren) return 0;
    const char *mod = paren + 2;
    size_t ml = strcspn(mod, ")");
    for (size_t i = 0; i < s->n; i++) {
        const char *b = strrchr(s->o[i].path, '/') + 1;
        if (strlen(b) != ml || strncmp(b, mod, ml)) continue;
        int nsym = dwfl_module_getsymtab(s->o[i].dm);
        for (int k = 1; k < nsym; k++) {
            GElf_Sym sym;
            GElf_Addr val;
            const char *name = dwfl_module_getsym_info(s->o[i].dm, k, &sym, &val, NULL, NULL, NULL);
            if (name && GELF_ST_TYPE(sym.st_info) == STT_FUNC && strlen(name) == fl && !strncmp(name, site, fl))
                return val + off;
        }
    }
    return 0;
}

const char *an_sym_problems(struct an_sym *s)
{
    return s && s->problems ? s->problems : "";
}

void an_sym_close(struct an_sym *s)
{
    if (!s) return;
    dwfl_end(s->dwfl);
    json_decref(s->names);
    for (size_t i = 0; i < s->n; i++) {
        free(s->o[i].path);
        free(s->o[i].build_id);
    }
    free(s->o);
    free(s->problems);
    free(s);
}
