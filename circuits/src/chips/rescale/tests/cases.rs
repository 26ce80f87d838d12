//! The rescale chip's witnesses for the mutation test (`cases`: honest and
//! forged, each forgery aimed at the constraints it breaks).

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

/// `x / 2 + 1`: `lo - out_zero` is odd, so the base is `hi`.
fn odd_zero() -> RescaleParams {
    RescaleParams {
        out_zero: 1,
        ..halves()
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
        Case::honest("clamps, [lo, hi] not tight and lo of the other parity", {
            let xs = [-130, -102, -101, -100, 99, 100, 101, 130]
                .iter()
                .map(|&x| (x, 0))
                .collect();
            prove(RescaleCircuit {
                xs,
                ..one(clamp_params(-101, 100), 0, None)
            })
        }),
        Case::honest("ties to even with an odd zero point (base hi)", {
            let xs = (-9..=9).map(|x| (x, 0)).collect();
            prove(RescaleCircuit {
                xs,
                ..one(odd_zero(), 0, None)
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
            "4 for 5 / 2 + 1 (half up, base hi)",
            &["rescale/gate:tie-even"],
            prove(one(
                odd_zero(),
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
            "3 for 5 / 2 with parity 0 (hy not an integer)",
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
            "3 for 5 / 2 with parity 0, hy's range check run on 0",
            &["rescale/copy:range-hy"],
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
            "1.5 for 3 / 2 (a parity of -1/2 moves c by a half)",
            &["rescale/gate:p-bit"],
            prove(one(
                halves(),
                3,
                Some(|_, _, _, row| {
                    // c = 2 - 1/2: the remainder grows by 2^(s-1) = 1
                    (row.p_halves, row.a) = (-1, 1);
                }),
            )),
        ),
        Case::forged(
            "3 for 5 / 2 with both flags (c mirrored: the tie's parity flips)",
            &["rescale/gate:sl-sh"],
            prove(one(
                halves(),
                5,
                Some(|p, x, c, row| {
                    // c = hi - (2 hy + p) = 3: 2 hy + p = 124, even
                    *row = p.row_for(x, c, 3, 3);
                    (row.sl, row.sh, row.v, row.p, row.vhi) = (1, 1, 124, 0, 0);
                }),
            )),
        ),
        Case::forged(
            "-129 for clamp(-133) (sl = 2 reflects)",
            &["rescale/gate:sl-bit"],
            prove(one(
                clamp_params(-128, 127),
                -133,
                Some(|p, x, c, row| {
                    // u = -1: c = -(lo + w) + 2 (lo - 1 - w) = lo - 2 - 3 w, y = lo - w
                    *row = p.row_for(x, c, -133, -129);
                    (row.sl, row.sh, row.v, row.p, row.vhi) = (2, 0, 1, 1, 0);
                }),
            )),
        ),
        Case::forged(
            "381 for clamp(385) (sh = 2 reflects)",
            &["rescale/gate:sh-bit"],
            prove(one(
                RescaleParams {
                    x_lo: -500,
                    x_hi: 500,
                    ..clamp_params(-128, 127)
                },
                385,
                Some(|p, x, c, row| {
                    // u = -1: c = -(lo + w) + 2 (hi + 1 + w) = 384 + w, y = 2 hi - lo - w
                    *row = p.row_for(x, c, 385, 381);
                    (row.sl, row.sh, row.v, row.p, row.vhi) = (0, 2, 1, 1, 0);
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
            "lo for an output inside the range (a negative distance)",
            &["range/lookup:limb"],
            prove(one(
                saturating.clone(),
                3,
                Some(|p, x, c, row| *row = p.row_for(x, c, p.witness(x, c).q, p.lo)),
            )),
        ),
        Case::forged(
            "lo for an output inside the range, vhi's range check run on 0",
            &["rescale/copy:range-vhi"],
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
            "-102 for clamp(-102) in [-101, 100], y - lo forged to 0",
            &["rescale/gate:ylo"],
            prove(one(
                clamp_params(-101, 100),
                -102,
                Some(|p, x, c, row| {
                    *row = quotient(p, x, c, 0);
                    row.ylo = 0;
                }),
            )),
        ),
        Case::forged(
            "-102 for clamp(-102) in [-101, 100], the range check of y - lo run on 0",
            &["rescale/copy:range-ylo"],
            prove(one(
                clamp_params(-101, 100),
                -102,
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
fn both_flags_and_a_half_parity_are_rejected_by_their_own_gates() {
    let forge = |x: i64, tamper: Tamper| RescaleCircuit {
        params: halves(),
        xs: vec![(x, 0)],
        tamper: Some((0, tamper)),
        x2s: None,
        bump_source: None,
    };
    // 3 for 5 / 2 with both flags: c = hi - (2 hy + p) = 3 with an even
    // 2 hy + p, so the tie's parity check passes: only sl sh = 0 rejects it
    let both: Tamper = |p, x, c, row| {
        *row = p.row_for(x, c, 3, 3);
        (row.sl, row.sh, row.v, row.p, row.vhi) = (1, 1, 124, 0, 0);
    };
    assert_eq!(
        failures(prove(&forge(5, both))),
        ["gate Constraint 7 in gate 0 ('rescale')".to_string()]
    );
    // 1.5 for 3 / 2: a parity of -1/2 moves c (and y) by a half and the
    // remainder by 2^(s-1); only p (1 - p) = 0 rejects it
    let half: Tamper = |_, _, _, row| (row.p_halves, row.a) = (-1, 1);
    assert_eq!(
        failures(prove(&forge(3, half))),
        ["gate Constraint 4 in gate 0 ('rescale')".to_string()]
    );
}
