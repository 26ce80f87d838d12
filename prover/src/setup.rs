//! `zkinf setup`: the keys of every shard of a compiled folder
//! (`keys/shard-N.{pk,vk}` and the setup record), written atomically as one
//! folder; valid cached keys made from the same SRS are reused.

use crate::budget::{self, memory_estimate};
use crate::error::{ProveError, Step};
use crate::folder::{write_file_atomic, DirWriter, Folder};
use crate::keys::{keygen, keygen_vk, write_proving_key};
use crate::progress::Progress;
use crate::record::{sha256_hex, vk_repr, SetupRecord, ShardKeys};
use crate::srs::{self, SrsSource};
use halo2_proofs::plonk::{Circuit, ConstraintSystem};
use std::time::Instant;
use zkinf_circuits::shard::ShardCircuit;
use zkinf_verifier::{hex, read_verifying_key, write_verifying_key, SrsVerifierPart};

/// What `setup` did.
#[derive(Clone, Debug)]
pub struct SetupSummary {
    pub shards: usize,
    /// the keys on disk were valid and kept
    pub cached: bool,
    /// the cached record was brought up to date (its SRS verifier part,
    /// keys digest or node ranges)
    pub upgraded: bool,
    pub max_k: u32,
    pub secs: f64,
    pub record: SetupRecord,
}

impl SetupSummary {
    pub fn keys_digest(&self) -> &str {
        self.record.keys_digest.as_deref().unwrap_or("")
    }
}

/// Makes (or reuses) the keys of every shard of `folder` from `source`,
/// refusing before building anything a shard whose estimated memory
/// exceeds `budget`.
pub fn setup(
    folder: &Folder,
    source: SrsSource,
    budget: Option<u64>,
    progress: &mut dyn Progress,
) -> Result<SetupSummary, ProveError> {
    setup_with(folder, source, budget, false, progress)
}

/// [`setup`]; with `vk_only`, the verifying keys and the record only (the
/// keys digest and every check are the same): `zkinf prove` makes a
/// shard's proving key when it first proves that shard, and keeps it. For
/// models whose proving keys do not fit on disk, or the hybrid mode, where
/// only the sampled shards are proven.
pub fn setup_with(
    folder: &Folder,
    source: SrsSource,
    budget: Option<u64>,
    vk_only: bool,
    progress: &mut dyn Progress,
) -> Result<SetupSummary, ProveError> {
    let started = Instant::now();
    let plan = folder.load_plan()?;
    let shards = folder.load_shards(&plan)?;
    let n = shards.len();
    if let Ok(mut r) = SetupRecord::read(folder) {
        let cached = (r.srs == source && r.check(&plan, &shards).is_ok())
            .then(|| r.keys_on_disk(folder, vk_only))
            .flatten();
        if let Some(vks) = cached {
            // keys from before bundles: record the SRS verifier part
            let part = match r.srs_part {
                Some(p) => p,
                None => SrsVerifierPart::of(&srs::load(&r.srs, r.max_k(), progress)?),
            };
            // the digest to publish is recomputed from the keys on disk,
            // never taken from the record; and ranges missing from an older
            // record are filled in
            let digest = SetupRecord::digest_of(&part, vks.iter().map(|v| v.bytes.as_slice()));
            let upgraded = r.srs_part.is_none()
                || r.keys_digest.as_deref() != Some(digest.as_str())
                || r.shards
                    .iter()
                    .any(|k| k.start.is_none() || k.end.is_none());
            if upgraded {
                r.srs_part = Some(part);
                r.keys_digest = Some(digest);
                for (k, s) in r.shards.iter_mut().zip(&shards) {
                    (k.start, k.end) = (Some(s.start), Some(s.end));
                }
                write_file_atomic(&folder.setup_path(), &r.to_json())?;
            }
            return Ok(SetupSummary {
                shards: n,
                cached: true,
                upgraded,
                max_k: r.max_k(),
                secs: started.elapsed().as_secs_f64(),
                record: r,
            });
        }
    }
    let ks: Vec<u32> = shards.iter().map(|s| s.k).collect();
    let max_k = ks.iter().copied().max().unwrap_or(9);
    for (i, s) in shards.iter().enumerate() {
        let circuit = ShardCircuit::for_shard(&plan, s.spec(), i as u32, None)?;
        let mut cs = ConstraintSystem::default();
        ShardCircuit::configure_with_params(&mut cs, circuit.params());
        budget::check(Step::Keygen, i, s.k, memory_estimate(&cs, s.k), budget)?;
    }
    let srs = srs::load_by_k(&source, max_k, &ks, progress)?;
    let part = SrsVerifierPart::of(srs::at(&srs, max_k)?);
    // an interrupted setup of the same plan and SRS left its keys: kept
    let mut out = DirWriter::resumable(&folder.keys_dir())?;
    let stamp = format!(
        "zkinf setup of plan {} with SRS {} ({})\n",
        plan.hash_hex(),
        source.descriptor(),
        hex(&part.to_bytes())
    );
    let resuming = out.resume_if(stamp.as_bytes())?;
    let mut keys = Vec::new();
    let mut vk_files = Vec::new();
    let mut eta = crate::progress::Eta::new(&ks);
    for (i, s) in shards.iter().enumerate() {
        let staged = (resuming && (vk_only || out.staged_exists(&format!("shard-{i}.pk"))))
            .then(|| out.staged(&format!("shard-{i}.vk")))
            .flatten()
            .and_then(|b| Some((read_verifying_key(&b).ok()?, b)));
        if let Some((vk, vk_bytes)) = staged {
            progress.note(&format!(
                "shard {i} ({}/{n}): keys kept from an interrupted setup of this plan and SRS",
                i + 1
            ));
            keys.push(ShardKeys {
                start: Some(s.start),
                end: Some(s.end),
                k: s.k,
                vk_sha256: sha256_hex(&vk_bytes),
                vk_repr: vk_repr(&vk),
            });
            vk_files.push(vk_bytes);
            eta.skipped(s.k);
            continue;
        }
        let circuit = ShardCircuit::for_shard(&plan, s.spec(), i as u32, None)?;
        progress.step(&format!(
            "shard {i} ({}/{n}): generating {} (k = {}, {} rows{})",
            i + 1,
            if vk_only { "its verifying key" } else { "keys" },
            s.k,
            s.rows,
            eta.left()
        ));
        let params = srs::at(&srs, s.k)?;
        let vk = if vk_only {
            keygen_vk(params, &circuit)?
        } else {
            let pk = keygen(params, &circuit)?;
            out.add(
                &format!("shard-{i}.pk"),
                &write_proving_key(&pk, circuit.params()),
            )?;
            pk.get_vk().clone()
        };
        let vk_bytes = write_verifying_key(&vk, circuit.params());
        out.add(&format!("shard-{i}.vk"), &vk_bytes)?;
        progress.done();
        eta.finished(s.k);
        keys.push(ShardKeys {
            start: Some(s.start),
            end: Some(s.end),
            k: s.k,
            vk_sha256: sha256_hex(&vk_bytes),
            vk_repr: vk_repr(&vk),
        });
        // the bytes only: a decoded key holds its domain's FFT tables
        vk_files.push(vk_bytes);
    }
    let record = SetupRecord {
        model_hash: plan.hash_hex(),
        srs: source,
        srs_part: Some(part),
        keys_digest: Some(SetupRecord::digest_of(
            &part,
            vk_files.iter().map(Vec::as_slice),
        )),
        shards: keys,
    };
    out.add(crate::folder::SETUP_FILE, &record.to_json())?;
    out.finish()?;
    Ok(SetupSummary {
        shards: n,
        cached: false,
        upgraded: false,
        max_k,
        secs: started.elapsed().as_secs_f64(),
        record,
    })
}
