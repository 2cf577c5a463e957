"""The ``prwatch`` command.

Each subcommand module keeps its own arguments; this file only wires them and turns a
configuration error into one clear line and exit status 2 (no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from prwatch import __version__
from prwatch.config import ConfigError

Handler = Callable[[argparse.Namespace], int]

EXIT_CONFIG_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prwatch",
        description="Watch every pull request and check run of a GitHub App's installations.",
    )
    parser.add_argument("--version", action="version", version=f"prwatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    from prwatch.commands import config, db, demo, register, serve, sim, sweep, token, worker

    config.register(commands)
    db.register(commands)
    demo.register(commands)
    register.register(commands)
    serve.register(commands)
    sim.register(commands)
    sweep.register(commands)
    token.register(commands)
    worker.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging()
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as error:
        print(f"prwatch: {error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except KeyboardInterrupt:
        return 130


def setup_logging() -> None:
    """Structured, redacted logs from the start; a bad setting is reported by the command."""
    from prwatch.config import load_settings
    from prwatch.observability.logging import configure_logging

    try:
        settings = load_settings()
    except ConfigError:
        configure_logging()
        return
    key = settings.app_private_key() or ""
    configure_logging(settings.log_format, secrets=(*settings.webhook_secret, key))


if __name__ == "__main__":
    sys.exit(main())
