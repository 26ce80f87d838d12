//! Graph rewrites run once after loading, before the float reference and the
//! lowering see the model: the decomposed forms transformer exporters emit
//! become the one op zkinf proves exactly.
//!
//! - `ReduceMean, Sub, Pow 2 (or Mul), ReduceMean, Add ε, Sqrt, Div (or
//!   Reciprocal, Mul)`, then optionally `Mul γ`, `Add β` (constants), all
//!   over the last axis: `LayerNormalization(x, γ, β)`;
//! - `Pow 2 (or Mul), ReduceMean, Add ε, Sqrt, Div (or Reciprocal, Mul)`,
//!   then optionally `Mul γ`: `RMSNormalization(x, γ)` (opset 23's op);
//! - a Softmax over the last axis of `Where(c, s, f)` or `s + M`, with
//!   constant `c`, a constant fill `f <= -1000` and a constant `M` of zeros
//!   and values `<= -1000` (attention masks): `zkinf.MaskedSoftmax(s, keep)`,
//!   a softmax over the kept entries with the masked ones exactly 0 (what
//!   float32 gives: `exp(-1000)` underflows to 0). Quantizing the masked
//!   scores instead would stretch their scale over the fill value.
//!
//! - a one-input elementwise function written as several nodes (GELU,
//!   SiLU, ...): `zkinf.Elementwise(x)`, one table (`elementwise`).
//!
//! A pattern is rewritten only when its inner tensors feed nothing else and
//! are no graph outputs; the fused node takes the last node's output name,
//! so calibration ranges and the report keep their names.

mod elementwise;

use crate::model::{Attrs, LoadedModel};
use crate::onnx::{decode_tensor, AttributeProto, NodeProto};
use crate::value::{ConstTensor, DType};
use std::collections::{HashMap, HashSet};

/// The fill or mask value below which an attention score counts as masked.
const MASKED: f64 = -1000.0;

/// Rewrites `model` in place (see the module docs).
pub fn fuse(model: &mut LoadedModel) {
    if model
        .nodes
        .iter()
        .any(|n| crate::model::QUANTIZED_OPS.contains(&n.op_type.as_str()))
    {
        // int8 models keep their graph: onnxruntime's QDQ semantics rule
        return;
    }
    while let Some((remove, node, extra)) = find(model) {
        let at = remove.iter().copied().max().unwrap_or(0);
        if let Some((name, c)) = extra {
            model.consts.insert(name, c);
        }
        rewrite(model, at, node, remove);
    }
    // after the norms, whose squares and roots are elementwise too
    elementwise::fuse_all(model);
}

/// Puts `node` at index `at` and removes the other nodes of `remove`.
fn rewrite(
    model: &mut LoadedModel,
    at: usize,
    node: NodeProto,
    remove: impl IntoIterator<Item = usize>,
) {
    model.nodes[at] = node;
    let drop: HashSet<usize> = remove.into_iter().filter(|&i| i != at).collect();
    let nodes = std::mem::take(&mut model.nodes);
    model.nodes = nodes
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(_, n)| n)
        .collect();
}

type Rewrite = (Vec<usize>, NodeProto, Option<(String, ConstTensor)>);

struct Graph<'a> {
    m: &'a LoadedModel,
    /// producer of each tensor
    by_out: HashMap<&'a str, usize>,
    /// readers of each tensor (a node reading it twice counts once)
    readers: HashMap<&'a str, Vec<usize>>,
    outputs: HashSet<&'a str>,
}

impl<'a> Graph<'a> {
    fn new(m: &'a LoadedModel) -> Graph<'a> {
        let mut by_out = HashMap::new();
        let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, n) in m.nodes.iter().enumerate() {
            for o in &n.output {
                by_out.insert(o.as_str(), i);
            }
            let mut seen = HashSet::new();
            for x in &n.input {
                if !x.is_empty() && seen.insert(x.as_str()) {
                    readers.entry(x.as_str()).or_default().push(i);
                }
            }
        }
        Graph {
            m,
            by_out,
            readers,
            outputs: m.outputs.iter().map(|(o, _)| o.as_str()).collect(),
        }
    }

    fn node(&self, i: usize) -> &'a NodeProto {
        &self.m.nodes[i]
    }

    /// The node producing `t`, if it is a default-domain `op`.
    fn producer(&self, t: &str, op: &str) -> Option<usize> {
        let &i = self.by_out.get(t)?;
        let n = self.node(i);
        (n.op_type == op && (n.domain.is_empty() || n.domain == "ai.onnx")).then_some(i)
    }

    /// The only reader of `t` (which must not be a graph output).
    fn only_reader(&self, t: &str) -> Option<usize> {
        if self.outputs.contains(t) {
            return None;
        }
        match self.readers.get(t).map(Vec::as_slice) {
            Some([r]) => Some(*r),
            _ => None,
        }
    }

    /// A constant tensor: an initializer or a Constant node's value.
    fn constant(&self, t: &str) -> Option<ConstTensor> {
        if let Some(c) = self.m.consts.get(t) {
            return Some(c.clone());
        }
        let n = self.node(self.producer(t, "Constant")?);
        let at = Attrs(n);
        if let Some(v) = at.tensor("value") {
            return decode_tensor(v, None).ok();
        }
        at.has("value_float").then(|| ConstTensor {
            dtype: DType::F32,
            shape: vec![],
            data: vec![at.float("value_float", 0.0) as f64],
        })
    }

    fn scalar(&self, t: &str) -> Option<f64> {
        self.constant(t).and_then(|c| c.scalar())
    }

    /// `ReduceMean` over the last axis only, keeping it.
    fn mean_last(&self, i: usize) -> bool {
        let n = self.node(i);
        let at = Attrs(n);
        if at.int("keepdims", 1) != 1 {
            return false;
        }
        let axes = match n.input.get(1).filter(|s| !s.is_empty()) {
            Some(a) => self.constant(a).map(|c| c.ints()),
            None => at.ints("axes"),
        };
        axes.as_deref() == Some(&[-1])
    }

    /// `x²` as `Pow(x, 2)` or `Mul(x, x)`: node `i`'s base.
    fn square_of(&self, i: usize) -> Option<&'a str> {
        let n = self.node(i);
        match n.op_type.as_str() {
            "Pow" if n.input.len() == 2 && self.scalar(&n.input[1]) == Some(2.0) => {
                Some(&n.input[0])
            }
            "Mul" if n.input.len() == 2 && n.input[0] == n.input[1] => Some(&n.input[0]),
            _ => None,
        }
    }

    /// The other operand of a binary node `i` that reads `t`.
    fn other(&self, i: usize, t: &str) -> Option<&'a str> {
        let n = self.node(i);
        match n.input.as_slice() {
            [a, b] if a == t => Some(b),
            [a, b] if b == t => Some(a),
            _ => None,
        }
    }

    /// From a square's node `sq` (of `base`): `mean(sq) + ε`, `sqrt`, and
    /// the division of `base` by it. Returns the nodes, ε and the quotient.
    fn rsqrt_tail(&self, sq: usize, base: &str) -> Option<(Vec<usize>, f64, &'a str)> {
        let mean = self.only_reader(&self.node(sq).output[0])?;
        if self.node(mean).op_type != "ReduceMean" || !self.mean_last(mean) {
            return None;
        }
        let add = self.only_reader(&self.node(mean).output[0])?;
        let mo = &self.node(mean).output[0];
        if self.node(add).op_type != "Add" {
            return None;
        }
        let eps = self.scalar(self.other(add, mo)?)?;
        let sqrt = self.only_reader(&self.node(add).output[0])?;
        if self.node(sqrt).op_type != "Sqrt" {
            return None;
        }
        let so = &self.node(sqrt).output[0];
        let next = self.only_reader(so)?;
        let n = self.node(next);
        let mut nodes = vec![sq, mean, add, sqrt, next];
        match n.op_type.as_str() {
            "Div" if n.input.len() == 2 && n.input[0] == base && &n.input[1] == so => {}
            "Reciprocal" => {
                let mul = self.only_reader(&n.output[0])?;
                if self.node(mul).op_type != "Mul" || self.other(mul, &n.output[0])? != base {
                    return None;
                }
                nodes.push(mul);
            }
            _ => return None,
        }
        let out = &self.node(*nodes.last()?).output[0];
        Some((nodes, eps, out))
    }

    /// An optional `Mul` (then `Add`, with `bias`) by a constant after `t`.
    fn affine_tail(&self, t: &str, bias: bool) -> (Vec<usize>, [String; 2], String) {
        let mut nodes = Vec::new();
        let mut params = [String::new(), String::new()];
        let mut out = t.to_string();
        for (k, op) in ["Mul", "Add"].iter().enumerate() {
            if k == 1 && !bias {
                break;
            }
            let Some(i) = self.only_reader(&out) else {
                break;
            };
            let Some(c) = self.other(i, &out).filter(|c| self.constant(c).is_some()) else {
                break;
            };
            if self.node(i).op_type != *op {
                break;
            }
            params[k] = c.to_string();
            nodes.push(i);
            out = self.node(i).output[0].clone();
        }
        (nodes, params, out)
    }
}

fn attr_f(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 1,
        f: v,
        ..Default::default()
    }
}

fn attr_i(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 2,
        i: v,
        ..Default::default()
    }
}

fn fused(op: &str, domain: &str, like: &NodeProto, inputs: Vec<String>, out: String) -> NodeProto {
    NodeProto {
        input: inputs,
        output: vec![out],
        name: like.name.clone(),
        op_type: op.into(),
        domain: domain.into(),
        attribute: vec![attr_i("axis", -1)],
        doc_string: String::new(),
    }
}

/// The first pattern found, as (nodes to remove, the fused node, a new
/// constant).
fn find(m: &LoadedModel) -> Option<Rewrite> {
    let g = Graph::new(m);
    for (i, n) in m.nodes.iter().enumerate() {
        if let Some(r) = layer_norm(&g, i, n)
            .or_else(|| rms_norm(&g, i, n))
            .or_else(|| masked_softmax(&g, i, n))
        {
            return Some(r);
        }
    }
    None
}

/// At a ReduceMean `i` of `x`: the decomposed LayerNormalization.
fn layer_norm(g: &Graph, i: usize, n: &NodeProto) -> Option<Rewrite> {
    if n.op_type != "ReduceMean" || !g.mean_last(i) {
        return None;
    }
    let x = n.input.first()?;
    let sub = g.only_reader(&n.output[0])?;
    let s = g.node(sub);
    if s.op_type != "Sub" || s.input.len() != 2 || &s.input[0] != x || s.input[1] != n.output[0] {
        return None;
    }
    let d = &s.output[0];
    if g.outputs.contains(d.as_str()) {
        return None;
    }
    let readers = g.readers.get(d.as_str())?;
    if readers.len() != 2 {
        return None;
    }
    let sq = *readers.iter().find(|&&r| g.square_of(r) == Some(d))?;
    let (tail, eps, q) = g.rsqrt_tail(sq, d)?;
    // the Sub's other reader is the division (Div, or the Mul after Reciprocal)
    if !readers.contains(tail.last()?) {
        return None;
    }
    let (aff, params, out) = g.affine_tail(q, true);
    let mut nodes = vec![i, sub];
    nodes.extend(tail);
    nodes.extend(aff);
    let [scale, bias] = params;
    let mut node = fused(
        "LayerNormalization",
        "",
        n,
        vec![x.clone(), scale, bias],
        out,
    );
    node.attribute.push(attr_f("epsilon", eps as f32));
    Some((nodes, node, None))
}

/// At a square `i` of `x`: the exported RMSNorm.
fn rms_norm(g: &Graph, i: usize, n: &NodeProto) -> Option<Rewrite> {
    let x = g.square_of(i)?;
    let (tail, eps, q) = g.rsqrt_tail(i, x)?;
    let (aff, params, out) = g.affine_tail(q, false);
    let mut nodes = tail;
    nodes.extend(aff);
    let [scale, _] = params;
    let mut node = fused("RMSNormalization", "", n, vec![x.to_string(), scale], out);
    node.attribute.push(attr_f("epsilon", eps as f32));
    Some((nodes, node, None))
}

/// At a Softmax `i` over the last axis: a masked input.
fn masked_softmax(g: &Graph, i: usize, n: &NodeProto) -> Option<Rewrite> {
    if n.op_type != "Softmax" || Attrs(n).int("axis", -1) != -1 || g.m.opset < 13 {
        return None;
    }
    let t = n.input.first()?;
    g.only_reader(t)?;
    let &pi = g.by_out.get(t.as_str())?;
    let p = g.node(pi);
    let (scores, keep, shape) = match p.op_type.as_str() {
        "Where" if p.input.len() == 3 => {
            let c = g.constant(&p.input[0])?;
            let masked = |t: &str| {
                g.constant(t)
                    .is_some_and(|f| f.data.iter().all(|&v| v <= MASKED))
            };
            if masked(&p.input[2]) && g.constant(&p.input[1]).is_none() {
                (
                    p.input[1].clone(),
                    c.data
                        .iter()
                        .map(|&v| (v != 0.0) as u8 as f64)
                        .collect::<Vec<_>>(),
                    c.shape,
                )
            } else if masked(&p.input[1]) && g.constant(&p.input[2]).is_none() {
                (
                    p.input[2].clone(),
                    c.data.iter().map(|&v| (v == 0.0) as u8 as f64).collect(),
                    c.shape,
                )
            } else {
                return None;
            }
        }
        "Add" if p.input.len() == 2 => {
            let (s, mk) = match (g.constant(&p.input[0]), g.constant(&p.input[1])) {
                (None, Some(mk)) => (p.input[0].clone(), mk),
                (Some(mk), None) => (p.input[1].clone(), mk),
                _ => return None,
            };
            if !mk.data.iter().all(|&v| v == 0.0 || v <= MASKED)
                || !mk.data.iter().any(|&v| v <= MASKED)
            {
                return None;
            }
            (
                s,
                mk.data.iter().map(|&v| (v == 0.0) as u8 as f64).collect(),
                mk.shape,
            )
        }
        _ => return None,
    };
    let keep_name = format!("{}#keep", n.output[0]);
    let mut node = fused(
        "MaskedSoftmax",
        "zkinf",
        n,
        vec![scores, keep_name.clone()],
        n.output[0].clone(),
    );
    node.attribute.clear();
    let c = ConstTensor {
        dtype: DType::Bool,
        shape,
        data: keep,
    };
    Some((vec![pi, i], node, Some((keep_name, c))))
}
