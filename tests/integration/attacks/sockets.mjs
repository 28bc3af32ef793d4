// Socket tools of the proxy attacks (one JSON line on stdout):
//   node sockets.mjs hold HOST PORT N LOCAL_ADDR MAX_MS
//     opens N connections from LOCAL_ADDR, sends nothing and never closes its
//     side (half-open, as a hostile client would); reports how many connected,
//     how many the far side ended (FIN or reset) and when (ms after the start),
//     after MAX_MS (until then every socket stays open on this side)
//   node sockets.mjs rtt HOST PORT DURATION_MS READY_FILE
//     one connection to an echo target; a small message every 100 ms; writes
//     READY_FILE after the first echo, and reports the slowest round trip
//     after it (the relay loop must never stall)
import { writeFileSync } from 'node:fs';
import net from 'node:net';

const [mode, host, portS, ...rest] = process.argv.slice(2);
const port = Number(portS);

if (mode === 'hold') {
  const [n, local, maxMs] = [Number(rest[0]), rest[1], Number(rest[2])];
  const t0 = Date.now();
  let connected = 0, closed = 0, errors = 0;
  const closedAt = [];
  const socks = [];
  const report = () => {
    console.log(JSON.stringify({ n, connected, closed, errors, open: n - closed,
      lastClosedMs: closedAt.length ? Math.max(...closedAt) : null }));
    for (const s of socks) s.destroy();
    process.exit(0);
  };
  for (let i = 0; i < n; i++) {
    const s = net.connect({ host, port, localAddress: local, allowHalfOpen: true });
    socks.push(s);
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      closed++;
      closedAt.push(Date.now() - t0);
    };
    s.on('connect', () => { connected++; });
    s.on('end', end);
    s.on('close', end);
    s.on('error', () => { errors++; end(); });
    s.resume();
  }
  setTimeout(report, maxMs);
} else if (mode === 'rtt') {
  const [duration, ready] = [Number(rest[0]), rest[1]];
  const s = net.connect({ host, port });
  let worst = 0, count = 0, sentAt = 0, pending = false, failed = null;
  s.on('data', () => {
    if (!pending) return;
    pending = false;
    if (count++ === 0) writeFileSync(ready, 'ready'); // the first echo (connect, lookup) is not timed
    else worst = Math.max(worst, Date.now() - sentAt);
  });
  s.on('error', (e) => { failed = e.message; });
  s.on('connect', () => {
    const t = setInterval(() => {
      if (pending) {
        if (count > 0) worst = Math.max(worst, Date.now() - sentAt);
        return;
      }
      pending = true;
      sentAt = Date.now();
      s.write('ping');
    }, 100);
    setTimeout(() => {
      clearInterval(t);
      if (pending && count > 0) worst = Math.max(worst, Date.now() - sentAt);
      console.log(JSON.stringify({ count, worstMs: worst, failed }));
      s.destroy();
      process.exit(0);
    }, duration);
  });
} else {
  console.error('usage: sockets.mjs hold|rtt ...');
  process.exit(2);
}
