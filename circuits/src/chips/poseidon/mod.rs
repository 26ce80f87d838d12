//! The in-circuit twin of [`crate::poseidon`]: one row per round (state in
//! three advice columns, round constants in three fixed columns, and the
//! squares of the S-box inputs in three auxiliary advice columns so that no
//! gate exceeds degree 4: halo2-axiom caps the constraint degree at 5), absorb
//! rows adding two input cells (held in the auxiliary columns) to the rate,
//! and an init row pinning the initial state to constants.

#[cfg(test)]
pub(crate) mod tests;

use crate::mutation;
use crate::poseidon::{Spec, FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH};
use halo2_proofs::circuit::{Cell, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

/// Mutation-test ids of the gate polynomials (per state column).
const INIT_IDS: [&str; WIDTH] = [
    "poseidon/gate:init-0",
    "poseidon/gate:init-1",
    "poseidon/gate:init-2",
];
const ABSORB_IDS: [&str; WIDTH] = [
    "poseidon/gate:absorb-0",
    "poseidon/gate:absorb-1",
    "poseidon/gate:absorb-2",
];
const ABSORB_ONE_IDS: [&str; WIDTH] = [
    "poseidon/gate:absorb-one-0",
    "poseidon/gate:absorb-one-1",
    "poseidon/gate:absorb-one-2",
];
/// (S-box squares, MDS mix)
const FULL_IDS: ([&str; WIDTH], [&str; WIDTH]) = (
    [
        "poseidon/gate:full-square-0",
        "poseidon/gate:full-square-1",
        "poseidon/gate:full-square-2",
    ],
    [
        "poseidon/gate:full-mix-0",
        "poseidon/gate:full-mix-1",
        "poseidon/gate:full-mix-2",
    ],
);
/// (only the first S-box is in a partial round)
const PARTIAL_IDS: ([&str; WIDTH], [&str; WIDTH]) = (
    [
        "poseidon/gate:partial-square-0",
        "poseidon/gate:partial-square-1",
        "poseidon/gate:partial-square-2",
    ],
    [
        "poseidon/gate:partial-mix-0",
        "poseidon/gate:partial-mix-1",
        "poseidon/gate:partial-mix-2",
    ],
);

/// Rows of one permutation: an absorb row, then one row per round.
pub const ROWS_PER_PERMUTATION: usize = 1 + FULL_ROUNDS + PARTIAL_ROUNDS;

#[derive(Clone, Debug)]
pub struct PoseidonConfig {
    pub state: [Column<Advice>; WIDTH],
    /// S-box squares on round rows; absorbed inputs on absorb rows.
    pub aux: [Column<Advice>; WIDTH],
    constants: [Column<Fixed>; WIDTH],
    init: Selector,
    absorb: Selector,
    absorb_one: Selector,
    full: Selector,
    partial: Selector,
}

/// A cell of a sponge row (for [`PoseidonConfig::assign_sponge_with`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// `state[j]`
    State(usize),
    /// the square of S-box input `j` (round rows)
    Square(usize),
    /// absorbed input `k` (absorb rows)
    Input(usize),
}

/// An assigned cell and its value.
#[derive(Clone, Copy, Debug)]
pub struct Wire {
    pub cell: Cell,
    pub value: Value<Fr>,
}

/// Cells of one sponge run: the absorbed inputs and the output.
pub struct SpongeCells {
    pub inputs: Vec<Wire>,
    pub output: Wire,
    pub rows: usize,
}

impl PoseidonConfig {
    /// Declares the gates over the given columns (equality is enabled on the
    /// input columns and the output's state column).
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        state: [Column<Advice>; WIDTH],
        aux: [Column<Advice>; WIDTH],
        constants: [Column<Fixed>; WIDTH],
    ) -> PoseidonConfig {
        let input = [aux[0], aux[1]];
        let (init, absorb, absorb_one) = (meta.selector(), meta.selector(), meta.selector());
        let (full, partial) = (meta.selector(), meta.selector());
        // copied cells: the absorbed inputs (aux[0], aux[1]) and the output (state[1])
        for c in [state[1], aux[0], aux[1]] {
            meta.enable_equality(c);
        }
        let mds = Spec::get().mds;
        meta.create_gate("poseidon init", |meta| {
            let q = meta.query_selector(init);
            (0..WIDTH)
                .map(|j| {
                    mutation::gate(
                        INIT_IDS[j],
                        q.clone()
                            * (meta.query_advice(state[j], Rotation::cur())
                                - meta.query_fixed(constants[j], Rotation::cur())),
                    )
                })
                .collect::<Vec<_>>()
        });
        for (name, sel, second, ids) in [
            ("poseidon absorb", absorb, true, ABSORB_IDS),
            ("poseidon absorb one", absorb_one, false, ABSORB_ONE_IDS),
        ] {
            meta.create_gate(name, |meta| {
                let q = meta.query_selector(sel);
                let cur = |meta: &mut halo2_proofs::plonk::VirtualCells<Fr>, j| {
                    meta.query_advice(state[j], Rotation::cur())
                };
                let next = |meta: &mut halo2_proofs::plonk::VirtualCells<Fr>, j| {
                    meta.query_advice(state[j], Rotation::next())
                };
                let in1 = meta.query_advice(input[0], Rotation::cur());
                let in2 = if second {
                    meta.query_advice(input[1], Rotation::cur())
                } else {
                    Expression::Constant(Fr::ZERO)
                };
                vec![
                    mutation::gate(ids[0], q.clone() * (next(meta, 0) - cur(meta, 0))),
                    mutation::gate(ids[1], q.clone() * (next(meta, 1) - cur(meta, 1) - in1)),
                    mutation::gate(ids[2], q * (next(meta, 2) - cur(meta, 2) - in2)),
                ]
            });
        }
        let round = |meta: &mut ConstraintSystem<Fr>,
                     name: &str,
                     sel: Selector,
                     all_sboxes: bool,
                     ids: ([&'static str; WIDTH], [&'static str; WIDTH])| {
            meta.create_gate(name, |meta| {
                let q = meta.query_selector(sel);
                let mut constraints = Vec::new();
                let mut after = Vec::new();
                for j in 0..WIDTH {
                    let x = meta.query_advice(state[j], Rotation::cur())
                        + meta.query_fixed(constants[j], Rotation::cur());
                    if all_sboxes || j == 0 {
                        let sq = meta.query_advice(aux[j], Rotation::cur());
                        constraints.push(mutation::gate(
                            ids.0[j],
                            q.clone() * (sq.clone() - x.clone() * x.clone()),
                        ));
                        after.push(sq.clone() * sq * x);
                    } else {
                        after.push(x);
                    }
                }
                for i in 0..WIDTH {
                    let mixed = (0..WIDTH).fold(Expression::Constant(Fr::ZERO), |acc, j| {
                        acc + Expression::Constant(mds[i][j]) * after[j].clone()
                    });
                    constraints.push(mutation::gate(
                        ids.1[i],
                        q.clone() * (mixed - meta.query_advice(state[i], Rotation::next())),
                    ));
                }
                constraints
            });
        };
        round(meta, "poseidon full round", full, true, FULL_IDS);
        round(meta, "poseidon partial round", partial, false, PARTIAL_IDS);
        PoseidonConfig {
            state,
            aux,
            constants,
            init,
            absorb,
            absorb_one,
            full,
            partial,
        }
    }

    /// Assigns `capacity`-initialized sponge absorbing `elements` (two per
    /// permutation, an odd last one padded with a zero input) starting at
    /// row `offset`. The output cell is `state[1]` after the last permutation.
    pub fn assign_sponge(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        capacity: Fr,
        elements: &[Value<Fr>],
    ) -> Result<SpongeCells, Error> {
        self.assign_sponge_with(region, offset, capacity, elements, |_, _, _| {})
    }

    /// As [`Self::assign_sponge`]; `tamper(row, slot, value)` edits a cell
    /// of sponge row `row` (0: the init row) before it is assigned, and the
    /// hash goes on from the edited value (tests play a cheating prover
    /// with it).
    pub fn assign_sponge_with(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        capacity: Fr,
        elements: &[Value<Fr>],
        tamper: impl Fn(usize, Slot, &mut Fr),
    ) -> Result<SpongeCells, Error> {
        let edit = |row: usize, slot: Slot, v: Value<Fr>| {
            v.map(|mut v| {
                tamper(row - offset, slot, &mut v);
                v
            })
        };
        let spec = Spec::get();
        let half = FULL_ROUNDS / 2;
        let mut row = offset;
        // init row: state = [capacity, 0, 0], pinned by the constants
        self.init.enable(region, row)?;
        let init = [capacity, Fr::ZERO, Fr::ZERO];
        let mut state: [Value<Fr>; WIDTH] = init.map(Value::known);
        for (j, s) in state.iter_mut().enumerate() {
            region.assign_fixed(self.constants[j], row, init[j]);
            *s = edit(row, Slot::State(j), *s);
        }
        let mut inputs = Vec::new();
        let mut output = None;
        for pair in elements.chunks(2) {
            // absorb row (the init row or the previous permutation's last row)
            if pair.len() == 2 {
                self.absorb.enable(region, row)?
            } else {
                self.absorb_one.enable(region, row)?
            }
            let mut e = [
                pair[0],
                pair.get(1).copied().unwrap_or(Value::known(Fr::ZERO)),
            ];
            for (col, v) in self.state.iter().zip(&state) {
                region.assign_advice(*col, row, *v);
            }
            for (k, v) in pair.iter().enumerate() {
                e[k] = edit(row, Slot::Input(k), *v);
                let cell = region.assign_advice(self.aux[k], row, e[k]).cell();
                inputs.push(Wire { cell, value: e[k] });
            }
            state[1] = state[1] + e[0];
            state[2] = state[2] + e[1];
            row += 1;
            for r in 0..FULL_ROUNDS + PARTIAL_ROUNDS {
                let is_full = r < half || r >= half + PARTIAL_ROUNDS;
                if is_full {
                    self.full.enable(region, row)?
                } else {
                    self.partial.enable(region, row)?
                }
                for (j, s) in state.iter_mut().enumerate() {
                    *s = edit(row, Slot::State(j), *s);
                    region.assign_advice(self.state[j], row, *s);
                    region.assign_fixed(self.constants[j], row, spec.round_constants[r][j]);
                }
                let rc = spec.round_constants[r];
                let mut after = Vec::with_capacity(WIDTH);
                for j in 0..WIDTH {
                    let x = state[j] + Value::known(rc[j]);
                    if is_full || j == 0 {
                        let sq = edit(row, Slot::Square(j), x.map(|x| x.square()));
                        region.assign_advice(self.aux[j], row, sq);
                        after.push(sq.map(|s| s.square()) * x);
                    } else {
                        after.push(x);
                    }
                }
                for (s, mds) in state.iter_mut().zip(&spec.mds) {
                    *s = (0..WIDTH).fold(Value::known(Fr::ZERO), |acc, j| {
                        acc + after[j] * Value::known(mds[j])
                    });
                }
                row += 1;
            }
            let mut last = None;
            for (j, s) in state.iter_mut().enumerate() {
                *s = edit(row, Slot::State(j), *s);
                let cell = region.assign_advice(self.state[j], row, *s).cell();
                if j == 1 {
                    last = Some(Wire { cell, value: *s });
                }
            }
            output = last;
        }
        let output = match output {
            Some(o) => o,
            None => {
                let cells: Vec<Cell> = (0..WIDTH)
                    .map(|j| region.assign_advice(self.state[j], row, state[j]).cell())
                    .collect();
                Wire {
                    cell: cells[1],
                    value: state[1],
                }
            }
        };
        Ok(SpongeCells {
            inputs,
            output,
            rows: row + 1 - offset,
        })
    }
}
