"""Side-by-side benchmark: zkinf against EZKL on the same ONNX models.

Run through `bash benches/compare/run.sh` (which makes the pinned venv and
builds zkinf). Every step of either pipeline runs in its own child process and
is measured the same way: wall time around the child (from spawn to reaping),
and the child's peak RSS from `os.wait4` (rusage `ru_maxrss`, KB on Linux).

Writes OUT/results.json (everything) and OUT/results.md (generated Markdown).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
EZKL_STEP = HERE / "ezkl_step.py"
MEASURE = HERE / "measure.py"
MODELS_DIR = REPO / "models" / "digits"
DEFAULT_MODELS = "mlp_float,mlp_int8_qdq,cnn_float,cnn_int8_qdq"

METHOD = (
    "Each step runs in its own child process, one at a time. Time: wall clock "
    "around the child (fork to reap, Python time.perf_counter). Peak memory: "
    "the child's peak RSS from os.wait4 rusage ru_maxrss (KB on Linux); the "
    "child is forked from a minimal Python process (measure.py), whose own RSS "
    "(about 5 MB, see the baseline) is the floor of the figure, which is exact "
    "above it (Linux reports the larger of the two, not their sum). EZKL "
    "steps are `python ezkl_step.py STEP` calls of the ezkl Python API (the "
    "process imports only the standard library and ezkl); zkinf steps are "
    "`zkinf` CLI calls. Both therefore include process start-up (see the "
    "'process baseline' row)."
)

# --------------------------------------------------------------------------
# measuring


def run_step(argv, log: Path, env=None, timeout=3600.0) -> dict:
    """Run argv as a child of measure.py; return wall_s, peak_rss_kb, rc, error."""
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(a) for a in argv]
    m = subprocess.run([sys.executable, "-I", "-S", str(MEASURE), str(timeout), str(log), "--", *argv],
                       env=env, capture_output=True, text=True)
    try:
        r = json.loads(m.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise SystemExit(f"compare: measure.py failed on {argv[0]}: {m.stderr.strip()[-300:]}")
    res = {"argv": argv, "wall_s": round(r["wall_s"], 4), "peak_rss_kb": r["peak_rss_kb"],
           "rc": r["rc"], "log": str(log)}
    if r["timed_out"]:
        res["error"] = f"timed out after {timeout:.0f} s"
    elif r["rc"] != 0:
        res["error"] = error_line(log, r["rc"])
    return res


def error_line(log: Path, rc: int) -> str:
    """One line: the ERROR: line (or last line), plus distinctive log lines."""
    try:
        lines = [l.strip() for l in log.read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        lines = []
    main = next((l[len("ERROR: "):] for l in reversed(lines) if l.startswith("ERROR: ")), None)
    if main is None:
        if rc < 0:
            main = f"killed by signal {-rc}"
        else:
            main = lines[-1] if lines else f"exit status {rc}"
    # EZKL logs the real reason (e.g. "Unknown op: ...") before the exception.
    extra = []
    for l in lines:
        if l.startswith("ERROR: ") or l == main or l in extra:
            continue
        if any(w in l.lower() for w in ("unknown op", "unsupported", "error", "failed", "panicked")):
            extra.append(l)
    if extra:
        main += " (log: " + "; ".join(extra[:4]) + ")"
    return main[:600]


def best_of(results: list[dict]) -> dict:
    """The fastest successful repetition (or the first failure)."""
    bad = [r for r in results if "error" in r]
    if bad:
        return bad[0]
    walls = [w for r in results for w in r.get("repeats_wall_s", [r["wall_s"]])]
    rsss = [m for r in results for m in r.get("repeats_peak_rss_kb", [r["peak_rss_kb"]])]
    best = dict(min(results, key=lambda r: r["wall_s"]))
    if len(walls) > 1:
        best["repeats_wall_s"] = walls
        best["repeats_peak_rss_kb"] = rsss
    return best


# --------------------------------------------------------------------------
# data


def flatten(x):
    if isinstance(x, list):
        out = []
        for v in x:
            out.extend(flatten(v))
        return out
    return [float(x)]


def onnx_inputs(onnx_path: Path) -> list[str]:
    import onnx

    m = onnx.load(str(onnx_path), load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    return [i.name for i in m.graph.input if i.name not in inits]


def calibration_samples(onnx_path: Path, input_json: Path, names: list[str]):
    """Calibration inputs: NAME.calibration.json, else NAME.samples.json, else the input."""
    stem = onnx_path.with_suffix("")
    cal = Path(str(stem) + ".calibration.json")
    if cal.is_file():
        d = json.loads(cal.read_text())
        return [{n: d[n][i] for n in names} for i in range(len(d[names[0]]))], str(cal)
    samples = Path(str(stem) + ".samples.json")
    if samples.is_file():
        d = json.loads(samples.read_text())
        if "inputs" in d and len(names) == 1:
            return [{names[0]: x} for x in d["inputs"][:64]], str(samples) + " (first 64 inputs)"
    return [json.loads(input_json.read_text())], str(input_json) + " (the input itself)"


def ort_outputs(onnx_path: Path, inp: dict) -> dict:
    import numpy as np
    import onnxruntime as ort

    s = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    feeds = {}
    for i in s.get_inputs():
        dt = {"tensor(float)": np.float32, "tensor(double)": np.float64,
              "tensor(int64)": np.int64, "tensor(int32)": np.int32}.get(i.type, np.float32)
        feeds[i.name] = np.asarray(inp[i.name], dtype=dt)
    outs = s.run(None, feeds)
    return {o.name: v.astype(np.float64).tolist() for o, v in zip(s.get_outputs(), outs)}


def compare_outputs(ref: list[float], got: list[float] | None) -> dict:
    if got is None:
        return {}
    if len(ref) != len(got):
        return {"error": f"output length {len(got)} != onnxruntime's {len(ref)}"}
    err = max((abs(a - b) for a, b in zip(ref, got)), default=0.0)
    am = lambda v: max(range(len(v)), key=lambda i: v[i])
    return {
        "max_abs_error": err,
        "argmax_match": am(ref) == am(got),
        "argmax_onnxruntime": am(ref),
        "argmax": am(got),
    }


def rel(p) -> str:
    p = Path(str(p))
    return str(p.relative_to(REPO)) if p.is_absolute() and p.is_relative_to(REPO) else str(p)


def file_size(p: Path) -> int | None:
    return p.stat().st_size if p.is_file() else None


# --------------------------------------------------------------------------
# zkinf


def srs_self_timing(log_path: Path):
    """zkinf's own log line for the SRS generation (a cross-check only)."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for i, l in enumerate(lines):
        if "generating a development SRS" in l:
            for m in lines[i + 1:i + 3]:
                if "done in" in m:
                    try:
                        return float(m.split("done in")[1].split()[0])
                    except (IndexError, ValueError):
                        return None
    return None


def run_zkinf(zkinf: Path, name: str, onnx_path: Path, input_json: Path, work: Path, args) -> dict:
    """zkinf's pipeline, one run of each step (repeats: zkinf_round)."""
    res: dict = {"steps": {}}
    d = work / "model"
    cache = work / "cache"
    logs = work / "logs"
    for p in (d, cache):
        shutil.rmtree(p, ignore_errors=True)
    cache.mkdir(parents=True)
    env = dict(os.environ, ZKINF_CACHE=str(cache))
    res["_ctx"] = (zkinf, d, cache, logs, env, input_json)
    steps = res["steps"]

    def step(key, argv):
        steps[key] = run_step(argv, logs / f"{key}.log", env=env, timeout=args.timeout)
        ok = "error" not in steps[key]
        log(f"  zkinf {key}: " + (fmt_step(steps[key]) if ok else "FAILED: " + steps[key]["error"]))
        if not ok:
            res["error"] = f"{key}: {steps[key]['error']}"
        return ok

    if not step("compile", [zkinf, "compile", onnx_path, "--out", d]):
        return res
    # setup with an empty SRS cache, then with the SRS cached (keys removed
    # before each): the difference is the SRS.
    shutil.rmtree(d / "keys", ignore_errors=True)
    if not step("setup_srs_generation", [zkinf, "setup", d, "--dev-srs"]):
        return res
    res["srs_files"] = {p.name: p.stat().st_size for p in sorted(cache.rglob("*")) if p.is_file()}
    shutil.rmtree(d / "keys", ignore_errors=True)
    if not step("setup", [zkinf, "setup", d, "--dev-srs"]):
        return res
    # shards: k and rows
    shards = None
    for src, getter in (("shards.json", lambda j: j.get("shards")),
                        ("report.json", lambda j: (j.get("shards") or {}).get("shards"))):
        f = d / src
        if f.is_file():
            try:
                shards = getter(json.loads(f.read_text()))
            except (ValueError, AttributeError):
                shards = None
            if shards:
                res["shards_source"] = src
                break
    if shards:
        res["shards"] = [{"k": s.get("k"), "rows": s.get("rows"), "start": s.get("start"), "end": s.get("end")}
                         for s in shards]
    else:  # older layouts: keys/setup.json k, report.json total_rows
        try:
            sj = json.loads((d / "keys" / "setup.json").read_text())
            rep = json.loads((d / "report.json").read_text())
            res["shards"] = [{"k": sj.get("k"), "rows": rep.get("total_rows")}]
            res["shards_source"] = "keys/setup.json + report.json total_rows"
        except (OSError, ValueError):
            res["shards"] = []
    res["k"] = max((s["k"] for s in res["shards"] if s.get("k") is not None), default=None)
    res["rows"] = sum(s["rows"] or 0 for s in res["shards"]) if res["shards"] else None
    res["pk_bytes"] = sum(p.stat().st_size for p in (d / "keys").glob("*.pk"))
    res["vk_bytes"] = sum(p.stat().st_size for p in (d / "keys").glob("*.vk"))

    if not step("prove", [zkinf, "prove", d, "--input", input_json]):
        return res
    res["proof_bytes"] = sum(p.stat().st_size for p in (d / "proofs").glob("*.proof"))
    res["proof_files"] = sorted(p.name for p in (d / "proofs").glob("*.proof"))
    out_json = work / "infer.json"
    if step("infer", [zkinf, "infer", d, "--input", input_json, "--output", out_json]):
        try:
            res["outputs"] = json.loads(out_json.read_text())
        except (OSError, ValueError) as e:
            res["outputs_error"] = str(e)
    if step("verify", [zkinf, "verify", d, "--input", input_json]):
        res["_repeatable"] = True
    return res


def zkinf_round(res: dict, r: int, args) -> None:
    """One more run of setup (empty cache, then cached), prove and verify."""
    zkinf, d, cache, logs, env, input_json = res["_ctx"]
    steps = res["steps"]
    for key, clear, argv in (
        ("setup_srs_generation", (d / "keys", cache), [zkinf, "setup", d, "--dev-srs"]),
        ("setup", (d / "keys",), [zkinf, "setup", d, "--dev-srs"]),
        ("prove", (), [zkinf, "prove", d, "--input", input_json]),
        ("verify", (), [zkinf, "verify", d, "--input", input_json]),
    ):
        for c in clear:
            shutil.rmtree(c, ignore_errors=True)
        cache.mkdir(exist_ok=True)
        steps[key] = best_of([steps[key], run_step(argv, logs / f"{key}.again{r}.log", env=env,
                                                   timeout=args.timeout)])
        if "error" in steps[key]:
            res["error"] = f"{key} (repeat {r}): {steps[key]['error']}"
            res.pop("_repeatable", None)
            return


def zkinf_finish(res: dict) -> None:
    res.pop("_ctx", None)
    res.pop("_repeatable", None)
    steps = res["steps"]
    if "error" in steps.get("setup", {"error": 1}) or "error" in steps.get("setup_srs_generation", {"error": 1}):
        return
    srs_s = steps["setup_srs_generation"]["wall_s"] - steps["setup"]["wall_s"]
    res["srs_generation"] = {
        "wall_s": round(max(srs_s, 0.0), 4),
        "peak_rss_kb": steps["setup_srs_generation"]["peak_rss_kb"],
        "how": "best setup with an empty ZKINF_CACHE minus best setup with the SRS cached (keys removed "
               "before each); peak RSS is that of the setup that generated the SRS",
        "srs_files": res.pop("srs_files", {}),
        "zkinf_own_timing_s": srs_self_timing(Path(steps["setup_srs_generation"]["log"])),
    }


# --------------------------------------------------------------------------
# EZKL


def settings_key(s: dict) -> str:
    """Settings identity: all but the timestamp, with set-like lists sorted
    (EZKL writes required_range_checks in varying order)."""
    s = dict(s)
    s.pop("timestamp", None)
    for k in ("required_range_checks", "required_lookups"):
        if isinstance(s.get(k), list):
            s[k] = sorted(s[k], key=lambda v: json.dumps(v, sort_keys=True))
    return json.dumps(s, sort_keys=True)


def ezkl_srs(py: str, srs_dir: Path, k: int, args) -> dict:
    """SRS for 2^k, generated locally once per run and cached in OUT/ezkl-srs/."""
    srs = srs_dir / f"k{k}.srs"
    meta = srs_dir / f"k{k}.json"
    if srs.is_file() and meta.is_file():
        m = json.loads(meta.read_text())
        m["cached"] = True
        return m
    r = run_step([py, EZKL_STEP, "gen_srs", json.dumps({"srs": str(srs), "logrows": k})],
                 srs_dir / f"k{k}.log", timeout=args.timeout)
    r["k"] = k
    r["path"] = str(srs)
    r["bytes"] = file_size(srs)
    if "error" not in r:
        meta.write_text(json.dumps(r, indent=1))
    r["cached"] = False
    return r


def run_ezkl(py: str, name: str, onnx_path: Path, input_json: Path, work: Path, srs_dir: Path, args) -> dict:
    res: dict = {"points": []}
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    names = onnx_inputs(onnx_path)
    inp = json.loads(input_json.read_text())
    data = work / "input.json"
    data.write_text(json.dumps({"input_data": [flatten(inp[n]) for n in names]}))
    cal_samples, cal_src = calibration_samples(onnx_path, input_json, names)
    cal = work / "calibration.json"
    cal.write_text(json.dumps({"input_data": [
        [v for s in cal_samples for v in flatten(s[n])] for n in names]}))
    res["calibration_data"] = f"{rel(cal_src)}: {len(cal_samples)} sample(s)"
    res["input_data"] = str(data)

    def ez(step, a, log):
        return run_step([py, EZKL_STEP, step, json.dumps({k: str(v) if isinstance(v, Path) else v
                                                          for k, v in a.items()})],
                        log, timeout=args.timeout)

    base_settings = work / "settings.gen.json"
    r = ez("gen_settings", {"model": onnx_path, "settings": base_settings}, work / "gen_settings.log")
    res["gen_settings"] = r
    log("  ezkl gen_settings: " + (fmt_step(r) if "error" not in r else "FAILED: " + r["error"]))
    if "error" in r:
        res["error"] = "gen_settings: " + r["error"]
        return res

    seen: dict[str, str] = {}
    labels = [str(L) for L in args.sweep] + (["none"] if args.uncapped else [])
    for label in labels:
        pt: dict = {"max_logrows": None if label == "none" else int(label), "steps": {}}
        res["points"].append(pt)
        pd = work / f"max_logrows_{label}"
        pd.mkdir()
        settings = pd / "settings.json"
        shutil.copy(base_settings, settings)
        st = pt["steps"]

        def do(step, a):
            st[step] = ez(step, a, pd / f"{step}.log")
            if "error" in st[step]:
                pt["error"] = f"{step}: {st[step]['error']}"
                log(f"  ezkl max_logrows={label} {step}: FAILED: {st[step]['error']}")
                return False
            return True

        if not do("calibrate_settings", {"data": cal, "model": onnx_path, "settings": settings,
                                         "max_logrows": pt["max_logrows"]}):
            continue
        s = json.loads(settings.read_text())
        ra = s.get("run_args", {})
        pt.update(logrows=ra.get("logrows"), num_rows=s.get("num_rows"),
                  input_scale=ra.get("input_scale"), param_scale=ra.get("param_scale"),
                  num_inner_cols=ra.get("num_inner_cols"), lookup_range=ra.get("lookup_range"))
        key = settings_key(s)
        if key in seen:
            pt["same_as"] = seen[key]
            log(f"  ezkl max_logrows={label}: calibrated to the same settings as max_logrows={seen[key]} (k={pt['logrows']}); not rerun")
            continue
        seen[key] = label
        compiled = pd / "model.compiled"
        if not do("compile_circuit", {"model": onnx_path, "compiled": compiled, "settings": settings}):
            continue
        k = pt["logrows"]
        pt["srs"] = ezkl_srs(py, srs_dir, k, args)
        if "error" in pt["srs"]:
            pt["error"] = "gen_srs: " + pt["srs"]["error"]
            continue
        srs = pt["srs"]["path"]
        pk, vk = pd / "pk.key", pd / "vk.key"
        witness, proof = pd / "witness.json", pd / "proof.json"
        if not do("setup", {"compiled": compiled, "vk": vk, "pk": pk, "srs": srs}):
            continue
        pt["pk_bytes"], pt["vk_bytes"] = file_size(pk), file_size(vk)
        if not do("gen_witness", {"data": data, "compiled": compiled, "witness": witness}):
            continue
        prove_args = {"witness": witness, "compiled": compiled, "pk": pk, "proof": proof, "srs": srs}
        verify_args = {"proof": proof, "settings": settings, "vk": vk, "srs": srs}
        pt["_again"] = (pd, prove_args, verify_args, {"compiled": compiled, "vk": vk, "pk": pk, "srs": srs})
        if not do("prove", prove_args):
            continue
        pj = json.loads(proof.read_text())
        pt["proof_bytes"] = len(pj.get("proof") or [])
        pt["proof_file_bytes"] = file_size(proof)
        try:
            pt["outputs"] = [[float(v) for v in o] for o in pj["pretty_public_inputs"]["rescaled_outputs"]]
        except (KeyError, TypeError, ValueError):
            pass
        do("verify", verify_args)
        log(f"  ezkl max_logrows={label}: k={k} rows={pt['num_rows']} scale={pt['input_scale']} "
            f"setup {fmt_step(st['setup'])}, prove {fmt_step(st['prove'])}"
            + (f", verify {fmt_step(st['verify'])}" if "error" not in st["verify"] else ", verify FAILED"))

    return res


def ezkl_ok_points(res: dict) -> list[int]:
    return [i for i, p in enumerate(res["points"])
            if "error" not in p and "same_as" not in p and "verify" in p["steps"]]


def ezkl_candidates(res: dict) -> list[int]:
    """Points to repeat: those within 1.5x of the fastest single prove."""
    ok = ezkl_ok_points(res)
    if not ok:
        return []
    fastest = min(res["points"][i]["steps"]["prove"]["wall_s"] for i in ok)
    return [i for i in ok if res["points"][i]["steps"]["prove"]["wall_s"] <= 1.5 * fastest]


def ezkl_round(py: str, res: dict, i: int, r: int, args) -> None:
    """One more run of setup, prove and verify at sweep point i."""
    p = res["points"][i]
    if "error" in p:
        return
    pd, pa, va, sa = p["_again"]
    for step, a_ in (("setup", sa), ("prove", pa), ("verify", va)):
        new = run_step([py, EZKL_STEP, step, json.dumps({k: str(v) for k, v in a_.items()})],
                       pd / f"{step}.again{r}.log", timeout=args.timeout)
        p["steps"][step] = best_of([p["steps"][step], new])
        if "error" in new:
            p["error"] = f"{step} (repeat {r}): {new['error']}"
            return


def ezkl_finish(res: dict, args) -> None:
    for p in res["points"]:
        again = p.pop("_again", None)
        if again and not args.keep_ezkl_keys:
            Path(again[1]["pk"]).unlink(missing_ok=True)  # up to GBs per point; its size is recorded
    if "error" in res and not res["points"]:
        return
    ok_pts = ezkl_ok_points(res)
    if ok_pts:
        b = min(ok_pts, key=lambda i: res["points"][i]["steps"]["prove"]["wall_s"])
        res["best"] = b
        res["best_max_logrows"] = res["points"][b]["max_logrows"]
    else:
        errs = [p["error"] for p in res["points"] if "error" in p]
        res["error"] = "no sweep point proved and verified" + (f"; e.g. {errs[0]}" if errs else "")


# --------------------------------------------------------------------------
# formatting


def fmt_s(s):
    if s is None:
        return "-"
    if s < 0.1:
        return f"{s * 1000:.0f} ms" if s >= 0.01 else f"{s * 1000:.1f} ms"
    if s < 10:
        return f"{s:.2f} s"
    return f"{s:.1f} s"


def fmt_kb(kb):
    if kb is None:
        return "-"
    return f"{kb / 1024:.0f} MiB" if kb >= 10240 else f"{kb / 1024:.1f} MiB"


def fmt_bytes(b):
    if b is None:
        return "-"
    if b < 100_000:
        return f"{b:,} B"
    if b < 10_000_000:
        return f"{b / 1e3:,.0f} kB"
    return f"{b / 1e6:,.1f} MB"


def fmt_step(r):
    return f"{fmt_s(r.get('wall_s'))} / {fmt_kb(r.get('peak_rss_kb'))}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(x):
    if x is None:
        return "-"
    return f"{x:.2f}x" if x < 10 else f"{x:.1f}x"


def log(msg):
    print(msg, flush=True)


def sum_steps(steps: list[dict | None]):
    steps = [s for s in steps if s]
    if not steps or any("error" in s for s in steps):
        return None, None
    return sum(s["wall_s"] for s in steps), max(s["peak_rss_kb"] for s in steps)


def model_summary(m: dict) -> dict:
    """The headline numbers of one model: zkinf against EZKL's best sweep point."""
    z, e = m.get("zkinf", {}), m.get("ezkl", {})
    zs = z.get("steps", {})
    pt = e["points"][e["best"]] if "best" in e else None
    es = pt["steps"] if pt else {}
    S = {}

    def row(key, zt, zr, et, er):
        S[key] = {"zkinf_s": zt, "zkinf_rss_kb": zr, "ezkl_s": et, "ezkl_rss_kb": er,
                  "time_ratio": ratio(et, zt), "rss_ratio": ratio(er, zr)}

    zc = zs.get("compile", {})
    ec_t, ec_r = sum_steps([e.get("gen_settings"), es.get("calibrate_settings"), es.get("compile_circuit")]) if pt else (None, None)
    row("compile", zc.get("wall_s"), zc.get("peak_rss_kb"), ec_t, ec_r)
    zsrs = z.get("srs_generation", {})
    esrs = pt.get("srs", {}) if pt else {}
    row("srs", zsrs.get("wall_s"), zsrs.get("peak_rss_kb"), esrs.get("wall_s"), esrs.get("peak_rss_kb"))
    S["srs"]["rss_ratio"] = None  # zkinf's figure is the whole setup's
    zss = zs.get("setup_srs_generation", {})
    e_ss_t, e_ss_r = sum_steps([esrs or None, es.get("setup")]) if pt else (None, None)
    row("setup_with_srs", zss.get("wall_s"), zss.get("peak_rss_kb"), e_ss_t, e_ss_r)
    for k in ("setup", "prove", "verify"):
        row(k, zs.get(k, {}).get("wall_s"), zs.get(k, {}).get("peak_rss_kb"),
            es.get(k, {}).get("wall_s"), es.get(k, {}).get("peak_rss_kb"))
    row("witness", None, None, es.get("gen_witness", {}).get("wall_s"), es.get("gen_witness", {}).get("peak_rss_kb"))
    ewp_t, ewp_r = sum_steps([es.get("gen_witness"), es.get("prove")]) if pt else (None, None)
    row("witness_prove", zs.get("prove", {}).get("wall_s"), zs.get("prove", {}).get("peak_rss_kb"), ewp_t, ewp_r)
    zall = [v.get("peak_rss_kb") for k, v in zs.items() if "error" not in v]
    eall = [v.get("peak_rss_kb") for v in list(es.values()) + [e.get("gen_settings") or {}, esrs]
            if v and "error" not in v and v.get("peak_rss_kb")]
    row("peak_any_step", None, max(zall) if zall else None, None, max(eall) if eall else None)
    S["pk_bytes"] = {"zkinf": z.get("pk_bytes"), "ezkl": pt.get("pk_bytes") if pt else None}
    S["vk_bytes"] = {"zkinf": z.get("vk_bytes"), "ezkl": pt.get("vk_bytes") if pt else None}
    S["proof_bytes"] = {"zkinf": z.get("proof_bytes"), "ezkl": pt.get("proof_bytes") if pt else None}
    for k in ("pk_bytes", "vk_bytes", "proof_bytes"):
        S[k]["ratio"] = ratio(S[k]["ezkl"], S[k]["zkinf"])
    S["error"] = {"zkinf": z.get("output_check"), "ezkl": pt.get("output_check") if pt else None}
    return S


def md_cell_fail(err: str) -> str:
    err = err.replace("|", "\\|")
    return f"fails: {err[:220]}" + ("..." if len(err) > 220 else "")


def render_md(R: dict) -> str:
    L = []
    a = L.append
    a("<!-- generated by benches/compare/compare.py from results.json; do not edit by hand -->")
    a("")
    a(f"Command: `{R['command']}` ({R['started']} to {R['finished']}).")
    a("")
    mc = R["machine"]
    a(f"Machine: {mc['cpu_model']}, {mc['cores']} cores ({mc['cores_usable']} usable), "
      f"{mc['mem_total_gib']:.1f} GiB RAM, {mc['os']}; load average "
      f"{R['loadavg_start']} at start, {R['loadavg_end']} at the end.")
    a("")
    v = R["versions"]
    dirty = v.get("zkinf_dirty_paths", v.get("zkinf_dirty"))
    a(f"Versions: zkinf {v['zkinf_commit']}{' (with uncommitted changes)' if dirty else ''}, "
      f"ezkl {v['ezkl']}, onnxruntime {v['onnxruntime']}, Python {v['python']}, {v['rustc']}.")
    a("")
    a(f"Method: {R['method']} EZKL runs as it must be run to be fair: settings with public input and output "
      f"and fixed parameters, calibrated (`calibrate_settings`, target `resources`) on the model's calibration "
      f"data, and swept over `max_logrows` {R['sweep'][0]}..{R['sweep'][-1]}"
      f"{' plus uncapped' if R['uncapped'] else ''}; its best line (fastest prove that verifies) is the comparison "
      f"point. Both sides generate their SRS locally, in this run (reported apart; zkinf: best `setup --dev-srs` "
      f"with an empty cache minus best `setup` with the SRS cached, a difference of noisy figures, so zkinf's own "
      f"log figure is shown beside it; the 'setup with SRS generation' row needs no subtraction). Setup, prove "
      f"and verify: best of {R['repeat']} run(s), the repeats interleaved (zkinf, then EZKL's sweep points within "
      f"1.5x of its fastest single prove, round after round) so that both see the same load; other sweep points "
      f"and EZKL's SRS: one run. "
      f"Ratios are EZKL / zkinf (above 1: zkinf is better).")
    a("")
    a(f"Process baseline (start-up cost inside every step): EZKL step process (python, import ezkl) "
      f"{fmt_step(R['baseline']['ezkl'])}; zkinf process (`zkinf --help`) {fmt_step(R['baseline']['zkinf'])}; "
      f"measurement floor (`true`) {fmt_step(R['baseline']['floor'])}.")
    a("")

    # summary
    a("| model | prove | prove peak RSS | peak RSS (any step) | setup | verify | proof size | EZKL best k |")
    a("|---|---|---|---|---|---|---|---|")
    for name, m in R["models"].items():
        e = m.get("ezkl", {})
        if "best" not in e:
            a(f"| {name} | EZKL {md_cell_fail(e.get('error', 'not run'))} | | | | | | |")
            continue
        S = m["summary"]
        pt = e["points"][e["best"]]
        a(f"| {name} | {fmt_ratio(S['prove']['time_ratio'])} | {fmt_ratio(S['prove']['rss_ratio'])} "
          f"| {fmt_ratio(S['peak_any_step']['rss_ratio'])} | {fmt_ratio(S['setup']['time_ratio'])} "
          f"| {fmt_ratio(S['verify']['time_ratio'])} | {fmt_ratio(S['proof_bytes']['ratio'])} "
          f"| {pt['logrows']} (max_logrows {pt['max_logrows'] if pt['max_logrows'] is not None else 'uncapped'}) |")
    a("")

    for name, m in R["models"].items():
        z, e, S = m.get("zkinf", {}), m.get("ezkl", {}), m["summary"]
        a(f"### {name}")
        a("")
        a(f"Model `{m['onnx']}`, input `{m['input']}`; EZKL calibration data: {e.get('calibration_data', '-')}; "
          f"load average {m.get('load_before', '?')} before, {m.get('load_after', '?')} after.")
        a("")
        pt = e["points"][e["best"]] if "best" in e else None
        zs = z.get("steps", {})
        a("| step | zkinf time | zkinf peak RSS | EZKL time | EZKL peak RSS | EZKL / zkinf (time, RSS) |")
        a("|---|---|---|---|---|---|")
        efail = None if pt else md_cell_fail(e.get("error", "not run"))

        def zcell(key):
            r = zs.get(key)
            if r is None:
                return ("-", "-") if "error" not in z else ("not run", "")
            if "error" in r:
                return (md_cell_fail(r["error"]), "")
            return fmt_s(r["wall_s"]), fmt_kb(r["peak_rss_kb"])

        def line(label, zc, ec, rr):
            a(f"| {label} | {zc[0]} | {zc[1]} | {ec[0]} | {ec[1]} | {rr} |")

        def rr(key):
            s = S[key]
            return f"{fmt_ratio(s['time_ratio'])}, {fmt_ratio(s['rss_ratio'])}"

        def ecell(key):
            if efail:
                return (efail, "") if key == "compile" else ("-", "-")
            s = S[key]
            return fmt_s(s["ezkl_s"]), fmt_kb(s["ezkl_rss_kb"])

        line("compile (EZKL: gen_settings + calibrate_settings + compile_circuit)", zcell("compile"), ecell("compile"), rr("compile"))
        zsrs = z.get("srs_generation")
        k_e = pt["logrows"] if pt else None
        zsrs_cell = zcell("nothing")
        if zsrs:
            own = zsrs.get("zkinf_own_timing_s")
            zsrs_cell = (fmt_s(zsrs["wall_s"]) + (f" (its log: {fmt_s(own)})" if own is not None else ""),
                         fmt_kb(zsrs["peak_rss_kb"]) + " (whole setup)")
        line(f"SRS generation (zkinf k={z.get('k', '-')}, EZKL k={k_e if k_e else '-'})",
             zsrs_cell, ecell("srs"), rr("srs"))
        line("setup (SRS cached)", zcell("setup"), ecell("setup"), rr("setup"))
        line("setup with SRS generation (EZKL: gen_srs + setup)", zcell("setup_srs_generation"),
             ecell("setup_with_srs"), rr("setup_with_srs"))
        line("witness (zkinf: inside prove)", ("-", "-"), ecell("witness"), "-")
        line("prove", zcell("prove"), ecell("prove"), rr("prove"))
        line("witness + prove", zcell("prove"), ecell("witness_prove"), rr("witness_prove"))
        line("verify", zcell("verify"), ecell("verify"), rr("verify"))
        pk = S["pk_bytes"]
        zk = "-"
        if z.get("k") is not None:
            zk = f"{z['k']} ({z['rows']:,} rows, {len(z.get('shards', []))} shard(s))" if z.get("rows") else str(z["k"])
        ek = f"{pt['logrows']} ({pt['num_rows']:,} rows)" if pt else ""
        a(f"| k (rows) | {zk} | | {ek} | | |")
        a(f"| proving key | {fmt_bytes(pk['zkinf'])} | | {fmt_bytes(pk['ezkl']) if pt else ''} | | {fmt_ratio(pk['ratio'])} |")
        vk = S["vk_bytes"]
        a(f"| verifying key | {fmt_bytes(vk['zkinf'])} | | {fmt_bytes(vk['ezkl']) if pt else ''} | | {fmt_ratio(vk['ratio'])} |")
        pb = S["proof_bytes"]
        a(f"| proof size | {fmt_bytes(pb['zkinf'])} | | {fmt_bytes(pb['ezkl']) if pt else ''} | | {fmt_ratio(pb['ratio'])} |")
        a(f"| peak RSS, any step | | {fmt_kb(S['peak_any_step']['zkinf_rss_kb'])} | | "
          f"{fmt_kb(S['peak_any_step']['ezkl_rss_kb']) if pt else ''} | {fmt_ratio(S['peak_any_step']['rss_ratio'])} |")

        def errcell(c):
            if not c:
                return "-"
            if "error" in c:
                return c["error"]
            return f"max abs {c['max_abs_error']:.3g}, argmax {'matches' if c['argmax_match'] else 'DIFFERS'}"

        a(f"| output error vs onnxruntime | {errcell(S['error']['zkinf'])} | | {errcell(S['error']['ezkl']) if pt else ''} | | |")
        a("")
        if e.get("points"):
            a(f"EZKL sweep ({name}):")
            a("")
            a("| max_logrows | k | rows | scale | calibrate | setup | prove | prove peak RSS | verify | pk | proof |")
            a("|---|---|---|---|---|---|---|---|---|---|---|")
            for i, p in enumerate(e["points"]):
                st = p["steps"]
                ml = p["max_logrows"] if p["max_logrows"] is not None else "uncapped"
                if "best" in e and i == e["best"]:
                    ml = f"**{ml}** (best)"
                g = lambda k: st.get(k, {})
                if "same_as" in p:
                    a(f"| {ml} | {p.get('logrows')} | {p.get('num_rows', 0):,} | {p.get('input_scale')} | "
                      f"{fmt_s(g('calibrate_settings').get('wall_s'))} | same settings as max_logrows {p['same_as']} | | | | | |")
                elif p.get("error", "").startswith("calibrate_settings"):
                    a(f"| {ml} | | | | {md_cell_fail(p['error'])} | | | | | | |")
                else:
                    cells = [fmt_s(g(k).get("wall_s")) if "error" not in g(k) else "fails" for k in ("calibrate_settings", "setup", "prove")]
                    a(f"| {ml} | {p.get('logrows')} | {p.get('num_rows', 0):,} | {p.get('input_scale')} | {cells[0]} | {cells[1]} | {cells[2]} | "
                      f"{fmt_kb(g('prove').get('peak_rss_kb'))} | {fmt_s(g('verify').get('wall_s'))} | {fmt_bytes(p.get('pk_bytes'))} | "
                      f"{fmt_bytes(p.get('proof_bytes'))}{(' | ' + md_cell_fail(p['error'])) if 'error' in p else ''} |")
            a("")
    a("Proof size: zkinf is the total of its `proofs/*.proof` files (its format's header, public inputs and the "
      "Halo2 proof); EZKL is the Halo2 proof bytes (the `proof` array of proof.json; the JSON file itself, with "
      "instances and hex, is larger: see results.json). Keys: file sizes (zkinf: `keys/*.pk`, `keys/*.vk` totals). "
      "EZKL's prove excludes its witness generation (`gen_witness`); zkinf's prove includes it, hence the "
      "'witness + prove' row.")
    a("")
    return "\n".join(L)


# --------------------------------------------------------------------------


def machine_info() -> dict:
    cpu = "unknown CPU"
    try:
        for l in Path("/proc/cpuinfo").read_text().splitlines():
            if l.startswith("model name"):
                cpu = l.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = None
    try:
        for l in Path("/proc/meminfo").read_text().splitlines():
            if l.startswith("MemTotal:"):
                mem_kb = int(l.split()[1])
    except OSError:
        pass
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "mem_total_kb": mem_kb,
        "mem_total_gib": (mem_kb or 0) / 1024 / 1024,
        "os": f"{platform.system()} {platform.release()}",
    }


def sh(argv) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def versions(py: str) -> dict:
    import importlib.metadata as md

    return {
        "zkinf_commit": sh(["git", "rev-parse", "HEAD"]) or "unknown",
        # uncommitted changes outside this folder and the docs (what the binary may contain)
        "zkinf_dirty_paths": sh(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                 ":!benches/compare", ":!*.md"]).splitlines(),
        "ezkl": md.version("ezkl"),
        "onnxruntime": md.version("onnxruntime"),
        "onnx": md.version("onnx"),
        "numpy": md.version("numpy"),
        "python": platform.python_version(),
        "rustc": sh(["rustc", "--version"]) or "rustc unknown",
    }


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=None,
                    help=f"comma-separated bundled models (models/digits/NAME.onnx); default {DEFAULT_MODELS} "
                         "(none when --onnx is given)")
    ap.add_argument("--onnx", action="append", default=[], help="an ONNX model (repeatable, pairs with --input)")
    ap.add_argument("--input", action="append", default=[], help="its input JSON {name: nested array}")
    ap.add_argument("--out", default=str(REPO / "target" / "compare"))
    ap.add_argument("--zkinf", default=str(REPO / "target" / "release" / "zkinf"))
    ap.add_argument("--sweep", default="11-17", help="EZKL max_logrows sweep, A-B (default 11-17)")
    ap.add_argument("--no-uncapped", dest="uncapped", action="store_false",
                    help="do not also calibrate EZKL without a max_logrows cap")
    ap.add_argument("--repeat", type=int, default=3,
                    help="setup, prove and verify N times each (both tools), keep the fastest (default 3)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per step")
    ap.add_argument("--keep-ezkl-keys", action="store_true", help="keep EZKL's pk files of every sweep point")
    ap.add_argument("--render-only", action="store_true",
                    help="only regenerate OUT/results.md from OUT/results.json")
    ap.add_argument("--benchmarks-md", default=None, metavar="PATH",
                    help="also write the Markdown to PATH; default: the repository's BENCHMARKS.md "
                         "after a full default run (the four bundled models, the default sweep and "
                         "repeats), nowhere after a partial one")
    ap.add_argument("--command", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    full_run = (args.models is None and not args.onnx and args.uncapped
                and all(getattr(args, k) == ap.get_default(k) for k in ("sweep", "repeat")))
    bench_md = Path(args.benchmarks_md) if args.benchmarks_md else (
        REPO / "BENCHMARKS.md" if full_run else None)
    if args.render_only:
        rj = Path(args.out) / "results.json"
        try:
            R = json.loads(rj.read_text())
        except (OSError, ValueError) as e:
            print(f"compare: cannot read {rj}: {e}", file=sys.stderr)
            return 1
        md = render_md(R)
        (Path(args.out) / "results.md").write_text(md)
        log(f"wrote {Path(args.out) / 'results.md'}")
        if args.benchmarks_md:
            write_atomic(Path(args.benchmarks_md), md)
            log(f"wrote {args.benchmarks_md}")
        return 0

    try:
        a, b = (int(x) for x in args.sweep.split("-"))
        args.sweep = list(range(a, b + 1))
    except ValueError:
        print(f"compare: bad --sweep {args.sweep!r} (want A-B, e.g. 11-17)", file=sys.stderr)
        return 1
    if len(args.onnx) != len(args.input):
        print("compare: every --onnx needs one --input", file=sys.stderr)
        return 1
    models = []
    if args.models or not args.onnx:
        for n in (args.models or DEFAULT_MODELS).split(","):
            n = n.strip()
            if not n:
                continue
            onnx_p, in_p = MODELS_DIR / f"{n}.onnx", MODELS_DIR / f"{n}.input.json"
            models.append((n, onnx_p, in_p))
    for o, i in zip(args.onnx, args.input):
        o, i = Path(o).resolve(), Path(i).resolve()
        n = o.stem
        while n in {m[0] for m in models}:
            n += "_"
        models.append((n, o, i))
    for n, o, i in models:
        if not o.is_file() or not i.is_file():
            print(f"compare: model {n}: missing {o if not o.is_file() else i}", file=sys.stderr)
            return 1
    zkinf = Path(args.zkinf).resolve()
    if not os.access(zkinf, os.X_OK):
        print(f"compare: no zkinf binary at {zkinf} (build it: cargo build --release -p zkinf)", file=sys.stderr)
        return 1
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # A private copy: the binary in target/ may be rebuilt while this runs.
    (out / "bin").mkdir(exist_ok=True)
    zkinf_copy = out / "bin" / "zkinf"
    shutil.copy2(zkinf, zkinf_copy)
    zkinf_sha = hashlib.sha256(zkinf_copy.read_bytes()).hexdigest()
    zkinf_src = zkinf
    zkinf = zkinf_copy
    # EZKL's SRS files are generated (and timed) afresh in every run, then
    # shared by the models of the run.
    srs_dir = out / "ezkl-srs"
    shutil.rmtree(srs_dir, ignore_errors=True)
    srs_dir.mkdir()
    py = sys.executable

    R = {
        "command": args.command or " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "method": METHOD,
        "machine": machine_info(),
        "versions": dict(versions(py), zkinf_binary=str(zkinf_src), zkinf_binary_sha256=zkinf_sha),
        "loadavg_start": loadavg(),
        "sweep": args.sweep,
        "uncapped": args.uncapped,
        "repeat": args.repeat,
        "models": {},
    }
    bl = out / "baseline"
    R["baseline"] = {
        "floor": best_of([run_step(["true"], bl / f"true.{i}.log") for i in range(3)]),
        "ezkl": best_of([run_step([py, "-c", "import ezkl"], bl / f"ezkl.{i}.log") for i in range(3)]),
        "zkinf": best_of([run_step([zkinf, "--help"], bl / f"zkinf.{i}.log") for i in range(3)]),
    }

    def save():
        (out / "results.json").write_text(json.dumps(R, indent=1, default=str))

    for name, onnx_p, in_p in models:
        log(f"== {name} ({onnx_p})")
        m = {"onnx": rel(onnx_p), "input": rel(in_p), "load_before": loadavg()}
        R["models"][name] = m
        inp = json.loads(in_p.read_text())
        try:
            ref = ort_outputs(onnx_p, inp)
            m["onnxruntime"] = ref
            ref_flat = [v for o in ref.values() for v in flatten(o)]
        except Exception as e:  # noqa: BLE001 - a reference failure is a result
            m["onnxruntime_error"] = " ".join(str(e).split())[:400]
            ref_flat = None
        m["zkinf"] = run_zkinf(zkinf, name, onnx_p, in_p, out / name / "zkinf", args)
        if ref_flat is not None and "outputs" in m["zkinf"]:
            got = [v for o in m["zkinf"]["outputs"].values() for v in flatten(o)]
            m["zkinf"]["output_check"] = compare_outputs(ref_flat, got)
        save()
        m["ezkl"] = run_ezkl(py, name, onnx_p, in_p, out / name / "ezkl", srs_dir, args)
        # Repeats interleaved (zkinf, then EZKL's candidate points, round after
        # round), so that both see the same machine load.
        cands = ezkl_candidates(m["ezkl"])
        for r in range(1, args.repeat):
            if m["zkinf"].get("_repeatable"):
                zkinf_round(m["zkinf"], r, args)
            for i in cands:
                ezkl_round(py, m["ezkl"], i, r, args)
        zkinf_finish(m["zkinf"])
        ezkl_finish(m["ezkl"], args)
        if args.repeat > 1:
            zs = m["zkinf"]["steps"]
            log(f"  best of {args.repeat}: zkinf " + ", ".join(
                f"{k} {fmt_step(zs[k])}" for k in ("setup", "prove", "verify") if k in zs and "error" not in zs[k]))
            for i in cands:
                p = m["ezkl"]["points"][i]
                log(f"  best of {args.repeat}: ezkl max_logrows={p['max_logrows']} " + ", ".join(
                    f"{k} {fmt_step(p['steps'][k])}" for k in ("setup", "prove", "verify")
                    if "error" not in p["steps"].get(k, {"error": 1})))
        m["load_after"] = loadavg()
        for p in m["ezkl"]["points"]:
            if ref_flat is not None and "outputs" in p:
                p["output_check"] = compare_outputs(ref_flat, [v for o in p["outputs"] for v in o])
        m["summary"] = model_summary(m)
        save()

    R["finished"] = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    R["loadavg_end"] = loadavg()
    save()
    md = render_md(R)
    (out / "results.md").write_text(md)
    log(f"wrote {out / 'results.json'} and {out / 'results.md'}")
    if bench_md is not None:
        write_atomic(bench_md, md)
        log(f"wrote {bench_md}")
    return 0


def write_atomic(path: Path, text: str) -> None:
    """Writes `text` to a temporary file beside `path`, then renames it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
