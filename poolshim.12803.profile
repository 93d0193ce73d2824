# poolshim profile: recommended pool sizes for /root/.pyenv/versions/3.11.7/bin/python3.11 (pid 12803)
# No environment variable sets these pools' sizes: each line names the program option to set by hand.
# pool 0 pythread_wrapper (CPython threads): 16 threads, io-bound, recommended 122: I/O-bound: W/C 58.33, cores x (1 + W/C) = 118.7, 122 threads keep the cores 95 % busy (queueing model)
# CPython: ThreadPoolExecutor(max_workers=122) (no environment variable sets it)
