//! Requantization: `y = clamp(rhe(((x - in_zero) m + b) / 2^s) + out_zero, lo, hi)`
//! (the semantics of [`crate::ops::elementwise::rescale`]), one row per
//! element on a wide bank (two on a narrow one) plus range checks in the
//! [`RangeConfig`] lanes.
//!
//! With `N = x m + x2 m2 + x x2 m3 + c0` and the candidate `c = q + out_zero`
//! of the rounded quotient `q`, the rounding equation
//! `N - q 2^s + 2^(s-1) = a + f 2^s` with `a < 2^s` (range checked), `f` a
//! bit and `f a = 0` gives `|N - q 2^s| <= 2^(s-1)`: `q` is a nearest
//! integer of `N / 2^s`, and the two ties (`N - q 2^s = -2^(s-1)`:
//! `a = f = 0`; `= +2^(s-1)`: `f = 1`, `a = 0`) are exactly the rows with
//! `a = 0`.
//!
//! `c` is not a cell: it is written through one small non-negative integer
//! `v = 2 hy + p + 2^yb vhi` (`hy < 2^(yb-1)` and `vhi < 2^vb` range
//! checked, `p` a bit; `2^yb` covers `[lo, hi]`) and the clamp flags
//! `sl`, `sh` (bits, not both), with `u = 1 - sl - sh`:
//! - `u = 1` (inside): `c = base + sgn (2 hy + p)`, `y = c`. The fixed
//!   `base` is `lo` (`sgn = 1`) or `hi` (`sgn = -1`), whichever has the
//!   parity of `out_zero`, so `p` is the parity of `q`; then a tie (`a = 0`)
//!   needs `p = 0` (`u p (1 - a inv) = 0`, `inv` a witness): exactly
//!   round-half-to-even. When `[lo, hi]` holds exactly `2^yb` values,
//!   `2 hy + p < 2^yb` alone puts `c` in `[lo, hi]`; otherwise `base = lo`
//!   (or `lo - 1`, for the parity) and `hi - y` (and `y - lo`) are checked.
//! - `sl = 1`: `c = lo - 1 - v`, `y = lo`; `sh = 1`: `c = hi + 1 + v`,
//!   `y = hi`. The clamps are strict (`c < lo`, `c > hi`), so at a tie
//!   between `lo - 1` and `lo` (or `hi` and `hi + 1`) either choice gives
//!   the same `y`, and every other tie lies inside, where parity decides.
//!
//! So `y = clamp(c*, lo, hi)` for the true `c*`, with three range checks
//! (`a`, `hy`, `vhi`: five rows for an int8 output of a 24-bit shift)
//! where a clamp through the quotient's own range check and a distance
//! took eight.
//! `vhi` is free inside (`u = 1` does not read it); `sl sh = 0` and `p` a
//! bit are needed (with both flags `c` mirrors and the tie's parity flips;
//! with `p = p* - 1/2` in the field `c` moves by a half and the rounding
//! still holds): the mutation test (`chips::mutation_tests`) forges both.

#[cfg(test)]
pub(crate) mod tests;

use crate::arith::{saturate, shift_round_half_even};
use crate::chips::poseidon::Wire;
use crate::chips::range::{rows_for, RangeConfig, LIMB_BITS};
use crate::field::fe;
use crate::mutation;
use halo2_proofs::circuit::Region;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

/// Advice columns: an element takes [`ROWS`] rows. Its cells (slots) are
/// x, inv, p, a, f, hy, y, sl, sh, vhi, ylo, yhi, x2 (the second operand of
/// a sum), placed by [`A_SLOTS`]: every copied cell (x, a, hy, y, vhi, ylo,
/// yhi, x2) in the first row or in column 0, so only these columns need
/// equality.
pub const ADVICE: usize = 7;
/// Fixed columns; the slots m, k (`c0 + 2^(s-1) + out_zero 2^s`), 2^s,
/// 2^yb, base, lo, hi, sgn, m2, m3 placed by [`F_SLOTS`].
pub const FIXED: usize = 5;
/// Rows per element in the narrow layout (a wide bank's takes one, an exact
/// element one: [`RescaleConfig::rows`]).
pub const ROWS: usize = 2;
/// The columns of an exact element's x, x2 and y.
const EXACT_X: usize = 0;
const EXACT_X2: usize = 1;
const EXACT_Y: usize = 2;
/// (column, row within the element) of each advice slot.
const A_SLOTS: [(usize, i32); 13] = [
    (0, 0), // x
    (1, 1), // inv
    (2, 1), // p
    (1, 0), // a
    (3, 1), // f
    (2, 0), // hy
    (3, 0), // y
    (4, 1), // sl
    (5, 1), // sh
    (4, 0), // vhi
    (5, 0), // ylo
    (6, 0), // yhi
    (0, 1), // x2
];
/// The one-row layout of a wide bank (at least [`WIDE_ADVICE`] advice and
/// [`WIDE_FIXED`] fixed columns, as the divide chip needs): slot `i` of
/// [`A_SLOTS`]'s order in column `WIDE_A[i]`, the copied cells in columns
/// 0..8 (the bank's equality-enabled columns).
const WIDE_A: [(usize, i32); 13] = [
    (0, 0),  // x
    (8, 0),  // inv
    (9, 0),  // p
    (1, 0),  // a
    (10, 0), // f
    (2, 0),  // hy
    (3, 0),  // y
    (11, 0), // sl
    (12, 0), // sh
    (4, 0),  // vhi
    (5, 0),  // ylo
    (6, 0),  // yhi
    (7, 0),  // x2
];
const WIDE_F: [(usize, i32); 10] = [
    (0, 0),
    (1, 0),
    (2, 0),
    (3, 0),
    (4, 0),
    (5, 0),
    (6, 0),
    (7, 0),
    (8, 0),
    (9, 0),
];
/// Columns the one-row layout needs.
pub const WIDE_ADVICE: usize = 13;
pub const WIDE_FIXED: usize = 10;

/// Rows an element (not an exact one) takes on a bank of `advice` and
/// `fixed` columns: one on a wide bank, else [`ROWS`].
pub fn rows_on(advice: usize, fixed: usize) -> usize {
    if advice >= WIDE_ADVICE && fixed >= WIDE_FIXED {
        1
    } else {
        ROWS
    }
}
/// (column, row within the element) of each fixed slot.
const F_SLOTS: [(usize, i32); 10] = [
    (0, 0),
    (1, 0),
    (2, 0),
    (3, 0),
    (4, 0),
    (0, 1),
    (1, 1),
    (2, 1),
    (3, 1),
    (4, 1),
];

#[derive(Clone, Debug)]
pub struct RescaleConfig {
    pub advice: Vec<Column<Advice>>,
    fixed: Vec<Column<Fixed>>,
    /// the layout: two rows of [`ADVICE`] columns, or one row of a wide bank
    a_slots: &'static [(usize, i32); 13],
    f_slots: &'static [(usize, i32); 10],
    rows: usize,
    q: Selector,
    /// an exact element (`RescaleParams::exact`): x, x2, y on one row
    exact: Selector,
    pub range: RangeConfig,
}

/// One requantization's parameters (per-channel `mult`/`bias` indexed by the
/// element's channel), with the bound on `|x|` that sizes the range checks.
#[derive(Clone, Debug)]
pub struct RescaleParams {
    pub in_zero: i64,
    pub mult: Vec<i64>,
    pub bias: Vec<i64>,
    pub shift: u32,
    pub out_zero: i64,
    pub lo: i64,
    pub hi: i64,
    /// inclusive range of the inputs
    pub x_lo: i64,
    pub x_hi: i64,
    /// A second operand added before rounding (the Add op): `N += (x2 - in_zero) mult`.
    pub second: Option<Second>,
}

/// The second operand: of a sum `(x - z) m + (x2 - z2) m2 + b`, or (with
/// `product`) of a product `(x - z)(x2 - z2) m + b` where `m` is the first
/// operand's multiplier and `mult` is unused.
#[derive(Clone, Copy, Debug)]
pub struct Second {
    pub in_zero: i64,
    pub mult: i64,
    pub x_lo: i64,
    pub x_hi: i64,
    pub product: bool,
    /// the second operand is the first one's wire (a square `x·x`): only
    /// the bounds of exact results use it
    pub square: bool,
}

fn bits_for(max_abs: i128) -> u32 {
    (128 - (max_abs.max(1) as u128).leading_zeros()).max(1)
}

/// Witness of one element. `hy` is written as `(v - p - 2^yb vhi) / 2` (in
/// the field, so a `p` that is not `v`'s parity makes `hy` a non-integer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    /// the rounded quotient (not a cell: it follows from `v` and the flags)
    pub q: i128,
    pub p: i128,
    /// the remainder below `2^s` and its top bit (ties only)
    pub a: i128,
    pub f: i128,
    pub y: i64,
    pub sl: i128,
    pub sh: i128,
    /// `sgn (c - base)` inside, `lo - 1 - c` or `c - hi - 1` clamped
    pub v: i128,
    /// `v`'s part above `2^yb`
    pub vhi: i128,
    /// `y - lo`, `hi - y`
    pub ylo: i128,
    pub yhi: i128,
    /// (tests) `p` plus this many halves in the field (a cheating prover's
    /// non-bit parity; `y` and its distances to the ends move along); 0
    /// when honest
    pub p_halves: i128,
    /// (tests) range-check this value instead of the cell of slot `.0` of
    /// [`A_SLOTS`] (a cheating prover's range rows); `None` when honest
    pub check_instead: Option<(usize, i128)>,
}

/// The clamp of a rounded quotient into `[lo, hi]` as this chip and the
/// divide chip write it (see the module docs): the widths `yb` (of `[lo,
/// hi]`) and `vb` (of `v`'s part above `2^yb`), the base and its sign, and
/// which sides of `[lo, hi]` need their own check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clamp {
    pub yb: u32,
    pub vb: u32,
    pub base: i128,
    pub sgn: i128,
    /// check `y - lo` (not tight, `base = lo - 1`)
    pub lower: bool,
    /// check `hi - y` (not tight)
    pub upper: bool,
}

impl Clamp {
    /// The clamp of `c = q + out_zero` for every `|q| <= max_q`.
    pub fn new(lo: i64, hi: i64, out_zero: i64, max_q: i128) -> Clamp {
        let (lo, hi, zo) = (lo as i128, hi as i128, out_zero as i128);
        let yb = bits_for((hi - lo).max(1)).max(2);
        let tight = hi - lo + 1 == 1i128 << yb;
        let even = |b: i128| (b - zo).rem_euclid(2) == 0;
        let (base, sgn) = match (tight, even(lo)) {
            (_, true) => (lo, 1),
            (true, false) => (hi, -1),
            (false, false) => (lo - 1, 1),
        };
        // the largest v: inside (below 2^yb) or a clamp's distance
        let (c_lo, c_hi) = (zo - max_q, zo + max_q);
        let far = ((1i128 << yb) - 1).max(lo - 1 - c_lo).max(c_hi - hi - 1);
        Clamp {
            yb,
            vb: bits_for(far).saturating_sub(yb).max(1),
            base,
            sgn,
            lower: !tight && base != lo,
            upper: !tight,
        }
    }

    /// Range-check rows of `hy`, `vhi` and the sides.
    pub fn rows(&self) -> usize {
        let sides = usize::from(self.lower) + usize::from(self.upper);
        rows_for(self.yb - 1) + rows_for(self.vb) + sides * rows_for(self.yb)
    }

    /// `(sl, sh, v, vhi)` for the candidate `c` and the output `y` (a `y`
    /// other than `c` and `lo` counts as clamped at `hi`).
    pub fn witness(&self, lo: i64, hi: i64, c: i128, y: i64) -> (i128, i128, i128, i128) {
        let (l, h) = (lo as i128, hi as i128);
        let (sl, sh, v) = if y as i128 == c {
            (0, 0, self.sgn * (c - self.base))
        } else if y == lo {
            (1, 0, l - 1 - c)
        } else {
            (0, 1, c - h - 1)
        };
        // (inside, vhi is not read: 0, and hy holds all of v)
        let vhi = if sl + sh == 0 { 0 } else { v >> self.yb };
        (sl, sh, v, vhi)
    }
}

impl RescaleParams {
    /// The chip's shift and per-channel `(m, m2, m3, c0)` of
    /// `N = x m + x2 m2 + x x2 m3 + c0`: shift 0 is written as shift 1 with
    /// doubled constants (same value, never a tie).
    ///
    /// A shift two below a multiple of [`LIMB_BITS`] is raised by one
    /// (doubled constants, the same quotient and rounding): the remainder's
    /// range check then ends in a 7-bit limb (one row) instead of a 6-bit
    /// one (checked as two: the range table has no width 6).
    fn normalized(&self, c: usize) -> (u32, i128, i128, i128, i128) {
        let (m1, m2, m3, c0) = self.coefficients(c);
        let up = self.shift == 0 || self.shift % LIMB_BITS == LIMB_BITS - 2;
        if up {
            (self.shift + 1, 2 * m1, 2 * m2, 2 * m3, 2 * c0)
        } else {
            (self.shift, m1, m2, m3, c0)
        }
    }

    /// `(m, m2, m3, c0)` of `N = x m + x2 m2 + x x2 m3 + c0` in channel `c`.
    fn coefficients(&self, c: usize) -> (i128, i128, i128, i128) {
        let at = |v: &[i64]| {
            if v.len() > 1 {
                v[c]
            } else {
                v.first().copied().unwrap_or(0)
            }
        };
        let (m, b) = (at(&self.mult) as i128, at(&self.bias) as i128);
        let z = self.in_zero as i128;
        let (m1, m2, m3, c0) = match self.second {
            None => (m, 0, 0, b - z * m),
            Some(sec) if sec.product => {
                let z2 = sec.in_zero as i128;
                (-z2 * m, -z * m, m, z * z2 * m + b)
            }
            Some(sec) => {
                let (z2, m2) = (sec.in_zero as i128, sec.mult as i128);
                (m, m2, 0, b - z * m - z2 * m2)
            }
        };
        (m1, m2, m3, c0)
    }

    /// Whether every result is exact: no rounding (`shift` 0) and no clamp
    /// (`N + out_zero` lies in `[lo, hi]` for all operands in their
    /// ranges). The chip then checks `y = N + out_zero` on one row with no
    /// range check: the operands are integers within their ranges (their
    /// producers checked them), so `y` is one too, within `[lo, hi]`.
    /// (The exact steps of a normalization: centring, squares.)
    pub fn exact(&self) -> bool {
        if self.shift != 0 {
            return false;
        }
        let channels = self.mult.len().max(self.bias.len()).max(1);
        let (xlo, xhi) = (self.x_lo as i128, self.x_hi as i128);
        (0..channels).all(|c| {
            let (m1, m2, m3, c0) = self.coefficients(c);
            let ns: Vec<i128> = match self.second {
                None => vec![xlo * m1 + c0, xhi * m1 + c0],
                Some(s) if s.square => {
                    // (m1 + m2) x + m3 x² + c0: the ends and the integers
                    // around the vertex
                    let b = m1 + m2;
                    let mut xs = vec![xlo, xhi];
                    if m3 != 0 {
                        let v = -b / (2 * m3);
                        xs.extend([v - 1, v, v + 1].map(|v| v.clamp(xlo, xhi)));
                    }
                    xs.iter().map(|&x| b * x + m3 * x * x + c0).collect()
                }
                Some(s) => {
                    let (ylo, yhi) = (s.x_lo as i128, s.x_hi as i128);
                    [(xlo, ylo), (xlo, yhi), (xhi, ylo), (xhi, yhi)]
                        .iter()
                        .map(|&(x, y)| x * m1 + y * m2 + x * y * m3 + c0)
                        .collect()
                }
            };
            let z = self.out_zero as i128;
            ns.iter()
                .all(|&n| n + z >= self.lo as i128 && n + z <= self.hi as i128)
        })
    }

    /// The normalized shift and the clamp (sound for every operand in its
    /// range).
    pub fn shape(&self) -> (u32, Clamp) {
        let mut max_n = 0i128;
        let channels = self.mult.len().max(self.bias.len()).max(1);
        let mut s = self.shift;
        for c in 0..channels {
            let (sh, m, m2, m3, c0) = self.normalized(c);
            s = sh;
            let (x2lo, x2hi) = self
                .second
                .map_or((0, 0), |s| (s.x_lo as i128, s.x_hi as i128));
            for x in [self.x_lo as i128, self.x_hi as i128] {
                for x2 in [x2lo, x2hi] {
                    // N is bilinear in (x, x2): its extremes are at the corners
                    max_n = max_n.max((x * m + x2 * m2 + x * x2 * m3 + c0).abs());
                }
            }
        }
        let max_q = (max_n >> s) + 1;
        (s, Clamp::new(self.lo, self.hi, self.out_zero, max_q))
    }

    /// Range-check rows one element needs.
    pub fn range_rows(&self) -> usize {
        if self.exact() {
            return 0;
        }
        let (s, clamp) = self.shape();
        rows_for(s) + clamp.rows()
    }

    /// The witness of `x` in channel `c`; `y` equals the executor's result.
    pub fn witness(&self, x: i64, c: usize) -> Row {
        self.witness2(x, 0, c)
    }

    /// The witness of `x` (and the second operand `x2`) in channel `c`.
    pub fn witness2(&self, x: i64, x2: i64, c: usize) -> Row {
        self.witness_with(&self.shape().1, x, x2, c)
    }

    /// [`Self::witness2`] with the clamp computed once per call.
    fn witness_with(&self, clamp: &Clamp, x: i64, x2: i64, c: usize) -> Row {
        let (s, m, m2, m3, c0) = self.normalized(c);
        let (x, x2) = (x as i128, x2 as i128);
        let q = shift_round_half_even(x * m + x2 * m2 + x * x2 * m3 + c0, s);
        let y = saturate(q + self.out_zero as i128, self.lo, self.hi);
        self.row_with(clamp, x as i64, x2 as i64, c, q, y)
    }

    /// The rest of a witness for a claimed quotient `q` and output `y`
    /// (honest when they are the true ones; tests forge them).
    pub fn row_for(&self, x: i64, c: usize, q: i128, y: i64) -> Row {
        self.row_for2(x, 0, c, q, y)
    }

    fn row_for2(&self, x: i64, x2: i64, c: usize, q: i128, y: i64) -> Row {
        self.row_with(&self.shape().1, x, x2, c, q, y)
    }

    fn row_with(&self, clamp: &Clamp, x: i64, x2: i64, c: usize, q: i128, y: i64) -> Row {
        let (s, m, m2, m3, c0) = self.normalized(c);
        let n = x as i128 * m + x2 as i128 * m2 + x as i128 * x2 as i128 * m3 + c0;
        let t = n - (q << s) + (1i128 << (s - 1));
        let f = i128::from(t == 1i128 << s);
        let a = t - (f << s);
        let cc = q + self.out_zero as i128;
        let (sl, sh, v, vhi) = clamp.witness(self.lo, self.hi, cc, y);
        Row {
            q,
            p: v.rem_euclid(2),
            a,
            f,
            y,
            sl,
            sh,
            v,
            vhi,
            ylo: y as i128 - self.lo as i128,
            yhi: self.hi as i128 - y as i128,
            p_halves: 0,
            check_instead: None,
        }
    }
}

impl RescaleConfig {
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        advice: &[Column<Advice>],
        fixed: &[Column<Fixed>],
        range: RangeConfig,
    ) -> RescaleConfig {
        assert!(
            advice.len() >= ADVICE && fixed.len() >= FIXED,
            "the rescale chip's columns"
        );
        let q = meta.selector();
        let rows = rows_on(advice.len(), fixed.len());
        let (a_slots, f_slots) = if rows == 1 {
            (&WIDE_A, &WIDE_F)
        } else {
            (&A_SLOTS, &F_SLOTS)
        };
        // the copied cells' columns (inv, p, f, sl, sh are never copied)
        for &k in &[0usize, 3, 5, 6, 9, 10, 11, 12] {
            meta.enable_equality(advice[a_slots[k].0]);
        }
        // (an exact element's x, x2, y sit in columns 0..3, among them)
        let (advice, fixed) = (advice.to_vec(), fixed.to_vec());
        meta.create_gate("rescale", |meta| {
            let s = meta.query_selector(q);
            let a: Vec<Expression<Fr>> = a_slots
                .iter()
                .map(|&(c, r)| meta.query_advice(advice[c], Rotation(r)))
                .collect();
            let f: Vec<Expression<Fr>> = f_slots
                .iter()
                .map(|&(c, r)| meta.query_fixed(fixed[c], Rotation(r)))
                .collect();
            let (x, inv, p, ra, rf, hy, y, sl, sh, vhi, ylo, yhi) = (
                &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6], &a[7], &a[8], &a[9], &a[10],
                &a[11],
            );
            let (m, k, e1, ey, base, lo, hi, sgn) =
                (&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]);
            let (x2, m2, m3) = (&a[12], &f[8], &f[9]);
            let one = Expression::Constant(Fr::ONE);
            let two = Expression::Constant(Fr::from(2));
            let bool_ = |v: &Expression<Fr>| v.clone() * (one.clone() - v.clone());
            let u = one.clone() - sl.clone() - sh.clone();
            let w = two * hy.clone() + p.clone();
            let v = w.clone() + ey.clone() * vhi.clone();
            // inside: base + sgn (2 hy + p); clamped: lo - 1 - v, hi + 1 + v
            let inside = base.clone() + sgn.clone() * w;
            let c = u.clone() * inside.clone()
                + sl.clone() * (lo.clone() - one.clone() - v.clone())
                + sh.clone() * (hi.clone() + one.clone() + v);
            vec![
                // rounding: a + f 2^s = x m + x2 m2 + x x2 m3 + c0 - q 2^s + 2^(s-1)
                // with q = c - out_zero (k holds c0 + 2^(s-1) + out_zero 2^s)
                mutation::gate(
                    "rescale/gate:rounding",
                    s.clone()
                        * (x.clone() * m.clone()
                            + x2.clone() * m2.clone()
                            + x.clone() * x2.clone() * m3.clone()
                            + k.clone()
                            - (c + rf.clone()) * e1.clone()
                            - ra.clone()),
                ),
                mutation::gate("rescale/gate:f-bit", s.clone() * bool_(rf)),
                mutation::gate(
                    "rescale/gate:f-times-a",
                    s.clone() * rf.clone() * ra.clone(),
                ),
                // a tie (a = 0) inside needs an even quotient
                mutation::gate(
                    "rescale/gate:tie-even",
                    s.clone() * u.clone() * p.clone() * (one.clone() - ra.clone() * inv.clone()),
                ),
                mutation::gate("rescale/gate:p-bit", s.clone() * bool_(p)),
                mutation::gate("rescale/gate:sl-bit", s.clone() * bool_(sl)),
                mutation::gate("rescale/gate:sh-bit", s.clone() * bool_(sh)),
                mutation::gate("rescale/gate:sl-sh", s.clone() * sl.clone() * sh.clone()),
                // the output: c inside, lo or hi clamped
                mutation::gate(
                    "rescale/gate:clamp",
                    s.clone()
                        * (y.clone()
                            - u * inside
                            - sl.clone() * lo.clone()
                            - sh.clone() * hi.clone()),
                ),
                mutation::gate(
                    "rescale/gate:ylo",
                    s.clone() * (ylo.clone() - (y.clone() - lo.clone())),
                ),
                mutation::gate(
                    "rescale/gate:yhi",
                    s * (yhi.clone() - (hi.clone() - y.clone())),
                ),
            ]
        });
        let exact = meta.selector();
        meta.create_gate("rescale exact", |meta| {
            let s = meta.query_selector(exact);
            let mut a = |c: usize| meta.query_advice(advice[c], Rotation::cur());
            let (x, x2, y) = (a(EXACT_X), a(EXACT_X2), a(EXACT_Y));
            let mut f = |c: usize| meta.query_fixed(fixed[c], Rotation::cur());
            let (m, m2, m3, c0) = (f(0), f(1), f(2), f(3));
            vec![mutation::gate(
                "rescale/gate:exact",
                s * (x.clone() * m + x2.clone() * m2 + x * x2 * m3 + c0 - y),
            )]
        });
        RescaleConfig {
            advice,
            fixed,
            a_slots,
            f_slots,
            rows,
            q,
            exact,
            range,
        }
    }

    /// Rows of the chip one element of `params` takes.
    pub fn rows(&self, params: &RescaleParams) -> usize {
        if params.exact() {
            1
        } else {
            self.rows
        }
    }

    /// The exact elements (`params.exact()`): one row each, no range check.
    fn assign_exact(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        xs: &[(Wire, i64, usize)],
        x2s: Option<&[(Wire, i64)]>,
        params: &RescaleParams,
        tamper: impl Fn(usize, &mut Row),
    ) -> Result<Vec<Wire>, Error> {
        let mut ys = Vec::with_capacity(xs.len());
        for (i, &(wire, x, c)) in xs.iter().enumerate() {
            let row = offset + i;
            self.exact.enable(region, row)?;
            let (m1, m2, m3, c0) = params.coefficients(c);
            let consts = [m1, m2, m3, c0 + params.out_zero as i128];
            for (col, v) in consts.into_iter().enumerate() {
                region.assign_fixed(self.fixed[col], row, fe(v));
            }
            let second = x2s.map(|v| v[i]);
            let x2 = second.map_or(0, |(_, v)| v);
            let mut w = params.witness2(x, x2, c);
            tamper(i, &mut w);
            let mut cell = |col: usize, v: i128| {
                region
                    .assign_advice(self.advice[col], row, wire.value.map(|_| fe(v)))
                    .cell()
            };
            let (xc, x2c, yc) = (
                cell(EXACT_X, x as i128),
                cell(EXACT_X2, x2 as i128),
                cell(EXACT_Y, w.y as i128),
            );
            mutation::equal(region, "rescale/copy:x", xc, wire.cell);
            if let Some((w2, _)) = second {
                mutation::equal(region, "rescale/copy:x2", x2c, w2.cell);
            }
            ys.push(Wire {
                cell: yc,
                value: wire.value.map(|_| fe(w.y as i128)),
            });
        }
        Ok(ys)
    }

    /// Assigns the elements `xs` (value wires and channels) at rows
    /// `offset..offset + self.rows(params) * xs.len()`, their range checks in the range
    /// column from `range_offset`.
    /// Returns the output wires and the next free range row.
    pub fn assign(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        range_offset: usize,
        xs: &[(Wire, i64, usize)],
        params: &RescaleParams,
        tamper: impl Fn(usize, &mut Row),
    ) -> Result<(Vec<Wire>, usize), Error> {
        self.assign_sum(region, offset, range_offset, xs, None, params, tamper)
    }

    /// As [`Self::assign`], with the second operands of a sum (one per
    /// element, already broadcast) when `params.second` is set.
    #[allow(clippy::too_many_arguments)]
    pub fn assign_sum(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        mut range_offset: usize,
        xs: &[(Wire, i64, usize)],
        x2s: Option<&[(Wire, i64)]>,
        params: &RescaleParams,
        tamper: impl Fn(usize, &mut Row),
    ) -> Result<(Vec<Wire>, usize), Error> {
        if params.exact() {
            let ys = self.assign_exact(region, offset, xs, x2s, params, tamper)?;
            return Ok((ys, range_offset));
        }
        let (a_bits, sh) = params.shape();
        let inv2 = Fr::from(2).invert().unwrap_or(Fr::ZERO);
        let ey = fe(1i128 << sh.yb);
        let mut ys = Vec::with_capacity(xs.len());
        for (i, &(wire, x, c)) in xs.iter().enumerate() {
            let row = offset + self.rows * i;
            self.q.enable(region, row)?;
            let (s, m, m2, m3, c0) = params.normalized(c);
            let second = x2s.map(|v| v[i]);
            let x2 = second.map_or(0, |(_, v)| v);
            let consts = [
                fe(m),
                fe(c0 + (1i128 << (s - 1)) + ((params.out_zero as i128) << s)),
                fe(1i128 << s),
                ey,
                fe(sh.base),
                fe(params.lo as i128),
                fe(params.hi as i128),
                fe(sh.sgn),
                fe(m2),
                fe(m3),
            ];
            for (&(col, r), v) in self.f_slots.iter().zip(consts) {
                region.assign_fixed(self.fixed[col], row + r as usize, v);
            }
            let mut w = params.witness_with(&sh, x, x2, c);
            tamper(i, &mut w);
            let inv = fe(w.a).invert().unwrap_or(Fr::ZERO);
            let p = fe(w.p) + fe(w.p_halves) * inv2;
            let vals = [
                fe(x as i128),
                inv,
                p,
                fe(w.a),
                fe(w.f),
                (fe(w.v) - fe(w.p) - ey * fe(w.vhi)) * inv2,
                fe(w.y as i128) + fe(sh.sgn * w.p_halves) * inv2,
                fe(w.sl),
                fe(w.sh),
                fe(w.vhi),
                fe(w.ylo) + fe(sh.sgn * w.p_halves) * inv2,
                fe(w.yhi) - fe(sh.sgn * w.p_halves) * inv2,
                fe(x2 as i128),
            ];
            let mut cells = Vec::with_capacity(self.a_slots.len());
            for (&(col, r), v) in self.a_slots.iter().zip(vals) {
                cells.push(
                    region
                        .assign_advice(self.advice[col], row + r as usize, wire.value.map(|_| v))
                        .cell(),
                );
            }
            mutation::equal(region, "rescale/copy:x", cells[0], wire.cell);
            if let Some((w2, _)) = second {
                mutation::equal(region, "rescale/copy:x2", cells[12], w2.cell);
            }
            let checks = [
                (3usize, a_bits, "rescale/copy:range-a", true),
                (5, sh.yb - 1, "rescale/copy:range-hy", true),
                (9, sh.vb, "rescale/copy:range-vhi", true),
                (10, sh.yb, "rescale/copy:range-ylo", sh.lower),
                (11, sh.yb, "rescale/copy:range-yhi", sh.upper),
            ];
            for &(k, bits, id, on) in &checks {
                if !on {
                    continue;
                }
                let checked = match w.check_instead {
                    Some((slot, v)) if slot == k => fe(v),
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
                cell: cells[6],
                value: wire.value.map(|_| vals[6]),
            });
        }
        Ok((ys, range_offset))
    }
}
