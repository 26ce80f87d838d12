//! Lookup chip: table outputs accepted; a wrong output, an input outside the
//! table and an entry of another op's table are rejected.

use super::*;
use crate::chips::range::FunctionTable;
use crate::chips::testing::Case;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::Circuit;

#[derive(Clone)]
struct LookupCircuit {
    xs: Vec<i64>,
    forge: Option<(usize, i64)>,
    /// the chip is told input `.0` is `.1` (not its source cell's value)
    claim_x: Option<(usize, i64)>,
    /// the tag the inputs are looked up under
    tag: u64,
}

#[derive(Clone)]
struct Cfg {
    src: Column<Advice>,
    lk: LookupConfig,
}

const SQUARE: &[i64] = &[16, 9, 4, 1, 0, 1, 4, 9]; // x^2 for x in -4..4
const NEG: &[i64] = &[4, 3, 2, 1, 0, -1, -2, -3]; // -x

impl Circuit<Fr> for LookupCircuit {
    type Config = Cfg;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();
    fn without_witnesses(&self) -> Self {
        self.clone()
    }
    fn configure(meta: &mut ConstraintSystem<Fr>) -> Cfg {
        let src = meta.advice_column();
        meta.enable_equality(src);
        let (z, next, out) = (
            meta.advice_column(),
            meta.fixed_column(),
            meta.advice_column(),
        );
        Cfg {
            src,
            lk: LookupConfig::configure(meta, z, next, out),
        }
    }
    fn synthesize(&self, cfg: Cfg, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let tables = [
            FunctionTable {
                tag: 1,
                in_lo: -4,
                values: SQUARE,
            },
            FunctionTable {
                tag: 2,
                in_lo: -4,
                values: NEG,
            },
        ];
        cfg.lk.range.load_tables(&mut layouter, &tables)?;
        layouter.assign_region(
            || "lookup",
            |mut region| {
                let xs: Vec<(Wire, i64)> = self
                    .xs
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| {
                        let value = Value::known(fe(x as i128));
                        let cell = region.assign_advice(cfg.src, i, value).cell();
                        match self.claim_x {
                            Some((k, c)) if k == i => (
                                Wire {
                                    cell,
                                    value: Value::known(fe(c as i128)),
                                },
                                c,
                            ),
                            _ => (Wire { cell, value }, x),
                        }
                    })
                    .collect();
                let table = if self.tag == 1 { SQUARE } else { NEG };
                cfg.lk
                    .assign(&mut region, 0, self.tag, -4, table, &xs, self.forge)?;
                Ok(())
            },
        )
    }
}

/// (the limb entries take 447 table rows)
const K: u32 = 9;

fn lookup_failed(c: &LookupCircuit) -> bool {
    matches!(MockProver::run(K, c, vec![]).unwrap().verify(), Err(e) if e.iter().all(|f| matches!(f, VerifyFailure::Lookup { .. })))
}

#[test]
fn table_outputs_are_accepted() {
    for tag in [1, 2] {
        let c = LookupCircuit {
            xs: vec![-4, -1, 0, 3],
            forge: None,
            claim_x: None,
            tag,
        };
        assert_eq!(MockProver::run(K, &c, vec![]).unwrap().verify(), Ok(()));
    }
}

#[test]
fn a_wrong_output_is_rejected() {
    assert!(lookup_failed(&LookupCircuit {
        xs: vec![-4, 2],
        forge: Some((1, 5)),
        claim_x: None,
        tag: 1
    }));
}

#[test]
fn an_input_outside_the_table_is_rejected() {
    assert!(lookup_failed(&LookupCircuit {
        xs: vec![4],
        forge: Some((0, 16)),
        claim_x: None,
        tag: 1
    }));
}

#[test]
fn another_ops_table_is_rejected() {
    // (x = 2, y = 4) is in the square table, not in the negation table
    assert!(lookup_failed(&LookupCircuit {
        xs: vec![2],
        forge: Some((0, 4)),
        claim_x: None,
        tag: 2
    }));
}

#[test]
fn verifying_key_is_pinned() {
    let c = LookupCircuit {
        xs: vec![-4, 3],
        forge: None,
        claim_x: None,
        tag: 1,
    };
    assert_eq!(
        crate::chips::testing::vk_digest(K, &c),
        "af77ef6d0ffaf70e",
        "lookup chip verifying key changed"
    );
}

/// The lookup chip's witnesses for the mutation test.
pub(crate) fn cases() -> Vec<Case> {
    let c = |xs: Vec<i64>, forge, claim_x, tag| LookupCircuit {
        xs,
        forge,
        claim_x,
        tag,
    };
    let prove = |c: LookupCircuit| move || MockProver::run(K, &c, vec![]).unwrap().verify();
    const TABLE: &[&str] = &["range/lookup:limb"];
    vec![
        Case::honest("table outputs", prove(c(vec![-4, -1, 0, 3], None, None, 1))),
        Case::forged(
            "a wrong output",
            TABLE,
            prove(c(vec![-4, 2], Some((1, 5)), None, 1)),
        ),
        Case::forged(
            "an input outside the table",
            TABLE,
            prove(c(vec![4], Some((0, 16)), None, 1)),
        ),
        Case::forged(
            "another op's table",
            TABLE,
            prove(c(vec![2], Some((0, 4)), None, 2)),
        ),
        // the looked-up input is not the source value: 3 -> 9 claimed for 2
        Case::forged(
            "an input that is not its source",
            &["lookup/copy:x"],
            prove(c(vec![-4, 2], None, Some((1, 3)), 1)),
        ),
    ]
}

#[test]
fn cases_hold() {
    crate::chips::testing::assert_cases(&cases());
}
