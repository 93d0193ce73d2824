/* log.h: the shim's only voice: one-line warnings on stderr with a raw write(2).
 * No stdio, no malloc, safe from any thread (not from signal handlers: formatting
 * is reentrant but callers there should use ps_log_raw). */
#ifndef PS_LOG_H
#define PS_LOG_H
#include <stddef.h>

/* Records which file fd 2 is; from then on lines are written only while fd 2
 * is still that file (see log.c). Called first in the constructor. */
void ps_log_init(void);
/* Would a line written now reach the stderr the process started with (fd 2
 * still open and still that file)? Keeps errno. */
int ps_log_reaches_stderr(void);
/* printf subset: %s %d %u %ld %lu %zu %x %lx %p %c %%; prefix "poolshim[pid]: ", newline added. */
void ps_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs once per call site: `static int once; ps_log_once(&once, ...)`. */
#define ps_log_once(flagp, ...) do { if (!__atomic_exchange_n((flagp), 1, __ATOMIC_RELAXED)) ps_log(__VA_ARGS__); } while (0)
/* Small formatter shared with the JSON writer and paths: returns bytes written (< cap). */
size_t ps_vfmt(char *buf, size_t cap, const char *fmt, __builtin_va_list ap);
size_t ps_fmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends to the string in buf (cap bytes in all), as much as fits: the
 * reasons a recommendation gives, one clause after another. */
void ps_fmt_cat(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes the whole buffer to fd, retrying on EINTR / short writes; keeps errno.
 * Returns 0 or -errno. */
int ps_write_all(int fd, const void *buf, size_t n);
#endif
