"""Turning the manifest flow's one-time code into the new App's credentials.

``POST /app-manifests/{code}/conversions`` needs no authentication; the code is good for one
hour and one use. https://docs.github.com/en/rest/apps/apps#create-a-github-app-from-a-manifest
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from prwatch.register.errors import RegistrationError

API_VERSION = "2022-11-28"
CONVERSION_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class AppRegistration:
    """The App GitHub just created. Secrets stay out of the repr."""

    app_id: int
    slug: str
    html_url: str
    private_key_pem: str = field(repr=False)
    webhook_secret: str | None = field(repr=False)
    # Sign in with GitHub: the conversion returns the App's OAuth client id and secret.
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)


def parse_registration(data: Any) -> AppRegistration:
    if not isinstance(data, dict):
        raise RegistrationError("GitHub's conversion answer is not a JSON object")
    app_id, pem = data.get("id"), data.get("pem")
    if isinstance(app_id, bool) or not isinstance(app_id, int) or app_id <= 0:
        raise RegistrationError("GitHub's conversion answer has no App id")
    if not isinstance(pem, str) or "PRIVATE KEY" not in pem:
        raise RegistrationError("GitHub's conversion answer has no private key")
    secret = data.get("webhook_secret")
    return AppRegistration(
        app_id=app_id,
        slug=str(data.get("slug") or ""),
        html_url=str(data.get("html_url") or ""),
        private_key_pem=pem,
        webhook_secret=secret if isinstance(secret, str) and secret else None,
        client_id=_text(data.get("client_id")),
        client_secret=_text(data.get("client_secret")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


async def convert_code(
    api_url: str, code: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> AppRegistration:
    """Exchange ``code`` at ``api_url``; ``RegistrationError`` with one line on any failure."""
    if not code or not code.replace("-", "").replace("_", "").isalnum():
        raise RegistrationError(f"GitHub sent back an unusable code: {code!r}")
    url = f"{api_url.rstrip('/')}/app-manifests/{code}/conversions"
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
    try:
        async with httpx.AsyncClient(
            transport=transport, timeout=CONVERSION_TIMEOUT_SECONDS
        ) as client:
            response = await client.post(url, headers=headers)
    except httpx.HTTPError as error:
        raise RegistrationError(
            f"cannot reach {api_url}: {type(error).__name__}: {error}"
        ) from None
    if response.status_code == 404:
        raise RegistrationError(
            "GitHub does not know this code (it is good for one use within one hour): "
            "run prwatch register again"
        )
    if response.status_code != 201:
        raise RegistrationError(
            f"converting the code failed: HTTP {response.status_code}: {_message(response)}"
        )
    try:
        return parse_registration(response.json())
    except ValueError:
        raise RegistrationError("GitHub's conversion answer is not JSON") from None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return response.reason_phrase
