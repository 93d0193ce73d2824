// node_fs.js N FILE: N fs.readFile calls on libuv's thread pool, 64 in flight
// (UV_THREADPOOL_SIZE sets the pool). Prints the count and bytes read at exit.
const fs = require('fs');
const n = parseInt(process.argv[2] || '150000', 10), file = process.argv[3] || __filename;
let started = 0, done = 0, bytes = 0;
function one() {
  if (started >= n) return;
  started++;
  fs.readFile(file, (err, buf) => {
    if (err) throw err;
    bytes += buf.length;
    if (++done === n) console.log(JSON.stringify({ reads: done, bytes }));
    else one();
  });
}
for (let i = 0; i < 64; i++) one();
