/* forky.c: fork, fork under lock pressure, exec, posix_spawn, vfork, system().
 * Modes (argv[1]):
 *   fork         parent runs 2 parent_worker threads, forks; the child runs 3
 *                child_worker threads and exits; prints "child <pid>".
 *   fork-locked  4 threads hammer malloc, stdio, a mutex, a condvar and pipes
 *                while a 5th thread forks 40 times; each child mallocs, prints,
 *                starts and joins a thread and exits (writing its report).
 *                A child that does not finish in 10 s is a deadlock: killed, FAIL.
 *   exec         2 pre_exec_worker threads, then execv(self, "after").
 *   exec-noshim  same, but the new image gets an environment without LD_PRELOAD.
 *   exec-fail    execv of a missing file (must fail with ENOENT), then run
 *                2 late_worker threads and exit normally.
 *   spawn        posix_spawn, vfork+execv and system() of "self child".
 *   after/child  what the exec'ed / spawned images run. */
#include "torture.h"
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;
static const char *self;

static void work(int ms_cpu, int ms_sleep)
{
    spin_ms(ms_cpu);
    sleep_ms(ms_sleep);
}

void *parent_worker(void *a) { work(20, 30); return a; }
void *child_worker(void *a) { work(20, 30); return a; }
void *pre_exec_worker(void *a) { work(10, 10); return a; }
void *post_exec_worker(void *a) { work(10, 10); return a; }
void *late_worker(void *a) { work(10, 10); return a; }
void *spawned_worker(void *a) { work(5, 5); return a; }

static void run_threads(void *(*fn)(void *), int n)
{
    pthread_t t[8];
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, fn, NULL))
            DIE("pthread_create");
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* waitpid with a deadline; returns the status or -1 after killing a hung child */
static int wait_child(pid_t pid, int secs)
{
    int st;
    for (int i = 0; i < secs * 200; i++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            DIE("waitpid: %s", strerror(errno));
        usleep(5000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static void mode_fork(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, parent_worker, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        DIE("fork");
    if (pid == 0) {
        run_threads(child_worker, 3);
        exit(0);
    }
    int st = wait_child(pid, 20);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    if (st != 0)
        DIE("child status %d", st);
    printf("child %d\n", (int)pid);
}

/* --- fork while other threads hold every lock they can --- */
static volatile int stop;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;

void *hammer_malloc(void *a)
{
    while (!stop) {
        void *p[16];
        for (int i = 0; i < 16; i++)
            p[i] = malloc(16 + i * 1000);
        for (int i = 0; i < 16; i++)
            free(p[i]);
    }
    return a;
}

void *hammer_stdio(void *a)
{
    FILE *f = fopen("/dev/null", "w");
    while (!stop)
        fprintf(f, "%d %s\n", 42, "noise"), fflush(f);
    fclose(f);
    return a;
}

void *hammer_lock(void *a)
{
    while (!stop) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&mu);
    }
    return a;
}

void *hammer_pipe(void *a)
{
    int p[2];
    if (pipe(p))
        return a;
    char c = 'x';
    while (!stop) {
        if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
            break;
        struct timespec ts = { 0, 1000 };
        nanosleep(&ts, NULL);
    }
    close(p[0]);
    close(p[1]);
    return a;
}

void *forked_child_thread(void *a)
{
    char *s = malloc(100);
    snprintf(s, 100, "in child thread");
    free(s);
    return a;
}

static int hung;

void *forker(void *a)
{
    for (int i = 0; i < 40; i++) {
        pid_t pid = fork();
        if (pid < 0)
            DIE("fork");
        if (pid == 0) {
            void *p = malloc(1000);
            FILE *f = fopen("/dev/null", "w");
            fprintf(f, "child %d\n", i);
            fclose(f);
            free(p);
            pthread_t t;
            if (pthread_create(&t, NULL, forked_child_thread, NULL) == 0)
                pthread_join(t, NULL);
            exit(0);                 /* runs the shim's destructor: report */
        }
        int st = wait_child(pid, 10);
        if (st == -1) {
            fprintf(stderr, "FAIL: fork child %d hung (deadlock after fork)\n", i);
            hung++;
        } else if (st != 0) {
            fprintf(stderr, "FAIL: fork child %d status %d\n", i, st);
            hung++;
        }
    }
    return a;
}

static void mode_fork_locked(void)
{
    void *(*fns[])(void *) = { hammer_malloc, hammer_stdio, hammer_lock, hammer_pipe };
    pthread_t t[4], f;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, fns[i], NULL);
    pthread_create(&f, NULL, forker, NULL);
    pthread_join(f, NULL);
    stop = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    if (hung)
        exit(3);
    printf("40 children ok\n");
}

static void mode_exec(int keep_preload)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, pre_exec_worker, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    /* one more thread still running at exec time */
    pthread_create(&t[0], NULL, pre_exec_worker, NULL);
    printf("exec %d\n", (int)getpid());
    fflush(stdout);
    char *argv[] = { (char *)self, "after", NULL };
    if (keep_preload) {
        execv(self, argv);
    } else {
        char *env[256];
        int n = 0;
        for (char **e = environ; *e && n < 255; e++)
            if (strncmp(*e, "LD_PRELOAD=", 11))
                env[n++] = *e;
        env[n] = NULL;
        execve(self, argv, env);
    }
    DIE("exec: %s", strerror(errno));
}

static void mode_exec_fail(void)
{
    char *argv[] = { "/nonexistent/prog", NULL };
    errno = 0;
    int r = execv(argv[0], argv);
    printf("execv %d %s\n", r, strerror(errno));
    run_threads(late_worker, 2);
    printf("late workers done\n");
}

static void mode_spawn(void)
{
    char *argv[] = { (char *)self, "child", NULL };
    pid_t pid;
    int st;
    fflush(stdout);
    int r = posix_spawn(&pid, self, NULL, NULL, argv, environ);
    if (r)
        DIE("posix_spawn: %s", strerror(r));
    if ((st = wait_child(pid, 20)) != 0)
        DIE("posix_spawn child status %d", st);

    pid = vfork();
    if (pid == 0) {
        execv(self, argv);
        _exit(127);
    }
    if ((st = wait_child(pid, 20)) != 0)
        DIE("vfork child status %d", st);

    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' child", self);
    st = system(cmd);
    if (st != 0)
        DIE("system status %d", st);
    printf("spawned 3\n");
}

int main(int argc, char **argv)
{
    self = argv[0];
    if (argc < 2)
        DIE("usage: forky MODE");
    const char *m = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(m, "fork")) mode_fork();
    else if (!strcmp(m, "fork-locked")) mode_fork_locked();
    else if (!strcmp(m, "exec")) mode_exec(1);
    else if (!strcmp(m, "exec-noshim")) mode_exec(0);
    else if (!strcmp(m, "exec-fail")) mode_exec_fail();
    else if (!strcmp(m, "spawn")) mode_spawn();
    else if (!strcmp(m, "after")) { run_threads(post_exec_worker, 2); printf("after exec %d\n", (int)getpid()); }
    else if (!strcmp(m, "child")) { run_threads(spawned_worker, 2); printf("spawned child %d\n", (int)getpid()); }
    else DIE("unknown mode %s", m);
    return 0;
}
