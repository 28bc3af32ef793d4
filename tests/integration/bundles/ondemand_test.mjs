// Versions fetched on demand, with a fake release (an ELF fake prover
// packed like @aztec/bb.js, served by a local registry) so the whole
// provisioning pipeline runs for real but proving is instant:
//  - three concurrent /prove for a missing version: one provisioning request
//    from teerexd, one build by `teerex bb serve`, one download from the
//    registry; all three proved by that version; a later request finds it
//    installed; its digest is attested;
//  - an unknown version: 400 naming the versions there are, the registry
//    asked once however often clients retry (BB_PROVISION_RETRY);
//  - the service down: 503 naming the versions there are;
//  - a pinned enclave: the service will not build a digest the enclave does
//    not allow, and a lying service's bundle is refused (nothing installed);
//  - a malformed answer: 503, nothing installed, the server keeps serving.
import { spawn } from 'node:child_process';
import {
  existsSync, mkdirSync, writeFileSync, copyFileSync, chmodSync, readFileSync, readdirSync,
} from 'node:fs';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { prove, fetchAttestation } from '../../interop/sdk/sdk-client.mjs';
import {
  check, summary, startServer, tempDir, installFake, cleanup, bundleDigest, sleep, TEEREXD, BUILD,
} from '../teerexd/lib.mjs';
import { startRegistry, CACHE } from './registry.mjs';

const TEEREX = `${BUILD}/src/teerex/teerex`;
const FAKE_ELF = `${BUILD}/tests/integration/bundles/fake_bb_elf`;
const skip = (why) => { console.log(`skip: ${why}`); process.exit(77); };
if (!existsSync(TEEREXD) || !existsSync(TEEREX) || !existsSync(FAKE_ELF)) skip('teerexd/teerex/fake_bb_elf not built');
if (!existsSync(`${CACHE}/debs`)) skip(`no cached Debian packages in ${CACHE}/debs (scripts/cache-bb-inputs.sh)`);

const W = tempDir('ondemand');
const release = (v) => { // a fake @aztec/bb.js tarball whose amd64-linux bb is the ELF fake
  const d = `${W}/rel-${v}`;
  mkdirSync(`${d}/package/build/amd64-linux`, { recursive: true });
  writeFileSync(`${d}/package/package.json`, JSON.stringify({ name: '@aztec/bb.js', version: v }));
  copyFileSync(FAKE_ELF, `${d}/package/build/amd64-linux/bb`);
  chmodSync(`${d}/package/build/amd64-linux/bb`, 0o755);
  const r = spawnSync('tar', ['-czf', `${d}.tgz`, '-C', d, 'package']);
  if (r.status !== 0) throw new Error('tar failed');
  return { tgz: readFileSync(`${d}.tgz`) };
};
const reg = await startRegistry({ extra: { '7.0.0': release('7.0.0'), '7.0.1': release('7.0.1') }, delayMs: 300 });

// the provisioning service
const sock = `${W}/provision.sock`;
const svc = { logs: [], proc: null };
function startService() {
  svc.proc = spawn(TEEREX, ['bb', 'serve', '--listen', `unix:${sock}`, '--registry', reg.url,
    '--cache', `${W}/cache`, '--debs', `${CACHE}/debs`, '--store', `${W}/store`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let buf = '';
  svc.proc.stderr.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      try { svc.logs.push(JSON.parse(buf.slice(0, i))); } catch { /* not JSON */ }
      buf = buf.slice(i + 1);
    }
  });
  svc.exit = new Promise((r) => svc.proc.on('exit', (code) => r(code)));
}
async function waitFor(pred, ms = 20000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (pred()) return true;
  return false;
}
startService();
check(await waitFor(() => svc.logs.some((l) => l.event === 'ready')), 'teerex bb serve ready', svc.logs);

installFake(`${W}/default`);
const count = (srv, ev, v) => srv.logs.filter((l) => l.event === ev && (!v || l.version === v)).length;
let srv;
try {
  mkdirSync(`${W}/versions`);
  srv = await startServer({ BB_BINARY_PATH: `${W}/default/bb`, BB_VERSIONS_DIR: `${W}/versions`,
    BB_PROVISION: `unix:${sock}`, PROVE_WORK_DIR: W, RATE_LIMIT_MAX: '0', TEE_MODE: 'nitro-emulated',
    NSM_EMU_DIR: `${W}/emu` });

  // ---- 1. three at once: one fetch ----
  const rs = await Promise.all([1, 2, 3].map(() => prove(srv.url, Buffer.from('in'), { version: '7.0.0' })));
  check(rs.every((r) => r.status === 200 && r.headers['x-prover-version'] === '7.0.0'),
    'three concurrent requests for a missing version: all proved by it', rs.map((r) => [r.status, r.body]));
  check(count(srv, 'bb_provision_start', '7.0.0') === 1, 'teerexd asked the service once', count(srv, 'bb_provision_start'));
  check(count(srv, 'bb_provision_wait', '7.0.0') === 2, 'the other two waited for that fetch', count(srv, 'bb_provision_wait'));
  check(svc.logs.filter((l) => l.event === 'bb_build_start').length === 1, 'the service built once');
  check(reg.hits['doc:7.0.0'] === 1 && reg.hits['tgz:7.0.0'] === 1, 'the registry was asked once', reg.hits);
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  check(/teerexd_bb_provisions_total\{result="installed"\} 1\n/.test(metrics) &&
    /teerexd_bb_provisions_total\{result="joined"\} 2\n/.test(metrics) && /teerexd_bb_versions 2\n/.test(metrics),
    '/metrics: one install, two joined, two versions', metrics.split('\n').filter((l) => l.includes('_bb_')));
  const r4 = await prove(srv.url, Buffer.from('in'), { version: '7.0.0' });
  check(r4.status === 200 && count(srv, 'bb_provision_start', '7.0.0') === 1, 'a later request finds it installed');
  const built = svc.logs.find((l) => l.event === 'bb_build_done');
  const dig = existsSync(`${W}/versions/7.0.0`) ? bundleDigest(`${W}/versions/7.0.0`) : '';
  check(built && built.digest === dig && existsSync(`${W}/versions/7.0.0/lib/ld-linux-x86-64.so.2`),
    'the installed bundle (with its loader) has the digest the service built', [built, dig]);
  const att = await fetchAttestation(srv.url);
  check(Buffer.from(att.attestationDocument, 'base64').toString('latin1').includes(`{"version":"7.0.0","sha256":"${dig}"}`),
    'the provisioned bundle is attested');
  const av = spawnSync(TEEREX, ['attest', 'verify', srv.url, '--root', `${W}/emu/root.pem`, '--require-pinned'], { encoding: 'utf8' });
  check(av.status === 18 && /policy is open, pinned is required/.test(av.stderr), 'an open enclave fails --require-pinned (exit 18)', [av.status, av.stderr.slice(-300)]);

  // ---- 2. an unknown version ----
  for (let i = 0; i < 2; i++) {
    const r = await prove(srv.url, Buffer.from('in'), { version: '9.9.9' });
    check(r.status === 400 && /^Unsupported x-aztec-version 9\.9\.9: .*unknown.*; available versions: \[7\.0\.0, default\]$/.test(r.body.error),
      `unknown version -> 400 naming the versions there are (try ${i + 1})`, r.body);
  }
  check(reg.hits['doc:9.9.9'] === 1, 'the registry asked once for the unknown version (retry memory)', reg.hits);

  // ---- 3. a malformed answer, then the service down ----
  const liar = (answer) => new Promise((resolve) => {
    const s = net.createServer((c) => { c.once('data', () => { c.end(answer); }); });
    s.listen(`${W}/liar.sock`, () => resolve(s));
  });
  // ---- 4. the service stops: 503 naming the versions ----
  svc.proc.kill('SIGTERM');
  check(await svc.exit === 0, 'teerex bb serve exits 0 on SIGTERM');
  check(!existsSync(sock), 'its socket is removed');
  const r5 = await prove(srv.url, Buffer.from('in'), { version: '7.0.1' });
  check(r5.status === 503 && /could not be provisioned: cannot reach .*; available versions: \[7\.0\.0, default\]/.test(r5.body.error) &&
    r5.headers['retry-after'], 'service down -> 503 naming the versions', r5.body);
  const ex = await srv.stop();
  check(ex && ex.code === 0, 'teerexd exit 0', ex);
  srv = null;

  // ---- 5. pinned enclaves ----
  const tar700 = readFileSync(`${W}/store/7.0.0.tar`);
  const other = '1'.repeat(64);
  writeFileSync(`${W}/allowed`, `8.0.0 ${other}\n7.0.1 ${other}\n`);
  mkdirSync(`${W}/pinned`);
  const pinnedEnv = { TEE_MODE: 'nitro-emulated', NSM_EMU_DIR: `${W}/emu`, BB_POLICY: 'pinned',
    BB_ALLOWED_FILE: `${W}/allowed`, BB_VERSIONS_DIR: `${W}/pinned`, PROVE_WORK_DIR: W, RATE_LIMIT_MAX: '0' };
  // a lying service: answers 8.0.0 with 7.0.0's bundle (its true digest)
  const lie = await liar(Buffer.concat([Buffer.from(JSON.stringify({ version: '8.0.0', digest: dig, size: tar700.length }) + '\n'), tar700]));
  srv = await startServer({ ...pinnedEnv, BB_PROVISION: `unix:${W}/liar.sock` });
  let r = await prove(srv.url, Buffer.from('in'), { version: '8.0.0' });
  check(r.status === 400 && /not on this enclave's pinned list/.test(r.body.error), 'pinned: a provisioned bundle outside the list is refused', r.body);
  check(readdirSync(`${W}/pinned`).length === 0, 'pinned: nothing installed');
  r = await prove(srv.url, Buffer.from('in'), { version: '6.0.0' });
  check(r.status === 400 && /pinned list/.test(r.body.error), 'pinned: a version not on the list is not even asked for', r.body);
  await srv.stop();
  lie.close();
  const garbage = await liar('this is not JSON\n');
  srv = await startServer({ ...pinnedEnv, BB_PROVISION: `unix:${W}/liar.sock` });
  r = await prove(srv.url, Buffer.from('in'), { version: '8.0.0' });
  check(r.status === 503 && /no usable answer/.test(r.body.error), 'a malformed answer -> 503', r.body);
  check((await fetch(`${srv.url}/health`)).status === 200, 'still serving');
  await srv.stop();
  garbage.close();
  // the real service honours the enclave's digest: it will not send what the list does not hold
  startService();
  check(await waitFor(() => svc.logs.filter((l) => l.event === 'ready').length === 2), 'service restarted');
  srv = await startServer({ ...pinnedEnv, BB_PROVISION: `unix:${sock}` });
  r = await prove(srv.url, Buffer.from('in'), { version: '7.0.1' });
  check(r.status === 400 && /this host builds 7\.0\.1 as [0-9a-f]{64}, the enclave allows 1{64}/.test(r.body.error),
    'pinned: the service refuses to send a digest the enclave does not allow', r.body);
  check(readdirSync(`${W}/pinned`).length === 0, 'pinned: still nothing installed');
} finally {
  if (srv) await srv.stop();
  if (svc.proc && svc.proc.exitCode === null) { svc.proc.kill('SIGTERM'); await svc.exit; }
  await reg.close();
  cleanup(W);
}
process.exit(summary());
