//! Proving: one shard circuit into a self-checked proof ([`prove_shard`]),
//! and a compiled folder's shards, all or some, into `proofs/`
//! ([`prove_folder`]). Shards are independent jobs: proving shard N needs
//! only the folder and the input (the cheap executor reruns the model up to
//! it), so they can run on as many machines as there are shards.

use crate::budget;
use crate::claim::Claim;
use crate::error::{ProveError, Step};
use crate::folder::{read_file, write_dir_atomic, write_file_atomic, Folder, Opened};
use crate::keys::{keygen, read_proving_key, write_proving_key};
use crate::progress::Progress;
use crate::srs;
use crate::witness::{check_saturation, run_input};
use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::{create_proof, ProvingKey};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::ProverSHPLONK;
use halo2_proofs::transcript::{Blake2bWrite, Challenge255, TranscriptWriterBuffer};
use std::path::{Path, PathBuf};
use std::time::Instant;
use zkinf_circuits::shard::ShardCircuit;
use zkinf_verifier::{
    verify_shard, write_verifying_key, CommitRecord, Expected, ShardProof, Transcript,
};

/// Proves one shard and verifies the proof before returning it.
pub fn prove_shard(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: ShardCircuit,
    shard: u32,
) -> Result<ShardProof, ProveError> {
    let inst = circuit.instances().ok_or(ProveError::NoWitness(shard))?;
    let instances: [_; 4] = [inst[0], inst[1], inst[2], inst[3]];
    let mut t = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        params,
        pk,
        &[circuit],
        &[&[&instances]],
        rand::rngs::OsRng,
        &mut t,
    )
    .map_err(|source| ProveError::Proving { shard, source })?;
    let proof = ShardProof {
        transcript: Transcript::Blake2b,
        shard,
        instances,
        proof: t.finalize(),
    };
    verify_shard(
        params,
        pk.get_vk(),
        &proof,
        &Expected {
            model_id: Some(instances[0]),
            shard,
            input: None,
            output: None,
        },
    )
    .map_err(ProveError::SelfCheck)?;
    Ok(proof)
}

/// What `prove_folder` did.
#[derive(Clone, Debug)]
pub struct ProveSummary {
    /// the shards proven, with their proofs' sizes in bytes
    pub proved: Vec<(usize, usize)>,
    /// the model's shard count
    pub shards: usize,
    pub secs: f64,
    pub proofs_dir: PathBuf,
    /// values clamped outside their calibrated ranges (the proof is of the
    /// clamped run: the CLI warns)
    pub clamped: Vec<crate::saturation::Clamped>,
}

/// Proves every shard of `folder` on the input file `input`, or only shard
/// `only`, into `proofs/` with the claim record (atomically: every shard's
/// proof as one folder, or one shard's files). Each proof is verified
/// before it is written; a shard whose estimated memory exceeds `budget`
/// is refused before anything is built.
pub fn prove_folder(
    folder: &Folder,
    input: &Path,
    only: Option<u32>,
    budget: Option<u64>,
    progress: &mut dyn Progress,
) -> Result<ProveSummary, ProveError> {
    prove_folder_with(folder, input, only, budget, false, progress)
}

/// [`prove_folder`], refusing (with `strict`) an input any value of which
/// is clamped outside its calibrated range, before proving anything.
pub fn prove_folder_with(
    folder: &Folder,
    input: &Path,
    only: Option<u32>,
    budget: Option<u64>,
    strict: bool,
    progress: &mut dyn Progress,
) -> Result<ProveSummary, ProveError> {
    let only: Option<Vec<u32>> = only.map(|s| vec![s]);
    prove_selected(
        folder,
        input,
        only.as_deref(),
        None,
        budget,
        strict,
        progress,
    )
}

/// Proves the shards `only` (every shard when `None`; each index checked),
/// and, with a commitment record `against`, first checks that every one of
/// them starts and ends at the record's boundary commitments on this input
/// (a proof of a shard is a proof against the record only then).
pub(crate) fn prove_selected(
    folder: &Folder,
    input: &Path,
    only: Option<&[u32]>,
    against: Option<&CommitRecord>,
    budget: Option<u64>,
    strict: bool,
    progress: &mut dyn Progress,
) -> Result<ProveSummary, ProveError> {
    let opened = folder.open_with_keys()?;
    let vks = opened.record.read_vks(folder)?;
    if let Some(r) = against {
        let id = crate::hybrid::identity(folder, &opened, &vks)?;
        crate::hybrid::check_record(r, id, opened.shards.len())?;
    }
    let Opened {
        plan,
        shards,
        record,
        ..
    } = opened;
    let n = shards.len();
    if let Some(&shard) = only.into_iter().flatten().find(|&&s| s as usize >= n) {
        return Err(ProveError::NoSuchShard { shard, shards: n });
    }
    let run = run_input(&plan, input)?;
    let clamped = check_saturation(folder, &plan, &run, strict)?;
    let (q, trace) = (run.quantized, run.trace);
    let out_q: Vec<i64> = trace.get(plan.outputs[0].tensor).iter().copied().collect();
    let todo: Vec<usize> = match only {
        Some(s) => s.iter().map(|&i| i as usize).collect(),
        None => (0..n).collect(),
    };
    if let Some(r) = against {
        for &i in &todo {
            let c = ShardCircuit::for_shard(&plan, shards[i].spec(), i as u32, Some(&trace))?;
            crate::hybrid::check_boundaries(r, i, &c)?;
        }
    }
    for &i in &todo {
        let estimate = vks[i].prove_memory;
        budget::check(Step::Prove, i, shards[i].k, estimate, budget)?;
    }
    drop(vks);
    let ks: Vec<u32> = todo.iter().map(|&i| shards[i].k).collect();
    let srs = srs::load_by_k(&record.srs, record.max_k(), &ks, progress)?;
    let started = Instant::now();
    let mut eta = crate::progress::Eta::new(&ks);
    let mut written = Vec::new();
    let mut proved = Vec::new();
    for &i in &todo {
        let s = &shards[i];
        let circuit = ShardCircuit::for_shard(&plan, s.spec(), i as u32, Some(&trace))?;
        let pk_path = folder.pk_path(i);
        let pk = if pk_path.is_file() {
            progress.step(&format!("shard {i}: reading its proving key"));
            read_proving_key(&read_file(&pk_path)?).map_err(|source| ProveError::Key {
                path: pk_path,
                source,
            })?
        } else {
            // a verifying-key-only setup: the proving key is made now (the
            // same as setup's: deterministic), checked against the recorded
            // verifying key, and kept
            progress.step(&format!(
                "shard {i}: generating its proving key (set up with verifying keys only; kept for the next proof)"
            ));
            let pk = keygen(srs::at(&srs, s.k)?, &circuit)?;
            let vk_bytes = write_verifying_key(pk.get_vk(), circuit.params());
            if crate::record::sha256_hex(&vk_bytes) != record.shards[i].vk_sha256 {
                return Err(ProveError::ForeignKey {
                    path: folder.vk_path(i),
                    shard: i,
                });
            }
            write_file_atomic(&pk_path, &write_proving_key(&pk, circuit.params()))?;
            pk
        };
        progress.done();
        progress.step(&format!(
            "shard {i} ({}/{}): proving (k = {}, {} rows{})",
            proved.len() + 1,
            todo.len(),
            s.k,
            s.rows,
            eta.left()
        ));
        let proof = prove_shard(srs::at(&srs, s.k)?, &pk, circuit, i as u32)?;
        progress.done();
        eta.finished(s.k);
        proved.push((i, proof.proof.len()));
        written.push((format!("shard-{i}.proof"), proof.to_bytes()));
    }
    let in_q: Vec<i64> = q[0].iter().copied().collect();
    let claim = Claim::new(&plan, n, in_q, out_q).to_json();
    let dir = folder.proofs_dir();
    if only.is_none() && against.is_none() {
        let mut files: Vec<(&str, Vec<u8>)> = written
            .iter()
            .map(|(name, b)| (name.as_str(), b.clone()))
            .collect();
        files.push((crate::folder::CLAIM_FILE, claim));
        write_dir_atomic(&dir, &files)?;
    } else {
        std::fs::create_dir_all(&dir).map_err(|e| ProveError::write(&dir, e))?;
        for (name, bytes) in &written {
            write_file_atomic(&dir.join(name), bytes)?;
        }
        write_file_atomic(&folder.claim_path(), &claim)?;
    }
    Ok(ProveSummary {
        proved,
        shards: n,
        secs: started.elapsed().as_secs_f64(),
        proofs_dir: dir,
        clamped,
    })
}
