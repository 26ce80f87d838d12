//! Divide chip: accepts exactly the executor's rounded division (ties to
//! even for even and odd divisors, negative numerators, saturation), whole
//! softmax lanes and average pools; rejects half-up or half-down at a tie, a
//! wrong parity bit, an off-by-one output, a missed or false saturation, a
//! wrong divisor and a forged running sum.

use super::*;
use crate::arith::div_round_half_even;
use crate::chips::lookup::LookupConfig;
use crate::chips::maxpool::MaxPoolConfig;
use crate::chips::range::RangeConfig;
use crate::chips::testing::Case;
use crate::ops::elementwise::softmax;
use crate::ops::pool::avg_pool;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::Circuit;
use ndarray::{ArrayD, IxDyn};

mod cases;
mod ops;
mod sqrt;
#[cfg(feature = "mutation")]
pub(crate) use cases::cases;
use ops::AvgPoolCircuit;

type Tamper = fn(&DivideParams, i64, i128, &mut Row);

/// How the test circuit makes the divisor.
#[derive(Clone, Copy, Debug)]
enum Den {
    /// a witness cell holding this value
    Wire(i128),
    Const(i128),
    /// the running sum of the numerators (softmax's `Σ e`)
    SumOfInputs,
}

#[derive(Clone)]
struct DivideCircuit {
    params: DivideParams,
    ns: Vec<i64>,
    den: Den,
    /// forge the witness of element `.0`
    tamper: Option<(usize, Tamper)>,
    /// forge the running sum (`Den::SumOfInputs`), which the division then uses
    forge_sum: Option<(usize, i64)>,
    /// the division is told numerator `.0` is `.1` (not its source's value)
    claim_n: Option<(usize, i64)>,
    /// the running sum is told term `.0` is `.1` (not its source's value)
    claim_term: Option<(usize, i64)>,
}

#[derive(Clone)]
struct TestConfig {
    src: Column<Advice>,
    divide: DivideConfig,
}

fn configure_divide(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
    let src = meta.advice_column();
    meta.enable_equality(src);
    let (z, mult) = (meta.advice_column(), meta.fixed_column());
    let range = RangeConfig::configure(meta, z, mult);
    let advice = std::array::from_fn(|_| meta.advice_column());
    let fixed = std::array::from_fn(|_| meta.fixed_column());
    TestConfig {
        src,
        divide: DivideConfig::configure(meta, advice, fixed, range),
    }
}

/// Assigns integers in the source column from `row`.
fn sources(region: &mut Region<'_, Fr>, src: Column<Advice>, row: usize, vs: &[i64]) -> Vec<Wire> {
    vs.iter()
        .enumerate()
        .map(|(i, &v)| {
            let value = Value::known(fe(v as i128));
            let cell = region.assign_advice(src, row + i, value).cell();
            Wire { cell, value }
        })
        .collect()
}

impl Circuit<Fr> for DivideCircuit {
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
            || "divide",
            |mut region| {
                let wires = sources(&mut region, config.src, 0, &self.ns);
                let mut row = 0;
                let divisor = match self.den {
                    Den::Wire(d) => {
                        let value = Value::known(fe(d));
                        let cell = region
                            .assign_advice(config.src, self.ns.len(), value)
                            .cell();
                        Divisor::Wire(Wire { cell, value }, d)
                    }
                    Den::Const(d) => Divisor::Const(d),
                    Den::SumOfInputs => {
                        let mut terms = self.ns.clone();
                        let mut term_wires = wires.clone();
                        if let Some((k, v)) = self.claim_term {
                            terms[k] = v;
                            term_wires[k].value = Value::known(fe(v as i128));
                        }
                        let sum = config.divide.assign_sum(
                            &mut region,
                            0,
                            &term_wires,
                            None,
                            0,
                            self.forge_sum,
                        )?;
                        row = sum_rows(wires.len());
                        // a forged accumulator carries on to the end of the sum
                        let d = match self.forge_sum {
                            Some((k, v)) => {
                                v as i128 + terms[k + 1..].iter().map(|&n| n as i128).sum::<i128>()
                            }
                            None => terms.iter().map(|&n| n as i128).sum(),
                        };
                        Divisor::Wire(sum, d)
                    }
                };
                let mut ns = self.ns.clone();
                let mut wires = wires;
                if let Some((k, v)) = self.claim_n {
                    ns[k] = v;
                    wires[k].value = Value::known(fe(v as i128));
                }
                let xs: Vec<(Wire, i64)> = wires.into_iter().zip(ns.clone()).collect();
                let tamper = |i: usize, r: &mut Row| {
                    if let Some((k, f)) = self.tamper {
                        if k == i {
                            f(&self.params, ns[i], divisor.value(), r);
                        }
                    }
                };
                config
                    .divide
                    .assign(&mut region, row, 0, &xs, &divisor, &self.params, tamper)?;
                Ok(())
            },
        )
    }
}

const K: u32 = 10;

fn small(d_lo: i128, d_hi: i128) -> DivideParams {
    DivideParams {
        mult: 1,
        out_zero: 0,
        lo: -128,
        hi: 127,
        n_lo: -20,
        n_hi: 20,
        d_lo,
        d_hi,
        slack: 0,
    }
}

fn circuit(params: DivideParams, ns: Vec<i64>, den: Den) -> DivideCircuit {
    DivideCircuit {
        params,
        ns,
        den,
        tamper: None,
        forge_sum: None,
        claim_n: None,
        claim_term: None,
    }
}

fn forged(c: &DivideCircuit, k: usize, f: Tamper) -> DivideCircuit {
    DivideCircuit {
        tamper: Some((k, f)),
        ..c.clone()
    }
}

fn prove<C: Circuit<Fr, Params = ()>>(c: &C) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(K, c, vec![]).unwrap().verify()
}

fn failures(r: Result<(), Vec<VerifyFailure>>) -> Vec<String> {
    r.expect_err("the forged witness must be rejected")
        .iter()
        .map(|e| match e {
            VerifyFailure::ConstraintNotSatisfied { constraint, .. } => {
                format!("gate {constraint}")
            }
            VerifyFailure::Lookup { name, .. } => format!("lookup {name}"),
            VerifyFailure::Permutation { .. } => "permutation".to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

/// Every failure is one of the range checks' (a limb lookup or a running
/// sum that does not end at zero).
fn only_range(f: &[String]) -> bool {
    !f.is_empty()
        && f.iter()
            .all(|m| m == "lookup range limb" || m.ends_with("('range running sum ends at zero')"))
}

/// Every failure is in the gate `name`.
fn only_gate(f: &[String], name: &str) -> bool {
    !f.is_empty() && f.iter().all(|m| m.ends_with(&format!("('{name}')")))
}

/// An independent model of the result for small operands: float division
/// (exact here) rounded ties-to-even.
fn float_model(p: &DivideParams, n: i64, d: i128) -> i64 {
    let q = ((n * p.mult) as f64 / d as f64).round_ties_even() as i128;
    saturate(q + p.out_zero as i128, p.lo, p.hi)
}

#[test]
fn constraint_algebra_admits_exactly_the_rounded_quotient() {
    // |2N - 2qd| <= d - parity(q) holds for q = rhe(N/d) and no other q
    for d in 1i128..=12 {
        for n in -60i128..=60 {
            let want = div_round_half_even(n, d);
            for q in -30i128..=30 {
                let p = q.rem_euclid(2);
                let ok = (2 * n - 2 * q * d).abs() <= d - p;
                assert_eq!(ok, q == want, "N = {n}, d = {d}, q = {q}");
            }
        }
    }
}

#[test]
fn ties_round_to_even_for_both_divisor_parities() {
    let ns: Vec<i64> = (-20..=20).collect();
    for d in 1..=8 {
        let p = small(1, 8);
        assert_eq!(
            prove(&circuit(p.clone(), ns.clone(), Den::Const(d))),
            Ok(()),
            "d = {d}"
        );
        for &n in &ns {
            assert_eq!(p.witness(n, d).y, float_model(&p, n, d), "{n} / {d}");
        }
    }
    for d in [2, 3, 6, 7] {
        let c = circuit(small(1, 8), ns.clone(), Den::Wire(d));
        assert_eq!(prove(&c), Ok(()), "wire d = {d}");
    }
    let p = small(1, 8);
    // ties in both directions, both signs: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2 (d = 4 and d = 6)
    for (n, d, y) in [
        (2, 4, 0),
        (6, 4, 2),
        (10, 4, 2),
        (-2, 4, 0),
        (-6, 4, -2),
        (-10, 4, -2),
        (3, 6, 0),
        (9, 6, 2),
        (15, 6, 2),
        (-9, 6, -2),
        (-15, 6, -2),
        // odd divisors never tie: 4/3 -> 1, 5/3 -> 2, -5/3 -> -2, 17/7 -> 2
        (4, 3, 1),
        (5, 3, 2),
        (-5, 3, -2),
        (17, 7, 2),
    ] {
        assert_eq!(p.witness(n, d).y, y, "{n} / {d}");
    }
}

#[test]
fn extreme_inputs_fit_the_widths() {
    // a negative multiplier, n and d at their bounds, constant and wire divisors
    let p = DivideParams {
        mult: -3,
        out_zero: 5,
        lo: -1000,
        hi: 1000,
        n_lo: -700,
        n_hi: 650,
        d_lo: 3,
        d_hi: 40,
        slack: 0,
    };
    let ns = vec![-700, 650, 0, -1, 1];
    for den in [Den::Const(3), Den::Const(40), Den::Wire(3), Den::Wire(40)] {
        let c = circuit(p.clone(), ns.clone(), den);
        assert_eq!(prove(&c), Ok(()), "{den:?}");
    }
    // the wire check admits up to d_lo + 2^db - 1 (db = 6 bits of 37)
    assert_eq!(p.d_max(), 66);
    assert_eq!(
        prove(&circuit(p.clone(), ns.clone(), Den::Wire(66))),
        Ok(())
    );
    assert_eq!(p.witness(-700, 3).y, 705);
    assert_eq!(p.witness(650, 3).y, -645);
}

/// The witness of the quotient `q* + dq` (`q*` the true one); with `force`,
/// `t1` and `t2` pushed into their range as a cheating prover would.
fn neighbour(p: &DivideParams, n: i64, d: i128, r: &mut Row, dq: i128, force: bool) {
    let q = p.witness(n, d).q + dq;
    *r = p.row_for(n, d, q, q as i64);
    if force {
        (r.t1, r.t2) = (r.t1.max(0), r.t2.max(0));
    }
}

#[test]
fn half_up_and_half_down_at_ties_are_rejected() {
    // a consistent witness for the odd neighbour of a tie fails a t range
    // check; t values in range fail the rounding gate
    let up: Tamper = |p, n, d, r| neighbour(p, n, d, r, 1, false);
    let down: Tamper = |p, n, d, r| neighbour(p, n, d, r, -1, false);
    let up_forced: Tamper = |p, n, d, r| neighbour(p, n, d, r, 1, true);
    let down_forced: Tamper = |p, n, d, r| neighbour(p, n, d, r, -1, true);
    // 2/4 = 0.5 -> 0 (not 1), 6/4 = 1.5 -> 2 (not 1), -2/4 -> 0 (not -1), 9/6 -> 2 (not 1)
    let cases: [(i64, Den, [Tamper; 2]); 4] = [
        (2, Den::Const(4), [up, up_forced]),
        (6, Den::Const(4), [down, down_forced]),
        (-2, Den::Const(4), [down, down_forced]),
        (9, Den::Wire(6), [down, down_forced]),
    ];
    for (n, den, [consistent, in_range]) in cases {
        let c = circuit(small(1, 8), vec![1, n], den);
        assert_eq!(prove(&c), Ok(()));
        let f = failures(prove(&forged(&c, 1, consistent)));
        assert!(only_range(&f), "{n} {den:?}: {f:?}");
        let f = failures(prove(&forged(&c, 1, in_range)));
        assert!(only_gate(&f, "divide"), "{n} {den:?}: {f:?}");
    }
}

#[test]
fn with_slack_either_neighbour_of_a_near_tie_passes_and_nothing_farther() {
    // a slack e = d/32 + 2 (a window of about 1/64 around a tie): |r| <=
    // d - p + e admits both neighbours of 2.5 (n = 160, d = 64) and of
    // 321/128 = 2.5078, but only the nearest integer of 330/128 = 2.578
    let slack = |d: i128| 1 + d / 32 + 1;
    let relaxed = |d: i128| DivideParams {
        n_lo: -400,
        n_hi: 400,
        slack: slack(d),
        ..small(d, d)
    };
    let up: Tamper = |p, n, d, r| neighbour(p, n, d, r, 1, false);
    let down: Tamper = |p, n, d, r| neighbour(p, n, d, r, -1, false);
    let up2: Tamper = |p, n, d, r| neighbour(p, n, d, r, 2, true);
    // 160 / 64 = 2.5 (rhe: 2): 3 passes too, 4 and 0 do not
    let c = circuit(relaxed(64), vec![1, 160], Den::Const(64));
    assert_eq!(prove(&c), Ok(()));
    assert_eq!(prove(&forged(&c, 1, up)), Ok(()));
    assert!(prove(&forged(&c, 1, up2)).is_err());
    assert!(prove(&forged(&c, 1, down)).is_err());
    // 321 / 128 = 2.5078 (1/128 above the tie, inside the slack): 2 passes
    let c = circuit(relaxed(128), vec![1, 321], Den::Const(128));
    assert_eq!(prove(&c), Ok(()));
    assert_eq!(prove(&forged(&c, 1, down)), Ok(()));
    // 330 / 128 = 2.578 (far from a tie): only 3
    let c = circuit(relaxed(128), vec![1, 330], Den::Const(128));
    assert_eq!(prove(&c), Ok(()));
    assert!(prove(&forged(&c, 1, down)).is_err());
    assert!(prove(&forged(&c, 1, up)).is_err());
    // without slack the tie's odd neighbour fails (the test above)
}

#[test]
fn a_wrong_parity_bit_is_rejected() {
    // 2/4 = 0.5: claim q = 1 with parity 0 (which would allow the tie); the
    // rounding gates hold, but h = (q - p)/2 + H is not an integer
    let odd_as_even: Tamper = |p, n, d, r| {
        *r = p.row_for(n, d, 1, 1);
        r.p = 0;
        let rr = 2 * n as i128 * p.mult as i128 - 2 * d;
        (r.t1, r.t2) = (d - rr, d + rr);
    };
    let c = circuit(small(1, 8), vec![2], Den::Const(4));
    let f = failures(prove(&forged(&c, 0, odd_as_even)));
    assert!(only_range(&f), "{f:?}");
    // q = 1 with "parity" -1: h = (q + 1)/2 + H is an integer and
    // |r| <= d + 1 would admit the tie, but p is not a bit
    let minus_one: Tamper = |p, n, d, r| {
        *r = p.row_for(n, d, 1, 1);
        r.p = -1;
        let rr = 2 * n as i128 * p.mult as i128 - 2 * d;
        (r.t1, r.t2) = (d + 1 - rr, d + 1 + rr);
    };
    let f = failures(prove(&forged(&c, 0, minus_one)));
    assert!(only_gate(&f, "divide"), "{f:?}");
}

#[test]
fn off_by_one_output_is_rejected_by_the_gate() {
    let p = DivideParams {
        mult: 37,
        ..small(1, 8)
    };
    // y + 1, with y - lo and hi - y stale or moved along
    let bump: Tamper = |_, _, _, r| r.y += 1;
    let bump_all: Tamper = |_, _, _, r| (r.y, r.ylo, r.yhi) = (r.y + 1, r.ylo + 1, r.yhi - 1);
    for den in [Den::Const(7), Den::Wire(7)] {
        let c = circuit(p.clone(), vec![5, -5], den);
        assert_eq!(prove(&c), Ok(()));
        for f in [bump, bump_all] {
            let f = failures(prove(&forged(&c, 1, f)));
            assert!(only_gate(&f, "divide"), "{den:?}: {f:?}");
        }
    }
}

#[test]
fn saturation_is_enforced_both_ways() {
    let p = DivideParams {
        mult: 1000,
        n_lo: -1000,
        n_hi: 1000,
        ..small(1, 8)
    };
    // 1000 * 1000 / 7 is far above 127: saturates high, and low for -1000
    assert_eq!(p.witness(1000, 7).y, 127);
    assert_eq!(p.witness(-1000, 7).y, -128);
    assert_eq!(p.witness(0, 7).y, 0);
    let c = circuit(p.clone(), vec![1000, -1000, 0, 1], Den::Const(7));
    assert_eq!(prove(&c), Ok(()));
    // claiming the unsaturated value fails the range check of hy (the
    // candidate's distance from the base is not below 2^yb)
    fn no_clamp(p: &DivideParams, n: i64, d: i128, r: &mut Row) {
        let q = p.witness(n, d).q;
        *r = p.row_for(n, d, q, (q + p.out_zero as i128) as i64);
    }
    // [-100, 100] (not 2^8 values: hi - y checked): 101 unclamped passes
    // hy's check and fails hi - y's, or with hi - y forged, the gate
    let narrow = DivideParams {
        mult: 1,
        lo: -100,
        hi: 100,
        ..p.clone()
    };
    let c2 = circuit(narrow, vec![101, -101], Den::Const(1));
    assert_eq!(prove(&c2), Ok(()));
    for (c, k) in [(&c, 0), (&c, 1), (&c2, 0), (&c2, 1)] {
        let f = failures(prove(&forged(c, k, no_clamp as Tamper)));
        assert!(only_range(&f), "element {k}: {f:?}");
    }
    let no_clamp_forced: Tamper = |p, n, d, r| {
        no_clamp(p, n, d, r);
        r.yhi = 0;
    };
    let f = failures(prove(&forged(&c2, 0, no_clamp_forced)));
    assert!(only_gate(&f, "divide"), "{f:?}");
    // claiming saturation (either end) for a value inside the range: the
    // distance v is negative, and its high part fails its range check
    fn false_lo(p: &DivideParams, n: i64, d: i128, r: &mut Row) {
        *r = p.row_for(n, d, p.witness(n, d).q, p.lo);
    }
    fn false_hi(p: &DivideParams, n: i64, d: i128, r: &mut Row) {
        *r = p.row_for(n, d, p.witness(n, d).q, p.hi);
    }
    for f in [false_lo as Tamper, false_hi] {
        let f = failures(prove(&forged(&c, 2, f)));
        assert!(only_range(&f), "{f:?}");
    }
    // both flags set: c mirrors (hi - (2 hy + p)), rejected by sl sh = 0
    let both: Tamper = |p, n, d, r| {
        let c = p.witness(n, d).q + p.out_zero as i128;
        let w = p.hi as i128 - c;
        (r.sl, r.sh, r.y, r.v, r.p, r.vhi) = (1, 1, c as i64, w, w.rem_euclid(2), 0);
        let rr = 2 * n as i128 * p.mult as i128 - 2 * (c - p.out_zero as i128) * d;
        (r.t1, r.t2) = (d + r.p - rr, d + r.p + rr);
    };
    let f = failures(prove(&forged(&c, 2, both)));
    assert!(only_gate(&f, "divide"), "{f:?}");
}

#[test]
fn saturation_flags_must_be_bits() {
    // with a flag of 2, u = -1: sl = 2 gives c = lo - 2 - 3 (2 hy + p) and
    // y = lo - (2 hy + p) (below lo), sh = 2 gives c = 2 hi + 2 - lo + w and
    // y = 2 hi - lo - w (above hi): every range check holds, the flag is
    // not a bit
    let p = small(1, 8);
    let c = circuit(
        DivideParams {
            n_lo: -500,
            n_hi: 500,
            ..p
        },
        vec![-133, 385],
        Den::Const(1),
    );
    assert_eq!(prove(&c), Ok(()));
    let reflect_lo: Tamper = |p, n, d, r| {
        *r = p.row_for(n, d, -133, -129);
        (r.sl, r.sh, r.v, r.p, r.vhi) = (2, 0, 1, 1, 0);
        (r.t1, r.t2) = (d + 1, d + 1);
    };
    let reflect_hi: Tamper = |p, n, d, r| {
        *r = p.row_for(n, d, 385, 381);
        (r.sl, r.sh, r.v, r.p, r.vhi) = (0, 2, 1, 1, 0);
        (r.t1, r.t2) = (d + 1, d + 1);
    };
    for (k, f) in [(0, reflect_lo), (1, reflect_hi)] {
        let f = failures(prove(&forged(&c, k, f)));
        assert!(only_gate(&f, "divide"), "element {k}: {f:?}");
    }
}

#[test]
fn a_wrong_divisor_is_rejected() {
    // a witness consistent with d + 1 instead of the given divisor
    let other: Tamper = |p, n, d, r| *r = p.witness(n, d + 1);
    let c = circuit(small(1, 8), vec![11, -4, 6], Den::Wire(5));
    let f = failures(prove(&forged(&c, 2, other)));
    assert!(
        !f.is_empty() && f.iter().all(|m| m == "permutation"),
        "{f:?}"
    );
    let c = circuit(small(1, 8), vec![11, -4, 6], Den::Const(5));
    let f = failures(prove(&forged(&c, 2, other)));
    assert!(only_gate(&f, "divide constant divisor"), "{f:?}");
}

#[test]
fn a_divisor_wire_outside_its_range_is_rejected() {
    // d in [2, 5]: 2 bits of d - 2, so the check admits exactly [2, 5]
    // (d = 0 is rejected too, witnessed as the executor does: as 1)
    let p = small(2, 5);
    assert_eq!(p.d_max(), 5);
    for d in [2, 5] {
        assert_eq!(
            prove(&circuit(p.clone(), vec![7, -7], Den::Wire(d))),
            Ok(())
        );
    }
    // d - 2 outside 2 bits, or (moved into them) not equal to d - 2
    let in_range: Tamper = |_, _, _, r| r.dd = r.dd.clamp(0, 3);
    for d in [0, 1, 6] {
        let c = circuit(p.clone(), vec![7, -7], Den::Wire(d));
        let f = failures(prove(&c));
        assert!(only_range(&f), "d = {d}: {f:?}");
        if d > 0 {
            let f = failures(prove(&forged(&c, 0, in_range)));
            assert!(only_gate(&f, "divide"), "d = {d}: {f:?}");
        }
    }
}

#[test]
fn sums_of_the_inputs_divide_and_a_forged_sum_is_rejected() {
    let p = DivideParams {
        mult: 256,
        n_lo: 0,
        n_hi: 100,
        d_lo: 1,
        d_hi: 500,
        slack: 0,
        ..small(1, 8)
    };
    let ns = vec![10, 0, 33, 100, 7];
    let c = circuit(p.clone(), ns.clone(), Den::SumOfInputs);
    assert_eq!(prove(&c), Ok(()));
    // the forged sum (used consistently by the division) fails only the running sum
    for k in [0, 2, 4] {
        let bad = DivideCircuit {
            forge_sum: Some((k, 151)),
            ..c.clone()
        };
        let f = failures(prove(&bad));
        assert!(only_gate(&f, "running sum"), "term {k}: {f:?}");
    }
}

#[test]
fn gates_stay_within_the_lookups_degree() {
    // the range lookups have degree 5 (a selected input times the table);
    // a gate above it would double the quotient's extended domain
    let mut cs = ConstraintSystem::<Fr>::default();
    DivideCircuit::configure(&mut cs);
    let max = cs
        .gates()
        .iter()
        .flat_map(|g| g.polynomials().iter().map(|p| p.degree()))
        .max()
        .unwrap();
    assert!(max <= 5 && cs.degree() == 5, "gate degree {max}");
}

/// A real KZG proof of `c`, checked by the verifier.
fn real_proof_verifies<C: Circuit<Fr, Params = ()> + Clone>(honest: &C, c: C) -> bool {
    use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
    use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof};
    use halo2_proofs::poly::commitment::ParamsProver;
    use halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
    use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
    use halo2_proofs::poly::kzg::strategy::SingleStrategy;
    use halo2_proofs::transcript::{
        Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer,
    };
    use rand::SeedableRng;

    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let params = crate::chips::testing::params(K);
    let vk = keygen_vk(&params, honest).unwrap();
    let pk = keygen_pk(&params, vk, honest).unwrap();
    let mut t = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        &params,
        &pk,
        &[c],
        &[&[]],
        &mut rng,
        &mut t,
    )
    .unwrap();
    let proof = t.finalize();
    let mut t = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(&proof[..]);
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        params.verifier_params(),
        pk.get_vk(),
        SingleStrategy::new(&params),
        &[&[]],
        &mut t,
    )
    .is_ok()
}

#[test]
fn real_proofs_verify_and_a_wrong_quotient_does_not() {
    // constant divisors and sums with a constant (average pooling)
    let windows = vec![
        (vec![5, -7, 100, 3], 4 << 2),
        (vec![0, -1, 64, 9, 9, 9], 6 << 2),
    ];
    let pool = AvgPoolCircuit {
        windows,
        in_zero: -3,
        params: DivideParams {
            mult: 3,
            out_zero: 2,
            lo: -128,
            hi: 127,
            n_lo: -1200,
            n_hi: 1200,
            d_lo: 4 << 2,
            d_hi: 9 << 2,
            slack: 0,
        },
    };
    assert!(real_proof_verifies(&pool, pool.clone()));
    // a wire divisor that is a running sum
    let p = DivideParams {
        mult: 256,
        n_lo: 0,
        n_hi: 100,
        d_lo: 1,
        d_hi: 500,
        slack: 0,
        ..small(1, 8)
    };
    let c = circuit(p, vec![10, 0, 33, 100, 7], Den::SumOfInputs);
    assert!(real_proof_verifies(&c, c.clone()));
    let bump: Tamper = |_, _, _, r| r.y += 1;
    assert!(!real_proof_verifies(&c, forged(&c, 3, bump)));
}

#[test]
fn verifying_key_is_pinned() {
    let c = circuit(small(1, 8), vec![1, 2], Den::Wire(3));
    assert_eq!(
        crate::chips::testing::vk_digest(K, &c),
        // changed deliberately for issue 22: the slack column `e`
        "962e1eb651e60f49",
        "divide chip verifying key changed"
    );
}
