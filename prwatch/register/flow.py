"""The local web side of the manifest flow.

``GET /`` serves a form that posts the manifest to GitHub (as the docs require: a browser form
POST, which GitHub answers with the "create App" page); GitHub then redirects the browser to
``GET /callback?code=…&state=…``, where the code is checked, converted and the credentials
written. The flow ends after the first callback, whatever its outcome.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from prwatch.register.conversion import AppRegistration
from prwatch.register.errors import RegistrationError

CALLBACK_PATH = "/callback"
Converter = Callable[[str], Awaitable[AppRegistration]]
Writer = Callable[[AppRegistration], None]


@dataclass(frozen=True, slots=True)
class FlowOutcome:
    registration: AppRegistration | None
    error: str | None


def new_state() -> str:
    return secrets.token_urlsafe(32)


def creation_url(github_url: str, org: str | None) -> str:
    base = github_url.rstrip("/")
    if org:
        return f"{base}/organizations/{org}/settings/apps/new"
    return f"{base}/settings/apps/new"


class RegistrationFlow:
    """One registration: the filled manifest, its ``state``, and the outcome once known."""

    def __init__(
        self,
        *,
        manifest: dict[str, Any],
        form_action: str,
        state: str,
        convert: Converter,
        write: Writer,
    ) -> None:
        self.manifest = manifest
        self.form_action = form_action
        self.state = state
        self._convert = convert
        self._write = write
        self.done = asyncio.Event()
        self.outcome: FlowOutcome | None = None

    def page(self) -> str:
        # GitHub reads `state` from the action's query; the hidden field carries it as well.
        action = f"{self.form_action}?state={self.state}"
        manifest = json.dumps(self.manifest)
        return _PAGE.format(
            action=html.escape(action, quote=True),
            manifest=html.escape(manifest, quote=True),
            state=html.escape(self.state, quote=True),
            name=html.escape(str(self.manifest.get("name", "")), quote=True),
        )

    async def callback(self, code: str | None, state: str | None) -> FlowOutcome:
        if self.outcome is not None:
            return FlowOutcome(None, "this registration has already ended")
        try:
            if state is None or not secrets.compare_digest(state, self.state):
                raise RegistrationError(
                    "the callback's state does not match this registration (a stale or forged "
                    "redirect); nothing was written"
                )
            if not code:
                raise RegistrationError("GitHub redirected back without a code")
            registration = await self._convert(code)
            self._write(registration)
            outcome = FlowOutcome(registration, None)
        except RegistrationError as error:
            outcome = FlowOutcome(None, str(error))
        self.outcome = outcome
        self.done.set()
        return outcome


def create_flow_app(flow: RegistrationFlow) -> Starlette:
    async def page(request: Request) -> Response:
        return HTMLResponse(flow.page())

    async def callback(request: Request) -> Response:
        outcome = await flow.callback(
            request.query_params.get("code"), request.query_params.get("state")
        )
        if outcome.registration is None:
            message = html.escape(outcome.error or "registration failed")
            return HTMLResponse(_RESULT.format(title="Registration failed", body=message), 400)
        done = (
            f"The App {html.escape(outcome.registration.slug)} (id "
            f"{outcome.registration.app_id}) is registered and its credentials are written. "
            "Install it on your repositories; the terminal says what comes next."
        )
        return HTMLResponse(_RESULT.format(title="App registered", body=done))

    return Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route(CALLBACK_PATH, callback, methods=["GET"]),
        ]
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Register {name}</title></head>
<body>
<h1>Register the GitHub App {name}</h1>
<p>This posts prwatch's App manifest to GitHub, where you confirm the new App.</p>
<form id="register" action="{action}" method="post">
<input type="hidden" name="manifest" value="{manifest}">
<input type="hidden" name="state" value="{state}">
<button type="submit">Create the App on GitHub</button>
</form>
</body></html>
"""

_RESULT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{body}</p><p>You can close this page.</p></body></html>
"""
