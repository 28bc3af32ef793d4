// A small real Noir circuit for the bundle tests: `x * x == y` with y public,
// compiled with noir_wasm and executed with noir_js 1.0.0-beta.26 from
// demo/node_modules (the versions bb 5.0.0 reads), written as program.json +
// witness.gz, plus program-bb4.json for bb 4.x.
//
// Why program-bb4.json: no Noir compiler on the npm registry here emits a
// program bb 4.1.2 reads. noir_wasm 1.0.0-beta.9, .14 and .15 serialize the
// ACIR with bincode (bb 4.x: "expected msgpack format marker (2 or 3), got
// 1"); beta.26 uses msgpack-compact, but its Circuit has 6 fields where bb
// 4.1.2 expects 7: `current_witness_index` (the highest witness index) after
// `function_name` was dropped from Noir in between. Re-encoding beta.26's
// program with that field put back (its value from the executed witness) is
// all bb 4.1.2 needs: it proves and its own `bb verify` accepts the proof.
//
//   node circuit.mjs OUT_DIR [X]   (X defaults to 3: y = 9)
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const SRC = process.env.TR_SOURCE_DIR || resolve(new URL('../../..', import.meta.url).pathname);
const require = createRequire(`${SRC}/demo/package.json`);
const { compile_program, createFileManager } = require('@noir-lang/noir_wasm');
const { Noir } = require('@noir-lang/noir_js');
const { decompressWitnessStack } = require('@noir-lang/acvm_js');
const { Packr, Unpackr } = require('msgpackr');

const out = resolve(process.argv[2] || 'circuit');
const x = BigInt(process.argv[3] || '3');
mkdirSync(out, { recursive: true });
const proj = mkdtempSync(join(tmpdir(), 'teerex-sq-'));
try {
  mkdirSync(join(proj, 'src'));
  writeFileSync(join(proj, 'Nargo.toml'), '[package]\nname = "square"\ntype = "bin"\nauthors = [""]\n\n[dependencies]\n');
  writeFileSync(join(proj, 'src', 'main.nr'), 'fn main(x: Field, y: pub Field) { assert(x * x == y); }\n');
  const log = console.log;
  console.log = (...a) => process.stderr.write(a.join(' ') + '\n'); // noir_wasm talks on stdout
  let compiled;
  try {
    compiled = await compile_program(createFileManager(proj), undefined, () => {}, () => {});
  } finally {
    console.log = log;
  }
  const program = compiled.program;
  const { witness } = await new Noir(program).execute({ x: x.toString(), y: (x * x).toString() });
  writeFileSync(join(out, 'program.json'), JSON.stringify(program));
  writeFileSync(join(out, 'witness.gz'), witness);

  // program-bb4.json: each circuit gets current_witness_index back
  const stack = decompressWitnessStack(witness);
  const maxWitness = Math.max(...[...stack[0].witness.keys()].map(Number));
  const raw = gunzipSync(Buffer.from(program.bytecode, 'base64'));
  if (raw[0] !== 3) throw new Error(`unexpected ACIR format byte ${raw[0]} (msgpack-compact is 3)`);
  const prog = new Unpackr({ mapsAsObjects: true, useRecords: false }).unpack(raw.subarray(1));
  for (const circuit of prog[0]) {
    if (circuit.length !== 6) throw new Error(`a Circuit of ${circuit.length} fields (expected 6)`);
    circuit.splice(1, 0, maxWitness);
  }
  const packed = new Packr({ useRecords: false, variableMapSize: true }).pack(prog);
  const bb4 = { ...program, bytecode: gzipSync(Buffer.concat([Buffer.from([3]), packed])).toString('base64') };
  writeFileSync(join(out, 'program-bb4.json'), JSON.stringify(bb4));
  process.stdout.write(JSON.stringify({ out, noir_version: program.noir_version, y: (x * x).toString() }) + '\n');
} finally {
  rmSync(proj, { recursive: true, force: true });
}
