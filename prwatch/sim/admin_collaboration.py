"""`/_sim` admin routes for what people do to a PR besides its code (assignees, reviewers,
milestones, locks, auto-merge, merge queue), for check-run buttons and suite re-runs, and for
an installation accepting new permissions. Paths follow GitHub's REST routes where there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from prwatch.sim.admin import AdminHandler, P, _number, _pr, _repo, _run, _wrap
from prwatch.sim.entities import PullRequest
from prwatch.sim.payloads import installation_object
from prwatch.sim.world import World


def _logins(body: dict[str, Any], key: str) -> list[str]:
    logins = body.get(key)
    if not isinstance(logins, list) or not logins or not all(isinstance(x, str) for x in logins):
        raise ValueError(f"{key} must be a non-empty list of logins")
    return logins


def _optional_string(body: dict[str, Any], key: str, default: str | None = None) -> str | None:
    value = body.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _per_login(key: str, change: Callable[[World, int, int, str], PullRequest]) -> AdminHandler:
    """A handler applying `change` to the PR once for each login in the body's `key`."""

    async def handler(request: Request, sim: Any, body: dict[str, Any]) -> Any:
        repo, n = _repo(request, sim.world), _number(request)
        for login in _logins(body, key):
            pr = change(sim.world, repo.id, n, login)
        return _pr(pr)

    return handler


add_assignees = _per_login("assignees", World.assign)
remove_assignees = _per_login("assignees", World.unassign)
request_reviewers = _per_login("reviewers", World.request_review)
remove_reviewers = _per_login("reviewers", World.remove_review_request)


async def set_milestone(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    if "milestone" not in body:
        raise ValueError("milestone (a title, or null to remove it) is required")
    title = _optional_string(body, "milestone")
    repo = _repo(request, sim.world)
    return _pr(sim.world.set_milestone(repo.id, _number(request), title))


async def lock(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    repo = _repo(request, sim.world)
    reason = _optional_string(body, "lock_reason")
    return _pr(sim.world.lock(repo.id, _number(request), reason))


async def unlock(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    return _pr(sim.world.unlock(_repo(request, sim.world).id, _number(request)))


async def enable_auto_merge(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    repo = _repo(request, sim.world)
    method = _optional_string(body, "merge_method", "squash") or "squash"
    by = _optional_string(body, "enabled_by", "octo-dev") or "octo-dev"
    return _pr(
        sim.world.enable_auto_merge(repo.id, _number(request), merge_method=method, enabled_by=by)
    )


async def disable_auto_merge(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    repo = _repo(request, sim.world)
    reason = _optional_string(body, "reason", "") or ""
    return _pr(sim.world.disable_auto_merge(repo.id, _number(request), reason=reason))


async def enqueue(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    return _pr(sim.world.enqueue(_repo(request, sim.world).id, _number(request)))


async def dequeue(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    repo = _repo(request, sim.world)
    reason = _optional_string(body, "reason", "MANUAL") or "MANUAL"
    return _pr(sim.world.dequeue(repo.id, _number(request), reason=reason))


async def rerequest_suite(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    suite = sim.world.rerequest_check_suite(int(request.path_params["suite_id"]))
    return {"check_suite_id": suite.id, "status": suite.status}


async def requested_action(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    identifier = _optional_string(body, "identifier")
    if not identifier:
        raise ValueError("identifier is required")
    run = sim.world.request_check_run_action(int(request.path_params["run_id"]), identifier)
    return _run(sim.world, run)


async def accept_permissions(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    permissions = body.get("permissions")
    if not isinstance(permissions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in permissions.items()
    ):
        raise ValueError("permissions must be an object of name: level")
    inst = sim.world.accept_new_permissions(
        int(request.path_params["installation_id"]), permissions
    )
    return installation_object(sim.world, inst)


N = f"{P}/pulls/{{number:int}}"
COLLABORATION_ROUTES = [
    Route(f"{N}/assignees", _wrap(add_assignees, 201), methods=["POST"]),
    Route(f"{N}/assignees", _wrap(remove_assignees), methods=["DELETE"]),
    Route(f"{N}/requested_reviewers", _wrap(request_reviewers, 201), methods=["POST"]),
    Route(f"{N}/requested_reviewers", _wrap(remove_reviewers), methods=["DELETE"]),
    Route(f"{N}/milestone", _wrap(set_milestone), methods=["PUT"]),
    Route(f"{N}/lock", _wrap(lock), methods=["PUT"]),
    Route(f"{N}/lock", _wrap(unlock), methods=["DELETE"]),
    Route(f"{N}/auto-merge", _wrap(enable_auto_merge), methods=["PUT"]),
    Route(f"{N}/auto-merge", _wrap(disable_auto_merge), methods=["DELETE"]),
    Route(f"{N}/merge-queue", _wrap(enqueue), methods=["PUT"]),
    Route(f"{N}/merge-queue", _wrap(dequeue), methods=["DELETE"]),
    Route(
        "/_sim/check-suites/{suite_id:int}/rerequest", _wrap(rerequest_suite, 201), methods=["POST"]
    ),
    Route(
        "/_sim/check-runs/{run_id:int}/requested-action", _wrap(requested_action), methods=["POST"]
    ),
    Route(
        "/_sim/installations/{installation_id:int}/permissions",
        _wrap(accept_permissions),
        methods=["POST"],
    ),
]
