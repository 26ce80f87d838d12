//! The hybrid mode for models too large to prove whole: commit to every
//! shard boundary first ([`commit`]), let the verifier draw the sample from
//! the record's hash and randomness it gives afterwards ([`draw`]), prove
//! only the sampled shards against the record ([`prove_sample`]), bundle
//! them ([`audit_bundle`]), and answer a challenge of any other shard
//! ([`respond`], checked by [`verify_response`]).
//!
//! The sample is not a hash of the prover's own commitments (a cheater
//! could re-roll a wrong value until the sample missed it): the verifier
//! keeps the record's hash before it gives its randomness, so a record
//! changed after the randomness is known no longer matches
//! ([`zkinf_verifier::draw_sample`]).
//!
//! Files: the record is binary ([`CommitRecord`]); the sample and the
//! challenge are small JSON files naming the record by its SHA-256.

use crate::claim::Claim;
use crate::error::ProveError;
use crate::folder::{read_file, write_file_atomic, Folder, Opened};
use crate::progress::Progress;
use crate::prove::{prove_selected, ProveSummary};
use crate::record::VkFile;
use crate::saturation::Clamped;
use crate::witness::{check_saturation, run_input};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;
use zkinf_circuits::shard::{model_id, ShardCircuit};
use zkinf_verifier::{
    check_randomness, detection_probability, draw_sample, hex, keys_digest, keys_digest_of,
    verify_shard, AuditRecord, BeaconRound, Bundle, CommitRecord, Expected, ShardProof,
    MAX_SEED_BYTES,
};

/// The version of the sample and challenge files.
pub const HYBRID_FORMAT_VERSION: u32 = 1;
/// Where `zkinf commit` writes the record by default (in the folder).
pub const RECORD_FILE: &str = "commitment.rec";

/// The sample `zkinf sample` draws (JSON): the record it is for, the
/// verifier's randomness, the size and the shards drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleFile {
    pub format: u32,
    pub record_sha256: String,
    pub randomness: String,
    pub sample_size: u32,
    pub shards: Vec<u32>,
    /// the chance that this sample catches one wrong shard
    pub detection_one: f64,
}

/// A challenge of one shard of a record (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeFile {
    pub format: u32,
    pub record_sha256: String,
    pub shard: u32,
}

/// What [`commit`] made.
pub struct CommitSummary {
    pub record: CommitRecord,
    pub hash: [u8; 32],
    /// executor and commitments, in seconds
    pub secs: f64,
    pub clamped: Vec<Clamped>,
}

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

fn bad_file(path: &Path, why: impl Into<String>) -> ProveError {
    ProveError::HybridFile {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// The folder's model hash and keys digest (`vks`: its verifying-key
/// files, read once by the caller).
pub(crate) fn identity(
    folder: &Folder,
    opened: &Opened,
    vks: &[VkFile],
) -> Result<([u8; 32], [u8; 32]), ProveError> {
    let part = opened.record.verifier_part(folder)?;
    let keys = keys_digest_of(&part, vks.iter().map(|v| v.bytes.as_slice()));
    Ok((sha256(&opened.plan_bytes), keys))
}

/// Errors unless `record` is of the model `model`, the keys `keys` and
/// `n` shards (a folder's, or a bundle's).
pub(crate) fn check_record(
    record: &CommitRecord,
    (model, keys): ([u8; 32], [u8; 32]),
    n: usize,
) -> Result<(), ProveError> {
    let other = |what: String| Err(ProveError::RecordOfAnother { what });
    if record.model_hash != model {
        return other(format!(
            "of model {}, this folder's is {}",
            hex(&record.model_hash),
            hex(&model)
        ));
    }
    if record.keys_digest != keys {
        return other(format!(
            "for keys digest {}, this folder's is {}",
            hex(&record.keys_digest),
            hex(&keys)
        ));
    }
    if record.shards() != n {
        return other(format!(
            "of {} shard(s), this folder has {n}",
            record.shards()
        ));
    }
    Ok(())
}

/// Errors unless shard `i`'s circuit (with its witness) starts and ends at
/// the record's boundary commitments.
pub(crate) fn check_boundaries(
    record: &CommitRecord,
    i: usize,
    circuit: &ShardCircuit,
) -> Result<(), ProveError> {
    let inst = circuit.instances().ok_or(ProveError::NoWitness(i as u32))?;
    if record.boundaries.get(i) != Some(&inst[2]) {
        return Err(ProveError::RecordBoundary {
            shard: i,
            side: "input",
        });
    }
    if record.boundaries.get(i + 1) != Some(&inst[3]) {
        return Err(ProveError::RecordBoundary {
            shard: i,
            side: "output",
        });
    }
    Ok(())
}

/// `zkinf commit DIR --input IN`: runs the whole model with the executor
/// and writes the commitment record (model hash, keys digest, every
/// boundary commitment) to `out`, and the claim (input and output) into
/// the folder's proofs, atomically. Proves nothing.
pub fn commit(
    folder: &Folder,
    input: &Path,
    out: &Path,
    beacon: Option<BeaconRound>,
    strict: bool,
    progress: &mut dyn Progress,
) -> Result<CommitSummary, ProveError> {
    let opened = folder.open_with_keys()?;
    let vks = opened.record.read_vks(folder)?;
    let (model_hash, keys_digest) = identity(folder, &opened, &vks)?;
    drop(vks);
    let started = Instant::now();
    progress.step("running the model (integer executor)");
    let run = run_input(&opened.plan, input)?;
    progress.done();
    let clamped = check_saturation(folder, &opened.plan, &run, strict)?;
    let n = opened.shards.len();
    progress.step(&format!(
        "committing to the {} boundaries of {n} shard(s)",
        n + 1
    ));
    let mut boundaries = Vec::with_capacity(n + 1);
    for (i, s) in opened.shards.iter().enumerate() {
        let c = ShardCircuit::for_shard(&opened.plan, s.spec(), i as u32, Some(&run.trace))?;
        let inst = c.instances().ok_or(ProveError::NoWitness(i as u32))?;
        if i == 0 {
            boundaries.push(inst[2]);
        }
        boundaries.push(inst[3]);
    }
    progress.done();
    let record = CommitRecord {
        model_hash,
        keys_digest,
        beacon,
        boundaries,
    };
    let plan = &opened.plan;
    let in_q: Vec<i64> = run.quantized[0].iter().copied().collect();
    let out_q: Vec<i64> = run
        .trace
        .get(plan.outputs[0].tensor)
        .iter()
        .copied()
        .collect();
    let dir = folder.proofs_dir();
    std::fs::create_dir_all(&dir).map_err(|e| ProveError::write(&dir, e))?;
    write_file_atomic(
        &folder.claim_path(),
        &Claim::new(plan, n, in_q, out_q).to_json(),
    )?;
    write_file_atomic(out, &record.to_bytes())?;
    Ok(CommitSummary {
        hash: record.hash(),
        record,
        secs: started.elapsed().as_secs_f64(),
        clamped,
    })
}

/// Reads a commitment record file.
pub fn read_record(path: &Path) -> Result<CommitRecord, ProveError> {
    CommitRecord::from_bytes(&read_file(path)?).map_err(|source| ProveError::CommitRecord {
        path: path.to_path_buf(),
        source,
    })
}

/// `zkinf sample RECORD --seed S --size M`: the `m` shards the record must
/// prove under the verifier's randomness, written to `out` (JSON).
pub fn draw(
    record_path: &Path,
    randomness: &str,
    m: u32,
    out: &Path,
) -> Result<SampleFile, ProveError> {
    let record = read_record(record_path)?;
    let n = record.shards();
    if m == 0 || m as usize > n {
        return Err(ProveError::Sample {
            sample: m,
            shards: n,
        });
    }
    if randomness.is_empty() || randomness.len() > MAX_SEED_BYTES {
        return Err(bad_file(
            record_path,
            format!("the randomness must have 1 to {MAX_SEED_BYTES} bytes"),
        ));
    }
    check_randomness(&record, randomness.as_bytes())
        .map_err(|e| bad_file(record_path, e.to_string()))?;
    let hash = record.hash();
    let shards = draw_sample(&hash, randomness.as_bytes(), n, m);
    let s = SampleFile {
        format: HYBRID_FORMAT_VERSION,
        record_sha256: hex(&hash),
        randomness: randomness.to_string(),
        sample_size: m,
        detection_one: detection_probability(n, shards.len(), 1),
        shards,
    };
    write_json(out, &s)?;
    Ok(s)
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), ProveError> {
    let mut bytes = serde_json::to_vec_pretty(v).expect("a hybrid file serializes");
    bytes.push(b'\n');
    write_file_atomic(path, &bytes)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path, what: &str) -> Result<T, ProveError> {
    let bytes = read_file(path)?;
    serde_json::from_slice(&bytes).map_err(|e| bad_file(path, format!("not a {what} file ({e})")))
}

fn check_format(path: &Path, format: u32) -> Result<(), ProveError> {
    if format != HYBRID_FORMAT_VERSION {
        return Err(bad_file(
            path,
            format!("format version {format} is not supported (this zkinf reads version {HYBRID_FORMAT_VERSION})"),
        ));
    }
    Ok(())
}

fn check_names_record(path: &Path, named: &str, record: &CommitRecord) -> Result<(), ProveError> {
    let hash = hex(&record.hash());
    if !named.eq_ignore_ascii_case(&hash) {
        return Err(bad_file(
            path,
            format!("is for record {named}, not for this record ({hash})"),
        ));
    }
    Ok(())
}

/// Reads a sample file for `record`: its record hash, and its shards
/// drawn again from the record and the randomness.
pub fn read_sample(path: &Path, record: &CommitRecord) -> Result<SampleFile, ProveError> {
    let s: SampleFile = read_json(path, "sample")?;
    check_format(path, s.format)?;
    check_names_record(path, &s.record_sha256, record)?;
    let n = record.shards();
    if s.sample_size == 0 || s.sample_size as usize > n {
        return Err(ProveError::Sample {
            sample: s.sample_size,
            shards: n,
        });
    }
    check_randomness(record, s.randomness.as_bytes()).map_err(|e| bad_file(path, e.to_string()))?;
    let drawn = draw_sample(&record.hash(), s.randomness.as_bytes(), n, s.sample_size);
    if drawn != s.shards {
        return Err(bad_file(
            path,
            format!(
                "lists shards {:?}, but its record and randomness draw {drawn:?}",
                s.shards
            ),
        ));
    }
    Ok(s)
}

/// `zkinf prove DIR --input IN --record R --shards-of SAMPLE`: proves the
/// sampled shards only, each against the record's boundaries.
pub fn prove_sample(
    folder: &Folder,
    input: &Path,
    record_path: &Path,
    sample_path: &Path,
    budget: Option<u64>,
    strict: bool,
    progress: &mut dyn Progress,
) -> Result<ProveSummary, ProveError> {
    let record = read_record(record_path)?;
    let sample = read_sample(sample_path, &record)?;
    prove_selected(
        folder,
        input,
        Some(&sample.shards),
        Some(&record),
        budget,
        strict,
        progress,
    )
}

/// The audit bundle of a folder whose sampled shards are proven: the
/// chain bundle's plan, keys and claim, the proofs of the sample only, the
/// record and the randomness.
pub fn audit_bundle(
    folder: &Folder,
    record_path: &Path,
    sample_path: &Path,
    input: Option<&Path>,
) -> Result<Bundle, ProveError> {
    let record = read_record(record_path)?;
    let sample = read_sample(sample_path, &record)?;
    let mut bundle = crate::bundle::folder_bundle_of(folder, input, Some(&sample.shards))?;
    let id = (sha256(&bundle.plan), keys_digest(&bundle));
    check_record(&record, id, bundle.shards.len())?;
    bundle.audit = Some(AuditRecord {
        sample: sample.sample_size,
        randomness: sample.randomness.into_bytes(),
        record,
    });
    Ok(bundle)
}

/// `zkinf challenge RECORD --shard J`: the challenge of shard `J`.
pub fn challenge(record_path: &Path, shard: u32, out: &Path) -> Result<ChallengeFile, ProveError> {
    let record = read_record(record_path)?;
    let n = record.shards();
    if shard as usize >= n {
        return Err(ProveError::NoSuchShard { shard, shards: n });
    }
    let c = ChallengeFile {
        format: HYBRID_FORMAT_VERSION,
        record_sha256: hex(&record.hash()),
        shard,
    };
    write_json(out, &c)?;
    Ok(c)
}

/// Reads a challenge of `record`.
pub fn read_challenge(path: &Path, record: &CommitRecord) -> Result<ChallengeFile, ProveError> {
    let c: ChallengeFile = read_json(path, "challenge")?;
    check_format(path, c.format)?;
    check_names_record(path, &c.record_sha256, record)?;
    if c.shard as usize >= record.shards() {
        return Err(ProveError::NoSuchShard {
            shard: c.shard,
            shards: record.shards(),
        });
    }
    Ok(c)
}

/// `zkinf respond DIR --input IN --record R --challenge C`: proves the
/// challenged shard against the record (refused when its boundaries on
/// this input are not the record's) and copies the proof to `out`.
#[allow(clippy::too_many_arguments)]
pub fn respond(
    folder: &Folder,
    input: &Path,
    record_path: &Path,
    challenge_path: &Path,
    out: &Path,
    budget: Option<u64>,
    strict: bool,
    progress: &mut dyn Progress,
) -> Result<(ProveSummary, ChallengeFile), ProveError> {
    let record = read_record(record_path)?;
    let c = read_challenge(challenge_path, &record)?;
    let summary = prove_selected(
        folder,
        input,
        Some(&[c.shard]),
        Some(&record),
        budget,
        strict,
        progress,
    )?;
    write_file_atomic(out, &read_file(&folder.proof_path(c.shard as usize))?)?;
    Ok((summary, c))
}

/// A response checked against its record.
#[derive(Clone, Debug)]
pub struct ResponseReport {
    pub shard: u32,
    pub k: u32,
    pub record_hash: String,
    pub ms: f64,
}

/// `zkinf verify-response DIR --record R --challenge C --response P`: the
/// response is a valid proof of the challenged shard, of this folder's
/// model and keys, starting and ending at the record's boundary
/// commitments.
pub fn verify_response(
    folder: &Folder,
    record_path: &Path,
    challenge_path: &Path,
    response: &Path,
) -> Result<ResponseReport, ProveError> {
    let started = Instant::now();
    let record = read_record(record_path)?;
    let c = read_challenge(challenge_path, &record)?;
    let opened = folder.open_with_keys()?;
    let vks = opened.record.read_vks(folder)?;
    check_record(
        &record,
        identity(folder, &opened, &vks)?,
        opened.shards.len(),
    )?;
    let j = c.shard as usize;
    let proof =
        ShardProof::from_bytes(&read_file(response)?).map_err(|source| ProveError::Proof {
            path: response.to_path_buf(),
            source,
        })?;
    let vk = vks[j].key(&folder.vk_path(j))?;
    drop(vks);
    let k = vk.get_domain().k();
    let part = opened.record.verifier_part(folder)?;
    let expected = Expected {
        model_id: Some(model_id(&opened.plan)),
        shard: c.shard,
        input: Some(record.boundaries[j]),
        output: Some(record.boundaries[j + 1]),
    };
    verify_shard(&part.params(k), &vk, &proof, &expected)
        .map_err(|e| ProveError::Response(e.to_string()))?;
    Ok(ResponseReport {
        shard: c.shard,
        k,
        record_hash: hex(&record.hash()),
        ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

/// The default record path of a folder.
pub fn default_record(folder: &Folder) -> PathBuf {
    folder.dir.join(RECORD_FILE)
}
