"""Telling a database that cannot be reached from one that refuses what was asked of it.

A process waits out an outage (the server is down, restarting, refusing connections for now,
or the connection broke) and carries on; it must not wait on a mistake that no waiting cures
(a constraint violation, a bad statement, an unknown database, refused credentials). Both
functions read the whole chain of causes: the store wraps driver errors
(``DatabaseUnavailable`` from an asyncpg or OS error, a job's retryable error from that).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError

from prwatch.store.errors import DatabaseUnavailable, InvalidDatabaseUrl

# SQLSTATEs of a server that cannot serve now: class 08 (connection exception) and these.
_OUTAGE_SQLSTATES = {
    "57P01",  # admin_shutdown: the server is stopping
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now: starting up, or in recovery
    "53300",  # too_many_connections: others hold them for now
}
# SQLSTATEs of a setting to fix: class 28 (invalid authorization) and an unknown database.
_MISCONFIGURED_SQLSTATES = {"3D000"}


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _sqlstate(error: BaseException) -> str | None:
    value = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return value if isinstance(value, str) else None


def misconfiguration(error: BaseException) -> str | None:
    """Why ``error`` is a setting to fix (malformed URL, unknown database, refused
    credentials), or None."""
    for link in _chain(error):
        if isinstance(link, InvalidDatabaseUrl):
            return str(link)
        state = _sqlstate(link)
        if state is not None and (state in _MISCONFIGURED_SQLSTATES or state.startswith("28")):
            return str(link).strip().splitlines()[0] if str(link).strip() else state
    return None


def is_database_outage(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached now, rather than that it refused
    a statement. A misconfiguration is never an outage."""
    if misconfiguration(error) is not None:
        return False
    for link in _chain(error):
        if isinstance(link, DatabaseUnavailable):
            return True
        if isinstance(link, DBAPIError) and link.connection_invalidated:
            return True
        state = _sqlstate(link)
        if state is not None and (state.startswith("08") or state in _OUTAGE_SQLSTATES):
            return True
    return False


def is_unreachable(error: BaseException) -> bool:
    """Whether connecting failed because nothing answered (refused, reset, timed out, a host
    name that does not resolve yet): ``is_database_outage`` plus the bare OS errors a first
    connection raises. A host name that does not resolve counts: in a container network a
    name exists only while its container runs."""
    if misconfiguration(error) is not None:
        return False
    if is_database_outage(error):
        return True
    return any(
        isinstance(link, ConnectionError | TimeoutError | socket.gaierror | socket.herror)
        or (isinstance(link, OSError) and link.errno is not None and _network_errno(link.errno))
        for link in _chain(error)
    )


def _network_errno(errno: int) -> bool:
    import errno as codes

    return errno in {
        codes.ECONNREFUSED,
        codes.ECONNRESET,
        codes.ECONNABORTED,
        codes.EHOSTUNREACH,
        codes.ENETUNREACH,
        codes.ENETDOWN,
        codes.EHOSTDOWN,
        codes.ETIMEDOUT,
        codes.EPIPE,
    }
