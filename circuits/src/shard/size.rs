//! Sizing a shard circuit before laying it out: the rows each column group
//! uses (the chips' exact counts), the constants read as cells, the number
//! of range lanes, and so `k`. The partitioner cuts plans by these numbers,
//! so a shard never needs a larger `k` than they say.

use super::{pool_windows, softmax_table, Cursor, ShardCircuit, MAX_RANGE_LANES};
use crate::chips::divide::sum_rows;
use crate::chips::range::rows_for as range_rows;
use crate::plan::{Op, TensorId};

/// Groups of [`ShardCircuit::row_breakdown`] that share the bank's rows.
const BANK_GROUPS: [&str; 5] = [
    "inputs and constants",
    "commitment packing",
    "rescale and divide",
    "maxpool",
    "poseidon",
];

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

    /// The constants laid out as cells: read as cells by a node, or the
    /// shard's output.
    pub(super) fn cell_constants(&self) -> std::collections::BTreeSet<TensorId> {
        (0..self.plan.nodes.len())
            .flat_map(|i| self.cell_operands(i))
            .chain([self.plan.outputs[0].tensor])
            .filter(|&t| self.plan.is_const(t))
            .collect()
    }

    /// The smallest k whose usable rows hold this circuit.
    pub fn k(&self) -> u32 {
        self.rows().next_power_of_two().trailing_zeros().max(9)
    }

    /// The rows this circuit uses (the longest column group, plus the rows
    /// halo2 reserves for blinding).
    pub fn rows(&self) -> usize {
        Self::height(&self.row_breakdown(), self.params.range_lanes)
    }

    /// Rows of the tallest column group when the range checks spread over
    /// `lanes` lanes (a lane wastes less than one check's rows at its end);
    /// the bank's groups stack in its columns.
    fn height(groups: &[(&'static str, usize)], lanes: u32) -> usize {
        let bank: usize = groups
            .iter()
            .filter(|(g, _)| BANK_GROUPS.contains(g))
            .map(|&(_, r)| r)
            .sum();
        groups
            .iter()
            .filter(|(g, _)| !BANK_GROUPS.contains(g))
            .map(|&(g, r)| match (g, lanes) {
                ("range checks", 1) => r,
                ("range checks", l) => r.div_ceil(l as usize) + crate::chips::range::MAX_CHECK_ROWS,
                _ => r,
            })
            .chain([bank])
            .max()
            .unwrap_or(0)
            + 16
    }

    /// The number of range lanes with the least estimated proving work:
    /// each lane adds a column and a lookup argument (about four columns of
    /// work), and may halve the rows of a circuit the range checks dominate.
    pub(super) fn best_lanes(&self) -> u32 {
        let groups = self.row_breakdown();
        let k_of = |rows: usize| rows.next_power_of_two().trailing_zeros().max(9);
        (1..=MAX_RANGE_LANES)
            .min_by_key(|&l| (30 + 4 * l as u64) << k_of(Self::height(&groups, l)))
            .unwrap_or(1)
    }

    /// Rows used in each column group (the range checks counted in one
    /// lane; the circuit's height is set by the tallest group).
    pub fn row_breakdown(&self) -> Vec<(&'static str, usize)> {
        let mut c = Cursor::default();
        let (mut pack, mut poseidon) = (0, 0);
        let mut range = 0;
        let mut rescale = 0;
        let mut matmul = 0;
        let mut maxpool = 0;
        for n in &self.plan.nodes {
            match &n.op {
                Op::MatMul { .. } => {
                    let a = self.plan.info(n.inputs[0]);
                    let b = self.plan.info(n.inputs[1]);
                    let k = a.shape[a.shape.len() - 1];
                    let nn = b.shape[b.shape.len() - 1];
                    let rows = a.len() / k.max(1);
                    let witness = !self.plan.is_const(n.inputs[1]);
                    let product = |m, k, nn| {
                        if witness {
                            crate::chips::matmul::rows_for_witness(m, k, nn)
                        } else {
                            crate::chips::matmul::rows_for(m, k, nn)
                        }
                    };
                    matmul += if b.shape.len() > 2 {
                        let m = a.shape[a.shape.len() - 2];
                        (rows / m.max(1)) * product(m, k, nn)
                    } else {
                        product(rows, k, nn)
                    };
                }
                Op::Conv { group, .. } => {
                    let w = self.plan.info(n.inputs[1]);
                    let kp: usize = w.shape[1..].iter().product();
                    let positions = n.info.len() / w.shape[0].max(1);
                    let cog = w.shape[0] / (*group).max(1);
                    matmul += group * crate::chips::matmul::rows_for(positions, kp, cog);
                }
                Op::MaxPool {
                    kernel,
                    strides,
                    pads,
                    dilations,
                    ..
                } => {
                    let taps: usize = pool_windows(
                        &self.plan.info(n.inputs[0]).shape,
                        &n.info.shape,
                        *kernel,
                        *strides,
                        *pads,
                        *dilations,
                    )
                    .iter()
                    .map(Vec::len)
                    .sum();
                    let (rows, rrows) =
                        crate::chips::maxpool::rows_for_window(taps, self.pool_bits(n));
                    maxpool += rows;
                    range += rrows;
                }
                Op::Lookup { table, .. } => {
                    c.lookup += n.info.len();
                    c.table += table.len();
                }
                Op::AvgPool { .. } => {
                    for (p, taps) in Self::division_params(&self.plan, n) {
                        rescale += sum_rows(taps) + 1;
                        range += p.range_rows();
                    }
                }
                Op::Softmax { axis, .. } => {
                    let x = self.plan.info(n.inputs[0]);
                    let len = x.shape[*axis as usize];
                    let lanes = x.len() / len.max(1);
                    let (p, _) = &Self::division_params(&self.plan, n)[0];
                    let (prows, prange) =
                        crate::chips::maxpool::rows_for_window(len, self.pool_bits(n));
                    maxpool += lanes * prows;
                    range += lanes * (prange + p.range_rows() * len + p.divisor_rows());
                    rescale += lanes * (2 * len + sum_rows(len) + len);
                    c.lookup += x.len();
                    c.table += softmax_table(&self.plan, n).len();
                }
                Op::Rescale { .. } | Op::Add { .. } | Op::Mul { .. } | Op::Clamp { .. } => {
                    rescale += crate::chips::rescale::ROWS * n.info.len();
                    range += self.rescale_params(n).range_rows() * n.info.len();
                }
                _ => {}
            }
        }
        let input = self.input_tensor();
        // the src column: input values, model id, index, conv padding and
        // the constants read as cells
        let mut src = self.plan.info(input).len() + 2;
        src += self
            .plan
            .nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Conv { .. }))
            .count();
        src += self
            .cell_constants()
            .iter()
            .map(|&t| self.plan.info(t).len())
            .sum::<usize>();
        for t in [input, self.plan.outputs[0].tensor] {
            let p = self.packing(t);
            let len = self.plan.info(t).len();
            pack += len + len.div_ceil(p.per_element) * 2;
            range += len * range_rows(p.bits);
            let elements = 1 + len.div_ceil(p.per_element);
            poseidon += 1 + elements.div_ceil(2) * crate::chips::poseidon::ROWS_PER_PERMUTATION + 1;
        }
        vec![
            ("inputs and constants", src),
            ("commitment packing", pack),
            ("range checks", range),
            ("rescale and divide", rescale),
            ("freivalds", matmul),
            ("maxpool", maxpool),
            ("poseidon", poseidon),
            ("lookups", c.lookup),
            // the tagged table starts after its all-zero row
            ("lookup table", 1 + c.table),
            ("range table", crate::chips::range::TABLE_ROWS + 1),
        ]
    }
}
