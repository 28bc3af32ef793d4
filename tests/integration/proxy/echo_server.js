// Test backend for teerex-proxy: parses the PROXY v2 header (independently
// of the C writer and of teerexd's parser), appends the client address it
// carries to LOG, then echoes every byte and half-closes after the client
// does. Writes its peak number of concurrent connections to LOG.peak. With
// HOLD, nothing is echoed until HOLD connections are open at the same time
// (proves that many really pass through the proxy concurrently).
//   node echo_server.js HOST PORT LOG [HOLD]
'use strict';
const net = require('net');
const fs = require('fs');
const [host, port, log] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
const hold = Number(process.argv[5] || 0);
let released = hold === 0;
const waiting = [];
const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
let live = 0, peak = 0;
function parse(buf) {
  if (buf.length < 16) return null;
  if (!buf.subarray(0, 12).equals(SIG) || buf[12] !== 0x21) return { bad: 'signature' };
  const len = buf.readUInt16BE(14);
  if (buf.length < 16 + len) return null;
  const fam = buf[13];
  let src = 'unspec';
  if (fam === 0x11 && len >= 12) {
    src = `${buf[16]}.${buf[17]}.${buf[18]}.${buf[19]}:${buf.readUInt16BE(24)}`;
  } else if (fam === 0x21 && len >= 36) {
    const h = [];
    for (let i = 0; i < 16; i += 2) h.push(buf.readUInt16BE(16 + i).toString(16));
    src = `[${h.join(':')}]:${buf.readUInt16BE(48)}`;
  } else if (fam !== 0x00) {
    return { bad: 'family' };
  }
  return { src, used: 16 + len };
}
const srv = net.createServer({ allowHalfOpen: true }, (s) => {
  live++;
  if (live > peak) peak = live;
  if (!released && live >= hold) {
    released = true;
    fs.writeFileSync(log + '.peak', String(peak));
    for (const f of waiting.splice(0)) f();
  }
  let pending = Buffer.alloc(0);
  let ready = false;
  const send = (b) => { if (released) s.write(b); else waiting.push(() => s.write(b)); };
  s.on('data', (d) => {
    if (ready) { send(d); return; }
    pending = Buffer.concat([pending, d]);
    const h = parse(pending);
    if (!h) return;
    if (h.bad) { fs.appendFileSync(log, `bad=${h.bad}\n`); s.destroy(); return; }
    fs.appendFileSync(log, `src=${h.src}\n`);
    ready = true;
    if (pending.length > h.used) send(pending.subarray(h.used));
  });
  s.on('end', () => { if (released) s.end(); else waiting.push(() => s.end()); });
  s.on('error', () => {});
  s.on('close', () => { live--; });
});
srv.listen(port, host, () => fs.writeFileSync(log + '.ready', '1'));
setInterval(() => fs.writeFileSync(log + '.peak', String(peak)), 100).unref();
process.on('SIGTERM', () => { fs.writeFileSync(log + '.peak', String(peak)); process.exit(0); });
