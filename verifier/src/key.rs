//! Key files: `ZKINFVK\0` (verifying) or `ZKINFPK\0` (proving), the key
//! format version (u32 LE), the shard circuit's range lanes (u32 LE) and
//! chip flags (u32 LE), then halo2's `SerdeFormat::RawBytes` encoding of
//! the key. Every size a key claims is checked against the bytes present
//! before halo2 allocates for it.

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_proofs::plonk::{Circuit, ConstraintSystem, VerifyingKey};
use halo2_proofs::SerdeFormat;
use std::fmt;
use thiserror::Error;
use zkinf_circuits::shard::{ShardCircuit, ShardParams, MAX_RANGE_LANES};

pub const KEY_FORMAT_VERSION: u32 = 2;
const KEY_HEADER: usize = 20;
pub const VK_MAGIC: &[u8; 8] = b"ZKINFVK\0";
pub const PK_MAGIC: &[u8; 8] = b"ZKINFPK\0";

/// The largest circuit a key may describe: `2^MAX_K` rows (what `zkinf
/// compile --max-log-rows` allows). halo2 sizes its evaluation domain from
/// the key's `k` before reading anything else, so a key claiming more is
/// refused before halo2 sees it.
pub const MAX_K: u32 = 26;

/// Which of the two key files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Verifying,
    Proving,
}

impl KeyKind {
    pub fn magic(self) -> &'static [u8; 8] {
        match self {
            KeyKind::Verifying => VK_MAGIC,
            KeyKind::Proving => PK_MAGIC,
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyKind::Verifying => "verifying key",
            KeyKind::Proving => "proving key",
        })
    }
}

/// A key file that cannot be read.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum KeyError {
    #[error("truncated or corrupt {kind} (no header)")]
    NoHeader { kind: KeyKind },
    #[error("not a zkinf {kind} (bad magic bytes)")]
    BadMagic { kind: KeyKind },
    #[error(
        "{kind} format version {found} is not supported (this zkinf reads version {supported})"
    )]
    Version {
        kind: KeyKind,
        found: u32,
        supported: u32,
    },
    #[error("corrupt {kind}: {lanes} range lanes")]
    Lanes { kind: KeyKind, lanes: u32 },
    #[error("corrupt {kind}: unknown chip flags {chips:#x}")]
    ChipFlags { kind: KeyKind, chips: u32 },
    #[error("corrupt {kind}: truncated (no circuit size)")]
    NoSize { kind: KeyKind },
    #[error("corrupt {kind}: the key describes a circuit of 2^{k} rows (at most 2^{MAX_K})")]
    TooLarge { kind: KeyKind, k: u32 },
    #[error("truncated or corrupt {kind} (its {selectors} selectors of 2^{k} rows need {need} bytes, the key has {have})")]
    Selectors {
        kind: KeyKind,
        selectors: usize,
        k: u32,
        need: u64,
        have: usize,
    },
    /// halo2's reader refused the key body (its message)
    #[error("truncated or corrupt {kind} ({reason})")]
    Body { kind: KeyKind, reason: String },
    #[error("truncated or corrupt {kind} ({trailing} trailing bytes)")]
    Trailing { kind: KeyKind, trailing: usize },
    #[error("truncated or corrupt {kind} ({fixed} fixed commitments for {columns} fixed columns)")]
    FixedColumns {
        kind: KeyKind,
        fixed: usize,
        columns: usize,
    },
}

/// Prepends the key-file header to a key's raw bytes.
pub fn encode_key(kind: KeyKind, params: ShardParams, body: &[u8]) -> Vec<u8> {
    let mut out = kind.magic().to_vec();
    out.extend(KEY_FORMAT_VERSION.to_le_bytes());
    out.extend(params.range_lanes.to_le_bytes());
    out.extend(params.chips.to_le_bytes());
    out.extend(body);
    out
}

/// Splits a key file into the circuit parameters and the raw key bytes.
pub fn decode_key(kind: KeyKind, bytes: &[u8]) -> Result<(ShardParams, &[u8]), KeyError> {
    if bytes.len() < 12 {
        return Err(KeyError::NoHeader { kind });
    }
    if &bytes[..8] != kind.magic() {
        return Err(KeyError::BadMagic { kind });
    }
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let version = word(8);
    if version != KEY_FORMAT_VERSION {
        return Err(KeyError::Version {
            kind,
            found: version,
            supported: KEY_FORMAT_VERSION,
        });
    }
    if bytes.len() < KEY_HEADER {
        return Err(KeyError::NoHeader { kind });
    }
    let lanes = word(12);
    if !(1..=MAX_RANGE_LANES).contains(&lanes) {
        return Err(KeyError::Lanes { kind, lanes });
    }
    let chips = word(16);
    if chips & !zkinf_circuits::shard::chips::ALL != 0 {
        return Err(KeyError::ChipFlags { kind, chips });
    }
    let body = &bytes[KEY_HEADER..];
    check_key_k(kind, body)?;
    Ok((
        ShardParams {
            range_lanes: lanes,
            chips,
        },
        body,
    ))
}

/// halo2's key encoding starts with a version byte and `k` (u32 LE).
fn check_key_k(kind: KeyKind, body: &[u8]) -> Result<u32, KeyError> {
    let k = body
        .get(1..5)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(KeyError::NoSize { kind })?;
    if k > MAX_K {
        return Err(KeyError::TooLarge { kind, k });
    }
    Ok(k)
}

/// halo2 allocates every selector of `2^k` rows before reading it: a key
/// is refused unless it holds those selectors' bytes (`2^k / 8` per
/// selector, with selector compression), so the allocation is bounded by
/// the key's own size rather than by its `k` field.
pub fn check_selector_bytes(
    kind: KeyKind,
    body: &[u8],
    params: ShardParams,
) -> Result<(), KeyError> {
    let k = check_key_k(kind, body)?;
    let compressed = body.get(5).copied() == Some(1);
    if !compressed {
        return Ok(());
    }
    let mut cs = ConstraintSystem::<Fr>::default();
    ShardCircuit::configure_with_params(&mut cs, params);
    let need = (cs.num_selectors() as u64) * ((1u64 << k) / 8).max(1);
    if need > body.len() as u64 {
        return Err(KeyError::Selectors {
            kind,
            selectors: cs.num_selectors(),
            k,
            need,
            have: body.len(),
        });
    }
    Ok(())
}

/// A verifying key as a key file.
pub fn write_verifying_key(vk: &VerifyingKey<G1Affine>, params: ShardParams) -> Vec<u8> {
    encode_key(
        KeyKind::Verifying,
        params,
        &vk.to_bytes(SerdeFormat::RawBytes),
    )
}

/// Reads a verifying-key file (see [`KEY_FORMAT_VERSION`]).
pub fn read_verifying_key(bytes: &[u8]) -> Result<VerifyingKey<G1Affine>, KeyError> {
    let kind = KeyKind::Verifying;
    let (params, body) = decode_key(kind, bytes)?;
    check_selector_bytes(kind, body, params)?;
    let mut rd = body;
    let vk = VerifyingKey::read::<_, ShardCircuit>(&mut rd, SerdeFormat::RawBytes, params)
        .map_err(|e| KeyError::Body {
            kind,
            reason: e.to_string(),
        })?;
    if !rd.is_empty() {
        return Err(KeyError::Trailing {
            kind,
            trailing: rd.len(),
        });
    }
    // the selectors read decide how many fixed columns the constraint
    // system has; halo2 does not compare that with the commitments it read
    // (a verifier indexing past them would panic)
    let (fixed, columns) = (vk.fixed_commitments().len(), vk.cs().num_fixed_columns());
    if fixed != columns {
        return Err(KeyError::FixedColumns {
            kind,
            fixed,
            columns,
        });
    }
    Ok(vk)
}
