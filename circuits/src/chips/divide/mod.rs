//! Rounded division: `y = clamp(rhe(n M / d) + out_zero, lo, hi)` (the
//! division step of [`crate::ops::elementwise::softmax`] and of
//! [`crate::ops::pool::avg_pool`]), one row per element plus range checks in
//! the [`RangeConfig`] column, and a running sum that builds the numerators
//! and divisors these ops need.
//!
//! The numerator `N = n M` has a witness `n` (in `[n_lo, n_hi]`: the caller
//! bounds it, e.g. a table output or a sum of checked values) and a fixed
//! multiplier `M`. The divisor `d` is either a witness wire, copied into
//! every row of the call, whose offset `dd = d - d_lo` (a gate on every row)
//! is range checked on the call's first row so that `d` lies in
//! `[d_lo, d_max]`, `d_max = d_lo + 2^db - 1 >= d_hi` (`db` bits hold
//! `d_hi - d_lo`, `d_lo >= 1`); or a constant in `[d_lo, d_hi]` bound by the
//! verifying key (the fixed column `dc`, with a gate `d = dc`). Every width
//! below is sized for every `n` and every `d` in `[d_lo, d_max]`.
//!
//! Rounding. The witness holds the quotient `q = c - out_zero` through the
//! clamp's candidate `c`, written as the requantization chip writes it
//! ([`crate::chips::rescale`]: `v = 2 hy + p + 2^yb vhi` with `hy`, `vhi`
//! range checked and `p` a bit, clamp flags `sl`, `sh`, `u = 1 - sl - sh`;
//! inside, `c = base + sgn (2 hy + p)` with `base` of `out_zero`'s parity,
//! so `p` is `q`'s parity; clamped, `c = lo - 1 - v` or `hi + 1 + v`).
//! With `r = 2N - 2qd` the gates set `t1 = d - u p - r` and
//! `t2 = d - u p + r`, both range checked to `tb = bits(2 d_max)` bits, so
//! `|r| <= d - u p`, i.e. inside
//! `|N/d - q| <= 1/2 - p/(2d)`:
//! - `q` even: `|N/d - q| <= 1/2`, a tie allowed;
//! - `q` odd: `|N/d - q| < 1/2` (`r` is an integer with `|r| <= d - 1`).
//!
//! This is exactly round-half-to-even, with a unique solution. If `N/d` is
//! not a tie (always so for odd `d`: a tie needs `2N = (2k + 1) d`), exactly
//! one integer `q*` has `|N/d - q*| < 1/2`; every other `q` has
//! `|N/d - q| > 1/2` and fails, and `q*` passes (even: trivially; odd:
//! `|2N - 2q*d| < d` is an integer, so at most `d - 1`). At a tie
//! `N/d = k + 1/2` only `k` and `k + 1` reach `|r| = d`; the odd one fails
//! `|r| <= d - 1` and the even one passes. The same holds for negative `N`:
//! nothing above assumes a sign. Widths keep every quantity far below the
//! field size (asserted: under 2^120), so the range checks bound the true
//! integers and nothing wraps; `d >= 1` matters (with `d = 0` the checks
//! would accept any even `q` for `N = 0`), hence the divisor check.
//!
//! Slack. With a fixed `e > 0` (`DivideParams::slack`) the gates set
//! `t1 = d - p + e - r` and `t2 = d - p + e + r` instead: `|r| <= d - p + e`,
//! so `|N/d - q| <= 1/2 + (e - p)/(2d)`: any nearest integer of `N/d`, and
//! either neighbour where `N/d` is within `e/(2d)` of a tie (never more:
//! both checks still bound `|r|`). `AvgPoolF32` uses it with `N M` and `d`
//! scaled so that `d >= 2^12` and `e = d/64 + 2`: a window of at most
//! `1/128 + 1/4096` around a tie, above the float error the compiler admits
//! (under 1/128 of a step), so onnxruntime's float32 rounding is always one
//! of the admitted integers, and only at a (near) tie can it differ from
//! round-half-to-even. `e = 0` everywhere else.
//!
//! The clamp: inside (`u = 1`), `y = c` and `2 hy + p < 2^yb` puts `c`
//! in `[lo, hi]` (with `hi - y` and perhaps `y - lo` checked when `[lo, hi]`
//! is not exactly `2^yb` values); `sl = 1` gives `y = lo` with `c <= lo - 1`,
//! `sh = 1` gives `y = hi` with `c >= hi + 1` (`sl sh = 0`). Clamped, the
//! rounding drops the parity (`|r| <= d`): either neighbour of a tie, and
//! the strict clamps make both give the same `y`. So `y = clamp(c*, lo,
//! hi)` for the true `c*`.
//!
//! The running sum puts `Σ k_i w_i + c0` (fixed `k_i`, `c0`) in one row per
//! term: `acc = k_0 w_0 + c0` on the first row, `acc = acc_prev + k_i w_i`
//! on the others. Gates are of degree at most 3.
//!
//! The floor square root a normalization divides by lives on the same rows
//! (`sqrt`: two gates, two range checks, no table).

mod sqrt;
#[cfg(test)]
pub(crate) mod tests;

pub use sqrt::{SqrtParams, SqrtRow};

use crate::arith::{div_round_half_even, saturate};
use crate::chips::poseidon::Wire;
use crate::chips::range::{rows_for, RangeConfig};
use crate::chips::rescale::Clamp;
use crate::field::fe;
use crate::mutation;
use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

/// Advice columns of the division rows, in order:
/// n, p, h, t1, t2, d, dd (`d - d_lo`), y, sl, sh, dist, ylo, yhi.
/// The running sum uses the first two (term, accumulator).
pub const ADVICE: usize = 13;
/// Fixed columns of the division rows: M, d_lo, 2^yb, out_zero, lo, hi, dc
/// (a constant divisor), e (the rounding's slack: 0 is round-half-to-even),
/// base, sgn.
/// The running sum uses the first two (coefficient, constant).
pub const FIXED: usize = 10;

#[derive(Clone, Debug)]
pub struct DivideConfig {
    pub advice: [Column<Advice>; ADVICE],
    fixed: [Column<Fixed>; FIXED],
    q: Selector,
    q_const: Selector,
    q_sqrt: Selector,
    sum_first: Selector,
    sum_step: Selector,
    pub range: RangeConfig,
}

/// One division's parameters, with the bounds that size the range checks.
#[derive(Clone, Debug)]
pub struct DivideParams {
    /// the multiplier `M` of the numerator `n M`
    pub mult: i64,
    pub out_zero: i64,
    pub lo: i64,
    pub hi: i64,
    /// inclusive range of the numerator input `n`
    pub n_lo: i64,
    pub n_hi: i64,
    /// inclusive range of the divisor (`d_lo >= 1`): a constant divisor must
    /// lie in it, a wire divisor is checked against `[d_lo, d_max]`
    pub d_lo: i128,
    pub d_hi: i128,
    /// the rounding's slack `e` (0: exact round-half-to-even; see the
    /// module docs)
    pub slack: i128,
}

/// The divisor of one [`DivideConfig::assign`] call: a wire with its value,
/// or a constant bound by the verifying key.
#[derive(Clone, Copy, Debug)]
pub enum Divisor {
    Wire(Wire, i128),
    Const(i128),
}

impl Divisor {
    pub fn value(&self) -> i128 {
        match *self {
            Divisor::Wire(_, d) | Divisor::Const(d) => d,
        }
    }
}

fn bits_for(max_abs: i128) -> u32 {
    (128 - (max_abs.max(1) as u128).leading_zeros()).max(1)
}

/// Witness of one element: every advice cell of its row but `n`, with
/// `hy` written as `(v - p - 2^yb vhi) / 2` (in the field, so a `p` that is
/// not `v`'s parity makes `hy` a non-integer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    pub q: i128,
    pub p: i128,
    pub t1: i128,
    pub t2: i128,
    /// the divisor written in the row, and `d - d_lo`
    pub d: i128,
    pub dd: i128,
    pub y: i64,
    pub sl: i128,
    pub sh: i128,
    /// the clamp's `v` and its part above `2^yb`
    pub v: i128,
    pub vhi: i128,
    /// `y - lo`, `hi - y`
    pub ylo: i128,
    pub yhi: i128,
    /// (tests) range-check this value instead of the cell in column `.0`
    /// (a cheating prover's range rows); `None` when honest
    pub check_instead: Option<(usize, i128)>,
}

/// Bit widths of the range checks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Widths {
    /// `d - d_lo` (wire divisors, once per call)
    pub d: u32,
    /// `t1` and `t2`
    pub t: u32,
    /// the clamp (`hy`, `vhi`, the sides)
    pub clamp: Clamp,
}

impl DivideParams {
    /// Whether [`Self::widths`] accepts these bounds (callers building params
    /// from untrusted plans check this instead of panicking).
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.d_lo < 1 || self.d_hi < self.d_lo {
            return Err("divisor range must be non-empty and start at 1 or above");
        }
        if self.n_lo > self.n_hi || self.lo > self.hi {
            return Err("empty range");
        }
        let db = bits_for(self.d_hi - self.d_lo);
        if db >= 100 {
            return Err("divisor range too wide");
        }
        let d_max = self.d_lo + (1i128 << db) - 1;
        let max_n = (self.n_lo.unsigned_abs().max(self.n_hi.unsigned_abs()) as i128)
            .checked_mul(self.mult.unsigned_abs() as i128)
            .ok_or("division operands too wide")?;
        let h = bits_for(max_n / self.d_lo + 1);
        if bits_for(max_n) >= 120 || h + bits_for(d_max) >= 120 {
            return Err("division operands too wide");
        }
        Ok(())
    }

    /// The largest divisor the checks admit: `d_lo + 2^db - 1`.
    pub fn d_max(&self) -> i128 {
        self.d_lo + (1i128 << self.widths().d) - 1
    }

    /// Bit widths of the range checks, sound for every `n` in
    /// `[n_lo, n_hi]` and `d` in `[d_lo, d_max]`.
    pub fn widths(&self) -> Widths {
        assert!(self.d_lo >= 1, "divisor range must start at 1 or above");
        assert!(self.d_hi >= self.d_lo, "empty divisor range");
        assert!(self.n_lo <= self.n_hi && self.lo <= self.hi, "empty range");
        let db = bits_for(self.d_hi - self.d_lo);
        assert!(db < 120, "divisor range too wide");
        let d_max = self.d_lo + (1i128 << db) - 1;
        let max_n = (self.n_lo.unsigned_abs().max(self.n_hi.unsigned_abs()) as i128)
            * self.mult.unsigned_abs() as i128;
        let max_q = max_n / self.d_lo + 1;
        assert!(
            bits_for(max_n) < 120 && bits_for(max_q) + bits_for(d_max) < 120,
            "division operands too wide"
        );
        Widths {
            d: db,
            t: bits_for(2 * (d_max + self.slack.max(0))),
            clamp: Clamp::new(self.lo, self.hi, self.out_zero, max_q),
        }
    }

    /// Range-check rows one element needs.
    pub fn range_rows(&self) -> usize {
        let w = self.widths();
        2 * rows_for(w.t) + w.clamp.rows()
    }

    /// Range-check rows of a wire divisor (once per [`DivideConfig::assign`]
    /// call; none for a constant).
    pub fn divisor_rows(&self) -> usize {
        rows_for(self.widths().d)
    }

    /// The witness of `n / d`; `y` equals the executor's result
    /// `saturate(div_round_half_even(n M, d) + out_zero, lo, hi)`. A divisor
    /// below 1 (never provable: `dd` fails its check) divides as 1, like
    /// softmax's `Σ e`.
    pub fn witness(&self, n: i64, d: i128) -> Row {
        let q = div_round_half_even(n as i128 * self.mult as i128, d.max(1));
        let y = saturate(q + self.out_zero as i128, self.lo, self.hi);
        self.row_for(n, d, q, y)
    }

    /// The rest of a witness for a claimed quotient `q` and output `y`
    /// (honest when they are the true ones; tests forge them).
    pub fn row_for(&self, n: i64, d: i128, q: i128, y: i64) -> Row {
        let r = 2 * n as i128 * self.mult as i128 - 2 * q * d;
        let c = q + self.out_zero as i128;
        let (sl, sh, v, vhi) = self.widths().clamp.witness(self.lo, self.hi, c, y);
        let p = v.rem_euclid(2);
        // the parity tightens the rounding only inside
        let up = (1 - sl - sh) * p;
        Row {
            q,
            p,
            t1: d - up + self.slack - r,
            t2: d - up + self.slack + r,
            d,
            dd: d - self.d_lo,
            y,
            sl,
            sh,
            v,
            vhi,
            ylo: y as i128 - self.lo as i128,
            yhi: self.hi as i128 - y as i128,
            check_instead: None,
        }
    }
}

/// Rows [`DivideConfig::assign_sum`] uses for `terms` terms.
pub fn sum_rows(terms: usize) -> usize {
    terms.max(1)
}

impl DivideConfig {
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        advice: [Column<Advice>; ADVICE],
        fixed: [Column<Fixed>; FIXED],
        range: RangeConfig,
    ) -> DivideConfig {
        let (q, q_const, q_sqrt) = (meta.selector(), meta.selector(), meta.selector());
        let (sum_first, sum_step) = (meta.selector(), meta.selector());
        // copied cells only (the flags sl, sh stay inside the row)
        for (i, c) in advice.iter().enumerate() {
            if i != 8 && i != 9 {
                meta.enable_equality(*c);
            }
        }
        meta.create_gate("divide", |meta| {
            let s = meta.query_selector(q);
            let a: Vec<Expression<Fr>> = advice
                .iter()
                .map(|c| meta.query_advice(*c, Rotation::cur()))
                .collect();
            let f: Vec<Expression<Fr>> = fixed
                .iter()
                .map(|c| meta.query_fixed(*c, Rotation::cur()))
                .collect();
            let (n, p, hy, t1, t2, d, dd, y, sl, sh, vhi, ylo, yhi) = (
                &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6], &a[7], &a[8], &a[9], &a[10],
                &a[11], &a[12],
            );
            let (m, d_lo, ey, zo, lo, hi, e, base, sgn) = (
                &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[7], &f[8], &f[9],
            );
            let one = Expression::Constant(Fr::ONE);
            let two = Expression::Constant(Fr::from(2));
            let u = one.clone() - sl.clone() - sh.clone();
            let w = two.clone() * hy.clone() + p.clone();
            let v = w.clone() + ey.clone() * vhi.clone();
            // inside: base + sgn (2 hy + p); clamped: lo - 1 - v, hi + 1 + v
            let inside = base.clone() + sgn.clone() * w;
            let c = u.clone() * inside.clone()
                + sl.clone() * (lo.clone() - one.clone() - v.clone())
                + sh.clone() * (hi.clone() + one.clone() + v);
            // q = c - out_zero, r = 2 n M - 2 q d
            let qq = c - zo.clone();
            let r = two.clone() * n.clone() * m.clone() - two.clone() * qq * d.clone();
            let up = u.clone() * p.clone();
            let bool_ = |v: &Expression<Fr>| v.clone() * (one.clone() - v.clone());
            vec![
                // rounding: t1 = d - u p + e - r, t2 = d - u p + e + r (both range checked)
                mutation::gate(
                    "divide/gate:t1",
                    s.clone() * (t1.clone() - (d.clone() - up.clone() + e.clone() - r.clone())),
                ),
                mutation::gate(
                    "divide/gate:t2",
                    s.clone() * (t2.clone() - (d.clone() - up + e.clone() + r)),
                ),
                mutation::gate("divide/gate:p-bit", s.clone() * bool_(p)),
                mutation::gate("divide/gate:sl-bit", s.clone() * bool_(sl)),
                mutation::gate("divide/gate:sh-bit", s.clone() * bool_(sh)),
                mutation::gate("divide/gate:sl-sh", s.clone() * sl.clone() * sh.clone()),
                // the output: c inside, lo or hi clamped
                mutation::gate(
                    "divide/gate:clamp",
                    s.clone()
                        * (y.clone()
                            - u * inside
                            - sl.clone() * lo.clone()
                            - sh.clone() * hi.clone()),
                ),
                mutation::gate(
                    "divide/gate:ylo",
                    s.clone() * (ylo.clone() - (y.clone() - lo.clone())),
                ),
                mutation::gate(
                    "divide/gate:yhi",
                    s.clone() * (yhi.clone() - (hi.clone() - y.clone())),
                ),
                // the divisor's offset (range checked for a wire divisor)
                mutation::gate(
                    "divide/gate:dd",
                    s * (dd.clone() - (d.clone() - d_lo.clone())),
                ),
            ]
        });
        meta.create_gate("divide constant divisor", |meta| {
            let s = meta.query_selector(q_const);
            let d = meta.query_advice(advice[5], Rotation::cur());
            let dc = meta.query_fixed(fixed[6], Rotation::cur());
            vec![mutation::gate("divide/gate:const-divisor", s * (d - dc))]
        });
        sqrt::configure(meta, q_sqrt, &advice, &fixed);
        meta.create_gate("running sum", |meta| {
            let (first, step) = (
                meta.query_selector(sum_first),
                meta.query_selector(sum_step),
            );
            let term = meta.query_advice(advice[0], Rotation::cur());
            let acc = meta.query_advice(advice[1], Rotation::cur());
            let prev = meta.query_advice(advice[1], Rotation::prev());
            let (k, c0) = (
                meta.query_fixed(fixed[0], Rotation::cur()),
                meta.query_fixed(fixed[1], Rotation::cur()),
            );
            vec![
                mutation::gate(
                    "divide/gate:sum-first",
                    first * (acc.clone() - k.clone() * term.clone() - c0),
                ),
                mutation::gate("divide/gate:sum-step", step * (acc - prev - k * term)),
            ]
        });
        DivideConfig {
            advice,
            fixed,
            q,
            q_const,
            q_sqrt,
            sum_first,
            sum_step,
            range,
        }
    }

    /// Assigns `n / d` for the numerators `xs` (wires with their values), all
    /// over one divisor, at rows `offset..offset + xs.len()`, their range
    /// checks in the range column from `range_offset` (a wire divisor's
    /// check first). `tamper` edits element `i`'s witness (tests play a
    /// cheating prover with it). Returns the output wires and the next free
    /// range row.
    #[allow(clippy::too_many_arguments)]
    pub fn assign(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        mut range_offset: usize,
        xs: &[(Wire, i64)],
        divisor: &Divisor,
        params: &DivideParams,
        tamper: impl Fn(usize, &mut Row),
    ) -> Result<(Vec<Wire>, usize), Error> {
        let w = params.widths();
        if let Divisor::Const(d) = *divisor {
            assert!(
                (params.d_lo..=params.d_hi).contains(&d),
                "constant divisor {d} outside its declared range"
            );
        }
        let cl = w.clamp;
        let ey = fe(1i128 << cl.yb);
        let inv2 = Fr::from(2).invert().unwrap_or(Fr::ZERO);
        let mut ys = Vec::with_capacity(xs.len());
        for (i, &(wire, n)) in xs.iter().enumerate() {
            let row = offset + i;
            self.q.enable(region, row)?;
            let consts = [
                fe(params.mult as i128),
                fe(params.d_lo),
                ey,
                fe(params.out_zero as i128),
                fe(params.lo as i128),
                fe(params.hi as i128),
                fe(match *divisor {
                    Divisor::Wire(..) => 0,
                    Divisor::Const(d) => d,
                }),
                fe(params.slack),
                fe(cl.base),
                fe(cl.sgn),
            ];
            for (col, v) in self.fixed.iter().zip(consts) {
                region.assign_fixed(*col, row, v);
            }
            let mut r = params.witness(n, divisor.value());
            tamper(i, &mut r);
            let vals = [
                fe(n as i128),
                fe(r.p),
                (fe(r.v) - fe(r.p) - ey * fe(r.vhi)) * inv2,
                fe(r.t1),
                fe(r.t2),
                fe(r.d),
                fe(r.dd),
                fe(r.y as i128),
                fe(r.sl),
                fe(r.sh),
                fe(r.vhi),
                fe(r.ylo),
                fe(r.yhi),
            ];
            let mut cells = Vec::with_capacity(ADVICE);
            for (col, v) in self.advice.iter().zip(vals) {
                cells.push(
                    region
                        .assign_advice(*col, row, wire.value.map(|_| v))
                        .cell(),
                );
            }
            mutation::equal(region, "divide/copy:n", cells[0], wire.cell);
            let mut checks = vec![
                (3usize, w.t, "divide/copy:range-t1"),
                (4, w.t, "divide/copy:range-t2"),
                (2, cl.yb - 1, "divide/copy:range-hy"),
                (10, cl.vb, "divide/copy:range-vhi"),
            ];
            if cl.lower {
                checks.push((11, cl.yb, "divide/copy:range-ylo"));
            }
            if cl.upper {
                checks.push((12, cl.yb, "divide/copy:range-yhi"));
            }
            match divisor {
                Divisor::Wire(dw, _) => {
                    mutation::equal(region, "divide/copy:divisor", cells[5], dw.cell);
                    if i == 0 {
                        checks.insert(0, (6, w.d, "divide/copy:range-dd"));
                    }
                }
                Divisor::Const(_) => self.q_const.enable(region, row)?,
            }
            for (k, bits, id) in checks {
                let checked = match r.check_instead {
                    Some((col, v)) if col == k => fe(v),
                    _ => vals[k],
                };
                let z0 = self.range.check(
                    region,
                    &mut range_offset,
                    wire.value.map(|_| checked),
                    bits,
                )?;
                mutation::equal(region, id, z0.cell, cells[k]);
            }
            ys.push(Wire {
                cell: cells[7],
                value: wire.value.map(|_| vals[7]),
            });
        }
        Ok((ys, range_offset))
    }

    /// Assigns `Σ coeffs[i] terms[i] + constant` (coefficients 1 when
    /// `coeffs` is `None`) as a running sum at rows
    /// `offset..offset + sum_rows(terms.len())`; with no terms, one row holds
    /// the constant. `forge` replaces the accumulator after term `.0` by
    /// `.1` (tests). Returns the sum's wire.
    pub fn assign_sum(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        terms: &[Wire],
        coeffs: Option<&[i64]>,
        constant: i64,
        forge: Option<(usize, i64)>,
    ) -> Result<Wire, Error> {
        if let Some(k) = coeffs {
            assert_eq!(k.len(), terms.len(), "one coefficient per term");
        }
        let mut acc = Value::known(fe(constant as i128));
        let mut out = None;
        for i in 0..sum_rows(terms.len()) {
            let row = offset + i;
            if i == 0 {
                self.sum_first.enable(region, row)?;
                region.assign_fixed(self.fixed[1], row, fe(constant as i128));
            } else {
                self.sum_step.enable(region, row)?;
            }
            // no terms: a zero term with coefficient 0
            let (value, k) = match terms.get(i) {
                Some(t) => {
                    let c = region.assign_advice(self.advice[0], row, t.value).cell();
                    mutation::equal(region, "divide/copy:sum-term", c, t.cell);
                    (t.value, coeffs.map_or(1, |k| k[i]))
                }
                None => {
                    region.assign_advice(self.advice[0], row, Value::known(Fr::ZERO));
                    (Value::known(Fr::ZERO), 0)
                }
            };
            region.assign_fixed(self.fixed[0], row, fe(k as i128));
            acc = acc + value * Value::known(fe(k as i128));
            if let Some((_, v)) = forge.filter(|f| f.0 == i) {
                acc = acc.map(|_| fe(v as i128));
            }
            let cell = region.assign_advice(self.advice[1], row, acc).cell();
            out = Some(Wire { cell, value: acc });
        }
        Ok(out.expect("a sum has a row"))
    }
}
