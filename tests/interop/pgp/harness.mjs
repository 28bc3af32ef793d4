// Shared prologue of the pgp interop scripts: load openpgp.js (skip, exit 77,
// when it is not installed), take the pgp_tool path from argv, make a work
// directory, count checks and print the closing "N passed, N failed".
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export async function setup(name) {
  let openpgp;
  try {
    openpgp = await import('openpgp');
  } catch (e) {
    console.log(`SKIP: openpgp.js not installed under tests/interop/node_modules (${e.message})`);
    process.exit(77);
  }
  const tool = process.argv[2];
  if (!tool || !fs.existsSync(tool)) {
    console.error(`usage: node ${name}.mjs PATH/TO/pgp_tool`);
    process.exit(2);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pgp-${name}-`));
  const counts = { passed: 0, failed: 0 };
  const check = (ok, what) => {
    if (ok) counts.passed++;
    else {
      counts.failed++;
      console.error(`FAIL ${what}`);
    }
  };
  const run = (args) => {
    const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
    return { code: r.status, out: (r.stdout || '').trim(), err: (r.stderr || '').trim() };
  };
  const finish = () => {
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(`${counts.passed} passed, ${counts.failed} failed`);
    process.exit(counts.failed ? 1 : 0);
  };
  return { openpgp, tool, dir, counts, check, run, finish };
}
