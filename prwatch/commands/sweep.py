"""``prwatch sweep``: one reconcile sweep, with a progress bar and a summary table."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from prwatch.config import load_settings


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "sweep", help="run one reconcile sweep over every repository of every installation"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="print only the summary (for scripts)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prwatch.commands.sweep_report import sweep_with_progress

    settings = load_settings()
    settings.require_app_credentials()  # fail before opening anything
    report = asyncio.run(sweep_with_progress(settings, show_progress=not args.no_progress))
    return 1 if report.failed or report.error else 0
