/* symbol.h: code addresses to names, for reports and dumps (never on hot paths:
 * dladdr takes the loader lock and the ELF fallback reads files). */
#ifndef PS_SYMBOL_H
#define PS_SYMBOL_H
#include <stddef.h>
#include <stdint.h>

struct ps_sym {
    char name[128];      /* function name, "" if unknown */
    uintptr_t offset;    /* addr - function start (0 if unknown) */
    char module[256];    /* path of the object containing addr, "" if none */
    uintptr_t module_offset; /* addr - module load base */
};

/* Agent, each tick: remembers the libraries loaded now (a dl_iterate_phdr
 * that stops at its first object when none was loaded since), so that
 * addresses in one the program dlcloses before its report are still named
 * by module+0xoff and its .symtab. */
void ps_symbol_note_modules(void);
/* 0 if at least the module is known (loaded now, or seen loaded by
 * ps_symbol_note_modules). Uses dladdr, then the module's .symtab
 * (static functions and executables without -rdynamic). Agent / exit only. */
int ps_symbolize(const void *addr, struct ps_sym *out);
/* "func+0x1c (libfoo.so)" or "libfoo.so+0x1234" or "0x7f..". */
void ps_symbol_string(const void *addr, char *buf, size_t cap);
/* Just the function name, or module+0xoff when the function is unknown. */
void ps_symbol_func(const void *addr, char *buf, size_t cap);
/* The data symbol at addr ("stats_lock", "journal+0x28"): 1, or 0 (a heap
 * or stack address, or a stripped module). */
int ps_symbol_data(const void *addr, char *buf, size_t cap);
#endif
