//! Bundles and verdicts: a proven folder as a self-contained bundle (chain,
//! or an audit of a sample), the verification of a folder or a bundle file
//! into a [`Report`] that says what it was checked against, and the
//! auditor's check that a bundle's keys are the ones its model gives
//! ([`rebuild_keys`]).

use crate::budget::{self, memory_estimate};
use crate::claim::Claim;
use crate::error::{ClaimFileError, ProveError, Step};
use crate::folder::{read_file, write_file_atomic, Folder, Opened};
use crate::keys::keygen_vk;
use crate::witness::{output_ints, quantized_inputs};
use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::plonk::{Circuit, ConstraintSystem};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use std::path::Path;
use std::time::Instant;
use zkinf_circuits::shard::ShardCircuit;
use zkinf_circuits::{CheckedPlan, Plan};
use zkinf_verifier::{
    verify_bundle, write_verifying_key, Bundle, BundleShard, Claimed, Failure, Pins, Report,
    SrsByK, SrsVerifierPart,
};

/// The chain bundle of a proven folder: its plan, SRS verifier part, keys,
/// proofs and claim (checked against the plan first). `input` and
/// `output` (files), when given, must be the claimed input and output.
pub fn folder_bundle(
    folder: &Folder,
    input: Option<&Path>,
    output: Option<&Path>,
) -> Result<(Bundle, Claim), ProveError> {
    folder_bundle_with(folder, input, output, None)
}

/// [`folder_bundle`] with the proofs of the shards `sample` only (an
/// audit's; its record is the caller's to add).
pub(crate) fn folder_bundle_of(
    folder: &Folder,
    input: Option<&Path>,
    sample: Option<&[u32]>,
) -> Result<Bundle, ProveError> {
    Ok(folder_bundle_with(folder, input, None, sample)?.0)
}

fn folder_bundle_with(
    folder: &Folder,
    input: Option<&Path>,
    output: Option<&Path>,
    sample: Option<&[u32]>,
) -> Result<(Bundle, Claim), ProveError> {
    let Opened {
        plan,
        plan_bytes,
        shards,
        record,
    } = folder.open_with_keys()?;
    let n = shards.len();
    let claim = Claim::read(folder)?;
    let claim_err = |source: ClaimFileError| ProveError::Claim {
        path: folder.claim_path(),
        source,
    };
    claim.check(&plan, n).map_err(claim_err)?;
    if let Some(path) = input {
        let given: Vec<i64> = quantized_inputs(&plan, path)?[0].iter().copied().collect();
        claim
            .check_given(Claimed::Input, &given)
            .map_err(claim_err)?;
    }
    if let Some(path) = output {
        claim
            .check_given(Claimed::Output, &output_ints(&plan, path)?)
            .map_err(claim_err)?;
    }
    let vks = record.read_vks(folder)?;
    let proofs: Vec<Option<Vec<u8>>> = match sample {
        None => folder
            .read_proofs(n)?
            .into_iter()
            .map(|(b, _)| Some(b))
            .collect(),
        Some(s) => {
            if let Some(&shard) = s.iter().find(|&&i| i as usize >= n) {
                return Err(ProveError::NoSuchShard { shard, shards: n });
            }
            let mut v = vec![None; n];
            for (i, (b, _)) in s.iter().zip(folder.read_proofs_of(s)?) {
                v[*i as usize] = Some(b);
            }
            v
        }
    };
    let bundle = Bundle {
        plan: plan_bytes,
        srs: record.verifier_part(folder)?,
        input: claim.input_q.clone(),
        output: claim.output_q.clone(),
        shards: shards
            .iter()
            .zip(vks)
            .zip(proofs)
            .map(|((s, vk), proof)| BundleShard {
                nodes: s.spec(),
                vk: vk.bytes,
                proof,
            })
            .collect(),
        audit: None,
    };
    Ok((bundle, claim))
}

fn now_ms(started: Instant) -> impl Fn() -> f64 {
    move || started.elapsed().as_secs_f64() * 1e3
}

/// Verifies a bundle natively (no pins beyond `pins`).
fn verify(bundle: &Bundle, pins: &Pins, path: &Path) -> Result<Report, ProveError> {
    verify_bundle(bundle, pins, &now_ms(Instant::now())).map_err(|source| ProveError::Bundle {
        path: path.to_path_buf(),
        source,
    })
}

/// `zkinf verify DIR`: the folder's proofs as a chain against its keys and
/// claim; `input` and `output` (files), when given, must be the claimed
/// ones (the report's trust then says they were checked against them).
pub fn verify_folder(
    folder: &Folder,
    input: Option<&Path>,
    output: Option<&Path>,
    pins: &Pins,
) -> Result<Report, ProveError> {
    let (bundle, _) = folder_bundle(folder, input, output)?;
    let mut report = verify(&bundle, pins, &folder.claim_path())?;
    report.given(input.is_some(), output.is_some());
    Ok(report)
}

/// `zkinf verify DIR --record R --sample S`: the folder's proofs of a
/// sample as an audit against the verifier's own record and sample files
/// (their hash and randomness pinned by construction, beside `pins`).
pub fn verify_folder_audit(
    folder: &Folder,
    record: &Path,
    sample: &Path,
    input: Option<&Path>,
    pins: &Pins,
) -> Result<Report, ProveError> {
    let bundle = crate::hybrid::audit_bundle(folder, record, sample, input)?;
    let pins = own_audit_pins(&bundle, pins);
    let mut report = verify(&bundle, &pins, &folder.claim_path())?;
    report.given(input.is_some(), false);
    Ok(report)
}

/// `pins` with an audit bundle's record hash and randomness where they are
/// unset: an audit made from record and sample files the caller holds (its
/// own, or the verifier's) is checked against them.
fn own_audit_pins(bundle: &Bundle, pins: &Pins) -> Pins {
    let a = bundle.audit.as_ref();
    Pins {
        record_hash: pins
            .record_hash
            .clone()
            .or_else(|| a.map(|a| zkinf_verifier::hex(&a.record.hash()))),
        randomness: pins
            .randomness
            .clone()
            .or_else(|| a.map(|a| String::from_utf8_lossy(&a.randomness).into_owned())),
        ..pins.clone()
    }
}

/// What `export_bundle` wrote.
#[derive(Clone, Debug)]
pub struct Export {
    pub bytes: usize,
    /// the verification of the bundle before it was written
    pub report: Report,
}

/// `zkinf export-web`: the folder's proofs as one bundle file, or, with
/// `audit` (a commitment record and a sample file), the audit bundle of the
/// sampled shards' proofs; verified before it is written (atomically; an
/// audit against its own record and randomness).
pub fn export_bundle(
    folder: &Folder,
    out: &Path,
    audit: Option<(&Path, &Path)>,
    input: Option<&Path>,
) -> Result<Export, ProveError> {
    let (bundle, pins) = match audit {
        None => (folder_bundle(folder, input, None)?.0, Pins::default()),
        Some((record, sample)) => {
            let b = crate::hybrid::audit_bundle(folder, record, sample, input)?;
            let pins = own_audit_pins(&b, &Pins::default());
            (b, pins)
        }
    };
    let report = verify(&bundle, &pins, out)?;
    if let Some(failure) = report.error.clone() {
        return Err(ProveError::NotVerified {
            dir: folder.proofs_dir(),
            failure,
        });
    }
    let bytes = bundle.to_bytes();
    write_file_atomic(out, &bytes)?;
    Ok(Export {
        bytes: bytes.len(),
        report,
    })
}

/// Reads a bundle file.
pub fn read_bundle(path: &Path) -> Result<Bundle, ProveError> {
    Bundle::from_bytes(&read_file(path)?).map_err(|source| ProveError::Bundle {
        path: path.to_path_buf(),
        source,
    })
}

/// `zkinf verify-bundle`: verifies a bundle file against `pins`; with
/// `rebuild` (an SRS the verifier trusts, e.g. a ceremony file, and the
/// memory budget for key generation), every verifying key of a bundle that
/// verifies is also rebuilt from its plan and compared ([`rebuild_keys`]).
pub fn verify_bundle_file(
    path: &Path,
    pins: &Pins,
    rebuild: Option<(&ParamsKZG<Bn256>, Option<u64>)>,
) -> Result<Report, ProveError> {
    let bundle = read_bundle(path)?;
    let mut report = verify(&bundle, pins, path)?;
    if let Some((srs, budget)) = rebuild.filter(|_| report.verified) {
        match rebuild_keys(&bundle, srs, budget)? {
            None => report.keys_recomputed(),
            Some(f) => report.fail(f),
        }
    }
    Ok(report)
}

/// Rebuilds every verifying key of a bundle from its plan, its shards' node
/// ranges and `srs` (at least as large as the largest shard), and compares
/// them with the keys it carries: `None` when they are the same (the keys
/// digest then belongs to the published model and this SRS), else the
/// first difference. Key generation is deterministic, so an honest bundle
/// always rebuilds. A shard whose key generation is estimated to need more
/// than `memory_budget` bytes is refused before anything is built (the
/// bundle's plan sets the sizes, and whoever made it is not trusted).
pub fn rebuild_keys(
    bundle: &Bundle,
    srs: &ParamsKZG<Bn256>,
    memory_budget: Option<u64>,
) -> Result<Option<Failure>, ProveError> {
    if SrsVerifierPart::of(srs) != bundle.srs {
        return Ok(Some(Failure::RebuiltSrs));
    }
    let plan = Plan::from_bytes(&bundle.plan)
        .and_then(CheckedPlan::new)
        .map_err(ProveError::BundlePlan)?;
    let circuits = bundle
        .shards
        .iter()
        .enumerate()
        .map(|(i, s)| ShardCircuit::for_shard(&plan, s.nodes, i as u32, None))
        .collect::<Result<Vec<_>, _>>()?;
    let ks: Vec<u32> = circuits.iter().map(ShardCircuit::k).collect();
    for (i, (c, &k)) in circuits.iter().zip(&ks).enumerate() {
        let mut cs = ConstraintSystem::default();
        ShardCircuit::configure_with_params(&mut cs, c.params());
        budget::check(Step::Keygen, i, k, memory_estimate(&cs, k), memory_budget)?;
    }
    if let Some(&needs) = ks.iter().filter(|&&k| k > srs.k()).max() {
        return Err(ProveError::RebuildSrsTooSmall {
            has: srs.k(),
            needs,
        });
    }
    let by_k = SrsByK::from_full(srs, ks.iter().copied());
    for (i, (circuit, s)) in circuits.iter().zip(&bundle.shards).enumerate() {
        let vk = keygen_vk(crate::srs::at(&by_k, circuit.k())?, circuit)?;
        if write_verifying_key(&vk, circuit.params()) != s.vk {
            return Ok(Some(Failure::RebuiltKey { shard: i as u32 }));
        }
    }
    Ok(None)
}
