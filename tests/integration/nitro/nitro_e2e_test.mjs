// teerexd in emulated nitro mode, end to end: the SDK-like node client
// fetches /attestation?nonce=, verifies the document with the independent
// verifier (cbor-x + @peculiar/x509 + WebCrypto) against the emulator's
// root, checks nonce, public key and user_data (the bb version list), then
// encrypts to the attested key and proves (fake bb). `teerex attest verify`
// checks the same server. Also: the cache of nonce-less documents, bad
// nonces, the AWS root refusing emulated documents, and TEE_MODE=nitro
// failing loudly without /dev/nsm.
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { check, summary, startServer, tempDir, installFake, cleanup, bundleDigest, BUILD } from '../teerexd/lib.mjs';
import { verifyDocument } from '../../interop/attest/verify.mjs';
import { encryptFor } from '../../interop/sdk/sdk-client.mjs';

const TEEREX = `${BUILD}/src/teerex/teerex`;
if (!existsSync(`${BUILD}/src/teerexd/teerexd`)) { console.log('skip: teerexd not built'); process.exit(77); }

const dir = tempDir('nitro');
const emuDir = `${dir}/emu`;
const verDir = `${dir}/versions`;
const pcr1 = createHash('sha384').update('pretend kernel').digest('hex');
let srv;
try {
  const fake = installFake(`${verDir}/1.2.3`);
  // the attested digest of a one-file bundle (docs/PROTOCOL-EXT.md)
  const bbSha = bundleDigest(`${verDir}/1.2.3`);
  check(bbSha === bundleDigest(fake), 'a bare bb and a directory holding only it have one digest');
  writeFileSync(`${dir}/eif-kernel`, 'pretend kernel');
  const env = {
    TEE_MODE: 'nitro-emulated', NSM_EMU_DIR: emuDir, NSM_EMU_PCR1_FILE: `${dir}/eif-kernel`,
    BB_VERSIONS_DIR: verDir, BB_BINARY_PATH: fake, PROVE_WORK_DIR: dir, ATTESTATION_CACHE_MS: '60000',
    // The fake records its input next to itself (read below), which the
    // prover sandbox forbids; tests/integration/sandbox covers the sandbox.
    PROVER_SANDBOX_DISABLE: 'all',
  };
  srv = await startServer(env);
  const rootPem = readFileSync(`${emuDir}/root.pem`);
  check(srv.logs.some((l) => l.event === 'nsm_emulated'), 'the emulator announces itself');
  const ent = srv.logs.findIndex((l) => l.event === 'nsm_entropy' && l.bytes > 0);
  const ready = srv.logs.findIndex((l) => l.event === 'ready');
  check(ent >= 0 && ent < ready, 'NSM entropy fed to the RNG before start-up completes');

  // 1. fresh document with a nonce, verified independently
  const nonce = randomBytes(32);
  const r = await fetch(`${srv.url}/attestation?nonce=${nonce.toString('hex')}`);
  check(r.status === 200, 'GET /attestation?nonce= -> 200');
  const att = await r.json();
  check(att.mode === 'nitro', 'mode nitro', att.mode);
  const docBytes = Buffer.from(att.attestationDocument, 'base64');
  let doc = null;
  try {
    doc = await verifyDocument(docBytes, { rootPem, nonce, requireKey: true, pcrs: { 1: pcr1 } });
  } catch (e) { check(false, 'independent verification', e.message); }
  check(doc !== null, 'the node verifier accepts the emulated document');
  if (doc) {
    check(doc.publicKey.toString('utf8') === att.publicKey, 'public_key = the served armored key');
    check(doc.nonce.equals(nonce), 'nonce echoed');
    const ud = JSON.parse(doc.userData.toString('utf8'));
    // BB_BINARY_PATH is the default, listed as "default"; the policy is open (not TEE_MODE=nitro)
    check(JSON.stringify(ud) === JSON.stringify({
      versions: [{ version: '1.2.3', sha256: bbSha }, { version: 'default', sha256: bbSha }],
      default: 'default', policy: 'open',
    }), 'user_data lists the bb bundles, the default and the policy', ud);
    check(doc.cabundle === 4, 'cabundle of 4');
    check(Object.keys(doc.pcrs).length === 16, '16 PCRs like AWS');
  }
  // the AWS root refuses it; another nonce is refused
  const awsPem = existsSync(`${process.env.TEEREX_SHARED}/nitro-docs/aws-nitro-root-g1.pem`)
    ? readFileSync(`${process.env.TEEREX_SHARED}/nitro-docs/aws-nitro-root-g1.pem`) : null;
  if (awsPem) {
    const e = await verifyDocument(docBytes, { rootPem: awsPem }).then(() => null, (x) => x.code);
    check(e === 'CHAIN_FAILED', 'AWS root refuses the emulated document', e);
  }
  const e2 = await verifyDocument(docBytes, { rootPem, nonce: randomBytes(32) }).then(() => null, (x) => x.code);
  check(e2 === 'NONCE_MISMATCH', 'another nonce is refused', e2);

  // 2. the C CLI on the same server
  const cli = (...a) => spawnSync(TEEREX, ['attest', 'verify', srv.url, ...a], { encoding: 'utf8' });
  let c = cli('--root', `${emuDir}/root.pem`, '--nonce', randomBytes(16).toString('hex'),
    '--expect-bb', `1.2.3=${bbSha}`, '--pcr', `1=${pcr1}`, '--require-key', '--json');
  check(c.status === 0, 'teerex attest verify URL with every check', c.stdout + c.stderr);
  c = cli('--json');
  check(c.status === 12, 'without --root: CHAIN_FAILED (12)', c.status);
  c = cli('--root', `${emuDir}/root.pem`, '--pcr', `1=${'00'.repeat(48)}`);
  check(c.status === 15, 'wrong PCR1: PCR_MISMATCH (15)', c.status);
  c = cli('--root', `${emuDir}/root.pem`, '--expect-bb', `1.2.3=${'ab'.repeat(32)}`);
  check(c.status === 18, 'wrong bb digest: BB_VERSION_MISMATCH (18)', c.status);

  // 3. cache: nonce-less documents are reused, nonces always fresh
  const d1 = (await (await fetch(`${srv.url}/attestation`)).json()).attestationDocument;
  const d2 = (await (await fetch(`${srv.url}/attestation`)).json()).attestationDocument;
  check(d1 === d2, 'nonce-less documents come from the cache');
  const n1 = (await (await fetch(`${srv.url}/attestation?nonce=01`)).json()).attestationDocument;
  const n2 = (await (await fetch(`${srv.url}/attestation?nonce=01`)).json()).attestationDocument;
  check(n1 !== n2 && n1 !== d1, 'documents with a nonce are fresh');
  // 4. bad nonces
  check((await fetch(`${srv.url}/attestation?nonce=zz`)).status === 400, 'non-hex nonce -> 400');
  check((await fetch(`${srv.url}/attestation?nonce=${'00'.repeat(513)}`)).status === 400,
    '513-byte nonce -> 400');

  // 5. prove to the attested key (fake bb)
  if (doc) {
    const enc = await encryptFor(doc.publicKey.toString('utf8'), Buffer.from('attested input'));
    const pr = await fetch(`${srv.url}/prove`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'x-aztec-version': '1.2.3' },
      body: JSON.stringify({ data: enc.toString('base64') }),
    });
    const body = await pr.json();
    check(pr.status === 200 && typeof body.proof === 'string', 'prove to the attested key', body);
    const inputs = readFileSync(`${verDir}/1.2.3/inputs.log`, 'utf8').trim();
    check(inputs === createHash('sha256').update('attested input').digest('hex'),
      'bb saw the decrypted input');
  }
  check((await srv.stop()).code === 0, 'clean shutdown');
  srv = null;

  // 6. TEE_MODE=nitro without /dev/nsm fails loudly
  if (!existsSync('/dev/nsm')) {
    const n = await startServer({ ...env, TEE_MODE: 'nitro' }, { expectExit: true });
    check(n.exited && n.exited.code === 3, 'nitro without /dev/nsm exits 3', n.exited);
    check(n.logs.some((l) => l.event === 'nsm_device_missing'), 'and says why');
  }
} catch (e) {
  check(false, 'unexpected exception', e.stack);
} finally {
  if (srv) await srv.stop();
  cleanup(dir);
}
process.exit(summary());
