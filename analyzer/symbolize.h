/* symbolize.h: addresses of a (possibly dead) process to names, offline,
 * with elfutils' libdwfl: the function, its file:line and the chain of calls
 * inlined at a code address; the data symbol (`stats_lock`, `journal+0x28`)
 * at a data address. Input is the process's module map (as a dump's
 * `modules[]` or /proc/PID/maps gives it); each object is opened from its
 * path and used only if its GNU build ID matches the one recorded (a binary
 * rebuilt since gives no names rather than wrong ones). Separate debug files
 * are found by build ID (/usr/lib/debug/.build-id/xx/yyyy.debug), as gdb does.
 * C++ names are demangled.
 * One handle per process image; not thread-safe; every string it returns
 * stays valid until an_sym_close. */
#ifndef AN_SYMBOLIZE_H
#define AN_SYMBOLIZE_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* One executable (or any file-backed) mapping of the process. */
struct an_sym_module {
    const char *path;       /* the object's path as mapped; "[vdso]" etc. are skipped */
    uint64_t start, end;    /* the mapping's runtime range */
    uint64_t file_offset;   /* the mapping's offset in the file */
    uint64_t base;          /* load bias (runtime address - ELF vaddr), if has_base */
    int has_base;           /* 0: derived from start/file_offset and the ELF headers */
    const char *build_id;   /* hex, or NULL: then the file on disk is trusted */
};

/* One level of a code location: a function and where in it. */
struct an_sym_loc {
    const char *symbol;     /* function name, or NULL */
    const char *file;       /* source file as the debug info names it, or NULL */
    int line;               /* 0 if unknown */
};

#define AN_SYM_MAX_INLINE 16

struct an_sym_frame {
    const char *module;     /* path of the object, or NULL when no module holds addr */
    uint64_t module_offset; /* addr - the module's load bias (the ELF vaddr) */
    const char *symbol;     /* the real (not inlined) function: ELF symbol, else DWARF name */
    uint64_t offset;        /* addr - the symbol's start, when symbol */
    const char *file;       /* where in `symbol` the frame is: for an address inside */
    int line;               /*   inlined code, the call site of the outermost inlined call */
    int ninlined;           /* calls inlined at addr, innermost first: inlined[0] is the */
    struct an_sym_loc inlined[AN_SYM_MAX_INLINE]; /* function the code really is, with its line */
};

struct an_sym_data {
    const char *module;     /* path, or NULL (heap, stack, anonymous memory) */
    const char *symbol;     /* the data object containing addr, or NULL */
    uint64_t offset;        /* addr - the object's start */
};

struct an_sym;

/* Opens the process image described by mods[0..n). Never fails for a bad
 * module (it is left out, see an_sym_problems); NULL only without memory. */
struct an_sym *an_sym_open(const struct an_sym_module *mods, size_t n);
/* The same from a dump's `modules` array (entries with path, start, end,
 * file_offset, base, build_id). */
struct an_sym *an_sym_open_json(const json_t *modules);
/* Symbolizes code address addr. is_return: addr is a return address (every
 * frame but a stack's first), looked up at addr - 1 so that a call at the
 * end of a function or an inlined block is named right. 0 if a module holds
 * addr (out filled as far as known), -1 if none does. */
int an_sym_frame(struct an_sym *s, uint64_t addr, int is_return, struct an_sym_frame *out);
/* Names data address addr: the object symbol covering it. 0 if named. */
int an_sym_data(struct an_sym *s, uint64_t addr, struct an_sym_data *out);
/* Resolves a site the shim wrote as text, "func+0x1c (module)", back to an
 * address of this image (for file:line), or 0 if it cannot. */
uint64_t an_sym_site_addr(struct an_sym *s, const char *site);
/* One line per module left out and why (build ID differs, file missing,
 * no debug info), "" if none. */
const char *an_sym_problems(struct an_sym *s);
void an_sym_close(struct an_sym *s);

/* Adds what the symbolizer knows to a loaded dump, in place: every frame of
 * threads[].stack and allocations.top_sites[].stack gains `file`, `line`,
 * `inlined` (and `symbol` when it was null); blocked_on, wait_for.edges,
 * locks[] and waits[] gain `name` (data symbol, `symbol+0xoff`, or for a heap
 * lock the place it is taken); the dump gains `symbols` {frames, named,
 * with_line, problems[]}. A dump that has `symbols` is left as it is.
 * Returns the number of threads' frames with a symbol. */
int an_sym_enrich_dump(json_t *dump);
#endif
