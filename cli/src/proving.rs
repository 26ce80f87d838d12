//! `zkinf setup`, `prove` and `verify` over a compiled folder:
//! `DIR/keys/` (verifying and proving keys of every shard, plus `setup.json`
//! naming the model and SRS they belong to) and `DIR/proofs/` (one proof per
//! shard and `claim.json`, the claimed output integers), each written
//! atomically.

use crate::artifacts::{self, write_dir_atomic};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::ProvingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use std::path::{Path, PathBuf};
use std::time::Instant;
use zkinf_circuits::poseidon::{commit_tensor, Packing};
use zkinf_circuits::shard::{model_id, ShardCircuit};
use zkinf_circuits::{execute, quantize_input, CheckedPlan, OutputDequant};
use zkinf_prover::srs::{self, SrsSource};
use zkinf_prover::{keygen, prove_shard};
use zkinf_verifier::{read_verifying_key, verify_chain, ShardProof};

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

fn file_err(path: &Path, reason: impl ToString) -> ProvingError {
    ProvingError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn step(what: &str) -> Instant {
    eprintln!("[zkinf] {what} ...");
    Instant::now()
}

fn done(t: Instant) {
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

struct Setup {
    model_hash: String,
    k: u32,
    srs: String,
}

fn read_setup(dir: &Path) -> Result<Setup, ProvingError> {
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
    Ok(Setup {
        model_hash: get("model_hash")?,
        k: v["k"]
            .as_u64()
            .ok_or_else(|| file_err(&path, "missing 'k'"))? as u32,
        srs: get("srs")?,
    })
}

fn load_params(setup: &Setup) -> Result<ParamsKZG<Bn256>, ProvingError> {
    let src = srs_from_descriptor(&setup.srs)
        .ok_or_else(|| ProvingError::Setup(format!("unknown SRS '{}'", setup.srs)))?;
    Ok(srs::load(&src, setup.k, &mut |m| eprintln!("[zkinf] {m}"))?)
}

/// `zkinf setup DIR [--srs FILE | --dev-srs]`.
pub fn setup(dir: &Path, srs_file: Option<PathBuf>, dev: bool) -> Result<(), ProvingError> {
    let plan = artifacts::load_plan(dir)?;
    let circuit = ShardCircuit::new(plan.clone(), 0, None)?;
    let k = circuit.k();
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
    let hash = plan.hash_hex();
    if let Ok(s) = read_setup(dir) {
        let keys_ok =
            dir.join("keys/shard-0.vk").is_file() && dir.join("keys/shard-0.pk").is_file();
        if s.model_hash == hash
            && s.k == k
            && s.srs == desc
            && keys_ok
            && read_verifying_key(&std::fs::read(dir.join("keys/shard-0.vk")).unwrap_or_default())
                .is_ok()
        {
            println!(
                "keys for {} shard(s) are cached in {} (k = {k})",
                1,
                dir.join("keys").display()
            );
            return Ok(());
        }
    }
    let t = step(&format!("loading the SRS (2^{k} points)"));
    let params = srs::load(&source, k, &mut |m| eprintln!("[zkinf] {m}"))?;
    done(t);
    let t = step(&format!("generating keys for shard 0 (k = {k})"));
    let pk = keygen(&params, &circuit)?;
    done(t);
    let vk_bytes = pk.get_vk().to_bytes(SerdeFormat::RawBytes);
    let pk_bytes = pk.to_bytes(SerdeFormat::RawBytes);
    let meta = serde_json::json!({ "model_hash": hash, "k": k, "srs": desc, "shards": 1 });
    write_dir_atomic(
        &dir.join("keys"),
        &[
            ("shard-0.vk", vk_bytes),
            ("shard-0.pk", pk_bytes),
            (
                "setup.json",
                serde_json::to_vec_pretty(&meta).unwrap_or_default(),
            ),
        ],
    )?;
    println!(
        "wrote keys for 1 shard to {} (k = {k})",
        dir.join("keys").display()
    );
    Ok(())
}

fn quantized_inputs(
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

/// `zkinf prove DIR --input IN.json [--shard N]`.
pub fn prove(dir: &Path, input: &Path, shard: Option<u32>) -> Result<(), ProvingError> {
    let plan = artifacts::load_plan(dir)?;
    if shard.is_some_and(|s| s != 0) {
        return Err(ProvingError::Setup(format!(
            "this model has 1 shard; shard {} does not exist",
            shard.unwrap_or(0)
        )));
    }
    let setup = read_setup(dir)?;
    if setup.model_hash != plan.hash_hex() {
        return Err(ProvingError::Setup(
            "the keys in keys/ belong to another model; run `zkinf setup` again".into(),
        ));
    }
    let q = quantized_inputs(&plan, input)?;
    let trace = execute(&plan, q)?;
    let out = &plan.outputs[0];
    let out_q: Vec<i64> = trace.get(out.tensor).iter().copied().collect();
    let circuit = ShardCircuit::new(plan.clone(), 0, Some(&trace))?;
    let params = load_params(&setup)?;
    let t = step("reading the proving key of shard 0");
    let pk_path = dir.join("keys/shard-0.pk");
    let pk_bytes = std::fs::read(&pk_path).map_err(|e| file_err(&pk_path, e))?;
    let pk = ProvingKey::<G1Affine>::read::<_, ShardCircuit>(
        &mut pk_bytes.as_slice(),
        SerdeFormat::RawBytes,
        (),
    )
    .map_err(|e| file_err(&pk_path, format!("corrupt proving key ({e})")))?;
    done(t);
    let t = step(&format!("proving shard 0 (k = {})", setup.k));
    let proof = prove_shard(&params, &pk, circuit, 0)?;
    done(t);
    let claim = serde_json::json!({ "shards": 1, "output": out.name, "output_q": out_q });
    write_dir_atomic(
        &dir.join("proofs"),
        &[
            ("shard-0.proof", proof.to_bytes()),
            (
                "claim.json",
                serde_json::to_vec_pretty(&claim).unwrap_or_default(),
            ),
        ],
    )?;
    println!(
        "shard 0: proved and self-verified ({} bytes) -> {}",
        proof.proof.len(),
        dir.join("proofs").display()
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

/// `zkinf verify DIR [--input IN.json] [--output OUT.json]`.
pub fn verify(dir: &Path, input: Option<&Path>, output: Option<&Path>) -> Result<(), ProvingError> {
    let plan = artifacts::load_plan(dir)?;
    let setup = read_setup(dir)?;
    let id = model_id(&plan);
    let proofs_dir = dir.join("proofs");
    let claim_path = proofs_dir.join("claim.json");
    let claim: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&claim_path).map_err(|e| file_err(&claim_path, e))?,
    )
    .map_err(|e| file_err(&claim_path, e))?;
    let shards = claim["shards"].as_u64().unwrap_or(0) as usize;
    let mut proofs = Vec::new();
    let mut vks = Vec::new();
    for s in 0..shards.max(1) {
        let p = proofs_dir.join(format!("shard-{s}.proof"));
        let bytes = std::fs::read(&p).map_err(|_| {
            ProvingError::Setup(format!(
                "shard {s} has no proof ({} is missing)",
                p.display()
            ))
        })?;
        proofs.push(ShardProof::from_bytes(&bytes).map_err(|e| file_err(&p, e))?);
        let vp = dir.join(format!("keys/shard-{s}.vk"));
        vks.push(
            read_verifying_key(&std::fs::read(&vp).map_err(|e| file_err(&vp, e))?)
                .map_err(|e| file_err(&vp, e))?,
        );
    }
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
        None => claim["output_q"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_i64()).collect())
            .ok_or_else(|| file_err(&claim_path, "no recorded output"))?,
    };
    let r = plan.info(out.tensor).range;
    let out_c: Fr = commit_tensor(&out_ints, Packing::for_range(r.lo, r.hi));
    let params = load_params(&setup)?;
    let t = Instant::now();
    let result = verify_chain(&params, &vks, &proofs, id, in_c, Some(out_c));
    for p in &proofs {
        let ok = result.is_ok()
            || !matches!(&result, Err(e) if e.to_string().contains(&format!("shard {}", p.shard)));
        println!(
            "shard {}: {}",
            p.shard,
            if ok && result.is_ok() {
                "verified"
            } else if ok {
                "checked"
            } else {
                "REJECTED"
            }
        );
    }
    result?;
    println!(
        "verified: {} shard(s) of model {} in {:.1} ms{}",
        proofs.len(),
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
