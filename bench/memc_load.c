/* memc_load: a load for memcached (issue 13's "memcached under load"): T
 * connections, each on its own thread, doing N round trips of the text
 * protocol (a set of a 100-byte value, then a get of it), one request in
 * flight per connection. Prints {"seconds": wall time of the load,
 * "requests": total, "errors": n}; exits non-zero on a protocol error.
 * The program measured is memcached (started by the caller, with or without
 * the shim); this client runs without it.
 * Usage: memc_load PORT THREADS ROUND_TRIPS_PER_THREAD [SECONDS [TIMELINE]]
 * With SECONDS > 0 each connection runs for SECONDS instead (ROUND_TRIPS is
 * then a cap per thread, 0 for none), and with TIMELINE the client writes
 * its own count of finished requests (sets and gets) every 100 ms to that
 * file as "t_s count" lines, t from the start of the load (controller bench:
 * a timeline taken by the client, not sampled from memcached's stats).
 * MEMC_DEPTH=D (default 1) pipelines: D sets in one write, then D gets. */
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
static volatile int stop;
/* finished requests per thread, one cache line each */
static struct { long n; char pad[56]; } done[256];

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

static int depth = 1; /* MEMC_DEPTH: set+get pairs in flight per connection */

/* Reads until DEPTH replies ending in end have arrived, -1 on error. The
 * values are all 'v', so end cannot appear inside one. */
static int read_replies(int fd, char *buf, size_t cap, const char *end, int want)
{
    size_t el = strlen(end), keep = 0;
    int got = 0;
    while (got < want) {
        ssize_t r = read(fd, buf + keep, cap - 1 - keep);
        if (r <= 0)
            return -1;
        size_t n = keep + (size_t)r;
        buf[n] = 0;
        if (strstr(buf, "ERROR"))
            return -1;
        for (char *p = buf; (p = strstr(p, end)); p += el)
            got++;
        /* carry a tail shorter than end, which may be the start of one */
        keep = n < el - 1 ? n : el - 1;
        memmove(buf, buf + n - keep, keep);
    }
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
        __atomic_fetch_add(&errors, trips ? trips : 1, __ATOMIC_RELAXED);
        return NULL;
    }
    char val[101], req[256], buf[512];
    memset(val, 'v', 100);
    val[100] = 0;
    if (depth > 1) {
        /* pipelined: DEPTH sets in one write, their replies, DEPTH gets, theirs */
        static __thread char big[64 * 1024], rbuf[64 * 1024];
        for (long i = 0; (!trips || i < trips) && !__atomic_load_n(&stop, __ATOMIC_RELAXED); i += depth) {
            size_t len = 0;
            for (int k = 0; k < depth; k++)
                len += (size_t)snprintf(big + len, sizeof big - len, "set k%ld_%ld 0 0 100\r\n%s\r\n", id, (i + k) % 1000, val);
            if (write(fd, big, len) != (ssize_t)len || read_replies(fd, rbuf, sizeof rbuf, "STORED\r\n", depth)) {
                __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
                break;
            }
            __atomic_store_n(&done[id].n, done[id].n + depth, __ATOMIC_RELAXED);
            len = 0;
            for (int k = 0; k < depth; k++)
                len += (size_t)snprintf(big + len, sizeof big - len, "get k%ld_%ld\r\n", id, (i + k) % 1000);
            if (write(fd, big, len) != (ssize_t)len || read_replies(fd, rbuf, sizeof rbuf, "END\r\n", depth)) {
                __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
                break;
            }
            __atomic_store_n(&done[id].n, done[id].n + depth, __ATOMIC_RELAXED);
        }
        close(fd);
        return NULL;
    }
    for (long i = 0; (!trips || i < trips) && !__atomic_load_n(&stop, __ATOMIC_RELAXED); i++) {
        int len = snprintf(req, sizeof req, "set k%ld_%ld 0 0 100\r\n%s\r\n", id, i % 1000, val);
        if (write(fd, req, (size_t)len) != len || read_reply(fd, buf, sizeof buf, "\r\n") || strcmp(buf, "STORED\r\n")) {
            __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
            break;
        }
        __atomic_store_n(&done[id].n, done[id].n + 1, __ATOMIC_RELAXED);
        len = snprintf(req, sizeof req, "get k%ld_%ld\r\n", id, i % 1000);
        if (write(fd, req, (size_t)len) != len || read_reply(fd, buf, sizeof buf, "END\r\n")) {
            __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
            break;
        }
        __atomic_store_n(&done[id].n, done[id].n + 1, __ATOMIC_RELAXED);
    }
    close(fd);
    return NULL;
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) * 1e-9;
}

static long total(int nt)
{
    long s = 0;
    for (int i = 0; i < nt; i++)
        s += __atomic_load_n(&done[i].n, __ATOMIC_RELAXED);
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: memc_load PORT THREADS ROUND_TRIPS_PER_THREAD [SECONDS [TIMELINE]]\n");
        return 2;
    }
    port = atoi(argv[1]);
    int nt = atoi(argv[2]);
    trips = atol(argv[3]);
    double secs = argc > 4 ? atof(argv[4]) : 0;
    const char *tl = argc > 5 ? argv[5] : NULL;
    if (port <= 0 || nt <= 0 || nt > 256 || trips < 0 || secs < 0 || (!trips && secs <= 0)) {
        fprintf(stderr, "memc_load: bad arguments\n");
        return 2;
    }
    if (getenv("MEMC_DEPTH"))
        depth = atoi(getenv("MEMC_DEPTH"));
    if (depth < 1 || depth > 64) {
        fprintf(stderr, "memc_load: MEMC_DEPTH from 1 to 64\n");
        return 2;
    }
    pthread_t th[256];
    struct timespec t0, tick;
    char *rows = NULL;
    size_t rlen = 0, rcap = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tick = t0;
    for (long i = 0; i < nt; i++)
        pthread_create(&th[i], NULL, client, (void *)i);
    if (secs > 0) {
        /* sample every 100 ms, on absolute ticks, until SECONDS have passed */
        for (int k = 0;; k++) {
            double t = since(&t0);
            long n = total(nt);
            if (tl) {
                if (rcap - rlen < 64) {
                    rcap = rcap ? 2 * rcap : 4096;
                    rows = realloc(rows, rcap);
                    if (!rows)
                        return 2;
                }
                rlen += (size_t)snprintf(rows + rlen, rcap - rlen, "%.3f %ld\n", k ? t : 0.0, k ? n : 0L);
            }
            if (t >= secs)
                break;
            tick.tv_nsec += 100000000;
            if (tick.tv_nsec >= 1000000000) {
                tick.tv_nsec -= 1000000000;
                tick.tv_sec++;
            }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL);
        }
        __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    }
    for (int i = 0; i < nt; i++)
        pthread_join(th[i], NULL);
    double dt = since(&t0);
    long req = total(nt);
    if (tl) {
        FILE *f = fopen(tl, "w");
        if (!f || fwrite(rows, 1, rlen, f) != rlen || fclose(f)) {
            fprintf(stderr, "memc_load: cannot write %s\n", tl);
            return 2;
        }
    }
    free(rows);
    printf("{\"seconds\":%.4f,\"requests\":%ld,\"errors\":%ld}\n", dt, req, errors);
    return errors ? 1 : 0;
}
