"""Measure one child process: wall time and peak RSS (os.wait4 ru_maxrss).

    python -I -S measure.py TIMEOUT_S LOG -- ARGV...

Prints one JSON line {"wall_s", "peak_rss_kb", "rc", "timed_out"}; the child's
stdout and stderr go to LOG.

Why a separate, minimal process: on Linux a child's ru_maxrss is the larger
of its own peak and the RSS of the process it was forked from (exec folds the
pre-exec memory map's high-water mark into the process's maxrss). Forking
from this small interpreter (about 5 MB, nothing imported but os, sys, time,
signal, json) instead of from compare.py keeps that floor low, and above the
floor the figure is exact (a maximum, not a sum).
"""

import os
import signal
import sys
import time


def main() -> int:
    timeout, log = float(sys.argv[1]), sys.argv[2]
    argv = sys.argv[sys.argv.index("--") + 1:]
    prog = argv[0]
    if "/" not in prog:  # resolve before forking: the child should only exec
        for d in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
            if d and os.access(os.path.join(d, prog), os.X_OK):
                prog = os.path.join(d, prog)
                break
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.execv(prog, argv)
        except BaseException as e:  # noqa: BLE001
            os.write(2, f"ERROR: cannot run {argv[0]}: {e}\n".encode())
        os._exit(127)
    timed_out = []

    def on_alarm(*_):
        timed_out.append(True)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    signal.setitimer(signal.ITIMER_REAL, 0)
    import json

    print(json.dumps({
        "wall_s": wall,
        "peak_rss_kb": ru.ru_maxrss,
        "rc": os.waitstatus_to_exitcode(status),
        "timed_out": bool(timed_out),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
