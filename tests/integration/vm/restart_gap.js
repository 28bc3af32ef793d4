// From teerex-init's log (the VM console): milliseconds between the Nth
// `child_exited` of teerexd and the `child_started` that follows it.
//   node restart_gap.js CONSOLE_LOG N
'use strict';
const fs = require('fs');
const [file, n] = [process.argv[2], Number(process.argv[3])];
const ev = [];
for (const line of fs.readFileSync(file, 'latin1').split('\n')) {
  const i = line.indexOf('{"ts"');
  if (i < 0) continue;
  try {
    const o = JSON.parse(line.slice(i));
    if (o.component === 'teerex-init' && o.child === 'teerexd') ev.push(o);
  } catch (e) { /* a line cut by the console: not ours to judge */ }
}
let seen = 0;
for (let k = 0; k < ev.length; k++) {
  if (ev[k].event !== 'child_exited' || ++seen !== n) continue;
  const next = ev.slice(k + 1).find((e) => e.event === 'child_started');
  if (next) { console.log(Date.parse(next.ts) - Date.parse(ev[k].ts)); process.exit(0); }
}
console.log(999999);
