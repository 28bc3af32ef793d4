// A flood of GET requests: N in all, C at a time, each with a timeout.
// Prints {"n","fail","p50","p99","max"} (ms) as JSON.
//   node flood.js URL N C TIMEOUT_MS
'use strict';
const http = require('http');
const [url, n, c, timeout] = [process.argv[2], ...process.argv.slice(3, 6).map(Number)];
const lat = [];
let started = 0, fail = 0, running = 0;
function one() {
  if (started >= n) { if (running === 0) done(); return; }
  started++;
  running++;
  const t0 = process.hrtime.bigint();
  const end = (ok) => {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ok) lat.push(ms); else fail++;
    running--;
    one();
  };
  const req = http.get(url, { agent: false, timeout }, (res) => {
    res.resume();
    res.on('end', () => end(res.statusCode === 200));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => end(false));
}
let reported = false;
function done() {
  if (reported) return;
  reported = true;
  lat.sort((a, b) => a - b);
  const q = (p) => (lat.length ? Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]) : -1);
  console.log(JSON.stringify({ n: lat.length, fail, p50: q(0.5), p99: q(0.99),
    max: lat.length ? Math.round(lat[lat.length - 1]) : -1 }));
}
for (let i = 0; i < c; i++) one();
