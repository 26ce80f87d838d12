// The zkinf web verifier: loads the wasm verifier, takes a bundle (picked,
// dropped, or ?bundle=URL) and shows the report. Everything runs here; the
// only network requests are for the page itself and a ?bundle= URL.
// the verifier runs in a worker (worker.js), so the page never freezes
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const pending = new Map();
let nextId = 0;
worker.onmessage = ({ data }) => {
  const p = pending.get(data.id);
  pending.delete(data.id);
  if (data.ok) p.resolve(data.result);
  else p.reject(new Error(data.error));
};
worker.onerror = (e) => {
  // a worker that fails to start (its module or the wasm did not load)
  e.preventDefault();
  for (const p of pending.values()) p.reject(new Error(e.message || 'the verifier worker failed to start'));
  pending.clear();
};
function ask(msg, transfer = []) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, ...msg }, transfer);
  });
}

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

// The headline. state: loading, ready, working; after a verification,
// pinned (green), partial or unpinned (amber: verified, but not against the
// published values) or rejected (red).
function setStatus(state, text, detail) {
  const s = $('status');
  s.className = state;
  s.dataset.state = state;
  s.textContent = text;
  if (detail) {
    const d = document.createElement('span');
    d.className = 'detail';
    d.textContent = detail;
    s.appendChild(d);
  }
}

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const fmtMs = (ms) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1)) + ' ms';

// The input drawn as a picture when it is an image (last two dims H x W).
function drawInput(t) {
  const box = $('input-box');
  box.replaceChildren();
  const dims = t.shape.filter((d) => d > 1);
  // an image (H x W last), or a flattened square one (a 1x64 digit, 1x784 MNIST)
  const side = Math.round(Math.sqrt(t.values.length));
  const [h, w] = dims.length >= 2 ? dims.slice(-2)
    : dims.length === 1 && side * side === t.values.length && side >= 4 ? [side, side] : [0, 0];
  if (h > 0 && w > 0 && h * w === t.values.length && h * w <= 65536) {
    const c = el('canvas', { id: 'picture', width: w, height: h });
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(w, h);
    const lo = Math.min(...t.values), hi = Math.max(...t.values);
    t.values.forEach((v, i) => {
      const g = hi > lo ? Math.round((255 * (v - lo)) / (hi - lo)) : 0;
      img.data.set([g, g, g, 255], 4 * i);
    });
    ctx.putImageData(img, 0, 0);
    box.append(c, el('div', { class: 'muted' }, `${t.name}: ${t.shape.join('×')} (${w}×${h} picture)`));
  } else {
    const shown = t.values.slice(0, 32).map((v) => v.toFixed(3)).join(', ');
    box.append(el('div', { class: 'muted' }, `${t.name}: ${t.shape.join('×')}`),
      el('code', {}, `[${shown}${t.values.length > 32 ? ', …' : ''}]`));
  }
}

// The output: the predicted class (argmax) and a bar per value.
function drawOutput(t) {
  const box = $('output-box');
  box.replaceChildren();
  if (t.argmax !== null && t.argmax !== undefined && t.values.length <= 1000) {
    box.append(el('div', { class: 'muted' }, 'predicted class'),
      el('div', { id: 'digit' }, String(t.argmax)));
  }
  const bars = el('div', { class: 'bars' });
  const n = Math.min(t.values.length, 20);
  const lo = Math.min(0, ...t.values), hi = Math.max(...t.values);
  for (let i = 0; i < n; i++) {
    const v = t.values[i];
    const bar = el('div', { class: 'bar' + (i === t.argmax ? ' top' : '') });
    bar.style.width = `${hi > lo ? Math.max(1, (100 * (v - lo)) / (hi - lo)) : 1}%`;
    bars.append(el('span', {}, String(i)), bar, el('span', {}, v.toFixed(3)));
  }
  box.append(el('div', { class: 'muted' }, `${t.name}: ${t.shape.join('×')}`), bars);
}

// How far a verified report can be trusted (report.trust, set by the
// verifier): 'pinned' when the model hash and the keys digest equal the
// expected ones (or the keys were rebuilt from the model), 'partial' when one
// of them is, 'unpinned' when the proofs were checked only against what the
// bundle itself carries.
function trustState(report) {
  const t = report.trust;
  if (!t) return 'unpinned';
  const a = report.audit;
  if (t.pinned && a && !(a.record_pinned && a.randomness_pinned)) return 'partial';
  if (t.pinned) return 'pinned';
  return t.model !== 'unpinned' || t.keys !== 'unpinned' ? 'partial' : 'unpinned';
}

const BINDING = {
  given: (what) => `${what} checked against the one given`,
  claimed: (what) => `${what} checked against the claim shown`,
  recorded: (what) => `${what} only equal to the audit record's (its shard was not sampled)`,
};
const bindings = (t) => `${BINDING[t.input]?.('input') ?? 'input ?'}, ${BINDING[t.output]?.('output') ?? 'output ?'}`;

// What the verdict rests on: one row per item, each marked ok or warn.
function drawTrust(report) {
  const t = report.trust || { model: 'unpinned', keys: 'unpinned', input: '?', output: '?' };
  const rows = [
    ['model hash', 'model', t.model, {
      pinned: 'pinned: equal to the expected one',
      unpinned: 'NOT pinned: the bundle\'s own, not compared with a published one',
    }],
    ['keys digest', 'keys', t.keys, {
      pinned: 'pinned: equal to the expected one',
      recomputed: 'every verifying key rebuilt from the model and the SRS, and equal',
      unpinned: 'NOT pinned: the bundle\'s own keys and SRS, not compared with published ones',
    }],
    ['input', 'input', t.input, {
      given: 'bound: the proofs commit to the input given',
      claimed: 'bound: the proofs commit to the claimed input shown',
      recorded: 'NOT proven: equal to the audit record only (the first shard was not sampled)',
    }],
    ['output', 'output', t.output, {
      given: 'bound: the proofs commit to the output given',
      claimed: 'bound: the proofs commit to the claimed output shown',
      recorded: 'NOT proven: equal to the audit record only (the last shard was not sampled)',
    }],
  ];
  const box = $('trust');
  box.replaceChildren();
  for (const [label, key, value, words] of rows) {
    const ok = ['pinned', 'recomputed', 'given', 'claimed'].includes(value);
    box.append(el('dt', {}, label),
      el('dd', { id: `trust-${key}`, 'data-value': value, class: ok ? 'ok' : 'warn' }, words[value] ?? String(value)));
  }
  $('verdict').textContent = report.verdict || '';
}

function show(report, info) {
  window.zkinfReport = report;
  $('result').hidden = false;
  $('model-hash').textContent = report.model_hash;
  $('keys-digest').textContent = report.keys_digest;
  $('bundle-info').textContent = `${info.name} · ${info.bytes.toLocaleString()} bytes · ${report.kind}`;
  $('timing').textContent = `verified in ${fmtMs(report.verify_ms)} (read in ${fmtMs(info.readMs)})`;
  const body = $('shards');
  body.replaceChildren();
  for (const s of report.shards) {
    const label = { verified: 'verified', rejected: 'rejected', not_sampled: 'not sampled (open to challenge)' }[s.status];
    const tr = el('tr', { 'data-shard': s.index, 'data-status': s.status });
    tr.append(el('td', {}, `shard ${s.index}`), el('td', { class: 'st' }, label),
      el('td', {}, s.k === null ? '?' : `2^${s.k} rows`),
      el('td', {}, s.proof_bytes ? `${s.proof_bytes.toLocaleString()} B` : '—'),
      el('td', {}, s.status === 'not_sampled' ? '—' : fmtMs(s.ms)));
    body.append(tr);
    if (s.error) {
      const er = el('tr', { class: 'error-row' });
      er.append(el('td', {}), el('td', { class: 'err', colspan: 4 }, s.error));
      body.append(er);
    }
  }
  const a = report.audit;
  $('audit').textContent = a
    ? `Audit: shards ${a.sample.join(', ')} of ${a.shards} are proven, drawn from commitment record ${a.record_hash.slice(0, 16)}… ` +
      `and randomness “${a.randomness}” (record hash ${a.record_pinned ? 'pinned' : 'NOT pinned'}, randomness ${a.randomness_pinned ? 'pinned' : 'NOT pinned'}); ` +
      `a run with one wrong shard is caught with probability ${(100 * a.detection_one).toFixed(1)}% ` +
      `(${a.for_90} sampled shards catch it with 90%, ${a.for_99} with 99%). The others stay open to challenge.`
    : '';
  drawInput(report.input);
  drawOutput(report.output);
  drawTrust(report);
  const n = report.shards.length;
  if (report.verified) {
    const proven = report.shards.filter((s) => s.status === 'verified').length;
    const what = report.kind === 'audit' ? `${proven} sampled of ${n} shards`
      : n === 1 ? 'its one shard' : `all ${n} shards, linked`;
    const claim = report.output.argmax !== null ? `; output class ${report.output.argmax}` : '';
    const state = trustState(report);
    const t = report.trust;
    const took = `${what[0].toUpperCase()}${what.slice(1)}${claim}, in ${fmtMs(report.verify_ms)}`;
    if (state === 'pinned') {
      const keys = t.keys === 'recomputed' ? 'every verifying key rebuilt from the model and found equal'
        : 'keys digest equal to the expected one';
      // pins that came with the link may be the sender's own: say which
      // values were pinned, and where they came from
      const fromLink = params.get('model') === $('pin-model').value.trim()
        && params.get('keys') === $('pin-keys').value.trim();
      const pinned = `model ${report.model_hash.slice(0, 16)}…, keys ${report.keys_digest.slice(0, 16)}…`;
      const source = fromLink
        ? `pinned to the values in the link (${pinned}): check they are the ones the model owner published, not the sender's`
        : `pinned to ${pinned}`;
      setStatus('pinned', `✓ verified (pinned): ${what}${claim}`,
        `in ${fmtMs(report.verify_ms)} · model hash equal to the expected one, ${keys} · ${source} · ${bindings(t)}`);
    } else if (state === 'partial') {
      const missing = t.pinned ? 'audit\'s record hash or randomness'
        : t.model === 'unpinned' ? 'model hash' : 'keys digest';
      setStatus('partial', `⚠ verified, partly pinned: the ${missing} is NOT pinned`,
        `${took}. The ${missing} is the bundle's own, which a prover can make up: compare it with the one the ` +
        `model owner published, or enter it under “Expected model and keys” above and check again.`);
    } else {
      setStatus('unpinned', '⚠ verified against the bundle\'s own keys: NOT pinned',
        `${took}. This shows only that the proofs fit the model, keys and SRS the bundle carries, which a prover ` +
        `can make up. Compare the model hash and keys digest below with the ones the model owner published, or ` +
        `enter them under “Expected model and keys” above (or add ?model=…&keys=… to the URL) and check again.`);
      $('pins').open = true;
    }
  } else {
    const bad = report.shards.filter((s) => s.status === 'rejected').map((s) => `shard ${s.index}`);
    setStatus('rejected', `✗ rejected${bad.length ? ': ' + bad.join(', ') : ''}`, report.error);
  }
}

let busy = Promise.resolve();
// the last bundle read, to check again with other expected values
let last = null;

// one verification at a time: a bundle dropped while another verifies waits
function verify(bytes, name, readMs) {
  last = { bytes, name, readMs };
  $('recheck').disabled = false;
  busy = busy.then(async () => {
    $('result').hidden = true;
    setStatus('working', `Verifying ${name}…`);
    const size = bytes.length;
    try {
      const json = await ask({
        op: 'verify',
        bytes,
        model: $('pin-model').value.trim() || undefined,
        keys: $('pin-keys').value.trim() || undefined,
        record: $('pin-record').value.trim() || undefined,
        randomness: $('pin-randomness').value.trim() || undefined,
        floor: parseInt($('pin-floor').value.trim(), 10) || undefined,
      }); // copied, not transferred: kept for "check again"
      show(JSON.parse(json), { name, bytes: size, readMs });
    } catch (e) {
      window.zkinfReport = { verified: false, error: String(e.message || e) };
      setStatus('rejected', '✗ not a valid bundle', String(e.message || e));
    }
  });
  return busy;
}

async function verifyFile(file) {
  const t = performance.now();
  const bytes = new Uint8Array(await file.arrayBuffer());
  await verify(bytes, file.name, performance.now() - t);
}

async function verifyUrl(url) {
  setStatus('working', `Fetching ${url}…`);
  const t = performance.now();
  try {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const bytes = new Uint8Array(await r.arrayBuffer());
    await verify(bytes, url, performance.now() - t);
  } catch (e) {
    setStatus('rejected', `✗ cannot fetch ${url}`, String(e.message || e));
  }
}

async function main() {
  $('pin-model').value = params.get('model') || '';
  $('pin-keys').value = params.get('keys') || '';
  $('pin-record').value = params.get('record') || '';
  $('pin-randomness').value = params.get('randomness') || '';
  $('pin-floor').value = params.get('floor') || '';
  if (['model', 'keys', 'record', 'randomness', 'floor'].some((k) => params.get(k))) $('pins').open = true;
  try {
    $('version').textContent = await ask({ op: 'version' });
    document.body.dataset.verifier = 'worker';
  } catch (e) {
    setStatus('rejected', '✗ the verifier failed to load', String(e.message || e));
    return;
  }
  if ('serviceWorker' in navigator && window.isSecureContext) {
    navigator.serviceWorker.register('./sw.js').catch(() => {});
  }
  const recheck = () => { if (last) verify(last.bytes, last.name, last.readMs); };
  $('recheck').addEventListener('click', recheck);
  for (const id of ['pin-model', 'pin-keys', 'pin-record', 'pin-randomness', 'pin-floor']) {
    $(id).addEventListener('keydown', (e) => { if (e.key === 'Enter') recheck(); });
  }
  const drop = $('drop');
  $('file').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    await verifyFile(file);
    e.target.value = ''; // picking the same file again verifies again
  });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files[0]) verifyFile(e.dataTransfer.files[0]);
  });
  const url = params.get('bundle');
  if (url) await verifyUrl(url);
  else setStatus('ready', 'Ready: drop or pick a bundle.');
}

main();
