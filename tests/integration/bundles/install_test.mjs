// Prover bundles in teerexd with fake provers (cheap; runs under valgrind too):
// the loader invocation of a bundle with lib/, attested digests, the admin
// upload's hygiene (a missing BB_VERSIONS_DIR answers with the path and
// errno; an oversized chunked upload or a digest mismatch leaves nothing
// behind; a replaced version is swapped atomically), the pinned policy
// (uploads and installed bundles outside the allow-list refused, user_data
// says "pinned", a pinned server without a list does not start), and no
// proof from another version unless BB_VERSION_FALLBACK=1.
import {
  writeFileSync, readFileSync, readdirSync, mkdirSync, existsSync, chmodSync, copyFileSync, statSync,
} from 'node:fs';
import http from 'node:http';
import { prove, fetchAttestation } from '../../interop/sdk/sdk-client.mjs';
import {
  check, summary, startServer, tempDir, installFake, cleanup, bundleDigest, FAKE_BB, TEEREXD,
} from '../teerexd/lib.mjs';

if (!existsSync(TEEREXD)) { console.log('skip: teerexd not built'); process.exit(77); }

const root = tempDir('bundles');
const work = `${root}/work`;
mkdirSync(work);
const j = async (r) => ({ status: r.status, body: await r.json().catch(() => null) });
const upload = (url, version, body, headers = {}) =>
  fetch(`${url}/upload-bb`, { method: 'POST', headers: { 'x-bb-version': version, ...headers }, body }).then(j);
const ls = (d) => (existsSync(d) ? readdirSync(d).sort() : []);

// A bundle with lib/: the "loader" is a script that logs its argv and runs
// bb as the real loader would (argv: --inhibit-cache --library-path LIB BB ARGS).
function loaderBundle(dir) {
  mkdirSync(`${dir}/lib`, { recursive: true });
  copyFileSync(FAKE_BB, `${dir}/bb`);
  chmodSync(`${dir}/bb`, 0o755);
  writeFileSync(`${dir}/lib/ld-linux-x86-64.so.2`, [
    '#!/bin/sh',
    `printf '%s\\n' "$@" > ${root}/loader-argv.log`,
    '[ "$1" = --inhibit-cache ] && [ "$2" = --library-path ] || exit 97',
    'shift 3; exec "$@"', ''].join('\n'));
  chmodSync(`${dir}/lib/ld-linux-x86-64.so.2`, 0o755);
  writeFileSync(`${dir}/lib/libfake.so.1`, 'not really a library');
  return dir;
}

// Sends a chunked body (no Content-Length) of n bytes in 64 KiB pieces.
function chunkedUpload(port, version, n) {
  return new Promise((resolve) => {
    const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/upload-bb',
      headers: { 'x-bb-version': version, 'Transfer-Encoding': 'chunked' } }, (res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: b }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    let sent = 0;
    const piece = Buffer.alloc(65536, 0x61);
    const pump = () => {
      while (sent < n) {
        sent += piece.length;
        if (!req.write(piece)) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  });
}

const verDir = `${root}/versions`;
mkdirSync(verDir);
const fakeA = readFileSync(FAKE_BB);
const fakeB = Buffer.concat([fakeA, Buffer.from('\n# another build\n')]);
const oneFile = (buf) => { const d = tempDir('onefile'); writeFileSync(`${d}/bb`, buf); chmodSync(`${d}/bb`, 0o755); return d; };
const dirA = oneFile(fakeA), dirB = oneFile(fakeB);
const digA = bundleDigest(dirA), digB = bundleDigest(dirB);

// ---- 1. open policy: loader bundles, uploads, hygiene ----
loaderBundle(`${verDir}/2.0.0`);
installFake(`${root}/default`);
// The fake loader is a shell script that logs its argv outside its bundle: the
// prover sandbox (a bundle sees only itself, read-only) would stop both.
let srv = await startServer({ BB_BINARY_PATH: `${root}/default/bb`, BB_VERSIONS_DIR: verDir,
  PROVE_WORK_DIR: work, ADMIN_LISTEN: 'tcp:127.0.0.1:0', RATE_LIMIT_MAX: '0', MAX_UPLOAD_BYTES: '1048576',
  PROVER_SANDBOX_DISABLE: 'all' });
try {
  const d2 = bundleDigest(`${verDir}/2.0.0`);
  let r = await prove(srv.url, Buffer.from('in'), { version: '2.0.0' });
  check(r.status === 200 && r.headers['x-prover-version'] === '2.0.0', 'a bundle with lib/ proves', r.body);
  const largv = existsSync(`${root}/loader-argv.log`) ? readFileSync(`${root}/loader-argv.log`, 'utf8').split('\n') : [];
  check(largv[0] === '--inhibit-cache' && largv[1] === '--library-path' && largv[2] === `${verDir}/2.0.0/lib` &&
    largv[3] === `${verDir}/2.0.0/bb` && largv[4] === 'prove', 'run through its own loader with its lib/', largv);
  const av = await fetch(`${srv.adminUrl}/admin/versions`).then((x) => x.json());
  check(av.versions.some((v) => v.version === '2.0.0' && v.sha256 === d2), 'the digest covers bb, loader and libraries', av);
  check(av.policy === 'open' && av.default.version === 'default', 'open policy, default listed', av);

  // no silent fallback
  r = await prove(srv.url, Buffer.from('in'), { version: '9.9.9' });
  check(r.status === 400 && /Unsupported x-aztec-version 9\.9\.9; available versions: \[2\.0\.0, default\]/.test(r.body.error),
    'a missing version is an error naming the available ones', r.body);

  // upload with an announced digest
  r = await upload(srv.adminUrl, '1.0.0', fakeA, { 'x-bb-digest': digA });
  check(r.status === 200 && r.body.sha256 === digA, 'upload with a matching x-bb-digest', r.body);
  r = await upload(srv.adminUrl, '1.0.1', fakeA, { 'x-bb-digest': digB });
  check(r.status === 400 && /not the announced/.test(r.body.detail || ''), 'digest mismatch -> 400 with the reason', r.body);
  check(!existsSync(`${verDir}/1.0.1`), 'nothing installed after a digest mismatch');
  // replace a version: swapped in one rename, old files gone
  r = await upload(srv.adminUrl, '1.0.0', fakeB);
  check(r.status === 200 && r.body.sha256 === digB, 'a version replaced by a new upload', r.body);
  check(JSON.stringify(ls(`${verDir}/1.0.0`)) === '["bb"]' && readFileSync(`${verDir}/1.0.0/bb`).equals(fakeB),
    'the new bundle in place, nothing else');
  // bundle archives (the fuzz corpus' seeds): a good one installs, a hostile one installs nothing
  const seed = (n) => readFileSync(`${process.env.TR_SOURCE_DIR}/tests/fuzz/corpus/bundle_tar/${n}`);
  const tarHdr = { 'Content-Type': 'application/x-tar' };
  r = await upload(srv.adminUrl, '4.0.0', seed('ok'), tarHdr);
  check(r.status === 200 && existsSync(`${verDir}/4.0.0/lib/libc.so.6`) && r.body.sha256 === bundleDigest(`${verDir}/4.0.0`),
    'a bundle archive is unpacked and its digest reported', r.body);
  check((statSync(`${verDir}/4.0.0/lib/ld-linux-x86-64.so.2`).mode & 0o777) === 0o755 &&
    (statSync(`${verDir}/4.0.0/lib/libc.so.6`).mode & 0o777) === 0o644, 'modes 0755/0644 from the archive');
  for (const bad of ['symlink', 'hardlink', 'traversal', 'absolute', 'dup', 'no_bb', 'device', 'truncated']) {
    r = await upload(srv.adminUrl, '4.0.1', seed(bad), tarHdr);
    check(r.status === 400 && /bundle archive refused/.test(r.body.detail || ''), `archive "${bad}" -> 400 with the reason`, r.body);
  }
  check(!existsSync(`${verDir}/4.0.1`) && !existsSync(`${root}/bb`) && ls(verDir).every((n) => !n.startsWith('.')),
    'hostile archives: nothing installed, nothing outside, no staging left', ls(verDir));
  // oversized chunked upload: 413, no version directory, no staging left
  const big = await chunkedUpload(srv.ports.admin[0], '3.0.0', 4 << 20);
  check(big.status === 413, 'oversized chunked upload -> 413', big);
  check(!existsSync(`${verDir}/3.0.0`), 'no empty version directory left by the oversized upload');
  check(ls(verDir).every((n) => !n.startsWith('.')), 'no staging directory left', ls(verDir));
  check((await fetch(`${srv.url}/health`)).status === 200, 'still serving');
} finally {
  const ex = await srv.stop();
  check(ex && ex.code === 0, 'exit 0', ex);
}

// ---- 2. BB_VERSIONS_DIR missing: the upload says why ----
const gone = `${root}/does-not-exist`;
srv = await startServer({ BB_BINARY_PATH: `${root}/default/bb`, BB_VERSIONS_DIR: gone, ADMIN_LISTEN: 'tcp:127.0.0.1:0' });
try {
  const r = await upload(srv.adminUrl, '1.0.0', fakeA);
  check(r.status === 500 && r.body.detail.includes(gone) && /No such file or directory/.test(r.body.detail),
    'missing BB_VERSIONS_DIR: the path and errno in the answer', r.body);
  check(!existsSync(gone), 'nothing created');
} finally {
  await srv.stop();
}

// ---- 3. pinned policy ----
const pinDir = `${root}/pinned`;
mkdirSync(pinDir);
writeFileSync(`${pinDir}/../allowed`, `# test allow-list\n1.0.0 ${digA}\n2.0.0 ${digB}\n`);
installFake(`${pinDir}/2.0.0`); // installed, but its digest is not 2.0.0's on the list
const emu = `${root}/emu`;
srv = await startServer({ TEE_MODE: 'nitro-emulated', NSM_EMU_DIR: emu, BB_POLICY: 'pinned',
  BB_ALLOWED_FILE: `${root}/allowed`, BB_VERSIONS_DIR: pinDir, PROVE_WORK_DIR: work,
  ADMIN_LISTEN: 'tcp:127.0.0.1:0', RATE_LIMIT_MAX: '0' });
try {
  let r = await upload(srv.adminUrl, '1.0.0', fakeB);
  check(r.status === 403 && /not on this enclave's pinned list/.test(r.body.detail || ''),
    "pinned: a bundle outside the list is refused (another version's digest)", r.body);
  r = await upload(srv.adminUrl, '7.0.0', fakeA);
  check(r.status === 403, 'pinned: a version not on the list is refused before its body', r.body);
  check(!existsSync(`${pinDir}/1.0.0`) && !existsSync(`${pinDir}/7.0.0`) && ls(pinDir).length === 1,
    'pinned: nothing installed by refused uploads', ls(pinDir));
  r = await prove(srv.url, Buffer.from('in'), { version: '2.0.0' });
  check(r.status === 400, 'pinned: an installed bundle outside the list never runs', r.body);
  r = await upload(srv.adminUrl, '1.0.0', fakeA);
  check(r.status === 200 && r.body.sha256 === digA, 'pinned: the listed bundle is accepted', r.body);
  r = await prove(srv.url, Buffer.from('in'), { version: '1.0.0' });
  check(r.status === 200 && r.headers['x-prover-version'] === '1.0.0', 'pinned: and proves', r.body);
  const att = await fetchAttestation(srv.url);
  const doc = att.attestationDocument ? Buffer.from(att.attestationDocument, 'base64') : Buffer.alloc(0);
  const ud = doc.toString('latin1');
  check(ud.includes(`{"versions":[{"version":"1.0.0","sha256":"${digA}"}],"default":null,"policy":"pinned"}`),
    'user_data: the allowed bundle, no default, policy pinned');
} finally {
  const ex = await srv.stop();
  check(ex && ex.code === 0, 'pinned server exit 0', ex);
}
const bad = await startServer({ BB_POLICY: 'pinned', BB_VERSIONS_DIR: pinDir }, { expectExit: true });
check(bad.exited && bad.exited.code === 2 && /BB_ALLOWED_FILE/.test(bad.stderr), 'pinned without a list: exit 2', bad.exited);

cleanup(root);
cleanup(dirA);
cleanup(dirB);
process.exit(summary());
