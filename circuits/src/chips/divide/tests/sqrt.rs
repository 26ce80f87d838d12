//! The floor square root: accepts exactly `floor(sqrt(x + b))` (perfect
//! squares, one below and one above them, zero, the range's top), then a
//! division of a row by that root; rejects the root plus or minus one (with
//! the gaps forged into range or not), a wrong gap, and a root of a value
//! other than the copied one.

use super::*;
use crate::chips::divide::{SqrtParams, SqrtRow};
use crate::plan::infer::isqrt;

type SqrtTamper = fn(&SqrtParams, &mut SqrtRow);

#[derive(Clone)]
struct SqrtCircuit {
    params: SqrtParams,
    xs: Vec<i64>,
    tamper: Option<(usize, SqrtTamper)>,
    /// divide row `.0..` (the sources after the roots) by root `.1`, times 64
    divide: Option<(Vec<i64>, usize)>,
}

impl Circuit<Fr> for SqrtCircuit {
    type Config = TestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
        configure_divide(meta)
    }

    fn synthesize(&self, config: TestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        config.divide.range.load_table(&mut layouter)?;
        layouter.assign_region(
            || "sqrt",
            |mut region| {
                let wires = sources(&mut region, config.src, 0, &self.xs);
                let xs: Vec<(Wire, i64)> = wires.into_iter().zip(self.xs.clone()).collect();
                let tamper = |i: usize, r: &mut SqrtRow| {
                    if let Some((k, f)) = self.tamper {
                        if k == i {
                            f(&self.params, r);
                        }
                    }
                };
                let (roots, next) =
                    config
                        .divide
                        .assign_sqrt(&mut region, 0, 0, &xs, &self.params, tamper)?;
                if let Some((ns, k)) = &self.divide {
                    let root = xs[*k].1 as i128 + self.params.bias as i128;
                    let d = isqrt(root);
                    let nw = sources(&mut region, config.src, self.xs.len(), ns);
                    let xs: Vec<(Wire, i64)> = nw.into_iter().zip(ns.clone()).collect();
                    let p = divide_params(&self.params);
                    config.divide.assign(
                        &mut region,
                        self.xs.len(),
                        next,
                        &xs,
                        &Divisor::Wire(roots[*k], d),
                        &p,
                        |_, _| {},
                    )?;
                }
                Ok(())
            },
        )
    }
}

fn divide_params(p: &SqrtParams) -> DivideParams {
    DivideParams {
        mult: 64,
        out_zero: 0,
        lo: -1000,
        hi: 1000,
        n_lo: -100,
        n_hi: 100,
        d_lo: 1,
        d_hi: isqrt(p.x_hi as i128 + p.bias as i128),
        slack: 0,
    }
}

fn params() -> SqrtParams {
    SqrtParams {
        bias: 1,
        x_lo: 0,
        x_hi: 10_000,
    }
}

fn roots(xs: Vec<i64>) -> SqrtCircuit {
    SqrtCircuit {
        params: params(),
        xs,
        tamper: None,
        divide: None,
    }
}

fn with(c: SqrtCircuit, k: usize, f: SqrtTamper) -> SqrtCircuit {
    SqrtCircuit {
        tamper: Some((k, f)),
        ..c
    }
}

/// Root `s + ds` of element `x`'s true root `s`, gaps computed from it.
fn off_by(p: &SqrtParams, r: &mut SqrtRow, ds: i128) {
    let s = p.witness(r.x as i64).s;
    *r = p.row_for(r.x, s + ds);
}

#[test]
fn roots_are_floor_square_roots() {
    let p = params();
    for x in 0..2000i64 {
        let r = p.witness(x);
        let v = (x + 1) as f64;
        assert_eq!(r.s, v.sqrt().floor() as i128, "x = {x}");
        assert!(r.g1 >= 0 && r.g2 >= 0 && r.g1 < 1 << p.gap_bits());
    }
    // 8 = 3² - 1, 9 = 3², 10, 0, the top (10,001: 100)
    let c = roots(vec![8, 9, 10, 0, 3, 10_000, 99 * 99 - 1, 99 * 99]);
    assert_eq!(prove(&c), Ok(()));
    assert_eq!(p.witness(10_000).s, 100);
    assert_eq!(p.witness(8).s, 3);
    assert_eq!(p.witness(7).s, 2);
}

#[test]
fn a_row_divides_by_its_root() {
    let mut c = roots(vec![15, 99]);
    // root of 99 + 1 = 10: 64 n / 10 rounded half to even
    c.divide = Some((vec![5, -5, 7, 100, -100], 1));
    assert_eq!(prove(&c), Ok(()));
    let p = divide_params(&c.params);
    assert_eq!(p.witness(5, 10).y, 32);
    assert_eq!(p.witness(7, 10).y, 45);
    assert_eq!(p.witness(-100, 10).y, -640);
}

#[test]
fn wrong_roots_are_rejected() {
    let base = roots(vec![24, 48, 120]);
    for k in 0..3 {
        for ds in [-2i128, -1, 1, 2] {
            let f: SqrtTamper = match ds {
                -2 => |p, r| off_by(p, r, -2),
                -1 => |p, r| off_by(p, r, -1),
                1 => |p, r| off_by(p, r, 1),
                _ => |p, r| off_by(p, r, 2),
            };
            let e = failures(prove(&with(base.clone(), k, f)));
            assert!(only_range(&e), "root {ds:+} of element {k}: {e:?}");
        }
    }
    // the negative root has the same square: its second gap is negative
    let e = failures(prove(&with(base.clone(), 1, |p, r| {
        let s = p.witness(r.x as i64).s;
        *r = p.row_for(r.x, -s);
    })));
    assert!(only_range(&e), "{e:?}");
    // gaps forged into range break the gates
    let e = failures(prove(&with(base.clone(), 0, |p, r| {
        off_by(p, r, 1);
        r.g1 = 0;
        r.g2 = 2 * r.s;
    })));
    assert!(only_gate(&e, "square root"), "{e:?}");
    let e = failures(prove(&with(base, 2, |p, r| {
        off_by(p, r, -1);
        r.g2 = 0;
    })));
    assert!(only_gate(&e, "square root"), "{e:?}");
}

/// The square root's witnesses for the mutation test.
pub(crate) fn cases() -> Vec<Case> {
    fn t(name: &str, targets: &[&'static str], k: usize, f: SqrtTamper) -> Case {
        let c = with(roots(vec![24, 48, 120]), k, f);
        Case::forged(name, targets, move || prove(&c))
    }
    vec![
        Case::honest("roots and a division by one", {
            let mut c = roots(vec![8, 9, 10, 0, 10_000]);
            c.divide = Some((vec![5, -5, 100], 4));
            move || prove(&c)
        }),
        t(
            "root 8 of 49 with the gaps 0 and 16",
            &["divide/gate:sqrt-g1"],
            1,
            |p, r| {
                off_by(p, r, 1);
                r.g1 = 0;
                r.g2 = 2 * r.s;
            },
        ),
        t(
            "root 4 of 25 with the gaps 9 and 0",
            &["divide/gate:sqrt-g2"],
            0,
            |p, r| {
                off_by(p, r, -1);
                r.g2 = 0;
            },
        ),
        t(
            "root 12 of 121, the range check of its first gap -23 run on 0",
            &["divide/copy:range-sqrt-g1"],
            2,
            |p, r| {
                off_by(p, r, 1);
                r.check_instead = Some((3, 0));
            },
        ),
        t(
            "root 10 of 121, the range check of its second gap -1 run on 0",
            &["divide/copy:range-sqrt-g2"],
            2,
            |p, r| {
                off_by(p, r, -1);
                r.check_instead = Some((4, 0));
            },
        ),
        t(
            "root 8 of 63 + 1 for a source holding 48",
            &["divide/copy:sqrt-x"],
            1,
            |p, r| *r = p.witness(63),
        ),
    ]
}
