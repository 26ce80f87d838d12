//! A compiled folder and what the pipeline adds to it:
//!
//! ```text
//! DIR/plan.bin            the Plan (its SHA-256 is the model hash)
//! DIR/report.json         the compile report
//! DIR/shards.json         the cut into shards
//! DIR/keys/shard-N.pk|vk  each shard's keys
//! DIR/keys/setup.json     the setup record (record.rs)
//! DIR/proofs/shard-N.proof
//! DIR/proofs/claim.json   the claimed input and output (claim.rs)
//! ```
//!
//! Every write is atomic: a file goes to a temporary sibling that is renamed
//! into place, a folder is written as a temporary sibling folder that
//! replaces the old one only once complete.

use crate::error::ProveError;
use crate::record::SetupRecord;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use zkinf_circuits::shard::{check_partition, ShardSpec, SizedShard};
use zkinf_circuits::{CheckedPlan, Plan};
use zkinf_compiler::Partition;
use zkinf_verifier::ShardProof;

pub const PLAN_FILE: &str = "plan.bin";
pub const REPORT_FILE: &str = "report.json";
pub const SHARDS_FILE: &str = "shards.json";
pub const SETUP_FILE: &str = "setup.json";
pub const CLAIM_FILE: &str = "claim.json";

/// The paths of a compiled folder.
#[derive(Clone, Debug)]
pub struct Folder {
    pub dir: PathBuf,
}

impl Folder {
    pub fn new(dir: impl Into<PathBuf>) -> Folder {
        Folder { dir: dir.into() }
    }
    pub fn plan_path(&self) -> PathBuf {
        self.dir.join(PLAN_FILE)
    }
    pub fn shards_path(&self) -> PathBuf {
        self.dir.join(SHARDS_FILE)
    }
    pub fn keys_dir(&self) -> PathBuf {
        self.dir.join("keys")
    }
    pub fn setup_path(&self) -> PathBuf {
        self.keys_dir().join(SETUP_FILE)
    }
    pub fn vk_path(&self, shard: usize) -> PathBuf {
        self.keys_dir().join(format!("shard-{shard}.vk"))
    }
    pub fn pk_path(&self, shard: usize) -> PathBuf {
        self.keys_dir().join(format!("shard-{shard}.pk"))
    }
    pub fn proofs_dir(&self) -> PathBuf {
        self.dir.join("proofs")
    }
    pub fn proof_path(&self, shard: usize) -> PathBuf {
        self.proofs_dir().join(format!("shard-{shard}.proof"))
    }
    pub fn report_path(&self) -> PathBuf {
        self.dir.join(REPORT_FILE)
    }
    pub fn claim_path(&self) -> PathBuf {
        self.proofs_dir().join(CLAIM_FILE)
    }

    /// The plan file's bytes (their SHA-256 is the model hash).
    pub fn plan_bytes(&self) -> Result<Vec<u8>, ProveError> {
        let p = self.plan_path();
        fs::read(&p).map_err(|e| ProveError::read(p, e))
    }

    /// Reads and checks the plan.
    pub fn load_plan(&self) -> Result<CheckedPlan, ProveError> {
        Ok(self.load_plan_and_bytes()?.0)
    }

    /// The plan and the bytes it was read from (one read: the model hash of
    /// the bytes is the plan's).
    pub fn load_plan_and_bytes(&self) -> Result<(CheckedPlan, Vec<u8>), ProveError> {
        let path = self.plan_path();
        let bytes = self.plan_bytes()?;
        let plan = Plan::from_bytes(&bytes).map_err(|source| ProveError::Plan {
            path: path.clone(),
            source,
        })?;
        let plan = CheckedPlan::new(plan).map_err(|source| ProveError::Plan { path, source })?;
        Ok((plan, bytes))
    }

    /// The shards (`shards.json`), checked against the plan (which must have
    /// the one input and one output a chain of shards proves).
    pub fn load_shards(&self, plan: &CheckedPlan) -> Result<Vec<SizedShard>, ProveError> {
        if plan.inputs.len() != 1 || plan.outputs.len() != 1 {
            return Err(ProveError::Partition {
                path: self.plan_path(),
                source: zkinf_circuits::shard::ShardError::Arity {
                    inputs: plan.inputs.len(),
                    outputs: plan.outputs.len(),
                },
            });
        }
        let path = self.shards_path();
        let text = fs::read_to_string(&path).map_err(|e| ProveError::read(&path, e))?;
        let cut: Partition =
            serde_json::from_str(&text).map_err(|source| ProveError::ShardsFile {
                path: path.clone(),
                source,
            })?;
        let shards: Vec<SizedShard> = match (cut.shards, cut.error) {
            (Some(s), None) if !s.is_empty() => s.iter().map(|s| s.sized()).collect(),
            (_, Some(e)) => return Err(ProveError::NotProvable(e)),
            _ => {
                return Err(ProveError::NotProvable(
                    "shards.json lists no shards".into(),
                ))
            }
        };
        let specs: Vec<ShardSpec> = shards.iter().map(|s| s.spec()).collect();
        check_partition(plan, &specs).map_err(|source| ProveError::Partition { path, source })?;
        Ok(shards)
    }

    /// The plan (and its bytes), its shards and the setup record, checked
    /// to belong together.
    pub fn open_with_keys(&self) -> Result<Opened, ProveError> {
        let (plan, plan_bytes) = self.load_plan_and_bytes()?;
        let shards = self.load_shards(&plan)?;
        let record = SetupRecord::read(self)?;
        record.check(&plan, &shards)?;
        Ok(Opened {
            plan,
            plan_bytes,
            shards,
            record,
        })
    }

    /// Every shard's proof file: its bytes and the proof read from them.
    pub fn read_proofs(&self, n: usize) -> Result<Vec<(Vec<u8>, ShardProof)>, ProveError> {
        let all: Vec<u32> = (0..n as u32).collect();
        self.read_proofs_of(&all)
    }

    /// The proof files of the shards `which`, in that order.
    pub fn read_proofs_of(&self, which: &[u32]) -> Result<Vec<(Vec<u8>, ShardProof)>, ProveError> {
        which
            .iter()
            .map(|&shard| {
                let shard = shard as usize;
                let path = self.proof_path(shard);
                let bytes = fs::read(&path).map_err(|_| ProveError::NoProof {
                    shard,
                    path: path.clone(),
                })?;
                let proof = ShardProof::from_bytes(&bytes)
                    .map_err(|source| ProveError::Proof { path, source })?;
                Ok((bytes, proof))
            })
            .collect()
    }
}

/// A compiled folder with keys, read and checked.
pub struct Opened {
    pub plan: CheckedPlan,
    pub plan_bytes: Vec<u8>,
    pub shards: Vec<SizedShard>,
    pub record: SetupRecord,
}

fn sibling(dir: &Path, tag: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    dir.with_file_name(format!(".{name}.{tag}-{}", std::process::id()))
}

/// Writes `files` (name, bytes) as the folder `dir`, replacing an older one
/// only once everything is written.
pub fn write_dir_atomic(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), ProveError> {
    let mut w = DirWriter::new(dir)?;
    for (name, bytes) in files {
        w.add(name, bytes)?;
    }
    w.finish()
}

/// A folder written file by file into a temporary sibling and renamed into
/// place by [`DirWriter::finish`]; dropped unfinished, it leaves nothing.
/// The stamp file of a resumable staging folder.
const RESUME_STAMP: &str = "resume.stamp";

pub struct DirWriter {
    dir: PathBuf,
    tmp: PathBuf,
    done: bool,
    /// the staging folder survives an unfinished run (for the next to resume)
    keep: bool,
}

impl DirWriter {
    pub fn new(dir: &Path) -> Result<DirWriter, ProveError> {
        let dir = Self::target(dir)?;
        let tmp = sibling(&dir, "tmp");
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).map_err(|e| ProveError::write(&dir, e))?;
        Ok(DirWriter {
            dir,
            tmp,
            done: false,
            keep: false,
        })
    }

    /// A writer whose staging folder (`.NAME.partial` beside `dir`) is kept
    /// when the run does not finish (killed, out of memory, an error), with
    /// the files already added: the next run reads them back with
    /// [`DirWriter::staged`] instead of making them again. The caller
    /// stamps what the files were made from ([`DirWriter::resume_if`]).
    pub fn resumable(dir: &Path) -> Result<DirWriter, ProveError> {
        let dir = Self::target(dir)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let tmp = dir.with_file_name(format!(".{name}.partial"));
        fs::create_dir_all(&tmp).map_err(|e| ProveError::write(&tmp, e))?;
        Ok(DirWriter {
            dir,
            tmp,
            done: false,
            keep: true,
        })
    }

    fn target(dir: &Path) -> Result<PathBuf, ProveError> {
        if dir.exists() && !dir.is_dir() {
            return Err(ProveError::NotDir(dir.to_path_buf()));
        }
        Ok(
            if dir.is_relative() && dir.parent().is_none_or(|p| p.as_os_str().is_empty()) {
                Path::new(".").join(dir)
            } else {
                dir.to_path_buf()
            },
        )
    }

    /// Keeps the staged files only if they were made from `stamp` (what an
    /// earlier, unfinished run recorded); otherwise empties the staging
    /// folder and records `stamp`. Returns whether files were kept.
    pub fn resume_if(&mut self, stamp: &[u8]) -> Result<bool, ProveError> {
        if self.staged(RESUME_STAMP).as_deref() == Some(stamp) {
            return Ok(true);
        }
        let _ = fs::remove_dir_all(&self.tmp);
        fs::create_dir_all(&self.tmp).map_err(|e| ProveError::write(&self.tmp, e))?;
        self.add(RESUME_STAMP, stamp)?;
        Ok(false)
    }

    /// Whether the staging folder holds `name` (without reading it).
    pub fn staged_exists(&self, name: &str) -> bool {
        self.tmp.join(name).is_file()
    }

    /// A file already in the staging folder.
    pub fn staged(&self, name: &str) -> Option<Vec<u8>> {
        fs::read(self.tmp.join(name)).ok()
    }

    /// Adds a file (complete or absent, even if the run is killed: written
    /// beside, then renamed).
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), ProveError> {
        let p = self.tmp.join(name);
        let part = self.tmp.join(format!(".{name}.part"));
        let mut f = fs::File::create(&part).map_err(|e| ProveError::write(&p, e))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .and_then(|_| fs::rename(&part, &p))
            .map_err(|e| ProveError::write(&p, e))
    }

    pub fn finish(mut self) -> Result<(), ProveError> {
        let _ = fs::remove_file(self.tmp.join(RESUME_STAMP));
        let (dir, tmp) = (&self.dir, &self.tmp);
        if dir.exists() {
            let old = sibling(dir, "old");
            let _ = fs::remove_dir_all(&old);
            fs::rename(dir, &old).map_err(|e| ProveError::write(dir, e))?;
            fs::rename(tmp, dir).map_err(|e| ProveError::write(dir, e))?;
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(tmp, dir).map_err(|e| ProveError::write(dir, e))?;
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for DirWriter {
    fn drop(&mut self) {
        if !self.done && !self.keep {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Writes one file atomically (temporary file in the same folder, renamed).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProveError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let r = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    r.map_err(|e| ProveError::write(path, e))
}

/// Reads a file (the error names it).
pub fn read_file(path: &Path) -> Result<Vec<u8>, ProveError> {
    fs::read(path).map_err(|e| ProveError::read(path, e))
}
