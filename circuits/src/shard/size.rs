//! Sizing a shard circuit before laying it out: the rows each node adds to
//! each column group (the chips' exact counts), the rows every shard has
//! whatever its nodes (commitments, tables, blinding), the number of range
//! lanes, and so `k`. This is the one row model: the partitioner cuts by
//! it, and the compile table attributes each shard's rows to its nodes by
//! it ([`node_rows`]), so the table's total is the sum of the shards' rows.

use super::params::softmax_table;
use super::partition::{slice, SizedShard};
use super::{ShardCircuit, ShardError, MAX_RANGE_LANES};
use crate::chips::divide::sum_rows;
use crate::chips::range::rows_for as range_rows;
use crate::ops::index::{pool_windows, ConvGeometry, MatMulDims};
use crate::plan::{CheckedPlan, Op, TensorId};
use serde::Serialize;

/// The circuit's column groups: each has its own rows, and the circuit's
/// height is the tallest (the bank's groups share the bank's rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    Src,
    Pack,
    Range,
    Rescale,
    Freivalds,
    MaxPool,
    Poseidon,
    Lookups,
    LookupTable,
    RangeTable,
}

const GROUPS: [Group; 10] = [
    Group::Src,
    Group::Pack,
    Group::Range,
    Group::Rescale,
    Group::Freivalds,
    Group::MaxPool,
    Group::Poseidon,
    Group::Lookups,
    Group::LookupTable,
    Group::RangeTable,
];

impl Group {
    fn name(self) -> &'static str {
        match self {
            Group::Src => "inputs and constants",
            Group::Pack => "commitment packing",
            Group::Range => "range checks",
            Group::Rescale => "rescale and divide",
            Group::Freivalds => "freivalds",
            Group::MaxPool => "maxpool",
            Group::Poseidon => "poseidon",
            Group::Lookups => "function lookups",
            Group::LookupTable => "function table",
            Group::RangeTable => "limb table",
        }
    }

    /// Groups stacked in the shared bank columns.
    fn in_bank(self) -> bool {
        matches!(
            self,
            Group::Src | Group::Pack | Group::Rescale | Group::MaxPool | Group::Poseidon
        )
    }
}

/// Rows per column group, indexed like [`GROUPS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Rows([usize; GROUPS.len()]);

impl Rows {
    fn add(&mut self, g: Group, rows: usize) {
        self.0[g as usize] += rows;
    }
    fn get(&self, g: Group) -> usize {
        self.0[g as usize]
    }
    fn plus(mut self, o: &Rows) -> Rows {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
        self
    }
    fn bank(&self) -> usize {
        GROUPS
            .iter()
            .filter(|g| g.in_bank())
            .map(|&g| self.get(g))
            .sum()
    }
}

/// Rows halo2 reserves at the bottom of every column (blinding).
const RESERVED: usize = 16;

/// The group that sets a circuit's height: the bank (`None`) or another
/// (the range lanes, which also hold the function lookups, are
/// `Group::Range`; the one table of limbs and functions is
/// `Group::RangeTable`).
fn tallest(rows: &Rows, lanes: u32) -> (Option<Group>, usize) {
    let mut best = (None, rows.bank());
    for (g, h) in [
        (Group::Range, lane_height(rows, lanes)),
        (Group::Freivalds, rows.get(Group::Freivalds)),
        (
            Group::RangeTable,
            rows.get(Group::RangeTable) + rows.get(Group::LookupTable),
        ),
    ] {
        if h > best.1 {
            best = (Some(g), h);
        }
    }
    best
}

/// Rows of the range lanes: the function lookups (the first rows of lane
/// 0) and the range checks spread over `lanes` lanes (a lane wastes less
/// than one check's rows at its end).
fn lane_height(rows: &Rows, lanes: u32) -> usize {
    let (lookups, r) = (rows.get(Group::Lookups), rows.get(Group::Range));
    match lanes {
        l if l > 1 => (lookups + r).div_ceil(l as usize) + crate::chips::range::MAX_CHECK_ROWS,
        _ => lookups + r,
    }
    .max(lookups)
}

impl ShardCircuit {
    /// The operands node `i` reads as cells. A constant among them is laid
    /// out once per shard as cells pinned to its values (fixed column);
    /// MatMul's constant right operand and bias and Conv's weights and bias
    /// are not cells but the Freivalds chip's fixed columns.
    pub(super) fn cell_operands(&self, i: usize) -> Vec<TensorId> {
        let n = &self.plan.nodes[i];
        match n.op {
            Op::MatMul { .. } if self.plan.is_const(n.inputs[1]) => vec![n.inputs[0]],
            Op::MatMul { .. } => n.inputs[..2].to_vec(),
            Op::Conv { .. } => vec![n.inputs[0]],
            _ => n.inputs.clone(),
        }
    }

    /// The function lookups' rows (the first rows of range lane 0).
    pub(super) fn lookup_rows(&self) -> usize {
        self.total_rows().get(Group::Lookups)
    }

    /// The smallest k whose usable rows hold this circuit.
    pub fn k(&self) -> u32 {
        self.rows().next_power_of_two().trailing_zeros().max(9)
    }

    /// The rows this circuit uses (the tallest column group, plus the rows
    /// halo2 reserves for blinding).
    pub fn rows(&self) -> usize {
        tallest(&self.total_rows(), self.params.range_lanes).1 + RESERVED
    }

    /// The number of range lanes with the least estimated proving work:
    /// each lane adds a column and a lookup argument (about four columns of
    /// work), and may halve the rows of a circuit the range checks dominate.
    pub(super) fn best_lanes(&self) -> u32 {
        let rows = self.total_rows();
        let k_of = |r: usize| (r + RESERVED).next_power_of_two().trailing_zeros().max(9);
        (1..=MAX_RANGE_LANES)
            .min_by_key(|&l| (30 + 4 * l as u64) << k_of(tallest(&rows, l).1))
            .unwrap_or(1)
    }

    /// Rows used in each column group (the range checks counted in one
    /// lane; the circuit's height is set by the tallest group).
    pub fn row_breakdown(&self) -> Vec<(&'static str, usize)> {
        let rows = self.total_rows();
        GROUPS.iter().map(|&g| (g.name(), rows.get(g))).collect()
    }

    fn total_rows(&self) -> Rows {
        self.sizing().1
    }

    /// [`Self::node_rows`] of every node (a constant's cells count for the
    /// first node that reads it as cells), and the circuit's total.
    fn sizing(&self) -> (Vec<Rows>, Rows) {
        let mut seen = std::collections::HashSet::new();
        let per_node: Vec<Rows> = (0..self.plan.nodes.len())
            .map(|i| {
                let mut r = self.node_rows(i);
                for t in self.cell_operands(i) {
                    if self.plan.is_const(t) && seen.insert(t) {
                        r.add(Group::Src, self.plan.info(t).len());
                    }
                }
                r
            })
            .collect();
        let out = self.plan.outputs[0].tensor;
        let out_cells = self.plan.is_const(out) && !seen.contains(&out);
        let total = per_node
            .iter()
            .fold(self.fixed_rows(out_cells), |acc, r| acc.plus(r));
        (per_node, total)
    }

    /// The rows every circuit of this plan has whatever its nodes: the model
    /// id and shard index, the input's cells, the commitments of the input
    /// and the output, the cells of a constant output no node reads
    /// (`out_cells`), and the tables.
    fn fixed_rows(&self, out_cells: bool) -> Rows {
        let mut r = Rows::default();
        let input = self.input_tensor();
        r.add(Group::Src, self.plan.info(input).len() + 2);
        let out = self.plan.outputs[0].tensor;
        if out_cells {
            r.add(Group::Src, self.plan.info(out).len());
        }
        for t in [input, out] {
            let p = self.packing(t);
            let len = self.plan.info(t).len();
            r.add(Group::Pack, len + len.div_ceil(p.per_element) * 2);
            r.add(Group::Range, len * range_rows(p.bits));
            let elements = 1 + len.div_ceil(p.per_element);
            r.add(
                Group::Poseidon,
                1 + elements.div_ceil(2) * crate::chips::poseidon::ROWS_PER_PERMUTATION + 1,
            );
        }
        // the table's limb entries (each function's entries: its node's rows)
        r.add(Group::RangeTable, crate::chips::range::TABLE_ROWS + 1);
        r
    }

    /// The rows node `i`'s chips add (not counting constants' cells).
    fn node_rows(&self, i: usize) -> Rows {
        let plan = &self.plan;
        let n = &plan.nodes[i];
        let mut r = Rows::default();
        match &n.op {
            Op::MatMul { .. } if super::params::is_dot(plan, n) => {
                let k = *plan.info(n.inputs[0]).shape.last().unwrap_or(&1);
                let (a, f) = super::params::bank_width(self.params.chips);
                let t = crate::chips::dot::terms_per_row(a, f);
                r.add(
                    Group::Rescale,
                    n.info.len() * crate::chips::dot::rows_for(k, t),
                );
            }
            Op::MatMul { .. } => {
                let d =
                    MatMulDims::new(&plan.info(n.inputs[0]).shape, &plan.info(n.inputs[1]).shape);
                let per = if plan.is_const(n.inputs[1]) {
                    crate::chips::matmul::rows_for(d.rows_per_product(), d.k, d.n)
                } else {
                    crate::chips::matmul::rows_for_witness(d.rows_per_product(), d.k, d.n)
                };
                r.add(Group::Freivalds, d.products() * per);
            }
            Op::Conv {
                strides,
                pads,
                dilations,
                group,
                ..
            } => {
                let g = ConvGeometry::new(
                    &plan.info(n.inputs[0]).shape,
                    &plan.info(n.inputs[1]).shape,
                    &n.info.shape,
                    *strides,
                    *pads,
                    *dilations,
                    *group,
                );
                // the padding cell
                r.add(Group::Src, 1);
                r.add(
                    Group::Freivalds,
                    g.group
                        * crate::chips::matmul::rows_for(
                            g.batch * g.positions(),
                            g.taps(),
                            g.out_per_group(),
                        ),
                );
            }
            Op::MaxPool {
                kernel,
                strides,
                pads,
                dilations,
                ..
            } => {
                let taps: usize = pool_windows(
                    &plan.info(n.inputs[0]).shape,
                    &n.info.shape,
                    *kernel,
                    *strides,
                    *pads,
                    *dilations,
                )
                .iter()
                .map(Vec::len)
                .sum();
                let (rows, rrows) = crate::chips::maxpool::rows_for_window(taps, self.pool_bits(n));
                r.add(Group::MaxPool, rows);
                r.add(Group::Range, rrows);
            }
            Op::Lookup { table, .. } => {
                r.add(Group::Lookups, n.info.len());
                r.add(Group::LookupTable, table.len());
            }
            Op::AvgPool { .. } | Op::AvgPoolF32 { .. } => {
                for (p, taps) in Self::division_params(plan, n) {
                    r.add(Group::Rescale, sum_rows(taps) + 1);
                    r.add(Group::Range, p.range_rows());
                }
            }
            Op::Sqrt { .. } => {
                if let Some(p) = Self::sqrt_params(plan, n) {
                    r.add(Group::Rescale, n.info.len());
                    r.add(Group::Range, p.range_rows() * n.info.len());
                }
            }
            Op::Div { .. } => {
                for (p, per) in Self::division_params(plan, n) {
                    r.add(Group::Rescale, per);
                    r.add(Group::Range, p.range_rows() * per + p.divisor_rows());
                }
            }
            Op::Softmax { axis, .. } => {
                let x = plan.info(n.inputs[0]);
                let len = x.shape[*axis as usize];
                let lanes = x.len() / len.max(1);
                let (p, _) = &Self::division_params(plan, n)[0];
                let (prows, prange) =
                    crate::chips::maxpool::rows_for_window(len, self.pool_bits(n));
                r.add(Group::MaxPool, lanes * prows);
                r.add(
                    Group::Range,
                    lanes * (prange + p.range_rows() * len + p.divisor_rows()),
                );
                r.add(Group::Rescale, lanes * (2 * len + sum_rows(len) + len));
                r.add(Group::Lookups, x.len());
                r.add(Group::LookupTable, softmax_table(plan, n).len());
            }
            Op::Rescale { .. } | Op::Add { .. } | Op::Mul { .. } | Op::Clamp { .. } => {
                let p = self.rescale_params(n);
                let (a, f) = super::params::bank_width(self.params.chips);
                let rows = if p.exact() {
                    1
                } else {
                    crate::chips::rescale::rows_on(a, f)
                };
                r.add(Group::Rescale, rows * n.info.len());
                r.add(Group::Range, p.range_rows() * n.info.len());
            }
            Op::Input { .. }
            | Op::Const { .. }
            | Op::Reshape
            | Op::Transpose { .. }
            | Op::Concat { .. }
            | Op::Gather { .. } => {}
        }
        r
    }

    /// The rows `r` (of one node) add to the group that sets the circuit's
    /// height (range checks per lane, rounded down).
    fn rows_in_tallest(&self, r: &Rows, tallest: Option<Group>) -> usize {
        match tallest {
            None => r.bank(),
            Some(Group::Range) => {
                (r.get(Group::Range) + r.get(Group::Lookups))
                    / self.params.range_lanes.max(1) as usize
            }
            Some(Group::RangeTable) => r.get(Group::RangeTable) + r.get(Group::LookupTable),
            Some(g) => r.get(g),
        }
    }
}

/// Each node's share of its shard's rows: the rows it adds to the column
/// group that sets its shard's height. What no single node adds (the
/// commitments of the shard's input and output, the tables, the rows halo2
/// reserves, a lane's unused end) is the shard's overhead, so for every
/// shard the nodes' shares plus its overhead are exactly its rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeRows {
    /// per node of the full plan (0 for inputs and constants)
    pub nodes: Vec<usize>,
    /// per shard
    pub overhead: Vec<usize>,
}

/// [`NodeRows`] of `plan` cut into `shards` (from [`super::partition`]).
pub fn node_rows(plan: &CheckedPlan, shards: &[SizedShard]) -> Result<NodeRows, ShardError> {
    let mut nodes = vec![0; plan.nodes.len()];
    let mut overhead = Vec::with_capacity(shards.len());
    for s in shards {
        let (sub, origin) = slice(plan, s.spec())?;
        let c = ShardCircuit::with_model(sub, Default::default(), 0, None)?;
        let (per_node, total) = c.sizing();
        let (group, height) = tallest(&total, c.params.range_lanes);
        let mut used = 0;
        for (j, &o) in origin.iter().enumerate() {
            let o = o as usize;
            if (s.start..s.end).contains(&o) {
                let share = c.rows_in_tallest(&per_node[j], group);
                nodes[o] = share;
                used += share;
            }
        }
        overhead.push((height + RESERVED).saturating_sub(used));
    }
    Ok(NodeRows { nodes, overhead })
}
