"""``prwatch db upgrade|current``: schema migrations."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from prwatch.config import load_settings


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("db", help="database migrations")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="migrate the database to the newest schema")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=run_upgrade)
    current = actions.add_parser("current", help="print the database's schema revision")
    current.set_defaults(handler=run_current)


def run_upgrade(args: argparse.Namespace) -> int:
    from prwatch.store.migrations import upgrade_database

    settings = load_settings()
    asyncio.run(upgrade_database(settings.database_url, args.revision))
    print(f"database at {args.revision}")
    return 0


def run_current(args: argparse.Namespace) -> int:
    from prwatch.store.migrations import current_revision, head_revision

    settings = load_settings()
    revision = asyncio.run(current_revision(settings.database_url))
    head = head_revision()
    print(f"{revision or 'empty'} (head: {head})")
    return 0
