"""Which database errors are an outage to wait out, and which a mistake no wait cures."""

from __future__ import annotations

import socket

import asyncpg.exceptions as pg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError

from prwatch.events.errors import RetryableJobError
from prwatch.store import DatabaseUnavailable, StoreError, TransactionConflict
from prwatch.store.errors import InvalidDatabaseUrl
from prwatch.store.outages import is_database_outage, is_unreachable, misconfiguration


def caused(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


def wrapped(orig: Exception, *, invalidated: bool = False, kind: type = DBAPIError) -> Exception:
    """What SQLAlchemy raises for a driver error."""
    error: Exception = kind("SELECT 1", {}, orig, connection_invalidated=invalidated)
    return caused(error, orig)  # type: ignore[return-value]


OUTAGES = {
    "the store's own": DatabaseUnavailable("cannot connect to the database"),
    "a job's retry of it": caused(RetryableJobError("retry"), DatabaseUnavailable("down")),
    "a connection SQLAlchemy invalidated": wrapped(ValueError("closed"), invalidated=True),
    "connection closed mid-operation": wrapped(pg.ConnectionDoesNotExistError("closed")),
    "server shutting down": wrapped(pg.AdminShutdownError("terminating connection")),
    "server starting up": wrapped(pg.CannotConnectNowError("the database system is starting")),
    "too many connections": wrapped(pg.TooManyConnectionsError("sorry, too many clients")),
}

NOT_OUTAGES = {
    "a constraint violation": wrapped(
        pg.UniqueViolationError("duplicate key"), kind=IntegrityError
    ),
    "a bad statement": wrapped(pg.PostgresSyntaxError("syntax error"), kind=ProgrammingError),
    "the store's wrap of a bad statement": caused(
        StoreError("database error"), wrapped(pg.UndefinedTableError("no such table"))
    ),
    "a lost race": TransactionConflict("deadlock"),
    "a bug": ValueError("a bug"),
    "a GitHub connection refused": ConnectionRefusedError(111, "refused"),
}

MISCONFIGURED = {
    "an unknown database": caused(
        DatabaseUnavailable("could not read"), wrapped(pg.InvalidCatalogNameError("no db"))
    ),
    "refused credentials": caused(
        DatabaseUnavailable("could not read"), wrapped(pg.InvalidPasswordError("password"))
    ),
    "an unknown role": wrapped(pg.InvalidAuthorizationSpecificationError("role")),
    "a malformed URL": InvalidDatabaseUrl("malformed database URL"),
}


@pytest.mark.parametrize("error", OUTAGES.values(), ids=OUTAGES.keys())
def test_outages_are_waited_out(error: BaseException) -> None:
    assert is_database_outage(error)
    assert is_unreachable(error)
    assert misconfiguration(error) is None


@pytest.mark.parametrize("error", NOT_OUTAGES.values(), ids=NOT_OUTAGES.keys())
def test_refusals_and_bugs_are_not_outages(error: BaseException) -> None:
    assert not is_database_outage(error)


@pytest.mark.parametrize("error", MISCONFIGURED.values(), ids=MISCONFIGURED.keys())
def test_misconfigurations_are_never_waited_for(error: BaseException) -> None:
    assert misconfiguration(error)
    assert not is_database_outage(error)
    assert not is_unreachable(error)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError(104, "reset by peer"),
        TimeoutError(),
        socket.gaierror(-2, "Name or service not known"),
        OSError(113, "No route to host"),
    ],
    ids=["refused", "reset", "timeout", "unknown host name", "no route"],
)
def test_a_first_connection_nothing_answered_is_unreachable(error: BaseException) -> None:
    assert is_unreachable(error)
    assert is_unreachable(caused(DatabaseUnavailable("could not read"), error))


def test_other_os_errors_are_not_unreachable() -> None:
    assert not is_unreachable(PermissionError(13, "Permission denied"))
    assert not is_unreachable(ValueError("a bug"))
