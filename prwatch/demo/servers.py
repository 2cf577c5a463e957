"""Two uvicorn servers (the simulator and prwatch) in one event loop, on sockets bound first
so that each side knows the other's URL before either starts."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp


class PortUnavailable(Exception):
    """The port asked for cannot be listened on."""


class _Server(uvicorn.Server):
    # Two servers in one loop must not fight over SIGINT: the demo handles signals itself.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on host:port (port 0: any free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise PortUnavailable(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@dataclass(slots=True)
class RunningServer:
    server: uvicorn.Server
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def serve(app: ASGIApp, sock: socket.socket, *, name: str) -> RunningServer:
    """Start serving `app` on `sock`; returns once it accepts connections (its lifespan ran)."""
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]), name=name)
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError(f"the {name} server stopped while starting")
        await asyncio.sleep(0.02)
    return RunningServer(server, task)
