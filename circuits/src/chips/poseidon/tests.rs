//! The Poseidon chip: accepts exactly the native hash, rejects a tampered
//! round, a wrong output claim and a wrong capacity; real proofs verify.

use super::*;
use crate::chips::testing::Case;
use crate::field::fe;
use crate::poseidon::{commit_tensor, pack_tensor, Packing};
use crate::poseidon::{Spec, FULL_ROUNDS, PARTIAL_ROUNDS};
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::{Circuit, Instance};

/// Hashes `elements` with capacity `capacity` and exposes the output as the
/// public instance. `tamper` adds 1 to one state cell (row, column) to model
/// a cheating prover.
#[derive(Clone, Default)]
struct SpongeCircuit {
    capacity: Fr,
    elements: Vec<Fr>,
    tamper: Option<(usize, usize)>,
    /// add `.2` to the cell `.1` of sponge row `.0`, the hash going on from it
    edit: Option<(usize, Slot, Fr)>,
}

#[derive(Clone)]
struct TestConfig {
    poseidon: PoseidonConfig,
    instance: Column<Instance>,
}

impl Circuit<Fr> for SpongeCircuit {
    type Config = TestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        SpongeCircuit {
            capacity: self.capacity,
            elements: vec![Fr::ZERO; self.elements.len()],
            tamper: None,
            edit: None,
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
        let state = [
            meta.advice_column(),
            meta.advice_column(),
            meta.advice_column(),
        ];
        let aux = [
            meta.advice_column(),
            meta.advice_column(),
            meta.advice_column(),
        ];
        let constants = [
            meta.fixed_column(),
            meta.fixed_column(),
            meta.fixed_column(),
        ];
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        TestConfig {
            poseidon: PoseidonConfig::configure(meta, state, aux, constants),
            instance,
        }
    }

    fn synthesize(&self, config: TestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let elements: Vec<Value<Fr>> = self.elements.iter().map(|&e| Value::known(e)).collect();
        let out = layouter.assign_region(
            || "sponge",
            |mut region| {
                let cells = config.poseidon.assign_sponge_with(
                    &mut region,
                    0,
                    self.capacity,
                    &elements,
                    |row, slot, v| match self.edit {
                        Some((r, s, d)) if (r, s) == (row, slot) => *v += d,
                        _ => {}
                    },
                )?;
                if let Some((row, col)) = self.tamper {
                    // overwrite one state cell with a wrong value
                    region.assign_advice(
                        config.poseidon.state[col],
                        row,
                        Value::known(Fr::from(12345)),
                    );
                }
                Ok(cells.output)
            },
        )?;
        layouter.constrain_instance(out.cell, config.instance, 0);
        Ok(())
    }
}

fn tensor_circuit(values: &[i64]) -> (SpongeCircuit, Fr) {
    let p = Packing::for_range(-128, 127);
    let mut elements = vec![fe(p.lo as i128)];
    elements.extend(pack_tensor(values, p));
    let capacity = fe(values.len() as i128) + fe(1i128 << 64) * fe(p.bits as i128);
    (
        SpongeCircuit {
            capacity,
            elements,
            tamper: None,
            edit: None,
        },
        commit_tensor(values, p),
    )
}

const K: u32 = 9;

#[test]
fn honest_sponge_matches_the_native_commitment() {
    for n in [1usize, 31, 62, 100] {
        let values: Vec<i64> = (0..n as i64).map(|i| (i * 53 % 256) - 128).collect();
        let (circuit, expected) = tensor_circuit(&values);
        let prover = MockProver::run(K, &circuit, vec![vec![expected]]).unwrap();
        assert_eq!(prover.verify(), Ok(()), "{n} values");
    }
}

#[test]
fn a_tampered_round_is_rejected_by_its_gate() {
    let (mut circuit, expected) = tensor_circuit(&[1, 2, 3, 4]);
    circuit.tamper = Some((10, 1)); // a partial round row
    let errors = MockProver::run(K, &circuit, vec![vec![expected]])
        .unwrap()
        .verify()
        .unwrap_err();
    let gates: Vec<String> = errors
        .iter()
        .filter_map(|e| match e {
            VerifyFailure::ConstraintNotSatisfied { constraint, .. } => {
                Some(format!("{constraint}"))
            }
            _ => None,
        })
        .collect();
    assert!(gates.iter().any(|g| g.contains("poseidon")), "{errors:?}");
}

#[test]
fn a_wrong_output_claim_is_rejected() {
    let (circuit, expected) = tensor_circuit(&[1, 2, 3, 4]);
    let errors = MockProver::run(K, &circuit, vec![vec![expected + Fr::ONE]])
        .unwrap()
        .verify()
        .unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, VerifyFailure::Permutation { .. })),
        "{errors:?}"
    );
}

#[test]
fn a_different_capacity_is_a_different_commitment() {
    let (mut circuit, expected) = tensor_circuit(&[1, 2, 3, 4]);
    // claiming the same elements belong to a longer tensor changes the hash
    circuit.capacity += Fr::ONE;
    assert!(MockProver::run(K, &circuit, vec![vec![expected]])
        .unwrap()
        .verify()
        .is_err());
}

#[test]
fn boundary_values_hash_like_the_native_twin() {
    for values in [vec![-128i64; 40], vec![127i64; 40], vec![0i64; 1]] {
        let (circuit, expected) = tensor_circuit(&values);
        assert_eq!(
            MockProver::run(K, &circuit, vec![vec![expected]])
                .unwrap()
                .verify(),
            Ok(())
        );
    }
}

#[test]
fn gates_stay_within_halo2_axioms_degree_cap() {
    let mut cs = ConstraintSystem::<Fr>::default();
    SpongeCircuit::configure(&mut cs);
    let max = cs
        .gates()
        .iter()
        .flat_map(|g| g.polynomials().iter().map(|p| p.degree()))
        .max()
        .unwrap();
    assert!(max <= 4, "gate degree {max}");
}

#[test]
fn real_proof_verifies_and_rejects_a_wrong_commitment() {
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
    let (circuit, expected) = tensor_circuit(&(0..40).collect::<Vec<i64>>());
    let vk = keygen_vk(&params, &circuit.without_witnesses()).unwrap();
    // the verifying key is pinned: a layout change must be deliberate
    assert_eq!(
        crate::chips::testing::digest(&vk),
        PINNED_VK,
        "Poseidon chip verifying key changed"
    );
    let pk = keygen_pk(&params, vk, &circuit.without_witnesses()).unwrap();
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        &params,
        &pk,
        &[circuit],
        &[&[&[expected]]],
        &mut rng,
        &mut transcript,
    )
    .unwrap();
    let proof = transcript.finalize();
    let verify = |instance: Fr, proof: &[u8]| {
        let mut t = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(proof);
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            params.verifier_params(),
            pk.get_vk(),
            SingleStrategy::new(&params),
            &[&[&[instance]]],
            &mut t,
        )
    };
    assert!(verify(expected, &proof).is_ok());
    assert!(
        verify(expected + Fr::ONE, &proof).is_err(),
        "wrong public commitment"
    );
    let mut bad = proof.clone();
    bad[proof.len() / 2] ^= 1;
    assert!(verify(expected, &bad).is_err(), "flipped proof byte");
}

const PINNED_VK: &str = "08c8fc02e42803f7";

/// The sponge's output with one cell edited as [`SpongeCircuit::edit`]
/// does (the chip's row layout, computed natively).
fn edited_hash(capacity: Fr, elements: &[Fr], edit: (usize, Slot, Fr)) -> Fr {
    let ed = |row: usize, slot: Slot, v: Fr| {
        if (row, slot) == (edit.0, edit.1) {
            v + edit.2
        } else {
            v
        }
    };
    let spec = Spec::get();
    let half = FULL_ROUNDS / 2;
    let mut state = [capacity, Fr::ZERO, Fr::ZERO];
    for (j, s) in state.iter_mut().enumerate() {
        *s = ed(0, Slot::State(j), *s);
    }
    let mut row = 0;
    for pair in elements.chunks(2) {
        state[1] += ed(row, Slot::Input(0), pair[0]);
        if let Some(&e) = pair.get(1) {
            state[2] += ed(row, Slot::Input(1), e);
        }
        row += 1;
        for r in 0..FULL_ROUNDS + PARTIAL_ROUNDS {
            let full = r < half || r >= half + PARTIAL_ROUNDS;
            let mut after = [Fr::ZERO; WIDTH];
            for j in 0..WIDTH {
                state[j] = ed(row, Slot::State(j), state[j]);
                let x = state[j] + spec.round_constants[r][j];
                after[j] = if full || j == 0 {
                    ed(row, Slot::Square(j), x.square()).square() * x
                } else {
                    x
                };
            }
            for (i, s) in state.iter_mut().enumerate() {
                *s = (0..WIDTH).fold(Fr::ZERO, |acc, j| acc + spec.mds[i][j] * after[j]);
            }
            row += 1;
        }
        for (j, s) in state.iter_mut().enumerate() {
            *s = ed(row, Slot::State(j), *s);
        }
    }
    state[1]
}

/// The Poseidon chip's witnesses for the mutation test: a commitment to 40
/// values (three absorbed elements: two permutations, the second absorbing
/// one) with one cell bent and the hash carried on from it, claimed as the
/// commitment.
pub(crate) fn cases() -> Vec<Case> {
    let (honest, expected) = tensor_circuit(&(0..40).map(|i| i * 5 - 100).collect::<Vec<_>>());
    assert_eq!(honest.elements.len(), 3);
    let one = Fr::ONE;
    let first_partial = 1 + FULL_ROUNDS / 2;
    let second_absorb = ROWS_PER_PERMUTATION;
    let mut edits: Vec<(&'static str, (usize, Slot, Fr))> = Vec::new();
    for j in 0..WIDTH {
        edits.push((INIT_IDS[j], (0, Slot::State(j), one)));
        edits.push((ABSORB_IDS[j], (1, Slot::State(j), one)));
        edits.push((ABSORB_ONE_IDS[j], (second_absorb + 1, Slot::State(j), one)));
        edits.push((FULL_IDS.0[j], (1, Slot::Square(j), one)));
        edits.push((FULL_IDS.1[j], (2, Slot::State(j), one)));
        edits.push((PARTIAL_IDS.1[j], (first_partial + 1, Slot::State(j), one)));
    }
    edits.push((PARTIAL_IDS.0[0], (first_partial, Slot::Square(0), one)));
    let mut cases = vec![Case::honest("a commitment to 40 values", {
        let c = honest.clone();
        move || {
            MockProver::run(K, &c, vec![vec![expected]])
                .unwrap()
                .verify()
        }
    })];
    for (id, edit) in edits {
        let c = SpongeCircuit {
            edit: Some(edit),
            ..honest.clone()
        };
        let out = edited_hash(c.capacity, &c.elements, edit);
        cases.push(Case::forged(
            format!("row {} {:?} + 1", edit.0, edit.1),
            &[id],
            move || MockProver::run(K, &c, vec![vec![out]]).unwrap().verify(),
        ));
    }
    cases
}

#[test]
fn cases_hold() {
    crate::chips::testing::assert_cases(&cases());
}

#[test]
fn edited_hash_without_edits_is_the_commitment() {
    let (c, expected) = tensor_circuit(&[1, 2, 3]);
    assert_eq!(
        edited_hash(
            c.capacity,
            &c.elements,
            (usize::MAX, Slot::State(0), Fr::ONE)
        ),
        expected
    );
}
