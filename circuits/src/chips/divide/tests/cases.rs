//! The divide chip's witnesses for the mutation test (`cases`: honest and
//! forged, each forgery aimed at the constraints it breaks).

use super::*;

/// The divide chip's witnesses for the mutation test: each forgery claims a
/// wrong quotient, divisor or sum and breaks exactly one constraint.
pub(crate) fn cases() -> Vec<Case> {
    fn t(name: &str, targets: &[&'static str], c: DivideCircuit, k: usize, f: Tamper) -> Case {
        let c = forged(&c, k, f);
        Case::forged(name, targets, move || prove(&c))
    }
    let up: Tamper = |p, n, d, r| neighbour(p, n, d, r, 1, false);
    let down: Tamper = |p, n, d, r| neighbour(p, n, d, r, -1, false);
    let half = |n: i64| circuit(small(1, 8), vec![1, n], Den::Const(4));
    let wide = DivideParams {
        mult: 1000,
        n_lo: -1000,
        n_hi: 1000,
        ..small(1, 8)
    };
    let sat = circuit(wide.clone(), vec![1000, -1000, 0, 1], Den::Const(7));
    let narrow = circuit(
        DivideParams {
            mult: 1,
            lo: -100,
            hi: 100,
            ..wide.clone()
        },
        vec![101, -101],
        Den::Const(1),
    );
    fn no_clamp(p: &DivideParams, n: i64, d: i128, r: &mut Row) {
        let q = p.witness(n, d).q;
        *r = p.row_for(n, d, q, (q + p.out_zero as i128) as i64);
    }
    let reflect = circuit(
        DivideParams {
            n_lo: -500,
            n_hi: 500,
            ..small(1, 8)
        },
        vec![-133, 385],
        Den::Const(1),
    );
    let narrow_odd = circuit(
        DivideParams {
            mult: 1,
            lo: -101,
            hi: 100,
            ..wide.clone()
        },
        vec![-102],
        Den::Const(1),
    );
    let softmax_sum = circuit(
        DivideParams {
            mult: 256,
            n_lo: 0,
            n_hi: 100,
            d_lo: 1,
            d_hi: 500,
            slack: 0,
            ..small(1, 8)
        },
        vec![10, 0, 33, 100, 7],
        Den::SumOfInputs,
    );
    let wire_d = |d| circuit(small(2, 5), vec![7, -7], Den::Wire(d));
    fn lo_for_inside(p: &DivideParams, n: i64, d: i128, r: &mut Row) {
        *r = p.row_for(n, d, p.witness(n, d).q, p.lo);
    }
    let mut all = super::sqrt::cases();
    all.extend(vec![
        Case::honest("ties, constant divisors", {
            let c = circuit(small(1, 8), (-20..=20).collect(), Den::Const(4));
            move || prove(&c)
        }),
        Case::honest("a wire divisor", {
            let c = circuit(small(1, 8), (-20..=20).collect(), Den::Wire(7));
            move || prove(&c)
        }),
        Case::honest("saturation", {
            let c = sat.clone();
            move || prove(&c)
        }),
        Case::honest("a sum of the inputs", {
            let c = softmax_sum.clone();
            move || prove(&c)
        }),
        t(
            "1 for 2 / 4 (half up)",
            &["range/lookup:limb"],
            half(2),
            1,
            up,
        ),
        t(
            "1 for 2 / 4, t2 forged to 0",
            &["divide/gate:t2"],
            half(2),
            1,
            |p, n, d, r| neighbour(p, n, d, r, 1, true),
        ),
        t(
            "1 for 2 / 4, the range check of t2 = -1 run on 0",
            &["divide/copy:range-t2"],
            half(2),
            1,
            |p, n, d, r| {
                neighbour(p, n, d, r, 1, false);
                r.check_instead = Some((4, 0));
            },
        ),
        t(
            "1 for 6 / 4 (half down)",
            &["range/lookup:limb"],
            half(6),
            1,
            down,
        ),
        t(
            "1 for 6 / 4, t1 forged to 0",
            &["divide/gate:t1"],
            half(6),
            1,
            |p, n, d, r| neighbour(p, n, d, r, -1, true),
        ),
        t(
            "1 for 6 / 4, the range check of t1 = -1 run on 0",
            &["divide/copy:range-t1"],
            half(6),
            1,
            |p, n, d, r| {
                neighbour(p, n, d, r, -1, false);
                r.check_instead = Some((3, 0));
            },
        ),
        t(
            "1 for 2 / 4 with parity -1",
            &["divide/gate:p-bit"],
            half(2),
            1,
            |p, n, d, r| {
                *r = p.row_for(n, d, 1, 1);
                r.p = -1;
                let rr = 2 * n as i128 * p.mult as i128 - 2 * d;
                (r.t1, r.t2) = (d + 1 - rr, d + 1 + rr);
            },
        ),
        t(
            "1 for 2 / 4 with parity 0, hy's range check run on 0",
            &["divide/copy:range-hy"],
            half(2),
            1,
            |p, n, d, r| {
                *r = p.row_for(n, d, 1, 1);
                r.p = 0;
                let rr = 2 * n as i128 * p.mult as i128 - 2 * d;
                (r.t1, r.t2) = (d - rr, d + rr);
                r.check_instead = Some((2, 0));
            },
        ),
        t(
            "1 for 2 / 4 with both flags (c mirrored: the tie's parity flips)",
            &["divide/gate:sl-sh"],
            half(2),
            1,
            |p, n, d, r| {
                // c = hi - (2 hy + p) = 1: 2 hy + p = 126; u p = 0, |r| = 4
                *r = p.row_for(n, d, 1, 1);
                (r.sl, r.sh, r.v, r.p, r.vhi) = (1, 1, 126, 0, 0);
                (r.t1, r.t2) = (8, 0);
            },
        ),
        t(
            "y + 1 (y - lo and hi - y moved along)",
            &["divide/gate:clamp"],
            circuit(small(1, 8), vec![5, -5], Den::Const(7)),
            1,
            |_, _, _, r| (r.y, r.ylo, r.yhi) = (r.y + 1, r.ylo + 1, r.yhi - 1),
        ),
        t(
            "lo for 0 (a negative distance)",
            &["range/lookup:limb"],
            sat.clone(),
            2,
            lo_for_inside,
        ),
        t(
            "lo for 0, vhi's range check run on 0",
            &["divide/copy:range-vhi"],
            sat.clone(),
            2,
            |p, n, d, r| {
                lo_for_inside(p, n, d, r);
                r.check_instead = Some((10, 0));
            },
        ),
        t(
            "unclamped -102 in [-101, 100], y - lo forged to 0",
            &["divide/gate:ylo"],
            narrow_odd.clone(),
            0,
            |p, n, d, r| {
                no_clamp(p, n, d, r);
                r.ylo = 0;
            },
        ),
        t(
            "unclamped -102 in [-101, 100], the range check of y - lo run on 0",
            &["divide/copy:range-ylo"],
            narrow_odd,
            0,
            |p, n, d, r| {
                no_clamp(p, n, d, r);
                r.check_instead = Some((11, 0));
            },
        ),
        t(
            "unclamped 101 in [-100, 100], hi - y forged to 0",
            &["divide/gate:yhi"],
            narrow.clone(),
            0,
            |p, n, d, r| {
                no_clamp(p, n, d, r);
                r.yhi = 0;
            },
        ),
        t(
            "unclamped 101 in [-100, 100], the range check of hi - y run on 0",
            &["divide/copy:range-yhi"],
            narrow,
            0,
            |p, n, d, r| {
                no_clamp(p, n, d, r);
                r.check_instead = Some((12, 0));
            },
        ),
        t(
            "-129 for -133 (sl = 2 reflects)",
            &["divide/gate:sl-bit"],
            reflect.clone(),
            0,
            |p, n, d, r| {
                // u = -1: c = lo - 2 - 3 w, y = lo - w (w = 1)
                *r = p.row_for(n, d, -133, -129);
                (r.sl, r.sh, r.v, r.p, r.vhi) = (2, 0, 1, 1, 0);
                (r.t1, r.t2) = (d + 1, d + 1);
            },
        ),
        t(
            "381 for 385 (sh = 2 reflects)",
            &["divide/gate:sh-bit"],
            reflect,
            1,
            |p, n, d, r| {
                // u = -1: c = 2 hi + 2 - lo + w, y = 2 hi - lo - w (w = 1)
                *r = p.row_for(n, d, 385, 381);
                (r.sl, r.sh, r.v, r.p, r.vhi) = (0, 2, 1, 1, 0);
                (r.t1, r.t2) = (d + 1, d + 1);
            },
        ),
        t(
            "a quotient by 6 for the divisor 5",
            &["divide/gate:const-divisor"],
            circuit(small(1, 8), vec![11, -4, 6], Den::Const(5)),
            2,
            |p, n, d, r| *r = p.witness(n, d + 1),
        ),
        t(
            "a quotient by 6 for the divisor wire 5",
            &["divide/copy:divisor"],
            circuit(small(1, 8), vec![11, -4, 6], Den::Wire(5)),
            2,
            |p, n, d, r| *r = p.witness(n, d + 1),
        ),
        Case::forged("the divisor 6 outside [2, 5]", &["range/lookup:limb"], {
            let c = wire_d(6);
            move || prove(&c)
        }),
        t(
            "the divisor 6 outside [2, 5], d - 2 forged to 3",
            &["divide/gate:dd"],
            wire_d(6),
            0,
            |_, _, _, r| r.dd = 3,
        ),
        t(
            "the divisor 6 outside [2, 5], the range check of d - 2 run on 3",
            &["divide/copy:range-dd"],
            wire_d(6),
            0,
            |_, _, _, r| r.check_instead = Some((6, 3)),
        ),
        Case::forged(
            "a division of 12 for a source holding 11",
            &["divide/copy:n"],
            {
                let c = DivideCircuit {
                    claim_n: Some((0, 12)),
                    ..circuit(small(1, 8), vec![11, -4], Den::Const(5))
                };
                move || prove(&c)
            },
        ),
        Case::forged(
            "a sum forged after its first term",
            &["divide/gate:sum-first"],
            {
                let c = DivideCircuit {
                    forge_sum: Some((0, 151)),
                    ..softmax_sum.clone()
                };
                move || prove(&c)
            },
        ),
        Case::forged(
            "a sum forged after its third term",
            &["divide/gate:sum-step"],
            {
                let c = DivideCircuit {
                    forge_sum: Some((2, 151)),
                    ..softmax_sum.clone()
                };
                move || prove(&c)
            },
        ),
        Case::forged(
            "a sum over a term other than its source",
            &["divide/copy:sum-term"],
            {
                let c = DivideCircuit {
                    claim_term: Some((3, 50)),
                    ..softmax_sum
                };
                move || prove(&c)
            },
        ),
    ]);
    all
}

#[test]
fn cases_hold() {
    crate::chips::testing::assert_cases(&cases());
}
