# poolshim profile: recommended pool sizes for /root/.pyenv/versions/3.11.7/bin/python3.11 (pid 12666)
# No environment variable sets these pools' sizes: each line names the program option to set by hand.
# pool 0 pythread_wrapper (CPython threads): 16 threads, io-bound, recommended 105: I/O-bound: W/C 49.91, cores x (1 + W/C) = 101.8, 105 threads keep the cores 95 % busy (queueing model)
# CPython: ThreadPoolExecutor(max_workers=105) (no environment variable sets it)
