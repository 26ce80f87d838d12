// The web verifier in a real browser: Debian's Chromium, driven by
// playwright-core (no browser download), against the page served by
// `zkinf serve-web` on 127.0.0.1.
//
//   node web/test/browser.mjs --zkinf BIN --honest H.zkinf --tampered T.zkinf \
//        --shard S [--audit A.zkinf --audit-record HASH --audit-randomness S]
//        [--out DIR] [--runs N]
//
// Checks: the honest chain bundle (from ?bundle=) verifies every shard, and
// without expected values the headline says it is NOT pinned, in amber, not
// in the green of a pinned verdict; pinned to the right model hash and keys
// digest (?model=&keys=, or entered and checked again) it is green; pinned
// to the model hash only it is partly pinned (amber); pinned to another
// model it is rejected (red). With the network off, the tampered bundle (picked in the file
// input) names shard S as rejected, the honest one verifies again, a file
// that is not a bundle is refused with its reason, and the audit bundle
// verifies its sample. Writes screenshots and the timings (browser and
// native, same run) to DIR.
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
for (const need of ['zkinf', 'honest', 'tampered', 'shard']) {
  if (!args[need]) {
    console.error(`usage: browser.mjs --zkinf BIN --honest H --tampered T --shard S [--audit A] [--out DIR] [--runs N]  (missing --${need})`);
    process.exit(2);
  }
}
const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(args.out || 'target/ci-artifacts');
const runs = Number(args.runs || 5);
const badShard = Number(args.shard);
mkdirSync(out, { recursive: true });

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

// serve-web on a free port; its first line names the URL
const server = spawn(resolve(args.zkinf), ['serve-web', args.honest, '--port', '0', '--web', webDir], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((res, rej) => {
  let buf = '';
  const timer = setTimeout(() => rej(new Error('serve-web printed no URL in 30 s')), 30000);
  server.stdout.on('data', (d) => {
    buf += d;
    const m = buf.match(/http:\/\/127\.0\.0\.1:\d+\/\?bundle=[^\s]+/);
    if (m) { clearTimeout(timer); res(m[0]); }
  });
  server.on('exit', (code) => rej(new Error(`serve-web exited with ${code}`)));
});
console.log(`serving: ${url}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

// the headline's states once a bundle is checked: verified and pinned,
// partly pinned, unpinned (the proofs verify in all three), rejected
const VERIFIED = ['pinned', 'partial', 'unpinned'];
const verified = (r) => VERIFIED.includes(r.state) && r.report?.verified === true;

// an "rgb(r, g, b)" colour's dominant hue: green, amber (red > green > blue) or red
function hue(colour) {
  const [r, g, b] = (colour.match(/\d+/g) || []).map(Number);
  if (g > r && g > b) return 'green';
  if (r > g && g > b && g > 0.3 * r) return 'amber';
  if (r > g && r > b) return 'red';
  return `other (${colour})`;
}

async function settled(page) {
  await page.waitForFunction((done) => done.includes(document.getElementById('status').dataset.state),
    [...VERIFIED, 'rejected'], { timeout: 120000 });
  return page.evaluate(() => ({
    state: document.getElementById('status').dataset.state,
    status: document.getElementById('status').innerText,
    colour: getComputedStyle(document.getElementById('status')).backgroundColor,
    trust: Object.fromEntries([...document.querySelectorAll('#trust dd')].map((d) => [d.id.replace('trust-', ''), d.dataset.value])),
    rows: [...document.querySelectorAll('#shards tr[data-shard]')].map((r) => ({ shard: Number(r.dataset.shard), status: r.dataset.status, text: r.innerText })),
    errors: [...document.querySelectorAll('#shards .err')].map((e) => e.innerText),
    report: window.zkinfReport,
  }));
}

async function pick(page, file) {
  await page.evaluate(() => { document.getElementById('status').dataset.state = 'working'; });
  await page.setInputFiles('#file', file);
  return settled(page);
}

const timings = {};
try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1250 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  // 1. the honest bundle from ?bundle=
  const t0 = Date.now();
  await page.goto(url);
  let r = await settled(page);
  console.log(`page loaded and verified in ${Date.now() - t0} ms: ${r.status.replace(/\n/g, ' | ')}`);
  const n = r.report?.shards?.length ?? 0;
  timings.first_ms = r.report?.verify_ms; // cold: compiling the module, filling its table
  check(verified(r) && r.state === 'unpinned' && /NOT pinned/.test(r.status),
    `honest bundle, no expected values: verified but NOT pinned (${r.status.split('\n')[0]})`);
  check(hue(r.colour) === 'amber', `unpinned: the headline is amber, not green (${r.colour})`);
  check(r.trust.model === 'unpinned' && r.trust.keys === 'unpinned' && r.trust.input === 'claimed' && r.trust.output === 'claimed',
    `unpinned: what it rests on is shown (${JSON.stringify(r.trust)})`);
  check(await page.locator('#pins').evaluate((d) => d.open), 'unpinned: the expected values are opened for entry');
  const unpinnedColour = r.colour;
  check(n >= 1 && r.rows.length === n && r.rows.every((x) => x.status === 'verified'), `honest bundle: all ${n} shards verified`);
  check(r.report?.output?.argmax !== null && /\d/.test(await page.locator('#digit').innerText()), `predicted digit shown: ${r.report?.output?.argmax}`);
  check(await page.locator('#picture').count() === 1, 'input drawn as a picture');
  const workers = page.workers().map((w) => w.url());
  check(await page.evaluate(() => document.body.dataset.verifier) === 'worker' && workers.some((u) => u.endsWith('/worker.js')),
    `the verifier runs in a worker, off the page's thread (${workers.join(', ') || 'no worker'})`);
  await page.screenshot({ path: `${out}/web-unpinned.png`, fullPage: true });

  // the model owner's published values entered on the page, checked again
  const { model_hash: hash, keys_digest: keys } = r.report;
  await page.fill('#pin-model', hash);
  await page.fill('#pin-keys', keys);
  await page.evaluate(() => { document.getElementById('status').dataset.state = 'working'; });
  await page.click('#recheck');
  r = await settled(page);
  check(r.state === 'pinned' && verified(r), `expected values entered, checked again: pinned (${r.status.split('\n')[0]})`);

  // ... and given in the URL
  await page.goto(`${url}&model=${hash}&keys=${keys}`);
  r = await settled(page);
  check(r.state === 'pinned' && verified(r) && /✓ verified \(pinned\)/.test(r.status),
    `pinned to the right model hash and keys digest: verified (pinned) (${r.status.split('\n')[0]})`);
  check(hue(r.colour) === 'green' && r.colour !== unpinnedColour, `pinned: the headline is green (${r.colour}; unpinned ${unpinnedColour})`);
  check(r.trust.model === 'pinned' && r.trust.keys === 'pinned', `pinned: model and keys shown pinned (${JSON.stringify(r.trust)})`);
  await page.screenshot({ path: `${out}/web-verified.png`, fullPage: true });
  await page.goto(`${url}&model=${hash}`);
  r = await settled(page);
  check(r.state === 'partial' && verified(r) && /keys digest is NOT pinned/.test(r.status) && hue(r.colour) === 'amber',
    `pinned to the model hash only: partly pinned, amber (${r.status.split('\n')[0]}; ${r.colour})`);
  const other = hash.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  await page.goto(`${url}&model=${other}&keys=${keys}`);
  r = await settled(page);
  check(r.state === 'rejected' && r.status.includes(`not of the expected model ${other}`), `pinned to another model: rejected (${r.status.split('\n').slice(-1)[0]})`);
  check(hue(r.colour) === 'red', `rejected: the headline is red (${r.colour})`);
  await page.goto(url);
  r = await settled(page);

  // 2. offline from here on: the page, the wasm and the checks need no network
  await context.setOffline(true);
  r = await pick(page, args.tampered);
  const named = r.rows.find((x) => x.shard === badShard);
  check(r.state === 'rejected' && r.status.includes(`shard ${badShard}`), `tampered bundle: status names shard ${badShard} (${r.status.replace(/\n/g, ' | ')})`);
  check(named?.status === 'rejected', `tampered bundle: shard ${badShard} row rejected (${r.errors.join('; ')})`);
  check(r.rows.filter((x) => x.shard !== badShard).every((x) => x.status === 'verified'), 'tampered bundle: the other shards still verify');
  await page.screenshot({ path: `${out}/web-rejected.png`, fullPage: true });

  // 3. timings: the honest bundle picked `runs` times (offline), best of
  const shardMs = [];
  const chainMs = [];
  for (let i = 0; i < runs; i++) {
    r = await pick(page, args.honest);
    if (i === 0) check(verified(r), `offline: the honest bundle verifies again (${r.state})`);
    chainMs.push(r.report.verify_ms);
    r.report.shards.forEach((s, j) => { shardMs[j] = Math.min(shardMs[j] ?? Infinity, s.ms); });
  }
  timings.browser = { shards_ms: shardMs, chain_ms: Math.min(...chainMs), runs, k: r.report.shards.map((s) => s.k) };

  // 3b. a bundle dropped on the drop zone (drag and drop)
  await page.evaluate(() => { document.getElementById('status').dataset.state = 'working'; });
  const dropped = [...readFileSync(args.tampered)];
  await page.evaluate((bytes) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], 'dropped.zkinf'));
    document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, dropped);
  r = await settled(page);
  check(r.state === 'rejected' && r.status.includes(`shard ${badShard}`), 'dropped tampered bundle: rejected, naming the shard');

  // 4. a file that is not a bundle
  r = await pick(page, resolve(webDir, 'index.html'));
  check(r.state === 'rejected' && /not a zkinf bundle/.test(r.status), `non-bundle file refused: ${r.status.split('\n').slice(-1)[0]}`);

  // 5. an audit bundle: the sample verifies, the rest is open to challenge
  if (args.audit) {
    for (const id of ['#pin-model', '#pin-keys', '#pin-record', '#pin-randomness', '#pin-floor']) await page.fill(id, '');
    r = await pick(page, args.audit);
    check(verified(r) && r.report.kind === 'audit', `audit bundle verified: ${r.status.split('\n')[0]}`);
    check(r.rows.some((x) => x.status === 'not_sampled') && r.rows.some((x) => x.status === 'verified'),
      `audit bundle: sample ${JSON.stringify(r.report.audit?.sample)} verified, others not sampled (detection ${r.report.audit?.detection_one})`);
    check(/NOT pinned/.test(await page.locator('#audit').innerText()),
      'audit bundle without the record hash and randomness: shown NOT pinned');
    // the auditor's own values: published model and keys, the record hash it
    // kept and the randomness it gave
    if (args['audit-record'] && args['audit-randomness']) {
      const audited = r.report;
      const recheck = async () => {
        await page.evaluate(() => { document.getElementById('status').dataset.state = 'working'; });
        await page.click('#recheck');
        return settled(page);
      };
      await page.fill('#pin-model', audited.model_hash);
      await page.fill('#pin-keys', audited.keys_digest);
      r = await recheck();
      check(r.state === 'partial' && verified(r) && /record hash or randomness/.test(r.status),
        `audit with model and keys pinned only: partly pinned (${r.status.split('\n')[0]})`);
      await page.fill('#pin-record', args['audit-record']);
      await page.fill('#pin-randomness', args['audit-randomness']);
      await page.fill('#pin-floor', '1');
      r = await recheck();
      check(r.state === 'pinned' && verified(r) && hue(r.colour) === 'green',
        `audit with record hash, randomness and floor pinned: verified (pinned) (${r.status.split('\n')[0]})`);
      await page.screenshot({ path: `${out}/web-audit.png`, fullPage: true });
      await page.fill('#pin-randomness', `${args['audit-randomness']}-chosen-by-the-prover`);
      r = await recheck();
      check(r.state === 'rejected' && /randomness/.test(r.status) && /the verifier gave/.test(r.status),
        `audit with other randomness than the one given: rejected (${r.status.split('\n').slice(-1)[0]})`);
      await page.fill('#pin-randomness', args['audit-randomness']);
      await page.fill('#pin-floor', '2');
      r = await recheck();
      check(r.state === 'rejected' && /below the verifier's floor of 2/.test(r.status),
        `audit below the floor: rejected (${r.status.split('\n').slice(-1)[0]})`);
      for (const id of ['#pin-model', '#pin-keys', '#pin-record', '#pin-randomness', '#pin-floor']) await page.fill(id, '');
    } else {
      await page.screenshot({ path: `${out}/web-audit.png`, fullPage: true });
    }
  }

  // 6. reload while offline: the service worker serves the page and the wasm
  await page.waitForFunction(() => navigator.serviceWorker?.controller || navigator.serviceWorker?.ready, null, { timeout: 10000 }).catch(() => {});
  await page.evaluate(() => navigator.serviceWorker?.ready);
  await page.goto(url.replace(/\?.*$/, ''));
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'ready', null, { timeout: 30000 })
    .then(() => check(true, 'offline reload: the page and the verifier load from the cache'))
    .catch(async () => check(false, `offline reload: status ${await page.locator('#status').innerText().catch(() => '?')}`));
  r = await pick(page, args.honest);
  check(verified(r), 'offline reload: the honest bundle verifies');
  check(consoleErrors.length === 0, `no page errors${consoleErrors.length ? ': ' + consoleErrors.join('; ') : ''}`);
  await context.close();
} catch (e) {
  check(false, `browser test crashed: ${e.stack || e}`);
} finally {
  await browser.close();
  server.kill();
}

// native verification of the same bundle, in the same run
const native = [];
for (let i = 0; i < runs; i++) {
  native.push(JSON.parse(execFileSync(resolve(args.zkinf), ['verify-bundle', args.honest, '--json'], { encoding: 'utf8' })));
}
timings.native = {
  shards_ms: native[0].shards.map((_, j) => Math.min(...native.map((x) => x.shards[j].ms))),
  chain_ms: Math.min(...native.map((x) => x.verify_ms)),
  runs,
};
writeFileSync(`${out}/web-timings.json`, JSON.stringify(timings, null, 2));
if (timings.browser) {
  const fmt = (a) => a.map((x) => x.toFixed(1)).join(' / ');
  console.log(`verify time per shard (k = ${timings.browser.k.join(' / ')}): Chromium ${fmt(timings.browser.shards_ms)} ms, native ${fmt(timings.native.shards_ms)} ms`);
  console.log(`verify time, whole chain: Chromium ${timings.browser.chain_ms.toFixed(1)} ms, native ${timings.native.chain_ms.toFixed(1)} ms (best of ${runs}; Chromium's first, cold: ${timings.first_ms?.toFixed(1)} ms)`);
}
console.log(`screenshots and timings in ${out}`);
console.log(failures ? `browser test: ${failures} check(s) failed` : 'browser test: all checks passed');
process.exit(failures ? 1 : 0);
