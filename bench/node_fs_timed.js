// bench/node_fs_timed.js: node's fs pool (libuv, UV_THREADPOOL_SIZE workers) kept
// busy with fs.readFile of a small cached file, 128 requests in flight, for
// argv[2] seconds (default 4). Prints {"ops_per_s": N, "ops": N, "s": S}.
// With TPUT_TIMELINE=FILE in the environment (tests/truth/tput.sh), also
// writes its count of finished readFile every 100 ms as "t_s count" lines,
// up to the end of the timed span (the requests still in flight then are
// drained, not timed).
'use strict';
const fs = require('fs');
const dur = Number(process.argv[2] || 4) * 1000;
const file = __filename;
const tlFile = process.env.TPUT_TIMELINE;
const t0 = Date.now();
let ops = 0, inflight = 0, stopped = false;
const tl = ['0 0'];
let timer = null;
if (tlFile)
  timer = setInterval(() => {
    const t = Date.now() - t0;
    if (t <= dur) tl.push(`${(t / 1000).toFixed(3)} ${ops}`);
  }, 100);
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
      if (timer) {
        clearInterval(timer);
        fs.writeFileSync(tlFile, tl.join('\n') + '\n');
      }
      console.log(JSON.stringify({ ops_per_s: Math.round(ops / s), ops, s }));
    }
  });
}
for (let i = 0; i < 128; i++) one();
