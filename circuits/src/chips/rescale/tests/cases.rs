//! The rescale chip's witnesses for the mutation test (`cases`: honest and
//! forged, each forgery aimed at the constraints it breaks), and the tests
//! that back the two constraints left out as implied (a parity that is not
//! a bit, both saturation flags).

use super::*;

/// `x / 2` exactly (odd inputs are ties), int8 output.
fn halves() -> RescaleParams {
    RescaleParams {
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
    }
}

/// `y = clamp(x, lo, hi)` for `x` in `[-300, 300]` (`2x / 2`).
fn clamp_params(lo: i64, hi: i64) -> RescaleParams {
    RescaleParams {
        in_zero: 0,
        mult: vec![2],
        bias: vec![],
        shift: 1,
        out_zero: 0,
        lo,
        hi,
        x_lo: -300,
        x_hi: 300,
        second: None,
    }
}

/// The witness for the claimed quotient `q* + dq` (`q*` the true one), its
/// output unclamped.
fn quotient(p: &RescaleParams, x: i64, c: usize, dq: i128) -> Row {
    let q = p.witness(x, c).q + dq;
    p.row_for(x, c, q, (q + p.out_zero as i128) as i64)
}

/// The rescale chip's witnesses for the mutation test: each forgery claims
/// a wrong output (or binds a wrong input) and breaks exactly one
/// constraint.
/// `16 (x - 3) - x2` for `x` in `[0, 255]`, `x2` in `[-128, 127]`: no
/// rounding (shift 0) and bounds that hold every result, so exact.
fn exact_sum() -> RescaleCircuit {
    RescaleCircuit {
        params: RescaleParams {
            in_zero: 3,
            mult: vec![16],
            bias: vec![],
            shift: 0,
            out_zero: 0,
            lo: -175,
            hi: 4160,
            x_lo: 0,
            x_hi: 255,
            second: Some(Second {
                in_zero: 0,
                mult: -1,
                x_lo: -128,
                x_hi: 127,
                product: false,
                square: false,
            }),
        },
        xs: vec![(0, 0), (255, 0), (17, 0)],
        tamper: None,
        x2s: Some(vec![127, -128, 5]),
        bump_source: None,
    }
}

/// `x²` for `x` in `[-5, 5]` into `[0, 25]` (exact only as a square: two
/// independent operands could give -25).
fn exact_square() -> RescaleCircuit {
    let xs: Vec<i64> = (-5..=5).collect();
    RescaleCircuit {
        params: RescaleParams {
            in_zero: 0,
            mult: vec![1],
            bias: vec![],
            shift: 0,
            out_zero: 0,
            lo: 0,
            hi: 25,
            x_lo: -5,
            x_hi: 5,
            second: Some(Second {
                in_zero: 0,
                mult: 0,
                x_lo: -5,
                x_hi: 5,
                product: true,
                square: true,
            }),
        },
        xs: xs.iter().map(|&x| (x, 0)).collect(),
        tamper: None,
        x2s: Some(xs),
        bump_source: None,
    }
}

/// The rescale chip's witnesses, in both layouts (two rows per element, and
/// one row on a wide bank).
pub(crate) fn cases() -> Vec<Case> {
    super::in_both_layouts(narrow_cases())
}

fn narrow_cases() -> Vec<Case> {
    // an honest element (the lowest input) and the element `x`
    let one = |params: RescaleParams, x: i64, tamper: Option<Tamper>| RescaleCircuit {
        xs: vec![(params.x_lo, 0), (x, 0)],
        params,
        tamper: tamper.map(|f| (1, f)),
        x2s: None,
        bump_source: None,
    };
    let prove = |c: RescaleCircuit| move || prove(&c);
    let sum = || RescaleCircuit {
        params: super::sum_params(),
        xs: vec![(0, 0), (17, 0), (200, 0)],
        tamper: None,
        x2s: Some(vec![-128, 0, -100]),
        bump_source: None,
    };
    let mut product = sum();
    product.params.second = Some(Second {
        in_zero: -7,
        mult: 0,
        x_lo: -128,
        x_hi: 127,
        product: true,
        square: false,
    });
    product.params.shift = 6;
    let saturating = params(vec![4000], 6);
    vec![
        Case::honest("per-channel requantization", {
            let xs = (-20i64..20)
                .map(|i| (i * 47 % 1000, (i.rem_euclid(2)) as usize))
                .collect();
            prove(RescaleCircuit {
                xs,
                ..one(params(vec![37, 91], 6), 0, None)
            })
        }),
        Case::honest("ties to even", {
            let xs = (-9..=9).map(|x| (x, 0)).collect();
            prove(RescaleCircuit {
                xs,
                ..one(halves(), 0, None)
            })
        }),
        Case::honest("saturation", prove(one(saturating.clone(), 1000, None))),
        Case::honest("clamps", {
            let xs = [-130, -101, 101, 130].iter().map(|&x| (x, 0)).collect();
            prove(RescaleCircuit {
                xs,
                ..one(clamp_params(-100, 100), 0, None)
            })
        }),
        Case::honest("a sum", prove(sum())),
        Case::honest("a product", prove(product.clone())),
        Case::forged(
            "q + 1 for 97 * 37 / 64 with remainder 1",
            &["rescale/gate:rounding"],
            prove(one(
                params(vec![37], 6),
                100,
                Some(|p, x, c, row| {
                    *row = quotient(p, x, c, 1);
                    (row.a, row.f) = (1, 0);
                }),
            )),
        ),
        Case::forged(
            "0 for 3 / 2 (a tie, 2) with remainder 0 and top bit 2",
            &["rescale/gate:f-bit"],
            prove(one(
                halves(),
                3,
                Some(|p, x, c, row| {
                    *row = quotient(p, x, c, -2);
                    (row.a, row.f) = (0, 2);
                }),
            )),
        ),
        Case::forged(
            "1 for 4 / 2 with remainder 1 and top bit 1",
            &["rescale/gate:f-times-a"],
            prove(one(
                halves(),
                4,
                Some(|p, x, c, row| {
                    *row = quotient(p, x, c, -1);
                    (row.a, row.f) = (1, 1);
                }),
            )),
        ),
        Case::forged(
            "3 for 5 / 2 (half up)",
            &["rescale/gate:tie-even"],
            prove(one(
                halves(),
                5,
                Some(|p, x, c, row| *row = quotient(p, x, c, 1)),
            )),
        ),
        Case::forged(
            "-3 for -5 / 2 (half down, the upper tie)",
            &["rescale/gate:tie-even"],
            prove(one(
                halves(),
                -5,
                Some(|p, x, c, row| *row = quotient(p, x, c, -1)),
            )),
        ),
        Case::forged(
            "3 for 5 / 2 with parity 0 (h not an integer)",
            &["range/lookup:limb"],
            prove(one(
                halves(),
                5,
                Some(|p, x, c, row| {
                    *row = quotient(p, x, c, 1);
                    row.p = 0;
                }),
            )),
        ),
        Case::forged(
            "3 for 5 / 2 with parity 0, h's range check run on 0",
            &["rescale/copy:range-h"],
            prove(one(
                halves(),
                5,
                Some(|p, x, c, row| {
                    *row = quotient(p, x, c, 1);
                    row.p = 0;
                    row.check_instead = Some((5, 0));
                }),
            )),
        ),
        Case::forged(
            "-126 for clamp(-130) (sl = 2 reflects)",
            &["rescale/gate:sl-bit"],
            prove(one(
                clamp_params(-128, 127),
                -130,
                Some(|p, x, c, row| {
                    let q = p.witness(x, c).q;
                    *row = p.row_for(x, c, q, 2 * p.lo - q as i64);
                    (row.sl, row.sh, row.d) = (2, 0, 2 * (p.lo as i128 - q));
                }),
            )),
        ),
        Case::forged(
            "124 for clamp(130) (sh = 2 reflects)",
            &["rescale/gate:sh-bit"],
            prove(one(
                clamp_params(-128, 127),
                130,
                Some(|p, x, c, row| {
                    let q = p.witness(x, c).q;
                    *row = p.row_for(x, c, q, 2 * p.hi - q as i64);
                    (row.sl, row.sh, row.d) = (0, 2, 2 * (q - p.hi as i128));
                }),
            )),
        ),
        Case::forged(
            "y + 1 (y - lo and hi - y moved along)",
            &["rescale/gate:clamp"],
            prove(one(
                params(vec![37], 6),
                100,
                Some(|_, _, _, row| {
                    (row.y, row.ylo, row.yhi) = (row.y + 1, row.ylo + 1, row.yhi - 1)
                }),
            )),
        ),
        Case::forged(
            "lo for an output inside the range, distance 0",
            &["rescale/gate:dist"],
            prove(one(
                saturating.clone(),
                3,
                Some(|p, x, c, row| {
                    *row = p.row_for(x, c, p.witness(x, c).q, p.lo);
                    row.d = 0;
                }),
            )),
        ),
        Case::forged(
            "lo for an output inside the range, the distance's range check run on 0",
            &["rescale/copy:range-dist"],
            prove(one(
                saturating.clone(),
                3,
                Some(|p, x, c, row| {
                    *row = p.row_for(x, c, p.witness(x, c).q, p.lo);
                    row.check_instead = Some((9, 0));
                }),
            )),
        ),
        Case::forged(
            "an unclamped output below lo, y - lo forged to 0",
            &["rescale/gate:ylo"],
            prove(one(
                saturating.clone(),
                -1000,
                Some(|p, x, c, row| {
                    *row = quotient(p, x, c, 0);
                    row.ylo = 0;
                }),
            )),
        ),
        Case::forged(
            "an unclamped output below lo, the range check of y - lo run on 0",
            &["rescale/copy:range-ylo"],
            prove(one(
                saturating.clone(),
                -1000,
                Some(|p, x, c, row| {
                    *row = quotient(p, x, c, 0);
                    row.check_instead = Some((10, 0));
                }),
            )),
        ),
        Case::forged(
            "101 for clamp(101) in [-100, 100], hi - y forged to 0",
            &["rescale/gate:yhi"],
            prove(one(
                clamp_params(-100, 100),
                101,
                Some(|p, x, c, row| {
                    *row = quotient(p, x, c, 0);
                    row.yhi = 0;
                }),
            )),
        ),
        Case::forged(
            "101 for clamp(101) in [-100, 100], the range check of hi - y run on 0",
            &["rescale/copy:range-yhi"],
            prove(one(
                clamp_params(-100, 100),
                101,
                Some(|p, x, c, row| {
                    *row = quotient(p, x, c, 0);
                    row.check_instead = Some((11, 0));
                }),
            )),
        ),
        Case::forged(
            "q + 1 for 97 * 37 / 64, the negative remainder's range check run on 0",
            &["rescale/copy:range-a"],
            prove(one(
                params(vec![37], 6),
                100,
                Some(|p, x, c, row| {
                    *row = quotient(p, x, c, 1);
                    row.check_instead = Some((3, 0));
                }),
            )),
        ),
        Case::forged(
            "q + 1 for 97 * 37 / 64 (a negative remainder)",
            &["range/lookup:limb"],
            prove(one(
                params(vec![37], 6),
                100,
                Some(|p, x, c, row| *row = quotient(p, x, c, 1)),
            )),
        ),
        Case::forged(
            "the output of 101 for a source holding 100",
            &["rescale/copy:x"],
            prove(RescaleCircuit {
                bump_source: Some((1, -1)),
                ..one(params(vec![37], 6), 101, None)
            }),
        ),
        Case::forged(
            "a sum over a second operand other than its source",
            &["rescale/copy:x2"],
            prove(RescaleCircuit {
                bump_source: Some((4, 1)),
                ..sum()
            }),
        ),
        Case::forged(
            "a product over a second operand other than its source",
            &["rescale/copy:x2"],
            prove(RescaleCircuit {
                bump_source: Some((5, -1)),
                ..product
            }),
        ),
        Case::honest("an exact sum (one row, no range check)", {
            assert!(exact_sum().params.exact());
            prove(exact_sum())
        }),
        Case::honest("an exact square", {
            let c = exact_square();
            assert!(c.params.exact());
            let mut apart = c.params.clone();
            apart.second.as_mut().unwrap().square = false;
            assert!(!apart.exact(), "x·x2 of independent operands reaches -25");
            prove(c)
        }),
        Case::forged(
            "an exact sum's output off by one",
            &["rescale/gate:exact"],
            prove(RescaleCircuit {
                tamper: Some((2, |_, _, _, row| row.y += 1)),
                ..exact_sum()
            }),
        ),
        Case::forged(
            "an exact square over a first operand other than its source",
            &["rescale/copy:x"],
            prove(RescaleCircuit {
                bump_source: Some((3, 1)),
                ..exact_square()
            }),
        ),
        Case::forged(
            "an exact sum over a second operand other than its source",
            &["rescale/copy:x2"],
            prove(RescaleCircuit {
                bump_source: Some((4, 1)),
                ..exact_sum()
            }),
        ),
    ]
}

#[test]
fn cases_hold() {
    crate::chips::testing::assert_cases(&cases());
}

#[test]
fn a_parity_that_is_not_a_bit_changes_nothing() {
    // `p` is not constrained to a bit (the other constraints imply what is
    // needed): for ties and non-ties, every claimed quotient q* + dq with
    // every "parity" p in -2..=3 (h = (q - p) / 2 + H in the field) is
    // accepted only for the true quotient
    thread_local!(static FORGE: std::cell::Cell<(i128, i128)> = const {
        std::cell::Cell::new((0, 0))
    });
    let p = halves();
    for x in [-5i64, -3, -2, 3, 4, 5, 9] {
        for dq in -2i128..=2 {
            for par in -2i128..=3 {
                // (a `Tamper` is a plain function: it reads the forgery here)
                FORGE.with(|c| c.set((dq, par)));
                let c = RescaleCircuit {
                    params: p.clone(),
                    xs: vec![(x, 0)],
                    tamper: Some((0, |p, x, c, row| {
                        let (dq, par) = FORGE.with(|c| c.get());
                        *row = quotient(p, x, c, dq);
                        row.p = par;
                    })),
                    x2s: None,
                    bump_source: None,
                };
                let ok = prove(&c).is_ok();
                let canonical = par == (p.witness(x, 0).q + dq).rem_euclid(2);
                if dq != 0 {
                    assert!(!ok, "x = {x}, q* + {dq}, p = {par}");
                } else if canonical {
                    assert!(ok, "x = {x}, p = {par}");
                }
            }
        }
    }
}

#[test]
fn both_saturation_flags_are_rejected_or_harmless() {
    // sl = sh = 1 (no constraint of its own): the distance lo - hi fails its
    // range check when lo < hi
    let both: Tamper = |p, x, c, row| {
        let q = p.witness(x, c).q;
        let cc = q + p.out_zero as i128;
        *row = p.row_for(x, c, q, (p.lo as i128 + p.hi as i128 - cc) as i64);
        (row.sl, row.sh, row.d) = (1, 1, p.lo as i128 - p.hi as i128);
    };
    let c = RescaleCircuit {
        params: clamp_params(-100, 100),
        xs: vec![(7, 0)],
        tamper: Some((0, both)),
        x2s: None,
        bump_source: None,
    };
    let f = failures(prove(&c));
    assert!(
        !f.is_empty() && f.iter().all(|m| m.contains("range")),
        "{f:?}"
    );
    // with lo = hi, y = 2 lo - c and both y - lo, hi - y checked: only
    // c = lo passes, and its output lo is the right one
    let c = RescaleCircuit {
        params: clamp_params(5, 5),
        ..c
    };
    for x in [4i64, 5, 6] {
        let c = RescaleCircuit {
            xs: vec![(x, 0)],
            ..c.clone()
        };
        assert_eq!(prove(&c).is_ok(), x == 5, "x = {x}");
        assert_eq!(c.params.witness(x, 0).y, 5);
    }
}
