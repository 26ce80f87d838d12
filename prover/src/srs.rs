//! Structured reference strings: a ceremony file (`--srs`, halo2 KZG raw
//! format, downsized when larger than needed) or a locally generated
//! development SRS (`--dev-srs`, NOT for production: whoever generated it
//! can forge proofs), cached on disk and reused while valid.

use crate::ProveError;
use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use std::path::{Path, PathBuf};

/// Where the SRS comes from.
#[derive(Clone, Debug)]
pub enum SrsSource {
    File(PathBuf),
    /// generated here, cached in this folder
    Dev(PathBuf),
}

fn read(path: &Path) -> Result<ParamsKZG<Bn256>, ProveError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ProveError::Srs(format!("cannot read {}: {e}", path.display())))?;
    let mut rd = bytes.as_slice();
    ParamsKZG::<Bn256>::read_custom(&mut rd, SerdeFormat::RawBytes)
        .map_err(|e| ProveError::Srs(format!("{} is not a KZG SRS: {e}", path.display())))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProveError> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let r = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r.map_err(|e| ProveError::Io(format!("cannot write {}: {e}", path.display())))
}

/// Loads (or for `Dev`, generates once and caches) an SRS of exactly `2^k`
/// points. `progress` is told about slow steps.
pub fn load(
    source: &SrsSource,
    k: u32,
    progress: &mut dyn FnMut(&str),
) -> Result<ParamsKZG<Bn256>, ProveError> {
    match source {
        SrsSource::File(path) => {
            let mut params = read(path)?;
            if params.k() < k {
                return Err(ProveError::Srs(format!(
                    "{} has 2^{} points; this model needs 2^{k}",
                    path.display(),
                    params.k()
                )));
            }
            if params.k() > k {
                params.downsize(k);
            }
            Ok(params)
        }
        SrsSource::Dev(dir) => {
            let path = dir.join(format!("dev-srs-k{k}.bin"));
            if path.is_file() {
                if let Ok(p) = read(&path) {
                    if p.k() == k {
                        return Ok(p);
                    }
                }
                progress(&format!(
                    "cached development SRS {} is invalid; regenerating",
                    path.display()
                ));
            }
            progress(&format!("generating a development SRS with 2^{k} points (NOT for production: its creator can forge proofs)"));
            std::fs::create_dir_all(dir)
                .map_err(|e| ProveError::Io(format!("cannot create {}: {e}", dir.display())))?;
            let params = ParamsKZG::<Bn256>::setup(k, rand::rngs::OsRng);
            let mut bytes = Vec::new();
            params
                .write_custom(&mut bytes, SerdeFormat::RawBytes)
                .map_err(|e| ProveError::Io(e.to_string()))?;
            write_atomic(&path, &bytes)?;
            Ok(params)
        }
    }
}
