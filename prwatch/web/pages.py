"""The status page ``GET /``: installations, repositories, their open pull requests with check
runs as badges (searchable and filtered), the recent change feed and the last sweeps.
Server-rendered; the page's script re-reads its live part (``/fragments/status``, with the
same filters) when the change stream says something changed, so it stays current without a
reload."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from prwatch.domain.models import CheckRunSnapshot, PullRequestSnapshot
from prwatch.store import RetryableStoreError, StoredChange, StoreTransaction
from prwatch.store.listings import PullFilter
from prwatch.store.records import InstallationRecord, RepositoryRecord, SweepRecord
from prwatch.web.access import EVERYTHING, Visibility, visibility
from prwatch.web.page_render import badge_class, render_page, show_value, templates
from prwatch.web.webhooks import request_context

__all__ = ["PAGE_ROUTES", "badge_class", "show_value", "status_context", "templates"]

PRS_PER_REPOSITORY = 25  # the most recently updated open ones; the repository page has them all
RECENT_CHANGES = 40
RECENT_SWEEPS = 8
MAX_SEARCH = 200


@dataclass(frozen=True, slots=True)
class PullRequestView:
    pr: PullRequestSnapshot
    check_runs: list[CheckRunSnapshot]


@dataclass(slots=True)
class RepositoryView:
    repository: RepositoryRecord
    open_count: int = 0
    pulls: list[PullRequestView] = field(default_factory=list)


@dataclass(slots=True)
class InstallationView:
    installation: InstallationRecord
    repositories: list[RepositoryView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StatusFilters:
    """The main page's search form: free text (title or author), a repository, a label, and
    whether drafts show. Anything longer than a search needs is cut, never an error."""

    text: str = ""
    repository: str = ""
    label: str = ""
    hide_drafts: bool = False

    @classmethod
    def read(cls, request: Request) -> StatusFilters:
        query = request.query_params
        return cls(
            text=query.get("q", "").strip()[:MAX_SEARCH],
            repository=query.get("repo", "").strip()[:MAX_SEARCH],
            label=query.get("label", "").strip()[:MAX_SEARCH],
            hide_drafts=query.get("drafts") == "hide",
        )

    @property
    def active(self) -> bool:
        return bool(self.text or self.repository or self.label or self.hide_drafts)

    def pull_filter(self) -> PullFilter:
        return PullFilter(
            state="open",
            label=self.label or None,
            text=self.text or None,
            include_drafts=not self.hide_drafts,
        )

    def query_string(self) -> str:
        pairs = {"q": self.text, "repo": self.repository, "label": self.label}
        if self.hide_drafts:
            pairs["drafts"] = "hide"
        return urlencode({k: v for k, v in pairs.items() if v})


async def status_context(
    tx: StoreTransaction,
    scope: Visibility = EVERYTHING,
    filters: StatusFilters = StatusFilters(),
) -> dict[str, Any]:
    installations: list[InstallationView] = []
    names: dict[int, str] = {}
    repository_choices: list[str] = []
    for installation in await tx.list_installations(visibility=scope):
        view = InstallationView(installation)
        for repository in await tx.list_repositories(installation.id, visibility=scope):
            names[repository.id] = repository.full_name
            repository_choices.append(repository.full_name)
            if filters.repository and repository.full_name.lower() != filters.repository.lower():
                continue
            view.repositories.append(await _repository_view(tx, repository, filters))
        if view.repositories or not filters.active:
            installations.append(view)
    last = await tx.last_change_cursor()
    recent: list[StoredChange] = await tx.latest_changes(RECENT_CHANGES, scope=scope)
    missing = {c.repository_id for c in recent if c.repository_id is not None} - names.keys()
    if missing:
        names.update(await tx.repository_names(missing))
    # Sweeps are process-wide: only a caller who sees everything sees them.
    sweeps: list[SweepRecord] = await tx.recent_sweeps(RECENT_SWEEPS) if scope.unrestricted else []
    return {
        "installations": installations,
        "changes": list(reversed(recent)),
        "repository_names": names,
        "repository_choices": sorted(repository_choices, key=str.lower),
        "sweeps": sweeps,
        "last_cursor": last,
        "filters": filters,
    }


async def _repository_view(
    tx: StoreTransaction, repository: RepositoryRecord, filters: StatusFilters
) -> RepositoryView:
    pull_filter = filters.pull_filter()
    newest = await tx.page_pull_requests(
        repository.id, pull_filter, limit=PRS_PER_REPOSITORY, newest_first=True
    )
    view = RepositoryView(
        repository, open_count=await tx.count_pull_requests(repository.id, pull_filter)
    )
    for pr in newest:
        found = await tx.get_pull_request_by_id(repository.id, pr.number)
        runs = found[1] if found is not None else []
        view.pulls.append(PullRequestView(pr, runs))
    return view


async def _render(request: Request, template: str) -> HTMLResponse:
    filters = StatusFilters.read(request)
    try:
        async with request_context(request).store.transaction(read_only=True) as tx:
            context = await status_context(tx, visibility(request), filters)
    except RetryableStoreError:
        return render_page(request, "unavailable.html", {}, status_code=503)
    return render_page(request, template, context)


async def status_page(request: Request) -> HTMLResponse:
    """The status page: installations, open pull requests and their checks, recent changes."""
    return await _render(request, "status.html")


async def status_fragment(request: Request) -> HTMLResponse:
    """The status page's live part, which its script re-reads."""
    return await _render(request, "status_fragment.html")


PAGE_ROUTES = [
    Route("/", status_page, methods=["GET"]),
    Route("/fragments/status", status_fragment, methods=["GET"]),
]
