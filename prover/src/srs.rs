//! Structured reference strings: a ceremony file (`--srs`, halo2 KZG raw
//! format, downsized when larger than needed) or a locally generated
//! development SRS (`--dev-srs`, NOT for production: whoever generated it
//! can forge proofs), cached on disk and reused while valid.

use crate::error::ProveError;
use crate::folder::write_file_atomic;
use crate::progress::Progress;
use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::commitment::Params as _;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use std::path::{Path, PathBuf};
use zkinf_verifier::SrsByK;

/// KZG parameters on BN254 (an SRS, or a prefix of one).
pub type Params = ParamsKZG<Bn256>;

/// Where the SRS comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SrsSource {
    File(PathBuf),
    /// generated here, cached in this folder
    Dev(PathBuf),
}

impl SrsSource {
    /// The development SRS in the default cache folder
    /// (`$ZKINF_CACHE/srs`, else `~/.cache/zkinf/srs`).
    pub fn dev() -> SrsSource {
        SrsSource::Dev(cache_dir().join("srs"))
    }

    /// `file:PATH` or `dev:PATH` (the setup record's form).
    pub fn descriptor(&self) -> String {
        match self {
            SrsSource::File(p) => format!("file:{}", p.display()),
            SrsSource::Dev(p) => format!("dev:{}", p.display()),
        }
    }

    pub fn from_descriptor(d: &str) -> Option<SrsSource> {
        d.strip_prefix("file:")
            .map(|p| SrsSource::File(PathBuf::from(p)))
            .or_else(|| {
                d.strip_prefix("dev:")
                    .map(|p| SrsSource::Dev(PathBuf::from(p)))
            })
    }
}

/// zkinf's cache folder: `$ZKINF_CACHE`, else `~/.cache/zkinf`.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("ZKINF_CACHE") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".cache/zkinf"),
    }
}

/// Reads an SRS file (halo2's raw format).
pub fn read(path: &Path) -> Result<ParamsKZG<Bn256>, ProveError> {
    let bytes = std::fs::read(path).map_err(|source| ProveError::SrsRead {
        path: path.to_path_buf(),
        source,
    })?;
    let mut rd = bytes.as_slice();
    ParamsKZG::<Bn256>::read_custom(&mut rd, SerdeFormat::RawBytes).map_err(|e| {
        ProveError::NotSrs {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    })
}

/// Loads (or for `Dev`, generates once and caches) an SRS of exactly `2^k`
/// points.
pub fn load(
    source: &SrsSource,
    k: u32,
    progress: &mut dyn Progress,
) -> Result<ParamsKZG<Bn256>, ProveError> {
    match source {
        SrsSource::File(path) => {
            let mut params = read(path)?;
            if params.k() < k {
                return Err(ProveError::SrsTooSmall {
                    path: path.clone(),
                    has: params.k(),
                    needs: k,
                });
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
                progress.note(&format!(
                    "cached development SRS {} is invalid; regenerating",
                    path.display()
                ));
            }
            progress.note(&format!("generating a development SRS with 2^{k} points (NOT for production: its creator can forge proofs)"));
            std::fs::create_dir_all(dir).map_err(|e| ProveError::write(dir, e))?;
            let params = ParamsKZG::<Bn256>::setup(k, rand::rngs::OsRng);
            let mut bytes = Vec::new();
            params
                .write_custom(&mut bytes, SerdeFormat::RawBytes)
                .map_err(|e| ProveError::write(&path, e))?;
            write_file_atomic(&path, &bytes)?;
            Ok(params)
        }
    }
}

/// The SRS (one for the whole model, at the largest shard's size `max_k`)
/// as a copy per shard size in `ks`: every shard uses a prefix of the same
/// SRS.
pub fn load_by_k(
    source: &SrsSource,
    max_k: u32,
    ks: &[u32],
    progress: &mut dyn Progress,
) -> Result<SrsByK, ProveError> {
    progress.step(&format!("loading the SRS (2^{max_k} points)"));
    let full = load(source, max_k, progress)?;
    let set = SrsByK::from_full(&full, ks.iter().copied());
    progress.done();
    Ok(set)
}

/// The copy of size `2^k`.
pub fn at(srs: &SrsByK, k: u32) -> Result<&ParamsKZG<Bn256>, ProveError> {
    srs.get(k).ok_or(ProveError::NoSrsOfSize(k))
}
