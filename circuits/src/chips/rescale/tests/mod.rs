//! Rescale chip: accepts exactly the executor's requantization; rejects
//! half-up rounding at a tie, an off-by-one output, a missed saturation and
//! a false saturation.

use super::*;
use crate::chips::range::RangeConfig;
use crate::chips::testing::Case;
use crate::ops::elementwise::rescale;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::Circuit;
use ndarray::{ArrayD, IxDyn};

mod cases;
#[cfg(feature = "mutation")]
pub(crate) use cases::cases;

type Tamper = fn(&RescaleParams, i64, usize, &mut Row);

#[derive(Clone)]
struct RescaleCircuit {
    params: RescaleParams,
    /// (x, channel)
    xs: Vec<(i64, usize)>,
    /// forge the witness of element `.0`
    tamper: Option<(usize, Tamper)>,
    /// second operands of a sum (the Add op)
    x2s: Option<Vec<i64>>,
    /// add `.1` to source cell `.0` (the xs, then the x2s) after the chip
    /// was given its value: the chip's copy no longer equals its source
    bump_source: Option<(usize, i64)>,
}

#[derive(Clone)]
struct TestConfig {
    src: Column<Advice>,
    rescale: RescaleConfig,
}

impl Circuit<Fr> for RescaleCircuit {
    type Config = TestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
        let src = meta.advice_column();
        meta.enable_equality(src);
        let (z, mult) = (meta.advice_column(), meta.fixed_column());
        let range = RangeConfig::configure(meta, z, mult);
        let (na, nf) = if ONE_ROW.with(|w| w.get()) {
            (WIDE_ADVICE, WIDE_FIXED)
        } else {
            (ADVICE, FIXED)
        };
        let advice: Vec<_> = (0..na).map(|_| meta.advice_column()).collect();
        let fixed: Vec<_> = (0..nf).map(|_| meta.fixed_column()).collect();
        TestConfig {
            src,
            rescale: RescaleConfig::configure(meta, &advice, &fixed, range),
        }
    }

    fn synthesize(&self, config: TestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        config.rescale.range.load_table(&mut layouter)?;
        layouter.assign_region(
            || "rescale",
            |mut region| {
                let source = |region: &mut Region<'_, Fr>, i: usize, x: i64| {
                    let v = Value::known(fe(x as i128));
                    let bump = match self.bump_source {
                        Some((k, d)) if k == i => d,
                        _ => 0,
                    };
                    let at = Value::known(fe(x as i128 + bump as i128));
                    let cell = region.assign_advice(config.src, i, at).cell();
                    Wire { cell, value: v }
                };
                let mut xs = Vec::new();
                for (i, &(x, c)) in self.xs.iter().enumerate() {
                    xs.push((source(&mut region, i, x), x, c));
                }
                let tamper = |i: usize, row: &mut Row| {
                    if let Some((k, f)) = self.tamper {
                        if k == i {
                            f(&self.params, self.xs[i].0, self.xs[i].1, row);
                        }
                    }
                };
                let x2s: Option<Vec<(Wire, i64)>> = self.x2s.as_ref().map(|v| {
                    v.iter()
                        .enumerate()
                        .map(|(i, &x2)| (source(&mut region, self.xs.len() + i, x2), x2))
                        .collect()
                });
                config.rescale.assign_sum(
                    &mut region,
                    0,
                    0,
                    &xs,
                    x2s.as_deref(),
                    &self.params,
                    tamper,
                )?;
                Ok(())
            },
        )
    }
}

const K: u32 = 11;

thread_local! {
    /// (tests) configure the chip on a wide bank: one row per element
    static ONE_ROW: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the chip in its one-row layout.
fn one_row<T>(f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            ONE_ROW.with(|w| w.set(false));
        }
    }
    ONE_ROW.with(|w| w.set(true));
    let _reset = Reset;
    f()
}

/// `cases` again, each also run with the chip in its one-row layout.
fn in_both_layouts(cases: Vec<Case>) -> Vec<Case> {
    let mut out = Vec::with_capacity(2 * cases.len());
    for c in cases {
        let run = std::rc::Rc::new(c.run);
        let wide = run.clone();
        out.push(Case {
            name: format!("{} (one row per element)", c.name),
            forged: c.forged,
            targets: c.targets.clone(),
            run: Box::new(move || one_row(|| wide())),
        });
        out.push(Case {
            name: c.name,
            forged: c.forged,
            targets: c.targets,
            run: Box::new(move || run()),
        });
    }
    out
}

fn params(mult: Vec<i64>, shift: u32) -> RescaleParams {
    RescaleParams {
        in_zero: 3,
        bias: vec![5; mult.len()],
        mult,
        shift,
        out_zero: -10,
        lo: -128,
        hi: 127,
        x_lo: -1000,
        x_hi: 1000,
        second: None,
    }
}

fn prove(c: &RescaleCircuit) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(K, c, vec![]).unwrap().verify()
}

fn failures(r: Result<(), Vec<VerifyFailure>>) -> Vec<String> {
    r.unwrap_err()
        .iter()
        .map(|e| match e {
            VerifyFailure::ConstraintNotSatisfied { constraint, .. } => {
                format!("gate {constraint}")
            }
            VerifyFailure::Lookup { name, .. } => format!("lookup {name}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn honest_witness_equals_the_executor() {
    let p = params(vec![37, 91], 6);
    let xs: Vec<(i64, usize)> = (-20i64..20)
        .map(|i| (i * 47 % 1000, (i.rem_euclid(2)) as usize))
        .collect();
    let c = RescaleCircuit {
        params: p.clone(),
        xs: xs.clone(),
        tamper: None,
        x2s: None,
        bump_source: None,
    };
    assert_eq!(prove(&c), Ok(()));
    // chip witnesses equal the executor's per-channel rescale (channels on axis 1)
    let arr =
        ArrayD::from_shape_vec(IxDyn(&[20, 2]), xs.iter().map(|&(x, _)| x).collect()).unwrap();
    let want = rescale(
        &arr, p.in_zero, &p.mult, &p.bias, p.shift, 1, p.out_zero, p.lo, p.hi,
    );
    for (k, &(x, ch)) in xs.iter().enumerate() {
        assert_eq!(p.witness(x, ch).y, want.as_slice().unwrap()[k], "x = {x}");
    }
}

#[test]
fn ties_round_to_even_and_half_up_is_rejected() {
    // multiply by 1/2 exactly: odd inputs are ties
    let p = RescaleParams {
        in_zero: 0,
        mult: vec![1],
        bias: vec![],
        shift: 1,
        out_zero: 0,
        lo: -128,
        hi: 127,
        x_lo: -9,
        x_hi: 9,
        second: None,
    };
    let xs: Vec<(i64, usize)> = (-9..=9).map(|x| (x, 0)).collect();
    assert_eq!(
        prove(&RescaleCircuit {
            params: p.clone(),
            xs: xs.clone(),
            tamper: None,
            x2s: None,
            bump_source: None,
        }),
        Ok(())
    );
    // x = 5: 2.5 rounds to 2; claiming 3 (half up) with a consistent
    // witness (a = 0: a tie) fails the tie's even-quotient constraint
    let tie_odd = ["gate Constraint 3 in gate 0 ('rescale')".to_string()];
    let half_up: Tamper = |p, x, c, row| *row = p.row_for(x, c, 3, 3);
    let idx = xs.iter().position(|&(x, _)| x == 5).unwrap();
    let f = failures(prove(&RescaleCircuit {
        params: p.clone(),
        xs: xs.clone(),
        tamper: Some((idx, half_up)),
        x2s: None,
        bump_source: None,
    }));
    assert_eq!(f, tie_odd);
    // and 2 is what the executor says
    assert_eq!(p.witness(5, 0).y, 2);
    // x = -5: -2.5 rounds to -2; claiming -3 (the upper tie, f = 1) fails the same way
    assert_eq!(p.witness(-5, 0).y, -2);
    let down: Tamper = |p, x, c, row| *row = p.row_for(x, c, -3, -3);
    let idx = xs.iter().position(|&(x, _)| x == -5).unwrap();
    let f = failures(prove(&RescaleCircuit {
        params: p.clone(),
        xs: xs.clone(),
        tamper: Some((idx, down)),
        x2s: None,
        bump_source: None,
    }));
    assert_eq!(f, tie_odd);
    // a quotient one too low, with its remainder's excess moved into the
    // top bit (a + f 2^s = 2^s + a'): f a != 0
    // (x = 4: q = 2, a = 1; claiming q = 1 needs a + 2f = 3: f = 1, a = 1)
    let low: Tamper = |p, x, c, row| {
        *row = p.row_for(x, c, 1, 1);
        row.f = 1;
        row.a = 1;
    };
    assert_eq!(p.witness(4, 0).y, 2);
    let idx = xs.iter().position(|&(x, _)| x == 4).unwrap();
    let f = failures(prove(&RescaleCircuit {
        params: p.clone(),
        xs: xs.clone(),
        tamper: Some((idx, low)),
        x2s: None,
        bump_source: None,
    }));
    assert_eq!(f, ["gate Constraint 2 in gate 0 ('rescale')".to_string()]);
}

#[test]
fn off_by_one_output_is_rejected_by_the_gate() {
    let p = params(vec![37], 6);
    let bump: Tamper = |_, _, _, row| row.y += 1;
    let f = failures(prove(&RescaleCircuit {
        params: p,
        xs: vec![(100, 0), (-100, 0)],
        tamper: Some((1, bump)),
        x2s: None,
        bump_source: None,
    }));
    assert!(
        f.iter()
            .any(|m| m.contains("gate") && m.contains("rescale")),
        "{f:?}"
    );
}

#[test]
fn saturation_is_enforced_both_ways() {
    let p = params(vec![4000], 6);
    // 1000 * 4000 / 64 is far above 127: saturates
    assert_eq!(p.witness(1000, 0).y, 127);
    assert_eq!(p.witness(-1000, 0).y, -128);
    assert_eq!(
        prove(&RescaleCircuit {
            params: p.clone(),
            xs: vec![(1000, 0), (-1000, 0), (0, 0)],
            tamper: None,
            x2s: None,
            bump_source: None,
        }),
        Ok(())
    );
    // claiming the unsaturated value (y = q + zo > hi) fails the y range checks
    let no_clamp: Tamper = |p, x, c, row| {
        let q = p.witness(x, c).q;
        *row = p.row_for(x, c, q, (q + p.out_zero as i128) as i64);
    };
    let f = failures(prove(&RescaleCircuit {
        params: p.clone(),
        xs: vec![(1000, 0)],
        tamper: Some((0, no_clamp)),
        x2s: None,
        bump_source: None,
    }));
    assert!(f.iter().all(|m| m.contains("range")), "{f:?}");
    // claiming saturation at lo for a value inside the range fails the distance check
    let false_clamp: Tamper = |p, x, c, row| {
        let q = p.witness(x, c).q;
        *row = p.row_for(x, c, q, p.lo);
    };
    assert_eq!(p.witness(3, 0).y, -10, "x = 3 is inside the output range");
    let f = failures(prove(&RescaleCircuit {
        params: p,
        xs: vec![(3, 0)],
        tamper: Some((0, false_clamp)),
        x2s: None,
        bump_source: None,
    }));
    assert!(f.iter().all(|m| m.contains("range")), "{f:?}");
}

#[test]
fn boundary_inputs_and_zero_shift() {
    for shift in [0u32, 1, 20] {
        let p = RescaleParams {
            in_zero: -128,
            mult: vec![1 << 10],
            bias: vec![-7],
            shift,
            out_zero: 0,
            lo: 0,
            hi: 255,
            x_lo: -128,
            x_hi: 127,
            second: None,
        };
        let xs = vec![(-128, 0), (127, 0), (0, 0)];
        assert_eq!(
            prove(&RescaleCircuit {
                params: p,
                xs,
                tamper: None,
                x2s: None,
                bump_source: None,
            }),
            Ok(()),
            "shift {shift}"
        );
    }
}

/// `(a - 3) * 5 + (b + 7) * 3`, `/ 2^2`, `+ 1`, clamped to uint8 (`a`
/// uint8, `b` int8).
pub(super) fn sum_params() -> RescaleParams {
    RescaleParams {
        in_zero: 3,
        mult: vec![5],
        bias: vec![],
        shift: 2,
        out_zero: 1,
        lo: 0,
        hi: 255,
        x_lo: 0,
        x_hi: 255,
        second: Some(Second {
            in_zero: -7,
            mult: 3,
            x_lo: -128,
            x_hi: 127,
            product: false,
            square: false,
        }),
    }
}

#[test]
fn sums_of_two_operands_equal_the_executor_add() {
    use crate::ops::elementwise::add;
    let p = sum_params();
    let a: Vec<i64> = vec![0, 255, 17, 3, 100, 200];
    let b: Vec<i64> = vec![-128, 127, 0, -7, 5, -100];
    let xs: Vec<(i64, usize)> = a.iter().map(|&x| (x, 0)).collect();
    let c = RescaleCircuit {
        params: p.clone(),
        xs,
        tamper: None,
        x2s: Some(b.clone()),
        bump_source: None,
    };
    assert_eq!(prove(&c), Ok(()));
    let arr = |v: &Vec<i64>| ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.clone()).unwrap();
    let want = add(&arr(&a), &arr(&b), &[a.len()], 3, -7, 5, 3, 2, 1, 0, 255);
    for (k, (&x, &x2)) in a.iter().zip(&b).enumerate() {
        assert_eq!(p.witness2(x, x2, 0).y, want[k], "element {k}");
    }
    // a wrong sum is rejected
    let bump: Tamper = |_, _, _, row| row.y += 1;
    let mut bad = c.clone();
    bad.tamper = Some((2, bump));
    assert!(prove(&bad).is_err());
}

#[test]
fn products_equal_the_executor_mul() {
    use crate::ops::elementwise::mul;
    // (a - 3)(b + 7) * 5 / 2^6 + 2, clamped to int8
    let p = RescaleParams {
        in_zero: 3,
        mult: vec![5],
        bias: vec![],
        shift: 6,
        out_zero: 2,
        lo: -128,
        hi: 127,
        x_lo: 0,
        x_hi: 255,
        second: Some(Second {
            in_zero: -7,
            mult: 0,
            x_lo: -128,
            x_hi: 127,
            product: true,
            square: false,
        }),
    };
    let a: Vec<i64> = vec![0, 255, 17, 3, 100, 200, 9];
    let b: Vec<i64> = vec![-128, 127, 0, -7, 5, -100, 1];
    let xs: Vec<(i64, usize)> = a.iter().map(|&x| (x, 0)).collect();
    let c = RescaleCircuit {
        params: p.clone(),
        xs,
        tamper: None,
        x2s: Some(b.clone()),
        bump_source: None,
    };
    assert_eq!(prove(&c), Ok(()));
    let arr = |v: &Vec<i64>| ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.clone()).unwrap();
    let want = mul(&arr(&a), &arr(&b), &[a.len()], 3, -7, 5, 6, 2, -128, 127);
    for (k, (&x, &x2)) in a.iter().zip(&b).enumerate() {
        assert_eq!(p.witness2(x, x2, 0).y, want[k], "element {k}");
    }
    let bump: Tamper = |_, _, _, row| row.y -= 1;
    let mut bad = c.clone();
    bad.tamper = Some((6, bump));
    assert!(prove(&bad).is_err());
}

#[test]
fn verifying_key_is_pinned() {
    let circuit = RescaleCircuit {
        params: params(vec![37], 6),
        xs: vec![(1, 0), (2, 0)],
        tamper: None,
        x2s: None,
        bump_source: None,
    };
    assert_eq!(
        crate::chips::testing::vk_digest(K, &circuit),
        "06bb56e529d1a5de",
        "rescale chip verifying key changed"
    );
}
