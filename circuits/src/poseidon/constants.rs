//! Round constants and MDS matrix from the Grain LFSR (Poseidon paper,
//! appendix F): field = prime (1), S-box x^alpha (0), n = 254, t = 3,
//! R_F = 8, R_P = 57. Round constants are sampled with rejection, MDS
//! entries are a Cauchy matrix 1 / (x_i + y_j) of further samples.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use std::sync::OnceLock;

pub const WIDTH: usize = 3;
pub const FULL_ROUNDS: usize = 8;
pub const PARTIAL_ROUNDS: usize = 57;
const FIELD_BITS: usize = 254;

/// Round constants (one row per round) and the MDS matrix.
#[derive(Clone, Debug)]
pub struct Spec {
    pub round_constants: Vec<[Fr; WIDTH]>,
    pub mds: [[Fr; WIDTH]; WIDTH],
}

struct Grain {
    state: [bool; 80],
}

impl Grain {
    fn new() -> Grain {
        let mut bits = Vec::with_capacity(80);
        let mut push = |value: u64, width: usize| {
            for i in (0..width).rev() {
                bits.push((value >> i) & 1 == 1);
            }
        };
        push(1, 2); // prime field
        push(0, 4); // x^alpha S-box
        push(FIELD_BITS as u64, 12);
        push(WIDTH as u64, 12);
        push(FULL_ROUNDS as u64, 10);
        push(PARTIAL_ROUNDS as u64, 10);
        push((1 << 30) - 1, 30);
        let mut state = [false; 80];
        state.copy_from_slice(&bits);
        let mut g = Grain { state };
        for _ in 0..160 {
            g.step();
        }
        g
    }

    fn step(&mut self) -> bool {
        let s = &self.state;
        let bit = s[62] ^ s[51] ^ s[38] ^ s[23] ^ s[13] ^ s[0];
        self.state.copy_within(1.., 0);
        self.state[79] = bit;
        bit
    }

    /// Self-shrinking output: of each pair, the second bit if the first is 1.
    fn next_bit(&mut self) -> bool {
        loop {
            let keep = self.step();
            let bit = self.step();
            if keep {
                return bit;
            }
        }
    }

    /// `FIELD_BITS` bits, most significant first, as little-endian bytes.
    fn next_bytes(&mut self) -> [u8; 32] {
        let mut repr = [0u8; 32];
        for i in (0..FIELD_BITS).rev() {
            if self.next_bit() {
                repr[i / 8] |= 1 << (i % 8);
            }
        }
        repr
    }

    /// A field element by rejection sampling.
    fn next_field(&mut self) -> Fr {
        loop {
            if let Some(f) = Option::<Fr>::from(Fr::from_repr(self.next_bytes())) {
                return f;
            }
        }
    }

    /// A sample reduced modulo p (how the MDS entries are drawn).
    fn next_reduced(&mut self) -> Fr {
        let bytes = self.next_bytes();
        // value = hi * 2^128 + lo, reduced in the field
        let lo = u128::from_le_bytes(bytes[..16].try_into().expect("16 bytes"));
        let hi = u128::from_le_bytes(bytes[16..].try_into().expect("16 bytes"));
        let two64 = Fr::from(1u64 << 32).square();
        let from_u128 = |v: u128| Fr::from((v >> 64) as u64) * two64 + Fr::from(v as u64);
        from_u128(hi) * two64.square() + from_u128(lo)
    }
}

fn generate() -> Spec {
    let mut g = Grain::new();
    let round_constants = (0..FULL_ROUNDS + PARTIAL_ROUNDS)
        .map(|_| [g.next_field(), g.next_field(), g.next_field()])
        .collect();
    let mds = loop {
        let xs: Vec<Fr> = (0..2 * WIDTH).map(|_| g.next_reduced()).collect();
        let distinct = (0..xs.len()).all(|i| (i + 1..xs.len()).all(|j| xs[i] != xs[j]));
        let mut m = [[Fr::ZERO; WIDTH]; WIDTH];
        let mut ok = distinct;
        for i in 0..WIDTH {
            for j in 0..WIDTH {
                match Option::<Fr>::from((xs[i] + xs[WIDTH + j]).invert()) {
                    Some(inv) => m[i][j] = inv,
                    None => ok = false,
                }
            }
        }
        if ok {
            break m;
        }
    };
    Spec {
        round_constants,
        mds,
    }
}

impl Spec {
    /// The constants, generated once per process.
    pub fn get() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(generate)
    }
}
