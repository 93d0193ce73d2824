// node's crypto pool: N pbkdf2 calls posted at once, each a task on libuv's
// thread pool (UV_THREADPOOL_SIZE threads), pure CPU: the workers wait for
// nothing but their work and the loop's lock. Prints the throughput as the
// JSON line sweep.py reads.
// Usage: node node_crypto.js [TASKS] [ITERATIONS]
const crypto = require('crypto');
const n = +(process.argv[2] || 400), iters = +(process.argv[3] || 20000);
const t0 = process.hrtime.bigint();
let done = 0;
for (let i = 0; i < n; i++)
  crypto.pbkdf2('secret' + i, 'salt', iters, 32, 'sha256', (err) => {
    if (err) throw err;
    if (++done === n) {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(JSON.stringify({ tasks: n, seconds: s, tasks_per_s: n / s }));
    }
  });
