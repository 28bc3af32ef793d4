// The real bb 4.1.2 and 5.0.0 from npm as bundles (gcc flavour only: slow and
// nothing for a sanitizer to see in bb). Inputs come from the cache that
// scripts/cache-bb-inputs.sh fills, served by a local registry: no network.
//  - `teerex bb fetch` builds each bundle (bb + Debian 13 loader and libs);
//    a second build is byte-identical (archive and digest); a tampered file
//    changes the digest; unknown version, integrity mismatch, no amd64-linux
//    binary and a binary that does not run each get their exit code;
//  - `teerex bb upload` installs them (unix and tcp admin listeners) into a
//    pinned nitro-emulated teerexd whose allow-list holds both digests;
//  - a real Noir circuit is proved by each version chosen by x-aztec-version
//    (and by the default, 5.0.0, without the header) and that version's own
//    `bb verify`, run through its bundled loader, accepts the proof;
//  - the attested digests are the bundles' (`teerex attest verify --expect-bb`);
//  - on demand: a pinned teerexd without 4.1.2 gets it from `teerex bb serve`
//    and proves with it.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync, cpSync, mkdirSync, readFileSync, writeFileSync, chmodSync, appendFileSync,
} from 'node:fs';
import { prove, fetchAttestation } from '../../interop/sdk/sdk-client.mjs';
import { check, summary, startServer, tempDir, cleanup, container, TEEREXD, BUILD } from '../teerexd/lib.mjs';
import { startRegistry, cachedTarball, CACHE } from './registry.mjs';

const SRC = process.env.TR_SOURCE_DIR;
const SHARED = process.env.TEEREX_SHARED || `${SRC}/../shared`;
const TEEREX = `${BUILD}/src/teerex/teerex`;
const skip = (why) => { console.log(`skip: ${why}`); process.exit(77); };
if (!existsSync(TEEREXD) || !existsSync(TEEREX)) skip('teerexd/teerex not built');
if (!cachedTarball('4.1.2') || !cachedTarball('5.0.0')) skip(`no cached @aztec/bb.js tarballs in ${CACHE} (scripts/cache-bb-inputs.sh)`);
if (!existsSync(`${CACHE}/debs`)) skip(`no cached Debian packages in ${CACHE}/debs`);
if (!existsSync(`${SRC}/demo/node_modules/@noir-lang/noir_wasm`)) skip('demo/node_modules lacks noir_wasm');
if (!existsSync(`${SHARED}/crs/bn254_g1.dat`)) skip(`no CRS in ${SHARED}/crs`);

const W = tempDir('realbundles');
// Asynchronous: the local registry answers from this same process.
const run = (args) => new Promise((resolve) => {
  const p = spawn(TEEREX, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  p.stdout.on('data', (d) => { stdout += d; });
  p.stderr.on('data', (d) => { stderr += d; });
  p.on('close', (status) => resolve({ status, stdout, stderr }));
});
const json = (s) => { try { return JSON.parse(s.trim().split('\n').pop()); } catch { return null; } };
const tgz = (dir, files) => { // a release tarball made on the spot
  for (const [p, data, mode] of files) {
    mkdirSync(`${dir}/${p.replace(/\/[^/]+$/, '')}`, { recursive: true });
    writeFileSync(`${dir}/${p}`, data);
    chmodSync(`${dir}/${p}`, mode || 0o644);
  }
  const r = spawnSync('tar', ['-czf', `${dir}.tgz`, '-C', dir, 'package']);
  if (r.status !== 0) throw new Error('tar failed');
  return readFileSync(`${dir}.tgz`);
};
const badIntegrity = readFileSync(cachedTarball('5.0.0'));
const reg = await startRegistry({
  versions: ['4.1.2', '5.0.0'],
  extra: {
    '6.6.6-corrupt': { tgz: badIntegrity.subarray(0, badIntegrity.length - 1000), integrity: readFileSync(`${cachedTarball('5.0.0')}.integrity`, 'utf8') },
    '6.6.6-nobin': { tgz: tgz(`${W}/nobin`, [['package/package.json', '{}']]) },
    '6.6.6-norun': { tgz: tgz(`${W}/norun`, [['package/build/amd64-linux/bb', Buffer.from('\x7fELF garbage'), 0o755]]) },
  },
});
const fetchArgs = (v, out, extra = []) => ['bb', 'fetch', v, '--registry', reg.url, '--cache', `${W}/cache`,
  '--debs', `${CACHE}/debs`, '--out', out, '--quiet', ...extra];
let srv;
try {
  // ---- 1. build, twice; tamper ----
  const built = {};
  for (const v of ['4.1.2', '5.0.0']) {
    const r = await run(fetchArgs(v, `${W}/b1`, ['--tar', `${W}/b1/${v}.tar`]));
    const rep = json(r.stdout);
    check(r.status === 0 && rep && rep.ok, `bb fetch ${v}`, r.stderr || r.stdout);
    if (!rep || !rep.ok) continue;
    built[v] = rep;
    check(rep.bb_version.startsWith(v), `bb ${v} runs through its bundled loader (--version ${rep.bb_version})`);
    check(existsSync(`${W}/b1/${v}/lib/ld-linux-x86-64.so.2`) && existsSync(`${W}/b1/${v}/lib/libc.so.6`),
      `${v}: loader and libc bundled`);
    const r2 = await run(fetchArgs(v, `${W}/b2`, ['--tar', `${W}/b2/${v}.tar`]));
    const rep2 = json(r2.stdout);
    check(rep2 && rep2.digest === rep.digest, `${v}: same inputs, same digest`, [rep.digest, rep2 && rep2.digest]);
    check(readFileSync(`${W}/b1/${v}.tar`).equals(readFileSync(`${W}/b2/${v}.tar`)), `${v}: byte-identical archive twice`);
    const d = await run(['bb', 'digest', `${W}/b2/${v}`]);
    check(d.stdout.trim() === rep.digest, `${v}: teerex bb digest agrees`);
  }
  check(existsSync(`${W}/b1/4.1.2/lib/libstdc++.so.6`), '4.1.2 brings libstdc++ (GLIBCXX_3.4.32)');
  cpSync(`${W}/b2/4.1.2`, `${W}/tampered`, { recursive: true });
  appendFileSync(`${W}/tampered/lib/libm.so.6`, Buffer.from([0]));
  check((await run(['bb', 'digest', `${W}/tampered`])).stdout.trim() !== built['4.1.2']?.digest, 'a tampered library changes the digest');

  // ---- 2. the errors ----
  for (const [v, code, what] of [['9.9.9', 30, 'unknown version'], ['6.6.6-corrupt', 32, 'integrity mismatch'],
    ['6.6.6-nobin', 31, 'no amd64-linux binary'], ['6.6.6-norun', 33, 'binary that does not run']]) {
    const r = await run(fetchArgs(v, `${W}/bad`));
    const rep = json(r.stdout);
    check(r.status === code && rep && rep.ok === false && rep.detail.length > 10, `bb fetch: ${what} -> exit ${code}`,
      { status: r.status, out: r.stdout });
    check(!existsSync(`${W}/bad/${v}`), `${what}: no bundle left`);
  }

  // ---- 3. a pinned nitro-emulated teerexd, bundles uploaded ----
  const crs = `${W}/crs`;
  cpSync(`${SHARED}/crs`, crs, { recursive: true });
  writeFileSync(`${W}/allowed`, Object.values(built).map((b) => `${b.version} ${b.digest}`).join('\n') + '\n');
  mkdirSync(`${W}/versions`);
  srv = await startServer({ TEE_MODE: 'nitro-emulated', NSM_EMU_DIR: `${W}/emu`, BB_POLICY: 'pinned',
    BB_ALLOWED_FILE: `${W}/allowed`, BB_VERSIONS_DIR: `${W}/versions`, BB_DEFAULT_VERSION: '5.0.0',
    ADMIN_LISTEN: `unix:${W}/admin.sock,tcp:127.0.0.1:0`, CRS_PATH: crs, RATE_LIMIT_MAX: '0',
    HARDWARE_CONCURRENCY: '2', PROVE_TIMEOUT: '5m' });
  for (const [v, to] of [['4.1.2', `unix:${W}/admin.sock`], ['5.0.0', `tcp:127.0.0.1:${srv.ports.admin.find((p) => p > 0)}`]]) {
    const r = await run(['bb', 'upload', '--to', to, v, `${W}/b1/${v}`]);
    const rep = json(r.stdout);
    check(r.status === 0 && rep && rep.ok && rep.answer.sha256 === built[v]?.digest, `bb upload ${v} over ${to.split(':')[0]}`, r.stderr || r.stdout);
  }

  // ---- 4. a real circuit proved by each version, verified by its own bb ----
  const circ = `${W}/circuit`;
  const mk = spawnSync('node', [`${SRC}/tests/integration/bundles/circuit.mjs`, circ], { encoding: 'utf8' });
  check(mk.status === 0, 'circuit compiled and executed', mk.stderr.slice(-500));
  const witness = readFileSync(`${circ}/witness.gz`);
  for (const [v, prog, header] of [['4.1.2', 'program-bb4.json', '4.1.2'], ['5.0.0', 'program.json', '5.0.0'],
    [undefined, 'program.json', '5.0.0']]) {
    const input = container([['program.json', readFileSync(`${circ}/${prog}`)], ['witness.gz', witness]]);
    const r = await prove(srv.url, input, { scheme: 'ultra_honk', version: v });
    const what = v ? `x-aztec-version ${v}` : 'no version header (the default)';
    check(r.status === 200 && r.headers['x-prover-version'] === header, `${what}: proved by ${header}`, [r.status, r.body, r.headers['x-prover-version']]);
    if (r.status !== 200) continue;
    const out = `${W}/proof-${v || 'default'}`;
    mkdirSync(out);
    writeFileSync(`${out}/proof`, Buffer.from(r.body.proof, 'base64').subarray(4));
    writeFileSync(`${out}/vk`, Buffer.from(r.body.vk, 'base64'));
    writeFileSync(`${out}/public_inputs`, Buffer.from(r.body.publicInputs, 'base64'));
    const b = `${W}/b1/${header}`;
    const ver = spawnSync(`${b}/lib/ld-linux-x86-64.so.2`, ['--inhibit-cache', '--library-path', `${b}/lib`, `${b}/bb`,
      'verify', '-p', `${out}/proof`, '-k', `${out}/vk`, '-i', `${out}/public_inputs`, '-c', crs], { encoding: 'utf8' });
    check(ver.status === 0, `${what}: bb ${header}'s own verify accepts the proof`, ver.stderr.slice(-300));
  }

  // ---- 5. the attested digests are the bundles' ----
  const att = await fetchAttestation(srv.url);
  const doc = Buffer.from(att.attestationDocument || '', 'base64').toString('latin1');
  const ud = `{"versions":[{"version":"4.1.2","sha256":"${built['4.1.2']?.digest}"},{"version":"5.0.0","sha256":"${built['5.0.0']?.digest}"}],"default":"5.0.0","policy":"pinned"}`;
  check(doc.includes(ud), 'user_data: both bundle digests, the default, policy pinned');
  const av = await run(['attest', 'verify', srv.url, '--root', `${W}/emu/root.pem`, '--allow-debug-mode',
    '--expect-bb', `4.1.2=${built['4.1.2']?.digest}`, '--expect-bb', `5.0.0=${built['5.0.0']?.digest}`]);
  check(av.status === 0, 'teerex attest verify --expect-bb pins both bundles', av.stderr.slice(-400));
  const avp = await run(['attest', 'verify', srv.url, '--root', `${W}/emu/root.pem`, '--require-pinned']);
  check(avp.status === 0, 'teerex attest verify --require-pinned: the policy is pinned', avp.stderr.slice(-400));
  const av2 = await run(['attest', 'verify', srv.url, '--root', `${W}/emu/root.pem`, '--allow-debug-mode',
    '--expect-bb', `4.1.2=${built['5.0.0']?.digest}`]);
  check(av2.status !== 0, "another bundle's digest for 4.1.2 is refused");

  // ---- 6. on demand: a teerexd without 4.1.2 gets it from `teerex bb serve` ----
  await srv.stop();
  srv = null;
  const svc = spawn(TEEREX, ['bb', 'serve', '--listen', `unix:${W}/prov.sock`, '--registry', reg.url,
    '--cache', `${W}/cache2`, '--debs', `${CACHE}/debs`, '--store', `${W}/store`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let svcLog = '';
  svc.stderr.on('data', (d) => { svcLog += d; });
  const svcExit = new Promise((r) => svc.on('exit', (code) => r(code)));
  for (let i = 0; i < 200 && !svcLog.includes('"ready"'); i++) await new Promise((r) => setTimeout(r, 50));
  mkdirSync(`${W}/versions2`);
  srv = await startServer({ TEE_MODE: 'nitro-emulated', NSM_EMU_DIR: `${W}/emu`, BB_POLICY: 'pinned',
    BB_ALLOWED_FILE: `${W}/allowed`, BB_VERSIONS_DIR: `${W}/versions2`, BB_PROVISION: `unix:${W}/prov.sock`,
    CRS_PATH: crs, RATE_LIMIT_MAX: '0', HARDWARE_CONCURRENCY: '2', PROVE_TIMEOUT: '5m' });
  const input = container([['program.json', readFileSync(`${circ}/program-bb4.json`)], ['witness.gz', witness]]);
  const od = await prove(srv.url, input, { scheme: 'ultra_honk', version: '4.1.2' });
  check(od.status === 200 && od.headers['x-prover-version'] === '4.1.2', 'on demand: 4.1.2 fetched, installed and proved', [od.status, od.body]);
  check(existsSync(`${W}/versions2/4.1.2`) && (await run(['bb', 'digest', `${W}/versions2/4.1.2`])).stdout.trim() === built['4.1.2']?.digest,
    'on demand: the installed bundle is the one the allow-list pins');
  if (od.status === 200) {
    const out = `${W}/proof-ondemand`;
    mkdirSync(out);
    writeFileSync(`${out}/proof`, Buffer.from(od.body.proof, 'base64').subarray(4));
    writeFileSync(`${out}/vk`, Buffer.from(od.body.vk, 'base64'));
    writeFileSync(`${out}/public_inputs`, Buffer.from(od.body.publicInputs, 'base64'));
    const b = `${W}/b1/4.1.2`;
    const ver = spawnSync(`${b}/lib/ld-linux-x86-64.so.2`, ['--inhibit-cache', '--library-path', `${b}/lib`, `${b}/bb`,
      'verify', '-p', `${out}/proof`, '-k', `${out}/vk`, '-i', `${out}/public_inputs`, '-c', crs], { encoding: 'utf8' });
    check(ver.status === 0, "on demand: bb 4.1.2's own verify accepts the proof", ver.stderr.slice(-300));
  }
  svc.kill('SIGTERM');
  check(await svcExit === 0, 'teerex bb serve exit 0');
} finally {
  if (srv) {
    const ex = await srv.stop();
    check(ex && ex.code === 0, 'teerexd exit 0', ex);
  }
  await reg.close();
  cleanup(W);
}
process.exit(summary());
