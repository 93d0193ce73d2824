/* profile.h: poolshim.<pid>.profile, the sizes to start the pools with next
 * time, as shell lines to source where an environment variable sets the size
 * (libuv, OpenMP) and as comments naming the program's option otherwise. */
#ifndef PS_PROFILE_H
#define PS_PROFILE_H
#include <stddef.h>

/* Writes the profile into POOLSHIM_DIR when some pool that cannot be grown
 * live should start at another size; 1 with its path in path, else 0. */
int ps_profile_write(char *path, size_t cap);
#endif
