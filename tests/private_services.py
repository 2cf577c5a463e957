"""Private Redis and PostgreSQL servers for outage tests: started on random loopback ports,
killed and restarted on the same port, removed afterwards."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerExited(RuntimeError):
    """The server process ended before it listened."""


def _wait_for_port(
    port: int, timeout: float = START_TIMEOUT_S, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServerExited(f"the server for port {port} exited with {process.returncode}")
        with socket.socket() as probe, suppress(OSError):
            probe.settimeout(0.2)
            probe.connect(("127.0.0.1", port))
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _wait_until_closed(port: int, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"127.0.0.1:{port} still answers {timeout} s after the kill")


@dataclass
class PrivateServer:
    """One server process; ``kill`` (SIGKILL) and ``start`` again on the same port."""

    command: list[str]
    port: int
    user: str | None = None
    # A command that succeeds once the server accepts connections, not only listens.
    ready_command: list[str] | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        """Start the server and wait until it listens. A server that exits at once is started
        again until START_TIMEOUT_S: a PostgreSQL restarted right after a kill can still find
        its predecessor's lock file (its backends, sessions of their own, outlive it a moment)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            self.popen = self._spawn()
            try:
                _wait_for_port(self.port, process=self.popen)
                self._wait_until_ready(deadline)
                return
            except ServerExited:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _wait_until_ready(self, deadline: float) -> None:
        while self.ready_command is not None:
            ready = subprocess.run(self.ready_command, capture_output=True, check=False)
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server on port {self.port} never accepted connections")
            time.sleep(0.05)

    def _spawn(self) -> subprocess.Popen[bytes]:
        # The server is this process's own child, run as ``user`` (no runuser in between), so
        # that ``kill`` reaps it at once: an unreaped server would keep its PID, and with it
        # its lock file, alive. A session of its own: a kill reaches it and what it started.
        account = None if self.user is None else pwd.getpwnam(self.user)
        return subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            user=None if account is None else account.pw_uid,
            group=None if account is None else account.pw_gid,
            extra_groups=None if account is None else [],
        )

    def kill(self) -> None:
        if self.popen is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
            _wait_until_closed(self.port)
        self.popen = None


@contextmanager
def private_redis() -> Iterator[PrivateServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        server = PrivateServer(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", folder],
            port,
        )
        server.start()
        try:
            yield server
        finally:
            server.kill()


def _postgres_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


@contextmanager
def private_postgres() -> Iterator[tuple[PrivateServer, str]]:
    """A PostgreSQL cluster of its own (run as the ``postgres`` user: it refuses root) and the
    SQLAlchemy URL of its ``postgres`` database."""
    binaries = _postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user to run a private PostgreSQL as")
    folder = tempfile.mkdtemp(prefix="prwatch-pg-")
    os.chown(folder, account.pw_uid, account.pw_gid)
    data = Path(folder) / "data"
    user = "postgres" if os.geteuid() == 0 else None
    init = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-N"]
    subprocess.run(
        init if user is None else ["runuser", "-u", user, "--", *init],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port = free_port()
    server = PrivateServer(
        [
            str(binaries / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            folder,
            "-c",
            "fsync=off",
        ],
        port,
        user=user,
        # Listening is not accepting: a restarted cluster first recovers ("starting up").
        ready_command=[str(binaries / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)],
    )
    server.start()
    try:
        yield server, f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.kill()
        shutil.rmtree(folder, ignore_errors=True)
