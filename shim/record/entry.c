/* entry.c: see entry.h. The table of executable segments is written once, by
 * the constructor, before any thread of ours starts; readers (threads at their
 * start) take no lock. The word read from the argument is compared with
 * numbers, never followed. */
#include "entry.h"
#include "peek.h"
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_SEGS 512

static struct {
    int n;
    uintptr_t lo[MAX_SEGS], hi[MAX_SEGS];
} segs;

static int on_obj(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    for (int i = 0; i < info->dlpi_phnum && segs.n < MAX_SEGS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        segs.lo[segs.n] = info->dlpi_addr + ph->p_vaddr;
        segs.hi[segs.n] = segs.lo[segs.n] + ph->p_memsz;
        segs.n++;
    }
    return 0;
}

void ps_entry_init(void)
{
    int saved = errno;
    segs.n = 0;
    dl_iterate_phdr(on_obj, NULL);
    errno = saved;
}

static int in_code(uintptr_t a)
{
    for (int k = 0; k < segs.n; k++)
        if (a >= segs.lo[k] && a < segs.hi[k])
            return 1;
    return 0;
}

void *ps_entry_of(void *routine, void *arg)
{
    if (!arg || ((uintptr_t)arg & (sizeof(void *) - 1)))
        return NULL;                   /* a trampoline's struct is aligned */
    uintptr_t word = 0;
    if (ps_peek(&word, arg, sizeof word) || word == (uintptr_t)routine || !in_code(word))
        return NULL;
    return (void *)word;
}
