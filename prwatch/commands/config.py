"""``prwatch config``: the effective settings, or the README's table of them."""

from __future__ import annotations

import argparse
from typing import Any

from prwatch.config import ENV_PREFIX, load_settings

SECRET_FIELDS = frozenset({"private_key", "webhook_secret", "client_secret"})
URL_FIELDS = frozenset({"database_url", "redis_url"})


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
        if name in URL_FIELDS and isinstance(value, str):
            shown = mask_password(value)
        print(f"{ENV_PREFIX}{name.upper()}={'' if shown is None else shown}")
    return 0


def mask_password(url: str) -> str:
    """``scheme://user:***@host/…``: a URL's password masked like the other secrets."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority, slash, path = rest.partition("/")
    credentials, at, host = authority.rpartition("@")
    if not at:
        return url
    user, colon, _password = credentials.partition(":")
    if not colon:
        return url  # a user name only
    return f"{scheme}://{user}:***@{host}{slash}{path}"
