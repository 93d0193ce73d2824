# bench/py_tpe_cpu.py N [SECONDS]: CPython's ThreadPoolExecutor(max_workers=N)
# mapping a pure-Python CPU function (the GIL serializes it: the best size is
# 1), batches of 200 tasks for SECONDS (default 4). Prints {"tasks_per_s": X}.
import sys, time
from concurrent.futures import ThreadPoolExecutor

n = int(sys.argv[1])
dur = float(sys.argv[2]) if len(sys.argv) > 2 else 4


def f(k):
    s = 0
    for i in range(k):
        s += i * i
    return s


want = f(20000)
t0 = time.time()
done = 0
with ThreadPoolExecutor(max_workers=n) as ex:
    while time.time() - t0 < dur:
        for r in ex.map(f, [20000] * 200):
            if r != want:
                sys.exit("wrong result")
            done += 1
print('{"tasks_per_s": %.2f}' % (done / (time.time() - t0)))
