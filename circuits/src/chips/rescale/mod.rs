//! Requantization: `y = clamp(rhe(((x - in_zero) m + b) / 2^s) + out_zero, lo, hi)`
//! (the semantics of [`crate::ops::elementwise::rescale`]), one row per
//! element plus range checks in the [`RangeConfig`] column.
//!
//! With `N = x m + c0` (`c0 = b - in_zero m`), the rounded quotient is
//! `q = 2 (h - H) + p` (`h` range checked) and
//! `N - q 2^s + 2^(s-1) = a + f 2^s` with `a < 2^s` (one range check), `f`
//! a bit and `f a = 0`: so `|N - q 2^s| <= 2^(s-1)`, and the two ties
//! (`N - q 2^s = -2^(s-1)`: `a = f = 0`; `= +2^(s-1)`: `f = 1`, `a = 0`) are
//! exactly the rows with `a = 0`. `p (1 - a inv) = 0` (`inv` a witness)
//! makes `a = 0` force `p = 0`, so an even `q = 2 (h - H)`: exactly
//! round-half-to-even. The clamp uses flags `sl`, `sh`:
//! `y = sl lo + sh hi + (1 - sl - sh)(q + out_zero)`, with `y - lo`, `hi - y`
//! and the saturation distance `sl (lo - c) + sh (c - hi)` all range checked.
//!
//! Two constraints are left out because the others imply them (the
//! mutation test, `chips::mutation_tests`, found that no forged witness
//! needs them):
//! - `p` a bit: `p` matters only at a tie, where `p (1 - a inv) = 0` with
//!   `a = 0` already makes it 0. Elsewhere `q` is pinned without it: the
//!   clamp's range checks make `c = q + out_zero` a small integer (`y - lo`
//!   when unclamped, the distance when clamped), so the rounding equation
//!   holds over the integers and `q` is the nearest integer to `N / 2^s`;
//!   `p` is then just `q - 2 (h - H)`.
//! - `sl sh = 0`: with both flags set the distance is `lo - hi`, which the
//!   distance's range check rejects unless `lo = hi`, and then
//!   `y = 2 lo - c` with `y - lo` and `hi - y` both checked gives
//!   `c = lo = y`, the right output.

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
/// x, inv, p, a, f, h, y, sl, sh, d, ylo, yhi, x2 (the second operand of a
/// sum), placed by [`A_SLOTS`]: every copied cell (x, a, h, y, d, ylo, yhi,
/// x2) in the first row or in column 0, so only these columns need equality.
pub const ADVICE: usize = 7;
/// Fixed columns; the slots m, c0, 2^s, 2^(s-1), out_zero, lo, hi,
/// 2^(hb-1) (the offset that makes `h` non-negative), m2, m3 placed by
/// [`F_SLOTS`].
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
    (2, 0), // h
    (3, 0), // y
    (4, 1), // sl
    (5, 1), // sh
    (4, 0), // d
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
    (2, 0),  // h
    (3, 0),  // y
    (11, 0), // sl
    (12, 0), // sh
    (4, 0),  // d
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

/// Witness of one element, with `h` written as `(q - p) / 2 + H` (in the
/// field, so a `p` that is not `q`'s parity makes `h` a non-integer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    /// the rounded quotient (not a cell: `2 (h - H) + p`)
    pub q: i128,
    pub p: i128,
    /// the remainder below `2^s` and its top bit (ties only)
    pub a: i128,
    pub f: i128,
    pub y: i64,
    pub sl: i128,
    pub sh: i128,
    pub d: i128,
    /// `y - lo`, `hi - y`
    pub ylo: i128,
    pub yhi: i128,
    /// (tests) range-check this value instead of the cell of slot `.0` of
    /// [`A_SLOTS`] (a cheating prover's range rows); `None` when honest
    pub check_instead: Option<(usize, i128)>,
}

impl RescaleParams {
    /// The chip's shift and per-channel `(m, m2, m3, c0)` of
    /// `N = x m + x2 m2 + x x2 m3 + c0`: shift 0 is written as shift 1 with
    /// doubled constants (same value, never a tie).
    ///
    /// A shift one below a multiple of [`LIMB_BITS`] is raised by one
    /// (doubled constants, the same quotient and rounding): the remainder's
    /// range check then takes whole limbs, one row fewer than a
    /// `LIMB_BITS - 1`-bit top limb (checked as two).
    fn normalized(&self, c: usize) -> (u32, i128, i128, i128, i128) {
        let (m1, m2, m3, c0) = self.coefficients(c);
        let up = self.shift == 0 || self.shift % LIMB_BITS == LIMB_BITS - 1;
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

    /// Bit widths of the range checks: a, h, d, y.
    fn widths(&self) -> (u32, u32, u32, u32) {
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
        let h_bits = bits_for(max_q) + 1;
        let max_c = max_q + self.out_zero.unsigned_abs() as i128;
        let d_bits = bits_for(max_c + self.lo.unsigned_abs().max(self.hi.unsigned_abs()) as i128);
        let y_bits = bits_for((self.hi as i128 - self.lo as i128).max(1));
        (s, h_bits, d_bits, y_bits)
    }

    /// Whether `[lo, hi]` holds exactly `2^yb` values (then one check of
    /// `y - lo` bounds `y` on both sides).
    fn y_is_tight(&self) -> bool {
        let (_, _, _, yb) = self.widths();
        self.hi as i128 - self.lo as i128 + 1 == 1i128 << yb
    }

    /// Range-check rows one element needs.
    pub fn range_rows(&self) -> usize {
        if self.exact() {
            return 0;
        }
        let (ab, hb, db, yb) = self.widths();
        let y_checks = if self.y_is_tight() { 1 } else { 2 };
        rows_for(ab) + rows_for(hb) + rows_for(db) + y_checks * rows_for(yb)
    }

    /// The witness of `x` in channel `c`; `y` equals the executor's result.
    pub fn witness(&self, x: i64, c: usize) -> Row {
        self.witness2(x, 0, c)
    }

    /// The witness of `x` (and the second operand `x2`) in channel `c`.
    pub fn witness2(&self, x: i64, x2: i64, c: usize) -> Row {
        let (s, m, m2, m3, c0) = self.normalized(c);
        let (x, x2) = (x as i128, x2 as i128);
        let q = shift_round_half_even(x * m + x2 * m2 + x * x2 * m3 + c0, s);
        let y = saturate(q + self.out_zero as i128, self.lo, self.hi);
        self.row_for2(x as i64, x2 as i64, c, q, y)
    }

    /// The rest of a witness for a claimed quotient `q` and output `y`
    /// (honest when they are the true ones; tests forge them).
    pub fn row_for(&self, x: i64, c: usize, q: i128, y: i64) -> Row {
        self.row_for2(x, 0, c, q, y)
    }

    fn row_for2(&self, x: i64, x2: i64, c: usize, q: i128, y: i64) -> Row {
        let (s, m, m2, m3, c0) = self.normalized(c);
        let n = x as i128 * m + x2 as i128 * m2 + x as i128 * x2 as i128 * m3 + c0;
        let p = q.rem_euclid(2);
        let t = n - (q << s) + (1i128 << (s - 1));
        let f = i128::from(t == 1i128 << s);
        let a = t - (f << s);
        let c = q + self.out_zero as i128;
        let (sl, sh) = if y as i128 == c {
            (0, 0)
        } else if y == self.lo {
            (1, 0)
        } else {
            (0, 1)
        };
        let d = sl * (self.lo as i128 - c) + sh * (c - self.hi as i128);
        Row {
            q,
            p,
            a,
            f,
            y,
            sl,
            sh,
            d,
            ylo: y as i128 - self.lo as i128,
            yhi: self.hi as i128 - y as i128,
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
            let (x, inv, p, ra, rf, h, y, sl, sh, d, ylo, yhi) = (
                &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6], &a[7], &a[8], &a[9], &a[10],
                &a[11],
            );
            let (m, c0, e1, e2, zo, lo, hi, hoff) =
                (&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]);
            let (x2, m2, m3) = (&a[12], &f[8], &f[9]);
            let one = Expression::Constant(Fr::ONE);
            let two = Expression::Constant(Fr::from(2));
            let bool_ = |v: &Expression<Fr>| v.clone() * (one.clone() - v.clone());
            // q = 2 (h - H) + p with h range checked, so p is q's parity
            let qq = two.clone() * (h.clone() - hoff.clone()) + p.clone();
            let c = qq.clone() + zo.clone();
            vec![
                // rounding: a + f 2^s = x m + x2 m2 + x x2 m3 + c0 - q 2^s + 2^(s-1)
                mutation::gate(
                    "rescale/gate:rounding",
                    s.clone()
                        * (x.clone() * m.clone()
                            + x2.clone() * m2.clone()
                            + x.clone() * x2.clone() * m3.clone()
                            + c0.clone()
                            - qq.clone() * e1.clone()
                            + e2.clone()
                            - ra.clone()
                            - rf.clone() * e1.clone()),
                ),
                mutation::gate("rescale/gate:f-bit", s.clone() * bool_(rf)),
                mutation::gate(
                    "rescale/gate:f-times-a",
                    s.clone() * rf.clone() * ra.clone(),
                ),
                // a tie (a = 0) needs an even quotient
                mutation::gate(
                    "rescale/gate:tie-even",
                    s.clone() * p.clone() * (one.clone() - ra.clone() * inv.clone()),
                ),
                // (no `p` a bit, no `sl sh = 0`: implied, see the module docs)
                mutation::gate("rescale/gate:sl-bit", s.clone() * bool_(sl)),
                mutation::gate("rescale/gate:sh-bit", s.clone() * bool_(sh)),
                // clamp
                mutation::gate(
                    "rescale/gate:clamp",
                    s.clone()
                        * (y.clone()
                            - sl.clone() * lo.clone()
                            - sh.clone() * hi.clone()
                            - (one.clone() - sl.clone() - sh.clone()) * c.clone()),
                ),
                mutation::gate(
                    "rescale/gate:dist",
                    s.clone()
                        * (d.clone()
                            - sl.clone() * (lo.clone() - c.clone())
                            - sh.clone() * (c.clone() - hi.clone())),
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
        let (ab, hb, db, yb) = params.widths();
        let hoff = fe(1i128 << (hb - 1));
        let inv2 = Fr::from(2).invert().unwrap_or(Fr::ZERO);
        let mut ys = Vec::with_capacity(xs.len());
        for (i, &(wire, x, c)) in xs.iter().enumerate() {
            let row = offset + self.rows * i;
            self.q.enable(region, row)?;
            let (s, m, m2, m3, c0) = params.normalized(c);
            let second = x2s.map(|v| v[i]);
            let x2 = second.map_or(0, |(_, v)| v);
            let consts = [
                fe(m),
                fe(c0),
                fe(1i128 << s),
                fe(1i128 << (s - 1)),
                fe(params.out_zero as i128),
                fe(params.lo as i128),
                fe(params.hi as i128),
                hoff,
                fe(m2),
                fe(m3),
            ];
            for (&(col, r), v) in self.f_slots.iter().zip(consts) {
                region.assign_fixed(self.fixed[col], row + r as usize, v);
            }
            let mut w = params.witness2(x, x2, c);
            tamper(i, &mut w);
            let inv = fe(w.a).invert().unwrap_or(Fr::ZERO);
            let vals = [
                fe(x as i128),
                inv,
                fe(w.p),
                fe(w.a),
                fe(w.f),
                (fe(w.q) - fe(w.p)) * inv2 + hoff,
                fe(w.y as i128),
                fe(w.sl),
                fe(w.sh),
                fe(w.d),
                fe(w.ylo),
                fe(w.yhi),
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
                (3usize, ab, "rescale/copy:range-a"),
                (5, hb, "rescale/copy:range-h"),
                (9, db, "rescale/copy:range-dist"),
                (10, yb, "rescale/copy:range-ylo"),
                (11, yb, "rescale/copy:range-yhi"),
            ];
            // when [lo, hi] holds exactly 2^yb values, y - lo < 2^yb already
            // gives hi - y >= 0
            let n = if params.y_is_tight() { 4 } else { 5 };
            for &(k, bits, id) in &checks[..n] {
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
