/* A thread inside a handler of the program's at an in-process dump: its
 * stack crosses the kernel's signal frame, whose return address is the
 * first instruction of glibc's sigreturn trampoline (__restore_rt, a
 * sizeless symbol). Read as a return address, the byte before it belongs
 * to no function, and `poolshim show` printed the frame unnamed (one
 * signal dump in 20 of tests/truth/dumps.py's, once its checkers waited in
 * sigsuspend for signals of their own). */
#include <criterion/criterion.h>
#include <string.h>
#include "analyzer_kit.h"
#include "dumpkit.h"

Test(analyzer_signal_frame, a_stack_through_a_signal_handler_names_the_signal_frame, .timeout = 60)
{
    char dir[] = "/tmp/poolshim-sigframe.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *argv[] = { (char *)ps_build_path("fixtures/handler_wait"), "--hold-ms", "1500", NULL };
    char *env[] = { "POOLSHIM_DUMP=off", NULL };
    pid_t pid = dk_spawn(argv, dir, env);
    cr_assert(pid > 0);
    usleep(700000);                       /* the handler runs from 0.1 s to 1.6 s */
    char p[32];
    snprintf(p, sizeof p, "%d", (int)pid);
    struct ps_run a;
    ak_poolshim(&a, (char *[]){ "dump", "--capture", "signal", p, NULL });
    cr_expect_eq(a.status, 0, "signal dump: %s", a.err);
    ps_run_free(&a);
    cr_assert_eq(dk_wait(pid, 20), 0, "the program exits normally");
    char path[600];
    snprintf(path, sizeof path, "%s/poolshim.%d.dump.0.json", dir, (int)pid);
    ak_poolshim(&a, (char *[]){ "show", "--json", path, NULL });
    cr_assert_eq(a.status, 0, "show: %s", a.err);
    json_t *j = json_loads(a.out, 0, NULL);
    cr_assert_not_null(j);
    json_t *g, *f;
    size_t i, k;
    int found = 0;
    json_array_foreach(json_object_get(j, "groups"), i, g) {
        const char *prev = NULL;
        json_array_foreach(json_object_get(g, "frames"), k, f) {
            const char *sym = ps_str(f, "symbol");
            if (prev && !strcmp(prev, "in_handler")) {
                found = 1;
                cr_expect(sym && !strcmp(sym, "__restore_rt"), "the frame below the handler is %s", sym);
            }
            prev = sym;
        }
    }
    cr_expect(found, "no stack through in_handler: %s", a.out);
    json_decref(j);
    ps_run_free(&a);
    dk_rmdir(dir);
}
