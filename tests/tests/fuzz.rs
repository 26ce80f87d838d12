//! Fuzzing every decoder that takes outside bytes, on stable Rust: a
//! seeded mutational fuzzer (bit flips, byte and length-field edits with
//! boundary values, insertions, deletions, duplications, truncations,
//! splices between seeds) over real seeds, with three properties per case:
//!
//! - it never panics (each case runs under `catch_unwind`);
//! - no single allocation exceeds a cap (a counting global allocator): a
//!   length or size field is never trusted before the bytes behind it are;
//! - a mutated proof or bundle is never accepted (bundles checked with the
//!   honest model hash and keys digest pinned, as a verifier does).
//!
//! Targets: ONNX files (compile), input JSON (parse + quantize), compiled
//! plans (decode, check, execute), verifying keys, shard proofs (decode +
//! verify), chain bundles and audit bundles (decode + verify). Cases per
//! target: `ZKINF_FUZZ_CASES` (default below; CI runs the default). Inputs
//! that failed once are kept in `tests/fuzz-corpus/<target>/` and replayed
//! first; a new failure is written to `target/fuzz-failures/` and named in
//! the panic message. (EVM calldata has no decoder yet: the on-chain
//! verifier is a later issue.)

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::OnceLock;
use zkinf_circuits::shard::{model_id, partition, partition_into, ShardCircuit};
use zkinf_circuits::{execute, quantize_input, CheckedPlan, Plan};
use zkinf_compiler::{compile, compile_file, parse_inputs, CompileOptions};
use zkinf_prover::{keygen, prove_shard};
use zkinf_tests::{digits, samples};
use zkinf_verifier::{
    draw_sample, keys_digest, read_verifying_key, verify_bundle, verify_shard, AuditRecord, Bundle,
    BundleShard, CommitRecord, Expected, Pins, ShardProof, SrsVerifierPart,
};

// ---------------------------------------------------------------- allocator

/// Counts, per thread and only while armed, the largest single allocation.
struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = ARMED.try_with(|a| {
        if a.get() {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// No single allocation while decoding or verifying may exceed this: the
/// largest legitimate ones here are a few MiB (a k = 12 domain, an ONNX
/// model's tensors).
const ALLOC_CAP: usize = 64 << 20;

// ------------------------------------------------------------------ mutator

const INTERESTING: [u64; 12] = [
    0,
    1,
    2,
    0x7f,
    0xff,
    0x100,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    u64::MAX,
];

fn mutate(rng: &mut StdRng, seed: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let len = b.len();
        match rng.gen_range(0..9) {
            0 if len > 0 => {
                let i = rng.gen_range(0..len);
                b[i] ^= 1 << rng.gen_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.gen_range(0..len);
                b[i] = rng.gen();
            }
            2 if len >= 4 => {
                // a length or count field: a boundary value, 4 or 8 bytes
                let i = rng.gen_range(0..len - 3);
                let v = INTERESTING[rng.gen_range(0..INTERESTING.len())];
                let w = if rng.gen_bool(0.5) && i + 8 <= len {
                    8
                } else {
                    4
                };
                b[i..i + w].copy_from_slice(&v.to_le_bytes()[..w]);
            }
            3 => {
                let i = rng.gen_range(0..=len);
                let n = rng.gen_range(1..=16);
                let ins: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
                b.splice(i..i, ins);
            }
            4 if len > 0 => {
                let i = rng.gen_range(0..len);
                let n = rng.gen_range(1..=(len - i).min(64));
                b.drain(i..i + n);
            }
            5 if len > 0 => {
                let i = rng.gen_range(0..len);
                let n = rng.gen_range(1..=(len - i).min(64));
                let dup = b[i..i + n].to_vec();
                b.splice(i..i, dup);
            }
            6 if len > 0 => b.truncate(rng.gen_range(0..len)),
            7 if !others.is_empty() => {
                // splice: a prefix of this seed, a suffix of another
                let o = &others[rng.gen_range(0..others.len())];
                let cut = rng.gen_range(0..=len);
                let from = rng.gen_range(0..=o.len());
                b.truncate(cut);
                b.extend_from_slice(&o[from..]);
            }
            _ if len > 0 => {
                // a run of one byte value
                let i = rng.gen_range(0..len);
                let n = rng.gen_range(1..=(len - i).min(32));
                let v = if rng.gen_bool(0.5) { 0 } else { 0xff };
                b[i..i + n].fill(v);
            }
            _ => b.push(rng.gen()),
        }
    }
    b
}

// ---------------------------------------------------------------- the loop

#[derive(Debug)]
enum Verdict {
    /// the decoder refused or the verifier rejected: fine
    Refused,
    /// decoded/verified: fine unless the target forbids accepting mutants
    Accepted,
}

fn cases(default: usize) -> usize {
    std::env::var("ZKINF_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz-corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn save_failure(target: &str, case: &str, bytes: &[u8]) -> PathBuf {
    // cargo's folder for integration tests' files, wherever its target is
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("fuzz-failures")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{case}.bin"));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Runs the corpus, then `n` mutants of `seeds`, through `run`; panics
/// naming the saved input on a panic, an over-cap allocation, or an
/// accepted mutant when `accept_ok` is false.
fn fuzz(
    target: &str,
    seeds: &[Vec<u8>],
    n: usize,
    accept_ok: bool,
    run: &dyn Fn(&[u8]) -> Verdict,
) {
    let mut rng = StdRng::seed_from_u64(0x7a6b_696e_6600 ^ target.len() as u64);
    let inputs: Vec<(String, Vec<u8>)> = corpus(target);
    let replayed = inputs.len();
    let mut accepted = 0usize;
    let mut refused = 0usize;
    for i in 0..replayed + n {
        let (name, bytes) = if let Some(replay) = inputs.get(i) {
            replay.clone()
        } else {
            let s = &seeds[rng.gen_range(0..seeds.len())];
            let m = mutate(&mut rng, s, seeds);
            (format!("case-{}", i - replayed), m)
        };
        if !accept_ok && i >= replayed && seeds.contains(&bytes) {
            continue; // a mutation that changed nothing
        }
        LARGEST.with(|l| l.set(0));
        ARMED.with(|a| a.set(true));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&bytes)));
        ARMED.with(|a| a.set(false));
        let largest = LARGEST.with(|l| l.get());
        let problem = match &r {
            Err(e) => Some(format!(
                "panicked: {}",
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
            Ok(_) if largest > ALLOC_CAP => Some(format!(
                "allocated {largest} bytes at once from a {}-byte input",
                bytes.len()
            )),
            Ok(Verdict::Accepted) if !accept_ok => Some("accepted a mutated input".into()),
            _ => None,
        };
        match r {
            Ok(Verdict::Accepted) => accepted += 1,
            _ => refused += 1,
        }
        if let Some(p) = problem {
            let saved = save_failure(target, &name, &bytes);
            let diff: Vec<String> = seeds
                .iter()
                .filter(|s| s.len() == bytes.len())
                .map(|s| {
                    let at: Vec<String> = (0..s.len())
                        .filter(|&j| s[j] != bytes[j])
                        .take(8)
                        .map(|j| format!("{j}: {:02x}->{:02x}", s[j], bytes[j]))
                        .collect();
                    format!("[{}]", at.join(", "))
                })
                .collect();
            panic!(
                "fuzz {target}: {name} {p} (differs from same-length seeds at {}); input saved to {} (add it to tests/fuzz-corpus/{target}/ once fixed)",
                diff.join(" "),
                saved.display()
            );
        }
    }
    println!(
        "fuzz {target}: {} cases ({replayed} from the corpus), {refused} refused, {accepted} accepted, 0 failures",
        replayed + n
    );
}

// ------------------------------------------------------------------- seeds

struct World {
    plan: CheckedPlan,
    params: ParamsKZG<Bn256>,
    vks: Vec<Vec<u8>>,
    proofs: Vec<ShardProof>,
    chain: Bundle,
    audit: Bundle,
}

const MODEL: &str = "mlp_int8_qdq";

/// The digits MLP proven as a chain of two shards (k = 9), once.
fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let plan = compile_file(
            &digits(&format!("{MODEL}.onnx")),
            &CompileOptions::default(),
        )
        .unwrap()
        .plan;
        let shards = partition_into(&plan, 12, 2).unwrap();
        let k = shards.iter().map(|s| s.k).max().unwrap();
        let params = ParamsKZG::<Bn256>::setup(k, StdRng::seed_from_u64(17));
        let s = samples(MODEL);
        let q = quantize_input(&plan.inputs[0], &s.inputs[0]).unwrap();
        let input: Vec<i64> = q.iter().copied().collect();
        let trace = execute(&plan, vec![q]).unwrap();
        let output: Vec<i64> = trace.get(plan.outputs[0].tensor).iter().copied().collect();
        let (mut vks, mut proofs) = (Vec::new(), Vec::new());
        for (i, sh) in shards.iter().enumerate() {
            let c = ShardCircuit::for_shard(&plan, sh.spec(), i as u32, Some(&trace)).unwrap();
            let mut p = params.clone();
            if sh.k < k {
                p.downsize(sh.k);
            }
            let shard_params = c.params();
            let pk = keygen(&p, &c).unwrap();
            proofs.push(prove_shard(&p, &pk, c, i as u32).unwrap());
            vks.push(zkinf_verifier::write_verifying_key(
                pk.get_vk(),
                shard_params,
            ));
        }
        let chain = Bundle {
            plan: plan.to_bytes(),
            srs: SrsVerifierPart::of(&params),
            input,
            output,
            shards: vks
                .iter()
                .zip(&proofs)
                .zip(&shards)
                .map(|((vk, p), s)| BundleShard {
                    nodes: s.spec(),
                    vk: vk.clone(),
                    proof: Some(p.to_bytes()),
                })
                .collect(),
            audit: None,
        };
        let mut audit = chain.clone();
        let mut boundaries: Vec<_> = proofs.iter().map(|p| p.input_commitment()).collect();
        boundaries.push(proofs[proofs.len() - 1].output_commitment());
        let hash: [u8; 32] = {
            use sha2::Digest;
            sha2::Sha256::digest(&chain.plan).into()
        };
        let record = CommitRecord {
            model_hash: hash,
            keys_digest: keys_digest(&chain),
            beacon: None,
            boundaries,
        };
        let sample = draw_sample(&record.hash(), b"fuzz", proofs.len(), 1);
        for (i, s) in audit.shards.iter_mut().enumerate() {
            if !sample.contains(&(i as u32)) {
                s.proof = None;
            }
        }
        audit.audit = Some(AuditRecord {
            sample: 1,
            randomness: b"fuzz".to_vec(),
            record,
        });
        World {
            plan,
            params,
            vks,
            proofs,
            chain,
            audit,
        }
    })
}

fn onnx_seeds() -> Vec<Vec<u8>> {
    ["mlp_int8_qdq", "mlp_float", "cnn_int8_qdq", "cnn_int8_qop"]
        .iter()
        .map(|m| std::fs::read(digits(&format!("{m}.onnx"))).unwrap())
        .collect()
}

// ------------------------------------------------------------------ targets

#[test]
fn fuzz_onnx_models() {
    let opts = CompileOptions::default();
    fuzz(
        "onnx",
        &onnx_seeds(),
        cases(3000),
        true,
        &|b| match compile(b, "fuzzed.onnx", None, &opts) {
            Ok(_) => Verdict::Accepted,
            Err(_) => Verdict::Refused,
        },
    );
}

#[test]
fn fuzz_input_json() {
    let plan = &world().plan;
    let expected: Vec<(String, Vec<usize>)> = plan
        .inputs
        .iter()
        .map(|i| (i.name.clone(), i.shape.clone()))
        .collect();
    let seeds: Vec<Vec<u8>> = ["mlp_int8_qdq", "cnn_int8_qdq"]
        .iter()
        .map(|m| std::fs::read(digits(&format!("{m}.input.json"))).unwrap())
        .chain([
            br#"{"x": [[NaN]]}"#.to_vec(),
            br#"{"x": [[1e400, -1e400, 0.5]]}"#.to_vec(),
        ])
        .collect();
    fuzz("input_json", &seeds, cases(5000), true, &|b| {
        let Ok(text) = std::str::from_utf8(b) else {
            return Verdict::Refused;
        };
        match parse_inputs(text, &expected) {
            Ok(v) => match quantize_input(&plan.inputs[0], &v[&plan.inputs[0].name]) {
                Ok(_) => Verdict::Accepted,
                Err(_) => Verdict::Refused,
            },
            Err(_) => Verdict::Refused,
        }
    });
}

#[test]
fn fuzz_plans() {
    let seeds: Vec<Vec<u8>> = ["mlp_int8_qdq", "cnn_int8_qdq", "mlp_float"]
        .iter()
        .map(|m| {
            compile_file(&digits(&format!("{m}.onnx")), &CompileOptions::default())
                .unwrap()
                .plan
                .to_bytes()
        })
        .collect();
    fuzz("plan", &seeds, cases(5000), true, &|b| {
        let Ok(plan) = Plan::from_bytes(b) else {
            return Verdict::Refused;
        };
        let Ok(plan) = CheckedPlan::new(plan) else {
            return Verdict::Refused;
        };
        // a plan that passes the checker runs without panicking on any
        // input in its declared ranges
        let inputs = plan
            .inputs
            .iter()
            .map(|i| {
                ndarray::ArrayD::from_elem(
                    ndarray::IxDyn(&i.shape),
                    i.range.lo.max(0).min(i.range.hi),
                )
            })
            .collect();
        let _ = execute(&plan, inputs);
        let _ = model_id(&plan);
        // and its circuit is sized and partitioned without panicking
        if let Ok(c) = ShardCircuit::new(plan.clone(), 0, None) {
            let _ = (c.rows(), c.k());
        }
        let _ = partition(&plan, 12);
        Verdict::Accepted
    });
}

#[test]
fn fuzz_verifying_keys() {
    let w = world();
    fuzz(
        "vk",
        &w.vks,
        cases(5000),
        true,
        &|b| match read_verifying_key(b) {
            Ok(_) => Verdict::Accepted,
            Err(_) => Verdict::Refused,
        },
    );
}

#[test]
fn fuzz_proofs() {
    let w = world();
    let seeds: Vec<Vec<u8>> = w.proofs.iter().map(|p| p.to_bytes()).collect();
    let vks: Vec<_> = w
        .vks
        .iter()
        .map(|v| read_verifying_key(v).unwrap())
        .collect();
    let id = model_id(&w.plan);
    let part = SrsVerifierPart::of(&w.params);
    let params: Vec<_> = vks
        .iter()
        .map(|vk| part.params(vk.get_domain().k()))
        .collect();
    fuzz("proof", &seeds, cases(3000), false, &|b| {
        let Ok(p) = ShardProof::from_bytes(b) else {
            return Verdict::Refused;
        };
        // checked as the shard it claims to be, against that shard's
        // honest public values
        let i = (p.shard as usize).min(1);
        let honest = &w.proofs[i];
        let expected = Expected {
            model_id: Some(id),
            shard: i as u32,
            input: Some(honest.input_commitment()),
            output: Some(honest.output_commitment()),
        };
        match verify_shard(&params[i], &vks[i], &p, &expected) {
            Ok(()) => Verdict::Accepted,
            Err(_) => Verdict::Refused,
        }
    });
}

fn fuzz_bundle(target: &str, honest: &Bundle, n: usize) {
    let pins = {
        let r = verify_bundle(honest, &Pins::default(), &|| 0.0).unwrap();
        assert!(r.verified, "{:?}", r.error);
        // an audit's record hash and randomness pinned too: other
        // randomness that happens to draw the same sample is the
        // prover's choice, refused only against the verifier's own
        let audit = r.audit.as_ref();
        Pins {
            model_hash: Some(r.model_hash.clone()),
            keys_digest: Some(r.keys_digest.clone()),
            record_hash: audit.map(|a| a.record_hash.clone()),
            randomness: audit.map(|a| a.randomness.clone()),
            ..Pins::default()
        }
    };
    let seeds = vec![honest.to_bytes()];
    fuzz(target, &seeds, n, false, &|b| {
        let Ok(bundle) = Bundle::from_bytes(b) else {
            return Verdict::Refused;
        };
        match verify_bundle(&bundle, &pins, &|| 0.0) {
            Ok(r) if r.verified => Verdict::Accepted,
            _ => Verdict::Refused,
        }
    });
}

#[test]
fn fuzz_chain_bundles() {
    fuzz_bundle("bundle", &world().chain, cases(3000));
}

#[test]
fn fuzz_audit_bundles() {
    fuzz_bundle("audit", &world().audit, cases(3000));
}

/// A compressed point with its "infinity" flag set but a non-zero x
/// decodes, in halo2curves, as the ordinary point: the same proof under
/// two encodings. The verifier's transcript reads canonical bytes only
/// (found by `fuzz_proofs`; the corpus keeps the case).
#[test]
fn a_point_with_its_infinity_flag_set_is_refused() {
    let w = world();
    let honest = &w.proofs[0];
    let vk = read_verifying_key(&w.vks[0]).unwrap();
    let part = SrsVerifierPart::of(&w.params);
    let params = part.params(vk.get_domain().k());
    let expected = Expected {
        model_id: Some(model_id(&w.plan)),
        shard: 0,
        input: Some(honest.input_commitment()),
        output: Some(honest.output_commitment()),
    };
    verify_shard(&params, &vk, honest, &expected).unwrap();
    // the proof starts with a commitment (a point): set its flag bit
    let mut flagged = honest.clone();
    flagged.proof[31] ^= 0x80;
    assert_eq!(
        verify_shard(&params, &vk, &flagged, &expected),
        Err(zkinf_verifier::VerifyError::Rejected(0))
    );
    // and bytes after the proof are refused too
    let mut longer = honest.clone();
    longer.proof.push(0);
    assert_eq!(
        verify_shard(&params, &vk, &longer, &expected),
        Err(zkinf_verifier::VerifyError::Rejected(0))
    );
}
