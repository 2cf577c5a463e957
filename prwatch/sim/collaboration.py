"""What people do to an open pull request besides changing its code: assignees, review
requests, milestones, locks, auto-merge and the merge queue.

Each is a `pull_request` action with the field GitHub adds for it
(https://docs.github.com/webhooks/webhook-events-and-payloads#pull_request): `assignee`,
`requested_reviewer`, `milestone`, `reason`. Every one of them moves the PR's `updated_at`
(it adds a timeline event), as the recorded payloads show.
"""

from __future__ import annotations

from typing import Any, Protocol

from prwatch.sim.clock import Clock
from prwatch.sim.entities import AutoMerge, Milestone, PullRequest, Repository, User
from prwatch.sim.events import InvalidMutationError, NotFoundError
from prwatch.sim.render import Renderer

LOCK_REASONS = ("resolved", "off-topic", "too heated", "spam")
MERGE_METHODS = ("merge", "squash", "rebase")
MAX_ASSIGNEES = 10  # GitHub's limit per issue or pull request
# Why GitHub takes a PR out of a merge queue (the GraphQL `dequeuePullRequest` mutation and the
# queue's own checks); `reason` is free text in the payload schema.
DEQUEUE_REASONS = ("MANUAL", "CI_FAILURE", "MERGE_CONFLICT", "MERGE")


class _World(Protocol):
    """What these mutations need of the world they are mixed into."""

    clock: Clock
    render: Renderer
    sender: User
    users: dict[str, User]

    def pull_request(self, repository_id: int, number: int) -> PullRequest: ...
    def repository(self, id: int) -> Repository: ...
    def user(self, login: str, type: str = ...) -> User: ...
    def next_id(self, kind: str) -> int: ...
    def _touch(self, pr: PullRequest) -> None: ...
    def _emit_pr(self, pr: PullRequest, action: str, **extra: Any) -> None: ...
    def _open_pr(self, repository_id: int, number: int) -> PullRequest: ...
    def milestone_for(self, repository_id: int, title: str) -> Milestone: ...


class Collaboration:
    """Mixed into `World`: the mutations of this module, each emitting its action."""

    def _open_pr(self: _World, repository_id: int, number: int) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        if pr.state != "open":
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} is not open")
        return pr

    def assign(self: _World, repository_id: int, number: int, login: str) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        user = self.user(login)
        if user in pr.assignees:
            return pr
        if len(pr.assignees) >= MAX_ASSIGNEES:
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} has 10 assignees")
        pr.assignees = (*pr.assignees, user)
        self._touch(pr)
        self._emit_pr(pr, "assigned", assignee=self.render.user(user))
        return pr

    def unassign(self: _World, repository_id: int, number: int, login: str) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        user = self.users.get(login)
        if user is None or user not in pr.assignees:
            raise NotFoundError(f"{login} is not assigned to {pr.repo.full_name}#{number}")
        pr.assignees = tuple(u for u in pr.assignees if u is not user)
        self._touch(pr)
        self._emit_pr(pr, "unassigned", assignee=self.render.user(user))
        return pr

    def request_review(self: _World, repository_id: int, number: int, login: str) -> PullRequest:
        pr = self._open_pr(repository_id, number)
        user = self.user(login)
        if user is pr.author:
            raise InvalidMutationError("the author cannot be asked to review their own change")
        if user in pr.requested_reviewers:
            return pr
        pr.requested_reviewers = (*pr.requested_reviewers, user)
        self._touch(pr)
        self._emit_pr(pr, "review_requested", requested_reviewer=self.render.user(user))
        return pr

    def remove_review_request(
        self: _World, repository_id: int, number: int, login: str
    ) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        user = self.users.get(login)
        if user is None or user not in pr.requested_reviewers:
            raise NotFoundError(f"no review requested from {login} on {pr.repo.full_name}#{number}")
        pr.requested_reviewers = tuple(u for u in pr.requested_reviewers if u is not user)
        self._touch(pr)
        self._emit_pr(pr, "review_request_removed", requested_reviewer=self.render.user(user))
        return pr

    def milestone_for(self: _World, repository_id: int, title: str) -> Milestone:
        """The repository's milestone with this title, created on first use."""
        repo = self.repository(repository_id)
        for milestone in repo.milestones:
            if milestone.title == title:
                return milestone
        now = self.clock.now()
        milestone = Milestone(
            self.next_id("milestone"),
            len(repo.milestones) + 1,
            title,
            self.sender,
            now,
            now + 30 * 24 * 3600,
        )
        repo.milestones.append(milestone)
        return milestone

    def set_milestone(
        self: _World, repository_id: int, number: int, title: str | None
    ) -> PullRequest:
        """Put the PR on the milestone `title` (None: take it off). Moving it from one
        milestone to another is `demilestoned` then `milestoned`, as on GitHub."""
        pr = self.pull_request(repository_id, number)
        target = None if title is None else self.milestone_for(repository_id, title)
        if target is pr.milestone:
            return pr
        if pr.milestone is not None:
            removed = pr.milestone
            pr.milestone = None
            self._touch(pr)
            milestone = self.render.milestone(pr.repo, removed)
            # The payload schema's `pull_request.milestone` is the milestone removed (never
            # null) in `demilestoned`: GitHub renders the PR as it was.
            self._emit_pr(pr, "demilestoned", milestone=milestone, pull_request_milestone=removed)
        if target is not None:
            pr.milestone = target
            self._touch(pr)
            self._emit_pr(pr, "milestoned", milestone=self.render.milestone(pr.repo, target))
        return pr

    def lock(self: _World, repository_id: int, number: int, reason: str | None) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        if reason is not None and reason not in LOCK_REASONS:
            raise InvalidMutationError(f"lock reason must be one of {LOCK_REASONS} or null")
        if pr.locked:
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} is locked already")
        pr.locked, pr.lock_reason = True, reason
        self._touch(pr)
        self._emit_pr(pr, "locked")
        return pr

    def unlock(self: _World, repository_id: int, number: int) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        if not pr.locked:
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} is not locked")
        pr.locked, pr.lock_reason = False, None
        self._touch(pr)
        self._emit_pr(pr, "unlocked")
        return pr

    def enable_auto_merge(
        self: _World,
        repository_id: int,
        number: int,
        *,
        merge_method: str = "squash",
        enabled_by: str = "octo-dev",
    ) -> PullRequest:
        pr = self._open_pr(repository_id, number)
        if merge_method not in MERGE_METHODS:
            raise InvalidMutationError(f"merge_method must be one of {MERGE_METHODS}")
        if pr.draft:
            raise InvalidMutationError("auto-merge cannot be enabled on a draft")
        if pr.auto_merge is not None:
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} has auto-merge already")
        title = None if merge_method == "rebase" else f"{pr.title} (#{pr.number})"
        pr.auto_merge = AutoMerge(self.user(enabled_by), merge_method, title, None)
        self._touch(pr)
        self._emit_pr(pr, "auto_merge_enabled", reason="")
        return pr

    def disable_auto_merge(
        self: _World, repository_id: int, number: int, *, reason: str = ""
    ) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        if pr.auto_merge is None:
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} has no auto-merge")
        pr.auto_merge = None
        self._touch(pr)
        self._emit_pr(pr, "auto_merge_disabled", reason=reason)
        return pr

    def enqueue(self: _World, repository_id: int, number: int) -> PullRequest:
        """Add the PR to its base branch's merge queue."""
        pr = self._open_pr(repository_id, number)
        if pr.draft:
            raise InvalidMutationError("a draft cannot join the merge queue")
        if pr.queued_at is not None:
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} is queued already")
        self._touch(pr)
        pr.queued_at = pr.updated_at
        self._emit_pr(pr, "enqueued")
        return pr

    def dequeue(self: _World, repository_id: int, number: int, *, reason: str) -> PullRequest:
        """Take the PR out of the merge queue (`reason` MERGE when the queue merged it)."""
        pr = self.pull_request(repository_id, number)
        if pr.queued_at is None:
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} is not queued")
        pr.queued_at = None
        self._touch(pr)
        self._emit_pr(pr, "dequeued", reason=reason)
        return pr
