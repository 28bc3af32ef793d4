// Sequential GET requests for a while; prints latency figures as JSON.
//   node latency.js URL SECONDS [INTERVAL_MS]
'use strict';
const http = require('http');
const [url, secs, gap] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 20)];
const end = Date.now() + secs * 1000;
const lat = [];
let fail = 0;
function one() {
  if (Date.now() >= end) return done();
  const t0 = process.hrtime.bigint();
  const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
    res.resume();
    res.on('end', () => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (res.statusCode === 200) lat.push(ms); else fail++;
      setTimeout(one, gap);
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => { fail++; setTimeout(one, gap); });
}
function done() {
  lat.sort((a, b) => a - b);
  const q = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : -1;
  console.log(JSON.stringify({ n: lat.length, fail, p50: q(0.5), p99: q(0.99),
    max: lat.length ? lat[lat.length - 1] : -1 }));
}
one();
