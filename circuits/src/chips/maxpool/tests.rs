//! MaxPool chip: the true maximum is accepted; a value below a tap, or above
//! every tap, is rejected.

use super::*;
use crate::chips::testing::Case;
use crate::field::fe;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::Circuit;

#[derive(Clone)]
struct PoolCircuit {
    windows: Vec<Vec<i64>>,
    /// claimed maxima (None: the true ones)
    claims: Option<Vec<i64>>,
    /// forge the tap rows of window `.0`
    tamper: Option<(usize, TapTamper)>,
    /// the chip is told tap `.1` of window `.0` is `.2` (not its source's value)
    claim_tap: Option<(usize, usize, i64)>,
}

type TapTamper = fn(usize, &mut TapRow);

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
                    for (j, &v) in win.iter().enumerate() {
                        let value = Value::known(fe(v as i128));
                        let cell = region.assign_advice(cfg.src, src_row, value).cell();
                        src_row += 1;
                        let v = match self.claim_tap {
                            Some((w, t, c)) if (w, t) == (k, j) => c,
                            _ => v,
                        };
                        let value = Value::known(fe(v as i128));
                        taps.push((Wire { cell, value }, v));
                    }
                    let claim = self.claims.as_ref().map(|c| c[k]);
                    let tamper = |i: usize, t: &mut TapRow| match self.tamper {
                        Some((w, f)) if w == k => f(i, t),
                        _ => {}
                    };
                    let (_, r, rr) = cfg.pool.assign_window_with(
                        &mut region,
                        row,
                        rrow,
                        &taps,
                        9,
                        true,
                        claim,
                        tamper,
                    )?;
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
                claims: None,
                tamper: None,
                claim_tap: None,
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
            tamper: None,
            claim_tap: None,
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
            tamper: None,
            claim_tap: None,
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
        tamper: None,
        claim_tap: None,
    };
    assert_eq!(
        crate::chips::testing::vk_digest(K, &c),
        "1359d976b60574c5",
        "maxpool chip verifying key changed"
    );
}

/// Sets a tap row's difference (and what its range check sees), the
/// running product moved along.
fn set_d(t: &mut TapRow, d: i64) {
    let d = fe(d as i128);
    t.prod = t.prod * t.d.invert().unwrap() * d;
    (t.d, t.checked) = (d, d);
}

/// The maxpool chip's witnesses for the mutation test: each forgery claims
/// a wrong maximum and breaks exactly one constraint.
pub(crate) fn cases() -> Vec<Case> {
    let pool = |win: &[i64], claim: i64, tamper: Option<TapTamper>| PoolCircuit {
        windows: vec![vec![-3, 4], win.to_vec()],
        claims: Some(vec![4, claim]),
        tamper: tamper.map(|f| (1, f)),
        claim_tap: None,
    };
    let prove = |c: PoolCircuit| move || MockProver::run(K, &c, vec![]).unwrap().verify();
    vec![
        Case::honest(
            "true maxima",
            prove(PoolCircuit {
                windows: vec![vec![-3, 4], vec![1, 7, 5, 2], vec![-128, -128]],
                claims: None,
                tamper: None,
                claim_tap: None,
            }),
        ),
        Case::forged(
            "5 for [7, 1, 5, 2], first difference forged to 1",
            &["maxpool/gate:diff-first"],
            prove(pool(
                &[7, 1, 5, 2],
                5,
                Some(|i, t| {
                    if i == 0 {
                        set_d(t, 1)
                    }
                }),
            )),
        ),
        Case::forged(
            "5 for [1, 7, 5, 2], second difference forged to 1",
            &["maxpool/gate:diff-step"],
            prove(pool(
                &[1, 7, 5, 2],
                5,
                Some(|i, t| {
                    if i == 1 {
                        set_d(t, 1)
                    }
                }),
            )),
        ),
        Case::forged(
            "8 for [1, 5, 7, 2], product started at 0",
            &["maxpool/gate:prod-first"],
            prove(pool(
                &[1, 5, 7, 2],
                8,
                Some(|i, t| {
                    if i == 0 {
                        t.prod = Fr::ZERO
                    }
                }),
            )),
        ),
        Case::forged(
            "8 for [1, 5, 7, 2], product zeroed on the second tap",
            &["maxpool/gate:prod-step"],
            prove(pool(
                &[1, 5, 7, 2],
                8,
                Some(|i, t| {
                    if i == 1 {
                        t.prod = Fr::ZERO
                    }
                }),
            )),
        ),
        Case::forged(
            "5 for [1, 7, 5, 2], another maximum on the second tap",
            &["maxpool/gate:same-max"],
            prove(pool(
                &[1, 7, 5, 2],
                5,
                Some(|i, t| {
                    if i == 1 {
                        (t.y, t.d, t.prod, t.checked) = (fe(7), Fr::ZERO, Fr::ZERO, Fr::ZERO);
                    }
                }),
            )),
        ),
        Case::forged(
            "8 for [1, 5, 7, 2], above every tap",
            &["maxpool/gate:some-tap-is-max"],
            prove(pool(&[1, 5, 7, 2], 8, None)),
        ),
        Case::forged(
            "5 for [1, 5, 7, 2], below a tap",
            &["range/lookup:limb"],
            prove(pool(&[1, 5, 7, 2], 5, None)),
        ),
        Case::forged(
            "5 for [1, 7, 5, 2], the range check of -2 run on 0",
            &["maxpool/copy:range-diff"],
            prove(pool(
                &[1, 7, 5, 2],
                5,
                Some(|i, t| {
                    if i == 1 {
                        t.checked = Fr::ZERO;
                    }
                }),
            )),
        ),
        Case::forged(
            "5 for [1, 7, 5, 2], the chip told the 7 is a 3",
            &["maxpool/copy:tap"],
            prove(PoolCircuit {
                claim_tap: Some((1, 1, 3)),
                ..pool(&[1, 7, 5, 2], 5, None)
            }),
        ),
    ]
}

#[test]
fn cases_hold() {
    crate::chips::testing::assert_cases(&cases());
}
