// Interop: the independent node verifier (cbor-x + @peculiar/x509 +
// WebCrypto) and `teerex attest verify` agree on the real AWS documents of
// $TEEREX_SHARED/nitro-docs (at their own time, and now), on negative/,
// and on mutated copies of each.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyDocument } from './verify.mjs';

const SHARED = process.env.TEEREX_SHARED || '/work/shared';
const DOCS = `${SHARED}/nitro-docs`;
const TEEREX = `${process.env.TR_BUILD_DIR}/src/teerex/teerex`;
if (!existsSync(`${DOCS}/README.md`)) { console.log(`skip: ${DOCS} absent`); process.exit(77); }
if (!existsSync(TEEREX)) { console.log(`skip: ${TEEREX} not built`); process.exit(77); }

let passed = 0, failed = 0;
const check = (c, what) => { if (c) passed++; else { failed++; console.error(`FAIL ${what}`); } };
const rootPem = readFileSync(`${DOCS}/aws-nitro-root-g1.pem`);
const CLASSES = ['INVALID_COSE', 'INVALID_DOCUMENT', 'CHAIN_FAILED', 'SIGNATURE_FAILED', 'EXPIRED',
  'PCR_MISMATCH', 'NONCE_MISMATCH', 'MISSING_KEY', 'BB_VERSION_MISMATCH', 'DEBUG_MODE'];

function cli(file, args) {
  const r = spawnSync(TEEREX, ['attest', 'verify', file, '--json', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout ? JSON.parse(r.stdout.trim().split('\n').pop()) : null };
}
async function node(bytes, opts) {
  try { return { ok: true, doc: await verifyDocument(bytes, { rootPem, requireAwsRoot: true, ...opts }) }; }
  catch (e) { return { ok: false, code: e.code ?? 'EXCEPTION:' + e.message }; }
}

const tmp = mkdtempSync(path.join(tmpdir(), 'attest-interop-'));
const files = readdirSync(DOCS).filter((f) => f.endsWith('.cose'));
check(files.length === 6, 'six real documents');
for (const f of files) {
  const bytes = readFileSync(`${DOCS}/${f}`);
  // Debug-mode documents (all-zero PCRs) are refused unless allowed (exit 19).
  const debug = /_debug/.test(f);
  if (debug) {
    const d = cli(`${DOCS}/${f}`, ['--at', 'doc']);
    check(d.code === 19 && d.out.class === 'DEBUG_MODE', `${f}: debug mode refused by default (exit ${d.code})`);
  }
  const c = cli(`${DOCS}/${f}`, ['--at', 'doc', ...(debug ? ['--allow-debug-mode'] : [])]);
  check(c.code === 0, `${f}: C verifies at doc time (exit ${c.code})`);
  const n = await node(bytes, { at: new Date(c.out.timestamp_ms), atDoc: true });
  check(n.ok, `${f}: node verifies at doc time (${n.code})`);
  if (n.ok) {
    check(n.doc.moduleId === c.out.module_id, `${f}: same module_id`);
    check(n.doc.timestamp === c.out.timestamp_ms, `${f}: same timestamp`);
    check(JSON.stringify(n.doc.pcrs) === JSON.stringify(c.out.pcrs), `${f}: same PCRs`);
    check((n.doc.nonce?.toString('hex') ?? null) === c.out.nonce, `${f}: same nonce`);
    check((n.doc.userData?.toString('hex') ?? null) === c.out.user_data, `${f}: same user_data`);
    check((n.doc.publicKey?.toString('hex') ?? null) === c.out.public_key, `${f}: same public_key`);
  }
  const cnow = cli(`${DOCS}/${f}`, []);
  const nnow = await node(bytes, {});
  check(cnow.code === 14 && cnow.out.class === 'EXPIRED', `${f}: C says EXPIRED now`);
  check(nnow.code === 'EXPIRED', `${f}: node says EXPIRED now (${nnow.code})`);
  // mutations both must reject with the same class: a payload byte, a signature byte
  const at = new Date(c.out.timestamp_ms);
  const plOff = bytes.indexOf(Buffer.from('module_id')) + 12;
  const sigOff = bytes.length - 10;
  for (const [what, off] of [['payload byte', plOff], ['signature byte', sigOff]]) {
    const m = Buffer.from(bytes);
    m[off] ^= 0x01;
    const mf = `${tmp}/${f}.${off}`;
    writeFileSync(mf, m);
    const cm = cli(mf, ['--at', 'doc']);
    const nm = await node(m, { at, atDoc: true });
    check(cm.code >= 10 && !nm.ok && CLASSES[cm.code - 10] === nm.code,
      `${f}: ${what} flipped: C ${cm.out?.class} / node ${nm.code}`);
  }
}
const neg = `${DOCS}/negative/blocky_selfsigned_not-aws.cose`;
const cn = cli(neg, ['--at', 'doc']);
const nn = await node(readFileSync(neg), { atDoc: true });
check(cn.code === 12, `negative: C CHAIN_FAILED (exit ${cn.code})`);
check(nn.code === 'CHAIN_FAILED', `negative: node CHAIN_FAILED (${nn.code})`);
rmSync(tmp, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
