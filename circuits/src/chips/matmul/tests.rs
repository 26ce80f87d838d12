//! Freivalds chip: the executor's product is accepted, any changed entry of
//! C is rejected (also by a real verifier), extremes of int8/uint8 with
//! their zero points work.

use super::*;
use crate::chips::testing::Case;
use crate::ops::linear::matmul;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::{Circuit, FirstPhase, SecondPhase};
use ndarray::{ArrayD, IxDyn};

#[derive(Clone)]
struct MatMulCircuit {
    a: Vec<i64>,
    m: usize,
    weights: Weights,
    a_zero: i64,
    /// added to C's entry `.0`
    wrong: Option<(usize, i64)>,
    /// B as a witness (copied from the source column) instead of fixed
    b_witness: bool,
    /// added to B's source entry `.0` after C was computed
    wrong_b: Option<(usize, i64)>,
    /// added to A's (`.0` false) or a witnessed B's (`.0` true) source
    /// cell `.1` after the chip was given its value: its copy no longer
    /// equals its source
    bump_source: Option<(bool, usize, i64)>,
    /// edits the phase-2 chains (a cheating prover)
    tamper: Option<ChainTamper>,
}

type ChainTamper = std::rc::Rc<dyn Fn(Chain, usize, Fr, &mut Fr)>;

#[derive(Clone)]
struct TestConfig {
    src: Column<Advice>,
    mm: MatMulConfig,
}

impl MatMulCircuit {
    fn product(&self) -> Vec<i64> {
        let w = &self.weights;
        let a = ArrayD::from_shape_vec(IxDyn(&[self.m, w.k]), self.a.clone()).unwrap();
        let b = ArrayD::from_shape_vec(IxDyn(&[w.k, w.n]), w.b.clone()).unwrap();
        let bias = ArrayD::from_shape_vec(IxDyn(&[w.n]), w.bias.clone()).unwrap();
        matmul(&a, &b, Some(&bias), self.a_zero, &w.b_zero)
            .iter()
            .copied()
            .collect()
    }
}

impl Circuit<Fr> for MatMulCircuit {
    type Config = TestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
        let src = meta.advice_column_in(FirstPhase);
        meta.enable_equality(src);
        let val = meta.advice_column_in(FirstPhase);
        let r = meta.challenge_usable_after(FirstPhase);
        let acc = meta.advice_column_in(SecondPhase);
        let w = meta.advice_column_in(SecondPhase);
        let fixed = meta.fixed_column();
        TestConfig {
            src,
            mm: MatMulConfig::configure(meta, val, acc, w, fixed, r),
        }
    }

    fn synthesize(&self, config: TestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let mut c: Vec<i64> = self.product();
        if let Some((i, d)) = self.wrong {
            c[i] += d;
        }
        layouter.assign_region(
            || "matmul",
            |mut region| {
                let bump = |b: bool, i: usize| match self.bump_source {
                    Some((bb, k, d)) if (bb, k) == (b, i) => fe(d as i128),
                    _ => Fr::ZERO,
                };
                let a: Vec<Wire> = self
                    .a
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let value = Value::known(fe(v as i128));
                        let at = value + Value::known(bump(false, i));
                        Wire {
                            cell: region.assign_advice(config.src, i, at).cell(),
                            value,
                        }
                    })
                    .collect();
                let cv: Vec<Value<Fr>> = c.iter().map(|&v| Value::known(fe(v as i128))).collect();
                let mut weights = self.weights.clone();
                if self.b_witness {
                    let mut bv = weights.b.clone();
                    if let Some((i, d)) = self.wrong_b {
                        bv[i] += d;
                    }
                    let at = a.len();
                    weights.witness = Some(
                        bv.iter()
                            .enumerate()
                            .map(|(i, &v)| {
                                let value = Value::known(fe(v as i128));
                                let src = value + Value::known(bump(true, i));
                                Wire {
                                    cell: region.assign_advice(config.src, at + i, src).cell(),
                                    value,
                                }
                            })
                            .collect(),
                    );
                }
                let p1 = config.mm.assign_phase1(&mut region, 0, &a, &cv, &weights)?;
                region.next_phase();
                config.mm.assign_phase2_with(
                    &mut region,
                    0,
                    &p1,
                    &weights,
                    self.a_zero,
                    |chain, step, r, acc| {
                        if let Some(t) = &self.tamper {
                            t(chain, step, r, acc)
                        }
                    },
                )
            },
        )
    }
}

fn circuit(m: usize, k: usize, n: usize, seed: i64) -> MatMulCircuit {
    let a = (0..(m * k) as i64).map(|i| (i * 37 + seed) % 256).collect();
    let b = (0..(k * n) as i64)
        .map(|i| ((i * 91 + seed) % 256) - 128)
        .collect();
    let weights = Weights {
        k,
        n,
        b,
        b_zero: (0..n as i64).map(|j| j - 2).collect(),
        bias: (0..n as i64).map(|j| 1000 * j - 3000).collect(),
        witness: None,
    };
    MatMulCircuit {
        a,
        m,
        weights,
        a_zero: 128,
        wrong: None,
        b_witness: false,
        wrong_b: None,
        bump_source: None,
        tamper: None,
    }
}

const K: u32 = 8;

#[test]
fn honest_product_is_accepted() {
    // chains over constants of one packed row, exactly PACK, PACK + 1 and
    // several rows
    for (m, k, n) in [
        (1, 64, 8),
        (3, 4, 5),
        (5, 9, 1),
        (1, 5, PACK),
        (2, 3, PACK + 1),
        (2, 3, 40),
    ] {
        let c = circuit(m, k, n, 11);
        let rows = rows_for(m, k, n).max(c.a.len());
        let kk = (rows + 10).next_power_of_two().trailing_zeros();
        assert_eq!(
            MockProver::run(kk, &c, vec![]).unwrap().verify(),
            Ok(()),
            "{m}x{k}x{n}"
        );
    }
}

#[test]
fn a_wrong_product_entry_is_rejected() {
    for (m, k, n, idx, d) in [
        (3, 4, 5, 0usize, 1i64),
        (3, 4, 5, 7, -1),
        (3, 4, 5, 14, 1 << 20),
        (2, 3, 40, 39, 1),
        (2, 3, 40, 57, -3),
    ] {
        let mut c = circuit(m, k, n, 11);
        c.wrong = Some((idx, d));
        let errs = MockProver::run(K, &c, vec![])
            .unwrap()
            .verify()
            .unwrap_err();
        assert!(
            errs.iter()
                .all(|e| matches!(e, VerifyFailure::Permutation { .. })),
            "{errs:?}"
        );
    }
}

#[test]
fn a_product_of_two_witnesses() {
    for (m, k, n) in [(1, 16, 8), (3, 4, 5), (4, 4, 4)] {
        let c = MatMulCircuit {
            b_witness: true,
            ..circuit(m, k, n, 5)
        };
        let rows = rows_for_witness(m, k, n).max(c.a.len() + k * n);
        let kk = (rows + 10).next_power_of_two().trailing_zeros();
        assert_eq!(
            MockProver::run(kk, &c, vec![]).unwrap().verify(),
            Ok(()),
            "{m}x{k}x{n}"
        );
        // a wrong C entry breaks the final equality of its row
        let wrong = MatMulCircuit {
            wrong: Some((m * n - 1, 1)),
            ..c.clone()
        };
        let errs = MockProver::run(kk, &wrong, vec![])
            .unwrap()
            .verify()
            .unwrap_err();
        assert!(
            errs.iter()
                .all(|e| matches!(e, VerifyFailure::Permutation { .. })),
            "{errs:?}"
        );
        // C computed from another B than the one in the circuit
        for (i, d) in [(0usize, 1i64), (k * n - 1, -3)] {
            let other_b = MatMulCircuit {
                wrong_b: Some((i, d)),
                bump_source: None,
                tamper: None,
                ..c.clone()
            };
            let errs = MockProver::run(kk, &other_b, vec![])
                .unwrap()
                .verify()
                .unwrap_err();
            assert!(
                errs.iter()
                    .all(|e| matches!(e, VerifyFailure::Permutation { .. })),
                "{errs:?}"
            );
        }
    }
}

#[test]
fn extremes_with_zero_points() {
    let weights = Weights {
        k: 3,
        n: 2,
        b: vec![-128, 127, -128, 127, -128, 127],
        b_zero: vec![127, -128],
        bias: vec![i32::MAX as i64, i32::MIN as i64],
        witness: None,
    };
    for (a, a_zero) in [
        (vec![0, 255, 0, 255, 0, 255], 255),
        (vec![-128, 127, -128, 127, -128, 127], -128),
    ] {
        let c = MatMulCircuit {
            a,
            m: 2,
            weights: weights.clone(),
            a_zero,
            wrong: None,
            b_witness: false,
            wrong_b: None,
            bump_source: None,
            tamper: None,
        };
        assert_eq!(MockProver::run(K, &c, vec![]).unwrap().verify(), Ok(()));
        let c = MatMulCircuit {
            b_witness: true,
            ..c
        };
        assert_eq!(MockProver::run(K, &c, vec![]).unwrap().verify(), Ok(()));
    }
}

#[test]
fn real_proof_with_a_second_phase_challenge() {
    use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
    use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof};
    use halo2_proofs::poly::commitment::ParamsProver;
    use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
    use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
    use halo2_proofs::poly::kzg::strategy::SingleStrategy;
    use halo2_proofs::transcript::{
        Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer,
    };
    use rand::SeedableRng;

    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let params = ParamsKZG::<Bn256>::setup(K, &mut rng);
    let honest = circuit(3, 4, 5, 11);
    let vk = keygen_vk(&params, &honest).unwrap();
    assert_eq!(
        crate::chips::testing::digest(&vk),
        "4031b2f858d314e4",
        "matmul chip verifying key changed"
    );
    let pk = keygen_pk(&params, vk, &honest).unwrap();
    let prove = |c: MatMulCircuit, rng: &mut rand::rngs::StdRng| {
        let mut t = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
        create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
            &params,
            &pk,
            &[c],
            &[&[]],
            rng,
            &mut t,
        )
        .unwrap();
        t.finalize()
    };
    let verify = |proof: &[u8]| {
        let mut t = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(proof);
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            params.verifier_params(),
            pk.get_vk(),
            SingleStrategy::new(&params),
            &[&[]],
            &mut t,
        )
    };
    assert!(verify(&prove(honest.clone(), &mut rng)).is_ok());
    let mut cheat = honest;
    cheat.wrong = Some((3, 1));
    assert!(
        verify(&prove(cheat, &mut rng)).is_err(),
        "a wrong product does not verify"
    );
}

/// The Freivalds chip's witnesses for the mutation test: a wrong entry of C
/// (`C[0, 1] + 1` of a 1x4 by 4x3 product) whose chains a cheating prover
/// bends so that only one constraint notices, and copies of A and B that
/// are not their sources.
pub(crate) fn cases() -> Vec<Case> {
    use halo2_proofs::halo2curves::ff::Field;
    let (m, k, n) = (1, 4, 3);
    let base = circuit(m, k, n, 11);
    let (j, delta) = (1usize, Fr::ONE);
    let wrong = MatMulCircuit {
        wrong: Some((j, 1)),
        ..base.clone()
    };
    let prove = |c: MatMulCircuit| move || MockProver::run(K, &c, vec![]).unwrap().verify();
    // the wrong entry adds delta r^j to C_0 . v
    let bent = |name: &str, target: &'static str, f: ChainTamper| {
        Case::forged(
            name,
            &[target],
            prove(MatMulCircuit {
                tamper: Some(f),
                ..wrong.clone()
            }),
        )
    };
    let shift = move |r: Fr| delta * r.pow([j as u64]);
    // the accumulator after the last packed row of a chain over n constants
    let last_fixed = fixed_chain_rows(n) - 1;
    // A[0, 0] - a_zero, to spread delta r^j over (B' v)_0
    let a0 = fe((base.a[0] - base.a_zero) as i128);
    assert_ne!(a0, Fr::ZERO);
    let witness_b = MatMulCircuit {
        b_witness: true,
        ..base.clone()
    };
    vec![
        Case::honest("a product by constants", prove(base.clone())),
        Case::honest("a product of two witnesses", prove(witness_b.clone())),
        Case::forged(
            "a wrong entry of C",
            &["matmul/copy:lhs-rhs"],
            prove(wrong.clone()),
        ),
        bent(
            "C's chain ends at the true C . v",
            "matmul/gate:horner-witness",
            std::rc::Rc::new(move |c, s, r, acc| {
                if (c, s) == (Chain::C(0), n) {
                    *acc -= shift(r);
                }
            }),
        ),
        bent(
            "C's chain starts at -delta r^j / r^N",
            "matmul/gate:chain-start",
            std::rc::Rc::new(move |c, s, r, acc| {
                if (c, s) == (Chain::C(0), 0) {
                    *acc -= shift(r) * r.pow([n as u64]).invert().unwrap();
                }
            }),
        ),
        bent(
            "the dot product ends delta r^j higher",
            "matmul/gate:dot",
            std::rc::Rc::new(move |c, s, r, acc| {
                if (c, s) == (Chain::Dot(0), k) {
                    *acc += shift(r);
                }
            }),
        ),
        bent(
            "the dot product starts delta r^j above bias . v",
            "matmul/copy:bias-start",
            std::rc::Rc::new(move |c, s, r, acc| {
                if (c, s) == (Chain::Dot(0), 0) {
                    *acc += shift(r);
                }
            }),
        ),
        bent(
            "bias . v ends delta r^j higher",
            "matmul/gate:horner-fixed",
            std::rc::Rc::new(move |c, s, r, acc| {
                if (c, s) == (Chain::Bias, last_fixed) {
                    *acc += shift(r);
                }
            }),
        ),
        bent(
            "the copy of (B' v)_0 raised by delta r^j / (A[0, 0] - a_zero)",
            "matmul/copy:w",
            std::rc::Rc::new(move |c, s, r, acc| {
                if (c, s) == (Chain::W(0), 0) {
                    *acc += shift(r) * a0.invert().unwrap();
                }
            }),
        ),
        Case::forged(
            "A's copy is not its source",
            &["matmul/copy:a"],
            prove(MatMulCircuit {
                bump_source: Some((false, 2, 1)),
                ..base.clone()
            }),
        ),
        Case::forged(
            "a witnessed B's copy is not its source",
            &["matmul/copy:b"],
            prove(MatMulCircuit {
                bump_source: Some((true, 5, -1)),
                ..witness_b.clone()
            }),
        ),
        Case::forged(
            "C from another witnessed B",
            &["matmul/copy:lhs-rhs"],
            prove(MatMulCircuit {
                wrong_b: Some((5, -1)),
                ..witness_b
            }),
        ),
    ]
}

#[test]
fn cases_hold() {
    crate::chips::testing::assert_cases(&cases());
}
