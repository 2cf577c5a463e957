"""Running one registration: bind a local port, serve the flow, stop after the callback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from prwatch.register.conversion import AppRegistration, convert_code
from prwatch.register.env_file import CredentialFiles, check_writable, write_credentials
from prwatch.register.errors import RegistrationError
from prwatch.register.flow import (
    CALLBACK_PATH,
    FlowOutcome,
    RegistrationFlow,
    create_flow_app,
    creation_url,
    new_state,
)
from prwatch.register.manifest import fill_manifest, load_manifest

LOCAL_HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class RegistrationOptions:
    manifest_path: Path
    files: CredentialFiles
    github_url: str
    api_url: str
    org: str | None = None
    webhook_url: str | None = None
    port: int = 0
    force: bool = False


def build_flow(
    options: RegistrationOptions,
    local_url: str,
    *,
    api_transport: httpx.AsyncBaseTransport | None = None,
) -> RegistrationFlow:
    """The flow whose callback lives at ``local_url``; raises ``RegistrationError`` early for a
    bad manifest or credential files that exist."""
    check_writable(options.files, force=options.force)
    manifest = fill_manifest(
        load_manifest(options.manifest_path),
        redirect_url=f"{local_url}{CALLBACK_PATH}",
        webhook_url=options.webhook_url,
    )

    async def convert(code: str) -> AppRegistration:
        return await convert_code(options.api_url, code, transport=api_transport)

    def write(registration: AppRegistration) -> None:
        write_credentials(registration, options.files, api_url=options.api_url, force=options.force)

    return RegistrationFlow(
        manifest=manifest,
        form_action=creation_url(options.github_url, options.org),
        state=new_state(),
        convert=convert,
        write=write,
    )


async def run_registration(
    options: RegistrationOptions, announce: Callable[[str], None]
) -> FlowOutcome:
    """Serve the flow on 127.0.0.1 until its callback has run; ``announce`` gets the page URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOCAL_HOST, options.port))
        # Listen before announcing: a browser that connects before uvicorn has started waits in
        # the backlog instead of being refused.
        listener.listen(128)
    except OSError as error:
        listener.close()
        raise RegistrationError(
            f"cannot listen on {LOCAL_HOST}:{options.port}: {error.strerror}"
        ) from None
    with listener:
        port = listener.getsockname()[1]
        local_url = f"http://{LOCAL_HOST}:{port}"
        flow = build_flow(options, local_url)
        config = uvicorn.Config(create_flow_app(flow), log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        announce(f"{local_url}/")
        waiting = asyncio.create_task(flow.done.wait())
        await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
        # Let the callback's answer reach the browser before the server goes away.
        server.should_exit = True
        await serving
        waiting.cancel()
    if flow.outcome is None:
        return FlowOutcome(None, "the registration page stopped before GitHub called back")
    return flow.outcome
