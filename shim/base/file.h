/* file.h: how the shim puts a file on disk: written to a temporary name in the
 * same directory, fsync'ed, then renamed, so a reader never sees half a file
 * and a crash mid-write leaves at most a *.tmp behind. The temporary file is
 * created with O_EXCL|O_NOFOLLOW: in a shared directory a name planted by
 * another user (a symlink to their target) is skipped, never written through. */
#ifndef PS_FILE_H
#define PS_FILE_H
#include <stddef.h>

/* Writes buf to dir/name atomically. 0 or -errno. */
int ps_file_write_atomic(const char *dir, const char *name, const void *buf, size_t len);
/* The same without the fsync, for a file rewritten every interval whose
 * reader only needs never to see half of it (a crash may lose the last copy). */
int ps_file_replace(const char *dir, const char *name, const void *buf, size_t len);
/* Opens a new temporary file for dir/name (named in tmp), created with
 * O_EXCL|O_NOFOLLOW so a planted file or symlink is never written through.
 * The fd or -errno. */
int ps_file_create_tmp(const char *dir, const char *name, char *tmp, size_t cap);
/* Reads up to cap-1 bytes of a small file (/proc) into buf, NUL-terminated,
 * with raw system calls (never through our wrappers). Bytes read or -1. */
long ps_file_read_small(const char *path, char *buf, size_t cap);
/* The program's executable path (/proc/self/exe), "" when unreadable. */
void ps_file_self_exe(char *buf, size_t cap);
/* The name the program was started by (its argv[0]'s last part), as it was
 * at ps_file_note_program (the constructor): a symlink's name, not the file
 * it points to (redis-server is redis-check-rdb), and before the program
 * rewrites its argv for a title. "" when unknown. */
void ps_file_note_program(void);
const char *ps_file_program(void);
/* Does the file (of any length: /proc/PID/maps) hold needle (under 64
 * bytes)? Raw system calls; 0 when it cannot be read. */
int ps_file_contains(const char *path, const char *needle);
#endif
