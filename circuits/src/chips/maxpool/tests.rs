//! MaxPool chip: the true maximum is accepted; a value below a tap, or above
//! every tap, is rejected.

use super::*;
use crate::field::fe;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::Circuit;

#[derive(Clone)]
struct PoolCircuit {
    windows: Vec<Vec<i64>>,
    /// claimed maxima (None: the true ones)
    claims: Option<Vec<i64>>,
}

#[derive(Clone)]
struct Cfg {
    src: Column<Advice>,
    pool: MaxPoolConfig,
}

impl Circuit<Fr> for PoolCircuit {
    type Config = Cfg;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();
    fn without_witnesses(&self) -> Self {
        self.clone()
    }
    fn configure(meta: &mut ConstraintSystem<Fr>) -> Cfg {
        let src = meta.advice_column();
        meta.enable_equality(src);
        let (z, m) = (meta.advice_column(), meta.fixed_column());
        let range = RangeConfig::configure(meta, z, m);
        let cols = std::array::from_fn(|_| meta.advice_column());
        Cfg {
            src,
            pool: MaxPoolConfig::configure(meta, cols, range),
        }
    }
    fn synthesize(&self, cfg: Cfg, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        cfg.pool.range.load_table(&mut layouter)?;
        layouter.assign_region(
            || "pool",
            |mut region| {
                let (mut src_row, mut row, mut rrow) = (0, 0, 0);
                for (k, win) in self.windows.iter().enumerate() {
                    let mut taps = Vec::new();
                    for &v in win {
                        let value = Value::known(fe(v as i128));
                        let cell = region.assign_advice(cfg.src, src_row, value).cell();
                        src_row += 1;
                        taps.push((Wire { cell, value }, v));
                    }
                    let claim = self.claims.as_ref().map(|c| c[k]);
                    let (_, r, rr) =
                        cfg.pool
                            .assign_window(&mut region, row, rrow, &taps, 9, true, claim)?;
                    row = r;
                    rrow = rr;
                }
                Ok(())
            },
        )
    }
}

const K: u32 = 10;

#[test]
fn true_maxima_are_accepted() {
    let windows = vec![
        vec![-128, 5, 7, 7],
        vec![127, -128, 0, 1],
        vec![-128, -128, -128, -128],
        vec![3],
    ];
    assert_eq!(
        MockProver::run(
            K,
            &PoolCircuit {
                windows,
                claims: None
            },
            vec![]
        )
        .unwrap()
        .verify(),
        Ok(())
    );
}

#[test]
fn a_value_below_a_tap_is_rejected_by_the_range_check() {
    let windows = vec![vec![1, 5, 7, 2]];
    let errs = MockProver::run(
        K,
        &PoolCircuit {
            windows,
            claims: Some(vec![5]),
        },
        vec![],
    )
    .unwrap()
    .verify()
    .unwrap_err();
    assert!(
        errs.iter().any(|e| matches!(
            e,
            VerifyFailure::Lookup { .. } | VerifyFailure::ConstraintNotSatisfied { .. }
        )),
        "{errs:?}"
    );
}

#[test]
fn a_value_above_every_tap_is_rejected_by_the_product() {
    let windows = vec![vec![1, 5, 7, 2]];
    let errs = MockProver::run(
        K,
        &PoolCircuit {
            windows,
            claims: Some(vec![8]),
        },
        vec![],
    )
    .unwrap()
    .verify()
    .unwrap_err();
    assert!(errs.iter().any(|e| matches!(e, VerifyFailure::ConstraintNotSatisfied { constraint, .. } if format!("{constraint}").contains("some tap is the max"))), "{errs:?}");
}

#[test]
fn verifying_key_is_pinned() {
    let c = PoolCircuit {
        windows: vec![vec![1, 5, 7, 2], vec![-3]],
        claims: None,
    };
    assert_eq!(
        crate::chips::testing::vk_digest(K, &c),
        "6da056a0850421ed",
        "maxpool chip verifying key changed"
    );
}
