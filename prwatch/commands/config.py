"""``prwatch config``: the effective settings, or the README's table of them."""

from __future__ import annotations

import argparse
from typing import Any

from prwatch.config import ENV_PREFIX, load_settings

SECRET_FIELDS = frozenset({"private_key", "webhook_secret"})


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "config", help="print the effective settings (secrets masked)"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the table of every setting, as in README"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.markdown:
        from prwatch.config_table import settings_table

        print(settings_table())
        return 0
    settings = load_settings()
    for name, value in settings.model_dump().items():
        shown = "***" if name in SECRET_FIELDS and value else value
        print(f"{ENV_PREFIX}{name.upper()}={'' if shown is None else shown}")
    return 0
