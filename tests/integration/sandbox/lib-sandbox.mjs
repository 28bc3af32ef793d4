// Helpers of the sandbox tests: the hostile prover installed as versions,
// its report, the processes of a prover binary, the BN254 field modulus.
import { readdirSync, readFileSync, existsSync, mkdirSync, copyFileSync, chmodSync, writeFileSync } from 'node:fs';
import { TEEREXD, BUILD } from '../teerexd/lib.mjs';

export const HOSTILE = `${BUILD}/tests/hostile-bb/bb`;

// Exits 77 (skip) unless teerexd and the hostile prover are built and we are root.
export function needSandbox() {
  const skip = (why) => { console.log(`skip: ${why}`); process.exit(77); };
  if (!existsSync(TEEREXD)) skip('teerexd not built');
  if (!existsSync(HOSTILE)) skip(`${HOSTILE} not built`);
  if (process.getuid() !== 0) skip('needs root (namespaces, another uid)');
}

// root/versions/<name>/bb = the hostile prover (a bundle: nothing else in
// there), root/hints/<name>.mode = its mode; hostile.conf goes in root/hints
// too. teerexd needs PROVER_SANDBOX_RO_PATHS=root/hints.
export function installHostile(root, modes) {
  mkdirSync(`${root}/hints`, { recursive: true });
  for (const [v, mode] of Object.entries(modes)) {
    mkdirSync(`${root}/versions/${v}`, { recursive: true });
    copyFileSync(HOSTILE, `${root}/versions/${v}/bb`);
    chmodSync(`${root}/versions/${v}/bb`, 0o755);
    writeFileSync(`${root}/hints/${v}.mode`, mode);
  }
  return `${root}/hints`;
}

export const MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

// The report hostile_bb.c puts in its proof (after the 4-byte field count):
// bytes 1..31 of each 32-byte field, lines "<attempt> DENIED|ALLOWED <detail>".
export function decodeReport(proofB64) {
  const p = Buffer.from(proofB64, 'base64');
  const parts = [];
  for (let off = 4; off + 32 <= p.length; off += 32) parts.push(p.subarray(off + 1, off + 32));
  const text = Buffer.concat(parts).toString('latin1').replace(/\0+$/, '');
  const out = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(' ');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

// Host pids of the processes running the program at path (argv[0]).
export function proverPids(path) {
  const pids = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv0 = readFileSync(`/proc/${d}/cmdline`, 'latin1').split('\0')[0];
      if (argv0 === path) pids.push(Number(d));
    } catch { /* gone meanwhile */ }
  }
  return pids;
}
