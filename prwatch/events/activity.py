"""Deliveries about pull requests and their checks, applied through the one apply path.

The payload is the observation: a `pull_request` delivery of any action (unknown ones too)
carries the whole PR, a `check_run` delivery the whole check run. Out-of-order and repeated
deliveries are the apply path's business: its fences never move a row backwards.

`check_suite` carries no check runs. `requested` and `rerequested` announce runs whose own
`check_run` deliveries follow, so they need nothing. `completed` is the safety net for a lost
`check_run` delivery: when the store already holds the suite's latest runs
(`latest_check_runs_count` of them), all completed, nothing is fetched; otherwise the head
commit's check runs are read, every page of them, and applied.

A `status` delivery names a commit, not a PR: the status is stored by commit, and whichever
PR has that head (found locally by SHA, forks too) shows it — also a PR that appears later.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from prwatch.domain.models import CheckRunSnapshot, PullRequestSnapshot, Source
from prwatch.events.envelope import required_object
from prwatch.events.errors import PermanentDeliveryError, RetryableJobError
from prwatch.events.outcome import Apply, Delivery, EventContext, FollowUp, Outcome, finished
from prwatch.events.repositories import ensure_repository
from prwatch.github import validation
from prwatch.github.pagination import iterate_pages
from prwatch.github.payloads import (
    PayloadError,
    check_run_from_json,
    commit_status_from_json,
    pull_request_from_json,
)
from prwatch.queue.keys import refresh_pull_request_job_id
from prwatch.queue.port import REFRESH_PULL_REQUEST
from prwatch.store import RepositoryRecord, RepositoryRemoved, StoreTransaction
from prwatch.sync.apply import Observation, apply_observation

log = logging.getLogger(__name__)

CHECK_RUNS_ROUTE = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"
CHECK_SUITE_ACTIONS_WITHOUT_RUNS = frozenset({"requested", "rerequested"})


async def plan_pull_request(context: EventContext, delivery: Delivery) -> Apply:
    repository = await ensure_repository(context.store, delivery)
    if isinstance(repository, str):
        return finished(Outcome.ignored(repository))
    try:
        pr = pull_request_from_json(
            required_object(delivery.payload, "pull_request"), repository.id
        )
    except PayloadError as error:
        raise PermanentDeliveryError(str(error)) from None
    pr = with_queue_action(pr, delivery.action)
    return applying(delivery, repository, Observation(repository.id, pull_requests=(pr,)))


def with_queue_action(pr: PullRequestSnapshot, action: str | None) -> PullRequestSnapshot:
    """The merge-queue state an `enqueued`/`dequeued` delivery tells (the PR object itself
    has no such field): queued since the event's `updated_at`, or not queued. Every other
    action leaves it unknown, and the apply path keeps the stored state."""
    if action == "enqueued":
        return replace(pr, enqueued_at=pr.updated_at, merge_queue_known=True)
    if action == "dequeued":
        return replace(pr, enqueued_at=None, merge_queue_known=True)
    return pr


async def plan_check_run(context: EventContext, delivery: Delivery) -> Apply:
    repository = await ensure_repository(context.store, delivery)
    if isinstance(repository, str):
        return finished(Outcome.ignored(repository))
    try:
        run = check_run_from_json(required_object(delivery.payload, "check_run"), repository.id)
    except PayloadError as error:
        raise PermanentDeliveryError(str(error)) from None
    return applying(delivery, repository, Observation(repository.id, check_runs=(run,)))


async def plan_status(context: EventContext, delivery: Delivery) -> Apply:
    repository = await ensure_repository(context.store, delivery)
    if isinstance(repository, str):
        return finished(Outcome.ignored(repository))
    try:
        status = commit_status_from_json(delivery.payload, repository.id)
    except PayloadError as error:
        raise PermanentDeliveryError(str(error)) from None
    return applying(delivery, repository, Observation(repository.id, commit_statuses=(status,)))


async def plan_check_suite(context: EventContext, delivery: Delivery) -> Apply:
    repository = await ensure_repository(context.store, delivery)
    if isinstance(repository, str):
        return finished(Outcome.ignored(repository))
    if delivery.action in CHECK_SUITE_ACTIONS_WITHOUT_RUNS:
        return finished(Outcome.done())
    if delivery.action != "completed":
        return finished(Outcome.ignored(f"check_suite action {delivery.action!r}"))
    suite = required_object(delivery.payload, "check_suite")
    try:
        suite_id = validation.github_id(suite.get("id"), "check_suite.id")
        head_sha = validation.commit_sha(suite.get("head_sha"), "check_suite.head_sha")
    except PayloadError as error:
        raise PermanentDeliveryError(str(error)) from None
    expected = suite.get("latest_check_runs_count")
    async with context.store.transaction(read_only=True) as tx:
        stored = await tx.load_check_runs(repository.id, head_shas=[head_sha])
    if isinstance(expected, int) and _suite_settled(stored.values(), suite_id, expected):
        return finished(Outcome.done())
    runs = await _fetch_check_runs(context, repository, head_sha)
    return applying(delivery, repository, Observation(repository.id, check_runs=runs))


def _suite_settled(stored: Iterable[CheckRunSnapshot], suite_id: int, expected: int) -> bool:
    """True when the store holds `expected` latest runs of the suite, each completed."""
    latest: dict[str, CheckRunSnapshot] = {}
    for run in stored:
        if run.check_suite_id == suite_id:
            kept = latest.get(run.name)
            if kept is None or run.id > kept.id:  # a re-run gets a new, higher id
                latest[run.name] = run
    return len(latest) >= expected and all(run.status == "completed" for run in latest.values())


async def _fetch_check_runs(
    context: EventContext, repository: RepositoryRecord, head_sha: str
) -> list[CheckRunSnapshot]:
    """Every check run of the commit, page after page: a commit can carry more than the 100
    of one page (a matrix build), and a run left out would stay unseen until the sweep."""
    runs: list[CheckRunSnapshot] = []
    async for response in iterate_pages(
        context.github,
        f"/repos/{repository.full_name}/commits/{head_sha}/check-runs",
        installation_id=repository.installation_id,
        route=CHECK_RUNS_ROUTE,
        params={"per_page": 100},
        spend_reserve=True,  # webhook-driven: the reserve is kept for exactly this
    ):
        if response.status == 404:
            # GitHub is eventually consistent: the commit may not be visible yet.
            raise RetryableJobError(f"{response.url} answered 404 right after the event")
        if response.status != 200:
            raise PermanentDeliveryError(f"{response.url} answered {response.status}")
        body = response.json()
        items = body.get("check_runs") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise PermanentDeliveryError(f"{response.url} has no check_runs list")
        for item in items:
            try:
                runs.append(check_run_from_json(item, repository.id))
            except PayloadError as error:
                # GitHub's answer, not the delivery: one odd run fails alone; the sweep
                # reports it too.
                log.warning(
                    "unreadable check run skipped",
                    extra={"repository_id": repository.id, "error": str(error)},
                )
    return runs


def applying(delivery: Delivery, repository: RepositoryRecord, observation: Observation) -> Apply:
    return ApplyObservation(delivery.guid, repository, observation)


@dataclass(frozen=True, slots=True)
class ApplyObservation:
    """The Apply of a delivery that observed a repository's PRs or checks: the observation is
    visible, so that a batch can read ahead what its deliveries will load."""

    delivery_id: str
    repository: RepositoryRecord
    observation: Observation

    async def __call__(self, tx: StoreTransaction) -> Outcome:
        repository = self.repository
        try:
            applied = await apply_observation(
                tx,
                self.observation,
                source=Source.WEBHOOK,
                installation_id=repository.installation_id,
                delivery_id=self.delivery_id,
            )
        except RepositoryRemoved:  # removed since the delivery was claimed
            return Outcome.ignored(f"repository {repository.id} was removed")
        # A tie was applied as the later arrival, which may be the older version: GitHub says.
        return Outcome.done(
            *(
                FollowUp(
                    REFRESH_PULL_REQUEST,
                    (repository.id, number),
                    refresh_pull_request_job_id(repository.id, number),
                    # A read running now may predate this version: one more after it.
                    rerun=True,
                )
                for number in applied.pr_ties
            )
        )
