"""App-level routes: the App, installations and their tokens, rate limit, webhook deliveries,
and App registration from a manifest."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from prwatch.sim import payloads
from prwatch.sim.clock import iso
from prwatch.sim.events import NotFoundError
from prwatch.sim.gateway import (
    Auth,
    Cacheable,
    Call,
    Reply,
    base_url,
    error,
    not_found,
    page_links,
    paging,
)
from prwatch.sim.permissions import AppGrants
from prwatch.sim.render import dumps, node_id

MANIFEST_CODE_LIFETIME_S = 3600


def app_object(call: Call) -> dict[str, Any]:
    sim = call.sim
    owner = sim.world.sender
    return {
        "id": sim.config.app_id,
        "slug": sim.config.app_slug,
        "client_id": sim.client_id,
        "node_id": node_id("App", sim.config.app_id),
        "owner": sim.world.render.user(owner),
        "name": sim.app_name,
        "description": "Keeps an exact picture of pull requests and their checks.",
        "external_url": "https://prwatch.example.com",
        "html_url": f"{sim.world.render.web}/apps/{sim.config.app_slug}",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "permissions": dict(sim.world.app_grants.permissions),
        "events": list(sim.world.app_grants.events),
        "installations_count": sum(
            1 for inst in sim.world.installations.values() if not inst.deleted
        ),
    }


async def get_app(call: Call) -> Reply | Cacheable:
    return Reply(200, dumps(app_object(call)))


async def list_installations(call: Call) -> Reply | Cacheable:
    world = call.sim.world
    page, per_page = paging(call.request)
    request = call.request

    def render() -> Reply:
        live = [
            i for i in sorted(world.installations.values(), key=lambda i: i.id) if not i.deleted
        ]
        chosen = live[(page - 1) * per_page : page * per_page]
        body = dumps([payloads.installation_object(world, inst) for inst in chosen])
        return Reply(200, body, page_links(request, page, per_page, len(live)))

    return Cacheable(f"installations:{world.installations_rev}", render)


async def get_installation(call: Call) -> Reply | Cacheable:
    try:
        inst = call.sim.world.installation(int(call.request.path_params["installation_id"]))
    except (NotFoundError, ValueError):
        return not_found()
    return Reply(200, dumps(payloads.installation_object(call.sim.world, inst)))


async def create_access_token(call: Call) -> Reply | Cacheable:
    sim = call.sim
    try:
        inst = sim.world.installation(int(call.request.path_params["installation_id"]))
    except (NotFoundError, ValueError):
        return not_found()
    if inst.suspended:
        return error(403, "This installation has been suspended")
    token = sim.tokens.issue(inst.id, sim.clock.now(), sim.config.token_lifetime_s)
    body = {
        "token": token.token,
        "expires_at": iso(token.expires_at),
        "permissions": sim.world.installation_permissions(inst),
        "repository_selection": "selected",
    }
    return Reply(201, dumps(body))


async def installation_repositories(call: Call) -> Reply | Cacheable:
    world = call.sim.world
    assert call.installation_id is not None
    installation_id = call.installation_id
    page, per_page = paging(call.request)
    request = call.request

    def render() -> Reply:
        repos = world.installation_repositories(installation_id)
        chosen = repos[(page - 1) * per_page : page * per_page]
        body = dumps(
            {
                "total_count": len(repos),
                "repository_selection": "selected",
                "repositories": [world.render.repository(repo) for repo in chosen],
            }
        )
        return Reply(200, body, page_links(request, page, per_page, len(repos)))

    return Cacheable(f"installation-repos:{installation_id}:{world.installations_rev}", render)


async def rate_limit(call: Call) -> Reply | Cacheable:
    sim = call.sim
    now = sim.clock.now()
    resources = {}
    for resource in ("core", "graphql"):
        budget = sim.limiter.status(call.subject, resource, now)
        resources[resource] = {
            "limit": budget.limit,
            "used": budget.used,
            "remaining": budget.remaining,
            "reset": budget.reset,
        }
    return Reply(200, dumps({"resources": resources, "rate": resources["core"]}))


# ---- webhook deliveries -----------------------------------------------------------------------
async def list_deliveries(call: Call) -> Reply | Cacheable:
    sender = call.sim.webhooks
    request = call.request
    try:
        _, per_page = paging(request)
        cursor = int(request.query_params["cursor"]) if "cursor" in request.query_params else None
    except ValueError:
        return error(422, "Validation Failed: per_page and cursor must be integers")
    newest_first = reversed(sender.attempts)
    items = [a for a in newest_first if cursor is None or a.id < cursor]
    chosen = items[:per_page]
    headers = {}
    if len(items) > per_page:
        query = urlencode({"per_page": per_page, "cursor": chosen[-1].id})
        headers["Link"] = f'<{base_url(request)}{request.url.path}?{query}>; rel="next"'
    return Reply(200, dumps([a.summary() for a in chosen]), headers)


async def get_delivery(call: Call) -> Reply | Cacheable:
    try:
        attempt = call.sim.webhooks.attempt(int(call.request.path_params["delivery_id"]))
    except (KeyError, ValueError):
        return not_found()
    data = attempt.summary()
    data["url"] = call.sim.config.hook_url or ""
    data["request"] = {
        "headers": attempt.headers,
        "payload": json.loads(attempt.delivery.body),
    }
    data["response"] = {"headers": {}, "payload": attempt.response_body or None}
    return Reply(200, dumps(data))


async def redeliver(call: Call) -> Reply | Cacheable:
    try:
        call.sim.webhooks.redeliver(int(call.request.path_params["delivery_id"]))
    except (KeyError, ValueError) as failure:
        if isinstance(failure, KeyError) or "integer" in str(failure):
            return not_found()
        return error(422, "Validation Failed: " + str(failure))
    return Reply(202, dumps({}))


# ---- App registration from a manifest ---------------------------------------------------------
def create_manifest_code(sim: Any, manifest: dict[str, Any]) -> str:
    if not isinstance(manifest, dict) or not isinstance(manifest.get("name", ""), str):
        raise ValueError("a manifest is a JSON object with at least a name")
    code = secrets.token_hex(10)
    sim.manifest_codes[code] = (manifest, sim.clock.now() + MANIFEST_CODE_LIFETIME_S)
    return code


async def manifest_page(request: Request) -> Response:
    """GitHub's `…/settings/apps/new` form target: redirects back with a one-time code."""
    sim = request.app.state.sim
    # urlencoded form, parsed by hand: GitHub's page takes a plain HTML form POST
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    raw = form.get("manifest")
    if not isinstance(raw, str):
        return JSONResponse({"message": "manifest form field is required"}, 422)
    try:
        manifest = json.loads(raw)
        code = create_manifest_code(sim, manifest)
    except ValueError as failure:
        return JSONResponse({"message": f"invalid manifest: {failure}"}, 422)
    redirect = manifest.get("redirect_url")
    if not isinstance(redirect, str) or not redirect:
        return JSONResponse({"message": "manifest has no redirect_url"}, 422)
    query = {"code": code}
    state = form.get("state")
    if isinstance(state, str):
        query["state"] = state
    separator = "&" if "?" in redirect else "?"
    return RedirectResponse(f"{redirect}{separator}{urlencode(query)}", status_code=302)


async def convert_manifest(call: Call) -> Reply | Cacheable:
    sim = call.sim
    code = call.request.path_params["code"]
    found = sim.manifest_codes.pop(code, None)
    if found is None or found[1] <= sim.clock.now():
        return not_found()
    manifest = found[0]
    try:
        grants = AppGrants.from_manifest(manifest)
    except ValueError as failure:
        return error(422, f"Validation Failed: {failure}")
    sim.world.app_grants = grants  # what installations accept from now on
    # The simulated App's installations count as made after this registration: they hold
    # what its manifest asks for.
    for inst in sim.world.installations.values():
        inst.permissions = dict(grants.permissions)
    sim.webhooks.subscriptions = grants
    if manifest.get("name"):
        sim.app_name = str(manifest["name"])
    hook = manifest.get("hook_attributes") or {}
    if isinstance(hook, dict) and hook.get("url") and hook.get("active", True):
        sim.config.hook_url = str(hook["url"])
    data = app_object(call)
    data.update(
        {
            "client_secret": sim.client_secret,
            "webhook_secret": sim.config.webhook_secret,
            "pem": sim.private_key_pem,
        }
    )
    return Reply(201, dumps(data))


APP_ROUTES: tuple[tuple[str, str, Auth, Any], ...] = (
    ("GET", "/app", "jwt", get_app),
    ("GET", "/app/installations", "jwt", list_installations),
    ("GET", "/app/installations/{installation_id}", "jwt", get_installation),
    ("POST", "/app/installations/{installation_id}/access_tokens", "jwt", create_access_token),
    ("GET", "/installation/repositories", "token", installation_repositories),
    ("GET", "/app/hook/deliveries", "jwt", list_deliveries),
    ("GET", "/app/hook/deliveries/{delivery_id}", "jwt", get_delivery),
    ("POST", "/app/hook/deliveries/{delivery_id}/attempts", "jwt", redeliver),
    ("POST", "/app-manifests/{code}/conversions", "none", convert_manifest),
)
