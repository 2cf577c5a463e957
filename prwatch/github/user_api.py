"""Sign in with GitHub, prwatch's side: the App's OAuth web flow and what GitHub says a signed-in
person may see through the App's installations (with the person's own user token).
https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from prwatch.github.urls import GHES_REST_SUFFIX, links_of, resolve_url

DOTCOM_API = "https://api.github.com"
TIMEOUT_SECONDS = 10.0
PER_PAGE = 100
MAX_PAGES = 100  # 10,000 installations or repositories of one installation


class OAuthRefused(Exception):
    """GitHub refused the code exchange (a bad, expired or replayed code, wrong credentials)."""


class UserTokenRejected(Exception):
    """GitHub no longer accepts the person's token (revoked, expired, App uninstalled)."""


class GitHubUnreachable(Exception):
    """A transport error or an unexpected answer: worth trying again later."""


@dataclass(frozen=True, slots=True)
class UserGrant:
    token: str
    expires_in: int | None  # seconds; None for tokens that do not expire


@dataclass(frozen=True, slots=True)
class UserAccess:
    user_id: int
    login: str
    installation_ids: frozenset[int]
    repository_ids: frozenset[int]


def web_url_for(api_url: str) -> str:
    """Where people sign in: github.com for api.github.com, the host itself for GitHub
    Enterprise Server (``https://HOST/api/v3``) and for the simulator."""
    base = api_url.rstrip("/")
    if base == DOTCOM_API:
        return "https://github.com"
    return base.removesuffix(GHES_REST_SUFFIX)


def authorize_url(api_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "state": state})
    return f"{web_url_for(api_url)}/login/oauth/authorize?{query}"


async def exchange_code(
    api_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str
) -> UserGrant:
    form = {
        "client_id": client_id,
        "client_secret": client_secret,
        "code": code,
        "redirect_uri": redirect_uri,
    }
    url = f"{web_url_for(api_url)}/login/oauth/access_token"
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as http:
            response = await http.post(url, data=form, headers={"Accept": "application/json"})
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise GitHubUnreachable(f"the code exchange failed: {type(error).__name__}") from None
    # GitHub answers a refused exchange with 200 and an error field.
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        refusal = body.get("error") if isinstance(body, dict) else None
        raise OAuthRefused(str(refusal or f"HTTP {response.status_code}"))
    expires_in = body.get("expires_in")
    return UserGrant(body["access_token"], expires_in if isinstance(expires_in, int) else None)


async def user_access(api_url: str, token: str) -> UserAccess:
    """Who the token's person is and which of the App's installations and repositories they
    can access (``GET /user/installations`` and ``…/{id}/repositories``)."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    base = httpx.URL(api_url.rstrip("/") + "/")
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, headers=headers) as http:
        user = await _get(http, base, "/user")
        installations = [
            item
            for page in await _pages(http, base, "/user/installations", "installations")
            for item in page
        ]
        installation_ids = frozenset(_id(item) for item in installations)
        repository_ids: set[int] = set()
        for installation_id in sorted(installation_ids):
            path = f"/user/installations/{installation_id}/repositories"
            for page in await _pages(http, base, path, "repositories"):
                repository_ids.update(_id(item) for item in page)
    login = user.get("login")
    if not isinstance(login, str) or not login:
        raise GitHubUnreachable("GET /user answered without a login")
    return UserAccess(_id(user), login, installation_ids, frozenset(repository_ids))


async def _get(http: httpx.AsyncClient, base: httpx.URL, path: str) -> dict[str, Any]:
    body, _ = await _request(http, resolve_url(base, path))
    return body


async def _pages(
    http: httpx.AsyncClient, base: httpx.URL, path: str, key: str
) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    url: httpx.URL | None = resolve_url(base, f"{path}?per_page={PER_PAGE}")
    while url is not None and len(pages) < MAX_PAGES:
        body, response = await _request(http, url)
        items = body.get(key)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise GitHubUnreachable(f"GET {path} answered without a list of {key}")
        pages.append(items)
        following = links_of(response).get("next")
        url = resolve_url(base, following, what="Link") if following else None
    return pages


async def _request(
    http: httpx.AsyncClient, url: httpx.URL
) -> tuple[dict[str, Any], httpx.Response]:
    try:
        response = await http.get(url)
    except httpx.HTTPError as error:
        raise GitHubUnreachable(f"GET {url.path}: {type(error).__name__}") from None
    if response.status_code == 401:
        raise UserTokenRejected(f"GET {url.path}: 401")
    if response.status_code != 200:
        raise GitHubUnreachable(f"GET {url.path}: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise GitHubUnreachable(f"GET {url.path}: not JSON") from None
    if not isinstance(body, dict):
        raise GitHubUnreachable(f"GET {url.path}: not a JSON object")
    return body, response


def _id(item: dict[str, Any]) -> int:
    value = item.get("id")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise GitHubUnreachable("an object without a positive integer id")
    return value
