//! The Plan IR: a closed set of integer operations in topological order.
//!
//! Node `i` defines tensor `i` (a [`TensorId`] is a node index). Every tensor
//! carries its shape and the integer range `[lo, hi]` its values are
//! guaranteed to lie in; the range is derived from the op and its operands
//! (see [`infer`]) and checked, so circuits can size range checks from it.

mod check;
mod format;
pub mod infer;

pub use check::CheckedPlan;
pub use format::PLAN_FORMAT_VERSION;

use serde::{Deserialize, Serialize};

/// Index of a node, and of the tensor it defines.
pub type TensorId = u32;

/// An inclusive integer range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntRange {
    pub lo: i64,
    pub hi: i64,
}

/// The shape and range of one tensor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorInfo {
    pub shape: Vec<usize>,
    pub range: IntRange,
}

impl TensorInfo {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One Plan operation with its operands and the tensor it defines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The ONNX node (or nodes) this op was lowered from.
    pub name: String,
    pub op: Op,
    pub inputs: Vec<TensorId>,
    pub info: TensorInfo,
}

/// How a float graph input becomes integers (outside any circuit).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum InputQuant {
    /// `q = saturate(round_half_even(fl32(x / scale)) + zero_point)`, as
    /// onnxruntime's `QuantizeLinear` computes it.
    Affine { scale: f32, zero_point: i64 },
    /// The input is an integer tensor: values must be integers in range.
    Integer,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanInput {
    pub name: String,
    pub shape: Vec<usize>,
    pub range: IntRange,
    pub quant: InputQuant,
}

/// How an output tensor is reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OutputDequant {
    /// `fl32(fl32(q - zero_point) * scale)` per tensor (one scale) or per
    /// channel along `axis`.
    Affine {
        scales: Vec<f32>,
        zero_points: Vec<i64>,
        axis: u32,
    },
    /// The integers themselves.
    Integer,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanOutput {
    pub name: String,
    pub tensor: TensorId,
    pub dequant: OutputDequant,
}

/// The closed set of integer operations. `rhe` is round-half-to-even; all
/// divisions by `2^shift` are exact rational divisions followed by `rhe`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// Graph input `index` (already quantized). No operands.
    Input {
        index: u32,
    },
    /// A constant tensor (weights, biases). No operands.
    Const {
        values: Vec<i64>,
    },
    /// Operands `[a, b]` or `[a, b, bias]`; `a: [.., M, K]`, `b: [K, N]` or
    /// `[.., K, N]`, `bias: [N]`.
    /// `out[.., m, n] = Σ_k (a[.., m, k] - a_zero)(b[.., k, n] - b_zero[n]) + bias[n]`
    /// (`b_zero` has one entry, or one per column).
    MatMul {
        a_zero: i64,
        b_zero: Vec<i64>,
    },
    /// 2-D convolution in NCHW. Operands `[x, w]` or `[x, w, bias]`,
    /// `w: [C_out, C_in / group, KH, KW]`, `bias: [C_out]`. Padding
    /// contributes zero (it reads `x_zero`). `pads` = `[top, left, bottom, right]`.
    Conv {
        x_zero: i64,
        w_zero: Vec<i64>,
        strides: [usize; 2],
        pads: [usize; 4],
        dilations: [usize; 2],
        group: usize,
    },
    /// `y = clamp(rhe(((x - in_zero) * mult[c] + bias[c]) / 2^shift) + out_zero, lo, hi)`;
    /// `c` indexes `axis` when `mult`/`bias` have more than one entry;
    /// an empty `bias` is zero.
    Rescale {
        in_zero: i64,
        mult: Vec<i64>,
        bias: Vec<i64>,
        shift: u32,
        axis: u32,
        out_zero: i64,
        lo: i64,
        hi: i64,
    },
    /// Broadcasting `y = clamp(rhe(((a - a_zero) a_mult + (b - b_zero) b_mult) / 2^shift) + out_zero, lo, hi)`.
    Add {
        a_zero: i64,
        b_zero: i64,
        a_mult: i64,
        b_mult: i64,
        shift: u32,
        out_zero: i64,
        lo: i64,
        hi: i64,
    },
    /// Broadcasting `y = clamp(rhe((a - a_zero)(b - b_zero) mult / 2^shift) + out_zero, lo, hi)`.
    Mul {
        a_zero: i64,
        b_zero: i64,
        mult: i64,
        shift: u32,
        out_zero: i64,
        lo: i64,
        hi: i64,
    },
    /// `y = clamp(x, lo, hi)` (ReLU in the quantized domain).
    Clamp {
        lo: i64,
        hi: i64,
    },
    /// 2-D max pooling in NCHW; padding never wins.
    MaxPool {
        kernel: [usize; 2],
        strides: [usize; 2],
        pads: [usize; 4],
        dilations: [usize; 2],
        ceil_mode: bool,
    },
    /// 2-D average pooling:
    /// `y = clamp(rhe(Σ (x - in_zero) * mult / (count 2^shift)) + out_zero, lo, hi)`,
    /// `count` = kernel area, or the number of taps inside the input when
    /// `count_include_pad` is false.
    AvgPool {
        kernel: [usize; 2],
        strides: [usize; 2],
        pads: [usize; 4],
        count_include_pad: bool,
        in_zero: i64,
        mult: i64,
        shift: u32,
        out_zero: i64,
        lo: i64,
        hi: i64,
    },
    /// `y = table[x - in_lo]` (sigmoid, tanh, ... precomputed by the compiler).
    Lookup {
        in_lo: i64,
        table: Vec<i64>,
    },
    /// Integer softmax along `axis`: `e_i = exp_table[max - x_i]`,
    /// `y_i = clamp(rhe(e_i out_mult / Σ e) + out_zero, lo, hi)`.
    Softmax {
        axis: u32,
        exp_table: Vec<i64>,
        out_mult: i64,
        out_zero: i64,
        lo: i64,
        hi: i64,
    },
    /// Same values in row-major order, new shape (the node's shape).
    Reshape,
    Transpose {
        perm: Vec<u32>,
    },
    /// Operands concatenated along `axis`.
    Concat {
        axis: u32,
    },
    /// Pure data movement by an explicit index map: `out[i] = cat[map[i]]`,
    /// where `cat` is every operand flattened (row-major) and joined in
    /// order; the node's shape is given. Slice, Split, Expand, Tile, Gather
    /// with constant indices, Pad (a constant operand holds the pad value),
    /// the depth taps of 3-D windows and the zero insertion of ConvTranspose
    /// are this op. No constraints: the output is the operands' wires.
    Gather {
        map: Vec<u32>,
    },
    /// onnxruntime's int8 average pooling, which rounds in float32 (the
    /// fused `QLinearAveragePool` of a QDQ model, on x86-64 where int8 runs
    /// as uint8 with zero points + `zero_shift`): per window, in row-major
    /// order over the taps inside the input, `acc = fl32(acc + fl32(x_scale
    /// · (x - in_zero)))`, `t = fl32(fl32(fl32(acc / count) / y_scale) +
    /// (out_zero + zero_shift))`, `y = clamp(nearbyint(t) - zero_shift, lo,
    /// hi)`; with `global` (the model's kernel covers its whole unpadded
    /// input) onnxruntime's integer path instead, `y = clamp(rne(fl32(Σ (x -
    /// in_zero) · fl32(x_scale / fl32(y_scale · count)))) + out_zero, lo,
    /// hi)`.
    ///
    /// The circuit checks `y` against the exact average `Σ (x - in_zero)
    /// mult / (count 2^shift)` (`mult / 2^shift` = `x_scale / y_scale`): the
    /// clamped nearest integer, either one where the average is within
    /// 1/128 + 1/4096 of a tie (only there can float32 rounding choose; the
    /// compiler refuses windows whose float error could reach 1/128).
    AvgPoolF32 {
        kernel: [usize; 2],
        strides: [usize; 2],
        pads: [usize; 4],
        count_include_pad: bool,
        in_zero: i64,
        mult: i64,
        shift: u32,
        out_zero: i64,
        lo: i64,
        hi: i64,
        x_scale: f32,
        y_scale: f32,
        zero_shift: i64,
        global: bool,
    },
    /// Floor square root: `y = floor(sqrt(x + bias))`; `x + bias >= 0` over
    /// the operand's whole range (checked). One per row of a normalization
    /// (the sum of squares of the row's centred values plus epsilon).
    Sqrt {
        bias: i64,
    },
    /// Rounded division by a computed tensor. Operands `[a, b]`, `b` shaped
    /// like `a` or like `a` with its last axis 1 (one divisor per row):
    /// `y = clamp(rhe(a mult / b) + out_zero, lo, hi)`; `b >= 1` over its
    /// whole range (checked).
    Div {
        mult: i64,
        out_zero: i64,
        lo: i64,
        hi: i64,
    },
}

impl Op {
    /// A short name for tables and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Input { .. } => "Input",
            Op::Const { .. } => "Const",
            Op::MatMul { .. } => "MatMul",
            Op::Conv { .. } => "Conv",
            Op::Rescale { .. } => "Rescale",
            Op::Add { .. } => "Add",
            Op::Mul { .. } => "Mul",
            Op::Clamp { .. } => "Clamp",
            Op::MaxPool { .. } => "MaxPool",
            Op::AvgPool { .. } => "AvgPool",
            Op::Lookup { .. } => "Lookup",
            Op::Softmax { .. } => "Softmax",
            Op::Reshape => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::Concat { .. } => "Concat",
            Op::Gather { .. } => "Gather",
            Op::AvgPoolF32 { .. } => "AvgPoolF32",
            Op::Sqrt { .. } => "Sqrt",
            Op::Div { .. } => "Div",
        }
    }
}

/// A whole model lowered to integer operations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub inputs: Vec<PlanInput>,
    pub outputs: Vec<PlanOutput>,
    pub nodes: Vec<Node>,
}

impl Plan {
    /// Appends a node, deriving its shape and range from its operands.
    /// Returns the new tensor's id.
    pub fn push(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<TensorId>,
        shape_hint: Option<Vec<usize>>,
    ) -> Result<TensorId, crate::PlanError> {
        let id = self.nodes.len();
        let name = name.into();
        let info = infer::infer(self, id, &name, &op, &inputs, shape_hint.as_deref())?;
        self.nodes.push(Node {
            name,
            op,
            inputs,
            info,
        });
        Ok(id as TensorId)
    }

    pub fn info(&self, t: TensorId) -> &TensorInfo {
        &self.nodes[t as usize].info
    }

    /// Whether tensor `t` is a constant (weights, biases, tables' inputs).
    pub fn is_const(&self, t: TensorId) -> bool {
        matches!(self.nodes[t as usize].op, Op::Const { .. })
    }
}
