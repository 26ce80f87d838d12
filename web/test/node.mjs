// The wasm verifier outside a browser (Node.js), and its guard on the
// table of small scalars, which the shipped module's data section leaves out:
//
//   node web/test/node.mjs HONEST.zkinf TAMPERED.zkinf SHARD
//
// 1. the honest bundle verifies and the tampered one names SHARD;
// 2. the shipped module has a start function (it writes the table when the
//    module is instantiated, scripts/wasm-strip-fr-table.py); the same
//    module without its start section (the table stays zero) refuses to
//    verify rather than compute with a wrong table;
// 3. how long the module's check of the whole table takes (once per
//    instance, before the first verification).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [honest, tampered, shard] = process.argv.slice(2);
if (!shard) {
  console.error('usage: node.mjs HONEST.zkinf TAMPERED.zkinf SHARD');
  process.exit(2);
}
const wasmPath = fileURLToPath(new URL('../pkg/zkinf_web_bg.wasm', import.meta.url));
const glue = new URL('../pkg/zkinf_web.js', import.meta.url).href;
let failures = 0;
const check = (ok, what) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failures++; };

// a fresh instance of the module (the glue keeps one per import)
async function load(bytes, tag) {
  const m = await import(`${glue}?${tag}`);
  m.initSync({ module: bytes });
  return m;
}

const wasm = readFileSync(wasmPath);
const v = await load(wasm, 'shipped');
let r = JSON.parse(v.verify_chain(readFileSync(honest)));
check(r.verified && r.shards.every((s) => s.status === 'verified'), `node: honest bundle verified (${r.shards.length} shards, ${r.verify_ms.toFixed(1)} ms)`);
r = JSON.parse(v.verify_chain(readFileSync(tampered)));
check(!r.verified && r.shards[Number(shard)].status === 'rejected', `node: tampered bundle rejects shard ${shard}: ${r.error}`);

// the module's top-level sections: [{ id, from, to }] (byte ranges)
function sections(bytes) {
  const out = [];
  let at = 8;
  while (at < bytes.length) {
    const from = at;
    const id = bytes[at++];
    let size = 0;
    for (let shift = 0, b = 0x80; b & 0x80; shift += 7) {
      b = bytes[at++];
      size += (b & 0x7f) * 2 ** shift;
    }
    at += size;
    out.push({ id, from, to: at });
  }
  return out;
}
const START = 8;
const secs = sections(wasm);
check(secs.filter((s) => s.id === START).length === 1 && !wasm.includes(Buffer.from('ZKINF_FR')),
  'the shipped module has a start function (the table was stripped from its data and is written at instantiation)');
const noFill = Buffer.concat([wasm.subarray(0, 8), ...secs.filter((s) => s.id !== START).map((s) => wasm.subarray(s.from, s.to))]);
const b = await load(noFill, 'unfilled');
let msg = '';
try { b.verify_chain(readFileSync(honest)); } catch (e) { msg = String(e.message || e); }
check(/field table is wrong/.test(msg), `the module without its start function (table left zero) refuses to verify: ${msg}`);

// the table check runs once per instance, at the first call: time the first
// call (bytes that are no bundle, so nothing else runs) against the second
const t = await load(wasm, 'timing');
const junk = new Uint8Array(16);
const time = () => {
  const t0 = performance.now();
  try { t.verify_chain(junk); } catch { /* not a bundle */ }
  return performance.now() - t0;
};
const first = time();
const again = Math.min(time(), time(), time());
console.log(`the table check (all 65,536 entries, once per instance): ${(first - again).toFixed(1)} ms (first call ${first.toFixed(1)} ms, later calls ${again.toFixed(2)} ms)`);
console.log(failures ? `node test: ${failures} check(s) failed` : 'node test: all checks passed');
process.exit(failures ? 1 : 0);
