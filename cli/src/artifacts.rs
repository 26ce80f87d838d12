//! The compiled-artifact folder: `plan.bin` (the Plan, whose hash is the
//! model identity) and `report.json`. Written atomically: everything goes
//! into a temporary sibling folder that is renamed into place at the end.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use zkinf_circuits::{CheckedPlan, Plan, PlanError};

pub const PLAN_FILE: &str = "plan.bin";
pub const REPORT_FILE: &str = "report.json";
pub const SHARDS_FILE: &str = "shards.json";

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Plan { path: String, source: PlanError },
    #[error("{0} exists and is not a directory")]
    NotDir(String),
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
pub fn write_dir_atomic(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), ArtifactError> {
    let mut w = DirWriter::new(dir)?;
    for (name, bytes) in files {
        w.add(name, bytes)?;
    }
    w.finish()
}

fn werr(p: &Path, source: std::io::Error) -> ArtifactError {
    ArtifactError::Write {
        path: p.display().to_string(),
        source,
    }
}

/// A folder written file by file into a temporary sibling and renamed into
/// place by [`DirWriter::finish`]; dropped unfinished, it leaves nothing.
pub struct DirWriter {
    dir: PathBuf,
    tmp: PathBuf,
    done: bool,
}

impl DirWriter {
    pub fn new(dir: &Path) -> Result<DirWriter, ArtifactError> {
        if dir.exists() && !dir.is_dir() {
            return Err(ArtifactError::NotDir(dir.display().to_string()));
        }
        let dir = if dir.is_relative() && dir.parent().is_none_or(|p| p.as_os_str().is_empty()) {
            Path::new(".").join(dir)
        } else {
            dir.to_path_buf()
        };
        let tmp = sibling(&dir, "tmp");
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).map_err(|e| werr(&dir, e))?;
        Ok(DirWriter {
            dir,
            tmp,
            done: false,
        })
    }

    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), ArtifactError> {
        let p = self.tmp.join(name);
        let mut f = fs::File::create(&p).map_err(|e| werr(&p, e))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| werr(&p, e))
    }

    pub fn finish(mut self) -> Result<(), ArtifactError> {
        let (dir, tmp) = (&self.dir, &self.tmp);
        if dir.exists() {
            let old = sibling(dir, "old");
            let _ = fs::remove_dir_all(&old);
            fs::rename(dir, &old).map_err(|e| werr(dir, e))?;
            fs::rename(tmp, dir).map_err(|e| werr(dir, e))?;
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(tmp, dir).map_err(|e| werr(dir, e))?;
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for DirWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Writes one file atomically (temporary file in the same folder, renamed).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), ArtifactError> {
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
    r.map_err(|e| werr(path, e))
}

/// Reads and checks the plan of a compiled folder.
pub fn load_plan(dir: &Path) -> Result<CheckedPlan, ArtifactError> {
    let p = dir.join(PLAN_FILE);
    let bytes = fs::read(&p).map_err(|source| ArtifactError::Read {
        path: p.display().to_string(),
        source,
    })?;
    let plan = Plan::from_bytes(&bytes).map_err(|source| ArtifactError::Plan {
        path: p.display().to_string(),
        source,
    })?;
    CheckedPlan::new(plan).map_err(|source| ArtifactError::Plan {
        path: p.display().to_string(),
        source,
    })
}
