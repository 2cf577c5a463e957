"""What a command that failed tells its user: one line naming what to fix, and an exit status.

A missing or unreachable database, an unreachable Redis, a malformed private key or a closed
output are the user's to fix, not prwatch's bugs: a traceback says nothing more useful about
them (``prwatch --debug`` shows it anyway). Anything else is one line too, saying so.
"""

from __future__ import annotations

import re
import sqlite3

from prwatch.config import ConfigError

EXIT_FAILURE = 1
EXIT_CONFIG_ERROR = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left

_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def redact(text: str) -> str:
    """A URL's password, masked."""
    return _PASSWORD.sub(r"\1***@", text)


def describe(error: BaseException) -> tuple[str, int]:
    """The line to print (without the ``prwatch:`` prefix) and the exit status."""
    if isinstance(error, ConfigError):
        return str(error), EXIT_CONFIG_ERROR
    if isinstance(error, BrokenPipeError):
        return "the output was closed before prwatch finished writing", EXIT_BROKEN_PIPE
    where = _service(error)
    first = _first_line(error)
    if where == "redis":
        return f"cannot reach Redis ({first}): check PRWATCH_REDIS_URL", EXIT_FAILURE
    if where == "database":
        return f"cannot use the database ({first}): check PRWATCH_DATABASE_URL", EXIT_FAILURE
    return (
        f"unexpected error: {type(error).__name__}: {first} (run with --debug for the traceback)",
        EXIT_FAILURE,
    )


def _service(error: BaseException) -> str | None:
    """Which service ``error`` (or an error it was raised from) comes from."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        module = type(current).__module__
        if module.startswith(("redis", "arq")) or type(current).__name__ == "QueueUnavailable":
            return "redis"
        if module.startswith(("sqlalchemy", "asyncpg", "aiosqlite", "prwatch.store")) or isinstance(
            current, sqlite3.Error
        ):
            return "database"
        current = current.__cause__ or current.__context__
    if isinstance(error, OSError) and "redis" in str(error).lower():
        return "redis"
    if isinstance(error, (OSError, TimeoutError)):
        return "database" if "5432" in str(error) else None
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return redact(first)[:300]
