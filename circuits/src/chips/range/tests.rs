//! Range chip: boundary values accepted, values one past the bound (and
//! negative values) rejected by the lookup, a forged running sum rejected.

use super::*;
use crate::chips::testing::Case;
use crate::field::fe;
use halo2_proofs::circuit::SimpleFloorPlanner;
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::Circuit;

#[derive(Clone, Default)]
struct RangeCircuit {
    /// (value, bits) pairs to check
    checks: Vec<(Fr, u32)>,
    /// overwrite z at this row with this value (a forged decomposition)
    forge: Option<(usize, Fr)>,
}

impl Circuit<Fr> for RangeCircuit {
    type Config = RangeConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        RangeCircuit {
            checks: self.checks.iter().map(|&(_, b)| (Fr::ZERO, b)).collect(),
            forge: None,
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> RangeConfig {
        let z = meta.advice_column();
        let m = meta.fixed_column();
        RangeConfig::configure(meta, z, m)
    }

    fn synthesize(
        &self,
        config: RangeConfig,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        config.load_table(&mut layouter)?;
        layouter.assign_region(
            || "checks",
            |mut region| {
                let mut row = 0;
                for &(v, bits) in &self.checks {
                    config.check_bits(&mut region, row, Value::known(v), bits)?;
                    row += rows_for(bits);
                }
                if let Some((r, v)) = self.forge {
                    region.assign_advice(config.z, r, Value::known(v));
                }
                Ok(())
            },
        )
    }
}

const K: u32 = 10;

fn run(checks: Vec<(Fr, u32)>) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(
        K,
        &RangeCircuit {
            checks,
            forge: None,
        },
        vec![],
    )
    .unwrap()
    .verify()
}

/// Rejected by the limb lookup, and by nothing else.
fn lookup_failed(r: Result<(), Vec<VerifyFailure>>) -> bool {
    matches!(r, Err(errs) if !errs.is_empty() && errs.iter().all(|e| match e {
        VerifyFailure::Lookup { name, .. } => name.contains("range limb"),
        _ => false,
    }))
}

#[test]
fn boundary_values_pass() {
    let mut checks = vec![];
    for bits in [1u32, 6, 7, 8, 9, 12, 15, 16, 31, 40, 64] {
        checks.push((Fr::ZERO, bits));
        checks.push((fe((1i128 << bits) - 1), bits));
    }
    assert_eq!(run(checks), Ok(()));
}

#[test]
fn one_past_the_bound_is_rejected() {
    for bits in [1u32, 6, 7, 8, 12, 15, 31, 64] {
        assert!(
            lookup_failed(run(vec![(fe(1i128 << bits), bits)])),
            "{bits} bits"
        );
    }
}

#[test]
fn negative_values_are_rejected() {
    for bits in [8u32, 32, 64] {
        assert!(lookup_failed(run(vec![(fe(-1), bits)])), "{bits} bits");
    }
}

#[test]
fn a_forged_running_sum_is_rejected() {
    // 4096 (13 bits) claimed as 12 bits: honestly z_1 = 16 fails the 4-bit
    // top limb; forging z_1 = 0 makes the low limb 4096, outside the table
    for z1 in [Fr::ZERO, Fr::ONE, fe(15)] {
        let forged = RangeCircuit {
            checks: vec![(fe(4096), 12)],
            forge: Some((1, z1)),
        };
        assert!(
            lookup_failed(MockProver::run(K, &forged, vec![]).unwrap().verify()),
            "z_1 = {z1:?}"
        );
    }
    assert!(lookup_failed(run(vec![(fe(4096), 12)])));
}

#[test]
fn fractions_of_small_values_are_rejected() {
    // a single lookup of 2^(8 - top) z would accept z = c / 2^(8 - top): the
    // tagged table checks the top limb itself
    let inv = |d: u64| Fr::from(d).invert().unwrap();
    for (v, bits) in [
        (inv(2), 1u32),
        (fe(3) * inv(16), 4),
        (fe(5) * inv(2), 7),
        (fe(300) + inv(2), 9),
    ] {
        assert!(lookup_failed(run(vec![(v, bits)])), "{bits} bits");
    }
}

#[test]
fn a_check_takes_one_row_per_limb() {
    // a 6-bit top limb takes two rows (5 + 1 bits: the table has no width 6)
    for (bits, rows) in [
        (1u32, 1usize),
        (5, 1),
        (6, 2),
        (7, 1),
        (8, 1),
        (9, 2),
        (14, 3),
        (15, 2),
        (16, 2),
        (17, 3),
        (64, 8),
    ] {
        assert_eq!(rows_for(bits), rows, "{bits} bits");
    }
    // the table fits circuits of 2^9 rows
    assert_eq!(TABLE_ROWS, 447);
}

#[test]
fn verifying_key_is_pinned() {
    let circuit = RangeCircuit {
        checks: vec![(Fr::ZERO, 12), (Fr::ZERO, 8)],
        forge: None,
    };
    assert_eq!(
        crate::chips::testing::vk_digest(K, &circuit),
        "a95c01bf03715ca2",
        "range chip verifying key changed"
    );
}

/// The range chip's witnesses for the mutation test: boundary values, and
/// values out of range, negative, fractional or with a forged running sum.
pub(crate) fn cases() -> Vec<Case> {
    const LIMB: &[&str] = &["range/lookup:limb"];
    let mut cases = vec![Case::honest("boundary values", || {
        let mut checks = vec![];
        for bits in [1u32, 7, 8, 9, 16] {
            checks.push((Fr::ZERO, bits));
            checks.push((fe((1i128 << bits) - 1), bits));
        }
        run(checks)
    })];
    for bits in [1u32, 7, 12] {
        cases.push(Case::forged(
            format!("2^{bits} as {bits} bits"),
            LIMB,
            move || run(vec![(fe(1i128 << bits), bits)]),
        ));
    }
    cases.push(Case::forged("-1 as 32 bits", LIMB, || {
        run(vec![(fe(-1), 32)])
    }));
    cases.push(Case::forged("1/2 as 1 bit", LIMB, || {
        run(vec![(Fr::from(2).invert().unwrap(), 1)])
    }));
    cases.push(Case::forged(
        "4096 as 12 bits, running sum forged",
        LIMB,
        || {
            let forged = RangeCircuit {
                checks: vec![(fe(4096), 12)],
                forge: Some((1, Fr::ZERO)),
            };
            MockProver::run(K, &forged, vec![]).unwrap().verify()
        },
    ));
    cases
}

#[test]
fn cases_hold() {
    crate::chips::testing::assert_cases(&cases());
}
