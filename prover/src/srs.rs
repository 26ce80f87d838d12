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
use sha2::Digest as _;
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
    progress.done();
    let mut set = SrsByK::default();
    let mut wanted: Vec<u32> = ks.iter().copied().filter(|&k| k <= max_k).collect();
    wanted.sort_unstable();
    wanted.dedup();
    for k in wanted {
        if k == full.k() {
            set.insert(full.clone());
        } else {
            set.insert(downsized(
                &full,
                k,
                &cache_dir().join("srs/derived"),
                progress,
            )?);
        }
    }
    Ok(set)
}

/// `full` cut to `2^k` points. halo2 recomputes the Lagrange basis of the
/// smaller domain (an FFT over curve points: minutes at `2^19`), so the
/// result is cached in `dir`, named by a hash of the prefix it is made of
/// (its first `2^k` points and the G2 element `s·G2`), and reused when the
/// cached file holds that same prefix and a consistent Lagrange basis (the
/// Lagrange polynomials sum to 1, so their commitments sum to `g[0]`; a
/// corrupt cache would only make keys that fail their digests, never a
/// forged proof, and is remade).
pub fn downsized(
    full: &ParamsKZG<Bn256>,
    k: u32,
    dir: &Path,
    progress: &mut dyn Progress,
) -> Result<ParamsKZG<Bn256>, ProveError> {
    let n = 1usize << k;
    let mut full_bytes = Vec::new();
    full.write_custom(&mut full_bytes, SerdeFormat::RawBytes)
        .map_err(|e| ProveError::write(dir, e))?;
    let prefix = prefix_of(&full_bytes, n);
    let prefix = (prefix.0.to_vec(), prefix.1.to_vec());
    let key = {
        let mut h = sha2::Sha256::new();
        h.update(&prefix.0);
        h.update(&prefix.1);
        zkinf_verifier::hex(&h.finalize()[..16])
    };
    drop(full_bytes);
    let path = dir.join(format!("srs-{key}-k{k}.bin"));
    if let Ok(bytes) = std::fs::read(&path) {
        let same = bytes.len() == raw_len(n) && {
            let (g, s_g2) = prefix_of(&bytes, n);
            g == prefix.0 && s_g2 == prefix.1
        };
        if let (true, Ok(p)) = (same, read(&path)) {
            if p.k() == k && lagrange_sums_to_g0(&p) {
                return Ok(p);
            }
        }
        progress.note(&format!(
            "cached SRS of 2^{k} points {} does not match; remaking it",
            path.display()
        ));
    }
    progress.step(&format!(
        "cutting the SRS to 2^{k} points (its Lagrange basis; cached for next time)"
    ));
    let mut p = full.clone();
    p.downsize(k);
    progress.done();
    let mut bytes = Vec::new();
    p.write_custom(&mut bytes, SerdeFormat::RawBytes)
        .map_err(|e| ProveError::write(&path, e))?;
    // a cache: failing to keep it costs time next run, not this result
    if let Err(e) = std::fs::create_dir_all(dir).map(|_| write_file_atomic(&path, &bytes)) {
        progress.note(&format!("could not cache the cut SRS: {e}"));
    }
    Ok(p)
}

/// Length of an SRS of `n` points in halo2's raw format: `k`, `n` points,
/// their Lagrange basis (64 bytes each), `G2` and `s·G2` (128 bytes each).
fn raw_len(n: usize) -> usize {
    4 + 2 * 64 * n + 2 * 128
}

/// What determines an SRS cut to `n` points, in raw bytes: its first `n`
/// points and `s·G2` (`G2` is the fixed generator).
fn prefix_of(raw: &[u8], n: usize) -> (&[u8], &[u8]) {
    (&raw[4..4 + 64 * n], &raw[raw.len() - 128..])
}

/// The Lagrange polynomials of a domain sum to 1, so the commitment to the
/// all-ones vector in the Lagrange basis is `g[0]`.
fn lagrange_sums_to_g0(p: &ParamsKZG<Bn256>) -> bool {
    use halo2_proofs::arithmetic::Field;
    use halo2_proofs::halo2curves::bn256::Fr;
    use halo2_proofs::poly::commitment::{Blind, ParamsProver as _};
    use halo2_proofs::poly::EvaluationDomain;
    let domain = EvaluationDomain::<Fr>::new(1, p.k());
    let mut ones = domain.empty_lagrange();
    ones.iter_mut().for_each(|x| *x = Fr::ONE);
    let mut one = domain.empty_coeff();
    one[0] = Fr::ONE;
    p.commit_lagrange(&ones, Blind::default()) == p.commit(&one, Blind::default())
}

/// The copy of size `2^k`.
pub fn at(srs: &SrsByK, k: u32) -> Result<&ParamsKZG<Bn256>, ProveError> {
    srs.get(k).ok_or(ProveError::NoSrsOfSize(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    fn raw(p: &ParamsKZG<Bn256>) -> Vec<u8> {
        let mut b = Vec::new();
        p.write_custom(&mut b, SerdeFormat::RawBytes).unwrap();
        b
    }

    #[test]
    fn a_cut_srs_is_cached_reused_and_remade_when_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let full = ParamsKZG::<Bn256>::setup(8, rand::rngs::OsRng);
        let mut want = full.clone();
        want.downsize(6);
        let first = downsized(&full, 6, dir.path(), &mut Silent).unwrap();
        assert_eq!(raw(&first), raw(&want));
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(files.len(), 1, "one cached file");
        let path = files[0].path();
        // reused: the same bytes come back
        assert_eq!(
            raw(&downsized(&full, 6, dir.path(), &mut Silent).unwrap()),
            raw(&want)
        );
        // a corrupt Lagrange point (still on the curve: another point of the
        // basis) fails the sum check and is remade
        let mut bytes = std::fs::read(&path).unwrap();
        let (lag, n) = (4 + 64 * 64, 64);
        let second = bytes[lag + n..lag + 2 * n].to_vec();
        bytes[lag..lag + n].copy_from_slice(&second);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            raw(&downsized(&full, 6, dir.path(), &mut Silent).unwrap()),
            raw(&want)
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            raw(&want),
            "the cache is remade"
        );
        // another SRS of the same size does not reuse this one's cut
        let other = ParamsKZG::<Bn256>::setup(8, rand::rngs::OsRng);
        let mut other_want = other.clone();
        other_want.downsize(6);
        assert_eq!(
            raw(&downsized(&other, 6, dir.path(), &mut Silent).unwrap()),
            raw(&other_want)
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
