// bench/node_fs_timed.js: node's fs pool (libuv, UV_THREADPOOL_SIZE workers) kept
// busy with fs.readFile of a small cached file, 128 requests in flight, for
// argv[2] seconds (default 4). Prints {"ops_per_s": N, "ops": N, "s": S}.
'use strict';
const fs = require('fs');
const dur = Number(process.argv[2] || 4) * 1000;
const file = __filename;
const t0 = Date.now();
let ops = 0, inflight = 0, stopped = false;
function one() {
  inflight++;
  fs.readFile(file, (err) => {
    if (err) throw err;
    inflight--;
    ops++;
    if (Date.now() - t0 < dur) one();
    else if (!stopped && inflight === 0) {
      stopped = true;
      const s = (Date.now() - t0) / 1000;
      console.log(JSON.stringify({ ops_per_s: Math.round(ops / s), ops, s }));
    }
  });
}
for (let i = 0; i < 128; i++) one();
