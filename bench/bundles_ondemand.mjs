// bench/bundles.sh part 3: the first /prove for a version teerexd lacks.
// A local registry serves the cached @aztec/bb.js 4.1.2 tarball; `teerex bb
// serve` builds from it; a fresh teerexd (empty BB_VERSIONS_DIR) per run gets
// one /prove naming 4.1.2 (a body that fails decryption afterwards: only the
// provisioning is timed) and logs bb_provision_done with its duration.
//   node bench/bundles_ondemand.mjs BUILD RUNS WORKDIR DEBS TGZ
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, readFileSync } from 'node:fs';
import { startRegistry } from '../tests/integration/bundles/registry.mjs';

const [BUILD, RUNS, W, DEBS, TGZ] = process.argv.slice(2);
const runs = Number(RUNS);
process.env.TEEREX_CACHE = TGZ.replace(/\/npm\/[^/]+$/, '');
const reg = await startRegistry({ versions: ['4.1.2'] });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(cmd, args, env) {
  const p = spawn(cmd, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  p.logs = [];
  let buf = '';
  p.stderr.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      try { p.logs.push(JSON.parse(buf.slice(0, i))); } catch { /* text */ }
      buf = buf.slice(i + 1);
    }
  });
  p.done = new Promise((r) => p.on('exit', r));
  return p;
}
async function until(pred, ms = 60000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) if (pred()) return true;
  return false;
}
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return `median ${med} ms (min ${s[0]}, max ${s[s.length - 1]}, spread ${(s[s.length - 1] / med).toFixed(2)}) n=${s.length}`;
};

async function once(store) {
  const sock = `${W}/od-prov.sock`, vers = `${W}/od-versions`;
  rmSync(vers, { recursive: true, force: true });
  mkdirSync(vers, { recursive: true });
  const svc = start(`${BUILD}/src/teerex/teerex`, ['bb', 'serve', '--listen', `unix:${sock}`, '--registry', reg.url,
    '--cache', `${W}/od-cache`, '--debs', DEBS, '--store', store], {});
  await until(() => svc.logs.some((l) => l.event === 'ready'));
  const d = start(`${BUILD}/src/teerexd/teerexd`, [], { LISTEN: 'tcp:127.0.0.1:0', BB_VERSIONS_DIR: vers,
    BB_PROVISION: `unix:${sock}`, RATE_LIMIT_MAX: '0', LOG_LEVEL: 'info' });
  await until(() => d.logs.some((l) => l.event === 'ready'));
  const port = d.logs.find((l) => l.event === 'listening').port;
  await fetch(`http://127.0.0.1:${port}/prove`, { method: 'POST', body: '{"data":"AAAA"}',
    headers: { 'content-type': 'application/json', 'x-aztec-version': '4.1.2' } });
  const done = d.logs.find((l) => l.event === 'bb_provision_done');
  d.kill('SIGTERM');
  svc.kill('SIGTERM');
  await Promise.all([d.done, svc.done]);
  if (!done) throw new Error(`no bb_provision_done: ${JSON.stringify(d.logs.filter((l) => /provision/.test(l.event)))}`);
  return done.ms;
}

const cold = [], warm = [];
for (let i = 0; i < runs; i++) {
  const store = `${W}/od-store-${i}`;
  cold.push(await once(store)); // empty store: the service builds first
  warm.push(await once(store)); // the same store: transfer + install only
}
console.log(`cold store (build + transfer + install) ${stats(cold)}`);
console.log(`warm store (transfer + install, 56 MB)  ${stats(warm)}`);
await reg.close();
process.exit(0);
