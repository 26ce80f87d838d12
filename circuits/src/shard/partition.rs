//! The partitioner: cuts a plan into shards, each a contiguous run of nodes
//! whose circuit fits in `2^max_k` rows.
//!
//! A cut after node `p` where tensor `p` is the one value crossing it
//! (every other tensor defined before the cut is either a constant or no
//! longer read) links consecutive shards through that committed tensor:
//! shard `i`'s output commitment is shard `i + 1`'s input commitment.
//! Inside a transformer layer no such point exists (the residual stream
//! stays live across attention and across the MLP), so a cut may also carry
//! a *bundle*: every tensor crossing it, flattened and concatenated into one
//! committed vector (at most [`MAX_BUNDLE`] values, [`MAX_BUNDLE_TENSORS`]
//! tensors). The shard before it ends with that concatenation (wiring:
//! Reshape, Concat); the shard after it starts from the vector, takes each
//! tensor back out (Gather) and clamps it to its own range (the vector's
//! range is the union of theirs; the values, committed by the shard that
//! computed them, are inside it, so the clamp changes nothing and restores
//! the range that sizes the chips downstream). The partitioner uses bundle
//! cuts only for a shard that no single-tensor cut can bound, so models
//! that cut without them are cut as before. Constants read after a cut are
//! copied into the shard that reads them (they become that shard's fixed
//! columns).
//!
//! Sizes come from [`ShardCircuit::rows`], the exact row count of the
//! shard's circuit, so a shard never needs a larger `k` than the partition
//! says.

use super::{model_id, ShardCircuit, ShardError};
use crate::plan::{CheckedPlan, InputQuant, Node, Op, Plan, PlanInput, PlanOutput, TensorId};
use crate::{OutputDequant, Trace};
use serde::{Deserialize, Serialize};

/// One shard: nodes `start..end` of the full plan. Its input is the plan's
/// input (shard 0) or tensor `start - 1`; its output is tensor `end - 1`
/// (the plan's output for the last shard).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    pub start: usize,
    pub end: usize,
}

/// A shard with its measured size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizedShard {
    pub start: usize,
    pub end: usize,
    pub rows: usize,
    pub k: u32,
}

impl SizedShard {
    pub fn spec(&self) -> ShardSpec {
        ShardSpec {
            start: self.start,
            end: self.end,
        }
    }
}

/// The most values a bundle cut may carry.
pub const MAX_BUNDLE: usize = 1 << 20;
/// The most tensors a bundle cut may carry.
pub const MAX_BUNDLE_TENSORS: usize = 16;

/// The marker in a slice's origin list of a node the slice added (a
/// bundle's input vector, the tensors taken out of it, the clamps, the
/// output concatenation): it stands for no node of the full plan.
pub const ADDED: TensorId = TensorId::MAX;

/// The last node reading each tensor (the plan's output: `n`).
fn last_uses(plan: &CheckedPlan) -> Vec<usize> {
    let n = plan.nodes.len();
    let mut last_use: Vec<usize> = (0..n).collect();
    for (i, node) in plan.nodes.iter().enumerate() {
        for &t in &node.inputs {
            last_use[t as usize] = last_use[t as usize].max(i);
        }
    }
    if let Some(o) = plan.outputs.first() {
        last_use[o.tensor as usize] = n;
    }
    last_use
}

/// The non-constant tensors crossing a cut after node `p`, in order.
pub fn crossing(plan: &CheckedPlan, p: usize) -> Vec<TensorId> {
    let last_use = last_uses(plan);
    (0..=p.min(plan.nodes.len().saturating_sub(1)))
        .filter(|&t| !plan.is_const(t as TensorId) && last_use[t] > p)
        .map(|t| t as TensorId)
        .collect()
}

/// The nodes after which the plan may be cut with a bundle (two or more
/// tensors crossing, within the bundle limits).
pub fn bundle_cut_points(plan: &CheckedPlan) -> Vec<usize> {
    let n = plan.nodes.len();
    let Some(out) = plan.outputs.first().map(|o| o.tensor as usize) else {
        return Vec::new();
    };
    let last_use = last_uses(plan);
    let mut cuts = Vec::new();
    let mut live: Vec<usize> = Vec::new();
    for p in 0..n {
        if !plan.is_const(p as TensorId) && last_use[p] > p {
            live.push(p);
        }
        live.retain(|&t| last_use[t] > p);
        let values: usize = live.iter().map(|&t| plan.info(t as TensorId).len()).sum();
        if live.len() >= 2
            && live.len() <= MAX_BUNDLE_TENSORS
            && values <= MAX_BUNDLE
            && p < out
            && !matches!(plan.nodes[p].op, Op::Input { .. } | Op::Const { .. })
        {
            cuts.push(p);
        }
    }
    cuts
}

/// The nodes after which the plan may be cut (tensor `p` alone crosses).
pub fn cut_points(plan: &CheckedPlan) -> Vec<usize> {
    let n = plan.nodes.len();
    let Some(out) = plan.outputs.first().map(|o| o.tensor as usize) else {
        return Vec::new();
    };
    // last reader of every tensor (the output is read "at the end")
    let mut last_use: Vec<usize> = (0..n).collect();
    for (i, node) in plan.nodes.iter().enumerate() {
        for &t in &node.inputs {
            last_use[t as usize] = last_use[t as usize].max(i);
        }
    }
    last_use[out] = n;
    // ends[j]: how many non-constant tensors stop being live after node j
    let mut ends = vec![0usize; n + 1];
    let mut live = 0usize;
    let mut cuts = Vec::new();
    for p in 0..n {
        if !plan.is_const(p as TensorId) && last_use[p] > p {
            live += 1;
            ends[last_use[p]] += 1;
        }
        live -= ends[p];
        let single = live == 1 && last_use[p] > p && !plan.is_const(p as TensorId);
        let useful = p < out && !matches!(plan.nodes[p].op, Op::Input { .. });
        if single && useful {
            cuts.push(p);
        }
    }
    cuts
}

/// The sub-plan of `spec`: a plan of its own (one input: the boundary
/// tensor, or the model's input for shard 0; one output) and, for every
/// tensor of the sub-plan, the tensor of the full plan it stands for.
pub fn slice(
    plan: &CheckedPlan,
    spec: ShardSpec,
) -> Result<(CheckedPlan, Vec<TensorId>), ShardError> {
    let n = plan.nodes.len();
    if spec.start >= spec.end || spec.end > n {
        return Err(ShardError::OutsidePlan {
            start: spec.start,
            end: spec.end,
            nodes: n,
        });
    }
    if plan.inputs.len() != 1 || plan.outputs.len() != 1 {
        return Err(ShardError::Arity {
            inputs: plan.inputs.len(),
            outputs: plan.outputs.len(),
        });
    }
    let mut sub = Plan {
        name: plan.name.clone(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        nodes: Vec::new(),
    };
    let mut origin: Vec<TensorId> = Vec::new();
    let mut map: std::collections::HashMap<TensorId, TensorId> = Default::default();
    let boundary = (spec.start > 0).then(|| (spec.start - 1) as TensorId);
    let bundle_in = match boundary {
        Some(b) => {
            let c = crossing(plan, b as usize);
            (c != [b]).then_some(c)
        }
        None => None,
    };
    if let Some(tensors) = &bundle_in {
        bundle_input(plan, tensors, &mut sub, &mut origin, &mut map)?;
    } else if let Some(b) = boundary {
        let info = plan.info(b).clone();
        sub.inputs.push(PlanInput {
            name: format!("tensor {b}"),
            shape: info.shape.clone(),
            range: info.range,
            quant: InputQuant::Integer,
        });
        sub.nodes.push(Node {
            name: format!("boundary {b}"),
            op: Op::Input { index: 0 },
            inputs: Vec::new(),
            info,
        });
        map.insert(b, 0);
        origin.push(b);
    } else {
        sub.inputs = plan.inputs.clone();
    }
    for i in spec.start..spec.end {
        let node = &plan.nodes[i];
        let mut inputs = Vec::with_capacity(node.inputs.len());
        for &t in &node.inputs {
            let mapped = match map.get(&t) {
                Some(&m) => m,
                None if plan.is_const(t) => {
                    let id = sub.nodes.len() as TensorId;
                    sub.nodes.push(plan.nodes[t as usize].clone());
                    map.insert(t, id);
                    origin.push(t);
                    id
                }
                None => {
                    return Err(ShardError::NotCrossing {
                        node: i,
                        name: node.name.clone(),
                        tensor: t,
                        start: spec.start,
                    })
                }
            };
            inputs.push(mapped);
        }
        let id = sub.nodes.len() as TensorId;
        sub.nodes.push(Node {
            inputs,
            ..node.clone()
        });
        map.insert(i as TensorId, id);
        origin.push(i as TensorId);
    }
    let out = if spec.end == n {
        let o = &plan.outputs[0];
        let &t = map.get(&o.tensor).ok_or(ShardError::NoOutput(o.tensor))?;
        PlanOutput {
            tensor: t,
            ..o.clone()
        }
    } else {
        let last = (spec.end - 1) as TensorId;
        let c = crossing(plan, spec.end - 1);
        let tensor = if c == [last] {
            map[&last]
        } else {
            bundle_output(plan, &c, &mut sub, &mut origin, &map)?
        };
        PlanOutput {
            name: format!("tensor {last}"),
            tensor,
            dequant: OutputDequant::Integer,
        }
    };
    sub.outputs.push(out);
    let checked = CheckedPlan::new(sub).map_err(ShardError::SubPlan)?;
    Ok((checked, origin))
}

fn push_added(
    sub: &mut Plan,
    origin: &mut Vec<TensorId>,
    name: String,
    op: Op,
    inputs: Vec<TensorId>,
    shape: Option<Vec<usize>>,
) -> Result<TensorId, ShardError> {
    let id = sub
        .push(name, op, inputs, shape)
        .map_err(ShardError::SubPlan)?;
    origin.push(ADDED);
    Ok(id)
}

/// A bundle's check: within the limits of [`bundle_cut_points`].
fn bundle_ok(plan: &CheckedPlan, tensors: &[TensorId]) -> bool {
    let values: usize = tensors.iter().map(|&t| plan.info(t).len()).sum();
    tensors.len() <= MAX_BUNDLE_TENSORS && values <= MAX_BUNDLE && !tensors.is_empty()
}

/// The input of a shard after a bundle cut: the concatenated vector, each
/// tensor taken out of it and clamped to its own range.
fn bundle_input(
    plan: &CheckedPlan,
    tensors: &[TensorId],
    sub: &mut Plan,
    origin: &mut Vec<TensorId>,
    map: &mut std::collections::HashMap<TensorId, TensorId>,
) -> Result<(), ShardError> {
    if !bundle_ok(plan, tensors) {
        return Err(ShardError::BundleTooLarge {
            tensors: tensors.len(),
            values: tensors.iter().map(|&t| plan.info(t).len()).sum(),
        });
    }
    let total: usize = tensors.iter().map(|&t| plan.info(t).len()).sum();
    let lo = tensors
        .iter()
        .map(|&t| plan.info(t).range.lo)
        .min()
        .unwrap_or(0);
    let hi = tensors
        .iter()
        .map(|&t| plan.info(t).range.hi)
        .max()
        .unwrap_or(0);
    let names: Vec<String> = tensors.iter().map(|t| t.to_string()).collect();
    sub.inputs.push(PlanInput {
        name: format!("tensors {}", names.join(", ")),
        shape: vec![total],
        range: crate::plan::IntRange { lo, hi },
        quant: InputQuant::Integer,
    });
    let input = push_added(
        sub,
        origin,
        format!("bundle {}", names.join(", ")),
        Op::Input { index: 0 },
        vec![],
        None,
    )?;
    let mut offset = 0u32;
    for &t in tensors {
        let info = plan.info(t).clone();
        let len = info.len() as u32;
        let name = format!("bundle: tensor {t}");
        let map_t = (offset..offset + len).collect();
        offset += len;
        let mut id = push_added(
            sub,
            origin,
            name.clone(),
            Op::Gather { map: map_t },
            vec![input],
            Some(info.shape.clone()),
        )?;
        if (info.range.lo, info.range.hi) != (lo, hi) {
            let op = Op::Clamp {
                lo: info.range.lo,
                hi: info.range.hi,
            };
            id = push_added(sub, origin, name, op, vec![id], None)?;
        }
        map.insert(t, id);
    }
    Ok(())
}

/// The output of a shard before a bundle cut: every crossing tensor
/// flattened, concatenated in order.
fn bundle_output(
    plan: &CheckedPlan,
    tensors: &[TensorId],
    sub: &mut Plan,
    origin: &mut Vec<TensorId>,
    map: &std::collections::HashMap<TensorId, TensorId>,
) -> Result<TensorId, ShardError> {
    if !bundle_ok(plan, tensors) {
        return Err(ShardError::BundleTooLarge {
            tensors: tensors.len(),
            values: tensors.iter().map(|&t| plan.info(t).len()).sum(),
        });
    }
    let mut parts = Vec::with_capacity(tensors.len());
    for &t in tensors {
        let &m = map.get(&t).ok_or(ShardError::NoOutput(t))?;
        let len = plan.info(t).len();
        parts.push(push_added(
            sub,
            origin,
            format!("bundle: tensor {t}"),
            Op::Reshape,
            vec![m],
            Some(vec![len]),
        )?);
    }
    push_added(
        sub,
        origin,
        "bundle".into(),
        Op::Concat { axis: 0 },
        parts,
        None,
    )
}

impl ShardCircuit {
    /// The circuit of shard `index` (nodes `spec`) of `plan`; its model id is
    /// the full plan's. `trace` is an execution of the full plan (None for
    /// key generation).
    pub fn for_shard(
        plan: &CheckedPlan,
        spec: ShardSpec,
        index: u32,
        trace: Option<&Trace>,
    ) -> Result<ShardCircuit, ShardError> {
        let (sub, origin) = slice(plan, spec)?;
        let sub_trace = match trace {
            Some(t) => Some(sub_trace(plan, spec, &sub, &origin, t)?),
            None => None,
        };
        // the full plan's id (its hash, computed once per plan), not the
        // slice's: a slice is never hashed
        ShardCircuit::with_model(sub, model_id(plan), index, sub_trace.as_ref())
    }
}

/// The trace of a slice: the full plan's values where the slice's nodes
/// stand for its nodes, the added nodes evaluated (a bundle's vector is
/// the crossing tensors' values, concatenated).
fn sub_trace(
    plan: &CheckedPlan,
    spec: ShardSpec,
    sub: &CheckedPlan,
    origin: &[TensorId],
    t: &Trace,
) -> Result<Trace, ShardError> {
    let mut values: Vec<ndarray::ArrayD<i64>> = Vec::with_capacity(origin.len());
    for (j, &o) in origin.iter().enumerate() {
        let v = if o != ADDED {
            t.get(o).clone()
        } else if matches!(sub.nodes[j].op, Op::Input { .. }) {
            let flat: Vec<i64> = crossing(plan, spec.start - 1)
                .iter()
                .flat_map(|&c| t.get(c).iter().copied().collect::<Vec<_>>())
                .collect();
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[flat.len()]), flat)
                .map_err(|_| ShardError::NoOutput(j as TensorId))?
        } else {
            crate::exec::eval_node(j, &sub.nodes[j], &values)
                .map_err(|_| ShardError::NoOutput(j as TensorId))?
        };
        values.push(v);
    }
    Ok(Trace { values })
}

/// Checks that `shards` cut `plan` into contiguous shards at allowed points.
pub fn check_partition(plan: &CheckedPlan, shards: &[ShardSpec]) -> Result<(), ShardError> {
    let mut cuts = cut_points(plan);
    cuts.extend(bundle_cut_points(plan));
    cuts.sort_unstable();
    let mut at = 0;
    for (i, s) in shards.iter().enumerate() {
        if s.start != at || s.end <= s.start {
            return Err(ShardError::Gap {
                shard: i,
                start: s.start,
                end: s.end,
                expected: at,
            });
        }
        if s.end < plan.nodes.len() && cuts.binary_search(&(s.end - 1)).is_err() {
            return Err(ShardError::NotACutPoint {
                shard: i,
                node: s.end - 1,
            });
        }
        at = s.end;
    }
    if at != plan.nodes.len() {
        return Err(ShardError::Uncovered {
            covered: at,
            nodes: plan.nodes.len(),
        });
    }
    Ok(())
}

/// Cuts `plan` into as few shards as a greedy sweep finds, each of at most
/// `2^max_k` rows.
pub fn partition(plan: &CheckedPlan, max_k: u32) -> Result<Vec<SizedShard>, ShardError> {
    greedy(plan, max_k, 1usize << max_k.min(40))
}

/// Cuts `plan` into at least `shards` shards of at most `2^max_k` rows each
/// (to spread proving over several machines): the greedy partition, then the
/// largest shard split at its most balanced cut point, until there are
/// enough.
pub fn partition_into(
    plan: &CheckedPlan,
    max_k: u32,
    shards: usize,
) -> Result<Vec<SizedShard>, ShardError> {
    let first = partition(plan, max_k)?;
    if first.len() >= shards {
        return Ok(first);
    }
    let most = cut_points(plan).len() + 1;
    if shards > most {
        return Err(ShardError::TooManyShards {
            most,
            asked: shards,
        });
    }
    // split the largest divisible shard at its most balanced cut until
    // there are enough
    let cuts = cut_points(plan);
    let mut parts = first;
    while parts.len() < shards {
        let mut best: Option<(usize, SizedShard, SizedShard)> = None;
        for (i, p) in parts.iter().enumerate() {
            for &c in cuts.iter().filter(|&&c| c + 1 > p.start && c + 1 < p.end) {
                let (a, b) = (sized(plan, p.start, c + 1)?, sized(plan, c + 1, p.end)?);
                let key = |x: &(usize, SizedShard, SizedShard)| {
                    (parts[x.0].rows, std::cmp::Reverse(x.1.rows.max(x.2.rows)))
                };
                let cand = (i, a, b);
                if best.as_ref().is_none_or(|bb| key(&cand) > key(bb)) {
                    best = Some(cand);
                }
            }
        }
        let Some((i, a, b)) = best else {
            return Err(ShardError::NoCut(shards));
        };
        parts.splice(i..=i, [a, b]);
    }
    Ok(parts)
}

fn sized(plan: &CheckedPlan, start: usize, end: usize) -> Result<SizedShard, ShardError> {
    let c = ShardCircuit::for_shard(plan, ShardSpec { start, end }, 0, None)?;
    Ok(SizedShard {
        start,
        end,
        rows: c.rows(),
        k: c.k(),
    })
}

/// The largest shard from `start` ending at a cut of `all` before `limit`
/// (bundle cuts included) within `max_k` and `budget`, if any: the search
/// over every cut runs only where single-tensor cuts could not bound a
/// shard, and grows the shard until it no longer fits.
fn bundled(
    plan: &CheckedPlan,
    start: usize,
    limit: usize,
    all: &[usize],
    max_k: u32,
    budget: usize,
) -> Result<Option<SizedShard>, ShardError> {
    let mut best = None;
    let mut tried = 0;
    for &end in all.iter().filter(|&&e| e > start && e < limit) {
        let s = sized(plan, start, end)?;
        if s.k > max_k || s.rows > budget {
            // (past a cut at a wide accumulator, one after its
            // requantization can fit)
            tried += 1;
            if best.is_none() && tried < LOOKAHEAD {
                continue;
            }
            break;
        }
        best = Some(s);
    }
    Ok(best)
}

/// The first few of `names` (an error line stays one readable line).
fn short_list(names: &[&str]) -> String {
    const SHOWN: usize = 6;
    let mut s = names[..names.len().min(SHOWN)].join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}

/// How many cut points past the first that does not fit the greedy sweep
/// tries before it reports a shard too large.
const LOOKAHEAD: usize = 4;

/// Greedy: each shard takes nodes up to the last cut point that keeps it
/// within `budget` rows and `2^max_k` (a bundle cut where no single-tensor
/// cut can).
pub(crate) fn greedy(
    plan: &CheckedPlan,
    max_k: u32,
    budget: usize,
) -> Result<Vec<SizedShard>, ShardError> {
    let n = plan.nodes.len();
    let ends: Vec<usize> = cut_points(plan)
        .into_iter()
        .map(|p| p + 1)
        .chain(std::iter::once(n))
        .collect();
    // every cut, bundles included (for shards single cuts cannot bound)
    let mut all: Vec<usize> = ends.clone();
    all.extend(bundle_cut_points(plan).into_iter().map(|p| p + 1));
    all.sort_unstable();
    all.dedup();
    let mut shards = Vec::new();
    let mut start = 0;
    while start < n {
        let mut best: Option<SizedShard> = None;
        let mut tried = 0;
        for &end in ends.iter().filter(|&&e| e > start) {
            let s = sized(plan, start, end)?;
            if s.k > max_k || s.rows > budget {
                if best.is_none() {
                    best = bundled(plan, start, end, &all, max_k, budget)?;
                }
                // a longer shard can be smaller: one that ends at a wide
                // accumulator commits it, one that ends after its
                // requantization commits int8 values
                tried += 1;
                if best.is_none() && tried < LOOKAHEAD && end < n {
                    continue;
                }
                if best.is_none() {
                    let names: Vec<&str> = plan.nodes[start..end]
                        .iter()
                        .filter(|n| !matches!(n.op, Op::Const { .. } | Op::Input { .. }))
                        .map(|n| n.name.as_str())
                        .collect();
                    return Err(ShardError::TooLarge {
                        start,
                        end,
                        names: short_list(&names),
                        k: s.k,
                        max_k,
                    });
                }
                break;
            }
            best = Some(s);
        }
        let Some(s) = best else {
            return Err(ShardError::NoCutAfter(start));
        };
        start = s.end;
        shards.push(s);
    }
    Ok(shards)
}
