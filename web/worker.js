// The verifier, off the page's thread: the page stays responsive (status,
// scrolling, a second drop) while a long chain verifies. One request at a
// time: { id, op: 'version' } or { id, op: 'verify', bytes, model, keys,
// record, randomness, floor } (the last three pin an audit);
// the answer is { id, ok: true, result } or { id, ok: false, error }.
import init, { verify_chain, verify_audit, bundle_kind, verifier_version } from './pkg/zkinf_web.js';

const ready = init({ module_or_path: new URL('./pkg/zkinf_web_bg.wasm', import.meta.url) });

self.onmessage = async ({ data }) => {
  const { id, op } = data;
  try {
    await ready;
    let result;
    if (op === 'version') {
      result = verifier_version();
    } else if (op === 'verify') {
      result = bundle_kind(data.bytes) === 'audit'
        ? verify_audit(data.bytes, data.model, data.keys, data.record, data.randomness, data.floor)
        : verify_chain(data.bytes, data.model, data.keys);
    } else {
      throw new Error(`unknown request ${op}`);
    }
    self.postMessage({ id, ok: true, result });
  } catch (e) {
    self.postMessage({ id, ok: false, error: String((e && e.message) || e) });
  }
};
