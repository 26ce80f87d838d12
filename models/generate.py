#!/usr/bin/env python3
"""Deterministically generate the bundled digits models for zkinf.

Run through models/generate.sh (creates the pinned venv). Everything written
under models/digits/ is a pure function of the pinned package versions:
fixed seeds, fixed data split, single-threaded numerics, no time stamps.

Outputs (models/digits/):
  <name>.onnx               the model
  <name>.samples.json       200 held-out test digits with onnxruntime outputs
  <name>.input.json         the first test digit, zkinf input format
  <name>.calibration.json   (float models only) 64 training digits
  MANIFEST.json             sha256/size of every file, versions, accuracies
"""

import os

# Must be set before numpy / onnxruntime are imported.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import hashlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import sklearn  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnxruntime.quantization import (  # noqa: E402
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "digits"

OPSET = 17
IR_VERSION = 8
SEED = 0
N_TRAIN = 1297  # first 1297 digits train, last 500 test (dataset order is fixed)
N_SAMPLES = 200  # test digits recorded in *.samples.json
N_QCALIB = 200  # training digits fed to quantize_static's calibration
N_CALIB_JSON = 64  # training digits written to *.calibration.json

MLP_SHAPE = (1, 64)
CNN_SHAPE = (1, 1, 8, 8)


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------

def load_data():
    d = load_digits()
    x = (d.data.astype(np.float32) / np.float32(16.0)).astype(np.float32)
    y = d.target.astype(np.int64)
    assert x.shape == (1797, 64)
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------

def train_mlp(xtr, ytr):
    clf = MLPClassifier(
        hidden_layer_sizes=(32,),
        activation="relu",
        solver="adam",
        alpha=1e-2,
        batch_size=32,
        learning_rate_init=1e-3,
        max_iter=100,
        shuffle=True,
        random_state=SEED,
        tol=0.0,
        n_iter_no_change=10_000,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(xtr.astype(np.float64), ytr)
    w1 = clf.coefs_[0].T.astype(np.float32)  # [32, 64]
    b1 = clf.intercepts_[0].astype(np.float32)  # [32]
    w2 = clf.coefs_[1].T.astype(np.float32)  # [10, 32]
    b2 = clf.intercepts_[1].astype(np.float32)  # [10]
    return w1, b1, w2, b2


def _im2col(x):
    """x [N,C,H,W] -> cols [N*H*W, C*9] for a 3x3 kernel, pad 1, stride 1."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    patches = np.stack(
        [xp[:, :, ki:ki + h, kj:kj + w] for ki in range(3) for kj in range(3)],
        axis=2,
    )  # [N, C, 9, H, W]; column index = c*9 + ki*3 + kj matches W.reshape(O, C*9)
    return patches.transpose(0, 3, 4, 1, 2).reshape(n * h * w, c * 9)


def _col2im(dcols, shape):
    n, c, h, w = shape
    d = dcols.reshape(n, h, w, c, 9).transpose(0, 3, 4, 1, 2)  # [N, C, 9, H, W]
    dxp = np.zeros((n, c, h + 2, w + 2), dtype=dcols.dtype)
    k = 0
    for ki in range(3):
        for kj in range(3):
            dxp[:, :, ki:ki + h, kj:kj + w] += d[:, :, k]
            k += 1
    return dxp[:, :, 1:-1, 1:-1]


def _conv_fwd(x, w, b):
    n, _, h, wd = x.shape
    o = w.shape[0]
    cols = _im2col(x)
    out = cols @ w.reshape(o, -1).T + b  # [N*H*W, O]
    return out.reshape(n, h, wd, o).transpose(0, 3, 1, 2), cols


def _conv_bwd(dout, cols, w, x_shape, need_dx):
    o = w.shape[0]
    d = dout.transpose(0, 2, 3, 1).reshape(-1, o)  # [N*H*W, O]
    dw = (d.T @ cols).reshape(w.shape)
    db = d.sum(axis=0)
    dx = _col2im(d @ w.reshape(o, -1), x_shape) if need_dx else None
    return dx, dw, db


def _pool_fwd(x):
    n, c, h, w = x.shape
    r = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = r.max(axis=(3, 5))
    mask = r == out[:, :, :, None, :, None]
    return out, mask


def _pool_bwd(dout, mask):
    n, c, h2, _, w2, _ = mask.shape
    d = mask * dout[:, :, :, None, :, None]
    return d.reshape(n, c, h2 * 2, w2 * 2)


def cnn_forward(p, x, cache=False):
    z1, cols1 = _conv_fwd(x, p["w1"], p["b1"])
    a1 = np.maximum(z1, 0)
    p1, m1 = _pool_fwd(a1)
    z2, cols2 = _conv_fwd(p1, p["w2"], p["b2"])
    a2 = np.maximum(z2, 0)
    p2, m2 = _pool_fwd(a2)
    f = p2.reshape(p2.shape[0], -1)  # NCHW flatten, same as ONNX Flatten(axis=1)
    logits = f @ p["w3"].T + p["b3"]
    if not cache:
        return logits
    return logits, (x, z1, cols1, m1, p1, z2, cols2, m2, p2, f)


def cnn_backward(p, cache, dlogits):
    x, z1, cols1, m1, p1, z2, cols2, m2, p2, f = cache
    g = {}
    g["w3"] = dlogits.T @ f
    g["b3"] = dlogits.sum(axis=0)
    dp2 = (dlogits @ p["w3"]).reshape(p2.shape)
    dz2 = _pool_bwd(dp2, m2) * (z2 > 0)
    dp1, g["w2"], g["b2"] = _conv_bwd(dz2, cols2, p["w2"], p1.shape, True)
    dz1 = _pool_bwd(dp1, m1) * (z1 > 0)
    _, g["w1"], g["b1"] = _conv_bwd(dz1, cols1, p["w1"], x.shape, False)
    return g


def train_cnn(xtr, ytr, epochs=60, batch=32, lr=1e-2, wd=1e-3):
    rng = np.random.default_rng(SEED)

    def he(shape, fan_in):
        return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)

    p = {
        "w1": he((8, 1, 3, 3), 9),
        "b1": np.zeros(8),
        "w2": he((16, 8, 3, 3), 72),
        "b2": np.zeros(16),
        "w3": he((10, 64), 64) * 0.5,
        "b3": np.zeros(10),
    }
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    x = xtr.astype(np.float64).reshape(-1, 1, 8, 8)
    n = x.shape[0]
    onehot = np.eye(10)[ytr]
    t = 0
    for ep in range(epochs):
        cur_lr = lr * 0.5 * (1 + np.cos(np.pi * ep / epochs))  # cosine decay
        perm = rng.permutation(n)
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            logits, cache = cnn_forward(p, x[idx], cache=True)
            logits = logits - logits.max(axis=1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(axis=1, keepdims=True)
            dlogits = (prob - onehot[idx]) / len(idx)
            g = cnn_backward(p, cache, dlogits)
            t += 1
            for k in p:
                gk = g[k] + (wd * p[k] if k.startswith("w") else 0.0)
                m[k] = b1 * m[k] + (1 - b1) * gk
                v[k] = b2 * v[k] + (1 - b2) * gk * gk
                mh = m[k] / (1 - b1 ** t)
                vh = v[k] / (1 - b2 ** t)
                p[k] = p[k] - cur_lr * mh / (np.sqrt(vh) + eps)
    return {k: val.astype(np.float32) for k, val in p.items()}


# --------------------------------------------------------------------------
# ONNX export
# --------------------------------------------------------------------------

def _finish(graph, name):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="zkinf-models-generate",
        producer_version="1",
    )
    model.ir_version = IR_VERSION
    model.doc_string = name
    onnx.checker.check_model(model, full_check=True)
    return model


def _io(shape_in, shape_out):
    return (
        helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape_in)),
        helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape_out)),
    )


def export_mlp_gemm(w1, b1, w2, b2):
    x, y = _io(MLP_SHAPE, (1, 10))
    inits = [
        numpy_helper.from_array(w1, "fc1.weight"),
        numpy_helper.from_array(b1, "fc1.bias"),
        numpy_helper.from_array(w2, "fc2.weight"),
        numpy_helper.from_array(b2, "fc2.bias"),
    ]
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["fc1_out"], name="fc1", transB=1),
        helper.make_node("Relu", ["fc1_out"], ["relu1_out"], name="relu1"),
        helper.make_node("Gemm", ["relu1_out", "fc2.weight", "fc2.bias"], ["y"], name="fc2", transB=1),
    ]
    g = helper.make_graph(nodes, "digits_mlp", [x], [y], inits)
    return _finish(g, "digits MLP 64-32-10 (Gemm), input pixel/16, output logits")


def export_mlp_matmul(w1, b1, w2, b2):
    x, y = _io(MLP_SHAPE, (1, 10))
    inits = [
        numpy_helper.from_array(np.ascontiguousarray(w1.T), "fc1.weight_t"),  # [64, 32]
        numpy_helper.from_array(b1, "fc1.bias"),
        numpy_helper.from_array(np.ascontiguousarray(w2.T), "fc2.weight_t"),  # [32, 10]
        numpy_helper.from_array(b2, "fc2.bias"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "fc1.weight_t"], ["mm1_out"], name="matmul1"),
        helper.make_node("Add", ["mm1_out", "fc1.bias"], ["add1_out"], name="add1"),
        helper.make_node("Relu", ["add1_out"], ["relu1_out"], name="relu1"),
        helper.make_node("MatMul", ["relu1_out", "fc2.weight_t"], ["mm2_out"], name="matmul2"),
        helper.make_node("Add", ["mm2_out", "fc2.bias"], ["y"], name="add2"),
    ]
    g = helper.make_graph(nodes, "digits_mlp_matmul", [x], [y], inits)
    return _finish(g, "digits MLP 64-32-10 (MatMul+Add), input pixel/16, output logits")


def export_cnn(p):
    x, y = _io(CNN_SHAPE, (1, 10))
    inits = [
        numpy_helper.from_array(p["w1"], "conv1.weight"),
        numpy_helper.from_array(p["b1"], "conv1.bias"),
        numpy_helper.from_array(p["w2"], "conv2.weight"),
        numpy_helper.from_array(p["b2"], "conv2.bias"),
        numpy_helper.from_array(p["w3"], "fc.weight"),
        numpy_helper.from_array(p["b3"], "fc.bias"),
    ]
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
    pool = dict(kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    nodes = [
        helper.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["conv1_out"], name="conv1", **conv),
        helper.make_node("Relu", ["conv1_out"], ["relu1_out"], name="relu1"),
        helper.make_node("MaxPool", ["relu1_out"], ["pool1_out"], name="pool1", **pool),
        helper.make_node("Conv", ["pool1_out", "conv2.weight", "conv2.bias"], ["conv2_out"], name="conv2", **conv),
        helper.make_node("Relu", ["conv2_out"], ["relu2_out"], name="relu2"),
        helper.make_node("MaxPool", ["relu2_out"], ["pool2_out"], name="pool2", **pool),
        helper.make_node("Flatten", ["pool2_out"], ["flat_out"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat_out", "fc.weight", "fc.bias"], ["y"], name="fc", transB=1),
    ]
    g = helper.make_graph(nodes, "digits_cnn", [x], [y], inits)
    return _finish(g, "digits CNN conv8-pool-conv16-pool-fc10, input pixel/16, output logits")


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


def run_all(sess, xs, shape):
    outs = [sess.run(["y"], {"x": xi.reshape(shape)})[0] for xi in xs]
    return np.stack(outs).astype(np.float32)  # [N, 1, 10]


class DigitsReader(CalibrationDataReader):
    def __init__(self, xs, shape):
        self._data = [{"x": xi.reshape(shape).copy()} for xi in xs]
        self._i = 0

    def get_next(self):
        if self._i >= len(self._data):
            return None
        self._i += 1
        return self._data[self._i - 1]

    def rewind(self):
        self._i = 0


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


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

QUANT_VARIANTS = [
    # name, float source, format, activation, weight, per_channel
    ("mlp_int8_qdq", "mlp_float", QuantFormat.QDQ, QuantType.QInt8, QuantType.QInt8, False),
    ("mlp_uint8_qop", "mlp_float", QuantFormat.QOperator, QuantType.QUInt8, QuantType.QInt8, False),
    ("mlp_uint8_qdq_pc", "mlp_float", QuantFormat.QDQ, QuantType.QUInt8, QuantType.QInt8, True),
    ("mlp_matmul_uint8_qop", "mlp_matmul_float", QuantFormat.QOperator, QuantType.QUInt8, QuantType.QInt8, False),
    ("cnn_int8_qdq", "cnn_float", QuantFormat.QDQ, QuantType.QInt8, QuantType.QInt8, True),
    ("cnn_uint8_qop", "cnn_float", QuantFormat.QOperator, QuantType.QUInt8, QuantType.QInt8, True),
    ("cnn_int8_qop", "cnn_float", QuantFormat.QOperator, QuantType.QInt8, QuantType.QInt8, False),
]


class _QuietQuantWarnings(logging.Filter):
    # onnxruntime.quantization logs advisory warnings on the root logger
    # (pre-processing hint, QOperator+QInt8 x64 performance hint).
    def filter(self, record):
        msg = record.getMessage()
        return not (msg.startswith("Please consider") or msg.startswith("Please use QuantFormat.QDQ"))


def main():
    logging.getLogger().addFilter(_QuietQuantWarnings())
    OUT.mkdir(parents=True, exist_ok=True)
    for old in sorted(OUT.iterdir()):
        if old.is_file() and (old.suffix in (".onnx", ".json")):
            old.unlink()

    xtr, ytr, xte, yte = load_data()
    print(f"data: {len(xtr)} train, {len(xte)} test")

    print("training MLP (sklearn) ...", flush=True)
    mlp = train_mlp(xtr, ytr)
    print("training CNN (numpy) ...", flush=True)
    cnn = train_cnn(xtr, ytr)

    shapes = {}
    floats = {
        "mlp_float": (export_mlp_gemm(*mlp), MLP_SHAPE),
        "mlp_matmul_float": (export_mlp_matmul(*mlp), MLP_SHAPE),
        "cnn_float": (export_cnn(cnn), CNN_SHAPE),
    }
    for name, (model, shape) in floats.items():
        onnx.save_model(model, str(OUT / f"{name}.onnx"))
        shapes[name] = shape

    for name, src, fmt, act, wt, pc in QUANT_VARIANTS:
        shape = shapes[src]
        quantize_static(
            str(OUT / f"{src}.onnx"),
            str(OUT / f"{name}.onnx"),
            DigitsReader(xtr[:N_QCALIB], shape),
            quant_format=fmt,
            activation_type=act,
            weight_type=wt,
            per_channel=pc,
            calibrate_method=CalibrationMethod.MinMax,
        )
        shapes[name] = shape
        # quantize_static may bump ir_version / add opsets; check it is valid.
        onnx.checker.check_model(onnx.load(str(OUT / f"{name}.onnx")), full_check=True)

    names = [n for n in floats] + [v[0] for v in QUANT_VARIANTS]
    float_of = {n: n for n in floats}
    float_of.update({v[0]: v[1] for v in QUANT_VARIANTS})

    xs = xte[:N_SAMPLES]
    ls = yte[:N_SAMPLES]
    results = {}
    mismatches = {}
    for name in names:
        path = OUT / f"{name}.onnx"
        shape = shapes[name]
        model = onnx.load(str(path))
        desc = describe(model)
        out_all = run_all(session(path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL), xte, shape)
        out_dis = run_all(session(path, ort.GraphOptimizationLevel.ORT_DISABLE_ALL), xte, shape)
        out = out_all[:N_SAMPLES]
        dis = out_dis[:N_SAMPLES]

        same = np.array_equal(out.view(np.uint32), dis.view(np.uint32))
        diff_elems = int((out.view(np.uint32) != dis.view(np.uint32)).sum())
        diff_samples = int((out.view(np.uint32) != dis.view(np.uint32)).reshape(N_SAMPLES, -1).any(axis=1).sum())
        cmp = {
            "bit_identical": bool(same),
            "differing_samples": diff_samples,
            "differing_elements": diff_elems,
            "max_abs_diff": float(np.abs(out.astype(np.float64) - dis).max()),
            "argmax_disagreements": int((out.argmax(-1) != dis.argmax(-1)).sum()),
        }
        if not same:
            mismatches[name] = cmp
            print(
                f"WARNING: {name}: ORT_DISABLE_ALL differs from ORT_ENABLE_ALL on "
                f"{diff_samples}/{N_SAMPLES} samples, {diff_elems}/{out.size} elements, "
                f"max |diff| {cmp['max_abs_diff']:.3g}, argmax disagreements {cmp['argmax_disagreements']}"
            )

        samples = {
            "model": f"{name}.onnx",
            "input": "x",
            "output": "y",
            "onnxruntime": ort.__version__,
            "inputs": [f32list(x.reshape(shape)) for x in xs],
            "outputs": [f32list(o) for o in out],
            "labels": [int(v) for v in ls],
        }
        if not same:
            samples["outputs_ort_disable_all"] = [f32list(o) for o in dis]
        write_json(
            OUT / f"{name}.samples.json", samples,
            per_line_keys=("inputs", "outputs", "outputs_ort_disable_all"),
        )
        write_json(OUT / f"{name}.input.json", {"x": f32list(xs[0].reshape(shape))})
        if name in floats:
            write_json(
                OUT / f"{name}.calibration.json",
                {"x": [f32list(x.reshape(shape)) for x in xtr[:N_CALIB_JSON]]},
                per_line_keys=("x",),
            )

        pred = out_all.argmax(-1).reshape(-1)
        results[name] = {
            "float_model": float_of[name],
            "test_accuracy_500": round(float((pred == yte).mean()), 6),
            "sample_accuracy_200": round(float((pred[:N_SAMPLES] == ls).mean()), 6),
            "enable_all_vs_disable_all": cmp,
            "graph": desc,
        }
        if name not in floats:
            fpred = results[float_of[name]]["_pred"]
            results[name]["argmax_agreement_vs_float_200"] = round(float((pred[:N_SAMPLES] == fpred[:N_SAMPLES]).mean()), 6)
            results[name]["argmax_agreement_vs_float_500"] = round(float((pred == fpred).mean()), 6)
        results[name]["_pred"] = pred

        print(f"\n== {name}  ir_version={desc['ir_version']} opsets={desc['opset_import']}")
        for v in desc["inputs"]:
            print(f"   input  {v['name']}: {v['elem_type']} {v['shape']}")
        for v in desc["outputs"]:
            print(f"   output {v['name']}: {v['elem_type']} {v['shape']}")
        print(f"   op types: {', '.join(desc['op_types'])}")
        print(f"   nodes: {'; '.join(desc['nodes'])}")
        acc = results[name]
        extra = ""
        if "argmax_agreement_vs_float_200" in acc:
            extra = f", argmax agreement vs {float_of[name]}: {acc['argmax_agreement_vs_float_200']} (200) {acc['argmax_agreement_vs_float_500']} (500)"
        print(f"   accuracy: {acc['test_accuracy_500']} (500 test), {acc['sample_accuracy_200']} (200 samples){extra}")
        print(f"   ENABLE_ALL vs DISABLE_ALL bit-identical: {same}")

    for r in results.values():
        del r["_pred"]

    files = sorted(p for p in OUT.iterdir() if p.is_file() and p.name != "MANIFEST.json")
    manifest = {
        "generator": "models/generate.py",
        "versions": {
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
        },
        "data": {
            "dataset": "sklearn.datasets.load_digits (8x8, values 0..16)",
            "normalization": "x = pixel / 16.0 (float32)",
            "train": f"digits[0:{N_TRAIN}]",
            "test": f"digits[{N_TRAIN}:1797]",
            "samples": f"first {N_SAMPLES} test digits",
            "quantization_calibration": f"first {N_QCALIB} train digits, MinMax",
            "calibration_json": f"first {N_CALIB_JSON} train digits",
        },
        "models": results,
        "files": {p.name: {"sha256": sha256(p), "size": p.stat().st_size} for p in files},
    }
    (OUT / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")

    print(f"\nwrote {len(files) + 1} files to {OUT}")
    big = [p.name for p in files if p.stat().st_size > 1_000_000]
    if big:
        print(f"WARNING: files over 1 MB: {big}")
    if mismatches:
        print(f"WARNING: ENABLE_ALL vs DISABLE_ALL differ for: {', '.join(sorted(mismatches))}")


if __name__ == "__main__":
    main()
