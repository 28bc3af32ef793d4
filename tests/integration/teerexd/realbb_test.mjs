// The real bb (npm @aztec/bb.js 5.0.0) proving a Noir circuit through teerexd
// with the ultra_honk command template and the real Ignition CRS slice of
// $TEEREX_SHARED/crs (copied: bb writes a lock file into it); the proof then
// passes the unmodified `bb verify`. Also bb's trap: a witness that does not
// satisfy the circuit makes bb exit 0 with "Builder failure", which teerexd
// must report as a failure, not return as a proof.
import { existsSync, cpSync, writeFileSync, readFileSync, mkdirSync, realpathSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { gunzipSync, gzipSync } from 'node:zlib';
import { prove } from '../../interop/sdk/sdk-client.mjs';
import { check, summary, startServer, tempDir, cleanup, container, TEEREXD } from './lib.mjs';

const SRC = process.env.TR_SOURCE_DIR;
const SHARED = process.env.TEEREX_SHARED || '/work/shared';
const BB = `${SRC}/demo/node_modules/@aztec/bb.js/build/amd64-linux/bb`;
const skip = (why) => { console.log(`skip: ${why}`); process.exit(77); };
if (!existsSync(TEEREXD)) skip('teerexd not built');
if (!existsSync(BB)) skip(`no native bb at ${BB} (npm install in demo/)`);
if (!existsSync(`${SRC}/demo/node_modules/@noir-lang/noir_wasm`)) skip('demo/node_modules lacks noir_wasm');
if (!existsSync(`${SRC}/demo/make-circuit.mjs`)) skip('demo/make-circuit.mjs missing');
if (!existsSync(`${SHARED}/crs/bn254_g1.dat`)) skip(`no CRS in ${SHARED}/crs`);

const root = tempDir('realbb');
const crs = `${root}/crs`;
cpSync(`${SHARED}/crs`, crs, { recursive: true });
const circ = `${root}/circuit`;
const mk = spawnSync('node', [`${SRC}/demo/make-circuit.mjs`, '--perms', '2', '--out', circ],
  { cwd: `${SRC}/demo`, encoding: 'utf8' });
if (mk.status !== 0) {
  console.error(mk.stderr);
  check(false, 'make-circuit.mjs ran');
  process.exit(summary());
}
const program = readFileSync(`${circ}/program.json`), witness = readFileSync(`${circ}/witness.gz`);
const srv = await startServer({ BB_BINARY_PATH: BB, CRS_PATH: crs, HARDWARE_CONCURRENCY: '2',
  RATE_LIMIT_MAX: '0', PROVE_TIMEOUT: '5m' });
try {
  const r = await prove(srv.url, container([['program.json', program], ['witness.gz', witness]]),
    { scheme: 'ultra_honk' });
  check(r.status === 200, 'real bb proof through teerexd', r.body);
  if (r.status === 200) {
    const full = Buffer.from(r.body.proof, 'base64');
    const proof = full.subarray(4);
    check(full.readUInt32BE(0) === proof.length / 32 && proof.length > 0, '4-byte field count header');
    const out = `${root}/out`;
    mkdirSync(out);
    writeFileSync(`${out}/proof`, proof);
    writeFileSync(`${out}/vk`, Buffer.from(r.body.vk || '', 'base64'));
    writeFileSync(`${out}/public_inputs`, Buffer.from(r.body.publicInputs || '', 'base64'));
    const v = spawnSync(BB, ['verify', '-p', `${out}/proof`, '-k', `${out}/vk`, '-i', `${out}/public_inputs`,
      '-c', crs], { encoding: 'utf8' });
    check(v.status === 0, 'unmodified bb verify accepts the proof', v.stderr + v.stdout);
    const badProof = Buffer.from(proof);
    badProof[100] ^= 1;
    writeFileSync(`${out}/proof`, badProof);
    const v2 = spawnSync(BB, ['verify', '-p', `${out}/proof`, '-k', `${out}/vk`, '-i', `${out}/public_inputs`,
      '-c', crs], { encoding: 'utf8' });
    check(v2.status !== 0, 'bb verify rejects a flipped proof bit');
  }
  // unsatisfied witness: same size, one value bit flipped -> bb exits 0 + "Builder failure"
  const raw = Buffer.from(gunzipSync(witness));
  raw[raw.length - 5] ^= 1;
  const r2 = await prove(srv.url, container([['program.json', program], ['witness.gz', gzipSync(raw)]]),
    { scheme: 'ultra_honk' });
  check(r2.status === 500 && r2.body.error === 'Proof generation failed' && /builder failure/.test(r2.body.detail),
    'Builder failure surfaces as a prover error', r2.body);
  check(srv.logs.some((l) => l.event === 'prove_failed' && l.error === 'PROVER_BUILDER_FAILURE'), 'logged');
} finally {
  const ex = await srv.stop();
  check(ex && ex.code === 0, 'exit 0', ex);
}

// The same bb as a bundle with its own loader and C library (D/bb, D/lib):
// in the sandbox it sees nothing of the host's but that directory and the CRS.
const bundle = `${root}/versions/5.0.0`;
mkdirSync(`${bundle}/lib`, { recursive: true });
cpSync(BB, `${bundle}/bb`);
for (const lib of ['ld-linux-x86-64.so.2', 'libc.so.6']) cpSync(realpathSync(`/lib/x86_64-linux-gnu/${lib}`), `${bundle}/lib/${lib}`);
const bsrv = await startServer({ BB_BINARY_PATH: BB, BB_VERSIONS_DIR: `${root}/versions`, CRS_PATH: crs,
  HARDWARE_CONCURRENCY: '2', RATE_LIMIT_MAX: '0', PROVE_TIMEOUT: '5m' });
try {
  check(bsrv.logs.some((l) => l.event === 'sandbox' && /mount/.test(l.active)), 'the sandbox is on');
  const r = await prove(bsrv.url, container([['program.json', program], ['witness.gz', witness]]),
    { scheme: 'ultra_honk', version: '5.0.0' });
  check(r.status === 200 && r.headers['x-prover-version'] === '5.0.0', 'the bundle proves in the sandbox', r.body);
  if (r.status === 200) {
    const out = `${root}/bout`;
    mkdirSync(out);
    writeFileSync(`${out}/proof`, Buffer.from(r.body.proof, 'base64').subarray(4));
    writeFileSync(`${out}/vk`, Buffer.from(r.body.vk || '', 'base64'));
    writeFileSync(`${out}/public_inputs`, Buffer.from(r.body.publicInputs || '', 'base64'));
    const v = spawnSync(BB, ['verify', '-p', `${out}/proof`, '-k', `${out}/vk`, '-i', `${out}/public_inputs`,
      '-c', crs], { encoding: 'utf8' });
    check(v.status === 0, 'bb verify accepts the bundle\'s proof', v.stderr + v.stdout);
  }
} finally {
  await bsrv.stop();
}
cleanup(root);
process.exit(summary());
