"""A small fake of GitHub's HTTP side, and a clock the tests own, for the client's unit tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from prwatch.github.auth import AppCredentials
from prwatch.github.client import GitHubClient
from prwatch.github.limits import ClientLimits

BASE_URL = "https://api.example.test"
APP_ID = 4242


@cache
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@cache
def public_key() -> Any:
    return serialization.load_pem_private_key(private_key_pem().encode(), None).public_key()


class FakeClock:
    """Wall and monotonic time in one; ``sleep`` advances it instantly and records the wait."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


Handler = Callable[[httpx.Request], Awaitable[httpx.Response] | httpx.Response]


def rate_headers(
    remaining: int, *, limit: int = 5000, reset: float, resource: str = "core"
) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-used": str(limit - remaining),
        "x-ratelimit-reset": str(int(reset)),
        "x-ratelimit-resource": resource,
    }


@dataclass
class FakeGitHub:
    """Issues installation tokens for valid App JWTs and serves scripted routes.

    ``routes`` maps "METHOD /path" to a handler; requests made with a revoked or unknown token
    get a 401, as GitHub does.
    """

    clock: FakeClock
    token_ttl: float = 3600.0
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)  # token → installation id
    revoked: set[str] = field(default_factory=set)
    token_requests: int = 0
    jwt_claims: list[dict[str, Any]] = field(default_factory=list)
    unknown_installations: set[int] = field(default_factory=set)

    def route(self, key: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes[key] = handler
            return handler

        return register

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self, **limits: Any) -> GitHubClient:
        return GitHubClient(
            AppCredentials(APP_ID, private_key_pem()),
            base_url=BASE_URL,
            limits=ClientLimits(**limits),
            transport=self.transport(),
            clock=self.clock,
            monotonic=self.clock,
            sleep=self.clock.sleep,
            jitter=lambda: 0.5,
        )

    def requests_to(self, path: str) -> list[httpx.Request]:
        return [request for request in self.requests if request.url.path == path]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        method, path = request.method, request.url.path
        authorization = request.headers.get("authorization", "")
        if path.startswith("/app/"):
            if not self._valid_jwt(authorization):
                return json_response(401, {"message": "A JSON web token could not be decoded"})
            if method == "POST" and path.endswith("/access_tokens"):
                return await self._issue_token(int(path.split("/")[3]))
        else:
            token = authorization.removeprefix("token ")
            if token not in self.tokens or token in self.revoked:
                return json_response(401, {"message": "Bad credentials"})
        handler = self.routes.get(f"{method} {path}")
        if handler is None:
            return json_response(404, {"message": "Not Found"})
        result = handler(request)
        return await result if isinstance(result, Awaitable) else result

    def _valid_jwt(self, authorization: str) -> bool:
        if not authorization.startswith("Bearer "):
            return False
        try:
            claims = jwt.decode(
                authorization.removeprefix("Bearer "),
                public_key(),
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            return False
        self.jwt_claims.append(claims)
        return claims.get("iss") == str(APP_ID) and claims["exp"] > self.clock()

    async def _issue_token(self, installation_id: int) -> httpx.Response:
        self.token_requests += 1
        await asyncio.sleep(0.001)  # let concurrent callers pile up, as on a real network
        if installation_id in self.unknown_installations:
            return json_response(404, {"message": "Not Found"})
        token = f"ghs_secret{installation_id}x{self.token_requests:04d}"
        self.tokens[token] = installation_id
        expires = datetime.fromtimestamp(self.clock() + self.token_ttl, UTC)
        body = {"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
        return json_response(201, body)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


def token_of(request: httpx.Request) -> str:
    return request.headers["authorization"].removeprefix("token ")
