"""The `/_sim` admin API (no auth): mutations mirroring the world's methods, truth, stats,
configuration, token expiry, churn, webhook draining and manifest codes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from prwatch.sim import payloads
from prwatch.sim.churn import churn
from prwatch.sim.entities import CheckRun, PullRequest, Repository
from prwatch.sim.events import InvalidMutationError, NotFoundError
from prwatch.sim.rest_app import create_manifest_code
from prwatch.sim.reviews import review_truth, reviews_truth
from prwatch.sim.statuses import status_truth
from prwatch.sim.world import CHECK_NAMES, World, check_run_truth, pull_request_truth

AdminHandler = Callable[[Request, Any, dict[str, Any]], Awaitable[Any]]


def _wrap(handler: AdminHandler, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        sim = request.app.state.sim
        body: dict[str, Any] = {}
        raw = await request.body()
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                return JSONResponse({"message": "body is not JSON"}, 400)
            if not isinstance(parsed, dict):
                return JSONResponse({"message": "body must be a JSON object"}, 400)
            body = parsed
        try:
            result = await handler(request, sim, body)
        except NotFoundError as failure:
            return JSONResponse({"message": str(failure)}, 404)
        except (InvalidMutationError, ValueError, TypeError, KeyError) as failure:
            return JSONResponse({"message": f"{type(failure).__name__}: {failure}"}, 422)
        if isinstance(result, Response):
            return result
        return JSONResponse(result, status)

    return serve


def _repo(request: Request, world: World) -> Repository:
    return world.repository_by_name(request.path_params["owner"], request.path_params["repo"])


def _number(request: Request) -> int:
    return int(request.path_params["number"])


def _pr(pr: PullRequest) -> dict[str, Any]:
    return pull_request_truth(pr)


def _run(world: World, run: CheckRun) -> dict[str, Any]:
    return check_run_truth(run, world.check_apps[run.suite.app_id].slug)


async def get_app(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    world = sim.world
    return {
        "app_id": sim.config.app_id,
        "app_slug": sim.config.app_slug,
        "client_id": sim.client_id,
        "private_key_pem": sim.private_key_pem,
        "webhook_secret": sim.config.webhook_secret,
        "installations": [
            payloads.installation_object(world, inst)
            for inst in world.installations.values()
            if not inst.deleted
        ],
    }


async def open_pull(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    repo = _repo(request, sim.world)
    pr = sim.world.open_pull_request(
        repo.id,
        title=str(body.get("title", "A new change")),
        author=str(body.get("author", "octo-dev")),
        head_ref=body.get("head_ref"),
        base_ref=body.get("base_ref"),
        draft=bool(body.get("draft", False)),
        fork_owner=body.get("fork_owner"),
        body=body.get("body"),
    )
    if body.get("checks", False):
        sim.world.create_check_suite(repo.id, pr.head_sha, body.get("check_names", CHECK_NAMES))
    return _pr(pr)


async def edit_pull(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    world, repo, n = sim.world, _repo(request, sim.world), _number(request)
    allowed = {"title", "body", "base", "state", "draft"}
    unknown = set(body) - allowed
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}; allowed: {sorted(allowed)}")
    pr = world.edit_pull_request(
        repo.id, n, title=body.get("title"), body=body.get("body"), base_ref=body.get("base")
    )
    if "draft" in body:
        pr = world.set_draft(repo.id, n, bool(body["draft"]))
    if body.get("state") == "closed" and pr.state == "open":
        pr = world.close_pull_request(repo.id, n)
    elif body.get("state") == "open" and pr.state == "closed":
        pr = world.reopen_pull_request(repo.id, n)
    elif body.get("state") not in (None, "open", "closed"):
        raise ValueError("state must be open or closed")
    return _pr(pr)


async def add_labels(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    repo, n = _repo(request, sim.world), _number(request)
    labels = body.get("labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ValueError("labels must be a list of names")
    pr = sim.world.pull_request(repo.id, n)
    for name in labels:
        pr = sim.world.add_label(repo.id, n, name)
    return _pr(pr)


async def remove_label(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    repo = _repo(request, sim.world)
    return _pr(sim.world.remove_label(repo.id, _number(request), request.path_params["name"]))


async def merge_pull(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    repo = _repo(request, sim.world)
    return _pr(sim.world.merge_pull_request(repo.id, _number(request)))


async def push(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    repo = _repo(request, sim.world)
    pr = sim.world.push(repo.id, _number(request), sha=body.get("sha"))
    if body.get("checks", False):
        sim.world.create_check_suite(repo.id, pr.head_sha, body.get("check_names", CHECK_NAMES))
    return _pr(pr)


async def create_checks(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    repo = _repo(request, sim.world)
    head_sha = body["head_sha"]
    if not isinstance(head_sha, str):
        raise ValueError("head_sha must be a string")
    names = body.get("names", CHECK_NAMES)
    suite = sim.world.create_check_suite(repo.id, head_sha, names)
    return {"check_suite_id": suite.id, "check_runs": [_run(sim.world, run) for run in suite.runs]}


async def create_status(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    """A commit status on ``sha``: ``state``, and optionally ``context``, ``description``,
    ``target_url``, ``creator``."""
    repo = _repo(request, sim.world)
    fields = {k: body[k] for k in ("context", "description", "target_url", "creator") if k in body}
    for name, value in fields.items():
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string")
    status = sim.world.create_status(
        repo.id, request.path_params["sha"], state=body["state"], **fields
    )
    return status_truth(status)


async def submit_review(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    """A review of a PR: ``user``, ``state`` (approved, changes_requested, commented), ``body``."""
    repo = _repo(request, sim.world)
    review = sim.world.submit_review(
        repo.id, _number(request), user=str(body["user"]), state=str(body["state"]),
        body=body.get("body"),
    )  # fmt: skip
    return review_truth(sim.world, review)


async def dismiss_review(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    review = sim.world.dismiss_review(int(request.path_params["review_id"]))
    return review_truth(sim.world, review)


async def update_check_run(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    actions = body.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, str) and a for a in actions):
        raise ValueError("actions must be a list of identifiers")
    run = sim.world.update_check_run(
        int(request.path_params["run_id"]),
        status=body["status"],
        conclusion=body.get("conclusion"),
        actions=actions,
    )
    return _run(sim.world, run)


async def rerun_check_run(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    return _run(sim.world, sim.world.rerun_check_run(int(request.path_params["run_id"])))


def _repo_summary(repo: Repository) -> dict[str, Any]:
    return {
        "id": repo.id,
        "full_name": repo.full_name,
        "installation_id": repo.installation_id,
        "deleted": repo.deleted,
    }


async def create_repo(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    repo = sim.world.create_repository(
        str(body["owner"]), str(body["name"]), private=bool(body.get("private", False))
    )
    if body.get("installation_id") is not None:
        sim.world.add_repository_to_installation(int(body["installation_id"]), repo.id)
    return _repo_summary(repo)


async def rename_repo(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    return _repo_summary(
        sim.world.rename_repository(_repo(request, sim.world).id, str(body["name"]))
    )


async def transfer_repo(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    repo = _repo(request, sim.world)
    return _repo_summary(sim.world.transfer_repository(repo.id, str(body["new_owner"])))


async def delete_repo(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    return _repo_summary(sim.world.delete_repository(_repo(request, sim.world).id))


def _ids(request: Request) -> tuple[int, int]:
    return int(request.path_params["installation_id"]), int(request.path_params["repository_id"])


async def add_to_installation(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    return _repo_summary(sim.world.add_repository_to_installation(*_ids(request)))


async def remove_from_installation(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    return _repo_summary(sim.world.remove_repository_from_installation(*_ids(request)))


async def create_installation(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    inst = sim.world.create_installation(
        str(body["account"]),
        str(body.get("account_type", "Organization")),  # or "Enterprise" (account: its slug)
        account_shown=not body.get("account_null", False),
    )
    return payloads.installation_object(sim.world, inst)


def _installation_action(action: str) -> AdminHandler:
    async def act(request: Request, sim: Any, body: dict[str, Any]) -> Any:
        id = int(request.path_params["installation_id"])
        inst = getattr(sim.world, f"{action}_installation")(id)
        if action in ("delete", "suspend"):
            sim.tokens.revoke_installation(id)
        return {"id": inst.id, "suspended": inst.suspended, "deleted": inst.deleted}

    return act


async def expire_tokens(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    return {"expired": sim.tokens.expire_all(sim.clock.now())}


async def truth(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    """The whole world, or with ``?installation_id=N`` only the repositories that installation
    holds now, their PRs and check runs (every installation is listed either way): a world of
    a million PRs is read one installation at a time."""
    wanted = request.query_params.get("installation_id")
    if wanted is None:
        return sim.world.truth()
    return _installation_truth(sim.world, int(wanted))


def _installation_truth(world: World, installation_id: int) -> dict[str, Any]:
    whole_installations = [
        {
            "id": inst.id,
            "account_login": inst.account.login,
            "account_type": inst.account.type,
            "suspended": inst.suspended,
            "deleted": inst.deleted,
            "repository_ids": sorted(inst.repository_ids),
        }
        for inst in sorted(world.installations.values(), key=lambda i: i.id)
    ]
    repos = sorted(
        (r for r in world.repositories.values() if r.installation_id == installation_id),
        key=lambda r: r.id,
    )
    ids = {repo.id for repo in repos}
    return {
        "installations": whole_installations,
        "repositories": [
            {
                "id": repo.id,
                "full_name": repo.full_name,
                "installation_id": repo.installation_id,
                "private": repo.private,
                "deleted": repo.deleted,
            }
            for repo in repos
        ],
        "pull_requests": [_pr(pr) for repo in repos for pr in repo.pulls],
        "check_runs": [
            _run(world, run)
            for run in sorted(world.runs.values(), key=lambda r: r.id)
            if run.suite.repo.id in ids
        ],
        "commit_statuses": [
            status for status in world.truth_of_statuses() if status["repository_id"] in ids
        ],
        "reviews": [entry for entry in reviews_truth(world) if entry["repository_id"] in ids],
    }


async def stats(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    return sim.stats.snapshot()


async def reset_stats(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    sim.stats.reset()
    return sim.stats.snapshot()


async def put_config(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    sim.configure(body)
    return sim.config.public()


async def get_config(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    return sim.config.public()


async def run_churn(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    return churn(sim.world, **body)


async def drain(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    await sim.webhooks.drain()
    return {"attempts": len(sim.webhooks.attempts)}


async def new_manifest(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    return {"code": create_manifest_code(sim, body)}


async def advance_clock(request: Request, sim: Any, body: dict[str, Any]) -> Any:
    advance = getattr(sim.clock, "advance", None)
    if advance is None:
        raise ValueError("the simulator runs on the system clock")
    return {"now": advance(int(body.get("seconds", 1)))}


P = "/_sim/repos/{owner}/{repo}"
ADMIN_ROUTES = [
    Route("/_sim/app", _wrap(get_app), methods=["GET"]),
    Route("/_sim/repos", _wrap(create_repo, 201), methods=["POST"]),
    Route(f"{P}/pulls", _wrap(open_pull, 201), methods=["POST"]),
    Route(f"{P}/pulls/{{number:int}}", _wrap(edit_pull), methods=["PATCH"]),
    Route(f"{P}/pulls/{{number:int}}/labels", _wrap(add_labels), methods=["POST"]),
    Route(f"{P}/pulls/{{number:int}}/labels/{{name}}", _wrap(remove_label), methods=["DELETE"]),
    Route(f"{P}/pulls/{{number:int}}/merge", _wrap(merge_pull), methods=["POST"]),
    Route(f"{P}/pulls/{{number:int}}/push", _wrap(push), methods=["POST"]),
    Route(f"{P}/check-runs", _wrap(create_checks, 201), methods=["POST"]),
    Route(f"{P}/statuses/{{sha}}", _wrap(create_status, 201), methods=["POST"]),
    Route(f"{P}/pulls/{{number:int}}/reviews", _wrap(submit_review, 201), methods=["POST"]),
    Route("/_sim/reviews/{review_id:int}/dismiss", _wrap(dismiss_review), methods=["POST"]),
    Route("/_sim/check-runs/{run_id:int}", _wrap(update_check_run), methods=["PATCH"]),
    Route("/_sim/check-runs/{run_id:int}/rerun", _wrap(rerun_check_run, 201), methods=["POST"]),
    Route(f"{P}/rename", _wrap(rename_repo), methods=["POST"]),
    Route(f"{P}/transfer", _wrap(transfer_repo), methods=["POST"]),
    Route(P, _wrap(delete_repo), methods=["DELETE"]),
    Route("/_sim/installations", _wrap(create_installation, 201), methods=["POST"]),
    Route(
        "/_sim/installations/{installation_id:int}/repositories/{repository_id:int}",
        _wrap(add_to_installation),
        methods=["POST"],
    ),
    Route(
        "/_sim/installations/{installation_id:int}/repositories/{repository_id:int}",
        _wrap(remove_from_installation),
        methods=["DELETE"],
    ),
    Route(
        "/_sim/installations/{installation_id:int}/suspend",
        _wrap(_installation_action("suspend")),
        methods=["POST"],
    ),
    Route(
        "/_sim/installations/{installation_id:int}/unsuspend",
        _wrap(_installation_action("unsuspend")),
        methods=["POST"],
    ),
    Route(
        "/_sim/installations/{installation_id:int}",
        _wrap(_installation_action("delete")),
        methods=["DELETE"],
    ),
    Route("/_sim/tokens/expire", _wrap(expire_tokens), methods=["POST"]),
    Route("/_sim/truth", _wrap(truth), methods=["GET"]),
    Route("/_sim/stats", _wrap(stats), methods=["GET"]),
    Route("/_sim/stats/reset", _wrap(reset_stats), methods=["POST"]),
    Route("/_sim/config", _wrap(put_config), methods=["PUT"]),
    Route("/_sim/config", _wrap(get_config), methods=["GET"]),
    Route("/_sim/churn", _wrap(run_churn), methods=["POST"]),
    Route("/_sim/webhooks/drain", _wrap(drain), methods=["POST"]),
    Route("/_sim/manifests", _wrap(new_manifest, 201), methods=["POST"]),
    Route("/_sim/clock/advance", _wrap(advance_clock), methods=["POST"]),
]
