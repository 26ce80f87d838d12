"""One EZKL step in its own process (run by compare.py, which times it).

    python ezkl_step.py STEP JSON_ARGS

Imports nothing but the standard library and `ezkl`, so the process's peak
RSS is EZKL's. Prints `ERROR: <message>` and exits 1 when the step fails or
returns a falsy result.
"""

import json
import sys

import ezkl


def main() -> int:
    step, args = sys.argv[1], json.loads(sys.argv[2])
    if step == "gen_settings":
        ra = ezkl.PyRunArgs()
        ra.input_visibility = "public"
        ra.output_visibility = "public"
        ra.param_visibility = "fixed"
        ok = ezkl.gen_settings(args["model"], args["settings"], py_run_args=ra)
    elif step == "calibrate_settings":
        ok = ezkl.calibrate_settings(
            args["data"], args["model"], args["settings"], "resources",
            max_logrows=args["max_logrows"],
        )
    elif step == "compile_circuit":
        ok = ezkl.compile_circuit(args["model"], args["compiled"], args["settings"])
    elif step == "gen_srs":
        ok = ezkl.gen_srs(args["srs"], args["logrows"])
        ok = True if ok is None else ok
    elif step == "setup":
        ok = ezkl.setup(args["compiled"], args["vk"], args["pk"], srs_path=args["srs"])
    elif step == "gen_witness":
        ok = ezkl.gen_witness(args["data"], args["compiled"], args["witness"])
    elif step == "prove":
        ok = ezkl.prove(args["witness"], args["compiled"], args["pk"], args["proof"],
                        srs_path=args["srs"])
    elif step == "verify":
        ok = ezkl.verify(args["proof"], args["settings"], args["vk"], srs_path=args["srs"])
    else:
        print(f"ERROR: unknown step {step}", file=sys.stderr)
        return 2
    if not ok:
        print(f"ERROR: ezkl.{step} returned {ok!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # EZKL raises RuntimeError with its message
        msg = " ".join(str(e).split())
        print(f"ERROR: {type(e).__name__}: {msg}", file=sys.stderr)
        sys.exit(1)
