"""Commit statuses in the simulated GitHub: what CI systems that are not GitHub Apps (Jenkins,
Buildkite, CircleCI, …) post with `POST /repos/{o}/{r}/statuses/{sha}`.

Every post is a new status (a new id); a commit's combined status shows the latest per
context, and so does its `statusCheckRollup`, beside the check runs.
https://docs.github.com/en/rest/commits/statuses
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prwatch.sim.clock import iso
from prwatch.sim.entities import Repository, User
from prwatch.sim.events import InvalidMutationError
from prwatch.sim.render import node_id

if TYPE_CHECKING:
    from prwatch.sim.world import World

STATUS_STATES = frozenset({"error", "failure", "pending", "success"})
STATUS_CONTEXTS = ("ci/jenkins", "buildkite/pipeline", "ci/circleci: test")
MAX_DESCRIPTION = 140  # GitHub refuses longer descriptions with a 422


class CommitStatus:
    __slots__ = (
        "context",
        "created_at",
        "creator",
        "description",
        "id",
        "repo",
        "sha",
        "state",
        "target_url",
    )

    def __init__(
        self,
        id: int,
        repo: Repository,
        sha: str,
        *,
        state: str,
        context: str,
        description: str | None,
        target_url: str | None,
        creator: User,
        created_at: int,
    ) -> None:
        self.id = id
        self.repo = repo
        self.sha = sha
        self.state = state
        self.context = context
        self.description = description
        self.target_url = target_url
        self.creator = creator
        self.created_at = created_at


def create_status(
    world: World,
    repository_id: int,
    sha: str,
    *,
    state: str,
    context: str = "default",
    description: str | None = None,
    target_url: str | None = None,
    creator: str | None = None,
    created_at: int | None = None,
    emit: bool = True,
) -> CommitStatus:
    """A new status on `sha` (any commit the world knows, or a new one: CI may report on a
    commit before any PR has it as head)."""
    repo = world.repository(repository_id)
    if state not in STATUS_STATES:
        raise InvalidMutationError(f"state must be one of {', '.join(sorted(STATUS_STATES))}")
    if not context:
        raise InvalidMutationError("context must not be empty")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise InvalidMutationError(f"description is longer than {MAX_DESCRIPTION} characters")
    status = CommitStatus(
        world.next_id("status"),
        repo,
        sha,
        state=state,
        context=context,
        description=description,
        target_url=target_url,
        creator=world.user(creator) if creator else world.sender,
        created_at=created_at if created_at is not None else world.clock.now(),
    )
    world.commit_statuses.setdefault((repo.id, sha), []).append(status)
    key = (repo.id, sha)
    world.sha_rev[key] = world.sha_rev.get(key, 0) + 1  # REST ETags and GraphQL results
    if emit:
        world.emit_event(
            "status",
            None,
            repo.installation_id,
            repo.id,
            lambda: status_payload(world, status),
        )
    return status


def latest_statuses(world: World, repository_id: int, sha: str) -> list[CommitStatus]:
    """The latest status of each context on a commit, newest first (the combined status)."""
    latest: dict[str, CommitStatus] = {}
    for status in world.commit_statuses.get((repository_id, sha), []):
        latest[status.context] = status  # posted in order: the last one is the latest
    return sorted(latest.values(), key=lambda status: status.id, reverse=True)


def all_statuses(world: World, repository_id: int, sha: str) -> list[CommitStatus]:
    """Every status posted on a commit, newest first (`GET …/commits/{ref}/statuses`)."""
    return sorted(
        world.commit_statuses.get((repository_id, sha), []), key=lambda s: s.id, reverse=True
    )


def combined_state(statuses: list[CommitStatus]) -> str:
    """failure if any context failed or errored, pending if any is pending (or none
    reported), else success."""
    states = {status.state for status in statuses}
    if states & {"error", "failure"}:
        return "failure"
    if not states or "pending" in states:
        return "pending"
    return "success"


def status_json(world: World, status: CommitStatus) -> dict[str, Any]:
    """A status as REST shows it."""
    repo = f"{world.render.api}/repos/{status.repo.full_name}"
    return {
        "url": f"{repo}/statuses/{status.sha}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{status.creator.id}?v=4",
        "id": status.id,
        "node_id": node_id("StatusContext", status.id),
        "state": status.state,
        "description": status.description,
        "target_url": status.target_url,
        "context": status.context,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.created_at),
        "creator": world.render.user(status.creator),
    }


def combined_status_json(
    world: World, repo: Repository, sha: str, statuses: list[CommitStatus], total: int
) -> dict[str, Any]:
    api = f"{world.render.api}/repos/{repo.full_name}"
    return {
        "state": combined_state(latest_statuses(world, repo.id, sha)),
        "statuses": [status_json(world, status) for status in statuses],
        "sha": sha,
        "total_count": total,
        "repository": world.render.repository_summary(repo),
        "commit_url": f"{api}/commits/{sha}",
        "url": f"{api}/commits/{sha}/status",
    }


def _payload_time(epoch_seconds: int) -> str:
    # The `status` event writes its timestamps with an offset, not a Z.
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat()


def status_payload(world: World, status: CommitStatus) -> dict[str, Any]:
    """The `status` event, key for key like GitHub's (fixtures: github-payloads/status)."""
    from prwatch.sim.payloads import repo_scoped

    repo = status.repo
    api = f"{world.render.api}/repos/{repo.full_name}"
    author = world.render.user(world.sender)
    when = iso(status.created_at)
    commit = {
        "sha": status.sha,
        "node_id": node_id("Commit", int(status.sha[:12], 16)),
        "commit": {
            "author": {"name": world.sender.login, "email": "dev@example.com", "date": when},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "date": when},
            "message": "Change",
            "tree": {"sha": status.sha[::-1], "url": f"{api}/git/trees/{status.sha[::-1]}"},
            "url": f"{api}/git/commits/{status.sha}",
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
            },
        },
        "url": f"{api}/commits/{status.sha}",
        "html_url": f"{world.render.web}/{repo.full_name}/commit/{status.sha}",
        "comments_url": f"{api}/commits/{status.sha}/comments",
        "author": author,
        "committer": author,
        "parents": [],
    }
    branches = [
        {
            "name": pr.head_ref,
            "commit": {"sha": status.sha, "url": f"{api}/commits/{status.sha}"},
            "protected": False,
        }
        for pr in world.pull_requests_for_sha(repo.id, status.sha)
        if not pr.is_fork
    ]
    body: dict[str, Any] = {
        "id": status.id,
        "sha": status.sha,
        "name": repo.full_name,
        "target_url": status.target_url,
        "context": status.context,
        "description": status.description,
        "state": status.state,
        "commit": commit,
        "branches": branches,
        "created_at": _payload_time(status.created_at),
        "updated_at": _payload_time(status.created_at),
    }
    body = repo_scoped(world, repo, body)
    body["avatar_url"] = f"https://avatars.githubusercontent.com/u/{status.creator.id}?v=4"
    return body


def status_truth(status: CommitStatus) -> dict[str, Any]:
    return {
        "id": status.id,
        "repository_id": status.repo.id,
        "sha": status.sha,
        "context": status.context,
        "state": status.state,
        "description": status.description,
        "target_url": status.target_url,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.created_at),
    }
