/* symname.h: a function's symbol as a name a person reads and types back
 * (a pool's name, POOLSHIM_EXPAND, POOLSHIM_POOL): C++ demangled and cut
 * short, runtime entries that say nothing about a pool recognized. Pure
 * functions, but for ps_symname_show with its library (agent or exit only). */
#ifndef PS_SYMNAME_H
#define PS_SYMNAME_H
#include <stddef.h>

/* The name to show for sym: a C++ symbol demangled and shortened, else sym.
 * with_lib: libstdc++'s __cxa_demangle may be called when the process has it
 * loaded already (it allocates: agent or exit only); without it, only the
 * simple forms ps_symname_demangle_simple reads. Returns buf. */
const char *ps_symname_show(const char *sym, int with_lib, char *buf, size_t cap);
/* A demangled C++ name (as c++filt prints it) cut to what names a pool:
 * no return type, no parameter list at the end, `(...)` for one inside,
 * `{lambda}` for a closure and none of its operator() or _FUN, no ABI tags,
 * no Rust hash: "node::worker::Worker::StartThread(...)::{lambda}". */
void ps_symname_shorten(const char *demangled, char *buf, size_t cap);
/* The forms read without a library: a function or method of plain names
 * (_ZL19thread_native_entryP6Thread, _ZN4node12_GLOBAL__N_1L20PlatformWorkerThreadEPv),
 * no templates or local names: 0 and its name without parameters, or -1. */
int ps_symname_demangle_simple(const char *sym, char *buf, size_t cap);
/* 1 when sym (shown as `shown`) is an entry every thread of a runtime starts
 * at (HotSpot's thread_native_entry, Rust std's thread_start): the threads'
 * name tells the pool better. */
int ps_symname_is_generic(const char *sym, const char *shown);
#endif
