# pyload.py: CPython under the shim: a ThreadPoolExecutor (CPU tasks under the
# GIL and sleeping tasks), subprocess (fork/exec of a preloaded child), asyncio
# (event loop, to_thread, a queue) and a threading.Condition handoff. Prints
# only results that do not depend on timing.
import asyncio, concurrent.futures, hashlib, subprocess, sys, threading, time

def cpu(n):
    h = hashlib.sha256()
    for i in range(2000):
        h.update(str(i * n).encode())
    return h.hexdigest()[:12]

def io(n):
    time.sleep(0.005)
    return n * n

with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
    print("cpu", list(ex.map(cpu, range(16))))
    print("io", sum(ex.map(io, range(40))))

out = subprocess.run([sys.executable, "-c", "import threading;t=threading.Thread(target=print,args=('child ok',));t.start();t.join()"],
                     capture_output=True, text=True, check=True)
print("subprocess", out.stdout.strip(), out.returncode)
print("shell", subprocess.run("echo hi | tr a-z A-Z", shell=True, capture_output=True, text=True).stdout.strip())

async def producer(q):
    for i in range(20):
        await q.put(i)
        await asyncio.sleep(0.001)
    await q.put(None)

async def consumer(q):
    total = 0
    while (item := await q.get()) is not None:
        total += await asyncio.to_thread(lambda x: x * 3, item)
    return total

async def main():
    q = asyncio.Queue(maxsize=4)
    _, total = await asyncio.gather(producer(q), consumer(q))
    r = await asyncio.gather(*(asyncio.sleep(0.01, result=i) for i in range(10)))
    return total, sum(r)

print("asyncio", asyncio.run(main()))

cond = threading.Condition()
items = []
def worker():
    got = 0
    while got < 50:
        with cond:
            while not items:
                cond.wait()
            items.pop()
            got += 1
    return got
t = threading.Thread(target=worker)
t.start()
for i in range(50):
    with cond:
        items.append(i)
        cond.notify()
t.join()
print("condition handoff done")
