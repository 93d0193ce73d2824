/* entry.c: see entry.h. The table of executable segments (with each one's
 * object's .eh_frame_hdr) is written once, by the constructor, before any
 * thread of ours starts; readers (threads at their start) take no lock.
 * An object loaded later (dlopen) is found with glibc's _dl_find_object
 * (2.35): lock-free, async-signal-safe, and it forgets an object once it is
 * dlclosed, so a range reused by a later dlopen names the new object, never
 * a stale one. Without it (older glibc) such objects stay unknown, as before.
 * Words read from the argument are compared with numbers, never followed;
 * the search table of .eh_frame_hdr is read through ps_peek too (an object
 * the table names could be gone). */
#include "entry.h"
#include "peek.h"
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_SEGS 512
/* Words of a trampoline's struct searched for its function: APR 1.7's
 * apr_thread_t {pool, td, data, func, exitval} has it 4th. */
#define ENTRY_WORDS 4

static struct {
    int n;
    int program_n;               /* the first program_n are the program's own (dl_iterate_phdr
                                  * reports it first) */
    uintptr_t lo[MAX_SEGS], hi[MAX_SEGS];
    uintptr_t eh_hdr[MAX_SEGS];  /* the object's PT_GNU_EH_FRAME, 0 if none */
    unsigned char stdcxx[MAX_SEGS];  /* the segment is libstdc++'s (virtual_run) */
} segs;

/* glibc's, NULL before 2.35. Looked up, not linked: the shim must still load
 * where it is missing. */
static __typeof__(_dl_find_object) *find_object;

static int on_obj(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    uintptr_t eh = 0;
    const char *name = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
    int stdcxx = name && !strncmp(name, "/libstdc++.so", 13);
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
            eh = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
    for (int i = 0; i < info->dlpi_phnum && segs.n < MAX_SEGS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        segs.lo[segs.n] = info->dlpi_addr + ph->p_vaddr;
        segs.hi[segs.n] = segs.lo[segs.n] + ph->p_memsz;
        segs.eh_hdr[segs.n] = eh;
        segs.stdcxx[segs.n] = (unsigned char)stdcxx;
        segs.n++;
    }
    if (!segs.program_n)
        segs.program_n = segs.n;
    return 0;
}

void ps_entry_init(void)
{
    int saved = errno;
    segs.n = segs.program_n = 0;
    dl_iterate_phdr(on_obj, NULL);
    find_object = (__typeof__(_dl_find_object) *)dlsym(RTLD_DEFAULT, "_dl_find_object");
    if (!find_object)
        (void)dlerror();         /* the program's first dlerror() must not see our miss */
    errno = saved;
}

/* The index of the executable segment holding a, or -1. */
static int seg_of(uintptr_t a)
{
    for (int k = 0; k < segs.n; k++)
        if (a >= segs.lo[k] && a < segs.hi[k])
            return k;
    return -1;
}

/* The .eh_frame_hdr of the object holding a: from the constructor's table,
 * else (an object loaded since) from the loader; 0 if none or unknown. */
static uintptr_t eh_hdr_of(uintptr_t a)
{
    int k = seg_of(a);
    if (k >= 0)
        return segs.eh_hdr[k];
    struct dl_find_object fo;
    if (!find_object || !a || find_object((void *)a, &fo) != 0)
        return 0;
    return (uintptr_t)fo.dlfo_eh_frame;
}

/* DWARF pointer encodings .eh_frame_hdr uses (LSB's "Exception Frame
 * Header"): what every linker writes on x86-64 and aarch64. */
#define EH_PE_udata4  0x03
#define EH_PE_sdata4  0x0b
#define EH_PE_datarel 0x30

/* Is a the first instruction of a function of the object whose
 * .eh_frame_hdr is at hdr: an initial location in its sorted table (one row
 * per function with unwind info, which gcc and clang emit by default on
 * x86-64)? An address inside a function, or data that shares the code's
 * segment (old layouts put .rodata there: a string literal given as an
 * argument), is not. No table, or one in another encoding: not known to be,
 * 0. A binary search, ~12 reads of 4 bytes for libc's 3000 functions. */
static int starts_function_in(uintptr_t hdr, uintptr_t a)
{
    if (!hdr)
        return 0;
    unsigned char h[4];          /* version, eh_frame_ptr, fde_count, table encodings */
    if (ps_peek(h, (void *)hdr, sizeof h) || h[0] != 1 || h[2] != EH_PE_udata4 ||
        h[3] != (EH_PE_datarel | EH_PE_sdata4) || ((h[1] & 0x0f) != EH_PE_udata4 && (h[1] & 0x0f) != EH_PE_sdata4))
        return 0;
    uint32_t count;
    uintptr_t table = hdr + 4 + 4 + 4;   /* after the header, eh_frame_ptr and fde_count */
    if (ps_peek(&count, (void *)(hdr + 8), sizeof count))
        return 0;
    uint32_t lo = 0, hi = count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int32_t loc;
        if (ps_peek(&loc, (void *)(table + (uintptr_t)mid * 8), sizeof loc))
            return 0;
        uintptr_t fn = hdr + (intptr_t)loc;
        if (fn == a)
            return 1;
        if (fn < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int starts_function(uintptr_t a)
{
    return starts_function_in(eh_hdr_of(a), a);
}

/* The function a closure {func, data} among words[0..i) names, else NULL.
 * The function found in a trampoline's struct may be a trampoline too:
 * httpd's ap_thread_create starts every thread of Apache at one static
 * thread_start, its data a {func, data} that thread_start calls, so the
 * listener and the workers were one pool again, named apache2+0x3d6b0.
 * A struct that starts with a function and whose second word is no
 * function is such a closure; one whose second word is a function too is a
 * table of operations the thread's function is handed, not what it runs. */
static void *closure_before(void *fn, const uintptr_t *words, int i)
{
    for (int j = 0; j < i; j++) {
        uintptr_t c[2];
        if ((words[j] & (sizeof(void *) - 1)) || ps_peek(c, (void *)words[j], sizeof c))
            continue;
        if (c[0] && c[0] != (uintptr_t)fn && starts_function(c[0]) && !starts_function(c[1]))
            return (void *)c[0];
    }
    return NULL;
}

/* The function std::thread's state runs: libstdc++ starts every std::thread
 * at one routine of its own (execute_native_thread_routine, a local symbol)
 * with a std::thread::_State, and calls its _M_run, the third slot of its
 * vtable after the two destructors: one per callable type, so one per kind
 * of thread (lld's workers and every other std::thread of a program were
 * one pool, "ld.lld* (libstdc++.so.6+0xd4490)"). Only for libstdc++'s
 * routine: another library's C++ argument is its own class (HotSpot's
 * thread_native_entry is given a JavaThread, whose third slot named its pool
 * "JavaThread::~JavaThread"). vptr is the object's first word; an Itanium
 * primary vtable has offset-to-top 0 and a typeinfo (data, not code; null
 * without RTTI) before the slot it points to, and its slots are code. */
static void *virtual_run(uintptr_t vptr)
{
    uintptr_t v[5];              /* offset-to-top, typeinfo, 3 slots */
    if ((vptr & (sizeof(void *) - 1)) || vptr < 2 * sizeof(void *) ||
        ps_peek(v, (void *)(vptr - 2 * sizeof(void *)), sizeof v))
        return NULL;
    if (v[0] || (v[1] && (seg_of(v[1]) >= 0 || starts_function(v[1]))))
        return NULL;             /* no typeinfo: built with -fno-rtti (LLVM) */
    /* in a non-PIE program, a slot may be the program's PLT entry for a
     * function of a library (its canonical address): code, not a start */
    for (int k = 2; k < 5; k++)
        if (seg_of(v[k]) < 0 && !starts_function(v[k]))
            return NULL;
    return (void *)v[4];
}

void *ps_entry_of(void *routine, void *arg)
{
    if (arg && arg != routine && starts_function((uintptr_t)arg))
        return arg;                    /* the argument is the function (lbzip2) */
    if (!arg || ((uintptr_t)arg & (sizeof(void *) - 1)))
        return NULL;                   /* a trampoline's struct is aligned */
    uintptr_t words[ENTRY_WORDS];
    int n = ENTRY_WORDS;               /* one read; a small struct may end its mapping */
    if (ps_peek(words, arg, sizeof words))
        n = ps_peek(words, arg, sizeof words[0]) ? 0 : 1;
    if (n == 0)
        return NULL;
    if (words[0] != (uintptr_t)routine && (seg_of(words[0]) >= 0 || starts_function(words[0])))
        return (void *)words[0];       /* the struct starts with its function (yarn, GLib) */
    /* Further in (APR's apr_thread_t): only a word that starts a function
     * (a pointer into code that happens to sit there is no function), and of
     * an object other than the routine's: a library's trampoline running the
     * program's function; a program's own worker whose struct holds one of
     * its own callbacks is still named by its routine, and so is one whose
     * struct holds a library's function (a destructor such as free): only a
     * library's routine is taken for a trampoline here. */
    int rk = seg_of((uintptr_t)routine);
    if (rk >= 0 && rk < segs.program_n)
        return NULL;
    uintptr_t routine_hdr = eh_hdr_of((uintptr_t)routine);
    for (int i = 1; i < n; i++) {
        if (words[i] == (uintptr_t)routine || words[i] == 0)
            continue;
        uintptr_t hdr = eh_hdr_of(words[i]);
        if (hdr && hdr != routine_hdr && starts_function_in(hdr, words[i])) {
            void *inner = closure_before((void *)words[i], words, i);
            return inner ? inner : (void *)words[i];
        }
    }
    return rk >= 0 && segs.stdcxx[rk] ? virtual_run(words[0]) : NULL;
}
