"""Run a command and write its own wall time, CPU time and peak RSS as JSON.

``python -m bench.child_usage OUT.json COMMAND...``: stdin, stdout and stderr pass through;
the exit status is the command's.

Why a process in between: Linux carries the high-water RSS of a process's image before
``exec`` into the ``ru_maxrss`` that ``wait4`` reports after it (fs/exec.c,
``setmax_mm_hiwater_rss``), and a child started by ``subprocess`` runs on its parent's memory
until it execs (vfork). Measured directly from the benchmark, a ``prwatch sweep`` process
reported the benchmark's own RSS (700 MB, the truth views it holds). Started from this small
process, the figure is the command's (or this process's ~10 MB, whichever is higher).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        raise SystemExit("usage: python -m bench.child_usage OUT.json COMMAND...")
    out, command = Path(argv[0]), argv[1:]
    started = time.monotonic()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    out.write_text(
        json.dumps(
            {
                "wall_seconds": wall,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "user_seconds": usage.ru_utime,
                "system_seconds": usage.ru_stime,
                "peak_rss_mb": usage.ru_maxrss / 1024,
            }
        )
    )
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
