// N concurrent connections through the proxy: every socket is connected
// before any sends; each sends a random payload (sizes MIN..MAX), half-closes
// and must read back exactly the same bytes. Prints a JSON summary; exit 1 on
// any mismatch or error.
//   node load_client.js HOST PORT N MIN MAX
'use strict';
const net = require('net');
const crypto = require('crypto');
const [host, port, n, min, max] = [process.argv[2], ...process.argv.slice(3).map(Number)];
const t0 = Date.now();
let connected = 0, ok = 0, bad = 0, errors = 0, bytes = 0, finished = 0;
const socks = [];
function finish() {
  if (++finished < n) return;
  const ms = Date.now() - t0;
  console.log(JSON.stringify({ n, ok, bad, errors, bytes_each_way: bytes, ms }));
  process.exit(ok === n ? 0 : 1);
}
for (let i = 0; i < n; i++) {
  const size = min + Math.floor(Math.random() * (max - min + 1));
  const payload = crypto.randomBytes(size);
  const s = net.connect(port, host);
  const got = [];
  let done = false;
  s.on('connect', () => {
    socks.push([s, payload]);
    if (++connected === n) {
      for (const [sock, p] of socks) { sock.end(p); bytes += p.length; }
    }
  });
  s.on('data', (d) => got.push(d));
  s.on('end', () => {
    if (done) return;
    done = true;
    if (Buffer.concat(got).equals(payload)) ok++; else bad++;
    s.destroy();
    finish();
  });
  s.on('error', (e) => {
    if (done) return;
    done = true;
    errors++;
    if (errors < 5) console.error(`conn ${i}: ${e.message}`);
    finish();
  });
}
setTimeout(() => { console.log(JSON.stringify({ n, ok, bad, errors, connected, timeout: true })); process.exit(1); }, 120000);
