// The SDK-like client (openpgp.js 6, aeadProtect) against teerexd with fake
// bb scripts: exact argv, 4-byte header, version selection, opt-in fallback, strict default
// mode, ultra_honk container, timing headers, request ids, prover failures.
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { prove } from './sdk-client.mjs';
import {
  check, summary, startServer, tempDir, installFake, cleanup, container, fakeCrsAt,
} from '../../integration/teerexd/lib.mjs';

if (!process.env.TR_BUILD_DIR || !existsSync(`${process.env.TR_BUILD_DIR}/src/teerexd/teerexd`)) {
  console.log('skip: teerexd not built');
  process.exit(77);
}

const sha = (b) => createHash('sha256').update(b).digest('hex');
const lines = (f) => readFileSync(f, 'utf8').trim().split('\n');
const root = tempDir('sdk');
const defDir = `${root}/default`, verDir = `${root}/versions`, work = `${root}/work`;
installFake(defDir);
installFake(`${verDir}/1.2.3`);
installFake(`${verDir}/4.0.0-rc.1`);
import { mkdirSync } from 'node:fs';
mkdirSync(work);
fakeCrsAt(`${root}/crs`); // the start-up check wants one; the fake prover ignores it
const expectedProof = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('0'.repeat(96))]);

// The fake records what it got (argv, env, cwd, inputs) next to itself, which
// the prover sandbox forbids: this server runs without it. What bb gets in the
// sandbox is checked by tests/integration/sandbox.
const srv = await startServer({
  BB_BINARY_PATH: `${defDir}/bb`, BB_VERSIONS_DIR: verDir, PROVE_WORK_DIR: work,
  CRS_PATH: `${root}/crs`, HARDWARE_CONCURRENCY: '2', RATE_LIMIT_MAX: '0', PROVER_SANDBOX_DISABLE: 'all',
  BB_VERSION_FALLBACK: '1', // the opt-in fallback (section 5 checks the default: no fallback)
});
try {
  // 1. default scheme and binary
  const input = randomBytes(5000);
  const r = await prove(srv.url, input, { requestId: 'sdk-req-1' });
  check(r.status === 200, 'default prove 200', r);
  check(Buffer.from(r.body.proof || '', 'base64').equals(expectedProof), '4-byte header + proof');
  check(/^\d+$/.test(r.headers['x-decrypt-duration-ms'] || ''), 'x-decrypt-duration-ms integer');
  check(/^\d+$/.test(r.headers['x-prove-duration-ms'] || ''), 'x-prove-duration-ms integer');
  check(r.headers['x-prover-version'] === 'default', 'x-prover-version default', r.headers);
  check(r.headers['x-request-id'] === 'sdk-req-1', 'client request id echoed');
  check(r.body.vk === undefined, 'no vk for chonk');
  const argv = lines(`${defDir}/argv.log`);
  const dir = argv[4] ? argv[4].replace(/\/ivc-inputs\.msgpack$/, '') : '';
  check(dir.startsWith(`${work}/teerexd-`), 'private dir under PROVE_WORK_DIR', argv);
  check(JSON.stringify(argv) === JSON.stringify(['prove', '--scheme', 'chonk', '--ivc_inputs_path',
    `${dir}/ivc-inputs.msgpack`, '-o', `${dir}/output`]), 'exact chonk argv', argv);
  check(lines(`${defDir}/inputs.log`)[0] === sha(input), 'bb got the decrypted bytes');
  check(lines(`${defDir}/dirmode.log`)[0] === '700', 'work dir is 0700');
  check(lines(`${defDir}/cwd.log`)[0] === dir, 'bb runs in the work dir');
  const env = readFileSync(`${defDir}/env.log`, 'utf8');
  check(env.includes(`CRS_PATH=${root}/crs\n`), 'CRS_PATH passed through');
  check(env.includes('HARDWARE_CONCURRENCY=2\n'), 'HARDWARE_CONCURRENCY passed through');
  check(!env.includes('BB_VERSIONS_DIR') && !env.includes('LISTEN='), 'clean environment', env);
  check(readdirSync(work).length === 0, 'work dir removed');

  // 2. version selection, fallback
  const r2 = await prove(srv.url, input, { version: '1.2.3' });
  check(r2.status === 200 && r2.headers['x-prover-version'] === '1.2.3', 'version 1.2.3 chosen', r2.headers);
  check(existsSync(`${verDir}/1.2.3/argv.log`) && !existsSync(`${verDir}/4.0.0-rc.1/argv.log`),
    'the 1.2.3 binary ran');
  const r3 = await prove(srv.url, input, { version: '9.9.9' });
  check(r3.status === 200 && /^default \(requested 9\.9\.9/.test(r3.headers['x-prover-version']),
    'unknown version falls back to default', r3.headers);
  check(srv.logs.some((l) => l.event === 'version_fallback' && l.requested === '9.9.9'), 'fallback logged');
  for (const bad of ['../x', '..', 'a/b', 'x'.repeat(65), 'v 1']) {
    const rb = await prove(srv.url, input, { version: bad });
    check(rb.status === 400 && rb.body.error === 'Invalid x-aztec-version', `bad version ${bad} -> 400`, rb);
  }

  // 3. ultra_honk container
  const program = Buffer.from('{"noir_version":"fake"}'), witness = randomBytes(300);
  const r4 = await prove(srv.url, container([['program.json', program], ['witness.gz', witness]]),
    { scheme: 'ultra_honk' });
  check(r4.status === 200, 'ultra_honk 200', r4);
  const a4 = lines(`${defDir}/argv.log`);
  const d4 = (a4[4] || '').replace(/\/program\.json$/, '');
  check(JSON.stringify(a4) === JSON.stringify(['prove', '--scheme', 'ultra_honk', '-b', `${d4}/program.json`,
    '-w', `${d4}/witness.gz`, '-o', `${d4}/output`, '--write_vk', '-c', `${root}/crs`]), 'exact ultra_honk argv', a4);
  check(JSON.stringify(lines(`${defDir}/inputs.log`)) === JSON.stringify([sha(program), sha(witness)]),
    'container entries written');
  check(Buffer.from(r4.body.vk || '', 'base64').toString() === 'fake-vk', 'vk returned');
  check(Buffer.from(r4.body.publicInputs || '', 'base64').toString() === '1'.repeat(32), 'publicInputs returned');
  const r5 = await prove(srv.url, container([['program.json', program]]), { scheme: 'ultra_honk' });
  check(r5.status === 400 && r5.body.error === 'Invalid prover input', 'container missing witness -> 400', r5);
  const r6 = await prove(srv.url, input, { scheme: 'groth16' });
  check(r6.status === 400, 'unknown scheme -> 400', r6);

  // 4. prover failures are 500s, never a bogus proof
  for (const mode of ['fail', 'builder', 'noproof', 'badproof']) {
    writeFileSync(`${defDir}/mode`, mode);
    const rf = await prove(srv.url, input);
    check(rf.status === 500 && rf.body.error === 'Proof generation failed', `bb ${mode} -> 500`, rf);
  }
  writeFileSync(`${defDir}/mode`, 'ok');
  check(readdirSync(work).length === 0, 'work dirs removed after failures');
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  check(/teerexd_prover_failures_total 4/.test(metrics), 'prover failures counted', metrics);
  check(/teerexd_requests_total\{route="\/prove",status="200"\} 4/.test(metrics), 'prove 200s counted');
} finally {
  const ex = await srv.stop();
  check(ex && ex.code === 0, 'clean exit on SIGTERM', ex);
}

// 5. the default: a version that is not there is an error, never another version's proof
// (fresh bundles: the fake bb writes its logs beside itself, and a bundle
// directory holding anything but bb and lib/ is not a bundle)
const verDir2 = `${root}/versions2`;
installFake(`${verDir2}/1.2.3`);
installFake(`${verDir2}/4.0.0-rc.1`);
const strict = await startServer({
  BB_BINARY_PATH: `${defDir}/bb`, BB_VERSIONS_DIR: verDir2, RATE_LIMIT_MAX: '0',
});
try {
  const r = await prove(strict.url, Buffer.from('x'), { version: '9.9.9' });
  check(r.status === 400 && /9\.9\.9/.test(r.body.error) && /1\.2\.3, 4\.0\.0-rc\.1, default/.test(r.body.error),
    'strict: unknown version -> 400 naming the available ones', r.body);
  const ok = await prove(strict.url, Buffer.from('x'), { version: '4.0.0-rc.1' });
  check(ok.status === 200, 'strict: known version ok');
} finally {
  const ex = await strict.stop();
  check(ex && ex.code === 0, 'strict server exit 0', ex);
}
cleanup(root);
process.exit(summary());
