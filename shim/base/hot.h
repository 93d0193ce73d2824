/* hot.h: PS_HOT_TEXT puts a function in the shim's hot text, next to the
 * other functions of the paths a program calls most (the mutex pair, marked
 * or not, and the hold sample). Why: right after a system call (sysbench's
 * lock / sched_yield / unlock) the cost of a path is mostly its first touch of
 * each code page and line, not its instruction count; a `perf record` of that
 * loop put 73 % of the exported unlock's samples on its first instruction.
 * Scattered over the shim's .text, the marked pair's functions sat on four
 * pages (0x22000-0x2e000); the linker's default script gathers every
 * .text.hot.* section into one run. Only for functions on such paths: the
 * point is that the run stays a page or two. */
#ifndef PS_HOT_H
#define PS_HOT_H
#define PS_HOT_TEXT __attribute__((section(".text.hot.poolshim")))
#endif
