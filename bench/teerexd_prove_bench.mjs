// /prove overhead of teerexd with an instant fake prover, peak RSS, cold start.
//   node bench/teerexd_prove_bench.mjs TEEREXD_BINARY [RUNS]
// Prints JSON lines; bench/teerexd_bench.sh turns them into a table.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { encryptFor, fetchAttestation } from '../tests/interop/sdk/sdk-client.mjs';

const bin = process.argv[2];
const runs = Number(process.argv[3] || 10);
const dir = mkdtempSync(`${tmpdir()}/teerexd-bench-`);
// The instant prover: one exec of /bin/sh, a mkdir and a 64-byte proof.
writeFileSync(`${dir}/bb`, '#!/bin/sh\nwhile [ "$1" != "-o" ]; do shift; done\nmkdir -p "$2"\nprintf "%064d" 0 > "$2/proof"\n');
chmodSync(`${dir}/bb`, 0o755);

function start() {
  const t0 = process.hrtime.bigint();
  const p = spawn(bin, [], { env: { PATH: process.env.PATH, LISTEN: 'tcp:127.0.0.1:0', BB_BINARY_PATH: `${dir}/bb`,
    RATE_LIMIT_MAX: '0', MAX_BODY_BYTES: String(64 << 20) }, stdio: ['ignore', 'ignore', 'pipe'] });
  const logs = [];
  let buf = '';
  p.stderr.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { try { logs.push(JSON.parse(buf.slice(0, i))); } catch {} buf = buf.slice(i + 1); }
  });
  return { p, logs, t0 };
}

// Cold start: spawn to first 200 from /attestation (5 starts, median).
const colds = [];
for (let k = 0; k < 5; k++) {
  const s = start();
  let url = null, ms = null;
  while (ms === null) {
    const l = s.logs.find((x) => x.event === 'listening');
    if (l) url = `http://127.0.0.1:${l.port}`;
    if (url) {
      try {
        const r = await fetch(`${url}/attestation`);
        if (r.status === 200) { await r.text(); ms = Number(process.hrtime.bigint() - s.t0) / 1e6; }
      } catch {}
    }
    if (ms === null) await new Promise((r) => setTimeout(r, 2));
  }
  colds.push(ms);
  s.p.kill('SIGTERM');
  await new Promise((r) => s.p.on('exit', r));
}
colds.sort((a, b) => a - b);
console.log(JSON.stringify({ bench: 'cold_start_ms', median: colds[2], min: colds[0], max: colds[4] }));

const s = start();
while (!s.logs.some((l) => l.event === 'ready')) await new Promise((r) => setTimeout(r, 10));
const url = `http://127.0.0.1:${s.logs.find((l) => l.event === 'listening').port}`;
const att = await fetchAttestation(url);
for (const mib of [1, 16]) {
  const enc = await encryptFor(att.publicKey, randomBytes(mib << 20));
  const body = JSON.stringify({ data: enc.toString('base64') });
  const client = [];
  const cpu = () => { const f = readFileSync(`/proc/${s.p.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; }; // utime+stime ticks (100 Hz) -> ms
  const cpu0 = cpu();
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = await fetch(`${url}/prove`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    await r.json();
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    client.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const cpuMs = (cpu() - cpu0) / runs;
  await new Promise((r) => setTimeout(r, 100));
  const done = s.logs.filter((l) => l.event === 'prove_done').slice(-runs);
  const med = (a) => { const b = [...a].sort((x, y) => x - y); return b[Math.floor(b.length / 2)]; };
  console.log(JSON.stringify({
    bench: 'prove_overhead', plaintext_mib: mib, body_bytes: done[0].body_bytes, runs,
    server_total_ms_median: med(done.map((d) => d.total_ms)),
    prover_ms_median: med(done.map((d) => d.prove_ms)),
    decrypt_ms_median: med(done.map((d) => d.decrypt_ms)),
    overhead_ms_median: med(done.map((d) => d.total_ms - d.prove_ms)),
    client_roundtrip_ms_median: Math.round(med(client)),
    teerexd_cpu_ms_per_request: cpuMs, // includes the fake prover's spawn, not its run
    loadavg_1m: readFileSync('/proc/loadavg', 'utf8').split(' ')[0],
  }));
}
const status = readFileSync(`/proc/${s.p.pid}/status`, 'utf8');
console.log(JSON.stringify({ bench: 'peak_rss', vmhwm: /VmHWM:\s+(.*)/.exec(status)[1].trim(), after: '2 x runs of 1 and 16 MiB' }));
s.p.kill('SIGTERM');
await new Promise((r) => s.p.on('exit', r));
rmSync(dir, { recursive: true, force: true });
