//! Claimed tensors: the quantized input and output a proof chain is said to
//! be of. A claim is checked against the model (length, range) before it is
//! committed and compared with the proofs' public commitments.

use halo2_proofs::halo2curves::bn256::Fr;
use std::fmt;
use thiserror::Error;
use zkinf_circuits::poseidon::{commit_tensor, Packing};
use zkinf_circuits::IntRange;

/// Which claimed tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claimed {
    Input,
    Output,
}

impl fmt::Display for Claimed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Claimed::Input => "input",
            Claimed::Output => "output",
        })
    }
}

/// A claimed tensor the model cannot have produced or taken.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ClaimError {
    #[error("claimed {what}: {found} values for shape {shape:?} ({expected})")]
    Length {
        what: Claimed,
        found: usize,
        shape: Vec<usize>,
        expected: usize,
    },
    #[error("claimed {what}: value {value} at {at} is outside the model's range [{lo}, {hi}]")]
    Range {
        what: Claimed,
        value: i64,
        at: usize,
        lo: i64,
        hi: i64,
    },
}

/// Checks a claimed tensor's length and range.
pub fn check_claim(
    what: Claimed,
    q: &[i64],
    shape: &[usize],
    r: IntRange,
) -> Result<(), ClaimError> {
    let expected: usize = shape.iter().product();
    if q.len() != expected {
        return Err(ClaimError::Length {
            what,
            found: q.len(),
            shape: shape.to_vec(),
            expected,
        });
    }
    if let Some(at) = q.iter().position(|v| *v < r.lo || *v > r.hi) {
        return Err(ClaimError::Range {
            what,
            value: q[at],
            at,
            lo: r.lo,
            hi: r.hi,
        });
    }
    Ok(())
}

/// The Poseidon commitment of a checked claim: what the proofs' public
/// instances hold.
pub fn claim_commitment(q: &[i64], r: IntRange) -> Fr {
    commit_tensor(q, Packing::for_range(r.lo, r.hi))
}
