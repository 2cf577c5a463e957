"""Summaries of ``py-spy record --format raw`` files (collapsed stacks: ``a;b;c COUNT``).

``python -m bench.profiles FILE...`` prints, over all the files, the share of samples per
function where it was running (self) and where it was on the stack (inclusive), the heaviest
first. Line numbers are dropped, so a function counts once however many lines it ran.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


def frame_name(frame: str) -> str:
    """``run (prwatch/queue/worker.py:210)`` → ``run (prwatch/queue/worker.py)``."""
    return _LINE.sub(")", frame.strip())


def summarize(paths: list[Path]) -> tuple[int, Counter[str], Counter[str]]:
    total = 0
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [frame_name(f) for f in stack.split(";")]
            total += n
            own[frames[-1]] += n
            for name in set(frames):
                inclusive[name] += n
    return total, own, inclusive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="inclusive list: only frames containing this")
    args = parser.parse_args(argv)
    total, own, inclusive = summarize(args.files)
    print(f"{total} samples")
    print("self:")
    for name, n in own.most_common(args.top):
        print(f"  {n / max(1, total):6.1%}  {name}")
    print("inclusive:")
    shown = [(k, v) for k, v in inclusive.most_common() if args.match in k][: args.top]
    for name, n in shown:
        print(f"  {n / max(1, total):6.1%}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
