/* A pool whose load turns from I/O-bound to CPU-bound (with a spinlock)
 * mid-run: the controller keeps it large first, shrinks it within a few
 * seconds of the shift, then stays put (few changes). No task lost. */
#include "control_common.h"

Test(control, follows_a_load_shift_and_settles, .timeout = 60)
{
    struct ps_run r;
    char *env[] = { "POOLSHIM_CONTROL=on", "POOLSHIM_SUMMARY=off", NULL };
    const char *extra[] = { "--shift-s", "4", NULL };
    cc_run(&r, "fixtures/load_shift", 32, 9, extra, env);
    cc_print_decisions(&r);
    double shift = ps_num(r.truth, "shift_s");
    json_t *d = cc_decisions(&r), *e;
    size_t i;
    int size_at_shift = 32, followed = 0, late_changes = 0, final = 32;
    double follow_s = -1;
    json_array_foreach(d, i, e) {
        double t = ps_num(e, "t_s");
        int from = (int)ps_num(e, "from"), to = (int)ps_num(e, "to");
        if (from == to)
            continue;
        if (t < shift)
            size_at_shift = to;
        if (t >= shift && to <= 4 && !followed) {
            followed = 1;
            follow_s = t - shift;
        }
        if (t >= shift + 3.5)
            late_changes++;
        final = to;
    }
    fprintf(stderr, "load shift: size at shift %d, followed after %.2f s, %d changes in the last %.1f s, final %d\n",
            size_at_shift, follow_s, late_changes, 9 - shift - 3.5, final);
    cr_expect(size_at_shift >= 16, "during the I/O phase the pool was cut to %d", size_at_shift);
    cr_expect(followed && follow_s <= 3.0, "did not shrink to <= 4 threads within 3 s of the shift (%.2f)", follow_s);
    cr_expect(late_changes <= 4, "%d changes once steady", late_changes);
    cr_expect(final <= 4, "final size %d", final);
    ps_run_free(&r);
}
