"""The ``prwatch`` command.

Each subcommand module keeps its own arguments; this file only wires them and turns a
configuration error into one clear line and exit status 2 (no traceback).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
from collections.abc import Callable, Sequence

from prwatch import __version__
from prwatch.commands.failures import EXIT_CONFIG_ERROR, describe
from prwatch.config import ConfigError

Handler = Callable[[argparse.Namespace], int]

__all__ = ["EXIT_CONFIG_ERROR", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prwatch",
        description="Watch every pull request and check run of a GitHub App's installations.",
    )
    parser.add_argument("--version", action="version", version=f"prwatch {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error, not just its line"
    )
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
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the command's boundary: one line, unless --debug
        if args.debug and not isinstance(error, BrokenPipeError):
            raise
        line, status = describe(error)
        _quiet_orphaned_threads()
        if isinstance(error, BrokenPipeError):
            _silence_stdout()
        print(f"prwatch: {line}", file=sys.stderr)
        return status
    finally:
        # What is left lives until exit: out of the cycle collector's sight, so that the
        # interpreter's shutdown does not walk it (0.3 s after a sweep of 100 repositories).
        gc.freeze()


def _quiet_orphaned_threads() -> None:
    """After a failure, a driver's worker thread (aiosqlite's) may finish after its event loop
    closed and raise about it: that traceback would hide the one line that matters."""
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if isinstance(args.exc_value, RuntimeError) and "Event loop is closed" in str(
            args.exc_value
        ):
            return
        previous(args)

    threading.excepthook = hook


def _silence_stdout() -> None:
    """Point stdout at /dev/null: the interpreter's last flush would fail on the closed pipe
    again, with a message of its own."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def setup_logging() -> None:
    """Structured, redacted logs from the start; a bad setting is reported by the command."""
    from prwatch.config import load_settings
    from prwatch.observability.logging import configure_logging

    try:
        settings = load_settings()
    except ConfigError:
        configure_logging()
        return
    try:
        key = settings.app_private_key() or ""
    except ConfigError:  # the command says so
        key = ""
    configure_logging(settings.log_format, secrets=(*settings.webhook_secret, key))


if __name__ == "__main__":
    sys.exit(main())
