"""Commit status routes: create a status, list a commit's statuses, its combined status.

Served under `/repos/{owner}/{repo}` and `/repositories/{repository_id}` like the other
repository routes. GETs are cacheable by the commit's version, so a repeated read with the
ETag answers 304 (free), as GitHub does.
https://docs.github.com/en/rest/commits/statuses
"""

from __future__ import annotations

import json

from prwatch.sim.entities import Repository
from prwatch.sim.events import InvalidMutationError, NotFoundError
from prwatch.sim.gateway import Cacheable, Call, Reply, error, page_links, paging
from prwatch.sim.render import dumps
from prwatch.sim.rest_repos import SHA, resolve_ref
from prwatch.sim.statuses import (
    all_statuses,
    combined_status_json,
    latest_statuses,
    status_json,
)


def _repo(call: Call) -> Repository:
    assert call.repo is not None  # the gateway resolved it
    return call.repo


def _version(call: Call, sha: str) -> str:
    repo = _repo(call)
    return f"{repo.id}:{sha}:{call.sim.world.sha_rev.get((repo.id, sha), 0)}"


async def get_combined_status(call: Call) -> Reply | Cacheable:
    repo = _repo(call)
    ref = call.request.path_params["ref"]
    sha = resolve_ref(call, ref)
    if sha is None:
        return error(422, "No commit found for SHA: " + ref)
    try:
        page, per_page = paging(call.request, default=100)
    except ValueError as failure:
        return error(422, f"Validation Failed: {failure}")
    world = call.sim.world
    request = call.request

    def render() -> Reply:
        latest = latest_statuses(world, repo.id, sha)
        chosen = latest[(page - 1) * per_page : page * per_page]
        body = dumps(combined_status_json(world, repo, sha, chosen, len(latest)))
        return Reply(200, body, page_links(request, page, per_page, len(latest)))

    return Cacheable("combined-status:" + _version(call, sha), render)


async def list_statuses(call: Call) -> Reply | Cacheable:
    repo = _repo(call)
    ref = call.request.path_params["ref"]
    sha = resolve_ref(call, ref)
    if sha is None:
        return error(422, "No commit found for SHA: " + ref)
    try:
        page, per_page = paging(call.request)
    except ValueError as failure:
        return error(422, f"Validation Failed: {failure}")
    world = call.sim.world
    request = call.request

    def render() -> Reply:
        statuses = all_statuses(world, repo.id, sha)
        chosen = statuses[(page - 1) * per_page : page * per_page]
        body = dumps([status_json(world, status) for status in chosen])
        return Reply(200, body, page_links(request, page, per_page, len(statuses)))

    return Cacheable("statuses:" + _version(call, sha), render)


async def post_status(call: Call) -> Reply | Cacheable:
    repo = _repo(call)
    sha = call.request.path_params["sha"]
    world = call.sim.world
    if not SHA.match(sha) or (repo.id, sha) not in world.sha_rev:
        return error(422, "No commit found for SHA: " + sha)
    try:
        body = json.loads(await call.request.body())
    except ValueError:
        return error(400, "Problems parsing JSON")
    if not isinstance(body, dict):
        return error(400, "Problems parsing JSON")
    state = body.get("state")
    if not isinstance(state, str):
        return error(422, "Validation Failed: state is required")
    fields = {k: body[k] for k in ("context", "description", "target_url") if k in body}
    if any(not isinstance(value, str | None) for value in fields.values()):
        return error(422, "Validation Failed: context, description and target_url are strings")
    try:
        status = world.create_status(
            repo.id, sha, state=state, context=fields.pop("context", None) or "default",
            **fields,
        )  # fmt: skip
    except (InvalidMutationError, NotFoundError) as failure:
        return error(422, f"Validation Failed: {failure}")
    return Reply(201, dumps(status_json(world, status)))


STATUS_GET_ROUTES = (
    ("/commits/{ref:path}/status", get_combined_status),
    ("/commits/{ref:path}/statuses", list_statuses),
    ("/statuses/{ref:path}", list_statuses),  # the legacy path of the same list
)
STATUS_POST_ROUTES = (("/statuses/{sha}", post_status),)
