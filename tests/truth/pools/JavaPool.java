/* JavaPool: a java.util.concurrent fixed thread pool of THREADS workers
 * running TASKS tasks, each CPU_MS of its thread's CPU, then Thread.sleep
 * SLEEP_MS (HotSpot sleeps in a timed wait on the thread's own condvar),
 * queued all at once or one every SUBMIT_US; the same arguments and the
 * same last line as the C pools (work.h). The pool the article sizes. */
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.LockSupport;

public class JavaPool {
    public static void main(String[] a) throws Exception {
        if (a.length != 4 && a.length != 5) {
            System.err.println("usage: JavaPool THREADS TASKS CPU_MS SLEEP_MS [SUBMIT_US]");
            System.exit(2);
        }
        int threads = Integer.parseInt(a[0]), tasks = Integer.parseInt(a[1]);
        long cpuNs = (long) (Double.parseDouble(a[2]) * 1e6);
        double sleepMs = Double.parseDouble(a[3]);
        long submitNs = a.length == 5 ? Long.parseLong(a[4]) * 1000 : 0;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long t0 = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch done = new CountDownLatch(tasks);
        Runnable task = () -> {
            long end = mx.getCurrentThreadCpuTime() + cpuNs;
            long x = 1;
            while (mx.getCurrentThreadCpuTime() < end)
                for (int i = 0; i < 2000; i++)
                    x = x * 6364136223846793005L + 1;
            if (x == 42) System.err.print("");
            try {
                Thread.sleep((long) sleepMs, (int) ((sleepMs - (long) sleepMs) * 1e6));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            done.countDown();
        };
        for (int i = 0; i < tasks; i++) {
            pool.execute(task);
            if (submitNs > 0)
                LockSupport.parkNanos(submitNs);
        }
        done.await();
        double s = (System.nanoTime() - t0) / 1e9;
        pool.shutdown();
        System.out.printf("{\"tasks\":%d,\"seconds\":%.4f,\"tasks_per_s\":%.2f}%n", tasks, s, tasks / s);
    }
}
