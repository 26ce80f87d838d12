//! Integer arithmetic shared by every op: rounding divisions, saturation and
//! exact dyadic forms of float32 scales. No floats are used in the semantics
//! of any op; floats appear only where the compiler derives constants.

use serde::{Deserialize, Serialize};

/// `round_half_even(num / den)` for `den > 0`, exact on integers.
pub fn div_round_half_even(num: i128, den: i128) -> i128 {
    debug_assert!(den > 0);
    let q = num.div_euclid(den);
    let r = num.rem_euclid(den); // 0 <= r < den
    let twice = 2 * r;
    if twice > den || (twice == den && q.rem_euclid(2) == 1) {
        q + 1
    } else {
        q
    }
}

/// `round_half_even(num / 2^shift)`.
pub fn shift_round_half_even(num: i128, shift: u32) -> i128 {
    if shift == 0 {
        num
    } else {
        div_round_half_even(num, 1i128 << shift)
    }
}

/// Clamps `v` into `[lo, hi]`.
pub fn saturate(v: i128, lo: i64, hi: i64) -> i64 {
    v.clamp(lo as i128, hi as i128) as i64
}

/// A non-negative rational `mult / 2^shift`: the exact form of a float32 (or
/// float64) scale, so that `round(x * scale)` is an integer division.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dyadic {
    pub mult: i64,
    pub shift: u32,
}

impl Dyadic {
    pub const ONE: Dyadic = Dyadic { mult: 1, shift: 0 };

    /// The exact value of a finite, non-negative float64 as `mult / 2^shift`
    /// (mantissa of at most 53 bits). Returns `None` for negative, non-finite
    /// or too large values, or when the exponent is out of the supported range.
    pub fn exact(v: f64) -> Option<Dyadic> {
        if !v.is_finite() || v < 0.0 {
            return None;
        }
        if v == 0.0 {
            return Some(Dyadic { mult: 0, shift: 0 });
        }
        let bits = v.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i32;
        let frac = bits & ((1u64 << 52) - 1);
        let (mut mant, mut e) = if exp == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), exp - 1075)
        };
        while mant & 1 == 0 {
            mant >>= 1;
            e += 1;
        }
        if e >= 0 {
            let m = (mant as i128) << e;
            if m > i64::MAX as i128 / 4 {
                return None;
            }
            return Some(Dyadic {
                mult: m as i64,
                shift: 0,
            });
        }
        let shift = (-e) as u32;
        if shift > 96 {
            return None;
        }
        Some(Dyadic {
            mult: mant as i64,
            shift,
        })
    }

    /// An approximation of `v` with a multiplier of at most `bits` bits.
    pub fn approx(v: f64, bits: u32) -> Option<Dyadic> {
        if !v.is_finite() || v < 0.0 {
            return None;
        }
        if v == 0.0 {
            return Some(Dyadic { mult: 0, shift: 0 });
        }
        let exact = Dyadic::exact(v)?;
        if (exact.mult as u64) < (1u64 << bits) {
            return Some(exact);
        }
        // v = m * 2^-s with m in [2^(bits-1), 2^bits)
        let e = v.log2().floor() as i32; // 2^e <= v < 2^(e+1)
        let s = bits as i32 - 1 - e;
        let m = if s >= 0 {
            (v * 2f64.powi(s)).round()
        } else {
            (v / 2f64.powi(-s)).round()
        };
        if s < 0 {
            let m = (m as i128) << (-s);
            if m > i64::MAX as i128 / 4 {
                return None;
            }
            return Some(Dyadic {
                mult: m as i64,
                shift: 0,
            });
        }
        if s > 96 {
            return None;
        }
        Some(
            Dyadic {
                mult: m as i64,
                shift: s as u32,
            }
            .reduced(),
        )
    }

    /// Removes common factors of two.
    pub fn reduced(mut self) -> Dyadic {
        while self.shift > 0 && self.mult % 2 == 0 {
            self.mult /= 2;
            self.shift -= 1;
        }
        self
    }

    /// The same value written with a larger shift.
    pub fn with_shift(self, shift: u32) -> Option<Dyadic> {
        if shift < self.shift {
            return None;
        }
        let m = (self.mult as i128) << (shift - self.shift);
        if m > i64::MAX as i128 {
            return None;
        }
        Some(Dyadic {
            mult: m as i64,
            shift,
        })
    }

    pub fn to_f64(self) -> f64 {
        self.mult as f64 / 2f64.powi(self.shift as i32)
    }
}

/// Writes several dyadics over one common shift (their largest).
pub fn common_shift(ds: &[Dyadic]) -> Option<(Vec<i64>, u32)> {
    let shift = ds.iter().map(|d| d.shift).max().unwrap_or(0);
    let mults = ds
        .iter()
        .map(|d| d.with_shift(shift).map(|d| d.mult))
        .collect::<Option<Vec<_>>>()?;
    Some((mults, shift))
}

/// The integer range of an ONNX integer element type.
pub fn dtype_range(bits: u32, signed: bool) -> (i64, i64) {
    if signed {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    } else {
        (0, (1i64 << bits) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_ties_go_to_even() {
        assert_eq!(div_round_half_even(5, 2), 2); // 2.5 -> 2
        assert_eq!(div_round_half_even(7, 2), 4); // 3.5 -> 4
        assert_eq!(div_round_half_even(-5, 2), -2); // -2.5 -> -2
        assert_eq!(div_round_half_even(-7, 2), -4); // -3.5 -> -4
        assert_eq!(div_round_half_even(-1, 2), 0); // -0.5 -> 0
        assert_eq!(div_round_half_even(1, 2), 0); // 0.5 -> 0
        assert_eq!(div_round_half_even(3, 2), 2); // 1.5 -> 2
        assert_eq!(div_round_half_even(10, 4), 2); // 2.5 -> 2
        assert_eq!(div_round_half_even(11, 4), 3); // 2.75 -> 3
        assert_eq!(div_round_half_even(-11, 4), -3);
        assert_eq!(div_round_half_even(9, 4), 2); // 2.25 -> 2
        assert_eq!(div_round_half_even(0, 7), 0);
    }

    #[test]
    fn rounding_matches_float_round_ties_even() {
        for num in -1000i128..1000 {
            for den in [1i128, 2, 3, 4, 7, 8, 16, 255] {
                let f = (num as f64 / den as f64).round_ties_even() as i128;
                assert_eq!(div_round_half_even(num, den), f, "{num}/{den}");
            }
        }
    }

    #[test]
    fn saturation_at_int8_and_uint8_bounds() {
        let (lo, hi) = dtype_range(8, true);
        assert_eq!((lo, hi), (-128, 127));
        assert_eq!(saturate(128, lo, hi), 127);
        assert_eq!(saturate(-129, lo, hi), -128);
        assert_eq!(saturate(-128, lo, hi), -128);
        let (lo, hi) = dtype_range(8, false);
        assert_eq!((lo, hi), (0, 255));
        assert_eq!(saturate(256, lo, hi), 255);
        assert_eq!(saturate(-1, lo, hi), 0);
        assert_eq!(dtype_range(32, true), (i32::MIN as i64, i32::MAX as i64));
    }

    #[test]
    fn float32_scales_are_exact_dyadics() {
        for v in [0.5f32, 0.003921569, 1.0 / 3.0, 1e-7, 123.456, 0.0] {
            let d = Dyadic::exact(v as f64).unwrap();
            assert_eq!(d.to_f64(), v as f64);
            assert!(d.mult < (1 << 24));
        }
        assert!(
            Dyadic::exact(-0.5).is_none(),
            "negative scales are rejected"
        );
        assert!(Dyadic::exact(f64::NAN).is_none());
        assert!(Dyadic::exact(f64::INFINITY).is_none());
    }

    #[test]
    fn approx_keeps_the_requested_precision() {
        let d = Dyadic::approx(std::f64::consts::PI, 20).unwrap();
        assert!(d.mult < (1 << 20));
        assert!((d.to_f64() - std::f64::consts::PI).abs() < 1e-5);
        let (m, s) =
            common_shift(&[Dyadic { mult: 3, shift: 2 }, Dyadic { mult: 5, shift: 4 }]).unwrap();
        assert_eq!((m, s), (vec![12, 5], 4));
    }
}
