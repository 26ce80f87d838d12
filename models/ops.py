#!/usr/bin/env python3
"""Deterministically generate small single-op-family ONNX fixtures for zkinf.

Run through models/ops.sh (same pinned venv as models/generate.sh). Everything
written under models/ops/ is a pure function of the pinned package versions:
fixed per-case seeds, single-threaded numerics, no time stamps.

For each case NAME (see CASES below):
  NAME.onnx                 float model, opset 17, ir_version 8, input x, output y
  NAME.samples.json         4 inputs and onnxruntime's outputs
  NAME.input.json           {"x": first sample}
  NAME.calibration.json     {"x": [the same 4 samples]}  (float models only)
  NAME_int8.onnx            quantize_static QDQ, act QInt8, weight QInt8, per-tensor,
                            MinMax on the same 4 samples, default op types
  NAME_int8.samples.json    the same 4 inputs, ORT outputs of the quantized model
  NAME_int8.input.json      {"x": first sample}
  MANIFEST.json             sha256/size of every file, versions, per-model op lists,
                            QDQ analysis of each int8 graph, notes
"""

import os

# Must be set before numpy / onnxruntime are imported.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import hashlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnxruntime.quantization import (  # noqa: E402
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)

HERE = Path(__file__).resolve().parent
OUT = HERE / "ops"

OPSET = 17
IR_VERSION = 8
N_SAMPLES = 4


# --------------------------------------------------------------------------
# case builder
# --------------------------------------------------------------------------

def seed_of(text):
    """A stable per-case seed (crc32 of a string), so adding or reordering
    cases never changes another case's weights or inputs."""
    return zlib.crc32(text.encode("utf-8"))


class Builder:
    def __init__(self, name):
        self.name = name
        self.rng = np.random.default_rng(seed_of(name + ":weights"))
        self.nodes = []
        self.inits = []
        self._n = 0

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def f32(self, name, array):
        return self.init(name, np.asarray(array, dtype=np.float32))

    def i64(self, name, array):
        return self.init(name, np.asarray(array, dtype=np.int64))

    def normal(self, name, shape, fan_in):
        w = self.rng.standard_normal(shape) / np.sqrt(fan_in)
        return self.f32(name, w)

    def bias(self, name, n):
        return self.f32(name, self.rng.standard_normal((n,)) * 0.1)

    def uniform(self, name, shape, lo, hi):
        return self.f32(name, self.rng.uniform(lo, hi, size=shape))

    def node(self, op, inputs, outputs=None, name=None, **attrs):
        self._n += 1
        name = name or f"{op.lower()}{self._n}"
        if outputs is None:
            outputs = [f"{name}_out"]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    # common front ends -----------------------------------------------------

    def matmul(self, x, k, n, name="matmul"):
        w = self.normal(f"{name}.weight", (k, n), k)
        return self.node("MatMul", [x, w], name=name)

    def conv(self, x, cin, cout, kernel, name="conv", **attrs):
        kernel = list(kernel)
        fan_in = cin * int(np.prod(kernel))
        w = self.normal(f"{name}.weight", (cout, cin, *kernel), fan_in)
        b = self.bias(f"{name}.bias", cout)
        attrs.setdefault("kernel_shape", kernel)
        return self.node("Conv", [x, w, b], name=name, **attrs)


CASES = []


def case(name, shape, lo=-1.0, hi=1.0, quantize=True, calibration=True, inputs=None, note="", int8_note=""):
    def register(fn):
        CASES.append(dict(
            name=name, shape=tuple(shape), lo=lo, hi=hi, quantize=quantize,
            calibration=calibration, inputs=inputs, note=note, int8_note=int8_note, build=fn,
            doc=(fn.__doc__ or "").strip(),
        ))
        return fn
    return register


# --------------------------------------------------------------------------
# cases. Each builder gets a Builder and the input name "x" and returns the
# name of the tensor that becomes the graph output (renamed to "y").
# --------------------------------------------------------------------------

@case("conv1d", (1, 3, 16))
def _(b, x):
    """Conv1d k3 pad 1 stride 1, 4 out ch, bias -> Relu"""
    c = b.conv(x, 3, 4, [3], pads=[1, 1], strides=[1], dilations=[1], group=1)
    return b.node("Relu", [c], name="relu")


@case("conv1d_strided", (1, 2, 17))
def _(b, x):
    """Conv1d k5 stride 2 dilation 1 pads [2,1], 3 out ch, bias"""
    return b.conv(x, 2, 3, [5], pads=[2, 1], strides=[2], dilations=[1], group=1)


@case("conv3d", (1, 2, 5, 6, 6))
def _(b, x):
    """Conv3d k[2,3,3] pads D 0 / H,W 1, stride 1, 3 out ch, bias -> Relu"""
    c = b.conv(x, 2, 3, [2, 3, 3], pads=[0, 1, 1, 0, 1, 1], strides=[1, 1, 1], dilations=[1, 1, 1], group=1)
    return b.node("Relu", [c], name="relu")


# A pool straight on the graph input is left float by quantize_static (MaxPool and
# AveragePool are only quantized when their input already is), so each pool case
# starts with a small shape-preserving Conv that gives the int8 model real int8 work.
POOL_NOTE = ("a shape-preserving Conv (kernel 3, pad 1) precedes the pool: quantize_static leaves a pool "
             "that reads the float graph input unquantized")


@case("maxpool1d", (1, 3, 16), note=POOL_NOTE)
def _(b, x):
    """Conv1d k3 pad 1 (3 ch) -> MaxPool1d k3 stride 2 pads [1,1]"""
    c = b.conv(x, 3, 3, [3], pads=[1, 1], strides=[1], dilations=[1], group=1)
    return b.node("MaxPool", [c], name="pool", kernel_shape=[3], strides=[2], pads=[1, 1])


@case("maxpool3d", (1, 2, 4, 6, 6), note=POOL_NOTE)
def _(b, x):
    """Conv3d k[3,3,3] pad 1 (2 ch) -> MaxPool3d k[2,2,2] stride 2"""
    c = b.conv(x, 2, 2, [3, 3, 3], pads=[1] * 6, strides=[1, 1, 1], dilations=[1, 1, 1], group=1)
    return b.node("MaxPool", [c], name="pool", kernel_shape=[2, 2, 2], strides=[2, 2, 2], pads=[0] * 6)


@case("avgpool1d", (1, 3, 16), note=POOL_NOTE)
def _(b, x):
    """Conv1d k3 pad 1 (3 ch) -> AveragePool1d k3 stride 2 pads [1,1] count_include_pad 0"""
    c = b.conv(x, 3, 3, [3], pads=[1, 1], strides=[1], dilations=[1], group=1)
    return b.node("AveragePool", [c], name="pool", kernel_shape=[3], strides=[2], pads=[1, 1], count_include_pad=0)


@case("avgpool3d", (1, 2, 4, 6, 6), note=POOL_NOTE)
def _(b, x):
    """Conv3d k[3,3,3] pad 1 (2 ch) -> AveragePool3d k[2,2,2] stride 2"""
    c = b.conv(x, 2, 2, [3, 3, 3], pads=[1] * 6, strides=[1, 1, 1], dilations=[1, 1, 1], group=1)
    return b.node("AveragePool", [c], name="pool", kernel_shape=[2, 2, 2], strides=[2, 2, 2], pads=[0] * 6)


@case("avgpool2d_strided", (1, 3, 9, 9),
      int8_note="the AveragePool output is re-quantized with its input's scale and zero point; ORT ENABLE_ALL "
                "runs it as com.microsoft:QLinearAveragePool")
def _(b, x):
    """Conv 3x3 pad 1 (4 ch) -> AveragePool k3 stride 2 (no pad)"""
    c = b.conv(x, 3, 4, [3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
    return b.node("AveragePool", [c], name="pool", kernel_shape=[3, 3], strides=[2, 2], pads=[0] * 4, count_include_pad=0)


@case("convtranspose2d", (1, 2, 5, 5))
def _(b, x):
    """ConvTranspose k3 stride 2 pads 1 output_padding 1, 2 -> 3 ch, bias"""
    w = b.normal("convt.weight", (2, 3, 3, 3), 2 * 9)  # [C_in, C_out, kH, kW]
    bias = b.bias("convt.bias", 3)
    return b.node("ConvTranspose", [x, w, bias], name="convt", kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1], output_padding=[1, 1], dilations=[1, 1], group=1)


def _pad_case(mode):
    def build(b, x):
        c = b.conv(x, 2, 3, [3, 3], pads=[0, 0, 0, 0], strides=[1, 1], dilations=[1, 1], group=1)
        pads = b.i64("pad.pads", [0, 0, 1, 2, 0, 0, 2, 1])
        ins = [c, pads]
        if mode == "constant":
            ins.append(b.f32("pad.value", np.float32(0.0)))
        return b.node("Pad", ins, name="pad", mode=mode)
    build.__doc__ = f"Conv 3x3 no pad (3 ch) -> Pad mode={mode} pads [0,0,1,2,0,0,2,1]" + (
        ", constant_value 0" if mode == "constant" else "")
    return build


for _mode in ("constant", "reflect", "edge"):
    case(f"pad_{_mode}", (1, 2, 5, 5))(_pad_case(_mode))


@case("prelu", (1, 4, 6, 6))
def _(b, x):
    """Conv 3x3 pad 1 (4 ch) -> PRelu slope [4,1,1] in [0.05,0.5]"""
    c = b.conv(x, 4, 4, [3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
    s = b.uniform("prelu.slope", (4, 1, 1), 0.05, 0.5)
    return b.node("PRelu", [c, s], name="prelu")


@case("prelu_scalar", (1, 8))
def _(b, x):
    """MatMul [8,8] -> PRelu slope [1] = 0.2"""
    m = b.matmul(x, 8, 8)
    s = b.f32("prelu.slope", [0.2])
    return b.node("PRelu", [m, s], name="prelu")


UNARY = [
    # name, op, attrs, input range
    ("neg", "Neg", {}, (-1.0, 1.0)),
    ("abs", "Abs", {}, (-1.0, 1.0)),
    ("sign", "Sign", {}, (-1.0, 1.0)),
    ("exp", "Exp", {}, (-1.0, 1.0)),
    ("elu", "Elu", {"alpha": 0.7}, (-1.0, 1.0)),
    ("selu", "Selu", {}, (-1.0, 1.0)),
    ("softplus", "Softplus", {}, (-1.0, 1.0)),
    ("leakyrelu", "LeakyRelu", {"alpha": 0.1}, (-1.0, 1.0)),
    ("shrink", "Shrink", {"bias": 0.2, "lambd": 0.5}, (-1.0, 1.0)),
    ("hardsigmoid", "HardSigmoid", {}, (-1.0, 1.0)),
    ("softsign", "Softsign", {}, (-1.0, 1.0)),
]


def _unary_case(op, attrs):
    def build(b, x):
        m = b.matmul(x, 16, 12)
        return b.node(op, [m], name=op.lower(), **attrs)
    a = ", ".join(f"{k}={v}" for k, v in attrs.items())
    build.__doc__ = f"MatMul [16,12] -> {op}" + (f" ({a})" if a else " (default attributes)")
    return build


UNARY_INT8_NOTES = {
    "sign": "where the MatMul output quantizes to its zero point, the int8 model's Sign gives 0 instead of "
            "+-1 (counted in elements_differing_from_float)",
    "leakyrelu": "LeakyRelu is in quantize_static's QLinear op list, so it is wrapped in QDQ "
                 "(ORT ENABLE_ALL runs com.microsoft:QLinearLeakyRelu)",
}

for _name, _op, _attrs, (_lo, _hi) in UNARY:
    case(_name, (1, 16), lo=_lo, hi=_hi, int8_note=UNARY_INT8_NOTES.get(_name, ""))(_unary_case(_op, _attrs))


def _variadic_case(op):
    def build(b, x):
        a = b.matmul(x, 12, 12, name="matmul_a")
        c = b.matmul(x, 12, 12, name="matmul_b")
        ins = [a, c, x] if op == "Sum" else [a, c]
        return b.node(op, ins, name=op.lower())
    build.__doc__ = f"A = MatMul [12,12], B = MatMul [12,12] -> {op}(" + (
        "A, B, x)" if op == "Sum" else "A, B)")
    return build


for _op in ("Max", "Min", "Sum"):
    case(_op.lower(), (1, 12))(_variadic_case(_op))


@case("logsoftmax", (1, 10))
def _(b, x):
    """MatMul [10,10] -> LogSoftmax(axis -1)"""
    m = b.matmul(x, 10, 10)
    return b.node("LogSoftmax", [m], name="logsoftmax", axis=-1)


@case("logsoftmax_axis1", (2, 5, 4),
      note="a MatMul precedes the LogSoftmax: alone, quantize_static leaves it (and the whole model) float")
def _(b, x):
    """MatMul [4,4] on x [2,5,4] -> LogSoftmax(axis 1)"""
    m = b.matmul(x, 4, 4)
    return b.node("LogSoftmax", [m], name="logsoftmax", axis=1)


@case("reducemean", (1, 4, 6, 6))
def _(b, x):
    """Conv 3x3 pad 1 (4 ch) -> ReduceMean(axes attribute [2,3], keepdims 1)"""
    c = b.conv(x, 4, 4, [3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
    return b.node("ReduceMean", [c], name="reducemean", axes=[2, 3], keepdims=1)


@case("reducesum", (1, 6, 8))
def _(b, x):
    """MatMul [8,8] -> ReduceSum(axes input [-1], keepdims 0)"""
    m = b.matmul(x, 8, 8)
    axes = b.i64("reducesum.axes", [-1])
    return b.node("ReduceSum", [m, axes], name="reducesum", keepdims=0)


@case("instancenorm", (1, 3, 5, 5))
def _(b, x):
    """Conv 3x3 pad 1 (3 ch) -> InstanceNormalization(scale in [0.5,1.5], B normal*0.1)"""
    c = b.conv(x, 3, 3, [3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
    s = b.uniform("instnorm.scale", (3,), 0.5, 1.5)
    bb = b.bias("instnorm.bias", 3)
    return b.node("InstanceNormalization", [c, s, bb], name="instnorm", epsilon=1e-5)


@case("batchnorm", (1, 3, 5, 5),
      int8_note="quantize_static keeps BatchNormalization as a float op between QDQ: the Relu on the float graph "
                "input stays (a Relu is only folded away when its input is quantized) and its output is "
                "quantized; BN's scale becomes a per-tensor int8 weight behind a DequantizeLinear, its bias an "
                "int32 behind a DequantizeLinear with scale = input scale * scale's scale, mean and var stay "
                "float initializers, and the BN output is quantized, so y comes from a DequantizeLinear")
def _(b, x):
    """Relu -> BatchNormalization(scale in [0.5,1.5], bias normal*0.1, mean in [0,0.5], var in [0.5,1.5])"""
    r = b.node("Relu", [x], name="relu")
    s = b.uniform("bn.scale", (3,), 0.5, 1.5)
    bb = b.bias("bn.bias", 3)
    mean = b.uniform("bn.mean", (3,), 0.0, 0.5)
    var = b.uniform("bn.var", (3,), 0.5, 1.5)
    return b.node("BatchNormalization", [r, s, bb, mean, var], name="bn", epsilon=1e-5, momentum=0.9)


@case("gemm_computed_bias", (1, 8),
      int8_note="C is computed, so quantize_static (with the warning 'Bias of Gemm node gemm is not constant') "
                "wraps the Mul in QDQ (c_const and 2.0 become int8 initializers behind DequantizeLinear) and "
                "quantizes the Gemm's C as an int8 activation with its own scale, not as an int32 bias")
def _(b, x):
    """Gemm(A=x, B=W [8,6], C=Mul(c_const [6], 2.0)); the bias is computed, not an initializer"""
    w = b.normal("gemm.weight", (8, 6), 8)
    c = b.bias("gemm.c_const", 6)
    two = b.f32("gemm.two", np.float32(2.0))
    cb = b.node("Mul", [c, two], name="bias_mul")
    return b.node("Gemm", [x, w, cb], name="gemm")


@case("gemm_wide", (1, 128),
      note="one product too large for a shard of 2^12 rows: compiled with --max-log-rows 12 it is split "
           "into column blocks")
def _(b, x):
    """Gemm(A=x, B=W [128,512], C=bias [512]) -> Relu"""
    w = b.normal("gemm.weight", (128, 512), 128)
    c = b.bias("gemm.bias", 512)
    g = b.node("Gemm", [x, w, c], name="gemm")
    return b.node("Relu", [g], name="relu")


@case("split", (1, 6, 4))
def _(b, x):
    """MatMul [4,4] -> Split(axis 1, split [2,4]) -> Concat(second, first; axis 1)"""
    m = b.matmul(x, 4, 4)
    sp = b.i64("split.split", [2, 4])
    p0, p1 = b.node("Split", [m, sp], ["split_out0", "split_out1"], name="split", axis=1)
    return b.node("Concat", [p1, p0], name="concat", axis=1)


@case("expand", (1, 1, 4))
def _(b, x):
    """MatMul [4,4] -> Expand to [1,3,4]"""
    m = b.matmul(x, 4, 4)
    shape = b.i64("expand.shape", [1, 3, 4])
    return b.node("Expand", [m, shape], name="expand")


@case("tile", (1, 2, 3))
def _(b, x):
    """MatMul [3,3] -> Tile repeats [1,2,2]"""
    m = b.matmul(x, 3, 3)
    reps = b.i64("tile.repeats", [1, 2, 2])
    return b.node("Tile", [m, reps], name="tile")


@case("slice", (1, 4, 8))
def _(b, x):
    """MatMul [8,8] -> Slice(starts [1,2], ends [3,7], axes [1,2], steps [1,2])"""
    m = b.matmul(x, 8, 8)
    ins = [m, b.i64("slice.starts", [1, 2]), b.i64("slice.ends", [3, 7]),
           b.i64("slice.axes", [1, 2]), b.i64("slice.steps", [1, 2])]
    return b.node("Slice", ins, name="slice")


@case("gather", (1, 5, 6))
def _(b, x):
    """MatMul [6,6] -> Gather(indices int64 [[0,3],[4,1]], axis 1)"""
    m = b.matmul(x, 6, 6)
    idx = b.i64("gather.indices", [[0, 3], [4, 1]])
    return b.node("Gather", [m, idx], name="gather", axis=1)


# Normalization and activation patterns as exporters write them. Scalar constants
# are float32 initializers of shape [] (what torch.onnx emits for Python floats).

DECOMPOSED_INT8_NOTE = (
    "quantize_static's op list holds MatMul, Add and Mul but none of Sub, Div, Pow, Sqrt, Reciprocal, "
    "ReduceMean, Erf, Tanh; the constant operands of Add and Mul become int8 initializers behind a "
    "DequantizeLinear, quantized asymmetrically like activations (a positive scalar c: q 127, zero point -128, "
    "scale c/255, which dequantizes back to c exactly here), not symmetrically like the MatMul weight; Pow's "
    "exponent and a constant Div divisor stay float initializers; an op outside the list ends up between "
    "DequantizeLinear and QuantizeLinear only where its neighbours quantize the tensors it reads and writes")


@case("layernorm", (1, 4, 8),
      int8_note="LayerNormalization is in quantize_static's op list: its scale becomes a per-tensor int8 weight "
                "(zero point 0) and its B an int32 bias behind a DequantizeLinear with scale = input scale * "
                "scale's scale (shape [1]), as for BatchNormalization; ORT ENABLE_ALL runs the MatMul as "
                "QLinearMatMul and the LayerNormalization as a float op between DequantizeLinear and "
                "QuantizeLinear")
def _(b, x):
    """MatMul [8,8] -> LayerNormalization(axis -1, epsilon 1e-5, scale [8] in [0.5,1.5], B [8] normal*0.1)"""
    h = b.matmul(x, 8, 8)
    s = b.uniform("ln.scale", (8,), 0.5, 1.5)
    bb = b.bias("ln.bias", 8)
    return b.node("LayerNormalization", [h, s, bb], name="layernorm", axis=-1, epsilon=1e-5)


@case("layernorm_decomposed", (1, 4, 8),
      note="ORT_ENABLE_ALL fuses the float pattern into one LayerNormalization, which rounds differently "
           "from ORT_DISABLE_ALL's op-by-op evaluation, so the float samples carry both",
      int8_note=DECOMPOSED_INT8_NOTE + "; here Sub's output stays float (it feeds Pow and Div) and the "
                "variance (ReduceMean output), Add(v, eps) and the Div output are quantized; ORT does not "
                "fuse the QDQ graph")
def _(b, x):
    ("MatMul [8,8] -> h; mean = ReduceMean(h, axes [-1], keepdims 1); d = Sub(h, mean); "
     "v = ReduceMean(Pow(d, 2.0), axes [-1], keepdims 1); s = Sqrt(Add(v, 1e-5)); n = Div(d, s); "
     "y = Add(Mul(n, gamma [8] in [0.5,1.5]), beta [8] normal*0.1)")
    h = b.matmul(x, 8, 8)
    gamma = b.uniform("ln.gamma", (8,), 0.5, 1.5)
    beta = b.bias("ln.beta", 8)
    two = b.f32("ln.two", np.float32(2.0))
    eps = b.f32("ln.eps", np.float32(1e-5))
    mean = b.node("ReduceMean", [h], name="mean", axes=[-1], keepdims=1)
    d = b.node("Sub", [h, mean], name="sub")
    sq = b.node("Pow", [d, two], name="pow")
    v = b.node("ReduceMean", [sq], name="var", axes=[-1], keepdims=1)
    ve = b.node("Add", [v, eps], name="add_eps")
    s = b.node("Sqrt", [ve], name="sqrt")
    n = b.node("Div", [d, s], name="div")
    g = b.node("Mul", [n, gamma], name="mul_gamma")
    return b.node("Add", [g, beta], name="add_beta")


@case("rmsnorm", (1, 4, 8),
      note="ORT_ENABLE_ALL leaves this Reciprocal form unfused (no SimplifiedLayerNormalization)",
      int8_note=DECOMPOSED_INT8_NOTE + "; here the mean square (ReduceMean output) is quantized before eps "
                "is added, and Reciprocal's output is quantized before the Mul with h")
def _(b, x):
    ("MatMul [8,8] -> h; y = Mul(Mul(h, Reciprocal(Sqrt(Add(ReduceMean(Pow(h, 2.0), axes [-1], keepdims 1), "
     "1e-6)))), weight [8] in [0.5,1.5])")
    h = b.matmul(x, 8, 8)
    w = b.uniform("rms.weight", (8,), 0.5, 1.5)
    two = b.f32("rms.two", np.float32(2.0))
    eps = b.f32("rms.eps", np.float32(1e-6))
    sq = b.node("Pow", [h, two], name="pow")
    ms = b.node("ReduceMean", [sq], name="mean", axes=[-1], keepdims=1)
    me = b.node("Add", [ms, eps], name="add_eps")
    r = b.node("Sqrt", [me], name="sqrt")
    inv = b.node("Reciprocal", [r], name="reciprocal")
    n = b.node("Mul", [h, inv], name="mul_norm")
    return b.node("Mul", [n, w], name="mul_weight")


@case("gelu_erf", (1, 16),
      note="ORT_ENABLE_ALL fuses the float pattern into com.microsoft:Gelu, which rounds differently from "
           "ORT_DISABLE_ALL on a few elements, so the float samples carry both",
      int8_note=DECOMPOSED_INT8_NOTE + "; here Div and Erf run float between the MatMul's DequantizeLinear "
                "and the QuantizeLinear of Erf's output; ORT ENABLE_ALL runs the final Mul as "
                "com.microsoft:QLinearMul")
def _(b, x):
    """MatMul [16,12] -> h; y = Mul(Mul(h, 0.5), Add(Erf(Div(h, 1.4142135)), 1.0))"""
    h = b.matmul(x, 16, 12)
    sqrt2 = b.f32("gelu.sqrt2", np.float32(1.4142135))
    one = b.f32("gelu.one", np.float32(1.0))
    half = b.f32("gelu.half", np.float32(0.5))
    dv = b.node("Div", [h, sqrt2], name="div")
    e = b.node("Erf", [dv], name="erf")
    a = b.node("Add", [e, one], name="add_one")
    hh = b.node("Mul", [h, half], name="mul_half")
    return b.node("Mul", [hh, a], name="mul")


@case("gelu_tanh", (1, 16),
      note="ORT_ENABLE_ALL leaves this pattern unfused (no FastGelu)",
      int8_note=DECOMPOSED_INT8_NOTE + "; here Pow (float exponent 3.0) reads a DequantizeLinear and its "
                "output is quantized, and Tanh sits between DequantizeLinear and QuantizeLinear; ORT "
                "ENABLE_ALL runs the final Mul as com.microsoft:QLinearMul")
def _(b, x):
    ("MatMul [16,12] -> h; y = Mul(Mul(h, 0.5), Add(Tanh(Mul(Add(h, Mul(Pow(h, 3.0), 0.044715)), "
     "0.7978845608)), 1.0))")
    h = b.matmul(x, 16, 12)
    three = b.f32("gelu.three", np.float32(3.0))
    c = b.f32("gelu.coeff", np.float32(0.044715))
    k = b.f32("gelu.sqrt_2_over_pi", np.float32(0.7978845608))
    one = b.f32("gelu.one", np.float32(1.0))
    half = b.f32("gelu.half", np.float32(0.5))
    p = b.node("Pow", [h, three], name="pow")
    pc = b.node("Mul", [p, c], name="mul_coeff")
    s = b.node("Add", [h, pc], name="add_inner")
    t = b.node("Mul", [s, k], name="mul_k")
    th = b.node("Tanh", [t], name="tanh")
    a = b.node("Add", [th, one], name="add_one")
    hh = b.node("Mul", [h, half], name="mul_half")
    return b.node("Mul", [hh, a], name="mul")


@case("silu", (1, 16),
      note="ORT_ENABLE_ALL fuses the float pattern into com.microsoft:QuickGelu (alpha 1), bit-identical to "
           "ORT_DISABLE_ALL here",
      int8_note="Sigmoid and Mul are both in quantize_static's op list: Sigmoid's output is quantized with "
                "its own scale and the Mul reads h and Sigmoid(h) through DequantizeLinears; ORT does not "
                "fuse the QDQ graph (Sigmoid and Mul run float between DequantizeLinear and QuantizeLinear)")
def _(b, x):
    """MatMul [16,12] -> h; y = Mul(h, Sigmoid(h))"""
    h = b.matmul(x, 16, 12)
    s = b.node("Sigmoid", [h], name="sigmoid")
    return b.node("Mul", [h, s], name="mul")


RELU_UNCALIBRATED_INPUTS = [
    [[1.76, -0.5, 0.3, 0.9]],
    [[-1.2, 1.5, 0.0, -0.01]],
    [[0.25, -1.76, 1.1, 0.6]],
    [[1.0, 0.75, -0.3, 1.7]],
]


@case("relu_uncalibrated", (1, 4), lo=-1.76, hi=1.76, quantize=False, calibration=False,
      inputs=RELU_UNCALIBRATED_INPUTS,
      note="fixed hand-written inputs with |values| up to 1.76; no calibration.json and no int8 "
           "variant, so zkinf must guess the ranges")
def _(b, x):
    """Relu directly on x"""
    return b.node("Relu", [x], name="relu")


# --------------------------------------------------------------------------
# model assembly
# --------------------------------------------------------------------------

def build_model(spec):
    b = Builder(spec["name"])
    out = spec["build"](b, "x")
    # rename the final tensor to "y"
    for n in b.nodes:
        for i, o in enumerate(n.output):
            if o == out:
                n.output[i] = "y"
        for i, t in enumerate(n.input):
            if t == out:
                n.input[i] = "y"
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(spec["shape"]))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    g = helper.make_graph(b.nodes, spec["name"], [x], [y], b.inits)
    model = helper.make_model(
        g,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="zkinf-models-ops",
        producer_version="1",
    )
    model.ir_version = IR_VERSION
    model.doc_string = f"{spec['name']}: {spec['doc']}"
    model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    # make every shape static, y included
    for v in list(model.graph.value_info) + list(model.graph.output):
        t = v.type.tensor_type
        assert t.HasField("shape"), f"{spec['name']}: no inferred shape for {v.name}"
        for d in t.shape.dim:
            assert d.HasField("dim_value"), f"{spec['name']}: non-static dim in {v.name}"
    onnx.checker.check_model(model, full_check=True)
    return model


def make_inputs(spec):
    if spec["inputs"] is not None:
        xs = np.asarray(spec["inputs"], dtype=np.float32)
        assert xs.shape == (N_SAMPLES, *spec["shape"])
        return xs
    rng = np.random.default_rng(seed_of(spec["name"] + ":inputs"))
    xs = rng.uniform(spec["lo"], spec["hi"], size=(N_SAMPLES, *spec["shape"]))
    return xs.astype(np.float32)


# --------------------------------------------------------------------------
# onnxruntime helpers
# --------------------------------------------------------------------------

def session(path, level):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def ort_optimized_ops(path):
    """Op types of the graph that ORT_ENABLE_ALL actually runs (after its QDQ
    fusions and layout rewrites), from a separate session that saves it."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    with tempfile.TemporaryDirectory() as d:
        so.optimized_model_filepath = str(Path(d) / "optimized.onnx")
        ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        m = onnx.load(so.optimized_model_filepath)
    return [(n.domain + ":" if n.domain else "") + n.op_type for n in m.graph.node]


def run_all(sess, xs):
    return np.stack([sess.run(["y"], {"x": xi})[0] for xi in xs]).astype(np.float32)


class ListReader(CalibrationDataReader):
    def __init__(self, xs):
        self._data = [{"x": xi.copy()} for xi in xs]
        self._i = 0

    def get_next(self):
        if self._i >= len(self._data):
            return None
        self._i += 1
        return self._data[self._i - 1]

    def rewind(self):
        self._i = 0


class _QuietQuantWarnings(logging.Filter):
    # onnxruntime.quantization logs an advisory pre-processing hint on the root logger.
    def filter(self, record):
        return not record.getMessage().startswith("Please consider")


# --------------------------------------------------------------------------
# graph analysis
# --------------------------------------------------------------------------

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")


def op_types(model):
    seen = {}
    for n in model.graph.node:
        k = (n.domain or "ai.onnx", n.op_type)
        seen[k] = seen.get(k, 0) + 1
    return [f"{d}:{o}" + (f" x{c}" if c > 1 else "") for (d, o), c in sorted(seen.items())]


def describe(model):
    def vi(v):
        t = v.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in t.shape.dim]
        return {"name": v.name, "elem_type": TensorProto.DataType.Name(t.elem_type), "shape": dims}

    return {
        "ir_version": model.ir_version,
        "opset_import": sorted(f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import),
        "inputs": [vi(v) for v in model.graph.input],
        "outputs": [vi(v) for v in model.graph.output],
        "nodes": [f"{n.name}: {(n.domain + ':') if n.domain else ''}{n.op_type}" for n in model.graph.node],
        "op_types": op_types(model),
    }


def qdq_analysis(model):
    """For a QDQ graph: which node makes y, and which compute nodes (not
    Q/DQ) read a float tensor that does not come from a DequantizeLinear, or
    write a tensor that is not (only) consumed by QuantizeLinear."""
    g = model.graph
    init_type = {i.name: i.data_type for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    consumers = {}
    for n in g.node:
        for t in n.input:
            if t:
                consumers.setdefault(t, []).append(n)
    graph_outputs = {o.name for o in g.output}
    graph_inputs = {i.name for i in g.input}

    y_node = producer["y"]
    not_wrapped = []
    for n in g.node:
        if n.op_type in QDQ_OPS:
            continue
        float_in = []
        for t in n.input:
            if not t:
                continue
            if t in init_type:
                if init_type[t] == TensorProto.FLOAT:
                    float_in.append(f"{t} (float initializer)")
                continue  # int64 shapes/indices/axes are not quantizable data
            if t in graph_inputs:
                float_in.append(f"{t} (graph input)")
                continue
            p = producer.get(t)
            if p is not None and p.op_type != "DequantizeLinear":
                float_in.append(f"{t} (from {p.op_type} {p.name})")
        float_out = []
        for t in n.output:
            cs = consumers.get(t, [])
            if t in graph_outputs:
                float_out.append(f"{t} (graph output)")
            elif not cs or any(c.op_type != "QuantizeLinear" for c in cs):
                float_out.append(f"{t} (to {', '.join(sorted({c.op_type for c in cs})) or 'nothing'})")
        if float_in or float_out:
            not_wrapped.append({"node": n.name, "op_type": n.op_type, "float_inputs": float_in, "float_outputs": float_out})
    def source(t):
        if t in init_type:
            return f"{TensorProto.DataType.Name(init_type[t]).lower()} initializer {t}"
        if t in graph_inputs:
            return f"graph input {t}"
        p = producer[t]
        if p.op_type == "DequantizeLinear":
            q = p.input[0]
            if q in init_type:
                what = f"{TensorProto.DataType.Name(init_type[q]).lower()} initializer {q}"
            else:
                what = f"activation from {producer[q].op_type} {producer[q].name}"
            return f"DequantizeLinear({what}, scale {p.input[1]})"
        return f"{p.op_type} {p.name}"

    def sink(t):
        if t in graph_outputs:
            return "graph output"
        cs = consumers.get(t, [])
        return ", ".join(
            f"QuantizeLinear(scale {c.input[1]})" if c.op_type == "QuantizeLinear" else f"{c.op_type} {c.name}"
            for c in cs) or "nothing"

    compute_nodes = [
        {
            "node": n.name,
            "op_type": n.op_type,
            "inputs": [source(t) for t in n.input if t],
            "outputs": [sink(t) for t in n.output],
        }
        for n in g.node if n.op_type not in QDQ_OPS
    ]
    compute = [n.op_type for n in g.node if n.op_type not in QDQ_OPS]
    return {
        "node_op_types": [n.op_type for n in g.node],
        "compute_ops": compute,
        "y_produced_by": f"{y_node.op_type} ({y_node.name})",
        "y_from_dequantizelinear": y_node.op_type == "DequantizeLinear",
        "quantize_linear_count": sum(n.op_type == "QuantizeLinear" for n in g.node),
        "dequantize_linear_count": sum(n.op_type == "DequantizeLinear" for n in g.node),
        "ops_not_wrapped_in_qdq": not_wrapped,
        "compute_nodes": compute_nodes,
    }


# --------------------------------------------------------------------------
# file writing
# --------------------------------------------------------------------------

def f32list(a):
    """Nested list of python floats that are exactly the float32 values."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 0:
        return float(a)
    return [f32list(s) for s in a]


def write_json(path, obj, per_line_keys=()):
    """Deterministic JSON: top-level keys in insertion order, one list element
    of each key in per_line_keys per line, everything else compact."""
    parts = []
    for k, v in obj.items():
        key = json.dumps(k)
        if k in per_line_keys:
            body = ",\n".join(json.dumps(e, separators=(",", ":")) for e in v)
            parts.append(f"{key}: [\n{body}\n]")
        else:
            parts.append(f"{key}: {json.dumps(v, separators=(',', ':'))}")
    path.write_text("{\n" + ",\n".join(parts) + "\n}\n")


def manifest_json(obj, level=0):
    """Indented JSON; a list or dict that holds no dict and fits in 120 columns stays on one line."""
    pad, pad1 = " " * level, " " * (level + 1)
    flat = json.dumps(obj, separators=(", ", ": "))
    if isinstance(obj, (dict, list)) and len(flat) + level <= 120 and all(
            not isinstance(e, dict) for e in (obj.values() if isinstance(obj, dict) else obj)):
        return flat
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad1}{json.dumps(k)}: {manifest_json(v, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        items = [f"{pad1}{manifest_json(e, level + 1)}" for e in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]" if items else "[]"
    return json.dumps(obj)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def quantize_note(name, a):
    """A human-readable summary of what quantize_static did."""
    nw = a["ops_not_wrapped_in_qdq"]
    if a["quantize_linear_count"] == 0 and a["dequantize_linear_count"] == 0:
        return "quantize_static quantized nothing: the int8 model is the float graph without Q/DQ"
    if not nw:
        return "every compute op is wrapped in QDQ; y comes from a DequantizeLinear"
    ops = ", ".join(sorted({f"{w['op_type']} ({w['node']})" for w in nw}))
    where = "DequantizeLinear" if a["y_from_dequantizelinear"] else "a float op"
    return f"y comes from {where}; not wrapped in QDQ: {ops}"


def main():
    logging.getLogger().addFilter(_QuietQuantWarnings())
    OUT.mkdir(parents=True, exist_ok=True)
    for old in sorted(OUT.iterdir()):
        if old.is_file() and old.suffix in (".onnx", ".json"):
            old.unlink()

    names = [c["name"] for c in CASES]
    assert len(set(names)) == len(names)

    models = {}
    cases_out = {}
    for spec in CASES:
        name = spec["name"]
        model = build_model(spec)
        onnx.save_model(model, str(OUT / f"{name}.onnx"))
        xs = make_inputs(spec)
        entries = [(name, False)]
        if spec["quantize"]:
            qname = f"{name}_int8"
            quantize_static(
                str(OUT / f"{name}.onnx"),
                str(OUT / f"{qname}.onnx"),
                ListReader(xs),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                per_channel=False,
                calibrate_method=CalibrationMethod.MinMax,
            )
            onnx.checker.check_model(onnx.load(str(OUT / f"{qname}.onnx")), full_check=True)
            entries.append((qname, True))

        float_out = None
        case_models = []
        for mname, is_q in entries:
            path = OUT / f"{mname}.onnx"
            m = onnx.load(str(path))
            out = run_all(session(path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL), xs)
            dis = run_all(session(path, ort.GraphOptimizationLevel.ORT_DISABLE_ALL), xs)
            same = np.array_equal(out.view(np.uint32), dis.view(np.uint32))
            assert np.isfinite(out).all(), f"{mname}: non-finite output"
            samples = {
                "model": f"{mname}.onnx",
                "input": "x",
                "output": "y",
                "onnxruntime": ort.__version__,
                "inputs": [f32list(xi) for xi in xs],
                "outputs": [f32list(o) for o in out],
            }
            if not same:
                samples["outputs_ort_disable_all"] = [f32list(o) for o in dis]
            write_json(OUT / f"{mname}.samples.json", samples,
                       per_line_keys=("inputs", "outputs", "outputs_ort_disable_all"))
            write_json(OUT / f"{mname}.input.json", {"x": f32list(xs[0])})
            if not is_q and spec["calibration"]:
                write_json(OUT / f"{mname}.calibration.json", {"x": [f32list(xi) for xi in xs]},
                           per_line_keys=("x",))

            entry = {
                "case": name,
                "quantized": is_q,
                "graph": describe(m),
                "enable_all_vs_disable_all": {
                    "bit_identical": bool(same),
                    "differing_elements": int((out.view(np.uint32) != dis.view(np.uint32)).sum()),
                    "max_abs_diff": float(np.abs(out.astype(np.float64) - dis).max()),
                },
                "output_range": [float(out.min()), float(out.max())],
                "ort_enable_all_ops": ort_optimized_ops(path),
            }
            if is_q:
                a = qdq_analysis(m)
                entry["qdq"] = a
                entry["max_abs_diff_vs_float"] = float(np.abs(out.astype(np.float64) - float_out).max())
                entry["elements_differing_from_float"] = int((out != float_out).sum())
                notes = [quantize_note(mname, a)]
                if spec["int8_note"]:
                    notes.append(spec["int8_note"])
                if not same:
                    notes.append("ORT_DISABLE_ALL differs from ORT_ENABLE_ALL (see outputs_ort_disable_all): "
                                 "ENABLE_ALL runs the fused int8 kernels listed in ort_enable_all_ops")
                entry["note"] = "; ".join(notes)
            else:
                float_out = out
            models[mname] = entry
            case_models.append(mname)

            print(f"== {mname}: {', '.join(entry['graph']['op_types'])}"
                  f"  y{entry['graph']['outputs'][0]['shape']}"
                  + ("" if same else "  [ENABLE_ALL != DISABLE_ALL]"))
            if is_q:
                print(f"   {entry['note']}; max |int8 - float| = {entry['max_abs_diff_vs_float']:.4g}")

        cases_out[name] = {
            "description": spec["doc"],
            "input_shape": list(spec["shape"]),
            "inputs": ("fixed hand-written values" if spec["inputs"] is not None
                       else f"uniform [{spec['lo']}, {spec['hi']}], seed crc32('{name}:inputs')"),
            "weights_seed": f"crc32('{name}:weights')",
            "calibration_json": spec["calibration"],
            "models": case_models,
        }
        if spec["note"]:
            cases_out[name]["note"] = spec["note"]

    files = sorted(p for p in OUT.iterdir() if p.is_file() and p.name != "MANIFEST.json")
    manifest = {
        "generator": "models/ops.py",
        "versions": {
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "numpy": np.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
        },
        "conventions": {
            "float_models": "opset ai.onnx 17, ir_version 8, one float32 input x, one float32 output y, "
                            "static shapes, value_info from onnx.shape_inference",
            "weights": "numpy default_rng(crc32('<case>:weights')); normal / sqrt(fan_in); biases normal * 0.1",
            "samples": f"{N_SAMPLES} inputs per case; outputs from onnxruntime CPU, ORT_ENABLE_ALL, 1 thread; "
                       "outputs_ort_disable_all added only where ORT_DISABLE_ALL differs",
            "int8": "quantize_static(QuantFormat.QDQ, activation QInt8, weight QInt8, per_channel=False, "
                    "CalibrationMethod.MinMax, default op types) calibrated on the same samples",
            "qdq.ops_not_wrapped_in_qdq": "compute nodes with a float input that is not a DequantizeLinear "
                                          "output (float initializers included, int64 ones not) or an output "
                                          "that is not consumed only by QuantizeLinear",
        },
        "cases": cases_out,
        "models": models,
        "files": {p.name: {"sha256": sha256(p), "size": p.stat().st_size} for p in files},
    }
    (OUT / "MANIFEST.json").write_text(manifest_json(manifest) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"\nwrote {len(files) + 1} files ({total} bytes) to {OUT}")


if __name__ == "__main__":
    main()
