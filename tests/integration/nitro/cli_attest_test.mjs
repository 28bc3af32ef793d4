// `teerex attest verify|show` on files: raw COSE, base64 text, a saved
// /attestation JSON answer, stdin; --at forms; usage errors; exit codes.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const TEEREX = `${process.env.TR_BUILD_DIR}/src/teerex/teerex`;
const DOCS = `${process.env.TEEREX_SHARED || '/work/shared'}/nitro-docs`;
if (!existsSync(TEEREX)) { console.log('skip: teerex not built'); process.exit(77); }
if (!existsSync(`${DOCS}/README.md`)) { console.log(`skip: ${DOCS} absent`); process.exit(77); }

let passed = 0, failed = 0;
const check = (c, what, extra) => {
  if (c) passed++; else { failed++; console.error(`FAIL ${what}${extra !== undefined ? ': ' + String(extra).slice(0, 300) : ''}`); }
};
const run = (args, input) => spawnSync(TEEREX, ['attest', ...args], { encoding: 'utf8', input });
const tmp = mkdtempSync(path.join(tmpdir(), 'cli-attest-'));
const docFile = `${DOCS}/2024-02-26_marlin_nitroprover_sample1.cose`;
const doc = readFileSync(docFile);
const ts = '2024-02-26T07:02:01.439Z';

let r = run(['verify', docFile, '--at', 'doc']);
check(r.status === 0 && /OK: every check passed/.test(r.stdout), 'raw file at doc', r.stderr);
check(/WARNING: NO PCR PINNED/.test(r.stderr), 'no --pcr: a loud warning', r.stderr);
const pcr0 = JSON.parse(run(['show', docFile, '--json']).stdout).pcrs['0'];
r = run(['verify', docFile, '--at', 'doc', '--pcr', `0=${pcr0}`]);
check(r.status === 0 && !/WARNING/.test(r.stderr), 'PCR0 pinned: no warning', r.stderr);
const debugDoc = `${DOCS}/2024-01-24_anjuna_attester_full_debug.cose`;
r = run(['verify', debugDoc, '--at', 'doc']);
check(r.status === 19 && /DEBUG_MODE/.test(r.stderr), 'debug-mode document refused (19)', r.stderr);
r = run(['verify', debugDoc, '--at', 'doc', '--allow-debug-mode']);
check(r.status === 0 && /WARNING: DEBUG-MODE ENCLAVE/.test(r.stderr), 'debug mode allowed: loud warning', r.stderr);
writeFileSync(`${tmp}/doc.b64`, doc.toString('base64').replace(/(.{76})/g, '$1\n') + '\n');
r = run(['verify', `${tmp}/doc.b64`, '--at', ts]);
check(r.status === 0, 'base64 file (wrapped) at RFC 3339 time', r.stderr);
writeFileSync(`${tmp}/att.json`, JSON.stringify({ mode: 'nitro', publicKey: 'k', attestationDocument: doc.toString('base64') }));
r = run(['verify', `${tmp}/att.json`, '--at', String(Math.floor(Date.parse(ts) / 1000))]);
check(r.status === 0, 'saved /attestation JSON at Unix seconds', r.stderr);
r = run(['verify', '-', '--at', 'doc', '--json'], doc);
check(r.status === 0 && JSON.parse(r.stdout).ok === true, 'stdin with --json', r.stderr);
r = run(['verify', docFile]);
check(r.status === 14 && /EXPIRED/.test(r.stderr), 'now: EXPIRED (14)', r.stderr);
r = run(['verify', docFile, '--at', 'doc', '--require-key', '--nonce', '00']);
check(r.status === 16, 'unexpected nonce expectation: NONCE_MISMATCH (16)', r.status);
r = run(['verify', `${DOCS}/2022-10-13_evervault_beta_valid.cose`, '--at', 'doc', '--require-key']);
check(r.status === 17, 'no public_key with --require-key: MISSING_KEY (17)', r.status);
r = run(['verify', docFile, '--at', 'doc', '--pcr', `4=${'00'.repeat(48)}`]);
check(r.status === 15, 'PCR4 mismatch (15)', r.status);
r = run(['verify', docFile, '--at', 'doc', '--expect-bb', `1.0.0=${'00'.repeat(32)}`]);
check(r.status === 18, 'no bb versions in a non-tee-rex document (18)', r.status);
r = run(['verify', `${DOCS}/negative/blocky_selfsigned_not-aws.cose`, '--at', 'doc']);
check(r.status === 12, 'negative: CHAIN_FAILED (12)', r.status);
writeFileSync(`${tmp}/trunc.cose`, doc.subarray(0, 100));
r = run(['verify', `${tmp}/trunc.cose`]);
check(r.status === 10, 'truncated: INVALID_COSE (10)', r.status);
r = run(['show', docFile, '--json']);
const shown = r.status === 0 ? JSON.parse(r.stdout) : {};
check(shown.verified === 'decoded-only' && shown.timestamp === ts, 'show --json decodes', r.stdout);
check(shown.pcrs && Object.keys(shown.pcrs).length === 16, 'show lists 16 PCRs');
r = run(['show', docFile]);
check(r.status === 0 && /PCR0 /.test(r.stdout) && /decoded \(not verified\)/.test(r.stdout), 'show (text)');
// usage
for (const args of [['verify'], ['verify', docFile, '--pcr', '40=00'], ['verify', docFile, '--at', 'soon'],
  ['verify', docFile, '--nonce', 'xyz'], ['verify', docFile, '--bogus'], ['frobnicate', docFile],
  ['verify', docFile, '--root', `${tmp}/missing.pem`], ['verify', docFile, '--expect-bb', 'v=12']]) {
  r = run(args);
  check(r.status === 2, `usage error: ${args.slice(2).join(' ') || args.join(' ')}`, r.status);
}
r = run(['--help']);
check(r.status === 0 && /18 BB_VERSION_MISMATCH/.test(r.stdout), '--help documents the exit codes');
r = run(['verify', `${tmp}/none.cose`]);
check(r.status === 1, 'unreadable file: 1', r.status);
r = run(['verify', 'http://127.0.0.1:1', '--at', 'doc']);
check(r.status === 3, 'unreachable server: NETWORK (3)', r.status);
rmSync(tmp, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
