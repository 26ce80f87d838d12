//! `zkinf setup`, `prove` and `verify` over a compiled folder (`plan.bin`,
//! `shards.json`): `DIR/keys/` (verifying and proving keys of every shard,
//! plus `setup.json` naming the model, the SRS and each shard's `k` and
//! verifying-key digest) and `DIR/proofs/` (`shard-N.proof` per shard and
//! `claim.json`, the claimed output integers). Every file is written
//! atomically; shards are independent jobs (`prove --shard N` needs only
//! the folder and the input).

use crate::artifacts::{self, write_dir_atomic, write_file_atomic};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{Circuit, ConstraintSystem, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use std::path::{Path, PathBuf};
use std::time::Instant;
use zkinf_circuits::poseidon::{commit_tensor, Packing};
use zkinf_circuits::shard::{check_partition, model_id, ShardCircuit, ShardSpec, SizedShard};
use zkinf_circuits::{execute, quantize_input, CheckedPlan, OutputDequant};
use zkinf_prover::budget;
use zkinf_prover::srs::{self, SrsSource};
use zkinf_prover::{keygen, prove_shard, read_proving_key, write_proving_key};
use zkinf_verifier::{
    keys_digest_of, read_verifying_key, verify_chain, write_verifying_key, ShardProof, SrsByK,
    SrsVerifierPart,
};

#[derive(Debug, thiserror::Error)]
pub enum ProvingError {
    #[error(transparent)]
    Artifact(#[from] artifacts::ArtifactError),
    #[error(transparent)]
    Prove(#[from] zkinf_prover::ProveError),
    #[error("{0}")]
    Shard(#[from] zkinf_circuits::shard::ShardError),
    #[error("{0}")]
    Verify(#[from] zkinf_verifier::VerifyError),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Exec(#[from] zkinf_circuits::ExecError),
}

pub(crate) fn file_err(path: &Path, reason: impl ToString) -> ProvingError {
    ProvingError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

pub(crate) fn step(what: &str) -> Instant {
    eprintln!("[zkinf] {what} ...");
    Instant::now()
}

pub(crate) fn done(t: Instant) {
    eprintln!("[zkinf]   done in {:.2} s", t.elapsed().as_secs_f64());
}

fn cache_dir() -> PathBuf {
    match std::env::var_os("ZKINF_CACHE") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".cache/zkinf"),
    }
}

/// The SRS descriptor stored in `keys/setup.json`.
fn srs_descriptor(src: &SrsSource) -> String {
    match src {
        SrsSource::File(p) => format!("file:{}", p.display()),
        SrsSource::Dev(p) => format!("dev:{}", p.display()),
    }
}

fn srs_from_descriptor(d: &str) -> Option<SrsSource> {
    d.strip_prefix("file:")
        .map(|p| SrsSource::File(PathBuf::from(p)))
        .or_else(|| {
            d.strip_prefix("dev:")
                .map(|p| SrsSource::Dev(PathBuf::from(p)))
        })
}

/// `keys/setup.json`: the model, the SRS and every shard's `k` and
/// verifying-key digest.
pub(crate) struct Setup {
    pub(crate) model_hash: String,
    pub(crate) srs: String,
    /// per shard: k, SHA-256 of the verifying key file, and the key's
    /// transcript representation (which also hashes the constraint system)
    pub(crate) shards: Vec<(u32, String, String)>,
    /// the SRS verifier part (recorded since bundles; older setups load
    /// the SRS instead)
    pub(crate) srs_part: Option<SrsVerifierPart>,
}

impl Setup {
    pub(crate) fn max_k(&self) -> u32 {
        self.shards.iter().map(|s| s.0).max().unwrap_or(9)
    }

    /// The keys must be this model's and match its partition.
    pub(crate) fn check(
        &self,
        plan: &CheckedPlan,
        shards: &[SizedShard],
    ) -> Result<(), ProvingError> {
        let same = self.model_hash == plan.hash_hex()
            && self.shards.len() == shards.len()
            && self.shards.iter().zip(shards).all(|(a, b)| a.0 == b.k);
        if same {
            Ok(())
        } else {
            Err(ProvingError::Setup(
                "the keys in keys/ belong to another model or partition; run `zkinf setup` again"
                    .into(),
            ))
        }
    }
}

pub(crate) fn read_setup(dir: &Path) -> Result<Setup, ProvingError> {
    let path = dir.join("keys/setup.json");
    let text = std::fs::read_to_string(&path).map_err(|_| {
        ProvingError::Setup(format!(
            "{} has no keys; run `zkinf setup {}` first",
            dir.display(),
            dir.display()
        ))
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| file_err(&path, e))?;
    let get = |k: &str| {
        v[k].as_str()
            .map(str::to_string)
            .ok_or_else(|| file_err(&path, format!("missing '{k}'")))
    };
    let shards = v["shards"]
        .as_array()
        .ok_or_else(|| file_err(&path, "missing 'shards'"))?
        .iter()
        .map(|s| {
            Some((
                u32::try_from(s["k"].as_u64()?).ok().filter(|k| *k <= 28)?,
                s["vk_sha256"].as_str()?.to_string(),
                s["vk_repr"].as_str()?.to_string(),
            ))
        })
        .collect::<Option<Vec<_>>>()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| file_err(&path, "malformed 'shards'"))?;
    let srs_part = match v["srs_verifier"].as_str() {
        None => None,
        Some(h) => Some(
            hex_bytes(h)
                .ok_or_else(|| "not hex".to_string())
                .and_then(|b| SrsVerifierPart::from_bytes(&b))
                .map_err(|e| file_err(&path, format!("'srs_verifier': {e}")))?,
        ),
    };
    Ok(Setup {
        model_hash: get("model_hash")?,
        srs: get("srs")?,
        shards,
        srs_part,
    })
}

/// The shards of a compiled folder (`shards.json`), checked against its plan.
pub(crate) fn read_shards(dir: &Path, plan: &CheckedPlan) -> Result<Vec<SizedShard>, ProvingError> {
    let path = dir.join(artifacts::SHARDS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| file_err(&path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| file_err(&path, e))?;
    if let Some(e) = v["error"].as_str() {
        return Err(ProvingError::Setup(format!(
            "this model cannot be proven: {e}"
        )));
    }
    let shards: Vec<SizedShard> =
        serde_json::from_value(v["shards"].clone()).map_err(|e| file_err(&path, e))?;
    let specs: Vec<ShardSpec> = shards.iter().map(|s| s.spec()).collect();
    check_partition(plan, &specs).map_err(|e| file_err(&path, e))?;
    Ok(shards)
}

fn hex_bytes(h: &str) -> Option<Vec<u8>> {
    if h.len() % 2 != 0 || !h.is_ascii() {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok())
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The verifying key's transcript representation: a hash of the key and of
/// the constraint system this zkinf derives for it.
fn repr_hex(vk: &halo2_proofs::plonk::VerifyingKey<G1Affine>) -> String {
    use halo2_proofs::halo2curves::ff::PrimeField;
    vk.transcript_repr()
        .to_repr()
        .iter()
        .rev()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn srs_source(setup: &Setup) -> Result<SrsSource, ProvingError> {
    srs_from_descriptor(&setup.srs)
        .ok_or_else(|| ProvingError::Setup(format!("unknown SRS '{}'", setup.srs)))
}

/// The SRS (one for the whole model, at the largest shard's size `max_k`)
/// as a copy per shard size in `ks`: every shard uses a prefix of the same
/// SRS.
pub(crate) fn load_srs(source: &SrsSource, max_k: u32, ks: &[u32]) -> Result<SrsByK, ProvingError> {
    let t = step(&format!("loading the SRS (2^{max_k} points)"));
    let full = srs::load(source, max_k, &mut |m| eprintln!("[zkinf] {m}"))?;
    let set = SrsByK::from_full(&full, ks.iter().copied());
    done(t);
    Ok(set)
}

/// The SRS copies a verifier needs: from the verifier part recorded at
/// setup (no SRS file read), else from the SRS itself.
pub(crate) fn verifier_srs(setup: &Setup, ks: &[u32]) -> Result<SrsByK, ProvingError> {
    match &setup.srs_part {
        Some(part) => Ok(SrsByK::from_verifier_part(part, ks.iter().copied())),
        None => load_srs(&srs_source(setup)?, setup.max_k(), ks),
    }
}

fn srs_at(srs: &SrsByK, k: u32) -> Result<&ParamsKZG<Bn256>, ProvingError> {
    srs.get(k)
        .ok_or_else(|| ProvingError::Setup(format!("no SRS of 2^{k} points")))
}

/// `zkinf setup DIR [--srs FILE | --dev-srs]`: keys for every shard.
/// The memory budget: `--memory-budget`, else the default (see
/// [`budget::default_budget`]).
pub fn memory_budget(arg: Option<&str>) -> Result<Option<u64>, ProvingError> {
    match arg {
        Some(a) => budget::parse_size(a).map(Some).ok_or_else(|| {
            ProvingError::Setup(format!("--memory-budget '{a}': not a size (e.g. 512M, 8G)"))
        }),
        None => budget::default_budget().map_err(ProvingError::Setup),
    }
}

/// Refuses a shard whose estimated memory exceeds the budget.
fn check_budget(
    what: &str,
    shard: usize,
    k: u32,
    estimate: u64,
    budget: Option<u64>,
) -> Result<(), ProvingError> {
    match budget {
        Some(b) if estimate > b => Err(ProvingError::Setup(format!(
            "shard {shard} (k = {k}) needs about {} to {what}, over the memory budget of {}: cut the model into smaller shards (zkinf compile --max-log-rows {}) or raise --memory-budget",
            budget::human(estimate),
            budget::human(b),
            k.saturating_sub(1).max(9)
        ))),
        _ => Ok(()),
    }
}

pub fn setup(
    dir: &Path,
    srs_file: Option<PathBuf>,
    dev: bool,
    budget: Option<u64>,
) -> Result<(), ProvingError> {
    let plan = artifacts::load_plan(dir)?;
    let shards = read_shards(dir, &plan)?;
    let source = match (srs_file, dev) {
        (Some(f), _) => SrsSource::File(f),
        (None, true) => {
            eprintln!("[zkinf] WARNING: --dev-srs generates a development SRS locally; proofs made with it are NOT secure (its creator can forge them). Use --srs with a ceremony file in production.");
            SrsSource::Dev(cache_dir().join("srs"))
        }
        (None, false) => {
            return Err(ProvingError::Setup(
                "give --srs FILE (a KZG ceremony file) or --dev-srs".into(),
            ))
        }
    };
    let desc = srs_descriptor(&source);
    let n = shards.len();
    if let Ok(s) = read_setup(dir) {
        let cached = s.srs == desc
            && s.check(&plan, &shards).is_ok()
            && s.shards.iter().enumerate().all(|(i, c)| {
                let vk = std::fs::read(dir.join(format!("keys/shard-{i}.vk"))).unwrap_or_default();
                sha256_hex(&vk) == c.1
                    && read_verifying_key(&vk).is_ok_and(|vk| repr_hex(&vk) == c.2)
                    && dir.join(format!("keys/shard-{i}.pk")).is_file()
            });
        if cached {
            println!(
                "keys for {n} shard(s) are cached in {}",
                dir.join("keys").display()
            );
            if s.srs_part.is_none() {
                // keys from before bundles: record the SRS verifier part
                let srs = load_srs(&source, s.max_k(), &[s.max_k()])?;
                let part = SrsVerifierPart::of(srs_at(&srs, s.max_k())?);
                let path = dir.join("keys/setup.json");
                let mut v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).map_err(|e| file_err(&path, e))?)
                        .map_err(|e| file_err(&path, e))?;
                let vks = read_vk_files(dir, &s)?;
                let keys = keys_digest_of(&part, vks.iter().map(|(b, _)| b.as_slice()));
                v["srs_verifier"] = to_hex(&part.to_bytes()).into();
                v["keys_digest"] = to_hex(&keys).into();
                write_file_atomic(&path, &serde_json::to_vec_pretty(&v).unwrap_or_default())?;
                println!("recorded the SRS verifier part in {}", path.display());
            }
            return Ok(());
        }
    }
    let ks: Vec<u32> = shards.iter().map(|s| s.k).collect();
    let max_k = ks.iter().copied().max().unwrap_or(9);
    for (i, s) in shards.iter().enumerate() {
        let circuit = ShardCircuit::for_shard(&plan, s.spec(), i as u32, None)?;
        let mut cs = ConstraintSystem::default();
        ShardCircuit::configure_with_params(&mut cs, circuit.params());
        check_budget(
            "generate its keys",
            i,
            s.k,
            budget::memory_estimate(&cs, s.k),
            budget,
        )?;
    }
    let srs = load_srs(&source, max_k, &ks)?;
    let mut out = artifacts::DirWriter::new(&dir.join("keys"))?;
    let mut meta_shards = Vec::new();
    let mut vk_files = Vec::new();
    let started = Instant::now();
    for (i, s) in shards.iter().enumerate() {
        let circuit = ShardCircuit::for_shard(&plan, s.spec(), i as u32, None)?;
        let t = step(&format!(
            "shard {i} ({}/{n}): generating keys (k = {}, {} rows)",
            i + 1,
            s.k,
            s.rows
        ));
        let pk = keygen(srs_at(&srs, s.k)?, &circuit)?;
        let vk_bytes = write_verifying_key(pk.get_vk(), circuit.params());
        out.add(&format!("shard-{i}.vk"), &vk_bytes)?;
        vk_files.push(vk_bytes.clone());
        out.add(
            &format!("shard-{i}.pk"),
            &write_proving_key(&pk, circuit.params()),
        )?;
        done(t);
        meta_shards.push(serde_json::json!({
            "k": s.k,
            "vk_sha256": sha256_hex(&vk_bytes),
            "vk_repr": repr_hex(pk.get_vk()),
        }));
    }
    let part = SrsVerifierPart::of(srs_at(&srs, max_k)?);
    let keys = to_hex(&keys_digest_of(&part, vk_files.iter().map(Vec::as_slice)));
    let meta = serde_json::json!({
        "model_hash": plan.hash_hex(),
        "srs": desc,
        "srs_verifier": to_hex(&part.to_bytes()),
        "keys_digest": keys,
        "shards": meta_shards,
    });
    out.add(
        "setup.json",
        &serde_json::to_vec_pretty(&meta).unwrap_or_default(),
    )?;
    out.finish()?;
    println!(
        "wrote keys for {n} shard(s) to {} in {:.1} s (largest k = {})",
        dir.join("keys").display(),
        started.elapsed().as_secs_f64(),
        max_k
    );
    println!("model hash:  {}", plan.hash_hex());
    println!("keys digest: {keys} (publish both: verifiers of bundles check them)");
    Ok(())
}

pub(crate) fn quantized_inputs(
    plan: &CheckedPlan,
    path: &Path,
) -> Result<Vec<ndarray::ArrayD<i64>>, ProvingError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e))?;
    let expected: Vec<(String, Vec<usize>)> = plan
        .inputs
        .iter()
        .map(|i| (i.name.clone(), i.shape.clone()))
        .collect();
    let values = zkinf_compiler::parse_inputs(&text, &expected).map_err(|e| file_err(path, e))?;
    plan.inputs
        .iter()
        .map(|pi| Ok(quantize_input(pi, &values[&pi.name])?))
        .collect()
}

/// `zkinf prove DIR --input IN.json [--shard N]`: every shard, or only
/// shard `N` (re-running the cheap executor up to it).
pub fn prove(
    dir: &Path,
    input: &Path,
    shard: Option<u32>,
    budget: Option<u64>,
) -> Result<(), ProvingError> {
    let plan = artifacts::load_plan(dir)?;
    let shards = read_shards(dir, &plan)?;
    let n = shards.len();
    if let Some(s) = shard.filter(|&s| s as usize >= n) {
        return Err(ProvingError::Setup(format!(
            "this model has {n} shard(s) (0..{}); shard {s} does not exist",
            n - 1
        )));
    }
    let setup = read_setup(dir)?;
    setup.check(&plan, &shards)?;
    let q = quantized_inputs(&plan, input)?;
    let trace = execute(&plan, q.clone())?;
    let out = &plan.outputs[0];
    let out_q: Vec<i64> = trace.get(out.tensor).iter().copied().collect();
    let todo: Vec<usize> = match shard {
        Some(s) => vec![s as usize],
        None => (0..n).collect(),
    };
    let vks = read_vk_files(dir, &setup)?;
    for &i in &todo {
        let estimate = budget::memory_estimate(vks[i].1.cs(), shards[i].k);
        check_budget("prove", i, shards[i].k, estimate, budget)?;
    }
    drop(vks);
    let ks: Vec<u32> = todo.iter().map(|&i| shards[i].k).collect();
    let srs = load_srs(&srs_source(&setup)?, setup.max_k(), &ks)?;
    let mut written = Vec::new();
    let started = Instant::now();
    for &i in &todo {
        let s = &shards[i];
        let circuit = ShardCircuit::for_shard(&plan, s.spec(), i as u32, Some(&trace))?;
        let pk_path = dir.join(format!("keys/shard-{i}.pk"));
        let t = step(&format!("shard {i}: reading its proving key"));
        let pk_bytes = std::fs::read(&pk_path).map_err(|e| file_err(&pk_path, e))?;
        let pk = read_proving_key(&pk_bytes).map_err(|e| file_err(&pk_path, e))?;
        drop(pk_bytes);
        done(t);
        let t = step(&format!(
            "shard {i} ({}/{}): proving (k = {}, {} rows)",
            written.len() + 1,
            todo.len(),
            s.k,
            s.rows
        ));
        let proof = prove_shard(srs_at(&srs, s.k)?, &pk, circuit, i as u32)?;
        done(t);
        println!(
            "shard {i}: proved and self-verified ({} bytes)",
            proof.proof.len()
        );
        written.push((format!("shard-{i}.proof"), proof.to_bytes()));
    }
    let in_q: Vec<i64> = q[0].iter().copied().collect();
    let claim = serde_json::json!({
        "shards": n,
        "input": plan.inputs[0].name,
        "input_q": in_q,
        "output": out.name,
        "output_q": out_q,
    });
    let claim = serde_json::to_vec_pretty(&claim).unwrap_or_default();
    let proofs = dir.join("proofs");
    if shard.is_none() {
        let mut files: Vec<(&str, Vec<u8>)> = written
            .iter()
            .map(|(name, b)| (name.as_str(), b.clone()))
            .collect();
        files.push(("claim.json", claim));
        write_dir_atomic(&proofs, &files)?;
    } else {
        std::fs::create_dir_all(&proofs).map_err(|e| file_err(&proofs, e))?;
        for (name, bytes) in &written {
            write_file_atomic(&proofs.join(name), bytes)?;
        }
        write_file_atomic(&proofs.join("claim.json"), &claim)?;
    }
    println!(
        "proved {} of {n} shard(s) in {:.1} s -> {}",
        todo.len(),
        started.elapsed().as_secs_f64(),
        proofs.display()
    );
    Ok(())
}

/// The integers of a claimed float output (inverting the dequantization).
fn output_ints(plan: &CheckedPlan, path: &Path) -> Result<Vec<i64>, ProvingError> {
    let out = &plan.outputs[0];
    let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e))?;
    let shape = plan.info(out.tensor).shape.clone();
    let values = zkinf_compiler::parse_inputs(&text, &[(out.name.clone(), shape)])
        .map_err(|e| file_err(path, e))?;
    let v = &values[&out.name];
    Ok(match &out.dequant {
        OutputDequant::Integer => v.iter().map(|&x| x.round() as i64).collect(),
        OutputDequant::Affine {
            scales,
            zero_points,
            ..
        } if scales.len() == 1 => v
            .iter()
            .map(|&x| ((x as f32) / scales[0]).round() as i64 + zero_points[0])
            .collect(),
        OutputDequant::Affine { .. } => {
            return Err(file_err(
                path,
                "per-channel outputs cannot be claimed as floats yet",
            ))
        }
    })
}

/// Every shard's proof file (`DIR/proofs/shard-N.proof`): its bytes and
/// the proof read from them.
pub(crate) fn read_proof_files(
    dir: &Path,
    n: usize,
) -> Result<Vec<(Vec<u8>, ShardProof)>, ProvingError> {
    (0..n)
        .map(|s| {
            let p = dir.join(format!("proofs/shard-{s}.proof"));
            let bytes = std::fs::read(&p).map_err(|_| {
                ProvingError::Setup(format!(
                    "shard {s} has no proof ({} is missing)",
                    p.display()
                ))
            })?;
            let proof = ShardProof::from_bytes(&bytes).map_err(|e| file_err(&p, e))?;
            Ok((bytes, proof))
        })
        .collect()
}

/// A verifying-key file's bytes and the key read from them.
pub(crate) type VkFile = (Vec<u8>, VerifyingKey<G1Affine>);

/// Every shard's verifying-key file and key, checked against
/// `keys/setup.json` (digest and constraint system).
pub(crate) fn read_vk_files(dir: &Path, setup: &Setup) -> Result<Vec<VkFile>, ProvingError> {
    let mut out = Vec::new();
    for (s, (_, digest, repr)) in setup.shards.iter().enumerate() {
        let vp = dir.join(format!("keys/shard-{s}.vk"));
        let vk_bytes = std::fs::read(&vp).map_err(|e| file_err(&vp, e))?;
        let vk = read_verifying_key(&vk_bytes).map_err(|e| file_err(&vp, e))?;
        let d = sha256_hex(&vk_bytes);
        if &d != digest {
            let owner = setup.shards.iter().position(|(_, o, _)| *o == d);
            return Err(file_err(
                &vp,
                match owner {
                    Some(o) => format!("this is the verifying key of shard {o}, not of shard {s}"),
                    None => format!(
                        "not the verifying key set up for shard {s} (its digest differs from keys/setup.json)"
                    ),
                },
            ));
        }
        if &repr_hex(&vk) != repr {
            return Err(file_err(
                &vp,
                "this key was made for another version of the shard circuit (its constraint system differs from this zkinf's); run `zkinf setup` again",
            ));
        }
        out.push((vk_bytes, vk));
    }
    Ok(out)
}

/// `zkinf verify DIR [--input IN.json] [--output OUT.json]`.
pub fn verify(dir: &Path, input: Option<&Path>, output: Option<&Path>) -> Result<(), ProvingError> {
    let plan = artifacts::load_plan(dir)?;
    let shards = read_shards(dir, &plan)?;
    let setup = read_setup(dir)?;
    setup.check(&plan, &shards)?;
    let id = model_id(&plan);
    let proofs_dir = dir.join("proofs");
    let claim_path = proofs_dir.join("claim.json");
    let n = shards.len();
    let proofs: Vec<ShardProof> = read_proof_files(dir, n)?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let vks: Vec<_> = read_vk_files(dir, &setup)?
        .into_iter()
        .map(|(_, vk)| vk)
        .collect();
    let in_c = match input {
        Some(path) => {
            let q = quantized_inputs(&plan, path)?;
            let r = plan.inputs[0].range;
            Some(commit_tensor(
                &q[0].iter().copied().collect::<Vec<_>>(),
                Packing::for_range(r.lo, r.hi),
            ))
        }
        None => None,
    };
    let out = &plan.outputs[0];
    let out_ints = match output {
        Some(path) => output_ints(&plan, path)?,
        None => {
            let claim: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(&claim_path).map_err(|e| file_err(&claim_path, e))?,
            )
            .map_err(|e| file_err(&claim_path, e))?;
            claim["output_q"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_i64()).collect())
                .ok_or_else(|| file_err(&claim_path, "no recorded output"))?
        }
    };
    let r = plan.info(out.tensor).range;
    let out_c: Fr = commit_tensor(&out_ints, Packing::for_range(r.lo, r.hi));
    let ks: Vec<u32> = setup.shards.iter().map(|s| s.0).collect();
    let srs = verifier_srs(&setup, &ks)?;
    let t = Instant::now();
    let result = verify_chain(&srs, &vks, &proofs, id, in_c, Some(out_c));
    let failed = result.as_ref().err().and_then(|e| e.shard());
    for i in 0..n as u32 {
        let line = match (&result, failed) {
            (Ok(()), _) => "verified".to_string(),
            (Err(e), Some(f)) if f == i => format!("REJECTED: {e}"),
            (Err(_), Some(f)) if i < f => "verified".to_string(),
            _ => "not checked".to_string(),
        };
        println!("shard {i}: {line}");
    }
    result?;
    println!(
        "verified: {n} shard(s) of model {}, linked, in {:.1} ms{}",
        &plan.hash_hex()[..16],
        t.elapsed().as_secs_f64() * 1e3,
        if input.is_some() {
            ", input matches"
        } else {
            ""
        }
    );
    Ok(())
}
