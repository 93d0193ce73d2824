/* expand_omp.c: OpenMP (libgomp) with OMP_NUM_THREADS workers: 40 parallel
 * loops of 8 iterations, each 1 ms CPU + 4 ms sleep, for POOLSHIM_EXPAND
 * naming libgomp's gomp_thread_start, whose start data is on the master's
 * stack. Prints a checksum. */
#include "torture.h"
#include <omp.h>

int main(void)
{
    long sum = 0;
    for (int round = 0; round < 40; round++) {
#pragma omp parallel for reduction(+ : sum) schedule(dynamic, 1)
        for (int i = 0; i < 8; i++) {
            spin_ms(1);
            sleep_ms(4);
            sum += (long)round * 8 + i + 1;
        }
    }
    printf("40 loops, checksum %ld\n", sum);
    return 0;
}
