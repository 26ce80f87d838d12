//! The in-circuit twin of [`crate::poseidon`]: one row per round (state in
//! three advice columns, round constants in three fixed columns, and the
//! squares of the S-box inputs in three auxiliary advice columns so that no
//! gate exceeds degree 4: halo2-axiom caps the constraint degree at 5), absorb
//! rows adding two input cells (held in the auxiliary columns) to the rate,
//! and an init row pinning the initial state to constants.

#[cfg(test)]
mod tests;

use crate::poseidon::{Spec, FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH};
use halo2_proofs::circuit::{Cell, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

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
                    q.clone()
                        * (meta.query_advice(state[j], Rotation::cur())
                            - meta.query_fixed(constants[j], Rotation::cur()))
                })
                .collect::<Vec<_>>()
        });
        for (name, sel, second) in [
            ("poseidon absorb", absorb, true),
            ("poseidon absorb one", absorb_one, false),
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
                    q.clone() * (next(meta, 0) - cur(meta, 0)),
                    q.clone() * (next(meta, 1) - cur(meta, 1) - in1),
                    q * (next(meta, 2) - cur(meta, 2) - in2),
                ]
            });
        }
        let round =
            |meta: &mut ConstraintSystem<Fr>, name: &str, sel: Selector, all_sboxes: bool| {
                meta.create_gate(name, |meta| {
                    let q = meta.query_selector(sel);
                    let mut constraints = Vec::new();
                    let mut after = Vec::new();
                    for j in 0..WIDTH {
                        let x = meta.query_advice(state[j], Rotation::cur())
                            + meta.query_fixed(constants[j], Rotation::cur());
                        if all_sboxes || j == 0 {
                            let sq = meta.query_advice(aux[j], Rotation::cur());
                            constraints.push(q.clone() * (sq.clone() - x.clone() * x.clone()));
                            after.push(sq.clone() * sq * x);
                        } else {
                            after.push(x);
                        }
                    }
                    for i in 0..WIDTH {
                        let mixed = (0..WIDTH).fold(Expression::Constant(Fr::ZERO), |acc, j| {
                            acc + Expression::Constant(mds[i][j]) * after[j].clone()
                        });
                        constraints.push(
                            q.clone() * (mixed - meta.query_advice(state[i], Rotation::next())),
                        );
                    }
                    constraints
                });
            };
        round(meta, "poseidon full round", full, true);
        round(meta, "poseidon partial round", partial, false);
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
        let spec = Spec::get();
        let half = FULL_ROUNDS / 2;
        let mut row = offset;
        // init row: state = [capacity, 0, 0], pinned by the constants
        self.init.enable(region, row)?;
        let init = [capacity, Fr::ZERO, Fr::ZERO];
        let mut state: [Value<Fr>; WIDTH] = init.map(Value::known);
        for j in 0..WIDTH {
            region.assign_fixed(self.constants[j], row, init[j]);
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
            let e = [
                pair[0],
                pair.get(1).copied().unwrap_or(Value::known(Fr::ZERO)),
            ];
            for j in 0..WIDTH {
                region.assign_advice(self.state[j], row, state[j]);
            }
            for (k, v) in pair.iter().enumerate() {
                let cell = region.assign_advice(self.aux[k], row, *v).cell();
                inputs.push(Wire { cell, value: *v });
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
                for j in 0..WIDTH {
                    region.assign_advice(self.state[j], row, state[j]);
                    region.assign_fixed(self.constants[j], row, spec.round_constants[r][j]);
                }
                let rc = spec.round_constants[r];
                let mut after = Vec::with_capacity(WIDTH);
                for j in 0..WIDTH {
                    let x = state[j] + Value::known(rc[j]);
                    if is_full || j == 0 {
                        let sq = x.map(|x| x.square());
                        region.assign_advice(self.aux[j], row, sq);
                        after.push(sq.map(|s| s.square()) * x);
                    } else {
                        after.push(x);
                    }
                }
                for i in 0..WIDTH {
                    state[i] = (0..WIDTH).fold(Value::known(Fr::ZERO), |acc, j| {
                        acc + after[j] * Value::known(spec.mds[i][j])
                    });
                }
                row += 1;
            }
            let mut last = None;
            for j in 0..WIDTH {
                let cell = region.assign_advice(self.state[j], row, state[j]).cell();
                if j == 1 {
                    last = Some(Wire {
                        cell,
                        value: state[j],
                    });
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
