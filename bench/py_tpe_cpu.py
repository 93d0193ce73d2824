# bench/py_tpe_cpu.py N [SECONDS]: CPython's ThreadPoolExecutor(max_workers=N)
# mapping a pure-Python CPU function (the GIL serializes it: the best size is
# 1), batches of 200 tasks for SECONDS (default 4). Prints {"tasks_per_s": X}.
# With TPUT_TIMELINE=FILE in the environment, also writes its count of
# results about every 100 ms as "t_s count"
# lines, up to the end of the timed span (the last batch, begun before it,
# ends after it).
import os, sys, time
from concurrent.futures import ThreadPoolExecutor

n = int(sys.argv[1])
dur = float(sys.argv[2]) if len(sys.argv) > 2 else 4
tl_file = os.environ.get("TPUT_TIMELINE")


def f(k):
    s = 0
    for i in range(k):
        s += i * i
    return s


want = f(20000)
t0 = time.time()
done = 0
tl, last = ["0 0"], 0.0
with ThreadPoolExecutor(max_workers=n) as ex:
    while time.time() - t0 < dur:
        for r in ex.map(f, [20000] * 200):
            if r != want:
                sys.exit("wrong result")
            done += 1
            if tl_file:
                t = time.time() - t0
                if t - last >= 0.1 and t <= dur:
                    tl.append("%.3f %d" % (t, done))
                    last = t
print('{"tasks_per_s": %.2f}' % (done / (time.time() - t0)))
if tl_file:
    with open(tl_file, "w") as out:
        out.write("\n".join(tl) + "\n")
