/* fdplay.c: programs that reuse fd 2.
 *   closeall FILE  closes every fd at start, then opens /dev/null (fd 0 and 1)
 *                  and FILE (which becomes fd 2) and writes "data\n" to it.
 *   dup2 FILE      opens FILE, dup2s it over stderr and logs one line there.
 * Both then run a small pool and exit normally. FILE must afterwards hold
 * exactly what the program wrote: the shim has no business writing into it. */
#include "torture.h"
#include <fcntl.h>

void *fd_worker(void *a)
{
    spin_ms(2);
    sleep_ms(5);
    return a;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        DIE("usage: fdplay closeall|dup2 FILE");
    if (!strcmp(argv[1], "closeall")) {
        for (int fd = 0; fd < 1024; fd++)
            close(fd);
        if (open("/dev/null", O_RDONLY) != 0 || open("/dev/null", O_WRONLY) != 1)
            exit(4);
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd != 2)
            exit(5);
        if (write(fd, "data\n", 5) != 5)
            exit(6);
    } else {
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 2) != 2)
            exit(5);
        close(fd);
        fprintf(stderr, "app log line\n");
    }
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, fd_worker, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    return 0;
}
