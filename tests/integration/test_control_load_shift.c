/* A pool whose load turns from I/O-bound to CPU-bound (with a spinlock)
 * mid-run: the controller keeps it large first, shrinks it within a few
 * seconds of the shift, then stays put (few changes). No task lost. */
#include "control_common.h"

Test(control, follows_a_load_shift_and_settles, .timeout = 60)
{
    struct ps_run r;
    char *env[] = { "POOLSHIM_CONTROL=on", "POOLSHIM_SUMMARY=off", "POOLSHIM_DUMP=off", NULL };
    const char *extra[] = { "--shift-s", "4", NULL };
    cc_run(&r, "fixtures/load_shift", 32, 9, extra, env);
    cc_print_decisions(&r);
    double shift = ps_num(r.truth, "shift_s");
    json_t *d = cc_decisions(&r), *e;
    size_t i;
    /* size over time from the decisions: mean size during the I/O phase
     * (from 1 s on), when it first got to <= 4 after the shift, and how
     * many changes happened once the CPU phase had settled */
    int size = 32, followed = 0, late_changes = 0;
    double follow_s = -1, last_t = 1.0, io_area = 0;
    json_array_foreach(d, i, e) {
        double t = ps_num(e, "t_s");
        int from = (int)ps_num(e, "from"), to = (int)ps_num(e, "to");
        if (from == to)
            continue;
        if (t > last_t && last_t < shift) {
            double end = t < shift ? t : shift;
            io_area += size * (end - last_t);
            last_t = end;
        }
        size = to;
        if (t >= shift && to <= 4 && !followed) {
            followed = 1;
            follow_s = t - shift;
        }
        if (t >= shift + 3.5)
            late_changes++;
    }
    if (last_t < shift)
        io_area += size * (shift - last_t);
    double io_mean = io_area / (shift - 1.0);
    fprintf(stderr, "load shift: mean size in the I/O phase %.1f, followed after %.2f s, %d changes in the last "
            "%.1f s, final %d\n", io_mean, follow_s, late_changes, 9 - shift - 3.5, size);
    cr_expect(io_mean >= 16, "during the I/O phase the pool ran at %.1f threads on average", io_mean);
    cr_expect(followed && follow_s <= 3.0, "did not shrink to <= 4 threads within 3 s of the shift (%.2f)", follow_s);
    cr_expect(late_changes <= 4, "%d changes once steady", late_changes);
    cr_expect(size <= 4, "final size %d", size);
    ps_run_free(&r);
}
