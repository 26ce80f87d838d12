//! What an ONNX tensor is while it is being lowered: a constant, an integer
//! tensor of the plan, a real tensor represented by integers and a scale, or
//! a real result waiting for its output quantization.

use zkinf_circuits::TensorId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    U8,
    I8,
    U16,
    I16,
    I32,
    I64,
    Bool,
    F16,
    F64,
    U32,
    U64,
    Other(i32),
}

impl DType {
    pub fn from_onnx(code: i32) -> DType {
        match code {
            1 => DType::F32,
            2 => DType::U8,
            3 => DType::I8,
            4 => DType::U16,
            5 => DType::I16,
            6 => DType::I32,
            7 => DType::I64,
            9 => DType::Bool,
            10 => DType::F16,
            11 => DType::F64,
            12 => DType::U32,
            13 => DType::U64,
            c => DType::Other(c),
        }
    }

    pub fn name(self) -> String {
        match self {
            DType::F32 => "float32".into(),
            DType::U8 => "uint8".into(),
            DType::I8 => "int8".into(),
            DType::U16 => "uint16".into(),
            DType::I16 => "int16".into(),
            DType::I32 => "int32".into(),
            DType::I64 => "int64".into(),
            DType::Bool => "bool".into(),
            DType::F16 => "float16".into(),
            DType::F64 => "float64".into(),
            DType::U32 => "uint32".into(),
            DType::U64 => "uint64".into(),
            DType::Other(c) => format!("ONNX type {c}"),
        }
    }

    pub fn byte_width(self) -> Option<usize> {
        Some(match self {
            DType::U8 | DType::I8 | DType::Bool => 1,
            DType::U16 | DType::I16 | DType::F16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
            DType::Other(_) => return None,
        })
    }

    pub fn read_le(self, c: &[u8]) -> f64 {
        match self {
            DType::U8 | DType::Bool => c[0] as f64,
            DType::I8 => c[0] as i8 as f64,
            DType::U16 => u16::from_le_bytes([c[0], c[1]]) as f64,
            DType::I16 => i16::from_le_bytes([c[0], c[1]]) as f64,
            DType::F16 => crate::onnx::f16_to_f64(u16::from_le_bytes([c[0], c[1]])),
            DType::F32 => f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
            DType::I32 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
            DType::U32 => u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
            DType::F64 => f64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8])),
            DType::I64 => i64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8])) as f64,
            DType::U64 => u64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8])) as f64,
            DType::Other(_) => f64::NAN,
        }
    }

    /// The integer range of an integer type zkinf quantizes to.
    pub fn int_range(self) -> Option<(i64, i64)> {
        Some(match self {
            DType::U8 => (0, 255),
            DType::I8 => (-128, 127),
            DType::U16 => (0, 65535),
            DType::I16 => (-32768, 32767),
            DType::I32 => (i32::MIN as i64, i32::MAX as i64),
            _ => return None,
        })
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64 | DType::F16)
    }
}

/// A tensor whose values are known at compile time (exact in f64).
#[derive(Clone, Debug, PartialEq)]
pub struct ConstTensor {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl ConstTensor {
    pub fn scalar(&self) -> Option<f64> {
        (self.data.len() == 1).then(|| self.data[0])
    }
    pub fn ints(&self) -> Vec<i64> {
        self.data.iter().map(|&v| v as i64).collect()
    }
}

/// Where the integers of a real tensor live.
#[derive(Clone, Debug, PartialEq)]
pub enum Src {
    Plan(TensorId),
    Const(ConstTensor),
}

/// A real tensor `scale[c] * (q - zero[c])`, per tensor or per channel along
/// `axis`, optionally clipped to `[clip_lo, clip_hi]` in real units (a ReLU
/// waiting to be folded into the next requantization).
#[derive(Clone, Debug, PartialEq)]
pub struct Affine {
    pub src: Src,
    pub scales: Vec<f64>,
    pub zeros: Vec<i64>,
    pub axis: usize,
    pub clip: Option<(f64, f64)>,
    /// True when `q` is a wide accumulator rather than an 8/16-bit activation.
    pub wide: bool,
}

impl Affine {
    pub fn per_tensor(&self) -> bool {
        self.scales.len() == 1 && self.zeros.len() <= 1
    }
    pub fn scale(&self) -> f64 {
        self.scales[0]
    }
    pub fn zero(&self) -> i64 {
        self.zeros.first().copied().unwrap_or(0)
    }
}

/// A float op's result whose output quantization is not known yet.
#[derive(Clone, Debug, PartialEq)]
pub enum Lazy {
    /// `a + sign * b` (Add, Sub).
    Sum {
        a: Affine,
        b: Affine,
        b_sign: i64,
        shape: Vec<usize>,
    },
    /// `a * b`.
    Prod {
        a: Affine,
        b: Affine,
        shape: Vec<usize>,
    },
    /// `a / b` for a computed `b` whose whole range is positive (a rounded
    /// division, `Op::Div`).
    Quotient {
        a: Affine,
        b: Affine,
        shape: Vec<usize>,
    },
    /// An elementwise function of one input (Sigmoid, Tanh, ...).
    Unary {
        x: Affine,
        f: Unary,
    },
    /// A fused one-input elementwise function (`zkinf.Elementwise` from
    /// `input` to `output`): a table over `x`, its entries computed by the
    /// float reference on the fused nodes.
    Function {
        x: Affine,
        input: String,
        output: String,
    },
    Softmax {
        x: Affine,
        axis: usize,
    },
    AvgPool {
        x: Affine,
        kernel: [usize; 2],
        strides: [usize; 2],
        pads: [usize; 4],
        count_include_pad: bool,
        /// the shape after the pooling (1-D and 3-D pooling run as 2-D)
        out_shape: Option<Vec<usize>>,
        /// the model's kernel covers its whole unpadded input (onnxruntime's
        /// int8 kernel then sums in integers)
        global: bool,
    },
    /// Per-channel `x * mul[c] + add[c]` along `axis` (1: BatchNormalization,
    /// InstanceNormalization; the last: LayerNormalization's scale and bias).
    /// `clip` is a ReLU/Clip that follows, folded into the requantization.
    ChannelAffine {
        x: Affine,
        mul: Vec<f64>,
        add: Vec<f64>,
        clip: Option<(f64, f64)>,
        axis: usize,
    },
    Concat {
        parts: Vec<Affine>,
        axis: usize,
    },
    /// Elementwise maximum (or minimum) of broadcasting operands.
    Extremum {
        parts: Vec<Affine>,
        max: bool,
        shape: Vec<usize>,
    },
    /// PRelu with a slope per channel (axis 1).
    ChannelPRelu {
        x: Affine,
        slopes: Vec<f64>,
    },
}

/// Elementwise functions of one real input: lowered to a table over the
/// quantized input (`Lookup`), so any function defined on the input's
/// range is exact up to the output's rounding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    Sigmoid,
    Tanh,
    Exp,
    Erf,
    Neg,
    Abs,
    Sign,
    Log,
    Sqrt,
    Reciprocal,
    Floor,
    Ceil,
    Round,
    Softplus,
    Softsign,
    HardSwish,
    Mish,
    Elu(f64),
    Celu(f64),
    Selu(f64, f64),
    LeakyRelu(f64),
    ThresholdedRelu(f64),
    HardSigmoid(f64, f64),
    Shrink(f64, f64),
    /// PRelu with one slope for every value
    PRelu(f64),
    /// `x^e` (Pow by a constant)
    Pow(f64),
}

impl Unary {
    /// The function of an ONNX op, with its attributes (float32 as ONNX
    /// stores them, widened).
    pub fn of(op: &str, at: &crate::model::Attrs) -> Option<Unary> {
        let f = |name: &str, default: f32| at.float(name, default) as f64;
        Some(match op {
            "Sigmoid" => Unary::Sigmoid,
            "Tanh" => Unary::Tanh,
            "Exp" => Unary::Exp,
            "Erf" => Unary::Erf,
            "Neg" => Unary::Neg,
            "Abs" => Unary::Abs,
            "Sign" => Unary::Sign,
            "Log" => Unary::Log,
            "Sqrt" => Unary::Sqrt,
            "Reciprocal" => Unary::Reciprocal,
            "Floor" => Unary::Floor,
            "Ceil" => Unary::Ceil,
            "Round" => Unary::Round,
            "Softplus" => Unary::Softplus,
            "Softsign" => Unary::Softsign,
            "HardSwish" => Unary::HardSwish,
            "Mish" => Unary::Mish,
            "Elu" => Unary::Elu(f("alpha", 1.0)),
            "Celu" => Unary::Celu(f("alpha", 1.0)),
            "Selu" => Unary::Selu(f("alpha", 1.673_263_2), f("gamma", 1.050_701)),
            "LeakyRelu" => Unary::LeakyRelu(f("alpha", 0.01)),
            "ThresholdedRelu" => Unary::ThresholdedRelu(f("alpha", 1.0)),
            "HardSigmoid" => Unary::HardSigmoid(f("alpha", 0.2), f("beta", 0.5)),
            "Shrink" => Unary::Shrink(f("bias", 0.0), f("lambd", 0.5)),
            _ => return None,
        })
    }

    pub fn apply(self, x: f64) -> f64 {
        let softplus = |x: f64| if x > 30.0 { x } else { x.exp().ln_1p() };
        match self {
            Unary::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Unary::Tanh => x.tanh(),
            Unary::Exp => x.exp(),
            Unary::Erf => erf(x),
            Unary::Neg => -x,
            Unary::Abs => x.abs(),
            Unary::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Unary::Log => x.ln(),
            Unary::Sqrt => x.sqrt(),
            Unary::Reciprocal => 1.0 / x,
            Unary::Floor => x.floor(),
            Unary::Ceil => x.ceil(),
            Unary::Round => x.round_ties_even(),
            Unary::Softplus => softplus(x),
            Unary::Softsign => x / (1.0 + x.abs()),
            Unary::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Unary::Mish => x * softplus(x).tanh(),
            Unary::Elu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * x.exp_m1()
                }
            }
            Unary::Celu(a) => x.max(0.0) + (a * (x / a).exp_m1()).min(0.0),
            Unary::Selu(a, g) => {
                if x > 0.0 {
                    g * x
                } else {
                    g * a * x.exp_m1()
                }
            }
            Unary::LeakyRelu(a) | Unary::PRelu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * x
                }
            }
            Unary::ThresholdedRelu(a) => {
                if x > a {
                    x
                } else {
                    0.0
                }
            }
            Unary::HardSigmoid(a, b) => (a * x + b).clamp(0.0, 1.0),
            Unary::Pow(e) => x.powf(e),
            Unary::Shrink(bias, l) => {
                if x < -l {
                    x + bias
                } else if x > l {
                    x - bias
                } else {
                    0.0
                }
            }
        }
    }
}

/// Abramowitz-Stegun 7.1.26 is too coarse for exact tables; this series /
/// continued-fraction pair is accurate to ~1e-15.
pub fn erf(x: f64) -> f64 {
    let ax = x.abs();
    let r = if ax < 2.5 {
        let (mut term, mut sum, mut n) = (ax, ax, 0.0);
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= -ax * ax / n;
            sum += term / (2.0 * n + 1.0);
            if n > 200.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc continued fraction (Lentz)
        let mut f = ax;
        for k in (1..60).rev() {
            f = ax + (k as f64 / 2.0) / f;
        }
        1.0 - (-ax * ax).exp() / (f * std::f64::consts::PI.sqrt())
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// An ONNX tensor during lowering.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Const(ConstTensor),
    /// An integer-typed ONNX tensor held in the plan.
    Int {
        id: TensorId,
        dtype: DType,
    },
    /// A float graph input that the first QuantizeLinear will quantize.
    FloatInput {
        name: String,
        shape: Vec<usize>,
        /// a ReLU/Clip applied to it in float, in real units
        clip: Option<(f64, f64)>,
    },
    Real(Affine),
    Lazy(Lazy),
}
