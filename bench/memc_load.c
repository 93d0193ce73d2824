/* memc_load: a load for memcached (issue 13's "memcached under load"): T
 * connections, each on its own thread, doing N round trips of the text
 * protocol (a set of a 100-byte value, then a get of it), one request in
 * flight per connection. Prints {"seconds": wall time of the load,
 * "requests": total, "errors": n}; exits non-zero on a protocol error.
 * The program measured is memcached (started by the caller, with or without
 * the shim); this client runs without it.
 * Usage: memc_load PORT THREADS ROUND_TRIPS_PER_THREAD */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static long trips;
static long errors;

/* Reads until buf ends with end (a whole reply), -1 on error. */
static int read_reply(int fd, char *buf, size_t cap, const char *end)
{
    size_t n = 0, el = strlen(end);
    while (n < el || memcmp(buf + n - el, end, el)) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0 || (size_t)r >= cap - 1 - n)
            return -1;
        n += (size_t)r;
    }
    buf[n] = 0;
    return 0;
}

static void *client(void *arg)
{
    long id = (long)arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        __atomic_fetch_add(&errors, trips, __ATOMIC_RELAXED);
        return NULL;
    }
    char val[101], req[256], buf[512];
    memset(val, 'v', 100);
    val[100] = 0;
    for (long i = 0; i < trips; i++) {
        int len = snprintf(req, sizeof req, "set k%ld_%ld 0 0 100\r\n%s\r\n", id, i % 1000, val);
        if (write(fd, req, (size_t)len) != len || read_reply(fd, buf, sizeof buf, "\r\n") || strcmp(buf, "STORED\r\n")) {
            __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
            break;
        }
        len = snprintf(req, sizeof req, "get k%ld_%ld\r\n", id, i % 1000);
        if (write(fd, req, (size_t)len) != len || read_reply(fd, buf, sizeof buf, "END\r\n")) {
            __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
            break;
        }
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: memc_load PORT THREADS ROUND_TRIPS_PER_THREAD\n");
        return 2;
    }
    port = atoi(argv[1]);
    int nt = atoi(argv[2]);
    trips = atol(argv[3]);
    if (port <= 0 || nt <= 0 || nt > 256 || trips <= 0) {
        fprintf(stderr, "memc_load: bad arguments\n");
        return 2;
    }
    pthread_t th[256];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < nt; i++)
        pthread_create(&th[i], NULL, client, (void *)i);
    for (int i = 0; i < nt; i++)
        pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("{\"seconds\":%.4f,\"requests\":%ld,\"errors\":%ld}\n", dt, 2 * trips * nt, errors);
    return errors ? 1 : 0;
}
