//! The claim record (`proofs/claim.json`, versioned): the model, the shard
//! count, and the quantized input and output the proofs are of, with their
//! names. A verifier checks every field against the plan, recomputes the
//! commitments of the values and compares them with the proofs, and
//! compares the values with an input or output it was given.

use crate::error::{ClaimFileError, ProveError};
use crate::folder::Folder;
use serde::{Deserialize, Serialize};
use zkinf_circuits::CheckedPlan;
use zkinf_verifier::{check_claim, Claimed};

/// The claim record format this zkinf writes and reads.
pub const CLAIM_FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub format: u32,
    /// SHA-256 of the plan
    pub model_hash: String,
    pub shards: usize,
    /// the input's name and its quantized values
    pub input: String,
    pub input_q: Vec<i64>,
    /// the output's name and its quantized values
    pub output: String,
    pub output_q: Vec<i64>,
}

impl Claim {
    pub fn new(plan: &CheckedPlan, shards: usize, input_q: Vec<i64>, output_q: Vec<i64>) -> Claim {
        Claim {
            format: CLAIM_FORMAT_VERSION,
            model_hash: plan.hash_hex(),
            shards,
            input: plan.inputs[0].name.clone(),
            input_q,
            output: plan.outputs[0].name.clone(),
            output_q,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Reads a claim record: its format version first (so an older or newer
    /// record gets its own message), then every field strictly (unknown,
    /// missing and duplicate fields are errors).
    pub fn from_json(bytes: &[u8]) -> Result<Claim, ClaimFileError> {
        #[derive(Deserialize)]
        struct Format {
            format: Option<u32>,
        }
        let f: Format = serde_json::from_slice(bytes).map_err(ClaimFileError::Json)?;
        match f.format {
            None => return Err(ClaimFileError::Unversioned),
            Some(CLAIM_FORMAT_VERSION) => {}
            Some(found) => {
                return Err(ClaimFileError::Version {
                    found,
                    supported: CLAIM_FORMAT_VERSION,
                })
            }
        }
        serde_json::from_slice(bytes).map_err(ClaimFileError::Json)
    }

    /// The claim of a proven folder (`NotProven` when there is none).
    pub fn read(folder: &Folder) -> Result<Claim, ProveError> {
        let path = folder.claim_path();
        let bytes = std::fs::read(&path).map_err(|_| ProveError::NotProven(folder.dir.clone()))?;
        Claim::from_json(&bytes).map_err(|source| ProveError::Claim { path, source })
    }

    /// Every field the verifier does not recompute, against the plan: the
    /// model, the shard count, the names, the values' count and range.
    pub fn check(&self, plan: &CheckedPlan, shards: usize) -> Result<(), ClaimFileError> {
        if self.model_hash != plan.hash_hex() {
            return Err(ClaimFileError::Model {
                found: self.model_hash.clone(),
                expected: plan.hash_hex(),
            });
        }
        if self.shards != shards {
            return Err(ClaimFileError::Shards {
                found: self.shards,
                expected: shards,
            });
        }
        let (pin, pout) = (&plan.inputs[0], &plan.outputs[0]);
        for (what, found, expected) in [
            (Claimed::Input, &self.input, &pin.name),
            (Claimed::Output, &self.output, &pout.name),
        ] {
            if found != expected {
                return Err(ClaimFileError::Name {
                    what,
                    found: found.clone(),
                    expected: expected.clone(),
                });
            }
        }
        check_claim(Claimed::Input, &self.input_q, &pin.shape, pin.range)?;
        let out = plan.info(pout.tensor);
        check_claim(Claimed::Output, &self.output_q, &out.shape, out.range)?;
        Ok(())
    }

    /// The claimed values of `what` equal `given` (what the verifier holds).
    pub fn check_given(&self, what: Claimed, given: &[i64]) -> Result<(), ClaimFileError> {
        let claimed = match what {
            Claimed::Input => &self.input_q,
            Claimed::Output => &self.output_q,
        };
        let differs = given
            .iter()
            .zip(claimed)
            .position(|(g, c)| g != c)
            .or((given.len() != claimed.len()).then(|| given.len().min(claimed.len())));
        match differs {
            None => Ok(()),
            Some(at) => Err(ClaimFileError::Differs {
                what,
                at,
                given: given.get(at).copied().unwrap_or(0),
                claimed: claimed.get(at).copied().unwrap_or(0),
            }),
        }
    }
}
