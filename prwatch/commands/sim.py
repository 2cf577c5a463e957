"""``prwatch sim``: run the GitHub simulator standalone."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    from prwatch.sim import main as sim_main

    parser: argparse.ArgumentParser = commands.add_parser(
        "sim", help="run the GitHub simulator (for the demo, tests and benchmarks)"
    )
    sim_main.add_arguments(parser)
    parser.set_defaults(handler=sim_main.run)
