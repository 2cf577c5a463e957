"""``GET /repos/{owner}/{repo}/pulls/{number}``: one pull request as stored — head, base,
labels, the check runs and commit statuses of its head commit, its reviews and merge signal,
links to it on GitHub — and its whole change timeline with where each change came from
(webhook or sweep)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from prwatch.domain.models import CommitStatusSnapshot, PullRequestSignal, ReviewSnapshot
from prwatch.domain.reviews import latest_reviews
from prwatch.domain.statuses import latest_statuses
from prwatch.domain.webhook_coverage import SWEEP_ONLY_NOTE, is_sweep_only
from prwatch.store import RetryableStoreError, StoredChange
from prwatch.web.access import visibility
from prwatch.web.page_render import not_found_page, render_page, unavailable_page
from prwatch.web.webhooks import request_context

TIMELINE_LENGTH = 500  # the newest; the change feed API has every one
MAX_NUMBER = 2**31 - 1


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    change: StoredChange
    note: str | None  # e.g. why only a sweep could see it


def timeline(changes: list[StoredChange]) -> list[TimelineEntry]:
    return [
        TimelineEntry(change, SWEEP_ONLY_NOTE if is_sweep_only(change.change) else None)
        for change in reversed(changes)  # newest first
    ]


def pull_number(raw: str) -> int | None:
    digits = raw.lstrip("0")
    if not raw.isascii() or not raw.isdigit() or not digits or len(digits) > 10:
        return None
    number = int(digits)
    return number if number <= MAX_NUMBER else None


async def pull_page(request: Request) -> HTMLResponse:
    """A pull request: its state, checks, links to GitHub and its change timeline."""
    owner, repo = request.path_params["owner"], request.path_params["repo"]
    number = pull_number(request.path_params["number"])
    if number is None:
        return not_found_page(request, "pull request")
    try:
        async with request_context(request).store.transaction(read_only=True) as tx:
            repository = await tx.visible_repository(f"{owner}/{repo}", visibility(request))
            found = None
            if repository is not None:
                found = await tx.get_pull_request_by_id(repository.id, number)
            changes = []
            statuses: list[CommitStatusSnapshot] = []
            reviews: list[ReviewSnapshot] = []
            signal: PullRequestSignal | None = None
            if repository is not None and found is not None:
                stored = await tx.load_commit_statuses(repository.id, {found[0].head_sha})
                statuses = latest_statuses(stored.values())
                reviews = latest_reviews((await tx.load_reviews(repository.id, {number})).values())
                signal = (await tx.load_signals(repository.id, {number})).get(number)
                changes = await tx.latest_changes(
                    TIMELINE_LENGTH, repository_id=repository.id, pr_number=number
                )
    except RetryableStoreError:
        return unavailable_page(request)
    if repository is None or found is None:
        return not_found_page(request, "pull request")
    pr, runs = found
    return render_page(
        request,
        "pull.html",
        {
            "repository": repository,
            "pr": pr,
            "check_runs": runs,
            "statuses": [status for status in statuses if status.sha == pr.head_sha],
            "reviews": reviews,
            "signal": signal,
            "timeline": timeline(changes),
            "last_cursor": changes[-1].cursor if changes else 0,
        },
    )


PULL_PAGE_ROUTES = [Route("/repos/{owner}/{repo}/pulls/{number}", pull_page, methods=["GET"])]
