"""The status page ``GET /``: installations, repositories, their open pull requests with check
runs as badges, the recent change feed and the last sweeps. Server-rendered; the page re-reads
its ``/fragments/status`` part every few seconds, so it stays current without a reload."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from prwatch.domain.models import CheckRunSnapshot, FieldValue, PullRequestSnapshot
from prwatch.store import RetryableStoreError, StoredChange, StoreTransaction
from prwatch.store.records import InstallationRecord, RepositoryRecord, SweepRecord
from prwatch.web.access import Caller, Visibility, caller
from prwatch.web.sessions import SessionReader
from prwatch.web.webhooks import request_context

REFRESH_SECONDS = 3
PRS_PER_REPOSITORY = 25  # the most recently updated open ones; the read API has them all
RECENT_CHANGES = 40
RECENT_SWEEPS = 8


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


def show_value(value: FieldValue) -> str:
    """A change's old or new value, short and readable."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(item) for item in value) + "]"
    text = str(value)
    if len(text) == 40 and all(c in "0123456789abcdef" for c in text):
        return text[:7]  # a commit SHA
    return text


@cache
def templates() -> Environment:
    """Built on first use, not at import."""
    environment = Environment(
        loader=PackageLoader("prwatch.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["value"] = show_value
    environment.filters["badge"] = badge_class
    return environment


def badge_class(run: CheckRunSnapshot) -> str:
    """The CSS class of a check run's badge: its conclusion once completed, else its status."""
    if run.status == "completed":
        return f"badge-{run.conclusion or 'neutral'}"
    return f"badge-{run.status}"


async def status_context(tx: StoreTransaction, visibility: Visibility) -> dict[str, Any]:
    installations: list[InstallationView] = []
    names: dict[int, str] = {}
    for installation in await tx.list_installations(visibility=visibility):
        view = InstallationView(installation)
        for repository in await tx.list_repositories(installation.id, visibility=visibility):
            names[repository.id] = repository.full_name
            view.repositories.append(await _repository_view(tx, repository))
        installations.append(view)
    last = await tx.last_change_cursor()
    recent: list[StoredChange] = await tx.changes_after(
        max(0, last - RECENT_CHANGES), RECENT_CHANGES, scope=visibility
    )
    missing = {c.repository_id for c in recent if c.repository_id is not None} - names.keys()
    if missing:
        for repository in await tx.list_repositories(include_removed=True, visibility=visibility):
            names.setdefault(repository.id, repository.full_name)
    # Sweeps are process-wide: only a caller who sees everything sees them.
    sweeps: list[SweepRecord] = (
        await tx.recent_sweeps(RECENT_SWEEPS) if visibility.unrestricted else []
    )
    return {
        "installations": installations,
        "changes": list(reversed(recent)),
        "repository_names": names,
        "sweeps": sweeps,
        "last_cursor": last,
        "refresh_seconds": REFRESH_SECONDS,
    }


async def _repository_view(tx: StoreTransaction, repository: RepositoryRecord) -> RepositoryView:
    open_pulls = await tx.list_pull_requests(repository.full_name, "open")
    newest = sorted(open_pulls, key=lambda pr: pr.updated_at, reverse=True)[:PRS_PER_REPOSITORY]
    view = RepositoryView(repository, open_count=len(open_pulls))
    for pr in newest:
        found = await tx.get_pull_request(repository.full_name, pr.number)
        runs = found[1] if found is not None else []
        view.pulls.append(PullRequestView(pr, runs))
    return view


async def _render(request: Request, template: str) -> HTMLResponse:
    who = caller(request)
    try:
        async with request_context(request).store.transaction(read_only=True) as tx:
            context = await status_context(tx, who.visibility)
    except RetryableStoreError:
        return HTMLResponse("<p>The database is not reachable right now.</p>", status_code=503)
    context["signed_in"] = signed_in_context(request, who)
    return HTMLResponse(templates().get_template(template).render(context))


def signed_in_context(request: Request, who: Caller) -> dict[str, str] | None:
    """The signed-in person's name and the CSRF token of their sign-out form."""
    reader = getattr(request.app.state, "session_reader", None)
    if who.session_hash is None or not isinstance(reader, SessionReader):
        return None
    return {"login": who.name, "csrf": reader.csrf_token(who.session_hash)}


async def status_page(request: Request) -> HTMLResponse:
    return await _render(request, "status.html")


async def status_fragment(request: Request) -> HTMLResponse:
    return await _render(request, "status_fragment.html")


PAGE_ROUTES = [
    Route("/", status_page, methods=["GET"]),
    Route("/fragments/status", status_fragment, methods=["GET"]),
]
