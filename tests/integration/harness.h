/* harness.h: running real programs under the shim from Criterion tests.
 * ps_run starts argv with LD_PRELOAD=$POOLSHIM_BUILD/libpoolshim.so and
 * POOLSHIM_DIR set to a fresh directory, captures stdout and stderr, enforces a
 * timeout, and loads the report poolshim.<pid>.json of the started process. */
#ifndef PS_HARNESS_H
#define PS_HARNESS_H
#include <jansson.h>
#include <sys/types.h>

struct ps_run {
    int status;            /* exit status (WEXITSTATUS), or 128+signal, or -1 on timeout */
    int pid;
    char dir[256];         /* POOLSHIM_DIR of the run */
    char *out, *err;       /* captured stdout / stderr (NUL-terminated) */
    json_t *report;        /* poolshim.<pid>.json, or NULL */
    json_t *truth;         /* first stdout line parsed as JSON (fixtures), or NULL */
};

/* Path of a built artifact: ps_build_path("fixtures/condvar_pool"). Static buffer. */
const char *ps_build_path(const char *rel);
/* env: extra "K=V" strings, NULL-terminated (may be NULL). preload=0 runs without the shim. */
int ps_run_ex(struct ps_run *r, char *const argv[], char *const env[], int preload, int timeout_s);
int ps_run(struct ps_run *r, char *const argv[], char *const env[]);
/* ps_run, and the CPU the program used as the kernel counted it (the
 * children's rusage), into *cpu_s: a real program's truth. */
int ps_run_cpu(struct ps_run *r, char *const argv[], char *const env[], double *cpu_s);
/* Starts argv (with LD_PRELOAD if preload, POOLSHIM_DIR=shimdir or outdir, env)
 * without waiting, stdout/stderr into outdir/stdout and outdir/stderr, in
 * directory cwd (NULL: ours). Returns the pid or -1. */
pid_t ps_spawn(char *const argv[], char *const env[], int preload, const char *outdir, const char *shimdir,
               const char *cwd);
/* A whole file as a malloc'ed string ("" if unreadable). */
char *ps_slurp(const char *path);
/* The profile the report names (controller.profile), as a malloc'ed
 * string; NULL if it names none or the file cannot be read. */
char *ps_profile(json_t *report);
void ps_run_free(struct ps_run *r);
/* Removes a test's directory; with PS_TEST_FILES set, first copies the
 * reports and dumps in it there (tests/scripts/schema.sh checks them). */
void ps_rmdir(const char *dir);

/* The pool whose start_routine equals routine, or NULL. */
json_t *ps_pool_by_routine(json_t *report, const char *routine);
/* The pool the report names name (its "name": what the summary prints), or NULL. */
json_t *ps_pool_by_name(json_t *report, const char *name);
/* Number at a dotted path ("wait_by_cause.io"); NAN if absent. */
double ps_num(json_t *obj, const char *path);
const char *ps_str(json_t *obj, const char *path);
/* Loads any JSON file in the run's dir whose name starts with prefix. */
json_t *ps_load_file(struct ps_run *r, const char *prefix);
/* Writes about `bytes` of generated text (words and numbers: compressible
 * as real text is) to path; returns its size, -1 if it could not. */
long ps_make_text(const char *path, long bytes);
/* The report's (last) pool of n threads, or NULL. */
json_t *ps_pool_with_threads(json_t *report, int n);
/* |got - want| <= tol * want */
int ps_near(double got, double want, double tol);
/* The CPU of every thread in the report, summed: against the kernel's
 * count for the process (ps_run_cpu), a real program's CPU truth. */
double ps_threads_cpu(json_t *report);
#endif
