"""Webhook payloads, key for key like the real ones in fixtures/github-payloads.

App deliveries always carry `installation` ({id, node_id}) and, for repositories owned by an
organization, `organization`; a few of the recorded examples lack them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from prwatch.sim.clock import iso
from prwatch.sim.entities import CheckRun, CheckSuite, Installation, PullRequest, Repository, User
from prwatch.sim.render import node_id

if TYPE_CHECKING:
    from prwatch.sim.world import World

PERMISSIONS = {
    "checks": "read",
    "contents": "read",
    "metadata": "read",
    "pull_requests": "read",
    "statuses": "read",
}
EVENTS = [
    "check_run",
    "check_suite",
    "pull_request",
    "pull_request_review",
    "repository",
    "status",
]


def installation_ref(installation_id: int) -> dict[str, Any]:
    return {"id": installation_id, "node_id": node_id("IntegrationInstallation", installation_id)}


def organization(world: World, owner: User) -> dict[str, Any]:
    api = f"{world.render.api}/orgs/{owner.login}"
    return {
        "login": owner.login,
        "id": owner.id,
        "node_id": node_id("Organization", owner.id),
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{owner.id}?v=4",
        "description": "",
    }


def _repo_scoped(world: World, repo: Repository, body: dict[str, Any]) -> dict[str, Any]:
    body["repository"] = json.loads(world.render.repository_json(repo))
    if repo.owner.type == "Organization":
        body["organization"] = organization(world, repo.owner)
    if repo.installation_id is not None:
        body["installation"] = installation_ref(repo.installation_id)
    body["sender"] = world.render.user(world.sender)
    return body


# For the events rendered in their own modules (statuses, reviews).
repo_scoped = _repo_scoped


def pull_request(world: World, pr: PullRequest, action: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"action": action, "number": pr.number}
    if "changes" in extra:
        body["changes"] = extra.pop("changes")
    body["pull_request"] = world.render.pull_request(pr, full=True, payload=True)
    shown = extra.pop("pull_request_milestone", None)
    if shown is not None:  # `demilestoned` shows the milestone removed
        body["pull_request"]["milestone"] = world.render.milestone(pr.repo, shown)
    body.update(extra)  # label | before/after | assignee | requested_reviewer | milestone | reason
    return _repo_scoped(world, pr.repo, body)


def check_run(world: World, run: CheckRun, action: str, **extra: Any) -> dict[str, Any]:
    suite = run.suite
    app = world.check_apps[suite.app_id]
    prs = world.check_prs(suite)
    body: dict[str, Any] = {
        "action": action,
        "check_run": world.render.check_run(run, app, prs, for_payload=True),
    }
    body.update(extra)  # requested_action
    return _repo_scoped(world, suite.repo, body)


def check_suite(world: World, suite: CheckSuite, action: str) -> dict[str, Any]:
    app = world.check_apps[suite.app_id]
    prs = world.check_prs(suite)
    body: dict[str, Any] = {
        "action": action,
        "check_suite": world.render.check_suite(suite, app, prs, for_payload=True),
    }
    return _repo_scoped(world, suite.repo, body)


def repository(
    world: World, repo: Repository, action: str, changes: dict[str, Any] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"action": action}
    if changes is not None:
        body["changes"] = changes
    return _repo_scoped(world, repo, body)


def installation_account(world: World, inst: Installation) -> dict[str, Any] | None:
    """`simple-user | enterprise | null`, as GitHub's OpenAPI describes an installation's
    account: an enterprise has a slug and a name, and no login."""
    if not inst.account_shown:
        return None
    account = inst.account
    if account.type != "Enterprise":
        return world.render.user(account)
    return {
        "id": account.id,
        "slug": account.login,
        "name": account.login.replace("-", " ").title(),
        "node_id": node_id("Enterprise", account.id),
        "html_url": f"{world.render.web}/enterprises/{account.login}",
        "description": None,
        "website_url": None,
        "avatar_url": f"https://avatars.githubusercontent.com/b/{account.id}?v=4",
        "created_at": iso(inst.created_at),
        "updated_at": iso(inst.created_at),
    }


def installation_object(world: World, inst: Installation) -> dict[str, Any]:
    """The full installation object (webhooks and `GET /app/installations`)."""
    return {
        "id": inst.id,
        "client_id": f"Iv1.{world.app_id:016x}",
        "account": installation_account(world, inst),
        "repository_selection": "selected",
        "access_tokens_url": f"{world.render.api}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{world.render.api}/installation/repositories",
        "html_url": f"{world.render.web}/settings/installations/{inst.id}",
        "app_id": world.app_id,
        "app_slug": world.app_slug,
        "target_id": inst.account.id,
        "target_type": inst.account.type,
        "permissions": world.installation_permissions(inst),
        "events": list(world.app_grants.events),
        "created_at": iso(inst.created_at),
        "updated_at": iso(inst.updated_at),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": world.render.user(world.sender) if inst.suspended else None,
        "suspended_at": iso(inst.suspended_at),
    }


def installation(world: World, inst: Installation, action: str) -> dict[str, Any]:
    body: dict[str, Any] = {"action": action, "installation": installation_object(world, inst)}
    if action in ("created", "deleted", "new_permissions_accepted"):
        body["repositories"] = [
            world.render.repository_summary(world.repositories[id])
            for id in sorted(inst.repository_ids)
        ]
    body["sender"] = world.render.user(world.sender)
    return body


def installation_repositories(
    world: World, inst: Installation, action: str, repos: list[Repository]
) -> dict[str, Any]:
    summaries = [world.render.repository_summary(repo) for repo in repos]
    return {
        "action": action,
        "installation": installation_object(world, inst),
        "repository_selection": "selected",
        "repositories_added": summaries if action == "added" else [],
        "repositories_removed": summaries if action == "removed" else [],
        "requester": None,
        "sender": world.render.user(world.sender),
    }
