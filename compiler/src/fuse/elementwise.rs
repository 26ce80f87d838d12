//! One-input elementwise functions: a connected set of elementwise nodes
//! (Add, Sub, Mul, Div, Pow by a constant, Sigmoid, Tanh, Erf, ...) whose
//! operands are scalar constants or tensors computed inside the set from
//! one tensor `x` becomes one `zkinf.Elementwise(x)`, proven as one table
//! over `x`'s quantized values. GELU (`0.5 x (1 + erf(x / sqrt 2))`, and
//! its tanh form), SiLU (`x · sigmoid(x)`), QuickGELU, Mish and the like
//! are such sets: as written they cost one requantization per node (five
//! for GELU) and round at each; as one table they cost one lookup per value
//! and round once.
//!
//! The set grows from a root (the nodes are tried last first, so a root is
//! the end of a chain) by taking the producer of an operand when every
//! reader of that operand is in the set. It is fused when it has two nodes
//! or more, exactly one computed operand from outside, and something a
//! per-channel requantization cannot do (a function node, or a product of
//! two computed values): sums and products with constants alone stay as
//! they are, and fold into the requantization of the product before them.
//! The fused node keeps the root's output name; the float reference and
//! the table evaluate the set's nodes in order (`LoadedModel::bodies`).

use super::{fused, rewrite, Graph};
use crate::model::{Attrs, LoadedModel};
use crate::onnx::NodeProto;
use crate::value::Unary;
use std::collections::BTreeSet;

/// A set to fuse: its nodes (the root last), the Constant nodes producing
/// its constants, those of them only the set reads (they leave the graph
/// with it), and its one computed operand.
struct Fusion {
    set: BTreeSet<usize>,
    consts: Vec<usize>,
    only_ours: Vec<usize>,
    leaf: String,
}

/// Fuses every such set (see the module docs).
pub(super) fn fuse_all(model: &mut LoadedModel) {
    while let Some(f) = find(model) {
        let root = *f.set.last().expect("a non-empty set");
        let out = model.nodes[root].output[0].clone();
        let body: Vec<NodeProto> = f
            .consts
            .iter()
            .chain(f.set.iter())
            .map(|&i| model.nodes[i].clone())
            .collect();
        let mut node = fused(
            "Elementwise",
            "zkinf",
            &model.nodes[root],
            vec![f.leaf],
            out.clone(),
        );
        node.attribute.clear();
        model.bodies.insert(out, body);
        rewrite(model, root, node, f.set.into_iter().chain(f.only_ours));
    }
}

/// The latest root whose set can be fused.
fn find(model: &LoadedModel) -> Option<Fusion> {
    let g = Graph::new(model);
    (0..model.nodes.len()).rev().find_map(|root| grow(&g, root))
}

/// Whether every reader of `t` is in `set` (and `t` is no graph output).
fn read_only_by(g: &Graph, t: &str, set: &BTreeSet<usize>) -> bool {
    !g.outputs.contains(t)
        && g.readers
            .get(t)
            .is_some_and(|r| r.iter().all(|i| set.contains(i)))
}

/// A scalar constant operand.
fn scalar(g: &Graph, t: &str) -> bool {
    g.constant(t)
        .is_some_and(|c| c.dtype.is_float() && c.data.len() == 1)
}

/// The node's computed (non-constant) operands, or `None` when the node is
/// not an elementwise op of computed values and scalar constants.
fn operands<'a>(g: &Graph<'a>, i: usize) -> Option<Vec<&'a str>> {
    let n = g.node(i);
    if !(n.domain.is_empty() || n.domain == "ai.onnx") || n.output.len() != 1 {
        return None;
    }
    let arity = match n.op_type.as_str() {
        "Add" | "Sub" | "Mul" | "Div" => 2,
        "Pow" if n.input.len() == 2 && scalar(g, &n.input[1]) => 2,
        op if Unary::of(op, &Attrs(n)).is_some() => 1,
        _ => return None,
    };
    if n.input.len() != arity {
        return None;
    }
    let mut computed = Vec::new();
    for t in &n.input {
        if scalar(g, t) {
            continue;
        }
        if g.constant(t).is_some() || t.is_empty() {
            return None;
        }
        computed.push(t.as_str());
    }
    Some(computed)
}

/// What a per-channel requantization cannot do: a function, or a product
/// or quotient of two computed values.
fn nonlinear(g: &Graph, i: usize, computed: &[&str]) -> bool {
    match g.node(i).op_type.as_str() {
        "Add" | "Sub" | "Neg" => false,
        "Mul" | "Div" => computed.len() == 2,
        _ => true,
    }
}

fn grow(g: &Graph, root: usize) -> Option<Fusion> {
    operands(g, root)?;
    let mut set = BTreeSet::from([root]);
    loop {
        let mut grew = false;
        for i in set.clone() {
            for t in operands(g, i)? {
                let Some(&p) = g.by_out.get(t) else { continue };
                if set.contains(&p) || operands(g, p).is_none() {
                    continue;
                }
                if read_only_by(g, t, &set) {
                    set.insert(p);
                    grew = true;
                }
            }
        }
        if !grew {
            break;
        }
    }
    let mut leaves = BTreeSet::new();
    let mut strong = false;
    let mut consts = BTreeSet::new();
    for &i in &set {
        let computed = operands(g, i)?;
        strong |= nonlinear(g, i, &computed);
        for t in &computed {
            if !g.by_out.get(t).is_some_and(|p| set.contains(p)) {
                leaves.insert(t.to_string());
            }
        }
        for t in &g.node(i).input {
            if let Some(&p) = g.by_out.get(t.as_str()) {
                if g.node(p).op_type == "Constant" {
                    consts.insert(p);
                }
            }
        }
    }
    if set.len() < 2 || leaves.len() != 1 || !strong {
        return None;
    }
    let leaf = leaves.pop_first()?;
    let only_ours = consts
        .iter()
        .copied()
        .filter(|&c| read_only_by(g, &g.node(c).output[0], &set))
        .collect();
    Some(Fusion {
        set,
        consts: consts.into_iter().collect(),
        only_ours,
        leaf,
    })
}
