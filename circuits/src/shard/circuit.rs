//! The shard circuit as a halo2 circuit: configuration (see
//! [`ShardConfig::configure`]) and synthesis, a short dispatch over the
//! per-family `assign_*` functions (one file a family: `linear.rs`,
//! `requant.rs`, `pool.rs`, `division.rs`, `lookup.rs`, `wiring.rs`; tensors
//! in and out in `commit.rs`).

use super::config::ShardConfig;
#[cfg(test)]
use super::forge::Forges;
use super::params::ShardParams;
use super::synth::Synth;
use super::ShardCircuit;
use crate::chips::range::FunctionTable;
use crate::mutation;
use crate::plan::{Op, TensorId};
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};

impl Circuit<Fr> for ShardCircuit {
    type Config = ShardConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ShardParams;

    fn without_witnesses(&self) -> Self {
        ShardCircuit {
            plan: self.plan.clone(),
            params: self.params,
            model: self.model,
            index: self.index,
            values: None,
            #[cfg(test)]
            forges: Forges::default(),
        }
    }

    fn params(&self) -> ShardParams {
        self.params
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ShardConfig {
        Self::configure_with_params(meta, ShardParams::default())
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: ShardParams) -> ShardConfig {
        ShardConfig::configure(meta, params)
    }

    fn synthesize(
        &self,
        mut config: ShardConfig,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        #[cfg(test)]
        {
            config.forges = self.forges.clone();
        }
        // every lane may fill the circuit's usable rows
        let height = (1usize << self.k()) - 16;
        config.range.height = height;
        for r in [
            config.rescale.as_mut().map(|c| &mut c.range),
            config.divide.as_mut().map(|c| &mut c.range),
            config.maxpool.as_mut().map(|c| &mut c.range),
        ]
        .into_iter()
        .flatten()
        {
            r.height = height;
        }
        let functions = self.function_tables();
        let tables: Vec<FunctionTable<'_>> = functions
            .iter()
            .map(|(tag, in_lo, values)| FunctionTable {
                tag: *tag,
                in_lo: *in_lo,
                values,
            })
            .collect();
        config.range.load_tables(&mut layouter, &tables)?;
        let lookup_rows = self.lookup_rows();
        let publics = layouter.assign_region(
            || "shard",
            |mut region| {
                let mut s = Synth::new(&config, &mut region, lookup_rows);
                let id = s.config.constant(s.region, &mut s.cur, self.model)?;
                let index = s
                    .config
                    .constant(s.region, &mut s.cur, Fr::from(self.index as u64))?;
                let mut input_commit = None;
                for (i, n) in self.plan.nodes.iter().enumerate() {
                    let t = i as TensorId;
                    for c in self.cell_operands(i) {
                        self.constant_cells(&mut s, c)?;
                    }
                    let out = match &n.op {
                        Op::Input { .. } => {
                            let (ws, commit) = self.assign_input(&mut s, t)?;
                            input_commit = Some(commit);
                            ws
                        }
                        Op::Const { .. } => continue,
                        Op::Reshape => s.operand(n.inputs[0])?,
                        Op::MatMul { .. } => self.assign_matmul(&mut s, n, t)?,
                        Op::Conv { .. } => self.assign_conv(&mut s, n, t)?,
                        Op::MaxPool { .. } => self.assign_max_pool(&mut s, n)?,
                        Op::AvgPool { .. } | Op::AvgPoolF32 { .. } => {
                            self.assign_avg_pool(&mut s, n, t)?
                        }
                        Op::Softmax { .. } => self.assign_softmax(&mut s, n, i)?,
                        Op::Sqrt { .. } => self.assign_sqrt(&mut s, n)?,
                        Op::Div { .. } => self.assign_div(&mut s, n)?,
                        Op::Lookup { .. } => self.assign_lookup(&mut s, n, i)?,
                        Op::Transpose { perm } => self.assign_transpose(&s, n, perm)?,
                        Op::Concat { axis } => self.assign_concat(&s, n, *axis)?,
                        Op::Gather { map } => self.assign_gather(&s, n, map)?,
                        Op::Add { .. } | Op::Mul { .. } => self.assign_add_mul(&mut s, n)?,
                        Op::Clamp { .. } | Op::Rescale { .. } => self.assign_rescale(&mut s, n)?,
                    };
                    s.wires.insert(t, out);
                }
                let out_t = self.plan.outputs[0].tensor;
                self.constant_cells(&mut s, out_t)?;
                let out_wires = s.operand(out_t)?;
                #[cfg(test)]
                s.config.forges.commitment.set(1);
                let output_commit =
                    s.config
                        .commit(s.region, &mut s.cur, &out_wires, self.packing(out_t))?;
                if s.config.matmul.is_some() {
                    s.region.next_phase();
                }
                for (offset, p1, weights, a_zero) in &s.pending {
                    s.config
                        .matmul()?
                        .assign_phase2(s.region, *offset, p1, weights, *a_zero)?;
                }
                Ok([
                    id.cell,
                    index.cell,
                    input_commit.ok_or(Error::Synthesis)?.cell,
                    output_commit.cell,
                ])
            },
        )?;
        const INSTANCE_IDS: [&str; 4] = [
            "shard/copy:instance-model",
            "shard/copy:instance-index",
            "shard/copy:instance-input",
            "shard/copy:instance-output",
        ];
        for (row, cell) in publics.iter().enumerate() {
            if mutation::on(INSTANCE_IDS[row]) {
                layouter.constrain_instance(*cell, config.instance, row);
            }
        }
        Ok(())
    }
}
