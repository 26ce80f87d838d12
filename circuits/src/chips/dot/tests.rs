//! Dot chip: the running sums of constant-weighted rows are accepted; a
//! wrong output, a wrong start, an unchained step and a term other than its
//! source are rejected.

use super::*;
use crate::chips::testing::Case;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::Circuit;

/// Two outputs of five terms each, two terms per row (three rows of terms
/// and the output row).
#[derive(Clone)]
struct DotCircuit {
    xs: Vec<i64>,
    w: Vec<i64>,
    c0: i128,
    /// add `.2` to the running sums of output `.0` from row `.1` on
    forge: Option<(usize, usize, i128)>,
    /// the chip is given source `.0` as `.1` more than the source cell holds
    bump_source: Option<(usize, i64)>,
}

#[derive(Clone)]
struct Cfg {
    src: Column<Advice>,
    dot: DotConfig,
}

impl Circuit<Fr> for DotCircuit {
    type Config = Cfg;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();
    fn without_witnesses(&self) -> Self {
        self.clone()
    }
    fn configure(meta: &mut ConstraintSystem<Fr>) -> Cfg {
        let src = meta.advice_column();
        meta.enable_equality(src);
        let advice: Vec<_> = (0..3).map(|_| meta.advice_column()).collect();
        let fixed: Vec<_> = (0..3).map(|_| meta.fixed_column()).collect();
        Cfg {
            src,
            dot: DotConfig::configure(meta, &advice, &fixed),
        }
    }
    fn synthesize(&self, cfg: Cfg, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_region(
            || "dot",
            |mut region| {
                let mut xs = Vec::new();
                for (i, &x) in self.xs.iter().enumerate() {
                    let bump = match self.bump_source {
                        Some((k, d)) if k == i => d,
                        _ => 0,
                    };
                    let at = Value::known(fe((x + bump) as i128));
                    let cell = region.assign_advice(cfg.src, i, at).cell();
                    xs.push(Wire {
                        cell,
                        value: Value::known(fe(x as i128)),
                    });
                }
                let forge = |m: usize, i: usize| match self.forge {
                    Some((fm, fi, d)) if fm == m && i >= fi => Some(sums(self, m)[i] + d),
                    _ => None,
                };
                let (ys, _) = cfg
                    .dot
                    .assign(&mut region, 0, &xs, &self.w, self.c0, forge)?;
                assert_eq!(ys.len(), self.xs.len() / self.w.len());
                Ok(())
            },
        )
    }
}

const K: u32 = 6;

fn honest() -> DotCircuit {
    DotCircuit {
        xs: vec![3, -1, 4, 1, -5, 9, 2, -6, 5, 3],
        w: vec![2, -3, 1, 0, 7],
        c0: -11,
        forge: None,
        bump_source: None,
    }
}

/// The running sums of output `m` of `c` (before each row, then the output).
fn sums(c: &DotCircuit, m: usize) -> Vec<i128> {
    let k = c.w.len();
    let mut acc = c.c0;
    let mut out = vec![acc];
    for (i, chunk) in c.xs[m * k..(m + 1) * k].chunks(2).enumerate() {
        for (j, &x) in chunk.iter().enumerate() {
            acc += c.w[2 * i + j] as i128 * x as i128;
        }
        out.push(acc);
    }
    out
}

fn prove(c: &DotCircuit) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(K, c, vec![]).unwrap().verify()
}

pub(crate) fn cases() -> Vec<Case> {
    let run = |c: DotCircuit| move || prove(&c);
    vec![
        Case::honest("two outputs of five terms, two per row", run(honest())),
        Case::forged(
            "output 0 plus one",
            &["dot/gate:step"],
            run(DotCircuit {
                forge: Some((0, 3, 1)),
                ..honest()
            }),
        ),
        Case::forged(
            "a start other than c0 (the rest of the chain honest from it)",
            &["dot/gate:start"],
            run(DotCircuit {
                // every sum one higher: only the start row knows c0
                forge: Some((1, 0, 1)),
                ..honest()
            }),
        ),
        Case::forged(
            "a term other than its source",
            &["dot/copy:term"],
            run(DotCircuit {
                bump_source: Some((7, 2)),
                ..honest()
            }),
        ),
    ]
}

#[test]
fn cases_hold() {
    crate::chips::testing::assert_cases(&cases());
}

#[test]
fn outputs_are_the_weighted_sums() {
    let h = honest();
    // 3·2 + (-1)(-3) + 4·1 + 1·0 + (-5)·7 - 11 = -33
    assert_eq!(*sums(&h, 0).last().unwrap(), -33);
    assert_eq!(prove(&h), Ok(()));
    assert_eq!(rows_for(5, 2), 4);
    assert_eq!(terms_per_row(13, 10), 9);
}

#[test]
fn verifying_key_is_pinned() {
    assert_eq!(
        crate::chips::testing::vk_digest(K, &honest()),
        "60c4ea6a0309ad7e",
        "dot chip verifying key changed"
    );
}
