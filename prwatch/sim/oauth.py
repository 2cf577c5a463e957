"""Sign in with GitHub, simulated: the App's OAuth web flow and the user endpoints prwatch asks
what a signed-in person may see.

- ``GET /login/oauth/authorize`` signs in the simulator's current person (``login=`` picks
  another) and redirects to ``redirect_uri`` with a one-time ``code`` and the ``state``.
- ``POST /login/oauth/access_token`` exchanges the code (10 minutes, once) for a user token;
  like GitHub it answers 200 with an ``error`` field when it refuses.
- ``GET /user``, ``GET /user/installations``, ``GET /user/installations/{id}/repositories``
  with the user's token: the App's installations and repositories the person can access.
https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app
https://docs.github.com/en/rest/apps/installations#list-app-installations-accessible-to-the-user-access-token
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from prwatch.sim import payloads
from prwatch.sim.gateway import page_links, paging

CODE_LIFETIME_S = 600
USER_TOKEN_LIFETIME_S = 8 * 3600
DEFAULT_LOGIN = "octocat"


@dataclass(slots=True)
class Person:
    login: str
    id: int
    repository_ids: set[int] | None = None  # None: every repository of every installation


@dataclass(slots=True)
class OAuthState:
    """The simulator's people and their grants."""

    people: dict[str, Person] = field(default_factory=dict)
    signed_in: str = DEFAULT_LOGIN  # who the authorize page signs in
    codes: dict[str, tuple[str, float, str]] = field(default_factory=dict)  # code → login, …
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token → login, expiry

    def person(self, login: str) -> Person:
        if login not in self.people:
            self.people[login] = Person(login, 9_000_000 + len(self.people))
        return self.people[login]

    def revoke(self, login: str) -> None:
        self.tokens = {t: grant for t, grant in self.tokens.items() if grant[0] != login}


def _sim(request: Request) -> Any:
    return request.app.state.sim


async def authorize(request: Request) -> Response:
    sim = _sim(request)
    params = request.query_params
    if params.get("client_id") != sim.client_id:
        return PlainTextResponse("unknown client_id", status_code=404)
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        return PlainTextResponse("redirect_uri is required", status_code=400)
    login = params.get("login") or sim.oauth.signed_in
    sim.oauth.person(login)
    code = secrets.token_hex(10)
    sim.oauth.codes[code] = (login, sim.clock.now() + CODE_LIFETIME_S, redirect_uri)
    query = {"code": code}
    if "state" in params:
        query["state"] = params["state"]
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(query)}", status_code=302)


async def access_token(request: Request) -> Response:
    sim = _sim(request)
    raw = (await request.body()).decode(errors="replace")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            form = {key: str(value) for key, value in json.loads(raw).items()}
        except (ValueError, AttributeError):
            form = {}
    else:
        form = {key: values[0] for key, values in parse_qs(raw).items()}
    if form.get("client_id") != sim.client_id or form.get("client_secret") != sim.client_secret:
        return _refusal(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        )
    grant = sim.oauth.codes.pop(form.get("code", ""), None)
    if grant is None or grant[1] <= sim.clock.now():
        return _refusal("bad_verification_code", "The code passed is incorrect or expired.")
    login, _, redirect_uri = grant
    if form.get("redirect_uri") not in (None, redirect_uri):
        return _refusal(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        )
    token = "ghu_" + secrets.token_urlsafe(27)
    sim.oauth.tokens[token] = (login, sim.clock.now() + USER_TOKEN_LIFETIME_S)
    return JSONResponse(
        {
            "access_token": token,
            "expires_in": USER_TOKEN_LIFETIME_S,
            "refresh_token": "ghr_" + secrets.token_urlsafe(60),
            "refresh_token_expires_in": 15_897_600,
            "token_type": "bearer",
            "scope": "",
        }
    )


def _refusal(error: str, description: str) -> JSONResponse:
    # GitHub answers a refused exchange with 200 and an error object.
    uri = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"
    return JSONResponse({"error": error, "error_description": description, "error_uri": uri})


def _person(request: Request) -> Person | None:
    sim = _sim(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() not in ("bearer", "token"):
        return None
    grant = sim.oauth.tokens.get(token.strip())
    if grant is None or grant[1] <= sim.clock.now():
        return None
    person: Person = sim.oauth.person(grant[0])
    return person


def _bad_credentials() -> JSONResponse:
    return JSONResponse(
        {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
        status_code=401,
    )


def _repositories(sim: Any, person: Person, installation_id: int) -> list[Any]:
    repos = sim.world.installation_repositories(installation_id)
    if person.repository_ids is None:
        return list(repos)
    return [repo for repo in repos if repo.id in person.repository_ids]


def _installations(sim: Any, person: Person) -> list[Any]:
    live = sorted(
        (i for i in sim.world.installations.values() if not i.deleted), key=lambda i: i.id
    )
    return [i for i in live if person.repository_ids is None or _repositories(sim, person, i.id)]


async def get_user(request: Request) -> Response:
    person = _person(request)
    if person is None:
        return _bad_credentials()
    return JSONResponse({"login": person.login, "id": person.id, "type": "User"})


async def user_installations(request: Request) -> Response:
    sim = _sim(request)
    person = _person(request)
    if person is None:
        return _bad_credentials()
    page, per_page = paging(request)
    found = _installations(sim, person)
    chosen = found[(page - 1) * per_page : page * per_page]
    body = {
        "total_count": len(found),
        "installations": [payloads.installation_object(sim.world, i) for i in chosen],
    }
    return JSONResponse(body, headers=page_links(request, page, per_page, len(found)))


async def user_installation_repositories(request: Request) -> Response:
    sim = _sim(request)
    person = _person(request)
    if person is None:
        return _bad_credentials()
    try:
        installation_id = int(request.path_params["installation_id"])
    except ValueError:
        installation_id = -1
    if installation_id not in {i.id for i in _installations(sim, person)}:
        return JSONResponse({"message": "Not Found"}, status_code=404)
    page, per_page = paging(request)
    found = _repositories(sim, person, installation_id)
    chosen = found[(page - 1) * per_page : page * per_page]
    body = {
        "total_count": len(found),
        "repository_selection": "selected",
        "repositories": [sim.world.render.repository(repo) for repo in chosen],
    }
    return JSONResponse(body, headers=page_links(request, page, per_page, len(found)))


async def set_person(request: Request) -> Response:
    """``PUT /_sim/users/{login}``: ``{"repositories": [ids] | null, "revoke_tokens": bool,
    "sign_in": bool}``: what the person can access, and whether the authorize page signs them
    in."""
    sim = _sim(request)
    body = json.loads(await request.body() or b"{}")
    person = sim.oauth.person(request.path_params["login"])
    if "repositories" in body:
        ids = body["repositories"]
        person.repository_ids = None if ids is None else {int(i) for i in ids}
    if body.get("revoke_tokens"):
        sim.oauth.revoke(person.login)
    if body.get("sign_in"):
        sim.oauth.signed_in = person.login
    return JSONResponse({"login": person.login, "id": person.id})


# At the site's root on every layout (GitHub Enterprise Server too).
OAUTH_PAGES = [
    Route("/login/oauth/authorize", authorize, methods=["GET"]),
    Route("/login/oauth/access_token", access_token, methods=["POST"]),
    Route("/_sim/users/{login}", set_person, methods=["PUT"]),
]
# Beside the REST API (under /api/v3 on GitHub Enterprise Server).
USER_ROUTES = [
    Route("/user", get_user, methods=["GET"]),
    Route("/user/installations", user_installations, methods=["GET"]),
    Route(
        "/user/installations/{installation_id}/repositories",
        user_installation_repositories,
        methods=["GET"],
    ),
]
