"""Repository routes: the repository, its pull requests, check runs and suites.

Each is served under `/repos/{owner}/{repo}` and `/repositories/{repository_id}` alike.
"""

from __future__ import annotations

import re

from prwatch.sim.entities import Repository
from prwatch.sim.gateway import Cacheable, Call, Reply, error, not_found, page_links, paging
from prwatch.sim.render import dumps

STATES = ("open", "closed", "all")
SORTS = ("created", "updated", "popularity", "long-running")
SHA = re.compile(r"^[0-9a-f]{40}$")


def _repo(call: Call) -> Repository:
    assert call.repo is not None  # the gateway resolved it
    return call.repo


async def get_repository(call: Call) -> Reply | Cacheable:
    repo = _repo(call)
    render = call.sim.world.render
    return Cacheable(
        f"repo:{repo.id}:{repo.meta_rev}",
        lambda: Reply(200, dumps(render.full_repository(repo))),
    )


def _invalid(message: str) -> Reply:
    return error(422, f"Validation Failed: {message}")


async def list_pulls(call: Call) -> Reply | Cacheable:
    repo = _repo(call)
    query = call.request.query_params
    state = query.get("state", "open")
    sort = query.get("sort", "created")
    direction = query.get("direction", "desc" if sort == "created" else "asc")
    if state not in STATES:
        return _invalid(f"state must be one of {', '.join(STATES)}")
    if sort not in SORTS:
        return _invalid(f"sort must be one of {', '.join(SORTS)}")
    if direction not in ("asc", "desc"):
        return _invalid("direction must be asc or desc")
    try:
        page, per_page = paging(call.request)
    except ValueError as failure:
        return _invalid(str(failure))
    world = call.sim.world
    request = call.request

    def render() -> Reply:
        prs = world.pull_requests_sorted(repo.id, state, sort, direction)
        chosen = prs[(page - 1) * per_page : page * per_page]
        body = "[" + ",".join(world.render.pull_request_json(pr, full=False) for pr in chosen) + "]"
        return Reply(200, body, page_links(request, page, per_page, len(prs)))

    return Cacheable(f"pulls:{repo.id}:{repo.pulls_rev}", render)


async def get_pull(call: Call) -> Reply | Cacheable:
    repo = _repo(call)
    try:
        number = int(call.request.path_params["number"])
    except ValueError:
        return not_found()
    if not 1 <= number <= len(repo.pulls):
        return not_found()
    pr = repo.pulls[number - 1]
    render = call.sim.world.render
    return Cacheable(
        f"pull:{repo.id}:{number}:{pr.rev}:{repo.meta_rev}",
        lambda: Reply(200, render.pull_request_json(pr, full=True)),
    )


def resolve_ref(call: Call, ref: str) -> str | None:
    """A commit SHA for `ref`: a SHA as is, or the head of the open PR on that branch."""
    repo = _repo(call)
    if SHA.match(ref):
        return ref
    branch = ref.removeprefix("refs/heads/")
    for pr in reversed(repo.pulls):
        if pr.head_ref == branch and not pr.is_fork and pr.state == "open":
            return pr.head_sha
    return None


async def list_check_runs(call: Call) -> Reply | Cacheable:
    repo = _repo(call)
    query = call.request.query_params
    sha = resolve_ref(call, call.request.path_params["ref"])
    if sha is None:
        return error(422, "No commit found for SHA: " + call.request.path_params["ref"])
    filter = query.get("filter", "latest")
    if filter not in ("latest", "all"):
        return _invalid("filter must be latest or all")
    status = query.get("status")
    if status is not None and status not in ("queued", "in_progress", "completed"):
        return _invalid("status must be queued, in_progress or completed")
    check_name = query.get("check_name")
    app_id = query.get("app_id")
    try:
        page, per_page = paging(call.request)
    except ValueError as failure:
        return _invalid(str(failure))
    world = call.sim.world
    request = call.request

    def render() -> Reply:
        runs = world.check_runs_for_sha(repo.id, sha, latest=filter == "latest")
        runs = [
            run
            for run in runs
            if (status is None or run.status == status)
            and (check_name is None or run.name == check_name)
            and (app_id is None or str(run.suite.app_id) == app_id)
        ]
        chosen = runs[(page - 1) * per_page : page * per_page]
        items = [
            world.render.check_run(
                run,
                world.check_apps[run.suite.app_id],
                world.check_prs(run.suite),
                for_payload=False,
            )
            for run in chosen
        ]
        body = dumps({"total_count": len(runs), "check_runs": items})
        return Reply(200, body, page_links(request, page, per_page, len(runs)))

    return Cacheable(f"checks:{repo.id}:{sha}:{world.sha_rev.get((repo.id, sha), 0)}", render)


async def list_check_suites(call: Call) -> Reply | Cacheable:
    repo = _repo(call)
    sha = resolve_ref(call, call.request.path_params["ref"])
    if sha is None:
        return error(422, "No commit found for SHA: " + call.request.path_params["ref"])
    try:
        page, per_page = paging(call.request)
    except ValueError as failure:
        return _invalid(str(failure))
    world = call.sim.world
    request = call.request

    def render() -> Reply:
        suites = world.suites_for_sha(repo.id, sha)
        chosen = suites[(page - 1) * per_page : page * per_page]
        items = [
            world.render.check_suite(
                suite, world.check_apps[suite.app_id], world.check_prs(suite), for_payload=False
            )
            for suite in chosen
        ]
        body = dumps({"total_count": len(suites), "check_suites": items})
        return Reply(200, body, page_links(request, page, per_page, len(suites)))

    return Cacheable(f"suites:{repo.id}:{sha}:{world.sha_rev.get((repo.id, sha), 0)}", render)


# (path under the repository, handler, the permission it needs: see sim.permissions)
REPO_ROUTES = (
    ("", get_repository, "metadata"),
    ("/pulls", list_pulls, "pull_requests"),
    ("/pulls/{number}", get_pull, "pull_requests"),
    ("/commits/{ref:path}/check-runs", list_check_runs, "checks"),
    ("/commits/{ref:path}/check-suites", list_check_suites, "checks"),
)
