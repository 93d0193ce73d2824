/* ptrace_unwind.c: unwinding the threads of a ptrace capture offline, from
 * the copies (ptrace.h, step 2), with elfutils' libdwfl: the modules come from
 * the maps read at the capture, the registers and the stack words from the
 * copies, the unwind tables (.eh_frame, .debug_frame) from the files on disk,
 * separate debug files by build-id through dwfl_standard_find_debuginfo.
 * The program runs on meanwhile; nothing here reads its writable memory, so
 * every frame belongs to the same instant. Read-only mappings (code, tables)
 * do not change and may be read live when a rule needs them. */
#include "ptrace.h"
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define MAX_FRAMES 64

/* Threads of a pool stop at the same few addresses, and a symbol lookup
 * walks the module's symbol table: each frame is named once per dump. */
#define FRAME_CACHE 4096
struct cached { Dwarf_Addr pc; int exact; json_t *frame; };

struct pt_unwind {
    const struct pt_capture *cap;
    Dwfl *dwfl;
    const struct pt_thread *cur;       /* the thread being unwound */
    int next;                          /* next_thread's cursor */
    struct cached cache[FRAME_CACHE];
};

static char *debuginfo_path;
static const Dwfl_Callbacks proc_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

static int copy_word(const struct pt_thread *t, Dwarf_Addr addr, Dwarf_Word *out)
{
    if (!t || !t->stack || addr < t->stack_lo || addr + sizeof *out > t->stack_lo + t->stack_len) return 0;
    memcpy(out, t->stack + (addr - t->stack_lo), sizeof *out);
    return 1;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
    struct pt_unwind *u = arg;
    if (copy_word(u->cur, addr, result)) return true;
    /* A frame may point into another thread's stack (a pointer kept across a
     * hand-off is rare, but its copy is from the same instant). */
    for (int i = 0; i < u->cap->n; i++)
        if (copy_word(&u->cap->th[i], addr, result)) return true;
    /* Read-only mappings cannot have moved: read them live. */
    for (int i = 0; i < u->cap->nmaps; i++) {
        const struct pt_map *m = &u->cap->maps[i];
        if (addr < m->start || addr + sizeof *result > m->end) continue;
        if (m->perms[1] == 'w') break;
        struct iovec l = { result, sizeof *result }, r = { (void *)(uintptr_t)addr, sizeof *result };
        if (process_vm_readv(u->cap->pid, &l, 1, &r, 1, 0) == (ssize_t)sizeof *result) return true;
        break;
    }
    return false;
}

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
    struct pt_unwind *u = arg;
    while (u->next < u->cap->n) {
        const struct pt_thread *t = &u->cap->th[u->next++];
        if (t->status == PT_STOPPED && t->regs_ok) {
            *thread_argp = (void *)t;
            return t->tid;
        }
    }
    return 0;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
    struct pt_unwind *u = arg;
    for (int i = 0; i < u->cap->n; i++) {
        const struct pt_thread *t = &u->cap->th[i];
        if (t->tid == tid && t->status == PT_STOPPED && t->regs_ok) {
            *thread_argp = (void *)t;
            return true;
        }
    }
    return false;
}

/* DWARF's x86-64 register numbering: rax rdx rcx rbx rsi rdi rbp rsp r8-r15, then the return address (rip). */
static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
    const struct user_regs_struct *r = &((const struct pt_thread *)thread_arg)->regs;
    Dwarf_Word regs[17] = { r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi, r->rbp, r->rsp, r->r8, r->r9,
                            r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rip };
    return dwfl_thread_state_registers(thread, 0, 17, regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
    .next_thread = next_thread,
    .get_thread = get_thread,
    .memory_read = memory_read,
    .set_initial_registers = set_initial_registers,
};

struct pt_unwind *pt_unwind_open(const struct pt_capture *cap, char *msg, size_t n)
{
    struct pt_unwind *u = calloc(1, sizeof *u);
    if (!u) { snprintf(msg, n, "out of memory"); return NULL; }
    u->cap = cap;
    u->dwfl = dwfl_begin(&proc_callbacks);
    FILE *maps = u->dwfl ? fmemopen(cap->maps_text, cap->maps_len, "r") : NULL;
    if (!maps) {
        snprintf(msg, n, "cannot start libdwfl: %s", dwfl_errmsg(-1));
        pt_unwind_close(u);
        return NULL;
    }
    dwfl_report_begin(u->dwfl);
    int r = dwfl_linux_proc_maps_report(u->dwfl, maps);
    fclose(maps);
    dwfl_report_end(u->dwfl, NULL, NULL);
    if (r != 0 || !dwfl_attach_state(u->dwfl, NULL, cap->pid, &thread_callbacks, u)) {
        snprintf(msg, n, "cannot unwind (libdwfl): %s", dwfl_errmsg(-1));
        pt_unwind_close(u);
        return NULL;
    }
    return u;
}

void pt_unwind_close(struct pt_unwind *u)
{
    if (!u) return;
    for (int i = 0; i < FRAME_CACHE; i++) json_decref(u->cache[i].frame);
    if (u->dwfl) dwfl_end(u->dwfl);
    free(u);
}

static void hex(json_t *o, const char *key, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
    json_object_set_new(o, key, json_string(b));
}

/* One frame in the dump's shape; a return address is looked up one byte
 * before (it points after its call), the interrupted PC as it is. */
static json_t *frame_json(Dwfl *dwfl, Dwarf_Addr pc, int exact)
{
    Dwarf_Addr look = exact ? pc : pc - 1;
    json_t *f = json_object();
    hex(f, "addr", pc);
    Dwfl_Module *m = dwfl_addrmodule(dwfl, look);
    Dwarf_Addr start = 0;
    const char *path = m ? dwfl_module_info(m, NULL, &start, NULL, NULL, NULL, NULL, NULL) : NULL;
    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name = m ? dwfl_module_addrinfo(m, look, &off, &sym, NULL, NULL, NULL) : NULL;
    json_object_set_new(f, "module", path ? json_string(path) : json_null());
    /* "clock_nanosleep@GLIBC_2.2.5": the version is the symbol table's, not the function's name. */
    json_object_set_new(f, "symbol", name ? json_stringn(name, strcspn(name, "@")) : json_null());
    if (name) hex(f, "offset", off + (pc - look));
    else if (m) hex(f, "offset", pc - start);
    else json_object_set_new(f, "offset", json_null());
    return f;
}

/* The frame for pc, named once per dump (frames are shared, never changed). */
static json_t *frame_cached(struct pt_unwind *u, Dwarf_Addr pc, int exact)
{
    uint32_t h = (uint32_t)(((pc ^ (Dwarf_Addr)exact) * 0x9E3779B97F4A7C15ull) >> 52) & (FRAME_CACHE - 1);
    for (int i = 0; i < 32; i++) {
        struct cached *c = &u->cache[(h + (uint32_t)i) & (FRAME_CACHE - 1)];
        if (c->frame && c->pc == pc && c->exact == exact) return json_incref(c->frame);
        if (!c->frame) {
            c->pc = pc;
            c->exact = exact;
            c->frame = frame_json(u->dwfl, pc, exact);
            return json_incref(c->frame);
        }
    }
    return frame_json(u->dwfl, pc, exact);
}

struct frames { struct pt_unwind *u; json_t *arr; Dwarf_Addr last; int repeats; };

static int on_frame(Dwfl_Frame *state, void *arg)
{
    struct frames *fr = arg;
    Dwarf_Addr pc;
    bool activation;
    if (!dwfl_frame_pc(state, &pc, &activation) || pc == 0) return DWARF_CB_ABORT;
    /* A frame that does not move the unwinder on (no CFI, a loop) ends it. */
    if (pc == fr->last && ++fr->repeats > 2) return DWARF_CB_ABORT;
    if (pc != fr->last) fr->repeats = 0;
    fr->last = pc;
    json_array_append_new(fr->arr, frame_cached(fr->u, pc, activation));
    return json_array_size(fr->arr) >= MAX_FRAMES ? DWARF_CB_ABORT : DWARF_CB_OK;
}

json_t *pt_unwind_stack(struct pt_unwind *u, int i)
{
    const struct pt_thread *t = &u->cap->th[i];
    struct frames fr = { u, json_array(), 0, 0 };
    if (t->status != PT_STOPPED || !t->regs_ok) return fr.arr;
    u->cur = t;
    /* The end of a stack shows as an error on some frames: what was walked stands. */
    dwfl_getthread_frames(u->dwfl, t->tid, on_frame, &fr);
    if (!json_array_size(fr.arr)) json_array_append_new(fr.arr, frame_cached(u, t->regs.rip, 1));
    u->cur = NULL;
    return fr.arr;
}

const char *pt_unwind_data_name(struct pt_unwind *u, uint64_t addr)
{
    static char buf[320];
    Dwfl_Module *m = dwfl_addrmodule(u->dwfl, addr);
    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name = m ? dwfl_module_addrinfo(m, addr, &off, &sym, NULL, NULL, NULL) : NULL;
    /* Only a data object that really spans the address names it. */
    if (!name || GELF_ST_TYPE(sym.st_info) != STT_OBJECT || off >= (sym.st_size ? sym.st_size : 1)) return NULL;
    if (off) snprintf(buf, sizeof buf, "%s+0x%llx", name, (unsigned long long)off);
    else snprintf(buf, sizeof buf, "%s", name);
    return buf;
}

json_t *pt_unwind_modules(struct pt_unwind *u)
{
    json_t *arr = json_array();
    const struct pt_capture *c = u->cap;
    for (int i = 0; i < c->nmaps; i++) {
        const struct pt_map *m = &c->maps[i];
        if (m->perms[2] != 'x') continue;
        json_t *o = json_object();
        json_object_set_new(o, "path", json_string(m->path[0] ? m->path : "[anonymous]"));
        hex(o, "start", m->start);
        hex(o, "end", m->end);
        hex(o, "file_offset", m->offset);
        Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, m->start);
        Dwarf_Addr bias = 0;
        Elf *elf = mod ? dwfl_module_getelf(mod, &bias) : NULL;
        if (elf) hex(o, "base", bias);
        else json_object_set_new(o, "base", json_null());
        const unsigned char *bits;
        GElf_Addr vaddr;
        int len = mod ? dwfl_module_build_id(mod, &bits, &vaddr) : 0;
        if (len > 0) {
            char b[2 * 64 + 1];
            int k = 0;
            for (int j = 0; j < len && j < 64; j++) k += snprintf(b + k, sizeof b - (size_t)k, "%02x", bits[j]);
            json_object_set_new(o, "build_id", json_string(b));
        } else {
            json_object_set_new(o, "build_id", json_null());
        }
        json_array_append_new(arr, o);
    }
    return arr;
}
