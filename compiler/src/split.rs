//! Column blocks of products too large for one shard.
//!
//! A product by a constant `[K, N]` costs about `K N / PACK` rows on its own
//! (the Freivalds chains over the weights, `chips::matmul`), so a large
//! layer (Qwen2.5-0.5B's MLP: `896 x 4864`) can need more rows than
//! `--max-log-rows` allows even alone in a shard, and the partitioner, which
//! cuts between nodes, cannot help. When it reports such a node, the product
//! is split along its output columns, `A B = [A B_1 | ... | A B_b]`: products
//! by the column blocks of `B` (with their zero points and bias; as few
//! blocks as keep each within half a shard), joined by a Concat (wiring, no
//! rows), and the cut is tried again. The values are the
//! same integers (each output column is the same dot product), so the trace,
//! the requantization after the product and the model's output do not
//! change; the partitioner then places the blocks in shards of their own,
//! chained like any other cut (a bundle carries the finished blocks).
//!
//! Plans that cut as they are are left untouched (their model hash does not
//! change); a plan is rewritten only where it could not be proven otherwise,
//! and only if the blocks then cut (else the error names the plan as it was).

use crate::error::CompileError;
use zkinf_circuits::plan::{CheckedPlan, Op, Plan, TensorId};
use zkinf_circuits::shard::{partition, ShardError, SizedShard};

/// The most products split before the cut gives up (and reports the node).
const MAX_SPLITS: usize = 64;

/// The most blocks one product is split into: every block but the last is
/// still live where the next one is computed, and a cut carries at most 16
/// tensors (`MAX_BUNDLE_TENSORS`), the input among them.
const MAX_BLOCKS: usize = 12;

/// Rows a circuit of `2^k` rows can use (halo2 reserves the last ones).
fn usable(k: u32) -> usize {
    (1usize << k) - 16
}

/// `plan` with every constant product that cannot fit a shard of
/// `2^max_log_rows` rows on its own split into column blocks; for each
/// tensor of the input plan, its id in the returned one (a split product's
/// is the Concat of its blocks; a constant only it read has none:
/// `TensorId::MAX`); and the returned plan's cut at `max_log_rows` when one
/// was found (so compile does not cut it again).
pub(crate) fn split_products(plan: CheckedPlan, max_log_rows: u32) -> Result<Split, CompileError> {
    let identity: Vec<TensorId> = (0..plan.nodes.len() as TensorId).collect();
    let mut original = None;
    let mut map = identity.clone();
    let mut plan = plan;
    for _ in 0..MAX_SPLITS {
        let (start, end) = match partition(&plan, max_log_rows) {
            Ok(cut) => return Ok((plan, map, Some(cut))),
            Err(ShardError::TooLarge { start, end, .. }) => (start, end),
            Err(_) => break,
        };
        // the largest product among the nodes that do not fit whose own
        // Freivalds rows take most of a shard
        let Some(i) = (start..end)
            .filter(|&i| splittable(&plan, i))
            .filter(|&i| product_rows(&plan, i, None) > usable(max_log_rows) * 3 / 4)
            .max_by_key(|&i| product_rows(&plan, i, None))
        else {
            break;
        };
        let n = plan.info(plan.nodes[i].inputs[1]).shape[1];
        let fits =
            |b: usize| product_rows(&plan, i, Some(n.div_ceil(b))) <= usable(max_log_rows) / 2;
        let blocks = (2..=MAX_BLOCKS.min(n))
            .find(|&b| fits(b))
            .unwrap_or(MAX_BLOCKS.min(n));
        let (next, step) = split(&plan, i, blocks)?;
        for t in map.iter_mut() {
            *t = step.get(*t as usize).copied().unwrap_or(TensorId::MAX);
        }
        original.get_or_insert(plan);
        plan = next;
    }
    // blocks that still do not cut help no one: the model is reported (and
    // hashed) as it was
    Ok(match original {
        Some(o) => (o, identity, None),
        None => (plan, map, None),
    })
}

/// [`split_products`]' result: the plan, the new id of each old tensor, and
/// the plan's cut when it was found.
pub(crate) type Split = (CheckedPlan, Vec<TensorId>, Option<Vec<SizedShard>>);

/// The Freivalds rows of product `i` (with `n` output columns instead of
/// its own, if given).
fn product_rows(plan: &CheckedPlan, i: usize, n: Option<usize>) -> usize {
    let node = &plan.nodes[i];
    let b = &plan.info(node.inputs[1]).shape;
    let (k, cols) = (b[0], b[1]);
    let m = plan.info(node.inputs[0]).len() / k.max(1);
    zkinf_circuits::chips::matmul::rows_for(m, k, n.unwrap_or(cols))
}

/// A product by a constant 2-D `B` of at least two columns (and a constant
/// bias, if any).
fn splittable(plan: &CheckedPlan, i: usize) -> bool {
    let n = &plan.nodes[i];
    matches!(n.op, Op::MatMul { .. })
        && plan.is_const(n.inputs[1])
        && plan.info(n.inputs[1]).shape.len() == 2
        && plan.info(n.inputs[1]).shape[1] >= 2
        && n.inputs.get(2).is_none_or(|&b| plan.is_const(b))
}

/// The constant values of tensor `t`.
fn values(plan: &Plan, t: TensorId) -> &[i64] {
    match &plan.nodes[t as usize].op {
        Op::Const { values } => values,
        _ => &[],
    }
}

/// The Rescale that is the only reader of product `i`, when it
/// requantizes per output column (or with one multiplier): each block then
/// carries its own requantization, and the blocks' int8 outputs are what
/// crosses a cut between them, not wide accumulators.
fn sole_rescale(plan: &Plan, i: usize) -> Option<usize> {
    let t = i as TensorId;
    if plan.outputs.iter().any(|o| o.tensor == t) {
        return None;
    }
    let mut readers = plan
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.inputs.contains(&t));
    let (r, node) = readers.next()?;
    if readers.next().is_some() || node.inputs != [t] {
        return None;
    }
    let last = (plan.nodes[i].info.shape.len() - 1) as u32;
    match &node.op {
        Op::Rescale {
            mult, bias, axis, ..
        } if *axis == last || (mult.len() <= 1 && bias.len() <= 1) => Some(r),
        _ => None,
    }
}

/// Entry `lo..hi` of a per-column parameter (one entry: all columns).
fn columns(v: &[i64], lo: usize, hi: usize) -> Vec<i64> {
    if v.len() > 1 {
        v[lo..hi].to_vec()
    } else {
        v.to_vec()
    }
}

/// `plan` with product `i` as `blocks` column blocks (each with its own
/// copy of the product's sole requantization, if it has one) joined by a
/// Concat; the new id of every tensor.
fn split(
    plan: &CheckedPlan,
    i: usize,
    blocks: usize,
) -> Result<(CheckedPlan, Vec<TensorId>), CompileError> {
    let src: &Plan = plan;
    let mut out = Plan {
        name: src.name.clone(),
        inputs: src.inputs.clone(),
        outputs: src.outputs.clone(),
        nodes: Vec::with_capacity(src.nodes.len() + 4 * blocks),
    };
    let rescale = sole_rescale(src, i);
    // the product's constants that nothing else reads are left out (their
    // blocks replace them), and with a sole requantization the product is
    // built where that is, block by block
    let only_here = |t: TensorId| {
        src.outputs.iter().all(|o| o.tensor != t)
            && src
                .nodes
                .iter()
                .enumerate()
                .all(|(j, n)| j == i || !n.inputs.contains(&t))
    };
    let mut dropped: Vec<TensorId> = src.nodes[i].inputs[1..]
        .iter()
        .copied()
        .filter(|&t| only_here(t))
        .collect();
    if rescale.is_some() {
        dropped.push(i as TensorId);
    }
    let at = rescale.unwrap_or(i);
    let mut map: Vec<TensorId> = Vec::with_capacity(src.nodes.len());
    for (j, node) in src.nodes.iter().enumerate() {
        if dropped.contains(&(j as TensorId)) {
            // (never read again: no id)
            map.push(TensorId::MAX);
            continue;
        }
        if j != at {
            let inputs: Vec<TensorId> = node.inputs.iter().map(|&t| map[t as usize]).collect();
            let hint = matches!(node.op, Op::Const { .. } | Op::Reshape | Op::Gather { .. })
                .then(|| node.info.shape.clone());
            map.push(out.push(node.name.clone(), node.op.clone(), inputs, hint)?);
            continue;
        }
        let product = &src.nodes[i];
        let Op::MatMul { a_zero, b_zero } = &product.op else {
            unreachable!("only products are split")
        };
        let a = map[product.inputs[0] as usize];
        let shape = &src.info(product.inputs[1]).shape;
        let (k, n) = (shape[0], shape[1]);
        let b = values(src, product.inputs[1]);
        let bias = product.inputs.get(2).map(|&t| values(src, t));
        let width = n.div_ceil(blocks);
        let mut parts = Vec::with_capacity(blocks);
        for lo in (0..n).step_by(width) {
            let hi = (lo + width).min(n);
            let tag = format!("{}.cols{lo}-{hi}", product.name);
            let w: Vec<i64> = (0..k)
                .flat_map(|r| b[r * n + lo..r * n + hi].iter().copied())
                .collect();
            let wt = out.push(
                format!("{tag}.weight"),
                Op::Const { values: w },
                vec![],
                Some(vec![k, hi - lo]),
            )?;
            let mut ins = vec![a, wt];
            if let Some(bv) = bias {
                ins.push(out.push(
                    format!("{tag}.bias"),
                    Op::Const {
                        values: bv[lo..hi].to_vec(),
                    },
                    vec![],
                    Some(vec![hi - lo]),
                )?);
            }
            let mut part = out.push(
                tag,
                Op::MatMul {
                    a_zero: *a_zero,
                    b_zero: columns(b_zero, lo, hi),
                },
                ins,
                None,
            )?;
            if let Some(r) = rescale {
                // the requantization of these columns: its per-column
                // multipliers and biases sliced
                let mut op = src.nodes[r].op.clone();
                if let Op::Rescale { mult, bias, .. } = &mut op {
                    *mult = columns(mult, lo, hi);
                    *bias = columns(bias, lo, hi);
                }
                part = out.push(
                    format!("{}.cols{lo}-{hi}", src.nodes[r].name),
                    op,
                    vec![part],
                    None,
                )?;
            }
            parts.push(part);
        }
        let axis = (product.info.shape.len() - 1) as u32;
        map.push(out.push(node.name.clone(), Op::Concat { axis }, parts, None)?);
    }
    for o in out.outputs.iter_mut() {
        o.tensor = map[o.tensor as usize];
    }
    Ok((CheckedPlan::new(out)?, map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkinf_circuits::plan::{InputQuant, IntRange, OutputDequant, PlanInput, PlanOutput};

    /// `rescale(x W + bias)` for `x: [m, k]` and a `[k, n]` int8 `W`.
    pub(super) fn wide(m: usize, k: usize, n: usize) -> CheckedPlan {
        let mut p = Plan {
            name: "wide".into(),
            inputs: vec![PlanInput {
                name: "x".into(),
                shape: vec![m, k],
                range: IntRange { lo: -128, hi: 127 },
                quant: InputQuant::Integer,
            }],
            outputs: vec![],
            nodes: vec![],
        };
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 256) as i64 - 128
        };
        let x = p.push("x", Op::Input { index: 0 }, vec![], None).unwrap();
        let w: Vec<i64> = (0..k * n).map(|_| next()).collect();
        let b: Vec<i64> = (0..n).map(|_| next() * 64).collect();
        let w = p
            .push("w", Op::Const { values: w }, vec![], Some(vec![k, n]))
            .unwrap();
        let b = p
            .push("b", Op::Const { values: b }, vec![], Some(vec![n]))
            .unwrap();
        let y = p
            .push(
                "mm",
                Op::MatMul {
                    a_zero: 0,
                    b_zero: vec![3],
                },
                vec![x, w, b],
                None,
            )
            .unwrap();
        let mult: Vec<i64> = (0..n as i64).map(|j| 700 + 13 * j).collect();
        let r = p
            .push(
                "rq",
                Op::Rescale {
                    in_zero: 0,
                    mult,
                    bias: vec![],
                    shift: 20,
                    axis: 1,
                    out_zero: -5,
                    lo: -128,
                    hi: 127,
                },
                vec![y],
                None,
            )
            .unwrap();
        p.outputs.push(PlanOutput {
            name: "y".into(),
            tensor: r,
            dequant: OutputDequant::Integer,
        });
        CheckedPlan::new(p).unwrap()
    }

    fn run(plan: &CheckedPlan, seed: i64) -> Vec<i64> {
        let shape = plan.inputs[0].shape.clone();
        let n: usize = shape.iter().product();
        let x: Vec<i64> = (0..n as i64)
            .map(|i| (i * 37 + seed * 101) % 256 - 128)
            .collect();
        let x = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), x).unwrap();
        let trace = zkinf_circuits::execute(plan, vec![x]).unwrap();
        trace.get(plan.outputs[0].tensor).iter().copied().collect()
    }

    #[test]
    fn a_product_too_large_for_a_shard_becomes_column_blocks_of_the_same_values() {
        let plan = wide(1, 128, 512);
        assert!(matches!(
            partition(&plan, 12),
            Err(ShardError::TooLarge { .. })
        ));
        let (split, moved, cut) = split_products(plan.clone(), 12).unwrap();
        let shards = partition(&split, 12).expect("the blocks cut");
        assert_eq!(cut, Some(shards.clone()));
        assert!(
            shards.len() >= 2 && shards.iter().all(|s| s.k <= 12),
            "{shards:?}"
        );
        // blocks of the product, each with its requantization, joined once
        let blocks = split
            .nodes
            .iter()
            .filter(|n| matches!(n.op, Op::MatMul { .. }))
            .count();
        assert!(blocks >= 2, "{blocks} blocks");
        assert_eq!(
            split
                .nodes
                .iter()
                .filter(|n| matches!(n.op, Op::Rescale { .. }))
                .count(),
            blocks
        );
        let out = moved[plan.outputs[0].tensor as usize];
        assert_eq!(split.outputs[0].tensor, out);
        assert!(matches!(split.nodes[out as usize].op, Op::Concat { .. }));
        for seed in 0..4 {
            assert_eq!(run(&plan, seed), run(&split, seed), "input {seed}");
        }
    }

    /// `plan` comes back as it is, every tensor keeping its id.
    fn untouched(plan: CheckedPlan, max_log_rows: u32) {
        let (same, moved, _) = split_products(plan.clone(), max_log_rows).unwrap();
        assert_eq!(same, plan);
        assert!(moved.iter().enumerate().all(|(i, &t)| t as usize == i));
    }

    #[test]
    fn blocks_that_still_do_not_cut_leave_the_plan_as_it_was() {
        // at 2^10 rows the blocks' boundaries alone overflow a shard
        untouched(wide(1, 128, 512), 10);
    }

    #[test]
    fn a_plan_that_cuts_is_left_as_it_is() {
        untouched(wide(2, 16, 32), 12);
    }
}
