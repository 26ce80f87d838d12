// The wasm verifier outside a browser (Node.js), and its guard on the
// table of small scalars that the shipped module leaves out:
//
//   node web/test/node.mjs HONEST.zkinf TAMPERED.zkinf SHARD
//
// 1. the honest bundle verifies and the tampered one names SHARD;
// 2. a module whose table address marker is reset (so the table stays
//    zero) refuses to verify rather than compute with a wrong table.
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

const marker = Buffer.from('ZKINF_FR_AT:');
const at = wasm.indexOf(marker);
check(at >= 0, 'the shipped module carries the table address (the table was stripped)');
if (at >= 0) {
  const broken = Buffer.from(wasm);
  Buffer.from('ZKINF_FR_TABLE?\0').copy(broken, at);
  const b = await load(broken, 'unfilled');
  let msg = '';
  try { b.verify_chain(readFileSync(honest)); } catch (e) { msg = String(e.message || e); }
  check(/field table is wrong/.test(msg), `a module that does not fill the table refuses to verify: ${msg}`);
}
console.log(failures ? `node test: ${failures} check(s) failed` : 'node test: all checks passed');
process.exit(failures ? 1 : 0);
