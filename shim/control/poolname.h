/* poolname.h: what each pool is called. One name per pool for the stderr
 * summary, the report, the profile and the controller's section, and the
 * names of its functions for the report and POOLSHIM_EXPAND. Agent thread,
 * or at exit and in a dump (agent stopped or calling). */
#ifndef PS_POOLNAME_H
#define PS_POOLNAME_H
#include <stddef.h>

/* Agent, each tick: names the functions of pools that appeared since, while
 * their objects are loaded (a library dlclosed later names nothing). */
void ps_poolname_tick(void);
/* After fork: the pool table starts again, and so do the names. */
void ps_poolname_reset(void);
/* Pool pi's start routine as the symbol table says: its symbol (C++ mangled)
 * or module+0xoff; "(unknown)" without one. The report's start_routine. */
const char *ps_poolname_routine(int pi);
/* The same for the function its trampoline runs (entry.h), or NULL. */
const char *ps_poolname_entry(int pi);
/* What its threads run (entry, else routine) as a person reads it:
 * demangled and short (symname.h), module+0xoff, or "" if unknown. */
const char *ps_poolname_function(int pi);
/* The pool's name, never that of another pool: the function its threads run,
 * else its runtime's name, else its threads' name prefix and `*` (with where
 * they start); ` #N` for a later instance of one pool code; a name two pools
 * would share gets their threads' prefix (`f (VM Thread*)`), else `(pool N)`. */
void ps_poolname_label(int pi, char *buf, size_t cap);
/* Does want name pool pi's start routine or entry: its symbol (mangled, as
 * before names were demangled), or its shown name? */
int ps_poolname_is(int pi, const char *want);
#endif
