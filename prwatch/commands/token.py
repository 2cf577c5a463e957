"""``prwatch token create|list|revoke``: API tokens for tools (CI jobs, scripts, Prometheus).

A new token is printed once, as the last line of stdout; the database keeps only its hash.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from prwatch.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from prwatch.store import Store

MAX_EXPIRY_DAYS = 36_500


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "token", help="API tokens: create, list, revoke"
    )
    actions = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token and print it (once)")
    create.add_argument("name", help="a name to list and revoke it by")
    create.add_argument(
        "--installation",
        type=int,
        action="append",
        metavar="ID",
        help="see only this installation (repeat for more); default: every installation",
    )
    create.add_argument(
        "--expires-in", type=float, metavar="DAYS", help="expire after DAYS days; default: never"
    )
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="the tokens (never the tokens themselves)")
    listing.set_defaults(handler=run_list)
    revoke = actions.add_parser("revoke", help="revoke a token: it stops working at once")
    revoke.add_argument("name")
    revoke.set_defaults(handler=run_revoke)


def run_create(args: argparse.Namespace) -> int:
    scope = args.installation
    if scope is not None and any(installation <= 0 for installation in scope):
        raise ConfigError("--installation takes positive installation ids")
    expires_at = None
    if args.expires_in is not None:
        if not 0 < args.expires_in <= MAX_EXPIRY_DAYS:
            raise ConfigError(
                f"--expires-in takes a number of days, above 0 and at most {MAX_EXPIRY_DAYS}"
            )
        expires_at = datetime.now(UTC) + timedelta(days=args.expires_in)
    if not args.name or len(args.name) > 100 or args.name != args.name.strip():
        raise ConfigError("a token name is 1 to 100 characters, without surrounding spaces")
    return asyncio.run(_create(load_settings(), args.name, scope, expires_at))


async def _create(
    settings: Settings, name: str, scope: list[int] | None, expires_at: datetime | None
) -> int:
    from prwatch.access.tokens import new_token, token_hash
    from prwatch.store.access import DuplicateTokenName

    token = new_token()
    async with _store(settings) as store:
        try:
            async with store.transaction() as tx:
                await tx.create_api_token(
                    name, token_hash(token), installation_ids=scope, expires_at=expires_at
                )
        except DuplicateTokenName as error:
            print(f"prwatch: {error}; revoke it first or choose another name", file=sys.stderr)
            return 1
    where = (
        "every installation"
        if scope is None
        else "installations " + ", ".join(map(str, sorted(set(scope))))
    )
    until = "never expires" if expires_at is None else f"expires {_when(expires_at)}"
    print(f"token {name!r} created: sees {where}, {until}. It is shown only once:")
    print(token)
    return 0


def run_list(args: argparse.Namespace) -> int:
    return asyncio.run(_list(load_settings()))


async def _list(settings: Settings) -> int:
    async with _store(settings) as store, store.transaction(read_only=True) as tx:
        tokens = await tx.list_api_tokens()
    rows = [("NAME", "SCOPE", "CREATED", "LAST USED", "EXPIRES")]
    now = datetime.now(UTC)
    for token in tokens:
        scope = (
            "all"
            if token.installation_ids is None
            else ",".join(map(str, sorted(token.installation_ids)))
        )
        expires = "never" if token.expires_at is None else _when(token.expires_at)
        if token.expired(now):
            expires += " (expired)"
        rows.append(
            (token.name, scope, _when(token.created_at), _when(token.last_used_at), expires)
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    return asyncio.run(_revoke(load_settings(), args.name))


async def _revoke(settings: Settings, name: str) -> int:
    async with _store(settings) as store, store.transaction() as tx:
        revoked = await tx.revoke_api_token(name)
    if not revoked:
        print(f"prwatch: no token named {name!r}", file=sys.stderr)
        return 1
    print(f"token {name!r} revoked")
    return 0


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[Store]:
    """The store over the configured database (migrated first in the embedded mode, as
    ``prwatch serve`` does, so that a token can be made before the first start)."""
    from prwatch.commands.serve import is_embedded
    from prwatch.store import Store, create_engine, upgrade_database

    if is_embedded(settings):
        await upgrade_database(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        yield Store(engine)
    finally:
        await engine.dispose()
