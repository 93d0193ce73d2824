// expand_node.js: node's bundled libuv pool (UV_THREADPOOL_SIZE workers) kept
// busy for about a second: 2000 fs.readFile of this script and 24 pbkdf2
// hashes, all through the pool. For POOLSHIM_EXPAND=worker: libuv's worker
// posts a semaphore on its creator's stack and must never be started again.
// Prints results that do not depend on timing.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
let bytes = 0, reads = 0, hashes = [];
let pending = 0;
function done() {
  if (--pending) return;
  console.log(`reads ${reads} bytes ${bytes}`);
  console.log('hashes ' + crypto.createHash('sha256').update(hashes.sort().join('')).digest('hex'));
}
for (let i = 0; i < 2000; i++) {
  pending++;
  fs.readFile(__filename, (err, b) => { if (err) throw err; reads++; bytes += b.length; done(); });
}
for (let i = 0; i < 24; i++) {
  pending++;
  crypto.pbkdf2('pw' + i, 'salt', 20000, 32, 'sha256', (err, k) => { if (err) throw err; hashes.push(k.toString('hex')); done(); });
}
